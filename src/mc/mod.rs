//! An m4-aware line model of sendmail.mc, and the edits of the Sendmail SMTP AUTH HOWTO that
//! touch it: step 3 (the three AUTH lines), step 4 (port 25 open to the network) and step 12
//! (commenting out FEATUREs that loosen relaying).
//!
//! Pure functions on text: this module never reads or writes a file and never runs a process.
//! The caller reads the file (a file that is not UTF-8 one character per byte, never lossily:
//! `steps::Text`), writes [`McEdit::text`] back in the same encoding, and
//! runs m4 (with [`rewrite_includes`] when the configuration lives under another root).
//!
//! What it promises:
//! - Every line not named in [`McEdit::edits`] is written back byte for byte: its own line
//!   ending (CRLF stays CRLF), a UTF-8 BOM, a last line without a newline.
//! - The edits are idempotent: running [`enable_auth`] on its own output changes nothing
//!   (it checks this before it answers).
//! - It refuses rather than guesses ([`McError`] names the line and says why): unbalanced
//!   quotes, `dnlTRUST_AUTH_MECH(`-style typos (the HOWTO's own step 3 has them), template
//!   placeholders (`@@PATH@@`), HTML escapes (`&lt;`), smart quotes, settings hidden inside
//!   other macros, two active definitions of the same setting.
//!
//! The file is read the way GNU m4 reads it (see `lex.rs`): in particular, `#` stops being a
//! comment once the cf tree's `cf.m4` is included (its `cfhead.m4` runs `changecom()`).

mod danger;
mod edit;
mod include;
mod lex;
mod model;
mod shape;
mod text;

pub use danger::{dangers, Danger, DangerKind};
use serde::{Deserialize, Serialize};
use std::fmt;

/// Relay features the HOWTO's step 12 wants gone (FACTS.md, "Risky relay features").
pub const RISKY_FEATURES: &[&str] = &[
    "accept_unresolvable_domains",
    "relay_based_on_MX",
    "promiscuous_relay",
    "relay_entire_domain",
    "relay_hosts_only",
    "loose_relay_check",
    "relay_local_from",
    "relay_mail_from",
];

/// Mechanisms that need the users' secrets in sasldb: a password check through PAM or
/// saslauthd cannot verify them (FACTS.md).
pub const SECRET_MECHANISMS: &[&str] = &[
    "CRAM-MD5",
    "DIGEST-MD5",
    "SCRAM-SHA-1",
    "SCRAM-SHA-256",
    "NTLM",
];

/// What [`enable_auth`] writes: `confAUTH_OPTIONS` and the mechanisms of `TRUST_AUTH_MECH` and
/// `confAUTH_MECHANISMS`.
///
/// The rules (docs/real-servers.md): the option letters the admin already set are kept and the
/// wizard's minimum (`auth_options`, `A`) is added, unless `exact_options` (`--auth-options`)
/// says exactly; `confAUTH_MECHANISMS` is set to `mechanisms`; `TRUST_AUTH_MECH` trusts
/// `mechanisms` plus what the admin already trusts (EXTERNAL, GSSAPI...) except the
/// `unverifiable` ones, unless `trust` (`--trust-mechanisms`) replaces the list. ANONYMOUS is
/// never trusted: the edit is refused.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct McOptions {
    /// What `confAUTH_MECHANISMS` advertises (space-separated in the file, in this order).
    pub mechanisms: Vec<String>,
    /// `A` in the HOWTO: the minimum letters, or the exact set with `exact_options`.
    pub auth_options: String,
    /// `auth_options` is the exact set (`--auth-options`, answers `auth_options`).
    #[serde(default)]
    pub exact_options: bool,
    /// The exact `TRUST_AUTH_MECH` list (`--trust-mechanisms`, answers `trust_mechanisms`).
    #[serde(default)]
    pub trust: Option<Vec<String>>,
    /// Mechanisms the password check here cannot verify: an admin's trust in them is not kept.
    #[serde(default)]
    pub unverifiable: Vec<String>,
}

