//! Drawing: pure functions of the [`Model`]. The frame is a header, the step list on the left,
//! the current screen on the right, a status line (what is running, or the last message) and
//! the footer of live keys, built from [`keys::footer`]. Every screen is a list of lines that
//! the main panel scrolls; `NO_COLOR` turns colours off and leaves the words and the `+`/`-`
//! of the diffs to carry the meaning.

mod help;
mod popup;
mod probe;
mod rollback;
pub mod step;
mod summary;
mod watch;
mod welcome;

use super::keys;
use super::model::{BusyKind, Choice, Focus, Model, Screen};
use crate::engine::step::{Severity, Status};
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph};
use ratatui::Frame;

pub const SIDEBAR_WIDTH: u16 = 22;

/// Styles, with or without colour.
#[derive(Clone, Copy)]
pub struct Theme {
    pub color: bool,
}

impl Theme {
    fn fg(&self, c: Color) -> Style {
        if self.color {
            Style::default().fg(c)
        } else {
            Style::default()
        }
    }
    pub fn bold(&self) -> Style {
        Style::default().add_modifier(Modifier::BOLD)
    }
    pub fn dim(&self) -> Style {
        if self.color {
            Style::default().fg(Color::DarkGray)
        } else {
            Style::default()
        }
    }
    pub fn heading(&self) -> Style {
        self.fg(Color::Cyan).add_modifier(Modifier::BOLD)
    }
    pub fn added(&self) -> Style {
        self.fg(Color::Green)
    }
    pub fn removed(&self) -> Style {
        self.fg(Color::Red)
    }
    pub fn hunk(&self) -> Style {
        self.fg(Color::Cyan)
    }
    pub fn warn(&self) -> Style {
        self.fg(Color::Yellow)
    }
    pub fn error(&self) -> Style {
        self.fg(Color::Red).add_modifier(Modifier::BOLD)
    }
    pub fn ok(&self) -> Style {
        self.fg(Color::Green)
    }
    /// The selected row: reversed, which reads without colour too.
    pub fn selected(&self) -> Style {
        Style::default().add_modifier(Modifier::REVERSED)
    }
    pub fn status(&self, s: Status) -> Style {
        match s {
            Status::Done => self.ok(),
            Status::Pending => self.warn(),
            Status::Blocked => self.fg(Color::Magenta),
            Status::Skipped => self.dim(),
            Status::Error => self.error(),
        }
    }
}

pub fn theme(m: &Model) -> Theme {
    Theme {
        color: m.info.color,
    }
}

/// The sidebar's mark for a status; readable without colour.
pub fn mark(s: Option<Status>, running: bool) -> &'static str {
    if running {
        return "[>]";
    }
    match s {
        Some(Status::Done) => "[x]",
        Some(Status::Pending) => "[ ]",
        Some(Status::Blocked) => "[/]",
        Some(Status::Skipped) => "[-]",
        Some(Status::Error) => "[!]",
        None => "[?]",
    }
}

/// Word-wraps `text` to `width` columns; the first line starts with `first`, the others with
/// `rest` (hanging indent). Words longer than a line are cut.
pub fn wrap(text: &str, width: usize, first: &str, rest: &str) -> Vec<String> {
    let mut out = vec![];
    let mut line = first.to_string();
    let mut empty = true;
    for word in text.split_whitespace() {
        let lw = line.chars().count();
        let ww = word.chars().count();
        if !empty && lw + 1 + ww > width {
            out.push(std::mem::replace(&mut line, rest.to_string()));
            empty = true;
        }
        if !empty {
            line.push(' ');
        }
        let room = width.saturating_sub(line.chars().count()).max(1);
        if ww > room && empty {
            // A path or a hash longer than the line: cut it into pieces.
            let mut chars: Vec<char> = word.chars().collect();
            while chars.len() > width.saturating_sub(line.chars().count()).max(1) {
                let room = width.saturating_sub(line.chars().count()).max(1);
                let head: String = chars.drain(..room).collect();
                line.push_str(&head);
                out.push(std::mem::replace(&mut line, rest.to_string()));
            }
            line.push_str(&chars.into_iter().collect::<String>());
        } else {
            line.push_str(word);
        }
        empty = false;
    }
    if !empty || out.is_empty() {
        out.push(line);
    }
    out
}

