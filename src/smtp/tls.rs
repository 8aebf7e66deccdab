//! STARTTLS for the probe: the client configuration (rustls with the `ring` provider, roots from
//! the system store plus an optional `--tls-ca` file), a verifier that records what it found
//! (so a failed verification is a verdict naming why, and `--no-verify-cert` can still say what
//! verification would have said), and the peer certificate in words (subject, SAN, issuer,
//! validity) read with x509-parser.

use std::path::Path;
use std::sync::{Arc, Mutex};

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{
    CertificateError, ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme,
};

/// What the probe learnt about the server's certificate.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct CertInfo {
    pub subject: String,
    /// subjectAltName entries: `DNS:name`, `IP:addr`, others as x509-parser prints them.
    pub san: Vec<String>,
    pub issuer: String,
    /// RFC 3339, UTC.
    pub not_before: String,
    pub not_after: String,
    /// Whole days until `not_after` (negative: expired that many days ago).
    pub days_left: i64,
    pub self_signed: bool,
}

/// Parse a DER certificate; `None` when x509-parser cannot read it (the handshake then fails
/// on its own, with rustls' reason).
pub fn cert_info(der: &[u8]) -> Option<CertInfo> {
    let (_, cert) = x509_parser::parse_x509_certificate(der).ok()?;
    let mut san = Vec::new();
    if let Ok(Some(ext)) = cert.subject_alternative_name() {
        for n in &ext.value.general_names {
            san.push(match n {
                x509_parser::extensions::GeneralName::DNSName(d) => format!("DNS:{d}"),
                x509_parser::extensions::GeneralName::IPAddress(b) => match b.len() {
                    4 => format!("IP:{}", std::net::Ipv4Addr::new(b[0], b[1], b[2], b[3])),
                    16 => {
                        let mut a = [0u8; 16];
                        a.copy_from_slice(b);
                        format!("IP:{}", std::net::Ipv6Addr::from(a))
                    }
                    _ => "IP:?".to_owned(),
                },
                other => format!("{other}"),
            });
        }
    }
    let stamp = |t: i64| {
        jiff::Timestamp::from_second(t)
            .map(|t| t.to_string())
            .unwrap_or_else(|_| t.to_string())
    };
    let nb = cert.validity().not_before.timestamp();
    let na = cert.validity().not_after.timestamp();
    let now = jiff::Timestamp::now().as_second();
    let subject = cert.subject().to_string();
    let issuer = cert.issuer().to_string();
    Some(CertInfo {
        self_signed: subject == issuer,
        subject,
        san,
        issuer,
        not_before: stamp(nb),
        not_after: stamp(na),
        days_left: (na - now).div_euclid(86_400),
    })
}

/// Why verification failed, in the words an admin needs.
pub fn describe_error(e: &rustls::Error) -> String {
    use CertificateError as C;
    match e {
        rustls::Error::InvalidCertificate(c) => match c {
            C::Expired | C::ExpiredContext { .. } => "the certificate has expired".to_owned(),
            C::NotValidYet | C::NotValidYetContext { .. } => {
                "the certificate is not valid yet".to_owned()
            }
            C::NotValidForName | C::NotValidForNameContext { .. } => {
                "wrong name: the certificate is not valid for the host name probed".to_owned()
            }
            C::UnknownIssuer => "unknown issuer: the certificate is not signed by a trusted \
                                 authority (self-signed, or its CA is not in the system store)"
                .to_owned(),
            C::BadSignature => "the certificate's signature is invalid".to_owned(),
            C::Revoked => "the certificate has been revoked".to_owned(),
            C::BadEncoding => "the certificate cannot be parsed".to_owned(),
            C::Other(o) if format!("{o:?}").contains("CaUsedAsEndEntity") => {
                "the server's certificate is marked as a CA (basicConstraints CA:TRUE, as \
                 `openssl req -x509` makes them), which strict verifiers refuse as a server \
                 certificate; give exactly this certificate with --tls-ca FILE to trust it"
                    .to_owned()
            }
            C::Other(o) if (*o.0).downcast_ref::<X509Version1>().is_some() => o.0.to_string(),
            other => format!("invalid certificate: {other:?}"),
        },
        other => other.to_string(),
    }
}

