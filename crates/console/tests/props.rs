//! Property tests: no input from outside (paths, query strings, form bodies, codes, text to
//! escape) makes the console panic or answer 500.
mod common;

use axum::http::StatusCode;
use common::*;
use proptest::prelude::*;
use sluice_console::auth::{self, Role};
use sluice_console::html;
use std::sync::OnceLock;

struct Shared {
    _f: Fixture,
    client: Client,
    session: Client,
    rt: tokio::runtime::Runtime,
}

fn shared() -> &'static Shared {
    static S: OnceLock<Shared> = OnceLock::new();
    S.get_or_init(|| {
        let f = fixture();
        let secret = add_user(&f.db, "prop", Role::Admin, true);
        let token = {
            let store = sluice_console::db::open_store(&f.db).expect("store");
            auth::create_token(store.conn(), "prop", None).expect("token")
        };
        let c = console(&f);
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        let mut client = Client::new(&c);
        client.bearer = Some(token);
        let mut session = Client::new(&c);
        rt.block_on(session.login("prop", PASSWORD, &secret));
        Shared {
            _f: f,
            client,
            session,
            rt,
        }
    })
}

fn encode(s: &str) -> String {
    html::url(s)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn escaping_leaves_no_markup(s in any::<String>()) {
        let e = html::esc(&s);
        prop_assert!(!e.contains('<') && !e.contains('>') && !e.contains('"') && !e.contains('\''));
        let u = html::url(&s);
        prop_assert!(u.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.~:%".contains(&b)));
    }

    #[test]
    fn api_answers_any_query_without_a_server_error(
        route in prop::sample::select(vec!["/api/assets", "/api/alerts", "/api/flows", "/api/events",
                                           "/api/conversations", "/api/map", "/api/audit"]),
        key in prop::sample::select(vec!["page", "per_page", "q", "zone", "role", "status", "severity",
                                         "rule", "ip", "assignee", "chain", "protocol", "dataset", "flow",
                                         "violations", "conduits"]),
        value in any::<String>(),
    ) {
        let s = shared();
        let mut c = s.client.clone();
        let path = format!("{route}?{key}={}", encode(&value));
        let a = s.rt.block_on(c.get(&path));
        prop_assert!(a.status == StatusCode::OK, "{} -> {}: {}", path, a.status, a.body);
    }

    #[test]
    fn pages_and_ids_never_fail_on_the_server(
        route in prop::sample::select(vec!["/assets/", "/alerts/", "/flows/", "/events/", "/api/assets/",
                                           "/api/alerts/", "/api/flows/", "/api/events/", "/map?zone=",
                                           "/assets?q=", "/alerts?rule=", "/flows?ip=", "/compliance?id=",
                                           "/api/compliance/"]),
        id in any::<String>(),
    ) {
        let s = shared();
        let mut c = s.session.clone();
        let path = format!("{route}{}", encode(&id));
        let a = s.rt.block_on(c.get(&path));
        prop_assert!(a.status == StatusCode::OK || a.status == StatusCode::NOT_FOUND,
            "{} -> {}", path, a.status);
    }

    #[test]
    fn form_bodies_of_any_shape_are_refused_cleanly(body in any::<Vec<u8>>(), code in "[0-9a-z ]{0,9}") {
        let s = shared();
        let mut c = s.session.clone();
        let req = axum::http::Request::builder()
            .method("POST")
            .uri("/alerts/A-setpoint-1/assign")
            .header("content-type", "application/x-www-form-urlencoded")
            .header("cookie", c.cookies.join("; "))
            .body(axum::body::Body::from(body))
            .expect("request");
        let a = s.rt.block_on(c.send(req));
        prop_assert!(a.status.is_client_error() || a.status.is_redirection(), "{}", a.status);
        // Codes of any shape are checked without a panic (and garbage never passes).
        let store = sluice_console::db::open_store(&s._f.db).expect("store");
        let r = auth::check_code(store.conn(), "nobody", &code, auth::now()).expect("check");
        prop_assert_eq!(r, auth::CodeCheck::Wrong);
    }
}
