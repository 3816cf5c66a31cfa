//! Fuzz harnesses of Sluice: one `pub fn(&[u8])` per cargo-fuzz target.
//!
//! The targets in `fuzz/fuzz_targets/` are one-liners calling these functions, and
//! `cargo test -p sluice-harness` replays every file of `fuzz/regressions/<target>/`
//! and the seed corpora through the very same functions on stable, so a crash found
//! once stays a regression test.
//!
//! Input layouts (see [`format`]):
//! - protocol parsers (`modbus`, `dnp3`, `dnp3_udp`, ...): a sequence of records
//!   `[ctl][len: u16 LE][bytes]`, each one TCP payload chunk or one datagram; `ctl`
//!   bit 0 is the direction (0 to the server), bit 1 puts a gap before the record,
//!   bits 4-7 advance the clock;
//! - layer-2 protocols (`goose`, `sv`, `profinet`): the same records, one frame
//!   payload each (bits 1-3 choose the source MAC, bit 4 a VLAN tag);
//! - `engine`: the same records, one whole frame each (bit 7: raw IP instead of Ethernet);
//! - `capture`: a whole capture file; `pcapng`: the blocks after a fixed section header;
//!   `capture_gzip`: a capture file that the harness gzips (and may cut) first;
//! - `reassembly`: segments `[seq: u32 LE][flags][len: u8][payload]`;
//! - `policy`: policy TOML text; `gate`: the bytes a client sends to `sluice gate`.
#![forbid(unsafe_code)]

pub mod format;
#[cfg(feature = "seeds")]
pub mod seeds;

use format::records;
use sluice_proto::{
    Direction, FrameProtocolDesc, L2Frame, Output, ProtocolDesc, Timestamp, Transport,
};
use std::io::{Read, Write};
use std::net::{IpAddr, Ipv4Addr};
use std::path::Path;
use std::sync::OnceLock;

/// A fuzz target: its name (the file `fuzz/fuzz_targets/<name>.rs`) and its harness.
#[derive(Clone, Copy)]
pub struct Target {
    pub name: &'static str,
    pub run: fn(&[u8]),
    /// What the target exercises.
    pub kind: Kind,
}

/// What a target exercises.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// A stream/datagram protocol parser over one transport.
    Stream {
        protocol: &'static str,
        transport: Transport,
    },
    /// A layer-2 protocol parser.
    Frame { protocol: &'static str },
    /// Something else (capture readers, reassembly, engine, policy, gate).
    Other,
}

/// Start of the harnesses' clock (2021-02-05, like the synthesised scenarios).
const T0: Timestamp = 1_612_530_000_000_000_000;

/// Consumes what a parser produced the way the engine does: the uniform accessors and
/// the JSON serialisation of records and identities.
fn consume(out: &mut Vec<Output>) {
    for o in out.drain(..) {
        match o {
            Output::Txn(t) => {
                let _ = (
                    t.record.function_code(),
                    t.record.function(),
                    t.record.operation(),
                    t.record.dataset(),
                );
                let _ = serde_json::to_vec(&t.record);
            }
            Output::Anomaly(a) => {
                let _ = serde_json::to_vec(&a);
            }
            Output::Identity(i) => {
                let _ = serde_json::to_vec(&i);
            }
        }
    }
}

/// Gap lengths a record may announce (ctl bits 2-3).
const GAPS: [u64; 4] = [1, 10, 1_460, 1 << 20];

