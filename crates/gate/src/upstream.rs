//! The upstream PLC: a small pool of reused plain Modbus/TCP connections. Each
//! connection is one task that sends up to `upstream_max_in_flight` requests at a
//! time (1 by default: many PLCs, pymodbus 3.16 among them, answer only the first of
//! several requests that arrive together), gives every request a transaction id of
//! its own (so that requests of many clients never collide) and maps each response
//! back to the client's id. Pipelining clients are thus served by PLCs that cannot
//! pipeline.
//!
//! A PLC that cannot be reached, closes the connection, answers out of step or does
//! not answer within `upstream_timeout` gets every waiting request answered with
//! exception 0x0B (gateway target device failed to respond); the connection is then
//! dropped and made again on the next request.

use crate::config::Limits;
use sluice_proto::modbus::parser::{check_header, MAX_FRAME};
use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, oneshot, watch, OwnedSemaphorePermit};
use tokio::time::Instant;

/// Exception code: gateway target device failed to respond.
pub const GATEWAY_TARGET_FAILED: u8 = 0x0B;

/// One Modbus/TCP frame, stored inline (no allocation per request).
#[derive(Clone, Copy)]
pub struct Frame {
    len: u16,
    buf: [u8; MAX_FRAME],
}

impl std::fmt::Debug for Frame {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Frame({:02x?})", self.as_bytes())
    }
}

impl Frame {
    /// A copy of `b` (`None` when longer than a frame can be or shorter than a header
    /// and function code).
    pub fn from_slice(b: &[u8]) -> Option<Frame> {
        if b.len() > MAX_FRAME || b.len() < 8 {
            return None;
        }
        let mut buf = [0u8; MAX_FRAME];
        buf.get_mut(..b.len())?.copy_from_slice(b);
        Some(Frame {
            len: b.len() as u16,
            buf,
        })
    }

    pub fn as_bytes(&self) -> &[u8] {
        self.buf.get(..usize::from(self.len)).unwrap_or(&[])
    }

    pub fn transaction_id(&self) -> u16 {
        u16::from_be_bytes([self.buf[0], self.buf[1]])
    }

    pub fn set_transaction_id(&mut self, tid: u16) {
        let b = tid.to_be_bytes();
        self.buf[0] = b[0];
        self.buf[1] = b[1];
    }

    pub fn unit(&self) -> u8 {
        self.buf[6]
    }

    pub fn function_code(&self) -> u8 {
        self.buf[7]
    }

    /// An exception response to a request: same id and unit, function | 0x80, `code`.
    pub fn exception(transaction_id: u16, unit: u8, function_code: u8, code: u8) -> Frame {
        let mut buf = [0u8; MAX_FRAME];
        let t = transaction_id.to_be_bytes();
        buf[..9].copy_from_slice(&[t[0], t[1], 0, 0, 0, 3, unit, function_code | 0x80, code]);
        Frame { len: 9, buf }
    }

    /// The exception code when this is an exception response.
    pub fn exception_code(&self) -> Option<u8> {
        (self.function_code() & 0x80 != 0 && self.len >= 9).then_some(self.buf[8])
    }
}

/// A response (or a gateway exception) for the client's writer.
#[derive(Debug)]
pub struct Reply {
    pub frame: Frame,
    /// Why the gate answered 0x0B itself.
    pub upstream_error: Option<String>,
    /// Released once written: bounds the client's requests in flight.
    pub permit: Option<OwnedSemaphorePermit>,
}

/// Where an upstream response goes.
#[derive(Debug)]
pub enum ReplyTo {
    /// The client connection's writer.
    Client {
        tx: mpsc::Sender<Reply>,
        permit: OwnedSemaphorePermit,
    },
    /// A waiting task (envelope checks, critical writes).
    Once(oneshot::Sender<Result<Frame, String>>),
}

/// A request for the PLC. The frame keeps the client's transaction id.
#[derive(Debug)]
pub struct UpReq {
    pub frame: Frame,
    pub reply: ReplyTo,
}

