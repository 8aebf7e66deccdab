//! Everything the edits and the report need to know about one sendmail.mc, read once: the
//! lines, the m4 scan, which lines m4 reads as macros, the AUTH lines, the listeners, the
//! FEATUREs, the includes, and the problems that make an edit unsafe.

use super::lex::{self, in_spans, strictly_inside, unquote_once, Call, Issue, Scan};
use super::shape::{parse_call, LineCall};
use super::text::{indent_len, is_name_char, Doc};
use super::{McError, RISKY_FEATURES};

mod addr;
mod scan;
pub(crate) use addr::*;
use scan::*;

/// The three settings of HOWTO step 3, in the order the HOWTO lists them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Setting {
    Options,
    Trust,
    Mechanisms,
}

pub(crate) const SETTINGS: [Setting; 3] = [Setting::Options, Setting::Trust, Setting::Mechanisms];

impl Setting {
    pub fn label(self) -> &'static str {
        match self {
            Setting::Options => "confAUTH_OPTIONS",
            Setting::Trust => "TRUST_AUTH_MECH",
            Setting::Mechanisms => "confAUTH_MECHANISMS",
        }
    }

    /// The macro call as the HOWTO writes it, without the trailing `dnl`.
    pub fn canonical(self, value: &str) -> String {
        match self {
            Setting::Trust => format!("TRUST_AUTH_MECH(`{value}')"),
            _ => format!("define(`{}', `{value}')", self.label()),
        }
    }

    /// Which setting a call sets, and the index of the argument holding the value.
    fn of_call(name: &str, first_arg: &str) -> Option<(Setting, usize)> {
        match (name, first_arg.trim()) {
            ("TRUST_AUTH_MECH", _) => Some((Setting::Trust, 0)),
            ("define", "confAUTH_OPTIONS") => Some((Setting::Options, 1)),
            ("define", "confAUTH_MECHANISMS") => Some((Setting::Mechanisms, 1)),
            _ => None,
        }
    }
}

/// Where on its line a call sits, in byte offsets of the line's content.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Site {
    pub indent: usize,
    pub call_start: usize,
    pub call_end: usize,
}

#[derive(Debug, Clone)]
pub(crate) struct Candidate {
    pub line: usize,
    pub active: bool,
    pub value: String,
    /// Where to rewrite, or why this line cannot be rewritten safely.
    pub site: Result<Site, String>,
}

#[derive(Debug, Clone)]
pub(crate) struct Field {
    pub key: String,
    pub value: String,
    /// Range of `Key=Value` in the line's content.
    pub start: usize,
    pub end: usize,
}

#[derive(Debug, Clone)]
pub(crate) struct ListenerLine {
    pub line: usize,
    pub active: bool,
    pub fields: Vec<Field>,
    /// Range of the option string inside the quotes, in the line's content.
    pub inner: (usize, usize),
    pub site: Result<Site, String>,
}

/// The `Key=Value` fields of a listener's option string `inner` (a range of `content`).
pub(crate) fn fields_of(content: &str, inner: (usize, usize)) -> Vec<Field> {
    fields(content, inner)
}

impl ListenerLine {
    pub fn get(&self, first: char) -> Option<&str> {
        // sendmail reads only the first letter of each key (daemon.c), so `M=` is `Modifiers=`.
        self.fields
            .iter()
            .rev()
            .find(|f| f.key.chars().next().map(|c| c.to_ascii_lowercase()) == Some(first))
            .map(|f| f.value.as_str())
    }

    /// Port 25: `Port=smtp`, `Port=25`, or no Port at all (sendmail's default is smtp).
    pub fn port25(&self) -> bool {
        self.port() == Port::Num(25)
    }

    /// The port as sendmail reads it (daemon.c): a value starting with a digit is a number
    /// (`atoi`), anything else a service name; no Port at all is smtp.
    pub fn port(&self) -> Port {
        match self.get('p') {
            None => Port::Num(25),
            Some(p) => port_of(p),
        }
    }

