//! Unit tests: one per rule of the module docs, on the HOWTO's own text, the real Debian 12
//! default, and small hand-made files; then property tests on generated files.

use super::*;

const HOWTO: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../shared/seed/Sendmail-SMTP-AUTH-HOWTO.txt"
));
const DEBIAN12: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../shared/corpus/mc/debian12-8.17.1.9-default.mc"
));
const FEDORA_TEMPLATE: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../shared/corpus/mc/fedora-openeuler-sendmail-redhat-template.mc"
));

fn opts() -> McOptions {
    McOptions::default()
}

/// The HOWTO's lines from the one equal to `first` to the one equal to `last`, without the
/// document's 4-space block indentation.
fn howto_block(first: &str, last: &str) -> String {
    let lines: Vec<&str> = HOWTO.lines().collect();
    let a = lines
        .iter()
        .position(|l| l.trim_end() == first)
        .expect("first");
    let z = a + lines[a..]
        .iter()
        .position(|l| l.trim_end() == last)
        .expect("last");
    lines[a..=z]
        .iter()
        .map(|l| format!("{}\n", l.strip_prefix("    ").unwrap_or(l)))
        .collect()
}

/// The HOWTO's complete relay-safe example (step 12), with its AUTH lines active.
fn howto_example() -> String {
    howto_block("    divert(-1)", "    Cwlocalhost.localdomain")
}

/// A Red Hat 9 style default: the HOWTO's example before steps 3 and 4 were done.
fn rh9_default() -> String {
    howto_example()
        .replace("TRUST_AUTH_MECH(`DIGEST", "dnl TRUST_AUTH_MECH(`DIGEST")
        .replace(
            "define(`confAUTH_MECHANISMS'",
            "dnl define(`confAUTH_MECHANISMS'",
        )
        .replace(
            "dnl DAEMON_OPTIONS(`Port=smtp,Addr=127.0.0.1, Name=MTA')",
            "DAEMON_OPTIONS(`Port=smtp,Addr=127.0.0.1, Name=MTA')dnl",
        )
}

fn line_no(text: &str, needle: &str) -> usize {
    text.lines().position(|l| l.contains(needle)).expect(needle) + 1
}

/// Untouched lines byte-identical and each edit exactly where it says; then a second run
/// changes nothing.
fn check_edit(old: &str, edit: &McEdit) {
    let strip = |s: &str| -> String {
        let s = s.strip_suffix('\n').unwrap_or(s);
        s.strip_suffix('\r').unwrap_or(s).to_string()
    };
    let (old_body, new_body) = match old.strip_prefix('\u{feff}') {
        Some(rest) => (rest, edit.text.strip_prefix('\u{feff}').expect("BOM kept")),
        None => (old, edit.text.as_str()),
    };
    let old_lines: Vec<&str> = old_body.split_inclusive('\n').collect();
    let new_lines: Vec<&str> = new_body.split_inclusive('\n').collect();
    let mut j = 0;
    for (i, line) in old_lines.iter().enumerate() {
        for e in edit
            .edits
            .iter()
            .filter(|e| e.line == i + 1 && e.before.is_none())
        {
            assert_eq!(
                new_lines.get(j).map(|l| strip(l)),
                e.after,
                "insert before {}",
                i + 1
            );
            j += 1;
        }
        let got = new_lines[j];
        match edit
            .edits
            .iter()
            .find(|e| e.line == i + 1 && e.before.is_some())
        {
            Some(e) => {
                assert_eq!(
                    e.before.as_deref(),
                    Some(strip(line).as_str()),
                    "line {}",
                    i + 1
                );
                assert_eq!(Some(strip(got)), e.after, "line {}", i + 1);
                assert_eq!(
                    got.ends_with("\r\n"),
                    line.ends_with("\r\n"),
                    "eol of {}",
                    i + 1
                );
                assert_eq!(
                    got.ends_with('\n'),
                    line.ends_with('\n'),
                    "eol of {}",
                    i + 1
                );
            }
            None => assert_eq!(got, *line, "line {} changed without an edit", i + 1),
        }
        j += 1;
    }
    assert_eq!(j, new_lines.len(), "extra lines at the end");
    let again = enable_auth(&edit.text, &opts()).expect("second run");
    assert!(
        again.edits.is_empty(),
        "second run edits: {:?}",
        again.edits
    );
    assert_eq!(again.text, edit.text);
}

fn active(line: AuthLine) -> (usize, String) {
    match line {
        AuthLine::Active { line, value } => (line, value),
        other => panic!("not active: {other:?}"),
    }
}

// ---- HOWTO step 3 -----------------------------------------------------------------------

#[test]
fn rh9_default_uncomments_the_auth_lines_and_the_loopback_listener() {
    let text = rh9_default();
    let e = enable_auth(&text, &opts()).unwrap();
    check_edit(&text, &e);
    let trust = line_no(&text, "dnl TRUST_AUTH_MECH");
    let mech = line_no(&text, "dnl define(`confAUTH_MECHANISMS'");
    let daemon = line_no(
        &text,
        "DAEMON_OPTIONS(`Port=smtp,Addr=127.0.0.1, Name=MTA')dnl",
    );
    let lines: Vec<usize> = e.edits.iter().map(|e| e.line).collect();
    assert_eq!(lines, vec![trust, mech, daemon]);
    assert_eq!(
        e.edits[0].after.as_deref(),
        Some("TRUST_AUTH_MECH(`LOGIN PLAIN')dnl")
    );
    assert_eq!(
        e.edits[1].after.as_deref(),
        Some("define(`confAUTH_MECHANISMS', `LOGIN PLAIN')dnl")
    );
    // HOWTO step 4 literally: the only listener is commented out with dnl.
    assert_eq!(
        e.edits[2].after.as_deref(),
        Some("dnl DAEMON_OPTIONS(`Port=smtp,Addr=127.0.0.1, Name=MTA')dnl")
    );
    let r = analyse(&e.text);
    assert_eq!(active(r.auth_options).1, "A");
    assert_eq!(active(r.trust_auth_mech).1, "LOGIN PLAIN");
    assert_eq!(active(r.auth_mechanisms).1, "LOGIN PLAIN");
    assert!(r.listeners.iter().all(|l| !l.active));
}

