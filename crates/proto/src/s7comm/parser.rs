//! Pure S7comm decoding, zero-copy over byte slices: the S7 header, request items
//! (S7ANY addresses), data items, userdata parameters, block file names, PI
//! services, SZL records and S7 timestamps. Nothing here keeps state or panics;
//! pairing and the event record live in `state.rs` / `record.rs`.
//!
//! Layout (all numbers big-endian):
//! - header: `32 rosctr redundancy(2) pdu_ref(2) param_len(2) data_len(2)`, plus
//!   `error_class error_code` for ack (2) and ack-data (3);
//! - request item (S7ANY): `12 0a 10 transport_size count(2) db(2) area address(3)`,
//!   the address in bits (byte * 8 + bit);
//! - data item: `return_code transport_size length(2) data [fill]`, the length in
//!   bits for transport sizes 3, 4, 5 and in bytes otherwise, a fill byte after an
//!   odd length unless it is the last item;
//! - userdata parameter: `00 01 12 len method type|group subfunction sequence`
//!   `[data_unit_ref last_data_unit error(2)]`.
use thiserror::Error;

/// Protocol id of S7comm.
pub const PROTOCOL_ID: u8 = 0x32;

/// The S7 header.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Header {
    pub rosctr: u8,
    pub redundancy: u16,
    pub pdu_ref: u16,
    pub param_len: u16,
    pub data_len: u16,
    pub error_class: Option<u8>,
    pub error_code: Option<u8>,
}

/// One S7 PDU split into its parts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Pdu<'a> {
    pub header: Header,
    pub param: &'a [u8],
    pub data: &'a [u8],
    /// The declared lengths disagree with the bytes present (the parts were clipped
    /// to what is there, or bytes follow the data).
    pub issue: Option<PduIssue>,
}

/// A PDU that cannot be decoded at all.
#[derive(Clone, Copy, Debug, Error, PartialEq, Eq)]
pub enum PduError {
    #[error("protocol id {0:#04x}, expected 0x32")]
    NotS7(u8),
    #[error("S7 PDU of {0} bytes is shorter than its header")]
    TooShort(usize),
    #[error("unknown ROSCTR {0}")]
    UnknownRosctr(u8),
}

impl PduError {
    pub fn kind(&self) -> &'static str {
        match self {
            PduError::NotS7(_) => "bad_protocol_id",
            PduError::TooShort(_) => "truncated_pdu",
            PduError::UnknownRosctr(_) => "unknown_rosctr",
        }
    }
}

/// A length disagreement inside a PDU that could still be decoded.
#[derive(Clone, Copy, Debug, Error, PartialEq, Eq)]
pub enum PduIssue {
    #[error("parameter and data lengths say {declared} bytes but {present} are present")]
    Truncated { declared: usize, present: usize },
    #[error("{0} bytes after the declared parameter and data")]
    Trailing(usize),
}

impl PduIssue {
    pub fn kind(&self) -> &'static str {
        match self {
            PduIssue::Truncated { .. } => "length_mismatch",
            PduIssue::Trailing(_) => "trailing_bytes",
        }
    }
}

pub(crate) fn be16(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes([*b.get(at)?, *b.get(at + 1)?]))
}

pub(crate) fn be24(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes([
        0,
        *b.get(at)?,
        *b.get(at + 1)?,
        *b.get(at + 2)?,
    ]))
}

pub(crate) fn be32(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes([
        *b.get(at)?,
        *b.get(at + 1)?,
        *b.get(at + 2)?,
        *b.get(at + 3)?,
    ]))
}

