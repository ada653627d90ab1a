import { afterEach, expect, test, vi } from "vitest";
import { clearMocks, mockIPC } from "@tauri-apps/api/mocks";
import { cleanup, fireEvent, render, screen, within } from "@testing-library/svelte";
import Conversation from "./Conversation.svelte";
import GroupInfo from "./GroupInfo.svelte";
import JoinRoom from "./JoinRoom.svelte";
import NewRoom from "./NewRoom.svelte";

const me = "a".repeat(64);
const mod = "b".repeat(64);
const stranger = "d".repeat(64);
const owner = "e".repeat(64);
const uri = "kith-room:ABCDEFGH";
const room = {
  group_id: "9".repeat(64),
  name: "Town square",
  kind: "room",
  role: "moderator",
  posting: "everyone",
  slow_mode_secs: 0,
  members: [
    { account_id: owner, name: "Olga", role: "admin" },
    { account_id: me, name: "Alice", role: "moderator" },
    { account_id: mod, name: "Max", role: "moderator" },
    { account_id: stranger, name: "Dora", role: "member" },
  ],
};

afterEach(() => {
  cleanup();
  clearMocks();
  vi.restoreAllMocks();
});

test("a new room says plainly it is public, then shows its link", async () => {
  const calls: [string, unknown][] = [];
  mockIPC((cmd, args) => {
    if (cmd === "qr_svg") return "<svg></svg>";
    calls.push([cmd, args]);
    return { group_id: room.group_id, name: "Town square", uri };
  });
  const opened: string[] = [];
  render(NewRoom, { created: (id: string) => opened.push(id) });
  expect(screen.getByRole("note").textContent).toMatch(/public to whoever has its link/);
  await fireEvent.input(screen.getByLabelText(/Name/), { target: { value: " Town square " } });
  await fireEvent.click(screen.getByText("Create room"));
  await vi.waitFor(() => expect(screen.getByTestId("room-link").textContent).toBe(uri));
  expect(calls).toEqual([["create_room", { name: "Town square" }]]);
  await fireEvent.click(screen.getByText("Open the room"));
  expect(opened).toEqual([room.group_id]);
});

test("an opened room link fills the form, and joining is a click", async () => {
  const calls: [string, unknown][] = [];
  mockIPC((cmd, args) => {
    calls.push([cmd, args]);
    return { group_id: room.group_id, name: room.name };
  });
  const joined: string[] = [];
  render(JoinRoom, { opened: uri, joined: (id: string) => joined.push(id) });
  expect(screen.getByRole("note").textContent).toMatch(/Opened from a link/);
  expect(calls).toEqual([]);
  await fireEvent.click(screen.getByText("Join"));
  await vi.waitFor(() => expect(joined).toEqual([room.group_id]));
  expect(calls).toEqual([["join_room", { uri }]]);
});

test("a refused link says why and joins nothing", async () => {
  mockIPC(() => {
    throw { code: "bad_uri", message: "this is a contact invite (kith:); use `kith contact add`" };
  });
  const joined: string[] = [];
  render(JoinRoom, { joined: (id: string) => joined.push(id) });
  await fireEvent.input(screen.getByLabelText("Room link"), { target: { value: "kith:XYZ" } });
  await fireEvent.click(screen.getByText("Join"));
  await vi.waitFor(() => expect(screen.getByRole("alert").textContent).toMatch(/contact invite/));
  expect(joined).toEqual([]);
});

