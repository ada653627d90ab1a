// Desktop notifications for new messages: the sender's name only, never
// the text (the screen may be shared or locked). Failures (no notification
// service, permission refused) are silent: the app works without them.
import { isPermissionGranted, requestPermission, sendNotification } from "@tauri-apps/plugin-notification";

let allowed: boolean | null = null;

async function permitted(): Promise<boolean> {
  if (allowed !== null) return allowed;
  try {
    allowed = (await isPermissionGranted()) || (await requestPermission()) === "granted";
  } catch {
    allowed = false;
  }
  return allowed;
}

/** Tells the user a message from `from` arrived, if they are not looking. */
export async function notifyMessage(from: string, looking: boolean): Promise<void> {
  if (looking || !(await permitted())) return;
  try {
    sendNotification({ title: "Kith", body: `New message from ${from}` });
  } catch {
    // No notification service here.
  }
}
