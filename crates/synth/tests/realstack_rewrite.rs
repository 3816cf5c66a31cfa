//! The real-stack rewriter without the real stacks: a synthetic plant scenario is turned
//! into what tcpdump on `lo` would have recorded (loopback stand-in addresses and ports,
//! zero MAC addresses, TTL 64, offloaded garbage checksums, one 4 KB segment where
//! loopback's 64 KB MTU allows it) and the rewriter must give back the plant capture:
//! byte for byte for every IPv4 frame, the big segment cut at the Ethernet MSS, and
//! tshark (the oracle) finding no bad checksum, malformed packet or broken sequence.
mod common;
use common::{read_all, tmp, tshark, tshark_available};
use sluice_capture::{LinkType, PcapWriter};
use sluice_synth::realstack::{plan::PORTS, plant_rewriter};
use std::net::Ipv4Addr;

const BLOCK: u8 = 201;

/// The loopback form of a plant frame; `None` for frames that are not IPv4 TCP/UDP/ICMP.
fn loopbackify(f: &[u8]) -> Option<Vec<u8>> {
    let nets = plant_rewriter(BLOCK).nets().clone();
    if f.get(12..14)? != [0x08, 0x00] {
        return None;
    }
    let mut g = f.to_vec();
    g[..12].fill(0);
    let ip = 14;
    let ihl = usize::from(g[ip] & 0x0f) * 4;
    let total = usize::from(u16::from_be_bytes([g[ip + 2], g[ip + 3]]));
    for at in [ip + 12, ip + 16] {
        let a = Ipv4Addr::new(g[at], g[at + 1], g[at + 2], g[at + 3]);
        g[at..at + 4].copy_from_slice(&nets.to_loopback(a)?.octets());
    }
    g[ip + 8] = 64;
    g[ip + 10] = 0x12; // not recomputed: the rewriter must
    g[ip + 11] = 0x34;
    let l4 = ip + ihl;
    let proto = g[ip + 9];
    if proto == 6 || proto == 17 {
        for at in [l4, l4 + 2] {
            let p = u16::from_be_bytes([g[at], g[at + 1]]);
            if let Some((stand_in, _)) = PORTS.iter().find(|(_, real)| *real == p) {
                g[at..at + 2].copy_from_slice(&stand_in.to_be_bytes());
            }
        }
        let c = if proto == 6 { l4 + 16 } else { l4 + 6 };
        g[c] = 0xbe;
        g[c + 1] = 0xef;
    }
    // Loopback frames are not padded.
    g.truncate(14 + total);
    Some(g)
}

/// One jumbo segment as loopback carries it: `n` bytes of HTTP body from the web server,
/// on a connection of its own (client port 65000).
fn jumbo(template: &[u8], n: usize) -> Vec<u8> {
    let ihl = usize::from(template[14] & 0x0f) * 4;
    let doff = usize::from(template[14 + ihl + 12] >> 4) * 4;
    let mut g = template[..14 + ihl + doff].to_vec();
    let tcp = 14 + ihl;
    g[tcp + 2..tcp + 4].copy_from_slice(&65_000u16.to_be_bytes());
    g[tcp + 13] = 0x18; // PSH, ACK
    g.extend((0..n).map(|i| b"<p>news</p>"[i % 11]));
    let total = (g.len() - 14) as u16;
    g[16..18].copy_from_slice(&total.to_be_bytes());
    g
}

#[test]
fn loopback_capture_rewrites_back_to_the_plant_and_dissects_cleanly() {
    let mut plant = Vec::new();
    sluice_synth::scenario::write_scenario("benign", 5, &mut plant).unwrap();
    let plant_file = tmp("realstack-rewrite-plant.pcap");
    std::fs::write(&plant_file, &plant).unwrap();
    let frames = read_all(&plant_file);
    // The raw loopback capture, plus one 4000-byte segment from a web server.
    let raw_file = tmp("realstack-rewrite-raw.pcap");
    let mut w = PcapWriter::new_micro(
        std::fs::File::create(&raw_file).unwrap(),
        LinkType::ETHERNET,
        262_144,
    )
    .unwrap();
    let mut expected = Vec::new();
    let mut jumbo_at = None;
    for (ts, f) in &frames {
        let Some(g) = loopbackify(f) else { continue };
        let ts = ts / 1000 * 1000; // microsecond files
        w.write(ts, &g).unwrap();
        expected.push((ts, f.clone()));
        // After the first web answer: a lone jumbo segment on another connection.
        if jumbo_at.is_none() && g.len() > 200 && g[34..36] == 8080u16.to_be_bytes() {
            w.write(ts + 1000, &jumbo(&g, 4000)).unwrap();
            jumbo_at = Some(expected.len());
        }
    }
    drop(w.finish().unwrap());
    let jumbo_at = jumbo_at.expect("the benign scenario has web traffic");
    assert!(expected.len() > 1000);

    let out_file = tmp("realstack-rewrite-out.pcap");
    let stats = plant_rewriter(BLOCK)
        .rewrite_pcap(&raw_file, std::fs::File::create(&out_file).unwrap())
        .unwrap();
    assert_eq!(stats.split, 1);
    assert_eq!(stats.written, expected.len() as u64 + 3);
    let got = read_all(&out_file);
    // Every plant frame comes back identical, timestamps kept.
    let mut i = 0;
    for (k, (ts, f)) in expected.iter().enumerate() {
        if k == jumbo_at {
            // Three Ethernet-sized pieces: 1460 + 1460 + 1080 bytes of body.
            let sizes: Vec<usize> = got[i..i + 3].iter().map(|(_, g)| g.len()).collect();
            assert_eq!(sizes, vec![1514, 1514, 1134]);
            i += 3;
        }
        assert_eq!(got[i].0, *ts, "frame {k}: timestamp");
        assert_eq!(&got[i].1, f, "frame {k} differs after the round trip");
        i += 1;
    }
    if !tshark_available() {
        return;
    }
    let rows = tshark(
        &out_file,
        &[
            "-T",
            "fields",
            "-e",
            "frame.number",
            "-e",
            "_ws.malformed",
            "-e",
            "_ws.expert.message",
        ],
    );
    assert_eq!(rows.len() as u64, stats.written);
    for r in rows {
        let cols: Vec<&str> = r.split('\t').collect();
        let msg = cols.get(2).copied().unwrap_or("");
        assert!(
            cols.get(1).is_none_or(|m| m.is_empty())
                && !msg.contains("hecksum")
                && !msg.contains("not captured")
                && !msg.contains("Out-Of-Order"),
            "{r}"
        );
    }
}
