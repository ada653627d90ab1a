// The camera on desktops, for scanning QR codes: the webview captures it
// (only when a person asks), and frames go to the QR reader in Rust as
// grey levels. Phones use the barcode-scanner plugin instead (scan.ts).

/** Whether a camera is there to scan with (the webview lists one). */
export async function hasCamera(): Promise<boolean> {
  try {
    const devices = (await navigator.mediaDevices?.enumerateDevices?.()) ?? [];
    return devices.some((d) => d.kind === "videoinput");
  } catch {
    return false;
  }
}

/** Grey levels (ITU-R BT.601 luma) of RGBA pixels. */
export function toLuma(rgba: Uint8ClampedArray): number[] {
  const luma = new Array<number>(rgba.length / 4);
  for (let i = 0, j = 0; j < luma.length; i += 4, j++) {
    luma[j] = (rgba[i] * 299 + rgba[i + 1] * 587 + rgba[i + 2] * 114 + 500) / 1000 | 0;
  }
  return luma;
}

/** The frame size to read: the video's, scaled so its longer side is at most `maxSide`. */
export function frameSize(width: number, height: number, maxSide: number): { width: number; height: number } {
  const scale = Math.min(1, maxSide / Math.max(width, height));
  return { width: Math.max(1, Math.round(width * scale)), height: Math.max(1, Math.round(height * scale)) };
}

/** The video's current frame as grey levels, or null before it has one. */
export function grabFrame(
  video: HTMLVideoElement,
  canvas: HTMLCanvasElement,
  maxSide = 800,
): { width: number; height: number; luma: number[] } | null {
  if (video.readyState < 2 || video.videoWidth === 0) return null;
  const { width, height } = frameSize(video.videoWidth, video.videoHeight, maxSide);
  canvas.width = width;
  canvas.height = height;
  const context = canvas.getContext("2d", { willReadFrequently: true });
  if (!context) return null;
  context.drawImage(video, 0, 0, width, height);
  return { width, height, luma: toLuma(context.getImageData(0, 0, width, height).data) };
}

/** What to tell a person when the camera does not start. */
export function cameraError(e: unknown): string {
  const name = e && typeof e === "object" && "name" in e ? String((e as { name: unknown }).name) : "";
  switch (name) {
    case "NotAllowedError":
    case "SecurityError":
      return "Kith may not use the camera. Allow it in your system's privacy settings, or open a picture of the code.";
    case "NotFoundError":
    case "OverconstrainedError":
      return "No camera found. Open a picture of the code instead.";
    case "NotReadableError":
    case "AbortError":
      return "The camera is busy (another application may be using it).";
    default:
      return `The camera did not start: ${e instanceof Error ? e.message : String(e)}`;
  }
}
