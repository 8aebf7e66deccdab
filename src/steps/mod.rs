//! One module per HOWTO step, in the HOWTO's order. Each implements [`Step`]: a read-only
//! `check` that reports what it found and the exact changes it would make.

use crate::engine::step::Step;

pub mod backup;
pub mod live;
pub mod os;
pub mod packages;
pub mod pam;
pub mod privileges;
pub mod relay_access;
pub mod relay_domains;
pub mod relay_features;
pub mod sasl;
pub mod sendmail_cf;
pub mod sendmail_mc;

/// Every step, in order. Ids are stable: they appear on the command line and in journals.
pub fn all() -> Vec<Box<dyn Step>> {
    vec![
        Box::new(os::Os),
        Box::new(privileges::Privileges),
        Box::new(packages::Packages),
        Box::new(backup::Backup),
        Box::new(sendmail_mc::SendmailMc),
        Box::new(sendmail_cf::SendmailCf),
        Box::new(pam::Pam),
        Box::new(sasl::Sasl),
        Box::new(relay_access::RelayAccess),
        Box::new(relay_domains::RelayDomains),
        Box::new(relay_features::RelayFeatures),
        Box::new(live::Restart),
        Box::new(live::Ehlo),
    ]
}

/// Splits text into lines keeping each line's own ending (`\n`, `\r\n`, or none at the end).
pub fn lines_with_endings(text: &str) -> Vec<&str> {
    text.split_inclusive('\n').collect()
}

/// The line ending a file mostly uses, for lines we add.
pub fn eol_of(text: &str) -> &'static str {
    if text.contains("\r\n") {
        "\r\n"
    } else {
        "\n"
    }
}

/// Reads a text file through the view, with errors that name it.
pub fn read_text(view: &crate::engine::step::View, target: &str) -> Result<Option<String>, String> {
    match view.read(target) {
        Ok(None) => Ok(None),
        Ok(Some(b)) => String::from_utf8(b).map(Some).map_err(|e| {
            format!(
                "{}: not text (invalid UTF-8 at byte {}); it was left alone",
                view.root.display(target),
                e.utf8_error().valid_up_to()
            )
        }),
        Err(e) => Err(e.to_string()),
    }
}

/// "PATH does not exist", naming the symbolic links on the way when there are any: with a
/// dangling `/etc/mail -> /srv/mail` the admin must learn about the link, not that sendmail
/// seems to be missing.
pub fn does_not_exist(root: &crate::engine::root::Root, target: &str) -> String {
    let shown = root.display(target);
    match root.resolve(target) {
        Ok(r) if !r.via_links.is_empty() => {
            let links: Vec<String> = r
                .via_links
                .iter()
                .map(|l| {
                    let to = std::fs::read_link(root.join(l))
                        .map(|t| t.display().to_string())
                        .unwrap_or_default();
                    format!("{} -> {to}", root.display(l))
                })
                .collect();
            format!(
                "{shown} does not exist: it is reached through the symbolic {} {}, which {} to {}, and nothing is there",
                if links.len() == 1 { "link" } else { "links" },
                links.join(", "),
                if links.len() == 1 { "leads" } else { "lead" },
                root.display(&r.target)
            )
        }
        _ => format!("{shown} does not exist"),
    }
}

/// The profile, or a `blocked` finding when the system was not recognised (the os step says why).
pub fn profile_or_block<'a>(
    cx: &'a crate::engine::step::Context,
    r: &mut crate::engine::step::StepReport,
) -> Option<&'a crate::engine::profile::Profile> {
    if cx.profile.is_none() {
        r.block(
            "no profile: the system was not recognised (see the os step)",
            None,
        );
    }
    cx.profile.as_ref()
}
