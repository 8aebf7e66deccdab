//! Issue 14 items 3 and 5 on fixture trees: release differences come from the profile's data
//! (Debian 11, 12 and 13 roots differ in os-release, /etc/default/saslauthd and systemd units,
//! and the plans differ as the data says), and another installed MTA, read from the tree's
//! own dpkg database by the real dpkg-query, makes apply refuse unless --replace-mta.

mod common;
use common::*;
use std::fs;
use std::path::Path;

/// A private copy of a Debian fixture with the host's cf tree where Debian keeps it.
fn debian(name: &str) -> tempfile::TempDir {
    let t = tempfile::Builder::new()
        .prefix("smtpauth-fresh-")
        .tempdir()
        .unwrap();
    copy_tree(&fixture_dir(name), t.path());
    let cf = Path::new("/usr/share/sendmail/cf");
    if cf.is_dir() {
        copy_tree(cf, &t.path().join("usr/share/sendmail/cf"));
    }
    t
}

fn root_str(t: &tempfile::TempDir) -> &str {
    t.path().to_str().unwrap()
}

fn plan(t: &tempfile::TempDir, extra: &[&str]) -> (Option<i32>, String) {
    let mut a = vec!["plan", "--root", root_str(t)];
    a.extend(extra);
    let o = run(&a);
    (o.status.code(), text(&o))
}

/// The lines of one step's section in `plan` output.
fn section(out: &str, id: &str) -> String {
    let mut on = false;
    let mut v = vec![];
    for l in out.lines() {
        if l.starts_with('[') {
            on = l.split_whitespace().nth(1) == Some(id);
        }
        if on {
            v.push(l);
        }
    }
    v.join("\n")
}

#[test]
fn saslauthd_start_is_written_on_debian_11_and_12_and_not_on_13() {
    need_tools!();
    // (fixture, START line before, START line the plan adds)
    for (name, before, adds) in [
        ("debian11", Some("START=no"), true),
        ("debian12", None, true),
        ("debian13", None, false),
    ] {
        let t = debian(name);
        let df = t.path().join("etc/default/saslauthd");
        let orig = fs::read_to_string(&df).unwrap();
        assert_eq!(
            orig.lines().find(|l| l.starts_with("START=")),
            before,
            "{name} fixture"
        );
        let (_, out) = plan(&t, &[]);
        let sasl = section(&out, "sasl");
        assert_eq!(sasl.contains("+START=yes"), adds, "{name}:\n{sasl}");
        if adds {
            assert!(
                sasl.contains("saslauthd needs START=yes"),
                "{name}:\n{sasl}"
            );
        } else {
            assert!(!sasl.contains("START"), "{name}:\n{sasl}");
            assert!(
                out.contains("ignores START="),
                "{name}: the plan says why\n{out}"
            );
        }
        // apply and rollback: the file as the data says, then the identity.
        let before_snap = snapshot(t.path());
        let o = run(&["apply", "--yes", "--root", root_str(&t)]);
        assert!(o.status.success(), "{name}: {}", text(&o));
        let now = fs::read_to_string(&df).unwrap();
        let starts: Vec<&str> = now.lines().filter(|l| l.starts_with("START=")).collect();
        if adds {
            assert_eq!(starts, ["START=yes"], "{name}:\n{now}");
        } else {
            assert_eq!(
                now, orig,
                "{name}: /etc/default/saslauthd must be left alone"
            );
        }
        let o = run(&["rollback", "--yes", "--root", root_str(&t)]);
        assert!(o.status.success(), "{name}: {}", text(&o));
        let d = diff_snapshots(&before_snap, &snapshot(t.path()));
        assert!(d.is_empty(), "{name}: rollback is not the identity: {d:?}");
    }
}

