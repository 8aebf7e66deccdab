//! Where the wizard's own state and the targets of rollback are, inside the resolved root.
//!
//! A `--root` tree may hold directories another user can write (`--trust-root`, or one
//! subdirectory left open); a link planted there (`ROOT/var/lib -> /`, `var/log -> /etc`,
//! `etc/mail -> /etc`) must never make root write, chmod or delete outside the tree. So:
//!
//! - the state paths (journal directory, `saved/`, the lock, temporary files) contain no
//!   symbolic link at all: the wizard creates them itself. Each is checked, component by
//!   component, with `openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS)` from the root directory,
//!   and refused with the link's name when one is found;
//! - the journal directory's parents inside the root must belong to root or the effective uid
//!   and not be writable by others (sticky directories excepted, as [`super::trust`] judges);
//! - the audit log and every file rollback and recovery restore or remove are resolved the way
//!   the configuration files are ([`Root::resolve`]: links followed *inside* the root), their
//!   directory checked again with `openat2` just before use, and a link at the file's own name
//!   is refused (the wizard wrote a file there, not a link).
//!
//! On the live system (`--root /`) every path is inside the root, and only root can make links
//! in the directories involved: the checks there are the owner checks only, so a root-owned
//! system run normally behaves as before.
//!
//! What remains: the path is checked, then used by name, so a user who can write a directory
//! of the tree can still race a link in between; the window is a few system calls, and the
//! seal keeps them from steering what is written.

use super::root::{normalize, Root};
use nix::fcntl::{openat2, OFlag, OpenHow, ResolveFlag};
use std::io;
use std::os::fd::{FromRawFd, OwnedFd};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

fn open_how(no_symlinks: bool) -> OpenHow {
    let mut resolve = ResolveFlag::RESOLVE_BENEATH | ResolveFlag::RESOLVE_NO_MAGICLINKS;
    if no_symlinks {
        resolve |= ResolveFlag::RESOLVE_NO_SYMLINKS;
    }
    OpenHow::new()
        .flags(OFlag::O_PATH | OFlag::O_CLOEXEC)
        .resolve(resolve)
}

/// Opens `rel` (relative to the root directory) with `O_PATH` and `RESOLVE_BENEATH` (plus
/// `RESOLVE_NO_SYMLINKS` when asked). `Ok(None)` when it does not exist.
fn open_beneath(root: &Root, rel: &str, no_symlinks: bool) -> io::Result<Option<OwnedFd>> {
    let base = std::fs::File::open(root.dir())?;
    let rel = if rel.is_empty() { "." } else { rel };
    match openat2(
        std::os::fd::AsRawFd::as_raw_fd(&base),
        rel,
        open_how(no_symlinks),
    ) {
        Ok(fd) => {
            // SAFETY: openat2 returned a new descriptor that nothing else owns. nix 0.29's
            // openat2 hands back a RawFd, so taking ownership of it needs this one block.
            #[allow(unsafe_code)]
            let fd = unsafe { OwnedFd::from_raw_fd(fd) };
            Ok(Some(fd))
        }
        Err(nix::errno::Errno::ENOENT) => Ok(None),
        Err(e) => Err(io::Error::from(e)),
    }
}

fn refuse(root: &Root, at: &str, what: &str, why: &str) -> io::Error {
    io::Error::new(
        io::ErrorKind::PermissionDenied,
        format!(
            "refusing to use {} for {what}: {why}; nothing outside {} is ever written. Remove it \
             (after checking who put it there) and run again",
            root.join(at).display(),
            root.dir().display()
        ),
    )
}

/// A state path (`what` names it for messages) under the root, after checking that no
/// component of it that exists is a symbolic link or leads out of the root.
pub fn state_path(root: &Root, target: &str, what: &str) -> io::Result<PathBuf> {
    let norm = normalize(target);
    if root.is_host() {
        return Ok(root.join(&norm));
    }
    let parts: Vec<&str> = norm.trim_start_matches('/').split('/').collect();
    for i in 1..=parts.len() {
        let rel = parts[..i].join("/");
        match open_beneath(root, &rel, true) {
            Ok(Some(_)) => {}
            Ok(None) => break,
            Err(e) => {
                let at = format!("/{rel}");
                let why = match e.raw_os_error() {
                    Some(libc::ELOOP) => {
                        let to = std::fs::read_link(root.join(&at))
                            .map(|t| format!(" (to {})", t.display()))
                            .unwrap_or_default();
                        format!("{at} is a symbolic link{to}, and the wizard's state lives only in real directories inside the root")
                    }
                    Some(libc::EXDEV) => format!("{at} leads out of the root"),
                    _ => format!("{at} cannot be opened: {e}"),
                };
                return Err(refuse(root, &at, what, &why));
            }
        }
    }
    Ok(root.join(&norm))
}

