//! The Probe screen: test a server the way HOWTO steps 9 and 13 do by hand with telnet:
//! greeting, EHLO, AUTH advertised, relay refused without a login. The probe runs on a thread
//! of its own (`side`), so this screen keeps redrawing and answering keys while a silent or
//! hostile server holds it up, and shows how long it has waited.

use super::{heading, para, theme};
use crate::tui::model::Model;
use ratatui::style::{Modifier, Style};
use ratatui::text::Line;

const SPINNER: [&str; 4] = ["|", "/", "-", "\\"];

pub fn lines(m: &Model, width: usize) -> Vec<Line<'static>> {
    let t = theme(m);
    let d = Style::default();
    let p = &m.probe;
    let secs = m.info.probe_timeout.as_secs_f64();
    let mut out = vec![heading(&t, "Test a server (HOWTO steps 9 and 13)")];
    out.extend(para(
        &format!(
            "Connects to the target, reads the greeting, says EHLO, looks for AUTH in the reply, and asks to relay to {} without logging in: a server set up as the HOWTO says refuses with \"Relaying denied\". Nothing is sent (no DATA). Each step waits at most {secs:.0} s.",
            crate::smtp::DEFAULT_RELAY_TO
        ),
        width,
        "",
        "",
        d,
    ));
    if m.info.root != "/" {
        out.extend(para(
            "This talks to a live server over the network, whatever --root says.",
            width,
            "",
            "",
            t.dim(),
        ));
    }
    out.push(Line::raw(""));
    match &p.edit {
        Some(e) => {
            out.push(Line::styled(
                format!("Target: {e}_"),
                t.bold().add_modifier(Modifier::UNDERLINED),
            ));
            out.extend(para(
                "type HOST or HOST:PORT ([::1]:25 for IPv6); Enter keeps it, Esc cancels",
                width,
                "  ",
                "  ",
                t.dim(),
            ));
        }
        None => {
            out.push(Line::styled(format!("Target: {}", p.target), t.bold()));
            if p.running.is_none() {
                out.extend(para(
                    "Enter probes it; e changes it",
                    width,
                    "  ",
                    "  ",
                    t.dim(),
                ));
            }
        }
    }
    out.push(Line::raw(""));
    if p.running.is_some() {
        let spin = SPINNER[(p.ticks as usize) % SPINNER.len()];
        out.extend(para(
            &format!(
                "{spin} probing {}… {:.1} s so far; the wizard keeps answering meanwhile (? help, q quits)",
                p.target,
                p.elapsed().as_secs_f64()
            ),
            width,
            "",
            "  ",
            t.warn().add_modifier(Modifier::BOLD),
        ));
        out.push(Line::raw(""));
    }
    match &p.last {
        Some(Ok(r)) => {
            let style = match r.exit_code() {
                0 => t.ok().add_modifier(Modifier::BOLD),
                _ => t.error(),
            };
            out.extend(para(
                &format!("Last result ({}): {}", r.target, r.result()),
                width,
                "",
                "  ",
                style,
            ));
            if let Some(tls) = &r.tls {
                let style = if tls.established && tls.verified {
                    t.ok()
                } else if tls.established {
                    t.warn()
                } else {
                    t.removed()
                };
                out.extend(para(&tls.summary(), width, "  TLS: ", "       ", style));
                if let Some(c) = &tls.certificate {
                    let san = if c.san.is_empty() {
                        "none".to_owned()
                    } else {
                        c.san.join(", ")
                    };
                    out.extend(para(
                        &format!(
                            "subject {}; SAN {}; issuer {}; expires {} ({} days left{})",
                            crate::term::safe(&c.subject),
                            crate::term::safe(&san),
                            crate::term::safe(&c.issuer),
                            c.not_after,
                            c.days_left,
                            if c.self_signed { ", self-signed" } else { "" }
                        ),
                        width,
                        "       certificate: ",
                        "       ",
                        d,
                    ));
                }
            }
            // The AUTH list before and after STARTTLS (with `A p y` only after).
            let mechs = |m: Option<&Vec<String>>| {
                m.map_or("none".to_string(), |v| {
                    crate::term::safe(&v.join(" ")).into_owned()
                })
            };
            out.extend(para(
                &format!(
                    "{} before STARTTLS{}",
                    mechs(r.auth_mechanisms.as_ref()),
                    match &r.tls {
                        Some(t) if t.established => {
                            format!("; {} after it", mechs(t.auth_mechanisms.as_ref()))
                        }
                        _ if r.starttls => "; STARTTLS failed, so not seen after it".to_string(),
                        _ => "; no STARTTLS offered".to_string(),
                    }
                ),
                width,
                "  AUTH: ",
                "        ",
                d,
            ));
            for c in &r.checks {
                let style = match c.status {
                    crate::smtp::probe::Status::Pass => t.ok(),
                    crate::smtp::probe::Status::Skipped => t.dim(),
                    crate::smtp::probe::Status::Warn => t.warn(),
                    _ => t.removed(),
                };
                out.extend(para(
                    &format!("{}: {}", c.id, c.detail),
                    width,
                    &format!("  [{:<7}] ", c.status.as_str()),
                    "            ",
                    style,
                ));
                if let Some(h) = &c.hint {
                    out.extend(para(h, width, "            hint: ", "            ", d));
                }
            }
            if !r.verdicts.is_empty() {
                out.push(Line::raw(""));
                out.push(heading(&t, "What this means"));
                for v in &r.verdicts {
                    out.extend(para(v, width, "  - ", "    ", d));
                }
            }
            if let Some(e) = &r.error {
                out.extend(para(e, width, "Error: ", "  ", t.error()));
            }
            if !r.transcript.is_empty() {
                out.push(Line::raw(""));
                out.push(heading(&t, "The conversation"));
                for l in &r.transcript {
                    out.extend(para(
                        &l.text,
                        width,
                        &format!("{}: ", l.dir.as_str()),
                        "     ",
                        if l.dir == crate::smtp::Dir::Client {
                            t.dim()
                        } else {
                            d
                        },
                    ));
                }
            }
        }
        Some(Err(e)) => {
            out.extend(para(e, width, "Could not probe: ", "  ", t.error()));
        }
        None => {}
    }
    out.push(Line::raw(""));
    out.push(heading(&t, "TLS options (Tab, then Space)"));
    out.extend(super::choice_lines(m, &m.choices(), width));
    out.extend(para(
        &format!(
            "The same on the command line: smtpauth-wizard probe {}{}{} (there also --tls-ca FILE, to trust a certificate such as the server's own self-signed one, and --tls-name NAME, the name it must carry)",
            p.target,
            if p.tls.no_verify_cert { " --no-verify-cert" } else { "" },
            if p.tls.tls_required { " --tls-required" } else { "" }
        ),
        width,
        "  ",
        "  ",
        t.dim(),
    ));
    out.push(Line::raw(""));
    out.extend(para(
        &format!(
            "To test a login too: smtpauth-wizard probe {} --user NAME (it asks for the password; the wizard itself never handles one).",
            p.target
        ),
        width,
        "",
        "  ",
        t.dim(),
    ));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::smtp::{tls::CertInfo, ProbeReport, TlsReport};
    use crate::tui::model::Info;

    fn model() -> Model {
        let info = Info {
            root: "/".into(),
            root_arg: String::new(),
            profile: None,
            profile_reason: String::new(),
            euid: 0,
            may_write: Ok(()),
            password_check: "saslauthd".into(),
            default_mechanisms: vec!["LOGIN".into(), "PLAIN".into()],
            service: "sendmail".into(),
            journal_dir: "/var/lib/smtpauth-wizard".into(),
            steps: vec![],
            color: false,
            mail_logs: vec![],
            local_domains: vec![],
            probe_target: "localhost:25".into(),
            probe_timeout: std::time::Duration::from_secs(10),
        };
        Model::new(info, crate::engine::step::Options::default(), (80, 24))
    }

    fn text(m: &Model) -> String {
        lines(m, 200)
            .iter()
            .map(|l| {
                l.spans
                    .iter()
                    .map(|s| s.content.as_ref())
                    .collect::<String>()
            })
            .collect::<Vec<_>>()
            .join("\n")
    }

    #[test]
    fn the_tls_result_and_the_certificate_are_shown() {
        let mut m = model();
        let plain = ProbeReport {
            target: "localhost:25".into(),
            ..Default::default()
        };
        m.probe.last = Some(Ok(plain.clone()));
        assert!(!text(&m).contains("TLS:"));
        let tls = TlsReport {
            established: true,
            version: Some("TLSv1.3".into()),
            cipher: Some("TLS13_AES_256_GCM_SHA384".into()),
            name: "localhost".into(),
            verification: "certificate not verified (--no-verify-cert): unknown issuer".into(),
            certificate: Some(CertInfo {
                subject: "CN=mailsrv.example.test".into(),
                san: vec!["DNS:mailsrv.example.test".into()],
                issuer: "CN=mailsrv.example.test".into(),
                not_before: "2026-01-01T00:00:00Z".into(),
                not_after: "2028-04-05T00:00:00Z".into(),
                days_left: 490,
                self_signed: true,
            }),
            ..Default::default()
        };
        m.probe.last = Some(Ok(ProbeReport {
            tls: Some(tls),
            ..plain
        }));
        let s = text(&m);
        assert!(
            s.contains("TLS: TLSv1.3, TLS13_AES_256_GCM_SHA384, certificate not verified"),
            "{s}"
        );
        assert!(
            s.contains("subject CN=mailsrv.example.test; SAN DNS:mailsrv.example.test"),
            "{s}"
        );
        assert!(
            s.contains("expires 2028-04-05T00:00:00Z (490 days left, self-signed)"),
            "{s}"
        );
    }

    #[test]
    fn the_auth_list_before_and_after_starttls_and_the_tls_options_are_shown() {
        let mut m = model();
        m.screen = crate::tui::model::Screen::Probe;
        let s = text(&m);
        assert!(
            s.contains("[ ] do not verify the certificate (--no-verify-cert)"),
            "{s}"
        );
        assert!(s.contains("[ ] require STARTTLS (--tls-required)"), "{s}");
        // A p y: AUTH only after STARTTLS.
        m.probe.last = Some(Ok(ProbeReport {
            target: "localhost:25".into(),
            connected: true,
            starttls: true,
            tls: Some(TlsReport {
                established: true,
                auth_mechanisms: Some(vec!["LOGIN".into(), "PLAIN".into()]),
                ..Default::default()
            }),
            ..Default::default()
        }));
        let s = text(&m);
        assert!(
            s.contains("AUTH: none before STARTTLS; LOGIN PLAIN after it"),
            "{s}"
        );
        m.probe.last = Some(Ok(ProbeReport {
            target: "localhost:25".into(),
            auth_mechanisms: Some(vec!["LOGIN".into()]),
            ..Default::default()
        }));
        assert!(text(&m).contains("AUTH: LOGIN before STARTTLS; no STARTTLS offered"));
        // The checkboxes set the options the probe runs with, and the command line shows them.
        m.probe.tls.no_verify_cert = true;
        m.probe.tls.tls_required = true;
        let s = text(&m);
        assert!(s.contains("[x] do not verify the certificate"), "{s}");
        assert!(s.contains("[x] require STARTTLS"), "{s}");
        assert!(
            s.contains("smtpauth-wizard probe localhost:25 --no-verify-cert --tls-required"),
            "{s}"
        );
    }
}
