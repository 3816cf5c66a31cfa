//! The asset inventory: one asset per IP device, with MAC history, vendor, protocols,
//! identity from the protocols that reveal it, and a role inferred from behaviour.
use crate::event::{mac_string, MacText};
use crate::oui::OuiDb;
use hashbrown::HashMap;
use serde::Serialize;
use sluice_proto::Identity;
use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

/// Role of a device on the plant network.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Serves an ICS protocol as a controller (Modbus server, S7, CIP target...).
    Plc,
    /// DNP3 / IEC 104 outstation.
    Rtu,
    /// Reads and writes controllers: HMI / SCADA master.
    Hmi,
    /// Performs engineering operations (diagnostics, restarts, downloads, file ops).
    EngineeringWorkstation,
    /// Only reads controllers.
    Historian,
    /// Speaks only IT protocols.
    ItHost,
    Unknown,
}

/// What kind of ICS operation a transaction performs.
pub use sluice_proto::Operation as OpClass;

/// A MAC address seen for an asset, with when.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct MacSeen {
    pub mac: String,
    pub first_seen: i64,
    pub last_seen: i64,
}

/// One device.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Asset {
    /// Stable id: `ip:<address>`.
    pub id: String,
    pub ip: IpAddr,
    /// Current MAC address (the last seen).
    pub mac: Option<String>,
    /// Every MAC seen for this address, oldest first (address changes).
    pub mac_history: Vec<MacSeen>,
    pub vendor: Option<String>,
    pub first_seen: i64,
    pub last_seen: i64,
    pub packets_sent: u64,
    pub bytes_sent: u64,
    pub protocols_server: BTreeSet<&'static str>,
    pub protocols_client: BTreeSet<&'static str>,
    pub role: Role,
    /// Identity facts by source (e.g. `modbus.fc43`).
    pub identity: BTreeMap<&'static str, Identity>,
    pub peers: BTreeSet<IpAddr>,
    /// The router MAC the address was seen behind (its own MAC is unknown).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub behind_router: Option<String>,
    #[serde(skip)]
    ops: OpCounts,
    /// True when the address was only seen in ARP.
    #[serde(skip)]
    pub arp_only: bool,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct OpCounts {
    ics_server: u64,
    outstation: u64,
    reads: u64,
    writes: u64,
    engineering: u64,
    it_client: u64,
}

/// Transactions of one protocol on one flow, tallied until the flow ends.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TxnCounts {
    pub total: u64,
    pub reads: u64,
    pub writes: u64,
    pub engineering: u64,
    /// Transactions whose server is an outstation (DNP3).
    pub outstation: u64,
}

impl TxnCounts {
    /// Counts one transaction.
    pub fn add(&mut self, op: OpClass, outstation: bool) {
        self.total += 1;
        match op {
            OpClass::Read => self.reads += 1,
            OpClass::Write => self.writes += 1,
            OpClass::Engineering => self.engineering += 1,
            OpClass::Other => {}
        }
        if outstation {
            self.outstation += 1;
        }
    }
}

/// Protocols whose server is a field device.
fn is_ics(proto: &str) -> bool {
    matches!(
        proto,
        "modbus"
            | "dnp3"
            | "s7comm"
            | "s7commplus"
            | "enip"
            | "iec104"
            | "bacnet"
            | "opcua"
            | "mms"
    )
}

/// A MAC seen for more addresses than this is taken for a router's.
const ROUTER_MAC_HOSTS: usize = 3;

/// Maximum peers remembered per asset (bounded memory).
const MAX_PEERS: usize = 256;

impl Asset {
    fn new(ip: IpAddr, ts: i64) -> Asset {
        Asset {
            id: format!("ip:{ip}"),
            ip,
            mac: None,
            mac_history: Vec::new(),
            vendor: None,
            first_seen: ts,
            last_seen: ts,
            packets_sent: 0,
            bytes_sent: 0,
            protocols_server: BTreeSet::new(),
            protocols_client: BTreeSet::new(),
            role: Role::Unknown,
            identity: BTreeMap::new(),
            peers: BTreeSet::new(),
            behind_router: None,
            ops: OpCounts::default(),
            arp_only: true,
        }
    }

    /// Infers the role from what the asset did.
    pub fn infer_role(&mut self) {
        let o = self.ops;
        self.role = if o.outstation > 0 && o.outstation >= o.ics_server / 2 {
            Role::Rtu
        } else if o.ics_server > 0 {
            Role::Plc
        } else if o.engineering > 0 {
            Role::EngineeringWorkstation
        } else if o.writes > 0 {
            Role::Hmi
        } else if o.reads > 0 {
            Role::Historian
        } else if o.it_client > 0 || !self.protocols_server.is_empty() {
            Role::ItHost
        } else {
            Role::Unknown
        };
    }

