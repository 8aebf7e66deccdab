//! The relay report (HOWTO step 13) against real and synthetic sendmail logs.
use flate2::write::GzEncoder;
use flate2::Compression;
mod common;

use smtpauth_wizard::relay_report::{
    default_logs, follow, parse_duration, report_files, ClientStat, Journal, Report, ReportError,
    ReportOptions, Scanner, Verdict, MAX_TRACKED,
};
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// /work/shared/corpus/logs/debian12-sendmail-auth-test.log: syslog lines of a real Debian 12
/// sendmail 8.17.1.9 and saslauthd during an AUTH/relay test (client 127.0.0.2), as rsyslog
/// writes them to /var/log/mail.log. Copied here so that the test runs on a clean checkout.
const REAL_LOG: &str = r#"Nov 26 14:08:54 mailsrv sm-mta[11279]: starting daemon (8.17.1.9): SMTP
Nov 26 14:08:54 mailsrv sm-mta[11293]: 6AQE8s86011293: localhost [127.0.0.1] did not issue MAIL/EXPN/VRFY/ETRN during connection to MTA-v4
Nov 26 14:08:54 mailsrv saslauthd[11339]:                 : num_procs  : 1
Nov 26 14:08:54 mailsrv saslauthd[11339]:                 : mech_option: NULL
Nov 26 14:08:54 mailsrv saslauthd[11339]:                 : run_path   : /run/saslauthd
Nov 26 14:08:54 mailsrv saslauthd[11339]:                 : auth_mech  : pam
Nov 26 14:08:54 mailsrv saslauthd[11339]:                 : using accept lock file: /run/saslauthd/mux.accept
Nov 26 14:08:54 mailsrv saslauthd[11339]:                 : master pid is: 0
Nov 26 14:08:54 mailsrv saslauthd[11339]:                 : listening on socket: /run/saslauthd/mux
Nov 26 14:08:54 mailsrv saslauthd[11339]:                 : using process model
Nov 26 14:08:54 mailsrv saslauthd[11339]:                 : acquired accept lock
Nov 26 14:08:54 mailsrv saslauthd[11339]:                 : released accept lock
Nov 26 14:08:54 mailsrv saslauthd[11339]:                 : auth success: [user=smtptest] [service=smtp] [realm=] [mech=pam]
Nov 26 14:08:54 mailsrv saslauthd[11339]:                 : response: OK
Nov 26 14:08:54 mailsrv saslauthd[11339]:                 : acquired accept lock
Nov 26 14:08:55 mailsrv sm-mta[11345]: starting daemon (8.17.1.9): SMTP
Nov 26 14:08:55 mailsrv sm-mta[11359]: 6AQE8thU011359: localhost [127.0.0.1] did not issue MAIL/EXPN/VRFY/ETRN during connection to MTA-v4
Nov 26 14:08:55 mailsrv saslauthd[11339]:                 : released accept lock
Nov 26 14:08:55 mailsrv saslauthd[11339]:                 : auth success: [user=smtptest] [service=smtp] [realm=] [mech=pam]
Nov 26 14:08:55 mailsrv sm-mta[11367]: AUTH=server, relay=client.example.test [127.0.0.2], authid=smtptest, mech=PLAIN, bits=0
Nov 26 14:08:55 mailsrv saslauthd[11339]:                 : response: OK
Nov 26 14:08:55 mailsrv saslauthd[11339]:                 : acquired accept lock
Nov 26 14:08:55 mailsrv sm-mta[11367]: 6AQE8ts0011367: from=<smtptest@localhost>, size=0, class=0, nrcpts=1, proto=ESMTPA, daemon=MTA-v4, relay=client.example.test [127.0.0.2]
Nov 26 14:08:55 mailsrv saslauthd[11339]:                 : released accept lock
Nov 26 14:08:55 mailsrv saslauthd[11339]:                 : auth success: [user=smtptest] [service=smtp] [realm=] [mech=pam]
Nov 26 14:08:55 mailsrv saslauthd[11339]:                 : response: OK
Nov 26 14:08:55 mailsrv sm-mta[11372]: AUTH=server, relay=client.example.test [127.0.0.2], authid=smtptest, mech=LOGIN, bits=0
Nov 26 14:08:55 mailsrv saslauthd[11339]:                 : acquired accept lock
Nov 26 14:08:55 mailsrv sm-mta[11372]: 6AQE8tsv011372: from=<smtptest@localhost>, size=0, class=0, nrcpts=1, proto=ESMTPA, daemon=MTA-v4, relay=client.example.test [127.0.0.2]
Nov 26 14:08:55 mailsrv sm-mta[11377]: 6AQE8t9k011377: ruleset=check_rcpt, arg1=<someone@example.org>, relay=client.example.test [127.0.0.2], reject=550 5.7.1 <someone@example.org>... Relaying denied. Proper authentication required.
Nov 26 14:08:55 mailsrv sm-mta[11377]: 6AQE8t9k011377: from=<smtptest@localhost>, size=0, class=0, nrcpts=0, proto=ESMTP, daemon=MTA-v4, relay=client.example.test [127.0.0.2]
Nov 26 14:08:55 mailsrv saslauthd[11339]:                 : pid file lock removed: /run/saslauthd/saslauthd.pid.lock
Nov 26 14:08:55 mailsrv saslauthd[11339]:                 : accept lock file removed: /run/saslauthd/mux.accept
Nov 26 14:08:55 mailsrv saslauthd[11339]:                 : socket removed: /run/saslauthd/mux
Nov 26 14:08:55 mailsrv saslauthd[11339]:                 : master exited: 0
"#;

/// Epoch seconds of a UTC date and time.
fn utc(y: i64, mo: u32, d: u32, h: u32, mi: u32, s: u32) -> SystemTime {
    // Howard Hinnant's days_from_civil.
    let yy = if mo <= 2 { y - 1 } else { y };
    let era = yy.div_euclid(400);
    let yoe = yy - era * 400;
    let mp = i64::from((mo + 9) % 12);
    let doy = (153 * mp + 2) / 5 + i64::from(d) - 1;
    let days = era * 146_097 + yoe * 365 + yoe / 4 - yoe / 100 + doy - 719_468;
    let secs = days * 86_400 + i64::from(h * 3600 + mi * 60 + s);
    UNIX_EPOCH + Duration::from_secs(secs as u64)
}

/// Options with "now" at 2026-11-26 15:00 UTC and classic stamps read as UTC.
fn opts() -> ReportOptions {
    ReportOptions {
        now: utc(2026, 11, 26, 15, 0, 0),
        utc_offset: Some(0),
        ..ReportOptions::default()
    }
}

fn scan(o: &ReportOptions, log: &[u8]) -> Report {
    let mut sc = Scanner::new(o);
    sc.feed(log);
    sc.finish()
}

fn json(r: &Report) -> serde_json::Value {
    serde_json::to_value(r).expect("a report serialises")
}

fn client<'r>(r: &'r Report, ip: &str) -> &'r ClientStat {
    r.clients
        .iter()
        .find(|c| c.ip.as_deref() == Some(ip))
        .unwrap_or_else(|| panic!("no client {ip} in {:#?}", r.clients))
}

// Lines as sendmail and saslauthd write them (DIAGNOSTICS.md, and REAL_LOG).

fn reject(ts: &str, qid: &str, relay: &str, rcpt: &str) -> String {
    format!("{ts} mailsrv sm-mta[2001]: {qid}: ruleset=check_rcpt, arg1=<{rcpt}>, relay={relay}, reject=550 5.7.1 <{rcpt}>... Relaying denied. Proper authentication required.\n")
}

fn from(ts: &str, qid: &str, sender: &str, relay: &str) -> String {
    format!("{ts} mailsrv sm-mta[2001]: {qid}: from=<{sender}>, size=0, class=0, nrcpts=0, proto=ESMTP, daemon=MTA-v4, relay={relay}\n")
}

fn auth_ok(ts: &str, relay: &str, user: &str) -> String {
    format!("{ts} mailsrv sm-mta[2002]: AUTH=server, relay={relay}, authid={user}, mech=PLAIN, bits=0\n")
}

fn auth_failed(ts: &str, relay: &str, user: &str) -> String {
    format!("{ts} mailsrv sm-mta[2003]: AUTH failure (PLAIN): authentication failure (-13) SASL(-13): authentication failure: Password verification failed, user={user}, relay={relay}\n")
}

fn noise(ts: &str, i: usize) -> String {
    match i % 4 {
        0 => format!("{ts} mailsrv sm-mta[3{i:04}]: 6AQE8t{i:08}: from=<news{i}@example.org>, size=1234, class=0, nrcpts=1, msgid=<{i}@example.org>, proto=ESMTP, daemon=MTA-v4, relay=mx.example.org [198.51.100.99]\n"),
        1 => format!("{ts} mailsrv sm-mta[3{i:04}]: 6AQE8t{i:08}: to=<alice@example.com>, delay=00:00:01, xdelay=00:00:00, mailer=local, pri=31234, dsn=2.0.0, stat=Sent\n"),
        2 => format!("{ts} mailsrv sm-mta[3{i:04}]: STARTTLS=server, relay=mx.example.org [198.51.100.99], version=TLSv1.3, verify=NO, cipher=TLS_AES_256_GCM_SHA384, bits=256/256\n"),
        _ => format!("{ts} mailsrv sm-mta[3{i:04}]: 6AQE8t{i:08}: [203.0.113.77] did not issue MAIL/EXPN/VRFY/ETRN during connection to MTA-v4\n"),
    }
}

