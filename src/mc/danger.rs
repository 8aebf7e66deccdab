//! What in an mc runs or reads more than a sendmail configuration should: `syscmd`/`esyscmd`
//! (a shell command, run by whoever runs m4: root, when the admin or the wizard regenerates
//! sendmail.cf) and `include`/`sinclude` of a file outside the cf tree and /etc/mail (its
//! text becomes part of sendmail.cf and is run by m4 the same way, so it must be as
//! protected as the mc itself).
//!
//! A `syscmd` inside a quoted string still counts: a `define` body or an `ifdef` branch is
//! expanded later. Only `dnl` comments (and `#` comments before cf.m4's `changecom()`) are
//! inert. Pure: reads text, never the file system.

use super::lex;
use super::text::is_name_char;

/// One finding: the 1-based line, what it is, and the text m4 would act on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Danger {
    pub line: usize,
    pub kind: DangerKind,
    /// The command (for `syscmd`/`esyscmd`) or the path (for an include), as written.
    pub what: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DangerKind {
    /// `syscmd(...)` or `esyscmd(...)`: the macro's name.
    Command(&'static str),
    /// `include(...)` or `sinclude(...)` of a path outside the allowed directories.
    OutsideInclude(&'static str),
}

impl Danger {
    /// The finding's text, as a step shows it.
    pub fn describe(&self) -> String {
        match self.kind {
            DangerKind::Command(m) => format!(
                "line {}: {m}({}) runs a shell command every time m4 builds sendmail.cf, as \
                 the user running m4 (root, for the admin and for this wizard); a sendmail.mc \
                 has no need for one: check that you put it there",
                self.line, self.what
            ),
            DangerKind::OutsideInclude(m) => format!(
                "line {}: {m}(`{}') reads a file outside /etc/mail and the cf tree: its text \
                 becomes part of sendmail.cf and m4 runs its macros (syscmd included) as the \
                 user running m4; keep included files where only root can change them",
                self.line, self.what
            ),
        }
    }
}

const COMMANDS: [&str; 2] = ["syscmd", "esyscmd"];
const INCLUDES: [&str; 2] = ["include", "sinclude"];

/// The dangers in `text`. `allowed` are directory prefixes (ending in `/`) an absolute include
/// may name: `/etc/mail/` and the cf tree (`/usr/share/sendmail/cf/`). A relative include is
/// read from the mc's own directory: allowed unless it climbs out with `..`.
pub fn dangers(text: &str, allowed: &[&str]) -> Vec<Danger> {
    let mut scan = lex::scan(text, true);
    if scan.cf_include.is_none() {
        scan = lex::scan(text, false);
    }
    let b = text.as_bytes();
    let in_comment = |pos: usize| scan.comments.iter().any(|&(a, z)| a <= pos && pos < z);
    let line_of = |pos: usize| text[..pos].matches('\n').count() + 1;
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if !(b[i].is_ascii_alphabetic() || b[i] == b'_') || (i > 0 && is_name_char(b[i - 1])) {
            i += 1;
            continue;
        }
        let mut end = i;
        while end < b.len() && is_name_char(b[end]) {
            end += 1;
        }
        let name = &text[i..end];
        let cmd = COMMANDS.iter().find(|c| **c == name);
        let inc = INCLUDES.iter().find(|c| **c == name);
        if (cmd.is_some() || inc.is_some()) && !in_comment(i) {
            let arg = first_arg(text, end);
            // Without `(` GNU m4 leaves both names as they are (they need an argument).
            if let (Some(c), Some(arg)) = (cmd, &arg) {
                out.push(Danger {
                    line: line_of(i),
                    kind: DangerKind::Command(c),
                    what: arg.clone(),
                });
            } else if let (Some(m), Some(path)) = (inc, arg) {
                let path = path.trim().to_string();
                if !path.is_empty() && !allowed_path(&path, allowed) {
                    out.push(Danger {
                        line: line_of(i),
                        kind: DangerKind::OutsideInclude(m),
                        what: path,
                    });
                }
            }
        }
        i = end;
    }
    out
}

/// The first argument of a call whose name ends at `at` (`(` must follow at once), without
/// its outer quotes; nested quotes and parentheses kept. `None` when no `(` follows.
fn first_arg(text: &str, at: usize) -> Option<String> {
    let b = text.as_bytes();
    if b.get(at) != Some(&b'(') {
        return None;
    }
    let mut depth = 0usize;
    let mut quote = 0usize;
    let start = at + 1;
    let mut i = start;
    while i < b.len() {
        match b[i] {
            b'`' => quote += 1,
            b'\'' if quote > 0 => quote -= 1,
            b'(' if quote == 0 => depth += 1,
            b')' if quote == 0 && depth == 0 => break,
            b')' if quote == 0 => depth -= 1,
            b',' if quote == 0 && depth == 0 => break,
            b'\n' if quote == 0 && i - start > 400 => break,
            _ => {}
        }
        i += 1;
    }
    Some(lex::unquote_once(text[start..i.min(b.len())].trim()))
}

fn allowed_path(path: &str, allowed: &[&str]) -> bool {
    let climbs = path.split('/').any(|c| c == "..");
    if !path.starts_with('/') {
        return !climbs;
    }
    !climbs && allowed.iter().any(|a| path.starts_with(a))
}

#[cfg(test)]
mod tests {
    use super::*;

    const OK: &[&str] = &["/etc/mail/", "/usr/share/sendmail/cf/"];

    fn kinds(t: &str) -> Vec<(usize, DangerKind, String)> {
        dangers(t, OK)
            .into_iter()
            .map(|d| (d.line, d.kind, d.what))
            .collect()
    }

    #[test]
    fn commands_are_found_wherever_m4_would_expand_them() {
        let mc = "divert(-1)\ninclude(`/usr/share/sendmail/cf/m4/cf.m4')dnl\nsyscmd(`touch /tmp/x')dnl\ndefine(`F', `esyscmd(`id')')dnl\nifdef(`X', `syscmd(cat /etc/shadow)')\n#syscmd(`after cf.m4 # is text')\n";
        let k = kinds(mc);
        assert_eq!(
            k,
            vec![
                (3, DangerKind::Command("syscmd"), "touch /tmp/x".into()),
                (4, DangerKind::Command("esyscmd"), "id".into()),
                (5, DangerKind::Command("syscmd"), "cat /etc/shadow".into()),
                (
                    6,
                    DangerKind::Command("syscmd"),
                    "after cf.m4 # is text".into()
                ),
            ]
        );
        assert!(dangers(mc, OK)[0]
            .describe()
            .contains("line 3: syscmd(touch /tmp/x)"));
    }

    #[test]
    fn comments_and_other_words_are_not_commands() {
        let mc = "dnl syscmd(`touch /tmp/x')\n# syscmd(`before cf.m4 this is a comment')\nmysyscmd(`x')\nsyscmdx\nVERSIONID(`esyscmd is mentioned')dnl\ninclude(`/usr/share/sendmail/cf/m4/cf.m4')dnl\n";
        // A bare `esyscmd` (no parenthesis) is left alone by m4.
        assert_eq!(kinds(mc), vec![]);
    }

    #[test]
    fn includes_outside_etc_mail_and_the_cf_tree_are_found() {
        let mc = "include(`/usr/share/sendmail/cf/m4/cf.m4')dnl\ninclude(`/etc/mail/m4/dialup.m4')dnl\nsinclude(`/etc/mail/sasl/sasl.m4')dnl\ninclude(`local.m4')dnl\ninclude(`/home/alice/evil.m4')dnl\nsinclude(`/tmp/x.m4')dnl\ninclude(`/etc/mail/../shadow')dnl\ninclude(`../up.m4')dnl\ndnl include(`/home/bob/off.m4')\ninclude(/var/tmp/unquoted.m4)dnl\n";
        let k = kinds(mc);
        let paths: Vec<(usize, String)> = k
            .into_iter()
            .map(|(l, kind, w)| {
                assert!(matches!(kind, DangerKind::OutsideInclude(_)));
                (l, w)
            })
            .collect();
        assert_eq!(
            paths,
            vec![
                (5, "/home/alice/evil.m4".into()),
                (6, "/tmp/x.m4".into()),
                (7, "/etc/mail/../shadow".into()),
                (8, "../up.m4".into()),
                (10, "/var/tmp/unquoted.m4".into()),
            ]
        );
    }

    #[test]
    fn the_corpus_mcs_have_no_dangers_and_odd_input_never_panics() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus/mc");
        let allowed = [
            "/etc/mail/",
            "/usr/share/sendmail/cf/",
            "/usr/share/sendmail-cf/",
        ];
        for e in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            if let Ok(t) = std::fs::read_to_string(e.path()) {
                assert_eq!(dangers(&t, &allowed), vec![], "{}", e.path().display());
            }
        }
        for t in [
            "syscmd(",
            "include(`",
            "esyscmd",
            "include(",
            "syscmd(`a",
            "\u{feff}syscmd(é)",
        ] {
            let _ = dangers(t, OK);
        }
    }
}
