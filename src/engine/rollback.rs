//! Undoing: `rollback` (all, or one step) from the journal alone, certbot's "roll back and
//! restart" when a live step fails, and `rollback --from-backups` from the HOWTO's `.bak`
//! copies when the journal is unusable.

use super::journal::{self, Journal, JournalError, StepState};
use super::root::Root;
use super::step::{Step, Undone};
use super::{audit, fsops, Engine, Error, Event};

/// Why a rollback refused to start: every file changed since the wizard wrote it.
pub fn conflict_refusal(root: &Root, conflicts: &[journal::Conflict]) -> Error {
    let mut m = format!(
        "rollback refused: {} file(s) changed since smtpauth-wizard wrote them, so nothing was rolled back:",
        conflicts.len()
    );
    for c in conflicts {
        m.push_str(&format!("\n  {}", c.describe(root)));
    }
    m.push_str("\nLook at them, then run `rollback --force` to put the originals back over them (what they hold now is then lost: copy them first to keep it)");
    Error::Conflict {
        paths: conflicts.iter().map(|c| root.display(&c.path)).collect(),
        message: m,
    }
}

impl Engine {
    /// certbot's "roll back and restart": undoes every step of the current run, newest first,
    /// then lets the failed step act on the old configuration ([`Step::after_rollback`]: the
    /// restart step restarts sendmail and checks that it came back). Returns a report of all
    /// of it for the user, and what was put back (each restored file), newest first.
    pub(super) fn roll_back_run_and_restart(
        &self,
        failed: &dyn Step,
        j: &mut Journal,
        on: &mut dyn FnMut(Event),
    ) -> (String, Vec<String>) {
        let mut out = vec!["Rolling back every change of this run:".to_string()];
        let mut undone = vec![];
        let ri = j.data.runs.len() - 1;
        let idx: Vec<usize> = (0..j.data.runs[ri].steps.len())
            .rev()
            .filter(|&si| {
                j.data.runs[ri].steps[si].state == StepState::Done
                    || j.data.runs[ri].steps[si].state == StepState::InProgress
            })
            .collect();
        for si in idx {
            let id = j.data.runs[ri].steps[si].id.clone();
            match j.undo_step(ri, si, false) {
                Ok(did) => {
                    for d in &did {
                        on(Event::Restored(d.clone()));
                    }
                    undone.extend(did.iter().cloned());
                    out.push(format!(
                        "  rolled back {id}{}",
                        if did.is_empty() {
                            String::new()
                        } else {
                            format!(": {}", did.join("; "))
                        }
                    ));
                }
                Err(e) => out.push(format!("  could not roll back {id}: {e}")),
            }
        }
        let _ = j.finish_run();
        let mut log = vec![];
        match failed.after_rollback(&self.cx, Undone::RunFailed, on, &mut log) {
            Some(Ok(lines)) => out.extend(lines),
            Some(Err(e)) => out.push(e),
            None => {}
        }
        for c in log {
            out.push(format!(
                "  ran `{}` (exit {})",
                c.argv.join(" "),
                c.status
                    .map(|s| s.to_string())
                    .unwrap_or_else(|| "none".into())
            ));
        }
        (out.join("\n"), undone)
    }

