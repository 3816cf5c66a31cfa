//! Pure Modbus/TCP decoding: the MBAP header and every public PDU, zero-copy over
//! byte slices. Nothing here keeps state, allocates or panics; the stream framing
//! and request/response pairing live in `state.rs`.
//!
//! Decoding is lenient where the frame boundary is known (MBAP length): a PDU whose
//! byte count disagrees with its quantity or with the bytes present is still decoded
//! (never reading past the frame) and the disagreement is reported as a [`PduIssue`].
//! Only a PDU too short for its fixed fields is an error ([`PduError`]).
use crate::Direction;
use thiserror::Error;

/// Bytes of the MBAP header including the unit id.
pub const MBAP_LEN: usize = 7;
/// Smallest valid MBAP length field (unit id + function code).
pub const MIN_LENGTH: u16 = 2;
/// Largest valid MBAP length field (unit id + 253-byte PDU).
pub const MAX_LENGTH: u16 = 254;
/// Largest MBAP length field still framed (with a `bad_length` anomaly) instead of
/// resynchronising: real devices exceed 254 slightly (Schneider UMAS sends 255).
pub const MAX_TOLERATED_LENGTH: u16 = 260;
/// Largest frame the parser buffers.
pub const MAX_FRAME: usize = 6 + MAX_TOLERATED_LENGTH as usize;
/// Largest PDU (function code + data) of a valid frame.
pub const MAX_PDU_LEN: usize = 253;

/// The MBAP header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Mbap {
    pub transaction_id: u16,
    pub protocol_id: u16,
    /// Bytes that follow the length field (unit id + PDU).
    pub length: u16,
    pub unit_id: u8,
}

impl Mbap {
    /// Reads the 7 header bytes (no validation); `None` when fewer are given.
    pub fn parse(b: &[u8]) -> Option<Mbap> {
        Some(Mbap {
            transaction_id: be16(b, 0)?,
            protocol_id: be16(b, 2)?,
            length: be16(b, 4)?,
            unit_id: *b.get(6)?,
        })
    }

    /// Length of the whole frame (header + PDU).
    pub fn frame_len(&self) -> usize {
        6 + usize::from(self.length)
    }
}

/// A header that cannot start a Modbus/TCP frame.
#[derive(Clone, Copy, Debug, Error, PartialEq, Eq)]
pub enum HeaderError {
    #[error("MBAP protocol id {0:#06x}, expected 0")]
    BadProtocolId(u16),
    #[error("MBAP length {0} outside 2..=254")]
    BadLength(u16),
}

impl HeaderError {
    /// The anomaly kind of this error.
    pub fn kind(&self) -> &'static str {
        match self {
            HeaderError::BadProtocolId(_) => "bad_protocol_id",
            HeaderError::BadLength(_) => "bad_length",
        }
    }
}

/// Checks the first 6 header bytes. `Ok(None)`: fewer than 6 bytes given;
/// `Ok(Some(n))`: a frame of `n` bytes starts here (lengths 255..=260 are accepted
/// and left for the caller to report).
pub fn check_header(b: &[u8]) -> Result<Option<usize>, HeaderError> {
    let (Some(pid), Some(len)) = (be16(b, 2), be16(b, 4)) else {
        return Ok(None);
    };
    if pid != 0 {
        return Err(HeaderError::BadProtocolId(pid));
    }
    if !(MIN_LENGTH..=MAX_TOLERATED_LENGTH).contains(&len) {
        return Err(HeaderError::BadLength(len));
    }
    Ok(Some(6 + usize::from(len)))
}

/// Result of [`plausible_start`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Plausible {
    Yes,
    No,
    /// More bytes are needed to decide (at most 9 are ever looked at).
    NeedMore,
}

/// Strict test that `b` starts a well-formed Modbus/TCP frame travelling in `dir`:
/// protocol id 0, length 2..=254, a public function code (or UMAS, 90) and a length
/// that fits that function. Used to resynchronise after garbage and by the content
/// probe; looks at no more than the first 9 bytes.
pub fn plausible_start(dir: Direction, b: &[u8]) -> Plausible {
    match check_header(b) {
        Err(_) => return Plausible::No,
        Ok(None) => return Plausible::NeedMore,
        Ok(Some(_)) => {}
    }
    let (Some(len), Some(&fc)) = (be16(b, 4), b.get(7)) else {
        return Plausible::NeedMore;
    };
    if len > MAX_LENGTH {
        return Plausible::No;
    }
    let ok = match dir {
        Direction::ToServer => request_len_ok(fc, len),
        // An exception reply is well structured whatever the function: accept it
        // for any function code when its length and exception code are right.
        Direction::ToClient if fc & 0x80 != 0 => {
            if len != 3 {
                false
            } else {
                match b.get(8) {
                    None => return Plausible::NeedMore,
                    Some(code) => matches!(code, 1..=8 | 10 | 11),
                }
            }
        }
        Direction::ToClient => response_len_ok(fc, len),
    };
    if ok {
        Plausible::Yes
    } else {
        Plausible::No
    }
}

