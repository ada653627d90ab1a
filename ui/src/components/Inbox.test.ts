import { afterEach, expect, test } from "vitest";
import { clearMocks, mockIPC } from "@tauri-apps/api/mocks";
import { cleanup, fireEvent, render, screen, within } from "@testing-library/svelte";
import ConversationList from "./ConversationList.svelte";
import Search from "./Search.svelte";
import Security from "./Security.svelte";
import Conversation from "./Conversation.svelte";

const me = "a".repeat(64);
const phone = "e".repeat(64);
const laptop = "f".repeat(64);
const bob = {
  contact_id: "b".repeat(64),
  name: "Bob",
  state: "unvalidated",
  devices: [phone, laptop],
  device_names: { [phone]: "phone", [laptop]: "laptop" },
  new_devices: [] as string[],
  note: "",
};
const carol = { ...bob, contact_id: "c".repeat(64), name: "Carol 🌸", state: "validated", devices: [], device_names: {} };

afterEach(() => {
  cleanup();
  clearMocks();
});

test("the list shows each conversation's preview, time and unread count, and opens it", async () => {
  const opened: string[] = [];
  const now = Date.now();
  render(ConversationList, {
    conversations: [
      { conversation_id: "1", kind: "direct", contact: bob, last: { message_id: "m", mine: false, text: "hi\nthere", sent_at: now }, unread: 3, muted: true },
      { conversation_id: "2", kind: "direct", contact: carol, last: { message_id: "n", mine: true, text: "こんにちは", sent_at: now }, unread: 0, muted: false },
    ],
    current: undefined,
    onopen: (id: string) => opened.push(id),
  });
  const items = screen.getAllByTestId("conversation");
  expect(items).toHaveLength(2);
  expect(within(items[0]).getByTestId("preview").textContent).toBe("hi there");
  // Screen readers hear the count as "3 unread", and that it is muted.
  expect(within(items[0]).getByTestId("unread").textContent).toBe("3 unread");
  expect(items[0].textContent).toMatch(/muted/);
  expect(within(items[1]).getByTestId("preview").textContent).toBe("You: こんにちは");
  expect(within(items[1]).queryByTestId("unread")).toBeNull();
  expect(items[1].textContent).toMatch(/Carol 🌸/);
  await fireEvent.click(items[1]);
  expect(opened).toEqual([carol.contact_id]);
});

test("search lists matches and hands the chosen one over", async () => {
  const queries: unknown[] = [];
  mockIPC((cmd, args) => {
    if (cmd === "search") {
      queries.push(args);
      return [{ conversation_id: "1", contact_id: bob.contact_id, message_id: "m1", mine: false, text: "Grüße aus Köln", sent_at: Date.now(), from_end: 7 }];
    }
  });
  const picked: unknown[] = [];
  render(Search, { contacts: [bob], onpick: (h: unknown) => picked.push(h), onclose: () => {} });
  const field = screen.getByLabelText("Search all conversations");
  expect(document.activeElement).toBe(field);
  await fireEvent.input(field, { target: { value: "köln" } });
  await fireEvent.submit(field.closest("form")!);
  const hit = await screen.findByTestId("search-hit");
  expect(hit.textContent).toMatch(/Bob.*Grüße aus Köln/s);
  await fireEvent.click(hit);
  expect(queries.at(-1)).toEqual({ query: "köln", limit: 100 });
  expect((picked[0] as { from_end: number }).from_end).toBe(7);
});

test("the security screen lists what would make the account safer, one button each", async () => {
  const old = Date.now() - 90 * 24 * 3600 * 1000;
  mockIPC((cmd) => {
    if (cmd === "devices")
      return [
        { device_id: "d1", name: "laptop", state: "active", this_device: true, note: null, last_seen_ms: Date.now(), linked_at_ms: old },
        { device_id: "d2", name: "old phone", state: "active", this_device: false, note: null, last_seen_ms: old, linked_at_ms: old },
        { device_id: "d3", name: "tablet", state: "active", this_device: false, note: null, last_seen_ms: Date.now(), linked_at_ms: old },
        // Linked a moment ago and not online yet: nothing to worry about.
        { device_id: "d4", name: "new phone", state: "active", this_device: false, note: null, last_seen_ms: null, linked_at_ms: Date.now() },
        // Linked long ago and never seen since.
        { device_id: "d5", name: "drawer phone", state: "active", this_device: false, note: null, last_seen_ms: null, linked_at_ms: old },
      ];
  });
  const went: string[] = [];
  const changed = { ...carol, new_devices: ["x"] };
  render(Security, {
    contacts: [bob, changed],
    appLock: false,
    refresh: 0,
    onvalidate: (id: string) => went.push(`validate ${id}`),
    onsettings: () => went.push("settings"),
    ondevices: () => went.push("devices"),
  });
  await screen.findByText(/“old phone” has not been seen since/);
  expect(screen.getByText(/“drawer phone” has not been seen since it was linked/)).toBeTruthy();
  expect(screen.getAllByTestId("security-item")).toHaveLength(5);
  expect(screen.queryByText(/tablet/)).toBeNull();
  expect(screen.queryByText(/new phone/)).toBeNull();
  await fireEvent.click(screen.getByText("Compare with Bob"));
  await fireEvent.click(screen.getByText("Compare again"));
  await fireEvent.click(screen.getByText("Set a passphrase"));
  await fireEvent.click(screen.getAllByText("Untrust it?")[0]);
  expect(went).toEqual([`validate ${bob.contact_id}`, `validate ${carol.contact_id}`, "settings", "devices"]);
  expect(screen.queryByTestId("security-done")).toBeNull();
});

