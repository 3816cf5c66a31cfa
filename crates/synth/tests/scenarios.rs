//! Scenario content checked on the produced bytes (no external tool needed).
mod common;
use common::{read_all, seg, tmp};
use sluice_synth::frame::verify_ipv4;
use sluice_synth::scenario::{build, write_scenario, SCENARIOS};

const PLC1: [u8; 4] = [10, 10, 1, 10];
const HMI: [u8; 4] = [10, 10, 2, 20];

fn frames(name: &str, seed: u64) -> Vec<(i64, Vec<u8>)> {
    let path = tmp(&format!("{name}-{seed}.pcap"));
    let mut f = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
    let n = write_scenario(name, seed, &mut f).unwrap();
    drop(f);
    let v = read_all(&path);
    assert_eq!(v.len() as u64, n);
    v
}

/// A Modbus request to port 502: (ts, src, dst, unit, fc, pdu bytes after fc).
type Request = (i64, [u8; 4], [u8; 4], u8, u8, Vec<u8>);

fn modbus_requests(fr: &[(i64, Vec<u8>)]) -> Vec<Request> {
    fr.iter()
        .filter_map(|(ts, f)| {
            let s = seg(f)?;
            if s.proto != 6 || s.dport != 502 || s.payload.len() < 8 {
                return None;
            }
            let p = s.payload;
            Some((*ts, s.src, s.dst, p[6], p[7], p[8..].to_vec()))
        })
        .collect()
}

#[test]
fn every_scenario_is_deterministic_ordered_and_checksummed() {
    for name in SCENARIOS {
        let mut a = Vec::new();
        let mut b = Vec::new();
        let mut c = Vec::new();
        write_scenario(name, 7, &mut a).unwrap();
        write_scenario(name, 7, &mut b).unwrap();
        write_scenario(name, 8, &mut c).unwrap();
        assert!(a == b, "{name}: same seed, different bytes");
        assert!(a != c, "{name}: different seeds, same bytes");
        let mut t = build(name, 7).unwrap();
        let mut last = i64::MIN;
        let mut n = 0;
        for (ts, f) in t.sorted() {
            assert!(ts >= last, "{name}: time goes back");
            last = ts;
            assert!(
                f.len() >= 60 && f.len() <= 1514,
                "{name}: frame of {} bytes",
                f.len()
            );
            if f[12..14] == [0x08, 0x00] {
                assert_eq!(verify_ipv4(f), Some(true), "{name}: bad checksum");
            }
            n += 1;
        }
        assert!(n > 500, "{name}: only {n} packets");
    }
    assert!(write_scenario("nope", 1, &mut Vec::new()).is_err());
}

#[test]
fn oldsmar_tells_the_story() {
    let fr = frames("oldsmar", 1);
    let reqs = modbus_requests(&fr);
    let fc6: Vec<_> = reqs.iter().filter(|r| r.4 == 6).collect();
    let attack: Vec<_> = fc6.iter().filter(|r| r.5 == [0, 5, 0x2b, 0x5c]).collect();
    assert_eq!(attack.len(), 1, "exactly one write of 11100");
    let (t_attack, src, dst, unit, ..) = attack[0];
    assert_eq!((*src, *dst, *unit), (HMI, PLC1, 1));
    // VNC from the Internet to the HMI, security type None, before the write.
    let vnc: Vec<_> = fr
        .iter()
        .filter_map(|(ts, f)| {
            seg(f).map(|s| (*ts, s.src, s.dst, s.sport, s.dport, s.payload.to_vec()))
        })
        .filter(|s| s.3 == 5900 || s.4 == 5900)
        .collect();
    let first = vnc.first().expect("a VNC session");
    assert_eq!(first.1, [203, 0, 113, 66]);
    assert_eq!(first.2, HMI);
    assert!(first.0 < *t_attack);
    assert!(vnc.iter().any(|s| s.5 == b"RFB 003.008\n"));
    assert!(
        vnc.iter().any(|s| s.3 == 5900 && s.5 == [1, 1]),
        "server offers only None"
    );
    // The write is answered, later restored to 100, and polls show 11100 in between.
    let restore = fc6
        .iter()
        .find(|r| r.0 > *t_attack && r.5 == [0, 5, 0, 100]);
    assert!(restore.is_some(), "setpoint restored");
    let polled_high = fr.iter().any(|(ts, f)| {
        seg(f).is_some_and(|s| {
            *ts > *t_attack
                && s.sport == 502
                && s.src == PLC1
                && s.payload.len() == 9 + 20
                && s.payload[7] == 3
                && s.payload[9 + 10..9 + 12] == [0x2b, 0x5c]
        })
    });
    assert!(polled_high, "PLC1 reports the new setpoint");
    // Every other setpoint write stays inside the envelope.
    for r in fc6
        .iter()
        .filter(|r| r.5[..2] == [0, 5] && r.5 != [0, 5, 0x2b, 0x5c])
    {
        let v = u16::from_be_bytes([r.5[2], r.5[3]]);
        assert!((50..=200).contains(&v));
    }
}

