//! Refusals (quotes, placeholders, options), HOWTO step 12, include rewriting, `#` lines around
//! the include of cf.m4, and analyse on odd input.

use super::*;

// ---- refusals ----------------------------------------------------------------------------

fn refusal(text: &str) -> McError {
    let err = enable_auth(text, &opts()).unwrap_err();
    assert!(
        err.to_string().contains(&format!("line {}", err.line)),
        "{err}"
    );
    err
}

#[test]
fn unbalanced_quotes_are_refused() {
    let text = "include(`/usr/share/sendmail/cf/m4/cf.m4')dnl\n\
                define(`confAUTH_MECHANISMS', `LOGIN PLAIN)dnl\n\
                MAILER(smtp)dnl\n";
    let err = refusal(text);
    assert_eq!(err.line, 2);
    assert!(err.reason.contains("never closed"), "{err}");
    // Closed only later: the call runs over several lines.
    let text = "include(`/usr/share/sendmail/cf/m4/cf.m4')dnl\n\
                define(`confAUTH_MECHANISMS', `LOGIN PLAIN)dnl\n\
                define(`confX', `y')dnl\n\
                MAILER(smtp)dnl\n";
    let err = refusal(text);
    assert_eq!(err.line, 2);
}

#[test]
fn hash_comments_hide_quotes_only_before_cf_m4() {
    // Before the include, # is an m4 comment: its quotes do not count.
    let ok = format!("# it`s fine\n{DEBIAN12}");
    assert!(analyse(&ok).problems.is_empty());
    enable_auth(&ok, &opts()).unwrap();
    // After it, cfhead.m4's changecom() makes # plain text: m4 opens a quote here.
    let bad = DEBIAN12.replace("MAILER(`smtp')dnl\n", "MAILER(`smtp')dnl\n# don`t\n");
    let err = refusal(&bad);
    assert_eq!(err.line, 104);
    // A file without the include is run after cf.m4 (FreeBSD): # is plain text from line 1.
    let freebsd = "divert(-1)\n# don`t\ndivert(0)\nMAILER(local)\n";
    assert_eq!(refusal(freebsd).line, 2);
}

#[test]
fn placeholders_html_escapes_and_smart_quotes_are_refused() {
    let base = "include(`/usr/share/sendmail/cf/m4/cf.m4')dnl\nX\nMAILER(smtp)dnl\n";
    for (line, needle) in [
        ("include(`@@PATH@@/m4/cf.m4')dnl", "@@PATH@@"),
        (
            "define(`confSERVER_CERT', `/etc/pki/__CERT_DOMAIN__.crt')dnl",
            "__CERT_DOMAIN__",
        ),
        (
            "define(`confSERVER_CERT', `/etc/{{ domain }}.crt')dnl",
            "{{ domain }}",
        ),
        (
            "FEATURE(`access_db',`hash -T&lt;TMPF&gt; -o /etc/mail/access.db')dnl",
            "&lt;",
        ),
        (
            "define(\u{2018}confAUTH_OPTIONS\u{2019}, `A')dnl",
            "\u{2018}",
        ),
        // Read one character per byte (a file that is not UTF-8): Windows-1252 and UTF-8.
        ("define(\u{91}confAUTH_OPTIONS\u{92}, `A')dnl", "\u{91}"),
        (
            "define(\u{e2}\u{80}\u{98}confAUTH_OPTIONS\u{e2}\u{80}\u{99}, `A')dnl",
            "\u{2018}",
        ),
        ("define('ALIAS_FILE','/etc/mail/aliases')", "backquote"),
        ("changequote([,])dnl", "changequote"),
    ] {
        let err = refusal(&base.replace('X', line));
        assert_eq!(err.line, 2, "{line}");
        assert!(err.reason.contains(needle), "{line}: {err}");
    }
    // The same text in a dnl comment is harmless.
    let ok = base.replace(
        'X',
        "dnl FEATURE(`access_db',`hash -T&lt;TMPF&gt;') @@PATH@@",
    );
    assert!(analyse(&ok).problems.is_empty());
    // A __NAME__ the file defines itself is a macro, not a placeholder.
    let ok = base.replace(
        'X',
        "define(`__DOM__', `x')define(`confY', `/__DOM__.crt')dnl",
    );
    assert!(
        analyse(&ok).problems.is_empty(),
        "{:?}",
        analyse(&ok).problems
    );
}

#[test]
fn no_mailer_line_is_refused_when_lines_must_be_inserted() {
    let err =
        refusal("include(`/usr/share/sendmail/cf/m4/cf.m4')dnl\nFEATURE(`nullclient', `hub')dnl\n");
    assert_eq!(err.line, 2);
    assert!(err.reason.contains("MAILER"));
    let err = enable_auth("", &opts()).unwrap_err();
    assert_eq!(err.line, 0);
    assert!(!err.to_string().starts_with("line"));
}

