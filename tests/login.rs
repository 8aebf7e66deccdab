//! Who may log in (issue 11 item 4): `--login-group` in the pam step, `--password-source
//! sasldb` in the sasl step, the `users` command; on fixture trees built in temporary
//! directories, and live on the real stack (tests/e2e/login.sh).

#[allow(unused_macros)]
mod common;

use std::time::Duration;

/// The real sendmail, saslauthd, PAM and sasldb tools in an isolated namespace
/// (tests/e2e/login.sh). Needs root and the tools; elsewhere SKIPPED (a failure under
/// SMTPAUTH_WIZARD_REQUIRE_TOOLS).
#[test]
fn real_stack_login_group_and_sasldb() {
    use std::path::Path;
    if let Err(why) = common::need_root("unshare, bind mounts, port 25") {
        return common::skip(format!("live login test: {why}"));
    }
    for tool in [
        "/usr/sbin/sendmail-mta",
        "/usr/sbin/saslauthd",
        "/usr/sbin/testsaslauthd",
        "/usr/sbin/saslpasswd2",
        "/usr/sbin/sasldblistusers2",
        "/usr/bin/swaks",
        "/usr/bin/unshare",
        "/usr/bin/openssl",
        "/usr/bin/m4",
        "/usr/bin/python3",
        "/usr/bin/findmnt",
        "/etc/sasldb2",
    ] {
        if !Path::new(tool).exists() {
            return common::skip(format!("live login test: {tool} is not installed"));
        }
    }
    let live = common::run_live("login.sh", &[], Duration::from_secs(600));
    let (text, password) = (&live.text, &live.password);
    println!("{text}");
    assert!(live.ok, "live login test failed:\n{text}");
    assert!(
        !text.contains(password.as_str()),
        "the password appeared in the output"
    );
}

use serde_json::Value;
use std::fs;
use std::path::Path;

/// A copy of fixture `name` (without the cf tree: these tests look at pam and sasl only),
/// with an /etc/group and /etc/passwd of its own: smtpusers holds alice and root; bob is in
/// no group; carol has smtpusers as her primary group; sasl exists as on Debian.
fn tree(name: &str) -> tempfile::TempDir {
    let t = tempfile::Builder::new()
        .prefix("smtpauth-login-")
        .tempdir()
        .unwrap();
    common::copy_tree(&common::fixture_dir(name), t.path());
    let etc = t.path().join("etc");
    fs::write(
        etc.join("group"),
        "root:x:0:\nsasl:x:45:smmta\nsmtpusers:x:5000:alice,root\nempty:x:5001:\nsystemonly:x:5002:daemon\n",
    )
    .unwrap();
    fs::write(
        etc.join("passwd"),
        "root:x:0:0:root:/root:/bin/bash\ndaemon:x:1:1::/:/usr/sbin/nologin\nalice:x:1001:1001::/home/alice:/bin/sh\nbob:x:1002:1002::/home/bob:/bin/sh\ncarol:x:1003:5000::/home/carol:/bin/sh\n",
    )
    .unwrap();
    t
}

