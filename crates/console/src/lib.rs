//! The Sluice web console and HTTP API.
//!
//! Server-rendered pages (HTML and SVG built in Rust, a small hand-written script for the
//! map's zoom and pan) and a JSON API over the SQLite store, behind local users with
//! argon2id passwords, mandatory TOTP (RFC 6238), roles (viewer < analyst < admin) checked
//! on every route from one table ([`ROUTES`]), HttpOnly SameSite=Strict session cookies
//! (Secure under TLS), CSRF tokens on every form, per-address login rate limiting, lockout
//! after [`auth::MAX_FAILURES`] failures, and an audit log.
//!
//! Decisions:
//! - `/metrics` (Prometheus text) needs authentication like the API: a Bearer token of any
//!   role (`sluice user token NAME`); Prometheus sends it with `authorization: credentials`.
//!   Counts of alerts and assets are information an intruder wants, so nothing is anonymous
//!   except the login pages, `/static/*` and `/healthz` (which says only "ok").
//! - The OpenAPI document is behind authentication too.
//! - Sessions and API tokens are stored as SHA-256 hashes; a stolen store file does not
//!   yield a usable session.
#![forbid(unsafe_code)]

pub mod api;
pub mod auth;
pub mod data;
pub mod db;
mod error;
pub mod html;
mod login;
pub mod metrics;
mod pages;
mod server;
pub mod site;
pub mod svg;

pub use error::{ConsoleError, Result};
pub use server::{serve, spawn, Running, TlsFiles};

use auth::{Role, Session, Stage};
use axum::body::Body;
use axum::extract::{MatchedPath, Request};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use data::Conversation;
use db::Db;
use site::Site;
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

/// Who may call a route.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Need {
    /// Anyone (login, static files, health).
    Public,
    /// A session half-way through login (password given, TOTP next).
    Pending,
    /// A signed-in user with at least this role.
    Role(Role),
}

/// Every route with the least it needs. The middleware refuses any route missing here.
pub const ROUTES: &[(&str, &str, Need)] = &[
    ("GET", "/login", Need::Public),
    ("POST", "/login", Need::Public),
    ("GET", "/login/totp", Need::Pending),
    ("POST", "/login/totp", Need::Pending),
    ("GET", "/enrol", Need::Pending),
    ("POST", "/enrol", Need::Pending),
    ("POST", "/logout", Need::Public),
    ("GET", "/static/{file}", Need::Public),
    ("GET", "/healthz", Need::Public),
    ("GET", "/", Need::Role(Role::Viewer)),
    ("GET", "/map", Need::Role(Role::Viewer)),
    ("GET", "/assets", Need::Role(Role::Viewer)),
    ("GET", "/assets/{id}", Need::Role(Role::Viewer)),
    ("GET", "/alerts", Need::Role(Role::Viewer)),
    ("GET", "/alerts/{id}", Need::Role(Role::Viewer)),
    ("POST", "/alerts/{id}/ack", Need::Role(Role::Analyst)),
    ("POST", "/alerts/{id}/reopen", Need::Role(Role::Analyst)),
    ("POST", "/alerts/{id}/assign", Need::Role(Role::Analyst)),
    ("GET", "/flows", Need::Role(Role::Viewer)),
    ("GET", "/flows/{id}", Need::Role(Role::Viewer)),
    ("GET", "/events/{id}", Need::Role(Role::Viewer)),
    ("GET", "/policy", Need::Role(Role::Viewer)),
    ("GET", "/compliance", Need::Role(Role::Viewer)),
    ("GET", "/admin/users", Need::Role(Role::Admin)),
    ("POST", "/admin/users", Need::Role(Role::Admin)),
    ("POST", "/admin/users/{name}", Need::Role(Role::Admin)),
    ("GET", "/admin/audit", Need::Role(Role::Admin)),
    ("GET", "/metrics", Need::Role(Role::Viewer)),
    ("GET", "/api/openapi.json", Need::Role(Role::Viewer)),
    ("GET", "/api/me", Need::Role(Role::Viewer)),
    ("GET", "/api/overview", Need::Role(Role::Viewer)),
    ("GET", "/api/assets", Need::Role(Role::Viewer)),
    ("GET", "/api/assets/{id}", Need::Role(Role::Viewer)),
    ("GET", "/api/alerts", Need::Role(Role::Viewer)),
    ("GET", "/api/alerts/{id}", Need::Role(Role::Viewer)),
    ("POST", "/api/alerts/{id}/ack", Need::Role(Role::Analyst)),
    ("POST", "/api/alerts/{id}/reopen", Need::Role(Role::Analyst)),
    ("POST", "/api/alerts/{id}/assign", Need::Role(Role::Analyst)),
    ("GET", "/api/flows", Need::Role(Role::Viewer)),
    ("GET", "/api/flows/{id}", Need::Role(Role::Viewer)),
    ("GET", "/api/conversations", Need::Role(Role::Viewer)),
    ("GET", "/api/events", Need::Role(Role::Viewer)),
    ("GET", "/api/events/{id}", Need::Role(Role::Viewer)),
    ("GET", "/api/matrix", Need::Role(Role::Viewer)),
    ("GET", "/api/map", Need::Role(Role::Viewer)),
    ("GET", "/api/policy", Need::Role(Role::Viewer)),
    ("GET", "/api/compliance", Need::Role(Role::Viewer)),
    ("GET", "/api/compliance/{id}", Need::Role(Role::Viewer)),
    ("GET", "/api/users", Need::Role(Role::Admin)),
    ("POST", "/api/users", Need::Role(Role::Admin)),
    ("GET", "/api/audit", Need::Role(Role::Admin)),
];

