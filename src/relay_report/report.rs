//! The relay report: what was found, per client, sender and user, and how to read it.
use super::stats::at_least;
use crate::term::safe;
use serde::Serialize;
use std::fmt::Write as _;

/// The result of reading the logs. Lists are sorted, most significant first.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Report {
    /// What was read, when it is not (only) the log files given: the systemd journal, and why
    /// it was chosen. Absent for log files alone.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// Every line read, whether it mattered or not (also those before `--since`).
    pub lines_read: u64,
    /// `reject=550 5.7.1 ... Relaying denied` lines: this server refused to relay.
    pub relay_denied: u64,
    /// Of those, the ones without "Proper authentication required.": the running sendmail.cf
    /// has no `TRUST_AUTH_MECH` (not regenerated, not restarted, or still `dnl`).
    pub relay_denied_without_auth: u64,
    /// sendmail `AUTH failure` lines: failed SMTP AUTH logins.
    pub auth_failed: u64,
    /// `AUTH=server` lines: successful SMTP AUTH logins.
    pub auth_ok: u64,
    /// saslauthd `auth failure` lines for service smtp (no client address in them; usually in
    /// auth.log, and doubling sendmail's own `AUTH failure` line when both logs are read).
    pub saslauthd_failed: u64,
    /// The `--since` cutoff, if any.
    pub since: Option<String>,
    /// Events older than the cutoff, not counted above.
    pub skipped_before_since: u64,
    /// Events without a timestamp this program understands (counted, never skipped).
    pub undated: u64,
    pub first_event: Option<String>,
    pub last_event: Option<String>,
    /// Clients refused relaying or failing to log in, most denials first.
    pub clients: Vec<ClientStat>,
    /// Envelope senders of refused mail, most denials first.
    pub senders: Vec<SenderStat>,
    /// User names of failed logins, most failures first.
    pub users: Vec<UserStat>,
    /// Why logins failed, with what it usually means.
    pub auth_failure_reasons: Vec<ReasonStat>,
    /// What fell beyond the caps on tracked clients, senders and users (memory stays bounded).
    pub untracked: Untracked,
}

#[derive(Clone, Debug, Default, Serialize, PartialEq, Eq)]
pub struct ClientStat {
    /// The name sendmail logged (last seen); `None` for `relay=[1.2.3.4]`.
    pub host: Option<String>,
    pub ip: Option<String>,
    /// sendmail said `(may be forged)`: reverse and forward DNS disagree.
    pub may_be_forged: bool,
    pub relay_denied: u64,
    pub auth_failed: u64,
    /// Successful SMTP AUTH logins from the same address.
    pub logins_ok: u64,
    pub first_seen: Option<String>,
    pub last_seen: Option<String>,
    /// Distinct days (UTC) with a denial or a failed login.
    pub days_seen: u32,
    /// Distinct recipients of refused mail (counting stops at 32).
    pub recipients: u32,
    /// Distinct recipient domains (counting stops at 32).
    pub recipient_domains: u32,
    /// Envelope senders of refused mail (the first few).
    pub senders: Vec<String>,
    /// Distinct senders (counting stops at 32).
    pub sender_count: u32,
    /// User names tried in failed logins (the first few).
    pub users_tried: Vec<String>,
    pub verdict: Verdict,
    /// What this client probably is, in words.
    pub hint: std::borrow::Cow<'static, str>,
    /// The facts the hint rests on.
    pub basis: String,
}

/// The short form of [`ClientStat::hint`].
#[derive(Clone, Copy, Debug, Default, Serialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    /// One of your own users whose mail client does not use SMTP AUTH.
    OwnUser,
    /// Someone whose mail client uses SMTP AUTH with a wrong password.
    WrongPassword,
    /// Someone probing for an open relay or guessing passwords.
    Stranger,
    /// Not enough to tell.
    #[default]
    Unclear,
}

