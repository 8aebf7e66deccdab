//! The Watch screen: HOWTO step 13, "hover anxiously over the server for a couple of days and
//! check for Relaying denied errors", as the relay report of `relay-report --follow`, live. The
//! logs are read on a thread of their own (`side`); every snapshot that read more lines
//! replaces the one shown.

use super::{heading, para, theme};
use crate::tui::model::Model;
use ratatui::style::{Modifier, Style};
use ratatui::text::Line;

pub fn lines(m: &Model, width: usize) -> Vec<Line<'static>> {
    let t = theme(m);
    let d = Style::default();
    let w = &m.watch;
    let mut out = vec![heading(&t, "Watch for \"Relaying denied\" (HOWTO step 13)")];
    out.extend(para(
        "Reads the mail log and keeps reading it as it grows, across rotation (relay-report --follow). Refused relaying from your own users means their mail client does not use SMTP AUTH yet; from strangers, it is the server doing its job.",
        width,
        "",
        "",
        d,
    ));
    out.push(Line::raw(""));
    // What the follow read: the report names the journal when it read that instead of the
    // profile's logs (absent without rsyslog); until then, the profile's logs.
    let logs = match w.report.as_ref().and_then(|r| r.source.as_deref()) {
        Some(source) => m.info.served(source),
        None if m.info.mail_logs.is_empty() => {
            "the profile names no mail log: the systemd journal".into()
        }
        None => m
            .info
            .mail_logs
            .iter()
            .map(|p| m.info.served(&p.display().to_string()))
            .collect::<Vec<_>>()
            .join(", "),
    };
    out.extend(para(&logs, width, "Logs: ", "      ", t.bold()));
    let state = match (w.running, &w.error) {
        (Some(_), _) => (
            format!(
                "following: {} update{} so far; Enter stops",
                w.updates,
                if w.updates == 1 { "" } else { "s" }
            ),
            t.ok().add_modifier(Modifier::BOLD),
        ),
        (None, Some(e)) => (format!("stopped: {}", m.info.served(e)), t.error()),
        (None, None) if w.started > 0 => ("stopped; Enter follows again".into(), t.bold()),
        (None, None) => ("not started; Enter starts following".into(), t.bold()),
    };
    out.extend(para(&state.0, width, "State: ", "       ", state.1));
    out.push(Line::raw(""));
    match &w.report {
        // The report as `relay-report` prints it, in the served system's paths (a --root tree's
        // journal is /var/log/journal there); its "read from" line is the Logs line above.
        Some(r) => out.extend(super::preformatted(&report_text(m, r), width, |l| {
            if l.trim_start().starts_with("-> ") {
                t.warn()
            } else {
                d
            }
        })),
        None if w.running.is_some() => {
            out.push(Line::styled("reading the logs…".to_string(), t.warn()))
        }
        None => {}
    }
    out
}

/// The report's text for the screen: paths under the root shown as the served system's, and
/// without the "read from" line, which the Logs line already shows.
fn report_text(m: &Model, r: &crate::relay_report::Report) -> String {
    let text = r.to_text();
    let text = match &r.source {
        Some(source) => text.replacen(&format!("  read from {source}\n"), "", 1),
        None => text,
    };
    m.info.served(&text)
}
