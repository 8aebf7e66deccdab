//! Reading the text line by line for what makes an edit unsafe (unbalanced quotes, HTML
//! escapes, smart quotes, placeholders) and the fields of a DAEMON_OPTIONS call.

use super::*;

/// The option string of `DAEMON_OPTIONS(`...')`: its range inside the call text.
pub(super) fn listener_inner(lc: &LineCall) -> Result<(usize, usize), String> {
    match lc.args.as_slice() {
        [a] => a
            .inner
            .ok_or_else(|| "its argument is not one quoted string".to_string()),
        _ => Err(format!(
            "its options are not quoted, so m4 splits them at the commas into {} arguments and \
             sendmail gets only the first; quote them: DAEMON_OPTIONS(`Port=smtp, Name=MTA')",
            lc.args.len()
        )),
    }
}

pub(super) fn fields(content: &str, inner: (usize, usize)) -> Vec<Field> {
    let mut out = Vec::new();
    let mut start = inner.0;
    let s = &content[inner.0..inner.1];
    for piece in s.split(',') {
        let lead = piece.len() - piece.trim_start().len();
        let t = piece.trim();
        let a = start + lead;
        let (key, value) = match t.split_once('=') {
            Some((k, v)) => (k.trim().to_string(), v.trim().to_string()),
            None => (t.to_string(), String::new()),
        };
        out.push(Field {
            key,
            value,
            start: a,
            end: a + t.len(),
        });
        start += piece.len() + 1;
    }
    out
}

pub(super) fn has_word(s: &str, word: &str) -> bool {
    s.match_indices(word).any(|(p, _)| {
        let after = p + word.len();
        (p == 0 || !is_name_char(s.as_bytes()[p - 1]))
            && (after >= s.len() || !is_name_char(s.as_bytes()[after]))
    })
}

pub(super) const HTML_ESCAPES: &[(&str, &str)] = &[
    ("&lt;", "<"),
    ("&gt;", ">"),
    ("&amp;", "&"),
    ("&quot;", "\""),
    ("&apos;", "'"),
    ("&nbsp;", "a space"),
    ("&#", "the character"),
];

/// Finds placeholders, HTML escapes and typographic quotes in `body[from..to]`.
pub(super) fn scan_text(
    body: &str,
    from: usize,
    to: usize,
    defined: &[String],
    out: &mut Vec<(usize, String)>,
) {
    let seg = &body[from..to];
    let b = seg.as_bytes();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if c == b'&' {
            for (esc, ch) in HTML_ESCAPES {
                if seg[i..].starts_with(esc) {
                    let shown = if *esc == "&#" {
                        let end = b[i..]
                            .iter()
                            .take(12)
                            .position(|&c| c == b';')
                            .map_or(2, |e| e + 1);
                        if end == 2 {
                            break;
                        }
                        &seg[i..i + end]
                    } else {
                        esc
                    };
                    out.push((
                        from + i,
                        format!(
                            "contains the HTML escape {shown} where m4 needs {ch} itself; the file \
                             seems to have been copied from a web page, which can also mangle \
                             quotes; replace the escapes first"
                        ),
                    ));
                    break;
                }
            }
        } else if let Some(len) = placeholder_at(seg, i, defined) {
            let p = &seg[i..i + len];
            out.push((
                from + i,
                format!(
                    "contains the placeholder {p}: this looks like a template that a packaging \
                     or deployment script fills in, not a finished sendmail.mc; fill it in (or \
                     edit the generated file) first"
                ),
            ));
            i += len;
            continue;
        } else if c >= 0x80 {
            let ch = seg[i..].chars().next().unwrap_or('\u{fffd}');
            // A file that is not UTF-8 is read one character per byte (steps::Text): there a
            // Windows-1252 quote is U+0091..U+0094, and a UTF-8 one is three characters.
            let (ch, len) = match UTF8_QUOTES_AS_BYTES
                .iter()
                .find(|(bytes, _)| seg[i..].starts_with(bytes))
            {
                Some((bytes, q)) => (*q, bytes.len()),
                None => (ch, ch.len_utf8()),
            };
            if matches!(
                ch,
                '\u{2018}'
                    | '\u{2019}'
                    | '\u{201c}'
                    | '\u{201d}'
                    | '\u{b4}'
                    | '\u{2032}'
                    | '\u{91}'
                    | '\u{92}'
                    | '\u{93}'
                    | '\u{94}'
            ) {
                let shown = if ('\u{91}'..='\u{94}').contains(&ch) {
                    format!("{ch} (the Windows-1252 byte 0x{:02x})", u32::from(ch))
                } else {
                    ch.to_string()
                };
                out.push((
                    from + i,
                    format!(
                        "contains the typographic quote {shown}; m4 only understands the \
                         backquote (`) to open a quote and the apostrophe (') to close it"
                    ),
                ));
            }
            i += len;
            continue;
        }
        i += 1;
    }
}

/// The UTF-8 bytes of the typographic quotes, each read as one character (U+0080..U+00FF).
pub(super) const UTF8_QUOTES_AS_BYTES: &[(&str, char)] = &[
    ("\u{e2}\u{80}\u{98}", '\u{2018}'),
    ("\u{e2}\u{80}\u{99}", '\u{2019}'),
    ("\u{e2}\u{80}\u{9c}", '\u{201c}'),
    ("\u{e2}\u{80}\u{9d}", '\u{201d}'),
];

/// Length of a placeholder starting at `i`: `@@NAME@@`, `%%NAME%%`, `{{ name }}`, or a whole
/// word `__NAME__` in capitals that the file does not define itself.
pub(super) fn placeholder_at(seg: &str, i: usize, defined: &[String]) -> Option<usize> {
    let b = seg.as_bytes();
    let rest = &seg[i..];
    for delim in ["@@", "%%"] {
        if let Some(inner) = rest.strip_prefix(delim) {
            let n = inner.bytes().take_while(|&c| is_name_char(c)).count();
            if n > 0 && inner[n..].starts_with(delim) {
                return Some(n + 4);
            }
        }
    }
    if rest.starts_with("{{") {
        let window = &b[i + 2..b.len().min(i + 66)];
        if let Some(end) = window.windows(2).position(|w| w == b"}}") {
            if !window[..end].contains(&b'\n') {
                return Some(end + 4);
            }
        }
    }
    if rest.starts_with("__") && (i == 0 || !is_name_char(b[i - 1])) {
        let n = rest.bytes().take_while(|&c| is_name_char(c)).count();
        let word = &rest[..n];
        let inner = word.strip_prefix("__").and_then(|w| w.strip_suffix("__"));
        if let Some(inner) = inner {
            if inner.len() > 1
                && inner.starts_with(|c: char| c.is_ascii_uppercase())
                && !inner.bytes().any(|c| c.is_ascii_lowercase())
                && !defined.iter().any(|d| d == word)
            {
                return Some(n);
            }
        }
    }
    None
}
