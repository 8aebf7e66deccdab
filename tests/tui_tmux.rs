//! The real binary in a real terminal: tmux at 80x24 on a private copy of a fixture root,
//! driven with the wizard's own keys, read back with capture-pane. Walks the file steps, quits
//! half-way, starts again and finds the resume choice, resumes, finishes, checks the files,
//! rolls back and finds every file as it was, and checks that the terminal is back in cooked
//! mode (`stty -a` in the same pane) after every exit, including SIGTERM and Ctrl-C.
//!
//! Skipped, with the reason printed, when tmux is not installed.

mod common;
use common::*;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

/// A tmux server of our own (unique socket); killed when dropped, even when the test fails.
struct Tmux {
    sock: String,
}

impl Tmux {
    fn start(tag: &str) -> Option<Tmux> {
        if Command::new("tmux").arg("-V").output().is_err() {
            common::skip("tmux is not installed (apt-get install tmux)");
            return None;
        }
        let t = Tmux {
            sock: format!("smtpauth-{tag}-{}", std::process::id()),
        };
        let ok = Command::new("tmux")
            .args([
                "-L",
                &t.sock,
                "-f",
                "/dev/null",
                "new-session",
                "-d",
                "-x",
                "80",
                "-y",
                "24",
            ])
            .args(["-s", "w", "env", "-i"])
            .arg(format!(
                "PATH={}",
                std::env::var("PATH").unwrap_or_default()
            ))
            .args([
                "TERM=xterm-256color",
                "NO_COLOR=1",
                "PS1=$ ",
                "bash",
                "--norc",
                "--noprofile",
            ])
            .status()
            .unwrap()
            .success();
        assert!(ok, "tmux new-session failed");
        Some(t)
    }

    fn tmux(&self, args: &[&str]) -> String {
        let o = Command::new("tmux")
            .args(["-L", &self.sock])
            .args(args)
            .output()
            .unwrap();
        String::from_utf8_lossy(&o.stdout).to_string()
    }

    /// Types a line into the shell.
    fn line(&self, text: &str) {
        self.tmux(&["send-keys", "-t", "w", "-l", text]);
        self.tmux(&["send-keys", "-t", "w", "Enter"]);
    }

    /// Presses keys (tmux names: Enter, Escape, PageDown, C-c, or a letter).
    fn keys(&self, keys: &[&str]) {
        for k in keys {
            self.tmux(&["send-keys", "-t", "w", k]);
            std::thread::sleep(Duration::from_millis(120));
        }
    }

    fn screen(&self) -> String {
        self.tmux(&["capture-pane", "-p", "-t", "w"])
    }

