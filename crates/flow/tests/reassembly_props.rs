use proptest::prelude::*;
use sluice_flow::{Budget, Chunk, TcpStream};

proptest! {
    /// Any segmentation, delivered in any order with duplicates, reassembles to the
    /// original stream when nothing is missing.
    #[test]
    fn shuffled_segments_reassemble(
        data in proptest::collection::vec(any::<u8>(), 1..2000),
        cuts in proptest::collection::vec(1usize..200, 1..40),
        order in proptest::collection::vec(any::<u16>(), 1..60),
        isn in any::<u32>(),
    ) {
        let mut segs = Vec::new();
        let mut pos = 0usize;
        let mut i = 0;
        while pos < data.len() {
            let len = cuts[i % cuts.len()].min(data.len() - pos);
            segs.push((pos, len));
            pos += len;
            i += 1;
        }
        // Shuffle deterministically by `order`, and add some duplicates.
        let n = segs.len();
        for (k, o) in order.iter().enumerate() {
            let a = k % n;
            let b = usize::from(*o) % n;
            segs.swap(a, b);
        }
        let dup: Vec<_> = segs.iter().step_by(3).cloned().collect();
        segs.extend(dup);
        let mut s = TcpStream::new();
        let mut b = Budget::new(1 << 20);
        let mut out = Vec::new();
        let mut gaps = 0u64;
        s.segment(isn, true, false, &[], &mut b, &mut |_| {});
        for (p, l) in &segs {
            let seq = isn.wrapping_add(1).wrapping_add(*p as u32);
            s.segment(seq, false, false, &data[*p..*p + *l], &mut b, &mut |c| match c {
                Chunk::Data(d) => out.extend_from_slice(d),
                Chunk::Gap(g) => gaps += g,
            });
        }
        s.flush(&mut b, &mut |c| match c {
            Chunk::Data(d) => out.extend_from_slice(d),
            Chunk::Gap(g) => gaps += g,
        });
        prop_assert_eq!(gaps, 0);
        prop_assert_eq!(out, data);
        prop_assert_eq!(b.used, 0);
    }

    /// Arbitrary segments never panic and never exceed the budget.
    #[test]
    fn arbitrary_segments_stay_bounded(
        segs in proptest::collection::vec((any::<u32>(), any::<bool>(), proptest::collection::vec(any::<u8>(), 0..300)), 0..80),
    ) {
        let mut s = TcpStream::new();
        let mut b = Budget::new(4096);
        for (seq, syn, p) in &segs {
            s.segment(*seq, *syn, false, p, &mut b, &mut |_| {});
            prop_assert!(b.used <= b.cap);
        }
        s.flush(&mut b, &mut |_| {});
        prop_assert_eq!(b.used, 0);
    }
}
