//! Typed errors (issue 10 item 3): every error kind reaches the command line as a documented
//! exit code and, with `--format json`, as `{"error", "kind", ...}` with the fields of its kind
//! (the paths of a conflict, the step and what was undone of a failed step, the file of a bad
//! input), so a script can tell "rerun with --force" from "permission denied" without reading
//! the sentence. The exit code of every error stays 1, as README has always said.

mod common;
use common::*;
use serde_json::Value;
use std::fs;
use std::path::Path;
use std::process::{Command, Output, Stdio};

fn json(o: &Output) -> Value {
    serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("not one JSON object ({e}): {}", text(o)))
}

/// Runs with `--format json`; checks the exit code, the kind and that the message is there.
fn error_of(o: &Output, kind: &str, what: &str) -> Value {
    let v = json(o);
    assert_eq!(o.status.code(), Some(1), "{what}: {}", text(o));
    assert_eq!(v["kind"], kind, "{what}: {v}");
    assert!(
        v["error"].as_str().is_some_and(|e| !e.is_empty()),
        "{what}: {v}"
    );
    v
}

fn with_json<'a>(args: &[&'a str]) -> Vec<&'a str> {
    let mut a = args.to_vec();
    a.extend(["--format", "json"]);
    a
}

#[test]
fn a_command_line_that_does_not_parse_is_usage() {
    for args in [
        vec!["--format", "json", "aply"],
        vec!["--format", "json", "apply", "--no-such-flag"],
        vec!["--format", "json", "rollback", "--step", "relay_access"],
        vec!["--format", "json", "check", "--mechanisms"],
        vec!["--format", "json", "apply", "--yes", "--only", "sasll"],
    ] {
        error_of(&run(&args), "usage", &format!("{args:?}"));
    }
}

#[test]
fn bad_input_names_the_file_or_option_and_what_is_wrong() {
    need_tools!();
    let t = fixture("debian12");
    let r = t.path();
    let typo = r.join("typo.yaml");
    fs::write(&typo, "restart: false\nrestrat: true\n").unwrap();
    let not_yaml = r.join("tabs.yaml");
    fs::write(&not_yaml, "mechanisms: [PLAIN\n").unwrap();
    let bad_profile = r.join("profile.yaml");
    fs::write(&bad_profile, "profile: debain\n").unwrap();
    let binary = r.join("binary.yaml");
    fs::write(&binary, b"mechanisms: \xff\xfe\n").unwrap();
    let a_dir = r.join("adir.yaml");
    fs::create_dir(&a_dir).unwrap();
    let cases: Vec<(Vec<String>, String)> = vec![
        (
            vec![
                "check".into(),
                "--answers".into(),
                typo.display().to_string(),
            ],
            typo.display().to_string(),
        ),
        (
            vec![
                "plan".into(),
                "--answers".into(),
                not_yaml.display().to_string(),
            ],
            not_yaml.display().to_string(),
        ),
        (
            vec![
                "check".into(),
                "--answers".into(),
                bad_profile.display().to_string(),
            ],
            bad_profile.display().to_string(),
        ),
        (
            vec![
                "check".into(),
                "--answers".into(),
                binary.display().to_string(),
            ],
            binary.display().to_string(),
        ),
        (
            vec![
                "check".into(),
                "--answers".into(),
                a_dir.display().to_string(),
            ],
            a_dir.display().to_string(),
        ),
        (
            vec!["check".into(), "--profile".into(), "debain".into()],
            "--profile".into(),
        ),
        (
            vec!["check".into(), "--root".into(), "/nonexistent/dir".into()],
            "--root".into(),
        ),
        (
            vec![
                "probe".into(),
                "127.0.0.1:1".into(),
                "--timeout".into(),
                "0".into(),
            ],
            "--timeout".into(),
        ),
    ];
    let before = snapshot(r);
    for (args, file) in cases {
        let mut a: Vec<&str> = args.iter().map(String::as_str).collect();
        if !a.contains(&"--root") && a[0] != "probe" {
            a.extend(["--root", r.to_str().unwrap()]);
        }
        let v = error_of(&run(&with_json(&a)), "bad_input", &format!("{a:?}"));
        assert_eq!(v["file"], file.as_str(), "{a:?}: {v}");
        assert!(
            v["what"].as_str().is_some_and(|w| !w.is_empty()),
            "{a:?}: {v}"
        );
        // The text form is the same sentence as before.
        let o = run(&a);
        assert_eq!(o.status.code(), Some(1), "{a:?}: {}", text(&o));
        assert!(
            text(&o).contains(v["error"].as_str().unwrap()),
            "{a:?}: {}",
            text(&o)
        );
    }
    assert!(diff_snapshots(&before, &snapshot(r)).is_empty());
}

