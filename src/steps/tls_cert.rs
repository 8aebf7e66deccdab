//! The tls step's certificate verdicts: what sendmail would say about a certificate and key
//! (TLS.md's table: it logs the reason once at daemon start and then silently stops offering
//! STARTTLS), and what a client would say (expired, not yet valid, wrong name). Also the
//! self-signed certificate the wizard makes when there is no other (rcgen, in Rust).
//!
//! Read-only: the files are read through the served root, never written here.

use crate::engine::root::Root;
use std::os::unix::fs::PermissionsExt;

/// What the certificate says, for the report.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct CertSummary {
    pub subject: String,
    pub san: Vec<String>,
    pub issuer: String,
    pub not_before: String,
    pub not_after: String,
    pub days_left: i64,
}

/// The verdict on one certificate and key pair.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PairVerdict {
    /// Why sendmail would not offer STARTTLS with it (or clients would refuse it outright).
    pub errors: Vec<String>,
    /// Usable, but worth knowing (expires soon, another name, no subjectAltName).
    pub warnings: Vec<String>,
    pub cert: Option<CertSummary>,
}

impl PairVerdict {
    pub fn usable(&self) -> bool {
        self.errors.is_empty()
    }
}

/// What the pair is checked against.
#[derive(Debug, Clone)]
pub struct Expect<'a> {
    /// The host's fully qualified name: the certificate should be valid for it.
    pub name: &'a str,
    /// `DontBlameSendmail=GroupReadableKeyFile` is in force (Debian's starttls.m4 sets it).
    pub group_readable_key: bool,
    /// Now, seconds since the epoch.
    pub now: i64,
}

/// Checks the file at `target` as sendmail's safefile() would for a certificate (`key`:
/// false) or a private key: present, not a dangling link, a regular file, modes sendmail
/// accepts, no world-writable directory on the way. Returns its bytes when it could be read.
fn file_checks(
    root: &Root,
    target: &str,
    what: &str,
    key: bool,
    x: &Expect,
    errors: &mut Vec<String>,
) -> Option<Vec<u8>> {
    let shown = root.display(target);
    if let Some((at, to)) = root.dangling_link(target) {
        errors.push(format!(
            "the {what} {shown} is a symbolic link ({}) to {to}, which does not exist: sendmail \
             logs \"unsafe: No such file or directory\" and offers no STARTTLS",
            root.display(&at)
        ));
        return None;
    }
    let res = match root.resolve(target) {
        Ok(r) => r,
        Err(e) => {
            errors.push(format!("the {what} {shown} cannot be resolved: {e}"));
            return None;
        }
    };
    let md = match std::fs::metadata(&res.real) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            errors.push(format!(
                "the {what} {}: sendmail logs \"unsafe: No such file or directory\" and \
                 offers no STARTTLS",
                super::does_not_exist(root, target)
            ));
            return None;
        }
        Err(e) => {
            errors.push(format!("the {what} {shown} cannot be read: {e}"));
            return None;
        }
    };
    if !md.is_file() {
        errors.push(format!("the {what} {shown} is not a regular file"));
        return None;
    }
    let mode = md.permissions().mode() & 0o7777;
    let m = format!("{:04o}", mode);
    if mode & 0o400 == 0 {
        errors.push(format!(
            "the {what} {shown} has mode {m}, which its owner cannot read: sendmail logs \
             \"unsafe: Permission denied\" and offers no STARTTLS (chmod u+r)"
        ));
    }
    if mode & 0o002 != 0 {
        errors.push(format!(
            "the {what} {shown} is world-writable (mode {m}): anyone could replace it; \
             sendmail refuses it (\"unsafe: World writable file\")"
        ));
    }
    if mode & 0o020 != 0 {
        errors.push(format!(
            "the {what} {shown} is group-writable (mode {m}): sendmail logs \"unsafe: Group \
             writable file\" and offers no STARTTLS (chmod g-w)"
        ));
    }
    if key && mode & 0o004 != 0 {
        errors.push(format!(
            "the private key {shown} is world-readable (mode {m}): anyone on this machine can \
             read it, and sendmail logs \"unsafe: World readable file\" and offers no STARTTLS \
             (chmod 0600, or 0640 with a group)"
        ));
    }
    if key && mode & 0o040 != 0 && !x.group_readable_key {
        errors.push(format!(
            "the private key {shown} is group-readable (mode {m}) and sendmail.mc does not set \
             DontBlameSendmail=GroupReadableKeyFile: sendmail logs \"unsafe: Group readable \
             file\" and offers no STARTTLS (chmod 0600)"
        ));
    }
    // Every directory on the way (links followed): a world-writable one lets anyone swap the
    // file, and sendmail refuses it ("World writable directory"), unless it is sticky.
    let mut dir = std::path::Path::new(&res.target).parent();
    while let Some(d) = dir {
        let ds = d.display().to_string();
        if let Ok(dm) = std::fs::metadata(root.join(&ds)) {
            let dmode = dm.permissions().mode();
            if dmode & 0o002 != 0 && dmode & 0o1000 == 0 {
                errors.push(format!(
                    "the directory {} of the {what} {shown} is world-writable (mode {:04o}): \
                     sendmail logs \"unsafe: World writable directory\" and offers no STARTTLS",
                    root.display(&ds),
                    dmode & 0o7777
                ));
            }
        }
        if ds == "/" {
            break;
        }
        dir = d.parent();
    }
    match root.read(target) {
        Ok(Some(b)) => Some(b),
        Ok(None) => None,
        Err(e) => {
            errors.push(format!("the {what} {shown} cannot be read: {e}"));
            None
        }
    }
}

