//! TCP stream reassembly for one direction of a connection.
//!
//! In-order data is handed to the consumer straight from the packet (no copy); only
//! out-of-order segments are buffered, bounded per stream and globally by [`Budget`].
//! Overlaps keep the first copy of every byte. A hole that cannot be filled (buffer
//! full, data acknowledged by the peer but never captured, end of flow) is reported as
//! a gap and skipped, and the stream goes on after it.

/// What the reassembler delivers, in stream order.
#[derive(Debug, PartialEq, Eq)]
pub enum Chunk<'a> {
    Data(&'a [u8]),
    /// `n` bytes are missing from the stream here.
    Gap(u64),
}

/// A global cap on bytes buffered for reassembly, shared by all streams.
#[derive(Debug)]
pub struct Budget {
    pub used: usize,
    pub cap: usize,
    /// Times a stream had to skip a hole because the cap was reached.
    pub overflows: u64,
}

impl Budget {
    pub fn new(cap: usize) -> Self {
        Budget {
            used: 0,
            cap,
            overflows: 0,
        }
    }
}

/// Counters per direction.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StreamStats {
    /// Segments that carried only bytes already delivered.
    pub retransmissions: u64,
    /// Bytes received again with different placement (overlapping segments).
    pub overlap_bytes: u64,
    /// Segments that arrived ahead of a hole.
    pub out_of_order: u64,
    pub gaps: u64,
    pub gap_bytes: u64,
    /// Bytes delivered in order.
    pub delivered: u64,
}

/// Largest out-of-order data buffered per direction before a hole is skipped.
pub const MAX_STREAM_BUFFER: usize = 256 * 1024;

/// One direction of a TCP connection.
#[derive(Debug, Default)]
pub struct TcpStream {
    started: bool,
    /// Next expected sequence number.
    next: u32,
    /// Buffered out-of-order segments, sorted by position relative to `next`.
    ooo: Vec<(u32, Vec<u8>)>,
    buffered: usize,
    pub fin: bool,
    pub stats: StreamStats,
}

#[inline]
fn rel(seq: u32, base: u32) -> i64 {
    i64::from(seq.wrapping_sub(base) as i32)
}

impl TcpStream {
    pub fn new() -> Self {
        Self::default()
    }

    /// Bytes currently buffered out of order.
    pub fn buffered(&self) -> usize {
        self.buffered
    }

    /// Whether the start of the stream was seen (SYN) or picked up mid-stream.
    pub fn started(&self) -> bool {
        self.started
    }