    /// Listens on loopback only: every address it can bind to is a loopback address.
    pub fn loopback(&self) -> bool {
        match self.bind() {
            Bind::Ip(ip) => ip_is_loopback(ip),
            Bind::Name(n) => LOOPBACK_NAMES.iter().any(|l| n.eq_ignore_ascii_case(l)),
            Bind::Any | Bind::Wrong(_) => false,
        }
    }

    pub fn inet6(&self) -> bool {
        self.family() == Family::Inet6
    }

    /// The socket family: `Family=inet` (also the default), `inet6`, or anything else
    /// (`local`/`unix` sockets, numbers), which never takes a TCP port.
    pub fn family(&self) -> Family {
        match self.get('f') {
            None => Family::Inet,
            Some(f) if f.eq_ignore_ascii_case("inet") => Family::Inet,
            Some(f) if f.eq_ignore_ascii_case("inet6") => Family::Inet6,
            Some(_) => Family::Other,
        }
    }

    /// A TCP listener (inet or inet6).
    pub fn tcp(&self) -> bool {
        self.family() != Family::Other
    }

    /// What the socket binds to, read the way sendmail reads `Addr=` for the family.
    pub fn bind(&self) -> Bind {
        let Some(addr) = self.get('a') else {
            return Bind::Any;
        };
        let a = addr.trim();
        match self.family() {
            Family::Inet6 => {
                let bare = if a.len() > 5 && a[..5].eq_ignore_ascii_case("ipv6:") {
                    &a[5..]
                } else {
                    a
                };
                match bare.parse::<std::net::Ipv6Addr>() {
                    Ok(ip) if ip.is_unspecified() => Bind::Any,
                    Ok(ip) => Bind::Ip(std::net::IpAddr::V6(ip)),
                    Err(_)
                        if a.contains(':')
                            || a.contains('[')
                            || a.is_empty()
                            || a.bytes().all(|c| c.is_ascii_digit() || c == b'.') =>
                    {
                        Bind::Wrong(a.to_string())
                    }
                    Err(_) => Bind::Name(a.to_string()),
                }
            }
            _ => match inet_aton(a) {
                Some(ip) if ip.is_unspecified() => Bind::Any,
                Some(ip) => Bind::Ip(std::net::IpAddr::V4(ip)),
                None if a.contains(':')
                    || a.contains('[')
                    || a.is_empty()
                    || a.starts_with(|c: char| c.is_ascii_digit())
                        && a.bytes().all(|c| c.is_ascii_digit() || c == b'.') =>
                {
                    Bind::Wrong(a.to_string())
                }
                None => Bind::Name(a.to_string()),
            },
        }
    }

    /// `Modifiers=O`: sendmail carries on without this socket when it cannot be opened.
    pub fn optional(&self) -> bool {
        self.get('m').is_some_and(|m| m.contains('O'))
    }
}

impl<'a> Model<'a> {
    pub fn new(text: &'a str) -> Self {
        let doc = Doc::new(text);
        let mut scan = lex::scan(doc.body, true);
        if scan.cf_include.is_none() {
            // No include of cf.m4: the file is run after it (`m4 cf.m4 file.mc`, FreeBSD),
            // so cfhead.m4's changecom() is already in force on the first line.
            scan = lex::scan(doc.body, false);
        }
        let n = doc.lines.len();
        let top: Vec<bool> = doc
            .lines
            .iter()
            .map(|l| !strictly_inside(&scan.opaque, l.start))
            .collect();
        let mut dnl_line = vec![false; n];
        for &p in &scan.dnl_heads {
            let l = doc.line_of(p);
            if top[l] && doc.body[doc.lines[l].start..p].trim().is_empty() {
                dnl_line[l] = true;
            }
        }
        let mut m = Model {
            doc,
            scan,
            top,
            dnl_line,
            problems: Vec::new(),
            auth: [Vec::new(), Vec::new(), Vec::new()],
            listeners: Vec::new(),
            features: Vec::new(),
            includes: Vec::new(),
            mailer_line: None,
            cf_line: None,
            notes: Vec::new(),
        };
        m.read_calls();
        m.read_commented();
        m.find_problems();
        m.problems.sort_by_key(|p| p.line);
        m.problems
            .dedup_by(|a, b| a.line == b.line && a.reason == b.reason);
        m
    }

