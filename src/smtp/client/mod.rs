//! A small, bounded, blocking SMTP client over std's `TcpStream`.
//!
//! Bounded means: name resolution, connect, every write and every reply each finish within the
//! configured timeout (a reply has one deadline for all its lines, so a server trickling one
//! byte at a time cannot stretch it), a reply line is at most [`MAX_LINE`] bytes and a reply at
//! most [`MAX_LINES`](super::reply::MAX_LINES) lines. Nothing here can hang or read without limit.
//!
//! It must never send mail: [`Client::command`] refuses `DATA`/`BDAT` and any line containing
//! CR, LF or NUL (which could smuggle a second command in). Secrets handed to the AUTH methods
//! never reach the transcript: the commands carrying them are recorded as `***`, and any echo
//! of them in the server's replies is replaced by `***` before anything else sees the reply.

use std::fmt;
use std::io;
use std::net::{IpAddr, SocketAddr, TcpStream, ToSocketAddrs};
use std::sync::mpsc;
use std::time::Duration;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use socket2::{Domain, Protocol, SockAddr, Socket, Type};

use super::reply::{escape_bytes, Reply, MAX_LINE};
use super::secret::Secret;

mod error;
mod starttls;
mod wire;
pub use error::SmtpError;

/// How many of a host name's addresses are tried, each with the full connect timeout.
const MAX_ADDRESSES: usize = 3;

/// Who sent a transcript line: `S` the server, `C` this client.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum Dir {
    #[serde(rename = "S")]
    Server,
    #[serde(rename = "C")]
    Client,
}

impl Dir {
    pub fn as_str(self) -> &'static str {
        match self {
            Dir::Server => "S",
            Dir::Client => "C",
        }
    }
}

/// One line of the conversation, as sent (client lines carrying secrets are shown as `***`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct TranscriptLine {
    pub dir: Dir,
    pub text: String,
    /// Which connection of the probe the line belongs to, from 1.
    pub session: u32,
}

/// Resolve `host` (an IP literal needs no lookup) within `timeout`. The system resolver has no
/// timeout of its own we can set, so it runs on a helper thread that is abandoned if it is late.
pub fn resolve(host: &str, port: u16, timeout: Duration) -> Result<Vec<SocketAddr>, SmtpError> {
    if let Ok(ip) = host.parse::<IpAddr>() {
        return Ok(vec![SocketAddr::new(ip, port)]);
    }
    let (tx, rx) = mpsc::channel();
    let name = host.to_owned();
    let spawned = std::thread::Builder::new()
        .name("smtp-resolve".into())
        .spawn(move || {
            let r = (name.as_str(), port)
                .to_socket_addrs()
                .map(|it| it.collect::<Vec<_>>());
            let _ = tx.send(r);
        });
    if let Err(e) = spawned {
        return Err(SmtpError::Resolve {
            host: host.to_owned(),
            detail: format!("cannot start the resolver thread: {e}"),
        });
    }
    match rx.recv_timeout(timeout) {
        Ok(Ok(addrs)) if addrs.is_empty() => Err(SmtpError::Resolve {
            host: host.to_owned(),
            detail: "no addresses".into(),
        }),
        Ok(Ok(addrs)) => Ok(addrs),
        Ok(Err(e)) => Err(SmtpError::Resolve {
            host: host.to_owned(),
            detail: e.to_string(),
        }),
        Err(_) => Err(SmtpError::ResolveTimeout {
            host: host.to_owned(),
            after: timeout,
        }),
    }
}

fn scrub(mut bytes: Vec<u8>, secrets: &[Secret]) -> Vec<u8> {
    for s in secrets {
        let needle = s.expose().as_bytes();
        if needle.is_empty() {
            continue;
        }
        let mut out = Vec::with_capacity(bytes.len());
        let mut i = 0;
        while i < bytes.len() {
            if bytes[i..].starts_with(needle) {
                out.extend_from_slice(b"***");
                i += needle.len();
            } else {
                out.push(bytes[i]);
                i += 1;
            }
        }
        bytes = out;
    }
    bytes
}

fn is_timeout(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
    )
}

pub struct Client {
    stream: TcpStream,
    /// Set once STARTTLS succeeded: everything after goes through it.
    tls: Option<Box<rustls::ClientConnection>>,
    /// Bytes received but not yet consumed as lines.
    pending: Vec<u8>,
    timeout: Duration,
    transcript: Vec<TranscriptLine>,
    session: u32,
    /// Texts to replace by `***` wherever they appear in what the server sends.
    secrets: Vec<Secret>,
    /// What the next reply answers, for error messages (`the greeting`, `EHLO`, `AUTH PLAIN ***`).
    waiting_for: String,
    last_reply_time: Duration,
    pub local_addr: SocketAddr,
    pub peer_addr: SocketAddr,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("local_addr", &self.local_addr)
            .field("peer_addr", &self.peer_addr)
            .field("session", &self.session)
            .finish_non_exhaustive()
    }
}

