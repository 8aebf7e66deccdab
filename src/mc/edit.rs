//! The edits of HOWTO steps 3, 4 and 12, planned on the [`Model`] and applied line by line so
//! that every line not named in an [`Edit`] keeps its bytes.

use super::include::{self, IncSetting};
use super::model::{
    miscased_service, overlap, Bind, Candidate, Family, ListenerLine, Model, Overlap, Port,
    Setting, SETTINGS,
};
use super::shape::{dnl_tail, inert_tail};
use super::{Decider, Edit, Included, ListenerChoice, McEdit, McEdits, McError, McOptions};

mod auth;
mod listeners;
mod submission;
use auth::*;
use listeners::*;
pub(crate) use submission::enable_submission;

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

pub(crate) fn enable_auth(
    text: &str,
    opts: &McOptions,
    included: &[Included],
    listeners: &ListenerChoice,
) -> Result<McEdits, McError> {
    let want = check_options(opts)?;
    let m = Model::new(text);
    if let Some(p) = m.problems.first() {
        return Err(p.clone());
    }
    let incs = read_includes(&m, included)?;
    let mut plan = Plan::default();
    let values = plan_auth(&m, &want, &incs, &mut plan)?;
    plan_listeners(&m, listeners, &mut plan)?;
    let (out, origin) = apply(&m, plan)?;
    let mut new_incs: Vec<Included> = Vec::new();
    let mut inc_edits = Vec::new();
    for (k, inc) in incs.iter().enumerate() {
        let v = &values[k];
        if v.is_empty() {
            new_incs.push(inc.src.clone());
            continue;
        }
        let new_text = include::rewrite(&inc.src.text, v);
        inc_edits.push((
            inc.src.path.clone(),
            include_edit(&inc.src.text, &new_text, inc),
        ));
        new_incs.push(Included {
            text: new_text,
            ..inc.src.clone()
        });
    }
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
    let second_run = |e: McError| McError {
        reason: format!(
            "after my edit a second run would refuse, so I changed nothing: {}",
            e.reason
        ),
        ..at(e.line.saturating_sub(1))
    };
    // Included files keep their line in the mc: the edit never adds or removes an include.
    let shifted: Vec<Included> = new_incs
        .iter()
        .map(|i| Included {
            line: origin
                .iter()
                .position(|&o| o + 1 == i.line)
                .map_or(i.line, |n| n + 1),
            ..i.clone()
        })
        .collect();
    let incs_again = read_includes(&again, &shifted).map_err(second_run)?;
    let mut second = Plan::default();
    let values_again = plan_auth(&again, &want, &incs_again, &mut second).map_err(second_run)?;
    plan_listeners(&again, listeners, &mut second).map_err(second_run)?;
    if let Some(c) = second.changes.first() {
        return Err(at(c.line()));
    }
    if let Some(k) = values_again.iter().position(|v| !v.is_empty()) {
        return Err(internal(&m, incs[k].mc_line));
    }
    Ok(McEdits {
        mc: out,
        includes: inc_edits,
    })
}

/// An included file with its settings, read.
struct Inc {
    src: Included,
    /// 0-based line of the include in the mc.
    mc_line: usize,
    settings: Vec<IncSetting>,
}

fn read_includes(m: &Model, included: &[Included]) -> Result<Vec<Inc>, McError> {
    let mut out = Vec::new();
    for inc in included {
        let mc_line = inc
            .line
            .saturating_sub(1)
            .min(m.doc.lines.len().saturating_sub(1));
        let settings = include::scan(&inc.text).map_err(|(l, reason)| {
            let line = inc.text.lines().nth(l).unwrap_or_default();
            let reason = format!(
                "{} (included here), line {}: {reason} (the line reads: {}); nothing was \
                 changed",
                inc.path,
                l + 1,
                super::text::shorten(line, 160)
            );
            if m.doc.lines.is_empty() {
                McError {
                    line: 0,
                    text: String::new(),
                    reason,
                    decided_by: vec![],
                }
            } else {
                m.err(mc_line, reason)
            }
        })?;
        out.push(Inc {
            src: inc.clone(),
            mc_line,
            settings,
        });
    }
    Ok(out)
}

/// The edit of an included file, for the report (line numbers of the included file).
fn include_edit(old: &str, new: &str, inc: &Inc) -> McEdit {
    let edits = old
        .lines()
        .zip(new.lines())
        .enumerate()
        .filter(|(_, (a, b))| a != b)
        .map(|(i, (a, b))| Edit {
            line: i + 1,
            before: Some(a.to_string()),
            after: Some(b.to_string()),
            why: format!(
                "HOWTO step 3, where the setting lives: sendmail.mc line {} includes {}, which \
                 sets it",
                inc.mc_line + 1,
                inc.src.path
            ),
        })
        .collect();
    McEdit {
        text: new.to_string(),
        edits,
        warnings: vec![],
    }
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

/// The error for "a second run would still change this line": a bug, reported as such.
fn internal(m: &Model, line: usize) -> McError {
    let reason = "internal check failed: a second run would still change this line; nothing \
                  was changed (please report this)";
    if m.doc.lines.is_empty() {
        return McError {
            line: 0,
            text: String::new(),
            reason: reason.into(),
            decided_by: vec![],
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
