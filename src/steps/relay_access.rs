//! HOWTO step 10: relaying by client IP address or name in /etc/mail/access is disabled, except
//! for localhost. Every other client `RELAY` entry (bare address, network, host name,
//! `Connect:`) is a finding; apply comments it out (keep one with --keep-relay KEY) and rebuilds
//! the map with the real makemap, in a private temporary directory, so the new access.db is
//! written through the journal like every other file.
//!
//! `To:` and `From:` entries are not client entries and are never touched:
//! - `To:domain RELAY` relays mail *to* that domain only (a backup MX, a hosted domain): the
//!   access-db form of relay-domains. Commenting it out would refuse inbound mail for the domain,
//!   so it is reported like a relay-domains entry and kept.
//! - `From:sender RELAY` grants relaying only with FEATURE(`relay_mail_from`) (cf/README; in
//!   cf/m4/proto.m4 the `<F:sender>` lookup that returns `RELAY FROM sender ok` exists only
//!   under `_RELAY_DB_FROM_`, which that feature defines), whose
//!   risk (forged senders) the relay-features step handles in sendmail.mc; without that feature
//!   the RELAY is an implicit OK for the sender checks, which the admin may rely on. It is
//!   reported (a warning while the feature stays active) and kept.

use super::{lines_with_endings, read_text};
use crate::engine::host;
use crate::engine::step::{Context, PlannedOverlay, Step, StepReport};

pub struct RelayAccess;

const LOCAL: &[&str] = &[
    "127.0.0.1",
    "127",
    "localhost",
    "localhost.localdomain",
    "ipv6:::1",
    "ipv6:0:0:0:0:0:0:0:1",
    "::1",
];

pub const DISABLED_PREFIX: &str = "# disabled by smtpauth-wizard (HOWTO step 10): ";

/// A RELAY entry: (1-based line, key, whole line without ending).
pub fn relay_entries(text: &str) -> Vec<(usize, String, String)> {
    let mut v = vec![];
    for (i, l) in text.lines().enumerate() {
        let t = l.trim();
        if t.is_empty() || t.starts_with('#') {
            continue;
        }
        let mut it = t.split_whitespace();
        let (Some(key), Some(val)) = (it.next(), it.next()) else {
            continue;
        };
        if val.eq_ignore_ascii_case("RELAY") {
            v.push((i + 1, key.to_string(), l.trim_end_matches('\r').to_string()));
        }
    }
    v
}

pub fn is_local(key: &str) -> bool {
    let k = key.to_ascii_lowercase();
    let k = ["connect:", "to:", "from:"]
        .iter()
        .find_map(|t| k.strip_prefix(t))
        .unwrap_or(&k);
    LOCAL.contains(&k)
}

/// What an access key with RELAY grants, by its tag.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Localhost (any tag): fine.
    Local,
    /// A client: bare address/network/host name or `Connect:` (HOWTO step 10 disables these).
    Client,
    /// `To:`: relaying to a recipient domain (backup MX, hosted domain): kept.
    Recipient,
    /// `From:`: relaying for a sender, only with FEATURE(relay_mail_from): kept.
    Sender,
}

pub fn kind(key: &str) -> Kind {
    let tag = key
        .split_once(':')
        .map(|(t, _)| t.to_ascii_lowercase())
        .unwrap_or_default();
    if is_local(key) {
        Kind::Local
    } else if tag == "to" {
        Kind::Recipient
    } else if tag == "from" {
        Kind::Sender
    } else {
        Kind::Client
    }
}

/// Whether apply comments this entry out unless kept with --keep-relay (client entries beyond
/// localhost). The TUI offers exactly these.
pub fn disabled_by_default(key: &str) -> bool {
    kind(key) == Kind::Client
}

fn meaning(key: &str) -> String {
    let key = &*crate::term::safe(key);
    let k = key.to_ascii_lowercase();
    if k.starts_with("to:") {
        format!(
            "mail to {} is relayed for anyone, without authentication",
            &key[3..]
        )
    } else if k.starts_with("from:") {
        format!(
            "any sender claiming {} may relay, and senders are trivially forged",
            &key[5..]
        )
    } else {
        let k = key
            .split_once(':')
            .filter(|(p, _)| p.eq_ignore_ascii_case("connect"))
            .map(|(_, r)| r)
            .unwrap_or(key);
        format!("clients at {k} may relay without authentication")
    }
}

