//! SMTP replies from a hostile server: `parse_reply_line`, `parse_reply` and `Ehlo::parse` never
//! panic on any bytes; a parsed reply put back on the wire (`wire_lines`) parses to the same
//! reply; every accessor works on whatever was accepted.
#![no_main]

use libfuzzer_sys::fuzz_target;
use smtpauth_wizard::smtp::{parse_reply, parse_reply_line, Ehlo, MAX_LINE, MAX_LINES};

fuzz_target!(|data: &[u8]| {
    if let Ok(line) = parse_reply_line(data) {
        assert!((200..600).contains(&line.code), "code {}", line.code);
        assert!(line.text.len() <= MAX_LINE);
    }
    let Ok(reply) = parse_reply(data) else {
        return;
    };
    assert!(!reply.lines.is_empty() && reply.lines.len() <= MAX_LINES);
    let _ = (
        reply.summary(),
        reply.text(),
        reply.enhanced_code(),
        reply.to_string(),
    );
    let _ = (
        reply.is_positive(),
        reply.is_intermediate(),
        reply.is_transient(),
        reply.is_permanent(),
    );
    let wire = reply.wire_lines().join("\r\n") + "\r\n";
    let again = parse_reply(wire.as_bytes())
        .unwrap_or_else(|e| panic!("our own rendering {wire:?} does not parse: {e}"));
    assert_eq!(
        again, reply,
        "round trip through wire_lines changed the reply"
    );
    let ehlo = Ehlo::parse(&reply);
    if let Some(m) = &ehlo.auth_mechanisms {
        for x in m {
            assert!(!x.is_empty() && ehlo.offers(x));
        }
    }
});
