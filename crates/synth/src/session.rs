//! Timelines and conversations: a deterministic clock and random source, packet sinks,
//! TCP sessions with correct sequence/acknowledgement numbers, UDP flows, ARP and ping.
use crate::frame::{self, flags, Addrs, ArpOp, FrameError, IpOpts, Mac, TcpHeader, L2};
use sluice_capture::{LinkType, PcapWriter};
use std::io::{self, Write};
use std::net::IpAddr;

/// A small, fast, deterministic random source (xorshift64* seeded through splitmix64).
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator whose whole output is fixed by `seed`.
    pub fn new(seed: u64) -> Self {
        let mut z = seed.wrapping_add(0x9e37_79b9_7f4a_7c15);
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^= z >> 31;
        Rng(if z == 0 { 0x2545_f491_4f6c_dd1d } else { z })
    }

    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    pub fn next_u32(&mut self) -> u32 {
        (self.next_u64() >> 32) as u32
    }

    pub fn next_u16(&mut self) -> u16 {
        (self.next_u64() >> 48) as u16
    }

    /// Uniform in `0..n` (0 when `n` is 0).
    pub fn below(&mut self, n: u64) -> u64 {
        if n == 0 {
            0
        } else {
            ((u128::from(self.next_u64()) * u128::from(n)) >> 64) as u64
        }
    }

    /// Uniform in `lo..=hi` (`lo` when `hi < lo`).
    pub fn range(&mut self, lo: i64, hi: i64) -> i64 {
        if hi <= lo {
            return lo;
        }
        let span = (hi - lo) as u64;
        lo + self.below(span.saturating_add(1)) as i64
    }

    /// True with probability `p` (0.0..=1.0).
    pub fn chance(&mut self, p: f64) -> bool {
        ((self.next_u64() >> 11) as f64) < p * (1u64 << 53) as f64
    }

    /// Fills `out` with random bytes.
    pub fn fill(&mut self, out: &mut [u8]) {
        for chunk in out.chunks_mut(8) {
            let v = self.next_u64().to_le_bytes();
            chunk.copy_from_slice(&v[..chunk.len()]);
        }
    }

    /// An independent generator derived from this one.
    pub fn fork(&mut self) -> Rng {
        Rng::new(self.next_u64())
    }
}

/// Nanoseconds per microsecond, millisecond and second.
pub const US: i64 = 1_000;
pub const MS: i64 = 1_000_000;
pub const SEC: i64 = 1_000_000_000;

/// A timeline: the current capture time plus the random source that decides the gaps.
#[derive(Debug, Clone)]
pub struct Clock {
    now: i64,
    pub rng: Rng,
}

impl Clock {
    /// A timeline starting at `start_ns` (nanoseconds since the Unix epoch).
    pub fn new(start_ns: i64, seed: u64) -> Self {
        Clock {
            now: start_ns,
            rng: Rng::new(seed),
        }
    }

    pub fn now(&self) -> i64 {
        self.now
    }

    pub fn set(&mut self, ns: i64) {
        self.now = ns;
    }

    pub fn advance(&mut self, ns: i64) {
        self.now = self.now.saturating_add(ns.max(0));
    }

    /// Advances by a random gap in `lo_ns..=hi_ns`.
    pub fn jitter(&mut self, lo_ns: i64, hi_ns: i64) {
        let d = self.rng.range(lo_ns, hi_ns);
        self.advance(d);
    }

    /// Another timeline starting at the same time, with its own random source.
    pub fn fork(&mut self) -> Clock {
        Clock {
            now: self.now,
            rng: self.rng.fork(),
        }
    }
}

/// Receives frames with their capture time.
pub trait Sink {
    fn emit(&mut self, ts_ns: i64, frame: &[u8]);
}

/// Frames collected in memory (one arena, no allocation per frame), written out in
/// time order; frames with equal time keep the order they were emitted in.
#[derive(Debug, Default)]
pub struct Trace {
    bytes: Vec<u8>,
    index: Vec<(i64, usize, usize)>,
}

