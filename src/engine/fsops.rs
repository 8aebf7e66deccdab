//! The only code in the program that writes, renames or removes files.
//!
//! Every replacement is atomic: a temporary file is created *exclusively* (`O_EXCL`, random
//! name) in the target's own directory, written, given the mode/owner/mtime it must have,
//! fsynced, optionally validated, renamed over the target, and the directory is fsynced. A crash
//! at any point leaves either the old file or the new one, never a mix; at worst a stray
//! `.smtpauth-wizard.*` temporary file, which [`stray_temporaries`] finds.
//!
//! Callers go through the journal ([`super::journal`]); nothing else may call these functions
//! to change a served system.

use sha2::{Digest, Sha256};
use std::fs::{self, File, FileTimes};
use std::io::{self, Write};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Prefix of every temporary file we create.
pub const TMP_PREFIX: &str = ".smtpauth-wizard.";

/// What a file looked like: enough to put it back exactly.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Meta {
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
    /// Modification time, seconds and nanoseconds since the epoch.
    pub mtime: i64,
    pub mtime_nsec: i64,
}

impl Meta {
    pub fn of(md: &fs::Metadata) -> Meta {
        Meta {
            mode: md.mode() & 0o7777,
            uid: md.uid(),
            gid: md.gid(),
            mtime: md.mtime(),
            mtime_nsec: md.mtime_nsec(),
        }
    }

    pub fn modified(&self) -> SystemTime {
        if self.mtime >= 0 {
            UNIX_EPOCH + Duration::new(self.mtime as u64, self.mtime_nsec as u32)
        } else {
            UNIX_EPOCH
        }
    }
}

