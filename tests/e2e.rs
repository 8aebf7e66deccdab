//! End-to-end: the real binary against Debian's real sendmail, saslauthd and swaks, inside an
//! isolated network/mount/UTS/PID namespace (tests/e2e/live.sh does the work and says what it
//! checks). Needs root; elsewhere it prints SKIPPED (and fails under .ci/test as root, which
//! sets SMTPAUTH_WIZARD_REQUIRE_TOOLS and installs the packages).

use std::path::Path;
use std::time::Duration;

mod common;

fn skip_or_fail(why: &str) {
    common::skip(format!("end-to-end test: {why}"));
}

#[test]
fn live_steps_against_the_real_sendmail_in_a_namespace() {
    if !nix::unistd::geteuid().is_root() {
        return skip_or_fail("needs root (unshare, bind mounts, port 25)");
    }
    for tool in [
        "/usr/sbin/sendmail-mta",
        "/usr/bin/swaks",
        "/usr/sbin/saslauthd",
        "/usr/bin/unshare",
        "/usr/bin/openssl",
        "/usr/sbin/makemap",
    ] {
        if !Path::new(tool).exists() {
            return skip_or_fail(&format!("{tool} is not installed (apt-get install sendmail sasl2-bin swaks libsasl2-modules m4 openssl)"));
        }
    }
    // The journal directory is bind-mounted inside the namespace; its mount point must exist.
    let state = Path::new("/var/lib/smtpauth-wizard");
    let created = !state.exists();
    if created {
        std::fs::create_dir_all(state).unwrap();
    }
    let live = common::run_live("live.sh", &[], Duration::from_secs(600));
    if created {
        let _ = std::fs::remove_dir(state);
    }
    let (text, password) = (&live.text, &live.password);
    println!("{text}");
    println!("end-to-end test took {:.1} s", live.elapsed.as_secs_f64());
    assert!(live.ok, "end-to-end test failed:\n{text}");
    assert!(
        !text.contains(password.as_str()),
        "the password appeared in the test output"
    );
}
