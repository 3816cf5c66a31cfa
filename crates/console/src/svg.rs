//! SVG drawn by the server: the alert timeline, the compliance trend, the Purdue map and enrolment QR codes.
use crate::data::{AssessmentRow, Conversation, Timeline};
use crate::html::{esc, num, url, E};
use crate::site::Site;
use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;

/// Colours of the severity classes (low, medium, high, critical).
pub const SEV_COLORS: [&str; 4] = ["#5f6b76", "#c9a227", "#e07b24", "#e5484d"];
/// A policy-breaking edge.
pub const RED: &str = "#e5484d";

/// The QR code of an `otpauth://` URI, as an inline SVG element.
pub fn qr(uri: &str) -> Option<String> {
    let code = qrcode::QrCode::new(uri.as_bytes()).ok()?;
    let svg = code
        .render::<qrcode::render::svg::Color<'_>>()
        .min_dimensions(220, 220)
        .quiet_zone(true)
        .build();
    svg.find("<svg")
        .and_then(|i| svg.get(i..))
        .map(str::to_owned)
}

/// The QR code of an `otpauth://` URI for a terminal (Unicode half blocks, dark on light).
pub fn qr_terminal(uri: &str) -> Option<String> {
    let code = qrcode::QrCode::new(uri.as_bytes()).ok()?;
    Some(
        code.render::<qrcode::render::unicode::Dense1x2>()
            .dark_color(qrcode::render::unicode::Dense1x2::Light)
            .light_color(qrcode::render::unicode::Dense1x2::Dark)
            .quiet_zone(true)
            .build(),
    )
}

/// Stacked bars of alerts per severity class over time.
pub fn timeline(t: &Timeline) -> String {
    const W: f64 = 760.0;
    const H: f64 = 210.0;
    const L: f64 = 44.0;
    const B: f64 = 26.0;
    const T: f64 = 10.0;
    let mut o = String::new();
    let _ = write!(
        o,
        "<svg viewBox=\"0 0 {W} {H}\" role=\"img\" aria-label=\"Alerts by severity over time\" \
         xmlns=\"http://www.w3.org/2000/svg\" font-family=\"system-ui,sans-serif\" font-size=\"11\">"
    );
    if t.buckets.is_empty() {
        let _ = write!(
            o,
            "<text x=\"{}\" y=\"{}\" fill=\"#9aa4ad\" text-anchor=\"middle\" font-size=\"14\">No alerts in this store</text></svg>",
            W / 2.0,
            H / 2.0
        );
        return o;
    }
    let max = t
        .buckets
        .iter()
        .map(|b| b.iter().sum::<u64>())
        .max()
        .unwrap_or(1)
        .max(1);
    // A round axis maximum.
    let step = nice_step(max);
    let top = max.div_ceil(step) * step;
    let plot_w = W - L - 8.0;
    let plot_h = H - B - T;
    for i in 0..=4u64 {
        let v = top * i / 4;
        let y = T + plot_h - plot_h * (v as f64) / (top as f64);
        let _ = write!(
            o,
            "<line x1=\"{L}\" x2=\"{}\" y1=\"{y:.1}\" y2=\"{y:.1}\" stroke=\"#343c45\"/>\
             <text x=\"{}\" y=\"{:.1}\" fill=\"#9aa4ad\" text-anchor=\"end\">{}</text>",
            W - 8.0,
            L - 6.0,
            y + 4.0,
            num(v)
        );
    }
    let n = t.buckets.len() as f64;
    let bw = plot_w / n;
    let gap = (bw * 0.18).min(4.0);
    for (i, b) in t.buckets.iter().enumerate() {
        let x = L + bw * i as f64 + gap / 2.0;
        let mut y = T + plot_h;
        let total: u64 = b.iter().sum();
        for (class, count) in b.iter().enumerate() {
            if *count == 0 {
                continue;
            }
            let h = plot_h * (*count as f64) / (top as f64);
            y -= h;
            let _ = write!(
                o,
                "<rect x=\"{x:.1}\" y=\"{y:.1}\" width=\"{:.1}\" height=\"{h:.1}\" fill=\"{}\"><title>{} {} · {} alerts in this interval</title></rect>",
                (bw - gap).max(1.0),
                SEV_COLORS.get(class).unwrap_or(&"#888"),
                crate::html::ts(t.start + t.bucket_ns.saturating_mul(i as i64)),
                crate::data::SEVERITIES.get(class).unwrap_or(&""),
                total
            );
        }
    }
    // Time labels: start, middle, end.
    let span = t.bucket_ns.saturating_mul(t.buckets.len() as i64);
    for (frac, anchor) in [(0.0, "start"), (0.5, "middle"), (1.0, "end")] {
        let ts = t.start + (span as f64 * frac) as i64;
        let label = crate::html::ts(ts);
        let _ = write!(
            o,
            "<text x=\"{:.1}\" y=\"{}\" fill=\"#9aa4ad\" text-anchor=\"{anchor}\">{}</text>",
            L + plot_w * frac,
            H - 8.0,
            E(&label)
        );
    }
    o.push_str("</svg>");
    o
}

