//! The audit trail: one line per `apply`, `rollback` and `rollback --from-backups` in
//! `ROOT/var/log/smtpauth-wizard.log` (0640, appended through [`fsops::append_line`], the only
//! writer), and the same line to syslog when a syslog socket exists.
//!
//! The journal says how to undo a change; the audit log says who changed what and when, in a
//! place admins and log shippers already read, and it is never rewritten (the journal is).
//!
//! Syslog: one datagram to `/dev/log` (with `--root DIR`: `DIR/dev/log`, so fixture runs never
//! reach the machine's own log), facility `mail` (the admin watching the mail log for "Relaying
//! denied", HOWTO step 13, sees the configuration change beside its effects), severity `notice`,
//! or `err` for a failure. The format is RFC 3164 as glibc's syslog(3) sends it to the local
//! socket: `<PRI>Mmm dd hh:mm:ss TAG[PID]: MSG`, without the HOSTNAME field, which the local
//! daemon adds (journald and rsyslog both expect it so). No crate needed: std's UnixDatagram.
//!
//! Failing to write the audit line never undoes or fails the change it describes: the caller
//! reports it as a warning.

use super::fsops;
use super::root::Root;
use std::os::unix::net::UnixDatagram;
use std::path::PathBuf;
use std::time::Duration;

/// Where the audit log lives inside the root.
pub const LOG_FILE: &str = "/var/log/smtpauth-wizard.log";
/// The syslog socket inside the root (the host's own when the root is `/`).
pub const SYSLOG_SOCKET: &str = "/dev/log";
const FACILITY_MAIL: u8 = 2;
const SEVERITY_ERR: u8 = 3;
const SEVERITY_NOTICE: u8 = 5;

/// One audited event.
#[derive(Debug, Clone)]
pub struct Record {
    /// `apply`, `rollback`, `rollback --from-backups`.
    pub action: String,
    /// Journal run ids involved.
    pub runs: Vec<String>,
    pub steps: Vec<String>,
    /// Files written, restored or removed (served-system paths).
    pub files: Vec<String>,
    /// The HOWTO's `.bak` copies made (apply) or restored from (`--from-backups`).
    pub backups: Vec<String>,
    /// The journal's saved originals (what rollback restores from).
    pub saved: Vec<String>,
    /// `Ok(summary)` or `Err(reason)`.
    pub result: Result<String, String>,
}

impl Default for Record {
    fn default() -> Self {
        Record {
            action: String::new(),
            runs: vec![],
            steps: vec![],
            files: vec![],
            backups: vec![],
            saved: vec![],
            result: Ok(String::new()),
        }
    }
}

/// `s` with `\` and `"` escaped by a backslash, and control characters (and `special`) as
/// `\xNN`: what stands between the quotes of a value.
fn escape(s: &str, special: &[char]) -> String {
    let mut e = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' => e.push_str("\\\\"),
            '"' => e.push_str("\\\""),
            c if c.is_control() || special.contains(&c) => {
                e.push_str(&format!("\\x{:02x}", c as u32))
            }
            c => e.push(c),
        }
    }
    e
}

/// An escaped value, in quotes when it is empty or has spaces, `=` or escapes.
fn field(escaped: String) -> String {
    if escaped.is_empty() || escaped.contains([' ', '=', '\\']) {
        format!("\"{escaped}\"")
    } else {
        escaped
    }
}

/// A list value: the items joined with `,` (a `,` inside an item is `\x2c`), one field, so a
/// file name can neither end the list nor add a `key=value` pair of its own.
fn list(v: &[String]) -> String {
    if v.is_empty() {
        "-".into()
    } else {
        field(
            v.iter()
                .map(|s| escape(s, &[',']))
                .collect::<Vec<_>>()
                .join(","),
        )
    }
}

/// A value safe for a `key=value` line: one field on one line (see [`escape`]).
fn quote(s: &str) -> String {
    field(escape(s, &[]))
}

impl Record {
    /// The message, without time stamp: `apply result=ok run=... steps=... files=...`.
    pub fn message(&self) -> String {
        let (result, detail) = match &self.result {
            Ok(d) => ("ok", d),
            Err(e) => ("failed", e),
        };
        let user = nix::unistd::getuid().as_raw();
        let login = std::env::var("SUDO_USER")
            .ok()
            .filter(|s| !s.is_empty())
            .map(|s| format!(" sudo_user={}", quote(&s)))
            .unwrap_or_default();
        format!(
            "{} result={result} runs={} steps={} files={} backups={} saved={} uid={user}{login} detail={}",
            quote(&self.action),
            list(&self.runs),
            list(&self.steps),
            list(&self.files),
            list(&self.backups),
            list(&self.saved),
            quote(detail)
        )
    }

