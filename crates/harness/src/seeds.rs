//! Seed corpora for the fuzz targets, extracted from captures: the project's own
//! synthesised scenarios (always) and, when present, the real captures of
//! `../shared/data/pcaps` (application payloads per protocol, chosen by well-known
//! port or ethertype; whole small capture files for the capture targets).
use crate::format::{push_record, push_segment, stream_ctl};
use crate::{targets, Kind};
use sluice_capture::{CaptureReader, LinkType, PcapNgWriter, PcapWriter};
use sluice_decode::{decode, Net, Transport as L4};
use sluice_proto::registry::{FRAME_REGISTRY, REGISTRY};
use sluice_proto::Transport;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::hash::{Hash, Hasher};
use std::io;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

/// Most seeds kept per target.
pub const MAX_SEEDS_PER_TARGET: usize = 300;
/// Largest seed of a parser target (bytes); capture files may be up to [`MAX_FILE_SEED`].
pub const MAX_SEED: usize = 8 * 1024;
/// Largest capture file taken whole as a seed.
pub const MAX_FILE_SEED: usize = 64 * 1024;
/// Most records (payload chunks, frames) in one seed.
const MAX_RECORDS: usize = 64;
/// Most flows of one protocol taken from one capture.
const FLOWS_PER_FILE: usize = 8;
/// Most packets read from one capture.
const MAX_PACKETS: u64 = 20_000;

/// Seeds per target, deduplicated.
#[derive(Default)]
pub struct Corpus {
    seeds: BTreeMap<&'static str, Vec<Vec<u8>>>,
    seen: HashSet<(&'static str, u64)>,
}

fn digest(b: &[u8]) -> u64 {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    b.hash(&mut h);
    h.finish()
}

impl Corpus {
    /// Adds a seed unless it is empty, a duplicate or the target is full.
    pub fn add(&mut self, target: &'static str, seed: Vec<u8>) -> bool {
        if seed.is_empty() {
            return false;
        }
        let v = self.seeds.entry(target).or_default();
        if v.len() >= MAX_SEEDS_PER_TARGET || !self.seen.insert((target, digest(&seed))) {
            return false;
        }
        v.push(seed);
        true
    }

    /// Seeds of one target.
    pub fn get(&self, target: &str) -> &[Vec<u8>] {
        self.seeds.get(target).map_or(&[], Vec::as_slice)
    }

    /// `(target, seeds)` for every target that has some.
    pub fn iter(&self) -> impl Iterator<Item = (&'static str, &[Vec<u8>])> {
        self.seeds.iter().map(|(k, v)| (*k, v.as_slice()))
    }

