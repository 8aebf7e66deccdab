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
use serde::{Deserialize, Serialize};
use std::fs;
use std::io;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

pub const JOURNAL_DIR: &str = "/var/lib/smtpauth-wizard";
pub const JOURNAL_VERSION: u32 = 1;
/// The journal's last line: this, then the sha256 of everything before it. A journal without
/// it, or whose checksum does not match, is refused as damaged.
const END_LINE: &str = "# end of journal, sha256 ";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum StepState {
    Pending,
    InProgress,
    Done,
    RolledBack,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FileState {
    /// Recorded; the file may or may not have been replaced yet.
    Intended,
    Written,
    RolledBack,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileRecord {
    /// Served-system path actually written (links already followed).
    pub path: String,
    /// Links that lead to it (`/etc/pam.d/smtp` for an alternatives link).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub via_links: Vec<String>,
    pub existed: bool,
    /// Journal copy of the original, relative to the journal directory.
    pub saved: Option<String>,
    pub meta: Option<Meta>,
    pub sha_before: Option<String>,
    pub sha_after: String,
    pub state: FileState,
    pub why: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CommandRecord {
    pub argv: Vec<String>,
    pub status: Option<i32>,
    #[serde(default)]
    pub stderr: String,
    pub at: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StepRecord {
    pub id: String,
    pub state: StepState,
    pub started: String,
    pub finished: Option<String>,
    #[serde(default)]
    pub files: Vec<FileRecord>,
    #[serde(default)]
    pub commands: Vec<CommandRecord>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// Directories the step created (served paths, outermost first); rollback removes them
    /// again when they are empty.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub created_dirs: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Run {
    pub id: String,
    pub started: String,
    pub finished: Option<String>,
    pub profile: String,
    pub program_version: String,
    #[serde(default)]
    pub steps: Vec<StepRecord>,
}

#[derive(Debug, Clone, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct JournalData {
    pub version: u32,
    #[serde(default)]
    pub runs: Vec<Run>,
}

/// Why a journal could not be used.
#[derive(Debug)]
pub enum JournalError {
    Io(io::Error),
    Corrupt {
        path: String,
        detail: String,
    },
    NewerVersion {
        path: String,
        found: u32,
    },
    Locked {
        path: String,
    },
    /// A file changed after we wrote it; rollback stops unless forced.
    Conflict {
        path: String,
        expected: String,
        found: Option<String>,
    },
}

impl std::fmt::Display for JournalError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            JournalError::Io(e) => write!(f, "{e}"),
            JournalError::Corrupt { path, detail } => write!(
                f,
                "the journal {path} cannot be read ({detail}); it was not changed. \
                 `status` shows what the .bak files hold; `rollback --from-backups` restores them without a journal"
            ),
            JournalError::NewerVersion { path, found } => write!(
                f,
                "the journal {path} was written by a newer smtpauth-wizard (journal version {found}, this program knows {JOURNAL_VERSION}); use that version, or `rollback --from-backups`"
            ),
            JournalError::Locked { path } => write!(
                f,
                "another smtpauth-wizard is working on this system (lock {path} is held); wait for it to finish"
            ),
            JournalError::Conflict { path, expected, found } => write!(
                f,
                "{path} changed since smtpauth-wizard wrote it (sha256 now {}, we wrote {}); it was left alone. \
                 Look at it, then run `rollback --force` to put the original back over it",
                found.as_deref().map(short).unwrap_or("<file is gone>"),
                short(expected)
            ),
        }
    }
}

impl std::error::Error for JournalError {}

impl From<io::Error> for JournalError {
    fn from(e: io::Error) -> Self {
        JournalError::Io(e)
    }
}

fn short(h: &str) -> &str {
    &h[..h.len().min(12)]
}

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

/// Text of a journal load problem, for `status` to show while it carries on.
pub fn journal_path(root: &Root) -> PathBuf {
    root.join(JOURNAL_DIR).join("journal.yaml")
}

impl Journal {
    /// Opens without creating anything or taking the lock.
    pub fn read(root: &Root) -> Result<Journal, JournalError> {
        let dir = root.join(JOURNAL_DIR);
        let file = dir.join("journal.yaml");
        let data = load(&file)?;
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
        let dir = root.join(JOURNAL_DIR);
        let created: Vec<PathBuf> = dir
            .ancestors()
            .take_while(|d| !d.exists() && *d != root.dir())
            .map(Path::to_path_buf)
            .collect();
        fsops::ensure_dir(&dir, 0o700)?;
        secure_state_dir(&dir)?;
        let lock_path = dir.join("lock");
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
        let data = load(&file)?;
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
        let mut dirs: Vec<PathBuf> = vec![self.dir.clone(), self.dir.join("saved")];
        for r in &self.data.runs {
            dirs.push(self.dir.join("saved").join(&r.id));
            for s in &r.steps {
                for f in &s.files {
                    if let Some(p) = self.root.join(&f.path).parent() {
                        dirs.push(p.to_path_buf());
                    }
                }
            }
        }
        dirs.sort();
        dirs.dedup();
        for d in dirs {
            for t in fsops::stray_temporaries(&d) {
                fsops::remove_file(&t)?;
            }
        }
        Ok(())
    }

