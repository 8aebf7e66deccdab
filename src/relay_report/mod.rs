//! HOWTO step 13: "Hover anxiously over the server for a couple of days and check for
//! Relaying denied errors. Track them down aggressively, since most of them will be your own
//! customers who didn't fix their mail clients when you told them to do so."
//!
//! This module reads sendmail's mail log (rotated and gzipped files included, `journalctl`
//! output on stdin, or the systemd journal itself through `journalctl`, see [`Journal`]) and
//! reports who was refused relaying and who failed to log in, per client,
//! with a stated guess of whether the client is one of your own users or a stranger probing for
//! an open relay. It only reads: it never changes the system and never touches sendmail.
//!
//! Logs can be large (gigabytes on a busy server), so the scan streams in constant memory:
//! 256 KiB chunks, an aho-corasick search and a memchr count per chunk that find the few lines
//! that matter and count the rest without splitting them (`find`), and aggregates capped at [`MAX_TRACKED`] entries. The stateless
//! part (reading, counting, finding and classifying lines) runs on one thread per core; the
//! rest, in log order, on the calling thread. See [`Scanner`].
mod find;
mod follow;
mod journal;
mod line;
mod read;
mod report;
mod scan;
mod stats;
mod time;

pub use follow::follow;
pub use journal::{journal_available, Journal};

pub use report::{ClientStat, ReasonStat, Report, SenderStat, Untracked, UserStat, Verdict};
pub use scan::{Scanner, Tracked};
pub use stats::MAX_TRACKED;

use read::{open, scan_source, scan_stream, Input};
use std::fmt;
use std::io;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

/// What to read and how to read it.
#[derive(Clone, Debug)]
pub struct ReportOptions {
    /// Log files, oldest first; `-` is standard input. Empty: the caller fills in
    /// [`default_logs`].
    pub logs: Vec<PathBuf>,
    /// Only events newer than this (`--since 2d`).
    pub since: Option<Duration>,
    /// "Now", for `--since` and for the year of classic syslog stamps (injectable for tests).
    pub now: SystemTime,
    /// Also read standard input (after the files), e.g. `journalctl -u sendmail | ...`.
    pub stdin: bool,
    /// Your own mail domains (see [`read_local_domains`]), for the hints; empty: unknown.
    pub local_domains: Vec<String>,
    /// The time zone of classic syslog stamps, in seconds east of UTC. `None`: the local time
    /// zone of the system at `root`, which is what its syslog wrote them in (see `root`).
    pub utc_offset: Option<i32>,
    /// The system the logs come from (`--root`, default `/`). Classic stamps are in its zone:
    /// `TZ` when set, else `root/etc/localtime`, else this machine's. Its journal is
    /// `root/var/log/journal` (see [`Journal::for_root`]).
    pub root: PathBuf,
    /// Also read the systemd journal (after the files and standard input): `--journal`, or
    /// chosen when the profile's logs are absent.
    pub journal: Option<Journal>,
}

impl Default for ReportOptions {
    fn default() -> Self {
        ReportOptions {
            logs: Vec::new(),
            since: None,
            now: SystemTime::now(),
            stdin: false,
            local_domains: Vec::new(),
            utc_offset: None,
            root: PathBuf::from("/"),
            journal: None,
        }
    }
}

/// Why the logs could not be read. Every variant but `NoLogs` names the file.
#[derive(Debug)]
pub enum ReportError {
    /// No log given and none found.
    NoLogs,
    Missing(PathBuf),
    Unreadable {
        path: PathBuf,
        source: io::Error,
    },
    /// Named `.gz` but not gzip data.
    NotGzip(PathBuf),
    /// gzip data that is damaged or cut short.
    BadGzip {
        path: PathBuf,
        source: io::Error,
    },
    /// `journalctl` could not be run or failed (the message names the journal and why).
    Journal(String),
}

impl fmt::Display for ReportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReportError::NoLogs => write!(
                f,
                "no mail log to read: give one with --log FILE, or read the journal with --journal"
            ),
            ReportError::Journal(msg) => f.write_str(msg),
            ReportError::Missing(p) => write!(
                f,
                "{}: no such file (if sendmail logs elsewhere, give the log with --log FILE)",
                p.display()
            ),
            ReportError::Unreadable { path, source } => {
                write!(f, "cannot read {}: {source}", path.display())
            }
            ReportError::NotGzip(p) => {
                write!(f, "{}: named .gz but is not gzip data", p.display())
            }
            ReportError::BadGzip { path, source } => {
                write!(
                    f,
                    "{}: damaged or incomplete gzip data: {source}",
                    path.display()
                )
            }
        }
    }
}

