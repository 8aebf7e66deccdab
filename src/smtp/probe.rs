//! The probe: step 9 of the HOWTO plus the relay tests of steps 10–13, as checks with verdicts.
//!
//! Sequence (stops at the first error that leaves nothing sensible to test):
//! 1. connect (optionally from a chosen source address), read the greeting, `EHLO`;
//! 2. is AUTH advertised, and with PLAIN or LOGIN?
//! 3. without AUTH: `MAIL FROM`, `RCPT TO:<external>` must be refused (then `RSET`);
//! 4. with a user: `AUTH PLAIN`, then `MAIL`/`RCPT` to the external address must be accepted,
//!    `RSET`; then a new connection (a session cannot authenticate twice) for `AUTH LOGIN`;
//! 5. `QUIT`. `DATA` is never sent.
//!
//! The verdicts interpret what a client can see, after `DIAGNOSTICS.md` (its row numbers are
//! cited as "symptom #N" so the texts can be traced) and `FACTS.md`.

use std::net::IpAddr;
use std::time::Duration;

use super::client::{Client, SmtpError};
use super::ehlo::Ehlo;
use super::reply::{Reply, ReplyError};
use super::tls::{server_name, TlsMode, Trust};
use super::{format_target, ProbeOptions};

mod report;
mod verdicts;
pub use report::{Check, ProbeReport, Status, TlsReport};
use verdicts::is_user_unknown;

/// The probe ended early; the reason is already in the report. `quit`: the connection is
/// still in a state where a polite QUIT makes sense (the server refused something, but talks).
struct Stop {
    quit: bool,
}

/// The connection is unusable (timeout, garbage, closed, 421): drop it without QUIT.
const BROKEN: Stop = Stop { quit: false };

/// What a stage of the probe returns: go on, or stop (the reason is in the report).
type Flow<T> = Result<T, Stop>;

struct Prober<'a> {
    o: &'a ProbeOptions,
    r: ProbeReport,
    session: u32,
    /// The first EHLO reply (before any STARTTLS).
    ehlo: Option<Ehlo>,
    /// The EHLO reply after STARTTLS on the first connection.
    ehlo_tls: Option<Ehlo>,
    trust: Option<Trust>,
}

/// Where TLS stands after the first connection.
enum TlsState {
    /// Not offered, or `--no-starttls`.
    NotTried,
    /// Established; `verified`: the certificate passed verification.
    Up { verified: bool },
    /// Offered, and refused or failed (why).
    Failed(String),
}

/// Run the probe. Never panics on anything the network does and returns within roughly
/// (number of commands + connections) × `timeout`: at most two connections and about twenty
/// replies, each bounded, and it stops at the first error.
pub fn probe(opts: &ProbeOptions) -> ProbeReport {
    let mut p = Prober {
        o: opts,
        r: ProbeReport {
            target: format_target(&opts.host, opts.port),
            ..ProbeReport::default()
        },
        session: 0,
        ehlo: None,
        ehlo_tls: None,
        trust: None,
    };
    if let Err(e) = validate(opts) {
        p.r.error = Some(e);
        return p.r;
    }
    let _ = p.run();
    p.summarise();
    dedup(&mut p.r.verdicts);
    p.r
}

fn validate(o: &ProbeOptions) -> Result<(), String> {
    let bad = |s: &str| s.contains(['\r', '\n', '\0']) || s.contains(['<', '>']);
    if o.ehlo_name.is_empty() || o.ehlo_name.contains(char::is_whitespace) || bad(&o.ehlo_name) {
        return Err(format!("invalid EHLO name {:?}", o.ehlo_name));
    }
    if bad(&o.from) || o.from.contains(char::is_whitespace) {
        return Err(format!("invalid sender address {:?}", o.from));
    }
    if o.relay_to.is_empty() || bad(&o.relay_to) || o.relay_to.contains(char::is_whitespace) {
        return Err(format!("invalid relay test address {:?}", o.relay_to));
    }
    if let Some(u) = &o.user {
        if u.is_empty() || u.contains(['\r', '\n', '\0']) {
            return Err("invalid user name (empty, or contains a line break or NUL)".into());
        }
    }
    if o.password
        .as_ref()
        .is_some_and(|p| p.expose().contains('\0'))
    {
        return Err("the password contains a NUL character, which AUTH PLAIN cannot carry".into());
    }
    if o.port == 0 {
        return Err("port 0".into());
    }
    Ok(())
}

