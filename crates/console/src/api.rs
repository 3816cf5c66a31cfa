//! The JSON API: everything the pages show, paginated (`page`, `per_page` ≤ 500, answers
//! carry `has_more`), behind the same authentication (session cookie with `X-CSRF-Token` on
//! POST, or `Authorization: Bearer` token). Described by [`openapi_document`].
use crate::auth::{self, Role};
use crate::data::{self, AlertFilter, AssetFilter, EventFilter, FlowFilter, Paging};
use crate::svg::MapFilter;
use crate::{json_error, ClientIp, Console, ConsoleError, Principal};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use serde::Deserialize;
use serde_json::{json, Value};

fn fail(e: ConsoleError) -> Response {
    match e {
        ConsoleError::NotFound => json_error(StatusCode::NOT_FOUND, "not found"),
        ConsoleError::BadRequest(m) => json_error(StatusCode::BAD_REQUEST, &m),
        e @ (ConsoleError::UserExists(_)
        | ConsoleError::BadUserName(_)
        | ConsoleError::BadRole(_)
        | ConsoleError::WeakPassword { .. }
        | ConsoleError::NoSuchUser(_)) => json_error(StatusCode::BAD_REQUEST, &e.to_string()),
        e => {
            tracing::error!("api: {e}");
            json_error(StatusCode::INTERNAL_SERVER_ERROR, "internal error")
        }
    }
}

fn found<T: serde::Serialize>(r: Result<Option<T>, ConsoleError>, what: &str) -> Response {
    match r {
        Ok(Some(v)) => Json(v).into_response(),
        Ok(None) => json_error(StatusCode::NOT_FOUND, &format!("no such {what}")),
        Err(e) => fail(e),
    }
}

fn ok<T: serde::Serialize>(r: Result<T, ConsoleError>) -> Response {
    match r {
        Ok(v) => Json(v).into_response(),
        Err(e) => fail(e),
    }
}

/// Query parameters of the lists (all optional).
#[derive(Deserialize, Default, Debug)]
pub struct ApiParams {
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
    chain: Option<String>,
    protocol: Option<String>,
    dataset: Option<String>,
    flow: Option<String>,
    violations: Option<String>,
    conduits: Option<String>,
}

fn opt(s: &Option<String>) -> Option<String> {
    s.as_deref()
        .map(str::trim)
        .filter(|x| !x.is_empty())
        .map(str::to_owned)
}

fn truthy(s: &Option<String>) -> Option<bool> {
    s.as_deref()
        .map(|v| !matches!(v, "0" | "false" | "no" | "off"))
}

impl ApiParams {
    fn paging(&self) -> Paging {
        Paging::new(
            self.page.as_deref().and_then(|s| s.parse().ok()),
            self.per_page.as_deref().and_then(|s| s.parse().ok()),
        )
    }
}

/// `GET /api/me`: the caller (and the CSRF token a session must send on POST).
pub async fn me(Extension(p): Extension<Principal>) -> Response {
    Json(json!({"user": p.user, "role": p.role, "csrf_token": p.csrf, "via": if p.session {"session"} else {"token"}}))
        .into_response()
}

/// `GET /api/overview`.
pub async fn overview(State(c): State<Console>) -> Response {
    let convs = match c.traffic().await {
        Ok(v) => v,
        Err(e) => return fail(e),
    };
    let r = c
        .db()
        .run(move |conn| {
            Ok(json!({
                "totals": data::totals(conn)?,
                "severity_classes": data::SEVERITIES,
                "alerts_over_time": data::alert_timeline(conn, 48)?,
                "top_violations": data::top_violations(&convs, 10),
                "violating_conversations": convs.iter().filter(|c| c.judgement.violating()).count(),
                "sensor_health": data::health(conn)?,
            }))
        })
        .await;
    ok(r)
}

