//! End to end in a real headless Chromium driven over WebDriver (Debian `chromium` and
//! `chromium-driver`): sign in with a password and a TOTP code computed here, see the red
//! Oldsmar edge (external → HMI) on the Purdue map, open the PLC, acknowledge an alert; a
//! viewer cannot acknowledge; a wrong code is refused. Screenshots go to
//! `target/test-artifacts/`.
mod common;

use common::*;
use serde_json::{json, Value};
use sluice_console::auth::Role;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const CHROMIUM: &str = "/usr/bin/chromium";
const DRIVER: &str = "/usr/bin/chromedriver";

/// One HTTP/1.1 exchange with chromedriver (JSON in, JSON out).
fn http(port: u16, method: &str, path: &str, body: Option<&Value>) -> Result<Value, String> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).map_err(|e| e.to_string())?;
    s.set_read_timeout(Some(Duration::from_secs(60)))
        .map_err(|e| e.to_string())?;
    let payload = body.map(|b| b.to_string()).unwrap_or_default();
    let req = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{payload}",
        payload.len()
    );
    s.write_all(req.as_bytes()).map_err(|e| e.to_string())?;
    // Read the head, then exactly the body (chromedriver may keep the connection open).
    let mut raw = Vec::new();
    let mut buf = [0u8; 8192];
    let head_end = loop {
        if let Some(i) = raw.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        let n = s.read(&mut buf).map_err(|e| e.to_string())?;
        if n == 0 {
            return Err("connection closed before the head".into());
        }
        raw.extend_from_slice(buf.get(..n).unwrap_or(&[]));
    };
    let head = String::from_utf8_lossy(raw.get(..head_end).unwrap_or(&[])).to_ascii_lowercase();
    let mut body_bytes = raw.get(head_end..).unwrap_or(&[]).to_vec();
    let length = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .and_then(|v| v.trim().parse::<usize>().ok());
    let chunked = head.contains("transfer-encoding: chunked");
    loop {
        let complete = match length {
            Some(n) => body_bytes.len() >= n,
            None if chunked => body_bytes.windows(5).any(|w| w == b"0\r\n\r\n"),
            None => false,
        };
        if complete {
            break;
        }
        let n = s.read(&mut buf).map_err(|e| e.to_string())?;
        if n == 0 {
            break;
        }
        body_bytes.extend_from_slice(buf.get(..n).unwrap_or(&[]));
    }
    let rest = String::from_utf8_lossy(&body_bytes).into_owned();
    let body = if chunked {
        let mut out = String::new();
        let mut r = rest.as_str();
        while let Some((len, tail)) = r.split_once("\r\n") {
            let n = usize::from_str_radix(len.trim(), 16).map_err(|e| e.to_string())?;
            if n == 0 {
                break;
            }
            out.push_str(tail.get(..n).ok_or("short chunk")?);
            r = tail.get(n + 2..).unwrap_or("");
        }
        out
    } else {
        rest
    };
    let v: Value = serde_json::from_str(&body).map_err(|e| format!("{e}: {body}"))?;
    if let Some(err) = v["value"]["error"].as_str() {
        return Err(format!(
            "{err}: {}",
            v["value"]["message"].as_str().unwrap_or("")
        ));
    }
    Ok(v)
}

/// Kills what it owns when dropped (also when a test step panics).
struct Driver {
    child: Child,
    port: u16,
    session: Option<String>,
    _profile: tempfile::TempDir,
}

impl Drop for Driver {
    fn drop(&mut self) {
        if let Some(s) = self.session.take() {
            let _ = http(self.port, "DELETE", &format!("/session/{s}"), None);
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

impl Driver {
    fn start() -> Driver {
        let port = free_port();
        let child = Command::new(DRIVER)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts");
        let profile = tempfile::tempdir().expect("profile dir");
        let mut d = Driver {
            child,
            port,
            session: None,
            _profile: profile,
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        while http(port, "GET", "/status", None)
            .map(|v| v["value"]["ready"] != true)
            .unwrap_or(true)
        {
            assert!(
                Instant::now() < deadline,
                "chromedriver did not become ready"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        let caps = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": CHROMIUM,
                "args": ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                         "--no-first-run", "--disable-background-networking",
                         "--disable-component-update", "--disable-sync",
                         "--disable-dev-shm-usage", "--window-size=1366,768",
                         format!("--user-data-dir={}", d._profile.path().display())]
            }
        }}});
        let v = http(port, "POST", "/session", Some(&caps)).expect("a browser session");
        d.session = v["value"]["sessionId"].as_str().map(str::to_owned);
        assert!(d.session.is_some(), "no session id: {v}");
        d
    }

