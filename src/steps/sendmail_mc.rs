//! HOWTO steps 3 and 4: the three AUTH lines active in sendmail.mc, and a port-25 listener that
//! is not bound to loopback. The editing itself is [`crate::mc`] (pure functions); this step
//! reads the file, chooses the options and turns the result into findings and a change.

use super::read_text;
use crate::engine::step::{Context, PlannedOverlay, Step, StepReport};
use crate::mc;

pub struct SendmailMc;

/// Mechanisms a password check through PAM/saslauthd cannot verify (they need sasldb secrets).
pub use crate::mc::SECRET_MECHANISMS;

impl Step for SendmailMc {
    fn id(&self) -> &'static str {
        "sendmail-mc"
    }
    fn title(&self) -> &'static str {
        "Edit sendmail.mc: AUTH lines and the port-25 listener"
    }
    fn howto(&self) -> &'static str {
        "HOWTO steps 3-4: un-dnl the AUTH lines; stop listening on loopback only"
    }
    fn check(&self, cx: &Context, view: &PlannedOverlay) -> StepReport {
        let mut r = StepReport::new(self);
        let Some(p) = super::profile_or_block(cx, &mut r) else {
            return r.finish();
        };
        let mc_path = &p.sendmail.mc;
        let text = match read_text(view, mc_path) {
            Ok(Some(t)) => t,
            Ok(None) => {
                r.error(
                    Some(mc_path),
                    format!(
                        "{}: is sendmail installed?",
                        super::does_not_exist(&cx.root, mc_path)
                    ),
                    Some("install the packages (packages step)".into()),
                );
                return r.finish();
            }
            Err(e) => {
                r.error(Some(mc_path), e, None);
                return r.finish();
            }
        };
        mc_dangers(&mut r, p, mc_path, &text, "sendmail.mc");
        let mechs = cx.mechanisms();
        // A mechanism this release's Cyrus SASL has no plugin for (the profile's data: Debian
        // 11 has no SCRAM) would be advertised by nobody and trusted for nothing: refused.
        let unavailable: Vec<&String> = mechs
            .iter()
            .filter(|m| {
                p.auth
                    .unavailable_mechanisms
                    .iter()
                    .any(|u| u.eq_ignore_ascii_case(m))
            })
            .collect();
        if !unavailable.is_empty() {
            r.error(
                Some(mc_path),
                format!(
                    "{} cannot be offered here: this release's Cyrus SASL has no plugin for {} ({})",
                    unavailable.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(" "),
                    if unavailable.len() == 1 { "it" } else { "them" },
                    cx.profile_reason
                ),
                Some("leave it out of --mechanisms (answers file: mechanisms), e.g. --mechanisms \"LOGIN PLAIN\" (the default)".into()),
            );
            return r.finish();
        }
        let secret: Vec<&String> = mechs
            .iter()
            .filter(|m| SECRET_MECHANISMS.contains(&m.to_ascii_uppercase().as_str()))
            .collect();
        if !secret.is_empty() && p.auth.password_check != "auxprop" {
            r.warn(
                Some(mc_path),
                format!(
                    "{} will be advertised, but passwords are checked by {} here, which can only verify LOGIN and PLAIN: mail clients pick the strongest mechanism offered, so their logins fail (\"cmusaslsecretCRAM-MD5 not found in sasldb\")",
                    secret.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(" "),
                    p.auth.password_check
                ),
                Some("use --mechanisms \"LOGIN PLAIN\" (the default), or put the users in sasldb with saslpasswd2".into()),
            );
        }
        let unverifiable = if p.auth.password_check == "auxprop" {
            vec![]
        } else {
            SECRET_MECHANISMS.iter().map(|s| s.to_string()).collect()
        };
        let opts = mc::McOptions {
            mechanisms: mechs,
            auth_options: cx
                .opts
                .auth_options
                .clone()
                .unwrap_or_else(|| p.auth.auth_options.clone()),
            exact_options: cx.opts.auth_options.is_some(),
            trust: cx.opts.trust_mechanisms.clone(),
            unverifiable,
        };
        let Some(included) = read_includes(cx, view, mc_path, &text, &mut r) else {
            return r.finish();
        };
        for inc in &included {
            let target = include_target(mc_path, &inc.path);
            mc_dangers(&mut r, p, &target, &inc.text, &inc.path);
        }
        let choice = mc::ListenerChoice {
            open: cx.opts.open_listener.clone(),
        };
        match mc::enable_auth_with(&text, &opts, &included, &choice) {
            Err(e) => {
                let fix = if e.decided_by.is_empty() && e.reason.contains("--open-listener") {
                    "choose the listener with --open-listener NAME (answers: open_listener), or edit the DAEMON_OPTIONS lines by hand, then run the wizard again".to_string()
                } else if e.decided_by.is_empty() {
                    "correct that line by hand (or restore it from sendmail.mc.bak), then run the wizard again".to_string()
                } else {
                    format!("decide with {}", crate::mc::Decider::list(&e.decided_by))
                };
                r.error_decided(
                    Some(mc_path),
                    format!("{}: {e}", cx.root.display(mc_path)),
                    Some(fix),
                    e.decided_by.clone(),
                );
                port25_requires_auth(&mut r, mc_path, &text);
            }
            Ok(all) => {
                let edit = all.mc;
                for w in &edit.warnings {
                    r.warn(Some(mc_path), w.clone(), None);
                }
                for e in &edit.edits {
                    r.info_at(mc_path, format!("line {}: {}", e.line, e.why));
                }
                for (path, inc) in &all.includes {
                    let target = include_target(mc_path, path);
                    for e in &inc.edits {
                        r.info_at(&target, format!("line {}: {}", e.line, e.why));
                    }
                    let mut whys: Vec<String> = inc.edits.iter().map(|e| e.why.clone()).collect();
                    whys.dedup();
                    let why = whys.join("; ");
                    // Written back in the included file's own encoding (its untouched bytes
                    // exact), as the mc is.
                    let bytes = match read_text(view, &target) {
                        Ok(Some(orig)) => orig.encode(&inc.text),
                        Ok(None) => Ok(inc.text.clone().into_bytes()),
                        Err(e) => Err(e),
                    };
                    match bytes {
                        Err(e) => r.error(
                            Some(&target),
                            format!("{}: {e}", cx.root.display(&target)),
                            None,
                        ),
                        Ok(bytes) => {
                            if let Err(e) = r.change(view, &target, bytes, why, None) {
                                r.error(Some(&target), e.to_string(), None);
                            }
                        }
                    }
                }
                port25_requires_auth(&mut r, mc_path, &edit.text);
                if edit.text != text.text {
                    r.info("the quotes in sendmail.mc are directed quotes: a backtick (`) opens, an apostrophe (') closes (HOWTO step 3)");
                    let why = edit
                        .edits
                        .iter()
                        .map(|e| e.why.clone())
                        .collect::<Vec<_>>()
                        .join("; ");
                    super::sendmail_cf::plan_mc(cx, &mut r, view, mc_path, &text, &edit.text, why);
                } else if all.includes.is_empty() {
                    r.info_at(
                        mc_path,
                        "the AUTH lines are active and port 25 is not limited to loopback",
                    );
                }
            }
        }
        r.finish()
    }
}