/// The compliance trend: one bar per stored assessment (share of controls satisfied, in
/// time order) with a line through the tops. Each bar carries `data-id` and `data-pct`.
pub fn compliance_trend(points: &[AssessmentRow]) -> String {
    const W: f64 = 760.0;
    const H: f64 = 210.0;
    const L: f64 = 44.0;
    const B: f64 = 26.0;
    const T: f64 = 14.0;
    let mut o = String::new();
    let _ = write!(
        o,
        "<svg id=\"compliance-trend\" viewBox=\"0 0 {W} {H}\" role=\"img\" aria-label=\"Share of controls satisfied per assessment\" \
         xmlns=\"http://www.w3.org/2000/svg\" font-family=\"system-ui,sans-serif\" font-size=\"11\">"
    );
    if points.is_empty() {
        let _ = write!(
            o,
            "<text x=\"{}\" y=\"{}\" fill=\"#9aa4ad\" text-anchor=\"middle\" font-size=\"14\">No assessment in this store</text></svg>",
            W / 2.0,
            H / 2.0
        );
        return o;
    }
    let plot_w = W - L - 8.0;
    let plot_h = H - B - T;
    for v in [0u32, 25, 50, 75, 100] {
        let y = T + plot_h - plot_h * f64::from(v) / 100.0;
        let _ = write!(
            o,
            "<line x1=\"{L}\" x2=\"{}\" y1=\"{y:.1}\" y2=\"{y:.1}\" stroke=\"#343c45\"/>\
             <text x=\"{}\" y=\"{:.1}\" fill=\"#9aa4ad\" text-anchor=\"end\">{v}%</text>",
            W - 8.0,
            L - 6.0,
            y + 4.0
        );
    }
    let n = points.len() as f64;
    let bw = plot_w / n;
    let gap = (bw * 0.25).min(10.0);
    let bar_w = (bw - gap).clamp(1.0, 60.0);
    let mut line = String::new();
    for (i, p) in points.iter().enumerate() {
        let pct = p.satisfied_pct.clamp(0.0, 100.0);
        let cx = L + bw * (i as f64 + 0.5);
        let h = plot_h * pct / 100.0;
        let y = T + plot_h - h;
        let _ = write!(
            o,
            "<rect class=\"trend-bar\" data-id=\"{}\" data-pct=\"{}\" x=\"{:.1}\" y=\"{y:.1}\" width=\"{bar_w:.1}\" height=\"{h:.1}\" fill=\"#4aa3df\" fill-opacity=\"0.55\">\
             <title>#{} {} · {} of {} controls satisfied ({}%)</title></rect>",
            p.id,
            p.satisfied_pct,
            cx - bar_w / 2.0,
            p.id,
            E(&crate::html::ts(p.created_ns)),
            num(p.satisfied),
            num(p.total),
            p.satisfied_pct
        );
        let _ = write!(line, "{}{cx:.1},{y:.1}", if i == 0 { "" } else { " " });
        if points.len() <= 24 {
            let _ = write!(
                o,
                "<text x=\"{cx:.1}\" y=\"{:.1}\" fill=\"#e6e9ec\" text-anchor=\"middle\">{}%</text>",
                (y - 4.0).max(10.0),
                p.satisfied_pct
            );
        }
    }
    let _ = write!(
        o,
        "<polyline points=\"{line}\" fill=\"none\" stroke=\"#3fb950\" stroke-width=\"2\"/>"
    );
    // Date labels: first, (middle,) last.
    let mut labels = vec![(0usize, "start")];
    if points.len() > 2 {
        labels.push((points.len() / 2, "middle"));
    }
    if points.len() > 1 {
        labels.push((points.len() - 1, "end"));
    }
    for (i, anchor) in labels {
        let Some(p) = points.get(i) else { continue };
        let cx = L + bw * (i as f64 + 0.5);
        let x = match anchor {
            "start" => (cx - bw / 2.0).max(L),
            "end" => (cx + bw / 2.0).min(W - 8.0),
            _ => cx,
        };
        let date = crate::html::ts(p.created_ns);
        let _ = write!(
            o,
            "<text x=\"{x:.1}\" y=\"{}\" fill=\"#9aa4ad\" text-anchor=\"{anchor}\">{}</text>",
            H - 8.0,
            E(date.get(..16).unwrap_or(&date))
        );
    }
    o.push_str("</svg>");
    o
}

