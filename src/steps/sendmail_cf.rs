//! HOWTO step 5: regenerate sendmail.cf with m4 and put it in place, validated.
//!
//! m4 writes into memory; its exit status and stderr are checked (an unclosed quote exits 1 and
//! leaves a truncated cf, FACTS.md). The result is validated with `sendmail -C TMP -bv root`
//! on a temporary file next to the target before the atomic rename. With `--root`, absolute
//! includes are redirected into the root so a fixture tree regenerates with its own cf tree.
//!
//! An installed cf is never replaced over hand edits without consent: [`hand_edits`] compares
//! it with what the mc generates (the mc on disk, and every original of it the journal saved),
//! and lines the mc does not produce make the step refuse unless `--discard-cf-edits`.

use super::{read_text, Text};
use crate::engine::step::{
    Change, Context, Decision, DecisionKey, PlannedOverlay, Step, StepReport,
};
use std::path::{Path, PathBuf};

mod m4;
mod m4_memo;
use m4::Instead;
pub use m4::{regenerate, regenerate_with, validate};

pub struct SendmailCf;

/// The lines that matter: a regenerated cf differs from the installed one in its `#####`
/// header (date, host, directory) and Debian appends a `#`-commented copy of the mc.
pub fn significant(cf: &[u8]) -> Vec<&[u8]> {
    cf.split(|b| *b == b'\n')
        .map(|l| l.strip_suffix(b"\r").unwrap_or(l))
        .filter(|l| !l.starts_with(b"#") && !l.is_empty())
        .collect()
}

/// The significant lines of a cf with their line numbers (1-based), as text.
fn numbered(cf: &[u8]) -> Vec<(usize, String)> {
    cf.split(|b| *b == b'\n')
        .enumerate()
        .map(|(i, l)| (i + 1, l.strip_suffix(b"\r").unwrap_or(l)))
        .filter(|(_, l)| !l.starts_with(b"#") && !l.iter().all(u8::is_ascii_whitespace))
        .map(|(i, l)| (i, String::from_utf8_lossy(l).into_owned()))
        .collect()
}

/// How many differing lines a finding lists; the rest are counted.
pub const HAND_EDITS_SHOWN: usize = 12;

/// One line where the installed sendmail.cf and what sendmail.mc generates differ.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CfLine {
    /// In the installed cf (at this line), not in the generated one.
    Added(usize, String),
    /// In the installed cf (at this line) instead of what the mc gives (the second text).
    Changed(usize, String, String),
    /// Generated, but missing from the installed cf (after its line, 0: at the top).
    Deleted(usize, String),
}

impl CfLine {
    fn text(&self) -> &str {
        match self {
            CfLine::Added(_, t) | CfLine::Changed(_, t, _) | CfLine::Deleted(_, t) => t,
        }
    }
    /// `line 12: added `Kfoo hash /etc/mail/foo``.
    pub fn describe(&self) -> String {
        let cut = |t: &str| -> String {
            if t.chars().count() > 100 {
                format!("{}...", t.chars().take(100).collect::<String>())
            } else {
                t.to_string()
            }
        };
        match self {
            CfLine::Added(n, t) => format!("line {n}: added `{}`", cut(t)),
            CfLine::Changed(n, t, was) => {
                format!("line {n}: `{}` (sendmail.mc gives `{}`)", cut(t), cut(was))
            }
            CfLine::Deleted(n, t) => format!("after line {n}: deleted `{}`", cut(t)),
        }
    }
}

/// What sets a cf apart from the one its mc generates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HandEdits {
    pub lines: Vec<CfLine>,
    /// Significant lines of the installed cf that the generated one has too, and how many it has.
    pub matching: usize,
    pub installed: usize,
    /// The `DZ` version lines, when they differ (installed, generated).
    pub versions: Option<(String, String)>,
}

impl HandEdits {
    /// Fewer than half of the lines agree: not built from this mc at all (another mc, another
    /// sendmail version, written by hand). Listing a thousand lines would help nobody.
    pub fn unrelated(&self) -> bool {
        self.matching * 2 < self.installed
    }

