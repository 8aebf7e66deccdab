//! The terminal wizard without a terminal: `update` driven as a plain function (message in,
//! model and command out), and every screen drawn on ratatui's TestBackend at 80x24 and
//! compared with insta snapshots, on private copies of the fixture roots.
//!
//! After a deliberate change of a screen: `INSTA_UPDATE=always cargo test --test tui`, then
//! read the diff of tests/snapshots/ before committing it.

mod common;
use common::*;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::backend::TestBackend;
use ratatui::style::Color;
use ratatui::Terminal;
use smtpauth_wizard::engine::step::{Options, Status, StepReport};
use smtpauth_wizard::engine::Engine;
use smtpauth_wizard::tui::keys;
use smtpauth_wizard::tui::model::*;
use smtpauth_wizard::tui::{view, worker};
use std::path::Path;

// ---------------------------------------------------------------------------------------------
// Helpers

fn key(c: char) -> Msg {
    Msg::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE))
}
fn code(c: KeyCode) -> Msg {
    Msg::Key(KeyEvent::new(c, KeyModifiers::NONE))
}
fn ctrl(c: char) -> Msg {
    Msg::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::CONTROL))
}

/// A model on a synthetic check: every step with the given status, nothing on disk.
fn synthetic(statuses: &[(&str, Status)]) -> Model {
    let steps = smtpauth_wizard::steps::all();
    let reports: Vec<StepReport> = steps
        .iter()
        .map(|s| {
            let mut r = StepReport::new(s.as_ref());
            r.status = statuses
                .iter()
                .find(|(id, _)| *id == s.id())
                .map(|(_, st)| *st)
                .unwrap_or(Status::Done);
            r
        })
        .collect();
    let info = Info {
        root: "/srv/root".into(),
        root_arg: "--root /srv/root ".into(),
        profile: Some(("redhat-legacy".into(), "Red Hat Linux 7.x-9".into())),
        profile_reason: "detected".into(),
        euid: 0,
        may_write: Ok(()),
        password_check: "saslauthd".into(),
        default_mechanisms: vec!["LOGIN".into(), "PLAIN".into()],
        service: "sendmail".into(),
        journal_dir: "/var/lib/smtpauth-wizard".into(),
        steps: steps
            .iter()
            .map(|s| (s.id().into(), s.title().into(), s.howto().into()))
            .collect(),
        color: false,
        mail_logs: vec![],
        local_domains: vec![],
        probe_target: "localhost:25".into(),
        probe_timeout: std::time::Duration::from_secs(10),
    };
    let mut m = Model::new(info, Options::default(), (80, 24));
    let snap = Snapshot {
        reports,
        journal: JournalView::default(),
        relay: vec![RelayChoice {
            key: "192.168.0".into(),
            line: 10,
            text: "192.168.0\tRELAY".into(),
        }],
        features: vec![],
        extra_domains: vec![],
        server_name: "mailsrv.example.com".into(),
        closed_listeners: vec![],
    };
    assert_eq!(update(&mut m, Msg::Checked(Box::new(snap))), None);
    m
}

fn snap_mut(m: &mut Model) -> &mut Snapshot {
    m.snap.as_mut().unwrap()
}

fn idx(m: &Model, id: &str) -> usize {
    m.step_index(id).unwrap()
}

fn applied(id: &str) -> AppliedStep {
    AppliedStep {
        id: id.into(),
        run: "run".into(),
        started: "2026-01-01T00:00:00Z".into(),
        files: vec![AppliedFile {
            path: format!("/etc/{id}"),
            saved: Some(format!("/var/lib/smtpauth-wizard/saved/run/001-{id}")),
            changed_since: false,
            why: "test".into(),
        }],
        commands: vec![],
    }
}

/// A model on a real fixture: the engine checks it exactly as the worker would.
struct Live {
    _dir: tempfile::TempDir,
    root: std::path::PathBuf,
    engine: Engine,
    m: Model,
}

fn live(name: &str) -> Live {
    let dir = fixture(name);
    let root = dir.path().canonicalize().unwrap();
    let engine = smtpauth_wizard::steps::open(&root, None, Options::default()).unwrap();
    let mut info = worker::info(&engine);
    info.color = false;
    let mut m = Model::new(info, Options::default(), (80, 24));
    update(&mut m, Msg::Checked(Box::new(worker::snapshot(&engine))));
    Live {
        _dir: dir,
        root,
        engine,
        m,
    }
}

impl Live {
    /// Feeds a command to the engine the way the worker does, and the answers to the model.
    fn run(&mut self, cmd: Cmd) {
        match cmd {
            Cmd::Apply { step, opts } => {
                self.engine.cx.opts = opts;
                let result = self
                    .engine
                    .apply(std::slice::from_ref(&step), &mut |_| {})
                    .map(|s| s.files)
                    .map_err(|e| e.to_string());
                update(&mut self.m, Msg::Applied { step, result });
            }
            Cmd::Rollback { step, force } => {
                let result = self
                    .engine
                    .rollback(step.as_deref(), force, &mut |_| {})
                    .map_err(|e| e.to_string());
                update(&mut self.m, Msg::RolledBack { result });
            }
            Cmd::Check(opts) => self.engine.cx.opts = opts,
            Cmd::Quit => return,
            // Side work (probe, watch) is tested with its real threads below.
            Cmd::Probe { .. } | Cmd::Watch { .. } | Cmd::StopWatch { .. } => return,
        }
        let s = worker::snapshot(&self.engine);
        update(&mut self.m, Msg::Checked(Box::new(s)));
    }