/// The least a (method, route pattern) needs; `None` for routes not in [`ROUTES`].
pub fn need_of(method: &str, path: &str) -> Option<Need> {
    ROUTES
        .iter()
        .find(|(m, p, _)| *m == method && *p == path)
        .map(|(_, _, n)| *n)
}

/// How the console is started.
#[derive(Clone, Debug)]
pub struct ConsoleConfig {
    /// The store.
    pub db: PathBuf,
    /// The site policy (zones, conduits); without one the map has a single zone.
    pub policy: Option<PathBuf>,
    /// Served over TLS (cookies get `Secure`, responses HSTS).
    pub tls: bool,
    /// Login attempts (password or code) allowed per client address per five minutes.
    pub login_attempts_per_ip: u32,
}

impl ConsoleConfig {
    /// Defaults for a store.
    pub fn new(db: impl Into<PathBuf>) -> ConsoleConfig {
        ConsoleConfig {
            db: db.into(),
            policy: None,
            tls: false,
            login_attempts_per_ip: 20,
        }
    }
}

/// Who is calling.
#[derive(Clone, Debug)]
pub struct Principal {
    pub user: String,
    pub role: Role,
    /// The session's CSRF token (empty for API tokens, which need none).
    pub csrf: String,
    /// Signed in with a session cookie (not a Bearer token).
    pub session: bool,
}

/// The client's address as text ("local" when unknown).
#[derive(Clone, Debug)]
pub struct ClientIp(pub String);

pub(crate) struct Inner {
    pub db: Db,
    pub site: Site,
    pub tls: bool,
    pub attempts_per_ip: u32,
    /// Login attempts per address: (window start, count).
    pub limiter: Mutex<HashMap<String, (i64, u32)>>,
    pub traffic: Mutex<Option<Traffic>>,
    /// Laid-out maps per filter, with the stamps of the data they were drawn from.
    pub maps: Mutex<HashMap<String, MapEntry>>,
    pub metrics: metrics::HttpMetrics,
}

/// The judged conversations with the stamp of the flows table they were computed from.
pub(crate) type Traffic = ((i64, i64), Arc<Vec<Conversation>>);

/// A cached map: ((flows stamp, runs, assets stamp), model).
pub(crate) type MapEntry = ((i64, i64, i64), Arc<svg::MapModel>);

/// Who a request's credentials name: a token's user, or a session.
type Credentials = (Option<(String, Role)>, Option<Session>);

/// A running console's state (cheap to clone).
#[derive(Clone)]
pub struct Console {
    pub(crate) inner: Arc<Inner>,
}

/// Session cookie name.
pub const SESSION_COOKIE: &str = "sluice_session";
/// Pre-login CSRF cookie name (double-submit on the login form).
pub const PRE_COOKIE: &str = "sluice_pre";

