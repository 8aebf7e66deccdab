//! Real servers, not clean fixtures (issue 9, items 9-11): configuration directories that are
//! symbolic links, files that are not UTF-8, and `#` in sendmail.mc as m4 really reads it.
//! Every variant runs through the real binary on a private copy of a fixture root; apply then
//! rollback must give back the tree exactly (bytes, modes, owners, mtimes, links).

mod common;
use common::*;
use smtpauth_wizard::engine::root::Root;
use std::fs;
use std::os::unix::fs::symlink;
use std::path::Path;

/// apply gives the files it creates to root (the profiles say 0:0).
macro_rules! need_root {
    () => {
        skip_unless!(common::need_root("apply gives new files to root"))
    };
}

/// apply, then rollback: the result is checked by `after_apply`, and rollback must be the
/// identity on the whole tree (links stay links).
fn apply_and_roll_back(root: &Path, after_apply: impl FnOnce(&str)) {
    let before = snapshot(root);
    let o = run_root(root, &["apply", "--yes"]);
    let out = text(&o);
    assert_eq!(o.status.code(), Some(0), "apply failed:\n{out}");
    after_apply(&out);
    let o = run_root(root, &["rollback", "--yes"]);
    assert_eq!(o.status.code(), Some(0), "rollback failed:\n{}", text(&o));
    let d = diff_snapshots(&before, &snapshot(root));
    assert!(d.is_empty(), "rollback is not the identity: {d:#?}");
}

// ---- item 11: /etc/mail (or /etc) as a link to a directory ---------------------------------

/// Moves `from` (a directory of the tree) to `to` and puts a link with the text `link` at
/// `from`.
fn move_and_link(root: &Path, from: &str, to: &str, link: &str) {
    let dst = root.join(to);
    fs::create_dir_all(dst.parent().unwrap()).unwrap();
    fs::rename(root.join(from), &dst).unwrap();
    symlink(link, root.join(from)).unwrap();
}