    /// How to carry each kind of line over into sendmail.mc.
    pub fn advice(&self) -> Vec<String> {
        let mut kinds: Vec<char> = vec![];
        for l in &self.lines {
            if let CfLine::Deleted(..) = l {
                if !kinds.contains(&'-') {
                    kinds.push('-');
                }
                continue;
            }
            let c = l.text().chars().next().unwrap_or(' ');
            let c = match c {
                'O' | 'R' | 'S' => c,
                _ => 'L',
            };
            if !kinds.contains(&c) {
                kinds.push(c);
            }
        }
        kinds
            .iter()
            .map(|k| match k {
                'O' => "an `O` option line: set it in sendmail.mc with define(`confNAME', `value')dnl (cf/README names the conf macro of every option, e.g. `O Timeout.queuereturn=5d` is define(`confTO_QUEUERETURN', `5d')), or put the line itself after a LOCAL_CONFIG line",
                'R' | 'S' => "rules (`R`/`S` lines): put them in sendmail.mc after LOCAL_RULESETS (new rulesets, or the SLocal_check_rcpt/SLocal_check_mail hooks) or after LOCAL_RULE_0 ... LOCAL_RULE_3 for rulesets 0-3; a rule added inside a generated ruleset belongs in its Local_ hook",
                'L' => "map, class, macro and header lines (`K`, `C`, `F`, `D`, `H`): copy them into sendmail.mc after a LOCAL_CONFIG line (a `D` macro may have a define(`confNAME') of its own)",
                _ => "deleted lines: the mc cannot delete a line; find the FEATURE or define in sendmail.mc that produces it and remove or change that instead",
            }
            .to_string())
            .collect()
    }
}

/// The lines of `installed` that `generated` does not have, and the reverse, by a line diff of
/// the significant lines (comments, the `#####` build header, Debian's appended copy of the mc,
/// empty lines and CR line ends do not count). `None` when they agree.
pub fn compare(installed: &[u8], generated: &[u8]) -> Option<HandEdits> {
    let a = numbered(installed);
    let b = numbered(generated);
    let at: Vec<&str> = a.iter().map(|(_, t)| t.as_str()).collect();
    let bt: Vec<&str> = b.iter().map(|(_, t)| t.as_str()).collect();
    if at == bt {
        return None;
    }
    let ops = similar::capture_diff_slices(similar::Algorithm::Myers, &bt, &at);
    let mut lines = vec![];
    let mut matching = 0;
    // Line number in the installed cf before a position of its significant lines.
    let before = |i: usize| if i == 0 { 0 } else { a[i - 1].0 };
    for op in ops {
        match op {
            similar::DiffOp::Equal { len, .. } => matching += len,
            similar::DiffOp::Insert {
                new_index, new_len, ..
            } => {
                for (n, t) in &a[new_index..new_index + new_len] {
                    lines.push(CfLine::Added(*n, t.clone()));
                }
            }
            similar::DiffOp::Delete {
                old_index,
                old_len,
                new_index,
            } => {
                for (_, t) in &b[old_index..old_index + old_len] {
                    lines.push(CfLine::Deleted(before(new_index), t.clone()));
                }
            }
            similar::DiffOp::Replace {
                old_index,
                old_len,
                new_index,
                new_len,
            } => {
                let pairs = old_len.min(new_len);
                for k in 0..pairs {
                    let (n, t) = &a[new_index + k];
                    lines.push(CfLine::Changed(*n, t.clone(), b[old_index + k].1.clone()));
                }
                for (n, t) in &a[new_index + pairs..new_index + new_len] {
                    lines.push(CfLine::Added(*n, t.clone()));
                }
                for (_, t) in &b[old_index + pairs..old_index + old_len] {
                    lines.push(CfLine::Deleted(before(new_index + new_len), t.clone()));
                }
            }
        }
    }
    let dz = |v: &[(usize, String)]| {
        v.iter()
            .find(|(_, t)| t.starts_with("DZ"))
            .map(|(_, t)| t[2..].to_string())
    };
    let versions = match (dz(&a), dz(&b)) {
        (Some(x), Some(y)) if x != y => Some((x, y)),
        _ => None,
    };
    Some(HandEdits {
        lines,
        matching,
        installed: a.len(),
        versions,
    })
}

