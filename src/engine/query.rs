//! The questions the faces ask the engine besides check, plan, apply and rollback: what the
//! journal says (`status`, the TUI's Rollback screen) and what the user may choose on a step's
//! screen, as data. The CLI and the TUI read the journal, the step modules and the mc model only
//! through these, so they cannot disagree, and no face reads meaning out of a finding's text.
//! Reads only: nothing here writes.

use super::journal::{FileState, Journal, StepState, JOURNAL_DIR};
use super::step::StepReport;
use super::Engine;
use std::path::PathBuf;

/// What a finding offers the user to choose, as data (its yes/no question, if it has one, is
/// its [`super::step::Decision`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Offer {
    /// relay-domains lists a domain this server does not host: `--prune-relay-domains` (answers
    /// key `prune_relay_domains`) removes it.
    PruneRelayDomain(String),
}

/// The journal as `status` shows it.
pub struct JournalStatus {
    /// Where the journal is (host path).
    pub path: PathBuf,
    /// The journal, or why it cannot be read (corrupt, newer version, ...).
    pub journal: Result<Journal, String>,
    /// Files whose content is no longer what the wizard wrote (empty when unreadable).
    pub changed_since_written: Vec<String>,
    /// The HOWTO's `.bak` copies of sendmail.mc and sendmail.cf that exist (displayed paths):
    /// they are there whatever happened to the journal.
    pub backups: Vec<String>,
}

/// A file the journal says the wizard changed.
#[derive(Debug, Clone, PartialEq)]
pub struct AppliedFile {
    pub path: String,
    /// Where the journal keeps the original (served-system path), `None` for a file the wizard
    /// created (rollback removes it).
    pub saved: Option<String>,
    /// Its content is no longer what the wizard wrote (someone edited it since).
    pub changed_since: bool,
    pub why: String,
}

/// A step record that is applied and not rolled back.
#[derive(Debug, Clone, PartialEq)]
pub struct AppliedStep {
    pub id: String,
    pub run: String,
    pub started: String,
    pub files: Vec<AppliedFile>,
    pub commands: Vec<String>,
}

/// What can be rolled back, newest first: the TUI's Welcome and Rollback screens.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct JournalView {
    /// The journal cannot be read (corrupt, newer version, ...).
    pub error: Option<String>,
    pub path: String,
    /// The last run is not finished.
    pub open_run: bool,
    /// Steps left `in-progress` by a crash: undone before the next apply.
    pub interrupted: Vec<String>,
    /// Newest first.
    pub applied: Vec<AppliedStep>,
}

/// A RELAY entry of the access file that is not localhost.
#[derive(Debug, Clone, PartialEq)]
pub struct RelayChoice {
    pub key: String,
    pub line: usize,
    pub text: String,
}

/// What `resume` would finish: the run an interrupted (or `--only`) apply left open, and the
/// steps a crash left in the middle of their writes.
#[derive(Debug, Clone, PartialEq)]
pub struct Unfinished {
    /// The open run: (id, started).
    pub open_run: Option<(String, String)>,
    /// Steps left `in-progress`, in journal order.
    pub interrupted: Vec<String>,
}

/// What the steps' choice lists act on.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Choosable {
    /// RELAY entries of the access file that step 9 disables unless kept.
    pub relay: Vec<RelayChoice>,
    /// Risky FEATUREs active in sendmail.mc: (feature, line), each once.
    pub features: Vec<(String, usize)>,
    /// relay-domains entries that are not hosted here (see [`Offer::PruneRelayDomain`]).
    pub extra_domains: Vec<String>,
    /// The loopback-only listeners the plan's edits of sendmail.mc turn off (HOWTO step 4).
    pub closed_listeners: Vec<ClosedListener>,
}

