//! The engine's queries for the faces (src/engine/query.rs): what a step's findings offer as
//! data, and what the journal says, so the CLI and the TUI need not read the journal, the step
//! modules or a finding's text themselves (issue 10 item 2).

mod common;

use common::*;
use smtpauth_wizard::engine::query::{offers, Offer};
use smtpauth_wizard::engine::step::Options;
use smtpauth_wizard::engine::Engine;
use std::fs;

fn engine_with_relay_domains(relay_domains: &str, local: &str) -> (tempfile::TempDir, Engine) {
    let dir = fixture("redhat9");
    let root = dir.path().canonicalize().unwrap();
    fs::write(root.join("etc/mail/relay-domains"), relay_domains).unwrap();
    fs::write(root.join("etc/mail/local-host-names"), local).unwrap();
    let engine = smtpauth_wizard::steps::open(&root, None, Options::default()).unwrap();
    (dir, engine)
}

/// Every relay-domains entry that is neither a local host name nor a Cw line is offered for
/// pruning, by name, in file order, as data: the TUI no longer finds them by looking for
/// "prune" in a finding's fix text and taking the first word of its message.
#[test]
fn domains_not_hosted_here_are_offered_for_pruning_as_data() {
    need_tools!();
    for (relay, local, want) in [
        (
            "example.com\nfriends-of-mine.example.net\n",
            "example.com\n",
            vec!["friends-of-mine.example.net"],
        ),
        ("a.example\nb.example\n", "", vec!["a.example", "b.example"]),
        (
            "# comment\n\nA.Example\r\nlocal.example\n",
            "LOCAL.example\n",
            vec!["a.example"],
        ),
        ("here.example\n", "here.example\n", vec![]),
        ("", "x.example\n", vec![]),
    ] {
        let (_dir, engine) = engine_with_relay_domains(relay, local);
        let reports = engine.plan();
        let got: Vec<String> = engine.choosable(&reports).extra_domains;
        assert_eq!(got, want, "relay-domains {relay:?}, local {local:?}");
        // Only relay-domains makes this offer, once per domain.
        let r = reports.iter().find(|r| r.id == "relay-domains").unwrap();
        let in_step: Vec<&Offer> = r.findings.iter().filter_map(|f| f.offer.as_ref()).collect();
        assert_eq!(in_step.len(), want.len());
        assert_eq!(offers(&reports).count(), want.len());
        // Each offer sits on the warning that names the domain.
        for f in r.findings.iter().filter(|f| f.offer.is_some()) {
            let Some(Offer::PruneRelayDomain(d)) = &f.offer else {
                unreachable!()
            };
            assert!(f.message.starts_with(d.as_str()), "{}", f.message);
        }
    }
}

/// The journal queries on a tree the wizard has not touched: an empty journal, nothing to
/// resume, nothing changed since written, no .bak; after `apply --only backup`, the journal
/// view lists the step and its files and `status` finds the .bak copies.
#[test]
fn journal_queries_before_and_after_an_apply() {
    need_tools!();
    let dir = fixture("redhat9");
    let root = dir.path().canonicalize().unwrap();
    let engine = smtpauth_wizard::steps::open(&root, None, Options::default()).unwrap();
    let st = engine.journal_status();
    assert!(st.journal.as_ref().unwrap().data.runs.is_empty());
    assert!(st.backups.is_empty() && st.changed_since_written.is_empty());
    assert_eq!(engine.unfinished().unwrap(), None);
    let v = engine.journal_view();
    assert!(v.error.is_none() && v.applied.is_empty() && !v.open_run);

    let o = run_root(&root, &["apply", "--yes", "--only", "backup"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let engine = smtpauth_wizard::steps::open(&root, None, Options::default()).unwrap();
    let st = engine.journal_status();
    assert_eq!(st.journal.as_ref().unwrap().data.runs.len(), 1);
    assert!(
        st.backups.iter().any(|b| b.ends_with("sendmail.mc.bak")),
        "{:?}",
        st.backups
    );
    let v = engine.journal_view();
    assert_eq!(v.applied.len(), 1);
    assert_eq!(v.applied[0].id, "backup");
    assert!(!v.applied[0].files.is_empty());
    // --only leaves the run open: resume has something to finish.
    let u = engine
        .unfinished()
        .unwrap()
        .expect("an open run after --only");
    assert!(u.open_run.is_some() && u.interrupted.is_empty());

    // An unreadable journal is an error for resume, and status still lists the .bak copies.
    let j = engine.journal_path();
    fs::write(&j, "not: [a journal").unwrap();
    assert!(engine.unfinished().is_err());
    let st = engine.journal_status();
    assert!(st.journal.is_err());
    assert!(!st.backups.is_empty());
}
