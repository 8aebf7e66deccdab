//! Attacker tests for issue 13 item 2, the wizard's own state: an ordinary user (uid 65534) who
//! can write part of a `--root` tree (the admin gave `--trust-root`, or one directory was left
//! open) plants links where the wizard keeps its journal, its saved originals, its lock, its
//! temporary files and its audit log, or forges a journal; root runs the real binary. Nothing
//! outside the tree may be written, chmodded or removed. Victims live in temporary directories
//! outside the tree (never the machine's own /etc).

mod common;
use common::*;
use smtpauth_wizard::engine::fsops::sha256_hex;
use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::{symlink, MetadataExt, PermissionsExt};
use std::path::Path;

macro_rules! need_root {
    () => {
        skip_unless_root!("the attacks are on what root writes")
    };
}

/// A link made by the attacker (its owner is who made it).
fn plant_link(to: &Path, at: &Path) {
    if let Some(d) = at.parent() {
        fs::create_dir_all(d).unwrap();
    }
    symlink(to, at).unwrap();
    nix::unistd::fchownat(
        None,
        at,
        Some(nix::unistd::Uid::from_raw(NOBODY)),
        None,
        nix::fcntl::AtFlags::AT_SYMLINK_NOFOLLOW,
    )
    .unwrap();
}

/// Every entry under `dir` with its content, mode and owner (the victim's state).
fn victim_state(dir: &Path) -> BTreeMap<String, (Vec<u8>, u32, u32)> {
    let mut m = BTreeMap::new();
    for e in fs::read_dir(dir).unwrap().flatten() {
        let md = fs::symlink_metadata(e.path()).unwrap();
        let content = if md.is_file() {
            fs::read(e.path()).unwrap()
        } else {
            vec![]
        };
        m.insert(
            e.file_name().to_string_lossy().to_string(),
            (content, md.mode(), md.uid()),
        );
    }
    m
}

/// A victim directory outside the tree with a root-owned file in it.
fn victim() -> tempfile::TempDir {
    let v = tempfile::Builder::new()
        .prefix("smtpauth-victim-")
        .tempdir()
        .unwrap();
    fs::write(v.path().join("precious"), "root's own file\n").unwrap();
    fs::set_permissions(v.path().join("precious"), fs::Permissions::from_mode(0o644)).unwrap();
    v
}

/// `ROOT/var/lib -> VICTIM` (and `ROOT/var -> VICTIM`): the journal directory, its `saved/`
/// originals and its lock were created through the link, outside the tree. Refused, naming
/// the link; nothing appears in the victim directory.
#[test]
fn a_link_above_the_journal_directory_is_refused() {
    need_tools!();
    need_root!();
    for link in ["var/lib", "var"] {
        let t = fixture("debian12");
        let v = victim();
        let before = victim_state(v.path());
        let at = t.path().join(link);
        if at.exists() {
            fs::remove_dir_all(&at).unwrap();
        }
        plant_link(v.path(), &at);
        let o = run_root(t.path(), &["apply", "--yes", "--trust-root"]);
        let out = text(&o);
        assert_ne!(o.status.code(), Some(0), "{link}: {out}");
        assert!(
            out.contains(&format!("/{link} is a symbolic link")),
            "{link}: {out}"
        );
        assert_eq!(
            victim_state(v.path()),
            before,
            "{link}: wrote through the link: {out}"
        );
    }
}

/// `ROOT/var/lib/smtpauth-wizard/saved -> VICTIM`, planted while the state directory was open
/// (the wizard repairs its mode to 0700, but what was planted stays): the originals were
/// written into the victim directory. Refused, naming the link.
#[test]
fn a_link_at_saved_is_refused() {
    need_tools!();
    need_root!();
    for name in ["saved", "saved-as-relative"] {
        let t = fixture("debian12");
        let v = victim();
        let before = victim_state(v.path());
        let state = t.path().join("var/lib/smtpauth-wizard");
        fs::create_dir_all(&state).unwrap();
        fs::set_permissions(&state, fs::Permissions::from_mode(0o777)).unwrap();
        if name == "saved" {
            plant_link(v.path(), &state.join("saved"));
        } else {
            // The same through a relative link that climbs out of the tree.
            let up = "../".repeat(t.path().components().count() + 4);
            plant_link(
                Path::new(&format!("{up}{}", v.path().display())),
                &state.join("saved"),
            );
        }
        let o = run_root(t.path(), &["apply", "--yes"]);
        let out = text(&o);
        assert_ne!(o.status.code(), Some(0), "{name}: {out}");
        assert!(
            out.contains("/var/lib/smtpauth-wizard/saved is a symbolic link"),
            "{name}: {out}"
        );
        assert_eq!(victim_state(v.path()), before, "{name}: {out}");
    }
}