    pub fn content(&self, line: usize) -> &'a str {
        self.doc.content(line)
    }

    pub fn err(&self, line: usize, reason: impl Into<String>) -> McError {
        McError {
            line: line + 1,
            text: self.content(line).to_string(),
            reason: reason.into(),
            decided_by: vec![],
        }
    }

    fn arg(&self, c: &Call, k: usize) -> Option<String> {
        c.args
            .get(k)
            .map(|&(a, z)| unquote_once(&self.doc.body[a..z]))
    }

    /// Where a top-level call sits, when the call is alone at the start of one line.
    ///
    /// After the include of cf.m4, `#` is plain text to m4 (cfhead.m4 runs `changecom()`):
    /// `#DAEMON_OPTIONS(...)` or `  # FEATURE(...)` is expanded like the call without the `#`.
    /// Such a call starts its line too; the `#`s and blanks before it count as its indent, so
    /// an edit keeps them (and the `#` m4 copies into sendmail.cf), and [`Model::notes`] says
    /// that the line is active.
    fn active_site(&self, c: &Call) -> Result<(usize, Site, LineCall<'a>), String> {
        let l = self.doc.line_of(c.start);
        let line = self.doc.lines[l];
        let content = self.content(l);
        let hashes = hash_indent_len(content);
        let indent = if hashes > 0 && c.start == line.start + hashes {
            hashes
        } else {
            indent_len(content)
        };
        if c.start != line.start + indent {
            return Err(format!(
                "{}(...) does not start this line; I only change lines that hold one macro call",
                c.name
            ));
        }
        let last = self.doc.line_of(c.end.saturating_sub(1));
        if last != l {
            return Err(format!(
                "{}(...) does not end on this line: its quotes or parentheses do not balance \
                 here, so m4 reads on to line {}; I only change calls that fit on one line",
                c.name,
                last + 1
            ));
        }
        match parse_call(&content[indent..]) {
            Some(lc) if line.start + indent + lc.end == c.end => Ok((
                l,
                Site {
                    indent,
                    call_start: indent,
                    call_end: indent + lc.end,
                },
                lc,
            )),
            _ => Err(format!(
                "I cannot read {}(...) on this line on its own (odd quoting)",
                c.name
            )),
        }
    }

    fn read_calls(&mut self) {
        let calls = std::mem::take(&mut self.scan.calls);
        let after_cf = self
            .scan
            .cf_include
            .map(|k| self.doc.line_of(calls[k].start));
        self.cf_line = after_cf;
        for c in &calls {
            let first = self.arg(c, 0).unwrap_or_default();
            let line = self.doc.line_of(c.start);
            self.note_hash(c, line, &first);
            if let Some((setting, k)) = Setting::of_call(&c.name, &first) {
                let value = self.arg(c, k).unwrap_or_default();
                let site = self.active_site(c).map(|(_, s, _)| s);
                self.auth[setting as usize].push(Candidate {
                    line,
                    active: true,
                    value: value.trim().to_string(),
                    site,
                });
            }
            match c.name.as_str() {
                "DAEMON_OPTIONS" => self.read_active_listener(c, line),
                "FEATURE" => self.features.push(FeatureLine {
                    line,
                    feature: first.trim().to_string(),
                    site: self.active_site(c).map(|(_, s, _)| s),
                }),
                "include" | "sinclude" => self.includes.push((line, first.trim().to_string())),
                "MAILER" => self.note_mailer(c.start, after_cf),
                _ => {}
            }
        }
        let words = std::mem::take(&mut self.scan.words);
        for w in &words {
            if w.name == "MAILER_DEFINITIONS" {
                self.note_mailer(w.start, after_cf);
            }
        }
        self.scan.words = words;
        self.scan.calls = calls;
    }

    /// A call the wizard cares about on a line that starts with `#` (see [`Model::notes`]).
    fn note_hash(&mut self, c: &Call, line: usize, first: &str) {
        let relevant = matches!(c.name.as_str(), "DAEMON_OPTIONS" | "FEATURE")
            || Setting::of_call(&c.name, first).is_some();
        let lead = self.doc.lines[line].start + hash_indent_len(self.content(line));
        if !relevant || c.start != lead || lead == self.doc.lines[line].start {
            return;
        }
        let what = if c.name == "FEATURE" {
            format!("FEATURE(`{}')", first.trim())
        } else if c.name == "define" {
            format!("define(`{}', ...)", first.trim())
        } else {
            format!("{}(...)", c.name)
        };
        let e = self.err(
            line,
            format!(
                "this line starts with #, but # does not comment anything out here: after the \
                 include of cf.m4 (whose cfhead.m4 runs changecom()) m4 expands {what}, so \
                 sendmail uses it; to disable a line of sendmail.mc, put `dnl ` in front of it"
            ),
        );
        self.notes.push((c.name.clone(), e));
    }

    fn note_mailer(&mut self, pos: usize, after_cf: Option<usize>) {
        let l = self.doc.line_of(pos);
        let start = self.doc.lines[l].start;
        // `#MAILER(...)` after the include of cf.m4 is a MAILER call too (see active_site).
        let hashes = hash_indent_len(self.content(l));
        let at_start = self.top[l]
            && (self.doc.body[start..pos].trim().is_empty()
                || (hashes > 0 && pos == start + hashes));
        let after_include = !matches!(after_cf, Some(cf) if l <= cf);
        let earlier = !matches!(self.mailer_line, Some(m) if m <= l);
        if at_start && after_include && earlier {
            self.mailer_line = Some(l);
        }
    }

    fn read_active_listener(&mut self, c: &Call, line: usize) {
        let site = self.active_site(c);
        let parsed = site.and_then(|(l, site, lc)| {
            let content = self.content(l);
            let inner = listener_inner(&lc)?;
            let off = site.call_start;
            Ok((site, (inner.0 + off, inner.1 + off), content))
        });
        match parsed {
            Ok((site, inner, content)) => self.listeners.push(ListenerLine {
                line,
                active: true,
                fields: fields(content, inner),
                inner,
                site: Ok(site),
            }),
            Err(reason) => {
                let e = self.err(
                    line,
                    format!("I cannot read this DAEMON_OPTIONS line: {reason}"),
                );
                self.problems.push(e);
            }
        }
    }

    /// Lines that start with `dnl ` followed by one of the calls we care about.
    fn read_commented(&mut self) {
        for l in 0..self.doc.lines.len() {
            if !self.dnl_line[l] {
                continue;
            }
            let content = self.content(l);
            let indent = indent_len(content);
            if !content[indent..].starts_with("dnl") {
                continue; // other blanks (a vertical tab, a lone CR) before dnl: leave alone
            }
            let after = &content[indent + 3..];
            let rest = after.trim_start_matches([' ', '\t']);
            if rest.len() == after.len() {
                continue; // `dnl#`, or `dnl` alone: prose, not a disabled macro
            }
            let call_start = content.len() - rest.len();
            let parsed = parse_call(rest);
            let site = parsed.as_ref().map(|lc| Site {
                indent,
                call_start,
                call_end: call_start + lc.end,
            });
            match (&parsed, site) {
                (Some(lc), Some(site)) => {
                    let value = |k: usize| {
                        lc.args
                            .get(k)
                            .map(|a| unquote_once(&rest[a.start..a.end]).trim().to_string())
                    };
                    let first = value(0).unwrap_or_default();
                    if let Some((setting, k)) = Setting::of_call(lc.name, &first) {
                        let tail = &content[site.call_end..];
                        let site = if !super::shape::inert_tail(tail) {
                            Err("the text after the macro on this commented-out line would \
                                 also become active"
                                .to_string())
                        } else if setting == Setting::Trust && self.cf_line.is_some_and(|cf| l < cf)
                        {
                            Err(
                                "this commented-out TRUST_AUTH_MECH comes before the include \
                                 of cf.m4, where m4 does not know TRUST_AUTH_MECH yet"
                                    .to_string(),
                            )
                        } else {
                            Ok(site)
                        };
                        self.auth[setting as usize].push(Candidate {
                            line: l,
                            active: false,
                            value: value(k).unwrap_or_default(),
                            site,
                        });
                    }
                    if lc.name == "DAEMON_OPTIONS" {
                        if let Ok(inner) = listener_inner(lc) {
                            let inner = (inner.0 + call_start, inner.1 + call_start);
                            self.listeners.push(ListenerLine {
                                line: l,
                                active: false,
                                fields: fields(content, inner),
                                inner,
                                site: Ok(site),
                            });
                        }
                    }
                }
                _ => {
                    let setting = if rest.starts_with("TRUST_AUTH_MECH(") {
                        Some(Setting::Trust)
                    } else if rest.starts_with("define(") && has_word(rest, "confAUTH_OPTIONS") {
                        Some(Setting::Options)
                    } else if rest.starts_with("define(") && has_word(rest, "confAUTH_MECHANISMS") {
                        Some(Setting::Mechanisms)
                    } else {
                        None
                    };
                    if let Some(setting) = setting {
                        self.auth[setting as usize].push(Candidate {
                            line: l,
                            active: false,
                            value: String::new(),
                            site: Err("the quotes or parentheses of this commented-out line do \
                                       not balance, so removing its dnl would break m4"
                                .to_string()),
                        });
                    }
                }
            }
        }
    }

    fn find_problems(&mut self) {
        let body = self.doc.body;
        let issues = std::mem::take(&mut self.scan.issues);
        for (pos, issue) in &issues {
            let l = self.doc.line_of(*pos);
            let reason = match issue {
                Issue::UnclosedQuote => "the ` quote opened on this line is never closed by a '; \
                     m4 stops with \"end of file in string\" and leaves a truncated sendmail.cf"
                    .to_string(),
                Issue::UnclosedCall(name) => format!(
                    "the ( after {name} on this line is never closed; m4 reads the rest of the \
                     file as its arguments (and stops with \"end of file in argument list\")"
                ),
                Issue::StrayCloseQuote(name) => format!(
                    "the arguments of {name}(...) contain a ' that closes no quote: m4 opens \
                     quotes only with a backquote (`), so it takes this ' as a plain character \
                     and the line does not do what it says; write `name' instead of 'name'"
                ),
                Issue::ChangesSyntax(name) => format!(
                    "this file uses {name}, which changes how m4 reads quotes, comments or \
                     words; I only understand sendmail.mc files with m4's standard quotes"
                ),
                Issue::MultiLineQuote => {
                    let opaque = &self.scan.opaque;
                    let k = opaque.partition_point(|s| s.0 < *pos);
                    let end = opaque.get(k).filter(|s| s.0 == *pos).map_or(*pos, |s| s.1);
                    format!(
                        "a quoted string starts on this line, outside any macro call, and runs \
                         to line {}; m4 copies those lines into sendmail.cf as plain text \
                         instead of reading them as macros (a stray ` is the usual cause)",
                        self.doc.line_of(end.saturating_sub(1)) + 1
                    )
                }
            };
            let e = self.err(l, reason);
            self.problems.push(e);
        }
        self.scan.issues = issues;

        // `dnlTRUST_AUTH_MECH(`, `dnldefine(` (both in the HOWTO's own step 3).
        let mut typos: Vec<(usize, String)> = self
            .scan
            .calls
            .iter()
            .map(|c| (c.start, c.name.clone()))
            .chain(self.scan.words.iter().map(|w| (w.start, w.name.clone())))
            .filter(|(_, n)| n.len() > 3 && n.starts_with("dnl"))
            .collect();
        typos.sort();
        for (pos, word) in typos {
            let l = self.doc.line_of(pos);
            let e = self.err(
                l,
                format!(
                    "m4 reads `{word}` as one unknown word, not as dnl followed by {}: the line is \
                     neither a comment nor an active macro, and m4 copies it into sendmail.cf, \
                     which sendmail rejects; put a space after dnl to keep it commented out, or \
                     remove dnl to activate it",
                    &word[3..]
                ),
            );
            self.problems.push(e);
        }

        // Text m4 reads (everything but comments): placeholders, HTML escapes, smart quotes.
        let defined: Vec<String> = self
            .scan
            .calls
            .iter()
            .filter(|c| c.name == "define")
            .filter_map(|c| self.arg(c, 0))
            .map(|s| s.trim().to_string())
            .collect();
        let mut found: Vec<(usize, String)> = Vec::new();
        let mut from = 0;
        let spans = self.scan.comments.clone();
        for &(cs, ce) in spans
            .iter()
            .chain(std::iter::once(&(body.len(), body.len())))
        {
            if cs > from {
                scan_text(body, from, cs, &defined, &mut found);
            }
            from = from.max(ce);
        }
        for (pos, reason) in found {
            let e = self.err(self.doc.line_of(pos), reason);
            self.problems.push(e);
        }

        // The words the edits depend on, where m4 reads them but not as the head of a
        // top-level call: inside ifdef(...), a quoted string, or after a typo.
        // Accounted for: the name of any call, the name defined by define(`confAUTH_...'),
        // the feature named by FEATURE(...), and calls already reported as dnl typos.
        let mut heads: Vec<(usize, usize)> = Vec::new();
        for c in &self.scan.calls {
            if c.name.len() > 3 && c.name.starts_with("dnl") {
                heads.push((c.start, c.end)); // reported above as a typo
                continue;
            }
            heads.push((c.start, c.start + c.name.len()));
            let first = self.arg(c, 0).unwrap_or_default();
            let takes_first = match c.name.as_str() {
                "define" => Setting::of_call("define", &first).is_some(),
                "FEATURE" => true,
                _ => false,
            };
            if let (true, Some(&a)) = (takes_first, c.args.first()) {
                heads.push(a);
            }
        }
        let mut words: Vec<&str> = vec![
            "DAEMON_OPTIONS",
            "TRUST_AUTH_MECH",
            "confAUTH_OPTIONS",
            "confAUTH_MECHANISMS",
        ];
        words.extend(RISKY_FEATURES.iter().copied());
        for word in words {
            for (pos, _) in body.match_indices(word) {
                let before_ok = pos == 0 || !is_name_char(body.as_bytes()[pos - 1]);
                let after = pos + word.len();
                let after_ok = after >= body.len() || !is_name_char(body.as_bytes()[after]);
                if !before_ok || !after_ok || in_spans(&self.scan.comments, pos) {
                    continue;
                }
                if in_spans(&heads, pos) {
                    continue;
                }
                let e = self.err(
                    self.doc.line_of(pos),
                    format!(
                        "{word} appears here other than in its own macro call (inside another \
                         macro, a quoted string or an undefine), so I cannot tell whether \
                         sendmail will use it; put it on a line of its own"
                    ),
                );
                self.problems.push(e);
            }
        }
    }
}
