//! Every real sendmail.mc of `../shared/corpus/mc/` through the editor (HOWTO steps 3 and 4),
//! and every edited one through the real m4 with a copy of the cf tree, so that "edited
//! correctly" means "m4 builds a sendmail.cf with AUTH on and port 25 open".
//!
//! The expected outcome of each file is decided here, by hand, from SOURCES.md: a new file in
//! the corpus makes this test fail until someone decides what should happen to it.
//!
//! Run with `--nocapture` to see the table and m4's warnings.

mod common;

use smtpauth_wizard::mc::{analyse, enable_auth, McEdit, McOptions};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

const CORPUS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/corpus/mc");
const CF_TREE: &str = "/usr/share/sendmail/cf";

enum Expect {
    /// The line numbers of the edits, in order (inserted lines repeat the line they precede).
    Edit(&'static [usize]),
    /// Refused on this line, with this text in the reason.
    Refuse(usize, &'static str),
}

const EXPECTED: &[(&str, Expect)] = &[
    // A template: the cert paths still hold __CERT_DOMAIN__.
    (
        "cabalmail-imap-template.mc",
        Expect::Refuse(30, "__CERT_DOMAIN__"),
    ),
    // Debian template + appended starttls include: drop Addr from MTA-v4, insert the 3 lines.
    (
        "debian-8.14.4-4-default-blogomatic.mc",
        Expect::Edit(&[57, 101, 101, 101]),
    ),
    // Listeners already open (no Addr): only the 3 inserted lines.
    ("debian-sarge-pause.mc", Expect::Edit(&[108, 108, 108])),
    ("debian10-linagora-cyrus.mc", Expect::Edit(&[107, 107, 107])),
    (
        "debian12-8.17.1.9-default.mc",
        Expect::Edit(&[57, 101, 101, 101]),
    ),
    // Red Hat style: un-dnl TRUST_AUTH_MECH and confAUTH_MECHANISMS; MTA has no Addr.
    (
        "docker-sendmail-cyrus-johnhomelan.mc",
        Expect::Edit(&[52, 53]),
    ),
    (
        "fedora-openeuler-sendmail-redhat-template.mc",
        Expect::Refuse(10, "@@PATH@@"),
    ),
    // Run as `m4 cf.m4 freebsd.mc`; listeners have no Addr; insert before MAILER(local).
    ("freebsd-10.2-dch.mc", Expect::Edit(&[103, 103, 103])),
    // @@PATH@@ first; its 'ALIAS_FILE' quoting is a problem too.
    ("pld-linux-sendmail.mc", Expect::Refuse(11, "@@PATH@@")),
    ("redhat-pgu-sendmail-m4.mc", Expect::Refuse(27, "&lt;")),
    // AUTH fully active with other mechanisms: values replaced in place.
    ("redhat8-lunar-8.12.x.mc", Expect::Edit(&[19, 20])),
    // CRLF; no active DAEMON_OPTIONS (sendmail's default listens everywhere).
    ("rhel-centos-linguist-default.mc", Expect::Edit(&[37, 38])),
    (
        "ubuntu-8.14.4-default-willrd9.mc",
        Expect::Edit(&[57, 101, 101, 101]),
    ),
    ("ubuntu-aaronhorler.mc", Expect::Edit(&[57, 101, 101, 101])),
];

#[test]
fn every_corpus_file_is_edited_or_refused_as_expected() {
    let mut files: Vec<PathBuf> = fs::read_dir(CORPUS)
        .unwrap_or_else(|e| panic!("cannot read the corpus at {CORPUS}: {e}"))
        .map(|e| e.expect("corpus entry").path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    let names: Vec<String> = files.iter().map(|p| file_name(p)).collect();
    for (name, _) in EXPECTED {
        assert!(
            names.iter().any(|n| n == name),
            "{name} is expected but not in the corpus"
        );
    }

    let m4 = M4Root::new();
    let opts = McOptions::default();
    let mut failures = Vec::new();
    println!("{:<46} {:<8} details", "file", "outcome");
    for (path, name) in files.iter().zip(&names) {
        let text = String::from_utf8_lossy(&fs::read(path).expect("read corpus file")).into_owned();
        let _ = analyse(&text); // must not panic
        let expect = EXPECTED
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, e)| e)
            .unwrap_or_else(|| panic!("{name}: new corpus file, decide its outcome in EXPECTED"));
        match (enable_auth(&text, &opts), expect) {
            (Ok(edit), Expect::Edit(lines)) => {
                let got: Vec<usize> = edit.edits.iter().map(|e| e.line).collect();
                let detail = format!("edits at {got:?}; {} warning(s)", edit.warnings.len());
                println!("{name:<46} {:<8} {detail}", "edited");
                for w in &edit.warnings {
                    println!("{:<55} warning: {w}", "");
                }
                if got != *lines {
                    failures.push(format!("{name}: edits at {got:?}, expected {lines:?}"));
                }
                if let Err(e) = check_edit(&text, &edit) {
                    failures.push(format!("{name}: {e}"));
                }
                if let Err(e) = m4.check(name, &edit.text) {
                    failures.push(format!("{name}: {e}"));
                }
            }
            (Err(err), Expect::Refuse(line, needle)) => {
                println!("{name:<46} {:<8} {err}", "refused");
                if err.line != *line || !err.reason.contains(needle) {
                    failures.push(format!(
                        "{name}: refused with {err}, expected line {line} mentioning {needle}"
                    ));
                }
                if !err.to_string().contains(&format!("line {line}")) || err.text.is_empty() {
                    failures.push(format!("{name}: the message must name the line: {err}"));
                }
            }
            (Ok(edit), Expect::Refuse(line, _)) => {
                println!("{name:<46} {:<8} {} edits", "edited", edit.edits.len());
                failures.push(format!(
                    "{name}: edited, but expected a refusal on line {line}"
                ));
            }
            (Err(err), Expect::Edit(_)) => {
                println!("{name:<46} {:<8} {err}", "refused");
                failures.push(format!("{name}: refused ({err}), but expected an edit"));
            }
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

/// Red Hat style files whose listener edit is "comment out the only DAEMON_OPTIONS": the
/// corpus has none that can be edited (the templates hold @@PATH@@, the pgu file &lt;), so
/// fill the placeholder in and check that sendmail.cf then listens on port 25 everywhere.
#[test]
fn red_hat_style_files_with_the_placeholder_filled_in_build_with_m4() {
    let m4 = M4Root::new();
    let name = "fedora-openeuler-sendmail-redhat-template.mc";
    let text = fs::read_to_string(Path::new(CORPUS).join(name)).expect("read template");
    // The template also needs access_db for its blacklist_recipients (the cf tree says
    // "FEATURE(blocklist_recipients) requires FEATURE(access_db)" before any edit).
    let text = text
        .replace("@@PATH@@", "/usr/share/sendmail-cf")
        .replace("dnl #FEATURE(`access_db'", "FEATURE(`access_db'");
    let edit = enable_auth(&text, &McOptions::default()).expect("filled-in template is editable");
    let lines: Vec<usize> = edit.edits.iter().map(|e| e.line).collect();
    println!("{name} (@@PATH@@ filled in): edits at {lines:?}");
    assert_eq!(lines, vec![56, 57, 121]);
    assert_eq!(
        edit.edits[2].after.as_deref(),
        Some("dnl DAEMON_OPTIONS(`Port=smtp,Addr=127.0.0.1, Name=MTA')dnl")
    );
    check_edit(&text, &edit).expect("edit is exact and idempotent");
    m4.check(name, &edit.text).expect("m4 builds it");
}

/// Debian 12 after someone followed the HOWTO's step 4 literally: MTA-v4 commented out, so
/// only the submission port is left (FACTS.md). The editor must bring port 25 back.
#[test]
fn debian12_with_the_howto_followed_literally_gets_port_25_back_in_m4() {
    let m4 = M4Root::new();
    let name = "debian12-8.17.1.9-default.mc";
    let text = fs::read_to_string(Path::new(CORPUS).join(name)).expect("read Debian 12 mc");
    if m4.root.is_some() {
        // The check itself can fail: the unedited file has AUTH off and port 25 on loopback.
        let err = m4
            .check("debian12-unedited", &text)
            .expect_err("unedited file must fail");
        println!("{name} unedited: {err}");
    }
    let text = text.replace(
        "\nDAEMON_OPTIONS(`Family=inet,  Name=MTA-v4",
        "\ndnl DAEMON_OPTIONS(`Family=inet,  Name=MTA-v4",
    );
    let edit = enable_auth(&text, &McOptions::default()).expect("editable");
    let lines: Vec<usize> = edit.edits.iter().map(|e| e.line).collect();
    println!("{name} (MTA-v4 commented out by hand): edits at {lines:?}");
    assert_eq!(lines, vec![57, 101, 101, 101]);
    check_edit(&text, &edit).expect("edit is exact and idempotent");
    m4.check("debian12-literal-howto", &edit.text)
        .expect("m4 builds it");
    if m4.root.is_some() {
        // And the listener checks can fail too.
        let mta = "DAEMON_OPTIONS(`Family=inet,  Name=MTA-v4, Port=smtp')dnl";
        let closed = edit.text.replace(mta, &format!("dnl {mta}"));
        let err = m4
            .check("debian12-closed", &closed)
            .expect_err("no port 25 must fail");
        assert!(err.contains("no listener on port 25"), "{err}");
        let looped = edit
            .text
            .replace("Port=smtp')", "Port=smtp, Addr=127.0.0.1')");
        let err = m4
            .check("debian12-loopback", &looped)
            .expect_err("loopback must fail");
        assert!(err.contains("loopback"), "{err}");
    }
}

fn file_name(p: &Path) -> String {
    p.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// Untouched lines byte-identical, edits where they say, and nothing left for a second run.
fn check_edit(old: &str, edit: &McEdit) -> Result<(), String> {
    let strip = |s: &str| {
        s.strip_suffix('\n')
            .map(|s| s.strip_suffix('\r').unwrap_or(s))
            .unwrap_or(s)
            .to_string()
    };
    let old_lines: Vec<&str> = old.split_inclusive('\n').collect();
    let new_lines: Vec<&str> = edit.text.split_inclusive('\n').collect();
    let mut j = 0;
    for (i, line) in old_lines.iter().enumerate() {
        for e in edit
            .edits
            .iter()
            .filter(|e| e.line == i + 1 && e.before.is_none())
        {
            let got = new_lines.get(j).map(|l| strip(l));
            if got.as_deref() != e.after.as_deref() {
                return Err(format!(
                    "inserted line before {} is {got:?}, edit says {:?}",
                    i + 1,
                    e.after
                ));
            }
            j += 1;
        }
        let got = *new_lines.get(j).ok_or("the new text is shorter")?;
        match edit
            .edits
            .iter()
            .find(|e| e.line == i + 1 && e.before.is_some())
        {
            Some(e) => {
                if e.before.as_deref() != Some(strip(line).as_str()) || Some(strip(got)) != e.after
                {
                    return Err(format!("line {} does not match its edit", i + 1));
                }
                if got.ends_with("\r\n") != line.ends_with("\r\n") {
                    return Err(format!("line {} lost its line ending", i + 1));
                }
            }
            None if got != *line => {
                return Err(format!("line {} changed but is not in edits", i + 1))
            }
            None => {}
        }
        j += 1;
    }
    if j != new_lines.len() {
        return Err("the new text has extra lines".into());
    }
    let again = enable_auth(&edit.text, &McOptions::default())
        .map_err(|e| format!("second run refused: {e}"))?;
    if !again.edits.is_empty() || again.text != edit.text {
        return Err(format!("second run still edits: {:?}", again.edits));
    }
    Ok(())
}

/// A throw-away root holding a copy of the cf tree at both places the corpus includes it from.
struct M4Root {
    root: Option<tempfile::TempDir>,
}

impl M4Root {
    fn new() -> Self {
        let have_m4 = Command::new("m4")
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success());
        let have_cf = Path::new(CF_TREE).join("m4/cf.m4").is_file();
        if !have_m4 || !have_cf {
            // A failure where every test must run (common::skip).
            common::skip(format!(
                "m4 checks: {} (install m4 and sendmail-cf to run them); the editor checks still run",
                if have_m4 { "no cf tree at /usr/share/sendmail/cf" } else { "no m4 binary" }
            ));
            return M4Root { root: None };
        }
        let dir = tempfile::tempdir().expect("tempdir");
        for to in ["usr/share/sendmail/cf", "usr/share/sendmail-cf"] {
            copy_tree(Path::new(CF_TREE), &dir.path().join(to)).expect("copy the cf tree");
        }
        M4Root { root: Some(dir) }
    }

    fn check(&self, name: &str, mc: &str) -> Result<(), String> {
        let Some(dir) = &self.root else {
            return Ok(());
        };
        let root = dir.path();
        let report = analyse(mc);
        for (_, inc) in &report.includes {
            let p = root.join(inc.trim_start_matches('/'));
            if inc.starts_with('/') && !p.exists() {
                fs::create_dir_all(p.parent().expect("parent")).map_err(|e| e.to_string())?;
                fs::write(&p, "").map_err(|e| e.to_string())?;
            }
        }
        let rewritten = smtpauth_wizard::mc::rewrite_includes(mc, &root.to_string_lossy());
        let file = root.join(format!("{name}.mc"));
        fs::write(&file, rewritten).map_err(|e| e.to_string())?;
        let mut cmd = Command::new("m4");
        // Files that do not include cf.m4 are run after it, as FreeBSD's Makefile does.
        if !report.includes.iter().any(|(_, p)| p.ends_with("cf.m4")) {
            cmd.arg(root.join("usr/share/sendmail/cf/m4/cf.m4"));
        }
        let out = cmd
            .arg(&file)
            .current_dir(root)
            .output()
            .map_err(|e| format!("m4: {e}"))?;
        let stderr = String::from_utf8_lossy(&out.stderr);
        for l in stderr.lines() {
            println!("{:<55} m4: {l}", "");
        }
        if !out.status.success() || stderr.contains("ERROR") {
            return Err(format!("m4 failed ({}): {stderr}", out.status));
        }
        let cf = String::from_utf8_lossy(&out.stdout);
        for want in [
            "O AuthOptions=A",
            "O AuthMechanisms=LOGIN PLAIN",
            "C{TrustAuthMech}LOGIN PLAIN",
        ] {
            if !cf.lines().any(|l| l.trim_end() == want) {
                return Err(format!("sendmail.cf has no line `{want}`"));
            }
        }
        let mut port25 = 0;
        for l in cf
            .lines()
            .filter_map(|l| l.strip_prefix("O DaemonPortOptions="))
        {
            let field = |k: char| {
                l.split(',')
                    .filter_map(|f| f.trim().split_once('='))
                    .find(|(key, _)| {
                        key.chars()
                            .next()
                            .is_some_and(|c| c.eq_ignore_ascii_case(&k))
                    })
                    .map(|(_, v)| v.trim().to_ascii_lowercase())
            };
            let port = field('p');
            if port.is_none() || port.as_deref() == Some("smtp") || port.as_deref() == Some("25") {
                port25 += 1;
                if let Some(a) = field('a') {
                    if a.starts_with("127.") || a == "::1" {
                        return Err(format!("port 25 still listens on loopback only: {l}"));
                    }
                }
            }
        }
        if port25 == 0 {
            return Err("sendmail.cf has no listener on port 25".into());
        }
        Ok(())
    }
}

fn copy_tree(from: &Path, to: &Path) -> std::io::Result<()> {
    fs::create_dir_all(to)?;
    for entry in fs::read_dir(from)? {
        let entry = entry?;
        let target = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            copy_tree(&entry.path(), &target)?;
        } else {
            fs::copy(entry.path(), target)?;
        }
    }
    Ok(())
}
