//! Real servers, not clean fixtures (issue 9, items 9-11): configuration directories that are
//! symbolic links, files that are not UTF-8, and `#` in sendmail.mc as m4 really reads it.
//! Every variant runs through the real binary on a private copy of a fixture root; apply then
//! rollback must give back the tree exactly (bytes, modes, owners, mtimes, links).

mod common;
use common::*;
use std::fs;
use std::os::unix::fs::symlink;
use std::path::Path;

fn required() -> bool {
    std::env::var_os("SMTPAUTH_WIZARD_REQUIRE_TOOLS").is_some()
}

/// apply gives the files it creates to root (the profiles say 0:0).
macro_rules! need_root {
    () => {
        if nix::unistd::geteuid().as_raw() != 0 {
            if required() {
                panic!("needs root (apply gives new files to root)");
            }
            eprintln!("SKIPPED: needs root (apply gives new files to root)");
            return;
        }
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
const PARENT_LINKS: &[(&str, &[(&str, &str, &str)], &str)] = &[
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

fn make_variant(root: &Path, links: &[(&str, &str, &str)]) {
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
