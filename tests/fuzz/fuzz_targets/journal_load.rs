//! The journal loader on arbitrary bytes (a journal cut by a crash, flipped bits, an edit by
//! hand): `parse_journal` refuses or accepts and never panics. The journal ends with a sha256
//! line that random bytes almost never match, so each input is also tried sealed with a correct
//! end line, which takes the fuzzer into the YAML and the records. What is accepted is written
//! back by the journal's own writer (`render_journal`) into text that parses to the same journal:
//! the program must always be able to read what it wrote.
#![no_main]

use libfuzzer_sys::fuzz_target;
use smtpauth_wizard::engine::journal::{parse_journal, render_journal, seal_journal};

fn round_trip(data: &[u8]) {
    let j = match parse_journal("fuzz/journal.yaml", data) {
        Ok(j) => j,
        Err(e) => {
            let _ = e.to_string(); // status prints it
            return;
        }
    };
    let text = render_journal(&j).expect("a parsed journal serializes");
    let again = parse_journal("fuzz/journal.yaml", text.as_bytes())
        .unwrap_or_else(|e| panic!("the journal cannot read what it wrote: {e}\n{text}"));
    assert_eq!(
        render_journal(&again).unwrap(),
        text,
        "journal round trip is not stable"
    );
}

fuzz_target!(|data: &[u8]| {
    round_trip(data);
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    // A real journal from the seeds: drop its own end line before sealing again.
    let body = match text.trim_end_matches('\n').rfind('\n') {
        Some(i) if text[i + 1..].starts_with("# end of journal") => &text[..i + 1],
        _ => text,
    };
    let body = if body.ends_with('\n') || body.is_empty() {
        body.to_string()
    } else {
        format!("{body}\n")
    };
    if let Ok(sealed) = seal_journal(&body) {
        round_trip(sealed.as_bytes());
    }
});