impl Client {
    /// Connect to one address, first binding to `source` if given, within `timeout`.
    /// Does not read the greeting: call [`Client::read_reply`] next.
    pub fn connect(
        addr: SocketAddr,
        source: Option<IpAddr>,
        timeout: Duration,
    ) -> Result<Client, SmtpError> {
        let timeout = timeout.max(Duration::from_millis(1));
        let io_err = |during: &str, e: io::Error| SmtpError::Io {
            during: during.to_owned(),
            detail: e.to_string(),
        };
        let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))
            .map_err(|e| io_err("cannot create a socket", e))?;
        if let Some(src) = source {
            socket
                .bind(&SockAddr::from(SocketAddr::new(src, 0)))
                .map_err(|e| SmtpError::Bind {
                    source: src,
                    detail: e.to_string(),
                })?;
        }
        socket
            .connect_timeout(&SockAddr::from(addr), timeout)
            .map_err(|e| match e.kind() {
                io::ErrorKind::ConnectionRefused => SmtpError::Refused { addr },
                _ if is_timeout(&e) => SmtpError::ConnectTimeout {
                    addr,
                    after: timeout,
                },
                _ => SmtpError::Connect {
                    addr,
                    detail: e.to_string(),
                },
            })?;
        let stream: TcpStream = socket.into();
        stream
            .set_write_timeout(Some(timeout))
            .map_err(|e| io_err("cannot set a write timeout", e))?;
        // No Nagle: a command is one write and waits for its reply anyway, but TLS sends
        // records one write each (ChangeCipherSpec then ClientHello after a HelloRetryRequest,
        // Finished then the EHLO after the handshake). With Nagle the second waited for the
        // ACK of the first, which the server delays by 40 ms: four such stalls made up some
        // 170 ms of a 235 ms probe against sendmail (benches/probe_tls.sh).
        stream
            .set_nodelay(true)
            .map_err(|e| io_err("cannot set TCP_NODELAY", e))?;
        let local_addr = stream
            .local_addr()
            .map_err(|e| io_err("cannot read the local address", e))?;
        let peer_addr = stream.peer_addr().unwrap_or(addr);
        Ok(Client {
            stream,
            tls: None,
            pending: Vec::new(),
            timeout,
            transcript: Vec::new(),
            session: 1,
            secrets: Vec::new(),
            waiting_for: "the greeting".into(),
            last_reply_time: Duration::ZERO,
            local_addr,
            peer_addr,
        })
    }

    /// Resolve `host` and connect to the first of its addresses (at most three) that
    /// answers. With a `source`, only addresses of its family are tried.
    pub fn connect_host(
        host: &str,
        port: u16,
        source: Option<IpAddr>,
        timeout: Duration,
    ) -> Result<Client, SmtpError> {
        let mut addrs = resolve(host, port, timeout)?;
        if let Some(src) = source {
            addrs.retain(|a| a.is_ipv4() == src.is_ipv4());
            if addrs.is_empty() {
                let fam = if src.is_ipv4() { "IPv4" } else { "IPv6" };
                return Err(SmtpError::NoAddress {
                    host: host.to_owned(),
                    detail: format!(
                        "the source address {src} is {fam} but {host} has no {fam} address"
                    ),
                });
            }
        }
        let mut last = None;
        for addr in addrs.into_iter().take(MAX_ADDRESSES) {
            match Client::connect(addr, source, timeout) {
                Ok(c) => return Ok(c),
                // A bind failure will not get better with another address.
                Err(e @ SmtpError::Bind { .. }) => return Err(e),
                Err(e) => last = Some(e),
            }
        }
        Err(last.unwrap_or_else(|| SmtpError::NoAddress {
            host: host.to_owned(),
            detail: "no addresses".into(),
        }))
    }

    /// Number this connection's transcript lines carry (the probe opens several).
    pub fn set_session(&mut self, session: u32) {
        self.session = session;
    }

    pub fn transcript(&self) -> &[TranscriptLine] {
        &self.transcript
    }

    /// Hand over the transcript recorded so far.
    pub fn take_transcript(&mut self) -> Vec<TranscriptLine> {
        std::mem::take(&mut self.transcript)
    }

    /// Time between the last command sent (or the connect) and its complete reply.
    pub fn last_reply_time(&self) -> Duration {
        self.last_reply_time
    }

    /// From now on, replace `secret` by `***` in everything the server sends.
    pub fn add_secret(&mut self, secret: Secret) {
        if !secret.is_empty() && !self.secrets.contains(&secret) {
            self.secrets.push(secret);
        }
    }

    fn record(&mut self, dir: Dir, text: String) {
        self.transcript.push(TranscriptLine {
            dir,
            text,
            session: self.session,
        });
    }

    /// A received line as the transcript shows it: secrets replaced, non-printable bytes
    /// escaped, an over-long line cut.
    fn scrubbed_text(&self, bytes: &[u8]) -> String {
        let clean = scrub(bytes.to_vec(), &self.secrets);
        if clean.len() > MAX_LINE + 1 {
            return format!("{} [over-long line cut]", escape_bytes(&clean, 120));
        }
        let clean = clean.strip_suffix(b"\r").unwrap_or(&clean);
        match std::str::from_utf8(clean) {
            Ok(s) if !s.chars().any(|c| c.is_control() && c != '\t') => s.to_owned(),
            _ => escape_bytes(clean, 200),
        }
    }

    fn send_and_read(&mut self, wire: &str, shown: &str) -> Result<Reply, SmtpError> {
        self.send(wire, shown)?;
        self.read_reply()
    }

    /// Send a command and read its reply. Refuses `DATA`, `BDAT` and embedded line breaks.
    pub fn command(&mut self, line: &str) -> Result<Reply, SmtpError> {
        self.send_and_read(line, line)
    }

    pub fn ehlo(&mut self, name: &str) -> Result<Reply, SmtpError> {
        self.command(&format!("EHLO {name}"))
    }

    /// `AUTH PLAIN` with the initial response `base64("\0user\0password")` (RFC 4954). If the
    /// server answers 334 anyway, the same payload is sent once more. Returns the final reply
    /// (235 on success), recorded as `AUTH PLAIN ***`.
    pub fn auth_plain(&mut self, user: &str, password: &Secret) -> Result<Reply, SmtpError> {
        let raw = Secret::new(format!("\0{user}\0{}", password.expose()));
        let payload = Secret::new(B64.encode(raw.expose()));
        self.remember_password(password);
        self.add_secret(payload.clone());
        let wire = Secret::new(format!("AUTH PLAIN {}", payload.expose()));
        let reply = self.send_and_read(wire.expose(), "AUTH PLAIN ***")?;
        if reply.code == 334 {
            return self.send_and_read(payload.expose(), "***");
        }
        Ok(reply)
    }

    /// `AUTH LOGIN`: answers the 334 user name and password prompts with base64 payloads,
    /// recorded as `***`. Returns the first reply that is not 334 (or the third reply).
    pub fn auth_login(&mut self, user: &str, password: &Secret) -> Result<Reply, SmtpError> {
        self.remember_password(password);
        let reply = self.command("AUTH LOGIN")?;
        if reply.code != 334 {
            return Ok(reply);
        }
        let user64 = B64.encode(user);
        let reply = self.send_and_read(&user64, "*** (user name, base64)")?;
        if reply.code != 334 {
            return Ok(reply);
        }
        let pass64 = Secret::new(B64.encode(password.expose()));
        self.send_and_read(pass64.expose(), "*** (password, base64)")
    }

    fn remember_password(&mut self, password: &Secret) {
        self.add_secret(password.clone());
        self.add_secret(Secret::new(B64.encode(password.expose())));
    }

    /// `MAIL FROM:<from>`; an empty `from` sends the null reverse-path `<>`.
    pub fn mail_from(&mut self, from: &str) -> Result<Reply, SmtpError> {
        self.command(&format!("MAIL FROM:<{from}>"))
    }

    pub fn rcpt_to(&mut self, to: &str) -> Result<Reply, SmtpError> {
        self.command(&format!("RCPT TO:<{to}>"))
    }

    pub fn rset(&mut self) -> Result<Reply, SmtpError> {
        self.command("RSET")
    }

    /// `QUIT`, then close the sending side. The reply is read within the usual timeout.
    pub fn quit(&mut self) -> Result<Reply, SmtpError> {
        let r = self.command("QUIT");
        let _ = self.stream.shutdown(std::net::Shutdown::Both);
        r
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Nagle off on every connection (see [`Client::connect`]): with it, a TLS record written
    /// right after another waited for the server's delayed ACK.
    #[test]
    fn connections_are_made_without_nagle() {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = l.local_addr().unwrap();
        for source in [None, Some("127.0.0.1".parse().unwrap())] {
            let c = Client::connect(addr, source, Duration::from_secs(5)).unwrap();
            assert!(c.stream.nodelay().unwrap(), "TCP_NODELAY is not set");
            let c = Client::connect_host("127.0.0.1", addr.port(), source, Duration::from_secs(5))
                .unwrap();
            assert!(c.stream.nodelay().unwrap(), "TCP_NODELAY is not set");
        }
    }

    #[test]
    fn scrub_replaces_every_occurrence() {
        let s = [Secret::from("pw"), Secret::from("cHc=")];
        assert_eq!(
            scrub(b"535 pw bad cHc= pwpw".to_vec(), &s),
            b"535 *** bad *** ******".to_vec()
        );
    }

    #[test]
    fn resolve_ip_literals_without_lookup() {
        let a = resolve("::1", 25, Duration::from_millis(10)).unwrap();
        assert_eq!(a, vec!["[::1]:25".parse().unwrap()]);
        let a = resolve("127.0.0.1", 587, Duration::from_millis(10)).unwrap();
        assert_eq!(a, vec!["127.0.0.1:587".parse().unwrap()]);
    }
}
