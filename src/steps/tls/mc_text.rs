//! The mc's text as the tls step reads and edits it: `define` and `include` lines (active or
//! commented out), the TLS settings in force, line-level edits that keep every other byte, and
//! the confAUTH_OPTIONS letters.

use super::super::{eol_of, lines_with_endings};

/// One `define(`NAME', `VALUE')` line of an m4 file, active or commented out (`dnl`, `#`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Def {
    /// 0-based line index.
    pub line: usize,
    pub name: String,
    /// `None`: the value is not on this line or not a plain word (a macro, a line break).
    pub value: Option<String>,
    pub active: bool,
}

/// Whether a line is commented out, and the text after the comment mark.
fn split_comment(line: &str) -> (bool, &str) {
    let t = line.trim_start();
    if let Some(r) = t.strip_prefix("dnl") {
        if r.is_empty() || r.starts_with(char::is_whitespace) || r.starts_with('#') {
            return (false, r.trim_start_matches(['#']).trim_start());
        }
        return (false, r.trim_start());
    }
    // `#` comments nothing out in sendmail.mc once cf.m4 is read (it turns m4 comments off):
    // `#define(...)` is active, as m4 reads it (tests/real_inputs.rs).
    if let Some(r) = t.strip_prefix('#') {
        let r = r.trim_start();
        if r.starts_with("define(") || r.starts_with("include(") || r.starts_with("sinclude(") {
            return (true, r);
        }
        return (false, r);
    }
    (true, t)
}

fn unquote(s: &str) -> &str {
    let s = s.trim();
    let s = s.strip_prefix('`').unwrap_or(s);
    s.strip_suffix('\'').unwrap_or(s)
}

/// Every `define(...)` line of `text`.
pub(crate) fn scan_defines(text: &str) -> Vec<Def> {
    let mut out = vec![];
    for (i, l) in text.lines().enumerate() {
        let (active, rest) = split_comment(l);
        let Some(args) = rest.strip_prefix("define(") else {
            continue;
        };
        let Some((name, tail)) = args.split_once(',') else {
            continue;
        };
        let name = unquote(name).to_string();
        let tail = tail.trim_start();
        let value = if let Some(q) = tail.strip_prefix('`') {
            q.split_once('\'').map(|(v, _)| v.to_string())
        } else {
            tail.split_once(')')
                .map(|(v, _)| v.trim().to_string())
                .filter(|v| !v.is_empty() && !v.starts_with("dnl"))
        };
        // A value that is no plain word (a macro such as CERT_DIR, nested quotes); a path
        // must be absolute (FreeBSD's `CERT_DIR/host.cert` is a macro, not a directory).
        let value = value
            .filter(|v| !v.contains(['`', '\'', '(', ')', '$']))
            .filter(|v| !v.contains('/') || v.starts_with('/'));
        out.push(Def {
            line: i,
            name,
            value,
            active,
        });
    }
    out
}

/// `include(`PATH')` and `sinclude(`PATH')` lines: (line, path, active).
pub(super) fn scan_includes(text: &str) -> Vec<(usize, String, bool)> {
    let mut out = vec![];
    for (i, l) in text.lines().enumerate() {
        let (active, rest) = split_comment(l);
        let args = rest
            .strip_prefix("include(")
            .or_else(|| rest.strip_prefix("sinclude("));
        if let Some(a) = args {
            if let Some((p, _)) = a.split_once(')') {
                out.push((i, unquote(p).to_string(), active));
            }
        }
    }
    out
}

/// The TLS settings in force in the mc (and in the distribution's include when it is active).
#[derive(Debug, Default)]
pub(super) struct InForce {
    /// (line of the mc where it takes effect, value, set in the include?)
    pub(super) cert: Option<(usize, Option<String>, bool)>,
    pub(super) key: Option<(usize, Option<String>, bool)>,
    pub(super) ca_path: bool,
    pub(super) ca_cert: bool,
    pub(super) group_readable_key: bool,
    /// The active include of the distribution's TLS file, its line.
    pub(super) include_line: Option<usize>,
}

