//! Longest-prefix match of addresses to zones: per prefix length, a sorted array searched
//! by binary search, longest length first. No allocation per lookup.

use std::net::IpAddr;

use ipnet::IpNet;

trait Bits: Copy + Ord {
    const WIDTH: u8;
    fn masked(self, len: u8) -> Self;
}

impl Bits for u32 {
    const WIDTH: u8 = 32;
    fn masked(self, len: u8) -> Self {
        match len {
            0 => 0,
            l if l >= 32 => self,
            l => self & (u32::MAX << (32 - l)),
        }
    }
}

impl Bits for u128 {
    const WIDTH: u8 = 128;
    fn masked(self, len: u8) -> Self {
        match len {
            0 => 0,
            l if l >= 128 => self,
            l => self & (u128::MAX << (128 - l)),
        }
    }
}

#[derive(Debug, Clone, Default)]
struct Table<T> {
    /// (prefix length, sorted (network, zone index)), longest length first.
    levels: Vec<(u8, Vec<(T, usize)>)>,
}

impl<T: Bits> Table<T> {
    fn build(mut entries: Vec<(T, u8, usize)>) -> Self {
        // Sort by length (longest first), network, then zone index so that the first zone
        // in file order wins an exact duplicate (which `check` reports as an error).
        entries.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)).then(a.2.cmp(&b.2)));
        entries.dedup_by(|b, a| a.0 == b.0 && a.1 == b.1);
        let mut levels: Vec<(u8, Vec<(T, usize)>)> = Vec::new();
        for (net, len, zone) in entries {
            match levels.last_mut() {
                Some((l, v)) if *l == len => v.push((net.masked(len), zone)),
                _ => levels.push((len, vec![(net.masked(len), zone)])),
            }
        }
        Table { levels }
    }

    fn lookup(&self, addr: T) -> Option<usize> {
        for (len, nets) in &self.levels {
            let key = addr.masked((*len).min(T::WIDTH));
            if let Ok(i) = nets.binary_search_by(|e| e.0.cmp(&key)) {
                return nets.get(i).map(|e| e.1);
            }
        }
        None
    }
}

/// Zone lookup table.
#[derive(Debug, Clone, Default)]
pub(crate) struct ZoneTable {
    v4: Table<u32>,
    v6: Table<u128>,
}

impl ZoneTable {
    /// Builds from (network, zone index) pairs.
    pub(crate) fn new<'a>(nets: impl IntoIterator<Item = (&'a IpNet, usize)>) -> Self {
        let mut v4 = Vec::new();
        let mut v6 = Vec::new();
        for (net, zone) in nets {
            match net {
                IpNet::V4(n) => v4.push((u32::from(n.network()), n.prefix_len(), zone)),
                IpNet::V6(n) => v6.push((u128::from(n.network()), n.prefix_len(), zone)),
            }
        }
        ZoneTable {
            v4: Table::build(v4),
            v6: Table::build(v6),
        }
    }

    /// The zone index of `ip` (IPv4-mapped IPv6 addresses are looked up as IPv4).
    pub(crate) fn lookup(&self, ip: IpAddr) -> Option<usize> {
        match canonical(ip) {
            IpAddr::V4(a) => self.v4.lookup(u32::from(a)),
            IpAddr::V6(a) => self.v6.lookup(u128::from(a)),
        }
    }
}

/// IPv4-mapped IPv6 (`::ffff:a.b.c.d`) as IPv4; everything else unchanged.
pub(crate) fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => ip,
        },
        v4 => v4,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn net(s: &str) -> IpNet {
        s.parse().unwrap()
    }

    #[test]
    fn longest_prefix_wins() {
        let nets = [
            net("10.0.0.0/8"),
            net("10.10.1.0/24"),
            net("10.10.1.128/25"),
            net("0.0.0.0/0"),
            net("fd00::/8"),
            net("fd00:1::/64"),
        ];
        let t = ZoneTable::new(nets.iter().zip([0, 1, 2, 3, 4, 5]));
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        assert_eq!(t.lookup(ip("10.10.1.200")), Some(2));
        assert_eq!(t.lookup(ip("10.10.1.20")), Some(1));
        assert_eq!(t.lookup(ip("10.99.1.20")), Some(0));
        assert_eq!(t.lookup(ip("192.0.2.1")), Some(3));
        assert_eq!(t.lookup(ip("::ffff:10.10.1.20")), Some(1));
        assert_eq!(t.lookup(ip("fd00:1::5")), Some(5));
        assert_eq!(t.lookup(ip("fd00:2::5")), Some(4));
        assert_eq!(t.lookup(ip("2001:db8::1")), None);
    }
}
