//! The edits of HOWTO steps 3, 4 and 12, planned on the [`Model`] and applied line by line so
//! that every line not named in an [`Edit`] keeps its bytes.

use super::include::{self, IncSetting};
use super::model::{
    miscased_service, overlap, Bind, Candidate, Family, ListenerLine, Model, Overlap, Setting,
    SETTINGS,
};
use super::shape::{dnl_tail, inert_tail};
use super::{Decider, Edit, Included, ListenerChoice, McEdit, McEdits, McError, McOptions};

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

/// What the run wants, checked so it cannot break m4 quoting.
struct Want {
    /// The minimum letters (or the exact set with `exact_options`).
    options: String,
    exact_options: bool,
    mechanisms: Vec<String>,
    trust: Option<Vec<String>>,
    unverifiable: Vec<String>,
}

/// The AuthOptions letters sendmail knows (readcf.c; op.me "AuthOptions").
const OPTION_LETTERS: &str = "Aacdfmpy";

fn auth_options_decider() -> Decider {
    Decider::new("--auth-options", "auth_options")
}

fn trust_decider() -> Decider {
    Decider::new("--trust-mechanisms", "trust_mechanisms")
}

fn mechanisms_decider() -> Decider {
    Decider::new("--mechanisms", "mechanisms")
}

fn check_options(opts: &McOptions) -> Result<Want, McError> {
    let bad = |reason: String, by: Vec<Decider>| McError {
        line: 0,
        text: String::new(),
        reason,
        decided_by: by,
    };
    let options = opts.auth_options.trim().to_string();
    if options.is_empty()
        || !options
            .chars()
            .all(|c| c.is_ascii_alphabetic() || c == ' ' || c == ',')
    {
        return Err(bad(
            format!(
                "the AUTH options {:?} must be option letters such as A or A p",
                opts.auth_options
            ),
            vec![auth_options_decider()],
        ));
    }
    if opts.exact_options {
        if let Some(c) = options
            .chars()
            .find(|c| c.is_ascii_alphabetic() && !OPTION_LETTERS.contains(*c))
        {
            return Err(bad(
                format!(
                    "the AUTH options {options:?} contain {c:?}, which sendmail does not know \
                     (AuthOptions letters: A a c d f m p y)"
                ),
                vec![auth_options_decider()],
            ));
        }
    }
    if opts.mechanisms.is_empty() {
        return Err(bad(
            "no SASL mechanisms were given (the HOWTO uses LOGIN PLAIN)".into(),
            vec![mechanisms_decider()],
        ));
    }
    let lists: Vec<(&Vec<String>, Decider)> =
        std::iter::once((&opts.mechanisms, mechanisms_decider()))
            .chain(opts.trust.iter().map(|t| (t, trust_decider())))
            .collect();
    if opts.trust.as_ref().is_some_and(|t| t.is_empty()) {
        return Err(bad(
            "the list of mechanisms to trust for relaying is empty (give at least the ones \
             you advertise, e.g. LOGIN PLAIN)"
                .into(),
            vec![trust_decider()],
        ));
    }
    for (list, by) in &lists {
        for mech in list.iter() {
            if mech.is_empty()
                || !mech
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
            {
                return Err(bad(
                    format!(
                        "{mech:?} is not a SASL mechanism name (letters, digits, - and _ only)"
                    ),
                    vec![by.clone()],
                ));
            }
            if mech.eq_ignore_ascii_case("ANONYMOUS") {
                return Err(bad(
                    format!(
                        "the mechanisms given with {} (answers file: {}) include ANONYMOUS: a \
                         client that logs in anonymously has proved nothing, and trusting it \
                         for relaying (TRUST_AUTH_MECH) makes an open relay; leave ANONYMOUS \
                         out",
                        by.option, by.answers_key
                    ),
                    vec![by.clone()],
                ));
            }
        }
    }
    Ok(Want {
        options,
        exact_options: opts.exact_options,
        mechanisms: opts.mechanisms.clone(),
        trust: opts.trust.clone(),
        unverifiable: opts
            .unverifiable
            .iter()
            .map(|m| m.to_ascii_uppercase())
            .collect(),
    })
}

