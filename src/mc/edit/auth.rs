//! HOWTO step 3 planned on the model: the options are checked, and each AUTH setting is kept,
//! set in place, activated from a commented candidate or inserted before the first MAILER line.

use super::*;

/// What the run wants, checked so it cannot break m4 quoting.
pub(super) struct Want {
    /// The minimum letters (or the exact set with `exact_options`).
    options: String,
    exact_options: bool,
    mechanisms: Vec<String>,
    trust: Option<Vec<String>>,
    unverifiable: Vec<String>,
}

/// The AuthOptions letters sendmail knows (readcf.c; op.me "AuthOptions").
pub(super) const OPTION_LETTERS: &str = "Aacdfmpy";

pub(super) fn auth_options_decider() -> Decider {
    Decider::new("--auth-options", "auth_options")
}

pub(super) fn trust_decider() -> Decider {
    Decider::new("--trust-mechanisms", "trust_mechanisms")
}

pub(super) fn mechanisms_decider() -> Decider {
    Decider::new("--mechanisms", "mechanisms")
}

pub(super) fn check_options(opts: &McOptions) -> Result<Want, McError> {
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
pub(super) fn tokens(setting: Setting, v: &str) -> Vec<String> {
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
pub(super) fn same_value(setting: Setting, have: &str, want: &str) -> bool {
    let mut a = tokens(setting, have);
    let mut b = tokens(setting, want);
    a.sort();
    b.sort();
    a == b
}

/// The options to write: the admin's letters as they are written, with the wizard's missing
/// letters added (`A p y` stays `A p y`; `p` becomes `p A`; `A,p` stays `A,p`).
pub(super) fn merged_options(have: &str, min: &str) -> String {
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
pub(super) enum Place<'a> {
    Mc(&'a Candidate),
    Inc(usize, &'a IncSetting),
}

/// Per included file, the values to write into it.
pub(super) type IncValues = Vec<Vec<((usize, usize, usize), String)>>;

pub(super) fn plan_auth(
    m: &Model,
    want: &Want,
    incs: &[Inc],
    plan: &mut Plan,
) -> Result<IncValues, McError> {
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
pub(super) fn set_setting(
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
pub(super) fn replace_at(
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
pub(super) fn activate_or_insert(
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
pub(super) fn has_tls(m: &Model, incs: &[Inc]) -> bool {
    let in_mc = m.scan.calls.iter().any(|c| {
        let first = c
            .args
            .first()
            .map(|&(a, z)| {
                crate::mc::lex::unquote_once(&m.doc.body[a..z])
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
pub(super) fn rewritten(
    m: &Model,
    c: &Candidate,
    setting: Setting,
    want: &str,
) -> Result<String, McError> {
    let site = c.site.clone().map_err(|r| m.err(c.line, r))?;
    let content = m.content(c.line);
    Ok(format!(
        "{}{}{}",
        &content[..site.indent],
        setting.canonical(want),
        dnl_tail(&content[site.call_end..])
    ))
}
