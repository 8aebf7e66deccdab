//! The wizard as a state machine (the Elm shape): a [`Model`], the [`Msg`]s that change it, and
//! a pure [`update`] that returns the [`Cmd`] to run next. No I/O here: reading the system,
//! writing files and rolling back happen on the worker thread, which answers with a `Msg`.
//! Everything on screen is derived from the model, so a test can drive `update` with keys and
//! worker answers and look at the result without a terminal.

use crate::engine::step::{Options, Severity, Status, StepReport};
use crate::relay_report::Report;
use crate::smtp::ProbeReport;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

pub use super::choices::*;
pub use super::msg::*;
pub use super::update::update;

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

pub use crate::engine::query::{AppliedFile, AppliedStep, JournalView, RelayChoice};

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
    /// The loopback-only listeners the plan turns off (pointed out in the sendmail.mc diff).
    pub closed_listeners: Vec<crate::engine::query::ClosedListener>,
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
    pub(super) fn of(info: &Info, result: Result<Vec<String>, String>) -> Outcome {
        match result {
            Ok(lines) => Outcome { ok: true, lines },
            Err(e) => Outcome {
                ok: false,
                lines: e.lines().map(|l| info.served(l)).collect(),
            },
        }
    }
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
    /// The CLI's TLS options, as the screen's checkboxes (issue 11 item 5).
    pub tls: ProbeTls,
}

/// The probe's TLS options the Probe screen offers: `--no-verify-cert` and `--tls-required`
/// (their defaults are off, as on the command line).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ProbeTls {
    pub no_verify_cert: bool,
    pub tls_required: bool,
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
    pub(super) after_check: Option<AfterCheck>,
    /// The exit code to use once a pending quit can happen.
    pub(super) exit_code_pending: u8,
    pub probe: ProbeState,
    pub watch: WatchState,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum AfterCheck {
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

    pub(super) fn settled(s: Status) -> bool {
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

    pub(super) fn step_settled(&self) -> bool {
        match self.screen {
            Screen::Step(i) => self.status(i).is_some_and(Self::settled),
            _ => false,
        }
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
    pub(super) fn changed_files(&self, step: Option<&str>) -> Vec<String> {
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

    pub(super) fn go(&mut self, screen: Screen) {
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
    pub(super) fn selected_choice_index(&self) -> Option<usize> {
        let c = self.choices();
        c.iter().position(|c| c.radio && c.selected)
    }

    pub(super) fn busy(&mut self, kind: BusyKind, what: impl Into<String>) {
        self.busy = Some(Busy {
            kind,
            what: what.into(),
        });
    }

    pub(super) fn check(&mut self) -> Option<Cmd> {
        self.busy(BusyKind::Checking, "checking the system");
        Some(Cmd::Check(self.opts.clone()))
    }

    /// Quit now, or once the write in progress is done.
    pub(super) fn quit(&mut self, code: u8) -> Option<Cmd> {
        if self.busy.as_ref().is_some_and(Busy::writing) {
            self.quit_when_idle = true;
            self.exit_code_pending = code;
            return None;
        }
        self.exit = Some(code);
        Some(Cmd::Quit)
    }
}
