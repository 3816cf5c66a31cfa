//! The DNP3 flow parser: link framing over a byte stream, transport reassembly,
//! request/response pairing and identity extraction.
use super::app::{self, Issue};
use super::link::{self, LinkError, LinkHeader, MAX_FRAME_LEN, MAX_USER_DATA};
use super::names;
use super::objects::Value;
use super::transport::Reassembler;
use super::Transaction;
use crate::{Anomaly, Direction, Identity, Output, Parser, Side, Timestamp, Transport, Txn};

/// Outstanding requests kept per flow; the oldest is emitted unanswered beyond.
const MAX_PENDING: usize = 16;
/// Points kept per transaction across the fragments of a multi-fragment response.
pub const MAX_TXN_POINTS: usize = 8192;
/// Object headers kept per transaction across response fragments.
const MAX_TXN_OBJECTS: usize = 2048;
/// SELECTs remembered (per master/outstation pair) to link the following OPERATE.
const MAX_SELECTS: usize = 4;

const PROTO: &str = "dnp3";

fn anomaly(
    out: &mut Vec<Output>,
    ts: Timestamp,
    dir: Direction,
    kind: &'static str,
    message: String,
) {
    out.push(Output::Anomaly(Anomaly {
        ts,
        protocol: PROTO,
        kind,
        message,
        dir,
    }));
}

fn dir_index(dir: Direction) -> usize {
    match dir {
        Direction::ToServer => 0,
        Direction::ToClient => 1,
    }
}

/// Partial link frame of one direction.
struct Stream {
    buf: [u8; MAX_FRAME_LEN],
    len: usize,
    /// Garbage is being skipped and was already reported.
    skipping: bool,
}

impl Stream {
    fn new() -> Stream {
        Stream {
            buf: [0; MAX_FRAME_LEN],
            len: 0,
            skipping: false,
        }
    }
}

struct Pending {
    master: u16,
    outstation: u16,
    seq: u8,
    ts: Timestamp,
    dir: Direction,
    txn: Transaction,
    /// The outstation answered with a Secure Authentication challenge (131): the
    /// master's authenticate request (32) and the final response follow with the
    /// same sequence number.
    challenged: bool,
}

/// A response whose first fragments arrived, waiting for the one with FIN.
struct Partial {
    master: u16,
    outstation: u16,
    next_seq: u8,
    ts: Timestamp,
    dir: Direction,
    txn: Transaction,
}

struct PendingLink {
    primary: u16,
    secondary: u16,
    ts: Timestamp,
    dir: Direction,
    txn: Transaction,
}

/// One application message (fragment) as seen by the parser, for tests and
/// diagnostics ([`Dnp3Parser::set_trace`]).
#[derive(Clone, Debug, PartialEq)]
pub struct Message {
    pub dir: Direction,
    pub ts: Timestamp,
    pub source: u16,
    pub destination: u16,
    /// Link control octet of the frame that completed the fragment.
    pub link_control: u8,
    /// Application control octet.
    pub control: u8,
    pub function_code: u8,
    pub iin: Option<u16>,
    pub objects: Vec<app::ObjectHeader>,
    pub points: Vec<super::objects::Point>,
}

/// Application-level state: pairing, SELECT memory, identity.
#[derive(Default)]
struct AppState {
    trace: Option<Vec<Message>>,
    pending: Vec<Pending>,
    partials: Vec<Partial>,
    link_pending: Option<PendingLink>,
    /// (source, destination) of the last confirmed-user-data frame: its link ACK
    /// is part of the data exchange and makes no transaction.
    data_ack: Option<(u16, u16)>,
    /// (master, outstation, object octets of the last SELECT)
    selects: Vec<(u16, u16, Vec<u8>)>,
    last_identity: Option<Identity>,
}

/// The DNP3 [`Parser`] of one flow.
pub struct Dnp3Parser {
    transport: Transport,
    streams: [Stream; 2],
    reasm: Reassembler,
    app: AppState,
    issues: Vec<Issue>,
}

impl Dnp3Parser {
    pub fn new(transport: Transport) -> Dnp3Parser {
        Dnp3Parser {
            transport,
            streams: [Stream::new(), Stream::new()],
            reasm: Reassembler::default(),
            app: AppState::default(),
            issues: Vec::new(),
        }
    }

