//! The SMTP probe against scripted servers on 127.0.0.1: a sendmail look-alike in the
//! configurations DIAGNOSTICS.md describes, and hostile servers (silent, endless, garbage,
//! closing mid-reply, 421, not reading). Hostile tests assert a time bound: a hang guard, not a
//! performance test.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use smtpauth_wizard::smtp::{
    self, parse_target, probe, Client, Dir, ProbeOptions, ProbeReport, Secret, SmtpError, Status,
};

/// Timeout for tests that expect one to happen: short, so the suite stays fast.
const T: Duration = Duration::from_millis(300);
/// Timeout for everything else: generous, so a loaded CI machine cannot make a prompt scripted
/// server look silent.
const PATIENT: Duration = Duration::from_secs(5);
const USER: &str = "smtptest";
const PASS: &str = "s3cret-Pa55";

/// Accept `conns` connections on 127.0.0.1 and run `handler` for each on its own thread.
/// After that the listener is closed, so an unexpected extra connection is refused.
fn serve<F>(conns: usize, handler: F) -> SocketAddr
where
    F: Fn(TcpStream, usize) + Send + Sync + 'static,
{
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let handler = Arc::new(handler);
    thread::spawn(move || {
        for i in 0..conns {
            let Ok((s, _)) = listener.accept() else {
                return;
            };
            let h = handler.clone();
            thread::spawn(move || h(s, i));
        }
    });
    addr
}

fn opts(addr: SocketAddr) -> ProbeOptions {
    let mut o = ProbeOptions::new(addr.ip().to_string(), addr.port());
    o.timeout = PATIENT;
    o.ehlo_name = "client.example.test".into();
    o
}

fn quick(mut o: ProbeOptions) -> ProbeOptions {
    o.timeout = T;
    o
}

fn with_user(mut o: ProbeOptions, pass: &str) -> ProbeOptions {
    o.user = Some(USER.into());
    o.password = Some(Secret::from(pass));
    o
}

fn from_127_0_0_2(mut o: ProbeOptions) -> ProbeOptions {
    o.source_ip = Some(IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2)));
    o
}

fn status(r: &ProbeReport, id: &str) -> Status {
    r.check(id)
        .unwrap_or_else(|| panic!("no check {id}:\n{}", r.to_text()))
        .status
}

fn verdicts_mention(r: &ProbeReport, needle: &str) -> bool {
    r.verdicts.iter().any(|v| v.contains(needle))
}

/// A scripted sendmail: the texts are those observed on Debian 12 (FACTS.md).
#[derive(Clone)]
struct Fake {
    caps: Vec<&'static str>,
    eol: &'static str,
    /// Relays without AUTH for everybody.
    open_relay: bool,
    /// Relays without AUTH for 127.0.0.1, like every sendmail.
    relay_for_localhost: bool,
    relay_msg: &'static str,
    /// Refuse RCPT after AUTH too (TRUST_AUTH_MECH missing).
    deny_after_auth: bool,
    /// Answer RCPT with 421.
    rcpt_421: bool,
    /// Put the received AUTH payload and the password into the 535 text.
    echo_secret: bool,
    /// Replaces the answer to MAIL / to RCPT before AUTH / to any AUTH.
    mail_unauth: Option<&'static str>,
    rcpt_unauth: Option<&'static str>,
    auth_reply: Option<&'static str>,
    /// Wait before refusing a login, as PAM does after a wrong password.
    auth_delay: Duration,
    log: Arc<Mutex<Vec<String>>>,
}

impl Fake {
    fn sendmail() -> Fake {
        Fake {
            caps: vec![
                "ENHANCEDSTATUSCODES",
                "PIPELINING",
                "8BITMIME",
                "SIZE",
                "DSN",
                "ETRN",
                "AUTH LOGIN PLAIN",
                "DELIVERBY",
                "HELP",
            ],
            eol: "\r\n",
            open_relay: false,
            relay_for_localhost: true,
            relay_msg: "Relaying denied. Proper authentication required.",
            deny_after_auth: false,
            rcpt_421: false,
            echo_secret: false,
            mail_unauth: None,
            rcpt_unauth: None,
            auth_reply: None,
            auth_delay: Duration::ZERO,
            log: Arc::default(),
        }
    }

