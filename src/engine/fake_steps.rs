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

/// One generated case: the files there at first, and the steps.
#[derive(Debug, Clone)]
struct Case {
    initial: Vec<Option<Vec<u8>>>,
    steps: Vec<(u8, Vec<u8>, Mode)>,
}

fn contents_strategy() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        Just(b"x\n".to_vec()),
        Just(b"y\n".to_vec()),
        Just(b"".to_vec()),
        proptest::collection::vec(any::<u8>(), 0..40),
    ]
}

fn case_strategy(modes: Vec<Mode>) -> impl Strategy<Value = Case> {
    let step = (1u8..8, contents_strategy(), proptest::sample::select(modes))
        .prop_map(|(files, wanted, mode)| (files, wanted, mode));
    (
        proptest::collection::vec(proptest::option::of(contents_strategy()), 3),
        proptest::collection::vec(step, 1..6),
    )
        .prop_map(|(initial, steps)| Case { initial, steps })
}

impl Case {
    fn root(&self) -> tempfile::TempDir {
        let init: Vec<(&str, Option<Vec<u8>>)> = NAMES
            .iter()
            .zip(&self.initial)
            .map(|(n, c)| (*n, c.clone()))
            .collect();
        root_with(&init)
    }
    /// The files of step `k`: a non-empty subset of NAMES, each wanted with its own content.
    fn files(&self, k: usize) -> Vec<(&'static str, Vec<u8>)> {
        let (mask, wanted, _) = &self.steps[k];
        NAMES
            .iter()
            .enumerate()
            .filter(|(i, _)| mask & (1 << i) != 0)
            .map(|(i, n)| {
                let mut w = wanted.clone();
                w.extend(format!("{}{i}\n", IDS[k]).bytes());
                (*n, w)
            })
            .collect()
    }
    /// The steps; with `dying` false, as the next process makes them (none dies again).
    fn fakes(&self, log: &Log, dying: bool) -> Vec<Box<dyn Step>> {
        (0..self.steps.len())
            .map(|k| {
                let mode = match self.steps[k].2 {
                    Mode::Dies if !dying => Mode::Ok,
                    m => m,
                };
                Box::new(Fake::new(IDS[k], self.files(k), mode, log)) as Box<dyn Step>
            })
            .collect()
    }
    /// Whether two steps write the same file. Then each run writes it again (the earlier
    /// step finds the later one's content), so a second apply is not empty; real steps never
    /// share a file.
    fn overlap(&self) -> bool {
        let m: Vec<u8> = self.steps.iter().map(|s| s.0).collect();
        (0..m.len()).any(|i| (i + 1..m.len()).any(|j| m[i] & m[j] != 0))
    }
    /// What the files hold after apply, by the engine's rules: nothing is written when a step
    /// is blocked (the plan is refused first); a refused change undoes its step and stops the
    /// loop; a failed live step undoes the whole run. `Err` carries the index of the step that
    /// stops the run.
    fn model(&self, t0: &BTreeMap<String, Vec<u8>>) -> (BTreeMap<String, Vec<u8>>, Option<usize>) {
        if let Some(k) = self.steps.iter().position(|s| s.2 == Mode::Blocked) {
            return (t0.clone(), Some(k));
        }
        let mut now = t0.clone();
        for k in 0..self.steps.len() {
            let files = self.files(k);
            let changes: Vec<_> = files
                .iter()
                .filter(|(n, w)| now.get(*n) != Some(w))
                .collect();
            match self.steps[k].2 {
                Mode::LiveFails => return (t0.clone(), Some(k)),
                Mode::Refuse if changes.iter().any(|(n, _)| *n == files.last().unwrap().0) => {
                    return (now, Some(k))
                }
                _ => {}
            }
            for (n, w) in changes {
                now.insert(n.to_string(), w.clone());
            }
        }
        (now, None)
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    /// Any list of steps, some blocked, some refused at apply, some failing live: the run loop
    /// writes exactly what the steps before the failure planned, undoes the failing step (the
    /// whole run for a live failure, with its after-rollback hook), leaves no step in progress,
    /// a second apply of a clean run has nothing to do, and rollback gives back the tree byte
    /// for byte with modes, owners and mtimes.
    #[test]
    fn run_loop_stops_undoes_and_rolls_back(
        case in case_strategy(vec![Mode::Ok, Mode::Ok, Mode::Ok, Mode::Blocked, Mode::Refuse, Mode::LiveFails])
    ) {
        let t = case.root();
        let before = tree(&t);
        let log: Log = Arc::default();
        let e = engine(&t, case.fakes(&log, true));
        let (want, stop) = case.model(&contents(&before));
        let res = e.apply(&[], &mut quiet());
        prop_assert_eq!(res.is_ok(), stop.is_none(), "{:?}", res);
        prop_assert_eq!(contents(&tree(&t)), want);
        prop_assert!(!journal_states(&e).contains(&StepState::InProgress));
        let hooks: Vec<String> = log.lock().unwrap().iter().filter(|l| l.starts_with("after_rollback")).cloned().collect();
        match stop {
            Some(k) if case.steps[k].2 == Mode::LiveFails => {
                prop_assert_eq!(tree(&t), before.clone());
                prop_assert_eq!(hooks, vec![format!("after_rollback {} RunFailed", IDS[k])]);
                let err = res.unwrap_err().to_string();
                prop_assert!(err.contains("Rolling back every change of this run"), "{}", err);
                prop_assert!(err.contains("acted after the rollback"), "{}", err);
            }
            Some(k) if case.steps[k].2 == Mode::Blocked => {
                prop_assert_eq!(tree(&t), before.clone());
                prop_assert!(res.unwrap_err().to_string().contains("no step was started"));
                prop_assert!(hooks.is_empty());
            }
            Some(k) => {
                let err = res.unwrap_err().to_string();
                prop_assert!(err.contains(&format!("step {} failed: fake: {} refuses", IDS[k], IDS[k])), "{}", err);
                prop_assert!(hooks.is_empty());
            }
            None if !case.overlap() => {
                let again = e.apply(&[], &mut quiet()).unwrap();
                prop_assert!(again.applied.is_empty(), "{:?}", again.applied);
                prop_assert!(e.plan().iter().all(|r| r.status == Status::Done));
            }
            None => {}
        }
        log.lock().unwrap().clear();
        e.rollback(None, false, &mut quiet()).unwrap();
        prop_assert_eq!(tree(&t), before);
        prop_assert!(journal_states(&e).iter().all(|s| *s != StepState::Done && *s != StepState::InProgress));
    }

    /// A step dies (the process is gone) after writing its files and before the engine ends
    /// it. The next apply undoes the interrupted step from the journal, continues the same
    /// run and converges; rollback then gives back the tree as it was before the first apply.
    #[test]
    fn resume_after_an_interruption_converges_and_rolls_back(
        case in case_strategy(vec![Mode::Ok, Mode::Ok, Mode::Dies])
    ) {
        let t = case.root();
        let before = tree(&t);
        let log: Log = Arc::default();
        let e = engine(&t, case.fakes(&log, true));
        let died = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            e.apply(&[], &mut quiet())
        }));
        let (want, _) = case.model(&contents(&before));
        if died.is_err() {
            let j = Journal::read(e.root()).unwrap();
            prop_assert!(j.open_run().is_some(), "the interrupted run stays open");
            let run = j.open_run().unwrap().id.clone();
            // Another process, the same steps (no longer dying).
            let e2 = engine(&t, case.fakes(&log, false));
            let sum = e2.apply(&[], &mut quiet()).unwrap();
            prop_assert_eq!(sum.run.as_deref(), Some(run.as_str()), "resume continues the run");
            let in_progress = j.data.runs.iter().flat_map(|r| &r.steps).any(|s| s.state == StepState::InProgress);
            prop_assert_eq!(in_progress, !sum.recovered.is_empty(), "{:?}", sum.recovered);
        } else {
            died.unwrap().unwrap();
        }
        prop_assert_eq!(contents(&tree(&t)), want);
        prop_assert!(!journal_states(&e).contains(&StepState::InProgress));
        e.rollback(None, false, &mut quiet()).unwrap();
        prop_assert_eq!(tree(&t), before);
    }
}