/// Whether `name` matches a certificate name (`*.example.test` covers one label).
fn name_matches(pattern: &str, name: &str) -> bool {
    let (p, n) = (pattern.to_ascii_lowercase(), name.to_ascii_lowercase());
    let n = n.trim_end_matches('.');
    if let Some(rest) = p.strip_prefix("*.") {
        return n
            .split_once('.')
            .is_some_and(|(first, tail)| !first.is_empty() && tail == rest);
    }
    p.trim_end_matches('.') == n
}

fn stamp(t: i64) -> String {
    jiff::Timestamp::from_second(t)
        .map(|t| t.to_string())
        .unwrap_or_else(|_| t.to_string())
}

/// The verdict on the certificate at `cert` and the key at `key` (they may be one file, as
/// Red Hat's sendmail.pem is).
pub fn check_pair(root: &Root, cert: &str, key: &str, x: &Expect) -> PairVerdict {
    let mut v = PairVerdict::default();
    let cert_bytes = file_checks(root, cert, "certificate", false, x, &mut v.errors);
    let key_bytes = file_checks(root, key, "private key", true, x, &mut v.errors);
    let mut spki: Option<Vec<u8>> = None;
    if let Some(b) = &cert_bytes {
        let shown = root.display(cert);
        let pem = x509_parser::pem::Pem::iter_from_buffer(b)
            .filter_map(Result::ok)
            .find(|p| p.label == "CERTIFICATE");
        match pem {
            None => v.errors.push(format!(
                "the certificate {shown} is not a PEM certificate (no -----BEGIN CERTIFICATE----- \
                 block that can be read): sendmail logs \"SSL_CTX_use_certificate_file failed\" \
                 and offers no STARTTLS"
            )),
            Some(p) => match p.parse_x509() {
                Err(e) => v.errors.push(format!(
                    "the certificate {shown} cannot be parsed ({e}): sendmail logs \
                     \"SSL_CTX_use_certificate_file failed\" and offers no STARTTLS"
                )),
                Ok(c) => {
                    spki = Some(c.public_key().raw.to_vec());
                    let mut san = vec![];
                    let mut dns = vec![];
                    if let Ok(Some(ext)) = c.subject_alternative_name() {
                        for n in &ext.value.general_names {
                            match n {
                                x509_parser::extensions::GeneralName::DNSName(d) => {
                                    dns.push(d.to_string());
                                    san.push(format!("DNS:{d}"));
                                }
                                other => san.push(format!("{other}")),
                            }
                        }
                    }
                    let nb = c.validity().not_before.timestamp();
                    let na = c.validity().not_after.timestamp();
                    let days_left = (na - x.now).div_euclid(86_400);
                    let cn: Vec<String> = c
                        .subject()
                        .iter_common_name()
                        .filter_map(|a| a.as_str().ok().map(str::to_string))
                        .collect();
                    let s = CertSummary {
                        subject: c.subject().to_string(),
                        san: san.clone(),
                        issuer: c.issuer().to_string(),
                        not_before: stamp(nb),
                        not_after: stamp(na),
                        days_left,
                    };
                    if na < x.now {
                        v.errors.push(format!(
                            "the certificate {shown} expired on {} ({} days ago): clients that \
                             check it refuse the session",
                            s.not_after, -days_left
                        ));
                    } else if nb > x.now {
                        v.errors.push(format!(
                            "the certificate {shown} is not valid yet (from {}): check the \
                             clock, or the certificate; clients that check it refuse the session",
                            s.not_before
                        ));
                    } else if days_left < 30 {
                        v.warnings.push(format!(
                            "the certificate {shown} expires in {days_left} days ({}): renew it",
                            s.not_after
                        ));
                    }
                    let names: Vec<String> = if dns.is_empty() { cn.clone() } else { dns };
                    if !names.iter().any(|n| name_matches(n, x.name)) {
                        v.warnings.push(format!(
                            "wrong name: the certificate {shown} is for {} and not for this \
                             host ({}): clients that verify the name refuse it",
                            if names.is_empty() {
                                "no name".to_string()
                            } else {
                                names.join(", ")
                            },
                            x.name
                        ));
                    } else if san.is_empty() {
                        v.warnings.push(format!(
                            "the certificate {shown} has no subjectAltName (only CN={}): \
                             current clients ignore the CN and refuse the name",
                            cn.join(",")
                        ));
                    }
                    v.cert = Some(s);
                }
            },
        }
    }
    if let Some(b) = &key_bytes {
        let shown = root.display(key);
        use rustls::pki_types::pem::PemObject;
        match rustls::pki_types::PrivateKeyDer::from_pem_slice(b) {
            Err(_) => {
                let encrypted = String::from_utf8_lossy(b).contains("ENCRYPTED");
                v.errors.push(if encrypted {
                    format!(
                        "the private key {shown} is encrypted with a passphrase: sendmail cannot \
                         read it at start and offers no STARTTLS"
                    )
                } else {
                    format!(
                        "the private key {shown} holds no PEM private key (-----BEGIN PRIVATE \
                         KEY-----, RSA or EC): sendmail offers no STARTTLS"
                    )
                });
            }
            Ok(der) => {
                let provider = rustls::crypto::ring::default_provider();
                match provider.key_provider.load_private_key(der) {
                    Err(e) => v.errors.push(format!(
                        "the private key {shown} cannot be used: {e}; sendmail offers no STARTTLS"
                    )),
                    Ok(sk) => {
                        if let (Some(pk), Some(cert_spki)) = (sk.public_key(), &spki) {
                            if pk.as_ref() != cert_spki.as_slice() {
                                v.errors.push(format!(
                                    "the private key {shown} does not match the certificate {}: \
                                     sendmail logs \"SSL_CTX_check_private_key failed\" and \
                                     offers no STARTTLS",
                                    root.display(cert)
                                ));
                            }
                        }
                    }
                }
            }
        }
    }
    v
}

