//! Pure, zero-copy decoding of the RDP connection sequence: TPKT (RFC 1006),
//! X.224 Connection Request / Confirm (with the routing cookie and RDP_NEG_REQ /
//! RDP_NEG_RSP / RDP_NEG_FAILURE of MS-RDPBCGR 2.2.1.1-2.2.1.2), and the GCC
//! client/server data blocks carried by MCS Connect Initial / Response (2.2.1.3-2.2.1.4).
use thiserror::Error;

/// TPKT header length.
pub const TPKT_LEN: usize = 4;

/// Why a frame could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum RdpError {
    #[error("not a TPKT header (version {0:#04x})")]
    BadTpkt(u8),
    #[error("TPKT length {0} is shorter than its header")]
    BadLength(usize),
    #[error("X.224 TPDU truncated")]
    Truncated,
}

impl RdpError {
    pub fn kind(&self) -> &'static str {
        match self {
            RdpError::BadTpkt(_) => "bad_tpkt",
            RdpError::BadLength(_) => "bad_length",
            RdpError::Truncated => "truncated_pdu",
        }
    }
}

/// Length of the TPKT frame starting `data`: `Ok(None)` while fewer than 4 bytes.
pub fn tpkt_len(data: &[u8]) -> Result<Option<usize>, RdpError> {
    let Some(h) = data.get(..TPKT_LEN) else {
        return Ok(None);
    };
    if h[0] != 3 || h[1] != 0 {
        return Err(RdpError::BadTpkt(h[0]));
    }
    let len = usize::from(u16::from_be_bytes([h[2], h[3]]));
    if len < TPKT_LEN + 3 {
        return Err(RdpError::BadLength(len));
    }
    Ok(Some(len))
}

/// X.224 TPDU codes (high nibble of the second byte).
pub const X224_CR: u8 = 0xE0;
pub const X224_CC: u8 = 0xD0;
pub const X224_DT: u8 = 0xF0;
pub const X224_DR: u8 = 0x80;

/// The X.224 code of a TPKT frame's TPDU (0 when truncated).
pub fn x224_code(frame: &[u8]) -> u8 {
    frame.get(TPKT_LEN + 1).map_or(0, |c| c & 0xF0)
}

fn le32(b: &[u8], at: usize) -> Option<u32> {
    let s = b.get(at..at.checked_add(4)?)?;
    Some(u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
}

fn le16(b: &[u8], at: usize) -> Option<u16> {
    let s = b.get(at..at.checked_add(2)?)?;
    Some(u16::from_le_bytes([s[0], s[1]]))
}

/// RDP_NEG_REQ / RDP_NEG_RSP / RDP_NEG_FAILURE.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Negotiation {
    Request { flags: u8, protocols: u32 },
    Response { flags: u8, protocol: u32 },
    Failure { code: u32 },
}

/// A decoded Connection Request (client) or Connection Confirm (server).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Connection<'a> {
    /// `Cookie: mstshash=` value (without CR LF).
    pub mstshash: Option<&'a [u8]>,
    /// Any other `Cookie: ` line (load-balancing routing token), without CR LF.
    pub routing_token: Option<&'a [u8]>,
    pub negotiation: Option<Negotiation>,
    /// Bytes after the fixed part that were neither a cookie nor a negotiation.
    pub trailing: bool,
}

/// Variable part of a CR/CC TPDU (after LI, code, dst-ref, src-ref, class).
fn variable_part(frame: &[u8]) -> Result<&[u8], RdpError> {
    // TPKT(4) + LI(1) + code(1) + dst(2) + src(2) + class(1)
    frame.get(TPKT_LEN + 7..).ok_or(RdpError::Truncated)
}

fn parse_neg(b: &[u8]) -> Option<Negotiation> {
    let ty = *b.first()?;
    let flags = *b.get(1)?;
    let len = le16(b, 2)?;
    if len != 8 {
        return None;
    }
    let v = le32(b, 4)?;
    match ty {
        1 => Some(Negotiation::Request {
            flags,
            protocols: v,
        }),
        2 => Some(Negotiation::Response { flags, protocol: v }),
        3 => Some(Negotiation::Failure { code: v }),
        _ => None,
    }
}

