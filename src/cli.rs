//! The command line: a thin face over the engine. `check` and `plan` read only; `apply`,
//! `resume` and `rollback` ask before changing anything unless given --yes, and refuse when
//! there is no terminal to ask.
//!
//! Exit codes (stable): `check`/`plan`: 0 nothing to do, 2 changes pending, 1 error (terraform's
//! -detailed-exitcode convention); everything else: 0 success, 1 error. A command line that does
//! not parse is an error too (1, not clap's 2, which automation would read as "pending").
//!
//! With `--format json` everything printed on stdout is one JSON object, errors included
//! (`{"error": "..."}`); the shapes are documented in README and checked by tests/json_shape.rs.

/// `print!` that survives a closed pipe: see [`emit`].
macro_rules! out {
    ($($a:tt)*) => { $crate::cli::emit(&format!($($a)*)) };
}
/// `println!` that survives a closed pipe: see [`emit`].
/// `eprint!`/`eprintln!` through [`crate::term::for_terminal`]: messages quote file lines,
/// paths and replies, and go to the same terminal.
macro_rules! errout {
    ($($a:tt)*) => {{
        use std::io::Write as _;
        let _ = std::io::stderr().write_all(
            $crate::term::for_terminal(&format!($($a)*), false).as_bytes(),
        );
    }};
}
macro_rules! errln {
    ($($a:tt)*) => { errout!("{}\n", format_args!($($a)*)) };
}

macro_rules! outln {
    () => { $crate::cli::emit("\n") };
    ($($a:tt)*) => { $crate::cli::emit(&format!("{}\n", format_args!($($a)*))) };
}

pub mod answers;

use crate::engine::journal::{FileState, Journal};
use crate::engine::step::{Options, Severity, Status, StepReport};
use crate::engine::{Engine, Event};
use clap::{Parser, Subcommand, ValueEnum};
use serde::Serialize;
use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

const EXIT_HELP: &str = "Exit codes: check and plan: 0 nothing to do, 2 changes pending, 1 error. \
Other commands: 0 success, 1 error.";

const LONG_EXIT_HELP: &str = "Exit codes: check and plan: 0 nothing to do, 2 changes pending, 1 error. \
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
    /// Regenerate sendmail.cf even though it holds lines sendmail.mc does not produce (hand edits), losing them
    #[arg(long)]
    pub discard_cf_edits: bool,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Report every step's status and findings; writes nothing (exit 0 nothing to do, 2 pending, 1 error)
    Check {
        #[command(flatten)]
        choices: Choices,
    },
    /// Show every change as a unified diff; writes nothing (exit 0 nothing to do, 2 pending, 1 error)
    Plan {
        /// Show every diff in full, also of the files that are copies of another (the .bak backups, /etc/sendmail.cf)
        #[arg(long)]
        full: bool,
        #[command(flatten)]
        choices: Choices,
    },
    /// Apply the steps in order, journaled and atomic
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
    Status,
    /// Print a documented answers file (--example), or check one and print what it sets
    #[command(arg_required_else_help = true)]
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
    Probe(ProbeArgs),
    /// Open the wizard on a temporary copy of the demo root (Red Hat 9 before the HOWTO)
    Demo,
    /// HOWTO step 13: who is refused relaying ("Relaying denied") and who fails to log in,
    /// grouped by client and sender, from the mail log and its rotated siblings
    RelayReport(RelayReportArgs),
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
}

impl Choices {
    /// The engine's options and the profile to use: the answers file first, then every flag
    /// given on the command line over it.
    fn resolve(&self, cli_profile: Option<&PathBuf>) -> Result<(Options, Option<PathBuf>), String> {
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
            install_packages: a.install_packages.unwrap_or(d.install_packages),
            restart: a.restart.unwrap_or(d.restart),
            discard_cf_edits: self.discard_cf_edits
                || a.discard_cf_edits.unwrap_or(d.discard_cf_edits),
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

/// Writes to standard output. When the reader has gone (`plan | head`, `check --format json |
/// head -c 10`), the process ends quietly the way cat and grep end, by SIGPIPE (the shell shows
/// 141), instead of panicking like `println!`. SIGPIPE itself stays ignored everywhere else, so
/// a child tool (m4, makemap) closing its input early is an error the engine handles, not a
/// death in the middle of an apply. Any other write error ends the process with exit 1.
pub fn emit(s: &str) {
    // Strings from strangers (log lines, config lines, server replies) are in what we print:
    // no escape sequence of theirs reaches the terminal (issue 13 item 4).
    let s = crate::term::for_terminal(s, colour());
    let mut o = std::io::stdout().lock();
    if let Err(e) = o.write_all(s.as_bytes()).and_then(|()| o.flush()) {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            die_of_sigpipe();
        }
        errln!("smtpauth-wizard: cannot write to standard output: {e}");
        std::process::exit(1);
    }
}

/// Ends the process by the default action of SIGPIPE, like cat on a closed pipe.
pub fn die_of_sigpipe() -> ! {
    use nix::sys::signal::{raise, signal, SigHandler, Signal};
    // SAFETY: restoring the default action of a signal installs no handler code.
    unsafe {
        let _ = signal(Signal::SIGPIPE, SigHandler::SigDfl);
    }
    let _ = raise(Signal::SIGPIPE);
    std::process::exit(141)
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
fn wants_json(args: &[std::ffi::OsString]) -> bool {
    args.iter().enumerate().any(|(i, a)| {
        a == "--format=json" || (a == "--format" && args.get(i + 1).is_some_and(|n| n == "json"))
    })
}

/// Parses the process's command line. `--help` and `--version` print and exit 0; a command line
/// that does not parse prints the error (as `{"error": ...}` with `--format json`) and exits 1.
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
            if wants_json(&args) {
                let msg = e.render().to_string();
                let msg = msg.trim().trim_start_matches("error: ");
                outln!(
                    "{}",
                    crate::term::json_line(&serde_json::json!({ "error": msg }))
                        .unwrap_or_default()
                );
            } else {
                let _ = e.print();
            }
            std::process::exit(1);
        }
    }
}

