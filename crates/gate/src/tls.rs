//! TLS for Modbus/TCP Security: the server configuration (mutual authentication
//! against the configured CA, expiry, revocation lists) and the client's identity
//! taken from its certificate (subject, SHA-256 fingerprint and the role extension
//! 1.3.6.1.4.1.50316.802.1, an ASN.1 UTF8String).

use crate::config::{Config, ConfigError, Located, TlsFiles};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, CertificateRevocationListDer, PrivateKeyDer, UnixTime};
use sha2::{Digest, Sha256};
use std::sync::Arc;
use tokio_rustls::rustls::crypto::CryptoProvider;
use tokio_rustls::rustls::server::danger::ClientCertVerifier;
use tokio_rustls::rustls::server::WebPkiClientVerifier;
use tokio_rustls::rustls::{self, RootCertStore, ServerConfig};

/// The Modbus/TCP Security role extension.
pub const ROLE_OID: &str = "1.3.6.1.4.1.50316.802.1";

/// Everything a TLS listener needs, built from the configuration's files.
#[derive(Clone)]
pub struct TlsSetup {
    pub server: Arc<ServerConfig>,
    /// The same client verifier, to check established sessions again after a reload.
    pub verifier: Arc<dyn ClientCertVerifier>,
}

impl std::fmt::Debug for TlsSetup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TlsSetup")
    }
}

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn read(cfg: &Config, l: &Located, what: &str) -> Result<Vec<u8>, ConfigError> {
    std::fs::read(&l.path).map_err(|e| {
        cfg.error_at(
            &l.place,
            format!("cannot read {what} {}: {e}", l.path.display()),
        )
    })
}

fn certs(
    cfg: &Config,
    l: &Located,
    what: &str,
) -> Result<Vec<CertificateDer<'static>>, ConfigError> {
    let bytes = read(cfg, l, what)?;
    let list: Result<Vec<_>, _> = CertificateDer::pem_slice_iter(&bytes).collect();
    let list = list.map_err(|e| {
        cfg.error_at(
            &l.place,
            format!("{what} {}: bad PEM: {e}", l.path.display()),
        )
    })?;
    if list.is_empty() {
        return Err(cfg.error_at(
            &l.place,
            format!("{what} {}: no CERTIFICATE in the file", l.path.display()),
        ));
    }
    Ok(list)
}

/// Builds the TLS server configuration; errors point at the configuration key that
/// named the offending file.
pub fn setup(cfg: &Config, files: &TlsFiles) -> Result<TlsSetup, ConfigError> {
    let chain = certs(cfg, &files.cert, "certificate")?;
    let key_bytes = read(cfg, &files.key, "private key")?;
    let key = PrivateKeyDer::from_pem_slice(&key_bytes).map_err(|e| {
        cfg.error_at(
            &files.key.place,
            format!("private key {}: {e}", files.key.path.display()),
        )
    })?;
    let mut roots = RootCertStore::empty();
    for c in certs(cfg, &files.client_ca, "client CA")? {
        roots.add(c).map_err(|e| {
            cfg.error_at(
                &files.client_ca.place,
                format!("client CA {}: {e}", files.client_ca.path.display()),
            )
        })?;
    }
    let mut crls = Vec::new();
    for l in &files.crls {
        let bytes = read(cfg, l, "revocation list")?;
        if bytes.starts_with(b"-----") {
            let list: Result<Vec<_>, _> =
                CertificateRevocationListDer::pem_slice_iter(&bytes).collect();
            let list = list.map_err(|e| {
                cfg.error_at(
                    &l.place,
                    format!("revocation list {}: {e}", l.path.display()),
                )
            })?;
            if list.is_empty() {
                return Err(cfg.error_at(
                    &l.place,
                    format!(
                        "revocation list {}: no X509 CRL in the file",
                        l.path.display()
                    ),
                ));
            }
            crls.extend(list);
        } else {
            crls.push(CertificateRevocationListDer::from(bytes));
        }
    }
    let provider = provider();
    let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider.clone())
        .with_crls(crls)
        .build()
        .map_err(|e| {
            let place = files
                .crls
                .first()
                .map_or(&files.client_ca.place, |l| &l.place);
            cfg.error_at(place, format!("client verification: {e}"))
        })?;
    let server = ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
        .map_err(|e| cfg.error_at(&files.cert.place, format!("TLS: {e}")))?
        .with_client_cert_verifier(verifier.clone())
        .with_single_cert(chain, key)
        .map_err(|e| {
            cfg.error_at(
                &files.key.place,
                format!(
                    "certificate {} and key {} do not make a server identity: {e}",
                    files.cert.path.display(),
                    files.key.path.display()
                ),
            )
        })?;
    Ok(TlsSetup {
        server: Arc::new(server),
        verifier,
    })
}

