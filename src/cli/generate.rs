//! `answers` (the answers file and its example) and `generate` (man pages, completions).

use super::*;

/// `answers --example` prints the template; `answers FILE` checks a file and shows what it sets.
pub(super) fn answers(
    cli: &Cli,
    example: bool,
    file: Option<&std::path::Path>,
) -> Result<u8, crate::engine::Error> {
    let json = cli.format == Format::Json;
    if example {
        if json {
            outln!(
                "{}",
                crate::term::json_line(&json::AnswersExample {
                    example: answers::EXAMPLE
                })
                .unwrap_or_default()
            );
        } else {
            out!("{}", answers::EXAMPLE);
        }
        return Ok(0);
    }
    let f = file.ok_or_else(|| {
        crate::engine::Error::Usage("give an answers FILE to check, or --example".into())
    })?;
    let a = answers::load(f)?;
    if json {
        outln!(
            "{}",
            crate::term::json_pretty(&json::AnswersValid {
                answers: json::Sorted(&a),
                file: f.display().to_string(),
                valid: true,
            })
            .map_err(|e| e.to_string())?
        );
    } else {
        outln!("{}: valid; it sets:", f.display());
        let y = serde_yaml::to_string(&a).map_err(|e| e.to_string())?;
        for l in y.lines().filter(|l| !l.ends_with(": null")) {
            outln!("  {l}");
        }
    }
    Ok(0)
}

/// Writes the man pages or the completions (for packaging; see .ci/package). Goes through
/// fsops like every other write: each file is replaced atomically.
pub(super) fn generate(cli: &Cli, what: &GenerateWhat) -> Result<u8, crate::engine::Error> {
    use crate::engine::fsops;
    let mut files: Vec<(PathBuf, Vec<u8>)> = vec![];
    let mut cmd = command();
    let dir = match what {
        GenerateWhat::Man { dir } => {
            // `help` is clap's own; the pages say what it would.
            cmd = cmd.disable_help_subcommand(true);
            cmd.build();
            let page = |c: clap::Command| -> Result<(String, Vec<u8>), String> {
                let m = clap_mangen::Man::new(c)
                    .section("8")
                    .source(concat!("smtpauth-wizard ", env!("CARGO_PKG_VERSION")))
                    .manual("System Administration");
                let mut buf = vec![];
                m.render(&mut buf).map_err(|e| e.to_string())?;
                Ok((m.get_filename(), buf))
            };
            let (n, b) = page(cmd.clone())?;
            files.push((dir.join(n), b));
            for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
                let (n, b) = page(sub.clone())?;
                files.push((dir.join(n), b));
            }
            dir
        }
        GenerateWhat::Completions { dir } => {
            use clap_complete::{Generator, Shell};
            cmd.build();
            for sh in [Shell::Bash, Shell::Zsh, Shell::Fish] {
                let mut buf = vec![];
                clap_complete::generate(sh, &mut cmd, "smtpauth-wizard", &mut buf);
                files.push((dir.join(sh.file_name("smtpauth-wizard")), buf));
            }
            dir
        }
    };
    let io = |action: &str, p: &std::path::Path| {
        let (action, path) = (action.to_string(), p.display().to_string());
        move |e: std::io::Error| crate::engine::Error::Io {
            action,
            path,
            message: e.to_string(),
        }
    };
    fsops::ensure_dir(dir, 0o755).map_err(io("create", dir))?;
    for (p, b) in &files {
        fsops::replace_file(
            p,
            b,
            fsops::WriteMeta {
                mode: 0o644,
                owner: None,
                mtime: None,
            },
            None,
        )
        .map_err(io("write", p))?;
    }
    let names: Vec<String> = files.iter().map(|(p, _)| p.display().to_string()).collect();
    if cli.format == Format::Json {
        outln!(
            "{}",
            crate::term::json_line(&json::Generated { files: &names }).unwrap_or_default()
        );
    } else {
        names.iter().for_each(|n| outln!("wrote {n}"));
    }
    Ok(0)
}
