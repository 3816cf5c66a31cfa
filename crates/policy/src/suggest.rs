//! Suggesting a policy from observed traffic (`sluice policy suggest`).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::net::IpAddr;

use ipnet::IpNet;

use crate::lpm::canonical;
use crate::protocols;
use crate::Policy;

/// One observed conversation (or transaction) for [`Policy::suggest`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Observed<'a> {
    /// The requester.
    pub client: IpAddr,
    /// The responder.
    pub server: IpAddr,
    /// Protocol name (DESIGN.md names); empty or `unknown` observations are skipped.
    pub protocol: &'a str,
    /// Whether the client wrote (ICS write, control, download, ...).
    pub is_write: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Role {
    Control,
    Supervisory,
    Operations,
    Enterprise,
    External,
}

impl Role {
    fn level(self) -> u8 {
        match self {
            Role::Control => 1,
            Role::Supervisory => 2,
            Role::Operations => 3,
            Role::Enterprise => 4,
            Role::External => 5,
        }
    }

    fn prefix(self) -> &'static str {
        match self {
            Role::Control => "control",
            Role::Supervisory => "supervisory",
            Role::Operations => "operations",
            Role::Enterprise => "enterprise",
            Role::External => "external",
        }
    }
}

#[derive(Default)]
struct SubnetStats {
    hosts: BTreeSet<IpAddr>,
    serves_ics: BTreeSet<String>,
    serves_other: BTreeSet<String>,
    ics_writer: bool,
    ics_reader: bool,
    local: bool,
}

#[derive(Default)]
struct PairStats {
    protocols: BTreeSet<String>,
    clients: BTreeSet<IpAddr>,
    servers: BTreeSet<IpAddr>,
    ics: bool,
    ics_write: bool,
    count: u64,
}

fn subnet_of(ip: IpAddr) -> Option<IpNet> {
    let len = if ip.is_ipv4() { 24 } else { 64 };
    IpNet::new(ip, len).ok().map(|n| n.trunc())
}

fn is_local(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(a) => {
            let o = a.octets();
            a.is_private()
                || a.is_loopback()
                || a.is_link_local()
                || (o[0] == 100 && (64..128).contains(&o[1]))
        }
        IpAddr::V6(a) => {
            let s = a.segments()[0];
            a.is_loopback() || (s & 0xfe00) == 0xfc00 || (s & 0xffc0) == 0xfe80
        }
    }
}

fn unusable(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(a) => a.is_multicast() || a.is_broadcast() || a.is_unspecified(),
        IpAddr::V6(a) => a.is_multicast() || a.is_unspecified(),
    }
}

