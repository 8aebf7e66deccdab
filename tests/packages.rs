//! The .deb and the .rpm that `.ci/package` builds (into target/packages/): the .deb is
//! installed with `dpkg -i`, the installed `/usr/bin/smtpauth-wizard` runs `--version` and
//! `check --root` on a fixture copy, its man page and completions are where the shells look,
//! and `dpkg -r` removes it again (also when an assertion fails), leaving the machine as it
//! was. The .rpm's file list (`rpm -qpl`) must hold the same files.
//!
//! The packaged binary is built against glibc 2.17 (cargo-zigbuild): it must need no GLIBC
//! symbol version above 2.17, no library the packages do not depend on, and the .deb's
//! Depends and the .rpm's Requires must say exactly that (checked from the packages
//! themselves with dpkg-deb, readelf and rpm). tests/distros.rs installs the .deb on Debian 11
//! (glibc 2.31) and 13 booted with systemd and runs the live scenario there.
//!
//! Building the packages takes minutes (a release build, and the first time cargo-deb and
//! cargo-generate-rpm are compiled), and cargo cannot build while `cargo test` holds the
//! target directory, so this test does not build them: run `bash .ci/package` first and set
//! `SMTPAUTH_WIZARD_PACKAGES_DIR=target/packages` (.ci/test does both as root). Without it,
//! or without root, it prints SKIPPED; with SMTPAUTH_WIZARD_REQUIRE_TOOLS set, a missing tool
//! (dpkg, rpm, readelf), an unset SMTPAUTH_WIZARD_PACKAGES_DIR or missing packages in that
//! directory is a failure instead.

mod common;
use common::*;
use std::path::{Path, PathBuf};
use std::process::Command;

const NAME: &str = "smtpauth-wizard";

/// Prints SKIPPED (or fails, where the tools are required) and returns from the test.
macro_rules! skip {
    ($($why:tt)*) => { skip_test!($($why)*) };
}

fn find(dir: &Path, ext: &str) -> Option<PathBuf> {
    find_package(dir, ext)
}

fn installed() -> bool {
    Command::new("dpkg-query")
        .args(["-W", "-f=${db:Status-Status}", NAME])
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "installed")
}

/// Removes the package when dropped, so a failed assertion does not leave it installed.
struct Installed;
impl Drop for Installed {
    fn drop(&mut self) {
        let o = Command::new("dpkg").args(["-r", NAME]).output();
        if !o.as_ref().is_ok_and(|o| o.status.success()) {
            eprintln!("dpkg -r {NAME} failed: {o:?}");
        }
        let _ = Command::new("dpkg").args(["--purge", NAME]).output();
    }
}

/// What both packages must install (the zsh completion goes where each distribution's zsh
/// looks; the man pages are checked by name).
const COMMON: &[&str] = &[
    "/usr/bin/smtpauth-wizard",
    "/usr/share/man/man8/smtpauth-wizard.8.gz",
    "/usr/share/man/man8/smtpauth-wizard-check.8.gz",
    "/usr/share/man/man8/smtpauth-wizard-apply.8.gz",
    "/usr/share/man/man8/smtpauth-wizard-rollback.8.gz",
    "/usr/share/bash-completion/completions/smtpauth-wizard",
    "/usr/share/fish/vendor_completions.d/smtpauth-wizard.fish",
    "/usr/share/doc/smtpauth-wizard/README.md",
    "/usr/share/doc/smtpauth-wizard/CHANGELOG.md",
    "/usr/share/doc/smtpauth-wizard/docs/json.md",
    "/usr/share/doc/smtpauth-wizard/examples/answers.example.yaml",
    "/usr/share/doc/smtpauth-wizard/examples/ansible/playbook.yml",
    "/usr/share/smtpauth-wizard/profiles/debian.yaml",
];