    /// Folds another worker's view of the same device into this one.
    pub fn merge(&mut self, o: Asset) {
        self.first_seen = self.first_seen.min(o.first_seen);
        if o.last_seen >= self.last_seen {
            if o.mac.is_some() {
                self.mac = o.mac;
                self.vendor = o.vendor;
            }
            self.last_seen = o.last_seen;
        }
        for m in o.mac_history {
            match self.mac_history.iter_mut().find(|x| x.mac == m.mac) {
                Some(x) => {
                    x.first_seen = x.first_seen.min(m.first_seen);
                    x.last_seen = x.last_seen.max(m.last_seen);
                }
                None => self.mac_history.push(m),
            }
        }
        self.mac_history.sort_by_key(|m| m.first_seen);
        self.packets_sent += o.packets_sent;
        self.bytes_sent += o.bytes_sent;
        self.protocols_server.extend(o.protocols_server);
        self.protocols_client.extend(o.protocols_client);
        for (k, v) in o.identity {
            self.identity.entry(k).or_insert(v);
        }
        for p in o.peers {
            if self.peers.len() < MAX_PEERS {
                self.peers.insert(p);
            }
        }
        if self.behind_router.is_none() {
            self.behind_router = o.behind_router;
        }
        self.ops.ics_server += o.ops.ics_server;
        self.ops.outstation += o.ops.outstation;
        self.ops.reads += o.ops.reads;
        self.ops.writes += o.ops.writes;
        self.ops.engineering += o.ops.engineering;
        self.ops.it_client += o.ops.it_client;
        self.arp_only &= o.arp_only;
        self.infer_role();
    }

    /// The best vendor name known: from protocol identity first, else the MAC's OUI.
    pub fn best_vendor(&self) -> Option<&str> {
        self.identity
            .values()
            .find_map(|i| i.vendor.as_deref())
            .or(self.vendor.as_deref())
    }
}

/// The inventory.
#[derive(Default)]
pub struct Inventory {
    assets: HashMap<IpAddr, Asset>,
    /// Devices seen only at layer 2 (GOOSE, Profinet), by MAC.
    l2: HashMap<[u8; 6], Asset>,
    /// Cap on assets tracked (bounded memory); beyond it new addresses are counted only.
    pub max_assets: usize,
    pub dropped: u64,
}

impl Inventory {
    pub fn new(max_assets: usize) -> Self {
        Inventory {
            assets: HashMap::new(),
            l2: HashMap::new(),
            max_assets,
            dropped: 0,
        }
    }

    pub fn len(&self) -> usize {
        self.assets.len() + self.l2.len()
    }

    pub fn is_empty(&self) -> bool {
        self.assets.is_empty()
    }

    fn get(&mut self, ip: IpAddr, ts: i64) -> Option<&mut Asset> {
        if ip.is_unspecified() || ip.is_multicast() || is_broadcast(&ip) {
            return None;
        }
        if !self.assets.contains_key(&ip) && self.assets.len() >= self.max_assets {
            self.dropped += 1;
            return None;
        }
        let a = self.assets.entry(ip).or_insert_with(|| Asset::new(ip, ts));
        if ts < a.first_seen {
            a.first_seen = ts;
        }
        if ts > a.last_seen {
            a.last_seen = ts;
        }
        Some(a)
    }

    /// Records a MAC for an address (from an IP packet's frame or ARP).
    pub fn saw_mac(&mut self, ip: IpAddr, mac: [u8; 6], ts: i64) {
        if mac == [0; 6] || mac == [0xff; 6] || mac[0] & 1 == 1 {
            return;
        }
        let Some(a) = self.get(ip, ts) else { return };
        // Called for both ends of every IP packet: text is only allocated for a MAC the
        // asset has not had.
        let text = MacText::new(&mac);
        let text = text.as_str();
        match a.mac_history.iter_mut().find(|m| m.mac == text) {
            Some(m) => {
                m.last_seen = m.last_seen.max(ts);
                m.first_seen = m.first_seen.min(ts);
            }
            None => {
                if a.mac_history.len() < 16 {
                    a.mac_history.push(MacSeen {
                        mac: text.to_owned(),
                        first_seen: ts,
                        last_seen: ts,
                    });
                }
            }
        }
        if a.mac.as_deref() != Some(text) {
            a.vendor = OuiDb::global().vendor(&mac).map(str::to_owned);
            a.mac = Some(text.to_owned());
        }
    }