#[test]
fn an_input_file_that_cannot_be_read_is_io_with_its_path() {
    need_tools!();
    let t = fixture("debian12");
    let r = t.path();
    for missing in ["/nonexistent/a.yaml", "/nonexistent-answers.yaml"] {
        let a = ["check", "--answers", missing, "--root", r.to_str().unwrap()];
        let v = error_of(&run(&with_json(&a)), "io", missing);
        assert_eq!(v["path"], missing, "{v}");
        assert_eq!(v["action"], "read answers file", "{v}");
    }
    let p = r.join("missing-profile.yaml");
    let a = [
        "check",
        "--profile",
        p.to_str().unwrap(),
        "--root",
        r.to_str().unwrap(),
    ];
    let v = error_of(&run(&with_json(&a)), "io", "profile");
    assert_eq!(v["path"], p.to_str().unwrap(), "{v}");
    assert_eq!(v["action"], "read profile", "{v}");
    // generate: a directory that cannot be made (its parent is a file).
    let file = r.join("a-file");
    fs::write(&file, "x").unwrap();
    for what in ["man", "completions"] {
        let d = file.join("sub");
        let a = ["generate", what, d.to_str().unwrap()];
        let v = error_of(&run(&with_json(&a)), "io", what);
        assert_eq!(v["path"], d.to_str().unwrap(), "{v}");
        assert_eq!(v["action"], "create", "{v}");
    }
}

