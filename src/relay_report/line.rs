//! What one log line says, for the lines the relay report cares about.
//!
//! The texts are sendmail's and saslauthd's own (DIAGNOSTICS.md rows 9–14, and the real Debian 12
//! log in the shared corpus):
//!
//! ```text
//! sm-mta[11377]: 6AQE8t9k011377: ruleset=check_rcpt, arg1=<someone@example.org>, relay=client.example.test [127.0.0.2], reject=550 5.7.1 <someone@example.org>... Relaying denied. Proper authentication required.
//! sm-mta[11377]: 6AQE8t9k011377: from=<smtptest@localhost>, size=0, class=0, nrcpts=0, proto=ESMTP, daemon=MTA-v4, relay=client.example.test [127.0.0.2]
//! sm-mta[11367]: AUTH=server, relay=client.example.test [127.0.0.2], authid=smtptest, mech=PLAIN, bits=0
//! sm-mta[1]: AUTH failure (PLAIN): authentication failure (-13) SASL(-13): authentication failure: Password verification failed, user=U, relay=client.example.test [127.0.0.2]
//! saslauthd[1]: auth failure: [user=U] [service=smtp] [realm=] [mech=pam] [reason=PAM auth error]
//! ```
//!
//! [`Classifier::classify`] is a pure function of the line's bytes. The scanner's fast path only
//! decides which lines to hand to it; every line it acts on contains one of [`Classifier::NEEDLES`]
//! or [`FROM`], which is what lets the fast path skip all other lines without changing the result.
use memchr::memmem::Finder;

/// Where the connection came from: sendmail's `relay=` field. `S` is a byte slice of the line,
/// or a [`Span`] of it (to pass events between threads without the bytes).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Relay<S> {
    /// The host name as sendmail logged it (reverse DNS, or `user@host` with ident); absent in
    /// `relay=[1.2.3.4]`.
    pub host: Option<S>,
    /// The address inside the brackets, without sendmail's `IPv6:` tag.
    pub ip: Option<S>,
    /// `(may be forged)`: the reverse and forward DNS disagree.
    pub forged: bool,
}

impl<'a> Relay<&'a [u8]> {
    /// The key a client is tracked by: its address, or its name when sendmail logged none.
    pub(crate) fn key(&self) -> &'a [u8] {
        self.ip.or(self.host).unwrap_or(b"unknown")
    }
}

impl<S> Relay<S> {
    #[inline]
    fn map<T>(self, f: &mut impl FnMut(S) -> T) -> Relay<T> {
        Relay {
            host: self.host.map(&mut *f),
            ip: self.ip.map(f),
            forged: self.forged,
        }
    }
}

/// Where a field lies in a buffer: `start..end`.
pub(crate) type Span = (usize, usize);

/// The span of `part` in `whole`; `part` must be a subslice of it.
#[inline]
pub(crate) fn span_of(part: &[u8], whole: &[u8]) -> Span {
    let start = (part.as_ptr() as usize).wrapping_sub(whole.as_ptr() as usize);
    assert!(
        start <= whole.len() && part.len() <= whole.len() - start,
        "not a subslice"
    );
    (start, start + part.len())
}

pub(crate) type Event<'a> = EventOf<&'a [u8]>;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum EventOf<S> {
    /// `reject=550 5.7.1 ... Relaying denied`: this server refused to relay.
    RelayDenied {
        qid: Option<S>,
        /// `ruleset=check_mail`: then `arg1` is the sender; otherwise (check_rcpt) the recipient.
        check_mail: bool,
        arg1: Option<S>,
        relay: Relay<S>,
        /// The text ends in "Proper authentication required.": the running cf has
        /// TRUST_AUTH_MECH (DIAGNOSTICS row 13); without it, row 14.
        auth_required: bool,
    },
    /// sendmail's `AUTH failure (MECH): reason, user=U, relay=...`.
    AuthFailed {
        reason: S,
        user: Option<S>,
        relay: Relay<S>,
    },
    /// `AUTH=server, relay=..., authid=U, mech=M`: a successful login.
    AuthOk { relay: Relay<S>, authid: Option<S> },
    /// saslauthd's `auth failure: [user=U] [service=smtp] ...` (no client address in it).
    SaslauthdFailed { user: S },
    /// `QID: from=<sender>, ...`: the envelope sender of a transaction.
    From { qid: S, sender: S },
}

