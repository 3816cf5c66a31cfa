//! The S7comm [`Parser`] of one flow: TPKT/COTP framing (see [`super::stream`]),
//! S7 PDU decoding and pairing.
//!
//! Pairing: a job waits for the ack / ack-data with its PDU reference coming the
//! other way (jobs may come from either end: during a download the PLC sends the
//! "download block" jobs); a userdata request waits for the userdata response with
//! its PDU reference. Pushes (cyclic data, alarms, mode changes) are transactions
//! of their own, as are responses without a request. A request is emitted
//! unanswered when a new request reuses its key, when more than [`MAX_PENDING`]
//! wait (oldest first), or at `finish()`. COTP CR and CC make one `cotp_connect`
//! transaction, DR (and DC) one `cotp_disconnect`.
//!
//! Userdata responses split over several data units (`last data unit: no`) are
//! reassembled (at most [`MAX_USERDATA`] bytes) so that SZL lists and block lists
//! are decoded whole; the transaction of the last data unit carries the result.
use super::parser::{self, UserdataParam};
use super::record::{Issue, Transaction};
use super::stream::{anomaly, CotpStream, Unit, Verdict};
use super::tpkt::Cotp;
use crate::{Direction, Output, Parser, Record, Timestamp, Txn};
use std::collections::VecDeque;

/// Requests waiting for a response, per flow.
pub const MAX_PENDING: usize = 64;
/// Largest userdata response reassembled from data units.
pub const MAX_USERDATA: usize = 16384;

const PROTO: &str = "s7comm";

/// One S7 message as seen by the parser ([`S7Parser::set_trace`]), for tests and
/// diagnostics.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Message {
    pub dir: Direction,
    pub ts: Timestamp,
    pub rosctr: u8,
    pub pdu_ref: u16,
    /// Parameter function (job, ack-data), `None` for userdata.
    pub function: Option<u8>,
    /// Userdata type nibble (0 push, 4 request, 8 response), group, subfunction.
    pub userdata: Option<(u8, u8, u8)>,
    pub error_class: Option<u8>,
    pub error_code: Option<u8>,
    /// Userdata response parameter error code.
    pub param_error: Option<u16>,
    /// SZL id and index of a read SZL request or (first data unit) response.
    pub szl: Option<(u16, u16)>,
    /// Return code of the userdata data part.
    pub return_code: Option<u8>,
}

struct Pending {
    /// Direction of the request, ROSCTR class (1 job, 7 userdata), PDU reference.
    key: (Direction, u8, u16),
    ts: Timestamp,
    tx: Transaction,
}

struct Partial {
    dir: Direction,
    group: u8,
    subfunction: u8,
    data_unit_ref: u8,
    buf: Vec<u8>,
}

#[derive(Default)]
struct App {
    pending: VecDeque<Pending>,
    partial: Option<Partial>,
    connect: Option<CotpPending>,
    disconnect: Option<CotpPending>,
    trace: Option<Vec<Message>>,
}

/// The first TPDU of a COTP connect or disconnect exchange, waiting for the other.
struct CotpPending {
    ts: Timestamp,
    dir: Direction,
    tx: Transaction,
    confirm: bool,
}

/// Pairs a CR with its CC (or a DR with its DC) in either order: when the engine
/// detects the protocol, the bytes of the server seen so far (the CC) are replayed
/// before the client's (the CR).
fn cotp_pair(
    slot: &mut Option<CotpPending>,
    c: &Cotp<'_>,
    confirm: bool,
    dir: Direction,
    ts: Timestamp,
    out: &mut Vec<Output>,
) {
    match slot.take() {
        Some(p) if p.dir != dir && p.confirm != confirm => {
            if confirm {
                let mut tx = p.tx;
                tx.apply_cotp(c);
                tx.response = true;
                emit(out, p.ts, Some(ts), p.dir, tx);
            } else {
                let mut tx = Transaction::cotp(c);
                tx.request = true;
                tx.response = true;
                tx.merge_cotp_confirm(p.tx.cotp.as_deref());
                emit(out, ts, Some(p.ts), dir, tx);
            }
        }
        other => {
            if let Some(p) = other {
                emit(out, p.ts, None, p.dir, p.tx);
            }
            let mut tx = Transaction::cotp(c);
            tx.request = !confirm;
            tx.response = confirm;
            *slot = Some(CotpPending {
                ts,
                dir,
                tx,
                confirm,
            });
        }
    }
}