/// The path of an included file inside the served system: absolute as written, or relative to
/// the mc's directory (where Debian's and Red Hat's Makefiles run m4).
fn include_target(mc_path: &str, path: &str) -> String {
    if path.starts_with('/') {
        return path.to_string();
    }
    let dir = mc_path.rsplit_once('/').map_or("", |(d, _)| d);
    format!("{dir}/{path}")
}

/// The files the mc includes (except cf.m4), read through the view. A missing `include` is an
/// error (m4 stops there); a missing `sinclude` is skipped, as m4 does. `None`: an error was
/// reported.
fn read_includes(
    cx: &Context,
    view: &PlannedOverlay,
    mc_path: &str,
    text: &str,
    r: &mut StepReport,
) -> Option<Vec<mc::Included>> {
    let mut out = Vec::new();
    for (line, path, silent) in mc::setting_includes(text) {
        let target = include_target(mc_path, &path);
        match read_text(view, &target) {
            Ok(Some(t)) => out.push(mc::Included {
                line,
                path: path.clone(),
                text: t.text,
            }),
            Ok(None) if silent => r.info_at(
                mc_path,
                format!(
                    "line {line}: sinclude(`{path}') names a file that does not exist ({}); m4 skips it",
                    cx.root.display(&target)
                ),
            ),
            Ok(None) => {
                r.error(
                    Some(mc_path),
                    format!(
                        "{}: line {line} includes {path}, which does not exist ({}): m4 stops with \"cannot open\" there, so sendmail.cf cannot be built; nothing was changed",
                        cx.root.display(mc_path),
                        cx.root.display(&target)
                    ),
                    Some("restore the file (on Debian, sendmailconfig regenerates /etc/mail/sasl/sasl.m4), or remove the include line, then run the wizard again".into()),
                );
                return None;
            }
            Err(e) => {
                r.error(
                    Some(mc_path),
                    format!(
                        "{}: line {line} includes {path}, which cannot be read: {e}; nothing was changed",
                        cx.root.display(mc_path)
                    ),
                    None,
                );
                return None;
            }
        }
    }
    Some(out)
}

