//! The command line tested as a process on private copies of the fixture roots: exit codes,
//! JSON shape, golden files after apply, apply-then-rollback identity, idempotence, refusals.

mod common;
use common::*;
use std::fs;
use std::path::Path;

const STEPS: &[&str] = &[
    "os",
    "privileges",
    "packages",
    "backup",
    "sendmail-mc",
    "sendmail-cf",
    "pam",
    "sasl",
    "tls",
    "submission",
    "relay-access",
    "relay-domains",
    "relay-features",
    "restart",
    "ehlo",
];

fn json(o: &std::process::Output) -> serde_json::Value {
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("not JSON ({e}): {}", text(o)))
}

#[test]
fn check_reports_every_step_in_order_as_json() {
    need_tools!();
    for name in FIXTURES {
        let t = fixture(name);
        let o = run_root(t.path(), &["check", "--format", "json"]);
        assert_eq!(o.status.code(), Some(2), "{name}: {}", text(&o));
        let v = json(&o);
        let steps = v["steps"].as_array().unwrap();
        let ids: Vec<&str> = steps.iter().map(|s| s["id"].as_str().unwrap()).collect();
        assert_eq!(ids, STEPS, "{name}");
        for s in steps {
            for k in ["id", "title", "status", "findings", "changes"] {
                assert!(s.get(k).is_some(), "{name}: step lacks {k}: {s}");
            }
            let st = s["status"].as_str().unwrap();
            assert!(
                ["done", "pending", "blocked", "skipped", "error"].contains(&st),
                "{st}"
            );
            for c in s["changes"].as_array().unwrap() {
                assert!(c["path"].as_str().unwrap().starts_with('/'));
                let d = c["diff"].as_str().unwrap();
                // The tls step's private key is summarised, never shown.
                assert!(
                    d.contains("+++ b/") || d.starts_with("Binary") || d.contains("a private key"),
                    "{d}"
                );
                assert!(!d.contains("BEGIN PRIVATE KEY"), "{d}");
            }
        }
        assert_eq!(
            v["profile"],
            serde_json::json!(match *name {
                "redhat9" => "redhat-legacy",
                "rhel9" => "rhel",
                _ => "debian",
            })
        );
        let restart = steps.iter().find(|s| s["id"] == "restart").unwrap();
        assert_eq!(restart["status"], "skipped");
    }
}

#[test]
fn plan_shows_the_howto_edits_on_red_hat_9() {
    need_tools!();
    let t = fixture("redhat9");
    let before = snapshot(t.path());
    let o = run_root(t.path(), &["plan"]);
    let out = text(&o);
    assert_eq!(o.status.code(), Some(2), "{out}");
    for want in [
        "+TRUST_AUTH_MECH(`LOGIN PLAIN')dnl",
        "+define(`confAUTH_MECHANISMS', `LOGIN PLAIN')dnl",
        "-dnl TRUST_AUTH_MECH(`DIGEST-MD5 CRAM-MD5 LOGIN PLAIN')dnl",
        "+dnl DAEMON_OPTIONS(`Port=smtp,Addr=127.0.0.1, Name=MTA')dnl",
        "etc/mail/sendmail.mc.bak: copy of /etc/mail/sendmail.mc, 58 lines, sha256 ",
        "+++ b/etc/mail/sendmail.cf",
        "etc/sendmail.cf: copy of the new /etc/mail/sendmail.cf, ",
        "+++ b/usr/lib/sasl/Sendmail.conf",
        "+pwcheck_method:pam",
        "+# disabled by smtpauth-wizard (HOWTO step 10): 192.168.0\t\t\tRELAY",
        "+dnl FEATURE(`accept_unresolvable_domains')dnl",
        "friends-of-mine.example.net is not in /etc/mail/local-host-names",
    ] {
        assert!(out.contains(want), "plan lacks {want:?}:\n{out}");
    }
    assert_eq!(snapshot(t.path()), before, "plan wrote something");
    assert!(
        !t.path().join("var/lib/smtpauth-wizard").exists(),
        "plan created the journal"
    );
}

#[test]
fn apply_then_rollback_restores_every_original_byte_for_byte() {
    need_tools!();
    for name in FIXTURES {
        let t = fixture(name);
        let before = snapshot(t.path());
        let o = run_root(t.path(), &["apply", "--yes"]);
        assert_eq!(o.status.code(), Some(0), "{name} apply: {}", text(&o));
        let after = snapshot(t.path());
        assert_ne!(after, before, "{name}: apply changed nothing");
        let o = run_root(t.path(), &["check"]);
        assert_eq!(
            o.status.code(),
            Some(0),
            "{name}: check after apply should have nothing to do: {}",
            text(&o)
        );
        let o = run_root(t.path(), &["rollback", "--yes"]);
        assert_eq!(o.status.code(), Some(0), "{name} rollback: {}", text(&o));
        let back = snapshot(t.path());
        let d = diff_snapshots(&before, &back);
        assert!(d.is_empty(), "{name}: rollback is not the identity: {d:#?}");
        // And a second rollback has nothing to do.
        let o = run_root(t.path(), &["rollback", "--yes"]);
        assert!(text(&o).contains("nothing to roll back"), "{}", text(&o));
    }
}

