//! `status`: what the journal says was changed, and what can be rolled back.

use super::*;

pub(super) fn status(cli: &Cli) -> Result<u8, String> {
    let json = cli.format == Format::Json;
    let engine = open(cli, Options::default(), cli.profile.as_deref())?;
    let path = crate::engine::journal::journal_path(engine.root());
    let j = match Journal::read(engine.root()) {
        Ok(j) => j,
        Err(e) => {
            // Show what we can: the .bak files are there whatever happened to the journal.
            let baks = backups(&engine);
            if json {
                outln!(
                    "{}",
                    serde_json::json!({ "journal": path.display().to_string(), "error": e.to_string(), "backups": baks })
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
    let changed = j.changed_since_written();
    if json {
        outln!(
            "{}",
            crate::term::json_pretty(&serde_json::json!({
                "journal": path.display().to_string(),
                "runs": j.data.runs,
                "changed_since_written": changed,
                "backups": backups(&engine),
            }))
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
                    f.saved
                        .as_deref()
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

pub(super) fn backups(engine: &Engine) -> Vec<String> {
    let Some(p) = engine.profile() else {
        return vec![];
    };
    std::iter::once(&p.sendmail.mc)
        .chain(&p.sendmail.cf)
        .map(|f| format!("{f}.bak"))
        .filter(|b| engine.root().exists(b))
        .map(|b| engine.root().display(&b))
        .collect()
}