    /// Sends messages; runs every command they produce.
    fn feed(&mut self, msgs: Vec<Msg>) {
        for msg in msgs {
            if let Some(cmd) = update(&mut self.m, msg) {
                self.run(cmd);
            }
        }
    }

    /// A fresh start of the wizard on the same root (quit and run again).
    fn restart(&mut self) {
        self.engine = smtpauth_wizard::steps::open(&self.root, None, Options::default()).unwrap();
        let mut info = worker::info(&self.engine);
        info.color = false;
        self.m = Model::new(info, Options::default(), (80, 24));
        update(
            &mut self.m,
            Msg::Checked(Box::new(worker::snapshot(&self.engine))),
        );
    }
}

/// The screen as text, with the temporary root, dates and run ids replaced by stable names.
fn render(m: &Model, root: Option<&Path>) -> String {
    let mut t = Terminal::new(TestBackend::new(80, 24)).unwrap();
    t.draw(|f| view::draw(m, f)).unwrap();
    scrub(&t.backend().to_string(), root)
}

fn scrub(s: &str, root: Option<&Path>) -> String {
    let mut s = s.to_string();
    if let Some(r) = root {
        s = s.replace(&r.display().to_string(), "[ROOT]");
    }
    // Dates (2026-11-26T15:01:02Z) and run ids (20261126T150102Z-1234), without a regex crate.
    let b: Vec<char> = s.chars().collect();
    let mut out = String::new();
    let mut i = 0;
    let digits = |from: usize, n: usize| {
        (from..from + n).all(|k| b.get(k).is_some_and(|c| c.is_ascii_digit()))
    };
    while i < b.len() {
        if digits(i, 4)
            && b.get(i + 4) == Some(&'-')
            && digits(i + 5, 2)
            && b.get(i + 7) == Some(&'-')
            && digits(i + 8, 2)
            && b.get(i + 10) == Some(&'T')
        {
            out.push_str("[DATE]");
            i += 20;
            continue;
        }
        if digits(i, 8)
            && b.get(i + 8) == Some(&'T')
            && digits(i + 9, 6)
            && b.get(i + 15) == Some(&'Z')
        {
            out.push_str("[RUN]");
            i += 16;
            while b.get(i).is_some_and(|c| *c == '-' || c.is_ascii_digit()) {
                i += 1;
            }
            continue;
        }
        out.push(b[i]);
        i += 1;
    }
    out
}

// ---------------------------------------------------------------------------------------------
// update, as plain functions

#[test]
fn a_key_that_does_nothing_changes_nothing_and_causes_no_redraw() {
    let mut m = synthetic(&[("backup", Status::Pending)]);
    let rev = m.rev;
    assert_eq!(update(&mut m, key('x')), None);
    assert_eq!(
        update(&mut m, key('y')),
        None,
        "y means nothing without a question"
    );
    assert_eq!(m.rev, rev);
    update(&mut m, key('j'));
    assert!(m.rev > rev, "a move is a change");
}

#[test]
fn enter_asks_before_applying_and_only_y_applies() {
    let mut m = synthetic(&[("backup", Status::Pending)]);
    assert_eq!(m.screen, Screen::Welcome);
    update(&mut m, code(KeyCode::Enter));
    assert_eq!(
        m.screen,
        Screen::Step(idx(&m, "backup")),
        "Enter goes to the first step to do"
    );
    assert_eq!(update(&mut m, code(KeyCode::Enter)), None);
    assert!(matches!(
        m.popup,
        Some(Popup::Confirm(Confirm::Apply { .. }))
    ));
    assert_eq!(update(&mut m, key('n')), None);
    assert_eq!(m.popup, None);
    update(&mut m, code(KeyCode::Enter));
    let cmd = update(&mut m, key('y'));
    assert_eq!(
        cmd,
        Some(Cmd::Apply {
            step: "backup".into(),
            opts: Options::default()
        })
    );
    assert!(m.busy.as_ref().unwrap().writing());
    assert_eq!(m.continue_label(), None, "no Enter while a step is written");
}

#[test]
fn steps_are_applied_in_the_howtos_order() {
    let mut m = synthetic(&[("backup", Status::Pending), ("sasl", Status::Pending)]);
    let sasl = idx(&m, "sasl");
    while m.screen != Screen::Step(sasl) {
        update(&mut m, key('j'));
    }
    assert!(m
        .apply_blocker(sasl)
        .unwrap()
        .contains("backup comes first"));
    assert_eq!(update(&mut m, code(KeyCode::Enter)), None);
    assert_eq!(m.popup, None, "no apply out of order");
    assert_eq!(
        m.screen,
        Screen::Step(idx(&m, "backup")),
        "Enter leads to the step before"
    );
    assert!(m.flash.as_deref().unwrap().contains("backup comes first"));
}

#[test]
fn a_step_in_error_cannot_be_applied_and_says_why() {
    let mut m = synthetic(&[("sendmail-mc", Status::Error)]);
    let i = idx(&m, "sendmail-mc");
    snap_mut(&mut m).reports[i].error(None, "line 3: unclosed quote", None);
    update(&mut m, code(KeyCode::Enter));
    assert_eq!(m.screen, Screen::Step(i));
    assert_eq!(m.continue_label(), None);
    assert_eq!(keys::action_for(&m, &KeyEvent::from(KeyCode::Enter)), None);
}

