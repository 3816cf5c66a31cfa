//! TPKT (RFC 1006, ISO transport over TCP) and COTP (ISO 8073 / X.224 class 0)
//! decoding, zero-copy over byte slices. Shared by `s7comm`, `s7commplus` (and any
//! other protocol on TCP/102).
//!
//! A TPKT frame is `03 00 LL LL` (version 3, reserved, total length including these
//! four bytes) followed by one COTP TPDU: a length indicator (bytes of the COTP
//! header after itself), the TPDU code in the high nibble of the next byte, and the
//! code-specific fixed part and parameters. DT (data) TPDUs carry the user data
//! after their header; the EOT bit (0x80 of the last header byte) marks the last DT
//! of a TSDU that was split over several DTs.
use thiserror::Error;

/// TPKT version of RFC 1006.
pub const TPKT_VERSION: u8 = 3;
/// Bytes of the TPKT header.
pub const TPKT_HEADER_LEN: usize = 4;
/// Smallest TPKT length accepted: header + the 3-byte class 0 DT header.
pub const MIN_TPKT_LEN: usize = 7;

/// COTP TPDU codes (high nibble of the second COTP byte).
pub mod code {
    pub const ED: u8 = 0x10;
    pub const EA: u8 = 0x20;
    pub const RJ: u8 = 0x50;
    pub const AK: u8 = 0x60;
    pub const ER: u8 = 0x70;
    pub const DR: u8 = 0x80;
    pub const DC: u8 = 0xC0;
    pub const CC: u8 = 0xD0;
    pub const CR: u8 = 0xE0;
    pub const DT: u8 = 0xF0;
}

/// Short name of a COTP TPDU code (`CR`, `CC`, `DT`, ...).
pub fn code_name(c: u8) -> &'static str {
    match c & 0xF0 {
        code::ED => "ED",
        code::EA => "EA",
        code::RJ => "RJ",
        code::AK => "AK",
        code::ER => "ER",
        code::DR => "DR",
        code::DC => "DC",
        code::CC => "CC",
        code::CR => "CR",
        code::DT => "DT",
        _ => "unknown",
    }
}

fn known_code(c: u8) -> bool {
    code_name(c) != "unknown"
}

/// What the first bytes of a stream position say about a TPKT frame there.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TpktCheck {
    /// At least this many bytes (in total) are needed to decide.
    NeedMore(usize),
    /// No TPKT frame starts here.
    Bad(TpktError),
    /// A frame of this many bytes (header included) starts here.
    Frame(usize),
}

/// A TPKT header that cannot start a frame.
#[derive(Clone, Copy, Debug, Error, PartialEq, Eq)]
pub enum TpktError {
    #[error("TPKT version {0}, expected 3")]
    BadVersion(u8),
    #[error("TPKT reserved byte {0:#04x}, expected 0")]
    BadReserved(u8),
    #[error("TPKT length {0} below the 7-byte minimum")]
    BadLength(u16),
    #[error("COTP length indicator {li} does not fit the {len}-byte TPKT frame")]
    BadCotpLength { li: u8, len: u16 },
    #[error("unknown COTP TPDU code {0:#04x}")]
    UnknownCode(u8),
}

impl TpktError {
    /// Stable anomaly kind.
    pub fn kind(&self) -> &'static str {
        match self {
            TpktError::BadVersion(_) | TpktError::BadReserved(_) | TpktError::BadLength(_) => {
                "bad_tpkt"
            }
            TpktError::BadCotpLength { .. } | TpktError::UnknownCode(_) => "bad_cotp",
        }
    }
}

