use smtpauth_wizard::cli;
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = cli::parse();
    if cli.command.is_none() {
        eprintln!("smtpauth-wizard: the terminal wizard is not built yet; use `check`, `plan`, `apply`, `rollback` or `status` (see --help)");
        return ExitCode::from(1);
    }
    cli::run(cli)
}
