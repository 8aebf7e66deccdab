//! What a step is: a read-only `check` that reports findings and the exact changes it would
//! make (as content, shown as diffs), judged by comparing the bytes on disk with the bytes
//! wanted (comtrya's atoms), so a step that has nothing to change is honestly `done`.
//! Applying is generic: the engine writes the planned changes through the journal.

use super::fsops::WriteMeta;
use super::profile::Profile;
use super::root::Root;
use serde::Serialize;
use std::collections::HashMap;
use std::io;
use std::path::Path;
use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Done,
    Pending,
    Blocked,
    Skipped,
    Error,
}

impl Status {
    pub fn as_str(&self) -> &'static str {
        match self {
            Status::Done => "done",
            Status::Pending => "pending",
            Status::Blocked => "blocked",
            Status::Skipped => "skipped",
            Status::Error => "error",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Info,
    Warning,
    Error,
}

#[derive(Debug, Clone, Serialize)]
pub struct Finding {
    pub severity: Severity,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix: Option<String>,
    /// The choices (command-line option and answers-file key) that decide this finding, so a
    /// front end can ask instead of only printing it.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub decided_by: Vec<crate::mc::Decider>,
    /// A choice only the user can make that settles this finding (a UI may ask it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub decision: Option<Decision>,
    /// What else this finding offers the user to choose, as data (see [`super::query`]).
    #[serde(skip)]
    pub offer: Option<super::query::Offer>,
}

/// Where the wizard cannot tell what the admin meant, it refuses and names the choice that
/// decides: the command-line flag, the answers-file key (also the [`Options`] choice set with
/// [`Options::set_decision`]) and a question a UI can ask.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Decision {
    /// Answers-file key: `discard_cf_edits`.
    pub key: DecisionKey,
    /// Command-line flag: `--discard-cf-edits`.
    pub flag: &'static str,
    /// The question, answered yes by the flag.
    pub question: String,
    /// What is chosen now.
    pub chosen: bool,
}

/// The yes/no choices a [`Decision`] can name: one variant per [`Options`] field it sets, so
/// a key that names no choice cannot be written (it used to be a string matched at run time).
/// Serialized as the answers-file key (`discard_cf_edits`), as before.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DecisionKey {
    /// `--discard-cf-edits`: regenerate a sendmail.cf that holds hand edits.
    DiscardCfEdits,
    /// `--replace-mta`: install sendmail over another mail server.
    ReplaceMta,
}

impl DecisionKey {
    pub const ALL: [DecisionKey; 2] = [DecisionKey::DiscardCfEdits, DecisionKey::ReplaceMta];

    /// The answers-file key.
    pub fn as_str(self) -> &'static str {
        match self {
            DecisionKey::DiscardCfEdits => "discard_cf_edits",
            DecisionKey::ReplaceMta => "replace_mta",
        }
    }

    /// The command-line flag.
    pub fn flag(self) -> &'static str {
        match self {
            DecisionKey::DiscardCfEdits => "--discard-cf-edits",
            DecisionKey::ReplaceMta => "--replace-mta",
        }
    }
}

impl std::fmt::Display for DecisionKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One file the step would write.
#[derive(Debug, Clone)]
pub struct Change {
    /// Served-system path actually written (links followed inside the root).
    pub path: String,
    /// The path as the step named it (differs when it is a link).
    pub requested: String,
    pub before: Option<Vec<u8>>,
    pub after: Vec<u8>,
    /// Attributes for a file that does not exist yet (replaced files keep theirs).
    pub new_meta: Option<WriteMeta>,
    /// Checked by the step's [`Step::validate_change`] (sendmail-cf: `sendmail -C TMP -bv
    /// root`) in its temporary file, before it replaces the target.
    pub validate: bool,
    pub why: String,
}

