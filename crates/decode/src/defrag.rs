//! IPv4/IPv6 fragment reassembly with hard bounds on memory and time.
use crate::Fragment;
use std::collections::HashMap;
use std::net::IpAddr;

/// Largest datagram reassembled (IPv4 limit; IPv6 jumbograms are not fragmented).
const MAX_DATAGRAM: usize = 65_535;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
struct Key {
    src: IpAddr,
    dst: IpAddr,
    proto: u8,
    id: u32,
}

#[derive(Debug, Default)]
struct Pending {
    /// Reassembly buffer, grown as fragments arrive.
    data: Vec<u8>,
    /// Byte ranges received, sorted and merged.
    have: Vec<(u32, u32)>,
    /// Total length, once the last fragment arrived.
    total: Option<u32>,
    first_ts: i64,
}

/// Counters the sensor reports.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DefragStats {
    pub fragments: u64,
    pub reassembled: u64,
    /// Overlapping fragment bytes (first copy kept).
    pub overlaps: u64,
    /// Datagrams dropped: timeout, too large, or over the memory cap.
    pub dropped: u64,
}

/// Reassembles IP fragments.
pub struct Defragmenter {
    pending: HashMap<Key, Pending>,
    bytes: usize,
    max_bytes: usize,
    max_pending: usize,
    timeout_ns: i64,
    pub stats: DefragStats,
}

impl Default for Defragmenter {
    fn default() -> Self {
        Self::new(16 << 20, 4096, 30_000_000_000)
    }
}

impl Defragmenter {
    /// `max_bytes`: buffered bytes cap; `max_pending`: datagrams in progress cap;
    /// `timeout_ns`: a datagram not completed within this time is dropped.
    pub fn new(max_bytes: usize, max_pending: usize, timeout_ns: i64) -> Self {
        Defragmenter {
            pending: HashMap::new(),
            bytes: 0,
            max_bytes,
            max_pending,
            timeout_ns,
            stats: DefragStats::default(),
        }
    }

    /// Number of datagrams in progress.
    pub fn pending(&self) -> usize {
        self.pending.len()
    }

    /// Adds a fragment. Returns the whole transport-layer datagram when complete.
    pub fn add(
        &mut self,
        ts: i64,
        src: IpAddr,
        dst: IpAddr,
        proto: u8,
        frag: Fragment,
        payload: &[u8],
    ) -> Option<Vec<u8>> {
        self.stats.fragments += 1;
        let key = Key {
            src,
            dst,
            proto,
            id: frag.id,
        };
        let start = frag.offset as usize;
        let end = start.saturating_add(payload.len());
        if end > MAX_DATAGRAM {
            if let Some(p) = self.pending.remove(&key) {
                self.bytes = self.bytes.saturating_sub(p.data.capacity());
            }
            self.stats.dropped += 1;
            return None;
        }
        if !self.pending.contains_key(&key) {
            if self.pending.len() >= self.max_pending {
                self.expire(ts, true);
            }
            if self.pending.len() >= self.max_pending {
                self.stats.dropped += 1;
                return None;
            }
        }
        let grow = {
            let p = self.pending.entry(key).or_insert_with(|| Pending {
                first_ts: ts,
                ..Pending::default()
            });
            end.saturating_sub(p.data.len())
        };
        if self.bytes + grow > self.max_bytes {
            self.expire(ts, true);
            if self.bytes + grow > self.max_bytes {
                if let Some(p) = self.pending.remove(&key) {
                    self.bytes = self.bytes.saturating_sub(p.data.len());
                }
                self.stats.dropped += 1;
                return None;
            }
        }
        let p = self.pending.get_mut(&key)?;
        if p.data.len() < end {
            self.bytes += end - p.data.len();
            p.data.resize(end, 0);
        }
        // First copy wins: only fill bytes not yet received.
        let (s32, e32) = (start as u32, end as u32);
        let mut cur = s32;
        let mut overlap = 0u64;
        for &(hs, he) in &p.have {
            if he <= cur || hs >= e32 {
                continue;
            }
            if hs > cur {
                p.data[cur as usize..hs as usize]
                    .copy_from_slice(&payload[(cur - s32) as usize..(hs - s32) as usize]);
            }
            let ov_end = he.min(e32);
            overlap += u64::from(ov_end - hs.max(cur));
            cur = cur.max(ov_end);
        }
        if cur < e32 {
            p.data[cur as usize..end].copy_from_slice(&payload[(cur - s32) as usize..]);
        }
        self.stats.overlaps += overlap;
        p.have.push((s32, e32));
        p.have.sort_unstable();
        let mut merged: Vec<(u32, u32)> = Vec::with_capacity(p.have.len());
        for &(s, e) in &p.have {
            match merged.last_mut() {
                Some(last) if s <= last.1 => last.1 = last.1.max(e),
                _ => merged.push((s, e)),
            }
        }
        p.have = merged;
        if !frag.more {
            p.total = Some(e32);
        }
        let complete = match (p.total, p.have.first()) {
            (Some(t), Some(&(0, e))) => p.have.len() == 1 && e >= t,
            _ => false,
        };
        if complete {
            let mut done = self.pending.remove(&key)?;
            self.bytes = self.bytes.saturating_sub(done.data.len());
            if let Some(t) = done.total {
                done.data.truncate(t as usize);
            }
            self.stats.reassembled += 1;
            return Some(done.data);
        }
        None
    }

