//! The write-ahead journal: `ROOT/var/lib/smtpauth-wizard/journal.yaml` (0600, directory 0700).
//!
//! Model: rustup's typed changes, stored on disk first as certbot's reverter does. For every
//! file change the journal records, *before* the file is touched, the path, a saved copy of the
//! original (with its mode, owner and modification time), the sha256 before and the sha256 we
//! are about to write. Recovery and rollback decide from those hashes alone what to undo, so
//! they need neither m4 nor sendmail, survive `kill -9` at any point, and notice a file that
//! somebody changed after we wrote it (certbot #738) instead of overwriting it.
//!
//! Never relies on `Drop` or a panic hook: an interrupted step is found `in-progress` on the
//! next start and undone then.

use super::fsops::{self, Meta, WriteMeta};
use super::root::Root;
use super::state_path::{check_state_parents, refuse_link_at, state_path, target_path};
use std::fs;
use std::io;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

mod format;
mod records;
pub mod seal;
mod undo;

pub use format::*;
pub use records::*;
pub use undo::Conflict;

/// The journal, open for reading (`check`, `plan`, `status`) or writing (`apply`, `rollback`).
pub struct Journal {
    pub data: JournalData,
    dir: PathBuf,
    file: PathBuf,
    root: Root,
    _lock: Option<nix::fcntl::Flock<fs::File>>,
    /// Directories `open` created (deepest first): removed again, with the lock file, when the
    /// journal was never written (a rollback or apply that changed nothing leaves no trace).
    created: Vec<PathBuf>,
}

impl Drop for Journal {
    fn drop(&mut self) {
        // Only the writer that holds the lock, and only while it still holds it (the Flock
        // field is dropped after this body), and only when no journal was ever written here.
        if self._lock.is_none() || self.file.exists() {
            return;
        }
        let _ = fs::remove_file(self.dir.join("lock"));
        for d in std::iter::once(&self.dir.join("saved")).chain(&self.created) {
            // rmdir: fails, and is left alone, unless empty.
            let _ = fs::remove_dir(d);
        }
    }
}

/// The state directory must be ours alone: a real directory (not a link), owned by the
/// effective uid, with no access for group or others. A directory with too wide a mode (one
/// was found 0755) is repaired to 0700; one owned by another user, or a link, is refused:
/// whoever owns it could plant or forge the journal that rollback trusts.
pub fn secure_state_dir(dir: &Path) -> io::Result<()> {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    let md = fs::symlink_metadata(dir)
        .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", dir.display())))?;
    if md.file_type().is_symlink() || !md.is_dir() {
        return Err(io::Error::new(
            io::ErrorKind::PermissionDenied,
            format!(
                "{} is not a directory but {}: the wizard keeps its journal only in a directory \
                 of its own; remove it (after checking who put it there) and run again",
                dir.display(),
                if md.file_type().is_symlink() {
                    "a symbolic link"
                } else {
                    "something else"
                }
            ),
        ));
    }
    let euid = nix::unistd::geteuid().as_raw();
    if md.uid() != euid {
        return Err(io::Error::new(
            io::ErrorKind::PermissionDenied,
            format!(
                "{} belongs to uid {}, not to uid {euid} who runs the wizard: its journal could \
                 have been written by someone else, so it is not trusted; check it, then \
                 `chown {euid} {}` and run again",
                dir.display(),
                md.uid(),
                dir.display()
            ),
        ));
    }
    if md.mode() & 0o077 != 0 {
        fs::set_permissions(dir, fs::Permissions::from_mode(0o700)).map_err(|e| {
            io::Error::new(
                e.kind(),
                format!(
                    "{} has mode {:o}, open to other users, and cannot be set to 0700: {e}",
                    dir.display(),
                    md.mode() & 0o7777
                ),
            )
        })?;
    }
    Ok(())
}

/// Whether a finished journal of an earlier version (unkeyed checksum) may be taken: only on
/// the live system, where the journal directory and its parents belong to root (or the
/// effective uid) and nobody else can write them, so nobody else could have written it.
fn legacy_ok(root: &Root, dir: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    let euid = nix::unistd::geteuid().as_raw();
    root.is_host()
        && check_state_parents(root, JOURNAL_DIR).is_ok()
        && fs::symlink_metadata(dir)
            .is_ok_and(|m| m.is_dir() && m.uid() == euid && m.mode() & 0o022 == 0)
}

/// Text of a journal load problem, for `status` to show while it carries on.
pub fn journal_path(root: &Root) -> PathBuf {
    root.join(JOURNAL_DIR).join("journal.yaml")
}