/// An X.509 version 1 certificate (no extensions, so no subjectAltName), as Debian's
/// update_tls makes them: WebPKI cannot read one at all, trusted or not, so verification fails
/// with this instead of its raw `UnsupportedCertVersion` or "cannot be parsed".
#[derive(Debug)]
struct X509Version1;

impl std::fmt::Display for X509Version1 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(
            "the certificate is X.509 version 1 (no extensions, no subjectAltName; Debian's \
             update_tls makes these), which today's verifiers cannot use, trusted or not: give \
             sendmail a version 3 certificate with the host's name as a subjectAltName (the \
             tls step makes one with --tls-cert/--tls-key unset and no usable pair), or probe \
             with --no-verify-cert to check encryption without verification",
        )
    }
}

impl std::error::Error for X509Version1 {}

/// A failed verification of a version 1 certificate, said as such.
fn as_version_1<T>(res: Result<T, rustls::Error>, der: &[u8]) -> Result<T, rustls::Error> {
    match res {
        Err(_) if is_version_1(der) => Err(rustls::Error::InvalidCertificate(
            CertificateError::Other(rustls::OtherError(Arc::new(X509Version1))),
        )),
        other => other,
    }
}

fn is_version_1(der: &[u8]) -> bool {
    x509_parser::parse_x509_certificate(der)
        .is_ok_and(|(_, c)| c.version() == x509_parser::x509::X509Version::V1)
}

/// What one handshake's verifier saw: the certificate, and verification's own result (even
/// when `--no-verify-cert` then accepted the certificate anyway).
#[derive(Debug, Default, Clone)]
pub struct Seen {
    pub cert: Option<CertInfo>,
    /// `None`: verification never ran (the handshake failed before the certificate).
    pub verified: Option<Result<(), String>>,
}

#[derive(Debug)]
struct Recording {
    inner: Arc<WebPkiServerVerifier>,
    verify: bool,
    seen: Arc<Mutex<Seen>>,
    /// The certificates of `--tls-ca`: one the server presents itself is trusted as it is
    /// (after the name and date checks), as OpenSSL-based clients do with `-CAfile`; WebPKI
    /// alone refuses a self-signed CA:TRUE certificate as a server's own (CaUsedAsEndEntity),
    /// and that is what `openssl req -x509` and Debian's update_tls make.
    pinned: Arc<Vec<CertificateDer<'static>>>,
}

fn is_ca_as_end_entity(e: &rustls::Error) -> bool {
    matches!(e, rustls::Error::InvalidCertificate(CertificateError::Other(o))
        if format!("{o:?}").contains("CaUsedAsEndEntity"))
}

/// A certificate the admin named with `--tls-ca` itself: valid now and for `name`.
fn pinned_ok(
    der: &CertificateDer<'_>,
    name: &ServerName<'_>,
    now: UnixTime,
) -> Result<(), rustls::Error> {
    let bad = |c: CertificateError| rustls::Error::InvalidCertificate(c);
    let ee =
        webpki::EndEntityCert::try_from(der).map_err(|_| bad(CertificateError::BadEncoding))?;
    ee.verify_is_valid_for_subject_name(name)
        .map_err(|_| bad(CertificateError::NotValidForName))?;
    let (_, cert) = x509_parser::parse_x509_certificate(der.as_ref())
        .map_err(|_| bad(CertificateError::BadEncoding))?;
    let now = now.as_secs() as i64;
    if now < cert.validity().not_before.timestamp() {
        return Err(bad(CertificateError::NotValidYet));
    }
    if now > cert.validity().not_after.timestamp() {
        return Err(bad(CertificateError::Expired));
    }
    Ok(())
}

