//! Unit tests of issue 9 items 2, 3 and 8: the admin's AuthOptions letters and trusted
//! mechanisms are kept, ANONYMOUS is never trusted, and settings made by an included file
//! (Debian's sasl.m4) are edited where they live.

use super::*;

const DEBIAN12: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../shared/corpus/mc/debian12-8.17.1.9-default.mc"
));
const SASL_M4: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../shared/corpus/other/debian12-sasl.m4"
));

const HEAD: &str = "include(`/usr/share/sendmail/cf/m4/cf.m4')dnl\n";
const TAIL: &str = "MAILER(`smtp')dnl\n";

fn mc(lines: &str) -> String {
    format!("{HEAD}{lines}{TAIL}")
}

fn opts() -> McOptions {
    McOptions::default()
}

fn active_value(line: AuthLine) -> Option<String> {
    match line {
        AuthLine::Active { value, .. } => Some(value),
        _ => None,
    }
}

/// The value in force of a setting after the edit, and the edit.
fn after(text: &str, o: &McOptions) -> (McEdit, McReport) {
    let e = enable_auth(text, o).unwrap_or_else(|e| panic!("{e}\n{text}"));
    let r = analyse(&e.text);
    // Idempotent: a second run changes nothing.
    let again = enable_auth(&e.text, o).unwrap();
    assert!(again.edits.is_empty(), "{:?}", again.edits);
    (e, r)
}

#[test]
fn the_admins_auth_options_letters_are_kept_and_a_is_added() {
    // (the line as the admin wrote it, the value in force afterwards, whether it is rewritten)
    for (line, want, changed) in [
        ("define(`confAUTH_OPTIONS', `A p y')dnl\n", "A p y", false),
        ("define(`confAUTH_OPTIONS', `A,p')dnl\n", "A,p", false),
        (
            "define(`confAUTH_OPTIONS', `A p y d')dnl\n",
            "A p y d",
            false,
        ),
        ("define(`confAUTH_OPTIONS', `p')dnl\n", "p A", true),
        ("define(`confAUTH_OPTIONS', `p,y')dnl\n", "p,y,A", true),
        (
            "define(`confAUTH_OPTIONS',`  A  p y ')dnl\n",
            "A  p y",
            false,
        ),
        ("define(confAUTH_OPTIONS, `y p A')\n", "y p A", false),
        ("define(`confAUTH_OPTIONS', `Apy')dnl\n", "Apy", false),
        (
            "  define(`confAUTH_OPTIONS', `p y')dnl # hardened\n",
            "p y A",
            true,
        ),
    ] {
        let text = mc(line);
        let (e, r) = after(&text, &opts());
        assert_eq!(
            active_value(r.auth_options).as_deref(),
            Some(want),
            "{line}"
        );
        assert_eq!(
            e.edits.iter().any(|x| x.line == 2),
            changed,
            "{line}: {:?}",
            e.edits
        );
        if changed {
            // The rest of the line (indentation, comment) is kept.
            let new = e.text.lines().nth(1).unwrap();
            assert!(
                new.ends_with(line.trim_end().rsplit(')').next().unwrap()),
                "{new}"
            );
        }
    }
}

#[test]
fn only_the_letters_in_force_count_not_commented_or_quoted_ones() {
    // A commented-out hardened line is not what the server runs: activated with the minimum.
    let text = mc("dnl define(`confAUTH_OPTIONS', `A p y')dnl\n");
    let (e, r) = after(&text, &opts());
    assert_eq!(active_value(r.auth_options).as_deref(), Some("A"));
    assert!(e.edits[0].why.contains("had `A p y`"), "{:?}", e.edits);
    // A `#` comment before cf.m4 is a comment to m4.
    let text = format!(
        "# define(`confAUTH_OPTIONS', `A p y')\n{}",
        mc("define(`confAUTH_OPTIONS', `A y')dnl\n")
    );
    let (_, r) = after(&text, &opts());
    assert_eq!(active_value(r.auth_options).as_deref(), Some("A y"));
    // Set twice: refused, naming both lines (m4 uses the last; which one is maintained?).
    let text = mc("define(`confAUTH_OPTIONS', `A p y')dnl\ndefine(`confAUTH_OPTIONS', `A')dnl\n");
    let err = enable_auth(&text, &opts()).unwrap_err();
    assert!(err.reason.contains("lines 2 and 3"), "{err}");
}

