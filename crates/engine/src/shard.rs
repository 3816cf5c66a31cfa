//! Several engines on several threads: packets are dealt out by the pair of IP
//! addresses (both directions, all ports and fragments of a host pair land on the same
//! worker); non-IP frames go to worker 0 so layer-2 protocols see all their frames.
use crate::assets::{merge_snapshots, Asset};
use crate::event::{BatchPool, Event};
use crate::{Engine, EngineConfig, Stats};
use sluice_decode::{decode, Net};
use std::net::IpAddr;
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::thread::{self, JoinHandle};

/// Packets handed to a worker at once, at most; and at most this many bytes of frames (a
/// batch of full-size frames would hold 1.5 MB, and each worker has a few in flight).
const BATCH_PACKETS: usize = 1024;
const BATCH_BYTES: usize = 256 * 1024;
/// Events a worker gathers before it sends them on (the capacity of the pool's batches).
pub const EVENTS_PER_SEND: usize = 1024;
/// Flows ended per step at the end of the capture (see `Engine::finish_in_parts`).
pub const FLOWS_PER_FINISH: usize = 256;
/// Batches that may wait for each worker.
const WORKER_QUEUE: usize = 2;

#[derive(Default)]
struct Batch {
    data: Vec<u8>,
    /// (ts, linktype, orig_len, offset, len)
    packets: Vec<(i64, u32, u32, u32, u32)>,
}

impl Batch {
    /// Copies a frame in; true when the batch is full (`BATCH_PACKETS` frames or
    /// `BATCH_BYTES` of them) and must go to its worker.
    fn push(&mut self, ts: i64, linktype: u32, data: &[u8], orig_len: u32) -> bool {
        let off = self.data.len() as u32;
        self.data.extend_from_slice(data);
        self.packets
            .push((ts, linktype, orig_len, off, data.len() as u32));
        self.packets.len() >= BATCH_PACKETS || self.data.len() >= BATCH_BYTES
    }
}

