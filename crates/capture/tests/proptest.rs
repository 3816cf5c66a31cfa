//! Property tests: no input makes the readers panic.
mod common;

use common::{gzip, read_all};
use proptest::prelude::*;
use sluice_capture::{CaptureReader, LinkType, MergedReader, PcapNgWriter, PcapWriter};
use std::io::Cursor;

fn drain(bytes: Vec<u8>) -> usize {
    match CaptureReader::from_reader("fuzz", Cursor::new(bytes)) {
        Ok(mut r) => {
            let (pkts, _) = read_all(&mut r);
            assert!(
                r.next_packet().is_ok_and(|p| p.is_none()),
                "finished readers stay finished"
            );
            pkts.len()
        }
        Err(e) => {
            assert!(!e.to_string().is_empty());
            0
        }
    }
}

fn valid_files() -> Vec<Vec<u8>> {
    let mut p = PcapWriter::new_micro(Vec::new(), LinkType::ETHERNET, 1500).expect("w");
    let mut n = PcapNgWriter::new(Vec::new()).expect("w");
    n.add_interface(LinkType::RAW, 0).expect("idb");
    n.write_block(4, &[0u8; 8]).expect("nrb");
    for i in 0..6u8 {
        p.write(i64::from(i) * 1000, &[i; 40]).expect("w");
        n.write(i64::from(i), LinkType::ETHERNET, &[i; 30])
            .expect("w");
        n.write_spb(&[i; 9], 9).expect("spb");
    }
    vec![p.finish().expect("f"), n.finish().expect("f")]
}

const MAGICS: [[u8; 4]; 6] = [
    [0xd4, 0xc3, 0xb2, 0xa1],
    [0xa1, 0xb2, 0xc3, 0xd4],
    [0x4d, 0x3c, 0xb2, 0xa1],
    [0xa1, 0xb2, 0x3c, 0x4d],
    [0x0a, 0x0d, 0x0d, 0x0a],
    [0x1f, 0x8b, 0x08, 0x00],
];

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
        drain(bytes);
    }

    #[test]
    fn arbitrary_bytes_behind_a_magic_never_panic(
        m in 0usize..MAGICS.len(),
        bytes in proptest::collection::vec(any::<u8>(), 0..2048),
    ) {
        drain([&MAGICS[m][..], &bytes].concat());
    }

    #[test]
    fn pcapng_header_then_arbitrary_blocks_never_panic(
        blocks in proptest::collection::vec((0u32..8, 0u32..128, proptest::collection::vec(any::<u8>(), 0..96)), 0..12),
    ) {
        // A valid section and interface, then blocks with plausible types and lengths.
        let mut n = PcapNgWriter::new(Vec::new()).expect("w");
        n.add_interface(LinkType::ETHERNET, 64).expect("idb");
        let mut bytes = n.finish().expect("f");
        for (t, len, body) in blocks {
            bytes.extend_from_slice(&t.to_le_bytes());
            bytes.extend_from_slice(&(len * 4).to_le_bytes());
            bytes.extend_from_slice(&body);
        }
        drain(bytes);
    }

    #[test]
    fn mutated_valid_files_never_panic(
        which in 0usize..2,
        flips in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8),
        cut in any::<prop::sample::Index>(),
        zip in any::<bool>(),
    ) {
        let mut bytes = valid_files().swap_remove(which);
        for (at, v) in flips {
            let i = at.index(bytes.len());
            bytes[i] = v;
        }
        let keep = cut.index(bytes.len() + 1);
        bytes.truncate(keep);
        if zip {
            bytes = gzip(&bytes);
        }
        drain(bytes);
    }

    #[test]
    fn merging_arbitrary_inputs_never_panics(
        a in proptest::collection::vec(any::<u8>(), 0..512),
        b in proptest::collection::vec(any::<u8>(), 0..512),
    ) {
        let good = valid_files().swap_remove(0);
        let readers = [[&MAGICS[0][..], &a].concat(), [&good[..], &b].concat(), [&MAGICS[4][..], &b].concat()]
            .into_iter()
            .filter_map(|bytes| CaptureReader::from_reader("m", Cursor::new(bytes)).ok())
            .collect();
        let mut m = MergedReader::new(readers);
        let mut steps = 0;
        loop {
            match m.next_packet() {
                Ok(None) => break,
                Ok(Some(_)) | Err(_) => steps += 1,
            }
            prop_assert!(steps < 10_000);
        }
    }
}
