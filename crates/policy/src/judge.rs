//! Judging flows and ICS operations against the policy.

use std::fmt::Write as _;
use std::net::IpAddr;
use std::sync::Arc;

use serde::Serialize;

use crate::lpm::canonical;
use crate::model::{nets_contain, Conduit, Level, Permission, RegisterRange, WriterRule, ZoneKey};
use crate::protocols::display_name;
use crate::{Policy, ZoneRef};

/// What an ICS operation does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Access {
    /// Reads data.
    Read,
    /// Changes the device: writes, control operations, program or configuration changes.
    Write,
}

/// A flow to judge (one per connection or conversation).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FlowFacts<'a> {
    /// The side that opened the connection / sent the request.
    pub client: IpAddr,
    /// The other side.
    pub server: IpAddr,
    /// The protocol name (DESIGN.md names: `modbus`, `http`, ...), `None` if unidentified.
    pub protocol: Option<&'a str>,
    /// Nanoseconds since the Unix epoch.
    pub ts: i64,
}

/// An ICS operation to judge (one per application transaction).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IcsFacts<'a> {
    /// The requester.
    pub client: IpAddr,
    /// The device.
    pub server: IpAddr,
    /// The protocol name (`modbus`, `dnp3`, ...).
    pub protocol: &'a str,
    /// Read or write.
    pub access: Access,
    /// The unit / slave id, if the protocol has one.
    pub unit: Option<u8>,
    /// The registers (points, objects) touched, if known.
    pub registers: Option<RegisterRange>,
    /// Nanoseconds since the Unix epoch.
    pub ts: i64,
}

/// Why a flow or operation breaks the policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ViolationKind {
    /// It crosses zones and no conduit joins them in this direction.
    NoConduit,
    /// Conduits join the zones but none allows the protocol.
    ProtocolNotAllowed,
    /// A write through a read-only conduit.
    WriteOnReadOnly,
    /// The conduit admits only other clients.
    ClientNotAllowed,
    /// The conduit admits only other servers.
    ServerNotAllowed,
    /// The conduit's `writers` do not let this client write these registers.
    WriterNotAllowed,
    /// Level 4+ (or external) reaching level 0-2 with no conduit allowing it.
    DirectEnterpriseToControl,
    /// A conduit with `requires_mfa` used without a jump host or gate.
    RemoteAccessWithoutMfa,
}

impl ViolationKind {
    /// Every kind.
    pub const ALL: [ViolationKind; 8] = [
        ViolationKind::NoConduit,
        ViolationKind::ProtocolNotAllowed,
        ViolationKind::WriteOnReadOnly,
        ViolationKind::ClientNotAllowed,
        ViolationKind::ServerNotAllowed,
        ViolationKind::WriterNotAllowed,
        ViolationKind::DirectEnterpriseToControl,
        ViolationKind::RemoteAccessWithoutMfa,
    ];

    /// The snake_case name (`no_conduit`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            ViolationKind::NoConduit => "no_conduit",
            ViolationKind::ProtocolNotAllowed => "protocol_not_allowed",
            ViolationKind::WriteOnReadOnly => "write_on_read_only",
            ViolationKind::ClientNotAllowed => "client_not_allowed",
            ViolationKind::ServerNotAllowed => "server_not_allowed",
            ViolationKind::WriterNotAllowed => "writer_not_allowed",
            ViolationKind::DirectEnterpriseToControl => "direct_enterprise_to_control",
            ViolationKind::RemoteAccessWithoutMfa => "remote_access_without_mfa",
        }
    }

    /// The kind of a snake_case name.
    pub fn from_name(name: &str) -> Option<Self> {
        ViolationKind::ALL
            .into_iter()
            .find(|k| k.as_str().eq_ignore_ascii_case(name.trim()))
    }
}

impl std::fmt::Display for ViolationKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One broken rule.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Violation {
    /// What rule.
    pub kind: ViolationKind,
    /// The conduit that came closest to allowing it, if any.
    pub conduit: Option<Arc<str>>,
    /// The client's zone.
    pub from_zone: Arc<str>,
    /// The server's zone.
    pub to_zone: Arc<str>,
    /// The client zone's level.
    pub from_level: Level,
    /// The server zone's level.
    pub to_level: Level,
    /// One sentence for the operator.
    pub explanation: String,
}

