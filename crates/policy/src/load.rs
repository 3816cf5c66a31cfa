//! From TOML text to a resolved [`Policy`], collecting diagnostics on the way.

use std::collections::HashMap;
use std::net::IpAddr;
use std::ops::Range;
use std::path::Path;
use std::sync::Arc;

use ipnet::IpNet;

use crate::error::{Diagnostic, DiagnosticKind as K, LineIndex, Location, PolicyError, Severity};
use crate::lpm::{canonical, ZoneTable};
use crate::model::*;
use crate::protocols;
use crate::raw::{RawPolicy, S};
use crate::time::{parse_offset, parse_rfc3339, DateOrInstant, WeeklySlot};
use crate::{Policy, ViolationKind};

const NS_PER_DAY: i64 = 86_400 * 1_000_000_000;

pub(crate) struct Builder<'t> {
    text: &'t str,
    lines: LineIndex,
    origin: &'t Path,
    pub(crate) diags: Vec<Diagnostic>,
}

/// Parses an address (`10.1.2.3`, `fd00::1`) or a CIDR (`10.1.2.0/24`).
/// Returns the network with host bits cleared and whether host bits were set.
pub(crate) fn parse_net(s: &str) -> Option<(IpNet, bool)> {
    let t = s.trim();
    if t.contains('/') {
        let n: IpNet = t.parse().ok()?;
        let n = match n {
            IpNet::V6(v6) => match v6.network().to_ipv4_mapped() {
                Some(v4) if v6.prefix_len() >= 96 => {
                    IpNet::new(IpAddr::V4(v4), v6.prefix_len() - 96).ok()?
                }
                _ => n,
            },
            v4 => v4,
        };
        let t = n.trunc();
        Some((t, t != n))
    } else {
        let a: IpAddr = t.parse().ok()?;
        Some((IpNet::from(canonical(a)), false))
    }
}

fn first_last(net: &IpNet) -> (IpAddr, IpAddr) {
    (net.network(), net.broadcast())
}

impl<'t> Builder<'t> {
    pub(crate) fn new(text: &'t str, origin: &'t Path) -> Self {
        Builder {
            text,
            lines: LineIndex::new(text),
            origin,
            diags: Vec::new(),
        }
    }

    pub(crate) fn loc(&self, span: Range<usize>) -> Location {
        let (line, column) = self.lines.line_col(self.text, span.start);
        Location {
            file: self.origin.to_path_buf(),
            line,
            column,
        }
    }

    fn push(&mut self, severity: Severity, kind: K, span: Range<usize>, message: String) {
        let location = self.loc(span);
        self.diags.push(Diagnostic {
            severity,
            kind,
            location,
            message,
        });
    }

    fn error(&mut self, kind: K, span: Range<usize>, message: String) {
        self.push(Severity::Error, kind, span, message);
    }

    fn warn(&mut self, kind: K, span: Range<usize>, message: String) {
        self.push(Severity::Warning, kind, span, message);
    }

    /// Parses a list of addresses/CIDRs; bad entries are reported and skipped.
    fn nets(&mut self, items: &[S<String>], what: &str) -> Vec<(IpNet, Range<usize>)> {
        let mut out = Vec::with_capacity(items.len());
        for it in items {
            match parse_net(it.get_ref()) {
                Some((net, host_bits)) => {
                    if host_bits {
                        self.warn(
                            K::HostBitsSet,
                            it.span(),
                            format!(
                                "{} \"{}\" has host bits set; it means {}",
                                what,
                                it.get_ref(),
                                net
                            ),
                        );
                    }
                    out.push((net, it.span()));
                }
                None => self.error(
                    K::InvalidAddress,
                    it.span(),
                    format!("{} \"{}\" is not an IP address or CIDR", what, it.get_ref()),
                ),
            }
        }
        out
    }