#[derive(Serialize)]
struct JsonChange {
    path: String,
    diff: String,
    why: String,
}

#[derive(Serialize)]
struct JsonStep<'a> {
    id: &'a str,
    title: &'a str,
    howto: &'a str,
    status: Status,
    findings: &'a [crate::engine::step::Finding],
    changes: Vec<JsonChange>,
    commands: &'a [crate::engine::step::PlannedCommand],
}

#[derive(Serialize)]
struct JsonReport<'a> {
    /// One line for automation to show (an Ansible task's failure message).
    message: String,
    root: String,
    profile: Option<String>,
    profile_reason: &'a str,
    steps: Vec<JsonStep<'a>>,
}

/// "an unfinished run ...: use resume" when the journal has a run that an interrupted (or
/// `--only`) apply left open, or a step interrupted in the middle of its writes.
fn unfinished_run(engine: &Engine) -> Option<String> {
    let j = Journal::read(engine.root()).ok()?;
    let interrupted: Vec<&str> = j
        .data
        .runs
        .iter()
        .flat_map(|r| r.steps.iter())
        .filter(|s| s.state == crate::engine::journal::StepState::InProgress)
        .map(|s| s.id.as_str())
        .collect();
    let run = j.open_run();
    if run.is_none() && interrupted.is_empty() {
        return None;
    }
    Some(format!(
        "an unfinished run{}{}: use `resume` to finish it (or `rollback` to undo it)",
        run.map(|r| format!(" ({}, started {})", r.id, r.started))
            .unwrap_or_default(),
        if interrupted.is_empty() {
            String::new()
        } else {
            format!(", interrupted in step {}", interrupted.join(", "))
        }
    ))
}

fn to_json(engine: &Engine, reports: &[StepReport], note: Option<&str>) -> String {
    let steps = reports
        .iter()
        .map(|r| JsonStep {
            id: r.id,
            title: r.title,
            howto: r.howto,
            status: r.status,
            findings: &r.findings,
            changes: r
                .changes
                .iter()
                .map(|c| JsonChange {
                    path: c.path.clone(),
                    diff: c.diff(),
                    why: c.why.clone(),
                })
                .collect(),
            commands: &r.commands,
        })
        .collect();
    let rep = JsonReport {
        message: match note {
            Some(n) => format!("{}; {n}", summary(reports)),
            None => summary(reports),
        },
        root: engine.root().dir().display().to_string(),
        profile: engine.profile().map(|p| p.id.clone()),
        profile_reason: &engine.cx.profile_reason,
        steps,
    };
    crate::term::json_pretty(&rep).expect("serializable")
}

fn colour() -> bool {
    std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()) && std::io::stdout().is_terminal()
}

fn paint(s: &str, code: &str) -> String {
    if colour() {
        format!("\x1b[{code}m{s}\x1b[0m")
    } else {
        s.to_string()
    }
}

fn status_tag(s: Status) -> String {
    let t = format!("[{}]", s.as_str());
    let code = match s {
        Status::Done => "32",
        Status::Pending => "33",
        Status::Blocked => "35",
        Status::Skipped => "2",
        Status::Error => "31",
    };
    paint(&format!("{t:<10}"), code)
}

/// The reasons of one change, one a line: a step that makes several edits to one file joins
/// their reasons with "; HOWTO step ...".
fn why_lines(why: &str) -> Vec<String> {
    let mut v: Vec<String> = vec![];
    for (i, part) in why.split("; HOWTO ").enumerate() {
        v.push(if i == 0 {
            part.to_string()
        } else {
            format!("HOWTO {part}")
        });
    }
    v
}