/// Test used when resynchronising a stream: [`plausible_start`], or else (when
/// `relaxed`) a header with protocol id 0, length 2..=254 and a function code that is
/// neither public nor 0 (unknown, user-defined: their lengths cannot be checked) that
/// the *next* header confirms (protocol id 0 and a valid length right after this
/// frame). Looks at no more than [`MAX_FRAME`] bytes.
pub fn resync_start(dir: Direction, b: &[u8], relaxed: bool) -> Plausible {
    match plausible_start(dir, b) {
        Plausible::No if relaxed => {}
        other => return other,
    }
    let (Ok(Some(n)), Some(&fc)) = (check_header(b), b.get(7)) else {
        return Plausible::No;
    };
    let base = fc & 0x7f;
    let fc_ok = base != 0
        && base != 90
        && !crate::modbus::names::is_public_function(base)
        && (dir == Direction::ToClient || fc & 0x80 == 0);
    if !fc_ok || n > 6 + usize::from(MAX_LENGTH) || n + 6 > MAX_FRAME {
        return Plausible::No;
    }
    match check_header(b.get(n..).unwrap_or_default()) {
        Ok(None) => Plausible::NeedMore,
        Ok(Some(m)) if m <= 6 + usize::from(MAX_LENGTH) => Plausible::Yes,
        _ => Plausible::No,
    }
}

fn request_len_ok(fc: u8, len: u16) -> bool {
    match fc {
        1..=6 => len == 6,
        7 | 11 | 12 | 17 => len == 2,
        8 => len >= 4,
        15 | 16 => len >= 7,
        20 | 21 | 43 | 90 => len >= 3,
        22 => len == 8,
        23 => len >= 11,
        24 => len == 4,
        _ => false,
    }
}

fn response_len_ok(fc: u8, len: u16) -> bool {
    match fc {
        1..=4 | 17 | 20 | 21 | 23 | 43 | 90 => len >= 3,
        5 | 6 | 11 | 15 | 16 => len == 6,
        7 => len == 3,
        8 => len >= 4,
        12 => len >= 9,
        22 => len == 8,
        24 => len >= 6,
        _ => false,
    }
}

/// Register values: big-endian 16-bit words (an odd trailing byte is dropped).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Registers<'a>(&'a [u8]);

impl<'a> Registers<'a> {
    /// Words of `bytes`, at most `max` of them.
    pub fn new(bytes: &'a [u8], max: usize) -> Registers<'a> {
        let n = (bytes.len() / 2).min(max) * 2;
        Registers(bytes.get(..n).unwrap_or_default())
    }
    /// Number of words.
    pub fn len(&self) -> usize {
        self.0.len() / 2
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
    /// The raw bytes (even length).
    pub fn as_bytes(&self) -> &'a [u8] {
        self.0
    }
    /// The words in order.
    pub fn iter(&self) -> impl Iterator<Item = u16> + 'a {
        self.0.chunks_exact(2).map(|c| {
            u16::from_be_bytes([
                c.first().copied().unwrap_or(0),
                c.get(1).copied().unwrap_or(0),
            ])
        })
    }
}

/// Packed coil / discrete input bits, least significant bit of the first byte first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Bits<'a> {
    bytes: &'a [u8],
    count: usize,
}

impl<'a> Bits<'a> {
    /// The first `count` bits of `bytes` (clamped to the bits present).
    pub fn new(bytes: &'a [u8], count: usize) -> Bits<'a> {
        Bits {
            bytes,
            count: count.min(bytes.len().saturating_mul(8)),
        }
    }
    pub fn len(&self) -> usize {
        self.count
    }
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }
    /// The same bits limited to the first `count`.
    pub fn truncate(self, count: usize) -> Bits<'a> {
        Bits::new(self.bytes, self.count.min(count))
    }
    pub fn as_bytes(&self) -> &'a [u8] {
        self.bytes
    }
    pub fn iter(&self) -> impl Iterator<Item = bool> + 'a {
        let bytes = self.bytes;
        (0..self.count).map(move |i| bytes.get(i / 8).is_some_and(|b| (b >> (i % 8)) & 1 == 1))
    }
}

/// One sub-request of Read File Record (function 20).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FileSubRequest {
    pub reference_type: u8,
    pub file_number: u16,
    pub record_number: u16,
    pub record_length: u16,
}

/// Sub-requests of Read File Record, 7 bytes each.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct FileSubRequests<'a>(&'a [u8]);

impl<'a> FileSubRequests<'a> {
    pub fn iter(&self) -> impl Iterator<Item = FileSubRequest> + 'a {
        self.0.chunks_exact(7).map(|c| FileSubRequest {
            reference_type: c.first().copied().unwrap_or(0),
            file_number: be16(c, 1).unwrap_or(0),
            record_number: be16(c, 3).unwrap_or(0),
            record_length: be16(c, 5).unwrap_or(0),
        })
    }
}

/// One record of Write File Record (function 21), request or echoed response.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FileRecordData<'a> {
    pub reference_type: u8,
    pub file_number: u16,
    pub record_number: u16,
    pub record_length: u16,
    pub data: Registers<'a>,
}

/// Records of Write File Record; iteration stops at the first truncated record.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct FileRecords<'a>(&'a [u8]);