test("all in order: the security screen says so, without alarm", async () => {
  mockIPC((cmd) => (cmd === "devices" ? [] : undefined));
  render(Security, { contacts: [carol], appLock: true, refresh: 0, onvalidate() {}, onsettings() {}, ondevices() {} });
  expect((await screen.findByTestId("security-done")).textContent).toMatch(/Nothing to do/);
});

test("a conversation: day separators, quotes, replies, delivery per device, links open on a click", async () => {
  const day = 24 * 3600 * 1000;
  const first = { message_id: "1".repeat(64), conversation_id: "c", author_account: bob.contact_id, author_device: phone, text: "Look: https://example.org/x. 日本語", sent_at: Date.now() - 2 * day, delivery: {}, reply_to: null };
  const second = {
    message_id: "2".repeat(64), conversation_id: "c", author_account: me, author_device: "d", text: "Nice 👍", sent_at: Date.now(),
    delivery: { [phone]: "delivered", [laptop]: "pending" },
    reply_to: { message_id: first.message_id, author_account: bob.contact_id, text: first.text },
  };
  const calls: [string, unknown][] = [];
  mockIPC((cmd, args) => {
    calls.push([cmd, args]);
    if (cmd === "messages") return { messages: [first, second], earlier: 0 };
    if (cmd === "send") return { message_id: "3".repeat(64), conversation_id: "c" };
    return null;
  });
  // Someone looks at the window (jsdom pretends it is hidden).
  Object.defineProperty(document, "hidden", { configurable: true, get: () => false });
  render(Conversation, { contact: bob, me, refresh: 0, muted: false, unread: 1, onvalidate() {} });
  await screen.findByText("Nice 👍");
  expect(screen.getAllByTestId("day").map((d) => d.textContent)).toEqual([expect.stringMatching(/\d/), "Today"]);
  expect(screen.getByTestId("quote").textContent).toMatch(/Bob.*日本語/s);
  // Delivery per device, on demand.
  await fireEvent.click(screen.getByTestId("delivery"));
  expect(screen.getByTestId("delivery-details").textContent).toBe("delivered to 1 of 2 devices (phone); waiting for laptop");
  // A link is text until clicked; then the system browser opens it.
  await fireEvent.click(screen.getByText("https://example.org/x"));
  expect(calls.find(([c]) => c === "open_link")?.[1]).toEqual({ url: "https://example.org/x" });
  // Reply to Bob's message: Enter sends it with the quote.
  await fireEvent.click(screen.getAllByText("reply")[0]);
  expect(screen.getByTestId("replying").textContent).toMatch(/Replying to Bob/);
  const box = screen.getByLabelText("Message");
  await fireEvent.input(box, { target: { value: "line one\nline two" } });
  await fireEvent.keyDown(box, { key: "Enter" });
  await new Promise((r) => setTimeout(r, 20));
  expect(calls.find(([c]) => c === "send")?.[1]).toEqual({ contact: bob.contact_id, text: "line one\nline two", replyTo: first.message_id, anyway: false });
  expect(screen.queryByTestId("replying")).toBeNull();
  // Looking at it marked it read (on all my devices).
  expect(calls.find(([c]) => c === "mark_read")?.[1]).toEqual({ contact: bob.contact_id });
  // Muting asks the node to mute on all my devices.
  await fireEvent.click(screen.getByText("Mute"));
  expect(calls.find(([c]) => c === "set_muted")?.[1]).toEqual({ contact: bob.contact_id, muted: true });
});

test("a conversation with nothing unread writes no read marker", async () => {
  const calls: string[] = [];
  mockIPC((cmd) => {
    calls.push(cmd);
    if (cmd === "messages") return { messages: [], earlier: 0 };
    return null;
  });
  Object.defineProperty(document, "hidden", { configurable: true, get: () => false });
  render(Conversation, { contact: bob, me, refresh: 0, muted: false, unread: 0, onvalidate() {} });
  await screen.findByText(/No messages yet/);
  await new Promise((r) => setTimeout(r, 20));
  expect(calls).toContain("messages");
  expect(calls).not.toContain("mark_read");
});

test("a search result opens its conversation with one load, far enough back to hold it, and shows it", async () => {
  const old = { message_id: "7".repeat(64), conversation_id: "c", author_account: bob.contact_id, author_device: phone, text: "the old one", sent_at: Date.now(), delivery: {}, reply_to: null };
  const limits: number[] = [];
  mockIPC((cmd, args) => {
    if (cmd === "messages") {
      limits.push((args as { limit: number }).limit);
      return { messages: [old], earlier: 0 };
    }
    return null;
  });
  Element.prototype.scrollIntoView = () => {};
  render(Conversation, { contact: bob, me, refresh: 0, muted: false, unread: 0, focus: { message_id: old.message_id, from_end: 450 }, onvalidate() {} });
  await screen.findByText("the old one");
  await new Promise((r) => setTimeout(r, 30));
  expect(limits).toEqual([451]);
  expect(document.querySelector(".highlighted")?.textContent).toMatch(/the old one/);
});
