//! Test fixtures: a store analysed from the synthesiser's demo capture (the water plant
//! with the Oldsmar intrusion), the example policy, alerts of the Oldsmar chain inserted as
//! the detection engine would write them, users, and an in-process HTTP client.
#![allow(dead_code)]

use axum::body::Body;
use axum::http::{header, Request, Response, StatusCode};
use http_body_util::BodyExt;
use rusqlite::{params, Connection};
use sluice_console::auth::{self, Role};
use sluice_console::{Console, ConsoleConfig};
use sluice_engine::{Engine, EngineConfig};
use sluice_store::Store;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};
use tower::ServiceExt;

/// DESIGN.md's example policy.
pub const POLICY: &str = sluice_policy::EXAMPLE;

pub const ATTACKER: &str = "203.0.113.66";
pub const HMI: &str = "10.10.2.20";
pub const PLC: &str = "10.10.1.10";
pub const PASSWORD: &str = "correct horse battery";

/// A store with the demo plant analysed into it.
pub struct Fixture {
    pub dir: tempfile::TempDir,
    pub db: PathBuf,
    pub policy: PathBuf,
    /// The alert of the out-of-envelope setpoint write (the one tests acknowledge).
    pub setpoint_alert: String,
    pub remote_alert: String,
    pub vnc_flow: String,
    pub write_event: String,
}

/// Analyses the demo scenario into a fresh store (the pipeline of `sluice analyze`).
pub fn analyse_demo(db: &Path) {
    let mut pcap = Vec::new();
    sluice_synth::scenario::write_scenario("demo", 1, &mut pcap).expect("demo scenario");
    let dir = db.parent().expect("parent");
    let pcap_path = dir.join("demo.pcap");
    std::fs::write(&pcap_path, &pcap).expect("write pcap");
    let mut store = Store::open(db).expect("store");
    let run = store
        .begin_run(1, &["demo.pcap".to_string()], "demo")
        .expect("run");
    let mut engine = Engine::new(EngineConfig::default());
    let mut reader = sluice_capture::CaptureReader::open(&pcap_path).expect("reader");
    while let Some(p) = reader.next_packet().expect("packet") {
        engine.packet(p.ts, p.linktype.0, p.data, p.orig_len);
    }
    engine.finish();
    let events: Vec<_> = engine.take_events().collect();
    let json: Vec<String> = events.iter().map(|e| e.to_json()).collect();
    store.insert_events(&events, &json).expect("insert");
    let assets = engine.assets.snapshot();
    store.put_assets("demo", &assets).expect("assets");
    let stats = serde_json::to_string(&engine.stats).expect("stats");
    store
        .finish_run(run, 2_000_000_000, "complete", &stats)
        .expect("finish");
}

/// Inserts an alert row as the detection engine writes it.
#[allow(clippy::too_many_arguments)]
pub fn insert_alert(
    conn: &Connection,
    id: &str,
    ts: i64,
    rule: (&str, &str),
    severity: i64,
    technique: (&str, &str),
    src: &str,
    dst: &str,
    chain: Option<&str>,
    evidence: &[&str],
    explanation: &str,
) {
    let json = serde_json::json!({
        "@timestamp": "2021-02-05T13:02:20Z",
        "event": {"kind": "alert", "dataset": "sluice.alert", "id": id, "severity": severity, "count": 1},
        "source": {"ip": src}, "destination": {"ip": dst},
        "rule": {"id": rule.0, "name": rule.1},
        "threat": {"framework": "MITRE ATT&CK for ICS", "technique": {"id": technique.0, "name": technique.1}, "tactic": {"name": "Impair Process Control"}},
        "sluice": {"controls": ["IEC62443-3-3:SR 5.1", "CSF:PR.IR-01"], "asset_ids": [format!("ip:{dst}")],
                   "explanation": explanation, "chain_id": chain, "evidence": evidence, "details": {}}
    });
    conn.execute(
        "INSERT INTO alerts (id, ts, rule_id, rule_name, severity, technique_id, src_ip, dst_ip, chain_id, count, json) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, 1, ?10)",
        params![id, ts, rule.0, rule.1, severity, technique.0, src, dst, chain, json.to_string()],
    )
    .expect("insert alert");
}