/// Whether the installed `target` holds lines that the current sendmail.mc does not produce
/// (hand edits), and which. `None`: it is what the mc generates, or what the wizard wrote.
///
/// The comparison is with the mc as it is on disk and with every original of it that the
/// journal saved: within a run, sendmail-mc has already edited the mc when sendmail-cf is
/// checked, and the cf (not rebuilt yet) is then current with the mc as it was before.
pub fn hand_edits(
    cx: &Context,
    target: &str,
    installed: &[u8],
) -> Result<Option<HandEdits>, String> {
    hand_edits_given(cx, target, installed, None)
}

/// [`hand_edits`], with what the mc on disk generates already at hand (`first`: m4's output,
/// or its error), so that m4 runs once less.
fn hand_edits_given(
    cx: &Context,
    target: &str,
    installed: &[u8],
    first: Option<&Result<Vec<u8>, String>>,
) -> Result<Option<HandEdits>, String> {
    let Some(p) = &cx.profile else {
        return Ok(None);
    };
    let mc_path = &p.sendmail.mc;
    let journal = crate::engine::journal::Journal::read(&cx.root).ok();
    let resolved = |t: &str| {
        cx.root
            .resolve(t)
            .map(|r| r.target)
            .unwrap_or_else(|_| t.to_string())
    };
    let (cf_t, mc_t) = (resolved(target), resolved(mc_path));
    let records = journal
        .iter()
        .flat_map(|j| j.data.runs.iter().rev())
        .flat_map(|r| r.steps.iter().rev())
        .flat_map(|s| s.files.iter().rev());
    let sha = crate::engine::fsops::sha256_hex(installed);
    if records
        .clone()
        .any(|f| f.path == cf_t && f.sha_after == sha)
    {
        return Ok(None);
    }
    let mut candidates: Vec<Vec<u8>> = vec![];
    if let Some(b) = cx.root.read(mc_path).map_err(|e| e.to_string())? {
        candidates.push(b);
    }
    if let Some(j) = &journal {
        for f in records.clone().filter(|f| f.path == mc_t) {
            if let Some(b) = f.saved().and_then(|s| std::fs::read(j.saved_path(s)).ok()) {
                if !candidates.contains(&b) {
                    candidates.push(b);
                }
            }
        }
    }
    // The originals of the other files the wizard changed (an included sasl.m4 it edited in
    // place): the cf was built from the mc *and* its includes as they were. Records come newest
    // first, so the last one seen for a path is its oldest original.
    let mut originals: std::collections::HashMap<String, PathBuf> = Default::default();
    if let Some(j) = &journal {
        for f in records.filter(|f| f.path != mc_t && f.path != cf_t) {
            if let Some(sv) = f.saved() {
                originals.insert(f.path.clone(), j.saved_path(sv));
            }
        }
    }
    let with_originals = |served: &str| originals.get(served).cloned();
    let mut best: Option<HandEdits> = None;
    for (i, mc_bytes) in candidates.iter().enumerate() {
        // Decoded as the mc step reads it (a Latin-1 comment is kept byte for byte).
        let Ok(text) = super::Text::decode(mc_bytes.clone()) else {
            continue;
        };
        let mut ways: Vec<Instead> = vec![&|_| None];
        if !originals.is_empty() {
            ways.push(&with_originals);
        }
        for (k, instead) in ways.into_iter().enumerate() {
            let made = match (i, k, first) {
                (0, 0, Some(done)) => done.clone(),
                _ => regenerate_with(cx, mc_path, &text, instead).map(|(g, _)| g),
            };
            let generated = match made {
                Ok(g) => g,
                // The mc on disk must build; an older saved copy that does not is no candidate.
                Err(e) if i == 0 && k == 0 => {
                    return Err(format!(
                        "cannot tell whether {} holds hand edits: {e}",
                        cx.root.display(target)
                    ))
                }
                Err(_) => continue,
            };
            match compare(installed, &generated) {
                None => return Ok(None),
                Some(h) => {
                    if best.as_ref().is_none_or(|b| h.lines.len() < b.lines.len()) {
                        best = Some(h);
                    }
                }
            }
        }
    }
    Ok(best)
}