#[test]
fn quit_while_writing_asks_and_waits_for_the_step_to_finish() {
    let mut m = synthetic(&[("backup", Status::Pending)]);
    update(&mut m, code(KeyCode::Enter));
    update(&mut m, code(KeyCode::Enter));
    update(&mut m, key('y'));
    assert_eq!(update(&mut m, key('q')), None);
    assert_eq!(m.popup, Some(Popup::QuitWhileBusy));
    assert_eq!(update(&mut m, key('n')), None);
    assert_eq!(m.popup, None);
    assert_eq!(update(&mut m, ctrl('c')), None, "Ctrl-C is like q");
    assert_eq!(m.popup, Some(Popup::QuitWhileBusy));
    assert_eq!(
        update(&mut m, key('y')),
        None,
        "not in the middle of a write"
    );
    assert!(m.quit_when_idle);
    assert_eq!(
        update(
            &mut m,
            Msg::Progress("writing /etc/mail/sendmail.mc.bak".into())
        ),
        None
    );
    let cmd = update(
        &mut m,
        Msg::Applied {
            step: "backup".into(),
            result: Ok(vec![]),
        },
    );
    assert_eq!(cmd, Some(Cmd::Quit), "quits at the step boundary");
    assert_eq!(m.exit, Some(0));
}

#[test]
fn sigterm_waits_for_the_write_then_quits_without_asking() {
    let mut m = synthetic(&[("backup", Status::Pending)]);
    update(&mut m, code(KeyCode::Enter));
    update(&mut m, code(KeyCode::Enter));
    update(&mut m, key('y'));
    assert_eq!(update(&mut m, Msg::Signal(15)), None);
    assert_eq!(m.exit, None);
    let cmd = update(
        &mut m,
        Msg::Applied {
            step: "backup".into(),
            result: Err("m4 failed".into()),
        },
    );
    assert_eq!(cmd, Some(Cmd::Quit));
    assert_eq!(m.exit, Some(143));
}

#[test]
fn q_esc_and_ctrl_c_quit_at_once_when_nothing_is_written() {
    for msg in [key('q'), code(KeyCode::Esc), ctrl('c'), Msg::Signal(15)] {
        let mut m = synthetic(&[]);
        assert_eq!(update(&mut m, msg), Some(Cmd::Quit));
    }
    // While only reading (a check), quitting is safe too.
    let mut m = synthetic(&[("relay-access", Status::Pending)]);
    m.screen = Screen::Step(idx(&m, "relay-access"));
    m.focus = Focus::Choices;
    assert!(matches!(update(&mut m, key(' ')), Some(Cmd::Check(_))));
    assert_eq!(update(&mut m, key('q')), Some(Cmd::Quit));
}

#[test]
fn esc_closes_the_help_and_a_question_before_it_means_quit() {
    let mut m = synthetic(&[("backup", Status::Pending)]);
    update(&mut m, key('?'));
    assert_eq!(m.popup, Some(Popup::Help));
    assert_eq!(update(&mut m, code(KeyCode::Esc)), None);
    assert_eq!(m.popup, None);
    update(&mut m, code(KeyCode::Enter));
    update(&mut m, code(KeyCode::Enter));
    assert_eq!(update(&mut m, code(KeyCode::Esc)), None);
    assert_eq!(m.popup, None);
}

#[test]
fn the_footer_shows_exactly_the_keys_that_act() {
    let mut m = synthetic(&[
        ("backup", Status::Pending),
        ("relay-access", Status::Pending),
    ]);
    update(&mut m, code(KeyCode::Enter));
    update(&mut m, code(KeyCode::Enter));
    // In the confirmation: y and n act, Enter and j do not, and the footer says so.
    let f: Vec<&str> = keys::footer(&m).iter().map(|(k, _, _)| *k).collect();
    assert!(
        f.contains(&"y") && f.contains(&"n/Esc") && !f.contains(&"Enter"),
        "{f:?}"
    );
    assert!(keys::action_for(&m, &KeyEvent::from(KeyCode::Enter)).is_none());
    assert!(keys::action_for(&m, &KeyEvent::from(KeyCode::Char('j'))).is_none());
    // Every live binding's keys trigger its action, and nothing else triggers anything.
    update(&mut m, key('n'));
    let live: Vec<_> = keys::live(&m);
    for b in &live {
        for k in b.keys {
            let ev = match *k {
                keys::Key::Code(c) => KeyEvent::from(c),
                keys::Key::Char(c) => KeyEvent::from(KeyCode::Char(c)),
                keys::Key::Ctrl(c) => KeyEvent::new(KeyCode::Char(c), KeyModifiers::CONTROL),
            };
            assert!(
                keys::action_for(&m, &ev).is_some(),
                "{} does nothing",
                b.shown
            );
        }
    }
    assert!(!keys::footer(&m).iter().any(|(k, _, _)| *k == "y"));
}

#[test]
fn choices_change_the_options_and_check_again() {
    let mut m = synthetic(&[("sendmail-mc", Status::Pending)]);
    m.screen = Screen::Step(idx(&m, "sendmail-mc"));
    assert_eq!(m.choices().len(), 2);
    assert!(m.choices()[0].selected, "LOGIN PLAIN is the default");
    update(&mut m, code(KeyCode::Tab));
    assert_eq!(m.focus, Focus::Choices);
    update(&mut m, key('j'));
    let cmd = update(&mut m, key(' '));
    let Some(Cmd::Check(o)) = cmd else {
        panic!("{cmd:?}")
    };
    assert_eq!(
        o.mechanisms.unwrap(),
        ["DIGEST-MD5", "CRAM-MD5", "LOGIN", "PLAIN"]
    );
    assert!(m.choices()[1].selected);
    update(&mut m, key('k'));
    let Some(Cmd::Check(o)) = update(&mut m, key(' ')) else {
        panic!()
    };
    assert_eq!(o.mechanisms, None, "back to the profile's default");

    let mut m = synthetic(&[("relay-access", Status::Pending)]);
    m.screen = Screen::Step(idx(&m, "relay-access"));
    assert!(
        m.choices()[0].selected,
        "every RELAY beyond localhost is disabled by default"
    );
    update(&mut m, code(KeyCode::Tab));
    let Some(Cmd::Check(o)) = update(&mut m, key(' ')) else {
        panic!()
    };
    assert_eq!(o.keep_relay, ["192.168.0"]);
    assert!(!m.choices()[0].selected);
}