#[test]
fn howto_example_has_other_mechanisms_replaced_in_place_with_warnings() {
    let text = howto_example();
    let r = analyse(&text);
    assert!(r.problems.is_empty(), "{:?}", r.problems);
    assert!(
        r.risky_features.is_empty(),
        "the HOWTO's example is relay-safe"
    );
    let e = enable_auth(&text, &opts()).unwrap();
    check_edit(&text, &e);
    assert_eq!(e.edits.len(), 2);
    let replaced: Vec<&String> = e
        .warnings
        .iter()
        .filter(|w| w.contains("replaced"))
        .collect();
    assert_eq!(replaced.len(), 2, "{:?}", e.warnings);
    assert!(replaced[0].contains("DIGEST-MD5 CRAM-MD5 LOGIN PLAIN"));
    // Trust in what saslauthd cannot verify is dropped, and said so.
    assert!(
        e.warnings.iter().any(
            |w| w.contains("TRUST_AUTH_MECH trusted DIGEST-MD5 CRAM-MD5")
                && w.contains("--trust-mechanisms")
        ),
        "{:?}",
        e.warnings
    );
}

#[test]
fn howto_step3_typos_are_refused_with_the_line() {
    let block = howto_block(
        "    define(`confAUTH_OPTIONS', `A')dnl",
        "    dnldefine(`confAUTH_MECHANISMS', `DIGEST-MD5 CRAM-MD5 LOGIN PLAIN')dnl",
    );
    let text = format!(
        "divert(-1)dnl\ninclude(`/usr/share/sendmail/cf/m4/cf.m4')dnl\n{block}MAILER(`smtp')dnl\n"
    );
    let err = enable_auth(&text, &opts()).unwrap_err();
    assert_eq!(err.line, 4);
    assert_eq!(
        err.text,
        "  dnlTRUST_AUTH_MECH(`DIGEST-MD5 CRAM-MD5 LOGIN PLAIN')dnl"
    );
    assert!(err.reason.contains("dnlTRUST_AUTH_MECH"), "{err}");
    let shown = err.to_string();
    assert!(
        shown.contains("line 4") && shown.contains("dnlTRUST_AUTH_MECH(`DIGEST"),
        "{shown}"
    );
    let r = analyse(&text);
    assert_eq!(r.problems.len(), 2);
    assert_eq!(r.problems[1].line, 5);
    assert!(r.problems[1].reason.contains("dnldefine"));
}

#[test]
fn commented_lines_with_and_without_space_or_tab_and_indentation() {
    let text = "include(`/usr/share/sendmail/cf/m4/cf.m4')dnl\n\
                \x20 dnl define(`confAUTH_OPTIONS', `A p')dnl\n\
                \tdnl\tTRUST_AUTH_MECH(`DIGEST-MD5')dnl # keep me\n\
                dnl    define(`confAUTH_MECHANISMS',`CRAM-MD5')\n\
                MAILER(`smtp')dnl\n";
    let e = enable_auth(text, &opts()).unwrap();
    check_edit(text, &e);
    let after: Vec<&str> = e.edits.iter().filter_map(|e| e.after.as_deref()).collect();
    assert_eq!(
        after,
        vec![
            "  define(`confAUTH_OPTIONS', `A')dnl",
            "\tTRUST_AUTH_MECH(`LOGIN PLAIN')dnl # keep me",
            "define(`confAUTH_MECHANISMS', `LOGIN PLAIN')dnl",
        ]
    );
}

#[test]
fn active_with_the_wanted_value_stays_byte_identical() {
    let text = "include(`/usr/share/sendmail/cf/m4/cf.m4')dnl\n\
                define(`confAUTH_OPTIONS',`A')dnl\n\
                TRUST_AUTH_MECH( `PLAIN  LOGIN' )dnl\n\
                define(confAUTH_MECHANISMS, `login plain')\n\
                MAILER(smtp)";
    let e = enable_auth(text, &opts()).unwrap();
    assert!(e.edits.is_empty(), "{:?}", e.edits);
    assert_eq!(e.text, text);
}

#[test]
fn active_with_another_value_is_set_and_warned() {
    let text = "include(`/usr/share/sendmail/cf/m4/cf.m4')dnl\n\
                define(`confAUTH_OPTIONS', `A p')dnl\n\
                MAILER(smtp)dnl\n";
    let e = enable_auth(text, &opts()).unwrap();
    check_edit(text, &e);
    // The admin's `A p` already has the minimum A: it is kept (issue 9, item 2).
    assert!(e.edits.iter().all(|e| e.line != 2), "{:?}", e.edits);
    // The two missing lines are inserted before MAILER.
    assert_eq!(e.edits.len(), 2);
    assert_eq!(e.edits[0].line, 3);
    assert_eq!(e.edits[1].line, 3);
    // Without A it gets A, and keeps what it had.
    let text = text.replace("`A p'", "`p y'");
    let e = enable_auth(&text, &opts()).unwrap();
    assert_eq!(
        e.edits[0].after.as_deref(),
        Some("define(`confAUTH_OPTIONS', `p y A')dnl")
    );
    assert!(
        e.warnings.iter().any(|w| w.contains("was `p y`")),
        "{:?}",
        e.warnings
    );
    // p without STARTTLS: kept, and said what it costs and what decides it.
    assert!(
        e.warnings
            .iter()
            .any(|w| w.contains("no AUTH at all") && w.contains("--auth-options")),
        "{:?}",
        e.warnings
    );
}

#[test]
fn the_active_candidate_wins_over_a_commented_one() {
    let text = FEDORA_TEMPLATE.replace("@@PATH@@", "/usr/share/sendmail-cf");
    let e = enable_auth(&text, &opts()).unwrap();
    check_edit(&text, &e);
    // confAUTH_OPTIONS `A` on line 39 is kept; `A p` on line 44 stays commented.
    assert!(e.edits.iter().all(|e| e.line != 39 && e.line != 44));
    let r = analyse(&e.text);
    assert_eq!(active(r.auth_options), (39, "A".to_string()));
    assert_eq!(active(r.trust_auth_mech).0, 56);
    assert_eq!(active(r.auth_mechanisms).0, 57);
    // The only active listener (line 121) is commented out, HOWTO style.
    let l121 = e.edits.iter().find(|e| e.line == 121).unwrap();
    assert_eq!(
        l121.after.as_deref(),
        Some("dnl DAEMON_OPTIONS(`Port=smtp,Addr=127.0.0.1, Name=MTA')dnl")
    );
    assert_eq!(e.text.matches("\ndefine(`confAUTH_OPTIONS'").count(), 1);
}

#[test]
fn two_active_definitions_are_refused() {
    let text = "include(`/usr/share/sendmail/cf/m4/cf.m4')dnl\n\
                define(`confAUTH_OPTIONS', `A')dnl\n\
                define(`confAUTH_OPTIONS', `A p')dnl\n\
                MAILER(smtp)dnl\n";
    let err = enable_auth(text, &opts()).unwrap_err();
    assert_eq!(err.line, 3);
    assert!(err.reason.contains("lines 2 and 3"), "{err}");
}

