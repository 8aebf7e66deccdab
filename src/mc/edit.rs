//! The edits of HOWTO steps 3, 4 and 12, planned on the [`Model`] and applied line by line so
//! that every line not named in an [`Edit`] keeps its bytes.

use super::model::{Candidate, ListenerLine, Model, Setting, SETTINGS};
use super::shape::{dnl_tail, inert_tail};
use super::{Edit, McEdit, McError, McOptions};

enum Change {
    Replace {
        line: usize,
        new: String,
        why: String,
    },
    Insert {
        before: usize,
        new: String,
        why: String,
    },
}

impl Change {
    fn line(&self) -> usize {
        match self {
            Change::Replace { line, .. } | Change::Insert { before: line, .. } => *line,
        }
    }
}

#[derive(Default)]
struct Plan {
    changes: Vec<Change>,
    warnings: Vec<String>,
}

pub(crate) fn enable_auth(text: &str, opts: &McOptions) -> Result<McEdit, McError> {
    let (options, mechanisms) = check_options(opts)?;
    let m = Model::new(text);
    if let Some(p) = m.problems.first() {
        return Err(p.clone());
    }
    let mut plan = Plan::default();
    plan_auth(&m, &options, &mechanisms, &mut plan)?;
    plan_listeners(&m, &mut plan)?;
    let (out, origin) = apply(&m, plan)?;
    // Check the result as the next run would see it: nothing left to do, nothing broken.
    // Lines of the result are reported by the original line they come from (or precede).
    let at = |new_line: usize| -> McError {
        let l = origin
            .get(new_line)
            .copied()
            .unwrap_or(m.doc.lines.len())
            .min(m.doc.lines.len().saturating_sub(1));
        internal(&m, l)
    };
    let again = Model::new(&out.text);
    if let Some(p) = again.problems.first() {
        return Err(McError {
            reason: format!(
                "after my edit this line would have a problem, so I changed nothing: {}",
                p.reason
            ),
            ..at(p.line.saturating_sub(1))
        });
    }
    let mut second = Plan::default();
    plan_auth(&again, &options, &mechanisms, &mut second).map_err(|e| McError {
        reason: format!(
            "after my edit a second run would refuse, so I changed nothing: {}",
            e.reason
        ),
        ..at(e.line.saturating_sub(1))
    })?;
    plan_listeners(&again, &mut second).map_err(|e| McError {
        reason: format!(
            "after my edit a second run would refuse, so I changed nothing: {}",
            e.reason
        ),
        ..at(e.line.saturating_sub(1))
    })?;
    if let Some(c) = second.changes.first() {
        return Err(at(c.line()));
    }
    Ok(out)
}

pub(crate) fn disable_features(text: &str, features: &[String]) -> Result<McEdit, McError> {
    let m = Model::new(text);
    if let Some(p) = m.problems.first() {
        return Err(p.clone());
    }
    let mut plan = Plan::default();
    for f in &m.features {
        if !features.iter().any(|x| x.trim() == f.feature) {
            continue;
        }
        let site = f.site.clone().map_err(|r| m.err(f.line, r))?;
        let content = m.content(f.line);
        if !inert_tail(&content[site.call_end..]) {
            return Err(m.err(
                f.line,
                format!(
                    "FEATURE(`{}') shares this line with other macros, so commenting the line \
                     out would disable them too; put the FEATURE on a line of its own",
                    f.feature
                ),
            ));
        }
        plan.changes.push(Change::Replace {
            line: f.line,
            new: format!("dnl {content}"),
            why: format!(
                "HOWTO step 12: FEATURE(`{}') loosens relaying; commented out with dnl",
                f.feature
            ),
        });
    }
    apply(&m, plan).map(|(edit, _)| edit)
}

/// The wanted option letters and mechanisms, checked so they cannot break m4 quoting.
fn check_options(opts: &McOptions) -> Result<(String, String), McError> {
    let bad = |reason: String| McError {
        line: 0,
        text: String::new(),
        reason,
    };
    let options = opts.auth_options.trim().to_string();
    if options.is_empty()
        || !options
            .chars()
            .all(|c| c.is_ascii_alphabetic() || c == ' ' || c == ',')
    {
        return Err(bad(format!(
            "the AUTH options {:?} must be option letters such as A or A p",
            opts.auth_options
        )));
    }
    if opts.mechanisms.is_empty() {
        return Err(bad(
            "no SASL mechanisms were given (the HOWTO uses LOGIN PLAIN)".into(),
        ));
    }
    for mech in &opts.mechanisms {
        if mech.is_empty()
            || !mech
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            return Err(bad(format!(
                "{mech:?} is not a SASL mechanism name (letters, digits, - and _ only)"
            )));
        }
    }
    Ok((options, opts.mechanisms.join(" ")))
}

