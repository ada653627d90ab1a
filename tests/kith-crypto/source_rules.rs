//! Project-wide rules checked over the source tree, so a violation fails CI:
//! `unsafe` only in `kith-crypto`'s FFI module; no raw `memcmp`, `memset` or
//! `free` (only `sodium_memcmp`, `sodium_memzero`, `sodium_free`); no `==` on
//! exposed secret bytes.

use std::path::{Path, PathBuf};

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap()
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if path.is_dir() {
            if !matches!(name.as_ref(), "target" | "node_modules" | ".git" | "gen") {
                rust_files(&path, out);
            }
        } else if name.ends_with(".rs") {
            out.push(path);
        }
    }
}

/// Every `.rs` file of the project with its path relative to the root.
fn sources() -> Vec<(String, String)> {
    let root = repo_root();
    let mut files = Vec::new();
    for dir in ["crates", "src-tauri", "tests", "fuzz"] {
        rust_files(&root.join(dir), &mut files);
    }
    assert!(
        files.len() > 10,
        "source scan found too few files: {}",
        files.len()
    );
    files
        .into_iter()
        .map(|p| {
            let rel = p
                .strip_prefix(&root)
                .unwrap()
                .to_string_lossy()
                .into_owned();
            (rel, std::fs::read_to_string(&p).unwrap())
        })
        .collect()
}

/// Lines of code with `//` comments and string contents ignored well enough
/// for these rules.
fn code_lines(text: &str) -> impl Iterator<Item = (usize, &str)> {
    text.lines().enumerate().filter_map(|(i, line)| {
        let code = line.split("//").next().unwrap_or("");
        (!code.trim().is_empty()).then_some((i + 1, code))
    })
}

fn is_word(text: &str, at: usize, word: &str) -> bool {
    let before = text[..at].chars().next_back();
    let after = text[at + word.len()..].chars().next();
    let boundary = |c: Option<char>| c.is_none_or(|c| !(c.is_alphanumeric() || c == '_'));
    boundary(before) && boundary(after)
}

#[test]
fn unsafe_code_lives_only_in_the_ffi_module_of_kith_crypto() {
    let mut offenders = Vec::new();
    for (path, text) in sources() {
        if path.starts_with("crates/kith-crypto/src/ffi/") || path.ends_with("source_rules.rs") {
            continue;
        }
        for (n, code) in code_lines(&text) {
            for (at, _) in code.match_indices("unsafe") {
                let allowed_lint =
                    code.contains("unsafe_code") || code.contains("unsafe_op_in_unsafe_fn");
                if is_word(code, at, "unsafe") && !allowed_lint {
                    offenders.push(format!("{path}:{n}"));
                }
            }
        }
    }
    assert!(
        offenders.is_empty(),
        "unsafe outside kith-crypto's ffi module: {offenders:?}"
    );
}

#[test]
fn every_crate_but_kith_crypto_forbids_unsafe_code() {
    let root = repo_root();
    let mut missing = Vec::new();
    for entry in std::fs::read_dir(root.join("crates")).unwrap().flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        for root_file in ["src/lib.rs", "src/main.rs"] {
            let path = entry.path().join(root_file);
            let Ok(text) = std::fs::read_to_string(&path) else {
                continue;
            };
            let expected = if name == "kith-crypto" {
                "#![deny(unsafe_code)]"
            } else {
                "#![forbid(unsafe_code)]"
            };
            if !text.contains(expected) {
                missing.push(format!("crates/{name}/{root_file}"));
            }
        }
    }
    assert!(
        missing.is_empty(),
        "crate roots without the unsafe_code lint: {missing:?}"
    );
}

