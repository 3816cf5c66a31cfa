//! Per-flow MMS state: TPKT framing with resynchronisation, COTP reassembly, the
//! upper layers, and request/response pairing.
use super::ber;
use super::iso::{self, AcseKind, Cotp, SessionKind};
use super::pdu::{self, Pdu};
use super::record::{Association, Initiate, Transaction};
use crate::{Anomaly, Direction, Identity, Output, Parser, Record, Side, Timestamp, Txn};
use std::collections::VecDeque;

/// Most octets of one TSDU (reassembled COTP data) decoded.
pub const MAX_TSDU: usize = 256 * 1024;
/// Most requests waiting for their answer.
pub const MAX_PENDING: usize = 64;
/// Bad units in a row tolerated before a valid one was seen.
const MAX_BAD_UNCONFIRMED: u32 = 4;
/// Bad units in a row tolerated once the flow was seen to be MMS.
const MAX_BAD_CONFIRMED: u32 = 32;
/// Octets skipped while resynchronising that count as one more bad unit.
const SCAN_BUDGET: usize = 512;

#[derive(Default)]
struct Half {
    /// An incomplete TPKT (or the bytes being scanned).
    buf: Vec<u8>,
    scanning: bool,
    skipped: usize,
    budget: usize,
    /// COTP data of the current TSDU (before EOT).
    tsdu: Vec<u8>,
    /// The current TSDU outgrew [`MAX_TSDU`]: drop it up to EOT.
    dropping: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Key {
    /// Confirmed request: the direction it travelled in and its invoke id.
    Confirmed(Direction, u32),
    Initiate,
    Conclude,
    Cancel(u32),
    Release,
}

struct Pending {
    key: Key,
    dir: Direction,
    ts: Timestamp,
    tx: Transaction,
}

/// The MMS parser of one flow.
pub struct MmsParser {
    halves: [Half; 2],
    pending: VecDeque<Pending>,
    /// A valid TPKT/COTP unit was seen.
    confirmed: bool,
    bad_streak: u32,
    disabled: bool,
    /// Presentation contexts of the last connect.
    contexts: Vec<String>,
}

impl Default for MmsParser {
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
        protocol: "mms",
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
        record: Record::Mms(Box::new(tx)),
    }));
}

/// Is `b` the start of a TPKT + COTP header worth resynchronising on?
/// `None` while fewer than six octets are there.
fn plausible_start(b: &[u8]) -> Option<bool> {
    let h = b.get(..6)?;
    let len = usize::from(u16::from_be_bytes([h[2], h[3]]));
    let li = usize::from(h[4]);
    Some(
        h[0] == 3
            && h[1] == 0
            && len >= 7
            && li >= 1
            && li < len - 4
            && matches!(h[5] & 0xf0, 0xf0 | 0xe0 | 0xd0 | 0x80 | 0xc0 | 0x70),
    )
}

/// Fills the absent fields of `into` from `from`.
fn merge(into: &mut Association, from: Association) {
    macro_rules! take {
        ($($f:ident),*) => { $( if into.$f.is_none() { into.$f = from.$f; } )* };
    }
    take!(
        application_context,
        calling_ap_title,
        calling_ae_qualifier,
        called_ap_title,
        called_ae_qualifier,
        responding_ap_title,
        responding_ae_qualifier,
        result,
        diagnostic,
        authentication_mechanism,
        reason
    );
    into.password_present |= from.password_present;
    if into.presentation_contexts.is_empty() {
        into.presentation_contexts = from.presentation_contexts;
    }
}

impl MmsParser {
    pub fn new() -> MmsParser {
        MmsParser {
            halves: [Half::default(), Half::default()],
            pending: VecDeque::new(),
            confirmed: false,
            bad_streak: 0,
            disabled: false,
            contexts: Vec::new(),
        }
    }

    /// The parser gave up on the flow (not MMS).
    pub fn is_disabled(&self) -> bool {
        self.disabled
    }

    /// Requests waiting for their answer.
    pub fn pending(&self) -> usize {
        self.pending.len()
    }

    fn half(&mut self, dir: Direction) -> &mut Half {
        let [a, b] = &mut self.halves;
        match dir {
            Direction::ToServer => a,
            Direction::ToClient => b,
        }
    }

    fn good(&mut self) {
        self.confirmed = true;
        self.bad_streak = 0;
    }