impl Console {
    /// Opens the store (adding the console's tables and indexes) and loads the policy.
    pub fn open(cfg: &ConsoleConfig) -> Result<Console> {
        let db = Db::open(&cfg.db)?;
        let policy = match &cfg.policy {
            Some(p) => Some(sluice_policy::Policy::load(p)?),
            None => None,
        };
        Ok(Console {
            inner: Arc::new(Inner {
                db,
                site: Site::new(policy),
                tls: cfg.tls,
                attempts_per_ip: cfg.login_attempts_per_ip.max(1),
                limiter: Mutex::new(HashMap::new()),
                traffic: Mutex::new(None),
                maps: Mutex::new(HashMap::new()),
                metrics: metrics::HttpMetrics::default(),
            }),
        })
    }

    /// The store connections.
    pub fn db(&self) -> &Db {
        &self.inner.db
    }

    /// The site (policy and zones).
    pub fn site(&self) -> &Site {
        &self.inner.site
    }

    /// The routes with authentication, roles, CSRF and security headers.
    pub fn router(&self) -> Router {
        let r = Router::new()
            .route("/login", get(login::login_page).post(login::login_submit))
            .route(
                "/login/totp",
                get(login::totp_page).post(login::totp_submit),
            )
            .route("/enrol", get(login::enrol_page).post(login::enrol_submit))
            .route("/logout", post(login::logout))
            .route("/static/{file}", get(pages::static_file))
            .route("/healthz", get(|| async { "ok\n" }))
            .route("/", get(pages::overview))
            .route("/map", get(pages::map))
            .route("/assets", get(pages::assets))
            .route("/assets/{id}", get(pages::asset))
            .route("/alerts", get(pages::alerts))
            .route("/alerts/{id}", get(pages::alert))
            .route("/alerts/{id}/ack", post(pages::alert_ack))
            .route("/alerts/{id}/reopen", post(pages::alert_reopen))
            .route("/alerts/{id}/assign", post(pages::alert_assign))
            .route("/flows", get(pages::flows))
            .route("/flows/{id}", get(pages::flow))
            .route("/events/{id}", get(pages::event))
            .route("/policy", get(pages::policy))
            .route("/compliance", get(pages::compliance))
            .route("/admin/users", get(pages::users).post(pages::user_add))
            .route("/admin/users/{name}", post(pages::user_change))
            .route("/admin/audit", get(pages::audit))
            .route("/metrics", get(metrics::metrics))
            .route("/api/openapi.json", get(api::openapi))
            .route("/api/me", get(api::me))
            .route("/api/overview", get(api::overview))
            .route("/api/assets", get(api::assets))
            .route("/api/assets/{id}", get(api::asset))
            .route("/api/alerts", get(api::alerts))
            .route("/api/alerts/{id}", get(api::alert))
            .route("/api/alerts/{id}/ack", post(api::alert_ack))
            .route("/api/alerts/{id}/reopen", post(api::alert_reopen))
            .route("/api/alerts/{id}/assign", post(api::alert_assign))
            .route("/api/flows", get(api::flows))
            .route("/api/flows/{id}", get(api::flow))
            .route("/api/conversations", get(api::conversations))
            .route("/api/events", get(api::events))
            .route("/api/events/{id}", get(api::event))
            .route("/api/matrix", get(api::matrix))
            .route("/api/map", get(api::map))
            .route("/api/policy", get(api::policy))
            .route("/api/compliance", get(api::compliance))
            .route("/api/compliance/{id}", get(api::compliance_one))
            .route("/api/users", get(api::users).post(api::user_add))
            .route("/api/audit", get(api::audit))
            .route_layer(axum::middleware::from_fn_with_state(self.clone(), guard))
            .fallback(not_found)
            .with_state(self.clone());
        r.layer(axum::middleware::from_fn_with_state(
            self.clone(),
            headers_and_metrics,
        ))
    }

    /// The judged conversations, recomputed when the flows table changed.
    pub async fn traffic(&self) -> Result<Arc<Vec<Conversation>>> {
        let me = self.clone();
        self.inner
            .db
            .run(move |conn| {
                let stamp = data::flows_stamp(conn)?;
                if let Ok(g) = me.inner.traffic.lock() {
                    if let Some((s, v)) = g.as_ref() {
                        if *s == stamp {
                            return Ok(v.clone());
                        }
                    }
                }
                let v = Arc::new(data::conversations(conn, &me.inner.site)?);
                if let Ok(mut g) = me.inner.traffic.lock() {
                    *g = Some((stamp, v.clone()));
                }
                Ok(v)
            })
            .await
    }

