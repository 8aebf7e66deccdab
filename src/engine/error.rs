//! One error type for what the engine tells its faces: each kind is something a caller acts on
//! differently (fix the plan, look at the files then `rollback --force`, run as root, wait for
//! the other wizard, fix the input file, ...), so a script need not read the message. The
//! message ([`std::fmt::Display`]) is the sentence the user reads, unchanged from the days of
//! `Result<_, String>`; the fields carry what a script needs (paths, the step, what was undone).
//!
//! The CLI prints `kind` in `{"error": ..., "kind": ...}` and exits with [`Error::exit_code`];
//! the codes and kinds are listed in README's exit-code table and docs/json.md.

use super::journal::JournalError;
use serde::Serialize;

/// What went wrong, by the kind of answer it needs.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The plan has a step that is blocked or in error; nothing (further) was changed.
    #[error("{message}")]
    Blocked { step: String, message: String },
    /// A step failed while being applied; `undone` is what was put back (its own writes, or
    /// for a live step every change of the run), newest first; `cause` is the failure of a
    /// write or a command of the step, when it has a kind of its own (io, tool_failed, ...).
    #[error("{message}")]
    StepFailed {
        step: String,
        undone: Vec<String>,
        message: String,
        cause: Option<Box<Error>>,
    },
    /// Files changed since the wizard wrote them (served-system paths, displayed): `rollback`
    /// refuses; `rollback --force` puts the originals back over them.
    #[error("{message}")]
    Conflict { paths: Vec<String>, message: String },
    /// Reading or writing a file failed: `action` is what was being done, `path` the file.
    #[error("{message}")]
    Io {
        action: String,
        path: String,
        message: String,
    },
    /// An input the user gave is wrong: `file` names it (an answers or profile file, or the
    /// option, such as `--only`), `what` says what is wrong with it.
    #[error("{message}")]
    BadInput {
        file: String,
        what: String,
        message: String,
    },
    /// A tool the wizard ran failed (or could not be started: `status` is then `None`).
    #[error("{message}")]
    ToolFailed {
        tool: String,
        status: Option<i32>,
        stderr: String,
        message: String,
    },
    /// A step's own check of a new file (sendmail-cf: `sendmail -C NEW -bv`) refused it before
    /// it replaced `path` (served-system path, displayed): the file was left as it was.
    #[error("{message}")]
    Rejected { path: String, message: String },
    /// Changing the live system needs root privileges.
    #[error("{0}")]
    Permission(String),
    /// Another smtpauth-wizard holds the journal's lock.
    #[error("{0}")]
    Locked(String),
    /// The journal cannot be used (corrupt, or written by a newer version):
    /// `rollback --from-backups` works without it.
    #[error("{0}")]
    Journal(String),
    /// Refused to act: no confirmation (no terminal, or the answer was no), or a `--root` tree
    /// others can write without `--trust-root`.
    #[error("{0}")]
    Refused(String),
    /// The command line does not parse.
    #[error("{0}")]
    Usage(String),
    /// Anything else: the message is all there is.
    #[error("{0}")]
    Other(String),
}

/// Every kind, with its exit code, in the order of the docs (the table is tested against
/// [`Error::kind`] and [`Error::exit_code`]).
pub const KINDS: &[(&str, u8)] = &[
    ("blocked", 1),
    ("step_failed", 1),
    ("conflict", 1),
    ("io", 1),
    ("bad_input", 1),
    ("tool_failed", 1),
    ("rejected", 1),
    ("permission", 1),
    ("locked", 1),
    ("journal", 1),
    ("refused", 1),
    ("usage", 1),
    ("other", 1),
];

