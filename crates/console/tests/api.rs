//! The console's HTTP surface, in process: every route refuses anonymous callers, state
//! changes need the session's CSRF token, the role matrix holds on every route, and the
//! login (password, TOTP, enrolment, lockout, rate limit) behaves.
mod common;

use axum::http::StatusCode;
use common::*;
use sluice_console::auth::{self, Role};
use sluice_console::{Need, ROUTES};

/// A concrete path for a route pattern, with ids of real rows.
fn concrete(path: &str, f: &Fixture) -> String {
    let asset = format!("ip:{PLC}");
    path.replace("{file}", "app.css")
        .replace("{name}", "nobody-here")
        .replace(
            "{id}",
            if path.starts_with("/api/compliance") {
                "1"
            } else if path.starts_with("/api/alerts") || path.starts_with("/alerts") {
                &f.setpoint_alert
            } else if path.contains("assets") {
                &asset
            } else if path.contains("flows") {
                &f.vnc_flow
            } else {
                &f.write_event
            },
        )
}

#[tokio::test]
async fn every_route_refuses_anonymous_access() {
    let f = fixture();
    let c = console(&f);
    let mut anon = Client::new(&c);
    let mut checked = 0;
    for (method, pattern, need) in ROUTES {
        let path = concrete(pattern, &f);
        let a = if *method == "GET" {
            anon.get(&path).await
        } else {
            anon.post_form(&path, &[("csrf", "x")], false).await
        };
        match need {
            Need::Public => continue,
            Need::Pending => {
                assert_eq!(a.status, StatusCode::SEE_OTHER, "{method} {path}");
                assert_eq!(a.location(), "/login", "{method} {path}");
            }
            Need::Role(_) => {
                if path.starts_with("/api/") || path == "/metrics" {
                    assert_eq!(
                        a.status,
                        StatusCode::UNAUTHORIZED,
                        "{method} {path}: {}",
                        a.body
                    );
                    assert!(a.json()["error"].is_string());
                } else {
                    assert_eq!(a.status, StatusCode::SEE_OTHER, "{method} {path}");
                    assert_eq!(a.location(), "/login", "{method} {path}");
                }
            }
        }
        checked += 1;
    }
    assert!(checked >= 40, "only {checked} routes checked");
    // Nothing changed: the alert is still open and no user was created.
    let store = sluice_console::db::open_store(&f.db).expect("store");
    let acked: i64 = store
        .conn()
        .query_row(
            "SELECT acknowledged FROM alerts WHERE id = ?1",
            [&f.setpoint_alert],
            |r| r.get(0),
        )
        .expect("alert");
    assert_eq!(acked, 0);
    assert_eq!(auth::user_count(store.conn()).expect("count"), 0);
    // A session that has only passed the password step is not signed in either.
    add_user(&f.db, "half", Role::Admin, true);
    let mut half = Client::new(&c);
    let a = half.password("half", PASSWORD).await;
    assert_eq!(a.location(), "/login/totp");
    assert_eq!(half.get("/").await.location(), "/login/totp");
    assert_eq!(
        half.get("/api/alerts").await.status,
        StatusCode::UNAUTHORIZED
    );
    // A forged or stale cookie is nobody.
    let mut forged = Client::new(&c);
    forged
        .cookies
        .push(format!("sluice_session={}", "ab".repeat(32)));
    assert_eq!(
        forged.get("/api/assets").await.status,
        StatusCode::UNAUTHORIZED
    );
    // Unknown tokens are refused.
    let mut t = Client::new(&c);
    t.bearer = Some("slc_not-a-token".into());
    assert_eq!(t.get("/api/assets").await.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn posts_without_the_csrf_token_are_refused() {
    let f = fixture();
    let secret = add_user(&f.db, "ana", Role::Analyst, true);
    let c = console(&f);
    let mut s = Client::new(&c);
    s.login("ana", PASSWORD, &secret).await;
    let ack = format!("/alerts/{}/ack", f.setpoint_alert);
    // Form without the field, with a wrong one, and JSON without the header.
    let a = s.post_form(&ack, &[], false).await;
    assert_eq!(a.status, StatusCode::FORBIDDEN);
    let a = s.post_form(&ack, &[("csrf", "0123")], false).await;
    assert_eq!(a.status, StatusCode::FORBIDDEN);
    let api_ack = format!("/api/alerts/{}/ack", f.setpoint_alert);
    let a = s.post_json(&api_ack, "{}", false).await;
    assert_eq!(a.status, StatusCode::FORBIDDEN);
    assert!(a.body.contains("CSRF"));
    let a = s.get(&format!("/api/alerts/{}", f.setpoint_alert)).await;
    assert_eq!(
        a.json()["alert"]["acknowledged"],
        false,
        "refused posts changed nothing"
    );
    // Logout needs it too.
    let a = s.post_form("/logout", &[], false).await;
    assert_eq!(a.status, StatusCode::FORBIDDEN);
    // The login form carries its own token (double-submit cookie).
    let mut fresh = Client::new(&c);
    let a = fresh
        .post_form(
            "/login",
            &[("username", "ana"), ("password", PASSWORD)],
            false,
        )
        .await;
    assert_eq!(a.status, StatusCode::FORBIDDEN);
    assert!(a.cookie("sluice_session").is_none());
    // With the token, the same requests work.
    let a = s.post_form(&ack, &[], true).await;
    assert_eq!(a.status, StatusCode::SEE_OTHER, "{}", a.body);
    let a = s.get(&format!("/api/alerts/{}", f.setpoint_alert)).await;
    assert_eq!(a.json()["alert"]["acknowledged"], true);
    assert_eq!(a.json()["alert"]["acknowledged_by"], "ana");
    let a = s
        .post_json(
            &format!("/api/alerts/{}/reopen", f.setpoint_alert),
            "",
            true,
        )
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    assert_eq!(a.json()["alert"]["acknowledged"], false);
    // Bearer tokens carry no cookie and need no CSRF token.
    let token = {
        let store = sluice_console::db::open_store(&f.db).expect("store");
        auth::create_token(store.conn(), "ana", None).expect("token")
    };
    let mut t = Client::new(&c);
    t.bearer = Some(token);
    let a = t.post_json(&api_ack, "", false).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
}

#[tokio::test]
async fn the_role_matrix_holds_on_every_route() {
    let f = fixture();
    // A stored assessment for /api/compliance/{id} (as `sluice assess` keeps it).
    sluice_console::db::open_store(&f.db)
        .expect("store")
        .conn()
        .execute(
            "INSERT INTO assessments (id, uuid, created, frameworks, assessed, satisfied, partial, not_satisfied, summary, json) \
             VALUES (1, 'u-1', 0, 'csf', 0, 0, 0, 0, '{}', '{\"schema\":\"sluice.assessment/1\",\"id\":1}')",
            [],
        )
        .expect("assessment");
    let c = console(&f);
    let mut clients = Vec::new();
    for (name, role) in [
        ("vic", Role::Viewer),
        ("ana", Role::Analyst),
        ("adm", Role::Admin),
    ] {
        let secret = add_user(&f.db, name, role, true);
        let mut cl = Client::new(&c);
        cl.login(name, PASSWORD, &secret).await;
        clients.push((role, cl));
    }
    // Every GET route: allowed from its role up, forbidden below.
    for (method, pattern, need) in ROUTES {
        let Need::Role(min) = need else { continue };
        if *method != "GET" {
            continue;
        }
        let path = concrete(pattern, &f);
        for (role, cl) in clients.iter_mut() {
            let a = cl.get(&path).await;
            if *role >= *min {
                assert_eq!(a.status, StatusCode::OK, "{role} GET {path}: {}", a.body);
            } else {
                assert_eq!(a.status, StatusCode::FORBIDDEN, "{role} GET {path}");
            }
        }
    }
    let [(_, vic), (_, ana), (_, adm)] = &mut clients[..] else {
        panic!("three clients")
    };
    // A viewer cannot acknowledge or assign, through the pages or the API.
    let ack = format!("/alerts/{}/ack", f.setpoint_alert);
    assert_eq!(
        vic.post_form(&ack, &[], true).await.status,
        StatusCode::FORBIDDEN
    );
    let api_ack = format!("/api/alerts/{}/ack", f.setpoint_alert);
    assert_eq!(
        vic.post_json(&api_ack, "", true).await.status,
        StatusCode::FORBIDDEN
    );
    let assign = format!("/api/alerts/{}/assign", f.setpoint_alert);
    assert_eq!(
        vic.post_json(&assign, r#"{"assignee":"ana"}"#, true)
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    let page = vic.get(&format!("/alerts/{}", f.setpoint_alert)).await;
    assert!(
        !page.body.contains("id=\"ack\""),
        "no acknowledge button for viewers"
    );
    // An analyst can.
    let a = ana.post_json(&assign, r#"{"assignee":"ana"}"#, true).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    assert_eq!(a.json()["alert"]["assignee"], "ana");
    let a = ana
        .post_json(&assign, r#"{"assignee":"ghost"}"#, true)
        .await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
    let a = ana.post_form(&ack, &[], true).await;
    assert_eq!(a.status, StatusCode::SEE_OTHER);
    let page = ana.get(&format!("/alerts/{}", f.setpoint_alert)).await;
    assert!(
        page.body.contains("acknowledged</span> by ana"),
        "{}",
        page.body
    );
    // But an analyst cannot manage users; an admin can.
    let new_user = r#"{"name":"newbie","role":"viewer","password":"a long password"}"#;
    assert_eq!(
        ana.post_json("/api/users", new_user, true).await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        ana.post_form(
            "/admin/users",
            &[("name", "x"), ("role", "admin"), ("password", "12345678")],
            true
        )
        .await
        .status,
        StatusCode::FORBIDDEN
    );
    let a = adm.post_json("/api/users", new_user, true).await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.body);
    assert!(a.json()["uri"]
        .as_str()
        .unwrap_or("")
        .starts_with("otpauth://totp/Sluice:newbie?secret="));
    let a = adm
        .post_form(
            "/admin/users/newbie",
            &[("action", "role"), ("role", "analyst")],
            true,
        )
        .await;
    assert_eq!(a.status, StatusCode::OK);
    let users = adm.get("/api/users").await.json();
    let newbie = users
        .as_array()
        .and_then(|v| v.iter().find(|u| u["name"] == "newbie"))
        .expect("newbie listed");
    assert_eq!(newbie["role"], "analyst");
    assert_eq!(newbie["mfa_enrolled"], false);
    // Changing a role ends that user's sessions: the viewer promoted signs in again.
    let a = adm
        .post_form(
            "/admin/users/vic",
            &[("action", "role"), ("role", "analyst")],
            true,
        )
        .await;
    assert_eq!(a.status, StatusCode::OK);
    assert_eq!(vic.get("/api/me").await.status, StatusCode::UNAUTHORIZED);
    // The audit log saw the changes.
    let log = adm.get("/api/audit?per_page=200").await.json();
    let actions: Vec<String> = log["items"]
        .as_array()
        .map(|v| {
            v.iter()
                .map(|e| {
                    format!(
                        "{} {} {}",
                        e["user"].as_str().unwrap_or(""),
                        e["action"].as_str().unwrap_or(""),
                        e["outcome"].as_str().unwrap_or("")
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    for want in [
        "ana alert.ack success",
        "ana alert.assign success",
        "adm user.add success",
        "adm user.role success",
        "vic login.totp success",
    ] {
        assert!(
            actions.iter().any(|a| a == want),
            "audit lacks {want:?}: {actions:?}"
        );
    }
}

#[tokio::test]
async fn login_needs_password_and_totp_and_locks_out() {
    let f = fixture();
    let secret = add_user(&f.db, "ana", Role::Analyst, true);
    let c = console(&f);
    let mut s = Client::new(&c);
    // Wrong password, unknown user: the same answer.
    let a = s.password("ana", "wrong password").await;
    assert_eq!(a.status, StatusCode::UNAUTHORIZED);
    assert!(a.body.contains("Wrong user name or password"));
    let a = s.password("nobody", "wrong password").await;
    assert_eq!(a.status, StatusCode::UNAUTHORIZED);
    assert!(a.body.contains("Wrong user name or password"));
    // Right password, wrong code: refused, still half signed in.
    let a = s.password("ana", PASSWORD).await;
    assert_eq!(a.location(), "/login/totp");
    let page = s.get("/login/totp").await;
    let csrf = hidden_csrf(&page.body).expect("csrf");
    let right = next_code("ana", &secret);
    let wrong = format!("{:06}", (right.parse::<u32>().unwrap_or(0) + 1) % 1_000_000);
    let a = s
        .post_form("/login/totp", &[("code", &wrong), ("csrf", &csrf)], false)
        .await;
    assert_eq!(a.status, StatusCode::UNAUTHORIZED);
    assert!(a.body.contains("Wrong code"));
    assert_eq!(s.get("/").await.location(), "/login/totp");
    // The right code signs in, with a new session id.
    let before = s.cookies.clone();
    let a = s
        .post_form("/login/totp", &[("code", &right), ("csrf", &csrf)], false)
        .await;
    assert_eq!(a.status, StatusCode::SEE_OTHER);
    assert_eq!(a.location(), "/");
    assert_ne!(before, s.cookies, "the session id changes at sign-in");
    assert_eq!(s.get("/").await.status, StatusCode::OK);
    // The same code cannot be used again (replay).
    let mut again = Client::new(&c);
    again.password("ana", PASSWORD).await;
    let page = again.get("/login/totp").await;
    let csrf = hidden_csrf(&page.body).expect("csrf");
    let a = again
        .post_form("/login/totp", &[("code", &right), ("csrf", &csrf)], false)
        .await;
    assert_eq!(a.status, StatusCode::UNAUTHORIZED);
    assert!(a.body.contains("already used"));
    // Five failures lock the account: even the right password is refused then.
    let mut m = Client::new(&c);
    for _ in 0..auth::MAX_FAILURES {
        m.password("ana", "not the password").await;
    }
    let a = m.password("ana", PASSWORD).await;
    assert_eq!(a.status, StatusCode::FORBIDDEN);
    assert!(a.body.contains("locked"), "{}", a.body);
    // An admin can unlock.
    let store = sluice_console::db::open_store(&f.db).expect("store");
    auth::unlock(store.conn(), "ana").expect("unlock");
    let a = m.password("ana", PASSWORD).await;
    assert_eq!(a.location(), "/login/totp");
    // Sign out ends the session.
    s.csrf = s.get("/api/me").await.json()["csrf_token"]
        .as_str()
        .map(str::to_owned);
    let a = s.post_form("/logout", &[], true).await;
    assert_eq!(a.location(), "/login");
    assert_eq!(s.get("/").await.location(), "/login");
    let log = auth::audit_log(store.conn(), 100, 0).expect("audit");
    assert!(log
        .iter()
        .any(|e| e.action == "login.totp" && e.outcome == "failure"));
    assert!(log
        .iter()
        .any(|e| e.action == "login.password" && e.outcome == "locked"));
    assert!(log.iter().any(|e| e.action == "logout"));
}

#[tokio::test]
async fn first_login_enrols_the_authenticator() {
    let f = fixture();
    let secret = add_user(&f.db, "newbie", Role::Viewer, false);
    let c = console(&f);
    let mut s = Client::new(&c);
    let a = s.password("newbie", PASSWORD).await;
    assert_eq!(a.location(), "/enrol");
    let page = s.get("/enrol").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page
        .body
        .contains(&format!("otpauth://totp/Sluice:newbie?secret={secret}")));
    assert!(page.body.contains("<svg"), "QR code drawn");
    assert_eq!(s.get("/login/totp").await.location(), "/enrol");
    let csrf = hidden_csrf(&page.body).expect("csrf");
    let code = next_code("newbie", &secret);
    let a = s
        .post_form("/enrol", &[("code", &code), ("csrf", &csrf)], false)
        .await;
    assert_eq!(a.location(), "/");
    let users =
        auth::list_users(sluice_console::db::open_store(&f.db).expect("s").conn()).expect("users");
    assert!(users.iter().any(|u| u.name == "newbie" && u.mfa_enrolled));
    // With no users at all the login page tells how to create the first admin.
    let empty = tempfile::tempdir().expect("dir");
    let mut cfg = sluice_console::ConsoleConfig::new(empty.path().join("s.db"));
    cfg.login_attempts_per_ip = 100;
    let c2 = sluice_console::Console::open(&cfg).expect("console");
    let page = Client::new(&c2).get("/login").await;
    assert!(page.body.contains("sluice user add NAME --role admin"));
}

#[tokio::test]
async fn login_attempts_are_rate_limited_per_address() {
    let f = fixture();
    add_user(&f.db, "ana", Role::Analyst, true);
    let mut cfg = sluice_console::ConsoleConfig::new(&f.db);
    cfg.login_attempts_per_ip = 3;
    let c = sluice_console::Console::open(&cfg).expect("console");
    let mut s = Client::new(&c);
    for _ in 0..3 {
        assert_eq!(
            s.password("zed", "x").await.status,
            StatusCode::UNAUTHORIZED
        );
    }
    let a = s.password("ana", PASSWORD).await;
    assert_eq!(a.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(a.cookie("sluice_session").is_none());
}

#[tokio::test]
async fn cookies_are_httponly_strict_and_secure_under_tls() {
    let f = fixture();
    let secret = add_user(&f.db, "ana", Role::Analyst, true);
    for tls in [false, true] {
        let mut cfg = sluice_console::ConsoleConfig::new(&f.db);
        cfg.tls = tls;
        cfg.login_attempts_per_ip = 100;
        let c = sluice_console::Console::open(&cfg).expect("console");
        let mut s = Client::new(&c);
        let a = s.password("ana", PASSWORD).await;
        let set = a
            .set_cookies()
            .into_iter()
            .find(|c| c.starts_with("sluice_session="))
            .expect("session cookie");
        assert!(set.contains("HttpOnly"), "{set}");
        assert!(set.contains("SameSite=Strict"), "{set}");
        assert_eq!(set.contains("Secure"), tls, "{set}");
        let page = s.get("/login/totp").await;
        let csp = page
            .headers
            .get("content-security-policy")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        assert!(csp.contains("script-src 'self'") && csp.contains("frame-ancestors 'none'"));
        assert_eq!(page.headers.contains_key("strict-transport-security"), tls);
        let csrf = hidden_csrf(&page.body).expect("csrf");
        let code = next_code("ana", &secret);
        s.post_form("/login/totp", &[("code", &code), ("csrf", &csrf)], false)
            .await;
    }
}

#[tokio::test]
async fn api_lists_are_paginated_and_documented() {
    let f = fixture();
    add_user(&f.db, "vic", Role::Viewer, true);
    let token = {
        let store = sluice_console::db::open_store(&f.db).expect("store");
        auth::create_token(store.conn(), "vic", None).expect("token")
    };
    let c = console(&f);
    let mut t = Client::new(&c);
    t.bearer = Some(token);
    let p1 = t.get("/api/assets?per_page=5").await.json();
    assert_eq!(p1["items"].as_array().map(Vec::len), Some(5));
    assert_eq!(p1["has_more"], true);
    let total = p1["total"].as_u64().unwrap_or(0);
    assert!(total > 10, "{total} assets");
    let p2 = t.get("/api/assets?per_page=5&page=2").await.json();
    assert_ne!(p1["items"][0]["ip"], p2["items"][0]["ip"]);
    let last = t
        .get(&format!(
            "/api/assets?per_page=5&page={}",
            total.div_ceil(5)
        ))
        .await
        .json();
    assert_eq!(last["has_more"], false);
    // Lenient parameters: nonsense pages and sizes are clamped, never a 500.
    for q in [
        "page=-1",
        "page=abc&per_page=0",
        "per_page=100000",
        "severity=bogus&status=%00",
    ] {
        let a = t.get(&format!("/api/alerts?{q}")).await;
        assert_eq!(a.status, StatusCode::OK, "{q}: {}", a.body);
    }
    let alerts = t.get("/api/alerts?status=all&per_page=500").await.json();
    assert_eq!(alerts["items"].as_array().map(Vec::len), Some(32));
    let crit = t.get("/api/alerts?severity=critical").await.json();
    assert_eq!(crit["items"].as_array().map(Vec::len), Some(1));
    assert_eq!(crit["items"][0]["id"], f.setpoint_alert.as_str());
    // The alert links its evidence: the setpoint write and the intruder's flow.
    let a = t
        .get(&format!("/api/alerts/{}", f.setpoint_alert))
        .await
        .json();
    let ev = a["evidence"].as_array().cloned().unwrap_or_default();
    assert!(ev.iter().any(|e| e["id"] == f.write_event.as_str()
        && e["kind"] == "event"
        && e["flow"].is_string()));
    assert!(ev
        .iter()
        .any(|e| e["id"] == f.vnc_flow.as_str() && e["kind"] == "flow"));
    assert_eq!(
        a["chain"].as_array().map(Vec::len),
        Some(1),
        "the other alert of the chain"
    );
    // The OpenAPI document names every API route.
    let doc = t.get("/api/openapi.json").await.json();
    assert_eq!(doc["openapi"], "3.0.3");
    for (_, path, _) in ROUTES
        .iter()
        .filter(|r| r.1.starts_with("/api/") && r.1 != "/api/openapi.json")
    {
        assert!(
            doc["paths"].get(*path).is_some(),
            "{path} missing from the OpenAPI document"
        );
    }
    // Metrics: Prometheus text with the store's counts.
    let m = t.get("/metrics").await;
    assert_eq!(m.status, StatusCode::OK);
    assert!(
        m.body.contains("sluice_events{dataset=\"sluice.modbus\"}"),
        "{}",
        m.body
    );
    assert!(m
        .body
        .contains("sluice_alerts{severity=\"critical\",status=\"open\"} 1"));
    assert!(m.body.contains("sluice_last_run_drops 0"));
    assert!(m
        .body
        .contains("sluice_console_request_duration_seconds_count"));
    // Tokens open the API only, not the pages.
    assert_eq!(t.get("/").await.location(), "/login");
}

#[tokio::test]
async fn pages_show_the_plant() {
    let f = fixture();
    let secret = add_user(&f.db, "vic", Role::Viewer, true);
    let c = console(&f);
    let mut s = Client::new(&c);
    s.login("vic", PASSWORD, &secret).await;
    let o = s.get("/").await.body;
    assert!(o.contains("Riverside Water Treatment"));
    assert!(o.contains("Alerts by severity over time") && o.contains("<svg"));
    assert!(
        o.contains("direct_enterprise_to_control"),
        "top violations list the intrusion"
    );
    // The map draws the intruder's edge in red.
    let m = s.get("/map").await.body;
    let edge = m
        .split("<path class=\"edge violation\"")
        .skip(1)
        .find(|p| p.contains(&format!("data-src=\"{ATTACKER}\" data-dst=\"{HMI}\"")))
        .expect("a violation edge from the intruder to the HMI");
    assert!(edge.contains("stroke=\"#e5484d\""));
    assert!(m.contains("data-conduit=\"hmi-to-plc\""), "conduits drawn");
    assert!(m.contains(&format!("data-ip=\"{PLC}\"")));
    // Filters: only violations keeps the intruder's edge and drops allowed polling.
    let v = s.get("/map?f=1&violations=1").await.body;
    assert!(v.contains(&format!("data-src=\"{ATTACKER}\" data-dst=\"{HMI}\"")));
    assert!(!v.contains("class=\"edge ok\""));
    let a = s.get(&format!("/assets/ip:{PLC}")).await.body;
    assert!(
        a.contains("BMX P34 2020") && a.contains("Schneider Electric"),
        "PLC identity"
    );
    assert!(
        a.contains("Write outside the safety envelope"),
        "PLC alerts"
    );
    let fl = s.get("/flows").await.body;
    assert!(fl.contains("id=\"matrix\"") && fl.contains("hmi-to-plc"));
    let p = s.get("/policy").await.body;
    assert!(p.contains("vendor-remote-access") && p.contains("10.10.1.0/24"));
    let fd = s.get(&format!("/flows/{}", f.vnc_flow)).await.body;
    assert!(fd.contains("no_conduit") || fd.contains("direct_enterprise_to_control"));
    let ev = s.get(&format!("/events/{}", f.write_event)).await.body;
    assert!(ev.contains("11100"));
    let missing = s.get("/assets/ip:192.0.2.1").await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    let search = s.get("/assets?q=Schneider").await.body;
    assert!(search.contains(PLC) && !search.contains("203.0.113.66"));
    let zone = s.get("/assets?zone=control").await.body;
    assert!(zone.contains(PLC) && !zone.contains(HMI));
}
