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
use std::io::{self, Read};
use std::net::{IpAddr, SocketAddr, TcpStream, ToSocketAddrs};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use socket2::{Domain, Protocol, SockAddr, SockRef, Socket, Type};

use super::reply::{escape_bytes, Reply, ReplyBuilder, ReplyError, MAX_LINE};
use super::secret::Secret;

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

/// Everything that can go wrong below the level of a reply's meaning.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SmtpError {
    /// The host name did not resolve.
    Resolve {
        host: String,
        detail: String,
    },
    /// Name resolution took longer than the timeout.
    ResolveTimeout {
        host: String,
        after: Duration,
    },
    /// The host has no address the client can use (e.g. only IPv6 with an IPv4 source).
    NoAddress {
        host: String,
        detail: String,
    },
    /// Binding the client socket to the requested source address failed.
    Bind {
        source: IpAddr,
        detail: String,
    },
    /// Connection refused: nothing listens there.
    Refused {
        addr: SocketAddr,
    },
    ConnectTimeout {
        addr: SocketAddr,
        after: Duration,
    },
    /// Any other connect failure (no route, network unreachable, ...).
    Connect {
        addr: SocketAddr,
        detail: String,
    },
    /// No complete reply within the timeout.
    Timeout {
        waiting_for: String,
        after: Duration,
    },
    /// A command could not be sent within the timeout: the server does not read.
    WriteTimeout {
        command: String,
        after: Duration,
    },
    /// The server closed the connection before sending any byte of the reply.
    ClosedBeforeReply {
        waiting_for: String,
    },
    /// The server closed the connection after part of a reply.
    ClosedMidReply {
        waiting_for: String,
    },
    /// Bytes that are not an SMTP reply, an over-long line, too many lines.
    Protocol {
        waiting_for: String,
        error: ReplyError,
    },
    /// Refused locally: the command would contain a line break or send mail.
    InvalidCommand(String),
    Io {
        during: String,
        detail: String,
    },
    /// The TLS handshake after `220` to STARTTLS failed (certificate refused, protocol error,
    /// connection closed); `detail` says why.
    Tls {
        detail: String,
    },
    /// The TLS handshake did not finish within the timeout.
    TlsTimeout {
        after: Duration,
    },
    /// Bytes arrived after the `220` to STARTTLS and before the handshake: accepting them
    /// would let an attacker inject replies into the TLS session (CVE-2011-0411's kind).
    DataAfterStartTls,
}

impl SmtpError {
    /// True for the errors that happen before a TCP connection exists.
    pub fn is_connect_error(&self) -> bool {
        matches!(
            self,
            SmtpError::Resolve { .. }
                | SmtpError::ResolveTimeout { .. }
                | SmtpError::NoAddress { .. }
                | SmtpError::Bind { .. }
                | SmtpError::Refused { .. }
                | SmtpError::ConnectTimeout { .. }
                | SmtpError::Connect { .. }
        )
    }
}

fn secs(d: Duration) -> String {
    let ms = d.as_millis();
    if ms.is_multiple_of(1000) {
        format!("{} s", ms / 1000)
    } else {
        format!("{:.1} s", d.as_secs_f64())
    }
}

impl fmt::Display for SmtpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SmtpError::Resolve { host, detail } => write!(f, "cannot resolve {host}: {detail}"),
            SmtpError::ResolveTimeout { host, after } => {
                write!(f, "resolving {host} took longer than {}", secs(*after))
            }
            SmtpError::NoAddress { host, detail } => {
                write!(f, "no usable address for {host}: {detail}")
            }
            SmtpError::Bind { source, detail } => {
                write!(f, "cannot use {source} as the source address: {detail}")
            }
            SmtpError::Refused { addr } => {
                write!(
                    f,
                    "connection to {addr} refused: nothing is listening there"
                )
            }
            SmtpError::ConnectTimeout { addr, after } => write!(
                f,
                "no answer from {addr} within {} (connection attempt timed out)",
                secs(*after)
            ),
            SmtpError::Connect { addr, detail } => write!(f, "cannot connect to {addr}: {detail}"),
            SmtpError::Timeout { waiting_for, after } => {
                write!(
                    f,
                    "timed out after {} waiting for {waiting_for}",
                    secs(*after)
                )
            }
            SmtpError::WriteTimeout { command, after } => write!(
                f,
                "timed out after {} sending {command}: the server does not read",
                secs(*after)
            ),
            SmtpError::ClosedBeforeReply { waiting_for } => write!(
                f,
                "server closed the connection instead of sending {waiting_for}"
            ),
            SmtpError::ClosedMidReply { waiting_for } => write!(
                f,
                "server closed the connection in the middle of a reply (waiting for {waiting_for})"
            ),
            SmtpError::Protocol { waiting_for, error } => {
                write!(f, "{error} (waiting for {waiting_for})")
            }
            SmtpError::InvalidCommand(why) => write!(f, "command not sent: {why}"),
            SmtpError::Io { during, detail } => write!(f, "{during}: {detail}"),
            SmtpError::Tls { detail } => write!(f, "TLS handshake failed: {detail}"),
            SmtpError::TlsTimeout { after } => write!(
                f,
                "the TLS handshake did not finish within {}",
                secs(*after)
            ),
            SmtpError::DataAfterStartTls => write!(
                f,
                "the server sent more data after its 220 to STARTTLS, before the TLS handshake \
                 (replies injected into the session?): TLS not started"
            ),
        }
    }
}