impl Default for McOptions {
    /// The HOWTO's values: `A` and `LOGIN PLAIN` (the only mechanisms that work with saslauthd,
    /// FACTS.md), checked by saslauthd.
    fn default() -> Self {
        McOptions {
            mechanisms: vec!["LOGIN".into(), "PLAIN".into()],
            auth_options: "A".into(),
            exact_options: false,
            trust: None,
            unverifiable: SECRET_MECHANISMS.iter().map(|s| s.to_string()).collect(),
        }
    }
}

/// A choice that decides a refusal or a warning: the command-line option and the answers-file
/// key (so a front end can ask the question instead of printing it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Decider {
    /// `--auth-options`
    pub option: String,
    /// `auth_options`
    pub answers_key: String,
}

impl Decider {
    pub fn new(option: &str, answers_key: &str) -> Decider {
        Decider {
            option: option.into(),
            answers_key: answers_key.into(),
        }
    }

    /// The choices in a fix: `--a (answers file: a) or --b (answers file: b)`.
    pub fn list(ds: &[Decider]) -> String {
        ds.iter()
            .map(|d| format!("{} (answers file: {})", d.option, d.answers_key))
            .collect::<Vec<_>>()
            .join(" or ")
    }
}

/// A file the sendmail.mc includes, as the caller read it (resolved inside the root).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Included {
    /// 1-based line of the `include`/`sinclude` in the mc.
    pub line: usize,
    /// The path as the mc names it.
    pub path: String,
    pub text: String,
}

/// The result of [`enable_auth_with`]: the mc's edit and, for each included file that changes,
/// its path (as the mc names it) and its edit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct McEdits {
    pub mc: McEdit,
    pub includes: Vec<(String, McEdit)>,
}

/// Which loopback port-25 listener HOWTO step 4 opens to the network when the file alone
/// does not decide it (several IPv4 loopback listeners, or taking IPv6 mail through an IPv6
/// listener instead of the IPv4 one): its `Name=`. CLI `--open-listener NAME`, answers key
/// `open_listener`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListenerChoice {
    pub open: Option<String>,
}

/// Issue 11 item 3: which port-587 listener the submission edit opens to the network when
/// sendmail.mc alone does not decide it: a `Name=`, or `keep` to leave the listeners on 587 as
/// they are (a listener bound to a LAN address, several loopback ones). CLI
/// `--submission-listener`, answers key `submission_listener`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubmissionChoice {
    pub listener: Option<String>,
}

/// One changed line. `before`/`after` are the line's text without its line ending.
/// A replaced line has both; an inserted line has only `after` and is inserted before the
/// original line `line` (all inserted lines before the same line share its number).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Edit {
    /// 1-based, in the original text.
    pub line: usize,
    pub before: Option<String>,
    pub after: Option<String>,
    pub why: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct McEdit {
    /// The whole new file.
    pub text: String,
    /// In line order; empty when there was nothing to do (then `text` equals the input).
    pub edits: Vec<Edit>,
    pub warnings: Vec<String>,
}

/// Why a file (or a line of it) cannot be edited safely.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct McError {
    /// 1-based; 0 when the problem is not on a line (bad options, empty file).
    pub line: usize,
    /// The line as it is in the file, without its line ending.
    pub text: String,
    /// A sentence for the sysadmin: what is wrong and what to do.
    pub reason: String,
    /// The choices that decide it, when the wizard could act either way.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub decided_by: Vec<Decider>,
}

impl fmt::Display for McError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The caller puts the file's path in front: "/etc/mail/sendmail.mc: line 27: ...".
        if self.line == 0 {
            write!(f, "{}", self.reason)
        } else {
            write!(
                f,
                "line {}: {} (the line reads: {})",
                self.line,
                self.reason,
                text::shorten(&self.text, 160)
            )
        }
    }
}

