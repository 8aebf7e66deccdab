//! End-to-end: the real binary against Debian's real sendmail, saslauthd and swaks, inside an
//! isolated network/mount/UTS/PID namespace (tests/e2e/live.sh does the work and says what it
//! checks). Needs root; elsewhere it prints SKIPPED (and fails under .ci/test as root, which
//! sets SMTPAUTH_WIZARD_REQUIRE_TOOLS and installs the packages).

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

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
    let work = tempfile::Builder::new()
        .prefix("smtpauth-e2e-")
        .tempdir()
        .unwrap();
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let password = format!("e2e-{}-{nanos:x}", std::process::id());
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/e2e/live.sh");
    let child = Command::new("unshare")
        .args([
            "--net",
            "--mount",
            "--uts",
            "--pid",
            "--fork",
            "--mount-proc",
            "bash",
        ])
        .arg(&script)
        .arg(work.path())
        .arg(env!("CARGO_BIN_EXE_smtpauth-wizard"))
        .env("E2E_PASSWORD", &password)
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("unshare");
    // Stop it by its pid if it hangs; the pid namespace takes its daemons along.
    let pid = child.id();
    let start = Instant::now();
    let watchdog = std::thread::spawn(move || {
        while start.elapsed() < Duration::from_secs(600) {
            std::thread::sleep(Duration::from_millis(200));
            if !Path::new(&format!("/proc/{pid}")).exists() {
                return;
            }
        }
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(pid as i32),
            nix::sys::signal::Signal::SIGKILL,
        );
    });
    let out = child.wait_with_output().unwrap();
    let _ = watchdog.join();
    if created {
        let _ = std::fs::remove_dir(state);
    }
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    println!("{text}");
    println!(
        "end-to-end test took {:.1} s",
        start.elapsed().as_secs_f64()
    );
    assert!(
        out.status.success() && text.contains("E2E-OK"),
        "end-to-end test failed:\n{text}"
    );
    assert!(
        !text.contains(&password),
        "the password appeared in the test output"
    );
}