impl Journal {
    /// Opens without creating anything or taking the lock.
    pub fn read(root: &Root) -> Result<Journal, JournalError> {
        let dir = state_path(root, JOURNAL_DIR, "the journal")?;
        let file = dir.join("journal.yaml");
        let data = load(&file, legacy_ok(root, &dir))?;
        Ok(Journal {
            data,
            dir,
            file,
            root: root.clone(),
            _lock: None,
            created: vec![],
        })
    }

    /// Opens for changes: creates the directory (0700), takes an exclusive lock.
    pub fn open(root: &Root) -> Result<Journal, JournalError> {
        // No link anywhere on the way, parents only root's (or ours): see `state_path`.
        let dir = state_path(root, JOURNAL_DIR, "the journal")?;
        check_state_parents(root, JOURNAL_DIR)?;
        let created: Vec<PathBuf> = dir
            .ancestors()
            .take_while(|d| !d.exists() && *d != root.dir())
            .map(Path::to_path_buf)
            .collect();
        fsops::ensure_dir(&dir, 0o700)?;
        // Checked again now that it exists: it was created by this process, or it was there.
        state_path(root, JOURNAL_DIR, "the journal")?;
        secure_state_dir(&dir)?;
        let lock_path = state_path(root, &format!("{JOURNAL_DIR}/lock"), "the lock")?;
        let lock = loop {
            // O_NOFOLLOW: a link planted at the lock's name must not make us create or open
            // a file elsewhere (`lock -> /etc/nologin`).
            let lf = fs::OpenOptions::new()
                .create(true)
                .truncate(false)
                .write(true)
                .mode(0o600)
                .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
                .open(&lock_path)
                .map_err(|e| {
                    io::Error::new(
                        e.kind(),
                        format!("cannot open {}: {e}", lock_path.display()),
                    )
                })?;
            let lock = nix::fcntl::Flock::lock(lf, nix::fcntl::FlockArg::LockExclusiveNonblock)
                .map_err(|_| JournalError::Locked {
                    path: lock_path.display().to_string(),
                })?;
            // A writer that changed nothing removes the lock file as it finishes (see Drop):
            // the lock counts only if it is on the file the path names now.
            use std::os::unix::fs::MetadataExt;
            let held = lock.metadata()?;
            match fs::metadata(&lock_path) {
                Ok(m) if m.ino() == held.ino() && m.dev() == held.dev() => break lock,
                _ => continue,
            }
        };
        let file = dir.join("journal.yaml");
        let data = load(&file, legacy_ok(root, &dir))?;
        let j = Journal {
            data,
            dir,
            file,
            root: root.clone(),
            _lock: Some(lock),
            created,
        };
        j.sweep_temporaries()?;
        Ok(j)
    }

    /// Removes temporary files a crash left behind (`.smtpauth-wizard.*`) in the journal's
    /// directories and in the directory of every file the journal names. Only we create such
    /// names, and we hold the lock, so none of them belongs to a write in progress.
    fn sweep_temporaries(&self) -> io::Result<()> {
        let state = |rel: &str| {
            state_path(
                &self.root,
                &format!("{JOURNAL_DIR}/{rel}"),
                "sweeping temporary files",
            )
        };
        let mut dirs: Vec<PathBuf> = vec![self.dir.clone(), state("saved")?];
        for r in &self.data.runs {
            // A run id is the wizard's own (a timestamp and a pid); one with a `/` or `..`
            // in a journal is not swept.
            if r.id.contains('/') || r.id.starts_with('.') {
                continue;
            }
            dirs.push(state(&format!("saved/{}", r.id))?);
            for s in &r.steps {
                for f in &s.files {
                    // Resolved inside the root, as the file was when it was written.
                    if let Some(p) = target_path(&self.root, &f.path)?.parent() {
                        dirs.push(p.to_path_buf());
                    }
                }
            }
        }
        dirs.sort();
        dirs.dedup();
        for d in dirs {
            for t in fsops::stray_temporaries(&d) {
                // Only files: a directory or link of that name is not one of ours.
                if fs::symlink_metadata(&t).is_ok_and(|m| m.is_file()) {
                    fsops::remove_file(&t)?;
                }
            }
        }
        Ok(())
    }

    pub fn path(&self) -> &std::path::Path {
        &self.file
    }