/// The demo store with the policy and the Oldsmar alert chain.
pub fn fixture() -> Fixture {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("sluice.db");
    let policy = dir.path().join("sluice.toml");
    std::fs::write(&policy, POLICY).expect("policy");
    analyse_demo(&db);
    let store = Store::open(&db).expect("store");
    let conn = store.conn();
    let vnc_flow: String = conn
        .query_row(
            "SELECT id FROM flows WHERE src_ip = ?1 AND dst_ip = ?2 ORDER BY ts LIMIT 1",
            params![ATTACKER, HMI],
            |r| r.get(0),
        )
        .expect("the demo capture has the intruder's VNC flow");
    let (write_event, write_ts): (String, i64) = conn
        .query_row(
            "SELECT id, ts FROM events WHERE dst_ip = ?1 AND function_code = 6 AND json LIKE '%11100%' LIMIT 1",
            params![PLC],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .expect("the demo capture has the 11,100 setpoint write");
    let chain = "chain-oldsmar";
    let remote_alert = "A-remote-1".to_string();
    let setpoint_alert = "A-setpoint-1".to_string();
    insert_alert(
        conn,
        &remote_alert,
        write_ts - 20_000_000_000,
        ("SLC-REM-001", "Remote access into the supervisory zone"),
        80,
        ("T0822", "External Remote Services"),
        ATTACKER,
        HMI,
        Some(chain),
        &[vnc_flow.as_str()],
        "An internet address opened a VNC session to the HMI; no conduit allows remote access into the supervisory zone.",
    );
    insert_alert(
        conn,
        &setpoint_alert,
        write_ts,
        ("SLC-ENV-001", "Write outside the safety envelope"),
        95,
        ("T0836", "Modify Parameter"),
        HMI,
        PLC,
        Some(chain),
        &[write_event.as_str(), vnc_flow.as_str()],
        "The sodium hydroxide setpoint (register 5) was set to 11100; the envelope allows 50 to 200.",
    );
    for i in 0..30 {
        insert_alert(
            conn,
            &format!("A-scan-{i}"),
            write_ts - 100_000_000_000 + i * 3_000_000_000,
            ("SLC-NET-010", "New conversation"),
            20 + i % 50,
            ("T0846", "Remote System Discovery"),
            "10.20.5.23",
            "203.0.113.10",
            None,
            &[],
            "A conversation not seen during learning.",
        );
    }
    Fixture {
        dir,
        db,
        policy,
        setpoint_alert,
        remote_alert,
        vnc_flow,
        write_event,
    }
}

/// Adds a user whose authenticator is already enrolled; returns the TOTP secret.
pub fn add_user(db: &Path, name: &str, role: Role, enrolled: bool) -> String {
    let store = sluice_console::db::open_store(db).expect("store");
    let e = auth::add_user(store.conn(), name, role, PASSWORD).expect("add user");
    if enrolled {
        auth::confirm_mfa(store.conn(), name).expect("confirm");
    }
    e.secret
}

/// TOTP codes, never the same time step twice for a user (the server refuses replays).
pub fn next_code(user: &str, secret: &str) -> String {
    static USED: OnceLock<Mutex<HashMap<String, i64>>> = OnceLock::new();
    let used = USED.get_or_init(|| Mutex::new(HashMap::new()));
    loop {
        let now = auth::now();
        let step = now / 30;
        let mut g = used.lock().expect("lock");
        let last = g.get(user).copied().unwrap_or(i64::MIN);
        // The server accepts the previous, current and next step.
        for s in [step - 1, step, step + 1] {
            if s > last {
                g.insert(user.to_string(), s);
                return auth::totp_code_at(secret, s * 30).expect("code");
            }
        }
        drop(g);
        std::thread::sleep(std::time::Duration::from_millis(500));
    }
}

/// A console on the fixture store (generous rate limit).
pub fn console(f: &Fixture) -> Console {
    let mut cfg = ConsoleConfig::new(&f.db);
    cfg.policy = Some(f.policy.clone());
    cfg.login_attempts_per_ip = 10_000;
    Console::open(&cfg).expect("console")
}

/// An answer, read whole.
pub struct Answer {
    pub status: StatusCode,
    pub headers: axum::http::HeaderMap,
    pub body: String,
}

impl Answer {
    pub fn location(&self) -> &str {
        self.headers
            .get(header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }
    /// `name=value` of a Set-Cookie.
    pub fn cookie(&self, name: &str) -> Option<String> {
        self.set_cookies()
            .into_iter()
            .find(|c| c.starts_with(&format!("{name}=")))
            .and_then(|c| c.split(';').next().map(str::to_owned))
    }
    pub fn set_cookies(&self) -> Vec<String> {
        self.headers
            .get_all(header::SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok().map(str::to_owned))
            .collect()
    }
}

async fn read(res: Response<Body>) -> Answer {
    let status = res.status();
    let headers = res.headers().clone();
    let bytes = res
        .into_body()
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    Answer {
        status,
        headers,
        body: String::from_utf8_lossy(&bytes).into_owned(),
    }
}

/// A client of the in-process router, with a cookie jar of one session.
#[derive(Clone)]
pub struct Client {
    pub router: axum::Router,
    pub cookies: Vec<String>,
    pub bearer: Option<String>,
    pub csrf: Option<String>,
}

impl Client {
    pub fn new(c: &Console) -> Client {
        Client {
            router: c.router(),
            cookies: Vec::new(),
            bearer: None,
            csrf: None,
        }
    }

    fn remember(&mut self, a: &Answer) {
        for c in a.set_cookies() {
            let Some(kv) = c.split(';').next() else {
                continue;
            };
            let Some((k, v)) = kv.split_once('=') else {
                continue;
            };
            self.cookies.retain(|x| !x.starts_with(&format!("{k}=")));
            if !v.is_empty() && !c.contains("Max-Age=0") {
                self.cookies.push(kv.to_string());
            }
        }
    }

    pub async fn send(&mut self, req: Request<Body>) -> Answer {
        let res = self.router.clone().oneshot(req).await.expect("infallible");
        let a = read(res).await;
        self.remember(&a);
        a
    }

    fn builder(&self, method: &str, path: &str) -> axum::http::request::Builder {
        let mut b = Request::builder().method(method).uri(path);
        if !self.cookies.is_empty() {
            b = b.header(header::COOKIE, self.cookies.join("; "));
        }
        if let Some(t) = &self.bearer {
            b = b.header(header::AUTHORIZATION, format!("Bearer {t}"));
        }
        b
    }

    pub async fn get(&mut self, path: &str) -> Answer {
        let req = self.builder("GET", path).body(Body::empty()).expect("req");
        self.send(req).await
    }

    /// A form POST; `csrf` adds the session's token as the `csrf` field.
    pub async fn post_form(&mut self, path: &str, fields: &[(&str, &str)], csrf: bool) -> Answer {
        let mut pairs: Vec<(String, String)> = fields
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        if csrf {
            pairs.push(("csrf".into(), self.csrf.clone().unwrap_or_default()));
        }
        let body = serde_urlencoded::to_string(&pairs).expect("form");
        let req = self
            .builder("POST", path)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(body))
            .expect("req");
        self.send(req).await
    }

    /// A JSON POST; `csrf` sends the session's token as `X-CSRF-Token`.
    pub async fn post_json(&mut self, path: &str, body: &str, csrf: bool) -> Answer {
        let mut b = self
            .builder("POST", path)
            .header(header::CONTENT_TYPE, "application/json");
        if csrf {
            b = b.header("x-csrf-token", self.csrf.clone().unwrap_or_default());
        }
        let req = b.body(Body::from(body.to_string())).expect("req");
        self.send(req).await
    }

    /// Password, then TOTP; leaves the client signed in with its CSRF token known.
    pub async fn login(&mut self, user: &str, password: &str, secret: &str) -> Answer {
        let a = self.password(user, password).await;
        assert_eq!(a.status, StatusCode::SEE_OTHER, "password step: {}", a.body);
        let to = a.location().to_string();
        let page = self.get(&to).await;
        let csrf = hidden_csrf(&page.body).expect("csrf on the code page");
        let code = next_code(user, secret);
        let done = self
            .post_form(&to, &[("code", &code), ("csrf", &csrf)], false)
            .await;
        assert_eq!(
            done.status,
            StatusCode::SEE_OTHER,
            "code step: {}",
            done.body
        );
        assert_eq!(done.location(), "/");
        let me = self.get("/api/me").await;
        assert_eq!(me.status, StatusCode::OK, "{}", me.body);
        self.csrf = me.json()["csrf_token"].as_str().map(str::to_owned);
        done
    }

    /// The password step only.
    pub async fn password(&mut self, user: &str, password: &str) -> Answer {
        let page = self.get("/login").await;
        assert_eq!(page.status, StatusCode::OK);
        let pre = hidden_csrf(&page.body).expect("csrf on the login page");
        self.post_form(
            "/login",
            &[("username", user), ("password", password), ("csrf", &pre)],
            false,
        )
        .await
    }
}

/// The value of the first hidden `csrf` field of a page.
pub fn hidden_csrf(html: &str) -> Option<String> {
    let key = "name=\"csrf\" value=\"";
    let i = html.find(key)? + key.len();
    let rest = html.get(i..)?;
    Some(rest.get(..rest.find('"')?)?.to_string())
}

/// Where tests leave screenshots: `target/test-artifacts/`.
pub fn artifacts_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../target")));
    let d = target.join("test-artifacts");
    let _ = std::fs::create_dir_all(&d);
    d
}