impl Error {
    /// The JSON `kind`.
    pub fn kind(&self) -> &'static str {
        match self {
            Error::Blocked { .. } => "blocked",
            Error::StepFailed { .. } => "step_failed",
            Error::Conflict { .. } => "conflict",
            Error::Io { .. } => "io",
            Error::BadInput { .. } => "bad_input",
            Error::ToolFailed { .. } => "tool_failed",
            Error::Rejected { .. } => "rejected",
            Error::Permission(_) => "permission",
            Error::Locked(_) => "locked",
            Error::Journal(_) => "journal",
            Error::Refused(_) => "refused",
            Error::Usage(_) => "usage",
            Error::Other(_) => "other",
        }
    }

    /// The process exit code. Every error is 1, as README has always documented (0 and 2 are
    /// results: `check`'s "changes pending", `probe`'s "an expectation failed"): automation
    /// that reads 1 as "error" keeps working, and tells the kinds apart by `kind`.
    pub fn exit_code(&self) -> u8 {
        KINDS
            .iter()
            .find(|(k, _)| *k == self.kind())
            .map_or(1, |(_, c)| *c)
    }

    /// A bad input that names its file and what is wrong.
    pub fn bad_input(file: impl Into<String>, what: impl Into<String>, message: String) -> Error {
        Error::BadInput {
            file: file.into(),
            what: what.into(),
            message,
        }
    }

    /// What `--format json` prints.
    pub fn to_json(&self) -> ErrorJson<'_> {
        let mut j = ErrorJson {
            error: self.to_string(),
            kind: self.kind(),
            step: None,
            undone: None,
            paths: None,
            action: None,
            path: None,
            file: None,
            what: None,
            tool: None,
            status: None,
            stderr: None,
            cause: None,
        };
        match self {
            Error::Blocked { step, .. } => j.step = Some(step),
            Error::StepFailed {
                step,
                undone,
                cause,
                ..
            } => {
                j.step = Some(step);
                j.undone = Some(undone);
                j.cause = cause.as_deref().map(|c| Box::new(c.to_json()));
            }
            Error::Conflict { paths, .. } => j.paths = Some(paths),
            Error::Io { action, path, .. } => {
                j.action = Some(action);
                j.path = Some(path);
            }
            Error::Rejected { path, .. } => j.path = Some(path),
            Error::BadInput { file, what, .. } => {
                j.file = Some(file);
                j.what = Some(what);
            }
            Error::ToolFailed {
                tool,
                status,
                stderr,
                ..
            } => {
                j.tool = Some(tool);
                j.status = Some(*status);
                j.stderr = Some(stderr);
            }
            _ => {}
        }
        j
    }
}

/// `{"error": "...", "kind": "...", ...}`: the message, the kind, and the fields of that kind
/// (absent for the others).
#[derive(Debug, Serialize)]
pub struct ErrorJson<'a> {
    pub error: String,
    pub kind: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub step: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub undone: Option<&'a [String]>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub paths: Option<&'a [String]>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub action: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub what: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tool: Option<&'a str>,
    /// The tool's exit status (`null`: killed, timed out, or not started).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<Option<i32>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stderr: Option<&'a str>,
    /// Of a `step_failed`: the failure inside the step, as an object of this shape.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cause: Option<Box<ErrorJson<'a>>>,
}

impl From<String> for Error {
    fn from(s: String) -> Error {
        Error::Other(s)
    }
}

impl From<&str> for Error {
    fn from(s: &str) -> Error {
        Error::Other(s.to_string())
    }
}

impl From<JournalError> for Error {
    fn from(e: JournalError) -> Error {
        let message = e.to_string();
        match e {
            JournalError::Io(io) => Error::Io {
                action: "use the journal".into(),
                path: super::journal::JOURNAL_DIR.into(),
                message: if message.is_empty() {
                    io.to_string()
                } else {
                    message
                },
            },
            JournalError::Corrupt { .. } | JournalError::NewerVersion { .. } => {
                Error::Journal(message)
            }
            JournalError::Locked { .. } => Error::Locked(message),
            JournalError::Conflict { path, .. } => Error::Conflict {
                paths: vec![path],
                message,
            },
        }
    }
}

impl From<std::io::Error> for Error {
    /// Writing the journal failed (its own files: the records, the saved originals).
    fn from(e: std::io::Error) -> Error {
        Error::Io {
            action: "write the journal".into(),
            path: super::journal::JOURNAL_DIR.into(),
            message: e.to_string(),
        }
    }
}

impl From<super::host::ToolOutput> for Error {
    /// A tool that ran and failed.
    fn from(out: super::host::ToolOutput) -> Error {
        Error::ToolFailed {
            tool: out.argv.first().cloned().unwrap_or_default(),
            status: if out.timed_out { None } else { out.status },
            message: out.describe(),
            stderr: out.stderr,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_is_in_the_table_once_with_its_code() {
        let all = [
            Error::Blocked {
                step: "s".into(),
                message: "m".into(),
            },
            Error::StepFailed {
                step: "s".into(),
                undone: vec![],
                message: "m".into(),
                cause: None,
            },
            Error::Conflict {
                paths: vec![],
                message: "m".into(),
            },
            Error::Io {
                action: "a".into(),
                path: "p".into(),
                message: "m".into(),
            },
            Error::bad_input("f", "w", "m".into()),
            Error::ToolFailed {
                tool: "m4".into(),
                status: Some(1),
                stderr: String::new(),
                message: "m".into(),
            },
            Error::Rejected {
                path: "p".into(),
                message: "m".into(),
            },
            Error::Permission("m".into()),
            Error::Locked("m".into()),
            Error::Journal("m".into()),
            Error::Refused("m".into()),
            Error::Usage("m".into()),
            Error::Other("m".into()),
        ];
        assert_eq!(all.len(), KINDS.len());
        for (e, (k, c)) in all.iter().zip(KINDS) {
            assert_eq!(e.kind(), *k);
            assert_eq!(e.exit_code(), *c);
            assert_eq!(e.to_string(), "m");
            let v = serde_json::to_value(e.to_json()).unwrap();
            assert_eq!(v["kind"], *k);
            assert_eq!(v["error"], "m");
        }
    }
}
