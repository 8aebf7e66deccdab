//! Issue 11 item 3: the submission listener on port 587.

use super::*;

fn mc(lines: &[&str]) -> String {
    let mut t = String::from(
        "include(`/usr/share/sendmail/cf/m4/cf.m4')dnl\n\
         FEATURE(`no_default_msa')dnl\n",
    );
    for l in lines {
        t.push_str(l);
        t.push('\n');
    }
    t.push_str("MAILER(smtp)dnl\n");
    t
}

fn sub(lines: &[&str], choice: Option<&str>) -> Result<McEdit, McError> {
    let text = mc(lines);
    let c = SubmissionChoice {
        listener: choice.map(str::to_string),
    };
    let r = enable_submission(&text, &c);
    if let Ok(e) = &r {
        check_lines(&text, e);
        // Idempotent: the result needs nothing more.
        let again = enable_submission(&e.text, &c).unwrap_or_else(|e| panic!("second run: {e}"));
        assert!(again.edits.is_empty(), "{:?}", again.edits);
        assert_eq!(again.text, e.text);
    }
    r
}

fn edited(lines: &[&str], choice: Option<&str>) -> Vec<(usize, Option<String>)> {
    sub(lines, choice)
        .unwrap_or_else(|e| panic!("{e}"))
        .edits
        .into_iter()
        .map(|e| (e.line, e.after))
        .collect()
}

const MTA4: &str = "DAEMON_OPTIONS(`Family=inet,  Name=MTA-v4, Port=smtp')dnl";
const MSP4: &str =
    "DAEMON_OPTIONS(`Family=inet,  Name=MSP-v4, Port=submission, M=Ea, Addr=127.0.0.1')dnl";

#[test]
fn debian_msp_v4_becomes_an_msa_line_without_addr() {
    let e = edited(
        &[
            "dnl DAEMON_OPTIONS(`Family=inet6, Name=MTA-v6, Port=smtp, Addr=::1')dnl",
            "DAEMON_OPTIONS(`Family=inet,  Name=MTA-v4, Port=smtp, Addr=127.0.0.1')dnl",
            "dnl DAEMON_OPTIONS(`Family=inet6, Name=MSP-v6, Port=submission, M=Ea, Addr=::1')dnl",
            MSP4,
        ],
        None,
    );
    assert_eq!(
        e,
        vec![(
            6,
            Some("DAEMON_OPTIONS(`Family=inet,  Name=MSA-v4, Port=submission, M=Ea')dnl".into())
        )]
    );
}

#[test]
fn the_debian12_corpus_file_gets_the_line_of_tls_md() {
    let text = include_str!("../../../tests/fixtures/debian12/etc/mail/sendmail.mc");
    let e = enable_submission(text, &SubmissionChoice::default()).unwrap();
    check_lines(text, &e);
    assert_eq!(e.edits.len(), 1);
    assert_eq!(
        e.edits[0].after.as_deref(),
        Some("DAEMON_OPTIONS(`Family=inet,  Name=MSA-v4, Port=submission, M=Ea')dnl")
    );
    // Port 25 untouched.
    assert!(e.text.contains("Name=MTA-v4, Port=smtp, Addr=127.0.0.1"));
}

#[test]
fn red_hat_commented_msa_is_activated() {
    let e = edited(
        &[
            "DAEMON_OPTIONS(`Port=smtp,Addr=127.0.0.1, Name=MTA')dnl",
            "dnl DAEMON_OPTIONS(`Port=submission, Name=MSA, M=Ea')dnl",
            "dnl DAEMON_OPTIONS(`Port=smtps, Name=TLSMTA, M=s')dnl",
        ],
        None,
    );
    assert_eq!(
        e,
        vec![(
            4,
            Some("DAEMON_OPTIONS(`Port=submission, Name=MSA, M=Ea')dnl".into())
        )]
    );
    // Commented without its dnl tail, on loopback, with other letters.
    let e = edited(
        &[
            MTA4,
            "dnl DAEMON_OPTIONS(`Port=587, Name=MSA, M=O, Addr=127.0.0.1')",
        ],
        None,
    );
    assert_eq!(
        e,
        vec![(
            4,
            Some("DAEMON_OPTIONS(`Port=587, Name=MSA, M=OEa')dnl".into())
        )]
    );
}