/// `GET /api/assets`.
pub async fn assets(State(c): State<Console>, Query(q): Query<ApiParams>) -> Response {
    let f = AssetFilter {
        q: opt(&q.q),
        zone: opt(&q.zone),
        role: opt(&q.role),
    };
    let p = q.paging();
    let c2 = c.clone();
    ok(c.db()
        .run(move |conn| data::assets(conn, c2.site(), &f, p))
        .await)
}

/// `GET /api/assets/{id}`.
pub async fn asset(State(c): State<Console>, Path(id): Path<String>) -> Response {
    let c2 = c.clone();
    found(
        c.db()
            .run(move |conn| data::asset_detail(conn, c2.site(), &id))
            .await,
        "asset",
    )
}

fn alert_filter(q: &ApiParams) -> AlertFilter {
    AlertFilter {
        status: opt(&q.status),
        severity: opt(&q.severity),
        rule: opt(&q.rule),
        ip: opt(&q.ip),
        assignee: opt(&q.assignee),
        chain: opt(&q.chain),
    }
}

/// `GET /api/alerts`.
pub async fn alerts(State(c): State<Console>, Query(q): Query<ApiParams>) -> Response {
    let f = alert_filter(&q);
    let p = q.paging();
    let c2 = c.clone();
    ok(c.db()
        .run(move |conn| data::alerts(conn, c2.site(), &f, p))
        .await)
}

/// `GET /api/alerts/{id}`.
pub async fn alert(State(c): State<Console>, Path(id): Path<String>) -> Response {
    let c2 = c.clone();
    found(
        c.db()
            .run(move |conn| data::alert(conn, c2.site(), &id))
            .await,
        "alert",
    )
}

async fn triage(
    c: Console,
    p: Principal,
    ip: String,
    id: String,
    action: &'static str,
    assignee: Option<String>,
) -> Response {
    match crate::pages::triage(&c, &p, &ip, &id, action, assignee).await {
        Ok(true) => {
            let c2 = c.clone();
            found(
                c.db()
                    .run(move |conn| data::alert(conn, c2.site(), &id))
                    .await,
                "alert",
            )
        }
        Ok(false) => json_error(StatusCode::NOT_FOUND, "no such alert"),
        Err(e) => fail(e),
    }
}

/// `POST /api/alerts/{id}/ack`.
pub async fn alert_ack(
    State(c): State<Console>,
    Extension(p): Extension<Principal>,
    Extension(ClientIp(ip)): Extension<ClientIp>,
    Path(id): Path<String>,
) -> Response {
    triage(c, p, ip, id, "alert.ack", None).await
}

/// `POST /api/alerts/{id}/reopen`.
pub async fn alert_reopen(
    State(c): State<Console>,
    Extension(p): Extension<Principal>,
    Extension(ClientIp(ip)): Extension<ClientIp>,
    Path(id): Path<String>,
) -> Response {
    triage(c, p, ip, id, "alert.reopen", None).await
}

/// Body of an assignment.
#[derive(Deserialize)]
pub struct AssignBody {
    assignee: Option<String>,
}

/// `POST /api/alerts/{id}/assign` with `{"assignee": "name"}` (null clears).
pub async fn alert_assign(
    State(c): State<Console>,
    Extension(p): Extension<Principal>,
    Extension(ClientIp(ip)): Extension<ClientIp>,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> Response {
    let Ok(b) = serde_json::from_slice::<AssignBody>(&body) else {
        return json_error(
            StatusCode::BAD_REQUEST,
            "expected a JSON body {\"assignee\": \"name\"}",
        );
    };
    let who = b
        .assignee
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty());
    if let Some(w) = &who {
        let w2 = w.clone();
        match c.db().run(move |conn| auth::get_user(conn, &w2)).await {
            Ok(Some(_)) => {}
            Ok(None) => {
                return json_error(StatusCode::BAD_REQUEST, &format!("no user named {w:?}"))
            }
            Err(e) => return fail(e),
        }
    }
    triage(c, p, ip, id, "alert.assign", who).await
}

