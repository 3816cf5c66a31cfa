//! Event JSON written once: the lines of consecutive events go into one zstd-compressed
//! block (a row of `event_blocks`), each event's narrow row (`event_rows`) names its block
//! and its line in it. Readers decompress a block once and keep the last few.
use rusqlite::functions::FunctionFlags;
use rusqlite::{params, Connection, OptionalExtension};
// hashbrown with its default foldhash (a per-process seed): SipHash was 4 % of the
// store thread, for keys that come from the analysed traffic all the same.
use hashbrown::HashSet;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::sync::Mutex;
use std::thread::JoinHandle;

/// Block `codec` values.
const RAW: i64 = 0;
const ZSTD: i64 = 1;
/// zstd level: the fastest; event JSON still shrinks about 17 times.
const LEVEL: i32 = 1;
/// A block closes at this many events or this much JSON, whichever comes first.
pub(crate) const MAX_EVENTS: usize = 4096;
const MAX_BYTES: usize = 4 << 20;
/// A block inflating past this is treated as corrupt (blocks close at `MAX_BYTES` plus
/// one line).
const MAX_INFLATED: usize = 64 << 20;
/// Decompressed blocks a reader keeps.
const CACHED: usize = 4;

/// The block being filled by the writing connection.
#[derive(Default)]
pub(crate) struct BlockWriter {
    /// Its `event_blocks` id (a placeholder row inserted when the block opened).
    id: Option<i64>,
    first_row: i64,
    last_row: i64,
    count: usize,
    /// The JSON lines, each ending in a newline.
    buf: Vec<u8>,
    /// Flow ids, addresses and flowless event ids of the block, for `event_keys`.
    keys: HashSet<String>,
    compressor: Option<zstd::bulk::Compressor<'static>>,
    /// Set: full blocks are compressed on a thread of their own (bulk analysis).
    background: Option<Background>,
}

/// A closed block, to be compressed and written.
struct Job {
    id: i64,
    first_row: i64,
    last_row: i64,
    buf: Vec<u8>,
    keys: HashSet<String>,
}

/// The compression thread: a block waits while it compresses the one before, so at
/// most two closed blocks (a few MiB each) are in flight; the writing connection writes
/// each compressed block when it closes the next one, and all of them before a commit.
struct Background {
    jobs: Option<SyncSender<Job>>,
    done: Receiver<(Job, Option<Vec<u8>>)>,
    thread: Option<JoinHandle<()>>,
    /// Jobs sent and not yet written.
    pending: usize,
    /// Emptied line buffers, for the next blocks.
    spare: Vec<Vec<u8>>,
}

impl Drop for Background {
    fn drop(&mut self) {
        self.jobs = None;
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn compressor() -> Option<zstd::bulk::Compressor<'static>> {
    zstd::bulk::Compressor::new(LEVEL).ok()
}

/// Writes a closed block: its data (zstd, or the JSON as it is if compression failed)
/// and its keys.
fn write_block(
    conn: &Connection,
    job: &mut Job,
    compressed: Option<&[u8]>,
) -> rusqlite::Result<()> {
    let (codec, data) = match compressed {
        Some(c) => (ZSTD, c),
        None => (RAW, job.buf.as_slice()),
    };
    conn.prepare_cached(
        "UPDATE event_blocks SET first_row = ?1, last_row = ?2, codec = ?3, data = ?4 WHERE id = ?5",
    )?
    .execute(params![job.first_row, job.last_row, codec, data, job.id])?;
    let mut st =
        conn.prepare_cached("INSERT OR IGNORE INTO event_keys (key, block) VALUES (?1, ?2)")?;
    for k in job.keys.drain() {
        st.execute(params![k, job.id])?;
    }
    Ok(())
}

impl BlockWriter {
    /// Compresses full blocks on a thread of their own from now on (bulk analysis: the
    /// writing thread goes on inserting rows meanwhile). Without it (or if the thread
    /// cannot start) blocks are compressed where they close.
    pub(crate) fn compress_in_background(&mut self) {
        if self.background.is_some() {
            return;
        }
        let (jobs, rx) = sync_channel::<Job>(0);
        let (give, done) = sync_channel::<(Job, Option<Vec<u8>>)>(2);
        let thread = std::thread::Builder::new()
            .name("sluice-zstd".into())
            .spawn(move || {
                let mut c = compressor();
                while let Ok(job) = rx.recv() {
                    // (Compression does not fail on valid input; if it did, the JSON
                    // is written as it is.)
                    let data = c.as_mut().and_then(|c| c.compress(&job.buf).ok());
                    if give.send((job, data)).is_err() {
                        break;
                    }
                }
            });
        if let Ok(t) = thread {
            self.background = Some(Background {
                jobs: Some(jobs),
                done,
                thread: Some(t),
                pending: 0,
                spare: Vec::new(),
            });
        }
    }