impl std::error::Error for McError {}

/// Where one of the three AUTH settings is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum AuthLine {
    Absent,
    /// Behind `dnl` (1-based line).
    Commented {
        line: usize,
        value: String,
    },
    Active {
        line: usize,
        value: String,
    },
}

/// A `DAEMON_OPTIONS` line, active or behind `dnl`. Keys are read by their first letter, as
/// sendmail does (`M=Ea` is `Modifiers`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Listener {
    pub line: usize,
    pub active: bool,
    pub text: String,
    pub name: Option<String>,
    pub port: Option<String>,
    pub addr: Option<String>,
    pub family: Option<String>,
    pub modifiers: Option<String>,
}

impl Listener {
    /// A TCP listener on port 25 (`Port=smtp`, `Port=25`, or no Port).
    pub fn port25(&self) -> bool {
        let tcp = self
            .family
            .as_deref()
            .is_none_or(|f| f.eq_ignore_ascii_case("inet") || f.eq_ignore_ascii_case("inet6"));
        tcp && self
            .port
            .as_deref()
            .is_none_or(|p| model::port_of(p) == model::Port::Num(25))
    }

    /// A TCP listener on the submission port 587 (`Port=submission`, `Port=587`).
    pub fn submission(&self) -> bool {
        let tcp = self
            .family
            .as_deref()
            .is_none_or(|f| f.eq_ignore_ascii_case("inet") || f.eq_ignore_ascii_case("inet6"));
        tcp && self
            .port
            .as_deref()
            .is_some_and(|p| model::port_of(p) == model::Port::Num(587))
    }

    /// `Modifiers=a`: AUTH is required before any mail is accepted (`A` means the opposite:
    /// no AUTH offered at all).
    pub fn requires_auth(&self) -> bool {
        self.modifiers.as_deref().is_some_and(|m| m.contains('a'))
    }

