//! HOWTO step 4: which listener opens port 25, and listeners that must bind together.

use super::*;

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
pub(super) fn collisions(text: &str) -> Vec<(usize, usize)> {
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