#[test]
fn no_raw_memcmp_memset_or_free() {
    let mut offenders = Vec::new();
    for (path, text) in sources() {
        if path.ends_with("source_rules.rs") {
            continue;
        }
        for (n, code) in code_lines(&text) {
            for word in ["memcmp", "memset", "free", "bcmp", "explicit_bzero"] {
                for (at, _) in code.match_indices(word) {
                    let called = code[at + word.len()..].trim_start().starts_with('(');
                    if is_word(code, at, word) && called {
                        offenders.push(format!("{path}:{n}: {}", code.trim()));
                    }
                }
            }
        }
    }
    assert!(
        offenders.is_empty(),
        "use sodium_memcmp / sodium_memzero / sodium_free: {offenders:?}"
    );
}

#[test]
fn exposed_secrets_are_never_compared_with_eq() {
    let mut offenders = Vec::new();
    for (path, text) in sources() {
        if path.starts_with("tests/") || path.ends_with("source_rules.rs") {
            continue; // tests compare results against known answers on purpose
        }
        for (n, code) in code_lines(&text) {
            let compares = code.contains("==") || code.contains("!=");
            let exposes = code.contains(".expose()") || code.contains(".expose_mut()");
            let asserts = code.contains("assert_eq!") || code.contains("assert_ne!");
            if exposes && (compares || asserts) {
                offenders.push(format!("{path}:{n}: {}", code.trim()));
            }
        }
    }
    assert!(
        offenders.is_empty(),
        "compare secrets with ct_eq: {offenders:?}"
    );
}

#[test]
fn the_rules_catch_what_they_are_meant_to_catch() {
    // Guard against a scan that silently matches nothing.
    let sample = "let a = unsafe { memcmp(x, y) };";
    let lines: Vec<_> = code_lines(sample).collect();
    assert_eq!(lines.len(), 1);
    assert!(is_word(sample, sample.find("unsafe").unwrap(), "unsafe"));
    assert!(is_word(sample, sample.find("memcmp").unwrap(), "memcmp"));
    let prefixed = "sodium_memcmp(a, b)";
    assert!(!is_word(
        prefixed,
        prefixed.find("memcmp").unwrap(),
        "memcmp"
    ));
    let commented = "// unsafe { memset(p) }";
    assert_eq!(code_lines(commented).count(), 0);
}

/// The longest a source file of a crate may grow: past it, a concern wants
/// a file of its own (`docs/architecture.md`, the module map).
const MAX_SOURCE_LINES: usize = 600;

#[test]
fn no_crate_source_file_is_over_the_line_limit() {
    let mut offenders = Vec::new();
    for (path, text) in sources() {
        // The libsodium FFI module is one flat list of safe wrappers.
        let in_scope = path.starts_with("crates/") && path.contains("/src/");
        if !in_scope || path == "crates/kith-crypto/src/ffi/mod.rs" {
            continue;
        }
        let lines = text.lines().count();
        if lines > MAX_SOURCE_LINES {
            offenders.push(format!("{path}: {lines} lines"));
        }
    }
    assert!(
        offenders.is_empty(),
        "split these by concern (at most {MAX_SOURCE_LINES} lines): {offenders:?}"
    );
}

/// The top-level module a file of a crate's `src/` belongs to (`None` for
/// the crate root), e.g. `ffi` for `src/ffi/anchor.rs`.
fn top_module(relative: &str) -> Option<String> {
    let first = relative.split('/').next()?;
    let name = first.strip_suffix(".rs").unwrap_or(first);
    (!matches!(name, "lib" | "main")).then(|| name.to_owned())
}

/// The top-level modules named by `crate::name` paths in a file.
fn crate_paths(text: &str) -> std::collections::BTreeSet<String> {
    let mut found = std::collections::BTreeSet::new();
    for (_, code) in code_lines(text) {
        let mut rest = code;
        while let Some(at) = rest.find("crate::") {
            let tail = &rest[at + "crate::".len()..];
            let name: String = tail
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            if is_word(rest, at, "crate") && !name.is_empty() {
                found.insert(name);
            }
            rest = tail;
        }
    }
    found
}

