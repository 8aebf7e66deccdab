//! What reaches the model ([`Msg`]: keys, worker answers) and what it asks the worker to do
//! ([`Cmd`]).

use super::model::*;
use crate::engine::step::Options;
use crate::relay_report::Report;
use crate::smtp::ProbeReport;
use crossterm::event::KeyEvent;
use std::path::PathBuf;
use std::time::Duration;

#[derive(Debug, Clone)]
pub enum Msg {
    Key(KeyEvent),
    Resize(u16, u16),
    /// SIGTERM, SIGINT or SIGHUP arrived.
    Signal(i32),
    /// The worker checked every step.
    Checked(Box<Snapshot>),
    /// The worker is doing this now.
    Progress(String),
    Applied {
        step: String,
        result: Result<Vec<String>, String>,
    },
    RolledBack {
        result: Result<Vec<String>, String>,
    },
    /// The worker thread is gone (it panicked): nothing more can be done safely.
    WorkerFailed(String),
    /// A quarter of a second passed (drives the probe's elapsed time; nothing else).
    Tick,
    /// The probe `id` ended: its report, or why it could not run.
    Probed {
        id: u64,
        result: Result<Box<ProbeReport>, String>,
    },
    /// The watch `id` read the logs again: the whole report so far.
    Watched {
        id: u64,
        report: Box<Report>,
    },
    /// The watch `id` stopped: asked to, or a log could not be read (the reason).
    WatchEnded {
        id: u64,
        error: Option<String>,
    },
}

/// Work for the worker thread, or the end.
#[derive(Debug, Clone)]
pub enum Cmd {
    Check(Options),
    Apply {
        step: String,
        opts: Options,
    },
    Rollback {
        step: Option<String>,
        force: bool,
    },
    /// Probe a server, on a thread of its own (it only reads the network).
    Probe {
        id: u64,
        target: String,
        timeout: Duration,
        tls: super::model::ProbeTls,
    },
    /// Follow the mail logs, on a thread of its own, sending `Watched` snapshots.
    Watch {
        id: u64,
        logs: Vec<PathBuf>,
        local_domains: Vec<String>,
        /// Read instead when none of `logs` exists (no rsyslog: sendmail logs to journald).
        journal: crate::relay_report::Journal,
    },
    /// Stop the watch `id` (it ends at its next poll).
    StopWatch {
        id: u64,
    },
    Quit,
}

/// The engine's `Options` has no `PartialEq`; commands compare by every choice it holds.
fn same_opts(a: &Options, b: &Options) -> bool {
    a.mechanisms == b.mechanisms
        && a.auth_options == b.auth_options
        && a.trust_mechanisms == b.trust_mechanisms
        && a.keep_relay == b.keep_relay
        && a.keep_features == b.keep_features
        && a.prune_relay_domains == b.prune_relay_domains
        && a.open_listener == b.open_listener
        && a.submission == b.submission
        && a.submission_listener == b.submission_listener
        && a.discard_cf_edits == b.discard_cf_edits
        && a.replace_mta == b.replace_mta
        && a.tls == b.tls
        && a.tls_cert == b.tls_cert
        && a.tls_key == b.tls_key
        && a.tool_timeout == b.tool_timeout
}

impl PartialEq for Cmd {
    fn eq(&self, other: &Cmd) -> bool {
        match (self, other) {
            (Cmd::Check(a), Cmd::Check(b)) => same_opts(a, b),
            (Cmd::Apply { step: s1, opts: o1 }, Cmd::Apply { step: s2, opts: o2 }) => {
                s1 == s2 && same_opts(o1, o2)
            }
            (
                Cmd::Rollback {
                    step: s1,
                    force: f1,
                },
                Cmd::Rollback {
                    step: s2,
                    force: f2,
                },
            ) => s1 == s2 && f1 == f2,
            (
                Cmd::Probe {
                    id: i1,
                    target: t1,
                    timeout: d1,
                    tls: s1,
                },
                Cmd::Probe {
                    id: i2,
                    target: t2,
                    timeout: d2,
                    tls: s2,
                },
            ) => i1 == i2 && t1 == t2 && d1 == d2 && s1 == s2,
            (
                Cmd::Watch {
                    id: i1,
                    logs: l1,
                    local_domains: d1,
                    journal: j1,
                },
                Cmd::Watch {
                    id: i2,
                    logs: l2,
                    local_domains: d2,
                    journal: j2,
                },
            ) => i1 == i2 && l1 == l2 && d1 == d2 && j1 == j2,
            (Cmd::StopWatch { id: a }, Cmd::StopWatch { id: b }) => a == b,
            (Cmd::Quit, Cmd::Quit) => true,
            _ => false,
        }
    }
}