/// One client of each kind the hints tell apart, with noise between.
fn scenario() -> String {
    let mut log = String::new();
    let mut n = 0;
    let mut add = |log: &mut String, line: String| {
        log.push_str(&line);
        log.push_str(&noise("Nov 25 09:00:00", n));
        n += 1;
    };
    // An own user: logs in from this address at one time, forgets AUTH at another.
    let laptop = "laptop.example.net [203.0.113.10]";
    add(&mut log, auth_ok("Nov 25 10:00:00", laptop, "alice"));
    add(
        &mut log,
        reject(
            "Nov 25 11:00:00",
            "6APB0000a0001",
            laptop,
            "friend@example.org",
        ),
    );
    add(
        &mut log,
        from(
            "Nov 25 11:00:01",
            "6APB0000a0001",
            "alice@example.com",
            laptop,
        ),
    );
    // Sends as one of our domains, never logs in.
    let home = "home.example.net [198.51.100.20]";
    add(
        &mut log,
        reject("Nov 25 11:10:00", "6APB0000b0001", home, "aunt@example.org"),
    );
    add(
        &mut log,
        from("Nov 25 11:10:02", "6APB0000b0001", "bob@example.com", home),
    );
    // From our own network.
    add(
        &mut log,
        reject(
            "Nov 25 11:20:00",
            "6APB0000c0001",
            "[192.168.1.5]",
            "x@example.net",
        ),
    );
    // A stranger: many recipients in many domains, a forged name.
    let spammer = "dyn-1.example.biz [45.1.2.3] (may be forged)";
    for i in 0..6 {
        let qid = format!("6APB0000d000{i}");
        add(
            &mut log,
            reject(
                "Nov 25 11:30:00",
                &qid,
                spammer,
                &format!("victim{i}@example{i}.test"),
            ),
        );
        add(
            &mut log,
            from(
                "Nov 25 11:30:01",
                &qid,
                &format!("promo{i}@example.biz"),
                spammer,
            ),
        );
    }
    // A wrong password, and someone guessing user names.
    add(
        &mut log,
        auth_failed(
            "Nov 25 12:00:00",
            "client.example.net [198.51.100.30]",
            "carol",
        ),
    );
    add(
        &mut log,
        auth_failed(
            "Nov 25 12:05:00",
            "client.example.net [198.51.100.30]",
            "carol",
        ),
    );
    for user in ["admin", "test", "info"] {
        add(&mut log, auth_failed("Nov 25 12:10:00", "[45.9.9.9]", user));
    }
    // Comes back on two days, same recipient, never logs in.
    add(
        &mut log,
        reject(
            "Nov 24 08:00:00",
            "6AOB0000g0001",
            "[198.51.100.40]",
            "mum@example.org",
        ),
    );
    add(
        &mut log,
        reject(
            "Nov 25 08:00:00",
            "6APB0000g0002",
            "[198.51.100.40]",
            "mum@example.org",
        ),
    );
    // Two days too, but a different sender each time: a client would not change it.
    let prober = "[198.51.100.41]";
    add(
        &mut log,
        reject(
            "Nov 24 09:00:00",
            "6AOB0000g0003",
            prober,
            "mum@example.org",
        ),
    );
    add(
        &mut log,
        from("Nov 24 09:00:01", "6AOB0000g0003", "x1@example.biz", prober),
    );
    add(
        &mut log,
        reject(
            "Nov 25 09:00:00",
            "6APB0000g0004",
            prober,
            "mum@example.org",
        ),
    );
    add(
        &mut log,
        from("Nov 25 09:00:01", "6APB0000g0004", "x2@example.biz", prober),
    );
    // Once, nothing else known. And a refusal without the AUTH suffix (no TRUST_AUTH_MECH).
    add(&mut log, "Nov 25 13:00:00 mailsrv sm-mta[2004]: 6APB0000h0001: ruleset=check_rcpt, arg1=<a@example.net>, relay=[198.51.100.50], reject=550 5.7.1 <a@example.net>... Relaying denied\n".into());
    // Another server refusing us: not step 13's business.
    add(&mut log, "Nov 25 13:05:00 mailsrv sm-mta[2005]: 6APB0000i0001: to=<x@example.net>, delay=00:00:01, mailer=esmtp, pri=1, relay=mx.example.net. [198.51.100.60], dsn=5.7.1, stat=User unknown (550 5.7.1 <x@example.net>... Relaying denied)\n".into());
    // saslauthd's side (auth.log), for SMTP and for IMAP.
    add(&mut log, "Nov 25 12:00:00 mailsrv saslauthd[99]:                 : auth failure: [user=carol] [service=smtp] [realm=] [mech=pam] [reason=PAM auth error]\n".into());
    add(&mut log, "Nov 25 12:00:00 mailsrv saslauthd[99]: auth failure: [user=carol] [service=imap] [realm=] [mech=pam] [reason=PAM auth error]\n".into());
    log
}

fn scenario_opts() -> ReportOptions {
    ReportOptions {
        local_domains: vec!["example.com".into()],
        ..opts()
    }
}

#[test]
fn real_debian_log_counts() {
    let r = scan(&opts(), REAL_LOG.as_bytes());
    assert_eq!(r.lines_read, 35);
    assert_eq!(r.relay_denied, 1);
    assert_eq!(r.relay_denied_without_auth, 0);
    assert_eq!(r.auth_ok, 2);
    assert_eq!(r.auth_failed, 0);
    // The saslauthd lines in it are "auth success".
    assert_eq!(r.saslauthd_failed, 0);
    assert_eq!(r.clients.len(), 1);
    let c = client(&r, "127.0.0.2");
    assert_eq!(c.host.as_deref(), Some("client.example.test"));
    assert_eq!((c.relay_denied, c.auth_failed, c.logins_ok), (1, 0, 2));
    assert_eq!(c.senders, ["smtptest@localhost"]);
    assert_eq!((c.recipients, c.recipient_domains, c.days_seen), (1, 1, 1));
    assert_eq!(c.first_seen.as_deref(), Some("2026-11-26T14:08:55+00:00"));
    assert_eq!(c.last_seen.as_deref(), Some("2026-11-26T14:08:55+00:00"));
    assert_eq!(c.verdict, Verdict::OwnUser);
    assert!(
        c.basis
            .contains("logged in successfully 2 times (as smtptest)"),
        "{}",
        c.basis
    );
    assert_eq!(r.senders.len(), 1);
    assert_eq!(r.senders[0].sender, "smtptest@localhost");
    assert_eq!(r.senders[0].relay_denied, 1);
    assert_eq!(r.first_event.as_deref(), Some("2026-11-26T14:08:55+00:00"));

    let text = r.to_text();
    assert!(text.contains("relaying denied: 1"), "{text}");
    assert!(text.contains("client.example.test [127.0.0.2]"), "{text}");
    assert!(text.contains("has not turned on SMTP AUTH"), "{text}");
}

#[test]
fn embedded_copy_is_the_corpus_file() {
    // Only where the shared corpus exists (it is not part of the repository).
    let p = Path::new("/work/shared/corpus/logs/debian12-sendmail-auth-test.log");
    if let Ok(text) = fs::read_to_string(p) {
        assert_eq!(text, REAL_LOG);
    }
}

