//! The AUTH settings of a file the sendmail.mc includes (Debian's generated
//! `/etc/mail/sasl/sasl.m4`), read line by line and edited in place.
//!
//! Such a file is not a sendmail.mc: its settings sit inside `ifelse(...)` conditions, and a
//! value may be on the line after its `define(` (Debian writes
//! ``define(`confAUTH_MECHANISMS',dnl`` and the value on the next line). So this reader is
//! narrower than the mc's model: it recognises a setting whose line starts (after blanks) with
//! ``TRUST_AUTH_MECH(`...')`` or ``define(`confAUTH_MECHANISMS'|`confAUTH_OPTIONS', `...')``,
//! with one literal quoted value, on that line or alone on the next. Lines starting with `dnl`
//! or `#` are comments. A value built with `defn(...)` (Debian's "EXTERNAL in front") is
//! *derived*: read, never edited. A setting it cannot read is an error, never a guess.

use super::model::Setting;
use super::text::Doc;

#[derive(Debug, Clone)]
pub(crate) struct IncSetting {
    pub setting: Setting,
    /// 0-based line where the macro starts.
    pub line: usize,
    /// The literal value (trimmed), or for a derived `confAUTH_MECHANISMS` the literal part
    /// it adds (Debian's `EXTERNAL `).
    pub value: String,
    /// Where the literal value is: line and byte range in the line's content. `None`: derived.
    pub at: Option<(usize, usize, usize)>,
}

/// The settings of an included file, or the 0-based line and the reason it cannot be read.
pub(crate) fn scan(text: &str) -> Result<Vec<IncSetting>, (usize, String)> {
    let doc = Doc::new(text);
    let mut out = Vec::new();
    for i in 0..doc.lines.len() {
        let c = doc.content(i);
        let ind = c.len() - c.trim_start().len();
        let rest = &c[ind..];
        if rest.starts_with("dnl") || rest.starts_with('#') {
            continue;
        }
        if let Some(after) = rest.strip_prefix("TRUST_AUTH_MECH(") {
            let base = ind + "TRUST_AUTH_MECH(".len();
            match literal(after, base) {
                Some((a, z)) => out.push(IncSetting {
                    setting: Setting::Trust,
                    line: i,
                    value: c[a..z].trim().to_string(),
                    at: Some((i, a, z)),
                }),
                None => return Err((i, unreadable("TRUST_AUTH_MECH"))),
            }
            continue;
        }
        let Some(after) = rest.strip_prefix("define(") else {
            continue;
        };
        let base = ind + "define(".len();
        let lead = after.len() - after.trim_start().len();
        let name_part = &after[lead..];
        let (setting, name_len) = if let Some(n) = name_of(name_part, "confAUTH_MECHANISMS") {
            (Setting::Mechanisms, n)
        } else if let Some(n) = name_of(name_part, "confAUTH_OPTIONS") {
            (Setting::Options, n)
        } else {
            continue;
        };
        let after_name = &name_part[name_len..];
        let comma = after_name.len() - after_name.trim_start().len();
        let Some(value_part) = after_name[comma..].strip_prefix(',') else {
            return Err((i, unreadable(setting.label())));
        };
        let vbase = base + lead + name_len + comma + 1;
        let (vline, vtext, vbase) = if value_part.trim() == "dnl" {
            // Debian: `define(`confAUTH_MECHANISMS',dnl` and the value on the next line.
            if i + 1 >= doc.lines.len() {
                return Err((i, unreadable(setting.label())));
            }
            (i + 1, doc.content(i + 1), 0)
        } else {
            (i, value_part, vbase)
        };
        if vtext.contains("defn(") {
            // `EXTERNAL 'defn(`confAUTH_MECHANISMS')`: what it adds in front of the old value.
            let t = vtext.trim_start();
            let added = t
                .strip_prefix('`')
                .and_then(|s| s.split_once('\''))
                .map(|(v, _)| v.trim().to_string())
                .unwrap_or_default();
            out.push(IncSetting {
                setting,
                line: i,
                value: added,
                at: None,
            });
            continue;
        }
        match literal(vtext, vbase) {
            Some((a, z)) => {
                let line_text = doc.content(vline);
                out.push(IncSetting {
                    setting,
                    line: i,
                    value: line_text[a..z].trim().to_string(),
                    at: Some((vline, a, z)),
                })
            }
            None => return Err((i, unreadable(setting.label()))),
        }
    }
    Ok(out)
}