#[derive(Clone, Debug, Default, Serialize, PartialEq, Eq)]
pub struct SenderStat {
    pub sender: String,
    pub relay_denied: u64,
    /// Distinct client addresses that used it (counting stops at 32).
    pub clients: u32,
    /// The sender's domain is one of your domains (`local_domains`).
    pub own_domain: bool,
}

#[derive(Clone, Debug, Default, Serialize, PartialEq, Eq)]
pub struct UserStat {
    pub user: String,
    /// sendmail `AUTH failure` lines naming this user.
    pub auth_failed: u64,
    /// saslauthd `auth failure` lines naming this user.
    pub saslauthd_failed: u64,
    /// Distinct client addresses (counting stops at 32).
    pub clients: u32,
}

#[derive(Clone, Debug, Default, Serialize, PartialEq, Eq)]
pub struct ReasonStat {
    /// As sendmail wrote it, e.g. `authentication failure (-13)`.
    pub reason: String,
    pub count: u64,
    /// What it usually means (DIAGNOSTICS.md), when known.
    pub advice: Option<String>,
}

#[derive(Clone, Debug, Default, Serialize, PartialEq, Eq)]
pub struct Untracked {
    /// Denials from clients beyond the tracked ones (counted in the totals, not listed).
    pub relay_denied: u64,
    pub auth_failed: u64,
    /// Successful logins from addresses beyond the tracked ones (not used for hints).
    pub logins_ok: u64,
    /// Denials whose sender could not be listed.
    pub sender_relay_denied: u64,
    /// Failed logins whose user could not be listed.
    pub user_failures: u64,
}

/// How many clients, senders and users the text form lists.
const TEXT_ROWS: usize = 20;

impl Report {
    /// The report as [`crate::term::write_json_pretty`] writes it (the same bytes: a test
    /// compares), with the long lists of clients and senders written on two threads. Gives back
    /// the writer, not flushed.
    pub fn write_json<W: std::io::Write>(&self, w: W) -> std::io::Result<W> {
        self.write_json_with(w, |o| o.list("clients", &self.clients))
    }

    /// [`Report::write_json`], with the clients written by `clients` in their place (for
    /// clients built as they are written), not from this report's own.
    pub(crate) fn write_json_with<W: std::io::Write>(
        &self,
        w: W,
        clients: impl FnOnce(&mut crate::term::PrettyObject<W>) -> std::io::Result<()>,
    ) -> std::io::Result<W> {
        // Every field by name, so that a field added to the struct and not here does not
        // compile; the order is the struct's.
        let Report {
            source,
            lines_read,
            relay_denied,
            relay_denied_without_auth,
            auth_failed,
            auth_ok,
            saslauthd_failed,
            since,
            skipped_before_since,
            undated,
            first_event,
            last_event,
            clients: _,
            senders,
            users,
            auth_failure_reasons,
            untracked,
        } = self;
        let mut o = crate::term::PrettyObject::new(w)?;
        if let Some(source) = source {
            o.field("source", source)?;
        }
        o.field("lines_read", lines_read)?;
        o.field("relay_denied", relay_denied)?;
        o.field("relay_denied_without_auth", relay_denied_without_auth)?;
        o.field("auth_failed", auth_failed)?;
        o.field("auth_ok", auth_ok)?;
        o.field("saslauthd_failed", saslauthd_failed)?;
        o.field("since", since)?;
        o.field("skipped_before_since", skipped_before_since)?;
        o.field("undated", undated)?;
        o.field("first_event", first_event)?;
        o.field("last_event", last_event)?;
        clients(&mut o)?;
        o.list("senders", senders)?;
        o.list("users", users)?;
        o.list("auth_failure_reasons", auth_failure_reasons)?;
        o.field("untracked", untracked)?;
        o.end()
    }