#[test]
fn hints_tell_the_kinds_of_client_apart() {
    let r = scan(&scenario_opts(), scenario().as_bytes());
    assert_eq!(r.relay_denied, 1 + 1 + 1 + 6 + 2 + 2 + 1);
    assert_eq!(r.relay_denied_without_auth, 1);
    assert_eq!(r.auth_failed, 5);
    assert_eq!(r.auth_ok, 1);
    assert_eq!(r.saslauthd_failed, 1, "the IMAP failure is not SMTP AUTH");

    let own = client(&r, "203.0.113.10");
    assert_eq!(own.verdict, Verdict::OwnUser);
    assert_eq!(own.logins_ok, 1);
    assert_eq!(own.senders, ["alice@example.com"]);

    let home = client(&r, "198.51.100.20");
    assert_eq!(home.verdict, Verdict::OwnUser);
    assert!(
        home.basis.contains("bob@example.com, one of your domains"),
        "{}",
        home.basis
    );

    let lan = client(&r, "192.168.1.5");
    assert_eq!(lan.verdict, Verdict::OwnUser);
    assert!(lan.basis.contains("private"), "{}", lan.basis);
    assert_eq!(lan.host, None);

    let spam = client(&r, "45.1.2.3");
    assert_eq!(spam.verdict, Verdict::Stranger);
    assert!(spam.hint.contains("open relay"));
    assert!(spam.may_be_forged);
    assert_eq!(
        (
            spam.relay_denied,
            spam.recipients,
            spam.recipient_domains,
            spam.sender_count
        ),
        (6, 6, 6, 6)
    );
    assert_eq!(spam.senders.len(), 5, "a few senders are kept");

    let pw = client(&r, "198.51.100.30");
    assert_eq!(pw.verdict, Verdict::WrongPassword);
    assert_eq!(pw.users_tried, ["carol"]);
    let guesser = client(&r, "45.9.9.9");
    assert_eq!(guesser.verdict, Verdict::Stranger);
    assert!(guesser.hint.contains("guessing passwords"));

    let steady = client(&r, "198.51.100.40");
    assert_eq!(steady.verdict, Verdict::OwnUser);
    assert_eq!(steady.days_seen, 2);
    assert!(steady.hint.starts_with("may be"));

    let prober = client(&r, "198.51.100.41");
    assert_eq!((prober.days_seen, prober.sender_count), (2, 2));
    assert_eq!(prober.verdict, Verdict::Unclear);

    let once = client(&r, "198.51.100.50");
    assert_eq!(once.verdict, Verdict::Unclear);

    assert!(r
        .clients
        .iter()
        .all(|c| c.ip.as_deref() != Some("198.51.100.60")));
    // Most denials first.
    assert_eq!(r.clients[0].ip.as_deref(), Some("45.1.2.3"));
    let carol = r.users.iter().find(|u| u.user == "carol").expect("carol");
    assert_eq!((carol.auth_failed, carol.saslauthd_failed), (2, 1));
    assert_eq!(r.auth_failure_reasons.len(), 1);
    assert_eq!(
        r.auth_failure_reasons[0].reason,
        "authentication failure (-13)"
    );
    assert_eq!(r.auth_failure_reasons[0].count, 5);
    assert!(r
        .senders
        .iter()
        .any(|s| s.sender == "bob@example.com" && s.own_domain));

    let text = r.to_text();
    for want in [
        "lack \"Proper authentication required.\"",
        "looks like a stranger probing for an open relay",
        "Users with failed logins:",
        "wrong user name or password",
    ] {
        assert!(text.contains(want), "{want:?} not in\n{text}");
    }
}

#[test]
fn any_chunking_gives_the_same_report() {
    let o = scenario_opts();
    let mut log = scenario().into_bytes();
    // Also: CRLF, and a last line without a newline.
    log.extend_from_slice(
        reject(
            "Nov 25 14:00:00",
            "6APB0000j0001",
            "[203.0.113.99]",
            "r@example.net",
        )
        .replace('\n', "\r\n")
        .as_bytes(),
    );
    log.extend_from_slice(
        reject(
            "Nov 25 14:00:02",
            "6APB0000k0001",
            "[203.0.113.98]",
            "s@example.net",
        )
        .trim_end()
        .as_bytes(),
    );
    let whole = json(&scan(&o, &log));
    assert_eq!(whole["relay_denied"], 1 + 1 + 1 + 6 + 2 + 2 + 1 + 2);

    let mut sc = Scanner::new(&o);
    for b in &log {
        sc.feed(std::slice::from_ref(b));
    }
    assert_eq!(json(&sc.finish()), whole, "byte by byte");

    for split in (0..log.len()).step_by(7) {
        let mut sc = Scanner::new(&o);
        sc.feed(&log[..split]);
        sc.feed(&log[split..]);
        assert_eq!(json(&sc.finish()), whole, "split at {split}");
    }
}

#[test]
fn overlong_lines_are_skipped_whole_in_any_chunking() {
    let o = opts();
    let long = format!(
        "Nov 25 14:00:01 mailsrv x: {} reject=550 Relaying denied\n",
        "y".repeat(70_000)
    );
    let log = [
        reject(
            "Nov 25 14:00:00",
            "6APB0000j0001",
            "[203.0.113.99]",
            "r@example.net",
        ),
        long.clone(),
        reject(
            "Nov 25 14:00:02",
            "6APB0000k0001",
            "[203.0.113.98]",
            "s@example.net",
        ),
    ]
    .concat()
    .into_bytes();
    let whole = json(&scan(&o, &log));
    assert_eq!(whole["relay_denied"], 2);
    assert_eq!(whole["lines_read"], 3);
    let first = log.len() - long.len() - 150;
    for split in [
        1,
        first,
        first + 200,
        log.len() / 2,
        log.len() - 160,
        log.len() - 1,
    ] {
        let mut sc = Scanner::new(&o);
        sc.feed(&log[..split]);
        sc.feed(&log[split..]);
        assert_eq!(json(&sc.finish()), whole, "split at {split}");
    }
    let mut sc = Scanner::new(&o);
    for c in log.chunks(1000) {
        sc.feed(c);
    }
    assert_eq!(json(&sc.finish()), whole, "chunks of 1000");
}

/// Many refusals pending their from= line at once: the scanner switches from searching each
/// queue id to visiting every from= line, which must not change anything.
#[test]
fn many_pending_senders_any_chunking() {
    let o = opts();
    let mut log = String::new();
    for i in 0..40 {
        log.push_str(&reject(
            "Nov 26 10:00:00",
            &format!("6AQA0000q{i:04}"),
            &format!("[45.0.0.{i}]"),
            "v@example.org",
        ));
        log.push_str(&noise("Nov 26 10:00:00", i));
    }
    for i in (0..40).rev() {
        log.push_str(&from(
            "Nov 26 10:00:05",
            &format!("6AQA0000q{i:04}"),
            &format!("s{i}@example.biz"),
            "x",
        ));
        // A from= line of a queue id that is not pending, and a longer id ending in the same.
        log.push_str(&from(
            "Nov 26 10:00:05",
            &format!("X6AQA0000q{i:04}"),
            "wrong@example.biz",
            "x",
        ));
    }
    let whole = scan(&o, log.as_bytes());
    assert_eq!(whole.senders.len(), 40);
    assert!(whole
        .senders
        .iter()
        .all(|s| s.sender != "wrong@example.biz"));
    for chunk in [1, 2, 3, 64, 1000] {
        let mut sc = Scanner::new(&o);
        for c in log.as_bytes().chunks(chunk) {
            sc.feed(c);
        }
        assert_eq!(json(&sc.finish()), json(&whole), "chunks of {chunk}");
    }
}

/// The prescan looks for a refused transaction's from= line a few KiB after the refusal; what
/// it finds must be what the ordered search finds (which is all there is when a chunk holds no
/// whole line: fed byte by byte). The cases around that window: the sender right after, further
/// than the window, behind lines that hold the id without being its from= line, on a line with
/// a needle, twice refused, the id used again, a `check_mail` refusal.
#[test]
fn the_sender_near_a_refusal_is_the_one_the_ordered_search_finds() {
    let o = opts();
    let t = "Nov 26 10:00:00";
    let mut log = String::new();
    let mut add = |s: String| log.push_str(&s);
    // 1: the from= line right after.
    add(reject(t, "6AQA0000a0001", "[45.0.1.1]", "v@example.org"));
    add(from(t, "6AQA0000a0001", "one@example.biz", "x"));
    // 2: the from= line 20 KiB on, past the window.
    add(reject(t, "6AQA0000a0002", "[45.0.1.2]", "v@example.org"));
    for i in 0..100 {
        add(noise(t, i));
    }
    add(from(t, "6AQA0000a0002", "two@example.biz", "x"));
    // 3: lines holding "QID: from=<" first: another transaction's from= line that quotes it, a
    // longer id ending in it, a line with "Relaying denied" but no reject= (not a from= line
    // to the classifier); then the real one.
    add(reject(t, "6AQA0000a0003", "[45.0.1.3]", "v@example.org"));
    add(format!("{t} mailsrv sm-mta[9]: 6AQA0000z9999: from=<a@b>, note 6AQA0000a0003: from=<wrong1@example.biz>\n"));
    add(from(t, "X6AQA0000a0003", "wrong2@example.biz", "x"));
    add(format!(
        "{t} mailsrv sm-mta[9]: 6AQA0000a0003: from=<wrong3@example.biz>, stat=Relaying denied\n"
    ));
    add(from(t, "6AQA0000a0003", "three@example.biz", "x"));
    // 4: the from= line holds a needle ("AUT"): the prescan classified it already.
    add(reject(t, "6AQA0000a0004", "[45.0.1.4]", "v@example.org"));
    add(from(t, "6AQA0000a0004", "AUTHOR@example.biz", "x"));
    // 5: two recipients refused, then the sender (counted for both).
    add(reject(t, "6AQA0000a0005", "[45.0.1.5]", "v@example.org"));
    add(reject(t, "6AQA0000a0005", "[45.0.1.5]", "w@example.org"));
    add(from(t, "6AQA0000a0005", "five@example.biz", "x"));
    // 6: the same id twice, each transaction with its own sender.
    add(reject(t, "6AQA0000a0006", "[45.0.1.6]", "v@example.org"));
    add(from(t, "6AQA0000a0006", "six-a@example.biz", "x"));
    add(reject(t, "6AQA0000a0006", "[45.0.1.6]", "v@example.org"));
    add(from(t, "6AQA0000a0006", "six-b@example.biz", "x"));
    // 7: a check_mail refusal waits for no from= line; the one after it is not its sender.
    add(format!("{t} mailsrv sm-mta[9]: 6AQA0000a0007: ruleset=check_mail, arg1=<seven@example.biz>, relay=[45.0.1.7], reject=550 5.7.1 <seven@example.biz>... Relaying denied\n"));
    add(from(t, "6AQA0000a0007", "not-seven@example.biz", "x"));
    // 8: refused twice, the first refusal's sender past the window (so it waits), the second's
    // right after it (so it travels with the refusal): both counted.
    add(reject(t, "6AQA0000a0008", "[45.0.1.8]", "v@example.org"));
    for i in 0..100 {
        add(noise(t, i));
    }
    add(reject(t, "6AQA0000a0008", "[45.0.1.8]", "w@example.org"));
    add(from(t, "6AQA0000a0008", "eight@example.biz", "x"));
    // 9: a from= line with "UT" but no "AUT" in it (where the search for AUT hits) and one
    // with "AUT" at its very start: neither is another kind of event.
    add(reject(t, "6AQA0000a0009", "[45.0.1.9]", "v@example.org"));
    add(from(t, "6AQA0000a0009", "UTOPIA@example.biz", "x"));
    add("AUTH=oddity 6AQA0000a0009: from=<not-nine@example.biz>\n".to_string());
    // 10: a line that starts with "UT" right after a refusal (a hit for AUT one byte earlier
    // would be the refusal's newline, and the refusal counted twice).
    add(reject(t, "6AQA0000a0010", "[45.0.1.10]", "v@example.org"));
    add("UTH=server, relay=[45.0.2.1], authid=nobody\n".to_string());
    add(from(t, "6AQA0000a0010", "ten@example.biz", "x"));
    for i in 0..20 {
        add(noise(t, i));
    }
    let bytes = log.as_bytes();

    let mut by_byte = Scanner::new(&o);
    for b in bytes {
        by_byte.feed(std::slice::from_ref(b));
    }
    let reference = json(&by_byte.finish());
    let whole = scan(&o, bytes);
    assert_eq!(json(&whole), reference, "whole against byte by byte");
    for chunk in [100, 333, 4096, 20_000] {
        let mut sc = Scanner::new(&o);
        for c in bytes.chunks(chunk) {
            sc.feed(c);
        }
        assert_eq!(json(&sc.finish()), reference, "chunks of {chunk}");
    }

    let senders: std::collections::BTreeMap<&str, u64> = whole
        .senders
        .iter()
        .map(|s| (s.sender.as_str(), s.relay_denied))
        .collect();
    let want: std::collections::BTreeMap<&str, u64> = [
        ("one@example.biz", 1),
        ("two@example.biz", 1),
        ("three@example.biz", 1),
        ("AUTHOR@example.biz", 1),
        ("five@example.biz", 2),
        ("six-a@example.biz", 1),
        ("six-b@example.biz", 1),
        ("seven@example.biz", 1),
        ("eight@example.biz", 2),
        ("UTOPIA@example.biz", 1),
        ("ten@example.biz", 1),
    ]
    .into_iter()
    .collect();
    assert_eq!(senders, want);
}