#[test]
fn the_plan_says_how_services_start_on_each_release() {
    need_tools!();
    for (name, unit) in [("debian11", false), ("debian12", false), ("debian13", true)] {
        let t = debian(name);
        let (_, out) = plan(&t, &[]);
        let os = section(&out, "os");
        for svc in ["sendmail", "saslauthd"] {
            let native = format!(
                "{svc}: the package ships the systemd unit /usr/lib/systemd/system/{svc}.service"
            );
            let sysv = format!("{svc}: no systemd unit on this release");
            assert_eq!(os.contains(&native), unit, "{name}:\n{os}");
            assert_eq!(os.contains(&sysv), !unit, "{name}:\n{os}");
        }
    }
    // Debian 13's data, but the unit files missing: said, not claimed.
    let t = debian("debian13");
    fs::remove_dir_all(t.path().join("usr/lib/systemd")).unwrap();
    let (_, out) = plan(&t, &[]);
    assert!(
        section(&out, "os").contains("which is not there yet (is sendmail installed?)"),
        "{out}"
    );
}

#[test]
fn scram_is_never_offered_on_debian_11() {
    need_tools!();
    for mechs in [
        "SCRAM-SHA-256 PLAIN",
        "LOGIN PLAIN scram-sha-1",
        "SCRAM-SHA-1 SCRAM-SHA-256",
    ] {
        let t = debian("debian11");
        let before = snapshot(t.path());
        let (code, out) = plan(&t, &["--mechanisms", mechs]);
        assert_eq!(code, Some(1), "{mechs}: {out}");
        let mc = section(&out, "sendmail-mc");
        assert!(
            mc.contains("cannot be offered here: this release's Cyrus SASL has no plugin")
                && mc.contains("SCRAM-SHA-")
                && mc.contains("--mechanisms"),
            "{mechs}:\n{mc}"
        );
        let o = run(&[
            "apply",
            "--yes",
            "--root",
            root_str(&t),
            "--mechanisms",
            mechs,
        ]);
        assert!(!o.status.success(), "{mechs}: {}", text(&o));
        assert!(diff_snapshots(&before, &snapshot(t.path())).is_empty());
    }
    // Debian 12 and 13 have the plugin: no such refusal there.
    for name in ["debian12", "debian13"] {
        let t = debian(name);
        let (_, out) = plan(&t, &["--mechanisms", "SCRAM-SHA-256 PLAIN"]);
        assert!(!out.contains("cannot be offered here"), "{name}: {out}");
    }
    // Debian 11's data comes from os-release, not from the fixture's name: the same tree
    // with Debian 12's os-release offers SCRAM.
    let t = debian("debian11");
    fs::copy(
        fixture_dir("debian12").join("etc/os-release"),
        t.path().join("etc/os-release"),
    )
    .unwrap();
    let (_, out) = plan(&t, &["--mechanisms", "SCRAM-SHA-256 PLAIN"]);
    assert!(!out.contains("cannot be offered here"), "{out}");
}

#[test]
fn release_conditions_follow_os_release() {
    need_tools!();
    // (os-release, whether Debian 13's data applies (no START=yes))
    let cases = [
        ("ID=debian\nVERSION_ID=\"14\"\n", true),
        ("ID=debian\nVERSION_ID=13\n", true),
        ("ID=debian\nVERSION_ID='12'\n", false),
        // testing/sid have no VERSION_ID: the base (Debian 12) values
        (
            "PRETTY_NAME=\"Debian GNU/Linux trixie/sid\"\nID=debian\n",
            false,
        ),
        // Ubuntu shares the profile, not Debian's version numbers
        ("ID=ubuntu\nID_LIKE=debian\nVERSION_ID=\"24.04\"\n", false),
        ("ID=raspbian\nID_LIKE=debian\nVERSION_ID=\"13\"\n", false),
    ];
    for (osr, is13) in cases {
        let t = debian("debian12");
        fs::write(t.path().join("etc/os-release"), osr).unwrap();
        let (_, out) = plan(&t, &[]);
        assert_eq!(
            !section(&out, "sasl").contains("+START=yes"),
            is13,
            "{osr}:\n{out}"
        );
    }
}