/// Runs one protocol parser over `transport` on records: the content probe on the
/// first record of each direction, every record parsed (with gaps where announced),
/// then `finish`.
pub fn stream(desc: &ProtocolDesc, transport: Transport, data: &[u8]) {
    let mut p = (desc.new_parser)(transport);
    let mut out = Vec::new();
    let mut probed = [false; 2];
    let mut ts = T0;
    for r in records(data) {
        let dir = if r.ctl & 1 == 0 {
            Direction::ToServer
        } else {
            Direction::ToClient
        };
        ts += i64::from(r.ctl >> 4) * 100_000_000 + 1_000;
        let side = usize::from(r.ctl & 1);
        if let Some(done) = probed.get_mut(side) {
            if !*done {
                *done = true;
                let _ = (desc.probe)(dir, r.data);
            }
        }
        if r.ctl & 2 != 0 && transport == Transport::Tcp {
            let len = GAPS
                .get(usize::from((r.ctl >> 2) & 3))
                .copied()
                .unwrap_or(1);
            p.gap(dir, len, ts, &mut out);
        }
        p.parse(dir, r.data, ts, &mut out);
        consume(&mut out);
    }
    p.finish(ts, &mut out);
    consume(&mut out);
}

/// Runs one layer-2 protocol parser on records, one frame payload each.
pub fn frames(desc: &FrameProtocolDesc, data: &[u8]) {
    let mut p = (desc.new_parser)();
    let mut out = Vec::new();
    let mut ts = T0;
    let ethertype = desc.ethertypes.first().copied().unwrap_or(0);
    for r in records(data) {
        ts += i64::from(r.ctl >> 5) * 100_000_000 + 1_000;
        let frame = L2Frame {
            ts,
            src_mac: [0x00, 0x0a, 0x0b, 0x0c, 0x0d, (r.ctl >> 1) & 7],
            dst_mac: [0x01, 0x0c, 0xcd, 0x01, 0x00, 0x01],
            vlan: if r.ctl & 0x10 != 0 { 100 } else { 0 },
            ethertype,
            payload: r.data,
        };
        p.frame(&frame, &mut out);
        consume(&mut out);
    }
    p.finish(ts, &mut out);
    consume(&mut out);
}

/// The whole sensor pipeline on records, one captured frame each (Ethernet, or raw IP
/// when ctl bit 7 is set), with small caps so that eviction and overflow paths run.
pub fn engine(data: &[u8]) {
    use sluice_engine::{Engine, EngineConfig};
    let mut cfg = EngineConfig::default();
    cfg.flows.max_flows = 64;
    cfg.reassembly_bytes = 1 << 16;
    cfg.max_assets = 256;
    let mut e = Engine::new(cfg);
    let mut ts = T0;
    for r in records(data) {
        ts += i64::from(r.ctl & 0x3f) * 50_000_000 + 1_000;
        let linktype = if r.ctl & 0x80 != 0 { 101 } else { 1 };
        let len = u32::try_from(r.data.len()).unwrap_or(u32::MAX);
        e.packet(ts, linktype, r.data, len);
        assert!(e.reassembly_bytes() <= 1 << 16, "reassembly over budget");
        assert!(e.active_flows() <= 64, "flow cap exceeded");
        for ev in e.take_events() {
            same_json(&ev);
        }
    }
    e.finish();
    for ev in e.take_events() {
        same_json(&ev);
    }
}

/// The fast event encoder (envelope and protocol records) writes exactly what the
/// serde path writes, for every event any input makes.
fn same_json(ev: &sluice_engine::event::Event) {
    assert_eq!(
        ev.to_json(),
        ev.to_json_serde(),
        "the fast JSON encoder and serde_json disagree"
    );
}

/// Reads a capture to its end or to a located error; every packet within the cap.
fn read_capture(name: &str, bytes: Vec<u8>) {
    use sluice_capture::{CaptureReader, MAX_PACKET_LEN};
    if let Ok(mut r) = CaptureReader::from_reader(name, std::io::Cursor::new(bytes)) {
        let _ = (r.format(), r.linktype(), r.snaplen(), r.interfaces().len());
        let mut n = 0u32;
        loop {
            match r.next_packet() {
                Ok(Some(p)) => {
                    assert!(p.data.len() <= MAX_PACKET_LEN as usize);
                    n += 1;
                    if n > 100_000 {
                        break;
                    }
                }
                Ok(None) => break,
                Err(e) => {
                    let _ = e.to_string();
                    break;
                }
            }
        }
    }
}

