//! `kith generate-docs --out DIR` (hidden): the man pages and shell
//! completions the Debian package ships, generated from the clap
//! definitions so they never drift from the command line.

use std::path::Path;

use clap::CommandFactory;
use kith_core::CoreError;
use serde_json::{Value, json};

use crate::Cli;

fn io_error(what: &Path, e: std::io::Error) -> CoreError {
    CoreError::new("io_error", format!("cannot write {}: {e}", what.display()))
}

/// Writes `man/kith.1`, `man/kith-<command>.1` for each visible command
/// (and `kith-<command>-<sub>.1` below it), and `completions/kith.bash`,
/// `_kith` (zsh) and `kith.fish` under `out`.
pub(crate) fn generate(out: &Path) -> Result<Value, CoreError> {
    let man = out.join("man");
    let completions = out.join("completions");
    for dir in [&man, &completions] {
        std::fs::create_dir_all(dir).map_err(|e| io_error(dir, e))?;
    }
    let mut command = visible();
    command.build();
    let mut pages = Vec::new();
    write_pages(&command, "kith", &man, &mut pages)?;
    for (shell, file) in [
        (clap_complete::Shell::Bash, "kith.bash"),
        (clap_complete::Shell::Zsh, "_kith"),
        (clap_complete::Shell::Fish, "kith.fish"),
    ] {
        let path = completions.join(file);
        let mut buffer = Vec::new();
        clap_complete::generate(shell, &mut command.clone(), "kith", &mut buffer);
        std::fs::write(&path, buffer).map_err(|e| io_error(&path, e))?;
    }
    Ok(json!({ "man_pages": pages, "completions": ["kith.bash", "_kith", "kith.fish"] }))
}

/// The command line without its hidden commands (completion generators
/// would offer them).
fn visible() -> clap::Command {
    let full = Cli::command();
    let mut command = clap::Command::new("kith").subcommand_required(true);
    if let Some(version) = full.get_version() {
        command = command.version(version.to_owned());
    }
    if let Some(about) = full.get_about() {
        command = command.about(about.clone());
    }
    if let Some(about) = full.get_long_about() {
        command = command.long_about(about.clone());
    }
    for arg in full.get_arguments() {
        command = command.arg(arg.clone());
    }
    for sub in full.get_subcommands().filter(|s| !s.is_hide_set()) {
        command = command.subcommand(sub.clone());
    }
    command
}

/// The page of `command` (called `name`) and of each visible subcommand.
fn write_pages(
    command: &clap::Command,
    name: &str,
    dir: &Path,
    pages: &mut Vec<String>,
) -> Result<(), CoreError> {
    let page = command.clone().name(name.to_owned());
    let mut buffer = Vec::new();
    clap_mangen::Man::new(page)
        .section("1")
        .manual("Kith manual")
        .render(&mut buffer)
        .map_err(|e| io_error(dir, e))?;
    let file = format!("{name}.1");
    let path = dir.join(&file);
    std::fs::write(&path, buffer).map_err(|e| io_error(&path, e))?;
    pages.push(file);
    for sub in command.get_subcommands().filter(|s| !s.is_hide_set()) {
        if sub.get_name() == "help" {
            continue;
        }
        write_pages(sub, &format!("{name}-{}", sub.get_name()), dir, pages)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    /// Every visible command gets its page, the hidden one none, and the
    /// completions know the nested commands.
    #[test]
    fn pages_and_completions_cover_the_command_line() {
        let dir = tempfile::tempdir().unwrap();
        let report = super::generate(dir.path()).unwrap();
        let pages: Vec<&str> = report["man_pages"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p.as_str().unwrap())
            .collect();
        for page in ["kith.1", "kith-daemon.1", "kith-contact-safety-number.1"] {
            assert!(pages.contains(&page), "{page} missing from {pages:?}");
            let text = std::fs::read_to_string(dir.path().join("man").join(page)).unwrap();
            assert!(
                text.starts_with(".ie") || text.contains(".TH"),
                "{page}: {text}"
            );
        }
        assert!(
            !pages
                .iter()
                .any(|p| p.contains("generate-docs") || p.contains("help"))
        );
        let bash = std::fs::read_to_string(dir.path().join("completions/kith.bash")).unwrap();
        assert!(bash.contains("safety-number") && !bash.contains("generate-docs"));
    }
}
