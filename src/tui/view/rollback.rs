//! The Rollback screen: every applied change in the journal, newest first, with where its
//! original is kept; one step or all; files changed since the wizard wrote them are flagged.

use super::{heading, para, theme};
use crate::tui::model::Model;
use ratatui::style::Style;
use ratatui::text::Line;

pub fn lines(m: &Model, width: usize) -> Vec<Line<'static>> {
    let t = theme(m);
    let Some(s) = &m.snap else { return vec![] };
    let mut out = vec![];
    if let Some(res) = &m.rollback_result {
        out.extend(super::outcome_lines(
            m,
            res,
            "Rolled back",
            "Rollback stopped",
            width,
        ));
        out.push(Line::raw(""));
    }
    if let Some(e) = &s.journal.error {
        out.extend(para(&m.info.served(e), width, "! ", "  ", t.error()));
        return out;
    }
    if s.journal.applied.is_empty() {
        out.extend(para(
            "The journal holds no applied change: there is nothing to roll back.",
            width,
            "",
            "",
            t.bold(),
        ));
        return out;
    }
    out.extend(para(
        "Applied changes, newest first. Rolling back puts every original back from the journal (it needs neither m4 nor sendmail).",
        width,
        "",
        "",
        Style::default(),
    ));
    let choices = m.choices();
    let focused = m.focus == crate::tui::model::Focus::Choices;
    for (i, c) in choices.iter().enumerate() {
        let cursor = focused && i == m.cursor;
        let pre = if cursor { "▶ " } else { "  " };
        let mark = if c.selected { "(•)" } else { "( )" };
        let style = if cursor { t.selected() } else { t.bold() };
        out.push(Line::styled(format!("{pre}{mark} {}", c.label), style));
        if i == 0 {
            continue;
        }
        let a = &s.journal.applied[i - 1];
        for f in &a.files {
            out.extend(para(&f.path, width, "      ", "        ", Style::default()));
            let how = match &f.saved {
                Some(sv) => format!("original kept as {sv}"),
                None => "created by the wizard: rollback removes it".into(),
            };
            out.extend(para(&how, width, "        ", "        ", t.dim()));
            if f.changed_since {
                out.extend(para(
                    "CHANGED since the wizard wrote it: rollback stops there unless you force it",
                    width,
                    "        ! ",
                    "          ",
                    t.warn(),
                ));
            }
        }
        for c in &a.commands {
            out.extend(para(
                &format!("ran `{c}` (not undone)"),
                width,
                "      ",
                "        ",
                t.dim(),
            ));
        }
    }
    out.push(Line::raw(""));
    out.push(heading(&t, "From the command line"));
    out.extend(para(
        &format!("smtpauth-wizard {}rollback [--step ID]", m.info.root_arg),
        width,
        "  ",
        "    ",
        Style::default(),
    ));
    out
}
