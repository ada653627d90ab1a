import { describe, expect, test } from "vitest";
import {
  dayLabel,
  deliveryDetails,
  deliverySummary,
  groupDigits,
  linkParts,
  listTime,
  newDay,
  preview,
  short,
  trustMeaning,
  windowTitle,
} from "./format";

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

describe("times", () => {
  const now = new Date(2026, 11, 7, 15, 30).getTime();
  test("the list shows hh:mm today, the weekday this week, the date before", () => {
    expect(listTime(new Date(2026, 11, 7, 9, 5).getTime(), now)).toMatch(/09.05/);
    const monday = new Date(2026, 11, 3, 9, 5).getTime();
    expect(listTime(monday, now)).toBe(new Date(monday).toLocaleDateString(undefined, { weekday: "short" }));
    expect(listTime(new Date(2026, 10, 1).getTime(), now)).toMatch(/2026/);
  });
  test("day separators say today, yesterday, or the date", () => {
    expect(dayLabel(new Date(2026, 11, 7, 0, 1).getTime(), now)).toBe("Today");
    expect(dayLabel(new Date(2026, 11, 6, 23, 59).getTime(), now)).toBe("Yesterday");
    expect(dayLabel(new Date(2026, 10, 1).getTime(), now)).toMatch(/2026/);
    expect(newDay(undefined, now)).toBe(true);
    expect(newDay(new Date(2026, 11, 7, 1).getTime(), now)).toBe(false);
    expect(newDay(new Date(2026, 11, 6, 23).getTime(), now)).toBe(true);
  });
});

describe("links", () => {
  test("web and mail links are cut out, the rest stays text", () => {
    expect(linkParts("see https://example.org/a?b=1, or mailto:bob@example.org.")).toEqual([
      { text: "see ", link: false },
      { text: "https://example.org/a?b=1", link: true },
      { text: ", or ", link: false },
      { text: "mailto:bob@example.org", link: true },
      { text: ".", link: false },
    ]);
  });
  test("other schemes are not links", () => {
    expect(linkParts("javascript:alert(1) file:///etc/passwd")).toEqual([
      { text: "javascript:alert(1) file:///etc/passwd", link: false },
    ]);
  });
  test("text in any script survives", () => {
    const text = "日本語 👋🏽 مرحبا https://例え.jp/パス";
    expect(linkParts(text).map((p) => p.text).join("")).toBe(text);
  });
});

describe("delivery details", () => {
  const names = { p: "phone", l: "laptop" };
  test("names every device", () => {
    expect(deliveryDetails({ p: "delivered", l: "delivered" }, names, "Bob")).toBe("delivered to Bob's phone and laptop");
    expect(deliveryDetails({ p: "pending", l: "pending" }, names, "Bob")).toBe("queued: Bob's devices are offline");
    expect(deliveryDetails({ p: "delivered", l: "pending" }, names, "Bob")).toBe(
      "delivered to 1 of 2 devices (phone); waiting for laptop",
    );
    expect(deliveryDetails({ x1234567890: "pending" }, names, "Bob")).toBe("queued: Bob's device is offline");
    expect(deliveryDetails({}, names, "Bob")).toMatch(/not known yet/);
    expect(deliveryDetails({ p: "delivered" }, { p: "My Computer" }, "Bob")).toBe("delivered to Bob's Computer");
  });
});

describe("the list", () => {
  test("previews say who wrote the last message", () => {
    expect(preview(null)).toBe("No messages yet");
    expect(preview({ mine: true, text: "hi\nthere" })).toBe("You: hi there");
    expect(preview({ mine: false, text: null })).toBe("(arriving…)");
  });
  test("the window title carries the unread total", () => {
    expect(windowTitle(0)).toBe("Kith");
    expect(windowTitle(3)).toBe("(3) Kith");
  });
});
