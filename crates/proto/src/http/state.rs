//! HTTP/1.x flow state: per-direction message framing (heads buffered up to
//! [`MAX_HEAD`], bodies skipped by Content-Length or the chunked decoder, never
//! buffered), pipelined request/response pairing in order, resynchronisation after
//! gaps and garbage.
//!
//! A request waits in a queue; each final response takes the oldest one (1xx
//! informational responses other than 101 only note `info_code`). The transaction is
//! emitted when the response body ends (or at once when it has none); requests
//! without response are emitted at `finish()`, or when more than [`MAX_PENDING`]
//! wait. A 101 response or a 2xx answer to CONNECT switches both directions to
//! tunnel mode (nothing more is parsed).
//!
//! Every decision depends only on the bytes, never on how they were chunked.
use super::parser::{self, ChunkStep, Chunked, Head, MAX_HEAD};
use super::record::{Request, Response, Transaction};
use crate::{Anomaly, Direction, Identity, Output, Parser, Record, Side, Timestamp, Txn};
use std::collections::VecDeque;

/// Requests waiting for a response.
pub const MAX_PENDING: usize = 64;
/// Consecutive malformed messages that end HTTP parsing of a flow with no good one.
pub const MAX_BAD_UNCONFIRMED: u32 = 2;
/// Consecutive malformed messages that end HTTP parsing of a flow that had good ones.
pub const MAX_BAD_CONFIRMED: u32 = 16;
/// Bytes skipped while resynchronising a flow with no HTTP yet that count as one
/// more malformed message.
pub const SCAN_BUDGET: u64 = 4096;
/// Bytes of a line start examined to decide whether a message starts there.
const START_PEEK: usize = 16;

#[derive(Clone, Debug, PartialEq)]
enum Body {
    Length(u64),
    Chunked(Chunked),
    UntilClose,
}

#[derive(Clone, Debug, PartialEq)]
enum State {
    /// Reading a message head into `buf`.
    Head,
    Body(Body),
    /// Looking for the start of a message at a line start.
    Resync,
    /// Upgraded or CONNECTed: not HTTP any more.
    Tunnel,
}

struct Half {
    state: State,
    buf: Vec<u8>,
    /// Where the head terminator search resumes in `buf`.
    scanned: usize,
    /// The start line was checked.
    start_ok: bool,
    /// Resync: at the start of a line.
    line_start: bool,
    skipped: u64,
}

impl Default for Half {
    fn default() -> Self {
        Half {
            state: State::Head,
            buf: Vec::new(),
            scanned: 0,
            start_ok: false,
            line_start: true,
            skipped: 0,
        }
    }
}

struct Pending {
    seq: u64,
    ts: Timestamp,
    tx: Transaction,
    head: bool,
    connect: bool,
}

/// A response whose body is being read.
struct Current {
    ts: Timestamp,
    dir: Direction,
    tx: Transaction,
}

/// Is there the start of a message at the beginning of `b`?
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Start {
    Yes,
    No,
    NeedMore,
}

/// Does `b` begin like a request (`METHOD SP`) or a response (`HTTP/1.`)?
pub fn start(dir: Direction, b: &[u8]) -> Start {
    let b = match b.iter().position(|&c| c != b'\r' && c != b'\n') {
        Some(i) => b.get(i..).unwrap_or_default(),
        None => return Start::NeedMore,
    };
    match dir {
        Direction::ToServer => {
            let mut need = false;
            for m in parser::METHODS {
                if b.len() > m.len() {
                    if b.starts_with(m) && b.get(m.len()) == Some(&b' ') {
                        return Start::Yes;
                    }
                } else if m.starts_with(b) {
                    need = true;
                }
            }
            if need {
                Start::NeedMore
            } else {
                Start::No
            }
        }
        Direction::ToClient => {
            const P: &[u8] = b"HTTP/1.";
            if b.len() >= P.len() {
                if b.starts_with(P) {
                    Start::Yes
                } else {
                    Start::No
                }
            } else if P.starts_with(b) {
                Start::NeedMore
            } else {
                Start::No
            }
        }
    }
}

