//! The tls step (issue 11 items 1 and 2) on fixture trees, as a process: where the certificate
//! comes from (a self-signed one made by the wizard, Debian's starttls.m4, Red Hat's dnl-ed or
//! active defines, the admin's own defines, an ACME-like pair given with --tls-cert/--tls-key),
//! `A p y` keeping the admin's letters, a given pair that cannot be used refused with nothing
//! changed, --no-tls, and apply then rollback the identity (the wizard's certificate and key
//! removed). The live test on the real sendmail is tls_step_live below (tests/e2e/tls_step.sh).

#[allow(unused_macros)]
mod common;
use common::*;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

const HOST: &str = "mailsrv.example.test";

/// A certificate for `names` valid between the two years, and its key (PEM).
fn pair(names: &[&str], from: i32, to: i32) -> (String, String) {
    let mut p =
        rcgen::CertificateParams::new(names.iter().map(|s| s.to_string()).collect::<Vec<_>>())
            .unwrap();
    p.distinguished_name
        .push(rcgen::DnType::CommonName, names[0].to_string());
    p.not_before = rcgen::date_time_ymd(from, 1, 1);
    p.not_after = rcgen::date_time_ymd(to, 1, 1);
    let k = rcgen::KeyPair::generate().unwrap();
    let c = p.self_signed(&k).unwrap();
    (c.pem(), k.serialize_pem())
}

fn put(root: &Path, target: &str, content: &str, mode: u32) {
    let p = root.join(target.trim_start_matches('/'));
    fs::create_dir_all(p.parent().unwrap()).unwrap();
    fs::write(&p, content).unwrap();
    fs::set_permissions(&p, fs::Permissions::from_mode(mode)).unwrap();
}

fn read(root: &Path, target: &str) -> String {
    fs::read_to_string(root.join(target.trim_start_matches('/'))).unwrap_or_default()
}

/// A fixture with its sendmail.cf rebuilt from its mc, the host name mailsrv.example.test.
fn tree(name: &str) -> tempfile::TempDir {
    let t = fixture(name);
    put(
        t.path(),
        "/etc/hosts",
        &format!("127.0.0.1 localhost\n127.0.1.1 {HOST} mailsrv\n"),
        0o644,
    );
    put(t.path(), "/etc/hostname", "mailsrv\n", 0o644);
    t
}

fn edit_mc(root: &Path, mc: &str, f: impl Fn(&str) -> String) {
    let s = read(root, mc);
    let n = f(&s);
    assert_ne!(s, n, "the fixture edit changed nothing");
    fs::write(root.join(mc.trim_start_matches('/')), n).unwrap();
    rebuild_cf(root);
}

/// apply --yes (with `extra`), which must succeed; then a second apply has nothing to do;
/// then rollback restores the tree byte for byte. Returns apply's output and the tree as it
/// was after apply (mc, cf).
fn apply_idempotent_rollback(root: &Path, extra: &[&str]) -> (String, String, String) {
    let before = snapshot(root);
    // The plan's findings (apply's output lists only what it does).
    let mut pl = vec!["plan"];
    pl.extend(extra);
    let plan = text(&run_root(root, &pl));
    let mut a = vec!["apply", "--yes"];
    a.extend(extra);
    let o = run_root(root, &a);
    let out = format!("{plan}\n{}", text(&o));
    assert_eq!(o.status.code(), Some(0), "apply: {out}");
    let mc = if root.join("etc/mail/sendmail.mc").exists() {
        read(root, "/etc/mail/sendmail.mc")
    } else {
        String::new()
    };
    let cf = read(root, "/etc/mail/sendmail.cf");
    let again = run_root(root, &a);
    assert!(
        text(&again).contains("nothing to do"),
        "second apply: {}",
        text(&again)
    );
    let r = run_root(root, &["rollback", "--yes"]);
    assert_eq!(r.status.code(), Some(0), "rollback: {}", text(&r));
    let d = diff_snapshots(&before, &snapshot(root));
    assert!(d.is_empty(), "rollback is not the identity: {d:?}");
    (out, mc, cf)
}