#[test]
fn bad_options_are_refused() {
    for o in [
        McOptions {
            mechanisms: vec!["LOGIN'".into()],
            auth_options: "A".into(),
            ..McOptions::default()
        },
        McOptions {
            mechanisms: vec![],
            auth_options: "A".into(),
            ..McOptions::default()
        },
        McOptions {
            mechanisms: vec!["PLAIN".into()],
            auth_options: "A')".into(),
            ..McOptions::default()
        },
    ] {
        assert_eq!(enable_auth(DEBIAN12, &o).unwrap_err().line, 0);
    }
}

#[test]
fn options_are_written_in_the_given_order() {
    let o = McOptions {
        mechanisms: vec!["PLAIN".into(), "LOGIN".into(), "CRAM-MD5".into()],
        auth_options: "A p".into(),
        ..McOptions::default()
    };
    let e = enable_auth(DEBIAN12, &o).unwrap();
    assert!(e.text.contains("define(`confAUTH_OPTIONS', `A p')dnl\n"));
    assert!(e
        .text
        .contains("TRUST_AUTH_MECH(`PLAIN LOGIN CRAM-MD5')dnl\n"));
    assert!(enable_auth(&e.text, &o).unwrap().edits.is_empty());
}

#[test]
fn commented_candidates_that_cannot_be_activated_safely_are_refused() {
    // Removing dnl would also activate the FEATURE after it.
    let text = "include(`/usr/share/sendmail/cf/m4/cf.m4')dnl\n\
                dnl TRUST_AUTH_MECH(`X')FEATURE(`relay_based_on_MX')\n\
                MAILER(smtp)dnl\n";
    let err = refusal(text);
    assert_eq!(err.line, 2);
    assert!(err.reason.contains("also become active"), "{err}");
    // Before the include of cf.m4, TRUST_AUTH_MECH is not a macro yet.
    let text = "dnl TRUST_AUTH_MECH(`X')dnl\n\
                include(`/usr/share/sendmail/cf/m4/cf.m4')dnl\n\
                MAILER(smtp)dnl\n";
    let err = refusal(text);
    assert_eq!(err.line, 1);
    assert!(err.reason.contains("before the include"), "{err}");
    // Unbalanced quotes behind dnl: harmless to m4, but not something to activate.
    let text = "include(`/usr/share/sendmail/cf/m4/cf.m4')dnl\n\
                dnl define(`confAUTH_MECHANISMS', `X)dnl\n\
                MAILER(smtp)dnl\n";
    assert!(analyse(text).problems.is_empty());
    assert_eq!(refusal(text).line, 2);
}

// ---- HOWTO step 12 -----------------------------------------------------------------------

#[test]
fn risky_features_are_reported_and_commented_out() {
    let text = FEDORA_TEMPLATE.replace("@@PATH@@", "/usr/share/sendmail-cf");
    let r = analyse(&text);
    assert_eq!(r.risky_features.len(), 1);
    assert_eq!(r.risky_features[0].line, 154);
    assert_eq!(r.risky_features[0].feature, "accept_unresolvable_domains");
    let names: Vec<String> = RISKY_FEATURES.iter().map(|s| s.to_string()).collect();
    let e = disable_features(&text, &names).unwrap();
    assert_eq!(e.edits.len(), 1);
    assert_eq!(
        e.edits[0].after.as_deref(),
        Some("dnl FEATURE(`accept_unresolvable_domains')dnl")
    );
    assert!(analyse(&e.text).risky_features.is_empty());
    assert!(disable_features(&e.text, &names).unwrap().edits.is_empty());
    // Unquoted FreeBSD style too.
    let text = "include(`/cf/m4/cf.m4')dnl\nFEATURE(relay_based_on_MX)\nMAILER(smtp)\n";
    let e = disable_features(text, &names).unwrap();
    assert_eq!(
        e.text,
        "include(`/cf/m4/cf.m4')dnl\ndnl FEATURE(relay_based_on_MX)\nMAILER(smtp)\n"
    );
}

#[test]
fn a_feature_sharing_its_line_is_refused() {
    let text =
        "include(`/cf/m4/cf.m4')dnl\nFEATURE(`relay_based_on_MX')FEATURE(`use_cw_file')dnl\n";
    let err = disable_features(text, &["relay_based_on_MX".to_string()]).unwrap_err();
    assert_eq!(err.line, 2);
}

// ---- rewrite_includes --------------------------------------------------------------------

#[test]
fn includes_are_pointed_into_the_root() {
    let out = rewrite_includes(DEBIAN12, "/tmp/root/");
    assert!(out.contains("include(`/tmp/root/usr/share/sendmail/cf/m4/cf.m4')dnl\n"));
    assert!(out.contains("include(`/tmp/root/etc/mail/m4/dialup.m4')dnl\n"));
    assert_eq!(out.lines().count(), DEBIAN12.lines().count());
    let text = "\u{feff}include(/abs/cf.m4)\nsinclude(`rel.m4')\ndnl include(`/x')\n";
    assert_eq!(
        rewrite_includes(text, "/r"),
        "\u{feff}include(/r/abs/cf.m4)\nsinclude(`rel.m4')\ndnl include(`/x')\n"
    );
}

