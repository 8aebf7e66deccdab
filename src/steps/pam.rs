//! HOWTO step 6: the PAM service file for smtp, with an auth and an account line that work on
//! this distribution. The HOWTO's `pam_stack.so` lines exist only on its own systems (the module
//! was removed from Linux-PAM in 2005). On RHEL `/etc/pam.d/smtp` is an alternatives link: the
//! file it points to is edited, the link is never replaced.

use super::read_text;
use crate::engine::fsops::WriteMeta;
use crate::engine::step::{Context, PlannedOverlay, Step, StepReport};

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
        if replace {
            if let Err(e) = r.change(
                view,
                path,
                want,
                format!("PAM service file as {} needs it", p.name),
                new_meta,
            ) {
                r.error(Some(path), e.to_string(), None);
            }
        }
        r.finish()
    }
}
