//! Strings from strangers, made safe for a terminal (issue 13, item 4). Host names, senders and
//! user names from a mail log, lines of an access file or an mc, a journal's paths, a server's
//! replies: any of them can carry escape sequences that set the terminal's title, write to the
//! clipboard (OSC 52) or hide text, or bidi controls that show a line other than it is. Every
//! such string passes [`safe`] before it reaches a terminal, and [`json`] before it reaches
//! JSON output.

use std::borrow::Cow;

/// Fields longer than this (in characters) are cut, with a marker saying how much was left out.
pub const MAX_FIELD: usize = 512;

/// Invisible format characters that reorder or hide text: zero-width and direction marks
/// (U+200B–U+200F), embeddings and overrides (U+202A–U+202E), isolates (U+2066–U+2069), and
/// the byte-order mark used as a zero-width no-break space.
fn invisible(c: char) -> bool {
    matches!(c as u32, 0x200B..=0x200F | 0x202A..=0x202E | 0x2066..=0x2069 | 0xFEFF)
}

/// C0 controls (but tab), DEL and C1 controls.
fn control(c: char) -> bool {
    (c.is_control() && c != '\t') || c == '\u{7f}'
}

/// `s` as it may be printed: C0, DEL and C1 as `\x..`, bidi and other invisible format
/// characters as `\u{..}`, a backslash doubled where it could be read as one of those escapes,
/// and anything past [`MAX_FIELD`] characters cut with a marker. Borrowed when nothing changes.
pub fn safe(s: &str) -> Cow<'_, str> {
    safe_max(s, MAX_FIELD)
}

/// A control character as `\x..` (C0, DEL, C1), any other character as `\u{..}`.
fn push_escaped(out: &mut String, c: char) {
    if control(c) && (c as u32) < 0x100 {
        out.push_str(&format!("\\x{:02x}", c as u32));
    } else {
        out.push_str(&format!("\\u{{{:x}}}", c as u32));
    }
}

/// [`safe`] with a length limit of the caller's (0: no limit).
pub fn safe_max(s: &str, max: usize) -> Cow<'_, str> {
    let long = max > 0 && s.chars().nth(max).is_some();
    if !long && !s.chars().any(|c| control(c) || invisible(c)) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for (n, c) in s.chars().enumerate() {
        if long && n == max {
            let rest = s.chars().count() - max;
            out.push_str(&format!("…[{rest} more characters cut]"));
            break;
        }
        if control(c) || invisible(c) {
            push_escaped(&mut out, c);
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// The colour codes the CLI itself writes (`\x1b[<code>m`); with `keep_colour`, only these
/// escape sequences reach the terminal.
const OWN_SGR: &[&str] = &["0", "1", "2", "31", "32", "33", "35", "36"];

/// Everything the CLI prints passes here last: every control character but newline and tab
/// (and the `\r` of a CRLF line ending) is shown as `\x..`, bidi and invisible format
/// characters as `\u{..}`, so a mail log, a config file or a server reply quoted in a report
/// cannot move the cursor, set the title, write the clipboard (OSC 52) or reorder a line. With
/// `keep_colour`, the CLI's own colour codes stay (an attacker's copy of one can at most colour
/// text; nothing else passes).
pub fn for_terminal(s: &str, keep_colour: bool) -> Cow<'_, str> {
    let bad = |c: char| (control(c) && c != '\n') || invisible(c);
    // Printable ASCII, tab and newline pass as they are; checking bytes first (it vectorises)
    // saves decoding every char of a large JSON report (4% of a relay report at 10% refusals).
    if s.bytes()
        .all(|b| (b' '..=b'~').contains(&b) || b == b'\n' || b == b'\t')
    {
        return Cow::Borrowed(s);
    }
    if !s.chars().any(bad) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 16);
    let mut rest = s;
    while let Some(c) = rest.chars().next() {
        let len = c.len_utf8();
        if c == '\x1b' && keep_colour {
            if let Some(end) = rest[1..].find('m') {
                let seq = &rest[1..1 + end];
                if let Some(code) = seq.strip_prefix('[') {
                    if OWN_SGR.contains(&code) {
                        out.push_str(&rest[..end + 2]);
                        rest = &rest[end + 2..];
                        continue;
                    }
                }
            }
        }
        if c == '\r' && rest[1..].starts_with('\n') {
            out.push('\r');
        } else if c == '\n' || !bad(c) {
            out.push(c);
        } else {
            push_escaped(&mut out, c);
        }
        rest = &rest[len..];
    }
    Cow::Owned(out)
}

