//! TLS records: a ClientHello with SNI (as a TLS 1.3-capable client sends it), a TLS 1.3
//! ServerHello, ChangeCipherSpec and opaque application data records.
use super::{check, patch_u16, AppError};

const HANDSHAKE: u8 = 22;
const CHANGE_CIPHER_SPEC: u8 = 20;
const APPLICATION_DATA: u8 = 23;

fn record_start(buf: &mut Vec<u8>, ctype: u8, version: u16) -> usize {
    let at = buf.len();
    buf.push(ctype);
    buf.extend_from_slice(&version.to_be_bytes());
    buf.extend_from_slice(&[0, 0]);
    at
}

fn record_end(buf: &mut Vec<u8>, at: usize) -> Result<(), AppError> {
    let len = buf.len() - at - 5;
    if let Err(e) = check("TLS record length", len, 0, 1 << 14) {
        buf.truncate(at);
        return Err(e);
    }
    patch_u16(buf, at + 3, len as u16);
    Ok(())
}

fn handshake_start(buf: &mut Vec<u8>, msg_type: u8) -> usize {
    let at = buf.len();
    buf.extend_from_slice(&[msg_type, 0, 0, 0]);
    at
}

fn handshake_end(buf: &mut [u8], at: usize) {
    let len = (buf.len() - at - 4) as u32;
    if let Some(d) = buf.get_mut(at + 1..at + 4) {
        d.copy_from_slice(&len.to_be_bytes()[1..]);
    }
}

fn ext_start(buf: &mut Vec<u8>, ty: u16) -> usize {
    buf.extend_from_slice(&ty.to_be_bytes());
    let at = buf.len();
    buf.extend_from_slice(&[0, 0]);
    at
}

fn len16_end(buf: &mut [u8], at: usize) {
    let len = (buf.len() - at - 2) as u16;
    patch_u16(buf, at, len);
}

/// A ClientHello record offering TLS 1.3 and 1.2 with the server name `sni` and the
/// ALPN protocols `alpn`.
pub fn client_hello(
    buf: &mut Vec<u8>,
    random: &[u8; 32],
    session_id: &[u8; 32],
    key_share: &[u8; 32],
    sni: &str,
    alpn: &[&str],
) -> Result<(), AppError> {
    check("server name length", sni.len(), 1, 255)?;
    for p in alpn {
        check("ALPN protocol length", p.len(), 1, 255)?;
    }
    let rec = record_start(buf, HANDSHAKE, 0x0301);
    let hs = handshake_start(buf, 1);
    buf.extend_from_slice(&0x0303u16.to_be_bytes());
    buf.extend_from_slice(random);
    buf.push(32);
    buf.extend_from_slice(session_id);
    let suites: [u16; 9] = [
        0x1301, 0x1302, 0x1303, 0xc02b, 0xc02f, 0xc02c, 0xc030, 0xcca9, 0xcca8,
    ];
    buf.extend_from_slice(&((suites.len() * 2) as u16).to_be_bytes());
    for s in suites {
        buf.extend_from_slice(&s.to_be_bytes());
    }
    buf.extend_from_slice(&[1, 0]); // compression: null
    let exts = buf.len();
    buf.extend_from_slice(&[0, 0]);
    // server_name
    let e = ext_start(buf, 0);
    let list = buf.len();
    buf.extend_from_slice(&[0, 0, 0]);
    buf.extend_from_slice(&(sni.len() as u16).to_be_bytes());
    buf.extend_from_slice(sni.as_bytes());
    len16_end(buf, list);
    len16_end(buf, e);
    // extended_master_secret, renegotiation_info
    buf.extend_from_slice(&[0x00, 0x17, 0, 0, 0xff, 0x01, 0, 1, 0]);
    // supported_groups: x25519, secp256r1, secp384r1
    buf.extend_from_slice(&[0x00, 0x0a, 0, 8, 0, 6, 0x00, 0x1d, 0x00, 0x17, 0x00, 0x18]);
    // ec_point_formats: uncompressed
    buf.extend_from_slice(&[0x00, 0x0b, 0, 2, 1, 0]);
    // session_ticket (empty)
    buf.extend_from_slice(&[0x00, 0x23, 0, 0]);
    if !alpn.is_empty() {
        let e = ext_start(buf, 16);
        let list = buf.len();
        buf.extend_from_slice(&[0, 0]);
        for p in alpn {
            buf.push(p.len() as u8);
            buf.extend_from_slice(p.as_bytes());
        }
        len16_end(buf, list);
        len16_end(buf, e);
    }
    // signature_algorithms
    let sigs: [u16; 8] = [
        0x0403, 0x0804, 0x0401, 0x0503, 0x0805, 0x0501, 0x0806, 0x0601,
    ];
    buf.extend_from_slice(&[0x00, 0x0d]);
    buf.extend_from_slice(&((sigs.len() * 2 + 2) as u16).to_be_bytes());
    buf.extend_from_slice(&((sigs.len() * 2) as u16).to_be_bytes());
    for s in sigs {
        buf.extend_from_slice(&s.to_be_bytes());
    }
    // supported_versions: TLS 1.3, TLS 1.2
    buf.extend_from_slice(&[0x00, 0x2b, 0, 5, 4, 0x03, 0x04, 0x03, 0x03]);
    // psk_key_exchange_modes: psk_dhe_ke
    buf.extend_from_slice(&[0x00, 0x2d, 0, 2, 1, 1]);
    // key_share: x25519
    buf.extend_from_slice(&[0x00, 0x33, 0, 38, 0, 36, 0x00, 0x1d, 0, 32]);
    buf.extend_from_slice(key_share);
    len16_end(buf, exts);
    handshake_end(buf, hs);
    record_end(buf, rec)
}

