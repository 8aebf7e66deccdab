//! relay-report on a system that logs only to the journal, proven on a real one: Debian 13
//! (trixie) booted with systemd as PID 1 in systemd-nspawn (private network), without rsyslog,
//! so there is no /var/log/mail.log and sendmail's lines go to journald only. Inside, the
//! wizard built here (trixie's glibc runs it) applies SMTP AUTH, swaks from 127.0.0.2 gets
//! real "Relaying denied" refusals, failed and successful logins, and then:
//! - `relay-report` with no options reads the journal by itself, says so and why, and counts
//!   exactly the refusals sent (and the logins sendmail logged);
//! - `relay-report --journal --since` counts only those after a pause;
//! - `relay-report --follow` shows a refusal sent while it runs; it is stopped by its pid and
//!   its `journalctl --follow` must not outlive it.
//!
//! tests/distros/journal.sh boots and stops the container (tests/distros/lib.sh, the cached
//! pristine roots of tests/distros.rs); tests/distros/journal_inside.sh runs inside. Needs
//! root, systemd-container, util-linux and debootstrap (for the first build of the root);
//! elsewhere it prints SKIPPED, and under SMTPAUTH_WIZARD_REQUIRE_TOOLS it fails instead.

mod common;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const TOOLS: &[(&str, &str)] = &[
    ("/usr/sbin/debootstrap", "debootstrap"),
    ("/usr/bin/systemd-nspawn", "systemd-container"),
    ("/usr/bin/nsenter", "util-linux"),
    ("/usr/bin/unshare", "util-linux"),
    ("/usr/bin/flock", "util-linux"),
];

/// A hung container is stopped (SIGTERM to journal.sh, whose trap kills systemd-nspawn by
/// its pid) after this long; a run on a cached root takes about a minute.
const WATCHDOG: Duration = Duration::from_secs(1500);

#[test]
fn debian13_without_rsyslog_relay_report_reads_the_journal_by_itself() {
    skip_unless!(common::need_root(
        "systemd-nspawn boots a Debian root with systemd"
    ));
    for (tool, package) in TOOLS {
        if !Path::new(tool).exists() {
            skip_test!(
                "Debian 13 in systemd-nspawn: {tool} is missing (apt-get install {package})"
            );
        }
    }
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/distros/journal.sh");
    let start = Instant::now();
    let child = Command::new("bash")
        .arg(&script)
        .arg(common::bin())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("bash tests/distros/journal.sh");
    let out = common::wait_or_signal(child, WATCHDOG, nix::sys::signal::Signal::SIGTERM);
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    println!("{text}");
    println!(
        "Debian 13 journal-only in systemd-nspawn took {:.1} s",
        start.elapsed().as_secs_f64()
    );
    assert!(
        out.status.success() && text.contains("E2E-OK") && text.contains("JOURNAL-OK trixie"),
        "Debian 13 journal-only in systemd-nspawn failed:\n{text}"
    );
    // The script checked every count against what it sent; all six refusals were sent.
    assert!(text.contains("JOURNAL-COUNTS refusals=6 "), "{text}");
    assert!(
        text.contains("stopped: systemd-nspawn") && text.contains("are gone"),
        "the container was not seen gone:\n{text}"
    );
}