impl Sink for Trace {
    fn emit(&mut self, ts_ns: i64, frame: &[u8]) {
        let off = self.bytes.len();
        self.bytes.extend_from_slice(frame);
        self.index.push((ts_ns, off, frame.len()));
    }
}

impl Trace {
    pub fn new() -> Self {
        Trace::default()
    }

    pub fn len(&self) -> usize {
        self.index.len()
    }

    pub fn is_empty(&self) -> bool {
        self.index.is_empty()
    }

    /// Sorts by time (stable) and returns the frames in that order.
    pub fn sorted(&mut self) -> impl Iterator<Item = (i64, &[u8])> + '_ {
        self.index.sort_by_key(|e| (e.0, e.1));
        let bytes = &self.bytes;
        self.index
            .iter()
            .filter_map(move |&(ts, off, len)| Some((ts, bytes.get(off..off + len)?)))
    }

    /// Writes the frames in time order as an Ethernet pcap; returns the packet count.
    pub fn write_pcap<W: Write>(&mut self, out: W) -> io::Result<u64> {
        let mut w = PcapWriter::new(out, LinkType::ETHERNET, 65_535)?;
        let mut n = 0u64;
        for (ts, frame) in self.sorted() {
            w.write(ts, frame)?;
            n += 1;
        }
        w.finish()?;
        Ok(n)
    }
}

/// A station on the network as the capture point sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Host {
    /// The MAC address its frames carry at the capture point (a router's for hosts
    /// beyond one).
    pub mac: Mac,
    pub ip: IpAddr,
    /// TTL of its packets as seen at the capture point.
    pub ttl: u8,
}

impl Host {
    pub const fn new(mac: Mac, ip: IpAddr, ttl: u8) -> Self {
        Host { mac, ip, ttl }
    }
}

/// A host and a port.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Endpoint {
    pub host: Host,
    pub port: u16,
}

impl Endpoint {
    pub const fn new(host: Host, port: u16) -> Self {
        Endpoint { host, port }
    }
}

/// Direction of a segment inside a conversation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dir {
    ToServer,
    ToClient,
}

impl Dir {
    pub fn flip(self) -> Dir {
        match self {
            Dir::ToServer => Dir::ToClient,
            Dir::ToClient => Dir::ToServer,
        }
    }
}

/// What a port probe (a lone SYN) gets back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProbeAnswer {
    /// No host there: the SYN goes unanswered.
    Silent,
    /// Closed port: RST/ACK.
    Closed,
    /// Open port: SYN/ACK, then the prober resets (half-open scan).
    Open,
}

#[derive(Debug, Clone)]
struct Side {
    ep: Endpoint,
    /// Next sequence number this side sends.
    seq: u32,
    /// Sequence number of the peer up to which this side has received data.
    ack: u32,
    /// The acknowledgement number this side last put on the wire.
    ack_sent: u32,
    ip_id: u16,
    window: u16,
    mss: u16,
}

/// One TCP connection between a client and a server: handshake, data both ways with
/// proper sequence and acknowledgement numbers (segmented at the MSS), acks, close.
#[derive(Debug, Clone)]
pub struct TcpSession {
    c: Side,
    s: Side,
    addrs: Addrs,
    l2: L2,
    /// Round-trip time as seen at the capture point.
    pub rtt_ns: i64,
    /// Delay of a stand-alone acknowledgement (delayed ACK).
    pub ack_delay_ns: i64,
    buf: Vec<u8>,
    frames: u64,
    /// A delayed ACK not sent yet: who owes it and when it is due.
    pending: Option<(Dir, i64)>,
}