/// The S7comm parser of one flow.
pub struct S7Parser {
    stream: CotpStream,
    app: App,
}

impl Default for S7Parser {
    fn default() -> Self {
        Self::new()
    }
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
        record: Record::S7comm(Box::new(tx)),
    }));
}

fn report(out: &mut Vec<Output>, ts: Timestamp, dir: Direction, issues: &mut Vec<Issue>) {
    for (kind, message) in issues.drain(..) {
        anomaly(out, PROTO, ts, dir, kind, message);
    }
}

impl S7Parser {
    pub fn new() -> S7Parser {
        S7Parser {
            stream: CotpStream::new(PROTO),
            app: App::default(),
        }
    }

    /// Record every S7 message from now on (off by default).
    pub fn set_trace(&mut self, on: bool) {
        self.app.trace = on.then(Vec::new);
    }

    /// The messages recorded since the last call.
    pub fn take_trace(&mut self) -> Vec<Message> {
        self.app
            .trace
            .as_mut()
            .map(std::mem::take)
            .unwrap_or_default()
    }

    /// Requests waiting for their response.
    pub fn pending(&self) -> usize {
        self.app.pending.len()
    }

    /// The parser gave up on the flow.
    pub fn is_disabled(&self) -> bool {
        self.stream.is_disabled()
    }
}

impl App {
    fn unit(
        &mut self,
        dir: Direction,
        unit: Unit<'_>,
        ts: Timestamp,
        out: &mut Vec<Output>,
    ) -> Verdict {
        match unit {
            Unit::Control(c) => {
                self.control(dir, &c, ts, out);
                Verdict::Good
            }
            Unit::Data(pdu) => self.pdu(dir, pdu, ts, out),
        }
    }

    fn control(&mut self, dir: Direction, c: &Cotp<'_>, ts: Timestamp, out: &mut Vec<Output>) {
        match c {
            Cotp::Connect { confirm, .. } => {
                cotp_pair(&mut self.connect, c, *confirm, dir, ts, out)
            }
            Cotp::Disconnect { confirm, .. } => {
                cotp_pair(&mut self.disconnect, c, *confirm, dir, ts, out)
            }
            _ => {
                let mut tx = Transaction::cotp(c);
                tx.request = true;
                emit(out, ts, None, dir, tx);
            }
        }
    }