#[test]
fn apply_twice_equals_apply_once() {
    need_tools!();
    for name in FIXTURES {
        let t = fixture(name);
        assert_eq!(
            run_root(t.path(), &["apply", "--yes"]).status.code(),
            Some(0)
        );
        let once = snapshot(t.path());
        let o = run_root(t.path(), &["apply", "--yes"]);
        assert_eq!(o.status.code(), Some(0), "{}", text(&o));
        assert!(text(&o).contains("nothing to do"), "{name}: {}", text(&o));
        assert_eq!(
            diff_snapshots(&once, &snapshot(t.path())),
            Vec::<String>::new(),
            "{name}"
        );
    }
}

/// The files apply writes, against golden copies in tests/golden/<fixture>/ (sendmail.cf by
/// its significant lines). `UPDATE_GOLDEN=1 cargo test` rewrites them after a deliberate change.
#[test]
fn apply_produces_the_golden_files() {
    need_tools!();
    for name in FIXTURES {
        let t = fixture(name);
        let before = snapshot(t.path());
        let o = run_root(t.path(), &["apply", "--yes"]);
        assert_eq!(o.status.code(), Some(0), "{}", text(&o));
        let after = snapshot(t.path());
        let golden = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/golden")
            .join(name);
        let mut changed: Vec<String> = after
            .iter()
            .filter(|(k, v)| before.get(*k) != Some(*v) && matches!(v, Entry::File { .. }))
            .map(|(k, _)| k.clone())
            .collect();
        changed.sort();
        let list = golden.join("CHANGED-FILES");
        if std::env::var_os("UPDATE_GOLDEN").is_some() {
            let _ = fs::remove_dir_all(&golden);
            fs::create_dir_all(&golden).unwrap();
            fs::write(&list, changed.join("\n") + "\n").unwrap();
            for f in &changed {
                if f.ends_with(".db") || f.contains("smtpauth-wizard.") || f.contains("/pki/tls/") {
                    continue; // Berkeley DB files, fresh keys: no stable bytes
                }
                let dst = golden.join(f);
                fs::create_dir_all(dst.parent().unwrap()).unwrap();
                fs::copy(t.path().join(f), dst).unwrap();
            }
            continue;
        }
        let want = fs::read_to_string(&list)
            .unwrap_or_else(|_| panic!("no {}; run with UPDATE_GOLDEN=1", list.display()));
        assert_eq!(
            changed.join("\n") + "\n",
            want,
            "{name}: the set of changed files"
        );
        for f in &changed {
            // The tls step's self-signed certificate and key are made fresh on every run (a
            // new key): only that they are written is golden; tests/tls_step.rs checks them.
            if f.ends_with(".db") || f.contains("smtpauth-wizard.") || f.contains("/pki/tls/") {
                continue;
            }
            let got = fs::read(t.path().join(f)).unwrap();
            let exp = fs::read(golden.join(f)).unwrap();
            if f.ends_with("sendmail.cf") {
                assert_eq!(cf_significant(&got), cf_significant(&exp), "{name}: {f}");
            } else {
                assert_eq!(
                    String::from_utf8_lossy(&got),
                    String::from_utf8_lossy(&exp),
                    "{name}: {f}"
                );
            }
        }
    }
}

#[test]
fn apply_refuses_without_a_terminal_and_changes_nothing() {
    need_tools!();
    let t = fixture("debian12");
    let before = snapshot(t.path());
    let o = run_root(t.path(), &["apply"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o).contains("not a terminal"), "{}", text(&o));
    let o = run_root(t.path(), &["rollback"]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "nothing to roll back needs no confirmation: {}",
        text(&o)
    );
    assert_eq!(snapshot(t.path()), before);
    assert!(!t
        .path()
        .join("var/lib/smtpauth-wizard/journal.yaml")
        .exists());
}