    fn stream(&mut self, dir: Direction) -> &mut Stream {
        // dir_index is 0 or 1: both in bounds of the two-element array.
        let [a, b] = &mut self.streams;
        if dir_index(dir) == 0 {
            a
        } else {
            b
        }
    }

    /// Report skipped octets once per run of garbage.
    fn garbage(&mut self, dir: Direction, ts: Timestamp, out: &mut Vec<Output>) {
        let st = self.stream(dir);
        if !st.skipping {
            st.skipping = true;
            anomaly(
                out,
                ts,
                dir,
                "resync",
                "octets that do not start a DNP3 link frame skipped".into(),
            );
        }
    }

    fn header_error(&mut self, dir: Direction, e: LinkError, ts: Timestamp, out: &mut Vec<Output>) {
        let kind = match e {
            LinkError::BadHeaderCrc { .. } => "bad_crc",
            LinkError::BadLength(_) => "bad_length",
            _ => {
                self.garbage(dir, ts, out);
                return;
            }
        };
        // A bad header is reported by itself; what follows is a resync.
        self.stream(dir).skipping = true;
        anomaly(out, ts, dir, kind, format!("link header rejected: {e}"));
    }

    /// Frame octets in stream order: complete the partial frame, then scan.
    ///
    /// A partial frame is completed step by step (start octets, header, whole
    /// frame); when it proves false, the octets after its first one are scanned
    /// again (and may leave a new partial frame), so that the outcome does not
    /// depend on how the stream was cut.
    fn feed(&mut self, dir: Direction, mut data: &[u8], ts: Timestamp, out: &mut Vec<Output>) {
        loop {
            let st = self.stream(dir);
            if st.len == 0 {
                break;
            }
            let need = if st.len < 2 {
                2
            } else if st.len < link::HEADER_LEN {
                link::HEADER_LEN
            } else {
                link::frame_len(st.buf.get(2).copied().unwrap_or_default())
                    .unwrap_or(link::HEADER_LEN)
            };
            let want = need.saturating_sub(st.len).min(data.len());
            let (head, rest) = data.split_at(want);
            if let Some(dst) = st.buf.get_mut(st.len..st.len + want) {
                dst.copy_from_slice(head);
            }
            st.len += want;
            data = rest;
            if st.len < need {
                // All of `data` went into the partial frame.
                return;
            }
            let saved = st.buf;
            let n = st.len;
            if need == 2 {
                if saved.get(1) != Some(&link::START[1]) {
                    // The kept 0x05 was not a frame start after all.
                    self.stream(dir).len = 0;
                    self.garbage(dir, ts, out);
                    self.scan(dir, saved.get(1..n).unwrap_or_default(), ts, out);
                }
                continue;
            }
            if need == link::HEADER_LEN {
                match link::parse_header(saved.get(..link::HEADER_LEN).unwrap_or_default()) {
                    Ok(h) if h.frame_len() > link::HEADER_LEN => continue,
                    Ok(_) => {}
                    Err(e) => {
                        self.stream(dir).len = 0;
                        self.header_error(dir, e, ts, out);
                        // Rescan what followed the false start.
                        self.scan(dir, saved.get(1..n).unwrap_or_default(), ts, out);
                        continue;
                    }
                }
            }
            self.stream(dir).len = 0;
            self.frame(dir, saved.get(..n).unwrap_or_default(), ts, out);
        }
        self.scan(dir, data, ts, out);
    }

    /// Find and handle the frames of `data`; keep a trailing partial frame.
    fn scan(&mut self, dir: Direction, data: &[u8], ts: Timestamp, out: &mut Vec<Output>) {
        let mut i = 0usize;
        while i < data.len() {
            let rest = data.get(i..).unwrap_or_default();
            if rest.first() != Some(&link::START[0]) {
                self.garbage(dir, ts, out);
                // Jump to the next possible start octet.
                i += rest
                    .iter()
                    .position(|&b| b == link::START[0])
                    .unwrap_or(rest.len());
                continue;
            }
            match rest.get(1) {
                None => {
                    self.keep(dir, rest);
                    return;
                }
                Some(&b) if b != link::START[1] => {
                    self.garbage(dir, ts, out);
                    i += 1;
                    continue;
                }
                Some(_) => {}
            }
            if rest.len() < link::HEADER_LEN {
                self.keep(dir, rest);
                return;
            }
            let header = match link::parse_header(rest) {
                Ok(h) => h,
                Err(e) => {
                    self.header_error(dir, e, ts, out);
                    i += 1;
                    continue;
                }
            };
            let total = header.frame_len();
            match rest.get(..total) {
                Some(frame) => {
                    self.frame(dir, frame, ts, out);
                    i += total;
                }
                None => {
                    self.keep(dir, rest);
                    return;
                }
            }
        }
    }

