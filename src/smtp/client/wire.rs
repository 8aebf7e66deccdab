//! Reading replies and writing lines, plain or inside TLS, each within its deadline.

use std::io::{self, Read};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use socket2::SockRef;

use super::super::reply::{Reply, ReplyBuilder, ReplyError, MAX_LINE};
use super::super::secret::Secret;
use super::{is_timeout, scrub, Client, Dir, SmtpError};

impl Client {
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
    pub(super) fn send(&mut self, wire: &str, shown: &str) -> Result<(), SmtpError> {
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
}

/// The socket as an `io::Write` for rustls and plain lines alike: `MSG_NOSIGNAL`, and no write
/// after `deadline`.
pub(super) struct NoSigPipe<'a> {
    pub(super) stream: &'a TcpStream,
    pub(super) deadline: Instant,
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