/// Whether the probe may send a password (AUTH PLAIN/LOGIN carry it readable) on a connection
/// WITHOUT TLS: never when the server offers STARTTLS (the password must then only cross inside
/// TLS, and a client that ignores the offer teaches nothing about the clients that use it; the
/// probe only gets here with an offer when told `--no-starttls`); to a server not on this
/// machine without STARTTLS only with `--allow-plaintext`. `Err`: why not, and what to do
/// instead. Inside TLS the rules are in [`probe`]: a verified certificate, or
/// `--no-verify-cert` to a loopback target (elsewhere only with `--allow-plaintext` too).
pub fn password_may_be_sent(
    starttls_offered: bool,
    peer: IpAddr,
    allow_plaintext: bool,
) -> Result<(), (String, String)> {
    let local = match peer {
        IpAddr::V4(a) => a.is_loopback(),
        IpAddr::V6(a) => a.is_loopback() || a.to_ipv4_mapped().is_some_and(|m| m.is_loopback()),
    };
    if starttls_offered {
        return Err((
            "not tried: the server offers STARTTLS, which this probe was told not to use \
             (--no-starttls), so it would have sent the password in the clear; it never does \
             that when TLS is offered"
                .to_owned(),
            "leave out --no-starttls: the probe then logs in over TLS".to_owned(),
        ));
    }
    if !local && !allow_plaintext {
        return Err((
            format!(
                "not tried: {peer} is not this machine and offers no STARTTLS, so the password \
                 would cross the network in the clear"
            ),
            "configure STARTTLS first; or, on a network you trust, say so with \
             --allow-plaintext (answers file: probe: allow_plaintext: true)"
                .to_owned(),
        ));
    }
    Ok(())
}

/// Inside TLS whose certificate was not verified (`--no-verify-cert`): to this machine (no one
/// can sit in between), or elsewhere with `--allow-plaintext` (an attacker in the path could
/// have presented that certificate and read the password).
fn unverified_may_be_sent(peer: IpAddr, allow_plaintext: bool) -> Result<(), (String, String)> {
    let local = match peer {
        IpAddr::V4(a) => a.is_loopback(),
        IpAddr::V6(a) => a.is_loopback() || a.to_ipv4_mapped().is_some_and(|m| m.is_loopback()),
    };
    if local || allow_plaintext {
        return Ok(());
    }
    Err((
        format!(
            "not tried: the certificate was not verified (--no-verify-cert) and {peer} is not \
             this machine: whoever can intercept the connection could have presented that \
             certificate and read the password"
        ),
        "trust the server's certificate with --tls-ca FILE (and --tls-name NAME) instead; or, \
         on a network you trust, add --allow-plaintext"
            .to_owned(),
    ))
}

fn dedup(v: &mut Vec<String>) {
    let mut seen = std::collections::HashSet::new();
    v.retain(|x| seen.insert(x.clone()));
}

fn is_loopback_one(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(a) => a.octets() == [127, 0, 0, 1],
        IpAddr::V6(a) => {
            a.is_loopback()
                || a.to_ipv4_mapped()
                    .is_some_and(|m| m.octets() == [127, 0, 0, 1])
        }
    }
}

const PLAINTEXT_MECHS: [&str; 2] = ["PLAIN", "LOGIN"];
/// Mechanisms that need the password (or a secret derived from it) stored on the server, in
/// sasldb: they cannot work when passwords are checked by saslauthd/PAM (symptom #12).
const SHARED_SECRET_MECHS: [&str; 4] = ["CRAM-MD5", "DIGEST-MD5", "NTLM", "SCRAM-SHA-1"];

