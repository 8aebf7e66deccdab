//! A scan of the whole file the way GNU m4 reads it, far enough to know which text is a macro
//! call, which is quoted, and which is a comment.
//!
//! What m4 does, and this scan copies (checked against GNU m4 1.4.19):
//! - `` ` `` opens a quoted string and `'` closes it; quotes nest and may span lines. An
//!   unclosed quote makes m4 fail with "end of file in string".
//! - `dnl` is a macro only as a whole word: it discards everything up to and including the
//!   next newline, quotes included. `dnlTRUST_AUTH_MECH` is one unknown word, not a comment.
//! - `#` starts a comment up to the newline in which quotes and macros are *not* recognised,
//!   **until the cf tree's `cfhead.m4` runs `changecom()`**: after ``include(`.../cf.m4')``
//!   (or from the first line, for FreeBSD-style files that are run as `m4 cf.m4 file.mc`),
//!   `#` is ordinary text and quotes after it count.
//! - `NAME(` with no space before `(` collects arguments up to the matching `)`; commas at the
//!   first level separate them; a comment or `dnl` inside the arguments is still a comment.
//!   m4 collects arguments only for defined macros; this scan treats every `NAME(` as a
//!   call, which only matters for unbalanced parentheses, and those are reported.

use super::text::{is_name_char, is_name_start};

#[derive(Debug, Clone)]
pub(crate) struct Call {
    pub name: String,
    /// Offset of the macro name.
    pub start: usize,
    /// Offset just past the closing `)`.
    pub end: usize,
    /// Raw argument ranges (quotes included), split at first-level commas.
    pub args: Vec<(usize, usize)>,
}

#[derive(Debug, Clone)]
pub(crate) struct Word {
    pub name: String,
    pub start: usize,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Issue {
    UnclosedQuote,
    UnclosedCall(String),
    StrayCloseQuote(String),
    ChangesSyntax(String),
    MultiLineQuote,
}

#[derive(Debug, Default)]
pub(crate) struct Scan {
    /// Macro calls at the top level (not inside another call or a quoted string).
    pub calls: Vec<Call>,
    /// Words at the top level that are not followed by `(`.
    pub words: Vec<Word>,
    /// Top-level spans that lines can start inside: calls and quoted strings, in order.
    pub opaque: Vec<(usize, usize)>,
    /// `dnl ...\n` and `# ...\n` spans, anywhere, in order.
    pub comments: Vec<(usize, usize)>,
    /// Offsets of top-level `dnl` tokens.
    pub dnl_heads: Vec<usize>,
    pub issues: Vec<(usize, Issue)>,
    /// Index in `calls` of the include of the cf tree's `cf.m4`.
    pub cf_include: Option<usize>,
}

/// Scans `body`; `comments_on` says whether `#` starts a comment at the first byte.
pub(crate) fn scan(body: &str, comments_on: bool) -> Scan {
    let b = body.as_bytes();
    let mut s = Scan::default();
    let mut comments = comments_on;
    let mut frame: Option<Frame> = None;
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if c == b'`' {
            match skip_quote(b, i) {
                Some(end) => {
                    if frame.is_none() {
                        s.opaque.push((i, end));
                        if b[i..end].contains(&b'\n') {
                            s.issues.push((i, Issue::MultiLineQuote));
                        }
                    }
                    i = end;
                }
                None => {
                    s.issues.push((i, Issue::UnclosedQuote));
                    if frame.is_none() {
                        s.opaque.push((i, b.len()));
                    }
                    i = b.len();
                }
            }
            continue;
        }
        if c == b'#' && comments {
            let end = skip_line(b, i);
            s.comments.push((i, end));
            i = end;
            continue;
        }
        if is_name_start(c) {
            let end = name_end(b, i);
            let name = &body[i..end];
            if name == "dnl" {
                let e = skip_line(b, end);
                s.comments.push((i, e));
                if frame.is_none() {
                    s.dnl_heads.push(i);
                }
                i = e;
                continue;
            }
            if frame.is_none() {
                if name == "changequote" || name == "changeword" {
                    s.issues.push((i, Issue::ChangesSyntax(name.to_string())));
                }
                if end < b.len() && b[end] == b'(' {
                    frame = Some(Frame {
                        name: name.to_string(),
                        start: i,
                        depth: 1,
                        arg_start: end + 1,
                        args: Vec::new(),
                        stray_reported: false,
                    });
                    i = end + 1;
                    continue;
                }
                if name == "changecom" {
                    comments = false;
                }
                s.words.push(Word {
                    name: name.to_string(),
                    start: i,
                });
            }
            i = end;
            continue;
        }
        if let Some(f) = frame.as_mut() {
            match c {
                b'(' => f.depth += 1,
                b',' if f.depth == 1 => {
                    f.args.push((f.arg_start, i));
                    f.arg_start = i + 1;
                }
                b'\'' if !f.stray_reported => {
                    f.stray_reported = true;
                    s.issues.push((i, Issue::StrayCloseQuote(f.name.clone())));
                }
                b')' => {
                    f.depth -= 1;
                    if f.depth == 0 {
                        let mut f = frame.take().expect("frame is set");
                        f.args.push((f.arg_start, i));
                        let call = Call {
                            name: f.name,
                            start: f.start,
                            end: i + 1,
                            args: f.args,
                        };
                        s.opaque.push((call.start, call.end));
                        let first = call
                            .args
                            .first()
                            .map(|&(a, z)| unquote_once(&body[a..z]))
                            .unwrap_or_default();
                        if (call.name == "include" || call.name == "sinclude")
                            && first.trim_end().ends_with("cf.m4")
                        {
                            comments = false;
                            if s.cf_include.is_none() {
                                s.cf_include = Some(s.calls.len());
                            }
                        }
                        if call.name == "changecom" {
                            if first.trim().is_empty() && call.args.len() == 1 {
                                comments = false;
                            } else {
                                s.issues
                                    .push((call.start, Issue::ChangesSyntax(call.name.clone())));
                            }
                        }
                        s.calls.push(call);
                    }
                }
                _ => {}
            }
        }
        i += 1;
    }
    if let Some(f) = frame {
        s.issues.push((f.start, Issue::UnclosedCall(f.name)));
        s.opaque.push((f.start, b.len()));
    }
    s
}