    pub fn path(&self) -> &std::path::Path {
        &self.file
    }

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
        let saved = match &before {
            Some(b) => Some(self.save_original(&res.target, b)?),
            None => None,
        };
        self.current_step().files.push(FileRecord {
            path: res.target.clone(),
            via_links: res.via_links.clone(),
            existed: before.is_some(),
            saved,
            meta,
            sha_before,
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
        let p = self.dir.join(&rel);
        fsops::ensure_dir(&self.dir.join("saved"), 0o700)?;
        fsops::ensure_dir(p.parent().unwrap(), 0o700)?;
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
        let saved = match &before {
            Some((b, _)) => Some(self.save_original(&res.target, b)?),
            None => None,
        };
        self.current_step().files.push(FileRecord {
            path: res.target,
            via_links: res.via_links,
            existed: before.is_some(),
            saved,
            meta: before.as_ref().map(|(_, m)| *m),
            sha_before: before.as_ref().map(|(b, _)| fsops::sha256_hex(b)),
            sha_after: fsops::sha256_hex(&now),
            state: FileState::Written,
            why: why.to_string(),
        });
        self.persist()?;
        Ok(true)
    }

    /// Undoes one step record (by run index and step index). Returns what it did, for the user.
    pub fn undo_step(
        &mut self,
        run: usize,
        step: usize,
        force: bool,
    ) -> Result<Vec<String>, JournalError> {
        let mut done = Vec::new();
        let nfiles = self.data.runs[run].steps[step].files.len();
        for i in (0..nfiles).rev() {
            let rec = self.data.runs[run].steps[step].files[i].clone();
            if rec.state == FileState::RolledBack {
                continue;
            }
            let real = self.root.join(&rec.path);
            let now = fsops::sha256_file(&real)?;
            let restore = if now.as_deref() == Some(rec.sha_after.as_str()) {
                true
            } else if now == rec.sha_before {
                false // never written, or already restored by an interrupted rollback
            } else if force {
                true
            } else {
                return Err(JournalError::Conflict {
                    path: self.root.display(&rec.path),
                    expected: rec.sha_after.clone(),
                    found: now,
                });
            };
            if restore {
                if rec.existed {
                    let saved = rec.saved.as_deref().ok_or_else(|| {
                        io::Error::other(format!("journal has no saved copy of {}", rec.path))
                    })?;
                    let sp = self.dir.join(saved);
                    let content = fs::read(&sp).map_err(|e| {
                        io::Error::new(
                            e.kind(),
                            format!("cannot read the saved original {}: {e}", sp.display()),
                        )
                    })?;
                    if Some(fsops::sha256_hex(&content)) != rec.sha_before {
                        return Err(JournalError::Corrupt {
                            path: sp.display().to_string(),
                            detail:
                                "the saved original does not match the checksum recorded for it"
                                    .into(),
                        });
                    }
                    let m = rec.meta.expect("existed implies meta");
                    fsops::replace_file(
                        &real,
                        &content,
                        WriteMeta {
                            mode: m.mode,
                            owner: Some((m.uid, m.gid)),
                            mtime: Some(m.modified()),
                        },
                        None,
                    )?;
                    done.push(format!("restored {}", self.root.display(&rec.path)));
                } else {
                    fsops::remove_file(&real)?;
                    done.push(format!(
                        "removed {} (created by the wizard)",
                        self.root.display(&rec.path)
                    ));
                }
            }
            self.data.runs[run].steps[step].files[i].state = FileState::RolledBack;
            self.persist()?;
        }
        let dirs = self.data.runs[run].steps[step].created_dirs.clone();
        for d in dirs.iter().rev() {
            if fsops::remove_dir_if_empty(&self.root.join(d))? {
                done.push(format!(
                    "removed the empty directory {} (created by the wizard)",
                    self.root.display(d)
                ));
            }
        }
        let s = &mut self.data.runs[run].steps[step];
        s.state = StepState::RolledBack;
        s.finished = Some(now_rfc3339());
        self.persist()?;
        Ok(done)
    }

    /// certbot's recovery routine: any step left `in-progress` by a crash is undone first.
    pub fn recover(&mut self) -> Result<Vec<String>, JournalError> {
        let mut msgs = Vec::new();
        for r in 0..self.data.runs.len() {
            for s in 0..self.data.runs[r].steps.len() {
                if self.data.runs[r].steps[s].state == StepState::InProgress {
                    let id = self.data.runs[r].steps[s].id.clone();
                    let mut did = self.undo_step(r, s, false)?;
                    self.data.runs[r].steps[s].note =
                        Some("interrupted; undone on the next start".to_string());
                    self.persist()?;
                    msgs.push(format!(
                        "step {id} was interrupted; undone from the journal"
                    ));
                    msgs.append(&mut did);
                }
            }
        }
        Ok(msgs)
    }

    /// Every step record that is applied and not rolled back, newest first: (run, step).
    pub fn applied_newest_first(&self) -> Vec<(usize, usize)> {
        let mut v = Vec::new();
        for (ri, r) in self.data.runs.iter().enumerate() {
            for (si, s) in r.steps.iter().enumerate() {
                if matches!(s.state, StepState::Done | StepState::InProgress) {
                    v.push((ri, si));
                }
            }
        }
        v.reverse();
        v
    }

    /// Files whose content differs from what we wrote (someone edited them afterwards).
    pub fn changed_since_written(&self) -> Vec<String> {
        self.rollback_conflicts(&self.applied_newest_first())
            .into_iter()
            .map(|c| c.path)
            .collect()
    }

    /// What rolling back `targets` (newest first, as [`Journal::applied_newest_first`] gives
    /// them) would stop at, found before anything is touched: every file whose content is
    /// neither what the wizard wrote nor the original it saved. The undo is simulated record
    /// by record, newest first, so a file written by two steps (sendmail.mc by sendmail-mc and
    /// then relay-features) is compared with what each step left, not the older step's result
    /// with the newer content. Each file is named once, at the newest step that wrote it.
    pub fn rollback_conflicts(&self, targets: &[(usize, usize)]) -> Vec<Conflict> {
        use std::collections::HashMap;
        let mut now: HashMap<String, Option<String>> = HashMap::new();
        let mut out: Vec<Conflict> = Vec::new();
        for &(r, s) in targets {
            let Some(st) = self.data.runs.get(r).and_then(|run| run.steps.get(s)) else {
                continue;
            };
            for f in st.files.iter().rev() {
                if f.state == FileState::RolledBack || out.iter().any(|c| c.path == f.path) {
                    continue;
                }
                let cur = now
                    .entry(f.path.clone())
                    .or_insert_with(|| fsops::sha256_file(&self.root.join(&f.path)).ok().flatten())
                    .clone();
                if cur.as_deref() == Some(f.sha_after.as_str()) {
                    now.insert(f.path.clone(), f.sha_before.clone());
                } else if cur != f.sha_before {
                    out.push(Conflict {
                        path: f.path.clone(),
                        step: st.id.clone(),
                        expected: f.sha_after.clone(),
                        found: cur,
                    });
                }
            }
        }
        out
    }
}

/// A file that changed after the wizard wrote it, found by [`Journal::rollback_conflicts`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Conflict {
    /// Served-system path.
    pub path: String,
    /// The newest step that wrote it.
    pub step: String,
    /// What that step wrote (sha256).
    pub expected: String,
    /// What is there now (`None`: the file is gone).
    pub found: Option<String>,
}

