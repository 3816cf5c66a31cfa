//! [`MergedReader`]: several captures read as one, in timestamp order.
use crate::error::CaptureError;
use crate::{CaptureReader, Packet};
use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::path::Path;

/// Reads several captures as one stream ordered by timestamp (a k-way merge on the
/// timestamp of each file's next packet; ties go to the file listed first).
///
/// Each file keeps its own order: a file whose timestamps go backwards is not re-sorted,
/// its packets just come out when its next packet is the earliest head.
///
/// Errors: a fault in one file ends that file. `next_packet` returns the error once (it
/// carries the file's path and offset); calling `next_packet` again continues with the
/// other files. A caller that wants to stop at the first error simply stops calling.
#[derive(Debug)]
pub struct MergedReader {
    readers: Vec<CaptureReader>,
    /// (next timestamp, file index) of every file with a packet waiting.
    heap: BinaryHeap<Reverse<(i64, usize)>>,
    /// Files whose next packet must be peeked before the next choice (stack; popped
    /// from the end, so kept in descending index order initially).
    to_peek: Vec<usize>,
}

impl MergedReader {
    /// Opens every file; fails on the first one that cannot be opened.
    pub fn open<P: AsRef<Path>>(paths: &[P]) -> Result<Self, CaptureError> {
        let readers = paths
            .iter()
            .map(|p| CaptureReader::open(p.as_ref()))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self::new(readers))
    }

    /// Merges readers that are already open; file indexes are positions in `readers`.
    pub fn new(readers: Vec<CaptureReader>) -> Self {
        let to_peek = (0..readers.len()).rev().collect();
        MergedReader {
            heap: BinaryHeap::with_capacity(readers.len()),
            readers,
            to_peek,
        }
    }

    /// The next packet across all files with the index of its file; `Ok(None)` when every
    /// file is finished.
    pub fn next_packet(&mut self) -> Result<Option<(usize, Packet<'_>)>, CaptureError> {
        while let Some(i) = self.to_peek.pop() {
            let Some(r) = self.readers.get_mut(i) else {
                continue;
            };
            // A reader that failed is finished: later peeks return Ok(None).
            if let Some(ts) = r.peek_ts()? {
                self.heap.push(Reverse((ts, i)));
            }
        }
        let Some(Reverse((_, i))) = self.heap.pop() else {
            return Ok(None);
        };
        self.to_peek.push(i);
        let Some(r) = self.readers.get_mut(i) else {
            return Ok(None);
        };
        // The record was peeked, so this returns it without reading.
        Ok(r.next_packet()?.map(|p| (i, p)))
    }

    /// The readers, in the order given (for per-file statistics).
    pub fn readers(&self) -> &[CaptureReader] {
        &self.readers
    }

    /// Bytes consumed over all files.
    pub fn bytes_read(&self) -> u64 {
        self.readers.iter().map(CaptureReader::bytes_read).sum()
    }

    /// Total size of all files, when every one is a regular file.
    pub fn total_bytes(&self) -> Option<u64> {
        self.readers.iter().map(CaptureReader::total_bytes).sum()
    }
}