#[test]
fn nothing_on_587_gets_a_new_msa_line_after_the_listeners() {
    let e = edited(&[MTA4], None);
    assert_eq!(e, vec![(4, Some(submission_line()))]);
    // No active DAEMON_OPTIONS: port 25's default listener is written out too.
    let e = edited(&[], None);
    assert_eq!(
        e,
        vec![
            (3, Some("DAEMON_OPTIONS(`Port=smtp, Name=MTA')dnl".into())),
            (3, Some(submission_line()))
        ]
    );
    // A commented-out IPv6 or SMTPS one is not a candidate.
    let e = edited(
        &[
            MTA4,
            "dnl DAEMON_OPTIONS(`Family=inet6, Name=MSP-v6, Port=submission, M=Ea, Addr=::1')dnl",
            "dnl DAEMON_OPTIONS(`Port=587, Name=S, M=s')dnl",
        ],
        None,
    );
    assert_eq!(e, vec![(4, Some(submission_line()))]);
}

fn submission_line() -> String {
    "DAEMON_OPTIONS(`Port=submission, Name=MSA, M=Ea')dnl".into()
}

#[test]
fn other_modifier_letters_are_kept_and_e_and_a_added() {
    for (line, want) in [
        (
            "DAEMON_OPTIONS(`Port=submission, Name=MSA, M=O, Addr=127.0.0.1')dnl",
            "DAEMON_OPTIONS(`Port=submission, Name=MSA, M=OEa')dnl",
        ),
        (
            "DAEMON_OPTIONS(`Port=submission, Name=MSA, Modifiers=hE, Addr=127.0.0.1')dnl",
            "DAEMON_OPTIONS(`Port=submission, Name=MSA, Modifiers=hEa')dnl",
        ),
        // No M= at all: it is added.
        (
            "DAEMON_OPTIONS(`Port=submission, Name=MSP, Addr=127.0.0.1')dnl",
            "DAEMON_OPTIONS(`Port=submission, Name=MSA, M=Ea')dnl",
        ),
        // A (no AUTH) contradicts a: dropped.
        (
            "DAEMON_OPTIONS(`Port=587, M=AE, Name=sub, Addr=localhost')dnl",
            "DAEMON_OPTIONS(`Port=587, M=Ea, Name=sub')dnl",
        ),
        // Numeric port, Addr first.
        (
            "DAEMON_OPTIONS(`Addr=127.0.0.1, Port=587, Name=MSP-v4, M=Ea')dnl",
            "DAEMON_OPTIONS(`Port=587, Name=MSA-v4, M=Ea')dnl",
        ),
    ] {
        assert_eq!(
            edited(&[MTA4, line], None),
            vec![(4, Some(want.into()))],
            "{line}"
        );
    }
}

#[test]
fn a_network_587_listener_is_kept_with_a_finding_when_it_lacks_a() {
    for line in [
        "DAEMON_OPTIONS(`Port=submission, Name=MSA, M=E')dnl",
        "DAEMON_OPTIONS(`Port=587, Name=MSA')dnl",
        "DAEMON_OPTIONS(`Port=submission, Name=MSA, M=Ea, Addr=0.0.0.0')dnl",
        "DAEMON_OPTIONS(`Family=inet6, Port=submission, Name=MSA6, M=Ea')dnl",
    ] {
        let e = sub(&[MTA4, line], None).unwrap();
        assert!(e.edits.is_empty(), "{line}");
        let lacks_a = !line.contains("M=Ea");
        assert_eq!(
            e.warnings
                .iter()
                .any(|w| w.contains("does not require AUTH")),
            lacks_a,
            "{line}: {:?}",
            e.warnings
        );
    }
    // S (no STARTTLS) is a finding too.
    let e = sub(
        &[MTA4, "DAEMON_OPTIONS(`Port=587, Name=MSA, M=EaS')dnl"],
        None,
    )
    .unwrap();
    assert!(
        e.warnings.iter().any(|w| w.contains("no STARTTLS")),
        "{:?}",
        e.warnings
    );
}

