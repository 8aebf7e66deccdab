//! Hostile environments, each on a private copy of a fixture root: a full disk, read-only file
//! systems, an immutable file, unreadable and unwritable files for an unprivileged user, a
//! missing m4, a missing cf tree, a sendmail.cf that is a link, a `.bak` that differs, CRLF and
//! broken quoting, planted temporary-file links, modes, and broken journals and profiles.
//!
//! Every test asserts a specific message and that nothing changed that should not have: the
//! tree is compared byte for byte (content, mode, owner, mtime) before and after. Tests that
//! need root (mount namespaces, another user, chattr) print `SKIPPED: <reason>` without it,
//! and fail instead when SMTPAUTH_WIZARD_REQUIRE_TOOLS is set (as .ci/test sets it as root).
//!
//! Mounts happen only inside a private mount namespace held open by a `sleep` process
//! ([`Ns`]): the test reaches its files through `/proc/PID/root` and runs the wizard in it with
//! `nsenter`, so nothing is ever mounted on the host, even if a test dies half-way.

mod common;
use common::*;
use smtpauth_wizard::engine::journal::parse_journal;
use std::collections::BTreeMap;
use std::fs;
use std::io::{BufRead, BufReader, Write};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

const NOBODY: u32 = 65534;

/// Skips the calling test with a printed reason, or fails it where CI requires everything
/// (common::skip decides).
macro_rules! skip {
    ($($t:tt)*) => {{
        common::skip(format!($($t)*));
        return;
    }};
}

/// Root is needed for mount namespaces, another user and chattr, and by every apply on a
/// fixture copy: the profiles give the files the wizard creates to root (owner 0:0).
macro_rules! need_root {
    () => {
        if nix::unistd::geteuid().as_raw() != 0 {
            skip!("needs root (apply gives new files to root; namespaces, setpriv, chattr)");
        }
    };
}

/// A private mount namespace, kept alive by a `sleep` that `Drop` kills.
struct Ns {
    child: Child,
}

