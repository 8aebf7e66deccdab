//! Property test of the whole engine on generated sendmail.mc files, through the real binary.
//!
//! Each case starts from the Debian 12 default or the Red Hat 9 fixture's sendmail.mc and
//! varies what the HOWTO's edits meet in the wild: each of the three AUTH lines absent, behind
//! `dnl` (with a space, a tab, or none: the HOWTO's own `dnlTRUST_AUTH_MECH` typo) or active,
//! with different values; the port-25 DAEMON_OPTIONS line as shipped, without `Addr`, open to
//! 0.0.0.0, with its keys reordered, commented out or gone; extra comments, blank lines and very
//! long lines anywhere; trailing whitespace; CRLF line endings; a UTF-8 BOM. The file goes into
//! a copy of the matching fixture root and then:
//! - `apply --yes` exits 0, or exits 1 with a refusal by the sendmail-mc or sendmail-cf step
//!   and then has changed nothing at all;
//! - after a successful apply, sendmail.mc differs only in lines that carry an AUTH setting,
//!   a DAEMON_OPTIONS or a FEATURE, keeps its BOM and its CRLF line endings, and a second
//!   `apply --yes` has nothing to do and changes nothing;
//! - `rollback --yes` gives back the tree byte for byte (content, mode, owner, mtime).

mod common;
use common::*;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use std::fs;

#[derive(Debug, Clone, Copy)]
enum Base {
    Debian12,
    RedHat9,
}

impl Base {
    fn fixture(self) -> &'static str {
        match self {
            Base::Debian12 => "debian12",
            Base::RedHat9 => "redhat9",
        }
    }
}