impl<S> EventOf<S> {
    /// The same event with every field converted by `f`.
    #[inline]
    pub(crate) fn map<T>(self, mut f: impl FnMut(S) -> T) -> EventOf<T> {
        match self {
            EventOf::RelayDenied {
                qid,
                check_mail,
                arg1,
                relay,
                auth_required,
            } => EventOf::RelayDenied {
                qid: qid.map(&mut f),
                check_mail,
                arg1: arg1.map(&mut f),
                relay: relay.map(&mut f),
                auth_required,
            },
            EventOf::AuthFailed {
                reason,
                user,
                relay,
            } => EventOf::AuthFailed {
                reason: f(reason),
                user: user.map(&mut f),
                relay: relay.map(&mut f),
            },
            EventOf::AuthOk { relay, authid } => EventOf::AuthOk {
                relay: relay.map(&mut f),
                authid: authid.map(&mut f),
            },
            EventOf::SaslauthdFailed { user } => EventOf::SaslauthdFailed { user: f(user) },
            EventOf::From { qid, sender } => EventOf::From {
                qid: f(qid),
                sender: f(sender),
            },
        }
    }
}

/// The needle for envelope-sender lines.
pub(crate) const FROM: &[u8] = b": from=<";

/// Prebuilt searchers for the texts of the lines above.
#[derive(Clone)]
pub(crate) struct Classifier {
    needles: Vec<Finder<'static>>,
    reject: Finder<'static>,
    from: Finder<'static>,
    relay: Finder<'static>,
    authid: Finder<'static>,
}

