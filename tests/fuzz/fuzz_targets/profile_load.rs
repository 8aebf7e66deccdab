//! The profile loader (`--profile FILE`) on arbitrary text: `profile::parse` refuses or accepts
//! and never panics; an accepted profile serializes to YAML that parses to the same profile.
#![no_main]

use libfuzzer_sys::fuzz_target;
use smtpauth_wizard::engine::profile;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return; // the CLI reads profiles with read_to_string, which refuses non-UTF-8
    };
    let Ok(p) = profile::parse("fuzz.yaml", text) else {
        return;
    };
    let yaml = serde_yaml::to_string(&p).expect("a parsed profile serializes");
    let again = profile::parse("fuzz.yaml", &yaml)
        .unwrap_or_else(|e| panic!("a profile does not read back its own YAML: {e}\n{yaml}"));
    assert_eq!(
        serde_yaml::to_string(&again).unwrap(),
        yaml,
        "profile round trip is not stable"
    );
});
