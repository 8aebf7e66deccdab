//! The Ansible playbook (assets/ansible/playbook.yml) run for real: ansible-core from PyPI in a
//! virtual environment (made once, in `<target dir>/ansible-venv`, and reused), against
//! localhost with the local connection, on a private copy of a fixture root, with the binary
//! cargo built. First run: the answers file arrives and the configuration is applied; second
//! run: nothing changes; a bad answers file fails the host with the wizard's own message.
//!
//! Needs python3 and, the first time, PyPI; without them it prints SKIPPED and the reason (a
//! failure under SMTPAUTH_WIZARD_REQUIRE_TOOLS, as every skip is: common::skip).
//! Root is not needed.

mod common;
use common::*;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

/// `<target>/ansible-venv`, beside the debug/ directory that holds the binary under test.
fn venv_dir() -> PathBuf {
    bin()
        .parent()
        .and_then(Path::parent)
        .expect("target dir")
        .join("ansible-venv")
}

/// A venv with ansible-playbook in it, or why there cannot be one here.
fn ansible() -> Result<PathBuf, String> {
    let venv = venv_dir();
    let playbook = venv.join("bin/ansible-playbook");
    if playbook.exists() {
        return Ok(playbook);
    }
    let python = ["python3", "/usr/bin/python3"]
        .into_iter()
        .find(|p| {
            Command::new(p)
                .arg("--version")
                .output()
                .is_ok_and(|o| o.status.success())
        })
        .ok_or("python3 is not installed")?;
    // A half-made venv (an interrupted earlier run) is made again.
    let _ = fs::remove_dir_all(&venv);
    let o = Command::new(python)
        .args(["-m", "venv"])
        .arg(&venv)
        .output()
        .map_err(|e| format!("python3 -m venv: {e}"))?;
    if !o.status.success() {
        return Err(format!(
            "python3 -m venv failed (Debian: apt-get install python3-venv): {}",
            text(&o)
        ));
    }
    eprintln!("installing ansible-core from PyPI into {}", venv.display());
    let t = std::time::Instant::now();
    let o = Command::new(venv.join("bin/pip"))
        .args([
            "install",
            "--disable-pip-version-check",
            "--quiet",
            "--timeout",
            "30",
            "ansible-core>=2.15,<2.20",
        ])
        .output()
        .map_err(|e| format!("pip: {e}"))?;
    if !o.status.success() {
        let out = text(&o);
        let _ = fs::remove_dir_all(&venv);
        let offline = [
            "NewConnectionError",
            "Max retries",
            "Temporary failure in name resolution",
            "Network is unreachable",
            "No matching distribution",
            "Could not find a version",
            "timed out",
        ]
        .iter()
        .any(|s| out.contains(s));
        if offline {
            return Err(format!("pip cannot reach PyPI: {}", out.trim()));
        }
        panic!("pip install ansible-core failed: {out}");
    }
    eprintln!(
        "ansible-core installed in {:.0} s",
        t.elapsed().as_secs_f64()
    );
    Ok(playbook)
}

struct Recap {
    ok: u32,
    changed: u32,
    failed: u32,
}

/// The numbers of the `PLAY RECAP` line for localhost.
fn recap(out: &str) -> Recap {
    let line = out
        .lines()
        .skip_while(|l| !l.starts_with("PLAY RECAP"))
        .find(|l| l.starts_with("localhost"))
        .unwrap_or_else(|| panic!("no PLAY RECAP line for localhost in:\n{out}"));
    let get = |k: &str| -> u32 {
        line.split_whitespace()
            .find_map(|w| w.strip_prefix(&format!("{k}=")))
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("no {k}= in {line}"))
    };
    Recap {
        ok: get("ok"),
        changed: get("changed"),
        failed: get("failed"),
    }
}

fn play(ansible: &Path, work: &Path, root: &Path, answers: &Path) -> (Recap, String) {
    let venv = venv_dir();
    let vars = serde_json::json!({
        "smtpauth_hosts": "all",
        "smtpauth_become": false,
        "smtpauth_bin": bin(),
        "smtpauth_answers_src": answers,
        "smtpauth_answers_dest": work.join("etc/smtpauth-wizard/answers.yaml"),
        "smtpauth_root": root,
        "ansible_python_interpreter": venv.join("bin/python"),
    });
    let vf = work.join("vars.json");
    fs::write(&vf, vars.to_string()).unwrap();
    let home = work.join("ansible-home");
    let o = Command::new(ansible)
        .args(["-i", "localhost,", "-c", "local"])
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/ansible/playbook.yml"))
        .arg("-e")
        .arg(format!("@{}", vf.display()))
        // No ansible.cfg of the machine or the user, no state outside the test's directory.
        .current_dir(work)
        .env("ANSIBLE_CONFIG", work.join("none.cfg"))
        .env("ANSIBLE_HOME", &home)
        .env("ANSIBLE_LOCAL_TEMP", home.join("tmp"))
        .env("ANSIBLE_REMOTE_TEMP", home.join("remote-tmp"))
        .env("ANSIBLE_NOCOLOR", "1")
        .env("ANSIBLE_RETRY_FILES_ENABLED", "0")
        .env("LC_ALL", "C.UTF-8")
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    let out = text(&o);
    (recap(&out), out)
}

#[test]
fn the_playbook_applies_once_then_reports_no_change_and_fails_on_bad_answers() {
    need_tools!();
    let ansible = skip_unless!(ansible());
    let t = fixture("debian12");
    let work = tempfile::tempdir().unwrap();
    let answers = work.path().join("answers.yaml");
    fs::write(
        &answers,
        "mechanisms: [LOGIN, PLAIN]\ninstall_packages: false\nrestart: false\n",
    )
    .unwrap();
    let before = snapshot(t.path());

    let (r, out) = play(&ansible, work.path(), t.path(), &answers);
    assert_eq!(r.failed, 0, "{out}");
    // Changed: the answers directory, the answers file, and the apply itself.
    assert_eq!(r.changed, 3, "{out}");
    assert!(
        out.contains("TASK [Apply the pending changes]") && out.contains("changed: [localhost]"),
        "{out}"
    );
    assert_ne!(snapshot(t.path()), before, "the playbook changed nothing");
    let o = run_root(t.path(), &["check"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));

    let (r, out) = play(&ansible, work.path(), t.path(), &answers);
    assert_eq!((r.changed, r.failed), (0, 0), "second run: {out}");
    assert!(r.ok >= 4, "{out}");
    assert!(
        out.contains("TASK [Apply the pending changes]") && out.contains("skipping: [localhost]"),
        "{out}"
    );

    fs::write(&answers, "restart: no-thanks\n").unwrap();
    let (r, out) = play(&ansible, work.path(), t.path(), &answers);
    assert_eq!(r.failed, 1, "{out}");
    assert!(
        out.contains("smtpauth-wizard check: answers file")
            && out.contains("line 1")
            && out.contains("restart"),
        "the host did not fail with the wizard's message: {out}"
    );
}
