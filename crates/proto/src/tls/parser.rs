//! Pure, zero-copy decoding of the TLS record layer and the cleartext handshake
//! messages (RFC 5246, RFC 8446): record headers, handshake headers, ClientHello,
//! ServerHello with their extensions, the Certificate list, the named curve of an
//! ECDHE ServerKeyExchange and alerts.
use thiserror::Error;

/// Record header size.
pub const RECORD_HEADER: usize = 5;
/// Largest record payload accepted (2^14 plus the 2048 bytes of expansion allowed
/// for protected records).
pub const MAX_RECORD: usize = 16384 + 2048;

pub const CT_CCS: u8 = 20;
pub const CT_ALERT: u8 = 21;
pub const CT_HANDSHAKE: u8 = 22;
pub const CT_APPLICATION: u8 = 23;
pub const CT_HEARTBEAT: u8 = 24;

pub const HS_CLIENT_HELLO: u8 = 1;
pub const HS_SERVER_HELLO: u8 = 2;
pub const HS_CERTIFICATE: u8 = 11;
pub const HS_SERVER_KEY_EXCHANGE: u8 = 12;
pub const HS_SERVER_HELLO_DONE: u8 = 14;

pub const EXT_SNI: u16 = 0;
pub const EXT_GROUPS: u16 = 10;
pub const EXT_POINT_FORMATS: u16 = 11;
pub const EXT_SIG_ALGS: u16 = 13;
pub const EXT_ALPN: u16 = 16;
pub const EXT_PRE_SHARED_KEY: u16 = 41;
pub const EXT_SUPPORTED_VERSIONS: u16 = 43;
pub const EXT_KEY_SHARE: u16 = 51;

/// The ServerHello random of a HelloRetryRequest (RFC 8446 §4.1.3).
pub const HRR_RANDOM: [u8; 32] = [
    0xcf, 0x21, 0xad, 0x74, 0xe5, 0x9a, 0x61, 0x11, 0xbe, 0x1d, 0x8c, 0x02, 0x1e, 0x65, 0xb8, 0x91,
    0xc2, 0xa2, 0x11, 0x16, 0x7a, 0xbb, 0x8c, 0x5e, 0x07, 0x9e, 0x09, 0xe2, 0xc8, 0xa8, 0x33, 0x9c,
];

/// A decoding error; [`Error::kind`] is the anomaly kind.
#[derive(Clone, Copy, Debug, Error, PartialEq, Eq)]
pub enum Error {
    #[error("unknown record content type {0}")]
    BadContentType(u8),
    #[error("record version 0x{0:04x} is not TLS")]
    BadRecordVersion(u16),
    #[error("record length {0} exceeds 18432")]
    RecordTooLong(usize),
    #[error("{0} message truncated")]
    Truncated(&'static str),
    #[error("{0}: inner length exceeds the message")]
    BadLength(&'static str),
}

impl Error {
    pub fn kind(&self) -> &'static str {
        match self {
            Error::BadContentType(_) => "bad_content_type",
            Error::BadRecordVersion(_) => "bad_record_version",
            Error::RecordTooLong(_) => "record_too_long",
            Error::Truncated(_) => "truncated_message",
            Error::BadLength(_) => "bad_length",
        }
    }
}

/// A record header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RecordHeader {
    pub content_type: u8,
    pub version: u16,
    pub length: usize,
}

/// Decodes and checks a record header (`Ok(None)`: fewer than 5 bytes).
pub fn record_header(b: &[u8]) -> Result<Option<RecordHeader>, Error> {
    let Some(h) = b.get(..RECORD_HEADER) else {
        return Ok(None);
    };
    let content_type = h[0];
    let version = u16::from_be_bytes([h[1], h[2]]);
    let length = usize::from(u16::from_be_bytes([h[3], h[4]]));
    if !(CT_CCS..=CT_HEARTBEAT).contains(&content_type) {
        return Err(Error::BadContentType(content_type));
    }
    if h[1] != 3 || h[2] > 4 {
        return Err(Error::BadRecordVersion(version));
    }
    if length > MAX_RECORD {
        return Err(Error::RecordTooLong(length));
    }
    Ok(Some(RecordHeader {
        content_type,
        version,
        length,
    }))
}

/// A cursor over a byte slice; every read is checked.
#[derive(Clone, Copy)]
pub struct Reader<'a> {
    b: &'a [u8],
    what: &'static str,
}