/// The journal directory's parents inside the root (`/var`, `/var/lib`) must belong to root or
/// the effective uid and not be writable by others (unless sticky): whoever can write one can
/// replace the journal directory with their own.
pub fn check_state_parents(root: &Root, dir: &str) -> io::Result<()> {
    let euid = nix::unistd::geteuid().as_raw();
    let norm = normalize(dir);
    let mut at = Path::new(&norm).parent();
    let mut problems = vec![];
    while let Some(p) = at {
        if p == Path::new("/") {
            break;
        }
        let real = root.join(&p.display().to_string());
        if let Ok(m) = std::fs::symlink_metadata(&real) {
            let open = m.mode() & 0o022 != 0 && m.mode() & 0o1000 == 0;
            let owner_ok = m.uid() == 0 || m.uid() == euid;
            if open || !owner_ok {
                problems.push(format!(
                    "{} {} (mode {:o}, owner uid {})",
                    real.display(),
                    if open {
                        "can be written by other users"
                    } else {
                        "belongs to another user"
                    },
                    m.mode() & 0o7777,
                    m.uid()
                ));
            }
        }
        at = p.parent();
    }
    if problems.is_empty() {
        return Ok(());
    }
    Err(io::Error::new(
        io::ErrorKind::PermissionDenied,
        format!(
            "refusing to keep the journal in {}: {}; whoever can write there can replace the \
             journal directory. `chown root: DIR; chmod go-w DIR` (or work on a copy only you \
             can write)",
            root.join(&norm).display(),
            problems.join("; ")
        ),
    ))
}

/// Where a served-system file that rollback, recovery or the audit log writes is: its
/// directory resolved inside the root as the configuration files are, checked again with
/// `openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS)`, and the file's own name kept (a link
/// there is not followed: see [`refuse_link_at`]).
pub fn target_path(root: &Root, target: &str) -> io::Result<PathBuf> {
    let norm = normalize(target);
    let Some((parent, name)) = norm.rsplit_once('/').filter(|(_, n)| !n.is_empty()) else {
        return Ok(root.join(&norm));
    };
    let dir = root.resolve(if parent.is_empty() { "/" } else { parent })?;
    let at = format!("{}/{name}", dir.target.trim_end_matches('/'));
    if !root.is_host() {
        let rel = dir.target.trim_start_matches('/');
        if let Err(e) = open_beneath(root, rel, true) {
            return Err(refuse(
                root,
                &dir.target,
                &norm,
                &format!(
                    "its directory {} changed into a link while it was resolved ({e})",
                    dir.target
                ),
            ));
        }
    }
    Ok(root.join(&at))
}

/// Refuses to restore, remove or read through a symbolic link standing at `real`'s own name:
/// the wizard wrote a file there, so a link is somebody else's.
pub fn refuse_link_at(real: &Path) -> io::Result<()> {
    match std::fs::symlink_metadata(real) {
        Ok(m) if m.file_type().is_symlink() => {
            let to = std::fs::read_link(real)
                .map(|t| t.display().to_string())
                .unwrap_or_default();
            Err(io::Error::new(
                io::ErrorKind::PermissionDenied,
                format!(
                    "{} is now a symbolic link (to {to}) where the wizard wrote a file; it was \
                     left alone: check who made it, remove it, and run again",
                    real.display()
                ),
            ))
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;
    use std::os::unix::fs::symlink;

    #[test]
    fn state_paths_refuse_links_and_targets_stay_inside() {
        let t = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        let root = Root::new(t.path()).unwrap();
        fs::create_dir_all(root.join("/var")).unwrap();
        symlink(outside.path(), root.join("/var/lib")).unwrap();
        let e = state_path(&root, "/var/lib/smtpauth-wizard", "the journal").unwrap_err();
        assert!(e.to_string().contains("/var/lib is a symbolic link"), "{e}");
        fs::remove_file(root.join("/var/lib")).unwrap();
        assert_eq!(
            state_path(&root, "/var/lib/smtpauth-wizard", "x").unwrap(),
            root.join("/var/lib/smtpauth-wizard")
        );
        // A directory link to / is followed inside the root.
        symlink("/", root.join("/x")).unwrap();
        assert_eq!(
            target_path(&root, "/x/etc/passwd").unwrap(),
            root.join("/etc/passwd")
        );
        symlink("/etc/passwd", root.join("/var/f")).unwrap();
        assert!(refuse_link_at(&target_path(&root, "/var/f").unwrap()).is_err());
    }
}
