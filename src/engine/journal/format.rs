//! The journal file: YAML between a header comment and a sealed end line.

use super::*;

/// The largest journal read: it holds paths, attributes and checksums (the saved copies are
/// files of their own), a few KiB a run.
const MAX_JOURNAL: u64 = 16 << 20;

/// Reads the journal file. `legacy_ok`: the caller found the journal where only root (or the
/// effective uid) could have written it (the live system, its directory and parents checked),
/// so a journal of an earlier version with no run left open is taken as it is, and sealed on
/// the next write.
pub(super) fn load(file: &std::path::Path, legacy_ok: bool) -> Result<JournalData, JournalError> {
    let text = match fsops::read_capped(file, MAX_JOURNAL) {
        Ok(t) => t,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            return Ok(JournalData {
                version: JOURNAL_VERSION,
                runs: vec![],
            })
        }
        Err(e) => {
            return Err(io::Error::new(
                e.kind(),
                format!("cannot read the journal {}: {e}", file.display()),
            )
            .into())
        }
    };
    parse_sealed(&file.display().to_string(), &text, legacy_ok)
}

/// The journal file's text: a header comment, the YAML, and the sealed end line.
pub fn render_journal(data: &JournalData) -> io::Result<String> {
    let text = serde_yaml::to_string(data).map_err(io::Error::other)?;
    seal_journal(&format!(
        "# smtpauth-wizard write-ahead journal. Do not edit: `smtpauth-wizard status` reads it.\n{text}"
    ))
}

/// Appends the end line that [`parse_journal`] demands: the HMAC-SHA256 of `body` (which ends
/// with a newline) under this user's journal key ([`seal::key`]).
pub fn seal_journal(body: &str) -> io::Result<String> {
    let key = seal::key()?;
    Ok(format!(
        "{body}{END_LINE}{}\n",
        seal::hmac_sha256_hex(&key, body.as_bytes())
    ))
}

/// Parses the bytes of a journal file; `path` only names it in errors. Refuses (never panics
/// on) anything that is not a journal this version can use: not UTF-8, no end line, a seal
/// that does not verify with this user's key (checked before anything else is parsed), an
/// unkeyed journal of an earlier version, not YAML, no `version`, a newer version, unknown
/// keys. Split out of [`Journal::read`] so it can be fuzzed.
pub fn parse_journal(path: &str, bytes: &[u8]) -> Result<JournalData, JournalError> {
    parse_sealed(path, bytes, false)
}

/// The YAML and the records, once the end line was judged.
fn parse_body(
    body: &str,
    version: Option<u32>,
    corrupt: &dyn Fn(String) -> JournalError,
) -> Result<JournalData, JournalError> {
    if version.is_none() {
        return Err(corrupt("no `version` key".into()));
    }
    super::super::trust::check_yaml_nesting(body).map_err(corrupt)?;
    let data: JournalData = serde_yaml::from_str(body).map_err(|e| corrupt(e.to_string()))?;
    check_records(&data).map_err(corrupt)?;
    Ok(data)
}