    fn bad(&mut self, dir: Direction, ts: Timestamp, out: &mut Vec<Output>) {
        self.bad_streak = self.bad_streak.saturating_add(1);
        let limit = if self.confirmed {
            MAX_BAD_CONFIRMED
        } else {
            MAX_BAD_UNCONFIRMED
        };
        if self.bad_streak >= limit {
            self.disabled = true;
            for h in &mut self.halves {
                *h = Half::default();
            }
            anomaly(
                out,
                ts,
                dir,
                "not_mms",
                format!(
                    "{} consecutive malformed TPKT/COTP units{}: no longer parsing this flow as MMS",
                    self.bad_streak,
                    if self.confirmed { "" } else { " and no valid one" }
                ),
            );
        }
    }

    /// One decision at the start of `bytes`; returns the octets consumed (0: more
    /// are needed).
    fn step(
        &mut self,
        dir: Direction,
        bytes: &[u8],
        ts: Timestamp,
        out: &mut Vec<Output>,
    ) -> usize {
        if self.half(dir).scanning {
            let mut i = 0;
            loop {
                match bytes.get(i..).and_then(plausible_start) {
                    None => {
                        // Not enough octets to decide at `i`: consume what was skipped.
                        let h = self.half(dir);
                        h.skipped += i;
                        h.budget += i;
                        let over = h.budget >= SCAN_BUDGET;
                        if over {
                            h.budget = 0;
                            self.bad(dir, ts, out);
                        }
                        return i;
                    }
                    Some(false) => {
                        i += 1;
                        let h = self.half(dir);
                        if h.budget + i >= SCAN_BUDGET {
                            h.skipped += i;
                            h.budget = 0;
                            self.bad(dir, ts, out);
                            return i;
                        }
                    }
                    Some(true) => {
                        let h = self.half(dir);
                        h.scanning = false;
                        let skipped = std::mem::take(&mut h.skipped) + i;
                        h.budget = 0;
                        anomaly(
                            out,
                            ts,
                            dir,
                            "resync",
                            format!(
                                "resynchronised on a TPKT header after skipping {skipped} octets"
                            ),
                        );
                        if i > 0 {
                            return i;
                        }
                        break;
                    }
                }
            }
        }
        match iso::tpkt_len(bytes) {
            Ok(None) => 0,
            Err(e) => {
                anomaly(out, ts, dir, e.kind(), e.to_string());
                let h = self.half(dir);
                h.scanning = true;
                h.skipped = 1;
                h.budget = 1;
                self.bad(dir, ts, out);
                1
            }
            Ok(Some(n)) => match bytes.get(..n) {
                None => 0,
                Some(frame) => {
                    self.frame(dir, frame, ts, out);
                    n
                }
            },
        }
    }

    /// Decides on `bytes` until more are needed; returns the octets consumed.
    fn run(&mut self, dir: Direction, bytes: &[u8], ts: Timestamp, out: &mut Vec<Output>) -> usize {
        let mut pos = 0;
        while !self.disabled && pos < bytes.len() {
            let n = self.step(dir, bytes.get(pos..).unwrap_or_default(), ts, out);
            if n == 0 {
                break;
            }
            pos += n;
        }
        pos
    }

    /// One whole TPKT.
    fn frame(&mut self, dir: Direction, frame: &[u8], ts: Timestamp, out: &mut Vec<Output>) {
        let tpdu = frame.get(iso::TPKT_HEADER..).unwrap_or_default();
        match iso::cotp(tpdu) {
            Err(e) => {
                anomaly(out, ts, dir, e.kind(), e.to_string());
                self.bad(dir, ts, out);
            }
            Ok(Cotp::Data { eot, payload }) => {
                self.good();
                let h = self.half(dir);
                if h.tsdu.is_empty() && !h.dropping && eot {
                    self.tsdu(dir, payload, ts, out);
                    return;
                }
                if !h.dropping {
                    if h.tsdu.len() + payload.len() > MAX_TSDU {
                        h.tsdu = Vec::new();
                        h.dropping = true;
                        anomaly(
                            out,
                            ts,
                            dir,
                            "tsdu_too_large",
                            format!("COTP data unit larger than {MAX_TSDU} octets dropped"),
                        );
                    } else {
                        h.tsdu.extend_from_slice(payload);
                    }
                }
                if eot {
                    let h = self.half(dir);
                    let dropped = std::mem::take(&mut h.dropping);
                    let t = std::mem::take(&mut h.tsdu);
                    if !dropped {
                        self.tsdu(dir, &t, ts, out);
                    }
                }
            }
            Ok(Cotp::Error { cause }) => {
                self.good();
                anomaly(
                    out,
                    ts,
                    dir,
                    "cotp_error",
                    format!("COTP error TPDU (cause {cause})"),
                );
            }
            Ok(_) => self.good(),
        }
    }