    /// Where a saved original is (`rel` from [`FileRecord::saved`]), for reading it to compare;
    /// undo goes through [`state_path`], which refuses a link on the way.
    pub fn saved_path(&self, rel: &str) -> PathBuf {
        self.dir.join(rel)
    }

    fn persist(&self) -> io::Result<()> {
        let text = render_journal(&self.data)?;
        fsops::replace_file(
            &self.file,
            text.as_bytes(),
            WriteMeta {
                mode: 0o600,
                owner: None,
                mtime: None,
            },
            None,
        )
    }

    /// The run still open (not finished), if any.
    pub fn open_run(&self) -> Option<&Run> {
        self.data.runs.last().filter(|r| r.finished.is_none())
    }

    /// Starts a new run, or continues the unfinished one (resume).
    pub fn begin_run(&mut self, profile: &str) -> io::Result<String> {
        if let Some(r) = self.open_run() {
            return Ok(r.id.clone());
        }
        let now = now_rfc3339();
        let id = format!("{}-{}", now.replace([':', '-'], ""), std::process::id());
        self.data.version = JOURNAL_VERSION;
        self.data.runs.push(Run {
            id: id.clone(),
            started: now,
            finished: None,
            profile: profile.to_string(),
            program_version: env!("CARGO_PKG_VERSION").to_string(),
            steps: vec![],
        });
        self.persist()?;
        Ok(id)
    }

    pub fn finish_run(&mut self) -> io::Result<()> {
        if let Some(r) = self.data.runs.last_mut() {
            if r.finished.is_none() {
                r.finished = Some(now_rfc3339());
                self.persist()?;
            }
        }
        Ok(())
    }

    fn current_step(&mut self) -> &mut StepRecord {
        let run = self.data.runs.last_mut().expect("begin_run before steps");
        run.steps.last_mut().expect("begin_step before changes")
    }

    pub fn begin_step(&mut self, id: &str) -> io::Result<()> {
        let run = self
            .data
            .runs
            .last_mut()
            .ok_or_else(|| io::Error::other("internal: no run open"))?;
        run.steps.push(StepRecord {
            id: id.to_string(),
            state: StepState::InProgress,
            started: now_rfc3339(),
            finished: None,
            files: vec![],
            commands: vec![],
            note: None,
            created_dirs: vec![],
        });
        self.persist()
    }

    pub fn end_step(&mut self, note: Option<String>) -> io::Result<()> {
        let s = self.current_step();
        s.state = StepState::Done;
        s.finished = Some(now_rfc3339());
        s.note = note;
        self.persist()
    }

    /// Drops the record of the current step if it changed nothing (keeps the journal short).
    pub fn end_step_unchanged(&mut self) -> io::Result<()> {
        let s = self.current_step();
        if s.files.is_empty() && s.commands.is_empty() {
            let run = self.data.runs.last_mut().unwrap();
            run.steps.pop();
            self.persist()
        } else {
            self.end_step(None)
        }
    }

    pub fn record_command(
        &mut self,
        argv: Vec<String>,
        status: Option<i32>,
        stderr: String,
    ) -> io::Result<()> {
        self.current_step().commands.push(CommandRecord {
            argv,
            status,
            stderr,
            at: now_rfc3339(),
        });
        self.persist()
    }

    /// Writes one file the journaled way: save the original, record the intent, replace the
    /// file atomically, record that it was written.
    pub fn write_file(
        &mut self,
        target: &str,
        content: &[u8],
        new_meta: Option<WriteMeta>,
        why: &str,
        validate: Option<fsops::Validator<'_>>,
    ) -> Result<(), JournalError> {
        self.write_file_as(target, content, new_meta, None, why, validate)
    }