fn unreadable(label: &str) -> String {
    format!(
        "I cannot read this {label}: I only understand one literal value in `quotes' on the \
         macro's line or alone on the next one"
    )
}

/// `` `confX' `` or `confX` at the start of `s`: the length up to the name's end (with quotes).
fn name_of(s: &str, name: &str) -> Option<usize> {
    let (q, t) = match s.strip_prefix('`') {
        Some(t) => (1, t),
        None => (0, s),
    };
    let t = t.strip_prefix(name)?;
    if t.starts_with(|c: char| c.is_ascii_alphanumeric() || c == '_') {
        return None;
    }
    if q == 1 {
        t.strip_prefix('\'')?;
        Some(name.len() + 2)
    } else {
        Some(name.len())
    }
}

/// `` `value') `` (blanks allowed around) at the start of `s`: the value's byte range, offset
/// by `base`.
fn literal(s: &str, base: usize) -> Option<(usize, usize)> {
    let lead = s.len() - s.trim_start().len();
    let t = s[lead..].strip_prefix('`')?;
    let end = t.find('\'')?;
    let v = &t[..end];
    if v.contains('`') || v.contains('(') || v.contains(')') {
        return None;
    }
    let rest = t[end + 1..].trim_start();
    if !rest.starts_with(')') {
        return None;
    }
    let a = base + lead + 1;
    Some((a, a + end))
}

/// The file with the values at the given places replaced; every other byte is kept.
pub(crate) fn rewrite(text: &str, values: &[((usize, usize, usize), String)]) -> String {
    let doc = Doc::new(text);
    let mut out = String::with_capacity(text.len() + 64);
    if doc.bom {
        out.push(super::text::BOM);
    }
    for i in 0..doc.lines.len() {
        let c = doc.content(i);
        let mut here: Vec<&((usize, usize, usize), String)> =
            values.iter().filter(|((l, _, _), _)| *l == i).collect();
        here.sort_by_key(|((_, a, _), _)| *a);
        let mut from = 0;
        for ((_, a, z), v) in here {
            out.push_str(&c[from..*a]);
            out.push_str(v);
            from = *z;
        }
        out.push_str(&c[from..]);
        out.push_str(doc.eol(i));
    }
    out
}

