//! The probe's sessions: the first one (EHLO, AUTH line, STARTTLS), the relay test without AUTH,
//! and AUTH PLAIN/LOGIN with the relay test after each.

use super::*;

impl Prober<'_> {
    pub(super) fn first_session(&mut self, c: &mut Client) -> Flow<()> {
        let o = self.o;
        let name = o.ehlo_name.clone();
        let reply = self.cmd(c, "ehlo", |c| c.ehlo(&name))?;
        if reply.code != 250 {
            let (status, verdict) = if reply.code == 501 {
                (
                    Status::Fail,
                    format!(
                        "The server rejected the EHLO name {name:?} ({}): give a fully qualified \
                         host name (--ehlo-name).",
                        reply.summary()
                    ),
                )
            } else if reply.is_permanent() {
                (
                    Status::Fail,
                    format!(
                        "The server does not accept EHLO ({}): without ESMTP there is no AUTH.",
                        reply.summary()
                    ),
                )
            } else {
                (
                    Status::Error,
                    format!("The server answered EHLO with {}.", reply.summary()),
                )
            };
            self.check(
                "ehlo",
                status,
                format!("EHLO refused: {}", reply.summary()),
                None,
            );
            self.verdict(verdict);
            // The server refused EHLO but still talks: say goodbye properly.
            return Err(Stop { quit: true });
        }
        let ehlo = Ehlo::parse(&reply);
        self.check(
            "ehlo",
            Status::Pass,
            format!(
                "{} capabilities: {}",
                ehlo.capabilities.len(),
                ehlo.capabilities.join(", ")
            ),
            None,
        );
        self.r.auth_mechanisms = ehlo.auth_mechanisms.clone();
        self.r.starttls = ehlo.starttls;
        self.r.capabilities = ehlo.capabilities.clone();
        self.ehlo = Some(ehlo);

        if o.skip_relay_denial {
            self.check("relay-denied", Status::Skipped, "not requested", None);
        } else {
            self.relay_denial(c)?;
        }
        Ok(())
    }

    /// The source address as the server sees it, for judging an accepted relay.
    fn source_ip(c: &Client) -> IpAddr {
        c.local_addr.ip()
    }

    fn relay_denial(&mut self, c: &mut Client) -> Flow<()> {
        let o = self.o;
        let id = "relay-denied";
        let from = o.from.clone();
        let to = o.relay_to.clone();
        let mail = self.cmd(c, id, |c| c.mail_from(&from))?;
        if !mail.is_positive() {
            self.mail_refused(id, &mail, false);
            self.cmd(c, id, |c| c.rset())?;
            return Ok(());
        }
        let rcpt = self.cmd(c, id, |c| c.rcpt_to(&to))?;
        let src = Self::source_ip(c);
        let text = rcpt.text();
        let lower = text.to_ascii_lowercase();
        if rcpt.is_positive() {
            self.relay_accepted(id, &rcpt, src);
        } else if rcpt.is_permanent() && is_user_unknown(&rcpt) {
            self.local_recipient(id, &rcpt);
        } else if rcpt.is_permanent() {
            let relaying = lower.contains("relay") || rcpt.enhanced_code() == Some("5.7.1");
            let detail = format!("refused without AUTH: {}", rcpt.summary());
            if relaying && lower.contains("authentication required") {
                self.check(id, Status::Pass, detail, None);
            } else if relaying {
                self.check(id, Status::Pass, detail, None);
                self.verdict(
                    "Relaying is refused, but without sendmail's \"Proper authentication \
                     required.\" suffix: the running sendmail.cf probably has no \
                     TRUST_AUTH_MECH (still behind `dnl`, or sendmail.cf not regenerated or the \
                     daemon not restarted; symptom #14). Then authenticated clients cannot \
                     relay either.",
                );
            } else {
                self.check(
                    id,
                    Status::Pass,
                    detail,
                    Some(
                        "refused, though not as a relay refusal: make sure --relay-to is in a \
                         domain the server does not handle"
                            .into(),
                    ),
                );
            }
        } else if rcpt.is_transient() && lower.contains("relaying temporarily denied") {
            self.check(
                id,
                Status::Pass,
                format!("refused without AUTH (temporarily): {}", rcpt.summary()),
                Some(
                    "sendmail could not resolve this client's address to a name and refuses \
                     relaying until it can (\"Cannot resolve PTR record\"); fine for this test"
                        .into(),
                ),
            );
        } else {
            self.check(
                id,
                Status::Error,
                format!("inconclusive: RCPT answered {}", rcpt.summary()),
                Some("a temporary failure proves nothing either way; try again".into()),
            );
        }
        self.cmd(c, id, |c| c.rset())?;
        Ok(())
    }

    pub(super) fn authenticate(
        &mut self,
        c: &mut Client,
        mech: &str,
        user: &str,
        password: &super::super::Secret,
    ) -> Flow<()> {
        let id = format!("auth-{}", mech.to_ascii_lowercase());
        let reply = if mech == "PLAIN" {
            self.cmd(c, &id, |c| c.auth_plain(user, password))?
        } else {
            self.cmd(c, &id, |c| c.auth_login(user, password))?
        };
        let took = c.last_reply_time();
        if reply.code == 235 {
            self.check(
                &id,
                Status::Pass,
                format!("accepted: {}", reply.summary()),
                None,
            );
            if !c.peer_addr.ip().is_loopback() && !c.is_tls() {
                self.verdict(format!(
                    "This probe sent the password to {} without TLS, as every client of this \
                     server does until STARTTLS is configured.",
                    c.peer_addr
                ));
            }
            return self.relay_authenticated(c, mech);
        }
        let (status, detail, hint) = match reply.code {
            535 => {
                // The delay tells the causes apart (DIAGNOSTICS, observed): saslauthd unreachable
                // or an invalid pwcheck_method fail in ~55 ms, PAM delays a wrong password ~2 s.
                let timing = if took < Duration::from_millis(500) {
                    "The refusal came at once, which usually means the password could not be \
                     checked at all: saslauthd not running or its socket path wrong (symptom \
                     #9), or `pwcheck_method: pam`, the HOWTO's SASL v1 value, which SASL v2 \
                     rejects (symptom #10)."
                } else {
                    "The refusal came after a delay, as PAM does after a wrong password: the \
                     user name or password is probably wrong (symptom #11)."
                };
                self.verdict(format!(
                    "The server refused the login ({}): a wrong user name or password, or a \
                     server that cannot check passwords. {timing} On the server, `testsaslauthd \
                     -u USER -p PASS -s smtp -f /run/saslauthd/mux` tells which.",
                    reply.summary()
                ));
                (
                    Status::Fail,
                    format!(
                        "login refused after {} ms: {}",
                        took.as_millis(),
                        reply.summary()
                    ),
                    Some(
                        "check the credentials, saslauthd and pwcheck_method (see below)"
                            .to_owned(),
                    ),
                )
            }
            503 => (
                Status::Fail,
                format!("AUTH not available here: {}", reply.summary()),
                Some("`M=A` in this port's DAEMON_OPTIONS disables AUTH (symptom #7)".to_owned()),
            ),
            504 => (
                Status::Fail,
                format!("mechanism refused although advertised: {}", reply.summary()),
                Some("the SASL plugin or mech_list does not match the advertised list".to_owned()),
            ),
            534 | 538 => (
                Status::Fail,
                format!("mechanism refused without encryption: {}", reply.summary()),
                Some("the server wants TLS first: configure STARTTLS or drop `p`".to_owned()),
            ),
            454 => (
                Status::Fail,
                format!("temporary authentication failure: {}", reply.summary()),
                Some("saslauthd or the password backend is failing; check the auth log".to_owned()),
            ),
            334 => (
                Status::Fail,
                format!("the server still asks for more: {}", reply.summary()),
                None,
            ),
            _ => (
                Status::Fail,
                format!("unexpected reply: {}", reply.summary()),
                None,
            ),
        };
        self.check(&id, status, detail, hint);
        Ok(())
    }

    fn relay_authenticated(&mut self, c: &mut Client, mech: &str) -> Flow<()> {
        let id = format!("relay-authenticated-{}", mech.to_ascii_lowercase());
        let from = self.o.from.clone();
        let to = self.o.relay_to.clone();
        let mail = self.cmd(c, &id, |c| c.mail_from(&from))?;
        if !mail.is_positive() {
            self.mail_refused(&id, &mail, true);
            self.cmd(c, &id, |c| c.rset())?;
            return Ok(());
        }
        let rcpt = self.cmd(c, &id, |c| c.rcpt_to(&to))?;
        if rcpt.is_positive() {
            self.check(
                &id,
                Status::Pass,
                format!("accepted after AUTH {mech}: {}", rcpt.summary()),
                None,
            );
        } else if rcpt.is_permanent() && is_user_unknown(&rcpt) {
            self.local_recipient(&id, &rcpt);
        } else if rcpt.is_permanent() {
            self.check(
                &id,
                Status::Fail,
                format!("refused after AUTH {mech}: {}", rcpt.summary()),
                Some(format!(
                    "add {mech} to TRUST_AUTH_MECH, regenerate sendmail.cf, restart"
                )),
            );
            self.verdict(format!(
                "Login worked, but relaying is still refused after it ({}): the mechanism used \
                 is missing from TRUST_AUTH_MECH (symptom #13), or the running sendmail.cf has \
                 no TRUST_AUTH_MECH at all (not regenerated, not restarted, or still behind \
                 `dnl`; symptom #14).",
                rcpt.summary()
            ));
        } else {
            self.check(
                &id,
                Status::Error,
                format!(
                    "inconclusive: RCPT after AUTH {mech} answered {}",
                    rcpt.summary()
                ),
                Some("a temporary failure proves nothing either way; try again".into()),
            );
        }
        self.cmd(c, &id, |c| c.rset())?;
        Ok(())
    }
}
