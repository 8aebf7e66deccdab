//! The Summary: what was changed and where the backups are, what is left to do, how to roll
//! back from the command line, and what to tell the users.

use super::{heading, para, theme};
use crate::engine::step::Status;
use crate::tui::model::Model;
use ratatui::style::Style;
use ratatui::text::Line;

pub fn lines(m: &Model, width: usize) -> Vec<Line<'static>> {
    let t = theme(m);
    let Some(s) = &m.snap else { return vec![] };
    let d = Style::default();
    let mut out = vec![];

    out.push(heading(&t, "What was changed"));
    if s.journal.applied.is_empty() {
        out.extend(para(
            "nothing: the journal holds no applied change",
            width,
            "  ",
            "  ",
            d,
        ));
    }
    for a in s.journal.applied.iter().rev() {
        for f in a.files.iter().rev() {
            let new = if f.saved.is_none() { " (new)" } else { "" };
            out.extend(para(
                &format!("{}{new}", f.path),
                width,
                &format!("  {:<15}", a.id),
                "                 ",
                d,
            ));
        }
        for c in &a.commands {
            out.extend(para(
                &format!("ran `{c}`"),
                width,
                &format!("  {:<15}", a.id),
                "                 ",
                d,
            ));
        }
    }
    out.push(Line::raw(""));
    out.push(heading(&t, "Backups"));
    let baks: Vec<&str> = s
        .journal
        .applied
        .iter()
        .filter(|a| a.id == "backup")
        .flat_map(|a| a.files.iter().map(|f| f.path.as_str()))
        .collect();
    if !baks.is_empty() {
        out.extend(para(
            &format!(".bak copies (HOWTO 2.3): {}", baks.join(", ")),
            width,
            "  ",
            "    ",
            d,
        ));
    }
    out.extend(para(
        &format!("The journal keeps the original of every file it replaced, under {}/saved/, with its checksum: {}", m.info.journal_dir, m.info.served(&s.journal.path)),
        width,
        "  ",
        "    ",
        d,
    ));
    out.push(Line::raw(""));

    let todo: Vec<String> = m
        .reports()
        .iter()
        .filter(|r| r.status != Status::Done)
        .map(|r| {
            let why = r
                .findings
                .iter()
                .rev()
                .find(|f| {
                    f.severity != crate::engine::step::Severity::Info || r.status == Status::Skipped
                })
                .map(|f| m.info.served(&f.message))
                .unwrap_or_else(|| format!("{} (not applied yet)", r.title));
            format!("{} ({}): {why}", r.id, r.status.as_str())
        })
        .collect();
    if !todo.is_empty() {
        out.push(heading(&t, "Still to do"));
        for l in todo {
            out.extend(para(&l, width, "  • ", "    ", t.warn()));
        }
        out.push(Line::raw(""));
    }

    out.push(heading(&t, "Roll back from the command line"));
    let ra = &m.info.root_arg;
    for (cmd, what) in [
        (
            format!("smtpauth-wizard {ra}rollback"),
            "every change, newest first",
        ),
        (
            format!("smtpauth-wizard {ra}rollback --step ID"),
            "one step",
        ),
        (
            format!("smtpauth-wizard {ra}status"),
            "what the journal holds",
        ),
    ] {
        out.extend(para(&format!("{cmd}   ({what})"), width, "  ", "    ", d));
    }
    out.push(Line::raw(""));

    out.push(heading(&t, "What to tell your users"));
    let mechs = m.mechanisms().join(" or ");
    for l in [
        format!("Outgoing mail server (SMTP): {}", s.server_name),
        "Port: 25".to_string(),
        "\"My outgoing server requires authentication\": turn it on".to_string(),
        "User name and password: their login on this server".to_string(),
        format!("Authentication method: {mechs} (the password is sent unencrypted unless the client uses STARTTLS)"),
        "Without authentication they get \"Relaying denied\": that is the point.".to_string(),
    ] {
        out.extend(para(&l, width, "  ", "    ", d));
    }
    out.push(Line::raw(""));
    out.extend(para(
        &format!("Then restart sendmail (`service {} restart`) and watch the mail log for \"Relaying denied\" for a couple of days (HOWTO step 13): Enter opens the Watch screen, which follows the log live. The Probe screen tests the server from outside: EHLO, AUTH, relay refused.", m.info.service),
        width,
        "",
        "",
        t.dim(),
    ));
    out
}
