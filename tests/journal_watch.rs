//! The TUI's Watch screen on a system without rsyslog: the profile's mail log is absent and
//! sendmail's lines are in the journal. Started from the model (Enter on the Watch screen),
//! followed by the real side thread (`journalctl --follow` on the tree's var/log/journal), and
//! drawn on ratatui's TestBackend: the screen must say that it reads the systemd journal and
//! why, with the tree's paths shown as the served system's, and count the journal's events.
//!
//! The journal is a real one, written by systemd-journal-remote; without it (and journalctl)
//! the test prints SKIPPED, and under SMTPAUTH_WIZARD_REQUIRE_TOOLS it fails instead.

mod common;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::backend::TestBackend;
use ratatui::Terminal;
use smtpauth_wizard::engine::step::Options;
use smtpauth_wizard::tui::model::*;
use smtpauth_wizard::tui::side::Side;
use smtpauth_wizard::tui::{view, worker};
use std::path::Path;
use std::time::{Duration, Instant};

fn code(c: KeyCode) -> Msg {
    Msg::Key(KeyEvent::new(c, KeyModifiers::NONE))
}

use common::journal::{entry, write_journal};

/// Two refusals from a stranger, one from a user who also logs in, a failed login and
/// saslauthd's entry for it, and a line of another program quoting a refusal (not read).
fn entries() -> String {
    let t0 = 1_795_701_600; // 2026-11-26T14:00:00Z
    let deny = |q: &str, relay: &str, rcpt: &str| {
        format!("{q}: ruleset=check_rcpt, arg1=<{rcpt}>, relay={relay}, reject=550 5.7.1 <{rcpt}>... Relaying denied. Proper authentication required.")
    };
    [
        entry(t0, "sm-mta", 2001, &deny("5AQE0001000001", "[203.0.113.7]", "a@elsewhere.example")),
        entry(t0 + 5, "sm-mta", 2002, &deny("5AQE0001000002", "[203.0.113.7]", "b@elsewhere.example")),
        entry(t0 + 9, "sm-mta", 2003, &deny("5AQE0001000003", "laptop.example.com [192.168.1.20]", "c@elsewhere.example")),
        entry(t0 + 12, "sm-mta", 2004, "AUTH=server, relay=laptop.example.com [192.168.1.20], authid=joe, mech=LOGIN, bits=0"),
        entry(t0 + 20, "sm-mta", 2005, "5AQE0001000005: AUTH failure (LOGIN): authentication failure (-13) SASL(-13): authentication failure: checkpass failed, user=admin, relay=[203.0.113.7]"),
        entry(t0 + 20, "saslauthd", 77, "do_auth         : auth failure: [user=admin] [service=smtp] [realm=] [mech=pam] [reason=PAM auth error]"),
        entry(t0 + 30, "logcheck", 9, &deny("5AQE0001000009", "[198.51.100.1]", "q@elsewhere.example")),
    ]
    .concat()
}

fn render(m: &Model, root: &Path) -> String {
    let mut t = Terminal::new(TestBackend::new(80, 40)).unwrap();
    t.draw(|f| view::draw(m, f)).unwrap();
    t.backend()
        .to_string()
        .replace(&root.display().to_string(), "[ROOT]")
}

/// For the snapshot: without the title line (it shows the temporary root), with the number
/// of updates (one per poll that read something) and the stamps' zone offset (journalctl
/// prints local time) left out.
fn scrub(screen: &str) -> String {
    let body = screen.split_once('\n').unwrap().1;
    let b: Vec<char> = body.chars().collect();
    let mut out = String::new();
    let mut i = 0;
    let digit = |k: usize| b.get(k).is_some_and(|c| c.is_ascii_digit());
    while i < b.len() {
        // 2026-11-26T14:00:00+00:00 -> 2026-11-26T14:00:00[ZONE]
        if b.get(i + 10) == Some(&'T')
            && (0..4).all(|k| digit(i + k))
            && b.get(i + 19).is_some_and(|c| *c == '+' || *c == '-')
            && b.get(i + 22) == Some(&':')
        {
            out.extend(&b[i..i + 19]);
            out.push_str("[ZONE]");
            i += 25;
            continue;
        }
        out.push(b[i]);
        i += 1;
    }
    match out.find("following: ") {
        Some(at) => {
            let from = at + "following: ".len();
            let to = from + out[from..].find(" update").unwrap();
            out.replace_range(from..to, "N");
            out.replacen("N update so far", "N updates so far", 1)
        }
        None => out,
    }
}