#[test]
fn includes_can_be_placed_one_by_one() {
    let text = "include(`/etc/mail/m4/a.m4')dnl\ninclude(/usr/cf.m4)\nsinclude(`/x/y' )\n";
    let out = rewrite_includes_with(text, |p| format!("<{p}>"));
    assert_eq!(
        out,
        "include(`</etc/mail/m4/a.m4>')dnl\ninclude(</usr/cf.m4>)\nsinclude(`</x/y>' )\n"
    );
}

// ---- `#` before and after the include of cf.m4 ----------------------------------------

#[test]
fn hash_lines_after_cf_m4_are_active_and_edited_keeping_the_hash() {
    let text = "divert(-1)dnl\n#FEATURE(`relay_based_on_MX')dnl\ndivert(0)dnl\n\
                include(`/cf/m4/cf.m4')dnl\n\
                #DAEMON_OPTIONS(`Port=smtp, Addr=127.0.0.1, Name=MTA')dnl\n\
                \t# FEATURE(`promiscuous_relay')dnl\n\
                ##define(`confAUTH_OPTIONS', `A p')dnl\n\
                MAILER(smtp)dnl\n";
    let r = analyse(text);
    assert!(r.problems.is_empty(), "{:?}", r.problems);
    // Before the include `#` is a comment: relay_based_on_MX is not active.
    let risky: Vec<&str> = r
        .risky_features
        .iter()
        .map(|f| f.feature.as_str())
        .collect();
    assert_eq!(risky, ["promiscuous_relay"]);
    assert!(r.listeners[0].active && r.listeners[0].line == 5);
    assert!(matches!(r.auth_options, AuthLine::Active { line: 7, .. }));
    let noted: Vec<usize> = r.hash_notes.iter().map(|n| n.line).collect();
    assert_eq!(noted, [5, 6, 7]);
    let e = enable_auth(text, &opts()).unwrap();
    // The only listener, on loopback: commented out (sendmail's default listens everywhere).
    assert!(
        e.text
            .contains("\ndnl #DAEMON_OPTIONS(`Port=smtp, Addr=127.0.0.1, Name=MTA')dnl\n"),
        "{}",
        e.text
    );
    assert!(
        // The admin's letters are kept (issue 9 item 2): `A p` already has the `A`.
        e.text
            .contains("\n##define(`confAUTH_OPTIONS', `A p')dnl\n"),
        "{}",
        e.text
    );
    assert_eq!(
        e.warnings
            .iter()
            .filter(|w| w.contains("starts with #"))
            .count(),
        2
    );
    let d = disable_features(text, &["promiscuous_relay".to_string()]).unwrap();
    assert!(d
        .text
        .contains("\ndnl \t# FEATURE(`promiscuous_relay')dnl\n"));
    assert!(d.warnings[0].starts_with("line 6: this line starts with #"));
    // Nothing left to do on the result.
    assert_eq!(enable_auth(&e.text, &opts()).unwrap().text, e.text);
}

#[test]
fn auth_lines_go_before_a_hash_mailer_line_that_m4_expands() {
    let text = "include(`/cf/m4/cf.m4')dnl\n#MAILER(`local')dnl\nMAILER(`smtp')dnl\n";
    let e = enable_auth(text, &opts()).unwrap();
    assert!(
        e.text
            .ends_with("dnl\n#MAILER(`local')dnl\nMAILER(`smtp')dnl\n")
            && e.text.contains("')dnl\n#MAILER"),
        "{}",
        e.text
    );
    assert!(e.edits.iter().all(|x| x.line == 2), "{:?}", e.edits);
}

#[test]
fn hash_before_a_call_that_does_not_start_its_line_is_still_refused() {
    let text = "include(`/cf/m4/cf.m4')dnl\n\
                x #DAEMON_OPTIONS(`Port=smtp, Addr=127.0.0.1, Name=MTA')dnl\nMAILER(smtp)dnl\n";
    let r = analyse(text);
    assert_eq!(r.problems.len(), 1, "{:?}", r.problems);
    assert!(r.problems[0].reason.contains("does not start this line"));
}

// ---- analyse never fails -----------------------------------------------------------------

#[test]
fn analyse_survives_odd_input() {
    let long = format!("define(`x', `{}')dnl\n", "y".repeat(1 << 20));
    let many = "&#&#{{__@@".repeat(20_000);
    for text in [
        "",
        "\n",
        "\r\n",
        "`",
        "'",
        "(((",
        ")))",
        "dnl",
        "\u{feff}",
        "\u{feff}\u{feff}",
        "\r",
        "define(",
        "\u{b}dnl x\n",
        "é`é'é(é)\n",
        long.as_str(),
        many.as_str(),
    ] {
        let _ = analyse(text);
        let _ = enable_auth(text, &opts());
        let _ = disable_features(text, &["relay_based_on_MX".to_string()]);
        let _ = rewrite_includes(text, "/r");
    }
}
