//! Owner-only permissions of the profile folder and its database file
//! (the key file is made owner-only in `root.rs`). Profiles made before
//! this was enforced are narrowed when opened; nothing is ever widened.

use std::path::Path;

/// Creates `dir` (its parents as usual) readable only by its owner, or
/// narrows it to that if it exists.
pub(crate) fn owner_only_dir(dir: &Path) -> std::io::Result<()> {
    if let Some(parent) = dir.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)?;
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        match std::fs::DirBuilder::new().mode(0o700).create(dir) {
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && dir.is_dir() => {}
            other => other?,
        }
    }
    #[cfg(not(unix))]
    std::fs::create_dir_all(dir)?;
    narrow(dir, 0o700)
}

/// Creates the empty file `path` readable only by its owner (the database
/// then initialises in it); it must not exist yet.
pub(crate) fn create_owner_only_file(path: &Path) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(path).map(drop)
}

/// Clears every permission bit of `path` outside `allowed` (Unix; a no-op
/// elsewhere, where the profile sits in the user's own folder).
pub(crate) fn narrow(path: &Path, allowed: u32) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(path)?.permissions().mode();
        if mode & 0o777 & !allowed != 0 {
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode & allowed))?;
        }
    }
    #[cfg(not(unix))]
    let _ = (path, allowed);
    Ok(())
}