    /// [`Journal::write_file`], where `exact` (when given) sets mode, owner and mtime even on a
    /// file that exists (restoring a `.bak` puts back the original's attributes too).
    pub fn write_file_as(
        &mut self,
        target: &str,
        content: &[u8],
        new_meta: Option<WriteMeta>,
        exact: Option<WriteMeta>,
        why: &str,
        validate: Option<fsops::Validator<'_>>,
    ) -> Result<(), JournalError> {
        let res = self.root.resolve(target)?;
        let real = res.real.clone();
        let before = match fs::read(&real) {
            Ok(b) => Some(b),
            Err(e) if e.kind() == io::ErrorKind::NotFound => None,
            Err(e) => {
                return Err(io::Error::new(
                    e.kind(),
                    format!("cannot read {}: {e}", real.display()),
                )
                .into())
            }
        };
        let meta = fsops::meta_of(&real)?;
        let sha_after = fsops::sha256_hex(content);
        let sha_before = before.as_deref().map(fsops::sha256_hex);
        if sha_before.as_deref() == Some(sha_after.as_str()) && exact.is_none() {
            return Ok(());
        }
        let before_rec = match (&before, meta, sha_before) {
            (Some(b), Some(meta), Some(sha)) => Before::Existed {
                saved: self.save_original(&res.target, b)?,
                meta,
                sha,
            },
            (Some(_), None, _) => {
                return Err(io::Error::other(format!(
                    "{} vanished while it was read",
                    self.root.display(&res.target)
                ))
                .into())
            }
            _ => Before::Absent,
        };
        self.current_step().files.push(FileRecord {
            path: res.target.clone(),
            via_links: res.via_links.clone(),
            before: before_rec,
            sha_after,
            state: FileState::Intended,
            why: why.to_string(),
        });
        self.persist()?;
        // A replaced file keeps its mode and owner; a new one gets what the plan says.
        let wm = match (meta, new_meta) {
            _ if exact.is_some() => exact.unwrap(),
            (Some(m), _) => WriteMeta {
                mode: m.mode,
                owner: Some((m.uid, m.gid)),
                mtime: None,
            },
            (None, Some(n)) => n,
            (None, None) => WriteMeta {
                mode: 0o644,
                owner: None,
                mtime: None,
            },
        };
        // Missing parent directories are journaled before they are made, so rollback can
        // take them away again.
        let mut missing = vec![];
        let mut d = std::path::Path::new(&res.target).parent();
        while let Some(p) = d {
            if p == std::path::Path::new("/") || self.root.join(&p.display().to_string()).is_dir() {
                break;
            }
            missing.push(p.display().to_string());
            d = p.parent();
        }
        if !missing.is_empty() {
            missing.reverse();
            self.current_step()
                .created_dirs
                .extend(missing.iter().cloned());
            self.persist()?;
            for m in &missing {
                fsops::ensure_dir(&self.root.join(m), 0o755)?;
            }
        }
        // A user working on a tree of their own (`--root` without root privileges) cannot give
        // files to root: the tree is a copy, so new files stay theirs instead of failing.
        let wm = if !self.root.is_host() && !nix::unistd::geteuid().is_root() {
            WriteMeta { owner: None, ..wm }
        } else {
            wm
        };
        fsops::replace_file(&real, content, wm, validate)?;
        self.current_step().files.last_mut().unwrap().state = FileState::Written;
        self.persist()?;
        Ok(())
    }

    /// Keeps a copy of a file's original content in the journal directory (0600), named after
    /// the run and its place in it; returns its name relative to the journal directory.
    fn save_original(&self, target: &str, content: &[u8]) -> io::Result<String> {
        let run = self.data.runs.last();
        let run_id = run.map(|r| r.id.clone()).unwrap_or_default();
        let n: usize = run
            .map(|r| r.steps.iter().map(|s| s.files.len()).sum())
            .unwrap_or(0);
        let rel = format!(
            "saved/{run_id}/{:03}-{}",
            n + 1,
            target.trim_start_matches('/').replace('/', "_")
        );
        let what = "the saved originals";
        let p = state_path(&self.root, &format!("{JOURNAL_DIR}/{rel}"), what)?;
        fsops::ensure_dir(
            &state_path(&self.root, &format!("{JOURNAL_DIR}/saved"), what)?,
            0o700,
        )?;
        fsops::ensure_dir(p.parent().unwrap(), 0o700)?;
        state_path(&self.root, &format!("{JOURNAL_DIR}/{rel}"), what)?;
        let wm = WriteMeta {
            mode: 0o600,
            owner: None,
            mtime: None,
        };
        fsops::replace_file(&p, content, wm, None)?;
        Ok(rel)
    }