/// The framework catalogue for assessments: the shared data's when present, else a small
/// inline IEC 62443-3-3 / CSF catalogue holding the controls the built-in rules cite.
pub fn assess_catalog() -> sluice_assess::Catalog {
    let shared = Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/data/frameworks"
    ));
    if shared.is_dir() {
        if let Ok(c) = sluice_assess::Catalog::load_dir(shared) {
            if c.framework("iec62443").is_some() && c.framework("csf").is_some() {
                return c;
            }
        }
    }
    eprintln!("note: ../shared/data/frameworks not found; assessing with a small inline catalogue");
    inline_catalog()
}

/// A small inline IEC 62443-3-3 (FR 1-7 with the SRs the built-in rules cite) and CSF
/// (six functions, the outcomes the built-in rules and questions cite) catalogue.
pub fn inline_catalog() -> sluice_assess::Catalog {
    let mut c = sluice_assess::Catalog::new();
    let mut iec = String::from(
        "[framework]\nid = \"iec62443\"\nprefix = \"IEC62443-3-3\"\nname = \"IEC 62443-3-3\"\nscoring = \"iec62443\"\n",
    );
    for fr in 1..=7 {
        iec.push_str(&format!("[[control]]\nid = \"FR {fr}\"\nkind = \"fr\"\n"));
    }
    for (sr, level) in [
        ("1.1", 1),
        ("1.5", 1),
        ("1.7", 1),
        ("1.13", 1),
        ("2.1", 1),
        ("2.6", 2),
        ("3.1", 1),
        ("3.4", 1),
        ("3.5", 1),
        ("4.1", 1),
        ("5.1", 1),
        ("5.2", 1),
        ("6.2", 2),
        ("7.7", 1),
        ("7.8", 2),
    ] {
        let fr = sr.split('.').next().unwrap_or("1");
        iec.push_str(&format!(
            "[[control]]\nid = \"SR {sr}\"\nparent = \"FR {fr}\"\nlevel = {level}\n"
        ));
    }
    c.add_framework_toml(&iec, Path::new("iec.framework.toml"))
        .expect("inline IEC 62443 catalogue");
    let mut csf = String::from(
        "[framework]\nid = \"csf\"\nprefix = \"CSF\"\nname = \"NIST CSF 2.0\"\nscoring = \"csf\"\n",
    );
    for f in ["GV", "ID", "PR", "DE", "RS", "RC"] {
        csf.push_str(&format!("[[control]]\nid = \"{f}\"\nkind = \"function\"\n"));
    }
    for o in [
        "GV.RM-06", "ID.AM-01", "ID.AM-03", "ID.AM-08", "ID.RA-01", "ID.RA-04", "ID.IM-04",
        "PR.AA-01", "PR.AA-03", "PR.AA-05", "PR.DS-02", "PR.IR-01", "PR.PS-01", "PR.PS-02",
        "DE.CM-01", "DE.CM-09", "DE.AE-02", "RS.MA-01", "RC.RP-01",
    ] {
        let f = o.split('.').next().unwrap_or("GV");
        csf.push_str(&format!(
            "[[control]]\nid = \"{o}\"\nparent = \"{f}\"\nkind = \"subcategory\"\n"
        ));
    }
    c.add_framework_toml(&csf, Path::new("csf.framework.toml"))
        .expect("inline CSF catalogue");
    c
}