impl std::error::Error for ReportError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ReportError::Unreadable { source, .. } | ReportError::BadGzip { source, .. } => {
                Some(source)
            }
            _ => None,
        }
    }
}

/// Parses `--since`: a number and a unit (`s`, `m`, `h`, `d`, `w`), possibly several
/// (`1d12h`).
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let bad = || format!("invalid duration '{s}': use a number and a unit, e.g. 90m, 36h, 2d, 1w");
    let mut total: u64 = 0;
    let mut num: Option<u64> = None;
    let mut any = false;
    for c in s.trim().chars() {
        if let Some(d) = c.to_digit(10) {
            num = Some(
                num.unwrap_or(0)
                    .checked_mul(10)
                    .and_then(|n| n.checked_add(u64::from(d)))
                    .ok_or_else(bad)?,
            );
            continue;
        }
        let unit = match c {
            's' => 1,
            'm' => 60,
            'h' => 3600,
            'd' => 86_400,
            'w' => 7 * 86_400,
            _ => return Err(bad()),
        };
        let n = num.take().ok_or_else(bad)?;
        total = n
            .checked_mul(unit)
            .and_then(|v| total.checked_add(v))
            .ok_or_else(bad)?;
        any = true;
    }
    if num.is_some() || !any {
        return Err(bad());
    }
    Ok(Duration::from_secs(total))
}

/// The profile's mail logs under `root` with their rotated siblings, oldest first: `mail.log.3.gz`,
/// `mail.log.2.gz`, `mail.log.1`, `mail.log` (Debian's logrotate), or `maillog-20261115`,
/// `maillog-20261122`, `maillog` (Red Hat's dateext). Only files that exist are listed; if none
/// of the profile's logs exists, the first one is returned anyway so that the error names it.
pub fn default_logs(root: &Path, profile_logs: &[String]) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for name in profile_logs {
        let live = root.join(name.trim_start_matches('/'));
        let (Some(dir), Some(base)) = (live.parent(), live.file_name().and_then(|b| b.to_str()))
        else {
            continue;
        };
        // (numbered: higher is older; dated: lower is older), so sort numbered descending first.
        let mut numbered: Vec<(u64, PathBuf)> = Vec::new();
        let mut dated: Vec<(String, PathBuf)> = Vec::new();
        if let Ok(entries) = std::fs::read_dir(dir) {
            for e in entries.flatten() {
                let file = e.file_name();
                let Some(file) = file.to_str() else { continue };
                let Some(rest) = file.strip_prefix(base) else {
                    continue;
                };
                let rest = rest.strip_suffix(".gz").unwrap_or(rest);
                if let Some(n) = rest.strip_prefix('.').and_then(|n| n.parse::<u64>().ok()) {
                    numbered.push((n, e.path()));
                } else if let Some(d) = rest
                    .strip_prefix('-')
                    .filter(|d| d.len() >= 8 && d.bytes().all(|c| c.is_ascii_digit()))
                {
                    dated.push((d.to_string(), e.path()));
                }
            }
        }
        numbered.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
        dated.sort();
        out.extend(numbered.into_iter().map(|(_, p)| p));
        out.extend(dated.into_iter().map(|(_, p)| p));
        if live.is_file() {
            out.push(live);
        }
    }
    if out.is_empty() {
        if let Some(first) = profile_logs.first() {
            out.push(root.join(first.trim_start_matches('/')));
        }
    }
    out
}

/// The mail domains this server accepts as its own (`/etc/mail/local-host-names`, sendmail's
/// class w), for the hints. Missing file: none.
pub fn read_local_domains(root: &Path) -> Vec<String> {
    let Ok(text) = std::fs::read_to_string(root.join("etc/mail/local-host-names")) else {
        return Vec::new();
    };
    text.lines()
        .map(|l| l.split('#').next().unwrap_or(""))
        .flat_map(str::split_whitespace)
        .map(str::to_ascii_lowercase)
        .collect()
}

/// Reads every log (gzip transparently, in the order given) and reports.
pub fn report_files(opts: &ReportOptions) -> Result<Report, ReportError> {
    let sc = scan_files(opts)?;
    let mut r = sc.snapshot();
    r.source = source_of(opts);
    // The scanner's maps are tens of thousands of small allocations at high density; freeing
    // them took 8 ms of the 10% benchmark log's 60 ms of report-writing at the end, on the
    // one thread then working. Another thread frees them while this one writes the report
    // (or, if no thread can be started, this one, as before).
    let _ = std::thread::Builder::new()
        .name("relay-report-free".into())
        .spawn(move || drop(sc));
    Ok(r)
}

