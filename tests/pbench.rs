//! The probe's TLS session resumption (its second connection, AUTH LOGIN, resumes the first's
//! session instead of a full handshake), against a scripted SMTP server on 127.0.0.1 speaking
//! real TLS (rustls, rcgen certificate), and the benchmark script benches/probe_tls.sh in its
//! quick mode (two rounds, no timing asserted) so that it cannot rot.

#[allow(unused_macros)]
mod common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::{mpsc, Arc, Mutex};
use std::thread;
use std::time::Duration;

use rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};
use smtpauth_wizard::smtp::{self, ProbeOptions, ProbeReport, Secret, Status};

const NAME: &str = "mail.example.test";
const PASS: &str = "res-Pa55-word";

/// Per connection, in order: how its TLS handshake went (`None`: no TLS), and whether an AUTH
/// line arrived outside TLS.
#[derive(Debug, Default, Clone)]
struct Conn {
    kind: Option<rustls::HandshakeKind>,
    auth_in_clear: bool,
}
type Seen = Arc<Mutex<Vec<Conn>>>;

struct Server {
    addr: SocketAddr,
    seen: Seen,
    ca: tempfile::TempDir,
}

/// A server for `conns` connections offering STARTTLS and, inside TLS only, AUTH LOGIN PLAIN.
/// `resume`: whether it keeps sessions and issues tickets (rustls' defaults); without, every
/// handshake is a full one, as with a server that does no resumption.
fn server(conns: usize, resume: bool) -> Server {
    let mut p = rcgen::CertificateParams::new(vec![NAME.to_string()]).unwrap();
    p.distinguished_name.push(rcgen::DnType::CommonName, NAME);
    let key = rcgen::KeyPair::generate().unwrap();
    let cert = p.self_signed(&key).unwrap();
    let ca = tempfile::tempdir().unwrap();
    std::fs::write(ca.path().join("ca.pem"), cert.pem()).unwrap();
    let mut cfg = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(
        vec![cert.der().clone()],
        PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())),
    )
    .unwrap();
    if !resume {
        cfg.session_storage = Arc::new(rustls::server::NoServerSessionStorage {});
        cfg.send_tls13_tickets = 0;
    }
    let cfg = Arc::new(cfg);
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    let seen: Seen = Arc::default();
    let s2 = seen.clone();
    thread::spawn(move || {
        for _ in 0..conns {
            let Ok((s, _)) = l.accept() else { return };
            let i = {
                let mut v = s2.lock().unwrap();
                v.push(Conn::default());
                v.len() - 1
            };
            let (cfg, seen) = (cfg.clone(), s2.clone());
            thread::spawn(move || session(s, cfg, seen, i));
        }
    });
    Server { addr, seen, ca }
}

trait Io: Read + Write {}
impl<T: Read + Write> Io for T {}

fn session(s: TcpStream, cfg: Arc<rustls::ServerConfig>, seen: Seen, i: usize) {
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let mut io: Box<dyn Io> = Box::new(s.try_clone().unwrap());
    let (mut tls, mut authed, mut login) = (false, false, 0);
    let _ = io.write_all(b"220 fake.example.test ESMTP\r\n");
    loop {
        let mut line = Vec::new();
        let mut b = [0u8; 1];
        loop {
            match io.read(&mut b) {
                Ok(1) if b[0] == b'\n' => break,
                Ok(1) => line.push(b[0]),
                _ => return,
            }
        }
        let up = String::from_utf8_lossy(&line)
            .trim_end()
            .to_ascii_uppercase();
        if up.starts_with("AUTH") && !tls {
            seen.lock().unwrap()[i].auth_in_clear = true;
        }
        let reply = if login == 1 {
            login = 2;
            "334 UGFzc3dvcmQ6".to_string()
        } else if login == 2 {
            (login, authed) = (0, true);
            "235 2.0.0 OK Authenticated".into()
        } else if up.starts_with("EHLO") {
            if tls {
                "250-fake.example.test\r\n250-AUTH LOGIN PLAIN\r\n250 HELP".into()
            } else {
                "250-fake.example.test\r\n250-STARTTLS\r\n250 HELP".into()
            }
        } else if up == "STARTTLS" && !tls {
            let _ = io.write_all(b"220 2.0.0 Ready to start TLS\r\n");
            let conn = rustls::ServerConnection::new(cfg.clone()).unwrap();
            let mut so = rustls::StreamOwned::new(conn, s.try_clone().unwrap());
            if so.conn.complete_io(&mut so.sock).is_err() {
                return;
            }
            seen.lock().unwrap()[i].kind = so.conn.handshake_kind();
            io = Box::new(so);
            tls = true;
            continue;
        } else if up.starts_with("AUTH PLAIN") && tls {
            authed = true;
            "235 2.0.0 OK Authenticated".into()
        } else if up.starts_with("AUTH LOGIN") && tls {
            login = 1;
            "334 VXNlcm5hbWU6".into()
        } else if up.starts_with("MAIL") || up == "RSET" {
            "250 2.1.0 OK".into()
        } else if up.starts_with("RCPT") && authed {
            "250 2.1.5 OK".into()
        } else if up.starts_with("RCPT") {
            "550 5.7.1 <relay-test@example.com>... Relaying denied. Proper authentication required."
                .into()
        } else if up == "QUIT" {
            let _ = io.write_all(b"221 2.0.0 closing\r\n");
            return;
        } else {
            "500 5.5.1 Command unrecognized".into()
        };
        if io.write_all(format!("{reply}\r\n").as_bytes()).is_err() {
            return;
        }
        let _ = io.flush();
    }
}

