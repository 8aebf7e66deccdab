//! HOWTO step 6: the PAM service file for smtp, with an auth and an account line that work on
//! this distribution. The HOWTO's `pam_stack.so` lines exist only on its own systems (the module
//! was removed from Linux-PAM in 2005). On RHEL `/etc/pam.d/smtp` is an alternatives link: the
//! file it points to is edited, the link is never replaced.
//!
//! Who may log in (issue 11 item 4a): through saslauthd and PAM every system account with a
//! password, root included, can be guessed over SMTP. `--login-group GROUP` puts two
//! `requisite pam_succeed_if.so` lines before the first auth line of the smtp service: the
//! user's uid is at least `--login-min-uid` (default 1: never root, nor any other uid-0
//! account) and the user is in GROUP. Every other line (includes, other modules, comments,
//! line endings) is kept. `requisite` ends the stack at once, so no password of an excluded
//! account is ever checked.

use super::{eol_of, lines_with_endings, read_text};
use crate::engine::fsops::WriteMeta;
use crate::engine::step::{Context, PasswordSource, PlannedOverlay, Step, StepReport};
use crate::mc::Decider;

pub struct Pam;

fn active_lines(text: &str) -> impl Iterator<Item = &str> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
}

fn has_prefix(text: &str, prefixes: &[String]) -> bool {
    active_lines(text).any(|l| {
        prefixes.iter().any(|p| {
            l.starts_with(p.as_str())
                && l[p.len()..]
                    .chars()
                    .next()
                    .is_none_or(|c| c.is_whitespace())
        })
    })
}

/// Where PAM modules live on the distributions the profiles cover (Debian multiarch, RHEL).
pub const MODULE_DIRS: &[&str] = &[
    "/lib/x86_64-linux-gnu/security",
    "/usr/lib/x86_64-linux-gnu/security",
    "/lib/aarch64-linux-gnu/security",
    "/usr/lib/aarch64-linux-gnu/security",
    "/lib64/security",
    "/usr/lib64/security",
    "/lib/security",
    "/usr/lib/security",
];

/// The default lowest uid that may log in with `--login-group`: 1, so never root.
pub const DEFAULT_MIN_UID: u32 = 1;

/// Who may log in over SMTP AUTH under these choices, in one sentence (for the ehlo step's
/// report and the TUI Summary, issue 11 item 6).
pub fn who_may_log_in(opts: &crate::engine::step::Options) -> String {
    match (opts.password_source(), &opts.login_group) {
        (PasswordSource::Sasldb, _) => {
            "the mail-only users in sasldb (`smtpauth-wizard users list`); system accounts cannot"
                .into()
        }
        (PasswordSource::Saslauthd, Some(g)) => format!(
            "the members of group {g} with uid {} or more (never root), with their system password",
            opts.login_min_uid.unwrap_or(DEFAULT_MIN_UID)
        ),
        (PasswordSource::Saslauthd, None) => {
            "every system account with a password, root included (restrict it with --login-group)"
                .into()
        }
    }
}

fn login_group_decider() -> Decider {
    Decider::new("--login-group", "login_group")
}

/// Whether `g` is a group name that can stand in a PAM line (and in /etc/group): no blanks,
/// no `:`, nothing a PAM parser would split or a shell would expand.
pub fn valid_group_name(g: &str) -> bool {
    let mut c = g.chars();
    g.len() <= 32
        && c.next()
            .is_some_and(|f| f.is_ascii_alphabetic() || f == '_')
        && c.all(|ch| ch.is_ascii_alphanumeric() || matches!(ch, '_' | '.' | '-'))
}

/// The two lines that restrict SMTP AUTH: the uid first (root never), then the group.
pub fn restriction_lines(group: &str, min_uid: u32) -> [String; 2] {
    [
        format!("auth\trequisite\tpam_succeed_if.so uid >= {min_uid}"),
        format!("auth\trequisite\tpam_succeed_if.so user ingroup {group}"),
    ]
}

/// A PAM line's words, for comparing lines whatever their spacing.
fn words(l: &str) -> Vec<&str> {
    l.split_whitespace().collect()
}

