//! The JSON of every command, checked against a declared shape (keys and types), on private
//! copies of the fixture roots. The shapes below are the documented contract (docs/json.md):
//! a key added, removed or retyped fails here first, so automation that parses the output (the
//! Ansible playbook in assets/ansible/ among it) is never broken by accident.
//!
//! Shape language: `"string"`, `"bool"`, `"number"`, `"null"`, `"any"`, unions such as
//! `"string|null"`; an object lists exactly its keys (a key ending in `?` may be absent); `[S]`
//! is an array whose every element has shape S.

mod common;
use common::*;
use serde_json::{json, Value};
use std::fs;
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::Path;
use std::process::Output;

fn conforms(v: &Value, shape: &Value, at: &str, errs: &mut Vec<String>) {
    match shape {
        Value::String(s) => {
            let ok = s.split('|').any(|t| match t {
                "string" => v.is_string(),
                "bool" => v.is_boolean(),
                "number" => v.is_number(),
                "null" => v.is_null(),
                "object" => v.is_object(),
                "any" => true,
                _ => panic!("bad shape type {t}"),
            });
            if !ok {
                errs.push(format!("{at}: expected {s}, found {v}"));
            }
        }
        Value::Array(a) => {
            let Some(items) = v.as_array() else {
                errs.push(format!("{at}: expected an array, found {v}"));
                return;
            };
            if let Some(elem) = a.first() {
                for (i, x) in items.iter().enumerate() {
                    conforms(x, elem, &format!("{at}[{i}]"), errs);
                }
            }
        }
        Value::Object(o) => {
            let Some(obj) = v.as_object() else {
                errs.push(format!("{at}: expected an object, found {v}"));
                return;
            };
            for (k, s) in o {
                let (key, optional) = match k.strip_suffix('?') {
                    Some(k) => (k, true),
                    None => (k.as_str(), false),
                };
                match obj.get(key) {
                    Some(x) => conforms(x, s, &format!("{at}.{key}"), errs),
                    None if optional => {}
                    None => errs.push(format!("{at}: lacks key {key}")),
                }
            }
            for k in obj.keys() {
                if !o.contains_key(k) && !o.contains_key(&format!("{k}?")) {
                    errs.push(format!("{at}: undocumented key {k}"));
                }
            }
        }
        _ => panic!("bad shape {shape}"),
    }
}

fn assert_shape(o: &Output, shape: &Value, what: &str) -> Value {
    let v: Value = serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("{what}: stdout is not one JSON value ({e}): {}", text(o)));
    let mut errs = vec![];
    conforms(&v, shape, "$", &mut errs);
    assert!(errs.is_empty(), "{what}: {errs:#?}\n{v:#}");
    v
}

fn report_shape() -> Value {
    json!({
        "message": "string",
        "root": "string",
        "profile": "string|null",
        "profile_reason": "string",
        "steps": [{
            "id": "string",
            "title": "string",
            "howto": "string",
            "status": "string",
            "findings": [{
                "severity": "string", "message": "string", "path?": "string", "fix?": "string",
                "decided_by?": [{ "option": "string", "answers_key": "string" }],
                "decision?": { "key": "string", "flag": "string", "question": "string", "chosen": "bool" },
            }],
            "changes": [{ "path": "string", "diff": "string", "why": "string" }],
            "commands": [{ "argv": ["string"], "why": "string" }],
        }],
    })
}

fn summary_shape() -> Value {
    json!({
        "run": "string|null",
        "recovered": ["string"],
        "applied": ["string"],
        "files": ["string"],
        "commands": ["string"],
        "unchanged": ["string"],
        "skipped": ["string"],
        "notes": ["string"],
    })
}

