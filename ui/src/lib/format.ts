// Pure helpers the screens share (unit-tested).

/** 60 digits as 12 groups of 5, in two rows of 6 groups. */
export function groupDigits(digits: string): [string, string] {
  const clean = digits.replace(/\D/g, "");
  const groups = clean.match(/.{1,5}/g) ?? [];
  return [groups.slice(0, 6).join(" "), groups.slice(6).join(" ")];
}

export type Trust = "unvalidated" | "validated" | "compromised";

/** What a trust state means, in plain words. */
export function trustMeaning(state: string): string {
  switch (state) {
    case "validated":
      return "You compared safety numbers: this is really them.";
    case "compromised":
      return "Something is wrong with this contact's keys. Check with them in person before you trust it again.";
    default:
      return "Not checked yet: compare safety numbers to be sure it is really them.";
  }
}

/** "2 of 3 devices" style delivery summary for one message. */
export function deliverySummary(delivery: Record<string, string>): {
  delivered: number;
  total: number;
  label: string;
} {
  const states = Object.values(delivery);
  const delivered = states.filter((s) => s === "delivered").length;
  const total = states.length;
  let label: string;
  if (total === 0) label = "queued";
  else if (delivered === 0) label = "queued, not yet delivered";
  else if (delivered === total) label = total === 1 ? "delivered" : `delivered to all ${total} devices`;
  else label = `delivered to ${delivered} of ${total} devices`;
  return { delivered, total, label };
}

/** A short form of a hex id. */
export function short(id: string): string {
  return id.slice(0, 8);
}

/** A time for the message list. */
export function when(ms: number, now: number = Date.now()): string {
  const d = new Date(ms);
  const sameDay = new Date(now).toDateString() === d.toDateString();
  return sameDay
    ? d.toLocaleTimeString(undefined, { hour: "2-digit", minute: "2-digit" })
    : d.toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });
}

const DAY = 24 * 3600 * 1000;

/** Midnight (local time) of the day `ms` falls on. */
function dayStart(ms: number): number {
  const d = new Date(ms);
  d.setHours(0, 0, 0, 0);
  return d.getTime();
}

/** The time in the conversation list: today hh:mm, this week the weekday, older the date. */
export function listTime(ms: number, now: number = Date.now()): string {
  const d = new Date(ms);
  const days = Math.round((dayStart(now) - dayStart(ms)) / DAY);
  if (days <= 0) return d.toLocaleTimeString(undefined, { hour: "2-digit", minute: "2-digit" });
  if (days < 7) return d.toLocaleDateString(undefined, { weekday: "short" });
  return d.toLocaleDateString(undefined, { dateStyle: "medium" });
}

/** The separator above the first message of a day. */
export function dayLabel(ms: number, now: number = Date.now()): string {
  const days = Math.round((dayStart(now) - dayStart(ms)) / DAY);
  if (days <= 0) return "Today";
  if (days === 1) return "Yesterday";
  const d = new Date(ms);
  return d.toLocaleDateString(undefined, { weekday: "long", day: "numeric", month: "long", year: "numeric" });
}

/** Whether two times fall on different (local) days. */
export function newDay(previous: number | undefined, ms: number): boolean {
  return previous === undefined || dayStart(previous) !== dayStart(ms);
}

/** Text cut into plain parts and links (web and mail), shown as text and opened only on a click. */
export function linkParts(text: string): { text: string; link: boolean }[] {
  const parts: { text: string; link: boolean }[] = [];
  const re = /\b(?:https?:\/\/|mailto:)[^\s<>"]+/gi;
  let at = 0;
  for (const m of text.matchAll(re)) {
    // A sentence's closing punctuation is not part of the link.
    const link = m[0].replace(/[.,;:!?)\]]+$/, "");
    const start = m.index ?? 0;
    if (start > at) parts.push({ text: text.slice(at, start), link: false });
    parts.push({ text: link, link: true });
    at = start + link.length;
  }
  if (at < text.length) parts.push({ text: text.slice(at), link: false });
  return parts;
}

/** "a", "a and b", "a, b and c". */
function andList(items: string[]): string {
  if (items.length <= 1) return items.join("");
  return `${items.slice(0, -1).join(", ")} and ${items.at(-1)}`;
}

/**
 * Where a message of mine is, per device of the other side, in words:
 * "delivered to Bob's phone and laptop", "queued: Bob's devices are offline",
 * "delivered to 1 of 2 devices (phone); waiting for laptop".
 */
export function deliveryDetails(
  delivery: Record<string, string>,
  names: Record<string, string>,
  owner: string,
): string {
  // A device its owner called "my phone" is "Bob's phone" to everyone else.
  const name = (d: string) => (names[d] ? names[d].replace(/^my\s+/i, "") : `device ${short(d)}`);
  const devices = Object.keys(delivery);
  const done = devices.filter((d) => delivery[d] === "delivered").map(name);
  const waiting = devices.filter((d) => delivery[d] !== "delivered").map(name);
  if (devices.length === 0) return `queued: ${owner}'s devices are not known yet`;
  if (done.length === 0) return `queued: ${owner}'s ${devices.length === 1 ? "device is" : "devices are"} offline`;
  if (waiting.length === 0) return `delivered to ${owner}'s ${andList(done)}`;
  return `delivered to ${done.length} of ${devices.length} devices (${andList(done)}); waiting for ${andList(waiting)}`;
}

/** The preview line of a conversation. */
export function preview(last: { mine: boolean; text: string | null } | null): string {
  if (!last) return "No messages yet";
  const text = (last.text ?? "(arriving…)").replace(/\s+/g, " ").trim();
  return last.mine ? `You: ${text}` : text;
}

/** The window title: the unread total in front. */
export function windowTitle(unread: number): string {
  return unread > 0 ? `(${unread}) Kith` : "Kith";
}