/// A new self-signed certificate and key.
pub struct NewPair {
    pub cert_pem: String,
    pub key_pem: String,
}

/// A self-signed certificate for `name` (CN and subjectAltName DNS), valid from yesterday for
/// 825 days (what browsers and mail clients accept for a server certificate), not a CA,
/// for TLS servers; the key is ECDSA P-256 (rcgen with ring), as PKCS#8 PEM.
pub fn self_signed(name: &str, today: jiff::civil::Date) -> Result<NewPair, String> {
    let mut p = rcgen::CertificateParams::new(vec![name.to_string()])
        .map_err(|e| format!("cannot make a certificate for {name:?}: {e}"))?;
    p.distinguished_name = rcgen::DistinguishedName::new();
    p.distinguished_name
        .push(rcgen::DnType::CommonName, name.to_string());
    let from = today.yesterday().map_err(|e| e.to_string())?;
    let to = today
        .checked_add(jiff::Span::new().days(825))
        .map_err(|e| e.to_string())?;
    let ymd = |d: jiff::civil::Date| {
        rcgen::date_time_ymd(i32::from(d.year()), d.month() as u8, d.day() as u8)
    };
    p.not_before = ymd(from);
    p.not_after = ymd(to);
    p.is_ca = rcgen::IsCa::ExplicitNoCa;
    p.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ServerAuth];
    p.key_usages = vec![rcgen::KeyUsagePurpose::DigitalSignature];
    let key = rcgen::KeyPair::generate().map_err(|e| format!("cannot make a key: {e}"))?;
    let c = p
        .self_signed(&key)
        .map_err(|e| format!("cannot sign the certificate: {e}"))?;
    Ok(NewPair {
        cert_pem: c.pem(),
        key_pem: key.serialize_pem(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    const HOST: &str = "mailsrv.example.test";

    fn now() -> i64 {
        jiff::Timestamp::now().as_second()
    }

    fn expect(group_readable_key: bool) -> Expect<'static> {
        Expect {
            name: HOST,
            group_readable_key,
            now: now(),
        }
    }

    /// A certificate for `names` valid between the two dates, and its key.
    fn made(names: &[&str], from: (i32, u8, u8), to: (i32, u8, u8)) -> (String, String) {
        let mut p =
            rcgen::CertificateParams::new(names.iter().map(|s| s.to_string()).collect::<Vec<_>>())
                .unwrap();
        p.distinguished_name
            .push(rcgen::DnType::CommonName, names[0].to_string());
        p.not_before = rcgen::date_time_ymd(from.0, from.1, from.2);
        p.not_after = rcgen::date_time_ymd(to.0, to.1, to.2);
        let k = rcgen::KeyPair::generate().unwrap();
        let c = p.self_signed(&k).unwrap();
        (c.pem(), k.serialize_pem())
    }

    fn good() -> (String, String) {
        made(&[HOST], (2020, 1, 1), (2099, 1, 1))
    }

    /// A tree with /etc/mail/tls/{c.crt,k.key} at the given modes.
    fn tree(cert: &str, key: &str, cmode: u32, kmode: u32) -> (tempfile::TempDir, Root) {
        let t = tempfile::tempdir().unwrap();
        let d = t.path().join("etc/mail/tls");
        fs::create_dir_all(&d).unwrap();
        for p in ["etc", "etc/mail", "etc/mail/tls"] {
            fs::set_permissions(t.path().join(p), fs::Permissions::from_mode(0o755)).unwrap();
        }
        fs::write(d.join("c.crt"), cert).unwrap();
        fs::write(d.join("k.key"), key).unwrap();
        fs::set_permissions(d.join("c.crt"), fs::Permissions::from_mode(cmode)).unwrap();
        fs::set_permissions(d.join("k.key"), fs::Permissions::from_mode(kmode)).unwrap();
        let root = Root::new(t.path()).unwrap();
        (t, root)
    }

    fn verdict(cert: &str, key: &str, cmode: u32, kmode: u32, grk: bool) -> PairVerdict {
        let (_t, root) = tree(cert, key, cmode, kmode);
        check_pair(
            &root,
            "/etc/mail/tls/c.crt",
            "/etc/mail/tls/k.key",
            &expect(grk),
        )
    }

    fn has(v: &[String], s: &str) -> bool {
        v.iter().any(|e| e.contains(s))
    }

    #[test]
    fn a_good_pair_is_usable_and_described() {
        let (c, k) = good();
        let v = verdict(&c, &k, 0o644, 0o600, false);
        assert!(v.usable(), "{:?}", v.errors);
        assert!(v.warnings.is_empty(), "{:?}", v.warnings);
        let s = v.cert.unwrap();
        assert_eq!(s.san, vec![format!("DNS:{HOST}")]);
        assert!(s.subject.contains(HOST) && s.issuer.contains(HOST), "{s:?}");
        assert!(s.not_after.starts_with("2099-01-01"), "{s:?}");
        assert!(s.days_left > 1000);
        // Debian's root:smmsp 0640 with GroupReadableKeyFile is accepted.
        assert!(verdict(&c, &k, 0o644, 0o640, true).usable());
    }

    #[test]
    fn expired_not_yet_valid_and_expiring_soon() {
        let (c, k) = made(&[HOST], (2001, 1, 1), (2002, 1, 1));
        let v = verdict(&c, &k, 0o644, 0o600, false);
        assert!(has(&v.errors, "expired on 2002-01-01"), "{:?}", v.errors);
        let (c, k) = made(&[HOST], (2098, 1, 1), (2099, 1, 1));
        let v = verdict(&c, &k, 0o644, 0o600, false);
        assert!(has(&v.errors, "is not valid yet"), "{:?}", v.errors);
        let soon = jiff::Zoned::now()
            .date()
            .checked_add(jiff::Span::new().days(10))
            .unwrap();
        let (c, k) = made(
            &[HOST],
            (2020, 1, 1),
            (i32::from(soon.year()), soon.month() as u8, soon.day() as u8),
        );
        let v = verdict(&c, &k, 0o644, 0o600, false);
        assert!(v.usable(), "{:?}", v.errors);
        assert!(has(&v.warnings, "expires in"), "{:?}", v.warnings);
    }

    #[test]
    fn wrong_name_and_no_san_are_warnings() {
        let (c, k) = made(&["other.example.test"], (2020, 1, 1), (2099, 1, 1));
        let v = verdict(&c, &k, 0o644, 0o600, false);
        assert!(v.usable());
        assert!(
            has(&v.warnings, "wrong name") && has(&v.warnings, "other.example.test"),
            "{:?}",
            v.warnings
        );
        // A wildcard for the domain covers the host.
        let (c, k) = made(&["*.example.test"], (2020, 1, 1), (2099, 1, 1));
        assert!(verdict(&c, &k, 0o644, 0o600, false).warnings.is_empty());
        assert!(name_matches("*.example.test", HOST));
        assert!(!name_matches("*.example.test", "example.test"));
        assert!(!name_matches("*.test", HOST));
    }

    #[test]
    fn a_key_that_does_not_match_is_an_error() {
        let (c, _) = good();
        let (_, k2) = good();
        let v = verdict(&c, &k2, 0o644, 0o600, false);
        assert!(
            has(&v.errors, "does not match the certificate"),
            "{:?}",
            v.errors
        );
    }

    #[test]
    fn each_mode_sendmail_refuses() {
        let (c, k) = good();
        for (cm, km, grk, want) in [
            (0o644, 0o644, true, "world-readable"),
            (0o644, 0o660, true, "group-writable"),
            (0o644, 0o640, false, "group-readable"),
            (0o000, 0o600, false, "cannot read"),
            (0o646, 0o600, false, "world-writable"),
            (0o664, 0o600, false, "group-writable"),
        ] {
            let v = verdict(&c, &k, cm, km, grk);
            assert!(
                has(&v.errors, want),
                "{cm:o} {km:o} {grk}: {want}: {:?}",
                v.errors
            );
        }
        // A world-writable directory on the way.
        let (t, root) = tree(&c, &k, 0o644, 0o600);
        fs::set_permissions(
            t.path().join("etc/mail/tls"),
            fs::Permissions::from_mode(0o777),
        )
        .unwrap();
        let v = check_pair(
            &root,
            "/etc/mail/tls/c.crt",
            "/etc/mail/tls/k.key",
            &expect(false),
        );
        assert!(has(&v.errors, "World writable directory"), "{:?}", v.errors);
    }

    #[test]
    fn missing_dangling_and_not_pem() {
        let (c, k) = good();
        let (t, root) = tree(&c, &k, 0o644, 0o600);
        let v = check_pair(
            &root,
            "/etc/mail/tls/none.crt",
            "/etc/mail/tls/k.key",
            &expect(false),
        );
        assert!(has(&v.errors, "none.crt does not exist"), "{:?}", v.errors);
        std::os::unix::fs::symlink(
            "/etc/mail/tls/gone.key",
            t.path().join("etc/mail/tls/l.key"),
        )
        .unwrap();
        let v = check_pair(
            &root,
            "/etc/mail/tls/c.crt",
            "/etc/mail/tls/l.key",
            &expect(false),
        );
        assert!(
            has(&v.errors, "symbolic link") && has(&v.errors, "gone.key"),
            "{:?}",
            v.errors
        );
        let v = verdict("hello\n", &k, 0o644, 0o600, false);
        assert!(has(&v.errors, "not a PEM certificate"), "{:?}", v.errors);
        let v = verdict(
            &c,
            "-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----\n",
            0o644,
            0o600,
            false,
        );
        assert!(has(&v.errors, "encrypted"), "{:?}", v.errors);
        let v = verdict(&c, "garbage\n", 0o644, 0o600, false);
        assert!(has(&v.errors, "no PEM private key"), "{:?}", v.errors);
    }

    #[test]
    fn one_file_with_key_and_certificate_like_red_hats_sendmail_pem() {
        let (c, k) = good();
        let both = format!("{k}{c}");
        let (_t, root) = tree(&both, &both, 0o600, 0o600);
        let v = check_pair(
            &root,
            "/etc/mail/tls/c.crt",
            "/etc/mail/tls/c.crt",
            &expect(false),
        );
        assert!(v.usable(), "{:?}", v.errors);
    }

    #[test]
    fn the_self_signed_certificate_passes_every_check() {
        let today = jiff::Zoned::now().date();
        let n = self_signed(HOST, today).unwrap();
        assert!(n.key_pem.contains("BEGIN PRIVATE KEY"));
        let v = verdict(&n.cert_pem, &n.key_pem, 0o644, 0o600, false);
        assert!(v.usable(), "{:?}", v.errors);
        assert!(v.warnings.is_empty(), "{:?}", v.warnings);
        let s = v.cert.unwrap();
        assert_eq!(s.san, vec![format!("DNS:{HOST}")]);
        assert!((820..=826).contains(&s.days_left), "{s:?}");
    }
}
