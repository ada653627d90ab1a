import { afterEach, expect, test, vi } from "vitest";
import { clearMocks, mockIPC as mockTauri } from "@tauri-apps/api/mocks";
import { cleanup, fireEvent, render, screen, waitFor } from "@testing-library/svelte";
import App from "./App.svelte";

const alice = {
  account_id: "a".repeat(64),
  device_id: "d".repeat(64),
  name: "Alice",
  addresses: ["127.0.0.1:7001"],
};
const bob = {
  contact_id: "b".repeat(64),
  name: "Bob",
  state: "unvalidated",
  devices: ["e".repeat(64)],
  device_names: { ["e".repeat(64)]: "phone" },
  new_devices: [] as string[],
  note: "added from an invite",
};

type Handler = (cmd: string, args: unknown) => unknown;

/**
 * The app's IPC, mocked: unless the test answers `conversations` itself,
 * every contact it lists has a conversation without messages.
 */
function mockIPC(handler: Handler, options: { shouldMockEvents: boolean }) {
  mockTauri((cmd, args) => {
    const answer = handler(cmd, args);
    if (answer !== undefined || cmd !== "conversations") return answer;
    const contacts = (handler("contacts", {}) ?? []) as { contact_id: string }[];
    return contacts.map((contact) => ({
      conversation_id: `c${contact.contact_id.slice(1)}`,
      kind: "direct",
      contact,
      last: null,
      unread: 0,
      muted: false,
    }));
  }, options);
}

afterEach(() => {
  cleanup();
  clearMocks();
});

test("a new device shows onboarding and creates an account", async () => {
  let created: unknown = null;
  let hasProfile = false;
  mockIPC((cmd, args) => {
    if (cmd === "status") return { has_profile: hasProfile, identity: hasProfile ? alice : null, data_dir: "/tmp/x" };
    if (cmd === "create_account") {
      created = args;
      hasProfile = true;
      return alice;
    }
    if (cmd === "contacts") return [];
  }, { shouldMockEvents: true });
  render(App);
  await fireEvent.click(await screen.findByText("Create an account"));
  await fireEvent.input(screen.getByPlaceholderText("Alice"), { target: { value: "Alice" } });
  await fireEvent.click(screen.getByText("Create"));
  // Two short screens explain validation before the home screen.
  expect(await screen.findByText(/Check that it is really them/)).toBeTruthy();
  await fireEvent.click(screen.getByText("Next"));
  expect(await screen.findByText(/What the badges mean/)).toBeTruthy();
  await fireEvent.click(screen.getByText("Got it"));
  expect(await screen.findByText("Hello, Alice")).toBeTruthy();
  expect(created).toEqual({ name: "Alice", deviceName: "my computer" });
});

test("a conversation shows messages, queued state, and the validation nudge", async () => {
  const sent: unknown[] = [];
  const limits: number[] = [];
  mockIPC((cmd, args) => {
    if (cmd === "status") return { has_profile: true, identity: alice, data_dir: "/tmp/x" };
    if (cmd === "contacts") return [bob];
    if (cmd === "messages") {
      const limit = (args as { limit: number }).limit;
      limits.push(limit);
      return {
        messages: [
          {
            message_id: "1".repeat(64),
            conversation_id: "c".repeat(64),
            author_account: alice.account_id,
            author_device: alice.device_id,
            text: "hello Bob",
            sent_at: Date.now(),
            delivery: { ["e".repeat(64)]: "pending" },
          },
        ],
        // A long history: older pages come on request.
        earlier: limit < 400 ? 250 : 50,
      };
    }
    if (cmd === "send") {
      sent.push(args);
      return { message_id: "2".repeat(64), conversation_id: "c".repeat(64) };
    }
  }, { shouldMockEvents: true });
  render(App);
  await fireEvent.click(await screen.findByText("Bob"));
  expect(await screen.findByText("hello Bob")).toBeTruthy();
  expect(screen.getByTestId("delivery").textContent).toBe("queued, not yet delivered");
  expect(screen.getByText(/not checked that this is really Bob/)).toBeTruthy();
  await fireEvent.input(screen.getByLabelText("Message"), { target: { value: "second" } });
  await fireEvent.click(screen.getByText("Send"));
  await screen.findByText("hello Bob");
  expect(sent).toEqual([{ contact: bob.contact_id, text: "second", replyTo: null, anyway: false }]);
  await fireEvent.click(screen.getByText(/Show earlier messages \(250 more\)/));
  expect(await screen.findByText(/Show earlier messages \(50 more\)/)).toBeTruthy();
  expect(limits).toEqual([200, 200, 400]);
});