/// Decodes a CR or CC TPKT frame.
pub fn parse_connection(frame: &[u8]) -> Result<Connection<'_>, RdpError> {
    let mut rest = variable_part(frame)?;
    let mut c = Connection::default();
    if let Some(after) = rest.strip_prefix(b"Cookie: ".as_slice()) {
        let end = after
            .windows(2)
            .position(|w| w == b"\r\n")
            .unwrap_or(after.len());
        let line = after.get(..end).unwrap_or_default();
        if let Some(v) = line.strip_prefix(b"mstshash=".as_slice()) {
            c.mstshash = Some(v);
        } else {
            c.routing_token = Some(line);
        }
        rest = after.get(end.saturating_add(2)..).unwrap_or_default();
    }
    if !rest.is_empty() {
        c.negotiation = parse_neg(rest);
        let used = if c.negotiation.is_some() { 8 } else { 0 };
        // A correlation-info block (type 6, 36 bytes) may follow a request.
        let tail = rest.get(used..).unwrap_or_default();
        c.trailing = !tail.is_empty() && tail.first() != Some(&6);
    }
    Ok(c)
}

/// Plausible CR (client) or CC (server) frame: used by the probe.
pub fn plausible_connection(frame: &[u8], code: u8) -> bool {
    let Some(li) = frame.get(TPKT_LEN).copied() else {
        return false;
    };
    if x224_code(frame) != code || li < 6 {
        return false;
    }
    // class 0 and a variable part that is empty, a cookie or a negotiation block
    let Some(class) = frame.get(TPKT_LEN + 6) else {
        return false;
    };
    if class & 0xF0 != 0 {
        return false;
    }
    let var = frame.get(TPKT_LEN + 7..).unwrap_or_default();
    var.is_empty()
        || var.starts_with(b"Cookie: ")
        || (matches!(var.first(), Some(1..=3)) && var.get(2..4) == Some(&[8, 0]))
}

/// Security protocol names (MS-RDPBCGR 2.2.1.1.1 requestedProtocols flags).
pub const PROTOCOLS: &[(u32, &str)] = &[
    (0x01, "TLS"),
    (0x02, "HYBRID"),
    (0x04, "RDSTLS"),
    (0x08, "HYBRID_EX"),
    (0x10, "RDSAAD"),
];

/// Name of one selected protocol (0 = standard RDP security).
pub fn protocol_name(p: u32) -> &'static str {
    if p == 0 {
        return "RDP";
    }
    PROTOCOLS
        .iter()
        .find(|(v, _)| *v == p)
        .map_or("unknown", |(_, n)| n)
}

/// Names of the requested protocol flags ("RDP" always comes first: standard RDP
/// security is implied unless the server refuses it).
pub fn requested_names(flags: u32) -> Vec<&'static str> {
    let mut v = vec!["RDP"];
    v.extend(
        PROTOCOLS
            .iter()
            .filter(|(f, _)| flags & f != 0)
            .map(|(_, n)| *n),
    );
    v
}

/// RDP_NEG_FAILURE codes.
pub fn failure_name(code: u32) -> &'static str {
    match code {
        1 => "SSL_REQUIRED_BY_SERVER",
        2 => "SSL_NOT_ALLOWED_BY_SERVER",
        3 => "SSL_CERT_NOT_ON_SERVER",
        4 => "INCONSISTENT_FLAGS",
        5 => "HYBRID_REQUIRED_BY_SERVER",
        6 => "SSL_WITH_USER_AUTH_REQUIRED_BY_SERVER",
        _ => "unknown",
    }
}

/// Client core data (CS_CORE) and friends, from MCS Connect Initial.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClientData {
    pub version: Option<u32>,
    pub desktop_width: Option<u16>,
    pub desktop_height: Option<u16>,
    pub keyboard_layout: Option<u32>,
    pub client_build: Option<u32>,
    pub client_name: Option<String>,
    pub high_color_depth: Option<u16>,
    pub early_capability_flags: Option<u16>,
    pub dig_product_id: Option<String>,
    pub encryption_methods: Option<u32>,
    pub channels: Vec<String>,
}

