//! relay-report at high refusal densities (issue 12 item 2): the ordered part got cheaper (the
//! worker threads search the `from=` lines of chunks with a refusal, recipients are hashed in
//! lower case without a copy, pending queue ids sit in a seeded-Fx map), and the report must be
//! the same whatever the threads and the chunking: one thread (`taskset -c 0`) against all
//! cores, and in-process feeds cut anywhere, on generated logs whose lines straddle the 256 KiB
//! chunk boundaries of the file reader.
mod common;

use nix::sys::resource::{getrusage, UsageWho};
use smtpauth_wizard::relay_report::{report_files, Report, ReportOptions, Scanner};
use std::fs;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, UNIX_EPOCH};

/// "Now" 2026-11-26 15:00 UTC, classic stamps in UTC, example.com is ours.
fn opts() -> ReportOptions {
    ReportOptions {
        now: UNIX_EPOCH + Duration::from_secs(1_795_705_200),
        utc_offset: Some(0),
        local_domains: vec!["example.com".into()],
        ..ReportOptions::default()
    }
}

fn json(r: &Report) -> serde_json::Value {
    serde_json::to_value(r).expect("a report serialises")
}

struct Rng(u64);
impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

/// A log of at least `min_bytes` in which about `percent` % of the lines are refusals. The
/// `from=` line of a refused transaction comes 0 to 40 lines later (often in the next chunk),
/// sometimes never; recipients and senders vary in case (`V3@Example.ORG`, `Bob@EXAMPLE.COM`);
/// ordinary `from=` lines of other transactions, AUTH lines and noise with `from=<` in the
/// middle of a line are mixed in; a few lines are long.
fn dense_log(min_bytes: usize, percent: u64, seed: u64) -> String {
    let mut rng = Rng(seed);
    let mut log = String::new();
    let mut later: Vec<(usize, String)> = Vec::new();
    let mut i = 0usize;
    while log.len() < min_bytes {
        let ts = format!(
            "Nov 26 {:02}:{:02}:{:02}",
            10 + i / 3600 % 4,
            i / 60 % 60,
            i % 60
        );
        let client = rng.below(90);
        let relay = if client.is_multiple_of(3) {
            format!("h{client}.example.net [45.0.{client}.1]")
        } else {
            format!("[45.0.{client}.1]")
        };
        if rng.below(100) < percent {
            let qid = format!("6AQA{i:010}");
            let rcpt = match rng.below(4) {
                0 => format!("V{}@Example.ORG", rng.below(9)),
                1 => format!("v{}@example.org", rng.below(9)),
                2 => format!("u{}@D{}.example", rng.below(50), rng.below(6)),
                _ => format!("x{i}@other.example"),
            };
            log.push_str(&format!("{ts} mailsrv sm-mta[2001]: {qid}: ruleset=check_rcpt, arg1=<{rcpt}>, relay={relay}, reject=550 5.7.1 <{rcpt}>... Relaying denied. Proper authentication required.\n"));
            if rng.below(10) > 0 {
                let sender = match rng.below(5) {
                    0 => "Bob@EXAMPLE.COM".to_string(),
                    1 => "bob@example.com".to_string(),
                    _ => format!("s{}@spam{}.example", rng.below(20), rng.below(3)),
                };
                let line = format!("{ts} mailsrv sm-mta[2001]: {qid}: from=<{sender}>, size=0, class=0, nrcpts=0, proto=ESMTP, daemon=MTA-v4, relay={relay}\n");
                later.push((i + rng.below(40) as usize, line));
            }
        } else {
            log.push_str(&match rng.below(9) {
                0 => format!("{ts} mailsrv sm-mta[2002]: AUTH=server, relay={relay}, authid=user{client}, mech=PLAIN, bits=0\n"),
                1 => format!("{ts} mailsrv sm-mta[2003]: AUTH failure (PLAIN): authentication failure (-13) SASL(-13): authentication failure: Password verification failed, user=u{}, relay={relay}\n", rng.below(4)),
                2 => format!("{ts} mailsrv sm-mta[3000]: 6AQE8t{i:08}: to=<a@example.com>, ctladdr=<x: from=<y@z>, stat=Sent\n"),
                3 => format!("{ts} mailsrv sm-mta[3000]: 6AQE8t{i:08}: from=<news{i}@example.org>, size={}, class=0, nrcpts=1, msgid=<{i}@x>{}, relay=mx.example.org [198.51.100.99]\n", rng.below(9999), "y".repeat(rng.below(3) as usize * 700)),
                _ => format!("{ts} mailsrv sm-mta[3000]: 6AQE8t{i:08}: to=<alice@example.com>, delay=00:00:01, mailer=local, pri=31234, dsn=2.0.0, stat=Sent\n"),
            });
        }
        let (due, keep): (Vec<_>, Vec<_>) = later.into_iter().partition(|(at, _)| *at <= i);
        later = keep;
        for (_, line) in due {
            log.push_str(&line);
        }
        i += 1;
    }
    log
}