/// One line for a change that writes a byte-for-byte copy of another file the plan reads or
/// writes (the .bak backups, Red Hat's /etc/sendmail.cf), whose diff would only repeat that
/// whole file: `creates /etc/mail/sendmail.mc.bak: copy of /etc/mail/sendmail.mc, 104 lines,
/// sha256 ...`. `plan --full` shows the diff instead.
fn copy_summary(
    engine: &Engine,
    all: &[&crate::engine::step::Change],
    c: &crate::engine::step::Change,
) -> Option<String> {
    // Only a change planned before this one can be the original of a copy written after it.
    let at = all.iter().position(|o| std::ptr::eq(*o, c))?;
    let src = all[..at]
        .iter()
        .filter(|o| o.path != c.path)
        .find(|o| o.after == c.after)
        .map(|o| format!("the new {}", o.path))
        .or_else(|| {
            let stem = c.path.strip_suffix(".bak")?;
            let cur = engine.root().read(stem).ok()??;
            (cur == c.after).then(|| stem.to_string())
        })?;
    let lines = |b: &[u8]| b.iter().filter(|&&x| x == b'\n').count();
    let sha = |b: &[u8]| {
        use sha2::Digest;
        let h = sha2::Sha256::digest(b);
        h.iter()
            .take(6)
            .map(|x| format!("{x:02x}"))
            .collect::<String>()
    };
    let verb = match &c.before {
        None => format!("creates {}", engine.root().display(&c.path)),
        Some(b) => format!(
            "replaces {} ({} lines)",
            engine.root().display(&c.path),
            lines(b)
        ),
    };
    Some(format!(
        "{verb}: copy of {src}, {} lines, sha256 {}",
        lines(&c.after),
        sha(&c.after)
    ))
}

/// The text report. `diffs`: show the changes (plan, apply's confirmation); `full`: every diff
/// in full, copies included, and each change's reasons on its "writes" line.
fn text_report(engine: &Engine, reports: &[StepReport], diffs: bool, full: bool) -> String {
    let all: Vec<&crate::engine::step::Change> =
        reports.iter().flat_map(|r| r.changes.iter()).collect();
    let mut o = String::new();
    o.push_str(&format!(
        "root {}; {}\n\n",
        engine.root().dir().display(),
        match engine.profile() {
            Some(p) => format!("profile {} ({})", p.id, engine.cx.profile_reason),
            None => "no profile".to_string(),
        }
    ));
    for r in reports {
        o.push_str(&format!(
            "{} {:<15} {}\n",
            status_tag(r.status),
            r.id,
            r.title
        ));
        for f in &r.findings {
            let mark = match f.severity {
                Severity::Info => "  ",
                Severity::Warning => "! ",
                Severity::Error => "x ",
            };
            o.push_str(&format!("           {mark}{}\n", f.message));
            if let Some(fix) = &f.fix {
                o.push_str(&format!("             fix: {fix}\n"));
            }
        }
        for c in &r.changes {
            if !full {
                if let Some(line) = copy_summary(engine, &all, c) {
                    o.push_str(&format!("           -> {line}\n"));
                    continue;
                }
                o.push_str(&format!(
                    "           -> writes {}\n",
                    engine.root().display(&c.path)
                ));
                for w in why_lines(&c.why) {
                    o.push_str(&format!("              ({w})\n"));
                }
            } else {
                o.push_str(&format!(
                    "           -> writes {} ({})\n",
                    engine.root().display(&c.path),
                    c.why
                ));
            }
            if diffs {
                for l in c.diff().lines() {
                    let code = if l.starts_with("+++") || l.starts_with("---") {
                        "1"
                    } else if l.starts_with('+') {
                        "32"
                    } else if l.starts_with('-') {
                        "31"
                    } else if l.starts_with("@@") {
                        "36"
                    } else {
                        ""
                    };
                    let l = if code.is_empty() {
                        l.to_string()
                    } else {
                        paint(l, code)
                    };
                    o.push_str(&format!("             {l}\n"));
                }
            }
        }
        for c in &r.commands {
            o.push_str(&format!(
                "           -> runs `{}` ({})\n",
                c.argv.join(" "),
                c.why
            ));
        }
    }
    o
}

/// One line: what check found, in the terms of its exit code.
fn summary(reports: &[StepReport]) -> String {
    let ids = |st: Status| -> Vec<&str> {
        reports
            .iter()
            .filter(|r| r.status == st)
            .map(|r| r.id)
            .collect()
    };
    let errors: Vec<String> = reports
        .iter()
        .filter(|r| r.status == Status::Error)
        .map(|r| {
            let why: Vec<&str> = r
                .findings
                .iter()
                .filter(|f| f.severity == Severity::Error)
                .map(|f| f.message.as_str())
                .collect();
            format!("{}: {}", r.id, why.join("; "))
        })
        .collect();
    if !errors.is_empty() {
        return format!("error in {}", errors.join(" | "));
    }
    let (pending, blocked) = (ids(Status::Pending), ids(Status::Blocked));
    if pending.is_empty() && blocked.is_empty() {
        return "nothing to do: every step is done".into();
    }
    let mut v = vec![];
    if !pending.is_empty() {
        v.push(format!("pending: {}", pending.join(", ")));
    }
    if !blocked.is_empty() {
        v.push(format!("blocked: {}", blocked.join(", ")));
    }
    v.join("; ")
}

fn plan_exit(reports: &[StepReport]) -> u8 {
    if reports.iter().any(|r| r.status == Status::Error) {
        1
    } else if reports
        .iter()
        .any(|r| matches!(r.status, Status::Pending | Status::Blocked))
    {
        2
    } else {
        0
    }
}

