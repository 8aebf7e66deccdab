//! Issue 11 item 3: the submission port (587) with `M=Ea`, reachable from the network, planned
//! on the model. Port 25 stays as it is (inbound mail from other servers, which never
//! authenticate).

use super::*;
use crate::mc::SubmissionChoice;

/// The modifiers a submission listener must have: `E` (no ETRN) and `a` (AUTH required).
const WANT: [char; 2] = ['E', 'a'];

const DECIDER: (&str, &str) = ("--submission-listener", "submission_listener");

fn decider() -> Vec<Decider> {
    vec![Decider::new(DECIDER.0, DECIDER.1)]
}

/// The line to add when no listener on 587 can be opened or activated.
pub(crate) const MSA_LINE: &str = "DAEMON_OPTIONS(`Port=submission, Name=MSA, M=Ea')dnl";

/// Plans the submission listener. See [`crate::mc::enable_submission`].
pub(crate) fn enable_submission(text: &str, choice: &SubmissionChoice) -> Result<McEdit, McError> {
    let m = Model::new(text);
    if let Some(p) = m.problems.first() {
        return Err(p.clone());
    }
    let mut plan = Plan::default();
    plan_submission(&m, choice, &mut plan)?;
    let (out, origin) = apply(&m, plan)?;
    // The next run must find nothing to do.
    let again = Model::new(&out.text);
    let at = |new_line: usize| {
        let l = origin
            .get(new_line)
            .copied()
            .unwrap_or(m.doc.lines.len())
            .min(m.doc.lines.len().saturating_sub(1));
        internal(&m, l)
    };
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
    plan_submission(&again, choice, &mut second).map_err(|e| McError {
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

/// `M=` with `E` and `a` added to the letters already there (`A`, "no AUTH", is dropped: it
/// contradicts `a`). `None` when nothing is missing.
fn merged_modifiers(old: Option<&str>) -> Option<String> {
    let old = old.unwrap_or("").trim();
    let missing: Vec<char> = WANT.iter().copied().filter(|c| !old.contains(*c)).collect();
    if missing.is_empty() && !old.contains('A') {
        return None;
    }
    let mut s: String = old.chars().filter(|&c| c != 'A').collect();
    s.extend(missing);
    Some(s)
}

/// The listener's line with `M=` carrying `E` and `a`, without `Addr=` when `drop_addr`, and
/// Debian's `Name=MSP...` label renamed `MSA...` when the listener is opened (TLS.md: the
/// loopback MSP-v4 line "becomes an MSA line").
fn rewrite(content: &str, l: &ListenerLine, drop_addr: bool) -> String {
    let base = if drop_addr {
        without_addr(content, l)
    } else {
        content.to_string()
    };
    // Re-read the fields from the rewritten line (removing Addr shifts them).
    let inner_end = l.inner.1 + base.len() - content.len();
    let inner = (l.inner.0, inner_end);
    let fields = super::super::model::fields_of(&base, inner);
    let mut out = String::new();
    let mut from = 0;
    let mut seen_m = false;
    let new_m = merged_modifiers(l.get('m'));
    for f in &fields {
        let first = f.key.chars().next().map(|c| c.to_ascii_lowercase());
        let replacement = match first {
            // sendmail takes the last M= (daemon.c reads them in order): edit that one.
            Some('m') if new_m.is_some() => {
                let last_m = fields
                    .iter()
                    .rev()
                    .find(|g| g.key.chars().next().map(|c| c.to_ascii_lowercase()) == Some('m'))
                    .map(|g| g.start);
                seen_m = true;
                (last_m == Some(f.start))
                    .then(|| format!("{}={}", f.key, new_m.clone().unwrap_or_default()))
            }
            Some('m') => {
                seen_m = true;
                None
            }
            Some('n') if drop_addr => match f.value.as_str() {
                v @ ("MSP" | "MSP-v4" | "MSP-v6") => {
                    Some(format!("{}={}", f.key, v.replacen("MSP", "MSA", 1)))
                }
                _ => None,
            },
            _ => None,
        };
        if let Some(r) = replacement {
            out.push_str(&base[from..f.start]);
            out.push_str(&r);
            from = f.end;
        }
    }
    if !seen_m {
        // No M= at all: add it at the end of the option string.
        let end = inner.1;
        let body = &base[inner.0..end];
        let trimmed = body.trim_end();
        let at = inner.0 + trimmed.len();
        out.push_str(&base[from..at]);
        if trimmed.trim().is_empty() {
            out.push_str("M=Ea");
        } else {
            out.push_str(", M=Ea");
        }
        from = at;
    }
    out.push_str(&base[from..]);
    out
}

fn describe(l: &ListenerLine) -> String {
    format!(
        "line {} ({}{})",
        l.line + 1,
        l.get('n')
            .map(|n| format!("Name={n}, "))
            .unwrap_or_default(),
        l.get('a')
            .map_or("every address".to_string(), |a| format!("Addr={a}"))
    )
}

/// Findings about a 587 listener that is kept as it is.
fn warn_kept(l: &ListenerLine, plan: &mut Plan) {
    let mods = l.get('m').unwrap_or("");
    if !mods.contains('a') {
        plan.warnings.push(format!(
            "line {}: the submission listener on port 587{} does not require AUTH (its M={} has \
             no a): anyone can hand it mail for local users without logging in, as on port 25; \
             I left it as it is: add a to its M= (M=Ea) so that mail clients must log in there",
            l.line + 1,
            l.get('n').map(|n| format!(" ({n})")).unwrap_or_default(),
            if mods.is_empty() { "" } else { mods }
        ));
    }
    if mods.contains('S') {
        plan.warnings.push(format!(
            "line {}: the submission listener on port 587 has S in its M={mods}: it offers no \
             STARTTLS, so passwords cross the network in the clear there (and with AUTH only \
             after TLS, confAUTH_OPTIONS p, no AUTH at all is offered); I left it as it is",
            l.line + 1
        ));
    }
}

fn plan_submission(m: &Model, choice: &SubmissionChoice, plan: &mut Plan) -> Result<(), McError> {
    let want = choice
        .listener
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty());
    let keep = want.is_some_and(|w| w.eq_ignore_ascii_case("keep"));
    let active: Vec<&ListenerLine> = m.listeners.iter().filter(|l| l.active).collect();
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
    let sub: Vec<&ListenerLine> = active
        .iter()
        .copied()
        .filter(|l| l.tcp() && l.port() == Port::Num(587))
        .collect();
    for l in &sub {
        if let Bind::Wrong(a) = l.bind() {
            return Err(m.err(
                l.line,
                format!(
                    "this submission listener has Addr={a}, which is not an address of its \
                     Family ({}): sendmail looks it up as a host name, and when that fails its \
                     daemon does not start at all; write the address for the family",
                    l.get('f').unwrap_or("inet, the default")
                ),
            ));
        }
    }
    let no_default_msa = m.features.iter().any(|f| f.feature == "no_default_msa");
    if sub.is_empty() {
        return plan_new(m, &active, no_default_msa, want, plan);
    }
    // A listener on every address: it already takes submissions from the network.
    let open: Vec<&ListenerLine> = sub
        .iter()
        .copied()
        .filter(|l| l.bind() == Bind::Any)
        .collect();
    if !open.is_empty() {
        for l in &open {
            warn_kept(l, plan);
        }
        if let Some(w) = want.filter(|_| !keep) {
            plan.warnings.push(format!(
                "--submission-listener {w} (answers: submission_listener) was not used: port \
                 587 already takes connections on every address ({}), so I left every listener \
                 as it is",
                describe(open[0])
            ));
        }
        return Ok(());
    }
    // Bound to one address that is not loopback (a LAN address, a host name): the admin may
    // mean it (submissions from the office only) or not.
    let lan: Vec<&ListenerLine> = sub.iter().copied().filter(|l| !l.loopback()).collect();
    if !lan.is_empty() && keep {
        for l in &lan {
            warn_kept(l, plan);
        }
        return Ok(());
    }
    if !lan.is_empty() && want.is_none() {
        let mut e = m.err(
            lan[0].line,
            format!(
                "port 587 listens on {} only: I cannot tell whether you mean submissions from \
                 that network alone or from everywhere; decide with --submission-listener keep \
                 (answers file: submission_listener: keep) to leave it as it is, or \
                 --submission-listener NAME (submission_listener: NAME) to remove the Addr= of \
                 the listener with that Name= so that it listens on every address",
                lan.iter()
                    .map(|l| describe(l))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        );
        e.decided_by = decider();
        return Err(e);
    }
    if keep {
        // Only loopback listeners, and the admin asked to keep them.
        plan.warnings.push(format!(
            "port 587 listens on loopback only ({}), kept at your request \
             (--submission-listener keep): mail clients on other machines cannot submit there",
            sub.iter()
                .map(|l| describe(l))
                .collect::<Vec<_>>()
                .join(", ")
        ));
        return Ok(());
    }
    let pick = choose(m, want, &sub)?;
    let content = m.content(pick.line);
    pick.site.clone().map_err(|r| m.err(pick.line, r))?;
    // What the opened listener would collide with.
    for o in active.iter().copied().filter(|o| o.line != pick.line) {
        match overlap(
            (pick.family(), &pick.port(), &Bind::Any),
            (o.family(), &o.port(), &o.bind()),
        ) {
            Overlap::No => {}
            Overlap::Yes => {
                let mut e = m.err(
                    o.line,
                    format!(
                        "opening the submission listener on line {} to every address (removing \
                         its Addr={}) would collide with this listener{}: the daemon could not \
                         bind both (\"Address already in use\"), so I changed nothing; comment \
                         one of them out, or choose with --submission-listener (answers file: \
                         submission_listener): keep, or the Name= of the listener to open",
                        pick.line + 1,
                        pick.get('a').unwrap_or_default(),
                        collision_note(pick, o)
                    ),
                );
                e.decided_by = decider();
                return Err(e);
            }
            Overlap::Unknown => {
                return Err(m.err(
                    o.line,
                    format!(
                        "opening the submission listener on line {} to every address may \
                         collide with this listener, whose Addr={} is a host name that sendmail \
                         looks up when it starts; I cannot tell whether both could be bound, so \
                         I changed nothing: write the address numerically",
                        pick.line + 1,
                        o.get('a').unwrap_or_default()
                    ),
                ))
            }
        }
    }
    let new = rewrite(content, pick, true);
    // Debian's MSP-v6 on ::1, when the admin made it active: it stays (an IPv6 socket on every
    // address would take IPv4 too and collide with the listener just opened), and says so.
    let kept_v6 = sub
        .iter()
        .find(|l| !pick.inet6() && l.inet6() && l.line != pick.line && l.loopback());
    if let Some(v6) = kept_v6 {
        plan.warnings.push(format!(
            "line {}: port 587 takes mail clients over IPv4 only; the IPv6 submission listener \
             stays on {}. To take IPv6 clients too, comment out line {} (the IPv4 listener I \
             opened) and remove the Addr= of line {} by hand: on Linux an IPv6 socket on every \
             address takes IPv4 too, so sendmail could not bind both",
            v6.line + 1,
            v6.get('a').unwrap_or_default(),
            pick.line + 1,
            v6.line + 1
        ));
    }
    plan.changes.push(Change::Replace {
        line: pick.line,
        why: format!(
            "submission (issue 11): port 587 must take mail clients from the network, so the \
             loopback-only Addr={} is removed{}; port 25 stays for mail from other servers",
            pick.get('a').unwrap_or_default(),
            mods_note(pick)
        ),
        new,
    });
    Ok(())
}

fn mods_note(l: &ListenerLine) -> String {
    match merged_modifiers(l.get('m')) {
        None => String::new(),
        Some(new) => format!(
            " and M={new} (E: no ETRN, a: AUTH required before any mail{}{})",
            if l.get('m').is_some_and(|m| m.contains('A')) {
                "; the A, which turns AUTH off, is dropped"
            } else {
                ""
            },
            match l.get('m') {
                Some(old) if !old.trim().is_empty() => format!("; was M={}", old.trim()),
                _ => String::new(),
            }
        ),
    }
}

/// The loopback 587 listener to open: the one named, else the only IPv4 one, else the only
/// IPv6 one (the rule of the port-25 edit, [`super::listeners::pick`]); refuses when that does
/// not decide it.
fn choose<'a>(
    m: &Model,
    want: Option<&str>,
    sub: &[&'a ListenerLine],
) -> Result<&'a ListenerLine, McError> {
    use super::listeners::{pick, Pick};
    let list = |ls: &[&ListenerLine]| {
        ls.iter()
            .map(|l| describe(l))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let name = want.unwrap_or_default();
    match pick(want, sub) {
        Pick::One(one) => Ok(one),
        Pick::NotNamed => {
            let mut e = m.err(
                sub[0].line,
                format!(
                    "--submission-listener {name} (answers: submission_listener): no active \
                     port-587 DAEMON_OPTIONS has Name={name}; the port-587 listeners are: {}",
                    list(sub)
                ),
            );
            e.decided_by = decider();
            Err(e)
        }
        Pick::NamedTwice(named) => Err(m.err(
            named[1].line,
            format!(
                "--submission-listener {name}: Name={name} is on more than one port-587 \
                 listener ({}); give them different names",
                list(&named)
            ),
        )),
        Pick::Ambiguous { same, .. } => {
            let mut e = m.err(
                same[1].line,
                format!(
                    "port 587 listens on loopback only, on several listeners ({}): I cannot \
                     tell which one you want open to the network; name it with \
                     --submission-listener NAME (answers file: submission_listener: NAME)",
                    list(&same)
                ),
            );
            e.decided_by = decider();
            Err(e)
        }
    }
}

/// No active listener on 587.
fn plan_new(
    m: &Model,
    active: &[&ListenerLine],
    no_default_msa: bool,
    want: Option<&str>,
    plan: &mut Plan,
) -> Result<(), McError> {
    if let Some(w) = want {
        plan.warnings.push(format!(
            "--submission-listener {w} (answers: submission_listener) was not used: no \
             DAEMON_OPTIONS is active on port 587"
        ));
    }
    if !no_default_msa {
        // sendmail's own MSA (`O DaemonPortOptions=Port=587, Name=MSA, M=E`, proto.m4) is
        // active: a second listener on 587 would collide with it.
        plan.warnings.push(
            "port 587 already listens on every IPv4 address through sendmail's default MSA \
             (Port=587, Name=MSA, M=E, which m4 adds unless FEATURE(`no_default_msa') is \
             used), but it does not require AUTH; I left it as it is: to require AUTH there, \
             add FEATURE(`no_default_msa')dnl and DAEMON_OPTIONS(`Port=submission, Name=MSA, \
             M=Ea')dnl by hand"
                .to_string(),
        );
        return Ok(());
    }
    // A commented-out submission listener (Red Hat's `dnl DAEMON_OPTIONS(`Port=submission,
    // Name=MSA, M=Ea')dnl`), IPv4, on every address or loopback.
    let candidate = m.listeners.iter().find(|l| {
        !l.active
            && l.tcp()
            && !l.inet6()
            && l.port() == Port::Num(587)
            && (l.bind() == Bind::Any || l.loopback())
            && !l.get('m').is_some_and(|x| x.contains('s'))
            && l.site
                .as_ref()
                .is_ok_and(|s| inert_tail(&m.content(l.line)[s.call_end..]))
    });
    let after_cf = |line: usize| m.cf_line.is_none_or(|cf| line > cf);
    let candidate = candidate.filter(|l| after_cf(l.line));
    // Where the listener goes: the commented-out one's line, or after the last active
    // listener, or before the first MAILER.
    let last = active.iter().map(|l| l.line).max();
    let before = match (candidate, last, m.mailer_line) {
        (Some(c), _, _) => c.line,
        (None, Some(l), _) => l + 1,
        (None, None, Some(ml)) => ml,
        (None, None, None) => m.doc.lines.len(),
    };
    if before >= m.doc.lines.len() {
        return Err(m.err(
            m.doc.lines.len().saturating_sub(1),
            "I would add the submission listener after the last line of the file, which has \
             no MAILER line to put it before; add DAEMON_OPTIONS(`Port=submission, Name=MSA, \
             M=Ea')dnl by hand, or use --no-submission (answers file: submission: false)",
        ));
    }
    if active.is_empty() {
        // The first active DAEMON_OPTIONS replaces sendmail's default port-25 listener
        // (proto.m4 writes `O DaemonPortOptions=Name=MTA` only when there is none): write it
        // out, or port 25 would stop listening.
        if m.doc.body.contains("_NETINET6_") {
            return Err(m.err(
                before,
                "no DAEMON_OPTIONS is active, so sendmail listens on port 25 through its \
                 defaults, which this file changes with _NETINET6_; any DAEMON_OPTIONS I add \
                 replaces those defaults and I cannot tell which port-25 listeners to write \
                 for them; add the listeners by hand, or use --no-submission (answers file: \
                 submission: false)",
            ));
        }
        plan.changes.push(Change::Insert {
            before,
            new: "DAEMON_OPTIONS(`Port=smtp, Name=MTA')dnl".to_string(),
            why: "submission (issue 11): no DAEMON_OPTIONS is active, and the first one \
                  replaces sendmail's default port-25 listener, so that listener is written \
                  out (port 25 on every address, as before)"
                .to_string(),
        });
    }
    if let Some(l) = candidate {
        let site = l.site.clone().map_err(|r| m.err(l.line, r))?;
        let content = m.content(l.line);
        let body = rewrite(content, l, l.loopback());
        let new = super::listeners::activated(content, &site, &body);
        plan.changes.push(Change::Replace {
            line: l.line,
            new,
            why: format!(
                "submission (issue 11): nothing listens on port 587, so this commented-out \
                 submission listener is activated{}{}; port 25 stays for mail from other servers",
                if l.loopback() {
                    " without its loopback Addr"
                } else {
                    ""
                },
                mods_note(l)
            ),
        });
        return Ok(());
    }
    plan.changes.push(Change::Insert {
        before,
        new: MSA_LINE.to_string(),
        why: "submission (issue 11): nothing listens on port 587, so a submission listener on \
              every address is added, M=Ea (no ETRN, AUTH required); port 25 stays for mail \
              from other servers"
            .to_string(),
    });
    Ok(())
}
