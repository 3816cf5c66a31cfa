//! The compliance page and API: real assessments (`sluice_assess` over the demo plant's
//! store, kept in the store as `sluice assess` does) are shown with the numbers their stored
//! JSON holds, the trend has one point per assessment, and a store without assessments (or
//! without the tables, or with an unreadable row) gives the empty state, never a 500.
mod common;

use axum::http::StatusCode;
use common::*;
use sluice_assess::{store as astore, Assessment, Status};
use sluice_console::auth::{self, Role};
use sluice_console::{Console, ConsoleConfig};
use std::path::Path;

/// Counts by status, as the stored JSON says.
fn counts(a: &Assessment) -> [u64; 5] {
    let n = |s: Status| a.controls.iter().filter(|c| c.status == s).count() as u64;
    [
        n(Status::Satisfied),
        n(Status::Partial),
        n(Status::NotSatisfied),
        n(Status::NotAssessed),
        n(Status::NotApplicable),
    ]
}

fn pct(part: u64, total: u64) -> f64 {
    (part as f64 * 1000.0 / total as f64).round() / 10.0
}

/// The first ten roadmap steps, (check, phase), in roadmap order.
fn top_steps(a: &Assessment) -> Vec<(String, String)> {
    a.roadmap
        .iter()
        .flat_map(|p| p.items.iter().map(|i| (i.check.clone(), i.phase.clone())))
        .take(10)
        .collect()
}

/// The value of the element with `id`'s text (`id="x">TEXT<`).
fn text_of<'a>(html: &'a str, id: &str) -> &'a str {
    let key = format!("id=\"{id}\">");
    let i = html.find(&key).map(|i| i + key.len()).unwrap_or(html.len());
    let rest = html.get(i..).unwrap_or("");
    rest.get(..rest.find('<').unwrap_or(0)).unwrap_or("")
}

fn token_client(c: &Console, db: &Path, user: &str) -> Client {
    add_user(db, user, Role::Viewer, true);
    let store = sluice_console::db::open_store(db).expect("store");
    let token = auth::create_token(store.conn(), user, None).expect("token");
    let mut t = Client::new(c);
    t.bearer = Some(token);
    t
}

async fn session_client(c: &Console, db: &Path, user: &str) -> Client {
    let secret = add_user(db, user, Role::Viewer, true);
    let mut s = Client::new(c);
    s.login(user, PASSWORD, &secret).await;
    s
}

