//! Single scenarios on fake steps: recovery of an interrupted step, a refused change, the
//! after-rollback hook, the prerequisite installer, the profile, and the engine naming no step.

use super::*;

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
            _root: &super::super::root::Root,
        ) -> Option<Result<(super::super::profile::Profile, String), String>> {
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
        ("mod.rs", include_str!("../mod.rs")),
        ("apply.rs", include_str!("../apply.rs")),
        ("rollback.rs", include_str!("../rollback.rs")),
        ("step.rs", include_str!("../step.rs")),
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