/// Splits an S7 PDU (the user data of a COTP TSDU) into header, parameter and data.
pub fn parse_pdu(b: &[u8]) -> Result<Pdu<'_>, PduError> {
    let Some(&pid) = b.first() else {
        return Err(PduError::TooShort(0));
    };
    if pid != PROTOCOL_ID {
        return Err(PduError::NotS7(pid));
    }
    let rosctr = b.get(1).copied().ok_or(PduError::TooShort(b.len()))?;
    let hlen = match rosctr {
        1 | 7 => 10,
        2 | 3 => 12,
        other => return Err(PduError::UnknownRosctr(other)),
    };
    if b.len() < hlen {
        return Err(PduError::TooShort(b.len()));
    }
    let header = Header {
        rosctr,
        redundancy: be16(b, 2).unwrap_or(0),
        pdu_ref: be16(b, 4).unwrap_or(0),
        param_len: be16(b, 6).unwrap_or(0),
        data_len: be16(b, 8).unwrap_or(0),
        error_class: (hlen == 12).then(|| b.get(10).copied()).flatten(),
        error_code: (hlen == 12).then(|| b.get(11).copied()).flatten(),
    };
    let body = b.get(hlen..).unwrap_or_default();
    let plen = usize::from(header.param_len);
    let dlen = usize::from(header.data_len);
    let param = body.get(..plen).unwrap_or(body);
    let data_all = body.get(param.len()..).unwrap_or_default();
    let data = data_all.get(..dlen).unwrap_or(data_all);
    let declared = plen + dlen;
    let issue = if body.len() < declared {
        Some(PduIssue::Truncated {
            declared,
            present: body.len(),
        })
    } else if body.len() > declared {
        Some(PduIssue::Trailing(body.len() - declared))
    } else {
        None
    };
    Ok(Pdu {
        header,
        param,
        data,
        issue,
    })
}

/// A request item (parameter part of read var / write var).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ItemSpec<'a> {
    /// S7ANY addressing.
    Any {
        transport_size: u8,
        count: u16,
        db: u16,
        area: u8,
        /// Address in bits (byte * 8 + bit) for memory areas; the number for
        /// timers and counters.
        address: u32,
    },
    /// Another syntax (symbolic, NCK, DB read...): kept opaque.
    Other { syntax: u8, spec: &'a [u8] },
}

/// Iterates over the request items of a read var / write var parameter (the bytes
/// after the function code and item count).
#[derive(Clone, Debug)]
pub struct ItemSpecs<'a> {
    rest: &'a [u8],
    left: u8,
}

impl<'a> ItemSpecs<'a> {
    pub fn new(param: &'a [u8]) -> ItemSpecs<'a> {
        ItemSpecs {
            left: param.get(1).copied().unwrap_or(0),
            rest: param.get(2..).unwrap_or_default(),
        }
    }
    /// Items announced but not decodable (the parameter ended early or an item
    /// spec was malformed).
    pub fn missing(&self) -> u8 {
        self.left
    }
}

impl<'a> Iterator for ItemSpecs<'a> {
    type Item = ItemSpec<'a>;
    fn next(&mut self) -> Option<ItemSpec<'a>> {
        if self.left == 0 {
            return None;
        }
        let (&kind, &len) = (self.rest.first()?, self.rest.get(1)?);
        let end = 2 + usize::from(len);
        let spec = self.rest.get(2..end)?;
        if kind != 0x12 || spec.is_empty() {
            return None;
        }
        self.rest = self.rest.get(end..).unwrap_or_default();
        self.left -= 1;
        let syntax = spec.first().copied().unwrap_or(0);
        if syntax == 0x10 && spec.len() >= 10 {
            return Some(ItemSpec::Any {
                transport_size: spec.get(1).copied().unwrap_or(0),
                count: be16(spec, 2).unwrap_or(0),
                db: be16(spec, 4).unwrap_or(0),
                area: spec.get(6).copied().unwrap_or(0),
                address: be24(spec, 7).unwrap_or(0) & 0x00FF_FFFF,
            });
        }
        Some(ItemSpec::Other { syntax, spec })
    }
}