/// A `DAEMON_OPTIONS` listener bound to loopback only that is active in a file now and not
/// after a planned change: the TUI points it out in the change's diff.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClosedListener {
    /// The step whose change it is.
    pub step: String,
    /// The file (served-system path, as [`super::step::Change::path`]).
    pub path: String,
    /// The line as it is now.
    pub before: String,
    /// The line that holds it after the change (behind `dnl`, or active without its loopback
    /// address), exactly as in the new file;
    /// `None` when the change removes it.
    pub after: Option<String>,
}

/// The loopback-only port-25 listeners (HOWTO step 4; the submission step opens 587 on its own
/// screen) active in `before` and not in `after` (sendmail.mc texts), read
/// by the mc model: which line turns a listener off is the model's answer, not a guess from
/// diff text.
pub fn closed_loopback_listeners(
    step: &str,
    path: &str,
    before: &str,
    after: &str,
) -> Vec<ClosedListener> {
    let (b, a) = (crate::mc::analyse(before), crate::mc::analyse(after));
    let after_lines: Vec<&str> = after.lines().collect();
    let norm = |s: &str| s.split_whitespace().collect::<String>();
    let lower = |p: &Option<String>| p.as_deref().map(str::to_ascii_lowercase);
    b.listeners
        .iter()
        .filter(|l| l.active && l.port25() && l.loopback_only())
        .filter(|l| {
            !a.listeners
                .iter()
                .any(|x| x.active && norm(&x.text) == norm(&l.text))
        })
        .map(|l| ClosedListener {
            step: step.to_string(),
            path: path.to_string(),
            before: l.text.clone(),
            after: a
                .listeners
                .iter()
                // The same listener (its name and port), on a line the change wrote, no longer
                // active on loopback only; the nearest if there are several.
                .filter(|x| !(x.active && x.loopback_only()))
                .filter(|x| x.name == l.name && lower(&x.port) == lower(&l.port))
                .filter(|x| {
                    !b.listeners
                        .iter()
                        .any(|y| y.active == x.active && norm(&y.text) == norm(&x.text))
                })
                .min_by_key(|x| x.line.abs_diff(l.line))
                .and_then(|x| after_lines.get(x.line.wrapping_sub(1)))
                .map(|s| s.trim_end_matches('\r').to_string()),
        })
        .collect()
}

/// Whether a tool is installed where the engine would run it from (as root only the trusted
/// directories, see [`super::host::find_tool`]): the demo says so before any engine is open.
pub fn tool_installed(name: &str) -> bool {
    super::host::find_tool(name).is_some()
}

/// Every [`Offer`] the findings of `reports` make, in order.
pub fn offers(reports: &[StepReport]) -> impl Iterator<Item = &Offer> {
    reports
        .iter()
        .flat_map(|r| &r.findings)
        .filter_map(|f| f.offer.as_ref())
}

impl Engine {
    /// The effective user id the engine acts as (`apply` and `rollback` on `/` need 0; see
    /// [`Engine::may_write`]).
    pub fn euid(&self) -> u32 {
        super::host::euid()
    }

    /// Where the journal is (host path).
    pub fn journal_path(&self) -> PathBuf {
        super::journal::journal_path(self.root())
    }

    /// The unfinished run `resume` would finish; `Ok(None)` when there is none.
    pub fn unfinished(&self) -> Result<Option<Unfinished>, super::Error> {
        let j = Journal::read(self.root())?;
        let interrupted: Vec<String> = j
            .data
            .runs
            .iter()
            .flat_map(|r| r.steps.iter())
            .filter(|s| s.state == StepState::InProgress)
            .map(|s| s.id.clone())
            .collect();
        let open_run = j.open_run().map(|r| (r.id.clone(), r.started.clone()));
        if open_run.is_none() && interrupted.is_empty() {
            return Ok(None);
        }
        Ok(Some(Unfinished {
            open_run,
            interrupted,
        }))
    }

