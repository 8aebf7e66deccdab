//! Every real sendmail.mc of ../shared/corpus/mc/ put into a Debian 12 tree and run through the
//! whole engine as a process: apply either succeeds (and is then idempotent) or stops at the
//! sendmail-mc step with a reason; either way rollback returns every byte. Prints a table.

mod common;
use common::*;
use std::fs;
use std::path::Path;

#[test]
fn every_corpus_mc_applies_or_is_refused_and_rollback_is_the_identity() {
    need_tools!();
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus/mc");
    let mut files: Vec<_> = fs::read_dir(&dir)
        .expect("../shared/corpus/mc")
        .flatten()
        .map(|e| e.path())
        .collect();
    files.sort();
    assert!(files.len() >= 14, "corpus has {} files", files.len());
    println!("{:<46} {:<8} detail", "corpus file", "apply");
    let mut applied = 0;
    for f in &files {
        let t = fixture("debian12");
        copy_tree(
            Path::new("/usr/share/sendmail/cf"),
            &t.path().join("usr/share/sendmail-cf"),
        );
        fs::copy(f, t.path().join("etc/mail/sendmail.mc")).unwrap();
        // A real server with this mc has the sendmail.cf built from it (one built from
        // another mc is refused as hand edits: tests/real_engine.rs).
        rebuild_cf(t.path());
        let before = snapshot(t.path());
        let o = run_root(t.path(), &["apply", "--yes"]);
        let out = text(&o);
        let name = f.file_name().unwrap().to_string_lossy().to_string();
        match o.status.code() {
            Some(0) => {
                applied += 1;
                let cf = fs::read_to_string(t.path().join("etc/mail/sendmail.cf")).unwrap();
                assert!(
                    cf.lines().any(|l| l.starts_with("V10/")),
                    "{name}: the new sendmail.cf has no V line"
                );
                assert!(
                    cf.lines()
                        .any(|l| l.starts_with("O AuthMechanisms=LOGIN PLAIN")),
                    "{name}: no AuthMechanisms in the new cf"
                );
                assert!(cf.contains("LOGIN PLAIN"), "{name}");
                let again = run_root(t.path(), &["apply", "--yes"]);
                assert!(
                    text(&again).contains("nothing to do"),
                    "{name}: second apply: {}",
                    text(&again)
                );
                println!(
                    "{name:<46} {:<8} {}",
                    "applied",
                    out.lines()
                        .find(|l| l.starts_with("applied:"))
                        .unwrap_or("")
                );
            }
            Some(1) => {
                let why = out
                    .lines()
                    .find(|l| l.contains("is error") || l.contains("failed"))
                    .unwrap_or("")
                    .to_string();
                assert!(
                    why.contains("sendmail-mc") || why.contains("sendmail-cf"),
                    "{name}: unexpected failure: {out}"
                );
                println!(
                    "{name:<46} {:<8} {}",
                    "refused",
                    why.chars().take(150).collect::<String>()
                );
            }
            other => panic!("{name}: exit {other:?}: {out}"),
        }
        assert!(!out.contains("panicked"), "{name}: {out}");
        let r = run_root(t.path(), &["rollback", "--yes"]);
        assert_eq!(r.status.code(), Some(0), "{name}: rollback: {}", text(&r));
        let d = diff_snapshots(&before, &snapshot(t.path()));
        assert!(d.is_empty(), "{name}: rollback is not the identity: {d:?}");
    }
    println!(
        "{applied} of {} corpus files applied; every rollback restored the tree byte for byte",
        files.len()
    );
    assert!(applied >= 9, "only {applied} corpus files applied");
}