/// Metadata of a path without following a final symlink; `None` when it does not exist.
pub fn meta_of(path: &Path) -> io::Result<Option<Meta>> {
    match fs::symlink_metadata(path) {
        Ok(md) => Ok(Some(Meta::of(&md))),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    let d = Sha256::digest(bytes);
    d.iter().map(|b| format!("{b:02x}")).collect()
}

/// sha256 of a file's content, `None` when it does not exist.
pub fn sha256_file(path: &Path) -> io::Result<Option<String>> {
    match fs::read(path) {
        Ok(b) => Ok(Some(sha256_hex(&b))),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

/// The attributes a written file gets.
#[derive(Debug, Clone, Copy)]
pub struct WriteMeta {
    pub mode: u32,
    /// Owner to give the file; `None` keeps ours.
    pub owner: Option<(u32, u32)>,
    /// Modification time to set (restores and backups); `None` means now.
    pub mtime: Option<SystemTime>,
}

/// A check run on the complete temporary file before it replaces the target (e.g.
/// `sendmail -C TMP -bv root`). An `Err` aborts the write and leaves the target untouched.
pub type Validator<'a> = &'a dyn Fn(&Path) -> Result<(), String>;

fn ctx(e: io::Error, what: &str, path: &Path) -> io::Error {
    // tempfile wraps the errors of creating and renaming its file in one of its own that ends
    // in ` at path "DIR/.smtpauth-wizard.NAME.XXXXXX"` and hides the OS error number: the
    // hint is found by the error's kind too, and the temporary name (noise: the target is
    // named already, and the file is gone) is cut off.
    let hint = match (e.raw_os_error(), e.kind()) {
        (Some(libc::EBUSY), _) | (_, io::ErrorKind::ResourceBusy) => " (a file bind-mounted on its own, as containers do, cannot be replaced atomically; mount its directory instead)",
        (Some(libc::ENOSPC), _) | (_, io::ErrorKind::StorageFull) => " (the file system is full; nothing was half-written)",
        (Some(libc::EROFS), _) | (_, io::ErrorKind::ReadOnlyFilesystem) => " (the file system is mounted read-only)",
        _ => "",
    };
    let msg = e.to_string();
    let msg = match msg.find(&format!(
        " at path \"{}",
        path.parent().unwrap_or(Path::new("/")).display()
    )) {
        Some(i) => &msg[..i],
        None => &msg,
    };
    io::Error::new(
        e.kind(),
        format!("cannot {what} {}: {msg}{hint}", path.display()),
    )
}

/// Atomically replaces (or creates) `path` with `content`.
pub fn replace_file(
    path: &Path,
    content: &[u8],
    meta: WriteMeta,
    validate: Option<Validator<'_>>,
) -> io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("/"));
    if let Ok(md) = fs::symlink_metadata(path) {
        if md.file_type().is_symlink() {
            // Links are resolved by the caller; replacing one would turn it into a file.
            return Err(io::Error::other(format!(
                "refusing to replace symbolic link {} with a file",
                path.display()
            )));
        }
        if md.is_dir() {
            return Err(io::Error::other(format!(
                "{} is a directory, not a file",
                path.display()
            )));
        }
    }
    fault_point("before-temp");
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_default();
    let mut tmp = tempfile::Builder::new()
        .prefix(&format!("{TMP_PREFIX}{name}."))
        .tempfile_in(dir)
        .map_err(|e| ctx(e, "create a temporary file for", path))?;
    // Through the File, not the NamedTempFile, whose errors carry the temporary name.
    tmp.as_file_mut()
        .write_all(content)
        .map_err(|e| ctx(e, "write", path))?;
    fault_point("after-temp-write");
    let f = tmp.as_file();
    f.set_permissions(fs::Permissions::from_mode(meta.mode))
        .map_err(|e| ctx(e, "set the mode of", path))?;
    if let Some((uid, gid)) = meta.owner {
        let md = f.metadata()?;
        if md.uid() != uid || md.gid() != gid {
            nix::unistd::fchown(
                std::os::fd::AsRawFd::as_raw_fd(f),
                Some(nix::unistd::Uid::from_raw(uid)),
                Some(nix::unistd::Gid::from_raw(gid)),
            )
            .map_err(|e| {
                ctx(
                    io::Error::from(e),
                    &format!("give owner {uid}:{gid} to"),
                    path,
                )
            })?;
            // chown clears set-id bits; put the mode back.
            f.set_permissions(fs::Permissions::from_mode(meta.mode))?;
        }
    }
    if let Some(t) = meta.mtime {
        f.set_times(
            FileTimes::new()
                .set_modified(t)
                .set_accessed(SystemTime::now()),
        )
        .map_err(|e| ctx(e, "set the modification time of", path))?;
    }
    f.sync_all().map_err(|e| ctx(e, "flush", path))?;
    fault_point("after-temp-fsync");
    if let Some(v) = validate {
        v(tmp.path()).map_err(io::Error::other)?;
    }
    tmp.persist(path)
        .map_err(|e| ctx(e.error, "rename the new file into", path))?;
    fault_point("after-rename");
    sync_dir(dir)?;
    fault_point("after-dir-fsync");
    Ok(())
}

/// Removes a file and makes the removal durable.
pub fn remove_file(path: &Path) -> io::Result<()> {
    fault_point("before-remove");
    match fs::remove_file(path) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(ctx(e, "remove", path)),
    }
    fault_point("after-remove");
    sync_dir(path.parent().unwrap_or(Path::new("/")))
}

/// Moves an unusable file aside (`NAME.unusable-TIME`) so a fresh one can take its place;
/// returns the new name. Used for a journal that cannot be read.
pub fn move_aside(path: &Path, tag: &str) -> io::Result<PathBuf> {
    let dst = path.with_file_name(format!(
        "{}.{tag}",
        path.file_name()
            .map(|n| n.to_string_lossy().to_string())
            .unwrap_or_default()
    ));
    fault_point("before-move-aside");
    fs::rename(path, &dst).map_err(|e| ctx(e, "move aside", path))?;
    sync_dir(path.parent().unwrap_or(Path::new("/")))?;
    Ok(dst)
}

