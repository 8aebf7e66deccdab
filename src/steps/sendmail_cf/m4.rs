//! Running m4 on an mc (and `sendmail -bv` on what it made) for the sendmail-cf step. When the
//! tree is not root's own, both run as an unprivileged user in a private directory
//! ([`host::Sandbox`]): an m4 `syscmd` in another user's mc, or a script planted in their cf
//! tree (cf.m4 runs `sh/makeinfo.sh`), must not run as root.

use super::super::{Encoding, Text};
use super::m4_memo;
use crate::engine::host;
use crate::engine::step::Context;
use crate::mc;
use std::path::{Path, PathBuf};

/// Runs m4 on the mc text as the served system would. Returns the cf and m4's warnings.
pub fn regenerate(
    cx: &Context,
    mc_path: &str,
    mc: &Text,
) -> Result<(Vec<u8>, Vec<String>), String> {
    regenerate_with(cx, mc_path, mc, &|_| None)
}

/// Where m4 reads an included file instead (see [`regenerate_with`]).
pub(super) type Instead<'a> = &'a dyn Fn(&str) -> Option<PathBuf>;

/// [`regenerate`], with some included files read from elsewhere: `instead` gets an include's
/// served-system path (links resolved inside the root) and may name the file m4 should read in
/// its place (the journal's saved original of an include the wizard has since edited).
pub fn regenerate_with(
    cx: &Context,
    mc_path: &str,
    mc: &Text,
    instead: &dyn Fn(&str) -> Option<PathBuf>,
) -> Result<(Vec<u8>, Vec<String>), String> {
    let mc_text: &str = mc;
    let m4 = host::find_tool("m4").ok_or(
        "m4 is not installed (not on PATH, nor in /usr/sbin or /sbin): install the m4 package",
    )?;
    // Every path handed to m4 is resolved inside the root first: `ROOT/etc/mail/...` as it
    // is would let the kernel follow an absolute link `/etc/mail -> /srv/mail` out of the
    // root to this machine's own `/srv/mail`.
    // A relative include is read from m4's working directory, the mc's own.
    let mc_dir = mc_path.rsplit_once('/').map_or("", |(d, _)| d).to_string();
    let absolute = |p: &str| -> String {
        if p.starts_with('/') {
            p.to_string()
        } else {
            format!("{mc_dir}/{p}")
        }
    };
    let served_of = |p: &str| -> String {
        let a = absolute(p);
        cx.root.resolve(&a).map(|r| r.target).unwrap_or(a)
    };
    let place = |p: &str| -> String {
        match instead(&served_of(p)) {
            Some(other) => other.display().to_string(),
            None if cx.root.is_host() || !p.starts_with('/') => p.to_string(),
            None => real_path(cx, p),
        }
    };
    let place_real = |p: &str| -> String {
        match instead(&served_of(p)) {
            Some(other) => other.display().to_string(),
            None => real_path(cx, &absolute(p)),
        }
    };
    // The mc's includes, read once: analysing an mc is most of what a repeated run costs.
    let includes = mc::analyse(mc_text).includes;
    let overridden = includes
        .iter()
        .any(|(_, p)| instead(&served_of(p)).is_some());
    let text = if cx.root.is_host() && !overridden {
        mc_text.to_string()
    } else {
        // In a file that is not UTF-8 each byte is one character: the path goes in the same
        // way, byte for byte.
        mc::rewrite_every_include_with(mc_text, |p| match mc.encoding {
            Encoding::Utf8 => place(p),
            Encoding::Bytes => {
                let served = mc.encode(p).unwrap_or_default();
                let real = place(&String::from_utf8_lossy(&served));
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
    let includes_cf = includes.iter().any(|(_, p)| p.ends_with("/cf.m4"));
    // Another user's tree: m4 (and the cf tree's scripts it starts) runs unprivileged.
    let mut trusted_by_root = tree_paths(cx);
    trusted_by_root.push(PathBuf::from(real_path(cx, mc_path)));
    // The files m4 opens by name: the mc's includes (and cf.m4 when it is not one of them).
    let mut read_by_name = vec![];
    for (_, p) in &includes {
        let real = PathBuf::from(place_real(p));
        trusted_by_root.push(real.clone());
        read_by_name.push(real);
    }
    let foreign = host::foreign_paths(&trusted_by_root);
    let mut args = vec![];
    if let (Some(_), Some(d)) = (&foreign, &dir) {
        // m4 runs in the private directory: relative includes are found in the mc's own.
        args.push("-I".to_string());
        args.push(d.display().to_string());
    }
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
        read_by_name.push(cf_m4);
    }
    let mut key = Some(
        m4_memo::Key::new(&m4, &args, dir.as_deref(), foreign.is_some())
            .part(&text)
            .part(cx.root.dir().as_os_str().as_encoded_bytes()),
    );
    for f in &read_by_name {
        key = key.and_then(|k| k.file(f));
    }
    let key = match key.map(m4_memo::get) {
        Some((Some(made), _)) => return Ok(made),
        Some((None, key)) => Some(key),
        None => None,
    };
    let sandbox = match &foreign {
        Some(_) => Some(host::Sandbox::new()?),
        None => None,
    };
    let out = host::run_as(
        &m4,
        &args,
        Some(&text),
        cx.opts.tool_timeout,
        dir.as_deref(),
        sandbox.as_ref(),
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
        if let (Some(sb), Some(why)) = (&sandbox, &foreign) {
            if out.stderr.contains("Permission denied") {
                msg.push_str(&format!(
                    " (m4 ran as uid {} because this tree is not root's own: {why}; every file \
                     it reads, the cf tree and the mc's includes, must be readable by that user)",
                    sb.uid
                ));
            }
        }
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
    let stdout = match (&sandbox, &dir) {
        // cf.m4's header says where m4 ran (`##### in DIR`): the mc's directory, as before.
        (Some(sb), Some(d)) => rehome_header(
            out.stdout,
            &sb.dir().display().to_string(),
            &d.display().to_string(),
        ),
        _ => out.stdout,
    };
    let cf = if cx.root.is_host() {
        stdout
    } else {
        unroot_header(stdout, &cx.root.dir().display().to_string())
    };
    let made = (cf, warnings);
    if let Some(key) = key {
        m4_memo::put(key, &made);
    }
    Ok(made)
}

/// What decides what m4 and sendmail do: the tree (with `--root`), the mc and its directory,
/// the cf tree (cf.m4, and the directory above its m4/ that holds sh/makeinfo.sh). When root
/// does not own one of them (or others can write it), tree content runs unprivileged.
fn tree_paths(cx: &Context) -> Vec<PathBuf> {
    let mut v = vec![];
    if !cx.root.is_host() {
        v.push(cx.root.dir().to_path_buf());
    }
    if let Some(p) = &cx.profile {
        let mc = PathBuf::from(real_path(cx, &p.sendmail.mc));
        v.extend(mc.parent().map(Path::to_path_buf));
        v.push(mc);
        let cf_m4 = PathBuf::from(real_path(cx, &p.sendmail.cf_m4));
        v.extend(cf_m4.parent().and_then(Path::parent).map(Path::to_path_buf));
        v.push(cf_m4);
    }
    v
}

/// `##### in FROM` (the private directory m4 ran in) becomes `##### in TO` in the header.
fn rehome_header(cf: Vec<u8>, from: &str, to: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(cf.len());
    for l in cf.split_inclusive(|b| *b == b'\n') {
        match std::str::from_utf8(l) {
            Ok(t) if t.starts_with("#####") && t.contains(from) => {
                out.extend_from_slice(t.replace(from, to).as_bytes())
            }
            _ => out.extend_from_slice(l),
        }
    }
    out
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
    // A cf made from another user's mc can run programs while sendmail parses an address
    // (`K... program` maps in a ruleset): then sendmail runs unprivileged, on a copy of the
    // cf in the private directory, with that directory as its queue (it needs one it can
    // enter, and says "-bv may give misleading output" for a non-root user, which does not
    // change its exit status).
    let sandbox = match host::foreign_paths(&tree_paths(cx)) {
        Some(_) => Some(host::Sandbox::new()?),
        None => None,
    };
    let mut args = vec![];
    let cf_arg = match &sandbox {
        Some(sb) => {
            let bytes = std::fs::read(cf)
                .map_err(|e| format!("cannot read {} to validate it: {e}", cf.display()))?;
            args.push(format!("-OQueueDirectory={}", sb.dir().display()));
            sb.put("sendmail.cf", &bytes)?
        }
        None => cf.to_path_buf(),
    };
    args.extend([
        "-C".to_string(),
        cf_arg.display().to_string(),
        "-bv".to_string(),
        "root".to_string(),
    ]);
    let out = host::run_as(
        &bin,
        &args,
        None,
        cx.opts.tool_timeout,
        None,
        sandbox.as_ref(),
    )?;
    if out.success() {
        Ok(())
    } else {
        Err(format!(
            "the new sendmail.cf failed validation, so it was not installed: {}",
            out.describe()
        ))
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
}
