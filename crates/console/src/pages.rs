//! The pages (server-rendered HTML).
use crate::auth::{self, Role};
use crate::data::{self, AlertFilter, AssetFilter, Paging, SEVERITIES};
use crate::html::{
    self, bytes, csrf_field, esc, num, page, pager, severity_badge, ts, url, Viewer, E,
};
use crate::svg::{self, MapFilter};
use crate::{page_error, ClientIp, Console, ConsoleError, Principal};
use axum::extract::{Form, Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::Extension;
use serde::Deserialize;
use serde_json::Value;
use std::collections::BTreeMap;
use std::fmt::Write as _;

fn fail(e: ConsoleError) -> Response {
    tracing::error!("page: {e}");
    page_error(
        StatusCode::INTERNAL_SERVER_ERROR,
        "Error",
        "Something went wrong on the server; see its log.",
    )
}

fn not_found(what: &str) -> Response {
    page_error(
        StatusCode::NOT_FOUND,
        "Not found",
        &format!("There is no such {what} in this store."),
    )
}

fn render(c: &Console, p: &Principal, title: &str, active: &str, body: &str) -> Response {
    let v = Viewer {
        user: &p.user,
        role: p.role,
        csrf: &p.csrf,
        site: c.site().name(),
    };
    Html(page(title, active, &v, body)).into_response()
}

/// Query parameters, all optional and parsed leniently.
#[derive(Deserialize, Default, Debug)]
pub struct Params {
    page: Option<String>,
    per_page: Option<String>,
    q: Option<String>,
    zone: Option<String>,
    role: Option<String>,
    status: Option<String>,
    severity: Option<String>,
    rule: Option<String>,
    ip: Option<String>,
    assignee: Option<String>,
    protocol: Option<String>,
    violations: Option<String>,
    conduits: Option<String>,
    f: Option<String>,
    msg: Option<String>,
}

impl Params {
    fn paging(&self) -> Paging {
        Paging::new(
            self.page.as_deref().and_then(|s| s.parse().ok()),
            self.per_page.as_deref().and_then(|s| s.parse().ok()),
        )
    }
}

fn opt(s: &Option<String>) -> Option<String> {
    s.as_deref()
        .map(str::trim)
        .filter(|x| !x.is_empty())
        .map(str::to_owned)
}

/// A query string from pairs (empty values left out).
fn qs(pairs: &[(&str, Option<&str>)]) -> String {
    let parts: Vec<String> = pairs
        .iter()
        .filter_map(|(k, v)| {
            v.filter(|v| !v.is_empty())
                .map(|v| format!("{k}={}", url(v)))
        })
        .collect();
    if parts.is_empty() {
        String::new()
    } else {
        format!("?{}", parts.join("&"))
    }
}

fn select(name: &str, current: Option<&str>, options: &[(String, String)], auto: bool) -> String {
    let mut o = format!(
        "<select name=\"{name}\"{}>",
        if auto { " data-autosubmit" } else { "" }
    );
    for (v, label) in options {
        let sel = if Some(v.as_str()) == current {
            " selected"
        } else {
            ""
        };
        let _ = write!(o, "<option value=\"{}\"{sel}>{}</option>", E(v), E(label));
    }
    o.push_str("</select>");
    o
}

fn ip_link(ip: Option<&str>) -> String {
    match ip {
        Some(ip) => format!(
            "<a class=\"mono\" href=\"/assets/{}\">{}</a>",
            url(&format!("ip:{ip}")),
            E(ip)
        ),
        None => "<span class=\"muted\">–</span>".into(),
    }
}

fn kinds_tags(kinds: &[String]) -> String {
    kinds
        .iter()
        .map(|k| format!("<span class=\"tag bad\">{}</span>", E(k)))
        .collect()
}

/// `GET /static/{file}`.
pub async fn static_file(Path(file): Path<String>) -> Response {
    let (ctype, body) = match file.as_str() {
        "app.css" => ("text/css; charset=utf-8", html::CSS),
        "app.js" => ("text/javascript; charset=utf-8", html::JS),
        "icon.svg" => ("image/svg+xml", html::ICON),
        _ => return (StatusCode::NOT_FOUND, "not found").into_response(),
    };
    (
        [
            (header::CONTENT_TYPE, ctype),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        body,
    )
        .into_response()
}

// ---------------------------------------------------------------------------------------
// Overview
// ---------------------------------------------------------------------------------------

/// `GET /`.
pub async fn overview(State(c): State<Console>, Extension(p): Extension<Principal>) -> Response {
    let convs = match c.traffic().await {
        Ok(v) => v,
        Err(e) => return fail(e),
    };
    let site = c.clone();
    let r = c
        .db()
        .run(move |conn| {
            let t = data::totals(conn)?;
            let tl = data::alert_timeline(conn, 48)?;
            let h = data::health(conn)?;
            let latest = data::alerts(
                conn,
                site.site(),
                &AlertFilter::default(),
                Paging::new(Some(1), Some(6)),
            )?;
            Ok((t, tl, h, latest))
        })
        .await;
    let (t, tl, h, latest) = match r {
        Ok(x) => x,
        Err(e) => return fail(e),
    };
    let top = data::top_violations(&convs, 8);
    let viol_convs = convs.iter().filter(|c| c.judgement.violating()).count();
    let viol_flows: u64 = convs
        .iter()
        .filter(|c| c.judgement.violating())
        .map(|c| c.flows)
        .sum();
    let mut b = String::with_capacity(32 * 1024);
    let _ = write!(
        b,
        "<h1>Overview <span class=\"sub\">{}</span></h1>",
        E(c.site().name())
    );
    let crit = t.open_by_severity[3] + t.open_by_severity[2];
    let _ = write!(
        b,
        "<div class=\"grid g4\">\
         <a class=\"panel kpi\" href=\"/assets\"><div class=\"l\">Assets</div><div class=\"v\" id=\"kpi-assets\">{}</div><div class=\"d\">seen on the network</div></a>\
         <a class=\"panel kpi{}\" href=\"/alerts\"><div class=\"l\">Open alerts</div><div class=\"v\" id=\"kpi-alerts\">{}</div><div class=\"d\">{} critical · {} high · {} total</div></a>\
         <a class=\"panel kpi{}\" href=\"/policy\"><div class=\"l\">Policy violations</div><div class=\"v\">{}</div><div class=\"d\">conversations · {} flows</div></a>\
         <a class=\"panel kpi\" href=\"/flows\"><div class=\"l\">Flows</div><div class=\"v\">{}</div><div class=\"d\">{} transactions and anomalies</div></a></div>",
        num(t.assets),
        if crit > 0 { " alarm" } else { "" },
        num(t.alerts_open),
        num(t.open_by_severity[3]),
        num(t.open_by_severity[2]),
        num(t.alerts),
        if viol_convs > 0 { " alarm" } else { "" },
        num(viol_convs as u64),
        num(viol_flows),
        num(t.flows),
        num(t.events),
    );
    b.push_str(
        "<div class=\"grid g21\"><div class=\"panel chart\"><h2>Alerts by severity over time</h2>",
    );
    b.push_str(&svg::timeline(&tl));
    b.push_str("<div class=\"legend\">");
    for (i, s) in SEVERITIES.iter().enumerate().rev() {
        let _ = write!(
            b,
            "<span><i class=\"i-{s}\"></i>{s} ({} open)</span>",
            num(t.open_by_severity[i])
        );
    }
    b.push_str("</div></div><div class=\"panel\"><h2>Sensor health</h2>");
    match &h {
        Some(h) => {
            let status_class = if h.last_status == "complete" {
                "ok"
            } else {
                "bad"
            };
            let pps = if h.duration_ns > 0 {
                (h.packets as f64 / (h.duration_ns as f64 / 1e9)) as u64
            } else {
                0
            };
            let _ = write!(
                b,
                "<dl class=\"kv\"><dt>Last run</dt><dd><span class=\"{status_class}\">{}</span> · {}</dd>\
                 <dt>Input</dt><dd class=\"mono\">{}</dd>\
                 <dt>Packets</dt><dd>{} ({})</dd><dt>Capture span</dt><dd>{}</dd>\
                 <dt>Processing</dt><dd>{} · {} packets/s</dd>\
                 <dt>Flows</dt><dd>{}</dd>\
                 <dt>Drops</dt><dd class=\"{}\">{}</dd>\
                 <dt>Decode errors</dt><dd class=\"{}\">{}</dd>\
                 <dt>TCP gaps</dt><dd>{}</dd><dt>Anomalies</dt><dd>{}</dd><dt>Runs</dt><dd>{}</dd></dl>",
                E(&h.last_status),
                ts(h.last_started),
                E(&h.inputs.join(", ")),
                num(h.packets),
                bytes(h.bytes),
                html::duration_ns(h.capture_span_ns),
                html::duration_ns(h.duration_ns),
                num(pps),
                num(h.flows),
                if h.drops > 0 { "bad" } else { "ok" },
                num(h.drops),
                if h.decode_errors > 0 { "bad" } else { "ok" },
                num(h.decode_errors),
                num(h.tcp_gaps),
                num(h.anomalies),
                num(h.runs),
            );
        }
        None => b.push_str(
            "<p class=\"muted\">No analysis has run into this store yet. Run <code>sluice analyze \
             CAPTURE --db STORE</code> or <code>sluice sense</code>.</p>",
        ),
    }
    b.push_str("</div></div>");
    b.push_str("<div class=\"grid g2\"><div class=\"panel\"><h2>Top policy violations</h2>");
    if top.is_empty() {
        b.push_str(if c.site().policy().is_some() {
            "<p class=\"ok\">No traffic breaks the zone and conduit policy.</p>"
        } else {
            "<p class=\"muted\">No policy loaded: start the console with <code>--config sluice.toml</code> to judge traffic against zones and conduits.</p>"
        });
    } else {
        b.push_str("<table id=\"top-violations\"><tr><th>From</th><th>To</th><th>Protocol</th><th>Why</th><th class=\"num\">Flows</th></tr>");
        for v in &top {
            let _ = write!(
                b,
                "<tr><td>{}<div class=\"muted\">{}</div></td><td>{}<div class=\"muted\">{}</div></td><td><a href=\"/flows/{}\">{}</a></td><td>{}</td><td class=\"num\">{}</td></tr>",
                ip_link(Some(&v.src_ip)),
                E(&v.from_zone),
                ip_link(Some(&v.dst_ip)),
                E(&v.to_zone),
                url(&v.sample_flow),
                E(&v.label),
                kinds_tags(&v.kinds),
                num(v.flows)
            );
        }
        b.push_str("</table>");
    }
    b.push_str("</div><div class=\"panel\"><h2>Latest open alerts</h2>");
    alert_table(&mut b, &latest.items, &p, false);
    b.push_str("<p><a href=\"/alerts\">All alerts →</a></p></div></div>");
    render(&c, &p, "Overview", "/", &b)
}

fn alert_table(b: &mut String, rows: &[data::AlertRow], p: &Principal, actions: bool) {
    if rows.is_empty() {
        b.push_str("<p class=\"muted\">No alerts match.</p>");
        return;
    }
    b.push_str("<table class=\"alerts\"><tr><th>Severity</th><th>Time (UTC)</th><th>Alert</th><th>Source</th><th>Destination</th><th>Status</th>");
    if actions {
        b.push_str("<th></th>");
    }
    b.push_str("</tr>");
    for a in rows {
        let status = if a.acknowledged {
            format!(
                "<span class=\"ok\">acknowledged</span><div class=\"muted\">{}</div>",
                E(a.acknowledged_by.as_deref().unwrap_or(""))
            )
        } else {
            match &a.assignee {
                Some(x) => format!("open<div class=\"muted\">→ {}</div>", E(x)),
                None => "open".into(),
            }
        };
        let _ = write!(
            b,
            "<tr data-alert=\"{id}\"><td>{}</td><td class=\"mono\">{}</td><td><a href=\"/alerts/{uid}\">{}</a><div class=\"muted\">{}{}{}</div></td>\
             <td>{}<div class=\"muted\">{}</div></td><td>{}<div class=\"muted\">{}</div></td><td>{}</td>",
            severity_badge(a.severity_class, a.severity),
            ts(a.ts),
            E(&a.rule_name),
            E(&a.rule_id),
            a.technique_id
                .as_deref()
                .map(|t| format!(" · {}", esc(t)))
                .unwrap_or_default(),
            if a.count > 1 {
                format!(" · ×{}", a.count)
            } else {
                String::new()
            },
            ip_link(a.src_ip.as_deref()),
            E(a.src_zone.as_deref().unwrap_or("")),
            ip_link(a.dst_ip.as_deref()),
            E(a.dst_zone.as_deref().unwrap_or("")),
            status,
            id = E(&a.id),
            uid = url(&a.id),
        );
        if actions {
            b.push_str("<td>");
            if p.role >= Role::Analyst && !a.acknowledged {
                let _ = write!(
                    b,
                    "<form method=\"post\" action=\"/alerts/{}/ack\" class=\"inline\">{}<input type=\"hidden\" name=\"back\" value=\"list\"><button class=\"secondary ack\" type=\"submit\">Acknowledge</button></form>",
                    url(&a.id),
                    csrf_field(&p.csrf)
                );
            }
            b.push_str("</td>");
        }
        b.push_str("</tr>");
    }
    b.push_str("</table>");
}

// ---------------------------------------------------------------------------------------
// Map
// ---------------------------------------------------------------------------------------

fn map_filter(q: &Params) -> MapFilter {
    let submitted = q.f.is_some();
    MapFilter {
        violations_only: q.violations.is_some(),
        protocol: opt(&q.protocol),
        zone: opt(&q.zone),
        conduits: if submitted {
            q.conduits.is_some()
        } else {
            true
        },
    }
}

/// The map's content (shared with the API).
/// Laid-out maps are cached per filter until the flows or the assets change.
pub(crate) async fn map_model(
    c: &Console,
    f: MapFilter,
) -> Result<std::sync::Arc<svg::MapModel>, ConsoleError> {
    let convs = c.traffic().await?;
    let key = format!(
        "{}|{}|{}|{}",
        f.violations_only,
        f.conduits,
        f.protocol.as_deref().unwrap_or(""),
        f.zone.as_deref().unwrap_or("")
    );
    let assets_stamp: i64 = c
        .db()
        .run(|conn| {
            Ok(conn
                .query_row("SELECT MAX(rowid) FROM assets", [], |r| {
                    r.get::<_, Option<i64>>(0)
                })?
                .unwrap_or(0))
        })
        .await?;
    let flows_stamp = c
        .inner
        .traffic
        .lock()
        .ok()
        .and_then(|g| g.as_ref().map(|(s, _)| *s))
        .unwrap_or((0, 0));
    let stamp = (flows_stamp.0, flows_stamp.1, assets_stamp);
    if let Ok(cache) = c.inner.maps.lock() {
        if let Some((s, m)) = cache.get(&key) {
            if *s == stamp {
                return Ok(m.clone());
            }
        }
    }
    let assets = c.db().run(|conn| data::asset_nodes(conn, 200_000)).await?;
    let m = std::sync::Arc::new(svg::map_model(c.site(), &convs, &assets, &f));
    if let Ok(mut cache) = c.inner.maps.lock() {
        if cache.len() >= 64 {
            cache.clear();
        }
        cache.insert(key, (stamp, m.clone()));
    }
    Ok(m)
}

/// `GET /map`.
pub async fn map(
    State(c): State<Console>,
    Extension(p): Extension<Principal>,
    Query(q): Query<Params>,
) -> Response {
    let f = map_filter(&q);
    let convs = match c.traffic().await {
        Ok(v) => v,
        Err(e) => return fail(e),
    };
    let m = match map_model(&c, f.clone()).await {
        Ok(m) => m,
        Err(e) => return fail(e),
    };
    // Distinct protocol labels, formatted once per distinct key.
    let keys: std::collections::HashSet<(Option<&str>, Option<&str>, Option<u16>)> = convs
        .iter()
        .map(|c| match &c.protocol {
            Some(p) => (Some(p.as_str()), None, None),
            None => (None, c.transport.as_deref(), c.dst_port),
        })
        .collect();
    let mut labels: Vec<String> = keys
        .into_iter()
        .map(|(p, t, port)| match (p, t, port) {
            (Some(p), _, _) => p.to_string(),
            (None, Some(t), Some(port)) => format!("{t}/{port}"),
            (None, Some(t), None) => t.to_string(),
            (None, None, _) => "ip".to_string(),
        })
        .collect();
    labels.sort();
    labels.dedup();
    let mut proto_opts = vec![(String::new(), "All protocols".to_string())];
    proto_opts.extend(labels.into_iter().map(|l| (l.clone(), l)));
    let mut zone_opts = vec![(String::new(), "All zones".to_string())];
    zone_opts.extend(
        c.site()
            .zones()
            .iter()
            .map(|z| (z.name.clone(), z.name.clone())),
    );
    let mut b = String::with_capacity(128 * 1024);
    let violating = m.edges.iter().filter(|e| e.violation).count();
    let _ = write!(
        b,
        "<h1>Purdue map <span class=\"sub\">{} addresses · {} edges · {} breaking the policy</span></h1>\
         <form class=\"filters\" method=\"get\" action=\"/map\" id=\"map-filter\"><input type=\"hidden\" name=\"f\" value=\"1\">\
         <label><input type=\"checkbox\" name=\"violations\" value=\"1\"{} data-autosubmit> Only policy violations</label>\
         <label><input type=\"checkbox\" name=\"conduits\" value=\"1\"{} data-autosubmit> Conduits</label>\
         <label>Protocol {}</label><label>Zone {}</label><button class=\"secondary\" type=\"submit\">Apply</button>\
         <span class=\"legend\"><span><i class=\"i-ok\"></i>allowed flow</span><span><i class=\"i-bad\"></i>breaks the policy</span><span><i class=\"i-conduit\"></i>conduit</span><span class=\"muted\">Scroll to zoom, drag to pan, click a box or an edge for details.</span></span></form>",
        num(m.nodes.len() as u64),
        num(m.edges.len() as u64),
        num(violating as u64),
        if f.violations_only { " checked" } else { "" },
        if f.conduits { " checked" } else { "" },
        select("protocol", f.protocol.as_deref(), &proto_opts, true),
        select("zone", f.zone.as_deref(), &zone_opts, true),
    );
    b.push_str("<div class=\"mapwrap\"><div class=\"mapctl\"><button type=\"button\" data-zoom=\"in\" title=\"Zoom in\">+</button><button type=\"button\" data-zoom=\"out\" title=\"Zoom out\">−</button><button type=\"button\" data-zoom=\"reset\" title=\"Reset\">⟲</button></div>");
    b.push_str(&svg::map_svg(&m, c.site()));
    b.push_str("</div>");
    if m.edges_left_out > 0 {
        let _ = write!(
            b,
            "<p class=\"muted\">{} conversations with addresses not drawn are left out; filter by zone or protocol to see them.</p>",
            num(m.edges_left_out)
        );
    }
    render(&c, &p, "Purdue map", "/map", &b)
}

// ---------------------------------------------------------------------------------------
// Assets
// ---------------------------------------------------------------------------------------

/// `GET /assets`.
pub async fn assets(
    State(c): State<Console>,
    Extension(p): Extension<Principal>,
    Query(q): Query<Params>,
) -> Response {
    let f = AssetFilter {
        q: opt(&q.q),
        zone: opt(&q.zone),
        role: opt(&q.role),
    };
    let paging = q.paging();
    let c2 = c.clone();
    let f2 = f.clone();
    let r = c
        .db()
        .run(move |conn| {
            let page = data::assets(conn, c2.site(), &f2, paging)?;
            let mut st = conn
                .prepare("SELECT DISTINCT role FROM assets WHERE role IS NOT NULL ORDER BY role")?;
            let roles = st
                .query_map([], |r| r.get::<_, String>(0))?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            Ok((page, roles))
        })
        .await;
    let (page_of, roles) = match r {
        Ok(x) => x,
        Err(e) => return fail(e),
    };
    let mut zone_opts = vec![(String::new(), "All zones".to_string())];
    zone_opts.extend(
        c.site()
            .zones()
            .iter()
            .map(|z| (z.name.clone(), z.name.clone())),
    );
    let mut role_opts = vec![(String::new(), "All roles".to_string())];
    role_opts.extend(roles.into_iter().map(|r| (r.clone(), r)));
    let mut b = String::with_capacity(32 * 1024);
    let _ = write!(
        b,
        "<h1>Assets <span class=\"sub\">{} matching</span></h1>\
         <form class=\"filters\" method=\"get\" action=\"/assets\"><input name=\"q\" placeholder=\"Search address, MAC, vendor, model…\" value=\"{}\" size=\"34\">\
         <label>Zone {}</label><label>Role {}</label><button type=\"submit\">Search</button></form>",
        num(page_of.total.unwrap_or(0)),
        E(f.q.as_deref().unwrap_or("")),
        select("zone", f.zone.as_deref(), &zone_opts, true),
        select("role", f.role.as_deref(), &role_opts, true),
    );
    b.push_str("<div class=\"panel\"><table id=\"assets\"><tr><th>Address</th><th>Zone</th><th>Role</th><th>Vendor</th><th>Model / firmware</th><th>Protocols</th><th>MAC</th><th>Last seen (UTC)</th><th class=\"num\">Open alerts</th></tr>");
    for a in &page_of.items {
        let _ = write!(
            b,
            "<tr><td><a class=\"mono\" href=\"/assets/{}\">{}</a></td><td>{}</td><td>{}</td><td>{}</td><td>{}{}</td><td>{}</td><td class=\"mono\">{}</td><td class=\"mono\">{}</td><td class=\"num{}\">{}</td></tr>",
            url(&a.id),
            E(&a.ip),
            E(&a.zone),
            E(a.role.as_deref().unwrap_or("")),
            E(a.vendor.as_deref().unwrap_or("")),
            E(a.product.as_deref().unwrap_or("")),
            a.firmware
                .as_deref()
                .map(|f| format!(" <span class=\"muted\">{}</span>", esc(f)))
                .unwrap_or_default(),
            a.protocols
                .iter()
                .map(|p| format!("<span class=\"tag\">{}</span>", esc(p)))
                .collect::<String>(),
            E(a.mac.as_deref().unwrap_or("")),
            ts(a.last_seen),
            if a.open_alerts > 0 { " bad" } else { "" },
            num(a.open_alerts),
        );
    }
    b.push_str("</table>");
    let base = format!(
        "/assets{}",
        qs(&[
            ("q", f.q.as_deref()),
            ("zone", f.zone.as_deref()),
            ("role", f.role.as_deref())
        ])
    );
    b.push_str(&pager(
        &base,
        page_of.page,
        page_of.has_more,
        page_of.total,
        page_of.per_page,
    ));
    b.push_str("</div>");
    render(&c, &p, "Assets", "/assets", &b)
}

/// `GET /assets/{id}`.
pub async fn asset(
    State(c): State<Console>,
    Extension(p): Extension<Principal>,
    Path(id): Path<String>,
) -> Response {
    let c2 = c.clone();
    let r = c
        .db()
        .run(move |conn| data::asset_detail(conn, c2.site(), &id))
        .await;
    let d = match r {
        Ok(Some(d)) => d,
        Ok(None) => return not_found("asset"),
        Err(e) => return fail(e),
    };
    let a = &d.asset;
    let s = |k: &str| a.get(k).and_then(Value::as_str).unwrap_or("").to_string();
    let ip = s("ip");
    let mut b = String::with_capacity(32 * 1024);
    let title_role = s("role");
    let product = data::identity_fact(a, "product").unwrap_or_default();
    let _ = write!(
        b,
        "<h1 id=\"asset-title\"><span class=\"mono\">{}</span> <span class=\"sub\">{} · zone {}{}</span></h1>",
        E(&ip),
        E(if product.is_empty() { &title_role } else { &product }),
        E(&d.zone),
        d.level
            .map(|l| format!(" (level {l})"))
            .unwrap_or_default()
    );
    b.push_str("<div class=\"grid g2\"><div class=\"panel\"><h2>Identity</h2><dl class=\"kv\" id=\"identity\">");
    let _ = write!(
        b,
        "<dt>Address</dt><dd class=\"mono\">{}</dd><dt>Role</dt><dd>{}</dd><dt>MAC</dt><dd class=\"mono\">{}</dd><dt>NIC vendor</dt><dd>{}</dd>",
        E(&ip),
        E(&title_role),
        E(&s("mac")),
        E(&s("vendor"))
    );
    if let Some(r) = a.get("behind_router").and_then(Value::as_str) {
        let _ = write!(b, "<dt>Behind router</dt><dd class=\"mono\">{}</dd>", E(r));
    }
    if let Some(idn) = a.get("identity").and_then(Value::as_object) {
        for (src, facts) in idn {
            if let Some(facts) = facts.as_object() {
                for (k, v) in facts {
                    if k == "source" {
                        continue;
                    }
                    let text = v
                        .as_str()
                        .map(str::to_owned)
                        .unwrap_or_else(|| v.to_string());
                    let _ = write!(
                        b,
                        "<dt>{}</dt><dd>{} <span class=\"muted\">({})</span></dd>",
                        E(k),
                        E(&text),
                        E(src)
                    );
                }
            }
        }
    }
    let n = |k: &str| a.get(k).and_then(Value::as_i64).unwrap_or(0);
    let _ = write!(
        b,
        "<dt>First seen</dt><dd>{}</dd><dt>Last seen</dt><dd>{}</dd><dt>Sent</dt><dd>{} packets · {}</dd></dl></div>",
        ts(n("first_seen")),
        ts(n("last_seen")),
        num(u64::try_from(n("packets_sent")).unwrap_or(0)),
        bytes(u64::try_from(n("bytes_sent")).unwrap_or(0))
    );
    b.push_str("<div class=\"panel\"><h2>Protocols</h2><dl class=\"kv\">");
    let list = |k: &str| -> String {
        a.get(k)
            .and_then(Value::as_array)
            .map(|v| {
                v.iter()
                    .filter_map(Value::as_str)
                    .map(|p| format!("<span class=\"tag\">{}</span>", esc(p)))
                    .collect()
            })
            .unwrap_or_default()
    };
    let _ = write!(
        b,
        "<dt>Serves</dt><dd>{}</dd><dt>Uses</dt><dd>{}</dd></dl>",
        list("protocols_server"),
        list("protocols_client")
    );
    if let Some(h) = a.get("mac_history").and_then(Value::as_array) {
        if h.len() > 1 {
            b.push_str(
                "<h2>MAC history</h2><table><tr><th>MAC</th><th>First</th><th>Last</th></tr>",
            );
            for m in h {
                let _ = write!(
                    b,
                    "<tr><td class=\"mono\">{}</td><td>{}</td><td>{}</td></tr>",
                    E(m.get("mac").and_then(Value::as_str).unwrap_or("")),
                    ts(m.get("first_seen").and_then(Value::as_i64).unwrap_or(0)),
                    ts(m.get("last_seen").and_then(Value::as_i64).unwrap_or(0))
                );
            }
            b.push_str("</table>");
        }
    }
    b.push_str("</div></div>");
    b.push_str("<div class=\"panel\"><h2>Alerts</h2>");
    alert_table(&mut b, &d.alerts, &p, true);
    b.push_str("</div><div class=\"grid g2\"><div class=\"panel\"><h2>Talkers</h2>");
    if d.talkers.is_empty() {
        b.push_str("<p class=\"muted\">No flows.</p>");
    } else {
        b.push_str("<table id=\"talkers\"><tr><th>Peer</th><th>Zone</th><th>Direction</th><th>Protocol</th><th class=\"num\">Flows</th><th class=\"num\">Bytes</th></tr>");
        for t in &d.talkers {
            let _ = write!(
                b,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}{}</td><td class=\"num\"><a href=\"/flows?ip={}\">{}</a></td><td class=\"num\">{}</td></tr>",
                ip_link(Some(&t.peer)),
                E(&t.peer_zone),
                if t.direction == "out" { "→ to peer" } else { "← from peer" },
                E(t.protocol.as_deref().unwrap_or("–")),
                if t.violating {
                    " <span class=\"tag bad\">policy</span>"
                } else {
                    ""
                },
                url(&ip),
                num(t.flows),
                bytes(t.bytes)
            );
        }
        b.push_str("</table>");
    }
    b.push_str("</div><div class=\"panel\"><h2>Recent transactions</h2>");
    event_table(&mut b, &d.recent_events);
    b.push_str("</div></div>");
    render(&c, &p, &ip, "/assets", &b)
}

fn event_table(b: &mut String, rows: &[data::EventSummary]) {
    if rows.is_empty() {
        b.push_str("<p class=\"muted\">None.</p>");
        return;
    }
    b.push_str("<table class=\"events\"><tr><th>Time (UTC)</th><th>Protocol</th><th>Operation</th><th>From</th><th>To</th><th></th></tr>");
    for e in rows {
        let _ = write!(
            b,
            "<tr><td class=\"mono\"><a href=\"/events/{}\">{}</a></td><td>{}</td><td>{}{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            url(&e.id),
            ts(e.ts),
            E(e.protocol.as_deref().unwrap_or(&e.dataset)),
            E(e.function.as_deref().unwrap_or("")),
            e.function_code
                .map(|f| format!(" <span class=\"muted\">({f})</span>"))
                .unwrap_or_default(),
            ip_link(e.src_ip.as_deref()),
            ip_link(e.dst_ip.as_deref()),
            e.flow_id
                .as_deref()
                .map(|f| format!("<a href=\"/flows/{}\">flow</a>", url(f)))
                .unwrap_or_default()
        );
    }
    b.push_str("</table>");
}

// ---------------------------------------------------------------------------------------
// Alerts
// ---------------------------------------------------------------------------------------

/// `GET /alerts`.
pub async fn alerts(
    State(c): State<Console>,
    Extension(p): Extension<Principal>,
    Query(q): Query<Params>,
) -> Response {
    let f = AlertFilter {
        status: opt(&q.status),
        severity: opt(&q.severity),
        rule: opt(&q.rule),
        ip: opt(&q.ip),
        assignee: opt(&q.assignee),
        chain: None,
    };
    let paging = q.paging();
    let c2 = c.clone();
    let f2 = f.clone();
    let r = c
        .db()
        .run(move |conn| {
            Ok((
                data::alerts(conn, c2.site(), &f2, paging)?,
                data::alert_rules(conn)?,
            ))
        })
        .await;
    let (page_of, rules) = match r {
        Ok(x) => x,
        Err(e) => return fail(e),
    };
    let status_opts: Vec<(String, String)> = [
        ("open", "Open"),
        ("acknowledged", "Acknowledged"),
        ("all", "All"),
    ]
    .iter()
    .map(|(a, b)| (a.to_string(), b.to_string()))
    .collect();
    let mut sev_opts = vec![(String::new(), "Any severity".to_string())];
    sev_opts.extend(
        SEVERITIES
            .iter()
            .rev()
            .map(|s| (s.to_string(), format!("{s} and above"))),
    );
    let mut rule_opts = vec![(String::new(), "All rules".to_string())];
    rule_opts.extend(
        rules
            .iter()
            .map(|(id, name, n)| (id.clone(), format!("{id} {name} ({n})"))),
    );
    let mut b = String::with_capacity(32 * 1024);
    let _ = write!(
        b,
        "<h1>Alerts</h1><form class=\"filters\" method=\"get\" action=\"/alerts\">\
         <label>Status {}</label><label>Severity {}</label><label>Rule {}</label>\
         <input name=\"ip\" placeholder=\"Address\" value=\"{}\" size=\"14\"><input name=\"assignee\" placeholder=\"Assignee\" value=\"{}\" size=\"10\">\
         <button type=\"submit\">Filter</button></form>",
        select("status", Some(f.status.as_deref().unwrap_or("open")), &status_opts, true),
        select("severity", f.severity.as_deref(), &sev_opts, true),
        select("rule", f.rule.as_deref(), &rule_opts, true),
        E(f.ip.as_deref().unwrap_or("")),
        E(f.assignee.as_deref().unwrap_or("")),
    );
    if let Some(m) = opt(&q.msg) {
        let _ = write!(b, "<div class=\"success\">{}</div>", E(&m));
    }
    if p.role < Role::Analyst {
        b.push_str("<p class=\"muted\">Your role (viewer) can read alerts; analysts acknowledge and assign them.</p>");
    }
    b.push_str("<div class=\"panel\">");
    alert_table(&mut b, &page_of.items, &p, true);
    let base = format!(
        "/alerts{}",
        qs(&[
            ("status", f.status.as_deref()),
            ("severity", f.severity.as_deref()),
            ("rule", f.rule.as_deref()),
            ("ip", f.ip.as_deref()),
            ("assignee", f.assignee.as_deref()),
        ])
    );
    b.push_str(&pager(
        &base,
        page_of.page,
        page_of.has_more,
        None,
        page_of.per_page,
    ));
    b.push_str("</div>");
    render(&c, &p, "Alerts", "/alerts", &b)
}

/// `GET /alerts/{id}`.
pub async fn alert(
    State(c): State<Console>,
    Extension(p): Extension<Principal>,
    Path(id): Path<String>,
    Query(q): Query<Params>,
) -> Response {
    let c2 = c.clone();
    let r = c
        .db()
        .run(move |conn| {
            let d = data::alert(conn, c2.site(), &id)?;
            let users = auth::list_users(conn)?;
            Ok((d, users))
        })
        .await;
    let (d, users) = match r {
        Ok((Some(d), u)) => (d, u),
        Ok((None, _)) => return not_found("alert"),
        Err(e) => return fail(e),
    };
    let a = &d.alert;
    let mut b = String::with_capacity(32 * 1024);
    let _ = write!(
        b,
        "<h1>{} {} <span class=\"sub mono\">{}</span></h1>",
        severity_badge(a.severity_class, a.severity),
        E(&a.rule_name),
        E(&a.rule_id)
    );
    if let Some(m) = opt(&q.msg) {
        let _ = write!(b, "<div class=\"success\">{}</div>", E(&m));
    }
    if let Some(x) = &d.explanation {
        let _ = write!(b, "<div class=\"notice\" id=\"explanation\">{}</div>", E(x));
    }
    b.push_str("<div class=\"grid g2\"><div class=\"panel\"><h2>What</h2><dl class=\"kv\">");
    let _ = write!(
        b,
        "<dt>Time</dt><dd>{} UTC</dd><dt>Severity</dt><dd>{} / 100</dd><dt>Source</dt><dd>{} <span class=\"muted\">{}</span></dd>\
         <dt>Destination</dt><dd>{} <span class=\"muted\">{}</span></dd>",
        ts(a.ts),
        a.severity,
        ip_link(a.src_ip.as_deref()),
        E(a.src_zone.as_deref().unwrap_or("")),
        ip_link(a.dst_ip.as_deref()),
        E(a.dst_zone.as_deref().unwrap_or("")),
    );
    if let Some(t) = &a.technique_id {
        let _ = write!(
            b,
            "<dt>ATT&amp;CK for ICS</dt><dd><span class=\"tag\">{}</span> {}{}</dd>",
            E(t),
            E(d.technique_name.as_deref().unwrap_or("")),
            d.tactic
                .as_deref()
                .map(|x| format!(" <span class=\"muted\">({})</span>", esc(x)))
                .unwrap_or_default()
        );
    }
    if !d.controls.is_empty() {
        let _ = write!(
            b,
            "<dt>Controls</dt><dd>{}</dd>",
            d.controls
                .iter()
                .map(|c| format!("<span class=\"tag\">{}</span>", esc(c)))
                .collect::<String>()
        );
    }
    if !d.asset_ids.is_empty() {
        let _ = write!(
            b,
            "<dt>Assets</dt><dd>{}</dd>",
            d.asset_ids
                .iter()
                .map(|id| format!(
                    "<a href=\"/assets/{}\" class=\"mono\">{}</a> ",
                    url(id),
                    esc(id)
                ))
                .collect::<String>()
        );
    }
    let _ = write!(
        b,
        "<dt>Occurrences</dt><dd>{}</dd>{}</dl></div>",
        num(u64::try_from(a.count).unwrap_or(0)),
        a.chain_id
            .as_deref()
            .map(|c| format!("<dt>Attack chain</dt><dd class=\"mono\">{}</dd>", esc(c)))
            .unwrap_or_default()
    );
    // Triage.
    b.push_str("<div class=\"panel\" id=\"triage\"><h2>Triage</h2><dl class=\"kv\">");
    let _ = write!(
        b,
        "<dt>Status</dt><dd id=\"alert-status\">{}</dd><dt>Assigned to</dt><dd id=\"alert-assignee\">{}</dd></dl>",
        if a.acknowledged {
            format!(
                "<span class=\"ok\">acknowledged</span> by {} at {} UTC",
                esc(a.acknowledged_by.as_deref().unwrap_or("?")),
                a.acknowledged_at.map(ts).unwrap_or_default()
            )
        } else {
            "<span class=\"bad\">open</span>".to_string()
        },
        E(a.assignee.as_deref().unwrap_or("nobody"))
    );
    if p.role >= Role::Analyst {
        let aid = url(&a.id);
        if a.acknowledged {
            let _ = write!(
                b,
                "<p><form method=\"post\" action=\"/alerts/{aid}/reopen\" class=\"inline\">{}<button class=\"secondary\" id=\"reopen\" type=\"submit\">Reopen</button></form></p>",
                csrf_field(&p.csrf)
            );
        } else {
            let _ = write!(
                b,
                "<p><form method=\"post\" action=\"/alerts/{aid}/ack\" class=\"inline\">{}<button id=\"ack\" type=\"submit\">Acknowledge</button></form></p>",
                csrf_field(&p.csrf)
            );
        }
        let mut opts = vec![(String::new(), "nobody".to_string())];
        opts.extend(
            users
                .iter()
                .filter(|u| u.role >= Role::Analyst && !u.disabled)
                .map(|u| (u.name.clone(), u.name.clone())),
        );
        let _ = write!(
            b,
            "<form method=\"post\" action=\"/alerts/{aid}/assign\" class=\"inline\">{}<label class=\"muted\">Assign to {}</label><button class=\"secondary\" type=\"submit\">Assign</button></form>",
            csrf_field(&p.csrf),
            select("assignee", a.assignee.as_deref(), &opts, false)
        );
    } else {
        b.push_str("<p class=\"muted\" id=\"no-triage\">Your role (viewer) cannot acknowledge or assign alerts.</p>");
    }
    b.push_str("</div></div>");
    b.push_str("<div class=\"panel\"><h2>Evidence</h2>");
    if d.evidence.is_empty() {
        b.push_str("<p class=\"muted\">The alert cites no events.</p>");
    } else {
        b.push_str("<table id=\"evidence\"><tr><th>Kind</th><th>Event</th><th>Summary</th><th>Flow</th></tr>");
        for e in &d.evidence {
            let link = match e.kind.as_str() {
                "event" => format!(
                    "<a class=\"mono\" href=\"/events/{}\">{}</a>",
                    url(&e.id),
                    esc(&e.id)
                ),
                "flow" => format!(
                    "<a class=\"mono\" href=\"/flows/{}\">{}</a>",
                    url(&e.id),
                    esc(&e.id)
                ),
                _ => format!("<span class=\"mono muted\">{}</span>", esc(&e.id)),
            };
            let _ = write!(
                b,
                "<tr><td>{}</td><td>{link}</td><td>{}</td><td>{}</td></tr>",
                E(if e.kind == "event" {
                    "transaction"
                } else {
                    &e.kind
                }),
                E(&e.summary),
                e.flow
                    .as_deref()
                    .map(|f| format!("<a href=\"/flows/{}\">flow</a>", url(f)))
                    .unwrap_or_default()
            );
        }
        b.push_str("</table>");
    }
    b.push_str("</div>");
    if !d.chain.is_empty() {
        b.push_str("<div class=\"panel\"><h2>Same attack chain</h2>");
        alert_table(&mut b, &d.chain, &p, false);
        b.push_str("</div>");
    }
    let _ = write!(
        b,
        "<div class=\"panel\"><h2>Event (ECS JSON)</h2><pre class=\"json\">{}</pre></div>",
        E(&serde_json::to_string_pretty(&d.json).unwrap_or_default())
    );
    render(&c, &p, &a.rule_name, "/alerts", &b)
}

#[derive(Deserialize)]
pub struct TriageForm {
    #[serde(default)]
    assignee: String,
    #[serde(default)]
    back: String,
}

pub(crate) async fn triage(
    c: &Console,
    p: &Principal,
    ip: &str,
    id: &str,
    action: &'static str,
    assignee: Option<String>,
) -> Result<bool, ConsoleError> {
    let (id, user, ip) = (id.to_string(), p.user.clone(), ip.to_string());
    c.db()
        .run(move |conn| {
            let done = match action {
                "alert.ack" => data::acknowledge(conn, &id, &user, now_ns())?,
                "alert.reopen" => data::reopen(conn, &id)?,
                _ => data::assign(conn, &id, assignee.as_deref())?,
            };
            let detail = match (&assignee, action) {
                (Some(a), "alert.assign") => format!("{id} → {a}"),
                (None, "alert.assign") => format!("{id} → nobody"),
                _ => id.clone(),
            };
            auth::audit(
                conn,
                Some(&user),
                &ip,
                action,
                if done { "success" } else { "not_found" },
                &detail,
            )?;
            Ok(done)
        })
        .await
}

pub(crate) fn now_ns() -> i64 {
    auth::now().saturating_mul(1_000_000_000)
}

async fn triage_page(
    c: Console,
    p: Principal,
    ip: String,
    id: String,
    action: &'static str,
    f: TriageForm,
) -> Response {
    let assignee = Some(f.assignee.trim().to_string()).filter(|s| !s.is_empty());
    match triage(&c, &p, &ip, &id, action, assignee).await {
        Ok(true) => {
            let msg = match action {
                "alert.ack" => "Alert acknowledged.",
                "alert.reopen" => "Alert reopened.",
                _ => "Assignment saved.",
            };
            if f.back == "list" {
                Redirect::to(&format!("/alerts?msg={}", url(msg))).into_response()
            } else {
                Redirect::to(&format!("/alerts/{}?msg={}", url(&id), url(msg))).into_response()
            }
        }
        Ok(false) => not_found("alert"),
        Err(e) => fail(e),
    }
}

/// `POST /alerts/{id}/ack`.
pub async fn alert_ack(
    State(c): State<Console>,
    Extension(p): Extension<Principal>,
    Extension(ClientIp(ip)): Extension<ClientIp>,
    Path(id): Path<String>,
    Form(f): Form<TriageForm>,
) -> Response {
    triage_page(c, p, ip, id, "alert.ack", f).await
}

/// `POST /alerts/{id}/reopen`.
pub async fn alert_reopen(
    State(c): State<Console>,
    Extension(p): Extension<Principal>,
    Extension(ClientIp(ip)): Extension<ClientIp>,
    Path(id): Path<String>,
    Form(f): Form<TriageForm>,
) -> Response {
    triage_page(c, p, ip, id, "alert.reopen", f).await
}

/// `POST /alerts/{id}/assign`.
pub async fn alert_assign(
    State(c): State<Console>,
    Extension(p): Extension<Principal>,
    Extension(ClientIp(ip)): Extension<ClientIp>,
    Path(id): Path<String>,
    Form(f): Form<TriageForm>,
) -> Response {
    triage_page(c, p, ip, id, "alert.assign", f).await
}

// ---------------------------------------------------------------------------------------
// Flows
// ---------------------------------------------------------------------------------------

/// `GET /flows`: the zone × zone matrix, and the conversations.
pub async fn flows(
    State(c): State<Console>,
    Extension(p): Extension<Principal>,
    Query(q): Query<Params>,
) -> Response {
    let convs = match c.traffic().await {
        Ok(v) => v,
        Err(e) => return fail(e),
    };
    let m = data::matrix(c.site(), &convs);
    let mut b = String::with_capacity(64 * 1024);
    b.push_str("<h1>Flows <span class=\"sub\">zone × zone: what the policy allows against what was seen</span></h1>");
    b.push_str("<div class=\"panel\"><table class=\"matrix\" id=\"matrix\"><tr><th class=\"rowh\">from ↓ · to →</th>");
    for z in &m.zones {
        let _ = write!(
            b,
            "<th>{}<div class=\"muted\">{}</div></th>",
            E(&z.name),
            z.level.map(|l| format!("L{l}")).unwrap_or_default()
        );
    }
    b.push_str("</tr>");
    let mut allowed: BTreeMap<(usize, usize), Vec<&data::AllowedCell>> = BTreeMap::new();
    for a in &m.allowed {
        allowed.entry((a.from, a.to)).or_default().push(a);
    }
    let seen: BTreeMap<(usize, usize), &data::Seen> =
        m.seen.iter().map(|s| ((s.from, s.to), s)).collect();
    for (fi, fz) in m.zones.iter().enumerate() {
        let _ = write!(
            b,
            "<tr><th class=\"rowh\">{}<div class=\"muted\">{}</div></th>",
            E(&fz.name),
            fz.level.map(|l| format!("L{l}")).unwrap_or_default()
        );
        for ti in 0..m.zones.len() {
            let al = allowed.get(&(fi, ti));
            let se = seen.get(&(fi, ti));
            let class = if se.is_some_and(|s| s.violating_flows > 0) {
                "viol"
            } else if al.is_some() {
                "allowed"
            } else if fi == ti {
                "diag"
            } else {
                ""
            };
            let _ = write!(b, "<td class=\"{class}\">");
            if let Some(al) = al {
                for a in al {
                    let _ = write!(
                        b,
                        "<div title=\"conduit {}\"><span class=\"tag ok\">{}</span>{}</div>",
                        E(&a.conduit),
                        E(&a.protocols.join(", ")),
                        if a.requires_mfa {
                            " <span class=\"muted\">MFA</span>"
                        } else {
                            ""
                        }
                    );
                }
            } else if fi == ti {
                b.push_str("<div class=\"muted\">inside zone</div>");
            }
            if let Some(s) = se {
                b.push_str("<div class=\"cell-seen\">");
                for (proto, n) in &s.protocols {
                    let _ = write!(b, "<div>{} <b>{}</b></div>", E(proto), num(*n));
                }
                if s.violating_flows > 0 {
                    let _ = write!(
                        b,
                        "<div class=\"bad\">{} breaking</div>",
                        num(s.violating_flows)
                    );
                }
                b.push_str("</div>");
            }
            b.push_str("</td>");
        }
        b.push_str("</tr>");
    }
    b.push_str("</table><div class=\"legend\"><span><i class=\"i-ok\"></i>green tag: allowed by a conduit</span><span>numbers: flows seen per protocol</span><span><i class=\"i-bad\"></i>red cell: traffic that breaks the policy</span></div></div>");
    // Conversations.
    let only_bad = q.violations.is_some();
    let ipf = opt(&q.ip);
    let paging = q.paging();
    let list: Vec<&data::Conversation> = convs
        .iter()
        .filter(|c| !only_bad || c.judgement.violating())
        .filter(|c| {
            ipf.as_deref()
                .is_none_or(|ip| c.src_ip == ip || c.dst_ip == ip)
        })
        .collect();
    let total = list.len() as u64;
    let start = usize::try_from(paging.offset()).unwrap_or(usize::MAX);
    let _ = write!(
        b,
        "<div class=\"panel\"><h2>Conversations <span class=\"sub\">{} · policy-breaking first</span></h2>\
         <form class=\"filters\" method=\"get\" action=\"/flows\"><input name=\"ip\" placeholder=\"Address\" value=\"{}\" size=\"16\">\
         <label><input type=\"checkbox\" name=\"violations\" value=\"1\"{} data-autosubmit> Only policy violations</label><button type=\"submit\" class=\"secondary\">Filter</button></form>",
        num(total),
        E(ipf.as_deref().unwrap_or("")),
        if only_bad { " checked" } else { "" }
    );
    b.push_str("<table id=\"conversations\"><tr><th>Client</th><th>Server</th><th>Protocol</th><th>Verdict</th><th class=\"num\">Flows</th><th class=\"num\">Bytes</th><th>Last (UTC)</th></tr>");
    for cv in list.iter().skip(start).take(paging.per_page as usize) {
        let verdict = if cv.judgement.violating() {
            kinds_tags(
                &cv.judgement
                    .breaches
                    .iter()
                    .map(|b| b.kind.clone())
                    .collect::<Vec<_>>(),
            )
        } else {
            match &cv.judgement.conduit {
                Some(cn) => format!("<span class=\"tag ok\">{}</span>", esc(cn)),
                None => "<span class=\"muted\">inside zone</span>".into(),
            }
        };
        let _ = write!(
            b,
            "<tr><td>{}<div class=\"muted\">{}</div></td><td>{}<div class=\"muted\">{}</div></td><td><a href=\"/flows/{}\">{}</a></td><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"mono\">{}</td></tr>",
            ip_link(Some(&cv.src_ip)),
            E(&cv.from_zone),
            ip_link(Some(&cv.dst_ip)),
            E(&cv.to_zone),
            url(&cv.sample_flow),
            E(&cv.label()),
            verdict,
            num(cv.flows),
            bytes(cv.bytes),
            ts(cv.last_ts)
        );
    }
    b.push_str("</table>");
    let base = format!(
        "/flows{}",
        qs(&[
            ("ip", ipf.as_deref()),
            ("violations", only_bad.then_some("1"))
        ])
    );
    let more = (start + paging.per_page as usize) < list.len();
    b.push_str(&pager(
        &base,
        paging.page,
        more,
        Some(total),
        paging.per_page,
    ));
    b.push_str("</div>");
    render(&c, &p, "Flows", "/flows", &b)
}

/// `GET /flows/{id}`.
pub async fn flow(
    State(c): State<Console>,
    Extension(p): Extension<Principal>,
    Path(id): Path<String>,
) -> Response {
    let c2 = c.clone();
    let r = c
        .db()
        .run(move |conn| data::flow(conn, c2.site(), &id))
        .await;
    let d = match r {
        Ok(Some(d)) => d,
        Ok(None) => return not_found("flow"),
        Err(e) => return fail(e),
    };
    let f = &d.flow;
    let mut b = String::with_capacity(32 * 1024);
    let _ = write!(
        b,
        "<h1>Flow <span class=\"sub mono\">{}</span></h1>",
        E(&f.id)
    );
    b.push_str("<div class=\"grid g2\"><div class=\"panel\"><dl class=\"kv\">");
    let _ = write!(
        b,
        "<dt>Client</dt><dd>{}:{} <span class=\"muted\">{}</span></dd><dt>Server</dt><dd>{}:{} <span class=\"muted\">{}</span></dd>\
         <dt>Protocol</dt><dd>{} / {}</dd><dt>Start</dt><dd>{} UTC</dd><dt>End</dt><dd>{} UTC ({})</dd>\
         <dt>Packets</dt><dd>{}</dd><dt>Bytes</dt><dd>{}</dd><dt>End reason</dt><dd>{}</dd></dl></div>",
        ip_link(f.src_ip.as_deref()),
        f.src_port.unwrap_or(0),
        E(&d.from_zone),
        ip_link(f.dst_ip.as_deref()),
        f.dst_port.unwrap_or(0),
        E(&d.to_zone),
        E(f.protocol.as_deref().unwrap_or("unidentified")),
        E(f.transport.as_deref().unwrap_or("")),
        ts(f.ts),
        ts(f.end_ts),
        html::duration_ns(f.end_ts.saturating_sub(f.ts)),
        num(u64::try_from(f.packets).unwrap_or(0)),
        bytes(u64::try_from(f.bytes).unwrap_or(0)),
        E(f.end_reason.as_deref().unwrap_or(""))
    );
    b.push_str("<div class=\"panel\" id=\"verdict\"><h2>Policy</h2>");
    if c.site().policy().is_none() {
        b.push_str("<p class=\"muted\">No policy loaded.</p>");
    } else if d.judgement.violating() {
        b.push_str("<ul>");
        for br in &d.judgement.breaches {
            let _ = write!(
                b,
                "<li><span class=\"tag bad\">{}</span> {}{}</li>",
                E(&br.kind),
                E(&br.explanation),
                br.conduit
                    .as_deref()
                    .map(|c| format!(" <span class=\"muted\">(conduit {})</span>", esc(c)))
                    .unwrap_or_default()
            );
        }
        b.push_str("</ul>");
    } else {
        let _ = write!(
            b,
            "<p class=\"ok\">Allowed{}</p>",
            match (&d.judgement.conduit, &d.judgement.exception) {
                (_, Some(x)) => format!(" by an exception: {}", esc(x)),
                (Some(cn), None) => format!(" by conduit {}", esc(cn)),
                (None, None) => " (inside one zone)".into(),
            }
        );
    }
    if !d.alerts.is_empty() {
        b.push_str("<h2>Alerts citing this flow</h2>");
        alert_table(&mut b, &d.alerts, &p, false);
    }
    b.push_str("</div></div><div class=\"panel\"><h2>Transactions</h2>");
    event_table(&mut b, &d.events);
    let _ = write!(
        b,
        "</div><div class=\"panel\"><h2>Flow record (ECS JSON)</h2><pre class=\"json\">{}</pre></div>",
        E(&serde_json::to_string_pretty(&d.json).unwrap_or_default())
    );
    render(&c, &p, "Flow", "/flows", &b)
}

/// `GET /events/{id}`.
pub async fn event(
    State(c): State<Console>,
    Extension(p): Extension<Principal>,
    Path(id): Path<String>,
) -> Response {
    let r = c.db().run(move |conn| data::event(conn, &id)).await;
    let d = match r {
        Ok(Some(d)) => d,
        Ok(None) => return not_found("event"),
        Err(e) => return fail(e),
    };
    let e = &d.summary;
    let mut b = String::new();
    let _ = write!(
        b,
        "<h1>{} {} <span class=\"sub mono\">{}</span></h1><div class=\"panel\"><dl class=\"kv\">\
         <dt>Time</dt><dd>{} UTC</dd><dt>Dataset</dt><dd>{}</dd><dt>From</dt><dd>{}</dd><dt>To</dt><dd>{}</dd><dt>Flow</dt><dd>{}</dd></dl></div>\
         <div class=\"panel\"><h2>Event (ECS JSON)</h2><pre class=\"json\">{}</pre></div>",
        E(e.protocol.as_deref().unwrap_or(&e.dataset)),
        E(e.function.as_deref().unwrap_or("")),
        E(&e.id),
        ts(e.ts),
        E(&e.dataset),
        ip_link(e.src_ip.as_deref()),
        ip_link(e.dst_ip.as_deref()),
        d.flow
            .as_deref()
            .map(|f| format!("<a class=\"mono\" href=\"/flows/{}\">{}</a>", url(f), esc(f)))
            .unwrap_or_else(|| "–".into()),
        E(&serde_json::to_string_pretty(&d.json).unwrap_or_default())
    );
    render(&c, &p, "Event", "/flows", &b)
}

// ---------------------------------------------------------------------------------------
// Compliance
// ---------------------------------------------------------------------------------------

/// Query of the compliance page.
#[derive(Deserialize, Default, Debug)]
pub struct ComplianceParams {
    id: Option<String>,
}

fn status_tag(status: &str) -> String {
    let cls = match status {
        "satisfied" => "tag ok",
        "not-satisfied" => "tag bad",
        _ => "tag",
    };
    format!(
        "<span class=\"{cls}\">{}</span>",
        E(&status.replace('-', " "))
    )
}

/// `SL n` or a dash.
fn sl(v: Option<u8>) -> String {
    v.map_or_else(
        || "<span class=\"muted\">–</span>".to_string(),
        |x| format!("SL {x}"),
    )
}

/// `GET /compliance[?id=N]`: the newest (or chosen) assessment and the trend.
pub async fn compliance(
    State(c): State<Console>,
    Extension(p): Extension<Principal>,
    Query(q): Query<ComplianceParams>,
) -> Response {
    let want = q.id.as_deref().and_then(|s| s.trim().parse::<i64>().ok());
    let r = c
        .db()
        .run(move |conn| {
            let mut v = data::compliance(conn, want)?;
            let missing = want.is_some() && v.latest.is_none() && !v.trend.is_empty();
            if missing {
                v = data::compliance(conn, None)?;
            }
            Ok((v, missing))
        })
        .await;
    let (v, missing) = match r {
        Ok(x) => x,
        Err(e) => return fail(e),
    };
    let mut b = String::with_capacity(32 * 1024);
    let _ = write!(
        b,
        "<h1>Compliance <span class=\"sub\">{}</span></h1>",
        E(c.site().name())
    );
    let Some(s) = &v.latest else {
        let db = c.db().path().display().to_string();
        let _ = write!(
            b,
            "<div class=\"panel\" id=\"compliance-empty\"><h2>No assessment yet</h2>\
             <p>{}</p><p>Run <code>sluice assess --db {}</code> (add <code>--config sluice.toml</code> \
             for the zones' security-level targets and <code>--answers FILE</code> for the questionnaire); \
             every assessment is kept in the store and appears here, with the trend over time.</p></div>",
            if v.tables {
                "This store holds no governance assessment."
            } else {
                "This store has no assessment tables (it was written by an older Sluice)."
            },
            E(&db)
        );
        return render(&c, &p, "Compliance", "/compliance", &b);
    };
    if missing {
        b.push_str(
            "<p class=\"notice\">There is no such assessment in this store; showing the newest.</p>",
        );
    }
    let newest = v.trend.last().is_some_and(|t| t.id == s.id);
    let k = &s.counts;
    let _ = write!(
        b,
        "<div class=\"panel\" id=\"compliance-summary\" data-id=\"{id}\"><h2>{which} assessment #{id} \
         <span class=\"sub\">{created} · {fws}{site}</span></h2>\
         <div class=\"grid g4\">\
         <div class=\"panel kpi\"><div class=\"l\">Satisfied</div><div class=\"v ok\" id=\"count-satisfied\">{}</div><div class=\"d\">{}% of {} controls</div></div>\
         <div class=\"panel kpi\"><div class=\"l\">Partial</div><div class=\"v\" id=\"count-partial\">{}</div><div class=\"d\">partly met</div></div>\
         <div class=\"panel kpi{}\"><div class=\"l\">Not satisfied</div><div class=\"v\" id=\"count-not-satisfied\">{}</div><div class=\"d\">{} gaps · {} roadmap steps</div></div>\
         <div class=\"panel kpi\"><div class=\"l\">Not assessed</div><div class=\"v\" id=\"count-not-assessed\">{}</div><div class=\"d\">no evidence and no answer{}</div></div>\
         </div>",
        num(k.satisfied),
        s.satisfied_pct,
        num(k.total),
        num(k.partial),
        if k.not_satisfied > 0 { " alarm" } else { "" },
        num(k.not_satisfied),
        num(s.gaps),
        num(s.roadmap_steps),
        num(k.not_assessed),
        if k.not_applicable > 0 {
            format!(" · {} not applicable", num(k.not_applicable))
        } else {
            String::new()
        },
        id = s.id,
        which = if newest { "Latest" } else { "Earlier" },
        created = E(&s.created),
        fws = E(&s.frameworks.join(", ")),
        site = s
            .site
            .as_deref()
            .map(|x| format!(" · {}", esc(x)))
            .unwrap_or_default(),
    );
    if !s.coverage.is_empty() {
        b.push_str(
            "<table id=\"coverage\"><tr><th>Framework</th><th class=\"num\">Controls</th><th class=\"num\">Assessed</th>\
             <th class=\"num\">Satisfied</th><th class=\"num\">Partial</th><th class=\"num\">Not satisfied</th><th class=\"num\">Score</th></tr>",
        );
        for f in &s.coverage {
            let _ = write!(
                b,
                "<tr data-framework=\"{}\"><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td>\
                 <td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{:.1}%</td></tr>",
                E(&f.framework),
                E(if f.name.is_empty() { &f.framework } else { &f.name }),
                num(f.total),
                num(f.assessed),
                num(f.satisfied),
                num(f.partial),
                num(f.not_satisfied),
                f.score
            );
        }
        b.push_str("</table>");
    }
    b.push_str("</div>");
    // IEC 62443 and CSF side by side.
    b.push_str("<div class=\"grid g2\"><div class=\"panel\"><h2>IEC 62443-3-3: security level achieved vs target per zone</h2>");
    if s.iec62443.is_empty() {
        b.push_str(
            "<p class=\"muted\">IEC 62443 was not assessed (or its catalogue was not loaded).</p>",
        );
    } else {
        let mut frs: Vec<&str> = Vec::new();
        for z in &s.iec62443 {
            for f in &z.frs {
                if !frs.contains(&f.fr.as_str()) {
                    frs.push(&f.fr);
                }
            }
        }
        b.push_str("<table id=\"sl-table\"><tr><th>Zone</th><th>SL-T</th><th>SL-A</th>");
        for f in &frs {
            let _ = write!(b, "<th class=\"num\">{}</th>", E(f));
        }
        b.push_str("</tr>");
        for z in &s.iec62443 {
            let below = z.sl_target.is_some_and(|t| z.sl_achieved < t);
            let _ = write!(
                b,
                "<tr data-zone=\"{}\" data-sl-t=\"{}\" data-sl-a=\"{}\"><td>{}</td><td>{}</td><td class=\"{}\">SL {}</td>",
                E(&z.zone),
                z.sl_target.map(|t| t.to_string()).unwrap_or_default(),
                z.sl_achieved,
                E(&z.zone),
                sl(z.sl_target),
                if below { "bad" } else if z.sl_target.is_some() { "ok" } else { "" },
                z.sl_achieved
            );
            for f in &frs {
                match z.frs.iter().find(|x| x.fr == *f) {
                    Some(x) => {
                        let low = z.sl_target.is_some_and(|t| x.sl_achieved < t);
                        let _ = write!(
                            b,
                            "<td class=\"num{}\" title=\"{}: achieved {}, possible {}\">{}</td>",
                            if low { " bad" } else { "" },
                            E(x.title.as_deref().unwrap_or(&x.fr)),
                            x.sl_achieved,
                            x.sl_possible,
                            x.sl_achieved
                        );
                    }
                    None => b.push_str("<td class=\"num muted\">–</td>"),
                }
            }
            b.push_str("</tr>");
        }
        b.push_str("</table><p class=\"muted\">SL-A per foundational requirement counts unassessed requirements as unmet; red: below the zone's target.</p>");
    }
    b.push_str("</div><div class=\"panel\"><h2>NIST CSF 2.0: tier per function</h2>");
    if s.csf.is_empty() {
        b.push_str(
            "<p class=\"muted\">CSF was not assessed (or its catalogue was not loaded).</p>",
        );
    } else {
        b.push_str("<table id=\"csf-table\"><tr><th>Function</th><th>Tier</th><th class=\"num\">Met</th><th class=\"num\">Partial</th><th class=\"num\">Outcomes</th><th class=\"num\">Score</th></tr>");
        for f in &s.csf {
            let _ = write!(
                b,
                "<tr data-function=\"{}\" data-tier=\"{}\"><td><b>{}</b> <span class=\"muted\">{}</span></td><td>{} <span class=\"muted\">{}</span></td>\
                 <td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{:.1}%</td></tr>",
                E(&f.function),
                f.tier,
                E(&f.function),
                E(f.title.as_deref().unwrap_or("")),
                f.tier,
                E(&f.tier_name),
                num(f.met),
                num(f.partial),
                num(f.outcomes),
                f.score
            );
        }
        b.push_str("</table>");
    }
    b.push_str("</div></div>");
    // Roadmap.
    let _ = write!(
        b,
        "<div class=\"panel\"><h2>Top gaps on the roadmap <span class=\"sub\">the first {} of {} steps</span></h2>",
        s.top_gaps.len(),
        num(s.roadmap_steps)
    );
    if s.top_gaps.is_empty() {
        b.push_str("<p class=\"ok\">No failing check: the roadmap is empty.</p>");
    } else {
        b.push_str("<table id=\"top-gaps\"><tr><th>Phase</th><th>Check</th><th>Status</th><th class=\"num\">Risk</th><th class=\"num\">Effort</th><th>Who</th><th>Controls</th><th>What to do</th></tr>");
        for g in &s.top_gaps {
            let shown: String = g
                .controls
                .iter()
                .take(4)
                .map(|k| format!("<span class=\"tag\">{}</span>", E(k)))
                .collect();
            let more = g.controls.len().saturating_sub(4);
            let _ = write!(
                b,
                "<tr data-check=\"{}\"><td>{}</td><td><b>{}</b><div class=\"muted mono\">{}</div></td><td>{}</td>\
                 <td class=\"num\">{}</td><td class=\"num\">{}</td><td>{}</td><td>{}{}</td><td>{}</td></tr>",
                E(&g.check),
                E(&g.phase),
                E(&g.title),
                E(&g.check),
                status_tag(&g.status),
                g.risk,
                g.effort,
                E(g.role.as_deref().unwrap_or("")),
                shown,
                if more > 0 {
                    format!(" <span class=\"muted\">+{more}</span>")
                } else {
                    String::new()
                },
                E(&g.remediation)
            );
        }
        b.push_str("</table>");
    }
    b.push_str("</div>");
    // Trend and list.
    let _ = write!(
        b,
        "<div class=\"grid g21\"><div class=\"panel chart\"><h2>Share of controls satisfied <span class=\"sub\">{} assessments</span></h2>{}</div>",
        num(v.trend.len() as u64),
        svg::compliance_trend(&v.trend)
    );
    b.push_str("<div class=\"panel\"><h2>Stored assessments</h2><table id=\"assessments\"><tr><th>#</th><th>When</th><th>Frameworks</th><th class=\"num\">Satisfied</th><th class=\"num\">Partial</th><th class=\"num\">Not sat.</th><th class=\"num\">Controls</th><th></th></tr>");
    for t in v.trend.iter().rev() {
        let on = if t.id == s.id { " class=\"on\"" } else { "" };
        let _ = write!(
            b,
            "<tr{on} data-id=\"{id}\"><td><a href=\"/compliance?id={id}\">{id}</a></td><td class=\"mono\">{}</td><td>{}</td>\
             <td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td>\
             <td><a href=\"/api/compliance/{id}\">JSON</a></td></tr>",
            E(&ts(t.created_ns)),
            E(&t.frameworks.join(", ")),
            num(t.satisfied),
            num(t.partial),
            num(t.not_satisfied),
            num(t.total),
            id = t.id
        );
    }
    b.push_str("</table></div></div>");
    if !s.notes.is_empty() {
        b.push_str("<div class=\"panel\"><h2>Caveats</h2><ul class=\"muted\">");
        for n in &s.notes {
            let _ = write!(b, "<li>{}</li>", E(n));
        }
        b.push_str("</ul></div>");
    }
    render(&c, &p, "Compliance", "/compliance", &b)
}

// ---------------------------------------------------------------------------------------
// Policy
// ---------------------------------------------------------------------------------------

/// `GET /policy`.
pub async fn policy(State(c): State<Console>, Extension(p): Extension<Principal>) -> Response {
    let convs = match c.traffic().await {
        Ok(v) => v,
        Err(e) => return fail(e),
    };
    let c2 = c.clone();
    let r = c
        .db()
        .run(move |conn| data::policy_view(conn, c2.site(), &convs))
        .await;
    let v = match r {
        Ok(v) => v,
        Err(e) => return fail(e),
    };
    let mut b = String::with_capacity(32 * 1024);
    let _ = write!(
        b,
        "<h1>Policy <span class=\"sub\">{}{}</span></h1>",
        E(&v.site),
        v.origin
            .as_deref()
            .map(|o| format!(" · {}", esc(o)))
            .unwrap_or_default()
    );
    if !v.loaded {
        b.push_str("<div class=\"notice\">No policy loaded. Start the console with <code>--config sluice.toml</code> (zones, conduits, envelopes: see DESIGN.md) to judge traffic.</div>");
    }
    b.push_str("<div class=\"grid g2\"><div class=\"panel\"><h2>Zones</h2><table id=\"zones\"><tr><th>Zone</th><th>Level</th><th>Networks</th><th>SL-T</th><th class=\"num\">Assets</th></tr>");
    for (z, n) in &v.zones {
        let _ = write!(
            b,
            "<tr><td><a href=\"/assets?zone={}\">{}</a>{}</td><td>{}</td><td class=\"mono\">{}</td><td>{}</td><td class=\"num\">{}</td></tr>",
            url(&z.name),
            E(&z.name),
            if z.external { " <span class=\"muted\">(implicit)</span>" } else { "" },
            z.level.map(|l| l.to_string()).unwrap_or_default(),
            E(&if z.external { "everything else".to_string() } else { z.cidrs.join(", ") }),
            z.security_level_target.map(|s| format!("SL {s}")).unwrap_or_default(),
            num(*n)
        );
    }
    b.push_str("</table></div><div class=\"panel\"><h2>Envelopes</h2>");
    if v.envelopes.is_empty() {
        b.push_str("<p class=\"muted\">None.</p>");
    } else {
        b.push_str("<table><tr><th>Device</th><th>Unit</th><th>Registers</th><th>Min</th><th>Max</th><th>Max step</th></tr>");
        for e in &v.envelopes {
            let g = |k: &str| match e.get(k) {
                Some(Value::Null) | None => String::new(),
                Some(Value::String(s)) => s.clone(),
                Some(x) => x.to_string(),
            };
            let _ = write!(
                b,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                ip_link(Some(&g("device"))),
                E(&g("unit")),
                E(&g("registers")),
                E(&g("min")),
                E(&g("max")),
                E(&g("max_step"))
            );
        }
        b.push_str("</table>");
    }
    b.push_str("</div></div><div class=\"panel\"><h2>Conduits</h2><table id=\"conduits\"><tr><th>Conduit</th><th>From → to</th><th>Protocols</th><th>Access</th><th>Hosts</th><th class=\"num\">Allowed flows</th><th class=\"num\">Violations</th></tr>");
    for cv in &v.conduits {
        let hosts = [
            cv.clients
                .as_ref()
                .map(|c| format!("clients {}", c.join(", "))),
            cv.servers
                .as_ref()
                .map(|s| format!("servers {}", s.join(", "))),
        ]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join("; ");
        let _ = write!(
            b,
            "<tr><td><b>{}</b>{}</td><td>{} → {}</td><td>{}</td><td>{}{}</td><td class=\"mono\">{}</td><td class=\"num\">{}</td><td class=\"num{}\">{}</td></tr>",
            E(&cv.name),
            cv.description
                .as_deref()
                .map(|d| format!("<div class=\"muted\">{}</div>", esc(d)))
                .unwrap_or_default(),
            E(&cv.from),
            E(&cv.to.join(", ")),
            cv.protocols
                .iter()
                .map(|p| format!("<span class=\"tag\">{}</span>", esc(p)))
                .collect::<String>(),
            E(&cv.access),
            if cv.requires_mfa { " · MFA" } else { "" },
            E(&hosts),
            num(cv.allowed_flows),
            if cv.violating_flows > 0 { " bad" } else { "" },
            num(cv.violating_flows)
        );
        for viol in &cv.violations {
            violation_row(&mut b, viol, 7);
        }
    }
    b.push_str(
        "</table></div><div class=\"panel\"><h2>Violations no conduit comes close to allowing</h2>",
    );
    if v.unmatched.is_empty() {
        b.push_str("<p class=\"muted\">None.</p>");
    } else {
        b.push_str("<table id=\"unmatched\">");
        for viol in &v.unmatched {
            violation_row(&mut b, viol, 1);
        }
        b.push_str("</table>");
    }
    b.push_str("</div>");
    render(&c, &p, "Policy", "/policy", &b)
}

fn violation_row(b: &mut String, v: &data::ViolationView, span: usize) {
    let _ = write!(
        b,
        "<tr class=\"viol-row\"><td colspan=\"{span}\">{} {} → {} <span class=\"muted\">({} → {})</span> · <a href=\"/flows/{}\">{}</a> · {} flows<div class=\"muted\">{}</div></td></tr>",
        kinds_tags(&v.kinds),
        ip_link(Some(&v.src_ip)),
        ip_link(Some(&v.dst_ip)),
        E(&v.from_zone),
        E(&v.to_zone),
        url(&v.sample_flow),
        E(&v.label),
        num(v.flows),
        E(&v.explanation)
    );
}

// ---------------------------------------------------------------------------------------
// Administration
// ---------------------------------------------------------------------------------------

/// `GET /admin/users`.
pub async fn users(
    State(c): State<Console>,
    Extension(p): Extension<Principal>,
    Query(q): Query<Params>,
) -> Response {
    users_page(&c, &p, opt(&q.msg).as_deref(), None).await
}

async fn users_page(
    c: &Console,
    p: &Principal,
    msg: Option<&str>,
    extra: Option<String>,
) -> Response {
    let list = match c.db().run(auth::list_users).await {
        Ok(l) => l,
        Err(e) => return fail(e),
    };
    let mut b = String::with_capacity(16 * 1024);
    b.push_str("<h1>Users</h1>");
    if let Some(m) = msg {
        let _ = write!(b, "<div class=\"success\">{}</div>", E(m));
    }
    if let Some(x) = extra {
        b.push_str(&x);
    }
    b.push_str("<div class=\"panel\"><table id=\"users\"><tr><th>User</th><th>Role</th><th>MFA</th><th>State</th><th>Last sign-in</th><th>Actions</th></tr>");
    let roles: Vec<(String, String)> = ["viewer", "analyst", "admin"]
        .iter()
        .map(|r| (r.to_string(), r.to_string()))
        .collect();
    for u in &list {
        let state = if u.disabled {
            "<span class=\"bad\">disabled</span>".to_string()
        } else if let Some(t) = u.locked_until {
            format!(
                "<span class=\"bad\">locked until {}</span>",
                ts(t.saturating_mul(1_000_000_000))
            )
        } else {
            "<span class=\"ok\">active</span>".into()
        };
        let action = |a: &str, label: &str, confirm: Option<&str>| {
            format!(
                "<form method=\"post\" action=\"/admin/users/{}\" class=\"inline\"{}>{}<input type=\"hidden\" name=\"action\" value=\"{a}\"><button class=\"secondary\" type=\"submit\">{label}</button></form>",
                url(&u.name),
                confirm
                    .map(|c| format!(" data-confirm=\"{}\"", esc(c)))
                    .unwrap_or_default(),
                csrf_field(&p.csrf)
            )
        };
        let _ = write!(
            b,
            "<tr><td><b>{}</b></td><td><form method=\"post\" action=\"/admin/users/{}\" class=\"inline\">{}<input type=\"hidden\" name=\"action\" value=\"role\">{}<button class=\"secondary\" type=\"submit\">Set</button></form></td><td>{}</td><td>{}</td><td>{}</td><td>{} {} {} {} {}</td></tr>",
            E(&u.name),
            url(&u.name),
            csrf_field(&p.csrf),
            select("role", Some(u.role.as_str()), &roles, false),
            if u.mfa_enrolled { "<span class=\"ok\">enrolled</span>" } else { "<span class=\"muted\">pending</span>" },
            state,
            u.last_login.map(|t| ts(t.saturating_mul(1_000_000_000))).unwrap_or_else(|| "never".into()),
            if u.disabled { action("enable", "Enable", None) } else { action("disable", "Disable", Some("Disable this user?")) },
            if u.locked_until.is_some() { action("unlock", "Unlock", None) } else { String::new() },
            action("reset-mfa", "Reset MFA", Some("Give this user a new authenticator secret?")),
            action("token", "New API token", None),
            action("delete", "Delete", Some("Delete this user?")),
        );
    }
    let _ = write!(
        b,
        "</table></div><div class=\"panel\"><h2>Add a user</h2><form method=\"post\" action=\"/admin/users\" class=\"filters\" id=\"add-user\">{}\
         <input name=\"name\" placeholder=\"User name\" required><label>Role {}</label>\
         <input name=\"password\" type=\"password\" placeholder=\"Initial password (8+ characters)\" autocomplete=\"new-password\" required>\
         <button type=\"submit\">Add</button></form><p class=\"muted\">The new user enrols an authenticator at first sign-in.</p></div>",
        csrf_field(&p.csrf),
        select("role", Some("viewer"), &roles, false)
    );
    render(c, p, "Users", "/admin/users", &b)
}

#[derive(Deserialize)]
pub struct AddUserForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    role: String,
    #[serde(default)]
    password: String,
}