/// The fix for a client entry: keep it, or (for a bare domain name, which also relays mail to
/// the domain) narrow it to a `To:` entry when this server is a backup MX or hosts the domain.
fn client_fix(key: &str) -> String {
    let key = &*crate::term::safe(key);
    let mut s = format!("apply comments it out; keep it with --keep-relay {key}");
    let bare = !key.contains(':');
    let is_name = key.chars().any(|c| c.is_ascii_alphabetic()) && key.contains('.');
    if bare && is_name {
        s.push_str(&format!(
            ", or, if this server is a backup MX for {key} or hosts it, write `To:{key} RELAY` \
             (relays only mail to {key})"
        ));
    }
    s
}

/// Whether FEATURE(relay_mail_from) is active in the mc, and whether it is kept.
fn relay_mail_from(cx: &Context, view: &PlannedOverlay, mc: &str) -> (bool, bool) {
    let active = matches!(read_text(view, mc), Ok(Some(t))
        if crate::mc::analyse(&t).risky_features.iter().any(|f| f.feature == "relay_mail_from"));
    let kept = cx.opts.keep_features.iter().any(|f| f == "relay_mail_from");
    (active, kept)
}

/// Builds the map with `makemap TYPE base < text` in a temporary directory; returns its bytes.
fn build_map(cx: &Context, map_type: &str, suffix: &str, text: &[u8]) -> Result<Vec<u8>, String> {
    let dir = tempfile::tempdir()
        .map_err(|e| format!("cannot make a temporary directory for makemap: {e}"))?;
    let base = dir.path().join("access");
    let out = host::run_tool(
        "makemap",
        &[map_type.to_string(), base.display().to_string()],
        Some(text),
        cx.opts.tool_timeout,
    )?;
    if !out.success() {
        return Err(out.describe());
    }
    let db = dir.path().join(format!("access{suffix}"));
    std::fs::read(&db).map_err(|e| format!("makemap wrote no {}: {e}", db.display()))
}

