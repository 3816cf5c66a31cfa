//! The site as the console draws it: zones in Purdue order (from the policy, or one
//! `unzoned` zone without a policy), and the judgement of observed conversations.
use serde::Serialize;
use sluice_policy::{FlowFacts, Policy};
use std::net::IpAddr;

/// A zone as shown (rows of the matrix, boxes of the map).
#[derive(Clone, Debug, Serialize)]
pub struct ZoneInfo {
    pub name: String,
    /// Purdue level (0-5, 3.5 for the DMZ); `None` without a policy.
    pub level: Option<f64>,
    pub external: bool,
    pub cidrs: Vec<String>,
    pub security_level_target: Option<u8>,
    pub description: Option<String>,
}

/// One broken rule of a conversation.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct Breach {
    pub kind: String,
    pub conduit: Option<String>,
    pub explanation: String,
}

/// How the policy judges a conversation.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct Judgement {
    /// Conduit that allowed it (none inside a zone or without a policy).
    pub conduit: Option<String>,
    /// Exception that waived its violations.
    pub exception: Option<String>,
    /// Broken rules (empty when allowed).
    pub breaches: Vec<Breach>,
}

impl Judgement {
    pub fn violating(&self) -> bool {
        !self.breaches.is_empty()
    }
}

/// The loaded policy, with zones in display order.
pub struct Site {
    policy: Option<Policy>,
    zones: Vec<ZoneInfo>,
    /// Display index of each policy zone (file order).
    order: Vec<usize>,
}

impl Site {
    /// From a policy (or none).
    pub fn new(policy: Option<Policy>) -> Site {
        let Some(p) = policy else {
            return Site {
                policy: None,
                zones: vec![ZoneInfo {
                    name: "unzoned".into(),
                    level: None,
                    external: false,
                    cidrs: Vec::new(),
                    security_level_target: None,
                    description: Some("No policy loaded: start the console with --config".into()),
                }],
                order: Vec::new(),
            };
        };
        let m = p.matrix();
        let zones: Vec<ZoneInfo> = m
            .zones
            .iter()
            .map(|z| {
                let def = p.zone(&z.name);
                ZoneInfo {
                    name: z.name.to_string(),
                    level: Some(z.level.as_f64()),
                    external: z.external,
                    cidrs: def
                        .map(|d| d.cidrs.iter().map(|c| c.to_string()).collect())
                        .unwrap_or_default(),
                    security_level_target: def.and_then(|d| d.security_level_target),
                    description: def.and_then(|d| d.description.clone()),
                }
            })
            .collect();
        let order = p
            .zones()
            .iter()
            .map(|z| {
                zones
                    .iter()
                    .position(|d| d.name == *z.name)
                    .unwrap_or(zones.len().saturating_sub(1))
            })
            .collect();
        Site {
            policy: Some(p),
            zones,
            order,
        }
    }

    pub fn policy(&self) -> Option<&Policy> {
        self.policy.as_ref()
    }

    /// Zones in display order (level 0 first, `external` last).
    pub fn zones(&self) -> &[ZoneInfo] {
        &self.zones
    }

    /// The site's name.
    pub fn name(&self) -> &str {
        self.policy
            .as_ref()
            .and_then(|p| p.site_name())
            .unwrap_or("Sluice")
    }

    /// Display index of the zone of an address (text that is no address: external / unzoned).
    pub fn zone_index(&self, ip: &str) -> usize {
        let last = self.zones.len().saturating_sub(1);
        let (Some(p), Ok(addr)) = (&self.policy, ip.parse::<IpAddr>()) else {
            return last;
        };
        match p.zone_of(addr).index {
            Some(i) => self.order.get(i).copied().unwrap_or(last),
            None => last,
        }
    }

    /// Name of the zone of an address.
    pub fn zone_name(&self, ip: &str) -> &str {
        self.zones
            .get(self.zone_index(ip))
            .map(|z| z.name.as_str())
            .unwrap_or("external")
    }

    /// Judges a conversation from `client` to `server`.
    pub fn judge(&self, client: &str, server: &str, protocol: Option<&str>, ts: i64) -> Judgement {
        let allowed = Judgement {
            conduit: None,
            exception: None,
            breaches: Vec::new(),
        };
        let Some(p) = &self.policy else {
            return allowed;
        };
        let (Ok(c), Ok(s)) = (client.parse::<IpAddr>(), server.parse::<IpAddr>()) else {
            return allowed;
        };
        match p.judge_flow(FlowFacts {
            client: c,
            server: s,
            protocol,
            ts,
        }) {
            sluice_policy::Verdict::Allowed { conduit, exception } => Judgement {
                conduit: conduit.map(|c| c.to_string()),
                exception: exception.map(|e| e.to_string()),
                breaches: Vec::new(),
            },
            sluice_policy::Verdict::Violations(v) => Judgement {
                conduit: None,
                exception: None,
                breaches: v
                    .into_iter()
                    .map(|b| Breach {
                        kind: b.kind.as_str().to_string(),
                        conduit: b.conduit.map(|c| c.to_string()),
                        explanation: b.explanation,
                    })
                    .collect(),
            },
        }
    }
}