fn status_shape() -> Value {
    let file = json!({
        "path": "string",
        "via_links?": ["string"],
        "existed": "bool",
        "saved": "string|null",
        "meta": "null|object",
        "sha_before": "string|null",
        "sha_after": "string",
        "state": "string",
        "why": "string",
    });
    json!({
        "journal": "string",
        "runs": [{
            "id": "string",
            "started": "string",
            "finished": "string|null",
            "profile": "string",
            "program_version": "string",
            "steps": [{
                "id": "string",
                "state": "string",
                "started": "string",
                "finished": "string|null",
                "files": [file],
                "commands": [{ "argv": ["string"], "status": "number|null", "stderr": "string", "at": "string" }],
                "note?": "string",
                "created_dirs?": ["string"],
            }],
        }],
        "changed_since_written": ["string"],
        "backups": ["string"],
    })
}

/// Every error: the message and its kind; the fields of some kinds (docs/json.md).
fn error_shape() -> Value {
    let fields = |extra: Value| {
        let mut o = json!({
            "error": "string",
            "kind": "string",
            "step?": "string",
            "undone?": ["string"],
            "paths?": ["string"],
            "action?": "string",
            "path?": "string",
            "file?": "string",
            "what?": "string",
            "tool?": "string",
            "status?": "number|null",
            "stderr?": "string",
        });
        if let (Some(o), Some(e)) = (o.as_object_mut(), extra.as_object()) {
            o.extend(e.clone());
        }
        o
    };
    fields(json!({ "cause?": fields(json!({})) }))
}

#[test]
fn check_and_plan() {
    need_tools!();
    for name in FIXTURES {
        let t = fixture(name);
        for cmd in ["check", "plan"] {
            let o = run_root(t.path(), &[cmd, "--format", "json"]);
            assert_eq!(o.status.code(), Some(2), "{name} {cmd}: {}", text(&o));
            let v = assert_shape(&o, &report_shape(), &format!("{name} {cmd}"));
            assert!(v["message"].as_str().unwrap().starts_with("pending: "));
        }
    }
}

