import { expect, test } from "vitest";
import { cameraError, frameSize, toLuma } from "./camera";

test("frames turn into grey levels: white, black and the weights of red, green and blue", () => {
  const rgba = new Uint8ClampedArray([255, 255, 255, 255, 0, 0, 0, 255, 255, 0, 0, 255, 0, 255, 0, 255, 0, 0, 255, 255]);
  expect(toLuma(rgba)).toEqual([255, 0, 76, 150, 29]);
});

test("frames are scaled down to the longer side, never up", () => {
  expect(frameSize(1280, 720, 800)).toEqual({ width: 800, height: 450 });
  expect(frameSize(720, 1280, 800)).toEqual({ width: 450, height: 800 });
  expect(frameSize(640, 480, 800)).toEqual({ width: 640, height: 480 });
});

test("a camera that does not start says why and what to do instead", () => {
  expect(cameraError({ name: "NotAllowedError" })).toMatch(/may not use the camera.*privacy settings.*picture/);
  expect(cameraError({ name: "NotFoundError" })).toMatch(/No camera found/);
  expect(cameraError({ name: "NotReadableError" })).toMatch(/busy/);
  expect(cameraError(new Error("boom"))).toMatch(/did not start: boom/);
});
