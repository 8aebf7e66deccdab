//! Work beside the engine worker: probing a server and following the mail logs. Both only read
//! (the network, the logs), may take long (a silent server holds each reply for the whole
//! timeout; a watch never ends by itself), and must never queue behind an apply or hold one up,
//! so each runs on a thread of its own and answers with [`Msg`]s on the loop's channel, tagged
//! with the id the model gave it: an answer from a probe or watch the model no longer waits for
//! is ignored there.

use super::model::{Cmd, Msg};
use crate::relay_report::{self as rr, ReportOptions};
use crate::smtp::{self, ProbeOptions};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::Sender;
use std::sync::Arc;
use std::time::Duration;

/// How often a watch looks at the logs again.
pub const WATCH_POLL: Duration = Duration::from_millis(500);

/// The side threads of one wizard.
pub struct Side {
    tx: Sender<Msg>,
    /// Stop flags of the running watches, by id.
    watches: HashMap<u64, Arc<AtomicBool>>,
}

impl Side {
    pub fn new(tx: Sender<Msg>) -> Side {
        Side {
            tx,
            watches: HashMap::new(),
        }
    }

    /// Runs `cmd` if it is side work (probe, watch, stop a watch); gives it back otherwise.
    pub fn run(&mut self, cmd: Cmd) -> Option<Cmd> {
        match cmd {
            Cmd::Probe {
                id,
                target,
                timeout,
                tls,
            } => {
                spawn_probe(id, &target, timeout, tls, self.tx.clone());
                None
            }
            Cmd::Watch {
                id,
                logs,
                local_domains,
                journal,
            } => {
                let stop = Arc::new(AtomicBool::new(false));
                self.watches.insert(id, stop.clone());
                spawn_watch(id, logs, local_domains, journal, stop, self.tx.clone());
                None
            }
            Cmd::StopWatch { id } => {
                if let Some(stop) = self.watches.remove(&id) {
                    stop.store(true, Ordering::Relaxed);
                }
                None
            }
            other => Some(other),
        }
    }
}

impl Drop for Side {
    fn drop(&mut self) {
        for stop in self.watches.values() {
            stop.store(true, Ordering::Relaxed);
        }
    }
}

/// What a panic carried, in words.
pub(super) fn panic_text(p: Box<dyn std::any::Any + Send>) -> String {
    p.downcast_ref::<String>()
        .cloned()
        .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_else(|| "a panic".into())
}

/// Probes `target` (`HOST[:PORT]`) without logging in: greeting, EHLO, AUTH advertised, relay
/// refused. Ends within the probe's own bounds (each step at most `timeout`) and always
/// answers with one [`Msg::Probed`].
pub fn spawn_probe(
    id: u64,
    target: &str,
    timeout: Duration,
    tls: crate::tui::model::ProbeTls,
    tx: Sender<Msg>,
) {
    let target = target.to_string();
    let spawned = std::thread::Builder::new()
        .name("smtpauth-probe".into())
        .spawn({
            let tx = tx.clone();
            move || {
                let result = ProbeOptions::for_target(&target).and_then(|mut o| {
                    o.timeout = timeout;
                    o.verify_cert = !tls.no_verify_cert;
                    if tls.tls_required {
                        o.tls = smtp::TlsMode::Required;
                    }
                    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| smtp::probe(&o)))
                        .map(Box::new)
                        .map_err(|p| format!("internal error: {}", panic_text(p)))
                });
                let _ = tx.send(Msg::Probed { id, result });
            }
        });
    if let Err(e) = spawned {
        let _ = tx.send(Msg::Probed {
            id,
            result: Err(format!("cannot start the probe: {e}")),
        });
    }
}

/// Follows `logs` like `relay-report --follow` (rotated siblings read once, the live log
/// followed across rotation) and sends a [`Msg::Watched`] whenever more lines were read, until
/// `stop` is set; then (or on an error) one [`Msg::WatchEnded`]. When none of `logs` exists
/// (no rsyslog: sendmail logs only to journald, Debian 12 and 13), `journal` is followed
/// instead, and the report says so.
pub fn spawn_watch(
    id: u64,
    logs: Vec<PathBuf>,
    local_domains: Vec<String>,
    mut journal: rr::Journal,
    stop: Arc<AtomicBool>,
    tx: Sender<Msg>,
) {
    let spawned = std::thread::Builder::new()
        .name("smtpauth-watch".into())
        .spawn({
            let tx = tx.clone();
            move || {
                // Without a journal to read either, the missing log is the error shown.
                let absent = !logs.iter().any(|p| p.exists()) && rr::journal_available(&journal);
                let journal = absent.then(|| {
                    journal.why = Some(if logs.is_empty() {
                        "chosen because the profile names no mail log".into()
                    } else {
                        let names: Vec<String> =
                            logs.iter().map(|p| p.display().to_string()).collect();
                        format!("chosen because {} is absent", names.join(", "))
                    });
                    journal
                });
                let opts = ReportOptions {
                    logs: if absent { Vec::new() } else { logs },
                    local_domains,
                    journal,
                    ..Default::default()
                };
                let mut last = None;
                let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    rr::follow(
                        &opts,
                        |rep| {
                            if stop.load(Ordering::Relaxed) {
                                return false;
                            }
                            if last != Some(rep.lines_read) {
                                last = Some(rep.lines_read);
                                let report = Box::new(rep.clone());
                                if tx.send(Msg::Watched { id, report }).is_err() {
                                    return false;
                                }
                            }
                            true
                        },
                        WATCH_POLL,
                    )
                }));
                let error = match r {
                    Ok(Ok(())) => None,
                    Ok(Err(e)) => Some(e.to_string()),
                    Err(p) => Some(format!("internal error: {}", panic_text(p))),
                };
                let _ = tx.send(Msg::WatchEnded { id, error });
            }
        });
    if let Err(e) = spawned {
        let _ = tx.send(Msg::WatchEnded {
            id,
            error: Some(format!("cannot start watching: {e}")),
        });
    }
}