mod chunking {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        #[test]
        fn random_chunkings(cuts in prop::collection::vec(0usize..6000, 0..40)) {
            let o = scenario_opts();
            let log = scenario().into_bytes();
            let mut cuts: Vec<usize> = cuts.into_iter().map(|c| c % (log.len() + 1)).collect();
            cuts.sort_unstable();
            let mut sc = Scanner::new(&o);
            let mut at = 0;
            for c in cuts.into_iter().chain([log.len()]) {
                sc.feed(&log[at..c]);
                at = c;
            }
            prop_assert_eq!(json(&sc.finish()), json(&scan(&o, &log)));
        }
    }
}

/// Writes `n` bytes or more of noise with a refusal every 50 lines.
fn big_log(min_bytes: usize) -> String {
    let mut log = String::new();
    let mut i = 0;
    while log.len() < min_bytes {
        if i % 50 == 0 {
            let relay = format!("[45.{}.{}.1]", i % 7, i % 11);
            let qid = format!("6AQA{i:010}");
            log.push_str(&reject(
                "Nov 26 10:00:00",
                &qid,
                &relay,
                &format!("v{i}@example.org"),
            ));
            log.push_str(&from("Nov 26 10:00:01", &qid, "spam@example.biz", &relay));
        }
        log.push_str(&noise("Nov 26 10:00:00", i));
        if i % 13 == 0 {
            log.push_str(&auth_ok("Nov 26 10:00:00", "[203.0.113.5]", "alice"));
        }
        i += 1;
    }
    log
}

#[test]
fn report_files_reads_in_parallel_like_one_scanner() {
    let dir = tempfile::tempdir().unwrap();
    // Several 256 KiB chunks, and a file that ends exactly at a chunk boundary.
    let log = big_log(3 << 20);
    for len in [log.len(), 4 << 18, (4 << 18) + 1] {
        let text = &log.as_bytes()[..len];
        let p = dir.path().join(format!("mail-{len}.log"));
        fs::write(&p, text).unwrap();
        let o = ReportOptions {
            logs: vec![p],
            ..opts()
        };
        let r = report_files(&o).unwrap();
        assert_eq!(json(&r), json(&scan(&o, text)), "{len} bytes");
        assert!(r.relay_denied > 100);
    }
}

fn gzip(text: &[u8]) -> Vec<u8> {
    let mut e = GzEncoder::new(Vec::new(), Compression::fast());
    e.write_all(text).unwrap();
    e.finish().unwrap()
}

#[test]
fn rotated_and_gzipped_logs_oldest_first() {
    let root = tempfile::tempdir().unwrap();
    let logdir = root.path().join("var/log");
    fs::create_dir_all(&logdir).unwrap();
    let relay = "[45.1.1.1]";
    // Oldest in mail.log.3.gz (two gzip members, as `cat a.gz b.gz` makes), newest in mail.log.
    let mut oldest =
        gzip(reject("Nov 20 10:00:00", "6AKA0000a0001", relay, "a@example.org").as_bytes());
    oldest.extend(gzip(
        reject("Nov 20 10:00:01", "6AKA0000a0002", relay, "b@example.org").as_bytes(),
    ));
    fs::write(logdir.join("mail.log.3.gz"), oldest).unwrap();
    fs::write(
        logdir.join("mail.log.2.gz"),
        gzip(reject("Nov 21 10:00:00", "6ALA0000a0001", relay, "c@example.org").as_bytes()),
    )
    .unwrap();
    fs::write(
        logdir.join("mail.log.1"),
        reject("Nov 22 10:00:00", "6AMA0000a0001", relay, "d@example.org"),
    )
    .unwrap();
    fs::write(
        logdir.join("mail.log"),
        reject("Nov 23 10:00:00", "6ANA0000a0001", relay, "e@example.org"),
    )
    .unwrap();
    fs::write(logdir.join("mail.err"), "not a sibling\n").unwrap();

    let logs = default_logs(root.path(), &["/var/log/mail.log".to_string()]);
    let names: Vec<_> = logs
        .iter()
        .map(|p| p.file_name().unwrap().to_str().unwrap())
        .collect();
    assert_eq!(
        names,
        ["mail.log.3.gz", "mail.log.2.gz", "mail.log.1", "mail.log"]
    );

    let r = report_files(&ReportOptions { logs, ..opts() }).unwrap();
    assert_eq!(r.relay_denied, 5);
    let c = client(&r, "45.1.1.1");
    assert_eq!(c.first_seen.as_deref(), Some("2026-11-20T10:00:00+00:00"));
    assert_eq!(c.last_seen.as_deref(), Some("2026-11-23T10:00:00+00:00"));
    assert_eq!(c.days_seen, 4);
}

#[test]
fn red_hat_dated_rotation_and_missing_logs() {
    let root = tempfile::tempdir().unwrap();
    let logdir = root.path().join("var/log");
    fs::create_dir_all(&logdir).unwrap();
    for name in [
        "maillog-20261122.gz",
        "maillog-20261108",
        "maillog-20261115",
        "maillog",
    ] {
        fs::write(logdir.join(name), b"").unwrap();
    }
    let logs = default_logs(
        root.path(),
        &["/var/log/mail.log".into(), "/var/log/maillog".into()],
    );
    let names: Vec<_> = logs
        .iter()
        .map(|p| p.file_name().unwrap().to_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "maillog-20261108",
            "maillog-20261115",
            "maillog-20261122.gz",
            "maillog"
        ]
    );

    // Nothing there: the first profile log, so that the error names it.
    let empty = tempfile::tempdir().unwrap();
    let logs = default_logs(empty.path(), &["/var/log/mail.log".into()]);
    assert_eq!(logs, [empty.path().join("var/log/mail.log")]);
    let e = report_files(&ReportOptions { logs, ..opts() }).unwrap_err();
    assert!(matches!(e, ReportError::Missing(_)));
    let msg = e.to_string();
    assert!(
        msg.contains("var/log/mail.log") && msg.contains("no such file"),
        "{msg}"
    );
}

