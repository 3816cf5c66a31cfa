//! Pure decoding of one Sampled Values frame (IEC 61850-9-2): the header (as
//! GOOSE's) and the `savPdu` (`[APPLICATION 0]`) with its ASDUs.
use crate::goose::parser::{GooseError, Header};
use crate::mms::ber::{self, BerError, Class};
use thiserror::Error;

/// Most ASDUs decoded from one frame.
pub const MAX_ASDUS: usize = 16;

/// Why a frame is not a Sampled Values message.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Error)]
pub enum SvError {
    #[error("{0}")]
    Header(#[from] GooseError),
    #[error("savPdu: {0}")]
    Ber(#[from] BerError),
    #[error("PDU tag 0x{0:02x} is not savPdu ([APPLICATION 0])")]
    NotSavPdu(u8),
}

impl SvError {
    /// Stable anomaly kind.
    pub fn kind(&self) -> &'static str {
        match self {
            SvError::Header(e) => e.kind(),
            SvError::Ber(_) => "malformed_sv",
            SvError::NotSavPdu(_) => "not_sav_pdu",
        }
    }
}

/// One ASDU (strings borrowed from the frame: no allocation per frame).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Asdu<'a> {
    pub sv_id: Option<&'a [u8]>,
    pub dat_set: Option<&'a [u8]>,
    pub smp_cnt: Option<u16>,
    pub conf_rev: Option<u32>,
    pub smp_synch: Option<u8>,
    pub smp_rate: Option<u16>,
    /// Octets of sample data.
    pub data_len: usize,
}

/// A decoded `savPdu`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SavPdu<'a> {
    pub no_asdu: Option<u32>,
    pub security: bool,
    pub asdus: Vec<Asdu<'a>>,
    /// More ASDUs than [`MAX_ASDUS`] were present.
    pub truncated: bool,
}

/// Decodes a frame payload (after the ethertype).
pub fn parse(payload: &[u8]) -> Result<(Header, SavPdu<'_>, bool), SvError> {
    let (hdr, apdu, short) = Header::parse(payload)?;
    let (top, _) = ber::read(apdu)?;
    if !(top.class == Class::Application && top.tag == 0 && top.constructed) {
        return Err(SvError::NotSavPdu(apdu.first().copied().unwrap_or(0)));
    }
    let mut p = SavPdu::default();
    let mut it = top.children();
    for c in it.by_ref() {
        match (c.class, c.tag) {
            (Class::Context, 0) => p.no_asdu = ber::u32_of(c.value),
            (Class::Context, 1) => p.security = true,
            (Class::Context, 2) => {
                let mut seq = c.children();
                for asdu in seq.by_ref() {
                    if p.asdus.len() >= MAX_ASDUS {
                        p.truncated = true;
                        break;
                    }
                    let mut a = Asdu::default();
                    let mut fields = asdu.children();
                    for f in fields.by_ref() {
                        if f.class != Class::Context {
                            continue;
                        }
                        match f.tag {
                            0 => a.sv_id = Some(f.value),
                            1 => a.dat_set = Some(f.value),
                            2 => a.smp_cnt = ber::uint(f.value).and_then(|n| u16::try_from(n).ok()),
                            3 => a.conf_rev = ber::u32_of(f.value),
                            5 => {
                                a.smp_synch = ber::uint(f.value).and_then(|n| u8::try_from(n).ok())
                            }
                            6 => {
                                a.smp_rate = ber::uint(f.value).and_then(|n| u16::try_from(n).ok())
                            }
                            7 => a.data_len = f.value.len(),
                            _ => {}
                        }
                    }
                    if let Some(e) = fields.failed() {
                        return Err(SvError::Ber(e));
                    }
                    p.asdus.push(a);
                }
                if let Some(e) = seq.failed() {
                    return Err(SvError::Ber(e));
                }
            }
            _ => {}
        }
    }
    if let Some(e) = it.failed() {
        return Err(SvError::Ber(e));
    }
    Ok((hdr, p, short))
}
