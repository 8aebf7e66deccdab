//! The journal loader on arbitrary bytes (a journal cut by a crash, flipped bits, an edit by
//! hand): `parse_journal` refuses or accepts and never panics, and what it accepts is written
//! back by the journal's own serializer into text that parses to the same journal (the program
//! must always be able to read what it wrote).
#![no_main]

use libfuzzer_sys::fuzz_target;
use smtpauth_wizard::engine::journal::parse_journal;

fuzz_target!(|data: &[u8]| {
    let j = match parse_journal("fuzz/journal.yaml", data) {
        Ok(j) => j,
        Err(e) => {
            let _ = e.to_string(); // status prints it
            return;
        }
    };
    let text = serde_yaml::to_string(&j).expect("a parsed journal serializes");
    let again = parse_journal("fuzz/journal.yaml", text.as_bytes())
        .unwrap_or_else(|e| panic!("the journal cannot read what it wrote: {e}\n{text}"));
    let text2 = serde_yaml::to_string(&again).unwrap();
    assert_eq!(text, text2, "journal round trip is not stable");
});
