//! What the faces are told, by kind (issue 10 item 3): each failure of the run loop and of
//! rollback comes back as the kind a caller acts on, with its fields, and the same sentence as
//! before.

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