/// Values compared as sendmail reads them: option letters as a set, mechanisms as a set
/// regardless of case.
fn same_value(setting: Setting, have: &str, want: &str) -> bool {
    let norm = |s: &str| {
        let mut v: Vec<String> = s
            .split(|c: char| c.is_whitespace() || c == ',')
            .filter(|t| !t.is_empty())
            .map(|t| match setting {
                Setting::Options => t.to_string(),
                _ => t.to_ascii_uppercase(),
            })
            .collect();
        v.sort();
        v.dedup();
        v
    };
    norm(have) == norm(want)
}

fn plan_auth(m: &Model, options: &str, mechanisms: &str, plan: &mut Plan) -> Result<(), McError> {
    let mut missing = Vec::new();
    for setting in SETTINGS {
        let want = match setting {
            Setting::Options => options,
            _ => mechanisms,
        };
        let cands = &m.auth[setting as usize];
        let active: Vec<&Candidate> = cands.iter().filter(|c| c.active).collect();
        if active.len() > 1 {
            let lines: Vec<String> = active.iter().map(|c| (c.line + 1).to_string()).collect();
            return Err(m.err(
                active[1].line,
                format!(
                    "{} is set on lines {}; m4 would use {}, and I will not guess which one you \
                     maintain; keep one and run me again",
                    setting.label(),
                    lines.join(" and "),
                    if setting == Setting::Trust {
                        "all of them together"
                    } else {
                        "the last one"
                    }
                ),
            ));
        }
        if let Some(c) = active.first() {
            if same_value(setting, &c.value, want) {
                continue;
            }
            let new = rewritten(m, c, setting, want)?;
            plan.warnings.push(format!(
                "line {}: {} was `{}`; replaced with `{}`",
                c.line + 1,
                setting.label(),
                c.value,
                want
            ));
            plan.changes.push(Change::Replace {
                line: c.line,
                new,
                why: format!(
                    "HOWTO step 3: set {} to `{want}` (it was `{}`)",
                    setting.label(),
                    c.value
                ),
            });
            continue;
        }
        let commented = cands
            .iter()
            .find(|c| c.site.is_ok())
            .or_else(|| cands.first());
        if let Some(c) = commented {
            let new = rewritten(m, c, setting, want)?;
            let was = if same_value(setting, &c.value, want) {
                String::new()
            } else {
                format!(" (the commented-out line had `{}`)", c.value)
            };
            plan.changes.push(Change::Replace {
                line: c.line,
                new,
                why: format!(
                    "HOWTO step 3: activate {} by removing the dnl in front of it, with \
                     `{want}`{was}",
                    setting.label()
                ),
            });
            continue;
        }
        missing.push((setting, want));
    }
    if missing.is_empty() {
        return Ok(());
    }
    let Some(before) = m.mailer_line else {
        let last = m.doc.lines.len().saturating_sub(1);
        let reason = "there is no MAILER(...) or MAILER_DEFINITIONS line after the include of \
                      cf.m4; the AUTH lines belong before the mailer definitions, and I will \
                      not guess where else to put them";
        return Err(if m.doc.lines.is_empty() {
            McError {
                line: 0,
                text: String::new(),
                reason: format!("the file is empty: {reason}"),
            }
        } else {
            m.err(last, reason)
        });
    };
    for (setting, want) in missing {
        plan.changes.push(Change::Insert {
            before,
            new: format!("{}dnl", setting.canonical(want)),
            why: format!(
                "HOWTO step 3: this sendmail.mc has no {} line, not even behind dnl (as on \
                 Debian), so it is added before the mailer definitions on line {}",
                setting.label(),
                before + 1
            ),
        });
    }
    if let Some((l, p)) = m
        .includes
        .iter()
        .find(|(_, p)| p.contains("sasl") && p.ends_with(".m4"))
    {
        plan.warnings.push(format!(
            "line {}: {p} also sets confAUTH_MECHANISMS and TRUST_AUTH_MECH; the lines added \
             before the mailers come later and win for confAUTH_MECHANISMS, but TRUST_AUTH_MECH \
             adds up, so the mechanisms trusted for relaying include that file's too",
            l + 1
        ));
    }
    Ok(())
}

