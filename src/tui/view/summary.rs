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

    // Issue 11 item 6: what the ehlo step found (TLS with the certificate verdict, port 587)
    // and who may log in.
    use crate::steps::outcome;
    out.push(heading(&t, "The server now"));
    let ehlo: Vec<String> = m
        .reports()
        .iter()
        .filter(|r| r.id == "ehlo")
        .flat_map(|r| r.findings.iter())
        .filter(|f| {
            f.message.starts_with(outcome::TLS_PREFIX)
                || f.message.starts_with(outcome::PORT587_PREFIX)
        })
        .map(|f| m.info.served(&f.message))
        .collect();
    if ehlo.is_empty() {
        out.extend(para(
            "TLS and port 587: not tested yet; the ehlo step tests them on the running server after the restart, and the Probe screen tests any server",
            width,
            "  ",
            "    ",
            t.dim(),
        ));
    }
    for l in &ehlo {
        let bad = [
            "not offered",
            "fails",
            "does not require",
            "loopback only",
            "nothing listens",
        ];
        let style = if bad.iter().any(|b| l.contains(b)) {
            t.warn()
        } else {
            d
        };
        out.extend(para(l, width, "  ", "    ", style));
    }
    if !m.opts.submission {
        out.extend(para(
            "port 587: not opened (--no-submission)",
            width,
            "  ",
            "    ",
            t.warn(),
        ));
    }
    out.extend(para(
        &outcome::logins_for(&m.info.password_check, &m.opts),
        width,
        "  ",
        "    ",
        d,
    ));
    out.push(Line::raw(""));

    out.push(heading(&t, "What to tell your users"));
    let starttls = ehlo
        .iter()
        .find(|l| l.starts_with(outcome::TLS_PREFIX))
        .map(|l| l.starts_with("TLS: STARTTLS TLS"));
    for l in outcome::tell_users(&s.server_name, m.opts.submission, starttls, &m.mechanisms()) {
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