/// Wrapped text as styled lines.
pub fn para(text: &str, width: usize, first: &str, rest: &str, style: Style) -> Vec<Line<'static>> {
    wrap(text, width, first, rest)
        .into_iter()
        .map(|l| Line::styled(l, style))
        .collect()
}

/// Preformatted text (a report's text form) wrapped to `width`, every line keeping its own
/// indentation and continuing four columns further in.
pub fn preformatted(text: &str, width: usize, style: impl Fn(&str) -> Style) -> Vec<Line<'static>> {
    let mut out = vec![];
    for l in text.lines() {
        let indent = &l[..l.len() - l.trim_start().len()];
        if l.trim().is_empty() {
            out.push(Line::raw(""));
            continue;
        }
        out.extend(para(l, width, indent, &format!("{indent}    "), style(l)));
    }
    out
}

/// The result of an apply or a rollback: `ok` or `failed` as its title, then what happened
/// (a failure's lines, with a tool's stderr, in red).
pub fn outcome_lines(
    m: &Model,
    res: &super::model::Outcome,
    ok: &str,
    failed: &str,
    width: usize,
) -> Vec<Line<'static>> {
    let t = theme(m);
    let (title, title_style, style) = if res.ok {
        (ok, t.ok().add_modifier(Modifier::BOLD), Style::default())
    } else {
        (failed, t.error(), t.removed())
    };
    let mut out = vec![Line::styled(title.to_string(), title_style)];
    for l in &res.lines {
        out.extend(para(l, width, "  ", "    ", style));
    }
    out
}

pub fn heading(t: &Theme, s: &str) -> Line<'static> {
    Line::styled(s.to_string(), t.heading())
}

/// A choice list; the cursor row is reversed when the choices have the focus.
pub fn choice_lines(m: &Model, choices: &[Choice], width: usize) -> Vec<Line<'static>> {
    let t = theme(m);
    let focused = m.focus == Focus::Choices;
    let mut out = vec![];
    for (i, c) in choices.iter().enumerate() {
        let mark = match (c.radio, c.selected) {
            (true, true) => "(•)",
            (true, false) => "( )",
            (false, true) => "[x]",
            (false, false) => "[ ]",
        };
        let cursor = focused && i == m.cursor;
        let style = if cursor {
            t.selected()
        } else {
            Style::default()
        };
        let pre = if cursor { "▶ " } else { "  " };
        for (k, l) in wrap(&c.label, width, &format!("{pre}{mark} "), "      ")
            .into_iter()
            .enumerate()
        {
            out.push(Line::styled(
                l,
                if k == 0 { style } else { Style::default() },
            ));
        }
    }
    out
}

/// The severity mark of a finding, readable without colour.
pub fn finding_mark(s: Severity) -> &'static str {
    match s {
        Severity::Info => "· ",
        Severity::Warning => "! ",
        Severity::Error => "x ",
    }
}

/// The main panel's inner size for the current terminal: (width, height).
pub fn main_inner(m: &Model) -> (u16, u16) {
    let (w, h) = m.size;
    let w = w.saturating_sub(SIDEBAR_WIDTH).saturating_sub(2);
    let h = h.saturating_sub(3).saturating_sub(2);
    (w.max(10), h.max(1))
}

