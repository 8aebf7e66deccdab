//! HOWTO step 12: no relaying "in funny forms" in sendmail.mc. Active risky FEATUREs are
//! findings; apply puts `dnl ` before them (unless kept with --keep-feature) and regenerates
//! sendmail.cf, since this runs after the sendmail-cf step.

use super::read_text;
use crate::engine::step::{Context, PlannedOverlay, Step, StepReport};
use crate::mc;

pub struct RelayFeatures;

fn risk(feature: &str) -> &'static str {
    match feature {
        "promiscuous_relay" => "relays for anyone: an open relay",
        "relay_entire_domain" => "relays for every host in your domains, without authentication",
        "relay_based_on_MX" => {
            "relays for any domain that lists this server as MX, which anyone can arrange"
        }
        "relay_hosts_only" => {
            "changes relay-domains to match host names exactly (review what it lists)"
        }
        "loose_relay_check" => {
            "accepts %-hack addresses (user%other@here) that can be used to relay"
        }
        "relay_local_from" => {
            "relays when the envelope sender claims a local domain, which anyone can forge"
        }
        "relay_mail_from" => {
            "relays when the envelope sender is listed in access with RELAY, which anyone can forge"
        }
        "accept_unresolvable_domains" => {
            "accepts mail from senders whose domain does not resolve (spam)"
        }
        _ => "weakens relay control",
    }
}

impl Step for RelayFeatures {
    fn id(&self) -> &'static str {
        "relay-features"
    }
    fn title(&self) -> &'static str {
        "No risky relay FEATUREs in sendmail.mc"
    }
    fn howto(&self) -> &'static str {
        "HOWTO step 12: no accept_unresolvable_domains, relay_based_on_MX or any of that"
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
                r.block(format!("{} does not exist", cx.root.display(mc_path)), None);
                return r.finish();
            }
            Err(e) => {
                r.error(Some(mc_path), e, None);
                return r.finish();
            }
        };
        let report = mc::analyse(&text);
        let mut disable = vec![];
        for f in &report.risky_features {
            if cx.opts.keep_features.iter().any(|k| k == &f.feature) {
                r.info_at(
                    mc_path,
                    format!(
                        "line {}: FEATURE({}) kept at your request: it {}",
                        f.line,
                        f.feature,
                        risk(&f.feature)
                    ),
                );
            } else {
                r.warn(
                    Some(mc_path),
                    format!(
                        "line {}: FEATURE({}) {}",
                        f.line,
                        f.feature,
                        risk(&f.feature)
                    ),
                    Some(format!(
                        "apply puts `dnl ` before it (keep it with --keep-feature {})",
                        f.feature
                    )),
                );
                if !disable.contains(&f.feature) {
                    disable.push(f.feature.clone());
                }
            }
        }
        if report.risky_features.is_empty() {
            r.info_at(mc_path, "no risky relay FEATURE is active");
        }
        if !disable.is_empty() {
            match mc::disable_features(&text, &disable) {
                Ok(edit) => {
                    for w in &edit.warnings {
                        r.warn(Some(mc_path), w.clone(), None);
                    }
                    let why = format!("HOWTO step 12: disable {}", disable.join(", "));
                    super::sendmail_cf::plan_mc_and_cf(
                        cx, &mut r, view, mc_path, &text, edit.text, why,
                    );
                }
                Err(e) => r.error(
                    Some(mc_path),
                    format!("{}: {e}", cx.root.display(mc_path)),
                    None,
                ),
            }
        }
        r.finish()
    }
}
