//! The pipeline shared by `analyze` and `sense`: the engine (on the calling thread, or
//! sharded over worker threads), a writer thread that runs the event hook (e.g.
//! detection) and writes JSON lines, and a store thread behind it that writes the store.
//! Three stages: encoding the lines and inserting the rows no longer share one core.
use anyhow::{Context, Result};
use sluice_engine::assets::Asset;
use sluice_engine::event::{BatchPool, Event};
use sluice_engine::shard::ShardedEngine;
use sluice_engine::{Engine, EngineConfig, Stats};
use sluice_store::Store;
use std::io::Write;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender, TryRecvError};
use std::sync::Arc;
use std::thread::{self, JoinHandle};

/// Events handed to the writer thread per batch (as many as a worker sends at once).
const BATCH: usize = sluice_engine::shard::EVENTS_PER_SEND;
/// Emptied line buffers that may wait to go back from the store thread to the writer.
const SPARE_LINES: usize = 2;
/// Largest line buffer handed back (a bulk batch's lines take about 1 MiB).
const SPARE_LINES_BYTES: usize = 8 << 20;
/// Batches that may wait for the writer, and for the store thread, in bulk analysis. With
/// none (a hand-over) the three stages ran in lock step: each waited for the next one to
/// be ready, and over a quarter of both cores stayed idle on the 2M-packet bench capture. Two
/// let each stage run on through the others' bursts (4 runs each, interleaved: wall
/// 3.55-3.68 s against 3.77-3.98 s, 10 MiB more at the peak); six were no faster.
const QUEUE: usize = 2;
/// Live batches (the events of one packet) that may wait for the writer.
const QUEUE_LIVE: usize = 16 * 1024;
/// Live: while more events than this wait for the store thread, the writer hands it no
/// more (so at most this plus one writer batch, itself at most `MAX_TXN`, wait). A commit
/// can stall for tens of milliseconds; this covers about a second of a busy link. A
/// store that falls further behind holds the writer, then the engine, then the kernel
/// ring, whose drops are counted: the memory in flight stays bounded (test
/// `a_blocked_store_holds_the_live_writer_at_its_backlog_bound`).
const STORE_BACKLOG_LIVE: usize = 32 * 1024;
/// Events per store transaction, at most (in bulk analysis, exactly, but the last): fewer,
/// larger transactions rewrite each index page fewer times.
const MAX_TXN: usize = 64 * 1024;
/// Live, the store thread commits at most this often: the events of a busy link gather
/// into fewer, larger transactions and blocks, and the thread wakes, compresses and
/// writes less often beside the engine (on a small machine its bursts delayed alerts).
/// A quiet link's events are committed at once. `bench/latency.sh` (50k packets/s),
/// p99 of packet-proven alerts: committing whenever idle 7.6-10.6 ms (0 of 3 runs under
/// 5 ms), every 20 ms 2.3-5.4 ms (6 of 7), every 50 ms 9 of 12, every 200 ms 1 of 3.
const LIVE_COMMIT_EVERY: std::time::Duration = std::time::Duration::from_millis(20);

/// Sees every batch of events before it is written, in order, on the writer thread; may
/// append events (alerts). Called once more with an empty batch and `last = true` at the
/// end so that it can flush what it aggregated.
pub type Hook = Box<dyn FnMut(&mut Vec<Event>, bool) + Send>;

pub struct Sinks {
    pub store: Option<Store>,
    pub events: Option<Box<dyn Write + Send>>,
    /// Flush the events output after every batch (live mode).
    pub flush_each_batch: bool,
    /// Runs on every batch before it is written.
    pub hook: Option<Hook>,
}

/// JSON lines in one buffer.
#[derive(Default)]
struct Lines {
    buf: Vec<u8>,
    ends: Vec<usize>,
}

impl Lines {
    /// Appends the JSON line of every event of `batch`.
    fn push(&mut self, batch: &[Event]) {
        for e in batch {
            e.write_json(&mut self.buf);
            self.buf.push(b'\n');
            self.ends.push(self.buf.len());
        }
    }

    /// The JSON of each line (without its newline).
    fn each(&self) -> Vec<&[u8]> {
        let mut out = Vec::with_capacity(self.ends.len());
        let mut start = 0;
        for &end in &self.ends {
            out.push(&self.buf[start..end - 1]);
            start = end;
        }
        out
    }
}