fn nice_step(max: u64) -> u64 {
    let raw = (max as f64 / 4.0).max(1.0);
    let mag = 10f64.powf(raw.log10().floor());
    let n = raw / mag;
    let m = if n <= 1.0 {
        1.0
    } else if n <= 2.0 {
        2.0
    } else if n <= 5.0 {
        5.0
    } else {
        10.0
    };
    ((m * mag) as u64).max(1)
}

/// What the map shows.
#[derive(Clone, Debug, Default)]
pub struct MapFilter {
    /// Only policy-breaking conversations.
    pub violations_only: bool,
    /// Only this protocol (label, e.g. `modbus` or `tcp/5900`).
    pub protocol: Option<String>,
    /// Only conversations touching this zone.
    pub zone: Option<String>,
    /// Draw the policy's conduits.
    pub conduits: bool,
}

/// A node on the map.
#[derive(Clone, Debug, serde::Serialize)]
pub struct MapNode {
    pub ip: String,
    pub asset_id: Option<String>,
    pub role: Option<String>,
    pub vendor: Option<String>,
    pub zone: String,
    pub x: f64,
    pub y: f64,
}

/// An edge on the map (conversations between two nodes, merged).
#[derive(Clone, Debug, serde::Serialize)]
pub struct MapEdge {
    pub src: String,
    pub dst: String,
    pub protocols: Vec<String>,
    pub flows: u64,
    pub violation: bool,
    pub kinds: Vec<String>,
    pub explanation: String,
    pub sample_flow: String,
}

/// The map's content (also served as JSON).
#[derive(Clone, Debug, serde::Serialize)]
pub struct MapModel {
    pub zones: Vec<MapZone>,
    pub nodes: Vec<MapNode>,
    pub edges: Vec<MapEdge>,
    pub conduits: Vec<MapConduit>,
    /// Assets and addresses left out for space, per zone.
    pub hidden: BTreeMap<String, u64>,
    pub edges_left_out: u64,
}

/// A zone box.
#[derive(Clone, Debug, serde::Serialize)]
pub struct MapZone {
    pub name: String,
    pub level: Option<f64>,
    pub x: f64,
    pub y: f64,
    pub w: f64,
    pub h: f64,
}

/// A conduit between two zone boxes.
#[derive(Clone, Debug, serde::Serialize)]
pub struct MapConduit {
    pub name: String,
    pub from: String,
    pub to: String,
    pub protocols: Vec<String>,
}

const MAP_W: f64 = 1400.0;
const BAND_LABEL: f64 = 150.0;
const TILE_W: f64 = 128.0;
const TILE_H: f64 = 38.0;
const TILE_GAP: f64 = 10.0;
const ZONE_GAP: f64 = 22.0;
const ZONE_HEAD: f64 = 30.0;
/// Most addresses drawn per zone; the rest are counted.
pub const MAX_NODES_PER_ZONE: usize = 30;
/// Most edges drawn (violations first).
pub const MAX_EDGES: usize = 400;

fn level_name(level: Option<f64>) -> (String, &'static str) {
    let Some(l) = level else {
        return ("All addresses".into(), "");
    };
    let name = match (l * 2.0).round() as i64 {
        0 => "Process",
        2 => "Basic control",
        4 => "Supervisory",
        6 => "Operations",
        7 => "DMZ",
        8 => "Enterprise",
        10 => "Internet / external",
        _ => "",
    };
    if l.fract() == 0.0 {
        (format!("Level {l:.0}"), name)
    } else {
        (format!("Level {l}"), name)
    }
}