pub(super) fn in_force(mc: &str, include: Option<(&str, &str)>) -> InForce {
    let mut f = InForce::default();
    let mut sets: Vec<(usize, Def, bool)> = scan_defines(mc)
        .into_iter()
        .filter(|d| d.active)
        .map(|d| (d.line, d, false))
        .collect();
    if let Some((path, text)) = include {
        if let Some((line, _, _)) = scan_includes(mc)
            .into_iter()
            .rev()
            .find(|(_, p, a)| *a && p == path)
        {
            f.include_line = Some(line);
            sets.extend(
                scan_defines(text)
                    .into_iter()
                    .filter(|d| d.active)
                    .map(|d| (line, d, true)),
            );
        }
    }
    sets.sort_by_key(|(l, _, _)| *l);
    for (line, d, inc) in sets {
        match d.name.as_str() {
            "confSERVER_CERT" => f.cert = Some((line, d.value, inc)),
            "confSERVER_KEY" => f.key = Some((line, d.value, inc)),
            "confCACERT_PATH" => f.ca_path = true,
            "confCACERT" => f.ca_cert = true,
            _ => {}
        }
    }
    // Debian's starttls.m4 appends GroupReadableKeyFile with defn(), over two lines.
    let grk = |t: &str| {
        t.lines().any(|l| {
            let (active, _) = split_comment(l);
            active && l.to_ascii_lowercase().contains("groupreadablekeyfile")
        })
    };
    f.group_readable_key =
        grk(mc) || (f.include_line.is_some() && include.is_some_and(|i| grk(i.1)));
    f
}

/// Line-level edits of the mc that keep every other byte.
pub(super) struct Lines {
    lines: Vec<String>,
    eol: &'static str,
    pub(super) notes: Vec<String>,
}

impl Lines {
    pub(super) fn new(text: &str) -> Lines {
        Lines {
            lines: lines_with_endings(text)
                .into_iter()
                .map(str::to_string)
                .collect(),
            eol: eol_of(text),
            notes: vec![],
        }
    }
    pub(super) fn text(&self) -> String {
        self.lines.concat()
    }
    /// Where new settings go: before MAILER_DEFINITIONS or the first MAILER line (m4 needs
    /// the defines before the mailers), else at the end.
    pub(super) fn insert_at(&self) -> usize {
        self.lines
            .iter()
            .position(|l| {
                let (active, t) = split_comment(l);
                active && (t.starts_with("MAILER_DEFINITIONS") || t.starts_with("MAILER("))
            })
            .unwrap_or(self.lines.len())
    }
    pub(super) fn insert(&mut self, at: usize, line: String, why: String) {
        if at == self.lines.len() && self.lines.last().is_some_and(|l| !l.ends_with('\n')) {
            let eol = self.eol;
            if let Some(l) = self.lines.last_mut() {
                l.push_str(eol);
            }
        }
        self.lines.insert(at, format!("{line}{}", self.eol));
        self.notes.push(why);
    }
    /// Removes the leading `dnl`/`#` of line `i`, keeping its indentation.
    pub(super) fn activate(&mut self, i: usize, why: String) {
        let l = &self.lines[i];
        let indent: String = l.chars().take_while(|c| c.is_whitespace()).collect();
        let (_, rest) = split_comment(l);
        self.lines[i] = format!("{indent}{rest}");
        self.notes.push(why);
    }
    /// Replaces `old` by `new` in the value of the define on line `i`.
    pub(super) fn set_value(&mut self, i: usize, old: &str, new: &str, why: String) {
        let l = &self.lines[i];
        if let Some(at) = l.find(&format!("`{old}'")) {
            self.lines[i] = format!("{}`{new}'{}", &l[..at], &l[at + old.len() + 2..]);
        } else if let Some(at) = l.rfind(old) {
            self.lines[i] = format!("{}{new}{}", &l[..at], &l[at + old.len()..]);
        }
        self.notes.push(why);
    }
}

/// A define line in the mc's own style.
pub(super) fn define(name: &str, value: &str) -> String {
    format!("define(`{name}', `{value}')dnl")
}

/// Sets `name` to `value` in force: the active mc define changed in place when it is not
/// overridden by the distribution's include, else a new define before the mailers.
pub(super) fn set(
    ed: &mut Lines,
    mc: &str,
    include_line: Option<usize>,
    name: &str,
    value: &str,
    why: &str,
) {
    let last = scan_defines(mc)
        .into_iter()
        .rfind(|d| d.active && d.name == name);
    match last {
        Some(d) if d.value.as_deref() == Some(value) && include_line.is_none_or(|l| d.line > l) => {
        }
        Some(Def {
            line,
            value: Some(old),
            ..
        }) if include_line.is_none_or(|l| line > l) => ed.set_value(
            line,
            &old,
            value,
            format!("line {}: {name} {value} ({why})", line + 1),
        ),
        _ => {
            let at = ed.insert_at();
            ed.insert(at, define(name, value), format!("{name} {value} ({why})"));
        }
    }
}