/// The candidate's line with the HOWTO's call and `want` in place of the old call (and of a
/// leading `dnl`), keeping the indentation and what follows the call.
fn rewritten(m: &Model, c: &Candidate, setting: Setting, want: &str) -> Result<String, McError> {
    let site = c.site.clone().map_err(|r| m.err(c.line, r))?;
    let content = m.content(c.line);
    Ok(format!(
        "{}{}{}",
        &content[..site.indent],
        setting.canonical(want),
        dnl_tail(&content[site.call_end..])
    ))
}

/// HOWTO step 4, by intent: port 25 must accept connections from the network (FACTS.md).
fn plan_listeners(m: &Model, plan: &mut Plan) -> Result<(), McError> {
    let active: Vec<&ListenerLine> = m.listeners.iter().filter(|l| l.active).collect();
    if active.is_empty() {
        return Ok(()); // sendmail's default listens on port 25 on every interface
    }
    let port25: Vec<&&ListenerLine> = active.iter().filter(|l| l.port25()).collect();
    if port25.is_empty() {
        return plan_missing_port25(m, &active, plan);
    }
    for l in &port25 {
        let content = m.content(l.line);
        if !l.loopback() {
            if let Some(addr) = l.get('a') {
                plan.warnings.push(format!(
                    "line {}: the port-25 listener is bound to {addr} only; I left it as it is, \
                     so clients must connect to that address",
                    l.line + 1
                ));
            }
            continue;
        }
        let site = l.site.clone().map_err(|r| m.err(l.line, r))?;
        if active.len() == 1 {
            if !inert_tail(&content[site.call_end..]) {
                return Err(m.err(
                    l.line,
                    "this DAEMON_OPTIONS shares its line with other macros, so commenting the \
                     line out would disable them too; put it on a line of its own",
                ));
            }
            plan.changes.push(Change::Replace {
                line: l.line,
                new: format!("dnl {content}"),
                why: format!(
                    "HOWTO step 4: the only listener accepts connections on the loopback \
                     address {} alone; commented out, sendmail's default listens on port 25 on \
                     every interface",
                    l.get('a').unwrap_or_default()
                ),
            });
        } else {
            let others: Vec<String> = active
                .iter()
                .filter(|o| o.line != l.line)
                .map(|o| (o.line + 1).to_string())
                .collect();
            plan.changes.push(Change::Replace {
                line: l.line,
                new: without_addr(content, l),
                why: format!(
                    "HOWTO step 4, by intent: port 25 must accept network connections, so the \
                     loopback-only Addr={} is removed; commenting the whole line out, as the \
                     HOWTO says, would leave no port-25 listener at all, because other \
                     DAEMON_OPTIONS stay active ({} {})",
                    l.get('a').unwrap_or_default(),
                    if others.len() == 1 { "line" } else { "lines" },
                    others.join(", ")
                ),
            });
        }
    }
    // Opening both an IPv4 and an IPv6 port-25 listener to every address can make the second
    // bind fail on Linux; warn when this edit creates that situation.
    let open: Vec<&&&ListenerLine> = port25
        .iter()
        .filter(|l| l.get('a').is_none() || l.loopback())
        .collect();
    let changed = port25.iter().any(|l| l.loopback());
    let v6_strict = open
        .iter()
        .any(|l| l.inet6() && !l.get('m').is_some_and(|m| m.contains('O')));
    if changed && v6_strict && open.iter().any(|l| !l.inet6()) {
        let lines: Vec<String> = open.iter().map(|l| (l.line + 1).to_string()).collect();
        plan.warnings.push(format!(
            "lines {} all listen on port 25, for IPv4 and IPv6; on Linux an IPv6 socket on all \
             addresses can also take IPv4 connections, and the second one then fails with \
             \"Address already in use\" unless it has Modifiers=O",
            lines.join(", ")
        ));
    }
    Ok(())
}

