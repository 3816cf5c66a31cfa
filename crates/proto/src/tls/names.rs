//! Names of TLS versions, cipher suites, named groups, alerts and handshake
//! messages (IANA TLS parameters registries; version names as Zeek logs them).

const CIPHERS: &str = include_str!("ciphers.tsv");

/// Protocol version name: `SSLv3`, `TLSv10` ... `TLSv13`, `DTLSv12`.
pub fn version_name(v: u16) -> &'static str {
    match v {
        0x0002 => "SSLv2",
        0x0300 => "SSLv3",
        0x0301 => "TLSv10",
        0x0302 => "TLSv11",
        0x0303 => "TLSv12",
        0x0304 => "TLSv13",
        0xfeff => "DTLSv10",
        0xfefd => "DTLSv12",
        0xfefc => "DTLSv13",
        v if v >> 8 == 0x7f => "TLSv13-draft",
        _ => "unknown",
    }
}

/// Cipher suite name from the IANA registry (`TLS_RSA_WITH_RC4_128_MD5`).
pub fn cipher_name(id: u16) -> Option<&'static str> {
    if super::fingerprint::is_grease(id) {
        return Some("GREASE");
    }
    CIPHERS
        .lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.split_once('\t'))
        .find(|(h, _)| u16::from_str_radix(h, 16).ok() == Some(id))
        .map(|(_, n)| n.trim())
}

/// Named group (elliptic curve / finite field) name.
pub fn group_name(g: u16) -> &'static str {
    match g {
        1 => "sect163k1",
        2 => "sect163r1",
        3 => "sect163r2",
        4 => "sect193r1",
        5 => "sect193r2",
        6 => "sect233k1",
        7 => "sect233r1",
        8 => "sect239k1",
        9 => "sect283k1",
        10 => "sect283r1",
        11 => "sect409k1",
        12 => "sect409r1",
        13 => "sect571k1",
        14 => "sect571r1",
        15 => "secp160k1",
        16 => "secp160r1",
        17 => "secp160r2",
        18 => "secp192k1",
        19 => "secp192r1",
        20 => "secp224k1",
        21 => "secp224r1",
        22 => "secp256k1",
        23 => "secp256r1",
        24 => "secp384r1",
        25 => "secp521r1",
        26 => "brainpoolP256r1",
        27 => "brainpoolP384r1",
        28 => "brainpoolP512r1",
        29 => "x25519",
        30 => "x448",
        256 => "ffdhe2048",
        257 => "ffdhe3072",
        258 => "ffdhe4096",
        259 => "ffdhe6144",
        260 => "ffdhe8192",
        0x11eb => "SecP256r1MLKEM768",
        0x11ec => "X25519MLKEM768",
        0x6399 => "X25519Kyber768Draft00",
        _ => "unknown",
    }
}

/// Alert description name (RFC 8446 §6).
pub fn alert_name(d: u8) -> &'static str {
    match d {
        0 => "close_notify",
        10 => "unexpected_message",
        20 => "bad_record_mac",
        21 => "decryption_failed",
        22 => "record_overflow",
        30 => "decompression_failure",
        40 => "handshake_failure",
        41 => "no_certificate",
        42 => "bad_certificate",
        43 => "unsupported_certificate",
        44 => "certificate_revoked",
        45 => "certificate_expired",
        46 => "certificate_unknown",
        47 => "illegal_parameter",
        48 => "unknown_ca",
        49 => "access_denied",
        50 => "decode_error",
        51 => "decrypt_error",
        60 => "export_restriction",
        70 => "protocol_version",
        71 => "insufficient_security",
        80 => "internal_error",
        86 => "inappropriate_fallback",
        90 => "user_canceled",
        100 => "no_renegotiation",
        109 => "missing_extension",
        110 => "unsupported_extension",
        111 => "certificate_unobtainable",
        112 => "unrecognized_name",
        113 => "bad_certificate_status_response",
        114 => "bad_certificate_hash_value",
        115 => "unknown_psk_identity",
        116 => "certificate_required",
        120 => "no_application_protocol",
        _ => "unknown",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert_eq!(version_name(0x0303), "TLSv12");
        assert_eq!(cipher_name(0x0004), Some("TLS_RSA_WITH_RC4_128_MD5"));
        assert_eq!(
            cipher_name(0xc014),
            Some("TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA")
        );
        assert_eq!(cipher_name(0x1301), Some("TLS_AES_128_GCM_SHA256"));
        assert_eq!(cipher_name(0x0a0a), Some("GREASE"));
        assert_eq!(cipher_name(0xfefe), None);
        assert_eq!(group_name(23), "secp256r1");
        assert_eq!(alert_name(40), "handshake_failure");
    }
}