/// Whether the mc in `text` sets up STARTTLS (an active confSERVER_CERT, or the
/// distribution's include): what the restart step checks after the restart.
pub fn mc_has_tls(text: &str, include: Option<&str>) -> bool {
    scan_defines(text)
        .iter()
        .any(|d| d.active && d.name == "confSERVER_CERT")
        || scan_includes(text)
            .iter()
            .any(|(_, p, a)| *a && (Some(p.as_str()) == include || p.contains("starttls")))
}

/// The letters of the active confAUTH_OPTIONS of `text` (the last one), if it is a plain value.
pub fn auth_options(text: &str) -> Option<String> {
    scan_defines(text)
        .into_iter()
        .rfind(|d| d.active && d.name == "confAUTH_OPTIONS")
        .and_then(|d| d.value)
}

/// `have` plus the letters of `min` it lacks, in `have`'s separator style.
pub(super) fn merged(have: &str, min: &str) -> String {
    let toks = |s: &str| -> Vec<String> {
        s.split([' ', ',', '\t'])
            .filter(|t| !t.is_empty())
            .map(str::to_string)
            .collect()
    };
    let h = toks(have);
    let missing: Vec<String> = toks(min).into_iter().filter(|t| !h.contains(t)).collect();
    if h.is_empty() {
        return min.to_string();
    }
    if missing.is_empty() {
        return have.trim().to_string();
    }
    let sep = if have.contains(',') && !have.contains(' ') {
        ","
    } else {
        " "
    };
    format!("{}{sep}{}", have.trim(), missing.join(sep))
}

#[cfg(test)]
mod tests {
    use super::super::TLS_AUTH_OPTIONS;
    use super::*;

    #[test]
    fn defines_active_and_commented() {
        let t = "dnl define(`confSERVER_CERT', `/etc/pki/tls/certs/sendmail.pem')dnl\n\
                 define(`confSERVER_KEY',`/k')dnl\n\
                 define(confCACERT, /c)\n\
                 define(`confSERVER_CERT', `CERT_DIR/x')\n\
                 define(`confAUTH_OPTIONS',dnl\n";
        let d = scan_defines(t);
        assert_eq!(d.len(), 5);
        assert!(!d[0].active && d[0].value.as_deref() == Some("/etc/pki/tls/certs/sendmail.pem"));
        assert!(d[1].active && d[1].value.as_deref() == Some("/k"));
        assert_eq!(d[2].value.as_deref(), Some("/c"));
        assert_eq!(d[3].value, None);
        assert_eq!(d[4].value, None);
    }

    #[test]
    fn auth_letters_are_merged_keeping_the_admins() {
        assert_eq!(merged("A", TLS_AUTH_OPTIONS), "A p y");
        assert_eq!(merged("A p y", TLS_AUTH_OPTIONS), "A p y");
        assert_eq!(merged("A,d", TLS_AUTH_OPTIONS), "A,d,p,y");
        assert_eq!(merged("p y A m", TLS_AUTH_OPTIONS), "p y A m");
        assert_eq!(merged("", TLS_AUTH_OPTIONS), "A p y");
    }

    #[test]
    fn debian_include_counts_with_its_group_readable_key() {
        let inc = "define(`confDONT_BLAME_SENDMAIL',dnl\n\tdefn(`confDONT_BLAME_SENDMAIL')`,GroupReadableKeyFile')dnl\ndefine(`confSERVER_CERT', `/etc/mail/tls/s.crt')dnl\ndefine(`confSERVER_KEY', `/etc/mail/tls/k.key')dnl\n";
        let mc = "include(`/etc/mail/tls/starttls.m4')dnl\nMAILER_DEFINITIONS\n";
        let f = in_force(mc, Some(("/etc/mail/tls/starttls.m4", inc)));
        assert!(f.group_readable_key);
        assert_eq!(f.cert.unwrap().1.as_deref(), Some("/etc/mail/tls/s.crt"));
        let f = in_force(
            "dnl include(`/etc/mail/tls/starttls.m4')dnl\n",
            Some(("/etc/mail/tls/starttls.m4", inc)),
        );
        assert!(f.cert.is_none() && !f.group_readable_key);
        assert!(mc_has_tls(mc, Some("/etc/mail/tls/starttls.m4")));
        assert!(!mc_has_tls("dnl define(`confSERVER_CERT', `/x')\n", None));
    }
}
