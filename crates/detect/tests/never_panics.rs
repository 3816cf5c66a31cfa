//! Property tests: the detector never panics on whatever the engine makes of arbitrary
//! bytes, nor the rule loader, the templates or the ATT&CK loader on arbitrary text.
use proptest::prelude::*;
use sluice_detect::template::Template;
use sluice_detect::{Attack, Detector, DetectorConfig, RuleSet};
use sluice_policy::Policy;
use std::path::Path;
use std::sync::Arc;

const POLICY: &str = r#"
[[zone]]
name = "control"
level = 1
cidrs = ["10.0.0.0/8"]
[[conduit]]
name = "c"
from = "external"
to = "control"
protocols = ["modbus", "vnc"]
access = "read"
[[envelope]]
device = "10.0.0.2"
register = 0
min = 0
max = 10
max_step = 1
"#;

/// An Ethernet/IPv4/TCP frame carrying `payload` between two hosts of 10/8 or outside.
fn frame(
    src: [u8; 4],
    dst: [u8; 4],
    sport: u16,
    dport: u16,
    flags: u8,
    seq: u32,
    payload: &[u8],
) -> Vec<u8> {
    let mut f = vec![0u8; 14];
    f[12] = 0x08;
    let total = 20 + 20 + payload.len();
    let mut ip = vec![
        0x45,
        0,
        (total >> 8) as u8,
        total as u8,
        0,
        0,
        0x40,
        0,
        64,
        6,
        0,
        0,
    ];
    ip.extend_from_slice(&src);
    ip.extend_from_slice(&dst);
    f.extend_from_slice(&ip);
    f.extend_from_slice(&sport.to_be_bytes());
    f.extend_from_slice(&dport.to_be_bytes());
    f.extend_from_slice(&seq.to_be_bytes());
    f.extend_from_slice(&0u32.to_be_bytes());
    f.extend_from_slice(&[0x50, flags, 0xff, 0xff, 0, 0, 0, 0]);
    f.extend_from_slice(payload);
    f
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    #[test]
    fn detector_never_panics(chunks in prop::collection::vec(
        (0u8..4, 0u8..4, prop::sample::select(vec![502u16, 5900, 20000, 102, 22, 80, 44818]),
         prop::collection::vec(any::<u8>(), 0..80), any::<bool>()), 1..40)) {
        let mut cfg = DetectorConfig::new(RuleSet::builtin().unwrap());
        cfg.policy = Some(Arc::new(Policy::from_str(POLICY, Path::new("p.toml")).unwrap()));
        cfg.live = chunks.len() % 2 == 0;
        cfg.aggregation_window_ns = 1_000_000_000;
        let mut d = Detector::new(cfg);
        let mut engine = sluice_engine::Engine::new(sluice_engine::EngineConfig::default());
        let hosts = [[10, 0, 0, 1], [10, 0, 0, 2], [203, 0, 113, 9], [10, 0, 0, 3]];
        let mut out = Vec::new();
        let mut seq = [1000u32; 16];
        for (i, (a, b, port, payload, back)) in chunks.iter().enumerate() {
            let (sa, da) = (hosts[*a as usize], hosts[*b as usize]);
            let k = usize::from(*a) * 4 + usize::from(*b);
            let ts = 1_600_000_000_000_000_000 + i as i64 * 700_000_000;
            let f = if *back {
                frame(da, sa, *port, 40000, 0x18, seq[k], payload)
            } else {
                frame(sa, da, 40000, *port, if payload.is_empty() { 0x02 } else { 0x18 }, seq[k], payload)
            };
            seq[k] = seq[k].wrapping_add(payload.len() as u32);
            engine.packet(ts, 1, &f, f.len() as u32);
            for e in engine.take_events() {
                d.observe(&e, &mut out);
            }
        }
        engine.finish();
        for e in engine.take_events() {
            d.observe(&e, &mut out);
        }
        d.finish(&mut out);
        for e in &out {
            prop_assert!(!e.to_json().contains("event serialization failed"));
        }
    }

    #[test]
    fn rule_loader_never_panics(text in "\\PC{0,400}") {
        let _ = RuleSet::empty().add_text(&text, "x.toml");
        let t = format!("[[rule]]\nid = \"X\"\nname = \"n\"\nseverity = 5\nexplanation = {:?}\n[rule.match]\nfields = [{{ field = {:?}, equals = 1 }}]\n", text, text);
        let _ = RuleSet::empty().add_text(&t, "y.toml");
    }

    #[test]
    fn templates_never_panic(text in "\\PC{0,200}") {
        if let Ok(t) = Template::parse(&text) {
            let _ = t.render(&|_| Some("v".into()));
        }
    }

    #[test]
    fn attack_loader_never_panics(text in "\\PC{0,300}") {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("ics-attack-1.json"), &text).unwrap();
        let _ = Attack::load_dir(dir.path());
        std::fs::remove_file(dir.path().join("ics-attack-1.json")).unwrap();
        std::fs::write(dir.path().join("x-techniques.csv"), &text).unwrap();
        let _ = Attack::load_dir(dir.path());
    }
}