/// The tokens of a value: option letters (every letter is one option, `A p` = `Ap` = `A,p`), or
/// mechanisms (upper-cased, separated by blanks or commas). In their order, without repeats.
fn tokens(setting: Setting, v: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut push = |t: String| {
        if !out.contains(&t) {
            out.push(t);
        }
    };
    if setting == Setting::Options {
        for c in v.chars().filter(|c| c.is_ascii_alphabetic()) {
            push(c.to_string());
        }
    } else {
        for t in v
            .split(|c: char| c.is_whitespace() || c == ',')
            .filter(|t| !t.is_empty())
        {
            push(t.to_ascii_uppercase());
        }
    }
    out
}

/// Values compared as sendmail reads them: option letters as a set, mechanisms as a set
/// regardless of case.
fn same_value(setting: Setting, have: &str, want: &str) -> bool {
    let mut a = tokens(setting, have);
    let mut b = tokens(setting, want);
    a.sort();
    b.sort();
    a == b
}

/// The options to write: the admin's letters as they are written, with the wizard's missing
/// letters added (`A p y` stays `A p y`; `p` becomes `p A`; `A,p` stays `A,p`).
fn merged_options(have: &str, min: &str) -> String {
    let have_t = tokens(Setting::Options, have);
    let missing: Vec<String> = tokens(Setting::Options, min)
        .into_iter()
        .filter(|t| !have_t.contains(t))
        .collect();
    let have = have.trim();
    if have_t.is_empty() {
        return min.to_string();
    }
    if missing.is_empty() {
        return have.to_string();
    }
    let sep = if have.contains(',') && !have.contains(' ') {
        ","
    } else {
        " "
    };
    format!("{have}{sep}{}", missing.join(sep))
}