#[test]
fn benign_polls_and_stays_in_the_envelope() {
    let fr = frames("benign", 3);
    let reqs = modbus_requests(&fr);
    let hmi_fc3 = reqs
        .iter()
        .filter(|r| r.1 == HMI && r.2 == PLC1 && r.4 == 3)
        .count();
    assert!(
        (110..=125).contains(&hmi_fc3),
        "HMI polls PLC1 once a second: {hmi_fc3}"
    );
    let hist = reqs
        .iter()
        .filter(|r| r.1 == [10, 10, 3, 30] && r.2 == PLC1 && r.4 == 4)
        .count();
    assert!((22..=26).contains(&hist), "historian FC4 every 5 s: {hist}");
    let mut value = 100i32;
    let mut writes = 0;
    for r in reqs.iter().filter(|r| r.4 == 6) {
        assert_eq!((r.1, r.2), (HMI, PLC1));
        assert_eq!(r.5[..2], [0, 5]);
        let v = i32::from(u16::from_be_bytes([r.5[2], r.5[3]]));
        assert!(
            (50..=200).contains(&v) && (v - value).abs() <= 50,
            "{value} -> {v}"
        );
        value = v;
        writes += 1;
    }
    assert!(writes >= 2, "the operator writes now and then");
    // Device identification of PLC1.
    let id = fr
        .iter()
        .filter_map(|(_, f)| seg(f))
        .find(|s| s.src == PLC1 && s.sport == 502 && s.payload.get(7) == Some(&0x2b));
    let p = id.expect("FC43 response").payload.to_vec();
    let text = String::from_utf8_lossy(&p);
    for want in ["Schneider Electric", "BMX P34 2020", "v3.10"] {
        assert!(text.contains(want), "{want} in {text:?}");
    }
    // No write from outside the supervisory zone, no S7 stop.
    assert!(reqs.iter().all(|r| !matches!(r.4, 5 | 15 | 16)));
}

#[test]
fn pivot_writes_from_the_office() {
    let fr = frames("pivot", 1);
    let reqs = modbus_requests(&fr);
    let from_pc: Vec<u8> = reqs
        .iter()
        .filter(|r| r.1 == [10, 20, 5, 23] && r.2 == PLC1)
        .map(|r| r.4)
        .collect();
    assert_eq!(from_pc, vec![3, 5, 15, 16]);
}

#[test]
fn s7_stop_is_sent_by_the_unknown_host() {
    let fr = frames("s7_stop", 1);
    let stops: Vec<_> = fr
        .iter()
        .filter_map(|(_, f)| seg(f))
        .filter(|s| {
            s.dport == 102
                && s.payload.len() > 17
                && s.payload[7] == 0x32
                && s.payload[8] == 1
                && s.payload[17] == 0x29
        })
        .collect();
    assert_eq!(stops.len(), 1);
    assert_eq!(stops[0].src, [10, 10, 2, 99]);
    assert_eq!(stops[0].dst, [10, 10, 1, 20]);
    assert!(stops[0].payload.ends_with(b"P_PROGRAM"));
}

#[test]
fn recon_sweeps_the_control_subnet() {
    let fr = frames("recon", 1);
    let mut targets = std::collections::BTreeSet::new();
    for s in fr.iter().filter_map(|(_, f)| seg(f)) {
        if s.src == [10, 10, 2, 99] && s.tcp_flags == 0x02 && s.dst[..3] == [10, 10, 1] {
            targets.insert((s.dst[3], s.dport));
        }
    }
    assert_eq!(targets.len(), 254 * 4);
    let reqs = modbus_requests(&fr);
    let units: std::collections::BTreeSet<u8> = reqs
        .iter()
        .filter(|r| r.1 == [10, 10, 2, 99] && r.2 == PLC1 && r.4 == 43)
        .map(|r| r.3)
        .collect();
    assert_eq!(units.len(), 248);
}
