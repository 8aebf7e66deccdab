//! Real systemd journals for tests, written by systemd-journal-remote from entries in its
//! export format and read back with journalctl.
use std::fs;
use std::path::{Path, PathBuf};

/// systemd-journal-remote, when it and journalctl are installed, or why they are needed.
pub fn remote() -> Result<PathBuf, String> {
    let remote = [
        "/lib/systemd/systemd-journal-remote",
        "/usr/lib/systemd/systemd-journal-remote",
    ]
    .into_iter()
    .map(PathBuf::from)
    .find(|p| p.exists());
    match (remote, which::which("journalctl").is_ok()) {
        (Some(r), true) => Ok(r),
        _ => Err("systemd-journal-remote (package systemd-journal-remote) and journalctl are needed for the journal tests".into()),
    }
}

/// One journal entry in export format: `identifier`'s `message` at `t` (epoch seconds).
pub fn entry(t: i64, identifier: &str, pid: u32, message: &str) -> String {
    let us = t * 1_000_000;
    format!(
        "__REALTIME_TIMESTAMP={us}\n__MONOTONIC_TIMESTAMP={}\n_BOOT_ID=0123456789abcdef0123456789abcdef\n_HOSTNAME=mailsrv\nSYSLOG_IDENTIFIER={identifier}\n_PID={pid}\nSYSLOG_FACILITY=2\nPRIORITY=6\nMESSAGE={message}\n\n",
        us - 1_790_000_000_000_000
    )
}

/// Writes `entries` as a real journal file `name` in `dir` with systemd-journal-remote.
pub fn write_journal(remote: &Path, dir: &Path, name: &str, entries: &str) {
    fs::create_dir_all(dir).unwrap();
    let out = duct::cmd!(
        remote,
        format!("--output={}", dir.join(name).display()),
        "-"
    )
    .stdin_bytes(entries.as_bytes())
    .stderr_capture()
    .unchecked()
    .run()
    .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