/// Checks a client's chain again (expiry, trust, revocation) with `verifier`.
pub fn recheck(
    verifier: &dyn ClientCertVerifier,
    chain: &[CertificateDer<'static>],
) -> Result<(), String> {
    let (ee, rest) = chain.split_first().ok_or("no client certificate")?;
    verifier
        .verify_client_cert(ee, rest, UnixTime::now())
        .map(|_| ())
        .map_err(|e| e.to_string())
}

/// A client certificate's identity.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CertIdentity {
    /// Subject common name, else the first DNS name, else the fingerprint's first 16
    /// hex digits.
    pub name: String,
    /// The subject as text.
    pub subject: String,
    /// SHA-256 of the DER certificate, lowercase hex.
    pub fingerprint: String,
    /// The serial number, lowercase hex.
    pub serial: String,
    /// The role extension's value, or why it is unusable.
    pub role: Result<String, RoleError>,
}

/// Why a certificate gives no role.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RoleError {
    #[error("certificate carries no role extension ({ROLE_OID})")]
    Missing,
    #[error("certificate carries more than one role extension")]
    Duplicate,
    #[error("role extension is not a DER UTF8String")]
    NotUtf8String,
    #[error("certificate cannot be parsed: {0}")]
    BadCertificate(String),
}

/// SHA-256 fingerprint, lowercase hex.
pub fn fingerprint(der: &[u8]) -> String {
    hex(&Sha256::digest(der))
}

fn hex(b: &[u8]) -> String {
    const D: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(b.len() * 2);
    for &x in b {
        s.push(char::from(D[usize::from(x >> 4)]));
        s.push(char::from(D[usize::from(x & 15)]));
    }
    s
}

/// Decodes a DER UTF8String (tag 12) that fills `b` exactly.
pub fn der_utf8string(b: &[u8]) -> Option<&str> {
    let (&tag, rest) = b.split_first()?;
    if tag != 0x0C {
        return None;
    }
    let (&l0, rest) = rest.split_first()?;
    let (len, body) = match l0 {
        0..=0x7F => (usize::from(l0), rest),
        0x81 => {
            let (&l, body) = rest.split_first()?;
            (usize::from(l), body)
        }
        0x82 => {
            let hi = *rest.first()?;
            let lo = *rest.get(1)?;
            (usize::from(u16::from_be_bytes([hi, lo])), rest.get(2..)?)
        }
        _ => return None,
    };
    if body.len() != len {
        return None;
    }
    std::str::from_utf8(body).ok()
}

/// Reads a client certificate's identity and role.
pub fn identify(der: &[u8]) -> CertIdentity {
    use x509_parser::prelude::*;
    let fp = fingerprint(der);
    let short = fp.get(..16).unwrap_or(&fp).to_string();
    let cert = match X509Certificate::from_der(der) {
        Ok((_, c)) => c,
        Err(e) => {
            return CertIdentity {
                name: short,
                subject: String::new(),
                fingerprint: fp,
                serial: String::new(),
                role: Err(RoleError::BadCertificate(e.to_string())),
            }
        }
    };
    let cn = cert
        .subject()
        .iter_common_name()
        .next()
        .and_then(|a| a.as_str().ok())
        .map(str::to_string);
    let dns = cert
        .subject_alternative_name()
        .ok()
        .flatten()
        .and_then(|san| {
            san.value.general_names.iter().find_map(|g| match g {
                GeneralName::DNSName(d) => Some(d.to_string()),
                _ => None,
            })
        });
    let mut roles = cert
        .extensions()
        .iter()
        .filter(|e| e.oid.to_id_string() == ROLE_OID);
    let role = match (roles.next(), roles.next()) {
        (None, _) => Err(RoleError::Missing),
        (Some(_), Some(_)) => Err(RoleError::Duplicate),
        (Some(e), None) => der_utf8string(e.value)
            .map(|s| s.trim().to_string())
            .ok_or(RoleError::NotUtf8String),
    };
    CertIdentity {
        name: cn.or(dns).unwrap_or(short),
        subject: cert.subject().to_string(),
        fingerprint: fp,
        serial: hex(cert.raw_serial()),
        role,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utf8string() {
        assert_eq!(
            der_utf8string(&[0x0C, 8, b'o', b'p', b'e', b'r', b'a', b't', b'o', b'r']),
            Some("operator")
        );
        assert_eq!(der_utf8string(&[0x0C, 0x81, 2, b'a', b'b']), Some("ab"));
        assert_eq!(der_utf8string(&[0x0C, 3, b'a', b'b']), None);
        assert_eq!(der_utf8string(&[0x13, 2, b'a', b'b']), None); // PrintableString
        assert_eq!(der_utf8string(&[0x0C, 2, 0xFF, 0xFE]), None);
        assert_eq!(der_utf8string(&[]), None);
        assert_eq!(der_utf8string(&[0x0C, 0x83, 0, 0, 1, 1]), None);
    }

    #[test]
    fn garbage_certificate_has_no_role() {
        let id = identify(b"not a certificate");
        assert!(matches!(id.role, Err(RoleError::BadCertificate(_))));
        assert_eq!(id.fingerprint.len(), 64);
        assert_eq!(id.name.len(), 16);
    }

    proptest::proptest! {
        #[test]
        fn never_panics(b in proptest::collection::vec(proptest::num::u8::ANY, 0..300)) {
            let _ = der_utf8string(&b);
            let _ = identify(&b);
        }
    }
}