    /// Counts a login attempt from `ip`; false when over the limit.
    pub(crate) fn allow_attempt(&self, ip: &str) -> bool {
        const WINDOW: i64 = 300;
        let t = auth::now();
        let Ok(mut m) = self.inner.limiter.lock() else {
            return false;
        };
        if m.len() > 10_000 {
            m.retain(|_, (start, _)| t - *start < WINDOW);
        }
        let e = m.entry(ip.to_string()).or_insert((t, 0));
        if t - e.0 >= WINDOW {
            *e = (t, 0);
        }
        e.1 = e.1.saturating_add(1);
        e.1 <= self.inner.attempts_per_ip
    }

    /// The `Set-Cookie` value of a session.
    pub(crate) fn session_cookie(&self, name: &str, value: &str) -> String {
        let secure = if self.inner.tls { "; Secure" } else { "" };
        format!("{name}={value}; Path=/; HttpOnly; SameSite=Strict{secure}")
    }

    /// A `Set-Cookie` value that deletes a cookie.
    pub(crate) fn clear_cookie(&self, name: &str) -> String {
        let secure = if self.inner.tls { "; Secure" } else { "" };
        format!("{name}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0{secure}")
    }
}

/// The value of a cookie.
pub(crate) fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    let v = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = v.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then_some(token.trim())
}

fn is_api(path: &str) -> bool {
    path.starts_with("/api/") || path == "/metrics"
}

/// A JSON error.
pub(crate) fn json_error(status: StatusCode, msg: &str) -> Response {
    (
        status,
        [(header::CACHE_CONTROL, "no-store")],
        axum::Json(serde_json::json!({ "error": msg })),
    )
        .into_response()
}

/// A page error.
pub(crate) fn page_error(status: StatusCode, title: &str, msg: &str) -> Response {
    let body = format!(
        "<h1>{}</h1><p class=\"error\">{}</p><p><a href=\"/\">Back to the overview</a></p>",
        html::E(title),
        html::E(msg)
    );
    (status, axum::response::Html(html::bare(title, &body))).into_response()
}

async fn not_found(req: Request) -> Response {
    if is_api(req.uri().path()) {
        json_error(StatusCode::NOT_FOUND, "no such route")
    } else {
        page_error(StatusCode::NOT_FOUND, "Not found", "There is no such page.")
    }
}

/// Largest form body read for a CSRF check.
const MAX_FORM: usize = 64 * 1024;

