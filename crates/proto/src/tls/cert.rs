//! X.509 certificate summaries (subject, issuer, serial, validity, SANs, key and
//! signature algorithms, SHA-256 fingerprint) decoded with `x509-parser`. Names are
//! rendered like RFC 4514 / OpenSSL's RFC 2253 output (last RDN first,
//! `CN=...,O=...,C=..`), as Zeek logs them. Lists and strings are bounded.
use super::fingerprint::sha256_hex;
use serde::Serialize;
use x509_parser::extensions::GeneralName;
use x509_parser::prelude::{FromDer, X509Certificate, X509Name};

/// SAN entries kept per kind.
pub const MAX_SANS: usize = 64;
/// Characters kept of a distinguished name.
pub const MAX_NAME: usize = 512;

fn is_false(b: &bool) -> bool {
    !*b
}

/// What a certificate says.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Certificate {
    /// 1, 2 or 3.
    pub version: u32,
    /// Uppercase hex of the serial number as encoded.
    pub serial: String,
    pub subject: String,
    pub issuer: String,
    /// The subject's common name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub common_name: Option<String>,
    /// Validity, seconds since the Unix epoch.
    pub not_before: i64,
    pub not_after: i64,
    pub key_alg: String,
    pub sig_alg: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub san_dns: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub san_ip: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub san_email: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub san_uri: Vec<String>,
    /// Basic constraints CA flag, when the extension is present.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ca: Option<bool>,
    /// SHA-256 of the DER encoding (Zeek's `fingerprint`).
    pub fingerprint: String,
    /// Some list or name was cut.
    #[serde(skip_serializing_if = "is_false")]
    pub truncated: bool,
}

/// Short names of attribute types (OpenSSL's), by OID.
fn attr_name(oid: &str) -> Option<&'static str> {
    Some(match oid {
        "2.5.4.3" => "CN",
        "2.5.4.4" => "SN",
        "2.5.4.5" => "serialNumber",
        "2.5.4.6" => "C",
        "2.5.4.7" => "L",
        "2.5.4.8" => "ST",
        "2.5.4.9" => "street",
        "2.5.4.10" => "O",
        "2.5.4.11" => "OU",
        "2.5.4.12" => "title",
        "2.5.4.15" => "businessCategory",
        "2.5.4.17" => "postalCode",
        "2.5.4.42" => "GN",
        "2.5.4.43" => "initials",
        "2.5.4.46" => "dnQualifier",
        "2.5.4.65" => "pseudonym",
        "1.2.840.113549.1.9.1" => "emailAddress",
        "0.9.2342.19200300.100.1.1" => "UID",
        "0.9.2342.19200300.100.1.25" => "DC",
        "1.3.6.1.4.1.311.60.2.1.3" => "jurisdictionC",
        "1.3.6.1.4.1.311.60.2.1.2" => "jurisdictionST",
        "1.3.6.1.4.1.311.60.2.1.1" => "jurisdictionL",
        _ => return None,
    })
}

/// Names of common key and signature algorithms, by OID.
fn alg_name(oid: &str) -> Option<&'static str> {
    Some(match oid {
        "1.2.840.113549.1.1.1" => "rsaEncryption",
        "1.2.840.113549.1.1.4" => "md5WithRSAEncryption",
        "1.2.840.113549.1.1.5" => "sha1WithRSAEncryption",
        "1.2.840.113549.1.1.10" => "rsassaPss",
        "1.2.840.113549.1.1.11" => "sha256WithRSAEncryption",
        "1.2.840.113549.1.1.12" => "sha384WithRSAEncryption",
        "1.2.840.113549.1.1.13" => "sha512WithRSAEncryption",
        "1.2.840.10040.4.1" => "dsaEncryption",
        "1.2.840.10040.4.3" => "dsaWithSHA1",
        "1.2.840.10045.2.1" => "id-ecPublicKey",
        "1.2.840.10045.4.1" => "ecdsa-with-SHA1",
        "1.2.840.10045.4.3.2" => "ecdsa-with-SHA256",
        "1.2.840.10045.4.3.3" => "ecdsa-with-SHA384",
        "1.2.840.10045.4.3.4" => "ecdsa-with-SHA512",
        "1.3.101.112" => "ED25519",
        "1.3.101.113" => "ED448",
        _ => return None,
    })
}

fn oid_text(oid: &x509_parser::asn1_rs::Oid<'_>) -> String {
    let s = oid.to_id_string();
    alg_name(&s).map_or(s, str::to_string)
}

