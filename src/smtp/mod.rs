//! The HOWTO's step 9 done by a program: connect to the mail server, read the greeting, send
//! `EHLO`, look for `250-AUTH LOGIN PLAIN`, check that relaying is refused without AUTH and
//! accepted after `AUTH PLAIN` and `AUTH LOGIN`, and say in plain words what the answers mean
//! (the symptoms of `DIAGNOSTICS.md` that can be seen from the client side).
//!
//! Layers, each usable alone:
//! - [`reply`]: parsing replies (pure);
//! - [`ehlo`]: what an EHLO reply advertises (pure);
//! - [`client`]: a blocking client on std's `TcpStream` where every step has a bound;
//! - [`probe`](mod@probe): the test sequence, its checks, verdicts, report and exit code.
//!
//! What this module must never do: send `DATA` (no mail is ever sent), write a password or an
//! AUTH payload anywhere (transcript, report, error text), or wait without a bound.

pub mod client;
pub mod ehlo;
pub mod probe;
pub mod reply;
pub mod secret;
pub mod tls;

pub use client::{resolve, Client, Dir, SmtpError, TranscriptLine};
pub use ehlo::Ehlo;
pub use probe::{password_may_be_sent, probe, Check, ProbeReport, Status, TlsReport};
pub use reply::{parse_reply, parse_reply_line, Reply, ReplyError, MAX_LINE, MAX_LINES};
pub use secret::Secret;
pub use tls::TlsMode;

use std::net::{IpAddr, Ipv6Addr};
use std::time::Duration;

/// Port used when the target names none: the MTA port the HOWTO opens to the network.
pub const DEFAULT_PORT: u16 = 25;
/// Connect and per-reply timeout when none is given.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
/// Recipient of the relay tests: a domain reserved by RFC 2606 that no server hosts, so
/// accepting it is relaying. Nothing is ever sent to it (no DATA).
pub const DEFAULT_RELAY_TO: &str = "relay-test@example.com";

/// What [`probe()`] does and to whom.
#[derive(Debug, Clone)]
pub struct ProbeOptions {
    pub host: String,
    pub port: u16,
    /// Name sent with EHLO; defaults to this machine's host name.
    pub ehlo_name: String,
    /// With a user, AUTH PLAIN and AUTH LOGIN are tried (each on its own connection).
    pub user: Option<String>,
    pub password: Option<Secret>,
    /// An address outside the server's domains: the relay tests' recipient.
    pub relay_to: String,
    /// MAIL FROM for the relay tests. Empty means the null sender `<>`, which sendmail accepts
    /// without checking that a sender domain resolves (a test network may have no DNS).
    pub from: String,
    /// Bind the client socket to this local address before connecting. The relay-denial test
    /// means nothing from 127.0.0.1 (sendmail always relays for it); on Linux any 127.x.y.z
    /// works against a loopback target, e.g. 127.0.0.2.
    pub source_ip: Option<IpAddr>,
    /// Bound for name resolution, connect, each write and each complete reply.
    pub timeout: Duration,
    /// Skip the unauthenticated relay test (the engine's `ehlo` step only wants the EHLO).
    pub skip_relay_denial: bool,
    /// Send the password without TLS to a server that is not on this machine and offers no
    /// STARTTLS (`--allow-plaintext`). Never when STARTTLS is offered.
    pub allow_plaintext: bool,
    /// STARTTLS when offered (default), never (`--no-starttls`), or required (`--tls-required`).
    pub tls: tls::TlsMode,
    /// Verify the server's certificate (system roots + `tls_ca`, against `tls_name` or the
    /// host). `false` is `--no-verify-cert`: the session is still encrypted, the report says
    /// "certificate not verified", and the password goes only to a loopback target (or with
    /// `allow_plaintext`).
    pub verify_cert: bool,
    /// More trusted certificates, PEM (`--tls-ca FILE`): e.g. the server's own self-signed one.
    pub tls_ca: Option<std::path::PathBuf>,
    /// The name the certificate must be valid for, when it is not the target's host
    /// (`--tls-name`, e.g. probing 127.0.0.1 whose certificate says mailsrv.example.test).
    pub tls_name: Option<String>,
}

impl ProbeOptions {
    /// Options with the defaults: EHLO with this host's name, no AUTH, null sender,
    /// [`DEFAULT_RELAY_TO`], no source address, [`DEFAULT_TIMEOUT`].
    pub fn new(host: impl Into<String>, port: u16) -> ProbeOptions {
        ProbeOptions {
            host: host.into(),
            port,
            ehlo_name: local_hostname(),
            user: None,
            password: None,
            relay_to: DEFAULT_RELAY_TO.to_owned(),
            from: String::new(),
            source_ip: None,
            timeout: DEFAULT_TIMEOUT,
            skip_relay_denial: false,
            allow_plaintext: false,
            tls: tls::TlsMode::Auto,
            verify_cert: true,
            tls_ca: None,
            tls_name: None,
        }
    }

    /// Options for a `HOST[:PORT]` target (see [`parse_target`]).
    pub fn for_target(target: &str) -> Result<ProbeOptions, String> {
        let (host, port) = parse_target(target)?;
        Ok(ProbeOptions::new(host, port))
    }

