//! HOWTO step 7: the Sendmail.conf that this system's libsasl really reads (the first of the
//! profile's search order that exists) sets pwcheck_method as this SASL version needs it, and
//! its mech_list (if any) allows the mechanisms the mc advertises. Where saslauthd checks the
//! passwords, its defaults file lets it start (Debian ships without START=yes).
//!
//! The HOWTO's `pwcheck_method:pam` is SASL v1; on SASL v2 it fails with "unknown password
//! verifier(s) pam" (DIAGNOSTICS.md #10).

use super::{eol_of, lines_with_endings, read_text, Text};
use crate::engine::fsops::WriteMeta;
use crate::engine::step::{Context, PasswordSource, PlannedOverlay, Step, StepReport};

pub struct Sasl;

/// Where libsasl keeps sasldb when Sendmail.conf does not say (`sasldb_path`).
pub const DEFAULT_SASLDB: &str = "/etc/sasldb2";

/// The sasldb file a Sendmail.conf text names (`sasldb_path:`), or [`DEFAULT_SASLDB`].
pub fn sasldb_file(text: &str) -> String {
    text.lines()
        .filter_map(kv)
        .filter(|(k, _)| k == "sasldb_path")
        .map(|(_, v)| v)
        .next_back()
        .filter(|v| v.starts_with('/'))
        .unwrap_or_else(|| DEFAULT_SASLDB.to_string())
}

/// The Sendmail.conf libsasl reads (the first of the search order that exists), if any.
pub fn sendmail_conf(view: &PlannedOverlay, p: &crate::engine::profile::Profile) -> Option<String> {
    p.sasl.search_order.iter().find(|f| view.exists(f)).cloned()
}

/// The choice between system accounts and sasldb.
pub fn password_source_decider() -> crate::mc::Decider {
    crate::mc::Decider {
        option: "--password-source".into(),
        answers_key: "password_source".into(),
    }
}

/// What the sasl step says about sasldb itself: missing (nobody can log in yet), or a mode
/// that lets others read or change the password secrets (sendmail never checks it, TLS.md).
fn sasldb_findings(cx: &Context, view: &PlannedOverlay, r: &mut StepReport, db: &str) {
    use std::os::unix::fs::MetadataExt;
    if !view.exists(db) {
        r.warn(
            Some(db),
            format!("{} does not exist yet: nobody can log in until you add users with `smtpauth-wizard users add NAME`", cx.root.display(db)),
            None,
        );
        return;
    }
    let meta = cx
        .root
        .resolve(db)
        .ok()
        .and_then(|res| std::fs::metadata(cx.root.join(&res.target)).ok());
    if let Some(m) = meta {
        let mode = m.mode() & 0o7777;
        if mode & 0o037 != 0 {
            r.warn(
                Some(db),
                format!("{} has mode {mode:04o}: other users can read or change the password secrets (sendmail never checks this); `smtpauth-wizard users add` and `users remove` set root:sasl 0640", cx.root.display(db)),
                Some(format!("chmod 0640 {db}")),
            );
        } else {
            r.info_at(db, format!("sasldb {db} has mode {mode:04o}"));
        }
    }
}

/// `key: value` or `key:value` in a SASL config line.
fn kv(line: &str) -> Option<(String, String)> {
    let l = line.trim();
    if l.starts_with('#') {
        return None;
    }
    let (k, v) = l.split_once(':')?;
    Some((k.trim().to_string(), v.trim().to_string()))
}

/// Sets `key` in a SASL config text, keeping every other byte; `sep` is `: ` or `:`.
fn set_key(text: &str, key: &str, value: &str, sep: &str) -> String {
    set_line(
        text,
        |l| kv(l).is_some_and(|(k, _)| k == key),
        &format!("{key}{sep}{value}"),
    )
}

/// Sets `KEY=value` in a shell-style defaults file.
fn set_shell_var(text: &str, key: &str, value: &str) -> String {
    let is_key = |l: &str| {
        let t = l.trim_start();
        !t.starts_with('#') && t.split_once('=').is_some_and(|(k, _)| k.trim() == key)
    };
    set_line(text, is_key, &format!("{key}={value}"))
}

/// Replaces the first line that `is_key` matches with `line` (keeping that line's ending),
/// drops later matches (they would override it), or appends `line` when none matches. Every
/// other byte is kept.
fn set_line(text: &str, is_key: impl Fn(&str) -> bool, line: &str) -> String {
    let eol = eol_of(text);
    let mut out = String::new();
    let mut done = false;
    for l in lines_with_endings(text) {
        if !is_key(l) {
            out.push_str(l);
        } else if !done {
            let ending = if l.ends_with("\r\n") {
                "\r\n"
            } else if l.ends_with('\n') {
                "\n"
            } else {
                ""
            };
            out.push_str(line);
            out.push_str(ending);
            done = true;
        }
    }
    if !done {
        if !out.is_empty() && !out.ends_with('\n') {
            out.push_str(eol);
        }
        out.push_str(line);
        out.push_str(eol);
    }
    out
}

