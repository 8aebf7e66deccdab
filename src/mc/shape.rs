//! One macro call read from the text of a single line, with the byte ranges the edits need.
//! Used for active lines (after the whole-file scan has said the call starts and ends on that
//! line) and for the text after `dnl ` on commented-out lines, which m4 never reads.

use super::text::{is_name_char, is_name_start};

#[derive(Debug, Clone)]
pub(crate) struct LineCall<'a> {
    pub name: &'a str,
    pub args: Vec<Arg>,
    /// Offset just past the closing `)`.
    pub end: usize,
}

#[derive(Debug, Clone, Copy)]
pub(crate) struct Arg {
    /// Raw range of the argument, quotes and spaces included.
    pub start: usize,
    pub end: usize,
    /// The value's range: inside the quotes when the argument is exactly one quoted string,
    /// or the trimmed text when it has no quotes at all.
    pub inner: Option<(usize, usize)>,
}

/// Reads `NAME(args)` at the start of `s`. `None` when `s` does not start with a call whose
/// quotes and parentheses close on this line.
pub(crate) fn parse_call(s: &str) -> Option<LineCall<'_>> {
    let b = s.as_bytes();
    if b.is_empty() || !is_name_start(b[0]) {
        return None;
    }
    let mut i = 0;
    while i < b.len() && is_name_char(b[i]) {
        i += 1;
    }
    let name = &s[..i];
    if i >= b.len() || b[i] != b'(' {
        return None;
    }
    i += 1;
    let mut args = Vec::new();
    let mut arg_start = i;
    let mut quote = 0usize;
    let mut parens = 1usize;
    while i < b.len() {
        let c = b[i];
        if quote > 0 {
            if c == b'`' {
                quote += 1;
            } else if c == b'\'' {
                quote -= 1;
            }
        } else {
            match c {
                b'`' => quote = 1,
                // A `'` outside quotes is text to m4, but never what the author meant.
                b'\'' => return None,
                b'(' => parens += 1,
                b',' if parens == 1 => {
                    args.push(make_arg(s, arg_start, i));
                    arg_start = i + 1;
                }
                b')' => {
                    parens -= 1;
                    if parens == 0 {
                        args.push(make_arg(s, arg_start, i));
                        return Some(LineCall {
                            name,
                            args,
                            end: i + 1,
                        });
                    }
                }
                _ => {}
            }
        }
        i += 1;
    }
    None
}

fn make_arg(s: &str, start: usize, end: usize) -> Arg {
    let raw = &s[start..end];
    let lead = raw.len() - raw.trim_start().len();
    let trimmed = raw.trim();
    let t0 = start + lead;
    let inner = if trimmed.starts_with('`') {
        match super::lex::skip_quote(s.as_bytes(), t0) {
            Some(close) if close == t0 + trimmed.len() => Some((t0 + 1, close - 1)),
            _ => None,
        }
    } else if !trimmed.contains(['`', '\'']) {
        Some((t0, t0 + trimmed.len()))
    } else {
        None
    };
    Arg { start, end, inner }
}

impl Arg {
    #[cfg(test)]
    pub fn value<'a>(&self, s: &'a str) -> Option<&'a str> {
        self.inner.map(|(a, z)| &s[a..z])
    }
}

/// True when text after a macro call produces nothing m4 would act on: nothing, blanks, a
/// `dnl` (with its comment), or a `#` remark.
pub(crate) fn inert_tail(tail: &str) -> bool {
    let t = tail.trim_start_matches([' ', '\t']);
    t.is_empty() || t.starts_with('#') || starts_with_dnl(t)
}

/// `dnl` as a whole word at the start of `s`.
pub(crate) fn starts_with_dnl(s: &str) -> bool {
    s.starts_with("dnl") && !matches!(s.as_bytes().get(3), Some(&b) if is_name_char(b))
}

/// The tail to write after a rewritten call: kept when it already starts with `dnl`,
/// otherwise `dnl` is put in front so the line adds no blank line to sendmail.cf.
pub(crate) fn dnl_tail(tail: &str) -> String {
    if starts_with_dnl(tail) {
        tail.to_string()
    } else {
        format!("dnl{tail}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_quoted_and_bare_args() {
        let s = "define(`confAUTH_OPTIONS', `A p')dnl # x";
        let c = parse_call(s).unwrap();
        assert_eq!(c.name, "define");
        assert_eq!(c.args[0].value(s), Some("confAUTH_OPTIONS"));
        assert_eq!(c.args[1].value(s), Some("A p"));
        assert_eq!(&s[c.end..], "dnl # x");
        let s = "define(`confTRY_NULL_MX_LIST',true)";
        assert_eq!(parse_call(s).unwrap().args[1].value(s), Some("true"));
    }

    #[test]
    fn rejects_unbalanced_and_apostrophe_quoting() {
        assert!(parse_call("define(`x', `A)dnl").is_none());
        assert!(parse_call("define(`x', `A'dnl").is_none());
        assert!(parse_call("define('x','A')").is_none());
        assert!(parse_call("define (`x')").is_none());
    }

    #[test]
    fn nested_quotes_are_one_value() {
        let s = "define(`confDEF_USER_ID', ``8:12'')dnl";
        assert_eq!(parse_call(s).unwrap().args[1].value(s), Some("`8:12'"));
    }

    #[test]
    fn tails() {
        assert!(inert_tail(""));
        assert!(inert_tail("dnl"));
        assert!(inert_tail("  dnl # <= EDIT"));
        assert!(!inert_tail("FEATURE(`x')"));
        assert!(!inert_tail("dnlx"));
        assert_eq!(dnl_tail(""), "dnl");
        assert_eq!(dnl_tail("dnl # c"), "dnl # c");
    }
}