#[test]
fn smtps_and_port_25_are_never_touched() {
    let lines = [
        "DAEMON_OPTIONS(`Port=smtp, Name=MTA, M=a')dnl",
        "DAEMON_OPTIONS(`Port=smtps, Name=TLSMTA, M=s')dnl",
        "DAEMON_OPTIONS(`Port=465, Name=SMTPS2, M=s, Addr=127.0.0.1')dnl",
    ];
    let e = edited(&lines, None);
    assert_eq!(e, vec![(6, Some(submission_line()))]);
}

#[test]
fn the_ipv6_loopback_line_stays_beside_the_opened_ipv4_one() {
    let e = edited(
        &[
            MTA4,
            "DAEMON_OPTIONS(`Family=inet6, Name=MSP-v6, Port=submission, M=Ea, Addr=::1')dnl",
            MSP4,
        ],
        None,
    );
    assert_eq!(
        e,
        vec![(
            5,
            Some("DAEMON_OPTIONS(`Family=inet,  Name=MSA-v4, Port=submission, M=Ea')dnl".into())
        )]
    );
    // Only the IPv6 one: opened (an IPv6 socket on every address takes IPv4 too).
    let e = edited(
        &[
            MTA4,
            "DAEMON_OPTIONS(`Family=inet6, Name=MSP-v6, Port=submission, M=Ea, Addr=::1')dnl",
        ],
        None,
    );
    assert_eq!(
        e,
        vec![(
            4,
            Some("DAEMON_OPTIONS(`Family=inet6, Name=MSA-v6, Port=submission, M=Ea')dnl".into())
        )]
    );
}

#[test]
fn a_lan_address_is_refused_unless_decided() {
    for line in [
        "DAEMON_OPTIONS(`Port=submission, Name=MSA, M=Ea, Addr=192.168.1.10')dnl",
        "DAEMON_OPTIONS(`Port=587, Name=MSA, Addr=10.0.0.5')dnl",
        "DAEMON_OPTIONS(`Family=inet6, Port=587, Name=MSA, Addr=fd00::5')dnl",
        "DAEMON_OPTIONS(`Port=587, Name=MSA, Addr=mail.lan.example')dnl",
    ] {
        let err = sub(&[MTA4, line], None).unwrap_err();
        assert_eq!(err.line, 4, "{line}");
        assert!(
            err.reason.contains("--submission-listener keep"),
            "{}",
            err.reason
        );
        assert_eq!(
            err.decided_by,
            vec![Decider::new("--submission-listener", "submission_listener")]
        );
        // keep: nothing changes.
        let e = sub(&[MTA4, line], Some("keep")).unwrap();
        assert!(e.edits.is_empty());
        assert_eq!(
            e.warnings
                .iter()
                .any(|w| w.contains("does not require AUTH")),
            !line.contains("M=Ea")
        );
        // NAME: its Addr goes.
        let e = edited(&[MTA4, line], Some("MSA"));
        assert_eq!(e.len(), 1, "{line}");
        let after = e[0].1.clone().unwrap();
        assert!(!after.contains("Addr"), "{after}");
        assert!(after.contains("M=Ea"), "{after}");
    }
    // A name that is not there.
    let err = sub(
        &[
            MTA4,
            "DAEMON_OPTIONS(`Port=587, Name=MSA, Addr=10.0.0.5')dnl",
        ],
        Some("Nope"),
    )
    .unwrap_err();
    assert!(err.reason.contains("no active port-587"), "{}", err.reason);
}