    /// One TSDU: the session layer or, without one, a bare MMS PDU.
    fn tsdu(&mut self, dir: Direction, bytes: &[u8], ts: Timestamp, out: &mut Vec<Output>) {
        let Some(&first) = bytes.first() else {
            return;
        };
        if first >= 0x80 {
            self.mms(dir, bytes, ts, None, out);
            return;
        }
        let s = match iso::session(bytes) {
            Ok(s) => s,
            Err(e) => {
                anomaly(out, ts, dir, e.kind(), e.to_string());
                return;
            }
        };
        match s.kind {
            SessionKind::GiveTokens | SessionKind::AbortAccept => {}
            SessionKind::Other(si) => anomaly(
                out,
                ts,
                dir,
                "unknown_spdu",
                format!("session SPDU type {si} not decoded"),
            ),
            kind => match s.user_data {
                Some(u) if !u.is_empty() => self.presentation(dir, kind, u, ts, out),
                _ => match kind {
                    SessionKind::Refuse => self.refused(dir, ts, s.reason.map(i64::from), out),
                    SessionKind::Abort => {
                        let mut tx = Transaction::new("abort", "abort");
                        tx.request = true;
                        emit(out, ts, None, dir, tx);
                    }
                    _ => {}
                },
            },
        }
    }

    fn presentation(
        &mut self,
        dir: Direction,
        kind: SessionKind,
        u: &[u8],
        ts: Timestamp,
        out: &mut Vec<Output>,
    ) {
        let p = match iso::presentation(u, kind) {
            Ok(p) => p,
            Err(e) => {
                // Some stacks send the MMS PDU straight after the session header.
                if u.first().is_some_and(|&b| pdu::is_mms_tag(b)) {
                    self.mms(dir, u, ts, None, out);
                } else {
                    anomaly(out, ts, dir, e.kind(), format!("{e} in a {kind:?} SPDU"));
                }
                return;
            }
        };
        if kind == SessionKind::Connect {
            self.contexts = p.contexts.clone();
        }
        if p.values.is_empty() {
            match kind {
                SessionKind::Refuse => self.refused(dir, ts, p.reason, out),
                SessionKind::Abort => {
                    let mut tx = Transaction::new("abort", "abort");
                    tx.request = true;
                    if let Some(r) = p.reason {
                        tx.details_mut().association = Some(Association {
                            reason: Some(r),
                            ..Association::default()
                        });
                    }
                    emit(out, ts, None, dir, tx);
                }
                _ => {}
            }
            return;
        }
        for v in p.values {
            self.user_pdu(dir, kind, v.value, ts, out);
        }
    }

    /// The session connection was refused: the pending initiate ends here.
    fn refused(
        &mut self,
        dir: Direction,
        ts: Timestamp,
        reason: Option<i64>,
        out: &mut Vec<Output>,
    ) {
        let (mut tx, start, first_dir) = match self.take(Key::Initiate) {
            Some(p) => (p.tx, p.ts, p.dir),
            None => (Transaction::new("initiate", "initiate"), ts, dir),
        };
        tx.response = true;
        let a = tx
            .details_mut()
            .association
            .get_or_insert_with(Association::default);
        a.result = Some("refused");
        a.reason = reason;
        emit(out, start, Some(ts), first_dir, tx);
    }

