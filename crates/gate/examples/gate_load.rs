//! Load generator for `bench/gate.sh`: a fast mock PLC, the gate itself, and Modbus
//! clients at a fixed rate (latency percentiles) or flat out (throughput).
//!
//! ```text
//! gate_load setup --dir D --plc ADDR [--tls-port P] [--plain-port P]   certificates + gate.toml
//! gate_load plc --listen ADDR                                         mock PLC (reads, writes)
//! gate_load gate --config F [--threads N]                             the gate (as `sluice gate`)
//! gate_load relay --listen ADDR --upstream ADDR [--threads N]         a bare TCP relay (the floor
//!                                                                     any proxy pays here)
//! gate_load load --target ADDR [--tls DIR] --rate R --conns C --secs S [--pipeline P]
//! ```
//! `load` prints one JSON object: requests, responses, exceptions, achieved rate and
//! latency percentiles in microseconds. `--rate 0` runs closed-loop with `--pipeline`
//! requests in flight per connection (throughput).

use rcgen::{
    BasicConstraints, CertificateParams, CustomExtension, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose,
};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

type Res<T> = Result<T, Box<dyn std::error::Error + Send + Sync>>;

fn args() -> (String, HashMap<String, String>) {
    let mut it = std::env::args().skip(1);
    let cmd = it.next().unwrap_or_default();
    let mut m = HashMap::new();
    while let Some(k) = it.next() {
        if let Some(k) = k.strip_prefix("--") {
            m.insert(k.to_string(), it.next().unwrap_or_default());
        }
    }
    (cmd, m)
}

fn get<T: std::str::FromStr>(m: &HashMap<String, String>, k: &str, d: T) -> T {
    m.get(k).and_then(|v| v.parse().ok()).unwrap_or(d)
}

fn main() -> Res<()> {
    let (cmd, a) = args();
    match cmd.as_str() {
        "setup" => setup(&a),
        "plc" => {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            rt.block_on(plc(a
                .get("listen")
                .cloned()
                .unwrap_or_else(|| "127.0.0.1:15020".into())))
        }
        "gate" => {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(get(&a, "threads", 2usize))
                .enable_all()
                .build()?;
            let cfg = PathBuf::from(a.get("config").cloned().unwrap_or_default());
            rt.block_on(sluice_gate::serve(&cfg, sluice_gate::Options::default()))?;
            Ok(())
        }
        "relay" => {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(get(&a, "threads", 2usize))
                .enable_all()
                .build()?;
            let listen = a
                .get("listen")
                .cloned()
                .unwrap_or_else(|| "127.0.0.1:18600".into());
            let upstream = a
                .get("upstream")
                .cloned()
                .unwrap_or_else(|| "127.0.0.1:15020".into());
            rt.block_on(relay(listen, upstream))
        }
        "load" => {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            rt.block_on(load(&a))
        }
        _ => {
            eprintln!("usage: gate_load setup|plc|gate|load ... (see the source's header)");
            std::process::exit(2);
        }
    }
}

