//! The help popup: every key of the key table with what it does, and the status marks.

use super::theme;
use crate::tui::keys::TABLE;
use crate::tui::model::Model;
use ratatui::text::Line;

pub fn lines(m: &Model, width: usize) -> Vec<Line<'static>> {
    let t = theme(m);
    let mut out = vec![Line::styled("Keys".to_string(), t.heading())];
    let mut seen = vec![];
    for b in TABLE {
        if seen.contains(&b.help) {
            continue;
        }
        seen.push(b.help);
        out.extend(super::para(
            b.help,
            width,
            &format!("  {:<7} ", b.shown),
            "          ",
            ratatui::style::Style::default(),
        ));
    }
    out.push(Line::raw(""));
    out.push(Line::styled("Step marks".to_string(), t.heading()));
    for (mk, what) in [
        ("[x]", "done: nothing to change"),
        ("[ ]", "pending: Enter shows the change and asks"),
        ("[!]", "error: the screen says what to fix"),
        ("[/]", "blocked: waits for something else"),
        ("[-]", "skipped on this system"),
        ("[>]", "being applied now"),
    ] {
        out.push(Line::raw(format!("  {mk} {what}")));
    }
    out
}