/// The judgement of a flow or operation.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// Allowed: by a conduit (named), inside a zone (`conduit: None`), or by an exception.
    Allowed {
        /// The conduit that allowed it.
        conduit: Option<Arc<str>>,
        /// The reason of the exception that waived its violations.
        exception: Option<Arc<str>>,
    },
    /// Broken rules (never empty).
    Violations(Vec<Violation>),
}

impl Verdict {
    /// Whether allowed (possibly through an exception).
    pub fn is_allowed(&self) -> bool {
        matches!(self, Verdict::Allowed { .. })
    }

    /// The violations (empty when allowed).
    pub fn violations(&self) -> &[Violation] {
        match self {
            Verdict::Allowed { .. } => &[],
            Verdict::Violations(v) => v,
        }
    }

    /// Whether a violation of `kind` was found.
    pub fn has(&self, kind: ViolationKind) -> bool {
        self.violations().iter().any(|v| v.kind == kind)
    }
}

#[derive(Debug, Clone, Copy)]
struct Op {
    access: Access,
    unit: Option<u8>,
    registers: Option<RegisterRange>,
}

/// How far a conduit got in matching, in order; the conduit that got furthest explains.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Stage {
    Protocol,
    Client,
    Server,
    Access,
    Writer,
    Mfa,
}

struct Ctx<'a> {
    client: IpAddr,
    server: IpAddr,
    kc: ZoneKey,
    ks: ZoneKey,
    zc: ZoneRef<'a>,
    zs: ZoneRef<'a>,
    protocol: Option<&'a str>,
    op: Option<Op>,
}

fn writers_allow(rules: &[WriterRule], client: IpAddr, op: &Op) -> bool {
    let usable = |r: &&WriterRule| {
        nets_contain(&r.clients, client)
            && match (r.unit, op.unit) {
                (Some(ru), Some(u)) => ru == u,
                _ => true,
            }
    };
    let Some(range) = op.registers else {
        return rules.iter().any(|r| usable(&r));
    };
    // Walk the written range: each register must lie in a rule usable by this client.
    let mut cur = u32::from(range.first);
    let last = u32::from(range.last);
    while cur <= last {
        let step = rules.iter().filter(usable).find_map(|r| match r.registers {
            None => Some(last),
            Some(rr) if u32::from(rr.first) <= cur && cur <= u32::from(rr.last) => {
                Some(u32::from(rr.last))
            }
            Some(_) => None,
        });
        match step {
            Some(end) => cur = end + 1,
            None => return false,
        }
    }
    true
}

fn list_nets(nets: &[ipnet::IpNet]) -> String {
    let mut s = String::new();
    for (i, n) in nets.iter().enumerate() {
        if i > 0 {
            s.push_str(", ");
        }
        if n.prefix_len() == n.max_prefix_len() {
            let _ = write!(s, "{}", n.addr());
        } else {
            let _ = write!(s, "{n}");
        }
    }
    s
}

impl Policy {
    /// Judges a flow: zones, conduits, protocol, client and server lists, MFA, the
    /// enterprise-to-control rule, and exceptions. Access and writers are not judged here
    /// (see [`Policy::judge_ics`]).
    pub fn judge_flow(&self, f: FlowFacts<'_>) -> Verdict {
        self.judge(f.client, f.server, f.protocol, None, f.ts)
    }

    /// Judges one ICS operation: everything [`Policy::judge_flow`] does, plus read-only
    /// conduits and writers per register range.
    pub fn judge_ics(&self, f: IcsFacts<'_>) -> Verdict {
        let op = Op {
            access: f.access,
            unit: f.unit,
            registers: f.registers,
        };
        self.judge(f.client, f.server, Some(f.protocol), Some(op), f.ts)
    }