/// The HTTP parser of one flow.
pub struct HttpParser {
    halves: [Half; 2],
    pending: VecDeque<Pending>,
    /// The request whose body is being read.
    req_body: Option<u64>,
    current: Option<Current>,
    depth: u32,
    seq: u64,
    server_ident: Option<String>,
    confirmed: bool,
    bad_streak: u32,
    disabled: bool,
}

impl Default for HttpParser {
    fn default() -> Self {
        Self::new()
    }
}

fn anomaly(
    out: &mut Vec<Output>,
    ts: Timestamp,
    dir: Direction,
    kind: &'static str,
    message: String,
) {
    out.push(Output::Anomaly(Anomaly {
        ts,
        protocol: "http",
        kind,
        message,
        dir,
    }));
}

fn emit(
    out: &mut Vec<Output>,
    ts: Timestamp,
    ts_end: Option<Timestamp>,
    dir: Direction,
    tx: Transaction,
) {
    out.push(Output::Txn(Txn {
        ts,
        ts_end,
        dir,
        record: Record::Http(Box::new(tx)),
    }));
}

/// Body framing of a message from its head: checks Content-Length and
/// Transfer-Encoding, reporting ambiguities (request smuggling vectors).
fn framing(
    h: &Head<'_>,
    request: bool,
    ts: Timestamp,
    dir: Direction,
    out: &mut Vec<Output>,
) -> Option<Body> {
    let what = if request { "request" } else { "response" };
    let te: Vec<&[u8]> = h.all("transfer-encoding").collect();
    let cls: Vec<&[u8]> = h.all("content-length").collect();
    let mut cl = None;
    for v in &cls {
        // a list value "5, 5" is allowed when all equal
        for part in v.split(|&b| b == b',') {
            let part = part.trim_ascii();
            match parser::content_length(part) {
                Some(n) => match cl {
                    None => cl = Some(n),
                    Some(o) if o != n => {
                        anomaly(
                            out,
                            ts,
                            dir,
                            "conflicting_content_length",
                            format!("{what} has Content-Length values {o} and {n}"),
                        );
                    }
                    _ => {}
                },
                None => anomaly(
                    out,
                    ts,
                    dir,
                    "bad_content_length",
                    format!(
                        "{what} Content-Length {:?} is not a number",
                        String::from_utf8_lossy(part)
                    ),
                ),
            }
        }
    }
    if !te.is_empty() {
        if !cls.is_empty() {
            anomaly(
                out,
                ts,
                dir,
                "cl_te_conflict",
                format!("{what} has both Content-Length and Transfer-Encoding (request smuggling ambiguity); Transfer-Encoding wins"),
            );
        }
        if te.len() > 1 {
            anomaly(
                out,
                ts,
                dir,
                "multiple_transfer_encoding",
                format!("{what} has {} Transfer-Encoding headers", te.len()),
            );
        }
        let last = te.last().copied().unwrap_or_default();
        if parser::te_is_chunked(last) {
            return Some(Body::Chunked(Chunked::new()));
        }
        anomaly(
            out,
            ts,
            dir,
            "bad_transfer_encoding",
            format!(
                "{what} Transfer-Encoding {:?} does not end with chunked",
                String::from_utf8_lossy(last)
            ),
        );
        if !request {
            return Some(Body::UntilClose);
        }
    }
    match cl {
        Some(0) => None,
        Some(n) => Some(Body::Length(n)),
        None if request => None,
        None => Some(Body::UntilClose),
    }
}

impl HttpParser {
    pub fn new() -> HttpParser {
        HttpParser {
            halves: [Half::default(), Half::default()],
            pending: VecDeque::new(),
            req_body: None,
            current: None,
            depth: 0,
            seq: 0,
            server_ident: None,
            confirmed: false,
            bad_streak: 0,
            disabled: false,
        }
    }

    /// The parser gave up on the flow.
    pub fn is_disabled(&self) -> bool {
        self.disabled
    }

    fn half(&mut self, dir: Direction) -> &mut Half {
        let [a, b] = &mut self.halves;
        match dir {
            Direction::ToServer => a,
            Direction::ToClient => b,
        }
    }

    fn bad(&mut self, dir: Direction, ts: Timestamp, out: &mut Vec<Output>) {
        self.bad_streak += 1;
        let limit = if self.confirmed {
            MAX_BAD_CONFIRMED
        } else {
            MAX_BAD_UNCONFIRMED
        };
        if self.bad_streak >= limit {
            self.disabled = true;
            self.halves = [Half::default(), Half::default()];
            anomaly(
                out,
                ts,
                dir,
                "not_http",
                format!(
                    "{} consecutive malformed messages: no longer parsing this flow as HTTP",
                    self.bad_streak
                ),
            );
        }
    }