    /// Records what a flow carried when it ends: both ends were active from its first
    /// to its last packet and sent these (packets, bytes).
    pub fn flow_ended(
        &mut self,
        first_ts: i64,
        last_ts: i64,
        client: IpAddr,
        server: IpAddr,
        sent: [(u64, u64); 2],
    ) {
        for (ip, peer, (packets, bytes)) in [(client, server, sent[0]), (server, client, sent[1])] {
            if let Some(a) = self.get(ip, first_ts) {
                a.last_seen = a.last_seen.max(last_ts);
                if packets > 0 {
                    a.arp_only = false;
                }
                a.packets_sent += packets;
                a.bytes_sent += bytes;
                if a.peers.len() < MAX_PEERS {
                    a.peers.insert(peer);
                }
            }
        }
    }

    /// Records an application transaction between client and server.
    pub fn transaction(
        &mut self,
        ts: i64,
        client: IpAddr,
        server: IpAddr,
        proto: &'static str,
        op: OpClass,
        outstation: bool,
    ) {
        let ics = is_ics(proto);
        if let Some(a) = self.get(client, ts) {
            a.protocols_client.insert(proto);
            match (ics, op) {
                (true, OpClass::Read) => a.ops.reads += 1,
                (true, OpClass::Write) => a.ops.writes += 1,
                (true, OpClass::Engineering) => a.ops.engineering += 1,
                (false, _) => a.ops.it_client += 1,
                _ => {}
            }
        }
        if let Some(b) = self.get(server, ts) {
            b.protocols_server.insert(proto);
            if ics {
                b.ops.ics_server += 1;
                if outstation {
                    b.ops.outstation += 1;
                }
            }
        }
    }

    /// Records `c.total` application transactions of `proto` between client and
    /// server at once (the same as that many [`Inventory::transaction`] calls, made
    /// when a flow ends instead of per transaction).
    pub fn transactions(
        &mut self,
        ts: i64,
        client: IpAddr,
        server: IpAddr,
        proto: &'static str,
        c: &TxnCounts,
    ) {
        if c.total == 0 {
            return;
        }
        let ics = is_ics(proto);
        // A refused update counts once per transaction, as per-transaction calls would.
        let refused = c.total - 1;
        match self.get(client, ts) {
            Some(a) => {
                a.protocols_client.insert(proto);
                if ics {
                    a.ops.reads += c.reads;
                    a.ops.writes += c.writes;
                    a.ops.engineering += c.engineering;
                } else {
                    a.ops.it_client += c.total;
                }
            }
            None => self.dropped += refused,
        }
        match self.get(server, ts) {
            Some(b) => {
                b.protocols_server.insert(proto);
                if ics {
                    b.ops.ics_server += c.total;
                    b.ops.outstation += c.outstation;
                }
            }
            None => self.dropped += refused,
        }
    }

    /// Records that a flow used `proto` (even without parsed transactions).
    pub fn service(&mut self, ts: i64, client: IpAddr, server: IpAddr, proto: &'static str) {
        if let Some(a) = self.get(client, ts) {
            a.protocols_client.insert(proto);
            if !is_ics(proto) {
                a.ops.it_client += 1;
            }
        }
        if let Some(b) = self.get(server, ts) {
            b.protocols_server.insert(proto);
        }
    }

    /// A flow whose protocol was not identified: the client shows IT behaviour.
    pub fn unknown_flow(&mut self, ts: i64, client: IpAddr) {
        if let Some(a) = self.get(client, ts) {
            a.ops.it_client += 1;
        }
    }

    /// Adds identity facts revealed by a protocol.
    pub fn identity(&mut self, ip: IpAddr, ts: i64, id: Identity) {
        if let Some(a) = self.get(ip, ts) {
            let e = a.identity.entry(id.source).or_default();
            let merge = |dst: &mut Option<String>, src: Option<String>| {
                if src.is_some() {
                    *dst = src;
                }
            };
            e.source = id.source;
            e.side = id.side;
            merge(&mut e.vendor, id.vendor);
            merge(&mut e.product, id.product);
            merge(&mut e.model, id.model);
            merge(&mut e.firmware, id.firmware);
            merge(&mut e.serial, id.serial);
            merge(&mut e.name, id.name);
        }
    }

