// Reads `cargo metadata --format-version 1` on stdin and prints the
// copyright file's paragraph for the Rust crates the binaries link: each
// crate other than Kith's own, with the licence its author declared.
import { readFileSync } from "node:fs";

const meta = JSON.parse(readFileSync(0, "utf8"));
const own = new Set(meta.workspace_members);
const lines = meta.packages
  .filter((p) => !own.has(p.id))
  .map((p) => ` ${p.name} ${p.version}: ${p.license ?? "see the crate"}`)
  .sort();
console.log("Files: rust-crates/*");
console.log("Copyright: the authors of each crate listed below");
console.log("License: MIT or Apache-2.0, and others as listed");
console.log("Comment:");
console.log(" The Rust crates linked into kith and kith-app, with their licences:");
console.log(" .");
for (const line of lines) console.log(line);