#[test]
fn rollback_stops_at_a_file_changed_since_the_wizard_wrote_it() {
    need_tools!();
    let t = fixture("redhat9");
    let before = snapshot(t.path());
    assert_eq!(
        run_root(t.path(), &["apply", "--yes"]).status.code(),
        Some(0)
    );
    let mc = t.path().join("etc/mail/sendmail.mc");
    let mut s = fs::read_to_string(&mc).unwrap();
    s.push_str("dnl a later edit by the admin\n");
    fs::write(&mc, &s).unwrap();
    let o = run_root(t.path(), &["status"]);
    assert!(text(&o).contains("CHANGED SINCE"), "{}", text(&o));
    let o = run_root(t.path(), &["rollback", "--yes"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let msg = text(&o);
    assert!(
        msg.contains("sendmail.mc changed since smtpauth-wizard wrote it")
            && msg.contains("--force"),
        "{msg}"
    );
    assert_eq!(
        fs::read_to_string(&mc).unwrap(),
        s,
        "the admin's edit was overwritten"
    );
    let o = run_root(t.path(), &["rollback", "--yes", "--force"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(diff_snapshots(&before, &snapshot(t.path())).is_empty());
}

#[test]
fn unknown_systems_and_bad_roots_are_errors_that_say_what_to_do() {
    let t = tempfile::tempdir().unwrap();
    fs::create_dir_all(t.path().join("etc")).unwrap();
    fs::write(
        t.path().join("etc/os-release"),
        "PRETTY_NAME=\"Plan 9\"\nID=plan9\n",
    )
    .unwrap();
    let o = run_root(t.path(), &["check"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        text(&o).contains("unknown distribution") && text(&o).contains("--profile"),
        "{}",
        text(&o)
    );
    let o = run(&["check", "--root", "/nonexistent/dir"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o).contains("/nonexistent/dir"), "{}", text(&o));
    let o = run_root(t.path(), &["check", "--format", "json"]);
    assert_eq!(json(&o)["steps"][0]["status"], "error");
    let bad = t.path().join("bad.yaml");
    fs::write(&bad, "id: x\nnonsense: 1\n").unwrap();
    let o = run_root(t.path(), &["check", "--profile", bad.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o).contains("bad.yaml"), "{}", text(&o));
}

#[test]
fn apply_on_the_live_system_without_root_refuses_before_touching_anything() {
    // As root (CI), drop to nobody for this one process; as a user, run directly.
    let euid = nix::unistd::geteuid().as_raw();
    let o = if euid == 0 {
        match std::process::Command::new("setpriv")
            .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
            .arg(bin())
            .args(["apply", "--yes"])
            .output()
        {
            Ok(o) => o,
            Err(e) => {
                common::skip(format!("setpriv (util-linux) unavailable: {e}"));
                return;
            }
        }
    } else {
        run(&["apply", "--yes"])
    };
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(text(&o).contains("need root privileges"), "{}", text(&o));
}

#[test]
fn an_alternatives_link_is_edited_through_never_replaced() {
    need_tools!();
    let t = fixture("rhel9");
    let target = t.path().join("etc/pam.d/smtp.sendmail");
    fs::write(&target, "#%PAM-1.0\nauth required /lib/security/pam_stack.so service=system-auth\naccount required /lib/security/pam_stack.so service=system-auth\n").unwrap();
    let before = snapshot(t.path());
    let o = run_root(t.path(), &["apply", "--yes"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let link = t.path().join("etc/pam.d/smtp");
    assert!(
        fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink(),
        "the link was replaced"
    );
    assert!(fs::read_to_string(&target)
        .unwrap()
        .contains("include\tpassword-auth"));
    assert_eq!(
        run_root(t.path(), &["rollback", "--yes"]).status.code(),
        Some(0)
    );
    assert!(diff_snapshots(&before, &snapshot(t.path())).is_empty());
}

#[test]
fn status_reads_the_journal_and_survives_a_corrupt_one() {
    need_tools!();
    let t = fixture("debian12");
    let o = run_root(t.path(), &["status"]);
    assert!(
        text(&o).contains("the wizard has changed nothing here"),
        "{}",
        text(&o)
    );
    assert_eq!(
        run_root(t.path(), &["apply", "--yes"]).status.code(),
        Some(0)
    );
    let o = run_root(t.path(), &["status", "--format", "json"]);
    let v = json(&o);
    assert_eq!(v["runs"].as_array().unwrap().len(), 1);
    assert!(v["runs"][0]["finished"].is_string());
    let j = t.path().join("var/lib/smtpauth-wizard/journal.yaml");
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        fs::metadata(&j).unwrap().permissions().mode() & 0o777,
        0o600
    );
    assert_eq!(
        fs::metadata(j.parent().unwrap())
            .unwrap()
            .permissions()
            .mode()
            & 0o777,
        0o700
    );
    fs::write(&j, "version: 1\nruns: [ {{ oops").unwrap();
    let o = run_root(t.path(), &["status"]);
    assert_eq!(o.status.code(), Some(1));
    let s = text(&o);
    assert!(
        s.contains("cannot be read") && s.contains("backup present"),
        "{s}"
    );
}