/// Capture readers (pcap, pcapng, either gzipped), format told by the magic number.
pub fn capture(data: &[u8]) {
    read_capture("fuzz.pcap", data.to_vec());
}

/// A little-endian pcapng section header block (no options, unknown section length).
pub const PCAPNG_SHB: [u8; 28] = [
    0x0a, 0x0d, 0x0d, 0x0a, 28, 0, 0, 0, 0x4d, 0x3c, 0x2b, 0x1a, 1, 0, 0, 0, 0xff, 0xff, 0xff,
    0xff, 0xff, 0xff, 0xff, 0xff, 28, 0, 0, 0,
];

/// The pcapng reader on arbitrary blocks after a valid section header.
pub fn pcapng(data: &[u8]) {
    let mut v = Vec::with_capacity(PCAPNG_SHB.len() + data.len());
    v.extend_from_slice(&PCAPNG_SHB);
    v.extend_from_slice(data);
    read_capture("fuzz.pcapng", v);
}

/// The gzip path of the capture readers: `data` gzipped, then cut short when its first
/// byte is odd.
pub fn capture_gzip(data: &[u8]) {
    let mut z = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    if z.write_all(data).is_err() {
        return;
    }
    let Ok(mut gz) = z.finish() else { return };
    if let Some(&b) = data.first() {
        if b & 1 == 1 {
            let cut = (usize::from(b) * 131) % (gz.len() + 1);
            gz.truncate(cut);
        }
    }
    read_capture("fuzz.pcap.gz", gz);
}

/// TCP reassembly on segments `[seq: u32 LE][flags][len][payload]` (flags bit 0 SYN,
/// bit 1 FIN, bit 7 an ACK instead of data): the budget holds, nothing leaks.
pub fn reassembly(data: &[u8]) {
    use sluice_flow::{Budget, Chunk, TcpStream};
    let mut s = TcpStream::new();
    let mut b = Budget::new(64 * 1024);
    let mut delivered = 0u64;
    let mut sink = |c: Chunk<'_>| {
        if let Chunk::Data(d) = c {
            delivered += d.len() as u64;
        }
    };
    let mut rest = data;
    let mut fed = 0u64;
    while let (Some(h), Some(tail)) = (rest.get(..6), rest.get(6..)) {
        let seq = u32::from_le_bytes([h[0], h[1], h[2], h[3]]);
        let flags = h[4];
        let len = usize::from(h[5]).min(tail.len());
        let (payload, next) = tail.split_at(len);
        if flags & 0x80 != 0 {
            s.acked(seq, &mut b, &mut sink);
        } else {
            s.segment(
                seq,
                flags & 1 != 0,
                flags & 2 != 0,
                payload,
                &mut b,
                &mut sink,
            );
            fed += payload.len() as u64;
        }
        assert!(b.used <= b.cap, "budget exceeded");
        rest = next;
    }
    s.flush(&mut b, &mut sink);
    assert_eq!(b.used, 0, "bytes left buffered after flush");
    // Every delivered byte was fed (overlaps keep the first copy, never invent data).
    assert!(delivered <= fed, "delivered {delivered} > fed {fed}");
}

/// The policy parser and checker on arbitrary text, then zone lookups and judgements.
pub fn policy(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(p) = sluice_policy::Policy::parse(text, Path::new("fuzz.toml")) else {
        return;
    };
    let _ = p.check();
    let hosts: [IpAddr; 4] = [
        Ipv4Addr::new(10, 10, 1, 10).into(),
        Ipv4Addr::new(10, 10, 2, 20).into(),
        Ipv4Addr::new(10, 20, 0, 5).into(),
        "2001:db8::1"
            .parse()
            .unwrap_or(IpAddr::V4(Ipv4Addr::LOCALHOST)),
    ];
    for (i, &c) in hosts.iter().enumerate() {
        let _ = p.zone_of(c);
        for &s in &hosts[i..] {
            for protocol in [Some("modbus"), Some("rdp"), None] {
                let _ = p.judge_flow(sluice_policy::FlowFacts {
                    client: c,
                    server: s,
                    protocol,
                    ts: T0,
                });
            }
        }
        for r in [0u16, 5, 65535] {
            if let Some(e) = p.envelope(c, 1, r) {
                let _ = e.check(Some(100.0), f64::from(r));
                let _ = e.check(None, f64::NAN);
            }
        }
    }
}