impl<'a> Reader<'a> {
    pub fn new(b: &'a [u8], what: &'static str) -> Reader<'a> {
        Reader { b, what }
    }
    pub fn is_empty(&self) -> bool {
        self.b.is_empty()
    }
    pub fn rest(&self) -> &'a [u8] {
        self.b
    }
    pub fn take(&mut self, n: usize) -> Result<&'a [u8], Error> {
        if n > self.b.len() {
            return Err(Error::Truncated(self.what));
        }
        let (h, t) = self.b.split_at(n);
        self.b = t;
        Ok(h)
    }
    pub fn u8(&mut self) -> Result<u8, Error> {
        Ok(self.take(1)?[0])
    }
    pub fn u16(&mut self) -> Result<u16, Error> {
        let s = self.take(2)?;
        Ok(u16::from_be_bytes([s[0], s[1]]))
    }
    pub fn u24(&mut self) -> Result<usize, Error> {
        let s = self.take(3)?;
        Ok(usize::from(s[0]) << 16 | usize::from(s[1]) << 8 | usize::from(s[2]))
    }
    /// A vector with a 1-byte length.
    pub fn vec8(&mut self) -> Result<&'a [u8], Error> {
        let n = usize::from(self.u8()?);
        self.take(n).map_err(|_| Error::BadLength(self.what))
    }
    /// A vector with a 2-byte length.
    pub fn vec16(&mut self) -> Result<&'a [u8], Error> {
        let n = usize::from(self.u16()?);
        self.take(n).map_err(|_| Error::BadLength(self.what))
    }
    /// A vector with a 3-byte length.
    pub fn vec24(&mut self) -> Result<&'a [u8], Error> {
        let n = self.u24()?;
        self.take(n).map_err(|_| Error::BadLength(self.what))
    }
}

fn u16_list(b: &[u8]) -> Vec<u16> {
    b.chunks_exact(2)
        .map(|c| u16::from_be_bytes([c[0], c[1]]))
        .collect()
}

/// Extensions as (type, data), in wire order.
fn extensions<'a>(r: &mut Reader<'a>, what: &'static str) -> Result<Vec<(u16, &'a [u8])>, Error> {
    if r.is_empty() {
        return Ok(Vec::new());
    }
    let mut list = Reader::new(r.vec16()?, what);
    let mut out = Vec::new();
    while !list.is_empty() {
        let t = list.u16()?;
        let d = list.vec16()?;
        out.push((t, d));
    }
    Ok(out)
}

fn find<'a>(exts: &[(u16, &'a [u8])], t: u16) -> Option<&'a [u8]> {
    exts.iter().find(|(k, _)| *k == t).map(|(_, d)| *d)
}

/// A ClientHello.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClientHello<'a> {
    pub version: u16,
    pub random: &'a [u8],
    pub session_id: &'a [u8],
    pub ciphers: Vec<u16>,
    pub compressions: &'a [u8],
    pub extensions: Vec<(u16, &'a [u8])>,
}

impl<'a> ClientHello<'a> {
    pub fn parse(body: &'a [u8]) -> Result<ClientHello<'a>, Error> {
        let mut r = Reader::new(body, "ClientHello");
        let version = r.u16()?;
        let random = r.take(32)?;
        let session_id = r.vec8()?;
        let ciphers = u16_list(r.vec16()?);
        let compressions = r.vec8()?;
        let extensions = extensions(&mut r, "ClientHello extensions")?;
        Ok(ClientHello {
            version,
            random,
            session_id,
            ciphers,
            compressions,
            extensions,
        })
    }

    pub fn extension_types(&self) -> Vec<u16> {
        self.extensions.iter().map(|(t, _)| *t).collect()
    }

    pub fn has(&self, t: u16) -> bool {
        self.extensions.iter().any(|(k, _)| *k == t)
    }

    /// The host name of the server_name extension.
    pub fn sni(&self) -> Option<&'a [u8]> {
        let mut r = Reader::new(find(&self.extensions, EXT_SNI)?, "server_name");
        let mut list = Reader::new(r.vec16().ok()?, "server_name");
        while !list.is_empty() {
            let kind = list.u8().ok()?;
            let name = list.vec16().ok()?;
            if kind == 0 {
                return Some(name);
            }
        }
        None
    }

    /// ALPN protocol names offered.
    pub fn alpn(&self) -> Vec<&'a [u8]> {
        alpn_list(find(&self.extensions, EXT_ALPN))
    }

    pub fn groups(&self) -> Vec<u16> {
        find(&self.extensions, EXT_GROUPS)
            .and_then(|d| Reader::new(d, "supported_groups").vec16().ok())
            .map(u16_list)
            .unwrap_or_default()
    }

    pub fn point_formats(&self) -> &'a [u8] {
        find(&self.extensions, EXT_POINT_FORMATS)
            .and_then(|d| Reader::new(d, "ec_point_formats").vec8().ok())
            .unwrap_or_default()
    }

    pub fn signature_algorithms(&self) -> Vec<u16> {
        find(&self.extensions, EXT_SIG_ALGS)
            .and_then(|d| Reader::new(d, "signature_algorithms").vec16().ok())
            .map(u16_list)
            .unwrap_or_default()
    }

    pub fn supported_versions(&self) -> Vec<u16> {
        find(&self.extensions, EXT_SUPPORTED_VERSIONS)
            .and_then(|d| Reader::new(d, "supported_versions").vec8().ok())
            .map(u16_list)
            .unwrap_or_default()
    }
}

