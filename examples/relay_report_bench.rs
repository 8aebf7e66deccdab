//! Stand-in for `smtpauth-wizard relay-report --log FILE... --format json` until the CLI
//! subcommand is wired: reads the logs with `report_files` and prints the report as JSON.
//! `benches/relay_report.sh` falls back to it.
use smtpauth_wizard::relay_report::{report_files, ReportOptions};
use std::process::ExitCode;

fn main() -> ExitCode {
    let logs: Vec<_> = std::env::args_os().skip(1).map(Into::into).collect();
    let opts = ReportOptions {
        logs,
        ..ReportOptions::default()
    };
    match report_files(&opts) {
        Ok(report) => {
            println!(
                "{}",
                serde_json::to_string_pretty(&report).expect("a report serialises")
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("relay_report_bench: {e}");
            ExitCode::FAILURE
        }
    }
}