/// Reads every log as [`report_files`] does, and gives the scanner that read them: its
/// [`Scanner::snapshot`] is the report (but for [`ReportOptions`]' `source`, see
/// [`source_of`]), and [`Scanner::write_json`] writes it. For `relay-report`, which forgets the
/// scanner at exit rather than free it (freeing it on another thread took a core that writing
/// the JSON uses).
pub fn scan_files(opts: &ReportOptions) -> Result<Scanner, ReportError> {
    if opts.logs.is_empty() && !opts.stdin && opts.journal.is_none() {
        return Err(ReportError::NoLogs);
    }
    // Fail before a long read, not after it, when a file is missing.
    for p in opts.logs.iter().filter(|p| !is_stdin(p)) {
        check_file(p)?;
    }
    let mut sc = Scanner::new(opts);
    for p in &opts.logs {
        scan_source(&mut sc, open(p)?, p)?;
        sc.end_input();
    }
    if opts.stdin {
        scan_stream(&mut sc, Input::plain(Box::new(io::stdin())), Path::new("-"))?;
        sc.end_input();
    }
    if let Some(j) = &opts.journal {
        let cmd = j.command(sc.cutoff(), false);
        let handle = cmd
            .reader()
            .map_err(|e| ReportError::Journal(journal::failure(j, Some(e), b"")))?;
        let handle = std::sync::Arc::new(handle);
        let reader = journal::SharedReader(handle.clone());
        scan_stream(
            &mut sc,
            Input::plain(Box::new(reader)),
            Path::new("journalctl"),
        )?;
        sc.end_input();
        match handle.try_wait() {
            Ok(Some(out)) if out.status.success() => {}
            Ok(Some(out)) => {
                return Err(ReportError::Journal(journal::failure(j, None, &out.stderr)))
            }
            Ok(None) => {}
            Err(e) => return Err(ReportError::Journal(journal::failure(j, Some(e), b""))),
        }
    }
    sc.end_input();
    Ok(sc)
}

/// What the report says it read, when that is not just the files given: `None` for files
/// alone, so that a report of log files reads as it always did.
pub fn source_of(opts: &ReportOptions) -> Option<String> {
    opts.journal.as_ref().map(Journal::describe)
}

fn is_stdin(p: &Path) -> bool {
    p.as_os_str() == "-"
}

/// A rotated sibling: `x.1`, `x.2.gz`, `x-20261122`, anything `.gz`. It does not grow.
fn is_rotated(p: &Path) -> bool {
    let Some(name) = p.file_name().and_then(|n| n.to_str()) else {
        return false;
    };
    if name.ends_with(".gz") {
        return true;
    }
    let numbered = name
        .rsplit_once('.')
        .is_some_and(|(_, n)| !n.is_empty() && n.bytes().all(|c| c.is_ascii_digit()));
    let dated = name
        .rsplit_once('-')
        .is_some_and(|(_, d)| d.len() >= 8 && d.bytes().all(|c| c.is_ascii_digit()));
    numbered || dated
}

fn check_file(p: &Path) -> Result<(), ReportError> {
    match std::fs::metadata(p) {
        Ok(m) if m.is_dir() => Err(ReportError::Unreadable {
            path: p.into(),
            source: io::Error::other("is a directory"),
        }),
        Ok(_) => Ok(()),
        Err(e) => Err(open_error(p, e)),
    }
}

fn open_error(p: &Path, e: io::Error) -> ReportError {
    if e.kind() == io::ErrorKind::NotFound {
        ReportError::Missing(p.into())
    } else {
        ReportError::Unreadable {
            path: p.into(),
            source: e,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("2d"), Ok(Duration::from_secs(2 * 86_400)));
        assert_eq!(parse_duration("36h"), Ok(Duration::from_secs(36 * 3600)));
        assert_eq!(parse_duration("90m"), Ok(Duration::from_secs(90 * 60)));
        assert_eq!(parse_duration("1w"), Ok(Duration::from_secs(7 * 86_400)));
        assert_eq!(parse_duration("1d12h"), Ok(Duration::from_secs(36 * 3600)));
        assert_eq!(parse_duration(" 45s "), Ok(Duration::from_secs(45)));
        for bad in ["", "2", "d", "2x", "-1d", "1.5h", "99999999999999999999d"] {
            let e = parse_duration(bad).unwrap_err();
            assert!(e.contains("invalid duration"), "{bad}: {e}");
        }
    }

    #[test]
    fn rotated_names() {
        for p in [
            "mail.log.1",
            "mail.log.2.gz",
            "maillog-20261122",
            "maillog-20261122.gz",
        ] {
            assert!(is_rotated(Path::new(p)), "{p}");
        }
        for p in [
            "mail.log",
            "maillog",
            "/var/log/mail.log",
            "sendmail-test.log",
        ] {
            assert!(!is_rotated(Path::new(p)), "{p}");
        }
    }
}
