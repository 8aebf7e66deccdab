//! SMTP replies (RFC 5321 4.2): pure parsing, no I/O.
//!
//! A reply is one or more lines `DDD-text` ending with `DDD text` (or a bare `DDD`), all with the
//! same code. Lines may end in CRLF or a bare LF (some servers and test scripts send LF only).

use std::fmt;

/// Longest reply line accepted, terminator excluded. RFC 5321 allows 512 octets; sendmail stays
/// well under. Anything longer is a broken or hostile server, and reading on would be unbounded.
pub const MAX_LINE: usize = 4096;
/// Most lines accepted in one reply (sendmail's EHLO reply has about a dozen).
pub const MAX_LINES: usize = 200;

/// A complete reply. `lines` holds the text of each line after the code and separator
/// (`250-AUTH LOGIN PLAIN` → `AUTH LOGIN PLAIN`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Reply {
    pub code: u16,
    pub lines: Vec<String>,
}

impl Reply {
    pub fn is_positive(&self) -> bool {
        (200..300).contains(&self.code)
    }
    pub fn is_intermediate(&self) -> bool {
        (300..400).contains(&self.code)
    }
    pub fn is_transient(&self) -> bool {
        (400..500).contains(&self.code)
    }
    pub fn is_permanent(&self) -> bool {
        (500..600).contains(&self.code)
    }

    /// The enhanced status code (RFC 3463) at the start of the first line, e.g. `5.7.1`.
    pub fn enhanced_code(&self) -> Option<&str> {
        let first = self.lines.first()?;
        let word = first.split_whitespace().next()?;
        let parts: Vec<&str> = word.split('.').collect();
        let ok = parts.len() == 3
            && matches!(parts[0], "2" | "4" | "5")
            && parts[1..]
                .iter()
                .all(|p| !p.is_empty() && p.len() <= 3 && p.bytes().all(|b| b.is_ascii_digit()));
        ok.then_some(word)
    }

    /// The non-empty lines' text joined with a space.
    pub fn text(&self) -> String {
        let parts: Vec<&str> = self
            .lines
            .iter()
            .map(|l| l.trim())
            .filter(|l| !l.is_empty())
            .collect();
        parts.join(" ")
    }

    /// The reply as one line, the way a person would quote it: `550 5.7.1 <x>... Relaying denied`.
    pub fn summary(&self) -> String {
        let text = self.text();
        if text.is_empty() {
            self.code.to_string()
        } else {
            format!("{} {}", self.code, text)
        }
    }

    /// The reply as the server sent it, one string per line (`250-...`, `250 ...`).
    pub fn wire_lines(&self) -> Vec<String> {
        let n = self.lines.len();
        self.lines
            .iter()
            .enumerate()
            .map(|(i, l)| {
                let sep = if i + 1 == n { ' ' } else { '-' };
                if l.is_empty() && i + 1 == n {
                    self.code.to_string()
                } else {
                    format!("{}{}{}", self.code, sep, l)
                }
            })
            .collect()
    }
}

impl fmt::Display for Reply {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.summary())
    }
}

/// Why bytes from the server are not an SMTP reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReplyError {
    /// The line is not `DDD[ -]text`; carries the line escaped for display.
    NotSmtp(String),
    /// A continuation line changed the code (`250-...` then `220 ...`).
    CodeChanged {
        first: u16,
        then: u16,
    },
    /// The text ended before the last line (`250-...` with nothing after).
    Incomplete,
    TooManyLines,
    LineTooLong,
}

impl fmt::Display for ReplyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReplyError::NotSmtp(line) => write!(f, "not an SMTP reply: \"{line}\""),
            ReplyError::CodeChanged { first, then } => write!(
                f,
                "not an SMTP reply: the code changed from {first} to {then} inside one multi-line reply"
            ),
            ReplyError::Incomplete => f.write_str("the reply ended before its last line"),
            ReplyError::TooManyLines => {
                write!(f, "server sent a reply of more than {MAX_LINES} lines")
            }
            ReplyError::LineTooLong => write!(
                f,
                "server sent an over-long line (more than {MAX_LINE} bytes without an end of line)"
            ),
        }
    }
}