    fn caps(mut self, caps: &[&'static str]) -> Fake {
        self.caps = caps.to_vec();
        self
    }

    fn start(&self, conns: usize) -> SocketAddr {
        let f = self.clone();
        serve(conns, move |s, _| {
            let _ = f.session(s);
        })
    }

    fn received(&self) -> Vec<String> {
        self.log.lock().unwrap().clone()
    }

    fn session(&self, s: TcpStream) -> std::io::Result<()> {
        let peer = s.peer_addr()?.ip();
        let mut out = s.try_clone()?;
        let mut rd = BufReader::new(s);
        let eol = self.eol;
        let mut send = |lines: &[String]| -> std::io::Result<()> {
            let mut text = String::new();
            for l in lines {
                text.push_str(l);
                text.push_str(eol);
            }
            out.write_all(text.as_bytes())
        };
        send(&[
            "220-mailsrv.example.test ESMTP Sendmail 8.17.1.9/8.17.1.9; Tue, 29 Jan 2002 07:24:49 -0600".into(),
            "220 scripted test server".into(),
        ])?;
        let mut authed = false;
        let read = |rd: &mut BufReader<TcpStream>| -> std::io::Result<Option<String>> {
            let mut line = String::new();
            if rd.read_line(&mut line)? == 0 {
                return Ok(None);
            }
            let line = line.trim_end().to_owned();
            self.log.lock().unwrap().push(line.clone());
            Ok(Some(line))
        };
        let check = |user: &[u8], pass: &[u8]| user == USER.as_bytes() && pass == PASS.as_bytes();
        let refuse = |payload: &str| -> String {
            thread::sleep(self.auth_delay);
            if self.echo_secret {
                format!("535 5.7.0 authentication failed for {payload} {PASS}")
            } else {
                "535 5.7.0 authentication failed".into()
            }
        };
        while let Some(line) = read(&mut rd)? {
            let upper = line.to_ascii_uppercase();
            let mut words = line.split_whitespace();
            let verb = words.next().unwrap_or("").to_ascii_uppercase();
            let reply: Vec<String> = match verb.as_str() {
                "EHLO" => {
                    let mut r = vec![format!(
                        "250-mailsrv.example.test Hello client.example.test [{peer}], pleased to meet you"
                    )];
                    for (i, c) in self.caps.iter().enumerate() {
                        let sep = if i + 1 == self.caps.len() { ' ' } else { '-' };
                        r.push(format!("250{sep}{c}"));
                    }
                    if self.caps.is_empty() {
                        r[0] = r[0].replacen("250-", "250 ", 1);
                    }
                    r
                }
                "MAIL" => match self.mail_unauth {
                    Some(r) if !authed => vec![r.into()],
                    _ => vec!["250 2.1.0 <>... Sender ok".into()],
                },
                "RCPT" => {
                    let to = line.split_once(':').map(|x| x.1).unwrap_or("");
                    let local_ok = self.relay_for_localhost
                        && (peer == IpAddr::from([127, 0, 0, 1])
                            || peer == IpAddr::from(std::net::Ipv6Addr::LOCALHOST));
                    if self.rcpt_421 {
                        send(&[
                            "421 4.3.0 mailsrv.example.test Too many errors, closing connection"
                                .into(),
                        ])?;
                        return Ok(());
                    } else if let (Some(r), false) = (self.rcpt_unauth, authed) {
                        vec![r.into()]
                    } else if (authed && !self.deny_after_auth) || self.open_relay || local_ok {
                        vec![format!("250 2.1.5 {to}... Recipient ok")]
                    } else {
                        vec![format!("550 5.7.1 {to}... {}", self.relay_msg)]
                    }
                }
                "RSET" => vec!["250 2.0.0 Reset state".into()],
                "QUIT" => {
                    send(&["221 2.0.0 mailsrv.example.test closing connection".into()])?;
                    return Ok(());
                }
                "DATA" => vec!["354 Enter mail, end with \".\" on a line by itself".into()],
                "AUTH" if self.auth_reply.is_some() => vec![self.auth_reply.unwrap().into()],
                "AUTH" if upper.starts_with("AUTH PLAIN") => {
                    let payload = match words.nth(1) {
                        Some(p) => p.to_owned(),
                        None => {
                            send(&["334 ".into()])?;
                            read(&mut rd)?.unwrap_or_default()
                        }
                    };
                    let raw = B64.decode(&payload).unwrap_or_default();
                    let parts: Vec<&[u8]> = raw.split(|&b| b == 0).collect();
                    if parts.len() == 3 && check(parts[1], parts[2]) {
                        authed = true;
                        vec!["235 2.0.0 OK Authenticated".into()]
                    } else {
                        vec![refuse(&payload)]
                    }
                }
                "AUTH" if upper == "AUTH LOGIN" => {
                    send(&["334 VXNlcm5hbWU6".into()])?;
                    let u = read(&mut rd)?.unwrap_or_default();
                    send(&["334 UGFzc3dvcmQ6".into()])?;
                    let p = read(&mut rd)?.unwrap_or_default();
                    let (u, pw) = (
                        B64.decode(&u).unwrap_or_default(),
                        B64.decode(&p).unwrap_or_default(),
                    );
                    if check(&u, &pw) {
                        authed = true;
                        vec!["235 2.0.0 OK Authenticated".into()]
                    } else {
                        vec![refuse(&p)]
                    }
                }
                "AUTH" => vec!["504 5.3.3 AUTH mechanism not available".into()],
                _ => vec!["500 5.5.1 Command unrecognized".into()],
            };
            send(&reply)?;
        }
        Ok(())
    }
}

/// The password and every encoding of it that crosses the wire.
fn secret_forms() -> Vec<String> {
    vec![
        PASS.to_owned(),
        B64.encode(PASS),
        B64.encode(format!("\0{USER}\0{PASS}")),
    ]
}

fn assert_no_secret(r: &ProbeReport) {
    let json = serde_json::to_string(r).unwrap();
    let text = r.to_text();
    let debug = format!("{r:?}");
    for s in secret_forms() {
        assert!(!json.contains(&s), "JSON report contains {s:?}:\n{json}");
        assert!(!text.contains(&s), "text report contains {s:?}:\n{text}");
        assert!(!debug.contains(&s), "Debug of the report contains {s:?}");
    }
}

fn assert_no_data(f: &Fake) {
    assert!(
        !f.received().iter().any(|l| l.eq_ignore_ascii_case("DATA")),
        "DATA was sent: {:?}",
        f.received()
    );
}

/// Runs the probe and checks it returned within `n` timeouts plus a generous margin.
fn timed_probe(o: &ProbeOptions, n: u32) -> ProbeReport {
    let start = Instant::now();
    let r = probe(o);
    // SHOW_PROBE=text or =json with --nocapture prints every report, to read the wording.
    match std::env::var("SHOW_PROBE").as_deref() {
        Ok("json") => eprintln!("{}", serde_json::to_string_pretty(&r).unwrap()),
        Ok(_) => eprintln!("{}\n{}", "=".repeat(70), r.to_text()),
        Err(_) => {}
    }
    let took = start.elapsed();
    let bound = o.timeout * n + Duration::from_secs(3);
    assert!(
        took < bound,
        "probe took {took:?} (bound {bound:?}):\n{}",
        r.to_text()
    );
    r
}

#[test]
fn working_sendmail_from_127_0_0_2_meets_every_expectation() {
    let f = Fake::sendmail();
    let addr = f.start(2);
    let r = timed_probe(&from_127_0_0_2(with_user(opts(addr), PASS)), 30);
    let text = r.to_text();
    assert_eq!(r.exit_code(), 0, "{text}");
    for id in [
        "connect",
        "greeting",
        "ehlo",
        "auth-advertised",
        "relay-denied",
        "auth-plain",
        "relay-authenticated-plain",
        "auth-login",
        "relay-authenticated-login",
    ] {
        assert_eq!(status(&r, id), Status::Pass, "{id}\n{text}");
    }
    assert!(r.connected);
    assert_eq!(
        r.source.as_deref().map(|s| s.starts_with("127.0.0.2:")),
        Some(true)
    );
    assert_eq!(
        r.auth_mechanisms,
        Some(vec!["LOGIN".into(), "PLAIN".into()])
    );
    assert!(!r.starttls);
    assert!(r.greeting.as_deref().unwrap().contains("ESMTP Sendmail"));
    // The transcript reads like the HOWTO's.
    assert!(text.contains("S: 250-AUTH LOGIN PLAIN"), "{text}");
    assert!(
        text.contains("S: 220-mailsrv.example.test ESMTP Sendmail"),
        "{text}"
    );
    assert!(text.contains("C: AUTH PLAIN ***"), "{text}");
    assert!(text.contains("--- connection 2 ---"), "{text}");
    assert!(text.contains("Relaying denied. Proper authentication required."));
    // Plaintext without STARTTLS is named.
    assert!(verdicts_mention(&r, "clear text"), "{text}");
    assert!(
        verdicts_mention(&r, "what the HOWTO's step 9 expects"),
        "{text}"
    );
    assert_no_secret(&r);
    assert_no_data(&f);
    // The secrets did cross the wire (the server checked them), only the report hides them.
    let got = f.received();
    assert!(got
        .iter()
        .any(|l| l.contains(&B64.encode(format!("\0{USER}\0{PASS}")))));
    assert_eq!(got.iter().filter(|l| *l == "QUIT").count(), 2, "{got:?}");
    let json: serde_json::Value = serde_json::to_value(&r).unwrap();
    assert_eq!(json["checks"][0]["status"], "pass");
    assert_eq!(json["transcript"][0]["dir"], "S");
}

#[test]
fn relay_accepted_from_127_0_0_1_is_not_a_failure_but_says_why() {
    let f = Fake::sendmail();
    let addr = f.start(2);
    let r = timed_probe(&with_user(opts(addr), PASS), 30);
    assert_eq!(r.exit_code(), 0, "{}", r.to_text());
    assert_eq!(status(&r, "relay-denied"), Status::Skipped);
    assert!(
        verdicts_mention(&r, "--source-ip 127.0.0.2"),
        "{}",
        r.to_text()
    );
    assert!(verdicts_mention(&r, "127.0.0.1"));
}

#[test]
fn server_without_auth_fails_with_causes() {
    let f = Fake::sendmail().caps(&["ENHANCEDSTATUSCODES", "8BITMIME", "HELP"]);
    let addr = f.start(1);
    let r = timed_probe(&from_127_0_0_2(with_user(opts(addr), PASS)), 20);
    assert_eq!(r.exit_code(), 2, "{}", r.to_text());
    assert_eq!(r.auth_mechanisms, None);
    assert_eq!(status(&r, "auth-advertised"), Status::Fail);
    assert_eq!(status(&r, "relay-denied"), Status::Pass);
    assert_eq!(status(&r, "auth-plain"), Status::Skipped);
    assert!(verdicts_mention(&r, "AUTH is not offered"));
    assert!(
        verdicts_mention(&r, "not\n                     restarted")
            || verdicts_mention(&r, "restarted")
    );
    assert!(verdicts_mention(&r, "libsasl2-modules"));
    assert!(!verdicts_mention(&r, "STARTTLS and no AUTH"));
}

#[test]
fn starttls_without_auth_points_at_the_p_option() {
    let f = Fake::sendmail().caps(&["ENHANCEDSTATUSCODES", "STARTTLS", "HELP"]);
    let addr = f.start(1);
    let r = timed_probe(&from_127_0_0_2(opts(addr)), 20);
    assert_eq!(r.exit_code(), 2);
    assert!(r.starttls);
    assert!(
        verdicts_mention(&r, "STARTTLS and no AUTH"),
        "{}",
        r.to_text()
    );
}

#[test]
fn stock_debian_mechanisms_are_recognised() {
    let f = Fake::sendmail().caps(&["ENHANCEDSTATUSCODES", "AUTH DIGEST-MD5 CRAM-MD5", "HELP"]);
    let addr = f.start(1);
    let r = timed_probe(&from_127_0_0_2(with_user(opts(addr), PASS)), 20);
    assert_eq!(r.exit_code(), 2, "{}", r.to_text());
    assert_eq!(status(&r, "auth-advertised"), Status::Fail);
    assert!(verdicts_mention(&r, "stock Debian"), "{}", r.to_text());
    assert!(verdicts_mention(&r, "confAUTH_MECHANISMS"));
    assert_eq!(status(&r, "auth-plain"), Status::Skipped);
    assert_eq!(status(&r, "auth-login"), Status::Skipped);
}

#[test]
fn cram_md5_next_to_plain_warns_about_sasldb() {
    let f = Fake::sendmail().caps(&["AUTH=DIGEST-MD5 CRAM-MD5 LOGIN PLAIN", "HELP"]);
    let addr = f.start(1);
    let r = timed_probe(&from_127_0_0_2(opts(addr)), 20);
    assert_eq!(r.exit_code(), 0, "{}", r.to_text());
    assert_eq!(
        r.auth_mechanisms,
        Some(vec![
            "DIGEST-MD5".into(),
            "CRAM-MD5".into(),
            "LOGIN".into(),
            "PLAIN".into()
        ])
    );
    assert!(verdicts_mention(&r, "sasldb"), "{}", r.to_text());
}

#[test]
fn open_relay_from_another_address_fails() {
    let mut f = Fake::sendmail();
    f.open_relay = true;
    let addr = f.start(1);
    let r = timed_probe(&from_127_0_0_2(opts(addr)), 20);
    assert_eq!(r.exit_code(), 2, "{}", r.to_text());
    assert_eq!(status(&r, "relay-denied"), Status::Fail);
    assert!(r
        .check("relay-denied")
        .unwrap()
        .detail
        .contains("OPEN RELAY"));
    assert!(verdicts_mention(&r, "open relay"));
    // From 127.0.0.2 the Debian access-file catch is explained.
    assert!(verdicts_mention(&r, "Connect:127 RELAY"), "{}", r.to_text());
    assert_no_data(&f);
}

#[test]
fn wrong_password_is_an_expectation_failure_and_never_shown() {
    let mut f = Fake::sendmail();
    f.echo_secret = true; // a server that repeats the secrets must not leak them either
    let addr = f.start(2);
    let wrong = "Wr0ng-s3cret";
    let r = timed_probe(&from_127_0_0_2(with_user(opts(addr), wrong)), 30);
    assert_eq!(r.exit_code(), 2, "{}", r.to_text());
    assert_eq!(status(&r, "auth-plain"), Status::Fail);
    assert_eq!(status(&r, "auth-login"), Status::Fail);
    assert!(r.check("relay-authenticated-plain").is_none());
    // Refused at once: the hint names saslauthd (symptom #9).
    assert!(verdicts_mention(&r, "saslauthd"), "{}", r.to_text());
    let forms = [
        wrong.to_owned(),
        B64.encode(wrong),
        B64.encode(format!("\0{USER}\0{wrong}")),
    ];
    let json = serde_json::to_string(&r).unwrap();
    let text = r.to_text();
    for s in forms {
        assert!(!json.contains(&s), "{s} in {json}");
        assert!(!text.contains(&s), "{s} in {text}");
    }
    // The echo of the right password by the server (it knows it) is scrubbed only if the
    // client knew it; here it did not, which is fine: it is the server's text, not ours.
    assert!(
        text.contains("535 5.7.0 authentication failed for ***"),
        "{text}"
    );
}

#[test]
fn right_password_echoed_by_the_server_is_scrubbed() {
    let mut f = Fake::sendmail();
    f.echo_secret = true;
    let addr = f.start(2);
    let r = timed_probe(&from_127_0_0_2(with_user(opts(addr), PASS)), 30);
    assert_eq!(r.exit_code(), 0, "{}", r.to_text());
    assert_no_secret(&r);
}

#[test]
fn relay_denied_without_auth_suffix_points_at_trust_auth_mech() {
    let mut f = Fake::sendmail();
    f.relay_msg = "Relaying denied";
    let addr = f.start(1);
    let r = timed_probe(&from_127_0_0_2(opts(addr)), 20);
    assert_eq!(r.exit_code(), 0, "{}", r.to_text());
    assert!(verdicts_mention(&r, "TRUST_AUTH_MECH"), "{}", r.to_text());
}

#[test]
fn relay_refused_after_auth_fails() {
    let mut f = Fake::sendmail();
    f.deny_after_auth = true;
    let addr = f.start(2);
    let r = timed_probe(&from_127_0_0_2(with_user(opts(addr), PASS)), 30);
    assert_eq!(r.exit_code(), 2, "{}", r.to_text());
    assert_eq!(status(&r, "auth-plain"), Status::Pass);
    assert_eq!(status(&r, "relay-authenticated-plain"), Status::Fail);
    assert!(verdicts_mention(&r, "TRUST_AUTH_MECH"));
}

#[test]
fn bare_lf_replies_are_accepted() {
    let mut f = Fake::sendmail();
    f.eol = "\n";
    let addr = f.start(2);
    let r = timed_probe(&from_127_0_0_2(with_user(opts(addr), PASS)), 30);
    assert_eq!(r.exit_code(), 0, "{}", r.to_text());
}

#[test]
fn ehlo_only_for_the_engine_step() {
    let f = Fake::sendmail();
    let addr = f.start(1);
    let mut o = opts(addr);
    o.skip_relay_denial = true;
    let r = timed_probe(&o, 10);
    assert_eq!(r.exit_code(), 0, "{}", r.to_text());
    assert_eq!(status(&r, "relay-denied"), Status::Skipped);
    assert_eq!(f.received(), vec!["EHLO client.example.test", "QUIT"]);
}

#[test]
fn nothing_listening_is_an_error() {
    let addr = {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    };
    let r = timed_probe(&opts(addr), 2);
    assert_eq!(r.exit_code(), 1);
    assert!(!r.connected);
    assert_eq!(status(&r, "connect"), Status::Error);
    assert!(
        r.error.as_deref().unwrap().contains("refused"),
        "{}",
        r.to_text()
    );
    assert!(verdicts_mention(&r, "MTA-v4"), "{}", r.to_text());
}

#[test]
fn silent_server_times_out() {
    let addr = serve(1, |s, _| {
        thread::sleep(Duration::from_secs(3));
        drop(s);
    });
    let r = timed_probe(&quick(opts(addr)), 3);
    assert_eq!(r.exit_code(), 1);
    assert_eq!(status(&r, "greeting"), Status::Error);
    assert!(
        r.error.as_deref().unwrap().contains("timed out"),
        "{}",
        r.to_text()
    );
    assert!(verdicts_mention(&r, "no complete greeting"));
}

#[test]
fn endless_line_is_cut() {
    let addr = serve(1, |mut s, _| {
        let chunk = [b'x'; 1024];
        let _ = s.write_all(b"220 ");
        for _ in 0..10_000 {
            if s.write_all(&chunk).is_err() {
                return;
            }
        }
    });
    let r = timed_probe(&opts(addr), 3);
    assert_eq!(r.exit_code(), 1);
    assert!(
        r.error.as_deref().unwrap().contains("over-long line"),
        "{}",
        r.to_text()
    );
    assert!(verdicts_mention(&r, "over-long line"));
    // The transcript keeps a short piece, not megabytes.
    assert!(r.to_text().len() < 10_000);
}

#[test]
fn trickling_server_is_bounded_by_the_reply_deadline() {
    let addr = serve(1, |mut s, _| {
        let _ = s.write_all(b"220-");
        for _ in 0..200 {
            if s.write_all(b"y").is_err() {
                return;
            }
            thread::sleep(Duration::from_millis(20));
        }
    });
    let r = timed_probe(&quick(opts(addr)), 3);
    assert_eq!(r.exit_code(), 1);
    assert!(
        r.error.as_deref().unwrap().contains("timed out"),
        "{}",
        r.to_text()
    );
}

#[test]
fn binary_garbage_is_not_smtp() {
    let addr = serve(1, |mut s, _| {
        let _ = s.write_all(b"\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03\n");
        thread::sleep(Duration::from_millis(500));
    });
    let r = timed_probe(&opts(addr), 3);
    assert_eq!(r.exit_code(), 1);
    let e = r.error.clone().unwrap();
    assert!(e.contains("not an SMTP reply: \"\\x16\\x03\\x01"), "{e}");
    assert!(verdicts_mention(&r, "TLS"), "{}", r.to_text());
    // Shown escaped in the transcript too.
    assert!(r
        .transcript
        .iter()
        .any(|l| l.dir == Dir::Server && l.text.starts_with("\\x16\\x03")));
}

#[test]
fn close_mid_line() {
    let addr = serve(1, |mut s, _| {
        let _ = s.write_all(b"220 mailsrv.exa");
    });
    let r = timed_probe(&opts(addr), 3);
    assert_eq!(r.exit_code(), 1);
    assert!(
        r.error
            .as_deref()
            .unwrap()
            .contains("in the middle of a reply"),
        "{}",
        r.to_text()
    );
    assert!(verdicts_mention(
        &r,
        "server closed the connection in the middle of a reply"
    ));
}

#[test]
fn close_mid_multiline_ehlo_reply() {
    let addr = serve(1, |s, _| {
        let mut out = s.try_clone().unwrap();
        let _ = out.write_all(b"220 mailsrv ESMTP\r\n");
        let mut line = String::new();
        let _ = BufReader::new(s).read_line(&mut line);
        let _ = out.write_all(b"250-mailsrv Hello\r\n250-AUTH LOGIN PLAIN\r\n");
    });
    let r = timed_probe(&opts(addr), 4);
    assert_eq!(r.exit_code(), 1);
    assert_eq!(status(&r, "ehlo"), Status::Error);
    assert!(r
        .error
        .as_deref()
        .unwrap()
        .contains("in the middle of a reply"));
}

#[test]
fn close_without_greeting() {
    let addr = serve(1, drop_stream);
    let r = timed_probe(&opts(addr), 3);
    assert_eq!(r.exit_code(), 1);
    assert!(
        verdicts_mention(&r, "closed it without a greeting"),
        "{}",
        r.to_text()
    );
}

fn drop_stream(s: TcpStream, _: usize) {
    drop(s);
}

#[test]
fn shutdown_421_at_greeting() {
    let addr = serve(1, |mut s, _| {
        let _ = s.write_all(b"421 4.3.2 Connection rate limit exceeded.\r\n");
    });
    let r = timed_probe(&opts(addr), 3);
    assert_eq!(r.exit_code(), 1);
    assert!(
        verdicts_mention(&r, "server is shutting down the channel (421 4.3.2"),
        "{}",
        r.to_text()
    );
}

#[test]
fn shutdown_421_at_rcpt() {
    let mut f = Fake::sendmail();
    f.rcpt_421 = true;
    let addr = f.start(1);
    let r = timed_probe(&from_127_0_0_2(with_user(opts(addr), PASS)), 20);
    assert_eq!(r.exit_code(), 1, "{}", r.to_text());
    assert_eq!(status(&r, "relay-denied"), Status::Error);
    assert!(r
        .error
        .as_deref()
        .unwrap()
        .contains("shutting down the channel (421"));
    // The probe stopped: no AUTH on a closed channel, no second connection.
    assert!(r.check("auth-plain").is_none());
    assert!(!f.received().iter().any(|l| l.starts_with("AUTH")));
}

#[test]
fn greeting_554_refuses_the_client() {
    let addr = serve(1, |mut s, _| {
        let _ = s.write_all(b"554 5.7.1 mailsrv.example.test Access denied\r\n");
        let mut buf = [0u8; 64];
        let _ = s.read(&mut buf);
        let _ = s.write_all(b"221 bye\r\n");
    });
    let r = timed_probe(&opts(addr), 5);
    assert_eq!(r.exit_code(), 2, "{}", r.to_text());
    assert!(verdicts_mention(&r, "REJECT"));
}

#[test]
fn server_that_greets_and_never_reads() {
    let addr = serve(1, |mut s, _| {
        let _ = s.write_all(b"220 mailsrv ESMTP\r\n");
        thread::sleep(Duration::from_secs(3));
    });
    let r = timed_probe(&with_user(quick(opts(addr)), PASS), 5);
    assert_eq!(r.exit_code(), 1);
    assert_eq!(status(&r, "ehlo"), Status::Error);
    assert!(r.error.as_deref().unwrap().contains("timed out"));
}

#[test]
fn connection_held_open_in_the_backlog_never_greets() {
    // Accepted by the kernel, never by the program.
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    let r = timed_probe(&quick(opts(addr)), 3);
    drop(l);
    assert_eq!(r.exit_code(), 1);
    assert_eq!(status(&r, "greeting"), Status::Error);
}

#[test]
fn source_address_that_is_not_ours() {
    let f = Fake::sendmail();
    let addr = f.start(1);
    let mut o = opts(addr);
    o.source_ip = Some("192.0.2.77".parse().unwrap()); // TEST-NET-1, never local
    let r = timed_probe(&o, 2);
    assert_eq!(r.exit_code(), 1);
    assert!(
        r.error.as_deref().unwrap().contains("source address"),
        "{}",
        r.to_text()
    );
}

#[test]
fn ipv6_loopback_target() {
    let Ok(l) = TcpListener::bind("[::1]:0") else {
        eprintln!("no IPv6 loopback here: skipped");
        return;
    };
    let addr = l.local_addr().unwrap();
    thread::spawn(move || {
        if let Ok((s, _)) = l.accept() {
            let _ = Fake::sendmail().session(s);
        }
    });
    let target = format!("[::1]:{}", addr.port());
    let (host, port) = parse_target(&target).unwrap();
    let mut o = ProbeOptions::new(host, port);
    o.timeout = PATIENT;
    let r = timed_probe(&o, 20);
    assert_eq!(r.target, target);
    assert_eq!(r.exit_code(), 0, "{}", r.to_text());
    // ::1 always relays, like 127.0.0.1.
    assert_eq!(status(&r, "relay-denied"), Status::Skipped);
}

// --- the lower layer ---

#[test]
fn client_refuses_data_and_line_breaks() {
    let f = Fake::sendmail();
    let addr = f.start(1);
    let mut c = Client::connect(addr, None, PATIENT).unwrap();
    assert_eq!(c.read_reply().unwrap().code, 220);
    assert!(matches!(
        c.command("DATA"),
        Err(SmtpError::InvalidCommand(_))
    ));
    assert!(matches!(
        c.command("data"),
        Err(SmtpError::InvalidCommand(_))
    ));
    assert!(matches!(
        c.command("BDAT 10 LAST"),
        Err(SmtpError::InvalidCommand(_))
    ));
    assert!(matches!(
        c.rcpt_to("a@example.com>\r\nDATA"),
        Err(SmtpError::InvalidCommand(_))
    ));
    let r = c.ehlo("client.example.test").unwrap();
    let e = smtp::Ehlo::parse(&r);
    assert!(e.offers("PLAIN") && e.offers("LOGIN"));
    assert_eq!(c.quit().unwrap().code, 221);
    assert_no_data(&f);
    assert_eq!(f.received(), vec!["EHLO client.example.test", "QUIT"]);
}

#[test]
fn client_auth_plain_answers_an_empty_challenge() {
    // A server that ignores the initial response and asks with 334.
    let log = Arc::new(Mutex::new(Vec::new()));
    let l2 = log.clone();
    let addr = serve(1, move |s, _| {
        let mut out = s.try_clone().unwrap();
        let mut rd = BufReader::new(s);
        let _ = out.write_all(b"220 x ESMTP\r\n");
        let mut line = String::new();
        let _ = rd.read_line(&mut line);
        l2.lock().unwrap().push(line.trim_end().to_owned());
        let _ = out.write_all(b"334 \r\n");
        line.clear();
        let _ = rd.read_line(&mut line);
        l2.lock().unwrap().push(line.trim_end().to_owned());
        let _ = out.write_all(b"235 2.0.0 OK Authenticated\r\n");
    });
    let mut c = Client::connect(addr, None, PATIENT).unwrap();
    c.read_reply().unwrap();
    let r = c.auth_plain(USER, &Secret::from(PASS)).unwrap();
    assert_eq!(r.code, 235);
    let payload = B64.encode(format!("\0{USER}\0{PASS}"));
    assert_eq!(log.lock().unwrap()[1], payload);
    let shown: Vec<&str> = c.transcript().iter().map(|l| l.text.as_str()).collect();
    assert_eq!(
        shown,
        vec![
            "220 x ESMTP",
            "AUTH PLAIN ***",
            "334 ",
            "***",
            "235 2.0.0 OK Authenticated"
        ]
    );
}

#[test]
fn reply_with_too_many_lines_is_refused() {
    let addr = serve(1, |mut s, _| {
        let mut text = Vec::new();
        for _ in 0..300 {
            text.extend_from_slice(b"220-spam\r\n");
        }
        let _ = s.write_all(&text);
        thread::sleep(Duration::from_millis(500));
    });
    let r = timed_probe(&opts(addr), 3);
    assert_eq!(r.exit_code(), 1);
    assert!(
        r.error.as_deref().unwrap().contains("more than 200 lines"),
        "{}",
        r.to_text()
    );
}

// --- replies that need interpreting ---

#[test]
fn local_recipient_makes_the_relay_test_inconclusive() {
    let mut f = Fake::sendmail();
    f.rcpt_unauth = Some("550 5.1.1 <relay-test@example.com>... User unknown");
    let addr = f.start(1);
    let r = timed_probe(&from_127_0_0_2(opts(addr)), 20);
    assert_eq!(r.exit_code(), 1, "{}", r.to_text());
    assert_eq!(status(&r, "relay-denied"), Status::Error);
    assert!(verdicts_mention(&r, "proves nothing"));
    assert!(r.error.is_none(), "the probe itself finished");
}

#[test]
fn temporary_relay_denial_for_a_missing_ptr_still_counts_as_denied() {
    let mut f = Fake::sendmail();
    f.rcpt_unauth = Some(
        "450 4.7.1 <relay-test@example.com>... Relaying temporarily denied. Cannot resolve PTR record for 127.0.0.2",
    );
    let addr = f.start(1);
    let r = timed_probe(&from_127_0_0_2(opts(addr)), 20);
    assert_eq!(r.exit_code(), 0, "{}", r.to_text());
    assert!(r
        .check("relay-denied")
        .unwrap()
        .hint
        .as_deref()
        .unwrap()
        .contains("PTR"));
}

#[test]
fn other_temporary_rcpt_failure_is_inconclusive() {
    let mut f = Fake::sendmail();
    f.rcpt_unauth = Some("451 4.3.0 Temporary system failure. Please try again later.");
    let addr = f.start(1);
    let r = timed_probe(&from_127_0_0_2(opts(addr)), 20);
    assert_eq!(r.exit_code(), 1, "{}", r.to_text());
    assert_eq!(status(&r, "relay-denied"), Status::Error);
}

#[test]
fn listener_requiring_auth_for_mail_denies_relaying() {
    let mut f = Fake::sendmail();
    f.mail_unauth = Some("530 5.7.0 Authentication required");
    let addr = f.start(2);
    let r = timed_probe(&from_127_0_0_2(with_user(opts(addr), PASS)), 30);
    assert_eq!(r.exit_code(), 0, "{}", r.to_text());
    let c = r.check("relay-denied").unwrap();
    assert_eq!(c.status, Status::Pass);
    assert!(c.hint.as_deref().unwrap().contains("M=a"));
}

#[test]
fn unresolvable_sender_domain_names_the_from_option() {
    let mut f = Fake::sendmail();
    f.mail_unauth =
        Some("553 5.1.8 <a@nowhere.invalid>... Domain of sender address a@nowhere.invalid does not exist");
    let addr = f.start(1);
    let mut o = from_127_0_0_2(opts(addr));
    o.from = "a@nowhere.invalid".into();
    let r = timed_probe(&o, 20);
    assert_eq!(r.exit_code(), 1, "{}", r.to_text());
    let c = r.check("relay-denied").unwrap();
    assert_eq!(c.status, Status::Error);
    assert!(c.hint.as_deref().unwrap().contains("--from"));
    assert!(f
        .received()
        .contains(&"MAIL FROM:<a@nowhere.invalid>".to_owned()));
}

#[test]
fn slow_refusal_points_at_the_credentials() {
    let mut f = Fake::sendmail();
    f.auth_delay = Duration::from_millis(700);
    let addr = f.start(2);
    let mut o = from_127_0_0_2(with_user(opts(addr), "wrong"));
    o.timeout = Duration::from_secs(3);
    let r = timed_probe(&o, 30);
    assert_eq!(r.exit_code(), 2, "{}", r.to_text());
    assert!(verdicts_mention(&r, "after a delay"), "{}", r.to_text());
    assert!(!verdicts_mention(&r, "came at once"));
    // One verdict for both mechanisms, not two copies.
    assert_eq!(
        r.verdicts
            .iter()
            .filter(|v| v.contains("refused the login"))
            .count(),
        1
    );
}

#[test]
fn auth_not_available_on_this_port() {
    let mut f = Fake::sendmail();
    f.auth_reply = Some("503 5.3.3 AUTH not available");
    let addr = f.start(2);
    let r = timed_probe(&from_127_0_0_2(with_user(opts(addr), PASS)), 30);
    assert_eq!(r.exit_code(), 2, "{}", r.to_text());
    assert!(r
        .check("auth-plain")
        .unwrap()
        .hint
        .as_deref()
        .unwrap()
        .contains("M=A"));
}

#[test]
fn ehlo_name_refused() {
    let addr = serve(1, |s, _| {
        let mut out = s.try_clone().unwrap();
        let mut rd = BufReader::new(s);
        let _ = out.write_all(b"220 mailsrv ESMTP\r\n");
        let mut line = String::new();
        while rd.read_line(&mut line).unwrap_or(0) > 0 {
            let reply: &[u8] = if line.starts_with("QUIT") {
                b"221 bye\r\n"
            } else {
                b"501 5.0.0 Invalid domain name\r\n"
            };
            let _ = out.write_all(reply);
            line.clear();
        }
    });
    let r = timed_probe(&opts(addr), 5);
    assert_eq!(r.exit_code(), 2, "{}", r.to_text());
    assert_eq!(status(&r, "ehlo"), Status::Fail);
    assert!(verdicts_mention(&r, "--ehlo-name"));
}

#[test]
fn long_line_ending_in_newline_within_one_read_is_cut_too() {
    let addr = serve(1, |mut s, _| {
        let mut text = b"220 ".to_vec();
        text.extend_from_slice(&[b'z'; 6000]);
        text.extend_from_slice(b"\r\n");
        let _ = s.write_all(&text);
        thread::sleep(Duration::from_millis(500));
    });
    let r = timed_probe(&opts(addr), 3);
    assert_eq!(r.exit_code(), 1);
    assert!(r.error.as_deref().unwrap().contains("over-long line"));
    assert!(
        r.transcript.iter().all(|l| l.text.len() < 1000),
        "{}",
        r.to_text()
    );
}