/// `POST /admin/users`.
pub async fn user_add(
    State(c): State<Console>,
    Extension(p): Extension<Principal>,
    Extension(ClientIp(ip)): Extension<ClientIp>,
    Form(f): Form<AddUserForm>,
) -> Response {
    let (admin, ip2) = (p.user.clone(), ip.clone());
    let name = f.name.trim().to_string();
    let r = c
        .db()
        .run(move |conn| {
            let role = Role::parse(&f.role)?;
            let r = auth::add_user(conn, &name, role, &f.password);
            auth::audit(
                conn,
                Some(&admin),
                &ip2,
                "user.add",
                if r.is_ok() { "success" } else { "failure" },
                &format!("{name} ({role})"),
            )?;
            r
        })
        .await;
    match r {
        Ok(en) => {
            let extra = format!(
                "<div class=\"panel\"><h2>Enrolment for {}</h2><p>Give the user this link or QR code once; they can also enrol at first sign-in.</p><div class=\"grid g2\"><div class=\"qr\">{}</div><p class=\"uri\">{}</p></div></div>",
                E(&en.user),
                svg::qr(&en.uri).unwrap_or_default(),
                E(&en.uri)
            );
            users_page(&c, &p, Some("User added."), Some(extra)).await
        }
        Err(
            e @ (ConsoleError::UserExists(_)
            | ConsoleError::BadUserName(_)
            | ConsoleError::BadRole(_)
            | ConsoleError::WeakPassword { .. }),
        ) => {
            users_page(
                &c,
                &p,
                None,
                Some(format!("<div class=\"error\">{}</div>", E(&e.to_string()))),
            )
            .await
        }
        Err(e) => fail(e),
    }
}