    /// One presentation data value: ACSE or MMS.
    fn user_pdu(
        &mut self,
        dir: Direction,
        kind: SessionKind,
        value: &[u8],
        ts: Timestamp,
        out: &mut Vec<Output>,
    ) {
        let Some(&first) = value.first() else {
            return;
        };
        if iso::is_acse(first) {
            let a = match iso::acse(value) {
                Ok(a) => a,
                Err(e) => {
                    anomaly(out, ts, dir, e.kind(), e.to_string());
                    return;
                }
            };
            let mut assoc = a.association;
            match a.kind {
                AcseKind::Aarq | AcseKind::Aare => {
                    if a.kind == AcseKind::Aarq && kind == SessionKind::Connect {
                        assoc.presentation_contexts = self.contexts.clone();
                    }
                    match a.user {
                        Some(u) if !u.is_empty() => self.mms(dir, u, ts, Some(assoc), out),
                        _ => {
                            // An association without an MMS initiate.
                            if a.kind == AcseKind::Aarq {
                                let mut tx = Transaction::new("initiate", "initiate");
                                tx.request = true;
                                tx.details_mut().association = Some(assoc);
                                self.push(Key::Initiate, dir, ts, tx, out);
                            } else {
                                self.answer(Key::Initiate, dir, ts, out, |tx| {
                                    let a = tx
                                        .details_mut()
                                        .association
                                        .get_or_insert_with(Association::default);
                                    merge(a, assoc);
                                });
                            }
                        }
                    }
                }
                AcseKind::Rlrq => {
                    let mut tx = Transaction::new("release", "release");
                    tx.request = true;
                    tx.details_mut().association = Some(assoc);
                    self.push(Key::Release, dir, ts, tx, out);
                }
                AcseKind::Rlre => {
                    self.answer(Key::Release, dir, ts, out, |tx| {
                        let a = tx
                            .details_mut()
                            .association
                            .get_or_insert_with(Association::default);
                        a.result = Some(if assoc.reason.is_some_and(|r| r != 0) {
                            "not_finished"
                        } else {
                            "released"
                        });
                    });
                }
                AcseKind::Abrt => {
                    let mut tx = Transaction::new("abort", "abort");
                    tx.request = true;
                    tx.details_mut().association = Some(assoc);
                    emit(out, ts, None, dir, tx);
                }
            }
        } else if pdu::is_mms_tag(first) {
            self.mms(dir, value, ts, None, out);
        } else {
            anomaly(
                out,
                ts,
                dir,
                "unknown_pdu",
                format!("presentation data starts with 0x{first:02x}: neither ACSE nor MMS"),
            );
        }
    }

    fn take(&mut self, key: Key) -> Option<Pending> {
        let i = self.pending.iter().position(|p| p.key == key)?;
        self.pending.remove(i)
    }

    /// Queues a request waiting for its answer.
    fn push(
        &mut self,
        key: Key,
        dir: Direction,
        ts: Timestamp,
        tx: Transaction,
        out: &mut Vec<Output>,
    ) {
        if let Some(old) = self.take(key) {
            if let Key::Confirmed(_, id) = key {
                anomaly(
                    out,
                    ts,
                    dir,
                    "duplicate_invoke_id",
                    format!("{} request (invoke id {id}) got no answer before a new request reused its invoke id", old.tx.function),
                );
            }
            emit(out, old.ts, None, old.dir, old.tx);
        }
        if self.pending.len() >= MAX_PENDING {
            if let Some(old) = self.pending.pop_front() {
                anomaly(
                    out,
                    ts,
                    dir,
                    "unanswered_request",
                    format!(
                        "more than {MAX_PENDING} requests waiting: {} request given up",
                        old.tx.function
                    ),
                );
                emit(out, old.ts, None, old.dir, old.tx);
            }
        }
        self.pending.push_back(Pending { key, dir, ts, tx });
    }

    /// Pairs an answer with its pending request (or emits it alone) after `fill`.
    fn answer(
        &mut self,
        key: Key,
        dir: Direction,
        ts: Timestamp,
        out: &mut Vec<Output>,
        fill: impl FnOnce(&mut Transaction),
    ) {
        let (mut tx, start, first_dir) = match self.take(key) {
            Some(p) => (p.tx, p.ts, p.dir),
            None => {
                let (pdu, function) = match key {
                    Key::Confirmed(..) => ("confirmed", "unknown"),
                    Key::Initiate => ("initiate", "initiate"),
                    Key::Conclude => ("conclude", "conclude"),
                    Key::Cancel(_) => ("cancel", "cancel"),
                    Key::Release => ("release", "release"),
                };
                let mut tx = Transaction::new(pdu, function);
                if let Key::Confirmed(_, id) | Key::Cancel(id) = key {
                    tx.invoke_id = Some(id);
                }
                (tx, ts, dir)
            }
        };
        let paired = tx.request;
        tx.response = true;
        fill(&mut tx);
        if !paired {
            anomaly(
                out,
                ts,
                dir,
                "unexpected_response",
                format!(
                    "{} {} answer{} without a request",
                    tx.pdu,
                    tx.function,
                    tx.invoke_id
                        .map(|i| format!(" (invoke id {i})"))
                        .unwrap_or_default()
                ),
            );
        }
        let identity = identity_of(&tx, first_dir);
        emit(out, start, Some(ts), first_dir, tx);
        if let Some(id) = identity {
            out.push(Output::Identity(id));
        }
    }