/// Escapes an attribute value like RFC 4514 §2.4.
fn escape(v: &str, out: &mut String) {
    let n = v.chars().count();
    for (i, c) in v.chars().enumerate() {
        let special = matches!(c, ',' | '+' | '"' | '\\' | '<' | '>' | ';')
            || (i == 0 && (c == '#' || c == ' '))
            || (i + 1 == n && c == ' ');
        if special {
            out.push('\\');
        }
        if c.is_control() {
            out.push_str(&format!("\\{:02X}", u32::from(c)));
        } else {
            out.push(c);
        }
    }
}

fn attr_value(a: &x509_parser::x509::AttributeTypeAndValue<'_>) -> String {
    match a.as_str() {
        Ok(s) => s.to_string(),
        Err(_) => {
            let b = a.as_slice();
            // BMPString: UTF-16BE
            if a.attr_value().tag() == x509_parser::asn1_rs::Tag::BmpString {
                let units: Vec<u16> = b
                    .chunks_exact(2)
                    .map(|c| u16::from_be_bytes([c[0], c[1]]))
                    .collect();
                String::from_utf16_lossy(&units)
            } else {
                String::from_utf8_lossy(b).into_owned()
            }
        }
    }
}

/// RFC 4514 rendering of a name: RDNs in reverse order, comma-separated.
pub fn name_string(name: &X509Name<'_>, cut: &mut bool) -> String {
    let mut out = String::new();
    let rdns: Vec<_> = name.iter_rdn().collect();
    for (i, rdn) in rdns.iter().rev().enumerate() {
        if i > 0 {
            out.push(',');
        }
        for (j, a) in rdn.iter().enumerate() {
            if j > 0 {
                out.push('+');
            }
            let oid = a.attr_type().to_id_string();
            match attr_name(&oid) {
                Some(n) => out.push_str(n),
                None => out.push_str(&oid),
            }
            out.push('=');
            escape(&attr_value(a), &mut out);
        }
        if out.chars().count() > MAX_NAME {
            *cut = true;
            return out.chars().take(MAX_NAME).collect();
        }
    }
    out
}

fn push_capped(v: &mut Vec<String>, s: String, cut: &mut bool) {
    if v.len() < MAX_SANS {
        v.push(s.chars().take(256).collect());
    } else {
        *cut = true;
    }
}

fn ip_text(b: &[u8]) -> String {
    match b.len() {
        4 => {
            let a: [u8; 4] = [b[0], b[1], b[2], b[3]];
            std::net::Ipv4Addr::from(a).to_string()
        }
        16 => {
            let mut a = [0u8; 16];
            a.copy_from_slice(b);
            std::net::Ipv6Addr::from(a).to_string()
        }
        _ => b.iter().map(|x| format!("{x:02x}")).collect(),
    }
}

/// Uppercase hex of a serial number without the DER sign-padding zero bytes.
fn serial_hex(raw: &[u8]) -> String {
    let skip = raw
        .iter()
        .take_while(|&&b| b == 0)
        .count()
        .min(raw.len().saturating_sub(1));
    raw.iter().skip(skip).map(|b| format!("{b:02X}")).collect()
}

/// Summarises a DER certificate; `None` when it does not decode.
pub fn summarize(der: &[u8]) -> Option<Certificate> {
    let (_, c) = X509Certificate::from_der(der).ok()?;
    let mut cut = false;
    let mut out = Certificate {
        version: c.version().0.saturating_add(1),
        serial: serial_hex(c.raw_serial()),
        subject: name_string(c.subject(), &mut cut),
        issuer: name_string(c.issuer(), &mut cut),
        common_name: c
            .subject()
            .iter_common_name()
            .next()
            .map(|a| attr_value(a).chars().take(256).collect()),
        not_before: c.validity().not_before.timestamp(),
        not_after: c.validity().not_after.timestamp(),
        key_alg: oid_text(&c.public_key().algorithm.algorithm),
        sig_alg: oid_text(&c.signature_algorithm.algorithm),
        fingerprint: sha256_hex(der),
        ..Certificate::default()
    };
    if let Ok(Some(san)) = c.subject_alternative_name() {
        for g in &san.value.general_names {
            match g {
                GeneralName::DNSName(s) => {
                    push_capped(&mut out.san_dns, (*s).to_string(), &mut cut)
                }
                GeneralName::IPAddress(b) => push_capped(&mut out.san_ip, ip_text(b), &mut cut),
                GeneralName::RFC822Name(s) => {
                    push_capped(&mut out.san_email, (*s).to_string(), &mut cut)
                }
                GeneralName::URI(s) => push_capped(&mut out.san_uri, (*s).to_string(), &mut cut),
                _ => {}
            }
        }
    }
    if let Ok(Some(bc)) = c.basic_constraints() {
        out.ca = Some(bc.value.ca);
    }
    out.truncated = cut;
    Some(out)
}