/// The lines of the current screen, wrapped to `width`.
pub fn main_lines(m: &Model, width: usize) -> Vec<Line<'static>> {
    // These two need no check of the system.
    match m.screen {
        Screen::Probe => return probe::lines(m, width),
        Screen::Watch => return watch::lines(m, width),
        _ => {}
    }
    if m.snap.is_none() {
        let t = theme(m);
        return vec![
            Line::styled("Checking the system…".to_string(), t.bold()),
            Line::raw(""),
            Line::raw("Every step is checked in the HOWTO's order (this runs"),
            Line::raw("m4 and makemap on copies; nothing is written)."),
        ];
    }
    match m.screen {
        Screen::Welcome => welcome::lines(m, width),
        Screen::Step(i) => step::lines(m, i, width),
        Screen::Rollback => rollback::lines(m, width),
        Screen::Summary => summary::lines(m, width),
        Screen::Probe => probe::lines(m, width),
        Screen::Watch => watch::lines(m, width),
    }
}

/// How far the main panel can scroll.
pub fn max_scroll(m: &Model) -> u16 {
    let (w, h) = main_inner(m);
    let n = if matches!(m.popup, Some(super::model::Popup::Help)) {
        help::lines(m, 70).len()
    } else {
        main_lines(m, w as usize).len()
    };
    (n as u16).saturating_sub(h)
}

fn screen_title(m: &Model) -> String {
    match m.screen {
        Screen::Welcome => " Welcome ".into(),
        Screen::Step(i) => format!(
            " Step {}/{} · {} ",
            i + 1,
            m.info.steps.len(),
            m.info.steps[i].0
        ),
        Screen::Rollback => " Rollback ".into(),
        Screen::Summary => " Summary ".into(),
        Screen::Probe => " Probe · EHLO, AUTH, relay test ".into(),
        Screen::Watch => " Watch · Relaying denied ".into(),
    }
}

pub fn draw(m: &Model, f: &mut Frame) {
    let t = theme(m);
    let area = f.area();
    let [header, body, status, footer] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Min(3),
        Constraint::Length(1),
        Constraint::Length(1),
    ])
    .areas(area);
    draw_header(m, f, header);
    let [side, main] =
        Layout::horizontal([Constraint::Length(SIDEBAR_WIDTH), Constraint::Min(10)]).areas(body);
    draw_sidebar(m, f, side);
    let block = Block::default()
        .borders(Borders::ALL)
        .title(Span::styled(screen_title(m), t.bold()));
    let inner = block.inner(main);
    f.render_widget(block, main);
    let lines = main_lines(m, inner.width as usize);
    let max = (lines.len() as u16).saturating_sub(inner.height);
    let scroll = m.scroll.min(max);
    let more_below = scroll < max;
    f.render_widget(Paragraph::new(lines).scroll((scroll, 0)), inner);
    if more_below && inner.height > 0 {
        let r = Rect::new(
            inner.x + inner.width.saturating_sub(9),
            main.y + main.height - 1,
            9.min(inner.width),
            1,
        );
        f.render_widget(Paragraph::new(Span::styled(" more ↓ ", t.dim())), r);
    }
    draw_status(m, f, status);
    draw_footer(m, f, footer);
    if let Some(p) = &m.popup {
        popup::draw(m, p, f, area);
    }
}

fn draw_header(m: &Model, f: &mut Frame, area: Rect) {
    let t = theme(m);
    let profile = match &m.info.profile {
        Some((id, _)) => format!("profile {id}"),
        None => "no profile".into(),
    };
    let root = if m.info.root == "/" {
        "live system /".to_string()
    } else {
        format!("root {}", m.info.root)
    };
    let text = format!(" smtpauth-wizard · {profile} · {root}");
    f.render_widget(
        Paragraph::new(Line::styled(
            text,
            t.selected().add_modifier(Modifier::BOLD),
        )),
        area,
    );
}