/// One data item (read var response, write var request, userdata data part).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DataItem<'a> {
    pub return_code: u8,
    pub transport_size: u8,
    /// The data, `length` converted to bytes.
    pub data: &'a [u8],
    /// The item claimed more bytes than present (data clipped).
    pub clipped: bool,
}

/// Bytes of data a data item's length field announces.
pub fn data_bytes(transport_size: u8, length: u16) -> usize {
    match transport_size {
        0x03..=0x05 => usize::from(length).div_ceil(8),
        _ => usize::from(length),
    }
}

/// Iterates over `count` data items.
#[derive(Clone, Debug)]
pub struct DataItems<'a> {
    rest: &'a [u8],
    left: usize,
}

impl<'a> DataItems<'a> {
    pub fn new(data: &'a [u8], count: usize) -> DataItems<'a> {
        DataItems {
            rest: data,
            left: count,
        }
    }
    /// Items announced but not present.
    pub fn missing(&self) -> usize {
        self.left
    }
}

impl<'a> Iterator for DataItems<'a> {
    type Item = DataItem<'a>;
    fn next(&mut self) -> Option<DataItem<'a>> {
        if self.left == 0 {
            return None;
        }
        let (&rc, &ts) = (self.rest.first()?, self.rest.get(1)?);
        let len = be16(self.rest, 2)?;
        self.left -= 1;
        let n = data_bytes(ts, len);
        let body = self.rest.get(4..).unwrap_or_default();
        let data = body.get(..n).unwrap_or(body);
        let clipped = data.len() < n;
        let fill = usize::from(n % 2 == 1 && self.left > 0);
        self.rest = body.get(n + fill..).unwrap_or_default();
        Some(DataItem {
            return_code: rc,
            transport_size: ts,
            data,
            clipped,
        })
    }
}

/// The userdata parameter.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UserdataParam {
    /// 0x11 request, 0x12 response.
    pub method: u8,
    /// High nibble of the type/group byte (0 push, 4 request, 8 response...).
    pub kind: u8,
    /// Function group (low nibble).
    pub group: u8,
    pub subfunction: u8,
    pub sequence: u8,
    pub data_unit_ref: Option<u8>,
    /// `Some(false)`: more data units follow.
    pub last_data_unit: Option<bool>,
    pub error: Option<u16>,
}

/// A userdata parameter that cannot be decoded.
#[derive(Clone, Copy, Debug, Error, PartialEq, Eq)]
pub enum UserdataError {
    #[error("userdata parameter of {0} bytes is too short")]
    TooShort(usize),
    #[error("userdata parameter head {0:02x?}, expected 00 01 12")]
    BadHead([u8; 3]),
}

/// Decodes a userdata parameter.
pub fn parse_userdata_param(p: &[u8]) -> Result<UserdataParam, UserdataError> {
    let (Some(head), Some(tg), Some(&sub), Some(&seq), Some(&method)) =
        (p.get(..3), p.get(5), p.get(6), p.get(7), p.get(4))
    else {
        return Err(UserdataError::TooShort(p.len()));
    };
    if head != [0x00, 0x01, 0x12] {
        let mut h = [0u8; 3];
        h.copy_from_slice(head);
        return Err(UserdataError::BadHead(h));
    }
    let long = p.get(3).copied().unwrap_or(0) >= 8 && p.len() >= 12;
    Ok(UserdataParam {
        method,
        kind: tg >> 4,
        group: tg & 0x0F,
        subfunction: sub,
        sequence: seq,
        data_unit_ref: if long { p.get(8).copied() } else { None },
        last_data_unit: if long {
            p.get(9).map(|&b| b == 0)
        } else {
            None
        },
        error: if long { be16(p, 10) } else { None },
    })
}

/// The data part of a userdata PDU: `return_code transport_size length(2) data`.
pub fn userdata_data(d: &[u8]) -> Option<DataItem<'_>> {
    let (&rc, &ts) = (d.first()?, d.get(1)?);
    let len = usize::from(be16(d, 2)?);
    let body = d.get(4..).unwrap_or_default();
    let data = body.get(..len).unwrap_or(body);
    Some(DataItem {
        return_code: rc,
        transport_size: ts,
        data,
        clipped: data.len() < len,
    })
}

