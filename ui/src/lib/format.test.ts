import { describe, expect, test } from "vitest";
import { deliverySummary, groupDigits, short, trustMeaning } from "./format";

describe("safety numbers", () => {
  test("60 digits become two rows of six groups of five", () => {
    const digits = "123456789012345678901234567890123456789012345678901234567890";
    const [a, b] = groupDigits(digits);
    expect(a).toBe("12345 67890 12345 67890 12345 67890");
    expect(b).toBe("12345 67890 12345 67890 12345 67890");
  });
  test("spaces and other characters are ignored", () => {
    expect(groupDigits("12345 67890-11111")[0]).toBe("12345 67890 11111");
  });
});

describe("delivery", () => {
  test("nothing delivered reads as queued", () => {
    expect(deliverySummary({ a: "pending", b: "pending" }).label).toBe("queued, not yet delivered");
    expect(deliverySummary({}).label).toBe("queued");
  });
  test("partial and full delivery", () => {
    expect(deliverySummary({ a: "delivered", b: "pending" }).label).toBe("delivered to 1 of 2 devices");
    expect(deliverySummary({ a: "delivered", b: "delivered" }).label).toBe("delivered to all 2 devices");
    expect(deliverySummary({ a: "delivered" }).label).toBe("delivered");
  });
});

test("trust meanings are plain words, and ids shorten", () => {
  expect(trustMeaning("validated")).toMatch(/really them/);
  expect(trustMeaning("compromised")).toMatch(/wrong/);
  expect(trustMeaning("unvalidated")).toMatch(/Not checked/);
  expect(short("abcdef0123456789")).toBe("abcdef01");
});
