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
