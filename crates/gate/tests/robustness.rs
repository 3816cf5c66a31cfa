//! The gate survives arbitrary bytes from clients and from the PLC: garbage,
//! truncated and oversized frames, random PDUs behind valid headers, a PLC that
//! answers nonsense. Afterwards a valid request still gets its answer. (No Python:
//! a mock PLC in Rust.)

use sluice_proto::modbus::encode::{request, Request};
use std::net::SocketAddr;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// A PLC answering reads of holding registers with the address as value; frames of
/// unit 99 get random bytes back instead.
async fn mock_plc() -> SocketAddr {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut s, _)) = l.accept().await {
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut tmp = [0u8; 4096];
                let mut seed = 0x1234_5678_u64;
                loop {
                    let n = match s.read(&mut tmp).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => n,
                    };
                    buf.extend_from_slice(&tmp[..n]);
                    while buf.len() >= 8 {
                        let len = 6 + usize::from(u16::from_be_bytes([buf[4], buf[5]]));
                        if buf.len() < len {
                            break;
                        }
                        let f: Vec<u8> = buf.drain(..len).collect();
                        let out = if f[6] == 99 {
                            (0..(seed % 40) as usize)
                                .map(|_| {
                                    seed ^= seed << 13;
                                    seed ^= seed >> 7;
                                    seed ^= seed << 17;
                                    seed as u8
                                })
                                .collect()
                        } else if f[7] == 3 && len >= 12 {
                            let q = u16::from_be_bytes([f[10], f[11]]).min(125);
                            let a = u16::from_be_bytes([f[8], f[9]]);
                            let mut r = vec![f[0], f[1], 0, 0];
                            r.extend_from_slice(&(3 + 2 * q).to_be_bytes());
                            r.extend_from_slice(&[f[6], 3, (2 * q) as u8]);
                            for i in 0..q {
                                r.extend_from_slice(&a.wrapping_add(i).to_be_bytes());
                            }
                            r
                        } else {
                            vec![f[0], f[1], 0, 0, 0, 3, f[6], f[7] | 0x80, 1]
                        };
                        if s.write_all(&out).await.is_err() {
                            return;
                        }
                    }
                }
            });
        }
    });
    addr
}

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next() as u8).collect()
    }
}

async fn valid_read(port: u16) -> Vec<u8> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    s.write_all(
        &request(
            42,
            1,
            &Request::ReadHoldingRegisters {
                address: 7,
                quantity: 2,
            },
        )
        .unwrap(),
    )
    .await
    .unwrap();
    let mut r = vec![0u8; 9];
    tokio::time::timeout(Duration::from_secs(5), s.read_exact(&mut r))
        .await
        .expect("answer in time")
        .unwrap();
    if r[7] & 0x80 == 0 {
        let mut rest = vec![0u8; 4];
        s.read_exact(&mut rest).await.unwrap();
        r.extend(rest);
    }
    r
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn arbitrary_bytes_never_bring_the_gate_down() {
    let plc = mock_plc().await;
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("gate.toml");
    let functions: Vec<String> = (1..=127).map(|f| f.to_string()).collect();
    std::fs::write(
        &cfg,
        format!(
            "[gate]\nlisten_plain = \"127.0.0.1:0\"\nupstream = \"{plc}\"\nupstream_timeout_ms = 300\nupstream_max_in_flight = 4\n\
             [[plain_client]]\naddress = \"127.0.0.0/8\"\nrole = \"all\"\n\
             [[role]]\nname = \"all\"\nunits = [0, 1, 99, 255]\nfunctions = [{}]\nread = [\"0-65535\"]\nwrite = [\"0-65535\"]\n\
             [[critical]]\nunit = 1\nregisters = \"100-200\"\n",
            functions.join(", ")
        ),
    )
    .unwrap();
    let gate = sluice_gate::start(&cfg, sluice_gate::Options::default())
        .await
        .unwrap();
    let port = gate.plain_addr().unwrap().port();
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut conns = Vec::new();
    for i in 0..300 {
        let mut payload = Vec::new();
        for _ in 0..(1 + rng.next() % 4) {
            match rng.next() % 4 {
                // pure garbage
                0 => {
                    let n = (rng.next() % 300) as usize;
                    payload.extend(rng.bytes(n));
                }
                // a valid header with a random PDU (unit 1, 99 or random)
                1 | 2 => {
                    let n = 1 + (rng.next() % 253) as usize;
                    let pdu = rng.bytes(n);
                    let unit = [1u8, 99, rng.next() as u8][(rng.next() % 3) as usize];
                    payload.extend(
                        sluice_proto::modbus::encode::frame(rng.next() as u16, unit, &pdu).unwrap(),
                    );
                }
                // a header announcing more than it sends, or a bad length
                _ => {
                    let mut h = rng.bytes(7);
                    h[2] = 0;
                    h[3] = 0;
                    payload.extend(h);
                }
            }
        }
        let mut s = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
        let _ = s.write_all(&payload).await;
        if i % 3 == 0 {
            // read whatever comes back, briefly
            let mut sink = vec![0u8; 4096];
            let _ = tokio::time::timeout(Duration::from_millis(20), s.read(&mut sink)).await;
            drop(s);
        } else {
            conns.push(s);
        }
        if conns.len() > 50 {
            conns.clear();
        }
    }
    drop(conns);
    let r = valid_read(port).await;
    assert_eq!(&r[..9], &[0, 42, 0, 0, 0, 7, 1, 3, 4]);
    assert_eq!(&r[9..], &[0, 7, 0, 8]);
    gate.flush_audit().await;
    let audit = std::fs::read_to_string(dir.path().join("audit.jsonl")).unwrap();
    assert!(audit.lines().count() > 300);
    assert!(audit.contains("\"deny\":\"malformed\""));
    gate.shutdown().await;
}

