//! `sluice gate` against a real pymodbus PLC and real pymodbus clients (TLS and
//! plain), with certificates made here. Every scenario of issue 5.

mod common;

use common::*;
use serde_json::{json, Value};
use sluice_gate::control::{request_async, ControlRequest};
use sluice_gate::{GateHandle, Options};
use std::path::{Path, PathBuf};

struct Fx {
    py: PathBuf,
    dir: tempfile::TempDir,
    certs: Certs,
    plc: Plc,
    gate: GateHandle,
}

impl Fx {
    async fn new(extra: &str) -> Option<Fx> {
        let py = python()?;
        let dir = tempfile::tempdir().unwrap();
        let certs = Certs::make(dir.path());
        let plc = Plc::start(&py);
        write_policy(dir.path());
        let cfg = dir.path().join("gate.toml");
        std::fs::write(&cfg, gate_toml(&certs, plc.addr(), extra)).unwrap();
        let gate = sluice_gate::start(
            &cfg,
            Options {
                events: Some(dir.path().join("events.jsonl")),
            },
        )
        .await
        .unwrap_or_else(|e| panic!("gate did not start: {e}"));
        Some(Fx {
            py,
            dir,
            certs,
            plc,
            gate,
        })
    }

    fn tls_port(&self) -> u16 {
        self.gate.tls_addr().unwrap().port()
    }

    fn plain_port(&self) -> u16 {
        self.gate.plain_addr().unwrap().port()
    }

    async fn tls(&self, id: &Identity, ops: Value) -> Value {
        client_async(&self.py, &self.certs.ca, self.tls_port(), Who::Tls(id), ops).await
    }

    async fn plain(&self, ops: Value) -> Value {
        client_async(&self.py, &self.certs.ca, self.plain_port(), Who::Plain, ops).await
    }

    async fn plc5(&self) -> u64 {
        plc_registers(&self.py, &self.plc, 5, 1).await[0]
    }

    async fn audit(&self) -> Vec<Value> {
        self.gate.flush_audit().await;
        audit_lines(self.dir.path())
    }

    fn cfg(&self) -> sluice_gate::Config {
        sluice_gate::Config::load(self.dir.path().join("gate.toml")).unwrap()
    }

    /// Enrols `user` and returns its TOTP secret.
    fn enroll(&self, user: &str) -> Vec<u8> {
        let uri = sluice_gate::enroll(&self.cfg(), user, false).unwrap();
        assert!(uri.starts_with("otpauth://totp/"), "{uri}");
        assert!(uri.contains(user));
        secret_of(&uri)
    }

    async fn approve(
        &self,
        user: &str,
        code: &str,
        regs: &str,
        for_s: Option<u64>,
        client: &str,
    ) -> sluice_gate::ControlResponse {
        request_async(
            self.gate.control_path(),
            &ControlRequest::Approve {
                user: user.into(),
                code: code.into(),
                registers: regs.into(),
                for_s,
                unit: None,
                client: Some(client.into()),
            },
        )
        .await
        .unwrap()
    }
}

fn ok(r: &Value, i: usize) -> &Value {
    assert_eq!(r["connected"], true, "client did not connect: {r}");
    let x = &r["results"][i];
    assert_eq!(x["ok"], true, "op {i} failed: {r}");
    x
}

fn exception(r: &Value, i: usize) -> u64 {
    assert_eq!(r["connected"], true, "client did not connect: {r}");
    let x = &r["results"][i];
    assert_eq!(x["ok"], false, "op {i} passed: {r}");
    x["exception"]
        .as_u64()
        .unwrap_or_else(|| panic!("op {i} has no exception: {r}"))
}