#[test]
fn errors_name_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nope.log");
    let good = dir.path().join("good.log");
    fs::write(&good, REAL_LOG).unwrap();
    // A missing file fails before anything is read.
    let e = report_files(&ReportOptions {
        logs: vec![good.clone(), missing.clone()],
        ..opts()
    })
    .unwrap_err();
    assert!(e.to_string().contains(missing.to_str().unwrap()), "{e}");

    let fake = dir.path().join("mail.log.2.gz");
    fs::write(&fake, "plain text, not gzip\n").unwrap();
    let e = report_files(&ReportOptions {
        logs: vec![fake.clone()],
        ..opts()
    })
    .unwrap_err();
    assert!(matches!(e, ReportError::NotGzip(_)), "{e:?}");
    assert!(
        e.to_string().contains("mail.log.2.gz") && e.to_string().contains("not gzip"),
        "{e}"
    );

    let cut = dir.path().join("mail.log.3.gz");
    let gz = gzip(big_log(100_000).as_bytes());
    fs::write(&cut, &gz[..gz.len() / 2]).unwrap();
    let e = report_files(&ReportOptions {
        logs: vec![cut.clone()],
        ..opts()
    })
    .unwrap_err();
    assert!(matches!(e, ReportError::BadGzip { .. }), "{e:?}");
    assert!(e.to_string().contains("mail.log.3.gz"), "{e}");

    let e = report_files(&ReportOptions {
        logs: vec![dir.path().to_path_buf()],
        ..opts()
    })
    .unwrap_err();
    assert!(e.to_string().contains("directory"), "{e}");

    assert!(matches!(report_files(&opts()), Err(ReportError::NoLogs)));
}

#[test]
fn since_skips_older_events() {
    let mut log = String::new();
    log.push_str(&reject(
        "Nov 20 10:00:00",
        "6AKA0000a0001",
        "[45.1.1.1]",
        "a@example.org",
    ));
    log.push_str(&auth_ok("Nov 24 10:00:00", "[203.0.113.5]", "alice"));
    log.push_str(&reject(
        "Nov 26 13:00:00",
        "6AQA0000a0001",
        "[45.2.2.2]",
        "b@example.org",
    ));
    // rsyslog's high-precision format, and journalctl -o short-iso's.
    log.push_str(&reject(
        "2026-11-26T14:30:00.123456+00:00",
        "6AQA0000a0002",
        "[45.3.3.3]",
        "c@example.org",
    ));
    log.push_str(&reject(
        "2026-11-26T15:30:00+0100",
        "6AQA0000a0003",
        "[45.4.4.4]",
        "d@example.org",
    ));
    let o = ReportOptions {
        since: Some(parse_duration("36h").unwrap()),
        ..opts()
    };
    let r = scan(&o, log.as_bytes());
    assert_eq!(r.since.as_deref(), Some("2026-11-25T03:00:00+00:00"));
    assert_eq!(r.relay_denied, 3);
    assert_eq!(r.auth_ok, 0);
    assert_eq!(r.skipped_before_since, 2);
    assert_eq!(r.lines_read, 5, "every line is read, whatever its date");
    assert_eq!(
        client(&r, "45.4.4.4").first_seen.as_deref(),
        Some("2026-11-26T14:30:00+00:00")
    );
    let r = scan(&opts(), log.as_bytes());
    assert_eq!(
        (r.relay_denied, r.auth_ok, r.skipped_before_since),
        (4, 1, 0)
    );
}

#[test]
fn december_lines_read_on_new_years_day() {
    let log = [
        reject(
            "Dec 30 23:00:00",
            "6BUN0000a0001",
            "[45.1.1.1]",
            "a@example.org",
        ),
        reject(
            "Dec 31 23:59:59",
            "6BVN0000a0001",
            "[45.1.1.1]",
            "b@example.org",
        ),
        reject(
            "Jan  1 00:10:00",
            "7A1A0000a0001",
            "[45.1.1.1]",
            "c@example.org",
        ),
    ]
    .concat();
    let o = ReportOptions {
        now: utc(2027, 1, 1, 0, 30, 0),
        since: Some(parse_duration("1h").unwrap()),
        ..opts()
    };
    let r = scan(&o, log.as_bytes());
    assert_eq!(r.relay_denied, 2);
    assert_eq!(r.skipped_before_since, 1);
    let c = client(&r, "45.1.1.1");
    assert_eq!(c.first_seen.as_deref(), Some("2026-12-31T23:59:59+00:00"));
    assert_eq!(c.last_seen.as_deref(), Some("2027-01-01T00:10:00+00:00"));
}

#[test]
fn journalctl_output_and_local_time() {
    // `journalctl -u sendmail` prints classic stamps (and a header line); with the machine's own
    // time zone (utc_offset: None) they still parse.
    let log = format!(
        "-- Journal begins at Mon 2026-11-23 08:00:01 UTC, ends at Thu 2026-11-26 14:10:00 UTC. --\n{}",
        reject("Nov 26 14:08:55", "6AQE8t9k011377", "client.example.test [127.0.0.2]", "someone@example.org")
    );
    let o = ReportOptions {
        utc_offset: None,
        now: SystemTime::now(),
        ..ReportOptions::default()
    };
    let r = scan(&o, log.as_bytes());
    assert_eq!((r.lines_read, r.relay_denied, r.undated), (2, 1, 0));
    assert!(r.first_event.is_some());
}

#[test]
fn memory_stays_bounded() {
    let o = opts();
    let mut sc = Scanner::new(&o);
    let mut buf = String::new();
    let n = 100_000;
    for i in 0..n {
        let relay = format!("[10.{}.{}.{}]", i >> 16, (i >> 8) & 255, i & 255);
        let qid = format!("6AQA{i:010}");
        buf.push_str(&reject(
            "Nov 26 10:00:00",
            &qid,
            &relay,
            &format!("v{i}@example.org"),
        ));
        buf.push_str(&from(
            "Nov 26 10:00:01",
            &qid,
            &format!("s{i}@example.biz"),
            &relay,
        ));
        buf.push_str(&auth_failed("Nov 26 10:00:02", &relay, &format!("user{i}")));
        if buf.len() > 256 * 1024 {
            sc.feed(buf.as_bytes());
            buf.clear();
        }
    }
    // Refusals whose from= line never comes: the map of pending queue ids stays capped too.
    for i in 0..30_000 {
        buf.push_str(&reject(
            "Nov 26 10:00:03",
            &format!("6AQB{i:010}"),
            "[10.0.0.1]",
            "v@example.org",
        ));
        if buf.len() > 256 * 1024 {
            sc.feed(buf.as_bytes());
            buf.clear();
        }
    }
    sc.feed(buf.as_bytes());
    let t = sc.tracked();
    assert_eq!(t.clients, MAX_TRACKED);
    assert!(t.pending_senders <= 10_000, "{t:?}");
    assert!(t.carry_bytes <= 64 * 1024, "{t:?}");
    let r = sc.finish();
    assert_eq!(r.relay_denied, n as u64 + 30_000);
    assert_eq!(r.clients.len(), MAX_TRACKED);
    assert_eq!(r.untracked.relay_denied, n as u64 - MAX_TRACKED as u64);
    assert_eq!(r.untracked.auth_failed, n as u64 - MAX_TRACKED as u64);
    assert_eq!(r.senders.len(), MAX_TRACKED);
    assert_eq!(r.users.len(), MAX_TRACKED);
    assert_eq!(r.auth_failed, n as u64);
}

#[test]
fn follow_sees_appends_rotation_and_truncation() {
    let dir = tempfile::tempdir().unwrap();
    let live: PathBuf = dir.path().join("mail.log");
    let line = |i: u32| {
        reject(
            "Nov 26 14:00:00",
            &format!("6AQE0000f{i:04}"),
            "[45.6.7.8]",
            &format!("r{i}@example.org"),
        )
    };
    fs::write(&live, line(1)).unwrap();
    let append = |p: &Path, text: &str| {
        let mut f = fs::OpenOptions::new()
            .append(true)
            .create(true)
            .open(p)
            .unwrap();
        f.write_all(text.as_bytes()).unwrap();
    };
    let o = ReportOptions {
        logs: vec![live.clone()],
        ..opts()
    };
    let writer = {
        let live = live.clone();
        std::thread::spawn(move || {
            let pause = || std::thread::sleep(Duration::from_millis(150));
            pause();
            append(&live, &line(2));
            pause();
            // logrotate: rename, the daemon still writes one line to the old file, then a new one.
            fs::rename(&live, live.with_extension("log.1")).unwrap();
            append(&live.with_extension("log.1"), &line(3));
            append(&live, &(line(4) + &noise("Nov 26 14:00:00", 0).repeat(20)));
            pause();
            // copytruncate: the same file, emptied and written again.
            let f = fs::OpenOptions::new().write(true).open(&live).unwrap();
            f.set_len(0).unwrap();
            drop(f);
            append(&live, &line(5));
            pause();
            // A line written in two pieces is counted once, when complete.
            let l6 = line(6);
            append(&live, &l6[..40]);
            pause();
            append(&live, &l6[40..]);
        })
    };
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut seen = Vec::new();
    let mut updates = 0;
    follow(
        &o,
        |r| {
            updates += 1;
            if seen.last() != Some(&r.relay_denied) {
                seen.push(r.relay_denied);
            }
            r.relay_denied < 6 && Instant::now() < deadline
        },
        Duration::from_millis(20),
    )
    .unwrap();
    writer.join().unwrap();
    assert_eq!(seen.last(), Some(&6), "counts seen: {seen:?}");
    assert_eq!(seen[0], 1, "the initial read reports first: {seen:?}");
    assert!(updates > seen.len(), "called at every poll");
}