#[test]
fn debian12_default_gets_three_lines_and_an_open_port_25() {
    let e = enable_auth(DEBIAN12, &opts()).unwrap();
    check_edit(DEBIAN12, &e);
    let mut expected: Vec<String> = DEBIAN12.lines().map(str::to_string).collect();
    expected[56] = "DAEMON_OPTIONS(`Family=inet,  Name=MTA-v4, Port=smtp')dnl".into();
    expected.splice(
        100..100,
        [
            "define(`confAUTH_OPTIONS', `A')dnl".to_string(),
            "TRUST_AUTH_MECH(`LOGIN PLAIN')dnl".to_string(),
            "define(`confAUTH_MECHANISMS', `LOGIN PLAIN')dnl".to_string(),
        ],
    );
    assert_eq!(e.text, expected.join("\n") + "\n");
    // The submission listener keeps its Addr (never touched).
    assert!(e
        .text
        .contains("Name=MSP-v4, Port=submission, M=Ea, Addr=127.0.0.1"));
    assert!(
        e.edits[0].why.contains("no port-25 listener"),
        "{}",
        e.edits[0].why
    );
}

#[test]
fn debian12_report() {
    let r = analyse(DEBIAN12);
    assert!(r.problems.is_empty(), "{:?}", r.problems);
    assert_eq!(r.auth_options, AuthLine::Absent);
    assert!(!r.crlf && !r.bom);
    assert_eq!(
        r.includes,
        vec![
            (35, "/usr/share/sendmail/cf/m4/cf.m4".to_string()),
            (97, "/etc/mail/m4/dialup.m4".to_string()),
            (98, "/etc/mail/m4/provider.m4".to_string()),
        ]
    );
    let active: Vec<&Listener> = r.listeners.iter().filter(|l| l.active).collect();
    assert_eq!(active.len(), 2);
    assert_eq!(active[0].line, 57);
    assert_eq!(active[0].name.as_deref(), Some("MTA-v4"));
    assert_eq!(active[0].port.as_deref(), Some("smtp"));
    assert_eq!(active[0].addr.as_deref(), Some("127.0.0.1"));
    assert_eq!(active[0].family.as_deref(), Some("inet"));
    assert_eq!(active[1].modifiers.as_deref(), Some("Ea"));
    assert_eq!(r.listeners.len(), 4);
}

#[test]
fn sasl_include_is_warned_about() {
    let text = DEBIAN12.replace(
        "dnl # Default Mailer setup\n",
        "include(`/etc/mail/sasl/sasl.m4')dnl\ndnl # Default Mailer setup\n",
    );
    let e = enable_auth(&text, &opts()).unwrap();
    assert!(
        e.warnings.iter().any(|w| w.contains("sasl.m4")),
        "{:?}",
        e.warnings
    );
}

// ---- bytes kept: CRLF, BOM, last line, trailing blanks ----------------------------------

#[test]
fn crlf_files_stay_crlf_and_inserted_lines_follow_them() {
    let text = DEBIAN12.replace('\n', "\r\n");
    let r = analyse(&text);
    assert!(r.crlf);
    let e = enable_auth(&text, &opts()).unwrap();
    check_edit(&text, &e);
    assert_eq!(
        e.text,
        enable_auth(DEBIAN12, &opts())
            .unwrap()
            .text
            .replace('\n', "\r\n")
    );
}

#[test]
fn a_crlf_line_in_an_lf_file_keeps_its_ending() {
    let text = "include(`/usr/share/sendmail/cf/m4/cf.m4')dnl\n\
                dnl TRUST_AUTH_MECH(`X')dnl\r\n\
                MAILER(smtp)dnl\n";
    let e = enable_auth(text, &opts()).unwrap();
    check_edit(text, &e);
    assert!(e.text.contains("TRUST_AUTH_MECH(`LOGIN PLAIN')dnl\r\n"));
    assert!(e
        .text
        .contains("define(`confAUTH_MECHANISMS', `LOGIN PLAIN')dnl\nMAILER"));
}

#[test]
fn bom_is_kept_and_lines_count_without_it() {
    let text = format!("\u{feff}{DEBIAN12}");
    let r = analyse(&text);
    assert!(r.bom);
    assert_eq!(r.includes[0].0, 35);
    let e = enable_auth(&text, &opts()).unwrap();
    check_edit(&text, &e);
    assert!(e.text.starts_with('\u{feff}'));
    assert_eq!(e.edits[0].line, 57);
}

#[test]
fn last_line_without_newline_and_trailing_blanks_are_kept() {
    let text = "include(`/usr/share/sendmail/cf/m4/cf.m4')dnl   \n\
                dnl define(`confAUTH_OPTIONS', `A')dnl \t\n\
                MAILER(smtp)dnl";
    let e = enable_auth(text, &opts()).unwrap();
    check_edit(text, &e);
    assert!(e.text.ends_with("\nMAILER(smtp)dnl"));
    assert!(e
        .text
        .starts_with("include(`/usr/share/sendmail/cf/m4/cf.m4')dnl   \n"));
    assert!(e.text.contains("\ndefine(`confAUTH_OPTIONS', `A')dnl \t\n"));
}

// ---- HOWTO step 4: listeners -------------------------------------------------------------

fn with_listeners(lines: &[&str]) -> String {
    let mut t = String::from(
        "include(`/usr/share/sendmail/cf/m4/cf.m4')dnl\n\
         define(`confAUTH_OPTIONS', `A')dnl\n\
         TRUST_AUTH_MECH(`LOGIN PLAIN')dnl\n\
         define(`confAUTH_MECHANISMS', `LOGIN PLAIN')dnl\n",
    );
    for l in lines {
        t.push_str(l);
        t.push('\n');
    }
    t.push_str("MAILER(smtp)dnl\n");
    t
}

fn listener_edit(lines: &[&str]) -> Vec<(usize, Option<String>)> {
    let text = with_listeners(lines);
    let e = enable_auth(&text, &opts()).unwrap_or_else(|e| panic!("{e}"));
    check_edit(&text, &e);
    e.edits.into_iter().map(|e| (e.line, e.after)).collect()
}

const MSA: &str = "DAEMON_OPTIONS(`Port=submission, Name=MSA, M=Ea, Addr=127.0.0.1')dnl";