    fn protocols(&mut self, items: &[S<String>], owner: &str) -> Vec<Box<str>> {
        let mut out: Vec<Box<str>> = Vec::with_capacity(items.len());
        for p in items {
            let name = p.get_ref().trim().to_ascii_lowercase();
            if !protocols::is_known(&name) {
                self.warn(
                    K::UnknownProtocol,
                    p.span(),
                    format!(
                        "unknown protocol \"{}\" in {} (known: {})",
                        p.get_ref(),
                        owner,
                        protocols::KNOWN_PROTOCOLS.join(", ")
                    ),
                );
            }
            if !out.iter().any(|q| **q == *name) {
                out.push(name.into_boxed_str());
            }
        }
        out
    }

    fn permission(&mut self, v: &S<String>) -> Option<Permission> {
        match v.get_ref().trim().to_ascii_lowercase().as_str() {
            "read" => Some(Permission::Read),
            "read-write" | "read_write" | "readwrite" => Some(Permission::ReadWrite),
            _ => {
                self.error(
                    K::InvalidValue,
                    v.span(),
                    format!(
                        "access \"{}\" is not \"read\" or \"read-write\"",
                        v.get_ref()
                    ),
                );
                None
            }
        }
    }

    fn register_range(&mut self, v: &S<toml::Value>, what: &str) -> Option<RegisterRange> {
        let r = match v.get_ref() {
            toml::Value::Integer(i) => u16::try_from(*i).ok().map(RegisterRange::single),
            toml::Value::String(s) => RegisterRange::parse(s),
            _ => None,
        };
        if r.is_none() {
            self.error(
                K::InvalidRange,
                v.span(),
                format!(
                    "{what} {} is not a register address 0-65535 or a range like \"0-19\"",
                    v.get_ref()
                ),
            );
        }
        r
    }

    fn time_value(&mut self, v: &S<toml::Value>, what: &str) -> Option<DateOrInstant> {
        let text = match v.get_ref() {
            toml::Value::String(s) => s.clone(),
            toml::Value::Datetime(d) => d.to_string(),
            other => {
                self.error(
                    K::InvalidTime,
                    v.span(),
                    format!("{what} {other} is not an RFC 3339 date or date-time"),
                );
                return None;
            }
        };
        match parse_rfc3339(&text) {
            Ok(t) => Some(t),
            Err(e) => {
                self.error(K::InvalidTime, v.span(), format!("{what}: {e}"));
                None
            }
        }
    }
}

struct Names {
    zones: Vec<Arc<str>>,
}

impl Names {
    fn resolve(&self, name: &str) -> Option<ZoneKey> {
        if name == EXTERNAL {
            return Some(ZoneKey::External);
        }
        self.zones
            .iter()
            .position(|z| &**z == name)
            .map(ZoneKey::Defined)
    }

    fn known(&self) -> String {
        let mut seen: Vec<&str> = Vec::new();
        for z in &self.zones {
            if !seen.contains(&&**z) {
                seen.push(z);
            }
        }
        seen.push(EXTERNAL);
        seen.join(", ")
    }
}

/// Checks unique, non-empty names; returns whether the name is usable.
fn check_name(
    b: &mut Builder<'_>,
    seen: &mut HashMap<String, usize>,
    name: &S<String>,
    what: &str,
) {
    let n = name.get_ref();
    if n.trim().is_empty() {
        b.error(
            K::InvalidValue,
            name.span(),
            format!("{what} name is empty"),
        );
        return;
    }
    let (line, _) = b.lines.line_col(b.text, name.span().start);
    if let Some(prev) = seen.get(n) {
        b.error(
            K::DuplicateName,
            name.span(),
            format!("duplicate {what} name \"{n}\" (first defined on line {prev})"),
        );
    } else {
        seen.insert(n.clone(), line as usize);
    }
}