/// Lays out the map.
pub fn map_model(
    site: &Site,
    convs: &[Conversation],
    assets: &[(String, String, Option<String>, Option<String>)],
    f: &MapFilter,
) -> MapModel {
    let zones = site.zones();
    // Conversations that pass the filter.
    let zone_filter = f
        .zone
        .as_deref()
        .filter(|z| !z.is_empty())
        .and_then(|z| zones.iter().position(|x| x.name == z));
    let proto = f.protocol.as_deref().filter(|p| !p.is_empty());
    let shown: Vec<&Conversation> = convs
        .iter()
        .filter(|c| !f.violations_only || c.judgement.violating())
        .filter(|c| proto.is_none_or(|p| c.label() == p))
        .filter(|c| zone_filter.is_none_or(|z| c.from_index == z || c.to_index == z))
        .collect();
    let filtered = f.violations_only || proto.is_some() || zone_filter.is_some();
    // Candidate nodes per zone with a priority: violations, then traffic.
    // One pass: each address's (violations, flows) score and zone.
    let mut score: HashMap<&str, (u64, u64)> = HashMap::with_capacity(shown.len());
    let mut per_zone: Vec<Vec<&str>> = vec![Vec::new(); zones.len()];
    for c in &shown {
        let bad = u64::from(c.judgement.violating());
        for (ip, zi) in [
            (c.src_ip.as_str(), c.from_index),
            (c.dst_ip.as_str(), c.to_index),
        ] {
            match score.entry(ip) {
                std::collections::hash_map::Entry::Occupied(mut e) => {
                    let v = e.get_mut();
                    v.0 += bad;
                    v.1 += c.flows;
                }
                std::collections::hash_map::Entry::Vacant(e) => {
                    e.insert((bad, c.flows));
                    if let Some(v) = per_zone.get_mut(zi) {
                        v.push(ip);
                    }
                }
            }
        }
    }
    let asset_ids: HashMap<&str, (&str, Option<&str>, Option<&str>)> = assets
        .iter()
        .map(|(id, ip, role, vendor)| {
            (
                ip.as_str(),
                (id.as_str(), role.as_deref(), vendor.as_deref()),
            )
        })
        .collect();
    // Without a filter every asset is a candidate too.
    if !filtered {
        for (_, ip, _, _) in assets {
            if !score.contains_key(ip.as_str()) {
                if let Some(v) = per_zone.get_mut(site.zone_index(ip)) {
                    v.push(ip.as_str());
                }
            }
        }
    }
    let mut hidden = BTreeMap::new();
    for (zi, v) in per_zone.iter_mut().enumerate() {
        // Keys computed once per address (a zone may hold thousands).
        let mut keyed: Vec<Ranked<'_>> = v
            .iter()
            .map(|ip| (score.get(ip).copied().unwrap_or((0, 0)), ip_key(ip), *ip))
            .collect();
        let by_priority = |a: &Ranked<'_>, b: &Ranked<'_>| {
            b.0 .0
                .cmp(&a.0 .0)
                .then(b.0 .1.cmp(&a.0 .1))
                .then(a.1.cmp(&b.1))
        };
        if keyed.len() > MAX_NODES_PER_ZONE {
            keyed.select_nth_unstable_by(MAX_NODES_PER_ZONE - 1, by_priority);
            let extra = keyed.len() - MAX_NODES_PER_ZONE;
            keyed.truncate(MAX_NODES_PER_ZONE);
            if let Some(z) = zones.get(zi) {
                hidden.insert(z.name.clone(), extra as u64);
            }
        }
        // Stable reading order inside a zone: by address.
        keyed.sort_by(|a, b| a.1.cmp(&b.1));
        *v = keyed.into_iter().map(|k| k.2).collect();
    }
    // Bands: levels from the top (external) down to level 0.
    let mut levels: Vec<Option<f64>> = Vec::new();
    for z in zones {
        if !levels.contains(&z.level) {
            levels.push(z.level);
        }
    }
    levels.sort_by(|a, b| {
        b.unwrap_or(0.0)
            .partial_cmp(&a.unwrap_or(0.0))
            .unwrap_or(std::cmp::Ordering::Equal)
    });
    let mut map_zones = Vec::new();
    let mut nodes = Vec::new();
    let mut y = 16.0;
    let mut bands = Vec::new();
    for level in &levels {
        let in_band: Vec<usize> = (0..zones.len())
            .filter(|i| zones.get(*i).map(|z| z.level) == Some(*level))
            .collect();
        let n = in_band.len().max(1) as f64;
        let avail = MAP_W - BAND_LABEL - 16.0;
        let zw = (avail - ZONE_GAP * (n - 1.0)) / n;
        let cols = ((zw - 16.0 + TILE_GAP) / (TILE_W + TILE_GAP))
            .floor()
            .max(1.0) as usize;
        let mut band_h: f64 = 56.0;
        let mut boxes = Vec::new();
        for (k, zi) in in_band.iter().enumerate() {
            let count = per_zone.get(*zi).map_or(0, Vec::len);
            let rows = count.div_ceil(cols).max(1);
            let rows = if count == 0 { 0 } else { rows };
            let extra = if hidden.contains_key(&zones[*zi].name) {
                18.0
            } else {
                0.0
            };
            let h = ZONE_HEAD + rows as f64 * (TILE_H + TILE_GAP) + 6.0 + extra;
            band_h = band_h.max(h);
            boxes.push((*zi, BAND_LABEL + k as f64 * (zw + ZONE_GAP), zw, cols));
        }
        for (zi, x, zw, cols) in boxes {
            let Some(z) = zones.get(zi) else { continue };
            map_zones.push(MapZone {
                name: z.name.clone(),
                level: z.level,
                x,
                y: y + 10.0,
                w: zw,
                h: band_h,
            });
            // Centre the tile grid in the box.
            let grid_w = cols as f64 * (TILE_W + TILE_GAP) - TILE_GAP;
            let x0 = x + (zw - grid_w) / 2.0;
            if let Some(ips) = per_zone.get(zi) {
                for (i, ip) in ips.iter().enumerate() {
                    let (r, c) = (i / cols, i % cols);
                    let info = asset_ids.get(ip);
                    nodes.push(MapNode {
                        ip: (*ip).to_string(),
                        asset_id: info.map(|(id, _, _)| (*id).to_string()),
                        role: info.and_then(|(_, r, _)| r.map(str::to_owned)),
                        vendor: info.and_then(|(_, _, v)| v.map(str::to_owned)),
                        zone: z.name.clone(),
                        x: x0 + c as f64 * (TILE_W + TILE_GAP),
                        y: y + 10.0 + ZONE_HEAD + r as f64 * (TILE_H + TILE_GAP),
                    });
                }
            }
        }
        bands.push((*level, y, band_h + 20.0));
        y += band_h + 20.0 + 12.0;
    }
    let _ = bands;
    // Edges between drawn nodes, merged per (src, dst, violation).
    let pos: HashMap<&str, usize> = nodes
        .iter()
        .enumerate()
        .map(|(i, n)| (n.ip.as_str(), i))
        .collect();
    let mut merged: BTreeMap<(bool, String, String), MapEdge> = BTreeMap::new();
    let mut left_out = 0u64;
    for c in &shown {
        if !pos.contains_key(c.src_ip.as_str()) || !pos.contains_key(c.dst_ip.as_str()) {
            left_out += 1;
            continue;
        }
        let v = c.judgement.violating();
        let e = merged
            .entry((!v, c.src_ip.clone(), c.dst_ip.clone()))
            .or_insert_with(|| MapEdge {
                src: c.src_ip.clone(),
                dst: c.dst_ip.clone(),
                protocols: Vec::new(),
                flows: 0,
                violation: v,
                kinds: Vec::new(),
                explanation: String::new(),
                sample_flow: c.sample_flow.clone(),
            });
        let label = c.label();
        if !e.protocols.contains(&label) {
            e.protocols.push(label);
        }
        e.flows += c.flows;
        for b in &c.judgement.breaches {
            if !e.kinds.contains(&b.kind) {
                e.kinds.push(b.kind.clone());
            }
            if e.explanation.is_empty() {
                e.explanation = b.explanation.clone();
            }
        }
    }
    let mut edges: Vec<MapEdge> = merged.into_values().collect();
    if edges.len() > MAX_EDGES {
        // Violations sort first (key `!v` false); keep the heaviest of the rest.
        let (mut bad, mut ok): (Vec<_>, Vec<_>) = edges.into_iter().partition(|e| e.violation);
        ok.sort_by_key(|e| std::cmp::Reverse(e.flows));
        bad.truncate(MAX_EDGES);
        let room = MAX_EDGES.saturating_sub(bad.len());
        left_out += ok.len().saturating_sub(room) as u64;
        ok.truncate(room);
        bad.extend(ok);
        edges = bad;
    }
    let conduits = match (site.policy(), f.conduits) {
        (Some(p), true) => p
            .conduits()
            .iter()
            .flat_map(|c| {
                c.to.iter().map(move |t| MapConduit {
                    name: c.name.to_string(),
                    from: c.from.to_string(),
                    to: t.to_string(),
                    protocols: c.protocols.iter().map(|p| p.to_string()).collect(),
                })
            })
            .collect(),
        _ => Vec::new(),
    };
    MapModel {
        zones: map_zones,
        nodes,
        edges,
        conduits,
        hidden,
        edges_left_out: left_out,
    }
}