    /// Waits until the screen shows every one of `texts`; panics with the screen if not.
    fn wait_for(&self, texts: &[&str]) -> String {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let s = self.screen();
            if texts.iter().all(|t| s.contains(t)) {
                return s;
            }
            if Instant::now() > deadline {
                panic!("waited 30 s for {texts:?}; the screen shows:\n{s}");
            }
            std::thread::sleep(Duration::from_millis(150));
        }
    }

    /// The terminal is in cooked mode again: canonical input and echo on. `stty -a` runs in
    /// the same pane, after the wizard, and writes to a file (a long command line wraps).
    fn assert_cooked(&self) {
        let out = std::env::temp_dir().join(format!(
            "{}-stty-{}",
            self.sock,
            Instant::now().elapsed().as_nanos()
        ));
        let _ = std::fs::remove_file(&out);
        let tmp = out.with_extension("tmp");
        self.line(&format!(
            "stty -a > {} && mv {} {}",
            tmp.display(),
            tmp.display(),
            out.display()
        ));
        let deadline = Instant::now() + Duration::from_secs(10);
        while !out.exists() {
            assert!(
                Instant::now() < deadline,
                "stty did not run; the screen shows:\n{}",
                self.screen()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        let text = std::fs::read_to_string(&out).unwrap();
        let _ = std::fs::remove_file(&out);
        let words: Vec<&str> = text
            .split(|c: char| c.is_whitespace() || c == ';')
            .collect();
        assert!(
            words.contains(&"icanon") && words.contains(&"echo"),
            "terminal not in cooked mode after the wizard:\n{text}"
        );
        self.line("clear");
        std::thread::sleep(Duration::from_millis(200));
    }

    fn pane_pid(&self) -> u32 {
        self.tmux(&["display", "-p", "-t", "w", "#{pane_pid}"])
            .trim()
            .parse()
            .unwrap()
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = Command::new("tmux")
            .args(["-L", &self.sock, "kill-server"])
            .output();
    }
}

fn wizard_line(root: &Path) -> String {
    format!(
        "{} --root {}; echo EXIT=$?",
        bin().display(),
        root.display()
    )
}

/// The sendmail-mc step can be applied on this fixture (the mc editor is built).
/// sendmail-mc is pending on the fixture, so the walk goes through every step (the test once
/// stopped after backup when the mc editor was a stub; the editor exists, so this is asserted).
fn assert_mc_step_pending(root: &Path) {
    let o = run_root(root, &["check", "--format", "json"]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let mc = v["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == "sendmail-mc")
        .cloned();
    assert!(
        mc.as_ref().is_some_and(|s| s["status"] == "pending"),
        "sendmail-mc must be pending on the redhat9 fixture: {mc:#?}"
    );
}

fn apply_current(t: &Tmux, id: &str) {
    t.keys(&["Enter"]);
    t.wait_for(&[&format!("Apply {id}?"), "y yes"]);
    t.keys(&["y"]);
    t.wait_for(&[&format!("{id} applied")]);
}

#[test]
fn walk_quit_resume_finish_and_roll_back_in_a_real_terminal() {
    need_tools!();
    let Some(t) = Tmux::start("walk") else { return };
    let dir = fixture("redhat9");
    let root = dir.path().canonicalize().unwrap();
    let before = snapshot(&root);
    assert_mc_step_pending(&root);

    // First run: the welcome screen, then the first step with something to do.
    t.line(&wizard_line(&root));
    t.wait_for(&["Welcome", "HOWTO step 1", "Enter start"]);
    t.keys(&["Enter"]);
    t.wait_for(&["Step 4/15 · backup", "Enter apply"]);
    t.keys(&["PageDown", "PageDown", "PageUp"]);
    apply_current(&t, "backup");
    assert!(root.join("etc/mail/sendmail.mc.bak").is_file());
    t.keys(&["Enter"]);
    t.wait_for(&["Step 5/15 · sendmail-mc", "directed quotes"]);
    apply_current(&t, "sendmail-mc");
    let next = "sendmail-cf";
    let next_n = 6;

    // Quit half-way; the shell gets a cooked terminal back.
    t.keys(&["q"]);
    t.wait_for(&["EXIT=0"]);
    t.assert_cooked();

    // Start again: the resume choice names the right step.
    t.line(&wizard_line(&root));
    let s = t.wait_for(&[
        "An unfinished run",
        &format!("Resume at step {next_n} ({next})"),
    ]);
    assert!(s.contains("Enter resume"), "{s}");
    t.keys(&["Enter"]);
    t.wait_for(&[&format!("Step {next_n}/15 · {next}")]);

    // Finish: Enter applies each pending step (after y), or moves on from a done one.
    for _ in 0..30 {
        let s = t.screen();
        if s.contains("┌ Summary") {
            break;
        }
        if s.contains("Enter apply") {
            let id = s
                .lines()
                .find_map(|l| l.split("/15 · ").nth(1))
                .and_then(|r| r.split_whitespace().next())
                .unwrap()
                .to_string();
            apply_current(&t, &id);
        } else if s.contains("Enter next") {
            t.keys(&["Enter"]);
            std::thread::sleep(Duration::from_millis(300));
        } else {
            panic!("stuck on:\n{s}");
        }
    }
    let s = t.wait_for(&["┌ Summary", "What was changed"]);
    assert!(s.contains("sendmail-mc    /etc/mail/sendmail.mc"), "{s}");
    t.keys(&["PageDown", "PageDown", "PageDown"]);
    t.wait_for(&["What to tell your users", "Port: 587 (submission)"]);
    let o = run_root(&root, &["check"]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "after the wizard, check has nothing to do: {}",
        text(&o)
    );
    let access = std::fs::read_to_string(root.join("etc/mail/access")).unwrap();
    assert!(
        access.contains("# disabled by smtpauth-wizard (HOWTO step 10): 192.168.0"),
        "{access}"
    );
    let sasl = std::fs::read_to_string(root.join("usr/lib/sasl/Sendmail.conf")).unwrap();
    assert!(sasl.contains("pwcheck_method:"), "{sasl}");

    // Roll back everything from the rollback screen.
    t.keys(&["r"]);
    t.wait_for(&["┌ Rollback", "every applied step", "Enter roll back"]);
    t.keys(&["Enter"]);
    t.wait_for(&["Roll back every step?", "y yes"]);
    t.keys(&["y"]);
    t.wait_for(&["Rolled back", " rolled back"]);
    t.keys(&["q"]);
    t.wait_for(&["EXIT=0"]);
    t.assert_cooked();

    // Every file is back, and the directories the engine made for the files it created are
    // gone again: the tree is the original, byte for byte.
    let d = diff_snapshots(&before, &snapshot(&root));
    assert!(d.is_empty(), "rollback did not put the tree back: {d:#?}");

    // And a third start has no resume choice: nothing is applied.
    t.line(&wizard_line(&root));
    let s = t.wait_for(&["Welcome", "Enter start"]);
    assert!(!s.contains("An unfinished run"), "{s}");
    t.keys(&["C-c"]);
    t.wait_for(&["EXIT=0"]);
    t.assert_cooked();
}

#[test]
fn sigterm_and_ctrl_c_restore_the_terminal() {
    need_tools!();
    let Some(t) = Tmux::start("sig") else { return };
    let dir = fixture("redhat9");
    let root = dir.path().canonicalize().unwrap();

    t.line(&wizard_line(&root));
    t.wait_for(&["Welcome", "Enter start"]);
    let shell = t.pane_pid();
    let o = Command::new("pgrep")
        .args(["-P", &shell.to_string()])
        .output()
        .unwrap();
    let pid: i32 = String::from_utf8_lossy(&o.stdout)
        .split_whitespace()
        .next()
        .expect("the wizard runs under the pane's shell")
        .parse()
        .unwrap();
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(pid),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    t.wait_for(&["EXIT=143"]);
    t.assert_cooked();

    // Ctrl-C in the middle of a question is a quit too.
    t.line(&wizard_line(&root));
    t.wait_for(&["Welcome", "Enter start"]);
    t.keys(&["Enter"]);
    t.wait_for(&["Step 4/15 · backup"]);
    t.keys(&["Enter"]);
    t.wait_for(&["Apply backup?"]);
    t.keys(&["C-c"]);
    t.wait_for(&["EXIT=0"]);
    t.assert_cooked();
    assert!(
        !root.join("etc/mail/sendmail.mc.bak").exists(),
        "nothing was applied"
    );
}

/// The Watch and Probe screens in a real terminal. Watch follows the fixture's mail log and
/// shows a refusal appended while it runs. Probe tests a server (a hostile one of this test's,
/// on 127.0.0.1, that accepts and then says nothing): while the probe waits out its 10 s, the
/// wizard keeps answering (the help opens and closes, the list moves away and back, the elapsed
/// time counts up), and the probe then ends with its verdict on the screen.
#[test]
fn watch_follows_the_log_and_probe_stays_responsive_against_a_silent_server() {
    need_tools!();
    let Some(t) = Tmux::start("watch") else {
        return;
    };
    let dir = fixture("debian12");
    let root = dir.path().canonicalize().unwrap();
    let log = root.join("var/log/mail.log");
    std::fs::create_dir_all(log.parent().unwrap()).unwrap();
    let deny = |n: u32| {
        format!(
            "Nov 26 10:00:0{n} mailsrv sm-mta[10{n}]: 2AQA000{n}00000{n}: ruleset=check_rcpt, arg1=<x@elsewhere.example>, relay=[203.0.113.{n}], reject=550 5.7.1 <x@elsewhere.example>... Relaying denied. Proper authentication required.\n"
        )
    };
    std::fs::write(&log, deny(1)).unwrap();

    // A server that accepts and never says a word; each connection is held 15 s.
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    std::thread::spawn(move || {
        for s in l.incoming().flatten() {
            std::thread::spawn(move || {
                std::thread::sleep(Duration::from_secs(15));
                drop(s);
            });
        }
    });

    t.line(&wizard_line(&root));
    t.wait_for(&["Welcome", "Enter start"]);
    // Welcome, 15 steps, Summary, Probe, Watch.
    for _ in 0..18 {
        t.keys(&["Down"]);
    }
    t.wait_for(&["Watch · Relaying denied", "Enter watch"]);
    t.keys(&["Enter"]);
    t.wait_for(&["following: 1 update so far", "relaying denied: 1"]);
    let mut f = std::fs::OpenOptions::new().append(true).open(&log).unwrap();
    std::io::Write::write_all(&mut f, deny(2).as_bytes()).unwrap();
    drop(f);
    t.wait_for(&["following: 2 updates so far", "relaying denied: 2"]);
    t.keys(&["Enter"]);
    t.wait_for(&["stopped; Enter follows again"]);

    t.keys(&["Up"]);
    t.wait_for(&["Probe · EHLO, AUTH, relay test", "Target: localhost:25"]);
    t.keys(&["e"]);
    t.wait_for(&["Enter keep", "Esc cancel"]);
    for _ in 0.."localhost:25".len() {
        t.keys(&["BSpace"]);
    }
    t.tmux(&["send-keys", "-t", "w", "-l", &addr.to_string()]);
    t.keys(&["Enter"]);
    t.wait_for(&[&format!("Target: {addr}"), "Enter probe"]);
    // The TLS options (issue 11 item 5): Tab to them, Space ticks --no-verify-cert, Tab back.
    t.keys(&["Tab", "Space"]);
    t.wait_for(&["[x] do not verify the certificate", "TLS options"]);
    t.keys(&["Tab"]);
    let started = Instant::now();
    t.keys(&["Enter"]);
    t.wait_for(&[&format!("probing {addr}")]);
    // Responsive while the server holds the probe: help, then the step list, then back.
    t.keys(&["?"]);
    t.wait_for(&["Keys", "this help"]);
    t.keys(&["Escape"]);
    t.keys(&["Up"]);
    t.wait_for(&["Summary", "Probe (running)"]);
    t.keys(&["Down"]);
    let s1 = t.wait_for(&[&format!("probing {addr}"), " s so far"]);
    std::thread::sleep(Duration::from_millis(1200));
    let s2 = t.wait_for(&[&format!("probing {addr}"), " s so far"]);
    let elapsed = |s: &str| -> f64 {
        let at = s.find(" s so far").unwrap();
        s[..at].rsplit(' ').next().unwrap().parse().unwrap()
    };
    assert!(
        elapsed(&s2) > elapsed(&s1),
        "the elapsed time does not count up:\n{s1}\n{s2}"
    );
    // Still probing after all those keys: they were answered while the probe waited.
    let s = t.wait_for(&[&format!("Last result ({addr}): error"), "timed out"]);
    assert!(
        started.elapsed() < Duration::from_secs(25),
        "the probe took {:?}, beyond its bounds",
        started.elapsed()
    );
    assert!(s.contains("greeting"), "{s}");
    t.keys(&["q"]);
    t.wait_for(&["EXIT=0"]);
    t.assert_cooked();
}

/// A panic in the middle of a step (the fault-injection build panics at its Nth mutation
/// point, inside the worker that is writing the backup step): the wizard exits with a message,
/// the terminal is cooked again, and the journal is consistent: `status` reads it and
/// `rollback` returns the original tree. Runs under `cargo test --features fault-injection`.
#[cfg(feature = "fault-injection")]
#[test]
fn a_panic_during_a_step_leaves_the_terminal_usable_and_the_journal_consistent() {
    need_tools!();
    let Some(t) = Tmux::start("panic") else {
        return;
    };
    let dir = fixture("redhat9");
    let root = dir.path().canonicalize().unwrap();
    let before = snapshot(&root);
    // Point 12 falls in the backup step's journaled writes (after the run and the step are
    // recorded), so the step is left in-progress.
    t.line(&format!(
        "SMTPAUTH_WIZARD_PANIC_AT=12 {} --root {}; echo EXIT=$?",
        bin().display(),
        root.display()
    ));
    t.wait_for(&["Welcome", "Enter start"]);
    t.keys(&["Enter"]);
    t.wait_for(&["Step 4/15 · backup", "Enter apply"]);
    t.keys(&["Enter"]);
    t.wait_for(&["Apply backup?", "y yes"]);
    t.keys(&["y"]);
    let s = t.wait_for(&["EXIT=1"]);
    assert!(
        s.contains("fault-injection: panic at point 12"),
        "no panic message:\n{s}"
    );
    t.assert_cooked();

    let o = run_root(&root, &["status", "--format", "json"]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "status after the panic: {}",
        text(&o)
    );
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let states: Vec<&str> = v["runs"][0]["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["state"].as_str().unwrap())
        .collect();
    assert!(
        states.contains(&"in-progress"),
        "the interrupted step is not in-progress: {states:?}"
    );
    let o = run_root(&root, &["rollback", "--yes"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let d = diff_snapshots(&before, &snapshot(&root));
    assert!(d.is_empty(), "rollback after the panic: {d:#?}");
}
