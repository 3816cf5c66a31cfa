//! TLS fingerprints: JA3 / JA3S (Salesforce: MD5 of decimal field lists) and JA4
//! (FoxIO JA4 specification: `t13d1516h2_<sha256 of sorted ciphers>_<sha256 of
//! sorted extensions _ signature algorithms>`, each hash cut to 12 hex digits).
//! GREASE values (RFC 8701) are left out everywhere.
use md5::Md5;
use sha2::{Digest, Sha256};

/// Is `v` a GREASE value (0x0a0a, 0x1a1a, ... 0xfafa)?
pub fn is_grease(v: u16) -> bool {
    (v >> 8) == (v & 0xff) && (v & 0x0f) == 0x0a
}

fn hex(bytes: &[u8]) -> String {
    const D: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for &b in bytes {
        s.push(char::from(D[usize::from(b >> 4)]));
        s.push(char::from(D[usize::from(b & 15)]));
    }
    s
}

/// Lowercase hex MD5 of `data`.
pub fn md5_hex(data: &[u8]) -> String {
    hex(&Md5::digest(data))
}

/// Lowercase hex SHA-256 of `data`.
pub fn sha256_hex(data: &[u8]) -> String {
    hex(&Sha256::digest(data))
}

fn dec_list<T: ToString + Copy>(v: &[T], keep: impl Fn(T) -> bool) -> String {
    v.iter()
        .copied()
        .filter(|x| keep(*x))
        .map(|x| x.to_string())
        .collect::<Vec<_>>()
        .join("-")
}

/// JA3 string: `version,ciphers,extensions,groups,point_formats`.
pub fn ja3(
    version: u16,
    ciphers: &[u16],
    extensions: &[u16],
    groups: &[u16],
    formats: &[u8],
) -> String {
    let ng = |x: u16| !is_grease(x);
    format!(
        "{},{},{},{},{}",
        version,
        dec_list(ciphers, ng),
        dec_list(extensions, ng),
        dec_list(groups, ng),
        dec_list(formats, |_| true)
    )
}

/// JA3S string: `version,cipher,extensions`.
pub fn ja3s(version: u16, cipher: u16, extensions: &[u16]) -> String {
    format!(
        "{},{},{}",
        version,
        cipher,
        dec_list(extensions, |x: u16| !is_grease(x))
    )
}

/// What JA4 needs from a ClientHello.
#[derive(Clone, Copy, Debug)]
pub struct Ja4Input<'a> {
    /// `t` (TCP), `q` (QUIC) or `d` (DTLS).
    pub transport: char,
    pub legacy_version: u16,
    pub supported_versions: &'a [u16],
    pub ciphers: &'a [u16],
    pub extensions: &'a [u16],
    pub has_sni: bool,
    pub first_alpn: Option<&'a [u8]>,
    pub signature_algorithms: &'a [u16],
}

fn ja4_version(v: u16) -> &'static str {
    match v {
        0x0304 => "13",
        0x0303 => "12",
        0x0302 => "11",
        0x0301 => "10",
        0x0300 => "s3",
        0x0002 => "s2",
        0xfeff => "d1",
        0xfefd => "d2",
        0xfefc => "d3",
        _ => "00",
    }
}

fn ja4_alpn(alpn: Option<&[u8]>) -> String {
    let Some(a) = alpn.filter(|a| !a.is_empty()) else {
        return "00".to_string();
    };
    let (Some(&f), Some(&l)) = (a.first(), a.last()) else {
        return "00".to_string();
    };
    if f.is_ascii_alphanumeric() && l.is_ascii_alphanumeric() {
        let mut s = String::new();
        s.push(char::from(f));
        s.push(char::from(l));
        s
    } else {
        let h = hex(a);
        let mut s = String::new();
        s.push(h.chars().next().unwrap_or('0'));
        s.push(h.chars().last().unwrap_or('0'));
        s
    }
}

fn hex4_list(v: impl Iterator<Item = u16>) -> String {
    v.map(|x| format!("{x:04x}")).collect::<Vec<_>>().join(",")
}

fn count2(n: usize) -> String {
    format!("{:02}", n.min(99))
}

