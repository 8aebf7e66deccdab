//! Issue 11 item 6: what the ehlo step and the TUI's Summary say about the finished server:
//! STARTTLS (with the certificate verdict), the submission port 587 (listening beyond loopback,
//! `530 5.7.0` without AUTH), who may log in (the password source), and what to tell users.
//! The sentences are pure functions of a probe report and the profile, so the CLI, the JSON
//! step report and the TUI say the same thing; [`probe_587`] is the one live part.

use crate::engine::host::live;
use crate::engine::profile::Profile;
use crate::smtp::{ProbeOptions, ProbeReport};
use std::time::Duration;

/// Prefixes of the ehlo step's findings that the Summary shows again.
pub const TLS_PREFIX: &str = "TLS: ";
pub const PORT587_PREFIX: &str = "port 587: ";
pub const LOGINS_PREFIX: &str = "who may log in: ";

/// The local probe options the ehlo step uses on `port`: STARTTLS when offered, the
/// certificate checked against this host's name but not required to verify (a self-signed
/// certificate is a verdict to report, and the local test must still see AUTH after TLS).
pub fn local_options(port: u16, timeout: Duration) -> ProbeOptions {
    let mut o = ProbeOptions::new("127.0.0.1", port);
    o.skip_relay_denial = true;
    o.timeout = timeout;
    o.verify_cert = false;
    o.tls_name = Some(local_fqdn());
    o
}

/// This host's fully qualified name, as `hostname -f` finds it through /etc/hosts: the name a
/// certificate for this server carries (Debian's says `CN = <hostname -f>`, TLS.md). The short
/// host name when /etc/hosts does not qualify it.
pub fn local_fqdn() -> String {
    let short = crate::smtp::local_hostname();
    if short.contains('.') {
        return short;
    }
    std::fs::read_to_string("/etc/hosts")
        .ok()
        .and_then(|h| fqdn_from_hosts(&short, &h))
        .unwrap_or(short)
}

/// The first `short.domain` name on an /etc/hosts line that also names `short`.
fn fqdn_from_hosts(short: &str, hosts: &str) -> Option<String> {
    hosts.lines().find_map(|l| {
        let l = l.split('#').next().unwrap_or("");
        let names: Vec<&str> = l.split_whitespace().skip(1).collect();
        if !names.iter().any(|n| n.eq_ignore_ascii_case(short)) {
            return None;
        }
        names
            .iter()
            .find(|n| {
                n.len() > short.len() + 1
                    && n[..short.len()].eq_ignore_ascii_case(short)
                    && n.as_bytes()[short.len()] == b'.'
            })
            .map(|n| n.to_string())
    })
}

/// "TLS: ..." for the report: version, cipher, the certificate's subject, SAN, expiry and the
/// verification verdict; or why there is no STARTTLS.
pub fn tls_line(rep: &ProbeReport) -> String {
    let Some(t) = &rep.tls else {
        return if rep.connected {
            format!(
                "{TLS_PREFIX}not offered: {} answers EHLO without STARTTLS, so passwords would \
                 cross the network in the clear (the tls step sets STARTTLS up)",
                rep.target
            )
        } else {
            format!("{TLS_PREFIX}not tested: {} did not answer", rep.target)
        };
    };
    if !t.established {
        return format!("{TLS_PREFIX}STARTTLS is offered but fails: {}", t.summary());
    }
    let verdict = t
        .verification
        .strip_prefix("certificate not verified (--no-verify-cert): ")
        .map(|why| format!("the certificate does not verify for {}: {why}", t.name))
        .unwrap_or_else(|| t.verification.clone());
    let mut s = format!(
        "{TLS_PREFIX}STARTTLS {}, {}; {verdict}",
        t.version.as_deref().unwrap_or("?"),
        t.cipher.as_deref().unwrap_or("?"),
    );
    if let Some(c) = &t.certificate {
        s.push_str(&format!(
            "; certificate {}, SAN {}, issuer {}, expires {} ({} days left){}",
            crate::term::safe(&c.subject),
            if c.san.is_empty() {
                "none".to_string()
            } else {
                crate::term::safe(&c.san.join(" ")).into_owned()
            },
            crate::term::safe(&c.issuer),
            c.not_after,
            c.days_left,
            if c.days_left < 0 {
                ": EXPIRED"
            } else if c.days_left < 30 {
                ": renew it soon"
            } else {
                ""
            }
        ));
    }
    if let Some(m) = &t.auth_mechanisms {
        s.push_str(&format!("; AUTH after STARTTLS: {}", m.join(" ")));
    }
    s.push_str(&format!(
        "; AUTH before STARTTLS: {}",
        rep.auth_mechanisms
            .as_ref()
            .map_or("none".to_string(), |m| m.join(" "))
    ));
    s
}

