//! Debian 11 (bullseye) and Debian 13 (trixie), each booted with systemd as PID 1
//! (systemd-nspawn, private network), with the project's own .deb installed by `dpkg -i`
//! and the live scenario run inside: `apply --yes` restarts sendmail through
//! `systemctl`, EHLO advertises LOGIN and PLAIN, AUTH PLAIN and LOGIN from 127.0.0.2 relay,
//! no AUTH gets 550 5.7.1, `rollback --yes` restores /etc/mail byte for byte and restarts the
//! old configuration, and a port held by another process makes apply roll back by itself.
//! tests/distros/run.sh does the work (lib.sh builds and caches the pristine roots with
//! debootstrap, boots and stops them; scenario.sh is what runs inside). Debian 12 is proven
//! with init scripts by tests/e2e.rs.
//!
//! Needs root, debootstrap, systemd-container and util-linux, and the .deb from
//! `.ci/package` (SMTPAUTH_WIZARD_PACKAGES_DIR); elsewhere it prints SKIPPED, and under
//! SMTPAUTH_WIZARD_REQUIRE_TOOLS (.ci/test as root) it fails instead. The first run downloads
//! from Debian's archive (about a minute per release); later runs unpack the cached roots.

mod common;
use std::time::Duration;

/// A hung container is stopped (SIGTERM to run.sh, whose trap kills systemd-nspawn by its
/// pid) after this long; a cold run (debootstrap) takes a few minutes.
const WATCHDOG: Duration = Duration::from_secs(1500);

fn release(suite: &str) {
    skip_unless!(common::need_nspawn(&format!(
        "Debian {suite} in systemd-nspawn"
    )));
    let dir = match common::packages_dir() {
        Ok(d) => d,
        Err(why) => skip_test!("Debian {suite} in systemd-nspawn: {why}"),
    };
    let Some(deb) = common::find_package(&dir, "deb") else {
        skip_test!(
            "Debian {suite} in systemd-nspawn: no .deb in {}: run `bash .ci/package`",
            dir.display()
        );
    };
    let (ok, text) =
        common::run_distro_script("run.sh", &[suite.as_ref(), deb.as_os_str()], WATCHDOG);
    assert!(
        ok && text.contains("E2E-OK") && text.contains(&format!("DISTRO-OK {suite}")),
        "Debian {suite} in systemd-nspawn failed:\n{text}"
    );
}

/// The oldest release: the packaged binary (built against glibc 2.17) must install with
/// dpkg and run on glibc 2.31, where a plain release build does not start.
#[test]
fn debian11_bullseye_systemd_installs_the_deb_and_passes_the_live_scenario() {
    release("bullseye");
}

#[test]
fn debian13_trixie_systemd_installs_the_deb_and_passes_the_live_scenario() {
    release("trixie");
}