impl Conflict {
    /// `/etc/mail/sendmail.mc changed since smtpauth-wizard wrote it (step sendmail-mc; ...)`.
    pub fn describe(&self, root: &Root) -> String {
        format!(
            "{} changed since smtpauth-wizard wrote it (step {}; sha256 now {}, we wrote {})",
            root.display(&self.path),
            self.step,
            self.found.as_deref().map(short).unwrap_or("<file is gone>"),
            short(&self.expected)
        )
    }
}

/// The largest journal read: it holds paths, attributes and checksums (the saved copies are
/// files of their own), a few KiB a run.
const MAX_JOURNAL: u64 = 16 << 20;

fn load(file: &std::path::Path) -> Result<JournalData, JournalError> {
    let text = match fsops::read_capped(file, MAX_JOURNAL) {
        Ok(t) => t,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            return Ok(JournalData {
                version: JOURNAL_VERSION,
                runs: vec![],
            })
        }
        Err(e) => {
            return Err(io::Error::new(
                e.kind(),
                format!("cannot read the journal {}: {e}", file.display()),
            )
            .into())
        }
    };
    parse_journal(&file.display().to_string(), &text)
}

/// The journal file's text: a header comment, the YAML, and the end line.
pub fn render_journal(data: &JournalData) -> io::Result<String> {
    let text = serde_yaml::to_string(data).map_err(io::Error::other)?;
    Ok(seal_journal(&format!(
        "# smtpauth-wizard write-ahead journal. Do not edit: `smtpauth-wizard status` reads it.\n{text}"
    )))
}

