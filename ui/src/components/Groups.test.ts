import { afterEach, expect, test, vi } from "vitest";
import { clearMocks, mockIPC } from "@tauri-apps/api/mocks";
import { cleanup, fireEvent, render, screen, within } from "@testing-library/svelte";
import ConversationList from "./ConversationList.svelte";
import GroupInfo from "./GroupInfo.svelte";
import NewGroup from "./NewGroup.svelte";

const me = "a".repeat(64);
const bob = {
  contact_id: "b".repeat(64),
  name: "Bob",
  state: "unvalidated",
  devices: [],
  device_names: {},
  new_devices: [] as string[],
  note: "",
};
const stranger = "d".repeat(64);
const group = {
  group_id: "9".repeat(64),
  name: "Weekend",
  kind: "group",
  role: "admin",
  members: [
    { account_id: me, name: "Alice", role: "admin" },
    { account_id: bob.contact_id, name: "Bob", role: "member" },
    { account_id: stranger, name: "Dora", role: "member" },
  ],
};

afterEach(() => {
  cleanup();
  clearMocks();
  vi.restoreAllMocks();
});

test("the list shows a group with its kind and opens it as a group", async () => {
  const opened: [string, boolean][] = [];
  render(ConversationList, {
    conversations: [
      { conversation_id: group.group_id, kind: "group", contact: null, group, last: null, unread: 2, muted: false },
      { conversation_id: "x", kind: "group", contact: null, group: { ...group, group_id: "8".repeat(64), name: "Old", role: "left" }, last: null, unread: 0, muted: false },
    ],
    current: undefined,
    onopen: (id: string, isGroup: boolean) => opened.push([id, isGroup]),
  });
  const items = screen.getAllByTestId("conversation");
  expect(items[0].textContent).toMatch(/Weekend\s*group/);
  expect(within(items[0]).getByTestId("unread").textContent).toBe("2 unread");
  expect(within(items[1]).getByTestId("preview").textContent).toBe("You are no longer in this group");
  await fireEvent.click(items[0]);
  expect(opened).toEqual([[group.group_id, true]]);
});

test("group info marks who is not a contact and lets an admin promote and remove", async () => {
  const calls: [string, unknown][] = [];
  mockIPC((cmd, args) => {
    calls.push([cmd, args]);
    return group;
  });
  vi.spyOn(window, "confirm").mockReturnValue(true);
  let changed = 0;
  render(GroupInfo, { group, contacts: [bob], me, changed: () => changed++, onvalidate: () => {} });
  const rows = screen.getAllByTestId("group-member");
  expect(rows[0].textContent).toMatch(/You\s*admin/);
  expect(within(rows[1]).getByTestId("trust-badge").textContent).toMatch(/unvalidated/);
  expect(rows[2].textContent).toMatch(/Dora.*not a contact/);
  await fireEvent.click(within(rows[2]).getByText("Make admin"));
  await fireEvent.click(within(rows[1]).getByText("Remove"));
  await vi.waitFor(() => expect(changed).toBe(2));
  expect(calls).toEqual([
    ["group_promote", { group: group.group_id, member: stranger }],
    ["group_remove", { group: group.group_id, member: bob.contact_id }],
  ]);
});

test("a member sees no admin actions; a removed member cannot leave again", () => {
  render(GroupInfo, { group: { ...group, role: "member" }, contacts: [bob], me, changed: () => {}, onvalidate: () => {} });
  expect(screen.queryByText("Make admin")).toBeNull();
  expect(screen.queryByText("Remove")).toBeNull();
  expect(screen.getByText("Leave group")).toBeTruthy();
  cleanup();
  render(GroupInfo, { group: { ...group, role: "removed" }, contacts: [bob], me, changed: () => {}, onvalidate: () => {} });
  expect(screen.queryByText("Leave group")).toBeNull();
});

test("a new group is created with the contacts picked", async () => {
  const calls: unknown[] = [];
  mockIPC((cmd, args) => {
    calls.push([cmd, args]);
    return group;
  });
  const created: string[] = [];
  render(NewGroup, { contacts: [bob], created: (id: string) => created.push(id) });
  await fireEvent.input(screen.getByPlaceholderText("Climbing on Sunday"), { target: { value: "Weekend" } });
  await fireEvent.click(screen.getByTestId("pick-member"));
  await fireEvent.click(screen.getByText("Create group"));
  await vi.waitFor(() => expect(created).toEqual([group.group_id]));
  expect(calls).toEqual([["create_group", { name: "Weekend", members: [bob.contact_id] }]]);
});
