// The camera QR scanner exists on Android and iOS only (the plugin is
// registered there); desktops open an image or paste the link instead.

/** Whether this is a phone or tablet with the scanner plugin. */
export function hasScanner(): boolean {
  return /Android|iPhone|iPad/i.test(navigator.userAgent);
}

/** Scans one QR code with the camera; its text. */
export async function scanQr(): Promise<string> {
  const { scan, Format } = await import("@tauri-apps/plugin-barcode-scanner");
  const result = await scan({ formats: [Format.QRCode], windowed: false });
  return result.content;
}