#[test]
fn an_unfinished_run_offers_resume_at_the_right_step() {
    let mut m = synthetic(&[("sasl", Status::Pending), ("relay-access", Status::Pending)]);
    assert_eq!(m.resume_at(), None, "nothing applied: no resume");
    snap_mut(&mut m).journal.applied = vec![applied("pam"), applied("backup")];
    assert_eq!(m.resume_at(), Some(idx(&m, "sasl")));
    assert!(m.choices()[0].label.contains("Resume at step 8 (sasl)"));
    // Resume
    m.focus = Focus::Choices;
    update(&mut m, code(KeyCode::Enter));
    assert_eq!(m.screen, Screen::Step(idx(&m, "sasl")));
}

#[test]
fn start_over_rolls_everything_back_then_begins_at_the_first_step() {
    let mut m = synthetic(&[("sasl", Status::Pending)]);
    snap_mut(&mut m).journal.applied = vec![applied("backup")];
    // a fresh start on this journal lands on the choice
    let s = m.snap.clone().unwrap();
    let mut m = Model::new(m.info.clone(), Options::default(), (80, 24));
    update(&mut m, Msg::Checked(Box::new(s.clone())));
    assert_eq!(m.screen, Screen::Welcome);
    assert_eq!(m.focus, Focus::Choices);
    update(&mut m, key('j'));
    update(&mut m, key('j'));
    assert_eq!(m.continue_label(), Some("start over"));
    update(&mut m, code(KeyCode::Enter));
    assert!(matches!(
        m.popup,
        Some(Popup::Confirm(Confirm::StartOver { .. }))
    ));
    assert_eq!(
        update(&mut m, key('y')),
        Some(Cmd::Rollback {
            step: None,
            force: false
        })
    );
    update(
        &mut m,
        Msg::RolledBack {
            result: Ok(vec!["restored /etc/backup".into()]),
        },
    );
    let mut s2 = s;
    s2.journal.applied.clear();
    for r in &mut s2.reports {
        if r.id == "backup" {
            r.status = Status::Pending;
        }
    }
    update(&mut m, Msg::Checked(Box::new(s2)));
    assert_eq!(
        m.screen,
        Screen::Step(3),
        "begins again at the first step to do (backup)"
    );
}

#[test]
fn rollback_screen_offers_all_or_one_step_and_force_only_when_a_file_changed() {
    let mut m = synthetic(&[]);
    snap_mut(&mut m).journal.applied = vec![applied("sasl"), applied("backup")];
    update(&mut m, key('r'));
    assert_eq!(m.screen, Screen::Rollback);
    assert_eq!(m.choices().len(), 3);
    update(&mut m, code(KeyCode::Enter));
    assert!(matches!(
        &m.popup,
        Some(Popup::Confirm(Confirm::Rollback { step: None, .. }))
    ));
    assert!(!m.confirm_can_force());
    update(&mut m, key('n'));
    update(&mut m, key('j'));
    snap_mut(&mut m).journal.applied[0].files[0].changed_since = true;
    update(&mut m, code(KeyCode::Enter));
    assert!(m.confirm_can_force());
    assert_eq!(
        update(&mut m, key('f')),
        Some(Cmd::Rollback {
            step: Some("sasl".into()),
            force: true
        })
    );
    update(
        &mut m,
        Msg::RolledBack {
            result: Err("/etc/sasl changed since".into()),
        },
    );
    assert!(!m.rollback_result.as_ref().unwrap().ok);
    assert_eq!(m.screen, Screen::Rollback);
    m.busy = None;
    update(&mut m, key('r'));
    assert_eq!(m.screen, Screen::Welcome, "r again goes back");
}

#[test]
fn resize_is_a_message_and_scrolling_stays_inside_the_screen() {
    let mut m = synthetic(&[]);
    update(&mut m, Msg::Resize(100, 40));
    assert_eq!(m.size, (100, 40));
    for _ in 0..50 {
        update(&mut m, code(KeyCode::PageDown));
    }
    assert!(m.scroll <= view::max_scroll(&m));
    update(&mut m, Msg::Resize(200, 60));
    assert_eq!(m.scroll, view::max_scroll(&m));
    for size in [(80, 24), (40, 12), (20, 8), (200, 60)] {
        let mut t = Terminal::new(TestBackend::new(size.0, size.1)).unwrap();
        update(&mut m, Msg::Resize(size.0, size.1));
        t.draw(|f| view::draw(&m, f)).unwrap();
    }
}

#[test]
fn the_loopback_line_is_pointed_out_in_the_mc_diff() {
    let d = "--- a/etc/mail/sendmail.mc\n+++ b/etc/mail/sendmail.mc\n@@ -1,2 +1,2 @@\n-DAEMON_OPTIONS(`Port=smtp,Addr=127.0.0.1, Name=MTA')dnl\n+dnl DAEMON_OPTIONS(`Port=smtp,Addr=127.0.0.1, Name=MTA')dnl\n";
    let t = view::Theme { color: false };
    // The engine's answer for this change: which line turns the loopback listener off.
    let closed = smtpauth_wizard::engine::query::closed_loopback_listeners(
        "sendmail-mc",
        "/etc/mail/sendmail.mc",
        "DAEMON_OPTIONS(`Port=smtp,Addr=127.0.0.1, Name=MTA')dnl\n",
        "dnl DAEMON_OPTIONS(`Port=smtp,Addr=127.0.0.1, Name=MTA')dnl\n",
    );
    assert_eq!(closed.len(), 1, "{closed:?}");
    let closed: Vec<_> = closed.iter().collect();
    let lines: Vec<String> = view::step::diff_lines(&t, d, 56, &closed)
        .iter()
        .map(|l| l.to_string())
        .collect();
    let at = lines
        .iter()
        .position(|l| l.starts_with("+dnl DAEMON"))
        .unwrap();
    assert!(
        lines[at + 1].contains("this is the line that tells Sendmail to"),
        "{lines:#?}"
    );
}

