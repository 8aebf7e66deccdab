//! `status`: what the journal says was changed, and what can be rolled back.

use super::*;

pub(super) fn status(cli: &Cli) -> Result<u8, crate::engine::Error> {
    let json = cli.format == Format::Json;
    let engine = open(cli, Options::default(), cli.profile.as_deref())?;
    let st = engine.journal_status();
    let path = st.path;
    let baks = st.backups;
    let changed = st.changed_since_written;
    let j = match st.journal {
        Ok(j) => j,
        Err(e) => {
            // Show what we can: the .bak files are there whatever happened to the journal.
            if json {
                outln!(
                    "{}",
                    json::line(&json::StatusUnreadable {
                        backups: &baks,
                        error: &e,
                        journal: path.display().to_string(),
                    })
                );
            } else {
                outln!("journal {}: {e}", path.display());
                for b in baks {
                    outln!("backup present: {b}");
                }
            }
            return Ok(1);
        }
    };
    if json {
        outln!(
            "{}",
            crate::term::json_pretty(&json::Status {
                backups: &baks,
                changed_since_written: &changed,
                journal: path.display().to_string(),
                runs: json::Sorted(&j.data.runs[..]),
            })
            .unwrap()
        );
        return Ok(0);
    }
    if j.data.runs.is_empty() {
        outln!(
            "no journal at {}: the wizard has changed nothing here",
            path.display()
        );
        return Ok(0);
    }
    outln!("journal {}", path.display());
    for r in &j.data.runs {
        outln!(
            "run {} (profile {}, started {}, {})",
            r.id,
            r.profile,
            r.started,
            r.finished
                .as_deref()
                .map(|f| format!("finished {f}"))
                .unwrap_or_else(|| "unfinished: `resume` continues it".into())
        );
        for s in &r.steps {
            outln!(
                "  {:<15} {}{}",
                s.id,
                state_words(&s.state),
                s.note
                    .as_deref()
                    .map(|n| format!(" ({n})"))
                    .unwrap_or_default()
            );
            for f in &s.files {
                outln!(
                    "    {} {}{}{}",
                    engine.root().display(&f.path),
                    state_words(&f.state),
                    f.saved()
                        .map(|s| format!(", original saved as {s}"))
                        .unwrap_or_else(|| ", created by the wizard".into()),
                    if changed.contains(&f.path) && f.state == FileState::Written {
                        ", CHANGED SINCE the wizard wrote it"
                    } else {
                        ""
                    }
                );
            }
            for c in &s.commands {
                outln!("    ran `{}` (exit {:?})", c.argv.join(" "), c.status);
            }
        }
    }
    Ok(0)
}

/// A journal state as words (`RolledBack` -> `rolled back`), as the journal spells it
/// (`rolled-back`) but readable.
pub(super) fn state_words<T: Serialize>(s: &T) -> String {
    serde_json::to_value(s)
        .ok()
        .and_then(|v| v.as_str().map(|x| x.replace(['-', '_'], " ")))
        .unwrap_or_default()
}
