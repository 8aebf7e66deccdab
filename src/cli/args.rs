//! The command line's arguments (clap): commands, options, the choices `check`, `plan` and
//! `apply` share, and parsing with the error as JSON when `--format json` was asked for.

use super::*;

pub(super) const EXIT_HELP: &str =
    "Exit codes: check and plan: 0 nothing to do, 2 changes pending, 1 error. \
Other commands: 0 success, 1 error.";

pub(super) const LONG_EXIT_HELP: &str = "Exit codes: check and plan: 0 nothing to do, 2 changes pending, 1 error. \
probe: 0 every expectation met, 2 one failed, 1 error. Other commands: 0 success, 1 error.

Files: /var/lib/smtpauth-wizard/journal.yaml (the write-ahead journal and saved originals), \
/var/log/smtpauth-wizard.log (one audit line per apply and rollback, also sent to syslog), \
the .bak copies next to sendmail.mc and sendmail.cf. With --root DIR every path is under DIR.

Environment: NO_COLOR (any non-empty value) turns colours off.

Unattended use: `smtpauth-wizard answers --example` prints a documented answers file for --answers.";

#[derive(Parser, Debug)]
#[command(
    name = "smtpauth-wizard",
    version,
    about = "Set up Sendmail SMTP AUTH the way the Sendmail SMTP AUTH HOWTO says, safely and reversibly",
    long_about = "Takes a Sendmail server from \"listens on loopback only, relays for nobody\" to \"accepts mail from the network and demands SMTP AUTH before relaying\".\n\nWithout a command it opens the terminal wizard. Every change is shown as a diff, backed up, journaled before it happens, written atomically and reversible with `rollback`.",
    after_help = EXIT_HELP,
    after_long_help = LONG_EXIT_HELP
)]
pub struct Cli {
    /// Work on the tree under DIR instead of / (fixture trees, copies; never restarts services)
    #[arg(long, global = true, value_name = "DIR")]
    pub root: Option<PathBuf>,
    /// As root, work on a --root tree that other users can write (refused without it)
    #[arg(long, global = true)]
    pub trust_root: bool,
    /// Use this distribution profile (a YAML file, or a built-in id: redhat-legacy, rhel, debian) instead of detecting one
    #[arg(long, global = true, value_name = "FILE|ID")]
    pub profile: Option<PathBuf>,
    /// Output format
    #[arg(long, global = true, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Text,
    Json,
}