impl<'a> FileRecords<'a> {
    pub fn iter(&self) -> FileRecordsIter<'a> {
        FileRecordsIter { rest: self.0 }
    }
    /// Whether the records exactly fill their bytes.
    fn complete(&self) -> bool {
        let mut it = self.iter();
        while it.next().is_some() {}
        it.rest.is_empty()
    }
}

pub struct FileRecordsIter<'a> {
    rest: &'a [u8],
}

impl<'a> Iterator for FileRecordsIter<'a> {
    type Item = FileRecordData<'a>;
    fn next(&mut self) -> Option<Self::Item> {
        let r = self.rest;
        let reference_type = *r.first()?;
        let file_number = be16(r, 1)?;
        let record_number = be16(r, 3)?;
        let record_length = be16(r, 5)?;
        let n = usize::from(record_length) * 2;
        let data = r.get(7..7 + n)?;
        self.rest = r.get(7 + n..).unwrap_or_default();
        Some(FileRecordData {
            reference_type,
            file_number,
            record_number,
            record_length,
            data: Registers::new(data, usize::MAX),
        })
    }
}

/// One sub-response of Read File Record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FileSubResponse<'a> {
    pub reference_type: u8,
    pub data: Registers<'a>,
}

/// Sub-responses of Read File Record; iteration stops at the first truncated one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct FileSubResponses<'a>(&'a [u8]);

impl<'a> FileSubResponses<'a> {
    pub fn iter(&self) -> FileSubResponsesIter<'a> {
        FileSubResponsesIter { rest: self.0 }
    }
    fn complete(&self) -> bool {
        let mut it = self.iter();
        while it.next().is_some() {}
        it.rest.is_empty()
    }
}

pub struct FileSubResponsesIter<'a> {
    rest: &'a [u8],
}

impl<'a> Iterator for FileSubResponsesIter<'a> {
    type Item = FileSubResponse<'a>;
    fn next(&mut self) -> Option<Self::Item> {
        let r = self.rest;
        let len = usize::from(*r.first()?);
        if len == 0 {
            return None;
        }
        let reference_type = *r.get(1)?;
        let data = r.get(2..1 + len)?;
        self.rest = r.get(1 + len..).unwrap_or_default();
        Some(FileSubResponse {
            reference_type,
            data: Registers::new(data, usize::MAX),
        })
    }
}

/// Objects of a Read Device Identification response: (id, value bytes).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct DeviceObjects<'a>(&'a [u8]);

impl<'a> DeviceObjects<'a> {
    pub fn iter(&self) -> DeviceObjectsIter<'a> {
        DeviceObjectsIter { rest: self.0 }
    }
}

pub struct DeviceObjectsIter<'a> {
    rest: &'a [u8],
}

impl<'a> Iterator for DeviceObjectsIter<'a> {
    type Item = (u8, &'a [u8]);
    fn next(&mut self) -> Option<Self::Item> {
        let r = self.rest;
        let id = *r.first()?;
        let len = usize::from(*r.get(1)?);
        let value = r.get(2..2 + len)?;
        self.rest = r.get(2 + len..).unwrap_or_default();
        Some((id, value))
    }
}

/// A Read Device Identification (function 43, MEI 14) response.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DeviceIdResponse<'a> {
    pub read_code: u8,
    pub conformity_level: u8,
    pub more_follows: u8,
    pub next_object_id: u8,
    pub number_of_objects: u8,
    pub objects: DeviceObjects<'a>,
}

