//! The sendmail.mc editor on arbitrary text: `analyse`, `enable_auth` and `disable_features`
//! never panic; an edit it returns is idempotent (a second run makes no edits) and honest
//! (the new text is exactly the old lines with the listed edits applied: every other line keeps
//! its bytes, its own line ending, the BOM).
#![no_main]

use libfuzzer_sys::fuzz_target;
use smtpauth_wizard::mc::{self, McEdit, McOptions, RISKY_FEATURES};

/// Splits like the editor does: at `\n`, a `\r` before it belongs to the ending.
fn lines(body: &str) -> Vec<(&str, &str)> {
    body.split_inclusive('\n')
        .map(|l| {
            let content = l
                .strip_suffix("\r\n")
                .or_else(|| l.strip_suffix('\n'))
                .unwrap_or(l);
            (content, &l[content.len()..])
        })
        .collect()
}

/// Rebuilds the new text from the old one and the edit list alone.
fn replay(old: &str, edit: &McEdit, crlf: bool) -> String {
    let (bom, body) = match old.strip_prefix('\u{feff}') {
        Some(b) => ("\u{feff}", b),
        None => ("", old),
    };
    let nl = if crlf { "\r\n" } else { "\n" };
    let mut out = String::from(bom);
    for (i, (content, eol)) in lines(body).into_iter().enumerate() {
        let here = edit.edits.iter().filter(|e| e.line == i + 1);
        let mut replaced = None;
        for e in here {
            match (&e.before, &e.after) {
                (None, Some(new)) => {
                    out.push_str(new);
                    out.push_str(nl);
                }
                (Some(before), Some(new)) => {
                    assert_eq!(before, content, "edit names the wrong old text");
                    replaced = Some(new.as_str());
                }
                _ => panic!("edit with no new text: {e:?}"),
            }
        }
        out.push_str(replaced.unwrap_or(content));
        out.push_str(eol);
    }
    out
}

fn check(old: &str, edit: &McEdit) {
    if edit.edits.is_empty() {
        assert_eq!(edit.text, old, "no edits but the text changed");
        return;
    }
    let crlf = mc::analyse(old).crlf;
    assert_eq!(
        replay(old, edit, crlf),
        edit.text,
        "the text differs from the old lines plus the listed edits"
    );
}

fuzz_target!(|data: &[u8]| {
    // The step reads sendmail.mc as UTF-8 and refuses anything else; lossy decoding still lets
    // the fuzzer reach the editor with every byte pattern it tries.
    let text = String::from_utf8_lossy(data);
    let _ = mc::analyse(&text);
    let _ = mc::rewrite_includes(&text, "/tmp/root");
    let opts = McOptions::default();
    if let Ok(edit) = mc::enable_auth(&text, &opts) {
        check(&text, &edit);
        let again = mc::enable_auth(&edit.text, &opts)
            .unwrap_or_else(|e| panic!("a second enable_auth refuses its own output: {e}"));
        assert!(
            again.edits.is_empty() && again.text == edit.text,
            "a second enable_auth still edits: {:?}",
            again.edits
        );
    }
    let choice = mc::SubmissionChoice::default();
    if let Ok(edit) = mc::enable_submission(&text, &choice) {
        check(&text, &edit);
        let again = mc::enable_submission(&edit.text, &choice)
            .unwrap_or_else(|e| panic!("a second enable_submission refuses its own output: {e}"));
        assert!(
            again.edits.is_empty() && again.text == edit.text,
            "a second enable_submission still edits: {:?}",
            again.edits
        );
    }
    let features: Vec<String> = RISKY_FEATURES.iter().map(|s| s.to_string()).collect();
    if let Ok(edit) = mc::disable_features(&text, &features) {
        check(&text, &edit);
        let again = mc::disable_features(&edit.text, &features)
            .unwrap_or_else(|e| panic!("a second disable_features refuses its own output: {e}"));
        assert!(
            again.edits.is_empty(),
            "a second disable_features still edits: {:?}",
            again.edits
        );
    }
});
