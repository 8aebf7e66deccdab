#![deny(unsafe_code)]
use smtpauth_wizard::cli::{self, Command};
use smtpauth_wizard::engine::step::Options;
use std::path::PathBuf;
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = cli::parse();
    let root = match cli.command {
        None => cli.root.clone().unwrap_or_else(|| PathBuf::from("/")),
        Some(Command::Demo) => match smtpauth_wizard::tui::demo::prepare() {
            Ok((dir, notes)) => {
                for n in notes {
                    eprintln!("{}", smtpauth_wizard::term::for_terminal(&n, false));
                }
                dir
            }
            Err(e) => {
                eprintln!(
                    "smtpauth-wizard: {}",
                    smtpauth_wizard::term::for_terminal(&e.to_string(), false)
                );
                return ExitCode::from(1);
            }
        },
        Some(_) => return cli::run(cli),
    };
    let options = Options {
        trust_root: cli.trust_root,
        ..Options::default()
    };
    match smtpauth_wizard::tui::run(root, cli.profile.clone(), options) {
        Ok(code) => code,
        Err(e) => {
            eprintln!(
                "smtpauth-wizard: {}",
                smtpauth_wizard::term::for_terminal(&format!("{e:#}"), false)
            );
            ExitCode::from(1)
        }
    }
}