/// Refuses when standard input is not a terminal: there is no one to ask.
fn need_terminal() -> Result<(), String> {
    if !std::io::stdin().is_terminal() {
        return Err("refusing to change anything without confirmation: standard input is not a terminal, so there is no one to ask. Run `plan` to see the changes, then add --yes".into());
    }
    Ok(())
}

/// Asks on the terminal; refuses without one.
fn confirm(question: &str) -> Result<bool, String> {
    need_terminal()?;
    errout!("{question} [y/N] ");
    let _ = std::io::stderr().flush();
    let mut line = String::new();
    std::io::stdin()
        .read_line(&mut line)
        .map_err(|e| e.to_string())?;
    Ok(matches!(line.trim(), "y" | "Y" | "yes" | "YES" | "Yes"))
}

fn open(cli: &Cli, opts: Options, profile: Option<&std::path::Path>) -> Result<Engine, String> {
    let root = cli.root.clone().unwrap_or_else(|| PathBuf::from("/"));
    let opts = Options {
        trust_root: cli.trust_root,
        ..opts
    };
    crate::steps::open(&root, profile, opts)
}

fn print_event(e: Event) {
    match e {
        Event::Recovered(m) => errln!("recovery: {m}"),
        Event::StepStarted(id) => errln!("applying {id} ..."),
        Event::Writing(p) => errln!("  writing {p}"),
        Event::Running(c) => errln!("  running {c}"),
        Event::StepFinished(_, _) => {}
        Event::Restored(m) => errln!("  {m}"),
    }
}

/// Runs a parsed command line; returns the process exit code.
pub fn run(cli: Cli) -> ExitCode {
    match dispatch(&cli) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            if cli.format == Format::Json {
                outln!(
                    "{}",
                    crate::term::json_line(&serde_json::json!({ "error": e })).unwrap_or_default()
                );
            } else {
                errln!("smtpauth-wizard: {e}");
            }
            ExitCode::from(1)
        }
    }
}

fn dispatch(cli: &Cli) -> Result<u8, String> {
    let json = cli.format == Format::Json;
    match cli.command.as_ref().expect("TUI handled by main") {
        Command::Check { choices } | Command::Plan { choices, .. } => {
            let diffs = matches!(cli.command, Some(Command::Plan { .. }));
            let full = matches!(cli.command, Some(Command::Plan { full: true, .. }));
            let (opts, profile) = choices.resolve(cli.profile.as_ref())?;
            let engine = open(cli, opts, profile.as_deref())?;
            let reports = engine.plan();
            let unfinished = unfinished_run(&engine);
            if json {
                outln!("{}", to_json(&engine, &reports, unfinished.as_deref()));
            } else {
                let mut t = text_report(&engine, &reports, diffs, full);
                if let Some(u) = &unfinished {
                    let at = t.find("\n\n").map(|i| i + 1).unwrap_or(0);
                    t.insert_str(at, &format!("{}\n", paint(&format!("! {u}"), "33")));
                }
                out!("{t}");
            }
            Ok(plan_exit(&reports))
        }
        Command::Apply {
            yes,
            full,
            only,
            choices,
        } => apply(cli, choices, only, *yes, *full, false),
        Command::Resume { yes, full, choices } => apply(cli, choices, &[], *yes, *full, true),
        Command::Rollback {
            yes,
            from_backups: true,
            ..
        } => {
            let engine = open(cli, Options::default(), cli.profile.as_deref())?;
            engine.may_write()?;
            if !yes && !confirm("Put the .bak copies back over sendmail.mc and sendmail.cf?")? {
                return Err("nothing was changed".into());
            }
            let msgs = engine.restore_from_backups(&mut |_| {})?;
            if json {
                let n = msgs.iter().filter(|m| m.starts_with("restored ")).count();
                let message = if n > 0 {
                    format!("restored {n} file(s) from their .bak copies")
                } else {
                    msgs.first().cloned().unwrap_or_default()
                };
                // `restored` lists what was restored: nothing, when nothing was.
                let restored: &[String] = if n > 0 { &msgs } else { &[] };
                outln!(
                    "{}",
                    serde_json::json!({ "changed": n > 0, "message": message, "restored": restored })
                );
            } else {
                msgs.iter().for_each(|m| outln!("{m}"));
            }
            Ok(0)
        }
        Command::Rollback {
            yes, step, force, ..
        } => {
            let engine = open(cli, Options::default(), cli.profile.as_deref())?;
            engine.may_write()?;
            let j = engine.journal().map_err(|e| e.to_string())?;
            let applied = j.applied_newest_first();
            let n = applied
                .iter()
                .filter(|(r, s)| {
                    step.as_deref()
                        .is_none_or(|id| j.data.runs[*r].steps[*s].id == id)
                })
                .count();
            // Refused before asking: the engine would refuse after the question anyway.
            if n > 0 && !yes && !force {
                let targets: Vec<(usize, usize)> = applied
                    .iter()
                    .copied()
                    .filter(|(r, s)| {
                        step.as_deref()
                            .is_none_or(|id| j.data.runs[*r].steps[*s].id == id)
                    })
                    .collect();
                let conflicts = j.rollback_conflicts(&targets);
                if !conflicts.is_empty() {
                    return Err(crate::engine::conflict_refusal(engine.root(), &conflicts));
                }
            }
            if n > 0 && !yes {
                errln!("rollback restores, newest first:");
                for (r, s) in &applied {
                    let st = &j.data.runs[*r].steps[*s];
                    if step.as_deref().is_some_and(|id| id != st.id) {
                        continue;
                    }
                    for f in st
                        .files
                        .iter()
                        .rev()
                        .filter(|f| f.state != FileState::RolledBack)
                    {
                        errln!("  {} {}", st.id, engine.root().display(&f.path));
                    }
                }
                if !confirm("Roll back?")? {
                    return Err("nothing was changed".into());
                }
            }
            let msgs = engine.rollback(step.as_deref(), *force, &mut |e| {
                if !json {
                    print_event(e)
                }
            })?;
            if json {
                let steps: Vec<&str> = msgs
                    .iter()
                    .filter_map(|m| m.strip_prefix("rolled back step "))
                    .collect();
                let message = if steps.is_empty() {
                    msgs.first().cloned().unwrap_or_default()
                } else {
                    format!("rolled back {}", steps.join(", "))
                };
                // `rolled_back` lists what was rolled back: nothing (an empty list, the reason
                // in `message`) when there was nothing to roll back.
                let rolled_back: &[String] = if steps.is_empty() { &[] } else { &msgs };
                outln!(
                    "{}",
                    serde_json::json!({ "changed": !steps.is_empty(), "message": message, "rolled_back": rolled_back })
                );
            } else {
                for m in msgs.iter().filter(|m| {
                    m.starts_with("nothing")
                        || m.starts_with("rolled back")
                        || m.starts_with("warning:")
                }) {
                    outln!("{m}");
                }
            }
            Ok(0)
        }
        Command::Answers { example, file } => answers(cli, *example, file.as_deref()),
        Command::Generate { what } => generate(cli, what),
        Command::Status => status(cli),
        Command::Probe(a) => probe(cli, a),
        Command::RelayReport(a) => relay_report(cli, a),
        Command::Demo => Err("`demo` opens the terminal wizard (handled by main)".into()),
    }
}

