//! Property tests for the smb parser: arbitrary bytes in arbitrary chunkings (with
//! TCP gaps) never panic, and the records do not depend on the chunking.
mod remote_support;
mod support;
use proptest::prelude::*;
use remote_support::{feed_chunked, records};
use sluice_proto::smb::DESC;
use sluice_proto::{Direction, Transport};

fn dir(b: bool) -> Direction {
    if b {
        Direction::ToServer
    } else {
        Direction::ToClient
    }
}

/// A plausible start for the protocol, so that fuzzed bytes reach deeper states.
fn seed(i: u8) -> Vec<u8> {
    remote_support::seed("smb", i)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn never_panics(
        steps in prop::collection::vec((any::<bool>(), prop::collection::vec(any::<u8>(), 0..300), any::<u8>()), 0..12),
        chunk in 1usize..64,
        gap_at in any::<u8>(),
    ) {
        let mut p = (DESC.new_parser)(Transport::Tcp);
        let mut out = Vec::new();
        for (i, (d, bytes, s)) in steps.iter().enumerate() {
            let mut b = if i < 2 { seed(*s) } else { Vec::new() };
            b.extend_from_slice(bytes);
            if i == usize::from(gap_at % 16) {
                p.gap(dir(*d), 10, i as i64, &mut out);
            }
            for c in b.chunks(chunk) {
                p.parse(dir(*d), c, i as i64, &mut out);
            }
            let _ = (DESC.probe)(dir(*d), &b);
        }
        p.finish(99, &mut out);
    }

    #[test]
    fn chunking_invariant(
        steps in prop::collection::vec((any::<bool>(), prop::collection::vec(any::<u8>(), 0..200), any::<u8>()), 0..8),
        chunk in 1usize..17,
    ) {
        let steps: Vec<(Direction, Vec<u8>)> = steps
            .into_iter()
            .enumerate()
            .map(|(i, (d, bytes, s))| {
                let mut b = if i < 4 { seed(s) } else { Vec::new() };
                b.extend(bytes);
                (dir(d), b)
            })
            .collect();
        let whole = records(&feed_chunked(&DESC, &steps, 0));
        prop_assert_eq!(&whole, &records(&feed_chunked(&DESC, &steps, 1)));
        prop_assert_eq!(&whole, &records(&feed_chunked(&DESC, &steps, chunk)));
    }
}
