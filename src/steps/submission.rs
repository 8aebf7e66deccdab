//! Issue 11 item 3 (beyond the HOWTO): the submission port 587 with `M=Ea` (no ETRN, AUTH
//! required), reachable from the network, for mail clients; port 25 stays as it is for mail
//! from other servers, which never authenticate. The editing is [`crate::mc::enable_submission`]
//! (pure); this step reads sendmail.mc from the planned view (so the edits of the steps before
//! it are kept), turns the result into findings and a change, and regenerates sendmail.cf
//! itself, since it runs after the sendmail-cf step.

use super::read_text;
use crate::engine::step::{Context, PlannedOverlay, Step, StepReport};
use crate::mc;

pub struct Submission;

/// What the listeners on 587 will be after this step, for the reports of the ehlo step and the
/// Summary: `None` when sendmail.mc cannot be read.
pub fn listeners_587(text: &str) -> Vec<mc::Listener> {
    mc::analyse(text)
        .listeners
        .into_iter()
        .filter(|l| l.active && l.submission())
        .collect()
}

impl Step for Submission {
    fn id(&self) -> &'static str {
        "submission"
    }
    fn title(&self) -> &'static str {
        "Submission port 587 for mail clients (AUTH required)"
    }
    fn howto(&self) -> &'static str {
        "beyond the HOWTO: port 587 with M=Ea, reachable from the network; port 25 stays for inbound mail"
    }
    fn check(&self, cx: &Context, view: &PlannedOverlay) -> StepReport {
        let mut r = StepReport::new(self);
        if !cx.opts.submission {
            r.warn(
                None,
                "the submission port 587 is not opened to the network (--no-submission): mail \
                 clients must send through port 25, where sendmail does not demand AUTH before \
                 accepting mail for local users, and where many networks block outgoing \
                 connections",
                Some(
                    "run without --no-submission (answers file: submission: true) to open it"
                        .into(),
                ),
            );
            r.skip("skipped at your request (--no-submission, answers: submission: false)");
            return r.finish();
        }
        let Some(p) = super::profile_or_block(cx, &mut r) else {
            return r.finish();
        };
        let mc_path = &p.sendmail.mc;
        let text = match read_text(view, mc_path) {
            Ok(Some(t)) => t,
            Ok(None) => {
                r.block(super::does_not_exist(&cx.root, mc_path), None);
                return r.finish();
            }
            Err(e) => {
                r.error(Some(mc_path), e, None);
                return r.finish();
            }
        };
        let choice = mc::SubmissionChoice {
            listener: cx.opts.submission_listener.clone(),
        };
        match mc::enable_submission(&text, &choice) {
            Err(e) => {
                let fix = if e.decided_by.is_empty() {
                    "correct that line by hand, or skip this step with --no-submission (answers \
                     file: submission: false), then run the wizard again"
                        .to_string()
                } else {
                    format!(
                        "decide with {}, or skip this step with --no-submission (answers file: \
                         submission: false)",
                        crate::mc::Decider::list(&e.decided_by)
                    )
                };
                r.error_decided(
                    Some(mc_path),
                    format!("{}: {e}", cx.root.display(mc_path)),
                    Some(fix),
                    e.decided_by.clone(),
                );
            }
            Ok(edit) => {
                for w in &edit.warnings {
                    r.warn(Some(mc_path), w.clone(), None);
                }
                for e in &edit.edits {
                    r.info_at(mc_path, format!("line {}: {}", e.line, e.why));
                }
                if edit.edits.is_empty() {
                    let open: Vec<String> = listeners_587(&edit.text)
                        .iter()
                        .map(|l| format!("line {} ({})", l.line, l.text.trim()))
                        .collect();
                    if !open.is_empty() {
                        r.info_at(
                            mc_path,
                            format!("port 587 is already set up: {}", open.join("; ")),
                        );
                    }
                    return r.finish();
                }
                let why = edit
                    .edits
                    .iter()
                    .map(|e| e.why.clone())
                    .collect::<Vec<_>>()
                    .join("; ");
                super::sendmail_cf::plan_mc_and_cf(
                    cx, &mut r, view, mc_path, &text, edit.text, why,
                );
            }
        }
        r.finish()
    }
}
