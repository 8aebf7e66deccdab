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
use std::time::Duration;

/// A hung container is stopped (SIGTERM to journal.sh, whose trap kills systemd-nspawn by
/// its pid) after this long; a run on a cached root takes under a minute.
const WATCHDOG: Duration = Duration::from_secs(1500);

#[test]
fn debian13_without_rsyslog_relay_report_reads_the_journal_by_itself() {
    skip_unless!(common::need_nspawn("Debian 13 in systemd-nspawn"));
    let bin = common::bin();
    let (ok, text) = common::run_distro_script("journal.sh", &[bin.as_os_str()], WATCHDOG);
    assert!(
        ok && text.contains("E2E-OK") && text.contains("JOURNAL-OK trixie"),
        "Debian 13 journal-only in systemd-nspawn failed:\n{text}"
    );
    // The script checked every count against what it sent; all six refusals were sent.
    assert!(text.contains("JOURNAL-COUNTS refusals=6 "), "{text}");
    assert!(
        text.contains("stopped: systemd-nspawn") && text.contains("are gone"),
        "the container was not seen gone:\n{text}"
    );
}