fn answer(reply: ReplyTo, frame: Frame, err: Option<String>) {
    match reply {
        ReplyTo::Client { tx, permit } => {
            // Capacity is reserved by the permit: this never finds the queue full.
            let _ = tx.try_send(Reply {
                frame,
                upstream_error: err,
                permit: Some(permit),
            });
        }
        ReplyTo::Once(tx) => {
            let _ = tx.send(match err {
                None => Ok(frame),
                Some(e) => Err(e),
            });
        }
    }
}

/// Answers a request with 0x0B.
pub fn fail(req: UpReq, why: &str) {
    let f = req.frame;
    let ex = Frame::exception(
        f.transaction_id(),
        f.unit(),
        f.function_code(),
        GATEWAY_TARGET_FAILED,
    );
    answer(req.reply, ex, Some(why.to_string()));
}

struct SlotState {
    tx: Option<mpsc::Sender<UpReq>>,
    generation: u64,
    down_until: Option<Instant>,
    last_error: String,
}

struct Slot {
    state: Mutex<SlotState>,
}

/// The pool of upstream connections.
pub struct Upstream {
    addr: SocketAddr,
    slots: Vec<Arc<Slot>>,
    limits: Limits,
    shutdown: watch::Receiver<bool>,
}

/// After a failed connect, requests are refused at once for this long.
const RETRY_AFTER: Duration = Duration::from_millis(200);

impl Upstream {
    pub fn new(addr: SocketAddr, limits: Limits, shutdown: watch::Receiver<bool>) -> Upstream {
        let slots = (0..limits.upstream_connections.max(1))
            .map(|_| {
                Arc::new(Slot {
                    state: Mutex::new(SlotState {
                        tx: None,
                        generation: 0,
                        down_until: None,
                        last_error: String::new(),
                    }),
                })
            })
            .collect();
        Upstream {
            addr,
            slots,
            limits,
            shutdown,
        }
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Number of connections in the pool.
    pub fn len(&self) -> usize {
        self.slots.len()
    }

    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }

    /// The sender of connection `slot` (starting it when needed), or why the PLC is
    /// unreachable right now.
    pub fn sender(&self, slot: usize) -> Result<mpsc::Sender<UpReq>, String> {
        let s = self
            .slots
            .get(slot % self.slots.len().max(1))
            .ok_or("no upstream connection")?;
        let mut st = s.state.lock().map_err(|_| "upstream state poisoned")?;
        if let Some(tx) = &st.tx {
            if !tx.is_closed() {
                return Ok(tx.clone());
            }
        }
        if let Some(t) = st.down_until {
            if Instant::now() < t {
                return Err(st.last_error.clone());
            }
        }
        let (tx, rx) = mpsc::channel(1024);
        st.generation += 1;
        st.tx = Some(tx.clone());
        st.down_until = None;
        let conn = Conn {
            addr: self.addr,
            slot: s.clone(),
            generation: st.generation,
            limits: self.limits.clone(),
            shutdown: self.shutdown.clone(),
        };
        tokio::spawn(conn.run(rx));
        Ok(tx)
    }
}

/// A client's handle on its upstream connection (cached sender, refreshed when the
/// connection is replaced). One client always uses the same connection, so that its
/// requests reach the PLC in the order sent.
pub struct UpHandle {
    slot: usize,
    tx: Option<mpsc::Sender<UpReq>>,
}

impl UpHandle {
    pub fn new(slot: usize) -> UpHandle {
        UpHandle { slot, tx: None }
    }

    /// Sends a request; answers it with 0x0B when the PLC is unreachable.
    pub async fn send(&mut self, up: &Upstream, mut req: UpReq) {
        for _ in 0..2 {
            let tx = match &self.tx {
                Some(tx) if !tx.is_closed() => tx.clone(),
                _ => match up.sender(self.slot) {
                    Ok(tx) => {
                        self.tx = Some(tx.clone());
                        tx
                    }
                    Err(why) => return fail(req, &why),
                },
            };
            match tx.send(req).await {
                Ok(()) => return,
                Err(mpsc::error::SendError(r)) => {
                    self.tx = None;
                    req = r;
                }
            }
        }
        fail(req, "upstream connection closed")
    }