/// Server data (SC_CORE, SC_SECURITY) from MCS Connect Response.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ServerData {
    pub version: Option<u32>,
    pub encryption_method: Option<u32>,
    pub encryption_level: Option<u32>,
    /// 1 proprietary, 2 X.509.
    pub cert_type: Option<u32>,
    pub cert_permanent: Option<bool>,
    pub cert_count: Option<u32>,
}

/// Maximum channel names kept.
pub const MAX_CHANNELS: usize = 31;

/// UTF-16LE up to the first NUL, trimmed, at most `max` code units.
pub fn utf16z(b: &[u8], max: usize) -> String {
    let units = b
        .chunks_exact(2)
        .map(|c| u16::from_le_bytes([c[0], c[1]]))
        .take_while(|&u| u != 0)
        .take(max);
    char::decode_utf16(units)
        .map(|r| r.unwrap_or(char::REPLACEMENT_CHARACTER))
        .collect::<String>()
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// PER length after the H.221 key: returns the blocks that follow.
fn gcc_blocks<'a>(frame: &'a [u8], key: &[u8]) -> Option<&'a [u8]> {
    let at = find(frame, key)?.checked_add(key.len())?;
    let b0 = *frame.get(at)?;
    let start = if b0 & 0x80 != 0 { at + 2 } else { at + 1 };
    frame.get(start..)
}

/// Iterates GCC user data blocks: (type, whole block including its 4-byte header).
fn blocks(mut b: &[u8]) -> impl Iterator<Item = (u16, &[u8])> {
    std::iter::from_fn(move || {
        let ty = le16(b, 0)?;
        let len = usize::from(le16(b, 2)?);
        if len < 4 {
            return None;
        }
        let blk = b.get(..len).unwrap_or(b);
        b = b.get(len..).unwrap_or_default();
        Some((ty, blk))
    })
}

/// Client data blocks of an MCS Connect Initial frame (`None` when absent).
pub fn parse_client_data(frame: &[u8]) -> Option<ClientData> {
    // X.224 DT then BER application 101 (0x7f 0x65).
    let body = frame.get(TPKT_LEN + 3..)?;
    if body.get(..2)? != [0x7f, 0x65] {
        return None;
    }
    let data = gcc_blocks(body, b"Duca")?;
    let mut c = ClientData::default();
    for (ty, blk) in blocks(data) {
        match ty {
            0xC001 => {
                c.version = le32(blk, 4);
                c.desktop_width = le16(blk, 8);
                c.desktop_height = le16(blk, 10);
                c.keyboard_layout = le32(blk, 16);
                c.client_build = le32(blk, 20);
                c.client_name = blk.get(24..56).map(|n| utf16z(n, 16));
                c.high_color_depth = le16(blk, 140);
                c.early_capability_flags = le16(blk, 144);
                c.dig_product_id = blk
                    .get(146..210)
                    .map(|n| utf16z(n, 32))
                    .filter(|s| !s.is_empty());
            }
            0xC002 => c.encryption_methods = le32(blk, 4),
            0xC003 => {
                let n = le32(blk, 4).unwrap_or(0) as usize;
                for i in 0..n.min(MAX_CHANNELS) {
                    let Some(name) = blk.get(8 + i * 12..8 + i * 12 + 8) else {
                        break;
                    };
                    let end = name.iter().position(|&b| b == 0).unwrap_or(8);
                    c.channels.push(
                        String::from_utf8_lossy(name.get(..end).unwrap_or_default()).into_owned(),
                    );
                }
            }
            _ => {}
        }
    }
    Some(c)
}