/// A cycle in `graph`, if any, as the modules along it.
fn find_cycle(
    graph: &std::collections::BTreeMap<String, std::collections::BTreeSet<String>>,
) -> Option<Vec<String>> {
    fn visit(
        node: &str,
        graph: &std::collections::BTreeMap<String, std::collections::BTreeSet<String>>,
        path: &mut Vec<String>,
        done: &mut std::collections::BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(start) = path.iter().position(|n| n == node) {
            let mut cycle = path[start..].to_vec();
            cycle.push(node.to_owned());
            return Some(cycle);
        }
        if done.contains(node) {
            return None;
        }
        path.push(node.to_owned());
        for next in graph.get(node).into_iter().flatten() {
            if let Some(cycle) = visit(next, graph, path, done) {
                return Some(cycle);
            }
        }
        path.pop();
        done.insert(node.to_owned());
        None
    }
    let mut done = std::collections::BTreeSet::new();
    graph
        .keys()
        .find_map(|node| visit(node, graph, &mut Vec::new(), &mut done))
}

#[test]
fn no_crate_has_an_import_circle_between_its_modules() {
    use std::collections::{BTreeMap, BTreeSet};
    let mut graphs: BTreeMap<String, BTreeMap<String, BTreeSet<String>>> = BTreeMap::new();
    for (path, text) in sources() {
        let Some((krate, relative)) = path
            .strip_prefix("crates/")
            .and_then(|p| p.split_once("/src/"))
        else {
            continue;
        };
        let Some(module) = top_module(relative) else {
            continue;
        };
        let graph = graphs.entry(krate.to_owned()).or_default();
        let uses = crate_paths(&text);
        let edges = graph.entry(module.clone()).or_default();
        edges.extend(uses.into_iter().filter(|m| *m != module));
    }
    assert!(graphs.len() >= 8, "the scan found too few crates");
    let cycles: Vec<String> = graphs
        .iter()
        .filter_map(|(krate, graph)| {
            // Only edges to modules of this crate (not re-exports of the root).
            let graph: BTreeMap<String, BTreeSet<String>> = graph
                .iter()
                .map(|(m, uses)| {
                    let own = uses.iter().filter(|u| graph.contains_key(*u)).cloned();
                    (m.clone(), own.collect())
                })
                .collect();
            find_cycle(&graph).map(|c| format!("{krate}: {}", c.join(" -> ")))
        })
        .collect();
    assert!(cycles.is_empty(), "import circles: {cycles:?}");
}

#[test]
fn the_module_scan_finds_paths_and_cycles() {
    let text = "use crate::node::{Node, now_ms};\nlet x = crate::views::trust_name(l); // crate::ignored\n";
    let found: Vec<String> = crate_paths(text).into_iter().collect();
    assert_eq!(found, ["node", "views"]);
    assert_eq!(top_module("ffi/anchor.rs").as_deref(), Some("ffi"));
    assert_eq!(top_module("lib.rs"), None);
    let edge = |a: &str, b: &str| {
        (
            a.to_owned(),
            std::collections::BTreeSet::from([b.to_owned()]),
        )
    };
    let circle = std::collections::BTreeMap::from([edge("a", "b"), edge("b", "a")]);
    assert!(find_cycle(&circle).is_some());
    let line = std::collections::BTreeMap::from([edge("a", "b"), edge("b", "c")]);
    assert!(find_cycle(&line).is_none());
}

#[test]
fn the_cli_and_the_app_reach_the_store_only_through_kith_core() {
    let root = repo_root();
    for manifest in ["crates/kith-cli/Cargo.toml", "src-tauri/Cargo.toml"] {
        let text = std::fs::read_to_string(root.join(manifest)).unwrap();
        let depends = text
            .lines()
            .any(|l| l.trim_start().starts_with("kith-store"));
        assert!(
            !depends,
            "{manifest} depends on kith-store: go through kith-core"
        );
    }
    for (path, text) in sources() {
        if path.starts_with("crates/kith-cli/") || path.starts_with("src-tauri/") {
            assert!(
                !code_lines(&text).any(|(_, c)| c.contains("kith_store")),
                "{path} names kith_store: go through kith-core"
            );
        }
    }
}