    /// Rolls back every applied step (or one), newest first, from the journal alone.
    pub fn rollback(
        &self,
        only_step: Option<&str>,
        force: bool,
        on: &mut dyn FnMut(Event),
    ) -> Result<Vec<String>, Error> {
        self.may_write()?;
        let mut j = Journal::open(&self.cx.root)?;
        let targets: Vec<(usize, usize)> = j
            .applied_newest_first()
            .into_iter()
            .filter(|(r, s)| only_step.is_none_or(|id| j.data.runs[*r].steps[*s].id == id))
            .collect();
        if targets.is_empty() {
            return Ok(vec![match only_step {
                Some(id) => format!(
                    "nothing to roll back for step {id}: the journal has no applied change of it"
                ),
                None => "nothing to roll back: the journal has no applied change".to_string(),
            }]);
        }
        let mut rec = audit::Record {
            action: "rollback".into(),
            ..Default::default()
        };
        for &(r, s) in &targets {
            let (run, st) = (&j.data.runs[r], &j.data.runs[r].steps[s]);
            if !rec.runs.contains(&run.id) {
                rec.runs.push(run.id.clone());
            }
            rec.add_step(
                st,
                st.files
                    .iter()
                    .rev()
                    .filter(|f| f.state != journal::FileState::RolledBack),
            );
        }
        let res = self.roll_back_targets(&mut j, targets, force, on);
        rec.result = match &res {
            Ok(m) => Ok(format!(
                "{} step(s) rolled back",
                m.iter()
                    .filter(|m| m.starts_with("rolled back step"))
                    .count()
            )),
            Err(e) => Err(e.to_string()),
        };
        rec.finish(&self.cx.root, res)
    }

    fn roll_back_targets(
        &self,
        j: &mut Journal,
        targets: Vec<(usize, usize)>,
        force: bool,
        on: &mut dyn FnMut(Event),
    ) -> Result<Vec<String>, Error> {
        // Every file is checked before the first one is touched: stopping at the first
        // conflict would leave the newer steps undone and the older ones applied (sendmail.cf
        // restored, sendmail.mc still edited), which matches neither state.
        if !force {
            let conflicts = j.rollback_conflicts(&targets);
            if !conflicts.is_empty() {
                return Err(conflict_refusal(&self.cx.root, &conflicts));
            }
        }
        let mut msgs = Vec::new();
        let mut undone: Vec<String> = vec![];
        for (r, s) in targets {
            let id = j.data.runs[r].steps[s].id.clone();
            if !undone.contains(&id) {
                undone.push(id.clone());
            }
            let did = j.undo_step(r, s, force).map_err(|e| match e {
                JournalError::Conflict { ref path, .. } => Error::Conflict {
                    paths: vec![self.cx.root.display(path)],
                    message: format!("rollback of step {id} stopped: {e}"),
                },
                e => e.into(),
            })?;
            for d in &did {
                on(Event::Restored(d.clone()));
            }
            msgs.push(format!("rolled back step {id}"));
            msgs.extend(did);
        }
        // A run with nothing left applied is closed, so `resume` does not pick it up.
        let all_back = j
            .data
            .runs
            .iter()
            .all(|r| r.steps.iter().all(|s| s.state != StepState::Done));
        if all_back {
            j.finish_run()?;
        }
        // Then each step rolled back acts on the restored files, newest step first, once
        // however many runs it was undone in (the wizard restarted sendmail on the new files;
        // the old ones need a restart as well).
        for st in self.steps.iter().rev() {
            if !undone.iter().any(|id| id == st.id()) {
                continue;
            }
            let mut log = vec![];
            let Some(res) = st.after_rollback(&self.cx, Undone::Rollback, on, &mut log) else {
                continue;
            };
            for c in &log {
                msgs.push(format!(
                    "ran `{}` (exit {})",
                    c.argv.join(" "),
                    c.status
                        .map(|s| s.to_string())
                        .unwrap_or_else(|| "none".into())
                ));
            }
            // The files are back; what the step does on them failed (sendmail did not come
            // back on the old configuration).
            msgs.extend(res.map_err(|message| Error::StepFailed {
                step: st.id().into(),
                undone: msgs.clone(),
                message,
                cause: None,
            })?);
        }
        Ok(msgs)
    }