impl Classifier {
    /// Every line the classifier turns into an event other than [`EventOf::From`] contains one of
    /// these. They are rare in a mail log, so searching a whole chunk for them is fast.
    /// `AUT` rather than `AUTH` (both trigger texts, `AUTH failure (` and `AUTH=server, `, begin
    /// with it, and it is no more frequent): the shortest needle sets the fingerprint length of
    /// aho-corasick's Teddy searcher, and 3 bytes instead of 4 made the whole quiet-log scan
    /// 15-20% cheaper on one core (1 GiB: 0.63 -> 0.51 s CPU; `AU` made it 1.09 s).
    pub(crate) const NEEDLES: [&'static [u8]; 3] = [b"Relaying denied", b"AUT", b"auth failure"];

    /// The prescan searches for `AUT` as `UT` (and checks for the `A` before each hit): the
    /// shortest text searched for sets Teddy's fingerprint length, and a 2-byte fingerprint
    /// made the search 15-20% cheaper (64 KiB chunks of the benchmark logs: about 100 -> 80 ms
    /// per GiB). Not `AU`: sendmail's queue ids start with the date in base 60, so on the 30th
    /// of November every id holds `AU` (that search took twice as long on such a log); `UT`
    /// can appear in an id only as minute 30, second 29 or in its sequence part, about one id in
    /// 3,600.
    pub(crate) const NEEDLE_SKIP: [usize; 3] = [0, 1, 0];

    pub(crate) fn new() -> Classifier {
        Classifier {
            needles: Self::NEEDLES.iter().map(Finder::new).collect(),
            reject: Finder::new(b"reject="),
            from: Finder::new(FROM),
            relay: Finder::new(b", relay="),
            authid: Finder::new(b", authid="),
        }
    }

    /// What `line` (without its newline) reports, if it is one of the lines above.
    pub(crate) fn classify<'a>(&self, line: &'a [u8]) -> Option<Event<'a>> {
        let mut hits: Vec<usize> = self
            .needles
            .iter()
            .flat_map(|f| f.find_iter(line))
            .collect();
        hits.sort_unstable();
        self.classify_hits(line, &hits, 0)
    }

    /// [`Classifier::classify`], given where the needles start in `line`: `hits` are all of
    /// them, ascending, as offsets into a buffer in which `line` starts at `base`. The scanner's
    /// prescan has found them already; every trigger text below begins with a needle, so
    /// checking at those positions finds exactly what searching the whole line would.
    pub(crate) fn classify_hits<'a>(
        &self,
        line: &'a [u8],
        hits: &[usize],
        base: usize,
    ) -> Option<Event<'a>> {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let first = |text: &[u8]| {
            hits.iter()
                .map(|h| h - base)
                .find(|&h| line.get(h..).is_some_and(|l| l.starts_with(text)))
        };
        if let Some(p) = first(b"Relaying denied") {
            // Only `reject=` lines are this server refusing; "Relaying denied" in a `stat=` of
            // a delivery is another server refusing us, which is not what step 13 is about.
            let (event, relay_end) = self.relay_denied(line, p);
            // sendmail writes `reject=` right after the relay field: found there, the line
            // need not be searched for it (a search per refusal was 1.5% of the instructions
            // at 10% refusals).
            let reject_next = relay_end
                .and_then(|e| line.get(e..p))
                .is_some_and(|l| l.starts_with(b", reject="));
            return (reject_next || self.reject.find(&line[..p]).is_some()).then_some(event);
        }
        if let Some(p) = first(b"AUTH failure (") {
            return Some(self.auth_failed(line, p + b"AUTH failure (".len()));
        }
        if let Some(p) = first(b"AUTH=server, ") {
            let rest = &line[p..];
            return Some(EventOf::AuthOk {
                relay: self.relay_after(rest, false),
                authid: self
                    .authid
                    .find(rest)
                    .map(|p| up_to_comma(&rest[p + b", authid=".len()..])),
            });
        }
        if let Some(p) = first(b"auth failure: ") {
            let rest = &line[p..];
            let user = bracketed(rest, b"[user=")?;
            // saslauthd also serves IMAP and POP logins; only SMTP AUTH matters here.
            if bracketed(rest, b"[service=").is_some_and(|s| s != b"smtp") {
                return None;
            }
            return Some(EventOf::SaslauthdFailed { user });
        }
        if let Some(p) = self.from.find(line) {
            return Some(EventOf::From {
                qid: qid_ending_at(line, p)?,
                sender: sender_at(line, p)?,
            });
        }
        None
    }

    /// A refusal line; its "Relaying denied" starts at `denied`. Also where its relay field
    /// ends, if it has one.
    fn relay_denied<'a>(&self, line: &'a [u8], denied: usize) -> (Event<'a>, Option<usize>) {
        let rs = find_in_line(line, b"ruleset=");
        let qid = rs.and_then(|p| qid_ending_at(line, p.checked_sub(2)?));
        // `rest` starts with the line's first "ruleset=", if it has one.
        let rest_at = rs.unwrap_or(0);
        let rest = &line[rest_at..];
        // sendmail writes "ruleset=check_rcpt, arg1=" (or check_mail): then the ruleset's
        // value, where arg1 starts and where the relay field is are found with two compares and
        // a search from arg1 on (rather than three searches of `rest`: 4% of the instructions
        // at 10% refusals). What comes before arg1 holds no ", relay=", so the first one from
        // arg1 on is the first of `rest`, as below.
        const RCPT: &[u8] = b"ruleset=check_rcpt, arg1=";
        const MAIL: &[u8] = b"ruleset=check_mail, arg1=";
        let mail = rest.starts_with(MAIL);
        let (check_mail, arg1, relay_at) = if mail || rest.starts_with(RCPT) {
            let v = &rest[RCPT.len()..];
            let end = find_in_line(v, b", relay=");
            (
                mail,
                Some(strip_angle(&v[..end.unwrap_or(v.len())])),
                end.map(|e| RCPT.len() + e),
            )
        } else {
            let check_mail =
                rs.is_some_and(|p| up_to_comma(&line[p + b"ruleset=".len()..]) == b"check_mail");
            // The first ", relay=" of `rest` is the relay field, and usually where arg1 ends too.
            let relay_at = self.relay.find(rest);
            // arg1 runs up to ", relay=": an address may contain a comma, a relay field may not.
            let arg1 = find_in_line(rest, b", arg1=").map(|p| {
                let start = p + b", arg1=".len();
                let v = &rest[start..];
                let end = match relay_at {
                    Some(r) if r >= start => r - start,
                    _ => self.relay.find(v).unwrap_or(v.len()),
                };
                strip_angle(&v[..end])
            });
            (check_mail, arg1, relay_at)
        };
        const AUTH_REQUIRED: &[u8] = b"Proper authentication required";
        // sendmail writes it right after the "Relaying denied. " found; anywhere counts.
        let auth_required = line[denied..]
            .strip_prefix(b"Relaying denied. ")
            .is_some_and(|l| l.starts_with(AUTH_REQUIRED))
            || find_in_line(line, AUTH_REQUIRED).is_some();
        let (relay, relay_end) = match relay_at {
            Some(r) => {
                let start = r + b", relay=".len();
                let (relay, len) = parse_relay_len(&rest[start..]);
                (relay, Some(rest_at + start + len))
            }
            None => (Relay::default(), None),
        };
        let event = EventOf::RelayDenied {
            qid,
            check_mail,
            arg1,
            relay,
            auth_required,
        };
        (event, relay_end)
    }

    fn auth_failed<'a>(&self, line: &'a [u8], mech_start: usize) -> Event<'a> {
        let rest = &line[mech_start..];
        // "PLAIN): authentication failure (-13) SASL(-13): ..." → "authentication failure (-13)"
        // (Empty fields are still slices of the line: events are passed as spans of it.)
        let reason = find_in_line(rest, b"): ").map_or(&rest[..0], |p| {
            let r = &rest[p + 3..];
            let end = find_in_line(r, b" SASL(")
                .or_else(|| memchr::memchr(b',', r))
                .unwrap_or(r.len());
            &r[..end]
        });
        // The SASL message may itself say "user: x"; sendmail's own ", user=" is the last one
        // before the (last) ", relay=".
        let relay_at = memchr::memmem::rfind(rest, b", relay=").unwrap_or(rest.len());
        let user = memchr::memmem::rfind(&rest[..relay_at], b", user=")
            .map(|p| &rest[p + b", user=".len()..relay_at]);
        EventOf::AuthFailed {
            reason,
            user,
            relay: self.relay_after(rest, true),
        }
    }

    /// The `relay=` field of `s`: the first one, or the last (`last`) when free text precedes it.
    fn relay_after<'a>(&self, s: &'a [u8], last: bool) -> Relay<&'a [u8]> {
        let at = if last {
            memchr::memmem::rfind(s, b", relay=")
        } else {
            self.relay.find(s)
        };
        match at {
            Some(p) => parse_relay(&s[p + b", relay=".len()..]),
            None => Relay::default(),
        }
    }
}