impl Ns {
    /// Runs `setup` (sh) in a new mount namespace (propagation private: nothing reaches the
    /// host) and keeps the namespace open. `Err` carries the setup's stderr.
    fn start(setup: &str) -> Result<Ns, String> {
        let script = format!("{setup}\necho ready\nexec sleep 900\n");
        let mut child = Command::new("unshare")
            .args(["--mount", "--propagation", "private", "sh", "-ec", &script])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("cannot run unshare: {e}"))?;
        let mut line = String::new();
        let _ = BufReader::new(child.stdout.take().unwrap()).read_line(&mut line);
        if line.trim() != "ready" {
            let _ = child.kill();
            let out = child.wait_with_output().unwrap();
            return Err(format!(
                "namespace setup failed: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            ));
        }
        Ok(Ns { child })
    }

    /// Where a path of the namespace is seen from here.
    fn path(&self, p: &Path) -> PathBuf {
        Path::new(&format!("/proc/{}/root", self.child.id())).join(p.strip_prefix("/").unwrap())
    }

    fn command(&self, program: &Path) -> Command {
        let mut c = Command::new("nsenter");
        c.arg("-t")
            .arg(self.child.id().to_string())
            .args(["-m", "--"])
            .arg(program)
            .env("NO_COLOR", "1")
            .stdin(Stdio::null());
        c
    }

    /// The wizard inside the namespace.
    fn run_root(&self, root: &Path, args: &[&str]) -> Output {
        self.command(&bin())
            .args(args)
            .arg("--root")
            .arg(root)
            .output()
            .unwrap()
    }
}

impl Drop for Ns {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Every file under `dir` whose name starts like the wizard's temporary files.
fn strays(dir: &Path) -> Vec<PathBuf> {
    let mut v = vec![];
    for e in fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = e.path();
        let ft = e.file_type().unwrap();
        if e.file_name()
            .to_string_lossy()
            .starts_with(".smtpauth-wizard.")
        {
            v.push(p.clone());
        }
        if ft.is_dir() && !ft.is_symlink() {
            v.extend(strays(&p));
        }
    }
    v
}

/// The file entries of a snapshot, content only, sendmail.cf by its significant lines.
fn contents(s: &BTreeMap<String, Entry>) -> BTreeMap<String, Vec<u8>> {
    s.iter()
        .filter_map(|(k, v)| match v {
            Entry::File { content, .. } if k.ends_with("sendmail.cf") => {
                Some((k.clone(), cf_significant(content).join("\n").into_bytes()))
            }
            // The tls step's self-signed certificate and key are new on every run: compared
            // by their PEM lines' shape (a half-written file lacks its END line).
            Entry::File { content, .. } if k.contains("smtpauth-wizard.") => Some((
                k.clone(),
                String::from_utf8_lossy(content)
                    .lines()
                    .map(|l| if l.starts_with("-----") { l } else { "base64" })
                    .collect::<Vec<_>>()
                    .join("\n")
                    .into_bytes(),
            )),
            Entry::File { content, .. } => Some((k.clone(), content.clone())),
            _ => None,
        })
        .collect()
}

fn journal_file(root: &Path) -> PathBuf {
    root.join("var/lib/smtpauth-wizard/journal.yaml")
}

fn mode(p: &Path) -> u32 {
    fs::symlink_metadata(p).unwrap().permissions().mode() & 0o7777
}

fn chown_tree(p: &Path, uid: u32) {
    let st = Command::new("chown")
        .args(["-R", "-h", &format!("{uid}:{uid}")])
        .arg(p)
        .status()
        .unwrap();
    assert!(st.success());
}

/// The wizard as user nobody (setpriv), on a tree that nobody owns.
fn run_as_nobody(root: &Path, args: &[&str]) -> Output {
    Command::new("setpriv")
        .args([
            &format!("--reuid={NOBODY}"),
            &format!("--regid={NOBODY}"),
            "--clear-groups",
        ])
        .arg(bin())
        .args(args)
        .arg("--root")
        .arg(root)
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

fn mount_tmpfs_with(fixture_root: &Path, mnt: &Path, size: &str) -> Result<Ns, String> {
    Ns::start(&format!(
        "mount -t tmpfs -o size={size},mode=0755 smtpauth-test {m}\nmkdir {m}/root\ncp -a {src}/. {m}/root/",
        m = mnt.display(),
        src = fixture_root.display()
    ))
}

/// Every content each file has along an uninterrupted apply, step by step (`--only STEP` in
/// order on a reference copy): the states a file may be found in after a failure.
fn legit_states(name: &str) -> BTreeMap<String, Vec<Vec<u8>>> {
    let t = fixture(name);
    let mut states: BTreeMap<String, Vec<Vec<u8>>> = BTreeMap::new();
    let mut add = |s: &BTreeMap<String, Entry>| {
        for (k, v) in contents(s) {
            let e = states.entry(k).or_default();
            if !e.contains(&v) {
                e.push(v);
            }
        }
    };
    add(&snapshot(t.path()));
    let o = run_root(t.path(), &["check", "--format", "json"]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    for s in v["steps"].as_array().unwrap() {
        let id = s["id"].as_str().unwrap();
        let o = run_root(t.path(), &["apply", "--yes", "--only", id]);
        assert_eq!(o.status.code(), Some(0), "{name} --only {id}: {}", text(&o));
        add(&snapshot(t.path()));
    }
    states
}

/// The disk fills up at every stage of `apply`. The tree lives on a small tmpfs in a private
/// mount namespace; a filler file takes all of its space but `free` bytes, for growing `free`,
/// until apply goes through. After each failure: the message names the file and says "No space
/// left", no temporary file is left, and every file holds bytes it has at some point of an
/// uninterrupted apply (the original, or what a step wrote whole), never a mix. Then the filler
/// is removed and `rollback --yes` must give back the original tree exactly.
#[test]
fn a_full_disk_fails_cleanly_at_every_write_and_rollback_restores_everything() {
    need_tools!();
    need_root!();
    for name in ["debian12", "redhat9"] {
        let legit = legit_states(name);

        let src = fixture(name);
        let base = tempfile::tempdir().unwrap();
        let mnt = base.path().join("mnt");
        fs::create_dir(&mnt).unwrap();
        let ns = match mount_tmpfs_with(src.path(), &mnt, "4m") {
            Ok(ns) => ns,
            Err(e) => skip!("{e}"),
        };
        let root = mnt.join("root");
        let seen = ns.path(&root);
        let before = snapshot(&seen);
        let filler = ns.path(&mnt.join("filler"));
        let mut failures: Vec<String> = vec![];
        let mut succeeded_at = None;
        for free_kib in [
            0u64, 4, 8, 12, 16, 24, 32, 48, 64, 80, 96, 112, 128, 144, 160, 192, 224, 256, 320,
            384, 512, 1024, 2048,
        ] {
            // Fill the file system, then give back `free_kib`.
            let mut f = fs::File::create(&filler).unwrap();
            let chunk = vec![0u8; 64 * 1024];
            let mut written = 0u64;
            loop {
                match f.write(&chunk) {
                    Ok(0) => break,
                    Ok(n) => written += n as u64,
                    Err(e) if e.raw_os_error() == Some(libc::ENOSPC) => break,
                    Err(e) => panic!("filler: {e}"),
                }
            }
            f.set_len(written.saturating_sub(free_kib * 1024)).unwrap();
            f.sync_all().unwrap();
            drop(f);

            let o = ns.run_root(&root, &["apply", "--yes"]);
            let out = text(&o);
            assert!(
                !out.contains("panicked"),
                "{name} free {free_kib} KiB: {out}"
            );
            let stray = strays(&seen);
            assert!(
                stray.is_empty(),
                "{name} free {free_kib} KiB: temporary files left: {stray:?}\n{out}"
            );
            let now = contents(&snapshot(&seen));
            // Berkeley DB files (makemap's access.db) carry no stable bytes.
            for (k, v) in now.iter().filter(|(k, _)| !k.ends_with(".db")) {
                assert!(
                    legit.get(k).is_some_and(|l| l.contains(v)),
                    "{name} free {free_kib} KiB: {k} holds bytes no step writes (half-written?)\n{out}"
                );
            }
            if o.status.code() == Some(0) {
                succeeded_at = Some(free_kib);
            } else {
                assert_eq!(o.status.code(), Some(1), "{name}: {out}");
                assert!(
                    out.contains("No space left on device")
                        && out.contains("the file system is full; nothing was half-written")
                        && !out.contains(".smtpauth-wizard."),
                    "{name} free {free_kib} KiB: not the full-disk message: {out}"
                );
                let named = out
                    .lines()
                    .find(|l| l.starts_with("smtpauth-wizard: "))
                    .unwrap_or_else(|| panic!("{name} free {free_kib} KiB: no error line: {out}"))
                    .split_whitespace()
                    .find(|w| w.starts_with(root.to_str().unwrap()))
                    .map(|w| w.trim_end_matches(':').to_string());
                let named = named.unwrap_or_else(|| {
                    panic!("{name} free {free_kib} KiB: the message names no file: {out}")
                });
                failures.push(format!("{free_kib} KiB free: {named}"));
            }
            fs::remove_file(&filler).unwrap();
            let r = ns.run_root(&root, &["rollback", "--yes"]);
            assert_eq!(
                r.status.code(),
                Some(0),
                "{name} free {free_kib} KiB: rollback after freeing space: {}",
                text(&r)
            );
            let d = diff_snapshots(&before, &snapshot(&seen));
            assert!(
                d.is_empty(),
                "{name} free {free_kib} KiB: rollback is not the identity: {d:#?}"
            );
            if succeeded_at.is_some() {
                break;
            }
        }
        println!(
            "{name}: apply on a full disk failed {} times:",
            failures.len()
        );
        for f in &failures {
            println!("  {f}");
        }
        let ok = succeeded_at.unwrap_or_else(|| panic!("{name}: apply never succeeded"));
        println!("{name}: apply succeeded with {ok} KiB free; every rollback was the identity");
        // The journal, a backup, a saved original, sendmail.cf itself at least.
        let mut files: Vec<&str> = failures
            .iter()
            .filter_map(|f| f.rsplit('/').next())
            .collect();
        files.sort();
        files.dedup();
        assert!(
            files.len() >= 4,
            "{name}: too few distinct failure points: {files:?}"
        );
    }
}

/// The whole tree on a read-only mount: apply stops at its first write (the journal's
/// directory) with the file system's own words, and nothing changes. plan still works.
#[test]
fn a_read_only_root_is_refused_at_the_first_write() {
    need_tools!();
    need_root!();
    let src = fixture("debian12");
    let base = tempfile::tempdir().unwrap();
    let mnt = base.path().join("mnt");
    fs::create_dir(&mnt).unwrap();
    let ns = match Ns::start(&format!(
        "mount -t tmpfs -o size=4m tmpfs {m}\nmkdir {m}/root\ncp -a {src}/. {m}/root/\nmount -o remount,ro {m}",
        m = mnt.display(),
        src = src.path().display()
    )) {
        Ok(ns) => ns,
        Err(e) => skip!("{e}"),
    };
    let root = mnt.join("root");
    let before = snapshot(&ns.path(&root));
    let o = ns.run_root(&root, &["plan"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let o = ns.run_root(&root, &["apply", "--yes"]);
    let out = text(&o);
    assert_eq!(o.status.code(), Some(1), "{out}");
    assert!(
        out.contains(&format!(
            "cannot create directory {}",
            root.join("var/lib/smtpauth-wizard").display()
        )) && out.contains("Read-only file system"),
        "{out}"
    );
    assert!(diff_snapshots(&before, &snapshot(&ns.path(&root))).is_empty());
}

/// Only /etc/mail is read-only (the journal's /var is writable): apply stops at the first file
/// it writes there, naming it, undoes its step, and leaves every file as it was.
#[test]
fn a_read_only_etc_mail_is_refused_naming_the_file() {
    need_tools!();
    need_root!();
    let t = fixture("debian12");
    let mail = t.path().join("etc/mail");
    let ns = match Ns::start(&format!(
        "mount --bind {d} {d}\nmount -o remount,bind,ro {d}",
        d = mail.display()
    )) {
        Ok(ns) => ns,
        Err(e) => skip!("{e}"),
    };
    let before = snapshot(t.path());
    let o = ns.run_root(t.path(), &["apply", "--yes"]);
    let out = text(&o);
    assert_eq!(o.status.code(), Some(1), "{out}");
    assert!(
        out.contains(&format!(
            "cannot create a temporary file for {}",
            mail.join("sendmail.mc.bak").display()
        )) && out
            .contains("Read-only file system (os error 30) (the file system is mounted read-only)"),
        "{out}"
    );
    assert!(diff_snapshots(&before, &snapshot(t.path())).is_empty());
    assert!(strays(t.path()).is_empty());
    let o = ns.run_root(t.path(), &["rollback", "--yes"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(text(&o).contains("nothing to roll back"), "{}", text(&o));
}

/// Removes the immutable flag again, whatever happens to the test.
struct Mutable(PathBuf);
impl Drop for Mutable {
    fn drop(&mut self) {
        let _ = Command::new("chattr").arg("-i").arg(&self.0).status();
    }
}

/// A sendmail.mc that even root cannot replace. Root ignores modes, so `chmod 0444` stops
/// nothing (and an atomic rename needs only the directory to be writable); the immutable flag
/// (chattr +i) does stop root. apply stops at the rename, naming the file, and sendmail.mc keeps
/// its bytes. The backups made by the step before it stay (they are journaled); rollback
/// removes them and the tree is as it was.
#[test]
fn an_immutable_sendmail_mc_is_refused_naming_it() {
    need_tools!();
    need_root!();
    let t = fixture("debian12");
    let mc = t.path().join("etc/mail/sendmail.mc");
    let before = snapshot(t.path());
    let st = Command::new("chattr")
        .arg("+i")
        .arg(&mc)
        .stderr(Stdio::piped())
        .output();
    match st {
        Ok(o) if o.status.success() => {}
        Ok(o) => skip!(
            "chattr +i is not supported here: {}",
            String::from_utf8_lossy(&o.stderr).trim()
        ),
        Err(e) => skip!("chattr unavailable: {e}"),
    }
    let guard = Mutable(mc.clone());
    let o = run_root(t.path(), &["apply", "--yes"]);
    let out = text(&o);
    assert_eq!(o.status.code(), Some(1), "{out}");
    assert!(
        out.contains(&format!(
            "cannot rename the new file into {}: Operation not permitted",
            mc.display()
        )),
        "{out}"
    );
    assert!(strays(t.path()).is_empty(), "{:?}", strays(t.path()));
    let d = diff_snapshots(&before, &snapshot(t.path()));
    assert_eq!(
        d,
        vec![
            "etc/mail/sendmail.cf.bak: new afterwards",
            "etc/mail/sendmail.mc.bak: new afterwards"
        ],
        "only the journaled backups may be new"
    );
    let o = run_root(t.path(), &["rollback", "--yes"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    drop(guard);
    assert!(diff_snapshots(&before, &snapshot(t.path())).is_empty());
}

/// As an unprivileged user on a tree it owns: an unreadable sendmail.mc is named with the
/// system's own words, and apply refuses before changing anything.
#[test]
fn an_unreadable_sendmail_mc_is_refused_before_anything_changes() {
    need_tools!();
    need_root!();
    let t = fixture("debian12");
    let mc = t.path().join("etc/mail/sendmail.mc");
    chown_tree(t.path(), NOBODY);
    fs::set_permissions(&mc, fs::Permissions::from_mode(0o000)).unwrap();
    let before = snapshot(t.path());
    let o = run_as_nobody(t.path(), &["check"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let o = run_as_nobody(t.path(), &["apply", "--yes"]);
    let out = text(&o);
    assert_eq!(o.status.code(), Some(1), "{out}");
    assert!(
        out.contains(&format!("cannot read {}: Permission denied", mc.display()))
            && out.contains("Nothing was changed"),
        "{out}"
    );
    assert!(diff_snapshots(&before, &snapshot(t.path())).is_empty());
}

/// As an unprivileged user, a directory it cannot write: the first file to be created there is
/// named. (A sendmail.mc of mode 0444 in a writable directory is no obstacle to anyone: the
/// atomic rename needs only the directory; its mode is kept, see
/// `modes_are_kept_and_the_journal_is_private`.)
#[test]
fn an_unwritable_etc_mail_is_refused_naming_the_file() {
    need_tools!();
    need_root!();
    let t = fixture("debian12");
    let mail = t.path().join("etc/mail");
    chown_tree(t.path(), NOBODY);
    fs::set_permissions(&mail, fs::Permissions::from_mode(0o555)).unwrap();
    let before = snapshot(t.path());
    let o = run_as_nobody(t.path(), &["apply", "--yes"]);
    let out = text(&o);
    assert_eq!(o.status.code(), Some(1), "{out}");
    assert!(
        out.contains(&format!(
            "cannot create a temporary file for {}",
            mail.join("sendmail.mc.bak").display()
        )) && out.contains("Permission denied"),
        "{out}"
    );
    assert!(diff_snapshots(&before, &snapshot(t.path())).is_empty());
    let o = run_as_nobody(t.path(), &["rollback", "--yes"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(diff_snapshots(&before, &snapshot(t.path())).is_empty());
    fs::set_permissions(&mail, fs::Permissions::from_mode(0o755)).unwrap();
}

/// m4 is hidden from the whole namespace: an overlay over /usr/bin with a whiteout for m4, so
/// it is truly absent (PATH or not), as on a server without the m4 package. The wizard finds
/// m4 with `which` and then in /usr/sbin, /sbin, /usr/bin and /bin (host::find_tool), so no
/// environment variable could hide it short of this.
#[test]
fn a_missing_m4_is_named_and_nothing_changes() {
    need_tools!();
    need_root!();
    let t = fixture("debian12");
    let ov = tempfile::tempdir().unwrap();
    let ns = match Ns::start(&format!(
        "mkdir {o}/up {o}/work\nmknod {o}/up/m4 c 0 0\nmount -t overlay overlay -o lowerdir=/usr/bin,upperdir={o}/up,workdir={o}/work /usr/bin\nif test -e /usr/bin/m4; then echo 'm4 still visible' >&2; exit 1; fi",
        o = ov.path().display()
    )) {
        Ok(ns) => ns,
        Err(e) => skip!("cannot hide m4 with an overlay: {e}"),
    };
    let before = snapshot(t.path());
    let o = ns.run_root(t.path(), &["plan"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let o = ns.run_root(t.path(), &["apply", "--yes"]);
    let out = text(&o);
    assert_eq!(o.status.code(), Some(1), "{out}");
    assert!(
        out.contains("step sendmail-cf is error: m4 is not installed")
            && out.contains("install the m4 package")
            && out.contains("Nothing was changed"),
        "{out}"
    );
    assert!(diff_snapshots(&before, &snapshot(t.path())).is_empty());
}

/// No cf tree: m4's own complaint, where the tree should be, and what to install; refused
/// before the first write (sendmail.mc is not edited when sendmail.cf cannot follow).
#[test]
fn a_missing_cf_tree_is_named_and_nothing_changes() {
    need_tools!();
    need_root!();
    for (name, cf) in [
        ("debian12", "usr/share/sendmail"),
        ("redhat9", "usr/share/sendmail-cf"),
    ] {
        let t = fixture(name);
        fs::remove_dir_all(t.path().join(cf)).unwrap();
        let before = snapshot(t.path());
        let o = run_root(t.path(), &["apply", "--yes"]);
        let out = text(&o);
        assert_eq!(o.status.code(), Some(1), "{name}: {out}");
        assert!(
            out.contains("step sendmail-cf is error: m4 could not build sendmail.cf")
                && out.contains(&format!("cannot open `{}", t.path().join(cf).display()))
                && out.contains("install sendmail-cf")
                && out.contains("Nothing was changed"),
            "{name}: {out}"
        );
        assert!(
            diff_snapshots(&before, &snapshot(t.path())).is_empty(),
            "{name}"
        );
    }
}

/// sendmail.cf is a link: refused naming it and its target, in plan (exit 1) and apply, before
/// anything is written (the mc is not edited either).
#[test]
fn a_sendmail_cf_that_is_a_symlink_is_refused_naming_it() {
    need_tools!();
    need_root!();
    let t = fixture("debian12");
    let cf = t.path().join("etc/mail/sendmail.cf");
    fs::rename(&cf, t.path().join("etc/mail/sendmail.cf.real")).unwrap();
    std::os::unix::fs::symlink("sendmail.cf.real", &cf).unwrap();
    let before = snapshot(t.path());
    let want = format!(
        "{} is a symbolic link to /etc/mail/sendmail.cf.real; the wizard does not write sendmail.cf through a link",
        cf.display()
    );
    let o = run_root(t.path(), &["plan"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(text(&o).contains(&want), "{}", text(&o));
    let o = run_root(t.path(), &["apply", "--yes"]);
    let out = text(&o);
    assert_eq!(o.status.code(), Some(1), "{out}");
    assert!(
        out.contains(&format!("step sendmail-cf is error: {want}"))
            && out.contains("Nothing was changed"),
        "{out}"
    );
    assert!(diff_snapshots(&before, &snapshot(t.path())).is_empty());
}

/// A sendmail.mc.bak from an earlier hand edit that differs: kept as it is (check warns),
/// apply still works, and rollback leaves it exactly as it was found.
#[test]
fn an_existing_bak_that_differs_is_kept_and_warned_about() {
    need_tools!();
    need_root!();
    let t = fixture("debian12");
    let bak = t.path().join("etc/mail/sendmail.mc.bak");
    fs::write(&bak, "dnl an older sendmail.mc kept by the admin\n").unwrap();
    fs::set_permissions(&bak, fs::Permissions::from_mode(0o600)).unwrap();
    let before = snapshot(t.path());
    let o = run_root(t.path(), &["check"]);
    assert!(
        text(&o).contains(&format!(
            "{} already exists and differs from {}; it is kept as it is",
            bak.display(),
            t.path().join("etc/mail/sendmail.mc").display()
        )),
        "{}",
        text(&o)
    );
    let o = run_root(t.path(), &["apply", "--yes"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let after = snapshot(t.path());
    assert_eq!(
        after.get("etc/mail/sendmail.mc.bak"),
        before.get("etc/mail/sendmail.mc.bak"),
        "apply touched the existing .bak"
    );
    assert!(after.contains_key("etc/mail/sendmail.cf.bak"));
    let o = run_root(t.path(), &["rollback", "--yes"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let d = diff_snapshots(&before, &snapshot(t.path()));
    assert!(d.is_empty(), "{d:#?}");
}

/// A sendmail.mc with CRLF line endings stays CRLF on every line after apply.
#[test]
fn a_crlf_sendmail_mc_stays_crlf() {
    need_tools!();
    need_root!();
    let t = fixture("debian12");
    let mc = t.path().join("etc/mail/sendmail.mc");
    let lf = fs::read_to_string(&mc).unwrap();
    fs::write(&mc, lf.replace('\n', "\r\n")).unwrap();
    let before = snapshot(t.path());
    let o = run_root(t.path(), &["apply", "--yes"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let new = fs::read_to_string(&mc).unwrap();
    assert_ne!(new, lf.replace('\n', "\r\n"), "nothing was edited");
    assert!(new.contains("define(`confAUTH_MECHANISMS', `LOGIN PLAIN')dnl\r\n"));
    let bare_lf = new
        .split_inclusive('\n')
        .filter(|l| !l.ends_with("\r\n"))
        .count();
    assert_eq!(bare_lf, 0, "lines without CR after apply:\n{new}");
    let o = run_root(t.path(), &["rollback", "--yes"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(diff_snapshots(&before, &snapshot(t.path())).is_empty());
}

/// An unclosed quote: refused naming the line number and the line, nothing written.
#[test]
fn unbalanced_quotes_are_refused_naming_the_line() {
    need_tools!();
    need_root!();
    let t = fixture("debian12");
    let mc = t.path().join("etc/mail/sendmail.mc");
    let s = fs::read_to_string(&mc).unwrap().replace(
        "MAILER_DEFINITIONS\n",
        "define(`confX', `unclosed)dnl\nMAILER_DEFINITIONS\n",
    );
    let line = s
        .lines()
        .position(|l| l.starts_with("define(`confX'"))
        .unwrap()
        + 1;
    fs::write(&mc, &s).unwrap();
    let before = snapshot(t.path());
    let o = run_root(t.path(), &["apply", "--yes"]);
    let out = text(&o);
    assert_eq!(o.status.code(), Some(1), "{out}");
    assert!(
        out.contains(&format!(
            "step sendmail-mc is error: {}: line {line}: the ` quote opened on this line is never closed",
            mc.display()
        )) && out.contains("(the line reads: define(`confX', `unclosed)dnl)")
            && out.contains("Nothing was changed"),
        "{out}"
    );
    assert!(diff_snapshots(&before, &snapshot(t.path())).is_empty());
}

/// Temporary files are created with O_EXCL under a random name in the target's own directory
/// (fsops::replace_file, tempfile's `tempfile_in`), never in $TMPDIR. Two consequences tested
/// here: (1) with TMPDIR pointing at a trap directory, apply and rollback work and the trap
/// stays empty; (2) links planted under temporary-looking names in every directory the wizard
/// writes to, pointing at files outside the root, are never followed: their targets keep their
/// bytes, the links stay, and the wizard's files are right. (An O_EXCL create fails on an
/// existing name, link or not, so a planted name can at worst make a create fail, never
/// redirect it; that no random name collided here is chance, the O_EXCL is the guarantee.)
#[test]
fn planted_links_and_tmpdir_never_redirect_a_write() {
    need_tools!();
    need_root!();
    let t = fixture("redhat9");
    let outside = tempfile::tempdir().unwrap();
    let victim = outside.path().join("victim");
    fs::write(&victim, "must not change\n").unwrap();
    let trap = outside.path().join("tmpdir-trap");
    fs::create_dir(&trap).unwrap();
    let dirs = [
        "etc/mail",
        "etc",
        "usr/lib/sasl",
        "var/lib/smtpauth-wizard",
        "var/lib/smtpauth-wizard/saved",
    ];
    let names = [
        "sendmail.mc",
        "sendmail.cf",
        "sendmail.mc.bak",
        "sendmail.cf.bak",
        "access",
        "access.db",
        "Sendmail.conf",
        "journal.yaml",
    ];
    for d in dirs {
        fs::create_dir_all(t.path().join(d)).unwrap();
    }
    let before = snapshot(t.path());
    let mut planted = vec![];
    for d in dirs {
        for n in names {
            for suffix in ["XXXXXX", "000000", "aaaaaa", "tmp", "1"] {
                let p = t
                    .path()
                    .join(d)
                    .join(format!(".smtpauth-wizard.{n}.{suffix}"));
                std::os::unix::fs::symlink(&victim, &p).unwrap();
                planted.push(p);
            }
        }
    }
    let o = Command::new(bin())
        .args(["apply", "--yes", "--root"])
        .arg(t.path())
        .env("NO_COLOR", "1")
        .env("TMPDIR", &trap)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert_eq!(fs::read_to_string(&victim).unwrap(), "must not change\n");
    let check_links = |when: &str| {
        for p in &planted {
            // Opening the journal sweeps `.smtpauth-wizard.*` leftovers of a crash: a planted
            // link may be removed (which leaves its target alone), never replaced or followed.
            if let Ok(m) = fs::symlink_metadata(p) {
                assert!(
                    m.file_type().is_symlink() && fs::read_link(p).unwrap() == victim,
                    "{when}: {} was replaced",
                    p.display()
                );
            }
        }
    };
    check_links("after apply");
    assert_eq!(
        fs::read_dir(&trap).unwrap().count(),
        0,
        "something used TMPDIR"
    );
    let o = Command::new(bin())
        .args(["rollback", "--yes", "--root"])
        .arg(t.path())
        .env("TMPDIR", &trap)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert_eq!(fs::read_to_string(&victim).unwrap(), "must not change\n");
    check_links("after rollback");
    for p in &planted {
        let _ = fs::remove_file(p);
    }
    let d = diff_snapshots(&before, &snapshot(t.path()));
    assert!(d.is_empty(), "{d:#?}");
}

/// The journal is private (0600 in a 0700 directory, saved originals 0600 in 0700 directories,
/// owned by the user who ran it); backups keep the original's mode and owner; replaced files
/// keep theirs (a 0444 sendmail.cf stays 0444); rollback puts every mode back.
#[test]
fn modes_are_kept_and_the_journal_is_private() {
    need_tools!();
    need_root!();
    let t = fixture("debian12");
    let mail = t.path().join("etc/mail");
    fs::set_permissions(mail.join("sendmail.mc"), fs::Permissions::from_mode(0o640)).unwrap();
    fs::set_permissions(mail.join("sendmail.cf"), fs::Permissions::from_mode(0o444)).unwrap();
    let before = snapshot(t.path());
    let o = run_root(t.path(), &["apply", "--yes"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert_eq!(mode(&mail.join("sendmail.mc.bak")), 0o640);
    assert_eq!(mode(&mail.join("sendmail.cf.bak")), 0o444);
    assert_eq!(mode(&mail.join("sendmail.mc")), 0o640);
    assert_eq!(mode(&mail.join("sendmail.cf")), 0o444);
    for f in ["sendmail.mc", "sendmail.cf"] {
        let (a, b) = (
            fs::metadata(mail.join(f)).unwrap(),
            fs::metadata(mail.join(format!("{f}.bak"))).unwrap(),
        );
        assert_eq!((a.uid(), a.gid()), (b.uid(), b.gid()), "{f}.bak owner");
    }
    let me = nix::unistd::geteuid().as_raw();
    let jdir = t.path().join("var/lib/smtpauth-wizard");
    assert_eq!(mode(&jdir), 0o700);
    assert_eq!(mode(&journal_file(t.path())), 0o600);
    assert_eq!(fs::metadata(journal_file(t.path())).unwrap().uid(), me);
    let saved = jdir.join("saved");
    assert_eq!(mode(&saved), 0o700);
    let mut n = 0;
    for run in fs::read_dir(&saved).unwrap().flatten() {
        assert_eq!(mode(&run.path()), 0o700, "{}", run.path().display());
        for f in fs::read_dir(run.path()).unwrap().flatten() {
            assert_eq!(mode(&f.path()), 0o600, "{}", f.path().display());
            n += 1;
        }
    }
    assert!(n >= 2, "saved originals: {n}");
    let o = run_root(t.path(), &["rollback", "--yes"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(diff_snapshots(&before, &snapshot(t.path())).is_empty());
}

/// A real journal, after `apply --yes` on a fixture copy.
fn applied(name: &str) -> (tempfile::TempDir, BTreeMap<String, Entry>) {
    let t = fixture(name);
    let before = snapshot(t.path());
    let o = run_root(t.path(), &["apply", "--yes"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    (t, before)
}

/// What every unusable journal must produce: `status` exits 1 with the reason, the advice and
/// the .bak files; apply and rollback refuse and change nothing; `rollback --from-backups`
/// moves the journal aside and puts sendmail.mc and sendmail.cf back byte for byte, with their
/// modes and times.
fn unusable_journal_is_handled(
    t: &Path,
    before: &BTreeMap<String, Entry>,
    case: &str,
    reason: &str,
) {
    let jf = journal_file(t);
    let broken = fs::read(&jf).unwrap();
    let o = run_root(t, &["status"]);
    let out = text(&o);
    assert_eq!(o.status.code(), Some(1), "{case}: {out}");
    assert!(
        out.contains(reason),
        "{case}: status lacks {reason:?}: {out}"
    );
    assert!(
        out.contains("rollback --from-backups")
            && out.contains(&format!(
                "backup present: {}",
                t.join("etc/mail/sendmail.mc.bak").display()
            )),
        "{case}: {out}"
    );
    let o = run_root(t, &["status", "--format", "json"]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert!(v["error"].as_str().unwrap().contains(reason), "{case}");
    assert!(!v["backups"].as_array().unwrap().is_empty(), "{case}");
    let snap = snapshot(t);
    // (apply with a choice that makes the plan pending, so that it has to open the journal)
    for cmd in [
        &["rollback", "--yes"][..],
        &["apply", "--yes", "--mechanisms", "PLAIN"][..],
    ] {
        let o = run_root(t, cmd);
        assert_eq!(o.status.code(), Some(1), "{case} {cmd:?}: {}", text(&o));
        assert!(text(&o).contains(reason), "{case} {cmd:?}: {}", text(&o));
        assert!(
            diff_snapshots(&snap, &snapshot(t)).is_empty(),
            "{case} {cmd:?}"
        );
        assert_eq!(
            fs::read(&jf).unwrap(),
            broken,
            "{case}: {cmd:?} touched the journal"
        );
    }
    let o = run_root(t, &["rollback", "--from-backups", "--yes"]);
    let out = text(&o);
    assert_eq!(o.status.code(), Some(0), "{case}: {out}");
    assert!(
        out.contains("moved the unusable journal aside to"),
        "{case}: {out}"
    );
    let aside: Vec<_> = fs::read_dir(jf.parent().unwrap())
        .unwrap()
        .flatten()
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .starts_with("journal.yaml.unusable-")
        })
        .collect();
    assert_eq!(aside.len(), 1, "{case}");
    assert_eq!(fs::read(aside[0].path()).unwrap(), broken, "{case}");
    let now = snapshot(t);
    for f in ["etc/mail/sendmail.mc", "etc/mail/sendmail.cf"] {
        assert_eq!(
            now.get(f),
            before.get(f),
            "{case}: {f} not restored exactly"
        );
    }
    // The restore was journaled in a fresh journal: status reads it.
    let o = run_root(t, &["status"]);
    assert_eq!(o.status.code(), Some(0), "{case}: {}", text(&o));
    assert!(text(&o).contains("rollback --from-backups"), "{}", text(&o));
}

#[test]
fn a_corrupt_journal_is_refused_with_advice_and_backups_still_restore() {
    need_tools!();
    need_root!();
    let (t, before) = applied("debian12");
    let jf = journal_file(t.path());
    let mut j = fs::read(&jf).unwrap();
    // Bit rot in the middle: a NUL and a broken flow mapping.
    let mid = j.len() / 2;
    j.splice(mid..mid, b"\0}: [".iter().copied());
    fs::write(&jf, &j).unwrap();
    unusable_journal_is_handled(t.path(), &before, "corrupt", "cannot be read");
}

#[test]
fn a_journal_from_a_newer_version_is_refused_with_advice() {
    need_tools!();
    need_root!();
    let (t, before) = applied("debian12");
    let jf = journal_file(t.path());
    let j =
        fs::read_to_string(&jf)
            .unwrap()
            .replacen("version: 1\n", "version: 7\nfuture_key: 1\n", 1);
    fs::write(&jf, j).unwrap();
    unusable_journal_is_handled(
        t.path(),
        &before,
        "newer",
        "written by a newer smtpauth-wizard (journal version 7",
    );
}

/// Cut at several points (inside a key, inside a value, at a line end in the middle of a
/// record, just after `runs:`), the journal is refused, never half-read.
#[test]
fn a_truncated_journal_is_refused_with_advice_and_backups_still_restore() {
    need_tools!();
    need_root!();
    // Each case cuts its own journal: run ids and times make journals differ in length, so
    // offsets taken from another run could land on the last byte or past the end.
    let cuts: [fn(&str) -> usize; 6] = [
        |j| j.find("runs:").unwrap() + "runs:".len(),
        |j| j.find("  steps:").unwrap() + 4,
        |j| j.find("sha_after:").unwrap() + 20,
        |j| j.len() / 2,
        |j| j.len() - 7,
        // only the final newline gone
        |j| j.len() - 1,
    ];
    for (i, at) in cuts.into_iter().enumerate() {
        let (t, before) = applied("debian12");
        let jf = journal_file(t.path());
        let own = fs::read_to_string(&jf).unwrap();
        let cut = at(&own);
        fs::write(&jf, &own.as_bytes()[..cut]).unwrap();
        unusable_journal_is_handled(
            t.path(),
            &before,
            &format!("truncated #{i} at byte {cut} of {}", own.len()),
            "cannot be read",
        );
    }
}

/// The loader itself, on a real journal cut at every byte: anything short of the whole text
/// must be refused. A cut that still parses would silently drop the records after it, and
/// rollback would then leave those changes in place.
#[test]
fn a_journal_cut_at_any_byte_never_loads_as_a_shorter_journal() {
    need_tools!();
    need_root!();
    for name in FIXTURES {
        let (t, _) = applied(name);
        let full = fs::read(journal_file(t.path())).unwrap();
        let whole = parse_journal("journal.yaml", &full).expect("the real journal parses");
        let runs = serde_json::to_value(&whole.runs).unwrap();
        let mut accepted = vec![];
        for cut in 0..full.len() {
            // Even a cut that loses only the last newline, and so would load the same runs,
            // is refused: nothing but the writer's whole file is a journal.
            if let Ok(j) = parse_journal("journal.yaml", &full[..cut]) {
                let same = serde_json::to_value(&j.runs).unwrap() == runs;
                accepted.push((cut, same));
            }
        }
        assert!(
            accepted.is_empty(),
            "{name}: {} of {} cuts load (as the same runs: {}), e.g. at byte {}:\n{}",
            accepted.len(),
            full.len(),
            accepted[0].1,
            accepted[0].0,
            String::from_utf8_lossy(&full[..accepted[0].0])
        );
    }
}

/// A profile with an unknown key: every command names the file, the key, where it is and what
/// is allowed, and nothing changes.
#[test]
fn a_profile_with_an_unknown_key_is_refused_naming_it() {
    need_tools!();
    let t = fixture("debian12");
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("debian-typo.yaml");
    let text_ = fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/profiles/debian.yaml"),
    )
    .unwrap()
    .replace("mail_logs:", "mail_log:");
    fs::write(&bad, text_).unwrap();
    let before = snapshot(t.path());
    for cmd in ["check", "plan", "status"] {
        let o = run_root(t.path(), &[cmd, "--profile", bad.to_str().unwrap()]);
        let out = text(&o);
        assert_eq!(o.status.code(), Some(1), "{cmd}: {out}");
        assert!(
            out.contains(&format!("profile {}", bad.display()))
                && out.contains("unknown field `mail_log`")
                && out.contains("expected one of")
                && out.contains("line "),
            "{cmd}: {out}"
        );
    }
    let o = run_root(
        t.path(),
        &["apply", "--yes", "--profile", bad.to_str().unwrap()],
    );
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(
        text(&o).contains("unknown field `mail_log`"),
        "{}",
        text(&o)
    );
    assert!(diff_snapshots(&before, &snapshot(t.path())).is_empty());
}