struct Frame {
    name: String,
    start: usize,
    depth: usize,
    arg_start: usize,
    args: Vec<(usize, usize)>,
    stray_reported: bool,
}

/// Offset just past the `'` that closes the quote opened at `i`, if any.
pub(crate) fn skip_quote(b: &[u8], i: usize) -> Option<usize> {
    let mut depth = 0usize;
    for (j, &c) in b.iter().enumerate().skip(i) {
        if c == b'`' {
            depth += 1;
        } else if c == b'\'' {
            depth -= 1;
            if depth == 0 {
                return Some(j + 1);
            }
        }
    }
    None
}

fn skip_line(b: &[u8], i: usize) -> usize {
    match b[i..].iter().position(|&c| c == b'\n') {
        Some(off) => i + off + 1,
        None => b.len(),
    }
}

fn name_end(b: &[u8], i: usize) -> usize {
    let mut j = i;
    while j < b.len() && is_name_char(b[j]) {
        j += 1;
    }
    j
}

/// An argument as m4 passes it on: leading whitespace dropped, one level of quotes removed.
pub(crate) fn unquote_once(raw: &str) -> String {
    let t = raw.trim_start_matches([' ', '\t', '\n', '\r']);
    let b = t.as_bytes();
    let mut out = String::new();
    let mut depth = 0usize;
    let mut last = 0;
    for (j, &c) in b.iter().enumerate() {
        match c {
            b'`' => {
                if depth == 0 {
                    out.push_str(&t[last..j]);
                    last = j + 1;
                }
                depth += 1;
            }
            b'\'' if depth > 0 => {
                depth -= 1;
                if depth == 0 {
                    out.push_str(&t[last..j]);
                    last = j + 1;
                }
            }
            _ => {}
        }
    }
    out.push_str(&t[last..]);
    out
}

/// True when `pos` lies inside one of the sorted, non-overlapping `spans` (start inclusive).
pub(crate) fn in_spans(spans: &[(usize, usize)], pos: usize) -> bool {
    let k = spans.partition_point(|&(s, _)| s <= pos);
    k > 0 && pos < spans[k - 1].1
}

/// True when `pos` lies strictly inside one of the sorted spans (a line starting exactly at a
/// span's start is not inside it).
pub(crate) fn strictly_inside(spans: &[(usize, usize)], pos: usize) -> bool {
    let k = spans.partition_point(|&(s, _)| s < pos);
    k > 0 && pos < spans[k - 1].1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dnl_eats_quotes_but_dnl_word_typo_does_not() {
        let s = scan("dnl `open\ndnlX(`a')\n", false);
        assert!(s.issues.is_empty(), "{:?}", s.issues);
        assert_eq!(s.calls.len(), 1);
        assert_eq!(s.calls[0].name, "dnlX");
    }

    #[test]
    fn hash_comments_hide_quotes_until_cf_m4_is_included() {
        let before = scan("# don`t\ninclude(`/x/m4/cf.m4')dnl\n# ok\n", true);
        assert!(before.issues.is_empty(), "{:?}", before.issues);
        let after = scan("include(`/x/m4/cf.m4')dnl\n# don`t\n", true);
        assert_eq!(after.issues[0].1, Issue::UnclosedQuote);
    }

    #[test]
    fn args_split_at_first_level_commas_only() {
        let body = "define(`a', `b,c')dnl\n";
        let s = scan(body, true);
        let c = &s.calls[0];
        assert_eq!(c.args.len(), 2);
        assert_eq!(unquote_once(&body[c.args[1].0..c.args[1].1]), "b,c");
    }

    #[test]
    fn unclosed_call_and_stray_quote() {
        let s = scan("FEATURE(`x'\nMAILER(smtp)\n", false);
        assert!(matches!(s.issues[0].1, Issue::UnclosedCall(_)));
        let s = scan("define('A','b')\n", false);
        assert!(matches!(s.issues[0].1, Issue::StrayCloseQuote(_)));
    }
}