fn writer_loop(rx: Receiver<Vec<Event>>, mut sinks: Sinks, pool: BatchPool) -> (Sinks, Result<()>) {
    let live = sinks.flush_each_batch;
    // Emptied line buffers come back from the store thread (allocated once, like the
    // event batches: see `BatchPool`).
    let (give_lines, spare_lines) = sync_channel::<Lines>(SPARE_LINES);
    let mut w = Writer {
        lines: Lines::default(),
        spare_lines,
        pool: pool.clone(),
        hook: sinks.hook.take(),
        store: None,
        backlog: Arc::new(AtomicUsize::new(0)),
        max_backlog: if live { STORE_BACKLOG_LIVE } else { usize::MAX },
    };
    let mut result = Ok(());
    if let Some(store) = sinks.store.take() {
        let queue = if live { QUEUE_LIVE } else { QUEUE };
        let (tx, srx) = sync_channel::<(Vec<Event>, Lines)>(queue);
        let backlog = Arc::clone(&w.backlog);
        match thread::Builder::new()
            .name("sluice-store".into())
            .spawn(move || {
                if live {
                    // Behind the engine and the writer: alerts first. (In bulk analysis
                    // the store is the slowest stage and keeps its share.)
                    sluice_store::background_priority();
                }
                store_loop(srx, store, &backlog, live, &pool, &give_lines)
            }) {
            Ok(h) => w.store = Some((tx, h)),
            Err(e) => result = Err(anyhow::Error::new(e).context("cannot start the store thread")),
        }
    }
    if result.is_ok() {
        result = w.run(&rx, &mut sinks);
    }
    // Drain, so that the producers never block on a failed writer.
    while rx.recv().is_ok() {}
    if result.is_ok() {
        if let Some(h) = w.hook.as_mut() {
            let mut last = Vec::new();
            h(&mut last, true);
            if !last.is_empty() {
                result = w.write(&mut sinks, last);
            }
        }
    }
    if let Some((tx, h)) = w.store.take() {
        drop(tx);
        match h.join() {
            Ok((store, r)) => {
                sinks.store = Some(store);
                if result.is_ok() {
                    result = r;
                }
            }
            Err(_) => {
                if result.is_ok() {
                    result = Err(anyhow::anyhow!("the store thread failed"));
                }
            }
        }
    }
    if let Some(out) = sinks.events.as_mut() {
        if let Err(e) = out.flush() {
            if result.is_ok() {
                result = Err(anyhow::Error::new(e).context("writing events"));
            }
        }
    }
    sinks.hook = w.hook;
    (sinks, result)
}

/// The store thread. Live, batches ready while it wrote the last one join one
/// transaction, committed whenever none is ready (the commit rate follows the load; at
/// most every `LIVE_COMMIT_EVERY`) or it holds `MAX_TXN` rows; in bulk analysis every
/// transaction holds `MAX_TXN` rows but the last. An interrupted run leaves only whole
/// transactions.
fn store_loop(
    rx: Receiver<(Vec<Event>, Lines)>,
    mut store: Store,
    backlog: &AtomicUsize,
    live: bool,
    pool: &BatchPool,
    give_lines: &SyncSender<Lines>,
) -> (Store, Result<()>) {
    let mut open_rows = 0usize;
    let mut result: Result<()> = Ok(());
    let mut last_commit: Option<std::time::Instant> = None;
    if !live {
        // Live commits are small and frequent: each would wait for its block anyway.
        store.compress_in_background();
    }
    loop {
        let (events, lines) = match rx.try_recv() {
            Ok(b) => b,
            Err(TryRecvError::Empty) => {
                // (Not while the backlog runs high: the writer would wait for room.)
                if live && open_rows > 0 && backlog.load(Ordering::Relaxed) < STORE_BACKLOG_LIVE / 4
                {
                    let wait = last_commit
                        .map(|t| LIVE_COMMIT_EVERY.saturating_sub(t.elapsed()))
                        .unwrap_or_default();
                    if !wait.is_zero() {
                        // More batches gather meanwhile (the backlog stays bounded).
                        thread::sleep(wait);
                        continue;
                    }
                }
                // Bulk analysis commits only full transactions (and the last one): how
                // often the next batch happens to be ready is no measure of the load
                // there, and each commit rewrites the index pages it touched.
                if live && open_rows > 0 && result.is_ok() {
                    result = store.commit().map_err(anyhow::Error::from);
                    last_commit = Some(std::time::Instant::now());
                    open_rows = 0;
                }
                match rx.recv() {
                    Ok(b) => b,
                    Err(_) => break,
                }
            }
            Err(TryRecvError::Disconnected) => break,
        };
        if result.is_ok() {
            if open_rows == 0 {
                result = store.begin().map_err(anyhow::Error::from);
            }
            if result.is_ok() {
                open_rows += events.len().max(1);
                result = store
                    .insert_events(&events, &lines.each())
                    .map_err(anyhow::Error::from);
            }
        }
        // (After an error the batches are only drained, so that the writer never blocks.)
        backlog.fetch_sub(events.len(), Ordering::Relaxed);
        pool.give(events);
        // (Not a buffer a burst of live batches grew past the usual size.)
        if lines.buf.capacity() <= SPARE_LINES_BYTES {
            let _ = give_lines.try_send(lines);
        }
        if result.is_ok() && open_rows >= MAX_TXN {
            result = store.commit().map_err(anyhow::Error::from);
            open_rows = 0;
        }
    }
    if result.is_ok() && open_rows > 0 {
        result = store.commit().map_err(anyhow::Error::from);
    }
    (store, result)
}