#[derive(Deserialize)]
pub struct ChangeUserForm {
    #[serde(default)]
    action: String,
    #[serde(default)]
    role: String,
}

/// `POST /admin/users/{name}`: role, disable, enable, unlock, reset-mfa, token, delete.
pub async fn user_change(
    State(c): State<Console>,
    Extension(p): Extension<Principal>,
    Extension(ClientIp(ip)): Extension<ClientIp>,
    Path(name): Path<String>,
    Form(f): Form<ChangeUserForm>,
) -> Response {
    if name == p.user && matches!(f.action.as_str(), "disable" | "delete" | "role") {
        return users_page(
            &c,
            &p,
            None,
            Some("<div class=\"error\">You cannot disable, delete or change the role of your own account.</div>".into()),
        )
        .await;
    }
    let admin = p.user.clone();
    let n2 = name.clone();
    let r = c
        .db()
        .run(move |conn| {
            let action = f.action.as_str();
            let out: Result<Option<String>, ConsoleError> = match action {
                "role" => Role::parse(&f.role)
                    .and_then(|r| auth::set_role(conn, &n2, r))
                    .map(|_| None),
                "disable" => auth::set_disabled(conn, &n2, true).map(|_| None),
                "enable" => auth::set_disabled(conn, &n2, false).map(|_| None),
                "unlock" => auth::unlock(conn, &n2).map(|_| None),
                "reset-mfa" => auth::reset_mfa(conn, &n2).map(|e| Some(e.uri)),
                "token" => auth::create_token(conn, &n2, Some("console")).map(Some),
                "delete" => auth::delete_user(conn, &n2).map(|_| None),
                other => Err(ConsoleError::BadRequest(format!(
                    "unknown action {other:?}"
                ))),
            };
            auth::audit(
                conn,
                Some(&admin),
                &ip,
                &format!("user.{action}"),
                if out.is_ok() { "success" } else { "failure" },
                &if action == "role" {
                    format!("{n2} → {}", f.role)
                } else {
                    n2.clone()
                },
            )?;
            Ok((action.to_string(), out))
        })
        .await;
    match r {
        Ok((action, Ok(secret))) => {
            let extra = match (action.as_str(), secret) {
                ("token", Some(t)) => Some(format!(
                    "<div class=\"panel\"><h2>API token for {}</h2><p>Copy it now; it is not shown again.</p><pre class=\"json\" id=\"new-token\">{}</pre><p class=\"muted\">Use it as <code>Authorization: Bearer TOKEN</code>.</p></div>",
                    E(&name),
                    E(&t)
                )),
                ("reset-mfa", Some(uri)) => Some(format!(
                    "<div class=\"panel\"><h2>New enrolment for {}</h2><div class=\"grid g2\"><div class=\"qr\">{}</div><p class=\"uri\">{}</p></div></div>",
                    E(&name),
                    svg::qr(&uri).unwrap_or_default(),
                    E(&uri)
                )),
                _ => None,
            };
            users_page(&c, &p, Some("Saved."), extra).await
        }
        Ok((_, Err(e))) => {
            users_page(
                &c,
                &p,
                None,
                Some(format!("<div class=\"error\">{}</div>", E(&e.to_string()))),
            )
            .await
        }
        Err(e) => fail(e),
    }
}

