// Notifications of new messages: the sender's name only, never the text
// (the screen may be shared or locked). The app's `notify_message` shows
// them; clicking one opens its conversation (the `notificationOpened`
// event). Failures (no notification service, permission refused) are
// silent: the app works without them.
import { isPermissionGranted, requestPermission } from "@tauri-apps/plugin-notification";
import { commands } from "./bindings";
import { call } from "./api";

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

/** Tells the user a message from `from` arrived (conversation with `contact`), if they are not looking. */
export async function notifyMessage(contact: string, from: string, looking: boolean): Promise<void> {
  if (looking || !(await permitted())) return;
  try {
    await call(commands.notifyMessage(contact, from));
  } catch {
    // No notification service here.
  }
}