impl TcpSession {
    /// A connection (not yet opened) with random initial sequence numbers and IP ids.
    pub fn new(client: Endpoint, server: Endpoint, rng: &mut Rng) -> Result<Self, FrameError> {
        let addrs = Addrs::new(client.host.ip, server.host.ip)?;
        let side = |ep: Endpoint, rng: &mut Rng| Side {
            ep,
            seq: rng.next_u32(),
            ack: 0,
            ack_sent: 0,
            ip_id: rng.next_u16(),
            window: 64_240,
            mss: 1460,
        };
        let c = side(client, rng);
        let s = side(server, rng);
        Ok(TcpSession {
            c,
            s,
            addrs,
            l2: L2::new(client.host.mac, server.host.mac),
            rtt_ns: 300 * US,
            ack_delay_ns: 40 * MS,
            buf: Vec::with_capacity(1600),
            frames: 0,
            pending: None,
        })
    }

    /// Sets the round-trip time.
    pub fn with_rtt(mut self, rtt_ns: i64) -> Self {
        self.rtt_ns = rtt_ns.max(1);
        self
    }

    /// Tags every frame with an 802.1Q VLAN id.
    pub fn with_vlan(mut self, vid: u16) -> Result<Self, FrameError> {
        if vid > 0x0fff {
            return Err(FrameError::BadVlan(vid));
        }
        self.l2.vlan = Some(vid);
        Ok(self)
    }

    /// Sets the receive windows the client and server advertise.
    pub fn with_windows(mut self, client: u16, server: u16) -> Self {
        self.c.window = client;
        self.s.window = server;
        self
    }

    /// Sets the maximum segment sizes the client and server announce.
    pub fn with_mss(mut self, client: u16, server: u16) -> Self {
        self.c.mss = client.max(1);
        self.s.mss = server.max(1);
        self
    }

    pub fn client(&self) -> Endpoint {
        self.c.ep
    }

    pub fn server(&self) -> Endpoint {
        self.s.ep
    }

    /// Frames emitted so far.
    pub fn frames(&self) -> u64 {
        self.frames
    }

    /// Before a frame from `dir` at `ts`: a delayed ACK that fell due is sent; one owed
    /// by the side now sending rides on this frame instead.
    fn emit(
        &mut self,
        dir: Dir,
        fl: u8,
        payload: &[u8],
        opts: bool,
        ts: i64,
        sink: &mut impl Sink,
    ) -> Result<(), FrameError> {
        if let Some((owner, due)) = self.pending {
            if due <= ts {
                self.pending = None;
                self.emit_raw(owner, flags::ACK, &[], false, due, sink)?;
            } else if owner == dir {
                self.pending = None;
            }
        }
        self.emit_raw(dir, fl, payload, opts, ts, sink)
    }

    fn emit_raw(
        &mut self,
        dir: Dir,
        fl: u8,
        payload: &[u8],
        opts: bool,
        ts: i64,
        sink: &mut impl Sink,
    ) -> Result<(), FrameError> {
        let (me, peer, l2, addrs) = match dir {
            Dir::ToServer => (&mut self.c, &self.s, self.l2, self.addrs),
            Dir::ToClient => (
                &mut self.s,
                &self.c,
                self.l2.reversed(),
                self.addrs.reversed(),
            ),
        };
        if fl & flags::ACK != 0 {
            me.ack_sent = me.ack;
        }
        let tcp = TcpHeader {
            src_port: me.ep.port,
            dst_port: peer.ep.port,
            seq: me.seq,
            ack: if fl & flags::ACK != 0 { me.ack } else { 0 },
            flags: fl,
            window: me.window,
            mss: if opts { Some(me.mss) } else { None },
            wscale: None,
            sack_perm: opts,
        };
        let ip = IpOpts {
            ttl: me.ep.host.ttl,
            id: me.ip_id,
            df: true,
            dscp: 0,
        };
        me.ip_id = me.ip_id.wrapping_add(1);
        let mut consumed = payload.len() as u32;
        if fl & (flags::SYN | flags::FIN) != 0 {
            consumed = consumed.wrapping_add(1);
        }
        me.seq = me.seq.wrapping_add(consumed);
        frame::tcp_frame(&mut self.buf, &l2, &addrs, &ip, &tcp, payload)?;
        sink.emit(ts, &self.buf);
        self.frames += 1;
        Ok(())
    }