    fn evaluate(
        &self,
        c: &Conduit,
        client: IpAddr,
        server: IpAddr,
        protocol: Option<&str>,
        op: Option<&Op>,
    ) -> Result<(), Stage> {
        match protocol {
            Some(p) if c.allows_protocol(p) => {}
            _ => return Err(Stage::Protocol),
        }
        if c.clients.as_ref().is_some_and(|l| !nets_contain(l, client)) {
            return Err(Stage::Client);
        }
        if c.servers.as_ref().is_some_and(|l| !nets_contain(l, server)) {
            return Err(Stage::Server);
        }
        if let Some(op) = op.filter(|o| o.access == Access::Write) {
            if c.access == Permission::Read {
                return Err(Stage::Access);
            }
            if !c.writers.is_empty() && !writers_allow(&c.writers, client, op) {
                return Err(Stage::Writer);
            }
        }
        if c.requires_mfa {
            let through = |ip| nets_contain(&c.jump_hosts, ip) || nets_contain(&self.gates, ip);
            if !(through(client) || through(server)) {
                return Err(Stage::Mfa);
            }
        }
        Ok(())
    }

    fn judge(
        &self,
        client: IpAddr,
        server: IpAddr,
        protocol: Option<&str>,
        op: Option<Op>,
        ts: i64,
    ) -> Verdict {
        let client = canonical(client);
        let server = canonical(server);
        let kc = self.key_of(client);
        let ks = self.key_of(server);
        let mut best: Option<(Stage, usize)> = None;
        for &ci in self.candidates(kc, ks) {
            let ci = ci as usize;
            let Some(c) = self.conduits.get(ci) else {
                continue;
            };
            match self.evaluate(c, client, server, protocol, op.as_ref()) {
                Ok(()) => {
                    return Verdict::Allowed {
                        conduit: Some(c.name.clone()),
                        exception: None,
                    }
                }
                Err(stage) => {
                    if best.is_none_or(|(s, _)| stage > s) {
                        best = Some((stage, ci));
                    }
                }
            }
        }
        let same = kc == ks;
        let zc = self.zone_ref(kc);
        let zs = self.zone_ref(ks);
        let ctx = Ctx {
            client,
            server,
            kc,
            ks,
            zc,
            zs,
            protocol,
            op,
        };
        let mut out = Vec::new();
        match best {
            None if same => {}
            // Inside a zone, conduits restrict only the protocols they list.
            Some((Stage::Protocol, _)) if same => {}
            None => out.push(self.violation(&ctx, crate::ViolationKind::NoConduit, None)),
            Some((stage, ci)) => {
                let kind = match stage {
                    Stage::Protocol => ViolationKind::ProtocolNotAllowed,
                    Stage::Client => ViolationKind::ClientNotAllowed,
                    Stage::Server => ViolationKind::ServerNotAllowed,
                    Stage::Access => ViolationKind::WriteOnReadOnly,
                    Stage::Writer => ViolationKind::WriterNotAllowed,
                    Stage::Mfa => ViolationKind::RemoteAccessWithoutMfa,
                };
                out.push(self.violation(&ctx, kind, self.conduits.get(ci)));
            }
        }
        if !same && zc.level >= Level::L4 && zs.level <= Level::L2 {
            out.push(self.violation(&ctx, ViolationKind::DirectEnterpriseToControl, None));
        }
        if out.is_empty() {
            return Verdict::Allowed {
                conduit: None,
                exception: None,
            };
        }
        let mut waived_by = None;
        for x in &self.exceptions {
            if !x.active || x.is_expired_at(ts) {
                continue;
            }
            let matches = x.from_key.is_none_or(|k| k == kc)
                && x.to_keys.as_ref().is_none_or(|t| t.contains(&ks))
                && x.protocols.as_ref().is_none_or(|ps| {
                    protocol.is_some_and(|p| ps.iter().any(|q| q.eq_ignore_ascii_case(p)))
                })
                && x.clients.as_ref().is_none_or(|l| nets_contain(l, client))
                && x.servers.as_ref().is_none_or(|l| nets_contain(l, server))
                && match x.access {
                    Some(Permission::Read) => op.is_none_or(|o| o.access == Access::Read),
                    _ => true,
                };
            if !matches {
                continue;
            }
            let before = out.len();
            out.retain(|v| !x.violations.as_ref().is_none_or(|ks| ks.contains(&v.kind)));
            if out.len() < before && waived_by.is_none() {
                waived_by = Some(x.reason.clone());
            }
            if out.is_empty() {
                break;
            }
        }
        if out.is_empty() {
            Verdict::Allowed {
                conduit: None,
                exception: waived_by,
            }
        } else {
            Verdict::Violations(out)
        }
    }

