//! The file as lines: where each line starts, where its content ends, and its own line ending.
//! Nothing here knows m4; it only keeps the bytes so that untouched lines are written back
//! exactly as they were read (CRLF per line, a UTF-8 BOM, a last line without a newline).

pub(crate) const BOM: char = '\u{feff}';

#[derive(Debug, Clone, Copy)]
pub(crate) struct Line {
    /// Byte offset of the first byte of the line in the body.
    pub start: usize,
    /// Byte offset just past the content (before `\r\n` or `\n`).
    pub end: usize,
    /// Byte offset just past the line ending (start of the next line).
    pub next: usize,
}

/// The text without its BOM, cut into lines.
pub(crate) struct Doc<'a> {
    pub body: &'a str,
    pub bom: bool,
    pub lines: Vec<Line>,
}

impl<'a> Doc<'a> {
    pub fn new(text: &'a str) -> Self {
        let (bom, body) = match text.strip_prefix(BOM) {
            Some(rest) => (true, rest),
            None => (false, text),
        };
        let bytes = body.as_bytes();
        let mut lines = Vec::new();
        let mut start = 0;
        while start < bytes.len() {
            let (end, next) = match bytes[start..].iter().position(|&b| b == b'\n') {
                Some(off) => {
                    let nl = start + off;
                    let end = if nl > start && bytes[nl - 1] == b'\r' {
                        nl - 1
                    } else {
                        nl
                    };
                    (end, nl + 1)
                }
                None => (bytes.len(), bytes.len()),
            };
            lines.push(Line { start, end, next });
            start = next;
        }
        Doc { body, bom, lines }
    }

    /// The line's text without its line ending.
    pub fn content(&self, i: usize) -> &'a str {
        let l = self.lines[i];
        &self.body[l.start..l.end]
    }

    /// The line's own ending: `"\r\n"`, `"\n"` or `""` (last line without newline).
    pub fn eol(&self, i: usize) -> &'a str {
        let l = self.lines[i];
        &self.body[l.end..l.next]
    }

    /// Index of the line holding byte `pos` (the last line for `pos` at the end of the body).
    pub fn line_of(&self, pos: usize) -> usize {
        self.lines
            .partition_point(|l| l.start <= pos)
            .saturating_sub(1)
    }

    /// True when most line endings are CRLF: new lines are written with that ending.
    pub fn crlf(&self) -> bool {
        let crlf = self.lines.iter().filter(|l| l.next - l.end == 2).count();
        let lf = self.lines.iter().filter(|l| l.next - l.end == 1).count();
        crlf > lf
    }

    pub fn newline(&self) -> &'static str {
        if self.crlf() {
            "\r\n"
        } else {
            "\n"
        }
    }
}

/// Leading spaces and tabs of a line.
pub(crate) fn indent_len(s: &str) -> usize {
    s.len() - s.trim_start_matches([' ', '\t']).len()
}

pub(crate) fn is_name_start(b: u8) -> bool {
    b.is_ascii_alphabetic() || b == b'_'
}

pub(crate) fn is_name_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

/// A line shortened for messages: long lines are cut on a character boundary.
pub(crate) fn shorten(s: &str, max_chars: usize) -> String {
    match s.char_indices().nth(max_chars) {
        Some((cut, _)) => format!("{}…", &s[..cut]),
        None => s.to_string(),
    }
}
