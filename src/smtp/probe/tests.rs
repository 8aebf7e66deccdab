use super::verdicts::guess_protocol;
use super::*;

#[test]
fn exit_codes() {
    let mut r = ProbeReport::default();
    assert_eq!(r.exit_code(), 0);
    r.checks.push(Check {
        id: "x".into(),
        status: Status::Skipped,
        detail: String::new(),
        hint: None,
    });
    assert_eq!(r.exit_code(), 0);
    r.checks.push(Check {
        id: "y".into(),
        status: Status::Fail,
        detail: String::new(),
        hint: None,
    });
    assert_eq!(r.exit_code(), 2);
    r.error = Some("boom".into());
    assert_eq!(r.exit_code(), 1);
}

#[test]
fn protocol_guesses() {
    assert!(guess_protocol("\\x16\\x03\\x01").contains("TLS"));
    assert!(guess_protocol("SSH-2.0-OpenSSH").contains("SSH"));
    assert!(guess_protocol("HTTP/1.1 400").contains("HTTP"));
    assert!(guess_protocol("\\x00\\x01").starts_with("The server's answer is not an SMTP reply"));
}

#[test]
fn loopback_one() {
    assert!(is_loopback_one("127.0.0.1".parse().unwrap()));
    assert!(is_loopback_one("::1".parse().unwrap()));
    assert!(!is_loopback_one("127.0.0.2".parse().unwrap()));
    assert!(!is_loopback_one("192.0.2.1".parse().unwrap()));
}

#[test]
fn invalid_options_are_refused_before_connecting() {
    let mut o = ProbeOptions::new("127.0.0.1", 1);
    o.relay_to = "a@example.com>\r\nDATA".into();
    let r = probe(&o);
    assert!(!r.connected);
    assert_eq!(r.exit_code(), 1);
    assert!(r.error.unwrap().contains("relay test address"));
}

/// `--no-verify-cert`: the password goes over the unverified TLS to this machine only, or
/// elsewhere when the admin also said `--allow-plaintext`.
#[test]
fn unverified_tls_sends_the_password_only_to_loopback() {
    let ip = |s: &str| s.parse::<IpAddr>().unwrap();
    for local in ["127.0.0.1", "127.0.0.2", "::1", "::ffff:127.0.0.1"] {
        assert!(unverified_may_be_sent(ip(local), false).is_ok(), "{local}");
    }
    for remote in ["192.0.2.1", "10.0.0.1", "2001:db8::1", "::ffff:192.0.2.1"] {
        let e = unverified_may_be_sent(ip(remote), false).unwrap_err();
        assert!(
            e.0.contains("--no-verify-cert") && e.1.contains("--tls-ca"),
            "{e:?}"
        );
        assert!(unverified_may_be_sent(ip(remote), true).is_ok(), "{remote}");
    }
}
