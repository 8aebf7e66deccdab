//! The .deb and the .rpm that `.ci/package` builds (into target/packages/): the .deb is
//! installed with `dpkg -i`, the installed `/usr/bin/smtpauth-wizard` runs `--version` and
//! `check --root` on a fixture copy, its man page and completions are where the shells look,
//! and `dpkg -r` removes it again (also when an assertion fails), leaving the machine as it
//! was. The .rpm's file list (`rpm -qpl`) must hold the same files.
//!
//! Building the packages takes minutes (a release build, and the first time cargo-deb and
//! cargo-generate-rpm are compiled), and cargo cannot build while `cargo test` holds the
//! target directory, so this test does not build them: run `bash .ci/package` first and set
//! `SMTPAUTH_WIZARD_PACKAGES_DIR=target/packages` (.ci/test does both as root). Without it,
//! or without root, it prints SKIPPED; with SMTPAUTH_WIZARD_REQUIRE_TOOLS set, a missing tool
//! (dpkg, rpm) or missing packages in that directory is a failure instead.

mod common;
use common::*;
use std::path::{Path, PathBuf};
use std::process::Command;

const NAME: &str = "smtpauth-wizard";

/// Prints SKIPPED (or fails, where the tools are required: common::skip decides) and returns
/// from the test.
macro_rules! skip {
    ($($why:tt)*) => {{
        common::skip(format!($($why)*));
        return;
    }};
}

fn find(dir: &Path, ext: &str) -> Option<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .ok()?
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == ext))
        .collect();
    v.sort();
    v.pop()
}

fn installed() -> bool {
    Command::new("dpkg-query")
        .args(["-W", "-f=${db:Status-Status}", NAME])
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "installed")
}

/// Removes the package when dropped, so a failed assertion does not leave it installed.
struct Installed;
impl Drop for Installed {
    fn drop(&mut self) {
        let o = Command::new("dpkg").args(["-r", NAME]).output();
        if !o.as_ref().is_ok_and(|o| o.status.success()) {
            eprintln!("dpkg -r {NAME} failed: {o:?}");
        }
        let _ = Command::new("dpkg").args(["--purge", NAME]).output();
    }
}

/// What both packages must install (the zsh completion goes where each distribution's zsh
/// looks; the man pages are checked by name).
const COMMON: &[&str] = &[
    "/usr/bin/smtpauth-wizard",
    "/usr/share/man/man8/smtpauth-wizard.8.gz",
    "/usr/share/man/man8/smtpauth-wizard-check.8.gz",
    "/usr/share/man/man8/smtpauth-wizard-apply.8.gz",
    "/usr/share/man/man8/smtpauth-wizard-rollback.8.gz",
    "/usr/share/bash-completion/completions/smtpauth-wizard",
    "/usr/share/fish/vendor_completions.d/smtpauth-wizard.fish",
    "/usr/share/doc/smtpauth-wizard/README.md",
    "/usr/share/doc/smtpauth-wizard/CHANGELOG.md",
    "/usr/share/doc/smtpauth-wizard/docs/json.md",
    "/usr/share/doc/smtpauth-wizard/examples/answers.example.yaml",
    "/usr/share/doc/smtpauth-wizard/examples/ansible/playbook.yml",
    "/usr/share/smtpauth-wizard/profiles/debian.yaml",
];

#[test]
fn the_deb_installs_runs_and_removes_cleanly_and_the_rpm_has_the_same_files() {
    if nix::unistd::geteuid().as_raw() != 0 {
        skip!("not root: installing a .deb needs root");
    }
    let Some(dir) = std::env::var_os("SMTPAUTH_WIZARD_PACKAGES_DIR") else {
        skip!("SMTPAUTH_WIZARD_PACKAGES_DIR is not set: run `bash .ci/package` (a release build, minutes), then `SMTPAUTH_WIZARD_PACKAGES_DIR=target/packages cargo test --test packages`; .ci/test does this as root");
    };
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join(dir);
    let Some(deb) = find(&dir, "deb") else {
        skip!("no .deb in {}: run `bash .ci/package`", dir.display());
    };
    let Some(rpm) = find(&dir, "rpm") else {
        skip!("no .rpm in {}: run `bash .ci/package`", dir.display());
    };
    if installed() {
        skip!("{NAME} is already installed here; this test installs and removes it, so it leaves an existing installation alone");
    }
    need_tools!();

    let o = Command::new("dpkg").arg("-i").arg(&deb).output().unwrap();
    let guard = Installed;
    assert!(
        o.status.success(),
        "dpkg -i {}: {}",
        deb.display(),
        text(&o)
    );
    let listed = String::from_utf8_lossy(
        &Command::new("dpkg")
            .args(["-L", NAME])
            .output()
            .unwrap()
            .stdout,
    )
    .to_string();
    for f in COMMON
        .iter()
        .chain(&["/usr/share/zsh/vendor-completions/_smtpauth-wizard"])
    {
        assert!(Path::new(f).exists(), "{f} is not installed");
        assert!(listed.lines().any(|l| l == *f), "dpkg -L lacks {f}");
    }

    // The TUI's `smtpauth-wizard demo` copies its demo root from here when installed.
    let demo = Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/demo-root");
    let demo_mc = "/usr/share/smtpauth-wizard/demo-root/etc/mail/sendmail.mc";
    if demo.is_dir() {
        assert!(Path::new(demo_mc).is_file(), "{demo_mc} is not installed");
    }

    let o = Command::new("/usr/bin/smtpauth-wizard")
        .arg("--version")
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(
        String::from_utf8_lossy(&o.stdout),
        format!(
            "{NAME} {} (profiles: redhat-legacy, rhel, debian)\n",
            env!("CARGO_PKG_VERSION")
        )
    );
    let t = fixture("debian12");
    let o = Command::new("/usr/bin/smtpauth-wizard")
        .arg("check")
        .arg("--root")
        .arg(t.path())
        .args(["--format", "json"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["profile"], "debian");
    // The installed man page is a page man can show.
    if Path::new("/usr/bin/man").exists() {
        let o = Command::new("man")
            .args(["-P", "cat", "8", NAME])
            .env("MANWIDTH", "80")
            .output()
            .unwrap();
        assert!(
            String::from_utf8_lossy(&o.stdout).contains("rollback"),
            "man 8 {NAME}: {}",
            text(&o)
        );
    }

    drop(guard);
    assert!(!installed(), "dpkg -r left {NAME} installed");
    for f in COMMON {
        assert!(!Path::new(f).exists(), "{f} is still there after dpkg -r");
    }

    let Ok(o) = Command::new("rpm").arg("-qpl").arg(&rpm).output() else {
        skip!("rpm is not installed (Debian: apt-get install rpm; .ci/test installs it)");
    };
    assert!(
        o.status.success(),
        "rpm -qpl {}: {}",
        rpm.display(),
        text(&o)
    );
    let files = String::from_utf8_lossy(&o.stdout).to_string();
    for f in COMMON
        .iter()
        .chain(&["/usr/share/zsh/site-functions/_smtpauth-wizard"])
    {
        assert!(
            files.lines().any(|l| l == *f),
            "the rpm lacks {f}:\n{files}"
        );
    }
    if demo.is_dir() {
        assert!(
            files.lines().any(|l| l == demo_mc),
            "the rpm lacks {demo_mc}"
        );
    }
}