    /// Enters resynchronisation in `dir`, dropping any partial head.
    fn resync(&mut self, dir: Direction) {
        let h = self.half(dir);
        h.state = State::Resync;
        h.buf.clear();
        h.scanned = 0;
        h.start_ok = false;
        h.line_start = false;
        h.skipped = 0;
    }

    /// Back to reading heads.
    fn enter_head(&mut self, dir: Direction) {
        let h = self.half(dir);
        h.state = State::Head;
        h.buf.clear();
        h.scanned = 0;
        h.start_ok = false;
    }

    fn finish_response(&mut self, ts: Timestamp, out: &mut Vec<Output>) {
        if let Some(c) = self.current.take() {
            emit(out, c.ts, Some(ts), c.dir, c.tx);
        }
    }

    /// Feeds bytes of one direction.
    fn feed_dir(&mut self, dir: Direction, data: &[u8], ts: Timestamp, out: &mut Vec<Output>) {
        let mut used = 0usize;
        while used < data.len() && !self.disabled {
            let n = self.step(dir, data.get(used..).unwrap_or_default(), ts, out);
            if n == 0 {
                break;
            }
            used += n;
        }
    }

    /// Consumes a prefix of `input` in `dir`; returns the bytes consumed (> 0 unless
    /// `input` is empty).
    fn step(
        &mut self,
        dir: Direction,
        input: &[u8],
        ts: Timestamp,
        out: &mut Vec<Output>,
    ) -> usize {
        let state = self.half(dir).state.clone();
        match state {
            State::Tunnel => input.len(),
            State::Resync => self.step_resync(dir, input, ts, out),
            State::Head => self.step_head(dir, input, ts, out),
            State::Body(body) => self.step_body(dir, body, input, ts, out),
        }
    }

    /// Counts `n` skipped bytes; on a flow with no HTTP yet every [`SCAN_BUDGET`]
    /// bytes count as one more malformed message. Returns whether parsing stopped.
    fn skip(&mut self, dir: Direction, n: u64, ts: Timestamp, out: &mut Vec<Output>) -> bool {
        let h = self.half(dir);
        let before = h.skipped;
        h.skipped = h.skipped.saturating_add(n);
        let crossed = (h.skipped / SCAN_BUDGET).saturating_sub(before / SCAN_BUDGET);
        if !self.confirmed {
            for _ in 0..crossed {
                self.bad(dir, ts, out);
                if self.disabled {
                    return true;
                }
            }
        }
        false
    }

    fn step_resync(
        &mut self,
        dir: Direction,
        input: &[u8],
        ts: Timestamp,
        out: &mut Vec<Output>,
    ) -> usize {
        let mut used = 0usize;
        loop {
            if self.disabled {
                return input.len();
            }
            let h = self.half(dir);
            if !h.line_start {
                let rest = input.get(used..).unwrap_or_default();
                match rest.iter().position(|&b| b == b'\n') {
                    Some(p) => {
                        used += p + 1;
                        h.line_start = true;
                        self.skip(dir, (p + 1) as u64, ts, out);
                    }
                    None => {
                        self.skip(dir, rest.len() as u64, ts, out);
                        return input.len();
                    }
                }
                continue;
            }
            let decided = h.buf.len() >= START_PEEK || h.buf.contains(&b'\n');
            if !decided {
                let rest = input.get(used..).unwrap_or_default();
                if rest.is_empty() {
                    return used;
                }
                if h.buf.is_empty() {
                    // blank lines between messages
                    let blank = rest
                        .iter()
                        .take_while(|&&c| c == b'\r' || c == b'\n')
                        .count();
                    if blank > 0 {
                        used += blank;
                        self.skip(dir, blank as u64, ts, out);
                        continue;
                    }
                }
                let take = (START_PEEK - h.buf.len()).min(rest.len());
                h.buf
                    .extend_from_slice(rest.get(..take).unwrap_or_default());
                used += take;
                continue;
            }
            match start(dir, &h.buf) {
                Start::Yes => {
                    let blank = h
                        .buf
                        .iter()
                        .take_while(|&&c| c == b'\r' || c == b'\n')
                        .count();
                    let peeked = h.buf.get(blank..).unwrap_or_default().to_vec();
                    h.buf.clear();
                    let skipped = h.skipped + blank as u64;
                    h.state = State::Head;
                    h.scanned = 0;
                    h.start_ok = false;
                    // the peeked bytes go through the head reader like any others
                    let refeed =
                        |me: &mut Self, out: &mut Vec<Output>| me.feed_dir(dir, &peeked, ts, out);
                    if skipped > 0 {
                        anomaly(
                            out,
                            ts,
                            dir,
                            "resync",
                            format!(
                                "resynchronised on an HTTP message after skipping {skipped} bytes"
                            ),
                        );
                    }
                    refeed(self, out);
                    return used;
                }
                _ => {
                    let b = std::mem::take(&mut h.buf);
                    h.line_start = false;
                    // skip the first byte at least, then look for the next line
                    let n = match b.iter().position(|&c| c == b'\n') {
                        Some(p) => {
                            h.line_start = true;
                            h.buf = b.get(p + 1..).unwrap_or_default().to_vec();
                            p + 1
                        }
                        None => b.len(),
                    };
                    self.skip(dir, n as u64, ts, out);
                }
            }
        }
    }

