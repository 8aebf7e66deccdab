//! HOWTO steps 3 and 4: the three AUTH lines active in sendmail.mc, and a port-25 listener that
//! is not bound to loopback. The editing itself is [`crate::mc`] (pure functions); this step
//! reads the file, chooses the options and turns the result into findings and a change.

use super::read_text;
use crate::engine::step::{Context, Step, StepReport, View};
use crate::mc;

pub struct SendmailMc;

/// Mechanisms a password check through PAM/saslauthd cannot verify (they need sasldb secrets).
pub const SECRET_MECHANISMS: &[&str] = &[
    "CRAM-MD5",
    "DIGEST-MD5",
    "SCRAM-SHA-1",
    "SCRAM-SHA-256",
    "NTLM",
];

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
    fn check(&self, cx: &Context, view: &View) -> StepReport {
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
        let mechs = cx.mechanisms();
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
        let opts = mc::McOptions {
            mechanisms: mechs,
            auth_options: p.auth.auth_options.clone(),
        };
        match mc::enable_auth(&text, &opts) {
            Err(e) => r.error(
                Some(mc_path),
                format!("{}: {e}", cx.root.display(mc_path)),
                Some("correct that line by hand (or restore it from sendmail.mc.bak), then run the wizard again".into()),
            ),
            Ok(edit) => {
                for w in &edit.warnings {
                    r.warn(Some(mc_path), w.clone(), None);
                }
                for e in &edit.edits {
                    r.info_at(mc_path, format!("line {}: {}", e.line, e.why));
                }
                if edit.text != text.text {
                    r.info("the quotes in sendmail.mc are directed quotes: a backtick (`) opens, an apostrophe (') closes (HOWTO step 3)");
                    let why = edit.edits.iter().map(|e| e.why.clone()).collect::<Vec<_>>().join("; ");
                    match text.encode(&edit.text) {
                        Err(e) => r.error(Some(mc_path), format!("{}: {e}", cx.root.display(mc_path)), None),
                        Ok(bytes) => {
                            if let Err(e) = r.change(view, mc_path, bytes, why, None) {
                                r.error(Some(mc_path), e.to_string(), None);
                            }
                        }
                    }
                } else {
                    r.info_at(mc_path, "the AUTH lines are active and port 25 is not limited to loopback");
                }
            }
        }
        r.finish()
    }
}