/// The Watch screen of the fixture `name` (its profile's log `log` absent, the journal
/// there), started with Enter and followed until the journal's six entries were read; the
/// screen is checked, then the watch stopped. Returns the screen (its root as `[ROOT]`).
fn watch_the_journal(name: &str, log: &str) -> Option<String> {
    let remote = match common::journal::remote() {
        Ok(r) => r,
        Err(why) => {
            common::skip(why);
            return None;
        }
    };
    // A tree without rsyslog: no mail log, the journal under var/log/journal/MACHINE-ID/.
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().canonicalize().unwrap();
    common::copy_tree(&common::fixture_dir(name), &root);
    assert!(!root.join(log).exists(), "{name}: {log}");
    write_journal(
        &remote,
        &root.join("var/log/journal/0123456789abcdef0123456789abcdef"),
        "system.journal",
        &entries(),
    );
    let engine = smtpauth_wizard::steps::open(&root, None, Options::default()).unwrap();
    let mut info = worker::info(&engine);
    info.color = false;
    assert_eq!(info.mail_logs, vec![root.join(log)], "{name}");
    let mut m = Model::new(info, Options::default(), (80, 40));
    update(&mut m, Msg::Checked(Box::new(worker::snapshot(&engine))));
    for _ in 0..40 {
        if m.screen == Screen::Watch {
            break;
        }
        update(&mut m, code(KeyCode::Down));
    }
    assert_eq!(m.screen, Screen::Watch);

    // Enter starts the watch: the real side thread follows the tree's journal.
    let cmd = update(&mut m, code(KeyCode::Enter)).expect("Enter watches");
    let id = match &cmd {
        Cmd::Watch { id, journal, .. } => {
            assert_eq!(journal.directory, Some(root.join("var/log/journal")));
            *id
        }
        other => panic!("{other:?}"),
    };
    let (tx, rx) = std::sync::mpsc::channel();
    let mut side = Side::new(tx);
    assert!(side.run(cmd).is_none());
    // A bound, not a timing assertion: the report comes after journalctl's first read.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left).expect("a report from the watch") {
            msg @ Msg::Watched { .. } => {
                update(&mut m, msg);
                if m.watch.report.as_ref().unwrap().lines_read == 6 {
                    break;
                }
            }
            Msg::WatchEnded { error, .. } => panic!("the watch ended: {error:?}"),
            other => panic!("{other:?}"),
        }
    }
    let r = m.watch.report.clone().unwrap();
    assert_eq!(
        (r.relay_denied, r.auth_ok, r.auth_failed, r.saslauthd_failed),
        (3, 1, 1, 1)
    );
    let screen = render(&m, &root);
    // What it reads and why, in the served system's paths: never the host's tree (the title
    // line names the root).
    let body = screen.split_once('\n').unwrap().1;
    assert!(!body.contains("[ROOT]"), "{screen}");
    // Said once, on the Logs line, not again in the report under it.
    assert_eq!(screen.matches("the systemd journal").count(), 1, "{screen}");
    assert!(
        screen.contains("Logs: the systemd journal (journalctl --directory"),
        "{screen}"
    );
    assert!(screen.contains("/var/log/journal -t sm-mta"), "{screen}");
    assert!(
        screen.contains(&format!("chosen because /{log} is")),
        "{screen}"
    );
    assert!(screen.contains("relaying denied: 3"), "{screen}");

    // Stopped by the model; the thread (and its journalctl) ends.
    assert_eq!(
        update(&mut m, code(KeyCode::Enter)),
        Some(Cmd::StopWatch { id })
    );
    assert!(side.run(Cmd::StopWatch { id }).is_none());
    loop {
        match rx
            .recv_timeout(Duration::from_secs(30))
            .expect("the watch ends")
        {
            Msg::WatchEnded { id: i, error } if i == id => {
                assert_eq!(error, None);
                break;
            }
            _ => continue,
        }
    }
    Some(screen)
}

/// Debian 12 and 13 without rsyslog: no /var/log/mail.log. The screen as a snapshot.
#[test]
fn the_watch_screen_reads_the_journal_when_the_mail_log_is_absent_and_says_so() {
    let Some(screen) = watch_the_journal("debian12", "var/log/mail.log") else {
        return;
    };
    insta::assert_snapshot!("watch_journal", scrub(&screen));
}

/// Red Hat's profiles name /var/log/maillog: absent there too (a RHEL 9 with rsyslog removed,
/// a Red Hat 9 tree), the journal is read and named the same way.
#[test]
fn the_watch_screen_reads_the_journal_when_red_hats_maillog_is_absent() {
    for name in ["rhel9", "redhat9"] {
        if watch_the_journal(name, "var/log/maillog").is_none() {
            return;
        }
    }
}