#[test]
fn an_interrupted_step_is_undone_from_the_journal_and_applied_again() {
    let t = root_with(&[("a.conf", Some(b"old a\n".to_vec())), ("b.conf", None)]);
    let before = tree(&t);
    let log: Log = Arc::default();
    let steps = |mode| -> Vec<Box<dyn Step>> {
        vec![
            Box::new(Fake::new(
                "one",
                vec![("a.conf", b"new a\n".to_vec())],
                Mode::Ok,
                &log,
            )),
            Box::new(Fake::new(
                "two",
                vec![
                    ("a.conf", b"two a\n".to_vec()),
                    ("b.conf", b"two b\n".to_vec()),
                ],
                mode,
                &log,
            )),
        ]
    };
    let e = engine(&t, steps(Mode::Dies));
    let died =
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| e.apply(&[], &mut quiet())));
    assert!(died.is_err());
    // As a kill would leave it: step two in progress, its first file written, not its second.
    let j = Journal::read(e.root()).unwrap();
    let states: Vec<_> = j.data.runs[0]
        .steps
        .iter()
        .map(|s| (s.id.clone(), s.state))
        .collect();
    assert_eq!(
        states,
        vec![
            ("one".into(), StepState::Done),
            ("two".into(), StepState::InProgress)
        ]
    );
    assert_eq!(
        std::fs::read(t.path().join("etc/fake/a.conf")).unwrap(),
        b"two a\n"
    );
    assert!(!t.path().join("etc/fake/b.conf").exists());
    let e2 = engine(&t, steps(Mode::Ok));
    let sum = e2.apply(&[], &mut quiet()).unwrap();
    assert_eq!(
        sum.recovered[0],
        "step two was interrupted; undone from the journal"
    );
    assert_eq!(sum.unchanged, vec!["one"]);
    assert_eq!(sum.applied, vec!["two"]);
    let c = contents(&tree(&t));
    assert_eq!(c["a.conf"], b"two a\n");
    assert_eq!(c["b.conf"], b"two b\n");
    e2.rollback(None, false, &mut quiet()).unwrap();
    assert_eq!(tree(&t), before);
}

