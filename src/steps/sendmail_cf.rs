//! HOWTO step 5: regenerate sendmail.cf with m4 and put it in place, validated.
//!
//! m4 writes into memory; its exit status and stderr are checked (an unclosed quote exits 1 and
//! leaves a truncated cf, FACTS.md). The result is validated with `sendmail -C TMP -bv root`
//! on a temporary file next to the target before the atomic rename. With `--root`, absolute
//! includes are redirected into the root so a fixture tree regenerates with its own cf tree.

use super::{read_text, Encoding, Text};
use crate::engine::host;
use crate::engine::step::{Change, Context, Step, StepReport, View};
use crate::mc;
use std::path::{Path, PathBuf};

pub struct SendmailCf;

/// The lines that matter: a regenerated cf differs from the installed one in its `#####`
/// header (date, host, directory) and Debian appends a `#`-commented copy of the mc.
pub fn significant(cf: &[u8]) -> Vec<&[u8]> {
    cf.split(|b| *b == b'\n')
        .map(|l| l.strip_suffix(b"\r").unwrap_or(l))
        .filter(|l| !l.starts_with(b"#") && !l.is_empty())
        .collect()
}

/// Runs m4 on the mc text as the served system would. Returns the cf and m4's warnings.
pub fn regenerate(
    cx: &Context,
    mc_path: &str,
    mc: &Text,
) -> Result<(Vec<u8>, Vec<String>), String> {
    let mc_text: &str = mc;
    let m4 = host::find_tool("m4").ok_or(
        "m4 is not installed (not on PATH, nor in /usr/sbin or /sbin): install the m4 package",
    )?;
    // Every path handed to m4 is resolved inside the root first: `ROOT/etc/mail/...` as it
    // is would let the kernel follow an absolute link `/etc/mail -> /srv/mail` out of the
    // root to this machine's own `/srv/mail`.
    let text = if cx.root.is_host() {
        mc_text.to_string()
    } else {
        // In a file that is not UTF-8 each byte is one character: the path goes in the same
        // way, byte for byte.
        mc::rewrite_includes_with(mc_text, |p| match mc.encoding {
            Encoding::Utf8 => real_path(cx, p),
            Encoding::Bytes => {
                let served = mc.encode(p).unwrap_or_default();
                let real = real_path(cx, &String::from_utf8_lossy(&served));
                real.bytes().map(char::from).collect()
            }
        })
    };
    let text = mc
        .encode(&text)
        .map_err(|e| format!("{}: {e}", cx.root.display(mc_path)))?;
    let dir = PathBuf::from(real_path(cx, mc_path));
    let dir = dir.parent().filter(|d| d.is_dir()).map(Path::to_path_buf);
    // An mc that does not include cf.m4 itself (FreeBSD's: its Makefile runs
    // `m4 cf.m4 freebsd.mc`) gets the profile's cf.m4 in front, as its Makefile would.
    let includes_cf = mc::analyse(mc_text)
        .includes
        .iter()
        .any(|(_, p)| p.ends_with("/cf.m4"));
    let mut args = vec![];
    if !includes_cf {
        let p = cx
            .profile
            .as_ref()
            .map(|p| p.sendmail.cf_m4.clone())
            .unwrap_or_default();
        let cf_m4 = PathBuf::from(real_path(cx, &p));
        if !cf_m4.exists() {
            return Err(format!(
                "{} does not include cf.m4 and the cf tree is not at {}: install sendmail-cf",
                cx.root.display(mc_path),
                cf_m4.display()
            ));
        }
        args.push(cf_m4.display().to_string());
        args.push("-".to_string());
    }
    let out = host::run_in(
        &m4,
        &args,
        Some(&text),
        cx.opts.tool_timeout,
        dir.as_deref(),
    )?;
    let warnings: Vec<String> = out
        .stderr
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.contains("ERROR"))
        .map(|l| format!("m4: {}", l.trim()))
        .collect();
    if !out.success() || out.stderr.contains("ERROR") || out.stdout.is_empty() {
        let mut msg = format!(
            "m4 could not build sendmail.cf from {}: {}",
            cx.root.display(mc_path),
            out.describe()
        );
        if out.stderr.contains("cannot open") {
            let p = cx
                .profile
                .as_ref()
                .map(|p| p.sendmail.cf_m4.clone())
                .unwrap_or_default();
            msg.push_str(&format!(
                " (an included file is missing; the cf tree should be at {}: install sendmail-cf)",
                cx.root.display(&p)
            ));
        }
        return Err(msg);
    }
    // m4 happily copies text it does not understand: make sure this is a sendmail.cf at all.
    let has_version = out
        .stdout
        .split(|b| *b == b'\n')
        .any(|l| l.len() > 1 && l[0] == b'V' && l[1].is_ascii_digit());
    if !has_version {
        return Err(format!(
            "m4 ran on {} but its output is not a sendmail.cf (no `V` version line): does the mc include cf.m4?",
            cx.root.display(mc_path)
        ));
    }
    let cf = if cx.root.is_host() {
        out.stdout
    } else {
        unroot_header(out.stdout, &cx.root.dir().display().to_string())
    };
    Ok((cf, warnings))
}