#[test]
fn port_25_is_found_in_any_spelling_and_field_order() {
    for (line, want) in [
        (
            "DAEMON_OPTIONS(`Port=25,Addr=127.0.0.1,Name=MTA')dnl",
            "DAEMON_OPTIONS(`Port=25,Name=MTA')dnl",
        ),
        (
            "DAEMON_OPTIONS(`Addr=127.0.0.1, port=smtp, Name=MTA')dnl",
            "DAEMON_OPTIONS(`port=smtp, Name=MTA')dnl",
        ),
        (
            "DAEMON_OPTIONS(`Addr=127.0.0.1, Port=mail, Name=MTA')dnl",
            "DAEMON_OPTIONS(`Port=mail, Name=MTA')dnl",
        ),
        (
            "DAEMON_OPTIONS(` Name=MTA ,  Addr = 127.0.0.1 ')dnl",
            "DAEMON_OPTIONS(` Name=MTA ')dnl",
        ),
        (
            "DAEMON_OPTIONS(`Family=inet6, Name=MTA-v6, Port=smtp, Addr=::1')dnl",
            "DAEMON_OPTIONS(`Family=inet6, Name=MTA-v6, Port=smtp')dnl",
        ),
        (
            "  DAEMON_OPTIONS(`Name=MTA,Addr=localhost')",
            "  DAEMON_OPTIONS(`Name=MTA')",
        ),
    ] {
        assert_eq!(
            listener_edit(&[line, MSA]),
            vec![(5, Some(want.to_string()))],
            "{line}"
        );
    }
}

#[test]
fn the_only_loopback_listener_is_commented_out() {
    assert_eq!(
        listener_edit(&["DAEMON_OPTIONS(`port=smtp,Addr=127.0.0.1, Name=MTA')"]),
        vec![(
            5,
            Some("dnl DAEMON_OPTIONS(`port=smtp,Addr=127.0.0.1, Name=MTA')".into())
        )]
    );
    // The only listener on IPv6 ::1: commenting it out would leave sendmail's IPv4-only
    // default, and clients of [::1]:25 would lose it; without its Addr the IPv6 socket on
    // every address takes IPv4 too (Linux).
    assert_eq!(
        listener_edit(&["DAEMON_OPTIONS(`port=smtp,Addr=::1, Name=MTA-v6, Family=inet6')"]),
        vec![(
            5,
            Some("DAEMON_OPTIONS(`port=smtp, Name=MTA-v6, Family=inet6')".into())
        )]
    );
}

#[test]
fn listeners_without_addr_or_absent_need_nothing() {
    assert!(listener_edit(&[]).is_empty());
    assert!(listener_edit(&["DAEMON_OPTIONS(`Port=smtp,Name=MTA')dnl", MSA]).is_empty());
    assert!(listener_edit(&["DAEMON_OPTIONS(`Name=IPv4, Family=inet')"]).is_empty());
    assert!(
        listener_edit(&["dnl DAEMON_OPTIONS(`Port=smtp,Addr=127.0.0.1, Name=MTA')dnl"]).is_empty()
    );
}

#[test]
fn a_specific_address_is_left_alone_with_a_warning() {
    let text = with_listeners(&["DAEMON_OPTIONS(`Port=smtp,Addr=192.168.0.1, Name=MTA')dnl"]);
    let e = enable_auth(&text, &opts()).unwrap();
    assert!(e.edits.is_empty());
    assert!(e.warnings[0].contains("192.168.0.1"));
}

#[test]
fn howto_followed_literally_on_debian_gets_port_25_back() {
    // MTA-v4 commented out by hand, as the HOWTO says: only 587 is left (FACTS.md).
    let text = DEBIAN12.replace(
        "\nDAEMON_OPTIONS(`Family=inet,  Name=MTA-v4",
        "\ndnl DAEMON_OPTIONS(`Family=inet,  Name=MTA-v4",
    );
    let e = enable_auth(&text, &opts()).unwrap();
    check_edit(&text, &e);
    assert_eq!(e.edits[0].line, 57);
    assert_eq!(
        e.edits[0].after.as_deref(),
        Some("DAEMON_OPTIONS(`Family=inet,  Name=MTA-v4, Port=smtp')dnl")
    );
    // No commented port-25 line to reuse: one is added before the other listeners.
    assert_eq!(
        listener_edit(&[MSA]),
        vec![(5, Some("DAEMON_OPTIONS(`Port=smtp, Name=MTA')dnl".into()))]
    );
}

#[test]
fn unquoted_or_multi_line_listeners_are_refused() {
    let text = with_listeners(&["DAEMON_OPTIONS(Port=smtp, Addr=127.0.0.1)dnl"]);
    let err = enable_auth(&text, &opts()).unwrap_err();
    assert_eq!(err.line, 5);
    assert!(err.reason.contains("not quoted"), "{err}");
    let text = with_listeners(&["DAEMON_OPTIONS(`Port=smtp,", "Addr=127.0.0.1')dnl"]);
    let err = enable_auth(&text, &opts()).unwrap_err();
    assert_eq!(err.line, 5);
}

#[test]
fn listeners_inside_other_macros_are_refused() {
    let text =
        with_listeners(&["ifdef(`X', `DAEMON_OPTIONS(`Port=smtp,Addr=127.0.0.1, Name=MTA')')dnl"]);
    let err = enable_auth(&text, &opts()).unwrap_err();
    assert_eq!(err.line, 5);
    assert!(err.reason.contains("inside another"), "{err}");
    for line in [
        "x(`DAEMON_OPTIONS(`Port=smtp')')dnl",
        "undefine(`confAUTH_MECHANISMS')dnl",
        "VERSIONID(`FEATURE(`promiscuous_relay')')dnl",
    ] {
        let err = enable_auth(&with_listeners(&[line]), &opts()).unwrap_err();
        assert_eq!(err.line, 5, "{line}");
    }
}

// ---- listeners that must bind together (issue 9, item 1) ---------------------------------

fn listener_edit_with(lines: &[&str], open: &str) -> Result<McEdit, McError> {
    let text = with_listeners(lines);
    let choice = ListenerChoice {
        open: Some(open.to_string()),
    };
    let e = enable_auth_with(&text, &opts(), &[], &choice)?.mc;
    check_edit(&text, &e);
    Ok(e)
}

fn listener_refusal(lines: &[&str]) -> McError {
    let text = with_listeners(lines);
    match enable_auth(&text, &opts()) {
        Ok(e) => panic!("expected a refusal, got {:?}\n{}", e.edits, e.text),
        Err(e) => e,
    }
}