    /// Appends the line to `ROOT/var/log/smtpauth-wizard.log` and sends it to syslog.
    /// Returns what could not be done, for the caller to show as warnings.
    /// Names a journaled step and the given files of it: a `backup` step's files are the
    /// HOWTO's `.bak` copies, the others changed files; where the journal saved an original,
    /// that is named too.
    pub fn add_step<'a>(
        &mut self,
        step: &super::journal::StepRecord,
        files: impl Iterator<Item = &'a super::journal::FileRecord>,
    ) {
        self.steps.push(step.id.clone());
        for f in files {
            if step.id == "backup" {
                self.backups.push(f.path.clone());
            } else {
                self.files.push(f.path.clone());
            }
            if let Some(sv) = f.saved() {
                self.saved
                    .push(format!("{}/{sv}", super::journal::JOURNAL_DIR));
            }
        }
    }

    /// Writes the record ([`Record::write`]) and adds what went wrong doing so to the
    /// messages of a successful `res`, as warnings: the audit line never turns a done change
    /// into a failure.
    pub fn finish<E>(&self, root: &Root, res: Result<Vec<String>, E>) -> Result<Vec<String>, E> {
        let problems = self.write(root);
        res.map(|mut m| {
            m.extend(problems.into_iter().map(|p| format!("warning: {p}")));
            m
        })
    }

    pub fn write(&self, root: &Root) -> Vec<String> {
        let msg = self.message();
        let mut problems = vec![];
        let line = format!(
            "{} smtpauth-wizard[{}]: {msg}",
            super::journal::now_rfc3339(),
            std::process::id()
        );
        // Resolved inside the root (`var/log -> /etc` in a tree stays in the tree); the file
        // itself is opened O_NOFOLLOW.
        let written = super::state_path::target_path(root, LOG_FILE)
            .and_then(|path| fsops::append_line(&path, &line, 0o640));
        if let Err(e) = written {
            problems.push(format!("audit log: {e}"));
        }
        let sock = socket_path(root);
        if sock.exists() {
            let sev = if self.result.is_ok() {
                SEVERITY_NOTICE
            } else {
                SEVERITY_ERR
            };
            if let Err(e) = send_syslog(&sock, sev, &msg) {
                problems.push(format!("syslog ({}): {e}", sock.display()));
            }
        }
        problems
    }
}

fn socket_path(root: &Root) -> PathBuf {
    super::state_path::target_path(root, SYSLOG_SOCKET).unwrap_or_else(|_| root.join(SYSLOG_SOCKET))
}

/// `Mmm dd hh:mm:ss` in local time (RFC 3164's TIMESTAMP, day padded with a space).
fn rfc3164_time() -> String {
    rfc3164(&jiff::Zoned::now())
}