    /// `host:port` as people write it, `[::1]:25` for IPv6.
    pub fn target(&self) -> String {
        format_target(&self.host, self.port)
    }
}

impl Default for ProbeOptions {
    fn default() -> Self {
        ProbeOptions::new("localhost", DEFAULT_PORT)
    }
}

/// This machine's host name, or `localhost` if it cannot be read or is not a usable name.
pub fn local_hostname() -> String {
    nix::unistd::gethostname()
        .ok()
        .and_then(|s| s.into_string().ok())
        .filter(|s| !s.is_empty() && is_host_name(s))
        .unwrap_or_else(|| "localhost".to_owned())
}

fn is_host_name(s: &str) -> bool {
    s.len() <= 253
        && !s.starts_with(['.', '-'])
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-' || b == b'_')
}

pub(crate) fn format_target(host: &str, port: u16) -> String {
    if host.parse::<Ipv6Addr>().is_ok() {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}

/// Parse `HOST`, `HOST:PORT`, `[IPV6]`, `[IPV6]:PORT` or a bare IPv6 address; the port defaults
/// to 25. The host is returned without brackets.
pub fn parse_target(target: &str) -> Result<(String, u16), String> {
    let t = target.trim();
    if t.is_empty() {
        return Err("empty target: expected HOST[:PORT]".into());
    }
    let port_of = |p: &str| -> Result<u16, String> {
        match p.parse::<u16>() {
            Ok(0) => Err(format!("port 0 in {t:?} is not a port one can connect to")),
            Ok(n) => Ok(n),
            Err(_) if p.is_empty() => Err(format!("{t:?} ends in ':' but names no port")),
            Err(_) => Err(format!("{p:?} in {t:?} is not a port number (1-65535)")),
        }
    };
    if let Some(rest) = t.strip_prefix('[') {
        let (inside, after) = rest
            .split_once(']')
            .ok_or_else(|| format!("{t:?}: '[' without ']'"))?;
        if inside.parse::<Ipv6Addr>().is_err() {
            return Err(format!("{inside:?} in {t:?} is not an IPv6 address"));
        }
        let port = match after {
            "" => DEFAULT_PORT,
            _ => port_of(
                after
                    .strip_prefix(':')
                    .ok_or_else(|| format!("{t:?}: expected ':PORT' after ']'"))?,
            )?,
        };
        return Ok((inside.to_owned(), port));
    }
    if t.parse::<Ipv6Addr>().is_ok() {
        return Ok((t.to_owned(), DEFAULT_PORT));
    }
    let (host, port) = match t.split_once(':') {
        Some((h, p)) if !p.contains(':') => (h, port_of(p)?),
        Some(_) => {
            return Err(format!(
                "{t:?} is not an IPv6 address; write IPv6 with a port as [ADDRESS]:PORT"
            ))
        }
        None => (t, DEFAULT_PORT),
    };
    if host.is_empty() {
        return Err(format!("{t:?} names no host"));
    }
    if !is_host_name(host) {
        return Err(format!("{host:?} is not a host name or address"));
    }
    Ok((host.to_owned(), port))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets() {
        let ok = |t: &str| parse_target(t).unwrap();
        assert_eq!(ok("mailsrv"), ("mailsrv".into(), 25));
        assert_eq!(ok("mailsrv:587"), ("mailsrv".into(), 587));
        assert_eq!(ok(" 127.0.0.1:2525 "), ("127.0.0.1".into(), 2525));
        assert_eq!(ok("[::1]:25"), ("::1".into(), 25));
        assert_eq!(ok("[::1]"), ("::1".into(), 25));
        assert_eq!(ok("::1"), ("::1".into(), 25));
        assert_eq!(ok("[fe80::1]:587"), ("fe80::1".into(), 587));
        assert_eq!(ok("mail.example.com"), ("mail.example.com".into(), 25));
    }

    #[test]
    fn bad_targets_say_why() {
        for bad in [
            "",
            "host:",
            "host:0",
            "host:70000",
            "host:smtp",
            ":25",
            "[::1",
            "[::1]25",
            "[nothost]:25",
            "a:b:c",
            "bad host",
            "-x",
        ] {
            let e = parse_target(bad).unwrap_err();
            assert!(!e.is_empty(), "{bad}");
        }
    }

    #[test]
    fn target_formatting() {
        assert_eq!(format_target("::1", 25), "[::1]:25");
        assert_eq!(format_target("mailsrv", 25), "mailsrv:25");
    }

    #[test]
    fn options_debug_hides_the_password() {
        let mut o = ProbeOptions::new("mailsrv", 25);
        o.password = Some(Secret::from("hunter2"));
        let d = format!("{o:?}");
        assert!(!d.contains("hunter2"), "{d}");
        assert!(d.contains("Some(***)"), "{d}");
    }

    #[test]
    fn defaults() {
        let o = ProbeOptions::default();
        assert_eq!(o.port, 25);
        assert_eq!(o.timeout, Duration::from_secs(10));
        assert!(o.relay_to.ends_with("@example.com"));
        assert!(!o.ehlo_name.is_empty());
        assert!(o.from.is_empty());
    }
}