    fn step_head(
        &mut self,
        dir: Direction,
        input: &[u8],
        ts: Timestamp,
        out: &mut Vec<Output>,
    ) -> usize {
        let h = self.half(dir);
        if h.buf.is_empty() {
            // empty lines before a message are ignored (RFC 9112 §2.2)
            let blank = input
                .iter()
                .take_while(|&&c| c == b'\r' || c == b'\n')
                .count();
            if blank > 0 {
                return blank;
            }
        }
        let old = h.buf.len();
        let room = MAX_HEAD.saturating_sub(old);
        let take = room.min(input.len());
        h.buf
            .extend_from_slice(input.get(..take).unwrap_or_default());
        if !h.start_ok {
            let decided = h.buf.len() >= START_PEEK
                || h.buf
                    .iter()
                    .skip_while(|&&c| c == b'\r' || c == b'\n')
                    .any(|&c| c == b'\n');
            match start(dir, &h.buf) {
                Start::Yes => h.start_ok = true,
                Start::NeedMore if !decided => return take,
                _ => {
                    let what = if dir == Direction::ToServer {
                        "request"
                    } else {
                        "response"
                    };
                    let first = h.buf.first().copied().unwrap_or(0);
                    anomaly(
                        out,
                        ts,
                        dir,
                        if dir == Direction::ToServer {
                            "bad_request_line"
                        } else {
                            "bad_status_line"
                        },
                        format!(
                            "data where an HTTP {what} should start (first byte 0x{first:02x})"
                        ),
                    );
                    // rescan the buffered bytes from their second byte
                    let b = std::mem::take(&mut h.buf);
                    self.resync(dir);
                    self.bad(dir, ts, out);
                    if self.disabled {
                        return input.len();
                    }
                    self.feed_dir(dir, b.get(1..).unwrap_or_default(), ts, out);
                    return take;
                }
            }
        }
        let h = self.half(dir);
        let from = h.scanned.saturating_sub(3);
        match parser::head_end(&h.buf, from) {
            Some(end) => {
                let buf = std::mem::take(&mut h.buf);
                h.scanned = 0;
                h.start_ok = false;
                let consumed = end.saturating_sub(old).min(take);
                let head_bytes = buf.get(..end).unwrap_or_default();
                self.head(dir, head_bytes, ts, out);
                // reuse the allocation
                let h = self.half(dir);
                if h.buf.is_empty() {
                    let mut b = buf;
                    b.clear();
                    h.buf = b;
                }
                consumed
            }
            None => {
                h.scanned = h.buf.len();
                if h.buf.len() >= MAX_HEAD {
                    anomaly(
                        out,
                        ts,
                        dir,
                        "head_too_long",
                        format!("HTTP message head longer than {MAX_HEAD} bytes"),
                    );
                    self.resync(dir);
                    self.bad(dir, ts, out);
                }
                take
            }
        }
    }

