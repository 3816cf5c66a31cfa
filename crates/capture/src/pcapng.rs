//! pcapng: sections (SHB, byte order per section), interfaces (IDB with `if_tsresol` and
//! `if_tsoffset`), packets (EPB, SPB, obsolete PB); every other block is skipped after
//! checking its length fields.
use crate::error::{ErrorKind, Fault};
use crate::input::Input;
use crate::reader::Meta;
use crate::{LinkType, MAX_PACKET_LEN};

pub(crate) const SHB: u32 = 0x0A0D_0D0A;
pub(crate) const IDB: u32 = 0x0000_0001;
pub(crate) const PB: u32 = 0x0000_0002;
pub(crate) const SPB: u32 = 0x0000_0003;
pub(crate) const EPB: u32 = 0x0000_0006;
pub(crate) const BYTE_ORDER_MAGIC: u32 = 0x1A2B_3C4D;

/// Largest block this reader loads whole (a packet block or an interface description).
/// Other blocks of any length are skipped without loading them.
pub const MAX_BLOCK_LEN: u32 = 16 << 20;

const SHB_MIN_LEN: u32 = 28;
const OPT_END: u16 = 0;
const OPT_IF_TSRESOL: u16 = 9;
const OPT_IF_TSOFFSET: u16 = 14;

/// How interface time units convert to nanoseconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum TsScale {
    /// 10^-k with k <= 9: multiply by 10^(9-k).
    Mul(u64),
    /// 10^-k with 9 < k <= 19: divide by 10^(k-9).
    Div(u64),
    /// 2^-k: (units * 10^9) >> k.
    Shift(u32),
}

impl TsScale {
    /// From an `if_tsresol` value; `None` when the resolution is finer than 10^-19 s.
    pub(crate) fn from_tsresol(r: u8) -> Option<TsScale> {
        if r & 0x80 == 0 {
            let k = u32::from(r);
            if k <= 9 {
                Some(TsScale::Mul(10u64.pow(9 - k)))
            } else if k <= 19 {
                Some(TsScale::Div(10u64.pow(k - 9)))
            } else {
                None
            }
        } else {
            Some(TsScale::Shift(u32::from(r & 0x7f)))
        }
    }

    #[inline]
    pub(crate) fn to_ns(self, units: u64) -> i128 {
        match self {
            TsScale::Mul(m) => i128::from(units) * i128::from(m),
            TsScale::Div(d) => i128::from(units / d),
            TsScale::Shift(k) => ((u128::from(units) * 1_000_000_000) >> k) as i128,
        }
    }

    /// The inverse, for writers: nanoseconds to units (rounded down); `None` if it does not fit.
    pub(crate) fn units_of(self, ns: i128) -> Option<u64> {
        if ns < 0 {
            return None;
        }
        let units: i128 = match self {
            TsScale::Mul(m) => ns / i128::from(m),
            TsScale::Div(d) => ns.checked_mul(i128::from(d))?,
            TsScale::Shift(k) => {
                let wide = u128::try_from(ns).ok()?.checked_shl(k)?;
                if wide >> k != u128::try_from(ns).ok()? {
                    return None;
                }
                i128::try_from(wide / 1_000_000_000).ok()?
            }
        };
        u64::try_from(units).ok()
    }
}

/// One capture interface: the pcap file itself, or a pcapng Interface Description Block.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Interface {
    pub linktype: LinkType,
    /// Snap length (0: unlimited).
    pub snaplen: u32,
    /// `if_tsresol`: 6 = microseconds, 9 = nanoseconds; high bit set: a power of 2.
    pub tsresol: u8,
    /// `if_tsoffset`: seconds added to every timestamp.
    pub tsoffset: i64,
    pub(crate) scale: TsScale,
}

impl Interface {
    pub(crate) fn new(linktype: LinkType, snaplen: u32, tsresol: u8, tsoffset: i64) -> Interface {
        Interface {
            linktype,
            snaplen,
            tsresol,
            tsoffset,
            scale: TsScale::from_tsresol(tsresol).unwrap_or(TsScale::Mul(1000)),
        }
    }

