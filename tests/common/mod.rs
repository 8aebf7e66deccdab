//! Shared test helpers: fixture roots copied into private temporary directories (ripgrep's
//! one-dir-per-test), the real cf tree copied into them, the real binary run as a process, and
//! whole-tree snapshots for byte-identical comparisons.
#![allow(dead_code)]

pub mod journal;

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

pub const FIXTURES: &[&str] = &["redhat9", "rhel9", "debian12"];

pub fn bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_smtpauth-wizard"))
}

pub fn fixture_dir(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

/// Whether every test must run: .ci/test sets SMTPAUTH_WIZARD_REQUIRE_TOOLS=1 as root after
/// installing the packages, so there a missing tool (or missing root) fails the test instead of
/// skipping it, and a root CI run skips nothing.
pub fn tools_required() -> bool {
    std::env::var_os("SMTPAUTH_WIZARD_REQUIRE_TOOLS").is_some()
}

/// The one place a test decides to skip: prints `SKIPPED: why` for the caller to return, or
/// fails the test with `why` where every test must run ([`tools_required`]). Use it through
/// [`skip_unless!`] or, where a test skips only part of itself, directly.
pub fn skip(why: impl std::fmt::Display) {
    if tools_required() {
        panic!("cannot run this test (SMTPAUTH_WIZARD_REQUIRE_TOOLS is set): {why}");
    }
    eprintln!("SKIPPED: {why}");
    // .ci/test counts the skips (libtest hides a passing test's output).
    if let Some(log) = std::env::var_os("SMTPAUTH_WIZARD_SKIP_LOG") {
        use std::io::Write;
        if let Ok(mut f) = fs::OpenOptions::new().append(true).create(true).open(log) {
            let _ = writeln!(f, "{}: {why}", std::thread::current().name().unwrap_or("?"));
        }
    }
}

/// Root, or why the test needs it.
pub fn need_root(why: &str) -> Result<(), String> {
    if nix::unistd::geteuid().is_root() {
        Ok(())
    } else {
        Err(format!("needs root ({why})"))
    }
}

/// The host's cf tree and m4, or a reason they are missing.
pub fn tools() -> Result<(), String> {
    let cf = Path::new("/usr/share/sendmail/cf/m4/cf.m4");
    let m4 = ["/usr/bin/m4", "/bin/m4"]
        .iter()
        .any(|p| Path::new(p).exists());
    let why = if !cf.exists() {
        Some("Debian's cf tree (/usr/share/sendmail/cf, package sendmail-cf) is not installed")
    } else if !m4 {
        Some("m4 is not installed")
    } else {
        None
    };
    match why {
        None => Ok(()),
        Some(w) => Err(format!("{w}; install m4 and sendmail-cf")),
    }
}

/// `Ok(v)` gives `v`; `Err(why)` skips the calling test ([`skip`]: a failure where every test
/// must run) and returns from it.
#[macro_export]
macro_rules! skip_unless {
    ($need:expr) => {
        match $need {
            Ok(v) => v,
            Err(why) => {
                $crate::common::skip(why);
                return;
            }
        }
    };
}

/// Skips the calling test (with a printed reason) when m4 or the cf tree is missing.
#[macro_export]
macro_rules! need_tools {
    () => {
        $crate::skip_unless!($crate::common::tools())
    };
}

/// Returns from the calling test with `SKIPPED: <why>` on stderr; under
/// SMTPAUTH_WIZARD_REQUIRE_TOOLS (.ci/test as root) it fails instead, so nothing skips there.
#[macro_export]
macro_rules! skip_test {
    ($($why:tt)*) => {{
        $crate::common::skip(format!($($why)*));
        return;
    }};
}

/// The directory `.ci/package` wrote the .deb and .rpm into, from
/// SMTPAUTH_WIZARD_PACKAGES_DIR (relative to the repository), or why there is none.
pub fn packages_dir() -> Result<PathBuf, String> {
    match std::env::var_os("SMTPAUTH_WIZARD_PACKAGES_DIR") {
        Some(d) => Ok(Path::new(env!("CARGO_MANIFEST_DIR")).join(d)),
        None => Err("SMTPAUTH_WIZARD_PACKAGES_DIR is not set: run `bash .ci/package` (a release build, minutes), then `SMTPAUTH_WIZARD_PACKAGES_DIR=target/packages cargo test --test packages --test distros`; .ci/test does this as root".into()),
    }
}

/// The newest file with extension `ext` in `dir`.
pub fn find_package(dir: &Path, ext: &str) -> Option<PathBuf> {
    let mut v: Vec<PathBuf> = fs::read_dir(dir)
        .ok()?
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == ext))
        .collect();
    v.sort();
    v.pop()
}

