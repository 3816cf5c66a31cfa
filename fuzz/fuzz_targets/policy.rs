//! The policy parser and checker on arbitrary text.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(p) = sluice_policy::Policy::parse(text, std::path::Path::new("fuzz.toml")) {
            let _ = p.check();
        }
    }
});
