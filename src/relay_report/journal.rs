//! The systemd journal as a source, for systems where sendmail logs only there: Debian 12 and
//! 13 install no rsyslog by default, so there is no /var/log/mail.log. `journalctl` (run with
//! duct) prints sendmail's and saslauthd's entries in the classic syslog shape with an ISO
//! stamp that carries its offset (`-o short-iso`), which the scanner reads like a log file; its
//! output is read on a thread of its own, like a pipe.
use std::ffi::OsString;
use std::io;
use std::path::{Path, PathBuf};

/// The syslog identifiers whose entries are read: Debian's sendmail (`sm-mta`), Red Hat's and
/// the upstream build's (`sendmail`), and saslauthd's failed logins.
pub const IDENTIFIERS: [&str; 3] = ["sm-mta", "sendmail", "saslauthd"];

/// Which journal to read.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Journal {
    /// A journal directory (`journalctl --directory`): a `--root` tree's `var/log/journal`, or
    /// one made for a test. `None`: this system's journal.
    pub directory: Option<PathBuf>,
    /// Why the journal is read, when it was chosen rather than asked for (e.g. "/var/log/mail.log
    /// is absent"), for the report's source line.
    pub why: Option<String>,
}

impl Journal {
    /// The journal of the system at `root`: its own for `/`, else `root/var/log/journal`.
    pub fn for_root(root: &Path) -> Journal {
        Journal {
            directory: (root != Path::new("/")).then(|| root.join("var/log/journal")),
            why: None,
        }
    }

    /// What the report says it read.
    pub fn describe(&self) -> String {
        let mut s = String::from("the systemd journal (journalctl");
        if let Some(d) = &self.directory {
            s.push_str(&format!(" --directory {}", d.display()));
        }
        for id in IDENTIFIERS {
            s.push_str(" -t ");
            s.push_str(id);
        }
        s.push(')');
        if let Some(why) = &self.why {
            s.push_str("; ");
            s.push_str(why);
        }
        s
    }

    /// `journalctl` for the entries newer than `since` (epoch seconds), following new ones
    /// with `follow`. Standard error is captured for the message when it fails.
    pub(crate) fn command(&self, since: Option<i64>, follow: bool) -> duct::Expression {
        let mut args: Vec<OsString> = vec![
            "--no-pager".into(),
            "--quiet".into(),
            "--output=short-iso".into(),
        ];
        if let Some(d) = &self.directory {
            args.push("--directory".into());
            args.push(d.into());
        }
        for id in IDENTIFIERS {
            args.push(format!("--identifier={id}").into());
        }
        if let Some(t) = since {
            args.push(format!("--since=@{t}").into());
        }
        if follow {
            // -f alone starts with the last ten entries; the report wants all of them.
            args.extend(["--follow".into(), "--no-tail".into()]);
        }
        duct::cmd("journalctl", args)
            .stdin_null()
            .stderr_capture()
            .unchecked()
    }
}

/// Whether there is a journal to read: `journalctl` is installed and the journal directory
/// holds something (`directory`, or for this system /var/log/journal or /run/log/journal).
/// An empty or missing directory is no journal: then the missing log file is the error.
pub fn journal_available(j: &Journal) -> bool {
    let holds_something =
        |d: &Path| std::fs::read_dir(d).is_ok_and(|mut entries| entries.next().is_some());
    which::which("journalctl").is_ok()
        && match &j.directory {
            Some(d) => holds_something(d),
            None => ["/var/log/journal", "/run/log/journal"]
                .iter()
                .any(|d| holds_something(Path::new(d))),
        }
}

/// The message for a `journalctl` that could not be started or failed.
pub(crate) fn failure(j: &Journal, e: Option<io::Error>, stderr: &[u8]) -> String {
    let what = j.describe();
    match e {
        Some(e) if e.kind() == io::ErrorKind::NotFound => format!(
            "cannot read {what}: journalctl is not installed (give the mail log with --log FILE)"
        ),
        Some(e) => format!("cannot read {what}: {e}"),
        None => {
            let msg = String::from_utf8_lossy(stderr);
            let msg = msg.trim();
            format!(
                "cannot read {what}: journalctl failed{}{}",
                if msg.is_empty() { "" } else { ": " },
                msg
            )
        }
    }
}

/// journalctl's output, read on the stream's thread while the handle stays here (to see the
/// exit status, or to stop a follow).
pub(crate) struct SharedReader(pub(crate) std::sync::Arc<duct::ReaderHandle>);

impl io::Read for SharedReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        (&*self.0).read(buf)
    }
}