    fn step_body(
        &mut self,
        dir: Direction,
        body: Body,
        input: &[u8],
        ts: Timestamp,
        out: &mut Vec<Output>,
    ) -> usize {
        let (used, done, new_body) = match body {
            Body::Length(n) => {
                let take = (input.len() as u64).min(n);
                let left = n - take;
                (take as usize, left == 0, Body::Length(left))
            }
            Body::UntilClose => (input.len(), false, Body::UntilClose),
            Body::Chunked(mut c) => {
                let before = c.data_len;
                let r = c.feed(input);
                let data = c.data_len - before;
                match r {
                    ChunkStep::More => {
                        self.count_body(dir, data);
                        self.half(dir).state = State::Body(Body::Chunked(c));
                        return input.len();
                    }
                    ChunkStep::Done(n) => {
                        self.count_body(dir, data);
                        self.body_done(dir, ts, out);
                        return n;
                    }
                    ChunkStep::Err(n, e) => {
                        self.count_body(dir, data);
                        anomaly(out, ts, dir, e.kind(), e.to_string());
                        self.body_done(dir, ts, out);
                        self.resync(dir);
                        self.bad(dir, ts, out);
                        return n.max(1).min(input.len());
                    }
                }
            }
        };
        let data = match &new_body {
            Body::UntilClose => input.len() as u64,
            _ => used as u64,
        };
        self.count_body(dir, data);
        if done {
            self.body_done(dir, ts, out);
        } else {
            self.half(dir).state = State::Body(new_body);
        }
        used
    }

    fn count_body(&mut self, dir: Direction, n: u64) {
        match dir {
            Direction::ToServer => {
                if let Some(seq) = self.req_body {
                    if let Some(p) = self.pending.iter_mut().find(|p| p.seq == seq) {
                        if let Some(r) = p.tx.request.as_mut() {
                            r.body_len = r.body_len.saturating_add(n);
                        }
                    }
                }
            }
            Direction::ToClient => {
                if let Some(c) = self.current.as_mut() {
                    if let Some(r) = c.tx.response.as_mut() {
                        r.body_len = r.body_len.saturating_add(n);
                    }
                }
            }
        }
    }

    fn body_done(&mut self, dir: Direction, ts: Timestamp, out: &mut Vec<Output>) {
        self.enter_head(dir);
        match dir {
            Direction::ToServer => self.req_body = None,
            Direction::ToClient => self.finish_response(ts, out),
        }
    }

    /// A complete message head.
    fn head(&mut self, dir: Direction, bytes: &[u8], ts: Timestamp, out: &mut Vec<Output>) {
        let h = parser::head(bytes);
        for issue in &h.issues {
            anomaly(out, ts, dir, issue.kind(), issue.to_string());
        }
        match dir {
            Direction::ToServer => self.request(&h, ts, out),
            Direction::ToClient => self.response(&h, ts, out),
        }
    }

    fn request(&mut self, h: &Head<'_>, ts: Timestamp, out: &mut Vec<Output>) {
        let dir = Direction::ToServer;
        let line = match parser::request_line(h.start) {
            Ok(l) => l,
            Err(e) => {
                anomaly(out, ts, dir, e.kind(), e.to_string());
                self.bad(dir, ts, out);
                return;
            }
        };
        self.confirmed = true;
        self.bad_streak = 0;
        self.depth = self.depth.saturating_add(1);
        self.seq += 1;
        let tx = Transaction {
            trans_depth: self.depth,
            request: Some(Box::new(Request::from_head(&line, h))),
            ..Transaction::default()
        };
        if self.pending.len() >= MAX_PENDING {
            if let Some(old) = self.pending.pop_front() {
                emit(out, old.ts, None, dir, old.tx);
            }
        }
        self.pending.push_back(Pending {
            seq: self.seq,
            ts,
            tx,
            head: line.method == b"HEAD",
            connect: line.method == b"CONNECT",
        });
        match framing(h, true, ts, dir, out) {
            Some(b) => {
                self.req_body = Some(self.seq);
                self.half(dir).state = State::Body(b);
            }
            None => self.req_body = None,
        }
    }