#[test]
fn a_refused_change_leaves_its_target_and_undoes_the_step() {
    let t = root_with(&[
        ("a.conf", Some(b"a\n".to_vec())),
        ("b.conf", Some(b"b\n".to_vec())),
    ]);
    let before = tree(&t);
    let log: Log = Arc::default();
    let e = engine(
        &t,
        vec![Box::new(Fake::new(
            "one",
            vec![("a.conf", b"A\n".to_vec()), ("b.conf", b"B\n".to_vec())],
            Mode::Refuse,
            &log,
        ))],
    );
    let err = e.apply(&[], &mut quiet()).unwrap_err();
    // The step's own check refused the new file: `rejected`, naming it, inside `step_failed`.
    match &err {
        crate::engine::Error::StepFailed { step, cause, .. } => {
            assert_eq!(step, "one");
            match cause.as_deref() {
                Some(crate::engine::Error::Rejected { path, .. }) => {
                    assert!(path.ends_with("/etc/fake/b.conf"), "{path}")
                }
                c => panic!("{c:?}"),
            }
        }
        other => panic!("{other:?}"),
    }
    let err = err.to_string();
    assert!(err.starts_with("step one failed: "), "{err}");
    assert!(err.contains("fake: one refuses /etc/fake/b.conf"), "{err}");
    // a.conf was written, then undone with the step.
    assert!(err.contains("Undone: "), "{err}");
    assert_eq!(tree(&t), before);
    assert_eq!(*log.lock().unwrap(), vec!["refused one"]);
}

