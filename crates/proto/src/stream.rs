//! Plumbing shared by the stream protocols' state machines: per-direction framing of a
//! byte stream into PDUs, and a bounded queue of requests waiting for their response.
//!
//! [`Framer`] hands a protocol's *step* function the stream one decision at a time.
//! Whole PDUs inside a chunk are decided straight from the chunk (no copy); only an
//! undecided tail is kept, and when the next chunk arrives just enough of it is
//! appended to the tail (growing geometrically) for the step to decide, after which
//! parsing goes back to the chunk in place. The step sees exactly the bytes it would
//! see if the whole stream came in one chunk, so a step whose decisions depend only
//! on the bytes gives the same output however the stream is cut.
//!
//! [`PendingQueue`] keeps requests in arrival order, bounded: pushing into a full
//! queue gives back the oldest request so the protocol can report it unanswered.
use std::collections::VecDeque;

/// Bytes appended to a buffered tail at least, before asking the step again.
const MIN_APPEND: usize = 256;

/// One direction's framing state: the undecided start of the rest of the stream.
#[derive(Debug, Default)]
pub struct Framer {
    buf: Vec<u8>,
}

impl Framer {
    pub fn new() -> Framer {
        Framer::default()
    }

    /// Bytes buffered (the start of a PDU not yet decidable).
    pub fn buffered(&self) -> usize {
        self.buf.len()
    }

    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    /// Drops the buffered bytes (TCP gap), keeping the allocation.
    pub fn clear(&mut self) {
        self.buf.clear();
    }

    /// Drops the buffered bytes and frees the allocation (flow given up or ended).
    pub fn release(&mut self) {
        self.buf = Vec::new();
    }

    /// Feeds the next bytes of the stream. `step` is shown the stream from the next
    /// undecided byte and returns `Some(n)` when it consumed `n > 0` bytes, `Some(0)`
    /// when it needs more bytes to decide, or `None` to stop (the protocol gave up on
    /// the flow: the buffered bytes are dropped).
    ///
    /// `max` is the most bytes a step ever needs to decide; a tail longer than that
    /// (a step breaking its contract) is dropped rather than kept growing.
    pub fn feed(&mut self, data: &[u8], max: usize, mut step: impl FnMut(&[u8]) -> Option<usize>) {
        let mut input = data;
        // Complete the buffered tail with as few bytes of the input as decide it.
        while !self.buf.is_empty() && !input.is_empty() {
            let old = self.buf.len();
            let take = old.max(MIN_APPEND).min(input.len());
            self.buf
                .extend_from_slice(input.get(..take).unwrap_or_default());
            let mut pos = 0;
            while pos < old {
                match step(self.buf.get(pos..).unwrap_or_default()) {
                    None => {
                        self.release();
                        return;
                    }
                    Some(0) => break,
                    Some(n) => pos += n,
                }
            }
            if pos >= old {
                // Decided past the old tail: go on in place from the first byte of the
                // input not consumed.
                input = input
                    .get((pos - old).min(input.len())..)
                    .unwrap_or_default();
                self.buf.clear();
            } else {
                // Still undecided: everything taken stays buffered.
                self.buf.drain(..pos);
                input = input.get(take..).unwrap_or_default();
                if self.buf.len() > max {
                    self.buf.clear();
                }
            }
        }
        if !self.buf.is_empty() {
            return;
        }
        // Decide in place, keeping only an undecided tail.
        let mut pos = 0;
        while pos < input.len() {
            match step(input.get(pos..).unwrap_or_default()) {
                None => {
                    self.release();
                    return;
                }
                Some(0) => break,
                Some(n) => pos += n,
            }
        }
        let tail = input.get(pos..).unwrap_or_default();
        if tail.len() <= max {
            self.buf.extend_from_slice(tail);
        }
    }
}

/// Requests waiting for their response, oldest first, at most `cap` of them.
#[derive(Debug)]
pub struct PendingQueue<T> {
    items: VecDeque<T>,
    cap: usize,
}

impl<T> PendingQueue<T> {
    pub fn new(cap: usize) -> PendingQueue<T> {
        PendingQueue {
            items: VecDeque::new(),
            cap,
        }
    }