/// `GET /api/flows`.
pub async fn flows(State(c): State<Console>, Query(q): Query<ApiParams>) -> Response {
    let f = FlowFilter {
        ip: opt(&q.ip),
        protocol: opt(&q.protocol),
    };
    let p = q.paging();
    ok(c.db().run(move |conn| data::flows(conn, &f, p)).await)
}

/// `GET /api/flows/{id}`.
pub async fn flow(State(c): State<Console>, Path(id): Path<String>) -> Response {
    let c2 = c.clone();
    found(
        c.db()
            .run(move |conn| data::flow(conn, c2.site(), &id))
            .await,
        "flow",
    )
}

/// `GET /api/conversations`: flows grouped by client, server and protocol, judged.
pub async fn conversations(State(c): State<Console>, Query(q): Query<ApiParams>) -> Response {
    let convs = match c.traffic().await {
        Ok(v) => v,
        Err(e) => return fail(e),
    };
    let p = q.paging();
    let only_bad = truthy(&q.violations).unwrap_or(false);
    let ip = opt(&q.ip);
    let matching: Vec<&data::Conversation> = convs
        .iter()
        .filter(|c| !only_bad || c.judgement.violating())
        .filter(|c| ip.as_deref().is_none_or(|i| c.src_ip == i || c.dst_ip == i))
        .collect();
    let start = usize::try_from(p.offset()).unwrap_or(usize::MAX);
    let items: Vec<&data::Conversation> = matching
        .iter()
        .skip(start)
        .take(p.per_page as usize)
        .copied()
        .collect();
    Json(json!({
        "items": items,
        "page": p.page,
        "per_page": p.per_page,
        "has_more": start.saturating_add(items.len()) < matching.len(),
        "total": matching.len(),
    }))
    .into_response()
}

/// `GET /api/events`.
pub async fn events(State(c): State<Console>, Query(q): Query<ApiParams>) -> Response {
    let f = EventFilter {
        dataset: opt(&q.dataset),
        protocol: opt(&q.protocol),
        flow: opt(&q.flow),
    };
    let p = q.paging();
    ok(c.db().run(move |conn| data::events(conn, &f, p)).await)
}

/// `GET /api/events/{id}`.
pub async fn event(State(c): State<Console>, Path(id): Path<String>) -> Response {
    found(
        c.db().run(move |conn| data::event(conn, &id)).await,
        "event",
    )
}

/// `GET /api/matrix`.
pub async fn matrix(State(c): State<Console>) -> Response {
    match c.traffic().await {
        Ok(convs) => Json(data::matrix(c.site(), &convs)).into_response(),
        Err(e) => fail(e),
    }
}

/// `GET /api/map`.
pub async fn map(State(c): State<Console>, Query(q): Query<ApiParams>) -> Response {
    let f = MapFilter {
        violations_only: truthy(&q.violations).unwrap_or(false),
        protocol: opt(&q.protocol),
        zone: opt(&q.zone),
        conduits: truthy(&q.conduits).unwrap_or(true),
    };
    ok(crate::pages::map_model(&c, f).await)
}

/// `GET /api/policy`.
pub async fn policy(State(c): State<Console>) -> Response {
    let convs = match c.traffic().await {
        Ok(v) => v,
        Err(e) => return fail(e),
    };
    let c2 = c.clone();
    ok(c.db()
        .run(move |conn| data::policy_view(conn, c2.site(), &convs))
        .await)
}

/// Query of `GET /api/compliance`.
#[derive(Deserialize, Default, Debug)]
pub struct ComplianceQuery {
    id: Option<String>,
}