    /// Total number of seeds.
    pub fn len(&self) -> usize {
        self.seeds.values().map(Vec::len).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Writes `dir/<target>/seed-<digest>` for every seed; returns how many were written.
    pub fn write(&self, dir: &Path) -> io::Result<usize> {
        let mut n = 0;
        for (target, seeds) in self.iter() {
            let d = dir.join(target);
            std::fs::create_dir_all(&d)?;
            for s in seeds {
                std::fs::write(d.join(format!("seed-{:016x}", digest(s))), s)?;
                n += 1;
            }
        }
        Ok(n)
    }

    /// Adds the seeds of one capture file (its bytes, whatever the format).
    pub fn add_capture(&mut self, bytes: &[u8]) {
        let Ok(mut r) = CaptureReader::from_reader("seed", io::Cursor::new(bytes.to_vec())) else {
            return;
        };
        let gzip = r.is_gzip();
        let pcapng = matches!(r.format(), sluice_capture::Format::PcapNg);
        let mut x = Extractor::default();
        let mut first: Vec<(i64, LinkType, Vec<u8>)> = Vec::new();
        let mut n = 0u64;
        while let Ok(Some(p)) = r.next_packet() {
            if first.len() < 24 {
                first.push((p.ts, p.linktype, p.data.to_vec()));
            }
            x.packet(p.linktype, p.data);
            n += 1;
            if n >= MAX_PACKETS {
                break;
            }
        }
        x.flush(self);
        // Capture targets: the file itself when small, else its first packets rewritten.
        let small = bytes.len() <= MAX_FILE_SEED && !gzip;
        if small {
            self.add("capture", bytes.to_vec());
        }
        if let Some(v) = rewrite_pcap(&first) {
            self.add("capture", v.clone());
            if v.len() <= 16 * 1024 {
                self.add("capture_gzip", v);
            }
        }
        match (small && pcapng, bytes.get(8..12)) {
            (true, Some([0x4d, 0x3c, 0x2b, 0x1a])) => {
                let shb = bytes
                    .get(4..8)
                    .map(|l| u32::from_le_bytes([l[0], l[1], l[2], l[3]]) as usize)
                    .unwrap_or(0);
                if let Some(rest) = bytes.get(shb..) {
                    self.add("pcapng", rest.to_vec());
                }
            }
            _ => {
                if let Some(v) = rewrite_pcapng(&first) {
                    self.add("pcapng", v);
                }
            }
        }
    }
}

/// The first packets as a classic pcap (one link type: the first packet's).
fn rewrite_pcap(pkts: &[(i64, LinkType, Vec<u8>)]) -> Option<Vec<u8>> {
    let lt = pkts.first()?.1;
    let mut w = PcapWriter::new(Vec::new(), lt, 65_535).ok()?;
    for (ts, l, d) in pkts {
        if *l == lt {
            w.write(*ts, d).ok()?;
        }
    }
    w.finish().ok()
}

/// The first packets as pcapng blocks after the section header (what the `pcapng`
/// target prepends itself).
fn rewrite_pcapng(pkts: &[(i64, LinkType, Vec<u8>)]) -> Option<Vec<u8>> {
    if pkts.is_empty() {
        return None;
    }
    let mut w = PcapNgWriter::new(Vec::new()).ok()?;
    for (ts, l, d) in pkts {
        w.write(*ts, *l, d).ok()?;
    }
    let v = w.finish().ok()?;
    let shb = v
        .get(4..8)
        .map(|l| u32::from_le_bytes([l[0], l[1], l[2], l[3]]) as usize)?;
    v.get(shb..).map(<[u8]>::to_vec)
}

#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
struct Key {
    proto: u8,
    a: (IpAddr, u16),
    b: (IpAddr, u16),
}

/// Application payloads of one flow, as records of every target that may parse it.
struct FlowSeed {
    targets: Vec<&'static str>,
    server: (IpAddr, u16),
    records: Vec<u8>,
    n: usize,
    /// Bytes the client sent (the gate's input when the protocol is Modbus).
    client_bytes: Vec<u8>,
    modbus: bool,
    /// TCP segments per direction for the reassembly target: first seq and segments.
    segments: [(Option<u32>, Vec<u8>, usize); 2],
}

#[derive(Default)]
struct Extractor {
    flows: HashMap<Key, Option<FlowSeed>>,
    order: Vec<Key>,
    frames: BTreeMap<&'static str, (Vec<u8>, usize)>,
    engine: Vec<Vec<u8>>,
    engine_cur: (Vec<u8>, usize),
}

/// Stream targets that parse `transport` traffic to server port `port`.
fn stream_targets(transport: Transport, port: u16) -> Vec<&'static str> {
    let mut v = Vec::new();
    for d in REGISTRY {
        if !d.ports.contains(&port) || !d.transports.contains(&transport) {
            continue;
        }
        for t in targets() {
            if t.kind
                == (Kind::Stream {
                    protocol: d.name,
                    transport,
                })
            {
                v.push(t.name);
            }
        }
    }
    v
}

impl Extractor {
    fn packet(&mut self, linktype: LinkType, data: &[u8]) {
        // Engine seeds: runs of consecutive frames.
        if linktype == LinkType::ETHERNET || linktype == LinkType::RAW {
            let ctl = if linktype == LinkType::RAW { 0x80 } else { 0 };
            if self.engine.len() < 6 {
                push_record(&mut self.engine_cur.0, ctl, data);
                self.engine_cur.1 += 1;
                if self.engine_cur.1 >= 24 || self.engine_cur.0.len() >= MAX_SEED {
                    self.engine.push(std::mem::take(&mut self.engine_cur.0));
                    self.engine_cur.1 = 0;
                }
            }
        }
        let Ok(d) = decode(linktype.0, data) else {
            return;
        };
        match d.net {
            Net::Ip(ip) => {
                let (transport, sp, dp, payload, tcp) = match ip.transport {
                    L4::Tcp(t) => (
                        Transport::Tcp,
                        t.src_port,
                        t.dst_port,
                        t.payload,
                        Some((t.seq, t.flags)),
                    ),
                    L4::Udp(u) => (Transport::Udp, u.src_port, u.dst_port, u.payload, None),
                    _ => return,
                };
                let src = (ip.src, sp);
                let dst = (ip.dst, dp);
                let key = Key {
                    proto: ip.proto,
                    a: src.min(dst),
                    b: src.max(dst),
                };
                let order = &mut self.order;
                let slot = self.flows.entry(key).or_insert_with(|| {
                    order.push(key);
                    let (server, targets) = match stream_targets(transport, dp) {
                        v if !v.is_empty() => (dst, v),
                        _ => (src, stream_targets(transport, sp)),
                    };
                    let modbus = targets.contains(&"modbus");
                    (!targets.is_empty() || transport == Transport::Tcp).then(|| FlowSeed {
                        targets,
                        server,
                        records: Vec::new(),
                        n: 0,
                        client_bytes: Vec::new(),
                        modbus,
                        segments: Default::default(),
                    })
                });
                let Some(f) = slot else { return };
                let to_client = src == f.server;
                if let Some((seq, flags)) = tcp {
                    let side = &mut f.segments[usize::from(to_client)];
                    if side.2 < 32 && (!payload.is_empty() || flags & 0x03 != 0) {
                        let base = *side.0.get_or_insert(seq);
                        let fl = u8::from(flags & 0x02 != 0) | (u8::from(flags & 0x01 != 0) << 1);
                        push_segment(&mut side.1, seq.wrapping_sub(base), fl, payload);
                        side.2 += 1;
                    }
                }
                if payload.is_empty() || f.targets.is_empty() {
                    return;
                }
                if f.n < MAX_RECORDS && f.records.len() < MAX_SEED {
                    let room = MAX_SEED - f.records.len();
                    let p = payload.get(..payload.len().min(room)).unwrap_or_default();
                    push_record(&mut f.records, stream_ctl(to_client), p);
                    f.n += 1;
                }
                if f.modbus && !to_client && f.client_bytes.len() < MAX_SEED {
                    f.client_bytes.extend_from_slice(payload);
                }
            }
            Net::Other { ethertype, payload } => {
                let Some(desc) = FRAME_REGISTRY
                    .iter()
                    .find(|d| d.ethertypes.contains(&ethertype))
                else {
                    return;
                };
                let Some(t) = targets().find(|t| {
                    t.kind
                        == Kind::Frame {
                            protocol: desc.name,
                        }
                }) else {
                    return;
                };
                let src = d.src_mac.map_or(0, |m| m[5] & 7);
                let vlan = if d.vlan[0] != 0 { 0x10 } else { 0 };
                let e = self.frames.entry(t.name).or_default();
                if e.1 < MAX_RECORDS && e.0.len() < MAX_SEED {
                    push_record(&mut e.0, (src << 1) | vlan, payload);
                    e.1 += 1;
                }
            }
            Net::Arp(_) => {}
        }
    }

