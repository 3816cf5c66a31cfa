//! Capture readers (pcap, pcapng, gzip) over arbitrary bytes: every packet or a located error.
#![no_main]
use libfuzzer_sys::fuzz_target;
use sluice_capture::CaptureReader;

fuzz_target!(|data: &[u8]| {
    if let Ok(mut r) = CaptureReader::from_reader("fuzz.pcap", std::io::Cursor::new(data.to_vec())) {
        let mut n = 0u32;
        while let Ok(Some(p)) = r.next_packet() {
            assert!(p.data.len() <= sluice_capture::MAX_PACKET_LEN as usize);
            n += 1;
            if n > 100_000 {
                break;
            }
        }
    }
});
