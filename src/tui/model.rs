//! The wizard as a state machine (the Elm shape): a [`Model`], the [`Msg`]s that change it, and
//! a pure [`update`] that returns the [`Cmd`] to run next. No I/O here: reading the system,
//! writing files and rolling back happen on the worker thread, which answers with a `Msg`.
//! Everything on screen is derived from the model, so a test can drive `update` with keys and
//! worker answers and look at the result without a terminal.

use super::keys::{self, Action};
use crate::engine::step::{Options, Severity, Status, StepReport};
use crate::relay_report::Report;
use crate::smtp::ProbeReport;
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

/// What does not change while the wizard runs: where it works and on what.
#[derive(Debug, Clone)]
pub struct Info {
    /// The root directory (`/` on a live server).
    pub root: String,
    /// `--root DIR ` for command lines shown to the user ("" on a live server).
    pub root_arg: String,
    /// Profile id and name.
    pub profile: Option<(String, String)>,
    pub profile_reason: String,
    pub euid: u32,
    /// Whether apply and rollback may write here (root, or a --root tree).
    pub may_write: Result<(), String>,
    /// How passwords are checked here (`saslauthd`, `pam`), for the mechanism choice.
    pub password_check: String,
    pub default_mechanisms: Vec<String>,
    pub service: String,
    /// The journal directory as the served system names it.
    pub journal_dir: String,
    /// Every step: id, title, where it comes from in the HOWTO.
    pub steps: Vec<(String, String, String)>,
    /// Colours on (off with `NO_COLOR`).
    pub color: bool,
    /// The mail logs the Watch screen follows (host paths, under the root), oldest first; the
    /// profile's live log last. Empty: the profile names none.
    pub mail_logs: Vec<PathBuf>,
    /// This server's own mail domains (local-host-names), for the Watch screen's hints.
    pub local_domains: Vec<String>,
    /// What the Probe screen tests until the user types another target.
    pub probe_target: String,
    /// Bound of each step of the probe (connect, every reply).
    pub probe_timeout: Duration,
}

impl Info {
    /// A path or message with the root directory taken off, so it names the served system's
    /// files (`/etc/mail/sendmail.mc`) the way the HOWTO does; the header names the root.
    pub fn served(&self, s: &str) -> String {
        if self.root == "/" {
            s.to_string()
        } else {
            s.replace(&format!("{}/", self.root.trim_end_matches('/')), "/")
        }
    }
}

/// A file the journal says the wizard changed.
#[derive(Debug, Clone, PartialEq)]
pub struct AppliedFile {
    pub path: String,
    /// Where the journal keeps the original (served-system path), `None` for a file the wizard
    /// created (rollback removes it).
    pub saved: Option<String>,
    /// Its content is no longer what the wizard wrote (someone edited it since).
    pub changed_since: bool,
    pub why: String,
}

