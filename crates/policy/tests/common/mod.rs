#![allow(dead_code)]
//! Shared helpers: the DESIGN.md example policy and small constructors.

use std::net::IpAddr;
use std::path::Path;

use sluice_policy::{Access, FlowFacts, IcsFacts, Policy, RegisterRange};

/// The policy example of DESIGN.md ("Policy file"), unchanged.
pub const DESIGN_EXAMPLE: &str = r#"[site]
name = "Riverside Water Treatment"

[[zone]]
name = "control"
level = 1
cidrs = ["10.10.1.0/24"]
security_level_target = 3

[[zone]]
name = "supervisory"
level = 2
cidrs = ["10.10.2.0/24"]

[[zone]]
name = "operations"
level = 3
cidrs = ["10.10.3.0/24"]

[[zone]]
name = "dmz"
level = 3.5
cidrs = ["10.30.0.0/24"]

[[zone]]
name = "enterprise"
level = 4
cidrs = ["10.20.0.0/16"]

[[conduit]]
name = "hmi-to-plc"
from = "supervisory"
to = "control"
protocols = ["modbus", "s7comm", "enip"]
access = "read-write"
clients = ["10.10.2.20", "10.10.2.40"]

[[conduit]]
name = "historian-reads"
from = "operations"
to = ["supervisory", "control"]
protocols = ["modbus"]
access = "read"
clients = ["10.10.3.30"]

[[conduit]]
name = "vendor-remote-access"
from = "external"
to = "dmz"
protocols = ["rdp", "ssh", "vnc"]
servers = ["10.30.0.5"]
requires_mfa = true

[[conduit]]
name = "office-internet"
from = "enterprise"
to = "external"
protocols = ["http", "tls", "dns"]

[[envelope]]
device = "10.10.1.10"
unit = 1
register = 5        # holding register, 0-based protocol address
min = 50
max = 200
max_step = 50
"#;

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
