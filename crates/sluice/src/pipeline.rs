//! The pipeline shared by `analyze` and `sense`: the engine on the calling thread, a
//! writer thread for JSON lines and the store.
use anyhow::{Context, Result};
use sluice_engine::event::Event;
use sluice_engine::Engine;
use sluice_store::Store;
use std::io::Write;
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::thread::{self, JoinHandle};

/// Events handed to the writer thread per batch.
const BATCH: usize = 8192;

pub struct Sinks {
    pub store: Option<Store>,
    pub events: Option<Box<dyn Write + Send>>,
    /// Flush the events output after every batch (live mode).
    pub flush_each_batch: bool,
}

/// Writes batches: JSON lines and the store, each batch in one transaction.
fn writer_loop(rx: Receiver<Vec<Event>>, mut sinks: Sinks) -> (Sinks, Result<()>) {
    let mut result = Ok(());
    let mut json = Vec::with_capacity(BATCH);
    let mut line = Vec::with_capacity(64 * 1024);
    for batch in rx {
        if result.is_err() {
            continue; // drain so the producer never blocks
        }
        json.clear();
        if sinks.events.is_none() && sinks.store.is_none() {
            continue;
        }
        json.extend(batch.iter().map(Event::to_json));
        if let Some(out) = sinks.events.as_mut() {
            line.clear();
            for j in &json {
                line.extend_from_slice(j.as_bytes());
                line.push(b'\n');
            }
            let written = out.write_all(&line).and_then(|()| {
                if sinks.flush_each_batch {
                    out.flush()
                } else {
                    Ok(())
                }
            });
            if let Err(e) = written {
                result = Err(anyhow::Error::new(e).context("writing events"));
                continue;
            }
        }
        if let Some(store) = sinks.store.as_mut() {
            if let Err(e) = store.insert_events(&batch, &json) {
                result = Err(e.into());
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
    (sinks, result)
}

/// Engine plus writer thread.
pub struct Pipeline {
    pub engine: Engine,
    tx: Option<SyncSender<Vec<Event>>>,
    batch: Vec<Event>,
    writer: Option<JoinHandle<(Sinks, Result<()>)>>,
}

impl Pipeline {
    pub fn new(engine: Engine, sinks: Sinks) -> Result<Pipeline> {
        let (tx, rx) = sync_channel::<Vec<Event>>(8);
        let writer = thread::Builder::new()
            .name("sluice-writer".into())
            .spawn(move || writer_loop(rx, sinks))
            .context("cannot start the writer thread")?;
        Ok(Pipeline {
            engine,
            tx: Some(tx),
            batch: Vec::with_capacity(BATCH),
            writer: Some(writer),
        })
    }

    /// One frame.
    #[inline]
    pub fn packet(&mut self, ts: i64, linktype: u32, data: &[u8], orig_len: u32) {
        self.engine.packet(ts, linktype, data, orig_len);
        if self.engine.pending_events() >= 256 {
            self.batch.extend(self.engine.take_events());
            if self.batch.len() >= BATCH {
                self.send();
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

    /// Hands every pending event to the writer now (live mode: low latency).
    pub fn flush(&mut self) {
        self.batch.extend(self.engine.take_events());
        if !self.batch.is_empty() {
            self.send();
        }
    }

    /// Ends the flows, writes everything, and returns the sinks.
    pub fn finish(mut self) -> Result<(Engine, Sinks)> {
        self.engine.finish();
        self.flush();
        drop(self.tx.take());
        let writer = self.writer.take().context("writer already finished")?;
        let (sinks, result) = writer
            .join()
            .map_err(|_| anyhow::anyhow!("the writer thread failed"))?;
        result?;
        Ok((self.engine, sinks))
    }
}