/// Where the mc or an included file sets one of the three settings.
enum Place<'a> {
    Mc(&'a Candidate),
    Inc(usize, &'a IncSetting),
}

/// Per included file, the values to write into it.
type IncValues = Vec<Vec<((usize, usize, usize), String)>>;

fn plan_auth(m: &Model, want: &Want, incs: &[Inc], plan: &mut Plan) -> Result<IncValues, McError> {
    let mut values: IncValues = vec![Vec::new(); incs.len()];
    let mut actives: [Option<&Candidate>; 3] = [None, None, None];
    for setting in SETTINGS {
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
        actives[setting as usize] = active.first().copied();
    }
    let places = |setting: Setting| -> Vec<Place> {
        let mut v: Vec<Place> = actives[setting as usize]
            .map(Place::Mc)
            .into_iter()
            .collect();
        for (k, inc) in incs.iter().enumerate() {
            v.extend(
                inc.settings
                    .iter()
                    .filter(|s| s.setting == setting)
                    .map(|s| Place::Inc(k, s)),
            );
        }
        v
    };
    let where_is = |p: &Place| -> String {
        match p {
            Place::Mc(c) => format!("line {}", c.line + 1),
            Place::Inc(k, s) => format!(
                "{} line {} (included on line {})",
                incs[*k].src.path,
                s.line + 1,
                incs[*k].mc_line + 1
            ),
        }
    };
    let err_at = |p: &Place, reason: String, by: Vec<Decider>| -> McError {
        let mut e = match p {
            Place::Mc(c) => m.err(c.line, reason),
            Place::Inc(k, s) => m.err(
                incs[*k].mc_line,
                format!(
                    "{} line {} (included here): {reason}",
                    incs[*k].src.path,
                    s.line + 1
                ),
            ),
        };
        e.decided_by = by;
        e
    };

    // confAUTH_OPTIONS: the admin's letters plus the minimum, or exactly what was given.
    let opt_places = places(Setting::Options);
    let in_force = opt_places.iter().rev().find_map(|p| match p {
        Place::Mc(c) => Some(c.value.clone()),
        Place::Inc(_, s) if s.at.is_some() => Some(s.value.clone()),
        _ => None,
    });
    let options = match (&in_force, want.exact_options) {
        (_, true) | (None, _) => want.options.clone(),
        (Some(have), false) => merged_options(have, &want.options),
    };
    if let (Some(have), true) = (&in_force, want.exact_options) {
        let dropped: Vec<String> = tokens(Setting::Options, have)
            .into_iter()
            .filter(|t| !tokens(Setting::Options, &options).contains(t))
            .collect();
        if !dropped.is_empty() {
            plan.warnings.push(format!(
                "confAUTH_OPTIONS was `{have}`; --auth-options (answers auth_options) sets \
                 `{options}`, so {} {} dropped as asked",
                dropped.join(" "),
                if dropped.len() == 1 { "is" } else { "are" }
            ));
        }
    }
    if tokens(Setting::Options, &options).contains(&"p".to_string()) && !has_tls(m, incs) {
        plan.warnings.push(format!(
            "confAUTH_OPTIONS `{options}` has p: sendmail offers PLAIN and LOGIN only after \
             STARTTLS, and this sendmail.mc sets up no STARTTLS (no confSERVER_CERT, no \
             starttls.m4 include), so {}; set up STARTTLS, or drop p with --auth-options \
             (answers auth_options), e.g. --auth-options \"A\"",
            if want
                .mechanisms
                .iter()
                .all(|m| m.eq_ignore_ascii_case("LOGIN") || m.eq_ignore_ascii_case("PLAIN"))
            {
                format!(
                    "with only {} to offer, clients will see no AUTH at all",
                    want.mechanisms.join(" ")
                )
            } else {
                "clients will not be offered PLAIN or LOGIN".to_string()
            }
        ));
    }
    set_setting(
        m,
        Setting::Options,
        &opt_places,
        &options,
        &mut values,
        plan,
        &where_is,
    )?;

    let advertise = want.mechanisms.join(" ");
    // TRUST_AUTH_MECH: a class, so every list adds up. What is advertised, plus what the admin
    // already trusts and can be verified here; or exactly --trust-mechanisms.
    let trust_places = places(Setting::Trust);
    let admin: Vec<(String, &Place)> = trust_places
        .iter()
        .flat_map(|p| {
            let v = match p {
                Place::Mc(c) => c.value.clone(),
                Place::Inc(_, s) => s.value.clone(),
            };
            tokens(Setting::Trust, &v).into_iter().map(move |t| (t, p))
        })
        .collect();
    let wanted: Vec<String> = match &want.trust {
        Some(t) => tokens(Setting::Trust, &t.join(" ")),
        None => {
            if let Some((_, p)) = admin.iter().find(|(t, _)| t == "ANONYMOUS") {
                return Err(err_at(
                    p,
                    "TRUST_AUTH_MECH trusts ANONYMOUS for relaying: anyone can log in \
                     anonymously, so this server relays for everybody (an open relay); I changed \
                     nothing; remove ANONYMOUS from the list, or give the whole list to trust \
                     with --trust-mechanisms (answers trust_mechanisms)"
                        .to_string(),
                    vec![trust_decider()],
                ));
            }
            let mut w = tokens(Setting::Trust, &advertise);
            let mut dropped: Vec<String> = Vec::new();
            for (t, _) in &admin {
                if w.contains(t) {
                    continue;
                }
                if want.unverifiable.contains(t) {
                    if !dropped.contains(t) {
                        dropped.push(t.clone());
                    }
                } else {
                    w.push(t.clone());
                }
            }
            if !dropped.is_empty() {
                plan.warnings.push(format!(
                    "TRUST_AUTH_MECH trusted {}, which the password check here cannot verify \
                     (it needs the users' secrets in sasldb); {} no longer trusted for relaying \
                     (--trust-mechanisms, answers trust_mechanisms, sets the list exactly)",
                    dropped.join(" "),
                    if dropped.len() == 1 {
                        "it is"
                    } else {
                        "they are"
                    }
                ));
            }
            w
        }
    };
    let wanted_text = wanted.join(" ");
    // Each existing list keeps what of it is wanted; what is still missing goes into the mc's
    // line, or else into the first list of the included file.
    let mut new_values: Vec<Vec<String>> = Vec::new();
    let mut editable: Vec<bool> = Vec::new();
    for p in &trust_places {
        let (v, can) = match p {
            Place::Mc(c) => (c.value.as_str(), true),
            Place::Inc(_, s) => (s.value.as_str(), s.at.is_some()),
        };
        let t = tokens(Setting::Trust, v);
        let kept: Vec<String> = t.iter().filter(|x| wanted.contains(x)).cloned().collect();
        new_values.push(if kept.is_empty() && can {
            wanted.clone()
        } else {
            kept
        });
        editable.push(can);
    }
    let union: Vec<String> = new_values.iter().flatten().cloned().collect();
    let missing: Vec<String> = wanted
        .iter()
        .filter(|w| !union.contains(w))
        .cloned()
        .collect();
    if !missing.is_empty() {
        if let Some(k) = editable.iter().position(|e| *e) {
            new_values[k].extend(missing.iter().cloned());
        }
    }
    for (k, p) in trust_places.iter().enumerate() {
        let (have, line_value) = match p {
            Place::Mc(c) => (&c.value, new_values[k].join(" ")),
            Place::Inc(_, s) => (&s.value, new_values[k].join(" ")),
        };
        if same_value(Setting::Trust, have, &line_value) || !editable[k] {
            continue;
        }
        replace_at(
            m,
            Setting::Trust,
            p,
            have,
            &line_value,
            &mut values,
            plan,
            &where_is,
        )?;
    }
    if trust_places.is_empty() {
        activate_or_insert(m, Setting::Trust, &wanted_text, plan)?;
    }
    // confAUTH_MECHANISMS: what is advertised, exactly as asked.
    let mech_places = places(Setting::Mechanisms);
    for p in &mech_places {
        let have = match p {
            Place::Mc(c) => &c.value,
            Place::Inc(_, s) if s.at.is_some() => &s.value,
            Place::Inc(_, _) => continue,
        };
        let extras: Vec<String> = tokens(Setting::Mechanisms, have)
            .into_iter()
            .filter(|t| {
                !want.mechanisms.iter().any(|m| m.eq_ignore_ascii_case(t))
                    && !want.unverifiable.contains(t)
                    && t != "ANONYMOUS"
            })
            .collect();
        if !extras.is_empty() {
            plan.warnings.push(format!(
                "{}: confAUTH_MECHANISMS advertised {}, which the mechanisms to advertise ({}) \
                 leave out, so {} no longer offered; add {} to --mechanisms (answers \
                 mechanisms) to keep offering {}",
                where_is(p),
                extras.join(" "),
                advertise,
                if extras.len() == 1 {
                    "it is"
                } else {
                    "they are"
                },
                if extras.len() == 1 { "it" } else { "them" },
                if extras.len() == 1 { "it" } else { "them" },
            ));
        }
    }
    set_setting(
        m,
        Setting::Mechanisms,
        &mech_places,
        &advertise,
        &mut values,
        plan,
        &where_is,
    )?;

    // Without the text of an included sasl.m4 (a caller that did not read it), say so.
    if let Some((l, p)) = m.includes.iter().find(|(l, p)| {
        p.contains("sasl") && p.ends_with(".m4") && !incs.iter().any(|i| i.mc_line == *l)
    }) {
        plan.warnings.push(format!(
            "line {}: {p} may also set confAUTH_MECHANISMS and TRUST_AUTH_MECH, and I did not \
             read it; TRUST_AUTH_MECH adds up, so the mechanisms trusted for relaying would \
             include that file's too",
            l + 1
        ));
    }
    Ok(values)
}

/// Sets a setting that sendmail takes from its last definition: every place gets `want`.
#[allow(clippy::too_many_arguments)]
fn set_setting(
    m: &Model,
    setting: Setting,
    places: &[Place],
    want: &str,
    values: &mut IncValues,
    plan: &mut Plan,
    where_is: &dyn Fn(&Place) -> String,
) -> Result<(), McError> {
    if places.is_empty() {
        return activate_or_insert(m, setting, want, plan);
    }
    for p in places {
        let have = match p {
            Place::Mc(c) => &c.value,
            Place::Inc(_, s) if s.at.is_some() => &s.value,
            Place::Inc(_, _) => continue,
        };
        if same_value(setting, have, want) {
            continue;
        }
        replace_at(m, setting, p, have, want, values, plan, where_is)?;
    }
    Ok(())
}

#[allow(clippy::too_many_arguments)]
fn replace_at(
    m: &Model,
    setting: Setting,
    p: &Place,
    have: &str,
    want: &str,
    values: &mut IncValues,
    plan: &mut Plan,
    where_is: &dyn Fn(&Place) -> String,
) -> Result<(), McError> {
    plan.warnings.push(format!(
        "{}: {} was `{}`; replaced with `{}`",
        where_is(p),
        setting.label(),
        have,
        want
    ));
    match p {
        Place::Mc(c) => {
            let new = rewritten(m, c, setting, want)?;
            plan.changes.push(Change::Replace {
                line: c.line,
                new,
                why: format!(
                    "HOWTO step 3: set {} to `{want}` (it was `{have}`)",
                    setting.label()
                ),
            });
        }
        Place::Inc(k, s) => {
            if let Some(at) = s.at {
                values[*k].push((at, want.to_string()));
            }
        }
    }
    Ok(())
}

/// No active definition anywhere: the commented-out line is activated, or a line is inserted
/// before the mailers.
fn activate_or_insert(
    m: &Model,
    setting: Setting,
    want: &str,
    plan: &mut Plan,
) -> Result<(), McError> {
    let cands = &m.auth[setting as usize];
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
                decided_by: vec![],
            }
        } else {
            m.err(last, reason)
        });
    };
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
    Ok(())
}