#[test]
fn no_one_to_ask_and_no_are_refused() {
    need_tools!();
    let t = fixture("debian12");
    let r = t.path().to_str().unwrap();
    let before = snapshot(t.path());
    for args in [
        vec!["apply", "--root", r],
        vec!["apply", "--only", "sasl", "--root", r],
        vec!["rollback", "--from-backups", "--root", r],
    ] {
        error_of(&run(&with_json(&args)), "refused", &format!("{args:?}"));
    }
    assert!(diff_snapshots(&before, &snapshot(t.path())).is_empty());
    // Something to roll back, nothing changed since: the question is asked, no one answers.
    let o = run(&["apply", "--yes", "--root", r]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let before = snapshot(t.path());
    for args in [vec!["rollback", "--root", r], vec!["resume", "--root", r]] {
        let o = run(&with_json(&args));
        if args[0] == "resume" {
            // A finished run: nothing to resume is a success, not a refusal.
            assert_eq!(o.status.code(), Some(0), "{}", text(&o));
            continue;
        }
        error_of(&o, "refused", &format!("{args:?}"));
    }
    assert!(diff_snapshots(&before, &snapshot(t.path())).is_empty());
}

#[test]
fn a_tree_others_can_write_is_refused_to_root() {
    need_tools!();
    skip_unless!(need_root("the check applies to root only"));
    let t = fixture("debian12");
    let mail = t.path().join("etc/mail");
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(&mail, fs::Permissions::from_mode(0o777)).unwrap();
    let o = run_root(t.path(), &["check", "--format", "json"]);
    let v = error_of(&o, "refused", "world-writable etc/mail");
    assert!(v["error"].as_str().unwrap().contains("--trust-root"), "{v}");
}

#[test]
fn writing_the_live_system_without_root_is_permission() {
    need_tools!();
    skip_unless!(need_root("setpriv drops to an unprivileged user"));
    for args in [
        vec!["apply", "--yes", "--format", "json"],
        vec!["rollback", "--yes", "--format", "json"],
        vec!["rollback", "--from-backups", "--yes", "--format", "json"],
    ] {
        let o = Command::new("setpriv")
            .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
            .arg(bin())
            .args(&args)
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .output()
            .unwrap();
        let v = json(&o);
        if v["kind"] == "other" && v["error"].as_str().unwrap_or("").contains("profile") {
            // This machine is not a system the wizard recognises: the refusal for root comes
            // first anyway, which is what is asserted below.
        }
        let v = error_of(&o, "permission", &format!("{args:?}"));
        assert!(v["error"].as_str().unwrap().contains("root"), "{v}");
    }
}

/// The journal's lock file under a root.
fn lock_of(root: &Path) -> std::path::PathBuf {
    let d = root.join("var/lib/smtpauth-wizard");
    fs::create_dir_all(&d).unwrap();
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(&d, fs::Permissions::from_mode(0o700)).unwrap();
    d.join("lock")
}

#[test]
fn another_wizard_at_work_is_locked() {
    need_tools!();
    let t = fixture("debian12");
    let r = t.path();
    let lock = lock_of(r);
    for args in [vec!["apply", "--yes"], vec!["rollback", "--yes"]] {
        // flock(1) holds the lock while our program runs.
        let o = Command::new("flock")
            .arg(&lock)
            .arg(bin())
            .args(&args)
            .args(["--format", "json", "--root", r.to_str().unwrap()])
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .output()
            .unwrap();
        let v = error_of(&o, "locked", &format!("{args:?}"));
        assert!(v["error"].as_str().unwrap().contains("lock"), "{v}");
    }
}

#[test]
fn an_unreadable_journal_is_journal() {
    need_tools!();
    for (name, body) in [
        ("garbage", "this is not a journal\n".to_string()),
        ("newer", "version: 999\nruns: []\n".to_string()),
        ("empty", String::new()),
    ] {
        let t = fixture("debian12");
        let r = t.path();
        let j = lock_of(r).with_file_name("journal.yaml");
        fs::write(&j, body).unwrap();
        for args in [vec!["rollback", "--yes"], vec!["apply", "--yes"]] {
            let o = run_root(r, &with_json(&args));
            let v = error_of(&o, "journal", &format!("{name} {args:?}"));
            assert!(
                v["error"].as_str().unwrap().contains("--from-backups"),
                "{name}: {v}"
            );
        }
    }
}

#[test]
fn rollback_over_a_changed_file_is_conflict_with_its_paths() {
    need_tools!();
    let t = fixture("debian12");
    let r = t.path();
    let o = run_root(r, &["apply", "--yes"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let mc = r.join("etc/mail/sendmail.mc");
    let cf = r.join("etc/mail/sendmail.cf");
    for (k, changed) in [vec![&mc], vec![&mc, &cf]].into_iter().enumerate() {
        for f in &changed {
            let mut b = fs::read(f).unwrap();
            b.extend_from_slice(format!("dnl hand edit {k}\n").as_bytes());
            fs::write(f, b).unwrap();
        }
        let before = snapshot(r);
        // With --yes the engine refuses; without, the CLI refuses before asking.
        for args in [vec!["rollback", "--yes"], vec!["rollback"]] {
            let o = run_root(r, &with_json(&args));
            let v = error_of(&o, "conflict", &format!("{args:?}"));
            let paths: Vec<&str> = v["paths"]
                .as_array()
                .unwrap_or_else(|| panic!("{v}"))
                .iter()
                .map(|p| p.as_str().unwrap())
                .collect();
            for f in &changed {
                assert!(
                    paths.iter().any(|p| Path::new(p) == f.as_path()),
                    "{args:?}: {} not in {paths:?}",
                    f.display()
                );
            }
            assert_eq!(paths.len(), changed.len(), "{paths:?}");
            assert!(v["error"].as_str().unwrap().contains("--force"), "{v}");
        }
        assert!(diff_snapshots(&before, &snapshot(r)).is_empty());
    }
    let o = run_root(r, &["rollback", "--yes", "--force", "--format", "json"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
}

/// A sendmail.cf that holds hand edits: the plan has a step in error and apply refuses before
/// the first write, naming it.
#[test]
fn a_plan_with_a_step_in_error_is_blocked_naming_the_step() {
    need_tools!();
    for fx in ["debian12", "rhel9", "redhat9"] {
        for edit in [
            "O Timeout.queuereturn=9d\n",
            "# my own rule\nR$* < @ local.example > $*\t$#local $: $1\n",
        ] {
            let t = fixture(fx);
            let r = t.path();
            let cf = r.join("etc/mail/sendmail.cf");
            let mut b = fs::read(&cf).unwrap();
            b.extend_from_slice(edit.as_bytes());
            fs::write(&cf, b).unwrap();
            let before = snapshot(r);
            for args in [
                vec!["apply", "--yes"],
                vec!["apply", "--yes", "--only", "sendmail-cf"],
            ] {
                let o = run_root(r, &with_json(&args));
                let v = error_of(&o, "blocked", &format!("{fx} {args:?}"));
                assert_eq!(v["step"], "sendmail-cf", "{fx}: {v}");
                assert!(
                    v["error"].as_str().unwrap().contains("--discard-cf-edits"),
                    "{fx}: {v}"
                );
            }
            assert!(diff_snapshots(&before, &snapshot(r)).is_empty(), "{fx}");
        }
    }
}

/// Removes the immutable flag again, whatever happens to the test.
struct Mutable(std::path::PathBuf);
impl Drop for Mutable {
    fn drop(&mut self) {
        let _ = Command::new("chattr").arg("-i").arg(&self.0).status();
    }
}

/// A file even root cannot replace (chattr +i): the step that writes it fails, its kind is
/// step_failed with the step's id, and the cause is io naming the file.
#[test]
fn a_write_that_fails_is_step_failed_with_an_io_cause() {
    need_tools!();
    skip_unless!(need_root("chattr +i"));
    for (fx, file, step) in [
        ("debian12", "etc/mail/sendmail.mc", "sendmail-mc"),
        ("rhel9", "etc/mail/sendmail.mc", "sendmail-mc"),
        ("debian12", "etc/mail/sendmail.cf", "sendmail-cf"),
    ] {
        let t = fixture(fx);
        let p = t.path().join(file);
        match Command::new("chattr").arg("+i").arg(&p).output() {
            Ok(o) if o.status.success() => {}
            Ok(o) => skip_test!(
                "chattr +i is not supported here: {}",
                String::from_utf8_lossy(&o.stderr).trim()
            ),
            Err(e) => skip_test!("chattr unavailable: {e}"),
        }
        let _guard = Mutable(p.clone());
        let o = run_root(t.path(), &["apply", "--yes", "--format", "json"]);
        let v = error_of(&o, "step_failed", &format!("{fx} {file}"));
        assert_eq!(v["step"], step, "{fx}: {v}");
        assert!(v["undone"].is_array(), "{fx}: {v}");
        assert_eq!(v["cause"]["kind"], "io", "{fx}: {v}");
        assert_eq!(v["cause"]["action"], "write", "{fx}: {v}");
        assert_eq!(
            Path::new(v["cause"]["path"].as_str().unwrap()),
            p.as_path(),
            "{fx}: {v}"
        );
        drop(_guard);
        let o = run_root(t.path(), &["rollback", "--yes"]);
        assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    }
}

/// The table in README's "Exit codes" (docs/json.md links to it): every kind with its exit code.
#[test]
fn every_kind_is_documented_with_its_exit_code() {
    let doc = fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    for (kind, code) in smtpauth_wizard::engine::error::KINDS {
        assert!(
            doc.contains(&format!("| `{kind}` | {code} |")),
            "README.md has no row for {kind} in the exit codes' kinds table"
        );
    }
}

/// relay-report and probe: a tool that fails is tool_failed, a log that cannot be read is io,
/// a wrong option value or file is bad_input naming it.
#[test]
fn relay_report_and_probe_errors_have_their_kinds() {
    let t = tempfile::tempdir().unwrap();
    let fake_gz = t.path().join("mail.log.2.gz");
    fs::write(&fake_gz, "not gzip\n").unwrap();
    let cut_gz = t.path().join("mail.log.3.gz");
    fs::write(&cut_gz, [0x1f, 0x8b, 0x08, 0x00, 0x00]).unwrap();
    let missing = t.path().join("no-such.log");
    let (g, c, m) = (
        fake_gz.to_str().unwrap(),
        cut_gz.to_str().unwrap(),
        missing.to_str().unwrap(),
    );
    for (args, kind, field, value) in [
        (vec!["relay-report", "--log", g], "bad_input", "file", g),
        (vec!["relay-report", "--log", c], "bad_input", "file", c),
        (vec!["relay-report", "--log", m], "io", "path", m),
        (
            vec!["relay-report", "--since", "yesterday-ish", "--log", g],
            "bad_input",
            "file",
            "--since",
        ),
        (vec!["probe"], "bad_input", "file", "TARGET"),
        (
            vec!["probe", "127.0.0.1:notaport"],
            "bad_input",
            "file",
            "TARGET",
        ),
        (
            vec![
                "probe",
                "127.0.0.1:1",
                "--user",
                "u",
                "--password-env",
                "SMTPAUTH_WIZARD_NO_SUCH_VAR",
            ],
            "bad_input",
            "file",
            "--password-env",
        ),
    ] {
        let v = error_of(&run(&with_json(&args)), kind, &format!("{args:?}"));
        assert_eq!(v[field], value, "{args:?}: {v}");
    }
    if Command::new("journalctl")
        .arg("--version")
        .output()
        .is_err()
    {
        skip_test!("journalctl is not installed");
    }
    for dir in ["/etc/hostname", "/nonexistent-journal-dir"] {
        let v = error_of(
            &run(&["relay-report", "--journal-dir", dir, "--format", "json"]),
            "tool_failed",
            dir,
        );
        assert_eq!(v["tool"], "journalctl", "{v}");
        assert!(v["error"].as_str().unwrap().contains(dir), "{v}");
    }
}

/// Issue 10 item 2: the TUI learns which diff line turns the loopback-only listener off from
/// the engine (the mc model's reading of before and after), not from the diff's text. The note
/// follows that line for every spelling sendmail accepts (`A=` for `Addr=`, other loopback
/// addresses, spaces), and no other change is annotated.
#[test]
fn the_loopback_listener_the_plan_closes_is_the_engines_answer() {
    use smtpauth_wizard::engine::step::Options;
    use smtpauth_wizard::tui::{view, worker};
    need_tools!();
    let spellings = [
        None,
        Some("DAEMON_OPTIONS(`Port=smtp, A=127.0.0.1, Name=MTA')dnl"),
        Some("DAEMON_OPTIONS(`Port=smtp,Addr=127.0.1.1, Name=MTA')dnl"),
        Some("DAEMON_OPTIONS(`Port=smtp, Addr = localhost, Name=MTA')dnl"),
        Some("DAEMON_OPTIONS(`Family=inet6, Port=smtp, Addr=::1, Name=MTA-v6')dnl"),
    ];
    for fx in ["debian12", "rhel9", "redhat9"] {
        for (k, line) in spellings.iter().enumerate() {
            let t = fixture(fx);
            let mc = t.path().join("etc/mail/sendmail.mc");
            if let Some(line) = line {
                let text = fs::read_to_string(&mc).unwrap();
                let mut done = false;
                let new: Vec<String> = text
                    .lines()
                    .map(|l| {
                        if !done
                            && l.starts_with("DAEMON_OPTIONS(")
                            && l.contains("127.0.0.1")
                            && (l.contains("Port=smtp") || l.contains("Name=MTA"))
                        {
                            done = true;
                            line.to_string()
                        } else {
                            l.to_string()
                        }
                    })
                    .collect();
                assert!(done, "{fx}: no loopback listener line");
                fs::write(&mc, new.join("\n") + "\n").unwrap();
            }
            let e = smtpauth_wizard::steps::open(t.path(), None, Options::default()).unwrap();
            let snap = worker::snapshot(&e);
            let what = format!("{fx} variant {k}");
            assert_eq!(
                snap.closed_listeners.len(),
                1,
                "{what}: {:?}",
                snap.closed_listeners
            );
            let closed = &snap.closed_listeners[0];
            let after = closed.after.as_deref().unwrap_or_else(|| panic!("{what}"));
            // Commented out, or kept without its loopback address.
            assert!(
                after.trim_start().starts_with("dnl")
                    || !["127.0.", "::1", "localhost"]
                        .iter()
                        .any(|a| after.contains(a)),
                "{what}: {after}"
            );
            let theme = view::Theme { color: false };
            let mut annotated = 0;
            for r in &snap.reports {
                for c in &r.changes {
                    let mine: Vec<_> = snap
                        .closed_listeners
                        .iter()
                        .filter(|l| l.step == r.id && l.path == c.path)
                        .collect();
                    let lines: Vec<String> = view::step::diff_lines(&theme, &c.diff(), 400, &mine)
                        .iter()
                        .map(|l| l.to_string())
                        .collect();
                    let notes: Vec<usize> = lines
                        .iter()
                        .enumerate()
                        .filter(|(_, l)| {
                            l.contains("tells Sendmail to listen only on loopback")
                                || l.contains("told Sendmail to listen only on loopback")
                        })
                        .map(|(i, _)| i)
                        .collect();
                    if notes.is_empty() {
                        continue;
                    }
                    annotated += 1;
                    assert_eq!(r.id, "sendmail-mc", "{what}");
                    assert_eq!(notes.len(), 1, "{what}: {lines:#?}");
                    assert_eq!(
                        lines[notes[0] - 1].trim_end(),
                        format!("+{after}").trim_end(),
                        "{what}: the note follows the line that closes the listener"
                    );
                }
            }
            assert_eq!(annotated, 1, "{what}");
        }
    }
}

/// A profile file that does not parse, or whose overrides for this release do not apply, is
/// bad_input naming the profile file.
#[test]
fn a_bad_profile_is_bad_input_naming_it() {
    need_tools!();
    let t = fixture("debian12");
    let r = t.path();
    let debian = fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/assets/profiles/debian.yaml"
    ))
    .unwrap();
    let over = |set: &str| {
        format!(
            "{debian}  - when: {{ id: [debian], version_id: \">=12\" }}\n    why: a test\n    set:\n{set}"
        )
    };
    let variants = [
        ("not-yaml.yaml", "id: [debian\n".to_string()),
        ("unknown-key.yaml", format!("{debian}colour: blue\n")),
        (
            "bad-override-type.yaml",
            over("      auth:\n        default_mechanisms: 5\n"),
        ),
        (
            "bad-override-key.yaml",
            over("      service:\n        nmae: sendmail\n"),
        ),
    ];
    let before = snapshot(r);
    for (name, text) in variants {
        let p = r.join(name);
        fs::write(&p, text).unwrap();
        let ps = p.to_str().unwrap();
        let o = run(&[
            "check",
            "--profile",
            ps,
            "--root",
            r.to_str().unwrap(),
            "--format",
            "json",
        ]);
        let v = error_of(&o, "bad_input", name);
        assert_eq!(v["file"], ps, "{name}: {v}");
        fs::remove_file(&p).unwrap();
    }
    assert!(diff_snapshots(&before, &snapshot(r)).is_empty());
}
