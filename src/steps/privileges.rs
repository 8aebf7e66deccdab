//! HOWTO step 2: be root, with root's full environment (`su -`, not `su`).

use crate::engine::host;
use crate::engine::step::{Context, PlannedOverlay, Step, StepReport};

pub struct Privileges;

impl Step for Privileges {
    fn id(&self) -> &'static str {
        "privileges"
    }
    fn title(&self) -> &'static str {
        "Root privileges and root's environment"
    }
    fn howto(&self) -> &'static str {
        "HOWTO step 2: log in as root (su -)"
    }
    fn check(&self, cx: &Context, _view: &PlannedOverlay) -> StepReport {
        let mut r = StepReport::new(self);
        let euid = host::euid();
        if cx.root.is_host() {
            if euid == 0 {
                r.info("running as root (effective uid 0)");
            } else {
                r.block(
                    format!(
                        "running as uid {euid}, not root: changing /etc/mail needs root privileges"
                    ),
                    Some("run it with sudo, or work on a copy with --root DIR".into()),
                );
            }
        } else {
            let dir = cx.root.dir();
            match nix::unistd::access(dir, nix::unistd::AccessFlags::W_OK) {
                Ok(()) => r.info(format!(
                    "working on the tree {} (writable by uid {euid})",
                    dir.display()
                )),
                Err(e) => r.block(
                    format!("{} is not writable by uid {euid}: {e}", dir.display()),
                    Some("use a copy you own, or run as root".into()),
                ),
            }
        }
        let path = std::env::var("PATH").unwrap_or_default();
        let dirs: Vec<&str> = path.split(':').collect();
        let missing: Vec<&str> = ["/usr/sbin", "/sbin"]
            .into_iter()
            .filter(|d| !dirs.contains(d))
            .collect();
        if !missing.is_empty() {
            r.warn(
                None,
                format!(
                    "PATH lacks {}: this looks like `su` without `-`, which keeps your own environment (HOWTO step 2). The wizard looks in /usr/sbin and /sbin itself, but commands you type may not find sendmail or makemap",
                    missing.join(" and ")
                ),
                Some("become root with `su -` (or `sudo -i`)".into()),
            );
        }
        let bad = host::unsafe_path_entries(&path);
        if !bad.is_empty() && (euid == 0 || cx.root.is_host()) {
            r.warn(
                None,
                format!(
                    "your PATH is not safe for root: {}. The wizard itself runs tools only from {} with a clean environment, but commands you type as root could run a planted program",
                    bad.join("; "),
                    host::TRUSTED_PATH
                ),
                Some("become root with `su -` (or `sudo -i`), and remove those entries from root's PATH".into()),
            );
        }
        r.finish()
    }
}