/// Debian 13's dpkg database with `drop` left out and `add` stanzas appended.
fn dpkg_status(t: &tempfile::TempDir, drop: &[&str], add: &str) {
    let p = t.path().join("var/lib/dpkg/status");
    let s = fs::read_to_string(&p).unwrap();
    let mut out: Vec<&str> = s
        .split("\n\n")
        .filter(|st| {
            !drop
                .iter()
                .any(|d| st.lines().any(|l| l == format!("Package: {d}")))
        })
        .collect();
    out.push(add);
    fs::write(&p, out.join("\n\n")).unwrap();
}

fn stanza(name: &str, status: &str, provides: Option<&str>) -> String {
    let mut s =
        format!("Package: {name}\nStatus: {status}\nArchitecture: amd64\nVersion: 4.98.2-1\n");
    if let Some(p) = provides {
        s.push_str(&format!("Provides: {p}\n"));
    }
    s
}

#[test]
fn another_mta_makes_apply_refuse_unless_replace_mta() {
    need_tools!();
    let installed = "install ok installed";
    let cases = [
        (
            "exim4-daemon-light",
            stanza(
                "exim4-daemon-light",
                installed,
                Some("mail-transport-agent"),
            ),
        ),
        (
            "exim4-daemon-heavy",
            stanza(
                "exim4-daemon-heavy",
                installed,
                Some("exim4-localscandevice-abi-2, mail-transport-agent"),
            ),
        ),
        (
            "postfix",
            stanza(
                "postfix",
                installed,
                Some("default-mta, mail-transport-agent"),
            ),
        ),
        (
            "nullmailer",
            stanza("nullmailer", installed, Some("mail-transport-agent (= 1)")),
        ),
        (
            "exim4-daemon-light, postfix",
            format!(
                "{}\n{}",
                stanza(
                    "exim4-daemon-light",
                    installed,
                    Some("mail-transport-agent")
                ),
                stanza(
                    "postfix",
                    "install ok half-configured",
                    Some("mail-transport-agent")
                )
            ),
        ),
    ];
    for (mtas, add) in cases {
        let t = debian("debian13");
        dpkg_status(&t, &["sendmail-bin"], &add);
        let before = snapshot(t.path());
        let (code, out) = plan(&t, &[]);
        let pk = section(&out, "packages");
        assert_eq!(code, Some(1), "{mtas}: {out}");
        assert!(
            pk.contains(&format!("another mail server is installed: {mtas}; `apt-get install -y sendmail-bin` removes {mtas}"))
                && pk.contains("--replace-mta")
                && pk.contains("replace_mta: true"),
            "{mtas}:\n{pk}"
        );
        // apply refuses before any step, naming the MTA and both ways to decide.
        let o = run(&["apply", "--yes", "--root", root_str(&t)]);
        let e = text(&o);
        assert!(!o.status.success(), "{mtas}: {e}");
        assert!(
            e.contains("step packages is error")
                && e.contains(mtas)
                && e.contains("--replace-mta")
                && e.contains("replace_mta: true"),
            "{mtas}: {e}"
        );
        assert!(
            diff_snapshots(&before, &snapshot(t.path())).is_empty(),
            "{mtas}"
        );
        // JSON carries the decision, for a front end to ask.
        let o = run(&["check", "--format", "json", "--root", root_str(&t)]);
        let j: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        let dec = j["steps"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["id"] == "packages")
            .unwrap()["findings"]
            .as_array()
            .unwrap()
            .iter()
            .find_map(|f| f.get("decision").cloned())
            .unwrap_or_else(|| panic!("{mtas}: no decision in {j}"));
        assert_eq!(dec["key"], "replace_mta");
        assert_eq!(dec["flag"], "--replace-mta");
        assert_eq!(dec["chosen"], false);
        // --replace-mta, or the answers key: the install is then the admin's choice (on a
        // --root tree it is never run; the rest of the plan goes ahead).
        let ans = t.path().join("answers.yaml");
        fs::write(&ans, "replace_mta: true\n").unwrap();
        for extra in [
            vec!["--replace-mta"],
            vec!["--answers", ans.to_str().unwrap()],
        ] {
            let (_, out) = plan(&t, &extra);
            let pk = section(&out, "packages");
            assert!(
                pk.contains("replacing it, as chosen with --replace-mta") && !pk.contains(" x "),
                "{mtas} {extra:?}:\n{pk}"
            );
        }
        fs::remove_file(&ans).unwrap();
    }
}