    /// Converts a timestamp in interface units to nanoseconds since the epoch (saturating).
    #[inline]
    pub(crate) fn ts_ns(&self, units: u64) -> i64 {
        let ns = self.scale.to_ns(units) + i128::from(self.tsoffset) * 1_000_000_000;
        i64::try_from(ns).unwrap_or(if ns < 0 { i64::MIN } else { i64::MAX })
    }
}

/// Per-section reading state.
#[derive(Debug, Default)]
pub(crate) struct NgState {
    pub(crate) big_endian: bool,
    pub(crate) interfaces: Vec<Interface>,
    /// Timestamp of the previous packet (a Simple Packet Block has none of its own).
    pub(crate) last_ts: i64,
    pub(crate) sections: u32,
}

#[inline]
fn u16_at(b: &[u8], at: usize, be: bool) -> Option<u16> {
    let a: [u8; 2] = b.get(at..at.checked_add(2)?)?.try_into().ok()?;
    Some(if be {
        u16::from_be_bytes(a)
    } else {
        u16::from_le_bytes(a)
    })
}

#[inline]
fn u32_at(b: &[u8], at: usize, be: bool) -> Option<u32> {
    let a: [u8; 4] = b.get(at..at.checked_add(4)?)?.try_into().ok()?;
    Some(if be {
        u32::from_be_bytes(a)
    } else {
        u32::from_le_bytes(a)
    })
}

#[inline]
fn u64_at(b: &[u8], at: usize, be: bool) -> Option<u64> {
    let a: [u8; 8] = b.get(at..at.checked_add(8)?)?.try_into().ok()?;
    Some(if be {
        u64::from_be_bytes(a)
    } else {
        u64::from_le_bytes(a)
    })
}

/// Reads a Section Header Block at the read position (the caller saw its type) and
/// starts a new section: byte order from the block, no interfaces yet.
pub(crate) fn read_shb(input: &mut Input, st: &mut NgState) -> Result<(), Fault> {
    let off = input.pos();
    let avail = input.fill(12)?;
    let head = input
        .peek(12)
        .ok_or_else(|| Fault::truncated(off, "pcapng block", 12, avail))?;
    let be = match u32_at(head, 8, false) {
        Some(BYTE_ORDER_MAGIC) => false,
        Some(m) if m.swap_bytes() == BYTE_ORDER_MAGIC => true,
        Some(m) => {
            return Err(Fault::bad_block(
                off,
                SHB,
                format!("byte-order magic 0x{m:08x} is neither 0x1a2b3c4d nor its byte swap"),
            ))
        }
        None => return Err(Fault::truncated(off, "pcapng block", 12, avail)),
    };
    let len = u32_at(head, 4, be).unwrap_or(0);
    check_len(off, SHB, len, SHB_MIN_LEN)?;
    let block = load_block(input, off, len)?;
    check_trailer(off, SHB, block, len, be)?;
    let major = u16_at(block, 12, be).unwrap_or(0);
    let minor = u16_at(block, 14, be).unwrap_or(0);
    if major != 1 {
        return Err(Fault::new(
            off,
            ErrorKind::UnsupportedVersion {
                format: "pcapng",
                major,
                minor,
            },
        ));
    }
    st.big_endian = be;
    st.interfaces.clear();
    st.sections = st.sections.saturating_add(1);
    input.start += len as usize;
    Ok(())
}

/// Checks a block length for a block loaded whole: shape and upper bound.
fn check_len(off: u64, block_type: u32, len: u32, min: u32) -> Result<(), Fault> {
    check_shape(off, block_type, len, min)?;
    if len > MAX_BLOCK_LEN {
        return Err(Fault::new(
            off,
            ErrorKind::AbsurdLength {
                len: len.into(),
                why: "more than the maximum block length",
                limit: MAX_BLOCK_LEN.into(),
            },
        ));
    }
    Ok(())
}