/// A block file name: `_0A00001P` (file id, block type, number, destination file
/// system) or the 8-byte form without the file id used in PI parameters.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BlockName<'a> {
    pub file_id: Option<u8>,
    pub block_type: &'a [u8],
    pub number: Option<u32>,
    pub filesystem: Option<u8>,
}

/// Decodes a block file name (`None` when it has no block type).
pub fn parse_block_name(name: &[u8]) -> Option<BlockName<'_>> {
    let (file_id, rest) = match name.first() {
        Some(&b'_') => (Some(b'_'), name.get(1..)?),
        _ => (None, name),
    };
    let block_type = rest.get(..2)?;
    if !block_type.iter().all(u8::is_ascii_hexdigit) {
        return None;
    }
    let number = rest
        .get(2..7)
        .and_then(|d| std::str::from_utf8(d).ok())
        .and_then(|s| s.parse::<u32>().ok());
    Some(BlockName {
        file_id,
        block_type,
        number,
        filesystem: rest.get(7).copied(),
    })
}

/// The block control part of an up/download job or ack-data parameter.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BlockControl<'a> {
    pub status: Option<u8>,
    pub upload_id: Option<u32>,
    pub error_code: Option<u16>,
    pub filename: Option<&'a [u8]>,
    /// Load memory length (request download).
    pub load_length: Option<u32>,
    /// MC7 code length (request download).
    pub mc7_length: Option<u32>,
    /// Block length announced by a start upload ack-data.
    pub block_length: Option<u32>,
}

fn ascii_number(b: &[u8]) -> Option<u32> {
    std::str::from_utf8(b).ok()?.trim().parse().ok()
}

/// Decodes the parameter of an up/download job (`response == false`) or ack-data.
pub fn parse_block_control(p: &[u8], response: bool) -> BlockControl<'_> {
    let func = p.first().copied().unwrap_or(0);
    let mut c = BlockControl {
        status: p.get(1).copied(),
        ..BlockControl::default()
    };
    if response {
        if func == 0x1D {
            c.upload_id = be32(p, 4);
            let n = usize::from(p.get(8).copied().unwrap_or(0));
            c.block_length = p.get(9..9 + n).and_then(ascii_number);
        }
        return c;
    }
    if matches!(func, 0x1C | 0x1F) {
        c.error_code = be16(p, 2);
    }
    if matches!(func, 0x1D..=0x1F) {
        c.upload_id = be32(p, 4);
    }
    if matches!(func, 0x1A..=0x1D) {
        if let Some(&n) = p.get(8) {
            let end = 9 + usize::from(n);
            c.filename = p.get(9..end);
            if func == 0x1A && c.filename.is_some() {
                // length part 2: a length byte, one unknown char, then the load
                // memory and MC7 code lengths as 6 ASCII digits each
                c.load_length = p.get(end + 2..end + 8).and_then(ascii_number);
                c.mc7_length = p.get(end + 8..end + 14).and_then(ascii_number);
            }
        }
    }
    c
}

/// A program invocation service (job 0x28) or PLC stop (job 0x29).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PiService<'a> {
    pub name: &'a [u8],
    /// The parameter block (0x28 only).
    pub params: &'a [u8],
}

/// Decodes the parameter of a PI service or PLC stop job.
pub fn parse_pi_service(p: &[u8]) -> Option<PiService<'_>> {
    match p.first()? {
        0x28 => {
            let plen = usize::from(be16(p, 8)?);
            let params = p.get(10..10 + plen)?;
            let nlen = usize::from(*p.get(10 + plen)?);
            let name = p.get(11 + plen..11 + plen + nlen)?;
            Some(PiService { name, params })
        }
        0x29 => {
            let nlen = usize::from(*p.get(6)?);
            let name = p.get(7..7 + nlen)?;
            Some(PiService { name, params: &[] })
        }
        _ => None,
    }
}

