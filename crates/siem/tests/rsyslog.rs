//! CEF over RFC 5424 syslog against a real rsyslog (Debian `rsyslog`), started by the
//! tests on loopback ports with a configuration in a temporary directory, writing what it
//! receives (parsed by its RFC 5424 parser) to a file the tests read. Skipped when
//! rsyslogd is not installed.
use sluice_engine::event::{AlertRecord, Body, Event, Kind};
use sluice_flow::Endpoint;
use sluice_siem::syslog::{Protocol, SyslogConfig, SyslogSender};
use sluice_siem::Outputs;
use std::net::{SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn rsyslogd() -> Option<PathBuf> {
    ["/usr/sbin/rsyslogd", "/sbin/rsyslogd"]
        .iter()
        .map(PathBuf::from)
        .find(|p| p.exists())
}

struct Rsyslog {
    child: Child,
    dir: PathBuf,
    udp: u16,
    tcp: u16,
}

fn free_ports() -> (u16, u16) {
    let u = UdpSocket::bind("127.0.0.1:0").unwrap();
    let t = TcpListener::bind("127.0.0.1:0").unwrap();
    (
        u.local_addr().unwrap().port(),
        t.local_addr().unwrap().port(),
    )
}

impl Rsyslog {
    fn start(dir: &Path, udp: u16, tcp: u16) -> Rsyslog {
        let bin = rsyslogd().expect("rsyslogd");
        let conf = dir.join("rsyslog.conf");
        std::fs::write(
            &conf,
            format!(
                r#"global(workDirectory="{d}")
module(load="imudp")
module(load="imtcp")
input(type="imudp" address="127.0.0.1" port="{udp}")
input(type="imtcp" address="127.0.0.1" port="{tcp}")
template(name="fields" type="string" string="%inputname%|%syslogseverity%|%syslogfacility%|%app-name%|%msgid%|%msg%\n")
*.* action(type="omfile" file="{d}/received.log" template="fields")
"#,
                d = dir.display()
            ),
        )
        .unwrap();
        let child = Command::new(bin)
            .args(["-n", "-f"])
            .arg(&conf)
            .arg("-i")
            .arg(dir.join("rsyslogd.pid"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("rsyslogd starts");
        let r = Rsyslog {
            child,
            dir: dir.to_path_buf(),
            udp,
            tcp,
        };
        let until = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect(("127.0.0.1", tcp)).is_err() {
            assert!(Instant::now() < until, "rsyslogd did not start listening");
            std::thread::sleep(Duration::from_millis(50));
        }
        // The probe connection above is closed at once; rsyslog logs nothing for it.
        r
    }

    fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    fn lines(&self) -> Vec<String> {
        std::fs::read_to_string(self.dir.join("received.log"))
            .unwrap_or_default()
            .lines()
            .map(str::to_string)
            .collect()
    }

    fn wait_for(&self, n: usize) -> Vec<String> {
        let until = Instant::now() + Duration::from_secs(15);
        loop {
            let l = self.lines();
            if l.len() >= n || Instant::now() > until {
                return l;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Rsyslog {
    fn drop(&mut self) {
        self.stop();
    }
}

fn alert(i: u32, severity: u8) -> Event {
    Event {
        ts: 1_612_530_081_000_000_000 + i64::from(i),
        kind: Kind::Alert,
        flow_uid: Some(u64::from(i)),
        seq: 0,
        src: Some(Endpoint {
            ip: "10.10.2.20".parse().unwrap(),
            port: 50_000,
        }),
        dst: Some(Endpoint {
            ip: "10.10.1.10".parse().unwrap(),
            port: 502,
        }),
        src_mac: None,
        dst_mac: None,
        transport: Some("tcp"),
        protocol: Some("modbus"),
        body: Body::Alert(Box::new(AlertRecord {
            id: format!("A{i:032x}"),
            rule_id: "SLC-ENV-001".into(),
            rule_name: "Write outside | the envelope".into(),
            severity,
            technique_id: Some("T0836".into()),
            technique_name: Some("Modify Parameter".into()),
            tactic: Some("Impair Process Control".into()),
            controls: vec!["IEC62443-3-3:SR 3.5".into()],
            asset_ids: vec!["ip:10.10.1.10".into()],
            explanation: format!("alert {i}: register 5 = 11100\nold=100"),
            chain_id: Some("Cabc".into()),
            count: 1,
            evidence: vec![],
            details: serde_json::json!({}),
        })),
    }
}

fn config(p: Protocol, port: u16) -> SyslogConfig {
    let url = match p {
        Protocol::Udp => format!("udp://127.0.0.1:{port}"),
        Protocol::Tcp => format!("tcp://127.0.0.1:{port}"),
    };
    SyslogConfig::from_url(&url).unwrap()
}

#[test]
fn cef_alerts_reach_rsyslog_over_udp_and_tcp() {
    if rsyslogd().is_none() {
        println!("SKIP: rsyslogd not installed (Debian package rsyslog)");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (udp, tcp) = free_ports();
    let rs = Rsyslog::start(dir.path(), udp, tcp);
    let events: Vec<Event> = (0..40)
        .map(|i| alert(i, if i % 2 == 0 { 95 } else { 45 }))
        .collect();
    for (proto, port) in [(Protocol::Udp, rs.udp), (Protocol::Tcp, rs.tcp)] {
        let mut out = Outputs {
            syslog: Some(SyslogSender::start(config(proto, port)).unwrap()),
            eve: None,
        };
        out.alerts(&events).unwrap();
        let st = out.close(Duration::from_secs(5)).unwrap().unwrap();
        assert_eq!((st.sent, st.dropped), (40, 0), "{proto:?}: {st:?}");
        // UDP datagrams are all sent before the TCP ones: wait in between, so that the
        // file shows them in that order.
        rs.wait_for(40);
    }
    let lines = rs.wait_for(80);
    assert_eq!(lines.len(), 80, "{lines:#?}");
    for (i, l) in lines.iter().enumerate() {
        let f: Vec<&str> = l.splitn(6, '|').collect();
        let input = if i < 40 { "imudp" } else { "imtcp" };
        assert_eq!(f[0], input, "{l}");
        // Severity 95 is critical (2), 45 a warning (4); facility local0 (16).
        let sev = if i % 40 % 2 == 0 { "2" } else { "4" };
        assert_eq!(
            (f[1], f[2], f[3], f[4]),
            (sev, "16", "sluice", "alert"),
            "{l}"
        );
        let msg = f[5];
        assert!(msg.starts_with("CEF:0|Sluice|Sluice|"), "{l}");
        assert!(
            msg.contains("|SLC-ENV-001|Write outside \\| the envelope|"),
            "{l}"
        );
        assert!(
            msg.contains(&format!(
                "msg=alert {}: register 5 \\= 11100\\nold\\=100",
                i % 40
            )),
            "{l}"
        );
        assert!(
            msg.contains("src=10.10.2.20 spt=50000 dst=10.10.1.10 dpt=502 proto=TCP app=modbus"),
            "{l}"
        );
        assert!(
            msg.contains("cs1Label=mitreTechnique cs1=T0836 Modify Parameter"),
            "{l}"
        );
        assert!(msg.contains("cs2Label=chainId cs2=Cabc"), "{l}");
    }
}

#[test]
fn tcp_sender_reconnects_after_rsyslog_restarts() {
    if rsyslogd().is_none() {
        println!("SKIP: rsyslogd not installed (Debian package rsyslog)");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (udp, tcp) = free_ports();
    let mut rs = Rsyslog::start(dir.path(), udp, tcp);
    let sender = SyslogSender::start(config(Protocol::Tcp, tcp)).unwrap();
    for i in 0..10 {
        sender.send(&format!("before {i}"), 4);
    }
    assert_eq!(rs.wait_for(10).len(), 10);
    rs.stop();
    std::thread::sleep(Duration::from_millis(200));
    // Sent while the collector is down: queued, then delivered once it is back.
    for i in 0..10 {
        sender.send(&format!("after {i}"), 4);
    }
    std::thread::sleep(Duration::from_millis(300));
    let rs2 = Rsyslog::start(dir.path(), udp, tcp);
    let lines = rs2.wait_for(20);
    let st = sender.close(Duration::from_secs(5));
    let lines = if lines.len() < 20 {
        rs2.wait_for(20)
    } else {
        lines
    };
    assert_eq!(lines.len(), 20, "{lines:#?} {st:?}");
    for i in 0..10 {
        assert!(lines.iter().any(|l| l.ends_with(&format!("|before {i}"))));
        assert!(
            lines.iter().any(|l| l.ends_with(&format!("|after {i}"))),
            "{lines:#?}"
        );
    }
    assert!(st.reconnects >= 1, "{st:?}");
    assert_eq!((st.sent, st.dropped), (20, 0), "{st:?}");
}

#[test]
fn a_full_queue_drops_and_counts_without_blocking() {
    // Nothing listens on this port: the sender retries the first message while the
    // queue (8) fills; the rest is dropped at once and counted.
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut cfg = config(Protocol::Tcp, port);
    cfg.queue = 8;
    let sender = SyslogSender::start(cfg).unwrap();
    let t = Instant::now();
    for i in 0..100 {
        sender.send(&format!("m{i}"), 4);
    }
    assert!(t.elapsed() < Duration::from_secs(1), "send blocked");
    assert!(sender.stats().dropped >= 90, "{:?}", sender.stats());
    let st = sender.close(Duration::from_millis(300));
    assert_eq!((st.sent, st.dropped), (0, 100), "{st:?}");
    assert!(st.errors >= 1);
}

#[test]
fn udp_datagrams_are_rfc5424() {
    let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
    sock.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let addr: SocketAddr = sock.local_addr().unwrap();
    let sender = SyslogSender::start(config(Protocol::Udp, addr.port())).unwrap();
    sender.send("CEF:0|x", 3);
    let mut b = [0u8; 2048];
    let n = sock.recv(&mut b).unwrap();
    let m = String::from_utf8_lossy(&b[..n]).into_owned();
    let f: Vec<&str> = m.splitn(8, ' ').collect();
    assert_eq!(f[0], "<131>1", "{m}");
    assert!(f[1].ends_with('Z') && f[1].len() == 27, "{m}");
    assert_eq!((f[3], f[5], f[6]), ("sluice", "alert", "-"), "{m}");
    assert_eq!(f[7], "CEF:0|x");
    assert_eq!(sender.close(Duration::from_secs(1)).sent, 1);
}