    fn keep(&mut self, dir: Direction, rest: &[u8]) {
        let st = self.stream(dir);
        let n = rest.len().min(MAX_FRAME_LEN);
        if let (Some(dst), Some(src)) = (st.buf.get_mut(..n), rest.get(..n)) {
            dst.copy_from_slice(src);
            st.len = n;
        }
    }

    /// One frame with a valid header: check the data CRCs and pass it up.
    fn frame(&mut self, dir: Direction, frame: &[u8], ts: Timestamp, out: &mut Vec<Output>) {
        self.stream(dir).skipping = false;
        let mut user_buf = [0u8; MAX_USER_DATA];
        let (header, _, user) = match link::parse_frame(frame, &mut user_buf) {
            Ok(v) => v,
            Err(e) => {
                let kind = match e {
                    LinkError::BadDataCrc { .. } | LinkError::BadHeaderCrc { .. } => "bad_crc",
                    _ => "bad_length",
                };
                anomaly(out, ts, dir, kind, format!("link frame dropped: {e}"));
                return;
            }
        };
        if user.is_empty() {
            self.app.link_only(dir, &header, ts, out);
            return;
        }
        if header.prm() && header.function() == 3 {
            self.app.data_ack = Some((header.source, header.destination));
        }
        let key = (dir, header.source, header.destination);
        let fragment = self.reasm.push(key, user, &mut self.issues);
        if let Some(frag) = fragment {
            self.app.fragment(dir, &header, frag, ts, out);
        }
        for i in self.issues.drain(..) {
            anomaly(out, ts, dir, i.kind, i.message);
        }
    }

    /// Record every application message from now on (off by default).
    pub fn set_trace(&mut self, on: bool) {
        self.app.trace = if on { Some(Vec::new()) } else { None };
    }

    /// The messages recorded since the last call (empty when tracing is off).
    pub fn take_trace(&mut self) -> Vec<Message> {
        self.app
            .trace
            .as_mut()
            .map(std::mem::take)
            .unwrap_or_default()
    }

    /// Partial frames pending in `dir`, in octets.
    pub fn buffered(&self, dir: Direction) -> usize {
        self.streams.get(dir_index(dir)).map_or(0, |s| s.len)
    }
}

impl Parser for Dnp3Parser {
    fn parse(&mut self, dir: Direction, data: &[u8], ts: Timestamp, out: &mut Vec<Output>) {
        match self.transport {
            Transport::Tcp => self.feed(dir, data, ts, out),
            Transport::Udp => {
                // Each datagram stands alone.
                let st = self.stream(dir);
                st.len = 0;
                st.skipping = false;
                self.scan(dir, data, ts, out);
                let st = self.stream(dir);
                if st.len > 0 {
                    let n = st.len;
                    st.len = 0;
                    anomaly(
                        out,
                        ts,
                        dir,
                        "truncated",
                        format!("datagram ends inside a link frame ({n} octets dropped)"),
                    );
                }
            }
        }
    }

    fn gap(&mut self, dir: Direction, _len: u64, _ts: Timestamp, _out: &mut Vec<Output>) {
        let st = self.stream(dir);
        st.len = 0;
        st.skipping = false;
        self.reasm.reset(dir);
    }

    fn finish(&mut self, ts: Timestamp, out: &mut Vec<Output>) {
        for dir in [Direction::ToServer, Direction::ToClient] {
            let st = self.stream(dir);
            if st.len > 0 {
                let n = st.len;
                st.len = 0;
                anomaly(
                    out,
                    ts,
                    dir,
                    "truncated",
                    format!("flow ends inside a link frame ({n} octets dropped)"),
                );
            }
        }
        self.app.flush(out);
    }
}