/// The block names of an `_INSE` / `_DELE` parameter block: a count, one unknown
/// byte, then 8-byte names (`0A00001P`).
pub fn pi_block_names(params: &[u8]) -> impl Iterator<Item = BlockName<'_>> {
    let n = usize::from(params.first().copied().unwrap_or(0));
    params
        .get(2..)
        .unwrap_or_default()
        .chunks_exact(8)
        .take(n)
        .filter_map(parse_block_name)
}

fn bcd(b: u8) -> Option<u32> {
    let (hi, lo) = (b >> 4, b & 0x0F);
    (hi < 10 && lo < 10).then(|| u32::from(hi) * 10 + u32::from(lo))
}

/// An S7 timestamp (10 bytes: reserved, year hi, year lo, month, day, hour, minute,
/// second BCD, then 3 BCD digits of milliseconds and the weekday) as
/// `YYYY-MM-DDTHH:MM:SS.mmm`. The century comes from the two-digit year (< 90:
/// 20xx), as the first year byte is not reliable.
pub fn parse_s7_time(b: &[u8]) -> Option<String> {
    let t = b.get(..10)?;
    let y = bcd(t[2])?;
    let year = if y < 90 { 2000 + y } else { 1900 + y };
    let (mo, d, h, mi, s) = (bcd(t[3])?, bcd(t[4])?, bcd(t[5])?, bcd(t[6])?, bcd(t[7])?);
    let ms = bcd(t[8])? * 10 + u32::from(t[9] >> 4).min(9);
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || s > 59 {
        return None;
    }
    Some(format!(
        "{year:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}.{ms:03}"
    ))
}

/// The header of an SZL response: id, index, record length and count, records.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SzlData<'a> {
    pub id: u16,
    pub index: u16,
    pub record_length: u16,
    pub record_count: u16,
    pub records: &'a [u8],
}

/// Decodes SZL response data (the first or only data unit, or the reassembled ones).
pub fn parse_szl(d: &[u8]) -> Option<SzlData<'_>> {
    Some(SzlData {
        id: be16(d, 0)?,
        index: be16(d, 2)?,
        record_length: be16(d, 4)?,
        record_count: be16(d, 6)?,
        records: d.get(8..).unwrap_or_default(),
    })
}

impl<'a> SzlData<'a> {
    /// The complete records present (at most `record_count`).
    pub fn records(&self) -> impl Iterator<Item = &'a [u8]> {
        let len = usize::from(self.record_length).max(1);
        let n = if self.record_length == 0 {
            0
        } else {
            usize::from(self.record_count)
        };
        self.records.chunks_exact(len).take(n)
    }
}