    /// One MMS PDU; `assoc` is what ACSE said around it.
    fn mms(
        &mut self,
        dir: Direction,
        bytes: &[u8],
        ts: Timestamp,
        assoc: Option<Association>,
        out: &mut Vec<Output>,
    ) {
        // Absurd nesting or lengths are reported once; the PDU is still decoded as
        // far as it goes.
        let structure = ber::check(bytes);
        if let Some(s) = structure {
            anomaly(out, ts, dir, s.kind(), format!("MMS PDU: {s}"));
        }
        let p = match pdu::decode(bytes) {
            Ok(p) => p,
            Err(e) => {
                let kind = match e {
                    pdu::PduError::Unknown(_) => "unknown_pdu",
                    pdu::PduError::Ber(_) if structure.is_some() => return,
                    pdu::PduError::Ber(_) => "bad_pdu",
                };
                anomaly(out, ts, dir, kind, e.to_string());
                return;
            }
        };
        match p {
            Pdu::ConfirmedRequest { invoke_id, service } => {
                let mut tx = Transaction::new("confirmed", "unknown");
                tx.invoke_id = invoke_id;
                tx.request = true;
                match service {
                    Some(s) => pdu::apply_request(&s, &mut tx),
                    None => anomaly(
                        out,
                        ts,
                        dir,
                        "bad_pdu",
                        "confirmed request without a service".into(),
                    ),
                }
                match invoke_id {
                    Some(id) => self.push(Key::Confirmed(dir, id), dir, ts, tx, out),
                    None => emit(out, ts, None, dir, tx),
                }
            }
            Pdu::ConfirmedResponse { invoke_id, service } => {
                let id = invoke_id.unwrap_or(u32::MAX);
                let mut mismatch = None;
                self.answer(Key::Confirmed(dir.reverse(), id), dir, ts, out, |tx| {
                    if let Some(s) = service {
                        if tx.function_code.is_some_and(|f| f != s.tag) {
                            mismatch = Some((tx.function, s.tag));
                        }
                        pdu::apply_response(&s, tx);
                    }
                });
                if let Some((f, tag)) = mismatch {
                    anomaly(
                        out,
                        ts,
                        dir,
                        "service_mismatch",
                        format!(
                            "{} response (invoke id {id}) to a {f} request",
                            super::names::service_name(tag)
                        ),
                    );
                }
            }
            Pdu::ConfirmedError { invoke_id, error } => {
                let id = invoke_id.unwrap_or(u32::MAX);
                self.answer(Key::Confirmed(dir.reverse(), id), dir, ts, out, |tx| {
                    tx.details_mut().error = error;
                });
            }
            Pdu::Unconfirmed { service } => {
                let mut tx = match service {
                    Some(s) => pdu::unconfirmed(&s),
                    None => Transaction::new("unconfirmed", "unknown_unconfirmed"),
                };
                tx.request = true;
                emit(out, ts, None, dir, tx);
            }
            Pdu::Reject { invoke_id, reject } => {
                let key = invoke_id.and_then(|id| {
                    [dir.reverse(), dir]
                        .into_iter()
                        .map(|d| Key::Confirmed(d, id))
                        .find(|k| self.pending.iter().any(|p| p.key == *k))
                });
                match key {
                    Some(k) => self.answer(k, dir, ts, out, |tx| {
                        tx.details_mut().reject = Some(reject);
                    }),
                    None => {
                        let mut tx = Transaction::new("reject", "reject");
                        tx.invoke_id = invoke_id;
                        tx.request = true;
                        tx.details_mut().reject = Some(reject);
                        emit(out, ts, None, dir, tx);
                    }
                }
            }
            Pdu::CancelRequest(id) => {
                let mut tx = Transaction::new("cancel", "cancel");
                tx.invoke_id = id;
                tx.request = true;
                self.push(Key::Cancel(id.unwrap_or(u32::MAX)), dir, ts, tx, out);
            }
            Pdu::CancelResponse(id) => {
                self.answer(Key::Cancel(id.unwrap_or(u32::MAX)), dir, ts, out, |_| {});
            }
            Pdu::CancelError { invoke_id, error } => {
                self.answer(
                    Key::Cancel(invoke_id.unwrap_or(u32::MAX)),
                    dir,
                    ts,
                    out,
                    |tx| {
                        tx.details_mut().error = error;
                    },
                );
            }
            Pdu::InitiateRequest(params) => {
                let mut tx = Transaction::new("initiate", "initiate");
                tx.request = true;
                let d = tx.details_mut();
                d.initiate = Some(Initiate {
                    proposed: Some(params),
                    negotiated: None,
                });
                d.association = assoc;
                self.push(Key::Initiate, dir, ts, tx, out);
            }
            Pdu::InitiateResponse(params) => {
                self.answer(Key::Initiate, dir, ts, out, |tx| {
                    let d = tx.details_mut();
                    d.initiate.get_or_insert_with(Initiate::default).negotiated = Some(params);
                    if let Some(a) = assoc {
                        merge(d.association.get_or_insert_with(Association::default), a);
                    }
                });
            }
            Pdu::InitiateError(error) => {
                self.answer(Key::Initiate, dir, ts, out, |tx| {
                    let d = tx.details_mut();
                    d.error = error;
                    if let Some(a) = assoc {
                        merge(d.association.get_or_insert_with(Association::default), a);
                    }
                });
            }
            Pdu::ConcludeRequest => {
                let mut tx = Transaction::new("conclude", "conclude");
                tx.request = true;
                self.push(Key::Conclude, dir, ts, tx, out);
            }
            Pdu::ConcludeResponse => self.answer(Key::Conclude, dir, ts, out, |_| {}),
            Pdu::ConcludeError(error) => {
                self.answer(Key::Conclude, dir, ts, out, |tx| {
                    tx.details_mut().error = error;
                });
            }
        }
    }
}