impl Change {
    /// A unified diff (`--- a/path`, `+++ b/path`), or a one-line summary for binary files.
    pub fn diff(&self) -> String {
        let before = self.before.as_deref().unwrap_or(b"");
        // A private key (the tls step's self-signed certificate's) is never shown: not in the
        // plan, the confirmation, the JSON or the TUI.
        let secret = |b: &[u8]| b.windows(16).any(|w| w == b"PRIVATE KEY-----");
        if secret(&self.after) || secret(before) {
            return format!(
                "{} {}: a private key, {} bytes (not shown)\n",
                if self.before.is_some() {
                    "replaces"
                } else {
                    "creates"
                },
                self.path,
                self.after.len()
            );
        }
        // A text file that is not UTF-8 (a Latin-1 comment) is shown with U+FFFD for the
        // bytes that are not; the file itself keeps them (the diff is for reading only).
        let texty = |b: &[u8]| !b.contains(&0);
        let lossy =
            std::str::from_utf8(before).is_err() || std::str::from_utf8(&self.after).is_err();
        let (a, b) = (
            String::from_utf8_lossy(before),
            String::from_utf8_lossy(&self.after),
        );
        match (
            Some(a.as_ref()).filter(|_| texty(before)),
            Some(b.as_ref()).filter(|_| texty(&self.after)),
        ) {
            (Some(a), Some(b)) => {
                let d = similar::TextDiff::from_lines(a, b);
                let old = if self.before.is_some() {
                    format!("a{}", self.path)
                } else {
                    "/dev/null".into()
                };
                let mut s = d
                    .unified_diff()
                    .context_radius(3)
                    .header(&old, &format!("b{}", self.path))
                    .to_string();
                if s.is_empty() && self.before.is_none() {
                    s = format!("--- /dev/null\n+++ b{}\n(new empty file)\n", self.path);
                }
                if lossy && !s.is_empty() {
                    s.push_str("(this file is not UTF-8: its other bytes are shown as \u{fffd} here and are kept as they are)\n");
                }
                s
            }
            _ => format!(
                "Binary file {} {} ({} bytes -> {} bytes)\n",
                self.path,
                if self.before.is_some() {
                    "changes"
                } else {
                    "is created"
                },
                before.len(),
                self.after.len()
            ),
        }
    }
}

/// A command a step would run when applied (after its files are written).
#[derive(Debug, Clone, Serialize)]
pub struct PlannedCommand {
    pub argv: Vec<String>,
    pub why: String,
}

#[derive(Debug, Clone)]
pub struct StepReport {
    pub id: &'static str,
    pub title: &'static str,
    pub howto: &'static str,
    pub status: Status,
    pub findings: Vec<Finding>,
    pub changes: Vec<Change>,
    pub commands: Vec<PlannedCommand>,
    blocked: bool,
    skipped: bool,
    pending: bool,
}

impl StepReport {
    pub fn new(step: &dyn Step) -> StepReport {
        StepReport {
            id: step.id(),
            title: step.title(),
            howto: step.howto(),
            status: Status::Done,
            findings: vec![],
            changes: vec![],
            commands: vec![],
            blocked: false,
            skipped: false,
            pending: false,
        }
    }

    /// The warnings and errors of the check, joined with "; ": why a blocked step or a step
    /// in error cannot be applied.
    pub fn problems(&self) -> String {
        self.findings
            .iter()
            .filter(|f| f.severity != Severity::Info)
            .map(|f| f.message.as_str())
            .collect::<Vec<_>>()
            .join("; ")
    }