#[test]
fn rollback_runs_each_rolled_back_steps_hook_once() {
    let t = root_with(&[("a.conf", None), ("b.conf", None)]);
    let before = tree(&t);
    let log: Log = Arc::default();
    let mk = |a: &[u8], b: &[u8], hook_b: bool| -> Vec<Box<dyn Step>> {
        let one = Fake::new("one", vec![("a.conf", a.to_vec())], Mode::Ok, &log);
        let mut two = Fake::new("two", vec![("b.conf", b.to_vec())], Mode::Ok, &log);
        two.hook = hook_b;
        vec![Box::new(one), Box::new(two)]
    };
    // Two runs apply both steps; rollback undoes four step records.
    engine(&t, mk(b"1\n", b"1\n", true))
        .apply(&[], &mut quiet())
        .unwrap();
    let e = engine(&t, mk(b"2\n", b"2\n", false));
    e.apply(&[], &mut quiet()).unwrap();
    let msgs = e.rollback(None, false, &mut quiet()).unwrap();
    assert_eq!(*log.lock().unwrap(), vec!["after_rollback one Rollback"]);
    assert_eq!(
        msgs.iter()
            .filter(|m| m.starts_with("rolled back step"))
            .count(),
        4
    );
    assert!(
        msgs.iter()
            .any(|m| m == "fake: one acted after the rollback"),
        "{msgs:?}"
    );
    assert_eq!(tree(&t), before);
    // Rolling back one step that has no hook: no hook runs.
    log.lock().unwrap().clear();
    let e = engine(&t, mk(b"3\n", b"3\n", false));
    e.apply(&[], &mut quiet()).unwrap();
    e.rollback(Some("two"), false, &mut quiet()).unwrap();
    assert!(log.lock().unwrap().is_empty());
}

#[test]
fn an_error_after_a_pending_prerequisite_installer_is_let_through() {
    for installs in [false, true] {
        let t = root_with(&[]);
        let log: Log = Arc::default();
        let mut inst = Fake::new("one", vec![], Mode::Ok, &log);
        inst.command = true;
        inst.installs = installs;
        let bad = Fake::new("two", vec![("a.conf", b"x".to_vec())], Mode::Blocked, &log);
        let e = engine(&t, vec![Box::new(inst), Box::new(bad)]);
        let err = e.apply(&[], &mut quiet()).unwrap_err().to_string();
        let ran = Journal::read(e.root())
            .map(|j| {
                j.data
                    .runs
                    .iter()
                    .flat_map(|r| &r.steps)
                    .flat_map(|s| &s.commands)
                    .count()
            })
            .unwrap_or(0);
        if installs {
            assert!(
                err.starts_with("step two is blocked: fake: blocked\nNothing further"),
                "{err}"
            );
            assert_eq!(ran, 1, "the installer ran first");
        } else {
            assert!(err.contains("no step was started"), "{err}");
            assert_eq!(ran, 0);
        }
    }
}

#[test]
fn the_profile_comes_from_the_first_step_that_detects_one() {
    struct Detects(&'static str);
    impl Step for Detects {
        fn id(&self) -> &'static str {
            self.0
        }
        fn title(&self) -> &'static str {
            ""
        }
        fn howto(&self) -> &'static str {
            ""
        }
        fn check(&self, _cx: &Context, _view: &PlannedOverlay) -> StepReport {
            StepReport::new(self).finish()
        }
        fn detect_profile(
            &self,
            _root: &super::root::Root,
        ) -> Option<Result<(super::profile::Profile, String), String>> {
            Some(Err(format!("{}: unknown system", self.0)))
        }
        fn can_validate(&self) -> Option<Result<(), String>> {
            Some(Err(format!("{}: no prompt validation", self.0)))
        }
    }
    let t = root_with(&[]);
    let log: Log = Arc::default();
    let e = engine(
        &t,
        vec![
            Box::new(Fake::new("plain", vec![], Mode::Ok, &log)),
            Box::new(Detects("first")),
            Box::new(Detects("second")),
        ],
    );
    assert!(e.profile().is_none());
    assert_eq!(e.cx.profile_reason, "first: unknown system");
    assert_eq!(e.cx.can_validate, Err("first: no prompt validation".into()));
    let e = engine(
        &t,
        vec![Box::new(Fake::new("plain", vec![], Mode::Ok, &log))],
    );
    assert_eq!(
        e.cx.profile_reason,
        "no step identifies the system: give --profile FILE"
    );
    assert_eq!(e.cx.can_validate, Ok(()));
}