test("a room's moderator bans members of a lower role only, and shows the link; nobody adds", async () => {
  const calls: [string, unknown][] = [];
  mockIPC((cmd, args) => {
    if (cmd === "qr_svg") return "<svg></svg>";
    calls.push([cmd, args]);
    return cmd === "room_invite" ? { uri } : room;
  });
  vi.spyOn(window, "confirm").mockReturnValue(true);
  let changed = 0;
  render(GroupInfo, { group: room, contacts: [], me, changed: () => changed++, onvalidate: () => {} });
  const rows = screen.getAllByTestId("group-member");
  expect(within(rows[0]).queryByText("Ban")).toBeNull();
  expect(within(rows[2]).queryByText("Ban")).toBeNull();
  expect(screen.queryByText("Remove")).toBeNull();
  expect(screen.queryByLabelText("Contact to add")).toBeNull();
  await fireEvent.click(within(rows[3]).getByText("Ban"));
  await fireEvent.click(screen.getByText("Show the room's link"));
  await vi.waitFor(() => expect(screen.getByTestId("room-link").textContent).toBe(uri));
  expect(changed).toBe(2);
  expect(calls).toEqual([
    ["room_ban", { room: room.group_id, account: stranger }],
    ["room_invite", { room: room.group_id }],
  ]);
  expect(screen.getByText("Leave room")).toBeTruthy();
  // A moderator makes no moderators (admins do).
  expect(screen.queryByText("Make moderator")).toBeNull();
});

test("room info says who posts; a moderator sets the policy, an admin makes moderators", async () => {
  const calls: [string, unknown][] = [];
  mockIPC((cmd, args) => {
    calls.push([cmd, args]);
    return room;
  });
  render(GroupInfo, { group: { ...room, slow_mode_secs: 120 }, contacts: [], me, changed: () => {}, onvalidate: () => {} });
  expect(screen.getByTestId("room-policy").textContent).toMatch(/Everyone posts · one post per 2 min per device/);
  await fireEvent.change(screen.getByLabelText("Who posts"), { target: { value: "moderators" } });
  await fireEvent.input(screen.getByLabelText("Slow mode in seconds"), { target: { value: "30" } });
  await fireEvent.click(screen.getByText("Save"));
  await vi.waitFor(() => expect(calls).toEqual([["room_set_policy", { room: room.group_id, posting: "moderators", slowModeSecs: 30 }]]));
  cleanup();
  calls.length = 0;
  render(GroupInfo, { group: { ...room, role: "admin", posting: "moderators" }, contacts: [], me, changed: () => {}, onvalidate: () => {} });
  expect(screen.getByTestId("room-policy").textContent).toMatch(/Only moderators and admins post · no slow mode/);
  const dora = screen.getAllByTestId("group-member")[3];
  await fireEvent.click(within(dora).getByText("Make moderator"));
  await vi.waitFor(() => expect(calls).toEqual([["room_make_moderator", { room: room.group_id, member: stranger }]]));
  cleanup();
  render(GroupInfo, { group: { ...room, role: "member" }, contacts: [], me, changed: () => {}, onvalidate: () => {} });
  expect(screen.queryByText("Save")).toBeNull();
});

test("in a room, a moderator removes a post for everyone; a member cannot", async () => {
  const post = { message_id: "5".repeat(64), conversation_id: room.group_id, author_account: stranger, author_name: "Dora", author_device: "f".repeat(64), text: "buy now", sent_at: Date.now(), delivery: {}, reply_to: null };
  const calls: [string, unknown][] = [];
  mockIPC((cmd, args) => {
    calls.push([cmd, args]);
    if (cmd === "messages") return { messages: [post], earlier: 0 };
    if (cmd === "room_remove_post") return { group_id: room.group_id, message_id: post.message_id, removed: true };
    return null;
  });
  vi.spyOn(window, "confirm").mockReturnValue(true);
  render(Conversation, { group: room, me, refresh: 0, muted: false, unread: 0, onvalidate() {}, oninfo() {} });
  expect(screen.getByTestId("room-notice").textContent).toMatch(/anyone with its link reads every post/);
  await vi.waitFor(() => expect(screen.getByText("buy now")).toBeTruthy());
  await fireEvent.click(screen.getByText("remove for everyone"));
  await vi.waitFor(() =>
    expect(calls.find(([c]) => c === "room_remove_post")?.[1]).toEqual({ room: room.group_id, message: post.message_id }),
  );
  cleanup();
  render(Conversation, { group: { ...room, role: "member" }, me, refresh: 0, muted: false, unread: 0, onvalidate() {}, oninfo() {} });
  await vi.waitFor(() => expect(screen.getByText("buy now")).toBeTruthy());
  expect(screen.queryByText("remove for everyone")).toBeNull();
});