/// A step record that is applied and not rolled back.
#[derive(Debug, Clone, PartialEq)]
pub struct AppliedStep {
    pub id: String,
    pub run: String,
    pub started: String,
    pub files: Vec<AppliedFile>,
    pub commands: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct JournalView {
    /// The journal cannot be read (corrupt, newer version, ...).
    pub error: Option<String>,
    pub path: String,
    /// The last run is not finished.
    pub open_run: bool,
    /// Steps left `in-progress` by a crash: undone before the next apply.
    pub interrupted: Vec<String>,
    /// Newest first.
    pub applied: Vec<AppliedStep>,
}

/// A RELAY entry of the access file that is not localhost.
#[derive(Debug, Clone, PartialEq)]
pub struct RelayChoice {
    pub key: String,
    pub line: usize,
    pub text: String,
}

/// What the worker found: every step checked in order, the journal, and what the choices act on.
#[derive(Debug, Clone)]
pub struct Snapshot {
    pub reports: Vec<StepReport>,
    pub journal: JournalView,
    pub relay: Vec<RelayChoice>,
    /// Risky FEATUREs active in sendmail.mc: (feature, line).
    pub features: Vec<(String, usize)>,
    /// relay-domains entries that are not hosted here.
    pub extra_domains: Vec<String>,
    /// The server name to give users (fully qualified if /etc/hosts allows).
    pub server_name: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Screen {
    Welcome,
    Step(usize),
    Rollback,
    Summary,
    /// Test a server: EHLO, AUTH advertised, relay refused (HOWTO steps 9 and 13).
    Probe,
    /// The relay report, live: "watch for Relaying denied" (HOWTO step 13).
    Watch,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Focus {
    Steps,
    Choices,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Confirm {
    Apply {
        step: usize,
    },
    /// `None`: every applied step.
    Rollback {
        step: Option<String>,
        changed: Vec<String>,
    },
    StartOver {
        changed: Vec<String>,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub enum Popup {
    Confirm(Confirm),
    Help,
    /// q while a step is being written: quit when it is done?
    QuitWhileBusy,
}

#[derive(Debug, Clone, PartialEq)]
pub enum BusyKind {
    Checking,
    Applying(String),
    RollingBack,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Busy {
    pub kind: BusyKind,
    /// What is running right now (`writing /etc/mail/sendmail.cf`, `m4 ...`).
    pub what: String,
}

impl Busy {
    /// Files are being written: the process must not exit now.
    pub fn writing(&self) -> bool {
        !matches!(self.kind, BusyKind::Checking)
    }
}

/// The outcome of the last apply of a step (or of a rollback), for the screen to show.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    pub ok: bool,
    /// What happened, in order (files written, tools run, or the error with the tool's stderr).
    pub lines: Vec<String>,
}

impl Outcome {
    /// What the worker answered: its lines, or the error's lines with the root taken off.
    fn of(info: &Info, result: Result<Vec<String>, String>) -> Outcome {
        match result {
            Ok(lines) => Outcome { ok: true, lines },
            Err(e) => Outcome {
                ok: false,
                lines: e.lines().map(|l| info.served(l)).collect(),
            },
        }
    }
}

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
        && a.discard_cf_edits == b.discard_cf_edits
        && a.replace_mta == b.replace_mta
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
                },
                Cmd::Probe {
                    id: i2,
                    target: t2,
                    timeout: d2,
                },
            ) => i1 == i2 && t1 == t2 && d1 == d2,
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

/// The radio items of the Welcome screen when the journal holds an unfinished run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResumeChoice {
    Resume,
    Rollback,
    StartOver,
}

pub const RESUME_CHOICES: [ResumeChoice; 3] = [
    ResumeChoice::Resume,
    ResumeChoice::Rollback,
    ResumeChoice::StartOver,
];

/// The two mechanism sets offered on the sendmail-mc screen.
pub const MECHS_DEFAULT: &[&str] = &["LOGIN", "PLAIN"];
pub const MECHS_HOWTO: &[&str] = &["DIGEST-MD5", "CRAM-MD5", "LOGIN", "PLAIN"];

/// One line of a screen's choice list.
#[derive(Debug, Clone, PartialEq)]
pub struct Choice {
    pub label: String,
    pub selected: bool,
    /// Radio (one of) rather than checkbox.
    pub radio: bool,
}

/// The Probe screen: what to test, and the last result.
#[derive(Debug, Clone, Default)]
pub struct ProbeState {
    pub target: String,
    /// The target being typed (`e`), until Enter keeps it or Esc drops it.
    pub edit: Option<String>,
    /// The id of the probe in flight.
    pub running: Option<u64>,
    /// Ticks (a quarter second each) since it started.
    pub ticks: u32,
    /// The last probe's report, or why it could not run.
    pub last: Option<Result<ProbeReport, String>>,
    /// Probes started so far (ids).
    pub started: u64,
}

impl ProbeState {
    pub fn elapsed(&self) -> Duration {
        Duration::from_millis(250 * u64::from(self.ticks))
    }
}

/// The Watch screen: the live relay report.
#[derive(Debug, Clone, Default)]
pub struct WatchState {
    /// The id of the watch that is running.
    pub running: Option<u64>,
    pub report: Option<Report>,
    /// Snapshots received from the running watch.
    pub updates: u64,
    /// Why the last watch stopped, if it failed.
    pub error: Option<String>,
    /// Watches started so far (ids).
    pub started: u64,
}

pub struct Model {
    pub info: Info,
    /// `None` until the first check is back.
    pub snap: Option<Snapshot>,
    pub screen: Screen,
    /// Where `r` returns to from the rollback screen.
    pub back: Screen,
    pub focus: Focus,
    pub popup: Option<Popup>,
    pub busy: Option<Busy>,
    /// Quit as soon as the write in progress is done.
    pub quit_when_idle: bool,
    /// Set when the wizard is to end: the process exit code.
    pub exit: Option<u8>,
    /// Scroll offset of the main panel, in lines.
    pub scroll: u16,
    /// Cursor in the current screen's choice list.
    pub cursor: usize,
    pub opts: Options,
    /// Last apply result per step id.
    pub results: BTreeMap<String, Outcome>,
    pub rollback_result: Option<Outcome>,
    /// A one-line message until the next key.
    pub flash: Option<String>,
    /// Terminal size (columns, rows).
    pub size: (u16, u16),
    /// Bumped by every change, so the loop redraws only when something changed.
    pub rev: u64,
    /// Screen to show when the next check is back (after start over).
    after_check: Option<AfterCheck>,
    /// The exit code to use once a pending quit can happen.
    exit_code_pending: u8,
    pub probe: ProbeState,
    pub watch: WatchState,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum AfterCheck {
    /// The first step that is not done.
    FirstTodo,
    /// Welcome's resume choice, if there is one (the first check).
    Welcome,
}

impl Model {
    pub fn new(info: Info, opts: Options, size: (u16, u16)) -> Model {
        let target = info.probe_target.clone();
        Model {
            info,
            snap: None,
            screen: Screen::Welcome,
            back: Screen::Welcome,
            focus: Focus::Steps,
            popup: None,
            busy: Some(Busy {
                kind: BusyKind::Checking,
                what: "checking the system".into(),
            }),
            quit_when_idle: false,
            exit: None,
            scroll: 0,
            cursor: 0,
            opts,
            results: BTreeMap::new(),
            rollback_result: None,
            flash: None,
            size,
            rev: 0,
            after_check: Some(AfterCheck::Welcome),
            exit_code_pending: 0,
            probe: ProbeState {
                target,
                ..Default::default()
            },
            watch: WatchState::default(),
        }
    }

    /// The command that starts the wizard: check every step.
    pub fn init(&self) -> Cmd {
        Cmd::Check(self.opts.clone())
    }

    pub fn reports(&self) -> &[StepReport] {
        self.snap
            .as_ref()
            .map(|s| s.reports.as_slice())
            .unwrap_or(&[])
    }

    pub fn status(&self, i: usize) -> Option<Status> {
        self.reports().get(i).map(|r| r.status)
    }

    fn settled(s: Status) -> bool {
        matches!(s, Status::Done | Status::Skipped)
    }

    /// The first step at or after `from` that still needs something.
    pub fn next_todo(&self, from: usize) -> Option<usize> {
        (from..self.reports().len()).find(|&i| !Self::settled(self.reports()[i].status))
    }

    /// Why step `i` cannot be applied now; `None` when it can.
    pub fn apply_blocker(&self, i: usize) -> Option<String> {
        let r = self.reports().get(i)?;
        match r.status {
            Status::Pending => {}
            Status::Done => return Some("this step is done: nothing to change".into()),
            Status::Skipped => return Some("this step is skipped here".into()),
            Status::Blocked | Status::Error => {
                let why = r
                    .findings
                    .iter()
                    .find(|f| f.severity != Severity::Info)
                    .map(|f| self.info.served(&f.message))
                    .unwrap_or_default();
                return Some(format!("{} is {}: {why}", r.id, r.status.as_str()));
            }
        }
        if let Some(j) = (0..i).find(|&j| !Self::settled(self.reports()[j].status)) {
            return Some(format!(
                "steps are applied in the HOWTO's order: {} comes first",
                self.reports()[j].id
            ));
        }
        if let Err(e) = &self.info.may_write {
            return Some(e.clone());
        }
        None
    }

    /// The journal holds changes and some step is not done yet: where to resume.
    pub fn resume_at(&self) -> Option<usize> {
        let s = self.snap.as_ref()?;
        let j = &s.journal;
        if j.applied.is_empty() && j.interrupted.is_empty() && !j.open_run {
            return None;
        }
        self.next_todo(0)
    }

    pub fn step_index(&self, id: &str) -> Option<usize> {
        self.info.steps.iter().position(|(s, _, _)| s == id)
    }

    /// Sidebar entries: Welcome, every step, Summary, then the two tools for afterwards:
    /// Probe and Watch.
    pub fn sidebar_len(&self) -> usize {
        self.info.steps.len() + 4
    }

    pub fn sidebar_index(&self) -> usize {
        let n = self.info.steps.len();
        match self.screen {
            Screen::Welcome | Screen::Rollback => 0,
            Screen::Step(i) => i + 1,
            Screen::Summary => n + 1,
            Screen::Probe => n + 2,
            Screen::Watch => n + 3,
        }
    }

    pub fn screen_at(&self, idx: usize) -> Screen {
        let n = self.info.steps.len();
        match idx {
            0 => Screen::Welcome,
            i if i <= n => Screen::Step(i - 1),
            i if i == n + 1 => Screen::Summary,
            i if i == n + 2 => Screen::Probe,
            _ => Screen::Watch,
        }
    }

    /// The target is being typed: keys are letters, not commands.
    pub fn editing(&self) -> bool {
        self.popup.is_none() && self.screen == Screen::Probe && self.probe.edit.is_some()
    }

    pub fn current_step_id(&self) -> Option<&str> {
        match self.screen {
            Screen::Step(i) => self.info.steps.get(i).map(|s| s.0.as_str()),
            _ => None,
        }
    }

    pub fn mechanisms(&self) -> Vec<String> {
        self.opts
            .mechanisms
            .clone()
            .unwrap_or_else(|| self.info.default_mechanisms.clone())
    }

    /// The choice list of the current screen (empty: none).
    pub fn choices(&self) -> Vec<Choice> {
        let Some(s) = &self.snap else { return vec![] };
        match (self.screen, self.current_step_id()) {
            (Screen::Welcome, _) if self.resume_at().is_some() => {
                let at = self.resume_at().unwrap();
                RESUME_CHOICES
                    .iter()
                    .enumerate()
                    .map(|(i, c)| Choice {
                        label: match c {
                            ResumeChoice::Resume => {
                                format!("Resume at step {} ({})", at + 1, self.info.steps[at].0)
                            }
                            ResumeChoice::Rollback => {
                                "Roll back (choose what on the rollback screen)".into()
                            }
                            ResumeChoice::StartOver => {
                                "Start over (roll back everything, begin at step 1)".into()
                            }
                        },
                        selected: i == self.cursor,
                        radio: true,
                    })
                    .collect()
            }
            (Screen::Step(_), Some("sendmail-mc")) => {
                let cur = self.mechanisms();
                [MECHS_DEFAULT, MECHS_HOWTO]
                    .iter()
                    .enumerate()
                    .map(|(i, set)| Choice {
                        label: format!(
                            "{}{}",
                            set.join(" "),
                            if i == 0 {
                                " (recommended)"
                            } else {
                                " (the HOWTO's)"
                            }
                        ),
                        selected: cur.iter().map(String::as_str).eq(set.iter().copied()),
                        radio: true,
                    })
                    .collect()
            }
            (Screen::Step(_), Some("relay-access")) if !self.step_settled() => s
                .relay
                .iter()
                .map(|r| Choice {
                    label: format!("disable line {}: {}", r.line, r.text.replace('\t', " ")),
                    selected: !self.kept_relay(&r.key),
                    radio: false,
                })
                .collect(),
            (Screen::Step(_), Some("relay-features")) if !self.step_settled() => s
                .features
                .iter()
                .map(|(f, line)| Choice {
                    label: format!("disable FEATURE({f}) (line {line})"),
                    selected: !self.opts.keep_features.contains(f),
                    radio: false,
                })
                .collect(),
            (Screen::Step(_), Some("relay-domains")) if !s.extra_domains.is_empty() => {
                vec![Choice {
                    label: format!(
                        "remove {} (domains this server does not host)",
                        s.extra_domains.join(", ")
                    ),
                    selected: self.opts.prune_relay_domains,
                    radio: false,
                }]
            }
            (Screen::Rollback, _) if !s.journal.applied.is_empty() => {
                let mut v = vec![Choice {
                    label: "every applied step, newest first".into(),
                    selected: self.cursor == 0,
                    radio: true,
                }];
                for (i, a) in s.journal.applied.iter().enumerate() {
                    v.push(Choice {
                        label: format!("step {}", a.id),
                        selected: self.cursor == i + 1,
                        radio: true,
                    });
                }
                v
            }
            // A choice only the user can make, named by the step's findings (sendmail-cf:
            // regenerate over hand edits?): one checkbox each, the flag's question.
            (Screen::Step(i), _) => self
                .decisions(i)
                .into_iter()
                .map(|d| Choice {
                    label: format!("{} ({})", self.info.served(&d.question), d.flag),
                    selected: self.opts.decision(d.key).unwrap_or(false),
                    radio: false,
                })
                .collect(),
            _ => vec![],
        }
    }

    /// The decisions the findings of step `i` ask for, each once.
    pub fn decisions(&self, i: usize) -> Vec<crate::engine::step::Decision> {
        let mut v: Vec<crate::engine::step::Decision> = vec![];
        for d in self
            .reports()
            .get(i)
            .into_iter()
            .flat_map(|r| &r.findings)
            .filter_map(|f| f.decision.clone())
        {
            if !v.iter().any(|x| x.key == d.key) {
                v.push(d);
            }
        }
        v
    }

    fn step_settled(&self) -> bool {
        match self.screen {
            Screen::Step(i) => self.status(i).is_some_and(Self::settled),
            _ => false,
        }
    }

    fn kept_relay(&self, key: &str) -> bool {
        self.opts
            .keep_relay
            .iter()
            .any(|k| k.eq_ignore_ascii_case(key))
    }

    pub fn has_choices(&self) -> bool {
        !self.choices().is_empty()
    }

    /// The rollback confirmation may offer `f` (force).
    pub fn confirm_can_force(&self) -> bool {
        matches!(
            &self.popup,
            Some(Popup::Confirm(Confirm::Rollback { changed, .. } | Confirm::StartOver { changed }))
                if !changed.is_empty()
        )
    }

    /// What Enter does here, for the footer; `None` when it does nothing.
    pub fn continue_label(&self) -> Option<&'static str> {
        // Probe and Watch need neither the check nor an idle worker.
        if !matches!(self.screen, Screen::Probe | Screen::Watch) {
            if self.busy.as_ref().is_some_and(Busy::writing) {
                return None;
            }
            self.snap.as_ref()?;
        }
        match self.screen {
            Screen::Welcome => match self.resume_at() {
                Some(_) => Some(match RESUME_CHOICES.get(self.cursor) {
                    Some(ResumeChoice::Resume) | None => "resume",
                    Some(ResumeChoice::Rollback) => "roll back",
                    Some(ResumeChoice::StartOver) => "start over",
                }),
                None => Some("start"),
            },
            Screen::Step(i) => match self.status(i)? {
                Status::Pending if self.apply_blocker(i).is_none() => Some("apply"),
                Status::Pending => Some("go to the step before"),
                Status::Done | Status::Skipped => Some("next"),
                Status::Blocked | Status::Error => None,
            },
            Screen::Rollback => {
                let s = self.snap.as_ref()?;
                (!s.journal.applied.is_empty()).then_some("roll back")
            }
            Screen::Summary => Some("watch for Relaying denied"),
            Screen::Probe => self.probe.running.is_none().then_some("probe"),
            Screen::Watch => Some(if self.watch.running.is_some() {
                "stop watching"
            } else {
                "watch"
            }),
        }
    }

    /// Changed-since-written files among the selected rollback targets.
    fn changed_files(&self, step: Option<&str>) -> Vec<String> {
        let Some(s) = &self.snap else { return vec![] };
        s.journal
            .applied
            .iter()
            .filter(|a| step.is_none_or(|id| a.id == id))
            .flat_map(|a| a.files.iter())
            .filter(|f| f.changed_since)
            .map(|f| f.path.clone())
            .collect()
    }

    fn go(&mut self, screen: Screen) {
        if screen != self.screen {
            if screen == Screen::Rollback {
                self.back = self.screen;
            }
            self.screen = screen;
            self.scroll = 0;
            self.cursor = match screen {
                Screen::Step(_) => self.selected_choice_index().unwrap_or(0),
                _ => 0,
            };
            self.focus = if screen == Screen::Rollback
                || (screen == Screen::Welcome && self.resume_at().is_some())
            {
                Focus::Choices
            } else {
                Focus::Steps
            };
            if !self.has_choices() {
                self.focus = Focus::Steps;
            }
        }
    }

    /// On a radio list, start the cursor on the selected item.
    fn selected_choice_index(&self) -> Option<usize> {
        let c = self.choices();
        c.iter().position(|c| c.radio && c.selected)
    }

    fn busy(&mut self, kind: BusyKind, what: impl Into<String>) {
        self.busy = Some(Busy {
            kind,
            what: what.into(),
        });
    }

    fn check(&mut self) -> Option<Cmd> {
        self.busy(BusyKind::Checking, "checking the system");
        Some(Cmd::Check(self.opts.clone()))
    }

    /// Quit now, or once the write in progress is done.
    fn quit(&mut self, code: u8) -> Option<Cmd> {
        if self.busy.as_ref().is_some_and(Busy::writing) {
            self.quit_when_idle = true;
            self.exit_code_pending = code;
            return None;
        }
        self.exit = Some(code);
        Some(Cmd::Quit)
    }
}

/// The one place the model changes. Pure: returns the command to run, never runs it. Every
/// change bumps `rev`; a key that does nothing here leaves it alone (no redraw).
pub fn update(m: &mut Model, msg: Msg) -> Option<Cmd> {
    step(m, msg)
}

fn bump(m: &mut Model) {
    m.rev = m.rev.wrapping_add(1);
}

fn step(m: &mut Model, msg: Msg) -> Option<Cmd> {
    match msg {
        Msg::Key(k) => {
            if k.kind != crossterm::event::KeyEventKind::Press {
                return None;
            }
            if m.editing() {
                if let KeyCode::Char(c) = k.code {
                    if !k
                        .modifiers
                        .intersects(KeyModifiers::CONTROL | KeyModifiers::ALT)
                    {
                        bump(m);
                        if let Some(e) = &mut m.probe.edit {
                            if e.chars().count() < 255 {
                                e.push(c);
                            }
                        }
                        return None;
                    }
                }
            }
            let action = keys::action_for(m, &k);
            let had_flash = m.flash.take().is_some();
            match action {
                Some(a) => {
                    bump(m);
                    on_action(m, a)
                }
                None => {
                    if had_flash {
                        bump(m);
                    }
                    None
                }
            }
        }
        Msg::Resize(w, h) => {
            m.size = (w, h);
            m.scroll = m.scroll.min(super::view::max_scroll(m));
            bump(m);
            None
        }
        Msg::Signal(sig) => {
            bump(m);
            // A signal does not ask: it quits as soon as no write is in progress.
            m.popup = None;
            m.quit(128 + sig.clamp(0, 127) as u8)
        }
        Msg::Progress(what) => {
            bump(m);
            if let Some(b) = &mut m.busy {
                b.what = what;
            }
            None
        }
        Msg::Checked(snap) => {
            bump(m);
            m.snap = Some(*snap);
            m.busy = None;
            match m.after_check.take() {
                Some(AfterCheck::Welcome) => {
                    m.screen = Screen::Step(0); // force `go` to reset
                    m.go(Screen::Welcome);
                }
                Some(AfterCheck::FirstTodo) => {
                    let to = m.next_todo(0).map(Screen::Step).unwrap_or(Screen::Summary);
                    m.go(to);
                }
                None => {
                    // The lists may have shrunk (an applied step has no choices left).
                    let n = m.choices().len();
                    if n == 0 {
                        m.focus = Focus::Steps;
                        m.cursor = 0;
                    } else if m.cursor >= n {
                        m.cursor = n - 1;
                    }
                }
            }
            m.scroll = m.scroll.min(super::view::max_scroll(m));
            if m.quit_when_idle {
                return m.quit(m.exit_code_pending);
            }
            None
        }
        Msg::Applied { step, result } => {
            bump(m);
            let outcome = Outcome::of(&m.info, result);
            m.flash = Some(if outcome.ok {
                format!("{step} applied; Enter continues")
            } else {
                format!("{step} failed: see the result below")
            });
            m.results.insert(step, outcome);
            // The write is over; the worker checks again next.
            m.busy(BusyKind::Checking, "checking the system again");
            if m.quit_when_idle {
                return m.quit(m.exit_code_pending);
            }
            None
        }
        Msg::RolledBack { result } => {
            bump(m);
            let outcome = Outcome::of(&m.info, result);
            m.flash = Some(if outcome.ok {
                "rolled back".to_string()
            } else {
                "rollback stopped: see the result".to_string()
            });
            if !outcome.ok && m.after_check.take().is_some() {
                // Start over stopped half-way: show what happened where rollbacks are shown.
                m.go(Screen::Rollback);
            }
            m.rollback_result = Some(outcome);
            m.results.clear();
            m.busy(BusyKind::Checking, "checking the system again");
            if m.quit_when_idle {
                return m.quit(m.exit_code_pending);
            }
            None
        }
        Msg::WorkerFailed(e) => {
            bump(m);
            m.busy = None;
            m.flash = Some(format!("internal error: {e}"));
            m.exit = Some(1);
            Some(Cmd::Quit)
        }
        Msg::Tick => {
            if m.probe.running.is_some() {
                m.probe.ticks = m.probe.ticks.saturating_add(1);
                bump(m);
            }
            None
        }
        Msg::Probed { id, result } => {
            if m.probe.running != Some(id) {
                return None;
            }
            bump(m);
            m.probe.running = None;
            let result = result.map(|r| *r);
            m.flash = Some(match &result {
                Ok(r) => format!("probe of {}: {}", r.target, r.result()),
                Err(e) => format!("probe: {e}"),
            });
            m.probe.last = Some(result);
            None
        }
        Msg::Watched { id, report } => {
            if m.watch.running != Some(id) {
                return None;
            }
            bump(m);
            m.watch.report = Some(*report);
            m.watch.updates += 1;
            None
        }
        Msg::WatchEnded { id, error } => {
            if m.watch.running != Some(id) {
                return None;
            }
            bump(m);
            m.watch.running = None;
            if let Some(e) = &error {
                m.flash = Some(format!("watch stopped: {e}"));
            }
            m.watch.error = error;
            None
        }
    }
}

/// Starts the probe of the current target.
fn start_probe(m: &mut Model) -> Option<Cmd> {
    if m.probe.running.is_some() {
        return None;
    }
    let target = m.probe.target.trim().to_string();
    if let Err(e) = crate::smtp::parse_target(&target) {
        m.flash = Some(format!("target {target:?}: {e}"));
        return None;
    }
    m.probe.started += 1;
    let id = m.probe.started;
    m.probe.running = Some(id);
    m.probe.ticks = 0;
    Some(Cmd::Probe {
        id,
        target,
        timeout: m.info.probe_timeout,
    })
}

/// Starts following the logs, or stops.
fn toggle_watch(m: &mut Model) -> Option<Cmd> {
    if let Some(id) = m.watch.running.take() {
        m.flash = Some("stopped watching".into());
        return Some(Cmd::StopWatch { id });
    }
    m.watch.started += 1;
    let id = m.watch.started;
    m.watch.running = Some(id);
    m.watch.report = None;
    m.watch.updates = 0;
    m.watch.error = None;
    Some(Cmd::Watch {
        id,
        logs: m.info.mail_logs.clone(),
        local_domains: m.info.local_domains.clone(),
        journal: crate::relay_report::Journal::for_root(std::path::Path::new(&m.info.root)),
    })
}

fn on_action(m: &mut Model, a: Action) -> Option<Cmd> {
    match a {
        Action::Quit => {
            if m.busy.as_ref().is_some_and(Busy::writing) {
                m.popup = Some(Popup::QuitWhileBusy);
                None
            } else {
                m.popup = None;
                m.quit(0)
            }
        }
        Action::Help => {
            m.popup = match m.popup {
                Some(Popup::Help) => None,
                _ => Some(Popup::Help),
            };
            m.scroll = 0;
            None
        }
        Action::Yes => match m.popup.take() {
            Some(Popup::QuitWhileBusy) => m.quit(0),
            Some(Popup::Confirm(c)) => confirmed(m, c, false),
            other => {
                m.popup = other;
                None
            }
        },
        Action::Force => match m.popup.take() {
            Some(Popup::Confirm(c)) => confirmed(m, c, true),
            other => {
                m.popup = other;
                None
            }
        },
        Action::No => {
            m.popup = None;
            None
        }
        Action::PageUp | Action::PageDown => {
            let page = m.size.1.saturating_sub(8).max(1);
            let max = super::view::max_scroll(m);
            m.scroll = if a == Action::PageUp {
                m.scroll.saturating_sub(page)
            } else {
                m.scroll.saturating_add(page).min(max)
            };
            None
        }
        Action::SwitchFocus => {
            m.focus = match m.focus {
                Focus::Steps => Focus::Choices,
                Focus::Choices => Focus::Steps,
            };
            if m.focus == Focus::Choices {
                let n = m.choices().len();
                m.cursor = m.cursor.min(n.saturating_sub(1));
            }
            None
        }
        Action::Up | Action::Down => {
            if m.focus == Focus::Choices {
                let n = m.choices().len();
                if n > 0 {
                    m.cursor = if a == Action::Up {
                        m.cursor.saturating_sub(1)
                    } else {
                        (m.cursor + 1).min(n - 1)
                    };
                }
            } else {
                let i = m.sidebar_index();
                let j = if a == Action::Up {
                    i.saturating_sub(1)
                } else {
                    (i + 1).min(m.sidebar_len() - 1)
                };
                let to = m.screen_at(j);
                m.go(to);
            }
            None
        }
        Action::Toggle => toggle(m),
        Action::RollbackScreen => {
            if m.screen == Screen::Rollback {
                let back = m.back;
                m.go(back);
            } else {
                m.rollback_result = None;
                m.go(Screen::Rollback);
            }
            None
        }
        Action::Continue => on_continue(m),
        Action::Edit => {
            if m.screen == Screen::Probe && m.probe.running.is_none() {
                m.probe.edit = Some(m.probe.target.clone());
            }
            None
        }
        Action::EditDone => {
            if let Some(t) = m.probe.edit.take() {
                let t = t.trim().to_string();
                match crate::smtp::parse_target(&t) {
                    Ok(_) => m.probe.target = t,
                    Err(e) => {
                        m.flash = Some(format!("target {t:?}: {e}"));
                        m.probe.edit = Some(t);
                    }
                }
            }
            None
        }
        Action::EditCancel => {
            m.probe.edit = None;
            None
        }
        Action::EditBackspace => {
            if let Some(e) = &mut m.probe.edit {
                e.pop();
            }
            None
        }
    }
}

fn toggle(m: &mut Model) -> Option<Cmd> {
    let Some(s) = &m.snap else { return None };
    let i = m.cursor;
    match (m.screen, m.current_step_id()) {
        (Screen::Step(_), Some("sendmail-mc")) => {
            let set = if i == 0 { MECHS_DEFAULT } else { MECHS_HOWTO };
            let want: Vec<String> = set.iter().map(|s| s.to_string()).collect();
            if m.mechanisms() == want {
                return None;
            }
            m.opts.mechanisms = if want == m.info.default_mechanisms {
                None
            } else {
                Some(want)
            };
            m.check()
        }
        (Screen::Step(_), Some("relay-access")) => {
            let key = s.relay.get(i)?.key.clone();
            if m.kept_relay(&key) {
                m.opts.keep_relay.retain(|k| !k.eq_ignore_ascii_case(&key));
            } else {
                m.opts.keep_relay.push(key);
            }
            m.check()
        }
        (Screen::Step(_), Some("relay-features")) => {
            let f = s.features.get(i)?.0.clone();
            if m.opts.keep_features.contains(&f) {
                m.opts.keep_features.retain(|k| k != &f);
            } else {
                m.opts.keep_features.push(f);
            }
            m.check()
        }
        (Screen::Step(_), Some("relay-domains")) => {
            m.opts.prune_relay_domains = !m.opts.prune_relay_domains;
            m.check()
        }
        (Screen::Step(si), _) => {
            let d = m.decisions(si).into_iter().nth(i)?;
            let now = m.opts.decision(d.key).unwrap_or(false);
            m.opts.set_decision(d.key, !now);
            m.check()
        }
        // Radio lists whose Enter acts: Space only moves the mark.
        _ => None,
    }
}

fn on_continue(m: &mut Model) -> Option<Cmd> {
    match m.screen {
        Screen::Probe => return start_probe(m),
        Screen::Watch => return toggle_watch(m),
        _ => {}
    }
    if m.busy.as_ref().is_some_and(Busy::writing) || m.snap.is_none() {
        return None;
    }
    match m.screen {
        Screen::Welcome => {
            match m.resume_at() {
                Some(at) => match RESUME_CHOICES.get(m.cursor).copied() {
                    Some(ResumeChoice::Resume) | None => m.go(Screen::Step(at)),
                    Some(ResumeChoice::Rollback) => {
                        m.rollback_result = None;
                        m.go(Screen::Rollback)
                    }
                    Some(ResumeChoice::StartOver) => {
                        let changed = m.changed_files(None);
                        m.popup = Some(Popup::Confirm(Confirm::StartOver { changed }));
                    }
                },
                None => {
                    let to = m.next_todo(0).map(Screen::Step).unwrap_or(Screen::Summary);
                    m.go(to);
                }
            }
            None
        }
        Screen::Step(i) => {
            match m.status(i) {
                Some(Status::Pending) => match m.apply_blocker(i) {
                    None => m.popup = Some(Popup::Confirm(Confirm::Apply { step: i })),
                    Some(why) => {
                        if let Some(j) = m.next_todo(0).filter(|&j| j < i) {
                            m.go(Screen::Step(j));
                        }
                        m.flash = Some(why);
                    }
                },
                Some(Status::Done | Status::Skipped) => {
                    let to = m
                        .next_todo(i + 1)
                        .map(Screen::Step)
                        .unwrap_or(Screen::Summary);
                    m.go(to);
                }
                Some(Status::Blocked | Status::Error) => {
                    m.flash = m.apply_blocker(i);
                }
                None => {}
            }
            None
        }
        Screen::Rollback => {
            let s = m.snap.as_ref()?;
            if s.journal.applied.is_empty() {
                return None;
            }
            let step = if m.cursor == 0 {
                None
            } else {
                s.journal.applied.get(m.cursor - 1).map(|a| a.id.clone())
            };
            let changed = m.changed_files(step.as_deref());
            m.popup = Some(Popup::Confirm(Confirm::Rollback { step, changed }));
            None
        }
        Screen::Summary => {
            m.go(Screen::Watch);
            if m.watch.running.is_none() {
                toggle_watch(m)
            } else {
                None
            }
        }
        Screen::Probe | Screen::Watch => None,
    }
}

fn confirmed(m: &mut Model, c: Confirm, force: bool) -> Option<Cmd> {
    if let Err(e) = &m.info.may_write {
        m.flash = Some(e.clone());
        return None;
    }
    match c {
        Confirm::Apply { step } => {
            let id = m.info.steps[step].0.clone();
            m.results.remove(&id);
            m.busy(BusyKind::Applying(id.clone()), format!("applying {id}"));
            Some(Cmd::Apply {
                step: id,
                opts: m.opts.clone(),
            })
        }
        Confirm::Rollback { step, .. } => {
            m.rollback_result = None;
            m.busy(
                BusyKind::RollingBack,
                match &step {
                    Some(id) => format!("rolling back {id}"),
                    None => "rolling back every step".into(),
                },
            );
            Some(Cmd::Rollback { step, force })
        }
        Confirm::StartOver { .. } => {
            m.rollback_result = None;
            m.after_check = Some(AfterCheck::FirstTodo);
            m.busy(BusyKind::RollingBack, "rolling back every step");
            Some(Cmd::Rollback { step: None, force })
        }
    }
}
