//! Every path the program touches goes through a [`Root`]: the served system's absolute path
//! (`/etc/mail/sendmail.mc`) is joined under the root directory (`--root DIR`, `/` on a live
//! server). Symbolic links are followed *inside* the root, so an absolute link in a fixture tree
//! (`/etc/pam.d/smtp -> /etc/alternatives/mta-pam`) never escapes to the host's files.
//!
//! This module never writes anything.

use std::fs;
use std::io;
use std::path::{Component, Path, PathBuf};

/// The largest configuration file read (sendmail.cf is about 100 KiB; a big access file a few
/// MiB): a planted 1 GiB file is refused instead of read into memory.
pub const MAX_CONFIG: u64 = 32 << 20;

/// How many links we follow before calling it a loop (Linux's own limit is 40).
const MAX_LINKS: usize = 40;

#[derive(Debug, Clone)]
pub struct Root {
    dir: PathBuf,
}

/// A path on the served system after following links inside the root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolved {
    /// The path as the served system sees it (always absolute, no `..`).
    pub target: String,
    /// Where it lives on this machine (root directory joined with `target`).
    pub real: PathBuf,
    /// The links followed on the way, as served-system paths (`/etc/pam.d/smtp`, ...).
    pub via_links: Vec<String>,
}

impl Root {
    pub fn new(dir: impl Into<PathBuf>) -> io::Result<Root> {
        let dir = dir.into();
        let canon = fs::canonicalize(&dir).map_err(|e| {
            io::Error::new(e.kind(), format!("root directory {}: {e}", dir.display()))
        })?;
        if !canon.is_dir() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("root {} is not a directory", canon.display()),
            ));
        }
        // `--root /tmp/x` where x is a link to / would silently be the live system (restarts
        // and installs on): the live system is only ever `/` written as `/`.
        if canon == Path::new("/") && dir.as_os_str() != "/" {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "root {} leads to / (the live system) through a link; write --root / (or \
                     leave --root out) if you mean the live system",
                    dir.display()
                ),
            ));
        }
        Ok(Root { dir: canon })
    }

    /// The root directory itself.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// True when the root is `/`, i.e. we act on the live system.
    pub fn is_host(&self) -> bool {
        self.dir == Path::new("/")
    }

    /// The served system's host name, fully qualified from its /etc/hosts when that allows
    /// (what `hostname -f` says, and sendmail's `$j`): on the live system the kernel's name,
    /// under a tree its /etc/hostname, else `fallback`.
    pub fn host_name(&self, fallback: &str) -> String {
        let name = if self.is_host() {
            super::host::hostname()
        } else {
            self.read("/etc/hostname")
                .ok()
                .flatten()
                .map(|b| String::from_utf8_lossy(&b).trim().to_string())
                .filter(|s| !s.is_empty())
                .unwrap_or_else(|| fallback.to_string())
        };
        let hosts = self
            .read("/etc/hosts")
            .ok()
            .flatten()
            .map(|b| String::from_utf8_lossy(&b).to_string())
            .unwrap_or_default();
        super::host::qualified_name(&name, &hosts).unwrap_or(name)
    }

    /// Joins a served-system path under the root without following links.
    pub fn join(&self, target: &str) -> PathBuf {
        let norm = normalize(target);
        let rel = norm.trim_start_matches('/');
        if rel.is_empty() {
            self.dir.clone()
        } else {
            self.dir.join(rel)
        }
    }

    /// Shows a served-system path the way a user of `--root` wants to read it.
    pub fn display(&self, target: &str) -> String {
        if self.is_host() {
            target.to_string()
        } else {
            self.join(target).display().to_string()
        }
    }

    /// Follows symbolic links inside the root. A missing final component is fine (a file we are
    /// about to create); a missing directory in the middle is not an error either: the caller
    /// finds out when it reads.
    pub fn resolve(&self, target: &str) -> io::Result<Resolved> {
        let mut via = Vec::new();
        let mut pending: Vec<String> = components(&normalize(target));
        pending.reverse();
        let mut done: Vec<String> = Vec::new();
        let mut hops = 0;
        while let Some(part) = pending.pop() {
            if part == ".." {
                done.pop();
                continue;
            }
            done.push(part);
            let cur = format!("/{}", done.join("/"));
            let real = self.join(&cur);
            match fs::symlink_metadata(&real) {
                Ok(m) if m.file_type().is_symlink() => {
                    hops += 1;
                    if hops > MAX_LINKS {
                        return Err(io::Error::other(format!(
                            "{}: too many levels of symbolic links",
                            self.display(target)
                        )));
                    }
                    via.push(cur.clone());
                    let link = fs::read_link(&real)?;
                    let link = link.to_string_lossy().to_string();
                    done.pop();
                    if link.starts_with('/') {
                        done.clear();
                    }
                    let mut more = components(&link);
                    more.reverse();
                    pending.extend(more);
                }
                _ => {}
            }
        }
        let target = format!("/{}", done.join("/"));
        Ok(Resolved {
            real: self.join(&target),
            target,
            via_links: via,
        })
    }

    /// The symbolic link at the file itself, once the links of its parent directories are
    /// followed (`/etc/mail -> /srv/mail` is a parent link; `sendmail.cf -> ...` at the end is
    /// the file's own): `Some((where the link is, what it points to))`, both as the served
    /// system sees them (the link's text as it is written).
    pub fn file_link(&self, target: &str) -> io::Result<Option<(String, String)>> {
        let norm = normalize(target);
        let p = Path::new(&norm);
        let (Some(parent), Some(name)) = (p.parent(), p.file_name()) else {
            return Ok(None);
        };
        let parent = self.resolve(&parent.display().to_string())?;
        let at = format!(
            "{}/{}",
            parent.target.trim_end_matches('/'),
            name.to_string_lossy()
        );
        let real = self.join(&at);
        match fs::symlink_metadata(&real) {
            Ok(m) if m.file_type().is_symlink() => {
                let to = fs::read_link(&real)?;
                Ok(Some((at, to.to_string_lossy().to_string())))
            }
            _ => Ok(None),
        }
    }

    /// Reads a served-system file (following links inside the root). `Ok(None)` when it does
    /// not exist.
    pub fn read(&self, target: &str) -> io::Result<Option<Vec<u8>>> {
        let r = self.resolve(target)?;
        match super::fsops::read_capped(&r.real, MAX_CONFIG) {
            Ok(b) => Ok(Some(b)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(io::Error::new(
                e.kind(),
                format!("cannot read {}: {e}", self.display(target)),
            )),
        }
    }

    /// The link standing at `target`'s own name (its directories resolved inside the root),
    /// with what it points to, when that leads nowhere: a file about to be created there would
    /// be created wherever the link's maker chose.
    pub fn dangling_link(&self, target: &str) -> Option<(String, String)> {
        let norm = normalize(target);
        let (parent, name) = norm.rsplit_once('/')?;
        let dir = self
            .resolve(if parent.is_empty() { "/" } else { parent })
            .ok()?;
        let at = format!("{}/{name}", dir.target.trim_end_matches('/'));
        let real = self.join(&at);
        let md = fs::symlink_metadata(&real).ok()?;
        if !md.file_type().is_symlink() || self.resolve(&at).ok()?.real.exists() {
            return None;
        }
        let to = fs::read_link(&real).ok()?.display().to_string();
        Some((at, to))
    }

    pub fn exists(&self, target: &str) -> bool {
        self.resolve(target)
            .map(|r| r.real.exists())
            .unwrap_or(false)
    }
}

