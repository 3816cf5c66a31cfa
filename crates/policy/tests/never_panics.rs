//! Property tests: no input makes the policy crate panic, and suggestions always load.

mod common;

use std::net::{IpAddr, Ipv4Addr};
use std::path::Path;

use common::*;
use proptest::prelude::*;
use sluice_policy::{Access, FlowFacts, IcsFacts, Observed, Policy, RegisterRange, Severity};

const FRAGMENTS: &[&str] = &[
    "[site]\n",
    "[[zone]]\n",
    "[[conduit]]\n",
    "[[envelope]]\n",
    "[[exception]]\n",
    "[[maintenance_window]]\n",
    "[gate]\n",
    "name = \"control\"\n",
    "name = \"dmz\"\n",
    "name = \"external\"\n",
    "name = \"\"\n",
    "level = 1\n",
    "level = 3.5\n",
    "level = -1\n",
    "level = nan\n",
    "level = inf\n",
    "level = 1e308\n",
    "cidrs = [\"10.10.1.0/24\"]\n",
    "cidrs = [\"10.0.0.0/8\", \"::/0\", \"0.0.0.0/0\"]\n",
    "cidrs = [\"10.10.1.0/33\", \"x\", \"\"]\n",
    "from = \"control\"\n",
    "from = \"external\"\n",
    "to = \"dmz\"\n",
    "to = [\"control\", \"dmz\", \"nowhere\"]\n",
    "to = []\n",
    "protocols = [\"modbus\", \"http\"]\n",
    "protocols = []\n",
    "access = \"read\"\n",
    "access = \"rw\"\n",
    "clients = [\"10.10.1.5\", \"10.0.0.0/8\"]\n",
    "servers = [\"fd00::1\"]\n",
    "requires_mfa = true\n",
    "jump_hosts = [\"10.30.0.5\"]\n",
    "writers = [{ clients = [\"10.10.1.5\"], registers = \"0-19\" }]\n",
    "writers = [{ clients = [], registers = \"19-0\" }]\n",
    "device = \"10.10.1.10\"\n",
    "register = 5\n",
    "register = \"65535-0\"\n",
    "min = 50\nmax = 20\n",
    "max_step = -0.0\n",
    "what = { from = \"dmz\", protocols = [\"vnc\"] }\n",
    "what = {}\n",
    "reason = \"x\"\n",
    "expires = 1979-05-27\n",
    "expires = \"2099-13-45\"\n",
    "weekly = \"Sun 23:00-01:00\"\n",
    "start = \"2021-01-01T00:00:00Z\"\nend = \"2021-01-01\"\n",
    "utc_offset = \"+14:00\"\n",
    "violations = [\"no_conduit\"]\n",
    "= \n",
    "\"\n",
    "[[zone\n",
    "é = 1\n",
    "\n",
];

fn exercise(p: &Policy, ips: &[IpAddr], proto: &str) {
    let _ = p.check();
    let _ = p.matrix();
    for &a in ips {
        let _ = p.zone_of(a);
        let _ = p.maintenance_window_at(a, TS);
        for &b in ips {
            let _ = p.judge_flow(FlowFacts {
                client: a,
                server: b,
                protocol: Some(proto),
                ts: TS,
            });
            let _ = p.judge_ics(IcsFacts {
                client: a,
                server: b,
                protocol: proto,
                access: Access::Write,
                unit: Some(1),
                registers: RegisterRange::from_start_count(65_530, 100),
                ts: i64::MAX,
            });
        }
        if let Some(e) = p.envelope(a, 1, 5) {
            let _ = e.check(Some(f64::NAN), f64::NEG_INFINITY);
        }
    }
}

