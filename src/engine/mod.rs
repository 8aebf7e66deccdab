//! The engine: steps, journal and file operations. It knows nothing of terminals, colours or
//! argument parsing; the CLI and the TUI are two thin faces over [`Engine`], so they can never
//! disagree about the plan.
//!
//! It knows no particular step either: it is given its steps (`Engine::new(.., steps)`, the
//! list made once in [`crate::steps::all`]) and reaches what is special about one only through
//! the hooks of [`Step`] (detecting the system, validating a change, acting after a rollback,
//! installing prerequisites). Its own tests run it on fake steps.
//!
//! `mod.rs` opens a root and plans; `apply.rs` is the run loop; `rollback.rs` undoes.

mod apply;
pub mod audit;
pub mod error;
pub mod fsops;
pub mod host;
pub mod journal;
pub mod profile;
pub mod query;
mod rollback;
pub mod root;
pub mod state_path;
pub mod step;
pub mod trust;

#[cfg(test)]
mod fake_steps;

pub use error::Error;
pub use rollback::conflict_refusal;

use journal::{Journal, JournalError};
use profile::Profile;
use root::Root;
use serde::Serialize;
use std::path::Path;
use step::{Context, Options, PlannedOverlay, Status, Step, StepReport};

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

impl Engine {
    /// Opens a root with these steps, in the order they apply: detects the distribution (the
    /// first step whose [`Step::detect_profile`] answers) or loads `--profile FILE`.
    pub fn new(
        root_dir: &Path,
        profile_file: Option<&Path>,
        opts: Options,
        steps: Vec<Box<dyn Step>>,
    ) -> Result<Engine, Error> {
        let root = Root::new(root_dir).map_err(|e| {
            // A --root that does not exist, is not a directory or leads to / through a link.
            Error::bad_input("--root", e.kind().to_string(), e.to_string())
        })?;
        if !opts.trust_root {
            if let Some(why) = trust::distrust_tree(&root) {
                return Err(Error::Refused(why));
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
                    Error::bad_input(
                        "--profile",
                        format!("{id:?} is not a built-in profile"),
                        format!(
                            "{id:?} is not a built-in profile (the built-in ones are {}); give a \
                             profile file as a path, such as ./{id}",
                            profile::builtin_ids().join(", ")
                        ),
                    )
                })?;
                let why = format!("built-in profile {id} (chosen, not detected)");
                (Some(p), why)
            }
            Some(f) => {
                let text = trust::read_instructions(f, "profile")?;
                let p = profile::parse(&f.display().to_string(), &text).map_err(|e| {
                    Error::bad_input(f.display().to_string(), e.to_string(), e.to_string())
                })?;
                let why = format!("profile {} from --profile {}", p.id, f.display());
                (Some(p), why)
            }
            None => match steps.iter().find_map(|s| s.detect_profile(&root)) {
                Some(Ok((p, why))) => (Some(p), why),
                Some(Err(why)) => (None, why),
                None => (
                    None,
                    "no step identifies the system: give --profile FILE".to_string(),
                ),
            },
        };
        // What differs between releases is data in the profile (its `overrides`): the step
        // that knows the release (os) merges them in.
        let (mut profile, mut profile_reason) = (profile, profile_reason);
        for s in &steps {
            if let Some(p) = profile.take() {
                let file = profile_file
                    .map_or_else(|| format!("profile {}", p.id), |f| f.display().to_string());
                // The profile's overrides for this release do not apply: the profile is wrong.
                let (p, why) = s
                    .for_release(&root, p, profile_reason)
                    .map_err(|e| Error::bad_input(file, e.clone(), e))?;
                profile = Some(p);
                profile_reason = why;
            }
        }
        // Where passwords are checked (`--password-source`) changes what the profile needs.
        let profile = profile.map(|p| p.with_password_source(opts.password_source()));
        let can_validate = steps
            .iter()
            .find_map(|s| s.can_validate())
            .unwrap_or(Ok(()));
        Ok(Engine {
            cx: Context {
                root,
                profile,
                profile_reason,
                opts,
                can_validate,
            },
            steps,
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
        let mut view = PlannedOverlay::new(&self.cx.root);
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
    pub(super) fn covered(&self, s: &dyn Step) -> Vec<String> {
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

    /// Checks one step against the files as they are now (a covering step, backup, with the
    /// whole plan: whether it has anything to do depends on the steps after it).
    pub fn check_step(&self, id: &str) -> Option<StepReport> {
        let s = self.step(id)?;
        if !self.covered(s).is_empty() {
            return self.plan().into_iter().find(|r| r.id == id);
        }
        Some(s.check(&self.cx, &PlannedOverlay::new(&self.cx.root)))
    }

    /// Refuses to act on the live system without root privileges.
    pub fn may_write(&self) -> Result<(), Error> {
        if self.cx.root.is_host() && host::euid() != 0 {
            return Err(Error::Permission(
                "apply and rollback change files under / and need root privileges: \
                        run with sudo, or give --root DIR to work on a copy"
                    .into(),
            ));
        }
        Ok(())
    }

    /// The journal, read-only.
    pub fn journal(&self) -> Result<Journal, JournalError> {
        Journal::read(&self.cx.root)
    }
}
