//! Pure decoding of one GOOSE frame (IEC 61850-8-1 annex A/C): the four header
//! fields and the `goosePdu` (`[APPLICATION 1]`).
use crate::mms::ber::{self, BerError, Class, Tlv};
use crate::mms::data::UtcTime;
use thiserror::Error;

/// Octets of APPID, Length, Reserved 1 and Reserved 2.
pub const HEADER_LEN: usize = 8;

/// Why a frame is not a GOOSE message.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Error)]
pub enum GooseError {
    #[error("frame shorter than the 8-octet GOOSE header ({0} octets)")]
    TooShort(usize),
    #[error("GOOSE length field {0} is smaller than the header")]
    BadLength(u16),
    #[error("goosePdu: {0}")]
    Ber(#[from] BerError),
    #[error("PDU tag 0x{0:02x} is not goosePdu ([APPLICATION 1])")]
    NotGoosePdu(u8),
}

impl GooseError {
    /// Stable anomaly kind.
    pub fn kind(&self) -> &'static str {
        match self {
            GooseError::TooShort(_) | GooseError::BadLength(_) => "bad_length",
            GooseError::Ber(_) => "malformed_goose",
            GooseError::NotGoosePdu(_) => "not_goose_pdu",
        }
    }
}

/// The GOOSE / SV header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Header {
    pub appid: u16,
    /// Octets from APPID to the end of the APDU.
    pub length: u16,
    pub reserved1: u16,
    pub reserved2: u16,
}

impl Header {
    /// Reads the header; returns it and the APDU (cut to the length field, which
    /// excludes Ethernet padding). The flag tells that the length field claimed
    /// more octets than the frame has.
    pub fn parse(payload: &[u8]) -> Result<(Header, &[u8], bool), GooseError> {
        let Some(h) = payload.get(..HEADER_LEN) else {
            return Err(GooseError::TooShort(payload.len()));
        };
        let word = |i: usize| u16::from_be_bytes([h[i], h[i + 1]]);
        let hdr = Header {
            appid: word(0),
            length: word(2),
            reserved1: word(4),
            reserved2: word(6),
        };
        let len = usize::from(hdr.length);
        if len < HEADER_LEN {
            return Err(GooseError::BadLength(hdr.length));
        }
        let short = len > payload.len();
        let apdu = payload
            .get(HEADER_LEN..len.min(payload.len()))
            .unwrap_or_default();
        Ok((hdr, apdu, short))
    }

    /// IEC 61850-8-1 Ed.2: the simulation bit is the top bit of Reserved 1.
    pub fn simulation(&self) -> bool {
        self.reserved1 & 0x8000 != 0
    }
}

/// The fields of a `goosePdu`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct GoosePdu<'a> {
    pub gocb_ref: Option<String>,
    pub time_allowed_to_live: Option<u64>,
    pub dat_set: Option<String>,
    pub go_id: Option<String>,
    pub t: Option<UtcTime>,
    pub st_num: Option<u32>,
    pub sq_num: Option<u32>,
    pub simulation: Option<bool>,
    pub conf_rev: Option<u32>,
    pub nds_com: Option<bool>,
    pub num_dat_set_entries: Option<u32>,
    /// The `allData` element (its children are `Data` values).
    pub all_data: Option<Tlv<'a>>,
    pub security: bool,
}

impl GoosePdu<'_> {
    /// Names of mandatory fields that are missing.
    pub fn missing(&self) -> Vec<&'static str> {
        let mut m = Vec::new();
        let checks: [(&'static str, bool); 10] = [
            ("gocbRef", self.gocb_ref.is_none()),
            ("timeAllowedtoLive", self.time_allowed_to_live.is_none()),
            ("datSet", self.dat_set.is_none()),
            ("t", self.t.is_none()),
            ("stNum", self.st_num.is_none()),
            ("sqNum", self.sq_num.is_none()),
            ("confRev", self.conf_rev.is_none()),
            ("ndsCom", self.nds_com.is_none()),
            ("numDatSetEntries", self.num_dat_set_entries.is_none()),
            ("allData", self.all_data.is_none()),
        ];
        for (name, absent) in checks {
            if absent {
                m.push(name);
            }
        }
        m
    }
}

/// Decodes the APDU (after the header).
pub fn parse_pdu(apdu: &[u8]) -> Result<GoosePdu<'_>, GooseError> {
    let (top, _) = ber::read(apdu)?;
    if !(top.class == Class::Application && top.tag == 1 && top.constructed) {
        return Err(GooseError::NotGoosePdu(apdu.first().copied().unwrap_or(0)));
    }
    let mut p = GoosePdu::default();
    let mut it = top.children();
    for c in it.by_ref() {
        if c.class != Class::Context {
            continue;
        }
        let v = c.value;
        match c.tag {
            0 => p.gocb_ref = Some(ber::string(v)),
            1 => p.time_allowed_to_live = ber::uint(v),
            2 => p.dat_set = Some(ber::string(v)),
            3 => p.go_id = Some(ber::string(v)),
            4 => p.t = UtcTime::parse(v),
            5 => p.st_num = ber::u32_of(v),
            6 => p.sq_num = ber::u32_of(v),
            7 => p.simulation = ber::boolean(v),
            8 => p.conf_rev = ber::u32_of(v),
            9 => p.nds_com = ber::boolean(v),
            10 => p.num_dat_set_entries = ber::u32_of(v),
            11 => p.all_data = Some(c),
            12 => p.security = true,
            _ => {}
        }
    }
    if let Some(e) = it.failed() {
        return Err(GooseError::Ber(e));
    }
    Ok(p)
}

/// Decodes a whole frame payload (after the ethertype).
pub fn parse(payload: &[u8]) -> Result<(Header, GoosePdu<'_>, bool), GooseError> {
    let (hdr, apdu, short) = Header::parse(payload)?;
    let pdu = parse_pdu(apdu)?;
    Ok((hdr, pdu, short))
}