/// `client.example.test [127.0.0.2]`, `[1.2.3.4]`, `host [1.2.3.4] (may be forged)`,
/// `host [IPv6:2001:db8::1]`, `localhost` — up to the next `, `.
pub(crate) fn parse_relay(s: &[u8]) -> Relay<&[u8]> {
    parse_relay_len(s).0
}

/// [`parse_relay`], and the length of the field (where its `, ` is, or `s.len()`).
fn parse_relay_len(s: &[u8]) -> (Relay<&[u8]>, usize) {
    // (memchr rather than a one-off memmem: this runs for every login line.)
    let end = memchr::memchr_iter(b',', s)
        .find(|&i| s.get(i + 1) == Some(&b' '))
        .unwrap_or(s.len());
    let mut v = &s[..end];
    let mut forged = false;
    if let Some(stripped) = v.strip_suffix(b" (may be forged)") {
        v = stripped;
        forged = true;
    }
    let (host, bracket) = match v.first() {
        Some(b'[') => (None, Some(v)),
        _ => match memchr::memchr(b' ', v) {
            Some(sp) => (Some(&v[..sp]), Some(&v[sp + 1..])),
            None => (Some(v), None),
        },
    };
    let ip = bracket
        .and_then(|b| b.strip_prefix(b"["))
        .and_then(|b| b.split(|&c| c == b']').next())
        .map(|ip| ip.strip_prefix(b"IPv6:").unwrap_or(ip))
        .filter(|ip| !ip.is_empty());
    let relay = Relay {
        host: host.filter(|h| !h.is_empty()),
        ip,
        forged,
    };
    (relay, end)
}