/// Whether the mc (or a file it includes) sets up STARTTLS: a server certificate, or Debian's
/// starttls.m4.
fn has_tls(m: &Model, incs: &[Inc]) -> bool {
    let in_mc = m.scan.calls.iter().any(|c| {
        let first = c
            .args
            .first()
            .map(|&(a, z)| {
                super::lex::unquote_once(&m.doc.body[a..z])
                    .trim()
                    .to_string()
            })
            .unwrap_or_default();
        (c.name == "define" && first == "confSERVER_CERT")
            || ((c.name == "include" || c.name == "sinclude") && first.contains("tls"))
    });
    in_mc
        || incs.iter().any(|i| {
            i.src.text.lines().any(|l| {
                let t = l.trim_start();
                !t.starts_with("dnl") && !t.starts_with('#') && t.contains("confSERVER_CERT")
            })
        })
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

/// HOWTO step 4, by intent: port 25 must accept connections from the network (FACTS.md),
/// and every listener the file asks for must still be able to bind beside the others.
///
/// - A port-25 listener that is not on loopback already takes network mail: nothing changes.
/// - Otherwise one loopback listener is opened (its `Addr=` removed; the only listener of
///   the file is commented out, as the HOWTO says): the IPv4 one, or the only IPv6 one, or
///   the one `choice.open` names. Other listeners stay, unless `choice.open` was given and
///   they are loopback port-25 listeners that would collide with the opened one.
/// - Whatever would not bind beside the opened listener (on Linux an IPv6 socket on every
///   address also takes IPv4) is refused, never predicted and applied.
fn plan_listeners(m: &Model, choice: &ListenerChoice, plan: &mut Plan) -> Result<(), McError> {
    let active: Vec<&ListenerLine> = m.listeners.iter().filter(|l| l.active).collect();
    let open_key = choice
        .open
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty());
    if active.is_empty() {
        if let Some(name) = open_key {
            plan.warnings.push(format!(
                "--open-listener {name} (answers: open_listener) was not used: no DAEMON_OPTIONS \
                 is active, so sendmail's default listener already takes port 25 on every address"
            ));
        }
        return Ok(()); // sendmail's default listens on port 25 on every interface
    }
    for l in active.iter().filter(|l| l.tcp()) {
        if let Some(right) = l.get('p').and_then(miscased_service) {
            return Err(m.err(
                l.line,
                format!(
                    "Port={} is not a service sendmail knows: it looks port names up in \
                     /etc/services, which spells them in lower case, and with `service \"{}\" \
                     unknown` its daemon does not start at all; write Port={right}",
                    l.get('p').unwrap_or_default(),
                    l.get('p').unwrap_or_default().trim()
                ),
            ));
        }
    }
    warn_collisions(&active, plan);
    let port25: Vec<&ListenerLine> = active
        .iter()
        .copied()
        .filter(|l| l.tcp() && l.port25())
        .collect();
    if port25.is_empty() {
        return plan_missing_port25(m, &active, plan);
    }
    for l in &port25 {
        if let Bind::Wrong(a) = l.bind() {
            let fam = if l.inet6() { "an IPv6" } else { "an IPv4" };
            return Err(m.err(
                l.line,
                format!(
                    "this port-25 listener has Addr={a}, which is not {fam} address for its \
                     Family ({}): sendmail looks it up as a host name, and when that fails \
                     (\"host unknown\") its daemon does not start at all; I cannot tell what \
                     you meant: write Family=inet with an IPv4 address or Family=inet6 with an \
                     IPv6 one",
                    l.get('f').unwrap_or("inet, the default")
                ),
            ));
        }
    }
    let network: Vec<&ListenerLine> = port25.iter().copied().filter(|l| !l.loopback()).collect();
    if !network.is_empty() {
        for l in &network {
            if let Some(addr) = l.get('a') {
                if l.bind() != Bind::Any {
                    plan.warnings.push(format!(
                        "line {}: the port-25 listener is bound to {addr} only; I left it as it \
                         is, so clients must connect to that address",
                        l.line + 1
                    ));
                }
            }
        }
        if let Some(name) = open_key {
            plan.warnings.push(format!(
                "--open-listener {name} (answers: open_listener) was not used: port 25 already \
                 takes network mail on line {}, so I left every listener as it is",
                network[0].line + 1
            ));
        }
        return Ok(());
    }
    // Every port-25 listener is on loopback: open one of them.
    let pick = choose_listener(m, open_key, &port25)?;
    let content = m.content(pick.line);
    let site = pick.site.clone().map_err(|r| m.err(pick.line, r))?;
    if active.len() == 1 && pick.family() == Family::Inet {
        if !inert_tail(&content[site.call_end..]) {
            return Err(m.err(
                pick.line,
                "this DAEMON_OPTIONS shares its line with other macros, so commenting the \
                 line out would disable them too; put it on a line of its own",
            ));
        }
        plan.changes.push(Change::Replace {
            line: pick.line,
            new: format!("dnl {content}"),
            why: format!(
                "HOWTO step 4: the only listener accepts connections on the loopback \
                 address {} alone; commented out, sendmail's default listens on port 25 on \
                 every interface",
                pick.get('a').unwrap_or_default()
            ),
        });
        return Ok(());
    }
    // What the opened listener would collide with.
    let opened = Bind::Any;
    let mut dropped: Vec<&ListenerLine> = Vec::new();
    for o in active.iter().copied().filter(|o| o.line != pick.line) {
        let ob = o.bind();
        match overlap(
            (pick.family(), &pick.port(), &opened),
            (o.family(), &o.port(), &ob),
        ) {
            Overlap::No => {}
            Overlap::Yes if open_key.is_some() && o.port25() && o.loopback() => dropped.push(o),
            Overlap::Yes => {
                return Err(m.err(
                    o.line,
                    format!(
                        "opening the port-25 listener on line {} to every address (removing \
                         its Addr={}) would collide with this listener{}: the daemon could not \
                         bind both (\"Address already in use\") and gives up after about 50 \
                         seconds (\"server SMTP socket wedged: exiting\"), so I changed \
                         nothing; choose the listener to open with --open-listener NAME \
                         (answers file: open_listener: NAME): the loopback port-25 listeners \
                         that collide with it are then commented out",
                        pick.line + 1,
                        pick.get('a').unwrap_or_default(),
                        collision_note(pick, o)
                    ),
                ))
            }
            Overlap::Unknown => {
                return Err(m.err(
                    o.line,
                    format!(
                        "opening the port-25 listener on line {} to every address may collide \
                         with this listener, whose Addr={} is a host name that sendmail looks \
                         up when it starts; I cannot tell whether both could be bound, so I \
                         changed nothing: write the address numerically",
                        pick.line + 1,
                        o.get('a').unwrap_or_default()
                    ),
                ))
            }
        }
    }
    let others: Vec<String> = active
        .iter()
        .filter(|o| o.line != pick.line && !dropped.iter().any(|d| d.line == o.line))
        .map(|o| (o.line + 1).to_string())
        .collect();
    let kept_v6: Vec<&&ListenerLine> = port25
        .iter()
        .filter(|o| o.inet6() && o.line != pick.line && !dropped.iter().any(|d| d.line == o.line))
        .collect();
    let mut why = format!(
        "HOWTO step 4, by intent: port 25 must accept network connections, so the loopback-only \
         Addr={} is removed",
        pick.get('a').unwrap_or_default()
    );
    if !others.is_empty() {
        why.push_str(&format!(
            "; commenting the whole line out, as the HOWTO says, would leave no port-25 \
             listener at all, because other DAEMON_OPTIONS stay active ({} {})",
            if others.len() == 1 { "line" } else { "lines" },
            others.join(", ")
        ));
    }
    if let Some(v6) = kept_v6.first() {
        why.push_str(&format!(
            "; the IPv6 listener on line {} stays on {}: beside it an IPv4 socket on every \
             address can be bound, while an IPv6 one on every address would also take IPv4 and \
             collide",
            v6.line + 1,
            v6.get('a').unwrap_or_default()
        ));
        if !pick.inet6() {
            plan.warnings.push(format!(
                "line {}: port 25 takes network mail over IPv4 only; the IPv6 listener stays on \
                 {}. To take IPv6 mail too, run me with --open-listener {} (answers: \
                 open_listener): its Addr is removed and the IPv4 loopback listener on port 25 \
                 commented out, because on Linux an IPv6 socket on every address takes IPv4 too",
                v6.line + 1,
                v6.get('a').unwrap_or_default(),
                v6.get('n').unwrap_or("NAME")
            ));
        }
    }
    plan.changes.push(Change::Replace {
        line: pick.line,
        new: without_addr(content, pick),
        why,
    });
    for d in dropped {
        let dc = m.content(d.line);
        let dsite = d.site.clone().map_err(|r| m.err(d.line, r))?;
        if !inert_tail(&dc[dsite.call_end..]) {
            return Err(m.err(
                d.line,
                "this DAEMON_OPTIONS collides with the listener you chose to open and must be \
                 commented out, but it shares its line with other macros; put it on a line of \
                 its own",
            ));
        }
        plan.changes.push(Change::Replace {
            line: d.line,
            new: format!("dnl {dc}"),
            why: format!(
                "HOWTO step 4: the listener on line {} (Name={}, chosen with --open-listener) \
                 now takes port 25 on every address{}, so this loopback listener could no longer \
                 be bound beside it (\"Address already in use\"); commented out",
                pick.line + 1,
                pick.get('n').unwrap_or_default(),
                if pick.inet6() {
                    " (IPv4 too, on Linux)"
                } else {
                    ""
                }
            ),
        });
    }
    Ok(())
}

