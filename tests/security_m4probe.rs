//! Issue 13 items 3, 4 (long fields) and 10: another user's tree must not run code as root
//! through m4, strangers' strings are cut before they reach a terminal, and `probe --user`
//! never sends a password in the clear where TLS is offered.

mod common;
use common::*;
use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;

fn required() -> bool {
    std::env::var_os("SMTPAUTH_WIZARD_REQUIRE_TOOLS").is_some()
}

macro_rules! need_root {
    () => {
        if nix::unistd::geteuid().as_raw() != 0 {
            if required() {
                panic!("needs root");
            }
            eprintln!("SKIPPED: needs root (the attacks are on what root runs)");
            return;
        }
    };
}

const NOBODY: u32 = 65534;

fn chown_tree(p: &Path, uid: u32) {
    let id = Some(nix::unistd::Uid::from_raw(uid));
    let g = Some(nix::unistd::Gid::from_raw(uid));
    nix::unistd::fchownat(None, p, id, g, nix::unistd::FchownatFlags::NoFollowSymlink).unwrap();
    if fs::symlink_metadata(p).unwrap().is_dir() {
        for e in fs::read_dir(p).unwrap() {
            chown_tree(&e.unwrap().path(), uid);
        }
    }
}

/// A directory only root can write, where the attacks try to create files.
fn victim_dir() -> tempfile::TempDir {
    let v = tempfile::Builder::new()
        .prefix("smtpauth-victim-")
        .tempdir()
        .unwrap();
    fs::set_permissions(v.path(), fs::Permissions::from_mode(0o755)).unwrap();
    v
}

fn open_up(t: &Path) {
    // tempfile makes 0700 directories: the unprivileged m4 must be able to reach the tree.
    fs::set_permissions(t, fs::Permissions::from_mode(0o755)).unwrap();
}

/// The fixture's mc with m4 code that writes into `victim` appended after cf.m4's include.
fn plant_in_mc(root: &Path, code: &str) {
    let mc = root.join("etc/mail/sendmail.mc");
    let text = fs::read_to_string(&mc).unwrap();
    let at = text
        .find("include(`/usr/share/sendmail/cf/m4/cf.m4')dnl\n")
        .unwrap();
    let end = at + "include(`/usr/share/sendmail/cf/m4/cf.m4')dnl\n".len();
    let new = format!("{}{code}\n{}", &text[..end], &text[end..]);
    fs::write(&mc, new).unwrap();
}

/// cf.m4 runs `sh CF_DIR/sh/makeinfo.sh` for the header: a planted one writes into `victim`.
fn plant_makeinfo(root: &Path, victim: &Path) {
    let p = root.join("usr/share/sendmail/cf/sh/makeinfo.sh");
    let orig = fs::read_to_string(&p).unwrap();
    let planted = format!(
        "touch {}/makeinfo 2>/dev/null\n{}",
        victim.display(),
        orig.replacen("#!/bin/sh", "", 1)
    );
    fs::write(&p, format!("#!/bin/sh\n{planted}")).unwrap();
}

fn created(victim: &Path) -> Vec<String> {
    fs::read_dir(victim)
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            format!(
                "{} (uid {})",
                e.file_name().to_string_lossy(),
                e.metadata().unwrap().uid()
            )
        })
        .collect()
}

/// Item 3: a `syscmd` in another user's mc and a planted `sh/makeinfo.sh` in their cf tree
/// ran as root during `check` and `plan`. Now m4 runs as nobody there: nothing appears in a
/// directory only root can write, and the plan is still made.
#[test]
fn m4_code_in_another_users_tree_does_not_run_as_root() {
    need_tools!();
    need_root!();
    type Make = fn(&Path);
    // Who owns what: the whole tree, only etc/mail, only the cf tree.
    let owners: Vec<(&str, Make)> = vec![
        ("the whole tree belongs to nobody", |r| {
            chown_tree(r, NOBODY)
        }),
        ("etc/mail belongs to nobody", |r| {
            chown_tree(&r.join("etc/mail"), NOBODY)
        }),
        ("the cf tree belongs to nobody", |r| {
            chown_tree(&r.join("usr/share/sendmail/cf"), NOBODY)
        }),
        ("the mc is world-writable", |r| {
            fs::set_permissions(
                r.join("etc/mail/sendmail.mc"),
                fs::Permissions::from_mode(0o666),
            )
            .unwrap()
        }),
    ];
    let codes = [
        "syscmd(`touch VICTIM/mc')dnl",
        "esyscmd(`touch VICTIM/mc')dnl",
        "define(`_planted_', `syscmd(`touch VICTIM/mc')')_planted_`'dnl",
        "ifdef(`_USE_ETC_MAIL_', `esyscmd(`sh -c \"touch VICTIM/mc\"')')dnl",
    ];
    for (who, make) in &owners {
        for code in codes {
            let t = fixture("debian12");
            open_up(t.path());
            let v = victim_dir();
            plant_in_mc(
                t.path(),
                &code.replace("VICTIM", &v.path().display().to_string()),
            );
            plant_makeinfo(t.path(), v.path());
            make(t.path());
            for cmd in [&["check", "--trust-root"][..], &["plan", "--trust-root"]] {
                let o = run_root(t.path(), cmd);
                let out = text(&o);
                assert!(
                    created(v.path()).is_empty(),
                    "{who}, {code}: `{cmd:?}` ran tree code as root: {:?}\n{out}",
                    created(v.path())
                );
                assert!(!out.contains("m4 could not build"), "{who}: {out}");
            }
            let o = run_root(t.path(), &["plan", "--trust-root"]);
            assert_eq!(o.status.code(), Some(2), "{who}, {code}: {}", text(&o));
        }
    }
}

