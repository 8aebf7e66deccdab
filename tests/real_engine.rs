//! Issue 9, items 4, 5, 12 and 13: real servers are not clean fixtures. Every test runs the
//! real binary on a fixture tree (or a variant built here) with the real m4 and cf tree.
//!
//! - item 4: hand edits in sendmail.cf are found and never silently discarded;
//! - item 5: a step that edits a file the backup step covers gets its `.bak` first;
//! - item 12: rollback checks every file of the run before touching any;
//! - item 13: an already configured server is `done`, backup included.

mod common;
use common::*;
use smtpauth_wizard::engine::step::Options;
use smtpauth_wizard::engine::Engine;
use std::fs;
use std::path::Path;

/// Rebuilds the tree's sendmail.cf from its sendmail.mc with m4 (as `make` would on the real
/// server), keeping the cf's attributes: a variant whose mc was changed then looks like a
/// server whose cf is current, not like one with hand edits.
fn rebuild_cf(root: &Path) {
    let e = Engine::new(root, None, Options::default()).unwrap();
    let p = e.profile().unwrap().clone();
    let mc = fs::read_to_string(e.root().join(&p.sendmail.mc)).unwrap();
    let (cf, _) =
        smtpauth_wizard::steps::sendmail_cf::regenerate(&e.cx, &p.sendmail.mc, &mc).unwrap();
    for t in &p.sendmail.cf {
        let real = e.root().join(t);
        if real.exists() {
            let mtime = fs::metadata(&real).unwrap().modified().unwrap();
            fs::write(&real, &cf).unwrap();
            fs::File::options()
                .write(true)
                .open(&real)
                .unwrap()
                .set_modified(mtime)
                .unwrap();
        }
    }
}

/// Adds `line` before the first MAILER( line of the tree's sendmail.mc and rebuilds the cf.
fn mc_with(root: &Path, line: &str) {
    let mc = root.join("etc/mail/sendmail.mc");
    let s = fs::read_to_string(&mc).unwrap();
    let i = s.find("MAILER(").unwrap();
    let i = s[..i].rfind('\n').map_or(0, |n| n + 1);
    fs::write(&mc, format!("{}{line}\n{}", &s[..i], &s[i..])).unwrap();
    rebuild_cf(root);
}

fn code(o: &std::process::Output) -> Option<i32> {
    o.status.code()
}

fn apply_ok(root: &Path) {
    let o = run_root(root, &["apply", "--yes"]);
    assert_eq!(code(&o), Some(0), "apply: {}", text(&o));
}

fn append(p: &Path, s: &str) {
    let mut t = fs::read(p).unwrap();
    t.extend_from_slice(s.as_bytes());
    fs::write(p, t).unwrap();
}

// ---- item 12: rollback checks every file before touching any ---------------------------

/// A change to the file of the EARLIEST step (backup's sendmail.mc.bak): the old rollback
/// undid every newer step first, then stopped there, leaving sendmail.cf restored and the
/// backups in place. Now it refuses with the list and changes nothing; --force proceeds.
#[test]
fn rollback_refuses_up_front_when_the_earliest_steps_file_changed() {
    need_tools!();
    for fx in FIXTURES {
        let t = fixture(fx);
        let r = t.path();
        let original = snapshot(r);
        apply_ok(r);
        append(
            &r.join("etc/mail/sendmail.mc.bak"),
            "dnl the admin's note\n",
        );
        let edited = snapshot(r);
        let o = run_root(r, &["rollback", "--yes"]);
        assert_eq!(code(&o), Some(1), "{fx}: {}", text(&o));
        let msg = text(&o);
        assert!(
            msg.contains("rollback refused")
                && msg.contains("sendmail.mc.bak changed since smtpauth-wizard wrote it")
                && msg.contains("--force"),
            "{fx}: {msg}"
        );
        assert!(
            diff_snapshots(&edited, &snapshot(r)).is_empty(),
            "{fx}: a refused rollback changed files: {:?}",
            diff_snapshots(&edited, &snapshot(r))
        );
        let o = run_root(r, &["rollback", "--yes", "--force"]);
        assert_eq!(code(&o), Some(0), "{fx}: {}", text(&o));
        assert!(
            diff_snapshots(&original, &snapshot(r)).is_empty(),
            "{fx}: {:?}",
            diff_snapshots(&original, &snapshot(r))
        );
    }
}