/// `GET /api/compliance[?id=N]`: the newest (or chosen) assessment's summary and the trend
/// (one point per stored assessment, oldest first). `latest` is null when there is none.
pub async fn compliance(State(c): State<Console>, Query(q): Query<ComplianceQuery>) -> Response {
    let id = match opt(&q.id) {
        Some(s) => match s.parse::<i64>() {
            Ok(n) => Some(n),
            Err(_) => return json_error(StatusCode::BAD_REQUEST, "id must be a store id"),
        },
        None => None,
    };
    let db = c.db().path().display().to_string();
    let r = c.db().run(move |conn| data::compliance(conn, id)).await;
    match r {
        Ok(v) if id.is_some() && v.latest.is_none() => {
            json_error(StatusCode::NOT_FOUND, "no such assessment")
        }
        Ok(v) => {
            let hint = v
                .latest
                .is_none()
                .then(|| format!("no assessment in this store: run `sluice assess --db {db}`"));
            Json(json!({
                "tables": v.tables,
                "latest": v.latest,
                "trend": v.trend,
                "hint": hint,
            }))
            .into_response()
        }
        Err(e) => fail(e),
    }
}

/// `GET /api/compliance/{id}`: one stored assessment's JSON (store id or UUID).
pub async fn compliance_one(State(c): State<Console>, Path(id): Path<String>) -> Response {
    found(
        c.db()
            .run(move |conn| data::assessment_json(conn, &id))
            .await,
        "assessment",
    )
}

/// `GET /api/users` (admin).
pub async fn users(State(c): State<Console>) -> Response {
    ok(c.db().run(auth::list_users).await)
}

/// Body of a new user.
#[derive(Deserialize)]
pub struct NewUser {
    name: String,
    role: String,
    password: String,
}

/// `POST /api/users` (admin) with `{"name", "role", "password"}`: returns the enrolment.
pub async fn user_add(
    State(c): State<Console>,
    Extension(p): Extension<Principal>,
    Extension(ClientIp(ip)): Extension<ClientIp>,
    body: axum::body::Bytes,
) -> Response {
    let Ok(u) = serde_json::from_slice::<NewUser>(&body) else {
        return json_error(
            StatusCode::BAD_REQUEST,
            "expected a JSON body {\"name\", \"role\", \"password\"}",
        );
    };
    let admin = p.user.clone();
    let r = c
        .db()
        .run(move |conn| {
            let role = Role::parse(&u.role)?;
            let r = auth::add_user(conn, u.name.trim(), role, &u.password);
            auth::audit(
                conn,
                Some(&admin),
                &ip,
                "user.add",
                if r.is_ok() { "success" } else { "failure" },
                &format!("{} ({role})", u.name.trim()),
            )?;
            r
        })
        .await;
    match r {
        Ok(e) => (StatusCode::CREATED, Json(e)).into_response(),
        Err(e) => fail(e),
    }
}

/// `GET /api/audit` (admin), newest first.
pub async fn audit(State(c): State<Console>, Query(q): Query<ApiParams>) -> Response {
    let p = q.paging();
    let r = c
        .db()
        .run(move |conn| auth::audit_log(conn, p.fetch(), p.offset()))
        .await;
    match r {
        Ok(mut rows) => {
            let has_more = rows.len() > p.per_page as usize;
            rows.truncate(p.per_page as usize);
            Json(json!({"items": rows, "page": p.page, "per_page": p.per_page, "has_more": has_more}))
                .into_response()
        }
        Err(e) => fail(e),
    }
}

/// `GET /api/openapi.json`.
pub async fn openapi() -> Response {
    Json(openapi_document()).into_response()
}

