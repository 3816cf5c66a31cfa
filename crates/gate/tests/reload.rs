//! SIGHUP reloads the configuration without dropping connections: a plain client's
//! open connection sees its role's new bounds; a TLS client whose certificate the new
//! revocation list revokes is cut off; a broken configuration changes nothing;
//! SIGTERM stops the gate. (Alone in its test binary: it signals its own process.)

mod common;

use common::*;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use sluice_gate::control::{request_async, ControlRequest};
use sluice_proto::modbus::encode::{request, Request};
use std::sync::Arc;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio_rustls::rustls;

async fn read_regs<S: AsyncRead + AsyncWrite + Unpin>(
    s: &mut S,
    tid: u16,
    address: u16,
    quantity: u16,
) -> std::io::Result<Result<Vec<u16>, u8>> {
    let f = request(tid, 1, &Request::ReadHoldingRegisters { address, quantity }).unwrap();
    s.write_all(&f).await?;
    s.flush().await?;
    let mut hdr = [0u8; 7];
    s.read_exact(&mut hdr).await?;
    let len = usize::from(u16::from_be_bytes([hdr[4], hdr[5]])) - 1;
    let mut pdu = vec![0u8; len];
    s.read_exact(&mut pdu).await?;
    assert_eq!(u16::from_be_bytes([hdr[0], hdr[1]]), tid);
    if pdu[0] & 0x80 != 0 {
        return Ok(Err(pdu[1]));
    }
    Ok(Ok(pdu[2..]
        .chunks(2)
        .map(|c| u16::from_be_bytes([c[0], c[1]]))
        .collect()))
}

fn hup(sig: &str) {
    let ok = std::process::Command::new("kill")
        .args([sig, &std::process::id().to_string()])
        .status()
        .unwrap()
        .success();
    assert!(ok);
}

async fn generation(control: &std::path::Path) -> u64 {
    let r = request_async(control, &ControlRequest::Status)
        .await
        .unwrap();
    r.status.unwrap()["generation"].as_u64().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sighup_reloads_without_dropping_connections() {
    let Some(py) = python() else { return };
    let dir = tempfile::tempdir().unwrap();
    let certs = Certs::make(dir.path());
    let plc = Plc::start(&py);
    write_policy(dir.path());
    let (tls_port, plain_port) = (free_port(), free_port());
    let text = gate_toml(&certs, plc.addr(), "")
        .replacen("127.0.0.1:0", &format!("127.0.0.1:{tls_port}"), 1)
        .replacen("127.0.0.1:0", &format!("127.0.0.1:{plain_port}"), 1);
    let cfg = dir.path().join("gate.toml");
    std::fs::write(&cfg, &text).unwrap();
    let control = dir.path().join("gate.sock");
    let served = {
        let cfg = cfg.clone();
        tokio::spawn(async move { sluice_gate::serve(&cfg, sluice_gate::Options::default()).await })
    };
    let mut plain = None;
    for _ in 0..100 {
        if let Ok(s) = tokio::net::TcpStream::connect(("127.0.0.1", plain_port)).await {
            plain = Some(s);
            break;
        }
        tokio::time::sleep(WAIT / 100).await;
    }
    let mut plain = plain.expect("gate listening");
    assert_eq!(
        read_regs(&mut plain, 1, 0, 10)
            .await
            .unwrap()
            .unwrap()
            .len(),
        10
    );

    // an operator over TLS (rustls client)
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(CertificateDer::from_pem_file(&certs.ca).unwrap())
        .unwrap();
    let chain = vec![CertificateDer::from_pem_file(&certs.operator.cert).unwrap()];
    let key = PrivateKeyDer::from_pem_file(&certs.operator.key).unwrap();
    let cc = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_client_auth_cert(chain, key)
    .unwrap();
    let tcp = tokio::net::TcpStream::connect(("127.0.0.1", tls_port))
        .await
        .unwrap();
    let mut tls = tokio_rustls::TlsConnector::from(Arc::new(cc))
        .connect(ServerName::try_from("127.0.0.1").unwrap(), tcp)
        .await
        .unwrap();
    assert_eq!(read_regs(&mut tls, 1, 5, 1).await.unwrap(), Ok(vec![100]));
    assert_eq!(generation(&control).await, 1);

    // New configuration: the viewer reads 0-9 only; a CRL that revokes op1.
    let new = text
        .replace(
            "read = [\"0-99\"]\n\n[[critical]]",
            "read = [\"0-9\"]\n\n[[critical]]",
        )
        .replace(
            &certs.crl.display().to_string(),
            &certs.crl_revoking_operator.display().to_string(),
        );
    assert_ne!(new, text);
    std::fs::write(&cfg, &new).unwrap();
    hup("-HUP");
    for _ in 0..100 {
        if generation(&control).await == 2 {
            break;
        }
        tokio::time::sleep(WAIT / 100).await;
    }
    assert_eq!(generation(&control).await, 2);
    // same plain connection: still open, new bounds apply
    assert_eq!(read_regs(&mut plain, 2, 0, 11).await.unwrap(), Err(2));
    assert_eq!(
        read_regs(&mut plain, 3, 0, 10)
            .await
            .unwrap()
            .unwrap()
            .len(),
        10
    );
    // the revoked operator's connection is cut at its next request
    let r = read_regs(&mut tls, 2, 5, 1).await;
    assert!(
        r.is_err(),
        "a revoked certificate kept its connection: {r:?}"
    );

    // A broken configuration is refused and changes nothing.
    std::fs::write(&cfg, new.replace("units = [1]", "units = [1, 300]")).unwrap();
    hup("-HUP");
    tokio::time::sleep(WAIT / 10).await;
    assert_eq!(generation(&control).await, 2);
    assert_eq!(
        read_regs(&mut plain, 4, 0, 10)
            .await
            .unwrap()
            .unwrap()
            .len(),
        10
    );

    hup("-TERM");
    let r = tokio::time::timeout(WAIT, served)
        .await
        .expect("gate stopped")
        .unwrap();
    assert!(r.is_ok(), "{r:?}");
    let lines = audit_lines(dir.path());
    assert!(lines.iter().any(|l| l["gate"]["reason"]
        .as_str()
        .unwrap_or("")
        .contains("no longer accepted after a configuration reload")));
    assert!(!control.exists(), "control socket removed on exit");
}