/// serde_json's formatter, but C1 controls and the invisible format characters of [`safe`] are
/// written as `\uXXXX` escapes too (serde_json escapes only C0), so JSON piped to a terminal, or
/// shown by a tool that prints string values raw, cannot carry them.
struct Escaping<F>(F);

impl<F: serde_json::ser::Formatter> serde_json::ser::Formatter for Escaping<F> {
    fn write_string_fragment<W: ?Sized + std::io::Write>(
        &mut self,
        w: &mut W,
        fragment: &str,
    ) -> std::io::Result<()> {
        // Everything escaped here is DEL or above; most of a report is plain ASCII below it.
        // (The largest byte, without stopping early, which the compiler does a vector at a
        // time: stopping at the first byte above was a sixth of the instructions of writing a
        // report's JSON.)
        if fragment.bytes().fold(0, u8::max) < 0x7f {
            return self.0.write_string_fragment(w, fragment);
        }
        let mut start = 0;
        for (i, c) in fragment.char_indices() {
            if invisible(c) || ('\u{7f}'..='\u{9f}').contains(&c) {
                if start < i {
                    self.0.write_string_fragment(w, &fragment[start..i])?;
                }
                write!(w, "\\u{:04x}", c as u32)?;
                start = i + c.len_utf8();
            }
        }
        if start < fragment.len() {
            self.0.write_string_fragment(w, &fragment[start..])?;
        }
        Ok(())
    }

    fn begin_array<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.0.begin_array(w)
    }
    fn end_array<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.0.end_array(w)
    }
    fn begin_array_value<W: ?Sized + std::io::Write>(
        &mut self,
        w: &mut W,
        first: bool,
    ) -> std::io::Result<()> {
        self.0.begin_array_value(w, first)
    }
    fn end_array_value<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.0.end_array_value(w)
    }
    fn begin_object<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.0.begin_object(w)
    }
    fn end_object<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.0.end_object(w)
    }
    fn begin_object_key<W: ?Sized + std::io::Write>(
        &mut self,
        w: &mut W,
        first: bool,
    ) -> std::io::Result<()> {
        self.0.begin_object_key(w, first)
    }
    fn end_object_key<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.0.end_object_key(w)
    }
    fn begin_object_value<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.0.begin_object_value(w)
    }
    fn end_object_value<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.0.end_object_value(w)
    }
}

/// serde_json's `PrettyFormatter` (two-space indents), but a line break and its indent are one
/// write, where that one writes the indent a level at a time: with the small writes around
/// them, that was a quarter of the instructions of writing a relay report's JSON. The same
/// output (a property test compares the two).
#[derive(Default)]
struct Pretty {
    level: usize,
    has_value: bool,
}

impl Pretty {
    /// `,` if `comma`, then a line break and the indent of the current level.
    fn line<W: ?Sized + std::io::Write>(&self, w: &mut W, comma: bool) -> std::io::Result<()> {
        const BREAK: &[u8; 66] =
            b",\n                                                                ";
        let from = usize::from(!comma);
        match BREAK.get(from..2 + 2 * self.level) {
            Some(b) => w.write_all(b),
            None => {
                w.write_all(&BREAK[from..2])?;
                (0..self.level).try_for_each(|_| w.write_all(b"  "))
            }
        }
    }

    fn open<W: ?Sized + std::io::Write>(&mut self, w: &mut W, b: &[u8]) -> std::io::Result<()> {
        self.level += 1;
        self.has_value = false;
        w.write_all(b)
    }

    fn close<W: ?Sized + std::io::Write>(&mut self, w: &mut W, b: &[u8]) -> std::io::Result<()> {
        self.level -= 1;
        if self.has_value {
            self.line(w, false)?;
        }
        w.write_all(b)
    }
}

impl serde_json::ser::Formatter for Pretty {
    fn begin_array<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.open(w, b"[")
    }
    fn end_array<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.close(w, b"]")
    }
    fn begin_array_value<W: ?Sized + std::io::Write>(
        &mut self,
        w: &mut W,
        first: bool,
    ) -> std::io::Result<()> {
        self.line(w, !first)
    }
    fn end_array_value<W: ?Sized + std::io::Write>(&mut self, _: &mut W) -> std::io::Result<()> {
        self.has_value = true;
        Ok(())
    }
    fn begin_object<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.open(w, b"{")
    }
    fn end_object<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.close(w, b"}")
    }
    fn begin_object_key<W: ?Sized + std::io::Write>(
        &mut self,
        w: &mut W,
        first: bool,
    ) -> std::io::Result<()> {
        self.line(w, !first)
    }
    fn begin_object_value<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        w.write_all(b": ")
    }
    fn end_object_value<W: ?Sized + std::io::Write>(&mut self, _: &mut W) -> std::io::Result<()> {
        self.has_value = true;
        Ok(())
    }
}