/// `Mmm dd hh:mm:ss` of `t` in its own zone (this machine's, for [`rfc3164_time`]: `TZ` when
/// set, else /etc/localtime, as localtime(3) and the syslog daemon read it).
fn rfc3164(t: &jiff::Zoned) -> String {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    format!(
        "{} {:>2} {:02}:{:02}:{:02}",
        MONTHS[(t.month() as usize).clamp(1, 12) - 1],
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

/// The datagram for `msg` at `severity` (facility mail).
pub fn syslog_datagram(severity: u8, msg: &str) -> String {
    let pri = FACILITY_MAIL * 8 + severity;
    // Syslog daemons cut long datagrams; 8 KiB is far more than a line of paths needs.
    // The message is one line already (every field is quoted); any control character that
    // still reaches here is escaped so a datagram can never carry a second, forged line.
    let msg: String = msg
        .chars()
        .take(8000)
        .map(|c| if c.is_control() { '?' } else { c })
        .collect();
    format!(
        "<{pri}>{} smtpauth-wizard[{}]: {msg}",
        rfc3164_time(),
        std::process::id()
    )
}

fn send_syslog(sock: &std::path::Path, severity: u8, msg: &str) -> std::io::Result<()> {
    let s = UnixDatagram::unbound()?;
    // A stuck syslog daemon must not hang an apply that has already succeeded.
    s.set_write_timeout(Some(Duration::from_secs(2)))?;
    s.send_to(syslog_datagram(severity, msg).as_bytes(), sock)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 3164's TIMESTAMP: English month, day padded with a space, 24-hour time, in the
    /// zone of the time given (this machine's zone in the log; fixed ones here).
    #[test]
    fn syslog_time_is_rfc3164_in_the_given_zone() {
        let at = |s: &str, hours: i8| {
            s.parse::<jiff::Timestamp>()
                .unwrap()
                .to_zoned(jiff::tz::TimeZone::fixed(jiff::tz::offset(hours)))
        };
        for (t, h, want) in [
            ("2026-03-05T07:08:09Z", 0, "Mar  5 07:08:09"),
            ("2026-12-31T23:59:59Z", 1, "Jan  1 00:59:59"),
            ("2026-01-01T00:00:00Z", -5, "Dec 31 19:00:00"),
            ("2024-02-29T12:00:00Z", 0, "Feb 29 12:00:00"),
            ("2026-10-10T10:10:10Z", 9, "Oct 10 19:10:10"),
        ] {
            assert_eq!(rfc3164(&at(t, h)), want, "{t} at {h:+}");
        }
        let now = rfc3164_time();
        assert_eq!(now.len(), 15, "{now:?}");
        assert!(
            MONTHS_FOR_TEST.iter().any(|m| now.starts_with(m)),
            "{now:?}"
        );
    }
    const MONTHS_FOR_TEST: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];

    #[test]
    fn a_line_says_what_which_files_and_the_result() {
        let r = Record {
            action: "apply".into(),
            runs: vec!["20260101T000000Z-1".into()],
            steps: vec!["backup".into(), "sendmail-mc".into()],
            files: vec!["/etc/mail/sendmail.mc".into()],
            backups: vec!["/etc/mail/sendmail.mc.bak".into()],
            saved: vec![],
            result: Err("step x failed: \"quoted\"\nsecond line".into()),
        };
        let m = r.message();
        assert!(m.starts_with("apply result=failed runs=20260101T000000Z-1 steps=backup,sendmail-mc files=/etc/mail/sendmail.mc backups=/etc/mail/sendmail.mc.bak saved=- uid="), "{m}");
        assert!(
            m.ends_with(r#"detail="step x failed: \"quoted\"\x0asecond line""#),
            "{m}"
        );
        assert!(!m.contains('\n'));
    }

    /// A file name chosen by someone else could forge `key=value` pairs or a second line
    /// (issue 13, item 6): every field stays one field.
    #[test]
    fn a_file_name_cannot_forge_fields_or_lines() {
        let r = Record {
            action: "apply".into(),
            steps: vec!["backup".into()],
            files: vec![
                "/etc/mail/x result=ok uid=0".into(),
                "/etc/mail/a,b".into(),
                "/etc/mail/new\nline".into(),
                "/etc/mail/q\"uote\\".into(),
            ],
            result: Ok("done".into()),
            ..Default::default()
        };
        let m = r.message();
        assert!(!m.contains('\n'), "{m}");
        assert!(
            m.contains(r#"files="/etc/mail/x result=ok uid=0,/etc/mail/a\x2cb,/etc/mail/new\x0aline,/etc/mail/q\"uote\\" "#),
            "{m}"
        );
        // Exactly one `result=` and one `uid=` outside quotes.
        let mut outside = String::new();
        let mut inq = false;
        let mut esc = false;
        for c in m.chars() {
            if esc {
                esc = false;
                continue;
            }
            match c {
                '\\' if inq => esc = true,
                '"' => inq = !inq,
                c if !inq => outside.push(c),
                _ => {}
            }
        }
        assert_eq!(outside.matches("result=").count(), 1, "{m}");
        assert_eq!(outside.matches("uid=").count(), 1, "{m}");
        let d = syslog_datagram(SEVERITY_NOTICE, "a\nb\rc");
        assert!(!d.contains('\n') && !d.contains('\r'), "{d}");
    }

    #[test]
    fn the_datagram_is_rfc3164_as_glibc_sends_it() {
        let d = syslog_datagram(SEVERITY_NOTICE, "apply result=ok");
        assert!(d.starts_with("<21>"), "{d}");
        // <21>Mmm dd hh:mm:ss smtpauth-wizard[PID]: msg
        let ts = &d[4..19];
        assert_eq!(ts.len(), 15, "{d}");
        assert_eq!(&ts[3..4], " ");
        assert_eq!(&ts[9..10], ":");
        assert!(d[19..].starts_with(" smtpauth-wizard["), "{d}");
        assert!(d.ends_with("]: apply result=ok"), "{d}");
        assert!(syslog_datagram(SEVERITY_ERR, "x").starts_with("<19>"));
    }
}
