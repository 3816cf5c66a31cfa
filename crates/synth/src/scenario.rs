//! Scenarios of the simulated Riverside water-treatment plant, on the addresses of the
//! example policy in DESIGN.md: a benign day and the attacks Sluice must see.
//!
//! Every scenario is a pure function of its seed: the same seed gives byte-identical
//! output. Writes to the PLCs are planned before any traffic is generated, so every
//! read, whoever makes it and whenever, returns the values the PLC holds at that time.
use crate::app::modbus::{fc, Device, Pdu};
use crate::app::{dns, http, modbus, s7, tls, vnc, AppError};
use crate::frame::{FrameError, Mac};
use crate::session::{
    arp_exchange, ping, Clock, Dir, Endpoint, Host, ProbeAnswer, Rng, TcpSession, Trace, UdpFlow,
    MS, SEC, US,
};
use std::io::{self, Write};
use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

/// Names accepted by [`write_scenario`].
pub const SCENARIOS: &[&str] = &[
    "benign",
    "vendor_day",
    "oldsmar",
    "pivot",
    "s7_stop",
    "recon",
    "demo",
];

/// Capture start of every scenario: 2021-02-05 13:00:00 UTC (the day of Oldsmar).
pub const START_NS: i64 = 1_612_530_000 * SEC;