    /// A report for a person: totals, the clients with hints, senders, users and what to do.
    pub fn to_text(&self) -> String {
        let mut o = String::new();
        let _ = writeln!(
            o,
            "Relay report (HOWTO step 13: check for \"Relaying denied\" errors)"
        );
        if let Some(src) = &self.source {
            let _ = writeln!(o, "  read from {src}");
        }
        let _ = write!(o, "  {} lines read", self.lines_read);
        match (&self.first_event, &self.last_event) {
            (Some(a), Some(b)) => {
                let _ = writeln!(o, "; events from {a} to {b}");
            }
            _ => o.push('\n'),
        }
        if let Some(since) = &self.since {
            let _ = writeln!(
                o,
                "  since {since}: {} older events skipped",
                self.skipped_before_since
            );
        }
        let _ = writeln!(
            o,
            "  relaying denied: {}   failed SMTP AUTH logins: {}   successful logins: {}{}",
            self.relay_denied,
            self.auth_failed,
            self.auth_ok,
            if self.saslauthd_failed > 0 {
                format!("   saslauthd failures: {}", self.saslauthd_failed)
            } else {
                String::new()
            }
        );
        if self.relay_denied == 0 && self.auth_failed == 0 {
            let _ = writeln!(
                o,
                "\nNo \"Relaying denied\" and no failed logins. Either every client authenticates, \
                 or nobody has tried yet, or sendmail logs somewhere else (give the log with --log)."
            );
            if self.lines_read == 0 {
                let _ = writeln!(o, "The logs were empty.");
            }
            return o;
        }
        if self.relay_denied_without_auth > 0 {
            let _ = writeln!(
                o,
                "\n{} denials lack \"Proper authentication required.\": when they were logged the \
                 running sendmail.cf had no TRUST_AUTH_MECH, so even clients that log in could not \
                 relay. Regenerate sendmail.cf and restart sendmail.",
                self.relay_denied_without_auth
            );
        }

        if !self.clients.is_empty() {
            let _ = writeln!(o, "\nClients (most denials first):");
            for c in self.clients.iter().take(TEXT_ROWS) {
                c.write_text(&mut o);
            }
            more(&mut o, self.clients.len());
        }
        if !self.senders.is_empty() {
            let _ = writeln!(o, "\nSenders of refused mail:");
            for s in self.senders.iter().take(TEXT_ROWS) {
                let _ = writeln!(
                    o,
                    "  {}: {} denied, from {} client{}{}",
                    if s.sender.is_empty() {
                        "<>".into()
                    } else {
                        safe(&s.sender)
                    },
                    s.relay_denied,
                    s.clients,
                    plural(u64::from(s.clients)),
                    if s.own_domain {
                        " (one of your domains)"
                    } else {
                        ""
                    }
                );
            }
            more(&mut o, self.senders.len());
        }
        if !self.users.is_empty() {
            let _ = writeln!(o, "\nUsers with failed logins:");
            for u in self.users.iter().take(TEXT_ROWS) {
                let _ = write!(o, "  {}: {} failed", safe(&u.user), u.auth_failed);
                if u.saslauthd_failed > 0 {
                    let _ = write!(o, " ({} in saslauthd's log)", u.saslauthd_failed);
                }
                let _ = writeln!(
                    o,
                    ", from {} address{}",
                    u.clients,
                    if u.clients == 1 { "" } else { "es" }
                );
            }
            more(&mut o, self.users.len());
        }
        if !self.auth_failure_reasons.is_empty() {
            let _ = writeln!(o, "\nWhy logins failed:");
            for r in &self.auth_failure_reasons {
                let _ = write!(o, "  {}: {}", safe(&r.reason), r.count);
                if let Some(a) = &r.advice {
                    let _ = write!(o, " ({a})");
                }
                o.push('\n');
            }
        }
        let u = &self.untracked;
        if u.relay_denied + u.auth_failed > 0 {
            let _ = writeln!(
                o,
                "\n{} denials and {} failed logins came from clients beyond the {} tracked ones \
                 (counted in the totals, not listed).",
                u.relay_denied,
                u.auth_failed,
                super::stats::MAX_TRACKED
            );
        }
        let _ = writeln!(
            o,
            "\nWhat to do: your own users must turn on SMTP authentication in their mail \
             client (\"my outgoing server requires authentication\", same user name and \
             password as for reading mail). Strangers need nothing: refusing them is the server \
             doing its job. Hints are guesses from the log; check before you act."
        );
        o
    }
}