/// Why two listeners collide, for the message.
fn collision_note(pick: &ListenerLine, o: &ListenerLine) -> String {
    if pick.inet6() && !o.inet6() {
        " (on Linux an IPv6 socket on every address also takes every IPv4 address, and sendmail \
         never makes it IPv6-only)"
            .to_string()
    } else if !pick.inet6() && o.inet6() {
        format!(
            " (its Addr={} is an IPv4 address written as IPv6)",
            o.get('a').unwrap_or_default()
        )
    } else {
        format!(
            " (it listens on {} of the same port, which an IPv{} socket on every address \
             includes)",
            o.get('a').unwrap_or("every address"),
            if pick.inet6() { 6 } else { 4 }
        )
    }
}

/// The loopback port-25 listener to open: the one named by `--open-listener`, else the only
/// IPv4 one, else the only IPv6 one; refuses when that does not decide it.
fn choose_listener<'a>(
    m: &Model,
    open: Option<&str>,
    port25: &[&'a ListenerLine],
) -> Result<&'a ListenerLine, McError> {
    let list = |ls: &[&ListenerLine]| -> String {
        ls.iter()
            .map(|l| {
                format!(
                    "line {} ({}{})",
                    l.line + 1,
                    l.get('n')
                        .map(|n| format!("Name={n}, "))
                        .unwrap_or_default(),
                    l.get('a').unwrap_or_default()
                )
            })
            .collect::<Vec<_>>()
            .join(", ")
    };
    if let Some(want) = open {
        let named: Vec<&ListenerLine> = port25
            .iter()
            .copied()
            .filter(|l| l.get('n').is_some_and(|n| n == want))
            .collect();
        return match named.as_slice() {
            [one] => Ok(one),
            [] => Err(m.err(
                port25[0].line,
                format!(
                    "--open-listener {want} (answers: open_listener): no active port-25 \
                     DAEMON_OPTIONS has Name={want}; the port-25 listeners are: {}",
                    list(port25)
                ),
            )),
            _ => Err(m.err(
                named[1].line,
                format!(
                    "--open-listener {want} (answers: open_listener): Name={want} is on more \
                     than one port-25 listener ({}); give them different names",
                    list(&named)
                ),
            )),
        };
    }
    let v4: Vec<&ListenerLine> = port25
        .iter()
        .copied()
        .filter(|l| l.family() == Family::Inet)
        .collect();
    let v6: Vec<&ListenerLine> = port25.iter().copied().filter(|l| l.inet6()).collect();
    match (v4.as_slice(), v6.as_slice()) {
        ([one], _) => Ok(one),
        ([], [one]) => Ok(one),
        _ => {
            let same = if v4.len() > 1 { &v4 } else { &v6 };
            Err(m.err(
                same[1].line,
                format!(
                    "port 25 listens on loopback only, on several IPv{} listeners ({}): opening \
                     one of them to every address would collide with the others (\"Address \
                     already in use\"), and I cannot tell which one you want to carry network \
                     mail; name it with --open-listener NAME (answers file: open_listener: \
                     NAME): I remove its Addr and comment out the loopback port-25 listeners \
                     that would collide with it",
                    if v4.len() > 1 { 4 } else { 6 },
                    list(same)
                ),
            ))
        }
    }
}