fn to_json<T: serde::Serialize + ?Sized, F: serde_json::ser::Formatter>(
    v: &T,
    f: F,
) -> serde_json::Result<String> {
    let mut buf = Vec::new();
    let mut ser = serde_json::Serializer::with_formatter(&mut buf, Escaping(f));
    v.serialize(&mut ser)?;
    // The formatter writes only what serde_json writes (valid UTF-8) and ASCII escapes.
    Ok(String::from_utf8(buf).unwrap_or_default())
}

/// Pretty JSON with C1 and bidi characters escaped (see [`Escaping`]).
pub fn json_pretty<T: serde::Serialize + ?Sized>(v: &T) -> serde_json::Result<String> {
    to_json(v, Pretty::default())
}

/// [`json_pretty`] written straight to `w`, for a large document that need not be held in memory
/// (relay-report's JSON is up to 10 MB with every cap full). What it writes is printable ASCII
/// or UTF-8 without controls, newline aside: serde_json escapes C0, [`Escaping`] the rest, so
/// [`for_terminal`] would leave it unchanged.
pub fn write_json_pretty<W: std::io::Write, T: serde::Serialize + ?Sized>(
    w: W,
    v: &T,
) -> serde_json::Result<()> {
    pretty_at(w, 0, v)
}

/// `v` as [`write_json_pretty`] writes it `level` levels deep (indented, after its key or its
/// array's line break).
fn pretty_at<W: std::io::Write, T: serde::Serialize + ?Sized>(
    w: W,
    level: usize,
    v: &T,
) -> serde_json::Result<()> {
    let f = Escaping(Pretty {
        level,
        has_value: false,
    });
    v.serialize(&mut serde_json::Serializer::with_formatter(w, f))
}

/// A top-level JSON object written a field at a time, the same bytes [`write_json_pretty`] writes
/// for a struct with those fields in that order, where a long list can be written on two threads
/// ([`PrettyObject::list`]). For relay-report's JSON: with every cap full it is 8 MB, and written
/// on one thread that was 10 ms of a 250 ms run on two cores, with the other core idle.
///
/// The caller names the fields; a test of the caller's should compare with its derived
/// `Serialize` (field names are written as given, without escapes: plain ASCII names only).
pub struct PrettyObject<W: std::io::Write> {
    w: W,
    /// The object's own line breaks and indents, as serde_json's formatter writes them.
    f: Pretty,
}

impl<W: std::io::Write> PrettyObject<W> {
    /// Lists shorter than this are written on one thread: a thread costs more than it saves.
    const ENOUGH: usize = 2_000;
    /// Items in a block of a list written on two threads.
    const BLOCK: usize = 128;

    pub fn new(mut w: W) -> std::io::Result<Self> {
        let mut f = Pretty::default();
        f.open(&mut w, b"{")?;
        Ok(PrettyObject { w, f })
    }

    fn key(&mut self, name: &str) -> std::io::Result<()> {
        self.f.line(&mut self.w, self.f.has_value)?;
        self.f.has_value = true;
        self.w.write_all(b"\"")?;
        self.w.write_all(name.as_bytes())?;
        self.w.write_all(b"\": ")
    }

    /// `"name": value`, the value as it would be written one level deep.
    pub fn field<T: serde::Serialize + ?Sized>(
        &mut self,
        name: &str,
        v: &T,
    ) -> std::io::Result<()> {
        self.key(name)?;
        pretty_at(&mut self.w, self.f.level, v).map_err(std::io::Error::from)
    }

    /// `"name": [...]`, as [`PrettyObject::field`] would write it, but a long list is written by
    /// two threads: it is cut into blocks of [`PrettyObject::BLOCK`] items, another thread
    /// renders every second block into a buffer while this one writes the others to the writer,
    /// and this one writes each buffer in its turn. At most a few blocks wait, so memory stays
    /// small (rendering all of the second half first took peak RSS with every cap full from
    /// 26 to 30 MiB, the target being under 32). If no thread can be started, this one writes
    /// it all.
    pub fn list<T: serde::Serialize + Sync>(
        &mut self,
        name: &str,
        items: &[T],
    ) -> std::io::Result<()> {
        self.list_of(name, items, |x| x)
    }