/// The group an active `pam_succeed_if.so ... user ingroup G` line restricts to, if any.
pub fn restricted_groups(text: &str) -> Vec<String> {
    active_lines(text)
        .filter(|l| l.contains("pam_succeed_if.so"))
        .filter_map(|l| {
            let w = words(l);
            w.windows(3)
                .find(|x| x[0] == "user" && x[1] == "ingroup")
                .map(|x| x[2].to_string())
        })
        .collect()
}

/// `text` with each of `lines` that it does not already have (as active lines, spacing
/// aside) inserted before its first auth line (`auth`, `-auth`, `@include common-auth`,
/// `auth include ...`), or at the end when it has none. Every other byte is kept.
pub fn insert_before_auth(text: &str, lines: &[String], auth_prefixes: &[String]) -> String {
    let missing: Vec<&String> = lines
        .iter()
        .filter(|want| !active_lines(text).any(|l| words(l) == words(want)))
        .collect();
    if missing.is_empty() {
        return text.to_string();
    }
    let eol = eol_of(text);
    let block: String = missing.iter().map(|l| format!("{l}{eol}")).collect();
    let is_auth = |l: &str| {
        let t = l.trim();
        !t.starts_with('#')
            && (t.starts_with("-auth")
                || has_prefix(t, auth_prefixes)
                || has_prefix(t, &["auth".to_string(), "@include common-auth".to_string()]))
    };
    let mut out = String::with_capacity(text.len() + block.len());
    let mut done = false;
    for l in lines_with_endings(text) {
        if !done && is_auth(l) {
            out.push_str(&block);
            done = true;
        }
        out.push_str(l);
    }
    if !done {
        if !out.is_empty() && !out.ends_with('\n') {
            out.push_str(eol);
        }
        out.push_str(&block);
    }
    out
}

/// Group `name` in an /etc/group text: its gid and listed members.
pub fn find_group(group_text: &str, name: &str) -> Option<(u32, Vec<String>)> {
    group_text.lines().find_map(|l| {
        let f: Vec<&str> = l.split(':').collect();
        if f.len() >= 3 && f[0] == name {
            let gid = f[2].trim().parse().ok()?;
            let members = f
                .get(3)
                .map(|m| {
                    m.split(',')
                        .map(str::trim)
                        .filter(|s| !s.is_empty())
                        .map(str::to_string)
                        .collect()
                })
                .unwrap_or_default();
            Some((gid, members))
        } else {
            None
        }
    })
}

/// Users of an /etc/passwd text whose primary group is `gid`, with their uids.
fn primary_members(passwd: &str, gid: u32) -> Vec<(String, u32)> {
    passwd
        .lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split(':').collect();
            (f.len() >= 4 && f[3].parse::<u32>().ok() == Some(gid))
                .then(|| Some((f[0].to_string(), f[2].parse().ok()?)))
                .flatten()
        })
        .collect()
}

fn uid_of(passwd: &str, user: &str) -> Option<u32> {
    passwd.lines().find_map(|l| {
        let f: Vec<&str> = l.split(':').collect();
        (f.len() >= 3 && f[0] == user)
            .then(|| f[2].parse().ok())
            .flatten()
    })
}