#[test]
fn follow_stops_when_asked_and_reports_missing_logs() {
    let dir = tempfile::tempdir().unwrap();
    let live = dir.path().join("mail.log");
    fs::write(&live, REAL_LOG).unwrap();
    let mut calls = 0;
    follow(
        &ReportOptions {
            logs: vec![live],
            ..opts()
        },
        |r| {
            calls += 1;
            assert_eq!(r.relay_denied, 1);
            false
        },
        Duration::from_millis(10),
    )
    .unwrap();
    assert_eq!(calls, 1);
    let e = follow(
        &ReportOptions {
            logs: vec![dir.path().join("gone.log")],
            ..opts()
        },
        |_| true,
        Duration::from_millis(10),
    )
    .unwrap_err();
    assert!(e.to_string().contains("gone.log"), "{e}");
}

#[test]
fn pipes_and_gzip_without_the_name() {
    let dir = tempfile::tempdir().unwrap();
    // gzip is recognised by its bytes, not its name (`logrotate` with `compressext` unset, or a
    // copied file).
    let packed = dir.path().join("mail.log.old");
    fs::write(&packed, gzip(REAL_LOG.as_bytes())).unwrap();
    let r = report_files(&ReportOptions {
        logs: vec![packed],
        ..opts()
    })
    .unwrap();
    assert_eq!((r.lines_read, r.relay_denied), (35, 1));

    // A pipe (`--log <(journalctl -u sendmail)`): read front to back, plain and gzipped.
    for data in [REAL_LOG.as_bytes().to_vec(), gzip(REAL_LOG.as_bytes())] {
        let fifo = dir.path().join("pipe");
        let _ = fs::remove_file(&fifo);
        nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::S_IRWXU).unwrap();
        let writer = {
            let fifo = fifo.clone();
            std::thread::spawn(move || fs::write(fifo, data).unwrap())
        };
        let r = report_files(&ReportOptions {
            logs: vec![fifo],
            ..opts()
        })
        .unwrap();
        writer.join().unwrap();
        assert_eq!((r.lines_read, r.relay_denied, r.auth_ok), (35, 1, 2));
    }
}

#[test]
fn follow_keeps_two_logs_lines_apart() {
    // Two live logs (a profile may name mail.log and maillog), one caught mid-line.
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("mail.log"), dir.path().join("maillog"));
    let la = reject(
        "Nov 26 14:00:00",
        "6AQE0000a0001",
        "[45.6.7.1]",
        "a@example.org",
    );
    let lb = reject(
        "Nov 26 14:00:01",
        "6AQE0000b0001",
        "[45.6.7.2]",
        "b@example.org",
    );
    fs::write(&a, &la[..50]).unwrap();
    fs::write(&b, "").unwrap();
    let o = ReportOptions {
        logs: vec![a.clone(), b.clone()],
        ..opts()
    };
    let writer = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(150));
        fs::OpenOptions::new()
            .append(true)
            .open(&b)
            .unwrap()
            .write_all(lb.as_bytes())
            .unwrap();
        std::thread::sleep(Duration::from_millis(150));
        fs::OpenOptions::new()
            .append(true)
            .open(&a)
            .unwrap()
            .write_all(&la.as_bytes()[50..])
            .unwrap();
    });
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut last = None;
    follow(
        &o,
        |r| {
            last = Some(r.clone());
            r.relay_denied < 2 && Instant::now() < deadline
        },
        Duration::from_millis(20),
    )
    .unwrap();
    writer.join().unwrap();
    let r = last.unwrap();
    assert_eq!((r.relay_denied, r.lines_read, r.undated), (2, 2, 0));
    // Joined, the first half of a's line would lend its stamp to b's, and a's second half
    // would have none.
    let stamp = |ip| client(&r, ip).first_seen.clone();
    assert_eq!(
        stamp("45.6.7.1").as_deref(),
        Some("2026-11-26T14:00:00+00:00")
    );
    assert_eq!(
        stamp("45.6.7.2").as_deref(),
        Some("2026-11-26T14:00:01+00:00")
    );
}

#[test]
fn a_failed_login_then_many_recipients_is_a_stranger() {
    let relay = "[45.7.7.7]";
    let mut log = auth_failed("Nov 26 10:00:00", relay, "admin");
    for i in 0..5 {
        log.push_str(&reject(
            "Nov 26 10:00:01",
            &format!("6AQA0000z{i:04}"),
            relay,
            &format!("v{i}@example{i}.test"),
        ));
    }
    let r = scan(&opts(), log.as_bytes());
    let c = client(&r, "45.7.7.7");
    assert_eq!(c.verdict, Verdict::Stranger);
    assert!(c.basis.contains("5 recipients in 5 domains"), "{}", c.basis);
}

/// Two user names tried, never a login, and relaying refused for a sender that is not ours:
/// a prober, not a user with a wrong password (who keeps one user name). One user name with
/// the same refusals stays "wrong password".
#[test]
fn several_user_names_and_a_refused_relay_is_a_stranger() {
    let relay = "[203.0.113.77]";
    let mut log = reject(
        "Nov 26 10:00:00",
        "6AQA0000a0001",
        relay,
        "winner@lottery.example",
    );
    log.push_str(&from(
        "Nov 26 10:00:00",
        "6AQA0000a0001",
        "promo@offers.example",
        relay,
    ));
    let mut two = log.clone();
    two.push_str(&auth_failed("Nov 26 10:00:05", relay, "admin"));
    two.push_str(&auth_failed("Nov 26 10:00:06", relay, "test"));
    let c = client(&scan(&opts(), two.as_bytes()), "203.0.113.77").clone();
    assert_eq!(c.verdict, Verdict::Stranger, "{}", c.basis);
    assert!(c.basis.contains("2 different user names"), "{}", c.basis);
    let mut one = log;
    one.push_str(&auth_failed("Nov 26 10:00:05", relay, "alice"));
    one.push_str(&auth_failed("Nov 26 10:00:06", relay, "alice"));
    let c = client(&scan(&opts(), one.as_bytes()), "203.0.113.77").clone();
    assert_eq!(c.verdict, Verdict::WrongPassword, "{}", c.basis);
}

// ---- issue 12: time zones, --follow across rotation, the journal as a source ----

/// A `--root` tree whose etc/localtime is `zone`'s TZif file: copied, or (with `link`) an
/// absolute symlink into the tree's own zoneinfo, as on a real system.
fn tree_with_zone(zone: &str, link: bool) -> tempfile::TempDir {
    let root = tempfile::tempdir().unwrap();
    let tzif = fs::read(Path::new("/usr/share/zoneinfo").join(zone)).unwrap();
    fs::create_dir_all(root.path().join("etc")).unwrap();
    if link {
        let inside = root.path().join("usr/share/zoneinfo").join(zone);
        fs::create_dir_all(inside.parent().unwrap()).unwrap();
        fs::write(&inside, tzif).unwrap();
        std::os::unix::fs::symlink(
            Path::new("/usr/share/zoneinfo").join(zone),
            root.path().join("etc/localtime"),
        )
        .unwrap();
    } else {
        fs::write(root.path().join("etc/localtime"), tzif).unwrap();
    }
    root
}

#[test]
fn classic_stamps_are_in_the_root_trees_zone() {
    // The tree's syslog wrote its stamps in the tree's zone, whatever this machine's is (TZ
    // unset: with TZ set, TZ wins, as the admin said so).
    if std::env::var_os("TZ").is_some() {
        panic!("run this test without TZ in the environment");
    }
    let line = reject(
        "Nov 26 14:08:55",
        "6AQE8t9k011377",
        "[45.6.7.8]",
        "x@example.org",
    );
    for (zone, link, want) in [
        ("America/New_York", false, "2026-11-26T14:08:55-05:00"),
        ("Europe/Berlin", true, "2026-11-26T14:08:55+01:00"),
        ("Asia/Kolkata", false, "2026-11-26T14:08:55+05:30"),
        ("Australia/Lord_Howe", true, "2026-11-26T14:08:55+11:00"),
    ] {
        let root = tree_with_zone(zone, link);
        let o = ReportOptions {
            utc_offset: None,
            root: root.path().into(),
            now: utc(2026, 11, 27, 12, 0, 0),
            ..ReportOptions::default()
        };
        let r = scan(&o, line.as_bytes());
        assert_eq!(
            r.first_event.as_deref(),
            Some(want),
            "{zone} (link: {link})"
        );
    }
    // No etc/localtime in the tree, or not a TZif file: this machine's zone (TZ unset:
    // /etc/localtime), the same as for `/`.
    let bare = tempfile::tempdir().unwrap();
    let junk = tempfile::tempdir().unwrap();
    fs::create_dir_all(junk.path().join("etc")).unwrap();
    fs::write(junk.path().join("etc/localtime"), "Europe/Berlin\n").unwrap();
    let on_slash = scan(
        &ReportOptions {
            utc_offset: None,
            now: utc(2026, 11, 27, 12, 0, 0),
            ..ReportOptions::default()
        },
        line.as_bytes(),
    );
    for root in [bare.path(), junk.path()] {
        let o = ReportOptions {
            utc_offset: None,
            root: root.into(),
            now: utc(2026, 11, 27, 12, 0, 0),
            ..ReportOptions::default()
        };
        assert_eq!(scan(&o, line.as_bytes()).first_event, on_slash.first_event);
    }
}