/// Checks that a block length is at least `min` and a multiple of 4.
fn check_shape(off: u64, block_type: u32, len: u32, min: u32) -> Result<(), Fault> {
    if len < min {
        return Err(Fault::bad_block(
            off,
            block_type,
            format!("block length {len} is shorter than the minimum {min}"),
        ));
    }
    if !len.is_multiple_of(4) {
        return Err(Fault::bad_block(
            off,
            block_type,
            format!("block length {len} is not a multiple of 4"),
        ));
    }
    Ok(())
}

/// Makes the whole block of `len` bytes available and returns it.
fn load_block(input: &mut Input, off: u64, len: u32) -> Result<&[u8], Fault> {
    let need = len as usize;
    let avail = input.fill(need)?;
    input
        .peek(need)
        .ok_or_else(|| Fault::truncated(off, "pcapng block", len.into(), avail))
}

fn check_trailer(off: u64, block_type: u32, block: &[u8], len: u32, be: bool) -> Result<(), Fault> {
    let trailer = block
        .len()
        .checked_sub(4)
        .and_then(|at| u32_at(block, at, be))
        .unwrap_or(0);
    if trailer != len {
        return Err(Fault::bad_block(
            off,
            block_type,
            format!("trailing block length {trailer} differs from the leading {len}"),
        ));
    }
    Ok(())
}

/// Parses an Interface Description Block body (after type and length, before the trailer).
fn parse_idb(off: u64, body: &[u8], be: bool) -> Result<Interface, Fault> {
    let bad = |reason: String| Fault::bad_block(off, IDB, reason);
    let linktype = u16_at(body, 0, be).ok_or_else(|| bad("too short for an interface".into()))?;
    let snaplen = u32_at(body, 4, be).ok_or_else(|| bad("too short for an interface".into()))?;
    let mut tsresol = 6u8;
    let mut tsoffset = 0i64;
    let mut at = 8usize;
    // Options: code, length, value padded to 4 bytes; opt_endofopt or the block end closes them.
    while let (Some(code), Some(olen)) = (u16_at(body, at, be), u16_at(body, at + 2, be)) {
        if code == OPT_END {
            break;
        }
        let vstart = at + 4;
        let vend = vstart + usize::from(olen);
        let value = body
            .get(vstart..vend)
            .ok_or_else(|| bad(format!("option {code} of length {olen} overruns the block")))?;
        match code {
            OPT_IF_TSRESOL => {
                if let Some(&r) = value.first() {
                    tsresol = r;
                }
            }
            OPT_IF_TSOFFSET => {
                if let Some(v) = u64_at(value, 0, be) {
                    tsoffset = v as i64;
                }
            }
            _ => {}
        }
        at = vend.next_multiple_of(4);
    }
    if TsScale::from_tsresol(tsresol).is_none() {
        return Err(bad(format!(
            "if_tsresol 10^-{tsresol} is finer than this reader supports (10^-19)"
        )));
    }
    Ok(Interface::new(
        LinkType(u32::from(linktype)),
        snaplen,
        tsresol,
        tsoffset,
    ))
}

fn absurd_caplen(off: u64, caplen: u32) -> Result<(), Fault> {
    if caplen > MAX_PACKET_LEN {
        return Err(Fault::new(
            off,
            ErrorKind::AbsurdLength {
                len: caplen.into(),
                why: "more than the maximum packet size",
                limit: MAX_PACKET_LEN.into(),
            },
        ));
    }
    Ok(())
}