/// Turns hand edits of `target` into findings: a refusal naming `--discard-cf-edits`, or,
/// with it, a warning that they are lost. Returns whether the cf may be regenerated.
fn report_hand_edits(cx: &Context, r: &mut StepReport, target: &str, h: &HandEdits) -> bool {
    let mc = cx
        .profile
        .as_ref()
        .map(|p| cx.root.display(&p.sendmail.mc))
        .unwrap_or_default();
    let shown = cx.root.display(target);
    let chosen = cx.opts.discard_cf_edits;
    let what = if h.unrelated() {
        format!(
            "{shown} does not look generated from {mc} at all: only {} of its {} lines match what {mc} generates (built from another mc, by another sendmail version, or written by hand)",
            h.matching, h.installed
        )
    } else {
        format!(
            "{shown} has {} line(s) that {mc} does not produce: hand edits (or a cf built from an older mc) that regenerating it would discard",
            h.lines.len()
        )
    };
    let version = h
        .versions
        .as_ref()
        .map(|(a, b)| format!("; it says sendmail version {a}, the cf tree here builds {b}"))
        .unwrap_or_default();
    let message = if chosen {
        format!("{what}{version}; they are discarded, as chosen with --discard-cf-edits")
    } else {
        format!("{what}{version}; it was left alone (to regenerate it anyway and lose them: --discard-cf-edits, answers file discard_cf_edits: true)")
    };
    let fix = format!(
        "move them into {mc} and run the wizard again (the lines and how are listed below); or regenerate it anyway and lose them: --discard-cf-edits (answers file: discard_cf_edits: true)"
    );
    r.decide(
        Some(target),
        message,
        fix,
        Decision {
            key: DecisionKey::DiscardCfEdits,
            flag: DecisionKey::DiscardCfEdits.flag(),
            question: format!(
                "Regenerate {shown} and discard its {} differing line(s)?",
                h.lines.len()
            ),
            chosen,
        },
    );
    if !h.unrelated() {
        for l in h.lines.iter().take(HAND_EDITS_SHOWN) {
            r.info_at(target, format!("{shown} {}", l.describe()));
        }
    }
    let rest = if h.unrelated() {
        h.lines.len()
    } else {
        h.lines.len().saturating_sub(HAND_EDITS_SHOWN)
    };
    if rest > 0 {
        r.info_at(
            target,
            format!("... and {rest} more differing line(s): compare it with `m4 {mc}` yourself"),
        );
    }
    if !h.unrelated() {
        for a in h.advice() {
            r.info_at(target, format!("to keep {a}"));
        }
    }
    chosen
}

/// Plans an edited sendmail.mc (`text` as read, `edited` its new text, kept in the file's
/// encoding) and the sendmail.cf regenerated from it: what a step that edits the mc after this
/// step has run does (tls, submission, relay-features).
pub fn plan_mc_and_cf(
    cx: &Context,
    r: &mut StepReport,
    view: &PlannedOverlay,
    mc_path: &str,
    text: &Text,
    edited: String,
    why: String,
) {
    let new = text.with(edited);
    if plan_mc(cx, r, view, mc_path, text, &new, why) {
        plan_cf(cx, r, view, &new);
    }
}

/// Plans sendmail.mc's new text `edited`, in the encoding `text` was read in; an encoding or
/// planning failure is reported as the mc's error. Returns whether the change was planned.
pub fn plan_mc(
    cx: &Context,
    r: &mut StepReport,
    view: &PlannedOverlay,
    mc_path: &str,
    text: &Text,
    edited: &str,
    why: String,
) -> bool {
    let result = text
        .encode(edited)
        .map_err(|e| format!("{}: {e}", cx.root.display(mc_path)))
        .and_then(|bytes| {
            r.change(view, mc_path, bytes, why, None)
                .map_err(|e| e.to_string())
        });
    match result {
        Ok(_) => true,
        Err(e) => {
            r.error(Some(mc_path), e, None);
            false
        }
    }
}