/// Changes to the earliest step's file AND the latest step's file: both are listed, in one
/// refusal, and nothing is touched.
#[test]
fn rollback_lists_every_changed_file_of_the_run() {
    need_tools!();
    let t = fixture("debian12");
    let r = t.path();
    let original = snapshot(r);
    apply_ok(r);
    // backup wrote sendmail.cf.bak first; relay-domains wrote relay-domains last.
    append(&r.join("etc/mail/sendmail.cf.bak"), "# note\n");
    append(&r.join("etc/mail/relay-domains"), "example.org\n");
    // A file in the middle is removed altogether.
    fs::remove_file(r.join("etc/default/saslauthd")).unwrap();
    let edited = snapshot(r);
    let o = run_root(r, &["rollback", "--yes"]);
    assert_eq!(code(&o), Some(1), "{}", text(&o));
    let msg = text(&o);
    for f in ["sendmail.cf.bak", "relay-domains", "saslauthd"] {
        assert!(
            msg.contains(&format!("{f} changed since smtpauth-wizard wrote it")),
            "{f} not listed: {msg}"
        );
    }
    assert!(msg.contains("3 file(s)"), "{msg}");
    assert!(msg.contains("<file is gone>"), "{msg}");
    assert!(diff_snapshots(&edited, &snapshot(r)).is_empty());
    // One step only: only its files are looked at.
    let o = run_root(r, &["rollback", "--yes", "--step", "sendmail-cf"]);
    assert_eq!(code(&o), Some(0), "{}", text(&o));
    let o = run_root(r, &["rollback", "--yes", "--force"]);
    assert_eq!(code(&o), Some(0), "{}", text(&o));
    assert!(diff_snapshots(&original, &snapshot(r)).is_empty());
}

/// sendmail.mc and sendmail.cf are written twice in one run (sendmail-mc/sendmail-cf, then
/// relay-features): what the older step wrote is not "changed since" because the newer step
/// wrote over it. `status` used to say CHANGED SINCE for them.
#[test]
fn a_file_written_by_two_steps_is_not_a_conflict() {
    need_tools!();
    for fx in FIXTURES {
        let t = fixture(fx);
        let r = t.path();
        mc_with(r, "FEATURE(`relay_based_on_MX')dnl");
        let original = snapshot(r);
        apply_ok(r);
        let o = run_root(r, &["status"]);
        assert!(!text(&o).contains("CHANGED SINCE"), "{fx}: {}", text(&o));
        let o = run_root(r, &["--format", "json", "status"]);
        let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        assert_eq!(v["changed_since_written"], serde_json::json!([]), "{fx}");
        // An edit after the run is found at the newest writer, once.
        append(&r.join("etc/mail/sendmail.mc"), "dnl later\n");
        let o = run_root(r, &["rollback", "--yes"]);
        assert_eq!(code(&o), Some(1), "{fx}: {}", text(&o));
        let msg = text(&o);
        assert!(msg.contains("1 file(s)"), "{fx}: {msg}");
        assert!(msg.contains("(step relay-features;"), "{fx}: {msg}");
        let o = run_root(r, &["rollback", "--yes", "--force"]);
        assert_eq!(code(&o), Some(0), "{fx}: {}", text(&o));
        assert!(
            diff_snapshots(&original, &snapshot(r)).is_empty(),
            "{fx}: {:?}",
            diff_snapshots(&original, &snapshot(r))
        );
    }
}

// ---- item 5: a .bak that is not the original ------------------------------------------

