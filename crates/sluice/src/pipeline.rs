//! The pipeline shared by `analyze` and `sense`: the engine (on the calling thread, or
//! sharded over worker threads) and a writer thread that runs the event hook (e.g.
//! detection) and writes JSON lines and the store.
use anyhow::{Context, Result};
use sluice_engine::assets::Asset;
use sluice_engine::event::Event;
use sluice_engine::shard::ShardedEngine;
use sluice_engine::{Engine, EngineConfig, Stats};
use sluice_store::Store;
use std::io::Write;
use std::sync::mpsc::{sync_channel, Receiver, SyncSender, TryRecvError};
use std::thread::{self, JoinHandle};

/// Events handed to the writer thread per batch.
const BATCH: usize = 4096;
/// Batches that may wait for the writer (bounds the memory in flight).
const QUEUE: usize = 4;
/// Live batches (the events of one packet) that may wait for the writer.
const QUEUE_LIVE: usize = 16 * 1024;
/// Queued batches join one store transaction up to this many events: fewer, larger
/// transactions rewrite each index page fewer times.
const MAX_TXN: usize = 64 * 1024;

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

/// The writer's reusable buffers: every JSON line of a batch in one buffer.
#[derive(Default)]
struct Lines {
    buf: Vec<u8>,
    ends: Vec<usize>,
}

impl Lines {
    fn fill(&mut self, batch: &[Event]) {
        self.buf.clear();
        self.ends.clear();
        for e in batch {
            e.write_json(&mut self.buf);
            self.buf.push(b'\n');
            self.ends.push(self.buf.len());
        }
    }

    /// The JSON of each event (without its newline).
    fn each(&self) -> Vec<&str> {
        let mut out = Vec::with_capacity(self.ends.len());
        let mut start = 0;
        for &end in &self.ends {
            // serde_json writes UTF-8 only.
            out.push(std::str::from_utf8(&self.buf[start..end - 1]).unwrap_or("{}"));
            start = end;
        }
        out
    }
}

/// Writes one batch: the store, then JSON lines. Live (`flush_each_batch`), the store
/// commits before the lines leave, so a consumer that sees an event finds it stored.
fn write_batch(sinks: &mut Sinks, batch: &[Event], lines: &mut Lines) -> Result<()> {
    if sinks.events.is_none() && sinks.store.is_none() {
        return Ok(());
    }
    lines.fill(batch);
    if let Some(store) = sinks.store.as_mut() {
        store.insert_events(batch, &lines.each())?;
        if sinks.flush_each_batch {
            store.commit()?;
        }
    }
    if let Some(out) = sinks.events.as_mut() {
        out.write_all(&lines.buf).context("writing events")?;
        if sinks.flush_each_batch {
            out.flush().context("writing events")?;
        }
    }
    Ok(())
}

fn writer_loop(rx: Receiver<Vec<Event>>, mut sinks: Sinks) -> (Sinks, Result<()>) {
    let mut result = Ok(());
    let mut lines = Lines::default();
    let mut hook = sinks.hook.take();
    // Rows written since the last commit. Batches already queued join one store
    // transaction (bulk analysis: the writer is behind); it commits whenever the queue
    // runs dry, so live capture commits every batch and its latency is unchanged.
    let mut open_rows = 0usize;
    loop {
        let mut batch = match rx.try_recv() {
            Ok(b) => b,
            Err(TryRecvError::Empty) => {
                if open_rows > 0 && result.is_ok() {
                    result = commit(&mut sinks);
                    open_rows = 0;
                }
                match rx.recv() {
                    Ok(b) => b,
                    Err(_) => break,
                }
            }
            Err(TryRecvError::Disconnected) => break,
        };
        if result.is_err() {
            continue; // drain so the producers never block
        }
        if sinks.flush_each_batch {
            // Live: the small batches that queued while the last one was written go
            // out together, in one commit: the batching follows the load.
            while batch.len() < MAX_TXN {
                match rx.try_recv() {
                    Ok(more) => batch.extend(more),
                    Err(_) => break,
                }
            }
        }
        if let Some(h) = hook.as_mut() {
            h(&mut batch, false);
        }
        if let Some(store) = sinks.store.as_mut() {
            if open_rows == 0 {
                result = store.begin().map_err(anyhow::Error::from);
            }
        }
        if result.is_ok() {
            open_rows += batch.len().max(1);
            result = write_batch(&mut sinks, &batch, &mut lines);
        }
        if result.is_ok() && open_rows >= MAX_TXN {
            result = commit(&mut sinks);
            open_rows = 0;
        }
    }
    if result.is_ok() {
        if let Some(h) = hook.as_mut() {
            let mut last = Vec::new();
            h(&mut last, true);
            if !last.is_empty() {
                result = write_batch(&mut sinks, &last, &mut lines);
            }
        }
    }
    if result.is_ok() && open_rows > 0 {
        result = commit(&mut sinks);
    }
    if let Some(out) = sinks.events.as_mut() {
        if let Err(e) = out.flush() {
            if result.is_ok() {
                result = Err(anyhow::Error::new(e).context("writing events"));
            }
        }
    }
    sinks.hook = hook;
    (sinks, result)
}

/// Commits the store's open transaction.
fn commit(sinks: &mut Sinks) -> Result<()> {
    if let Some(store) = sinks.store.as_mut() {
        store.commit()?;
    }
    Ok(())
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
        let writer = thread::Builder::new()
            .name("sluice-writer".into())
            .spawn(move || writer_loop(rx, sinks))
            .context("cannot start the writer thread")?;
        let engines = if workers > 1 {
            Engines::Sharded(
                ShardedEngine::new(cfg, workers, tx.clone())
                    .context("cannot start the worker threads")?,
            )
        } else {
            Engines::One(Box::new(Engine::new(cfg)))
        };
        Ok(Pipeline {
            engines,
            tx: Some(tx),
            batch: Vec::with_capacity(BATCH),
            writer: Some(writer),
            // Anomalies not tied to a packet (corrupt captures) when sharded.
            loose: Engine::new(EngineConfig::default()),
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
        let full = std::mem::replace(&mut self.batch, Vec::with_capacity(BATCH));
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
            Engines::One(Box::new(Engine::new(EngineConfig::default()))),
        );
        let (mut stats, assets) = match engines {
            Engines::One(mut e) => {
                e.finish();
                self.batch.extend(e.take_events());
                let assets = e.assets.snapshot();
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