/// A decoded request PDU.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Request<'a> {
    /// Functions 1-4.
    Read {
        function_code: u8,
        address: u16,
        quantity: u16,
    },
    /// Function 5; `value` is 0xFF00 (on) or 0x0000 (off) when well formed.
    WriteSingleCoil { address: u16, value: u16 },
    /// Function 6.
    WriteSingleRegister { address: u16, value: u16 },
    /// Functions 7, 11, 12, 17: no data.
    NoData { function_code: u8 },
    /// Function 8.
    Diagnostics { sub_function: u16, data: &'a [u8] },
    /// Function 15.
    WriteMultipleCoils {
        address: u16,
        quantity: u16,
        byte_count: u8,
        values: Bits<'a>,
    },
    /// Function 16.
    WriteMultipleRegisters {
        address: u16,
        quantity: u16,
        byte_count: u8,
        values: Registers<'a>,
    },
    /// Function 20.
    ReadFileRecord {
        byte_count: u8,
        records: FileSubRequests<'a>,
    },
    /// Function 21.
    WriteFileRecord {
        byte_count: u8,
        records: FileRecords<'a>,
    },
    /// Function 22.
    MaskWriteRegister {
        address: u16,
        and_mask: u16,
        or_mask: u16,
    },
    /// Function 23.
    ReadWriteMultipleRegisters {
        read_address: u16,
        read_quantity: u16,
        write_address: u16,
        write_quantity: u16,
        byte_count: u8,
        values: Registers<'a>,
    },
    /// Function 24.
    ReadFifoQueue { address: u16 },
    /// Function 43, MEI 14.
    ReadDeviceIdentification { read_code: u8, object_id: u8 },
    /// Function 43 with another MEI type (13: CANopen general reference).
    Encapsulated { mei_type: u8, data: &'a [u8] },
    /// Function 90 (Schneider UMAS): session key, UMAS function code, data.
    Umas {
        session: u8,
        code: u8,
        data: &'a [u8],
    },
    /// Any other function code (unknown, user-defined, or a short UMAS PDU).
    Other { function_code: u8, data: &'a [u8] },
}

/// A decoded response PDU.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Response<'a> {
    /// Functions 1, 2: all bits of the data bytes (8 per byte).
    ReadBits { byte_count: u8, bits: Bits<'a> },
    /// Functions 3, 4, 23.
    ReadRegisters {
        byte_count: u8,
        values: Registers<'a>,
    },
    /// Functions 5, 6 (echo of the request).
    WriteSingle { address: u16, value: u16 },
    /// Function 7.
    ReadExceptionStatus { status: u8 },
    /// Function 8.
    Diagnostics { sub_function: u16, data: &'a [u8] },
    /// Function 11.
    GetCommEventCounter { status: u16, event_count: u16 },
    /// Function 12.
    GetCommEventLog {
        byte_count: u8,
        status: u16,
        event_count: u16,
        message_count: u16,
        events: &'a [u8],
    },
    /// Functions 15, 16.
    WriteMultiple { address: u16, quantity: u16 },
    /// Function 17: `data` holds server id, run indicator and additional data.
    ReportServerId { byte_count: u8, data: &'a [u8] },
    /// Function 20.
    ReadFileRecord {
        byte_count: u8,
        records: FileSubResponses<'a>,
    },
    /// Function 21 (echo of the request).
    WriteFileRecord {
        byte_count: u8,
        records: FileRecords<'a>,
    },
    /// Function 22 (echo of the request).
    MaskWriteRegister {
        address: u16,
        and_mask: u16,
        or_mask: u16,
    },
    /// Function 24.
    ReadFifoQueue {
        byte_count: u16,
        fifo_count: u16,
        values: Registers<'a>,
    },
    /// Function 43, MEI 14.
    ReadDeviceIdentification(DeviceIdResponse<'a>),
    /// Function 43 with another MEI type.
    Encapsulated { mei_type: u8, data: &'a [u8] },
    /// Function 90 (UMAS): session key, status (0xFE ok, 0xFD error), data.
    Umas {
        session: u8,
        status: u8,
        data: &'a [u8],
    },
    /// An exception response: function code without the 0x80 bit, exception code.
    Exception { function_code: u8, code: u8 },
    /// Any other function code.
    Other { function_code: u8, data: &'a [u8] },
}

/// A PDU too short for its fixed fields.
#[derive(Clone, Copy, Debug, Error, PartialEq, Eq)]
pub enum PduError {
    #[error("empty PDU")]
    Empty,
    #[error("function {function_code} PDU truncated: {need} bytes needed, {have} present")]
    Truncated {
        function_code: u8,
        need: usize,
        have: usize,
    },
}

/// A problem in a PDU that was still decoded.
#[derive(Clone, Copy, Debug, Error, PartialEq, Eq)]
pub enum PduIssue {
    #[error(
        "byte count {byte_count} disagrees with {expected} bytes expected and {available} present"
    )]
    ByteCountMismatch {
        byte_count: usize,
        expected: usize,
        available: usize,
    },
    #[error("coil value {0:#06x} is neither 0xFF00 nor 0x0000")]
    BadCoilValue(u16),
    #[error("{0} bytes after the end of the PDU")]
    TrailingBytes(usize),
    #[error("{0} truncated")]
    Truncated(&'static str),
}

impl PduIssue {
    /// The anomaly kind of this issue.
    pub fn kind(&self) -> &'static str {
        match self {
            PduIssue::ByteCountMismatch { .. } => "byte_count_mismatch",
            PduIssue::BadCoilValue(_) => "bad_coil_value",
            PduIssue::TrailingBytes(_) => "bad_length",
            PduIssue::Truncated(_) => "truncated_pdu",
        }
    }
}

/// A decoded PDU and the first problem found in it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Decoded<T> {
    pub pdu: T,
    pub issue: Option<PduIssue>,
}

fn be16(b: &[u8], at: usize) -> Option<u16> {
    let hi = *b.get(at)?;
    let lo = *b.get(at.checked_add(1)?)?;
    Some(u16::from_be_bytes([hi, lo]))
}

/// Reads fixed fields of one PDU's data, reporting truncation as [`PduError`].
struct Reader<'a> {
    fc: u8,
    data: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn new(fc: u8, data: &'a [u8]) -> Self {
        Reader { fc, data, pos: 0 }
    }
    fn err(&self, n: usize) -> PduError {
        PduError::Truncated {
            function_code: self.fc,
            need: 1 + self.pos + n,
            have: 1 + self.data.len(),
        }
    }
    fn u8(&mut self) -> Result<u8, PduError> {
        let v = *self.data.get(self.pos).ok_or_else(|| self.err(1))?;
        self.pos += 1;
        Ok(v)
    }
    fn u16(&mut self) -> Result<u16, PduError> {
        let v = be16(self.data, self.pos).ok_or_else(|| self.err(2))?;
        self.pos += 2;
        Ok(v)
    }
    fn rest(&self) -> &'a [u8] {
        self.data.get(self.pos..).unwrap_or_default()
    }
    /// Issue for bytes left after a fixed-size PDU.
    fn trailing(&self) -> Option<PduIssue> {
        let n = self.rest().len();
        (n > 0).then_some(PduIssue::TrailingBytes(n))
    }
}

/// Splits a counted field: `(bytes used, issue)` for a declared `byte_count`,
/// the byte count the quantity implies (`expected`, if any) and the bytes present.
fn counted(rest: &[u8], byte_count: usize, expected: Option<usize>) -> (&[u8], Option<PduIssue>) {
    let take = byte_count.min(rest.len());
    let used = rest.get(..take).unwrap_or_default();
    let exp = expected.unwrap_or(byte_count);
    let issue = if byte_count != exp || byte_count > rest.len() {
        Some(PduIssue::ByteCountMismatch {
            byte_count,
            expected: exp,
            available: rest.len(),
        })
    } else if rest.len() > byte_count {
        Some(PduIssue::TrailingBytes(rest.len() - byte_count))
    } else {
        None
    };
    (used, issue)
}

/// Decodes a request PDU (function code + data).
pub fn decode_request(pdu: &[u8]) -> Result<Decoded<Request<'_>>, PduError> {
    let (&fc, data) = pdu.split_first().ok_or(PduError::Empty)?;
    let mut r = Reader::new(fc, data);
    let mut issue = None;
    let req = match fc {
        1..=4 => {
            let address = r.u16()?;
            let quantity = r.u16()?;
            issue = r.trailing();
            Request::Read {
                function_code: fc,
                address,
                quantity,
            }
        }
        5 => {
            let address = r.u16()?;
            let value = r.u16()?;
            issue = if value != 0xFF00 && value != 0 {
                Some(PduIssue::BadCoilValue(value))
            } else {
                r.trailing()
            };
            Request::WriteSingleCoil { address, value }
        }
        6 => {
            let address = r.u16()?;
            let value = r.u16()?;
            issue = r.trailing();
            Request::WriteSingleRegister { address, value }
        }
        7 | 11 | 12 | 17 => {
            issue = r.trailing();
            Request::NoData { function_code: fc }
        }
        8 => {
            let sub_function = r.u16()?;
            Request::Diagnostics {
                sub_function,
                data: r.rest(),
            }
        }
        15 => {
            let address = r.u16()?;
            let quantity = r.u16()?;
            let byte_count = r.u8()?;
            let need = usize::from(quantity).div_ceil(8);
            let (bytes, i) = counted(r.rest(), usize::from(byte_count), Some(need));
            issue = i;
            Request::WriteMultipleCoils {
                address,
                quantity,
                byte_count,
                values: Bits::new(bytes, usize::from(quantity)),
            }
        }
        16 => {
            let address = r.u16()?;
            let quantity = r.u16()?;
            let byte_count = r.u8()?;
            let need = usize::from(quantity) * 2;
            let (bytes, i) = counted(r.rest(), usize::from(byte_count), Some(need));
            issue = i;
            Request::WriteMultipleRegisters {
                address,
                quantity,
                byte_count,
                values: Registers::new(bytes, usize::from(quantity)),
            }
        }
        20 => {
            let byte_count = r.u8()?;
            let (bytes, i) = counted(r.rest(), usize::from(byte_count), None);
            issue = i.or_else(|| {
                (bytes.len() % 7 != 0).then_some(PduIssue::Truncated("file sub-request"))
            });
            Request::ReadFileRecord {
                byte_count,
                records: FileSubRequests(bytes),
            }
        }
        21 => {
            let byte_count = r.u8()?;
            let (bytes, i) = counted(r.rest(), usize::from(byte_count), None);
            let records = FileRecords(bytes);
            issue =
                i.or_else(|| (!records.complete()).then_some(PduIssue::Truncated("file record")));
            Request::WriteFileRecord {
                byte_count,
                records,
            }
        }
        22 => {
            let address = r.u16()?;
            let and_mask = r.u16()?;
            let or_mask = r.u16()?;
            issue = r.trailing();
            Request::MaskWriteRegister {
                address,
                and_mask,
                or_mask,
            }
        }
        23 => {
            let read_address = r.u16()?;
            let read_quantity = r.u16()?;
            let write_address = r.u16()?;
            let write_quantity = r.u16()?;
            let byte_count = r.u8()?;
            let need = usize::from(write_quantity) * 2;
            let (bytes, i) = counted(r.rest(), usize::from(byte_count), Some(need));
            issue = i;
            Request::ReadWriteMultipleRegisters {
                read_address,
                read_quantity,
                write_address,
                write_quantity,
                byte_count,
                values: Registers::new(bytes, usize::from(write_quantity)),
            }
        }
        24 => {
            let address = r.u16()?;
            issue = r.trailing();
            Request::ReadFifoQueue { address }
        }
        43 => {
            let mei_type = r.u8()?;
            if mei_type == 0x0E {
                let read_code = r.u8()?;
                let object_id = r.u8()?;
                issue = r.trailing();
                Request::ReadDeviceIdentification {
                    read_code,
                    object_id,
                }
            } else {
                Request::Encapsulated {
                    mei_type,
                    data: r.rest(),
                }
            }
        }
        90 if data.len() >= 2 => {
            let session = r.u8()?;
            let code = r.u8()?;
            Request::Umas {
                session,
                code,
                data: r.rest(),
            }
        }
        _ => Request::Other {
            function_code: fc,
            data,
        },
    };
    Ok(Decoded { pdu: req, issue })
}

/// Decodes a response PDU (function code + data).
pub fn decode_response(pdu: &[u8]) -> Result<Decoded<Response<'_>>, PduError> {
    let (&fc, data) = pdu.split_first().ok_or(PduError::Empty)?;
    let mut r = Reader::new(fc, data);
    let mut issue = None;
    if fc & 0x80 != 0 {
        let code = r.u8()?;
        return Ok(Decoded {
            pdu: Response::Exception {
                function_code: fc & 0x7f,
                code,
            },
            issue: r.trailing(),
        });
    }
    let resp = match fc {
        1 | 2 => {
            let byte_count = r.u8()?;
            let (bytes, i) = counted(r.rest(), usize::from(byte_count), None);
            issue = i;
            Response::ReadBits {
                byte_count,
                bits: Bits::new(bytes, usize::MAX),
            }
        }
        3 | 4 | 23 => {
            let byte_count = r.u8()?;
            let even = usize::from(byte_count & !1);
            let (bytes, i) = counted(r.rest(), usize::from(byte_count), Some(even));
            issue = i;
            Response::ReadRegisters {
                byte_count,
                values: Registers::new(bytes, usize::MAX),
            }
        }
        5 | 6 => {
            let address = r.u16()?;
            let value = r.u16()?;
            issue = r.trailing();
            Response::WriteSingle { address, value }
        }
        7 => {
            let status = r.u8()?;
            issue = r.trailing();
            Response::ReadExceptionStatus { status }
        }
        8 => {
            let sub_function = r.u16()?;
            Response::Diagnostics {
                sub_function,
                data: r.rest(),
            }
        }
        11 => {
            let status = r.u16()?;
            let event_count = r.u16()?;
            issue = r.trailing();
            Response::GetCommEventCounter {
                status,
                event_count,
            }
        }
        12 => {
            let byte_count = r.u8()?;
            let status = r.u16()?;
            let event_count = r.u16()?;
            let message_count = r.u16()?;
            let declared = usize::from(byte_count).saturating_sub(6);
            let (events, i) = counted(r.rest(), declared, None);
            issue = if byte_count < 6 {
                Some(PduIssue::ByteCountMismatch {
                    byte_count: usize::from(byte_count),
                    expected: 6 + r.rest().len(),
                    available: 6 + r.rest().len(),
                })
            } else {
                i
            };
            Response::GetCommEventLog {
                byte_count,
                status,
                event_count,
                message_count,
                events,
            }
        }
        15 | 16 => {
            let address = r.u16()?;
            let quantity = r.u16()?;
            issue = r.trailing();
            Response::WriteMultiple { address, quantity }
        }
        17 => {
            let byte_count = r.u8()?;
            let (bytes, i) = counted(r.rest(), usize::from(byte_count), None);
            issue = i;
            Response::ReportServerId {
                byte_count,
                data: bytes,
            }
        }
        20 => {
            let byte_count = r.u8()?;
            let (bytes, i) = counted(r.rest(), usize::from(byte_count), None);
            let records = FileSubResponses(bytes);
            issue = i.or_else(|| {
                (!records.complete()).then_some(PduIssue::Truncated("file sub-response"))
            });
            Response::ReadFileRecord {
                byte_count,
                records,
            }
        }
        21 => {
            let byte_count = r.u8()?;
            let (bytes, i) = counted(r.rest(), usize::from(byte_count), None);
            let records = FileRecords(bytes);
            issue =
                i.or_else(|| (!records.complete()).then_some(PduIssue::Truncated("file record")));
            Response::WriteFileRecord {
                byte_count,
                records,
            }
        }
        22 => {
            let address = r.u16()?;
            let and_mask = r.u16()?;
            let or_mask = r.u16()?;
            issue = r.trailing();
            Response::MaskWriteRegister {
                address,
                and_mask,
                or_mask,
            }
        }
        24 => {
            let byte_count = r.u16()?;
            let fifo_count = r.u16()?;
            let need = usize::from(fifo_count) * 2;
            let (bytes, i) = counted(r.rest(), need, None);
            issue = if usize::from(byte_count) != need + 2 {
                Some(PduIssue::ByteCountMismatch {
                    byte_count: usize::from(byte_count),
                    expected: need + 2,
                    available: r.rest().len() + 2,
                })
            } else {
                i
            };
            Response::ReadFifoQueue {
                byte_count,
                fifo_count,
                values: Registers::new(bytes, usize::MAX),
            }
        }
        43 => {
            let mei_type = r.u8()?;
            if mei_type == 0x0E {
                let read_code = r.u8()?;
                let conformity_level = r.u8()?;
                let more_follows = r.u8()?;
                let next_object_id = r.u8()?;
                let number_of_objects = r.u8()?;
                // Walk the declared objects to find their extent.
                let rest = r.rest();
                let mut it = DeviceObjects(rest).iter();
                let mut found = 0usize;
                while found < usize::from(number_of_objects) && it.next().is_some() {
                    found += 1;
                }
                let used = rest.len() - it.rest.len();
                let objects = DeviceObjects(rest.get(..used).unwrap_or_default());
                issue = if found < usize::from(number_of_objects) {
                    Some(PduIssue::Truncated("device identification object"))
                } else if !it.rest.is_empty() {
                    Some(PduIssue::TrailingBytes(it.rest.len()))
                } else {
                    None
                };
                Response::ReadDeviceIdentification(DeviceIdResponse {
                    read_code,
                    conformity_level,
                    more_follows,
                    next_object_id,
                    number_of_objects,
                    objects,
                })
            } else {
                Response::Encapsulated {
                    mei_type,
                    data: r.rest(),
                }
            }
        }
        90 if data.len() >= 2 => {
            let session = r.u8()?;
            let status = r.u8()?;
            Response::Umas {
                session,
                status,
                data: r.rest(),
            }
        }
        _ => Response::Other {
            function_code: fc,
            data,
        },
    };
    Ok(Decoded { pdu: resp, issue })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Test bytes from hex (leaked so decoded views can outlive the statement).
    fn hex(s: &str) -> &'static [u8] {
        let v: Vec<u8> = (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect();
        Box::leak(v.into_boxed_slice())
    }

    /// `Record` holds a `Transaction` inline: rare, large fields are boxed to keep it
    /// small (clippy's large_enum_variant on `Record`).
    #[test]
    fn transaction_stays_small() {
        assert!(std::mem::size_of::<crate::modbus::Transaction>() <= 224);
    }

    #[test]
    fn header() {
        let b = hex("0001000000060a0100000001");
        let h = Mbap::parse(b).unwrap();
        assert_eq!(
            h,
            Mbap {
                transaction_id: 1,
                protocol_id: 0,
                length: 6,
                unit_id: 10
            }
        );
        assert_eq!(check_header(b), Ok(Some(12)));
        assert_eq!(check_header(&b[..5]), Ok(None));
        // digitalbond part 1 frame 80: protocol id 0x0010
        assert_eq!(
            check_header(hex("0001001000060a0100010003")),
            Err(HeaderError::BadProtocolId(0x10))
        );
        // digitalbond part 1 frame 76: length 0x8804
        assert_eq!(
            check_header(hex("000100008804")),
            Err(HeaderError::BadLength(0x8804))
        );
        assert_eq!(
            check_header(hex("000000000000")),
            Err(HeaderError::BadLength(0))
        );
        // Modicon UMAS frame with length 255 is tolerated
        assert_eq!(check_header(hex("0007000000ff")), Ok(Some(261)));
    }

    #[test]
    fn plausibility() {
        use Direction::*;
        assert_eq!(
            plausible_start(ToServer, hex("0001000000060a0100000001")),
            Plausible::Yes
        );
        assert_eq!(
            plausible_start(ToServer, hex("0001000000060a01")),
            Plausible::Yes
        );
        assert_eq!(
            plausible_start(ToServer, hex("00010000000601")),
            Plausible::NeedMore
        );
        // a 3-byte read request is not plausible
        assert_eq!(
            plausible_start(ToServer, hex("0001000000030a0100")),
            Plausible::No
        );
        assert_eq!(
            plausible_start(ToClient, hex("0001000000040a010100")),
            Plausible::Yes
        );
        assert_eq!(
            plausible_start(ToClient, hex("0000000000030a88")),
            Plausible::NeedMore
        );
        assert_eq!(
            plausible_start(ToClient, hex("0000000000030a880b")),
            Plausible::Yes
        );
        assert_eq!(
            plausible_start(ToClient, hex("0000000000030a8899")),
            Plausible::No
        );
        // DNP3 and HTTP never look like Modbus
        assert_eq!(
            plausible_start(ToServer, hex("05640bc4010000040000")),
            Plausible::No
        );
        assert_eq!(
            plausible_start(ToServer, b"GET / HTTP/1.1\r\n"),
            Plausible::No
        );
    }

    #[test]
    fn resync_candidates() {
        use Direction::*;
        // an unknown function is accepted once the next header confirms it
        let two = hex("000000000006012200000000540000000006012300000000");
        assert_eq!(plausible_start(ToServer, two), Plausible::No);
        assert_eq!(
            resync_start(ToServer, &two[..14], true),
            Plausible::NeedMore
        );
        assert_eq!(resync_start(ToServer, &two[..18], true), Plausible::Yes);
        assert_eq!(resync_start(ToServer, &two[..18], false), Plausible::No);
        let bad_next = hex("0000000000060122000000005400aaaa0006");
        assert_eq!(resync_start(ToServer, bad_next, true), Plausible::No);
        assert_eq!(
            resync_start(ToServer, hex("0001000000060a0100000001"), false),
            Plausible::Yes
        );
        // a public function with the wrong length or function 0 is never relaxed
        assert_eq!(
            resync_start(ToServer, hex("000000000002000186a300000003000000"), true),
            Plausible::No
        );
        assert_eq!(
            resync_start(ToServer, hex("86a300000003000000000000000200"), true),
            Plausible::No
        );
    }

    #[test]
    fn read_requests_and_responses() {
        let d = decode_request(hex("0300050002")).unwrap();
        assert_eq!(
            d.pdu,
            Request::Read {
                function_code: 3,
                address: 5,
                quantity: 2
            }
        );
        assert_eq!(d.issue, None);
        let d = decode_response(hex("030400090018")).unwrap();
        match d.pdu {
            Response::ReadRegisters { byte_count, values } => {
                assert_eq!(byte_count, 4);
                assert_eq!(values.iter().collect::<Vec<_>>(), vec![9, 0x18]);
            }
            other => panic!("{other:?}"),
        }
        let d = decode_response(hex("010115")).unwrap();
        match d.pdu {
            Response::ReadBits { bits, .. } => {
                assert_eq!(
                    bits.iter().collect::<Vec<_>>(),
                    vec![true, false, true, false, true, false, false, false]
                );
                assert_eq!(
                    bits.truncate(3).iter().collect::<Vec<_>>(),
                    vec![true, false, true]
                );
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn truncated_fixed_fields() {
        // digitalbond part 2: mask write register with 4 data bytes instead of 6
        assert_eq!(
            decode_request(hex("1600000000")),
            Err(PduError::Truncated {
                function_code: 22,
                need: 7,
                have: 5
            })
        );
        assert_eq!(decode_request(&[]), Err(PduError::Empty));
        assert!(decode_response(hex("83")).is_err());
    }

    #[test]
    fn fc23_length_mismatch_never_over_reads() {
        // 4SICS length-mismatch capture: write quantity 0x2112, byte count 0xbf
        let mut pdu = hex("170000000000df2112bf").to_vec();
        pdu.extend(std::iter::repeat_n(0xAA, 243));
        let d = decode_request(&pdu).unwrap();
        match d.pdu {
            Request::ReadWriteMultipleRegisters {
                write_quantity,
                byte_count,
                values,
                ..
            } => {
                assert_eq!(write_quantity, 0x2112);
                assert_eq!(byte_count, 0xbf);
                assert_eq!(values.len(), 95);
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(
            d.issue,
            Some(PduIssue::ByteCountMismatch {
                byte_count: 191,
                expected: 0x2112 * 2,
                available: 243
            })
        );
    }

    #[test]
    fn exception_and_coil_value() {
        let d = decode_response(hex("880b")).unwrap();
        assert_eq!(
            d.pdu,
            Response::Exception {
                function_code: 8,
                code: 11
            }
        );
        let d = decode_response(hex("810600")).unwrap();
        assert_eq!(d.issue, Some(PduIssue::TrailingBytes(1)));
        let d = decode_request(hex("0500021234")).unwrap();
        assert_eq!(d.issue, Some(PduIssue::BadCoilValue(0x1234)));
        assert_eq!(d.issue.unwrap().kind(), "bad_coil_value");
    }

    #[test]
    fn file_records() {
        let d = decode_request(hex("140e0600040001000206000300090002")).unwrap();
        match d.pdu {
            Request::ReadFileRecord { records, .. } => {
                let v: Vec<_> = records.iter().collect();
                assert_eq!(v.len(), 2);
                assert_eq!(
                    v[1],
                    FileSubRequest {
                        reference_type: 6,
                        file_number: 3,
                        record_number: 9,
                        record_length: 2
                    }
                );
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(d.issue, None);
        let d = decode_response(hex("140d05060df340000506005d005e")).unwrap();
        assert_eq!(
            d.issue,
            Some(PduIssue::ByteCountMismatch {
                byte_count: 13,
                expected: 13,
                available: 12
            })
        );
        let d = decode_response(hex("140c05060df340000506005d005e")).unwrap();
        assert_eq!(d.issue, None);
        match d.pdu {
            Response::ReadFileRecord { records, .. } => {
                let v: Vec<Vec<u16>> = records.iter().map(|r| r.data.iter().collect()).collect();
                assert_eq!(v, vec![vec![0x0df3, 0x4000], vec![0x5d, 0x5e]]);
            }
            other => panic!("{other:?}"),
        }
        let d = decode_request(hex("150d0600040007000306af04be100d")).unwrap();
        assert_eq!(d.issue, None);
        match d.pdu {
            Request::WriteFileRecord { records, .. } => {
                let r: Vec<_> = records.iter().collect();
                assert_eq!(r.len(), 1);
                assert_eq!(r[0].record_number, 7);
                assert_eq!(
                    r[0].data.iter().collect::<Vec<_>>(),
                    vec![0x06af, 0x04be, 0x100d]
                );
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn device_identification() {
        let d = decode_response(hex("2b0e0101000003000441636d6501034142430203312e30")).unwrap();
        assert_eq!(d.issue, None);
        match d.pdu {
            Response::ReadDeviceIdentification(id) => {
                let objs: Vec<_> = id.objects.iter().collect();
                assert_eq!(objs[0], (0, &b"Acme"[..]));
                assert_eq!(objs.len(), 3);
                assert_eq!(objs[2], (2, &b"1.0"[..]));
            }
            other => panic!("{other:?}"),
        }
    }
}