#[test]
fn the_repeated_hour_takes_the_first_offset_and_the_year_still_rolls_over() {
    // Europe/Berlin: DST ends 2026-10-25 at 03:00 CEST, back to 02:00 CET; 02:30 happens twice
    // and is taken as the first (CEST, +02:00). The skipped hour (2026-03-29 02:30) moves
    // forward to 03:30 CEST. A December stamp read on New Year's Day is last year's.
    let root = tree_with_zone("Europe/Berlin", false);
    let o = |now| ReportOptions {
        utc_offset: None,
        root: root.path().into(),
        now,
        ..ReportOptions::default()
    };
    let at = |o: &ReportOptions, ts: &str| {
        let r = scan(
            o,
            reject(ts, "6AQE8t9k011377", "[45.6.7.8]", "x@example.org").as_bytes(),
        );
        r.first_event.unwrap()
    };
    let autumn = o(utc(2026, 11, 1, 0, 0, 0));
    assert_eq!(at(&autumn, "Oct 25 02:30:00"), "2026-10-25T02:30:00+02:00");
    assert_eq!(at(&autumn, "Oct 25 01:59:59"), "2026-10-25T01:59:59+02:00");
    assert_eq!(at(&autumn, "Oct 25 03:00:00"), "2026-10-25T03:00:00+01:00");
    assert_eq!(at(&autumn, "Mar 29 02:30:00"), "2026-03-29T03:30:00+02:00");
    let new_year = o(utc(2026, 12, 31, 23, 30, 0)); // 00:30 on Jan 1 in Berlin
    assert_eq!(
        at(&new_year, "Dec 31 23:59:59"),
        "2026-12-31T23:59:59+01:00"
    );
    let r = scan(
        &o(utc(2027, 1, 1, 0, 30, 0)),
        (reject(
            "Dec 31 23:59:59",
            "6AQE8t9k011377",
            "[45.6.7.8]",
            "x@example.org",
        ) + &reject(
            "Jan  1 01:10:00",
            "6AQE8t9k011378",
            "[45.6.7.8]",
            "y@example.org",
        ))
            .as_bytes(),
    );
    assert_eq!(r.first_event.as_deref(), Some("2026-12-31T23:59:59+01:00"));
    assert_eq!(r.last_event.as_deref(), Some("2027-01-01T01:10:00+01:00"));
}

/// Drives `follow` step by step: `steps[i]` changes the files after update `i` (the callback
/// runs between two polls, so no timing is involved), then a few more polls with nothing new.
/// Returns the last report.
fn follow_steps(logs: Vec<PathBuf>, steps: Vec<Box<dyn FnMut()>>) -> Report {
    let mut steps = steps.into_iter();
    let mut quiet = 0;
    let mut last = None;
    follow(
        &ReportOptions { logs, ..opts() },
        |r| {
            last = Some(r.clone());
            match steps.next() {
                Some(mut step) => {
                    step();
                    true
                }
                None => {
                    quiet += 1;
                    quiet < 4
                }
            }
        },
        Duration::from_millis(1),
    )
    .unwrap();
    last.unwrap()
}

fn append(p: &Path, text: &str) {
    let mut f = fs::OpenOptions::new()
        .append(true)
        .create(true)
        .open(p)
        .unwrap();
    f.write_all(text.as_bytes()).unwrap();
}

fn refusal(i: u32) -> String {
    reject(
        "Nov 26 14:00:00",
        &format!("6AQE0000f{i:04}"),
        "[45.6.7.8]",
        &format!("r{i}@example.org"),
    )
}

#[test]
fn follow_rename_and_create_loses_and_repeats_nothing() {
    // logrotate's default: mail.log renamed to mail.log.1 and a new mail.log created; the
    // daemon writes to the old file until it reopens (rsyslog after the HUP), also after the
    // follower has moved on to the new one.
    for late_lines in [0u32, 1, 3] {
        let dir = tempfile::tempdir().unwrap();
        let live = dir.path().join("mail.log");
        let old = dir.path().join("mail.log.1");
        fs::write(&live, refusal(1) + &noise("Nov 26 14:00:00", 0)).unwrap();
        let (l, o) = (live.clone(), old.clone());
        let (l2, o2) = (live.clone(), old.clone());
        let (l3, o3) = (live.clone(), old.clone());
        let steps: Vec<Box<dyn FnMut()>> = vec![
            Box::new({
                let l = l.clone();
                move || append(&l, &refusal(2))
            }),
            Box::new(move || {
                fs::rename(&l, &o).unwrap();
                append(&o, &refusal(3));
                append(&l, &refusal(4));
            }),
            Box::new(move || {
                // The follower reads mail.log now; the daemon has not reopened yet.
                for i in 0..late_lines {
                    append(&o2, &refusal(10 + i));
                }
                append(&l2, &refusal(5));
            }),
            Box::new(move || {
                // A second rotation: mail.log.1 -> .2, mail.log -> .1, a new mail.log.
                fs::rename(&o3, o3.with_extension("2")).unwrap();
                fs::rename(&l3, &o3).unwrap();
                append(&o3, &refusal(6));
                append(&l3, &refusal(7));
            }),
        ];
        let r = follow_steps(vec![live.clone()], steps);
        assert_eq!(
            r.relay_denied,
            7 + u64::from(late_lines),
            "late lines: {late_lines}"
        );
        assert_eq!(
            r.lines_read,
            8 + u64::from(late_lines),
            "late lines: {late_lines}"
        );
    }
}

#[test]
fn follow_copytruncate_loses_and_repeats_nothing() {
    // logrotate's copytruncate: mail.log copied to mail.log.1 (not read again: it was read
    // as mail.log) and emptied in place; the daemon goes on writing to the same file. On a
    // busy server the emptied file can be longer again than what was read before the next
    // poll: it is still noticed (the bytes last read are no longer there).
    for refill in [1usize, 40, 400] {
        let dir = tempfile::tempdir().unwrap();
        let live = dir.path().join("mail.log");
        fs::write(&live, refusal(1) + &refusal(2)).unwrap();
        let l = live.clone();
        let l2 = live.clone();
        let steps: Vec<Box<dyn FnMut()>> = vec![
            Box::new(move || {
                fs::copy(&l, l.with_extension("log.1")).unwrap();
                fs::OpenOptions::new()
                    .write(true)
                    .open(&l)
                    .unwrap()
                    .set_len(0)
                    .unwrap();
                append(&l, &refusal(3));
                for i in 0..refill {
                    append(&l, &noise("Nov 26 14:00:01", i));
                }
            }),
            Box::new(move || {
                // Truncated again, refilled with exactly as many bytes as were there.
                let len = fs::metadata(&l2).unwrap().len() as usize;
                fs::OpenOptions::new()
                    .write(true)
                    .open(&l2)
                    .unwrap()
                    .set_len(0)
                    .unwrap();
                let mut text = refusal(4);
                let pad = len.saturating_sub(text.len() + 1).max(1);
                text.push_str(&"x".repeat(pad - 1));
                text.push('\n');
                append(&l2, &text);
            }),
        ];
        let r = follow_steps(vec![live.clone()], steps);
        assert_eq!(r.relay_denied, 4, "refill {refill}");
        assert_eq!(r.lines_read, 4 + refill as u64 + 1, "refill {refill}");
    }
}

/// Whether systemd-journal-remote and journalctl are here to make and read a real journal.
/// Under CI (SMTPAUTH_WIZARD_REQUIRE_TOOLS) a missing one fails the test (common::skip).
fn journal_tools() -> Option<PathBuf> {
    common::journal::remote().map_err(common::skip).ok()
}

use common::journal::{entry, write_journal};

/// The message part of a syslog line made by the helpers above.
fn msg(line: &str) -> String {
    line.split_once("]: ").unwrap().1.trim_end().to_string()
}

fn secs(t: SystemTime) -> i64 {
    t.duration_since(UNIX_EPOCH).unwrap().as_secs() as i64
}