    /// Sends a request and waits for its response (or 0x0B reason).
    pub async fn request(&mut self, up: &Upstream, frame: Frame) -> Result<Frame, String> {
        let (tx, rx) = oneshot::channel();
        self.send(
            up,
            UpReq {
                frame,
                reply: ReplyTo::Once(tx),
            },
        )
        .await;
        rx.await
            .unwrap_or_else(|_| Err("upstream connection closed".into()))
    }
}

struct Pending {
    tid: u16,
    client_tid: u16,
    unit: u8,
    function_code: u8,
    deadline: Instant,
    reply: ReplyTo,
}

struct Conn {
    addr: SocketAddr,
    slot: Arc<Slot>,
    generation: u64,
    limits: Limits,
    shutdown: watch::Receiver<bool>,
}

impl Conn {
    fn mark_down(&self, why: &str, backoff: bool) {
        if let Ok(mut st) = self.slot.state.lock() {
            if st.generation == self.generation {
                st.tx = None;
                st.last_error = why.to_string();
                st.down_until = backoff.then(|| Instant::now() + RETRY_AFTER);
            }
        }
    }

    async fn run(self, mut rx: mpsc::Receiver<UpReq>) {
        let stream =
            match tokio::time::timeout(self.limits.connect_timeout, TcpStream::connect(self.addr))
                .await
            {
                Ok(Ok(s)) => s,
                Ok(Err(e)) => {
                    let why = format!("PLC {} unreachable: {e}", self.addr);
                    return self.close(&mut rx, VecDeque::new(), &why, true);
                }
                Err(_) => {
                    let why = format!(
                        "PLC {} unreachable: connect timed out after {} ms",
                        self.addr,
                        self.limits.connect_timeout.as_millis()
                    );
                    return self.close(&mut rx, VecDeque::new(), &why, true);
                }
            };
        let _ = stream.set_nodelay(true);
        let (mut rd, mut wr) = stream.into_split();
        let mut pending: VecDeque<Pending> = VecDeque::new();
        let mut next_tid: u16 = 1;
        let mut rbuf = vec![0u8; 16 * 1024];
        let (mut start, mut end) = (0usize, 0usize);
        let mut wbuf: Vec<u8> = Vec::with_capacity(8 * 1024);
        let max = self.limits.upstream_max_in_flight.max(1);
        let mut shutdown = self.shutdown.clone();
        let why: String = loop {
            let deadline = pending.front().map(|p| p.deadline);
            let can_take = pending.len() < max;
            if end == rbuf.len() {
                rbuf.copy_within(start..end, 0);
                end -= start;
                start = 0;
            }
            tokio::select! {
                biased;
                _ = shutdown.changed() => break "gate shutting down".to_string(),
                r = rd.read(&mut rbuf[end..]) => {
                    match r {
                        Ok(0) => break format!("PLC {} closed the connection", self.addr),
                        Err(e) => break format!("PLC {} connection failed: {e}", self.addr),
                        Ok(n) => end += n,
                    }
                    match self.responses(&rbuf[start..end], &mut pending) {
                        Ok(used) => start += used,
                        Err(e) => break e,
                    }
                    if start == end {
                        start = 0;
                        end = 0;
                    }
                }
                m = rx.recv(), if can_take => {
                    let Some(first) = m else { break "upstream idle".to_string() };
                    let mut next = Some(first);
                    while let Some(req) = next.take() {
                        let mut frame = req.frame;
                        let client_tid = frame.transaction_id();
                        // Skip ids still in flight (only after 65536 requests in flight order).
                        while pending.iter().any(|p| p.tid == next_tid) {
                            next_tid = next_tid.wrapping_add(1);
                        }
                        let tid = next_tid;
                        next_tid = next_tid.wrapping_add(1);
                        frame.set_transaction_id(tid);
                        wbuf.extend_from_slice(frame.as_bytes());
                        pending.push_back(Pending {
                            tid,
                            client_tid,
                            unit: frame.unit(),
                            function_code: frame.function_code(),
                            deadline: Instant::now() + self.limits.upstream_timeout,
                            reply: req.reply,
                        });
                        if pending.len() < max && wbuf.len() < 8 * 1024 {
                            next = rx.try_recv().ok();
                        }
                    }
                    if let Err(e) = wr.write_all(&wbuf).await {
                        wbuf.clear();
                        break format!("PLC {} connection failed: {e}", self.addr);
                    }
                    wbuf.clear();
                }
                _ = sleep_until_opt(deadline) => {
                    break format!(
                        "PLC {} did not answer within {} ms",
                        self.addr,
                        self.limits.upstream_timeout.as_millis()
                    );
                }
            }
        };
        tracing::debug!("upstream connection ends: {why}");
        self.close(&mut rx, pending, &why, false);
    }