    /// [`PrettyObject::list`] of `f` of each item, each made as it is written (on the thread
    /// that writes it) and dropped after.
    pub fn list_of<'a, T: Sync, U: serde::Serialize>(
        &mut self,
        name: &str,
        items: &'a [T],
        f: impl Fn(&'a T) -> U + Sync,
    ) -> std::io::Result<()> {
        /// Items as serde_json writes them in an array one level deep: each on a line of its
        /// own at the second level, after a comma unless it is the array's first.
        fn items_of<'a, W: std::io::Write + ?Sized, T, U: serde::Serialize>(
            w: &mut W,
            items: &'a [T],
            mut first: bool,
            f: &impl Fn(&'a T) -> U,
        ) -> std::io::Result<()> {
            // Inside the array (one level under the object's fields).
            let inside = Pretty {
                level: 2,
                has_value: false,
            };
            for item in items {
                inside.line(&mut *w, !first)?;
                first = false;
                pretty_at(&mut *w, inside.level, &f(item))?;
            }
            Ok(())
        }
        let f = &f;
        self.key(name)?;
        let mut array = Pretty {
            level: self.f.level,
            has_value: false,
        };
        array.open(&mut self.w, b"[")?;
        array.has_value = !items.is_empty();
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        if cores < 2 || items.len() < Self::ENOUGH {
            items_of(&mut self.w, items, true, f)?;
        } else {
            let blocks: Vec<&[T]> = items.chunks(Self::BLOCK).collect();
            let blocks = &blocks;
            let w = &mut self.w;
            std::thread::scope(|s| {
                // Rendered blocks, in order; and their buffers back, to be used again.
                let (done, rendered) = std::sync::mpsc::sync_channel(2);
                let (give_back, returned) = std::sync::mpsc::channel::<Vec<u8>>();
                let other = std::thread::Builder::new()
                    .name("json-blocks".into())
                    .spawn_scoped(s, move || {
                        for block in blocks.iter().skip(1).step_by(2) {
                            let mut buf = returned.try_recv().unwrap_or_default();
                            buf.clear();
                            let r = items_of(&mut buf, block, false, f).map(|()| buf);
                            // This thread's turn is over when the other gives up.
                            if done.send(r).is_err() {
                                return;
                            }
                        }
                    });
                let Ok(other) = other else {
                    return items_of(&mut *w, items, true, f);
                };
                for (i, pair) in blocks.chunks(2).enumerate() {
                    items_of(&mut *w, pair[0], i == 0, f)?;
                    if pair.len() == 2 {
                        match rendered.recv() {
                            Ok(buf) => {
                                let buf = buf?;
                                w.write_all(&buf)?;
                                let _ = give_back.send(buf);
                            }
                            // It stopped early: it panicked.
                            Err(_) => break,
                        }
                    }
                }
                drop(rendered);
                match other.join() {
                    Ok(()) => Ok(()),
                    Err(panic) => std::panic::resume_unwind(panic),
                }
            })?;
        }
        array.close(&mut self.w, b"]")
    }

    /// Closes the object; gives back the writer (not flushed).
    pub fn end(mut self) -> std::io::Result<W> {
        self.f.close(&mut self.w, b"}")?;
        Ok(self.w)
    }
}

