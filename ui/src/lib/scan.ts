// The camera QR scanner exists on Android and iOS only (the plugin is
// registered there); desktops open an image or paste the link instead.
import { commands } from "./bindings";
import { call } from "./api";

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

/** The text of the QR code in an image file (PNG or JPEG). */
export async function readQrImage(file: File): Promise<string> {
  const bytes = Array.from(new Uint8Array(await file.arrayBuffer()));
  return call(commands.readQr(bytes));
}
