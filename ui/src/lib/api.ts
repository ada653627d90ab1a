// The one door to the node: the generated bindings, with errors turned
// into thrown `{ code, message }` objects the screens show.
import type { CoreError } from "./bindings";

export type { CoreError };

type Typed<T> = { status: "ok"; data: T } | { status: "error"; error: CoreError };

/** Awaits a generated command; returns its data or throws its CoreError. */
export async function call<T>(result: Promise<Typed<T>>): Promise<T> {
  const r = await result;
  if (r.status === "error") throw r.error;
  return r.data;
}

/** A readable message for anything thrown. */
export function describe(e: unknown): string {
  if (e && typeof e === "object" && "message" in e) return String((e as CoreError).message);
  return String(e);
}

/** The error code, if it is a CoreError. */
export function codeOf(e: unknown): string | undefined {
  if (e && typeof e === "object" && "code" in e) return String((e as CoreError).code);
  return undefined;
}