// `.into()`: `Record::Dnp3` may hold the transaction boxed or not.
#[allow(clippy::useless_conversion)]
fn emit(
    out: &mut Vec<Output>,
    ts: Timestamp,
    ts_end: Option<Timestamp>,
    dir: Direction,
    txn: Transaction,
) {
    out.push(Output::Txn(Txn {
        ts,
        ts_end,
        dir,
        record: crate::Record::Dnp3(txn.into()),
    }));
}

/// Append `src` to `dst` without going past `max` elements; true if truncated.
fn append_bounded<T>(dst: &mut Vec<T>, src: Vec<T>, max: usize) -> bool {
    let room = max.saturating_sub(dst.len());
    let over = src.len() > room;
    dst.extend(src.into_iter().take(room));
    over
}

impl AppState {
    fn link_only(&mut self, dir: Direction, h: &LinkHeader, ts: Timestamp, out: &mut Vec<Output>) {
        let name = names::link_function_name(h.prm(), h.function());
        if h.prm() {
            if let Some(old) = self.link_pending.take() {
                emit(out, old.ts, None, old.dir, old.txn);
            }
            let mut txn = Transaction::app(0, h.source, h.destination, 0);
            txn.function_code = 0x100 | u16::from(h.control & 0x4F);
            txn.function = name;
            txn.sequence = None;
            txn.link_function = Some(name);
            txn.request = true;
            // Functions answered by a secondary frame wait for it.
            if matches!(h.function(), 0 | 1 | 2 | 3 | 9) {
                self.link_pending = Some(PendingLink {
                    primary: h.source,
                    secondary: h.destination,
                    ts,
                    dir,
                    txn,
                });
            } else {
                emit(out, ts, None, dir, txn);
            }
            return;
        }
        if h.function() == 0 && self.data_ack == Some((h.destination, h.source)) {
            self.data_ack = None;
            return;
        }
        match self.link_pending.take() {
            Some(mut p) if p.primary == h.destination && p.secondary == h.source => {
                p.txn.response = true;
                p.txn.response_link_function = Some(name);
                emit(out, p.ts, Some(ts), p.dir, p.txn);
            }
            other => {
                self.link_pending = other;
                let mut txn = Transaction::app(0, h.source, h.destination, 0);
                txn.function_code = 0x100 | u16::from(h.control & 0x4F);
                txn.function = name;
                txn.sequence = None;
                txn.link_function = Some(name);
                txn.response = true;
                emit(out, ts, None, dir, txn);
            }
        }
    }

