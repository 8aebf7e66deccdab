//! How reports are printed: text (with colours and diffs) and the JSON shapes README documents;
//! and the exit code of `check` and `plan`.

use super::*;

#[derive(Serialize)]
pub(super) struct JsonChange {
    path: String,
    diff: String,
    why: String,
}

#[derive(Serialize)]
pub(super) struct JsonStep<'a> {
    id: &'a str,
    title: &'a str,
    howto: &'a str,
    status: Status,
    findings: &'a [crate::engine::step::Finding],
    changes: Vec<JsonChange>,
    commands: &'a [crate::engine::step::PlannedCommand],
}

#[derive(Serialize)]
pub(super) struct JsonReport<'a> {
    /// One line for automation to show (an Ansible task's failure message).
    message: String,
    root: String,
    profile: Option<String>,
    profile_reason: &'a str,
    steps: Vec<JsonStep<'a>>,
}

/// "an unfinished run ...: use resume" when the journal has a run that an interrupted (or
/// `--only`) apply left open, or a step interrupted in the middle of its writes.
pub(super) fn unfinished_run(engine: &Engine) -> Option<String> {
    let u = engine.unfinished().ok()??;
    Some(format!(
        "an unfinished run{}{}: use `resume` to finish it (or `rollback` to undo it)",
        u.open_run
            .map(|(id, started)| format!(" ({id}, started {started})"))
            .unwrap_or_default(),
        if u.interrupted.is_empty() {
            String::new()
        } else {
            format!(", interrupted in step {}", u.interrupted.join(", "))
        }
    ))
}

pub(super) fn to_json(engine: &Engine, reports: &[StepReport], note: Option<&str>) -> String {
    let steps = reports
        .iter()
        .map(|r| JsonStep {
            id: r.id,
            title: r.title,
            howto: r.howto,
            status: r.status,
            findings: &r.findings,
            changes: r
                .changes
                .iter()
                .map(|c| JsonChange {
                    path: c.path.clone(),
                    diff: c.diff(),
                    why: c.why.clone(),
                })
                .collect(),
            commands: &r.commands,
        })
        .collect();
    let rep = JsonReport {
        message: match note {
            Some(n) => format!("{}; {n}", summary(reports)),
            None => summary(reports),
        },
        root: engine.root().dir().display().to_string(),
        profile: engine.profile().map(|p| p.id.clone()),
        profile_reason: &engine.cx.profile_reason,
        steps,
    };
    crate::term::json_pretty(&rep).expect("serializable")
}

pub(super) fn colour() -> bool {
    std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()) && std::io::stdout().is_terminal()
}

pub(super) fn paint(s: &str, code: &str) -> String {
    if colour() {
        format!("\x1b[{code}m{s}\x1b[0m")
    } else {
        s.to_string()
    }
}

pub(super) fn status_tag(s: Status) -> String {
    let t = format!("[{}]", s.as_str());
    let code = match s {
        Status::Done => "32",
        Status::Pending => "33",
        Status::Blocked => "35",
        Status::Skipped => "2",
        Status::Error => "31",
    };
    paint(&format!("{t:<10}"), code)
}

/// The reasons of one change, one a line: a step that makes several edits to one file joins
/// their reasons with "; HOWTO step ...".
pub(super) fn why_lines(why: &str) -> Vec<String> {
    let mut v: Vec<String> = vec![];
    for (i, part) in why.split("; HOWTO ").enumerate() {
        v.push(if i == 0 {
            part.to_string()
        } else {
            format!("HOWTO {part}")
        });
    }
    v
}

/// One line for a change that writes a byte-for-byte copy of another file the plan reads or
/// writes (the .bak backups, Red Hat's /etc/sendmail.cf), whose diff would only repeat that
/// whole file: `creates /etc/mail/sendmail.mc.bak: copy of /etc/mail/sendmail.mc, 104 lines,
/// sha256 ...`. `plan --full` shows the diff instead.
pub(super) fn copy_summary(
    engine: &Engine,
    all: &[&crate::engine::step::Change],
    c: &crate::engine::step::Change,
) -> Option<String> {
    // Only a change planned before this one can be the original of a copy written after it.
    let at = all.iter().position(|o| std::ptr::eq(*o, c))?;
    let src = all[..at]
        .iter()
        .filter(|o| o.path != c.path)
        .find(|o| o.after == c.after)
        .map(|o| format!("the new {}", o.path))
        .or_else(|| {
            let stem = c.path.strip_suffix(".bak")?;
            let cur = engine.root().read(stem).ok()??;
            (cur == c.after).then(|| stem.to_string())
        })?;
    let lines = |b: &[u8]| b.iter().filter(|&&x| x == b'\n').count();
    let sha = |b: &[u8]| {
        use sha2::Digest;
        let h = sha2::Sha256::digest(b);
        h.iter()
            .take(6)
            .map(|x| format!("{x:02x}"))
            .collect::<String>()
    };
    let verb = match &c.before {
        None => format!("creates {}", engine.root().display(&c.path)),
        Some(b) => format!(
            "replaces {} ({} lines)",
            engine.root().display(&c.path),
            lines(b)
        ),
    };
    Some(format!(
        "{verb}: copy of {src}, {} lines, sha256 {}",
        lines(&c.after),
        sha(&c.after)
    ))
}

