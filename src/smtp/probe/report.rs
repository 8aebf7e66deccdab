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
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pass => "pass",
            Status::Fail => "fail",
            Status::Skipped => "skipped",
            Status::Error => "error",
        }
    }
}

/// One check. Ids: `connect`, `greeting`, `ehlo`, `auth-advertised`, `relay-denied`,
/// `auth-plain`, `relay-authenticated-plain`, `auth-login`, `relay-authenticated-login`.
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

#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct ProbeReport {
    /// `host:port` probed.
    pub target: String,
    /// The local address of the first connection, as the server sees it (without NAT).
    pub source: Option<String>,
    pub connected: bool,
    /// The greeting's text (`mailsrv ESMTP Sendmail ...`), lines joined.
    pub greeting: Option<String>,
    /// `None` when the EHLO reply had no AUTH line.
    pub auth_mechanisms: Option<Vec<String>>,
    pub starttls: bool,
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
