//! Property tests of the run loop on generated lists of fake steps: stop, undo, a second
//! apply, rollback; and resume after a step dies mid-write.

use super::*;

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