/// Issue 13 item 3: `syscmd`/`esyscmd` and includes from outside /etc/mail and the cf tree,
/// in the mc and in the files it includes that the wizard reads. Warnings, not errors: on a
/// root-owned server they are the admin's own (rare, and worth a look: they run as root
/// whenever sendmail.cf is rebuilt); in another user's tree m4 runs unprivileged anyway.
fn mc_dangers(
    r: &mut StepReport,
    p: &crate::engine::profile::Profile,
    path: &str,
    text: &str,
    name: &str,
) {
    let mc_dir = match p.sendmail.mc.rsplit_once('/') {
        Some((d, _)) if !d.is_empty() => format!("{d}/"),
        _ => "/etc/mail/".to_string(),
    };
    let cf_tree = p
        .sendmail
        .cf_m4
        .trim_end_matches("/m4/cf.m4")
        .trim_end_matches("/cf.m4")
        .to_string()
        + "/";
    let allowed = ["/etc/mail/", mc_dir.as_str(), cf_tree.as_str()];
    for d in mc::dangers(text, &allowed) {
        r.warn(
            Some(path),
            format!("{name}: {}", crate::term::safe_max(&d.describe(), 600)),
            Some(match d.kind {
                mc::DangerKind::Command(_) => {
                    "remove the line if you did not put it there (and find out who did)".into()
                }
                mc::DangerKind::OutsideInclude(_) => format!(
                    "move the file into {mc_dir} (owned by root, not writable by others) and \
                     include it from there"
                ),
            }),
        );
    }
}

/// Item 7 of issue 9: a port-25 listener with `M=a` (`Modifiers=a`, e.g. `M=Ea`) demands AUTH
/// before it accepts any mail, so mail servers delivering to this one (they never
/// authenticate) are refused with "530 5.7.0 Authentication required". `M=A` is the opposite
/// (no AUTH at all) and is not flagged.
fn port25_requires_auth(r: &mut StepReport, mc_path: &str, text: &str) {
    for l in mc::analyse(text).listeners {
        // On loopback only it takes no mail from other servers (local clients can log in).
        if !l.active || !l.port25() || !l.requires_auth() || l.loopback_only() {
            continue;
        }
        let m = l.modifiers.clone().unwrap_or_default();
        let keep: String = m.chars().filter(|&c| c != 'a').collect();
        r.warn(
            Some(mc_path),
            format!(
                "line {}: the port-25 listener{} has M={m}: the a demands SMTP AUTH before any mail is accepted, so other mail servers, which never authenticate, cannot deliver mail for your domains to it (\"530 5.7.0 Authentication required\"); the line reads: {}",
                l.line,
                l.name.as_deref().map(|n| format!(" {n}")).unwrap_or_default(),
                crate::term::safe(l.text.trim())
            ),
            Some(if keep.is_empty() {
                "remove M=a from the port-25 DAEMON_OPTIONS (AUTH stays offered there, just not required); M=Ea belongs on the submission port: DAEMON_OPTIONS(`Port=submission, Name=MSA, M=Ea')".to_string()
            } else {
                format!("write M={keep} instead of M={m} on the port-25 DAEMON_OPTIONS (AUTH stays offered there, just not required); M=Ea belongs on the submission port: DAEMON_OPTIONS(`Port=submission, Name=MSA, M=Ea')")
            }),
        );
    }
}