/// The text report. `diffs`: show the changes (plan, apply's confirmation); `full`: every diff
/// in full, copies included, and each change's reasons on its "writes" line.
pub(super) fn text_report(
    engine: &Engine,
    reports: &[StepReport],
    diffs: bool,
    full: bool,
) -> String {
    let all: Vec<&crate::engine::step::Change> =
        reports.iter().flat_map(|r| r.changes.iter()).collect();
    let mut o = String::new();
    o.push_str(&format!(
        "root {}; {}\n\n",
        engine.root().dir().display(),
        match engine.profile() {
            Some(p) => format!("profile {} ({})", p.id, engine.cx.profile_reason),
            None => "no profile".to_string(),
        }
    ));
    for r in reports {
        o.push_str(&format!(
            "{} {:<15} {}\n",
            status_tag(r.status),
            r.id,
            r.title
        ));
        for f in &r.findings {
            let mark = match f.severity {
                Severity::Info => "  ",
                Severity::Warning => "! ",
                Severity::Error => "x ",
            };
            o.push_str(&format!("           {mark}{}\n", f.message));
            if let Some(fix) = &f.fix {
                o.push_str(&format!("             fix: {fix}\n"));
            }
        }
        for c in &r.changes {
            if !full {
                if let Some(line) = copy_summary(engine, &all, c) {
                    o.push_str(&format!("           -> {line}\n"));
                    continue;
                }
                o.push_str(&format!(
                    "           -> writes {}\n",
                    engine.root().display(&c.path)
                ));
                for w in why_lines(&c.why) {
                    o.push_str(&format!("              ({w})\n"));
                }
            } else {
                o.push_str(&format!(
                    "           -> writes {} ({})\n",
                    engine.root().display(&c.path),
                    c.why
                ));
            }
            if diffs {
                for l in c.diff().lines() {
                    let code = if l.starts_with("+++") || l.starts_with("---") {
                        "1"
                    } else if l.starts_with('+') {
                        "32"
                    } else if l.starts_with('-') {
                        "31"
                    } else if l.starts_with("@@") {
                        "36"
                    } else {
                        ""
                    };
                    let l = if code.is_empty() {
                        l.to_string()
                    } else {
                        paint(l, code)
                    };
                    o.push_str(&format!("             {l}\n"));
                }
            }
        }
        for c in &r.commands {
            o.push_str(&format!(
                "           -> runs `{}` ({})\n",
                c.argv.join(" "),
                c.why
            ));
        }
    }
    o
}

/// One line: what check found, in the terms of its exit code.
pub(super) fn summary(reports: &[StepReport]) -> String {
    let ids = |st: Status| -> Vec<&str> {
        reports
            .iter()
            .filter(|r| r.status == st)
            .map(|r| r.id)
            .collect()
    };
    let errors: Vec<String> = reports
        .iter()
        .filter(|r| r.status == Status::Error)
        .map(|r| {
            let why: Vec<&str> = r
                .findings
                .iter()
                .filter(|f| f.severity == Severity::Error)
                .map(|f| f.message.as_str())
                .collect();
            format!("{}: {}", r.id, why.join("; "))
        })
        .collect();
    if !errors.is_empty() {
        return format!("error in {}", errors.join(" | "));
    }
    let (pending, blocked) = (ids(Status::Pending), ids(Status::Blocked));
    if pending.is_empty() && blocked.is_empty() {
        return "nothing to do: every step is done".into();
    }
    let mut v = vec![];
    if !pending.is_empty() {
        v.push(format!("pending: {}", pending.join(", ")));
    }
    if !blocked.is_empty() {
        v.push(format!("blocked: {}", blocked.join(", ")));
    }
    v.join("; ")
}

pub(super) fn plan_exit(reports: &[StepReport]) -> u8 {
    if reports.iter().any(|r| r.status == Status::Error) {
        1
    } else if reports
        .iter()
        .any(|r| matches!(r.status, Status::Pending | Status::Blocked))
    {
        2
    } else {
        0
    }
}