fn opts(s: &Server, verify: bool) -> ProbeOptions {
    let mut o = ProbeOptions::new(s.addr.ip().to_string(), s.addr.port());
    o.timeout = Duration::from_secs(5);
    o.ehlo_name = "client.example.test".into();
    o.source_ip = Some("127.0.0.2".parse().unwrap());
    o.user = Some("smtptest".into());
    o.password = Some(Secret::from(PASS));
    if verify {
        o.tls_ca = Some(s.ca.path().join("ca.pem"));
        o.tls_name = Some(NAME.into());
    } else {
        o.verify_cert = false;
    }
    o
}

/// The probe on a thread: a hang fails the test instead of blocking it.
fn run(o: &ProbeOptions) -> ProbeReport {
    let (tx, rx) = mpsc::channel();
    let o = o.clone();
    thread::spawn(move || {
        let _ = tx.send(smtp::probe(&o));
    });
    rx.recv_timeout(Duration::from_secs(120))
        .expect("the probe did not return: it hangs")
}

fn kinds(s: &Server) -> Vec<Option<rustls::HandshakeKind>> {
    s.seen.lock().unwrap().iter().map(|c| c.kind).collect()
}

/// The lines "[TLS started: ...]" of the transcript, by connection.
fn started(r: &ProbeReport) -> Vec<(u32, String)> {
    r.transcript
        .iter()
        .filter(|l| l.text.starts_with("[TLS started"))
        .map(|l| (l.session, l.text.clone()))
        .collect()
}

fn logged_in_over_tls(r: &ProbeReport, s: &Server) {
    let txt = r.to_text();
    for c in [
        "starttls",
        "auth-plain",
        "auth-login",
        "relay-authenticated-login",
    ] {
        let st = r
            .check(c)
            .unwrap_or_else(|| panic!("no {c}:\n{txt}"))
            .status;
        assert!(
            matches!(st, Status::Pass | Status::Warn),
            "{c}: {st:?}\n{txt}"
        );
    }
    assert!(
        s.seen.lock().unwrap().iter().all(|c| !c.auth_in_clear),
        "AUTH outside TLS: {:?}",
        s.seen.lock().unwrap()
    );
    assert!(!txt.contains(PASS));
}

/// The second connection resumes the first's session (verified with --tls-ca, and with
/// --no-verify-cert on loopback alike), and says so in the transcript; the first is a full
/// handshake with the certificate verified, as before.
#[test]
fn the_second_connection_resumes_the_first_session() {
    use rustls::HandshakeKind::{Full, Resumed};
    for verify in [true, false] {
        let s = server(2, true);
        let r = run(&opts(&s, verify));
        logged_in_over_tls(&r, &s);
        let tls = r.tls.as_ref().unwrap();
        assert_eq!(tls.verified, verify, "{}", r.to_text());
        assert!(
            tls.certificate.is_some(),
            "the first handshake saw no certificate"
        );
        assert_eq!(
            kinds(&s),
            vec![Some(Full), Some(Resumed)],
            "verify={verify}"
        );
        let st = started(&r);
        assert_eq!(st.len(), 2, "{st:?}");
        assert!(st[0].0 == 1 && !st[0].1.contains("resumed"), "{st:?}");
        assert!(
            st[1].0 == 2 && st[1].1.contains("session resumed"),
            "{st:?}"
        );
    }
}

