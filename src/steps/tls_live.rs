//! After the restart: the real daemon offers STARTTLS, and AUTH only inside it (issue 11 item
//! 2; TLS.md: a certificate sendmail cannot use is logged once at start and STARTTLS silently
//! disappears, and with `p` so does every AUTH mechanism). A failure fails the restart step,
//! which rolls the run back and restarts the old configuration.

use crate::engine::step::Context;
use std::time::Duration;

/// What the restart must find, read from the installed sendmail.mc: `None` when the run does
/// not set up STARTTLS (`--no-tls`, or no TLS in the mc).
pub struct Expectation {
    /// `p` is in confAUTH_OPTIONS: no PLAIN or LOGIN before STARTTLS.
    pub auth_only_after_tls: bool,
}

pub fn expectation(cx: &Context) -> Option<Expectation> {
    if !cx.opts.tls {
        return None;
    }
    let p = cx.profile.as_ref()?;
    let mc = cx.root.read(&p.sendmail.mc).ok()??;
    let mc = String::from_utf8_lossy(&mc);
    let include = p.tls.as_ref().and_then(|t| t.include.as_deref());
    if !super::tls::mc_has_tls(&mc, include) {
        return None;
    }
    let letters = super::tls::auth_options(&mc).unwrap_or_default();
    Some(Expectation {
        auth_only_after_tls: letters.split([' ', ',']).any(|t| t == "p"),
    })
}

/// EHLO on 127.0.0.1:25, STARTTLS (the certificate is not verified: this is the server's own
/// loopback), EHLO again. `Ok`: what was seen; `Err`: why STARTTLS or AUTH is not as it must be.
pub fn verify(cx: &Context, want: &Expectation) -> Result<Vec<String>, String> {
    let mut o = crate::smtp::ProbeOptions::new("127.0.0.1", 25);
    o.skip_relay_denial = true;
    o.verify_cert = false;
    o.tls = crate::smtp::TlsMode::Required;
    o.timeout = Duration::from_secs(10);
    let rep = crate::smtp::probe(&o);
    let plain = |m: &Option<Vec<String>>| -> Vec<String> {
        m.iter()
            .flatten()
            .filter(|x| x.eq_ignore_ascii_case("PLAIN") || x.eq_ignore_ascii_case("LOGIN"))
            .cloned()
            .collect()
    };
    if !rep.starttls {
        return Err(format!(
            "sendmail does not offer STARTTLS after the restart: it cannot use its certificate or \
             key (the mail log says why: look for \"STARTTLS=server\" and \"unsafe\"){}",
            if want.auth_only_after_tls {
                ", and with p in confAUTH_OPTIONS it then offers no AUTH at all"
            } else {
                ""
            }
        ));
    }
    let tls = rep.tls.as_ref().filter(|t| t.established).ok_or_else(|| {
        format!(
            "sendmail offers STARTTLS but the TLS handshake fails: {}",
            rep.tls
                .as_ref()
                .and_then(|t| t.error.clone())
                .or(rep.error.clone())
                .unwrap_or_else(|| "no reason given".into())
        )
    })?;
    let before = plain(&rep.auth_mechanisms);
    if want.auth_only_after_tls && !before.is_empty() {
        return Err(format!(
            "sendmail offers {} before STARTTLS although confAUTH_OPTIONS has p",
            before.join(" ")
        ));
    }
    let want_mechs = cx.mechanisms();
    let after = tls.auth_mechanisms.clone().unwrap_or_default();
    let missing: Vec<&String> = want_mechs
        .iter()
        .filter(|m| !after.iter().any(|a| a.eq_ignore_ascii_case(m)))
        .collect();
    if !missing.is_empty() {
        return Err(format!(
            "after STARTTLS sendmail does not offer {} (it offers: {})",
            missing
                .iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join(" "),
            if after.is_empty() {
                "no AUTH".to_string()
            } else {
                after.join(" ")
            }
        ));
    }
    Ok(vec![format!(
        "127.0.0.1:25 offers STARTTLS ({}); AUTH {} only after it{}",
        tls.version.clone().unwrap_or_default(),
        after.join(" "),
        if before.is_empty() {
            String::new()
        } else {
            format!(" (before it: {})", before.join(" "))
        }
    )])
}