pub fn copy_tree(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for e in fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let src = e.path();
        let dst = to.join(e.file_name());
        let ft = e.file_type().unwrap();
        if ft.is_symlink() {
            std::os::unix::fs::symlink(fs::read_link(&src).unwrap(), &dst).unwrap();
        } else if ft.is_dir() {
            copy_tree(&src, &dst);
        } else {
            fs::copy(&src, &dst).unwrap();
        }
    }
}

/// A private copy of a fixture root with the real cf tree where its mc includes it.
pub fn fixture(name: &str) -> tempfile::TempDir {
    fixture_in(name, &std::env::temp_dir())
}

/// [`fixture`], made in `dir` (tests/crash.rs makes thousands of them on a tmpfs).
pub fn fixture_in(name: &str, dir: &Path) -> tempfile::TempDir {
    let t = tempfile::Builder::new()
        .prefix("smtpauth-fixture-")
        .tempdir_in(dir)
        .unwrap();
    copy_tree(&fixture_dir(name), t.path());
    let cf = Path::new("/usr/share/sendmail/cf");
    if cf.is_dir() {
        let dst = if name == "debian12" {
            "usr/share/sendmail/cf"
        } else {
            "usr/share/sendmail-cf"
        };
        copy_tree(cf, &t.path().join(dst));
    }
    t
}

pub fn run(args: &[&str]) -> Output {
    Command::new(bin())
        .args(args)
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

pub fn run_root(root: &Path, args: &[&str]) -> Output {
    let mut a: Vec<&str> = args.to_vec();
    let r = root.to_str().unwrap();
    a.extend(["--root", r]);
    run(&a)
}

pub fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// Everything about a file that rollback must put back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Entry {
    File {
        content: Vec<u8>,
        mode: u32,
        uid: u32,
        gid: u32,
        mtime: i64,
        mtime_nsec: i64,
    },
    Link(PathBuf),
    Dir {
        mode: u32,
    },
}

/// The whole tree, except the wizard's own journal directory and the copied cf tree.
pub fn snapshot(root: &Path) -> BTreeMap<String, Entry> {
    let mut m = BTreeMap::new();
    walk(root, root, &mut m);
    m
}

fn walk(root: &Path, dir: &Path, m: &mut BTreeMap<String, Entry>) {
    for e in fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        let rel = p.strip_prefix(root).unwrap().display().to_string();
        // The wizard's own journal and audit log are not part of the served system's state.
        if rel == "var/lib/smtpauth-wizard"
            || rel == "var/log/smtpauth-wizard.log"
            || rel.starts_with("usr/share/sendmail")
        {
            continue;
        }
        let md = fs::symlink_metadata(&p).unwrap();
        if md.file_type().is_symlink() {
            m.insert(rel, Entry::Link(fs::read_link(&p).unwrap()));
        } else if md.is_dir() {
            // The journal's and the audit log's parents (var, var/lib, var/log) may be created
            // for them; they hold nothing of ours.
            if rel != "var" && rel != "var/lib" && rel != "var/log" {
                m.insert(
                    rel.clone(),
                    Entry::Dir {
                        mode: md.mode() & 0o7777,
                    },
                );
            }
            walk(root, &p, m);
        } else {
            m.insert(
                rel,
                Entry::File {
                    content: fs::read(&p).unwrap(),
                    mode: md.mode() & 0o7777,
                    uid: md.uid(),
                    gid: md.gid(),
                    mtime: md.mtime(),
                    mtime_nsec: md.mtime_nsec(),
                },
            );
        }
    }
}

/// Names the files that differ, for a readable assertion message.
pub fn diff_snapshots(a: &BTreeMap<String, Entry>, b: &BTreeMap<String, Entry>) -> Vec<String> {
    let mut v = vec![];
    for (k, x) in a {
        match b.get(k) {
            None => v.push(format!("{k}: missing afterwards")),
            Some(y) if x != y => v.push(format!("{k}: differs ({})", describe(x, y))),
            _ => {}
        }
    }
    for k in b.keys() {
        if !a.contains_key(k) {
            v.push(format!("{k}: new afterwards"));
        }
    }
    v
}