/// Parents of the journal directory another user owns or can write (`--trust-root` lets the
/// tree through): they could swap the journal directory for their own. Refused, naming the
/// directory; a sticky one (as /tmp) is fine. Nothing is written.
#[test]
fn a_journal_directory_whose_parents_others_control_is_refused() {
    need_tools!();
    need_root!();
    // (directory, uid, mode, accepted)
    let cases = [
        ("var/lib", NOBODY, 0o755, false),
        ("var", NOBODY, 0o755, false),
        ("var/lib", 0, 0o777, false),
        ("var", 0, 0o775, false),
        ("var/lib", 0, 0o757, false),
        ("var/lib", 0, 0o1777, true),
    ];
    for (dir, uid, mode, ok) in cases {
        let what = format!("{dir} uid {uid} mode {mode:o}");
        let t = fixture("debian12");
        fs::create_dir_all(t.path().join("var/lib")).unwrap();
        chown(&t.path().join(dir), uid);
        fs::set_permissions(t.path().join(dir), fs::Permissions::from_mode(mode)).unwrap();
        let o = run_root(t.path(), &["apply", "--yes", "--trust-root"]);
        let out = text(&o);
        if ok {
            assert_eq!(o.status.code(), Some(0), "{what}: {out}");
            continue;
        }
        assert_ne!(o.status.code(), Some(0), "{what}: {out}");
        let named = format!(
            "{} {}",
            t.path().join(dir).display(),
            if uid == NOBODY {
                "belongs to another user"
            } else {
                "can be written by other users"
            }
        );
        assert!(
            out.contains("refusing to keep the journal") && out.contains(&named),
            "{what}: {out}"
        );
        assert!(
            !t.path()
                .join("var/lib/smtpauth-wizard/journal.yaml")
                .exists(),
            "{what}: {out}"
        );
    }
}

/// `ROOT/etc/mail -> VICTIM` after an apply, with a file named like the wizard's temporaries
/// and copies of what the wizard wrote in the victim directory: rollback's sweep removed the
/// victim's `.smtpauth-wizard.*` file and rollback restored the originals over the victim's
/// copies. The link is followed inside the tree (where the files are gone: rollback stops at
/// the conflict) and the victim directory is untouched, byte for byte and mode.
#[test]
fn rollback_and_its_sweep_never_follow_a_link_out_of_the_tree() {
    need_tools!();
    need_root!();
    for relative in [false, true] {
        let t = fixture("debian12");
        let o = run_root(t.path(), &["apply", "--yes"]);
        assert_eq!(o.status.code(), Some(0), "{}", text(&o));
        let v = victim();
        let mail = t.path().join("etc/mail");
        for e in fs::read_dir(&mail).unwrap().flatten() {
            if e.file_type().unwrap().is_file() {
                fs::copy(e.path(), v.path().join(e.file_name())).unwrap();
            }
        }
        fs::write(v.path().join(".smtpauth-wizard.sendmail.mc.keep"), "mine\n").unwrap();
        fs::set_permissions(v.path(), fs::Permissions::from_mode(0o755)).unwrap();
        let before = victim_state(v.path());
        fs::rename(&mail, t.path().join("etc/mail.moved")).unwrap();
        if relative {
            let up = "../".repeat(t.path().components().count() + 4);
            plant_link(Path::new(&format!("{up}{}", v.path().display())), &mail);
        } else {
            plant_link(v.path(), &mail);
        }
        let o = run_root(t.path(), &["rollback", "--yes", "--trust-root"]);
        let out = text(&o);
        assert_ne!(o.status.code(), Some(0), "relative {relative}: {out}");
        assert_eq!(
            victim_state(v.path()),
            before,
            "relative {relative}: rollback changed files outside the tree: {out}"
        );
        // Even when the admin forces it.
        let o = run_root(t.path(), &["rollback", "--yes", "--force", "--trust-root"]);
        assert_eq!(
            victim_state(v.path()),
            before,
            "relative {relative}: rollback --force changed files outside the tree: {}",
            text(&o)
        );
    }
}

/// `ROOT/var/log -> VICTIM`: the audit line was appended to (and the log created in) the
/// victim directory. It is resolved inside the tree; the victim directory is untouched.
#[test]
fn the_audit_log_never_follows_a_link_out_of_the_tree() {
    need_tools!();
    need_root!();
    for relative in [false, true] {
        let t = fixture("debian12");
        let v = victim();
        fs::write(v.path().join("smtpauth-wizard.log"), "victim log\n").unwrap();
        let before = victim_state(v.path());
        let log = t.path().join("var/log");
        if log.exists() {
            fs::remove_dir_all(&log).unwrap();
        }
        if relative {
            let up = "../".repeat(t.path().components().count() + 4);
            plant_link(Path::new(&format!("{up}{}", v.path().display())), &log);
        } else {
            plant_link(v.path(), &log);
        }
        let o = run_root(t.path(), &["apply", "--yes", "--trust-root"]);
        let out = text(&o);
        assert_eq!(o.status.code(), Some(0), "relative {relative}: {out}");
        let o2 = run_root(t.path(), &["rollback", "--yes", "--trust-root"]);
        assert_eq!(o2.status.code(), Some(0), "{}", text(&o2));
        assert_eq!(
            victim_state(v.path()),
            before,
            "relative {relative}: the audit log was written outside the tree: {out}"
        );
    }
}