/// The gate configuration the `gate` target decides with: two roles, a critical
/// register and (through the policy) an envelope.
const GATE_CONFIG: &str = r#"[gate]
listen_plain = "127.0.0.1:8502"
upstream = "127.0.0.1:5020"
state = "gate.db"
audit_log = "audit.jsonl"

[[plain_client]]
address = "127.0.0.1"
role = "viewer"

[[role]]
name = "operator"
units = [1]
functions = [1, 2, 3, 4, 5, 6, 15, 16, 22, 23]
read = ["0-99"]
write = ["0-19"]

[[role]]
name = "engineer"
units = [1, 2, 255]
functions = [1, 2, 3, 4, 5, 6, 7, 8, 11, 12, 15, 16, 17, 20, 21, 22, 23, 24, 43, 90]
read = ["0-65535"]
write = ["0-65535"]

[[role]]
name = "viewer"
units = [1]
functions = [1, 2, 3, 4]
read = ["0-99"]

[[critical]]
unit = 1
registers = "5-6"
approval_window_s = 300
max_writes = 1
"#;

const GATE_POLICY: &str = r#"[[envelope]]
device = "127.0.0.1"
unit = 1
register = 5
min = 50
max = 200
max_step = 50

[[envelope]]
device = "127.0.0.1"
register = 10
min = 0
max = 1
"#;

fn gate_snapshot() -> Option<&'static sluice_gate::server::Snapshot> {
    static SNAP: OnceLock<Option<sluice_gate::server::Snapshot>> = OnceLock::new();
    SNAP.get_or_init(|| {
        let config = sluice_gate::Config::parse(GATE_CONFIG, Path::new("/fuzz/gate.toml")).ok()?;
        let policy =
            sluice_policy::Policy::parse(GATE_POLICY, Path::new("/fuzz/sluice.toml")).ok()?;
        Some(sluice_gate::server::Snapshot {
            generation: 0,
            config,
            policy: Some(policy),
            tls: None,
        })
    })
    .as_ref()
}

/// The gate's request handling on the bytes a client sends: frames delimited as the
/// read loop does, each decoded and classified, routed for every role, and the values
/// it writes checked against the envelopes.
pub fn gate(data: &[u8]) {
    use sluice_gate::request::{analyse, written_coils, written_registers};
    use sluice_gate::server::{next_frame, Framing, Route};
    let snap = gate_snapshot().expect("the gate harness's configuration is valid");
    let device = snap.config.device;
    let mut rest = data;
    loop {
        let len = match next_frame(rest) {
            Framing::NeedMore => break,
            Framing::Close(reason) => {
                assert!(!reason.is_empty());
                break;
            }
            Framing::Frame(len) => len,
        };
        assert!((8..=260).contains(&len), "frame length {len}");
        let Some(frame) = rest.get(..len) else { break };
        rest = rest.get(len..).unwrap_or_default();
        let a = match analyse(frame) {
            Ok(a) => a,
            Err(m) => {
                assert!(matches!(m.exception(), 2 | 3));
                continue;
            }
        };
        if let Some(s) = a.read {
            assert!(s.count > 0 && s.last() >= s.start);
        }
        for role in &snap.config.roles {
            match snap.route(role, &a) {
                Route::Denied(reason, code) => {
                    assert!(!reason.is_empty() && matches!(code, 1 | 2));
                }
                Route::Forward => {}
                Route::Guarded { critical, envelope } => {
                    assert!(critical.is_some() || envelope);
                }
            }
        }
        let current = |r: u16| Some(r.wrapping_mul(7) % 300);
        for (reg, value) in written_registers(&a.request, current) {
            if let Some(p) = &snap.policy {
                if let Some(env) = p.envelope(device, a.unit, reg) {
                    let _ = env.check(current(reg).map(f64::from), f64::from(value));
                }
            }
        }
        for (_, v) in written_coils(&a.request) {
            assert!(v <= 1);
        }
    }
}