impl std::error::Error for ReplyError {}

/// One parsed reply line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplyLine {
    pub code: u16,
    /// `true` for `DDD text` / `DDD`, `false` for `DDD-text`.
    pub last: bool,
    pub text: String,
}

/// Show bytes from the network safely: printable ASCII as is, everything else escaped
/// (`\r`, `\x00`, `\xff`), cut after `max` input bytes with `...`.
pub fn escape_bytes(bytes: &[u8], max: usize) -> String {
    let cut = bytes.len() > max;
    let shown = &bytes[..bytes.len().min(max)];
    let mut s: String = shown.escape_ascii().to_string();
    if cut {
        s.push_str("...");
    }
    s
}

/// Parse one line, terminator already removed (a trailing CR is tolerated and dropped).
pub fn parse_reply_line(raw: &[u8]) -> Result<ReplyLine, ReplyError> {
    let line = raw.strip_suffix(b"\r").unwrap_or(raw);
    if line.len() > MAX_LINE {
        return Err(ReplyError::LineTooLong);
    }
    let garbage = || ReplyError::NotSmtp(escape_bytes(line, 120));
    // Text must be UTF-8 without control characters other than tab: anything else is binary
    // noise (a TLS handshake, an HTTP server's binary framing, a wrong port).
    let text = std::str::from_utf8(line).map_err(|_| garbage())?;
    if text.chars().any(|c| c.is_control() && c != '\t') {
        return Err(garbage());
    }
    let b = line;
    if b.len() < 3 || !b[..3].iter().all(u8::is_ascii_digit) || !(b'2'..=b'5').contains(&b[0]) {
        return Err(garbage());
    }
    let code = u16::from(b[0] - b'0') * 100 + u16::from(b[1] - b'0') * 10 + u16::from(b[2] - b'0');
    let (last, rest) = match b.get(3) {
        None => (true, ""),
        Some(b' ') => (true, &text[4..]),
        Some(b'-') => (false, &text[4..]),
        Some(_) => return Err(garbage()),
    };
    Ok(ReplyLine {
        code,
        last,
        text: rest.to_owned(),
    })
}

/// Parse a complete reply from text (several lines, CRLF or LF). Used by tests and by callers
/// that hold a recorded transcript; the [`Client`](super::Client) parses line by line.
pub fn parse_reply(text: &[u8]) -> Result<Reply, ReplyError> {
    let mut acc = ReplyBuilder::default();
    let mut lines = text.split(|&c| c == b'\n').peekable();
    while let Some(line) = lines.next() {
        if line.is_empty() && lines.peek().is_none() {
            break; // the terminator of the final line
        }
        if let Some(reply) = acc.push(line)? {
            return Ok(reply);
        }
    }
    Err(ReplyError::Incomplete)
}

/// Accumulates lines until a reply is complete, enforcing the code and line-count rules.
#[derive(Debug, Default)]
pub struct ReplyBuilder {
    code: Option<u16>,
    lines: Vec<String>,
}

impl ReplyBuilder {
    /// Whether at least one line of the current reply has been read.
    pub fn started(&self) -> bool {
        self.code.is_some()
    }