impl ClientStat {
    fn write_text(&self, o: &mut String) {
        let name = match (&self.host, &self.ip) {
            (Some(h), Some(ip)) => format!("{} [{}]", safe(h), safe(ip)),
            (None, Some(ip)) => format!("[{}]", safe(ip)),
            (Some(h), None) => safe(h).into_owned(),
            (None, None) => "unknown".into(),
        };
        let _ = write!(
            o,
            "  {name}{}: {} relaying denied, {} failed login{}, {} login{} OK",
            if self.may_be_forged {
                " (may be forged)"
            } else {
                ""
            },
            self.relay_denied,
            self.auth_failed,
            plural(self.auth_failed),
            self.logins_ok,
            plural(self.logins_ok),
        );
        if let (Some(a), Some(b)) = (&self.first_seen, &self.last_seen) {
            let _ = write!(o, "; {a} .. {b}");
        }
        o.push('\n');
        if self.relay_denied > 0 {
            let _ = write!(
                o,
                "    {} recipient{} in {} domain{}",
                at_least(self.recipients),
                plural(u64::from(self.recipients)),
                at_least(self.recipient_domains),
                plural(u64::from(self.recipient_domains))
            );
            if !self.senders.is_empty() {
                let _ = write!(
                    o,
                    "; sender{}: {}",
                    plural(u64::from(self.sender_count)),
                    self.senders
                        .iter()
                        .map(|s| safe(s))
                        .collect::<Vec<_>>()
                        .join(", ")
                );
                if self.sender_count as usize > self.senders.len() {
                    let _ = write!(o, ", ... ({} in all)", at_least(self.sender_count));
                }
            }
            o.push('\n');
        }
        if !self.users_tried.is_empty() {
            let users: Vec<_> = self.users_tried.iter().map(|u| safe(u)).collect();
            let _ = writeln!(o, "    users tried: {}", users.join(", "));
        }
        // Both may quote a host, sender or user name from the log.
        let long = 2 * crate::term::MAX_FIELD;
        let _ = writeln!(o, "    -> {}", crate::term::safe_max(&self.hint, long));
        let _ = writeln!(
            o,
            "       because {}",
            crate::term::safe_max(&self.basis, long)
        );
    }
}

fn plural(n: u64) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

