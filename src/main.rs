use clap::Parser;
use smtpauth_wizard::cli::{self, Cli};
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = Cli::parse();
    if cli.command.is_none() {
        eprintln!("smtpauth-wizard: the terminal wizard is not built yet; use `check`, `plan`, `apply`, `rollback` or `status` (see --help)");
        return ExitCode::from(1);
    }
    cli::run(cli)
}