    /// `rollback --from-backups`: puts the HOWTO's `.bak` copies back over sendmail.mc and
    /// sendmail.cf without needing the journal (it may be corrupt or gone). A journal that
    /// cannot be read is moved aside first; the restore itself is journaled like any change.
    pub fn restore_from_backups(&self, on: &mut dyn FnMut(Event)) -> Result<Vec<String>, Error> {
        self.may_write()?;
        let mut rec = audit::Record {
            action: "rollback --from-backups".into(),
            steps: vec!["restore-backups".into()],
            ..Default::default()
        };
        let res = self.restore_backups_journaled(on, &mut rec);
        rec.result = match &res {
            Ok(_) if rec.files.is_empty() => Ok("nothing restored".into()),
            Ok(_) => Ok(format!("{} file(s) restored", rec.files.len())),
            Err(e) => Err(e.to_string()),
        };
        rec.finish(&self.cx.root, res)
    }

    fn restore_backups_journaled(
        &self,
        on: &mut dyn FnMut(Event),
        rec: &mut audit::Record,
    ) -> Result<Vec<String>, Error> {
        let p = self.profile().ok_or_else(|| Error::bad_input("--profile", "no profile", "no profile: the system was not recognised, so the wizard does not know which files have .bak copies (give --profile)".into()))?;
        let io = |action: &str, path: &str| {
            let (action, path) = (action.to_string(), self.cx.root.display(path));
            move |e: std::io::Error| Error::Io {
                action,
                path,
                message: e.to_string(),
            }
        };
        let mut msgs = vec![];
        let jp = journal::journal_path(&self.cx.root);
        if let Err(e) = Journal::read(&self.cx.root) {
            if matches!(
                e,
                JournalError::Corrupt { .. } | JournalError::NewerVersion { .. }
            ) && jp.exists()
            {
                let tag = format!(
                    "unusable-{}",
                    journal::now_rfc3339().replace([':', '-'], "")
                );
                let moved = fsops::move_aside(&jp, &tag).map_err(|e| Error::Io {
                    action: "move the unusable journal aside".into(),
                    path: jp.display().to_string(),
                    message: e.to_string(),
                })?;
                msgs.push(format!(
                    "moved the unusable journal aside to {}",
                    moved.display()
                ));
            }
        }
        let mut j = Journal::open(&self.cx.root)?;
        let run = j.begin_run(&format!("{} (rollback --from-backups)", p.id))?;
        rec.runs.push(run);
        j.begin_step("restore-backups")?;
        let mut files = vec![p.sendmail.mc.clone()];
        files.extend(p.sendmail.cf.iter().cloned());
        for f in files {
            let bak = format!("{f}.bak");
            let real_bak = self
                .cx
                .root
                .resolve(&bak)
                .map_err(io("resolve", &bak))?
                .real;
            let Ok(content) = std::fs::read(&real_bak) else {
                continue;
            };
            let m = fsops::meta_of(&real_bak)
                .map_err(io("read", &bak))?
                .ok_or_else(|| io("read", &bak)(std::io::Error::other("backup vanished")))?;
            let cur = self.cx.root.read(&f).map_err(io("read", &f))?;
            if cur.as_deref() == Some(content.as_slice()) {
                msgs.push(format!(
                    "{} already equals its .bak",
                    self.cx.root.display(&f)
                ));
                continue;
            }
            on(Event::Writing(self.cx.root.display(&f)));
            let wm = fsops::WriteMeta {
                mode: m.mode,
                owner: Some((m.uid, m.gid)),
                mtime: Some(m.modified()),
            };
            j.write_file_as(
                &f,
                &content,
                None,
                Some(wm),
                &format!("restored from {bak}"),
                None,
            )
            .map_err(|e| match e {
                JournalError::Io(e) => io("write", &f)(e),
                e => e.into(),
            })?;
            rec.files.push(f.clone());
            rec.backups.push(bak.clone());
            msgs.push(format!(
                "restored {} from {}",
                self.cx.root.display(&f),
                self.cx.root.display(&bak)
            ));
            on(Event::Restored(format!(
                "restored {}",
                self.cx.root.display(&f)
            )));
        }
        j.end_step_unchanged()?;
        j.finish_run()?;
        if msgs.is_empty() {
            msgs.push("no .bak file found: nothing restored".into());
        }
        Ok(msgs)
    }
}