/// The identity an Identify response reveals (the answering side's).
fn identity_of(tx: &Transaction, request_dir: Direction) -> Option<Identity> {
    if tx.function_code != Some(2) || !tx.response {
        return None;
    }
    let d = tx.details()?;
    if d.vendor.is_none() && d.model.is_none() && d.revision.is_none() {
        return None;
    }
    Some(Identity {
        side: Some(match request_dir {
            Direction::ToServer => Side::Server,
            Direction::ToClient => Side::Client,
        }),
        source: "mms.identify",
        vendor: d.vendor.clone().filter(|s| !s.is_empty()),
        model: d.model.clone().filter(|s| !s.is_empty()),
        firmware: d.revision.clone().filter(|s| !s.is_empty()),
        ..Identity::default()
    })
}

impl Parser for MmsParser {
    fn parse(&mut self, dir: Direction, data: &[u8], ts: Timestamp, out: &mut Vec<Output>) {
        if self.disabled || data.is_empty() {
            return;
        }
        let mut input = data;
        if !self.half(dir).buf.is_empty() {
            let mut buf = std::mem::take(&mut self.half(dir).buf);
            // Complete the buffered unit first (only as many octets as it needs
            // when its header is known), then go on in place.
            if buf.len() < iso::TPKT_HEADER {
                let take = (iso::TPKT_HEADER - buf.len()).min(input.len());
                buf.extend_from_slice(input.get(..take).unwrap_or_default());
                input = input.get(take..).unwrap_or_default();
            }
            let scanning = self.half(dir).scanning;
            match iso::tpkt_len(&buf) {
                Ok(Some(n)) if !scanning => {
                    let take = n.saturating_sub(buf.len()).min(input.len());
                    buf.extend_from_slice(input.get(..take).unwrap_or_default());
                    input = input.get(take..).unwrap_or_default();
                }
                Ok(None) => {}
                _ => {
                    buf.extend_from_slice(input);
                    input = &[];
                }
            }
            let used = self.run(dir, &buf, ts, out);
            if self.disabled {
                return;
            }
            buf.drain(..used.min(buf.len()));
            if !buf.is_empty() {
                // Still incomplete: the input was used up above (or, while
                // scanning, appended whole).
                buf.extend_from_slice(input);
                self.half(dir).buf = buf;
                return;
            }
        }
        let used = self.run(dir, input, ts, out);
        if !self.disabled {
            if let Some(tail) = input.get(used..).filter(|t| !t.is_empty()) {
                self.half(dir).buf.extend_from_slice(tail);
            }
        }
    }