fn setup(a: &HashMap<String, String>) -> Res<()> {
    let dir = PathBuf::from(a.get("dir").cloned().unwrap_or_else(|| "bench-gate".into()));
    std::fs::create_dir_all(&dir)?;
    let plc = a
        .get("plc")
        .cloned()
        .unwrap_or_else(|| "127.0.0.1:15020".into());
    let tls_port = get(a, "tls-port", 18802u16);
    let plain_port = get(a, "plain-port", 18502u16);
    let ca_key = KeyPair::generate()?;
    let mut ca = CertificateParams::default();
    ca.distinguished_name = rcgen::DistinguishedName::new();
    ca.distinguished_name.push(DnType::CommonName, "bench CA");
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let ca_cert = ca.self_signed(&ca_key)?;
    let issuer = Issuer::new(ca, ca_key);
    let leaf = |cn: &str, server: bool| -> Res<(String, String)> {
        let key = KeyPair::generate()?;
        let mut p = CertificateParams::new(vec!["127.0.0.1".to_string()])?;
        p.distinguished_name = rcgen::DistinguishedName::new();
        p.distinguished_name.push(DnType::CommonName, cn);
        p.extended_key_usages = vec![if server {
            ExtendedKeyUsagePurpose::ServerAuth
        } else {
            ExtendedKeyUsagePurpose::ClientAuth
        }];
        if !server {
            p.custom_extensions.push(CustomExtension::from_oid_content(
                &[1, 3, 6, 1, 4, 1, 50316, 802, 1],
                [&[0x0C, 8][..], b"operator"].concat(),
            ));
        }
        let c = p.signed_by(&key, &issuer)?;
        Ok((c.pem(), key.serialize_pem()))
    };
    let (gc, gk) = leaf("gate", true)?;
    let (cc, ck) = leaf("bench-client", false)?;
    for (n, t) in [
        ("ca.pem", ca_cert.pem()),
        ("gate.pem", gc),
        ("gate.key", gk),
        ("client.pem", cc),
        ("client.key", ck),
    ] {
        std::fs::write(dir.join(n), t)?;
    }
    std::fs::write(
        dir.join("gate.toml"),
        format!(
            r#"[gate]
listen_tls = "127.0.0.1:{tls_port}"
listen_plain = "127.0.0.1:{plain_port}"
upstream = "{plc}"
cert = "gate.pem"
key = "gate.key"
client_ca = "ca.pem"
state = "gate.db"
audit_log = "audit.jsonl"
# the mock PLC pipelines; a legacy PLC keeps the default of 1
upstream_connections = 2
upstream_max_in_flight = 32

[[plain_client]]
address = "127.0.0.1"
role = "operator"

[[role]]
name = "operator"
units = [1]
functions = [3, 6]
read = ["0-999"]
write = ["0-99"]
"#
        ),
    )?;
    println!("{}", dir.join("gate.toml").display());
    Ok(())
}

/// Answers reads with each register's address as value, echoes single writes,
/// anything else with exception 01. Pipelines.
async fn plc(listen: String) -> Res<()> {
    let l = TcpListener::bind(&listen).await?;
    eprintln!("mock PLC on {}", l.local_addr()?);
    loop {
        let (s, _) = l.accept().await?;
        let _ = s.set_nodelay(true);
        tokio::spawn(async move {
            let _ = plc_conn(s).await;
        });
    }
}

async fn plc_conn(mut s: TcpStream) -> Res<()> {
    let mut buf = vec![0u8; 64 * 1024];
    let (mut start, mut end) = (0usize, 0usize);
    let mut out = Vec::with_capacity(64 * 1024);
    loop {
        if start == end {
            start = 0;
            end = 0;
        } else if buf.len() - end < 300 {
            buf.copy_within(start..end, 0);
            end -= start;
            start = 0;
        }
        let n = s.read(&mut buf[end..]).await?;
        if n == 0 {
            return Ok(());
        }
        end += n;
        while end - start >= 8 {
            let f = &buf[start..end];
            let len = 6 + usize::from(u16::from_be_bytes([f[4], f[5]]));
            if !(8..=260).contains(&len) {
                return Ok(());
            }
            if f.len() < len {
                break;
            }
            let (tid, unit, fc) = ([f[0], f[1]], f[6], f[7]);
            match fc {
                3 if len >= 12 => {
                    let addr = u16::from_be_bytes([f[8], f[9]]);
                    let q = u16::from_be_bytes([f[10], f[11]]).min(125);
                    out.extend_from_slice(&[tid[0], tid[1], 0, 0]);
                    out.extend_from_slice(&(3 + 2 * q).to_be_bytes());
                    out.extend_from_slice(&[unit, 3, (2 * q) as u8]);
                    for i in 0..q {
                        out.extend_from_slice(&addr.wrapping_add(i).to_be_bytes());
                    }
                }
                6 if len >= 12 => out.extend_from_slice(&f[..12]),
                _ => out.extend_from_slice(&[tid[0], tid[1], 0, 0, 0, 3, unit, fc | 0x80, 1]),
            }
            start += len;
        }
        s.write_all(&out).await?;
        out.clear();
    }
}