/// Warns about active listeners that already cannot be bound together (the edit leaves them).
fn warn_collisions(active: &[&ListenerLine], plan: &mut Plan) {
    for (i, a) in active.iter().enumerate() {
        for b in &active[i + 1..] {
            let (ab, bb) = (a.bind(), b.bind());
            if overlap((a.family(), &a.port(), &ab), (b.family(), &b.port(), &bb)) == Overlap::Yes {
                plan.warnings.push(format!(
                    "lines {} and {}: these two listeners ask for overlapping addresses on the \
                     same port ({} and {}); on Linux the one opened second cannot bind (\"Address \
                     already in use\"){}; I left them as they are",
                    a.line + 1,
                    b.line + 1,
                    a.get('a').unwrap_or(if a.inet6() {
                        "every IPv6 and IPv4 address"
                    } else {
                        "every IPv4 address"
                    }),
                    b.get('a').unwrap_or(if b.inet6() {
                        "every IPv6 and IPv4 address"
                    } else {
                        "every IPv4 address"
                    }),
                    if a.optional() || b.optional() {
                        ", and sendmail retries it for about 45 seconds before it carries on \
                         without the Modifiers=O one"
                    } else {
                        ", and sendmail gives up after about 50 seconds (\"server SMTP socket \
                         wedged: exiting\")"
                    }
                ));
            }
        }
    }
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