/// The mc's active includes other than the cf tree's `cf.m4`.
pub(crate) fn setting_includes(text: &str) -> Vec<(usize, String, bool)> {
    let m = super::model::Model::new(text);
    m.scan
        .calls
        .iter()
        .filter(|c| c.name == "include" || c.name == "sinclude")
        .filter_map(|c| {
            let &(a, z) = c.args.first()?;
            let raw = m.doc.body[a..z].trim();
            let path = raw
                .strip_prefix('`')
                .and_then(|r| r.strip_suffix('\''))
                .unwrap_or(raw)
                .trim()
                .to_string();
            // A path m4 builds from macros (MAIL_SETTINGS_DIR`x.m4') is not a file name.
            let plain = path
                .chars()
                .all(|ch| ch.is_ascii_alphanumeric() || "._/+-".contains(ch));
            if !plain || path.is_empty() || path.ends_with("/cf.m4") || path == "cf.m4" {
                return None;
            }
            Some((m.doc.line_of(c.start) + 1, path, c.name == "sinclude"))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const SASL_M4: &str = include_str!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../shared/corpus/other/debian12-sasl.m4"
    ));

    #[test]
    fn debians_sasl_m4_is_read() {
        let s = scan(SASL_M4).unwrap();
        let got: Vec<(Setting, String, bool)> = s
            .iter()
            .map(|x| (x.setting, x.value.clone(), x.at.is_some()))
            .collect();
        let mechs = "DIGEST-MD5 CRAM-MD5 NTLM LOGIN PLAIN".to_string();
        assert_eq!(
            got,
            vec![
                (Setting::Mechanisms, mechs.clone(), true),
                (Setting::Trust, mechs, true),
                (Setting::Mechanisms, "EXTERNAL".into(), false),
                (Setting::Trust, "EXTERNAL".into(), true),
            ]
        );
        // The value of the first define is on the line after it.
        let (l, a, z) = s[0].at.unwrap();
        assert_eq!(l, s[0].line + 1);
        let line = SASL_M4.lines().nth(l).unwrap();
        assert_eq!(&line[a..z], "DIGEST-MD5 CRAM-MD5 NTLM LOGIN PLAIN");
    }

    #[test]
    fn rewrite_keeps_every_other_byte() {
        let s = scan(SASL_M4).unwrap();
        let new = rewrite(
            SASL_M4,
            &[
                (s[0].at.unwrap(), "LOGIN PLAIN".into()),
                (s[1].at.unwrap(), "LOGIN PLAIN".into()),
            ],
        );
        let old: Vec<&str> = SASL_M4.lines().collect();
        let now: Vec<&str> = new.lines().collect();
        assert_eq!(old.len(), now.len());
        let changed: Vec<(&str, &str)> = old
            .iter()
            .zip(&now)
            .filter(|(a, b)| a != b)
            .map(|(a, b)| (*a, *b))
            .collect();
        assert_eq!(
            changed,
            vec![
                (
                    "`DIGEST-MD5 CRAM-MD5 NTLM LOGIN PLAIN')dnl   # <= EDIT",
                    "`LOGIN PLAIN')dnl   # <= EDIT"
                ),
                (
                    "TRUST_AUTH_MECH(`DIGEST-MD5 CRAM-MD5 NTLM LOGIN PLAIN')dnl   # <= EDIT",
                    "TRUST_AUTH_MECH(`LOGIN PLAIN')dnl   # <= EDIT"
                ),
            ]
        );
        assert_eq!(rewrite(SASL_M4, &[]), SASL_M4);
    }

    #[test]
    fn odd_settings_are_refused_with_their_line() {
        let e = scan("divert(0)dnl\nTRUST_AUTH_MECH(LOGIN PLAIN)dnl\n").unwrap_err();
        assert_eq!(e.0, 1);
        assert!(e.1.contains("TRUST_AUTH_MECH"), "{}", e.1);
        let e = scan("define(`confAUTH_OPTIONS',dnl\n").unwrap_err();
        assert_eq!(e.0, 0);
        // Comments and other defines are not settings.
        let s = scan(
            "dnl TRUST_AUTH_MECH(`X')\n# define(`confAUTH_OPTIONS', `p')\n\
             define(`confAUTH_REALM', `')dnl\ndefine(`confAUTH_OPTIONS', `A p y')dnl\n",
        )
        .unwrap();
        assert_eq!(s.len(), 1);
        assert_eq!(s[0].setting, Setting::Options);
        assert_eq!(s[0].value, "A p y");
    }

    #[test]
    fn includes_but_not_cf_m4_are_listed() {
        let mc = "include(`/usr/share/sendmail/cf/m4/cf.m4')dnl\n\
                  include(`/etc/mail/sasl/sasl.m4')dnl\n\
                  dnl include(`/etc/mail/tls/starttls.m4')dnl\n\
                  sinclude(`local.m4')\n\
                  include(MAIL_SETTINGS_DIR`x.m4')\n\
                  include(`_CF_DIR_'`m4/cf.m4')\n\
                  MAILER(smtp)\n";
        assert_eq!(
            setting_includes(mc),
            vec![
                (2, "/etc/mail/sasl/sasl.m4".to_string(), false),
                (4, "local.m4".to_string(), true)
            ]
        );
    }
}