fn list_params(extra: &[(&str, &str)]) -> Value {
    let mut v = vec![
        json!({"name": "page", "in": "query", "schema": {"type": "integer", "minimum": 1}, "description": "1-based page"}),
        json!({"name": "per_page", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": data::MAX_PER_PAGE}, "description": "rows per page (default 50)"}),
    ];
    for (name, desc) in extra {
        v.push(
            json!({"name": name, "in": "query", "schema": {"type": "string"}, "description": desc}),
        );
    }
    Value::Array(v)
}

fn id_param(desc: &str) -> Value {
    json!([{"name": "id", "in": "path", "required": true, "schema": {"type": "string"}, "description": desc}])
}

fn get_op(summary: &str, role: &str, params: Value, schema: &str) -> Value {
    json!({"get": {
        "summary": summary,
        "description": format!("Needs the {role} role."),
        "parameters": params,
        "responses": {
            "200": {"description": "OK", "content": {"application/json": {"schema": {"$ref": format!("#/components/schemas/{schema}")}}}},
            "401": {"$ref": "#/components/responses/Unauthorized"},
            "403": {"$ref": "#/components/responses/Forbidden"},
        }
    }})
}

fn post_op(summary: &str, role: &str, params: Value, body: Option<Value>, code: &str) -> Value {
    let mut op = json!({
        "summary": summary,
        "description": format!("Needs the {role} role. With a session cookie, send the CSRF token (from /api/me) as X-CSRF-Token."),
        "parameters": params,
        "responses": {
            code: {"description": "Done", "content": {"application/json": {"schema": {"type": "object"}}}},
            "400": {"description": "Bad request"},
            "401": {"$ref": "#/components/responses/Unauthorized"},
            "403": {"$ref": "#/components/responses/Forbidden"},
            "404": {"description": "No such object"},
        }
    });
    if let Some(b) = body {
        op["requestBody"] =
            json!({"required": true, "content": {"application/json": {"schema": b}}});
    }
    json!({ "post": op })
}

/// The OpenAPI 3 description of the API.
pub fn openapi_document() -> Value {
    let page_of = |item: &str| {
        json!({"type": "object", "required": ["items", "page", "per_page", "has_more"], "properties": {
            "items": {"type": "array", "items": {"$ref": format!("#/components/schemas/{item}")}},
            "page": {"type": "integer"}, "per_page": {"type": "integer"}, "has_more": {"type": "boolean"},
            "total": {"type": "integer", "description": "matching rows, where cheap to count"}}})
    };
    let obj = json!({"type": "object", "additionalProperties": true});
    let mut paths = serde_json::Map::new();
    let mut add = |p: &str, v: Value| {
        let entry = paths.entry(p.to_string()).or_insert_with(|| json!({}));
        if let (Some(e), Some(v)) = (entry.as_object_mut(), v.as_object()) {
            for (k, x) in v {
                e.insert(k.clone(), x.clone());
            }
        }
    };
    add(
        "/api/me",
        get_op(
            "The caller, its role and CSRF token",
            "viewer",
            json!([]),
            "Object",
        ),
    );
    add(
        "/api/overview",
        get_op(
            "Totals, open alerts by severity, alerts over time, top violations, sensor health",
            "viewer",
            json!([]),
            "Object",
        ),
    );
    add(
        "/api/assets",
        get_op(
            "Assets, by address",
            "viewer",
            list_params(&[
                ("q", "text search"),
                ("zone", "zone name"),
                ("role", "asset role"),
            ]),
            "AssetPage",
        ),
    );
    add(
        "/api/assets/{id}",
        get_op(
            "An asset with identity, talkers, alerts and recent transactions",
            "viewer",
            id_param("asset id (ip:10.10.1.10) or address"),
            "Object",
        ),
    );
    add(
        "/api/alerts",
        get_op(
            "Alerts, newest first",
            "viewer",
            list_params(&[
                ("status", "open (default), acknowledged or all"),
                ("severity", "lowest class: low, medium, high, critical"),
                ("rule", "rule id"),
                ("ip", "either end"),
                ("assignee", "user"),
                ("chain", "attack chain id"),
            ]),
            "AlertPage",
        ),
    );
    add(
        "/api/alerts/{id}",
        get_op(
            "An alert with its evidence (transactions and flows) and attack chain",
            "viewer",
            id_param("alert id"),
            "Object",
        ),
    );
    add(
        "/api/alerts/{id}/ack",
        post_op(
            "Acknowledge an alert",
            "analyst",
            id_param("alert id"),
            None,
            "200",
        ),
    );
    add(
        "/api/alerts/{id}/reopen",
        post_op(
            "Reopen an acknowledged alert",
            "analyst",
            id_param("alert id"),
            None,
            "200",
        ),
    );
    add(
        "/api/alerts/{id}/assign",
        post_op(
            "Assign an alert to a user (null clears)",
            "analyst",
            id_param("alert id"),
            Some(
                json!({"type": "object", "properties": {"assignee": {"type": ["string", "null"]}}}),
            ),
            "200",
        ),
    );
    add(
        "/api/flows",
        get_op(
            "Flows, newest first",
            "viewer",
            list_params(&[("ip", "either end"), ("protocol", "protocol name")]),
            "FlowPage",
        ),
    );
    add(
        "/api/flows/{id}",
        get_op(
            "A flow with its policy verdict, transactions and alerts",
            "viewer",
            id_param("flow id"),
            "Object",
        ),
    );
    add("/api/conversations", get_op("Flows grouped by client, server and protocol, judged against the policy; violations first", "viewer", list_params(&[("ip", "either end"), ("violations", "true: only policy-breaking")]), "Object"));
    add(
        "/api/events",
        get_op(
            "Transactions and anomalies, newest first",
            "viewer",
            list_params(&[
                ("dataset", "e.g. sluice.modbus"),
                ("protocol", "protocol name"),
                ("flow", "flow id"),
            ]),
            "EventPage",
        ),
    );
    add(
        "/api/events/{id}",
        get_op(
            "One event with its ECS JSON",
            "viewer",
            id_param("event id"),
            "Object",
        ),
    );
    add(
        "/api/matrix",
        get_op(
            "Zone × zone matrix: allowed by conduits against seen",
            "viewer",
            json!([]),
            "Object",
        ),
    );
    add(
        "/api/map",
        get_op(
            "The Purdue map: zones, nodes, edges (violations flagged), conduits",
            "viewer",
            list_params(&[
                ("violations", "true: only policy-breaking"),
                ("protocol", "protocol label"),
                ("zone", "zone name"),
                ("conduits", "false: leave conduits out"),
            ]),
            "Object",
        ),
    );
    add(
        "/api/policy",
        get_op(
            "Zones, conduits with allowed and violating flows, envelopes",
            "viewer",
            json!([]),
            "Object",
        ),
    );
    add(
        "/api/compliance",
        get_op(
            "Compliance: the newest (or chosen) governance assessment kept by `sluice assess` (counts by status, IEC 62443 SL-A vs SL-T per zone, CSF tier per function, top roadmap gaps with their phase) and the trend (one point per stored assessment, oldest first: share of controls satisfied)",
            "viewer",
            json!([{"name": "id", "in": "query", "schema": {"type": "integer"}, "description": "store id of an assessment other than the newest (404 when absent)"}]),
            "Compliance",
        ),
    );
    add(
        "/api/compliance/{id}",
        get_op(
            "One stored assessment, as `sluice assess --format json` writes it (schema sluice.assessment/1)",
            "viewer",
            id_param("store id or UUID of the assessment"),
            "Object",
        ),
    );
    add("/api/users", get_op("Users", "admin", json!([]), "Object"));
    add(
        "/api/users",
        post_op(
            "Create a user; returns the TOTP enrolment (otpauth URI)",
            "admin",
            json!([]),
            Some(
                json!({"type": "object", "required": ["name", "role", "password"], "properties": {"name": {"type": "string"}, "role": {"type": "string", "enum": ["viewer", "analyst", "admin"]}, "password": {"type": "string", "minLength": auth::MIN_PASSWORD}}}),
            ),
            "201",
        ),
    );
    add(
        "/api/audit",
        get_op(
            "The audit log of logins and changes, newest first",
            "admin",
            list_params(&[]),
            "Object",
        ),
    );
    add(
        "/metrics",
        json!({"get": {"summary": "Prometheus metrics (text format 0.0.4)", "description": "Needs authentication (a Bearer token of any role).", "responses": {"200": {"description": "OK", "content": {"text/plain": {"schema": {"type": "string"}}}}, "401": {"$ref": "#/components/responses/Unauthorized"}}}}),
    );
    let assessment_point = json!({"type": "object", "properties": {"id": {"type": "integer"}, "uuid": {"type": "string"}, "created_ns": {"type": "integer", "description": "ns since the epoch"}, "created": {"type": "string", "format": "date-time"}, "frameworks": {"type": "array", "items": {"type": "string"}}, "site": {"type": "string", "nullable": true}, "total": {"type": "integer", "description": "controls in scope"}, "assessed": {"type": "integer"}, "satisfied": {"type": "integer"}, "partial": {"type": "integer"}, "not_satisfied": {"type": "integer"}, "satisfied_pct": {"type": "number", "description": "satisfied / total, percent"}}});
    let compliance_summary = json!({"type": "object", "properties": {
                    "id": {"type": "integer"}, "uuid": {"type": "string"}, "created": {"type": "string", "format": "date-time"}, "site": {"type": "string", "nullable": true},
                    "frameworks": {"type": "array", "items": {"type": "string"}},
                    "counts": {"type": "object", "properties": {"total": {"type": "integer"}, "satisfied": {"type": "integer"}, "partial": {"type": "integer"}, "not_satisfied": {"type": "integer"}, "not_assessed": {"type": "integer"}, "not_applicable": {"type": "integer"}}},
                    "satisfied_pct": {"type": "number"},
                    "coverage": {"type": "array", "items": {"type": "object", "properties": {"framework": {"type": "string"}, "name": {"type": "string"}, "total": {"type": "integer"}, "assessed": {"type": "integer"}, "satisfied": {"type": "integer"}, "partial": {"type": "integer"}, "not_satisfied": {"type": "integer"}, "score": {"type": "number"}}}},
                    "iec62443": {"type": "array", "items": {"type": "object", "properties": {"zone": {"type": "string"}, "level": {"type": "number", "nullable": true}, "sl_target": {"type": "integer", "nullable": true}, "sl_achieved": {"type": "integer"}, "below_target": {"type": "array", "items": {"type": "string"}}, "frs": {"type": "array", "items": {"type": "object", "properties": {"fr": {"type": "string"}, "title": {"type": "string", "nullable": true}, "sl_achieved": {"type": "integer"}, "sl_possible": {"type": "integer"}}}}}}},
                    "csf": {"type": "array", "items": {"type": "object", "properties": {"function": {"type": "string"}, "title": {"type": "string", "nullable": true}, "tier": {"type": "integer"}, "tier_name": {"type": "string"}, "score": {"type": "number"}, "outcomes": {"type": "integer"}, "met": {"type": "integer"}, "partial": {"type": "integer"}}}},
                    "gaps": {"type": "integer"}, "roadmap_steps": {"type": "integer"},
                    "top_gaps": {"type": "array", "items": {"type": "object", "properties": {"check": {"type": "string"}, "title": {"type": "string"}, "status": {"type": "string"}, "phase": {"type": "string"}, "priority": {"type": "number"}, "risk": {"type": "integer"}, "effort": {"type": "integer"}, "controls": {"type": "array", "items": {"type": "string"}}, "role": {"type": "string", "nullable": true}, "remediation": {"type": "string"}}}},
                    "notes": {"type": "array", "items": {"type": "string"}}}});
    let compliance = json!({"type": "object", "required": ["tables", "latest", "trend"], "properties": {
                    "tables": {"type": "boolean", "description": "false: the store predates assessments"},
                    "latest": {"allOf": [{"$ref": "#/components/schemas/ComplianceSummary"}], "nullable": true},
                    "trend": {"type": "array", "items": {"$ref": "#/components/schemas/AssessmentPoint"}},
                    "hint": {"type": "string", "nullable": true, "description": "what to run when there is no assessment"}}});
    json!({
        "openapi": "3.0.3",
        "info": {
            "title": "Sluice console API",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "The plant's security picture as JSON: assets, alerts, flows, zones and conduits, and the governance assessments (compliance). Every route needs a signed-in session (cookie) or an API token (`sluice user token NAME`) sent as `Authorization: Bearer TOKEN`. Roles: viewer reads; analyst also acknowledges and assigns alerts; admin also manages users and reads the audit log."
        },
        "servers": [{"url": "/"}],
        "security": [{"bearer": []}, {"session": []}],
        "paths": Value::Object(paths),
        "components": {
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer"},
                "session": {"type": "apiKey", "in": "cookie", "name": crate::SESSION_COOKIE}
            },
            "responses": {
                "Unauthorized": {"description": "No valid session or token", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
                "Forbidden": {"description": "The role may not do this, or the CSRF token is missing", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
            },
            "schemas": {
                "Error": {"type": "object", "properties": {"error": {"type": "string"}}},
                "Object": obj,
                "Asset": {"type": "object", "properties": {"id": {"type": "string"}, "ip": {"type": "string"}, "mac": {"type": "string", "nullable": true}, "vendor": {"type": "string", "nullable": true}, "role": {"type": "string", "nullable": true}, "zone": {"type": "string"}, "product": {"type": "string", "nullable": true}, "firmware": {"type": "string", "nullable": true}, "protocols": {"type": "array", "items": {"type": "string"}}, "first_seen": {"type": "integer", "description": "ns since the epoch"}, "last_seen": {"type": "integer"}, "open_alerts": {"type": "integer"}}},
                "Alert": {"type": "object", "properties": {"id": {"type": "string"}, "ts": {"type": "integer"}, "rule_id": {"type": "string"}, "rule_name": {"type": "string"}, "severity": {"type": "integer", "minimum": 1, "maximum": 100}, "severity_class": {"type": "string", "enum": data::SEVERITIES}, "technique_id": {"type": "string", "nullable": true}, "src_ip": {"type": "string", "nullable": true}, "dst_ip": {"type": "string", "nullable": true}, "src_zone": {"type": "string", "nullable": true}, "dst_zone": {"type": "string", "nullable": true}, "chain_id": {"type": "string", "nullable": true}, "count": {"type": "integer"}, "acknowledged": {"type": "boolean"}, "acknowledged_by": {"type": "string", "nullable": true}, "acknowledged_at": {"type": "integer", "nullable": true}, "assignee": {"type": "string", "nullable": true}}},
                "Flow": {"type": "object", "properties": {"id": {"type": "string"}, "ts": {"type": "integer"}, "end_ts": {"type": "integer"}, "src_ip": {"type": "string"}, "src_port": {"type": "integer"}, "dst_ip": {"type": "string"}, "dst_port": {"type": "integer"}, "transport": {"type": "string"}, "protocol": {"type": "string", "nullable": true}, "packets": {"type": "integer"}, "bytes": {"type": "integer"}, "end_reason": {"type": "string", "nullable": true}}},
                "Event": {"type": "object", "properties": {"id": {"type": "string"}, "ts": {"type": "integer"}, "dataset": {"type": "string"}, "protocol": {"type": "string", "nullable": true}, "src_ip": {"type": "string", "nullable": true}, "dst_ip": {"type": "string", "nullable": true}, "function_code": {"type": "integer", "nullable": true}, "function": {"type": "string", "nullable": true}, "flow_id": {"type": "string", "nullable": true}}},
                "AssessmentPoint": assessment_point,
                "ComplianceSummary": compliance_summary,
                "Compliance": compliance,
                "AssetPage": page_of("Asset"),
                "AlertPage": page_of("Alert"),
                "FlowPage": page_of("Flow"),
                "EventPage": page_of("Event"),
            }
        }
    })
}