#[test]
fn several_loopback_ipv4_listeners_need_a_name() {
    let lines = [
        MTA4,
        "DAEMON_OPTIONS(`Port=587, Name=A1, M=Ea, Addr=127.0.0.1')dnl",
        "DAEMON_OPTIONS(`Port=587, Name=A2, M=Ea, Addr=127.0.0.2')dnl",
    ];
    let err = sub(&lines, None).unwrap_err();
    assert!(err.reason.contains("several listeners"), "{}", err.reason);
    // Naming one: opening it collides with the other (127.0.0.2 is inside 0.0.0.0).
    let err = sub(&lines, Some("A1")).unwrap_err();
    assert!(err.reason.contains("collide"), "{}", err.reason);
    assert_eq!(err.line, 5);
    // keep: left as they are, with a warning.
    let e = sub(&lines, Some("keep")).unwrap();
    assert!(e.edits.is_empty());
    assert!(e.warnings.iter().any(|w| w.contains("loopback only")));
}

#[test]
fn sendmails_default_msa_is_left_with_a_finding() {
    let text = "include(`/usr/share/sendmail/cf/m4/cf.m4')dnl\nDAEMON_OPTIONS(`Name=IPv4, Family=inet')\nMAILER(smtp)dnl\n";
    let e = enable_submission(text, &SubmissionChoice::default()).unwrap();
    assert!(e.edits.is_empty());
    assert!(
        e.warnings.iter().any(|w| w.contains("no_default_msa")),
        "{:?}",
        e.warnings
    );
}

#[test]
fn refusals_change_nothing() {
    // A miscased service name, an unreadable line, _NETINET6_ defaults.
    assert!(sub(
        &[MTA4, "DAEMON_OPTIONS(`Port=Submission, Name=MSA')dnl"],
        None
    )
    .unwrap_err()
    .reason
    .contains("Port=submission"));
    assert!(sub(&["DAEMON_OPTIONS(`Port=587, Name=MSA"], None).is_err());
    let err = sub(&["define(`_NETINET6_')dnl"], None).unwrap_err();
    assert!(err.reason.contains("_NETINET6_"), "{}", err.reason);
    // A wrong address for the family.
    assert!(sub(
        &[
            MTA4,
            "DAEMON_OPTIONS(`Family=inet, Port=587, Name=MSA, Addr=::1')dnl"
        ],
        None
    )
    .is_err());
}

#[test]
fn crlf_and_a_missing_final_newline_are_kept() {
    let text = "include(`/usr/share/sendmail/cf/m4/cf.m4')dnl\r\nFEATURE(`no_default_msa')dnl\r\nDAEMON_OPTIONS(`Port=587, Name=MSP, M=Ea, Addr=127.0.0.1')dnl\r\nMAILER(smtp)dnl";
    let e = enable_submission(text, &SubmissionChoice::default()).unwrap();
    check_lines(text, &e);
    assert_eq!(
        e.text,
        "include(`/usr/share/sendmail/cf/m4/cf.m4')dnl\r\nFEATURE(`no_default_msa')dnl\r\nDAEMON_OPTIONS(`Port=587, Name=MSA, M=Ea')dnl\r\nMAILER(smtp)dnl"
    );
}

#[test]
fn activating_the_first_listener_writes_out_the_default_port_25_one() {
    // Red Hat's stock file with no active DAEMON_OPTIONS: un-dnl'ing the MSA alone would
    // replace sendmail's default `O DaemonPortOptions=Name=MTA`, and port 25 would go.
    let e = edited(
        &[
            "dnl DAEMON_OPTIONS(`Port=submission, Name=MSA, M=Ea')dnl",
            "dnl DAEMON_OPTIONS(`port=smtp,Addr=::1, Name=MTA-v6, Family=inet6')dnl",
        ],
        None,
    );
    assert_eq!(
        e,
        vec![
            (3, Some("DAEMON_OPTIONS(`Port=smtp, Name=MTA')dnl".into())),
            (
                3,
                Some("DAEMON_OPTIONS(`Port=submission, Name=MSA, M=Ea')dnl".into())
            ),
        ]
    );
}
