//! The run loop of `apply` (and `resume`): each selected step checked, journaled, written or
//! run, checked again; a failure stops the loop and undoes what the failing step did.

use super::journal::{self, Journal};
use super::step::{PlannedOverlay, Status, Step, StepReport};
use super::{audit, fsops, host, ApplySummary, Engine, Error, Event, Snapshot};
use std::path::Path;

impl Engine {
    /// What `apply --only` must add so that no file a covering step (backup) copies aside is
    /// edited before its `.bak` exists, and what to say about it. The selected steps are
    /// checked on their own, in order, to see what they would write.
    fn covering_first(&self, only: &[String]) -> (Vec<String>, Vec<String>) {
        let mut sel = only.to_vec();
        let mut notes = vec![];
        if only.is_empty() {
            return (sel, notes);
        }
        let mut view = PlannedOverlay::new(&self.cx.root);
        let mut writes: Vec<(&'static str, String)> = vec![];
        for s in &self.steps {
            if only.iter().any(|o| o == s.id()) {
                let r = s.check(&self.cx, &view);
                for c in &r.changes {
                    view.plan(c);
                    writes.push((s.id(), c.path.clone()));
                }
            }
        }
        let mut full: Option<Vec<StepReport>> = None;
        for (k, s) in self.steps.iter().enumerate() {
            if sel.iter().any(|o| o == s.id()) {
                continue;
            }
            let cov = self.covered(s.as_ref());
            let Some((by, path)) = writes.iter().find(|(_, p)| cov.contains(p)) else {
                continue;
            };
            let full = full.get_or_insert_with(|| self.plan());
            if full[k].status == Status::Done || full[k].status == Status::Skipped {
                continue;
            }
            sel.push(s.id().to_string());
            notes.push(format!(
                "{} runs first: {by} writes {}, which {} copies to .bak before any change to it",
                s.id(),
                self.cx.root.display(path),
                s.id()
            ));
        }
        (sel, notes)
    }

    /// After `apply --only`: the steps left out that are pending because of what this run
    /// wrote (sendmail.mc edited: sendmail-cf pending). Each is checked again as if each file
    /// this run changed still held its original; a step whose plan would then differ (nothing
    /// to do, or other files to write) is pending because of that file.
    fn stale_after(&self, sel: &[String], run: &str, first_step: usize) -> Vec<String> {
        let Ok(j) = Journal::read(&self.cx.root) else {
            return vec![];
        };
        let Some(r) = j.data.runs.iter().find(|r| r.id == run) else {
            return vec![];
        };
        let mut originals: Vec<(String, Vec<u8>)> = vec![];
        for f in r.steps.iter().skip(first_step).flat_map(|s| &s.files) {
            if f.state != journal::FileState::Written || originals.iter().any(|(p, _)| p == &f.path)
            {
                continue;
            }
            if let Some(b) = f
                .saved()
                .and_then(|sv| std::fs::read(j.saved_path(sv)).ok())
            {
                originals.push((f.path.clone(), b));
            }
        }
        if originals.is_empty() {
            return vec![];
        }
        let plan = self.plan();
        let mut out = vec![];
        // Status and the files to write (not their bytes: a regenerated sendmail.cf carries
        // the time it was built).
        let key = |r: &StepReport| {
            let mut v: Vec<String> = r.changes.iter().map(|c| c.path.clone()).collect();
            v.sort();
            (r.status, v)
        };
        for (k, s) in self.steps.iter().enumerate() {
            if sel.iter().any(|o| o == s.id()) || plan[k].status != Status::Pending {
                continue;
            }
            let now = key(&s.check(&self.cx, &PlannedOverlay::new(&self.cx.root)));
            let causes: Vec<String> = originals
                .iter()
                .filter(|(p, b)| {
                    let mut v = PlannedOverlay::new(&self.cx.root);
                    v.assume(p, b.clone());
                    key(&s.check(&self.cx, &v)) != now
                })
                .map(|(p, _)| self.cx.root.display(p))
                .collect();
            if !causes.is_empty() {
                out.push(format!(
                    "{} is now pending ({} changed): run `apply` (or `apply --only {}`) so that the server is not left half-configured",
                    s.id(),
                    causes.join(", "),
                    s.id()
                ));
            }
        }
        out
    }

    /// Applies the steps in order (all, or those in `only`), journaling every change first.
    /// Stops at the first step that is blocked or in error; a later `apply`/`resume` continues.
    /// Every apply that got as far as the journal leaves one line in the audit log.
    pub fn apply(&self, only: &[String], on: &mut dyn FnMut(Event)) -> Result<ApplySummary, Error> {
        self.may_write()?;
        let mut at = None;
        let mut res = self.apply_journaled(only, on, &mut at);
        if let Some((run, first_step)) = at {
            let mut rec = self.audit_of_run(&run, first_step);
            rec.action = "apply".into();
            rec.result = match &res {
                Ok(sum) if sum.applied.is_empty() => Ok("nothing to do".into()),
                Ok(sum) => Ok(format!("applied {}", sum.applied.join(","))),
                Err(e) => Err(e.to_string()),
            };
            let problems = rec.write(&self.cx.root);
            if let Ok(sum) = &mut res {
                sum.run = Some(run);
                sum.notes
                    .extend(problems.into_iter().map(|p| format!("warning: {p}")));
            }
        }
        res
    }

    /// What the audit line of an apply names: the steps of `run` from `first_step` on (earlier
    /// ones belong to the invocation that a `resume` continues), their files, the `.bak` copies
    /// among them and the journal's saved originals.
    fn audit_of_run(&self, run: &str, first_step: usize) -> audit::Record {
        let mut rec = audit::Record {
            runs: vec![run.to_string()],
            ..Default::default()
        };
        let Ok(j) = Journal::read(&self.cx.root) else {
            return rec;
        };
        let Some(r) = j.data.runs.iter().find(|r| r.id == run) else {
            return rec;
        };
        for st in r.steps.iter().skip(first_step) {
            rec.add_step(
                st,
                st.files
                    .iter()
                    .filter(|f| f.state != journal::FileState::Intended),
            );
        }
        rec
    }

    fn apply_journaled(
        &self,
        only: &[String],
        on: &mut dyn FnMut(Event),
        at: &mut Option<(String, usize)>,
    ) -> Result<ApplySummary, Error> {
        for id in only {
            if self.step(id).is_none() {
                return Err(Error::bad_input(
                    "--only",
                    format!("unknown step {id:?}"),
                    format!(
                        "unknown step {id:?}; steps are: {}",
                        self.step_ids().join(", ")
                    ),
                ));
            }
        }
        let profile_id = self
            .profile()
            .map(|p| p.id.clone())
            .unwrap_or_else(|| "none".into());
        let mut j = Journal::open(&self.cx.root)?;
        let mut sum = ApplySummary {
            recovered: j.recover()?,
            ..Default::default()
        };
        for m in &sum.recovered {
            on(Event::Recovered(m.clone()));
        }
        // A step that writes sendmail.mc or sendmail.cf gets their .bak copies first, also
        // under --only: a later backup would copy the edited file, and `rollback
        // --from-backups` would then put that back beside the original cf.
        let (sel, first_notes) = self.covering_first(only);
        let only = &sel[..];
        sum.notes.extend(first_notes);
        // Refused here, the run is never begun: nothing is written, not even the audit line.
        self.preflight(only)?;
        let run = j.begin_run(&profile_id)?;
        let first_step = j.data.runs.last().map_or(0, |r| r.steps.len());
        *at = Some((run.clone(), first_step));
        let view = PlannedOverlay::new(&self.cx.root);
        for (k, s) in self.steps.iter().enumerate() {
            if !only.is_empty() && !only.iter().any(|o| o == s.id()) {
                continue;
            }
            // A covering step is judged with the whole plan: it has something to do only when
            // a later step will write one of its files.
            let r = if self.covered(s.as_ref()).is_empty() {
                s.check(&self.cx, &view)
            } else {
                self.plan().swap_remove(k)
            };
            match r.status {
                Status::Done => {
                    if s.reports_when_done() {
                        sum.notes
                            .extend(r.findings.iter().map(|f| f.message.clone()));
                    }
                    sum.unchanged.push(s.id().into());
                    on(Event::StepFinished(s.id(), Status::Done));
                    continue;
                }
                Status::Skipped => {
                    sum.skipped.push(s.id().into());
                    on(Event::StepFinished(s.id(), Status::Skipped));
                    continue;
                }
                Status::Blocked | Status::Error => {
                    on(Event::StepFinished(s.id(), r.status));
                    return Err(Error::Blocked {
                        step: s.id().into(),
                        message: format!(
                            "step {} is {}: {}\nNothing further was changed; fix this and run `apply` (or `resume`) again.",
                            s.id(),
                            r.status.as_str(),
                            r.problems()
                        ),
                    });
                }
                Status::Pending => {}
            }
            on(Event::StepStarted(s.id()));
            j.begin_step(s.id())?;
            if s.is_live() {
                let watch = self.watch_regenerated();
                let mut log = vec![];
                let res = s.run(&self.cx, on, &mut log);
                for c in log {
                    sum.commands.push(c.argv.join(" "));
                    j.record_command(c.argv, c.status, c.stderr)?;
                }
                for (f, before) in watch {
                    let why = "rewritten by the restart command itself";
                    if j.record_side_effect(&f, before, why)? {
                        sum.files.push(self.cx.root.display(&f));
                    }
                }
                match res {
                    Ok(notes) => {
                        sum.notes.extend(notes);
                        j.end_step(None)?;
                        sum.applied.push(s.id().into());
                        on(Event::StepFinished(s.id(), Status::Done));
                        continue;
                    }
                    Err(e) if s.rolls_back_on_failure() => {
                        j.end_step(Some(format!("failed: {e}")))?;
                        let (undo, undone) = self.roll_back_run_and_restart(s.as_ref(), &mut j, on);
                        on(Event::StepFinished(s.id(), Status::Error));
                        return Err(Error::StepFailed {
                            step: s.id().into(),
                            undone,
                            message: format!(
                                "step {} failed: {e}
{undo}",
                                s.id()
                            ),
                            cause: None,
                        });
                    }
                    Err(e) => {
                        j.end_step(Some(format!("failed: {e}")))?;
                        on(Event::StepFinished(s.id(), Status::Error));
                        return Err(Error::StepFailed {
                            step: s.id().into(),
                            undone: vec![],
                            message: format!("step {} failed: {e}", s.id()),
                            cause: None,
                        });
                    }
                }
            }
            let res = self.apply_report(s.as_ref(), &mut j, &r, &mut sum, on);
            if let Err(e) = res {
                // Undo this step's partial work now; the journal would do it on the next start
                // anyway, but leaving a half-applied step behind helps nobody.
                let (ri, si) = (
                    j.data.runs.len() - 1,
                    j.data.runs.last().unwrap().steps.len() - 1,
                );
                let (undo, undone) = match j.undo_step(ri, si, false) {
                    Ok(v) if v.is_empty() => (String::new(), v),
                    Ok(v) => (format!("\nUndone: {}", v.join("; ")), v),
                    Err(u) => (format!("\nUndoing it failed too: {u}"), vec![]),
                };
                return Err(Error::StepFailed {
                    step: s.id().into(),
                    undone,
                    message: format!("step {} failed: {e}{undo}", s.id()),
                    cause: Some(Box::new(e)),
                });
            }
            j.end_step(None)?;
            // An honest step converges: checked again, it has nothing left to do.
            let again = s.check(&self.cx, &view);
            if again.status == Status::Pending && !again.changes.is_empty() {
                return Err(Error::StepFailed {
                    step: s.id().into(),
                    undone: vec![],
                    message: format!(
                        "step {} still has changes after applying them ({}); stopping. `rollback` undoes what was done",
                        s.id(),
                        again.changes.iter().map(|c| c.path.clone()).collect::<Vec<_>>().join(", ")
                    ),
                    cause: None,
                });
            }
            sum.applied.push(s.id().into());
            on(Event::StepFinished(s.id(), Status::Done));
        }
        // A run is finished when every step was considered; `--only` leaves it open for the rest.
        if only.is_empty() {
            j.finish_run()?;
        } else if !sum.applied.is_empty() {
            drop(j);
            sum.notes.extend(self.stale_after(only, &run, first_step));
        }
        Ok(sum)
    }

    /// Refuses before the first write when the plan already shows a step that cannot be applied.
    /// Stopping only when the loop reaches that step would leave the steps before it applied: a
    /// missing m4 or cf tree, or a sendmail.cf that is a link, would leave sendmail.mc edited
    /// and sendmail.cf not regenerated, which is the half-configured server this program exists
    /// to avoid. An error after a pending command of a step that installs prerequisites
    /// ([`Step::installs_prerequisites`]: the packages step) is let through: installing the
    /// packages may be what cures it (m4 and the cf tree are packages).
    fn preflight(&self, only: &[String]) -> Result<(), Error> {
        let mut installs = false;
        for (s, r) in self.steps.iter().zip(self.plan()) {
            if !only.is_empty() && !only.iter().any(|o| o == r.id) {
                continue;
            }
            match r.status {
                Status::Blocked | Status::Error if !installs => {
                    return Err(Error::Blocked {
                        step: r.id.into(),
                        message: format!(
                            "step {} is {}: {}\nNothing was changed: the plan cannot be carried out to the end, so no step was started. Fix this and run `apply` again (`plan` shows every step).",
                            r.id,
                            r.status.as_str(),
                            r.problems()
                        ),
                    });
                }
                Status::Pending if s.installs_prerequisites() && !r.commands.is_empty() => {
                    installs = true
                }
                _ => {}
            }
        }
        Ok(())
    }

    /// The files the profile says a restart may regenerate, as they are now.
    fn watch_regenerated(&self) -> Vec<(String, Option<Snapshot>)> {
        let Some(p) = self.profile() else {
            return vec![];
        };
        p.service
            .regenerated
            .iter()
            .map(|f| {
                let before = self.cx.root.resolve(f).ok().and_then(|r| {
                    let b = std::fs::read(&r.real).ok()?;
                    let m = fsops::meta_of(&r.real).ok()??;
                    Some((b, m))
                });
                (f.clone(), before)
            })
            .collect()
    }

    fn apply_report(
        &self,
        s: &dyn Step,
        j: &mut Journal,
        r: &StepReport,
        sum: &mut ApplySummary,
        on: &mut dyn FnMut(Event),
    ) -> Result<(), Error> {
        for c in &r.changes {
            on(Event::Writing(self.cx.root.display(&c.path)));
            // Whether the step's own check refused the new file (then it is `rejected`, not an
            // I/O error: fsops passes the refusal on as one).
            let refused = std::cell::Cell::new(false);
            let validator = |tmp: &Path| {
                let r = s.validate_change(&self.cx, c, tmp);
                refused.set(r.is_err());
                r
            };
            let v: Option<fsops::Validator> = if c.validate { Some(&validator) } else { None };
            j.write_file(&c.path, &c.after, c.new_meta, &c.why, v)
                .map_err(|e| match e {
                    journal::JournalError::Io(io) if refused.get() => Error::Rejected {
                        path: self.cx.root.display(&c.path),
                        message: io.to_string(),
                    },
                    journal::JournalError::Io(io) => Error::Io {
                        action: "write".into(),
                        path: self.cx.root.display(&c.path),
                        message: io.to_string(),
                    },
                    e => e.into(),
                })?;
            sum.files.push(self.cx.root.display(&c.path));
        }
        for c in &r.commands {
            let line = c.argv.join(" ");
            on(Event::Running(line.clone()));
            let out = host::run_tool(
                &c.argv[0],
                &c.argv[1..],
                None,
                std::time::Duration::from_secs(1800),
            )
            .map_err(|message| Error::ToolFailed {
                tool: c.argv[0].clone(),
                status: None,
                stderr: String::new(),
                message,
            })?;
            j.record_command(c.argv.clone(), out.status, out.stderr.clone())?;
            if !out.success() {
                return Err(out.into());
            }
            sum.commands.push(line);
        }
        Ok(())
    }
}