    fn cmd(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        let s = self.session.as_deref().unwrap_or("");
        http(
            self.port,
            method,
            &format!("/session/{s}{path}"),
            body.as_ref(),
        )
        .unwrap_or_else(|e| panic!("{method} {path}: {e}"))
    }

    fn go(&self, url: &str) {
        self.cmd("POST", "/url", Some(json!({ "url": url })));
    }

    /// Waits up to 5 s for the address to end with `suffix` (or contain it).
    fn wait_url(&self, part: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let u = self.url();
            if u.ends_with(part) || u.contains(part) || Instant::now() > deadline {
                return u;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn wait_url_end_slash(&self) -> String {
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let u = self.url();
            if u.ends_with('/') || Instant::now() > deadline {
                return u;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn url(&self) -> String {
        self.cmd("GET", "/url", None)["value"]
            .as_str()
            .unwrap_or("")
            .to_string()
    }

    /// Waits up to 5 s for an element (a submitted form's answer may still be loading).
    fn find(&self, css: &str) -> Option<String> {
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            if let Some(e) = self.find_now(css) {
                return Some(e);
            }
            if Instant::now() > deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn find_now(&self, css: &str) -> Option<String> {
        let s = self.session.as_deref().unwrap_or("");
        let v = http(
            self.port,
            "POST",
            &format!("/session/{s}/element"),
            Some(&json!({"using": "css selector", "value": css})),
        )
        .ok()?;
        v["value"]
            .as_object()
            .and_then(|o| o.values().next())
            .and_then(Value::as_str)
            .map(str::to_owned)
    }

    fn must(&self, css: &str) -> String {
        self.find(css).unwrap_or_else(|| {
            let text = self.script("return document.body.innerText.slice(0, 800);", json!([]));
            panic!("no element {css} on {}: {text}", self.url())
        })
    }

    fn typ(&self, css: &str, text: &str) {
        let e = self.must(css);
        self.cmd("POST", &format!("/element/{e}/clear"), Some(json!({})));
        self.cmd(
            "POST",
            &format!("/element/{e}/value"),
            Some(json!({ "text": text })),
        );
    }

    fn click(&self, css: &str) {
        let e = self.must(css);
        self.cmd("POST", &format!("/element/{e}/click"), Some(json!({})));
    }

    fn text_once(&self, css: &str) -> Option<String> {
        let e = self.find(css)?;
        let s = self.session.as_deref().unwrap_or("");
        http(
            self.port,
            "GET",
            &format!("/session/{s}/element/{e}/text"),
            None,
        )
        .ok()?["value"]
            .as_str()
            .map(str::to_owned)
    }

    /// The element's text once it contains `needle` (the page after a click may still be
    /// loading, and the old page's element goes stale); the last text seen otherwise.
    fn text_with(&self, css: &str, needle: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(8);
        loop {
            let t = self.text_once(css).unwrap_or_default();
            if t.contains(needle) || Instant::now() > deadline {
                return t;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn script(&self, js: &str, args: Value) -> Value {
        self.cmd(
            "POST",
            "/execute/sync",
            Some(json!({"script": js, "args": args})),
        )["value"]
            .clone()
    }

    fn async_script(&self, js: &str, args: Value) -> Value {
        self.cmd(
            "POST",
            "/execute/async",
            Some(json!({"script": js, "args": args})),
        )["value"]
            .clone()
    }

    fn screenshot(&self, name: &str) {
        let v = self.cmd("GET", "/screenshot", None);
        let b64 = v["value"].as_str().unwrap_or("");
        let png = base64_decode(b64);
        assert!(png.starts_with(b"\x89PNG"), "screenshot is a PNG");
        let path = artifacts_dir().join(format!("console-{name}.png"));
        std::fs::write(&path, png).expect("write screenshot");
    }

    fn login(&self, base: &str, user: &str, secret: &str) {
        self.go(&format!("{base}/login"));
        self.typ("input[name=username]", user);
        self.typ("input[name=password]", PASSWORD);
        self.click("#login button[type=submit]");
        let u = self.wait_url("/login/totp");
        assert!(u.ends_with("/login/totp"), "at {u}");
        self.typ("input[name=code]", &next_code(user, secret));
        self.click("#totp button[type=submit]");
        let u = self.wait_url_end_slash();
        assert!(u.ends_with('/'), "signed in, at {u}");
    }

    fn logout(&self) {
        self.click("header .who button[type=submit]");
        let u = self.wait_url("/login");
        assert!(u.ends_with("/login"), "at {u}");
    }
}

fn base64_decode(s: &str) -> Vec<u8> {
    let val = |c: u8| -> Option<u32> {
        match c {
            b'A'..=b'Z' => Some(u32::from(c - b'A')),
            b'a'..=b'z' => Some(u32::from(c - b'a') + 26),
            b'0'..=b'9' => Some(u32::from(c - b'0') + 52),
            b'+' => Some(62),
            b'/' => Some(63),
            _ => None,
        }
    };
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    let (mut acc, mut bits) = (0u32, 0u32);
    for c in s.bytes() {
        let Some(v) = val(c) else { continue };
        acc = (acc << 6) | v;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    out
}

#[test]
fn console_in_a_real_browser() {
    if !Path::new(CHROMIUM).exists() || !Path::new(DRIVER).exists() {
        println!("SKIP: {CHROMIUM} or {DRIVER} not installed (Debian chromium, chromium-driver)");
        return;
    }
    let f = fixture();
    // One governance assessment kept in the store, for the compliance page.
    let policy = sluice_policy::Policy::load(&f.policy).expect("policy");
    let assessed = assess_into(&f.db, Some(&policy), false, 1_700_000_000_000_000_000);
    let ana = add_user(&f.db, "ana", Role::Analyst, true);
    let vic = add_user(&f.db, "vic", Role::Viewer, true);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let running = rt
        .block_on(sluice_console::spawn(console(&f), "127.0.0.1:0", None))
        .expect("server");
    let base = format!("http://{}", running.addr);
    let d = Driver::start();

    // Unauthenticated: the console sends the browser to the login page.
    d.go(&format!("{base}/map"));
    let u = d.wait_url("/login");
    assert!(u.ends_with("/login"), "at {u}");
    d.screenshot("01-login");

    // Password, then a wrong code: refused, still on the code page.
    d.typ("input[name=username]", "ana");
    d.typ("input[name=password]", PASSWORD);
    d.click("#login button[type=submit]");
    let u = d.wait_url("/login/totp");
    assert!(u.ends_with("/login/totp"), "at {u}");
    let right = next_code("ana", &ana);
    let wrong = format!(
        "{:06}",
        (right.parse::<u32>().unwrap_or(0) + 500_000) % 1_000_000
    );
    d.typ("input[name=code]", &wrong);
    d.click("#totp button[type=submit]");
    assert!(
        d.text_with(".error", "Wrong code").contains("Wrong code"),
        "wrong code refused"
    );
    d.screenshot("02-wrong-totp");
    d.go(&format!("{base}/"));
    assert!(
        d.url().ends_with("/login/totp"),
        "not signed in after a wrong code"
    );

    // The right code signs in.
    d.typ("input[name=code]", &right);
    d.click("#totp button[type=submit]");
    let u = d.wait_url_end_slash();
    assert!(u.ends_with('/'), "signed in, at {u}");
    assert!(d.text_with("#kpi-assets", "1").parse::<u32>().unwrap_or(0) > 10);
    d.screenshot("03-overview");

    // The Purdue map: the intruder's edge into the HMI, drawn red.
    d.go(&format!("{base}/map"));
    let sel = format!("path.edge.violation[data-src='{ATTACKER}'][data-dst='{HMI}']");
    d.must(&sel);
    let stroke = d.script(
        "return getComputedStyle(document.querySelector(arguments[0])).stroke;",
        json!([sel]),
    );
    assert_eq!(stroke, "rgb(229, 72, 77)", "the Oldsmar edge is red");
    let box_w = d.script(
        "return document.querySelector(arguments[0]).getBoundingClientRect().width;",
        json!([sel]),
    );
    assert!(box_w.as_f64().unwrap_or(0.0) > 1.0, "the edge is visible");
    // Zoom works (the view box shrinks).
    let vb0 = d.script(
        "return document.getElementById('purdue').getAttribute('viewBox');",
        json!([]),
    );
    d.click("button[data-zoom=in]");
    let vb1 = d.script(
        "return document.getElementById('purdue').getAttribute('viewBox');",
        json!([]),
    );
    assert_ne!(vb0, vb1, "zoom changes the view box");
    d.click("button[data-zoom=reset]");
    d.screenshot("04-purdue-map");

    // Open the PLC from the map.
    d.click(&format!("a.node[data-ip='{PLC}']"));
    let u = d.wait_url("/assets/ip:10.10.1.10");
    assert!(u.contains("/assets/ip:10.10.1.10"), "at {u}");
    let title = d.text_with("#asset-title", PLC);
    assert!(
        title.contains(PLC) && title.contains("BMX P34 2020"),
        "{title}"
    );
    assert!(d
        .text_with("#identity", "Schneider")
        .contains("Schneider Electric"));
    d.screenshot("05-plc-asset");

    // Acknowledge the setpoint alert.
    d.go(&format!("{base}/alerts"));
    d.screenshot("06-alerts");
    d.click(&format!(
        "tr[data-alert='{}'] a[href^='/alerts/']",
        f.setpoint_alert
    ));
    assert!(d.text_with("#explanation", "11100").contains("11100"));
    d.click("#ack");
    let status = d.text_with("#alert-status", "acknowledged by ana");
    assert!(status.contains("acknowledged by ana"), "{status}");
    d.screenshot("07-alert-acknowledged");
    d.logout();

    // A viewer sees alerts but cannot acknowledge: no button, and the server refuses.
    d.login(&base, "vic", &vic);
    d.go(&format!("{base}/alerts/{}", f.remote_alert));
    assert!(
        d.find_now("#ack").is_none(),
        "no acknowledge button for a viewer"
    );
    assert!(d
        .text_with("#no-triage", "cannot acknowledge")
        .contains("cannot acknowledge"));
    let status = d.async_script(
        "const done = arguments[arguments.length - 1];
         const csrf = document.querySelector('input[name=csrf]').value;
         fetch('/alerts/' + arguments[0] + '/ack', {method: 'POST',
               headers: {'Content-Type': 'application/x-www-form-urlencoded'},
               body: 'csrf=' + encodeURIComponent(csrf)}).then(r => done(r.status));",
        json!([f.remote_alert]),
    );
    assert_eq!(status, 403, "the server refuses a viewer's acknowledgement");
    d.go(&format!("{base}/alerts/{}", f.remote_alert));
    assert!(d.text_with("#alert-status", "open").contains("open"));
    d.screenshot("08-viewer-alert");
    d.go(&format!("{base}/flows"));
    d.screenshot("09-flows-matrix");
    d.go(&format!("{base}/policy"));
    d.screenshot("10-policy");
    // The compliance page, reached from the navigation: the SL table and the trend render.
    d.click("nav a[href='/compliance']");
    let sl = d.text_with("#sl-table", "SL-T");
    assert!(sl.contains("SL-A") && sl.contains("control"), "{sl}");
    let shown = d.script(
        "const t = document.querySelector('#sl-table').getBoundingClientRect();
         return [t.width > 0 && t.height > 0, document.querySelectorAll('#compliance-trend rect.trend-bar').length];",
        json!([]),
    );
    assert_eq!(shown, json!([true, 1]), "SL table visible, one trend bar");
    let z = &assessed.scores.iec62443;
    assert!(z.iter().any(|z| sl.contains(&z.zone)));
    d.screenshot("11-compliance");
    drop(d);
    rt.block_on(running.stop());
}