/// Why a scenario could not be produced.
#[derive(Debug, thiserror::Error)]
pub enum ScenarioError {
    #[error("unknown scenario {0:?} (known: benign, oldsmar, pivot, s7_stop, recon, demo)")]
    Unknown(String),
    #[error(transparent)]
    Frame(#[from] FrameError),
    #[error(transparent)]
    App(#[from] AppError),
    #[error(transparent)]
    Io(#[from] io::Error),
}

impl From<ScenarioError> for io::Error {
    fn from(e: ScenarioError) -> io::Error {
        match e {
            ScenarioError::Io(e) => e,
            ScenarioError::Unknown(_) => io::Error::new(io::ErrorKind::InvalidInput, e),
            other => io::Error::other(other),
        }
    }
}

const fn v4(a: u8, b: u8, c: u8, d: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(a, b, c, d))
}

/// The plant's stations. MAC prefixes are registered OUIs (IEEE oui.txt):
/// 00:80:F4 Telemecanique Electrique (Schneider Electric), 00:1B:1B Siemens AG,
/// 00:00:BC Rockwell Automation, 00:14:22 and F4:8E:38 Dell, 3C:D9:2B Hewlett Packard,
/// 10:C5:95 Lenovo, 00:50:56 VMware, AC:71:2E Fortinet (the site firewall, which is the
/// MAC every Internet host's frames carry).
pub mod hosts {
    use super::*;

    /// Site firewall / router towards the Internet.
    pub const FIREWALL_MAC: Mac = [0xac, 0x71, 0x2e, 0x4f, 0x10, 0x01];
    /// PLC1: Schneider Electric Modicon M340, Modbus server, unit 1 (dosing).
    pub const PLC1: Host = Host::new([0x00, 0x80, 0xf4, 0x0a, 0x11, 0x10], v4(10, 10, 1, 10), 64);
    /// PLC2: Schneider Electric Modicon M221, Modbus server, unit 1 (filtration).
    pub const PLC2: Host = Host::new([0x00, 0x80, 0xf4, 0x0a, 0x11, 0x11], v4(10, 10, 1, 11), 64);
    /// Siemens S7-300 (S7comm on 102); Siemens stacks use TTL 30.
    pub const S7PLC: Host = Host::new([0x00, 0x1b, 0x1b, 0x3c, 0x01, 0x20], v4(10, 10, 1, 20), 30);
    /// Rockwell controller (EtherNet/IP on 44818).
    pub const ENIP_PLC: Host =
        Host::new([0x00, 0x00, 0xbc, 0x5e, 0x01, 0x30], v4(10, 10, 1, 30), 64);
    /// HMI (Windows).
    pub const HMI: Host = Host::new([0x00, 0x14, 0x22, 0x6b, 0x02, 0x20], v4(10, 10, 2, 20), 128);
    /// Engineering workstation (Windows).
    pub const EWS: Host = Host::new([0x3c, 0xd9, 0x2b, 0x71, 0x02, 0x40], v4(10, 10, 2, 40), 128);
    /// An unknown laptop (Linux) plugged into the supervisory network.
    pub const ROGUE: Host = Host::new([0x10, 0xc5, 0x95, 0x99, 0x02, 0x99], v4(10, 10, 2, 99), 64);
    /// Historian (Windows server).
    pub const HISTORIAN: Host =
        Host::new([0xf4, 0x8e, 0x38, 0x2c, 0x03, 0x30], v4(10, 10, 3, 30), 128);
    /// Jump host in the DMZ (Linux VM).
    pub const JUMP: Host = Host::new([0x00, 0x50, 0x56, 0x8a, 0x30, 0x05], v4(10, 30, 0, 5), 64);
    /// Office PCs in the enterprise zone.
    pub const OFFICE: [Host; 4] = [
        Host::new([0x00, 0x14, 0x22, 0x9e, 0x05, 0x23], v4(10, 20, 5, 23), 128),
        Host::new([0x3c, 0xd9, 0x2b, 0x9e, 0x05, 0x31], v4(10, 20, 5, 31), 128),
        Host::new([0xf4, 0x8e, 0x38, 0x9e, 0x05, 0x47], v4(10, 20, 5, 47), 128),
        Host::new([0x10, 0xc5, 0x95, 0x9e, 0x05, 0x58], v4(10, 20, 5, 58), 128),
    ];
    /// The office PC that pivots into the control network.
    pub const PIVOT_PC: Host = OFFICE[0];
    /// Internet resolver.
    pub const RESOLVER: Host = Host::new(FIREWALL_MAC, v4(198, 51, 100, 53), 57);
    /// Internet web servers and their names.
    pub const WEB: [(Host, &str); 4] = [
        (
            Host::new(FIREWALL_MAC, v4(203, 0, 113, 10), 52),
            "www.example.com",
        ),
        (
            Host::new(FIREWALL_MAC, v4(203, 0, 113, 25), 50),
            "updates.example.net",
        ),
        (
            Host::new(FIREWALL_MAC, v4(198, 51, 100, 80), 55),
            "news.example.org",
        ),
        (
            Host::new(FIREWALL_MAC, v4(198, 51, 100, 91), 53),
            "mail.example.com",
        ),
    ];
    /// The remote-support vendor reaching the jump host.
    pub const VENDOR: Host = Host::new(FIREWALL_MAC, v4(198, 51, 100, 77), 54);
    /// The Oldsmar intruder.
    pub const ATTACKER: Host = Host::new(FIREWALL_MAC, v4(203, 0, 113, 66), 49);
}

use hosts::*;

// ---------------------------------------------------------------------------------
// Process model and planned writes
// ---------------------------------------------------------------------------------

/// A write to a PLC, planned ahead of traffic generation.
#[derive(Debug, Clone, PartialEq, Eq)]
enum WriteOp {
    Register(u16, u16),
    Coil(u16, bool),
    Registers(u16, Vec<u16>),
    Coils(u16, Vec<bool>),
}

impl WriteOp {
    fn pdu(&self) -> Pdu<'_> {
        match self {
            WriteOp::Register(a, v) => Pdu::WriteSingleRegister {
                address: *a,
                value: *v,
            },
            WriteOp::Coil(a, v) => Pdu::WriteSingleCoil {
                address: *a,
                value: *v,
            },
            WriteOp::Registers(a, v) => Pdu::WriteMultipleRegisters {
                address: *a,
                values: v,
            },
            WriteOp::Coils(a, v) => Pdu::WriteMultipleCoils {
                address: *a,
                values: v,
            },
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Writer {
    Hmi,
    PivotPc,
}

#[derive(Debug, Clone)]
struct PlannedWrite {
    t: i64,
    writer: Writer,
    op: WriteOp,
}

/// A Modbus PLC: identity, a process behind its registers and the writes it receives.
#[derive(Debug, Clone)]
struct Plc {
    host: Host,
    base: Device,
    /// Phase and scale of its process, so the two PLCs do not read alike.
    phase: u64,
    writes: Vec<PlannedWrite>,
}

/// A small deterministic noise in `-amp..=amp` for (t second, register).
fn noise(seed: u64, t_s: i64, reg: u64, amp: i64) -> i64 {
    Rng::new(seed ^ (t_s as u64).wrapping_mul(0x9e37_79b9) ^ reg.wrapping_mul(0x85eb_ca6b))
        .range(-amp, amp)
}

impl Plc {
    fn new(host: Host, phase: u64, vendor: &str, product: &str, revision: &str) -> Self {
        let mut base = Device::new(1, 32).with_identity(vendor, product, revision);
        base.holding[5] = 100; // NaOH setpoint, ppm
        Plc {
            host,
            base,
            phase,
            writes: Vec::new(),
        }
    }

    /// The device as it is at `t`: process values plus every write made up to then.
    fn at(&self, t: i64) -> Device {
        let mut d = self.base.clone();
        let s = (t - START_NS) / SEC;
        let p = self.phase;
        // A slow fill/draw cycle of the clear well, about ten minutes long.
        let cycle = ((s + p as i64 * 97) % 600) as f64 / 600.0 * std::f64::consts::TAU;
        let level = 350.0 + 40.0 * cycle.sin();
        let h = &mut d.holding;
        h[0] = (level as i64 + noise(p, s, 0, 1)) as u16; // tank level, cm
        h[1] = (1250 + noise(p, s, 1, 30)) as u16; // inflow, 0.1 L/s
        h[2] = (1240 + noise(p, s, 2, 30)) as u16; // outflow, 0.1 L/s
        h[3] = (712 + noise(p, s / 10, 3, 6)) as u16; // pH x100
        h[4] = (148 + noise(p, s / 5, 4, 3)) as u16; // free chlorine, 0.01 mg/L
        h[6] = (42 + noise(p, s / 30, 6, 2)) as u16; // dosing pump speed, %
        h[7] = (31 + noise(p, s / 3, 7, 4)) as u16; // turbidity, 0.01 NTU
        h[8] = 0; // alarm word
        h[9] = (s & 0xffff) as u16; // heartbeat
        for (i, r) in d.input.iter_mut().enumerate().take(8) {
            // Raw analog inputs, 0..27648 full scale.
            *r = (13_800 + 900 * i as i64 + noise(p, s, 100 + i as u64, 40)) as u16;
        }
        d.coils[0] = true; // intake pump running
        d.coils[1] = true; // dosing pump running
        d.coils[2] = (s / 300) % 2 == 1; // backwash valve
        d.coils[4] = true; // auto mode
        d.discrete_inputs[0] = true; // power OK
        d.discrete_inputs[1] = level > 330.0; // high-level switch
        d.discrete_inputs[3] = true; // door closed
        for w in self.writes.iter().filter(|w| w.t <= t) {
            let mut sink = Vec::new();
            // A write outside the tables only yields an exception: ignore the result.
            let _ = d.handle(0, 1, &w.op.pdu(), &mut sink);
        }
        d
    }
}

// ---------------------------------------------------------------------------------
// The plant: shared state and the activities that fill the trace
// ---------------------------------------------------------------------------------

struct Plant {
    rng: Rng,
    trace: Trace,
    plc1: Plc,
    plc2: Plc,
    start: i64,
    end: i64,
    /// Ports handed out to clients, per client, so none repeats.
    next_port: u16,
}

fn modbus_txn(
    s: &mut TcpSession,
    clk: &mut Clock,
    trace: &mut Trace,
    plc: &Plc,
    tid: &mut u16,
    unit: u8,
    req: &Pdu<'_>,
) -> Result<(), ScenarioError> {
    *tid = tid.wrapping_add(1);
    let mut q = Vec::with_capacity(32);
    modbus::encode(&mut q, *tid, unit, req)?;
    let think = clk.rng.range(800 * US, 4 * MS);
    let mut r = Vec::with_capacity(300);
    plc.at(clk.now() + think).handle(*tid, unit, req, &mut r)?;
    s.exchange(&q, think, &r, clk, trace)?;
    Ok(())
}

/// One message, and the receiver's delayed ACK unless it answers first.
fn say(
    s: &mut TcpSession,
    dir: Dir,
    msg: &[u8],
    clk: &mut Clock,
    trace: &mut Trace,
) -> Result<(), FrameError> {
    s.send(dir, msg, clk, trace)?;
    s.delayed_ack(dir, clk);
    Ok(())
}

/// The other side takes its turn: one round trip plus its processing time.
fn turn(s: &TcpSession, clk: &mut Clock, lo: i64, hi: i64) {
    clk.advance(s.rtt_ns);
    clk.jitter(lo, hi);
}

impl Plant {
    fn new(seed: u64, duration: Duration) -> Self {
        let dur = i64::try_from(duration.as_nanos())
            .unwrap_or(i64::MAX / 4)
            .min(i64::MAX / 4);
        Plant {
            rng: Rng::new(seed),
            trace: Trace::new(),
            plc1: Plc::new(PLC1, 1, "Schneider Electric", "BMX P34 2020", "v3.10"),
            plc2: Plc::new(PLC2, 2, "Schneider Electric", "TM221CE24T", "v1.10"),
            start: START_NS,
            end: START_NS + dur,
            next_port: 49_700,
        }
    }

    fn port(&mut self) -> u16 {
        let p = self.next_port;
        self.next_port = if p >= 65_000 {
            49_700
        } else {
            p + 1 + self.rng.below(7) as u16
        };
        p
    }

    /// A timeline starting at `t` plus up to a millisecond (nothing starts on the tick).
    fn clock_at(&mut self, t: i64) -> Clock {
        let t = t + self.rng.range(0, MS);
        Clock::new(t, self.rng.next_u64())
    }

    /// Operator setpoint changes on PLC1 register 5: pairs 100 -> v -> 100 with v in
    /// 50..=200, |v - 100| <= 50, avoiding `quiet` (a time window).
    fn plan_operator_writes(&mut self, quiet: Option<(i64, i64)>) {
        let mut t = self.start + self.rng.range(25, 60) * SEC;
        while t + 40 * SEC < self.end {
            let back = t + self.rng.range(15, 40) * SEC;
            let clear = quiet.is_none_or(|(a, b)| back + 10 * SEC < a || t > b + 10 * SEC);
            if clear {
                let mut v = 100;
                while v == 100 {
                    v = self.rng.range(50, 150) as u16;
                }
                let off = self.rng.range(400_000, 700_000) * US;
                self.plc1.writes.push(PlannedWrite {
                    t: t + off,
                    writer: Writer::Hmi,
                    op: WriteOp::Register(5, v),
                });
                self.plc1.writes.push(PlannedWrite {
                    t: back + off,
                    writer: Writer::Hmi,
                    op: WriteOp::Register(5, 100),
                });
            }
            t = back + self.rng.range(45, 120) * SEC;
        }
    }

    /// The HMI polls both PLCs once a second (FC3 registers 0-9, FC1 coils 0-15), reads
    /// their identification once, and sends the planned writes of its operator.
    fn hmi(&mut self) -> Result<(), ScenarioError> {
        let mut writes: Vec<(usize, PlannedWrite)> = Vec::new();
        for (i, plc) in [&self.plc1, &self.plc2].into_iter().enumerate() {
            writes.extend(
                plc.writes
                    .iter()
                    .filter(|w| w.writer == Writer::Hmi)
                    .map(|w| (i, w.clone())),
            );
        }
        writes.sort_by_key(|(_, w)| w.t);
        let mut clk = self.clock_at(self.start + 150 * MS);
        let mut sessions = Vec::new();
        for plc in [&self.plc1, &self.plc2] {
            let p = self.next_port;
            self.next_port += 1;
            let s = TcpSession::new(
                Endpoint::new(HMI, p),
                Endpoint::new(plc.host, 502),
                &mut self.rng,
            )?
            .with_rtt(self.rng.range(180, 400) * US)
            .with_windows(64_240, 2_048)
            .with_mss(1460, 536);
            sessions.push(s);
        }
        let mut tids = [self.rng.next_u16(), self.rng.next_u16()];
        let plcs = [&self.plc1, &self.plc2];
        for (i, s) in sessions.iter_mut().enumerate() {
            s.connect(&mut clk, &mut self.trace)?;
            clk.jitter(2 * MS, 8 * MS);
            let req = Pdu::ReadDeviceId {
                code: 1,
                object_id: 0,
            };
            modbus_txn(s, &mut clk, &mut self.trace, plcs[i], &mut tids[i], 1, &req)?;
            clk.jitter(5 * MS, 20 * MS);
        }
        let mut next = 0usize;
        let mut cycle = self.start + SEC;
        while cycle < self.end {
            clk.set(cycle.max(clk.now()));
            clk.jitter(0, 3 * MS);
            for (i, s) in sessions.iter_mut().enumerate() {
                let reads = [
                    Pdu::Read {
                        fc: fc::READ_HOLDING_REGISTERS,
                        address: 0,
                        quantity: 10,
                    },
                    Pdu::Read {
                        fc: fc::READ_COILS,
                        address: 0,
                        quantity: 16,
                    },
                ];
                for req in &reads {
                    modbus_txn(s, &mut clk, &mut self.trace, plcs[i], &mut tids[i], 1, req)?;
                    clk.jitter(300 * US, 2 * MS);
                }
            }
            let next_cycle = cycle + SEC;
            while let Some((i, w)) = writes.get(next) {
                if w.t >= next_cycle || w.t >= self.end {
                    break;
                }
                // Writes are planned between poll cycles; send each at its time.
                clk.set(w.t.max(clk.now()));
                let req = w.op.pdu();
                if let (Some(s), Some(plc), Some(tid)) =
                    (sessions.get_mut(*i), plcs.get(*i), tids.get_mut(*i))
                {
                    modbus_txn(s, &mut clk, &mut self.trace, plc, tid, 1, &req)?;
                }
                next += 1;
            }
            cycle = next_cycle;
        }
        for s in &mut sessions {
            s.flush(&mut self.trace)?;
        }
        Ok(())
    }

    /// The historian reads both PLCs every 5 s (FC3 and FC4) over long-lived sessions.
    fn historian(&mut self) -> Result<(), ScenarioError> {
        let mut clk = self.clock_at(self.start + 2 * SEC + 400 * MS);
        let plcs = [&self.plc1, &self.plc2];
        let mut sessions = Vec::new();
        for plc in plcs {
            let p = self.next_port;
            self.next_port += 1;
            let mut s = TcpSession::new(
                Endpoint::new(HISTORIAN, p),
                Endpoint::new(plc.host, 502),
                &mut self.rng,
            )?
            .with_rtt(self.rng.range(250, 500) * US)
            .with_windows(65_535, 2_048)
            .with_mss(1460, 536);
            s.connect(&mut clk, &mut self.trace)?;
            clk.jitter(MS, 3 * MS);
            sessions.push(s);
        }
        let mut tids = [0u16, 0u16];
        let mut t = clk.now();
        while t < self.end {
            clk.set(t.max(clk.now()));
            clk.jitter(0, 4 * MS);
            for (i, s) in sessions.iter_mut().enumerate() {
                let reads = [
                    Pdu::Read {
                        fc: fc::READ_HOLDING_REGISTERS,
                        address: 0,
                        quantity: 10,
                    },
                    Pdu::Read {
                        fc: fc::READ_INPUT_REGISTERS,
                        address: 0,
                        quantity: 8,
                    },
                ];
                for req in &reads {
                    modbus_txn(s, &mut clk, &mut self.trace, plcs[i], &mut tids[i], 1, req)?;
                    clk.jitter(500 * US, 3 * MS);
                }
            }
            t += 5 * SEC;
        }
        for s in &mut sessions {
            s.flush(&mut self.trace)?;
        }
        Ok(())
    }

    /// The engineering workstation: pings the PLCs, keeps an S7comm session to the
    /// Siemens PLC reading DB1 every 10 s, and reads PLC1's registers every 30 s over
    /// short connections.
    fn engineering(&mut self) -> Result<(), ScenarioError> {
        let mut clk = self.clock_at(self.start + 3 * SEC + 100 * MS);
        arp_exchange(&EWS, &HMI, &mut clk, &mut self.trace)?;
        clk.jitter(5 * MS, 20 * MS);
        let mut c2 = clk.fork();
        ping(&EWS, &PLC1, 2, &mut c2, &mut self.trace)?;
        clk.jitter(3 * SEC, 4 * SEC);
        let port = self.port();
        let mut s = TcpSession::new(
            Endpoint::new(EWS, port),
            Endpoint::new(S7PLC, 102),
            &mut self.rng,
        )?
        .with_rtt(self.rng.range(200, 350) * US)
        .with_windows(64_240, 8_192)
        .with_mss(1460, 960);
        let mut pdu_ref = self.rng.next_u16();
        s7_open(&mut s, &mut clk, &mut self.trace, &mut pdu_ref)?;
        let mut next_modbus = clk.now() + 7 * SEC;
        let mut t = clk.now();
        while t < self.end {
            clk.set(t.max(clk.now()));
            clk.jitter(0, 5 * MS);
            let items = [
                s7::Item {
                    area: s7::area::DB,
                    db: 1,
                    start: 0,
                    length: 20,
                },
                s7::Item {
                    area: s7::area::FLAGS,
                    db: 0,
                    start: 10,
                    length: 2,
                },
            ];
            let secs = ((clk.now() - START_NS) / SEC) as u16;
            let mut db = [0u8; 20];
            db[0..2].copy_from_slice(&secs.to_be_bytes());
            db[2..4].copy_from_slice(&(1180 + (secs % 40)).to_be_bytes());
            db[4..8].copy_from_slice(&7.1f32.to_be_bytes());
            s7_read(
                &mut s,
                &mut clk,
                &mut self.trace,
                &mut pdu_ref,
                &items,
                &[&db, &[0x05, 0x00]],
            )?;
            while next_modbus <= clk.now() + 10 * SEC && next_modbus < self.end {
                let mut mc = self.clock_at(next_modbus);
                let port = self.port();
                let mut m = TcpSession::new(
                    Endpoint::new(EWS, port),
                    Endpoint::new(PLC1, 502),
                    &mut self.rng,
                )?
                .with_rtt(self.rng.range(200, 350) * US)
                .with_mss(1460, 536);
                m.connect(&mut mc, &mut self.trace)?;
                mc.jitter(MS, 3 * MS);
                let mut tid = 0;
                let req = Pdu::Read {
                    fc: fc::READ_HOLDING_REGISTERS,
                    address: 0,
                    quantity: 20,
                };
                modbus_txn(
                    &mut m,
                    &mut mc,
                    &mut self.trace,
                    &self.plc1,
                    &mut tid,
                    1,
                    &req,
                )?;
                mc.jitter(20 * MS, 80 * MS);
                m.close(Dir::ToServer, &mut mc, &mut self.trace)?;
                next_modbus += 30 * SEC;
            }
            t += 10 * SEC;
        }
        s.flush(&mut self.trace)?;
        Ok(())
    }

    /// Office PCs browse: DNS, then HTTP or TLS to an Internet server.
    fn office(&mut self) -> Result<(), ScenarioError> {
        for (k, pc) in OFFICE.iter().enumerate() {
            let mut clk = self.clock_at(self.start + (k as i64 * 3 + 1) * SEC);
            let gw = Host::new(FIREWALL_MAC, v4(10, 20, 0, 1), 255);
            arp_exchange(pc, &gw, &mut clk, &mut self.trace)?;
            clk.jitter(2 * SEC, 9 * SEC);
            while clk.now() + 5 * SEC < self.end {
                let (server, name) = WEB[self.rng.below(WEB.len() as u64) as usize];
                self.dns_lookup(pc, name, server.ip, &mut clk)?;
                clk.jitter(300 * US, 2 * MS);
                if self.rng.chance(0.35) {
                    self.http_fetch(pc, server, name, &mut clk)?;
                } else {
                    self.tls_session(pc, server, name, &mut clk, 1_000, 30_000)?;
                }
                clk.jitter(8 * SEC, 40 * SEC);
            }
        }
        Ok(())
    }

    fn dns_lookup(
        &mut self,
        pc: &Host,
        name: &str,
        answer: IpAddr,
        clk: &mut Clock,
    ) -> Result<(), ScenarioError> {
        let port = self.port();
        let mut f = UdpFlow::new(
            Endpoint::new(*pc, port),
            Endpoint::new(RESOLVER, 53),
            &mut self.rng,
        )?;
        let id = self.rng.next_u16();
        let mut q = Vec::with_capacity(64);
        dns::query(&mut q, id, name, dns::rtype::A)?;
        f.send(Dir::ToServer, &q, clk, &mut self.trace)?;
        clk.jitter(8 * MS, 35 * MS);
        let mut r = Vec::with_capacity(96);
        dns::response(&mut r, id, name, dns::rtype::A, &[answer], 300)?;
        f.send(Dir::ToClient, &r, clk, &mut self.trace)?;
        Ok(())
    }

    fn http_fetch(
        &mut self,
        pc: &Host,
        server: Host,
        name: &str,
        clk: &mut Clock,
    ) -> Result<(), ScenarioError> {
        let port = self.port();
        let mut s = TcpSession::new(
            Endpoint::new(*pc, port),
            Endpoint::new(server, 80),
            &mut self.rng,
        )?
        .with_rtt(self.rng.range(15, 45) * MS)
        .with_windows(64_240, 65_160);
        s.connect(clk, &mut self.trace)?;
        clk.jitter(100 * US, 400 * US);
        let mut q = Vec::with_capacity(200);
        let path = ["/", "/index.html", "/news/today", "/downloads/update.xml"]
            [self.rng.below(4) as usize];
        http::get(&mut q, name, path, "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/88.0.4324.150 Safari/537.36");
        say(&mut s, Dir::ToServer, &q, clk, &mut self.trace)?;
        turn(&s, clk, 2 * MS, 15 * MS);
        let body_len = self.rng.range(400, 24_000) as usize;
        let body = html_body(&mut self.rng, body_len);
        let mut r = Vec::with_capacity(body.len() + 256);
        http::response(
            &mut r,
            200,
            "OK",
            "nginx/1.18.0",
            "text/html; charset=utf-8",
            &body,
        );
        say(&mut s, Dir::ToClient, &r, clk, &mut self.trace)?;
        turn(&s, clk, 200 * MS, 2 * SEC);
        s.close(Dir::ToServer, clk, &mut self.trace)?;
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    fn tls_session(
        &mut self,
        pc: &Host,
        server: Host,
        name: &str,
        clk: &mut Clock,
        min_resp: i64,
        max_resp: i64,
    ) -> Result<(), ScenarioError> {
        let port = self.port();
        let mut s = TcpSession::new(
            Endpoint::new(*pc, port),
            Endpoint::new(server, 443),
            &mut self.rng,
        )?
        .with_rtt(self.rng.range(15, 45) * MS)
        .with_windows(64_240, 65_160);
        tls_exchange(
            &mut s,
            &mut self.rng,
            name,
            clk,
            &mut self.trace,
            min_resp,
            max_resp,
        )
    }

    /// The vendor's support session to the jump host: VNC with password (type 2).
    fn vendor_support(&mut self, at: i64, secs: i64) -> Result<(), ScenarioError> {
        let mut clk = self.clock_at(at);
        let port = self.port();
        let mut s = TcpSession::new(
            Endpoint::new(VENDOR, port),
            Endpoint::new(JUMP, 5900),
            &mut self.rng,
        )?
        .with_rtt(self.rng.range(25, 60) * MS);
        vnc_session(
            &mut s,
            &mut clk,
            &mut self.trace,
            vnc::security::VNC_AUTH,
            "jump01:1 (vendor)",
            secs,
            &[],
        )
    }

    fn write_trace(mut self) -> Trace {
        std::mem::take(&mut self.trace)
    }
}

pub(crate) fn html_body(rng: &mut Rng, len: usize) -> Vec<u8> {
    const WORDS: [&str; 12] = [
        "water", "plant", "report", "the", "of", "and", "update", "<p>", "</p>", "news", "river",
        "quality",
    ];
    let mut b = Vec::with_capacity(len + 16);
    b.extend_from_slice(b"<!doctype html><html><body>");
    while b.len() + 16 < len {
        b.extend_from_slice(WORDS[rng.below(WORDS.len() as u64) as usize].as_bytes());
        b.push(b' ');
    }
    b.extend_from_slice(b"</body></html>\n");
    b
}

/// A TLS 1.3 connection: ClientHello with SNI, ServerHello + CCS + encrypted flight,
/// client finish + request, encrypted response, close.
pub(crate) fn tls_exchange(
    s: &mut TcpSession,
    rng: &mut Rng,
    sni: &str,
    clk: &mut Clock,
    trace: &mut Trace,
    min_resp: i64,
    max_resp: i64,
) -> Result<(), ScenarioError> {
    s.connect(clk, trace)?;
    clk.jitter(200 * US, 900 * US);
    let mut random = [0u8; 32];
    let mut sid = [0u8; 32];
    let mut key = [0u8; 32];
    rng.fill(&mut random);
    rng.fill(&mut sid);
    rng.fill(&mut key);
    let mut m = Vec::with_capacity(600);
    tls::client_hello(&mut m, &random, &sid, &key, sni, &["h2", "http/1.1"])?;
    say(s, Dir::ToServer, &m, clk, trace)?;
    turn(s, clk, MS, 6 * MS);
    m.clear();
    rng.fill(&mut random);
    rng.fill(&mut key);
    tls::server_hello(&mut m, &random, &sid, &key)?;
    let flight = rng.range(2_400, 4_200) as usize;
    tls::application_data(&mut m, flight, |d| rng.fill(d))?;
    say(s, Dir::ToClient, &m, clk, trace)?;
    turn(s, clk, 300 * US, 3 * MS);
    m.clear();
    m.extend_from_slice(&[20, 3, 3, 0, 1, 1]);
    tls::application_data(&mut m, 53, |d| rng.fill(d))?;
    let req = rng.range(180, 700) as usize;
    tls::application_data(&mut m, req, |d| rng.fill(d))?;
    say(s, Dir::ToServer, &m, clk, trace)?;
    turn(s, clk, 2 * MS, 30 * MS);
    m.clear();
    let mut left = rng.range(min_resp, max_resp).max(1) as usize;
    while left > 0 {
        let n = left.min(16_384);
        tls::application_data(&mut m, n, |d| rng.fill(d))?;
        left -= n;
    }
    say(s, Dir::ToClient, &m, clk, trace)?;
    turn(s, clk, 100 * MS, 3 * SEC);
    m.clear();
    tls::application_data(&mut m, 19, |d| rng.fill(d))?; // close_notify alert, encrypted
    say(s, Dir::ToServer, &m, clk, trace)?;
    clk.jitter(100 * US, MS);
    s.close(Dir::ToServer, clk, trace)?;
    Ok(())
}

/// COTP connection and S7 setup communication.
fn s7_open(
    s: &mut TcpSession,
    clk: &mut Clock,
    trace: &mut Trace,
    pdu_ref: &mut u16,
) -> Result<(), ScenarioError> {
    s.connect(clk, trace)?;
    clk.jitter(300 * US, MS);
    let mut m = Vec::with_capacity(64);
    let src_ref = clk.rng.next_u16() | 1;
    s7::connection_request(&mut m, src_ref, 0x0100, s7::cpu_tsap(0, 2))?;
    say(s, Dir::ToServer, &m, clk, trace)?;
    turn(s, clk, 500 * US, 2 * MS);
    m.clear();
    s7::connection_confirm(&mut m, src_ref, 0x0044, 0x0100, s7::cpu_tsap(0, 2))?;
    say(s, Dir::ToClient, &m, clk, trace)?;
    turn(s, clk, 200 * US, MS);
    m.clear();
    *pdu_ref = pdu_ref.wrapping_add(1);
    s7::job(&mut m, *pdu_ref, &s7::setup_param(1, 1, 480), &[])?;
    say(s, Dir::ToServer, &m, clk, trace)?;
    turn(s, clk, MS, 4 * MS);
    m.clear();
    s7::ack_data(&mut m, *pdu_ref, 0, 0, &s7::setup_param(1, 1, 240), &[])?;
    say(s, Dir::ToClient, &m, clk, trace)?;
    clk.jitter(MS, 5 * MS);
    Ok(())
}

fn s7_read(
    s: &mut TcpSession,
    clk: &mut Clock,
    trace: &mut Trace,
    pdu_ref: &mut u16,
    items: &[s7::Item],
    values: &[&[u8]],
) -> Result<(), ScenarioError> {
    *pdu_ref = pdu_ref.wrapping_add(1);
    let mut p = Vec::with_capacity(64);
    s7::read_var_param(&mut p, items)?;
    let mut m = Vec::with_capacity(128);
    s7::job(&mut m, *pdu_ref, &p, &[])?;
    let mut r = Vec::with_capacity(128);
    let mut d = Vec::with_capacity(64);
    s7::read_var_data(&mut d, values)?;
    s7::ack_data(
        &mut r,
        *pdu_ref,
        0,
        0,
        &[s7::func::READ_VAR, values.len() as u8],
        &d,
    )?;
    let think = clk.rng.range(2 * MS, 8 * MS);
    s.exchange(&m, think, &r, clk, trace)?;
    Ok(())
}

/// An RFB 3.8 session with security type `sec`, a first full update, then `secs`
/// seconds of incremental updates and pointer moves; `keys` are typed (down and up)
/// halfway through. The client closes.
pub(crate) fn vnc_session(
    s: &mut TcpSession,
    clk: &mut Clock,
    trace: &mut Trace,
    sec: u8,
    desktop: &str,
    secs: i64,
    keys: &[u32],
) -> Result<(), ScenarioError> {
    s.connect(clk, trace)?;
    clk.jitter(2 * MS, 10 * MS);
    say(s, Dir::ToClient, vnc::VERSION_3_8, clk, trace)?;
    turn(s, clk, MS, 5 * MS);
    say(s, Dir::ToServer, vnc::VERSION_3_8, clk, trace)?;
    turn(s, clk, 300 * US, 2 * MS);
    let mut m = Vec::with_capacity(64);
    vnc::security_types(&mut m, &[sec])?;
    say(s, Dir::ToClient, &m, clk, trace)?;
    turn(s, clk, MS, 5 * MS);
    say(s, Dir::ToServer, &[sec], clk, trace)?;
    turn(s, clk, 300 * US, 2 * MS);
    if sec == vnc::security::VNC_AUTH {
        let mut challenge = [0u8; 16];
        clk.rng.fill(&mut challenge);
        say(s, Dir::ToClient, &challenge, clk, trace)?;
        turn(s, clk, 3 * SEC, 8 * SEC); // the vendor types the password
        let mut response = [0u8; 16];
        clk.rng.fill(&mut response);
        say(s, Dir::ToServer, &response, clk, trace)?;
        turn(s, clk, 2 * MS, 10 * MS);
    }
    m.clear();
    vnc::security_result(&mut m, true);
    say(s, Dir::ToClient, &m, clk, trace)?;
    turn(s, clk, MS, 3 * MS);
    say(s, Dir::ToServer, &[1], clk, trace)?; // ClientInit: shared
    turn(s, clk, 500 * US, 3 * MS);
    m.clear();
    vnc::server_init(&mut m, 1280, 1024, desktop)?;
    say(s, Dir::ToClient, &m, clk, trace)?;
    turn(s, clk, MS, 5 * MS);
    m.clear();
    vnc::set_encodings(&mut m, &[1, 0])?; // CopyRect, Raw
    vnc::update_request(&mut m, false, 0, 0, 1280, 1024);
    say(s, Dir::ToServer, &m, clk, trace)?;
    turn(s, clk, 5 * MS, 20 * MS);
    let rects = [
        vnc::Rect {
            x: 0,
            y: 0,
            w: 64,
            h: 16,
        },
        vnc::Rect {
            x: 64,
            y: 0,
            w: 64,
            h: 16,
        },
        vnc::Rect {
            x: 400,
            y: 300,
            w: 32,
            h: 32,
        },
    ];
    m.clear();
    let mut rng = clk.rng.fork();
    vnc::framebuffer_update(&mut m, &rects, |px| rng.fill(px))?;
    say(s, Dir::ToClient, &m, clk, trace)?;
    let end = clk.now() + secs * SEC;
    let typing_at = clk.now() + secs * SEC / 2;
    let mut typed = keys.is_empty();
    let (mut x, mut y) = (640u16, 512u16);
    while clk.now() < end {
        turn(s, clk, 80 * MS, 400 * MS);
        m.clear();
        if !typed && clk.now() >= typing_at {
            // Each key press and release is its own message, as a person types.
            for &k in keys {
                for down in [true, false] {
                    m.clear();
                    vnc::key_event(&mut m, down, k);
                    say(s, Dir::ToServer, &m, clk, trace)?;
                    clk.jitter(40 * MS, 160 * MS);
                }
            }
            typed = true;
        } else {
            x = (i64::from(x) + clk.rng.range(-40, 40)).clamp(0, 1279) as u16;
            y = (i64::from(y) + clk.rng.range(-30, 30)).clamp(0, 1023) as u16;
            vnc::pointer_event(&mut m, 0, x, y);
            say(s, Dir::ToServer, &m, clk, trace)?;
            clk.jitter(100 * US, 2 * MS);
        }
        m.clear();
        vnc::update_request(&mut m, true, 0, 0, 1280, 1024);
        say(s, Dir::ToServer, &m, clk, trace)?;
        turn(s, clk, 5 * MS, 30 * MS);
        m.clear();
        let w = clk.rng.range(8, 32) as u16;
        let h = clk.rng.range(8, 24) as u16;
        let r = vnc::Rect {
            x: x.min(1280 - w),
            y: y.min(1024 - h),
            w,
            h,
        };
        vnc::framebuffer_update(&mut m, &[r], |px| rng.fill(px))?;
        say(s, Dir::ToClient, &m, clk, trace)?;
    }
    turn(s, clk, 200 * MS, 900 * MS);
    s.close(Dir::ToServer, clk, trace)?;
    Ok(())
}

// ---------------------------------------------------------------------------------
// Scenarios
// ---------------------------------------------------------------------------------

fn background(p: &mut Plant, vendor_at: Option<i64>) -> Result<(), ScenarioError> {
    p.hmi()?;
    p.historian()?;
    p.engineering()?;
    p.office()?;
    if let Some(at) = vendor_at {
        if at + 30 * SEC < p.end {
            p.vendor_support(at, 15)?;
        }
    }
    Ok(())
}

/// Normal operation for `duration`: HMI polling and setpoint changes inside the
/// envelope, historian reads, engineering reads, office web traffic. (No remote access:
/// the example policy demands MFA through a jump host or gate for it, which a plain
/// vendor VNC session cannot show; see `vendor_day` for that case.)
pub fn benign(seed: u64, duration: Duration) -> Result<Trace, ScenarioError> {
    let mut p = Plant::new(seed, duration);
    p.plan_operator_writes(None);
    background(&mut p, None)?;
    Ok(p.write_trace())
}

/// A benign day plus one vendor support session (VNC with a password) from the
/// Internet to the DMZ jump host.
pub fn vendor_day(seed: u64, duration: Duration) -> Result<Trace, ScenarioError> {
    let mut p = Plant::new(seed, duration);
    p.plan_operator_writes(None);
    let vendor_at = p.start + p.rng.range(30, 50) * SEC;
    background(&mut p, Some(vendor_at))?;
    Ok(p.write_trace())
}

/// The Oldsmar intrusion at `at` (offset from the start) on top of benign traffic:
/// external VNC (security None) onto the HMI, the setpoint raised to 11100 through the
/// HMI's Modbus session, the operator restoring 100 afterwards.
fn oldsmar_on(seed: u64, duration: Duration, at: i64) -> Result<Trace, ScenarioError> {
    let mut p = Plant::new(seed, duration);
    let vnc_start = p.start + at;
    let write_at = vnc_start + 21 * SEC + p.rng.range(0, 900_000) * US;
    let restore_at = write_at + 40 * SEC + p.rng.range(0, 900_000) * US;
    p.plan_operator_writes(Some((vnc_start - 20 * SEC, restore_at + 20 * SEC)));
    // Writes sit between HMI poll cycles (at least 400 ms into a second).
    let align = |t: i64| {
        let into = (t - START_NS).rem_euclid(SEC);
        if into < 400 * MS {
            t + 400 * MS - into
        } else {
            t
        }
    };
    p.plc1.writes.push(PlannedWrite {
        t: align(write_at),
        writer: Writer::Hmi,
        op: WriteOp::Register(5, 11_100),
    });
    p.plc1.writes.push(PlannedWrite {
        t: align(restore_at),
        writer: Writer::Hmi,
        op: WriteOp::Register(5, 100),
    });
    p.plc1.writes.sort_by_key(|w| w.t);
    background(&mut p, None)?;
    let mut clk = p.clock_at(vnc_start);
    let port = 50_000 + p.rng.below(10_000) as u16;
    let mut s = TcpSession::new(
        Endpoint::new(ATTACKER, port),
        Endpoint::new(HMI, 5900),
        &mut p.rng,
    )?
    .with_rtt(p.rng.range(70, 110) * MS);
    // "11100" and Enter, typed into the setpoint field while the session is open.
    let keys = [0x31, 0x31, 0x31, 0x30, 0x30, 0xff0d];
    vnc_session(
        &mut s,
        &mut clk,
        &mut p.trace,
        vnc::security::NONE,
        "RIVERSIDE-HMI1",
        36,
        &keys,
    )?;
    Ok(p.write_trace())
}

/// Three minutes of plant traffic with the Oldsmar intrusion one minute in.
pub fn oldsmar(seed: u64) -> Result<Trace, ScenarioError> {
    oldsmar_on(seed, Duration::from_secs(180), 60 * SEC)
}

/// A benign day (five minutes of plant time) with the Oldsmar intrusion in the middle.
pub fn demo(seed: u64) -> Result<Trace, ScenarioError> {
    oldsmar_on(seed, Duration::from_secs(300), 130 * SEC)
}

/// An office PC (10.20.5.23) writes coils (FC5, FC15) and registers (FC16) on PLC1.
pub fn pivot(seed: u64) -> Result<Trace, ScenarioError> {
    let mut p = Plant::new(seed, Duration::from_secs(60));
    p.plan_operator_writes(None);
    let t0 = p.start + 20 * SEC + p.rng.range(0, 500_000) * US;
    let writes = [
        (t0 + 2 * SEC, WriteOp::Coil(0, false)),
        (
            t0 + 4 * SEC,
            WriteOp::Coils(
                0,
                vec![false, false, true, false, false, false, false, false],
            ),
        ),
        (t0 + 6 * SEC, WriteOp::Registers(5, vec![2_000, 100])),
    ];
    for (t, op) in &writes {
        p.plc1.writes.push(PlannedWrite {
            t: *t,
            writer: Writer::PivotPc,
            op: op.clone(),
        });
    }
    p.plc1.writes.sort_by_key(|w| w.t);
    background(&mut p, None)?;
    let mut clk = p.clock_at(t0);
    let port = p.port();
    let mut s = TcpSession::new(
        Endpoint::new(PIVOT_PC, port),
        Endpoint::new(PLC1, 502),
        &mut p.rng,
    )?
    .with_rtt(p.rng.range(400, 900) * US)
    .with_mss(1460, 536);
    s.connect(&mut clk, &mut p.trace)?;
    clk.jitter(5 * MS, 30 * MS);
    let mut tid = 0u16;
    let read = Pdu::Read {
        fc: fc::READ_HOLDING_REGISTERS,
        address: 0,
        quantity: 10,
    };
    modbus_txn(&mut s, &mut clk, &mut p.trace, &p.plc1, &mut tid, 1, &read)?;
    for (t, op) in &writes {
        clk.set((*t).max(clk.now()));
        modbus_txn(
            &mut s,
            &mut clk,
            &mut p.trace,
            &p.plc1,
            &mut tid,
            1,
            &op.pdu(),
        )?;
    }
    clk.jitter(SEC, 2 * SEC);
    s.close(Dir::ToServer, &mut clk, &mut p.trace)?;
    Ok(p.write_trace())
}

/// An unknown host (10.10.2.99) connects over S7comm to the Siemens PLC (10.10.1.20)
/// and stops its CPU (function 0x29, PI service P_PROGRAM).
pub fn s7_stop(seed: u64) -> Result<Trace, ScenarioError> {
    let mut p = Plant::new(seed, Duration::from_secs(60));
    p.plan_operator_writes(None);
    background(&mut p, None)?;
    let mut clk = p.clock_at(p.start + 25 * SEC);
    let port = 40_000 + p.rng.below(20_000) as u16;
    let mut s = TcpSession::new(
        Endpoint::new(ROGUE, port),
        Endpoint::new(S7PLC, 102),
        &mut p.rng,
    )?
    .with_rtt(p.rng.range(300, 600) * US)
    .with_mss(1460, 960);
    let mut pdu_ref = 0u16;
    s7_open(&mut s, &mut clk, &mut p.trace, &mut pdu_ref)?;
    let items = [s7::Item {
        area: s7::area::DB,
        db: 1,
        start: 0,
        length: 8,
    }];
    s7_read(
        &mut s,
        &mut clk,
        &mut p.trace,
        &mut pdu_ref,
        &items,
        &[&[0, 42, 4, 156, 64, 227, 51, 51]],
    )?;
    clk.jitter(400 * MS, 1500 * MS);
    pdu_ref = pdu_ref.wrapping_add(1);
    let mut m = Vec::with_capacity(64);
    s7::job(&mut m, pdu_ref, &s7::plc_stop_param(), &[])?;
    let mut r = Vec::with_capacity(32);
    s7::ack_data(&mut r, pdu_ref, 0, 0, &[s7::func::PLC_STOP], &[])?;
    s.exchange(&m, 12 * MS, &r, &mut clk, &mut p.trace)?;
    clk.jitter(SEC, 2 * SEC);
    s.close(Dir::ToServer, &mut clk, &mut p.trace)?;
    Ok(p.write_trace())
}

/// A host (10.10.2.99) SYN-sweeps 10.10.1.0/24 on 502/102/44818/20000, then reads the
/// identification of the Modbus devices it found and sweeps their unit ids.
pub fn recon(seed: u64) -> Result<Trace, ScenarioError> {
    let mut p = Plant::new(seed, Duration::from_secs(60));
    p.plan_operator_writes(None);
    background(&mut p, None)?;
    let mut clk = p.clock_at(p.start + 15 * SEC);
    let sport = 40_000 + p.rng.below(20_000) as u16;
    let ports = [502u16, 102, 44_818, 20_000];
    let known = [PLC1, PLC2, S7PLC, ENIP_PLC];
    for last in 1..=254u8 {
        let target = known.iter().find(|h| h.ip == v4(10, 10, 1, last));
        for &port in &ports {
            let (host, answer) = match target {
                Some(h) => {
                    let open = matches!(
                        (h.ip, port),
                        (ip, 502) if ip == PLC1.ip || ip == PLC2.ip
                    ) || (h.ip == S7PLC.ip && port == 102)
                        || (h.ip == ENIP_PLC.ip && port == 44_818);
                    (
                        *h,
                        if open {
                            ProbeAnswer::Open
                        } else {
                            ProbeAnswer::Closed
                        },
                    )
                }
                // The router answers for nobody: the SYN goes to its MAC.
                None => (
                    Host::new(
                        [0x00, 0x1d, 0x9c, 0x0a, 0x01, 0x01],
                        v4(10, 10, 1, last),
                        64,
                    ),
                    ProbeAnswer::Silent,
                ),
            };
            let mut s = TcpSession::new(
                Endpoint::new(ROGUE, sport),
                Endpoint::new(host, port),
                &mut p.rng,
            )?
            .with_rtt(p.rng.range(300, 700) * US)
            .with_windows(1024, 8192);
            s.probe(answer, &mut clk, &mut p.trace)?;
            clk.jitter(400 * US, 1_600 * US);
        }
    }
    clk.jitter(2 * SEC, 4 * SEC);
    for plc in [&p.plc1, &p.plc2] {
        let port = 40_000 + p.rng.below(20_000) as u16;
        let mut s = TcpSession::new(
            Endpoint::new(ROGUE, port),
            Endpoint::new(plc.host, 502),
            &mut p.rng,
        )?
        .with_rtt(p.rng.range(300, 700) * US)
        .with_mss(1460, 536);
        s.connect(&mut clk, &mut p.trace)?;
        clk.jitter(MS, 3 * MS);
        let mut tid = 0u16;
        for code in [1u8, 2] {
            let req = Pdu::ReadDeviceId { code, object_id: 0 };
            modbus_txn(&mut s, &mut clk, &mut p.trace, plc, &mut tid, 1, &req)?;
            clk.jitter(MS, 4 * MS);
        }
        for unit in 0..=247u8 {
            let req = Pdu::ReadDeviceId {
                code: 1,
                object_id: 0,
            };
            modbus_txn(&mut s, &mut clk, &mut p.trace, plc, &mut tid, unit, &req)?;
            clk.jitter(200 * US, MS);
        }
        clk.jitter(50 * MS, 200 * MS);
        s.close(Dir::ToServer, &mut clk, &mut p.trace)?;
        clk.jitter(500 * MS, SEC);
    }
    Ok(p.write_trace())
}

/// Builds scenario `name` and writes it as an Ethernet pcap in time order; returns the
/// number of packets.
pub fn write_scenario(name: &str, seed: u64, out: &mut impl Write) -> io::Result<u64> {
    let mut trace = build(name, seed)?;
    trace.write_pcap(out)
}

/// Builds scenario `name` in memory.
pub fn build(name: &str, seed: u64) -> Result<Trace, ScenarioError> {
    match name {
        "benign" => benign(seed, Duration::from_secs(120)),
        "vendor_day" => vendor_day(seed, Duration::from_secs(120)),
        "oldsmar" => oldsmar(seed),
        "pivot" => pivot(seed),
        "s7_stop" => s7_stop(seed),
        "recon" => recon(seed),
        "demo" => demo(seed),
        other => Err(ScenarioError::Unknown(other.to_string())),
    }
}