/// Item 3: in a tree root owns, m4 runs as before (as root): the planted script is the
/// admin's own and does run. This is the "no behaviour change for a root-owned system" half.
#[test]
fn m4_in_roots_own_tree_runs_as_root_as_before() {
    need_tools!();
    need_root!();
    let t = fixture("debian12");
    let v = victim_dir();
    plant_makeinfo(t.path(), v.path());
    let o = run_root(t.path(), &["plan"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert_eq!(created(v.path()), vec!["makeinfo (uid 0)".to_string()]);
}

/// Item 3: the unprivileged m4 cannot read a root-only part of the cf tree: a clear message
/// naming the file and why m4 ran unprivileged, and nothing changes.
#[test]
fn an_unreadable_cf_tree_for_the_unprivileged_m4_is_named() {
    need_tools!();
    need_root!();
    let t = fixture("debian12");
    open_up(t.path());
    chown_tree(&t.path().join("etc/mail"), NOBODY);
    let m4dir = t.path().join("usr/share/sendmail/cf/m4");
    fs::set_permissions(&m4dir, fs::Permissions::from_mode(0o700)).unwrap();
    let before = snapshot(t.path());
    let o = run_root(t.path(), &["plan", "--trust-root"]);
    let out = text(&o);
    assert_ne!(o.status.code(), Some(0), "{out}");
    assert!(
        out.contains("cf.m4") && out.contains("uid 65534") && out.contains("readable"),
        "{out}"
    );
    assert!(diff_snapshots(&before, &snapshot(t.path())).is_empty());
}

/// Item 3: `syscmd`/`esyscmd` anywhere in the mc, and an include from outside /etc/mail and
/// the cf tree, are findings in every mc (warnings: on a root-owned server they are the
/// admin's own, but they run as root whenever sendmail.cf is rebuilt).
#[test]
fn syscmd_and_outside_includes_are_findings() {
    need_tools!();
    for fx in ["debian12", "rhel9"] {
        let cases = [
            ("syscmd(`true')dnl", "syscmd(true) runs a shell command"),
            (
                "define(`_site_', `esyscmd(`echo dnl')')_site_`'dnl",
                "esyscmd(echo dnl) runs a shell command",
            ),
            (
                "include(`/opt/site/local.m4')dnl",
                "include(`/opt/site/local.m4') reads a file outside /etc/mail and the cf tree",
            ),
            (
                "sinclude(`/home/alice/.sendmail.m4')dnl",
                "sinclude(`/home/alice/.sendmail.m4') reads a file outside",
            ),
            (
                "include(`/etc/mail/../../opt/site/local.m4')dnl",
                "reads a file outside",
            ),
        ];
        for (code, want) in cases {
            let t = fixture(fx);
            let mc = t.path().join("etc/mail/sendmail.mc");
            let text = fs::read_to_string(&mc).unwrap();
            let at = text.find("/m4/cf.m4')dnl\n").unwrap() + "/m4/cf.m4')dnl\n".len();
            fs::write(&mc, format!("{}{code}\n{}", &text[..at], &text[at..])).unwrap();
            fs::create_dir_all(t.path().join("opt/site")).unwrap();
            fs::write(t.path().join("opt/site/local.m4"), "dnl site\n").unwrap();
            let o = run_root(t.path(), &["check"]);
            let out = text_of(&o);
            assert!(out.contains(want), "{fx}, {code}: {out}");
            assert!(out.contains("line "), "{fx}: {out}");
        }
        // The file as shipped: no such finding.
        let t = fixture(fx);
        let out = text_of(&run_root(t.path(), &["check"]));
        assert!(
            !out.contains("runs a shell command") && !out.contains("reads a file outside"),
            "{fx}: {out}"
        );
    }
}

fn text_of(o: &std::process::Output) -> String {
    text(o)
}