fn shell_var(text: &str, key: &str) -> Option<String> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.split_once('='))
        .filter(|(k, _)| k.trim() == key)
        .map(|(_, v)| v.trim().to_string())
        .next_back()
}

impl Step for Sasl {
    fn id(&self) -> &'static str {
        "sasl"
    }
    fn title(&self) -> &'static str {
        "SASL: Sendmail.conf and saslauthd"
    }
    fn howto(&self) -> &'static str {
        "HOWTO step 7: /usr/lib/sasl/Sendmail.conf with pwcheck_method"
    }
    fn check(&self, cx: &Context, view: &PlannedOverlay) -> StepReport {
        let mut r = StepReport::new(self);
        let Some(p) = super::profile_or_block(cx, &mut r) else {
            return r.finish();
        };
        let found = p.sasl.search_order.iter().find(|f| view.exists(f)).cloned();
        let mechs = cx.mechanisms().join(" ");
        let sep = if p.sasl.version == 1 { ":" } else { ": " };
        let (path, text, created) = match found {
            Some(f) => match read_text(view, &f) {
                Ok(Some(t)) => (f, t, false),
                Ok(None) => unreachable!("exists"),
                Err(e) => {
                    r.error(Some(&f), e, None);
                    return r.finish();
                }
            },
            None => {
                r.warn(
                    None,
                    format!("none of {} exists: libsasl uses its defaults, which do not check passwords the way this system needs", p.sasl.search_order.join(", ")),
                    None,
                );
                (p.sasl.create_at.clone(), Text::default(), true)
            }
        };
        if !created {
            let res = cx
                .root
                .resolve(&path)
                .map(|x| x.target)
                .unwrap_or(path.clone());
            r.info_at(
                &path,
                format!(
                    "libsasl reads {path}{} (first of its search order that exists)",
                    if res != path {
                        format!(" (-> {res})")
                    } else {
                        String::new()
                    }
                ),
            );
        }
        let mut new = text.text.clone();
        let current = text
            .lines()
            .filter_map(kv)
            .filter(|(k, _)| k == "pwcheck_method")
            .map(|(_, v)| v)
            .next_back();
        match current.as_deref() {
            Some(v) if v == p.sasl.pwcheck_method => {
                r.info_at(&path, format!("pwcheck_method is {v}"))
            }
            Some(v) => {
                let extra = if v == "pam" && p.sasl.version >= 2 {
                    " (`pam` is the HOWTO's SASL v1 value: SASL v2 logs \"unknown password verifier(s) pam\" and every login fails)"
                } else {
                    ""
                };
                r.warn(
                    Some(&path),
                    format!(
                        "pwcheck_method is {v}, this system needs {}{extra}",
                        p.sasl.pwcheck_method
                    ),
                    None,
                );
                new = set_key(&new, "pwcheck_method", &p.sasl.pwcheck_method, sep);
            }
            None => new = set_key(&new, "pwcheck_method", &p.sasl.pwcheck_method, sep),
        }
        let sasldb = cx.opts.password_source() == PasswordSource::Sasldb;
        let plugin = text
            .lines()
            .filter_map(kv)
            .filter(|(k, _)| k == "auxprop_plugin")
            .map(|(_, v)| v)
            .next_back();
        // Passwords already checked by libsasl itself (auxprop): switching to saslauthd without
        // being asked would lock every sasldb user out.
        if cx.opts.password_source.is_none() && current.as_deref() == Some("auxprop") {
            r.error_decided(
                Some(&path),
                format!(
                    "{} checks passwords itself (pwcheck_method: auxprop{}): switching to saslauthd would lock out every user kept there",
                    cx.root.display(&path),
                    plugin.as_deref().map(|p| format!(", auxprop_plugin: {p}")).unwrap_or_default()
                ),
                Some("keep them with --password-source sasldb, or switch to system accounts with --password-source saslauthd (answers: password_source)".into()),
                vec![password_source_decider()],
            );
            return r.finish();
        }
        if sasldb {
            if let Some(other) = plugin.as_deref().filter(|p| *p != "sasldb") {
                r.error_decided(
                    Some(&path),
                    format!("{} uses auxprop_plugin: {other}: the wizard does not replace another password store with sasldb (its users would be locked out)", cx.root.display(&path)),
                    Some("keep --password-source saslauthd (answers: password_source), or change auxprop_plugin yourself".into()),
                    vec![password_source_decider()],
                );
                return r.finish();
            }
            if p.sasl.version < 2 {
                r.error_decided(
                    Some(&path),
                    format!("--password-source sasldb needs SASL v2; this system has SASL v{} (its sasldb tools and Sendmail.conf keys differ and were not measured)", p.sasl.version),
                    Some("leave --password-source at saslauthd (answers: password_source: saslauthd)".into()),
                    vec![password_source_decider()],
                );
                return r.finish();
            }
            if plugin.as_deref() != Some("sasldb") {
                new = set_key(&new, "auxprop_plugin", "sasldb", sep);
            }
            if current.as_deref() != Some("auxprop") {
                r.warn(
                    Some(&path),
                    format!(
                        "passwords will be checked in sasldb ({}) instead of the system accounts: \
                         system users (PAM, saslauthd) can no longer log in over SMTP AUTH, only \
                         the users you add with `smtpauth-wizard users add NAME`",
                        sasldb_file(&text)
                    ),
                    Some("keep system accounts with --password-source saslauthd (answers: password_source: saslauthd)".into()),
                );
                if let Some(f) = r.findings.last_mut() {
                    f.decided_by = vec![password_source_decider()];
                }
            }
            sasldb_findings(cx, view, &mut r, &sasldb_file(&text));
        }
        let mech_list = text
            .lines()
            .filter_map(kv)
            .filter(|(k, _)| k == "mech_list")
            .map(|(_, v)| v)
            .next_back();
        if let Some(ml) = mech_list {
            let have: Vec<String> = ml
                .split_whitespace()
                .map(|s| s.to_ascii_uppercase())
                .collect();
            let lacking: Vec<String> = cx
                .mechanisms()
                .into_iter()
                .filter(|m| !have.contains(&m.to_ascii_uppercase()))
                .collect();
            if lacking.is_empty() {
                r.info_at(&path, format!("mech_list ({ml}) allows {mechs}"));
            } else {
                r.warn(
                    Some(&path),
                    format!(
                        "mech_list ({ml}) leaves out {}: sendmail would not advertise them",
                        lacking.join(" ")
                    ),
                    None,
                );
                new = set_key(&new, "mech_list", &mechs, sep);
            }
        }
        let meta = Some(WriteMeta {
            mode: 0o644,
            owner: Some((0, 0)),
            mtime: None,
        });
        let new = match text.encode(&new) {
            Ok(b) => b,
            Err(e) => {
                r.error(
                    Some(&path),
                    format!("{}: {e}", cx.root.display(&path)),
                    None,
                );
                return r.finish();
            }
        };
        if let Err(e) = r.change(
            view,
            &path,
            new,
            format!(
                "pwcheck_method {} for SASL v{}",
                p.sasl.pwcheck_method, p.sasl.version
            ),
            meta,
        ) {
            r.error(Some(&path), e.to_string(), None);
        }
        if let Some(sd) = &p.saslauthd {
            let df = &sd.defaults_file;
            match read_text(view, df) {
                Ok(t) => {
                    let t0 = t.clone().unwrap_or_default();
                    if t.is_none() {
                        r.warn(
                            Some(df),
                            format!("{df} does not exist: is saslauthd installed?"),
                            None,
                        );
                    }
                    let mut nt = t0.text.clone();
                    for (k, v) in &sd.settings {
                        match shell_var(&t0, k) {
                            Some(cur) if &cur == v => r.info_at(df, format!("{k}={cur}")),
                            other => {
                                r.warn(
                                    Some(df),
                                    format!(
                                        "{df}: {k} is {}, saslauthd needs {k}={v}",
                                        other.as_deref().unwrap_or("not set")
                                    ),
                                    None,
                                );
                                nt = set_shell_var(&nt, k, v);
                            }
                        }
                    }
                    let nt = match t0.encode(&nt) {
                        Ok(b) => b,
                        Err(e) => {
                            r.error(Some(df), format!("{}: {e}", cx.root.display(df)), None);
                            return r.finish();
                        }
                    };
                    if let Err(e) = r.change(
                        view,
                        df,
                        nt,
                        "let saslauthd start and check passwords with PAM",
                        meta,
                    ) {
                        r.error(Some(df), e.to_string(), None);
                    }
                }
                Err(e) => r.error(Some(df), e, None),
            }
        }
        r.finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_set_in_place_and_everything_else_is_kept() {
        let t = "# comment\npwcheck_method: pam\r\nmech_list: CRAM-MD5\n";
        assert_eq!(
            set_key(t, "pwcheck_method", "saslauthd", ": "),
            "# comment\npwcheck_method: saslauthd\r\nmech_list: CRAM-MD5\n"
        );
        assert_eq!(
            set_key("", "pwcheck_method", "pam", ":"),
            "pwcheck_method:pam\n"
        );
        assert_eq!(set_key("a: b", "c", "d", ": "), "a: b\nc: d\n");
        let d = "# START=no\nMECHANISMS=\"shadow\"\n";
        let n = set_shell_var(&set_shell_var(d, "START", "yes"), "MECHANISMS", "\"pam\"");
        assert_eq!(n, "# START=no\nMECHANISMS=\"pam\"\nSTART=yes\n");
        assert_eq!(shell_var(&n, "START").as_deref(), Some("yes"));
    }
}