    fn add(
        &mut self,
        severity: Severity,
        message: String,
        path: Option<&str>,
        fix: Option<String>,
    ) {
        self.findings.push(Finding {
            severity,
            message,
            path: path.map(str::to_string),
            fix,
            decided_by: vec![],
            decision: None,
            offer: None,
        });
    }
    /// A finding that a choice of the user settles: an error while it is not chosen (the step
    /// refuses), a warning once it is.
    pub fn decide(&mut self, path: Option<&str>, m: impl Into<String>, fix: String, d: Decision) {
        let severity = if d.chosen {
            Severity::Warning
        } else {
            Severity::Error
        };
        self.add(severity, m.into(), path, Some(fix));
        self.findings.last_mut().expect("just added").decision = Some(d);
    }
    /// An error that a choice decides (see [`Finding::decided_by`]).
    pub fn error_decided(
        &mut self,
        path: Option<&str>,
        m: impl Into<String>,
        fix: Option<String>,
        decided_by: Vec<crate::mc::Decider>,
    ) {
        self.add(Severity::Error, m.into(), path, fix);
        if let Some(f) = self.findings.last_mut() {
            f.decided_by = decided_by;
        }
    }
    pub fn info(&mut self, m: impl Into<String>) {
        self.add(Severity::Info, m.into(), None, None)
    }
    pub fn info_at(&mut self, path: &str, m: impl Into<String>) {
        self.add(Severity::Info, m.into(), Some(path), None)
    }
    pub fn warn(&mut self, path: Option<&str>, m: impl Into<String>, fix: Option<String>) {
        self.add(Severity::Warning, m.into(), path, fix)
    }
    pub fn error(&mut self, path: Option<&str>, m: impl Into<String>, fix: Option<String>) {
        self.add(Severity::Error, m.into(), path, fix)
    }
    /// Cannot proceed until something else is done (root, a profile, an earlier step).
    pub fn block(&mut self, m: impl Into<String>, fix: Option<String>) {
        self.blocked = true;
        self.add(Severity::Warning, m.into(), None, fix)
    }
    pub fn skip(&mut self, m: impl Into<String>) {
        self.skipped = true;
        self.add(Severity::Info, m.into(), None, None)
    }
    /// Something remains to be done that is neither a file nor a command (a live test).
    pub fn pending(&mut self, m: impl Into<String>) {
        self.pending = true;
        self.add(Severity::Info, m.into(), None, None)
    }
    pub fn command(&mut self, argv: Vec<String>, why: impl Into<String>) {
        self.commands.push(PlannedCommand {
            argv,
            why: why.into(),
        })
    }

    /// Plans writing `after` to `target` if it differs from what is there (as the view sees it).
    pub fn change(
        &mut self,
        view: &PlannedOverlay,
        target: &str,
        after: Vec<u8>,
        why: impl Into<String>,
        new_meta: Option<WriteMeta>,
    ) -> io::Result<bool> {
        let res = view.root.resolve(target)?;
        let before = view.read(target)?;
        if before.as_deref() == Some(after.as_slice()) {
            return Ok(false);
        }
        if before.is_none() {
            if let Some(link) = view.root.dangling_link(target) {
                return Err(io::Error::new(
                    io::ErrorKind::AlreadyExists,
                    format!(
                        "{} is a symbolic link to {}, which does not exist: the wizard never \
                         creates a file through a link (whoever made it chooses where root \
                         writes); check who put it there, remove it and run again",
                        view.root.display(&link.0),
                        link.1
                    ),
                ));
            }
        }
        self.changes.push(Change {
            path: res.target,
            requested: target.to_string(),
            before,
            after,
            new_meta,
            validate: false,
            why: why.into(),
        });
        Ok(true)
    }

    /// Sets the status from what was found. Call last.
    pub fn finish(mut self) -> StepReport {
        self.status = if self.findings.iter().any(|f| f.severity == Severity::Error) {
            Status::Error
        } else if self.skipped {
            Status::Skipped
        } else if self.blocked {
            Status::Blocked
        } else if self.pending || !self.changes.is_empty() || !self.commands.is_empty() {
            Status::Pending
        } else {
            Status::Done
        };
        self
    }
}