    fn fragment(
        &mut self,
        dir: Direction,
        link: &LinkHeader,
        frag: &[u8],
        ts: Timestamp,
        out: &mut Vec<Output>,
    ) {
        let (h, body) = match app::parse_header(frag) {
            Ok(v) => v,
            Err(e) => {
                anomaly(out, ts, dir, "app_too_short", e.to_string());
                return;
            }
        };
        let fc = h.function_code;
        let objects = if names::is_known_function(fc) {
            app::parse_objects(fc, h.is_response(), body)
        } else {
            anomaly(
                out,
                ts,
                dir,
                "unknown_function",
                format!("unknown application function code {fc}"),
            );
            app::Objects::default()
        };
        for i in &objects.issues {
            anomaly(out, ts, dir, i.kind, i.message.clone());
        }
        if let Some(trace) = self.trace.as_mut() {
            trace.push(Message {
                dir,
                ts,
                source: link.source,
                destination: link.destination,
                link_control: link.control,
                control: h.control,
                function_code: fc,
                iin: h.iin,
                objects: objects.headers.clone(),
                points: objects.points.clone(),
            });
        }
        if h.is_response() {
            self.response(dir, link, &h, objects, ts, out);
        } else {
            self.request(dir, link, &h, body, objects, ts, out);
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn request(
        &mut self,
        dir: Direction,
        link: &LinkHeader,
        h: &app::AppHeader,
        body: &[u8],
        objects: app::Objects,
        ts: Timestamp,
        out: &mut Vec<Output>,
    ) {
        let fc = h.function_code;
        let (master, outstation) = (link.source, link.destination);
        let mut txn = Transaction::app(fc, master, outstation, h.seq());
        txn.request = true;
        txn.objects = objects.headers;
        txn.points = objects.points;
        match fc {
            3 => {
                self.selects
                    .retain(|(m, o, _)| !(*m == master && *o == outstation));
                if self.selects.len() >= MAX_SELECTS {
                    self.selects.remove(0);
                }
                self.selects.push((master, outstation, body.to_vec()));
            }
            4 => {
                if let Some(pos) = self
                    .selects
                    .iter()
                    .position(|(m, o, b)| *m == master && *o == outstation && b.as_slice() == body)
                {
                    self.selects.remove(pos);
                    txn.select_operate_linked = true;
                }
            }
            _ => {}
        }
        // No response expected: confirm, *_no_ack, broadcast.
        if matches!(fc, 0 | 6 | 8 | 10 | 12 | 33)
            || outstation >= 0xFFFD
            || !names::is_known_function(fc)
        {
            emit(out, ts, None, dir, txn);
            return;
        }
        if let Some(pos) = self
            .pending
            .iter()
            .position(|p| p.master == master && p.outstation == outstation && p.seq == h.seq())
        {
            if fc == 32 && self.pending.get(pos).is_some_and(|p| p.challenged) {
                // Answer to a challenge: the challenged request keeps waiting for
                // its real response.
                emit(out, ts, None, dir, txn);
                return;
            }
            let old = self.pending.remove(pos);
            emit(out, old.ts, None, old.dir, old.txn);
        }
        if self.pending.len() >= MAX_PENDING {
            let old = self.pending.remove(0);
            emit(out, old.ts, None, old.dir, old.txn);
        }
        self.pending.push(Pending {
            master,
            outstation,
            seq: h.seq(),
            ts,
            dir,
            txn,
            challenged: false,
        });
    }

    fn response(
        &mut self,
        dir: Direction,
        link: &LinkHeader,
        h: &app::AppHeader,
        objects: app::Objects,
        ts: Timestamp,
        out: &mut Vec<Output>,
    ) {
        let fc = h.function_code;
        let (master, outstation) = (link.destination, link.source);
        let side = if dir == Direction::ToClient {
            Side::Server
        } else {
            Side::Client
        };
        self.identity(side, &objects, out);
        if fc == 130 {
            let mut txn = Transaction::app(fc, outstation, master, h.seq());
            txn.unsolicited = true;
            txn.response = true;
            fill_response(&mut txn, h, objects);
            emit(out, ts, None, dir, txn);
            return;
        }
        if !h.fir() {
            // Continuation of a multi-fragment response.
            if let Some(pos) = self
                .partials
                .iter()
                .position(|p| p.master == master && p.outstation == outstation)
            {
                let mut p = self.partials.remove(pos);
                if p.next_seq == h.seq() {
                    let over_o = append_bounded(
                        &mut p.txn.response_objects,
                        objects.headers,
                        MAX_TXN_OBJECTS,
                    );
                    let over_p =
                        append_bounded(&mut p.txn.response_points, objects.points, MAX_TXN_POINTS);
                    if over_o || over_p {
                        anomaly(
                            out,
                            ts,
                            dir,
                            "too_many_points",
                            format!("response larger than {MAX_TXN_POINTS} points / {MAX_TXN_OBJECTS} headers: rest not kept"),
                        );
                    }
                    p.txn.iin = h.iin;
                    p.txn.iin_flags = super::IinFlags(h.iin.unwrap_or_default());
                    p.txn.response_fragments =
                        Some(p.txn.response_fragments.unwrap_or(1).saturating_add(1));
                    if h.fin() {
                        emit(out, p.ts, Some(ts), p.dir, p.txn);
                    } else {
                        p.next_seq = (h.seq() + 1) & 0x0F;
                        self.partials.push(p);
                    }
                    return;
                }
                // Out of sequence: emit what was gathered, treat this one alone.
                emit(out, p.ts, Some(ts), p.dir, p.txn);
            }
            let mut txn = Transaction::app(fc, outstation, master, h.seq());
            txn.response = true;
            fill_response(&mut txn, h, objects);
            emit(out, ts, None, dir, txn);
            return;
        }
        if fc == 131 {
            // Secure Authentication challenge: its own transaction; the challenged
            // request stays pending for the response that follows authentication.
            if let Some(p) = self
                .pending
                .iter_mut()
                .find(|p| p.master == master && p.outstation == outstation && p.seq == h.seq())
            {
                p.challenged = true;
            }
            let mut txn = Transaction::app(fc, outstation, master, h.seq());
            txn.response = true;
            fill_response(&mut txn, h, objects);
            emit(out, ts, None, dir, txn);
            return;
        }
        // First fragment of a response: a new partial replaces any older one.
        if let Some(pos) = self
            .partials
            .iter()
            .position(|p| p.master == master && p.outstation == outstation)
        {
            let old = self.partials.remove(pos);
            emit(out, old.ts, None, old.dir, old.txn);
        }
        let matched = self
            .pending
            .iter()
            .position(|p| p.master == master && p.outstation == outstation && p.seq == h.seq())
            .map(|pos| self.pending.remove(pos));
        let (mut txn, start_ts, start_dir) = match matched {
            Some(p) => (p.txn, p.ts, p.dir),
            None => (Transaction::app(fc, outstation, master, h.seq()), ts, dir),
        };
        txn.response = true;
        fill_response(&mut txn, h, objects);
        let ts_end = if txn.request { Some(ts) } else { None };
        if h.fin() {
            emit(out, start_ts, ts_end, start_dir, txn);
        } else {
            txn.response_fragments = Some(1);
            if self.partials.len() >= MAX_PENDING {
                let old = self.partials.remove(0);
                emit(out, old.ts, None, old.dir, old.txn);
            }
            self.partials.push(Partial {
                master,
                outstation,
                next_seq: (h.seq() + 1) & 0x0F,
                ts: start_ts,
                dir: start_dir,
                txn,
            });
        }
    }

    /// Device attributes (g0) of a response become an identity hint.
    fn identity(&mut self, side: Side, objects: &app::Objects, out: &mut Vec<Output>) {
        let mut id = Identity {
            side: Some(side),
            source: "dnp3.g0",
            ..Identity::default()
        };
        let mut device_id = None;
        for p in objects.points.iter().filter(|p| p.group == 0) {
            let Some(Value::Text(s)) = &p.value else {
                continue;
            };
            if s.is_empty() {
                continue;
            }
            let slot = match p.variation {
                252 => &mut id.vendor,
                250 => &mut id.product,
                242 => &mut id.firmware,
                248 => &mut id.serial,
                247 => &mut id.name,
                246 => &mut device_id,
                _ => continue,
            };
            *slot = Some(s.clone());
        }
        if id.name.is_none() {
            id.name = device_id;
        }
        let found = id.vendor.is_some()
            || id.product.is_some()
            || id.firmware.is_some()
            || id.serial.is_some()
            || id.name.is_some();
        if found && self.last_identity.as_ref() != Some(&id) {
            self.last_identity = Some(id.clone());
            out.push(Output::Identity(id));
        }
    }

    /// Flow end: everything still waiting is emitted.
    fn flush(&mut self, out: &mut Vec<Output>) {
        let mut rest: Vec<(Timestamp, Direction, Transaction)> = Vec::new();
        rest.extend(self.pending.drain(..).map(|p| (p.ts, p.dir, p.txn)));
        rest.extend(self.partials.drain(..).map(|p| (p.ts, p.dir, p.txn)));
        if let Some(l) = self.link_pending.take() {
            rest.push((l.ts, l.dir, l.txn));
        }
        rest.sort_by_key(|(ts, _, _)| *ts);
        for (ts, dir, txn) in rest {
            emit(out, ts, None, dir, txn);
        }
    }
}

/// Copy a response message's header and objects into its transaction.
fn fill_response(txn: &mut Transaction, h: &app::AppHeader, objects: app::Objects) {
    txn.response_function_code = Some(h.function_code);
    txn.response_function = Some(names::function_name(h.function_code));
    txn.iin = h.iin;
    txn.iin_flags = super::IinFlags(h.iin.unwrap_or_default());
    txn.response_objects = objects.headers;
    txn.response_points = objects.points;
}