/// The engine names no particular step: it reaches them only through the `Step` hooks (the
/// import circle engine -> steps::live -> engine is gone).
#[test]
fn the_engine_does_not_name_a_step() {
    for (f, src) in [
        ("mod.rs", include_str!("mod.rs")),
        ("apply.rs", include_str!("apply.rs")),
        ("rollback.rs", include_str!("rollback.rs")),
        ("step.rs", include_str!("step.rs")),
    ] {
        for bad in [
            "crate::steps::",
            "\"restart\"",
            "\"packages\"",
            "\"sendmail-cf\"",
            "\"os\"",
        ] {
            let code = src.lines().filter(|l| !l.trim_start().starts_with("//"));
            assert!(!code.clone().any(|l| l.contains(bad)), "{f} names {bad}");
        }
    }
}

/// What the faces are told, by kind (issue 10 item 3): each failure of the run loop and of
/// rollback comes back as the kind a caller acts on, with its fields, and the same sentence as
/// before.
mod kinds {
    use super::*;
    use crate::engine::Error;

    fn one(mode: Mode, log: &Log) -> Vec<Box<dyn Step>> {
        vec![
            Box::new(Fake::new(
                "one",
                vec![("a.conf", b"A\n".to_vec())],
                Mode::Ok,
                log,
            )),
            Box::new(Fake::new(
                "two",
                vec![("b.conf", b"B\n".to_vec())],
                mode,
                log,
            )),
        ]
    }

    #[test]
    fn a_blocked_step_is_blocked_naming_it_and_nothing_is_written() {
        for only in [vec![], vec!["two".to_string()]] {
            let t = root_with(&[("a.conf", Some(b"a\n".to_vec())), ("b.conf", None)]);
            let before = tree(&t);
            let log: Log = Arc::default();
            let e = engine(&t, one(Mode::Blocked, &log));
            match e.apply(&only, &mut quiet()).unwrap_err() {
                Error::Blocked { step, message } => {
                    assert_eq!(step, "two");
                    assert!(message.contains("fake: blocked"), "{message}");
                }
                other => panic!("{only:?}: {other:?}"),
            }
            assert_eq!(tree(&t), before);
        }
    }

    #[test]
    fn a_failing_tool_is_step_failed_with_the_tool_and_what_was_undone() {
        for files in [
            vec![("b.conf", b"B\n".to_vec())],
            vec![("b.conf", b"B\n".to_vec()), ("c.conf", b"C\n".to_vec())],
        ] {
            let t = root_with(&[
                ("a.conf", Some(b"a\n".to_vec())),
                ("b.conf", Some(b"b\n".to_vec())),
            ]);
            let log: Log = Arc::default();
            let n = files.len();
            let e = engine(
                &t,
                vec![
                    Box::new(Fake::new(
                        "one",
                        vec![("a.conf", b"A\n".to_vec())],
                        Mode::Ok,
                        &log,
                    )),
                    Box::new(Fake::new("two", files, Mode::ToolFails, &log)),
                ],
            );
            let err = e.apply(&[], &mut quiet()).unwrap_err();
            let text = err.to_string();
            assert!(text.starts_with("step two failed: `"), "{text}");
            assert!(text.contains("false` (exit status 1)"), "{text}");
            match err {
                Error::StepFailed {
                    step,
                    undone,
                    cause,
                    ..
                } => {
                    assert_eq!(step, "two");
                    // Its own writes were put back (one per file), step one's stay.
                    assert_eq!(undone.len(), n, "{undone:?}");
                    match cause.as_deref() {
                        Some(Error::ToolFailed { tool, status, .. }) => {
                            assert!(tool.ends_with("false"), "{tool}");
                            assert_eq!(*status, Some(1));
                        }
                        c => panic!("{c:?}"),
                    }
                }
                other => panic!("{other:?}"),
            }
            assert_eq!(
                std::fs::read(t.path().join("etc/fake/b.conf")).unwrap(),
                b"b\n"
            );
            assert_eq!(
                std::fs::read(t.path().join("etc/fake/a.conf")).unwrap(),
                b"A\n"
            );
            let v = serde_json::to_value(
                crate::engine::Error::StepFailed {
                    step: "two".into(),
                    undone: vec![],
                    message: "m".into(),
                    cause: Some(Box::new(Error::ToolFailed {
                        tool: "false".into(),
                        status: Some(1),
                        stderr: "e".into(),
                        message: "m".into(),
                    })),
                }
                .to_json(),
            )
            .unwrap();
            assert_eq!(v["cause"]["kind"], "tool_failed");
            assert_eq!(v["cause"]["tool"], "false");
            assert_eq!(v["cause"]["status"], 1);
        }
    }