/// Choices the user can make (command line flags, later the TUI and an answers file).
#[derive(Debug, Clone)]
pub struct Options {
    /// SASL mechanisms to advertise; `None`: the profile's default (LOGIN PLAIN).
    pub mechanisms: Option<Vec<String>>,
    /// The exact confAUTH_OPTIONS letters (`--auth-options`); `None`: the admin's letters plus
    /// the profile's minimum (`A`).
    pub auth_options: Option<String>,
    /// The exact TRUST_AUTH_MECH list (`--trust-mechanisms`); `None`: the mechanisms advertised
    /// plus those the admin already trusts that can be verified here.
    pub trust_mechanisms: Option<Vec<String>>,
    /// access keys whose RELAY the user keeps (everything else beyond localhost is disabled).
    pub keep_relay: Vec<String>,
    /// Risky FEATUREs the user keeps.
    pub keep_features: Vec<String>,
    /// Remove relay-domains entries that are not local host names.
    pub prune_relay_domains: bool,
    /// HOWTO step 4: the `Name=` of the loopback port-25 listener to open to the network when
    /// sendmail.mc alone does not decide it (CLI `--open-listener`, answers `open_listener`).
    pub open_listener: Option<String>,
    /// Issue 11 item 3: whether the submission step opens port 587 with `M=Ea` (`--no-submission`,
    /// answers `submission: false`, turn it off).
    pub submission: bool,
    /// The port-587 listener to open when sendmail.mc alone does not decide it: a `Name=`, or
    /// `keep` (CLI `--submission-listener`, answers `submission_listener`).
    pub submission_listener: Option<String>,
    /// Whether the packages step may run the install command (answers `install_packages`);
    /// when false, missing packages are a finding with the command to run.
    pub install_packages: bool,
    /// Whether the restart step may restart sendmail (answers `restart`); when false the
    /// restart and EHLO steps are skipped.
    pub restart: bool,
    /// Regenerate sendmail.cf even though it has lines sendmail.mc does not produce (hand
    /// edits), losing them (`--discard-cf-edits`, answers `discard_cf_edits`).
    pub discard_cf_edits: bool,
    /// Install sendmail although another MTA (exim4, postfix) is installed, which the package
    /// manager then removes (`--replace-mta`, answers `replace_mta`).
    pub replace_mta: bool,
    /// The tls step sets up STARTTLS and `A p y` (default); false is `--no-tls` (answers
    /// `tls: false`): skipped, with a warning that passwords then cross the network in the clear.
    pub tls: bool,
    /// The certificate and key to use, where they are (`--tls-cert`/`--tls-key`, answers
    /// `tls_cert`/`tls_key`): served-system paths, never copied.
    pub tls_cert: Option<String>,
    pub tls_key: Option<String>,
    pub tool_timeout: Duration,
    /// As root, work on a `--root` tree that other users can write (`--trust-root`): the admin
    /// says such a tree's files and links are meant (by default it is refused).
    pub trust_root: bool,
    /// Who may log in through saslauthd/PAM: only members of this group (`--login-group`,
    /// answers `login_group`); `None`: every system account with a password (a warning).
    pub login_group: Option<String>,
    /// With `login_group`: the lowest uid that may log in (`--login-min-uid`, answers
    /// `login_min_uid`); default 1, so root (and every other uid-0 account) never can.
    pub login_min_uid: Option<u32>,
    /// Where SMTP AUTH passwords are checked (`--password-source`, answers `password_source`);
    /// `None`: not chosen (saslauthd, but a Sendmail.conf that already uses sasldb is refused
    /// rather than switched: its users would be locked out). See [`Options::password_source`].
    pub password_source: Option<PasswordSource>,
}

/// Where SMTP AUTH passwords are checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PasswordSource {
    /// System accounts, through saslauthd and PAM (the HOWTO's way): LOGIN and PLAIN only.
    #[default]
    Saslauthd,
    /// Mail-only users in sasldb (`pwcheck_method: auxprop`, `auxprop_plugin: sasldb`):
    /// CRAM-MD5, DIGEST-MD5 and SCRAM become possible; system accounts can no longer log in.
    Sasldb,
}

impl PasswordSource {
    pub fn as_str(&self) -> &'static str {
        match self {
            PasswordSource::Saslauthd => "saslauthd",
            PasswordSource::Sasldb => "sasldb",
        }
    }
}

impl Options {
    /// Where passwords are checked: the choice, else saslauthd.
    pub fn password_source(&self) -> PasswordSource {
        self.password_source.unwrap_or_default()
    }

    /// The yes/no choice a [`Decision`] names by its key; `None` for an unknown key.
    pub fn decision(&self, key: DecisionKey) -> bool {
        match key {
            DecisionKey::DiscardCfEdits => self.discard_cf_edits,
            DecisionKey::ReplaceMta => self.replace_mta,
        }
    }

    /// Sets the choice a [`Decision`] names.
    pub fn set_decision(&mut self, key: DecisionKey, yes: bool) {
        match key {
            DecisionKey::DiscardCfEdits => self.discard_cf_edits = yes,
            DecisionKey::ReplaceMta => self.replace_mta = yes,
        }
    }
}

