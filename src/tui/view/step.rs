//! A step's screen: what the check found (plain words, served-system paths), the HOWTO's own
//! warnings where they belong, the step's choices, the plan as a coloured unified diff, and the
//! result of the last apply (with the failing tool's stderr).

use super::{choice_lines, finding_mark, heading, para, theme, Theme};
use crate::engine::query::ClosedListener;
use crate::engine::step::{Severity, Status, StepReport};
use crate::tui::model::{Model, MECHS_DEFAULT};
use ratatui::style::Style;
use ratatui::text::Line;

/// HOWTO step 3's warning, for the sendmail-mc screen.
pub const DIRECTED_QUOTES: &str = "Those are directed quotes (HOWTO step 3): not single quotes, double quotes or smart quotes. The left one is the backtick (`), the right one the apostrophe ('). Edit sendmail.mc by hand only with that in mind: a wrong quote makes m4 swallow the rest of the file.";

/// HOWTO step 4, said at the DAEMON_OPTIONS change.
pub const LOOPBACK_NOTE: &str = "↑ HOWTO step 4: this is the line that tells Sendmail to listen only on loopback (Addr=127.0.0.1), so it accepts no connection from anywhere else. It is commented out with dnl rather than deleted, so you can see what was done and turn it back on.";

/// HOWTO step 4, said at a DAEMON_OPTIONS line kept with its loopback address removed.
pub const LOOPBACK_ADDR_NOTE: &str = "↑ HOWTO step 4: this line told Sendmail to listen only on loopback (Addr=127.0.0.1), so it accepted no connection from anywhere else. Its address is removed rather than the line commented out, because other listeners stay active and commenting it out would leave none on port 25.";

fn status_line(m: &Model, i: usize, r: &StepReport) -> String {
    match r.status {
        Status::Done => "done: nothing to change".into(),
        Status::Skipped => "skipped here".into(),
        Status::Pending => match m.apply_blocker(i) {
            None => "pending: Enter applies it (asks first)".into(),
            Some(why) => format!("pending: {why}"),
        },
        Status::Blocked => "blocked: see below".into(),
        Status::Error => "error: this step cannot be applied until this is fixed".into(),
    }
}

/// A unified diff as coloured lines, cut (not wrapped) at the panel's width so `+`/`-` stay
/// in the first column; with the loopback note after the line that turns off a listener of
/// `closed` (the engine's answer, [`crate::engine::query::ClosedListener`]), or at the end
/// when the change removes it.
pub fn diff_lines(
    t: &Theme,
    diff: &str,
    width: usize,
    closed: &[&ClosedListener],
) -> Vec<Line<'static>> {
    let annotate = !closed.is_empty();
    let is_closing = |l: &str| {
        l.strip_prefix('+')
            .filter(|_| !l.starts_with("+++"))
            .is_some_and(|new| {
                closed
                    .iter()
                    .filter_map(|c| c.after.as_deref())
                    .any(|a| a.trim_end() == new.trim_end())
            })
    };
    let mut out = vec![];
    let mut noted = false;
    for l in diff.lines() {
        let style = if l.starts_with("+++") || l.starts_with("---") {
            t.bold()
        } else if l.starts_with('+') {
            t.added()
        } else if l.starts_with('-') {
            t.removed()
        } else if l.starts_with("@@") {
            t.hunk()
        } else {
            Style::default()
        };
        let shown: String = l.replace('\t', "    ").chars().take(width).collect();
        out.push(Line::styled(shown, style));
        if annotate && !noted && is_closing(l) {
            // Commented out as the HOWTO says, or kept with its loopback address removed (when
            // other listeners stay active, commenting it out would leave none on port 25).
            let note = if l[1..].trim_start().starts_with("dnl") {
                LOOPBACK_NOTE
            } else {
                LOOPBACK_ADDR_NOTE
            };
            out.extend(para(note, width, "", "  ", t.warn()));
            noted = true;
        }
    }
    if annotate && !noted {
        out.extend(para(LOOPBACK_NOTE, width, "", "  ", t.warn()));
    }
    out
}

