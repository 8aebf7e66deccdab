//! The client's errors: everything that can go wrong below the level of a reply's meaning.

use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use super::super::reply::ReplyError;

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_naturally() {
        assert_eq!(secs(Duration::from_secs(10)), "10 s");
        assert_eq!(secs(Duration::from_millis(300)), "0.3 s");
    }
}