/// Fail closed: once the audit trail cannot be written (here a full disk, /dev/full),
/// every request is refused with exception 04.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unwritable_audit_trail_refuses_every_request() {
    if !std::path::Path::new("/dev/full").exists() {
        eprintln!("SKIP: no /dev/full");
        return;
    }
    let plc = mock_plc().await;
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("gate.toml");
    std::fs::write(
        &cfg,
        format!(
            "[gate]\nlisten_plain = \"127.0.0.1:0\"\nupstream = \"{plc}\"\naudit_log = \"/dev/full\"\n\
             [[plain_client]]\naddress = \"127.0.0.1\"\nrole = \"r\"\n\
             [[role]]\nname = \"r\"\nunits = [1]\nfunctions = [3]\nread = [\"0-99\"]\n"
        ),
    )
    .unwrap();
    let gate = sluice_gate::start(&cfg, sluice_gate::Options::default())
        .await
        .unwrap();
    let port = gate.plain_addr().unwrap().port();
    let mut refused = false;
    for _ in 0..100 {
        let r = valid_read(port).await;
        if r[7] == 0x83 {
            assert_eq!(r[8], 4, "server device failure");
            refused = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(refused, "requests still pass without an audit trail");
    gate.shutdown().await;
}

/// `max_clients`: a connection beyond the limit is closed at once and audited as a
/// refused connect; the slot frees when a client leaves.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_beyond_max_clients_are_refused_and_audited() {
    let plc = mock_plc().await;
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("gate.toml");
    std::fs::write(
        &cfg,
        format!(
            "[gate]\nlisten_plain = \"127.0.0.1:0\"\nupstream = \"{plc}\"\nmax_clients = 1\n\
             [[plain_client]]\naddress = \"127.0.0.0/8\"\nrole = \"all\"\n\
             [[role]]\nname = \"all\"\nunits = [1]\nfunctions = [3]\nread = [\"0-65535\"]\n"
        ),
    )
    .unwrap();
    let gate = sluice_gate::start(&cfg, sluice_gate::Options::default())
        .await
        .unwrap();
    let port = gate.plain_addr().unwrap().port();
    // The first client holds the only slot (once it has been served, it is admitted).
    let mut first = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    first
        .write_all(
            &request(
                1,
                1,
                &Request::ReadHoldingRegisters {
                    address: 7,
                    quantity: 1,
                },
            )
            .unwrap(),
        )
        .await
        .unwrap();
    let mut r = vec![0u8; 11];
    tokio::time::timeout(Duration::from_secs(5), first.read_exact(&mut r))
        .await
        .expect("the first client is served")
        .unwrap();
    // The second is closed without an answer.
    let mut second = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    let mut buf = [0u8; 16];
    let n = tokio::time::timeout(Duration::from_secs(5), second.read(&mut buf))
        .await
        .expect("the refused connection is closed");
    assert!(matches!(n, Ok(0) | Err(_)), "{n:?}");
    gate.flush_audit().await;
    let audit = std::fs::read_to_string(dir.path().join("audit.jsonl")).unwrap();
    let refused: Vec<&str> = audit
        .lines()
        .filter(|l| l.contains("max_clients reached"))
        .collect();
    assert_eq!(refused.len(), 1, "{audit}");
    assert!(
        refused[0].contains("\"deny\":\"unavailable\""),
        "{}",
        refused[0]
    );
    // A slot frees when the first client leaves.
    drop(first);
    tokio::time::sleep(Duration::from_millis(200)).await;
    let r = valid_read(port).await;
    assert_eq!(&r[..9], &[0, 42, 0, 0, 0, 7, 1, 3, 4]);
    gate.shutdown().await;
}