/// Copies bytes both ways between each client and its own upstream connection.
async fn relay(listen: String, upstream: String) -> Res<()> {
    let l = TcpListener::bind(&listen).await?;
    loop {
        let (c, _) = l.accept().await?;
        let upstream = upstream.clone();
        tokio::spawn(async move {
            let Ok(u) = TcpStream::connect(&upstream).await else {
                return;
            };
            let _ = c.set_nodelay(true);
            let _ = u.set_nodelay(true);
            let (mut cr, mut cw) = c.into_split();
            let (mut ur, mut uw) = u.into_split();
            tokio::spawn(async move { tokio::io::copy(&mut ur, &mut cw).await });
            let _ = tokio::io::copy(&mut cr, &mut uw).await;
        });
    }
}

fn tls_connector(dir: &Path) -> Res<tokio_rustls::TlsConnector> {
    use tokio_rustls::rustls;
    let mut roots = rustls::RootCertStore::empty();
    roots.add(CertificateDer::from_pem_file(dir.join("ca.pem"))?)?;
    let chain = vec![CertificateDer::from_pem_file(dir.join("client.pem"))?];
    let key = PrivateKeyDer::from_pem_file(dir.join("client.key"))?;
    let cc = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()?
    .with_root_certificates(roots)
    .with_client_auth_cert(chain, key)?;
    Ok(tokio_rustls::TlsConnector::from(Arc::new(cc)))
}

trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

#[derive(Default)]
struct Tally {
    lat_us: Vec<u32>,
    responses: u64,
    exceptions: u64,
    sent: u64,
}

fn request(tid: u16, address: u16, regs: u16) -> [u8; 12] {
    let t = tid.to_be_bytes();
    let a = address.to_be_bytes();
    let q = regs.to_be_bytes();
    [t[0], t[1], 0, 0, 0, 6, 1, 3, a[0], a[1], q[0], q[1]]
}

/// One connection: at `interval` (open loop, one request in flight) or flat out
/// with `pipeline` in flight (interval zero) until `until`.
async fn conn(
    mut s: Box<dyn Io>,
    interval: Duration,
    pipeline: usize,
    regs: u16,
    until: Instant,
) -> Res<Tally> {
    let mut t = Tally::default();
    let mut sent_at: Vec<Option<Instant>> = vec![None; 65536];
    let mut tid: u16 = 0;
    let mut rbuf = vec![0u8; 64 * 1024];
    let (mut start, mut end) = (0usize, 0usize);
    let mut inflight = 0usize;
    let mut next = Instant::now();
    let mut wbuf = Vec::new();
    loop {
        let now = Instant::now();
        if now >= until && inflight == 0 {
            break;
        }
        if now < until {
            if interval.is_zero() {
                while inflight < pipeline {
                    wbuf.extend_from_slice(&request(tid, tid % 500, regs));
                    sent_at[usize::from(tid)] = Some(Instant::now());
                    tid = tid.wrapping_add(1);
                    inflight += 1;
                    t.sent += 1;
                }
            } else if inflight == 0 {
                if now < next {
                    tokio::time::sleep_until(next.into()).await;
                }
                next += interval;
                if next < Instant::now() {
                    next = Instant::now();
                }
                wbuf.extend_from_slice(&request(tid, tid % 500, regs));
                sent_at[usize::from(tid)] = Some(Instant::now());
                tid = tid.wrapping_add(1);
                inflight += 1;
                t.sent += 1;
            }
            if !wbuf.is_empty() {
                s.write_all(&wbuf).await?;
                s.flush().await?;
                wbuf.clear();
            }
        }
        if start == end {
            start = 0;
            end = 0;
        } else if rbuf.len() - end < 300 {
            rbuf.copy_within(start..end, 0);
            end -= start;
            start = 0;
        }
        let wait = until.saturating_duration_since(Instant::now()) + Duration::from_secs(2);
        let n = match tokio::time::timeout(wait, s.read(&mut rbuf[end..])).await {
            Ok(r) => r?,
            Err(_) => break,
        };
        if n == 0 {
            break;
        }
        end += n;
        let done = Instant::now();
        while end - start >= 9 {
            let f = &rbuf[start..end];
            let len = 6 + usize::from(u16::from_be_bytes([f[4], f[5]]));
            if f.len() < len {
                break;
            }
            let id = u16::from_be_bytes([f[0], f[1]]);
            if let Some(at) = sent_at[usize::from(id)].take() {
                t.lat_us.push(
                    done.duration_since(at)
                        .as_micros()
                        .min(u128::from(u32::MAX)) as u32,
                );
                inflight = inflight.saturating_sub(1);
                t.responses += 1;
                if f[7] & 0x80 != 0 {
                    t.exceptions += 1;
                }
            }
            start += len;
        }
    }
    Ok(t)
}