/// Plans sendmail.cf (and its copies) from an mc text. Shared with relay-features, which edits
/// the mc after this step has run.
pub fn plan_cf(cx: &Context, r: &mut StepReport, view: &PlannedOverlay, mc: &Text) {
    let Some(p) = &cx.profile else { return };
    // What the mc on disk generates, for the hand-edit comparison: the same as the plan's cf
    // when no earlier step changes the mc; otherwise m4 runs for it on a second thread, beside
    // the run for the planned mc (two cores: about the time of one run).
    let disk_mc = cx
        .root
        .read(&p.sendmail.mc)
        .ok()
        .flatten()
        .and_then(|b| super::Text::decode(b).ok());
    let same = disk_mc.as_ref().is_some_and(|d| d.text == mc.text);
    let (made, first) = std::thread::scope(|s| {
        let other = disk_mc
            .as_ref()
            .filter(|_| !same)
            .map(|d| s.spawn(move || regenerate(cx, &p.sendmail.mc, d).map(|(g, _)| g)));
        let made = regenerate(cx, &p.sendmail.mc, mc);
        let first = other.and_then(|h| h.join().ok());
        (made, first)
    });
    let first = if same {
        made.as_ref()
            .map(|(g, _)| g.clone())
            .map_err(Clone::clone)
            .into()
    } else {
        first
    };
    let (cf, warnings) = match made {
        Ok(x) => x,
        Err(e) => {
            r.error(Some(&p.sendmail.mc), e, None);
            return;
        }
    };
    for w in warnings {
        r.warn(Some(&p.sendmail.mc), w, None);
    }
    match &cx.can_validate {
        Ok(()) => r.info("the new sendmail.cf is validated with `sendmail -C TMP -bv root` before it replaces the old one"),
        Err(_) => r.info("sendmail -bv validation is skipped on this machine (see the os step)"),
    }
    for (i, target) in p.sendmail.cf.iter().enumerate() {
        // Links of the directories above are followed inside the root (`/etc/mail` on a
        // persistent volume: the files are written in the directory it points to); a link at
        // sendmail.cf itself is refused: writing would replace the link by a file.
        match cx.root.file_link(target) {
            Ok(Some((at, _))) => {
                let to = cx
                    .root
                    .resolve(target)
                    .map(|r| r.target)
                    .unwrap_or_else(|e| e.to_string());
                let seen_as = if at == crate::engine::root::normalize(target) {
                    String::new()
                } else {
                    format!(" (reached as {})", cx.root.display(target))
                };
                r.error(
                    Some(target),
                    format!(
                        "{}{seen_as} is a symbolic link to {to}; the wizard does not write sendmail.cf through a link (writing would replace the link by a file)",
                        cx.root.display(&at),
                    ),
                    Some("replace the link by the file it points to, or name the real path in a --profile".into()),
                );
                continue;
            }
            Err(e) => {
                r.error(Some(target), e.to_string(), None);
                continue;
            }
            Ok(None) => {}
        }
        let path = match cx.root.resolve(target) {
            Ok(res) => res.target,
            Err(e) => {
                r.error(Some(target), e.to_string(), None);
                continue;
            }
        };
        let cur = match view.read(target) {
            Ok(c) => c,
            Err(e) => {
                r.error(Some(target), e.to_string(), None);
                continue;
            }
        };
        if i > 0 && cur.is_none() && !p.sendmail.cf_copies_always {
            continue;
        }
        // Before it is replaced: does the cf hold lines its mc does not produce? (Not when an
        // earlier step of this plan writes it: that step has looked already.)
        let replaced = cur
            .as_deref()
            .filter(|c| significant(c) != significant(&cf) && !view.planned(target));
        if let Some(c) = replaced {
            match hand_edits_given(cx, target, c, first.as_ref()) {
                Ok(None) => {}
                Ok(Some(h)) => {
                    if !report_hand_edits(cx, r, target, &h) {
                        continue;
                    }
                }
                Err(e) if cx.opts.discard_cf_edits => r.warn(
                    Some(target),
                    format!("{e}; it is regenerated anyway, as chosen with --discard-cf-edits"),
                    None,
                ),
                Err(e) => {
                    r.error(
                        Some(target),
                        e,
                        Some("--discard-cf-edits (answers file: discard_cf_edits: true) regenerates it without looking".into()),
                    );
                    continue;
                }
            }
        }
        match &cur {
            Some(c) if significant(c) == significant(&cf) => {
                r.info_at(
                    target,
                    format!(
                        "{} is current with {}",
                        cx.root.display(target),
                        p.sendmail.mc
                    ),
                );
            }
            _ => {
                let why = if i == 0 {
                    format!("regenerated from {} with m4", p.sendmail.mc)
                } else {
                    format!(
                        "copy of {} (HOWTO step 5: place the file in both locations)",
                        p.sendmail.cf[0]
                    )
                };
                let wm = crate::engine::fsops::WriteMeta {
                    mode: 0o644,
                    owner: Some((0, 0)),
                    mtime: None,
                };
                r.changes.push(Change {
                    path: path.clone(),
                    requested: target.clone(),
                    before: cur.clone(),
                    after: cf.clone(),
                    new_meta: Some(wm),
                    validate: true,
                    why,
                });
            }
        }
    }
}

