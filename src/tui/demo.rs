//! `smtpauth-wizard demo`: the wizard on a throw-away copy of the demo root (Red Hat 9 as the
//! HOWTO found it), so anyone can try every step without a mail server and without root. The
//! shipped copy is never changed: it is copied into a fresh temporary directory first, with the
//! host's sendmail cf tree where the demo's sendmail.mc includes it.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

/// Where the demo root may be: beside the sources (`cargo run` in a checkout), or installed.
pub fn demo_root_candidates() -> Vec<PathBuf> {
    let mut v = vec![];
    if let Some(d) = std::env::var_os("SMTPAUTH_WIZARD_DEMO_ROOT") {
        v.push(PathBuf::from(d));
    }
    v.push(Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/demo-root"));
    if let Ok(exe) = std::env::current_exe() {
        if let Some(prefix) = exe.parent().and_then(Path::parent) {
            v.push(prefix.join("share/smtpauth-wizard/demo-root"));
        }
    }
    v.push(PathBuf::from("/usr/share/smtpauth-wizard/demo-root"));
    v
}

/// The host's cf tree (Debian's sendmail-cf package).
pub const HOST_CF: &str = "/usr/share/sendmail/cf";
/// Where the demo's sendmail.mc (Red Hat) includes it from.
pub const DEMO_CF: &str = "usr/share/sendmail-cf";

pub fn copy_tree(from: &Path, to: &Path) -> io::Result<()> {
    fs::create_dir_all(to)?;
    for e in fs::read_dir(from)? {
        let e = e?;
        let src = e.path();
        let dst = to.join(e.file_name());
        let ft = e.file_type()?;
        if ft.is_symlink() {
            std::os::unix::fs::symlink(fs::read_link(&src)?, &dst)?;
        } else if ft.is_dir() {
            copy_tree(&src, &dst)?;
        } else {
            fs::copy(&src, &dst)?;
        }
    }
    Ok(())
}

/// Makes the copy; returns its directory and what to tell the user.
pub fn prepare() -> Result<(PathBuf, Vec<String>), String> {
    let src = demo_root_candidates()
        .into_iter()
        .find(|p| p.join("etc/mail/sendmail.mc").is_file())
        .ok_or_else(|| {
            format!(
                "the demo root is not installed; looked in {}",
                demo_root_candidates()
                    .iter()
                    .map(|p| p.display().to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        })?;
    let dir = tempfile::Builder::new()
        .prefix("smtpauth-demo-")
        .tempdir()
        .map_err(|e| format!("cannot make a temporary directory: {e}"))?
        .keep();
    copy_tree(&src, &dir)
        .map_err(|e| format!("cannot copy {} to {}: {e}", src.display(), dir.display()))?;
    let mut notes = vec![format!(
        "demo: a copy of {} (Red Hat 9 as the HOWTO found it) is at {}",
        src.display(),
        dir.display()
    )];
    if Path::new(HOST_CF).join("m4/cf.m4").is_file() {
        copy_tree(Path::new(HOST_CF), &dir.join(DEMO_CF))
            .map_err(|e| format!("cannot copy the cf tree {HOST_CF}: {e}"))?;
        notes.push(format!(
            "demo: the cf tree {HOST_CF} is copied to {}/{DEMO_CF}",
            dir.display()
        ));
    } else {
        notes.push(format!(
            "demo: the sendmail cf tree ({HOST_CF}) is not installed, so the sendmail.cf steps will show an error. Install it with `apt-get install m4 sendmail-cf` (Debian, Ubuntu) or `dnf install m4 sendmail-cf` (RHEL, Fedora), then run the demo again"
        ));
    }
    if !crate::engine::query::tool_installed("m4") {
        notes.push("demo: m4 is not installed: install the m4 package".into());
    }
    notes.push(format!(
        "demo: reopen it later with `smtpauth-wizard --root {}`; remove it with `rm -rf {}`",
        dir.display(),
        dir.display()
    ));
    Ok((dir, notes))
}