    /// Records that the receiver of `dir` has seen everything sent so far in `dir`.
    fn mark_received(&mut self, dir: Dir) {
        match dir {
            Dir::ToServer => self.s.ack = self.c.seq,
            Dir::ToClient => self.c.ack = self.s.seq,
        }
    }

    /// Three-way handshake starting now; the clock ends after the client's ACK.
    pub fn connect(&mut self, clk: &mut Clock, sink: &mut impl Sink) -> Result<(), FrameError> {
        self.emit(Dir::ToServer, flags::SYN, &[], true, clk.now(), sink)?;
        self.mark_received(Dir::ToServer);
        clk.advance(self.rtt_ns);
        clk.jitter(5 * US, 60 * US);
        self.emit(
            Dir::ToClient,
            flags::SYN | flags::ACK,
            &[],
            true,
            clk.now(),
            sink,
        )?;
        self.mark_received(Dir::ToClient);
        let mss = self.c.mss.min(self.s.mss);
        self.c.mss = mss;
        self.s.mss = mss;
        clk.jitter(20 * US, 120 * US);
        self.emit(Dir::ToServer, flags::ACK, &[], false, clk.now(), sink)
    }

    /// Sends `payload` in direction `dir`, cut into MSS-sized segments (PSH on the
    /// last). Long transfers are acknowledged every second segment, one RTT later.
    /// The clock ends after the last data segment.
    pub fn send(
        &mut self,
        dir: Dir,
        payload: &[u8],
        clk: &mut Clock,
        sink: &mut impl Sink,
    ) -> Result<(), FrameError> {
        let mss = usize::from(match dir {
            Dir::ToServer => self.c.mss,
            Dir::ToClient => self.s.mss,
        })
        .max(1);
        let n = payload.len().div_ceil(mss).max(1);
        for (i, seg) in payload.chunks(mss).enumerate() {
            let last = i + 1 == n;
            let fl = if last {
                flags::PSH | flags::ACK
            } else {
                flags::ACK
            };
            self.emit(dir, fl, seg, false, clk.now(), sink)?;
            if n > 2 && (i % 2 == 1 || last) {
                // The receiver acks what it has, one RTT after the segment left.
                let t = clk.now() + self.rtt_ns + clk.rng.range(0, 30 * US);
                self.mark_received(dir);
                self.emit(dir.flip(), flags::ACK, &[], false, t, sink)?;
            }
            // Serialisation at 100 Mbit/s plus a little jitter.
            let gap = (seg.len() as i64 + 54) * 80 + clk.rng.range(0, 20 * US);
            clk.advance(gap);
        }
        if payload.is_empty() {
            // Nothing to send: keep the state as is.
            return Ok(());
        }
        self.mark_received(dir);
        Ok(())
    }

    /// A stand-alone ACK, now, from the receiver of data sent in `dir`.
    pub fn ack(
        &mut self,
        dir: Dir,
        clk: &mut Clock,
        sink: &mut impl Sink,
    ) -> Result<(), FrameError> {
        self.mark_received(dir);
        self.emit(dir.flip(), flags::ACK, &[], false, clk.now(), sink)
    }

    /// Schedules a delayed ACK from the receiver of data sent in `dir`, due after
    /// `ack_delay_ns`: sent before the next frame after that time, or dropped when
    /// that side sends data first (the ACK then rides on its data).
    /// Nothing is scheduled when everything received was already acknowledged.
    pub fn delayed_ack(&mut self, dir: Dir, clk: &mut Clock) {
        self.mark_received(dir);
        let receiver = match dir {
            Dir::ToServer => &self.s,
            Dir::ToClient => &self.c,
        };
        if receiver.ack_sent == receiver.ack {
            return;
        }
        let due = clk.now() + self.ack_delay_ns + clk.rng.range(0, 2 * MS);
        self.pending = Some((dir.flip(), due));
    }