    /// Bound to a loopback address only.
    pub fn loopback_only(&self) -> bool {
        self.addr.as_deref().is_some_and(model::is_loopback)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RiskyFeature {
    pub line: usize,
    pub feature: String,
    pub text: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct McReport {
    pub auth_options: AuthLine,
    pub trust_auth_mech: AuthLine,
    pub auth_mechanisms: AuthLine,
    pub listeners: Vec<Listener>,
    /// Active ones only.
    pub risky_features: Vec<RiskyFeature>,
    /// Active `include`/`sinclude` lines (1-based) and the path as m4 sees it.
    pub includes: Vec<(usize, String)>,
    /// Most lines end in CRLF.
    pub crlf: bool,
    pub bom: bool,
    /// Lines that cannot be understood safely; [`enable_auth`] refuses while there are any.
    pub problems: Vec<McError>,
    /// Lines that look commented out with `#` but that m4 expands: after the include of cf.m4
    /// `#` is plain text (cfhead.m4 runs `changecom()`), so `#FEATURE(`promiscuous_relay')`
    /// is active. Such lines are read (and edited) as the active lines they are.
    pub hash_notes: Vec<McError>,
}

/// Reads the file. Never fails and never panics, whatever the input.
pub fn analyse(text: &str) -> McReport {
    let m = model::Model::new(text);
    let auth = |setting: model::Setting| {
        let cands = &m.auth[setting as usize];
        if let Some(c) = cands.iter().rev().find(|c| c.active) {
            AuthLine::Active {
                line: c.line + 1,
                value: c.value.clone(),
            }
        } else if let Some(c) = cands.iter().find(|c| c.site.is_ok()).or(cands.first()) {
            AuthLine::Commented {
                line: c.line + 1,
                value: c.value.clone(),
            }
        } else {
            AuthLine::Absent
        }
    };
    let mut listeners: Vec<Listener> = m
        .listeners
        .iter()
        .map(|l| Listener {
            line: l.line + 1,
            active: l.active,
            text: m.content(l.line).to_string(),
            name: l.get('n').map(str::to_string),
            port: l.get('p').map(str::to_string),
            addr: l.get('a').map(str::to_string),
            family: l.get('f').map(str::to_string),
            modifiers: l.get('m').map(str::to_string),
        })
        .collect();
    listeners.sort_by_key(|l| l.line);
    McReport {
        auth_options: auth(model::Setting::Options),
        trust_auth_mech: auth(model::Setting::Trust),
        auth_mechanisms: auth(model::Setting::Mechanisms),
        listeners,
        risky_features: m
            .features
            .iter()
            .filter(|f| RISKY_FEATURES.contains(&f.feature.as_str()))
            .map(|f| RiskyFeature {
                line: f.line + 1,
                feature: f.feature.clone(),
                text: m.content(f.line).to_string(),
            })
            .collect(),
        includes: m.includes.iter().map(|(l, p)| (l + 1, p.clone())).collect(),
        crlf: m.doc.crlf(),
        bom: m.doc.bom,
        problems: m.problems.clone(),
        hash_notes: m.notes.iter().map(|(_, e)| e.clone()).collect(),
    }
}

/// [`McEdit::warnings`] for the lines that look commented out with `#` but are active, for
/// the calls `which` accepts.
fn with_hash_notes(text: &str, which: impl Fn(&str, &McError) -> bool, mut edit: McEdit) -> McEdit {
    let m = model::Model::new(text);
    for (name, e) in &m.notes {
        if which(name, e) {
            edit.warnings.push(format!("line {}: {}", e.line, e.reason));
        }
    }
    edit
}

/// HOWTO steps 3 and 4: the three AUTH lines active with `opts`, and port 25 reachable from
/// the network. Refuses (and changes nothing) when [`analyse`] finds any problem.
pub fn enable_auth(text: &str, opts: &McOptions) -> Result<McEdit, McError> {
    enable_auth_with(text, opts, &[], &ListenerChoice::default()).map(|e| e.mc)
}

/// [`enable_auth`] for an mc whose AUTH settings may live in the files it includes (Debian's
/// ``include(`/etc/mail/sasl/sasl.m4')``): a setting an included file makes is edited there,
/// in place, and not added to the mc again (`TRUST_AUTH_MECH` adds up: a second list in the mc
/// would be trusted together with the included one). `listeners` is the admin's choice of the
/// port-25 listener to open where the file alone does not decide it.
pub fn enable_auth_with(
    text: &str,
    opts: &McOptions,
    included: &[Included],
    listeners: &ListenerChoice,
) -> Result<McEdits, McError> {
    edit::enable_auth(text, opts, included, listeners).map(|mut e| {
        e.mc = with_hash_notes(text, |name, _| name != "FEATURE", e.mc);
        e
    })
}

/// Issue 11 item 3: a submission listener on port 587 with `M=Ea` (no ETRN, AUTH required),
/// reachable from the network. Debian's loopback `Name=MSP-v4 ... Addr=127.0.0.1` line loses
/// its Addr (and becomes `MSA-v4`); Red Hat's commented-out `DAEMON_OPTIONS(`Port=submission,
/// Name=MSA, M=Ea')` is activated; otherwise one is added. What the admin has is kept: a 587
/// listener on every address stays as it is (a warning when it does not require AUTH), other
/// modifier letters stay (`E` and `a` are added, `A` is dropped), port 25 and 465 are never
/// touched. A 587 listener bound to a LAN address, or several loopback ones, are refused
/// unless `choice` decides. Refuses (and changes nothing) when [`analyse`] finds any problem.
pub fn enable_submission(text: &str, choice: &SubmissionChoice) -> Result<McEdit, McError> {
    edit::enable_submission(text, choice)
}

/// The active include lines of an mc that may hold settings (everything but the cf tree's own
/// `cf.m4`): 1-based line, the path as written, and whether it is `sinclude` (a missing file
/// is then silently skipped by m4; with `include`, m4 fails).
pub fn setting_includes(text: &str) -> Vec<(usize, String, bool)> {
    include::setting_includes(text)
}

/// HOWTO step 12: puts `dnl ` in front of the active `FEATURE(...)` lines named in `features`.
pub fn disable_features(text: &str, features: &[String]) -> Result<McEdit, McError> {
    edit::disable_features(text, features).map(|e| {
        let lines: Vec<usize> = e.edits.iter().map(|x| x.line).collect();
        with_hash_notes(
            text,
            |name, n| name == "FEATURE" && lines.contains(&n.line),
            e,
        )
    })
}

/// Points every top-level ``include(`/abs')``/``sinclude(`/abs')`` at `ROOT/abs`, so that m4
/// run on a configuration under `root` reads that root's cf tree and include files. For m4 runs
/// only; never write the result back. Other lines, and includes with relative or unusual
/// paths or inside other macros, are unchanged. `root` must not contain quotes or parentheses.
///
/// A file whose [`McReport::includes`] has no `.../cf.m4` (FreeBSD's) is meant to be run after
/// the cf tree: `m4 ROOT/usr/share/sendmail/cf/m4/cf.m4 file.mc`.
pub fn rewrite_includes(text: &str, root: &str) -> String {
    let root = root.trim_end_matches('/');
    rewrite_includes_with(text, |p| format!("{root}{p}"))
}

/// [`rewrite_includes`] with the new path chosen by `place`, which gets the absolute path as
/// written in the mc (`/etc/mail/m4/dialup.m4`) and returns the path m4 should open. The
/// caller resolves symbolic links inside its root there: `ROOT/etc/mail/...` handed to m4
/// as it is would let the kernel follow an absolute link `/etc/mail -> /srv/mail` out of the
/// root to this machine's own `/srv/mail`. For m4 runs only; never write the result back.
pub fn rewrite_includes_with(text: &str, place: impl Fn(&str) -> String) -> String {
    rewrite_includes_core(text, false, place)
}

/// [`rewrite_includes_with`] for relative include paths too (`include(`sasl/sasl.m4')`, read
/// by m4 from its working directory): `place` gets them as written.
pub fn rewrite_every_include_with(text: &str, place: impl Fn(&str) -> String) -> String {
    rewrite_includes_core(text, true, place)
}

fn rewrite_includes_core(text: &str, relative: bool, place: impl Fn(&str) -> String) -> String {
    let m = model::Model::new(text);
    let body = m.doc.body;
    let mut out = String::with_capacity(text.len() + 128);
    if m.doc.bom {
        out.push(text::BOM);
    }
    let mut from = 0;
    for c in &m.scan.calls {
        if c.name != "include" && c.name != "sinclude" {
            continue;
        }
        let Some(&(a, z)) = c.args.first() else {
            continue;
        };
        let raw = &body[a..z];
        let lead = raw.len() - raw.trim_start().len();
        let rest = &raw[lead..];
        let path_at = if rest.starts_with("`/") {
            a + lead + 1
        } else if rest.starts_with('/') {
            a + lead
        } else if relative && rest.starts_with('`') && rest.len() > 1 {
            a + lead + 1
        } else if relative && !rest.is_empty() && !rest.starts_with(['`', '\'']) {
            a + lead
        } else {
            continue;
        };
        // The path runs to the closing quote or parenthesis (or the end of the argument).
        let path_len = body[path_at..z]
            .find(['\'', '`', ')', ',', '\n', '\r'])
            .unwrap_or(z - path_at);
        let path = body[path_at..path_at + path_len].trim_end();
        out.push_str(&body[from..path_at]);
        out.push_str(&place(path));
        from = path_at + path.len();
    }
    out.push_str(&body[from..]);
    out
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod auth_tests;