const MTA_V6: &str = "DAEMON_OPTIONS(`Family=inet6, Name=MTA-v6, Port=smtp, Addr=::1')dnl";
const MTA_V4: &str = "DAEMON_OPTIONS(`Family=inet,  Name=MTA-v4, Port=smtp, Addr=127.0.0.1')dnl";
const MSP_V4: &str =
    "DAEMON_OPTIONS(`Family=inet,  Name=MSP-v4, Port=submission, M=Ea, Addr=127.0.0.1')dnl";

/// Every pair of active listeners in `text` that cannot be bound together on Linux.
fn collisions(text: &str) -> Vec<(usize, usize)> {
    let m = model::Model::new(text);
    let act: Vec<&model::ListenerLine> = m.listeners.iter().filter(|l| l.active).collect();
    let mut v = vec![];
    for (i, a) in act.iter().enumerate() {
        for b in &act[i + 1..] {
            let (ab, bb) = (a.bind(), b.bind());
            if model::overlap((a.family(), &a.port(), &ab), (b.family(), &b.port(), &bb))
                != model::Overlap::No
            {
                v.push((a.line + 1, b.line + 1));
            }
        }
    }
    v
}

#[test]
fn debian_with_v6_switched_on_opens_v4_and_keeps_v6_on_loopback() {
    // Debian's MTA-v6 line un-dnl'ed beside MTA-v4 (both on loopback): the old edit made both
    // wildcards; the IPv6 one takes IPv4 too on Linux and MTA-v4 could not bind.
    let text = DEBIAN12.replace(&format!("dnl {MTA_V6}"), MTA_V6);
    assert_eq!(collisions(&text), vec![]);
    let e = enable_auth(&text, &opts()).unwrap();
    check_edit(&text, &e);
    let listener_edits: Vec<&Edit> = e
        .edits
        .iter()
        .filter(|x| {
            x.before
                .as_deref()
                .is_some_and(|b| b.contains("DAEMON_OPTIONS"))
        })
        .collect();
    assert_eq!(listener_edits.len(), 1, "{:?}", e.edits);
    assert_eq!(listener_edits[0].line, 57);
    assert_eq!(
        listener_edits[0].after.as_deref(),
        Some("DAEMON_OPTIONS(`Family=inet,  Name=MTA-v4, Port=smtp')dnl")
    );
    assert!(listener_edits[0].why.contains("line 56 stays on ::1"));
    assert!(e.text.contains(&format!("\n{MTA_V6}\n")));
    assert_eq!(collisions(&e.text), vec![]);
    assert!(
        e.warnings
            .iter()
            .any(|w| w.contains("IPv4 only") && w.contains("--open-listener MTA-v6")),
        "{:?}",
        e.warnings
    );
    // The same in the other order, and with the v6 line spelled otherwise.
    for v6 in [
        MTA_V6,
        "DAEMON_OPTIONS(`port=smtp,Addr=::1, Name=MTA-v6, Family=inet6')dnl",
        "DAEMON_OPTIONS(`Family=inet6, Name=MTA-v6, Port=25, Addr=0:0:0:0:0:0:0:1')dnl",
        "DAEMON_OPTIONS(`Family=inet6, Name=MTA-v6, Port=smtp, Addr=IPv6:::1')dnl",
    ] {
        for lines in [[MTA_V4, v6, MSP_V4], [v6, MTA_V4, MSP_V4]] {
            let text = with_listeners(&lines);
            let e = enable_auth(&text, &opts()).unwrap_or_else(|e| panic!("{v6}: {e}"));
            check_edit(&text, &e);
            assert_eq!(e.edits.len(), 1, "{v6}: {:?}", e.edits);
            assert!(e.edits[0].before.as_deref() == Some(MTA_V4), "{v6}");
            assert_eq!(collisions(&e.text), vec![], "{}", e.text);
        }
    }
}

#[test]
fn choosing_the_v6_listener_comments_out_the_v4_loopback_one() {
    let e = listener_edit_with(&[MTA_V6, MTA_V4, MSP_V4], "MTA-v6").unwrap();
    assert_eq!(
        e.edits
            .iter()
            .map(|x| (x.line, x.after.clone().unwrap()))
            .collect::<Vec<_>>(),
        vec![
            (
                5,
                "DAEMON_OPTIONS(`Family=inet6, Name=MTA-v6, Port=smtp')dnl".to_string()
            ),
            (6, format!("dnl {MTA_V4}")),
        ]
    );
    assert_eq!(collisions(&e.text), vec![]);
    // Naming the IPv4 one is the default made explicit.
    let e = listener_edit_with(&[MTA_V6, MTA_V4, MSP_V4], "MTA-v4").unwrap();
    assert_eq!(e.edits.len(), 1);
    assert_eq!(e.edits[0].line, 6);
    // A name that is not there, or not on port 25, is refused with the names that are.
    for bad in ["MTA", "MSP-v4"] {
        let err = listener_edit_with(&[MTA_V6, MTA_V4, MSP_V4], bad).unwrap_err();
        assert!(
            err.reason.contains("Name=MTA-v6") && err.reason.contains("open_listener"),
            "{err}"
        );
    }
    // The same Name twice.
    let err = listener_edit_with(
        &[
            "DAEMON_OPTIONS(`Port=smtp, Name=MTA, Addr=127.0.0.1')dnl",
            "DAEMON_OPTIONS(`Port=smtp, Name=MTA, Addr=127.0.0.2')dnl",
        ],
        "MTA",
    )
    .unwrap_err();
    assert_eq!(err.line, 6, "{err}");
}

#[test]
fn a_loopback_listener_beside_a_network_one_is_left_alone() {
    // The HOWTO's own two-line example, and more: port 25 already takes network mail, and a
    // loopback line turned into a wildcard could not be bound beside the specific one.
    for net in [
        "DAEMON_OPTIONS(`Port=smtp, Addr=192.0.2.10, Name=MTA-lan')dnl",
        "DAEMON_OPTIONS(`Port=smtp, Addr=203.0.113.25, Name=MTA-public')dnl",
        "DAEMON_OPTIONS(`Port=25, Addr=10.1.2.3, Name=MTA-lan, M=O')dnl",
        "DAEMON_OPTIONS(`Port=smtp, Addr=0.0.0.0, Name=MTA-all')dnl",
        "DAEMON_OPTIONS(`Family=inet6, Port=smtp, Addr=2001:db8::25, Name=MTA-v6')dnl",
        "DAEMON_OPTIONS(`Port=smtp, Addr=mail.example.com, Name=MTA-name')dnl",
    ] {
        for lo in [
            MTA_V4,
            "DAEMON_OPTIONS(`Port=smtp,Addr=127.0.0.1, Name=MTA')dnl",
            "DAEMON_OPTIONS(`Port=smtp,Addr=localhost, Name=MTA')dnl",
        ] {
            for lines in [[lo, net, MSP_V4], [net, lo, MSP_V4]] {
                let text = with_listeners(&lines);
                let e = enable_auth(&text, &opts()).unwrap_or_else(|e| panic!("{net}: {e}"));
                assert!(e.edits.is_empty(), "{net} / {lo}: {:?}", e.edits);
                // Nothing told to the user as if it had been changed; a specific bind is named.
                if !net.contains("0.0.0.0") {
                    assert!(e.warnings.iter().any(|w| w.contains("left it")), "{net}");
                }
            }
        }
    }
    // A listener without Addr (sendmail's every-address default) is network mail already.
    assert!(listener_edit(&[MTA_V4, "DAEMON_OPTIONS(`Name=MTA-all, Port=25')dnl"]).is_empty());
}