#[test]
fn apply_resume_rollback_and_status() {
    need_tools!();
    let t = fixture("redhat9");
    let r = t.path();
    let s = assert_shape(
        &run_root(r, &["status", "--format", "json"]),
        &status_shape(),
        "status before",
    );
    assert_eq!(s["runs"], json!([]));
    let o = run_root(r, &["apply", "--yes", "--format", "json"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let v = assert_shape(
        &o,
        &json!({ "changed": "bool", "message": "string", "summary": summary_shape() }),
        "apply",
    );
    assert_eq!(v["changed"], true);
    let o = run_root(r, &["apply", "--yes", "--format", "json"]);
    let v = assert_shape(
        &o,
        &json!({ "changed": "bool", "message": "string", "summary": "null" }),
        "apply again",
    );
    assert_eq!(v["changed"], false);
    let o = run_root(r, &["resume", "--yes", "--format", "json"]);
    let v = assert_shape(
        &o,
        &json!({ "changed": "bool", "resumed": "bool", "message": "string", "summary": "null" }),
        "resume with nothing to resume",
    );
    assert_eq!(v["resumed"], false);
    let o = run_root(r, &["check", "--format", "json"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let v = assert_shape(&o, &report_shape(), "check after apply");
    assert!(v["message"].as_str().unwrap().starts_with("nothing to do"));
    let s = assert_shape(
        &run_root(r, &["status", "--format", "json"]),
        &status_shape(),
        "status after apply",
    );
    assert!(!s["runs"][0]["steps"][0]["files"]
        .as_array()
        .unwrap()
        .is_empty());
    let rb = json!({ "changed": "bool", "message": "string", "rolled_back": ["string"] });
    let v = assert_shape(
        &run_root(r, &["rollback", "--yes", "--format", "json"]),
        &rb,
        "rollback",
    );
    assert_eq!(v["changed"], true);
    let v = assert_shape(
        &run_root(r, &["rollback", "--yes", "--format", "json"]),
        &rb,
        "rollback with nothing to do",
    );
    assert_eq!(v["changed"], false);
    // --from-backups, after an apply made the .bak copies.
    assert_eq!(
        run_root(r, &["apply", "--yes"]).status.code(),
        Some(0),
        "second apply"
    );
    let v = assert_shape(
        &run_root(
            r,
            &["rollback", "--yes", "--from-backups", "--format", "json"],
        ),
        &json!({ "changed": "bool", "message": "string", "restored": ["string"] }),
        "rollback --from-backups",
    );
    assert_eq!(v["changed"], true);
    // A journal that cannot be read: status still answers, with an error key.
    fs::write(
        r.join("var/lib/smtpauth-wizard/journal.yaml"),
        "version: [oops",
    )
    .unwrap();
    let o = run_root(r, &["status", "--format", "json"]);
    assert_eq!(o.status.code(), Some(1));
    assert_shape(
        &o,
        &json!({ "journal": "string", "error": "string", "backups": ["string"] }),
        "status of a corrupt journal",
    );
}

#[test]
fn errors_are_json_too() {
    let t = tempfile::tempdir().unwrap();
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (
            vec!["check", "--root", "/nonexistent/dir", "--format", "json"],
            "/nonexistent/dir",
        ),
        (
            vec!["check", "--bogus-flag", "--format", "json"],
            "--bogus-flag",
        ),
        (vec!["--format=json", "apply", "--only"], "--only"),
        (
            vec![
                "plan",
                "--format",
                "json",
                "--answers",
                "/nonexistent/a.yaml",
            ],
            "a.yaml",
        ),
        (
            vec![
                "rollback",
                "--yes",
                "--root",
                "/nonexistent/dir",
                "--format",
                "json",
            ],
            "/nonexistent/dir",
        ),
        (
            vec!["answers", "/nonexistent/a.yaml", "--format", "json"],
            "a.yaml",
        ),
        (vec!["probe", "--format", "json"], "target"),
    ];
    for (args, names) in cases {
        let o = run(&args);
        // 1 for every error, a command line that does not parse included (clap alone says 2,
        // which check's callers would read as "changes pending").
        assert_eq!(o.status.code(), Some(1), "{args:?}: {}", text(&o));
        let v = assert_shape(&o, &error_shape(), &format!("{args:?}"));
        assert!(
            v["error"].as_str().unwrap().contains(names),
            "{args:?}: {v}"
        );
    }
    let bad = t.path().join("bad.yaml");
    fs::write(&bad, "restart: false\nrestrat: true\n").unwrap();
    let o = run(&[
        "check",
        "--format",
        "json",
        "--answers",
        bad.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(1));
    let v = assert_shape(&o, &error_shape(), "bad answers");
    let e = v["error"].as_str().unwrap();
    assert!(e.contains("line 2") && e.contains("restrat"), "{e}");
}

#[test]
fn answers_and_generate() {
    let v = assert_shape(
        &run(&["answers", "--example", "--format", "json"]),
        &json!({ "example": "string" }),
        "answers --example",
    );
    let t = tempfile::tempdir().unwrap();
    let f = t.path().join("a.yaml");
    fs::write(&f, v["example"].as_str().unwrap()).unwrap();
    let probe = json!({
        "target": "string|null", "user": "string|null", "password_env": "string|null",
        "relay_to": "string|null", "from": "string|null", "source_ip": "string|null",
    });
    assert_shape(
        &run(&["answers", f.to_str().unwrap(), "--format", "json"]),
        &json!({
            "file": "string",
            "valid": "bool",
            "answers": {
                "profile": "string|null",
                "mechanisms": ["string"],
                "auth_options?": "string",
                "trust_mechanisms?": ["string"],
                "keep_relay": ["string"],
                "keep_features": ["string"],
                "prune_relay_domains": "bool|null",
                "open_listener": "string|null",
                "submission?": "bool",
                "submission_listener?": "string",
                "install_packages": "bool|null",
                "restart": "bool|null",
                "discard_cf_edits": "bool|null",
                "replace_mta": "bool|null",
                "tls?": "bool",
                "tls_cert?": "string",
                "tls_key?": "string",
                "probe": probe,
            },
        }),
        "answers FILE",
    );
    let d = t.path().join("man");
    let v = assert_shape(
        &run(&["generate", "man", d.to_str().unwrap(), "--format", "json"]),
        &json!({ "files": ["string"] }),
        "generate man",
    );
    assert!(Path::new(v["files"][0].as_str().unwrap()).exists());
}

/// A scripted SMTP server on loopback that advertises AUTH and refuses relaying, for as many
/// connections as the probe makes (bounded).
fn fake_smtp() -> std::net::SocketAddr {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    std::thread::spawn(move || {
        for _ in 0..8 {
            let Ok((s, _)) = l.accept() else { return };
            s.set_read_timeout(Some(std::time::Duration::from_secs(5)))
                .unwrap();
            let mut w = s.try_clone().unwrap();
            let mut r = BufReader::new(s);
            let _ = w.write_all(b"220 fake.test ESMTP\r\n");
            let mut line = String::new();
            while r.read_line(&mut line).map(|n| n > 0).unwrap_or(false) {
                let up = line.to_ascii_uppercase();
                let reply: &[u8] = if up.starts_with("EHLO") {
                    b"250-fake.test\r\n250-AUTH LOGIN PLAIN\r\n250 HELP\r\n"
                } else if up.starts_with("MAIL") {
                    b"250 2.1.0 ok\r\n"
                } else if up.starts_with("RCPT") {
                    b"550 5.7.1 relay-test@example.com... Relaying denied\r\n"
                } else if up.starts_with("QUIT") {
                    let _ = w.write_all(b"221 bye\r\n");
                    break;
                } else {
                    b"250 ok\r\n"
                };
                let _ = w.write_all(reply);
                line.clear();
            }
        }
    });
    addr
}

#[test]
fn probe_with_its_target_from_the_answers_file() {
    let addr = fake_smtp();
    let t = tempfile::tempdir().unwrap();
    let f = t.path().join("a.yaml");
    fs::write(
        &f,
        format!("probe:\n  target: \"{addr}\"\n  source_ip: 127.0.0.2\n"),
    )
    .unwrap();
    let o = run(&[
        "probe",
        "--answers",
        f.to_str().unwrap(),
        "--timeout",
        "5",
        "--format",
        "json",
    ]);
    let v = assert_shape(
        &o,
        &json!({
            "target": "string",
            "source": "string|null",
            "connected": "bool",
            "greeting": "string|null",
            "auth_mechanisms": ["string"],
            "starttls": "bool",
            "tls": "object|null",
            "capabilities": ["string"],
            "checks": [{ "id": "string", "status": "string", "detail": "string", "hint": "string|null" }],
            "verdicts": ["string"],
            "transcript": [{ "dir": "string", "text": "string", "session": "number" }],
            "error": "string|null",
        }),
        "probe",
    );
    assert_eq!(v["target"], addr.to_string());
    assert_eq!(v["auth_mechanisms"], json!(["LOGIN", "PLAIN"]));
    assert!(!v["transcript"].as_array().unwrap().is_empty());
}

#[test]
fn the_shape_checker_catches_extra_missing_and_mistyped_keys() {
    let shape = json!({ "a": "string", "b?": ["number"], "c": "bool|null" });
    let mut errs = vec![];
    conforms(&json!({ "a": "x", "c": null }), &shape, "$", &mut errs);
    assert!(errs.is_empty(), "{errs:?}");
    conforms(
        &json!({ "a": 1, "b": [1, "2"], "d": 0 }),
        &shape,
        "$",
        &mut errs,
    );
    assert_eq!(
        errs,
        [
            "$.a: expected string, found 1",
            "$.b[1]: expected number, found \"2\"",
            "$: lacks key c",
            "$: undocumented key d"
        ]
    );
}