fn describe(x: &Entry, y: &Entry) -> String {
    match (x, y) {
        (
            Entry::File {
                content: c1,
                mode: m1,
                mtime: t1,
                ..
            },
            Entry::File {
                content: c2,
                mode: m2,
                mtime: t2,
                ..
            },
        ) => {
            format!(
                "content {} mode {:o}/{:o} mtime {t1}/{t2}",
                if c1 == c2 { "same" } else { "changed" },
                m1,
                m2
            )
        }
        _ => format!("{x:?} vs {y:?}").chars().take(200).collect(),
    }
}

/// sendmail.cf lines that carry meaning (not the `#####` header with date, host and directory).
pub fn cf_significant(b: &[u8]) -> Vec<String> {
    String::from_utf8_lossy(b)
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .map(str::to_string)
        .collect()
}

/// Rebuilds a tree's sendmail.cf (every copy the profile names that exists) from its
/// sendmail.mc with the real m4, keeping each cf's mtime, as `make` does on a real server: a
/// variant whose mc a test changed then looks like a server whose cf is current, not like one
/// with hand edits in sendmail.cf. An mc that m4 refuses keeps the old cf (the sendmail-cf step
/// reports it).
pub fn rebuild_cf(root: &Path) {
    use smtpauth_wizard::engine::step::Options;
    let Ok(e) = smtpauth_wizard::steps::open(root, None, Options::default()) else {
        return;
    };
    let Some(p) = e.profile().cloned() else {
        return;
    };
    let Ok(bytes) = fs::read(e.root().join(&p.sendmail.mc)) else {
        return;
    };
    let Ok(mc) = smtpauth_wizard::steps::Text::decode(bytes) else {
        return;
    };
    let Ok((cf, _)) = smtpauth_wizard::steps::sendmail_cf::regenerate(&e.cx, &p.sendmail.mc, &mc)
    else {
        return;
    };
    for t in &p.sendmail.cf {
        let real = e.root().join(t);
        if real.exists() {
            let mtime = fs::metadata(&real).unwrap().modified().unwrap();
            fs::write(&real, &cf).unwrap();
            fs::File::options()
                .write(true)
                .open(&real)
                .unwrap()
                .set_modified(mtime)
                .unwrap();
        }
    }
}

/// What a live script printed ([`run_live`]).
pub struct Live {
    /// Exited 0 and printed `E2E-OK`.
    pub ok: bool,
    /// stdout then stderr.
    pub text: String,
    /// The throwaway password the script got in `E2E_PASSWORD` (it must appear nowhere).
    pub password: String,
    pub elapsed: std::time::Duration,
}

/// Runs `tests/e2e/SCRIPT WORKDIR BINARY` as root in new network, mount, UTS and PID
/// namespaces (`unshare --net --mount --uts --pid --fork --mount-proc`), with a throwaway
/// password in `E2E_PASSWORD`, `NO_COLOR=1` and `env`. A script still running after `limit`
/// is killed by its pid; the PID namespace takes its daemons along. The work directory is a
/// fresh temporary one, removed afterwards.
pub fn run_live(
    script: &str,
    env: &[(&str, &std::ffi::OsStr)],
    limit: std::time::Duration,
) -> Live {
    use std::time::Instant;
    let work = tempfile::Builder::new()
        .prefix("smtpauth-e2e-")
        .tempdir()
        .unwrap();
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let password = format!("e2e-{}-{nanos:x}", std::process::id());
    let mut cmd = Command::new("unshare");
    cmd.args([
        "--net",
        "--mount",
        "--uts",
        "--pid",
        "--fork",
        "--mount-proc",
        "bash",
    ])
    .arg(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/e2e")
            .join(script),
    )
    .arg(work.path())
    .arg(env!("CARGO_BIN_EXE_smtpauth-wizard"))
    .env("E2E_PASSWORD", &password)
    .env("NO_COLOR", "1")
    .stdin(Stdio::null())
    .stdout(Stdio::piped())
    .stderr(Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let start = Instant::now();
    let out = wait_or_signal(
        cmd.spawn().expect("unshare"),
        limit,
        nix::sys::signal::Signal::SIGKILL,
    );
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    Live {
        ok: out.status.success() && text.contains("E2E-OK"),
        text,
        password,
        elapsed: start.elapsed(),
    }
}

/// Waits for `child` and its output; if it is still running `limit` after this call, sends it
/// `signal` by its pid (SIGKILL for a PID namespace, SIGTERM where it must stop what it started).
pub fn wait_or_signal(
    child: std::process::Child,
    limit: std::time::Duration,
    signal: nix::sys::signal::Signal,
) -> Output {
    let pid = child.id();
    let start = std::time::Instant::now();
    let watchdog = std::thread::spawn(move || {
        while start.elapsed() < limit {
            std::thread::sleep(std::time::Duration::from_millis(200));
            if !Path::new(&format!("/proc/{pid}")).exists() {
                return;
            }
        }
        let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid as i32), signal);
    });
    let out = child.wait_with_output().unwrap();
    let _ = watchdog.join();
    out
}