#[test]
fn several_loopback_listeners_of_one_family_are_refused_with_the_key() {
    for (a, b) in [
        (
            "DAEMON_OPTIONS(`Port=smtp, Addr=127.0.0.1, Name=MTA')dnl",
            "DAEMON_OPTIONS(`Port=smtp, Addr=127.0.0.2, Name=MTA-2')dnl",
        ),
        (
            "DAEMON_OPTIONS(`Port=smtp, Addr=127.0.0.1, Name=MTA')dnl",
            "DAEMON_OPTIONS(`Port=25, Addr=localhost, Name=MTA-2')dnl",
        ),
        (
            "DAEMON_OPTIONS(`Addr=127.0.0.1, Name=MTA')dnl",
            "DAEMON_OPTIONS(`Port=mail, Addr=127.0.0.2, Name=MTA-2, M=O')dnl",
        ),
        (
            "DAEMON_OPTIONS(`Family=inet6, Port=smtp, Addr=::1, Name=MTA')dnl",
            "DAEMON_OPTIONS(`Family=inet6, Port=smtp, Addr=::ffff:127.0.0.1, Name=MTA-2')dnl",
        ),
    ] {
        let err = listener_refusal(&[a, b, MSA]);
        assert!(
            err.reason.contains("--open-listener") && err.reason.contains("open_listener:"),
            "{err}"
        );
        // Naming one decides it: its Addr goes, the colliding loopback one is commented out.
        let e = listener_edit_with(&[a, b, MSA], "MTA-2").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(e.edits.len(), 2, "{:?}", e.edits);
        assert_eq!(
            e.edits[0].after.as_deref(),
            Some(format!("dnl {a}").as_str())
        );
        assert!(!e.edits[1].after.as_deref().unwrap().contains("Addr"));
        assert_eq!(collisions(&e.text), vec![]);
    }
}

#[test]
fn a_v4_mapped_v6_listener_is_loopback_and_collides_with_the_v4_wildcard() {
    let mapped = "DAEMON_OPTIONS(`Family=inet6, Port=smtp, Addr=::ffff:127.0.0.1, Name=MTA-m')dnl";
    // Alone with a submission listener: it is port 25 on loopback, and it is opened.
    assert_eq!(
        listener_edit(&[mapped, MSA]),
        vec![(
            5,
            Some("DAEMON_OPTIONS(`Family=inet6, Port=smtp, Name=MTA-m')dnl".into())
        )]
    );
    // Beside the IPv4 loopback listener: opening the IPv4 one would collide with it.
    let err = listener_refusal(&[MTA_V4, mapped, MSA]);
    assert_eq!(err.line, 6, "{err}");
    assert!(err.reason.contains("collide"), "{err}");
}

#[test]
fn an_address_of_the_wrong_family_on_port_25_is_refused() {
    for line in [
        "DAEMON_OPTIONS(`Port=smtp, Addr=::1, Name=MTA')dnl",
        "DAEMON_OPTIONS(`Family=inet6, Port=smtp, Addr=127.0.0.1, Name=MTA')dnl",
        "DAEMON_OPTIONS(`Port=smtp, Addr=[127.0.0.1], Name=MTA')dnl",
        "DAEMON_OPTIONS(`Port=smtp, Addr=127.0.0.256, Name=MTA')dnl",
    ] {
        let err = listener_refusal(&[line, MSA]);
        assert_eq!(err.line, 5, "{line}");
        assert!(err.reason.contains("host unknown"), "{err}");
    }
}

#[test]
fn a_port_name_sendmail_does_not_know_is_refused() {
    // getservbyname is case-sensitive: with Port=SMTP the daemon says `service "SMTP"
    // unknown` and does not start (sendmail 8.17, checked).
    for (line, right) in [
        (
            "DAEMON_OPTIONS(`port=SMTP, Addr=127.0.0.1, Name=MTA')dnl",
            "Port=smtp",
        ),
        ("DAEMON_OPTIONS(`Port = SMTP, Name=MTA')dnl", "Port=smtp"),
        (
            "DAEMON_OPTIONS(`Port=Submission, Name=MSA, M=Ea')dnl",
            "Port=submission",
        ),
    ] {
        let err = listener_refusal(&[line, MTA_V4]);
        assert_eq!(err.line, 5, "{line}");
        assert!(
            err.reason.contains(right) && err.reason.contains("unknown"),
            "{err}"
        );
    }
}

#[test]
fn listeners_on_other_ports_unix_sockets_and_client_options_do_not_count() {
    // A loopback listener on another port stays; only the port-25 one is opened.
    let alt = "DAEMON_OPTIONS(`Port=2525, Addr=127.0.0.1, Name=MTA-alt')dnl";
    assert_eq!(
        listener_edit(&[alt, MTA_V4, MSP_V4]),
        vec![(
            6,
            Some("DAEMON_OPTIONS(`Family=inet,  Name=MTA-v4, Port=smtp')dnl".into())
        )]
    );
    // CLIENT_OPTIONS set how sendmail connects out; they listen on nothing.
    let text = with_listeners(&[
        "CLIENT_OPTIONS(`Family=inet6')dnl",
        "CLIENT_OPTIONS(`Family=inet, Addr=127.0.0.1')dnl",
        MTA_V4,
        MSP_V4,
    ]);
    let e = enable_auth(&text, &opts()).unwrap();
    assert_eq!(e.edits.len(), 1);
    assert_eq!(e.edits[0].line, 7);
    // A local socket on "port 25" is no TCP listener: port 25 is missing and gets one.
    let unix = "DAEMON_OPTIONS(`Family=local, Addr=/run/sendmail.sock, Name=Local')dnl";
    assert_eq!(
        listener_edit(&[unix]),
        vec![(5, Some("DAEMON_OPTIONS(`Port=smtp, Name=MTA')dnl".into()))]
    );
}

