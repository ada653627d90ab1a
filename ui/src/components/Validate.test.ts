import { afterEach, expect, test } from "vitest";
import { clearMocks, mockIPC } from "@tauri-apps/api/mocks";
import { cleanup, fireEvent, render, screen } from "@testing-library/svelte";
import Validate from "./Validate.svelte";

afterEach(() => {
  cleanup();
  clearMocks();
});

const bob = { contact_id: "b".repeat(64), name: "Bob", state: "unvalidated", devices: [], note: "" };

test("a picture of their safety code validates; someone else's code says so and changes nothing", async () => {
  const checked: string[] = [];
  let changed = 0;
  mockIPC((cmd, args) => {
    const a = args as Record<string, unknown>;
    if (cmd === "safety_number") return "1".repeat(60);
    if (cmd === "safety_code") return "KITH-VERIFY:MINE";
    if (cmd === "qr_svg") return "<svg xmlns='http://www.w3.org/2000/svg'/>";
    if (cmd === "read_qr") return (a.image as number[]).length === 3 ? "KITH-VERIFY:THEIRS" : "KITH-VERIFY:OTHER";
    if (cmd === "validate_code") {
      checked.push(a.code as string);
      if (a.code !== "KITH-VERIFY:THEIRS")
        throw { code: "safety_number_mismatch", message: "this code is not from this contact's account" };
      return { ...bob, state: "validated" };
    }
  });
  render(Validate, { contact: bob, changed: () => (changed += 1) });
  expect(await screen.findByAltText("My safety code for Bob")).toBeTruthy();
  const input = screen.getByLabelText("Open a picture of their code…") as HTMLInputElement;

  await fireEvent.change(input, { target: { files: [new File([new Uint8Array(5)], "other.png")] } });
  expect((await screen.findByRole("alert")).textContent).toMatch(/not from this contact/);
  expect(screen.getByText(/someone may stand between you/)).toBeTruthy();
  expect(changed).toBe(0);

  await fireEvent.change(input, { target: { files: [new File([new Uint8Array(3)], "bob.png")] } });
  expect((await screen.findByRole("status")).textContent).toMatch(/Validated: their code matches/);
  expect(checked).toEqual(["KITH-VERIFY:OTHER", "KITH-VERIFY:THEIRS"]);
  expect(changed).toBe(1);
});

/** A desktop whose webview lists `devices` and answers getUserMedia with `media`. */
function desktop(devices: { kind: string }[], media: () => Promise<unknown>) {
  Object.defineProperty(navigator, "mediaDevices", {
    configurable: true,
    value: { enumerateDevices: async () => devices, getUserMedia: media },
  });
  HTMLMediaElement.prototype.play = async () => {};
}

test("with a webcam there is a camera scan; without one only the picture", async () => {
  mockIPC((cmd) => {
    if (cmd === "safety_number") return "1".repeat(60);
    if (cmd === "safety_code") return "KITH-VERIFY:MINE";
    if (cmd === "qr_svg") return "<svg xmlns='http://www.w3.org/2000/svg'/>";
  });
  desktop([{ kind: "audioinput" }], async () => ({}));
  render(Validate, { contact: bob, changed: () => {} });
  expect(await screen.findByText("Open a picture of their code…")).toBeTruthy();
  await new Promise((r) => setTimeout(r, 20));
  expect(screen.queryByText("Scan their code")).toBeNull();
  cleanup();
  let stopped = 0;
  const track = { stop: () => (stopped += 1) };
  desktop([{ kind: "videoinput" }], async () => ({ getTracks: () => [track] }));
  render(Validate, { contact: bob, changed: () => {} });
  await fireEvent.click(await screen.findByText("Scan their code"));
  expect(await screen.findByText("Hold the QR code in front of the camera.")).toBeTruthy();
  expect(screen.getByLabelText("Camera preview")).toBeTruthy();
  await fireEvent.click(screen.getByText("Stop the camera"));
  expect(stopped).toBe(1);
  expect(screen.queryByLabelText("Camera preview")).toBeNull();
});

test("a camera the system refuses says what to do instead", async () => {
  mockIPC((cmd) => {
    if (cmd === "safety_number") return "1".repeat(60);
    if (cmd === "safety_code") return "KITH-VERIFY:MINE";
    if (cmd === "qr_svg") return "<svg xmlns='http://www.w3.org/2000/svg'/>";
  });
  desktop([{ kind: "videoinput" }], async () => {
    throw { name: "NotAllowedError" };
  });
  render(Validate, { contact: bob, changed: () => {} });
  await fireEvent.click(await screen.findByText("Scan their code"));
  expect((await screen.findByRole("alert")).textContent).toMatch(/may not use the camera/);
});