/// Compact JSON (one line, for streams) with C1 and bidi characters escaped.
pub fn json_line<T: serde::Serialize + ?Sized>(v: &T) -> serde_json::Result<String> {
    to_json(v, serde_json::ser::CompactFormatter)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde::Serialize;

    fn value() -> impl Strategy<Value = serde_json::Value> {
        use serde_json::Value;
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::from),
            "[a-z\u{80}-\u{9f}\u{202e}\n\"\\\\]{0,6}".prop_map(Value::String),
        ];
        leaf.prop_recursive(40, 200, 4, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                prop::collection::vec(("[a-z]{0,3}", inner), 0..4)
                    .prop_map(|kv| Value::Object(kv.into_iter().collect())),
            ]
        })
    }

    fn theirs(v: &serde_json::Value) -> String {
        let mut out = Vec::new();
        v.serialize(&mut serde_json::Serializer::with_formatter(
            &mut out,
            Escaping(serde_json::ser::PrettyFormatter::new()),
        ))
        .unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn pretty_deeper_than_its_one_write_indents() {
        let mut v = serde_json::json!([1, {}, [], "x"]);
        for depth in 0..40 {
            v = if depth % 2 == 0 {
                serde_json::json!({ "k": v, "n": depth })
            } else {
                serde_json::json!([depth, v, []])
            };
            assert_eq!(json_pretty(&v).unwrap(), theirs(&v), "depth {depth}");
        }
    }

    proptest! {
        /// [`Pretty`] writes what serde_json's `PrettyFormatter` writes, at any depth (past the
        /// 32 levels its one-write indents reach, too).
        #[test]
        fn pretty_as_serde_json_writes_it(v in value()) {
            prop_assert_eq!(json_pretty(&v).unwrap(), theirs(&v));
        }
    }

    #[test]
    fn plain_text_is_borrowed_unchanged() {
        for s in ["user@example.com", "héllo wörld", "a\tb", "日本語"] {
            assert!(matches!(safe(s), Cow::Borrowed(x) if x == s));
        }
    }

    #[test]
    fn escapes_become_visible_text() {
        // OSC 52 (clipboard) and a title change, as a sender address in a log could carry.
        let osc = "<a@b>\u{1b}]52;c;Y3VybCB8IHNo\u{7}\u{1b}]0;title\u{7}";
        let s = safe(osc);
        assert!(!s.contains('\u{1b}') && !s.contains('\u{7}'), "{s}");
        assert_eq!(s, "<a@b>\\x1b]52;c;Y3VybCB8IHNo\\x07\\x1b]0;title\\x07");
        assert_eq!(safe("del\u{7f}"), "del\\x7f");
        assert_eq!(safe("csi\u{9b}31m"), "csi\\x9b31m");
        assert_eq!(safe("a\r\nb"), "a\\x0d\\x0ab");
    }

    #[test]
    fn bidi_and_invisible_characters_are_named() {
        let s = safe("admin\u{202e}moc.evil\u{202c}@x\u{200b}\u{2066}\u{feff}");
        assert_eq!(
            s,
            "admin\\u{202e}moc.evil\\u{202c}@x\\u{200b}\\u{2066}\\u{feff}"
        );
    }

    #[test]
    fn long_fields_are_cut_with_a_marker() {
        let long = "x".repeat(MAX_FIELD + 100);
        let s = safe(&long);
        assert!(s.starts_with(&"x".repeat(MAX_FIELD)));
        assert!(s.ends_with("…[100 more characters cut]"), "{s}");
        assert!(matches!(safe(&"y".repeat(MAX_FIELD)), Cow::Borrowed(_)));
    }

    #[test]
    fn terminal_output_keeps_lines_tabs_crlf_and_own_colours_only() {
        let s = "a\tb\r\nc\x1b[32m+ok\x1b[0m\x1b]52;c;eA==\x07\x1b[2J\rover\u{202e}x\u{85}";
        assert_eq!(
            for_terminal(s, true),
            "a\tb\r\nc\x1b[32m+ok\x1b[0m\\x1b]52;c;eA==\\x07\\x1b[2J\\x0dover\\u{202e}x\\x85"
        );
        assert_eq!(
            for_terminal("\x1b[32mx", false),
            "\\x1b[32mx",
            "no colour: no escape passes"
        );
        assert!(matches!(
            for_terminal("plain\nlines\n", true),
            Cow::Borrowed(_)
        ));
    }

    #[test]
    fn json_escapes_c1_and_bidi_too() {
        let v = serde_json::json!({"sender": "a\u{9b}b\u{202e}c\u{1b}d", "n": [1, 2]});
        let s = json_pretty(&v).unwrap();
        assert!(s.contains(r#""a\u009bb\u202ec\u001bd""#), "{s}");
        assert!(!s.contains('\u{9b}') && !s.contains('\u{202e}'));
        let back: serde_json::Value = serde_json::from_str(&s).unwrap();
        assert_eq!(back, v);
        assert_eq!(
            json_pretty(&v).unwrap(),
            serde_json::to_string_pretty(
                &serde_json::json!({"sender": "a\u{9b}b\u{202e}c\u{1b}d", "n": [1, 2]})
            )
            .unwrap()
            .replace('\u{9b}', "\\u009b")
            .replace('\u{202e}', "\\u202e")
        );
        let line = json_line(&v).unwrap();
        assert!(!line.contains('\n'));
    }
}