pub(crate) fn build(text: &str, origin: &Path) -> Result<Policy, PolicyError> {
    let raw: RawPolicy = toml::from_str(text).map_err(|e| {
        let lines = LineIndex::new(text);
        let (line, column) = match e.span() {
            Some(s) => lines.line_col(text, s.start),
            None => (0, 0),
        };
        PolicyError::Syntax {
            location: Location {
                file: origin.to_path_buf(),
                line,
                column,
            },
            message: e.message().trim().replace('\n', "; "),
        }
    })?;
    let mut b = Builder::new(text, origin);

    // [site]
    let mut gates = Vec::new();
    let mut utc_offset_min = 0;
    let mut site_name = None;
    if let Some(site) = &raw.site {
        site_name = site.name.clone();
        gates = b
            .nets(&site.gates, "gate")
            .into_iter()
            .map(|(n, _)| n)
            .collect();
        if let Some(off) = &site.utc_offset {
            match parse_offset(off.get_ref()) {
                Ok(m) => utc_offset_min = m,
                Err(e) => b.error(K::InvalidTime, off.span(), format!("utc_offset: {e}")),
            }
        }
    }

    // [[zone]]
    let mut zones: Vec<Zone> = Vec::with_capacity(raw.zone.len());
    let mut zone_nets: Vec<(usize, IpNet, Range<usize>)> = Vec::new();
    let mut seen = HashMap::new();
    for (zi, z) in raw.zone.iter().enumerate() {
        let name = z.name.get_ref();
        if name.trim().eq_ignore_ascii_case(EXTERNAL) {
            b.error(
                K::ReservedName,
                z.name.span(),
                format!(
                    "zone name \"{name}\" is reserved for addresses in no zone; pick another name"
                ),
            );
        } else {
            check_name(&mut b, &mut seen, &z.name, "zone");
        }
        let lv = *z.level.get_ref();
        let level = match Level::from_f64(lv) {
            Some(l) => l,
            None => {
                b.error(
                    K::LevelOutOfRange,
                    z.level.span(),
                    format!("zone \"{name}\" has level {lv}: levels are 0 to 5 (3.5 for the DMZ)"),
                );
                if lv.is_nan() {
                    Level::EXTERNAL
                } else {
                    Level::from_f64(((lv * 2.0).round() / 2.0).clamp(0.0, 5.0))
                        .unwrap_or(Level::EXTERNAL)
                }
            }
        };
        let slt = match &z.security_level_target {
            Some(s) => match u8::try_from(*s.get_ref()) {
                Ok(v @ 1..=4) => Some(v),
                _ => {
                    b.error(
                        K::SecurityLevelOutOfRange,
                        s.span(),
                        format!(
                            "zone \"{name}\" has security_level_target {}: IEC 62443 targets are 1 to 4",
                            s.get_ref()
                        ),
                    );
                    None
                }
            },
            None => None,
        };
        let nets = b.nets(&z.cidrs, "CIDR");
        if z.cidrs.is_empty() {
            b.warn(
                K::EmptyZone,
                z.name.span(),
                format!("zone \"{name}\" has no cidrs: no address belongs to it"),
            );
        }
        let mut cidrs = Vec::with_capacity(nets.len());
        for (n, span) in nets {
            cidrs.push(n);
            zone_nets.push((zi, n, span));
        }
        zones.push(Zone {
            name: Arc::from(name.as_str()),
            level,
            cidrs,
            security_level_target: slt,
            description: z.description.clone(),
        });
    }

    // Overlapping CIDRs (CIDRs either nest or are disjoint).
    for (j, (zj, nj, sj)) in zone_nets.iter().enumerate() {
        for (zi, ni, si) in zone_nets.iter().take(j) {
            let overlap = ni.contains(&nj.network()) || nj.contains(&ni.network());
            if !overlap {
                continue;
            }
            let (line_i, _) = b.lines.line_col(b.text, si.start);
            let (a, bz) = (
                zones.get(*zi).map(|z| z.name.clone()),
                zones.get(*zj).map(|z| z.name.clone()),
            );
            let (a, bz) = (a.unwrap_or_default(), bz.unwrap_or_default());
            if zi == zj {
                b.warn(
                    K::RedundantCidr,
                    sj.clone(),
                    format!(
                        "{nj} in zone \"{bz}\" overlaps {ni} of the same zone (line {line_i}); one of them is redundant"
                    ),
                );
            } else {
                b.error(
                    K::OverlappingCidrs,
                    sj.clone(),
                    format!(
                        "{nj} in zone \"{bz}\" overlaps {ni} in zone \"{a}\" (line {line_i}): an address must belong to one zone"
                    ),
                );
            }
        }
    }

    let table = ZoneTable::new(
        zones
            .iter()
            .enumerate()
            .flat_map(|(i, z)| z.cidrs.iter().map(move |n| (n, i))),
    );
    let names = Names {
        zones: zones.iter().map(|z| z.name.clone()).collect(),
    };
    let key_of = |ip: IpAddr| match table.lookup(ip) {
        Some(i) => ZoneKey::Defined(i),
        None => ZoneKey::External,
    };
    let level_of = |k: ZoneKey| match k {
        ZoneKey::Defined(i) => zones.get(i).map(|z| z.level).unwrap_or(Level::EXTERNAL),
        ZoneKey::External => Level::EXTERNAL,
    };
    let name_of = |k: ZoneKey| -> Arc<str> {
        match k {
            ZoneKey::Defined(i) => zones
                .get(i)
                .map(|z| z.name.clone())
                .unwrap_or_else(|| Arc::from(EXTERNAL)),
            ZoneKey::External => Arc::from(EXTERNAL),
        }
    };

    // [[conduit]]
    let mut conduits = Vec::with_capacity(raw.conduit.len());
    let mut seen = HashMap::new();
    for c in &raw.conduit {
        check_name(&mut b, &mut seen, &c.name, "conduit");
        let cname = c.name.get_ref().clone();
        let owner = format!("conduit \"{cname}\"");
        let from_key = names.resolve(c.from.get_ref());
        if from_key.is_none() {
            b.error(
                K::UnknownZone,
                c.from.span(),
                format!(
                    "unknown zone \"{}\" in conduit \"{cname}\" (known: {})",
                    c.from.get_ref(),
                    names.known()
                ),
            );
        }
        let to_items = c.to.get_ref().items(c.to.span());
        if to_items.is_empty() {
            b.error(
                K::InvalidValue,
                c.to.span(),
                format!("conduit \"{cname}\" has an empty `to` list: it can never match"),
            );
        }
        let mut to_keys = Vec::new();
        let mut to_names = Vec::new();
        for (t, span) in &to_items {
            match names.resolve(t) {
                Some(k) => {
                    if !to_keys.contains(&k) {
                        to_keys.push(k);
                    }
                }
                None => b.error(
                    K::UnknownZone,
                    span.clone(),
                    format!(
                        "unknown zone \"{t}\" in conduit \"{cname}\" (known: {})",
                        names.known()
                    ),
                ),
            }
            to_names.push(Arc::<str>::from(*t));
        }
        let protos = b.protocols(c.protocols.get_ref(), &owner);
        if protos.is_empty() {
            b.error(
                K::EmptyProtocols,
                c.protocols.span(),
                format!("conduit \"{cname}\" has an empty protocol list: it can never match"),
            );
        }
        let has_ics = protos.iter().any(|p| protocols::is_ics(p));
        let access = match &c.access {
            Some(a) => b.permission(a).unwrap_or(Permission::Read),
            None if has_ics => {
                b.warn(
                    K::AccessDefaulted,
                    c.name.span(),
                    format!("conduit \"{cname}\" carries industrial protocols but sets no access: it allows reads only (add access = \"read-write\" to allow writes)"),
                );
                Permission::Read
            }
            None => Permission::ReadWrite,
        };
        let clients = c.clients.as_ref().map(|v| b.nets(v, "client"));
        let servers = c.servers.as_ref().map(|v| b.nets(v, "server"));
        if let (Some(fk), Some(cl)) = (from_key, &clients) {
            check_side(
                &mut b,
                cl,
                |ip| key_of(ip) == fk,
                "client",
                &cname,
                |ip| {
                    format!(
                        "is in zone \"{}\", not in \"{}\" (from)",
                        name_of(key_of(ip)),
                        name_of(fk)
                    )
                },
            );
        }
        if let Some(sv) = &servers {
            if !to_keys.is_empty() {
                let list = to_keys
                    .iter()
                    .map(|k| name_of(*k).to_string())
                    .collect::<Vec<_>>()
                    .join(", ");
                check_side(
                    &mut b,
                    sv,
                    |ip| to_keys.contains(&key_of(ip)),
                    "server",
                    &cname,
                    |ip| {
                        format!(
                            "is in zone \"{}\", not in {} (to)",
                            name_of(key_of(ip)),
                            list
                        )
                    },
                );
            }
        }
        for (list, span, what) in [
            (&c.clients, &c.name, "clients"),
            (&c.servers, &c.name, "servers"),
        ] {
            if list.as_ref().is_some_and(|l| l.is_empty()) {
                b.error(
                    K::InvalidValue,
                    span.span(),
                    format!("conduit \"{cname}\" has an empty {what} list: it can never match"),
                );
            }
        }
        let jump_hosts = b
            .nets(&c.jump_hosts, "jump host")
            .into_iter()
            .map(|(n, _)| n)
            .collect();
        let mut writers = Vec::with_capacity(c.writers.len());
        for w in &c.writers {
            let wc = b.nets(&w.clients, "writer");
            if let Some(fk) = from_key {
                check_side(
                    &mut b,
                    &wc,
                    |ip| key_of(ip) == fk,
                    "writer",
                    &cname,
                    |ip| {
                        format!(
                            "is in zone \"{}\", not in \"{}\" (from)",
                            name_of(key_of(ip)),
                            name_of(fk)
                        )
                    },
                );
            }
            let registers = match &w.registers {
                Some(r) => match b.register_range(r, "writers registers") {
                    Some(r) => Some(r),
                    None => continue,
                },
                None => None,
            };
            writers.push(WriterRule {
                clients: wc.into_iter().map(|(n, _)| n).collect(),
                registers,
                unit: w.unit,
            });
        }
        if let Some(fk) = from_key {
            if to_keys.len() == 1 && to_keys.first() == Some(&fk) {
                let restricts = clients.is_some()
                    || servers.is_some()
                    || (has_ics && access == Permission::Read)
                    || !writers.is_empty()
                    || c.requires_mfa;
                if !restricts {
                    b.warn(
                        K::NoEffect,
                        c.name.span(),
                        format!("conduit \"{cname}\" joins zone \"{}\" to itself and restricts nothing: traffic inside a zone is already allowed", name_of(fk)),
                    );
                }
            }
            let fl = level_of(fk);
            if fl >= Level::L4 {
                for tk in &to_keys {
                    let tl = level_of(*tk);
                    if tl <= Level::L2 {
                        b.warn(
                            K::BypassesDmz,
                            c.to.span(),
                            format!(
                                "conduit \"{cname}\" lets {} (level {fl}) reach {} (level {tl}) directly; traffic from level 4 or above should end in the DMZ",
                                name_of(fk),
                                name_of(*tk)
                            ),
                        );
                    }
                }
            }
        }
        conduits.push(Conduit {
            name: Arc::from(cname.as_str()),
            from: Arc::from(c.from.get_ref().as_str()),
            to: to_names,
            protocols: protos,
            access,
            clients: clients.map(|v| v.into_iter().map(|(n, _)| n).collect()),
            servers: servers.map(|v| v.into_iter().map(|(n, _)| n).collect()),
            requires_mfa: c.requires_mfa,
            jump_hosts,
            writers,
            description: c.description.clone(),
            from_key,
            to_keys,
        });
    }

    // [[envelope]]
    let mut envelopes: Vec<Envelope> = Vec::with_capacity(raw.envelope.len());
    let mut env_lines: Vec<u32> = Vec::new();
    for e in &raw.envelope {
        let device = match parse_net(e.device.get_ref()) {
            Some((n, _)) if n.prefix_len() == n.max_prefix_len() => n.addr(),
            _ => {
                b.error(
                    K::InvalidAddress,
                    e.device.span(),
                    format!(
                        "envelope device \"{}\" is not an IP address",
                        e.device.get_ref()
                    ),
                );
                continue;
            }
        };
        let Some(registers) = b.register_range(&e.register, "envelope register") else {
            continue;
        };
        let (min, max) = (*e.min.get_ref(), *e.max.get_ref());
        let what = format!("envelope of {device} register {registers}");
        let mut ok = true;
        for (v, s, n) in [(min, e.min.span(), "min"), (max, e.max.span(), "max")] {
            if !v.is_finite() {
                b.error(
                    K::InvalidEnvelope,
                    s,
                    format!("{what}: {n} {v} is not a finite number"),
                );
                ok = false;
            }
        }
        if ok && min > max {
            b.error(
                K::InvalidEnvelope,
                e.min.span(),
                format!("{what}: min {min} is above max {max}: every write would break it"),
            );
            ok = false;
        }
        let max_step = e.max_step.as_ref().map(|s| (*s.get_ref(), s.span()));
        if let Some((st, span)) = &max_step {
            if !(st.is_finite() && *st > 0.0) {
                b.error(
                    K::InvalidEnvelope,
                    span.clone(),
                    format!("{what}: max_step {st} must be a positive number"),
                );
                ok = false;
            }
        }
        if !ok {
            continue;
        }
        if table.lookup(device).is_none() {
            b.warn(
                K::EnvelopeOutsideZones,
                e.device.span(),
                format!("envelope device {device} is in no zone (it is external)"),
            );
        }
        let (line, _) = b.lines.line_col(b.text, e.device.span().start);
        if let Some(prev) = envelopes.iter().position(|o| {
            o.device == device
                && (o.unit.is_none() || e.unit.is_none() || o.unit == e.unit)
                && o.registers.first <= registers.last
                && registers.first <= o.registers.last
        }) {
            let pl = env_lines.get(prev).copied().unwrap_or(0);
            b.warn(
                K::OverlappingEnvelopes,
                e.register.span(),
                format!("{what} overlaps the envelope on line {pl}; the first one applies"),
            );
        }
        env_lines.push(line);
        envelopes.push(Envelope {
            name: e.name.clone(),
            device,
            unit: e.unit,
            registers,
            min,
            max,
            max_step: max_step.map(|(s, _)| s),
            description: e.description.clone(),
        });
    }

    // [[maintenance_window]]
    let mut windows = Vec::with_capacity(raw.maintenance_window.len());
    let mut seen = HashMap::new();
    for w in &raw.maintenance_window {
        check_name(&mut b, &mut seen, &w.name, "maintenance window");
        let wname = w.name.get_ref().clone();
        let scope = match (&w.zone, &w.device) {
            (Some(_), Some(d)) => {
                b.error(
                    K::InvalidValue,
                    d.span(),
                    format!(
                        "maintenance window \"{wname}\" names both a zone and a device; give one"
                    ),
                );
                continue;
            }
            (Some(z), None) => {
                if names.resolve(z.get_ref()).is_none() {
                    b.error(
                        K::UnknownZone,
                        z.span(),
                        format!(
                            "unknown zone \"{}\" in maintenance window \"{wname}\" (known: {})",
                            z.get_ref(),
                            names.known()
                        ),
                    );
                    continue;
                }
                WindowScope::Zone(Arc::from(z.get_ref().as_str()))
            }
            (None, Some(d)) => match parse_net(d.get_ref()) {
                Some((n, _)) if n.prefix_len() == n.max_prefix_len() => {
                    WindowScope::Device(n.addr())
                }
                _ => {
                    b.error(
                        K::InvalidAddress,
                        d.span(),
                        format!(
                            "maintenance window device \"{}\" is not an IP address",
                            d.get_ref()
                        ),
                    );
                    continue;
                }
            },
            (None, None) => WindowScope::Site,
        };
        let schedule = match (&w.weekly, &w.start, &w.end) {
            (Some(wk), None, None) => {
                let mut slots = Vec::new();
                for (s, span) in wk.get_ref().items(wk.span()) {
                    match WeeklySlot::parse(s) {
                        Ok(slot) => slots.push(slot),
                        Err(e) => b.error(
                            K::InvalidTime,
                            span,
                            format!("maintenance window \"{wname}\": {e}"),
                        ),
                    }
                }
                if slots.is_empty() {
                    continue;
                }
                Schedule::Weekly(slots)
            }
            (None, Some(s), Some(e)) => {
                let start = match b.time_value(s, "start") {
                    Some(DateOrInstant::Date(t) | DateOrInstant::Instant(t)) => t,
                    None => continue,
                };
                let end = match b.time_value(e, "end") {
                    Some(DateOrInstant::Date(t)) => t.saturating_add(NS_PER_DAY),
                    Some(DateOrInstant::Instant(t)) => t,
                    None => continue,
                };
                if end <= start {
                    b.error(
                        K::InvalidTime,
                        e.span(),
                        format!("maintenance window \"{wname}\" ends before it starts"),
                    );
                    continue;
                }
                Schedule::Once { start, end }
            }
            _ => {
                b.error(
                    K::InvalidValue,
                    w.name.span(),
                    format!("maintenance window \"{wname}\" needs either start and end (RFC 3339) or weekly (\"Sat 02:00-06:00\")"),
                );
                continue;
            }
        };
        windows.push(MaintenanceWindow {
            name: Arc::from(wname.as_str()),
            scope,
            schedule,
            description: w.description.clone(),
        });
    }

    // [[exception]]
    let mut exceptions = Vec::with_capacity(raw.exception.len());
    let mut exception_locs = Vec::with_capacity(raw.exception.len());
    let mut seen = HashMap::new();
    for (i, x) in raw.exception.iter().enumerate() {
        if let Some(n) = &x.name {
            check_name(&mut b, &mut seen, n, "exception");
        }
        let label = match &x.name {
            Some(n) => format!("exception \"{}\"", n.get_ref()),
            None => format!("exception #{}", i + 1),
        };
        let what = x.what.get_ref();
        let mut active = true;
        let from_key = match &what.from {
            Some(f) => {
                let k = names.resolve(f.get_ref());
                if k.is_none() {
                    active = false;
                    b.error(
                        K::UnknownZone,
                        f.span(),
                        format!(
                            "unknown zone \"{}\" in {label} (known: {})",
                            f.get_ref(),
                            names.known()
                        ),
                    );
                }
                k
            }
            None => None,
        };
        let (to, to_keys) = match &what.to {
            Some(t) => {
                let mut keys = Vec::new();
                let mut tnames = Vec::new();
                for (n, span) in t.get_ref().items(t.span()) {
                    match names.resolve(n) {
                        Some(k) => keys.push(k),
                        None => {
                            active = false;
                            b.error(
                                K::UnknownZone,
                                span,
                                format!(
                                    "unknown zone \"{n}\" in {label} (known: {})",
                                    names.known()
                                ),
                            );
                        }
                    }
                    tnames.push(Arc::<str>::from(n));
                }
                (Some(tnames), Some(keys))
            }
            None => (None, None),
        };
        let protocols = what.protocols.as_ref().map(|p| b.protocols(p, &label));
        let clients = what
            .clients
            .as_ref()
            .map(|v| b.nets(v, "client").into_iter().map(|(n, _)| n).collect());
        let servers = what
            .servers
            .as_ref()
            .map(|v| b.nets(v, "server").into_iter().map(|(n, _)| n).collect());
        let access = what.access.as_ref().and_then(|a| b.permission(a));
        let violations = x.violations.as_ref().map(|v| {
            let mut out = Vec::new();
            for k in v {
                match ViolationKind::from_name(k.get_ref()) {
                    Some(kind) => out.push(kind),
                    None => b.error(
                        K::InvalidValue,
                        k.span(),
                        format!(
                            "unknown violation kind \"{}\" in {label} (known: {})",
                            k.get_ref(),
                            ViolationKind::ALL
                                .iter()
                                .map(|k| k.as_str())
                                .collect::<Vec<_>>()
                                .join(", ")
                        ),
                    ),
                }
            }
            out
        });
        if what.from.is_none()
            && what.to.is_none()
            && what.protocols.is_none()
            && what.clients.is_none()
            && what.servers.is_none()
        {
            b.warn(
                K::BroadException,
                x.what.span(),
                format!("{label} matches all traffic: it waives every violation"),
            );
        }
        let expires = match &x.expires {
            Some(e) => match b.time_value(e, "expires") {
                Some(DateOrInstant::Date(t)) => Some(t.saturating_add(NS_PER_DAY)),
                Some(DateOrInstant::Instant(t)) => Some(t),
                None => {
                    active = false;
                    None
                }
            },
            None => {
                b.warn(
                    K::PermanentException,
                    x.reason.span(),
                    format!("{label} has no expires date: it applies forever"),
                );
                None
            }
        };
        exception_locs.push(
            x.expires
                .as_ref()
                .map(|e| e.span())
                .unwrap_or_else(|| x.reason.span()),
        );
        exceptions.push(Exception {
            name: x.name.as_ref().map(|n| Arc::from(n.get_ref().as_str())),
            reason: Arc::from(x.reason.get_ref().as_str()),
            expires,
            from: what.from.as_ref().map(|f| Arc::from(f.get_ref().as_str())),
            to,
            protocols,
            clients,
            servers,
            access,
            violations,
            from_key,
            to_keys,
            active,
        });
    }

    let exception_locs = exception_locs.into_iter().map(|s| b.loc(s)).collect();
    let mut diags = b.diags;
    diags.sort_by_key(|d| (d.location.line, d.location.column));
    Ok(Policy::assemble(crate::Parts {
        origin: origin.to_path_buf(),
        site_name,
        gates,
        utc_offset_min,
        zones,
        conduits,
        envelopes,
        windows,
        exceptions,
        exception_locs,
        table,
        diagnostics: diags,
    }))
}

/// Reports addresses of `nets` for which `inside` is false (checks both ends of a CIDR).
fn check_side(
    b: &mut Builder<'_>,
    nets: &[(IpNet, Range<usize>)],
    inside: impl Fn(IpAddr) -> bool,
    what: &str,
    conduit: &str,
    why: impl Fn(IpAddr) -> String,
) {
    for (n, span) in nets {
        let (first, last) = first_last(n);
        let bad = if !inside(first) {
            Some(first)
        } else if !inside(last) {
            Some(last)
        } else {
            None
        };
        if let Some(ip) = bad {
            let shown = if n.prefix_len() == n.max_prefix_len() {
                n.addr().to_string()
            } else {
                n.to_string()
            };
            let kind = if what == "server" {
                K::ServerOutsideZone
            } else {
                K::ClientOutsideZone
            };
            let detail = if ip == n.addr() || n.prefix_len() == n.max_prefix_len() {
                why(ip)
            } else {
                format!("reaches {ip}, which {}", why(ip))
            };
            b.error(
                kind,
                span.clone(),
                format!("{what} {shown} of conduit \"{conduit}\" {detail}: it can never match"),
            );
        }
    }
}
