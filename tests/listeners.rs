//! Issue 9, items 1 and 7: after the wizard's edit every listener the regenerated sendmail.cf
//! asks for can be bound at the same time, checked with the real daemon.
//!
//! For each listener variant: the Debian 12 fixture with those DAEMON_OPTIONS lines, `apply
//! --yes` on the tree (the real m4 and cf tree regenerate sendmail.cf), then
//! `sendmail-mta -bD -C <that cf>` inside an isolated network namespace (tests/listeners/bind.sh,
//! with the addresses the cf names added to lo) must hold every socket the cf asks for. The
//! listener lines the previous edit wrote for the IPv4+IPv6 and loopback+LAN variants are run
//! the same way and must fail to bind: that is the bug, and it shows that the check can fail.
//! Variants the wizard cannot decide are refused with the key that decides them, and change
//! nothing. Apply then rollback is the identity on every variant.
//!
//! Needs root (unshare, port 25) and sendmail, m4 and the cf tree; elsewhere it prints SKIPPED
//! (and fails under SMTPAUTH_WIZARD_REQUIRE_TOOLS as root, as CI runs it).

mod common;

use common::*;
use smtpauth_wizard::engine::host::live::parse_proc_net_tcp;
use std::fs;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::Path;
use std::process::{Command, Stdio};

/// The four listener lines of Debian's default sendmail.mc (56-59).
const DEBIAN_LISTENERS: &str =
    "dnl DAEMON_OPTIONS(`Family=inet6, Name=MTA-v6, Port=smtp, Addr=::1')dnl