fn decisions<'a>(lines: &'a [Value], action: &str) -> Vec<&'a Value> {
    lines
        .iter()
        .filter(|l| l["event"]["action"] == action)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operator_reads_pass_and_the_role_bounds_them() {
    let Some(fx) = Fx::new("").await else { return };
    let op = &fx.certs.operator;
    let r = fx
        .tls(
            op,
            json!([
                {"op": "read_hr", "address": 0, "count": 10},
                {"op": "read_ir", "address": 0, "count": 3},
                {"op": "read_coils", "address": 0, "count": 8},
                {"op": "write_register", "address": 3, "value": 42},
                {"op": "read_hr", "address": 95, "count": 10},
                {"op": "write_register", "address": 25, "value": 1},
                {"op": "read_hr", "address": 0, "count": 1, "unit": 2},
            ]),
        )
        .await;
    assert_eq!(
        ok(&r, 0)["registers"],
        json!([0, 0, 0, 0, 0, 100, 0, 0, 0, 0])
    );
    assert_eq!(ok(&r, 1)["registers"], json!([7, 7, 7]));
    assert_eq!(
        ok(&r, 2)["bits"],
        json!([false, false, false, false, false, false, false, false])
    );
    ok(&r, 3);
    assert_eq!(exception(&r, 4), 2, "read past the role's 0-99");
    assert_eq!(exception(&r, 5), 2, "write past the role's 0-19");
    assert_eq!(exception(&r, 6), 2, "unit 2 is not the role's");
    assert_eq!(plc_registers(&fx.py, &fx.plc, 3, 1).await, vec![42]);

    // TLS 1.2 works too, and the role's name is matched regardless of case.
    let r = client_async(
        &fx.py,
        &fx.certs.ca,
        fx.tls_port(),
        Who::Tls12(&fx.certs.operator2),
        json!([{"op": "read_hr", "address": 3, "count": 1}]),
    )
    .await;
    assert_eq!(ok(&r, 0)["registers"], json!([42]));

    let lines = fx.audit().await;
    let reqs = decisions(&lines, "request");
    assert_eq!(reqs.len(), 8);
    let allow = reqs
        .iter()
        .filter(|l| l["gate"]["decision"] == "allow")
        .count();
    assert_eq!(allow, 5);
    for l in &reqs {
        assert_eq!(l["source"]["ip"], "127.0.0.1");
        assert_eq!(l["gate"]["transport"], "tls");
        assert_eq!(
            l["tls"]["client"]["hash"]["sha256"].as_str().unwrap().len(),
            64
        );
        assert!(l["user"]["name"] == "op1" || l["user"]["name"] == "op2");
    }
    let denied: Vec<_> = reqs
        .iter()
        .filter(|l| l["gate"]["decision"] == "deny")
        .collect();
    assert!(denied.iter().all(|l| l["event"]["kind"] == "alert"));
    assert!(denied[0]["gate"]["reason"]
        .as_str()
        .unwrap()
        .contains("outside role \"operator\"'s read ranges"));
    assert_eq!(denied[1]["rule"]["id"], "SLC-GATE-002");
    assert_eq!(denied[1]["threat"]["technique"]["id"], "T0855");
    fx.gate.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn critical_write_needs_an_approval_that_passes_once() {
    let Some(fx) = Fx::new("").await else { return };
    let op = &fx.certs.operator;
    let write = |v: u64| json!([{"op": "write_register", "address": 5, "value": v}]);

    // Without approval: an exception, and the PLC's register is unchanged.
    let r = fx.tls(op, write(120)).await;
    assert_eq!(exception(&r, 0), 2);
    assert_eq!(fx.plc5().await, 100);

    let secret = fx.enroll("alice");
    assert!(
        sluice_gate::enroll(&fx.cfg(), "alice", false).is_err(),
        "enrolled twice"
    );
    let now = unix_now();
    let code = sluice_gate::approval::code_at(&secret, now).unwrap();
    let wrong = format!("{:06}", (code.parse::<u32>().unwrap() + 1) % 1_000_000);
    let resp = fx.approve("alice", &wrong, "5", Some(60), "op1").await;
    assert!(!resp.ok && resp.message.contains("wrong code"), "{resp:?}");
    let resp = fx.approve("mallory", &code, "5", Some(60), "op1").await;
    assert!(
        !resp.ok && resp.message.contains("not an enrolled approver"),
        "{resp:?}"
    );
    let resp = fx.approve("alice", &code, "6", Some(60), "op1").await;
    assert!(
        !resp.ok && resp.message.contains("not all critical"),
        "{resp:?}"
    );
    let resp = fx.approve("alice", &code, "5", Some(301), "op1").await;
    assert!(
        !resp.ok && resp.message.contains("exceeds the 300 s"),
        "{resp:?}"
    );
    // An approval for another client does not open the window for op1.
    let resp = fx.approve("alice", &code, "5", Some(60), "view1").await;
    assert!(resp.ok, "{resp:?}");
    let r = fx.tls(op, write(120)).await;
    assert_eq!(exception(&r, 0), 2);
    // The same code again is a replay.
    let resp = fx.approve("alice", &code, "5", Some(60), "op1").await;
    assert!(
        !resp.ok && resp.message.contains("already used"),
        "{resp:?}"
    );

    let next = sluice_gate::approval::code_at(&secret, now + 30).unwrap();
    let resp = fx.approve("alice", &next, "5", Some(60), "op1").await;
    assert!(resp.ok, "{resp:?}");
    let a = resp.approval.unwrap();
    assert_eq!(
        (a.client.as_str(), a.registers.as_str(), a.max_writes),
        ("op1", "5", 1)
    );

    // With approval: passes once.
    let r = fx
        .tls(
            op,
            json!([
                {"op": "write_register", "address": 5, "value": 120},
                {"op": "write_register", "address": 5, "value": 130},
            ]),
        )
        .await;
    ok(&r, 0);
    assert_eq!(exception(&r, 1), 2, "the approval allowed one write");
    assert_eq!(fx.plc5().await, 120);

    let lines = fx.audit().await;
    let approvals = decisions(&lines, "approve");
    assert_eq!(approvals.len(), 7);
    assert_eq!(
        approvals
            .iter()
            .filter(|l| l["gate"]["decision"] == "allow")
            .count(),
        2
    );
    assert!(
        approvals.iter().any(|l| l["rule"]["id"] == "SLC-GATE-007"),
        "wrong codes raise alerts"
    );
    let reqs = decisions(&lines, "request");
    let allowed: Vec<_> = reqs
        .iter()
        .filter(|l| l["gate"]["decision"] == "allow")
        .collect();
    assert_eq!(allowed.len(), 1);
    assert_eq!(allowed[0]["gate"]["approval_id"], json!(a.id));
    assert_eq!(allowed[0]["modbus"]["values"], json!([120]));
    let not_approved = reqs
        .iter()
        .filter(|l| l["rule"]["id"] == "SLC-GATE-003")
        .count();
    assert_eq!(not_approved, 3);
    fx.gate.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_oldsmar_write_never_reaches_the_plc() {
    let Some(fx) = Fx::new("").await else { return };
    let op = &fx.certs.operator;
    // Without approval.
    let r = fx
        .tls(
            op,
            json!([{"op": "write_register", "address": 5, "value": 11100}]),
        )
        .await;
    assert_eq!(exception(&r, 0), 2);
    assert_eq!(fx.plc5().await, 100);

    // Even approved, the envelope refuses it; the approval is not used up by a refusal.
    let secret = fx.enroll("alice");
    let now = unix_now();
    let resp = fx
        .approve(
            "alice",
            &sluice_gate::approval::code_at(&secret, now).unwrap(),
            "5",
            None,
            "op1",
        )
        .await;
    assert!(resp.ok, "{resp:?}");
    let r = fx
        .tls(
            op,
            json!([
                {"op": "write_register", "address": 5, "value": 11100},
                {"op": "write_registers", "address": 4, "values": [1, 11100]},
                {"op": "write_register", "address": 5, "value": 40},
                {"op": "write_register", "address": 5, "value": 140},
            ]),
        )
        .await;
    assert_eq!(exception(&r, 0), 3, "above the envelope's max");
    assert_eq!(exception(&r, 1), 3, "a multiple write hides nothing");
    assert_eq!(exception(&r, 2), 3, "below the envelope's min");
    ok(&r, 3);
    assert_eq!(fx.plc5().await, 140);
    assert_eq!(
        plc_registers(&fx.py, &fx.plc, 4, 1).await,
        vec![0],
        "the refused multiple write left register 4 alone too"
    );

    // A step larger than max_step (140 -> 200) is refused against the PLC's own value.
    let resp = fx
        .approve(
            "alice",
            &sluice_gate::approval::code_at(&secret, now + 30).unwrap(),
            "5",
            None,
            "op1",
        )
        .await;
    assert!(resp.ok, "{resp:?}");
    let r = fx
        .tls(
            op,
            json!([{"op": "write_register", "address": 5, "value": 200}]),
        )
        .await;
    assert_eq!(exception(&r, 0), 3);
    assert_eq!(fx.plc5().await, 140);

    let lines = fx.audit().await;
    let env: Vec<_> = lines
        .iter()
        .filter(|l| l["rule"]["id"] == "SLC-GATE-004")
        .collect();
    assert_eq!(env.len(), 4);
    let oldsmar = env[0];
    assert_eq!(oldsmar["gate"]["deny"], "envelope");
    assert_eq!(oldsmar["sluice"]["details"]["new"], 11100);
    assert_eq!(oldsmar["sluice"]["details"]["old"], 100);
    assert_eq!(oldsmar["sluice"]["details"]["max"], 200.0);
    assert_eq!(oldsmar["sluice"]["details"]["approved"], true);
    assert_eq!(oldsmar["threat"]["technique"]["id"], "T0836");
    assert_eq!(oldsmar["event"]["severity"], 95);
    assert!(oldsmar["sluice"]["explanation"]
        .as_str()
        .unwrap()
        .contains("never reached the PLC"));
    assert_eq!(env[3]["sluice"]["details"]["bound"], "step_too_large");
    assert_eq!(env[3]["sluice"]["details"]["old"], 140);
    // The denials are alerts of the state database (sluice alerts --db gate.db) and
    // of the events output.
    let events = std::fs::read_to_string(fx.dir.path().join("events.jsonl")).unwrap();
    assert!(events.lines().any(|l| l.contains("SLC-GATE-004")));
    let db = sluice_gate::state::StateDb::open(&fx.dir.path().join("gate.db")).unwrap();
    let n: i64 = db
        .conn()
        .query_row(
            "SELECT COUNT(*) FROM alerts WHERE rule_id = 'SLC-GATE-004'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert!(n >= 1);
    fx.gate.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_viewer_cannot_write() {
    let Some(fx) = Fx::new("").await else { return };
    let ops = json!([
        {"op": "read_hr", "address": 0, "count": 6},
        {"op": "write_register", "address": 3, "value": 9},
        {"op": "write_coil", "address": 1, "value": true},
        {"op": "write_registers", "address": 0, "values": [1, 2]},
    ]);
    for r in [
        fx.tls(&fx.certs.viewer, ops.clone()).await,
        fx.plain(ops).await,
    ] {
        assert_eq!(ok(&r, 0)["registers"], json!([0, 0, 0, 0, 0, 100]));
        assert_eq!(exception(&r, 1), 1);
        assert_eq!(exception(&r, 2), 1);
        assert_eq!(exception(&r, 3), 1);
    }
    assert_eq!(plc_registers(&fx.py, &fx.plc, 0, 4).await, vec![0, 0, 0, 0]);
    // A certificate without a role gets nothing.
    let r = fx
        .tls(
            &fx.certs.norole,
            json!([{"op": "read_hr", "address": 0, "count": 1}]),
        )
        .await;
    assert_eq!(exception(&r, 0), 1);
    let lines = fx.audit().await;
    let plain: Vec<_> = lines
        .iter()
        .filter(|l| l["gate"]["transport"] == "plain" && l["event"]["action"] == "request")
        .collect();
    assert_eq!(plain.len(), 4);
    assert!(plain
        .iter()
        .all(|l| l["user"]["roles"][0] == "viewer" && l["user"]["name"] == "127.0.0.1"));
    assert!(lines.iter().any(|l| l["user"]["name"] == "nobody"
        && l["gate"]["reason"]
            .as_str()
            .unwrap_or("")
            .contains("no role")));
    fx.gate.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expired_untrusted_and_revoked_certificates_fail_the_handshake() {
    let Some(fx) = Fx::new("").await else { return };
    let ops = json!([{"op": "read_hr", "address": 0, "count": 1}]);
    for id in [
        &fx.certs.expired,
        &fx.certs.untrusted,
        &fx.certs.forged,
        &fx.certs.revoked,
    ] {
        let r = fx.tls(id, ops.clone()).await;
        let got_data = r["results"]
            .as_array()
            .is_some_and(|v| v.iter().any(|x| x["ok"] == true));
        assert!(!got_data, "a refused certificate read data: {r}");
    }
    // TLS 1.2 as well
    let r = client_async(
        &fx.py,
        &fx.certs.ca,
        fx.tls_port(),
        Who::Tls12(&fx.certs.revoked),
        ops,
    )
    .await;
    assert!(
        !r["results"]
            .as_array()
            .is_some_and(|v| v.iter().any(|x| x["ok"] == true)),
        "{r}"
    );
    let lines = fx.audit().await;
    let hs: Vec<_> = decisions(&lines, "handshake");
    assert_eq!(hs.len(), 5, "{hs:#?}");
    assert!(hs
        .iter()
        .all(|l| l["gate"]["decision"] == "deny" && l["rule"]["id"] == "SLC-GATE-005"));
    let reasons: Vec<&str> = hs
        .iter()
        .map(|l| l["gate"]["reason"].as_str().unwrap())
        .collect();
    assert!(reasons[0].contains("xpired"), "{reasons:?}");
    assert!(reasons[1].contains("UnknownIssuer"), "{reasons:?}");
    assert!(reasons[2].contains("BadSignature"), "{reasons:?}");
    assert!(reasons[3].contains("Revoked"), "{reasons:?}");
    assert!(reasons[4].contains("Revoked"), "{reasons:?}");
    assert!(
        decisions(&lines, "request").is_empty(),
        "no request got through"
    );
    fx.gate.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plain_tcp_from_an_unlisted_address_is_refused() {
    let Some(fx) = Fx::new("").await else { return };
    let ops = json!([{"op": "read_hr", "address": 0, "count": 1}]);
    let r = client_async(
        &fx.py,
        &fx.certs.ca,
        fx.plain_port(),
        Who::PlainFrom("127.0.0.2"),
        ops.clone(),
    )
    .await;
    assert!(
        !r["results"]
            .as_array()
            .is_some_and(|v| v.iter().any(|x| x["ok"] == true)),
        "{r}"
    );
    // the listed address still gets in
    let r = fx.plain(ops).await;
    ok(&r, 0);
    let lines = fx.audit().await;
    let conns = decisions(&lines, "connect");
    let refused: Vec<_> = conns
        .iter()
        .filter(|l| l["gate"]["decision"] == "deny")
        .collect();
    assert!(!refused.is_empty());
    assert!(refused
        .iter()
        .all(|l| l["source"]["ip"] == "127.0.0.2" && l["rule"]["id"] == "SLC-GATE-006"));
    assert!(conns
        .iter()
        .any(|l| l["gate"]["decision"] == "allow" && l["source"]["ip"] == "127.0.0.1"));
    fx.gate.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_plc_gives_exception_0x0b() {
    let Some(py) = python() else { return };
    let dir = tempfile::tempdir().unwrap();
    let certs = Certs::make(dir.path());
    write_policy(dir.path());
    let dead = std::net::SocketAddr::from(([127, 0, 0, 1], free_port()));
    let cfg = dir.path().join("gate.toml");
    std::fs::write(&cfg, gate_toml(&certs, dead, "")).unwrap();
    let gate = sluice_gate::start(&cfg, Options::default()).await.unwrap();
    let r = client_async(
        &py,
        &certs.ca,
        gate.tls_addr().unwrap().port(),
        Who::Tls(&certs.operator),
        json!([
            {"op": "read_hr", "address": 0, "count": 1},
            {"op": "write_register", "address": 3, "value": 1},
        ]),
    )
    .await;
    assert_eq!(exception(&r, 0), 0x0B);
    assert_eq!(exception(&r, 1), 0x0B);
    gate.flush_audit().await;
    let lines = audit_lines(dir.path());
    let errors: Vec<_> = lines
        .iter()
        .filter(|l| l["gate"]["decision"] == "error")
        .collect();
    assert_eq!(errors.len(), 2);
    assert!(errors[0]["gate"]["reason"]
        .as_str()
        .unwrap()
        .contains("unreachable"));
    assert_eq!(errors[0]["gate"]["exception"], 11);
    gate.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_audit_log_holds_every_decision() {
    let Some(fx) = Fx::new("").await else { return };
    // 3 handshakes/connects allowed, 1 refused; 6 requests (3 allowed, 3 denied)
    fx.tls(
        &fx.certs.operator,
        json!([
            {"op": "read_hr", "address": 0, "count": 2},
            {"op": "write_register", "address": 5, "value": 11100},
            {"op": "write_register", "address": 2, "value": 7},
        ]),
    )
    .await;
    fx.tls(
        &fx.certs.viewer,
        json!([{"op": "write_register", "address": 2, "value": 8}]),
    )
    .await;
    fx.plain(json!([{"op": "read_hr", "address": 2, "count": 1}, {"op": "read_hr", "address": 100, "count": 1}])).await;
    fx.tls(
        &fx.certs.revoked,
        json!([{"op": "read_hr", "address": 0, "count": 1}]),
    )
    .await;
    let lines = fx.audit().await;
    let count = |action: &str, decision: &str| {
        lines
            .iter()
            .filter(|l| l["event"]["action"] == action && l["gate"]["decision"] == decision)
            .count()
    };
    assert_eq!(count("handshake", "allow"), 2);
    assert_eq!(count("handshake", "deny"), 1);
    assert_eq!(count("connect", "allow"), 1);
    assert_eq!(count("request", "allow"), 3);
    assert_eq!(count("request", "deny"), 3);
    assert_eq!(lines.len(), 10, "nothing else, nothing missing");
    for l in &lines {
        assert!(l["@timestamp"].is_string());
        assert!(l["user"]["name"].is_string(), "who: {l}");
        assert!(l["gate"]["decision"].is_string());
        if l["gate"]["decision"] == "deny" {
            assert!(l["gate"]["reason"].is_string(), "why: {l}");
            assert_eq!(l["event"]["kind"], "alert");
        }
        if l["gate"]["transport"] == "tls" && l["gate"]["decision"] != "deny" {
            assert!(
                l["tls"]["client"]["hash"]["sha256"].is_string(),
                "fingerprint: {l}"
            );
        }
        if l["event"]["action"] == "request" {
            assert!(l["modbus"]["function_code"].is_number(), "request: {l}");
        }
    }
    // the state database holds the same decisions
    let db = sluice_gate::state::StateDb::open(&fx.dir.path().join("gate.db")).unwrap();
    let rows = db.audit_rows().unwrap();
    assert_eq!(rows.len(), lines.len());
    for (row, line) in rows.iter().zip(&lines) {
        assert_eq!(line["gate"]["decision"], json!(row.decision));
        assert_eq!(line["event"]["action"], json!(row.action));
        assert_eq!(line["user"]["name"], json!(row.identity));
        match &row.json {
            Some(j) => assert_eq!(&serde_json::from_str::<Value>(j).unwrap(), line),
            None => {
                // allowed requests keep their facts in columns
                assert_eq!(
                    (row.action.as_str(), row.decision.as_str()),
                    ("request", "allow")
                );
                assert_eq!(line["modbus"]["function_code"], json!(row.function_code));
                assert_eq!(line["modbus"]["address"], json!(row.address));
            }
        }
    }
    let alerts: i64 = db
        .conn()
        .query_row("SELECT COUNT(*) FROM alerts", [], |r| r.get(0))
        .unwrap();
    assert_eq!(alerts, 4);
    fx.gate.shutdown().await;
}

/// Raw pipelined Modbus/TCP: many requests in flight on two connections with the
/// same transaction ids; every answer comes back to its own request.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pipelined_clients_keep_their_transaction_ids() {
    use sluice_proto::modbus::encode::{request, Request};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let Some(fx) = Fx::new("").await else { return };
    // registers 0..20 = 1000 + address (5 stays 100: critical)
    let mut ops = Vec::new();
    for a in (0..20).filter(|&a| a != 5) {
        ops.push(json!({"op": "write_register", "address": a, "value": 1000 + a}));
    }
    let r = fx.tls(&fx.certs.operator, Value::Array(ops)).await;
    assert!(
        r["results"]
            .as_array()
            .unwrap()
            .iter()
            .all(|x| x["ok"] == true),
        "{r}"
    );
    let expect = |a: u16| if a == 5 { 100 } else { 1000 + a };

    let port = fx.plain_port();
    let mut tasks = Vec::new();
    for conn in 0..2u16 {
        tasks.push(tokio::spawn(async move {
            let mut s = tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .unwrap();
            let mut out = Vec::new();
            for tid in 0..60u16 {
                let address = (tid + conn * 7) % 20;
                out.extend(
                    request(
                        tid,
                        1,
                        &Request::ReadHoldingRegisters {
                            address,
                            quantity: 1,
                        },
                    )
                    .unwrap(),
                );
            }
            s.write_all(&out).await.unwrap();
            let mut seen = std::collections::HashSet::new();
            let mut buf = vec![0u8; 11 * 60];
            s.read_exact(&mut buf).await.unwrap();
            for f in buf.chunks(11) {
                let tid = u16::from_be_bytes([f[0], f[1]]);
                let value = u16::from_be_bytes([f[9], f[10]]);
                assert_eq!(f[7], 3, "not an exception");
                assert_eq!(
                    value,
                    expect((tid + conn * 7) % 20),
                    "tid {tid} got another request's answer"
                );
                assert!(seen.insert(tid), "tid {tid} answered twice");
            }
            assert_eq!(seen.len(), 60);
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    fx.gate.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_configuration_refuses_to_start_with_its_line() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("gate.toml");
    std::fs::write(&cfg, "[gate]\nlisten_plain = \"127.0.0.1:0\"\nupstream = \"127.0.0.1:5020\"\n\n[[role]]\nname = \"x\"\nunits = [1]\nfunctions = [3, 999]\n").unwrap();
    let e = sluice_gate::start(&cfg, Options::default())
        .await
        .err()
        .unwrap()
        .to_string();
    assert_eq!(
        e,
        format!("{}:8:17: function code 999 is outside 1-127", cfg.display())
    );
    // a file named by the configuration that cannot be read points at its key
    let certs = Certs::make(dir.path());
    let text = gate_toml(&certs, "127.0.0.1:5020".parse().unwrap(), "")
        .replace(&certs.crl.display().to_string(), "missing.crl");
    std::fs::write(&cfg, text).unwrap();
    let e = sluice_gate::start(&cfg, Options::default())
        .await
        .err()
        .unwrap()
        .to_string();
    assert!(
        e.starts_with(&format!(
            "{}:8:7: cannot read revocation list",
            cfg.display()
        )),
        "{e}"
    );
    // a broken policy reports the policy's own line
    write_policy(dir.path());
    let p = dir.path().join("sluice.toml");
    let pol = std::fs::read_to_string(&p)
        .unwrap()
        .replace("min = 50", "min = 500");
    std::fs::write(&p, pol).unwrap();
    std::fs::write(
        &cfg,
        gate_toml(&certs, "127.0.0.1:5020".parse().unwrap(), ""),
    )
    .unwrap();
    let e = sluice_gate::start(&cfg, Options::default())
        .await
        .err()
        .unwrap()
        .to_string();
    assert!(
        e.starts_with(&format!("{}:", p.display())) && e.contains("min 500 is above max 200"),
        "{e}"
    );
    let _ = Path::new("");
}