    /// Records a change that a command made by itself (a service script regenerating files),
    /// given the file as it was before the command ran, so rollback can restore it too.
    pub fn record_side_effect(
        &mut self,
        target: &str,
        before: Option<(Vec<u8>, Meta)>,
        why: &str,
    ) -> Result<bool, JournalError> {
        let res = self.root.resolve(target)?;
        let now = match fs::read(&res.real) {
            Ok(b) => b,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(false),
            Err(e) => return Err(e.into()),
        };
        let meta_now = fsops::meta_of(&res.real)?;
        if let Some((b, m)) = &before {
            if *b == now && Some(*m) == meta_now {
                return Ok(false);
            }
        }
        let before_rec = match &before {
            Some((b, m)) => Before::Existed {
                saved: self.save_original(&res.target, b)?,
                meta: *m,
                sha: fsops::sha256_hex(b),
            },
            None => Before::Absent,
        };
        self.current_step().files.push(FileRecord {
            path: res.target,
            via_links: res.via_links,
            before: before_rec,
            sha_after: fsops::sha256_hex(&now),
            state: FileState::Written,
            why: why.to_string(),
        });
        self.persist()?;
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn root() -> (tempfile::TempDir, Root) {
        let t = tempfile::tempdir().unwrap();
        let r = Root::new(t.path()).unwrap();
        fs::create_dir_all(r.join("/etc/mail")).unwrap();
        (t, r)
    }

    #[test]
    fn dates() {
        assert_eq!(fmt_utc(0), "1970-01-01T00:00:00Z");
        assert_eq!(fmt_utc(1_795_705_883), "2026-11-26T15:11:23Z");
        assert_eq!(fmt_utc(-1), "1969-12-31T23:59:59Z");
        assert_eq!(fmt_utc(i64::MAX), format!("@{}", i64::MAX));
    }

    #[test]
    fn write_then_undo_is_the_identity_and_conflicts_stop_rollback() {
        let (_t, r) = root();
        let p = r.join("/etc/mail/sendmail.mc");
        fs::write(&p, "original").unwrap();
        let mut j = Journal::open(&r).unwrap();
        j.begin_run("debian").unwrap();
        j.begin_step("sendmail-mc").unwrap();
        j.write_file("/etc/mail/sendmail.mc", b"edited", None, "test", None)
            .unwrap();
        j.write_file("/etc/mail/relay-domains", b"", None, "test", None)
            .unwrap();
        j.end_step(None).unwrap();
        assert_eq!(fs::read(&p).unwrap(), b"edited");
        let mode = fs::metadata(j.path()).unwrap().permissions();
        assert_eq!(
            std::os::unix::fs::PermissionsExt::mode(&mode) & 0o777,
            0o600
        );

        fs::write(&p, "someone else").unwrap();
        let e = j.undo_step(0, 0, false).unwrap_err();
        assert!(
            e.to_string()
                .contains("changed since smtpauth-wizard wrote it"),
            "{e}"
        );
        fs::write(&p, "edited").unwrap();
        drop(j);
        let mut j = Journal::open(&r).unwrap();
        j.undo_step(0, 0, false).unwrap();
        assert_eq!(fs::read(&p).unwrap(), b"original");
        assert!(!r.join("/etc/mail/relay-domains").exists());
    }

    #[test]
    fn conflicts_are_found_by_simulating_the_undo_newest_first() {
        let (_t, r) = root();
        let p = r.join("/etc/mail/sendmail.mc");
        fs::write(&p, "original").unwrap();
        let mut j = Journal::open(&r).unwrap();
        j.begin_run("debian").unwrap();
        j.begin_step("sendmail-mc").unwrap();
        j.write_file("/etc/mail/sendmail.mc", b"one", None, "t", None)
            .unwrap();
        j.end_step(None).unwrap();
        j.begin_step("relay-features").unwrap();
        j.write_file("/etc/mail/sendmail.mc", b"two", None, "t", None)
            .unwrap();
        j.write_file("/etc/mail/relay-domains", b"x", None, "t", None)
            .unwrap();
        j.end_step(None).unwrap();
        // Written twice: the older record's result is not "changed since".
        assert!(j.rollback_conflicts(&j.applied_newest_first()).is_empty());
        assert!(j.changed_since_written().is_empty());
        // Changed afterwards: named once, at the newest writer. A file the wizard created
        // and someone removed is as rollback would leave it: no conflict.
        fs::write(&p, "admin").unwrap();
        fs::remove_file(r.join("/etc/mail/relay-domains")).unwrap();
        let c = j.rollback_conflicts(&j.applied_newest_first());
        assert_eq!(c.len(), 1, "{c:?}");
        assert_eq!(c[0].step, "relay-features");
        assert_eq!(c[0].path, "/etc/mail/sendmail.mc");
        // A file that existed and is gone is one.
        fs::remove_file(&p).unwrap();
        let c = j.rollback_conflicts(&j.applied_newest_first());
        assert_eq!(c[0].found, None, "{c:?}");
        // Only the older step: the newer content is a conflict for it.
        fs::write(&p, "two").unwrap();
        fs::write(r.join("/etc/mail/relay-domains"), "x").unwrap();
        let c = j.rollback_conflicts(&[(0, 0)]);
        assert_eq!(c.len(), 1);
        assert_eq!(c[0].step, "sendmail-mc");
    }

    #[test]
    fn an_in_progress_step_is_undone_on_recovery() {
        let (_t, r) = root();
        fs::write(r.join("/etc/mail/access"), "a").unwrap();
        let mut j = Journal::open(&r).unwrap();
        j.begin_run("debian").unwrap();
        j.begin_step("relay-access").unwrap();
        j.write_file("/etc/mail/access", b"b", None, "test", None)
            .unwrap();
        drop(j); // crash: never ended
        let mut j = Journal::open(&r).unwrap();
        let msgs = j.recover().unwrap();
        assert!(msgs[0].contains("relay-access"), "{msgs:?}");
        assert_eq!(fs::read(r.join("/etc/mail/access")).unwrap(), b"a");
    }

    #[test]
    fn corrupt_and_newer_journals_are_refused_with_advice() {
        let (_t, r) = root();
        let f = journal_path(&r);
        fs::create_dir_all(f.parent().unwrap()).unwrap();
        fs::write(&f, "version: 1\nruns: [ {").unwrap();
        let e = Journal::read(&r).err().unwrap().to_string();
        assert!(
            e.contains("cannot be read") && e.contains("--from-backups"),
            "{e}"
        );
        fs::write(&f, "version: 99\nruns: []\nfuture: x\n").unwrap();
        let e = Journal::read(&r).err().unwrap().to_string();
        assert!(e.contains("newer smtpauth-wizard"), "{e}");
    }

    #[test]
    fn a_second_writer_is_locked_out() {
        let (_t, r) = root();
        let _a = Journal::open(&r).unwrap();
        let e = Journal::open(&r).err().unwrap().to_string();
        assert!(e.contains("another smtpauth-wizard"), "{e}");
    }

    /// Issue 13 item 2, upgrades: a journal of an earlier version ends with an unkeyed sha256,
    /// which anyone who could write it could recompute. One with a run left open is refused
    /// with advice; a finished one is taken only where nobody else could have written it.
    #[test]
    fn an_unkeyed_journal_is_taken_only_finished_and_from_a_safe_place() {
        let (_t, r) = root();
        fs::write(r.join("/etc/mail/access"), "a").unwrap();
        let mut j = Journal::open(&r).unwrap();
        j.begin_run("debian").unwrap();
        j.begin_step("relay-access").unwrap();
        j.write_file("/etc/mail/access", b"b", None, "test", None)
            .unwrap();
        let unkeyed = |j: &Journal| {
            let text = fs::read_to_string(j.path()).unwrap();
            let body = &text[..text.rfind("# end of journal").unwrap()];
            format!(
                "{body}{OLD_END_LINE}{}\n",
                fsops::sha256_hex(body.as_bytes())
            )
        };
        let open = unkeyed(&j);
        j.end_step(None).unwrap();
        j.finish_run().unwrap();
        let done = unkeyed(&j);
        for (text, safe, taken) in [
            (&done, true, true),
            (&done, false, false),
            (&open, true, false),
            (&open, false, false),
        ] {
            let got = parse_sealed("j", text.as_bytes(), safe);
            assert_eq!(
                got.is_ok(),
                taken,
                "safe {safe}: {:?}",
                got.as_ref().err().map(|e| e.to_string())
            );
            if let Err(e) = got {
                let e = e.to_string();
                assert!(
                    e.contains("earlier smtpauth-wizard") && e.contains("--from-backups"),
                    "{e}"
                );
            }
        }
        // Edited after the old checksum was computed: damage, even from a safe place.
        let edited = done.replacen("relay-access", "relay-accesS", 1);
        let e = parse_sealed("j", edited.as_bytes(), true)
            .unwrap_err()
            .to_string();
        assert!(e.contains("checksum does not match"), "{e}");
        // A journal of this version, sealed with another key: refused before it is parsed.
        let text = fs::read_to_string(j.path()).unwrap();
        let body = &text[..text.rfind("# end of journal").unwrap()];
        let forged = format!(
            "{body}{END_LINE}{}\n",
            seal::hmac_sha256_hex(&[7; 32], body.as_bytes())
        );
        let e = parse_journal("j", forged.as_bytes())
            .unwrap_err()
            .to_string();
        assert!(e.contains("its seal does not verify"), "{e}");
        assert!(parse_journal("j", text.as_bytes()).is_ok());
    }
}
