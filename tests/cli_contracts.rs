//! Real servers, not clean fixtures (issue 9, items 6 and 14-21): the command line's contracts
//! (exit codes, one JSON object, quiet broken pipes, short plans) and /etc/mail/access entries
//! that are not client entries, each through the real binary on private fixture copies.

mod common;
use common::*;
use std::fs;
use std::path::Path;

fn json(o: &std::process::Output) -> serde_json::Value {
    serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("not one JSON object ({e}): {}", text(o)))
}

fn access_path(root: &Path, fixture: &str) -> std::path::PathBuf {
    let _ = fixture;
    root.join("etc/mail/access")
}

// ---- item 6: To: and From: entries of /etc/mail/access are kept ----

/// (access text, lines that must be commented out, lines that must stay as they are)
fn access_variants() -> Vec<(&'static str, Vec<&'static str>, Vec<&'static str>)> {
    vec![
        (
            "localhost.localdomain\tRELAY\nlocalhost\t\tRELAY\n127.0.0.1\t\tRELAY\nTo:example.com\tRELAY\nTo:mx.example.com RELAY\n192.168.0\t\tRELAY\n",
            vec!["192.168.0\t\tRELAY"],
            vec!["To:example.com\tRELAY", "To:mx.example.com RELAY", "127.0.0.1\t\tRELAY", "localhost.localdomain\tRELAY"],
        ),
        (
            // CRLF, upper/lower-case tags and values, IP recipients, sender entries of every kind
            "Connect:127.0.0.1 RELAY\r\nTO:hosted.example.org relay\r\nto:[192.0.2.7]\tRELAY\r\nFrom:boss@example.com RELAY\r\nFROM:partner.example RELAY\r\nFrom:spammer@example.net REJECT\r\nFrom:friend@example.net OK\r\nFrom:junk.example DISCARD\r\nConnect:10.1 RELAY\r\n",
            vec!["Connect:10.1 RELAY\r"],
            vec![
                "TO:hosted.example.org relay\r",
                "to:[192.0.2.7]\tRELAY\r",
                "From:boss@example.com RELAY\r",
                "FROM:partner.example RELAY\r",
                "From:spammer@example.net REJECT\r",
                "From:friend@example.net OK\r",
                "From:junk.example DISCARD\r",
                "Connect:127.0.0.1 RELAY\r",
            ],
        ),
        (
            // IPv6, host names, comments, trailing text, spaces before the key
            "# backup MX for our sister company\nTo:sister.example   RELAY   # secondary MX\nConnect:IPv6:::1 RELAY\nIPv6:2001:db8::5 RELAY\nConnect:IPv6:2001:db8:1 RELAY\n  mail.example.com RELAY\nConnect:gw.example.com\tRELAY\n",
            vec!["IPv6:2001:db8::5 RELAY", "Connect:IPv6:2001:db8:1 RELAY", "  mail.example.com RELAY", "Connect:gw.example.com\tRELAY"],
            vec!["To:sister.example   RELAY   # secondary MX", "Connect:IPv6:::1 RELAY", "# backup MX for our sister company"],
        ),
    ]
}

#[test]
fn access_keeps_recipient_and_sender_entries_and_disables_client_entries() {
    need_tools!();
    for (i, (access, disabled, kept)) in access_variants().into_iter().enumerate() {
        let t = fixture("redhat9");
        let p = access_path(t.path(), "redhat9");
        fs::write(&p, access).unwrap();
        let before = snapshot(t.path());
        let o = run_root(t.path(), &["check", "--format", "json"]);
        let v = json(&o);
        let step = v["steps"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["id"] == "relay-access")
            .unwrap()
            .clone();
        let findings = step["findings"].to_string();
        assert!(
            !access.contains("To:example.com") || findings.contains("backup MX"),
            "variant {i}: a To: entry is reported like relay-domains: {findings}"
        );
        let o = run_root(t.path(), &["apply", "--yes", "--only", "relay-access"]);
        assert_eq!(o.status.code(), Some(0), "variant {i}: {}", text(&o));
        let after = fs::read_to_string(&p).unwrap();
        let lines: Vec<&str> = after.split('\n').collect();
        for d in &disabled {
            let want = format!("# disabled by smtpauth-wizard (HOWTO step 10): {d}");
            assert!(
                lines.contains(&want.as_str()),
                "variant {i}: {d:?} not disabled:\n{after}"
            );
        }
        for k in &kept {
            assert!(
                lines.contains(k),
                "variant {i}: {k:?} not kept as it was:\n{after}"
            );
        }
        assert_eq!(
            lines
                .iter()
                .filter(|l| l.starts_with("# disabled by"))
                .count(),
            disabled.len(),
            "variant {i}: only client entries are disabled:\n{after}"
        );
        let o = run_root(t.path(), &["rollback", "--yes"]);
        assert_eq!(o.status.code(), Some(0), "variant {i}: {}", text(&o));
        assert_eq!(
            diff_snapshots(&before, &snapshot(t.path())),
            Vec::<String>::new(),
            "variant {i}: rollback is the identity"
        );
    }
}