#[test]
fn no_question_when_no_other_mta_is_installed_or_sendmail_is_already_there() {
    need_tools!();
    // (packages dropped from the database, stanzas added, what the packages step says)
    let cases: [(&[&str], String, &str); 4] = [
        // removed exim: only its configuration files are left
        (
            &["sendmail-bin"],
            stanza(
                "exim4-daemon-light",
                "deinstall ok config-files",
                Some("mail-transport-agent"),
            ),
            "no other mail server is installed",
        ),
        (
            &["sendmail-bin"],
            stanza(
                "exim4-daemon-light",
                "purge ok not-installed",
                Some("mail-transport-agent"),
            ),
            "no other mail server is installed",
        ),
        // a package that provides something else
        (
            &["sendmail-bin"],
            stanza("mailutils", "install ok installed", Some("mailx")),
            "no other mail server is installed",
        ),
        // sendmail-bin installed, only sasl2-bin missing: installing it replaces nothing
        (
            &["sasl2-bin"],
            stanza("mailutils", "install ok installed", None),
            "sasl2-bin is not installed",
        ),
    ];
    for (drop, add, says) in cases {
        let t = debian("debian13");
        dpkg_status(&t, drop, &add);
        let (_, out) = plan(&t, &[]);
        let pk = section(&out, "packages");
        assert!(
            pk.contains(says) && !pk.contains("another mail server"),
            "{drop:?} {add}:\n{pk}"
        );
    }
}

/// The TUI asks the same question on the packages screen: a checkbox naming the MTA and the
/// flag; ticking it checks again with `replace_mta` chosen, and the step is then pending.
#[test]
fn the_tui_asks_whether_to_replace_the_other_mta() {
    use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
    use smtpauth_wizard::engine::step::{Options, Status};
    use smtpauth_wizard::tui::model::{update, Cmd, Model, Msg, Screen};
    use smtpauth_wizard::tui::worker;
    need_tools!();
    let t = debian("debian13");
    dpkg_status(
        &t,
        &["sendmail-bin"],
        &stanza(
            "postfix",
            "install ok installed",
            Some("mail-transport-agent"),
        ),
    );
    let snap = |o: Options| {
        let e = smtpauth_wizard::steps::open(t.path(), None, o).unwrap();
        (worker::info(&e), worker::snapshot(&e))
    };
    let (info, s) = snap(Options::default());
    let mut m = Model::new(info, Options::default(), (80, 24));
    update(&mut m, Msg::Checked(Box::new(s)));
    let i = m.step_index("packages").unwrap();
    assert_eq!(m.status(i), Some(Status::Error));
    m.screen = Screen::Step(i);
    let c = m.choices();
    assert_eq!(c.len(), 1, "{c:?}");
    assert!(
        c[0].label.contains("Replace postfix with sendmail")
            && c[0].label.contains("--replace-mta")
            && !c[0].selected,
        "{c:?}"
    );
    update(
        &mut m,
        Msg::Key(KeyEvent::new(KeyCode::Tab, KeyModifiers::NONE)),
    );
    let cmd = update(
        &mut m,
        Msg::Key(KeyEvent::new(KeyCode::Char(' '), KeyModifiers::NONE)),
    );
    let Some(Cmd::Check(o)) = cmd else {
        panic!("{cmd:?}")
    };
    assert!(o.replace_mta);
    let (_, s) = snap(o);
    update(&mut m, Msg::Checked(Box::new(s)));
    assert_ne!(m.status(i), Some(Status::Error));
    assert!(m.choices()[0].selected);
}

