//! Unattended and fleet use, tested as a process on private copies of the fixture roots: the
//! answers file (and flags over it), `--version`, NO_COLOR on a real terminal, the generated
//! man pages and completions, and the audit log with its syslog datagram.

mod common;
use common::*;
use serde_json::Value;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::UnixDatagram;
use std::path::Path;
use std::process::Command;

fn json(o: &std::process::Output) -> Value {
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("not JSON ({e}): {}", text(o)))
}

fn step<'a>(v: &'a Value, id: &str) -> &'a Value {
    v["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == id)
        .unwrap()
}

#[test]
fn version_names_the_built_in_profiles() {
    for flag in ["--version", "-V"] {
        let o = run(&[flag]);
        assert_eq!(o.status.code(), Some(0));
        assert_eq!(
            String::from_utf8_lossy(&o.stdout),
            format!(
                "smtpauth-wizard {} (profiles: redhat-legacy, rhel, debian)\n",
                env!("CARGO_PKG_VERSION")
            )
        );
    }
}

#[test]
fn the_printed_example_is_a_valid_answers_file() {
    let o = run(&["answers", "--example"]);
    assert_eq!(o.status.code(), Some(0));
    let t = tempfile::tempdir().unwrap();
    let f = t.path().join("answers.yaml");
    fs::write(&f, &o.stdout).unwrap();
    let o = run(&["answers", f.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(text(&o).contains("valid"), "{}", text(&o));
    // Documented: every key, and the flag each one stands for.
    let ex = String::from_utf8_lossy(&run(&["answers", "--example"]).stdout).to_string();
    for k in [
        "--mechanisms",
        "--keep-relay",
        "--keep-feature",
        "--prune-relay-domains",
    ] {
        assert!(ex.contains(k), "the example does not mention {k}");
    }
}

#[test]
fn answers_choose_and_flags_override_them() {
    need_tools!();
    let t = fixture("redhat9");
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("answers.yaml");
    fs::write(
        &a,
        "mechanisms: [DIGEST-MD5, CRAM-MD5, LOGIN, PLAIN]\nkeep_relay: [\"192.168.0\"]\nrestart: false\n",
    )
    .unwrap();
    let a = a.to_str().unwrap();
    let o = run_root(t.path(), &["plan", "--answers", a]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let out = text(&o);
    assert!(
        out.contains("+TRUST_AUTH_MECH(`DIGEST-MD5 CRAM-MD5 LOGIN PLAIN')dnl"),
        "{out}"
    );
    assert!(
        !out.contains("# disabled by smtpauth-wizard (HOWTO step 10): 192.168.0"),
        "keep_relay was not honoured: {out}"
    );
    let v = json(&run_root(
        t.path(),
        &["check", "--format", "json", "--answers", a],
    ));
    for id in ["restart", "ehlo"] {
        assert_eq!(step(&v, id)["status"], "skipped");
        assert!(
            step(&v, id)["findings"][0]["message"]
                .as_str()
                .unwrap()
                .starts_with("answers: restart: false"),
            "{}",
            step(&v, id)
        );
    }
    // Flags win over the file.
    let out = text(&run_root(
        t.path(),
        &[
            "plan",
            "--answers",
            a,
            "--mechanisms",
            "LOGIN PLAIN",
            "--keep-relay",
            "10.9.8",
        ],
    ));
    assert!(out.contains("+TRUST_AUTH_MECH(`LOGIN PLAIN')dnl"), "{out}");
    assert!(
        out.contains("# disabled by smtpauth-wizard (HOWTO step 10): 192.168.0"),
        "{out}"
    );
    assert!(snapshot_is_pristine(t.path()), "plan wrote something");
}

fn snapshot_is_pristine(root: &Path) -> bool {
    !root.join("var/lib/smtpauth-wizard").exists() && !root.join("var/log").exists()
}

#[test]
fn the_profile_comes_from_the_answers_file_by_id_or_by_path() {
    need_tools!();
    let t = fixture("redhat9");
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("answers.yaml");
    let profile_of = |extra: &[&str]| -> Value {
        let mut args = vec![
            "check",
            "--format",
            "json",
            "--answers",
            a.to_str().unwrap(),
        ];
        args.extend(extra);
        json(&run_root(t.path(), &args))["profile"].clone()
    };
    fs::write(&a, "profile: rhel\n").unwrap();
    assert_eq!(profile_of(&[]), "rhel");
    assert_eq!(profile_of(&["--profile", "redhat-legacy"]), "redhat-legacy");
    // A path is relative to the answers file, not to the working directory.
    let mut p = fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/profiles/redhat-legacy.yaml"),
    )
    .unwrap();
    p = p.replacen("id: redhat-legacy", "id: site-local", 1);
    fs::write(dir.path().join("site.yaml"), p).unwrap();
    fs::write(&a, "profile: ./site.yaml\n").unwrap();
    assert_eq!(profile_of(&[]), "site-local");
    // Without a `/` it is a built-in id and nothing else, never a file (issue 13, item 1).
    fs::write(&a, "profile: site.yaml\n").unwrap();
    let o = run_root(t.path(), &["check", "--answers", a.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(
        text(&o).contains("profile: `site.yaml` is not a built-in profile")
            && text(&o).contains("such as ./site.yaml"),
        "{}",
        text(&o)
    );
}

#[test]
fn a_bad_answers_file_stops_before_anything_is_read_or_written() {
    let t = tempfile::tempdir().unwrap();
    let a = t.path().join("answers.yaml");
    fs::write(&a, "restart: no-thanks\n").unwrap();
    let o = run_root(
        t.path(),
        &["apply", "--yes", "--answers", a.to_str().unwrap()],
    );
    assert_eq!(o.status.code(), Some(1));
    let e = text(&o);
    assert!(
        e.contains("answers.yaml: line 1") && e.contains("restart") && e.contains("boolean"),
        "{e}"
    );
    assert!(!t.path().join("var").exists());
}

fn lines(p: &Path) -> Vec<String> {
    fs::read_to_string(p)
        .unwrap_or_default()
        .lines()
        .map(String::from)
        .collect()
}

fn recv(s: &UnixDatagram) -> String {
    let mut buf = vec![0u8; 65536];
    let n = s.recv(&mut buf).expect("a syslog datagram");
    String::from_utf8_lossy(&buf[..n]).to_string()
}

#[test]
fn every_apply_and_rollback_leaves_an_audit_line_and_a_syslog_datagram() {
    need_tools!();
    let t = fixture("debian12");
    let r = t.path();
    fs::create_dir_all(r.join("dev")).unwrap();
    let syslog = UnixDatagram::bind(r.join("dev/log")).unwrap();
    syslog
        .set_read_timeout(Some(std::time::Duration::from_secs(5)))
        .unwrap();
    let log = r.join("var/log/smtpauth-wizard.log");

    let o = run_root(r, &["apply", "--yes", "--format", "json"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let run_id = json(&o)["summary"]["run"].as_str().unwrap().to_string();
    let l = lines(&log);
    assert_eq!(l.len(), 1, "{l:?}");
    for want in [
        " apply result=ok ",
        &format!(" runs={run_id} "),
        "files=/etc/mail/sendmail.mc,/etc/mail/sendmail.cf,",
        "backups=/etc/mail/sendmail.mc.bak,/etc/mail/sendmail.cf.bak ",
        "saved=/var/lib/smtpauth-wizard/saved/",
        "steps=backup,sendmail-mc,sendmail-cf,",
    ] {
        assert!(l[0].contains(want), "lacks {want:?}: {}", l[0]);
    }
    assert_eq!(
        fs::metadata(&log).unwrap().permissions().mode() & 0o777,
        0o640
    );
    let d = recv(&syslog);
    assert!(d.starts_with("<21>"), "{d}");
    assert!(
        d.ends_with(l[0].split_once("]: ").unwrap().1),
        "the datagram and the log line differ:\n{d}\n{}",
        l[0]
    );

    // A nothing-to-do apply never gets to the engine: no line.
    let o = run_root(r, &["apply", "--yes"]);
    assert!(text(&o).contains("nothing to do"));
    assert_eq!(lines(&log).len(), 1);

    // A rollback stopped by a file changed since: logged as failed, at severity err.
    let cf = r.join("etc/default/saslauthd");
    let mut s = fs::read_to_string(&cf).unwrap();
    s.push_str("# a later edit\n");
    fs::write(&cf, &s).unwrap();
    let o = run_root(r, &["rollback", "--yes"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let l = lines(&log);
    assert!(
        l[1].contains(" rollback result=failed ") && l[1].contains("changed since"),
        "{}",
        l[1]
    );
    assert!(recv(&syslog).starts_with("<19>"));

    let o = run_root(r, &["rollback", "--yes", "--force"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let l = lines(&log);
    assert!(l[2].contains(" rollback result=ok "), "{}", l[2]);
    assert!(
        l[2].contains("saved=/var/lib/smtpauth-wizard/saved/"),
        "{}",
        l[2]
    );
    assert!(l[2].contains("/etc/mail/sendmail.mc"), "{}", l[2]);
    recv(&syslog);

    // Nothing to roll back: nothing happened, nothing is logged.
    run_root(r, &["rollback", "--yes"]);
    assert_eq!(lines(&log).len(), 3);

    assert_eq!(run_root(r, &["apply", "--yes"]).status.code(), Some(0));
    let o = run_root(r, &["rollback", "--yes", "--from-backups"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let l = lines(&log);
    assert_eq!(l.len(), 5, "{l:#?}");
    assert!(
        l[4].contains(" \"rollback --from-backups\" result=ok ")
            && l[4].contains("backups=/etc/mail/sendmail.mc.bak"),
        "{}",
        l[4]
    );
}

#[test]
fn man_pages_and_completions_come_from_the_command_line_definition() {
    let t = tempfile::tempdir().unwrap();
    let man = t.path().join("man");
    let comp = t.path().join("completions");
    let o = run(&["generate", "man", man.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let o = run(&["generate", "completions", comp.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let commands = [
        "check", "plan", "apply", "resume", "rollback", "status", "probe", "answers",
    ];
    let main = fs::read_to_string(man.join("smtpauth-wizard.8")).unwrap();
    assert!(main.starts_with(".ie"), "not roff: {}", &main[..80]);
    assert!(
        main.contains("profiles: redhat\\-legacy, rhel, debian"),
        "{main}"
    );
    assert!(main.contains("Exit codes"), "{main}");
    for c in commands {
        assert!(main.contains(c), "the main page lacks {c}");
        let page = fs::read_to_string(man.join(format!("smtpauth-wizard-{c}.8")))
            .unwrap_or_else(|e| panic!("no page for {c}: {e}"));
        assert!(page.contains(&format!("smtpauth\\-wizard\\-{c}")), "{page}");
    }
    assert!(
        !man.join("smtpauth-wizard-generate.8").exists(),
        "the hidden generate command got a page"
    );
    let page = fs::read_to_string(man.join("smtpauth-wizard-apply.8")).unwrap();
    assert!(page.contains("\\-\\-answers"), "{page}");
    for f in [
        "smtpauth-wizard.bash",
        "_smtpauth-wizard",
        "smtpauth-wizard.fish",
    ] {
        let s = fs::read_to_string(comp.join(f)).unwrap_or_else(|e| panic!("{f}: {e}"));
        for c in commands {
            assert!(s.contains(c), "{f} lacks {c}");
        }
        assert!(s.contains("answers"), "{f} lacks --answers");
    }
    // The bash completion is valid bash.
    if let Ok(o) = Command::new("bash")
        .arg("-n")
        .arg(comp.join("smtpauth-wizard.bash"))
        .output()
    {
        assert!(o.status.success(), "{}", text(&o));
    }
}

/// Runs the binary on a pseudo-terminal (util-linux `script`), where colours would be on.
fn on_a_terminal(args: &str, no_color: bool) -> Option<String> {
    let script = ["/usr/bin/script", "/bin/script"]
        .into_iter()
        .find(|p| Path::new(p).exists())?;
    let mut c = Command::new(script);
    c.args(["-q", "-e", "-c"])
        .arg(format!("{} {args}", bin().display()))
        .arg("/dev/null")
        .env("TERM", "xterm-256color")
        .env_remove("NO_COLOR")
        .env_remove("CLICOLOR")
        .env_remove("CLICOLOR_FORCE");
    if no_color {
        c.env("NO_COLOR", "1");
    }
    let o = c.output().ok()?;
    Some(String::from_utf8_lossy(&o.stdout).to_string())
}

#[test]
fn no_color_turns_every_colour_off() {
    need_tools!();
    let t = fixture("redhat9");
    let root = t.path().display().to_string();
    for args in [format!("plan --root {root}"), "--help".to_string()] {
        let Some(coloured) = on_a_terminal(&args, false) else {
            common::skip("util-linux `script` is not installed");
            return;
        };
        assert!(
            coloured.contains("\x1b["),
            "{args}: no colour on a terminal even without NO_COLOR, so this test proves nothing: {coloured}"
        );
        let plain = on_a_terminal(&args, true).unwrap();
        assert!(
            !plain.contains("\x1b["),
            "{args}: colour despite NO_COLOR: {plain:?}"
        );
        assert!(plain.len() > 100, "{args}: {plain}");
    }
}