fn draw_sidebar(m: &Model, f: &mut Frame, area: Rect) {
    let t = theme(m);
    let block = Block::default().borders(Borders::ALL).title(" Steps ");
    let inner = block.inner(area);
    f.render_widget(block, area);
    let running = match m.busy.as_ref().map(|b| &b.kind) {
        Some(BusyKind::Applying(id)) => Some(id.as_str()),
        _ => None,
    };
    let cur = m.sidebar_index();
    let mut lines = vec![];
    for idx in 0..m.sidebar_len() {
        let (text, style) = if idx == 0 {
            ("Welcome".to_string(), Style::default())
        } else if idx <= m.info.steps.len() {
            let id = &m.info.steps[idx - 1].0;
            let st = m.status(idx - 1);
            let run = running == Some(id.as_str());
            let style = match (run, st) {
                (true, _) => t.warn().add_modifier(Modifier::BOLD),
                (false, Some(s)) => t.status(s),
                (false, None) => t.dim(),
            };
            (format!("{} {id}", mark(st, run)), style)
        } else {
            let text = match m.screen_at(idx) {
                Screen::Probe if m.probe.running.is_some() => "Probe (running)",
                Screen::Probe => "Probe a server",
                Screen::Watch if m.watch.running.is_some() => "Watch (following)",
                Screen::Watch => "Watch relaying",
                _ => "Summary",
            };
            (text.to_string(), Style::default())
        };
        let here = idx == cur && m.screen != Screen::Rollback;
        let pre = if here { "▶" } else { " " };
        let style = if here && m.focus == Focus::Steps {
            style.add_modifier(Modifier::REVERSED)
        } else if here {
            style.add_modifier(Modifier::BOLD)
        } else {
            style
        };
        lines.push(Line::from(vec![Span::raw(pre), Span::styled(text, style)]));
    }
    // Keep the current entry visible on a short terminal.
    let h = inner.height as usize;
    let off = if cur >= h { cur + 1 - h } else { 0 };
    f.render_widget(Paragraph::new(lines).scroll((off as u16, 0)), inner);
}

fn draw_status(m: &Model, f: &mut Frame, area: Rect) {
    let t = theme(m);
    let line = if let Some(b) = &m.busy {
        let what = match &b.kind {
            BusyKind::Checking => format!("» {}…", b.what),
            BusyKind::Applying(id) => format!("» applying {id}: {}…", b.what),
            BusyKind::RollingBack => format!("» {}…", b.what),
        };
        let what = if m.quit_when_idle {
            format!("{what} (quitting when this step is done)")
        } else {
            what
        };
        Line::styled(what, t.warn().add_modifier(Modifier::BOLD))
    } else if let Some(fl) = &m.flash {
        Line::styled(format!(" {fl}"), t.bold())
    } else {
        Line::raw("")
    };
    f.render_widget(Paragraph::new(line), area);
}

fn draw_footer(m: &Model, f: &mut Frame, area: Rect) {
    let t = theme(m);
    // Keys that do the same thing here share one entry ("↑k ↓j move").
    let mut groups: Vec<(String, String, u8)> = vec![];
    for (shown, what, prio) in keys::footer(m) {
        match groups.last_mut() {
            Some(g) if g.1 == what => {
                g.0.push(' ');
                g.0.push_str(shown);
            }
            _ => groups.push((shown.to_string(), what, prio)),
        }
    }
    // On a narrow terminal the least needed entries go first (the help lists them all);
    // whatever is shown works.
    let width = |g: &[(String, String, u8)]| -> usize {
        g.iter()
            .map(|(k, w, _)| k.chars().count() + w.chars().count() + 2)
            .sum()
    };
    while width(&groups) > area.width as usize && groups.len() > 1 {
        let worst = groups
            .iter()
            .enumerate()
            .max_by_key(|(i, g)| (g.2, *i))
            .map(|(i, _)| i)
            .unwrap();
        groups.remove(worst);
    }
    let mut spans = vec![];
    for (shown, what, _) in groups {
        spans.push(Span::styled(
            shown,
            t.bold().add_modifier(Modifier::REVERSED),
        ));
        spans.push(Span::raw(format!(" {what} ")));
    }
    f.render_widget(Paragraph::new(Line::from(spans)), area);
}