    fn flush(mut self, c: &mut Corpus) {
        let mut per_target: HashMap<&'static str, usize> = HashMap::new();
        let mut reasm = 0;
        for key in &self.order {
            let Some(Some(f)) = self.flows.remove(key) else {
                continue;
            };
            for t in &f.targets {
                let n = per_target.entry(t).or_default();
                if *n < FLOWS_PER_FILE && c.add(t, f.records.clone()) {
                    *n += 1;
                }
            }
            if f.modbus {
                let n = per_target.entry("gate").or_default();
                if *n < FLOWS_PER_FILE && c.add("gate", f.client_bytes) {
                    *n += 1;
                }
            }
            for (_, seg, count) in f.segments {
                if reasm < 6 && count > 1 && c.add("reassembly", seg) {
                    reasm += 1;
                }
            }
        }
        for (t, (v, _)) in std::mem::take(&mut self.frames) {
            c.add(t, v);
        }
        if self.engine_cur.1 > 0 && self.engine.len() < 6 {
            self.engine.push(std::mem::take(&mut self.engine_cur.0));
        }
        for v in self.engine {
            c.add("engine", v);
        }
    }
}

/// Hand-made seeds: the policy examples, a Modbus request stream for the gate, and the
/// synthesised plant scenarios.
pub fn synthesised(c: &mut Corpus) {
    c.add("policy", sluice_policy::EXAMPLE.as_bytes().to_vec());
    for name in sluice_synth::scenario::SCENARIOS {
        let mut v = Vec::new();
        if sluice_synth::scenario::write_scenario(name, 1, &mut v).is_ok() {
            c.add_capture(&v);
        }
    }
    let mut g = Vec::new();
    for (tid, pdu) in [
        (1u16, &[3u8, 0, 0, 0, 10][..]),
        (2, &[6, 0, 5, 0, 100]),
        (3, &[16, 0, 4, 0, 2, 4, 0, 1, 0, 2]),
        (4, &[22, 0, 5, 0, 0xf0, 0, 0x25]),
        (5, &[23, 0, 0, 0, 2, 0, 9, 0, 1, 2, 0, 7]),
        (6, &[15, 0, 0, 0, 3, 1, 5]),
        (7, &[43, 14, 1, 0]),
        (8, &[8, 0, 0, 0x12, 0x34]),
    ] {
        g.extend_from_slice(&tid.to_be_bytes());
        g.extend_from_slice(&[0, 0]);
        g.extend_from_slice(&(pdu.len() as u16 + 1).to_be_bytes());
        g.push(1);
        g.extend_from_slice(pdu);
    }
    c.add("gate", g);
    conversations(c);
    // Derived: DNS over TCP (length-prefixed messages) from the datagram seeds, and
    // TLS client hellos for AnyDesk (which speaks TLS on its own port).
    let derive = |c: &Corpus, from: &str, f: &dyn Fn(&[u8]) -> Vec<u8>| -> Vec<Vec<u8>> {
        c.get(from).iter().take(40).map(|s| f(s)).collect()
    };
    for s in derive(c, "dns", &|s| {
        let mut v = Vec::new();
        for r in crate::format::records(s) {
            let mut m = (r.data.len() as u16).to_be_bytes().to_vec();
            m.extend_from_slice(r.data);
            push_record(&mut v, r.ctl, &m);
        }
        v
    }) {
        c.add("dns_tcp", s);
    }
    for s in derive(c, "tls", &<[u8]>::to_vec) {
        c.add("anydesk", s);
    }
}

/// A conversation as records: `(to_client, bytes)` in order.
fn conversation(msgs: &[(bool, &[u8])]) -> Vec<u8> {
    let mut v = Vec::new();
    for (to_client, m) in msgs {
        push_record(&mut v, stream_ctl(*to_client), m);
    }
    v
}

/// Hand-made conversations for protocols the captures lack: FTP, Telnet, TeamViewer
/// and Sampled Values.
fn conversations(c: &mut Corpus) {
    use sluice_synth::app::{ftp, telnet};
    let mut a = Vec::new();
    ftp::reply(&mut a, 220, "PLC FTP server ready");
    let mut b = Vec::new();
    ftp::command(&mut b, "USER", Some("operator"));
    let mut d = Vec::new();
    ftp::reply(&mut d, 331, "Password required");
    let mut e = Vec::new();
    ftp::command(&mut e, "PASS", Some("secret"));
    let mut f = Vec::new();
    ftp::multiline_reply(&mut f, 230, &["Welcome", "Logged in"]);
    let mut g = Vec::new();
    ftp::command(&mut g, "PASV", None);
    let mut h = Vec::new();
    ftp::pasv_reply(&mut h, std::net::Ipv4Addr::new(10, 10, 1, 10), 4_001);
    let mut i = Vec::new();
    ftp::command(&mut i, "STOR", Some("program.bin"));
    c.add(
        "ftp",
        conversation(&[
            (true, &a),
            (false, &b),
            (true, &d),
            (false, &e),
            (true, &f),
            (false, &g),
            (true, &h),
            (false, &i),
        ]),
    );
    let (mut a, mut b, mut d, mut e) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    telnet::negotiate(&mut a, 253, 24);
    telnet::negotiate(&mut a, 251, 1);
    telnet::text(&mut a, "login: ");
    telnet::negotiate(&mut b, 251, 24);
    telnet::new_environ_user(&mut b, "root");
    telnet::line(&mut b, "root");
    telnet::text(&mut d, "Password: ");
    telnet::line(&mut e, "toor");
    c.add(
        "telnet",
        conversation(&[(true, &a), (false, &b), (true, &d), (false, &e)]),
    );
    c.add(
        "teamviewer",
        conversation(&[
            (false, &[0x17, 0x24, 0x0a, 0x20, 0x00, 0, 0, 0, 0, 0, 0]),
            (true, &[0x17, 0x24, 0x0b, 0x04, 0x00, 1, 2, 3, 4]),
            (false, &[0x11, 0x30, 0x0a, 1, 0, 9, 0x17, 0x24]),
        ]),
    );
    c.add(
        "teamviewer",
        conversation(&[
            (false, b"GET /din.aspx?s=00000000&id=0&client=DynGate&p=10000001 HTTP/1.1\r\nUser-Agent: Mozilla/4.0 (compatible; MSIE 6.0; DynGate)\r\nHost: 10.0.0.1\r\n\r\n"),
            (true, b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"),
        ]),
    );
    let asdu = |cnt: u16| sluice_proto::sv::encode::AsduSpec {
        sv_id: "MU01".into(),
        smp_cnt: cnt,
        conf_rev: 1,
        smp_synch: 2,
        samples: vec![0; 64],
    };
    let mut v = Vec::new();
    for cnt in 0..4 {
        push_record(
            &mut v,
            0,
            &sluice_proto::sv::encode::encode(0x4000, &[asdu(cnt), asdu(cnt + 1)]),
        );
    }
    c.add("sv", v);
}

/// Capture files under `dir` (recursively), sorted.
pub fn capture_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                let name = p.to_string_lossy();
                if [".pcap", ".pcapng", ".cap", ".pcap.gz", ".pcapng.gz"]
                    .iter()
                    .any(|s| name.ends_with(s))
                {
                    out.push(p);
                }
            }
        }
    }
    out.sort();
    out
}

/// Every seed: synthesised, plus those of the captures under `shared/pcaps` when given.
pub fn collect(shared: Option<&Path>) -> Corpus {
    let mut c = Corpus::default();
    synthesised(&mut c);
    if let Some(s) = shared {
        for f in capture_files(&s.join("pcaps")) {
            if let Ok(b) = std::fs::read(&f) {
                c.add_capture(&b);
            }
        }
    }
    c
}
