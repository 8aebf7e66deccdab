//! What the replies mean: the verdicts after DIAGNOSTICS.md ("symptom #N") for AUTH lines,
//! relay answers, refusals and errors.

use super::*;

impl Prober<'_> {
    /// `after_tls`: `e` is the EHLO reply inside TLS (then `p` cannot be why AUTH is missing).
    pub(super) fn judge_auth_line(&mut self, e: &Ehlo, after_tls: bool) {
        let tls_note = if e.starttls && !after_tls {
            " The server offers STARTTLS and no AUTH: that is exactly what `p` in \
             confAUTH_OPTIONS does (plaintext mechanisms only after STARTTLS; symptom #4). TLS \
             was not established, so the list offered after STARTTLS was not seen."
        } else if after_tls {
            " This is the list offered after STARTTLS, so `p` does not explain it."
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
                tls_note_p = if e.starttls && !after_tls {
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
            if !e.starttls && !after_tls {
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

    pub(super) fn relay_accepted(&mut self, id: &str, rcpt: &Reply, src: IpAddr) {
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

    pub(super) fn local_recipient(&mut self, id: &str, rcpt: &Reply) {
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

    pub(super) fn mail_refused(&mut self, id: &str, mail: &Reply, authenticated: bool) {
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

    pub(super) fn shutting_down(&mut self, id: &str, reply: &Reply) {
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

    pub(super) fn connect_error(&mut self, e: &SmtpError) -> (String, Option<String>) {
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
    pub(super) fn smtp_error(&mut self, id: &str, e: &SmtpError) {
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
    pub(super) fn summarise(&mut self) {
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

pub(super) fn is_user_unknown(r: &Reply) -> bool {
    r.enhanced_code() == Some("5.1.1") || r.text().to_ascii_lowercase().contains("user unknown")
}

/// Name the protocol behind bytes that are not SMTP, from their first characters.
pub(super) fn guess_protocol(escaped: &str) -> String {
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