#[test]
fn access_with_only_recipient_entries_needs_no_change() {
    need_tools!();
    let t = fixture("redhat9");
    fs::write(
        access_path(t.path(), "redhat9"),
        "localhost RELAY\nTo:example.com RELAY\nTo:backup.example.net\tRELAY\nFrom:example.com RELAY\n",
    )
    .unwrap();
    let v = json(&run_root(t.path(), &["check", "--format", "json"]));
    let step = v["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == "relay-access")
        .unwrap()
        .clone();
    assert_eq!(step["status"], "done", "{step}");
    assert_eq!(step["changes"], serde_json::json!([]), "{step}");
}

#[test]
fn sender_relay_entries_are_a_warning_while_relay_mail_from_is_kept() {
    need_tools!();
    let t = fixture("redhat9");
    fs::write(
        access_path(t.path(), "redhat9"),
        "localhost RELAY\nFrom:boss@example.com RELAY\n",
    )
    .unwrap();
    let mc = t.path().join("etc/mail/sendmail.mc");
    let mut m = fs::read_to_string(&mc).unwrap();
    m.push_str("FEATURE(`relay_mail_from')dnl\n");
    fs::write(&mc, m).unwrap();
    let v = json(&run_root(
        t.path(),
        &[
            "check",
            "--format",
            "json",
            "--keep-feature",
            "relay_mail_from",
        ],
    ));
    let step = v["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == "relay-access")
        .unwrap()
        .clone();
    let f = step["findings"].as_array().unwrap();
    assert!(
        f.iter().any(
            |f| f["severity"] == "warning" && f["message"].as_str().unwrap().contains("forged")
        ),
        "{step}"
    );
    assert_eq!(step["changes"], serde_json::json!([]), "{step}");
}

// ---- item 15: a closed pipe on stdout ends the process quietly ----

/// Runs the binary with stdout a pipe whose reading end is closed before it starts: every write
/// fails with EPIPE, deterministically (no timing).
fn run_into_closed_pipe(args: &[&str]) -> std::process::Output {
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let child = std::process::Command::new(bin())
        .args(args)
        .env("NO_COLOR", "1")
        .stdin(std::process::Stdio::null())
        .stdout(writer)
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child.wait_with_output().unwrap()
}

fn assert_quiet_pipe_end(args: &[&str], o: &std::process::Output) {
    use std::os::unix::process::ExitStatusExt;
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        !err.contains("panicked") && !err.contains("Broken pipe"),
        "{args:?}: {err}"
    );
    assert_ne!(o.status.code(), Some(101), "{args:?}: {err}");
    assert_eq!(
        o.status.signal(),
        Some(libc::SIGPIPE),
        "{args:?} ends like cat on a closed pipe: {:?} {err}",
        o.status
    );
}

#[test]
fn closed_pipe_on_stdout_ends_quietly() {
    need_tools!();
    let t = fixture("debian12");
    let r = t.path().to_str().unwrap();
    let log = t.path().join("maillog");
    let mut l = String::new();
    for i in 0..2000 {
        l.push_str(&format!("Dec  1 10:{:02}:{:02} mx sm-mta[{i}]: x{i}: ruleset=check_rcpt, arg1=<a{i}@example.net>, relay=[192.0.2.{}], reject=550 5.7.1 <a{i}@example.net>... Relaying denied\n", (i / 60) % 60, i % 60, i % 250 + 1));
    }
    fs::write(&log, l).unwrap();
    let log = log.to_str().unwrap();
    for args in [
        vec!["plan", "--root", r],
        vec!["check", "--root", r],
        vec!["check", "--format", "json", "--root", r],
        vec!["plan", "--format", "json", "--root", r],
        vec!["status", "--root", r],
        vec!["answers", "--example"],
        vec!["relay-report", "--log", log],
        vec!["relay-report", "--format", "json", "--log", log],
        vec!["apply", "--format", "json", "--root", r],
    ] {
        let o = run_into_closed_pipe(&args);
        assert_quiet_pipe_end(&args, &o);
    }
}

// ---- item 16: with --format json, stdout is exactly one JSON object ----

#[test]
fn apply_and_resume_in_json_without_yes_print_one_json_object() {
    need_tools!();
    for name in ["debian12", "redhat9"] {
        let t = fixture(name);
        let before = snapshot(t.path());
        let o = run_root(t.path(), &["apply", "--format", "json"]);
        assert_eq!(o.status.code(), Some(1), "{}", text(&o));
        let v = json(&o);
        assert!(
            v["error"].as_str().unwrap().contains("not a terminal"),
            "{v}"
        );
        assert_eq!(
            diff_snapshots(&before, &snapshot(t.path())),
            Vec::<String>::new()
        );
        let o = run_root(t.path(), &["apply", "--format=json", "--only", "sasl"]);
        assert!(json(&o)["error"].is_string(), "{}", text(&o));
        // An unfinished run (--only leaves it open), then resume without --yes.
        let o = run_root(t.path(), &["apply", "--yes", "--only", "backup"]);
        assert_eq!(o.status.code(), Some(0), "{}", text(&o));
        let o = run_root(t.path(), &["resume", "--format", "json"]);
        assert_eq!(o.status.code(), Some(1), "{}", text(&o));
        assert!(json(&o)["error"].is_string(), "{}", text(&o));
    }
}

// ---- item 14: unknown step ids are an error; --help lists the ids ----

const IDS: &[&str] = &[
    "os",
    "privileges",
    "packages",
    "backup",
    "sendmail-mc",
    "sendmail-cf",
    "pam",
    "sasl",
    "submission",
    "relay-access",
    "relay-domains",
    "relay-features",
    "restart",
    "ehlo",
];

#[test]
fn unknown_step_ids_are_an_error_that_lists_the_ids() {
    need_tools!();
    let t = fixture("redhat9");
    let before = snapshot(t.path());
    for args in [
        vec!["apply", "--yes", "--only", "sasll"],
        vec!["apply", "--yes", "--only", "sasl", "--only", "relay"],
        vec!["apply", "--yes", "--only", "SASL"],
        vec!["apply", "--yes", "--only", ""],
        vec!["rollback", "--yes", "--step", "relay_access"],
    ] {
        let o = run_root(t.path(), &args);
        assert_eq!(o.status.code(), Some(1), "{args:?}: {}", text(&o));
        let out = text(&o);
        assert!(
            !out.contains("every step is already done"),
            "{args:?}: {out}"
        );
        for id in IDS {
            assert!(out.contains(id), "{args:?}: the error lists {id}: {out}");
        }
        let mut j = args.clone();
        j.extend(["--format", "json"]);
        let o = run_root(t.path(), &j);
        assert_eq!(o.status.code(), Some(1), "{j:?}: {}", text(&o));
        assert!(json(&o)["error"].as_str().unwrap().contains("relay-access"));
    }
    assert_eq!(
        diff_snapshots(&before, &snapshot(t.path())),
        Vec::<String>::new()
    );
    for cmd in ["apply", "rollback"] {
        let o = run(&[cmd, "--help"]);
        assert_eq!(o.status.code(), Some(0));
        let out = text(&o);
        for id in IDS {
            assert!(out.contains(id), "{cmd} --help lists {id}: {out}");
        }
    }
}

#[test]
fn nothing_to_do_names_the_steps_asked_for() {
    need_tools!();
    let t = fixture("redhat9");
    let o = run_root(t.path(), &["apply", "--yes", "--only", "os"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let out = String::from_utf8_lossy(&o.stdout).to_string();
    assert!(!out.contains("every step"), "{out}");
    assert!(out.contains("os is done"), "{out}");
    let o = run_root(
        t.path(),
        &["apply", "--yes", "--format", "json", "--only", "os"],
    );
    let v = json(&o);
    assert!(
        !v["message"].as_str().unwrap().contains("every step"),
        "{v}"
    );
}

// ---- item 18: a plan a person reads ----

#[test]
fn plan_summarises_copies_in_one_line_and_full_shows_them() {
    need_tools!();
    for (name, limit) in [("debian12", 400), ("redhat9", 400), ("rhel9", 400)] {
        let t = fixture(name);
        let o = run_root(t.path(), &["plan"]);
        assert_eq!(o.status.code(), Some(2), "{name}: {}", text(&o));
        let out = String::from_utf8_lossy(&o.stdout).to_string();
        let n = out.lines().count();
        assert!(n < limit, "{name}: the plan has {n} lines:\n{out}");
        let mc = fs::read(t.path().join("etc/mail/sendmail.mc")).unwrap();
        let mc_lines = mc.iter().filter(|b| **b == b'\n').count();
        let want = format!(
            "etc/mail/sendmail.mc.bak: copy of /etc/mail/sendmail.mc, {mc_lines} lines, sha256 "
        );
        assert!(out.contains(&want), "{name}: lacks {want:?}:\n{out}");
        assert!(out.contains("etc/mail/sendmail.cf.bak: copy of /etc/mail/sendmail.cf, "));
        // The regenerated sendmail.cf is never "a copy": its diff is what a person reviews.
        assert!(
            out.contains("+++ b/etc/mail/sendmail.cf\n"),
            "{name}:\n{out}"
        );
        assert!(!out.contains("+++ b/etc/mail/sendmail.mc.bak"), "{name}");
        for l in out.lines().filter(|l| l.trim_start().starts_with("-> ")) {
            let l = l.replace(t.path().to_str().unwrap(), "");
            assert!(l.len() <= 140, "{name}: a long line: {l}");
        }
        if name == "redhat9" {
            assert!(out.contains("etc/sendmail.cf: copy of the new /etc/mail/sendmail.cf, "));
        }
        let full = text(&run_root(t.path(), &["plan", "--full"]));
        assert!(full.contains("+++ b/etc/mail/sendmail.mc.bak"), "{name}");
        assert!(
            full.lines().count() > 1500,
            "{name}: --full shows every diff"
        );
        // JSON keeps every diff in full.
        let v = json(&run_root(t.path(), &["plan", "--format", "json"]));
        let diffs = v.to_string();
        assert!(diffs.contains("+++ b/etc/mail/sendmail.mc.bak"), "{name}");
    }
}

// ---- item 21: --password-fd borrows the descriptor, reads one line, never closes it ----

/// A loopback port with nothing listening (bound, then released), so the probe fails at once.
fn closed_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

#[test]
fn password_fd_1_leaves_stdout_open() {
    use std::io::{Read, Seek, Write};
    for json_fmt in [false, true] {
        // stdout is a file opened for reading and writing that starts with the password line:
        // the probe reads the line from fd 1, then must still print its report there.
        let mut f = tempfile::tempfile().unwrap();
        f.write_all(b"s3cret\n").unwrap();
        f.rewind().unwrap();
        let target = format!("127.0.0.1:{}", closed_port());
        let mut args = vec![
            "probe",
            target.as_str(),
            "--user",
            "alice",
            "--password-fd",
            "1",
            "--timeout",
            "5",
        ];
        if json_fmt {
            args.extend(["--format", "json"]);
        }
        let o = std::process::Command::new(bin())
            .args(&args)
            .env("NO_COLOR", "1")
            .stdin(std::process::Stdio::null())
            .stdout(f.try_clone().unwrap())
            .stderr(std::process::Stdio::piped())
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&o.stderr);
        assert_ne!(o.status.code(), Some(101), "{err}");
        assert!(!err.contains("panicked"), "{err}");
        let mut all = String::new();
        f.rewind().unwrap();
        f.read_to_string(&mut all).unwrap();
        let report = all.strip_prefix("s3cret\n").unwrap();
        assert!(!report.trim().is_empty(), "no report on stdout: {err}");
        assert!(!report.contains("s3cret"), "{report}");
        if json_fmt {
            serde_json::from_str::<serde_json::Value>(report)
                .unwrap_or_else(|e| panic!("{e}: {report}"));
        }
    }
}

// ---- item 17: nothing to roll back is an empty list ----

#[test]
fn rollback_with_nothing_to_roll_back_lists_nothing() {
    need_tools!();
    let t = fixture("redhat9");
    for args in [
        vec!["rollback", "--yes", "--format", "json"],
        vec!["rollback", "--format", "json"],
        vec!["rollback", "--yes", "--format", "json", "--step", "sasl"],
    ] {
        let v = json(&run_root(t.path(), &args));
        assert_eq!(v["rolled_back"], serde_json::json!([]), "{args:?}: {v}");
        assert_eq!(v["changed"], false, "{v}");
        assert!(
            v["message"]
                .as_str()
                .unwrap()
                .starts_with("nothing to roll back"),
            "{v}"
        );
    }
    let v = json(&run_root(
        t.path(),
        &["rollback", "--yes", "--from-backups", "--format", "json"],
    ));
    assert_eq!(v["restored"], serde_json::json!([]), "{v}");
    assert!(
        v["message"].as_str().unwrap().contains("nothing restored"),
        "{v}"
    );
    // After an apply of one step and a rollback of another, still nothing listed.
    let o = run_root(t.path(), &["apply", "--yes", "--only", "sasl"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let v = json(&run_root(
        t.path(),
        &[
            "rollback",
            "--yes",
            "--format",
            "json",
            "--step",
            "relay-access",
        ],
    ));
    assert_eq!(v["rolled_back"], serde_json::json!([]), "{v}");
    let v = json(&run_root(
        t.path(),
        &["rollback", "--yes", "--format", "json"],
    ));
    assert_eq!(v["changed"], true, "{v}");
    assert!(
        v["rolled_back"][0]
            .as_str()
            .unwrap()
            .starts_with("rolled back step sasl"),
        "{v}"
    );
}

// ---- item 19: profile ids in answers files are checked ----

#[test]
fn answers_profile_typos_are_errors_that_name_the_builtin_profiles() {
    need_tools!();
    let t = fixture("debian12");
    let before = snapshot(t.path());
    let dir = tempfile::tempdir().unwrap();
    for (val, hint) in [
        ("debain", Some("debian")),
        ("Debian", Some("debian")),
        ("rhel9", Some("rhel")),
        ("redhat", None),
        ("missing.yaml", None),
        ("./sub/", None),
    ] {
        let a = dir.path().join("answers.yaml");
        fs::write(
            &a,
            format!("# site answers\nrestart: false\nprofile: {val}\n"),
        )
        .unwrap();
        let a = a.to_str().unwrap();
        for args in [
            vec!["answers", a],
            vec!["check", "--answers", a],
            vec!["apply", "--yes", "--answers", a],
        ] {
            let o = run_root(t.path(), &args);
            let out = text(&o);
            assert_eq!(o.status.code(), Some(1), "{val} {args:?}: {out}");
            assert!(out.contains("line 3"), "{val}: names the line: {out}");
            for id in ["redhat-legacy", "rhel", "debian"] {
                assert!(out.contains(id), "{val}: names {id}: {out}");
            }
            assert!(!out.contains("No such file or directory"), "{out}");
            if let Some(h) = hint {
                assert!(out.contains(&format!("did you mean `{h}`")), "{out}");
            }
        }
    }
    assert_eq!(
        diff_snapshots(&before, &snapshot(t.path())),
        Vec::<String>::new()
    );
    // Built-in ids and existing files still work.
    let a = dir.path().join("ok.yaml");
    fs::write(&a, "profile: debian\n").unwrap();
    let o = run_root(t.path(), &["answers", a.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let p = dir.path().join("mine.yaml");
    fs::copy(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/profiles/debian.yaml"),
        &p,
    )
    .unwrap();
    // A file is given as a path (issue 13 item 1: without a `/`, an id and nothing else).
    fs::write(&a, "profile: ./mine.yaml\n").unwrap();
    let o = run_root(t.path(), &["check", "--answers", a.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    // --profile with a typo names the built-in ids too.
    let o = run_root(t.path(), &["check", "--profile", "debain"]);
    let out = text(&o);
    assert_eq!(o.status.code(), Some(1), "{out}");
    assert!(out.contains("redhat-legacy, rhel, debian"), "{out}");
}

// ---- item 20 (probe): MAIL refused until STARTTLS is no relay test ----

/// A scripted SMTP peer on 127.0.0.1 (a free port) that answers MAIL with `mail_reply`; serves
/// connections until the test process ends.
fn scripted_server(mail_reply: &'static str) -> u16 {
    use std::io::{BufRead, BufReader, Write};
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for s in l.incoming() {
            let Ok(s) = s else { continue };
            let mut w = s.try_clone().unwrap();
            let mut r = BufReader::new(s);
            let _ = w.write_all(b"220 mx.example.test ESMTP Sendmail 8.17.1; ready\r\n");
            let mut line = String::new();
            while r.read_line(&mut line).is_ok_and(|n| n > 0) {
                let cmd = line.to_ascii_uppercase();
                let reply = if cmd.starts_with("EHLO") {
                    "250-mx.example.test Hello\r\n250-ENHANCEDSTATUSCODES\r\n250-STARTTLS\r\n250 HELP\r\n".to_string()
                } else if cmd.starts_with("HELO")
                    || cmd.starts_with("RSET")
                    || cmd.starts_with("NOOP")
                {
                    "250 2.0.0 OK\r\n".to_string()
                } else if cmd.starts_with("MAIL") {
                    format!("{mail_reply}\r\n")
                } else if cmd.starts_with("QUIT") {
                    let _ = w.write_all(b"221 2.0.0 closing connection\r\n");
                    break;
                } else {
                    "503 5.0.0 Need MAIL before RCPT\r\n".to_string()
                };
                if w.write_all(reply.as_bytes()).is_err() {
                    break;
                }
                line.clear();
            }
        }
    });
    port
}

#[test]
fn mail_refused_until_starttls_is_not_a_passed_relay_test() {
    for reply in [
        "530 5.7.0 Must issue a STARTTLS command first",
        "530 5.7.0 must issue a starttls command first",
        "530-5.7.0 Must issue a STARTTLS command first\r\n530 5.7.0 (TLS required)",
    ] {
        let port = scripted_server(reply);
        let target = format!("127.0.0.1:{port}");
        let o = run(&[
            "probe",
            &target,
            "--source-ip",
            "127.0.0.2",
            "--format",
            "json",
            "--timeout",
            "30",
        ]);
        let v = json(&o);
        let c = v["checks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["id"] == "relay-denied")
            .unwrap_or_else(|| panic!("{v:#}"))
            .clone();
        assert_ne!(c["status"], "pass", "{reply}: {c}");
        let all = c.to_string();
        assert!(all.contains("STARTTLS"), "{c}");
        assert!(!all.contains("M=a"), "{reply}: {c}");
        assert_eq!(o.status.code(), Some(1), "{reply}: {v:#}");
    }
    // `530 5.7.0 Authentication required` is still M=a (a listener that wants AUTH first).
    let port = scripted_server("530 5.7.0 Authentication required");
    let target = format!("127.0.0.1:{port}");
    let v = json(&run(&[
        "probe",
        &target,
        "--source-ip",
        "127.0.0.2",
        "--format",
        "json",
    ]));
    let c = v["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == "relay-denied")
        .unwrap()
        .clone();
    assert_eq!(c["status"], "pass", "{c}");
    assert!(c.to_string().contains("M=a"), "{c}");
}

// ---- item 20: the smaller ones ----

#[test]
fn status_text_speaks_words_not_enum_names() {
    need_tools!();
    let t = fixture("redhat9");
    let o = run_root(t.path(), &["apply", "--yes", "--only", "sasl"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let s = text(&run_root(t.path(), &["status"]));
    assert!(s.contains("sasl            done"), "{s}");
    assert!(s.contains(" written, created by the wizard"), "{s}");
    let o = run_root(t.path(), &["rollback", "--yes"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let s = text(&run_root(t.path(), &["status"]));
    assert!(s.contains("sasl            rolled back"), "{s}");
    for bad in ["Done", "RolledBack", "Written", "InProgress", "Intended"] {
        assert!(!s.contains(bad), "{bad}: {s}");
    }
}

#[test]
fn every_option_of_rollback_apply_resume_has_help_text() {
    for cmd in ["rollback", "apply", "resume"] {
        let o = run(&[cmd, "--help"]);
        let out = text(&o);
        // clap puts the help beside the option, or on the next line when the longest option
        // leaves no room.
        let lines: Vec<&str> = out.lines().collect();
        let i = lines
            .iter()
            .position(|l| l.trim_start().starts_with("--yes"))
            .unwrap_or_else(|| panic!("{cmd}: {out}"));
        let yes = format!("{} {}", lines[i], lines.get(i + 1).unwrap_or(&""));
        assert!(yes.contains("confirmation"), "{cmd}: {yes}");
    }
}

#[test]
fn the_undo_hint_names_the_root_absolutely() {
    need_tools!();
    let t = fixture("redhat9");
    let parent = t.path().parent().unwrap();
    let rel = t.path().file_name().unwrap().to_str().unwrap();
    let o = std::process::Command::new(bin())
        .args(["apply", "--yes", "--only", "sasl", "--root", rel])
        .current_dir(parent)
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    let out = text(&o);
    assert_eq!(o.status.code(), Some(0), "{out}");
    let root = fs::canonicalize(t.path()).unwrap();
    let want = format!(
        "undo with `smtpauth-wizard --root {} rollback`",
        root.display()
    );
    assert!(out.contains(&want), "{want}\n{out}");
}

#[test]
fn a_regenerated_cf_carries_no_root_directory_in_its_header() {
    need_tools!();
    for name in ["debian12", "redhat9", "rhel9"] {
        let t = fixture(name);
        let o = run_root(t.path(), &["apply", "--yes"]);
        assert_eq!(o.status.code(), Some(0), "{name}: {}", text(&o));
        let root = t.path().to_str().unwrap();
        let canon = fs::canonicalize(t.path()).unwrap();
        let cfs: &[&str] = if name == "redhat9" {
            &["etc/mail/sendmail.cf", "etc/sendmail.cf"]
        } else {
            &["etc/mail/sendmail.cf"]
        };
        for cf in cfs {
            let b = fs::read_to_string(t.path().join(cf)).unwrap();
            let header: Vec<&str> = b.lines().filter(|l| l.starts_with("#####")).collect();
            assert!(
                header.iter().any(|l| l.starts_with("##### in /")),
                "{name} {cf}: {header:?}"
            );
            for l in &header {
                assert!(
                    !l.contains(root) && !l.contains(canon.to_str().unwrap()),
                    "{name} {cf}: {l}"
                );
            }
            assert!(
                header
                    .iter()
                    .any(|l| l.starts_with("##### using /usr/share/sendmail")),
                "{name} {cf}: {header:?}"
            );
        }
    }
}

#[test]
fn nothing_changed_leaves_no_lock_file() {
    need_tools!();
    // No var/ at all, var/lib already there, and the journal directory already there (empty).
    for pre in ["", "var/lib", "var/lib/smtpauth-wizard"] {
        let t = fixture("redhat9");
        if !pre.is_empty() {
            fs::create_dir_all(t.path().join(pre)).unwrap();
        }
        let listing = |p: &Path| -> Vec<String> {
            let mut v = vec![];
            let mut stack = vec![p.join("var")];
            while let Some(d) = stack.pop() {
                for e in fs::read_dir(&d).into_iter().flatten().flatten() {
                    let p = e.path();
                    v.push(p.strip_prefix(t.path()).unwrap().display().to_string());
                    if p.is_dir() {
                        stack.push(p);
                    }
                }
            }
            v.sort();
            v
        };
        let before = listing(t.path());
        for args in [
            vec!["rollback", "--yes"],
            vec!["rollback", "--yes", "--step", "sasl"],
            vec!["rollback", "--yes", "--format", "json"],
        ] {
            let o = run_root(t.path(), &args);
            assert_eq!(o.status.code(), Some(0), "{pre} {args:?}: {}", text(&o));
            assert_eq!(listing(t.path()), before, "{pre:?} {args:?} left something");
        }
        // A real change keeps its journal and lock.
        let o = run_root(t.path(), &["apply", "--yes", "--only", "sasl"]);
        assert_eq!(o.status.code(), Some(0), "{}", text(&o));
        assert!(t
            .path()
            .join("var/lib/smtpauth-wizard/journal.yaml")
            .exists());
    }
}

#[test]
fn os_release_without_pretty_name_is_named() {
    need_tools!();
    for (os_release, want) in [
        (
            "NAME=\"Debian GNU/Linux\"\nVERSION_ID=\"12\"\nVERSION=\"12 (bookworm)\"\nID=debian\n",
            "Debian GNU/Linux 12 (bookworm)",
        ),
        ("NAME=Debian\nVERSION_ID=12\nID=debian\n", "Debian 12"),
        (
            "NAME='Debian GNU/Linux'\nID=debian\nVERSION_ID=12\nPRETTY_NAME=\n",
            "Debian GNU/Linux 12",
        ),
        ("ID=debian\nVERSION_ID=12\n", "detected debian"),
    ] {
        let t = fixture("debian12");
        fs::write(t.path().join("etc/os-release"), os_release).unwrap();
        let v = json(&run_root(t.path(), &["check", "--format", "json"]));
        let why = v["profile_reason"].as_str().unwrap();
        assert!(why.contains(want), "{os_release:?}: {why}");
        assert!(!why.contains("unnamed"), "{why}");
    }
}

#[test]
fn a_missing_log_given_with_log_is_named_as_given() {
    let d = tempfile::tempdir().unwrap();
    let missing = d.path().join("no-such-maillog");
    let m = missing.to_str().unwrap();
    for args in [
        vec!["relay-report", "--log", m],
        vec!["relay-report", "--log", m, "--format", "json"],
    ] {
        let o = run(&args);
        let out = text(&o);
        assert_eq!(o.status.code(), Some(1), "{out}");
        assert!(out.contains(m), "{out}");
        assert!(out.contains("given with --log"), "{out}");
        assert!(!out.contains("give the log with --log"), "{out}");
    }
}

#[test]
fn check_after_an_unfinished_run_says_resume() {
    need_tools!();
    let t = fixture("redhat9");
    let o = run_root(t.path(), &["check"]);
    assert!(!text(&o).contains("unfinished run"), "{}", text(&o));
    let o = run_root(t.path(), &["apply", "--yes", "--only", "backup"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    for args in [vec!["check"], vec!["plan"]] {
        let out = text(&run_root(t.path(), &args));
        assert!(out.contains("an unfinished run"), "{args:?}: {out}");
        assert!(out.contains("use `resume`"), "{args:?}: {out}");
    }
    let v = json(&run_root(t.path(), &["check", "--format", "json"]));
    assert!(
        v["message"].as_str().unwrap().contains("use `resume`"),
        "{v}"
    );
    // An interrupted step (the journal says in-progress, as after a crash) is named too. The
    // journal ends with a seal under this machine's journal key: seal the edit again, as the
    // wizard (same user, same key) would.
    let jp = t.path().join("var/lib/smtpauth-wizard/journal.yaml");
    let j = fs::read_to_string(&jp).unwrap();
    let body = j[..j.find("# end of journal, ").unwrap()].to_string();
    assert!(body.contains("state: done"), "{j}");
    let body = body.replacen("state: done", "state: in-progress", 1);
    fs::write(
        &jp,
        smtpauth_wizard::engine::journal::seal_journal(&body).unwrap(),
    )
    .unwrap();
    let out = text(&run_root(t.path(), &["check"]));
    assert!(
        out.contains("interrupted in step backup") && out.contains("use `resume`"),
        "{out}"
    );
    let o = run_root(t.path(), &["resume", "--yes"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let out = text(&run_root(t.path(), &["check"]));
    assert!(!out.contains("unfinished run"), "{out}");
}

// ---- items 16 and 18 at a terminal: apply's confirmation ----

/// Runs `sh -c CMD` with a pseudo-terminal as stdin/stdout (util-linux `script`), typing
/// `input`; returns what the terminal showed.
fn at_terminal(cmd: &str, input: &str) -> Option<String> {
    use std::io::Write;
    if !Path::new("/usr/bin/script").exists() {
        common::skip("util-linux `script` is not installed");
        return None;
    }
    let mut c = std::process::Command::new("/usr/bin/script")
        .args(["-qec", cmd, "/dev/null"])
        .env("NO_COLOR", "1")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    c.stdin.take().unwrap().write_all(input.as_bytes()).unwrap();
    let o = c.wait_with_output().unwrap();
    Some(String::from_utf8_lossy(&o.stdout).replace("\r\n", "\n"))
}

#[test]
fn apply_confirmation_is_short_and_json_stays_one_object_at_a_terminal() {
    need_tools!();
    for name in ["debian12", "redhat9"] {
        let t = fixture(name);
        let before = snapshot(t.path());
        let b = bin();
        let r = t.path().to_str().unwrap();
        let Some(out) = at_terminal(
            &format!("NO_COLOR=1 {} apply --root {r}", b.display()),
            "n\n",
        ) else {
            return;
        };
        assert!(out.contains("Apply these changes?"), "{name}: {out}");
        assert!(out.contains("nothing was changed"), "{name}: {out}");
        assert!(
            out.contains("sendmail.mc.bak: copy of /etc/mail/sendmail.mc"),
            "{out}"
        );
        let n = out.lines().count();
        assert!(n < 400, "{name}: the confirmation has {n} lines");
        let full = at_terminal(
            &format!("NO_COLOR=1 {} apply --full --root {r}", b.display()),
            "n\n",
        )
        .unwrap();
        assert!(full.contains("+++ b/etc/mail/sendmail.mc.bak"), "{name}");
        // JSON at a terminal: the plan and the question go to stderr; stdout is one object.
        let only_stdout = at_terminal(
            &format!("{} apply --format json --root {r} 2>/dev/null", b.display()),
            "n\n",
        )
        .unwrap();
        // The terminal echoes the typed answer; everything else is the program's stdout.
        let printed: String = only_stdout
            .lines()
            .filter(|l| l.trim() != "n")
            .collect::<Vec<_>>()
            .join("\n");
        let v: serde_json::Value = serde_json::from_str(printed.trim())
            .unwrap_or_else(|e| panic!("{name}: {e}: {only_stdout}"));
        assert_eq!(v["error"], "nothing was changed", "{v}");
        assert_eq!(
            diff_snapshots(&before, &snapshot(t.path())),
            Vec::<String>::new()
        );
    }
}