#[test]
fn auth_options_given_exactly_replace_the_letters_and_say_what_is_dropped() {
    let o = McOptions {
        auth_options: "A".into(),
        exact_options: true,
        ..opts()
    };
    let text = mc("define(`confAUTH_OPTIONS', `A p y')dnl\n");
    let (e, r) = after(&text, &o);
    assert_eq!(active_value(r.auth_options).as_deref(), Some("A"));
    assert!(
        e.warnings
            .iter()
            .any(|w| w.contains("p y are dropped") && w.contains("--auth-options")),
        "{:?}",
        e.warnings
    );
    // Exactly means exactly: without A too.
    let o = McOptions {
        auth_options: "p y".into(),
        exact_options: true,
        ..opts()
    };
    let (_, r) = after(&text, &o);
    assert_eq!(active_value(r.auth_options).as_deref(), Some("p y"));
    // A letter sendmail does not know is refused, naming what decides it.
    let o = McOptions {
        auth_options: "A x".into(),
        exact_options: true,
        ..opts()
    };
    let err = enable_auth(&text, &o).unwrap_err();
    assert_eq!(err.line, 0);
    assert!(err.reason.contains("'x'"), "{err}");
    assert_eq!(err.decided_by[0].answers_key, "auth_options");
}

#[test]
fn p_without_starttls_is_kept_with_a_warning_naming_what_decides_it() {
    let text = mc("define(`confAUTH_OPTIONS', `A p')dnl\n");
    let (e, _) = after(&text, &opts());
    let w: Vec<&String> = e
        .warnings
        .iter()
        .filter(|w| w.contains("STARTTLS"))
        .collect();
    assert_eq!(w.len(), 1, "{:?}", e.warnings);
    assert!(
        w[0].contains("no AUTH at all") && w[0].contains("auth_options"),
        "{}",
        w[0]
    );
    // With other mechanisms than PLAIN/LOGIN, only those two are hidden.
    let o = McOptions {
        mechanisms: vec!["SCRAM-SHA-256".into(), "LOGIN".into(), "PLAIN".into()],
        unverifiable: vec![],
        ..opts()
    };
    let e = enable_auth(&text, &o).unwrap();
    assert!(e
        .warnings
        .iter()
        .any(|w| w.contains("not be offered PLAIN or LOGIN")));
    // STARTTLS set up in the mc (Debian's starttls.m4, or a certificate): no warning.
    for tls in [
        "include(`/etc/mail/tls/starttls.m4')dnl\n",
        "define(`confSERVER_CERT', `/etc/pki/tls/certs/sendmail.pem')dnl\n",
    ] {
        let text = mc(&format!("{tls}define(`confAUTH_OPTIONS', `A p')dnl\n"));
        let e = enable_auth(&text, &opts()).unwrap();
        assert!(
            e.warnings.iter().all(|w| !w.contains("STARTTLS")),
            "{tls}: {:?}",
            e.warnings
        );
    }
    // No p, no warning.
    let e = enable_auth(&mc("define(`confAUTH_OPTIONS', `A y')dnl\n"), &opts()).unwrap();
    assert!(e.warnings.iter().all(|w| !w.contains("STARTTLS")));
}