/// An address with its (violations, flows) score and sort key.
type Ranked<'a> = ((u64, u64), (u8, u128, String), &'a str);

fn ip_key(ip: &str) -> (u8, u128, String) {
    match ip.parse::<std::net::IpAddr>() {
        Ok(std::net::IpAddr::V4(a)) => (4, u128::from(u32::from(a)), String::new()),
        Ok(std::net::IpAddr::V6(a)) => (6, u128::from(a), String::new()),
        Err(_) => (9, 0, ip.to_string()),
    }
}

fn role_style(role: Option<&str>) -> (&'static str, &'static str, &'static str) {
    // (fill, stroke, short label)
    match role {
        Some("plc") => ("#2e2540", "#a371f7", "PLC"),
        Some("rtu") => ("#2e2540", "#a371f7", "RTU"),
        Some("hmi") => ("#1d2f40", "#4aa3df", "HMI"),
        Some("engineering_workstation") => ("#33291a", "#f0a020", "EWS"),
        Some("historian") => ("#19332f", "#2fb5a0", "Historian"),
        Some("it_host") => ("#262c33", "#7d8a96", "IT"),
        Some(_) | None => ("#262c33", "#56616c", ""),
    }
}

/// Draws the map.
pub fn map_svg(m: &MapModel, site: &Site) -> String {
    let height = m.zones.iter().map(|z| z.y + z.h).fold(200.0_f64, f64::max) + 24.0;
    let mut o = String::with_capacity(64 * 1024);
    let _ = write!(
        o,
        "<svg id=\"purdue\" viewBox=\"0 0 {MAP_W} {height:.0}\" xmlns=\"http://www.w3.org/2000/svg\" \
         font-family=\"system-ui,sans-serif\" role=\"img\" aria-label=\"Purdue map\">\
         <defs><marker id=\"arrow-ok\" viewBox=\"0 0 10 10\" refX=\"9\" refY=\"5\" markerWidth=\"6\" markerHeight=\"6\" orient=\"auto-start-reverse\"><path d=\"M0 0L10 5L0 10z\" fill=\"#6d8597\"/></marker>\
         <marker id=\"arrow-bad\" viewBox=\"0 0 10 10\" refX=\"9\" refY=\"5\" markerWidth=\"5\" markerHeight=\"5\" orient=\"auto-start-reverse\"><path d=\"M0 0L10 5L0 10z\" fill=\"{RED}\"/></marker></defs>"
    );
    // Bands (one per level) with their labels.
    let mut band_rows: Vec<(Option<f64>, f64, f64)> = Vec::new();
    for z in &m.zones {
        match band_rows.iter_mut().find(|b| b.0 == z.level) {
            Some(b) => b.2 = b.2.max(z.h),
            None => band_rows.push((z.level, z.y, z.h)),
        }
    }
    for (i, (level, y, h)) in band_rows.iter().enumerate() {
        let fill = if i % 2 == 0 { "#1c2126" } else { "#191d22" };
        let (lv, name) = level_name(*level);
        let _ = write!(
            o,
            "<g class=\"band\"><rect x=\"0\" y=\"{:.1}\" width=\"{MAP_W}\" height=\"{:.1}\" fill=\"{fill}\"/>\
             <text x=\"14\" y=\"{:.1}\" fill=\"#e6e9ec\" font-size=\"15\" font-weight=\"700\">{}</text>\
             <text x=\"14\" y=\"{:.1}\" fill=\"#9aa4ad\" font-size=\"12\">{}</text></g>",
            y - 10.0,
            h + 20.0,
            y + 18.0,
            E(&lv),
            y + 35.0,
            E(name)
        );
    }
    let zone_box: HashMap<&str, &MapZone> = m.zones.iter().map(|z| (z.name.as_str(), z)).collect();
    for z in &m.zones {
        let ext = site
            .zones()
            .iter()
            .find(|x| x.name == z.name)
            .is_some_and(|x| x.external);
        let stroke = if ext { "#6b4a4c" } else { "#45515d" };
        let _ = write!(
            o,
            "<g class=\"zone\" data-zone=\"{n}\"><rect x=\"{:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{:.1}\" rx=\"8\" fill=\"#222930\" stroke=\"{stroke}\" stroke-width=\"1.5\"/>\
             <a href=\"/assets?zone={u}\"><text x=\"{:.1}\" y=\"{:.1}\" fill=\"#e6e9ec\" font-size=\"13\" font-weight=\"600\">{n}</text></a>",
            z.x,
            z.y,
            z.w,
            z.h,
            z.x + 12.0,
            z.y + 20.0,
            n = E(&z.name),
            u = url(&z.name),
        );
        if let Some(extra) = m.hidden.get(&z.name) {
            let _ = write!(
                o,
                "<a href=\"/assets?zone={}\"><text x=\"{:.1}\" y=\"{:.1}\" fill=\"#9aa4ad\" font-size=\"12\">+ {} more addresses</text></a>",
                url(&z.name),
                z.x + 12.0,
                z.y + z.h - 8.0,
                num(*extra)
            );
        }
        o.push_str("</g>");
    }
    // Conduits: dashed links between zone boxes.
    for (i, c) in m.conduits.iter().enumerate() {
        let (Some(a), Some(b)) = (zone_box.get(c.from.as_str()), zone_box.get(c.to.as_str()))
        else {
            continue;
        };
        let (x1, y1, x2, y2) = box_link(a, b, i);
        let _ = write!(
            o,
            "<g class=\"conduit\" data-conduit=\"{n}\"><path d=\"M{x1:.1} {y1:.1}L{x2:.1} {y2:.1}\" stroke=\"#8aa4b8\" stroke-width=\"1.4\" stroke-dasharray=\"6 5\" fill=\"none\"><title>conduit {n}: {f} → {t} ({p})</title></path>\
             <text x=\"{:.1}\" y=\"{:.1}\" fill=\"#8aa4b8\" font-size=\"11\" text-anchor=\"middle\" paint-order=\"stroke\" stroke=\"#1b1f24\" stroke-width=\"3\">{n}</text></g>",
            (x1 + x2) / 2.0,
            (y1 + y2) / 2.0 - 4.0,
            n = E(&c.name),
            f = E(&c.from),
            t = E(&c.to),
            p = E(&c.protocols.join(", ")),
        );
    }
    let node_at: HashMap<&str, &MapNode> = m.nodes.iter().map(|n| (n.ip.as_str(), n)).collect();
    // Allowed edges first, violations on top.
    let mut order: Vec<&MapEdge> = m.edges.iter().collect();
    order.sort_by_key(|e| e.violation);
    for e in order {
        let (Some(a), Some(b)) = (node_at.get(e.src.as_str()), node_at.get(e.dst.as_str())) else {
            continue;
        };
        let d = edge_path(a, b);
        let w = (1.2 + (e.flows as f64).log2().max(0.0) * 0.45).min(5.0);
        let (class, w, marker) = if e.violation {
            ("edge violation", w.max(2.6), "arrow-bad")
        } else {
            ("edge ok", w, "arrow-ok")
        };
        let stroke = if e.violation { RED } else { "#6d8597" };
        let title = if e.violation {
            format!(
                "{} → {} · {} · {} flows · VIOLATION {}: {}",
                e.src,
                e.dst,
                e.protocols.join(", "),
                num(e.flows),
                e.kinds.join(", "),
                e.explanation
            )
        } else {
            format!(
                "{} → {} · {} · {} flows · allowed",
                e.src,
                e.dst,
                e.protocols.join(", "),
                num(e.flows)
            )
        };
        let _ = write!(
            o,
            "<a href=\"/flows/{}\" class=\"edge-link\"><path class=\"{class}\" d=\"{d}\" stroke=\"{stroke}\" stroke-width=\"{w:.1}\" marker-end=\"url(#{marker})\" \
             data-src=\"{}\" data-dst=\"{}\" data-protocols=\"{}\" data-kinds=\"{}\"><title>{}</title></path></a>",
            url(&e.sample_flow),
            E(&e.src),
            E(&e.dst),
            E(&e.protocols.join(",")),
            E(&e.kinds.join(",")),
            esc(&title)
        );
    }
    for n in &m.nodes {
        let (fill, stroke, short) = role_style(n.role.as_deref());
        let href = match &n.asset_id {
            Some(id) => format!("/assets/{}", url(id)),
            None => format!("/flows?ip={}", url(&n.ip)),
        };
        let vendor: String = n.vendor.as_deref().unwrap_or("").chars().take(16).collect();
        let second = match (short, n.role.as_deref()) {
            ("", Some(r)) if r != "unknown" => r.to_string(),
            ("", _) if !vendor.is_empty() => vendor,
            ("", _) => if n.asset_id.is_some() {
                "asset"
            } else {
                "address"
            }
            .to_string(),
            (s, _) if !vendor.is_empty() => format!("{s} · {vendor}"),
            (s, _) => s.to_string(),
        };
        let second: String = second.chars().take(22).collect();
        let _ = write!(
            o,
            "<a href=\"{href}\" class=\"node\" data-ip=\"{ip}\"><g><rect x=\"{:.1}\" y=\"{:.1}\" width=\"{TILE_W}\" height=\"{TILE_H}\" rx=\"5\" fill=\"{fill}\" stroke=\"{stroke}\" stroke-width=\"1.4\"/>\
             <text x=\"{:.1}\" y=\"{:.1}\" fill=\"#e6e9ec\" font-size=\"12\" font-family=\"ui-monospace,DejaVu Sans Mono,monospace\">{ip}</text>\
             <text x=\"{:.1}\" y=\"{:.1}\" fill=\"{stroke}\" font-size=\"10.5\">{}</text><title>{ip} ({zone})</title></g></a>",
            n.x,
            n.y,
            n.x + 8.0,
            n.y + 16.0,
            n.x + 8.0,
            n.y + 30.0,
            E(&second),
            ip = E(&n.ip),
            zone = E(&n.zone),
        );
    }
    o.push_str("</svg>");
    o
}

