//! `relay-report`: who relayed through this server, read from the mail logs.

use super::*;

pub(super) fn relay_report(cli: &Cli, a: &RelayReportArgs) -> Result<u8, crate::engine::Error> {
    use crate::relay_report as rr;
    let json = cli.format == Format::Json;
    let root = cli.root.clone().unwrap_or_else(|| PathBuf::from("/"));
    let mut opts = rr::ReportOptions::default();
    if let Some(s) = &a.since {
        opts.since = Some(rr::parse_duration(s).map_err(|e| {
            crate::engine::Error::bad_input("--since", e.clone(), format!("--since {s}: {e}"))
        })?);
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
                return Err(crate::engine::Error::bad_input(
                    "--log",
                    "no mail log and no journal",
                    format!(
                    "no mail log found ({} under {}) and no journal to read instead ({}): give the log with --log FILE, or the journal with --journal-dir DIR",
                    profile_logs.join(", "),
                    root.display(),
                    match &j.directory {
                        Some(d) => format!("{} is missing or empty", d.display()),
                        None => "journalctl is not installed, or /var/log/journal and /run/log/journal are empty".into(),
                    }
                )));
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
    let state = rr::scan_files(&opts).map_err(|e| log_error(e, &a.logs))?;
    if json {
        // Streamed to standard output: with every cap full the report is 10 MB of JSON, and
        // building it as a string (then copying it through outln!'s format!) took peak RSS to
        // 41 MiB (target < 32). The JSON needs no `for_terminal`: see `write_json_pretty`,
        // whose bytes `Scanner::write_json` writes.
        use std::io::Write as _;
        let mut w = std::io::BufWriter::with_capacity(64 * 1024, std::io::stdout().lock());
        let written = state
            .write_json(rr::source_of(&opts), &mut w)
            .and_then(|w| w.write_all(b"\n"))
            .and_then(|()| w.flush());
        if let Err(e) = written {
            if e.kind() == std::io::ErrorKind::BrokenPipe {
                super::die_of_sigpipe();
            }
            return Err(crate::engine::Error::Io {
                action: "write the report".into(),
                path: "standard output".into(),
                message: format!("cannot write to standard output: {e}"),
            });
        }
    } else {
        let mut rep = state.snapshot();
        rep.source = rr::source_of(&opts);
        out!("{}", rep.to_text());
        std::mem::forget(rep);
    }
    // The process ends now: freeing the report's strings and the scanner's maps one by one
    // would only delay that.
    std::mem::forget(state);
    Ok(0)
}

/// A relay-report error; a missing log given with --log is named as such (the generic hint
/// "give the log with --log FILE" is for the default logs).
pub(super) fn log_error(
    e: crate::relay_report::ReportError,
    given: &[PathBuf],
) -> crate::engine::Error {
    use crate::engine::Error;
    use crate::relay_report::ReportError as R;
    let message = match &e {
        R::Missing(p) if given.contains(p) => {
            format!("{}: no such file (given with --log)", p.display())
        }
        e => e.to_string(),
    };
    let io = |p: &std::path::Path| Error::Io {
        action: "read the mail log".into(),
        path: p.display().to_string(),
        message: message.clone(),
    };
    match &e {
        R::NoLogs => Error::bad_input("--log", "no mail log", message),
        R::Missing(p) | R::Unreadable { path: p, .. } => io(p),
        R::NotGzip(p) => Error::bad_input(p.display().to_string(), "not gzip data", message),
        R::BadGzip { path, .. } => Error::bad_input(
            path.display().to_string(),
            "damaged or incomplete gzip data",
            message,
        ),
        R::Journal(_) => Error::ToolFailed {
            tool: "journalctl".into(),
            status: None,
            stderr: String::new(),
            message,
        },
    }
}