fn ips() -> Vec<IpAddr> {
    [
        "10.10.1.5",
        "10.10.1.10",
        "10.30.0.5",
        "203.0.113.66",
        "fd00::1",
        "::ffff:10.10.1.5",
    ]
    .iter()
    .map(|s| ip(s))
    .collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn fragments_never_panic(picks in prop::collection::vec(0..FRAGMENTS.len(), 0..40)) {
        let text: String = picks.iter().map(|&i| FRAGMENTS[i]).collect();
        if let Ok(p) = Policy::parse(&text, Path::new("p.toml")) {
            exercise(&p, &ips(), "modbus");
        }
        let _ = Policy::from_str(&text, Path::new("p.toml")).map_err(|e| e.to_string());
    }

    #[test]
    fn mutated_example_never_panics(
        edits in prop::collection::vec((0usize..2000, any::<u8>()), 0..8),
        cut in 0usize..2000,
    ) {
        let mut bytes = DESIGN_EXAMPLE.as_bytes().to_vec();
        for (pos, b) in edits {
            if let Some(x) = bytes.get_mut(pos) {
                *x = b;
            }
        }
        bytes.truncate(cut.max(bytes.len() / 2));
        let text = String::from_utf8_lossy(&bytes);
        if let Ok(p) = Policy::parse(&text, Path::new("p.toml")) {
            exercise(&p, &ips(), "vnc");
        }
    }

    #[test]
    fn arbitrary_text_never_panics(text in "\\PC{0,300}") {
        let _ = Policy::parse(&text, Path::new("p.toml"));
    }

    #[test]
    fn judging_any_addresses_never_panics(
        a in any::<[u8; 16]>(), b in any::<u32>(), proto in "[a-z0-9_]{0,12}",
        first in any::<u16>(), count in any::<u16>(), ts in any::<i64>(),
    ) {
        let p = example();
        let x = IpAddr::from(a);
        let y = IpAddr::V4(Ipv4Addr::from(b));
        let _ = p.judge_flow(FlowFacts { client: x, server: y, protocol: Some(&proto), ts });
        let v = p.judge_ics(IcsFacts {
            client: y, server: x, protocol: &proto, access: Access::Write, unit: None,
            registers: RegisterRange::from_start_count(first, count), ts,
        });
        for viol in v.violations() {
            prop_assert!(!viol.explanation.is_empty());
        }
    }

    #[test]
    fn envelope_check_is_total(old in proptest::option::of(any::<f64>()), new in any::<f64>()) {
        let p = example();
        let e = p.envelope(ip("10.10.1.10"), 1, 5).unwrap();
        let r = e.check(old, new);
        if (50.0..=200.0).contains(&new) && old.is_none() {
            prop_assert!(r.is_none());
        }
        if !(50.0..=200.0).contains(&new) {
            prop_assert!(r.is_some());
        }
    }

    #[test]
    fn suggestions_always_load_and_allow_what_was_seen(
        raw in prop::collection::vec(
            (0usize..12, 0usize..12, 0usize..8, any::<bool>()), 0..40)
    ) {
        const HOSTS: [&str; 12] = [
            "10.0.1.1", "10.0.1.2", "10.0.2.1", "10.0.3.7", "192.168.5.5", "172.16.0.9",
            "8.8.8.8", "203.0.113.9", "fd00:1::1", "fd00:2::2", "2001:db8::1", "224.0.0.1",
        ];
        const PROTOS: [&str; 8] = ["modbus", "dnp3", "http", "vnc", "s7comm", "weird-proto", "DNS", ""];
        let obs: Vec<Observed<'_>> = raw.iter().map(|&(c, s, p, w)| Observed {
            client: ip(HOSTS[c]), server: ip(HOSTS[s]), protocol: PROTOS[p], is_write: w,
        }).collect();
        let text = Policy::suggest(&obs);
        let p = Policy::from_str(&text, Path::new("s.toml"));
        prop_assert!(p.is_ok(), "{}\n{}", p.err().map(|e| e.to_string()).unwrap_or_default(), text);
        let p = p.unwrap();
        prop_assert!(p.check().iter().all(|d| d.severity == Severity::Warning));
        for o in &obs {
            if o.protocol.is_empty() || o.client == o.server || o.server.is_multicast() || o.client.is_multicast() {
                continue;
            }
            let v = p.judge_flow(FlowFacts { client: o.client, server: o.server, protocol: Some(o.protocol), ts: TS });
            prop_assert!(v.is_allowed(), "{:?} {:?}\n{}", o, v, text);
        }
    }
}