fn cf_option<'a>(cf: &'a str, name: &str) -> Option<&'a str> {
    cf.lines()
        .find_map(|l| l.strip_prefix(&format!("O {name}=")))
}

#[test]
fn debian_without_tls_gets_a_self_signed_certificate_and_a_p_y() {
    need_tools!();
    let t = tree("debian12");
    let root = t.path();
    // What apply writes, seen before rollback removes it.
    let o = run_root(root, &["plan"]);
    let plan = text(&o);
    assert!(
        plan.contains("a private key") && !plan.contains("BEGIN PRIVATE KEY"),
        "the plan shows the key: {plan}"
    );
    let before = snapshot(root);
    let o = run_root(root, &["apply", "--yes"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let key = root.join("etc/mail/tls/smtpauth-wizard.key");
    let m = fs::metadata(&key).unwrap();
    assert_eq!(m.permissions().mode() & 0o777, 0o600);
    let crt = read(root, "/etc/mail/tls/smtpauth-wizard.crt");
    assert!(crt.starts_with("-----BEGIN CERTIFICATE-----"));
    let cf = read(root, "/etc/mail/sendmail.cf");
    assert_eq!(
        cf_option(&cf, "ServerCertFile"),
        Some("/etc/mail/tls/smtpauth-wizard.crt")
    );
    assert_eq!(
        cf_option(&cf, "ServerKeyFile"),
        Some("/etc/mail/tls/smtpauth-wizard.key")
    );
    assert_eq!(cf_option(&cf, "AuthOptions"), Some("A p y"), "{cf}");
    let mc = read(root, "/etc/mail/sendmail.mc");
    assert!(
        mc.contains("define(`confAUTH_OPTIONS', `A p y')dnl"),
        "{mc}"
    );
    // The defines come before MAILER_DEFINITIONS.
    let at = |s: &str| mc.find(s).unwrap();
    assert!(at("confSERVER_CERT") < at("MAILER_DEFINITIONS"));
    // The check reports the certificate it made.
    let c = run_root(root, &["check", "--format", "json"]);
    let j: serde_json::Value = serde_json::from_slice(&c.stdout).unwrap();
    let tls = j["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == "tls")
        .unwrap();
    assert_eq!(tls["status"], "done", "{tls}");
    let msgs = tls["findings"].to_string();
    assert!(
        msgs.contains("DNS:mailsrv.example.test") && msgs.contains("kept"),
        "{msgs}"
    );
    let again = run_root(root, &["apply", "--yes"]);
    assert!(text(&again).contains("nothing to do"), "{}", text(&again));
    let r = run_root(root, &["rollback", "--yes"]);
    assert_eq!(r.status.code(), Some(0), "{}", text(&r));
    assert!(!key.exists() && !root.join("etc/mail/tls").exists());
    let d = diff_snapshots(&before, &snapshot(root));
    assert!(d.is_empty(), "rollback is not the identity: {d:?}");
}

/// Debian's /etc/mail/tls as update_tls leaves it (key root:smmsp 0640, starttls.m4 with
/// GroupReadableKeyFile), simplified to the defines m4 needs without the autoconf include.
fn debian_tls(root: &Path, name: &str) {
    let (c, k) = pair(&[name], 2020, 2099);
    put(root, "/etc/mail/tls/sendmail-server.crt", &c, 0o644);
    put(root, "/etc/mail/tls/sendmail-common.key", &k, 0o640);
    put(
        root,
        "/etc/mail/tls/starttls.m4",
        "divert(-1)dnl\n\
         divert(0)dnl\n\
         define(`confDONT_BLAME_SENDMAIL',dnl\n\
         \tdefn(`confDONT_BLAME_SENDMAIL')`,GroupReadableKeyFile')dnl\n\
         define(`confCACERT_PATH',     `/etc/ssl/certs')dnl   # <= EDIT\n\
         define(`confCACERT',           `/etc/mail/tls/sendmail-server.crt')dnl   # <= EDIT\n\
         define(`confSERVER_CERT',     `/etc/mail/tls/sendmail-server.crt')dnl   # <= EDIT\n\
         define(`confSERVER_KEY',      `/etc/mail/tls/sendmail-common.key')dnl   # <= EDIT\n",
        0o744,
    );
}

#[test]
fn debian_starttls_m4_is_included_or_kept() {
    need_tools!();
    // Not yet included: the include goes before MAILER_DEFINITIONS, no certificate is made.
    let t = tree("debian12");
    debian_tls(t.path(), HOST);
    let (out, mc, cf) = apply_idempotent_rollback(t.path(), &[]);
    assert!(
        mc.contains("include(`/etc/mail/tls/starttls.m4')dnl\nMAILER_DEFINITIONS"),
        "{mc}"
    );
    assert!(!mc.contains("smtpauth-wizard.crt"), "{mc}");
    assert_eq!(
        cf_option(&cf, "ServerKeyFile"),
        Some("/etc/mail/tls/sendmail-common.key")
    );
    assert!(out.contains("distribution's"), "{out}");
    // Already included (as sendmailconfig does), with Debian's certificate for the install
    // time name `vm` and no subjectAltName: kept, with a wrong-name warning; only A p y.
    let t = tree("debian12");
    debian_tls(t.path(), "vm");
    edit_mc(t.path(), "/etc/mail/sendmail.mc", |s| {
        s.replace(
            "MAILER_DEFINITIONS",
            "include(`/etc/mail/tls/starttls.m4')dnl\nMAILER_DEFINITIONS",
        )
    });
    let c = run_root(t.path(), &["check"]);
    let out = text(&c);
    assert!(
        out.contains("kept as they are") && out.contains("wrong name"),
        "{out}"
    );
    let (_, mc, cf) = apply_idempotent_rollback(t.path(), &[]);
    assert_eq!(mc.matches("starttls.m4").count(), 1, "{mc}");
    assert_eq!(cf_option(&cf, "AuthOptions"), Some("A p y"));
    // Included but commented out: the line is activated in place.
    let t = tree("debian12");
    debian_tls(t.path(), HOST);
    edit_mc(t.path(), "/etc/mail/sendmail.mc", |s| {
        s.replace(
            "MAILER_DEFINITIONS",
            "dnl include(`/etc/mail/tls/starttls.m4')dnl\nMAILER_DEFINITIONS",
        )
    });
    let (_, mc, _) = apply_idempotent_rollback(t.path(), &[]);
    assert!(!mc.contains("dnl include(`/etc/mail/tls"), "{mc}");
    assert_eq!(mc.matches("starttls.m4").count(), 1, "{mc}");
}

#[test]
fn debian_key_world_readable_is_not_used_and_a_new_pair_is_made() {
    need_tools!();
    let t = tree("debian12");
    debian_tls(t.path(), HOST);
    fs::set_permissions(
        t.path().join("etc/mail/tls/sendmail-common.key"),
        fs::Permissions::from_mode(0o644),
    )
    .unwrap();
    let (out, mc, _) = apply_idempotent_rollback(t.path(), &[]);
    assert!(
        out.contains("World readable") || out.contains("world-readable"),
        "{out}"
    );
    assert!(
        mc.contains("smtpauth-wizard.crt") && !mc.contains("starttls.m4"),
        "{mc}"
    );
}

#[test]
fn rhel_active_defines_without_files_get_a_pair_made_there() {
    need_tools!();
    let t = tree("rhel9");
    let before = snapshot(t.path());
    let o = run_root(t.path(), &["apply", "--yes"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let key = t.path().join("etc/pki/tls/private/sendmail.key");
    assert_eq!(
        fs::metadata(&key).unwrap().permissions().mode() & 0o777,
        0o600
    );
    assert!(t.path().join("etc/pki/tls/certs/sendmail.pem").exists());
    let r = run_root(t.path(), &["rollback", "--yes"]);
    assert_eq!(r.status.code(), Some(0), "{}", text(&r));
    assert!(!t.path().join("etc/pki").exists(), "rollback left /etc/pki");
    assert!(diff_snapshots(&before, &snapshot(t.path())).is_empty());
}

#[test]
fn rhel_dnl_defines_with_the_distribution_pem_are_activated() {
    need_tools!();
    let t = tree("rhel9");
    // The older stock mc: the four defines dnl-ed out, sendmail.pem holding key and cert.
    edit_mc(t.path(), "/etc/mail/sendmail.mc", |s| {
        s.replace("define(`confCACERT_PATH'", "dnl define(`confCACERT_PATH'")
            .replace("define(`confCACERT',", "dnl define(`confCACERT',")
            .replace("define(`confSERVER_CERT'", "dnl define(`confSERVER_CERT'")
            .replace(
                "define(`confSERVER_KEY', `/etc/pki/tls/private/sendmail.key')",
                "dnl define(`confSERVER_KEY', `/etc/pki/tls/certs/sendmail.pem')",
            )
    });
    let (c, k) = pair(&[HOST], 2020, 2099);
    put(
        t.path(),
        "/etc/pki/tls/certs/sendmail.pem",
        &format!("{k}{c}"),
        0o600,
    );
    put(t.path(), "/etc/pki/tls/certs/ca-bundle.crt", &c, 0o644);
    let (out, mc, cf) = apply_idempotent_rollback(t.path(), &[]);
    assert!(
        mc.contains("\ndefine(`confSERVER_CERT', `/etc/pki/tls/certs/sendmail.pem')dnl")
            && mc.contains("\ndefine(`confSERVER_KEY', `/etc/pki/tls/certs/sendmail.pem')dnl")
            && mc.contains("\ndefine(`confCACERT_PATH', `/etc/pki/tls/certs')dnl"),
        "{mc}"
    );
    assert_eq!(mc.matches("confSERVER_CERT").count(), 1, "{mc}");
    assert!(out.contains("dnl-ed out"), "{out}");
    assert_eq!(cf_option(&cf, "AuthOptions"), Some("A p y"));
}

#[test]
fn the_admins_own_usable_defines_and_letters_are_kept() {
    need_tools!();
    let t = tree("debian12");
    let (c, k) = pair(&[HOST], 2020, 2099);
    put(t.path(), "/srv/certs/mail.crt", &c, 0o644);
    put(t.path(), "/srv/certs/mail.key", &k, 0o600);
    edit_mc(t.path(), "/etc/mail/sendmail.mc", |s| {
        s.replace(
            "MAILER_DEFINITIONS",
            "define(`confAUTH_OPTIONS', `A,d')dnl\n\
             define(`confSERVER_CERT', `/srv/certs/mail.crt')dnl\n\
             define(`confSERVER_KEY', `/srv/certs/mail.key')dnl\nMAILER_DEFINITIONS",
        )
    });
    let (out, mc, _) = apply_idempotent_rollback(t.path(), &[]);
    assert!(out.contains("kept as they are"), "{out}");
    assert!(mc.contains("`A,d,p,y'"), "{mc}");
    assert_eq!(mc.matches("confSERVER_CERT").count(), 1, "{mc}");
    assert!(!t.path().join("etc/mail/tls").exists());
}

#[test]
fn the_admins_defines_pointing_at_an_unusable_pair_are_refused() {
    need_tools!();
    for (what, cmode, kmode, names, years, want) in [
        (
            "key 0644",
            0o644,
            0o644,
            [HOST],
            (2020, 2099),
            "world-readable",
        ),
        ("expired", 0o644, 0o600, [HOST], (2001, 2002), "expired"),
    ] {
        let t = tree("debian12");
        let (c, k) = pair(&names, years.0, years.1);
        put(t.path(), "/srv/certs/mail.crt", &c, cmode);
        put(t.path(), "/srv/certs/mail.key", &k, kmode);
        edit_mc(t.path(), "/etc/mail/sendmail.mc", |s| {
            s.replace(
                "MAILER_DEFINITIONS",
                "define(`confSERVER_CERT', `/srv/certs/mail.crt')dnl\n\
                 define(`confSERVER_KEY', `/srv/certs/mail.key')dnl\nMAILER_DEFINITIONS",
            )
        });
        let before = snapshot(t.path());
        let o = run_root(t.path(), &["apply", "--yes"]);
        let out = text(&o);
        assert_eq!(o.status.code(), Some(1), "{what}: {out}");
        assert!(
            out.contains(want) && out.contains("mail.key") && out.contains("nothing was changed"),
            "{what}: {out}"
        );
        let c = text(&run_root(t.path(), &["check"]));
        assert!(
            c.contains("--tls-cert FILE") && c.contains("--no-tls"),
            "{what}: {c}"
        );
        assert!(
            diff_snapshots(&before, &snapshot(t.path())).is_empty(),
            "{what}"
        );
    }
}

/// certbot's layout: live/NAME/*.pem are links into archive/NAME/*N.pem.
fn acme(root: &Path, name: &str, (c, k): (String, String), kmode: u32) {
    put(
        root,
        &format!("/etc/letsencrypt/archive/{name}/fullchain1.pem"),
        &c,
        0o644,
    );
    put(
        root,
        &format!("/etc/letsencrypt/archive/{name}/privkey1.pem"),
        &k,
        kmode,
    );
    let live = root.join(format!("etc/letsencrypt/live/{name}"));
    fs::create_dir_all(&live).unwrap();
    std::os::unix::fs::symlink(
        format!("../../archive/{name}/fullchain1.pem"),
        live.join("fullchain.pem"),
    )
    .unwrap();
    std::os::unix::fs::symlink(
        format!("../../archive/{name}/privkey1.pem"),
        live.join("privkey.pem"),
    )
    .unwrap();
}

#[test]
fn an_acme_pair_given_is_referenced_where_it_is() {
    need_tools!();
    for profile in ["debian12", "rhel9"] {
        let t = tree(profile);
        acme(t.path(), HOST, pair(&[HOST], 2020, 2099), 0o600);
        let c = format!("/etc/letsencrypt/live/{HOST}/fullchain.pem");
        let k = format!("/etc/letsencrypt/live/{HOST}/privkey.pem");
        let (out, mc, cf) =
            apply_idempotent_rollback(t.path(), &["--tls-cert", &c, "--tls-key", &k]);
        assert!(out.contains("referenced, not copied"), "{out}");
        assert_eq!(
            cf_option(&cf, "ServerCertFile"),
            Some(c.as_str()),
            "{profile}"
        );
        assert_eq!(
            cf_option(&cf, "ServerKeyFile"),
            Some(k.as_str()),
            "{profile}"
        );
        assert_eq!(mc.matches("confSERVER_CERT").count(), 1, "{profile}: {mc}");
        assert!(!t.path().join("etc/mail/tls").exists(), "{profile}");
    }
}

#[test]
fn an_unusable_given_pair_is_refused_before_anything_changes() {
    need_tools!();
    let (good_c, good_k) = pair(&[HOST], 2020, 2099);
    let (_, other_k) = pair(&[HOST], 2020, 2099);
    let cases: Vec<(&str, (String, String), u32, &str)> = vec![
        ("expired", pair(&[HOST], 2001, 2002), 0o600, "expired"),
        (
            "not yet valid",
            pair(&[HOST], 2098, 2099),
            0o600,
            "not valid yet",
        ),
        (
            "key mismatch",
            (good_c.clone(), other_k),
            0o600,
            "does not match",
        ),
        (
            "key 0644",
            (good_c.clone(), good_k.clone()),
            0o644,
            "world-readable",
        ),
        (
            "key 0640",
            (good_c.clone(), good_k.clone()),
            0o640,
            "group-readable",
        ),
        (
            "key 0660",
            (good_c.clone(), good_k.clone()),
            0o660,
            "group-writable",
        ),
        (
            "not PEM",
            ("junk\n".into(), good_k.clone()),
            0o600,
            "not a PEM certificate",
        ),
    ];
    for (what, p, kmode, want) in cases {
        let t = tree("debian12");
        acme(t.path(), HOST, p, kmode);
        let before = snapshot(t.path());
        let c = format!("/etc/letsencrypt/live/{HOST}/fullchain.pem");
        let k = format!("/etc/letsencrypt/live/{HOST}/privkey.pem");
        let o = run_root(
            t.path(),
            &["apply", "--yes", "--tls-cert", &c, "--tls-key", &k],
        );
        let out = text(&o);
        assert_eq!(o.status.code(), Some(1), "{what}: {out}");
        assert!(
            out.contains(want)
                && out.contains("fullchain.pem")
                && out.contains("nothing was changed"),
            "{what}: {out}"
        );
        let d = diff_snapshots(&before, &snapshot(t.path()));
        assert!(d.is_empty(), "{what}: {d:?}");
    }
    // Missing, and a dangling link.
    let t = tree("debian12");
    acme(t.path(), HOST, (good_c, good_k), 0o600);
    fs::remove_file(
        t.path()
            .join("etc/letsencrypt/archive")
            .join(HOST)
            .join("privkey1.pem"),
    )
    .unwrap();
    let before = snapshot(t.path());
    for (c, k, want) in [
        ("/srv/none.crt", "/srv/none.key", "none.crt does not exist"),
        (
            &*format!("/etc/letsencrypt/live/{HOST}/fullchain.pem"),
            &*format!("/etc/letsencrypt/live/{HOST}/privkey.pem"),
            "symbolic link",
        ),
    ] {
        let o = run_root(
            t.path(),
            &["apply", "--yes", "--tls-cert", c, "--tls-key", k],
        );
        let out = text(&o);
        assert_eq!(o.status.code(), Some(1), "{out}");
        assert!(out.contains(want), "{want}: {out}");
        assert!(diff_snapshots(&before, &snapshot(t.path())).is_empty());
    }
}

#[test]
fn no_tls_skips_with_a_warning_and_auth_options_given_win() {
    need_tools!();
    let t = tree("debian12");
    let (out, mc, _) = apply_idempotent_rollback(t.path(), &["--no-tls"]);
    assert!(out.contains("in the clear"), "{out}");
    assert!(
        !mc.contains("confSERVER_CERT") && !mc.contains("`A p y'"),
        "{mc}"
    );
    let t = tree("debian12");
    let (out, mc, cf) = apply_idempotent_rollback(t.path(), &["--auth-options", "A"]);
    assert!(mc.contains("confSERVER_CERT"), "{mc}");
    assert_eq!(cf_option(&cf, "AuthOptions"), Some("A"), "{cf}");
    assert!(out.contains("has no p"), "{out}");
    // The answers file says the same as --no-tls.
    let t = tree("debian12");
    let ans = t.path().join("answers.yaml");
    fs::write(&ans, "tls: false\n").unwrap();
    let o = run_root(t.path(), &["check", "--answers", ans.to_str().unwrap()]);
    assert!(text(&o).contains("in the clear"), "{}", text(&o));
}

#[test]
fn tls_step_live() {
    need_tools!();
    if let Err(e) = need_root("namespaces and the real sendmail") {
        return skip(e);
    }
    for tool in [
        "/usr/sbin/sendmail-mta",
        "/usr/bin/swaks",
        "/usr/sbin/saslauthd",
    ] {
        if !Path::new(tool).exists() {
            return skip(format!("{tool} is not installed"));
        }
    }
    let live = run_live("tls_step.sh", &[], std::time::Duration::from_secs(600));
    println!("{}", live.text);
    assert!(live.ok, "live tls step test failed:\n{}", live.text);
    assert!(
        !live.text.contains(live.password.as_str()),
        "the password appeared in the output"
    );
}
