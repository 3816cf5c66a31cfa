#![allow(dead_code)]
//! Shared helpers: the DESIGN.md example policy and small constructors.

use std::net::IpAddr;
use std::path::Path;

use sluice_policy::{Access, FlowFacts, IcsFacts, Policy, RegisterRange};

/// The policy example of DESIGN.md ("Policy file"), unchanged.
pub const DESIGN_EXAMPLE: &str = sluice_policy::EXAMPLE;

/// 2021-02-05T13:30:00Z (Oldsmar), in ns.
pub const TS: i64 = 1_612_531_800_000_000_000;

pub fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

pub fn example() -> Policy {
    Policy::from_str(DESIGN_EXAMPLE, Path::new("sluice.toml")).unwrap()
}

pub fn load(text: &str) -> Policy {
    match Policy::from_str(text, Path::new("sluice.toml")) {
        Ok(p) => p,
        Err(e) => panic!("policy should load: {e}"),
    }
}

pub fn flow<'a>(client: &str, server: &str, protocol: Option<&'a str>) -> FlowFacts<'a> {
    FlowFacts {
        client: ip(client),
        server: ip(server),
        protocol,
        ts: TS,
    }
}

pub fn ics<'a>(client: &str, server: &str, protocol: &'a str, access: Access) -> IcsFacts<'a> {
    IcsFacts {
        client: ip(client),
        server: ip(server),
        protocol,
        access,
        unit: Some(1),
        registers: None,
        ts: TS,
    }
}

pub fn write_regs<'a>(client: &str, server: &str, first: u16, count: u16) -> IcsFacts<'a> {
    IcsFacts {
        registers: RegisterRange::from_start_count(first, count),
        ..ics(client, server, "modbus", Access::Write)
    }
}

/// The shared data folder (`../shared/data` beside the repository), if present.
pub fn shared_data() -> Option<std::path::PathBuf> {
    let p = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/data"));
    if p.is_dir() {
        Some(p.to_path_buf())
    } else {
        println!("SKIP: ../shared/data not found");
        None
    }
}