/// Other listeners are active but none on port 25 (for example after following the HOWTO
/// literally on Debian, which comments out MTA-v4 and leaves only MSP-v4 on 587).
fn plan_missing_port25(
    m: &Model,
    active: &[&ListenerLine],
    plan: &mut Plan,
) -> Result<(), McError> {
    let lines: Vec<String> = active.iter().map(|l| (l.line + 1).to_string()).collect();
    let why_none = format!(
        "no active DAEMON_OPTIONS listens on port 25 (the active ones are on {} {}), so mail \
         from the network cannot arrive",
        if lines.len() == 1 { "line" } else { "lines" },
        lines.join(", ")
    );
    let candidate = m.listeners.iter().find(|l| {
        !l.active
            && l.port25()
            && !l.inet6()
            && l.site
                .as_ref()
                .is_ok_and(|s| inert_tail(&m.content(l.line)[s.call_end..]))
    });
    if let Some(l) = candidate {
        let site = l.site.clone().map_err(|r| m.err(l.line, r))?;
        let content = m.content(l.line);
        let body = if l.loopback() {
            without_addr(content, l)
        } else {
            content.to_string()
        };
        // The field ranges are unchanged up to the call's end when Addr is removed after it,
        // so cut the call out of the edited text by the length difference.
        let call_end = site.call_end + body.len() - content.len();
        let new = format!(
            "{}{}{}",
            &content[..site.indent],
            &body[site.call_start..call_end],
            dnl_tail(&body[call_end..])
        );
        plan.changes.push(Change::Replace {
            line: l.line,
            new,
            why: format!(
                "HOWTO step 4, by intent: {why_none}; this commented-out port-25 listener is \
                 activated{}",
                if l.loopback() {
                    " without its loopback Addr"
                } else {
                    ""
                }
            ),
        });
    } else {
        let before = active.iter().map(|l| l.line).min().unwrap_or(0);
        plan.changes.push(Change::Insert {
            before,
            new: "DAEMON_OPTIONS(`Port=smtp, Name=MTA')dnl".to_string(),
            why: format!("HOWTO step 4, by intent: {why_none}; a listener on port 25 is added"),
        });
    }
    Ok(())
}

/// The line with every `Addr=` field of the listener removed, with the comma that joined it.
fn without_addr(content: &str, l: &ListenerLine) -> String {
    let mut inner = String::new();
    let mut prev_end = l.inner.0;
    let mut first_kept = true;
    for f in &l.fields {
        let is_addr = f
            .key
            .chars()
            .next()
            .is_some_and(|c| c.eq_ignore_ascii_case(&'a'));
        if !is_addr {
            if first_kept {
                // The leading blanks of the option string, not the separator before this field.
                let lead = &content[l.inner.0..l.fields[0].start];
                inner.push_str(lead);
                first_kept = false;
            } else {
                inner.push_str(&content[prev_end..f.start]);
            }
            inner.push_str(&content[f.start..f.end]);
        }
        prev_end = f.end;
    }
    inner.push_str(&content[prev_end.max(l.inner.0)..l.inner.1]);
    format!(
        "{}{}{}",
        &content[..l.inner.0],
        inner,
        &content[l.inner.1..]
    )
}

/// The error for "a second run would still change this line": a bug, reported as such.
fn internal(m: &Model, line: usize) -> McError {
    let reason = "internal check failed: a second run would still change this line; nothing \
                  was changed (please report this)";
    if m.doc.lines.is_empty() {
        return McError {
            line: 0,
            text: String::new(),
            reason: reason.into(),
        };
    }
    m.err(line, reason)
}

/// The new text and, for each of its lines, the original line it comes from (inserted lines:
/// the original line they are inserted before).
fn apply(m: &Model, plan: Plan) -> Result<(McEdit, Vec<usize>), McError> {
    let Plan {
        mut changes,
        warnings,
    } = plan;
    changes.sort_by_key(|c| (c.line(), matches!(c, Change::Replace { .. })));
    let mut seen = std::collections::HashSet::new();
    for c in &changes {
        if let Change::Replace { line, .. } = c {
            if !seen.insert(*line) {
                return Err(m.err(
                    *line,
                    "this line holds two things I would need to change; split them onto \
                     separate lines",
                ));
            }
        }
    }
    let nl = m.doc.newline();
    let mut text = String::with_capacity(m.doc.body.len() + 256);
    if m.doc.bom {
        text.push(super::text::BOM);
    }
    let mut edits = Vec::new();
    let mut origin = Vec::with_capacity(m.doc.lines.len() + changes.len());
    let mut k = 0;
    for i in 0..m.doc.lines.len() {
        let mut replaced = None;
        while k < changes.len() && changes[k].line() == i {
            match &changes[k] {
                Change::Insert { new, why, .. } => {
                    text.push_str(new);
                    text.push_str(nl);
                    origin.push(i);
                    edits.push(Edit {
                        line: i + 1,
                        before: None,
                        after: Some(new.clone()),
                        why: why.clone(),
                    });
                }
                Change::Replace { new, why, .. } => replaced = Some((new, why)),
            }
            k += 1;
        }
        let content = m.content(i);
        match replaced {
            Some((new, why)) if new != content => {
                text.push_str(new);
                edits.push(Edit {
                    line: i + 1,
                    before: Some(content.to_string()),
                    after: Some(new.clone()),
                    why: why.clone(),
                });
            }
            _ => text.push_str(content),
        }
        text.push_str(m.doc.eol(i));
        origin.push(i);
    }
    Ok((
        McEdit {
            text,
            edits,
            warnings,
        },
        origin,
    ))
}