    /// A device that spoke a layer-2 protocol (it may have no IP traffic at all).
    pub fn l2_device(&mut self, mac: [u8; 6], ts: i64, proto: &'static str) {
        if mac[0] & 1 == 1 {
            return;
        }
        if !self.l2.contains_key(&mac) && self.len() >= self.max_assets {
            self.dropped += 1;
            return;
        }
        let text = mac_string(&mac);
        let a = self.l2.entry(mac).or_insert_with(|| {
            let mut a = Asset::new(IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED), ts);
            a.id = format!("mac:{text}");
            a.mac = Some(text.clone());
            a.vendor = OuiDb::global().vendor(&mac).map(str::to_owned);
            a.mac_history.push(MacSeen {
                mac: text.clone(),
                first_seen: ts,
                last_seen: ts,
            });
            a
        });
        a.arp_only = false;
        a.first_seen = a.first_seen.min(ts);
        a.last_seen = a.last_seen.max(ts);
        a.packets_sent += 1;
        a.protocols_server.insert(proto);
    }

    /// Identity facts for a device known by MAC: the IP asset using that MAC when there
    /// is one, else the layer-2 asset.
    pub fn identity_by_mac(&mut self, mac: [u8; 6], ts: i64, id: Identity) {
        let text = mac_string(&mac);
        let ip = self
            .assets
            .values()
            .find(|a| a.mac.as_deref() == Some(text.as_str()))
            .map(|a| a.ip);
        match ip {
            Some(ip) => self.identity(ip, ts, id),
            None => {
                self.l2_device(mac, ts, id.source);
                if let Some(a) = self.l2.get_mut(&mac) {
                    a.identity.insert(id.source, id);
                }
            }
        }
    }

    /// All assets with roles inferred, sorted by address.
    pub fn snapshot(&mut self) -> Vec<Asset> {
        let v = self
            .assets
            .values_mut()
            .map(|a| {
                a.infer_role();
                a.clone()
            })
            .collect();
        finish_snapshot(v, self.l2.values().cloned())
    }

    /// [`snapshot`](Inventory::snapshot) of an inventory no longer needed: its assets
    /// move out instead of being copied (tens of thousands of them at the end of a
    /// long capture).
    pub fn into_snapshot(self) -> Vec<Asset> {
        let v = self
            .assets
            .into_values()
            .map(|mut a| {
                a.infer_role();
                a
            })
            .collect();
        finish_snapshot(v, self.l2.into_values())
    }
}

/// The rest of a snapshot: router MACs, layer-2-only devices, order.
fn finish_snapshot(mut v: Vec<Asset>, l2: impl Iterator<Item = Asset>) -> Vec<Asset> {
    // A MAC shared by many addresses is a router's: the hosts behind it are not
    // that vendor's devices.
    let mut per_mac: HashMap<String, usize> = HashMap::new();
    for a in &v {
        if let Some(m) = &a.mac {
            *per_mac.entry(m.clone()).or_insert(0) += 1;
        }
    }
    for a in &mut v {
        if a.mac
            .as_ref()
            .is_some_and(|m| per_mac.get(m).copied().unwrap_or(0) > ROUTER_MAC_HOSTS)
        {
            a.behind_router = a.mac.take();
            a.vendor = None;
        }
    }
    // Layer-2-only devices whose MAC never showed up with an IP.
    let known: std::collections::HashSet<String> = v.iter().filter_map(|a| a.mac.clone()).collect();
    for mut a in l2 {
        if a.mac.as_ref().is_some_and(|m| !known.contains(m)) {
            a.role = Role::Unknown;
            v.push(a);
        }
    }
    v.sort_by(|a, b| (a.ip, &a.id).cmp(&(b.ip, &b.id)));
    v
}

/// Merges the snapshots of several workers (each device may appear in several).
pub fn merge_snapshots(parts: Vec<Vec<Asset>>) -> Vec<Asset> {
    let mut by_id: std::collections::BTreeMap<(IpAddr, String), Asset> = Default::default();
    for part in parts {
        for a in part {
            let key = (a.ip, a.id.clone());
            match by_id.get_mut(&key) {
                Some(x) => x.merge(a),
                None => {
                    by_id.insert(key, a);
                }
            }
        }
    }
    by_id.into_values().collect()
}

