//! The probe's connections: connect and greeting, a later connection, QUIT, one command.

use super::*;

impl Prober<'_> {
    /// Connect and read the greeting. `id` names the check a failure is recorded under.
    pub(super) fn open(&mut self, id: &str) -> Flow<Client> {
        let o = self.o;
        self.session += 1;
        let first = self.session == 1;
        let mut c = match Client::connect_host(&o.host, o.port, o.source_ip, o.timeout) {
            Ok(c) => c,
            Err(e) => {
                let (detail, hint) = self.connect_error(&e);
                let detail = if first {
                    detail
                } else {
                    format!("reconnecting: {detail}")
                };
                self.check(id, Status::Error, detail, hint);
                self.r.error.get_or_insert(e.to_string());
                return Err(BROKEN);
            }
        };
        c.set_session(self.session);
        if first {
            self.r.connected = true;
            self.r.source = Some(c.local_addr.to_string());
            let detail = format!("connected to {} from {}", c.peer_addr, c.local_addr);
            self.check("connect", Status::Pass, detail, None);
        }
        let greeting_id = if first { "greeting" } else { id };
        let reply = match c.read_reply() {
            Ok(r) => r,
            Err(e) => {
                self.smtp_error(greeting_id, &e);
                self.close(c, false);
                return Err(BROKEN);
            }
        };
        if first {
            self.r.greeting = Some(reply.text());
        }
        if reply.code == 220 {
            if first {
                self.check("greeting", Status::Pass, reply.summary(), None);
            }
            return Ok(c);
        }
        if reply.code == 421 {
            self.shutting_down(greeting_id, &reply);
        } else if reply.code == 554 || reply.is_permanent() {
            self.check(
                greeting_id,
                Status::Fail,
                format!("the server refuses this client: {}", reply.summary()),
                Some("test from an address the server accepts".into()),
            );
            let src = c.local_addr.ip();
            self.verdict(format!(
                "The server greeted with a refusal ({}): it does not serve clients from {src}. \
                 sendmail does this for an access-database REJECT entry (`Connect:{src} REJECT`), \
                 a DNS blocklist hit, or when it refuses connections altogether.",
                reply.summary()
            ));
        } else {
            self.check(
                greeting_id,
                Status::Error,
                format!("unexpected greeting: {}", reply.summary()),
                None,
            );
            self.verdict(format!(
                "The server's first reply was {} instead of a 220 greeting: this is not a mail \
                 server ready to talk SMTP.",
                reply.summary()
            ));
        }
        self.close(c, reply.code != 421);
        Err(BROKEN)
    }

    /// A later connection: greeting and EHLO, failures recorded under `id`.
    pub(super) fn reopen(&mut self, id: &str) -> Flow<Client> {
        let mut c = self.open(id)?;
        match c.ehlo(&self.o.ehlo_name) {
            Ok(r) if r.code == 250 => Ok(c),
            Ok(r) => {
                if r.code == 421 {
                    self.shutting_down(id, &r);
                } else {
                    self.check(
                        id,
                        Status::Error,
                        format!("reconnecting: EHLO refused: {}", r.summary()),
                        None,
                    );
                }
                self.close(c, r.code != 421);
                Err(BROKEN)
            }
            Err(e) => {
                self.smtp_error(id, &e);
                self.close(c, false);
                Err(BROKEN)
            }
        }
    }

    pub(super) fn close(&mut self, mut c: Client, healthy: bool) {
        if healthy {
            // The reply to QUIT does not matter; its absence is not worth a verdict.
            let _ = c.quit();
        }
        self.r.transcript.extend(c.take_transcript());
    }

    /// Run a command; a transport error or a 421 becomes an error check under `id` and stops.
    pub(super) fn cmd(
        &mut self,
        c: &mut Client,
        id: &str,
        f: impl FnOnce(&mut Client) -> Result<Reply, SmtpError>,
    ) -> Flow<Reply> {
        match f(c) {
            Ok(r) if r.code == 421 => {
                self.shutting_down(id, &r);
                Err(BROKEN)
            }
            Ok(r) => Ok(r),
            Err(e) => {
                self.smtp_error(id, &e);
                Err(BROKEN)
            }
        }
    }
}