/// Root and the tools tests/distros/lib.sh needs to build, boot and stop a Debian root with
/// systemd as PID 1 (`what` is the test, for the reason), or why the test cannot run.
pub fn need_nspawn(what: &str) -> Result<(), String> {
    const TOOLS: &[(&str, &str)] = &[
        ("/usr/sbin/debootstrap", "debootstrap"),
        ("/usr/bin/systemd-nspawn", "systemd-container"),
        ("/usr/bin/nsenter", "util-linux"),
        ("/usr/bin/unshare", "util-linux"),
        ("/usr/bin/flock", "util-linux"),
    ];
    need_root("debootstrap, systemd-nspawn, nsenter").map_err(|e| format!("{what}: {e}"))?;
    match TOOLS.iter().find(|(tool, _)| !Path::new(tool).exists()) {
        Some((tool, package)) => Err(format!(
            "{what}: {tool} is missing (apt-get install {package})"
        )),
        None => Ok(()),
    }
}

/// Runs `bash tests/distros/SCRIPT ARGS...` (which boots a container with lib.sh) and returns
/// whether it exited 0, and its stdout then stderr, also printed. Still running after `limit`,
/// it gets SIGTERM by its pid: its trap stops the container by the systemd-nspawn pid.
pub fn run_distro_script(
    script: &str,
    args: &[&std::ffi::OsStr],
    limit: std::time::Duration,
) -> (bool, String) {
    let start = std::time::Instant::now();
    let child = Command::new("bash")
        .arg(
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("tests/distros")
                .join(script),
        )
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("bash tests/distros/SCRIPT");
    let out = wait_or_signal(child, limit, nix::sys::signal::Signal::SIGTERM);
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    println!("{text}");
    println!(
        "tests/distros/{script} took {:.1} s",
        start.elapsed().as_secs_f64()
    );
    (out.status.success(), text)
}

/// The ordinary user the attacker tests plant files as (nobody).
pub const NOBODY: u32 = 65534;

/// Gives `p` to `uid` (its group unchanged), as if that user had made it.
pub fn chown(p: &Path, uid: u32) {
    nix::unistd::chown(p, Some(nix::unistd::Uid::from_raw(uid)), None).unwrap();
}

/// Gives `p` and everything under it to user and group `uid`; links are changed themselves,
/// never followed.
pub fn chown_tree(p: &Path, uid: u32) {
    let id = Some(nix::unistd::Uid::from_raw(uid));
    let g = Some(nix::unistd::Gid::from_raw(uid));
    nix::unistd::fchownat(None, p, id, g, nix::fcntl::AtFlags::AT_SYMLINK_NOFOLLOW).unwrap();
    if fs::symlink_metadata(p).unwrap().is_dir() {
        for e in fs::read_dir(p).unwrap() {
            chown_tree(&e.unwrap().path(), uid);
        }
    }
}

/// Skips the calling test unless it runs as root (`why` says what needs root); under
/// SMTPAUTH_WIZARD_REQUIRE_TOOLS it fails instead ([`skip`]).
#[macro_export]
macro_rules! skip_unless_root {
    ($why:expr) => {
        $crate::skip_unless!($crate::common::need_root($why))
    };
}