impl std::error::Error for SmtpError {}

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

    /// Read one complete reply, within one deadline of `timeout`.
    pub fn read_reply(&mut self) -> Result<Reply, SmtpError> {
        let started = Instant::now();
        let deadline = started + self.timeout;
        let mut builder = ReplyBuilder::default();
        loop {
            let raw = self.read_line(deadline, builder.started())?;
            let clean = scrub(raw, &self.secrets);
            let shown = self.scrubbed_text(&clean);
            match builder.push(&clean) {
                Ok(done) => {
                    self.record(Dir::Server, shown);
                    if let Some(reply) = done {
                        self.last_reply_time = started.elapsed();
                        return Ok(reply);
                    }
                }
                Err(error) => {
                    self.record(Dir::Server, shown);
                    return Err(SmtpError::Protocol {
                        waiting_for: self.waiting_for.clone(),
                        error,
                    });
                }
            }
        }
    }

    /// One line without its LF (a CR before it is left for the parser), or an error.
    fn read_line(&mut self, deadline: Instant, mid_reply: bool) -> Result<Vec<u8>, SmtpError> {
        let mut chunk = [0u8; 2048];
        loop {
            if let Some(pos) = self.pending.iter().position(|&b| b == b'\n') {
                let mut line: Vec<u8> = self.pending.drain(..=pos).collect();
                line.pop();
                return Ok(line);
            }
            // +1: a CR may still precede the LF.
            if self.pending.len() > MAX_LINE + 1 {
                let shown = self.scrubbed_text(&self.pending);
                self.record(Dir::Server, shown);
                self.pending.clear();
                return Err(SmtpError::Protocol {
                    waiting_for: self.waiting_for.clone(),
                    error: ReplyError::LineTooLong,
                });
            }
            let now = Instant::now();
            if now >= deadline {
                self.record_partial("[no end of line before the timeout]");
                return Err(SmtpError::Timeout {
                    waiting_for: self.waiting_for.clone(),
                    after: self.timeout,
                });
            }
            let wait = (deadline - now).max(Duration::from_millis(1));
            if let Err(e) = self.stream.set_read_timeout(Some(wait)) {
                return Err(SmtpError::Io {
                    during: "cannot set a read timeout".into(),
                    detail: e.to_string(),
                });
            }
            match self.read_some(&mut chunk) {
                Ok(0) => return Err(self.closed(mid_reply)),
                Ok(n) => self.pending.extend_from_slice(&chunk[..n]),
                Err(e) if is_timeout(&e) || e.kind() == io::ErrorKind::Interrupted => {}
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::ConnectionReset | io::ErrorKind::ConnectionAborted
                    ) =>
                {
                    return Err(self.closed(mid_reply))
                }
                Err(e) => {
                    return Err(SmtpError::Io {
                        during: format!("reading the reply to {}", self.waiting_for),
                        detail: e.to_string(),
                    })
                }
            }
        }
    }

    fn record_partial(&mut self, note: &str) {
        if !self.pending.is_empty() {
            let cut = self.pending.len().min(200);
            let shown = format!("{} {note}", self.scrubbed_text(&self.pending[..cut]));
            self.record(Dir::Server, shown);
        }
    }

    fn closed(&mut self, mid_reply: bool) -> SmtpError {
        let waiting_for = self.waiting_for.clone();
        if mid_reply || !self.pending.is_empty() {
            self.record_partial("[connection closed in the middle of the line]");
            self.pending.clear();
            SmtpError::ClosedMidReply { waiting_for }
        } else {
            SmtpError::ClosedBeforeReply { waiting_for }
        }
    }

    /// Send one line, recording `shown` instead of `wire` in the transcript.
    fn send(&mut self, wire: &str, shown: &str) -> Result<(), SmtpError> {
        if wire.contains(['\r', '\n', '\0']) {
            return Err(SmtpError::InvalidCommand(format!(
                "{shown:?} contains a line break or NUL"
            )));
        }
        let verb = wire
            .split_whitespace()
            .next()
            .unwrap_or("")
            .to_ascii_uppercase();
        if verb == "DATA" || verb == "BDAT" {
            return Err(SmtpError::InvalidCommand(
                "this client never sends DATA or BDAT: no mail is ever sent".into(),
            ));
        }
        // Inside a Secret so that this copy of an AUTH payload is zeroed when dropped.
        let line = Secret::new(format!("{wire}\r\n"));
        self.waiting_for = format!("the reply to {shown}");
        self.record(Dir::Client, shown.to_owned());
        match self.write_all(line.expose().as_bytes()) {
            Ok(()) => Ok(()),
            Err(e) if is_timeout(&e) => Err(SmtpError::WriteTimeout {
                command: shown.to_owned(),
                after: self.timeout,
            }),
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::BrokenPipe
                        | io::ErrorKind::ConnectionReset
                        | io::ErrorKind::ConnectionAborted
                ) =>
            {
                Err(SmtpError::ClosedBeforeReply {
                    waiting_for: self.waiting_for.clone(),
                })
            }
            Err(e) => Err(SmtpError::Io {
                during: format!("sending {shown}"),
                detail: e.to_string(),
            }),
        }
    }

    /// `write_all` with `MSG_NOSIGNAL`: a server that closed the connection must give an error,
    /// not a SIGPIPE that kills the process if the program restored the default handler.
    /// `SO_SNDTIMEO` (the write timeout) bounds each send, the deadline the whole write.
    /// Inside TLS the line is encrypted first and the records are sent the same way.
    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        let deadline = Instant::now() + self.timeout;
        let mut sock = NoSigPipe {
            stream: &self.stream,
            deadline,
        };
        match self.tls.as_mut() {
            None => io::Write::write_all(&mut sock, buf),
            Some(tls) => {
                io::Write::write_all(&mut tls.writer(), buf)?;
                while tls.wants_write() {
                    tls.write_tls(&mut sock)?;
                }
                Ok(())
            }
        }
    }

    /// Read what is there (plain text, or decrypted inside TLS), within the read timeout set
    /// on the socket. `Ok(0)`: the connection was closed.
    fn read_some(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let Some(tls) = self.tls.as_mut() else {
            return self.stream.read(buf);
        };
        loop {
            match tls.reader().read(buf) {
                Ok(n) => return Ok(n),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                // Closed without close_notify: for SMTP, a closed connection like any other.
                Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(0),
                Err(e) => return Err(e),
            }
            if tls.read_tls(&mut self.stream)? == 0 {
                return Ok(0);
            }
            tls.process_new_packets()
                .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
        }
    }

    /// True once STARTTLS succeeded on this connection.
    pub fn is_tls(&self) -> bool {
        self.tls.is_some()
    }

    /// The negotiated TLS version and cipher suite (`TLSv1.3`, `TLS13_AES_256_GCM_SHA384`).
    pub fn tls_version_and_cipher(&self) -> Option<(String, String)> {
        let t = self.tls.as_ref()?;
        let v = t.protocol_version().map(super::tls::version_name)?;
        let c = t
            .negotiated_cipher_suite()
            .map(|s| format!("{:?}", s.suite()))?;
        Some((v, c))
    }

    /// Whether this connection's TLS resumed an earlier session of the same probe (no
    /// certificate was sent or verified in this handshake: the resumed one was).
    pub fn tls_resumed(&self) -> bool {
        self.tls
            .as_ref()
            .and_then(|t| t.handshake_kind())
            .is_some_and(|k| k == rustls::HandshakeKind::Resumed)
    }

    /// `STARTTLS`; on `220` the TLS handshake over the same socket, within one deadline of the
    /// timeout (a server that stalls mid-handshake gets [`SmtpError::TlsTimeout`]). Returns the
    /// reply to STARTTLS: anything but 220 means TLS was refused and the session goes on in
    /// the clear. After success the caller must send EHLO again (RFC 3207).
    pub fn starttls(
        &mut self,
        config: std::sync::Arc<rustls::ClientConfig>,
        name: rustls::pki_types::ServerName<'static>,
    ) -> Result<Reply, SmtpError> {
        if self.tls.is_some() {
            return Err(SmtpError::InvalidCommand("TLS is already active".into()));
        }
        let reply = self.command("STARTTLS")?;
        if reply.code != 220 {
            return Ok(reply);
        }
        if !self.pending.is_empty() {
            self.pending.clear();
            return Err(SmtpError::DataAfterStartTls);
        }
        let conn = rustls::ClientConnection::new(config, name).map_err(|e| SmtpError::Tls {
            detail: e.to_string(),
        })?;
        self.tls = Some(Box::new(conn));
        self.waiting_for = "the TLS handshake".into();
        let res = self.handshake(Instant::now() + self.timeout);
        match res {
            Ok(()) => {
                if let Some((v, c)) = self.tls_version_and_cipher() {
                    let resumed = self.tls_resumed();
                    let how = if resumed { ", session resumed" } else { "" };
                    self.record(Dir::Client, format!("[TLS started: {v}, {c}{how}]"));
                }
                Ok(reply)
            }
            Err(e) => {
                self.tls = None;
                Err(e)
            }
        }
    }

    fn handshake(&mut self, deadline: Instant) -> Result<(), SmtpError> {
        let timeout = self.timeout;
        let Some(tls) = self.tls.as_mut() else {
            return Ok(());
        };
        let write_err = |e: io::Error| {
            if is_timeout(&e) {
                SmtpError::TlsTimeout { after: timeout }
            } else {
                SmtpError::Tls {
                    detail: format!("sending: {e}"),
                }
            }
        };
        loop {
            while tls.wants_write() {
                let mut sock = NoSigPipe {
                    stream: &self.stream,
                    deadline,
                };
                tls.write_tls(&mut sock).map_err(write_err)?;
            }
            if !tls.is_handshaking() {
                return Ok(());
            }
            let now = Instant::now();
            if now >= deadline {
                return Err(SmtpError::TlsTimeout { after: timeout });
            }
            self.stream
                .set_read_timeout(Some((deadline - now).max(Duration::from_millis(1))))
                .map_err(|e| SmtpError::Io {
                    during: "cannot set a read timeout".into(),
                    detail: e.to_string(),
                })?;
            match tls.read_tls(&mut self.stream) {
                Ok(0) => {
                    return Err(SmtpError::Tls {
                        detail: "the server closed the connection during the handshake".into(),
                    })
                }
                Ok(_) => {
                    if let Err(e) = tls.process_new_packets() {
                        // Tell the server why (the alert rustls queued), best effort.
                        let mut sock = NoSigPipe {
                            stream: &self.stream,
                            deadline,
                        };
                        let _ = tls.write_tls(&mut sock);
                        return Err(SmtpError::Tls {
                            detail: super::tls::describe_error(&e),
                        });
                    }
                }
                Err(e) if is_timeout(&e) || e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    return Err(SmtpError::Tls {
                        detail: format!("reading: {e}"),
                    })
                }
            }
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

/// The socket as an `io::Write` for rustls and plain lines alike: `MSG_NOSIGNAL`, and no write
/// after `deadline`.
struct NoSigPipe<'a> {
    stream: &'a TcpStream,
    deadline: Instant,
}

impl io::Write for NoSigPipe<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if Instant::now() >= self.deadline {
            return Err(io::ErrorKind::TimedOut.into());
        }
        loop {
            match SockRef::from(self.stream).send_with_flags(buf, libc::MSG_NOSIGNAL) {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Ok(0) if !buf.is_empty() => return Err(io::ErrorKind::WriteZero.into()),
                r => return r,
            }
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
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

    #[test]
    fn durations_read_naturally() {
        assert_eq!(secs(Duration::from_secs(10)), "10 s");
        assert_eq!(secs(Duration::from_millis(300)), "0.3 s");
    }
}