    /// Answers every waiting and queued request with 0x0B and retires the connection.
    fn close(
        &self,
        rx: &mut mpsc::Receiver<UpReq>,
        pending: VecDeque<Pending>,
        why: &str,
        backoff: bool,
    ) {
        self.mark_down(why, backoff);
        rx.close();
        for p in pending {
            let ex = Frame::exception(p.client_tid, p.unit, p.function_code, GATEWAY_TARGET_FAILED);
            answer(p.reply, ex, Some(why.to_string()));
        }
        while let Ok(req) = rx.try_recv() {
            fail(req, why);
        }
    }

    /// Delivers the complete responses in `b`; returns the bytes used.
    fn responses(&self, b: &[u8], pending: &mut VecDeque<Pending>) -> Result<usize, String> {
        let mut used = 0;
        loop {
            let rest = b.get(used..).unwrap_or_default();
            let len = match check_header(rest) {
                Ok(None) => return Ok(used),
                Ok(Some(n)) => n,
                Err(e) => return Err(format!("PLC {} sent a bad frame: {e}", self.addr)),
            };
            if len < 8 {
                return Err(format!(
                    "PLC {} sent a frame without a function code",
                    self.addr
                ));
            }
            let Some(bytes) = rest.get(..len) else {
                return Ok(used);
            };
            used += len;
            let Some(mut frame) = Frame::from_slice(bytes) else {
                return Err(format!("PLC {} sent an oversized frame", self.addr));
            };
            let tid = frame.transaction_id();
            let Some(i) = pending.iter().position(|p| p.tid == tid) else {
                tracing::warn!(
                    "PLC {} answered unknown transaction {tid}: dropped",
                    self.addr
                );
                continue;
            };
            let Some(p) = pending.remove(i) else { continue };
            if frame.unit() != p.unit || frame.function_code() & 0x7F != p.function_code {
                let why = format!(
                    "PLC {} answered transaction {tid} out of step (unit {} function {} for unit {} function {})",
                    self.addr,
                    frame.unit(),
                    frame.function_code(),
                    p.unit,
                    p.function_code
                );
                pending.push_front(p);
                return Err(why);
            }
            frame.set_transaction_id(p.client_tid);
            answer(p.reply, frame, None);
        }
    }
}

