//! Event JSON written once: the lines of consecutive events go into one zstd-compressed
//! block (a row of `event_blocks`), each event's narrow row (`event_rows`) names its block
//! and its line in it. Readers decompress a block once and keep the last few.
use rusqlite::functions::FunctionFlags;
use rusqlite::{params, Connection, OptionalExtension};
use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

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
}

impl BlockWriter {
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

    /// Compresses and writes the open block, if any (before every commit).
    pub(crate) fn close(&mut self, conn: &Connection) -> rusqlite::Result<()> {
        let Some(id) = self.id.take() else {
            return Ok(());
        };
        if self.compressor.is_none() {
            self.compressor = zstd::bulk::Compressor::new(LEVEL).ok();
        }
        let compressed = self
            .compressor
            .as_mut()
            .and_then(|c| c.compress(&self.buf).ok());
        // (Compression does not fail on valid input; if it did, the JSON stays as it is.)
        let (codec, data) = match &compressed {
            Some(c) => (ZSTD, c.as_slice()),
            None => (RAW, self.buf.as_slice()),
        };
        conn.prepare_cached(
            "UPDATE event_blocks SET first_row = ?1, last_row = ?2, codec = ?3, data = ?4 WHERE id = ?5",
        )?
        .execute(params![self.first_row, self.last_row, codec, data, id])?;
        let mut st =
            conn.prepare_cached("INSERT OR IGNORE INTO event_keys (key, block) VALUES (?1, ?2)")?;
        for k in self.keys.drain() {
            st.execute(params![k, id])?;
        }
        self.reset();
        Ok(())
    }

    /// Forgets the open block (its rows were rolled back).
    pub(crate) fn reset(&mut self) {
        self.id = None;
        self.count = 0;
        self.buf.clear();
        self.keys.clear();
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