/// Checks the chosen group against /etc/group (and /etc/passwd for who is in it) and the PAM
/// module against the module directories. `Err`: a refusal, already reported in `r`.
fn check_group(
    cx: &Context,
    view: &PlannedOverlay,
    r: &mut StepReport,
    group: &str,
    min_uid: u32,
) -> Result<(), ()> {
    if !valid_group_name(group) {
        r.error_decided(
            None,
            format!("--login-group {group:?} is not a group name (letters, digits, `_`, `.` and `-`, starting with a letter or `_`, at most 32)"),
            Some("give the name of a group in /etc/group with --login-group GROUP (answers: login_group)".into()),
            vec![login_group_decider()],
        );
        return Err(());
    }
    let read = |f: &str| -> Result<String, String> {
        match read_text(view, f) {
            Ok(Some(t)) => Ok(t.text),
            Ok(None) => Err(format!("{} does not exist", cx.root.display(f))),
            Err(e) => Err(e),
        }
    };
    let groups = match read("/etc/group") {
        Ok(t) => t,
        Err(e) => {
            r.error(
                Some("/etc/group"),
                format!("cannot check --login-group {group}: {e}"),
                None,
            );
            return Err(());
        }
    };
    let Some((gid, listed)) = find_group(&groups, group) else {
        r.error_decided(
            Some("/etc/group"),
            format!("--login-group {group}: there is no group {group} in {}: PAM would refuse every SMTP login", cx.root.display("/etc/group")),
            Some(format!("create it and add the users who may send mail (`groupadd {group}; usermod -aG {group} USER`), or name another group with --login-group (answers: login_group)")),
            vec![login_group_decider()],
        );
        return Err(());
    };
    let passwd = read("/etc/passwd").unwrap_or_default();
    let mut members: Vec<(String, Option<u32>)> = listed
        .iter()
        .map(|u| (u.clone(), uid_of(&passwd, u)))
        .collect();
    for (u, uid) in primary_members(&passwd, gid) {
        if !members.iter().any(|(m, _)| *m == u) {
            members.push((u, Some(uid)));
        }
    }
    let allowed: Vec<&str> = members
        .iter()
        .filter(|(_, uid)| uid.is_none_or(|u| u >= min_uid))
        .map(|(u, _)| u.as_str())
        .collect();
    let kept_out: Vec<&str> = members
        .iter()
        .filter(|(_, uid)| uid.is_some_and(|u| u < min_uid))
        .map(|(u, _)| u.as_str())
        .collect();
    if !kept_out.is_empty() {
        r.info(format!(
            "{} {} in group {group} but kept out by uid >= {min_uid}",
            kept_out.join(", "),
            if kept_out.len() == 1 { "is" } else { "are" }
        ));
    }
    if allowed.is_empty() {
        r.warn(
            Some("/etc/group"),
            format!("group {group} (gid {gid}) has no member who may log in: nobody can log in over SMTP AUTH until you add users (`usermod -aG {group} USER`)"),
            None,
        );
    } else {
        r.info(format!(
            "may log in over SMTP AUTH: {} (group {group})",
            allowed.join(", ")
        ));
    }
    // A `requisite` module that does not exist fails every login: refused when this system's
    // module directory is there but has no pam_succeed_if.so.
    let dirs: Vec<&&str> = MODULE_DIRS
        .iter()
        .filter(|d| cx.root.exists(&format!("{d}/pam_unix.so")))
        .collect();
    if !dirs.is_empty()
        && !MODULE_DIRS
            .iter()
            .any(|d| cx.root.exists(&format!("{d}/pam_succeed_if.so")))
    {
        r.error_decided(
            None,
            format!(
                "--login-group needs the PAM module pam_succeed_if.so, which is not in {}: every SMTP login would fail",
                dirs.iter().map(|d| cx.root.display(d)).collect::<Vec<_>>().join(", ")
            ),
            Some("install the distribution's PAM modules (Debian: libpam-modules), or leave --login-group out".into()),
            vec![login_group_decider()],
        );
        return Err(());
    }
    Ok(())
}