    fn pdu(&mut self, dir: Direction, b: &[u8], ts: Timestamp, out: &mut Vec<Output>) -> Verdict {
        let pdu = match parser::parse_pdu(b) {
            Ok(p) => p,
            Err(e) => {
                anomaly(out, PROTO, ts, dir, e.kind(), format!("S7 PDU: {e}"));
                return Verdict::Bad;
            }
        };
        let mut issues: Vec<Issue> = Vec::new();
        if let Some(i) = pdu.issue {
            issues.push((i.kind(), format!("S7 PDU: {i}")));
        }
        let h = pdu.header;
        let mut msg = Message {
            dir,
            ts,
            rosctr: h.rosctr,
            pdu_ref: h.pdu_ref,
            function: None,
            userdata: None,
            error_class: h.error_class,
            error_code: h.error_code,
            param_error: None,
            szl: None,
            return_code: None,
        };
        match h.rosctr {
            1 => {
                let f = pdu.param.first().copied().unwrap_or(0);
                msg.function = pdu.param.first().copied();
                if pdu.param.is_empty() {
                    issues.push(("truncated_parameter", "job without parameter".to_string()));
                }
                let mut tx = Transaction::job(1, h.pdu_ref, f);
                tx.apply_job(pdu.param, pdu.data, &mut issues);
                report(out, ts, dir, &mut issues);
                self.wait((dir, 1, h.pdu_ref), ts, tx, out);
            }
            2 | 3 => {
                msg.function = pdu.param.first().copied();
                let key = (dir.reverse(), 1, h.pdu_ref);
                let f = pdu.param.first().copied();
                let req = self.take(key);
                let (mut tx, start, first_dir, paired) = match req {
                    Some(p) if f.is_none_or(|f| u16::from(f) == p.tx.function_code) => {
                        (p.tx, p.ts, dir.reverse(), true)
                    }
                    Some(p) => {
                        issues.push((
                            "unexpected_response",
                            format!(
                                "{} response (PDU reference {}) to a {} job",
                                crate::s7comm::names::function_name(f.unwrap_or(0)),
                                h.pdu_ref,
                                p.tx.function
                            ),
                        ));
                        emit(out, p.ts, None, dir.reverse(), p.tx);
                        (
                            Transaction::job(h.rosctr, h.pdu_ref, f.unwrap_or(0)),
                            ts,
                            dir,
                            false,
                        )
                    }
                    None => {
                        issues.push((
                            "unexpected_response",
                            format!(
                                "{} response (PDU reference {}) without a job",
                                crate::s7comm::names::function_name(f.unwrap_or(0)),
                                h.pdu_ref
                            ),
                        ));
                        (
                            Transaction::job(h.rosctr, h.pdu_ref, f.unwrap_or(0)),
                            ts,
                            dir,
                            false,
                        )
                    }
                };
                tx.apply_ack(&h, pdu.param, pdu.data, paired, &mut issues);
                report(out, ts, dir, &mut issues);
                emit(out, start, Some(ts).filter(|_| paired), first_dir, tx);
            }
            _ => {
                // userdata
                let p = match parser::parse_userdata_param(pdu.param) {
                    Ok(p) => p,
                    Err(e) => {
                        anomaly(
                            out,
                            PROTO,
                            ts,
                            dir,
                            "bad_userdata",
                            format!("userdata: {e}"),
                        );
                        self.push_trace(msg);
                        return Verdict::Good;
                    }
                };
                msg.userdata = Some((p.kind, p.group, p.subfunction));
                msg.param_error = p.error;
                let d = parser::userdata_data(pdu.data);
                msg.return_code = d.map(|d| d.return_code);
                if p.group == 4 && p.subfunction == 1 {
                    msg.szl = d
                        .and_then(|d| Some((parser::be16(d.data, 0)?, parser::be16(d.data, 2)?)))
                        .filter(|_| p.data_unit_ref.unwrap_or(0) == 0 || p.kind == 8);
                }
                self.userdata(dir, &h, &p, pdu.data, ts, &mut issues, out);
                report(out, ts, dir, &mut issues);
            }
        }
        self.push_trace(msg);
        Verdict::Good
    }