#[test]
fn listeners_that_already_collide_are_left_with_a_warning() {
    // FreeBSD's pair on Linux: IPv4 and IPv6 on every address, the IPv6 one optional.
    let text = with_listeners(&[
        "DAEMON_OPTIONS(`Name=IPv4, Family=inet')",
        "DAEMON_OPTIONS(`Name=IPv6, Family=inet6, Modifiers=O')",
    ]);
    let e = enable_auth(&text, &opts()).unwrap();
    assert!(e.edits.is_empty());
    assert!(
        e.warnings
            .iter()
            .any(|w| w.contains("lines 5 and 6") && w.contains("Modifiers=O")),
        "{:?}",
        e.warnings
    );
}

#[test]
fn the_key_is_ignored_with_a_warning_when_port_25_is_already_open() {
    let e = listener_edit_with(&["DAEMON_OPTIONS(`Port=smtp, Name=MTA')dnl", MSA], "MTA").unwrap();
    assert!(e.edits.is_empty());
    assert!(e.warnings.iter().any(|w| w.contains("was not used")));
}

#[test]
fn addresses_are_read_as_inet_addr_and_inet_pton_read_them() {
    use model::inet_aton;
    for (s, want) in [
        ("127.0.0.1", Some([127, 0, 0, 1])),
        ("127.1", Some([127, 0, 0, 1])),
        ("0x7f.0.0.2", Some([127, 0, 0, 2])),
        ("0177.0.0.1", Some([127, 0, 0, 1])),
        ("2130706433", Some([127, 0, 0, 1])),
        ("192.168.257", Some([192, 168, 1, 1])),
        ("1.2.3.256", None),
        ("1.2.3.4.5", None),
        ("08.1.1.1", None),
        ("", None),
        ("a.b", None),
    ] {
        assert_eq!(inet_aton(s).map(|a| a.octets()), want, "{s}");
    }
    for (addr, lo) in [
        ("127.0.0.1", true),
        ("127.0.0.2", true),
        ("127.1", true),
        ("localhost", true),
        ("::1", true),
        ("::ffff:127.0.0.1", true),
        ("[::1]", true),
        ("192.0.2.1", false),
        ("::", false),
        ("mail.example.com", false),
    ] {
        assert_eq!(model::is_loopback(addr), lo, "{addr}");
    }
}

#[test]
fn which_sockets_collide_on_linux() {
    use model::{overlap, Bind, Family::*, Overlap::*, Port};
    let ip = |s: &str| Bind::Ip(s.parse().unwrap());
    let p25 = Port::Num(25);
    let p587 = Port::Num(587);
    for (a, b, want) in [
        ((Inet, &p25, Bind::Any), (Inet6, &p25, Bind::Any), Yes),
        ((Inet, &p25, Bind::Any), (Inet6, &p25, ip("::1")), No),
        ((Inet, &p25, ip("127.0.0.1")), (Inet6, &p25, Bind::Any), Yes),
        ((Inet, &p25, Bind::Any), (Inet, &p25, ip("192.0.2.10")), Yes),
        (
            (Inet, &p25, ip("127.0.0.1")),
            (Inet, &p25, ip("192.0.2.10")),
            No,
        ),
        ((Inet, &p25, Bind::Any), (Inet, &p587, ip("127.0.0.1")), No),
        (
            (Inet, &p25, ip("127.0.0.1")),
            (Inet6, &p25, ip("::ffff:127.0.0.1")),
            Yes,
        ),
        (
            (Inet, &p25, Bind::Any),
            (Inet6, &p25, ip("::ffff:192.0.2.1")),
            Yes,
        ),
        (
            (Inet, &p25, ip("192.0.2.2")),
            (Inet6, &p25, ip("::ffff:192.0.2.1")),
            No,
        ),
        (
            (Inet6, &p25, Bind::Any),
            (Inet6, &p25, ip("2001:db8::1")),
            Yes,
        ),
        (
            (Inet, &p25, Bind::Any),
            (Inet, &p25, Bind::Name("mail".into())),
            Yes,
        ),
        (
            (Inet, &p25, ip("127.0.0.1")),
            (Inet, &p25, Bind::Name("mail".into())),
            Unknown,
        ),
        (
            (Inet, &p25, Bind::Any),
            (Inet6, &p25, Bind::Name("mail".into())),
            Unknown,
        ),
        ((Inet, &p25, Bind::Any), (Other, &p25, Bind::Any), No),
    ] {
        assert_eq!(
            overlap((a.0, a.1, &a.2), (b.0, b.1, &b.2)),
            want,
            "{a:?} {b:?}"
        );
        assert_eq!(
            overlap((b.0, b.1, &b.2), (a.0, a.1, &a.2)),
            want,
            "{b:?} {a:?}"
        );
    }
}

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

mod props {
    use super::*;
    use proptest::prelude::*;

    fn auth_line(setting: usize) -> impl Strategy<Value = Vec<String>> {
        let (call, other) = match setting {
            0 => ("define(`confAUTH_OPTIONS', `V')", "A p"),
            1 => ("TRUST_AUTH_MECH(`V')", "DIGEST-MD5 CRAM-MD5 LOGIN PLAIN"),
            _ => ("define(`confAUTH_MECHANISMS',`V')", "GSSAPI LOGIN PLAIN"),
        };
        let wanted = if setting == 0 { "A" } else { "LOGIN PLAIN" };
        let variants = vec![
            vec![],
            vec![format!("dnl {}dnl", call.replace('V', other))],
            vec![format!("dnl\t{}dnl", call.replace('V', wanted))],
            vec![format!("  dnl {}", call.replace('V', other))],
            vec![format!("{}dnl", call.replace('V', wanted))],
            vec![format!("{}dnl", call.replace('V', other))],
            vec![
                format!("dnl {}dnl", call.replace('V', other)),
                format!("{}dnl", call.replace('V', wanted)),
            ],
            vec![format!("dnl{}dnl", call.replace('V', other))],
        ];
        prop::sample::select(variants)
    }

