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