    fn response(&mut self, h: &Head<'_>, ts: Timestamp, out: &mut Vec<Output>) {
        let dir = Direction::ToClient;
        let line = match parser::status_line(h.start) {
            Ok(l) => l,
            Err(e) => {
                anomaly(out, ts, dir, e.kind(), e.to_string());
                self.bad(dir, ts, out);
                return;
            }
        };
        self.confirmed = true;
        self.bad_streak = 0;
        let resp = Response::from_head(&line, h);
        if let Some(server) = resp.server.as_ref().filter(|s| !s.is_empty()) {
            if self.server_ident.as_ref() != Some(server) {
                self.server_ident = Some(server.clone());
                out.push(Output::Identity(Identity {
                    side: Some(Side::Server),
                    source: "http.server",
                    product: Some(server.clone()),
                    ..Identity::default()
                }));
            }
        }
        if (100..200).contains(&line.code) && line.code != 101 {
            if let Some(p) = self.pending.front_mut() {
                p.tx.info_code = Some(line.code);
            }
            return;
        }
        // A response while the previous one is still open (read until close).
        self.finish_response(ts, out);
        let (req_ts, rdir, mut tx, head, connect) = match self.pending.pop_front() {
            Some(p) => (p.ts, Direction::ToServer, p.tx, p.head, p.connect),
            None => (
                ts,
                Direction::ToClient,
                Transaction::default(),
                false,
                false,
            ),
        };
        tx.response = Some(Box::new(resp));
        let tunnel = line.code == 101 || (connect && (200..300).contains(&line.code));
        if tunnel {
            emit(out, req_ts, Some(ts), rdir, tx);
            for half in &mut self.halves {
                half.state = State::Tunnel;
                half.buf = Vec::new();
            }
            return;
        }
        let body = if head || line.code == 204 || line.code == 304 {
            None
        } else {
            framing(h, false, ts, dir, out)
        };
        match body {
            None => emit(out, req_ts, Some(ts), rdir, tx),
            Some(b) => {
                self.current = Some(Current {
                    ts: req_ts,
                    dir: rdir,
                    tx,
                });
                self.half(dir).state = State::Body(b);
            }
        }
    }
}

impl Parser for HttpParser {
    fn parse(&mut self, dir: Direction, data: &[u8], ts: Timestamp, out: &mut Vec<Output>) {
        self.feed_dir(dir, data, ts, out);
    }

    fn gap(&mut self, dir: Direction, len: u64, ts: Timestamp, out: &mut Vec<Output>) {
        if self.disabled {
            return;
        }
        let state = self.half(dir).state.clone();
        match state {
            State::Tunnel | State::Resync => {}
            State::Body(Body::UntilClose) => self.count_body(dir, len),
            State::Body(Body::Length(n)) if len <= n => {
                self.count_body(dir, len);
                if len == n {
                    self.body_done(dir, ts, out);
                } else {
                    self.half(dir).state = State::Body(Body::Length(n - len));
                }
            }
            State::Body(Body::Chunked(mut c)) if c.data_left().is_some_and(|l| len <= l) => {
                c.skip_data(len);
                self.count_body(dir, len);
                self.half(dir).state = State::Body(Body::Chunked(c));
            }
            _ => {
                anomaly(
                    out,
                    ts,
                    dir,
                    "gap",
                    format!("{len} bytes missing outside a body of known length: resynchronising"),
                );
                if matches!(state, State::Body(_)) && dir == Direction::ToClient {
                    self.finish_response(ts, out);
                }
                if dir == Direction::ToServer {
                    self.req_body = None;
                }
                self.resync(dir);
            }
        }
    }

    fn finish(&mut self, ts: Timestamp, out: &mut Vec<Output>) {
        if !self.disabled {
            for (i, h) in self.halves.iter().enumerate() {
                if h.state == State::Head && h.buf.iter().any(|c| !c.is_ascii_whitespace()) {
                    let dir = if i == 0 {
                        Direction::ToServer
                    } else {
                        Direction::ToClient
                    };
                    anomaly(
                        out,
                        ts,
                        dir,
                        "truncated",
                        format!("flow ended inside a message head ({} bytes)", h.buf.len()),
                    );
                }
            }
        }
        self.finish_response(ts, out);
        while let Some(p) = self.pending.pop_front() {
            emit(out, p.ts, None, Direction::ToServer, p.tx);
        }
        self.halves = [Half::default(), Half::default()];
    }
}