    /// Sends a delayed ACK still owed (call when a conversation is left open at the end
    /// of a capture).
    pub fn flush(&mut self, sink: &mut impl Sink) -> Result<(), FrameError> {
        if let Some((owner, due)) = self.pending.take() {
            self.emit_raw(owner, flags::ACK, &[], false, due, sink)?;
        }
        Ok(())
    }

    /// Request from the client, response from the server after `think_ns`, then the
    /// client's delayed ACK (see [`TcpSession::delayed_ack`]). The clock ends at the
    /// response.
    pub fn exchange(
        &mut self,
        request: &[u8],
        think_ns: i64,
        response: &[u8],
        clk: &mut Clock,
        sink: &mut impl Sink,
    ) -> Result<(), FrameError> {
        self.send(Dir::ToServer, request, clk, sink)?;
        clk.advance(self.rtt_ns + think_ns);
        self.send(Dir::ToClient, response, clk, sink)?;
        self.delayed_ack(Dir::ToClient, clk);
        Ok(())
    }

    /// Orderly close: FIN from `initiator`, FIN/ACK from its peer, last ACK.
    pub fn close(
        &mut self,
        initiator: Dir,
        clk: &mut Clock,
        sink: &mut impl Sink,
    ) -> Result<(), FrameError> {
        self.mark_received(initiator.flip());
        self.emit(
            initiator,
            flags::FIN | flags::ACK,
            &[],
            false,
            clk.now(),
            sink,
        )?;
        self.mark_received(initiator);
        clk.advance(self.rtt_ns);
        clk.jitter(10 * US, 200 * US);
        self.emit(
            initiator.flip(),
            flags::FIN | flags::ACK,
            &[],
            false,
            clk.now(),
            sink,
        )?;
        self.mark_received(initiator.flip());
        clk.jitter(20 * US, 100 * US);
        self.emit(initiator, flags::ACK, &[], false, clk.now(), sink)
    }

    /// Abort: RST/ACK from `from`.
    pub fn reset(
        &mut self,
        from: Dir,
        clk: &mut Clock,
        sink: &mut impl Sink,
    ) -> Result<(), FrameError> {
        self.mark_received(from.flip());
        self.emit(from, flags::RST | flags::ACK, &[], false, clk.now(), sink)
    }

    /// A lone SYN (port scan) and what comes back.
    pub fn probe(
        &mut self,
        answer: ProbeAnswer,
        clk: &mut Clock,
        sink: &mut impl Sink,
    ) -> Result<(), FrameError> {
        self.emit(Dir::ToServer, flags::SYN, &[], true, clk.now(), sink)?;
        self.mark_received(Dir::ToServer);
        let mut t = clk.clone();
        t.advance(self.rtt_ns);
        t.jitter(5 * US, 80 * US);
        match answer {
            ProbeAnswer::Silent => Ok(()),
            ProbeAnswer::Closed => {
                self.s.seq = 0; // a stack refusing a SYN answers with sequence number 0
                self.emit(
                    Dir::ToClient,
                    flags::RST | flags::ACK,
                    &[],
                    false,
                    t.now(),
                    sink,
                )
            }
            ProbeAnswer::Open => {
                self.emit(
                    Dir::ToClient,
                    flags::SYN | flags::ACK,
                    &[],
                    true,
                    t.now(),
                    sink,
                )?;
                t.jitter(10 * US, 50 * US);
                self.emit(Dir::ToServer, flags::RST, &[], false, t.now(), sink)
            }
        }
    }
}

/// A UDP conversation between a client and a server port.
#[derive(Debug, Clone)]
pub struct UdpFlow {
    client: Endpoint,
    server: Endpoint,
    addrs: Addrs,
    l2: L2,
    ids: [u16; 2],
    /// Whether datagrams carry the IPv4 "don't fragment" flag.
    pub df: bool,
    buf: Vec<u8>,
}