/// Bytes of a whole reader (used by the replay tests and the seed tool).
pub fn read_all(mut r: impl Read) -> std::io::Result<Vec<u8>> {
    let mut v = Vec::new();
    r.read_to_end(&mut v)?;
    Ok(v)
}

macro_rules! stream_targets {
    ($( $name:ident = $proto:ident / $transport:ident ),* $(,)?) => {
        $(
            #[doc = concat!("Fuzz target `", stringify!($name), "`: the ", stringify!($proto),
                " parser over ", stringify!($transport), ".")]
            pub fn $name(data: &[u8]) {
                stream(&sluice_proto::$proto::DESC, Transport::$transport, data)
            }
        )*
        const STREAM_TARGETS: &[Target] = &[
            $( Target {
                name: stringify!($name),
                run: $name,
                kind: Kind::Stream {
                    protocol: sluice_proto::$proto::DESC.name,
                    transport: Transport::$transport,
                },
            }, )*
        ];
    };
}

stream_targets! {
    modbus = modbus / Tcp,
    dnp3 = dnp3 / Tcp,
    dnp3_udp = dnp3 / Udp,
    s7comm = s7comm / Tcp,
    s7commplus = s7commplus / Tcp,
    enip = enip / Tcp,
    enip_udp = enip / Udp,
    iec104 = iec104 / Tcp,
    bacnet = bacnet / Udp,
    opcua = opcua / Tcp,
    mms = mms / Tcp,
    mqtt = mqtt / Tcp,
    dns = dns / Udp,
    dns_tcp = dns / Tcp,
    http = http / Tcp,
    tls = tls / Tcp,
    ssh = ssh / Tcp,
    rdp = rdp / Tcp,
    vnc = vnc / Tcp,
    smb = smb / Tcp,
    telnet = telnet / Tcp,
    ftp = ftp / Tcp,
    teamviewer = teamviewer / Tcp,
    anydesk = anydesk / Tcp,
}

macro_rules! frame_targets {
    ($( $name:ident = $proto:ident ),* $(,)?) => {
        $(
            #[doc = concat!("Fuzz target `", stringify!($name), "`: the ", stringify!($proto),
                " layer-2 parser.")]
            pub fn $name(data: &[u8]) {
                frames(&sluice_proto::$proto::DESC, data)
            }
        )*
        const FRAME_TARGETS: &[Target] = &[
            $( Target {
                name: stringify!($name),
                run: $name,
                kind: Kind::Frame { protocol: sluice_proto::$proto::DESC.name },
            }, )*
        ];
    };
}

frame_targets! {
    goose = goose,
    sv = sv,
    profinet = profinet,
}

const OTHER_TARGETS: &[Target] = &[
    Target {
        name: "capture",
        run: capture,
        kind: Kind::Other,
    },
    Target {
        name: "pcapng",
        run: pcapng,
        kind: Kind::Other,
    },
    Target {
        name: "capture_gzip",
        run: capture_gzip,
        kind: Kind::Other,
    },
    Target {
        name: "reassembly",
        run: reassembly,
        kind: Kind::Other,
    },
    Target {
        name: "engine",
        run: engine,
        kind: Kind::Other,
    },
    Target {
        name: "policy",
        run: policy,
        kind: Kind::Other,
    },
    Target {
        name: "gate",
        run: gate,
        kind: Kind::Other,
    },
];

/// Every fuzz target.
pub fn targets() -> impl Iterator<Item = &'static Target> {
    STREAM_TARGETS
        .iter()
        .chain(FRAME_TARGETS)
        .chain(OTHER_TARGETS)
}

/// The target called `name`.
pub fn target(name: &str) -> Option<&'static Target> {
    targets().find(|t| t.name == name)
}