/// sendmail's and saslauthd's entries, and others that must not be read (another program
/// quoting a refusal).
fn mail_entries(t0: i64) -> String {
    let ts = "Nov 26 14:00:00";
    let relay = "client.example.test [127.0.0.2]";
    [
        entry(t0, "sm-mta", 2001, &msg(&reject(ts, "6AQE8t9k011377", relay, "someone@example.org"))),
        entry(t0 + 1, "sm-mta", 2001, &msg(&from(ts, "6AQE8t9k011377", "joe@example.com", relay))),
        entry(t0 + 2, "sendmail", 2002, &msg(&auth_ok(ts, relay, "joe"))),
        entry(t0 + 3, "sm-mta", 2003, &msg(&auth_failed(ts, "[45.6.7.8]", "admin"))),
        entry(t0 + 4, "saslauthd", 77, "do_auth         : auth failure: [user=admin] [service=smtp] [realm=] [mech=pam] [reason=PAM auth error]"),
        entry(t0 + 5, "logcheck", 9, &msg(&reject(ts, "6AQE8t9k011399", relay, "quoted@example.org"))),
        entry(t0 + 6, "cron", 10, "(root) CMD (run-parts /etc/cron.hourly)"),
    ]
    .concat()
}

#[test]
fn the_journal_is_read_with_journalctl() {
    let Some(remote) = journal_tools() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let t0 = secs(utc(2026, 11, 26, 14, 0, 0));
    write_journal(&remote, dir.path(), "system.journal", &mail_entries(t0));
    let o = ReportOptions {
        journal: Some(Journal {
            directory: Some(dir.path().into()),
            why: None,
        }),
        ..opts()
    };
    let r = report_files(&o).unwrap();
    // The five entries of sm-mta, sendmail and saslauthd; not logcheck's nor cron's.
    assert_eq!(r.lines_read, 5);
    assert_eq!(
        (r.relay_denied, r.auth_ok, r.auth_failed, r.saslauthd_failed),
        (1, 1, 1, 1)
    );
    // short-iso stamps carry their offset: the journal's own time, whatever the zone.
    assert_eq!(r.first_event.as_deref(), Some("2026-11-26T14:00:00+00:00"));
    assert_eq!(client(&r, "127.0.0.2").relay_denied, 1);
    assert_eq!(r.senders[0].sender, "joe@example.com");
    let source = r.source.clone().unwrap();
    assert!(
        source.contains("systemd journal") && source.contains(&dir.path().display().to_string()),
        "{source}"
    );
    assert!(r.to_text().contains(&format!("read from {source}")));
    assert_eq!(json(&r)["source"], source.as_str());

    // --since is passed on to journalctl and applied here too.
    let r = report_files(&ReportOptions {
        since: Some(Duration::from_secs(3600 - 3)),
        ..o.clone()
    })
    .unwrap();
    assert_eq!(
        (r.relay_denied, r.auth_failed, r.saslauthd_failed),
        (0, 1, 1)
    );

    // Log files alone: no source in the report, as before.
    let f = dir.path().join("mail.log");
    fs::write(&f, REAL_LOG).unwrap();
    let r = report_files(&ReportOptions {
        logs: vec![f],
        ..opts()
    })
    .unwrap();
    assert!(r.source.is_none() && json(&r).get("source").is_none());
    assert!(!r.to_text().contains("read from"));
}

#[test]
fn a_journal_that_cannot_be_read_is_named() {
    let Some(_) = journal_tools() else { return };
    let dir = tempfile::tempdir().unwrap();
    let gone = dir.path().join("no-such-journal");
    let e = report_files(&ReportOptions {
        journal: Some(Journal {
            directory: Some(gone.clone()),
            why: None,
        }),
        ..opts()
    })
    .unwrap_err();
    let text = e.to_string();
    assert!(matches!(e, ReportError::Journal(_)), "{e:?}");
    assert!(
        text.contains("journalctl failed") && text.contains(&gone.display().to_string()),
        "{text}"
    );
}

#[test]
fn follow_reads_the_journal_as_it_grows() {
    let Some(remote) = journal_tools() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let t0 = secs(utc(2026, 11, 26, 14, 0, 0));
    write_journal(&remote, dir.path(), "system.journal", &mail_entries(t0));
    let o = ReportOptions {
        journal: Some(Journal {
            directory: Some(dir.path().into()),
            why: Some("chosen because /var/log/mail.log is absent".into()),
        }),
        ..opts()
    };
    // A bound, not an assertion on time: journalctl --follow notices a new journal file
    // within its own poll.
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut seen = Vec::new();
    let mut wrote = false;
    follow(
        &o,
        |r| {
            if seen.last() != Some(&r.relay_denied) {
                seen.push(r.relay_denied);
            }
            assert!(r
                .to_text()
                .contains("chosen because /var/log/mail.log is absent"));
            if r.relay_denied >= 1 && !wrote {
                wrote = true;
                let more = entry(
                    t0 + 60,
                    "sm-mta",
                    2009,
                    &msg(&reject(
                        "Nov 26 14:01:00",
                        "6AQE8t9k011388",
                        "[45.6.7.9]",
                        "b@example.org",
                    )),
                );
                write_journal(&remote, dir.path(), "more.journal", &more);
            }
            r.relay_denied < 2 && Instant::now() < deadline
        },
        Duration::from_millis(20),
    )
    .unwrap();
    assert_eq!(seen.last(), Some(&2), "counts seen: {seen:?}");
}

#[test]
fn cli_reads_the_journal_when_the_profile_log_is_absent() {
    let Some(remote) = journal_tools() else {
        return;
    };
    // A Debian 12 tree without rsyslog: no /var/log/mail.log, sendmail's lines in the
    // journal under var/log/journal/MACHINE-ID/.
    let root = tempfile::tempdir().unwrap();
    common::copy_tree(&common::fixture_dir("debian12"), root.path());
    for f in ["var/log/mail.log", "var/log/mail.log.1", "var/log/maillog"] {
        let _ = fs::remove_file(root.path().join(f));
    }
    let journal = root
        .path()
        .join("var/log/journal/0123456789abcdef0123456789abcdef");
    let t0 = secs(SystemTime::now()) - 3600;
    write_journal(&remote, &journal, "system.journal", &mail_entries(t0));
    let run = |args: &[&str]| {
        let out = std::process::Command::new(common::bin())
            .arg("--root")
            .arg(root.path())
            .args(args)
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (code, text, err) = run(&["relay-report"]);
    assert_eq!(code, Some(0), "{err}");
    assert!(text.contains("read from the systemd journal"), "{text}");
    assert!(
        text.contains("chosen because") && text.contains("mail.log is absent"),
        "{text}"
    );
    assert!(text.contains("relaying denied: 1"), "{text}");
    let (code, out, err) = run(&["--format", "json", "relay-report"]);
    assert_eq!(code, Some(0), "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["relay_denied"], 1);
    assert!(
        v["source"].as_str().unwrap().contains("var/log/journal"),
        "{v}"
    );
    // Asked for explicitly, with a directory.
    let (code, out, err) = run(&["relay-report", "--journal-dir", journal.to_str().unwrap()]);
    assert_eq!(code, Some(0), "{err}");
    assert!(
        out.contains("relaying denied: 1") && !out.contains("chosen because"),
        "{out}"
    );
    // Neither a log nor a journal: one message naming both, nothing else.
    fs::remove_dir_all(root.path().join("var/log/journal")).unwrap();
    let (code, out, err) = run(&["relay-report"]);
    assert_ne!(code, Some(0));
    assert!(out.is_empty());
    assert!(
        err.contains("no mail log found") && err.contains("var/log/journal"),
        "{err}"
    );
}

#[test]
fn the_watch_screen_follows_the_journal_when_the_log_is_absent() {
    use smtpauth_wizard::tui::model::{Cmd, Msg};
    use smtpauth_wizard::tui::side::Side;
    let Some(remote) = journal_tools() else {
        return;
    };
    // A --root tree without rsyslog: the profile's maillog is absent, the journal is there.
    let root = tempfile::tempdir().unwrap();
    let t0 = secs(SystemTime::now()) - 600;
    write_journal(
        &remote,
        &root
            .path()
            .join("var/log/journal/0123456789abcdef0123456789abcdef"),
        "system.journal",
        &mail_entries(t0),
    );
    let log = root.path().join("var/log/maillog");
    let (tx, rx) = std::sync::mpsc::channel();
    let mut side = Side::new(tx);
    let cmd = Cmd::Watch {
        id: 7,
        logs: vec![log.clone()],
        local_domains: vec![],
        journal: Journal::for_root(root.path()),
    };
    assert!(side.run(cmd).is_none());
    // A bound, not a timing assertion: the first snapshot comes after journalctl's first read.
    let deadline = Instant::now() + Duration::from_secs(60);
    let report = loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left).expect("a report from the watch") {
            Msg::Watched { id: 7, report } if report.relay_denied == 1 => break report,
            Msg::Watched { .. } => continue,
            Msg::WatchEnded { error, .. } => panic!("the watch ended: {error:?}"),
            other => panic!("{other:?}"),
        }
    };
    let source = report.source.clone().unwrap();
    assert!(source.contains("systemd journal"), "{source}");
    assert!(
        source.contains(&format!("chosen because {} is absent", log.display())),
        "{source}"
    );
    assert_eq!((report.auth_ok, report.saslauthd_failed), (1, 1));
    assert!(side.run(Cmd::StopWatch { id: 7 }).is_none());
    let ended = loop {
        match rx
            .recv_timeout(Duration::from_secs(30))
            .expect("the watch ends")
        {
            Msg::WatchEnded { id: 7, error } => break error,
            _ => continue,
        }
    };
    assert_eq!(ended, None);
}