/// Appends one line to a log file (the audit log): `O_APPEND|O_CREAT|O_NOFOLLOW`, created with
/// `mode`, one `write` of the whole line so concurrent writers never interleave inside it, then
/// fsync (and the directory's fsync when the file was new). The parent directory is created
/// (0755) when missing. A newline inside `line` becomes a space: one event, one line.
/// Reads a file we expect to be a regular file of moderate size: never blocks on a FIFO or a
/// device (opened `O_NONBLOCK`, refused unless regular), and refuses more than `max` bytes
/// instead of reading a planted 1 GiB file into memory.
pub fn read_capped(path: &Path, max: u64) -> io::Result<Vec<u8>> {
    use std::io::Read;
    use std::os::unix::fs::OpenOptionsExt;
    let f = fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)?;
    let md = f.metadata()?;
    if !md.is_file() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("{} is not a regular file", path.display()),
        ));
    }
    if md.len() > max {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!(
                "{} is {} bytes, more than the {} MiB a file of this kind can be",
                path.display(),
                md.len(),
                max >> 20
            ),
        ));
    }
    let mut buf = Vec::with_capacity(md.len() as usize);
    f.take(max + 1).read_to_end(&mut buf)?;
    if buf.len() as u64 > max {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!(
                "{} grew past {} MiB while it was read",
                path.display(),
                max >> 20
            ),
        ));
    }
    Ok(buf)
}

pub fn append_line(path: &Path, line: &str, mode: u32) -> io::Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    let dir = path.parent().unwrap_or(Path::new("/"));
    if !dir.is_dir() {
        ensure_dir(dir, 0o755)?;
    }
    let mut text: String = line
        .trim_end_matches(['\n', '\r'])
        .chars()
        .map(|c| if c == '\n' || c == '\r' { ' ' } else { c })
        .collect();
    text.push('\n');
    let existed = fs::symlink_metadata(path).is_ok();
    fault_point("before-append");
    let mut f = fs::OpenOptions::new()
        .append(true)
        .create(true)
        .mode(mode)
        // A link planted at the log's name must not redirect a root-owned write, and a FIFO
        // there must not hang us.
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
        .open(path)
        .map_err(|e| ctx(e, "open for appending", path))?;
    if !f.metadata().map_err(|e| ctx(e, "look at", path))?.is_file() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("{} is not a regular file", path.display()),
        ));
    }
    f.write_all(text.as_bytes())
        .map_err(|e| ctx(e, "append to", path))?;
    f.sync_all().map_err(|e| ctx(e, "flush", path))?;
    if !existed {
        sync_dir(dir)?;
    }
    Ok(())
}

/// Removes a directory the wizard created, if it is empty. `Ok(false)` when it is gone already
/// or holds something (then it is not ours to remove).
pub fn remove_dir_if_empty(path: &Path) -> io::Result<bool> {
    fault_point("before-rmdir");
    match fs::remove_dir(path) {
        Ok(()) => {
            sync_dir(path.parent().unwrap_or(Path::new("/")))?;
            Ok(true)
        }
        Err(e)
            if e.kind() == io::ErrorKind::NotFound
                || e.kind() == io::ErrorKind::DirectoryNotEmpty =>
        {
            Ok(false)
        }
        Err(e) => Err(ctx(e, "remove directory", path)),
    }
}

/// Creates a directory (and its parents) with the given mode for the last component.
pub fn ensure_dir(path: &Path, mode: u32) -> io::Result<()> {
    if !path.is_dir() {
        fs::create_dir_all(path).map_err(|e| ctx(e, "create directory", path))?;
        fs::set_permissions(path, fs::Permissions::from_mode(mode))
            .map_err(|e| ctx(e, "set the mode of", path))?;
        if let Some(p) = path.parent() {
            sync_dir(p)?;
        }
    }
    Ok(())
}

pub fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| ctx(e, "flush directory", dir))
}

/// Temporary files a crash may have left in `dir`.
pub fn stray_temporaries(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with(TMP_PREFIX))
        .map(|e| e.path())
        .collect();
    v.sort();
    v
}