/// The worker a frame belongs to.
pub fn shard_of(linktype: u32, frame: &[u8], workers: usize) -> usize {
    if workers <= 1 {
        return 0;
    }
    let Ok(d) = decode(linktype, frame) else {
        return 0;
    };
    let Net::Ip(ip) = &d.net else { return 0 };
    let (a, b) = if ip.src <= ip.dst {
        (ip.src, ip.dst)
    } else {
        (ip.dst, ip.src)
    };
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let mut feed = |ip: &IpAddr| {
        let bytes: [u8; 16] = match ip {
            IpAddr::V4(v) => v.to_ipv6_mapped().octets(),
            IpAddr::V6(v) => v.octets(),
        };
        for x in bytes {
            h ^= u64::from(x);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
    };
    feed(&a);
    feed(&b);
    h ^= u64::from(d.vlan_key());
    (mix(h) % workers as u64) as usize
}

/// Spreads every input bit over the low bits the worker index is taken from. FNV-1a's
/// lowest bit is the parity of its input bytes' lowest bits, so without this, with two
/// workers, every pair of hosts whose last octets agree (10.128.0.7 and 10.64.0.7, as
/// plants number their zones) went to the same worker. The constants are the 64-bit
/// finaliser of MurmurHash3.
fn mix(mut h: u64) -> u64 {
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^= h >> 33;
    h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    h ^ (h >> 33)
}

/// Engines on worker threads, sending their events to `out` in batches.
pub struct ShardedEngine {
    txs: Vec<SyncSender<Batch>>,
    handles: Vec<JoinHandle<Engine>>,
    pending: Vec<Batch>,
    free: Receiver<Batch>,
    recycle: SyncSender<Batch>,
    /// Last capture time seen (for anomalies reported by the reader).
    pub last_ts: Option<i64>,
}

impl ShardedEngine {
    /// Starts `workers` engine threads.
    pub fn new(
        cfg: EngineConfig,
        workers: usize,
        out: SyncSender<Vec<Event>>,
        pool: BatchPool,
    ) -> std::io::Result<Self> {
        let workers = workers.max(1);
        let (recycle, free) = sync_channel::<Batch>(workers * (WORKER_QUEUE + 1));
        let mut txs = Vec::new();
        let mut handles = Vec::new();
        for i in 0..workers {
            let (tx, rx) = sync_channel::<Batch>(WORKER_QUEUE);
            let out = out.clone();
            let back = recycle.clone();
            let pool = pool.clone();
            let h = thread::Builder::new()
                .name(format!("sluice-worker-{i}"))
                .spawn(move || worker(cfg, rx, out, back, pool))?;
            txs.push(tx);
            handles.push(h);
        }
        Ok(ShardedEngine {
            txs,
            handles,
            pending: (0..workers).map(|_| Batch::default()).collect(),
            free,
            recycle,
            last_ts: None,
        })
    }

    /// One frame (copied into the batch of its worker).
    pub fn packet(&mut self, ts: i64, linktype: u32, data: &[u8], orig_len: u32) {
        self.last_ts = Some(self.last_ts.map_or(ts, |l| l.max(ts)));
        let w = shard_of(linktype, data, self.txs.len());
        let Some(b) = self.pending.get_mut(w) else {
            return;
        };
        if b.push(ts, linktype, data, orig_len) {
            self.send(w);
        }
    }

    fn send(&mut self, w: usize) {
        let fresh = match self.free.try_recv() {
            Ok(mut b) => {
                b.data.clear();
                b.packets.clear();
                b
            }
            Err(_) => Batch::default(),
        };
        let Some(slot) = self.pending.get_mut(w) else {
            return;
        };
        let full = std::mem::replace(slot, fresh);
        if let Some(tx) = self.txs.get(w) {
            let _ = tx.send(full);
        }
    }

    /// Ends every worker; returns the merged counters and asset inventory.
    pub fn finish(mut self) -> (Stats, Vec<Asset>) {
        for w in 0..self.txs.len() {
            if self.pending.get(w).is_some_and(|b| !b.packets.is_empty()) {
                self.send(w);
            }
        }
        self.txs.clear();
        drop(self.recycle);
        let mut stats = Stats::default();
        let mut parts = Vec::new();
        for h in self.handles {
            if let Ok(mut e) = h.join() {
                stats.merge(&e.stats);
                parts.push(std::mem::take(&mut e.assets).into_snapshot());
            }
        }
        (stats, merge_snapshots(parts))
    }
}

fn worker(
    cfg: EngineConfig,
    rx: Receiver<Batch>,
    out: SyncSender<Vec<Event>>,
    back: SyncSender<Batch>,
    pool: BatchPool,
) -> Engine {
    let mut engine = Engine::new(cfg);
    let mut events = pool.take();
    for b in rx {
        for &(ts, lt, orig, off, len) in &b.packets {
            if let Some(frame) = b.data.get(off as usize..(off + len) as usize) {
                engine.packet(ts, lt, frame, orig);
            }
        }
        events.extend(engine.take_events());
        if events.len() >= EVENTS_PER_SEND {
            let _ = out.send(std::mem::replace(&mut events, pool.take()));
        }
        let _ = back.try_send(b);
    }
    // The flows left open end a few hundred at a time, their events sent on as they go.
    engine.finish_in_parts(|part| {
        events.extend(part);
        if events.len() >= EVENTS_PER_SEND {
            let _ = out.send(std::mem::replace(&mut events, pool.take()));
        }
    });
    if !events.is_empty() {
        let _ = out.send(events);
    }
    engine
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Ethernet, IPv4 and an empty UDP datagram between two addresses.
    fn udp_frame(src: [u8; 4], dst: [u8; 4]) -> Vec<u8> {
        let mut f = vec![0u8; 12];
        f.extend_from_slice(&[0x08, 0x00]);
        f.extend_from_slice(&[0x45, 0, 0, 28, 0, 0, 0x40, 0, 64, 17, 0, 0]);
        f.extend_from_slice(&src);
        f.extend_from_slice(&dst);
        f.extend_from_slice(&[0x9c, 0x40, 0x01, 0xf6, 0, 8, 0, 0]);
        f
    }

    /// Host pairs numbered alike in two zones (10.128.0.x talking to 10.64.0.x, as the
    /// benchmark capture and many plants number them) spread over the workers, and both
    /// directions of a pair land on the same one.
    #[test]
    fn host_pairs_numbered_alike_spread_over_the_workers() {
        for workers in [2usize, 3, 4] {
            let mut load = vec![0usize; workers];
            for x in 0..=255u8 {
                let (a, b) = ([10, 128, 0, x], [10, 64, 0, x]);
                let w = shard_of(1, &udp_frame(a, b), workers);
                assert_eq!(w, shard_of(1, &udp_frame(b, a), workers), "pair .{x}");
                load[w] += 1;
            }
            let fair = 256 / workers;
            for (w, n) in load.iter().enumerate() {
                assert!(
                    n * 4 >= fair * 3 && n * 4 <= fair * 5,
                    "{workers} workers: worker {w} got {n} of 256 pairs ({load:?})"
                );
            }
        }
        // Frames that are not IP go to worker 0.
        assert_eq!(shard_of(1, &[0u8; 10], 2), 0);
    }

    /// A batch of full-size frames goes at 256 KiB, not at 1,024 frames (1.5 MB): the
    /// frames in flight to the workers stay bounded.
    #[test]
    fn a_batch_is_full_at_its_byte_or_frame_cap() {
        let frame = [0u8; 1514];
        let mut b = Batch::default();
        let mut n = 0;
        while !b.push(n, 1, &frame, 1514) {
            n += 1;
        }
        assert_eq!(b.packets.len(), BATCH_BYTES.div_ceil(frame.len()));
        assert!(b.data.len() >= BATCH_BYTES && b.data.len() < BATCH_BYTES + frame.len());
        // Small frames fill it by count.
        let mut b = Batch::default();
        let mut n = 0;
        while !b.push(n, 1, &[0u8; 60], 60) {
            n += 1;
        }
        assert_eq!(b.packets.len(), BATCH_PACKETS);
        // Each frame is where its entry says.
        let (_, _, _, off, len) = b.packets[5];
        assert_eq!((off, len), (300, 60));
    }
}