/// Authentication, roles and CSRF for every route.
async fn guard(
    axum::extract::State(console): axum::extract::State<Console>,
    mut req: Request,
    next: Next,
) -> Response {
    let method = req.method().clone();
    let path = req
        .extensions()
        .get::<MatchedPath>()
        .map(|m| m.as_str().to_string())
        .unwrap_or_default();
    let api = is_api(req.uri().path());
    let ip = req
        .extensions()
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        .map(|c| c.0.ip().to_string())
        .unwrap_or_else(|| "local".into());
    req.extensions_mut().insert(ClientIp(ip));
    let Some(need) = need_of(method.as_str(), &path) else {
        return json_error(StatusCode::FORBIDDEN, "route not in the access table");
    };
    if need == Need::Public {
        return next.run(req).await;
    }
    // Who is it: a Bearer token (API and metrics only) or a session cookie.
    let token = bearer(req.headers()).map(str::to_owned);
    let sess = cookie(req.headers(), SESSION_COOKIE).map(str::to_owned);
    let found = console
        .inner
        .db
        .run(move |conn| -> Result<Credentials> {
            let t = match token {
                Some(t) => auth::token_user(conn, &t)?,
                None => None,
            };
            let s = match (&t, sess) {
                (None, Some(s)) => auth::load_session(conn, &s)?,
                _ => None,
            };
            Ok((t, s))
        })
        .await;
    let (tok, session) = match found {
        Ok(x) => x,
        Err(e) => {
            tracing::error!("authentication lookup failed: {e}");
            return json_error(StatusCode::INTERNAL_SERVER_ERROR, "internal error");
        }
    };
    let had_bearer = bearer(req.headers()).is_some();
    if had_bearer && tok.is_none() {
        return json_error(StatusCode::UNAUTHORIZED, "invalid token");
    }
    let principal = match (tok, &session) {
        (Some((user, role)), _) if api => Some(Principal {
            user,
            role,
            csrf: String::new(),
            session: false,
        }),
        (Some(_), _) => None, // tokens open the API only
        (None, Some(s)) if s.stage == Stage::Full => Some(Principal {
            user: s.user.clone(),
            role: s.role,
            csrf: s.csrf.clone(),
            session: true,
        }),
        _ => None,
    };
    if need == Need::Pending {
        return match &session {
            Some(s) if s.stage != Stage::Full => {
                req.extensions_mut().insert(s.clone());
                match check_csrf(req, &method, &s.csrf).await {
                    Ok(req) => next.run(req).await,
                    Err(r) => r,
                }
            }
            Some(_) => Redirect::to("/").into_response(),
            None => Redirect::to("/login").into_response(),
        };
    }
    let Need::Role(min) = need else {
        return json_error(StatusCode::FORBIDDEN, "forbidden");
    };
    let Some(p) = principal else {
        if api {
            let mut r = json_error(StatusCode::UNAUTHORIZED, "authentication required");
            r.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"sluice\""),
            );
            return r;
        }
        let to = match &session {
            Some(s) if s.stage == Stage::Totp => "/login/totp",
            Some(s) if s.stage == Stage::Enrol => "/enrol",
            _ => "/login",
        };
        return Redirect::to(to).into_response();
    };
    if p.role < min {
        return if api {
            json_error(
                StatusCode::FORBIDDEN,
                &format!("the {} role cannot do this (needs {})", p.role, min),
            )
        } else {
            page_error(
                StatusCode::FORBIDDEN,
                "Not allowed",
                &format!(
                    "Your role ({}) cannot do this; it needs the {} role.",
                    p.role, min
                ),
            )
        };
    }
    let csrf = p.csrf.clone();
    let from_session = p.session;
    req.extensions_mut().insert(p);
    if from_session {
        match check_csrf(req, &method, &csrf).await {
            Ok(req) => next.run(req).await,
            Err(r) => r,
        }
    } else {
        next.run(req).await
    }
}

/// For state-changing requests: the session's CSRF token must come back in the
/// `X-CSRF-Token` header or the form's `csrf` field.
async fn check_csrf(
    req: Request,
    method: &Method,
    expected: &str,
) -> std::result::Result<Request, Response> {
    if matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS) {
        return Ok(req);
    }
    let refuse = |api: bool| {
        if api {
            json_error(StatusCode::FORBIDDEN, "missing or wrong CSRF token")
        } else {
            page_error(
                StatusCode::FORBIDDEN,
                "Form expired",
                "The form's security token is missing or wrong. Reload the page and try again.",
            )
        }
    };
    let api = is_api(req.uri().path());
    if let Some(h) = req
        .headers()
        .get("x-csrf-token")
        .and_then(|v| v.to_str().ok())
    {
        return if auth::constant_time_eq(h, expected) {
            Ok(req)
        } else {
            Err(refuse(api))
        };
    }
    let is_form = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    if !is_form {
        return Err(refuse(api));
    }
    let (parts, body) = req.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, MAX_FORM).await else {
        return Err(json_error(StatusCode::PAYLOAD_TOO_LARGE, "form too large"));
    };
    let sent = form_field(&bytes, "csrf");
    match sent {
        Some(t) if auth::constant_time_eq(&t, expected) => {
            Ok(Request::from_parts(parts, Body::from(bytes)))
        }
        _ => Err(refuse(api)),
    }
}

/// One field of an urlencoded form.
pub(crate) fn form_field(body: &[u8], name: &str) -> Option<String> {
    serde_urlencoded::from_bytes::<Vec<(String, String)>>(body)
        .ok()?
        .into_iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v)
}

/// Security headers on every answer, and request metrics.
async fn headers_and_metrics(
    axum::extract::State(console): axum::extract::State<Console>,
    req: Request,
    next: Next,
) -> Response {
    let started = std::time::Instant::now();
    let is_static = req.uri().path().starts_with("/static/");
    let mut res = next.run(req).await;
    console
        .inner
        .metrics
        .observe(res.status().as_u16(), started.elapsed());
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
             connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        ),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    if !is_static && !h.contains_key(header::CACHE_CONTROL) {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    if console.inner.tls {
        h.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=31536000"),
        );
    }
    res
}
