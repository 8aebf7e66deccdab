//! One test per bug found by the safety work (hostile environments, fuzzing), named after the
//! bug, as small and fast as the bug allows. The scenario tests that found them are in
//! tests/hostile.rs; fuzzing is in tests/fuzz/.

mod common;
use common::*;
use smtpauth_wizard::engine::fsops::{self, WriteMeta};
use smtpauth_wizard::engine::journal::{journal_path, parse_journal, Journal};
use smtpauth_wizard::engine::root::Root;
use std::fs;

/// A journal cut at a line end is valid YAML: it loaded as a shorter journal (cut after
/// `runs:`, as an empty one: "the wizard has changed nothing here"), and rollback would have
/// left the dropped changes in place. Found by hostile.rs cutting a real journal at every byte.
#[test]
fn journal_cut_at_a_line_end_loaded_as_a_shorter_journal() {
    let t = tempfile::tempdir().unwrap();
    let r = Root::new(t.path()).unwrap();
    fs::create_dir_all(r.join("/etc/mail")).unwrap();
    fs::write(r.join("/etc/mail/access"), "a\n").unwrap();
    let mut j = Journal::open(&r).unwrap();
    j.begin_run("debian").unwrap();
    j.begin_step("relay-access").unwrap();
    j.write_file("/etc/mail/access", b"b\n", None, "test", None)
        .unwrap();
    j.end_step(None).unwrap();
    drop(j);
    let full = fs::read(journal_path(&r)).unwrap();
    assert!(parse_journal("j", &full).is_ok());
    let text = String::from_utf8(full.clone()).unwrap();
    let mut line_ends = 0;
    for (i, _) in text.match_indices('\n') {
        if i + 1 == full.len() {
            continue; // the whole file
        }
        line_ends += 1;
        let e = parse_journal("j", &full[..=i])
            .err()
            .unwrap_or_else(|| panic!("a journal cut after byte {i} loads"))
            .to_string();
        assert!(
            e.contains("cannot be read") && e.contains("rollback --from-backups"),
            "{e}"
        );
    }
    assert!(line_ends > 10);
}

/// With the cf tree missing (or m4 missing, or sendmail.cf a link), apply wrote the .bak files
/// and the edited sendmail.mc, then stopped at sendmail-cf: the mc no longer matched the cf.
/// Found by hostile.rs (missing cf tree, missing m4, sendmail.cf link).
#[test]
fn missing_cf_tree_left_sendmail_mc_edited_without_sendmail_cf() {
    need_tools!();
    skip_unless!(need_root("apply gives new files to root"));
    let t = fixture("debian12");
    fs::remove_dir_all(t.path().join("usr/share/sendmail")).unwrap();
    let before = snapshot(t.path());
    let o = run_root(t.path(), &["apply", "--yes"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(text(&o).contains("Nothing was changed"), "{}", text(&o));
    assert!(
        !text(&o).contains("writing"),
        "apply started writing: {}",
        text(&o)
    );
    assert!(diff_snapshots(&before, &snapshot(t.path())).is_empty());
}

/// Errors from creating the temporary file came through tempfile's own error type: the
/// message ended in ` at path ".../.smtpauth-wizard.NAME.XXXXXX"` (a file that no longer
/// exists) and hid the OS error, so "no space left" and "read-only" got no hint. Found by
/// hostile.rs (full disk, read-only /etc/mail); here with a missing directory.
#[test]
fn temporary_file_errors_named_the_vanished_temporary_file() {
    let t = tempfile::tempdir().unwrap();
    let target = t.path().join("no-such-dir/sendmail.mc");
    let e = fsops::replace_file(
        &target,
        b"x",
        WriteMeta {
            mode: 0o644,
            owner: None,
            mtime: None,
        },
        None,
    )
    .unwrap_err()
    .to_string();
    assert_eq!(
        e,
        format!(
            "cannot create a temporary file for {}: No such file or directory (os error 2)",
            target.display()
        )
    );
}

/// A journal whose record of a file that existed had no attributes (`meta: null`), sealed with
/// a valid end line, made rollback panic at `expect("existed implies meta")` half-way through
/// undoing. Only a deliberate edit can produce one (the checksum catches damage), but a loader
/// must refuse what its users would trip over. Found by reading undo_step while writing the
/// journal fuzz target: the loader accepted any record shape; shown with the real binary.
#[test]
fn sealed_journal_without_the_originals_attributes_panicked_rollback() {
    use smtpauth_wizard::engine::journal::seal_journal;
    let t = tempfile::tempdir().unwrap();
    let r = Root::new(t.path()).unwrap();
    fs::create_dir_all(r.join("/etc/mail")).unwrap();
    fs::write(r.join("/etc/mail/sendmail.mc"), "dnl original\n").unwrap();
    let mut j = Journal::open(&r).unwrap();
    j.begin_run("debian").unwrap();
    j.begin_step("sendmail-mc").unwrap();
    j.write_file("/etc/mail/sendmail.mc", b"dnl edited\n", None, "test", None)
        .unwrap();
    j.end_step(None).unwrap();
    drop(j);
    let text = fs::read_to_string(journal_path(&r)).unwrap();
    let body = &text[..text.rfind("# end of journal").unwrap()];
    // (records are list items under `files:`, their keys indented by six spaces)
    let start = body.find("\n      meta:\n").expect("a meta block") + 1;
    let end = start + body[start..].find("      sha_before:").unwrap();
    let edited = format!("{}      meta: null\n{}", &body[..start], &body[end..]);
    for (what, body) in [
        ("meta", edited.clone()),
        (
            "saved",
            body.replace("    saved: saved/", "    saved: ../../../etc/"),
        ),
        ("sha", body.replace("sha_after: ", "sha_after: é")),
    ] {
        let e = parse_journal("j", seal_journal(&body).unwrap().as_bytes())
            .err()
            .unwrap_or_else(|| panic!("{what}: accepted"))
            .to_string();
        assert!(
            e.contains("cannot be read") && e.contains("/etc/mail/sendmail.mc"),
            "{what}: {e}"
        );
    }
}