impl Default for Options {
    fn default() -> Self {
        Options {
            mechanisms: None,
            auth_options: None,
            trust_mechanisms: None,
            keep_relay: vec![],
            keep_features: vec![],
            prune_relay_domains: false,
            open_listener: None,
            submission: true,
            submission_listener: None,
            install_packages: true,
            restart: true,
            discard_cf_edits: false,
            replace_mta: false,
            tls: true,
            tls_cert: None,
            tls_key: None,
            tool_timeout: super::host::TOOL_TIMEOUT,
            trust_root: false,
            login_group: None,
            login_min_uid: None,
            password_source: None,
        }
    }
}

/// Everything a step may look at.
pub struct Context {
    pub root: Root,
    pub profile: Option<Profile>,
    /// How the profile was chosen ("detected Debian GNU/Linux 12 (bookworm)", "--profile F").
    pub profile_reason: String,
    pub opts: Options,
    /// Whether `sendmail -bv` can run promptly on this machine; `Err` says why not.
    pub can_validate: Result<(), String>,
}

impl Context {
    pub fn mechanisms(&self) -> Vec<String> {
        match (&self.opts.mechanisms, &self.profile) {
            (Some(m), _) => m.clone(),
            (None, Some(p)) => p.auth.default_mechanisms.clone(),
            (None, None) => vec!["LOGIN".into(), "PLAIN".into()],
        }
    }
}

/// The served system as it will be after the changes planned so far (plan mode), or as it is:
/// the files on disk with the writes planned by earlier steps laid over them. (Named so that it
/// is not taken for a screen of the TUI.)
pub struct PlannedOverlay<'a> {
    pub root: &'a Root,
    overlay: HashMap<String, Vec<u8>>,
}

impl<'a> PlannedOverlay<'a> {
    pub fn new(root: &'a Root) -> PlannedOverlay<'a> {
        PlannedOverlay {
            root,
            overlay: HashMap::new(),
        }
    }

    pub fn read(&self, target: &str) -> io::Result<Option<Vec<u8>>> {
        let r = self.root.resolve(target)?;
        if let Some(b) = self.overlay.get(&r.target) {
            return Ok(Some(b.clone()));
        }
        self.root.read(target)
    }

    pub fn exists(&self, target: &str) -> bool {
        self.read(target).map(|o| o.is_some()).unwrap_or(false)
    }

    /// Whether an earlier step plans to change this file (plan mode).
    pub fn planned(&self, target: &str) -> bool {
        self.root
            .resolve(target)
            .map(|r| self.overlay.contains_key(&r.target))
            .unwrap_or(false)
    }

    /// Makes later steps see a planned change.
    pub fn plan(&mut self, c: &Change) {
        self.overlay.insert(c.path.clone(), c.after.clone());
    }

    /// Makes steps see `content` at `target` (a served path, links already followed) instead
    /// of what is on disk: how the engine asks what a step would say had a file not changed.
    pub fn assume(&mut self, target: &str, content: Vec<u8>) {
        self.overlay.insert(target.to_string(), content);
    }
}

pub trait Step: Send + Sync {
    /// Stable id (`sendmail-mc`), used on the command line and in the journal.
    fn id(&self) -> &'static str;
    fn title(&self) -> &'static str;
    /// Where the step comes from in the HOWTO.
    fn howto(&self) -> &'static str;
    /// Read-only: what is there, what is wrong, and what apply would change. Never fails:
    /// problems are findings.
    fn check(&self, cx: &Context, view: &PlannedOverlay) -> StepReport;
    /// Live steps (restart, ehlo) act on the running server instead of writing files: when
    /// applied after a `pending` check, the engine calls `run`. Every command run is recorded
    /// in `log` (it goes into the journal). `Err` fails the step.
    fn is_live(&self) -> bool {
        false
    }
    fn run(
        &self,
        _cx: &Context,
        _on: &mut dyn FnMut(super::Event),
        _log: &mut Vec<super::journal::CommandRecord>,
    ) -> Result<Vec<String>, String> {
        Ok(vec![])
    }
    /// Whether a failure of `run` rolls back the whole run and restarts the old configuration
    /// (certbot's "roll back and restart").
    fn rolls_back_on_failure(&self) -> bool {
        false
    }
    /// Whether `apply` shows this step's findings when it has nothing to do (the ehlo step's
    /// report on TLS, port 587, who may log in and what to tell users, issue 11 item 6).
    fn reports_when_done(&self) -> bool {
        false
    }
    /// The files this step copies aside before other steps edit them (the backup step's
    /// sendmail.mc and sendmail.cf). Such a step changes something only when a later step
    /// will write one of them (the engine turns it `done` otherwise), and the engine runs it
    /// before any step that writes one, `apply --only` included. It must come before those
    /// steps in the list the engine is given.
    fn covers(&self, _cx: &Context) -> Vec<String> {
        vec![]
    }