/// Appends the end line (the sha256 of `body`, which ends with a newline) that
/// [`parse_journal`] demands.
pub fn seal_journal(body: &str) -> String {
    format!("{body}{END_LINE}{}\n", fsops::sha256_hex(body.as_bytes()))
}

/// Parses the bytes of a journal file; `path` only names it in errors. Refuses (never panics
/// on) anything that is not a journal this version can use: not UTF-8, not YAML, no `version`,
/// a newer version, unknown keys. Split out of [`Journal::read`] so it can be fuzzed.
pub fn parse_journal(path: &str, bytes: &[u8]) -> Result<JournalData, JournalError> {
    let path = path.to_string();
    let corrupt = |detail: String| JournalError::Corrupt {
        path: path.clone(),
        detail,
    };
    let text = std::str::from_utf8(bytes).map_err(|_| corrupt("not UTF-8 text".into()))?;
    // Look at the version first so a newer journal gets the right message, not a parse error:
    // from its `version:` line, without parsing anything before the checksum is checked.
    let version: Option<u32> = text
        .lines()
        .find_map(|l| l.strip_prefix("version:"))
        .and_then(|v| v.trim().parse().ok());
    if let Some(n) = version {
        if n > JOURNAL_VERSION {
            return Err(JournalError::NewerVersion { path, found: n });
        }
    }
    // The journal is only ever replaced whole (atomic rename), so a missing end line or a
    // checksum that does not match is damage. Without this check a journal cut at a line end
    // is still valid YAML that silently drops the records after the cut, and rollback would
    // leave those changes in place believing there were none.
    let last = text
        .trim_end_matches('\n')
        .rfind('\n')
        .map(|i| i + 1)
        .unwrap_or(0);
    let (body, end) = text.split_at(last);
    // The writer ends the file with exactly one newline after the checksum; a file without it
    // lost its last byte, and is refused like any other cut.
    let sum = end
        .strip_suffix('\n')
        .filter(|line| !line.ends_with('\n'))
        .and_then(|line| line.strip_prefix(END_LINE))
        .ok_or_else(|| {
            corrupt("its end line is missing: the file was cut short or is not a journal".into())
        })?;
    if sum != fsops::sha256_hex(body.as_bytes()) {
        return Err(corrupt(
            "its checksum does not match its content: it was damaged or edited after it was written"
                .into(),
        ));
    }
    if version.is_none() {
        return Err(corrupt("no `version` key".into()));
    }
    super::trust::check_yaml_nesting(body).map_err(corrupt)?;
    let data: JournalData = serde_yaml::from_str(body).map_err(|e| corrupt(e.to_string()))?;
    check_records(&data).map_err(corrupt)?;
    Ok(data)
}

/// What undo relies on without checking again: a file that existed has a saved copy, its
/// attributes and its checksum; checksums are sha256 hex (they are cut for messages); saved
/// copies stay inside the journal's directory.
fn check_records(data: &JournalData) -> Result<(), String> {
    let hex = |h: &str| h.len() == 64 && h.bytes().all(|b| b.is_ascii_hexdigit());
    for f in data
        .runs
        .iter()
        .flat_map(|r| &r.steps)
        .flat_map(|s| &s.files)
    {
        let bad = |why: &str| Err(format!("the record of {:?} {why}", f.path));
        if f.existed && (f.saved.is_none() || f.meta.is_none() || f.sha_before.is_none()) {
            return bad("says the file existed but lacks its saved copy, attributes or checksum");
        }
        if !hex(&f.sha_after) || f.sha_before.as_deref().is_some_and(|h| !hex(h)) {
            return bad("has a checksum that is not sha256");
        }
        if let Some(sv) = &f.saved {
            let p = std::path::Path::new(sv);
            if !sv.starts_with("saved/")
                || p.components()
                    .any(|c| !matches!(c, std::path::Component::Normal(_)))
            {
                return bad("names a saved copy outside the journal's saved/ directory");
            }
        }
    }
    Ok(())
}

/// UTC time as `2026-11-26T15:01:02Z`, without a date crate.
pub fn now_rfc3339() -> String {
    let d = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    fmt_utc(d.as_secs() as i64)
}

pub fn fmt_utc(secs: i64) -> String {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = if m <= 2 { y + 1 } else { y };
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        (rem % 3600) / 60,
        rem % 60
    )
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
}