/// With `--root DIR` m4 runs in DIR/etc/mail on include paths under DIR, and cf.m4 writes both
/// into the `#####` header (`##### in DIR/etc/mail`, `##### using DIR/usr/share/...`). The
/// served system knows nothing of DIR: strip it from those header lines (only them).
fn unroot_header(cf: Vec<u8>, root: &str) -> Vec<u8> {
    let root = root.trim_end_matches('/');
    if root.is_empty() {
        return cf;
    }
    let (with_slash, bare) = (format!("{root}/"), root.as_bytes());
    let mut out = Vec::with_capacity(cf.len());
    for l in cf.split_inclusive(|b| *b == b'\n') {
        if !l.starts_with(b"#####") {
            out.extend_from_slice(l);
            continue;
        }
        let Ok(t) = std::str::from_utf8(l) else {
            out.extend_from_slice(l);
            continue;
        };
        let mut t = t.replace(&with_slash, "/");
        // `##### in DIR` (m4 run in the root itself).
        let body = t.trim_end_matches(['\n', '\r']);
        if body.as_bytes().ends_with(bare)
            && body.as_bytes()[..body.len() - bare.len()].ends_with(b" ")
        {
            let end = &t[body.len()..].to_string();
            t = format!("{}/{end}", &body[..body.len() - bare.len()]);
        }
        out.extend_from_slice(t.as_bytes());
    }
    out
}

/// Where a served-system path is on this machine, links followed inside the root (the
/// lexical join when the links cannot be followed: a loop, which m4 then reports).
fn real_path(cx: &Context, target: &str) -> String {
    cx.root
        .resolve(target)
        .map(|r| r.real)
        .unwrap_or_else(|_| cx.root.join(target))
        .display()
        .to_string()
}

/// `sendmail -C TMP -bv root`: 0 when the cf is valid (FACTS.md: 70 unknown line, 78 empty).
pub fn validate(cx: &Context, cf: &Path) -> Result<(), String> {
    if cx.can_validate.is_err() {
        return Ok(()); // reported by the os step; a 60 s stall helps nobody
    }
    let bins = cx
        .profile
        .as_ref()
        .map(|p| p.sendmail.binaries.clone())
        .unwrap_or_default();
    let Some(bin) = bins
        .iter()
        .map(|b| Path::new(b).to_path_buf())
        .find(|b| b.exists())
        .or_else(|| host::find_tool("sendmail"))
    else {
        return Ok(());
    };
    let args = vec![
        "-C".to_string(),
        cf.display().to_string(),
        "-bv".to_string(),
        "root".to_string(),
    ];
    let out = host::run(&bin, &args, None, cx.opts.tool_timeout)?;
    if out.success() {
        Ok(())
    } else {
        Err(format!(
            "the new sendmail.cf failed validation, so it was not installed: {}",
            out.describe()
        ))
    }
}