DAEMON_OPTIONS(`Family=inet,  Name=MTA-v4, Port=smtp, Addr=127.0.0.1')dnl
dnl DAEMON_OPTIONS(`Family=inet6, Name=MSP-v6, Port=submission, M=Ea, Addr=::1')dnl
DAEMON_OPTIONS(`Family=inet,  Name=MSP-v4, Port=submission, M=Ea, Addr=127.0.0.1')dnl
";

const MTA_V6: &str = "DAEMON_OPTIONS(`Family=inet6, Name=MTA-v6, Port=smtp, Addr=::1')dnl";
const MTA_V4: &str = "DAEMON_OPTIONS(`Family=inet,  Name=MTA-v4, Port=smtp, Addr=127.0.0.1')dnl";
const MSP_V4: &str =
    "DAEMON_OPTIONS(`Family=inet,  Name=MSP-v4, Port=submission, M=Ea, Addr=127.0.0.1')dnl";
/// MSP_V4 after the submission step (issue 11 item 3): on every address.
const MSA_V4: &str = "DAEMON_OPTIONS(`Family=inet,  Name=MSA-v4, Port=submission, M=Ea')dnl";
const MTA_LAN: &str = "DAEMON_OPTIONS(`Family=inet,  Name=MTA-lan, Port=smtp, Addr=192.0.2.10')dnl";

/// Root and the daemon's tools, or a reason to skip (common::skip: a failure under REQUIRE_TOOLS).
fn daemon_tools() -> Result<(), String> {
    let why = if !nix::unistd::geteuid().is_root() {
        Some("needs root (unshare, port 25)".to_string())
    } else {
        ["/usr/sbin/sendmail-mta", "/usr/bin/unshare", "/usr/sbin/ip"]
            .iter()
            .find(|t| !Path::new(t).exists())
            .map(|t| format!("{t} is not installed (apt-get install sendmail iproute2)"))
    };
    match why {
        None => Ok(()),
        Some(w) => Err(w),
    }
}

macro_rules! need_daemon {
    () => {
        need_tools!();
        skip_unless!(daemon_tools());
    };
}

/// The Debian 12 fixture with `lines` in place of its four listener lines.
fn tree(lines: &[&str]) -> tempfile::TempDir {
    let t = fixture("debian12");
    let mc = t.path().join("etc/mail/sendmail.mc");
    let text = fs::read_to_string(&mc).unwrap();
    assert!(
        text.contains(DEBIAN_LISTENERS),
        "the fixture's listener lines moved"
    );
    let mut block = lines.join("\n");
    block.push('\n');
    fs::write(&mc, text.replace(DEBIAN_LISTENERS, &block)).unwrap();
    // The server's sendmail.cf is current with its mc (no hand edits), as after `make`.
    rebuild_cf(t.path());
    t
}

/// A socket the cf asks for: (family is IPv6, address, port, optional).
#[derive(Debug, Clone, PartialEq)]
struct Want {
    addr: IpAddr,
    port: u16,
    optional: bool,
}

/// Every TCP listener of the cf's `O DaemonPortOptions=` lines, read as sendmail reads them
/// (first letter of each key; no Addr: every address; no Port: smtp).
fn wanted(cf: &str) -> Vec<Want> {
    let mut v = vec![];
    for line in cf.lines() {
        let Some(opts) = line.strip_prefix("O DaemonPortOptions=") else {
            continue;
        };
        let (mut fam, mut addr, mut port, mut mods) = ("inet", None, "smtp", "");
        for f in opts.split(',') {
            let Some((k, val)) = f.split_once('=') else {
                continue;
            };
            let val = val.trim();
            match k.trim().chars().next().map(|c| c.to_ascii_lowercase()) {
                Some('f') => {
                    fam = if val == "inet6" {
                        "inet6"
                    } else if val == "inet" {
                        "inet"
                    } else {
                        "other"
                    }
                }
                Some('a') => addr = Some(val),
                Some('p') => port = val,
                Some('m') => mods = val,
                _ => {}
            }
        }
        let port: u16 = match port {
            "smtp" | "mail" => 25,
            "submission" => 587,
            "smtps" => 465,
            p => match p.parse() {
                Ok(n) => n,
                // A name /etc/services lacks: the daemon stops at start; nothing to hold.
                Err(_) => continue,
            },
        };
        let addr: IpAddr = match (fam, addr) {
            ("other", _) => continue,
            ("inet6", None) => Ipv6Addr::UNSPECIFIED.into(),
            (_, None) => Ipv4Addr::UNSPECIFIED.into(),
            (_, Some("localhost")) => Ipv4Addr::LOCALHOST.into(),
            (_, Some(a)) => a
                .parse()
                .unwrap_or_else(|_| panic!("address {a} in {line}")),
        };
        v.push(Want {
            addr,
            port,
            optional: mods.contains('O'),
        });
    }
    v
}

/// The /proc/net/tcp{,6} local address of a wanted socket.
fn proc_pattern(w: &Want) -> String {
    match w.addr {
        IpAddr::V4(a) => format!("tcp {:08X}:{:04X}", u32::from_le_bytes(a.octets()), w.port),
        IpAddr::V6(a) => {
            let o = a.octets();
            let words: String = o
                .chunks(4)
                .map(|c| format!("{:08X}", u32::from_le_bytes([c[0], c[1], c[2], c[3]])))
                .collect();
            format!("tcp6 {words}:{:04X}", w.port)
        }
    }
}

/// Runs the real daemon on `cf` in a private namespace: Ok(every listening socket) when it
/// holds every non-optional socket the cf asks for, Err(why and what it holds) otherwise.
fn daemon_binds(cf: &Path) -> Result<Vec<String>, String> {
    let text = fs::read_to_string(cf).unwrap();
    let want = wanted(&text);
    assert!(
        !want.is_empty() || !text.contains("DaemonPortOptions"),
        "{text}"
    );
    // No DAEMON_OPTIONS left: sendmail's default, every IPv4 address on port 25.
    let want = if want.is_empty() {
        vec![Want {
            addr: Ipv4Addr::UNSPECIFIED.into(),
            port: 25,
            optional: false,
        }]
    } else {
        want
    };
    let work = tempfile::Builder::new()
        .prefix("smtpauth-bind-")
        .tempdir()
        .unwrap();
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
    .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/listeners/bind.sh"))
    .arg(work.path())
    .arg(cf);
    for w in &want {
        let extra = match w.addr {
            IpAddr::V4(a) => !a.is_loopback() && !a.is_unspecified(),
            IpAddr::V6(a) => {
                !a.is_loopback() && !a.is_unspecified() && a.to_ipv4_mapped().is_none()
            }
        };
        if extra {
            cmd.arg(w.addr.to_string());
        }
    }
    cmd.arg("--");
    for w in want.iter().filter(|w| !w.optional) {
        cmd.arg(proc_pattern(w));
    }
    let out = cmd.stdin(Stdio::null()).output().expect("unshare");
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    let held: Vec<String> = ["tcp", "tcp6"]
        .iter()
        .flat_map(|k| {
            let t = fs::read_to_string(work.path().join(k)).unwrap_or_default();
            parse_proc_net_tcp(&t, *k == "tcp6")
        })
        .map(|l| format!("{}:{}", l.addr, l.port))
        .collect();
    let daemon = fs::read_to_string(work.path().join("daemon.out")).unwrap_or_default();
    match stdout.lines().find_map(|l| l.strip_prefix("RESULT ")) {
        Some("BOUND") => Ok(held),
        Some(why) => Err(format!(
            "{why}; the daemon holds {held:?}; it said: {daemon}; wanted {want:?}"
        )),
        None => panic!("bind.sh gave no result: {stdout}{stderr}"),
    }
}

/// `apply --yes` on the tree must succeed and leave nothing to do; the new cf must bind; then
/// rollback must restore every byte, mode and time.
fn apply_and_bind(lines: &[&str], extra: &[&str]) -> (String, Vec<String>) {
    let t = tree(lines);
    let before = snapshot(t.path());
    let mut args = vec!["apply", "--yes"];
    args.extend_from_slice(extra);
    let o = run_root(t.path(), &args);
    assert_eq!(o.status.code(), Some(0), "{lines:?}: apply: {}", text(&o));
    let mut check = vec!["check"];
    check.extend_from_slice(extra);
    let c = run_root(t.path(), &check);
    assert_eq!(
        c.status.code(),
        Some(0),
        "{lines:?}: check after apply: {}",
        text(&c)
    );
    let mc = fs::read_to_string(t.path().join("etc/mail/sendmail.mc")).unwrap();
    let held = daemon_binds(&t.path().join("etc/mail/sendmail.cf"))
        .unwrap_or_else(|e| panic!("{lines:?}: the new sendmail.cf does not bind: {e}\n{mc}"));
    let o = run_root(t.path(), &["rollback", "--yes"]);
    assert_eq!(o.status.code(), Some(0), "rollback: {}", text(&o));
    let d = diff_snapshots(&before, &snapshot(t.path()));
    assert!(
        d.is_empty(),
        "{lines:?}: rollback is not the identity: {d:#?}"
    );
    (mc, held)
}

/// The listener lines as they are in an mc text, active ones only.
fn active_listeners(mc: &str) -> Vec<&str> {
    mc.lines()
        .filter(|l| l.starts_with("DAEMON_OPTIONS("))
        .collect()
}

/// The tree's sendmail.mc through the real m4 as it is (its includes are the host's cf tree
/// and /etc/mail/m4 files, which the Debian fixture's mc names by absolute path).
fn m4_as_is(root: &Path) -> std::path::PathBuf {
    let cf = root.join("as-is.cf");
    let o = Command::new("m4")
        .arg(root.join("etc/mail/sendmail.mc"))
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    fs::write(&cf, &o.stdout).unwrap();
    cf
}

#[test]
fn lines_refused_as_broken_do_stop_the_real_daemon() {
    need_daemon!();
    // The refusals' reasons, checked: sendmail looks these up when it reads the cf, and when
    // the lookup fails its daemon does not start at all.
    for (line, says) in [
        (
            "DAEMON_OPTIONS(`Family=inet, Name=MTA, Port=smtp, Addr=::1')dnl",
            "host \"::1\" unknown",
        ),
        (
            "DAEMON_OPTIONS(`Family=inet6, Name=MTA, Port=smtp, Addr=127.0.0.1')dnl",
            "host \"127.0.0.1\" unknown",
        ),
        (
            "DAEMON_OPTIONS(`Port=SMTP, Addr=127.0.0.1, Name=MTA')dnl",
            "service \"SMTP\" unknown",
        ),
    ] {
        let t = tree(&[line, MSP_V4]);
        let err = daemon_binds(&m4_as_is(t.path())).expect_err(line);
        assert!(
            err.contains(says) && err.contains("exited"),
            "{line}: {err}"
        );
        let o = run_root(t.path(), &["check"]);
        assert_eq!(o.status.code(), Some(1), "{line}: {}", text(&o));
    }
}

#[test]
fn the_previous_edit_of_two_variants_cannot_bind_and_the_new_one_can() {
    need_daemon!();
    // What the edit before this fix wrote (commit e2db59e), regenerated with the real m4 and cf
    // tree: (a) MTA-v6 switched on beside MTA-v4, both made wildcards; (b) the loopback line
    // beside a LAN listener made a wildcard.
    let old_v4_v6 = [
        "DAEMON_OPTIONS(`Family=inet6, Name=MTA-v6, Port=smtp')dnl",
        "DAEMON_OPTIONS(`Family=inet,  Name=MTA-v4, Port=smtp')dnl",
        MSP_V4,
    ];
    let old_lan = [
        "DAEMON_OPTIONS(`Family=inet,  Name=MTA-v4, Port=smtp')dnl",
        MTA_LAN,
        MSP_V4,
    ];
    for old in [&old_v4_v6[..], &old_lan[..]] {
        let t = tree(old);
        let cf = m4_as_is(t.path());
        let err = daemon_binds(&cf).expect_err("the previous edit's listeners bound");
        assert!(
            err.contains("Address already in use"),
            "{old:?}: expected a bind failure, got {err}"
        );
    }

    // The same starting points through the wizard now.
    let (mc, held) = apply_and_bind(&[MTA_V6, MTA_V4, MSP_V4], &[]);
    assert_eq!(
        active_listeners(&mc),
        vec![
            MTA_V6,
            "DAEMON_OPTIONS(`Family=inet,  Name=MTA-v4, Port=smtp')dnl",
            MSA_V4
        ]
    );
    for s in ["0.0.0.0:25", "::1:25", "0.0.0.0:587"] {
        assert!(held.iter().any(|h| h == s), "{s} not in {held:?}");
    }
    let (mc, held) = apply_and_bind(&[MTA_V4, MTA_LAN, MSP_V4], &[]);
    assert_eq!(active_listeners(&mc), vec![MTA_V4, MTA_LAN, MSA_V4]);
    for s in ["127.0.0.1:25", "192.0.2.10:25", "0.0.0.0:587"] {
        assert!(held.iter().any(|h| h == s), "{s} not in {held:?}");
    }
}

/// What it is, its listener lines, extra flags, and the sockets the daemon must hold.
type Variant<'a> = (&'a str, Vec<&'a str>, Vec<&'a str>, Vec<&'a str>);

#[test]
fn every_listener_variant_binds_after_the_edit() {
    need_daemon!();
    let public_v6 = "DAEMON_OPTIONS(`Family=inet6, Name=MTA-v6, Port=smtp, Addr=2001:db8::25')dnl";
    let variants: Vec<Variant> = vec![
        // (what, listener lines, extra flags, sockets that must be held)
        (
            "Debian stock: IPv4 loopback and the MSP on 587",
            vec![MTA_V4, MSP_V4],
            vec![],
            vec!["0.0.0.0:25", "0.0.0.0:587"],
        ),
        (
            "IPv6 opened by choice, IPv4 loopback commented out",
            vec![MTA_V6, MTA_V4, MSP_V4],
            vec!["--open-listener", "MTA-v6"],
            vec![":::25", "0.0.0.0:587"],
        ),
        (
            "loopback beside a public IPv6 address",
            vec![MTA_V4, public_v6, MSP_V4],
            vec![],
            vec!["127.0.0.1:25", "2001:db8::25:25"],
        ),
        (
            "loopback beside a public IPv4 address, Port=25 spelled as a number",
            vec![
                "DAEMON_OPTIONS(`Port=25,Addr=127.0.0.1, Name=MTA')dnl",
                "DAEMON_OPTIONS(`Port=25,Addr=203.0.113.25, Name=MTA-pub')dnl",
            ],
            vec![],
            vec!["127.0.0.1:25", "203.0.113.25:25"],
        ),
        (
            "Red Hat's only listener (commented out: sendmail's default)",
            vec!["DAEMON_OPTIONS(`Port=smtp,Addr=127.0.0.1, Name=MTA')dnl"],
            vec![],
            vec!["0.0.0.0:25"],
        ),
        (
            "127.0.0.2 instead of 127.0.0.1",
            vec![
                "DAEMON_OPTIONS(`Family=inet, Name=MTA-v4, Port=smtp, Addr=127.0.0.2')dnl",
                MSP_V4,
            ],
            vec![],
            vec!["0.0.0.0:25", "0.0.0.0:587"],
        ),
        (
            "IPv6 loopback written as a v4-mapped address, alone on port 25",
            vec![
                "DAEMON_OPTIONS(`Family=inet6, Name=MTA-m, Port=smtp, Addr=::ffff:127.0.0.1')dnl",
                MSP_V4,
            ],
            vec![],
            vec![":::25", "0.0.0.0:587"],
        ),
        (
            "Addr=0.0.0.0 already",
            vec![
                "DAEMON_OPTIONS(`Family=inet, Name=MTA-v4, Port=smtp, Addr=0.0.0.0')dnl",
                MSP_V4,
            ],
            vec![],
            vec!["0.0.0.0:25", "0.0.0.0:587"],
        ),
        (
            "two IPv4 loopback listeners, one chosen",
            vec![
                "DAEMON_OPTIONS(`Port=smtp, Addr=127.0.0.1, Name=MTA')dnl",
                "DAEMON_OPTIONS(`Port=smtp, Addr=127.0.0.2, Name=MTA-2')dnl",
                MSP_V4,
            ],
            vec!["--open-listener", "MTA"],
            vec!["0.0.0.0:25", "0.0.0.0:587"],
        ),
    ];
    for (what, lines, extra, must) in variants {
        let (mc, held) = apply_and_bind(&lines, &extra);
        for s in must {
            assert!(
                held.iter().any(|h| h == s),
                "{what}: {s} not held: {held:?}\n{}",
                active_listeners(&mc).join("\n")
            );
        }
    }
}

#[test]
fn variants_the_wizard_cannot_decide_are_refused_with_the_key_and_change_nothing() {
    need_tools!();
    for (what, lines, says) in [
        (
            "two IPv4 loopback listeners",
            vec![
                "DAEMON_OPTIONS(`Port=smtp, Addr=127.0.0.1, Name=MTA')dnl",
                "DAEMON_OPTIONS(`Port=smtp, Addr=127.0.0.2, Name=MTA-2')dnl",
                MSP_V4,
            ],
            "open_listener",
        ),
        (
            "IPv4 loopback beside a v4-mapped IPv6 loopback",
            vec![
                MTA_V4,
                "DAEMON_OPTIONS(`Family=inet6, Name=MTA-m, Port=smtp, Addr=::ffff:127.0.0.1')dnl",
                MSP_V4,
            ],
            "open_listener",
        ),
        (
            "an IPv6 address on an IPv4 listener",
            vec![
                "DAEMON_OPTIONS(`Family=inet, Name=MTA, Port=smtp, Addr=::1')dnl",
                MSP_V4,
            ],
            "host unknown",
        ),
    ] {
        let t = tree(&lines);
        let before = snapshot(t.path());
        let c = run_root(t.path(), &["check"]);
        assert_eq!(c.status.code(), Some(1), "{what}: check: {}", text(&c));
        assert!(text(&c).contains(says), "{what}: {}", text(&c));
        let o = run_root(t.path(), &["apply", "--yes"]);
        assert_ne!(
            o.status.code(),
            Some(0),
            "{what}: apply went ahead: {}",
            text(&o)
        );
        assert!(text(&o).contains(says), "{what}: {}", text(&o));
        let d = diff_snapshots(&before, &snapshot(t.path()));
        assert!(d.is_empty(), "{what}: a refused apply changed {d:#?}");
    }
}

#[test]
fn m_a_on_the_port_25_listener_is_a_warning_with_the_fix() {
    need_tools!();
    for (m, fix) in [("M=Ea", "write M=E instead of M=Ea"), ("M=a", "remove M=a")] {
        let line = format!(
            "DAEMON_OPTIONS(`Family=inet,  Name=MTA-v4, Port=smtp, {m}, Addr=127.0.0.1')dnl"
        );
        let t = tree(&[&line, MSP_V4]);
        let c = run_root(t.path(), &["check"]);
        let out = text(&c);
        assert!(
            out.contains("530 5.7.0 Authentication required") && out.contains(fix),
            "{m}: {out}"
        );
        assert!(out.contains("submission"), "{out}");
    }
    // M=A (no AUTH) and M=Ea on the submission port are not flagged; nor is M=a on a loopback
    // listener that stays on loopback beside a network one.
    for lines in [
        vec![
            "DAEMON_OPTIONS(`Family=inet,  Name=MTA-v4, Port=smtp, M=EA, Addr=127.0.0.1')dnl",
            MSP_V4,
        ],
        vec![MTA_V4, MSP_V4],
        vec![
            "DAEMON_OPTIONS(`Family=inet,  Name=MTA-v4, Port=smtp, M=a, Addr=127.0.0.1')dnl",
            MTA_LAN,
        ],
    ] {
        let t = tree(&lines);
        let out = text(&run_root(t.path(), &["check"]));
        assert!(!out.contains("530 5.7.0"), "{lines:?}: {out}");
    }
}

#[test]
fn the_answers_key_open_listener_chooses_like_the_flag_and_the_flag_wins() {
    need_tools!();
    let t = tree(&[MTA_V6, MTA_V4, MSP_V4]);
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("answers.yaml");
    fs::write(&a, "open_listener: MTA-v6\n").unwrap();
    let a = a.to_str().unwrap();
    let o = run_root(t.path(), &["plan", "--answers", a]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let out = text(&o);
    assert!(
        out.contains("+DAEMON_OPTIONS(`Family=inet6, Name=MTA-v6, Port=smtp')dnl")
            && out.contains(&format!("+dnl {MTA_V4}")),
        "{out}"
    );
    // The flag overrides the file.
    let o = run_root(
        t.path(),
        &["plan", "--answers", a, "--open-listener", "MTA-v4"],
    );
    let out = text(&o);
    assert!(
        out.contains("+DAEMON_OPTIONS(`Family=inet,  Name=MTA-v4, Port=smtp')dnl")
            && !out.contains(&format!("+dnl {MTA_V4}")),
        "{out}"
    );
    // A name that no port-25 listener has is an error naming the ones there are.
    let o = run_root(t.path(), &["check", "--open-listener", "MSP-v4"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(text(&o).contains("Name=MTA-v6"), "{}", text(&o));
}
