//! What the journal records: runs, steps, files and commands, and why a journal cannot be used.

use super::super::fsops::Meta;
use serde::{Deserialize, Serialize};
use std::io;

pub const JOURNAL_DIR: &str = "/var/lib/smtpauth-wizard";
pub const JOURNAL_VERSION: u32 = 1;
/// The journal's last line: this, then the HMAC-SHA256 of everything before it under the
/// journal key ([`super::seal`]). A journal without it, or whose seal does not verify, is
/// refused before it is parsed.
pub const END_LINE: &str = "# end of journal, hmac-sha256 ";
/// The end line of the journals of earlier versions: an unkeyed sha256, which anyone who could
/// write the journal could recompute. Recognised only to say so.
pub const OLD_END_LINE: &str = "# end of journal, sha256 ";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum StepState {
    Pending,
    InProgress,
    Done,
    RolledBack,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FileState {
    /// Recorded; the file may or may not have been replaced yet.
    Intended,
    Written,
    RolledBack,
}

/// What a file was before the wizard wrote it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Before {
    /// It did not exist: undo removes it.
    Absent,
    /// It existed: undo puts `saved` (relative to the journal directory, under `saved/`) back
    /// with `meta`, after checking the copy against `sha`.
    Existed {
        saved: String,
        meta: Meta,
        sha: String,
    },
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(try_from = "RawFileRecord", into = "RawFileRecord")]
pub struct FileRecord {
    /// Served-system path actually written (links already followed).
    pub path: String,
    /// Links that lead to it (`/etc/pam.d/smtp` for an alternatives link).
    pub via_links: Vec<String>,
    pub before: Before,
    pub sha_after: String,
    pub state: FileState,
    pub why: String,
}

impl FileRecord {
    pub fn existed(&self) -> bool {
        matches!(self.before, Before::Existed { .. })
    }
    /// The journal's copy of the original, relative to the journal directory.
    pub fn saved(&self) -> Option<&str> {
        match &self.before {
            Before::Existed { saved, .. } => Some(saved),
            Before::Absent => None,
        }
    }
    pub fn sha_before(&self) -> Option<&str> {
        match &self.before {
            Before::Existed { sha, .. } => Some(sha),
            Before::Absent => None,
        }
    }
}

/// The record as it is written in the journal file (and in `status --json`): the format of
/// every earlier version, `existed` with three optional fields, checked into [`Before`] as it
/// is read, so nothing after the load has to ask whether they are there.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFileRecord {
    path: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    via_links: Vec<String>,
    existed: bool,
    saved: Option<String>,
    meta: Option<Meta>,
    sha_before: Option<String>,
    sha_after: String,
    state: FileState,
    why: String,
}

impl TryFrom<RawFileRecord> for FileRecord {
    type Error = String;
    fn try_from(r: RawFileRecord) -> Result<FileRecord, String> {
        let before = match (r.existed, r.saved, r.meta, r.sha_before) {
            (true, Some(saved), Some(meta), Some(sha)) => Before::Existed { saved, meta, sha },
            (true, ..) => {
                return Err(format!(
                    "the record of {:?} says the file existed but lacks its saved copy, \
                     attributes or checksum",
                    r.path
                ))
            }
            (false, None, _, None) => Before::Absent,
            (false, ..) => {
                return Err(format!(
                    "the record of {:?} says the file did not exist but names a saved copy or \
                     a checksum of it",
                    r.path
                ))
            }
        };
        Ok(FileRecord {
            path: r.path,
            via_links: r.via_links,
            before,
            sha_after: r.sha_after,
            state: r.state,
            why: r.why,
        })
    }
}

impl From<FileRecord> for RawFileRecord {
    fn from(f: FileRecord) -> RawFileRecord {
        let (existed, saved, meta, sha_before) = match f.before {
            Before::Absent => (false, None, None, None),
            Before::Existed { saved, meta, sha } => (true, Some(saved), Some(meta), Some(sha)),
        };
        RawFileRecord {
            path: f.path,
            via_links: f.via_links,
            existed,
            saved,
            meta,
            sha_before,
            sha_after: f.sha_after,
            state: f.state,
            why: f.why,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CommandRecord {
    pub argv: Vec<String>,
    pub status: Option<i32>,
    #[serde(default)]
    pub stderr: String,
    pub at: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StepRecord {
    pub id: String,
    pub state: StepState,
    pub started: String,
    pub finished: Option<String>,
    #[serde(default)]
    pub files: Vec<FileRecord>,
    #[serde(default)]
    pub commands: Vec<CommandRecord>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// Directories the step created (served paths, outermost first); rollback removes them
    /// again when they are empty.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub created_dirs: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Run {
    pub id: String,
    pub started: String,
    pub finished: Option<String>,
    pub profile: String,
    pub program_version: String,
    #[serde(default)]
    pub steps: Vec<StepRecord>,
}

#[derive(Debug, Clone, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct JournalData {
    pub version: u32,
    #[serde(default)]
    pub runs: Vec<Run>,
}

/// Why a journal could not be used.
#[derive(Debug)]
pub enum JournalError {
    Io(io::Error),
    Corrupt {
        path: String,
        detail: String,
    },
    NewerVersion {
        path: String,
        found: u32,
    },
    Locked {
        path: String,
    },
    /// A file changed after we wrote it; rollback stops unless forced.
    Conflict {
        path: String,
        expected: String,
        found: Option<String>,
    },
}

impl std::fmt::Display for JournalError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            JournalError::Io(e) => write!(f, "{e}"),
            JournalError::Corrupt { path, detail } => write!(
                f,
                "the journal {path} cannot be read ({detail}); it was not changed. \
                 `status` shows what the .bak files hold; `rollback --from-backups` restores them without a journal"
            ),
            JournalError::NewerVersion { path, found } => write!(
                f,
                "the journal {path} was written by a newer smtpauth-wizard (journal version {found}, this program knows {JOURNAL_VERSION}); use that version, or `rollback --from-backups`"
            ),
            JournalError::Locked { path } => write!(
                f,
                "another smtpauth-wizard is working on this system (lock {path} is held); wait for it to finish"
            ),
            JournalError::Conflict { path, expected, found } => write!(
                f,
                "{path} changed since smtpauth-wizard wrote it (sha256 now {}, we wrote {}); it was left alone. \
                 Look at it, then run `rollback --force` to put the original back over it",
                found.as_deref().map(short).unwrap_or("<file is gone>"),
                short(expected)
            ),
        }
    }
}

impl std::error::Error for JournalError {}

impl From<io::Error> for JournalError {
    fn from(e: io::Error) -> Self {
        JournalError::Io(e)
    }
}

pub(super) fn short(h: &str) -> &str {
    &h[..h.len().min(12)]
}
