//! Zone × zone matrix of what conduits allow, for the console's seen-vs-allowed view.

use std::sync::Arc;

use serde::Serialize;

use crate::model::{Level, Permission, ZoneKey, EXTERNAL};
use crate::Policy;

/// A row / column of the matrix.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MatrixZone {
    /// Zone name.
    pub name: Arc<str>,
    /// Purdue level.
    pub level: Level,
    /// Whether this is the implicit `external` zone.
    pub external: bool,
}

/// What one conduit allows from one zone to another.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MatrixEntry {
    /// Index of the client zone in [`Matrix::zones`].
    pub from: usize,
    /// Index of the server zone in [`Matrix::zones`].
    pub to: usize,
    /// The conduit.
    pub conduit: Arc<str>,
    /// Its protocols.
    pub protocols: Vec<Box<str>>,
    /// Its ICS access.
    pub access: Permission,
    /// Whether it requires MFA.
    pub requires_mfa: bool,
    /// Whether it is limited to listed clients or servers.
    pub restricted_hosts: bool,
}

/// Zones in Purdue order (level 0 first, `external` last; file order within a level) and
/// the (from, to, protocols) that conduits allow. Traffic inside a zone (the diagonal) is
/// allowed unless a conduit from the zone to itself restricts it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Matrix {
    /// Rows and columns.
    pub zones: Vec<MatrixZone>,
    /// One entry per (conduit, to zone).
    pub allowed: Vec<MatrixEntry>,
}

impl Matrix {
    /// Index of a zone by name.
    pub fn zone_index(&self, name: &str) -> Option<usize> {
        self.zones.iter().position(|z| &*z.name == name)
    }

    /// The entries of one cell.
    pub fn cell(&self, from: usize, to: usize) -> impl Iterator<Item = &MatrixEntry> {
        self.allowed
            .iter()
            .filter(move |e| e.from == from && e.to == to)
    }

    /// Whether some conduit allows `protocol` from zone `from` to zone `to` (by name).
    pub fn allows(&self, from: &str, to: &str, protocol: &str) -> bool {
        match (self.zone_index(from), self.zone_index(to)) {
            (Some(f), Some(t)) => self
                .cell(f, t)
                .any(|e| e.protocols.iter().any(|p| p.eq_ignore_ascii_case(protocol))),
            _ => false,
        }
    }
}

impl Policy {
    /// The zone × zone matrix of allowed traffic.
    pub fn matrix(&self) -> Matrix {
        let mut order: Vec<(Level, usize, ZoneKey)> = self
            .zones
            .iter()
            .enumerate()
            .map(|(i, z)| (z.level, i, ZoneKey::Defined(i)))
            .collect();
        order.sort_by_key(|(l, i, _)| (*l, *i));
        order.push((Level::EXTERNAL, usize::MAX, ZoneKey::External));
        let zones = order
            .iter()
            .map(|(level, _, k)| MatrixZone {
                name: match k {
                    ZoneKey::Defined(_) => self.zone_name(*k),
                    ZoneKey::External => Arc::from(EXTERNAL),
                },
                level: *level,
                external: *k == ZoneKey::External,
            })
            .collect();
        let pos = |k: ZoneKey| order.iter().position(|(_, _, o)| *o == k);
        let mut allowed = Vec::new();
        for c in &self.conduits {
            let Some(from) = c.from_key.and_then(pos) else {
                continue;
            };
            for t in &c.to_keys {
                if let Some(to) = pos(*t) {
                    allowed.push(MatrixEntry {
                        from,
                        to,
                        conduit: c.name.clone(),
                        protocols: c.protocols.clone(),
                        access: c.access,
                        requires_mfa: c.requires_mfa,
                        restricted_hosts: c.clients.is_some() || c.servers.is_some(),
                    });
                }
            }
        }
        Matrix { zones, allowed }
    }
}