impl UdpFlow {
    pub fn new(client: Endpoint, server: Endpoint, rng: &mut Rng) -> Result<Self, FrameError> {
        Ok(UdpFlow {
            client,
            server,
            addrs: Addrs::new(client.host.ip, server.host.ip)?,
            l2: L2::new(client.host.mac, server.host.mac),
            ids: [rng.next_u16(), rng.next_u16()],
            df: false,
            buf: Vec::with_capacity(600),
        })
    }

    /// One datagram in `dir`, stamped now.
    pub fn send(
        &mut self,
        dir: Dir,
        payload: &[u8],
        clk: &Clock,
        sink: &mut impl Sink,
    ) -> Result<(), FrameError> {
        let (from, to, l2, addrs, id) = match dir {
            Dir::ToServer => (
                self.client,
                self.server,
                self.l2,
                self.addrs,
                &mut self.ids[0],
            ),
            Dir::ToClient => (
                self.server,
                self.client,
                self.l2.reversed(),
                self.addrs.reversed(),
                &mut self.ids[1],
            ),
        };
        let ip = IpOpts {
            ttl: from.host.ttl,
            id: *id,
            df: self.df,
            dscp: 0,
        };
        *id = id.wrapping_add(1);
        frame::udp_frame(&mut self.buf, &l2, &addrs, &ip, from.port, to.port, payload)?;
        sink.emit(clk.now(), &self.buf);
        Ok(())
    }
}

/// `asker` ARPs for `target` (broadcast request, unicast reply). IPv6 hosts are skipped.
pub fn arp_exchange(
    asker: &Host,
    target: &Host,
    clk: &mut Clock,
    sink: &mut impl Sink,
) -> Result<(), FrameError> {
    let (IpAddr::V4(a), IpAddr::V4(t)) = (asker.ip, target.ip) else {
        return Ok(());
    };
    let mut buf = Vec::with_capacity(64);
    frame::arp_frame(
        &mut buf,
        &L2::new(asker.mac, frame::BROADCAST),
        ArpOp::Request,
        asker.mac,
        a,
        [0; 6],
        t,
    )?;
    sink.emit(clk.now(), &buf);
    clk.jitter(50 * US, 400 * US);
    frame::arp_frame(
        &mut buf,
        &L2::new(target.mac, asker.mac),
        ArpOp::Reply,
        target.mac,
        t,
        asker.mac,
        a,
    )?;
    sink.emit(clk.now(), &buf);
    Ok(())
}

