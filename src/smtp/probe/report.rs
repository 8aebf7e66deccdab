//! What the probe found: checks with a status, verdicts, the transcript; as text and JSON.

use super::super::client::TranscriptLine;

/// Outcome of one check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// What a correctly configured server does.
    Pass,
    /// The server answered, and the answer is not what the HOWTO expects.
    Fail,
    /// Not run, or run from a place where the answer proves nothing.
    Skipped,
    /// No usable answer: connection, timeout, protocol garbage, inconclusive reply.
    Error,
    /// Works, but not as it should on a server open to the network (exit code 0): PLAIN/LOGIN
    /// offered before STARTTLS, a certificate not verified (`--no-verify-cert`).
    Warn,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pass => "pass",
            Status::Fail => "fail",
            Status::Skipped => "skipped",
            Status::Error => "error",
            Status::Warn => "warn",
        }
    }
}

/// One check. Ids: `connect`, `greeting`, `ehlo`, `relay-denied`, `starttls`,
/// `auth-advertised`, `auth-after-tls`, `auth-plain`, `relay-authenticated-plain`, `auth-login`,
/// `relay-authenticated-login`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Check {
    pub id: String,
    pub status: Status,
    pub detail: String,
    pub hint: Option<String>,
}

impl Check {
    pub fn ok(&self) -> bool {
        self.status == Status::Pass
    }
}

/// What STARTTLS gave: present in the report once the probe sent STARTTLS.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct TlsReport {
    /// The handshake finished: the session after it was encrypted.
    pub established: bool,
    /// `TLSv1.3`, `TLSv1.2`.
    pub version: Option<String>,
    /// As IANA names it: `TLS13_AES_256_GCM_SHA384`.
    pub cipher: Option<String>,
    /// The name the certificate was checked against.
    pub name: String,
    /// Verification passed (system roots and `--tls-ca`, the name above, the dates).
    pub verified: bool,
    /// `verified`, `certificate not verified (--no-verify-cert): WHY`, `failed: WHY`, or
    /// `not reached` when the handshake broke off before the certificate.
    pub verification: String,
    pub certificate: Option<crate::smtp::tls::CertInfo>,
    /// Why STARTTLS failed (refused, handshake error, timeout).
    pub error: Option<String>,
    /// The AUTH mechanisms of the EHLO reply after STARTTLS (`None`: no AUTH line).
    pub auth_mechanisms: Option<Vec<String>>,
    /// EHLO lines after STARTTLS.
    pub capabilities: Vec<String>,
}

#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct ProbeReport {
    /// `host:port` probed.
    pub target: String,
    /// The local address of the first connection, as the server sees it (without NAT).
    pub source: Option<String>,
    pub connected: bool,
    /// The greeting's text (`mailsrv ESMTP Sendmail ...`), lines joined.
    pub greeting: Option<String>,
    /// `None` when the EHLO reply had no AUTH line. The first EHLO's, before any STARTTLS
    /// (after it: `tls.auth_mechanisms`).
    pub auth_mechanisms: Option<Vec<String>>,
    /// STARTTLS was offered in the first EHLO reply.
    pub starttls: bool,
    /// `None` when STARTTLS was not tried (not offered, or `--no-starttls`).
    pub tls: Option<TlsReport>,
    /// EHLO lines after the first, as sent.
    pub capabilities: Vec<String>,
    pub checks: Vec<Check>,
    /// Plain-language interpretation, most important first within each stage.
    pub verdicts: Vec<String>,
    pub transcript: Vec<TranscriptLine>,
    /// The error that ended the probe early, if any.
    pub error: Option<String>,
}

impl ProbeReport {
    /// 0: every expectation met; 2: an expectation failed (no AUTH, relay not denied, login
    /// refused); 1: error (cannot connect, timeout, protocol garbage, inconclusive test).
    pub fn exit_code(&self) -> u8 {
        if self.error.is_some() || self.checks.iter().any(|c| c.status == Status::Error) {
            1
        } else if self.checks.iter().any(|c| c.status == Status::Fail) {
            2
        } else {
            0
        }
    }

    /// The outcome in words, after [`ProbeReport::exit_code`].
    pub fn result(&self) -> &'static str {
        match self.exit_code() {
            0 => "every expectation met",
            2 => "an expectation failed",
            _ => "error: the probe could not finish",
        }
    }

    pub fn check(&self, id: &str) -> Option<&Check> {
        self.checks.iter().find(|c| c.id == id)
    }

    /// Human output: the conversation as the HOWTO shows it, then checks, verdicts, result.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        let from = self
            .source
            .as_deref()
            .map(|s| format!(" from {s}"))
            .unwrap_or_default();
        out.push_str(&format!("SMTP probe of {}{from}\n", self.target));
        let many = self.transcript.iter().any(|l| l.session > 1);
        let mut session = 0;
        for line in &self.transcript {
            if line.session != session {
                session = line.session;
                if many {
                    out.push_str(&format!("\n--- connection {session} ---\n"));
                } else {
                    out.push('\n');
                }
            }
            // The server's lines (and ours, which quote its names): escaped and cut when long.
            out.push_str(&format!(
                "{}: {}\n",
                line.dir.as_str(),
                crate::term::safe(&line.text)
            ));
        }
        if let Some(t) = &self.tls {
            out.push_str(&format!("\nTLS: {}\n", t.summary()));
            if let Some(c) = &t.certificate {
                out.push_str(&format!(
                    "  certificate: subject {}; SAN {}; issuer {}; valid {} to {} ({} days left)\n",
                    crate::term::safe(&c.subject),
                    if c.san.is_empty() {
                        "none".to_owned()
                    } else {
                        crate::term::safe(&c.san.join(", ")).into_owned()
                    },
                    crate::term::safe(&c.issuer),
                    c.not_before,
                    c.not_after,
                    c.days_left
                ));
            }
        }
        out.push_str("\nChecks:\n");
        let width = self.checks.iter().map(|c| c.id.len()).max().unwrap_or(0);
        for c in &self.checks {
            out.push_str(&format!(
                "  [{:<7}] {:<width$}  {}\n",
                c.status.as_str(),
                c.id,
                crate::term::safe_max(&c.detail, 2 * crate::term::MAX_FIELD)
            ));
            if let Some(h) = &c.hint {
                out.push_str(&format!("  {:<9} {:<width$}  hint: {h}\n", "", ""));
            }
        }
        if !self.verdicts.is_empty() {
            out.push_str("\nWhat this means:\n");
            for v in &self.verdicts {
                out.push_str(&format!("  - {v}\n"));
            }
        }
        if let Some(e) = &self.error {
            out.push_str(&format!("\nError: {e}\n"));
        }
        out.push_str(&format!(
            "\nResult: {} (exit {})\n",
            self.result(),
            self.exit_code()
        ));
        out
    }
}

impl TlsReport {
    /// One line: `TLSv1.3, TLS13_AES_256_GCM_SHA384, certificate verified for NAME`, or why
    /// TLS failed.
    pub fn summary(&self) -> String {
        if !self.established {
            let why = self.error.as_deref().unwrap_or("failed");
            return if self.verification.starts_with("failed") {
                format!("not established: certificate {}", self.verification)
            } else {
                format!("not established: {why}")
            };
        }
        let v = self.version.as_deref().unwrap_or("?");
        let c = self.cipher.as_deref().unwrap_or("?");
        if self.verified {
            format!("{v}, {c}, certificate verified for {}", self.name)
        } else {
            format!("{v}, {c}, {}", self.verification)
        }
    }
}