fn feed_in(o: &ReportOptions, log: &[u8], chunk: usize) -> Report {
    let mut sc = Scanner::new(o);
    for c in log.chunks(chunk) {
        sc.feed(c);
    }
    sc.finish()
}

/// The report from `relay-report --log P --format json`, run under `taskset -c 0` (one core:
/// no worker threads) or not (one worker per core).
fn cli_report(log: &Path, one_core: bool) -> serde_json::Value {
    let bin = env!("CARGO_BIN_EXE_smtpauth-wizard");
    let mut cmd = if one_core {
        let mut c = Command::new("taskset");
        c.args(["-c", "0", bin]);
        c
    } else {
        Command::new(bin)
    };
    let out = cmd
        .args(["relay-report", "--format", "json", "--log"])
        .arg(log)
        .env("TZ", "UTC")
        .output()
        .expect("relay-report runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("JSON")
}

#[test]
fn dense_logs_give_the_same_report_in_any_chunking_and_on_any_thread() {
    let dir = tempfile::tempdir().unwrap();
    for (percent, seed) in [(10, 1), (2, 2), (30, 3), (60, 4)] {
        // A few 256 KiB chunks (the file reader's), ending off a chunk boundary.
        let log = dense_log(1100 << 10, percent, seed);
        let o = opts();
        let whole = json(&feed_in(&o, log.as_bytes(), log.len()));
        assert!(whole["relay_denied"].as_u64().unwrap() > 40, "{percent}%");
        for chunk in [7, 4096, 65_536, 200_000, 262_143, 262_144, 262_145] {
            assert_eq!(
                json(&feed_in(&o, log.as_bytes(), chunk)),
                whole,
                "{percent}%, chunks of {chunk}"
            );
        }
        let p = dir.path().join(format!("mail-{percent}.log"));
        fs::write(&p, &log).unwrap();
        let parallel = report_files(&ReportOptions {
            logs: vec![p.clone()],
            ..opts()
        })
        .unwrap();
        assert_eq!(json(&parallel), whole, "{percent}%: report_files");
        // The binary with one thread and with one per core.
        let one = cli_report(&p, true);
        let all = cli_report(&p, false);
        assert_eq!(one, all, "{percent}%: one core against all cores");
        assert_eq!(one["relay_denied"], whole["relay_denied"], "{percent}%");
        assert_eq!(one["lines_read"], whole["lines_read"], "{percent}%");
    }
}

#[test]
fn byte_by_byte_on_a_small_dense_log() {
    let log = dense_log(40 << 10, 25, 9);
    let o = opts();
    let whole = json(&feed_in(&o, log.as_bytes(), log.len()));
    assert_eq!(json(&feed_in(&o, log.as_bytes(), 1)), whole);
}

/// Recipients and their domains are counted ignoring ASCII case (they are hashed lower case
/// without a copy now), senders in your domains are yours in any case, and the count stops at
/// 32 distinct recipients.
#[test]
fn case_is_ignored_where_it_was() {
    let mut log = String::new();
    let rcpts = [
        "V1@Example.ORG",
        "v1@example.org",
        "v1@EXAMPLE.org",
        "W@Other.Example",
    ];
    for (i, r) in rcpts.iter().enumerate() {
        let qid = format!("6AQA{i:010}");
        log.push_str(&format!("Nov 26 10:00:0{i} mailsrv sm-mta[1]: {qid}: ruleset=check_rcpt, arg1=<{r}>, relay=[45.1.1.1], reject=550 5.7.1 <{r}>... Relaying denied. Proper authentication required.\n"));
        log.push_str(&format!("Nov 26 10:00:0{i} mailsrv sm-mta[1]: {qid}: from=<Bob@EXAMPLE.COM>, size=0, class=0, nrcpts=0, proto=ESMTP, daemon=MTA-v4, relay=[45.1.1.1]\n"));
    }
    // A long recipient (past the 64-byte pieces it is lowered in) in two cases.
    let long = format!("{}@example.org", "Ab".repeat(60));
    for (i, r) in [long.clone(), long.to_ascii_lowercase()].iter().enumerate() {
        log.push_str(&format!("Nov 26 10:01:0{i} mailsrv sm-mta[1]: ruleset=check_rcpt, arg1=<{r}>, relay=[45.2.2.2], reject=550 5.7.1 <{r}>... Relaying denied. Proper authentication required.\n"));
    }
    for i in 0..40 {
        log.push_str(&format!("Nov 26 10:02:00 mailsrv sm-mta[1]: ruleset=check_rcpt, arg1=<r{i}@D{}.example>, relay=[45.3.3.3], reject=550 5.7.1 <x>... Relaying denied. Proper authentication required.\n", i % 2));
    }
    let r = feed_in(&opts(), log.as_bytes(), log.len());
    let c = |ip: &str| {
        r.clients
            .iter()
            .find(|c| c.ip.as_deref() == Some(ip))
            .unwrap()
    };
    assert_eq!(
        (c("45.1.1.1").recipients, c("45.1.1.1").recipient_domains),
        (2, 2)
    );
    assert_eq!(
        c("45.1.1.1").verdict,
        smtpauth_wizard::relay_report::Verdict::OwnUser
    );
    assert_eq!(
        (c("45.2.2.2").recipients, c("45.2.2.2").recipient_domains),
        (1, 1)
    );
    assert_eq!(
        (c("45.3.3.3").recipients, c("45.3.3.3").recipient_domains),
        (32, 2)
    );
    let bob = r
        .senders
        .iter()
        .find(|s| s.sender == "Bob@EXAMPLE.COM")
        .unwrap();
    assert!(bob.own_domain);
    assert_eq!(bob.relay_denied, 4);
}

/// The report's memory stays under the 32 MiB with every cap full (10,000 clients,
/// senders and users: a 10 MB JSON report). It was 41 MiB when the JSON was built as a string
/// and copied once more on its way out; streamed, it is 28 MiB (release build).
/// 12,000 clients, senders and users, each with a refusal, its sender and a failed login: every
/// cap (10,000) full.
fn every_cap_full_log() -> String {
    let mut log = String::new();
    for i in 0..12_000 {
        let q = format!("6AQA{i:010}");
        let ip = format!("45.{}.{}.{}", i / 250 % 250, i % 250, i % 7 + 1);
        log.push_str(&format!("Nov 26 10:00:00 mailsrv sm-mta[1]: {q}: ruleset=check_rcpt, arg1=<r{i}@d{}.example>, relay=h{i}.example.net [{ip}], reject=550 5.7.1 <r{i}@x>... Relaying denied. Proper authentication required.\n", i % 50));
        log.push_str(&format!("Nov 26 10:00:01 mailsrv sm-mta[1]: {q}: from=<s{i}@spam{}.example>, size=0, class=0, nrcpts=0, proto=ESMTP, daemon=MTA-v4, relay=h{i}.example.net [{ip}]\n", i % 9));
        log.push_str(&format!("Nov 26 10:00:01 mailsrv sm-mta[1]: AUTH failure (PLAIN): authentication failure (-13) SASL(-13): authentication failure: Password verification failed, user=u{i}, relay=h{i}.example.net [{ip}]\n"));
    }
    log
}

/// `Scanner::write_json`, which builds each client as it writes it (on two threads with two
/// cores), writes the bytes its snapshot's `Report::write_json` writes (which a property test
/// compares with the derived `Serialize`): with every cap full, and on dense logs with few
/// clients (one thread), with a source and without.
#[test]
fn scanner_json_is_its_snapshots() {
    let logs = [
        every_cap_full_log(),
        dense_log(300 << 10, 10, 1),
        dense_log(300 << 10, 60, 4),
    ];
    for (n, log) in logs.iter().enumerate() {
        let mut sc = Scanner::new(&opts());
        sc.feed(log.as_bytes());
        sc.end_input();
        for source in [None, Some("the journal \u{202e}\"(chosen)\"".to_string())] {
            let mut want = sc.snapshot();
            want.source = source.clone();
            let got = sc.write_json(source, Vec::new()).unwrap();
            let want = want.write_json(Vec::new()).unwrap();
            let at = got.iter().zip(&want).take_while(|(a, b)| a == b).count();
            assert!(
                got == want,
                "log {n}: differ from byte {at}: {:?}",
                String::from_utf8_lossy(&got[at.saturating_sub(80)..(at + 80).min(got.len())])
            );
        }
    }
}

#[test]
fn peak_memory_with_every_cap_full() {
    let dir = tempfile::tempdir().unwrap();
    let log = every_cap_full_log();
    let p = dir.path().join("mail.log");
    fs::write(&p, &log).unwrap();
    let out = dir.path().join("report.json");
    let status = Command::new(env!("CARGO_BIN_EXE_smtpauth-wizard"))
        .args(["relay-report", "--format", "json", "--log"])
        .arg(&p)
        // (As in `cli_report`, which this report is compared with below.)
        .env("TZ", "UTC")
        .stdout(fs::File::create(&out).unwrap())
        .status()
        .unwrap();
    assert!(status.success());
    // The largest peak of this test binary's children: the other tests' are a few MiB.
    let max_rss_kib = getrusage(UsageWho::RUSAGE_CHILDREN).unwrap().max_rss();
    let report: serde_json::Value = serde_json::from_slice(&fs::read(&out).unwrap()).unwrap();
    assert_eq!(report["clients"].as_array().unwrap().len(), 10_000);
    assert_eq!(report["senders"].as_array().unwrap().len(), 10_000);
    assert_eq!(report["users"].as_array().unwrap().len(), 10_000);
    // With two cores or more the 10,000 clients and senders are turned into the report on two
    // threads; on one core (taskset) on one. The same report either way.
    assert_eq!(cli_report(&p, true), report, "one core against all cores");
    // The target (< 32 MiB) is for the release binary that benches/relay_report.sh
    // measures: 28.0 MiB here. The debug binary `cargo test` builds keeps about 5 MiB more code
    // resident for the same work (32.7 MiB measured on this log), so
    // under debug the bound is 36 MiB: it still catches the 41 MiB (release) / 46 MiB (debug)
    // of the report built as one string.
    let limit_kib = if cfg!(debug_assertions) { 36 } else { 32 } * 1024;
    assert!(
        max_rss_kib < limit_kib,
        "peak RSS {max_rss_kib} KiB, target < {} MiB",
        limit_kib / 1024
    );
}
