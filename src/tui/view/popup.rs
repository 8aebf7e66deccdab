//! Popups: the confirmation that repeats what will change and where the originals go, the
//! help, and the question asked when quitting while a step is being written.

use super::{para, theme};
use crate::tui::model::{Confirm, Model, Popup};
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::Line;
use ratatui::widgets::{Block, Borders, Clear, Paragraph};
use ratatui::Frame;

fn confirm_lines(m: &Model, c: &Confirm, width: usize) -> (String, Vec<Line<'static>>) {
    let t = theme(m);
    let d = Style::default();
    let mut out = vec![];
    match c {
        Confirm::Apply { step } => {
            let r = &m.reports()[*step];
            out.extend(para(r.title, width, "", "", t.bold()));
            out.push(Line::raw("This changes:"));
            for c in &r.changes {
                let what = if c.before.is_some() {
                    "replaces"
                } else {
                    "creates"
                };
                out.extend(para(&format!("{what} {}", c.path), width, "  ", "    ", d));
            }
            for c in &r.commands {
                out.extend(para(
                    &format!("runs `{}`", c.argv.join(" ")),
                    width,
                    "  ",
                    "    ",
                    d,
                ));
            }
            out.extend(para(
                &format!("Each file's original is saved in {}/saved/ and recorded in the journal before it is replaced (a file the wizard creates is removed on rollback); r rolls back at any time.", m.info.journal_dir),
                width,
                "",
                "",
                t.dim(),
            ));
            (format!(" Apply {}? ", r.id), out)
        }
        Confirm::Rollback { .. } | Confirm::StartOver { .. } => {
            let (step, changed, start_over) = match c {
                Confirm::Rollback { step, changed } => (step.clone(), changed, false),
                Confirm::StartOver { changed } => (None, changed, true),
                Confirm::Apply { .. } => unreachable!(),
            };
            let s = m.snap.as_ref().expect("confirm needs a snapshot");
            out.push(Line::raw("This puts back, newest first:"));
            for a in s.journal.applied.iter().filter(|a| match c {
                Confirm::Rollback { step: Some(id), .. } => &a.id == id,
                _ => true,
            }) {
                for f in &a.files {
                    let what = if f.saved.is_some() {
                        "restores"
                    } else {
                        "removes"
                    };
                    out.extend(para(
                        &format!("{what} {}", f.path),
                        width,
                        &format!("  {:<13} ", a.id),
                        "    ",
                        d,
                    ));
                }
            }
            if !changed.is_empty() {
                out.extend(para(
                    &format!("Changed since the wizard wrote them: {}. y stops at those and leaves them alone; f puts the originals back over them.", changed.join(", ")),
                    width,
                    "! ",
                    "  ",
                    t.warn(),
                ));
            }
            if start_over {
                out.extend(para(
                    "Then the wizard begins again at the first step.",
                    width,
                    "",
                    "",
                    t.dim(),
                ));
            }
            let title = match (start_over, &step) {
                (true, _) => " Start over? ".to_string(),
                (false, Some(id)) => format!(" Roll back {id}? "),
                (false, None) => " Roll back every step? ".to_string(),
            };
            (title, out)
        }
    }
}

fn centered(area: Rect, w: u16, h: u16) -> Rect {
    let w = w.min(area.width);
    let h = h.min(area.height);
    Rect::new(
        area.x + (area.width - w) / 2,
        area.y + (area.height - h) / 2,
        w,
        h,
    )
}

pub fn draw(m: &Model, p: &Popup, f: &mut Frame, area: Rect) {
    let t = theme(m);
    let w = area.width.saturating_sub(6).min(72);
    let inner_w = w.saturating_sub(2) as usize;
    let (title, mut lines, keys) = match p {
        Popup::Confirm(c) => {
            let (title, lines) = confirm_lines(m, c, inner_w);
            let keys = if m.confirm_can_force() {
                "y yes · f force · n no"
            } else {
                "y yes · n no"
            };
            (title, lines, keys)
        }
        Popup::Help => (
            " Help ".to_string(),
            super::help::lines(m, inner_w),
            "? or Esc closes · PgUp/PgDn scroll",
        ),
        Popup::QuitWhileBusy => {
            let what = m.busy.as_ref().map(|b| b.what.clone()).unwrap_or_default();
            let lines = para(
                &format!("A step is being applied ({what}). The wizard never stops in the middle of a write: y quits as soon as this step is done, n carries on."),
                inner_w,
                "",
                "",
                Style::default(),
            );
            (
                " Quit? ".to_string(),
                lines,
                "y quit after this step · n no",
            )
        }
    };
    lines.push(Line::raw(""));
    lines.push(Line::styled(keys.to_string(), t.bold()));
    let h = (lines.len() as u16 + 2).min(area.height.saturating_sub(2));
    let r = centered(area, w, h);
    f.render_widget(Clear, r);
    let block = Block::default().borders(Borders::ALL).title(title);
    let scroll = if matches!(p, Popup::Help) {
        m.scroll
            .min((lines.len() as u16).saturating_sub(h.saturating_sub(2)))
    } else {
        0
    };
    f.render_widget(Paragraph::new(lines).block(block).scroll((scroll, 0)), r);
}
