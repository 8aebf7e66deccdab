//! HOWTO step 11: /etc/mail/relay-domains exists and lists only domains this server hosts.
//! Sendmail relays for every client and recipient in those domains without authentication, so
//! a domain that is not a local host name (local-host-names, `Cw` lines in the mc) is a
//! finding. Removing such entries is only done on request (--prune-relay-domains): the wizard
//! cannot know which domains you host through a virtusertable.

use super::{lines_with_endings, read_text};
use crate::engine::fsops::WriteMeta;
use crate::engine::step::{Context, PlannedOverlay, Step, StepReport};

pub struct RelayDomains;

fn entries(text: &str) -> Vec<String> {
    text.lines()
        .map(|l| l.trim())
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| {
            l.split_whitespace()
                .next()
                .unwrap_or("")
                .to_ascii_lowercase()
        })
        .collect()
}

impl Step for RelayDomains {
    fn id(&self) -> &'static str {
        "relay-domains"
    }
    fn title(&self) -> &'static str {
        "relay-domains: only the domains you host"
    }
    fn howto(&self) -> &'static str {
        "HOWTO step 11: /etc/mail/relay-domains contains only your domains"
    }
    fn check(&self, cx: &Context, view: &PlannedOverlay) -> StepReport {
        let mut r = StepReport::new(self);
        let Some(p) = super::profile_or_block(cx, &mut r) else {
            return r.finish();
        };
        let path = &p.relay.relay_domains;
        let text = match read_text(view, path) {
            Ok(t) => t,
            Err(e) => {
                r.error(Some(path), e, None);
                return r.finish();
            }
        };
        let Some(text) = text else {
            let meta = Some(WriteMeta {
                mode: 0o644,
                owner: Some((0, 0)),
                mtime: None,
            });
            if let Err(e) = r.change(
                view,
                path,
                vec![],
                "HOWTO step 11: create an empty relay-domains",
                meta,
            ) {
                r.error(Some(path), e.to_string(), None);
            }
            r.info(format!(
                "{} does not exist; it is created empty (add your domains, one per line)",
                cx.root.display(path)
            ));
            return r.finish();
        };
        let mut local: Vec<String> = match read_text(view, &p.relay.local_host_names) {
            Ok(Some(t)) => entries(&t),
            _ => vec![],
        };
        if let Ok(Some(mc)) = read_text(view, &p.sendmail.mc) {
            for l in mc.lines() {
                if let Some(rest) = l.strip_prefix("Cw") {
                    local.extend(rest.split_whitespace().map(|s| s.to_ascii_lowercase()));
                }
            }
        }
        let mut extra = vec![];
        for d in entries(&text) {
            if local.contains(&d) {
                r.info_at(path, format!("{d} is a local host name"));
            } else {
                r.warn(
                    Some(path),
                    format!("{d} is not in {} nor a Cw line: sendmail relays for hosts and addresses in {d} without authentication", p.relay.local_host_names),
                    Some(format!("remove it if you do not host {d} (--prune-relay-domains does it)")),
                );
                r.findings.last_mut().expect("just added").offer =
                    Some(crate::engine::query::Offer::PruneRelayDomain(d.clone()));
                extra.push(d);
            }
        }
        if entries(&text).is_empty() {
            r.info_at(path, "relay-domains is empty");
        }
        if !extra.is_empty() && cx.opts.prune_relay_domains {
            let new: String = lines_with_endings(&text)
                .into_iter()
                .filter(|l| {
                    let t = l.trim();
                    t.is_empty()
                        || t.starts_with('#')
                        || !extra.contains(
                            &t.split_whitespace()
                                .next()
                                .unwrap_or("")
                                .to_ascii_lowercase(),
                        )
                })
                .collect();
            let new = match text.encode(&new) {
                Ok(b) => b,
                Err(e) => {
                    r.error(Some(path), format!("{}: {e}", cx.root.display(path)), None);
                    return r.finish();
                }
            };
            if let Err(e) = r.change(
                view,
                path,
                new,
                format!("remove {} (--prune-relay-domains)", extra.join(", ")),
                None,
            ) {
                r.error(Some(path), e.to_string(), None);
            }
        }
        r.finish()
    }
}