/// Builds empty noarch rpms (name, provides) with the real rpmbuild and records them in an rpm
/// database at ROOT/var/lib/rpm (`rpm --justdb`), as a RHEL tree has it.
fn rpm_db(root: &Path, pkgs: &[(&str, &str)]) -> Result<(), String> {
    use std::process::Command;
    for tool in ["/usr/bin/rpm", "/usr/bin/rpmbuild"] {
        if !Path::new(tool).exists() {
            return Err(format!("{tool} is not installed (apt-get install rpm)"));
        }
    }
    let top = tempfile::tempdir().unwrap();
    let ok = |c: &mut Command| {
        let o = c.output().unwrap();
        assert!(o.status.success(), "{c:?}: {}", text(&o));
    };
    fs::create_dir_all(root.join("var/lib/rpm")).unwrap();
    let r = root.to_str().unwrap();
    ok(Command::new("rpm").args(["--root", r, "--dbpath", "/var/lib/rpm", "--initdb"]));
    for (name, provides) in pkgs {
        let spec = top.path().join(format!("{name}.spec"));
        let mut s = format!("Name: {name}\nVersion: 1.0\nRelease: 1.el9\nSummary: t\nLicense: none\nBuildArch: noarch\n");
        if !provides.is_empty() {
            s.push_str(&format!("Provides: {provides}\n"));
        }
        s.push_str("%description\nt\n%files\n");
        fs::write(&spec, s).unwrap();
        let topdir = format!("_topdir {}", top.path().display());
        let dbpath = format!("_dbpath {}/db", top.path().display());
        ok(Command::new("rpmbuild")
            .args(["--define", &topdir, "--define", &dbpath, "-bb"])
            .arg(&spec));
        let rpm = top
            .path()
            .join(format!("RPMS/noarch/{name}-1.0-1.el9.noarch.rpm"));
        ok(Command::new("rpm")
            .args([
                "--root",
                r,
                "--dbpath",
                "/var/lib/rpm",
                "-i",
                "--justdb",
                "--nodeps",
            ])
            .arg(&rpm));
    }
    Ok(())
}

#[test]
fn on_rpm_systems_postfix_is_named_and_stays_beside_sendmail() {
    need_tools!();
    let rhel = [
        "m4",
        "sendmail-cf",
        "cyrus-sasl-lib",
        "cyrus-sasl-plain",
        "cyrus-sasl",
    ];
    // (packages in the database, what the packages step must say)
    let cases: Vec<(Vec<(&str, &str)>, &str)> = vec![
        (
            vec![("postfix", "MTA smtpd smtpdaemon server(smtp)")],
            "another mail server is installed: postfix; `dnf install -y m4 sendmail sendmail-cf cyrus-sasl-lib cyrus-sasl-plain cyrus-sasl` installs sendmail beside postfix",
        ),
        (
            rhel.iter().map(|n| (*n, "")).chain([("postfix", "MTA"), ("exim", "MTA")]).collect(),
            "another mail server is installed: exim, postfix; `dnf install -y sendmail` installs sendmail beside exim, postfix",
        ),
        (rhel.iter().map(|n| (*n, "")).collect(), "no other mail server is installed (no installed package provides MTA)"),
        // sendmail itself installed (it provides MTA too): nothing to install, no question
        (
            rhel.iter().map(|n| (*n, "")).chain([("sendmail", "MTA"), ("postfix", "MTA")]).collect(),
            "sendmail daemon: sendmail 1.0-1.el9",
        ),
    ];
    for (pkgs, says) in cases {
        let t = fixture("rhel9");
        if let Err(why) = rpm_db(t.path(), &pkgs) {
            if std::env::var_os("SMTPAUTH_WIZARD_REQUIRE_TOOLS").is_some() {
                panic!("{why}");
            }
            eprintln!("SKIPPED: {why}");
            return;
        }
        let (_, out) = plan(&t, &[]);
        let pk = section(&out, "packages");
        assert!(pk.contains(says), "{pkgs:?}:\n{pk}");
        assert_eq!(
            pk.contains("--replace-mta"),
            says.starts_with("another"),
            "{pkgs:?}:\n{pk}"
        );
    }
}