    fn violation(&self, ctx: &Ctx<'_>, kind: ViolationKind, c: Option<&Conduit>) -> Violation {
        let from = self.zone_name(ctx.kc);
        let to = self.zone_name(ctx.ks);
        let mut s = String::with_capacity(160);
        let _ = write!(
            s,
            "{} ({}, level {}) ",
            ctx.client, ctx.zc.name, ctx.zc.level
        );
        let proto = ctx.protocol.map(display_name);
        let server = format!("{} ({}, level {})", ctx.server, ctx.zs.name, ctx.zs.level);
        match (ctx.op, proto) {
            (Some(op), Some(p)) => {
                let regs = op.registers.map(|r| {
                    if r.first == r.last {
                        format!("register {r}")
                    } else {
                        format!("registers {r}")
                    }
                });
                let modbus = ctx
                    .protocol
                    .is_some_and(|p| p.eq_ignore_ascii_case("modbus"));
                let _ = match (op.access, regs) {
                    (Access::Write, Some(r)) => write!(s, "wrote {p} {r} on {server}"),
                    (Access::Write, None) if modbus => {
                        write!(s, "wrote {p} registers on {server}")
                    }
                    (Access::Write, None) => write!(s, "sent a {p} write to {server}"),
                    (Access::Read, Some(r)) => write!(s, "read {p} {r} from {server}"),
                    (Access::Read, None) if modbus => {
                        write!(s, "read {p} registers from {server}")
                    }
                    (Access::Read, None) => write!(s, "sent a {p} read to {server}"),
                };
            }
            (_, Some(p)) => {
                let _ = write!(s, "reached {server} over {p}");
            }
            (_, None) => {
                let _ = write!(s, "reached {server} over an unidentified protocol");
            }
        }
        s.push_str(": ");
        let cname = c.map(|c| c.name.clone());
        let _ = match (kind, c) {
            (ViolationKind::NoConduit, _) => write!(s, "no conduit allows {from} → {to}"),
            (ViolationKind::ProtocolNotAllowed, Some(c)) => {
                let allowed = c
                    .protocols
                    .iter()
                    .map(|p| display_name(p))
                    .collect::<Vec<_>>()
                    .join(", ");
                match proto {
                    Some(p) => write!(
                        s,
                        "no conduit allows {p} from {from} → {to} (conduit \"{}\" allows {allowed})",
                        c.name
                    ),
                    None => write!(
                        s,
                        "conduits from {from} → {to} allow only identified protocols (conduit \"{}\" allows {allowed})",
                        c.name
                    ),
                }
            }
            (ViolationKind::ClientNotAllowed, Some(c)) => write!(
                s,
                "conduit \"{}\" admits only clients {}",
                c.name,
                list_nets(c.clients.as_deref().unwrap_or(&[]))
            ),
            (ViolationKind::ServerNotAllowed, Some(c)) => write!(
                s,
                "conduit \"{}\" admits only servers {}",
                c.name,
                list_nets(c.servers.as_deref().unwrap_or(&[]))
            ),
            (ViolationKind::WriteOnReadOnly, Some(c)) => {
                write!(s, "conduit \"{}\" allows read access only", c.name)
            }
            (ViolationKind::WriterNotAllowed, Some(c)) => write!(
                s,
                "conduit \"{}\" does not list {} among the writers of {}",
                c.name,
                ctx.client,
                match ctx.op.and_then(|o| o.registers) {
                    Some(r) if r.first == r.last => format!("register {r}"),
                    Some(r) => format!("registers {r}"),
                    None => "these registers".to_string(),
                }
            ),
            (ViolationKind::RemoteAccessWithoutMfa, Some(c)) => write!(
                s,
                "conduit \"{}\" requires MFA, but the session did not pass through a listed jump host or a gate",
                c.name
            ),
            (ViolationKind::DirectEnterpriseToControl, _) => write!(
                s,
                "level {} must not reach level {} directly and no conduit allows it (route it through the DMZ)",
                ctx.zc.level, ctx.zs.level
            ),
            (k, None) => write!(s, "{k}"),
        };
        Violation {
            kind,
            conduit: cname,
            from_zone: from,
            to_zone: to,
            from_level: ctx.zc.level,
            to_level: ctx.zs.level,
            explanation: s,
        }
    }
}