    /// Feeds one segment of this direction.
    pub fn segment(
        &mut self,
        seq: u32,
        syn: bool,
        fin: bool,
        payload: &[u8],
        budget: &mut Budget,
        out: &mut dyn FnMut(Chunk<'_>),
    ) {
        let mut seq = seq;
        if syn {
            if !self.started {
                self.started = true;
                self.next = seq.wrapping_add(1);
            }
            seq = seq.wrapping_add(1);
        }
        if fin {
            self.fin = true;
        }
        if payload.is_empty() {
            return;
        }
        if !self.started {
            // Picked up mid-stream: start at this segment.
            self.started = true;
            self.next = seq;
        }
        let r = rel(seq, self.next);
        if r <= 0 {
            let skip = (-r) as u64;
            if skip >= payload.len() as u64 {
                self.stats.retransmissions += 1;
                return;
            }
            if skip > 0 {
                self.stats.overlap_bytes += skip;
            }
            self.deliver_merging(&payload[skip as usize..], budget, out);
        } else {
            self.stats.out_of_order += 1;
            self.buffer(seq, payload, budget, out);
        }
    }

    /// Delivers in-order `data`, letting bytes already buffered win where they overlap.
    fn deliver_merging(
        &mut self,
        data: &[u8],
        budget: &mut Budget,
        out: &mut dyn FnMut(Chunk<'_>),
    ) {
        let mut data = data;
        loop {
            let first = self.ooo.first().map(|(s, _)| rel(*s, self.next));
            match first {
                Some(r) if r >= 0 && (r as usize) < data.len() => {
                    let r = r as usize;
                    if r > 0 {
                        self.deliver(&data[..r], out);
                    }
                    let before = self.next;
                    self.drain(budget, out);
                    let advanced = self.next.wrapping_sub(before) as usize;
                    let used = r + advanced;
                    if used >= data.len() {
                        self.stats.overlap_bytes += (data.len() - r) as u64;
                        return;
                    }
                    self.stats.overlap_bytes += advanced as u64;
                    data = &data[used..];
                }
                _ => {
                    if !data.is_empty() {
                        self.deliver(data, out);
                    }
                    self.drain(budget, out);
                    return;
                }
            }
        }
    }

    fn deliver(&mut self, data: &[u8], out: &mut dyn FnMut(Chunk<'_>)) {
        self.next = self.next.wrapping_add(data.len() as u32);
        self.stats.delivered += data.len() as u64;
        out(Chunk::Data(data));
    }

    /// Stores an out-of-order segment, keeping bytes already buffered (first wins).
    fn buffer(
        &mut self,
        seq: u32,
        payload: &[u8],
        budget: &mut Budget,
        out: &mut dyn FnMut(Chunk<'_>),
    ) {
        // Cut the new segment into the pieces not yet covered.
        let next = self.next;
        let start = rel(seq, next);
        let end = start + payload.len() as i64;
        let mut pieces: Vec<(i64, i64)> = Vec::new();
        let mut cur = start;
        for (s, d) in &self.ooo {
            let (bs, be) = (rel(*s, next), rel(*s, next) + d.len() as i64);
            if be <= cur {
                continue;
            }
            if bs >= end {
                break;
            }
            if bs > cur {
                pieces.push((cur, bs));
            }
            self.stats.overlap_bytes += (be.min(end) - bs.max(cur)).max(0) as u64;
            cur = cur.max(be);
            if cur >= end {
                break;
            }
        }
        if cur < end {
            pieces.push((cur, end));
        }
        let add: usize = pieces.iter().map(|(a, b)| (b - a) as usize).sum();
        if add == 0 {
            self.stats.retransmissions += 1;
            return;
        }
        if self.buffered + add > MAX_STREAM_BUFFER || budget.used + add > budget.cap {
            // Cannot hold it: give up on the hole before the buffered data.
            budget.overflows += 1;
            self.skip_hole(budget, out);
            // The segment may now be in order or still ahead.
            let r = rel(seq, self.next);
            if r <= 0 {
                let skip = (-r) as usize;
                if skip < payload.len() {
                    self.stats.overlap_bytes += skip as u64;
                    self.deliver_merging(&payload[skip..], budget, out);
                }
                return;
            }
            // Still ahead with an empty buffer: skip straight to it.
            self.gap(r as u64, out);
            self.deliver_merging(payload, budget, out);
            return;
        }
        for (a, b) in pieces {
            let piece = payload[(a - start) as usize..(b - start) as usize].to_vec();
            let s = next.wrapping_add(a as u32);
            let pos = self.ooo.partition_point(|(x, _)| rel(*x, next) < a);
            self.ooo.insert(pos, (s, piece));
        }
        self.buffered += add;
        budget.used += add;
    }

    fn gap(&mut self, n: u64, out: &mut dyn FnMut(Chunk<'_>)) {
        self.stats.gaps += 1;
        self.stats.gap_bytes += n;
        self.next = self.next.wrapping_add(n as u32);
        out(Chunk::Gap(n));
    }

    /// Delivers buffered segments that became in order.
    fn drain(&mut self, budget: &mut Budget, out: &mut dyn FnMut(Chunk<'_>)) {
        while let Some((s, _)) = self.ooo.first() {
            let r = rel(*s, self.next);
            if r > 0 {
                break;
            }
            let (_, d) = self.ooo.remove(0);
            self.buffered -= d.len();
            budget.used = budget.used.saturating_sub(d.len());
            let skip = (-r) as usize;
            if skip < d.len() {
                self.stats.overlap_bytes += skip as u64;
                self.deliver(&d[skip..], out);
            }
        }
    }

    /// Skips the hole before the first buffered segment, then delivers what follows.
    pub fn skip_hole(&mut self, budget: &mut Budget, out: &mut dyn FnMut(Chunk<'_>)) {
        if let Some((s, _)) = self.ooo.first() {
            let r = rel(*s, self.next);
            if r > 0 {
                self.gap(r as u64, out);
            }
            self.drain(budget, out);
        }
    }

    /// The peer acknowledged up to `ack`: a hole below it will never be filled.
    pub fn acked(&mut self, ack: u32, budget: &mut Budget, out: &mut dyn FnMut(Chunk<'_>)) {
        if !self.started || self.ooo.is_empty() {
            return;
        }
        while let Some((s, _)) = self.ooo.first() {
            if rel(*s, self.next) > 0 && rel(ack, *s) >= 0 {
                self.skip_hole(budget, out);
            } else {
                break;
            }
        }
    }

    /// End of the flow: deliver everything buffered, marking holes as gaps.
    pub fn flush(&mut self, budget: &mut Budget, out: &mut dyn FnMut(Chunk<'_>)) {
        while !self.ooo.is_empty() {
            self.skip_hole(budget, out);
        }
    }

    /// Releases buffered bytes without delivering them (flow evicted).
    pub fn discard(&mut self, budget: &mut Budget) {
        budget.used = budget.used.saturating_sub(self.buffered);
        self.buffered = 0;
        self.ooo.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(segs: &[(u32, bool, &[u8])], cap: usize) -> (Vec<u8>, Vec<u64>, StreamStats) {
        let mut s = TcpStream::new();
        let mut b = Budget::new(cap);
        let mut data = Vec::new();
        let mut gaps = Vec::new();
        for (seq, syn, p) in segs {
            s.segment(*seq, *syn, false, p, &mut b, &mut |c| match c {
                Chunk::Data(d) => data.extend_from_slice(d),
                Chunk::Gap(n) => gaps.push(n),
            });
        }
        s.flush(&mut b, &mut |c| match c {
            Chunk::Data(d) => data.extend_from_slice(d),
            Chunk::Gap(n) => gaps.push(n),
        });
        assert_eq!(b.used, 0);
        (data, gaps, s.stats)
    }

    #[test]
    fn in_order_out_of_order_retransmission() {
        let (d, g, st) = run(
            &[
                (100, true, b""),
                (101, false, b"abc"),
                (107, false, b"ghi"),
                (104, false, b"def"),
                (104, false, b"def"),
            ],
            1 << 20,
        );
        assert_eq!(d, b"abcdefghi");
        assert!(g.is_empty());
        assert_eq!(st.out_of_order, 1);
        assert_eq!(st.retransmissions, 1);
    }

    #[test]
    fn overlap_first_wins() {
        // "XYZ" at 104 buffered first, then "defgh" covering it: buffered bytes win.
        let (d, _, st) = run(
            &[
                (100, true, b""),
                (101, false, b"abc"),
                (105, false, b"XYZ"),
                (104, false, b"defgh"),
            ],
            1 << 20,
        );
        assert_eq!(d, b"abcdXYZh");
        assert_eq!(st.overlap_bytes, 3);
    }

    #[test]
    fn gap_is_marked_and_survived() {
        let (d, g, st) = run(
            &[(100, true, b""), (101, false, b"ab"), (110, false, b"zz")],
            1 << 20,
        );
        assert_eq!(d, b"abzz");
        assert_eq!(g, vec![7]);
        assert_eq!(st.gaps, 1);
    }

    #[test]
    fn midstream_pickup_and_wraparound() {
        let base = u32::MAX - 2;
        let (d, g, _) = run(
            &[
                (base, false, b"1234"),
                (base.wrapping_add(8), false, b"90"),
                (base.wrapping_add(4), false, b"5678"),
            ],
            1 << 20,
        );
        assert_eq!(d, b"1234567890");
        assert!(g.is_empty());
    }

    #[test]
    fn budget_overflow_skips_hole() {
        let (d, g, _) = run(
            &[
                (0, true, b""),
                (1, false, b"a"),
                (10, false, b"bbbb"),
                (20, false, b"cccc"),
            ],
            4,
        );
        assert_eq!(d, b"abbbbcccc");
        assert_eq!(g.len(), 2);
    }

    #[test]
    fn ack_beyond_hole_declares_gap() {
        let mut s = TcpStream::new();
        let mut b = Budget::new(1 << 20);
        let mut got = Vec::new();
        let mut push = |c: Chunk<'_>| match c {
            Chunk::Data(d) => got.push(String::from_utf8_lossy(d).into_owned()),
            Chunk::Gap(n) => got.push(format!("gap{n}")),
        };
        s.segment(0, true, false, b"", &mut b, &mut push);
        s.segment(1, false, false, b"aa", &mut b, &mut push);
        s.segment(5, false, false, b"cc", &mut b, &mut push);
        s.acked(7, &mut b, &mut push);
        assert_eq!(got, vec!["aa", "gap2", "cc"]);
    }
}