/// Checks the TPKT header at the start of `b`. With `strict` (used while
/// resynchronising and by content probes) the COTP length indicator and TPDU code
/// must be plausible too, so that a stray `03 00` inside data is not taken for a
/// frame start.
pub fn check_tpkt(b: &[u8], strict: bool) -> TpktCheck {
    let need = if strict { 6 } else { TPKT_HEADER_LEN };
    let Some(&version) = b.first() else {
        return TpktCheck::NeedMore(need);
    };
    if version != TPKT_VERSION {
        return TpktCheck::Bad(TpktError::BadVersion(version));
    }
    let Some(&reserved) = b.get(1) else {
        return TpktCheck::NeedMore(need);
    };
    if reserved != 0 {
        return TpktCheck::Bad(TpktError::BadReserved(reserved));
    }
    let Some(len) = be16(b, 2) else {
        return TpktCheck::NeedMore(need);
    };
    if usize::from(len) < MIN_TPKT_LEN {
        return TpktCheck::Bad(TpktError::BadLength(len));
    }
    if strict {
        let (Some(&li), Some(&c)) = (b.get(4), b.get(5)) else {
            return TpktCheck::NeedMore(need);
        };
        if li == 0 || usize::from(li) + 5 > usize::from(len) {
            return TpktCheck::Bad(TpktError::BadCotpLength { li, len });
        }
        if !known_code(c) {
            return TpktCheck::Bad(TpktError::UnknownCode(c));
        }
    }
    TpktCheck::Frame(usize::from(len))
}

/// Parameters of a connection request / confirm.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ConnParams<'a> {
    /// TPDU size in bytes (parameter 0xC0, a power of two).
    pub tpdu_size: Option<u32>,
    /// Calling (source) TSAP (parameter 0xC1).
    pub calling_tsap: Option<&'a [u8]>,
    /// Called (destination) TSAP (parameter 0xC2).
    pub called_tsap: Option<&'a [u8]>,
}

/// One COTP TPDU.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cotp<'a> {
    /// DT: user data; `eot` marks the last DT of a TSDU.
    Data {
        eot: bool,
        number: u8,
        payload: &'a [u8],
    },
    /// CR (`confirm == false`) or CC (`confirm == true`).
    Connect {
        confirm: bool,
        dst_ref: u16,
        src_ref: u16,
        class: u8,
        params: ConnParams<'a>,
    },
    /// DR (`confirm == false`, with its reason) or DC.
    Disconnect {
        confirm: bool,
        dst_ref: u16,
        src_ref: u16,
        reason: Option<u8>,
    },
    /// ER (TPDU error) with its reject cause.
    Error { dst_ref: u16, cause: Option<u8> },
    /// Any other TPDU (expedited data, acknowledgements, reject).
    Other { code: u8 },
}

/// A COTP TPDU that cannot be decoded.
#[derive(Clone, Copy, Debug, Error, PartialEq, Eq)]
pub enum CotpError {
    #[error("COTP TPDU of {0} bytes is too short")]
    TooShort(usize),
    #[error("COTP length indicator {li} but only {avail} bytes follow it")]
    BadLength { li: u8, avail: usize },
    #[error("COTP {name} header of {li} bytes is too short")]
    ShortHeader { name: &'static str, li: u8 },
    #[error("unknown COTP TPDU code {0:#04x}")]
    UnknownCode(u8),
}

impl CotpError {
    /// Stable anomaly kind.
    pub fn kind(&self) -> &'static str {
        "bad_cotp"
    }
}

