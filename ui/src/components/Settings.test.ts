import { afterEach, expect, test } from "vitest";
import { clearMocks, mockIPC } from "@tauri-apps/api/mocks";
import { cleanup, fireEvent, render, screen } from "@testing-library/svelte";
import Settings from "./Settings.svelte";

afterEach(() => {
  cleanup();
  clearMocks();
});

const status = {
  has_profile: true,
  locked: false,
  app_lock: false,
  network_from_env: false,
  data_dir: "/home/alice/.local/share/kith",
  identity: { account_id: "a".repeat(64), device_id: "d".repeat(64), name: "Alice", addresses: [] },
};

test("network switches are saved, a custom relay needs a URL", async () => {
  const saved: unknown[] = [];
  mockIPC((cmd, args) => {
    if (cmd === "network_settings") return { lan_discovery: true, dht: true, relay: "public" };
    if (cmd === "set_network_settings") {
      const s = (args as { settings: { relay: string } }).settings;
      if (!/^(public|none|https?:\/\/)/.test(s.relay))
        throw { code: "invalid_input", message: "a relay is \"public\", \"none\" or an http(s):// URL" };
      saved.push(s);
      return s;
    }
  });
  render(Settings, { status });
  const dht = await screen.findByLabelText(/public DHT/);
  await fireEvent.click(dht);
  await fireEvent.click(screen.getByLabelText(/None \(direct/));
  await fireEvent.click(screen.getByText("Save"));
  expect(await screen.findByRole("status")).toBeTruthy();
  expect(saved).toEqual([{ lan_discovery: true, dht: false, relay: "none" }]);
  await fireEvent.click(screen.getByLabelText(/My own relay/));
  await fireEvent.input(screen.getByLabelText("Relay URL"), { target: { value: "relay.example.org" } });
  await fireEvent.click(screen.getByText("Save"));
  expect((await screen.findByRole("alert")).textContent).toMatch(/http\(s\):\/\//);
});

test("the app lock is turned on with a repeated passphrase, and off with the current one", async () => {
  const calls: unknown[] = [];
  let on = false;
  mockIPC((cmd, args) => {
    if (cmd === "network_settings") return { lan_discovery: true, dht: true, relay: "public" };
    if (cmd === "set_passphrase") {
      const a = args as { current: string | null; next: string | null };
      calls.push(a);
      if (on && a.current !== "a long passphrase") throw { code: "wrong_passphrase", message: "wrong passphrase" };
      on = a.next !== null;
      return { ...status, app_lock: on };
    }
  });
  const { rerender } = render(Settings, { status });
  expect(screen.getByText(/Anyone who can use this computer account/)).toBeTruthy();
  const turnOn = screen.getByText("Turn on app lock") as HTMLButtonElement;
  await fireEvent.input(screen.getByLabelText("Passphrase"), { target: { value: "short" } });
  expect(screen.getByText("At least 8 characters.")).toBeTruthy();
  expect(turnOn.disabled).toBe(true);
  await fireEvent.input(screen.getByLabelText("Passphrase"), { target: { value: "a long passphrase" } });
  await fireEvent.input(screen.getByLabelText("Repeat it"), { target: { value: "a long passphrasf" } });
  expect(screen.getByText("The two passphrases differ.")).toBeTruthy();
  expect(turnOn.disabled).toBe(true);
  await fireEvent.input(screen.getByLabelText("Repeat it"), { target: { value: "a long passphrase" } });
  await fireEvent.click(turnOn);
  expect((await screen.findByRole("status")).textContent).toBe("App lock is on.");
  expect(calls).toEqual([{ current: null, next: "a long passphrase" }]);

  await rerender({ status: { ...status, app_lock: true } });
  await fireEvent.input(screen.getByLabelText("Current passphrase"), { target: { value: "wrong one" } });
  await fireEvent.click(screen.getByText("Turn off app lock"));
  expect((await screen.findByRole("alert")).textContent).toMatch(/current passphrase is not right/);
  await fireEvent.input(screen.getByLabelText("Current passphrase"), { target: { value: "a long passphrase" } });
  await fireEvent.click(screen.getByText("Turn off app lock"));
  expect((await screen.findByRole("status")).textContent).toBe("App lock is off.");
  expect(calls.at(-1)).toEqual({ current: "a long passphrase", next: null });
});

test("settings say when the environment fixes the network", async () => {
  mockIPC((cmd) => {
    if (cmd === "network_settings") return { lan_discovery: true, dht: true, relay: "public" };
  });
  render(Settings, { status: { ...status, network_from_env: true } });
  expect((await screen.findByRole("note")).textContent).toMatch(/KITH_LOCAL=1/);
});