impl Step for RelayAccess {
    fn id(&self) -> &'static str {
        "relay-access"
    }
    fn title(&self) -> &'static str {
        "Relaying in /etc/mail/access: localhost only"
    }
    fn howto(&self) -> &'static str {
        "HOWTO step 10: only allow relaying from localhost in /etc/mail/access"
    }
    fn check(&self, cx: &Context, view: &PlannedOverlay) -> StepReport {
        let mut r = StepReport::new(self);
        let Some(p) = super::profile_or_block(cx, &mut r) else {
            return r.finish();
        };
        let path = &p.relay.access;
        let text = match read_text(view, path) {
            Ok(Some(t)) => t,
            Ok(None) => {
                r.info(format!(
                    "{} does not exist: no relaying is granted there",
                    cx.root.display(path)
                ));
                return r.finish();
            }
            Err(e) => {
                r.error(Some(path), e, None);
                return r.finish();
            }
        };
        let mut disable = vec![];
        let mut others = 0;
        for (line, key, whole) in relay_entries(&text) {
            // The access file's own text, quoted in findings: cut when very long.
            let whole = crate::term::safe(&whole);
            let k = kind(&key);
            if k == Kind::Local {
                r.info_at(path, format!("line {line}: `{whole}` (localhost) is fine"));
            } else if k == Kind::Recipient {
                others += 1;
                let dom = &key[3..];
                r.warn(
                    Some(path),
                    format!(
                        "line {line}: `{whole}`: mail to {dom} is relayed for any client, without authentication (a backup MX or a hosted domain, like a relay-domains entry); kept"
                    ),
                    Some(format!(
                        "remove it by hand if this server is neither a backup MX for {dom} nor hosts it"
                    )),
                );
            } else if k == Kind::Sender {
                others += 1;
                let who = &key[5..];
                match relay_mail_from(cx, view, &p.sendmail.mc) {
                    (true, true) => r.warn(
                        Some(path),
                        format!(
                            "line {line}: `{whole}`: any client whose envelope sender claims {who} may relay (FEATURE(relay_mail_from) is kept), and senders are trivially forged; kept"
                        ),
                        Some(
                            "remove it by hand, or let relay-features disable FEATURE(relay_mail_from) (drop --keep-feature relay_mail_from)"
                                .to_string(),
                        ),
                    ),
                    (true, false) => r.info_at(
                        path,
                        format!(
                            "line {line}: `{whole}`: relays only through FEATURE(relay_mail_from), which the relay-features step disables; kept (RELAY is also an implicit OK for the sender checks)"
                        ),
                    ),
                    (false, _) => r.info_at(
                        path,
                        format!(
                            "line {line}: `{whole}`: without FEATURE(relay_mail_from) it grants no relaying, only an implicit OK for the sender checks; kept"
                        ),
                    ),
                }
            } else if cx
                .opts
                .keep_relay
                .iter()
                .any(|k| k.eq_ignore_ascii_case(&key))
            {
                r.warn(
                    Some(path),
                    format!(
                        "line {line}: `{whole}`: {} (kept at your request)",
                        meaning(&key)
                    ),
                    None,
                );
            } else {
                r.warn(
                    Some(path),
                    format!("line {line}: `{whole}`: {}", meaning(&key)),
                    Some(client_fix(&key)),
                );
                disable.push(line);
            }
        }
        if disable.is_empty() {
            r.info_at(
                path,
                if others > 0 {
                    "no client RELAY entry beyond localhost"
                } else {
                    "no RELAY entry beyond localhost"
                },
            );
            return r.finish();
        }
        let mut new = String::new();
        for (i, l) in lines_with_endings(&text).into_iter().enumerate() {
            if disable.contains(&(i + 1)) {
                new.push_str(DISABLED_PREFIX);
            }
            new.push_str(l);
        }
        let new = match text.encode(&new) {
            Ok(b) => b,
            Err(e) => {
                r.error(Some(path), format!("{}: {e}", cx.root.display(path)), None);
                return r.finish();
            }
        };
        if let Err(e) = r.change(
            view,
            path,
            new.clone(),
            "HOWTO step 10: relaying only from localhost",
            None,
        ) {
            r.error(Some(path), e.to_string(), None);
            return r.finish();
        }
        let db = format!("{path}{}", p.relay.map_suffix);
        match build_map(cx, &p.relay.map_type, &p.relay.map_suffix, &new) {
            Ok(bytes) => {
                if let Err(e) = r.change(
                    view,
                    &db,
                    bytes,
                    format!(
                        "makemap {} {path} (rebuilt from the new {path})",
                        p.relay.map_type
                    ),
                    None,
                ) {
                    r.error(Some(&db), e.to_string(), None);
                }
            }
            Err(e) => r.warn(
                Some(&db),
                format!("{db} cannot be rebuilt here ({e}); sendmail reads the map, not the text"),
                Some(format!(
                    "after apply, run `makemap {} {path} < {path}`",
                    p.relay.map_type
                )),
            ),
        }
        r.finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_localhost_relay_is_fine() {
        let t = "# x\nConnect:127\t\tRELAY\nConnect:IPv6:::1 RELAY\n192.168.0 RELAY\nTo:example.org relay\nspam@x REJECT\n";
        let e = relay_entries(t);
        assert_eq!(e.len(), 4);
        let bad: Vec<&str> = e
            .iter()
            .filter(|(_, k, _)| !is_local(k))
            .map(|(_, k, _)| k.as_str())
            .collect();
        assert_eq!(bad, vec!["192.168.0", "To:example.org"]);
        assert!(meaning("To:example.org").contains("mail to example.org"));
    }

    #[test]
    fn kinds_by_tag() {
        for (k, want) in [
            ("To:example.com", Kind::Recipient),
            ("TO:mx.example.com", Kind::Recipient),
            ("to:[192.0.2.7]", Kind::Recipient),
            ("To:192.0.2", Kind::Recipient),
            ("From:boss@example.com", Kind::Sender),
            ("FROM:example.com", Kind::Sender),
            ("Connect:10.1", Kind::Client),
            ("connect:IPv6:2001:db8::1", Kind::Client),
            ("IPv6:2001:db8::5", Kind::Client),
            ("192.168.0", Kind::Client),
            ("example.com", Kind::Client),
            ("Connect:127.0.0.1", Kind::Local),
            ("localhost.localdomain", Kind::Local),
            ("Connect:IPv6:::1", Kind::Local),
            ("To:localhost", Kind::Local),
        ] {
            assert_eq!(kind(k), want, "{k}");
        }
        assert!(client_fix("example.com").contains("To:example.com RELAY"));
        assert!(!client_fix("192.168.0").contains("To:"));
        assert!(!client_fix("Connect:mail.example.com").contains("To:"));
    }
}