impl Prober<'_> {
    fn check(&mut self, id: &str, status: Status, detail: impl Into<String>, hint: Option<String>) {
        self.r.checks.push(Check {
            id: id.to_owned(),
            status,
            detail: detail.into(),
            hint,
        });
    }

    fn verdict(&mut self, v: impl Into<String>) {
        self.r.verdicts.push(v.into());
    }

    fn run(&mut self) -> Flow<()> {
        let o = self.o;
        let c = self.open("connect")?;
        let mut c = c;
        if let Err(stop) = self.first_session(&mut c) {
            self.close(c, stop.quit);
            return Err(stop);
        }
        let peer = c.peer_addr;
        let offered = self.ehlo.as_ref().is_some_and(|e| e.starttls);
        let mut conn = Some(c);
        let tls = match (offered, o.tls) {
            (_, TlsMode::Off) => {
                self.check(
                    "starttls",
                    Status::Skipped,
                    if offered {
                        "offered, not tried (--no-starttls)"
                    } else {
                        "not offered; not tried (--no-starttls)"
                    },
                    None,
                );
                TlsState::NotTried
            }
            (false, mode) => {
                let required = mode == TlsMode::Required;
                self.check(
                    "starttls",
                    if required {
                        Status::Fail
                    } else {
                        Status::Skipped
                    },
                    if required {
                        "STARTTLS is not offered, and --tls-required was given"
                    } else {
                        "STARTTLS is not offered"
                    },
                    Some(
                        "configure STARTTLS before passwords cross a network (Debian: include \
                         /etc/mail/tls/starttls.m4 in sendmail.mc)"
                            .into(),
                    ),
                );
                TlsState::NotTried
            }
            (true, _) => {
                let mut c = conn.take().expect("the first connection");
                match self.upgrade(&mut c, "starttls", true) {
                    Ok(verified) => {
                        conn = Some(c);
                        TlsState::Up { verified }
                    }
                    Err(stop) => {
                        self.close(c, stop.quit);
                        TlsState::Failed(
                            self.r
                                .tls
                                .as_ref()
                                .and_then(|t| t.error.clone())
                                .unwrap_or_else(|| "STARTTLS failed".into()),
                        )
                    }
                }
            }
        };
        let up = matches!(tls, TlsState::Up { .. });
        let effective = if up {
            self.ehlo_tls.clone()
        } else {
            self.ehlo.clone()
        };
        let failed = matches!(tls, TlsState::Failed(_));
        let plaintext_before = effective
            .as_ref()
            .is_some_and(|e| PLAINTEXT_MECHS.iter().any(|m| e.offers(m)));
        if failed && !plaintext_before {
            // With `p`, AUTH appears only inside TLS, which failed: nothing to judge.
            self.check(
                "auth-advertised",
                Status::Skipped,
                "no PLAIN/LOGIN before STARTTLS, and the list after it was not seen (TLS failed)",
                None,
            );
            self.verdict(
                "The server offers STARTTLS and no AUTH before it: that is exactly what `p` in \
                 confAUTH_OPTIONS does (plaintext mechanisms only after STARTTLS; symptom #4). \
                 TLS was not established here, so the list offered after STARTTLS was not seen; \
                 with `p` and a STARTTLS that does not work, no client can log in at all.",
            );
        } else if let Some(e) = &effective {
            self.judge_auth_line(e, up);
        }
        if up {
            self.judge_auth_after_tls();
        }

        let mechs: Vec<&str> = PLAINTEXT_MECHS.to_vec(); // PLAIN, then LOGIN
        let Some(user) = o.user.as_deref() else {
            for m in &mechs {
                let id = format!("auth-{}", m.to_ascii_lowercase());
                self.check(&id, Status::Skipped, "no user given: AUTH not tried", None);
            }
            if let Some(c) = conn {
                self.close(c, true);
            }
            return Ok(());
        };
        let Some(password) = o.password.as_ref() else {
            for m in &mechs {
                let id = format!("auth-{}", m.to_ascii_lowercase());
                self.check(
                    &id,
                    Status::Error,
                    "a user was given without a password",
                    None,
                );
            }
            if let Some(c) = conn {
                self.close(c, true);
            }
            return Ok(());
        };

        let gate = match &tls {
            TlsState::Up { verified: true } => Ok(()),
            TlsState::Up { verified: false } => {
                unverified_may_be_sent(peer.ip(), o.allow_plaintext)
            }
            TlsState::Failed(why) => Err((
                format!(
                    "not tried: the server offers STARTTLS but TLS was not established ({why}); \
                     when TLS is offered the password is only sent inside it"
                ),
                "fix what the starttls check names; a self-signed certificate can be trusted \
                 with --tls-ca FILE (and --tls-name NAME), or, on this machine, accepted with \
                 --no-verify-cert"
                    .to_owned(),
            )),
            TlsState::NotTried => password_may_be_sent(offered, peer.ip(), o.allow_plaintext),
        };
        let mut fresh = true; // the current connection has not tried AUTH yet
        for mech in mechs {
            let id = format!("auth-{}", mech.to_ascii_lowercase());
            if let (TlsState::Failed(_), Err((why, hint))) = (&tls, &gate) {
                self.check(&id, Status::Error, why.clone(), Some(hint.clone()));
                continue;
            }
            if !effective.as_ref().is_some_and(|e| e.offers(mech)) {
                let when = if up { " after STARTTLS" } else { "" };
                self.check(
                    &id,
                    Status::Skipped,
                    format!("AUTH {mech} is not advertised{when}: not tried"),
                    None,
                );
                continue;
            }
            if let Err((why, hint)) = &gate {
                self.check(&id, Status::Error, why.clone(), Some(hint.clone()));
                continue;
            }
            let mut c = match conn.take() {
                Some(c) if fresh => c,
                old => {
                    if let Some(old) = old {
                        self.close(old, true);
                    }
                    let mut c = self.reopen(&id)?;
                    if up {
                        if let Err(stop) = self.upgrade(&mut c, &id, false) {
                            self.close(c, stop.quit);
                            return Err(stop);
                        }
                    }
                    c
                }
            };
            fresh = false;
            let res = self.authenticate(&mut c, mech, user, password);
            match res {
                Ok(()) => conn = Some(c),
                Err(stop) => {
                    self.close(c, stop.quit);
                    return Err(stop);
                }
            }
        }
        if let Some(c) = conn {
            self.close(c, true);
        }
        Ok(())
    }

    /// The trust anchors, read once per probe.
    fn trust(&mut self) -> Result<Trust, String> {
        if let Some(t) = &self.trust {
            return Ok(t.clone());
        }
        let t = Trust::load(self.o.tls_ca.as_deref())?;
        self.trust = Some(t.clone());
        Ok(t)
    }

    /// STARTTLS, the handshake, EHLO again. On the first connection (`first`) the outcome goes
    /// into the report (`tls`, check `starttls`); on later ones only failures, under `id`.
    /// `Ok(verified)`.
    fn upgrade(&mut self, c: &mut Client, id: &str, first: bool) -> Flow<bool> {
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
    fn judge_auth_after_tls(&mut self) {
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

    /// Connect and read the greeting. `id` names the check a failure is recorded under.
    fn open(&mut self, id: &str) -> Flow<Client> {
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
    fn reopen(&mut self, id: &str) -> Flow<Client> {
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

    fn close(&mut self, mut c: Client, healthy: bool) {
        if healthy {
            // The reply to QUIT does not matter; its absence is not worth a verdict.
            let _ = c.quit();
        }
        self.r.transcript.extend(c.take_transcript());
    }

    /// Run a command; a transport error or a 421 becomes an error check under `id` and stops.
    fn cmd(
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

    fn first_session(&mut self, c: &mut Client) -> Flow<()> {
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

    fn authenticate(
        &mut self,
        c: &mut Client,
        mech: &str,
        user: &str,
        password: &super::Secret,
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

#[cfg(test)]
mod tests;