fn read(p: &Path) -> Vec<u8> {
    fs::read(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// `apply --only sendmail-mc` before `backup` made the later sendmail.mc.bak a copy of the
/// EDITED mc; `rollback --from-backups` then left an AUTH mc beside the original cf. Now the
/// backup runs first (and says so), the staleness of sendmail-cf is named, and restoring from
/// the backups gives back the original mc and cf.
#[test]
fn apply_only_sendmail_mc_backs_up_first_and_the_backups_are_the_originals() {
    need_tools!();
    for fx in FIXTURES {
        let t = fixture(fx);
        let r = t.path();
        let mc = r.join("etc/mail/sendmail.mc");
        let cf = r.join("etc/mail/sendmail.cf");
        let (mc0, cf0) = (read(&mc), read(&cf));
        let o = run_root(r, &["apply", "--yes", "--only", "sendmail-mc"]);
        assert_eq!(code(&o), Some(0), "{fx}: {}", text(&o));
        let out = text(&o);
        assert!(
            out.contains("backup runs first: sendmail-mc writes")
                && out.contains("applied: backup, sendmail-mc"),
            "{fx}: {out}"
        );
        assert!(
            out.contains("sendmail-cf is now pending (") && out.contains("sendmail.mc changed)"),
            "{fx}: {out}"
        );
        assert_ne!(read(&mc), mc0, "{fx}: the mc was not edited");
        assert_eq!(read(&r.join("etc/mail/sendmail.mc.bak")), mc0, "{fx}");
        assert_eq!(read(&r.join("etc/mail/sendmail.cf.bak")), cf0, "{fx}");
        // A later full apply keeps the .bak files as they are.
        apply_ok(r);
        assert_eq!(read(&r.join("etc/mail/sendmail.mc.bak")), mc0, "{fx}");
        let o = run_root(r, &["rollback", "--yes", "--from-backups"]);
        assert_eq!(code(&o), Some(0), "{fx}: {}", text(&o));
        assert_eq!(read(&mc), mc0, "{fx}: the mc is not the original");
        assert_eq!(read(&cf), cf0, "{fx}: the cf is not the original");
    }
}

/// The same for every other step that writes a covered file, and none for those that do not.
#[test]
fn every_step_that_writes_the_mc_or_cf_gets_its_backup_first_and_only_those() {
    need_tools!();
    for fx in FIXTURES {
        // relay-features writes sendmail.mc and sendmail.cf.
        let t = fixture(fx);
        let r = t.path();
        mc_with(r, "FEATURE(`relay_based_on_MX')dnl");
        let (mc0, cf0) = (
            read(&r.join("etc/mail/sendmail.mc")),
            read(&r.join("etc/mail/sendmail.cf")),
        );
        let o = run_root(r, &["apply", "--yes", "--only", "relay-features"]);
        assert_eq!(code(&o), Some(0), "{fx}: {}", text(&o));
        assert!(
            text(&o).contains("backup runs first: relay-features writes"),
            "{fx}: {}",
            text(&o)
        );
        assert_eq!(read(&r.join("etc/mail/sendmail.mc.bak")), mc0, "{fx}");
        assert_eq!(read(&r.join("etc/mail/sendmail.cf.bak")), cf0, "{fx}");
        let o = run_root(r, &["rollback", "--yes", "--from-backups"]);
        assert_eq!(code(&o), Some(0), "{fx}: {}", text(&o));
        assert_eq!(read(&r.join("etc/mail/sendmail.mc")), mc0, "{fx}");
        assert_eq!(read(&r.join("etc/mail/sendmail.cf")), cf0, "{fx}");

        // Selected together: no note, same order.
        let t = fixture(fx);
        let r = t.path();
        let o = run_root(
            r,
            &[
                "apply",
                "--yes",
                "--only",
                "sendmail-mc",
                "--only",
                "backup",
            ],
        );
        assert_eq!(code(&o), Some(0), "{fx}: {}", text(&o));
        assert!(!text(&o).contains("runs first"), "{fx}: {}", text(&o));
        assert!(text(&o).contains("applied: backup, sendmail-mc"), "{fx}");

        // A step that writes neither: no .bak appears.
        let t = fixture(fx);
        let r = t.path();
        let before = snapshot(r);
        let o = run_root(r, &["apply", "--yes", "--only", "relay-domains"]);
        assert_eq!(code(&o), Some(0), "{fx}: {}", text(&o));
        assert!(!text(&o).contains("runs first"), "{fx}: {}", text(&o));
        assert!(!r.join("etc/mail/sendmail.mc.bak").exists(), "{fx}");
        let o = run_root(r, &["rollback", "--yes"]);
        assert_eq!(code(&o), Some(0), "{fx}: {}", text(&o));
        assert!(diff_snapshots(&before, &snapshot(r)).is_empty(), "{fx}");
    }
}

// ---- item 13: an already configured server is done ------------------------------------

/// A tree configured by an earlier run whose journal and .bak files are gone.
fn configured(fx: &str) -> tempfile::TempDir {
    let t = fixture(fx);
    apply_ok(t.path());
    fs::remove_dir_all(t.path().join("var/lib/smtpauth-wizard")).unwrap();
    for e in fs::read_dir(t.path().join("etc/mail")).unwrap().flatten() {
        if e.path().extension().is_some_and(|x| x == "bak") {
            fs::remove_file(e.path()).unwrap();
        }
    }
    let _ = fs::remove_file(t.path().join("etc/sendmail.cf.bak"));
    t
}

fn status_of(root: &Path, id: &str) -> String {
    let o = run_root(root, &["--format", "json", "check"]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    v["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == id)
        .unwrap()["status"]
        .as_str()
        .unwrap()
        .to_string()
}

#[test]
fn a_configured_server_without_journal_or_backups_is_done() {
    need_tools!();
    for fx in FIXTURES {
        let t = configured(fx);
        let r = t.path();
        let before = snapshot(r);
        let o = run_root(r, &["check"]);
        assert_eq!(code(&o), Some(0), "{fx}: check: {}", text(&o));
        assert_eq!(status_of(r, "backup"), "done", "{fx}");
        let o = run_root(r, &["--format", "json", "apply", "--yes"]);
        assert_eq!(code(&o), Some(0), "{fx}: {}", text(&o));
        let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        assert_eq!(v["changed"], false, "{fx}: {v}");
        assert!(diff_snapshots(&before, &snapshot(r)).is_empty(), "{fx}");
        let o = run_root(r, &["apply", "--yes", "--only", "backup"]);
        assert_eq!(code(&o), Some(0), "{fx}: {}", text(&o));
        assert!(diff_snapshots(&before, &snapshot(r)).is_empty(), "{fx}");
    }
}

/// The same server with one more change to make: when it touches sendmail.mc (a risky
/// FEATURE added by hand, cf rebuilt), backup is pending and runs first, copying the files as
/// they were; when it touches neither mc nor cf (a relay-domains entry), no .bak is made.
#[test]
fn a_configured_server_backs_up_only_before_an_edit_of_the_mc_or_cf() {
    need_tools!();
    for fx in FIXTURES {
        let t = configured(fx);
        let r = t.path();
        mc_with(r, "FEATURE(`relay_entire_domain')dnl");
        let (mc0, cf0) = (
            read(&r.join("etc/mail/sendmail.mc")),
            read(&r.join("etc/mail/sendmail.cf")),
        );
        let before = snapshot(r);
        assert_eq!(code(&run_root(r, &["check"])), Some(2), "{fx}");
        assert_eq!(status_of(r, "backup"), "pending", "{fx}");
        assert_eq!(status_of(r, "relay-features"), "pending", "{fx}");
        let o = run_root(r, &["apply", "--yes"]);
        assert_eq!(code(&o), Some(0), "{fx}: {}", text(&o));
        assert!(
            text(&o).contains("applied: backup, relay-features"),
            "{fx}: {}",
            text(&o)
        );
        assert_eq!(read(&r.join("etc/mail/sendmail.mc.bak")), mc0, "{fx}");
        assert_eq!(read(&r.join("etc/mail/sendmail.cf.bak")), cf0, "{fx}");
        let o = run_root(r, &["rollback", "--yes"]);
        assert_eq!(code(&o), Some(0), "{fx}: {}", text(&o));
        assert!(diff_snapshots(&before, &snapshot(r)).is_empty(), "{fx}");

        let t = configured(fx);
        let r = t.path();
        fs::write(r.join("etc/mail/relay-domains"), "localhost\nexample.org\n").unwrap();
        let o = run_root(r, &["check", "--prune-relay-domains"]);
        assert_eq!(code(&o), Some(2), "{fx}: {}", text(&o));
        let o = run_root(r, &["apply", "--yes", "--prune-relay-domains"]);
        assert_eq!(code(&o), Some(0), "{fx}: {}", text(&o));
        assert!(
            text(&o).contains("applied: relay-domains"),
            "{fx}: {}",
            text(&o)
        );
        assert!(!r.join("etc/mail/sendmail.mc.bak").exists(), "{fx}");
        assert!(!r.join("etc/mail/sendmail.cf.bak").exists(), "{fx}");
    }
}