fn more(o: &mut String, n: usize) {
    if n > TEXT_ROWS {
        let _ = writeln!(
            o,
            "  ... and {} more (--format json lists them all)",
            n - TEXT_ROWS
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Text with what JSON must escape (quotes, backslashes, controls) and what [`crate::term`]
    /// escapes too (C1, bidi), beside plain and non-ASCII letters.
    fn text() -> impl Strategy<Value = String> {
        "[a-z\u{1}\u{80}-\u{9f}\u{202e}\n\"\\\\é]{0,6}"
    }

    fn client() -> impl Strategy<Value = ClientStat> {
        (
            (
                proptest::option::of(text()),
                proptest::option::of(text()),
                any::<bool>(),
                any::<u64>(),
                any::<u64>(),
                any::<u64>(),
                proptest::option::of(text()),
                proptest::option::of(text()),
            ),
            (
                any::<u32>(),
                any::<u32>(),
                any::<u32>(),
                prop::collection::vec(text(), 0..3),
                any::<u32>(),
                prop::collection::vec(text(), 0..3),
                0..4u8,
                (text(), text()),
            ),
        )
            .prop_map(
                |(
                    (host, ip, may_be_forged, relay_denied, auth_failed, logins_ok, first, last),
                    (
                        days_seen,
                        recipients,
                        recipient_domains,
                        senders,
                        sender_count,
                        users,
                        v,
                        (hint, basis),
                    ),
                )| ClientStat {
                    host,
                    ip,
                    may_be_forged,
                    relay_denied,
                    auth_failed,
                    logins_ok,
                    first_seen: first,
                    last_seen: last,
                    days_seen,
                    recipients,
                    recipient_domains,
                    senders,
                    sender_count,
                    users_tried: users,
                    verdict: [
                        Verdict::OwnUser,
                        Verdict::WrongPassword,
                        Verdict::Stranger,
                        Verdict::Unclear,
                    ][usize::from(v)],
                    hint: hint.into(),
                    basis,
                },
            )
    }

    fn report() -> impl Strategy<Value = Report> {
        (
            (
                proptest::option::of(text()),
                prop::collection::vec(any::<u64>(), 8),
                proptest::option::of(text()),
                proptest::option::of(text()),
                proptest::option::of(text()),
            ),
            (
                prop::collection::vec(client(), 0..4),
                prop::collection::vec(
                    (text(), any::<u64>(), any::<u32>(), any::<bool>()).prop_map(
                        |(sender, relay_denied, clients, own_domain)| SenderStat {
                            sender,
                            relay_denied,
                            clients,
                            own_domain,
                        },
                    ),
                    0..4,
                ),
                prop::collection::vec(
                    (text(), any::<u64>(), any::<u64>(), any::<u32>()).prop_map(
                        |(user, auth_failed, saslauthd_failed, clients)| UserStat {
                            user,
                            auth_failed,
                            saslauthd_failed,
                            clients,
                        },
                    ),
                    0..3,
                ),
                prop::collection::vec(
                    (text(), any::<u64>(), proptest::option::of(text())).prop_map(
                        |(reason, count, advice)| ReasonStat {
                            reason,
                            count,
                            advice,
                        },
                    ),
                    0..3,
                ),
                prop::collection::vec(any::<u64>(), 5),
            ),
        )
            .prop_map(
                |(
                    (source, n, since, first_event, last_event),
                    (clients, senders, users, reasons, u),
                )| {
                    Report {
                        source,
                        lines_read: n[0],
                        relay_denied: n[1],
                        relay_denied_without_auth: n[2],
                        auth_failed: n[3],
                        auth_ok: n[4],
                        saslauthd_failed: n[5],
                        since,
                        skipped_before_since: n[6],
                        undated: n[7],
                        first_event,
                        last_event,
                        clients,
                        senders,
                        users,
                        auth_failure_reasons: reasons,
                        untracked: Untracked {
                            relay_denied: u[0],
                            auth_failed: u[1],
                            logins_ok: u[2],
                            sender_relay_denied: u[3],
                            user_failures: u[4],
                        },
                    }
                },
            )
    }

    fn derived(r: &Report) -> Vec<u8> {
        let mut out = Vec::new();
        crate::term::write_json_pretty(&mut out, r).unwrap();
        out
    }

    fn written(r: &Report) -> Vec<u8> {
        r.write_json(Vec::new()).unwrap()
    }

    proptest! {
        /// `write_json` writes what the derived `Serialize` writes: every field, by its name,
        /// in its order, with the same escapes; also with lists long enough to be written on
        /// two threads (`repeat`).
        #[test]
        fn write_json_writes_the_derived_json(mut r in report(), long in any::<bool>()) {
            if long {
                // Past PrettyObject's threshold for a second thread: 2,001, 2,101 or 2,201
                // items, 16, 17 or 18 blocks (an even and an odd number of them for each
                // thread to write).
                fn longer<T: Clone>(v: &[T]) -> Vec<T> {
                    let n = v.len().saturating_sub(1);
                    v.iter().cycle().take(2_001 + 100 * n).cloned().collect()
                }
                r.clients = longer(&r.clients);
                r.senders = longer(&r.senders);
            }
            prop_assert_eq!(
                String::from_utf8(written(&r)).unwrap(),
                String::from_utf8(derived(&r)).unwrap()
            );
        }
    }

    #[test]
    fn write_json_of_an_empty_report() {
        let r = Report::default();
        assert_eq!(written(&r), derived(&r));
    }
}
