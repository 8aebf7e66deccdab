//! HOWTO step 10: relaying by IP address or name in /etc/mail/access is disabled, except for
//! localhost. Every other `RELAY` entry is a finding; apply comments it out (keep one with
//! --keep-relay KEY) and rebuilds the map with the real makemap, in a private temporary
//! directory, so the new access.db is written through the journal like every other file.

use super::{lines_with_endings, read_text};
use crate::engine::host;
use crate::engine::step::{Context, Step, StepReport, View};

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
    let k = k.strip_prefix("connect:").unwrap_or(&k);
    LOCAL.contains(&k)
}

fn meaning(key: &str) -> String {
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
    fn check(&self, cx: &Context, view: &View) -> StepReport {
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
        for (line, key, whole) in relay_entries(&text) {
            if is_local(&key) {
                r.info_at(path, format!("line {line}: `{whole}` (localhost) is fine"));
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
                    Some(format!(
                        "apply comments it out; keep it with --keep-relay {key}"
                    )),
                );
                disable.push(line);
            }
        }
        if disable.is_empty() {
            r.info_at(path, "no RELAY entry beyond localhost");
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
}
