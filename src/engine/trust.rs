//! What root may read as instructions: a profile decides what root runs (restart and install
//! commands, the validating sendmail, the mc given to m4) and an answers file decides what it
//! changes. As root, such a file must be root's own (or the effective uid's), writable by nobody
//! else, and every directory above it must be safe from replacement by another user (not
//! writable by group or others, unless sticky like /tmp; owned by root or the effective uid).

use std::io::Read;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

/// The largest profile or answers file read (real ones are a few KiB).
pub const MAX_INSTRUCTIONS: u64 = 1 << 20;

fn trusted_owner(uid: u32) -> bool {
    uid == 0 || uid == nix::unistd::geteuid().as_raw()
}

/// A directory whose contents another user could change: its metadata, and `true` when others
/// (group or world) can write it without the sticky bit, `false` when it belongs to a user other
/// than root and us.
fn others_can_change(m: std::fs::Metadata) -> Option<(std::fs::Metadata, bool)> {
    let open = m.mode() & 0o022 != 0 && m.mode() & 0o1000 == 0;
    (open || !trusted_owner(m.uid())).then_some((m, open))
}

/// Why `path` cannot be trusted by root, or `None`. Not root: always trusted (a user's own
/// files decide only what that user can do).
pub fn distrust(path: &Path, what: &str) -> Option<String> {
    if nix::unistd::geteuid().as_raw() != 0 {
        return None;
    }
    let abs: PathBuf = match std::fs::canonicalize(path) {
        Ok(p) => p,
        Err(_) => return None, // reading it will say what is wrong
    };
    let md = std::fs::metadata(&abs).ok()?;
    if !trusted_owner(md.uid()) {
        return Some(format!(
            "{what} {} belongs to uid {}, not to root: running as root, the wizard only follows \
             instructions root wrote; check it, then `chown root: {}`",
            path.display(),
            md.uid(),
            abs.display()
        ));
    }
    if md.mode() & 0o022 != 0 {
        return Some(format!(
            "{what} {} can be written by other users (mode {:o}): running as root, the wizard \
             does not follow instructions someone else could have changed; `chmod go-w {}`",
            path.display(),
            md.mode() & 0o7777,
            abs.display()
        ));
    }
    let mut dir = abs.parent();
    while let Some(d) = dir {
        if let Some((m, open)) = std::fs::metadata(d).ok().and_then(others_can_change) {
            return Some(format!(
                "{what} {} lies in {}, which {} (mode {:o}, owner uid {}): someone else could \
                 replace the file; keep it in a directory only root can write",
                path.display(),
                d.display(),
                if open {
                    "other users can write"
                } else {
                    "belongs to another user"
                },
                m.mode() & 0o7777,
                m.uid()
            ));
        }
        dir = d.parent();
    }
    None
}

/// The deepest `[`/`{` nesting accepted in YAML we read. The YAML parser takes quadratic time in
/// the nesting depth (20,000 levels: 3 s; a 1 MiB file of `[`: more than ten minutes), and no
/// profile, answers file or journal nests more than a few levels.
pub const MAX_YAML_NESTING: usize = 64;

/// Refuses YAML whose flow collections nest deeper than [`MAX_YAML_NESTING`], before the
/// parser sees it. Quoted scalars and comments are skipped; block nesting is bounded by the
/// size cap (each level costs a longer indentation).
pub fn check_yaml_nesting(text: &str) -> Result<(), String> {
    let mut depth = 0usize;
    let mut quote: Option<char> = None;
    let mut prev = '\n';
    let mut chars = text.chars().peekable();
    let mut line = 1;
    while let Some(c) = chars.next() {
        if c == '\n' {
            line += 1;
        }
        match quote {
            Some('\'') if c == '\'' => {
                if chars.peek() == Some(&'\'') {
                    chars.next();
                } else {
                    quote = None;
                }
            }
            Some('"') if c == '\\' => {
                chars.next();
            }
            Some('"') if c == '"' => quote = None,
            Some(_) => {}
            None => match c {
                '\'' | '"' if !prev.is_alphanumeric() => quote = Some(c),
                '#' if prev.is_whitespace() => {
                    for n in chars.by_ref() {
                        if n == '\n' {
                            line += 1;
                            break;
                        }
                    }
                }
                '[' | '{' => {
                    depth += 1;
                    if depth > MAX_YAML_NESTING {
                        return Err(format!(
                            "line {line}: lists and maps nested more than {MAX_YAML_NESTING} deep"
                        ));
                    }
                }
                ']' | '}' => depth = depth.saturating_sub(1),
                _ => {}
            },
        }
        prev = c;
    }
    Ok(())
}

/// The directories of a `--root` tree whose owner decides what root writes and where its
/// links lead: the tree itself, and the ones the wizard reads and writes in.
const TREE_DIRS: &[&str] = &[
    "",
    "/etc",
    "/etc/mail",
    "/etc/pam.d",
    "/etc/sasl2",
    "/etc/default",
    "/usr",
    "/usr/lib",
    "/var",
    "/var/lib",
    "/var/log",
];