/// The queue id that ends at `end`, where `line[end..]` starts with `": "`: the token between
/// the previous space and `end`, if it looks like one (sendmail's are 14 alphanumerics; NOQID
/// lines have the program tag `sm-mta[123]` there instead).
pub(crate) fn qid_ending_at(line: &[u8], end: usize) -> Option<&[u8]> {
    if !line[end..].starts_with(b": ") {
        return None;
    }
    let start = memchr::memrchr(b' ', &line[..end]).map_or(0, |p| p + 1);
    let q = &line[start..end];
    ((6..=32).contains(&q.len()) && q.iter().all(u8::is_ascii_alphanumeric)).then_some(q)
}

/// The envelope sender of a `from=` line whose [`FROM`] starts at `p`: up to the `>`.
pub(crate) fn sender_at(line: &[u8], p: usize) -> Option<&[u8]> {
    let rest = &line[p + FROM.len()..];
    Some(&rest[..memchr::memchr(b'>', rest)?])
}

/// Where `needle` starts in `hay`, a line of a few hundred bytes: a `memchr` for its first
/// byte and a compare. `memmem::find` builds a searcher per call, which cost more than the
/// search (5% of the instructions of a report with 10% refusals, callgrind).
fn find_in_line(hay: &[u8], needle: &[u8]) -> Option<usize> {
    let (&first, rest) = needle.split_first()?;
    let mut at = 0;
    while let Some(p) = memchr::memchr(first, &hay[at..]) {
        let i = at + p;
        if hay[i + 1..].starts_with(rest) {
            return Some(i);
        }
        at = i + 1;
    }
    None
}

fn up_to_comma(v: &[u8]) -> &[u8] {
    &v[..memchr::memchr(b',', v).unwrap_or(v.len())]
}

/// The value of `[key...]` in saslauthd's bracketed fields.
fn bracketed<'a>(s: &'a [u8], key: &[u8]) -> Option<&'a [u8]> {
    let p = find_in_line(s, key)? + key.len();
    let v = &s[p..];
    Some(&v[..memchr::memchr(b']', v)?])
}