/// Walks blocks until the next packet; `None` at a clean end of input (block boundary).
pub(crate) fn next_record(input: &mut Input, st: &mut NgState) -> Result<Option<Meta>, Fault> {
    loop {
        let off = input.pos();
        let mut avail = input.avail();
        if avail < 8 {
            avail = input.fill(8)?;
            if avail == 0 {
                return Ok(None);
            }
        }
        let be = st.big_endian;
        let (btype, len) = match input.peek(8) {
            Some(h) => (u32_at(h, 0, be).unwrap_or(0), u32_at(h, 4, be).unwrap_or(0)),
            None => return Err(Fault::truncated(off, "pcapng block", 8, avail)),
        };
        match btype {
            SHB => read_shb(input, st)?,
            EPB | SPB | PB | IDB => {
                let min = match btype {
                    EPB | PB => 32,
                    SPB => 16,
                    _ => 20,
                };
                check_len(off, btype, len, min)?;
                let block = load_block(input, off, len)?;
                check_trailer(off, btype, block, len, be)?;
                let body = block.get(8..block.len() - 4).unwrap_or_default();
                if btype == IDB {
                    let iface = parse_idb(off, body, be)?;
                    st.interfaces.push(iface);
                    input.start += len as usize;
                    continue;
                }
                let (if_id, units, caplen, orig_len, data_at) = match btype {
                    EPB => {
                        let hi = u32_at(body, 4, be).unwrap_or(0);
                        let lo = u32_at(body, 8, be).unwrap_or(0);
                        (
                            u32_at(body, 0, be).unwrap_or(0),
                            Some((u64::from(hi) << 32) | u64::from(lo)),
                            u32_at(body, 12, be).unwrap_or(0),
                            u32_at(body, 16, be).unwrap_or(0),
                            20usize,
                        )
                    }
                    PB => {
                        let hi = u32_at(body, 4, be).unwrap_or(0);
                        let lo = u32_at(body, 8, be).unwrap_or(0);
                        (
                            u32::from(u16_at(body, 0, be).unwrap_or(0)),
                            Some((u64::from(hi) << 32) | u64::from(lo)),
                            u32_at(body, 12, be).unwrap_or(0),
                            u32_at(body, 16, be).unwrap_or(0),
                            20usize,
                        )
                    }
                    _ => {
                        // Simple Packet Block: interface 0, no timestamp, captured length
                        // = min(original length, snap length, what the block holds).
                        let orig = u32_at(body, 0, be).unwrap_or(0);
                        let room = u32::try_from(body.len() - 4).unwrap_or(u32::MAX);
                        let snap = st.interfaces.first().map_or(0, |i| i.snaplen);
                        let mut cap = orig.min(room);
                        if snap != 0 {
                            cap = cap.min(snap);
                        }
                        (0, None, cap, orig, 4usize)
                    }
                };
                let Some(iface) = st.interfaces.get(if_id as usize) else {
                    return Err(Fault::bad_block(
                        off,
                        btype,
                        format!(
                            "interface id {if_id} but the section describes {} interface(s)",
                            st.interfaces.len()
                        ),
                    ));
                };
                absurd_caplen(off, caplen)?;
                let data_len = caplen as usize;
                if data_at + data_len > body.len() {
                    return Err(Fault::bad_block(
                        off,
                        btype,
                        format!("captured length {caplen} overruns the block of length {len}"),
                    ));
                }
                let ts = match units {
                    Some(u) => iface.ts_ns(u),
                    None => st.last_ts,
                };
                st.last_ts = ts;
                let data_start = input.start + 8 + data_at;
                return Ok(Some(Meta {
                    ts,
                    linktype: iface.linktype,
                    orig_len,
                    interface: if_id,
                    data_start,
                    data_end: data_start + data_len,
                    next: input.start + len as usize,
                }));
            }
            _ => {
                check_shape(off, btype, len, 12)?;
                let skipped = input.skip(u64::from(len) - 4)?;
                if skipped < u64::from(len) - 4 {
                    return Err(Fault::truncated(
                        off,
                        "pcapng block",
                        len.into(),
                        skipped as usize,
                    ));
                }
                let tail = input.fill(4)?;
                let trailer = input.peek(4).and_then(|t| u32_at(t, 0, be));
                match trailer {
                    None => {
                        return Err(Fault::truncated(
                            off,
                            "pcapng block",
                            len.into(),
                            (skipped as usize).saturating_add(tail),
                        ))
                    }
                    Some(t) if t != len => {
                        return Err(Fault::bad_block(
                            off,
                            btype,
                            format!("trailing block length {t} differs from the leading {len}"),
                        ))
                    }
                    Some(_) => input.start += 4,
                }
            }
        }
    }
}