fn center(n: &MapNode) -> (f64, f64) {
    (n.x + TILE_W / 2.0, n.y + TILE_H / 2.0)
}

fn edge_path(a: &MapNode, b: &MapNode) -> String {
    let (ax, ay) = center(a);
    let (bx, by) = center(b);
    if (ay - by).abs() < 1.0 {
        // Same row: an arc above the tiles.
        let lift = 26.0 + (ax - bx).abs() * 0.08;
        return format!(
            "M{ax:.1} {:.1}C{ax:.1} {:.1} {bx:.1} {:.1} {bx:.1} {:.1}",
            ay - TILE_H / 2.0,
            ay - TILE_H / 2.0 - lift,
            by - TILE_H / 2.0 - lift,
            by - TILE_H / 2.0 - 1.0
        );
    }
    let (sy, ty) = if by > ay {
        (ay + TILE_H / 2.0, by - TILE_H / 2.0 - 1.0)
    } else {
        (ay - TILE_H / 2.0, by + TILE_H / 2.0 + 1.0)
    };
    let my = (sy + ty) / 2.0;
    format!("M{ax:.1} {sy:.1}C{ax:.1} {my:.1} {bx:.1} {my:.1} {bx:.1} {ty:.1}")
}

fn box_link(a: &MapZone, b: &MapZone, i: usize) -> (f64, f64, f64, f64) {
    // Spread several conduits from one box a little apart.
    let off = ((i % 5) as f64 - 2.0) * 14.0;
    let (ax, bx) = (a.x + a.w / 2.0 + off, b.x + b.w / 2.0 + off);
    if (a.y - b.y).abs() < 1.0 {
        let y = a.y + a.h / 2.0;
        return if a.x < b.x {
            (a.x + a.w, y, b.x, y)
        } else {
            (a.x, y, b.x + b.w, y)
        };
    }
    if a.y < b.y {
        (ax, a.y + a.h, bx, b.y)
    } else {
        (ax, a.y, bx, b.y + b.h)
    }
}