async fn sleep_until_opt(t: Option<Instant>) {
    match t {
        Some(t) => tokio::time::sleep_until(t).await,
        None => std::future::pending().await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::net::TcpListener;

    /// A PLC that answers reads of holding registers with the address as value, in
    /// reverse order of arrival within each read (to prove id mapping), and optionally
    /// never answers.
    async fn fake_plc(reverse: bool, silent: bool) -> SocketAddr {
        let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = l.local_addr().unwrap();
        tokio::spawn(async move {
            while let Ok((mut s, _)) = l.accept().await {
                tokio::spawn(async move {
                    let mut buf = Vec::new();
                    let mut tmp = [0u8; 4096];
                    loop {
                        let n = match s.read(&mut tmp).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => n,
                        };
                        buf.extend_from_slice(&tmp[..n]);
                        let mut out = Vec::new();
                        while buf.len() >= 12 {
                            let f: Vec<u8> = buf.drain(..12).collect();
                            let addr = u16::from_be_bytes([f[8], f[9]]);
                            let mut r = vec![f[0], f[1], 0, 0, 0, 5, f[6], 3, 2];
                            r.extend_from_slice(&addr.to_be_bytes());
                            out.push(r);
                        }
                        if silent {
                            continue;
                        }
                        if reverse {
                            out.reverse();
                        }
                        for r in out {
                            if s.write_all(&r).await.is_err() {
                                return;
                            }
                        }
                    }
                });
            }
        });
        addr
    }

    fn read_frame(tid: u16, addr: u16) -> Frame {
        let mut b = vec![0, 0, 0, 0, 0, 6, 1, 3];
        b[..2].copy_from_slice(&tid.to_be_bytes());
        b.extend_from_slice(&addr.to_be_bytes());
        b.extend_from_slice(&[0, 1]);
        Frame::from_slice(&b).unwrap()
    }

    fn limits() -> Limits {
        Limits {
            upstream_timeout: Duration::from_millis(300),
            ..Limits::default()
        }
    }

    #[tokio::test]
    async fn pipelined_ids_map_back_even_out_of_order() {
        let plc = fake_plc(true, false).await;
        let (_stop, rx) = watch::channel(false);
        let up = Arc::new(Upstream::new(plc, limits(), rx));
        // two clients using the same transaction ids on the same connection
        let mut tasks = Vec::new();
        for client in 0..2u16 {
            let up = up.clone();
            tasks.push(tokio::spawn(async move {
                let (tx, mut rx) = mpsc::channel(64);
                let sem = Arc::new(tokio::sync::Semaphore::new(64));
                let mut h = UpHandle::new(0);
                for tid in 0..40u16 {
                    let permit = sem.clone().acquire_owned().await.unwrap();
                    h.send(
                        &up,
                        UpReq {
                            frame: read_frame(tid, client * 1000 + tid),
                            reply: ReplyTo::Client {
                                tx: tx.clone(),
                                permit,
                            },
                        },
                    )
                    .await;
                }
                let mut seen = 0;
                while seen < 40 {
                    let r = rx.recv().await.unwrap();
                    let f = r.frame;
                    assert!(r.upstream_error.is_none());
                    let tid = f.transaction_id();
                    let value = u16::from_be_bytes([f.as_bytes()[9], f.as_bytes()[10]]);
                    assert_eq!(
                        value,
                        client * 1000 + tid,
                        "response mapped to the right request"
                    );
                    seen += 1;
                }
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
    }

    #[tokio::test]
    async fn unreachable_and_silent_plcs_give_0x0b() {
        // nothing listens on this port
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let dead = l.local_addr().unwrap();
        drop(l);
        let (_stop, rx) = watch::channel(false);
        let up = Upstream::new(dead, limits(), rx.clone());
        let mut h = UpHandle::new(0);
        let e = h.request(&up, read_frame(7, 1)).await.unwrap_err();
        assert!(e.contains("unreachable"), "{e}");
        // within the retry pause the refusal is immediate
        let e2 = h.request(&up, read_frame(8, 1)).await.unwrap_err();
        assert!(e2.contains("unreachable"), "{e2}");

        let silent = fake_plc(false, true).await;
        let up = Upstream::new(silent, limits(), rx);
        let mut h = UpHandle::new(0);
        let t0 = std::time::Instant::now();
        let e = h.request(&up, read_frame(9, 1)).await.unwrap_err();
        assert!(e.contains("did not answer"), "{e}");
        assert!(t0.elapsed() >= Duration::from_millis(250));
        let ex = Frame::exception(9, 1, 3, GATEWAY_TARGET_FAILED);
        assert_eq!(ex.as_bytes(), &[0, 9, 0, 0, 0, 3, 1, 0x83, 0x0B]);
        assert_eq!(ex.exception_code(), Some(0x0B));
    }
}