/// Server data blocks of an MCS Connect Response frame.
pub fn parse_server_data(frame: &[u8]) -> Option<ServerData> {
    let body = frame.get(TPKT_LEN + 3..)?;
    if body.get(..2)? != [0x7f, 0x66] {
        return None;
    }
    let data = gcc_blocks(body, b"McDn")?;
    let mut s = ServerData::default();
    for (ty, blk) in blocks(data) {
        match ty {
            0x0C01 => s.version = le32(blk, 4),
            0x0C02 => {
                s.encryption_method = le32(blk, 4);
                s.encryption_level = le32(blk, 8);
                let rlen = le32(blk, 12).unwrap_or(0) as usize;
                let clen = le32(blk, 16).unwrap_or(0);
                if clen > 0 {
                    let at = 20usize.saturating_add(rlen);
                    if let Some(v) = le32(blk, at) {
                        s.cert_type = Some(v & 0x7fff_ffff);
                        s.cert_permanent = Some(v & 0x8000_0000 == 0);
                        if v & 0x7fff_ffff == 2 {
                            s.cert_count = le32(blk, at + 4);
                        } else {
                            s.cert_count = Some(1);
                        }
                    }
                }
            }
            _ => {}
        }
    }
    Some(s)
}

/// Encryption method names (MS-RDPBCGR 2.2.1.4.3).
pub fn encryption_method_name(m: u32) -> &'static str {
    match m {
        0 => "None",
        0x1 => "40bit",
        0x2 => "128bit",
        0x8 => "56bit",
        0x10 => "FIPS",
        _ => "unknown",
    }
}

/// Encryption level names.
pub fn encryption_level_name(l: u32) -> &'static str {
    match l {
        0 => "None",
        1 => "Low",
        2 => "Client compatible",
        3 => "High",
        4 => "FIPS",
        _ => "unknown",
    }
}

/// RDP client version names (CS_CORE version).
pub fn client_version_name(v: u32) -> Option<String> {
    match v {
        0x0008_0001 => Some("v4".into()),
        0x0008_0004 => Some("v5".into()),
        0x0008_0005..=0x0008_00ff => Some(format!("v10.{}", v - 0x0008_0005)),
        _ => None,
    }
}

/// Windows release of a client build number.
pub fn client_build_name(b: u32) -> Option<&'static str> {
    Some(match b {
        2195 => "Windows 2000",
        2600 => "Windows XP",
        3790 => "Windows Server 2003",
        6000 => "Windows Vista",
        6001 => "Windows Vista SP1",
        6002 => "Windows Vista SP2",
        7600 => "Windows 7",
        7601 => "Windows 7 SP1",
        9200 => "Windows 8",
        9600 => "Windows 8.1",
        10240..=21999 => "Windows 10",
        22000..=29999 => "Windows 11",
        _ => return None,
    })
}

/// A few keyboard layouts (Windows LCIDs).
pub fn keyboard_layout_name(k: u32) -> Option<&'static str> {
    Some(match k {
        0x0409 => "English - United States",
        0x0809 => "English - United Kingdom",
        0x0407 => "German - Germany",
        0x040c => "French - France",
        0x0410 => "Italian - Italy",
        0x040a | 0x0c0a => "Spanish - Spain",
        0x0411 => "Japanese",
        0x0412 => "Korean",
        0x0804 => "Chinese - PRC",
        0x0419 => "Russian",
        0x0413 => "Dutch - Netherlands",
        0x0416 => "Portuguese - Brazil",
        0x041d => "Swedish",
        0x0415 => "Polish",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connection_request_with_cookie_and_neg() {
        let mut f = vec![3, 0, 0, 0, 0, 0xE0, 0, 0, 0, 0, 0];
        f.extend_from_slice(b"Cookie: mstshash=bob\r\n");
        f.extend_from_slice(&[1, 0, 8, 0, 3, 0, 0, 0]);
        let n = f.len();
        f[3] = n as u8;
        f[4] = (n - 5) as u8;
        assert_eq!(tpkt_len(&f), Ok(Some(n)));
        let c = parse_connection(&f).unwrap();
        assert_eq!(c.mstshash, Some(&b"bob"[..]));
        assert_eq!(
            c.negotiation,
            Some(Negotiation::Request {
                flags: 0,
                protocols: 3
            })
        );
        assert!(plausible_connection(&f, X224_CR));
        assert_eq!(requested_names(3), ["RDP", "TLS", "HYBRID"]);
        assert_eq!(protocol_name(8), "HYBRID_EX");
    }
}
