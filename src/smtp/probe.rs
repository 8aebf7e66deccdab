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

use super::client::{Client, SmtpError, TranscriptLine};
use super::ehlo::Ehlo;
use super::reply::{Reply, ReplyError};
use super::{format_target, ProbeOptions};

/// Outcome of one check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// What a correctly configured server does.
    Pass,
    /// The server answered, and the answer is not what the HOWTO expects.
    Fail,
    /// Not run, or run from a place where the answer proves nothing.
    Skipped,
    /// No usable answer: connection, timeout, protocol garbage, inconclusive reply.
    Error,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pass => "pass",
            Status::Fail => "fail",
            Status::Skipped => "skipped",
            Status::Error => "error",
        }
    }
}

/// One check. Ids: `connect`, `greeting`, `ehlo`, `auth-advertised`, `relay-denied`,
/// `auth-plain`, `relay-authenticated-plain`, `auth-login`, `relay-authenticated-login`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Check {
    pub id: String,
    pub status: Status,
    pub detail: String,
    pub hint: Option<String>,
}

impl Check {
    pub fn ok(&self) -> bool {
        self.status == Status::Pass
    }
}

#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct ProbeReport {
    /// `host:port` probed.
    pub target: String,
    /// The local address of the first connection, as the server sees it (without NAT).
    pub source: Option<String>,
    pub connected: bool,
    /// The greeting's text (`mailsrv ESMTP Sendmail ...`), lines joined.
    pub greeting: Option<String>,
    /// `None` when the EHLO reply had no AUTH line.
    pub auth_mechanisms: Option<Vec<String>>,
    pub starttls: bool,
    /// EHLO lines after the first, as sent.
    pub capabilities: Vec<String>,
    pub checks: Vec<Check>,
    /// Plain-language interpretation, most important first within each stage.
    pub verdicts: Vec<String>,
    pub transcript: Vec<TranscriptLine>,
    /// The error that ended the probe early, if any.
    pub error: Option<String>,
}

impl ProbeReport {
    /// 0: every expectation met; 2: an expectation failed (no AUTH, relay not denied, login
    /// refused); 1: error (cannot connect, timeout, protocol garbage, inconclusive test).
    pub fn exit_code(&self) -> u8 {
        if self.error.is_some() || self.checks.iter().any(|c| c.status == Status::Error) {
            1
        } else if self.checks.iter().any(|c| c.status == Status::Fail) {
            2
        } else {
            0
        }
    }

    /// The outcome in words, after [`ProbeReport::exit_code`].
    pub fn result(&self) -> &'static str {
        match self.exit_code() {
            0 => "every expectation met",
            2 => "an expectation failed",
            _ => "error: the probe could not finish",
        }
    }

    pub fn check(&self, id: &str) -> Option<&Check> {
        self.checks.iter().find(|c| c.id == id)
    }

    /// Human output: the conversation as the HOWTO shows it, then checks, verdicts, result.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        let from = self
            .source
            .as_deref()
            .map(|s| format!(" from {s}"))
            .unwrap_or_default();
        out.push_str(&format!("SMTP probe of {}{from}\n", self.target));
        let many = self.transcript.iter().any(|l| l.session > 1);
        let mut session = 0;
        for line in &self.transcript {
            if line.session != session {
                session = line.session;
                if many {
                    out.push_str(&format!("\n--- connection {session} ---\n"));
                } else {
                    out.push('\n');
                }
            }
            // The server's lines (and ours, which quote its names): escaped and cut when long.
            out.push_str(&format!(
                "{}: {}\n",
                line.dir.as_str(),
                crate::term::safe(&line.text)
            ));
        }
        out.push_str("\nChecks:\n");
        let width = self.checks.iter().map(|c| c.id.len()).max().unwrap_or(0);
        for c in &self.checks {
            out.push_str(&format!(
                "  [{:<7}] {:<width$}  {}\n",
                c.status.as_str(),
                c.id,
                crate::term::safe_max(&c.detail, 2 * crate::term::MAX_FIELD)
            ));
            if let Some(h) = &c.hint {
                out.push_str(&format!("  {:<9} {:<width$}  hint: {h}\n", "", ""));
            }
        }
        if !self.verdicts.is_empty() {
            out.push_str("\nWhat this means:\n");
            for v in &self.verdicts {
                out.push_str(&format!("  - {v}\n"));
            }
        }
        if let Some(e) = &self.error {
            out.push_str(&format!("\nError: {e}\n"));
        }
        out.push_str(&format!(
            "\nResult: {} (exit {})\n",
            self.result(),
            self.exit_code()
        ));
        out
    }
}

