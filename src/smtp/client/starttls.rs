//! STARTTLS on the client: the upgrade, the handshake within one deadline, and what was
//! negotiated.

use std::io;
use std::time::{Duration, Instant};

use super::super::reply::Reply;
use super::wire::NoSigPipe;
use super::{is_timeout, Client, Dir, SmtpError};

impl Client {
    /// True once STARTTLS succeeded on this connection.
    pub fn is_tls(&self) -> bool {
        self.tls.is_some()
    }

    /// The negotiated TLS version and cipher suite (`TLSv1.3`, `TLS13_AES_256_GCM_SHA384`).
    pub fn tls_version_and_cipher(&self) -> Option<(String, String)> {
        let t = self.tls.as_ref()?;
        let v = t.protocol_version().map(super::super::tls::version_name)?;
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
                            detail: super::super::tls::describe_error(&e),
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
}