/// What the 587 probe found. `listening`: a socket on 587 that is not on loopback.
pub fn port587_line(
    listening: bool,
    loopback_only: bool,
    rep: Option<&ProbeReport>,
) -> Result<String, String> {
    if !listening {
        return Err(format!(
            "{PORT587_PREFIX}{}",
            if loopback_only {
                "listens on loopback only: mail clients on other machines cannot submit there"
            } else {
                "nothing listens there"
            }
        ));
    }
    let Some(rep) = rep else {
        return Ok(format!("{PORT587_PREFIX}listening beyond loopback"));
    };
    let refused = rep
        .transcript
        .iter()
        .any(|l| l.dir == crate::smtp::Dir::Server && l.text.trim_start().starts_with("530"));
    if refused {
        Ok(format!(
            "{PORT587_PREFIX}listening beyond loopback; MAIL without AUTH gets 530 5.7.0 \
             (Authentication required){}",
            if rep.tls.as_ref().is_some_and(|t| t.established) {
                "; STARTTLS works there"
            } else {
                ""
            }
        ))
    } else if !rep.connected {
        Err(format!(
            "{PORT587_PREFIX}listening, but 127.0.0.1:587 did not answer: {}",
            rep.error.as_deref().unwrap_or("no answer")
        ))
    } else {
        Err(format!(
            "{PORT587_PREFIX}listening beyond loopback, but MAIL without AUTH was not refused \
             with 530: the listener does not require AUTH (M=a)"
        ))
    }
}

/// Probes 127.0.0.1:587: is something listening beyond loopback, and does MAIL without AUTH
/// get 530.
pub fn probe_587(timeout: Duration) -> Result<String, String> {
    let socks = live::listeners(587);
    let listening = socks.iter().any(|l| !l.loopback);
    let loopback_only = !socks.is_empty() && !listening;
    if !listening {
        return port587_line(false, loopback_only, None);
    }
    let mut o = local_options(587, timeout);
    o.skip_relay_denial = false; // MAIL FROM:<>: the 530 comes there
    let rep = crate::smtp::probe(&o);
    port587_line(true, false, Some(&rep))
}

/// Who can log in with SMTP AUTH here, from the password source the profile names (with
/// `--password-source` applied) and the login group the options restrict PAM logins to.
pub fn logins_line(p: &Profile, opts: &crate::engine::step::Options) -> String {
    logins_for(&p.auth.password_check, opts)
}

/// [`logins_line`] for the profile's `auth.password_check`.
pub fn logins_for(password_check: &str, opts: &crate::engine::step::Options) -> String {
    let check = password_check.to_ascii_lowercase();
    let sasldb = check == "auxprop"
        || check.contains("sasldb")
        || opts.password_source() == crate::engine::step::PasswordSource::Sasldb;
    if sasldb {
        format!(
            "{LOGINS_PREFIX}the mail-only users in sasldb (add them with smtpauth-wizard users \
             add NAME); system accounts cannot log in"
        )
    } else if let Some(g) = &opts.login_group {
        format!(
            "{LOGINS_PREFIX}the members of group {g} with uid {} or more (never root), with \
             their system password, checked {}",
            opts.login_min_uid.unwrap_or(super::pam::DEFAULT_MIN_UID),
            if check.contains("saslauthd") {
                "by saslauthd through PAM".to_string()
            } else if check == "pam" {
                "through PAM".to_string()
            } else {
                format!("by {password_check}")
            }
        )
    } else {
        format!(
            "{LOGINS_PREFIX}every system account with a password, checked {} (root \
             included, unless the smtp PAM service restricts it; --login-group does): anyone who can guess one of \
             those passwords can send mail through this server",
            if check.contains("saslauthd") {
                "by saslauthd through PAM".to_string()
            } else if check == "pam" {
                "through PAM".to_string()
            } else {
                format!("by {password_check}")
            }
        )
    }
}

