//! The command line: a thin face over the engine. `check` and `plan` read only; `apply`,
//! `resume` and `rollback` ask before changing anything unless given --yes, and refuse when
//! there is no terminal to ask.
//!
//! Exit codes (stable): `check`/`plan`: 0 nothing to do, 2 changes pending, 1 error (terraform's
//! -detailed-exitcode convention); everything else: 0 success, 1 error. A command line that does
//! not parse is an error too (1, not clap's 2, which automation would read as "pending").
//!
//! With `--format json` everything printed on stdout is one JSON object, errors included
//! (`{"error": "..."}`); the shapes are documented in docs/json.md and checked by tests/json_shape.rs.

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
mod apply;
mod args;
mod generate;
mod json;
mod probe;
mod relay_report;
mod render;
mod status;
mod users;

use apply::*;
pub use args::*;
use generate::*;
use probe::*;
use relay_report::*;
use render::*;
use status::*;
pub use users::{UsersArgs, UsersWhat};

use crate::engine::journal::FileState;
use crate::engine::step::{Options, Severity, Status, StepReport};
use crate::engine::{Engine, Error, Event};
use clap::{Parser, Subcommand, ValueEnum};
use serde::Serialize;
use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

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
#[allow(unsafe_code)] // nix's `signal` is unsafe (it may install handler code); see SAFETY below.
pub fn die_of_sigpipe() -> ! {
    use nix::sys::signal::{raise, signal, SigHandler, Signal};
    // SAFETY: restoring the default action of a signal installs no handler code.
    unsafe {
        let _ = signal(Signal::SIGPIPE, SigHandler::SigDfl);
    }
    let _ = raise(Signal::SIGPIPE);
    std::process::exit(141)
}

/// Refuses when standard input is not a terminal: there is no one to ask.
fn need_terminal() -> Result<(), Error> {
    if !std::io::stdin().is_terminal() {
        return Err(Error::Refused("refusing to change anything without confirmation: standard input is not a terminal, so there is no one to ask. Run `plan` to see the changes, then add --yes".into()));
    }
    Ok(())
}

/// Asks on the terminal; refuses without one.
fn confirm(question: &str) -> Result<bool, Error> {
    need_terminal()?;
    errout!("{question} [y/N] ");
    let _ = std::io::stderr().flush();
    let mut line = String::new();
    std::io::stdin()
        .read_line(&mut line)
        .map_err(|e| Error::Io {
            action: "read the answer".into(),
            path: "standard input".into(),
            message: e.to_string(),
        })?;
    Ok(matches!(line.trim(), "y" | "Y" | "yes" | "YES" | "Yes"))
}

fn open(cli: &Cli, opts: Options, profile: Option<&std::path::Path>) -> Result<Engine, Error> {
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
                    crate::term::json_line(&e.to_json()).unwrap_or_default()
                );
            } else {
                errln!("smtpauth-wizard: {e}");
            }
            ExitCode::from(e.exit_code())
        }
    }
}

fn dispatch(cli: &Cli) -> Result<u8, Error> {
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
                return Err(Error::Refused("nothing was changed".into()));
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
                    json::line(&json::Restored {
                        changed: n > 0,
                        message: &message,
                        restored,
                    })
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
            let j = engine.journal()?;
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
                    return Err(Error::Refused("nothing was changed".into()));
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
                    json::line(&json::RolledBack {
                        changed: !steps.is_empty(),
                        message: &message,
                        rolled_back,
                    })
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
        Command::Users(a) => users::users(cli, a),
        Command::Demo => Err("`demo` opens the terminal wizard (handled by main)".into()),
    }
}