    /// Add a line; returns the reply once its last line arrived.
    pub fn push(&mut self, raw: &[u8]) -> Result<Option<Reply>, ReplyError> {
        let line = parse_reply_line(raw)?;
        match self.code {
            Some(c) if c != line.code => {
                return Err(ReplyError::CodeChanged {
                    first: c,
                    then: line.code,
                })
            }
            _ => self.code = Some(line.code),
        }
        self.lines.push(line.text);
        if line.last {
            let reply = Reply {
                code: line.code,
                lines: std::mem::take(&mut self.lines),
            };
            self.code = None;
            return Ok(Some(reply));
        }
        if self.lines.len() >= MAX_LINES {
            return Err(ReplyError::TooManyLines);
        }
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn single_and_multi_line() {
        let r = parse_reply(b"220 mail.example.com ESMTP Sendmail\r\n").unwrap();
        assert_eq!(r.code, 220);
        assert_eq!(r.lines, vec!["mail.example.com ESMTP Sendmail"]);

        let r = parse_reply(b"250-dude.com Hello\r\n250-AUTH LOGIN PLAIN\r\n250 HELP\r\n").unwrap();
        assert_eq!(r.code, 250);
        assert_eq!(r.lines, vec!["dude.com Hello", "AUTH LOGIN PLAIN", "HELP"]);
        assert_eq!(
            r.wire_lines(),
            vec!["250-dude.com Hello", "250-AUTH LOGIN PLAIN", "250 HELP"]
        );
    }

    #[test]
    fn bare_lf_and_bare_code() {
        let r = parse_reply(b"220-first\n220\n").unwrap();
        assert_eq!(r.lines, vec!["first", ""]);
        assert_eq!(r.summary(), "220 first");
        let r = parse_reply(b"354").unwrap();
        assert_eq!(r.code, 354);
    }

    #[test]
    fn enhanced_code() {
        let r = parse_reply(b"550 5.7.1 <x@example.com>... Relaying denied\r\n").unwrap();
        assert_eq!(r.enhanced_code(), Some("5.7.1"));
        assert!(r.is_permanent());
        let r = parse_reply(b"250 ok\r\n").unwrap();
        assert_eq!(r.enhanced_code(), None);
    }

    #[test]
    fn garbage_is_named_and_escaped() {
        let e = parse_reply(b"\x16\x03\x01\x00\xa5\x01\x00\n").unwrap_err();
        assert_eq!(
            e.to_string(),
            "not an SMTP reply: \"\\x16\\x03\\x01\\x00\\xa5\\x01\\x00\""
        );
        assert!(matches!(
            parse_reply(b"HTTP/1.1 400 Bad Request\r\n"),
            Err(ReplyError::NotSmtp(_))
        ));
        assert!(matches!(
            parse_reply(b"250+x\r\n"),
            Err(ReplyError::NotSmtp(_))
        ));
        assert!(matches!(
            parse_reply(b"650 x\r\n"),
            Err(ReplyError::NotSmtp(_))
        ));
        assert!(matches!(
            parse_reply(b"25\r\n"),
            Err(ReplyError::NotSmtp(_))
        ));
    }

    #[test]
    fn code_change_and_incomplete() {
        assert_eq!(
            parse_reply(b"250-a\r\n220 b\r\n"),
            Err(ReplyError::CodeChanged {
                first: 250,
                then: 220
            })
        );
        assert_eq!(parse_reply(b"250-a\r\n"), Err(ReplyError::Incomplete));
        assert_eq!(parse_reply(b""), Err(ReplyError::Incomplete));
    }

    #[test]
    fn too_many_lines() {
        let mut text = Vec::new();
        for _ in 0..MAX_LINES + 5 {
            text.extend_from_slice(b"250-x\r\n");
        }
        text.extend_from_slice(b"250 end\r\n");
        assert_eq!(parse_reply(&text), Err(ReplyError::TooManyLines));
    }

    #[test]
    fn long_line() {
        let mut text = b"250 ".to_vec();
        text.extend_from_slice(&vec![b'a'; MAX_LINE]);
        assert_eq!(parse_reply(&text), Err(ReplyError::LineTooLong));
    }

    #[test]
    fn escape_cuts() {
        assert_eq!(escape_bytes(b"abcdef", 3), "abc...");
        assert_eq!(escape_bytes(b"a\r\n", 10), "a\\r\\n");
    }
}
