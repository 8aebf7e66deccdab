//! Unit tests: one per rule of the module docs, on the HOWTO's own text, the real Debian 12
//! default, and small hand-made files; then property tests on generated files.

use super::*;

mod listeners;
mod refusals;
mod submission;

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
    check_lines(old, edit);
    let again = enable_auth(&edit.text, &opts()).expect("second run");
    assert!(
        again.edits.is_empty(),
        "second run edits: {:?}",
        again.edits
    );
    assert_eq!(again.text, edit.text);
}

/// Every line not named in an edit keeps its bytes; the edits say exactly what changed.
fn check_lines(old: &str, edit: &McEdit) {
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
                    if super::listeners::collisions(&text).is_empty() {
                        prop_assert_eq!(
                            super::listeners::collisions(&e.text),
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
        fn enable_submission_is_idempotent_and_touches_only_its_edits(text in mc(), pick in prop::sample::select(vec![None, Some("keep"), Some("MSA"), Some("MTA")])) {
            let c = SubmissionChoice { listener: pick.map(str::to_string) };
            match enable_submission(&text, &c) {
                Ok(e) => {
                    check_lines(&text, &e);
                    let again = enable_submission(&e.text, &c).expect("second run");
                    prop_assert!(again.edits.is_empty(), "{:?}", again.edits);
                    prop_assert!(analyse(&e.text).problems.is_empty());
                    // Port-25 listeners are never touched.
                    let before: Vec<Listener> = analyse(&text).listeners.into_iter().filter(|l| l.port25()).collect();
                    let after: Vec<Listener> = analyse(&e.text).listeners.into_iter().filter(|l| l.port25()).collect();
                    let key = |ls: &[Listener]| ls.iter().map(|l| (l.active, l.text.clone())).collect::<Vec<_>>();
                    if !e.edits.iter().any(|x| x.before.is_none()) {
                        prop_assert_eq!(key(&before), key(&after));
                    }
                    if super::listeners::collisions(&text).is_empty() {
                        prop_assert_eq!(super::listeners::collisions(&e.text), vec![], "collide:\n{}", e.text);
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
            if let Ok(e) = enable_submission(&text, &SubmissionChoice::default()) {
                check_lines(&text, &e);
            }
            let _ = rewrite_includes(&text, "/r");
        }

        #[test]
        fn nothing_panics_on_any_unicode(text in any::<String>()) {
            let _ = analyse(&text);
            let _ = enable_auth(&text, &opts());
            let _ = enable_submission(&text, &SubmissionChoice::default());
        }
    }
}