impl Step for SendmailCf {
    fn id(&self) -> &'static str {
        "sendmail-cf"
    }
    fn title(&self) -> &'static str {
        "Regenerate sendmail.cf with m4"
    }
    fn howto(&self) -> &'static str {
        "HOWTO step 5: m4 /etc/mail/sendmail.mc > /etc/mail/sendmail.cf"
    }
    /// A regenerated sendmail.cf must pass `sendmail -C TMP -bv root` before it goes live.
    fn validate_change(&self, cx: &Context, _change: &Change, tmp: &Path) -> Result<(), String> {
        validate(cx, tmp)
    }
    fn check(&self, cx: &Context, view: &PlannedOverlay) -> StepReport {
        let mut r = StepReport::new(self);
        let Some(p) = super::profile_or_block(cx, &mut r) else {
            return r.finish();
        };
        match read_text(view, &p.sendmail.mc) {
            Ok(Some(mc_text)) => plan_cf(cx, &mut r, view, &mc_text),
            Ok(None) => r.block(super::does_not_exist(&cx.root, &p.sendmail.mc), None),
            Err(e) => r.error(Some(&p.sendmail.mc), e, None),
        }
        r.finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comment_lines_and_line_endings_do_not_count() {
        let a = b"##### built by root@vm on Thu\nO A=1\n# comment\nO B=2\n";
        let b = b"##### built by root@other on Fri\r\nO A=1\r\nO B=2\r\n### /etc/mail/sendmail.mc ###\n# copy\n";
        assert_eq!(significant(a), significant(b));
        assert_ne!(significant(a), significant(b"O A=1\nO B=3\n"));
    }

    const GEN: &[u8] = b"##### built by root@a on Mon\nV10/Berkeley\nDZ8.17.1\nO A=1\nO B=2\nKaccess hash /etc/mail/access\nSLocal_check_rcpt\nR$* $: $1\nR$+ $@ OK\n";

    #[test]
    fn compare_names_added_changed_and_deleted_lines_with_installed_line_numbers() {
        assert_eq!(compare(GEN, GEN), None);
        // Comments, header, blank and whitespace-only lines, CRLF and the appended mc: equal.
        let same = String::from_utf8_lossy(GEN)
            .replace("root@a on Mon", "root@b on Tue")
            .replace('\n', "\r\n")
            + "\r\n \t\r\n### /etc/mail/sendmail.mc ###\r\n# FEATURE(x)\r\n";
        assert_eq!(compare(same.as_bytes(), GEN), None);
        let edited = b"##### built\nV10/Berkeley\nDZ8.17.1\nO A=9\nO B=2\nKaccess hash /etc/mail/access\nKmine hash /m\nSLocal_check_rcpt\nR$+ $@ OK\n";
        let h = compare(edited, GEN).unwrap();
        assert_eq!(
            h.lines,
            vec![
                CfLine::Changed(4, "O A=9".into(), "O A=1".into()),
                CfLine::Added(7, "Kmine hash /m".into()),
                CfLine::Deleted(8, "R$* $: $1".into()),
            ]
        );
        assert!(!h.unrelated());
        assert_eq!(h.versions, None);
        let advice = h.advice().join("\n");
        assert!(
            advice.contains("confNAME") && advice.contains("LOCAL_CONFIG"),
            "{advice}"
        );
        assert!(advice.contains("cannot delete a line"), "{advice}");
        // Reordered rules are an edit: order matters in a ruleset.
        let swapped =
            String::from_utf8_lossy(GEN).replace("R$* $: $1\nR$+ $@ OK", "R$+ $@ OK\nR$* $: $1");
        assert!(compare(swapped.as_bytes(), GEN).is_some());
    }

    #[test]
    fn a_cf_from_elsewhere_is_unrelated_and_says_its_version() {
        let other = b"V10/Berkeley\nDZ8.12.8\nO X=1\nO Y=2\nO Z=3\nS0\nR$+ $#local\n";
        let h = compare(other, GEN).unwrap();
        assert!(h.unrelated(), "{h:?}");
        assert_eq!(h.versions, Some(("8.12.8".into(), "8.17.1".into())));
    }
}
