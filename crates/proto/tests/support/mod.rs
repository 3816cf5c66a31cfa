//! Test support shared by the protocol tests: real captures read with the project's
//! own capture reader, decoder and TCP reassembler, cut into per-flow streams.
#![allow(dead_code)]
use sluice_capture::CaptureReader;
use sluice_decode::{decode, Net, Transport as L4};
use sluice_flow::{Budget, Chunk, TcpStream};
use sluice_proto::{Direction, Output, ProtocolDesc, Transport};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

/// The kinds of the anomalies in `out`, in order.
pub fn anomaly_kinds(out: &[Output]) -> Vec<&'static str> {
    out.iter()
        .filter_map(|o| match o {
            Output::Anomaly(a) => Some(a.kind),
            _ => None,
        })
        .collect()
}

/// `../shared/data` when it exists; prints a SKIP line otherwise.
pub fn shared_data() -> Option<PathBuf> {
    let p = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/data"));
    if p.is_dir() {
        Some(p.to_path_buf())
    } else {
        eprintln!("SKIP: ../shared/data not found");
        None
    }
}

/// A shared capture by its path under `pcaps/` (e.g. `s7comm/x.pcap`).
pub fn pcap(rel: &str) -> Option<PathBuf> {
    let p = shared_data()?.join("pcaps").join(rel);
    if p.exists() {
        Some(p)
    } else {
        eprintln!("SKIP: {} not found", p.display());
        None
    }
}

/// What one flow carried, in order: data chunks per direction and gaps.
#[derive(Debug, Clone)]
pub enum Piece {
    Data(Direction, i64, Vec<u8>),
    Gap(Direction, i64, u64),
}

/// One flow's application bytes.
#[derive(Debug, Clone)]
pub struct Flow {
    pub client: SocketAddr,
    pub server: SocketAddr,
    pub transport: Transport,
    pub pieces: Vec<Piece>,
}

struct State {
    flow: Flow,
    tcp: [TcpStream; 2],
}

/// Cuts a capture into flows. The client is the SYN sender; without a SYN, the side
/// whose port is in `server_ports` is the server (else the first sender is the client).
pub fn flows(path: &Path, server_ports: &[u16]) -> Vec<Flow> {
    let mut r = CaptureReader::open(path).expect("capture opens");
    let mut table: HashMap<(SocketAddr, SocketAddr, u8), usize> = HashMap::new();
    let mut states: Vec<State> = Vec::new();
    let mut budget = Budget::new(64 << 20);
    while let Ok(Some(p)) = r.next_packet() {
        let Ok(d) = decode(p.linktype.0, p.data) else {
            continue;
        };
        let Net::Ip(ip) = &d.net else { continue };
        let (sp, dp, proto, tcp) = match &ip.transport {
            L4::Tcp(t) => (t.src_port, t.dst_port, 6u8, Some(t.clone())),
            L4::Udp(u) => (u.src_port, u.dst_port, 17u8, None),
            _ => continue,
        };
        let src = SocketAddr::new(ip.src, sp);
        let dst = SocketAddr::new(ip.dst, dp);
        let key = if (src, sp) < (dst, dp) {
            (src, dst, proto)
        } else {
            (dst, src, proto)
        };
        let idx = *table.entry(key).or_insert_with(|| {
            let syn_only = tcp.as_ref().is_some_and(|t| t.flags & 0x12 == 0x02);
            let synack = tcp.as_ref().is_some_and(|t| t.flags & 0x12 == 0x12);
            let swap =
                synack || (!syn_only && server_ports.contains(&sp) && !server_ports.contains(&dp));
            let (client, server) = if swap { (dst, src) } else { (src, dst) };
            states.push(State {
                flow: Flow {
                    client,
                    server,
                    transport: if proto == 6 {
                        Transport::Tcp
                    } else {
                        Transport::Udp
                    },
                    pieces: Vec::new(),
                },
                tcp: Default::default(),
            });
            states.len() - 1
        });
        let st = &mut states[idx];
        let dir = if src == st.flow.client {
            Direction::ToServer
        } else {
            Direction::ToClient
        };
        let ts = p.ts;
        match (&ip.transport, tcp) {
            (L4::Tcp(_), Some(t)) => {
                let side = usize::from(dir == Direction::ToClient);
                let pieces = &mut st.flow.pieces;
                st.tcp[side].segment(
                    t.seq,
                    t.flags & 0x02 != 0,
                    t.flags & 0x01 != 0,
                    t.payload,
                    &mut budget,
                    &mut |c| match c {
                        Chunk::Data(b) => pieces.push(Piece::Data(dir, ts, b.to_vec())),
                        Chunk::Gap(n) => pieces.push(Piece::Gap(dir, ts, n)),
                    },
                );
            }
            (L4::Udp(u), _) if !u.payload.is_empty() => {
                st.flow
                    .pieces
                    .push(Piece::Data(dir, ts, u.payload.to_vec()));
            }
            _ => {}
        }
    }
    for st in &mut states {
        for (side, s) in st.tcp.iter_mut().enumerate() {
            let dir = if side == 0 {
                Direction::ToServer
            } else {
                Direction::ToClient
            };
            let pieces = &mut st.flow.pieces;
            s.flush(&mut budget, &mut |c| match c {
                Chunk::Data(b) => pieces.push(Piece::Data(dir, 0, b.to_vec())),
                Chunk::Gap(n) => pieces.push(Piece::Gap(dir, 0, n)),
            });
        }
    }
    states.into_iter().map(|s| s.flow).collect()
}

/// Runs a protocol's parser over every flow of a capture that touches one of its ports
/// (on its transports). Returns the outputs per flow.
pub fn run(desc: &ProtocolDesc, path: &Path) -> Vec<(Flow, Vec<Output>)> {
    flows(path, desc.ports)
        .into_iter()
        .filter(|f| desc.transports.contains(&f.transport))
        .filter(|f| desc.ports.contains(&f.server.port()) || desc.ports.contains(&f.client.port()))
        .map(|f| {
            let out = feed(desc, &f);
            (f, out)
        })
        .collect()
}

/// Feeds one flow to a fresh parser of `desc`.
pub fn feed(desc: &ProtocolDesc, f: &Flow) -> Vec<Output> {
    let mut p = (desc.new_parser)(f.transport);
    let mut out = Vec::new();
    let mut last = 0;
    for piece in &f.pieces {
        match piece {
            Piece::Data(d, ts, b) => {
                last = *ts;
                p.parse(*d, b, *ts, &mut out)
            }
            Piece::Gap(d, ts, n) => p.gap(*d, *n, *ts, &mut out),
        }
    }
    p.finish(last, &mut out);
    out
}

/// One layer-2 frame: (ts, src mac, dst mac, vlan, payload after the ethertype).
pub type OwnedFrame = (i64, [u8; 6], [u8; 6], u16, Vec<u8>);

/// Layer-2 frames of one ethertype.
pub fn l2_frames(path: &Path, ethertype: u16) -> Vec<OwnedFrame> {
    let mut r = CaptureReader::open(path).expect("capture opens");
    let mut v = Vec::new();
    while let Ok(Some(p)) = r.next_packet() {
        let Ok(d) = decode(p.linktype.0, p.data) else {
            continue;
        };
        if let Net::Other {
            ethertype: et,
            payload,
        } = d.net
        {
            if et == ethertype {
                v.push((
                    p.ts,
                    d.src_mac.unwrap_or_default(),
                    d.dst_mac.unwrap_or_default(),
                    d.vlan[0],
                    payload.to_vec(),
                ));
            }
        }
    }
    v
}
