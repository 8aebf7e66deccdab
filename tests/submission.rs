//! Issue 11 item 3: the submission step (port 587, `M=Ea`, reachable from the network), on the
//! fixture roots and on variants of them built here, on every real sendmail.mc of the corpus
//! through the real m4, and live on the real Debian sendmail (tests/e2e/submission.sh).

mod common;
use common::*;
use smtpauth_wizard::mc::{enable_submission, SubmissionChoice};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

const CORPUS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/corpus/mc");
const CF_TREE: &str = "/usr/share/sendmail/cf";

fn json(o: &std::process::Output) -> serde_json::Value {
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("not JSON ({e}): {}", text(o)))
}

/// The submission step's report in `check --json`.
fn step(root: &Path, extra: &[&str]) -> serde_json::Value {
    let mut args = vec!["check", "--format", "json"];
    args.extend(extra);
    let o = run_root(root, &args);
    let v = json(&o);
    v["steps"]
        .as_array()
        .expect("steps")
        .iter()
        .find(|s| s["id"] == "submission")
        .unwrap_or_else(|| panic!("no submission step: {}", text(&o)))
        .clone()
}

fn findings(s: &serde_json::Value, severity: &str) -> Vec<String> {
    s["findings"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter(|f| f["severity"] == severity)
                .map(|f| format!("{} {}", f["message"], f["fix"]))
                .collect()
        })
        .unwrap_or_default()
}

fn mc_path(root: &Path) -> PathBuf {
    root.join("etc/mail/sendmail.mc")
}

/// A debian12 copy whose sendmail.mc has `from` replaced by `to` (sendmail.cf rebuilt, as on a
/// server where the admin ran make).
fn debian_variant(from: &str, to: &str) -> tempfile::TempDir {
    let t = fixture("debian12");
    let p = mc_path(t.path());
    let text = fs::read_to_string(&p).unwrap();
    assert!(text.contains(from), "the fixture has no {from}");
    fs::write(&p, text.replacen(from, to, 1)).unwrap();
    rebuild_cf(t.path());
    t
}

const MSP4: &str =
    "DAEMON_OPTIONS(`Family=inet,  Name=MSP-v4, Port=submission, M=Ea, Addr=127.0.0.1')dnl";

