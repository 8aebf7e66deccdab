//! Who may log in (issue 11 item 4): `--login-group` in the pam step, `--password-source
//! sasldb` in the sasl step, the `users` command; on fixture trees built in temporary
//! directories, and live on the real stack (tests/e2e/login.sh).

#[allow(unused_macros)]
mod common;

use std::time::Duration;

/// The real sendmail, saslauthd, PAM and sasldb tools in an isolated namespace
/// (tests/e2e/login.sh). Needs root and the tools; elsewhere SKIPPED (a failure under
/// SMTPAUTH_WIZARD_REQUIRE_TOOLS).
#[test]
fn real_stack_login_group_and_sasldb() {
    use std::path::Path;
    if let Err(why) = common::need_root("unshare, bind mounts, port 25") {
        return common::skip(format!("live login test: {why}"));
    }
    for tool in [
        "/usr/sbin/sendmail-mta",
        "/usr/sbin/saslauthd",
        "/usr/sbin/testsaslauthd",
        "/usr/sbin/saslpasswd2",
        "/usr/sbin/sasldblistusers2",
        "/usr/bin/swaks",
        "/usr/bin/unshare",
        "/usr/bin/openssl",
        "/usr/bin/m4",
        "/usr/bin/python3",
        "/usr/bin/findmnt",
        "/etc/sasldb2",
    ] {
        if !Path::new(tool).exists() {
            return common::skip(format!("live login test: {tool} is not installed"));
        }
    }
    let live = common::run_live("login.sh", &[], Duration::from_secs(600));
    let (text, password) = (&live.text, &live.password);
    println!("{text}");
    assert!(live.ok, "live login test failed:\n{text}");
    assert!(
        !text.contains(password.as_str()),
        "the password appeared in the output"
    );
}