test("errors from the node reach the screen as their message", async () => {
  mockIPC((cmd) => {
    if (cmd === "status") return { has_profile: true, identity: alice, data_dir: "/tmp/x" };
    if (cmd === "contacts") return [];
    if (cmd === "add_contact") throw { code: "bad_uri", message: "not a valid invite: not base32" };
  }, { shouldMockEvents: true });
  render(App);
  await fireEvent.click(await screen.findByText("Add contact"));
  await fireEvent.input(screen.getByLabelText("Contact link"), { target: { value: "kith:???" } });
  await fireEvent.click(screen.getByText("Add"));
  expect((await screen.findByRole("alert")).textContent).toBe("not a valid invite: not base32");
});

test("a locked profile asks for its passphrase, says when it is wrong, and locks again", async () => {
  let locked = true;
  const tried: string[] = [];
  mockIPC((cmd, args) => {
    if (cmd === "status")
      return { has_profile: true, locked, app_lock: true, identity: locked ? null : alice, data_dir: "/tmp/x", network_from_env: false };
    if (cmd === "unlock") {
      const p = (args as { passphrase: string }).passphrase;
      tried.push(p);
      if (p !== "a long passphrase") throw { code: "wrong_passphrase", message: "wrong passphrase" };
      locked = false;
      return alice;
    }
    if (cmd === "lock") {
      locked = true;
      return null;
    }
    if (cmd === "contacts") {
      if (locked) throw { code: "locked", message: "locked" };
      return [bob];
    }
  }, { shouldMockEvents: true });
  render(App);
  expect(await screen.findByText("Kith is locked")).toBeTruthy();
  const field = screen.getByLabelText("Passphrase");
  await fireEvent.input(field, { target: { value: "guess" } });
  await fireEvent.click(screen.getByText("Unlock"));
  expect((await screen.findByRole("alert")).textContent).toMatch(/not the passphrase/);
  await fireEvent.input(field, { target: { value: "a long passphrase" } });
  await fireEvent.click(screen.getByText("Unlock"));
  expect(await screen.findByText("Hello, Alice")).toBeTruthy();
  expect(await screen.findByText("Bob")).toBeTruthy();
  expect(tried).toEqual(["guess", "a long passphrase"]);
  await fireEvent.click(screen.getByText("Lock"));
  expect(await screen.findByText("Kith is locked")).toBeTruthy();
  expect(screen.queryByText("Bob")).toBeNull();
});

test("a kith: link the app was opened with fills the add-contact form; a kith-link: one the devices form, a kith-room: one the join form", async () => {
  const { emit } = await import("@tauri-apps/api/event");
  let opened = ["https://example.org", "kith:AEACINVITE"];
  mockIPC((cmd) => {
    if (cmd === "status") return { has_profile: true, locked: false, app_lock: false, identity: alice, data_dir: "/tmp/x", network_from_env: false };
    if (cmd === "contacts") return [];
    if (cmd === "devices") return [];
    if (cmd === "take_opened_links") {
      const links = opened;
      opened = [];
      return links;
    }
  }, { shouldMockEvents: true });
  render(App);
  const field = (await screen.findByLabelText("Contact link")) as HTMLInputElement;
  expect(field.value).toBe("kith:AEACINVITE");
  expect(screen.getByRole("note").textContent).toMatch(/Opened from a link/);
  // Nothing is added without a click.
  opened = ["kith-link:NEWDEVICE"];
  await emit("link-opened", { uri: "kith-link:NEWDEVICE" });
  const code = (await screen.findByLabelText("Link code")) as HTMLInputElement;
  expect(code.value).toBe("kith-link:NEWDEVICE");
  expect(screen.getByRole("note").textContent).toMatch(/Link only your own new device/);
  // A room's link fills the join-a-room form; joining stays a click.
  opened = ["kith-room:TOWNSQUARE"];
  await emit("link-opened", { uri: "kith-room:TOWNSQUARE" });
  const room = (await screen.findByLabelText("Room link")) as HTMLInputElement;
  expect(room.value).toBe("kith-room:TOWNSQUARE");
  expect(screen.getByRole("note").textContent).toMatch(/Opened from a link/);
});