fn is_broadcast(ip: &IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => v4.is_broadcast() || v4.octets()[3] == 255,
        IpAddr::V6(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    fn ip(d: u8) -> IpAddr {
        IpAddr::V4(Ipv4Addr::new(10, 10, 1, d))
    }

    #[test]
    fn roles_from_behaviour() {
        let mut inv = Inventory::new(100);
        inv.transaction(1, ip(20), ip(10), "modbus", OpClass::Read, false);
        inv.transaction(2, ip(20), ip(10), "modbus", OpClass::Write, false);
        inv.transaction(3, ip(30), ip(10), "modbus", OpClass::Read, false);
        inv.transaction(4, ip(40), ip(10), "modbus", OpClass::Engineering, false);
        inv.transaction(5, ip(50), ip(11), "dnp3", OpClass::Read, true);
        inv.service(6, ip(60), ip(70), "http");
        let s = inv.snapshot();
        let role = |d: u8| s.iter().find(|a| a.ip == ip(d)).map(|a| a.role);
        assert_eq!(role(10), Some(Role::Plc));
        assert_eq!(role(11), Some(Role::Rtu));
        assert_eq!(role(20), Some(Role::Hmi));
        assert_eq!(role(30), Some(Role::Historian));
        assert_eq!(role(40), Some(Role::EngineeringWorkstation));
        assert_eq!(role(60), Some(Role::ItHost));
    }

    #[test]
    fn tallied_transactions_equal_single_calls() {
        let calls = [
            (ip(20), ip(10), "modbus", OpClass::Read, false),
            (ip(20), ip(10), "modbus", OpClass::Write, false),
            (ip(20), ip(10), "modbus", OpClass::Engineering, false),
            (ip(20), ip(10), "modbus", OpClass::Other, false),
            (ip(50), ip(11), "dnp3", OpClass::Read, true),
            (ip(60), ip(70), "http", OpClass::Other, false),
            (ip(60), ip(70), "http", OpClass::Other, false),
        ];
        let mut one = Inventory::new(100);
        let mut tallies: Vec<((IpAddr, IpAddr, &'static str), TxnCounts)> = Vec::new();
        for (c, s, p, op, o) in calls {
            one.transaction(5, c, s, p, op, o);
            match tallies.iter_mut().find(|(k, _)| *k == (c, s, p)) {
                Some((_, t)) => t.add(op, o),
                None => {
                    let mut t = TxnCounts::default();
                    t.add(op, o);
                    tallies.push(((c, s, p), t));
                }
            }
        }
        let mut many = Inventory::new(100);
        for ((c, s, p), t) in &tallies {
            many.transactions(5, *c, *s, p, t);
        }
        assert_eq!(one.snapshot(), many.snapshot());
        // The cap counts refused updates per transaction either way.
        let mut capped_one = Inventory::new(1);
        let mut capped_many = Inventory::new(1);
        for (c, s, p, op, o) in calls {
            capped_one.transaction(5, c, s, p, op, o);
        }
        for ((c, s, p), t) in &tallies {
            capped_many.transactions(5, *c, *s, p, t);
        }
        assert_eq!(capped_one.dropped, capped_many.dropped);
    }

    #[test]
    fn mac_history_and_caps() {
        let mut inv = Inventory::new(2);
        inv.saw_mac(ip(1), [0, 0x1b, 0x1b, 0, 0, 1], 10);
        inv.saw_mac(ip(1), [0, 0x80, 0xf4, 0, 0, 2], 20);
        inv.saw_mac(ip(1), [0, 0x1b, 0x1b, 0, 0, 1], 30);
        inv.saw_mac(ip(2), [0, 0x1b, 0x1b, 0, 0, 3], 10);
        inv.saw_mac(ip(3), [0, 0x1b, 0x1b, 0, 0, 4], 10);
        assert_eq!(inv.len(), 2);
        assert_eq!(inv.dropped, 1);
        let s = inv.snapshot();
        let a = &s[0];
        assert_eq!(a.mac_history.len(), 2);
        assert_eq!(a.mac.as_deref(), Some("00-1B-1B-00-00-01"));
        assert_eq!(a.mac_history[0].last_seen, 30);
    }

    #[test]
    fn an_inventory_moved_into_its_snapshot_equals_its_copied_snapshot() {
        let mut inv = Inventory::new(100);
        inv.transaction(1, ip(20), ip(10), "modbus", OpClass::Write, false);
        inv.transaction(2, ip(21), ip(11), "dnp3", OpClass::Read, true);
        // Four addresses behind one MAC (a router), one device with a MAC of its own,
        // two layer-2-only devices, one of them also known by its address.
        for d in 30..34 {
            inv.saw_mac(ip(d), [2, 0, 0, 0, 0, 1], 3);
        }
        inv.saw_mac(ip(10), [0, 0x1b, 0x1b, 0, 0, 10], 3);
        inv.l2_device([0, 0x0e, 0x8c, 0, 0, 5], 4, "profinet_dcp");
        inv.l2_device([0, 0x1b, 0x1b, 0, 0, 10], 4, "goose");
        let copied = inv.snapshot();
        assert!(copied.iter().any(|a| a.behind_router.is_some()));
        assert_eq!(
            copied
                .iter()
                .filter(|a| a.role == Role::Unknown && a.ip.is_unspecified())
                .count(),
            1
        );
        assert_eq!(inv.into_snapshot(), copied);
    }
}