/// One of the three AUTH settings.
#[derive(Debug, Clone)]
enum Auth {
    Absent,
    /// Behind this `dnl` prefix (`"dnl "`, `"dnl\t"`, `"dnl"`).
    Commented(&'static str, usize),
    Active(usize),
}

#[derive(Debug, Clone, Copy)]
enum Daemon {
    AsShipped,
    NoAddr,
    AnyAddr,
    Reordered,
    Commented,
    Gone,
}

#[derive(Debug, Clone)]
enum Extra {
    Blank,
    Comment(String),
    DnlTab(String),
    LongComment(usize),
}

#[derive(Debug, Clone)]
struct Variant {
    base: Base,
    auth: [Auth; 3],
    daemon: Daemon,
    /// (position as a fraction of the lines in thousandths, line)
    extras: Vec<(usize, Extra)>,
    trailing_ws: Vec<(usize, &'static str)>,
    crlf: bool,
    bom: bool,
}

const OPTIONS: &[&str] = &["A", "A p", "A,p,y"];
const MECHS: &[&str] = &[
    "LOGIN PLAIN",
    "DIGEST-MD5 CRAM-MD5 LOGIN PLAIN",
    "PLAIN",
    "GSSAPI DIGEST-MD5 CRAM-MD5 LOGIN PLAIN",
];

fn auth() -> impl Strategy<Value = Auth> {
    prop_oneof![
        Just(Auth::Absent),
        (
            prop_oneof![Just("dnl "), Just("dnl\t"), Just("dnl ")],
            0..4usize
        )
            .prop_map(|(p, v)| Auth::Commented(p, v)),
        (prop_oneof![Just("dnl"), Just("dnl  ")], 0..4usize)
            .prop_map(|(p, v)| Auth::Commented(p, v)),
        (0..4usize).prop_map(Auth::Active),
    ]
}

fn word() -> impl Strategy<Value = String> {
    "[A-Za-z0-9 .,:=-]{0,40}"
}

fn extra() -> impl Strategy<Value = Extra> {
    prop_oneof![
        Just(Extra::Blank),
        word().prop_map(Extra::Comment),
        word().prop_map(Extra::DnlTab),
        (500..4000usize).prop_map(Extra::LongComment),
    ]
}

fn variant() -> impl Strategy<Value = Variant> {
    (
        prop_oneof![Just(Base::Debian12), Just(Base::RedHat9)],
        [auth(), auth(), auth()],
        prop_oneof![
            3 => Just(Daemon::AsShipped),
            1 => Just(Daemon::NoAddr),
            1 => Just(Daemon::AnyAddr),
            1 => Just(Daemon::Reordered),
            1 => Just(Daemon::Commented),
            1 => Just(Daemon::Gone),
        ],
        proptest::collection::vec((0..1000usize, extra()), 0..6),
        proptest::collection::vec(
            (
                0..1000usize,
                prop_oneof![Just(" "), Just("\t"), Just("  \t ")],
            ),
            0..5,
        ),
        proptest::bool::weighted(0.3),
        proptest::bool::weighted(0.2),
    )
        .prop_map(
            |(base, auth, daemon, extras, trailing_ws, crlf, bom)| Variant {
                base,
                auth,
                daemon,
                extras,
                trailing_ws,
                crlf,
                bom,
            },
        )
}

const SETTINGS: [&str; 3] = ["confAUTH_OPTIONS", "TRUST_AUTH_MECH", "confAUTH_MECHANISMS"];

fn auth_line(which: usize, value: usize) -> String {
    match which {
        0 => format!("define(`confAUTH_OPTIONS', `{}')dnl", OPTIONS[value % 3]),
        1 => format!("TRUST_AUTH_MECH(`{}')dnl", MECHS[value]),
        _ => format!("define(`confAUTH_MECHANISMS', `{}')dnl", MECHS[value]),
    }
}

fn is_mta_line(l: &str) -> bool {
    (l.starts_with("DAEMON_OPTIONS(") && l.contains("Port=smtp,")) || l.contains("Name=MTA-v4")
}

/// The sendmail.mc text of a variant.
fn render(v: &Variant) -> String {
    let base =
        fs::read_to_string(fixture_dir(v.base.fixture()).join("etc/mail/sendmail.mc")).unwrap();
    let mut lines: Vec<String> = vec![];
    for l in base.lines() {
        if SETTINGS.iter().any(|s| l.contains(s)) {
            continue;
        }
        if is_mta_line(l) && !l.starts_with("dnl") {
            let (name, addr_first) = match v.base {
                Base::Debian12 => ("Family=inet,  Name=MTA-v4", false),
                Base::RedHat9 => ("Name=MTA", true),
            };
            let line = match v.daemon {
                Daemon::AsShipped => Some(l.to_string()),
                Daemon::NoAddr if addr_first => {
                    Some("DAEMON_OPTIONS(`Port=smtp, Name=MTA')dnl".into())
                }
                Daemon::NoAddr => Some(format!("DAEMON_OPTIONS(`{name}, Port=smtp')dnl")),
                Daemon::AnyAddr => Some(format!(
                    "DAEMON_OPTIONS(`{name}, Port=smtp, Addr=0.0.0.0')dnl"
                )),
                Daemon::Reordered => Some(format!(
                    "DAEMON_OPTIONS(`Addr=127.0.0.1,Port=smtp,{}')dnl",
                    name.replace("  ", " ")
                )),
                Daemon::Commented => Some(format!("dnl {l}")),
                Daemon::Gone => None,
            };
            lines.extend(line);
            continue;
        }
        if l.starts_with("MAILER") && !lines.iter().any(|x| x.contains("smtpauth-prop")) {
            lines.push("dnl # smtpauth-prop: the AUTH lines of this case".into());
            for (i, a) in v.auth.iter().enumerate() {
                match a {
                    Auth::Absent => {}
                    Auth::Commented(p, val) => lines.push(format!("{p}{}", auth_line(i, *val))),
                    Auth::Active(val) => lines.push(auth_line(i, *val)),
                }
            }
        }
        lines.push(l.to_string());
    }
    let n = lines.len();
    for (at, e) in &v.extras {
        let line = match e {
            Extra::Blank => String::new(),
            Extra::Comment(w) => format!("dnl # {w}"),
            Extra::DnlTab(w) => format!("dnl\t{w}"),
            Extra::LongComment(k) => format!("dnl # {}", "long-line ".repeat(k / 10)),
        };
        lines.insert((at * n / 1000).min(lines.len()), line);
    }
    let n = lines.len();
    for (at, ws) in &v.trailing_ws {
        lines[at * n / 1000].push_str(ws);
    }
    let nl = if v.crlf { "\r\n" } else { "\n" };
    let mut text = if v.bom {
        "\u{feff}".to_string()
    } else {
        String::new()
    };
    for l in lines {
        text.push_str(&l);
        text.push_str(nl);
    }
    text
}

/// Lines the wizard may change in sendmail.mc.
/// The STARTTLS lines the tls step may write (its certificate defines, Debian's include) and
/// the key-file leniency it may need.
const TLS_SETTINGS: [&str; 6] = [
    "confSERVER_CERT",
    "confSERVER_KEY",
    "confCACERT",
    "confCACERT_PATH",
    "confDONT_BLAME_SENDMAIL",
    "/etc/mail/tls/starttls.m4",
];

fn may_change(line: &str) -> bool {
    SETTINGS.iter().any(|s| line.contains(s))
        || TLS_SETTINGS.iter().any(|s| line.contains(s))
        || line.contains("DAEMON_OPTIONS")
        || line.contains("FEATURE(")
}

#[derive(Default)]
struct Tally {
    applied: usize,
    refused: usize,
    /// Why apply refused, shortened, with how often.
    reasons: std::collections::BTreeMap<String, usize>,
}

fn one_case(v: &Variant, tally: &mut Tally) -> Result<(), TestCaseError> {
    let t = fixture(v.base.fixture());
    let mc_path = t.path().join("etc/mail/sendmail.mc");
    let old = render(v);
    fs::write(&mc_path, &old).unwrap();
    // A real server with this mc has the sendmail.cf built from it (a cf built from another
    // mc is refused as hand edits: tests/real_engine.rs).
    rebuild_cf(t.path());
    let before = snapshot(t.path());
    let o = run_root(t.path(), &["apply", "--yes"]);
    let out = text(&o);
    prop_assert!(!out.contains("panicked"), "{out}");
    match o.status.code() {
        Some(0) => {
            tally.applied += 1;
            let new = fs::read_to_string(&mc_path).unwrap();
            prop_assert_eq!(new.starts_with('\u{feff}'), v.bom, "BOM not kept");
            if v.crlf {
                let bare = new
                    .split_inclusive('\n')
                    .filter(|l| !l.ends_with("\r\n"))
                    .count();
                prop_assert_eq!(bare, 0, "CRLF file got LF lines:\n{}", new);
            }
            let diff = similar::TextDiff::from_lines(&old, &new);
            for c in diff.iter_all_changes() {
                if c.tag() != similar::ChangeTag::Equal {
                    prop_assert!(
                        may_change(c.value()),
                        "apply changed a line it had no business with: {:?}{:?}",
                        c.tag(),
                        c.value()
                    );
                }
            }
            let once = snapshot(t.path());
            let o = run_root(t.path(), &["apply", "--yes"]);
            prop_assert_eq!(o.status.code(), Some(0), "second apply: {}", text(&o));
            prop_assert!(
                text(&o).contains("nothing to do"),
                "second apply: {}",
                text(&o)
            );
            let d = diff_snapshots(&once, &snapshot(t.path()));
            prop_assert!(d.is_empty(), "second apply changed {:?}", d);
        }
        Some(1) => {
            tally.refused += 1;
            let why = out
                .lines()
                .find(|l| l.contains(" is error: "))
                .map(|l| {
                    // "step X is error: PATH: line N: REASON (the line reads ...)" -> X: REASON
                    let (step, rest) = l.split_once(" is error: ").unwrap();
                    let rest = rest.split(" (the line reads").next().unwrap();
                    let rest = rest.rsplit(": line ").next().unwrap();
                    let rest = rest.trim_start_matches(|c: char| c.is_ascii_digit() || c == ':');
                    format!(
                        "{}: {}",
                        step.trim_start_matches("smtpauth-wizard: step "),
                        rest.trim()
                    )
                })
                .unwrap_or_default();
            *tally
                .reasons
                .entry(why.chars().take(110).collect())
                .or_default() += 1;
            prop_assert!(
                out.contains("step sendmail-mc is error")
                    || out.contains("step sendmail-cf is error"),
                "refused, but not by sendmail-mc or sendmail-cf: {}",
                out
            );
            prop_assert!(out.contains("Nothing was changed"), "{}", out);
            let d = diff_snapshots(&before, &snapshot(t.path()));
            prop_assert!(d.is_empty(), "a refused apply changed {:?}", d);
        }
        other => prop_assert!(false, "apply exited {:?}: {}", other, out),
    }
    let o = run_root(t.path(), &["rollback", "--yes"]);
    prop_assert_eq!(o.status.code(), Some(0), "rollback: {}", text(&o));
    let d = diff_snapshots(&before, &snapshot(t.path()));
    prop_assert!(d.is_empty(), "rollback is not the identity: {:?}", d);
    Ok(())
}

#[test]
fn generated_sendmail_mc_apply_is_idempotent_and_rollback_is_the_identity() {
    need_tools!();
    skip_unless!(need_root(
        "apply gives the files it creates to root, owner 0:0"
    ));
    let cases = std::env::var("PROP_ENGINE_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(32);
    let mut runner = TestRunner::new(Config {
        cases,
        max_shrink_iters: 24,
        failure_persistence: None,
        ..Config::default()
    });
    let tally = std::cell::RefCell::new(Tally::default());
    let res = runner.run(&variant(), |v| one_case(&v, &mut tally.borrow_mut()));
    let t = tally.into_inner();
    println!(
        "{} generated sendmail.mc files: {} applied, {} refused by sendmail-mc/sendmail-cf (changing nothing); every rollback was the identity",
        t.applied + t.refused,
        t.applied,
        t.refused
    );
    for (why, n) in &t.reasons {
        println!("  refused {n}x: {why}");
    }
    if let Err(e) = res {
        panic!("{e}");
    }
    assert!(
        t.applied * 3 >= t.applied + t.refused,
        "too few cases applied ({} of {}): the generator no longer reaches the editor's edits",
        t.applied,
        t.applied + t.refused
    );
}