    #[test]
    fn a_failing_live_step_is_step_failed_listing_the_whole_run_undone() {
        let t = root_with(&[("a.conf", Some(b"a\n".to_vec())), ("b.conf", None)]);
        let before = tree(&t);
        let log: Log = Arc::default();
        let e = engine(
            &t,
            vec![
                Box::new(Fake::new(
                    "one",
                    vec![("a.conf", b"A\n".to_vec())],
                    Mode::Ok,
                    &log,
                )),
                Box::new(Fake::new(
                    "two",
                    vec![("b.conf", b"B\n".to_vec())],
                    Mode::Ok,
                    &log,
                )),
                Box::new(Fake::new("three", vec![], Mode::LiveFails, &log)),
            ],
        );
        match e.apply(&[], &mut quiet()).unwrap_err() {
            Error::StepFailed { step, undone, .. } => {
                assert_eq!(step, "three");
                // b.conf (created: removed) and a.conf (restored), newest first.
                assert_eq!(undone.len(), 2, "{undone:?}");
                assert!(undone[0].contains("b.conf"), "{undone:?}");
                assert!(undone[1].contains("a.conf"), "{undone:?}");
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(tree(&t), before);
    }

    #[test]
    fn rollback_over_changed_files_is_conflict_with_every_path() {
        for changed in [vec!["a.conf"], vec!["a.conf", "b.conf"], vec!["b.conf"]] {
            let t = root_with(&[("a.conf", Some(b"a\n".to_vec())), ("b.conf", None)]);
            let log: Log = Arc::default();
            let e = engine(&t, one(Mode::Ok, &log));
            e.apply(&[], &mut quiet()).unwrap();
            for c in &changed {
                std::fs::write(t.path().join("etc/fake").join(c), b"mine\n").unwrap();
            }
            let after = tree(&t);
            match e.rollback(None, false, &mut quiet()).unwrap_err() {
                Error::Conflict { paths, message } => {
                    let want: Vec<String> = changed
                        .iter()
                        .map(|c| e.root().display(&target(c)))
                        .collect();
                    let mut got = paths.clone();
                    got.sort();
                    assert_eq!(got, want, "{message}");
                    assert!(message.contains("rollback --force"), "{message}");
                }
                other => panic!("{other:?}"),
            }
            assert_eq!(tree(&t), after);
            e.rollback(None, true, &mut quiet()).unwrap();
        }
    }

    #[test]
    fn an_unknown_only_step_is_bad_input() {
        let t = root_with(&[("a.conf", None)]);
        let log: Log = Arc::default();
        let e = engine(&t, one(Mode::Ok, &log));
        match e.apply(&["nine".into()], &mut quiet()).unwrap_err() {
            Error::BadInput {
                file,
                what,
                message,
            } => {
                assert_eq!(file, "--only");
                assert!(what.contains("nine"), "{what}");
                assert!(message.contains("one, two"), "{message}");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_corrupt_journal_is_journal_and_a_held_lock_is_locked() {
        let t = root_with(&[("a.conf", None)]);
        let log: Log = Arc::default();
        let e = engine(&t, one(Mode::Ok, &log));
        e.apply(&[], &mut quiet()).unwrap();
        // The lock, held by a second journal writer.
        let held = Journal::open(e.root()).unwrap();
        assert!(matches!(
            e.rollback(None, false, &mut quiet()),
            Err(Error::Locked(_))
        ));
        assert!(matches!(e.apply(&[], &mut quiet()), Err(Error::Locked(_))));
        drop(held);
        let j = crate::engine::journal::journal_path(e.root());
        std::fs::write(&j, "not: [a journal\n").unwrap();
        assert!(matches!(
            e.rollback(None, false, &mut quiet()),
            Err(Error::Journal(_))
        ));
        assert!(matches!(e.unfinished(), Err(Error::Journal(_))));
    }
}