    /// The block the next event goes into (opening one if needed) and its line number.
    pub(crate) fn slot(
        &mut self,
        conn: &Connection,
        run: Option<i64>,
    ) -> rusqlite::Result<(i64, i64)> {
        let id = match self.id {
            Some(id) => id,
            None => {
                conn.prepare_cached(
                    "INSERT INTO event_blocks (run, first_row, last_row, codec, data) \
                     VALUES (?1, 0, 0, 1, x'')",
                )?
                .execute(params![run])?;
                let id = conn.last_insert_rowid();
                self.id = Some(id);
                id
            }
        };
        Ok((id, self.count as i64))
    }

    /// Records the event just inserted as row `row` with JSON `line` (UTF-8, checked when
    /// read back); closes the block when it is full.
    pub(crate) fn push(
        &mut self,
        conn: &Connection,
        row: i64,
        line: &[u8],
        keys: [Option<&str>; 3],
    ) -> rusqlite::Result<()> {
        if self.count == 0 {
            self.first_row = row;
        }
        self.last_row = row;
        self.count += 1;
        self.buf.extend_from_slice(line);
        self.buf.push(b'\n');
        for k in keys.into_iter().flatten() {
            if !self.keys.contains(k) {
                self.keys.insert(k.to_owned());
            }
        }
        if self.count >= MAX_EVENTS || self.buf.len() >= MAX_BYTES {
            self.close(conn)?;
        }
        Ok(())
    }

    /// Closes the open block, if any: compresses and writes it, or hands it to the
    /// compression thread (and writes the blocks it finished).
    fn close(&mut self, conn: &Connection) -> rusqlite::Result<()> {
        let Some(id) = self.id.take() else {
            return Ok(());
        };
        let next = match self.background.as_mut() {
            Some(b) => b.spare.pop().unwrap_or_default(),
            None => Vec::new(),
        };
        let mut job = Job {
            id,
            first_row: self.first_row,
            last_row: self.last_row,
            buf: std::mem::replace(&mut self.buf, next),
            keys: std::mem::take(&mut self.keys),
        };
        self.count = 0;
        if let Some(b) = self.background.as_mut() {
            if let Some(tx) = &b.jobs {
                match tx.send(job) {
                    Ok(()) => {
                        b.pending += 1;
                        return self.collect(conn, false);
                    }
                    // (The thread is gone: compress here.)
                    Err(e) => job = e.0,
                }
            }
        }
        if self.compressor.is_none() {
            self.compressor = compressor();
        }
        let compressed = self
            .compressor
            .as_mut()
            .and_then(|c| c.compress(&job.buf).ok());
        let r = write_block(conn, &mut job, compressed.as_deref());
        // Keep the line buffer and the key set (their room) for the next block.
        job.buf.clear();
        if self.buf.capacity() == 0 {
            self.buf = job.buf;
        }
        job.keys.clear();
        self.keys = job.keys;
        r
    }

    /// Writes the blocks the compression thread finished; with `all`, waits for every
    /// one sent.
    fn collect(&mut self, conn: &Connection, all: bool) -> rusqlite::Result<()> {
        let Some(b) = self.background.as_mut() else {
            return Ok(());
        };
        while b.pending > 0 {
            let next = if all {
                b.done.recv().ok()
            } else {
                b.done.try_recv().ok()
            };
            let Some((mut job, data)) = next else {
                if all {
                    // The thread is gone with blocks of this transaction: fail the
                    // commit rather than leave them empty.
                    return Err(rusqlite::Error::ToSqlConversionFailure(
                        "the event block compression thread stopped".into(),
                    ));
                }
                break;
            };
            b.pending -= 1;
            write_block(conn, &mut job, data.as_deref())?;
            if b.spare.len() < 2 {
                job.buf.clear();
                b.spare.push(job.buf);
            }
        }
        Ok(())
    }

    /// Closes the open block and writes every closed one (before every commit).
    pub(crate) fn finish(&mut self, conn: &Connection) -> rusqlite::Result<()> {
        self.close(conn)?;
        self.collect(conn, true)
    }

