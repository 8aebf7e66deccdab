//! The Welcome screen: an unfinished run first (resume / roll back / start over, with what is
//! already changed), then what the wizard does in the HOWTO's order, the system and profile,
//! whether it runs as root, and the HOWTO's step-1 warning about mail clients.

use super::{choice_lines, heading, para, theme};
use ratatui::text::Line;

pub const CLIENTS_WARNING: &str = "HOWTO step 1: your users' mail clients must turn on SMTP authentication (\"My outgoing server requires authentication\"), or they will no longer be able to relay mail through this server. Most clients, Outlook among them, do not have it on out of the box: tell your users before you apply.";

pub fn lines(m: &super::Model, width: usize) -> Vec<Line<'static>> {
    let t = theme(m);
    let Some(s) = &m.snap else { return vec![] };
    let mut out = vec![];

    if let Some(at) = m.resume_at() {
        out.push(heading(&t, "An unfinished run"));
        if !s.journal.interrupted.is_empty() {
            out.extend(para(
                &format!(
                    "Interrupted in the middle of {}: that step is undone from the journal before anything else is applied.",
                    s.journal.interrupted.join(", ")
                ),
                width,
                "  ! ",
                "    ",
                t.warn(),
            ));
        }
        out.extend(para(
            &format!(
                "Already changed ({} applied, newest first):",
                s.journal
                    .applied
                    .iter()
                    .map(|a| a.id.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            width,
            "  ",
            "  ",
            ratatui::style::Style::default(),
        ));
        for a in &s.journal.applied {
            for f in &a.files {
                out.extend(para(
                    &f.path,
                    width,
                    &format!("    {:<13} ", a.id),
                    "      ",
                    t.dim(),
                ));
            }
        }
        out.extend(para(
            &format!("Next: step {} ({}).", at + 1, m.info.steps[at].1),
            width,
            "  ",
            "  ",
            t.bold(),
        ));
        out.extend(choice_lines(m, &m.choices(), width));
        out.push(Line::raw(""));
    }

    if let Some(e) = &s.journal.error {
        out.extend(para(&m.info.served(e), width, "! ", "  ", t.error()));
        out.push(Line::raw(""));
    }

    out.extend(para(
        "This wizard takes Sendmail from \"listens on loopback only\" to \"accepts mail from the network and demands SMTP AUTH before relaying\", the way the Sendmail SMTP AUTH HOWTO does it: every change shown as a diff first, backed up, journaled, and reversible.",
        width,
        "",
        "",
        t.bold(),
    ));
    out.push(Line::raw(""));
    out.extend(para(CLIENTS_WARNING, width, "! ", "  ", t.warn()));
    out.push(Line::raw(""));

    out.push(heading(&t, "This system"));
    let sys = match &m.info.profile {
        Some((id, name)) => format!(
            "{name} (profile {id}): {}",
            m.info.served(&m.info.profile_reason)
        ),
        None => format!("not recognised: {}", m.info.served(&m.info.profile_reason)),
    };
    out.extend(para(
        &sys,
        width,
        "  ",
        "  ",
        ratatui::style::Style::default(),
    ));
    let who = if m.info.root == "/" {
        match (m.info.euid, &m.info.may_write) {
            (0, _) => "running as root: changes go to the live system".to_string(),
            (u, _) => format!("running as uid {u}, not root: you can look around; applying needs sudo (or --root DIR on a copy)"),
        }
    } else {
        format!(
            "working on the tree {} (uid {}): the live system is not touched",
            m.info.root, m.info.euid
        )
    };
    out.extend(para(
        &who,
        width,
        "  ",
        "  ",
        ratatui::style::Style::default(),
    ));
    out.push(Line::raw(""));

    out.push(heading(&t, "What the wizard does, in the HOWTO's order"));
    for (i, (id, title, _)) in m.info.steps.iter().enumerate() {
        let st = m.status(i);
        out.extend(para(
            title,
            width,
            &format!("{:>3} {} ", i + 1, super::mark(st, false)),
            "        ",
            ratatui::style::Style::default(),
        ));
        let _ = id;
    }
    out.push(Line::raw(""));
    out.extend(para(
        "Enter goes to the first step that needs something; ↑↓ move freely between steps; nothing is written until you confirm a step's Apply.",
        width,
        "",
        "",
        t.dim(),
    ));
    out
}