/// Sessions live as long as one probe: a second probe against the same server verifies the
/// certificate again in a full handshake (its own second connection resumes that).
#[test]
fn every_probe_starts_with_a_full_verified_handshake() {
    use rustls::HandshakeKind::{Full, Resumed};
    let s = server(4, true);
    for _ in 0..2 {
        let r = run(&opts(&s, true));
        logged_in_over_tls(&r, &s);
        assert!(r.tls.as_ref().unwrap().verified, "{}", r.to_text());
    }
    assert_eq!(
        kinds(&s),
        vec![Some(Full), Some(Resumed), Some(Full), Some(Resumed)]
    );
}

/// A server that does not resume: both handshakes full, and the probe passes as before.
#[test]
fn a_server_without_resumption_gets_two_full_handshakes() {
    use rustls::HandshakeKind::Full;
    for verify in [true, false] {
        let s = server(2, false);
        let r = run(&opts(&s, verify));
        logged_in_over_tls(&r, &s);
        assert_eq!(kinds(&s), vec![Some(Full), Some(Full)], "verify={verify}");
        assert!(started(&r).iter().all(|(_, t)| !t.contains("resumed")));
    }
}

/// benches/probe_tls.sh with RUNS=2 against the real sendmail and saslauthd in its namespace:
/// it must finish, print its table and a ratio line for both server configurations. No time
/// is asserted (a benchmark, not a timed test). Needs root and the tools; elsewhere SKIPPED
/// (a failure under SMTPAUTH_WIZARD_REQUIRE_TOOLS).
#[test]
fn the_probe_tls_benchmark_runs_in_quick_mode() {
    use std::path::Path;
    use std::process::{Command, Stdio};
    if let Err(why) = common::need_root("unshare, bind mounts, port 25") {
        return common::skip(format!("benches/probe_tls.sh: {why}"));
    }
    for tool in [
        "/usr/sbin/sendmail-mta",
        "/usr/sbin/saslauthd",
        "/usr/bin/swaks",
        "/usr/bin/unshare",
        "/usr/bin/openssl",
        "/usr/bin/m4",
        "/usr/bin/python3",
    ] {
        if !Path::new(tool).exists() {
            return common::skip(format!("benches/probe_tls.sh: {tool} is not installed"));
        }
    }
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/probe_tls.sh");
    let child = Command::new("bash")
        .arg(&script)
        .env("RUNS", "2")
        .env("BIN", common::bin())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("bash benches/probe_tls.sh");
    // SIGTERM: the script's trap kills unshare (--kill-child takes the namespace along).
    let out = common::wait_or_signal(
        child,
        Duration::from_secs(600),
        nix::sys::signal::Signal::SIGTERM,
    );
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    println!("{text}");
    assert!(out.status.success(), "the benchmark failed:\n{text}");
    assert!(text.contains("BENCH-OK"), "{text}");
    for phase in ["as-is", "no-delays"] {
        let line = text
            .lines()
            .find(|l| l.starts_with(&format!("RATIO {phase} ")))
            .unwrap_or_else(|| panic!("no ratio line for {phase}:\n{text}"));
        for key in [
            "probe/swaks=",
            "per-connection=",
            "probe/swaks-x2=",
            "target<=0.3 ",
        ] {
            assert!(line.contains(key), "{key} missing in {line:?}");
        }
        let r: f64 = line
            .split("probe/swaks-x2=")
            .nth(1)
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("no number in {line:?}"));
        assert!(r > 0.0, "{line}");
        assert!(
            line.ends_with(" met") || line.ends_with("NOT met"),
            "{line}"
        );
        let row = format!("| {phase} |");
        assert!(
            text.lines().any(|l| l.starts_with(&row)),
            "no table row {row}"
        );
    }
}
