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

mod connection;
mod report;
mod session;
mod starttls;
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
}

#[cfg(test)]
mod tests;
