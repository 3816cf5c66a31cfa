//! End to end: Sampled Values (layer 2, ethertype 0x88BA) through
//! `sluice analyze`. No public SV capture is in the shared data, so the test
//! writes its own: two merging units streaming 80 samples per cycle, one of which
//! repeats an old sample.
use sluice_proto::sv::encode::{encode, AsduSpec};
use std::process::Command;

fn pcap(frames: &[(i64, [u8; 6], Vec<u8>)]) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend_from_slice(&0xa1b2_c3d4u32.to_le_bytes());
    out.extend_from_slice(&2u16.to_le_bytes());
    out.extend_from_slice(&4u16.to_le_bytes());
    out.extend_from_slice(&[0; 8]);
    out.extend_from_slice(&65535u32.to_le_bytes());
    out.extend_from_slice(&1u32.to_le_bytes());
    for (ts_us, src, payload) in frames {
        let mut f = vec![0x01, 0x0c, 0xcd, 0x04, 0x00, 0x01];
        f.extend_from_slice(src);
        f.extend_from_slice(&[0x88, 0xba]);
        f.extend_from_slice(payload);
        out.extend_from_slice(&((ts_us / 1_000_000) as u32).to_le_bytes());
        out.extend_from_slice(&((ts_us % 1_000_000) as u32).to_le_bytes());
        out.extend_from_slice(&(f.len() as u32).to_le_bytes());
        out.extend_from_slice(&(f.len() as u32).to_le_bytes());
        out.extend_from_slice(&f);
    }
    out
}

#[test]
fn sv_publishers_are_summarised_not_logged_per_frame() {
    let dir = tempfile::tempdir().unwrap();
    let mu1 = [0x00, 0x50, 0xc2, 0x4f, 0x90, 0x01];
    let mu2 = [0x00, 0x50, 0xc2, 0x4f, 0x90, 0x02];
    let mut frames = Vec::new();
    let t0 = 1_700_000_000_000_000i64;
    for i in 0..4000u16 {
        for (mac, id) in [(mu1, "MU01"), (mu2, "MU02")] {
            let cnt = if id == "MU02" && i == 3000 { 100 } else { i };
            let payload = encode(
                0x4000,
                &[AsduSpec {
                    sv_id: id.into(),
                    smp_cnt: cnt,
                    conf_rev: 1,
                    smp_synch: 2,
                    samples: vec![0; 64],
                }],
            );
            frames.push((t0 + i64::from(i) * 250, mac, payload));
        }
    }
    let path = dir.path().join("sv.pcap");
    std::fs::write(&path, pcap(&frames)).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_sluice"))
        .args(["analyze"])
        .arg(&path)
        .args(["--no-db", "--events", "-"])
        .output()
        .expect("sluice runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let ev: Vec<serde_json::Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| l.starts_with('{'))
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let sv: Vec<_> = ev
        .iter()
        .filter(|e| e["event"]["dataset"] == "sluice.sv")
        .collect();
    assert_eq!(sv.len(), 2, "one summary per publisher");
    let mu2 = sv.iter().find(|e| e["sv"]["sv_id"] == "MU02").unwrap();
    assert_eq!(mu2["network"]["protocol"], "sv");
    assert_eq!(mu2["sv"]["frames"], 4000);
    assert_eq!(mu2["sv"]["src_mac"], "00:50:c2:4f:90:02");
    assert_eq!(mu2["sv"]["smp_cnt_regressions"], 1);
    assert!(ev
        .iter()
        .any(|e| e["anomaly"]["kind"] == "sv_smpcnt_regression"));
}
