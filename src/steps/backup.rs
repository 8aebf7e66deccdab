//! HOWTO section 2.3: `.bak` copies of sendmail.mc and every sendmail.cf.
//!
//! Unlike the HOWTO's shell loop, an existing `.bak` that differs from the current file is
//! never overwritten: running the loop twice destroys the pristine original. Copies keep the
//! original's mode, owner and modification time; the journal records their sha256.

use crate::engine::fsops::{self, WriteMeta};
use crate::engine::journal::{FileState, Journal};
use crate::engine::step::{Context, PlannedOverlay, Step, StepReport};

pub struct Backup;

impl Step for Backup {
    fn id(&self) -> &'static str {
        "backup"
    }
    fn title(&self) -> &'static str {
        "Back up sendmail.mc and sendmail.cf (.bak)"
    }
    fn howto(&self) -> &'static str {
        "HOWTO 2.3: backing up your critical files"
    }
    fn covers(&self, cx: &Context) -> Vec<String> {
        cx.profile
            .as_ref()
            .map(|p| {
                std::iter::once(p.sendmail.mc.clone())
                    .chain(p.sendmail.cf.iter().cloned())
                    .collect()
            })
            .unwrap_or_default()
    }
    fn check(&self, cx: &Context, view: &PlannedOverlay) -> StepReport {
        let mut r = StepReport::new(self);
        let Some(p) = super::profile_or_block(cx, &mut r) else {
            return r.finish();
        };
        let written: Vec<(String, bool)> = Journal::read(&cx.root)
            .map(|j| {
                j.data
                    .runs
                    .iter()
                    .flat_map(|run| run.steps.iter())
                    .flat_map(|s| s.files.iter())
                    .filter(|f| f.state == FileState::Written)
                    .map(|f| (f.path.clone(), f.existed()))
                    .collect()
            })
            .unwrap_or_default();
        let ours: Vec<String> = written.iter().map(|(p, _)| p.clone()).collect();
        let mut files = vec![p.sendmail.mc.clone()];
        files.extend(p.sendmail.cf.iter().cloned());
        for f in files {
            // Back up what is on disk now, not what an earlier planned step would make of it.
            let cur = match cx.root.read(&f) {
                Ok(Some(b)) => b,
                Ok(None) => {
                    r.info(format!(
                        "{} does not exist here; nothing to back up",
                        cx.root.display(&f)
                    ));
                    continue;
                }
                Err(e) => {
                    r.error(Some(&f), e.to_string(), None);
                    continue;
                }
            };
            // A file the wizard created (the HOWTO's second sendmail.cf) has no original.
            if written.iter().any(|(p, existed)| p == &f && !existed) {
                r.info(format!(
                    "{} was created by the wizard; there is no original to back up",
                    cx.root.display(&f)
                ));
                continue;
            }
            let bak = format!("{f}.bak");
            match view.read(&bak) {
                Ok(Some(b)) if b == cur => r.info(format!("{} already holds a copy of {}", cx.root.display(&bak), cx.root.display(&f))),
                Ok(Some(_)) if ours.contains(&bak) => r.info(format!(
                    "{} is the wizard's backup of the original (sha256 in the journal); {} has been changed since",
                    cx.root.display(&bak),
                    cx.root.display(&f)
                )),
                Ok(Some(_)) => r.warn(
                    Some(&bak),
                    format!(
                        "{} already exists and differs from {}; it is kept as it is (it may be the pristine original). The journal keeps its own copy of every file the wizard changes",
                        cx.root.display(&bak),
                        cx.root.display(&f)
                    ),
                    None,
                ),
                Ok(None) => {
                    let real = match cx.root.resolve(&f) {
                        Ok(x) => x.real,
                        Err(e) => {
                            r.error(Some(&f), e.to_string(), None);
                            continue;
                        }
                    };
                    let meta = match fsops::meta_of(&std::fs::canonicalize(&real).unwrap_or(real.clone())) {
                        Ok(Some(m)) => m,
                        _ => {
                            r.error(Some(&f), format!("cannot read the attributes of {}", real.display()), None);
                            continue;
                        }
                    };
                    let wm = WriteMeta { mode: meta.mode, owner: Some((meta.uid, meta.gid)), mtime: Some(meta.modified()) };
                    let sha = fsops::sha256_hex(&cur);
                    if let Err(e) = r.change(view, &bak, cur, format!("backup of {f} (sha256 {})", &sha[..12]), Some(wm)) {
                        r.error(Some(&bak), e.to_string(), None);
                    }
                }
                Err(e) => r.error(Some(&bak), e.to_string(), None),
            }
        }
        r.finish()
    }
}
