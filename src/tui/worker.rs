//! The worker thread: it owns the [`Engine`] and does everything slow or that touches the
//! system (checking every step runs m4 and makemap; applying writes through the journal;
//! rolling back restores from it). It reports back as [`Msg`]s over the same channel the keys
//! arrive on, so the screen keeps answering while it works.
//!
//! A job is never interrupted: quitting waits for the job that writes to return, which is a
//! step boundary (the TUI applies one step per job), so the process never exits in the middle
//! of a journaled write.

use super::model::{Cmd, Info, Msg, Snapshot};
use crate::engine::journal::JOURNAL_DIR;
use crate::engine::{Engine, Event};
use std::sync::mpsc::{Receiver, Sender};
use std::thread::JoinHandle;

/// What the model needs to know before the first check: read from the engine directly.
pub fn info(engine: &Engine) -> Info {
    let root = engine.root();
    let p = engine.profile();
    Info {
        root: root.dir().display().to_string(),
        root_arg: if root.is_host() {
            String::new()
        } else {
            format!("--root {} ", root.dir().display())
        },
        profile: p.map(|p| (p.id.clone(), p.name.clone())),
        profile_reason: engine.cx.profile_reason.clone(),
        euid: engine.euid(),
        may_write: engine.may_write().map_err(|e| e.to_string()),
        password_check: p
            .map(|p| p.auth.password_check.clone())
            .unwrap_or_else(|| "saslauthd".into()),
        default_mechanisms: p
            .map(|p| p.auth.default_mechanisms.clone())
            .unwrap_or_else(|| vec!["LOGIN".into(), "PLAIN".into()]),
        service: p
            .map(|p| p.service.name.clone())
            .unwrap_or_else(|| "sendmail".into()),
        journal_dir: JOURNAL_DIR.to_string(),
        steps: engine
            .step_ids()
            .into_iter()
            .map(|id| {
                let s = engine.step(id).expect("listed");
                (id.to_string(), s.title().to_string(), s.howto().to_string())
            })
            .collect(),
        color: true,
        mail_logs: p
            .map(|p| crate::relay_report::default_logs(root.dir(), &p.mail_logs))
            .unwrap_or_default(),
        local_domains: crate::relay_report::read_local_domains(root.dir()),
        probe_target: "localhost:25".into(),
        probe_timeout: crate::smtp::DEFAULT_TIMEOUT,
    }
}

/// Everything the screens show, read from the system: every step checked in order (the same
/// `plan` the command line prints), the journal, and what the choices act on.
pub fn snapshot(engine: &Engine) -> Snapshot {
    let reports = engine.plan();
    let journal = engine.journal_view();
    let c = engine.choosable(&reports);
    let server_name = engine.server_name();
    Snapshot {
        reports,
        journal,
        relay: c.relay,
        features: c.features,
        extra_domains: c.extra_domains,
        server_name,
        closed_listeners: c.closed_listeners,
    }
}

/// A message with the root directory taken off, naming the served system's paths.
fn served(engine: &Engine, s: &str) -> String {
    let root = engine.root();
    if root.is_host() {
        s.to_string()
    } else {
        s.replace(&format!("{}/", root.dir().display()), "/")
    }
}

fn event_text(engine: &Engine, e: &Event) -> String {
    let served = |s: &str| served(engine, s);
    match e {
        Event::Recovered(m) => format!("recovered: {}", served(m)),
        Event::StepStarted(id) => format!("applying {id}"),
        Event::Writing(p) => format!("writing {}", served(p)),
        Event::Running(c) => format!("running {}", served(c)),
        Event::StepFinished(id, st) => format!("{id}: {}", st.as_str()),
        Event::Restored(m) => served(m),
    }
}

/// Runs one job; every answer goes to `tx`.
fn run_job(engine: &mut Engine, cmd: Cmd, tx: &Sender<Msg>) {
    match cmd {
        Cmd::Check(opts) => {
            engine.cx.opts = opts;
            let _ = tx.send(Msg::Checked(Box::new(snapshot(engine))));
        }
        Cmd::Apply { step, opts } => {
            engine.cx.opts = opts;
            let mut log = vec![];
            let result = {
                let eng: &Engine = engine;
                let mut on = |e: Event| {
                    let t = event_text(eng, &e);
                    let _ = tx.send(Msg::Progress(t.clone()));
                    match &e {
                        Event::Writing(p) => log.push(format!("wrote {}", served(eng, p))),
                        Event::Running(c) => log.push(format!("ran {}", served(eng, c))),
                        Event::StepStarted(_) | Event::StepFinished(..) => {}
                        _ => log.push(t),
                    }
                };
                eng.apply(std::slice::from_ref(&step), &mut on)
            };
            // The TUI shows the message; it does not act on the kind.
            let result = result.map_err(|e| e.to_string()).map(|sum| {
                if sum.applied.is_empty() {
                    log.push("nothing to change: the step was already done".into());
                }
                log
            });
            let _ = tx.send(Msg::Applied { step, result });
            let _ = tx.send(Msg::Checked(Box::new(snapshot(engine))));
        }
        Cmd::Rollback { step, force } => {
            let result = {
                let eng: &Engine = engine;
                let mut on = |e: Event| {
                    let _ = tx.send(Msg::Progress(event_text(eng, &e)));
                };
                eng.rollback(step.as_deref(), force, &mut on)
            };
            let result = result
                .map_err(|e| e.to_string())
                .map(|v| v.into_iter().map(|l| served(engine, &l)).collect());
            let _ = tx.send(Msg::RolledBack { result });
            let _ = tx.send(Msg::Checked(Box::new(snapshot(engine))));
        }
        // Side work is run by `side::Side`; the worker only sees engine jobs.
        Cmd::Quit | Cmd::Probe { .. } | Cmd::Watch { .. } | Cmd::StopWatch { .. } => {}
    }
}

/// Starts the worker. It stops when `jobs` is closed or a `Cmd::Quit` arrives. A panic inside a
/// job is caught and reported as [`Msg::WorkerFailed`], so the loop can end cleanly.
pub fn spawn(mut engine: Engine, jobs: Receiver<Cmd>, tx: Sender<Msg>) -> JoinHandle<()> {
    std::thread::Builder::new()
        .name("smtpauth-worker".into())
        .spawn(move || {
            while let Ok(cmd) = jobs.recv() {
                if cmd == Cmd::Quit {
                    break;
                }
                let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    run_job(&mut engine, cmd, &tx)
                }));
                if let Err(p) = r {
                    let _ = tx.send(Msg::WorkerFailed(super::side::panic_text(p)));
                    break;
                }
            }
        })
        .expect("spawn the worker thread")
}
