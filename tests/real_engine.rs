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
use std::fs;
use std::path::Path;

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
    // Without --yes the refusal comes before the question.
    let o = run_root(r, &["rollback"]);
    assert_eq!(code(&o), Some(1), "{}", text(&o));
    assert!(
        text(&o).contains("rollback refused: 3 file(s)"),
        "{}",
        text(&o)
    );
    // One step only: only its files are looked at. (tls, the last step that writes
    // sendmail.mc and sendmail.cf: sendmail-cf's sendmail.cf was rewritten by it since, which
    // rolling back sendmail-cf alone would rightly refuse.)
    let o = run_root(r, &["rollback", "--yes", "--step", "tls"]);
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

// ---- item 4: hand edits in sendmail.cf -------------------------------------------------

/// The findings of one step, from `check --format json` (with extra arguments).
fn findings(root: &Path, id: &str, extra: &[&str]) -> (Option<i32>, Vec<serde_json::Value>) {
    let mut a = vec!["--format", "json", "check"];
    a.extend(extra);
    let o = run_root(root, &a);
    let v: serde_json::Value =
        serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{e}: {}", text(&o)));
    let f = v["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == id)
        .unwrap()["findings"]
        .as_array()
        .unwrap()
        .clone();
    (code(&o), f)
}

/// The hand-edit finding of sendmail-cf (the one that carries the decision), if any.
fn hand_edit_finding(root: &Path, extra: &[&str]) -> Option<serde_json::Value> {
    let (_, f) = findings(root, "sendmail-cf", extra);
    f.into_iter().find(|f| f.get("decision").is_some())
}

/// Edits the installed sendmail.cf line by line.
fn edit_cf(root: &Path, cf: &str, f: impl Fn(Vec<String>) -> Vec<String>) {
    let p = root.join(cf.trim_start_matches('/'));
    let s = fs::read_to_string(&p).unwrap();
    let lines: Vec<String> = s.lines().map(str::to_string).collect();
    fs::write(&p, f(lines).join("\n") + "\n").unwrap();
}

fn after(lines: Vec<String>, prefix: &str, add: &str) -> Vec<String> {
    let i = lines.iter().position(|l| l.starts_with(prefix)).unwrap();
    let mut v = lines;
    v.insert(i + 1, add.to_string());
    v
}

fn replace(lines: Vec<String>, prefix: &str, by: &str) -> Vec<String> {
    let i = lines.iter().position(|l| l.starts_with(prefix)).unwrap();
    let mut v = lines;
    v[i] = by.to_string();
    v
}

/// A hand edit of each kind, and the text the finding must name for it.
type Variant = (&'static str, fn(Vec<String>) -> Vec<String>, &'static str);

fn hand_edit_variants() -> Vec<Variant> {
    vec![
        (
            "changed O option",
            |l| replace(l, "O Timeout.queuereturn=", "O Timeout.queuereturn=2d"),
            "`O Timeout.queuereturn=2d` (sendmail.mc gives `O Timeout.queuereturn=5d`)",
        ),
        (
            "added O option",
            |l| after(l, "O Timeout.queuereturn=", "O MaxMessageSize=1000000"),
            "added `O MaxMessageSize=1000000`",
        ),
        (
            "added R rule",
            |l| {
                after(
                    l,
                    "SLocal_check_rcpt",
                    "R$* < @ spam.example. > $*\t$#error $@ 5.7.1 $: \"550 no\"",
                )
            },
            "added `R$* < @ spam.example. > $*",
        ),
        (
            "added K map",
            |l| after(l, "Kaccess ", "Kmymap hash /etc/mail/mymap"),
            "added `Kmymap hash /etc/mail/mymap`",
        ),
        (
            "deleted line",
            |l| {
                let mut v = l;
                let i = v
                    .iter()
                    .position(|x| x.starts_with("O Timeout.queuereturn="))
                    .unwrap();
                v.remove(i);
                v
            },
            "deleted `O Timeout.queuereturn=5d`",
        ),
        (
            "changed C class",
            |l| replace(l, "Cwlocalhost", "Cwlocalhost mail.example.org"),
            "`Cwlocalhost mail.example.org`",
        ),
        (
            "changed F class",
            |l| replace(l, "Fw", "Fw/etc/mail/other-host-names"),
            "`Fw/etc/mail/other-host-names`",
        ),
        (
            "reordered rules",
            |l| {
                let mut v = l;
                let i = v
                    .iter()
                    .position(|x| x.starts_with("SLocal_check_rcpt"))
                    .unwrap();
                let j = (i + 1..v.len()).find(|&k| v[k].starts_with('R')).unwrap();
                let k = (j + 1..v.len()).find(|&k| v[k].starts_with('R')).unwrap();
                v.swap(j, k);
                v
            },
            "line ",
        ),
    ]
}

/// Every kind of hand edit, on every stock fixture: named in a finding with the decision,
/// check exits 1, apply refuses and changes nothing; --discard-cf-edits or the answers key
/// lets it regenerate.
#[test]
fn hand_edits_in_sendmail_cf_are_named_and_never_silently_discarded() {
    need_tools!();
    for fx in FIXTURES {
        for (n, (name, edit, expect)) in hand_edit_variants().into_iter().enumerate() {
            let t = fixture(fx);
            let r = t.path();
            edit_cf(r, "/etc/mail/sendmail.cf", edit);
            let (c, all) = findings(r, "sendmail-cf", &[]);
            assert_eq!(c, Some(1), "{fx}/{name}");
            let f = all
                .iter()
                .find(|f| f.get("decision").is_some())
                .unwrap_or_else(|| panic!("{fx}/{name}: no hand-edit finding"));
            assert_eq!(f["severity"], "error", "{fx}/{name}: {f}");
            assert_eq!(f["decision"]["key"], "discard_cf_edits", "{fx}/{name}");
            assert_eq!(f["decision"]["flag"], "--discard-cf-edits", "{fx}/{name}");
            assert_eq!(f["decision"]["chosen"], false, "{fx}/{name}");
            let listed: Vec<String> = all
                .iter()
                .map(|f| f["message"].as_str().unwrap().to_string())
                .collect();
            assert!(
                listed.iter().any(|m| m.contains(expect)),
                "{fx}/{name}: {expect:?} not among {listed:#?}"
            );
            let before = snapshot(r);
            let o = run_root(r, &["apply", "--yes"]);
            assert_eq!(code(&o), Some(1), "{fx}/{name}: {}", text(&o));
            assert!(
                text(&o).contains("--discard-cf-edits") && text(&o).contains("sendmail.cf"),
                "{fx}/{name}: {}",
                text(&o)
            );
            assert!(
                diff_snapshots(&before, &snapshot(r)).is_empty(),
                "{fx}/{name}"
            );
            // The way out, once per fixture (it is the same for every kind of edit).
            if n != 0 {
                continue;
            }
            // The answers key decides as the flag does.
            let ans = r.join("answers.yaml");
            fs::write(&ans, "discard_cf_edits: true\n").unwrap();
            let f = hand_edit_finding(r, &["--answers", ans.to_str().unwrap()]).unwrap();
            assert_eq!(f["severity"], "warning", "{fx}/{name}: {f}");
            assert_eq!(f["decision"]["chosen"], true, "{fx}/{name}");
            fs::remove_file(&ans).unwrap();
            let before = snapshot(r);
            let o = run_root(r, &["apply", "--yes", "--discard-cf-edits"]);
            assert_eq!(code(&o), Some(0), "{fx}/{name}: {}", text(&o));
            let o = run_root(r, &["check"]);
            assert_eq!(code(&o), Some(0), "{fx}/{name}: {}", text(&o));
            let o = run_root(r, &["rollback", "--yes"]);
            assert_eq!(code(&o), Some(0), "{fx}/{name}: {}", text(&o));
            assert!(
                diff_snapshots(&before, &snapshot(r)).is_empty(),
                "{fx}/{name}"
            );
        }
    }
}

/// What is not a hand edit: the stock trees, comment lines, the build header, CRLF line ends,
/// Debian's appended copy of the mc (present, absent, or added on Red Hat), blank lines. These
/// apply, and rollback is the identity.
#[test]
fn comments_line_ends_and_the_appended_mc_are_not_hand_edits() {
    need_tools!();
    type Benign = (&'static str, fn(&str) -> String);
    let variants: Vec<Benign> = vec![
        ("stock", |s| s.to_string()),
        ("comment lines", |s| {
            s.replacen("\nO ", "\n# the admin was here\nO ", 1)
                .replace("##### built by", "##### rebuilt by someone else,")
        }),
        ("CRLF", |s| s.replace('\n', "\r\n")),
        ("blank lines", |s| s.replacen("\nO ", "\n\n\n \nO ", 3)),
        ("no appended mc", |s| {
            match s.find("### /etc/mail/sendmail.mc ###") {
                Some(i) => s[..i].to_string(),
                None => s.to_string(),
            }
        }),
        ("appended mc", |s| {
            format!("{s}### /etc/mail/sendmail.mc ###\n# divert(-1)dnl\n# FEATURE(`x')dnl\n#\n")
        }),
    ];
    for fx in FIXTURES {
        for (name, f) in &variants {
            let t = fixture(fx);
            let r = t.path();
            let cf = r.join("etc/mail/sendmail.cf");
            let s = fs::read_to_string(&cf).unwrap();
            fs::write(&cf, f(&s)).unwrap();
            assert!(
                hand_edit_finding(r, &[]).is_none(),
                "{fx}/{name}: {:?}",
                hand_edit_finding(r, &[])
            );
            let before = snapshot(r);
            apply_ok(r);
            let o = run_root(r, &["rollback", "--yes"]);
            assert_eq!(code(&o), Some(0), "{fx}/{name}: {}", text(&o));
            assert!(
                diff_snapshots(&before, &snapshot(r)).is_empty(),
                "{fx}/{name}"
            );
        }
    }
}

/// A cf that is not built from this mc at all: said plainly, the list capped.
#[test]
fn a_cf_not_generated_from_the_mc_is_said_so_plainly() {
    need_tools!();
    let t = fixture("debian12");
    let r = t.path();
    let cf = r.join("etc/mail/sendmail.cf");
    // Hand-written, as some very old servers have it.
    fs::write(
        &cf,
        "V10/Berkeley\nCwlocalhost\nO QueueDirectory=/var/spool/mqueue\nO AliasFile=/etc/mail/aliases\nS0\nR$+\t$#local $: $1\nMlocal, P=/bin/mail, F=lsDFM, A=mail -d $u\n",
    )
    .unwrap();
    let (c, all) = findings(r, "sendmail-cf", &[]);
    assert_eq!(c, Some(1));
    let f = all.iter().find(|f| f.get("decision").is_some()).unwrap();
    let m = f["message"].as_str().unwrap();
    assert!(
        m.contains("does not look generated from") && m.contains("at all"),
        "{m}"
    );
    let rest: Vec<&str> = all
        .iter()
        .map(|f| f["message"].as_str().unwrap())
        .filter(|m| m.contains(": added `") || m.contains("deleted `"))
        .collect();
    assert!(rest.is_empty(), "{rest:#?}");
    assert!(
        all.iter().any(|f| f["message"]
            .as_str()
            .unwrap()
            .contains("more differing line(s)")),
        "{all:#?}"
    );

    // Many real edits in a generated cf: at most 12 are listed, the rest counted.
    let t = fixture("rhel9");
    let r = t.path();
    edit_cf(r, "/etc/mail/sendmail.cf", |l| {
        l.into_iter()
            .map(|x| {
                if x.starts_with("O ") {
                    format!("{x}0")
                } else {
                    x
                }
            })
            .collect()
    });
    let (_, all) = findings(r, "sendmail-cf", &[]);
    let listed = all
        .iter()
        .filter(|f| {
            f["message"]
                .as_str()
                .unwrap()
                .contains("(sendmail.mc gives `")
        })
        .count();
    assert_eq!(listed, 12, "{all:#?}");
    assert!(all
        .iter()
        .any(|f| f["message"].as_str().unwrap().contains("and ")
            && f["message"]
                .as_str()
                .unwrap()
                .contains("more differing line(s)")));
}

/// Red Hat 7-9 keep sendmail.cf in /etc/mail and /etc: both are looked at.
#[test]
fn red_hats_second_sendmail_cf_is_compared_too() {
    need_tools!();
    // The copy in /etc is the same file: fine.
    let t = fixture("redhat9");
    let r = t.path();
    fs::copy(r.join("etc/mail/sendmail.cf"), r.join("etc/sendmail.cf")).unwrap();
    assert!(hand_edit_finding(r, &[]).is_none());
    let before = snapshot(r);
    apply_ok(r);
    assert_eq!(code(&run_root(r, &["rollback", "--yes"])), Some(0));
    assert!(diff_snapshots(&before, &snapshot(r)).is_empty());
    // The copy in /etc has a hand edit: named by its path.
    edit_cf(r, "/etc/sendmail.cf", |l| {
        after(l, "Kaccess ", "Kvirtuser hash /etc/mail/virtusertable")
    });
    let f = hand_edit_finding(r, &[]).expect("no finding for /etc/sendmail.cf");
    assert!(
        f["message"]
            .as_str()
            .unwrap()
            .contains("/etc/sendmail.cf has 1 line(s)"),
        "{f}"
    );
    assert_eq!(f["path"], "/etc/sendmail.cf");
    let before = snapshot(r);
    assert_eq!(code(&run_root(r, &["apply", "--yes"])), Some(1));
    assert!(diff_snapshots(&before, &snapshot(r)).is_empty());
}

/// The hand edits are relative to the mc as it was: after `apply --only sendmail-mc` the cf is
/// compared with what the saved original mc generates, so a clean tree goes on, and a
/// hand-edited one names exactly its own edit, not the AUTH lines.
#[test]
fn hand_edits_are_judged_against_the_mc_before_this_runs_edit() {
    need_tools!();
    for fx in FIXTURES {
        let t = fixture(fx);
        let r = t.path();
        let o = run_root(r, &["apply", "--yes", "--only", "sendmail-mc"]);
        assert_eq!(code(&o), Some(0), "{fx}: {}", text(&o));
        assert!(hand_edit_finding(r, &[]).is_none(), "{fx}");
        apply_ok(r);

        let t = fixture(fx);
        let r = t.path();
        edit_cf(r, "/etc/mail/sendmail.cf", |l| {
            after(l, "Kaccess ", "Kmymap hash /etc/mail/mymap")
        });
        let o = run_root(r, &["apply", "--yes", "--only", "sendmail-mc"]);
        assert_eq!(code(&o), Some(0), "{fx}: {}", text(&o));
        let f = hand_edit_finding(r, &[]).expect("the hand edit is still found");
        assert!(
            f["message"].as_str().unwrap().contains("has 1 line(s)"),
            "{fx}: {f}"
        );
        let o = run_root(r, &["apply", "--yes"]);
        assert_eq!(code(&o), Some(1), "{fx}: {}", text(&o));
    }
}

/// Every real mc of the corpus, in a tree whose sendmail.cf was built from it: not one
/// hand-edit finding. And beside Debian's stock cf (built from another mc), each one that
/// generates something else is refused rather than regenerated over it.
#[test]
fn corpus_mcs_with_their_own_cf_have_no_hand_edits() {
    need_tools!();
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus/mc");
    let mut files: Vec<_> = fs::read_dir(&dir)
        .expect("../shared/corpus/mc")
        .flatten()
        .map(|e| e.path())
        .collect();
    files.sort();
    let mut built = 0;
    for f in &files {
        let name = f.file_name().unwrap().to_string_lossy().to_string();
        let t = fixture("debian12");
        copy_tree(
            Path::new("/usr/share/sendmail/cf"),
            &t.path().join("usr/share/sendmail-cf"),
        );
        let r = t.path();
        let stock = fs::read(r.join("etc/mail/sendmail.cf")).unwrap();
        fs::copy(f, r.join("etc/mail/sendmail.mc")).unwrap();
        let text = smtpauth_wizard::steps::Text::decode(fs::read(f).unwrap_or_default())
            .unwrap_or_default();
        let e = smtpauth_wizard::steps::open(r, None, Options::default()).unwrap();
        let Ok((cf, _)) =
            smtpauth_wizard::steps::sendmail_cf::regenerate(&e.cx, "/etc/mail/sendmail.mc", &text)
        else {
            continue; // m4 refuses this mc: sendmail-cf reports that instead
        };
        // Beside Debian's stock cf.
        let h = hand_edit_finding(r, &[]);
        let same = smtpauth_wizard::steps::sendmail_cf::compare(&stock, &cf).is_none();
        assert_eq!(h.is_none(), same, "{name}: {h:?}");
        // With its own cf.
        fs::write(r.join("etc/mail/sendmail.cf"), &cf).unwrap();
        assert!(
            hand_edit_finding(r, &[]).is_none(),
            "{name}: {:?}",
            hand_edit_finding(r, &[])
        );
        built += 1;
    }
    assert!(built >= 9, "only {built} corpus files built");
}

/// The TUI: the sendmail-cf screen shows the refusal and offers the decision as a checkbox;
/// ticking it sets the choice and checks again, and the step can then be applied.
#[test]
fn the_tui_offers_the_discard_decision_on_the_sendmail_cf_screen() {
    use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
    use smtpauth_wizard::engine::step::Status;
    use smtpauth_wizard::tui::model::{update, Cmd, Model, Msg, Screen};
    use smtpauth_wizard::tui::{view, worker};
    need_tools!();
    let t = fixture("debian12");
    let root = t.path().canonicalize().unwrap();
    edit_cf(&root, "/etc/mail/sendmail.cf", |l| {
        after(l, "Kaccess ", "Kmymap hash /etc/mail/mymap")
    });
    let mut engine = smtpauth_wizard::steps::open(&root, None, Options::default()).unwrap();
    let mut info = worker::info(&engine);
    info.color = false;
    let mut m = Model::new(info, Options::default(), (120, 40));
    update(&mut m, Msg::Checked(Box::new(worker::snapshot(&engine))));
    let i = m.step_index("sendmail-cf").unwrap();
    m.screen = Screen::Step(i);
    assert_eq!(m.status(i), Some(Status::Error));
    let c = m.choices();
    assert_eq!(c.len(), 1, "{c:?}");
    assert!(c[0].label.contains("--discard-cf-edits"), "{c:?}");
    assert!(!c[0].selected);
    let mut term = ratatui::Terminal::new(ratatui::backend::TestBackend::new(120, 40)).unwrap();
    term.draw(|f| view::draw(&m, f)).unwrap();
    let screen = term.backend().to_string();
    assert!(
        screen.contains("does not produce") && screen.contains("discard"),
        "{screen}"
    );
    let k = |c: KeyCode| Msg::Key(KeyEvent::new(c, KeyModifiers::NONE));
    update(&mut m, k(KeyCode::Tab));
    let Some(Cmd::Check(o)) = update(&mut m, k(KeyCode::Char(' '))) else {
        panic!("Space on the choice does not check again")
    };
    assert!(o.discard_cf_edits);
    engine.cx.opts = o;
    update(&mut m, Msg::Checked(Box::new(worker::snapshot(&engine))));
    assert_eq!(m.status(i), Some(Status::Pending));
    assert!(m.choices()[0].selected);
    let before = snapshot(&root);
    engine.apply(&[], &mut |_| {}).unwrap();
    assert!(!fs::read_to_string(root.join("etc/mail/sendmail.cf"))
        .unwrap()
        .contains("Kmymap"));
    engine.rollback(None, false, &mut |_| {}).unwrap();
    assert!(diff_snapshots(&before, &snapshot(&root)).is_empty());
}