/// Decodes the COTP TPDU of one TPKT frame (the bytes after the TPKT header).
pub fn parse_cotp(tpdu: &[u8]) -> Result<Cotp<'_>, CotpError> {
    let (Some(&li), Some(&c)) = (tpdu.first(), tpdu.get(1)) else {
        return Err(CotpError::TooShort(tpdu.len()));
    };
    let hdr_end = usize::from(li) + 1;
    let Some(header) = tpdu.get(..hdr_end) else {
        return Err(CotpError::BadLength {
            li,
            avail: tpdu.len().saturating_sub(1),
        });
    };
    if li == 0 {
        return Err(CotpError::BadLength { li, avail: 0 });
    }
    let rest = tpdu.get(hdr_end..).unwrap_or_default();
    let short = |name| CotpError::ShortHeader { name, li };
    match c & 0xF0 {
        code::DT => {
            // Class 0: LI 2 (code, EOT/NR); classes 2-4 add the destination reference
            // before it. The EOT/NR byte is the last byte of the header.
            if li < 2 {
                return Err(short("DT"));
            }
            let nr = header.last().copied().unwrap_or(0);
            Ok(Cotp::Data {
                eot: nr & 0x80 != 0,
                number: nr & 0x7F,
                payload: rest,
            })
        }
        code::CR | code::CC => {
            if li < 6 {
                return Err(short(code_name(c)));
            }
            let mut params = ConnParams::default();
            let mut p = header.get(7..).unwrap_or_default();
            while let (Some(&ty), Some(&len)) = (p.first(), p.get(1)) {
                let end = 2 + usize::from(len);
                let Some(v) = p.get(2..end) else { break };
                match ty {
                    0xC0 => {
                        params.tpdu_size = v
                            .first()
                            .filter(|&&n| (7..=13).contains(&n))
                            .map(|&n| 1u32 << n)
                    }
                    0xC1 => params.calling_tsap = Some(v),
                    0xC2 => params.called_tsap = Some(v),
                    _ => {}
                }
                p = p.get(end..).unwrap_or_default();
            }
            Ok(Cotp::Connect {
                confirm: c & 0xF0 == code::CC,
                dst_ref: be16(header, 2).unwrap_or(0),
                src_ref: be16(header, 4).unwrap_or(0),
                class: header.get(6).map_or(0, |b| b >> 4),
                params,
            })
        }
        code::DR | code::DC => {
            if li < 5 {
                return Err(short(code_name(c)));
            }
            let confirm = c & 0xF0 == code::DC;
            Ok(Cotp::Disconnect {
                confirm,
                dst_ref: be16(header, 2).unwrap_or(0),
                src_ref: be16(header, 4).unwrap_or(0),
                reason: if confirm {
                    None
                } else {
                    header.get(6).copied()
                },
            })
        }
        code::ER => {
            if li < 3 {
                return Err(short("ER"));
            }
            Ok(Cotp::Error {
                dst_ref: be16(header, 2).unwrap_or(0),
                cause: header.get(4).copied(),
            })
        }
        code::ED | code::EA | code::RJ | code::AK => Ok(Cotp::Other { code: c & 0xF0 }),
        _ => Err(CotpError::UnknownCode(c)),
    }
}

/// What a TSAP says: printable text (e.g. `SIMATIC-ROOT-HMI`) or lowercase hex.
pub fn tsap_text(t: &[u8]) -> String {
    if !t.is_empty() && t.len() <= 64 && t.iter().all(|c| (0x20..0x7f).contains(c)) {
        return String::from_utf8_lossy(t).into_owned();
    }
    let mut s = String::with_capacity(t.len().min(64) * 2);
    for b in t.iter().take(64) {
        s.push_str(&format!("{b:02x}"));
    }
    s
}

/// Content probe helper for protocols on TCP/102: walks the TPKT frames at the
/// start of `data`, skipping connection management TPDUs and empty DTs, and returns
/// the user data of the first DT (never empty; cut short when the frame is not
/// complete). `Err(true)`: more bytes are needed; `Err(false)`: the bytes are not
/// TPKT/COTP.
pub fn first_data(data: &[u8]) -> Result<&[u8], bool> {
    let mut rest = data;
    for _ in 0..8 {
        if rest.is_empty() {
            return Err(true);
        }
        let n = match check_tpkt(rest, true) {
            TpktCheck::NeedMore(_) => return Err(true),
            TpktCheck::Bad(_) => return Err(false),
            TpktCheck::Frame(n) => n,
        };
        let Some(tpdu) = rest.get(TPKT_HEADER_LEN..) else {
            return Err(true);
        };
        let code_byte = tpdu.get(1).copied().unwrap_or(0) & 0xF0;
        if code_byte == code::DT {
            let li = tpdu.first().copied().unwrap_or(0);
            let start = usize::from(li) + 1;
            let frame_payload = n.saturating_sub(TPKT_HEADER_LEN);
            if start >= frame_payload {
                // An empty DT (keep-alive): look at the next frame.
                match rest.get(n..) {
                    Some(r) => {
                        rest = r;
                        continue;
                    }
                    None => return Err(true),
                }
            }
            let end = frame_payload.min(tpdu.len());
            return match tpdu.get(start..end) {
                Some(p) if !p.is_empty() => Ok(p),
                _ => Err(true),
            };
        }
        if !matches!(code_byte, code::CR | code::CC) {
            return Err(false);
        }
        match rest.get(n..) {
            Some(r) => rest = r,
            None => {
                // The whole connection TPDU is not there yet; it is enough to say
                // the bytes are TPKT, not enough to say whose.
                return Err(true);
            }
        }
    }
    Err(false)
}