#[test]
fn trusted_mechanisms_the_admin_has_are_kept_unless_they_cannot_be_verified() {
    for (trust, want) in [
        ("EXTERNAL LOGIN PLAIN", "EXTERNAL LOGIN PLAIN"),
        ("PLAIN LOGIN EXTERNAL", "PLAIN LOGIN EXTERNAL"),
        (
            "EXTERNAL DIGEST-MD5 CRAM-MD5 LOGIN PLAIN",
            "EXTERNAL LOGIN PLAIN",
        ),
        ("EXTERNAL", "EXTERNAL LOGIN PLAIN"),
        ("GSSAPI", "GSSAPI LOGIN PLAIN"),
        ("CRAM-MD5", "LOGIN PLAIN"),
        ("external,login,plain", "external,login,plain"),
    ] {
        let text = mc(&format!("TRUST_AUTH_MECH(`{trust}')dnl\n"));
        let (_, r) = after(&text, &opts());
        assert_eq!(
            active_value(r.trust_auth_mech).as_deref(),
            Some(want),
            "{trust}"
        );
    }
    // Where everything is checked in sasldb (auxprop), CRAM-MD5 stays trusted.
    let o = McOptions {
        unverifiable: vec![],
        ..opts()
    };
    let text = mc("TRUST_AUTH_MECH(`CRAM-MD5 LOGIN PLAIN')dnl\n");
    let (e, _) = after(&text, &o);
    assert!(e.edits.iter().all(|x| x.line != 2), "{:?}", e.edits);
    // --trust-mechanisms replaces the list.
    let o = McOptions {
        trust: Some(vec!["LOGIN".into(), "PLAIN".into()]),
        ..opts()
    };
    let text = mc("TRUST_AUTH_MECH(`EXTERNAL LOGIN PLAIN')dnl\n");
    let (_, r) = after(&text, &o);
    assert_eq!(
        active_value(r.trust_auth_mech).as_deref(),
        Some("LOGIN PLAIN")
    );
}

#[test]
fn advertised_mechanisms_left_out_are_named_with_what_decides_it() {
    let text = mc("define(`confAUTH_MECHANISMS', `EXTERNAL GSSAPI CRAM-MD5 LOGIN PLAIN')dnl\n");
    let (e, r) = after(&text, &opts());
    assert_eq!(
        active_value(r.auth_mechanisms).as_deref(),
        Some("LOGIN PLAIN")
    );
    let w: Vec<&String> = e
        .warnings
        .iter()
        .filter(|w| w.contains("no longer offered"))
        .collect();
    assert_eq!(w.len(), 1, "{:?}", e.warnings);
    assert!(w[0].contains("EXTERNAL GSSAPI") && !w[0].contains("CRAM-MD5 leave"));
    assert!(w[0].contains("--mechanisms"));
}

#[test]
fn anonymous_is_never_trusted_from_the_options() {
    for o in [
        McOptions {
            mechanisms: vec!["LOGIN".into(), "PLAIN".into(), "ANONYMOUS".into()],
            ..opts()
        },
        McOptions {
            mechanisms: vec!["LOGIN".into(), "anonymous".into()],
            ..opts()
        },
        McOptions {
            trust: Some(vec!["LOGIN".into(), "ANONYMOUS".into()]),
            ..opts()
        },
    ] {
        let err = enable_auth(DEBIAN12, &o).unwrap_err();
        assert_eq!(err.line, 0);
        assert!(err.reason.contains("open relay"), "{err}");
        assert_eq!(err.decided_by.len(), 1);
    }
}

#[test]
fn anonymous_already_trusted_in_the_mc_is_refused_naming_the_line() {
    for trust in [
        "ANONYMOUS LOGIN PLAIN",
        "LOGIN PLAIN anonymous",
        "ANONYMOUS",
    ] {
        let text = mc(&format!(
            "define(`confAUTH_OPTIONS', `A')dnl\nTRUST_AUTH_MECH(`{trust}')dnl\n"
        ));
        let err = enable_auth(&text, &opts()).unwrap_err();
        assert_eq!(err.line, 3, "{err}");
        assert!(err.text.contains(trust));
        assert!(err.reason.contains("ANONYMOUS") && err.reason.contains("open relay"));
        assert_eq!(err.decided_by[0].option, "--trust-mechanisms");
        // Giving the whole list decides it: the line is rewritten without ANONYMOUS.
        let o = McOptions {
            trust: Some(vec!["LOGIN".into(), "PLAIN".into()]),
            ..opts()
        };
        let (_, r) = after(&text, &o);
        assert_eq!(
            active_value(r.trust_auth_mech).as_deref(),
            Some("LOGIN PLAIN")
        );
    }
    // Behind dnl it trusts nothing: activated with the wanted list.
    let text = mc("dnl TRUST_AUTH_MECH(`ANONYMOUS')dnl\n");
    let (_, r) = after(&text, &opts());
    assert_eq!(
        active_value(r.trust_auth_mech).as_deref(),
        Some("LOGIN PLAIN")
    );
}