#[test]
fn no_color_leaves_no_colour_and_colour_marks_the_diff() {
    let mut lv = live("redhat9");
    lv.feed(vec![code(KeyCode::Enter)]); // backup, a diff
    for color in [false, true] {
        lv.m.info.color = color;
        let mut t = Terminal::new(TestBackend::new(80, 24)).unwrap();
        t.draw(|f| view::draw(&lv.m, f)).unwrap();
        let buf = t.backend().buffer();
        let coloured = buf
            .content
            .iter()
            .filter(|c| c.fg != Color::Reset || c.bg != Color::Reset)
            .count();
        if color {
            assert!(
                buf.content.iter().any(|c| c.fg == Color::Green),
                "added lines are green"
            );
        } else {
            assert_eq!(coloured, 0, "NO_COLOR: not one coloured cell");
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Every screen at 80x24 on a fixture root

#[test]
fn screens_of_a_first_run_on_red_hat_9() {
    need_tools!();
    let mut lv = live("redhat9");
    let r = lv.root.clone();
    insta::assert_snapshot!("welcome", render(&lv.m, Some(&r)));
    lv.feed(vec![code(KeyCode::Enter)]);
    insta::assert_snapshot!("step_backup", render(&lv.m, Some(&r)));
    lv.feed(vec![code(KeyCode::PageDown)]);
    insta::assert_snapshot!("step_backup_scrolled", render(&lv.m, Some(&r)));
    lv.feed(vec![code(KeyCode::Enter)]);
    insta::assert_snapshot!("confirm_apply_backup", render(&lv.m, Some(&r)));
    // The progress indicator, as the worker reports it.
    let cmd = update(&mut lv.m, key('y'));
    update(
        &mut lv.m,
        Msg::Progress("writing /etc/mail/sendmail.cf.bak".into()),
    );
    insta::assert_snapshot!("applying_backup", render(&lv.m, Some(&r)));
    lv.run(cmd.unwrap());
    insta::assert_snapshot!("step_backup_applied", render(&lv.m, Some(&r)));
    lv.feed(vec![code(KeyCode::Enter)]);
    insta::assert_snapshot!("step_sendmail_mc", render(&lv.m, Some(&r)));
    lv.feed(vec![code(KeyCode::PageDown)]);
    insta::assert_snapshot!("step_sendmail_mc_scrolled", render(&lv.m, Some(&r)));
    lv.feed(vec![key('?')]);
    insta::assert_snapshot!("help", render(&lv.m, Some(&r)));
    lv.feed(vec![key('?')]);
    for _ in 0..3 {
        lv.feed(vec![key('j')]);
    }
    assert_eq!(lv.m.current_step_id(), Some("sasl"));
    insta::assert_snapshot!("step_sasl", render(&lv.m, Some(&r)));
    // The tls step's two choices: STARTTLS (chosen) or --no-tls; Space on the second turns
    // the step to skipped with its warning, Space on the first back.
    lv.feed(vec![key('j')]);
    assert_eq!(lv.m.current_step_id(), Some("tls"));
    let labels: Vec<(String, bool)> =
        lv.m.choices()
            .into_iter()
            .map(|c| (c.label, c.selected))
            .collect();
    assert_eq!(labels.len(), 2, "{labels:?}");
    assert!(
        labels[0].0.contains("STARTTLS") && labels[0].1,
        "{labels:?}"
    );
    assert!(
        labels[1].0.contains("--no-tls") && !labels[1].1,
        "{labels:?}"
    );
    insta::assert_snapshot!("step_tls", render(&lv.m, Some(&r)));
    lv.feed(vec![code(KeyCode::Tab), key('j'), key(' ')]);
    assert!(!lv.m.opts.tls, "Space on the second choice is --no-tls");
    lv.feed(vec![key('k'), key(' '), code(KeyCode::Tab)]);
    assert!(
        lv.m.opts.tls,
        "Space on the first choice sets STARTTLS up again"
    );
    lv.feed(vec![key('j')]);
    assert_eq!(lv.m.current_step_id(), Some("submission"));
    insta::assert_snapshot!("step_submission", render(&lv.m, Some(&r)));
    lv.feed(vec![key('j'), code(KeyCode::Tab)]);
    assert_eq!(lv.m.current_step_id(), Some("relay-access"));
    insta::assert_snapshot!("step_relay_access_choices", render(&lv.m, Some(&r)));
    lv.feed(vec![key('j'), key('j'), key('j'), key('j'), key('j')]);
}

#[test]
fn screens_of_an_unfinished_run_rollback_and_summary() {
    need_tools!();
    let mut lv = live("redhat9");
    let r = lv.root.clone();
    lv.feed(vec![code(KeyCode::Enter), code(KeyCode::Enter), key('y')]);
    assert_eq!(lv.m.status(3), Some(Status::Done));
    lv.restart();
    insta::assert_snapshot!("welcome_resume", render(&lv.m, Some(&r)));
    // A file changed behind the wizard's back is flagged on the rollback screen.
    std::fs::write(r.join("etc/mail/sendmail.mc.bak"), "edited by hand\n").unwrap();
    lv.restart();
    lv.feed(vec![key('r')]);
    insta::assert_snapshot!("rollback", render(&lv.m, Some(&r)));
    lv.feed(vec![code(KeyCode::Enter)]);
    insta::assert_snapshot!("confirm_rollback_all", render(&lv.m, Some(&r)));
    lv.feed(vec![key('y')]);
    insta::assert_snapshot!("rollback_stopped", render(&lv.m, Some(&r)));
    lv.feed(vec![key('r')]);
    assert_eq!(
        lv.m.focus,
        Focus::Choices,
        "the resume choice has the focus"
    );
    lv.feed(vec![code(KeyCode::Tab)]);
    // Welcome, 15 steps, then the Summary (Probe and Watch come after it).
    lv.feed((0..16).map(|_| key('j')).collect());
    assert_eq!(lv.m.screen, Screen::Summary);
    insta::assert_snapshot!("summary", render(&lv.m, Some(&r)));
}

#[test]
fn a_failed_tool_shows_its_stderr_on_the_step() {
    let mut m = synthetic(&[("sendmail-cf", Status::Pending)]);
    let i = idx(&m, "sendmail-cf");
    m.screen = Screen::Step(i);
    update(
        &mut m,
        Msg::Applied {
            step: "sendmail-cf".into(),
            result: Err("step sendmail-cf failed: the new sendmail.cf failed validation, so it was not installed: `/usr/sbin/sendmail -C /etc/mail/.tmp -bv root` (exit status 70): /etc/mail/.tmp: line 12: unknown configuration line \"Q\"\nUndone: restored /srv/root/etc/mail/sendmail.cf".into()),
        },
    );
    m.busy = None;
    let s = render(&m, None);
    assert!(s.contains("Apply failed"), "{s}");
    assert!(s.contains("line 12: unknown"), "{s}");
    assert!(
        s.contains("restored /etc/mail/sendmail.cf"),
        "root stripped: {s}"
    );
    insta::assert_snapshot!("step_failed", s);
    // and the quit question while a step is written
    update(&mut m, code(KeyCode::Enter));
    update(&mut m, code(KeyCode::Enter));
    update(&mut m, key('y'));
    update(
        &mut m,
        Msg::Progress("running m4 /etc/mail/sendmail.mc".into()),
    );
    update(&mut m, key('q'));
    insta::assert_snapshot!("quit_while_busy", render(&m, None));
}

// ---------------------------------------------------------------------------------------------
// The Probe and Watch screens, with their real threads (`side`)

use smtpauth_wizard::tui::side::Side;
use std::io::Write as _;
use std::net::{SocketAddr, TcpListener};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// A hostile server on 127.0.0.1: every connection goes to `handler` on a thread of its own.
fn hostile(handler: fn(std::net::TcpStream)) -> SocketAddr {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    std::thread::spawn(move || {
        for s in l.incoming().flatten() {
            std::thread::spawn(move || handler(s));
        }
    });
    addr
}

/// Moves the model to `screen` with the arrow keys, as a person would.
fn go_to(m: &mut Model, screen: Screen) {
    for _ in 0..40 {
        if m.screen == screen {
            return;
        }
        update(m, code(KeyCode::Down));
    }
    panic!("{screen:?} is not in the step list");
}

/// Types `target` into the Probe screen's target field and keeps it.
fn type_target(m: &mut Model, target: &str) {
    update(m, key('e'));
    assert!(m.editing());
    for _ in 0..40 {
        update(m, code(KeyCode::Backspace));
    }
    // Letters that are commands elsewhere (q quits, j moves, r rollback) are text here.
    for c in "qjr?".chars() {
        assert_eq!(update(m, key(c)), None);
    }
    assert_eq!(m.probe.edit.as_deref(), Some("qjr?"));
    assert_eq!(m.exit, None);
    for _ in 0..4 {
        update(m, code(KeyCode::Backspace));
    }
    for c in target.chars() {
        update(m, key(c));
    }
    update(m, code(KeyCode::Enter));
    assert!(!m.editing());
    assert_eq!(m.probe.target, target);
}

/// A server that is silent, or whose greeting never ends, or that never reads: while it holds
/// the probe, the wizard answers every key (help opens and closes, the list moves, the elapsed
/// time advances with the ticks), and the probe ends within its timeout with a verdict on the
/// screen.
#[test]
fn the_probe_screen_stays_responsive_while_a_hostile_server_holds_the_probe() {
    let silent: fn(std::net::TcpStream) = |s| {
        std::thread::sleep(Duration::from_secs(6));
        drop(s);
    };
    let endless_greeting: fn(std::net::TcpStream) = |mut s| {
        for _ in 0..60 {
            if s.write_all(b"220-still greeting you\r\n").is_err() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    };
    let never_reads: fn(std::net::TcpStream) = |mut s| {
        let _ = s.write_all(b"220 mailsrv ESMTP\r\n");
        std::thread::sleep(Duration::from_secs(6));
        drop(s);
    };
    for (name, handler, expect) in [
        ("silent", silent, "timed out"),
        ("endless greeting", endless_greeting, "timed out"),
        ("never reads", never_reads, "timed out"),
    ] {
        let addr = hostile(handler);
        let mut m = synthetic(&[]);
        m.info.probe_timeout = Duration::from_secs(1);
        go_to(&mut m, Screen::Probe);
        type_target(&mut m, &addr.to_string());
        let (tx, rx) = mpsc::channel();
        let mut side = Side::new(tx);
        let started = Instant::now();
        let cmd = update(&mut m, code(KeyCode::Enter)).expect("Enter probes");
        assert!(matches!(cmd, Cmd::Probe { .. }), "{cmd:?}");
        assert!(side.run(cmd).is_none(), "the probe runs beside the worker");
        assert!(m.probe.running.is_some());
        // While it runs: keys act at once, and Enter does not start a second probe.
        assert_eq!(update(&mut m, code(KeyCode::Enter)), None);
        update(&mut m, key('?'));
        assert_eq!(m.popup, Some(Popup::Help), "{name}");
        update(&mut m, code(KeyCode::Esc));
        assert_eq!(m.popup, None, "{name}");
        let mut ticks = 0;
        let report = loop {
            match rx.recv_timeout(Duration::from_millis(250)) {
                Ok(msg @ Msg::Probed { .. }) => {
                    update(&mut m, msg);
                    break m.probe.last.clone().unwrap().unwrap();
                }
                Ok(other) => panic!("{name}: unexpected {other:?}"),
                Err(_) => {
                    let rev = m.rev;
                    update(&mut m, Msg::Tick);
                    assert!(m.rev > rev, "{name}: a tick while probing redraws");
                    ticks += 1;
                    // Drawing while the probe runs shows what it waits for.
                    let s = render(&m, None);
                    assert!(s.contains(&format!("probing {addr}")), "{name}:\n{s}");
                }
            }
            assert!(
                started.elapsed() < Duration::from_secs(8),
                "{name}: the probe did not end within its bounds"
            );
        };
        assert!(ticks >= 2, "{name}: only {ticks} ticks while probing");
        assert_eq!(report.exit_code(), 1, "{name}: {}", report.to_text());
        assert!(
            report.to_text().contains(expect),
            "{name}: {}",
            report.to_text()
        );
        assert_eq!(m.probe.running, None);
        // A tick after the probe changes nothing (no redraw without cause).
        let rev = m.rev;
        update(&mut m, Msg::Tick);
        assert_eq!(m.rev, rev);
        let mut t = Terminal::new(TestBackend::new(80, 24)).unwrap();
        t.draw(|f| view::draw(&m, f)).unwrap();
        let s = t.backend().to_string();
        assert!(
            s.contains("Last result") && s.contains("error"),
            "{name}:\n{s}"
        );
        assert!(
            m.flash.as_deref().unwrap().contains("could not finish"),
            "{name}"
        );
    }
}

/// A target that is not HOST[:PORT] is refused where it is typed, and never probed.
#[test]
fn a_malformed_probe_target_is_refused_where_it_is_typed() {
    let mut m = synthetic(&[]);
    go_to(&mut m, Screen::Probe);
    update(&mut m, key('e'));
    for c in "mail:notaport".chars() {
        update(&mut m, key(c));
    }
    update(&mut m, code(KeyCode::Enter));
    assert!(m.editing(), "still editing the bad target");
    assert!(
        m.flash.as_deref().unwrap().contains("port"),
        "{:?}",
        m.flash
    );
    update(&mut m, code(KeyCode::Esc));
    assert!(!m.editing());
    assert_eq!(m.probe.target, "localhost:25");
}

/// The Watch screen follows a log as it grows: each snapshot replaces the last, a stop ends the
/// thread, and a snapshot from a watch that was stopped is ignored.
#[test]
fn the_watch_screen_follows_the_mail_log_live_and_stops() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("maillog");
    let deny = |n: u32| {
        format!(
            "Nov 26 10:00:0{n} mailsrv sendmail[10{n}]: 2AQA000{n}00000{n}: ruleset=check_rcpt, arg1=<x@elsewhere.example>, relay=[203.0.113.{n}], reject=550 5.7.1 <x@elsewhere.example>... Relaying denied. Proper authentication required.\n"
        )
    };
    std::fs::write(&log, deny(1)).unwrap();
    let mut m = synthetic(&[]);
    m.info.mail_logs = vec![log.clone()];
    // From the Summary, Enter is "watch for Relaying denied": the Watch screen, started.
    go_to(&mut m, Screen::Summary);
    let cmd = update(&mut m, code(KeyCode::Enter)).expect("Enter watches");
    assert_eq!(m.screen, Screen::Watch);
    let (tx, rx) = mpsc::channel();
    let mut side = Side::new(tx);
    let id = match &cmd {
        Cmd::Watch { id, logs, .. } => {
            assert_eq!(logs, &vec![log.clone()]);
            *id
        }
        other => panic!("{other:?}"),
    };
    assert!(side.run(cmd).is_none());
    // Snapshots until one has `n` refusals (a poll may fall between two appended lines).
    let until = |m: &mut Model, n: u64| loop {
        match rx
            .recv_timeout(Duration::from_secs(10))
            .expect("a snapshot")
        {
            msg @ Msg::Watched { .. } => {
                update(m, msg);
                let r = m.watch.report.clone().unwrap();
                assert!(r.relay_denied <= n, "{}", r.to_text());
                if r.relay_denied == n {
                    return r;
                }
            }
            other => panic!("unexpected {other:?}"),
        }
    };
    until(&mut m, 1);
    assert_eq!(m.watch.updates, 1);
    let mut f = std::fs::OpenOptions::new().append(true).open(&log).unwrap();
    f.write_all(deny(2).as_bytes()).unwrap();
    f.write_all(deny(3).as_bytes()).unwrap();
    drop(f);
    let r = until(&mut m, 3);
    assert_eq!(r.clients.len(), 3);
    assert!(m.watch.updates >= 2);
    let s = render(&m, None);
    assert!(
        s.contains("following: ") && s.contains(" updates so far"),
        "{s}"
    );
    assert!(s.contains("relaying denied: 3"), "{s}");
    // Stop: the model forgets the watch at once; the thread ends at its next poll.
    let cmd = update(&mut m, code(KeyCode::Enter)).expect("Enter stops");
    assert_eq!(cmd, Cmd::StopWatch { id });
    assert!(side.run(cmd).is_none());
    match rx
        .recv_timeout(Duration::from_secs(5))
        .expect("the watch ends")
    {
        msg @ Msg::WatchEnded { .. } => {
            let rev = m.rev;
            update(&mut m, msg);
            assert_eq!(m.rev, rev, "an answer of a stopped watch is ignored");
        }
        other => panic!("unexpected {other:?}"),
    }
    let stale = Msg::Watched {
        id,
        report: Box::default(),
    };
    update(&mut m, stale);
    assert_eq!(m.watch.report.as_ref().unwrap().relay_denied, 3);
    assert!(render(&m, None).contains("stopped; Enter follows again"));
}

/// A log that cannot be read ends the watch with the file named on the screen.
#[test]
fn a_missing_mail_log_stops_the_watch_and_names_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("var/log/maillog");
    let mut m = synthetic(&[]);
    m.info.mail_logs = vec![log.clone()];
    go_to(&mut m, Screen::Watch);
    let (tx, rx) = mpsc::channel();
    let mut side = Side::new(tx);
    let cmd = update(&mut m, code(KeyCode::Enter)).unwrap();
    assert!(side.run(cmd).is_none());
    let msg = rx.recv_timeout(Duration::from_secs(10)).unwrap();
    assert!(
        matches!(msg, Msg::WatchEnded { error: Some(_), .. }),
        "{msg:?}"
    );
    update(&mut m, msg);
    assert_eq!(m.watch.running, None);
    let e = m.watch.error.clone().unwrap();
    assert!(e.contains(&log.display().to_string()), "{e}");
    let s = render(&m, None);
    assert!(s.contains("stopped:"), "{s}");
}

/// The Probe and Watch screens at 80x24, on fixed data: a probe report of a server that does
/// what the HOWTO wants, and the demo root's mail log read as of a fixed date.
#[test]
fn screens_of_probe_and_watch() {
    use smtpauth_wizard::relay_report::{ReportOptions, Scanner};
    use smtpauth_wizard::smtp::{Check, ProbeReport, Status as PStatus};
    let mut m = synthetic(&[]);
    go_to(&mut m, Screen::Probe);
    let check = |id: &str, detail: &str| Check {
        id: id.into(),
        status: PStatus::Pass,
        detail: detail.into(),
        hint: None,
    };
    let report = ProbeReport {
        target: "localhost:25".into(),
        source: Some("127.0.0.1:40000".into()),
        connected: true,
        greeting: Some("mailsrv.example.com ESMTP Sendmail 8.17.1.9".into()),
        auth_mechanisms: Some(vec!["LOGIN".into(), "PLAIN".into()]),
        checks: vec![
            check("connect", "connected to 127.0.0.1:25"),
            check(
                "greeting",
                "220 mailsrv.example.com ESMTP Sendmail 8.17.1.9",
            ),
            check("auth-advertised", "250-AUTH LOGIN PLAIN"),
        ],
        ..Default::default()
    };
    update(&mut m, code(KeyCode::Enter));
    update(
        &mut m,
        Msg::Probed {
            id: 1,
            result: Ok(Box::new(report)),
        },
    );
    insta::assert_snapshot!("probe", render(&m, None));

    let log = std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/demo-root/var/log/maillog"),
    )
    .unwrap();
    let opts = ReportOptions {
        now: std::time::UNIX_EPOCH + Duration::from_secs(1_795_694_400), // 2026-11-26T12:00Z
        utc_offset: Some(0),
        local_domains: vec!["example.com".into()],
        ..Default::default()
    };
    let mut sc = Scanner::new(&opts);
    sc.feed(&log);
    let r = sc.finish();
    m.info.mail_logs = vec!["/srv/root/var/log/maillog".into()];
    go_to(&mut m, Screen::Watch);
    let cmd = update(&mut m, code(KeyCode::Enter)).unwrap();
    let Cmd::Watch { id, .. } = cmd else {
        panic!("{cmd:?}")
    };
    update(
        &mut m,
        Msg::Watched {
            id,
            report: Box::new(r),
        },
    );
    insta::assert_snapshot!("watch", render(&m, None));
}

/// Issue 11 item 5: the Probe screen's TLS checkboxes are the CLI's --no-verify-cert and
/// --tls-required, and the probe it starts runs with them.
#[test]
fn the_probe_screens_tls_options_go_into_the_probe() {
    let mut m = synthetic(&[]);
    go_to(&mut m, Screen::Probe);
    let start = |m: &mut Model| update(m, code(KeyCode::Enter)).expect("Enter probes");
    match start(&mut m) {
        Cmd::Probe { tls, .. } => assert_eq!(tls, ProbeTls::default()),
        other => panic!("{other:?}"),
    }
    m.probe.running = None;
    // Tab to the choices, Space on the first, down, Space on the second, Tab back.
    update(&mut m, code(KeyCode::Tab));
    assert_eq!(m.focus, Focus::Choices);
    update(&mut m, key(' '));
    update(&mut m, key('j'));
    update(&mut m, key(' '));
    update(&mut m, code(KeyCode::Tab));
    assert!(m.probe.tls.no_verify_cert && m.probe.tls.tls_required);
    match start(&mut m) {
        Cmd::Probe { tls, .. } => assert_eq!(
            tls,
            ProbeTls {
                no_verify_cert: true,
                tls_required: true
            }
        ),
        other => panic!("{other:?}"),
    }
}