#[tokio::test]
async fn compliance_shows_the_stored_assessments() {
    let f = fixture();
    let policy = sluice_policy::Policy::load(&f.policy).expect("policy");
    // Two assessments a day apart: evidence only, then with the questionnaire answered.
    let t0 = 1_700_000_000_000_000_000;
    let first = assess_into(&f.db, Some(&policy), false, t0);
    let second = assess_into(&f.db, Some(&policy), true, t0 + 86_400_000_000_000);
    let (id1, id2) = (first.id.expect("id"), second.id.expect("id"));
    // What the store keeps is what we compare against.
    let store = sluice_store::Store::open(&f.db).expect("store");
    let s1 = astore::load(store.conn(), &id1.to_string())
        .expect("load")
        .expect("first");
    let s2 = astore::load(store.conn(), &id2.to_string())
        .expect("load")
        .expect("second");
    assert_eq!(s2, second, "the store keeps the assessment as made");
    assert!(
        counts(&s2)[0] > counts(&s1)[0],
        "answers satisfy more controls"
    );
    assert!(!s2.scores.iec62443.is_empty() && !s2.scores.csf.is_empty());
    drop(store);

    let c = console(&f);
    let mut t = token_client(&c, &f.db, "vic");
    // The summary of the newest assessment.
    let a = t.get("/api/compliance").await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    let j = a.json();
    assert_eq!(j["tables"], true);
    assert!(j["hint"].is_null());
    let l = &j["latest"];
    assert_eq!(l["id"], id2);
    assert_eq!(l["uuid"], s2.uuid.as_str());
    assert_eq!(l["created"], s2.created.as_str());
    assert_eq!(l["frameworks"], serde_json::json!(["iec62443", "csf"]));
    let [sat, part, not, unassessed, na] = counts(&s2);
    let total = s2.controls.len() as u64;
    assert_eq!(l["counts"]["total"], total);
    assert_eq!(l["counts"]["satisfied"], sat);
    assert_eq!(l["counts"]["partial"], part);
    assert_eq!(l["counts"]["not_satisfied"], not);
    assert_eq!(l["counts"]["not_assessed"], unassessed);
    assert_eq!(l["counts"]["not_applicable"], na);
    assert_eq!(l["satisfied_pct"], pct(sat, total));
    assert_eq!(l["gaps"], s2.gaps.len());
    // SL-A against SL-T per zone, FR by FR.
    let zones = l["iec62443"].as_array().expect("zones");
    assert_eq!(zones.len(), s2.scores.iec62443.len());
    for (z, want) in zones.iter().zip(&s2.scores.iec62443) {
        assert_eq!(z["zone"], want.zone.as_str());
        assert_eq!(z["sl_achieved"], want.sl_achieved);
        assert_eq!(z["sl_target"].as_u64(), want.sl_target.map(u64::from));
        let frs = z["frs"].as_array().expect("frs");
        assert_eq!(frs.len(), want.frs.len());
        for (fr, w) in frs.iter().zip(&want.frs) {
            assert_eq!(fr["fr"], w.fr.as_str());
            assert_eq!(fr["sl_achieved"], w.sl_achieved);
        }
    }
    assert!(
        s2.scores.iec62443.iter().any(|z| z.zone == "control"),
        "zones come from the policy"
    );
    // CSF tier per function.
    let csf = l["csf"].as_array().expect("csf");
    assert_eq!(csf.len(), s2.scores.csf.len());
    for (f, want) in csf.iter().zip(&s2.scores.csf) {
        assert_eq!(f["function"], want.function.as_str());
        assert_eq!(f["tier"], want.tier);
        assert_eq!(f["tier_name"], want.tier_name.as_str());
    }
    // The top of the roadmap with its phases.
    let got: Vec<(String, String)> = l["top_gaps"]
        .as_array()
        .expect("gaps")
        .iter()
        .map(|g| {
            (
                g["check"].as_str().unwrap_or("").to_string(),
                g["phase"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    assert_eq!(got, top_steps(&s2));
    assert!(!got.is_empty(), "the demo plant has failing checks");
    // The trend: one point per assessment, oldest first, with the stored counts.
    let trend = j["trend"].as_array().expect("trend");
    assert_eq!(trend.len(), 2);
    for (p, want) in trend.iter().zip([&s1, &s2]) {
        let [sat, part, not, _, _] = counts(want);
        let total = want.controls.len() as u64;
        assert_eq!(p["id"], want.id.unwrap_or(0));
        assert_eq!(p["created"], want.created.as_str());
        assert_eq!(p["total"], total);
        assert_eq!(p["satisfied"], sat);
        assert_eq!(p["partial"], part);
        assert_eq!(p["not_satisfied"], not);
        assert_eq!(p["assessed"], sat + part + not);
        assert_eq!(p["satisfied_pct"], pct(sat, total));
    }
    // An earlier assessment by id.
    let e = t.get(&format!("/api/compliance?id={id1}")).await.json();
    assert_eq!(e["latest"]["id"], id1);
    assert_eq!(e["latest"]["counts"]["satisfied"], counts(&s1)[0]);
    assert_eq!(
        t.get("/api/compliance?id=9999").await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        t.get("/api/compliance?id=abc").await.status,
        StatusCode::BAD_REQUEST
    );
    // One assessment's JSON, by id and by UUID: exactly what is stored.
    let want1 = serde_json::to_value(&s1).expect("json");
    let by_id = t.get(&format!("/api/compliance/{id1}")).await;
    assert_eq!(by_id.status, StatusCode::OK);
    assert_eq!(by_id.json(), want1);
    let by_uuid = t.get(&format!("/api/compliance/{}", s1.uuid)).await.json();
    assert_eq!(by_uuid, want1);
    assert_eq!(by_uuid["schema"], "sluice.assessment/1");
    assert_eq!(
        t.get("/api/compliance/424242").await.status,
        StatusCode::NOT_FOUND
    );
    // Documented.
    let doc = t.get("/api/openapi.json").await.json();
    assert!(doc["paths"]["/api/compliance"]["get"].is_object());
    assert!(doc["paths"]["/api/compliance/{id}"]["get"].is_object());
    assert!(doc["components"]["schemas"]["Compliance"].is_object());

    // The page, for a viewer.
    let mut s = session_client(&c, &f.db, "val").await;
    let page = s.get("/compliance").await;
    assert_eq!(page.status, StatusCode::OK);
    let h = &page.body;
    assert!(h.contains("<a href=\"/compliance\" class=\"on\">Compliance</a>"));
    assert!(h.contains(&format!("Latest assessment #{id2}")));
    let num = |n: u64| sluice_console::html::num(n);
    assert_eq!(text_of(h, "count-satisfied"), num(sat));
    assert_eq!(text_of(h, "count-partial"), num(part));
    assert_eq!(text_of(h, "count-not-satisfied"), num(not));
    assert_eq!(text_of(h, "count-not-assessed"), num(unassessed));
    assert!(h.contains("id=\"sl-table\""));
    for z in &s2.scores.iec62443 {
        let row = format!(
            "data-zone=\"{}\" data-sl-t=\"{}\" data-sl-a=\"{}\"",
            z.zone,
            z.sl_target.map(|t| t.to_string()).unwrap_or_default(),
            z.sl_achieved
        );
        assert!(h.contains(&row), "SL row {row}");
    }
    for f in &s2.scores.csf {
        assert!(h.contains(&format!(
            "data-function=\"{}\" data-tier=\"{}\"",
            f.function, f.tier
        )));
    }
    for (check, phase) in top_steps(&s2) {
        let row = h
            .split(&format!("<tr data-check=\"{check}\">"))
            .nth(1)
            .unwrap_or_else(|| panic!("roadmap row {check}"));
        assert!(row.starts_with(&format!("<td>{phase}</td>")), "{check}");
    }
    // The trend: one bar per assessment, in time order, with its share.
    let bars: Vec<&str> = h.split("class=\"trend-bar\"").skip(1).collect();
    assert_eq!(bars.len(), 2);
    for (bar, want) in bars.iter().zip([&s1, &s2]) {
        let [sat, ..] = counts(want);
        assert!(bar.starts_with(&format!(
            " data-id=\"{}\" data-pct=\"{}\"",
            want.id.unwrap_or(0),
            pct(sat, want.controls.len() as u64)
        )));
    }
    assert!(h.contains(&format!("<tr class=\"on\" data-id=\"{id2}\">")));
    assert!(h.contains(&format!("<tr data-id=\"{id1}\">")));
    // An earlier one, and nonsense ids (the newest, never an error).
    let p1 = s.get(&format!("/compliance?id={id1}")).await.body;
    assert!(p1.contains(&format!("Earlier assessment #{id1}")));
    assert_eq!(text_of(&p1, "count-satisfied"), num(counts(&s1)[0]));
    let p9 = s.get("/compliance?id=9999").await;
    assert_eq!(p9.status, StatusCode::OK);
    assert!(p9.body.contains("no such assessment") && p9.body.contains("Latest assessment"));
    assert_eq!(s.get("/compliance?id=%00x").await.status, StatusCode::OK);
}

#[tokio::test]
async fn stores_without_assessments_show_the_empty_state() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("old.db");
    drop(sluice_store::Store::open(&db).expect("store"));
    let mut cfg = ConsoleConfig::new(&db);
    cfg.login_attempts_per_ip = 10_000;
    let c = Console::open(&cfg).expect("console");
    let mut t = token_client(&c, &db, "vic");
    let mut s = session_client(&c, &db, "val").await;
    let hint = format!("sluice assess --db {}", db.display());
    // Tables present, no row.
    let j = t.get("/api/compliance").await.json();
    assert_eq!(j["tables"], true);
    assert!(j["latest"].is_null());
    assert_eq!(j["trend"], serde_json::json!([]));
    assert!(j["hint"].as_str().unwrap_or("").contains(&hint));
    let p = s.get("/compliance").await;
    assert_eq!(p.status, StatusCode::OK);
    assert!(p.body.contains("id=\"compliance-empty\""));
    assert!(p.body.contains(&format!("<code>{hint}</code>")));
    assert!(p.body.contains("holds no governance assessment"));
    // A store from before assessments existed: no tables at all.
    {
        let conn = rusqlite::Connection::open(&db).expect("open");
        conn.execute_batch("DROP TABLE assessment_controls; DROP TABLE assessments;")
            .expect("drop");
    }
    let a = t.get("/api/compliance").await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    assert_eq!(a.json()["tables"], false);
    assert!(a.json()["latest"].is_null());
    assert_eq!(
        t.get("/api/compliance/1").await.status,
        StatusCode::NOT_FOUND
    );
    let p = s.get("/compliance").await;
    assert_eq!(p.status, StatusCode::OK);
    assert!(p.body.contains("id=\"compliance-empty\"") && p.body.contains("older Sluice"));
    assert!(p.body.contains(&format!("<code>{hint}</code>")));
    assert_eq!(s.get("/compliance?id=1").await.status, StatusCode::OK);
}

#[tokio::test]
async fn unreadable_assessment_rows_do_not_break_the_page() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("s.db");
    {
        let st = sluice_store::Store::open(&db).expect("store");
        st.conn()
            .execute_batch(
                "INSERT INTO assessments (id, uuid, created, frameworks, site, assessed, satisfied, partial, not_satisfied, summary, json) VALUES
                   (1, 'u-bad', 1700000000000000000, 'iec62443,,csf', NULL, 5, 2, 1, 2, '{}', '{not json'),
                   (2, 'u-odd', -9223372036854775808, '', 'x<script>', -4, -1, 99999999999, 0, '', '{\"scores\":{\"iec62443\":[{\"zone\":\"<b>z</b>\",\"sl_achieved\":1}]},\"roadmap\":[{\"name\":\"Quick wins\",\"items\":[{\"check\":\"c1\",\"title\":\"T\"}]}],\"controls\":[{\"status\":\"satisfied\"},{\"status\":\"weird\"},{}]}');
                 INSERT INTO assessment_controls (assessment_id, control, framework, status) VALUES
                   (1, 'A:1', 'a', 'satisfied'), (1, 'A:2', 'a', 'partial'), (1, 'A:3', 'a', 'x');",
            )
            .expect("insert");
    }
    let mut cfg = ConsoleConfig::new(&db);
    cfg.login_attempts_per_ip = 10_000;
    let c = Console::open(&cfg).expect("console");
    let mut t = token_client(&c, &db, "vic");
    let mut s = session_client(&c, &db, "val").await;
    let j = t.get("/api/compliance").await.json();
    let trend = j["trend"].as_array().expect("trend");
    assert_eq!(trend.len(), 2);
    // Oldest first: the row dated at the minimum time comes first.
    assert_eq!(trend[0]["id"], 2);
    assert_eq!(trend[1]["id"], 1);
    assert_eq!(
        trend[1]["frameworks"],
        serde_json::json!(["iec62443", "csf"])
    );
    assert_eq!(trend[1]["total"], 3);
    assert_eq!(trend[0]["satisfied"], 0, "negative counts read as 0");
    // The newest row's JSON is unreadable: its counts come from the columns, with a note.
    let l = &j["latest"];
    assert_eq!(l["id"], 1);
    assert_eq!(l["counts"]["satisfied"], 2);
    assert_eq!(l["counts"]["not_assessed"], 0);
    assert!(l["notes"][0]
        .as_str()
        .unwrap_or("")
        .contains("could not be read"));
    let one = t.get("/api/compliance/1").await;
    assert_eq!(one.status, StatusCode::OK);
    assert!(one.json()["error"].is_string());
    // The odd row: partial JSON is shown as far as it goes, escaped.
    let o = t.get("/api/compliance?id=2").await.json();
    assert_eq!(o["latest"]["counts"]["total"], 3);
    assert_eq!(o["latest"]["counts"]["satisfied"], 1);
    assert_eq!(o["latest"]["counts"]["not_assessed"], 2);
    assert_eq!(o["latest"]["top_gaps"][0]["phase"], "Quick wins");
    for path in ["/compliance", "/compliance?id=2", "/compliance?id=1"] {
        let p = s.get(path).await;
        assert_eq!(p.status, StatusCode::OK, "{path}");
        assert!(!p.body.contains("<script>") && !p.body.contains("<b>z</b>"));
    }
    assert!(s
        .get("/compliance?id=2")
        .await
        .body
        .contains("&lt;b&gt;z&lt;/b&gt;"));
}

#[tokio::test]
async fn the_inline_catalogue_fallback_scores_zones_and_functions() {
    // What CI without ../shared/data assesses with: still an SL table and CSF tiers.
    let f = fixture();
    let policy = sluice_policy::Policy::load(&f.policy).expect("policy");
    let a = assess_with(&inline_catalog(), &f.db, Some(&policy), false, 1);
    assert!(a.scores.iec62443.len() >= 3, "{:?}", a.scores.iec62443);
    assert_eq!(a.scores.csf.len(), 6);
    let c = console(&f);
    let mut t = token_client(&c, &f.db, "vic");
    let j = t.get("/api/compliance").await.json();
    let [sat, ..] = counts(&a);
    assert_eq!(j["latest"]["counts"]["satisfied"], sat);
    assert_eq!(j["latest"]["counts"]["total"], a.controls.len());
    assert_eq!(
        j["latest"]["iec62443"].as_array().map(Vec::len),
        Some(a.scores.iec62443.len())
    );
    assert_eq!(j["trend"].as_array().map(Vec::len), Some(1));
}