#[derive(clap::Args, Debug, Clone, Default)]
pub struct Choices {
    /// Take every choice from this YAML answers file (`answers --example` prints one); flags given here override it
    #[arg(long, value_name = "FILE")]
    pub answers: Option<PathBuf>,
    /// SASL mechanisms to advertise (default "LOGIN PLAIN": the only ones a PAM/saslauthd password check can verify)
    #[arg(long, value_name = "\"LOGIN PLAIN\"")]
    pub mechanisms: Option<String>,
    /// confAUTH_OPTIONS letters, exactly (default: the letters sendmail.mc already has, plus A)
    #[arg(long, value_name = "\"A p y\"")]
    pub auth_options: Option<String>,
    /// SASL mechanisms to trust for relaying (TRUST_AUTH_MECH), exactly (default: those advertised plus those sendmail.mc already trusts that can be verified here; never ANONYMOUS)
    #[arg(long, value_name = "\"LOGIN PLAIN\"")]
    pub trust_mechanisms: Option<String>,
    /// Keep this RELAY entry of /etc/mail/access (its key, e.g. 192.168.0); repeatable
    #[arg(long = "keep-relay", value_name = "KEY")]
    pub keep_relay: Vec<String>,
    /// Keep this risky FEATURE active in sendmail.mc; repeatable
    #[arg(long = "keep-feature", value_name = "FEATURE")]
    pub keep_feature: Vec<String>,
    /// Remove relay-domains entries that are not local host names
    #[arg(long)]
    pub prune_relay_domains: bool,
    /// The port-25 DAEMON_OPTIONS (its Name=, e.g. MTA-v6) to open to the network when sendmail.mc
    /// has several loopback ones; the loopback port-25 listeners that would collide with it are commented out
    #[arg(long, value_name = "NAME")]
    pub open_listener: Option<String>,
    /// Do not open the submission port 587 (M=Ea: AUTH required) to the network; the submission step is skipped
    #[arg(long)]
    pub no_submission: bool,
    /// The port-587 DAEMON_OPTIONS (its Name=) to open to the network when sendmail.mc does not decide it (one bound to a LAN address, several on loopback), or `keep` to leave the port-587 listeners as they are
    #[arg(long, value_name = "NAME|keep")]
    pub submission_listener: Option<String>,
    /// Regenerate sendmail.cf even though it holds lines sendmail.mc does not produce (hand edits), losing them
    #[arg(long)]
    pub discard_cf_edits: bool,
    /// Install sendmail although another mail server (exim4, postfix) is installed: the package manager removes it
    #[arg(long)]
    pub replace_mta: bool,
    /// Only members of this group (in /etc/group) may log in over SMTP AUTH through PAM (default: every system account with a password)
    #[arg(long, value_name = "GROUP")]
    pub login_group: Option<String>,
    /// With --login-group: the lowest uid that may log in (default 1: never root)
    #[arg(long, value_name = "UID")]
    pub login_min_uid: Option<u32>,
    /// Where passwords are checked: saslauthd (system accounts through PAM, LOGIN PLAIN) or sasldb (mail-only users, `users add`; CRAM-MD5, DIGEST-MD5, SCRAM) [default: saslauthd]
    #[arg(long, value_name = "SOURCE", value_parser = ["saslauthd", "sasldb"])]
    pub password_source: Option<String>,
    /// The STARTTLS certificate (PEM) to use where it is, e.g. an ACME/Let's Encrypt fullchain.pem (with --tls-key)
    #[arg(
        long,
        value_name = "FILE",
        requires = "tls_key",
        conflicts_with = "no_tls"
    )]
    pub tls_cert: Option<PathBuf>,
    /// The private key (PEM, unencrypted, not readable by others) of --tls-cert, used where it is
    #[arg(
        long,
        value_name = "FILE",
        requires = "tls_cert",
        conflicts_with = "no_tls"
    )]
    pub tls_key: Option<PathBuf>,
    /// Do not set up STARTTLS (passwords then cross the network in the clear; AUTH stays offered before TLS)
    #[arg(long)]
    pub no_tls: bool,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Report every step's status and findings; writes nothing (exit 0 nothing to do, 2 pending, 1 error)
    #[command(after_long_help = include_str!("help/check.txt"))]
    Check {
        #[command(flatten)]
        choices: Choices,
    },
    /// Show every change as a unified diff; writes nothing (exit 0 nothing to do, 2 pending, 1 error)
    #[command(after_long_help = include_str!("help/plan.txt"))]
    Plan {
        /// Show every diff in full, also of the files that are copies of another (the .bak backups, /etc/sendmail.cf)
        #[arg(long)]
        full: bool,
        #[command(flatten)]
        choices: Choices,
    },
    /// Apply the steps in order, journaled and atomic
    #[command(after_long_help = include_str!("help/apply.txt"))]
    Apply {
        /// Do not ask for confirmation
        #[arg(long)]
        yes: bool,
        /// Show every diff in full in the confirmation, copies included
        #[arg(long)]
        full: bool,
        /// Only this step (repeatable)
        #[arg(long, value_name = "STEP", value_parser = clap::builder::PossibleValuesParser::new(crate::steps::ids()))]
        only: Vec<String>,
        #[command(flatten)]
        choices: Choices,
    },
    /// Continue an unfinished run (an interrupted step is undone first, then redone)
    #[command(after_long_help = include_str!("help/resume.txt"))]
    Resume {
        /// Do not ask for confirmation
        #[arg(long)]
        yes: bool,
        /// Show every diff in full in the confirmation, copies included
        #[arg(long)]
        full: bool,
        #[command(flatten)]
        choices: Choices,
    },
    /// Put back the original files from the journal, newest change first
    #[command(after_long_help = include_str!("help/rollback.txt"))]
    Rollback {
        /// Do not ask for confirmation
        #[arg(long)]
        yes: bool,
        /// Only this step
        #[arg(long, value_name = "STEP", value_parser = clap::builder::PossibleValuesParser::new(crate::steps::ids()))]
        step: Option<String>,
        /// Restore even over files changed since the wizard wrote them
        #[arg(long)]
        force: bool,
        /// Put the .bak copies back over sendmail.mc and sendmail.cf, without the journal
        #[arg(long, conflicts_with = "step")]
        from_backups: bool,
    },
    /// Show the journal: runs, steps, files, backups
    #[command(after_long_help = include_str!("help/status.txt"))]
    Status,
    /// Print a documented answers file (--example), or check one and print what it sets
    #[command(arg_required_else_help = true, after_long_help = include_str!("help/answers.txt"))]
    Answers {
        /// Print the documented template (it parses as it is)
        #[arg(long, conflicts_with = "file")]
        example: bool,
        /// An answers file to check
        file: Option<PathBuf>,
    },
    /// Write the man pages or the shell completions (bash, zsh, fish) into DIR (for packaging)
    #[command(hide = true)]
    Generate {
        #[command(subcommand)]
        what: GenerateWhat,
    },
    /// Test a server like the HOWTO's "from another machine": EHLO, AUTH, relay refused without
    /// AUTH and accepted with it. Never sends mail (no DATA). Exit 0 all met, 2 one failed, 1 error
    #[command(after_long_help = include_str!("help/probe.txt"))]
    Probe(ProbeArgs),
    /// Open the wizard on a temporary copy of the demo root (Red Hat 9 before the HOWTO)
    #[command(after_long_help = include_str!("help/demo.txt"))]
    Demo,
    /// HOWTO step 13: who is refused relaying ("Relaying denied") and who fails to log in,
    /// grouped by client and sender, from the mail log and its rotated siblings
    #[command(after_long_help = include_str!("help/relay-report.txt"))]
    RelayReport(RelayReportArgs),
    /// Mail-only SMTP AUTH users in sasldb (--password-source sasldb): add, list, remove
    #[command(after_long_help = include_str!("help/users.txt"))]
    Users(super::users::UsersArgs),
}

