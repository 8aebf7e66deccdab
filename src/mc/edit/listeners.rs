//! HOWTO step 4 planned on the model: which DAEMON_OPTIONS listener opens port 25 to the
//! network, and which listeners would then collide on the same socket.

use super::*;

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
pub(super) fn plan_listeners(
    m: &Model,
    choice: &ListenerChoice,
    plan: &mut Plan,
) -> Result<(), McError> {
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
pub(super) fn collision_note(pick: &ListenerLine, o: &ListenerLine) -> String {
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

/// How a listener to open is picked among `cands` (the loopback listeners of one port): the one
/// named `want`, else the only IPv4 one, else the only IPv6 one. The port-25 and the port-587
/// edits share the rule and word their refusals themselves.
pub(super) enum Pick<'a> {
    One(&'a ListenerLine),
    /// `want` names none of them.
    NotNamed,
    /// `want` names several of them.
    NamedTwice(Vec<&'a ListenerLine>),
    /// No name given and more than one of a family: those (`v6`: they are IPv6).
    Ambiguous {
        same: Vec<&'a ListenerLine>,
        v6: bool,
    },
}

pub(super) fn pick<'a>(want: Option<&str>, cands: &[&'a ListenerLine]) -> Pick<'a> {
    if let Some(want) = want {
        let named: Vec<&ListenerLine> = cands
            .iter()
            .copied()
            .filter(|l| l.get('n').is_some_and(|n| n == want))
            .collect();
        return match named.as_slice() {
            [one] => Pick::One(one),
            [] => Pick::NotNamed,
            _ => Pick::NamedTwice(named),
        };
    }
    let v4: Vec<&ListenerLine> = cands
        .iter()
        .copied()
        .filter(|l| l.family() == Family::Inet)
        .collect();
    let v6: Vec<&ListenerLine> = cands.iter().copied().filter(|l| l.inet6()).collect();
    match (v4.as_slice(), v6.as_slice()) {
        ([one], _) => Pick::One(one),
        ([], [one]) => Pick::One(one),
        _ if v4.len() > 1 => Pick::Ambiguous {
            same: v4,
            v6: false,
        },
        _ => Pick::Ambiguous { same: v6, v6: true },
    }
}

/// The loopback port-25 listener to open: the one named by `--open-listener`, else the only
/// IPv4 one, else the only IPv6 one; refuses when that does not decide it.
pub(super) fn choose_listener<'a>(
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
    let want = open.unwrap_or_default();
    match pick(open, port25) {
        Pick::One(one) => Ok(one),
        Pick::NotNamed => Err(m.err(
            port25[0].line,
            format!(
                "--open-listener {want} (answers: open_listener): no active port-25 \
                 DAEMON_OPTIONS has Name={want}; the port-25 listeners are: {}",
                list(port25)
            ),
        )),
        Pick::NamedTwice(named) => Err(m.err(
            named[1].line,
            format!(
                "--open-listener {want} (answers: open_listener): Name={want} is on more \
                 than one port-25 listener ({}); give them different names",
                list(&named)
            ),
        )),
        Pick::Ambiguous { same, v6 } => Err(m.err(
            same[1].line,
            format!(
                "port 25 listens on loopback only, on several IPv{} listeners ({}): opening \
                 one of them to every address would collide with the others (\"Address \
                 already in use\"), and I cannot tell which one you want to carry network \
                 mail; name it with --open-listener NAME (answers file: open_listener: \
                 NAME): I remove its Addr and comment out the loopback port-25 listeners \
                 that would collide with it",
                if v6 { 6 } else { 4 },
                list(&same)
            ),
        )),
    }
}

/// Warns about active listeners that already cannot be bound together (the edit leaves them).
pub(super) fn warn_collisions(active: &[&ListenerLine], plan: &mut Plan) {
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
pub(super) fn plan_missing_port25(
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
        let new = activated(content, &site, &body);
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

/// A commented-out listener line switched on: its indentation, the DAEMON_OPTIONS call of
/// `body` (the line's `content` with its fields edited) without the leading `dnl`, and the tail
/// after the call kept as a `dnl` comment.
pub(super) fn activated(content: &str, site: &crate::mc::model::Site, body: &str) -> String {
    // The field ranges are unchanged up to the call's end when Addr is removed after it,
    // so cut the call out of the edited text by the length difference.
    let call_end = site.call_end + body.len() - content.len();
    format!(
        "{}{}{}",
        &content[..site.indent],
        &body[site.call_start..call_end],
        dnl_tail(&body[call_end..])
    )
}

/// The line with every `Addr=` field of the listener removed, with the comma that joined it.
pub(super) fn without_addr(content: &str, l: &ListenerLine) -> String {
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