fn alpn_list(d: Option<&[u8]>) -> Vec<&[u8]> {
    let mut out = Vec::new();
    let Some(d) = d else { return out };
    let Ok(l) = Reader::new(d, "alpn").vec16() else {
        return out;
    };
    let mut r = Reader::new(l, "alpn");
    while let Ok(p) = r.vec8() {
        out.push(p);
    }
    out
}

/// A ServerHello.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServerHello<'a> {
    pub version: u16,
    pub random: &'a [u8],
    pub session_id: &'a [u8],
    pub cipher: u16,
    pub compression: u8,
    pub extensions: Vec<(u16, &'a [u8])>,
}

impl<'a> ServerHello<'a> {
    pub fn parse(body: &'a [u8]) -> Result<ServerHello<'a>, Error> {
        let mut r = Reader::new(body, "ServerHello");
        let version = r.u16()?;
        let random = r.take(32)?;
        let session_id = r.vec8()?;
        let cipher = r.u16()?;
        let compression = r.u8()?;
        let extensions = extensions(&mut r, "ServerHello extensions")?;
        Ok(ServerHello {
            version,
            random,
            session_id,
            cipher,
            compression,
            extensions,
        })
    }

    pub fn extension_types(&self) -> Vec<u16> {
        self.extensions.iter().map(|(t, _)| *t).collect()
    }

    pub fn has(&self, t: u16) -> bool {
        self.extensions.iter().any(|(k, _)| *k == t)
    }

    /// The version chosen through supported_versions (TLS 1.3).
    pub fn selected_version(&self) -> Option<u16> {
        let d = find(&self.extensions, EXT_SUPPORTED_VERSIONS)?;
        Reader::new(d, "supported_versions").u16().ok()
    }

    pub fn alpn(&self) -> Option<&'a [u8]> {
        alpn_list(find(&self.extensions, EXT_ALPN)).first().copied()
    }

    /// Group of the key share (TLS 1.3).
    pub fn key_share_group(&self) -> Option<u16> {
        let d = find(&self.extensions, EXT_KEY_SHARE)?;
        Reader::new(d, "key_share").u16().ok()
    }

    pub fn is_hello_retry(&self) -> bool {
        self.random == HRR_RANDOM
    }
}

/// The DER certificates of a Certificate message (TLS ≤ 1.2 layout).
pub fn certificates(body: &[u8]) -> Result<Vec<&[u8]>, Error> {
    let mut r = Reader::new(body, "Certificate");
    let mut list = Reader::new(r.vec24()?, "Certificate");
    let mut out = Vec::new();
    while !list.is_empty() {
        out.push(list.vec24()?);
    }
    Ok(out)
}

/// The named curve of an ECDHE ServerKeyExchange (curve type 3 = named_curve).
pub fn ske_named_curve(body: &[u8]) -> Option<u16> {
    let mut r = Reader::new(body, "ServerKeyExchange");
    if r.u8().ok()? != 3 {
        return None;
    }
    r.u16().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_headers() {
        assert_eq!(
            record_header(&[22, 3, 1, 0, 5]).unwrap(),
            Some(RecordHeader {
                content_type: 22,
                version: 0x0301,
                length: 5
            })
        );
        assert_eq!(record_header(&[22, 3]).unwrap(), None);
        assert_eq!(
            record_header(&[25, 3, 1, 0, 5]),
            Err(Error::BadContentType(25))
        );
        assert_eq!(
            record_header(&[22, 2, 0, 0, 5]),
            Err(Error::BadRecordVersion(0x0200))
        );
        assert_eq!(
            record_header(&[22, 3, 3, 0xff, 0xff]),
            Err(Error::RecordTooLong(65535))
        );
    }

    #[test]
    fn hello_bounds() {
        // a ClientHello whose cipher list claims more than is there
        let mut b = vec![3, 3];
        b.extend_from_slice(&[0; 32]);
        b.extend_from_slice(&[0, 0, 200, 0, 1]);
        assert_eq!(ClientHello::parse(&b), Err(Error::BadLength("ClientHello")));
        assert!(ServerHello::parse(&[3, 3]).is_err());
        assert!(certificates(&[0, 0, 5, 0, 0, 9]).is_err());
        assert_eq!(ske_named_curve(&[3, 0, 23, 65]), Some(23));
        assert_eq!(ske_named_curve(&[1, 0, 23]), None);
    }
}