    /// The journal for `status`: read, or why not, and the `.bak` files in either case.
    pub fn journal_status(&self) -> JournalStatus {
        let path = self.journal_path();
        let backups = self.backups();
        match Journal::read(self.root()) {
            Ok(j) => JournalStatus {
                path,
                changed_since_written: j.changed_since_written(),
                journal: Ok(j),
                backups,
            },
            Err(e) => JournalStatus {
                path,
                journal: Err(e.to_string()),
                changed_since_written: vec![],
                backups,
            },
        }
    }

    /// The HOWTO's `.bak` copies that exist, displayed.
    fn backups(&self) -> Vec<String> {
        let Some(p) = self.profile() else {
            return vec![];
        };
        std::iter::once(&p.sendmail.mc)
            .chain(&p.sendmail.cf)
            .map(|f| format!("{f}.bak"))
            .filter(|b| self.root().exists(b))
            .map(|b| self.root().display(&b))
            .collect()
    }

    /// What can be rolled back, newest first, and what a crash left in progress.
    pub fn journal_view(&self) -> JournalView {
        let root = self.root();
        let path = root.display(&format!("{JOURNAL_DIR}/journal.yaml"));
        let j = match Journal::read(root) {
            Ok(j) => j,
            Err(e) => {
                return JournalView {
                    error: Some(e.to_string()),
                    path,
                    ..Default::default()
                }
            }
        };
        let changed = j.changed_since_written();
        let applied = j
            .applied_newest_first()
            .into_iter()
            .map(|(r, s)| {
                let run = &j.data.runs[r];
                let st = &run.steps[s];
                AppliedStep {
                    id: st.id.clone(),
                    run: run.id.clone(),
                    started: st.started.clone(),
                    files: st
                        .files
                        .iter()
                        .rev()
                        .filter(|f| f.state != FileState::RolledBack)
                        .map(|f| AppliedFile {
                            path: f.path.clone(),
                            saved: f.saved().map(|rel| format!("{JOURNAL_DIR}/{rel}")),
                            changed_since: f.state == FileState::Written
                                && changed.contains(&f.path),
                            why: f.why.clone(),
                        })
                        .collect(),
                    commands: st.commands.iter().map(|c| c.argv.join(" ")).collect(),
                }
            })
            .collect();
        let interrupted = j
            .data
            .runs
            .iter()
            .flat_map(|r| r.steps.iter())
            .filter(|s| s.state == StepState::InProgress)
            .map(|s| s.id.clone())
            .collect();
        JournalView {
            error: None,
            path,
            open_run: j.open_run().is_some(),
            interrupted,
            applied,
        }
    }

    /// What the choice lists act on, read from the files as they are now and from `reports`
    /// (the plan the screens show).
    pub fn choosable(&self, reports: &[StepReport]) -> Choosable {
        let mut c = Choosable::default();
        let Some(p) = self.profile() else { return c };
        let root = self.root();
        if let Ok(Some(b)) = root.read(&p.relay.access) {
            let text = String::from_utf8_lossy(&b);
            c.relay = crate::steps::relay_access::relay_entries(&text)
                .into_iter()
                .filter(|(_, k, _)| crate::steps::relay_access::disabled_by_default(k))
                .map(|(line, key, text)| RelayChoice { key, line, text })
                .collect();
        }
        if let Ok(Some(b)) = root.read(&p.sendmail.mc) {
            c.features = crate::mc::analyse(&String::from_utf8_lossy(&b))
                .risky_features
                .into_iter()
                .map(|f| (f.feature, f.line))
                .collect();
            c.features.dedup_by(|a, b| a.0 == b.0);
        }
        c.extra_domains = offers(reports)
            .map(|o| match o {
                Offer::PruneRelayDomain(d) => d.clone(),
            })
            .collect();
        let mc = [
            p.sendmail.mc.clone(),
            root.resolve(&p.sendmail.mc)
                .map(|r| r.target)
                .unwrap_or_default(),
        ];
        for r in reports {
            for ch in &r.changes {
                if !mc.contains(&ch.path) && !mc.contains(&ch.requested) {
                    continue;
                }
                let before = String::from_utf8_lossy(ch.before.as_deref().unwrap_or(b""));
                let after = String::from_utf8_lossy(&ch.after);
                c.closed_listeners
                    .extend(closed_loopback_listeners(r.id, &ch.path, &before, &after));
            }
        }
        c
    }