/// Runs a governance assessment (IEC 62443 and CSF, built-in rules and questions) over the
/// store at `db` and keeps it there, as `sluice assess --db DB [--config P] [--answers A]`
/// does; `answer_yes` answers every yes/no question "yes". Returns the assessment saved.
pub fn assess_into(
    db: &Path,
    policy: Option<&sluice_policy::Policy>,
    answer_yes: bool,
    now_ns: i64,
) -> sluice_assess::Assessment {
    assess_with(&assess_catalog(), db, policy, answer_yes, now_ns)
}

/// [`assess_into`] with a given catalogue.
pub fn assess_with(
    cat: &sluice_assess::Catalog,
    db: &Path,
    policy: Option<&sluice_policy::Policy>,
    answer_yes: bool,
    now_ns: i64,
) -> sluice_assess::Assessment {
    use sluice_assess::{answers, store as astore, Options, Rules, Settings};
    let fws =
        sluice_assess::resolve_frameworks(cat, &["iec62443,csf".to_string()]).expect("frameworks");
    let rules = Rules::builtin().expect("rules");
    let questions = answers::builtin().expect("questions");
    let settings = Settings::builtin().expect("scoring");
    let ans = answer_yes.then(|| {
        let mut text = String::new();
        for q in questions.iter().filter(|q| q.kind == answers::Kind::YesNo) {
            text.push_str(&format!(
                "[{}.{}]\nanswer = \"yes\"\n",
                q.role.as_str(),
                q.id
            ));
        }
        answers::parse_answers(&text, Path::new("answers.toml"), &questions).expect("answers")
    });
    let store = Store::open(db).expect("store");
    let mut inputs = std::collections::BTreeMap::new();
    inputs.insert("store".to_string(), db.display().to_string());
    let o = Options {
        catalog: cat,
        frameworks: fws,
        rules: &rules,
        questions: &questions,
        answers: ans.as_ref(),
        policy,
        settings: &settings,
        inputs,
        now_ns,
    };
    let mut a = sluice_assess::assess(store.conn(), &o).expect("assess");
    astore::save(store.conn(), &mut a).expect("save");
    a
}