/// `GET /admin/audit`.
pub async fn audit(
    State(c): State<Console>,
    Extension(p): Extension<Principal>,
    Query(q): Query<Params>,
) -> Response {
    let paging = q.paging();
    let r = c
        .db()
        .run(move |conn| auth::audit_log(conn, paging.fetch(), paging.offset()))
        .await;
    let mut rows = match r {
        Ok(r) => r,
        Err(e) => return fail(e),
    };
    let more = rows.len() > paging.per_page as usize;
    rows.truncate(paging.per_page as usize);
    let mut b = String::from("<h1>Audit log</h1><div class=\"panel\"><table id=\"audit\"><tr><th>Time (UTC)</th><th>User</th><th>Address</th><th>Action</th><th>Outcome</th><th>Detail</th></tr>");
    for a in &rows {
        let cls = match a.outcome.as_str() {
            "success" | "password_ok" => "ok",
            _ => "bad",
        };
        let _ = write!(
            b,
            "<tr><td class=\"mono\">{}</td><td>{}</td><td class=\"mono\">{}</td><td>{}</td><td class=\"{cls}\">{}</td><td>{}</td></tr>",
            ts(a.ts.saturating_mul(1_000_000_000)),
            E(a.user.as_deref().unwrap_or("")),
            E(a.ip.as_deref().unwrap_or("")),
            E(&a.action),
            E(&a.outcome),
            E(a.detail.as_deref().unwrap_or(""))
        );
    }
    b.push_str("</table>");
    b.push_str(&pager(
        "/admin/audit",
        paging.page,
        more,
        None,
        paging.per_page,
    ));
    b.push_str("</div>");
    render(&c, &p, "Audit log", "/admin/audit", &b)
}