/// `count` ICMP echo requests from `from` to `to`, one a second, each answered.
pub fn ping(
    from: &Host,
    to: &Host,
    count: u16,
    clk: &mut Clock,
    sink: &mut impl Sink,
) -> Result<(), FrameError> {
    let addrs = Addrs::new(from.ip, to.ip)?;
    let ident = clk.rng.next_u16();
    let mut ids = [clk.rng.next_u16(), clk.rng.next_u16()];
    let mut payload = [0u8; 32];
    for (i, b) in payload.iter_mut().enumerate() {
        *b = b'a' + (i % 23) as u8; // the classic Windows ping pattern
    }
    let mut buf = Vec::with_capacity(128);
    for seq in 1..=count {
        let ip = IpOpts {
            ttl: from.ttl,
            id: ids[0],
            df: false,
            dscp: 0,
        };
        ids[0] = ids[0].wrapping_add(1);
        frame::icmp_echo_frame(
            &mut buf,
            &L2::new(from.mac, to.mac),
            &addrs,
            &ip,
            false,
            ident,
            seq,
            &payload,
        )?;
        sink.emit(clk.now(), &buf);
        let mut t = clk.clone();
        t.jitter(200 * US, 900 * US);
        let ip = IpOpts {
            ttl: to.ttl,
            id: ids[1],
            df: false,
            dscp: 0,
        };
        ids[1] = ids[1].wrapping_add(1);
        frame::icmp_echo_frame(
            &mut buf,
            &L2::new(to.mac, from.mac),
            &addrs.reversed(),
            &ip,
            true,
            ident,
            seq,
            &payload,
        )?;
        sink.emit(t.now(), &buf);
        clk.jitter(SEC - 5 * MS, SEC + 5 * MS);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    fn host(last: u8, mac_last: u8) -> Host {
        Host::new(
            [0x00, 0x80, 0xf4, 0, 0, mac_last],
            IpAddr::V4(Ipv4Addr::new(10, 10, 1, last)),
            64,
        )
    }

    fn field_u32(f: &[u8], at: usize) -> u32 {
        u32::from_be_bytes([f[at], f[at + 1], f[at + 2], f[at + 3]])
    }

    #[test]
    fn rng_is_deterministic_and_spread() {
        let mut a = Rng::new(7);
        let mut b = Rng::new(7);
        let xs: Vec<u64> = (0..100).map(|_| a.next_u64()).collect();
        let ys: Vec<u64> = (0..100).map(|_| b.next_u64()).collect();
        assert_eq!(xs, ys);
        assert_ne!(Rng::new(8).next_u64(), xs[0]);
        let mut r = Rng::new(1);
        for _ in 0..1000 {
            let v = r.range(50, 200);
            assert!((50..=200).contains(&v));
            assert!(r.below(10) < 10);
        }
    }

    #[test]
    fn seq_ack_follow_the_bytes() {
        let mut rng = Rng::new(3);
        let mut s = TcpSession::new(
            Endpoint::new(host(20, 1), 50000),
            Endpoint::new(host(10, 2), 502),
            &mut rng,
        )
        .unwrap();
        let mut clk = Clock::new(0, 1);
        let mut t = Trace::new();
        s.connect(&mut clk, &mut t).unwrap();
        s.exchange(&[1u8; 12], MS, &[2u8; 29], &mut clk, &mut t)
            .unwrap();
        s.send(Dir::ToClient, &vec![3u8; 4000], &mut clk, &mut t)
            .unwrap();
        clk.advance(SEC);
        s.close(Dir::ToServer, &mut clk, &mut t).unwrap();
        let frames: Vec<(i64, Vec<u8>)> = t.sorted().map(|(ts, f)| (ts, f.to_vec())).collect();
        // SYN, SYN/ACK, ACK, req, resp, 3 data + 2 acks (the first carries the delayed
        // ACK of the response), FIN, FIN, ACK
        assert_eq!(frames.len(), 3 + 2 + 5 + 3);
        let syn = &frames[0].1;
        let synack = &frames[1].1;
        let isn_c = field_u32(syn, 38);
        let isn_s = field_u32(synack, 38);
        assert_eq!(field_u32(synack, 42), isn_c.wrapping_add(1));
        let req = frames
            .iter()
            .find(|(_, f)| f.len() == 54 + 12 && f[34..36] == 50000u16.to_be_bytes())
            .unwrap();
        assert_eq!(field_u32(&req.1, 38), isn_c.wrapping_add(1));
        assert_eq!(field_u32(&req.1, 42), isn_s.wrapping_add(1));
        let resp = frames.iter().find(|(_, f)| f.len() == 54 + 29).unwrap();
        assert_eq!(field_u32(&resp.1, 38), isn_s.wrapping_add(1));
        assert_eq!(field_u32(&resp.1, 42), isn_c.wrapping_add(13));
        // Segmentation of 4000 bytes at MSS 1460.
        let sizes: Vec<usize> = frames
            .iter()
            .filter(|(_, f)| f[34..36] == 502u16.to_be_bytes() && f.len() > 54 + 29)
            .map(|(_, f)| f.len() - 54)
            .collect();
        assert_eq!(sizes, vec![1460, 1460, 1080]);
        let last = &frames.last().unwrap().1;
        assert_eq!(field_u32(last, 42), isn_s.wrapping_add(1 + 29 + 4000 + 1));
        for (i, w) in frames.windows(2).enumerate() {
            assert!(w[0].0 <= w[1].0, "time order at {i}");
        }
        for (_, f) in &frames {
            assert_eq!(frame::verify_ipv4(f), Some(true));
        }
    }
}