fn strip_angle(v: &[u8]) -> &[u8] {
    v.strip_prefix(b"<")
        .and_then(|v| v.strip_suffix(b">"))
        .unwrap_or(v)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn relay<'a>(host: Option<&'a str>, ip: Option<&'a str>, forged: bool) -> Relay<&'a [u8]> {
        Relay {
            host: host.map(str::as_bytes),
            ip: ip.map(str::as_bytes),
            forged,
        }
    }

    /// The refusal parser as it was before it reused its searches (issue 12): each field
    /// searched for on its own.
    fn relay_denied_before<'a>(c: &Classifier, line: &'a [u8]) -> Event<'a> {
        let field = |s: &'a [u8], key: &[u8]| {
            let p = find_in_line(s, key)? + key.len();
            Some(up_to_comma(&s[p..]))
        };
        let rs = find_in_line(line, b"ruleset=");
        let qid = rs.and_then(|p| qid_ending_at(line, p.checked_sub(2)?));
        let rest = rs.map_or(line, |p| &line[p..]);
        let check_mail = field(rest, b"ruleset=").is_some_and(|r| r == b"check_mail");
        let arg1 = find_in_line(rest, b", arg1=").map(|p| {
            let v = &rest[p + b", arg1=".len()..];
            let end = c.relay.find(v).unwrap_or(v.len());
            strip_angle(&v[..end])
        });
        EventOf::RelayDenied {
            qid,
            check_mail,
            arg1,
            relay: c.relay_after(rest, false),
            auth_required: find_in_line(line, b"Proper authentication required").is_some(),
        }
    }

    proptest! {
        /// Lines made of the refusal's parts in any order and number: the same event as
        /// before.
        #[test]
        fn relay_denied_as_before(parts in prop::collection::vec(prop_oneof![
            Just(&b"Nov 26 14:08:55 h sm-mta[1]: "[..]),
            Just(&b"6AQE8t9k011377: "[..]), Just(&b"ruleset="[..]),
            Just(&b"ruleset=check_rcpt, arg1="[..]), Just(&b"ruleset=check_mail, arg1="[..]),
            Just(&b"check_mail, arg1="[..]), Just(&b"<x@y>"[..]),
            Just(&b"check_mail"[..]), Just(&b"check_rcpt"[..]),
            Just(&b", arg1="[..]), Just(&b"<a,b@c.example>"[..]),
            Just(&b", relay="[..]), Just(&b"h.example [1.2.3.4] (may be forged)"[..]),
            Just(&b", reject=550 5.7.1 <x>... "[..]),
            Just(&b"Relaying denied"[..]), Just(&b"Relaying denied. "[..]),
            Just(&b"Proper authentication required"[..]),
            Just(&b"Proper "[..]), Just(&b", "[..]),
            Just(&b" "[..]), Just(&b"\r"[..]),
        ], 0..24)) {
            let c = Classifier::new();
            let line = parts.concat();
            let l = line.strip_suffix(b"\r").unwrap_or(&line);
            let expected = memchr::memmem::find(l, b"Relaying denied").and_then(|p| {
                c.reject.find(&l[..p]).map(|_| relay_denied_before(&c, l))
            });
            prop_assert_eq!(c.classify(&line), expected);
        }
    }

    #[test]
    fn relay_forms() {
        assert_eq!(
            parse_relay(b"client.example.test [127.0.0.2], reject=550"),
            relay(Some("client.example.test"), Some("127.0.0.2"), false)
        );
        assert_eq!(
            parse_relay(b"[1.2.3.4]"),
            relay(None, Some("1.2.3.4"), false)
        );
        assert_eq!(
            parse_relay(b"h.example [1.2.3.4] (may be forged), reject=550"),
            relay(Some("h.example"), Some("1.2.3.4"), true)
        );
        assert_eq!(
            parse_relay(b"h [IPv6:2001:db8::1], authid=x"),
            relay(Some("h"), Some("2001:db8::1"), false)
        );
        assert_eq!(
            parse_relay(b"root@localhost"),
            relay(Some("root@localhost"), None, false)
        );
    }

    #[test]
    fn real_reject_line() {
        let c = Classifier::new();
        let line = b"Nov 26 14:08:55 mailsrv sm-mta[11377]: 6AQE8t9k011377: ruleset=check_rcpt, arg1=<someone@example.org>, relay=client.example.test [127.0.0.2], reject=550 5.7.1 <someone@example.org>... Relaying denied. Proper authentication required.";
        assert_eq!(
            c.classify(line),
            Some(EventOf::RelayDenied {
                qid: Some(&b"6AQE8t9k011377"[..]),
                check_mail: false,
                arg1: Some(&b"someone@example.org"[..]),
                relay: relay(Some("client.example.test"), Some("127.0.0.2"), false),
                auth_required: true,
            })
        );
    }

    #[test]
    fn reject_without_suffix_and_without_qid() {
        let c = Classifier::new();
        let line = b"Nov 26 14:08:55 h sm-mta[1]: ruleset=check_rcpt, arg1=<a@b.example>, relay=[1.2.3.4], reject=550 5.7.1 <a@b.example>... Relaying denied\r";
        assert_eq!(
            c.classify(line),
            Some(EventOf::RelayDenied {
                qid: None,
                check_mail: false,
                arg1: Some(&b"a@b.example"[..]),
                relay: relay(None, Some("1.2.3.4"), false),
                auth_required: false,
            })
        );
    }

    #[test]
    fn remote_refusal_is_not_ours() {
        let c = Classifier::new();
        let line = b"Nov 26 14:08:55 h sm-mta[1]: 6AQE8t9k011377: to=<x@y.example>, delay=00:00:01, mailer=esmtp, relay=mx.y.example. [5.6.7.8], dsn=5.7.1, stat=User unknown (550 5.7.1 <x@y.example>... Relaying denied)";
        assert_eq!(c.classify(line), None);
    }

    #[test]
    fn auth_lines() {
        let c = Classifier::new();
        assert_eq!(
            c.classify(b"Nov 26 14:08:55 mailsrv sm-mta[11367]: AUTH=server, relay=client.example.test [127.0.0.2], authid=smtptest, mech=PLAIN, bits=0"),
            Some(EventOf::AuthOk {
                relay: relay(Some("client.example.test"), Some("127.0.0.2"), false),
                authid: Some(&b"smtptest"[..]),
            })
        );
        assert_eq!(
            c.classify(b"Nov 26 14:08:55 h sm-mta[1]: 6AQE8t9k011377: AUTH failure (PLAIN): authentication failure (-13) SASL(-13): authentication failure: Password verification failed, user=bob, relay=client.example.test [127.0.0.2]"),
            Some(EventOf::AuthFailed {
                reason: &b"authentication failure (-13)"[..],
                user: Some(&b"bob"[..]),
                relay: relay(Some("client.example.test"), Some("127.0.0.2"), false),
            })
        );
        assert_eq!(
            c.classify(b"Nov 26 14:08:55 h sm-mta[1]: AUTH failure (CRAM-MD5): user not found (-20) SASL(-13): user not found: user: bob@mailsrv property: cmusaslsecretCRAM-MD5 not found in sasldb, user=bob, relay=[10.0.0.9]"),
            Some(EventOf::AuthFailed {
                reason: &b"user not found (-20)"[..],
                user: Some(&b"bob"[..]),
                relay: relay(None, Some("10.0.0.9"), false),
            })
        );
        assert_eq!(
            c.classify(b"Nov 26 14:08:55 h saslauthd[9]:                 : auth failure: [user=bob] [service=smtp] [realm=] [mech=pam] [reason=PAM auth error]"),
            Some(EventOf::SaslauthdFailed { user: &b"bob"[..] })
        );
        assert_eq!(
            c.classify(b"Nov 26 14:08:55 h saslauthd[9]: auth failure: [user=bob] [service=imap] [realm=] [mech=pam] [reason=PAM auth error]"),
            None
        );
    }

    #[test]
    fn from_lines() {
        let c = Classifier::new();
        assert_eq!(
            c.classify(b"Nov 26 14:08:55 mailsrv sm-mta[11377]: 6AQE8t9k011377: from=<smtptest@localhost>, size=0, class=0, nrcpts=0, proto=ESMTP, daemon=MTA-v4, relay=client.example.test [127.0.0.2]"),
            Some(EventOf::From { qid: &b"6AQE8t9k011377"[..], sender: &b"smtptest@localhost"[..] })
        );
        assert_eq!(
            c.classify(b"Nov 26 14:08:55 h sm-mta[1]: 6AQE8t9k011377: from=<>, size=0"),
            Some(EventOf::From {
                qid: &b"6AQE8t9k011377"[..],
                sender: &b""[..]
            })
        );
        assert_eq!(c.classify(b"Nov 26 14:08:55 h sm-mta[1]: from=<a@b>"), None);
    }
}