/// The writer thread's state.
struct Writer {
    lines: Lines,
    /// Emptied line buffers handed back by the store thread.
    spare_lines: Receiver<Lines>,
    /// Where emptied event batches go back to the engines.
    pool: BatchPool,
    hook: Option<Hook>,
    /// The store thread and its queue.
    store: Option<StoreThread>,
    /// Events handed to the store thread and not yet inserted.
    backlog: Arc<AtomicUsize>,
    max_backlog: usize,
}

type StoreThread = (
    SyncSender<(Vec<Event>, Lines)>,
    JoinHandle<(Store, Result<()>)>,
);

impl Writer {
    /// Every batch is judged (the hook), its JSON lines leave (flushed at once, live) and
    /// it goes on to the store thread. Live, the batches that queued meanwhile (the
    /// events of one packet each) go through together: the batching follows the load,
    /// and an alert never waits for a commit (one can stall for tens of milliseconds
    /// on a busy disk).
    fn run(&mut self, rx: &Receiver<Vec<Event>>, sinks: &mut Sinks) -> Result<()> {
        while let Ok(mut batch) = rx.recv() {
            if sinks.flush_each_batch {
                while batch.len() < MAX_TXN {
                    match rx.try_recv() {
                        Ok(more) => batch.extend(more),
                        Err(_) => break,
                    }
                }
            }
            if let Some(h) = self.hook.as_mut() {
                h(&mut batch, false);
            }
            self.write(sinks, batch)?;
        }
        Ok(())
    }

    /// Writes the JSON lines of `events` out and hands both to the store thread.
    fn write(&mut self, sinks: &mut Sinks, events: Vec<Event>) -> Result<()> {
        if sinks.events.is_none() && self.store.is_none() {
            self.pool.give(events);
            return Ok(());
        }
        self.lines.buf.clear();
        self.lines.ends.clear();
        self.lines.push(&events);
        if let Some(out) = sinks.events.as_mut() {
            out.write_all(&self.lines.buf).context("writing events")?;
            if sinks.flush_each_batch {
                out.flush().context("writing events")?;
            }
        }
        if let Some((tx, h)) = &self.store {
            while self.backlog.load(Ordering::Relaxed) > self.max_backlog && !h.is_finished() {
                thread::sleep(std::time::Duration::from_millis(1));
            }
            self.backlog.fetch_add(events.len(), Ordering::Relaxed);
            // A store thread that ended on an error reports it at the join.
            let spare = self.spare_lines.try_recv().unwrap_or_default();
            let _ = tx.send((events, std::mem::replace(&mut self.lines, spare)));
        } else {
            self.pool.give(events);
        }
        Ok(())
    }
}

/// The configuration of an engine that sees no packet (no room set aside for flows).
fn idle_config() -> EngineConfig {
    let mut cfg = EngineConfig::default();
    cfg.flows.max_flows = 1;
    cfg
}

enum Engines {
    One(Box<Engine>),
    Sharded(ShardedEngine),
}

/// What a finished pipeline hands back.
pub struct Finished {
    pub stats: Stats,
    pub assets: Vec<Asset>,
    pub sinks: Sinks,
}

/// Engine(s) plus writer thread.
pub struct Pipeline {
    engines: Engines,
    tx: Option<SyncSender<Vec<Event>>>,
    batch: Vec<Event>,
    /// Emptied batches, back from the last stage.
    pool: BatchPool,
    writer: Option<JoinHandle<(Sinks, Result<()>)>>,
    loose: Engine,
}

