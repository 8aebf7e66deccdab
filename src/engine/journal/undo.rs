//! Undoing what the journal recorded: one step (`rollback`), every interrupted step
//! (recovery on the next start), and the conflicts found before anything is touched.

use super::*;

impl Journal {
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
            // Resolved inside the root as when it was written; a link at its own name, or one
            // that leads out of the root on the way, is refused (see `state_path`).
            let real = target_path(&self.root, &rec.path)?;
            refuse_link_at(&real)?;
            let now = fsops::sha256_file(&real)?;
            let restore = if now.as_deref() == Some(rec.sha_after.as_str()) {
                true
            } else if now.as_deref() == rec.sha_before() {
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
                match &rec.before {
                    Before::Existed {
                        saved,
                        meta: m,
                        sha,
                    } => {
                        let sp = state_path(
                            &self.root,
                            &format!("{JOURNAL_DIR}/{saved}"),
                            "a saved original",
                        )?;
                        refuse_link_at(&sp)?;
                        let content = fs::read(&sp).map_err(|e| {
                            io::Error::new(
                                e.kind(),
                                format!("cannot read the saved original {}: {e}", sp.display()),
                            )
                        })?;
                        if fsops::sha256_hex(&content) != *sha {
                            return Err(JournalError::Corrupt {
                                path: sp.display().to_string(),
                                detail: "the saved original does not match the checksum \
                                         recorded for it"
                                    .into(),
                            });
                        }
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
                    }
                    Before::Absent => {
                        fsops::remove_file(&real)?;
                        done.push(format!(
                            "removed {} (created by the wizard)",
                            self.root.display(&rec.path)
                        ));
                    }
                }
            }
            self.data.runs[run].steps[step].files[i].state = FileState::RolledBack;
            self.persist()?;
        }
        let dirs = self.data.runs[run].steps[step].created_dirs.clone();
        for d in dirs.iter().rev() {
            if fsops::remove_dir_if_empty(&target_path(&self.root, d)?)? {
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
                    .or_insert_with(|| {
                        let real = target_path(&self.root, &f.path).ok()?;
                        refuse_link_at(&real).ok()?;
                        fsops::sha256_file(&real).ok().flatten()
                    })
                    .clone();
                if cur.as_deref() == Some(f.sha_after.as_str()) {
                    now.insert(f.path.clone(), f.sha_before().map(str::to_string));
                } else if cur.as_deref() != f.sha_before() {
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