impl ServerCertVerifier for Recording {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let mut res = self.inner.verify_server_cert(
            end_entity,
            intermediates,
            server_name,
            ocsp_response,
            now,
        );
        if res.is_err()
            && self
                .pinned
                .iter()
                .any(|p| p.as_ref() == end_entity.as_ref())
        {
            res = pinned_ok(end_entity, server_name, now).map(|()| ServerCertVerified::assertion());
        }
        if matches!(&res, Err(e) if is_ca_as_end_entity(e)) {
            // Not given with --tls-ca: what matters is that nothing vouches for it.
            res = Err(rustls::Error::InvalidCertificate(
                CertificateError::UnknownIssuer,
            ));
        }
        let res = as_version_1(res, end_entity.as_ref());
        if let Ok(mut s) = self.seen.lock() {
            s.cert = cert_info(end_entity.as_ref());
            s.verified = Some(res.as_ref().map(|_| ()).map_err(describe_error));
        }
        match res {
            Ok(v) => Ok(v),
            Err(_) if !self.verify => Ok(ServerCertVerified::assertion()),
            Err(e) => Err(e),
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        // The handshake signature is always checked: it proves the server holds the key of the
        // certificate it sent, whether or not that certificate is trusted.
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        match self.inner.verify_tls13_signature(message, cert, dss) {
            Ok(v) => Ok(v),
            // WebPKI cannot read an X.509 version 1 certificate at all (UnsupportedCertVersion),
            // and Debian's update_tls makes exactly those: where the certificate need not be
            // trusted (--no-verify-cert, the restart step's own loopback check), the signature
            // is checked with the certificate's public key itself, so the server still proves
            // it holds the key.
            Err(e) if !self.verify => {
                let Ok((_, c)) = x509_parser::parse_x509_certificate(cert.as_ref()) else {
                    return Err(e);
                };
                let spki = rustls::pki_types::SubjectPublicKeyInfoDer::from(c.public_key().raw);
                rustls::crypto::verify_tls13_signature_with_raw_key(
                    message,
                    &spki,
                    dss,
                    &provider().signature_verification_algorithms,
                )
            }
            Err(e) => Err(e),
        }
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// A client configuration and where its verifier records what it saw.
type Handshake = (Arc<ClientConfig>, Arc<Mutex<Seen>>);

/// The trust anchors: the system store (what an admin's other tools trust, including a CA of
/// their own they installed there), plus the certificates of `extra` (`--tls-ca FILE`).
#[derive(Debug, Clone)]
pub struct Trust {
    roots: Arc<RootCertStore>,
    pinned: Arc<Vec<CertificateDer<'static>>>,
    /// The client configurations made so far (per `verify`), reused for every handshake of
    /// this probe: rustls resumes a session only with the same configuration (the same
    /// verifier), so the probe's second connection (AUTH LOGIN) resumes the first's session
    /// instead of a full handshake (the server's private-key signature and our certificate
    /// verification again). Only a handshake that passed verification (or that
    /// `--no-verify-cert` accepted) stores a session, and only for the same server name; a new
    /// probe has a new `Trust` and starts with a full, verified handshake.
    configs: Arc<Mutex<Vec<(bool, Handshake)>>>,
    /// Notes for the report (a system store that could not be read, how many roots).
    pub notes: Vec<String>,
}

impl Trust {
    pub fn load(extra: Option<&Path>) -> Result<Trust, String> {
        let mut roots = RootCertStore::empty();
        let mut notes = Vec::new();
        let native = rustls_native_certs::load_native_certs();
        let (added, _ignored) = roots.add_parsable_certificates(native.certs);
        if added == 0 {
            notes.push(
                "no trusted root certificates in the system store (ca-certificates not \
                 installed?): every certificate will fail verification"
                    .to_owned(),
            );
        }
        for e in native.errors.iter().take(3) {
            notes.push(format!("system certificate store: {e}"));
        }
        let mut pinned = Vec::new();
        if let Some(path) = extra {
            let mut n = 0;
            let iter = CertificateDer::pem_file_iter(path)
                .map_err(|e| format!("--tls-ca {}: {e}", path.display()))?;
            for c in iter {
                let c = c.map_err(|e| format!("--tls-ca {}: {e}", path.display()))?;
                pinned.push(c.clone());
                // A certificate webpki cannot use as an anchor is still pinned (above).
                let _ = roots.add(c);
                n += 1;
            }
            if n == 0 {
                return Err(format!(
                    "--tls-ca {}: no PEM certificate (-----BEGIN CERTIFICATE-----) in the file",
                    path.display()
                ));
            }
        }
        Ok(Trust {
            roots: Arc::new(roots),
            pinned: Arc::new(pinned),
            configs: Arc::default(),
            notes,
        })
    }

    /// A client configuration for the next handshake, and where its verifier records what it
    /// saw (emptied here: a resumed handshake verifies nothing and leaves it empty). The same
    /// configuration for every handshake with the same `verify` ([`Trust::configs`]): one
    /// handshake at a time, as the probe does them.
    pub fn config(&self, verify: bool) -> Result<Handshake, String> {
        let mut made = self
            .configs
            .lock()
            .map_err(|_| "cannot set up TLS: a previous handshake panicked".to_owned())?;
        if let Some((_, (cfg, seen))) = made.iter().find(|(v, _)| *v == verify) {
            if let Ok(mut s) = seen.lock() {
                *s = Seen::default();
            }
            return Ok((cfg.clone(), seen.clone()));
        }
        let (cfg, seen) = self.new_config(verify)?;
        made.push((verify, (cfg.clone(), seen.clone())));
        Ok((cfg, seen))
    }

    fn new_config(&self, verify: bool) -> Result<Handshake, String> {
        let provider = provider();
        let inner =
            WebPkiServerVerifier::builder_with_provider(self.roots.clone(), provider.clone())
                .build()
                .map_err(|e| format!("cannot set up certificate verification: {e}"))?;
        let seen = Arc::new(Mutex::new(Seen::default()));
        let verifier = Arc::new(Recording {
            inner,
            verify,
            seen: seen.clone(),
            pinned: self.pinned.clone(),
        });
        let cfg = ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| format!("cannot set up TLS: {e}"))?
            .dangerous()
            .with_custom_certificate_verifier(verifier)
            .with_no_client_auth();
        Ok((Arc::new(cfg), seen))
    }
}

/// The name the certificate must be valid for: an IP literal is checked against IP SANs.
pub fn server_name(name: &str) -> Result<ServerName<'static>, String> {
    if let Ok(ip) = name.parse::<std::net::IpAddr>() {
        return Ok(ServerName::IpAddress(ip.into()));
    }
    ServerName::try_from(name.to_owned())
        .map_err(|e| format!("{name:?} cannot be checked against a certificate: {e}"))
}