    fn gap(&mut self, dir: Direction, _len: u64, _ts: Timestamp, _out: &mut Vec<Output>) {
        if self.disabled {
            return;
        }
        let h = self.half(dir);
        h.buf.clear();
        h.tsdu.clear();
        h.dropping = false;
        h.scanning = false;
        h.skipped = 0;
        h.budget = 0;
    }

    fn finish(&mut self, ts: Timestamp, out: &mut Vec<Output>) {
        for dir in [Direction::ToServer, Direction::ToClient] {
            let disabled = self.disabled;
            let h = self.half(dir);
            let partial = if h.scanning {
                0
            } else {
                h.buf.len() + h.tsdu.len()
            };
            *h = Half::default();
            if partial > 0 && !disabled {
                anomaly(
                    out,
                    ts,
                    dir,
                    "truncated",
                    format!("flow ended inside a TPKT or TSDU ({partial} octets buffered)"),
                );
            }
        }
        while let Some(p) = self.pending.pop_front() {
            emit(out, p.ts, None, p.dir, p.tx);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len() / 2)
            .map(|i| u8::from_str_radix(&s[2 * i..2 * i + 2], 16).unwrap())
            .collect()
    }

    #[test]
    fn connect_request_waits_for_its_accept() {
        // mms-iti-piccolo.pcap frame 1: CN / CP / AARQ / initiate-RequestPDU
        let b = hex("030000bf02f0800db60506130100160102140200023302000134020001c1a031819da003800101a28195810400000001820400000001a423300f0201010604520100013004060251013010020103060528ca22020130040602510161623060020101a05b6059a107060528ca220203a20706052901876701a30302010ca606060429018767a70302010cbe33283106025101020103a028a826800300ff0081010a82010a830105a416800101810305f100820c03ee1c000004000000010118");
        let mut p = MmsParser::new();
        let mut out = Vec::new();
        // in two pieces, the cut inside the TPKT header
        p.parse(Direction::ToServer, &b[..2], 1, &mut out);
        p.parse(Direction::ToServer, &b[2..], 1, &mut out);
        assert!(out.is_empty(), "{out:?}");
        assert_eq!(p.pending(), 1);
        p.finish(2, &mut out);
        let [Output::Txn(t)] = &out[..] else {
            panic!("{out:?}")
        };
        let Record::Mms(m) = &t.record else { panic!() };
        assert_eq!((m.pdu, m.request, m.response), ("initiate", true, false));
        let init = m.details().unwrap().initiate.as_ref().unwrap();
        let proposed = init.proposed.as_ref().unwrap();
        assert_eq!(proposed.local_detail, Some(65280));
        assert_eq!(proposed.parameter_cbb.as_deref(), Some("11110001000"));
        assert!(proposed.services_supported.contains(&"information_report"));
    }

    #[test]
    fn garbage_before_a_tpkt_resynchronises_then_gives_up() {
        let mut p = MmsParser::new();
        let mut out = Vec::new();
        let mut b = vec![0x55; 10];
        b.extend(hex(
            "0300001b02f08001000100610e300c020103a007a0050201018200",
        ));
        p.parse(Direction::ToServer, &b, 1, &mut out);
        let kinds: Vec<_> = out
            .iter()
            .filter_map(|o| match o {
                Output::Anomaly(a) => Some(a.kind),
                _ => None,
            })
            .collect();
        assert_eq!(kinds, vec!["bad_tpkt", "resync"]);
        assert_eq!(p.pending(), 1);
        // then only garbage: the flow is given up
        let mut out = Vec::new();
        p.parse(Direction::ToClient, &[0x77; 40_000], 2, &mut out);
        assert!(p.is_disabled());
        assert!(out
            .iter()
            .any(|o| matches!(o, Output::Anomaly(a) if a.kind == "not_mms")));
    }
}