    fn push_trace(&mut self, msg: Message) {
        if let Some(t) = self.trace.as_mut() {
            t.push(msg);
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn userdata(
        &mut self,
        dir: Direction,
        h: &parser::Header,
        p: &UserdataParam,
        data: &[u8],
        ts: Timestamp,
        issues: &mut Vec<Issue>,
        out: &mut Vec<Output>,
    ) {
        let is_request = matches!(p.kind, 0x4 | 0x7);
        let is_response = matches!(p.kind, 0x8 | 0xB);
        if is_request {
            let mut tx = Transaction::userdata(h.pdu_ref, p);
            tx.apply_userdata(p, data, false, issues);
            self.wait((dir, 7, h.pdu_ref), ts, tx, out);
            return;
        }
        let (mut tx, start, first_dir, paired) = if is_response {
            match self.take((dir.reverse(), 7, h.pdu_ref)) {
                Some(req) => (req.tx, req.ts, dir.reverse(), true),
                None => {
                    issues.push((
                        "unexpected_response",
                        format!(
                            "userdata {} response (PDU reference {}) without a request",
                            crate::s7comm::names::subfunction_name(p.group, p.subfunction),
                            h.pdu_ref
                        ),
                    ));
                    (Transaction::userdata(h.pdu_ref, p), ts, dir, false)
                }
            }
        } else {
            (Transaction::userdata(h.pdu_ref, p), ts, dir, false)
        };
        // a push counts as a response: server data nobody asked for in this flow
        tx.apply_userdata(p, data, true, issues);
        if let Some(d) = parser::userdata_data(data) {
            self.payload(dir, p, d.data, &mut tx, issues);
        }
        let identity = tx.identity();
        emit(out, start, Some(ts).filter(|_| paired), first_dir, tx);
        if let Some(id) = identity {
            out.push(Output::Identity(id));
        }
    }

    /// Collects data units and decodes the payload once complete.
    fn payload(
        &mut self,
        dir: Direction,
        p: &UserdataParam,
        body: &[u8],
        tx: &mut Transaction,
        issues: &mut Vec<Issue>,
    ) {
        let more = p.last_data_unit == Some(false);
        let dur = p.data_unit_ref.unwrap_or(0);
        let continues = self.partial.as_ref().is_some_and(|f| {
            f.dir == dir
                && f.group == p.group
                && f.subfunction == p.subfunction
                && f.data_unit_ref == dur
        });
        if !continues {
            if let Some(old) = self.partial.take() {
                if old.dir == dir {
                    issues.push((
                        "userdata_incomplete",
                        format!(
                            "{} response data units (reference {}) never completed: {} bytes dropped",
                            crate::s7comm::names::subfunction_name(old.group, old.subfunction),
                            old.data_unit_ref,
                            old.buf.len()
                        ),
                    ));
                } else {
                    self.partial = Some(old);
                }
            }
        }
        if !more && !continues {
            tx.apply_userdata_payload(p, body);
            return;
        }
        let part = self.partial.get_or_insert_with(|| Partial {
            dir,
            group: p.group,
            subfunction: p.subfunction,
            data_unit_ref: dur,
            buf: Vec::new(),
        });
        if part.buf.len() + body.len() > MAX_USERDATA {
            issues.push((
                "fragment_too_large",
                format!("userdata response data units exceed {MAX_USERDATA} bytes: dropped"),
            ));
            self.partial = None;
            return;
        }
        part.buf.extend_from_slice(body);
        if !more {
            if let Some(part) = self.partial.take() {
                tx.apply_userdata_payload(p, &part.buf);
            }
        }
    }

    fn take(&mut self, key: (Direction, u8, u16)) -> Option<Pending> {
        let i = self.pending.iter().position(|p| p.key == key)?;
        self.pending.remove(i)
    }

    fn wait(
        &mut self,
        key: (Direction, u8, u16),
        ts: Timestamp,
        tx: Transaction,
        out: &mut Vec<Output>,
    ) {
        if let Some(old) = self.take(key) {
            anomaly(
                out,
                PROTO,
                ts,
                key.0,
                "unanswered_request",
                format!(
                    "{} request (PDU reference {}) got no response before a new request reused its reference",
                    old.tx.function, old.tx.pdu_ref
                ),
            );
            emit(out, old.ts, None, old.key.0, old.tx);
        }
        if self.pending.len() >= MAX_PENDING {
            if let Some(old) = self.pending.pop_front() {
                anomaly(
                    out,
                    PROTO,
                    ts,
                    key.0,
                    "unanswered_request",
                    format!(
                        "more than {MAX_PENDING} requests waiting: {} request (PDU reference {}) given up",
                        old.tx.function, old.tx.pdu_ref
                    ),
                );
                emit(out, old.ts, None, old.key.0, old.tx);
            }
        }
        self.pending.push_back(Pending { key, ts, tx });
    }
}

impl Parser for S7Parser {
    fn parse(&mut self, dir: Direction, data: &[u8], ts: Timestamp, out: &mut Vec<Output>) {
        let S7Parser { stream, app } = self;
        stream.parse(dir, data, ts, out, &mut |d, u, o| app.unit(d, u, ts, o));
    }

    fn gap(&mut self, dir: Direction, _len: u64, _ts: Timestamp, _out: &mut Vec<Output>) {
        self.stream.gap(dir);
        if self.app.partial.as_ref().is_some_and(|p| p.dir == dir) {
            self.app.partial = None;
        }
    }

    fn finish(&mut self, ts: Timestamp, out: &mut Vec<Output>) {
        self.stream.finish(ts, out);
        for p in [self.app.connect.take(), self.app.disconnect.take()]
            .into_iter()
            .flatten()
        {
            emit(out, p.ts, None, p.dir, p.tx);
        }
        while let Some(p) = self.app.pending.pop_front() {
            emit(out, p.ts, None, p.key.0, p.tx);
        }
        self.app.partial = None;
    }
}