#[derive(clap::Args, Debug)]
pub struct RelayReportArgs {
    /// Mail log to read (repeatable; `-` reads standard input, e.g. `journalctl -u sendmail`).
    /// Default: the profile's log (/var/log/mail.log or /var/log/maillog) and its rotated
    /// siblings (.1, .2.gz, ...) under --root
    #[arg(long = "log", value_name = "FILE")]
    pub logs: Vec<PathBuf>,
    /// Only events newer than this (e.g. 2d, 36h, 90m, 1w)
    #[arg(long, value_name = "DURATION")]
    pub since: Option<String>,
    /// Keep reading as the log grows, like `tail -F`, across rotation (Ctrl-C stops)
    #[arg(long)]
    pub follow: bool,
    /// Read the systemd journal (journalctl, identifiers sm-mta, sendmail, saslauthd), also
    /// chosen by itself when the profile's mail logs are absent (no rsyslog: Debian 12 and 13)
    #[arg(long)]
    pub journal: bool,
    /// Read the journal in this directory (journalctl --directory; implies --journal).
    /// Default with --root DIR: DIR/var/log/journal
    #[arg(long, value_name = "DIR")]
    pub journal_dir: Option<PathBuf>,
}

#[derive(Subcommand, Debug)]
pub enum GenerateWhat {
    /// smtpauth-wizard.8 and one page per command (smtpauth-wizard-check.8, ...)
    Man { dir: PathBuf },
    /// smtpauth-wizard.bash, _smtpauth-wizard (zsh), smtpauth-wizard.fish
    Completions { dir: PathBuf },
}

