//! STARTTLS inside the probe: the upgrade, the handshake's verdicts, and what AUTH looks like
//! once TLS is up.

use super::*;

impl Prober<'_> {
    /// STARTTLS, the handshake, EHLO again. On the first connection (`first`) the outcome goes
    /// into the report (`tls`, check `starttls`); on later ones only failures, under `id`.
    /// `Ok(verified)`.
    pub(super) fn upgrade(&mut self, c: &mut Client, id: &str, first: bool) -> Flow<bool> {
        let o = self.o;
        let name = o.tls_name.clone().unwrap_or_else(|| o.host.clone());
        let mut rep = TlsReport {
            name: name.clone(),
            verification: "not reached".into(),
            ..TlsReport::default()
        };
        let setup = self.trust().and_then(|t| {
            let (cfg, seen) = t.config(o.verify_cert)?;
            Ok((cfg, seen, server_name(&name)?))
        });
        let (cfg, seen, sname) = match setup {
            Ok(x) => x,
            Err(e) => {
                rep.error = Some(e.clone());
                self.check(id, Status::Error, format!("TLS not started: {e}"), None);
                if first {
                    self.r.tls = Some(rep);
                }
                return Err(Stop { quit: true });
            }
        };
        if first {
            if let Some(t) = &self.trust {
                for n in t.notes.clone() {
                    self.verdict(n);
                }
            }
        }
        let res = c.starttls(cfg, sname);
        let seen = seen.lock().map(|s| s.clone()).unwrap_or_default();
        rep.certificate = seen.cert;
        rep.verified = matches!(seen.verified, Some(Ok(())));
        let cert_failed = match &seen.verified {
            None => None,
            Some(Ok(())) => {
                rep.verification = "verified".into();
                None
            }
            Some(Err(why)) if o.verify_cert => {
                rep.verification = format!("failed: {why}");
                Some(why.clone())
            }
            Some(Err(why)) => {
                rep.verification = format!("certificate not verified (--no-verify-cert): {why}");
                None
            }
        };
        let outcome: Result<(), (Status, String, Option<String>, bool)> = match res {
            Ok(reply) if reply.code == 220 => Ok(()),
            Ok(reply) if reply.code == 421 => {
                self.shutting_down(id, &reply);
                rep.error = Some(format!("STARTTLS answered {}", reply.summary()));
                if first {
                    self.r.tls = Some(rep);
                }
                return Err(BROKEN);
            }
            Ok(reply) => Err((
                Status::Fail,
                format!("STARTTLS is offered but refused: {}", reply.summary()),
                Some(
                    "sendmail answers 454 when it cannot use its certificate or key at this \
                     moment; its log says why (STARTTLS=server)"
                        .into(),
                ),
                true,
            )),
            Err(e) => {
                let status = match e {
                    SmtpError::Tls { .. } | SmtpError::DataAfterStartTls => Status::Fail,
                    _ => Status::Error,
                };
                let detail = match &cert_failed {
                    Some(why) => format!("certificate verification failed for {name}: {why}"),
                    None => e.to_string(),
                };
                let hint = cert_failed.as_ref().map(|_| {
                    "a certificate for the server's real name from a CA the clients trust (or, \
                     for your own CA or a self-signed certificate, --tls-ca FILE); \
                     --no-verify-cert accepts it without verifying"
                        .to_owned()
                });
                Err((status, detail, hint, false))
            }
        };
        match outcome {
            Ok(()) => {
                rep.established = true;
                if let Some((v, ciph)) = c.tls_version_and_cipher() {
                    rep.version = Some(v);
                    rep.cipher = Some(ciph);
                }
            }
            Err((status, detail, hint, quit)) => {
                rep.error = Some(detail.clone());
                if let Some(why) = &cert_failed {
                    self.verdict(format!(
                        "The server's certificate did not pass verification for {name}: {why}. \
                         Mail clients that verify (most do) will refuse it or warn their users."
                    ));
                }
                self.check(id, status, detail, hint);
                if first {
                    self.r.tls = Some(rep);
                }
                return Err(Stop { quit });
            }
        }
        let ehlo_name = o.ehlo_name.clone();
        let reply = match self.cmd(c, id, |c| c.ehlo(&ehlo_name)) {
            Ok(r) => r,
            Err(stop) => {
                if first {
                    self.r.tls = Some(rep);
                }
                return Err(stop);
            }
        };
        if reply.code != 250 {
            self.check(
                id,
                Status::Error,
                format!("EHLO after STARTTLS refused: {}", reply.summary()),
                None,
            );
            if first {
                self.r.tls = Some(rep);
            }
            return Err(Stop { quit: true });
        }
        let verified = rep.verified;
        if first {
            let e = Ehlo::parse(&reply);
            rep.auth_mechanisms = e.auth_mechanisms.clone();
            rep.capabilities = e.capabilities.clone();
            self.ehlo_tls = Some(e);
            let summary = rep.summary();
            if verified {
                self.check(id, Status::Pass, summary, None);
            } else {
                self.check(
                    id,
                    Status::Warn,
                    summary,
                    Some(
                        "mail clients that verify certificates will refuse this one; trust it \
                         explicitly with --tls-ca FILE to test it as they would"
                            .into(),
                    ),
                );
            }
            self.r.tls = Some(rep);
        }
        Ok(verified)
    }

    /// After STARTTLS: PLAIN/LOGIN should appear only inside TLS (`p` in confAUTH_OPTIONS).
    pub(super) fn judge_auth_after_tls(&mut self) {
        let plaintext = |e: &Option<Ehlo>| {
            e.as_ref()
                .is_some_and(|e| PLAINTEXT_MECHS.iter().any(|m| e.offers(m)))
        };
        if !plaintext(&self.ehlo_tls) {
            return; // auth-advertised already says what is missing
        }
        let before = self
            .ehlo
            .as_ref()
            .and_then(|e| e.auth_mechanisms.clone())
            .map(|m| format!("AUTH {}", m.join(" ")))
            .unwrap_or_else(|| "no AUTH".into());
        if plaintext(&self.ehlo) {
            self.check(
                "auth-after-tls",
                Status::Warn,
                format!(
                    "PLAIN/LOGIN are offered before STARTTLS too ({before}): a client that does \
                     not start TLS sends its password in the clear"
                ),
                Some(
                    "add `p` to confAUTH_OPTIONS (define(`confAUTH_OPTIONS', `A p y')dnl) so \
                     PLAIN and LOGIN are offered only after STARTTLS"
                        .into(),
                ),
            );
        } else {
            self.check(
                "auth-after-tls",
                Status::Pass,
                format!("PLAIN/LOGIN offered only after STARTTLS (before: {before})"),
                None,
            );
        }
    }
}