/// A numbered point where a test may kill the process (cargo feature `fault-injection`).
/// With the feature, `SMTPAUTH_WIZARD_CRASH_AT=N` sends SIGKILL to ourselves at the Nth point,
/// `SMTPAUTH_WIZARD_PANIC_AT=N` panics there instead,
/// and `SMTPAUTH_WIZARD_FAULT_COUNT=FILE` writes the number of points passed to FILE at each one.
#[cfg(feature = "fault-injection")]
pub fn fault_point(name: &str) {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static N: AtomicUsize = AtomicUsize::new(0);
    let n = N.fetch_add(1, Ordering::SeqCst) + 1;
    if let Ok(f) = std::env::var("SMTPAUTH_WIZARD_FAULT_COUNT") {
        let _ = fs::write(f, format!("{n}\n"));
    }
    // A panic instead of a kill: shows that a panic in the middle of a step leaves the terminal
    // usable and the journal consistent.
    if let Ok(at) = std::env::var("SMTPAUTH_WIZARD_PANIC_AT") {
        if at.trim().parse::<usize>().ok() == Some(n) {
            panic!("fault-injection: panic at point {n} ({name})");
        }
    }
    if let Ok(at) = std::env::var("SMTPAUTH_WIZARD_CRASH_AT") {
        if at.trim().parse::<usize>().ok() == Some(n) {
            eprintln!("fault-injection: SIGKILL at point {n} ({name})");
            let _ =
                nix::sys::signal::kill(nix::unistd::getpid(), nix::sys::signal::Signal::SIGKILL);
            std::thread::sleep(Duration::from_secs(60));
        }
    }
}

#[cfg(not(feature = "fault-injection"))]
#[inline(always)]
pub fn fault_point(_name: &str) {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replace_keeps_mode_and_mtime_and_leaves_no_temporaries() {
        let t = tempfile::tempdir().unwrap();
        let p = t.path().join("sendmail.cf");
        fs::write(&p, "old").unwrap();
        let when = UNIX_EPOCH + Duration::new(1_000_000_000, 123_456_789);
        replace_file(
            &p,
            b"new",
            WriteMeta {
                mode: 0o640,
                owner: None,
                mtime: Some(when),
            },
            None,
        )
        .unwrap();
        assert_eq!(fs::read(&p).unwrap(), b"new");
        let m = meta_of(&p).unwrap().unwrap();
        assert_eq!(m.mode, 0o640);
        assert_eq!(m.modified(), when);
        assert!(stray_temporaries(t.path()).is_empty());
    }

    #[test]
    fn a_failed_validation_leaves_the_target_alone() {
        let t = tempfile::tempdir().unwrap();
        let p = t.path().join("sendmail.cf");
        fs::write(&p, "old").unwrap();
        let bad: Validator = &|_p: &Path| Err("sendmail -bv said no".to_string());
        let e = replace_file(
            &p,
            b"new",
            WriteMeta {
                mode: 0o644,
                owner: None,
                mtime: None,
            },
            Some(bad),
        )
        .unwrap_err();
        assert!(e.to_string().contains("sendmail -bv said no"));
        assert_eq!(fs::read(&p).unwrap(), b"old");
        assert!(stray_temporaries(t.path()).is_empty());
    }

    #[test]
    fn append_line_creates_with_the_mode_and_appends_whole_lines() {
        let t = tempfile::tempdir().unwrap();
        let p = t.path().join("var/log/smtpauth-wizard.log");
        append_line(&p, "first", 0o640).unwrap();
        append_line(&p, "second\nstill second\n", 0o600).unwrap();
        assert_eq!(
            fs::read_to_string(&p).unwrap(),
            "first\nsecond still second\n"
        );
        // The mode is the creator's; a later append does not change it.
        assert_eq!(meta_of(&p).unwrap().unwrap().mode, 0o640);
        let l = t.path().join("link.log");
        std::os::unix::fs::symlink(&p, &l).unwrap();
        assert!(append_line(&l, "x", 0o640).is_err(), "followed a symlink");
        assert_eq!(fs::read_to_string(&p).unwrap().lines().count(), 2);
    }

    #[test]
    fn symlinks_are_never_replaced() {
        let t = tempfile::tempdir().unwrap();
        let p = t.path().join("link");
        std::os::unix::fs::symlink("/etc/passwd", &p).unwrap();
        let e = replace_file(
            &p,
            b"x",
            WriteMeta {
                mode: 0o644,
                owner: None,
                mtime: None,
            },
            None,
        )
        .unwrap_err();
        assert!(e.to_string().contains("symbolic link"));
    }
}