#[derive(clap::Args, Debug)]
pub struct ProbeArgs {
    /// HOST[:PORT] (port 25 by default; [::1]:25 for IPv6); may come from the answers file
    pub target: Option<String>,
    /// Take the probe settings (target, user, password_env, relay_to, from, source_ip) from this answers file; flags override it
    #[arg(long, value_name = "FILE")]
    pub answers: Option<PathBuf>,
    /// Try AUTH PLAIN and AUTH LOGIN as this user
    #[arg(long)]
    pub user: Option<String>,
    /// Read the password from this environment variable (never from the command line)
    #[arg(long, value_name = "VAR", conflicts_with = "password_fd")]
    pub password_env: Option<String>,
    /// Read the password from this open file descriptor (e.g. 3 with `3<file`)
    #[arg(long, value_name = "N")]
    pub password_fd: Option<i32>,
    /// Recipient outside this server's domains for the relay tests [default: relay-test@example.com]
    #[arg(long, value_name = "ADDR")]
    pub relay_to: Option<String>,
    /// MAIL FROM of the relay tests (default: the null sender <>)
    #[arg(long, value_name = "ADDR")]
    pub from: Option<String>,
    /// Connect from this local address (127.0.0.1 always relays: use 127.0.0.2 on the server itself)
    #[arg(long, value_name = "ADDR")]
    pub source_ip: Option<std::net::IpAddr>,
    /// Connect and per-reply timeout
    #[arg(long, value_name = "SECONDS", default_value_t = 10.0)]
    pub timeout: f64,
    /// Name to send with EHLO (default: this machine's host name)
    #[arg(long, value_name = "NAME")]
    pub ehlo_name: Option<String>,
    /// Send the password without TLS to a server that is not on this machine and offers no STARTTLS (never when STARTTLS is offered)
    #[arg(long)]
    pub allow_plaintext: bool,
    /// Never send STARTTLS (then no password is sent to a server that offers it)
    #[arg(long, conflicts_with = "tls_required")]
    pub no_starttls: bool,
    /// A server that does not offer STARTTLS, or whose TLS fails, is a failure
    #[arg(long)]
    pub tls_required: bool,
    /// Accept the server's certificate without verifying it (reported as "certificate not verified"; the password then goes only to a loopback target, elsewhere only with --allow-plaintext too)
    #[arg(long)]
    pub no_verify_cert: bool,
    /// Also trust the certificates in this PEM file (your own CA, or the server's self-signed certificate)
    #[arg(long, value_name = "FILE")]
    pub tls_ca: Option<PathBuf>,
    /// Name the certificate must be valid for (default: the target's host)
    #[arg(long, value_name = "NAME")]
    pub tls_name: Option<String>,
}

impl Choices {
    /// The engine's options and the profile to use: the answers file first, then every flag
    /// given on the command line over it.
    pub(super) fn resolve(
        &self,
        cli_profile: Option<&PathBuf>,
    ) -> Result<(Options, Option<PathBuf>), crate::engine::Error> {
        let a = match &self.answers {
            Some(f) => answers::load(f)?,
            None => answers::Answers::default(),
        };
        let d = Options::default();
        let opts = Options {
            mechanisms: match &self.mechanisms {
                Some(m) => Some(
                    m.split_whitespace()
                        .map(|s| s.to_ascii_uppercase())
                        .collect(),
                ),
                None => a.mechanisms.clone(),
            },
            auth_options: self.auth_options.clone().or_else(|| a.auth_options.clone()),
            trust_mechanisms: match &self.trust_mechanisms {
                Some(m) => Some(
                    m.split_whitespace()
                        .map(|s| s.to_ascii_uppercase())
                        .collect(),
                ),
                None => a.trust_mechanisms.clone(),
            },
            keep_relay: if self.keep_relay.is_empty() {
                a.keep_relay.clone().unwrap_or_default()
            } else {
                self.keep_relay.clone()
            },
            keep_features: if self.keep_feature.is_empty() {
                a.keep_features.clone().unwrap_or_default()
            } else {
                self.keep_feature.clone()
            },
            prune_relay_domains: self.prune_relay_domains
                || a.prune_relay_domains.unwrap_or(d.prune_relay_domains),
            open_listener: self
                .open_listener
                .clone()
                .or_else(|| a.open_listener.clone()),
            submission: !self.no_submission && a.submission.unwrap_or(d.submission),
            submission_listener: self
                .submission_listener
                .clone()
                .or_else(|| a.submission_listener.clone()),
            install_packages: a.install_packages.unwrap_or(d.install_packages),
            restart: a.restart.unwrap_or(d.restart),
            discard_cf_edits: self.discard_cf_edits
                || a.discard_cf_edits.unwrap_or(d.discard_cf_edits),
            replace_mta: self.replace_mta || a.replace_mta.unwrap_or(d.replace_mta),
            login_group: self.login_group.clone().or_else(|| a.login_group.clone()),
            login_min_uid: self.login_min_uid.or(a.login_min_uid),
            password_source: match self.password_source.as_deref() {
                Some("sasldb") => Some(crate::engine::step::PasswordSource::Sasldb),
                Some(_) => Some(crate::engine::step::PasswordSource::Saslauthd),
                None => a.password_source,
            },
            tls: !self.no_tls && a.tls.unwrap_or(d.tls),
            tls_cert: tls_path(
                self.tls_cert.as_ref(),
                a.tls_cert.as_ref(),
                self.answers.as_ref(),
            )?,
            tls_key: tls_path(
                self.tls_key.as_ref(),
                a.tls_key.as_ref(),
                self.answers.as_ref(),
            )?,
            ..d
        };
        let profile = match (cli_profile, &self.answers) {
            (Some(p), _) => Some(p.clone()),
            (None, Some(f)) => a.profile_path(f),
            (None, None) => None,
        };
        Ok((opts, profile))
    }
}