/// Debian's default mc with `include(`SASL')` (and `extra` lines) before MAILER_DEFINITIONS.
fn debian_with(include: &str, extra: &str) -> String {
    DEBIAN12.replace(
        "MAILER_DEFINITIONS\n",
        &format!("{extra}{include}\nMAILER_DEFINITIONS\n"),
    )
}

fn included(text: &str, path: &str, sasl: &str) -> Vec<Included> {
    setting_includes(text)
        .into_iter()
        .filter(|(_, p, _)| p == path)
        .map(|(line, path, _)| Included {
            line,
            path,
            text: sasl.to_string(),
        })
        .collect()
}

/// Runs enable_auth_with and a second run on its result; returns the edits.
fn with_sasl(text: &str, path: &str, sasl: &str, o: &McOptions) -> McEdits {
    let inc = included(text, path, sasl);
    let e = enable_auth_with(text, o, &inc, &ListenerChoice::default())
        .unwrap_or_else(|e| panic!("{e}"));
    let new_sasl = e
        .includes
        .iter()
        .find(|(p, _)| p == path)
        .map_or(sasl.to_string(), |(_, x)| x.text.clone());
    let inc2 = included(&e.mc.text, path, &new_sasl);
    let again = enable_auth_with(&e.mc.text, o, &inc2, &ListenerChoice::default()).unwrap();
    assert!(again.mc.edits.is_empty(), "{:?}", again.mc.edits);
    assert!(again.includes.is_empty(), "{:?}", again.includes);
    e
}

/// Every TRUST_AUTH_MECH and confAUTH_MECHANISMS value in force, mc and sasl.m4 together.
fn trust_union(mc_text: &str, sasl: &str) -> Vec<String> {
    let mut v: Vec<String> = Vec::new();
    for t in [mc_text, sasl] {
        for l in t.lines() {
            let l = l.trim_start();
            if let Some(rest) = l.strip_prefix("TRUST_AUTH_MECH(`") {
                let val = rest.split('\'').next().unwrap();
                for m in val.split_whitespace() {
                    if !v.contains(&m.to_string()) {
                        v.push(m.to_string());
                    }
                }
            }
        }
    }
    v.sort();
    v
}

#[test]
fn debians_sasl_m4_is_edited_where_it_sets_the_mechanisms() {
    let path = "/etc/mail/sasl/sasl.m4";
    let text = debian_with("include(`/etc/mail/sasl/sasl.m4')dnl", "");
    let e = with_sasl(&text, path, SASL_M4, &opts());
    let (_, s) = &e.includes[0];
    assert_eq!(s.edits.len(), 2, "{:?}", s.edits);
    assert!(s.text.contains("\n`LOGIN PLAIN')dnl   # <= EDIT\n"));
    assert!(s
        .text
        .contains("\nTRUST_AUTH_MECH(`LOGIN PLAIN')dnl   # <= EDIT\n"));
    // EXTERNAL (cert-based, below Debian's "do not touch" line) stays.
    assert!(s.text.contains("TRUST_AUTH_MECH(`EXTERNAL')"));
    // The mc gets only confAUTH_OPTIONS, which sasl.m4 does not set: not the three lines
    // after the include, whose TRUST_AUTH_MECH would add to sasl.m4's.
    let added: Vec<&str> =
        e.mc.edits
            .iter()
            .filter(|x| x.before.is_none())
            .filter_map(|x| x.after.as_deref())
            .collect();
    assert_eq!(added, vec!["define(`confAUTH_OPTIONS', `A')dnl"]);
    assert!(!e.mc.text.contains("TRUST_AUTH_MECH"));
    assert_eq!(
        trust_union(&e.mc.text, &s.text),
        vec!["EXTERNAL", "LOGIN", "PLAIN"]
    );
}