/// A TOML basic string.
fn q(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for ch in s.chars() {
        match ch {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{:04X}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn list<I: IntoIterator<Item = String>>(items: I) -> String {
    let v: Vec<String> = items.into_iter().map(|s| q(&s)).collect();
    format!("[{}]", v.join(", "))
}

impl Policy {
    /// Suggests a policy from observed traffic: one zone per /24 (IPv4) or /64 (IPv6)
    /// subnet, by role — subnets whose hosts serve ICS protocols become level 1
    /// `control-N`, subnets of ICS writers level 2 `supervisory-N`, of read-only ICS clients
    /// level 3 `operations-N`, other private subnets level 4 `enterprise-N`; public
    /// addresses without an ICS role stay `external` — and one conduit per observed zone
    /// pair with its protocols, access and clients. The text is commented for a human to
    /// edit; it loads with [`Policy::from_str`] (warnings only, e.g. for direct enterprise
    /// to control traffic that was observed).
    pub fn suggest(observations: &[Observed<'_>]) -> String {
        let mut subnets: BTreeMap<IpNet, SubnetStats> = BTreeMap::new();
        let mut skipped = 0u64;
        let mut used: Vec<(IpAddr, IpAddr, String, bool)> = Vec::new();
        for o in observations {
            let (c, s) = (canonical(o.client), canonical(o.server));
            let proto = o.protocol.trim().to_ascii_lowercase();
            let proto_ok = !proto.is_empty()
                && proto != "unknown"
                && proto
                    .chars()
                    .all(|ch| ch.is_ascii_alphanumeric() || ch == '_' || ch == '-');
            if !proto_ok || unusable(c) || unusable(s) || c == s {
                skipped += 1;
                continue;
            }
            let ics = protocols::is_ics(&proto);
            if let Some(n) = subnet_of(c) {
                let st = subnets.entry(n).or_default();
                st.hosts.insert(c);
                st.local |= is_local(c);
                if ics {
                    if o.is_write {
                        st.ics_writer = true;
                    } else {
                        st.ics_reader = true;
                    }
                }
            }
            if let Some(n) = subnet_of(s) {
                let st = subnets.entry(n).or_default();
                st.hosts.insert(s);
                st.local |= is_local(s);
                if ics {
                    st.serves_ics.insert(proto.clone());
                } else {
                    st.serves_other.insert(proto.clone());
                }
            }
            used.push((c, s, proto, o.is_write && ics));
        }

        // Roles and names.
        let mut by_role: BTreeMap<Role, Vec<IpNet>> = BTreeMap::new();
        for (net, st) in &subnets {
            let role = if !st.serves_ics.is_empty() {
                Role::Control
            } else if st.ics_writer {
                Role::Supervisory
            } else if st.ics_reader {
                Role::Operations
            } else if st.local {
                Role::Enterprise
            } else {
                Role::External
            };
            by_role.entry(role).or_default().push(*net);
        }
        let mut zone_of_net: BTreeMap<IpNet, (String, Role)> = BTreeMap::new();
        for (role, nets) in &by_role {
            for (i, n) in nets.iter().enumerate() {
                let name = if *role == Role::External {
                    "external".to_string()
                } else {
                    format!("{}-{}", role.prefix(), i + 1)
                };
                zone_of_net.insert(*n, (name, *role));
            }
        }
        let zone_of = |ip: IpAddr| -> (String, Role) {
            subnet_of(ip)
                .and_then(|n| zone_of_net.get(&n).cloned())
                .unwrap_or_else(|| ("external".to_string(), Role::External))
        };

        // Conduits per zone pair.
        let mut pairs: BTreeMap<(Role, String, Role, String), PairStats> = BTreeMap::new();
        for (c, s, proto, write) in &used {
            let (zc, rc) = zone_of(*c);
            let (zs, rs) = zone_of(*s);
            if zc == zs {
                continue;
            }
            let st = pairs.entry((rc, zc, rs, zs)).or_default();
            st.ics |= protocols::is_ics(proto);
            st.ics_write |= *write;
            st.protocols.insert(proto.clone());
            st.clients.insert(*c);
            st.servers.insert(*s);
            st.count += 1;
        }

        let mut out = String::new();
        out.push_str("# Sluice site policy suggested from observed traffic.\n");
        out.push_str(
            "# Review before use: zones are /24 (IPv6: /64) subnets named by the role their\n",
        );
        out.push_str(
            "# hosts played (serving ICS protocols = control, writing = supervisory, reading =\n",
        );
        out.push_str(
            "# operations, others = enterprise); rename them, merge subnets, set levels and\n",
        );
        out.push_str("# security_level_target, and remove every conduit that should not exist.\n");
        let _ = writeln!(
            out,
            "# {} observations used, {} skipped (unidentified protocol, broadcast or multicast).",
            used.len(),
            skipped
        );
        out.push_str("\n[site]\nname = \"suggested from observed traffic\"\n");

        for (role, nets) in &by_role {
            if *role == Role::External {
                continue;
            }
            for net in nets {
                let Some((name, _)) = zone_of_net.get(net) else {
                    continue;
                };
                let Some(st) = subnets.get(net) else {
                    continue;
                };
                let hosts: Vec<String> = st.hosts.iter().map(|h| h.to_string()).collect();
                let shown = if hosts.len() > 8 {
                    format!("{}, ... ({} hosts)", hosts[..8].join(", "), hosts.len())
                } else {
                    hosts.join(", ")
                };
                out.push('\n');
                let _ = writeln!(out, "# hosts seen: {shown}");
                if !st.serves_ics.is_empty() {
                    let v: Vec<&str> = st.serves_ics.iter().map(String::as_str).collect();
                    let _ = writeln!(out, "# serve ICS protocols: {}", v.join(", "));
                }
                if !st.serves_other.is_empty() {
                    let v: Vec<&str> = st.serves_other.iter().map(String::as_str).collect();
                    let _ = writeln!(out, "# serve: {}", v.join(", "));
                }
                match role {
                    Role::Supervisory => {
                        out.push_str("# ICS clients that write (HMI, engineering)\n")
                    }
                    Role::Operations => {
                        out.push_str("# ICS clients that only read (historian, SCADA reporting)\n")
                    }
                    _ => {}
                }
                let _ = writeln!(
                    out,
                    "[[zone]]\nname = {}\nlevel = {}\ncidrs = [{}]",
                    q(name),
                    role.level(),
                    q(&net.to_string())
                );
            }
        }

        for ((rc, zc, rs, zs), st) in &pairs {
            out.push('\n');
            let _ = writeln!(out, "# observed {} time(s)", st.count);
            if rc.level() >= 4 && rs.level() <= 2 {
                out.push_str("# REVIEW: level 4+ traffic straight into levels 0-2; route it through a DMZ or remove it\n");
            }
            let servers: Vec<String> = st.servers.iter().map(|s| s.to_string()).collect();
            if servers.len() <= 8 {
                let _ = writeln!(out, "# servers seen: {}", servers.join(", "));
            }
            let _ = writeln!(
                out,
                "[[conduit]]\nname = {}\nfrom = {}\nto = {}",
                q(&format!("{zc}-to-{zs}")),
                q(zc),
                q(zs)
            );
            let _ = writeln!(out, "protocols = {}", list(st.protocols.iter().cloned()));
            if st.ics {
                if st.ics_write {
                    out.push_str("access = \"read-write\"  # writes were observed\n");
                } else {
                    out.push_str("access = \"read\"  # only reads were observed\n");
                }
            }
            let _ = writeln!(
                out,
                "clients = {}",
                list(st.clients.iter().map(|c| c.to_string()))
            );
        }
        out
    }
}
