//! `apply` and `resume`: the steps that are pending, each after a confirmation unless --yes.

use super::*;

pub(super) fn apply(
    cli: &Cli,
    choices: &Choices,
    only: &[String],
    yes: bool,
    full: bool,
    resume: bool,
) -> Result<u8, crate::engine::Error> {
    let json = cli.format == Format::Json;
    let (opts, profile) = choices.resolve(cli.profile.as_ref())?;
    let engine = open(cli, opts, profile.as_deref())?;
    engine.may_write()?;
    if resume && engine.unfinished()?.is_none() {
        let msg = "nothing to resume: the journal has no unfinished run (use `apply` to start one)";
        if json {
            outln!(
                "{}",
                json::line(&json::Applied {
                    changed: false,
                    message: msg,
                    resumed: Some(false),
                    summary: None,
                })
            );
        } else {
            outln!("{msg}");
        }
        return Ok(0);
    }
    let reports = engine.plan();
    let pending: Vec<&StepReport> = reports
        .iter()
        .filter(|r| only.is_empty() || only.iter().any(|o| o == r.id))
        .filter(|r| r.status != Status::Done && r.status != Status::Skipped)
        .collect();
    if pending.is_empty() {
        let msg = if only.is_empty() {
            "nothing to do: every step is already done".to_string()
        } else {
            let st: Vec<String> = reports
                .iter()
                .filter(|r| only.iter().any(|o| o == r.id))
                .map(|r| format!("{} is {}", r.id, r.status.as_str()))
                .collect();
            format!("nothing to do: {}", st.join(", "))
        };
        if json {
            outln!(
                "{}",
                json::line(&json::Applied {
                    changed: false,
                    message: &msg,
                    resumed: None,
                    summary: None,
                })
            );
        } else {
            outln!("{msg}");
        }
        return Ok(0);
    }
    if !yes {
        if json {
            // stdout carries exactly one JSON object: the plan goes to the person at the
            // terminal (stderr), and without a terminal there is no one to show it to.
            need_terminal()?;
            errout!("{}", text_report(&engine, &reports, true, full));
        } else {
            out!("{}", text_report(&engine, &reports, true, full));
        }
        if !confirm("Apply these changes?")? {
            return Err(crate::engine::Error::Refused("nothing was changed".into()));
        }
    }
    let sum = engine.apply(only, &mut |e| {
        if !json {
            print_event(e)
        }
    })?;
    if json {
        let msg = if sum.applied.is_empty() {
            nothing_applied(only)
        } else {
            format!("applied: {}", sum.applied.join(", "))
        };
        outln!(
            "{}",
            json::line(&json::Applied {
                changed: !sum.files.is_empty() || !sum.commands.is_empty(),
                message: &msg,
                resumed: None,
                summary: Some(json::Sorted(&sum)),
            })
        );
    } else {
        if sum.applied.is_empty() {
            outln!("{}", nothing_applied(only));
        } else {
            outln!("applied: {}", sum.applied.join(", "));
            outln!(
                "journal: {}; undo with `smtpauth-wizard{} rollback`",
                engine.journal_path().display(),
                cli.root
                    .as_ref()
                    .map(|_| format!(" --root {}", engine.root().dir().display()))
                    .unwrap_or_default()
            );
        }
        if !sum.skipped.is_empty() {
            outln!("skipped: {}", sum.skipped.join(", "));
        }
        for n in &sum.notes {
            outln!("{n}");
        }
    }
    Ok(0)
}

/// What apply says when it applied nothing: "every step" only when no --only narrowed it.
pub(super) fn nothing_applied(only: &[String]) -> String {
    if only.is_empty() {
        "nothing to do: every step is already done".into()
    } else {
        format!("nothing to do: {} already done", only.join(", "))
    }
}