/// A TLS 1.3 ServerHello record (cipher TLS_AES_128_GCM_SHA256, x25519 key share)
/// echoing the client's session id, followed by a ChangeCipherSpec record.
pub fn server_hello(
    buf: &mut Vec<u8>,
    random: &[u8; 32],
    session_id: &[u8; 32],
    key_share: &[u8; 32],
) -> Result<(), AppError> {
    let rec = record_start(buf, HANDSHAKE, 0x0303);
    let hs = handshake_start(buf, 2);
    buf.extend_from_slice(&0x0303u16.to_be_bytes());
    buf.extend_from_slice(random);
    buf.push(32);
    buf.extend_from_slice(session_id);
    buf.extend_from_slice(&[0x13, 0x01, 0]);
    buf.extend_from_slice(&[0, 46]); // extensions length
    buf.extend_from_slice(&[0x00, 0x2b, 0, 2, 0x03, 0x04]);
    buf.extend_from_slice(&[0x00, 0x33, 0, 36, 0x00, 0x1d, 0, 32]);
    buf.extend_from_slice(key_share);
    handshake_end(buf, hs);
    record_end(buf, rec)?;
    buf.extend_from_slice(&[CHANGE_CIPHER_SPEC, 3, 3, 0, 1, 1]);
    Ok(())
}

/// One application-data record of `len` opaque bytes produced by `fill`.
pub fn application_data(
    buf: &mut Vec<u8>,
    len: usize,
    fill: impl FnOnce(&mut [u8]),
) -> Result<(), AppError> {
    check("TLS record length", len, 1, (1 << 14) + 256)?;
    buf.push(APPLICATION_DATA);
    buf.extend_from_slice(&[3, 3]);
    buf.extend_from_slice(&(len as u16).to_be_bytes());
    let at = buf.len();
    buf.resize(at + len, 0);
    if let Some(d) = buf.get_mut(at..) {
        fill(d);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_hello_lengths_are_consistent() {
        let mut b = Vec::new();
        client_hello(
            &mut b,
            &[1; 32],
            &[2; 32],
            &[3; 32],
            "www.example.com",
            &["h2", "http/1.1"],
        )
        .unwrap();
        assert_eq!(b[0], 22);
        let rec_len = usize::from(u16::from_be_bytes([b[3], b[4]]));
        assert_eq!(rec_len, b.len() - 5);
        assert_eq!(b[5], 1);
        let hs_len = (usize::from(b[6]) << 16) | (usize::from(b[7]) << 8) | usize::from(b[8]);
        assert_eq!(hs_len, rec_len - 4);
        // Walk to the extensions and find server_name.
        let mut p = 9 + 2 + 32;
        p += 1 + usize::from(b[p]);
        p += 2 + usize::from(u16::from_be_bytes([b[p], b[p + 1]]));
        p += 1 + usize::from(b[p]);
        let ext_len = usize::from(u16::from_be_bytes([b[p], b[p + 1]]));
        p += 2;
        assert_eq!(p + ext_len, b.len());
        assert_eq!(&b[p..p + 2], &[0, 0]);
        let name_len = usize::from(u16::from_be_bytes([b[p + 7], b[p + 8]]));
        assert_eq!(&b[p + 9..p + 9 + name_len], b"www.example.com");
        let mut s = Vec::new();
        server_hello(&mut s, &[4; 32], &[2; 32], &[5; 32]).unwrap();
        assert_eq!(
            usize::from(u16::from_be_bytes([s[3], s[4]])),
            s.len() - 5 - 6
        );
        assert!(client_hello(&mut s, &[0; 32], &[0; 32], &[0; 32], "", &[]).is_err());
    }
}