    // Hooks the engine calls at fixed points of its run loop. Each has a default that does
    // nothing, so the engine never has to know which step is which.

    /// Identifies the served system when no `--profile` is given: `Some(Ok((profile, how it
    /// was chosen)))`, or `Some(Err(why not))`. The engine asks its steps in order and takes
    /// the first answer (the os step gives it).
    fn detect_profile(&self, _root: &Root) -> Option<Result<(Profile, String), String>> {
        None
    }

    /// Whether this step's validations can run promptly on this machine (the os step: not when
    /// the host name cannot be qualified, where `sendmail -bv` stalls 60 s). Asked once when
    /// the engine is made; the first answer becomes [`Context::can_validate`].
    fn can_validate(&self) -> Option<Result<(), String>> {
        None
    }

    /// The profile adjusted for the served system's release (the os step merges the
    /// profile's `overrides` that match /etc/os-release), with the reason extended. Called in
    /// step order once the profile is chosen; the default keeps both as they are.
    fn for_release(
        &self,
        _root: &Root,
        p: Profile,
        reason: String,
    ) -> Result<(Profile, String), String> {
        Ok((p, reason))
    }

    /// Checks a planned change of this step that asks for it ([`Change::validate`]), written
    /// to the temporary file `tmp`, before it replaces its target. `Err` refuses the write and
    /// fails the step (the target keeps its old content).
    fn validate_change(&self, _cx: &Context, _change: &Change, _tmp: &Path) -> Result<(), String> {
        Ok(())
    }

    /// Acts after this step's changes were rolled back (restart: start sendmail again on the
    /// restored files). `None`: nothing to do. `Some(Ok(lines))` reports what was done,
    /// `Some(Err(line))` what failed; both are complete sentences for the user, worded for
    /// `why`. Every command run is recorded in `log`.
    fn after_rollback(
        &self,
        _cx: &Context,
        _why: Undone,
        _on: &mut dyn FnMut(super::Event),
        _log: &mut Vec<super::journal::CommandRecord>,
    ) -> Option<Result<Vec<String>, String>> {
        None
    }

    /// Whether a pending command of this step installs what later steps need (packages: m4,
    /// the cf tree, sasl2-bin). Before the first write the engine refuses a plan with a step
    /// that is blocked or in error, except after such a step: installing may cure it.
    fn installs_prerequisites(&self) -> bool {
        false
    }
}

/// Why a step's changes were rolled back, for [`Step::after_rollback`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Undone {
    /// A step that [`Step::rolls_back_on_failure`] failed; every change of the run was undone.
    RunFailed,
    /// `rollback` undid the step on request.
    Rollback,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each decision key serializes as the answers-file key it always was, its flag is that
    /// key spelled as an option, and setting it through Options is what `decision` reads back.
    #[test]
    fn decision_keys_keep_their_names_and_set_their_choice() {
        for k in DecisionKey::ALL {
            assert_eq!(serde_json::to_value(k).unwrap(), k.as_str());
            let back: DecisionKey = serde_json::from_value(k.as_str().into()).unwrap();
            assert_eq!(back, k);
            assert_eq!(k.flag(), format!("--{}", k.as_str().replace('_', "-")));
            let mut o = Options::default();
            assert!(!o.decision(k));
            o.set_decision(k, true);
            assert!(o.decision(k));
            for other in DecisionKey::ALL.iter().filter(|x| **x != k) {
                assert!(!o.decision(*other), "{k} set {other}");
            }
        }
        assert_eq!(DecisionKey::DiscardCfEdits.as_str(), "discard_cf_edits");
        assert_eq!(DecisionKey::ReplaceMta.as_str(), "replace_mta");
        let o = Options {
            discard_cf_edits: true,
            ..Options::default()
        };
        assert!(o.decision(DecisionKey::DiscardCfEdits));
    }
}