impl Pipeline {
    /// `workers` engine threads (1: the engine runs on the calling thread).
    pub fn new(cfg: EngineConfig, workers: usize, sinks: Sinks) -> Result<Pipeline> {
        // Live, a batch is the events of one packet: many may wait.
        let queue = if sinks.flush_each_batch {
            QUEUE_LIVE
        } else {
            QUEUE
        };
        let (tx, rx) = sync_channel::<Vec<Event>>(queue);
        let pool = BatchPool::new(BATCH);
        let writer_pool = pool.clone();
        let writer = thread::Builder::new()
            .name("sluice-writer".into())
            .spawn(move || writer_loop(rx, sinks, writer_pool))
            .context("cannot start the writer thread")?;
        let engines = if workers > 1 {
            Engines::Sharded(
                ShardedEngine::new(cfg, workers, tx.clone(), pool.clone())
                    .context("cannot start the worker threads")?,
            )
        } else {
            Engines::One(Box::new(Engine::new(cfg)))
        };
        Ok(Pipeline {
            engines,
            tx: Some(tx),
            batch: pool.take(),
            pool,
            writer: Some(writer),
            // Anomalies not tied to a packet (corrupt captures) when sharded.
            loose: Engine::new(idle_config()),
        })
    }

    /// One frame.
    #[inline]
    pub fn packet(&mut self, ts: i64, linktype: u32, data: &[u8], orig_len: u32) {
        match &mut self.engines {
            Engines::One(engine) => {
                engine.packet(ts, linktype, data, orig_len);
                if engine.pending_events() >= 256 {
                    self.batch.extend(engine.take_events());
                    if self.batch.len() >= BATCH {
                        self.send();
                    }
                }
            }
            Engines::Sharded(s) => s.packet(ts, linktype, data, orig_len),
        }
    }

    /// Events waiting to be handed to the writer.
    pub fn pending_events(&self) -> usize {
        match &self.engines {
            Engines::One(e) => e.pending_events() + self.batch.len(),
            Engines::Sharded(_) => self.batch.len(),
        }
    }

    /// Capture time of the latest packet.
    pub fn last_ts(&self) -> Option<i64> {
        match &self.engines {
            Engines::One(e) => e.stats.last_ts,
            Engines::Sharded(s) => s.last_ts,
        }
    }

    /// Records an anomaly not tied to a flow (e.g. a corrupt capture).
    pub fn anomaly(&mut self, kind: &'static str, message: String) {
        let ts = self.last_ts().unwrap_or(0);
        match &mut self.engines {
            Engines::One(e) => e.anomaly(ts, "capture", kind, message),
            Engines::Sharded(_) => {
                self.loose.anomaly(ts, "capture", kind, message);
                self.batch.extend(self.loose.take_events());
            }
        }
    }

    fn send(&mut self) {
        let full = std::mem::replace(&mut self.batch, self.pool.take());
        if let Some(tx) = &self.tx {
            // A failed writer reports its error at `finish`.
            let _ = tx.send(full);
        }
    }

    /// Advances the capture clock to `now` without a packet (live mode, quiet link), so
    /// that timeouts (an unanswered connection attempt, an idle flow) still end flows.
    pub fn advance(&mut self, now: i64) {
        if let Engines::One(e) = &mut self.engines {
            e.advance(now);
        }
    }

    /// Hands every pending event to the writer now (live mode: low latency).
    pub fn flush(&mut self) {
        if let Engines::One(e) = &mut self.engines {
            self.batch.extend(e.take_events());
        }
        if !self.batch.is_empty() {
            self.send();
        }
    }