    /// Forgets the open block and the closed ones not yet written (their rows were
    /// rolled back).
    pub(crate) fn reset(&mut self) {
        self.id = None;
        self.count = 0;
        self.buf.clear();
        self.keys.clear();
        if let Some(b) = self.background.as_mut() {
            while b.pending > 0 {
                b.pending -= 1;
                if b.done.recv().is_err() {
                    b.pending = 0;
                }
            }
        }
    }
}

/// One decompressed block: its text and where each line starts.
struct Block {
    id: i64,
    text: Vec<u8>,
    starts: Vec<usize>,
}

impl Block {
    fn line(&self, seq: i64) -> Option<&str> {
        let i = usize::try_from(seq).ok()?;
        let start = *self.starts.get(i)?;
        // Every line ends in a newline, the last one too.
        let end = self
            .starts
            .get(i + 1)
            .copied()
            .unwrap_or(self.text.len())
            .saturating_sub(1);
        std::str::from_utf8(self.text.get(start..end)?).ok()
    }
}

/// Reads event JSON out of blocks, keeping the last few decompressed.
#[derive(Default)]
pub(crate) struct BlockReader {
    cache: Vec<Block>,
}

impl BlockReader {
    /// The JSON line `seq` of block `block`, or `None` when either is missing.
    pub(crate) fn line(
        &mut self,
        conn: &Connection,
        block: i64,
        seq: i64,
    ) -> rusqlite::Result<Option<String>> {
        if let Some(pos) = self.cache.iter().position(|b| b.id == block) {
            // Most recently used last.
            let b = self.cache.remove(pos);
            self.cache.push(b);
        } else {
            let Some(b) = load(conn, block)? else {
                return Ok(None);
            };
            if self.cache.len() >= CACHED {
                self.cache.remove(0);
            }
            self.cache.push(b);
        }
        Ok(self
            .cache
            .last()
            .and_then(|b| b.line(seq))
            .map(str::to_owned))
    }
}

fn load(conn: &Connection, block: i64) -> rusqlite::Result<Option<Block>> {
    let row = conn
        .prepare_cached("SELECT codec, data FROM event_blocks WHERE id = ?1")?
        .query_row(params![block], |r| {
            Ok((r.get::<_, i64>(0)?, r.get::<_, Vec<u8>>(1)?))
        })
        .optional()?;
    let Some((codec, data)) = row else {
        return Ok(None);
    };
    let text = match codec {
        RAW => data,
        ZSTD => {
            // A corrupt block reads as missing JSON, not as an error of the whole query;
            // nor does a block that would inflate past any block Sluice writes.
            use std::io::Read;
            let mut text = Vec::new();
            let read = zstd::stream::read::Decoder::new(data.as_slice())
                .and_then(|d| d.take(MAX_INFLATED as u64 + 1).read_to_end(&mut text));
            if read.is_err() || text.len() > MAX_INFLATED {
                return Ok(None);
            }
            text
        }
        _ => return Ok(None),
    };
    let mut starts = vec![0];
    starts.extend(
        text.iter()
            .enumerate()
            .filter(|(i, &c)| c == b'\n' && i + 1 < text.len())
            .map(|(i, _)| i + 1),
    );
    Ok(Some(Block {
        id: block,
        text,
        starts,
    }))
}

/// Registers `sluice_event_json(block, seq)` on `conn`, the function behind the `json`
/// column of the `events` view. It reads blocks through a connection of its own to the
/// same file (opened at first use), so it sees what is committed.
pub(crate) fn register_json_function(conn: &Connection, path: &Path) -> rusqlite::Result<()> {
    let path: PathBuf = path.to_path_buf();
    let state: Mutex<(Option<Connection>, BlockReader)> = Mutex::default();
    conn.create_scalar_function(
        "sluice_event_json",
        2,
        FunctionFlags::SQLITE_UTF8 | FunctionFlags::SQLITE_INNOCUOUS,
        move |ctx| {
            let (Ok(block), Ok(seq)) = (ctx.get::<i64>(0), ctx.get::<i64>(1)) else {
                return Ok(None);
            };
            let Ok(mut guard) = state.lock() else {
                return Ok(None);
            };
            let (own, reader) = &mut *guard;
            if own.is_none() {
                let c = Connection::open_with_flags(
                    &path,
                    rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY
                        | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
                )?;
                c.busy_timeout(std::time::Duration::from_secs(10))?;
                *own = Some(c);
            }
            match own.as_ref() {
                Some(c) => reader.line(c, block, seq),
                None => Ok(None),
            }
        },
    )
}
