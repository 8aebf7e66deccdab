//! The engine on fake steps: the real run loop, journal, rollback and recovery, with steps
//! that only write small files under `ROOT/etc/fake` (no m4, no sendmail, no profile). Each
//! fake can be told to be blocked, to have a change refused by its `validate_change` hook, to
//! fail as a live step that rolls the run back, or to "die" (panic) in the middle of writing
//! its files, which leaves the journal as a `kill -9` would.

use super::journal::{CommandRecord, Journal, StepState};
use super::step::{Change, Context, Options, PlannedOverlay, Status, Step, StepReport, Undone};
use super::{Engine, Event};
use proptest::prelude::*;
use std::collections::BTreeMap;
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

const IDS: [&str; 6] = ["one", "two", "three", "four", "five", "six"];
const NAMES: [&str; 3] = ["a.conf", "b.conf", "c.conf"];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Ok,
    Blocked,
    /// Its `validate_change` refuses the change of its last file.
    Refuse,
    /// A live step whose run fails and rolls the whole run back.
    LiveFails,
    /// Panics while its last file is validated: its other files are written and the step is
    /// in progress in the journal, as a kill would leave it.
    Dies,
    /// Writes its files, then runs `false`, which fails.
    ToolFails,
}

/// What happened, in order, for the assertions ("after_rollback one RunFailed").
type Log = Arc<Mutex<Vec<String>>>;

struct Fake {
    id: &'static str,
    /// (file name under /etc/fake, wanted content)
    files: Vec<(&'static str, Vec<u8>)>,
    mode: Mode,
    /// A command run when applied (`true`), for the prerequisite installer.
    command: bool,
    installs: bool,
    /// Whether `after_rollback` answers.
    hook: bool,
    armed: AtomicBool,
    log: Log,
}

impl Fake {
    fn new(id: &'static str, files: Vec<(&'static str, Vec<u8>)>, mode: Mode, log: &Log) -> Fake {
        Fake {
            id,
            files,
            mode,
            command: false,
            installs: false,
            hook: true,
            armed: AtomicBool::new(mode == Mode::Dies),
            log: log.clone(),
        }
    }
}

fn target(name: &str) -> String {
    format!("/etc/fake/{name}")
}

impl Step for Fake {
    fn id(&self) -> &'static str {
        self.id
    }
    fn title(&self) -> &'static str {
        "a fake step"
    }
    fn howto(&self) -> &'static str {
        "none"
    }
    fn is_live(&self) -> bool {
        self.mode == Mode::LiveFails
    }
    fn rolls_back_on_failure(&self) -> bool {
        self.mode == Mode::LiveFails
    }
    fn installs_prerequisites(&self) -> bool {
        self.installs
    }
    fn check(&self, cx: &Context, view: &PlannedOverlay) -> StepReport {
        let mut r = StepReport::new(self);
        match self.mode {
            Mode::Blocked => r.block("fake: blocked", None),
            Mode::LiveFails => r.pending("fake: would act on the live system"),
            _ => {}
        }
        for (n, w) in &self.files {
            match r.change(view, &target(n), w.clone(), "fake", None) {
                Ok(_) => {}
                Err(e) => r.error(Some(&target(n)), e.to_string(), None),
            }
        }
        for c in &mut r.changes {
            c.validate = true;
        }
        if self.mode == Mode::ToolFails {
            r.command(vec!["false".into()], "fake: a tool that fails");
        }
        if self.command {
            let done = cx.root.read("/etc/fake/installed").ok().flatten().is_some();
            if !done {
                r.command(vec!["true".into()], "fake install");
            }
        }
        r.finish()
    }
    fn validate_change(&self, _cx: &Context, change: &Change, tmp: &Path) -> Result<(), String> {
        // The hook sees the new content in the temporary file, not yet at the target.
        assert_eq!(std::fs::read(tmp).unwrap(), change.after);
        let last = self.files.last().map(|(n, _)| target(n));
        if last.as_deref() == Some(change.requested.as_str())
            && self.armed.swap(false, Ordering::SeqCst)
        {
            // Its other files are written and the step is in progress in the journal; the
            // temporary file goes with the unwinding (a kill would leave it, which fsops
            // sweeps on the next start: Journal::open).
            panic!("fake step {} dies before its last file", self.id);
        }
        if self.mode == Mode::Refuse && last.as_deref() == Some(change.requested.as_str()) {
            self.log
                .lock()
                .unwrap()
                .push(format!("refused {}", self.id));
            return Err(format!("fake: {} refuses {}", self.id, change.requested));
        }
        Ok(())
    }
    fn run(
        &self,
        _cx: &Context,
        _on: &mut dyn FnMut(Event),
        _log: &mut Vec<CommandRecord>,
    ) -> Result<Vec<String>, String> {
        Err("fake: the live step failed".into())
    }
    fn after_rollback(
        &self,
        _cx: &Context,
        why: Undone,
        _on: &mut dyn FnMut(Event),
        _log: &mut Vec<CommandRecord>,
    ) -> Option<Result<Vec<String>, String>> {
        if !self.hook {
            return None;
        }
        self.log
            .lock()
            .unwrap()
            .push(format!("after_rollback {} {why:?}", self.id));
        Some(Ok(vec![format!(
            "fake: {} acted after the rollback",
            self.id
        )]))
    }
}

/// A root with `/etc/fake` holding the given files (mode 0640, an old mtime).
fn root_with(initial: &[(&str, Option<Vec<u8>>)]) -> tempfile::TempDir {
    let t = tempfile::tempdir().unwrap();
    let d = t.path().join("etc/fake");
    std::fs::create_dir_all(&d).unwrap();
    for (n, c) in initial {
        if let Some(c) = c {
            let p = d.join(n);
            std::fs::write(&p, c).unwrap();
            let f = std::fs::File::options().write(true).open(&p).unwrap();
            f.set_permissions(std::os::unix::fs::PermissionsExt::from_mode(0o640))
                .unwrap();
            f.set_modified(std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_000_000))
                .unwrap();
        }
    }
    t
}

fn engine(t: &tempfile::TempDir, steps: Vec<Box<dyn Step>>) -> Engine {
    let opts = Options {
        trust_root: true,
        ..Options::default()
    };
    Engine::new(t.path(), None, opts, steps).unwrap()
}

/// Every file under /etc/fake: content, mode, owner, mtime.
type Tree = BTreeMap<String, (Vec<u8>, u32, u32, u32, i64, i64)>;

fn tree(t: &tempfile::TempDir) -> Tree {
    let mut m = BTreeMap::new();
    for e in std::fs::read_dir(t.path().join("etc/fake")).unwrap() {
        let e = e.unwrap();
        let md = std::fs::symlink_metadata(e.path()).unwrap();
        m.insert(
            e.file_name().to_string_lossy().to_string(),
            (
                std::fs::read(e.path()).unwrap(),
                md.mode(),
                md.uid(),
                md.gid(),
                md.mtime(),
                md.mtime_nsec(),
            ),
        );
    }
    m
}

fn contents(t: &Tree) -> BTreeMap<String, Vec<u8>> {
    t.iter().map(|(k, v)| (k.clone(), v.0.clone())).collect()
}

/// No step of the journal is left in progress, and no step is still applied.
fn journal_states(e: &Engine) -> Vec<StepState> {
    match Journal::read(e.root()) {
        Ok(j) => j
            .data
            .runs
            .iter()
            .flat_map(|r| r.steps.iter().map(|s| s.state))
            .collect(),
        Err(_) => vec![],
    }
}

fn quiet() -> impl FnMut(Event) {
    |_| {}
}

mod kinds;
mod props;
mod scenarios;