/// The journal the attacker writes: an in-progress step whose undo restores `evil` with mode
/// 4755, owner root, over `suid` and removes `gone` (both reached through `ROOT/x -> VICTIM`).
fn forged_journal(evil: &[u8], suid_now: &[u8], gone_now: &[u8]) -> String {
    format!(
        "# smtpauth-wizard write-ahead journal. Do not edit: `smtpauth-wizard status` reads it.
version: 1
runs:
- id: 20261202T000000Z-1
  started: 2026-12-02T00:00:00Z
  finished: null
  profile: debian
  program_version: 0.1.0
  steps:
  - id: sendmail-mc
    state: in-progress
    started: 2026-12-02T00:00:00Z
    finished: null
    files:
    - path: /x/suid
      existed: true
      saved: saved/20261202T000000Z-1/001-evil
      meta:
        mode: {}
        uid: 0
        gid: 0
        mtime: 0
        mtime_nsec: 0
      sha_before: {}
      sha_after: {}
      state: written
      why: forged
    - path: /x/gone
      existed: false
      saved: null
      meta: null
      sha_before: null
      sha_after: {}
      state: written
      why: forged
    commands: []
",
        0o4755,
        sha256_hex(evil),
        sha256_hex(suid_now),
        sha256_hex(gone_now)
    )
}

/// A forged journal (the checksum was unkeyed, so whoever could write the journal could
/// recompute it) made `rollback --yes`, without `--force`, write attacker content with mode
/// 4755 over a root-owned file outside the tree and delete another. Now the seal is an
/// HMAC under a key only root can read: a journal sealed the old way, with a made-up key, or
/// edited after sealing is refused before it is parsed, naming the journal and what to do;
/// the victims are untouched, byte for byte and mode.
#[test]
fn a_forged_journal_is_refused_and_rollback_never_acts_on_it() {
    need_tools!();
    need_root!();
    let evil = b"#!/bin/sh\nexec /bin/sh -p\n";
    for how in [
        "unkeyed sha256",
        "hmac with a guessed key",
        "edited after sealing",
    ] {
        let t = fixture("debian12");
        let v = victim();
        let suid = v.path().join("suid");
        let gone = v.path().join("gone");
        fs::write(&suid, "root's program\n").unwrap();
        fs::set_permissions(&suid, fs::Permissions::from_mode(0o755)).unwrap();
        fs::write(&gone, "root's config\n").unwrap();
        let before = victim_state(v.path());
        plant_link(v.path(), &t.path().join("x"));
        let state = t.path().join("var/lib/smtpauth-wizard");
        let saved = state.join("saved/20261202T000000Z-1");
        fs::create_dir_all(&saved).unwrap();
        fs::write(saved.join("001-evil"), evil).unwrap();
        let body = forged_journal(evil, b"root's program\n", b"root's config\n");
        let text_ = match how {
            "unkeyed sha256" => {
                format!(
                    "{body}# end of journal, sha256 {}\n",
                    sha256_hex(body.as_bytes())
                )
            }
            "hmac with a guessed key" => format!(
                "{body}# end of journal, hmac-sha256 {}\n",
                sha256_hex(b"a guess at the seal")
            ),
            _ => {
                // A real journal of this machine, sealed, then edited by the attacker.
                let o = run_root(t.path(), &["apply", "--yes"]);
                assert_eq!(o.status.code(), Some(0), "{}", text(&o));
                let real = fs::read_to_string(state.join("journal.yaml")).unwrap();
                let end = real.rfind("# end of journal").unwrap();
                format!("{body}{}", &real[end..])
            }
        };
        fs::write(state.join("journal.yaml"), text_).unwrap();
        // The directory was open to the attacker when they wrote it.
        fs::set_permissions(&state, fs::Permissions::from_mode(0o777)).unwrap();
        for args in [&["rollback", "--yes"][..], &["apply", "--yes"], &["status"]] {
            let o = run_root(t.path(), args);
            let out = text(&o);
            // (`apply` on a tree it finished already has nothing to do and opens no journal.)
            if o.status.code() == Some(0) && args[0] == "apply" && how == "edited after sealing" {
                assert!(out.contains("nothing to do"), "{how}: {out}");
            } else {
                if args[0] != "status" {
                    assert_ne!(o.status.code(), Some(0), "{how}: {args:?}: {out}");
                }
                assert!(
                    out.contains(&format!("{}", state.join("journal.yaml").display()))
                        && out.contains("--from-backups"),
                    "{how}: {args:?}: {out}"
                );
                let why = if how == "unkeyed sha256" {
                    "cannot be told from one somebody else wrote"
                } else {
                    "its seal does not verify"
                };
                assert!(out.contains(why), "{how}: {args:?}: {out}");
            }
            assert_eq!(
                victim_state(v.path()),
                before,
                "{how}: {args:?}: acted on a forged journal: {out}"
            );
        }
    }
}