    pub fn len(&self) -> usize {
        self.items.len()
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Adds a request; when the queue is full, the oldest one leaves first and is
    /// returned (to be reported unanswered).
    #[must_use]
    pub fn push(&mut self, item: T) -> Option<T> {
        let evicted = if self.items.len() >= self.cap {
            self.items.pop_front()
        } else {
            None
        };
        self.items.push_back(item);
        evicted
    }

    /// Removes and returns the oldest request that satisfies `pred`.
    pub fn take(&mut self, pred: impl FnMut(&T) -> bool) -> Option<T> {
        let i = self.items.iter().position(pred)?;
        self.items.remove(i)
    }

    /// Index of the oldest request that satisfies `pred`.
    pub fn position(&self, pred: impl FnMut(&T) -> bool) -> Option<usize> {
        self.items.iter().position(pred)
    }

    /// Removes the request at `index`.
    pub fn remove(&mut self, index: usize) -> Option<T> {
        self.items.remove(index)
    }

    /// Removes and returns the oldest request.
    pub fn pop_front(&mut self) -> Option<T> {
        self.items.pop_front()
    }

    pub fn iter(&self) -> impl Iterator<Item = &T> {
        self.items.iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// A toy length-prefixed protocol: byte `n` starts a PDU of `n + 1` bytes; a 0xFF
    /// byte is skipped alone (as a scan would); 0xFE stops the stream.
    fn toy(bytes: &[u8], out: &mut Vec<Vec<u8>>) -> Option<usize> {
        match bytes.first().copied() {
            None => Some(0),
            Some(0xFE) => None,
            Some(0xFF) => Some(1),
            Some(n) => {
                let len = usize::from(n % 32) + 1;
                match bytes.get(..len) {
                    Some(pdu) => {
                        out.push(pdu.to_vec());
                        Some(len)
                    }
                    None => Some(0),
                }
            }
        }
    }

    fn feed_all(chunks: &[&[u8]]) -> (Vec<Vec<u8>>, usize) {
        let mut f = Framer::new();
        let mut out = Vec::new();
        for c in chunks {
            f.feed(c, 64, |b| toy(b, &mut out));
        }
        (out, f.buffered())
    }

    #[test]
    fn whole_and_split_pdus() {
        let stream = [2u8, 9, 9, 0xFF, 1, 7, 3, 1, 2, 3];
        let (one, left) = feed_all(&[&stream]);
        assert_eq!(one, vec![vec![2, 9, 9], vec![1, 7], vec![3, 1, 2, 3]]);
        assert_eq!(left, 0);
        let (split, left) = feed_all(&[&stream[..2], &stream[2..5], &stream[5..]]);
        assert_eq!(split, one);
        assert_eq!(left, 0);
        let (partial, left) = feed_all(&[&stream[..8]]);
        assert_eq!(partial.len(), 2);
        assert_eq!(left, 2);
    }

    #[test]
    fn stop_drops_the_tail() {
        let mut f = Framer::new();
        let mut n = 0;
        f.feed(&[3, 1], 64, |_| Some(0));
        assert_eq!(f.buffered(), 2);
        f.feed(&[2, 0xFE, 5], 64, |b| {
            n += 1;
            if b.len() >= 4 {
                None
            } else {
                Some(0)
            }
        });
        assert_eq!(f.buffered(), 0);
        assert!(n >= 1);
    }

    #[test]
    fn pending_queue_bounds_and_takes() {
        let mut q = PendingQueue::new(2);
        assert_eq!(q.push(1), None);
        assert_eq!(q.push(2), None);
        assert_eq!(q.push(3), Some(1));
        assert_eq!(q.take(|&x| x == 3), Some(3));
        assert_eq!(q.take(|&x| x == 3), None);
        assert_eq!(q.len(), 1);
        assert_eq!(q.pop_front(), Some(2));
        assert!(q.is_empty());
    }

    proptest! {
        #[test]
        fn chunking_invariance(
            stream in proptest::collection::vec(any::<u8>().prop_filter("no stop", |b| *b != 0xFE), 0..400),
            cuts in proptest::collection::vec(0usize..400, 0..12),
        ) {
            let (whole, left) = feed_all(&[&stream]);
            let mut cuts: Vec<usize> = cuts.into_iter().map(|c| c.min(stream.len())).collect();
            cuts.sort_unstable();
            let mut chunks = Vec::new();
            let mut prev = 0;
            for c in cuts {
                chunks.push(&stream[prev..c]);
                prev = c;
            }
            chunks.push(&stream[prev..]);
            let (split, left2) = feed_all(&chunks);
            prop_assert_eq!(whole, split);
            prop_assert_eq!(left, left2);
        }
    }
}