#[test]
fn the_deb_installs_runs_and_removes_cleanly_and_the_rpm_has_the_same_files() {
    if nix::unistd::geteuid().as_raw() != 0 {
        skip!("not root: installing a .deb needs root");
    }
    let dir = match packages_dir() {
        Ok(d) => d,
        Err(why) => skip!("{why}"),
    };
    let Some(deb) = find(&dir, "deb") else {
        skip!("no .deb in {}: run `bash .ci/package`", dir.display());
    };
    let Some(rpm) = find(&dir, "rpm") else {
        skip!("no .rpm in {}: run `bash .ci/package`", dir.display());
    };
    if installed() {
        skip!("{NAME} is already installed here; this test installs and removes it, so it leaves an existing installation alone");
    }
    need_tools!();

    let o = Command::new("dpkg").arg("-i").arg(&deb).output().unwrap();
    let guard = Installed;
    assert!(
        o.status.success(),
        "dpkg -i {}: {}",
        deb.display(),
        text(&o)
    );
    let listed = String::from_utf8_lossy(
        &Command::new("dpkg")
            .args(["-L", NAME])
            .output()
            .unwrap()
            .stdout,
    )
    .to_string();
    for f in COMMON
        .iter()
        .chain(&["/usr/share/zsh/vendor-completions/_smtpauth-wizard"])
    {
        assert!(Path::new(f).exists(), "{f} is not installed");
        assert!(listed.lines().any(|l| l == *f), "dpkg -L lacks {f}");
    }

    // The TUI's `smtpauth-wizard demo` copies its demo root from here when installed.
    let demo = Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/demo-root");
    let demo_mc = "/usr/share/smtpauth-wizard/demo-root/etc/mail/sendmail.mc";
    if demo.is_dir() {
        assert!(Path::new(demo_mc).is_file(), "{demo_mc} is not installed");
    }

    let o = Command::new("/usr/bin/smtpauth-wizard")
        .arg("--version")
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(
        String::from_utf8_lossy(&o.stdout),
        format!(
            "{NAME} {} (profiles: redhat-legacy, rhel, debian)\n",
            env!("CARGO_PKG_VERSION")
        )
    );
    let t = fixture("debian12");
    let o = Command::new("/usr/bin/smtpauth-wizard")
        .arg("check")
        .arg("--root")
        .arg(t.path())
        .args(["--format", "json"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["profile"], "debian");
    // The installed man page is a page man can show.
    if Path::new("/usr/bin/man").exists() {
        let o = Command::new("man")
            .args(["-P", "cat", "8", NAME])
            .env("MANWIDTH", "80")
            .output()
            .unwrap();
        assert!(
            String::from_utf8_lossy(&o.stdout).contains("rollback"),
            "man 8 {NAME}: {}",
            text(&o)
        );
    }

    drop(guard);
    assert!(!installed(), "dpkg -r left {NAME} installed");
    for f in COMMON {
        assert!(!Path::new(f).exists(), "{f} is still there after dpkg -r");
    }

    let Ok(o) = Command::new("rpm").arg("-qpl").arg(&rpm).output() else {
        skip!("rpm is not installed (Debian: apt-get install rpm; .ci/test installs it)");
    };
    assert!(
        o.status.success(),
        "rpm -qpl {}: {}",
        rpm.display(),
        text(&o)
    );
    let files = String::from_utf8_lossy(&o.stdout).to_string();
    for f in COMMON
        .iter()
        .chain(&["/usr/share/zsh/site-functions/_smtpauth-wizard"])
    {
        assert!(
            files.lines().any(|l| l == *f),
            "the rpm lacks {f}:\n{files}"
        );
    }
    if demo.is_dir() {
        assert!(
            files.lines().any(|l| l == demo_mc),
            "the rpm lacks {demo_mc}"
        );
    }
}

/// The oldest glibc the packages promise to run on (CentOS 7); `.ci/package` builds with
/// `cargo zigbuild --target x86_64-unknown-linux-gnu.2.17`.
const OLDEST_GLIBC: (u32, u32) = (2, 17);

/// The libraries the binary may need, and the .deb / .rpm dependency that provides each. A
/// library not listed here is one the packages do not depend on: the test fails.
const LIBRARIES: &[(&str, &str, &str)] = &[
    ("libc.so.6", "libc6", "glibc"),
    ("libm.so.6", "libc6", "glibc"),
    ("libdl.so.2", "libc6", "glibc"),
    ("libpthread.so.0", "libc6", "glibc"),
    ("librt.so.1", "libc6", "glibc"),
    ("libutil.so.1", "libc6", "glibc"),
    ("ld-linux-x86-64.so.2", "libc6", "glibc"),
    ("libgcc_s.so.1", "libgcc-s1 | libgcc1", "libgcc"),
];

fn output(cmd: &str, args: &[&str]) -> String {
    let o = Command::new(cmd)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{cmd}: {e}"));
    assert!(o.status.success(), "{cmd} {args:?}: {}", text(&o));
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// Every GLIBC_x.y[.z] version named in `readelf -V` output (the version needs the dynamic
/// loader checks before the program starts), as (major, minor).
fn glibc_versions(readelf_v: &str) -> Vec<(u32, u32)> {
    let mut v: Vec<(u32, u32)> = readelf_v
        .split(|c: char| c.is_whitespace() || c == '(' || c == ')')
        .filter_map(|w| w.strip_prefix("GLIBC_"))
        .filter_map(|ver| {
            let mut it = ver.split('.').map(|n| n.parse::<u32>().ok());
            Some((it.next()??, it.next()??))
        })
        .collect();
    v.sort();
    v.dedup();
    v
}

/// The NEEDED entries of `readelf -d` output.
fn needed_libraries(readelf_d: &str) -> Vec<String> {
    readelf_d
        .lines()
        .filter(|l| l.contains("(NEEDED)"))
        .filter_map(|l| Some(l.split_once('[')?.1.split_once(']')?.0.to_string()))
        .collect()
}

/// "2.17" from a dependency's version, as (2, 17).
fn version(s: &str) -> Option<(u32, u32)> {
    let (a, b) = s.trim().split_once('.')?;
    Some((a.parse().ok()?, b.split('.').next()?.parse().ok()?))
}

#[test]
fn the_packaged_binary_needs_glibc_2_17_at_most_and_depends_and_requires_say_what_it_needs() {
    let dir = match packages_dir() {
        Ok(d) => d,
        Err(why) => skip!("{why}"),
    };
    let Some(deb) = find(&dir, "deb") else {
        skip!("no .deb in {}: run `bash .ci/package`", dir.display());
    };
    let Some(rpm) = find(&dir, "rpm") else {
        skip!("no .rpm in {}: run `bash .ci/package`", dir.display());
    };
    for (tool, package) in [
        ("dpkg-deb", "dpkg"),
        ("readelf", "binutils"),
        ("rpm", "rpm"),
    ] {
        if Command::new(tool).arg("--version").output().is_err() {
            skip!("{tool} is not installed (apt-get install {package}; .ci/test installs it)");
        }
    }
    // The binary as the .deb ships it.
    let tmp = tempfile::tempdir().unwrap();
    let o = Command::new("dpkg-deb")
        .arg("-x")
        .arg(&deb)
        .arg(tmp.path())
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "dpkg-deb -x {}: {}",
        deb.display(),
        text(&o)
    );
    let bin = tmp.path().join("usr/bin").join(NAME);
    let bin = bin.to_str().unwrap();

    let versions = glibc_versions(&output("readelf", &["-W", "-V", bin]));
    let Some(&newest) = versions.last() else {
        panic!("readelf -V {bin} names no GLIBC version at all: is it dynamically linked against glibc?");
    };
    assert!(
        newest <= OLDEST_GLIBC,
        "the packaged binary needs GLIBC_{}.{} (all: {versions:?}), above {}.{}: it does not start on CentOS 7, RHEL 8 or Debian 11; build it with `cargo zigbuild --target x86_64-unknown-linux-gnu.2.17` (.ci/package)",
        newest.0,
        newest.1,
        OLDEST_GLIBC.0,
        OLDEST_GLIBC.1
    );
    let needed = needed_libraries(&output("readelf", &["-W", "-d", bin]));
    assert!(
        needed.iter().any(|l| l == "libc.so.6"),
        "NEEDED: {needed:?}"
    );
    let mut deb_wants: Vec<&str> = Vec::new();
    let mut rpm_wants: Vec<&str> = Vec::new();
    for lib in &needed {
        let Some((_, d, r)) = LIBRARIES.iter().find(|(l, _, _)| l == lib) else {
            panic!("the packaged binary needs {lib}, which neither the .deb's Depends nor the .rpm's Requires provide (NEEDED: {needed:?})");
        };
        deb_wants.push(d);
        rpm_wants.push(r);
    }
    deb_wants.sort();
    deb_wants.dedup();
    rpm_wants.sort();
    rpm_wants.dedup();

    // Depends: exactly one clause per needed package, libc6 with a minimum between what the
    // binary needs and the oldest glibc promised.
    let depends = output("dpkg-deb", &["-f", deb.to_str().unwrap(), "Depends"]);
    let clauses: Vec<&str> = depends.trim().split(", ").collect();
    let mut named: Vec<&str> = Vec::new();
    for c in &clauses {
        if let Some(v) = c
            .strip_prefix("libc6 (>= ")
            .and_then(|v| v.strip_suffix(')'))
        {
            let v = version(v).unwrap_or_else(|| panic!("Depends: cannot read {c:?}"));
            assert!(
                newest <= v && v <= OLDEST_GLIBC,
                "Depends: {c} while the binary needs GLIBC_{}.{} and the packages promise glibc {}.{}",
                newest.0,
                newest.1,
                OLDEST_GLIBC.0,
                OLDEST_GLIBC.1
            );
            named.push("libc6");
        } else {
            named.push(c);
        }
    }
    named.sort();
    assert_eq!(
        named, deb_wants,
        "the .deb's Depends ({depends:?}) is not what the binary needs (NEEDED: {needed:?})"
    );

    // Requires: the same, in RPM's names; nothing but rpmlib() features besides.
    let requires = output("rpm", &["-qpR", rpm.to_str().unwrap()]);
    let mut named: Vec<&str> = Vec::new();
    for r in requires.lines().map(str::trim).filter(|l| !l.is_empty()) {
        // rpmlib() features (what the rpm program must support), and /bin/sh, which
        // cargo-generate-rpm always adds (every RPM system has it; the init scripts and
        // `service` the wizard runs are shell scripts).
        if r.starts_with("rpmlib(") || r == "/bin/sh" {
            assert!(
                !r.contains("PayloadIsZstd"),
                "the .rpm's payload is zstd, which CentOS 7's rpm 4.11 cannot read: {requires}"
            );
            continue;
        }
        if let Some(v) = r.strip_prefix("glibc >= ") {
            let v = version(v).unwrap_or_else(|| panic!("Requires: cannot read {r:?}"));
            assert!(
                newest <= v && v <= OLDEST_GLIBC,
                "Requires: {r} while the binary needs GLIBC_{}.{} and the packages promise glibc {}.{}",
                newest.0,
                newest.1,
                OLDEST_GLIBC.0,
                OLDEST_GLIBC.1
            );
            named.push("glibc");
        } else {
            named.push(r);
        }
    }
    named.sort();
    let compressor = output(
        "rpm",
        &["-qp", "--qf", "%{PAYLOADCOMPRESSOR}", rpm.to_str().unwrap()],
    );
    assert!(
        ["gzip", "xz"].contains(&compressor.trim()),
        "the .rpm's payload is {compressor:?}: CentOS 7 and RHEL 8 read gzip and xz"
    );
    assert_eq!(
        named, rpm_wants,
        "the .rpm's Requires ({requires:?}) is not what the binary needs (NEEDED: {needed:?})"
    );
}

#[test]
fn readelf_output_is_read_for_glibc_versions_and_libraries() {
    let v = "Version needs section '.gnu.version_r' contains 2 entries:\n Addr: 0x0  Offset: 0x000 Link: 6 (.dynstr)\n  000000: Version: 1  File: libgcc_s.so.1  Cnt: 1\n  0x0010:   Name: GCC_3.0  Flags: none  Version: 7\n  0x0020: Version: 1  File: libc.so.6  Cnt: 3\n  0x0030:   Name: GLIBC_2.2.5  Flags: none  Version: 6\n  0x0040:   Name: GLIBC_2.34  Flags: none  Version: 5\n  0x0050:   Name: GLIBC_2.17  Flags: none  Version: 4\n Symbol: 2 (GLIBC_2.3.4)\n";
    assert_eq!(glibc_versions(v), vec![(2, 2), (2, 3), (2, 17), (2, 34)]);
    let d = " 0x0000000000000001 (NEEDED)             Shared library: [libgcc_s.so.1]\n 0x0000000000000001 (NEEDED)             Shared library: [libc.so.6]\n 0x000000000000000c (INIT)               0x5000\n";
    assert_eq!(needed_libraries(d), vec!["libgcc_s.so.1", "libc.so.6"]);
    assert_eq!(version("2.17"), Some((2, 17)));
    assert_eq!(version("2.2.5"), Some((2, 2)));
    assert_eq!(version("x"), None);
}