/// Why root should not work on this `--root` tree, or `None`: as root, a tree (or one of its
/// directories the wizard works in, or a directory above it) that another user owns or can
/// write could be changed under the wizard's feet, links and all (`etc/mail -> /etc`).
/// `--trust-root` says the admin means it. Not root, or the live system: `None`.
pub fn distrust_tree(root: &super::root::Root) -> Option<String> {
    if nix::unistd::geteuid().as_raw() != 0 || root.is_host() {
        return None;
    }
    let check = |d: &Path| -> Option<String> {
        let (m, open) = others_can_change(std::fs::metadata(d).ok()?)?;
        Some(format!(
            "{} {} (mode {:o}, owner uid {})",
            d.display(),
            if open {
                "can be written by other users"
            } else {
                "belongs to another user"
            },
            m.mode() & 0o7777,
            m.uid()
        ))
    };
    let mut problems: Vec<String> = vec![];
    for t in TREE_DIRS {
        let at = root.join(t);
        let Ok(m) = std::fs::symlink_metadata(&at) else {
            continue;
        };
        if m.file_type().is_symlink() {
            // A link's own mode is always 0777: what matters is who made it, and the
            // directory it leads to (inside the root).
            if !trusted_owner(m.uid()) {
                problems.push(format!(
                    "{} is a link made by uid {}",
                    at.display(),
                    m.uid()
                ));
            }
            if let Ok(r) = root.resolve(t) {
                problems.extend(check(&r.real));
            }
        } else {
            problems.extend(check(&at));
        }
    }
    let mut up = root.dir().parent();
    while let Some(d) = up {
        problems.extend(check(d));
        up = d.parent();
    }
    if problems.is_empty() {
        return None;
    }
    Some(format!(
        "running as root on the tree {}, which other users can change: {}. They could make the \
         wizard write, restore or delete files elsewhere through links; work on a copy only \
         root can write, or give --trust-root if you mean this tree",
        root.dir().display(),
        problems.join("; ")
    ))
}

/// Reads a profile or answers file: refused when root should not trust it ([`distrust`]),
/// when it is not a regular file (a FIFO would hang us), or larger than [`MAX_INSTRUCTIONS`].
pub fn read_instructions(path: &Path, what: &str) -> Result<String, super::Error> {
    use super::Error;
    let file = path.display().to_string();
    let io = |e: std::io::Error| Error::Io {
        action: format!("read {what}"),
        path: file.clone(),
        message: format!("cannot read {what} {}: {e}", path.display()),
    };
    let bad = |why: String, message: String| Error::bad_input(file.clone(), why, message);
    if let Some(why) = distrust(path, what) {
        return Err(Error::Refused(why));
    }
    let f = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)
        .map_err(io)?;
    let md = f.metadata().map_err(io)?;
    if !md.is_file() {
        return Err(bad(
            "not a regular file".into(),
            format!("{what} {} is not a regular file", path.display()),
        ));
    }
    let mut buf = Vec::new();
    f.take(MAX_INSTRUCTIONS + 1)
        .read_to_end(&mut buf)
        .map_err(io)?;
    if buf.len() as u64 > MAX_INSTRUCTIONS {
        return Err(bad(
            format!("larger than {} KiB", MAX_INSTRUCTIONS / 1024),
            format!(
                "{what} {} is larger than {} KiB: not a {what}",
                path.display(),
                MAX_INSTRUCTIONS / 1024
            ),
        ));
    }
    let text = String::from_utf8(buf).map_err(|e| {
        let why = format!(
            "not text (invalid UTF-8 at byte {})",
            e.utf8_error().valid_up_to()
        );
        bad(why.clone(), format!("{what} {} is {why}", path.display()))
    })?;
    check_yaml_nesting(&text)
        .map_err(|e| bad(e.clone(), format!("{what} {}: {e}", path.display())))?;
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deep_flow_nesting_is_refused_before_parsing() {
        assert!(check_yaml_nesting("a: [1, [2, {b: 3}]]\n").is_ok());
        let deep = format!("a: {}\n", "[".repeat(1_000_000));
        let e = check_yaml_nesting(&deep).unwrap_err();
        assert!(
            e.contains("line 1") && e.contains("nested more than 64"),
            "{e}"
        );
        let deep = format!("x: 1\na: {}\n", "{a: ".repeat(65));
        assert!(check_yaml_nesting(&deep).unwrap_err().contains("line 2"));
        // Brackets inside quotes and comments do not count.
        let q = format!(
            "a: '{}'\nb: \"{}\\\"\"\n# {}\nc: it's [fine]\n",
            "[".repeat(100),
            "{".repeat(100),
            "[".repeat(100)
        );
        assert!(check_yaml_nesting(&q).is_ok(), "{q}");
    }
}