/// A certificate or key path as the served system sees it: the flag's as given (made absolute
/// against the current directory), else the answers file's (relative to that file's directory).
fn tls_path(
    flag: Option<&PathBuf>,
    answer: Option<&PathBuf>,
    answers_file: Option<&PathBuf>,
) -> Result<Option<String>, String> {
    let p = match (flag, answer) {
        (Some(f), _) if f.is_absolute() => f.clone(),
        (Some(f), _) => std::env::current_dir()
            .map_err(|e| format!("{}: {e}", f.display()))?
            .join(f),
        (None, Some(a)) if a.is_absolute() => a.clone(),
        (None, Some(a)) => answers_file
            .and_then(|f| f.parent())
            .map(|d| d.join(a))
            .unwrap_or_else(|| a.clone()),
        (None, None) => return Ok(None),
    };
    p.to_str()
        .map(|s| Some(s.to_string()))
        .ok_or_else(|| format!("{}: not a UTF-8 path", p.display()))
}

/// `0.1.0 (profiles: redhat-legacy, rhel, debian)`: what `--version` prints after the name.
pub fn long_version() -> String {
    format!(
        "{} (profiles: {})",
        env!("CARGO_PKG_VERSION"),
        crate::engine::profile::builtin_ids().join(", ")
    )
}

/// The clap command with the long version: what `--version`, the man pages and the completions
/// are made from.
pub fn command() -> clap::Command {
    use clap::CommandFactory;
    // Leaked once per process: clap keeps a &'static str without its `string` feature.
    let v: &'static str = Box::leak(long_version().into_boxed_str());
    Cli::command().version(v)
}

/// Whether the raw arguments ask for JSON (`--format json` / `--format=json`), for errors that
/// happen before (or while) the command line parses.
pub(super) fn wants_json(args: &[std::ffi::OsString]) -> bool {
    args.iter().enumerate().any(|(i, a)| {
        a == "--format=json" || (a == "--format" && args.get(i + 1).is_some_and(|n| n == "json"))
    })
}

/// Parses the process's command line. `--help` and `--version` print and exit 0; a command line
/// that does not parse prints the error (as `{"error": ..., "kind": "usage"}` with `--format json`) and exits 1.
pub fn parse() -> Cli {
    use clap::FromArgMatches;
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    let res = command()
        .try_get_matches_from(&args)
        .and_then(|m| Cli::from_arg_matches(&m));
    match res {
        Ok(cli) => cli,
        Err(e) => {
            use clap::error::ErrorKind;
            if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) {
                e.exit();
            }
            let msg = e.render().to_string();
            let usage =
                crate::engine::Error::Usage(msg.trim().trim_start_matches("error: ").into());
            if wants_json(&args) {
                outln!(
                    "{}",
                    crate::term::json_line(&usage.to_json()).unwrap_or_default()
                );
            } else {
                let _ = e.print();
            }
            std::process::exit(usage.exit_code().into());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tls_paths_flags_first_answers_relative_to_their_file() {
        let p = |s: &str| PathBuf::from(s);
        assert_eq!(
            tls_path(Some(&p("/etc/le/fullchain.pem")), Some(&p("/x")), None).unwrap(),
            Some("/etc/le/fullchain.pem".into())
        );
        assert_eq!(
            tls_path(
                None,
                Some(&p("le/key.pem")),
                Some(&p("/srv/fleet/answers.yaml"))
            )
            .unwrap(),
            Some("/srv/fleet/le/key.pem".into())
        );
        assert_eq!(
            tls_path(None, Some(&p("/abs/key.pem")), Some(&p("/srv/a.yaml"))).unwrap(),
            Some("/abs/key.pem".into())
        );
        let rel = tls_path(Some(&p("c.pem")), None, None).unwrap().unwrap();
        assert!(rel.starts_with('/') && rel.ends_with("/c.pem"), "{rel}");
        assert_eq!(tls_path(None, None, None).unwrap(), None);
    }
}