/// The tree variants: name, the links to make (moved directory, its new place, link text),
/// and where the files of /etc/mail really are afterwards.
/// A directory moved elsewhere and a link left in its place: (from, to, link text).
type Link = (&'static str, &'static str, &'static str);

const PARENT_LINKS: &[(&str, &[Link], &str)] = &[
    (
        "absolute /etc/mail -> /srv/mail",
        &[("etc/mail", "srv/mail", "/srv/mail")],
        "srv/mail",
    ),
    (
        "relative /etc/mail -> ../srv/mail",
        &[("etc/mail", "srv/mail", "../srv/mail")],
        "srv/mail",
    ),
    (
        "relative, climbing above / (the kernel stops at /, so does the root)",
        &[("etc/mail", "srv/mail", "../../../../../../srv/mail")],
        "srv/mail",
    ),
    (
        "the whole of /etc -> /data/etc",
        &[("etc", "data/etc", "/data/etc")],
        "data/etc/mail",
    ),
    (
        "chained: /etc/mail -> /vol/mail, /vol -> /persist/vol",
        &[("etc/mail", "persist/vol/mail", "/vol/mail"), ("", "", "")],
        "persist/vol/mail",
    ),
    (
        "/etc/mail -> a directory with a trailing slash",
        &[("etc/mail", "srv/mail", "/srv/mail/")],
        "srv/mail",
    ),
];

fn make_variant(root: &Path, links: &[Link]) {
    for (from, to, link) in links {
        if from.is_empty() {
            // chained: /vol -> /persist/vol
            symlink("/persist/vol", root.join("vol")).unwrap();
            continue;
        }
        move_and_link(root, from, to, link);
    }
}

/// /etc/mail reached through a link to a directory: apply edits the files in the directory
/// the link leads to (inside the root), the `.bak` files land beside them, sendmail.cf is
/// regenerated from the root's own include files, the link stays a link, and rollback is the
/// identity. Before the fix sendmail-cf refused with "sendmail.cf is a symbolic link" (a
/// parent link is not a link at the file), and m4 was handed `ROOT/etc/mail/m4/dialup.m4`,
/// which the kernel follows through the absolute link to this machine's own /srv/mail.
#[test]
fn etc_mail_as_a_link_to_a_directory_is_followed_inside_the_root() {
    need_tools!();
    need_root!();
    for (name, links, real) in PARENT_LINKS {
        let t = fixture("debian12");
        let root = t.path();
        make_variant(root, links);
        let link_before = fs::read_link(root.join("etc/mail")).ok();
        let o = run_root(root, &["check"]);
        let out = text(&o);
        assert!(
            !out.contains("symbolic link") && !out.contains("[error]"),
            "{name}: check refused:\n{out}"
        );
        let real_dir = root.join(real);
        apply_and_roll_back(root, |out| {
            let mc = fs::read_to_string(real_dir.join("sendmail.mc")).unwrap();
            assert!(
                mc.contains("define(`confAUTH_MECHANISMS', `LOGIN PLAIN')dnl"),
                "{name}: the mc in {real} was not edited:\n{out}"
            );
            assert!(
                real_dir.join("sendmail.mc.bak").is_file()
                    && real_dir.join("sendmail.cf.bak").is_file(),
                "{name}: the .bak files are not beside the files they back up"
            );
            let cf = fs::read_to_string(real_dir.join("sendmail.cf")).unwrap();
            assert!(
                cf.contains("O DaemonPortOptions=Family=inet,  Name=MTA-v4, Port=smtp\n")
                    && cf.contains("C{TrustAuthMech}LOGIN PLAIN"),
                "{name}: sendmail.cf was not regenerated from the edited mc"
            );
            assert_eq!(
                fs::read_link(root.join("etc/mail")).ok(),
                link_before,
                "{name}: the link changed"
            );
            assert!(
                fs::symlink_metadata(root.join(links[0].0))
                    .unwrap()
                    .file_type()
                    .is_symlink(),
                "{name}: the link was replaced"
            );
        });
    }
}

/// A link at sendmail.cf itself is still refused (writing would replace the link by a file),
/// and the message names the link where it is, also when /etc/mail is a link too; nothing
/// changes.
#[test]
fn a_link_at_sendmail_cf_itself_is_refused_naming_the_link() {
    need_tools!();
    need_root!();
    // (/etc/mail a link too?, link text)
    for (parent_link, cf_link) in [
        (false, "/srv/cf/sendmail.cf"),
        (true, "/srv/cf/sendmail.cf"),
        (true, "../cf/sendmail.cf"),
    ] {
        let t = fixture("debian12");
        let root = t.path();
        let dir = if parent_link {
            move_and_link(root, "etc/mail", "srv/mail", "/srv/mail");
            "srv/mail"
        } else {
            "etc/mail"
        };
        fs::create_dir_all(root.join("srv/cf")).unwrap();
        fs::rename(
            root.join(dir).join("sendmail.cf"),
            root.join("srv/cf/sendmail.cf"),
        )
        .unwrap();
        symlink(cf_link, root.join(dir).join("sendmail.cf")).unwrap();
        let before = snapshot(root);
        let mut want = format!("{} ", root.join(dir).join("sendmail.cf").display());
        if parent_link {
            want.push_str(&format!(
                "(reached as {}) ",
                root.join("etc/mail/sendmail.cf").display()
            ));
        }
        want.push_str(
            "is a symbolic link to /srv/cf/sendmail.cf; the wizard does not write sendmail.cf \
             through a link",
        );
        let o = run_root(root, &["plan"]);
        assert_eq!(o.status.code(), Some(1), "{}", text(&o));
        assert!(text(&o).contains(&want), "want {want}\n{}", text(&o));
        let o = run_root(root, &["apply", "--yes"]);
        assert_eq!(o.status.code(), Some(1), "{}", text(&o));
        assert!(text(&o).contains("Nothing was changed"), "{}", text(&o));
        let d = diff_snapshots(&before, &snapshot(root));
        assert!(d.is_empty(), "{d:#?}");
    }
}

/// A dangling /etc/mail link (the volume is not mounted; or a link written for the host's
/// layout, `ROOT/...` absolute, which points outside the root): refused, naming the link and
/// where it leads inside the root, and nothing changes.
#[test]
fn a_dangling_etc_mail_link_is_refused_naming_it() {
    need_tools!();
    need_root!();
    for link in ["/srv/mail", "../srv/mail", "HOSTPATH"] {
        let t = fixture("debian12");
        let root = t.path();
        let link = if link == "HOSTPATH" {
            // The link as it would be written for this machine: /tmp/.../srv/mail.
            root.join("srv/mail").display().to_string()
        } else {
            link.to_string()
        };
        fs::remove_dir_all(root.join("etc/mail")).unwrap();
        symlink(&link, root.join("etc/mail")).unwrap();
        let before = snapshot(root);
        let o = run_root(root, &["apply", "--yes"]);
        let out = text(&o);
        assert_eq!(o.status.code(), Some(1), "{out}");
        let want = format!(
            "{} does not exist: it is reached through the symbolic link {} -> {link}",
            root.join("etc/mail/sendmail.mc").display(),
            root.join("etc/mail").display()
        );
        assert!(out.contains(&want), "want {want}\n{out}");
        assert!(out.contains("Nothing was changed"), "{out}");
        let d = diff_snapshots(&before, &snapshot(root));
        assert!(d.is_empty(), "{d:#?}");
    }
}

// ---- item 9: files that are not UTF-8 --------------------------------------------------------

/// Every byte that is not ASCII replaced by `~`: the same file for an editor that only adds
/// ASCII, and for m4 (neither is part of a word, a quote or a comment).
fn mask(b: &[u8]) -> Vec<u8> {
    b.iter()
        .map(|&c| if c >= 0x80 { b'~' } else { c })
        .collect()
}

/// The bytes that are not ASCII, in order.
fn high(b: &[u8]) -> Vec<u8> {
    b.iter().copied().filter(|&c| c >= 0x80).collect()
}

/// Writes `files` (path in the tree, bytes) into a fresh debian12 fixture; `masked` writes
/// them through [`mask`].
fn tree_with(files: &[(&str, Vec<u8>)], masked: bool) -> tempfile::TempDir {
    let t = fixture("debian12");
    // The fixture's links are absolute and meant for inside the tree (/usr/lib/sasl2/
    // Sendmail.conf -> /etc/mail/sasl/Sendmail.conf.2): resolve them the way the wizard does,
    // never through the kernel, which would write this machine's own files.
    let root = Root::new(t.path()).unwrap();
    for (p, b) in files {
        let dst = root.resolve(&format!("/{p}")).unwrap().real;
        assert!(
            dst.starts_with(root.dir()),
            "{} is outside the tree",
            dst.display()
        );
        assert!(
            !fs::symlink_metadata(&dst).is_ok_and(|m| m.file_type().is_symlink()),
            "{} is a link",
            dst.display()
        );
        fs::write(&dst, if masked { mask(b) } else { b.clone() }).unwrap();
    }
    // The server's sendmail.cf is current with its mc (no hand edits), as after `make`; an mc
    // m4 refuses keeps the fixture's cf.
    if files.iter().any(|(p, _)| p.ends_with("sendmail.mc")) {
        rebuild_cf(t.path());
    }
    t
}

/// The files of a tree after apply, for comparing twins: the content of every file except the
/// maps makemap builds (their bytes are not ours) and sendmail.cf's header lines (date, host).
fn contents_after(root: &Path) -> Vec<(String, Vec<u8>)> {
    snapshot(root)
        .into_iter()
        .filter_map(|(k, e)| match e {
            Entry::File { content, .. } if !k.ends_with(".db") => {
                let c = if k.ends_with("sendmail.cf") || k.ends_with("sendmail.cf.bak") {
                    content
                        .split(|&b| b == b'\n')
                        // A BOM before `divert(-1)` comes out in front of the header.
                        .filter(|l| {
                            !l.starts_with(b"#")
                                && !l.windows(5).any(|w| w == b"#####")
                                && !l.is_empty()
                        })
                        .collect::<Vec<_>>()
                        .join(&b'\n')
                } else if k.contains("smtpauth-wizard.") {
                    // The tls step's self-signed certificate and key are new on every run:
                    // only their PEM frame is the same in both twins.
                    content
                        .split(|&b| b == b'\n')
                        .filter(|l| l.starts_with(b"-----"))
                        .collect::<Vec<_>>()
                        .join(&b'\n')
                } else {
                    content
                };
                Some((k, c))
            }
            _ => None,
        })
        .collect()
}

/// The wizard on a tree with files that are not UTF-8 does exactly what it does on the same
/// tree with those bytes masked to ASCII, and keeps every one of those bytes where it was:
/// `mask(apply(A)) == apply(mask(A))` file by file, and the non-ASCII bytes of each file are
/// the same, in the same order, before and after. Rollback is the identity on both.
fn same_as_masked_twin(name: &str, files: &[(&str, Vec<u8>)]) {
    let a = tree_with(files, false);
    let b = tree_with(files, true);
    let before_a = contents_after(a.path());
    apply_and_roll_back(a.path(), |out| {
        let after_a = contents_after(a.path());
        // sendmail.cf is regenerated: m4 copies the bytes of active text into it.
        for (k, v) in before_a.iter().filter(|(k, _)| !k.contains("sendmail.cf")) {
            if let Some((_, w)) = after_a.iter().find(|(k2, _)| k2 == k) {
                assert_eq!(
                    high(v),
                    high(w),
                    "{name}: {k}: the bytes that are not ASCII changed\n{out}"
                );
            }
        }
    });
    // Once more, to compare the result with the twin's.
    for t in [&a, &b] {
        let o = run_root(t.path(), &["apply", "--yes"]);
        assert_eq!(o.status.code(), Some(0), "{name}: {}", text(&o));
    }
    let after_a = contents_after(a.path());
    let after_b = contents_after(b.path());
    let masked_a: Vec<(String, Vec<u8>)> =
        after_a.iter().map(|(k, v)| (k.clone(), mask(v))).collect();
    assert_eq!(
        masked_a.iter().map(|(k, _)| k).collect::<Vec<_>>(),
        after_b.iter().map(|(k, _)| k).collect::<Vec<_>>(),
        "{name}: not the same files"
    );
    for ((k, x), (_, y)) in masked_a.iter().zip(&after_b) {
        if x != y {
            let (x, y) = (String::from_utf8_lossy(x), String::from_utf8_lossy(y));
            let first = x
                .lines()
                .zip(y.lines())
                .position(|(p, q)| p != q)
                .unwrap_or(x.lines().count().min(y.lines().count()));
            panic!(
                "{name}: {k} differs from its ASCII twin at line {}:\n{:?}\n{:?}",
                first + 1,
                x.lines().nth(first),
                y.lines().nth(first)
            );
        }
    }
    // The edits really happened (the twin test would also pass if nothing was edited).
    let mc = fs::read(a.path().join("etc/mail/sendmail.mc")).unwrap();
    let mc = String::from_utf8_lossy(&mc);
    assert!(
        mc.contains("define(`confAUTH_MECHANISMS', `LOGIN PLAIN')dnl"),
        "{name}: the mc was not edited"
    );
}

fn latin1(s: &str) -> Vec<u8> {
    s.chars()
        .map(|c| u8::try_from(u32::from(c)).expect("a Latin-1 character"))
        .collect()
}

fn debian_mc() -> String {
    fs::read_to_string(fixture_dir("debian12").join("etc/mail/sendmail.mc")).unwrap()
}

/// sendmail.mc variants that are not UTF-8. Before the fix each was refused as "not text
/// (invalid UTF-8 at byte N)" and apply changed nothing.
#[test]
fn a_sendmail_mc_that_is_not_utf8_is_edited_keeping_every_byte() {
    need_tools!();
    need_root!();
    let mc = debian_mc();
    let mta = "DAEMON_OPTIONS(`Family=inet,  Name=MTA-v4, Port=smtp, Addr=127.0.0.1')dnl\n";
    assert!(mc.contains(mta));
    let dnl = "dnl Modifié par l'équipe réseau, ne pas éditer à la main\n";
    let variants: Vec<(&str, Vec<u8>)> = vec![
        (
            "a Latin-1 dnl comment",
            latin1(&mc.replacen("divert(0)dnl\n", &format!("divert(0)dnl\n{dnl}"), 1)),
        ),
        (
            "a Latin-1 # comment in the divert(-1) header",
            latin1(&mc.replacen(
                "divert(-1)dnl\n",
                "divert(-1)dnl\n# Configuración del correo (año 2003, señor Núñez)\n",
                1,
            )),
        ),
        (
            "Latin-1 in an active define that m4 copies into sendmail.cf",
            latin1(&mc.replacen(
                mta,
                &format!(
                    "{mta}define(`confSMTP_LOGIN_MSG', `$j Sendmail; $b; Bienvenue à bord')dnl\n"
                ),
                1,
            )),
        ),
        (
            "Latin-1 after the dnl of the line the wizard edits",
            latin1(&mc.replacen(mta, &mta.replace("dnl\n", "dnl # modifié\n"), 1)),
        ),
        (
            "CRLF and Latin-1",
            latin1(
                &mc.replacen("divert(0)dnl\n", &format!("divert(0)dnl\n{dnl}"), 1)
                    .replace('\n', "\r\n"),
            ),
        ),
        ("mostly UTF-8 with one stray byte", {
            let mut b = mc
                .replacen(
                    "divert(0)dnl\n",
                    "divert(0)dnl\ndnl Café ☕ géré en UTF-8\ndnl STRAY\n",
                    1,
                )
                .into_bytes();
            let at = b.windows(5).position(|w| w == b"STRAY").unwrap();
            b[at] = 0xe9;
            b
        }),
        ("a UTF-8 byte order mark and a stray byte", {
            let mut b = vec![0xef, 0xbb, 0xbf];
            b.extend(latin1(&mc.replacen(
                "divert(0)dnl\n",
                &format!("divert(0)dnl\n{dnl}"),
                1,
            )));
            b
        }),
        (
            "Latin-1 on the last line, without a newline",
            latin1(&format!("{mc}dnl fin du fichier, ç'est tout")),
        ),
    ];
    for (name, bytes) in variants {
        assert!(String::from_utf8(bytes.clone()).is_err(), "{name} is UTF-8");
        same_as_masked_twin(name, &[("etc/mail/sendmail.mc", bytes)]);
    }
}

/// The other files the wizard reads and edits, with Latin-1 comments: access (a RELAY line to
/// comment out, then makemap), the PAM service file, libsasl's Sendmail.conf (through its
/// link), /etc/default/saslauthd, relay-domains. Before the fix each step stopped at "not text
/// (invalid UTF-8 at byte N)".
#[test]
fn latin1_access_pam_sasl_and_relay_domains_files_are_read_and_kept() {
    need_tools!();
    need_root!();
    let dir = fixture_dir("debian12");
    let read = |p: &str| fs::read_to_string(dir.join(p)).unwrap();
    let access = format!(
        "# Accès réservé au réseau local (modifié)\n{}Connect:10.1.2\t\tRELAY\t# réseau du siège\n",
        read("etc/mail/access")
    );
    let pam = format!(
        "# Service PAM pour SMTP (révisé)\n{}",
        read("etc/pam.d/smtp")
    );
    let sasl = format!(
        "# Paramètres de libsasl (vérifiés)\n{}",
        read("etc/mail/sasl/Sendmail.conf.2")
    )
    .replace("pwcheck_method: saslauthd", "pwcheck_method: pam");
    let defaults = format!("# Réglages de saslauthd\n{}", read("etc/default/saslauthd"));
    let files = vec![
        ("etc/mail/access", latin1(&access)),
        ("etc/pam.d/smtp", latin1(&pam)),
        ("usr/lib/sasl2/Sendmail.conf", latin1(&sasl)),
        ("etc/default/saslauthd", latin1(&defaults)),
        ("etc/mail/relay-domains", latin1("# domaines relayés\n")),
    ];
    let t = tree_with(&files, false);
    let o = run_root(t.path(), &["check"]);
    let out = text(&o);
    assert!(
        !out.contains("not text") && !out.contains("[error]"),
        "{out}"
    );
    assert!(
        out.contains("`Connect:10.1.2\t\tRELAY\t# r"),
        "the RELAY entry was not read:\n{out}"
    );
    same_as_masked_twin("Latin-1 access, PAM, SASL, relay-domains", &files);
    // The edits of those steps happened, around the Latin-1 bytes.
    let access = fs::read(t.path().join("etc/mail/access")).unwrap();
    let o = run_root(t.path(), &["apply", "--yes"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let new_access = fs::read(t.path().join("etc/mail/access")).unwrap();
    assert_ne!(access, new_access, "access was not edited");
    let sasl = fs::read(t.path().join("etc/mail/sasl/Sendmail.conf.2")).unwrap();
    assert!(sasl.starts_with(&latin1("# Paramètres de libsasl (vérifiés)\n")));
    assert!(String::from_utf8_lossy(&sasl).contains("pwcheck_method: saslauthd"));
    assert!(
        fs::symlink_metadata(t.path().join("usr/lib/sasl2/Sendmail.conf"))
            .unwrap()
            .file_type()
            .is_symlink()
    );
}

/// The diff `plan` shows for a file that is not UTF-8 is a real diff (the other bytes shown
/// as U+FFFD, with a note), not "Binary file ... changes".
#[test]
fn the_plan_of_a_latin1_file_shows_a_readable_diff() {
    need_tools!();
    let mc = debian_mc().replacen(
        "divert(0)dnl\n",
        "divert(0)dnl\ndnl Modifié par l'équipe réseau\n",
        1,
    );
    let t = tree_with(&[("etc/mail/sendmail.mc", latin1(&mc))], false);
    let o = run_root(t.path(), &["plan"]);
    let out = text(&o);
    assert_eq!(o.status.code(), Some(2), "{out}");
    assert!(!out.contains("Binary file"), "{out}");
    assert!(
        out.contains("-DAEMON_OPTIONS(`Family=inet,  Name=MTA-v4, Port=smtp, Addr=127.0.0.1')dnl")
            && out.contains("+DAEMON_OPTIONS(`Family=inet,  Name=MTA-v4, Port=smtp')dnl")
            && out.contains("this file is not UTF-8"),
        "{out}"
    );
}

/// A binary file (a NUL byte, other control bytes, UTF-16) in place of a configuration file is
/// not text: refused naming the file, the byte and its line; nothing changes.
#[test]
fn a_binary_file_in_place_of_a_config_file_is_refused_naming_it() {
    need_tools!();
    need_root!();
    let mc = debian_mc();
    let with_nul = {
        let mut b = mc.clone().into_bytes();
        let at = mc.find("divert(0)").unwrap();
        b.insert(at, 0);
        b
    };
    let nul_line = mc[..mc.find("divert(0)").unwrap()].matches('\n').count() + 1;
    let utf16: Vec<u8> = [0xff, 0xfe]
        .into_iter()
        .chain(mc.encode_utf16().flat_map(|u| u.to_le_bytes()))
        .collect();
    let cases: Vec<(&str, Vec<u8>, String)> = vec![
        (
            "etc/mail/sendmail.mc",
            with_nul.clone(),
            format!(
                "sendmail.mc: not a text file: byte {} (line {nul_line}) is the control character 0x00 (NUL)",
                mc.find("divert(0)").unwrap()
            ),
        ),
        (
            "etc/mail/sendmail.mc",
            b"\x7fELF\x02\x01\x01\x00\x00\x00".to_vec(),
            "sendmail.mc: not a text file: byte 0 (line 1) is the control character 0x7f".into(),
        ),
        (
            "etc/mail/sendmail.mc",
            utf16,
            "sendmail.mc: not a text file the mail tools can read: it is UTF-16".into(),
        ),
        (
            "etc/mail/access",
            b"Connect:127\tRELAY\n\x1b[31mConnect:10\tRELAY\n".to_vec(),
            "access: not a text file: byte 18 (line 2) is the control character 0x1b".into(),
        ),
    ];
    for (path, bytes, want) in cases {
        let t = tree_with(&[(path, bytes)], false);
        let before = snapshot(t.path());
        let o = run_root(t.path(), &["apply", "--yes"]);
        let out = text(&o);
        assert_eq!(o.status.code(), Some(1), "{out}");
        assert!(out.contains(&want), "want {want}\n{out}");
        assert!(out.contains("Nothing was changed"), "{out}");
        let d = diff_snapshots(&before, &snapshot(t.path()));
        assert!(d.is_empty(), "{d:#?}");
    }
}

// ---- item 10: `#` in sendmail.mc, as m4 reads it --------------------------------------------

/// m4 on an mc text, with its includes pointed into `root` (the fixture's cf tree).
fn m4_cf(root: &Path, mc: &str) -> String {
    use std::io::Write;
    let text = smtpauth_wizard::mc::rewrite_includes(mc, &root.display().to_string());
    let mut child = std::process::Command::new("m4")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "m4: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// What sendmail.cf says is in force: listener names, promiscuous_relay, AuthOptions,
/// TrustAuthMech.
#[derive(Debug, PartialEq)]
struct InForce {
    listeners: Vec<String>,
    promiscuous_relay: bool,
    auth_options: bool,
    trust_auth_mech: bool,
}

fn in_force_per_cf(cf: &str) -> InForce {
    let mut listeners: Vec<String> = cf
        .lines()
        .filter_map(|l| l.strip_prefix("O DaemonPortOptions="))
        .map(|o| {
            o.split(',')
                .filter_map(|f| f.trim().strip_prefix("Name="))
                .collect::<String>()
        })
        .collect();
    listeners.sort();
    InForce {
        listeners,
        promiscuous_relay: cf.contains("$Id: promiscuous_relay.m4"),
        auth_options: cf.lines().any(|l| l.starts_with("O AuthOptions=")),
        trust_auth_mech: cf.lines().any(|l| l.starts_with("C{TrustAuthMech}")),
    }
}

fn in_force_per_model(mc: &str) -> InForce {
    use smtpauth_wizard::mc::{analyse, AuthLine};
    let r = analyse(mc);
    assert!(r.problems.is_empty(), "{:?}", r.problems);
    let mut listeners: Vec<String> = r
        .listeners
        .iter()
        .filter(|l| l.active)
        .map(|l| l.name.clone().unwrap_or_default())
        .collect();
    listeners.sort();
    InForce {
        listeners,
        promiscuous_relay: r
            .risky_features
            .iter()
            .any(|f| f.feature == "promiscuous_relay"),
        auth_options: matches!(r.auth_options, AuthLine::Active { .. }),
        trust_auth_mech: matches!(r.trust_auth_mech, AuthLine::Active { .. }),
    }
}

const MTA: &str = "DAEMON_OPTIONS(`Family=inet,  Name=MTA-v4, Port=smtp, Addr=127.0.0.1')dnl\n";

type Probe = fn(&InForce) -> bool;

fn mta(f: &InForce) -> bool {
    f.listeners.iter().any(|n| n == "MTA-v4")
}
fn hash_listener(f: &InForce) -> bool {
    f.listeners.iter().any(|n| n == "HASH")
}
fn relay(f: &InForce) -> bool {
    f.promiscuous_relay
}
fn options(f: &InForce) -> bool {
    f.auth_options
}
fn trust(f: &InForce) -> bool {
    f.trust_auth_mech
}

/// `#` variants of Debian's sendmail.mc: (name, text, whether the line is active per m4, what
/// shows it in sendmail.cf).
fn hash_variants() -> Vec<(&'static str, String, bool, Probe)> {
    let mc = debian_mc();
    let after = |line: &str| mc.replacen(MTA, &format!("{MTA}{line}\n"), 1);
    let instead = |line: &str| mc.replacen(MTA, &format!("{line}\n"), 1);
    let header =
        |line: &str| mc.replacen("divert(-1)dnl\n", &format!("divert(-1)dnl\n{line}\n"), 1);
    let before_include =
        |line: &str| mc.replacen("divert(0)dnl\n", &format!("divert(0)dnl\n{line}\n"), 1);
    let mta_line = MTA.trim_end();
    vec![
        (
            "#DAEMON_OPTIONS",
            instead(&format!("#{mta_line}")),
            true,
            mta,
        ),
        (
            "  # DAEMON_OPTIONS",
            instead(&format!("  # {mta_line}")),
            true,
            mta,
        ),
        (
            "##DAEMON_OPTIONS",
            instead(&format!("##{mta_line}")),
            true,
            mta,
        ),
        (
            "dnl #DAEMON_OPTIONS",
            instead(&format!("dnl #{mta_line}")),
            false,
            mta,
        ),
        (
            "#DAEMON_OPTIONS in the divert(-1) header",
            header("#DAEMON_OPTIONS(`Port=2525, Name=HASH')dnl"),
            false,
            hash_listener,
        ),
        (
            "#DAEMON_OPTIONS after the last MAILER",
            format!("{mc}#DAEMON_OPTIONS(`Port=2525, Name=HASH')dnl\n"),
            true,
            hash_listener,
        ),
        (
            "#FEATURE after cf.m4",
            after("#FEATURE(`promiscuous_relay')dnl"),
            true,
            relay,
        ),
        (
            "\t#  FEATURE after cf.m4",
            after("\t#  FEATURE(`promiscuous_relay')dnl"),
            true,
            relay,
        ),
        (
            "#FEATURE in the divert(-1) header",
            header("#FEATURE(`promiscuous_relay')dnl"),
            false,
            relay,
        ),
        (
            "#FEATURE after divert(0), before the include of cf.m4",
            before_include("#FEATURE(`promiscuous_relay')dnl"),
            false,
            relay,
        ),
        (
            "FEATURE then # on its line",
            after("FEATURE(`promiscuous_relay')dnl # open!"),
            true,
            relay,
        ),
        (
            "dnl # FEATURE",
            after("dnl # FEATURE(`promiscuous_relay')dnl"),
            false,
            relay,
        ),
        (
            "#define(`confAUTH_OPTIONS')",
            after("#define(`confAUTH_OPTIONS', `A p')dnl"),
            true,
            options,
        ),
        (
            "# TRUST_AUTH_MECH",
            after("# TRUST_AUTH_MECH(`LOGIN PLAIN')dnl"),
            true,
            trust,
        ),
    ]
}

/// The model's idea of what is active equals what real m4 puts into sendmail.cf, for every
/// `#` variant: a `#` before the include of cf.m4 is a comment, after it (cfhead.m4 runs
/// `changecom()`) it is plain text and the macro behind it is expanded.
#[test]
fn hash_lines_are_read_as_real_m4_reads_them() {
    need_tools!();
    let t = fixture("debian12");
    for (name, mc, active, probe) in hash_variants() {
        let per_m4 = in_force_per_cf(&m4_cf(t.path(), &mc));
        assert_eq!(
            probe(&per_m4),
            active,
            "{name}: m4 says otherwise: {per_m4:?}"
        );
        assert_eq!(
            in_force_per_model(&mc),
            per_m4,
            "{name}: the model and m4 disagree"
        );
    }
    // A `#` inside quotes is no comment, even before the include of cf.m4 (where `#` starts
    // one): the quote closes and the line does what it says.
    let mc = debian_mc().replacen(
        "divert(0)dnl\n",
        "divert(0)dnl\ndefine(`confDOUBLE_BOUNCE_ADDRESS', `postmaster#1')dnl\n",
        1,
    );
    assert!(m4_cf(t.path(), &mc).contains("\nO DoubleBounceAddress=postmaster#1\n"));
    assert_eq!(
        in_force_per_model(&mc),
        in_force_per_cf(&m4_cf(t.path(), &mc))
    );
}

/// The `#` lines that are active (after the include of cf.m4) no longer block apply: they are
/// edited as the active lines they are, keeping their `#`, with a warning that names the line
/// and says how to really disable one; `#FEATURE(`promiscuous_relay')` (an open relay that
/// looks commented out) is disabled with `dnl `. sendmail.cf shows the result; rollback is the
/// identity. Before the fix sendmail-mc and relay-features stopped at "DAEMON_OPTIONS(...)
/// does not start this line".
#[test]
fn active_hash_lines_are_edited_as_active_lines_and_named() {
    need_tools!();
    need_root!();
    let mc = debian_mc();
    let mta_line = MTA.trim_end();
    let open_mta = "DAEMON_OPTIONS(`Family=inet,  Name=MTA-v4, Port=smtp')dnl";
    // (name, mc, lines the edited mc must hold, lines sendmail.cf must hold, must not hold)
    type Variant = (
        &'static str,
        String,
        Vec<String>,
        Vec<&'static str>,
        Vec<&'static str>,
    );
    let variants: Vec<Variant> = vec![
        (
            "#DAEMON_OPTIONS",
            mc.replacen(MTA, &format!("#{MTA}"), 1),
            vec![format!("#{open_mta}")],
            vec!["O DaemonPortOptions=Family=inet,  Name=MTA-v4, Port=smtp\n"],
            vec!["Name=MTA-v4, Port=smtp, Addr=127.0.0.1"],
        ),
        (
            "  # DAEMON_OPTIONS",
            mc.replacen(MTA, &format!("  # {MTA}"), 1),
            vec![format!("  # {open_mta}")],
            vec!["O DaemonPortOptions=Family=inet,  Name=MTA-v4, Port=smtp\n"],
            vec!["Name=MTA-v4, Port=smtp, Addr=127.0.0.1"],
        ),
        (
            "#FEATURE(`promiscuous_relay')",
            mc.replacen(MTA, &format!("{MTA}#FEATURE(`promiscuous_relay')dnl\n"), 1),
            vec![
                "dnl #FEATURE(`promiscuous_relay')dnl".into(),
                open_mta.into(),
            ],
            vec!["O DaemonPortOptions=Family=inet,  Name=MTA-v4, Port=smtp\n"],
            vec!["promiscuous_relay"],
        ),
        (
            "#define(`confAUTH_OPTIONS', `A p')",
            mc.replacen(
                MTA,
                &format!("{mta_line}\n#define(`confAUTH_OPTIONS', `A p')dnl\n"),
                1,
            ),
            // Active, so the admin's letters are kept (issue 9 item 2) and reach the cf; the
            // tls step adds y (issue 11) on that same line.
            vec!["#define(`confAUTH_OPTIONS', `A p y')dnl".into()],
            vec!["O AuthOptions=A p y\n"],
            vec!["O AuthOptions=A\n"],
        ),
    ];
    for (name, mc, want_mc, want_cf, not_cf) in variants {
        let t = tree_with(&[("etc/mail/sendmail.mc", mc.into_bytes())], false);
        let o = run_root(t.path(), &["plan"]);
        let out = text(&o);
        assert_eq!(o.status.code(), Some(2), "{name}:\n{out}");
        assert!(
            out.contains("this line starts with #, but # does not comment anything out here"),
            "{name}: no warning:\n{out}"
        );
        let root = t.path().to_path_buf();
        apply_and_roll_back(&root, |out| {
            let new = fs::read_to_string(root.join("etc/mail/sendmail.mc")).unwrap();
            for w in &want_mc {
                assert!(
                    new.lines().any(|l| l == w),
                    "{name}: the mc has no line {w}\n{out}"
                );
            }
            let cf = fs::read_to_string(root.join("etc/mail/sendmail.cf")).unwrap();
            for w in &want_cf {
                assert!(cf.contains(w), "{name}: sendmail.cf has no {w:?}");
            }
            for w in &not_cf {
                assert!(!cf.contains(w), "{name}: sendmail.cf still has {w:?}");
            }
        });
    }
}