test("a device removed together with its revoker says why and what to do", async () => {
  const note =
    "removed because old tablet, a device that was itself removed at the same time, revoked it; " +
    "if it is still yours, link it again from a device that is still in";
  mockIPC((cmd) => {
    if (cmd === "status") return { has_profile: true, locked: false, app_lock: false, identity: alice, data_dir: "/tmp/x", network_from_env: false };
    if (cmd === "contacts") return [];
    if (cmd === "take_opened_links") return [];
    if (cmd === "devices")
      return [
        { device_id: alice.device_id, name: "laptop", state: "active", this_device: true, note: null },
        { device_id: "f".repeat(64), name: "phone", state: "revoked", this_device: false, note },
      ];
  }, { shouldMockEvents: true });
  render(App);
  await fireEvent.click(await screen.findByText("My devices"));
  const shown = await screen.findByTestId("device-note");
  expect(shown.textContent).toBe(note);
  expect(screen.getAllByTestId("device-note")).toHaveLength(1);
});

test("a validated contact's new device is shown until it is acknowledged", async () => {
  const tablet = "f".repeat(64);
  let acknowledged: unknown = null;
  const validated = { ...bob, state: "validated", note: "safety number compared", new_devices: [tablet] };
  mockIPC((cmd, args) => {
    if (cmd === "status") return { has_profile: true, locked: false, app_lock: false, identity: alice, data_dir: "/tmp/x", network_from_env: false };
    if (cmd === "contacts") return [acknowledged ? { ...validated, new_devices: [] } : validated];
    if (cmd === "take_opened_links") return [];
    if (cmd === "messages") return { messages: [], earlier: 0 };
    if (cmd === "acknowledge_devices") {
      acknowledged = args;
      return { ...validated, new_devices: [] };
    }
  }, { shouldMockEvents: true });
  render(App);
  await fireEvent.click(await screen.findByText("Bob"));
  const banner = await screen.findByTestId("new-devices");
  const said = (banner.textContent ?? "").replace(/\s+/g, " ");
  expect(said).toMatch(/Bob has a new device since you validated them \(ffffffff\)/);
  expect(said).toMatch(/compare safety numbers again/);
  await fireEvent.click(screen.getByText("It's theirs"));
  await new Promise((r) => setTimeout(r, 50));
  expect(acknowledged).toEqual({ contact: bob.contact_id });
  expect(screen.queryByTestId("new-devices")).toBeNull();
});

test("a new message notifies with the sender's name only, and clicking the notification opens the conversation", async () => {
  const { emit } = await import("@tauri-apps/api/event");
  const notified: unknown[] = [];
  // The notification plugin's stand-in for the web Notification API.
  vi.stubGlobal("Notification", { permission: "granted" });
  mockIPC((cmd, args) => {
    if (cmd === "status") return { has_profile: true, locked: false, app_lock: false, identity: alice, data_dir: "/tmp/x", network_from_env: false };
    if (cmd === "contacts") return [bob];
    if (cmd === "messages") return { messages: [], more: false };
    if (cmd === "notify_message") notified.push(args);
  }, { shouldMockEvents: true });
  render(App);
  expect(await screen.findByText("Hello, Alice")).toBeTruthy();
  await emit("kith-event", { type: "message_received", conversation_id: "c".repeat(64), message_id: "f".repeat(64), author_account: bob.contact_id });
  await waitFor(() => expect(notified).toEqual([{ contact: bob.contact_id, from: "Bob" }]));
  // My own messages (from my other devices) do not notify.
  await emit("kith-event", { type: "message_received", conversation_id: "c".repeat(64), message_id: "9".repeat(64), author_account: alice.account_id });
  await emit("notification-opened", { contact_id: bob.contact_id });
  expect(await screen.findByLabelText("Message")).toBeTruthy();
  expect(screen.getByRole("heading", { level: 2 }).textContent).toMatch(/Bob/);
  expect(notified).toHaveLength(1);
  vi.unstubAllGlobals();
});