/// Plans sendmail.cf (and its copies) from an mc text. Shared with relay-features, which edits
/// the mc after this step has run.
pub fn plan_cf(cx: &Context, r: &mut StepReport, view: &View, mc: &Text) {
    let Some(p) = &cx.profile else { return };
    let (cf, warnings) = match regenerate(cx, &p.sendmail.mc, mc) {
        Ok(x) => x,
        Err(e) => {
            r.error(Some(&p.sendmail.mc), e, None);
            return;
        }
    };
    for w in warnings {
        r.warn(Some(&p.sendmail.mc), w, None);
    }
    match &cx.can_validate {
        Ok(()) => r.info("the new sendmail.cf is validated with `sendmail -C TMP -bv root` before it replaces the old one"),
        Err(_) => r.info("sendmail -bv validation is skipped on this machine (see the os step)"),
    }
    for (i, target) in p.sendmail.cf.iter().enumerate() {
        // Links of the directories above are followed inside the root (`/etc/mail` on a
        // persistent volume: the files are written in the directory it points to); a link at
        // sendmail.cf itself is refused: writing would replace the link by a file.
        match cx.root.file_link(target) {
            Ok(Some((at, _))) => {
                let to = cx
                    .root
                    .resolve(target)
                    .map(|r| r.target)
                    .unwrap_or_else(|e| e.to_string());
                let seen_as = if at == crate::engine::root::normalize(target) {
                    String::new()
                } else {
                    format!(" (reached as {})", cx.root.display(target))
                };
                r.error(
                    Some(target),
                    format!(
                        "{}{seen_as} is a symbolic link to {to}; the wizard does not write sendmail.cf through a link (writing would replace the link by a file)",
                        cx.root.display(&at),
                    ),
                    Some("replace the link by the file it points to, or name the real path in a --profile".into()),
                );
                continue;
            }
            Err(e) => {
                r.error(Some(target), e.to_string(), None);
                continue;
            }
            Ok(None) => {}
        }
        let path = match cx.root.resolve(target) {
            Ok(res) => res.target,
            Err(e) => {
                r.error(Some(target), e.to_string(), None);
                continue;
            }
        };
        let cur = match view.read(target) {
            Ok(c) => c,
            Err(e) => {
                r.error(Some(target), e.to_string(), None);
                continue;
            }
        };
        if i > 0 && cur.is_none() && !p.sendmail.cf_copies_always {
            continue;
        }
        match &cur {
            Some(c) if significant(c) == significant(&cf) => {
                r.info_at(
                    target,
                    format!(
                        "{} is current with {}",
                        cx.root.display(target),
                        p.sendmail.mc
                    ),
                );
            }
            _ => {
                let why = if i == 0 {
                    format!("regenerated from {} with m4", p.sendmail.mc)
                } else {
                    format!(
                        "copy of {} (HOWTO step 5: place the file in both locations)",
                        p.sendmail.cf[0]
                    )
                };
                let wm = crate::engine::fsops::WriteMeta {
                    mode: 0o644,
                    owner: Some((0, 0)),
                    mtime: None,
                };
                r.changes.push(Change {
                    path: path.clone(),
                    requested: target.clone(),
                    before: cur.clone(),
                    after: cf.clone(),
                    new_meta: Some(wm),
                    validate_cf: true,
                    why,
                });
            }
        }
    }
}

impl Step for SendmailCf {
    fn id(&self) -> &'static str {
        "sendmail-cf"
    }
    fn title(&self) -> &'static str {
        "Regenerate sendmail.cf with m4"
    }
    fn howto(&self) -> &'static str {
        "HOWTO step 5: m4 /etc/mail/sendmail.mc > /etc/mail/sendmail.cf"
    }
    fn check(&self, cx: &Context, view: &View) -> StepReport {
        let mut r = StepReport::new(self);
        let Some(p) = super::profile_or_block(cx, &mut r) else {
            return r.finish();
        };
        match read_text(view, &p.sendmail.mc) {
            Ok(Some(mc_text)) => plan_cf(cx, &mut r, view, &mc_text),
            Ok(None) => r.block(super::does_not_exist(&cx.root, &p.sendmail.mc), None),
            Err(e) => r.error(Some(&p.sendmail.mc), e, None),
        }
        r.finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_root_is_stripped_from_the_header_only() {
        let cf = b"#####\n##### built by root@vm on Wed\n##### in /tmp/r1/etc/mail\n##### using /tmp/r1/usr/share/sendmail/cf/ as configuration include directory\n##### in /tmp/r1\r\nO HelpFile=/tmp/r1/etc/mail/helpfile\n# /tmp/r1/x\n##### in /tmp/r10/etc\n";
        let out = String::from_utf8(unroot_header(cf.to_vec(), "/tmp/r1")).unwrap();
        assert_eq!(
            out,
            "#####\n##### built by root@vm on Wed\n##### in /etc/mail\n##### using /usr/share/sendmail/cf/ as configuration include directory\n##### in /\r\nO HelpFile=/tmp/r1/etc/mail/helpfile\n# /tmp/r1/x\n##### in /tmp/r10/etc\n"
        );
    }

    #[test]
    fn comment_lines_and_line_endings_do_not_count() {
        let a = b"##### built by root@vm on Thu\nO A=1\n# comment\nO B=2\n";
        let b = b"##### built by root@other on Fri\r\nO A=1\r\nO B=2\r\n### /etc/mail/sendmail.mc ###\n# copy\n";
        assert_eq!(significant(a), significant(b));
        assert_ne!(significant(a), significant(b"O A=1\nO B=3\n"));
    }
}