    /// Drops datagrams older than the timeout (or, with `force`, the oldest half).
    pub fn expire(&mut self, now: i64, force: bool) {
        let timeout = self.timeout_ns;
        let before = self.pending.len();
        let mut cutoff = now.saturating_sub(timeout);
        if force {
            let mut ts: Vec<i64> = self.pending.values().map(|p| p.first_ts).collect();
            ts.sort_unstable();
            if let Some(&median) = ts.get(ts.len() / 2) {
                cutoff = cutoff.max(median + 1);
            }
        }
        let mut freed = 0;
        self.pending.retain(|_, p| {
            let keep = p.first_ts >= cutoff;
            if !keep {
                freed += p.data.len();
            }
            keep
        });
        self.bytes = self.bytes.saturating_sub(freed);
        self.stats.dropped += (before - self.pending.len()) as u64;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    fn ip(a: u8) -> IpAddr {
        IpAddr::V4(Ipv4Addr::new(10, 0, 0, a))
    }

    #[test]
    fn reassembles_out_of_order_with_overlap_first_wins() {
        let mut d = Defragmenter::default();
        let f = |offset, more| Fragment {
            id: 7,
            offset,
            more,
        };
        assert!(d
            .add(0, ip(1), ip(2), 17, f(16, false), &[2u8; 8])
            .is_none());
        assert!(d.add(1, ip(1), ip(2), 17, f(8, true), &[9u8; 16]).is_none());
        let out = d.add(2, ip(1), ip(2), 17, f(0, true), &[1u8; 8]).unwrap();
        assert_eq!(out.len(), 24);
        assert_eq!(&out[..8], &[1u8; 8]);
        assert_eq!(&out[8..16], &[9u8; 8]);
        // Bytes 16..24 were received first as 2s: the later overlapping 9s lose.
        assert_eq!(&out[16..24], &[2u8; 8]);
        assert_eq!(d.stats.overlaps, 8);
        assert_eq!(d.pending(), 0);
    }

    #[test]
    fn bounds_pending_and_times_out() {
        let mut d = Defragmenter::new(1 << 20, 2, 1000);
        for id in 0..10 {
            let f = Fragment {
                id,
                offset: 0,
                more: true,
            };
            d.add(i64::from(id) * 10, ip(1), ip(2), 17, f, &[0u8; 8]);
            assert!(d.pending() <= 2);
        }
        d.expire(100_000, false);
        assert_eq!(d.pending(), 0);
        assert!(d.stats.dropped >= 8);
    }

    #[test]
    fn refuses_oversized() {
        let mut d = Defragmenter::default();
        let f = Fragment {
            id: 1,
            offset: 65_528,
            more: false,
        };
        assert!(d.add(0, ip(1), ip(2), 17, f, &[0u8; 64]).is_none());
        assert_eq!(d.stats.dropped, 1);
    }
}