/// Text of a fixed-width string field: NULs and surrounding spaces dropped, `None`
/// when empty or not printable.
pub fn text_field(b: &[u8]) -> Option<String> {
    let end = b.iter().position(|&c| c == 0).unwrap_or(b.len());
    let b = b.get(..end)?;
    if !b.iter().all(|c| (0x20..0x7f).contains(c)) {
        return None;
    }
    let s = String::from_utf8_lossy(b).trim().to_string();
    (!s.is_empty()).then_some(s)
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
    fn write_var_request_snap7() {
        // s7comm-icsnpp-snap7.pcap frame 53 (S7 part)
        let b = hex("320100001a00003e00740505120a10040010000083000000120a10020010000081000000120a10020010000082000000120a101d000800001d000000120a101c000800001c00000000040100addeaddeaddeaddeaddeaddeaddeaddeefbeefbeefbeefbeefbeefbeefbeefbe00040080aaaaaaaaaaaaaaaabbbbbbbbbbbbbbbb00040080bbbbbbbbbbbbbbbbaddeaddeaddeadde00090010efbeefbeefbeefbeefbeefbeefbeefbe00090010fecafecafecafecafecafecafecafeca");
        let pdu = parse_pdu(&b).unwrap();
        assert_eq!(pdu.header.rosctr, 1);
        assert_eq!(pdu.header.pdu_ref, 0x1a00);
        assert_eq!(pdu.issue, None);
        let specs: Vec<_> = ItemSpecs::new(pdu.param).collect();
        assert_eq!(specs.len(), 5);
        assert_eq!(
            specs[0],
            ItemSpec::Any {
                transport_size: 4,
                count: 16,
                db: 0,
                area: 0x83,
                address: 0
            }
        );
        assert!(matches!(
            specs[3],
            ItemSpec::Any {
                area: 0x1d,
                transport_size: 0x1d,
                ..
            }
        ));
        let items: Vec<_> = DataItems::new(pdu.data, 5).collect();
        assert_eq!(items.len(), 5);
        assert_eq!(items[0].data.len(), 32);
        assert_eq!(items[1].data.len(), 16);
        assert_eq!(items[4].transport_size, 9);
        assert_eq!(items[4].data.len(), 16);
        assert!(!items[4].clipped);
    }

    #[test]
    fn userdata_and_time() {
        // frame 46: read clock response
        let b = hex("320700001600000c000e000112081287010200000000ff09000a00191602081451379162");
        let pdu = parse_pdu(&b).unwrap();
        let p = parse_userdata_param(pdu.param).unwrap();
        assert_eq!((p.kind, p.group, p.subfunction, p.sequence), (8, 7, 1, 2));
        assert_eq!(p.last_data_unit, Some(true));
        assert_eq!(p.error, Some(0));
        let d = userdata_data(pdu.data).unwrap();
        assert_eq!(d.return_code, 0xff);
        assert_eq!(
            parse_s7_time(d.data).as_deref(),
            Some("2016-02-08T14:51:37.916")
        );
    }

    #[test]
    fn block_names_and_pi() {
        let n = parse_block_name(b"_0A00001P").unwrap();
        assert_eq!(n.block_type, b"0A");
        assert_eq!(n.number, Some(1));
        assert_eq!(n.filesystem, Some(b'P'));
        // frame 58 of s7comm-iti-downloading-block-db1.pcap
        let p = hex("28000000000000fd000a01003041303030303150055f494e5345");
        let pi = parse_pi_service(&p).unwrap();
        assert_eq!(pi.name, b"_INSE");
        let names: Vec<_> = pi_block_names(pi.params).collect();
        assert_eq!(names.len(), 1);
        assert_eq!(names[0].number, Some(1));
        let stop = hex("29000000000009505f50524f4752414d");
        assert_eq!(parse_pi_service(&stop).unwrap().name, b"P_PROGRAM");
        // request download of DB1 (frame 43)
        let rd = hex("1a00010000000000095f30413030303031500d31303030353030303030343030");
        let c = parse_block_control(&rd, false);
        assert_eq!(c.filename, Some(&b"_0A00001P"[..]));
        assert_eq!(c.load_length, Some(500));
        assert_eq!(c.mc7_length, Some(400));
    }

    #[test]
    fn bad_pdus() {
        assert_eq!(parse_pdu(&[0x72, 1]), Err(PduError::NotS7(0x72)));
        assert_eq!(parse_pdu(&[0x32, 1, 0]), Err(PduError::TooShort(3)));
        assert_eq!(parse_pdu(&[0x32, 9]), Err(PduError::UnknownRosctr(9)));
        let b = hex("3201000000010004000004");
        let p = parse_pdu(&b).unwrap();
        assert!(matches!(
            p.issue,
            Some(PduIssue::Truncated {
                declared: 4,
                present: 1
            })
        ));
        assert_eq!(p.param, &[4]);
        assert!(parse_s7_time(&hex("00191613081451379162")).is_none());
    }
}
