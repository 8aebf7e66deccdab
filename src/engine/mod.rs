//! The engine: steps, journal and file operations. It knows nothing of terminals, colours or
//! argument parsing; the CLI and the TUI are two thin faces over [`Engine`], so they can never
//! disagree about the plan.

pub mod audit;
pub mod fsops;
pub mod host;
pub mod journal;
pub mod profile;
pub mod query;
pub mod root;
pub mod state_path;
pub mod step;
pub mod trust;

use journal::{Journal, JournalError, StepState};
use profile::Profile;
use root::Root;
use serde::Serialize;
use std::path::Path;
use step::{Context, Options, Status, Step, StepReport, View};

/// A file's content and attributes before a command may rewrite it.
type Snapshot = (Vec<u8>, fsops::Meta);

/// Progress while applying or rolling back, for a UI to show.
#[derive(Debug, Clone)]
pub enum Event {
    Recovered(String),
    StepStarted(&'static str),
    Writing(String),
    Running(String),
    StepFinished(&'static str, Status),
    Restored(String),
}

pub struct Engine {
    pub cx: Context,
    steps: Vec<Box<dyn Step>>,
}

/// The outcome of `apply`.
#[derive(Debug, Default, Serialize)]
pub struct ApplySummary {
    /// The journal run this apply belongs to (a resumed run keeps its id).
    pub run: Option<String>,
    pub recovered: Vec<String>,
    /// Steps that changed something.
    pub applied: Vec<String>,
    pub files: Vec<String>,
    pub commands: Vec<String>,
    pub unchanged: Vec<String>,
    pub skipped: Vec<String>,
    /// What live steps reported (transcripts, verdicts).
    pub notes: Vec<String>,
}

/// Why a rollback refused to start: every file changed since the wizard wrote it.
pub fn conflict_refusal(root: &Root, conflicts: &[journal::Conflict]) -> String {
    let mut m = format!(
        "rollback refused: {} file(s) changed since smtpauth-wizard wrote them, so nothing was rolled back:",
        conflicts.len()
    );
    for c in conflicts {
        m.push_str(&format!("\n  {}", c.describe(root)));
    }
    m.push_str("\nLook at them, then run `rollback --force` to put the originals back over them (what they hold now is then lost: copy them first to keep it)");
    m
}

impl Engine {
    /// Opens a root: detects the distribution (or loads `--profile FILE`) and prepares the steps.
    pub fn new(
        root_dir: &Path,
        profile_file: Option<&Path>,
        opts: Options,
    ) -> Result<Engine, String> {
        let root = Root::new(root_dir).map_err(|e| e.to_string())?;
        if !opts.trust_root {
            if let Some(why) = trust::distrust_tree(&root) {
                return Err(why);
            }
        }
        let (profile, profile_reason) = match profile_file {
            // `--profile debian` (or `profile: debian` in an answers file) names a built-in
            // profile and nothing else: a value without a `/` is never read from the current
            // directory (a planted `./debian` would decide what root runs). A file is given as
            // a path (`--profile ./debian`).
            Some(f) if !f.to_string_lossy().contains('/') => {
                let id = f.to_string_lossy();
                let p = profile::builtin(&id).ok_or_else(|| {
                    format!(
                        "{id:?} is not a built-in profile (the built-in ones are {}); give a \
                         profile file as a path, such as ./{id}",
                        profile::builtin_ids().join(", ")
                    )
                })?;
                let why = format!("built-in profile {id} (chosen, not detected)");
                (Some(p), why)
            }
            Some(f) => {
                let text = trust::read_instructions(f, "profile")?;
                let p =
                    profile::parse(&f.display().to_string(), &text).map_err(|e| e.to_string())?;
                let why = format!("profile {} from --profile {}", p.id, f.display());
                (Some(p), why)
            }
            None => match crate::steps::os::detect(&root) {
                Ok((p, why)) => (Some(p), why),
                Err(why) => (None, why),
            },
        };
        // What differs between releases is data in the profile (its `overrides`).
        let (profile, profile_reason) =
            crate::steps::os::for_release(&root, profile, profile_reason)?;
        let can_validate = crate::steps::os::can_validate_promptly();
        Ok(Engine {
            cx: Context {
                root,
                profile,
                profile_reason,
                opts,
                can_validate,
            },
            steps: crate::steps::all(),
        })
    }

    pub fn root(&self) -> &Root {
        &self.cx.root
    }

    pub fn profile(&self) -> Option<&Profile> {
        self.cx.profile.as_ref()
    }

    pub fn step_ids(&self) -> Vec<&'static str> {
        self.steps.iter().map(|s| s.id()).collect()
    }

    pub fn step(&self, id: &str) -> Option<&dyn Step> {
        self.steps.iter().find(|s| s.id() == id).map(|b| b.as_ref())
    }

    /// Checks every step in order, each seeing the changes planned by the ones before it.
    /// Reads only.
    pub fn plan(&self) -> Vec<StepReport> {
        let mut view = View::new(&self.cx.root);
        let mut out = Vec::new();
        for s in &self.steps {
            let r = s.check(&self.cx, &view);
            for c in &r.changes {
                view.plan(c);
            }
            out.push(r);
        }
        self.settle_covering(&mut out);
        out
    }

    /// The served paths (as written, and with links followed) a covering step copies aside.
    fn covered(&self, s: &dyn Step) -> Vec<String> {
        let mut v = vec![];
        for f in s.covers(&self.cx) {
            if let Ok(r) = self.cx.root.resolve(&f) {
                v.push(r.target);
            }
            v.push(f);
        }
        v
    }

    /// A step that copies files aside (backup) is pending only when a later step writes one of
    /// them: a server configured by hand, or by a run whose journal and `.bak` files are gone,
    /// is `done` instead of reporting `pending: backup` forever (check exit 2, Ansible
    /// `changed` on every run).
    fn settle_covering(&self, reports: &mut [StepReport]) {
        for (k, s) in self.steps.iter().enumerate() {
            let cov = self.covered(s.as_ref());
            if cov.is_empty() || reports.get(k).is_none_or(|r| r.status != Status::Pending) {
                continue;
            }
            let touched = reports[k + 1..]
                .iter()
                .flat_map(|r| &r.changes)
                .any(|c| cov.contains(&c.path) || cov.contains(&c.requested));
            if touched {
                continue;
            }
            let mut r = std::mem::replace(&mut reports[k], StepReport::new(s.as_ref()));
            let names: Vec<String> = s
                .covers(&self.cx)
                .iter()
                .map(|f| self.cx.root.display(f))
                .collect();
            r.info(format!(
                "no other step changes {}, so no .bak copy is made now (it is made before the first change to them)",
                names.join(" or ")
            ));
            r.changes.clear();
            reports[k] = r.finish();
        }
    }

    /// What `apply --only` must add so that no file a covering step (backup) copies aside is
    /// edited before its `.bak` exists, and what to say about it. The selected steps are
    /// checked on their own, in order, to see what they would write.
    fn covering_first(&self, only: &[String]) -> (Vec<String>, Vec<String>) {
        let mut sel = only.to_vec();
        let mut notes = vec![];
        if only.is_empty() {
            return (sel, notes);
        }
        let mut view = View::new(&self.cx.root);
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
            let now = key(&s.check(&self.cx, &View::new(&self.cx.root)));
            let causes: Vec<String> = originals
                .iter()
                .filter(|(p, b)| {
                    let mut v = View::new(&self.cx.root);
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

    /// Checks one step against the files as they are now (a covering step, backup, with the
    /// whole plan: whether it has anything to do depends on the steps after it).
    pub fn check_step(&self, id: &str) -> Option<StepReport> {
        let s = self.step(id)?;
        if !self.covered(s).is_empty() {
            return self.plan().into_iter().find(|r| r.id == id);
        }
        Some(s.check(&self.cx, &View::new(&self.cx.root)))
    }

    /// Refuses to act on the live system without root privileges.
    pub fn may_write(&self) -> Result<(), String> {
        if self.cx.root.is_host() && host::euid() != 0 {
            return Err(
                "apply and rollback change files under / and need root privileges: \
                        run with sudo, or give --root DIR to work on a copy"
                    .into(),
            );
        }
        Ok(())
    }

    /// Applies the steps in order (all, or those in `only`), journaling every change first.
    /// Stops at the first step that is blocked or in error; a later `apply`/`resume` continues.
    /// Every apply that got as far as the journal leaves one line in the audit log.
    pub fn apply(
        &self,
        only: &[String],
        on: &mut dyn FnMut(Event),
    ) -> Result<ApplySummary, String> {
        self.may_write()?;
        let mut at = None;
        let mut res = self.apply_journaled(only, on, &mut at);
        if let Some((run, first_step)) = at {
            let mut rec = self.audit_of_run(&run, first_step);
            rec.action = "apply".into();
            rec.result = match &res {
                Ok(sum) if sum.applied.is_empty() => Ok("nothing to do".into()),
                Ok(sum) => Ok(format!("applied {}", sum.applied.join(","))),
                Err(e) => Err(e.clone()),
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
    ) -> Result<ApplySummary, String> {
        for id in only {
            if self.step(id).is_none() {
                return Err(format!(
                    "unknown step {id:?}; steps are: {}",
                    self.step_ids().join(", ")
                ));
            }
        }
        let profile_id = self
            .profile()
            .map(|p| p.id.clone())
            .unwrap_or_else(|| "none".into());
        let mut j = Journal::open(&self.cx.root).map_err(|e| e.to_string())?;
        let mut sum = ApplySummary {
            recovered: j.recover().map_err(|e| e.to_string())?,
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
        let run = j.begin_run(&profile_id).map_err(|e| e.to_string())?;
        let first_step = j.data.runs.last().map_or(0, |r| r.steps.len());
        *at = Some((run.clone(), first_step));
        let view = View::new(&self.cx.root);
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
                    return Err(format!(
                        "step {} is {}: {}\nNothing further was changed; fix this and run `apply` (or `resume`) again.",
                        s.id(),
                        r.status.as_str(),
                        r.problems()
                    ));
                }
                Status::Pending => {}
            }
            on(Event::StepStarted(s.id()));
            j.begin_step(s.id()).map_err(|e| e.to_string())?;
            if s.is_live() {
                let watch = self.watch_regenerated();
                let mut log = vec![];
                let res = s.run(&self.cx, on, &mut log);
                for c in log {
                    sum.commands.push(c.argv.join(" "));
                    j.record_command(c.argv, c.status, c.stderr)
                        .map_err(|e| e.to_string())?;
                }
                for (f, before) in watch {
                    let why = "rewritten by the restart command itself";
                    if j.record_side_effect(&f, before, why)
                        .map_err(|e| e.to_string())?
                    {
                        sum.files.push(self.cx.root.display(&f));
                    }
                }
                match res {
                    Ok(notes) => {
                        sum.notes.extend(notes);
                        j.end_step(None).map_err(|e| e.to_string())?;
                        sum.applied.push(s.id().into());
                        on(Event::StepFinished(s.id(), Status::Done));
                        continue;
                    }
                    Err(e) if s.rolls_back_on_failure() => {
                        j.end_step(Some(format!("failed: {e}")))
                            .map_err(|e| e.to_string())?;
                        let undo = self.roll_back_run_and_restart(&mut j, on);
                        on(Event::StepFinished(s.id(), Status::Error));
                        return Err(format!(
                            "step {} failed: {e}
{undo}",
                            s.id()
                        ));
                    }
                    Err(e) => {
                        j.end_step(Some(format!("failed: {e}")))
                            .map_err(|e| e.to_string())?;
                        on(Event::StepFinished(s.id(), Status::Error));
                        return Err(format!("step {} failed: {e}", s.id()));
                    }
                }
            }
            let res = self.apply_report(&mut j, &r, &mut sum, on);
            if let Err(e) = res {
                // Undo this step's partial work now; the journal would do it on the next start
                // anyway, but leaving a half-applied step behind helps nobody.
                let (ri, si) = (
                    j.data.runs.len() - 1,
                    j.data.runs.last().unwrap().steps.len() - 1,
                );
                let undo = j.undo_step(ri, si, false);
                let undo = match undo {
                    Ok(v) if v.is_empty() => String::new(),
                    Ok(v) => format!("\nUndone: {}", v.join("; ")),
                    Err(u) => format!("\nUndoing it failed too: {u}"),
                };
                return Err(format!("step {} failed: {e}{undo}", s.id()));
            }
            j.end_step(None).map_err(|e| e.to_string())?;
            // An honest step converges: checked again, it has nothing left to do.
            let again = s.check(&self.cx, &view);
            if again.status == Status::Pending && !again.changes.is_empty() {
                return Err(format!(
                    "step {} still has changes after applying them ({}); stopping. `rollback` undoes what was done",
                    s.id(),
                    again.changes.iter().map(|c| c.path.clone()).collect::<Vec<_>>().join(", ")
                ));
            }
            sum.applied.push(s.id().into());
            on(Event::StepFinished(s.id(), Status::Done));
        }
        // A run is finished when every step was considered; `--only` leaves it open for the rest.
        if only.is_empty() {
            j.finish_run().map_err(|e| e.to_string())?;
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
    /// to avoid. An error after a pending package installation is let through: installing the
    /// packages may be what cures it (m4 and the cf tree are packages).
    fn preflight(&self, only: &[String]) -> Result<(), String> {
        let mut installs = false;
        for r in self.plan() {
            if !only.is_empty() && !only.iter().any(|o| o == r.id) {
                continue;
            }
            match r.status {
                Status::Blocked | Status::Error if !installs => {
                    return Err(format!(
                        "step {} is {}: {}\nNothing was changed: the plan cannot be carried out to the end, so no step was started. Fix this and run `apply` again (`plan` shows every step).",
                        r.id,
                        r.status.as_str(),
                        r.problems()
                    ));
                }
                Status::Pending if r.id == "packages" && !r.commands.is_empty() => installs = true,
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
        j: &mut Journal,
        r: &StepReport,
        sum: &mut ApplySummary,
        on: &mut dyn FnMut(Event),
    ) -> Result<(), String> {
        for c in &r.changes {
            on(Event::Writing(self.cx.root.display(&c.path)));
            let validator = |tmp: &Path| crate::steps::sendmail_cf::validate(&self.cx, tmp);
            let v: Option<fsops::Validator> = if c.validate_cf {
                Some(&validator)
            } else {
                None
            };
            j.write_file(&c.path, &c.after, c.new_meta, &c.why, v)
                .map_err(|e| e.to_string())?;
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
            )?;
            j.record_command(c.argv.clone(), out.status, out.stderr.clone())
                .map_err(|e| e.to_string())?;
            if !out.success() {
                return Err(out.describe());
            }
            sum.commands.push(line);
        }
        Ok(())
    }

    /// certbot's "roll back and restart": undoes every step of the current run, newest first,
    /// restarts sendmail on the old configuration and checks that it came back. Returns a
    /// report of all of it for the user.
    fn roll_back_run_and_restart(&self, j: &mut Journal, on: &mut dyn FnMut(Event)) -> String {
        let mut out = vec!["Rolling back every change of this run:".to_string()];
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
        match crate::steps::live::restart_and_verify(&self.cx, false, on, &mut log) {
            Ok(notes) => {
                out.push("Restarted sendmail on the old configuration:".into());
                out.extend(notes.into_iter().map(|n| format!("  {n}")));
            }
            Err(e) => out.push(format!(
                "Restarting sendmail on the old configuration FAILED too: {e}"
            )),
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
        out.join("\n")
    }

    /// Rolls back every applied step (or one), newest first, from the journal alone.
    pub fn rollback(
        &self,
        only_step: Option<&str>,
        force: bool,
        on: &mut dyn FnMut(Event),
    ) -> Result<Vec<String>, String> {
        self.may_write()?;
        let mut j = Journal::open(&self.cx.root).map_err(|e| e.to_string())?;
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
            Err(e) => Err(e.clone()),
        };
        rec.finish(&self.cx.root, res)
    }

    fn roll_back_targets(
        &self,
        j: &mut Journal,
        targets: Vec<(usize, usize)>,
        force: bool,
        on: &mut dyn FnMut(Event),
    ) -> Result<Vec<String>, String> {
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
        let mut restart_again = false;
        for (r, s) in targets {
            let id = j.data.runs[r].steps[s].id.clone();
            restart_again |= id == "restart";
            let did = j.undo_step(r, s, force).map_err(|e| match e {
                JournalError::Conflict { .. } => format!("rollback of step {id} stopped: {e}"),
                _ => e.to_string(),
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
            j.finish_run().map_err(|e| e.to_string())?;
        }
        // The wizard restarted sendmail on the new files; the old ones need a restart as well.
        if restart_again && self.cx.root.is_host() {
            let mut log = vec![];
            let res = crate::steps::live::restart_and_verify(&self.cx, false, on, &mut log);
            for c in &log {
                msgs.push(format!(
                    "ran `{}` (exit {})",
                    c.argv.join(" "),
                    c.status
                        .map(|s| s.to_string())
                        .unwrap_or_else(|| "none".into())
                ));
            }
            match res {
                Ok(n) => msgs.extend(n),
                Err(e) => {
                    return Err(format!(
                        "files restored, but restarting sendmail on them failed: {e}"
                    ))
                }
            }
        }
        Ok(msgs)
    }

    /// `rollback --from-backups`: puts the HOWTO's `.bak` copies back over sendmail.mc and
    /// sendmail.cf without needing the journal (it may be corrupt or gone). A journal that
    /// cannot be read is moved aside first; the restore itself is journaled like any change.
    pub fn restore_from_backups(&self, on: &mut dyn FnMut(Event)) -> Result<Vec<String>, String> {
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
            Err(e) => Err(e.clone()),
        };
        rec.finish(&self.cx.root, res)
    }

    fn restore_backups_journaled(
        &self,
        on: &mut dyn FnMut(Event),
        rec: &mut audit::Record,
    ) -> Result<Vec<String>, String> {
        let p = self.profile().ok_or("no profile: the system was not recognised, so the wizard does not know which files have .bak copies (give --profile)")?;
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
                let moved = fsops::move_aside(&jp, &tag).map_err(|e| e.to_string())?;
                msgs.push(format!(
                    "moved the unusable journal aside to {}",
                    moved.display()
                ));
            }
        }
        let mut j = Journal::open(&self.cx.root).map_err(|e| e.to_string())?;
        let run = j
            .begin_run(&format!("{} (rollback --from-backups)", p.id))
            .map_err(|e| e.to_string())?;
        rec.runs.push(run);
        j.begin_step("restore-backups").map_err(|e| e.to_string())?;
        let mut files = vec![p.sendmail.mc.clone()];
        files.extend(p.sendmail.cf.iter().cloned());
        for f in files {
            let bak = format!("{f}.bak");
            let real_bak = self.cx.root.resolve(&bak).map_err(|e| e.to_string())?.real;
            let Ok(content) = std::fs::read(&real_bak) else {
                continue;
            };
            let m = fsops::meta_of(&real_bak)
                .map_err(|e| e.to_string())?
                .ok_or("backup vanished")?;
            let cur = self.cx.root.read(&f).map_err(|e| e.to_string())?;
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
            .map_err(|e| e.to_string())?;
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
        j.end_step_unchanged().map_err(|e| e.to_string())?;
        j.finish_run().map_err(|e| e.to_string())?;
        if msgs.is_empty() {
            msgs.push("no .bak file found: nothing restored".into());
        }
        Ok(msgs)
    }

    /// The journal, read-only.
    pub fn journal(&self) -> Result<Journal, JournalError> {
        Journal::read(&self.cx.root)
    }
}