    fn listener() -> impl Strategy<Value = String> {
        let fields = (
            prop::sample::select(vec![
                "",
                "Port=smtp",
                "port=25",
                "Port=submission",
                "Port = SMTP",
            ]),
            prop::sample::select(vec![
                "",
                "Addr=127.0.0.1",
                "Addr=::1",
                "Addr=192.168.1.2",
                "addr=localhost",
                "Addr=127.0.0.2",
                "Addr=0.0.0.0",
                "Addr=::ffff:127.0.0.1",
                "Addr=2001:db8::25",
            ]),
            prop::sample::select(vec!["", "Name=MTA", "Name=MSA, M=Ea", "Name=MTA, M=O"]),
            prop::sample::select(vec!["", "Family=inet", "Family=inet6"]),
            any::<bool>(),
            prop::sample::select(vec![",", ", ", " ,  "]),
            prop::sample::select(vec!["", "dnl ", "dnl\t"]),
            prop::sample::select(vec!["dnl", "", "dnl # note"]),
        );
        fields.prop_map(|(p, a, n, f, rev, sep, pre, post)| {
            let mut v: Vec<&str> = [p, a, n, f].into_iter().filter(|s| !s.is_empty()).collect();
            if rev {
                v.reverse();
            }
            format!("{pre}DAEMON_OPTIONS(`{}'){post}", v.join(sep))
        })
    }

    fn filler() -> impl Strategy<Value = String> {
        prop_oneof![
            Just(String::new()),
            Just("dnl #".to_string()),
            Just("dnl # it's `odd".to_string()),
            Just("FEATURE(`use_cw_file')dnl".to_string()),
            Just("FEATURE(relay_based_on_MX)".to_string()),
            Just("define(`confPRIVACY_FLAGS',dnl\n`goaway')dnl".to_string()),
            Just("define(`confTO_CONNECT', `1m')".to_string()),
            "[a-z ]{0,20}".prop_map(|s| format!("dnl {s}")),
            (1usize..3000).prop_map(|n| format!("dnl {}", "x".repeat(n))),
            (1usize..3000).prop_map(|n| format!("define(`confX', `{}')dnl", "y".repeat(n))),
        ]
    }

    fn mc() -> impl Strategy<Value = String> {
        (
            (auth_line(0), auth_line(1), auth_line(2)),
            prop::collection::vec(listener(), 0..4),
            prop::collection::vec(filler(), 0..6),
            prop::collection::vec(
                (any::<bool>(), prop::sample::select(vec!["", " ", "\t "])),
                64,
            ),
            any::<bool>(),
            any::<bool>(),
            any::<bool>(),
            prop::sample::select(vec![
                "MAILER_DEFINITIONS",
                "MAILER(`local')dnl",
                "MAILER(smtp)",
            ]),
        )
            .prop_map(
                |((a, b, c), ls, fill, eols, bom, last_nl, header, mailer)| {
                    let mut lines: Vec<String> = Vec::new();
                    if header {
                        lines.push("divert(-1)dnl".into());
                        lines.push("# a `header' comment, with don`t".into());
                        lines.push("divert(0)dnl".into());
                    }
                    lines.push("include(`/usr/share/sendmail/cf/m4/cf.m4')dnl".into());
                    let mut body: Vec<String> = Vec::new();
                    body.extend(fill.iter().take(2).cloned());
                    body.extend(a);
                    body.extend(b);
                    body.extend(fill.iter().skip(2).cloned());
                    body.extend(c);
                    body.extend(ls);
                    lines.extend(body);
                    lines.push(mailer.to_string());
                    lines.push("MAILER(`smtp')dnl".into());
                    let mut text = String::new();
                    if bom {
                        text.push('\u{feff}');
                    }
                    let all: Vec<String> =
                        lines.join("\n").split('\n').map(str::to_string).collect();
                    let n = all.len();
                    for (i, line) in all.into_iter().enumerate() {
                        let (crlf, trail) = eols[i % eols.len()];
                        text.push_str(&line);
                        if !line.ends_with(",dnl") {
                            text.push_str(trail);
                        }
                        if i + 1 < n || last_nl {
                            text.push_str(if crlf { "\r\n" } else { "\n" });
                        }
                    }
                    text
                },
            )
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(400))]

        #[test]
        fn enable_auth_is_idempotent_and_touches_only_its_edits(text in mc()) {
            let _ = analyse(&text);
            match enable_auth(&text, &opts()) {
                Ok(e) => {
                    check_edit(&text, &e);
                    let r = analyse(&e.text);
                    prop_assert!(r.problems.is_empty());
                    // The admin's letters are kept and A is added.
                    let before = analyse(&text);
                    let mut letters: Vec<char> = match before.auth_options {
                        AuthLine::Active { value, .. } => value.chars().filter(|c| c.is_ascii_alphabetic()).collect(),
                        _ => vec![],
                    };
                    letters.push('A');
                    let got = active(r.auth_options).1;
                    prop_assert!(letters.iter().all(|c| got.contains(*c)), "{} lacks one of {:?}", got, letters);
                    prop_assert_eq!(active(r.trust_auth_mech).1, "LOGIN PLAIN");
                    prop_assert_eq!(active(r.auth_mechanisms).1, "LOGIN PLAIN");
                    let live: Vec<&Listener> = r.listeners.iter().filter(|l| l.active).collect();
                    if !live.is_empty() {
                        let open = live.iter().any(|l| {
                            let p = l.port.as_deref().map(str::to_ascii_lowercase);
                            (p.is_none() || p.as_deref() == Some("smtp") || p.as_deref() == Some("25"))
                                && !l.addr.as_deref().is_some_and(model::is_loopback)
                        });
                        prop_assert!(open, "no open port-25 listener:\n{}", e.text);
                    }
                    // Listeners that could all be bound together still can (issue 9, item 1).
                    if super::collisions(&text).is_empty() {
                        prop_assert_eq!(
                            super::collisions(&e.text),
                            vec![],
                            "the edit made listeners collide:\n{}",
                            e.text
                        );
                    }
                }
                Err(err) => {
                    let lines = text.split_inclusive('\n').count();
                    prop_assert!(err.line <= lines);
                    prop_assert!(!err.reason.is_empty());
                }
            }
        }

        #[test]
        fn nothing_panics_on_arbitrary_text(text in "[`'()#,a-zA-Z_ \t\r\n=&;@-]{0,400}") {
            let _ = analyse(&text);
            if let Ok(e) = enable_auth(&text, &opts()) {
                check_edit(&text, &e);
            }
            let _ = disable_features(&text, &["relay_based_on_MX".to_string()]);
            let _ = rewrite_includes(&text, "/r");
        }

        #[test]
        fn nothing_panics_on_any_unicode(text in any::<String>()) {
            let _ = analyse(&text);
            let _ = enable_auth(&text, &opts());
        }
    }
}