    /// The server name to give users: the host name, fully qualified if /etc/hosts allows.
    pub fn server_name(&self) -> String {
        self.root().host_name("this server")
    }
}

#[cfg(test)]
mod tests {
    use super::closed_loopback_listeners as closed;

    const LO: &str = "DAEMON_OPTIONS(`Port=smtp,Addr=127.0.0.1, Name=MTA')dnl";

    #[test]
    fn a_loopback_listener_turned_off_is_found_with_its_new_line() {
        let before = format!("divert(0)dnl\n{LO}\nMAILER(smtp)dnl\n");
        for (after, want) in [
            // Commented out, as the HOWTO says.
            (
                format!("divert(0)dnl\ndnl {LO}\nMAILER(smtp)dnl\n"),
                Some(format!("dnl {LO}")),
            ),
            // Kept, without its address.
            (
                "divert(0)dnl\nDAEMON_OPTIONS(`Port=smtp, Name=MTA')dnl\nMAILER(smtp)dnl\n".into(),
                Some("DAEMON_OPTIONS(`Port=smtp, Name=MTA')dnl".into()),
            ),
            // Removed.
            ("divert(0)dnl\nMAILER(smtp)dnl\n".into(), None),
            // CRLF.
            (
                format!("divert(0)dnl\r\ndnl {LO}\r\n"),
                Some(format!("dnl {LO}")),
            ),
        ] {
            let c = closed("sendmail-mc", "/etc/mail/sendmail.mc", &before, &after);
            assert_eq!(c.len(), 1, "{after:?}: {c:?}");
            assert_eq!(c[0].after, want, "{after:?}");
            assert_eq!(c[0].before, LO);
        }
    }

    #[test]
    fn nothing_is_found_where_no_loopback_listener_is_turned_off() {
        let open = "DAEMON_OPTIONS(`Port=smtp, Name=MTA')dnl";
        for (before, after) in [
            // Unchanged.
            (format!("{LO}\n"), format!("{LO}\n")),
            // Spaces only.
            (format!("{LO}\n"), LO.replace(",Addr", ", Addr") + "\n"),
            // Already behind dnl.
            (format!("dnl {LO}\n"), format!("dnl {LO}\n")),
            // A listener on every address turned off: not loopback.
            (format!("{open}\n"), format!("dnl {open}\n")),
            // The submission listener on loopback stays; only the other lines change.
            (
                "DAEMON_OPTIONS(`Port=submission, Addr=127.0.0.1, Name=MSA')dnl\nX\n".into(),
                "DAEMON_OPTIONS(`Port=submission, Addr=127.0.0.1, Name=MSA')dnl\nY\n".into(),
            ),
        ] {
            let c = closed("sendmail-mc", "/etc/mail/sendmail.mc", &before, &after);
            assert!(c.is_empty(), "{before:?} -> {after:?}: {c:?}");
        }
    }

    #[test]
    fn of_two_loopback_listeners_the_one_turned_off_is_named() {
        let v6 = "DAEMON_OPTIONS(`Family=inet6, Port=smtp, Addr=::1, Name=MTA-v6')dnl";
        let before = format!("{LO}\n{v6}\n");
        let after = format!("{LO}\ndnl {v6}\n");
        let c = closed("s", "/m", &before, &after);
        assert_eq!(c.len(), 1, "{c:?}");
        assert_eq!(c[0].before, v6);
        assert_eq!(c[0].after, Some(format!("dnl {v6}")));
    }
}