/// [`parse_journal`], taking a finished journal of an earlier version when `legacy_ok`.
pub(super) fn parse_sealed(
    path: &str,
    bytes: &[u8],
    legacy_ok: bool,
) -> Result<JournalData, JournalError> {
    let path = path.to_string();
    let corrupt = |detail: String| JournalError::Corrupt {
        path: path.clone(),
        detail,
    };
    let text = std::str::from_utf8(bytes).map_err(|_| corrupt("not UTF-8 text".into()))?;
    // Look at the version first so a newer journal gets the right message, not a seal error:
    // from its `version:` line, a number and nothing else parsed.
    let version: Option<u32> = text
        .lines()
        .find_map(|l| l.strip_prefix("version:"))
        .and_then(|v| v.trim().parse().ok());
    if let Some(n) = version {
        if n > JOURNAL_VERSION {
            return Err(JournalError::NewerVersion { path, found: n });
        }
    }
    // The journal is only ever replaced whole (atomic rename), so a missing end line is
    // damage. Without this check a journal cut at a line end is still valid YAML that silently
    // drops the records after the cut, and rollback would leave those changes in place
    // believing there were none.
    let last = text
        .trim_end_matches('\n')
        .rfind('\n')
        .map(|i| i + 1)
        .unwrap_or(0);
    let (body, end) = text.split_at(last);
    // The writer ends the file with exactly one newline after the seal; a file without it
    // lost its last byte, and is refused like any other cut.
    let end = end
        .strip_suffix('\n')
        .filter(|line| !line.ends_with('\n'))
        .ok_or_else(|| {
            corrupt("its end line is missing: the file was cut short or is not a journal".into())
        })?;
    if let Some(sum) = end.strip_prefix(OLD_END_LINE) {
        let intact = sum == fsops::sha256_hex(body.as_bytes());
        if intact && legacy_ok {
            // Written by an earlier version where nobody else could write: usable unless a
            // run was left open (then the records the undo would act on are refused).
            let data = parse_body(body, version, &corrupt)?;
            let open = data.runs.iter().any(|r| {
                r.finished.is_none() || r.steps.iter().any(|s| s.state == StepState::InProgress)
            });
            if !open {
                return Ok(data);
            }
        }
        let detail = if intact {
            "it was written by an earlier smtpauth-wizard, whose checksum was not keyed, so it \
             cannot be told from one somebody else wrote (one with a run left open is never \
             taken; on the live system a finished one in root's own directory is); nothing \
             was done. Finish or roll it back with the version that wrote it \
             (`program_version` in it); or check it and run `rollback --from-backups`, which \
             restores the .bak copies and moves it aside; or, to keep the changes, move it \
             aside yourself (`mv FILE FILE.old`): the next apply starts a new journal"
        } else {
            "its checksum does not match its content: it was damaged or edited after it was written"
        };
        return Err(corrupt(detail.into()));
    }
    let sum = end.strip_prefix(END_LINE).ok_or_else(|| {
        corrupt("its end line is missing: the file was cut short or is not a journal".into())
    })?;
    let key = seal::key().map_err(|e| corrupt(format!("its seal cannot be checked: {e}")))?;
    if !seal::verify_hex(&key, body.as_bytes(), sum) {
        return Err(corrupt(format!(
            "its seal does not verify with the journal key {}: it was changed after the wizard \
             wrote it, written by someone else (whoever could write its directory could have \
             forged it), or written with another key (copied from another machine or user); \
             nothing was done and nothing in it is trusted. Check it, then run `rollback \
             --from-backups`, which restores the .bak copies and moves it aside",
            seal::key_path()
                .map(|p| p.display().to_string())
                .unwrap_or_default()
        )));
    }
    parse_body(body, version, &corrupt)
}

/// What undo relies on without checking again: a file that existed has a saved copy, its
/// attributes and its checksum; checksums are sha256 hex (they are cut for messages); saved
/// copies stay inside the journal's directory.
fn check_records(data: &JournalData) -> Result<(), String> {
    let hex = |h: &str| h.len() == 64 && h.bytes().all(|b| b.is_ascii_hexdigit());
    for f in data
        .runs
        .iter()
        .flat_map(|r| &r.steps)
        .flat_map(|s| &s.files)
    {
        let bad = |why: &str| Err(format!("the record of {:?} {why}", f.path));
        // A file that existed has its copy, attributes and checksum: `Before` says so by type.
        if !hex(&f.sha_after) || f.sha_before().is_some_and(|h| !hex(h)) {
            return bad("has a checksum that is not sha256");
        }
        if let Some(sv) = f.saved() {
            let p = std::path::Path::new(sv);
            if !sv.starts_with("saved/")
                || p.components()
                    .any(|c| !matches!(c, std::path::Component::Normal(_)))
            {
                return bad("names a saved copy outside the journal's saved/ directory");
            }
        }
    }
    Ok(())
}

/// UTC time as `2026-11-26T15:01:02Z`.
pub fn now_rfc3339() -> String {
    fmt_utc(jiff::Timestamp::now().as_second())
}

/// `secs` since the epoch as `2026-11-26T15:01:02Z` (jiff's RFC 3339 form of a whole-second
/// timestamp). Outside jiff's range (years -9999..=9999), `@SECS`.
pub fn fmt_utc(secs: i64) -> String {
    jiff::Timestamp::from_second(secs).map_or_else(|_| format!("@{secs}"), |t| t.to_string())
}