/// The JA4 fingerprint and its raw (sorted, unhashed) form.
pub fn ja4(i: &Ja4Input<'_>) -> (String, String) {
    let version = i
        .supported_versions
        .iter()
        .copied()
        .filter(|v| !is_grease(*v))
        .max()
        .unwrap_or(i.legacy_version);
    let mut ciphers: Vec<u16> = i
        .ciphers
        .iter()
        .copied()
        .filter(|c| !is_grease(*c))
        .collect();
    let exts: Vec<u16> = i
        .extensions
        .iter()
        .copied()
        .filter(|e| !is_grease(*e))
        .collect();
    let a = format!(
        "{}{}{}{}{}{}",
        i.transport,
        ja4_version(version),
        if i.has_sni { 'd' } else { 'i' },
        count2(ciphers.len()),
        count2(exts.len()),
        ja4_alpn(i.first_alpn)
    );
    ciphers.sort_unstable();
    let b_raw = hex4_list(ciphers.iter().copied());
    let mut sorted_exts: Vec<u16> = exts
        .into_iter()
        .filter(|e| *e != 0x0000 && *e != 0x0010)
        .collect();
    sorted_exts.sort_unstable();
    let sigs: Vec<u16> = i
        .signature_algorithms
        .iter()
        .copied()
        .filter(|s| !is_grease(*s))
        .collect();
    let mut c_raw = hex4_list(sorted_exts.iter().copied());
    if !sigs.is_empty() {
        c_raw.push('_');
        c_raw.push_str(&hex4_list(sigs.iter().copied()));
    }
    let trunc = |s: &str, empty: bool| -> String {
        if empty {
            "000000000000".to_string()
        } else {
            sha256_hex(s.as_bytes()).chars().take(12).collect()
        }
    };
    let b = trunc(&b_raw, ciphers.is_empty());
    let c = trunc(&c_raw, sorted_exts.is_empty());
    (format!("{a}_{b}_{c}"), format!("{a}_{b_raw}_{c_raw}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grease() {
        assert!(is_grease(0x0a0a) && is_grease(0xfafa) && is_grease(0x3a3a));
        assert!(!is_grease(0x0a1a) && !is_grease(0x1301) && !is_grease(0x000a));
    }

    #[test]
    fn digests() {
        assert_eq!(md5_hex(b""), "d41d8cd98f00b204e9800998ecf8427e");
        assert_eq!(
            sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    /// The worked example of the FoxIO JA4 specification (technical_details/JA4.md):
    /// its original-order lists give `t13d1516h2_8daaf6152771_e5627efa2ab1`.
    #[test]
    fn ja4_spec_example() {
        let ciphers = [
            0x0a0a, 0x1301, 0x1302, 0x1303, 0xc02b, 0xc02f, 0xc02c, 0xc030, 0xcca9, 0xcca8, 0xc013,
            0xc014, 0x009c, 0x009d, 0x002f, 0x0035,
        ];
        let exts = [
            0x1a1a, 0x001b, 0x0000, 0x0033, 0x0010, 0x4469, 0x0017, 0x002d, 0x000d, 0x0005, 0x0023,
            0x0012, 0x002b, 0xff01, 0x000b, 0x000a, 0x0015,
        ];
        let sigs = [
            0x0403, 0x0804, 0x0401, 0x0503, 0x0805, 0x0501, 0x0806, 0x0601,
        ];
        let input = Ja4Input {
            transport: 't',
            legacy_version: 0x0303,
            supported_versions: &[0x2a2a, 0x0304, 0x0303],
            ciphers: &ciphers,
            extensions: &exts,
            has_sni: true,
            first_alpn: Some(b"h2"),
            signature_algorithms: &sigs,
        };
        let (fp, raw) = ja4(&input);
        assert_eq!(fp, "t13d1516h2_8daaf6152771_e5627efa2ab1");
        assert_eq!(
            raw,
            "t13d1516h2_002f,0035,009c,009d,1301,1302,1303,c013,c014,c02b,c02c,c02f,c030,cca8,cca9_0005,000a,000b,000d,0012,0015,0017,001b,0023,002b,002d,0033,4469,ff01_0403,0804,0401,0503,0805,0501,0806,0601"
        );
        // without signature algorithms the string has no underscore (spec: 6d807ffa2a79)
        let (fp2, _) = ja4(&Ja4Input {
            signature_algorithms: &[],
            ..input
        });
        assert!(fp2.ends_with("_6d807ffa2a79"), "{fp2}");
        // no ciphers, no extensions
        let (fp3, _) = ja4(&Ja4Input {
            ciphers: &[],
            extensions: &[],
            supported_versions: &[],
            has_sni: false,
            first_alpn: None,
            ..input
        });
        assert_eq!(fp3, "t12i000000_000000000000_000000000000");
    }

    #[test]
    fn ja4_alpn_rules() {
        assert_eq!(ja4_alpn(Some(b"http/1.1")), "h1");
        assert_eq!(ja4_alpn(Some(b"h")), "hh");
        assert_eq!(ja4_alpn(Some(&[0xab])), "ab");
        assert_eq!(ja4_alpn(Some(&[0xab, 0xcd])), "ad");
        assert_eq!(ja4_alpn(Some(&[0x30, 0xab])), "3b");
        assert_eq!(ja4_alpn(Some(&[0x30, 0x31, 0xab, 0xcd])), "3d");
        assert_eq!(ja4_alpn(Some(&[0x30, 0xab, 0xcd, 0x31])), "01");
        assert_eq!(ja4_alpn(Some(b"")), "00");
        assert_eq!(ja4_alpn(None), "00");
    }

    /// A Chrome ClientHello as published by a fingerprinting service (JA3 text and
    /// hash, JA4): GREASE-free lists in wire order.
    #[test]
    fn ja3_and_ja4_of_a_published_hello() {
        let ciphers = [
            4865, 4866, 4867, 49195, 49199, 49196, 49200, 52393, 52392, 49171, 49172, 156, 157, 47,
            53,
        ];
        let exts = [
            45, 51, 16, 65037, 23, 17613, 0, 11, 10, 43, 65281, 35, 18, 5, 13, 27,
        ];
        let groups = [4588, 29, 23, 24];
        let s = ja3(771, &ciphers, &exts, &groups, &[0]);
        assert_eq!(
            s,
            "771,4865-4866-4867-49195-49199-49196-49200-52393-52392-49171-49172-156-157-47-53,45-51-16-65037-23-17613-0-11-10-43-65281-35-18-5-13-27,4588-29-23-24,0"
        );
        assert_eq!(md5_hex(s.as_bytes()), "98487aa16281980e7d1120d399efb6a4");
        let (fp, _) = ja4(&Ja4Input {
            transport: 't',
            legacy_version: 771,
            supported_versions: &[0x0304, 0x0303],
            ciphers: &ciphers,
            extensions: &exts,
            has_sni: true,
            first_alpn: Some(b"h2"),
            signature_algorithms: &[
                0x0403, 0x0804, 0x0401, 0x0503, 0x0805, 0x0501, 0x0806, 0x0601,
            ],
        });
        assert_eq!(fp, "t13d1516h2_8daaf6152771_d8a2da3f94cd");
    }
}