fn components(p: &str) -> Vec<String> {
    Path::new(p)
        .components()
        .filter_map(|c| match c {
            Component::Normal(s) => Some(s.to_string_lossy().to_string()),
            Component::ParentDir => Some("..".to_string()),
            _ => None,
        })
        .collect()
}

/// Makes a served-system path absolute and drops `.`/`..` lexically (`..` never climbs above `/`).
pub fn normalize(p: &str) -> String {
    let mut out: Vec<String> = Vec::new();
    for c in components(p) {
        if c == ".." {
            out.pop();
        } else {
            out.push(c);
        }
    }
    format!("/{}", out.join("/"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    #[test]
    fn links_are_followed_inside_the_root() {
        let t = tempfile::tempdir().unwrap();
        let root = Root::new(t.path()).unwrap();
        fs::create_dir_all(root.join("/etc/pam.d")).unwrap();
        fs::create_dir_all(root.join("/etc/alternatives")).unwrap();
        fs::write(root.join("/etc/pam.d/smtp.sendmail"), "x").unwrap();
        symlink(
            "/etc/pam.d/smtp.sendmail",
            root.join("/etc/alternatives/mta-pam"),
        )
        .unwrap();
        symlink("/etc/alternatives/mta-pam", root.join("/etc/pam.d/smtp")).unwrap();
        let r = root.resolve("/etc/pam.d/smtp").unwrap();
        assert_eq!(r.target, "/etc/pam.d/smtp.sendmail");
        assert_eq!(
            r.via_links,
            vec!["/etc/pam.d/smtp", "/etc/alternatives/mta-pam"]
        );
        assert_eq!(root.read("/etc/pam.d/smtp").unwrap().unwrap(), b"x");
    }

    #[test]
    fn dotdot_and_relative_links_never_escape() {
        let t = tempfile::tempdir().unwrap();
        let root = Root::new(t.path()).unwrap();
        fs::create_dir_all(root.join("/etc/mail")).unwrap();
        symlink("../../../../../etc/passwd", root.join("/etc/mail/evil")).unwrap();
        let r = root.resolve("/etc/mail/evil").unwrap();
        assert_eq!(r.target, "/etc/passwd");
        assert!(r.real.starts_with(root.dir()));
        assert_eq!(normalize("/../../etc//mail/./x"), "/etc/mail/x");
    }

    #[test]
    fn a_link_at_the_file_is_told_apart_from_parent_links() {
        let t = tempfile::tempdir().unwrap();
        let root = Root::new(t.path()).unwrap();
        fs::create_dir_all(root.join("/srv/mail")).unwrap();
        fs::create_dir_all(root.join("/etc")).unwrap();
        symlink("/srv/mail", root.join("/etc/mail")).unwrap();
        fs::write(root.join("/srv/mail/sendmail.mc"), "x").unwrap();
        symlink("sendmail.mc", root.join("/srv/mail/sendmail.cf")).unwrap();
        assert_eq!(root.file_link("/etc/mail/sendmail.mc").unwrap(), None);
        assert_eq!(root.file_link("/etc/mail/absent").unwrap(), None);
        assert_eq!(
            root.file_link("/etc/mail/sendmail.cf").unwrap(),
            Some(("/srv/mail/sendmail.cf".into(), "sendmail.mc".into()))
        );
        assert_eq!(
            root.file_link("/etc/mail").unwrap(),
            Some(("/etc/mail".into(), "/srv/mail".into()))
        );
        assert_eq!(root.file_link("/").unwrap(), None);
    }

    #[test]
    fn link_loops_are_reported() {
        let t = tempfile::tempdir().unwrap();
        let root = Root::new(t.path()).unwrap();
        symlink("/b", root.join("/a")).unwrap();
        symlink("/a", root.join("/b")).unwrap();
        let e = root.resolve("/a").unwrap_err();
        assert!(e.to_string().contains("too many levels"), "{e}");
    }
}