/// The probe ended early; the reason is already in the report. `quit`: the connection is
/// still in a state where a polite QUIT makes sense (the server refused something, but talks).
struct Stop {
    quit: bool,
}

/// The connection is unusable (timeout, garbage, closed, 421): drop it without QUIT.
const BROKEN: Stop = Stop { quit: false };

type Step<T> = Result<T, Stop>;

struct Prober<'a> {
    o: &'a ProbeOptions,
    r: ProbeReport,
    session: u32,
    ehlo: Option<Ehlo>,
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

/// Whether the probe may send a password (AUTH PLAIN/LOGIN carry it readable) on this
/// connection, which this probe never encrypts: never when the server offers STARTTLS (the
/// password must then only cross inside TLS, and a client that ignores the offer teaches
/// nothing about the clients that use it); to a server not on this machine without STARTTLS
/// only with `--allow-plaintext`. `Err`: why not, and what to do instead.
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
            "not tried: the server offers STARTTLS, and this probe does not speak TLS, so it \
             would have sent the password in the clear; it never does that when TLS is offered"
                .to_owned(),
            "test the login over TLS with `swaks --tls --auth LOGIN --auth-user USER --server \
             HOST` (or `openssl s_client -starttls smtp`)"
                .to_owned(),
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

    fn run(&mut self) -> Step<()> {
        let o = self.o;
        let mut c = self.open("connect")?;
        if let Err(stop) = self.first_session(&mut c) {
            self.close(c, stop.quit);
            return Err(stop);
        }

        let mechs: Vec<&str> = PLAINTEXT_MECHS.to_vec(); // PLAIN, then LOGIN
        let Some(user) = o.user.as_deref() else {
            for m in &mechs {
                let id = format!("auth-{}", m.to_ascii_lowercase());
                self.check(&id, Status::Skipped, "no user given: AUTH not tried", None);
            }
            self.close(c, true);
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
            self.close(c, true);
            return Ok(());
        };

        let peer = c.peer_addr;
        let starttls = self.ehlo.as_ref().is_some_and(|e| e.starttls);
        let gate = password_may_be_sent(starttls, peer.ip(), o.allow_plaintext);
        let mut fresh = true; // the current connection has not tried AUTH yet
        let mut conn = Some(c);
        for mech in mechs {
            let id = format!("auth-{}", mech.to_ascii_lowercase());
            if !self.ehlo.as_ref().is_some_and(|e| e.offers(mech)) {
                self.check(
                    &id,
                    Status::Skipped,
                    format!("AUTH {mech} is not advertised: not tried"),
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
                    self.reopen(&id)?
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

    /// Connect and read the greeting. `id` names the check a failure is recorded under.
    fn open(&mut self, id: &str) -> Step<Client> {
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
    fn reopen(&mut self, id: &str) -> Step<Client> {
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
    ) -> Step<Reply> {
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

    fn first_session(&mut self, c: &mut Client) -> Step<()> {
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
        self.judge_auth_line(&ehlo);
        self.ehlo = Some(ehlo);

        if o.skip_relay_denial {
            self.check("relay-denied", Status::Skipped, "not requested", None);
        } else {
            self.relay_denial(c)?;
        }
        Ok(())
    }

    fn judge_auth_line(&mut self, e: &Ehlo) {
        let tls_note = if e.starttls {
            " The server offers STARTTLS and no AUTH: that is exactly what `p` in \
             confAUTH_OPTIONS does (plaintext mechanisms only after STARTTLS; symptom #4). This \
             probe does not start TLS, so it cannot see the list offered after STARTTLS."
        } else {
            ""
        };
        let mechs = match &e.auth_mechanisms {
            Some(m) if !m.is_empty() => m.clone(),
            _ => {
                let detail = if e.auth_mechanisms.is_none() {
                    "the EHLO reply has no AUTH line"
                } else {
                    "the AUTH line names no mechanism"
                };
                self.check(
                    "auth-advertised",
                    Status::Fail,
                    detail,
                    Some(
                        "the running sendmail offers no SMTP AUTH: see the causes below, then \
                         regenerate sendmail.cf and restart sendmail"
                            .into(),
                    ),
                );
                self.verdict(format!(
                    "AUTH is not offered. Likely causes, most common first: the daemon was not \
                     restarted after sendmail.cf was regenerated, or the mc was edited but \
                     sendmail.cf not regenerated (symptom #6); the mechanisms of \
                     confAUTH_MECHANISMS are not among the installed SASL plugins (Debian: \
                     libsasl2-modules, RHEL: cyrus-sasl-plain; symptom #2) or are excluded by \
                     mech_list in Sendmail.conf (symptom #3); `p` in confAUTH_OPTIONS hides \
                     PLAIN and LOGIN until STARTTLS (symptom #4); `M=A` on this listener's \
                     DAEMON_OPTIONS disables AUTH on this port (symptom #7); sendmail built \
                     without SASL (`sendmail -d0.1 -bv root` lacks SASLv2; symptom #1).{tls_note}"
                ));
                return;
            }
        };
        let list = mechs.join(" ");
        let has_plain = e.offers("PLAIN");
        let has_login = e.offers("LOGIN");
        if !has_plain && !has_login {
            self.check(
                "auth-advertised",
                Status::Fail,
                format!("AUTH {list}: neither PLAIN nor LOGIN"),
                Some(
                    "define confAUTH_MECHANISMS and TRUST_AUTH_MECH with LOGIN PLAIN, \
                     regenerate sendmail.cf, restart"
                        .into(),
                ),
            );
            let stock = mechs.len() == 2 && e.offers("DIGEST-MD5") && e.offers("CRAM-MD5");
            let stock_note = if stock {
                " `AUTH DIGEST-MD5 CRAM-MD5` is exactly what stock Debian offers: sendmail's \
                 built-in list, used when confAUTH_MECHANISMS is not set in the running \
                 sendmail.cf (symptom #5)."
            } else {
                ""
            };
            self.verdict(format!(
                "AUTH is offered but only with {list}, so clients whose passwords are checked \
                 by saslauthd/PAM cannot log in.{stock_note} Likely causes: confAUTH_MECHANISMS \
                 without LOGIN PLAIN, or the edit not yet live: sendmail.cf not regenerated or \
                 the daemon not restarted (symptoms #5, #6); the PLAIN/LOGIN SASL plugins not \
                 installed (libsasl2-modules, cyrus-sasl-plain; symptom #2); mech_list in \
                 Sendmail.conf without PLAIN LOGIN (symptom #3); `p` in confAUTH_OPTIONS \
                 without TLS (symptom #4).{tls_note_p}",
                tls_note_p = if e.starttls {
                    " STARTTLS is offered, which makes `p` the most likely cause."
                } else {
                    ""
                }
            ));
        } else {
            self.check(
                "auth-advertised",
                Status::Pass,
                format!("AUTH {list}"),
                None,
            );
            if !e.starttls {
                self.verdict(
                    "PLAIN/LOGIN are offered without STARTTLS: passwords cross the network in \
                     clear text (base64 is not encryption). Fine as the HOWTO's first step; \
                     configure STARTTLS (Debian: include /etc/mail/tls/starttls.m4) before \
                     real users log in from other networks.",
                );
            }
        }
        let shared: Vec<&str> = SHARED_SECRET_MECHS
            .into_iter()
            .filter(|m| e.offers(m))
            .collect();
        if !shared.is_empty() && (has_plain || has_login) {
            self.verdict(format!(
                "{} advertised: mail clients pick the strongest mechanism offered, and these \
                 only work for users whose passwords are stored in sasldb. With passwords \
                 checked by saslauthd/PAM (pwcheck_method: saslauthd) such logins fail \
                 (`user not found ... not found in sasldb`, symptom #12). Advertise only \
                 LOGIN PLAIN, or add the users with saslpasswd2.",
                shared.join(" and ")
            ));
        }
        if e.offers("ANONYMOUS") {
            self.verdict(
                "ANONYMOUS is advertised: anyone can authenticate without a password. Add `y` \
                 to confAUTH_OPTIONS and keep ANONYMOUS out of TRUST_AUTH_MECH.",
            );
        }
    }

    /// The source address as the server sees it, for judging an accepted relay.
    fn source_ip(c: &Client) -> IpAddr {
        c.local_addr.ip()
    }

    fn relay_denial(&mut self, c: &mut Client) -> Step<()> {
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

    fn relay_accepted(&mut self, id: &str, rcpt: &Reply, src: IpAddr) {
        let to = &self.o.relay_to;
        if is_loopback_one(src) {
            self.check(
                id,
                Status::Skipped,
                format!(
                    "accepted without AUTH from {src} ({}), as it always is from there",
                    rcpt.summary()
                ),
                Some(
                    "run the denial test from another address: --source-ip 127.0.0.2 for a \
                     loopback target, or from another machine"
                        .into(),
                ),
            );
            self.verdict(format!(
                "Relaying to <{to}> was accepted without authentication, but this probe \
                 connected from {src}, and sendmail always lets the local host (127.0.0.1, \
                 ::1) relay (built in, and `Connect:127 RELAY` in Debian's access file). That is not a failure: the \
                 denial test must come from another address, e.g. --source-ip 127.0.0.2 (Linux \
                 routes all of 127/8 to the loopback interface) or another machine, as the \
                 HOWTO's step 9 says."
            ));
            return;
        }
        self.check(
            id,
            Status::Fail,
            format!(
                "OPEN RELAY: accepted without AUTH from {src}: {}",
                rcpt.summary()
            ),
            Some(
                "remove RELAY entries beyond localhost from the access file, check \
                 relay-domains and the relay FEATUREs, regenerate, restart"
                    .into(),
            ),
        );
        let lo_note = match src {
            IpAddr::V4(a) if a.is_loopback() => format!(
                " {src} is a loopback address: Debian's /etc/mail/access has `Connect:127 \
                 RELAY`, which covers all of 127/8, so for a test from {src} add \
                 `Connect:{src} OK` to the access file (and rebuild access.db), or test from \
                 another machine. From any other address this result means an open relay."
            ),
            _ => String::new(),
        };
        self.verdict(format!(
            "The server accepted mail for <{to}> from {src} without authentication: it is an \
             open relay for this address, and spammers will find it. Look for RELAY entries in \
             /etc/mail/access beyond localhost, domains in relay-domains that are not yours, \
             and FEATUREs promiscuous_relay, relay_entire_domain, relay_based_on_MX, \
             relay_local_from, relay_mail_from, loose_relay_check, \
             accept_unresolvable_domains (symptom #16; HOWTO steps 10–12).{lo_note}"
        ));
    }

    fn local_recipient(&mut self, id: &str, rcpt: &Reply) {
        let to = &self.o.relay_to;
        self.check(
            id,
            Status::Error,
            format!(
                "inconclusive: <{to}> is refused as an unknown local user ({})",
                rcpt.summary()
            ),
            Some("choose --relay-to in a domain this server does not handle".into()),
        );
        self.verdict(format!(
            "The server treats <{to}> as one of its own addresses (\"user unknown\"), so the \
             relay test proves nothing: use a recipient in a domain this server does not host."
        ));
    }

    fn mail_refused(&mut self, id: &str, mail: &Reply, authenticated: bool) {
        let lower = mail.text().to_ascii_lowercase();
        // `530 5.7.0 Must issue a STARTTLS command first`: the server wants TLS before any
        // mail. That is not `M=a`, and no relay test happened: this probe does not speak TLS.
        if lower.contains("starttls") {
            self.check(
                id,
                Status::Error,
                format!(
                    "not tested: MAIL refused until STARTTLS: {}",
                    mail.summary()
                ),
                Some(
                    "the server requires TLS before MAIL; this probe does not start TLS, so \
                     it cannot test relaying: test with `swaks --tls` from another machine"
                        .into(),
                ),
            );
            return;
        }
        if !authenticated && (mail.code == 530 || lower.contains("authentication required")) {
            self.check(
                id,
                Status::Pass,
                format!("MAIL refused before AUTH: {}", mail.summary()),
                Some(
                    "this listener requires AUTH for all mail (`M=a` in DAEMON_OPTIONS, \
                     symptom #7): right for a submission port, wrong for port 25, which must \
                     take mail for local users"
                        .into(),
                ),
            );
            return;
        }
        let sender = if self.o.from.is_empty() {
            "<>".to_owned()
        } else {
            format!("<{}>", self.o.from)
        };
        let hint = if lower.contains("domain of sender")
            || mail.enhanced_code() == Some("5.1.8")
            || mail.enhanced_code() == Some("4.1.8")
        {
            "the server cannot resolve the sender's domain: choose --from with a domain it \
             resolves, or leave --from empty for the null sender <>"
        } else {
            "choose a sender the server accepts with --from"
        };
        self.check(
            id,
            Status::Error,
            format!(
                "inconclusive: MAIL FROM:{sender} refused: {}",
                mail.summary()
            ),
            Some(hint.into()),
        );
    }

    fn authenticate(
        &mut self,
        c: &mut Client,
        mech: &str,
        user: &str,
        password: &super::Secret,
    ) -> Step<()> {
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
            if !c.peer_addr.ip().is_loopback() {
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

    fn relay_authenticated(&mut self, c: &mut Client, mech: &str) -> Step<()> {
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

    fn shutting_down(&mut self, id: &str, reply: &Reply) {
        let s = format!("server is shutting down the channel ({})", reply.summary());
        self.check(
            id,
            Status::Error,
            s.clone(),
            Some(
                "try again later; if it persists, look at the server's load and connection limits"
                    .into(),
            ),
        );
        self.r.error.get_or_insert(s.clone());
        self.verdict(format!(
            "The {s}. sendmail says 421 when it will not work now: load average above \
             confREFUSE_LA, too many connections (confMAX_DAEMON_CHILDREN, \
             ConnectionRateThrottle), or it is shutting down."
        ));
    }

    fn connect_error(&mut self, e: &SmtpError) -> (String, Option<String>) {
        let o = self.o;
        let detail = e.to_string();
        let target_loopback = o
            .host
            .parse::<IpAddr>()
            .map(|ip| ip.is_loopback())
            .unwrap_or(o.host == "localhost");
        match e {
            SmtpError::Refused { addr } => {
                if target_loopback || addr.ip().is_loopback() {
                    self.verdict(format!(
                        "Nothing accepts connections on {addr}: sendmail is not running, or no \
                         listener covers this address and port. On Debian, commenting out the \
                         MTA-v4 DAEMON_OPTIONS line as the HOWTO literally says leaves no \
                         port-25 listener at all: drop `, Addr=127.0.0.1` from it instead."
                    ));
                } else {
                    self.verdict(format!(
                        "Connection refused by {addr}. If tests on the server itself work, the \
                         port-25 listener is still bound to 127.0.0.1 only (`Addr=127.0.0.1` in \
                         DAEMON_OPTIONS; symptom #8): drop the Addr=, regenerate sendmail.cf, \
                         restart. Otherwise sendmail is not running, or a firewall rejects the \
                         connection."
                    ));
                }
                (
                    detail,
                    Some("is sendmail running and listening on this address and port?".into()),
                )
            }
            SmtpError::ConnectTimeout { addr, .. } => {
                self.verdict(format!(
                    "No answer at all from {addr}: a firewall dropping the packets, a wrong \
                     address, or the host is down. (A listener bound to 127.0.0.1 would answer \
                     \"connection refused\", not silence.)"
                ));
                (
                    detail,
                    Some("check the address, routing and firewalls".into()),
                )
            }
            SmtpError::Bind { source, .. } => (
                detail,
                Some(format!(
                    "{source} must be an address of this machine; on Linux every 127.x.y.z \
                     works on the loopback interface (for a loopback target)"
                )),
            ),
            SmtpError::Connect { addr, .. } => {
                let hint = match o.source_ip {
                    Some(src) if src.is_loopback() && !addr.ip().is_loopback() => Some(format!(
                        "a loopback source ({src}) can only reach loopback targets; test from \
                         another machine instead"
                    )),
                    _ => Some("check the address and the network path".into()),
                };
                (detail, hint)
            }
            SmtpError::Resolve { .. } | SmtpError::ResolveTimeout { .. } => (
                detail,
                Some("check the host name, or give an address".into()),
            ),
            _ => (detail, None),
        }
    }

    /// Record a transport or protocol error under `id`, with a verdict and the report's error.
    fn smtp_error(&mut self, id: &str, e: &SmtpError) {
        let detail = e.to_string();
        self.r.error.get_or_insert(detail.clone());
        let greeting = matches!(
            e,
            SmtpError::Timeout { waiting_for, .. }
                | SmtpError::ClosedBeforeReply { waiting_for }
                if waiting_for == "the greeting"
        );
        let (verdict, hint): (String, Option<String>) = match e {
            SmtpError::Timeout { after, .. } if greeting => (
                format!(
                    "The server accepted the connection but sent no complete greeting within \
                     {:.1} s. \
                     sendmail delays its greeting while it looks the client's address up in \
                     DNS (slow or broken DNS), or on purpose with FEATURE(`greet_pause'); an \
                     overloaded server, or a program other than an SMTP server on this port, \
                     does the same. Try a longer --timeout.",
                    after.as_secs_f64()
                ),
                Some("try a longer --timeout; check the server's DNS".into()),
            ),
            SmtpError::ClosedBeforeReply { .. } if greeting => (
                "The server accepted the connection and closed it without a greeting: TCP \
                 wrappers (hosts.deny), a connection rate limit, or something other than an \
                 SMTP server on this port."
                    .into(),
                None,
            ),
            SmtpError::WriteTimeout { .. } => (
                format!("The server stopped reading what this probe sends: {detail}."),
                None,
            ),
            SmtpError::Timeout { .. } => (
                format!("The server stopped answering: {detail}."),
                Some("try a longer --timeout".into()),
            ),
            SmtpError::ClosedBeforeReply { .. } => (
                format!(
                    "The {detail}: it dropped the session (sendmail does this after too many \
                     errors, or when it crashes)."
                ),
                None,
            ),
            SmtpError::ClosedMidReply { .. } => (
                "The server closed the connection in the middle of a reply: it crashed or \
                 something between it and this machine cut the connection."
                    .into(),
                None,
            ),
            SmtpError::Protocol { error, .. } => {
                let what = match error {
                    ReplyError::NotSmtp(line) => guess_protocol(line),
                    ReplyError::LineTooLong => {
                        "The server sent an over-long line, more than any SMTP server sends: \
                         this is not a working SMTP server."
                            .to_owned()
                    }
                    _ => format!("The server's answer is not valid SMTP: {error}."),
                };
                (what, Some("is this the mail server's SMTP port?".into()))
            }
            _ => (format!("{detail}."), None),
        };
        self.check(id, Status::Error, detail, hint);
        self.verdict(verdict);
    }

    /// A closing verdict that states the overall result plainly.
    fn summarise(&mut self) {
        let r = &self.r;
        if r.exit_code() != 0 {
            return;
        }
        let authed: Vec<&str> = ["plain", "login"]
            .into_iter()
            .filter(|m| r.check(&format!("auth-{m}")).is_some_and(Check::ok))
            .collect();
        let denied = r.check("relay-denied").is_some_and(Check::ok);
        let mut parts = vec![format!(
            "SMTP AUTH is offered ({})",
            r.auth_mechanisms.clone().unwrap_or_default().join(" ")
        )];
        if !authed.is_empty() {
            parts.push(format!(
                "login works with {} and opens relaying",
                authed
                    .iter()
                    .map(|m| m.to_ascii_uppercase())
                    .collect::<Vec<_>>()
                    .join(" and ")
            ));
        }
        if denied {
            parts.push("relaying without AUTH is refused".into());
        }
        let s = format!("{}: what the HOWTO's step 9 expects.", parts.join(", "));
        self.verdict(s);
    }
}

fn is_user_unknown(r: &Reply) -> bool {
    r.enhanced_code() == Some("5.1.1") || r.text().to_ascii_lowercase().contains("user unknown")
}

/// Name the protocol behind bytes that are not SMTP, from their first characters.
fn guess_protocol(escaped: &str) -> String {
    let base = format!("not an SMTP reply: \"{escaped}\"");
    let why = if escaped.starts_with("\\x16\\x03") || escaped.starts_with("\\x15\\x03") {
        " (a TLS record: this port talks TLS from the first byte, like smtps on 465)"
    } else if escaped.starts_with("HTTP/") || escaped.starts_with("<") {
        " (an HTTP server answers on this port)"
    } else if escaped.starts_with("SSH-") {
        " (an SSH server answers on this port)"
    } else if escaped.starts_with("+OK") || escaped.starts_with("* OK") {
        " (a POP3 or IMAP server answers on this port)"
    } else {
        ""
    };
    format!("The server's answer is {base}{why}: this is not an SMTP server, or not this port.")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_codes() {
        let mut r = ProbeReport::default();
        assert_eq!(r.exit_code(), 0);
        r.checks.push(Check {
            id: "x".into(),
            status: Status::Skipped,
            detail: String::new(),
            hint: None,
        });
        assert_eq!(r.exit_code(), 0);
        r.checks.push(Check {
            id: "y".into(),
            status: Status::Fail,
            detail: String::new(),
            hint: None,
        });
        assert_eq!(r.exit_code(), 2);
        r.error = Some("boom".into());
        assert_eq!(r.exit_code(), 1);
    }

    #[test]
    fn protocol_guesses() {
        assert!(guess_protocol("\\x16\\x03\\x01").contains("TLS"));
        assert!(guess_protocol("SSH-2.0-OpenSSH").contains("SSH"));
        assert!(guess_protocol("HTTP/1.1 400").contains("HTTP"));
        assert!(
            guess_protocol("\\x00\\x01").starts_with("The server's answer is not an SMTP reply")
        );
    }

    #[test]
    fn loopback_one() {
        assert!(is_loopback_one("127.0.0.1".parse().unwrap()));
        assert!(is_loopback_one("::1".parse().unwrap()));
        assert!(!is_loopback_one("127.0.0.2".parse().unwrap()));
        assert!(!is_loopback_one("192.0.2.1".parse().unwrap()));
    }

    #[test]
    fn invalid_options_are_refused_before_connecting() {
        let mut o = ProbeOptions::new("127.0.0.1", 1);
        o.relay_to = "a@example.com>\r\nDATA".into();
        let r = probe(&o);
        assert!(!r.connected);
        assert_eq!(r.exit_code(), 1);
        assert!(r.error.unwrap().contains("relay test address"));
    }
}