/// What to tell the users, for their mail client.
/// `starttls`: whether the server offers a working STARTTLS (`None`: not tested yet).
pub fn tell_users(
    host: &str,
    submission: bool,
    starttls: Option<bool>,
    mechanisms: &[String],
) -> Vec<String> {
    let mut v = vec![format!("Outgoing mail server (SMTP): {host}")];
    if submission {
        v.push("Port: 587 (submission)".into());
    } else {
        v.push("Port: 25 (the submission port 587 was not opened)".into());
    }
    if starttls == Some(true) {
        v.push("Connection security: STARTTLS".into());
    } else if starttls.is_none() {
        v.push(
            "Connection security: STARTTLS, once the server offers it (the ehlo step and the \
             Probe screen test it)"
                .into(),
        );
    } else {
        v.push(
            "Connection security: none yet (no STARTTLS: the password crosses the network in \
             the clear)"
                .into(),
        );
    }
    v.push("\"My outgoing server requires authentication\": turn it on".into());
    v.push(format!(
        "Authentication method: {} (\"normal password\")",
        mechanisms.join(" or ")
    ));
    v.push("User name and password: their login for this server".into());
    v.push("Without authentication they get \"Relaying denied\" (and on port 587 \"Authentication required\"): that is the point.".into());
    v
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::smtp::tls::CertInfo;
    use crate::smtp::{Dir, TlsReport, TranscriptLine};

    fn report(tls: Option<TlsReport>) -> ProbeReport {
        ProbeReport {
            target: "127.0.0.1:25".into(),
            connected: true,
            starttls: tls.is_some(),
            tls,
            ..Default::default()
        }
    }

    fn cert(days_left: i64) -> CertInfo {
        CertInfo {
            subject: "CN=mailsrv.example.test".into(),
            san: vec!["DNS:mailsrv.example.test".into()],
            issuer: "CN=mailsrv.example.test".into(),
            not_before: "2026-01-01T00:00:00Z".into(),
            not_after: "2028-04-05T00:00:00Z".into(),
            days_left,
            self_signed: true,
        }
    }

    fn tls(verification: &str, days_left: i64) -> TlsReport {
        TlsReport {
            established: true,
            version: Some("TLSv1.3".into()),
            cipher: Some("TLS13_AES_256_GCM_SHA384".into()),
            name: "mailsrv.example.test".into(),
            verified: verification == "verified",
            verification: verification.into(),
            certificate: Some(cert(days_left)),
            error: None,
            auth_mechanisms: Some(vec!["LOGIN".into(), "PLAIN".into()]),
            capabilities: vec![],
        }
    }

    #[test]
    fn tls_line_names_version_certificate_and_verdict() {
        let l = tls_line(&report(Some(tls(
            "certificate not verified (--no-verify-cert): unknown issuer",
            400,
        ))));
        assert!(
            l.starts_with("TLS: STARTTLS TLSv1.3, TLS13_AES_256_GCM_SHA384"),
            "{l}"
        );
        assert!(
            l.contains("does not verify for mailsrv.example.test: unknown issuer"),
            "{l}"
        );
        assert!(l.contains("SAN DNS:mailsrv.example.test"), "{l}");
        assert!(l.contains("(400 days left)") && !l.contains("renew"), "{l}");
        assert!(l.contains("AUTH after STARTTLS: LOGIN PLAIN"), "{l}");
        assert!(l.contains("AUTH before STARTTLS: none"), "{l}");
        let l = tls_line(&report(Some(tls("verified", 10))));
        assert!(
            l.contains("; verified;") && l.contains("renew it soon"),
            "{l}"
        );
        let l = tls_line(&report(Some(tls("verified", -3))));
        assert!(l.contains("EXPIRED"), "{l}");
        let l = tls_line(&report(None));
        assert!(
            l.contains("not offered") && l.contains("in the clear"),
            "{l}"
        );
        let mut broken = tls("failed: bad certificate", 1);
        broken.established = false;
        let l = tls_line(&report(Some(broken)));
        assert!(l.contains("offered but fails"), "{l}");
    }

    #[test]
    fn port587_line_wants_530_without_auth() {
        let mut rep = report(None);
        rep.target = "127.0.0.1:587".into();
        assert!(port587_line(true, false, Some(&rep))
            .unwrap_err()
            .contains("does not require AUTH"));
        rep.transcript.push(TranscriptLine {
            dir: Dir::Server,
            text: "530 5.7.0 Authentication required".into(),
            session: 1,
        });
        let ok = port587_line(true, false, Some(&rep)).unwrap();
        assert!(ok.contains("530 5.7.0"), "{ok}");
        assert!(port587_line(false, true, None)
            .unwrap_err()
            .contains("loopback only"));
        assert!(port587_line(false, false, None)
            .unwrap_err()
            .contains("nothing listens"));
    }

    #[test]
    fn the_fqdn_comes_from_the_hosts_line_that_names_the_host() {
        let hosts = "127.0.0.1\tlocalhost\n# 10.0.0.1 mailsrv.wrong.test mailsrv\n\
                     127.0.1.1 mailsrv.example.test mailsrv\n::1 ip6-localhost\n";
        assert_eq!(
            fqdn_from_hosts("mailsrv", hosts).as_deref(),
            Some("mailsrv.example.test")
        );
        assert_eq!(fqdn_from_hosts("other", hosts), None);
        // A line naming the host without a qualified form of it.
        assert_eq!(fqdn_from_hosts("vm", "127.0.1.1 vm\n"), None);
        assert_eq!(
            fqdn_from_hosts("mail", "127.0.1.1 mailsrv.example.test mail\n"),
            None
        );
    }

    #[test]
    fn users_are_told_port_587_and_starttls() {
        let v = tell_users(
            "mailsrv.example.test",
            true,
            Some(true),
            &["LOGIN".into(), "PLAIN".into()],
        );
        let all = v.join("\n");
        assert!(
            all.contains("Port: 587") && all.contains("STARTTLS"),
            "{all}"
        );
        assert!(all.contains("requires authentication"), "{all}");
        let v = tell_users("h", false, Some(false), &["LOGIN".into()]).join("\n");
        assert!(v.contains("Port: 25") && v.contains("in the clear"), "{v}");
    }

    #[test]
    fn who_may_log_in_follows_the_login_group_and_the_password_source() {
        use crate::engine::step::{Options, PasswordSource};
        let mut o = Options::default();
        let open = logins_for("saslauthd", &o);
        assert!(open.contains("every system account"), "{open}");
        assert!(open.contains("root"), "{open}");
        o.login_group = Some("mailusers".into());
        let g = logins_for("saslauthd", &o);
        assert!(
            g.contains("members of group mailusers with uid 1 or more"),
            "{g}"
        );
        assert!(
            g.contains("never root") && !g.contains("every system account"),
            "{g}"
        );
        o.login_min_uid = Some(1000);
        assert!(logins_for("saslauthd", &o).contains("uid 1000 or more"));
        o.login_group = None;
        o.password_source = Some(PasswordSource::Sasldb);
        let s = logins_for("saslauthd", &o);
        assert!(s.contains("sasldb") && s.contains("users add"), "{s}");
        assert!(logins_for("auxprop", &Options::default()).contains("sasldb"));
    }
}