/// `TLSv1_3` → `TLSv1.3`.
pub fn version_name(v: rustls::ProtocolVersion) -> String {
    match v {
        rustls::ProtocolVersion::TLSv1_3 => "TLSv1.3".to_owned(),
        rustls::ProtocolVersion::TLSv1_2 => "TLSv1.2".to_owned(),
        other => format!("{other:?}"),
    }
}

/// Options of the probe's TLS, as given on the command line.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TlsMode {
    /// STARTTLS when the server offers it (the default).
    #[default]
    Auto,
    /// Never STARTTLS (`--no-starttls`): the probe then never sends a password to a server
    /// that offers TLS.
    Off,
    /// STARTTLS must be offered and work (`--tls-required`).
    Required,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verification_errors_name_the_reason() {
        use rustls::Error::InvalidCertificate as I;
        assert!(describe_error(&I(CertificateError::Expired)).contains("expired"));
        assert!(describe_error(&I(CertificateError::NotValidForName)).contains("wrong name"));
        assert!(describe_error(&I(CertificateError::UnknownIssuer)).contains("unknown issuer"));
        assert!(describe_error(&I(CertificateError::NotValidYet)).contains("not valid yet"));
    }

    #[test]
    fn names_and_addresses() {
        assert!(matches!(
            server_name("127.0.0.1").unwrap(),
            ServerName::IpAddress(_)
        ));
        assert!(matches!(
            server_name("mail.example.test").unwrap(),
            ServerName::DnsName(_)
        ));
        assert!(server_name("bad name").is_err());
    }

    #[test]
    fn a_missing_or_empty_ca_file_is_refused_with_its_name() {
        let t = tempfile::tempdir().unwrap();
        let e = Trust::load(Some(&t.path().join("nope.pem"))).unwrap_err();
        assert!(e.contains("nope.pem"), "{e}");
        let f = t.path().join("empty.pem");
        std::fs::write(&f, "not a certificate\n").unwrap();
        let e = Trust::load(Some(&f)).unwrap_err();
        assert!(e.contains("empty.pem") && e.contains("no PEM"), "{e}");
    }

    #[test]
    fn garbage_is_no_certificate() {
        assert_eq!(cert_info(b"\x30\x03junk"), None);
    }
}