fn run(root: &Path, args: &[&str]) -> (i32, String, String) {
    let o = common::run_root(root, args);
    (
        o.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

/// `plan --format json` with `args`; the report of step `id`.
fn step(root: &Path, id: &str, args: &[&str]) -> Value {
    let mut a = vec!["plan", "--format", "json"];
    a.extend(args);
    let (_, out, err) = run(root, &a);
    let v: Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}{err}"));
    v["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == id)
        .unwrap_or_else(|| panic!("no step {id}: {v}"))
        .clone()
}

fn messages(s: &Value, severity: &str) -> Vec<String> {
    s["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["severity"] == severity)
        .map(|f| f["message"].as_str().unwrap().to_string())
        .collect()
}

/// The file a step's only change writes, after.
fn after(s: &Value) -> String {
    let c = s["changes"].as_array().unwrap();
    assert_eq!(c.len(), 1, "{s}");
    let d = c[0]["diff"].as_str().unwrap_or_default();
    d.to_string()
}

const UID: &str = "pam_succeed_if.so uid >= 1";
const GRP: &str = "pam_succeed_if.so user ingroup smtpusers";

/// The PAM file of fixture `name` after `apply --only pam` with `args`, and the tree; apply
/// must succeed, and rollback must give every byte, mode and mtime back.
fn apply_pam(t: &tempfile::TempDir, args: &[&str], pam: &str) -> String {
    let before = common::snapshot(t.path());
    let mut a = vec!["apply", "--yes", "--only", "pam"];
    a.extend(args);
    let (code, out, err) = run(t.path(), &a);
    assert_eq!(code, 0, "{out}{err}");
    let text =
        String::from_utf8_lossy(&fs::read(t.path().join(pam.trim_start_matches('/'))).unwrap())
            .into_owned();
    let (code, out, err) = run(t.path(), &["rollback", "--yes"]);
    assert_eq!(code, 0, "{out}{err}");
    let back = common::snapshot(t.path());
    let d = common::diff_snapshots(&before, &back);
    assert!(d.is_empty(), "rollback is not the identity: {d:?}");
    text
}

#[test]
fn login_group_goes_before_the_first_auth_line_and_keeps_everything_else() {
    let t = tree("debian12");
    let orig = fs::read_to_string(t.path().join("etc/pam.d/smtp")).unwrap();
    let s = step(t.path(), "pam", &["--login-group", "smtpusers"]);
    assert_eq!(s["status"], "pending", "{s}");
    let info = messages(&s, "info").join("\n");
    assert!(
        info.contains("may log in over SMTP AUTH: alice, carol (group smtpusers)"),
        "{info}"
    );
    assert!(
        info.contains("root is in group smtpusers but kept out by uid >= 1"),
        "{info}"
    );
    let text = apply_pam(&t, &["--login-group", "smtpusers"], "/etc/pam.d/smtp");
    let want = orig.replace(
        "@include common-auth\n",
        &format!("auth\trequisite\t{UID}\nauth\trequisite\t{GRP}\n@include common-auth\n"),
    );
    assert_eq!(text, want);
}

#[test]
fn login_min_uid_is_the_admins_choice() {
    let t = tree("debian12");
    let text = apply_pam(
        &t,
        &["--login-group", "smtpusers", "--login-min-uid", "1000"],
        "/etc/pam.d/smtp",
    );
    assert!(text.contains("pam_succeed_if.so uid >= 1000\n"), "{text}");
    assert!(!text.contains("uid >= 1\n"), "{text}");
    // Without a group it decides nothing: refused, naming both choices.
    let s = step(t.path(), "pam", &["--login-min-uid", "1000"]);
    assert_eq!(s["status"], "error");
    assert!(
        messages(&s, "error")[0].contains("--login-min-uid 1000 applies only with --login-group")
    );
}

#[test]
fn the_answers_file_decides_the_same() {
    let t = tree("debian12");
    let a = t.path().join("answers.yaml");
    fs::write(&a, "login_group: smtpusers\nlogin_min_uid: 500\n").unwrap();
    let s = step(t.path(), "pam", &["--answers", a.to_str().unwrap()]);
    assert_eq!(s["status"], "pending", "{s}");
    let d = after(&s);
    assert!(
        d.contains("+auth\trequisite\tpam_succeed_if.so uid >= 500"),
        "{d}"
    );
    assert!(d.contains(&format!("+auth\trequisite\t{GRP}")), "{d}");
}

/// RHEL: /etc/pam.d/smtp is an alternatives link; its target is edited, the link stays.
#[test]
fn rhel_alternatives_link_stays_and_its_target_is_edited() {
    let t = tree("rhel9");
    let link = t.path().join("etc/pam.d/smtp");
    let to = fs::read_link(&link).unwrap();
    let target = t.path().join("etc/alternatives/mta-pam");
    let real = fs::read_link(&target)
        .map(|p| t.path().join(p.strip_prefix("/").unwrap()))
        .unwrap_or(target.clone());
    let orig = fs::read_to_string(&real).unwrap();
    let before = common::snapshot(t.path());
    let (code, out, err) = run(
        t.path(),
        &[
            "apply",
            "--yes",
            "--only",
            "pam",
            "--login-group",
            "smtpusers",
        ],
    );
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(fs::read_link(&link).unwrap(), to, "the link was replaced");
    let text = fs::read_to_string(&real).unwrap();
    let first_auth = orig
        .lines()
        .find(|l| l.starts_with("auth"))
        .unwrap()
        .to_string();
    assert!(
        text.contains(&format!(
            "auth\trequisite\t{UID}\nauth\trequisite\t{GRP}\n{first_auth}"
        )),
        "{text}"
    );
    assert!(run(t.path(), &["rollback", "--yes"]).0 == 0);
    assert!(common::diff_snapshots(&before, &common::snapshot(t.path())).is_empty());
}

/// Files an admin may have: CRLF endings, a Latin-1 comment, a `sufficient` module before the
/// include (our lines must come before it, or it would let anyone with a password in),
/// `-auth`, no final newline, an `auth include` stack, and nothing but an account line.
#[test]
fn pam_file_variants() {
    let cases: &[(&str, &[u8], &str)] = &[
        (
            "crlf",
            b"#%PAM-1.0\r\n@include common-auth\r\n@include common-account\r\n",
            "#%PAM-1.0\r\nauth\trequisite\tUIDL\r\nauth\trequisite\tGRPL\r\n@include common-auth\r\n@include common-account\r\n",
        ),
        (
            "latin1",
            b"# caf\xe9 (Latin-1)\n@include common-auth\n@include common-account\n",
            "",
        ),
        (
            "sufficient-first",
            b"auth sufficient pam_sss.so\n@include common-auth\naccount include common-account\n",
            "auth\trequisite\tUIDL\nauth\trequisite\tGRPL\nauth sufficient pam_sss.so\n@include common-auth\naccount include common-account\n",
        ),
        (
            "dash-auth",
            b"# optional module\n-auth [success=done default=ignore] pam_systemd_home.so\n@include common-auth\n@include common-account\n",
            "# optional module\nauth\trequisite\tUIDL\nauth\trequisite\tGRPL\n-auth [success=done default=ignore] pam_systemd_home.so\n@include common-auth\n@include common-account\n",
        ),
        (
            "no-final-newline",
            b"@include common-account\n@include common-auth",
            "@include common-account\nauth\trequisite\tUIDL\nauth\trequisite\tGRPL\n@include common-auth",
        ),
        (
            "indented",
            b"   auth    include   password-auth\naccount include password-auth\n",
            "auth\trequisite\tUIDL\nauth\trequisite\tGRPL\n   auth    include   password-auth\naccount include password-auth\n",
        ),
    ];
    for (name, input, want) in cases {
        let t = tree("debian12");
        let p = t.path().join("etc/pam.d/smtp");
        fs::write(&p, input).unwrap();
        let text = apply_pam(&t, &["--login-group", "smtpusers"], "/etc/pam.d/smtp");
        if *name == "latin1" {
            let b = {
                // apply again to read the bytes (apply_pam rolled back)
                let (c, o, e) = run(
                    t.path(),
                    &[
                        "apply",
                        "--yes",
                        "--only",
                        "pam",
                        "--login-group",
                        "smtpusers",
                    ],
                );
                assert_eq!(c, 0, "{o}{e}");
                fs::read(&p).unwrap()
            };
            let mut w = b"# caf\xe9 (Latin-1)\n".to_vec();
            w.extend(format!("auth\trequisite\t{UID}\nauth\trequisite\t{GRP}\n@include common-auth\n@include common-account\n").as_bytes());
            assert_eq!(b, w, "{name}");
            continue;
        }
        let want = want.replace("UIDL", UID).replace("GRPL", GRP);
        assert_eq!(text, want, "{name}");
        // And applied, the step is done: nothing more to add.
        let (c, o, e) = run(
            t.path(),
            &[
                "apply",
                "--yes",
                "--only",
                "pam",
                "--login-group",
                "smtpusers",
            ],
        );
        assert_eq!(c, 0, "{o}{e}");
        let s = step(t.path(), "pam", &["--login-group", "smtpusers"]);
        assert_eq!(s["status"], "done", "{name}: {s}");
    }
}

/// A file the profile must replace (pam_stack.so, no auth line, missing) gets the profile's
/// content with the restriction in it.
#[test]
fn a_replaced_or_missing_pam_file_gets_the_restriction_too() {
    for input in [
        Some(&b"auth required /lib/security/pam_stack.so service=system-auth\naccount required /lib/security/pam_stack.so service=system-auth\n"[..]),
        Some(&b"account required pam_permit.so\n"[..]),
        None,
    ] {
        let t = tree("debian12");
        let p = t.path().join("etc/pam.d/smtp");
        match input {
            Some(b) => fs::write(&p, b).unwrap(),
            None => fs::remove_file(&p).unwrap(),
        }
        let text = apply_pam(&t, &["--login-group", "smtpusers"], "/etc/pam.d/smtp");
        assert_eq!(
            text,
            format!("#%PAM-1.0\n# PAM service used by SASL (saslauthd) to check SMTP AUTH passwords.\nauth\trequisite\t{UID}\nauth\trequisite\t{GRP}\n@include common-auth\n@include common-account\n"),
            "{input:?}"
        );
    }
}

/// Refusals change nothing and name what decides: a missing group, a name that is not a group
/// name (a line break would add a PAM line of its own), another group already required, the
/// module missing from a module directory that is there, --login-group under sasldb.
#[test]
fn refusals_name_the_reason_and_change_nothing() {
    type Prepare = Box<dyn Fn(&Path)>;
    let cases: Vec<(Vec<&str>, &str, Prepare)> = vec![
        (
            vec!["--login-group", "mailers"],
            "there is no group mailers in",
            Box::new(|_| {}),
        ),
        (
            vec!["--login-group", "smtp users"],
            "is not a group name",
            Box::new(|_| {}),
        ),
        (
            vec!["--login-group", "smtpusers\nauth sufficient pam_permit.so"],
            "is not a group name",
            Box::new(|_| {}),
        ),
        (
            vec!["--login-group=-x"],
            "is not a group name",
            Box::new(|_| {}),
        ),
        (
            vec!["--login-group", "smtpusers"],
            "already restricts SMTP AUTH to group staff",
            Box::new(|r: &Path| {
                fs::write(
                    r.join("etc/pam.d/smtp"),
                    "auth required pam_succeed_if.so user ingroup staff\n@include common-auth\n@include common-account\n",
                )
                .unwrap()
            }),
        ),
        (
            vec!["--login-group", "smtpusers"],
            "needs the PAM module pam_succeed_if.so",
            Box::new(|r: &Path| {
                let d = r.join("lib/x86_64-linux-gnu/security");
                fs::create_dir_all(&d).unwrap();
                fs::write(d.join("pam_unix.so"), b"\x7fELF").unwrap();
            }),
        ),
        (
            vec!["--login-group", "smtpusers", "--password-source", "sasldb"],
            "with --password-source sasldb PAM is not asked",
            Box::new(|_| {}),
        ),
    ];
    for (args, want, prepare) in cases {
        let t = tree("debian12");
        prepare(t.path());
        let s = step(t.path(), "pam", &args);
        assert_eq!(s["status"], "error", "{args:?}: {s}");
        let e = messages(&s, "error").join("\n");
        assert!(e.contains(want), "{args:?}: {e}");
        assert!(
            s["findings"]
                .as_array()
                .unwrap()
                .iter()
                .any(|f| f["decided_by"].to_string().contains("login_group")),
            "{args:?}: {s}"
        );
        let before = common::snapshot(t.path());
        let mut a = vec!["apply", "--yes", "--only", "pam"];
        a.extend(&args);
        let (code, out, err) = run(t.path(), &a);
        assert_eq!(code, 1, "{args:?}: {out}{err}");
        assert!(common::diff_snapshots(&before, &common::snapshot(t.path())).is_empty());
    }
    // With the module there, the same is accepted.
    let t = tree("debian12");
    let d = t.path().join("lib/x86_64-linux-gnu/security");
    fs::create_dir_all(&d).unwrap();
    fs::write(d.join("pam_unix.so"), b"\x7fELF").unwrap();
    fs::write(d.join("pam_succeed_if.so"), b"\x7fELF").unwrap();
    assert_eq!(
        step(t.path(), "pam", &["--login-group", "smtpusers"])["status"],
        "pending"
    );
}

#[test]
fn a_group_nobody_may_use_is_a_warning() {
    for g in ["empty", "systemonly"] {
        let t = tree("debian12");
        let s = step(
            t.path(),
            "pam",
            &["--login-group", g, "--login-min-uid", "1000"],
        );
        assert_eq!(s["status"], "pending", "{s}");
        let w = messages(&s, "warning").join("\n");
        assert!(
            w.contains(&format!("group {g} (gid")) && w.contains("has no member who may log in"),
            "{g}: {w}"
        );
    }
}

/// Without a choice nothing changes in the PAM file, and a warning says every system
/// account, root included, can be guessed, naming --login-group / login_group.
#[test]
fn without_a_choice_a_warning_names_the_choice() {
    let t = tree("debian12");
    let s = step(t.path(), "pam", &[]);
    assert_eq!(s["status"], "done", "{s}");
    let f = s["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["severity"] == "warning")
        .unwrap_or_else(|| panic!("{s}"))
        .clone();
    assert!(
        f["message"].as_str().unwrap().contains("root included"),
        "{f}"
    );
    assert_eq!(f["decided_by"][0]["answers_key"], "login_group", "{f}");
    assert_eq!(f["decided_by"][0]["option"], "--login-group", "{f}");
}

#[test]
fn sasldb_switches_sendmail_conf_and_says_system_users_cannot_log_in() {
    let t = tree("debian12");
    let s = step(t.path(), "sasl", &["--password-source", "sasldb"]);
    assert_eq!(s["status"], "pending", "{s}");
    let w = messages(&s, "warning").join("\n");
    assert!(
        w.contains("system users (PAM, saslauthd) can no longer log in"),
        "{w}"
    );
    assert!(w.contains("/etc/sasldb2 does not exist yet"), "{w}");
    let d = s["changes"][0]["diff"].as_str().unwrap();
    assert!(d.contains("+pwcheck_method: auxprop"), "{d}");
    assert!(d.contains("+auxprop_plugin: sasldb"), "{d}");
    assert!(
        d.contains("+mech_list: SCRAM-SHA-256 SCRAM-SHA-1 DIGEST-MD5 CRAM-MD5 LOGIN PLAIN"),
        "{d}"
    );
    // saslauthd is neither needed nor touched.
    assert!(!d.contains("START"), "{d}");
    assert_eq!(s["changes"].as_array().unwrap().len(), 1, "{s}");
    // The mc advertises what sasldb can verify, without the PAM warning about CRAM-MD5.
    let mc = step(t.path(), "sendmail-mc", &["--password-source", "sasldb"]);
    let d = mc["changes"][0]["diff"].as_str().unwrap();
    assert!(d.contains("define(`confAUTH_MECHANISMS', `SCRAM-SHA-256 SCRAM-SHA-1 DIGEST-MD5 CRAM-MD5 LOGIN PLAIN')"), "{d}");
    assert!(
        !messages(&mc, "warning")
            .join("\n")
            .contains("their logins fail"),
        "{mc}"
    );
    // The default stays saslauthd: LOGIN PLAIN, no sasldb keys.
    let s = step(t.path(), "sasl", &[]);
    assert!(!s.to_string().contains("auxprop"), "{s}");
}

#[test]
fn sasldb_variants() {
    // Debian 11: no SCRAM plugin, so no SCRAM in the list.
    let t = tree("debian11");
    let mc = step(t.path(), "sendmail-mc", &["--password-source", "sasldb"]);
    let d = mc["changes"][0]["diff"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(d.contains("`DIGEST-MD5 CRAM-MD5 LOGIN PLAIN')"), "{mc}");
    assert!(!d.contains("SCRAM"), "{d}");
    // SASL v1 (the HOWTO's Red Hat 9): refused, naming the choice.
    let t = tree("redhat9");
    let s = step(t.path(), "sasl", &["--password-source", "sasldb"]);
    assert_eq!(s["status"], "error", "{s}");
    assert!(messages(&s, "error")[0].contains("needs SASL v2"), "{s}");
    // Already auxprop/sasldb with a sasldb_path: no switching warning; that file is checked,
    // and a group-writable one is named.
    let t = tree("debian12");
    let conf = t.path().join("etc/mail/sasl/Sendmail.conf.2");
    fs::write(&conf, "pwcheck_method: auxprop\nauxprop_plugin: sasldb\nsasldb_path: /etc/mail/sasldb2\nmech_list: SCRAM-SHA-256 SCRAM-SHA-1 DIGEST-MD5 CRAM-MD5 LOGIN PLAIN\n").unwrap();
    let db = t.path().join("etc/mail/sasldb2");
    fs::write(&db, b"x").unwrap();
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(&db, fs::Permissions::from_mode(0o660)).unwrap();
    let s = step(t.path(), "sasl", &["--password-source", "sasldb"]);
    let w = messages(&s, "warning").join("\n");
    assert!(!w.contains("can no longer log in"), "{w}");
    assert!(w.contains("sasldb2 has mode 0660"), "{w}");
    assert!(s["changes"].as_array().unwrap().is_empty(), "{s}");
    fs::set_permissions(&db, fs::Permissions::from_mode(0o640)).unwrap();
    let s = step(t.path(), "sasl", &["--password-source", "sasldb"]);
    assert_eq!(s["status"], "done", "{s}");
}

/// The real saslpasswd2 and sasldblistusers2, or why the test cannot run.
fn sasl_tools() -> Result<(), String> {
    common::need_root("sasldb owned by root:sasl")?;
    for t in ["/usr/sbin/saslpasswd2", "/usr/sbin/sasldblistusers2"] {
        if !Path::new(t).exists() {
            return Err(format!("{t} is not installed (sasl2-bin)"));
        }
    }
    Ok(())
}

fn run_env(root: &Path, args: &[&str], env: &[(&str, &str)]) -> (i32, String, String) {
    let mut c = std::process::Command::new(common::bin());
    c.args(["--root", root.to_str().unwrap()])
        .args(args)
        .env("NO_COLOR", "1")
        .stdin(std::process::Stdio::null());
    for (k, v) in env {
        c.env(k, v);
    }
    let o = c.output().unwrap();
    (
        o.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

/// `users add/list/remove` on a --root tree with the real tools: the realm is the host's
/// qualified name from the tree's /etc/hostname and /etc/hosts, sasldb is made root:sasl 0640
/// (the tree's sasl gid), the password is in no output and no file but sasldb (audit log
/// included), a missing user is an error, and `--password-fd` works the same.
#[test]
fn users_add_list_remove_on_a_tree() {
    skip_unless!(sasl_tools());
    use std::os::unix::fs::MetadataExt;
    let t = tree("debian12");
    let root = t.path();
    fs::write(root.join("etc/hostname"), "mailsrv\n").unwrap();
    fs::write(
        root.join("etc/hosts"),
        "127.0.0.1 localhost\n127.0.1.1 mailsrv.example.test mailsrv\n",
    )
    .unwrap();
    let pw = "Tree-pw-5e3f9a1c";
    let (c, o, e) = run_env(
        root,
        &["users", "add", "alice", "--password-env", "ALICE_PW"],
        &[("ALICE_PW", pw)],
    );
    assert_eq!(c, 0, "{o}{e}");
    assert!(o.contains("added alice@mailsrv.example.test in"), "{o}");
    assert!(!o.contains(pw) && !e.contains(pw));
    let db = root.join("etc/sasldb2");
    let m = fs::metadata(&db).unwrap();
    assert_eq!((m.mode() & 0o7777, m.uid(), m.gid()), (0o640, 0, 45));
    // Again: a new password for the same user.
    let (c, o, e) = run_env(
        root,
        &["users", "add", "alice", "--password-env", "ALICE_PW"],
        &[("ALICE_PW", "other")],
    );
    assert_eq!(c, 0, "{o}{e}");
    assert!(
        o.contains("set a new password for alice@mailsrv.example.test"),
        "{o}"
    );
    // --password-fd: a pipe on fd 3.
    let (code, out) = {
        use std::io::Write;
        let (r, mut w) = std::io::pipe().unwrap();
        w.write_all(b"bob-pw\n").unwrap();
        drop(w);
        let mut c = std::process::Command::new("bash");
        c.args([
            "-c",
            r#""$0" users add bob --password-fd 3 --root "$1" 3<&0"#,
        ])
        .arg(common::bin())
        .arg(root)
        .stdin(r);
        let o = c.output().unwrap();
        (o.status.code(), common::text(&o))
    };
    assert_eq!(code, Some(0), "{out}");
    let (c, o, e) = run(root, &["users", "list", "--format", "json"]);
    assert_eq!(c, 0, "{o}{e}");
    let v: Value = serde_json::from_str(&o).unwrap();
    let users: Vec<String> = v["users"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| {
            format!(
                "{}@{}",
                u["user"].as_str().unwrap(),
                u["realm"].as_str().unwrap()
            )
        })
        .collect();
    assert_eq!(
        users,
        ["alice@mailsrv.example.test", "bob@mailsrv.example.test"],
        "{v}"
    );
    assert!(
        v["note"]
            .as_str()
            .unwrap()
            .contains("sendmail does not read sasldb yet"),
        "{v}"
    );
    // The password: only in sasldb.
    let log = fs::read_to_string(root.join("var/log/smtpauth-wizard.log")).unwrap();
    assert!(
        log.contains("\"users add\" result=ok") && log.contains("alice@mailsrv.example.test"),
        "{log}"
    );
    for f in walk(root) {
        if f.ends_with("etc/sasldb2") {
            continue;
        }
        let b = fs::read(&f).unwrap();
        assert!(
            !b.windows(pw.len()).any(|w| w == pw.as_bytes()),
            "the password is in {}",
            f.display()
        );
    }
    // remove, and remove again: an error that changes nothing.
    let (c, o, e) = run(root, &["users", "remove", "alice"]);
    assert_eq!(c, 0, "{o}{e}");
    let (c, o, e) = run(root, &["users", "remove", "alice"]);
    assert_eq!(c, 1, "{o}{e}");
    assert!(
        e.contains("there is no user alice@mailsrv.example.test"),
        "{e}"
    );
    let (_, o, _) = run(root, &["users", "list"]);
    assert_eq!(o.trim(), "bob@mailsrv.example.test");
    let log = fs::read_to_string(root.join("var/log/smtpauth-wizard.log")).unwrap();
    assert_eq!(
        log.lines()
            .filter(|l| l.contains("\"users remove\" result=ok"))
            .count(),
        1,
        "{log}"
    );
}

fn walk(d: &Path) -> Vec<std::path::PathBuf> {
    let mut v = vec![];
    for e in fs::read_dir(d).unwrap().flatten() {
        let ft = e.file_type().unwrap();
        if ft.is_dir() {
            v.extend(walk(&e.path()));
        } else if ft.is_file() {
            v.push(e.path());
        }
    }
    v
}

/// The realm trap (TLS.md): a host name that cannot be qualified is refused (with --realm
/// named) before anything is written; `sasldb_path` in Sendmail.conf is where users go; bad
/// names are refused; a tree without a group sasl gets root 0600.
#[test]
fn users_refusals_and_sasldb_path() {
    skip_unless!(sasl_tools());
    use std::os::unix::fs::MetadataExt;
    let t = tree("debian12");
    let root = t.path();
    fs::write(root.join("etc/hostname"), "vm\n").unwrap();
    fs::write(root.join("etc/hosts"), "127.0.0.1 localhost vm\n").unwrap();
    let (c, _, e) = run_env(
        root,
        &["users", "add", "alice", "--password-env", "P"],
        &[("P", "x")],
    );
    assert_eq!(c, 1);
    assert!(e.contains("\"vm\"") && e.contains("--realm"), "{e}");
    assert!(!root.join("etc/sasldb2").exists());
    for bad in ["a@b", "a b", "--x", "a/b"] {
        let (c, _, e) = run_env(
            root,
            &[
                "users",
                "add",
                "--realm",
                "mail.example.org",
                "--password-env",
                "P",
                "--",
                bad,
            ],
            &[("P", "x")],
        );
        assert_eq!(c, 1, "{bad}");
        assert!(e.contains("user name"), "{bad}: {e}");
    }
    let (c, _, e) = run_env(
        root,
        &[
            "users",
            "add",
            "alice",
            "--realm",
            "mail.example.org",
            "--password-env",
            "P",
        ],
        &[("P", "")],
    );
    assert_eq!(c, 1);
    assert!(e.contains("the password is empty"), "{e}");
    let (c, _, e) = run_env(
        root,
        &[
            "users",
            "add",
            "alice",
            "--realm",
            "mail.example.org",
            "--password-env",
            "NOPE",
        ],
        &[],
    );
    assert_eq!(c, 1);
    assert!(e.contains("NOPE: no such environment variable"), "{e}");
    assert!(!root.join("etc/sasldb2").exists());
    // sasldb_path, and no group sasl: root 0600.
    fs::write(
        root.join("etc/mail/sasl/Sendmail.conf.2"),
        "pwcheck_method: auxprop\nauxprop_plugin: sasldb\nsasldb_path: /etc/mail/sasldb2\n",
    )
    .unwrap();
    fs::write(root.join("etc/group"), "root:x:0:\n").unwrap();
    let (c, o, e) = run_env(
        root,
        &[
            "users",
            "add",
            "alice",
            "--realm",
            "mail.example.org",
            "--password-env",
            "P",
        ],
        &[("P", "pw")],
    );
    assert_eq!(c, 0, "{o}{e}");
    assert!(!e.contains("sendmail does not read sasldb yet"), "{e}");
    let m = fs::metadata(root.join("etc/mail/sasldb2")).unwrap();
    assert_eq!((m.mode() & 0o7777, m.uid(), m.gid()), (0o600, 0, 0));
    assert!(!root.join("etc/sasldb2").exists());
    let (_, o, _) = run(root, &["users", "list"]);
    assert_eq!(o.trim(), "alice@mail.example.org");
}

/// A Sendmail.conf that already checks passwords itself is never switched without a choice:
/// its users would be locked out. Another auxprop store (sql, ldapdb) is never replaced.
#[test]
fn an_existing_password_store_is_kept_unless_chosen() {
    let t = tree("debian12");
    let conf = t.path().join("etc/mail/sasl/Sendmail.conf.2");
    for (text, args, status, want) in [
        (
            "pwcheck_method: auxprop\nauxprop_plugin: sasldb\n",
            &[][..],
            "error",
            "checks passwords itself (pwcheck_method: auxprop, auxprop_plugin: sasldb): switching to saslauthd would lock out",
        ),
        (
            "pwcheck_method: auxprop\n",
            &[][..],
            "error",
            "checks passwords itself (pwcheck_method: auxprop): switching",
        ),
        (
            "pwcheck_method: auxprop\nauxprop_plugin: sasldb\n",
            &["--password-source", "saslauthd"][..],
            "pending",
            "pwcheck_method is auxprop, this system needs saslauthd",
        ),
        (
            "pwcheck_method: auxprop\nauxprop_plugin: sql\n",
            &["--password-source", "sasldb"][..],
            "error",
            "uses auxprop_plugin: sql: the wizard does not replace another password store",
        ),
        (
            "pwcheck_method: auxprop\n",
            &["--password-source", "sasldb"][..],
            "pending",
            "sasldb2 does not exist yet",
        ),
    ] {
        fs::write(&conf, text).unwrap();
        let s = step(t.path(), "sasl", args);
        assert_eq!(s["status"], status, "{text} {args:?}: {s}");
        let all = s["findings"].to_string();
        assert!(all.contains(want), "{text} {args:?}: {all}");
        if status == "error" {
            assert!(all.contains("\"answers_key\":\"password_source\""), "{all}");
            let before = common::snapshot(t.path());
            let mut a = vec!["apply", "--yes", "--only", "sasl"];
            a.extend(args);
            assert_eq!(run(t.path(), &a).0, 1);
            assert!(common::diff_snapshots(&before, &common::snapshot(t.path())).is_empty());
        }
    }
}

/// SASL v1 (the HOWTO's Red Hat 9) has no saslpasswd2: every `users` command says so and
/// writes nothing.
#[test]
fn users_on_sasl_v1_is_refused() {
    let t = tree("redhat9");
    let before = common::snapshot(t.path());
    for args in [
        &["users", "list"][..],
        &["users", "add", "alice", "--password-env", "P"][..],
        &["users", "remove", "alice"][..],
    ] {
        let (c, o, e) = run_env(t.path(), args, &[("P", "pw")]);
        assert_eq!(c, 1, "{args:?}: {o}{e}");
        assert!(e.contains("users needs Cyrus SASL v2"), "{args:?}: {e}");
    }
    let (c, o, _) = run_env(t.path(), &["users", "list", "--format", "json"], &[]);
    assert_eq!(c, 1);
    let v: Value = serde_json::from_str(&o).unwrap();
    assert!(v["error"].as_str().unwrap().contains("SASL v2"), "{v}");
    assert!(common::diff_snapshots(&before, &common::snapshot(t.path())).is_empty());
}

/// `users add` on a real terminal (tmux): the password is asked twice without echo; two
/// different answers change nothing.
#[test]
fn users_add_asks_twice_without_echo_on_a_terminal() {
    skip_unless!(sasl_tools());
    use std::process::Command;
    if Command::new("tmux").arg("-V").output().is_err() {
        return common::skip("tmux is not installed (apt-get install tmux)");
    }
    let t = tree("debian12");
    let sock = format!("smtpauth-users-{}", std::process::id());
    struct Kill(String);
    impl Drop for Kill {
        fn drop(&mut self) {
            let _ = Command::new("tmux")
                .args(["-L", &self.0, "kill-server"])
                .status();
        }
    }
    let _k = Kill(sock.clone());
    let tmux = |args: &[&str]| -> String {
        let o = Command::new("tmux")
            .args(["-L", &sock])
            .args(args)
            .output()
            .unwrap();
        String::from_utf8_lossy(&o.stdout).into_owned()
    };
    assert!(Command::new("tmux")
        .args([
            "-L",
            &sock,
            "-f",
            "/dev/null",
            "new-session",
            "-d",
            "-x",
            "120",
            "-y",
            "30",
            "-s",
            "w"
        ])
        .args([
            "env",
            "-i",
            "PATH=/usr/sbin:/usr/bin:/sbin:/bin",
            "TERM=xterm",
            "PS1=$ ",
            "bash",
            "--norc",
            "--noprofile"
        ])
        .status()
        .unwrap()
        .success());
    let wait_for = |text: &str| -> String {
        for _ in 0..200 {
            let s = tmux(&["capture-pane", "-p", "-t", "w"]);
            if s.contains(text) {
                return s;
            }
            std::thread::sleep(Duration::from_millis(150));
        }
        panic!(
            "the terminal never showed {text:?}:\n{}",
            tmux(&["capture-pane", "-p", "-t", "w"])
        );
    };
    let line = |s: &str| {
        tmux(&["send-keys", "-t", "w", "-l", s]);
        tmux(&["send-keys", "-t", "w", "Enter"]);
    };
    let cmd = format!(
        "{} --root {} users add alice --realm mail.example.org; echo R\"\"C=$?",
        common::bin().display(),
        t.path().display()
    );
    line(&cmd);
    wait_for("new password for alice:");
    line("Tty-pw-91b2");
    wait_for("again:");
    line("Tty-pw-91b2");
    let s = wait_for("RC=");
    assert!(
        s.contains("RC=0") && s.contains("added alice@mail.example.org"),
        "{s}"
    );
    assert!(!s.contains("Tty-pw-91b2"), "the password was echoed:\n{s}");
    tmux(&["send-keys", "-t", "w", "clear", "Enter"]);
    let before = fs::read(t.path().join("etc/sasldb2")).unwrap();
    line(&cmd.replace("alice", "bob"));
    wait_for("new password for bob:");
    line("one");
    wait_for("again:");
    line("two");
    let s = wait_for("RC=");
    assert!(
        s.contains("RC=1") && s.contains("the two passwords differ"),
        "{s}"
    );
    assert_eq!(fs::read(t.path().join("etc/sasldb2")).unwrap(), before);
}