/// apply --yes, then rollback: the wanted line is in sendmail.mc and sendmail.cf, and rollback
/// puts every byte, mode, owner and mtime back.
fn apply_and_roll_back(root: &Path, extra: &[&str], mc_has: &str, cf_has: &str) {
    let before = snapshot(root);
    let mut args = vec!["apply", "--yes"];
    args.extend(extra);
    let o = run_root(root, &args);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let mc = fs::read_to_string(mc_path(root)).unwrap();
    assert!(
        mc.lines().any(|l| l == mc_has),
        "sendmail.mc lacks {mc_has}:\n{mc}"
    );
    let cf = fs::read_to_string(root.join("etc/mail/sendmail.cf")).unwrap();
    assert!(
        cf.lines().any(|l| l == cf_has),
        "sendmail.cf lacks {cf_has}: {:?}",
        cf.lines()
            .filter(|l| l.starts_with("O DaemonPortOptions"))
            .collect::<Vec<_>>()
    );
    let o = run_root(root, &["rollback", "--yes"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let after = snapshot(root);
    assert_eq!(diff_snapshots(&before, &after), Vec::<String>::new());
}

#[test]
fn debian_msp_v4_opens_and_rollback_is_the_identity() {
    need_tools!();
    let t = fixture("debian12");
    apply_and_roll_back(
        t.path(),
        &[],
        "DAEMON_OPTIONS(`Family=inet,  Name=MSA-v4, Port=submission, M=Ea')dnl",
        "O DaemonPortOptions=Family=inet,  Name=MSA-v4, Port=submission, M=Ea",
    );
}

#[test]
fn rhel_commented_msa_is_activated_and_rollback_is_the_identity() {
    need_tools!();
    let t = fixture("rhel9");
    apply_and_roll_back(
        t.path(),
        &[],
        "DAEMON_OPTIONS(`Port=submission, Name=MSA, M=Ea')dnl",
        "O DaemonPortOptions=Port=submission, Name=MSA, M=Ea",
    );
    // redhat9 has no submission line at all: one is added after the listener.
    let t = fixture("redhat9");
    apply_and_roll_back(
        t.path(),
        &[],
        "DAEMON_OPTIONS(`Port=submission, Name=MSA, M=Ea')dnl",
        "O DaemonPortOptions=Port=submission, Name=MSA, M=Ea",
    );
}

#[test]
fn variants_keep_what_the_admin_has() {
    need_tools!();
    // Other modifier letters are kept, E and a added; Port=587 numerically; Addr first.
    let t = debian_variant(
        MSP4,
        "DAEMON_OPTIONS(`Addr=127.0.0.1, Family=inet, Name=MSP-v4, Port=587, M=O')dnl",
    );
    apply_and_roll_back(
        t.path(),
        &[],
        "DAEMON_OPTIONS(`Family=inet, Name=MSA-v4, Port=587, M=OEa')dnl",
        "O DaemonPortOptions=Family=inet, Name=MSA-v4, Port=587, M=OEa",
    );
    // An active IPv6 loopback submission line stays; the IPv4 one opens beside it.
    let v6 = "DAEMON_OPTIONS(`Family=inet6, Name=MSP-v6, Port=submission, M=Ea, Addr=::1')dnl";
    let t = debian_variant(&format!("dnl {v6}"), v6);
    let w = findings(&step(t.path(), &[]), "warning").join("\n");
    assert!(
        w.contains("port 587 takes mail clients over IPv4 only")
            && w.contains("stays on ::1")
            && w.contains("by hand"),
        "{w}"
    );
    apply_and_roll_back(
        t.path(),
        &[],
        "DAEMON_OPTIONS(`Family=inet,  Name=MSA-v4, Port=submission, M=Ea')dnl",
        "O DaemonPortOptions=Family=inet6, Name=MSP-v6, Port=submission, M=Ea, Addr=::1",
    );
    // A listener on 465 (M=s) is left alone.
    let smtps = "DAEMON_OPTIONS(`Port=smtps, Name=TLSMTA, M=s, Addr=127.0.0.1')dnl";
    let t = debian_variant(MSP4, &format!("{MSP4}\n{smtps}"));
    apply_and_roll_back(
        t.path(),
        &[],
        smtps,
        "O DaemonPortOptions=Port=smtps, Name=TLSMTA, M=s, Addr=127.0.0.1",
    );
}

#[test]
fn a_network_587_listener_without_a_is_kept_with_a_warning() {
    need_tools!();
    for line in [
        "DAEMON_OPTIONS(`Family=inet,  Name=MSA-v4, Port=submission, M=E')dnl",
        "DAEMON_OPTIONS(`Family=inet,  Name=MSA-v4, Port=587')dnl",
    ] {
        let t = debian_variant(MSP4, line);
        let s = step(t.path(), &[]);
        assert_eq!(s["status"], "done", "{s}");
        let w = findings(&s, "warning");
        assert!(
            w.iter().any(|w| w.contains("does not require AUTH")),
            "{w:?}"
        );
        // apply keeps the line exactly.
        let o = run_root(t.path(), &["apply", "--yes"]);
        assert_eq!(o.status.code(), Some(0), "{}", text(&o));
        let mc = fs::read_to_string(mc_path(t.path())).unwrap();
        assert!(mc.lines().any(|l| l == line), "{mc}");
    }
    // With a: nothing to say.
    let t = debian_variant(
        MSP4,
        "DAEMON_OPTIONS(`Family=inet,  Name=MSA-v4, Port=submission, M=Ea')dnl",
    );
    let s = step(t.path(), &[]);
    assert_eq!(s["status"], "done", "{s}");
    assert!(findings(&s, "warning").is_empty(), "{s}");
}

#[test]
fn a_lan_address_is_refused_until_decided() {
    need_tools!();
    for addr in ["192.168.1.10", "10.1.2.3"] {
        let t = debian_variant(
            "M=Ea, Addr=127.0.0.1')dnl\n",
            &format!("M=Ea, Addr={addr}')dnl\n"),
        );
        let s = step(t.path(), &[]);
        assert_eq!(s["status"], "error", "{s}");
        let e = findings(&s, "error").join("\n");
        assert!(
            e.contains("--submission-listener") && e.contains("submission_listener"),
            "{e}"
        );
        // The finding names the option that decides it, for a front end to ask.
        let f = &s["findings"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["severity"] == "error")
            .unwrap()
            .clone();
        assert!(f.to_string().contains("submission_listener"), "{f}");
        let before = snapshot(t.path());
        let o = run_root(t.path(), &["apply", "--yes"]);
        assert_ne!(o.status.code(), Some(0), "{}", text(&o));
        assert_eq!(
            diff_snapshots(&before, &snapshot(t.path())),
            Vec::<String>::new()
        );
        // keep: the listener stays; NAME: its Addr goes.
        let s = step(t.path(), &["--submission-listener", "keep"]);
        assert_eq!(s["status"], "done", "{s}");
        apply_and_roll_back(
            t.path(),
            &["--submission-listener", "MSP-v4"],
            "DAEMON_OPTIONS(`Family=inet,  Name=MSA-v4, Port=submission, M=Ea')dnl",
            "O DaemonPortOptions=Family=inet,  Name=MSA-v4, Port=submission, M=Ea",
        );
    }
}

#[test]
fn no_submission_skips_with_a_finding_by_flag_and_by_answers() {
    need_tools!();
    let t = fixture("debian12");
    let answers = t.path().join("answers.yaml");
    fs::write(&answers, "submission: false\n").unwrap();
    let a = answers.to_str().unwrap().to_string();
    for extra in [vec!["--no-submission"], vec!["--answers", a.as_str()]] {
        let s = step(t.path(), &extra);
        assert_eq!(s["status"], "skipped", "{s}");
        assert!(
            findings(&s, "warning")
                .iter()
                .any(|w| w.contains("--no-submission")),
            "{s}"
        );
    }
    let o = run_root(t.path(), &["apply", "--yes", "--no-submission"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let mc = fs::read_to_string(mc_path(t.path())).unwrap();
    assert!(mc.lines().any(|l| l == MSP4), "{mc}");
}

// ---- the corpus through the real m4 -------------------------------------------------------

enum Expect {
    /// Edited on these lines.
    Edit(&'static [usize]),
    /// Left as it is (with this text in a warning, or "" for none).
    Keep(&'static str),
    /// Refused mentioning this.
    Refuse(&'static str),
}

const EXPECTED: &[(&str, Expect)] = &[
    (
        "cabalmail-imap-template.mc",
        Expect::Refuse("__CERT_DOMAIN__"),
    ),
    ("debian-8.14.4-4-default-blogomatic.mc", Expect::Edit(&[59])),
    // MSP-v4 on every address without M=: kept, with the finding that AUTH is not required.
    (
        "debian-sarge-pause.mc",
        Expect::Keep("does not require AUTH"),
    ),
    ("debian10-linagora-cyrus.mc", Expect::Keep("")),
    ("debian12-8.17.1.9-default.mc", Expect::Edit(&[59])),
    ("docker-sendmail-cyrus-johnhomelan.mc", Expect::Keep("")),
    (
        "fedora-openeuler-sendmail-redhat-template.mc",
        Expect::Refuse("@@PATH@@"),
    ),
    // No no_default_msa: sendmail's own MSA (M=E) already listens on 587.
    ("freebsd-10.2-dch.mc", Expect::Keep("no_default_msa")),
    ("pld-linux-sendmail.mc", Expect::Refuse("@@PATH@@")),
    ("redhat-pgu-sendmail-m4.mc", Expect::Refuse("&lt;")),
    // no_default_msa and no DAEMON_OPTIONS: port 25 written out and the MSA added.
    ("redhat8-lunar-8.12.x.mc", Expect::Edit(&[40, 40])),
    ("rhel-centos-linguist-default.mc", Expect::Edit(&[80, 80])),
    ("ubuntu-8.14.4-default-willrd9.mc", Expect::Edit(&[59])),
    ("ubuntu-aaronhorler.mc", Expect::Edit(&[59])),
];

/// The `O DaemonPortOptions=` lines m4 makes of `mc`.
fn m4_listeners(root: &Path, name: &str, mc: &str) -> Result<Vec<String>, String> {
    let report = smtpauth_wizard::mc::analyse(mc);
    for (_, inc) in &report.includes {
        let p = root.join(inc.trim_start_matches('/'));
        if inc.starts_with('/') && !p.exists() {
            fs::create_dir_all(p.parent().unwrap()).unwrap();
            fs::write(&p, "").unwrap();
        }
    }
    let rewritten = smtpauth_wizard::mc::rewrite_includes(mc, &root.to_string_lossy());
    let file = root.join(format!("{name}.mc"));
    fs::write(&file, rewritten).unwrap();
    let mut cmd = Command::new("m4");
    if !report.includes.iter().any(|(_, p)| p.ends_with("cf.m4")) {
        cmd.arg(root.join("usr/share/sendmail/cf/m4/cf.m4"));
    }
    let out = cmd.arg(&file).current_dir(root).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    if !out.status.success() || stderr.contains("ERROR") {
        return Err(format!("m4 failed ({}): {stderr}", out.status));
    }
    Ok(String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| l.starts_with("O DaemonPortOptions="))
        .map(str::to_string)
        .collect())
}

fn field(l: &str, k: char) -> Option<String> {
    l.trim_start_matches("O DaemonPortOptions=")
        .split(',')
        .rev()
        .filter_map(|f| f.trim().split_once('='))
        .filter(|(key, _)| {
            key.chars()
                .next()
                .is_some_and(|c| c.eq_ignore_ascii_case(&k))
        })
        .map(|(_, v)| v.trim().to_string())
        .next()
}

#[test]
fn every_corpus_file_is_edited_kept_or_refused_and_m4_builds_the_edit() {
    need_tools!();
    let dir = tempfile::tempdir().unwrap();
    for to in ["usr/share/sendmail/cf", "usr/share/sendmail-cf"] {
        copy_tree(Path::new(CF_TREE), &dir.path().join(to));
    }
    let mut files: Vec<PathBuf> = fs::read_dir(CORPUS)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file() && p.extension().is_some_and(|e| e == "mc"))
        .collect();
    files.sort();
    let mut failures = vec![];
    for path in &files {
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        let text = String::from_utf8_lossy(&fs::read(path).unwrap()).into_owned();
        let Some((_, expect)) = EXPECTED.iter().find(|(n, _)| *n == name) else {
            failures.push(format!(
                "{name}: new corpus file, decide its outcome in EXPECTED"
            ));
            continue;
        };
        let got = enable_submission(&text, &SubmissionChoice::default());
        match (&got, expect) {
            (Ok(e), Expect::Edit(lines)) => {
                let at: Vec<usize> = e.edits.iter().map(|x| x.line).collect();
                if at != *lines {
                    failures.push(format!("{name}: edits at {at:?}, expected {lines:?}"));
                }
                let old = m4_listeners(dir.path(), &format!("{name}-old"), &text);
                let new = m4_listeners(dir.path(), &name, &e.text);
                match (old, new) {
                    (_, Err(err)) => failures.push(format!("{name}: the edit: {err}")),
                    (Err(err), _) => failures.push(format!("{name}: unedited: {err}")),
                    (Ok(old), Ok(new)) => {
                        let is587 = |l: &&String| {
                            field(l, 'p').is_some_and(|p| p == "submission" || p == "587")
                        };
                        let sub: Vec<&String> = new.iter().filter(is587).collect();
                        if sub.len() != 1
                            || field(sub[0], 'a').is_some()
                            || !field(sub[0], 'm')
                                .is_some_and(|m| m.contains('E') && m.contains('a'))
                        {
                            failures
                                .push(format!("{name}: the 587 listeners in sendmail.cf: {sub:?}"));
                        }
                        // Port 25 and everything else as it was (the default MTA written out
                        // counts as the same listener).
                        let rest_old: Vec<&String> = old.iter().filter(|l| !is587(l)).collect();
                        let rest_new: Vec<&String> = new.iter().filter(|l| !is587(l)).collect();
                        let default_mta = rest_old == vec!["O DaemonPortOptions=Name=MTA"]
                            && rest_new == vec!["O DaemonPortOptions=Port=smtp, Name=MTA"];
                        if rest_old != rest_new && !default_mta {
                            failures.push(format!(
                                "{name}: other listeners changed: {rest_old:?} -> {rest_new:?}"
                            ));
                        }
                    }
                }
            }
            (Ok(e), Expect::Keep(warn)) => {
                if !e.edits.is_empty() {
                    failures.push(format!("{name}: edited {:?}, expected none", e.edits));
                }
                let has = e.warnings.iter().any(|w| w.contains(warn));
                if warn.is_empty() != e.warnings.is_empty() || !has && !warn.is_empty() {
                    failures.push(format!(
                        "{name}: warnings {:?}, expected {warn:?}",
                        e.warnings
                    ));
                }
            }
            (Err(err), Expect::Refuse(needle)) => {
                if !err.to_string().contains(needle) || err.line == 0 {
                    failures.push(format!("{name}: refused with {err}, expected {needle}"));
                }
            }
            (got, _) => failures.push(format!("{name}: got {got:?}")),
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

// ---- live ---------------------------------------------------------------------------------

/// tests/e2e/submission.sh on the real Debian sendmail: after apply, 587 listens beyond
/// loopback, demands AUTH (530 5.7.0), relays after STARTTLS + AUTH LOGIN from 127.0.0.2; port
/// 25 still takes inbound mail; rollback restores every byte and the old daemon.
#[test]
fn live_submission_on_the_real_sendmail() {
    skip_unless!(need_root("the live submission test"));
    need_tools!();
    for tool in [
        "/usr/sbin/sendmail-mta",
        "/usr/sbin/saslauthd",
        "/usr/bin/swaks",
        "/usr/bin/unshare",
        "/usr/bin/openssl",
        "/usr/bin/python3",
    ] {
        if !Path::new(tool).exists() {
            skip_test!("live submission test: {tool} is not installed");
        }
    }
    let live = run_live("submission.sh", &[], std::time::Duration::from_secs(600));
    println!("{}", live.text);
    assert!(live.ok, "{}", live.text);
    assert!(!live.text.contains(&live.password));
}