impl Step for Pam {
    fn id(&self) -> &'static str {
        "pam"
    }
    fn title(&self) -> &'static str {
        "PAM service file for smtp"
    }
    fn howto(&self) -> &'static str {
        "HOWTO step 6: /etc/pam.d/smtp"
    }
    fn check(&self, cx: &Context, view: &PlannedOverlay) -> StepReport {
        let mut r = StepReport::new(self);
        let Some(p) = super::profile_or_block(cx, &mut r) else {
            return r.finish();
        };
        let path = &p.pam.path;
        match cx.root.resolve(path) {
            Ok(res) if !res.via_links.is_empty() => r.info(format!(
                "{} is a link ({}) to {}: the file it points to is checked and edited, the link stays",
                path,
                res.via_links.join(" -> "),
                res.target
            )),
            Err(e) => {
                r.error(Some(path), e.to_string(), None);
                return r.finish();
            }
            _ => {}
        }
        let text = match read_text(view, path) {
            Ok(t) => t,
            Err(e) => {
                r.error(Some(path), e, None);
                return r.finish();
            }
        };
        let want = p.pam.content.clone().into_bytes();
        let new_meta = Some(WriteMeta {
            mode: 0o644,
            owner: Some((0, 0)),
            mtime: None,
        });
        let replace = match &text {
            None => {
                r.warn(Some(path), format!("{} does not exist: SASL's PAM check for smtp falls back to the `other` service, which denies on many systems", path), None);
                true
            }
            Some(t) => {
                let broken: Vec<&String> = p
                    .pam
                    .broken_if_contains
                    .iter()
                    .filter(|b| active_lines(t).any(|l| l.contains(b.as_str())))
                    .collect();
                let auth = has_prefix(t, &p.pam.auth_prefixes);
                let account = has_prefix(t, &p.pam.account_prefixes);
                if !broken.is_empty() {
                    r.warn(
                        Some(path),
                        format!("{} uses {}, which does not exist on this distribution: every PAM login through it fails", path, broken.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", ")),
                        None,
                    );
                    true
                } else if !auth || !account {
                    r.warn(
                        Some(path),
                        format!(
                            "{} has no {} line",
                            path,
                            if !auth { "auth" } else { "account" }
                        ),
                        None,
                    );
                    true
                } else {
                    r.info_at(path, format!("{path} has an auth and an account line"));
                    false
                }
            }
        };
        let sasldb = cx.opts.password_source() == PasswordSource::Sasldb;
        // What is written: the profile's content when the file must be replaced, the edited
        // file when a restriction is added; nothing otherwise (a file that is not UTF-8 is
        // never turned into UTF-8 by a no-op).
        let mut new = replace.then_some(want);
        let mut why = format!("PAM service file as {} needs it", p.name);
        if cx.opts.login_group.is_none() {
            if let Some(u) = cx.opts.login_min_uid {
                r.error_decided(
                    None,
                    format!("--login-min-uid {u} applies only with --login-group GROUP: without a group every system account may log in, whatever its uid"),
                    Some("add --login-group GROUP (answers: login_group), or leave --login-min-uid out".into()),
                    vec![login_group_decider(), Decider::new("--login-min-uid", "login_min_uid")],
                );
                return r.finish();
            }
        }
        match (&cx.opts.login_group, sasldb) {
            (Some(g), true) => {
                r.error_decided(
                    Some(path),
                    format!("--login-group {g} restricts system accounts checked through PAM, but with --password-source sasldb PAM is not asked: the users in sasldb are who may log in"),
                    Some("leave --login-group out (answers: login_group), or keep --password-source saslauthd".into()),
                    vec![login_group_decider(), super::sasl::password_source_decider()],
                );
                return r.finish();
            }
            (None, true) => r.info(
                "passwords come from sasldb (--password-source sasldb): this file does not decide who may log in over SMTP",
            ),
            (None, false) => {
                r.warn(
                    Some(path),
                    format!("every system account with a password, root included, may log in over SMTP AUTH through {path}, so their passwords can be guessed over the network"),
                    Some("allow only the members of one group (never root) with --login-group GROUP (answers: login_group), or mail-only users with --password-source sasldb".into()),
                );
                if let Some(f) = r.findings.last_mut() {
                    f.decided_by = vec![login_group_decider()];
                }
            }
            (Some(g), false) => {
                let min_uid = cx.opts.login_min_uid.unwrap_or(DEFAULT_MIN_UID);
                if check_group(cx, view, &mut r, g, min_uid).is_err() {
                    return r.finish();
                }
                let cur = match text.as_ref() {
                    Some(t) => t.clone(),
                    None => super::Text::default(),
                };
                let base = if replace {
                    p.pam.content.clone()
                } else {
                    cur.text.clone()
                };
                let others: Vec<String> = restricted_groups(&base)
                    .into_iter()
                    .filter(|x| x != g)
                    .collect();
                if !others.is_empty() {
                    r.error_decided(
                        Some(path),
                        format!("{path} already restricts SMTP AUTH to group {} (a pam_succeed_if.so line): the wizard does not add a second group beside it (users would have to be in both)", others.join(", ")),
                        Some(format!("keep that restriction with --login-group {} (answers: login_group), or remove that line yourself", others[0])),
                        vec![login_group_decider()],
                    );
                    return r.finish();
                }
                let edited = insert_before_auth(
                    &base,
                    &restriction_lines(g, min_uid),
                    &p.pam.auth_prefixes,
                );
                if edited == base && !replace {
                    r.info_at(path, format!("{path} lets only group {g} log in (uid >= {min_uid})"));
                } else {
                    new = match (if replace { super::Text::default() } else { cur }).encode(&edited) {
                        Ok(b) => Some(b),
                        Err(e) => {
                            r.error(Some(path), format!("{}: {e}", cx.root.display(path)), None);
                            return r.finish();
                        }
                    };
                    why = format!("only members of group {g}, never uid < {min_uid}, may log in over SMTP AUTH (--login-group)");
                }
            }
        }
        if let Some(new) = new {
            if let Err(e) = r.change(view, path, new, why, new_meta) {
                r.error(Some(path), e.to_string(), None);
            }
        }
        r.finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn prefixes() -> Vec<String> {
        vec!["@include common-auth".into(), "auth".into()]
    }

    #[test]
    fn lines_go_before_the_first_auth_line_once() {
        let l = restriction_lines("mail", 1);
        let t = "# c\n@include common-auth\n@include common-account\n";
        let n = insert_before_auth(t, &l, &prefixes());
        assert_eq!(
            n,
            "# c\nauth\trequisite\tpam_succeed_if.so uid >= 1\nauth\trequisite\tpam_succeed_if.so user ingroup mail\n@include common-auth\n@include common-account\n"
        );
        assert_eq!(insert_before_auth(&n, &l, &prefixes()), n);
        // A commented-out restriction does not count; spacing does not matter.
        let t = "#auth requisite pam_succeed_if.so uid >= 1\nauth   requisite pam_succeed_if.so   user ingroup mail\nauth include x\n";
        let n = insert_before_auth(t, &l, &prefixes());
        assert_eq!(
            n,
            "#auth requisite pam_succeed_if.so uid >= 1\nauth\trequisite\tpam_succeed_if.so uid >= 1\nauth   requisite pam_succeed_if.so   user ingroup mail\nauth include x\n"
        );
        // "authx" is not an auth line; none at all: appended.
        assert_eq!(
            insert_before_auth("authx y", &l[..1], &prefixes()),
            "authx y\nauth\trequisite\tpam_succeed_if.so uid >= 1\n"
        );
    }

    #[test]
    fn who_may_log_in_follows_the_choices() {
        use crate::engine::step::Options;
        let mut o = Options::default();
        assert!(who_may_log_in(&o).contains("root included"));
        o.login_group = Some("mail".into());
        assert_eq!(
            who_may_log_in(&o),
            "the members of group mail with uid 1 or more (never root), with their system password"
        );
        o.login_min_uid = Some(1000);
        assert!(who_may_log_in(&o).contains("uid 1000 or more"));
        o.password_source = Some(PasswordSource::Sasldb);
        assert!(who_may_log_in(&o).starts_with("the mail-only users in sasldb"));
    }

    #[test]
    fn groups_and_names() {
        assert_eq!(
            restricted_groups("auth required pam_succeed_if.so user ingroup staff\n# auth required pam_succeed_if.so user ingroup x\n"),
            vec!["staff"]
        );
        let g = "root:x:0:\nmail:x:8:a, b ,\nbad\nx:y:notanumber:\n";
        assert_eq!(
            find_group(g, "mail"),
            Some((8, vec!["a".into(), "b".into()]))
        );
        assert_eq!(find_group(g, "root"), Some((0, vec![])));
        assert_eq!(find_group(g, "x"), None);
        assert_eq!(find_group(g, "nope"), None);
        for ok in ["smtpusers", "_x", "mail-users", "a.b"] {
            assert!(valid_group_name(ok), "{ok}");
        }
        for bad in ["", "1abc", "a b", "a\nb", "-x", "a:b", &"a".repeat(33)] {
            assert!(!valid_group_name(bad), "{bad:?}");
        }
    }
}