#[test]
fn sasl_m4_variants() {
    let path = "/etc/mail/sasl/sasl.m4";
    // sinclude, a relative path, blanks: read the same way.
    for (inc, p) in [
        ("sinclude(`/etc/mail/sasl/sasl.m4')dnl", path),
        ("include(`sasl/sasl.m4')dnl", "sasl/sasl.m4"),
        ("include( `/etc/mail/sasl/sasl.m4' )", path),
        ("include(`/etc/mail/sasl/sasl.m4')dnl # Debian's way", path),
    ] {
        let text = debian_with(inc, "");
        let e = with_sasl(&text, p, SASL_M4, &opts());
        assert_eq!(e.includes.len(), 1, "{inc}");
        assert_eq!(
            trust_union(&e.mc.text, &e.includes[0].1.text),
            vec!["EXTERNAL", "LOGIN", "PLAIN"],
            "{inc}"
        );
    }
    // Commented out: not read, and the mc gets its three lines as without it.
    let text = debian_with("dnl include(`/etc/mail/sasl/sasl.m4')dnl", "");
    assert!(setting_includes(&text).iter().all(|(_, p, _)| p != path));
    let e = enable_auth_with(&text, &opts(), &[], &ListenerChoice::default()).unwrap();
    assert_eq!(e.mc.edits.iter().filter(|x| x.before.is_none()).count(), 3);
    // A sasl.m4 that also sets confAUTH_OPTIONS: its letters are kept and edited there; the
    // mc gets no confAUTH_OPTIONS line of its own.
    let sasl = SASL_M4.replace(
        "define(`confTO_AUTH',",
        "define(`confAUTH_OPTIONS', `p y')dnl   # <= EDIT\ndefine(`confTO_AUTH',",
    );
    let text = debian_with("include(`/etc/mail/sasl/sasl.m4')dnl", "");
    let e = with_sasl(&text, path, &sasl, &opts());
    assert!(e.includes[0]
        .1
        .text
        .contains("define(`confAUTH_OPTIONS', `p y A')dnl"));
    assert!(!e.mc.text.contains("confAUTH_OPTIONS"));
    // The mc already has the HOWTO's lines after the include: the union was trusted; now the
    // include's list is cut to what is wanted and the mc's lines stay.
    let howto = "define(`confAUTH_OPTIONS', `A')dnl\nTRUST_AUTH_MECH(`LOGIN PLAIN')dnl\n\
                 define(`confAUTH_MECHANISMS', `LOGIN PLAIN')dnl\n";
    let text = DEBIAN12.replace(
        "MAILER_DEFINITIONS\n",
        &format!("include(`/etc/mail/sasl/sasl.m4')dnl\n{howto}MAILER_DEFINITIONS\n"),
    );
    let e = with_sasl(&text, path, SASL_M4, &opts());
    assert!(e
        .mc
        .edits
        .iter()
        .all(|x| !x.after.as_deref().unwrap_or("").contains("AUTH")));
    assert_eq!(
        trust_union(&e.mc.text, &e.includes[0].1.text),
        vec!["EXTERNAL", "LOGIN", "PLAIN"]
    );
}

#[test]
fn sasl_m4_trusting_anonymous_or_unreadable_is_refused_naming_the_include() {
    let path = "/etc/mail/sasl/sasl.m4";
    let text = debian_with("include(`/etc/mail/sasl/sasl.m4')dnl", "");
    let inc_line = text
        .lines()
        .position(|l| l.starts_with("include(`/etc/mail/sasl"))
        .unwrap()
        + 1;
    let sasl = SASL_M4.replace(
        "TRUST_AUTH_MECH(`EXTERNAL')",
        "TRUST_AUTH_MECH(`EXTERNAL ANONYMOUS')",
    );
    let err = enable_auth_with(
        &text,
        &opts(),
        &included(&text, path, &sasl),
        &ListenerChoice::default(),
    )
    .unwrap_err();
    assert_eq!(err.line, inc_line);
    assert!(
        err.reason.contains(path) && err.reason.contains("ANONYMOUS"),
        "{err}"
    );
    assert_eq!(err.decided_by[0].answers_key, "trust_mechanisms");
    let sasl = SASL_M4.replace(
        "TRUST_AUTH_MECH(`DIGEST-MD5 CRAM-MD5 NTLM LOGIN PLAIN')",
        "TRUST_AUTH_MECH(DIGEST-MD5 CRAM-MD5 NTLM LOGIN PLAIN)",
    );
    let err = enable_auth_with(
        &text,
        &opts(),
        &included(&text, path, &sasl),
        &ListenerChoice::default(),
    )
    .unwrap_err();
    assert_eq!(err.line, inc_line);
    assert!(
        err.reason.contains("line 63") && err.reason.contains(path),
        "{err}"
    );
}