pub(crate) fn be16(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes([*b.get(at)?, *b.get(at + 1)?]))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    #[test]
    fn connect_request_from_tia() {
        // s7comm-iti-s7-1200-hmi.pcap frame 5 (CR to SIMATIC-ROOT-HMI)
        let f = hex("030000241fe00000011200c1020620c21053494d415449432d524f4f542d484d49c0010a");
        assert_eq!(check_tpkt(&f, true), TpktCheck::Frame(36));
        let c = parse_cotp(&f[4..]).unwrap();
        match c {
            Cotp::Connect {
                confirm,
                src_ref,
                params,
                ..
            } => {
                assert!(!confirm);
                assert_eq!(src_ref, 0x0112);
                assert_eq!(params.tpdu_size, Some(1024));
                assert_eq!(params.calling_tsap, Some(&[0x06, 0x20][..]));
                assert_eq!(tsap_text(params.called_tsap.unwrap()), "SIMATIC-ROOT-HMI");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn data_and_probe() {
        let f = hex("0300001902f08032010000000000080000f0000001000101e0");
        let c = parse_cotp(&f[4..]).unwrap();
        assert!(matches!(c, Cotp::Data { eot: true, number: 0, payload } if payload[0] == 0x32));
        assert_eq!(first_data(&f), Ok(&f[7..]));
        assert_eq!(first_data(&f[..7]), Err(true));
        assert_eq!(first_data(&f[..9]), Ok(&f[7..9]));
        let cr = hex("0300001611e00000000100c0010ac1020100c2020102");
        assert_eq!(first_data(&cr), Err(true));
        let mut both = cr.clone();
        both.extend_from_slice(&f);
        assert_eq!(first_data(&both), Ok(&f[7..]));
        // an empty DT keep-alive is skipped
        let mut ka = hex("0300000702f000");
        ka.extend_from_slice(&f);
        assert_eq!(first_data(&ka), Ok(&f[7..]));
        assert_eq!(first_data(b"GET / HTTP/1.1\r\n"), Err(false));
        assert_eq!(first_data(&[3, 0, 0, 5, 2, 0xf0]), Err(false));
    }

    #[test]
    fn errors() {
        assert!(parse_cotp(&[]).is_err());
        assert!(parse_cotp(&[5, 0xf0]).is_err());
        assert!(parse_cotp(&[1, 0xf0, 0x80]).is_err());
        assert_eq!(parse_cotp(&[2, 0x30, 0]), Err(CotpError::UnknownCode(0x30)));
        assert_eq!(
            check_tpkt(&[4, 0, 0, 9], false),
            TpktCheck::Bad(TpktError::BadVersion(4))
        );
        assert_eq!(check_tpkt(&[3, 0], false), TpktCheck::NeedMore(4));
        assert_eq!(
            check_tpkt(&[3, 0, 0, 9, 9, 0xf0], true),
            TpktCheck::Bad(TpktError::BadCotpLength { li: 9, len: 9 })
        );
    }
}