async fn load(a: &HashMap<String, String>) -> Res<()> {
    let target: SocketAddr = a.get("target").ok_or("--target")?.parse()?;
    let rate = get(a, "rate", 1000u64);
    let conns = get(a, "conns", 4usize).max(1);
    let secs = get(a, "secs", 5u64);
    let pipeline = get(a, "pipeline", 1usize).max(1);
    let regs = get(a, "regs", 1u16);
    let tls = a.get("tls").map(PathBuf::from);
    let connector = match &tls {
        Some(d) => Some(tls_connector(d)?),
        None => None,
    };
    let mut streams: Vec<Box<dyn Io>> = Vec::new();
    for _ in 0..conns {
        let tcp = TcpStream::connect(target).await?;
        tcp.set_nodelay(true)?;
        streams.push(match &connector {
            Some(c) => Box::new(c.connect(ServerName::try_from("127.0.0.1")?, tcp).await?),
            None => Box::new(tcp),
        });
    }
    let interval = (1_000_000_000 * conns as u64)
        .checked_div(rate)
        .map_or(Duration::ZERO, Duration::from_nanos);
    let t0 = Instant::now();
    let until = t0 + Duration::from_secs(secs);
    let tasks: Vec<_> = streams
        .into_iter()
        .map(|s| tokio::spawn(conn(s, interval, pipeline, regs, until)))
        .collect();
    let mut all = Tally::default();
    for t in tasks {
        let x = t.await.map_err(|e| e.to_string())??;
        all.lat_us.extend(x.lat_us);
        all.responses += x.responses;
        all.exceptions += x.exceptions;
        all.sent += x.sent;
    }
    let elapsed = t0.elapsed().as_secs_f64();
    all.lat_us.sort_unstable();
    let pct = |p: f64| -> u32 {
        if all.lat_us.is_empty() {
            return 0;
        }
        let i = ((all.lat_us.len() as f64 - 1.0) * p).round() as usize;
        all.lat_us[i.min(all.lat_us.len() - 1)]
    };
    println!(
        "{{\"target\":\"{target}\",\"tls\":{},\"rate\":{rate},\"conns\":{conns},\"pipeline\":{pipeline},\"sent\":{},\"responses\":{},\"exceptions\":{},\"achieved_rps\":{:.0},\"p50_us\":{},\"p90_us\":{},\"p99_us\":{},\"max_us\":{}}}",
        tls.is_some(),
        all.sent,
        all.responses,
        all.exceptions,
        all.responses as f64 / elapsed.min(secs as f64).max(0.001),
        pct(0.5),
        pct(0.9),
        pct(0.99),
        all.lat_us.last().copied().unwrap_or(0)
    );
    Ok(())
}