    /// Ends the flows, writes everything, and returns counters, assets and sinks.
    pub fn finish(mut self) -> Result<Finished> {
        let engines = std::mem::replace(
            &mut self.engines,
            Engines::One(Box::new(Engine::new(idle_config()))),
        );
        let (mut stats, assets) = match engines {
            Engines::One(mut e) => {
                e.finish_in_parts(|part| {
                    self.batch.extend(part);
                    if self.batch.len() >= BATCH {
                        self.send();
                    }
                });
                let assets = std::mem::take(&mut e.assets).into_snapshot();
                (e.stats.clone(), assets)
            }
            Engines::Sharded(s) => s.finish(),
        };
        stats.anomalies += self.loose.stats.anomalies;
        self.flush();
        drop(self.tx.take());
        let writer = self.writer.take().context("writer already finished")?;
        let (sinks, result) = writer
            .join()
            .map_err(|_| anyhow::anyhow!("the writer thread failed"))?;
        result?;
        Ok(Finished {
            stats,
            assets,
            sinks,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sluice_synth::frame::{self, flags, Addrs, IpOpts, TcpHeader, L2};
    use std::net::{IpAddr, Ipv4Addr};

    /// Counts the JSON lines written to it.
    struct Count(Arc<AtomicUsize>);

    impl Write for Count {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            let lines = b.iter().filter(|&&c| c == b'\n').count();
            self.0.fetch_add(lines, Ordering::Relaxed);
            Ok(b.len())
        }

        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    /// One Modbus/TCP connection whose client pipelines `per` Read Holding Registers
    /// requests per segment and whose server answers them in one segment, `rounds`
    /// times: `rounds * per` transactions.
    fn modbus_frames(rounds: u32, per: u16) -> Vec<Vec<u8>> {
        let (c, s) = (Ipv4Addr::new(10, 0, 0, 1), Ipv4Addr::new(10, 0, 0, 2));
        let l2 = L2::new([2, 0, 0, 0, 0, 1], [2, 0, 0, 0, 0, 2]);
        let l2r = L2::new([2, 0, 0, 0, 0, 2], [2, 0, 0, 0, 0, 1]);
        let up = Addrs::new(IpAddr::V4(c), IpAddr::V4(s)).unwrap();
        let down = Addrs::new(IpAddr::V4(s), IpAddr::V4(c)).unwrap();
        let mut frames = Vec::new();
        let mut seg = |to_server: bool, seq: u32, ack: u32, fl: u8, payload: &[u8]| {
            let (src_port, dst_port) = if to_server {
                (50_000, 502)
            } else {
                (502, 50_000)
            };
            let h = TcpHeader {
                src_port,
                dst_port,
                seq,
                ack,
                flags: fl,
                window: 65_535,
                ..TcpHeader::default()
            };
            let (l, a) = if to_server { (&l2, &up) } else { (&l2r, &down) };
            let mut buf = Vec::new();
            frame::tcp_frame(&mut buf, l, a, &IpOpts::default(), &h, payload).unwrap();
            frames.push(buf);
        };
        let (mut cs, mut ss) = (1_000u32, 900_000u32);
        seg(true, cs, 0, flags::SYN, &[]);
        seg(false, ss, cs + 1, flags::SYN | flags::ACK, &[]);
        cs += 1;
        ss += 1;
        seg(true, cs, ss, flags::ACK, &[]);
        let mut tid = 0u16;
        for _ in 0..rounds {
            let (mut req, mut rsp) = (Vec::new(), Vec::new());
            for _ in 0..per {
                tid = tid.wrapping_add(1);
                let t = tid.to_be_bytes();
                req.extend_from_slice(&[t[0], t[1], 0, 0, 0, 6, 1, 3, 0, 10, 0, 1]);
                rsp.extend_from_slice(&[t[0], t[1], 0, 0, 0, 5, 1, 3, 2, 0, 42]);
            }
            seg(true, cs, ss, flags::PSH | flags::ACK, &req);
            cs += req.len() as u32;
            seg(false, ss, cs, flags::PSH | flags::ACK, &rsp);
            ss += rsp.len() as u32;
        }
        frames
    }

    /// Live sinks: the store, and the JSON lines into `events` if given.
    fn live_sinks(store: Store, events: Option<Box<dyn Write + Send>>) -> Sinks {
        Sinks {
            store: Some(store),
            events,
            flush_each_batch: true,
            hook: None,
        }
    }

    /// A one-worker pipeline on `sinks`, on a thread of its own, fed `frames` 1 µs apart
    /// (flushed after each packet when `flush`, as live capture does) and finished once
    /// `hold` says so (at once without it).
    fn feed_on_a_thread(
        sinks: Sinks,
        frames: Vec<Vec<u8>>,
        flush: bool,
        hold: Option<std::sync::mpsc::Receiver<()>>,
    ) -> JoinHandle<Result<Finished>> {
        thread::spawn(move || {
            let mut p = Pipeline::new(EngineConfig::default(), 1, sinks).unwrap();
            let t0 = 1_700_000_000_000_000_000i64;
            for (i, f) in frames.iter().enumerate() {
                p.packet(t0 + i as i64 * 1_000, 1, f, f.len() as u32);
                if flush {
                    p.flush();
                }
            }
            if let Some(h) = hold {
                let _ = h.recv();
            }
            p.finish()
        })
    }

    /// A new store in a temporary folder, and a second connection to it.
    fn store_and_another_connection() -> (tempfile::TempDir, Store, Store) {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("live.db");
        let store = Store::open(&db).unwrap();
        let other = Store::open(&db).unwrap();
        (dir, store, other)
    }

    /// The event rows the store holds.
    fn event_rows(store: &Store) -> i64 {
        store
            .conn()
            .query_row("SELECT count(*) FROM event_rows", [], |r| r.get(0))
            .unwrap()
    }

    /// Live, the store commits while the capture runs (every 20 ms at most, after a
    /// quiet moment), not only when it ends: another connection sees every transaction
    /// while the pipeline is still open. (Bulk analysis commits only full transactions
    /// and at the end; with that in live mode this test waits out its deadline and fails.)
    #[test]
    fn live_events_reach_the_store_while_the_capture_runs() {
        let (_dir, store, reader) = store_and_another_connection();
        let (rounds, per) = (20u32, 5u16);
        let total = i64::from(rounds) * i64::from(per);
        let frames = modbus_frames(rounds, per);
        // The capture stays open until the test has looked.
        let (end, ended) = std::sync::mpsc::channel::<()>();
        let feeder = feed_on_a_thread(live_sinks(store, None), frames, true, Some(ended));
        // (A generous deadline: it bounds a hang, not the cadence.)
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        let mut seen = event_rows(&reader);
        while seen < total && std::time::Instant::now() < deadline {
            thread::sleep(std::time::Duration::from_millis(10));
            seen = event_rows(&reader);
        }
        end.send(()).unwrap();
        let finished = feeder.join().unwrap().unwrap();
        assert_eq!(
            seen, total,
            "transactions committed while the capture was open"
        );
        assert_eq!(event_rows(&finished.sinks.store.unwrap()), total);
    }

    /// Live, a store that cannot write (another connection holds the write lock) holds
    /// the writer once `STORE_BACKLOG_LIVE` events wait for it: the lines written stay
    /// bounded however many more events the engine has, and once the lock goes every
    /// event is stored.
    #[test]
    fn a_blocked_store_holds_the_live_writer_at_its_backlog_bound() {
        let (_dir, store, blocker) = store_and_another_connection();
        blocker.conn().execute_batch("BEGIN IMMEDIATE").unwrap();

        let (rounds, per) = (5_000u32, 50u16);
        let total = rounds as usize * usize::from(per);
        assert!(total > STORE_BACKLOG_LIVE + 2 * MAX_TXN);
        let frames = modbus_frames(rounds, per);
        let lines = Arc::new(AtomicUsize::new(0));
        let sinks = live_sinks(store, Some(Box::new(Count(Arc::clone(&lines)))));
        let feeder = feed_on_a_thread(sinks, frames, false, None);
        // The engine runs on while the writer waits: wait until the lines stop growing
        // past the bound (or reach the total, if nothing held the writer), well within
        // the store's 10 s busy timeout.
        let start = std::time::Instant::now();
        let (mut last, mut since) = (0, std::time::Instant::now());
        while start.elapsed() < std::time::Duration::from_secs(8) {
            thread::sleep(std::time::Duration::from_millis(20));
            let n = lines.load(Ordering::Relaxed);
            if n >= total {
                break;
            }
            if n != last {
                (last, since) = (n, std::time::Instant::now());
            } else if n >= STORE_BACKLOG_LIVE
                && since.elapsed() > std::time::Duration::from_millis(500)
            {
                break;
            }
        }
        let held = lines.load(Ordering::Relaxed);
        blocker.conn().execute_batch("ROLLBACK").unwrap();
        let finished = feeder.join().unwrap().unwrap();
        // The writer waits before handing a batch on, after writing its lines: at most
        // the bound, the batch that crossed it and the one being written (live, a
        // writer batch merges at most MAX_TXN events).
        assert!(
            (STORE_BACKLOG_LIVE..=STORE_BACKLOG_LIVE + 2 * MAX_TXN).contains(&held),
            "{held} lines written while the store was blocked"
        );
        println!("{held} of {total} lines written while the store was blocked");
        // Every transaction, and the connection's flow record at the end.
        assert_eq!(lines.load(Ordering::Relaxed), total + 1);
        assert_eq!(
            event_rows(&finished.sinks.store.unwrap()) as usize,
            total,
            "every event stored once the lock went"
        );
    }
}