/// Reads a password without echo from the terminal (/dev/tty).
fn read_password_tty(prompt: &str) -> Result<String, String> {
    use nix::sys::termios::{tcgetattr, tcsetattr, LocalFlags, SetArg};
    let tty = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/tty")
        .map_err(|_| "no terminal to ask for the password: give --password-env VAR or --password-fd N (never the password itself on the command line)".to_string())?;
    let old = tcgetattr(&tty).map_err(|e| format!("cannot read the terminal settings: {e}"))?;
    let mut quiet = old.clone();
    quiet.local_flags.remove(LocalFlags::ECHO);
    quiet.local_flags.insert(LocalFlags::ECHONL);
    tcsetattr(&tty, SetArg::TCSANOW, &quiet).map_err(|e| e.to_string())?;
    let mut w = &tty;
    let _ = write!(w, "{prompt}");
    let _ = w.flush();
    let mut line = String::new();
    let res = std::io::BufRead::read_line(&mut std::io::BufReader::new(&tty), &mut line);
    let _ = tcsetattr(&tty, SetArg::TCSANOW, &old);
    res.map_err(|e| e.to_string())?;
    Ok(line.trim_end_matches(['\n', '\r']).to_string())
}

fn relay_report(cli: &Cli, a: &RelayReportArgs) -> Result<u8, String> {
    use crate::relay_report as rr;
    let json = cli.format == Format::Json;
    let root = cli.root.clone().unwrap_or_else(|| PathBuf::from("/"));
    let mut opts = rr::ReportOptions::default();
    if let Some(s) = &a.since {
        opts.since = Some(rr::parse_duration(s).map_err(|e| format!("--since {s}: {e}"))?);
    }
    opts.stdin = a.logs.iter().any(|l| l.as_os_str() == "-");
    opts.logs = a
        .logs
        .iter()
        .filter(|l| l.as_os_str() != "-")
        .cloned()
        .collect();
    opts.root = root.clone();
    let asked_journal = a.journal || a.journal_dir.is_some();
    if asked_journal {
        let mut j = rr::Journal::for_root(&root);
        if let Some(d) = &a.journal_dir {
            j.directory = Some(d.clone());
        }
        opts.journal = Some(j);
    }
    if a.logs.is_empty() && !asked_journal {
        // Only the profile's log names are wanted here: relay-report writes nothing, so a tree
        // other users can write is no danger to it.
        let read_only = Options {
            trust_root: true,
            ..Options::default()
        };
        let profile_logs = crate::steps::open(&root, cli.profile.as_deref(), read_only)
            .ok()
            .and_then(|e| e.profile().map(|p| p.mail_logs.clone()))
            .unwrap_or_else(|| vec!["/var/log/mail.log".into(), "/var/log/maillog".into()]);
        opts.logs = rr::default_logs(&root, &profile_logs);
        if !opts.logs.iter().any(|p| p.exists()) {
            // No syslog daemon writes the mail log (Debian 12 and 13 install no rsyslog):
            // sendmail's lines are in the journal.
            let mut j = rr::Journal::for_root(&root);
            if !rr::journal_available(&j) {
                return Err(format!(
                    "no mail log found ({} under {}) and no journal to read instead ({}): give the log with --log FILE, or the journal with --journal-dir DIR",
                    profile_logs.join(", "),
                    root.display(),
                    match &j.directory {
                        Some(d) => format!("{} is missing or empty", d.display()),
                        None => "journalctl is not installed, or /var/log/journal and /run/log/journal are empty".into(),
                    }
                ));
            }
            j.why = Some(format!(
                "chosen because {} is absent",
                opts.logs
                    .iter()
                    .map(|p| p.display().to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
            opts.logs.clear();
            opts.journal = Some(j);
        }
    }
    opts.local_domains = rr::read_local_domains(&root);
    if a.follow {
        let mut last = u64::MAX;
        rr::follow(
            &opts,
            |rep| {
                if rep.lines_read != last {
                    last = rep.lines_read;
                    if json {
                        outln!("{}", crate::term::json_line(rep).unwrap_or_default());
                    } else {
                        outln!("{}\n{}", "-".repeat(72), rep.to_text());
                    }
                    let _ = std::io::stdout().flush();
                }
                true
            },
            std::time::Duration::from_secs(1),
        )
        .map_err(|e| log_error(e, &a.logs))?;
        return Ok(0);
    }
    let rep = rr::report_files(&opts).map_err(|e| log_error(e, &a.logs))?;
    if json {
        outln!(
            "{}",
            crate::term::json_pretty(&rep).map_err(|e| e.to_string())?
        );
    } else {
        out!("{}", rep.to_text());
    }
    Ok(0)
}

/// A relay-report error; a missing log given with --log is named as such (the generic hint
/// "give the log with --log FILE" is for the default logs).
fn log_error(e: crate::relay_report::ReportError, given: &[PathBuf]) -> String {
    match e {
        crate::relay_report::ReportError::Missing(p) if given.contains(&p) => {
            format!("{}: no such file (given with --log)", p.display())
        }
        e => e.to_string(),
    }
}

fn probe(cli: &Cli, a: &ProbeArgs) -> Result<u8, String> {
    let pa = match &a.answers {
        Some(f) => answers::load(f)?.probe.unwrap_or_default(),
        None => Default::default(),
    };
    let target = a.target.clone().or(pa.target).ok_or(
        "probe needs a target: HOST[:PORT] on the command line or `probe: target:` in the answers file",
    )?;
    let mut o = crate::smtp::ProbeOptions::for_target(&target)?;
    if !(a.timeout > 0.0 && a.timeout <= 3600.0) {
        return Err(format!(
            "--timeout {} must be between 0 and 3600 seconds",
            a.timeout
        ));
    }
    o.timeout = std::time::Duration::from_secs_f64(a.timeout);
    o.relay_to = a
        .relay_to
        .clone()
        .or(pa.relay_to)
        .unwrap_or_else(|| crate::smtp::DEFAULT_RELAY_TO.to_string());
    o.from = a.from.clone().or(pa.from).unwrap_or_default();
    o.source_ip = a.source_ip.or(pa.source_ip);
    if let Some(n) = &a.ehlo_name {
        o.ehlo_name = n.clone();
    }
    // A password source given on the command line wins over the answers file's variable.
    let password_env = if a.password_fd.is_some() {
        a.password_env.clone()
    } else {
        a.password_env.clone().or(pa.password_env)
    };
    if let Some(u) = a.user.clone().or(pa.user) {
        o.user = Some(u.clone());
        let pw = if let Some(var) = &password_env {
            crate::smtp::Secret::new(
                std::env::var(var)
                    .map_err(|_| format!("--password-env {var}: no such environment variable"))?,
            )
        } else if let Some(fd) = a.password_fd {
            if fd < 0 || nix::fcntl::fcntl(fd, nix::fcntl::FcntlArg::F_GETFD).is_err() {
                return Err(format!(
                    "--password-fd {fd}: that file descriptor is not open"
                ));
            }
            // SAFETY: the descriptor is open (checked above) and stays open for this borrow:
            // it belongs to the caller, and nothing here closes it.
            let bfd = unsafe { std::os::fd::BorrowedFd::borrow_raw(fd) };
            crate::smtp::secret::read_line_from_fd(bfd)
                .map_err(|e| format!("--password-fd {fd}: {e}"))?
        } else {
            crate::smtp::Secret::new(read_password_tty(&format!("password for {u}: "))?)
        };
        o.password = Some(pw);
    }
    let rep = crate::smtp::probe(&o);
    if cli.format == Format::Json {
        outln!(
            "{}",
            crate::term::json_pretty(&rep).map_err(|e| e.to_string())?
        );
    } else {
        out!("{}", rep.to_text());
    }
    Ok(rep.exit_code())
}

fn apply(
    cli: &Cli,
    choices: &Choices,
    only: &[String],
    yes: bool,
    full: bool,
    resume: bool,
) -> Result<u8, String> {
    let json = cli.format == Format::Json;
    let (opts, profile) = choices.resolve(cli.profile.as_ref())?;
    let engine = open(cli, opts, profile.as_deref())?;
    engine.may_write()?;
    if resume {
        let j = engine.journal().map_err(|e| e.to_string())?;
        let interrupted = j.data.runs.iter().any(|r| {
            r.steps
                .iter()
                .any(|s| s.state == crate::engine::journal::StepState::InProgress)
        });
        if j.open_run().is_none() && !interrupted {
            let msg =
                "nothing to resume: the journal has no unfinished run (use `apply` to start one)";
            if json {
                outln!(
                    "{}",
                    serde_json::json!({ "changed": false, "resumed": false, "message": msg, "summary": null })
                );
            } else {
                outln!("{msg}");
            }
            return Ok(0);
        }
    }
    let reports = engine.plan();
    let pending: Vec<&StepReport> = reports
        .iter()
        .filter(|r| only.is_empty() || only.iter().any(|o| o == r.id))
        .filter(|r| r.status != Status::Done && r.status != Status::Skipped)
        .collect();
    if pending.is_empty() {
        let msg = if only.is_empty() {
            "nothing to do: every step is already done".to_string()
        } else {
            let st: Vec<String> = reports
                .iter()
                .filter(|r| only.iter().any(|o| o == r.id))
                .map(|r| format!("{} is {}", r.id, r.status.as_str()))
                .collect();
            format!("nothing to do: {}", st.join(", "))
        };
        if json {
            outln!(
                "{}",
                serde_json::json!({ "changed": false, "message": msg, "summary": null })
            );
        } else {
            outln!("{msg}");
        }
        return Ok(0);
    }
    if !yes {
        if json {
            // stdout carries exactly one JSON object: the plan goes to the person at the
            // terminal (stderr), and without a terminal there is no one to show it to.
            need_terminal()?;
            errout!("{}", text_report(&engine, &reports, true, full));
        } else {
            out!("{}", text_report(&engine, &reports, true, full));
        }
        if !confirm("Apply these changes?")? {
            return Err("nothing was changed".into());
        }
    }
    let sum = engine.apply(only, &mut |e| {
        if !json {
            print_event(e)
        }
    })?;
    if json {
        let msg = if sum.applied.is_empty() {
            nothing_applied(only)
        } else {
            format!("applied: {}", sum.applied.join(", "))
        };
        outln!(
            "{}",
            serde_json::json!({ "changed": !sum.files.is_empty() || !sum.commands.is_empty(), "message": msg, "summary": sum })
        );
    } else {
        if sum.applied.is_empty() {
            outln!("{}", nothing_applied(only));
        } else {
            outln!("applied: {}", sum.applied.join(", "));
            outln!(
                "journal: {}; undo with `smtpauth-wizard{} rollback`",
                crate::engine::journal::journal_path(engine.root()).display(),
                cli.root
                    .as_ref()
                    .map(|_| format!(" --root {}", engine.root().dir().display()))
                    .unwrap_or_default()
            );
        }
        if !sum.skipped.is_empty() {
            outln!("skipped: {}", sum.skipped.join(", "));
        }
        for n in &sum.notes {
            outln!("{n}");
        }
    }
    Ok(0)
}

/// What apply says when it applied nothing: "every step" only when no --only narrowed it.
fn nothing_applied(only: &[String]) -> String {
    if only.is_empty() {
        "nothing to do: every step is already done".into()
    } else {
        format!("nothing to do: {} already done", only.join(", "))
    }
}

fn status(cli: &Cli) -> Result<u8, String> {
    let json = cli.format == Format::Json;
    let engine = open(cli, Options::default(), cli.profile.as_deref())?;
    let path = crate::engine::journal::journal_path(engine.root());
    let j = match Journal::read(engine.root()) {
        Ok(j) => j,
        Err(e) => {
            // Show what we can: the .bak files are there whatever happened to the journal.
            let baks = backups(&engine);
            if json {
                outln!(
                    "{}",
                    serde_json::json!({ "journal": path.display().to_string(), "error": e.to_string(), "backups": baks })
                );
            } else {
                outln!("journal {}: {e}", path.display());
                for b in baks {
                    outln!("backup present: {b}");
                }
            }
            return Ok(1);
        }
    };
    let changed = j.changed_since_written();
    if json {
        outln!(
            "{}",
            crate::term::json_pretty(&serde_json::json!({
                "journal": path.display().to_string(),
                "runs": j.data.runs,
                "changed_since_written": changed,
                "backups": backups(&engine),
            }))
            .unwrap()
        );
        return Ok(0);
    }
    if j.data.runs.is_empty() {
        outln!(
            "no journal at {}: the wizard has changed nothing here",
            path.display()
        );
        return Ok(0);
    }
    outln!("journal {}", path.display());
    for r in &j.data.runs {
        outln!(
            "run {} (profile {}, started {}, {})",
            r.id,
            r.profile,
            r.started,
            r.finished
                .as_deref()
                .map(|f| format!("finished {f}"))
                .unwrap_or_else(|| "unfinished: `resume` continues it".into())
        );
        for s in &r.steps {
            outln!(
                "  {:<15} {}{}",
                s.id,
                state_words(&s.state),
                s.note
                    .as_deref()
                    .map(|n| format!(" ({n})"))
                    .unwrap_or_default()
            );
            for f in &s.files {
                outln!(
                    "    {} {}{}{}",
                    engine.root().display(&f.path),
                    state_words(&f.state),
                    f.saved
                        .as_deref()
                        .map(|s| format!(", original saved as {s}"))
                        .unwrap_or_else(|| ", created by the wizard".into()),
                    if changed.contains(&f.path) && f.state == FileState::Written {
                        ", CHANGED SINCE the wizard wrote it"
                    } else {
                        ""
                    }
                );
            }
            for c in &s.commands {
                outln!("    ran `{}` (exit {:?})", c.argv.join(" "), c.status);
            }
        }
    }
    Ok(0)
}

/// A journal state as words (`RolledBack` -> `rolled back`), as the journal spells it
/// (`rolled-back`) but readable.
fn state_words<T: Serialize>(s: &T) -> String {
    serde_json::to_value(s)
        .ok()
        .and_then(|v| v.as_str().map(|x| x.replace(['-', '_'], " ")))
        .unwrap_or_default()
}

fn backups(engine: &Engine) -> Vec<String> {
    let Some(p) = engine.profile() else {
        return vec![];
    };
    std::iter::once(&p.sendmail.mc)
        .chain(&p.sendmail.cf)
        .map(|f| format!("{f}.bak"))
        .filter(|b| engine.root().exists(b))
        .map(|b| engine.root().display(&b))
        .collect()
}

/// `answers --example` prints the template; `answers FILE` checks a file and shows what it sets.
fn answers(cli: &Cli, example: bool, file: Option<&std::path::Path>) -> Result<u8, String> {
    let json = cli.format == Format::Json;
    if example {
        if json {
            outln!(
                "{}",
                crate::term::json_line(&serde_json::json!({ "example": answers::EXAMPLE }))
                    .unwrap_or_default()
            );
        } else {
            out!("{}", answers::EXAMPLE);
        }
        return Ok(0);
    }
    let f = file.ok_or("give an answers FILE to check, or --example")?;
    let a = answers::load(f)?;
    if json {
        outln!(
            "{}",
            crate::term::json_pretty(&serde_json::json!({
                "file": f.display().to_string(),
                "valid": true,
                "answers": a,
            }))
            .map_err(|e| e.to_string())?
        );
    } else {
        outln!("{}: valid; it sets:", f.display());
        let y = serde_yaml::to_string(&a).map_err(|e| e.to_string())?;
        for l in y.lines().filter(|l| !l.ends_with(": null")) {
            outln!("  {l}");
        }
    }
    Ok(0)
}

/// Writes the man pages or the completions (for packaging; see .ci/package). Goes through
/// fsops like every other write: each file is replaced atomically.
fn generate(cli: &Cli, what: &GenerateWhat) -> Result<u8, String> {
    use crate::engine::fsops;
    let mut files: Vec<(PathBuf, Vec<u8>)> = vec![];
    let mut cmd = command();
    let dir = match what {
        GenerateWhat::Man { dir } => {
            // `help` is clap's own; the pages say what it would.
            cmd = cmd.disable_help_subcommand(true);
            cmd.build();
            let page = |c: clap::Command| -> Result<(String, Vec<u8>), String> {
                let m = clap_mangen::Man::new(c)
                    .section("8")
                    .source(concat!("smtpauth-wizard ", env!("CARGO_PKG_VERSION")))
                    .manual("System Administration");
                let mut buf = vec![];
                m.render(&mut buf).map_err(|e| e.to_string())?;
                Ok((m.get_filename(), buf))
            };
            let (n, b) = page(cmd.clone())?;
            files.push((dir.join(n), b));
            for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
                let (n, b) = page(sub.clone())?;
                files.push((dir.join(n), b));
            }
            dir
        }
        GenerateWhat::Completions { dir } => {
            use clap_complete::{Generator, Shell};
            cmd.build();
            for sh in [Shell::Bash, Shell::Zsh, Shell::Fish] {
                let mut buf = vec![];
                clap_complete::generate(sh, &mut cmd, "smtpauth-wizard", &mut buf);
                files.push((dir.join(sh.file_name("smtpauth-wizard")), buf));
            }
            dir
        }
    };
    fsops::ensure_dir(dir, 0o755).map_err(|e| e.to_string())?;
    for (p, b) in &files {
        fsops::replace_file(
            p,
            b,
            fsops::WriteMeta {
                mode: 0o644,
                owner: None,
                mtime: None,
            },
            None,
        )
        .map_err(|e| e.to_string())?;
    }
    let names: Vec<String> = files.iter().map(|(p, _)| p.display().to_string()).collect();
    if cli.format == Format::Json {
        outln!(
            "{}",
            crate::term::json_line(&serde_json::json!({ "files": names })).unwrap_or_default()
        );
    } else {
        names.iter().for_each(|n| outln!("wrote {n}"));
    }
    Ok(0)
}