fn mech_consequence(m: &Model) -> String {
    let howto = !m
        .mechanisms()
        .iter()
        .map(String::as_str)
        .eq(MECHS_DEFAULT.iter().copied());
    let check = &m.info.password_check;
    if howto {
        format!("With DIGEST-MD5 and CRAM-MD5 advertised, mail clients pick the strongest mechanism offered; passwords here are checked by {check}, which can verify only LOGIN and PLAIN, so those logins fail (\"cmusaslsecretCRAM-MD5 not found in sasldb\") unless every user is also put in sasldb with saslpasswd2.")
    } else {
        format!("LOGIN and PLAIN are the mechanisms {check} can verify against the system passwords. They send the password base64-encoded, not encrypted: offer them over STARTTLS or a network you trust. The HOWTO's list adds DIGEST-MD5 and CRAM-MD5, which need passwords in sasldb.")
    }
}

pub fn lines(m: &Model, i: usize, width: usize) -> Vec<Line<'static>> {
    let t = theme(m);
    let Some(r) = m.reports().get(i) else {
        return vec![];
    };
    let mut out: Vec<Line<'static>> = vec![];
    out.extend(para(r.title, width, "", "", t.bold()));
    out.extend(para(r.howto, width, "", "", t.dim()));
    out.extend(para(
        &status_line(m, i, r),
        width,
        "Status: ",
        "  ",
        t.status(r.status),
    ));

    if let Some(res) = m.results.get(r.id) {
        out.push(Line::raw(""));
        out.extend(super::outcome_lines(
            m,
            res,
            "Applied",
            "Apply failed; nothing of this step is left half-done",
            width,
        ));
        if res.ok {
            out.extend(para(
                &format!(
                    "originals are kept in {}/saved/; r shows the rollback screen",
                    m.info.journal_dir
                ),
                width,
                "  ",
                "    ",
                t.dim(),
            ));
        }
    }

    out.push(Line::raw(""));
    out.push(heading(&t, "What the check found"));
    if r.findings.is_empty() {
        out.push(Line::raw("  nothing to report"));
    }
    for f in &r.findings {
        let style = match f.severity {
            Severity::Info => Style::default(),
            Severity::Warning => t.warn(),
            Severity::Error => t.error(),
        };
        let msg = m.info.served(&f.message);
        let msg = match &f.path {
            Some(p) if !msg.contains(p.as_str()) => format!("{p}: {msg}"),
            _ => msg,
        };
        out.extend(para(
            &msg,
            width,
            &format!("  {}", finding_mark(f.severity)),
            "    ",
            style,
        ));
        if let Some(fix) = &f.fix {
            out.extend(para(
                &m.info.served(fix),
                width,
                "    fix: ",
                "         ",
                t.dim(),
            ));
        }
    }

    if r.id == "sendmail-mc" {
        out.push(Line::raw(""));
        out.push(heading(&t, "From the HOWTO"));
        out.extend(para(DIRECTED_QUOTES, width, "  ! ", "    ", t.warn()));
    }

    let choices = m.choices();
    if !choices.is_empty() {
        out.push(Line::raw(""));
        out.push(heading(
            &t,
            match r.id {
                "sendmail-mc" => "Mechanisms to advertise (Tab, then Space)",
                "tls" => "STARTTLS (Tab, then Space)",
                "relay-access" => "Relay entries to disable (Tab, then Space)",
                "relay-features" => "FEATUREs to disable (Tab, then Space)",
                _ => "Choices (Tab, then Space)",
            },
        ));
        out.extend(choice_lines(m, &choices, width));
        if r.id == "sendmail-mc" {
            out.extend(para(&mech_consequence(m), width, "  ", "  ", t.dim()));
        }
        if r.id == "relay-access" {
            out.extend(para("An entry you keep still lets those clients relay without a password; everything else beyond localhost is commented out and access.db rebuilt.", width, "  ", "  ", t.dim()));
        }
    }

    if !r.changes.is_empty() || !r.commands.is_empty() {
        out.push(Line::raw(""));
        out.push(heading(&t, "The plan"));
        for c in &r.changes {
            out.extend(para(
                &format!("{} ({})", c.path, m.info.served(&c.why)),
                width,
                "writes ",
                "  ",
                t.bold(),
            ));
            let closed: Vec<&ClosedListener> = m
                .snap
                .as_ref()
                .map(|s| {
                    s.closed_listeners
                        .iter()
                        .filter(|l| l.step == r.id && l.path == c.path)
                        .collect()
                })
                .unwrap_or_default();
            out.extend(diff_lines(&t, &c.diff(), width, &closed));
        }
        for c in &r.commands {
            out.extend(para(
                &format!("`{}` ({})", c.argv.join(" "), c.why),
                width,
                "runs ",
                "  ",
                t.bold(),
            ));
        }
    }
    out
}
