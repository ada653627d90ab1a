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
