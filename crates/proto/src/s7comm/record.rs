//! The S7comm event record ([`Transaction`]) and how decoded PDUs fill it.
use super::names;
use super::parser::{
    self, be16, BlockControl, BlockName, DataItem, DataItems, Header, ItemSpec, ItemSpecs,
    UserdataParam,
};
use super::tpkt::{self, Cotp};
use serde::Serialize;

/// Most items kept per transaction (read/write var).
pub const MAX_ITEMS: usize = 64;
/// Most values decoded per item.
pub const MAX_VALUES: usize = 16;
/// Most data bytes rendered as hex per item.
pub const MAX_HEX: usize = 32;
/// Most SZL records kept.
pub const MAX_SZL_ENTRIES: usize = 16;
/// Most block list entries kept.
pub const MAX_BLOCKS: usize = 32;
/// Most characters of a string from the wire.
pub const MAX_TEXT: usize = 256;

/// `function_code` of userdata transactions: `0x1000 | group << 8 | subfunction`
/// (e.g. 0x1401 read SZL, 0x1702 set clock, 0x1501 PLC password), so that the
/// number is unique and outside the job parameter functions (0x00-0xFF).
pub const USERDATA_BASE: u16 = 0x1000;
/// `function_code` of COTP connection management records: `0x2000 | TPDU code`
/// (0x20E0 connect request/confirm, 0x2080 disconnect, 0x2070 TPDU error).
pub const COTP_BASE: u16 = 0x2000;

/// One S7comm transaction: a job paired with its ack/ack-data, a userdata request
/// paired with its response, a message with no partner (push, unanswered job,
/// response without job), or a COTP connection setup / release. Serialised under
/// `s7comm` in events.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Transaction {
    /// ROSCTR of the first message (1 job, 2 ack, 3 ack-data, 7 userdata; 0 COTP).
    pub rosctr: u8,
    pub rosctr_name: &'static str,
    /// PDU reference of the first message.
    pub pdu_ref: u16,
    /// Parameter function of a job (0x04 read var, 0x05 write var, 0xF0 setup,
    /// 0x1A-0x1F up/download, 0x28 PI service, 0x29 PLC stop); for userdata
    /// [`USERDATA_BASE`]` | group << 8 | subfunction`; for COTP records
    /// [`COTP_BASE`]` | TPDU code`.
    pub function_code: u16,
    /// `read_var`, `write_var`, `plc_stop`, `read_szl`, `set_clock`, `cotp_connect`...
    pub function: &'static str,
    /// Userdata function group.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub group: Option<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub group_name: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subfunction: Option<u8>,
    /// Userdata sequence number (of the response when there is one).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sequence: Option<u8>,
    /// Error class and code of the ack / ack-data header.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_class: Option<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_code: Option<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<&'static str>,
    /// Error code of a userdata response parameter (0 = no error).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub param_error: Option<u16>,
    /// Return code of the userdata response data (0xFF success).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub return_code: Option<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub setup: Option<Setup>,
    /// Read var / write var items with their values and return codes.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub items: Vec<Item>,
    /// Block concerned by an up/download, block info or block list request.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub block: Option<Box<Block>>,
    /// Program invocation service (0x28) or PLC stop (0x29).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pi: Option<Box<Pi>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub szl: Option<Box<Szl>>,
    /// Clock read or set (`YYYY-MM-DDTHH:MM:SS.mmm`, PLC local time).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub clock: Option<Box<str>>,
    /// Block list (list blocks: types with counts; list blocks of type: numbers).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub blocks: Vec<BlockEntry>,
    /// A PLC password was sent (the password itself is never recorded).
    #[serde(skip_serializing_if = "is_false")]
    pub password_attempt: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cotp: Option<Box<CotpInfo>>,
    /// The response announced more data units (fragmented userdata / upload).
    #[serde(skip_serializing_if = "is_false")]
    pub more_data: bool,
    /// Bytes of block data carried (upload / download block).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_length: Option<u32>,
    /// The request (job, userdata request, CR) was seen.
    pub request: bool,
    /// The response (ack, ack-data, userdata response, CC) was seen.
    pub response: bool,
    /// Lists or strings were cut to their bounds.
    #[serde(skip_serializing_if = "is_false")]
    pub truncated: bool,
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// Setup communication parameters.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Setup {
    pub max_amq_calling: u16,
    pub max_amq_called: u16,
    pub pdu_size: u16,
}

/// One read var / write var item.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Item {
    /// Addressing syntax (`s7any`, `dbread`, `1200sym`, `nck`...).
    pub syntax: &'static str,
    /// Memory area (`data_blocks`, `flags`, `inputs`, `outputs`, `counters`, ...).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub area: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub db: Option<u16>,
    /// Byte address (timer / counter number for those areas).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start: Option<u32>,
    /// Bit within the byte (bit items).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bit: Option<u8>,
    /// The address in STEP 7 notation: `DB1.DBW10`, `MD16`, `I0.1`, `T3`...
    #[serde(skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    /// Variable type (`bit`, `byte`, `word`, `int`, `real`, `timer`...).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub transport_size: Option<&'static str>,
    /// Number of elements.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub count: Option<u16>,
    /// Return code of the item in the response (0xFF success).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub return_code: Option<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub return_code_name: Option<&'static str>,
    /// Values written (write var request) or read (read var response), decoded by
    /// the item's type (at most [`MAX_VALUES`]).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub values: Vec<f64>,
    /// The data as hex when it has no numeric type (at most [`MAX_HEX`] bytes).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data: Option<String>,
    /// Raw codes, for correlation.
    #[serde(skip)]
    pub area_code: Option<u8>,
    #[serde(skip)]
    pub transport_size_code: Option<u8>,
}

/// A block (file) concerned by up/download, block info or a block list.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Block {
    /// `OB`, `DB`, `SDB`, `FC`, `SFC`, `FB`, `SFB`, `unknown` (absent when the
    /// message names no block, e.g. an upload continuation).
    #[serde(skip_serializing_if = "str::is_empty")]
    pub block_type: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub number: Option<u32>,
    /// Destination file system (`passive`, `active`, `active_and_passive`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub filesystem: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub filename: Option<String>,
    /// Function status byte (bit 0: more data following).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<u8>,
    /// Upload session id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub upload_id: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub load_length: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mc7_length: Option<u32>,
    /// Block length announced by a start upload response.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub block_length: Option<u32>,
}

/// A program invocation service.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Pi {
    /// Service name as sent (`P_PROGRAM`, `_INSE`, `_DELE`, `_MODU`, `_GARB`...).
    pub service: String,
    /// What it does: `hot_start`, `cold_start`, `stop`, `block_insert`,
    /// `block_delete`, `copy_ram_to_rom`, `compress_memory`...
    pub action: &'static str,
    /// Parameters (block names for `_INSE` / `_DELE`, else the argument string).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub params: Vec<String>,
}

/// An SZL (system status list) read.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Szl {
    pub id: u16,
    pub index: u16,
    pub name: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub record_length: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub record_count: Option<u16>,
    /// Decoded identification records (SZL 0x0011 / 0x001C families).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub entries: Vec<SzlEntry>,
    /// CPU mode (SZL 0x0424).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cpu_mode: Option<&'static str>,
}

/// One identification record.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct SzlEntry {
    pub index: u16,
    pub name: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
}

/// One entry of a block list.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct BlockEntry {
    pub block_type: &'static str,
    /// Blocks of that type (list blocks).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub count: Option<u16>,
    /// Block number (list blocks of type).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub number: Option<u16>,
}

/// COTP connection management details.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct CotpInfo {
    /// TPDU of the first message (`CR`, `DR`, `ER`...).
    pub pdu: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub calling_tsap: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub called_tsap: Option<String>,
    /// Connection type of a 2-byte called TSAP (`pg`, `op`, `s7_basic`, ...).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub connection_type: Option<&'static str>,
    /// Rack and slot addressed by a 2-byte called TSAP.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rack: Option<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub slot: Option<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tpdu_size: Option<u32>,
    /// Disconnect reason / TPDU error cause.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<u8>,
}

/// A decoding problem to report as an anomaly: (kind, message).
pub type Issue = (&'static str, String);

/// Lowercase hex of at most [`MAX_HEX`] bytes, `...` appended when cut.
pub fn hex(b: &[u8]) -> String {
    let mut s = String::with_capacity(b.len().min(MAX_HEX) * 2 + 3);
    for x in b.iter().take(MAX_HEX) {
        s.push_str(&format!("{x:02x}"));
    }
    if b.len() > MAX_HEX {
        s.push_str("...");
    }
    s
}

fn bounded(s: String) -> (String, bool) {
    if s.chars().count() > MAX_TEXT {
        (s.chars().take(MAX_TEXT).collect(), true)
    } else {
        (s, false)
    }
}

fn latin(b: &[u8]) -> String {
    b.iter()
        .take(MAX_TEXT)
        .map(|&c| {
            if (0x20..0x7f).contains(&c) {
                char::from(c)
            } else {
                '.'
            }
        })
        .collect()
}

/// Size letter of an address: `X` bit, `B` byte, `W` word, `D` double word.
fn size_letter(t: u8) -> &'static str {
    match names::element_size(t) {
        _ if t == 0x01 => "X",
        Some(2) => "W",
        Some(4) => "D",
        _ => "B",
    }
}

/// The STEP 7 address of one element: area, DB, byte and bit, by transport size.
/// (Written into one string: every item of every read and write has one.)
pub fn element_address(area: u8, db: u16, byte: u32, bit: u8, tsize: u8) -> String {
    use std::fmt::Write;
    let mut s = String::with_capacity(24);
    let (prefix, in_db) = match area {
        0x84 => ("DB", true),
        0x85 => ("DI", true),
        0x83 => ("M", false),
        0x81 => ("I", false),
        0x82 => ("Q", false),
        0x80 => ("P", false),
        0x86 => ("L", false),
        0x87 => ("V", false),
        0x1C | 0x1E => {
            let _ = write!(s, "C{byte}");
            return s;
        }
        0x1D | 0x1F => {
            let _ = write!(s, "T{byte}");
            return s;
        }
        other => {
            let _ = write!(s, "{other:02x}:{byte}.{bit}");
            return s;
        }
    };
    if in_db {
        let _ = write!(s, "{prefix}{db}.");
    }
    s.push_str(prefix);
    let letter = size_letter(tsize);
    if letter == "X" {
        // Bits: `DB1.DBX2.3`, but `I0.1` outside data blocks.
        if in_db {
            s.push('X');
        }
        let _ = write!(s, "{byte}.{bit}");
    } else {
        let _ = write!(s, "{letter}{byte}");
    }
    s
}

fn is_numbered_area(area: u8) -> bool {
    matches!(area, 0x1C..=0x1F)
}

/// Numeric value of one element of `tsize` at the start of `b`.
fn element_value(tsize: u8, b: &[u8]) -> Option<f64> {
    let u16v = || be16(b, 0);
    let u32v = || parser::be32(b, 0);
    Some(match tsize {
        0x01 => f64::from(b.first()? & 1),
        0x02 | 0x03 => f64::from(*b.first()?),
        0x04 | 0x09 | 0x0C | 0x1C | 0x1D => f64::from(u16v()?),
        0x05 => f64::from(u16v()? as i16),
        0x06 | 0x0A => f64::from(u32v()?),
        0x07 | 0x0B => f64::from(u32v()? as i32),
        0x08 => f64::from(f32::from_bits(u32v()?)),
        _ => return None,
    })
}

/// Values of a data item: by the request item's type when known, else by the data
/// transport size. `None` when the data has no numeric reading (hex is used).
fn decode_values(tsize: Option<u8>, item: &DataItem<'_>) -> Option<(Vec<f64>, bool)> {
    let data = item.data;
    let t = match tsize {
        Some(t) if names::element_size(t).is_some() && t != 0x0F => t,
        _ => match item.transport_size {
            0x03 => 0x01,
            0x05 => 0x05,
            0x06 => 0x07,
            0x07 => 0x08,
            _ => return None,
        },
    };
    if t == 0x01 {
        // one byte per bit item
        return data.first().map(|&b| (vec![f64::from(b & 1)], false));
    }
    let size = names::element_size(t)?;
    let mut v = Vec::with_capacity((data.len() / size.max(1)).min(MAX_VALUES));
    let mut cut = false;
    for chunk in data.chunks_exact(size) {
        if v.len() >= MAX_VALUES {
            cut = true;
            break;
        }
        v.push(element_value(t, chunk)?);
    }
    (!v.is_empty()).then_some((v, cut))
}

fn item_from_spec(spec: &ItemSpec<'_>) -> Item {
    match *spec {
        ItemSpec::Any {
            transport_size,
            count,
            db,
            area,
            address,
        } => {
            let numbered = is_numbered_area(area);
            let (start, bit) = if numbered {
                (address, 0)
            } else {
                (address >> 3, (address & 7) as u8)
            };
            Item {
                syntax: "s7any",
                area: Some(names::area_name(area)),
                db: matches!(area, 0x84 | 0x85).then_some(db),
                start: Some(start),
                bit: (transport_size == 0x01 && !numbered).then_some(bit),
                address: Some(element_address(area, db, start, bit, transport_size)),
                transport_size: Some(names::transport_size_name(transport_size)),
                count: Some(count),
                area_code: Some(area),
                transport_size_code: Some(transport_size),
                ..Item::default()
            }
        }
        ItemSpec::Other { syntax, spec } => Item {
            syntax: names::syntax_name(syntax),
            data: Some(hex(spec.get(1..).unwrap_or_default())),
            ..Item::default()
        },
    }
}

fn set_block(tx: &mut Transaction, name: &[u8]) {
    let b = tx.block.get_or_insert_with(Box::default);
    let (text, cut) = bounded(latin(name));
    tx.truncated |= cut;
    b.filename = Some(text);
    if let Some(n) = parser::parse_block_name(name) {
        apply_block_name(b, &n);
    }
}

fn apply_block_name(b: &mut Block, n: &BlockName<'_>) {
    b.block_type = names::block_type_name(n.block_type);
    b.number = n.number;
    b.filesystem = n.filesystem.map(names::filesystem_name);
}

impl Transaction {
    /// A record with only the identification fields.
    pub fn new(rosctr: u8, pdu_ref: u16, function_code: u16, function: &'static str) -> Self {
        Transaction {
            rosctr,
            rosctr_name: names::rosctr_name(rosctr),
            pdu_ref,
            function_code,
            function,
            ..Transaction::default()
        }
    }

    /// A job (or an ack/ack-data whose job was not seen) of parameter function `f`.
    pub fn job(rosctr: u8, pdu_ref: u16, f: u8) -> Self {
        Transaction::new(rosctr, pdu_ref, u16::from(f), names::function_name(f))
    }

    /// A userdata message.
    pub fn userdata(pdu_ref: u16, p: &UserdataParam) -> Self {
        let mut t = Transaction::new(
            7,
            pdu_ref,
            USERDATA_BASE | u16::from(p.group) << 8 | u16::from(p.subfunction),
            names::subfunction_name(p.group, p.subfunction),
        );
        t.group = Some(p.group);
        t.group_name = Some(names::group_name(p.group));
        t.subfunction = Some(p.subfunction);
        t.sequence = Some(p.sequence);
        t
    }

    /// A COTP connection management record.
    pub fn cotp(c: &Cotp<'_>) -> Self {
        let (code, function) = match c {
            Cotp::Connect { .. } => (tpkt::code::CR, "cotp_connect"),
            Cotp::Disconnect { .. } => (tpkt::code::DR, "cotp_disconnect"),
            Cotp::Error { .. } => (tpkt::code::ER, "cotp_error"),
            Cotp::Other { code } => (*code, "cotp_other"),
            Cotp::Data { .. } => (tpkt::code::DT, "cotp_data"),
        };
        let mut t = Transaction::new(0, 0, COTP_BASE | u16::from(code), function);
        t.rosctr_name = "cotp";
        t.apply_cotp(c);
        t
    }

    /// Fills COTP details from a CR/CC/DR/DC/ER.
    pub fn apply_cotp(&mut self, c: &Cotp<'_>) {
        let info = self.cotp.get_or_insert_with(Box::default);
        match *c {
            Cotp::Connect {
                confirm, params, ..
            } => {
                if info.pdu.is_empty() {
                    info.pdu = if confirm { "CC" } else { "CR" };
                }
                if let Some(t) = params.calling_tsap {
                    info.calling_tsap.get_or_insert_with(|| tpkt::tsap_text(t));
                }
                if let Some(t) = params.called_tsap {
                    info.called_tsap.get_or_insert_with(|| tpkt::tsap_text(t));
                    if let [kind, rs] = *t {
                        info.connection_type = Some(match kind {
                            1 => "pg",
                            2 => "op",
                            3 => "s7_basic",
                            0x10.. => "other",
                            _ => "unknown",
                        });
                        info.rack = Some(rs >> 5);
                        info.slot = Some(rs & 0x1F);
                    }
                }
                if params.tpdu_size.is_some() {
                    // the confirm's size is the one negotiated
                    info.tpdu_size = params.tpdu_size;
                }
            }
            Cotp::Disconnect {
                confirm, reason, ..
            } => {
                if info.pdu.is_empty() {
                    info.pdu = if confirm { "DC" } else { "DR" };
                }
                if reason.is_some() {
                    info.reason = reason;
                }
            }
            Cotp::Error { cause, .. } => {
                if info.pdu.is_empty() {
                    info.pdu = "ER";
                }
                info.reason = cause;
            }
            Cotp::Other { code } => {
                if info.pdu.is_empty() {
                    info.pdu = tpkt::code_name(code);
                }
            }
            Cotp::Data { .. } => {}
        }
    }

    /// Completes a connect request record with the details of its confirm, seen
    /// first (the confirm's TPDU size is the negotiated one).
    pub fn merge_cotp_confirm(&mut self, confirm: Option<&CotpInfo>) {
        let Some(c) = confirm else { return };
        let info = self.cotp.get_or_insert_with(Box::default);
        if c.tpdu_size.is_some() {
            info.tpdu_size = c.tpdu_size;
        }
        if info.calling_tsap.is_none() {
            info.calling_tsap.clone_from(&c.calling_tsap);
        }
        if info.called_tsap.is_none() {
            info.called_tsap.clone_from(&c.called_tsap);
        }
    }

    /// Fills the request fields of a job.
    pub fn apply_job(&mut self, param: &[u8], data: &[u8], issues: &mut Vec<Issue>) {
        self.request = true;
        let f = param.first().copied().unwrap_or(0);
        match f {
            0xF0 => self.setup = setup(param),
            0x04 | 0x05 => {
                let mut specs = ItemSpecs::new(param);
                let announced = param.get(1).copied().unwrap_or(0);
                for spec in specs.by_ref() {
                    if self.items.len() >= MAX_ITEMS {
                        self.truncated = true;
                        continue;
                    }
                    self.items.push(item_from_spec(&spec));
                }
                if param.len() < 2 || specs.missing() > 0 {
                    issues.push((
                        "truncated_item",
                        format!(
                            "{} request announces {announced} items, {} decodable",
                            self.function,
                            usize::from(announced).saturating_sub(usize::from(specs.missing()))
                        ),
                    ));
                }
                if f == 0x05 {
                    let mut di = DataItems::new(data, usize::from(announced));
                    for (i, d) in di.by_ref().enumerate() {
                        if let Some(item) = self.items.get_mut(i) {
                            self.truncated |= fill_values(item, &d);
                        }
                        if d.clipped {
                            issues.push((
                                "truncated_item",
                                format!("write var item {} data is cut short", i + 1),
                            ));
                        }
                    }
                    if di.missing() > 0 {
                        issues.push((
                            "truncated_item",
                            format!("write var request lacks data for {} items", di.missing()),
                        ));
                    }
                }
            }
            0x1A..=0x1F => {
                let c = parser::parse_block_control(param, false);
                self.apply_block_control(&c);
                if let Some(name) = c.filename {
                    set_block(self, name);
                }
            }
            0x28 | 0x29 => match parser::parse_pi_service(param) {
                Some(pi) => {
                    let (service, cut) = bounded(latin(pi.name));
                    self.truncated |= cut;
                    let mut params = Vec::new();
                    if matches!(pi.name, b"_INSE" | b"_DELE") {
                        for n in parser::pi_block_names(pi.params).take(MAX_BLOCKS) {
                            let ty = names::block_type_name(n.block_type);
                            params.push(match n.number {
                                Some(num) => format!("{ty}{num}"),
                                None => ty.to_string(),
                            });
                            if self.block.is_none() {
                                let mut b = Block::default();
                                apply_block_name(&mut b, &n);
                                self.block = Some(Box::new(b));
                            }
                        }
                    } else if !pi.params.is_empty() {
                        params.push(bounded(latin(pi.params)).0);
                    }
                    let action = if f == 0x29 {
                        "stop"
                    } else {
                        names::pi_service_action(&service, &params)
                    };
                    self.pi = Some(Box::new(Pi {
                        service,
                        action,
                        params,
                    }));
                }
                None => issues.push((
                    "truncated_parameter",
                    format!(
                        "{} parameter of {} bytes is malformed",
                        self.function,
                        param.len()
                    ),
                )),
            },
            _ => {}
        }
    }

    fn apply_block_control(&mut self, c: &BlockControl<'_>) {
        let any = c.status.is_some()
            || c.upload_id.is_some()
            || c.load_length.is_some()
            || c.block_length.is_some();
        if !any {
            return;
        }
        let b = self.block.get_or_insert_with(Box::default);
        b.status = c.status.or(b.status);
        b.upload_id = c.upload_id.or(b.upload_id);
        b.load_length = c.load_length.or(b.load_length);
        b.mc7_length = c.mc7_length.or(b.mc7_length);
        b.block_length = c.block_length.or(b.block_length);
        if c.status.is_some_and(|s| s & 0x01 != 0) {
            self.more_data = true;
        }
    }

    /// Fills the response fields of an ack / ack-data. `paired`: the job's fields
    /// are present (items to match the data items with).
    pub fn apply_ack(
        &mut self,
        h: &Header,
        param: &[u8],
        data: &[u8],
        paired: bool,
        issues: &mut Vec<Issue>,
    ) {
        self.response = true;
        self.error_class = h.error_class;
        self.error_code = h.error_code;
        self.error = h.error_class.map(names::error_class_name);
        let f = param
            .first()
            .copied()
            .unwrap_or(u8::try_from(self.function_code).unwrap_or(0));
        match f {
            0xF0 => {
                if let Some(s) = setup(param) {
                    self.setup = Some(s);
                }
            }
            0x04 => {
                let count = usize::from(param.get(1).copied().unwrap_or(0));
                let requested = self.items.len();
                let mut di = DataItems::new(data, count);
                for (i, d) in di.by_ref().enumerate() {
                    if i >= MAX_ITEMS {
                        self.truncated = true;
                        break;
                    }
                    if !paired || i >= self.items.len() {
                        self.items.push(Item {
                            syntax: "unknown",
                            ..Item::default()
                        });
                    }
                    if let Some(item) = self.items.get_mut(i) {
                        item.return_code = Some(d.return_code);
                        item.return_code_name = Some(names::return_code_name(d.return_code));
                        if !d.data.is_empty() {
                            self.truncated |= fill_values(item, &d);
                        }
                    }
                    if d.clipped {
                        issues.push((
                            "truncated_item",
                            format!("read var response item {} data is cut short", i + 1),
                        ));
                    }
                }
                if di.missing() > 0 && h.error_class.unwrap_or(0) == 0 {
                    issues.push((
                        "truncated_item",
                        format!("read var response lacks {} of {count} items", di.missing()),
                    ));
                }
                if paired && count != requested && h.error_class.unwrap_or(0) == 0 {
                    issues.push((
                        "item_count_mismatch",
                        format!("read var response has {count} items, the request {requested}"),
                    ));
                }
            }
            0x05 => {
                let count = usize::from(param.get(1).copied().unwrap_or(0));
                for (i, &rc) in data.iter().take(count.min(MAX_ITEMS)).enumerate() {
                    if !paired || i >= self.items.len() {
                        self.items.push(Item {
                            syntax: "unknown",
                            ..Item::default()
                        });
                    }
                    if let Some(item) = self.items.get_mut(i) {
                        item.return_code = Some(rc);
                        item.return_code_name = Some(names::return_code_name(rc));
                    }
                }
            }
            0x1A..=0x1F => {
                let c = parser::parse_block_control(param, true);
                self.apply_block_control(&c);
                if matches!(f, 0x1B | 0x1E) {
                    if let Some(n) = be16(data, 0) {
                        self.data_length = Some(u32::from(n));
                    }
                }
            }
            _ => {}
        }
    }

    /// Fills userdata request fields (`response == false`) or response fields.
    pub fn apply_userdata(
        &mut self,
        p: &UserdataParam,
        data: &[u8],
        response: bool,
        issues: &mut Vec<Issue>,
    ) {
        if response {
            self.response = true;
            self.sequence = Some(p.sequence);
            self.param_error = p.error;
            if p.last_data_unit == Some(false) {
                self.more_data = true;
            }
        } else {
            self.request = true;
        }
        let Some(d) = parser::userdata_data(data) else {
            if !data.is_empty() {
                issues.push((
                    "truncated_data",
                    format!(
                        "{} data part of {} bytes is too short",
                        self.function,
                        data.len()
                    ),
                ));
            }
            return;
        };
        if response {
            self.return_code = Some(d.return_code);
        }
        let body = d.data;
        match (p.group, p.subfunction, response) {
            (0x4, 0x01, false) => {
                if let (Some(id), Some(index)) = (be16(body, 0), be16(body, 2)) {
                    self.szl = Some(Box::new(Szl {
                        id,
                        index,
                        name: names::szl_name(id),
                        ..Szl::default()
                    }));
                }
            }
            (0x3, 0x02, false) => {
                if let Some(t) = body.get(..2) {
                    self.block = Some(Box::new(Block {
                        block_type: names::block_type_name(t),
                        ..Block::default()
                    }));
                }
            }
            (0x3, 0x03, false) => {
                if let Some(n) = parser::parse_block_name(body) {
                    let mut b = Block::default();
                    apply_block_name(&mut b, &n);
                    self.block = Some(Box::new(b));
                }
            }
            (0x7, 0x02 | 0x04, false) | (0x7, 0x01 | 0x03, true) => {
                self.clock = parser::parse_s7_time(body).map(String::into_boxed_str);
            }
            (0x5, 0x01, false) => self.password_attempt = !body.is_empty(),
            _ => {}
        }
    }

    /// Decodes the (reassembled) data of a userdata response: SZL records, block
    /// lists. Returns the identity it reveals.
    pub fn apply_userdata_payload(&mut self, p: &UserdataParam, body: &[u8]) {
        match (p.group, p.subfunction) {
            (0x4, 0x01) => {
                if let Some(s) = parser::parse_szl(body) {
                    self.szl = Some(Box::new(szl_record(&s, &mut self.truncated)));
                }
            }
            (0x3, 0x01) => {
                for e in body.chunks_exact(4) {
                    if self.blocks.len() >= MAX_BLOCKS {
                        self.truncated = true;
                        break;
                    }
                    self.blocks.push(BlockEntry {
                        block_type: names::block_type_name(e.get(..2).unwrap_or_default()),
                        count: be16(e, 2),
                        number: None,
                    });
                }
            }
            (0x3, 0x02) => {
                let ty = self.block.as_ref().map_or("unknown", |b| b.block_type);
                for e in body.chunks_exact(4) {
                    if self.blocks.len() >= MAX_BLOCKS {
                        self.truncated = true;
                        break;
                    }
                    self.blocks.push(BlockEntry {
                        block_type: ty,
                        count: None,
                        number: be16(e, 0),
                    });
                }
            }
            _ => {}
        }
    }

    /// The device identity an SZL response revealed.
    pub fn identity(&self) -> Option<crate::Identity> {
        let szl = self.szl.as_ref()?;
        let find = |list: u16, idx: u16| {
            if szl.id & 0xFF != list {
                return None;
            }
            szl.entries.iter().find(|e| e.index == idx)
        };
        let text = |list, idx| find(list, idx).and_then(|e| e.text.clone());
        let ident = crate::Identity {
            side: Some(crate::Side::Server),
            source: "s7comm.szl",
            vendor: Some("Siemens".to_string()),
            model: text(0x11, 1).or_else(|| text(0x11, 6)),
            firmware: find(0x11, 7).and_then(|e| e.version.clone()),
            product: text(0x1C, 7).or_else(|| text(0x1C, 2)),
            serial: text(0x1C, 5),
            name: text(0x1C, 1),
            ..crate::Identity::default()
        };
        let any = ident.model.is_some()
            || ident.firmware.is_some()
            || ident.product.is_some()
            || ident.serial.is_some()
            || ident.name.is_some();
        any.then_some(ident)
    }

    /// A stop command: PLC stop job (0x29).
    pub fn is_cpu_stop(&self) -> bool {
        self.rosctr != 7 && self.function_code == 0x29 && self.request
    }

    /// A start command: PI service `P_PROGRAM` (hot or cold start).
    pub fn is_cpu_start(&self) -> bool {
        self.function_code == 0x28
            && self
                .pi
                .as_ref()
                .is_some_and(|p| matches!(p.action, "hot_start" | "cold_start"))
    }

    /// Program download to the PLC: request download, download block, download
    /// ended (0x1A-0x1C), their NC counterparts (userdata 0x1F01-0x1F04), and the
    /// `_INSE` PI service that activates a downloaded block.
    pub fn is_download(&self) -> bool {
        matches!(self.function_code, 0x1A..=0x1C | 0x1F01..=0x1F04)
            || self.pi.as_ref().is_some_and(|p| p.action == "block_insert")
    }

    /// Program upload from the PLC (0x1D-0x1F).
    pub fn is_upload(&self) -> bool {
        matches!(self.function_code, 0x1D..=0x1F | 0x1F06..=0x1F08)
    }

    /// Block deletion: PI service `_DELE`.
    pub fn is_block_delete(&self) -> bool {
        self.pi.as_ref().is_some_and(|p| p.action == "block_delete")
    }

    /// A PLC password was sent (userdata security / PLC password).
    pub fn is_password_attempt(&self) -> bool {
        self.password_attempt
    }

    /// Every value a write var request writes, for envelope checks: (address of the
    /// element in STEP 7 notation, e.g. `DB1.DBW10`, `MD16`, `Q0.1`; value).
    /// Elements past [`MAX_VALUES`] per item are not included.
    pub fn written(&self) -> Vec<(String, f64)> {
        let mut out = Vec::new();
        if self.function_code != 0x05 || !self.request || self.rosctr == 7 {
            return out;
        }
        for item in &self.items {
            let (Some(area), Some(start), Some(t)) =
                (item.area_code, item.start, item.transport_size_code)
            else {
                continue;
            };
            let db = item.db.unwrap_or(0);
            let size = names::element_size(t).unwrap_or(1) as u32;
            for (i, &v) in item.values.iter().enumerate() {
                let i = i as u32;
                let addr = if is_numbered_area(area) {
                    element_address(area, db, start.saturating_add(i), 0, t)
                } else if t == 0x01 {
                    let bits = (start << 3 | u32::from(item.bit.unwrap_or(0))).saturating_add(i);
                    element_address(area, db, bits >> 3, (bits & 7) as u8, t)
                } else {
                    element_address(area, db, start.saturating_add(i * size), 0, t)
                };
                out.push((addr, v));
            }
        }
        out
    }
}

fn setup(param: &[u8]) -> Option<Setup> {
    Some(Setup {
        max_amq_calling: be16(param, 2)?,
        max_amq_called: be16(param, 4)?,
        pdu_size: be16(param, 6)?,
    })
}

/// Fills an item's values (or hex data); true when they were cut to the bounds.
fn fill_values(item: &mut Item, d: &DataItem<'_>) -> bool {
    match decode_values(item.transport_size_code, d) {
        Some((v, cut)) => {
            item.values = v;
            cut
        }
        None => {
            if !d.data.is_empty() {
                item.data = Some(hex(d.data));
            }
            d.data.len() > MAX_HEX
        }
    }
}

fn szl_record(s: &parser::SzlData<'_>, truncated: &mut bool) -> Szl {
    let mut szl = Szl {
        id: s.id,
        index: s.index,
        name: names::szl_name(s.id),
        record_length: Some(s.record_length),
        record_count: Some(s.record_count),
        ..Szl::default()
    };
    match s.id & 0xFF {
        0x11 => {
            for r in s.records().filter(|r| r.len() >= 28) {
                if szl.entries.len() >= MAX_SZL_ENTRIES {
                    *truncated = true;
                    break;
                }
                let index = be16(r, 0).unwrap_or(0);
                let v = r.get(24..28).unwrap_or_default();
                let version = match v {
                    [c, a, b, d] if c.is_ascii_alphabetic() => {
                        Some(format!("{}{a}.{b}.{d}", char::from(*c)))
                    }
                    _ => None,
                };
                szl.entries.push(SzlEntry {
                    index,
                    name: names::szl_module_index_name(index),
                    text: parser::text_field(r.get(2..22).unwrap_or_default()),
                    version,
                });
            }
        }
        0x1C => {
            for r in s.records().filter(|r| r.len() >= 34) {
                if szl.entries.len() >= MAX_SZL_ENTRIES {
                    *truncated = true;
                    break;
                }
                let index = be16(r, 0).unwrap_or(0);
                let text = if index == 9 {
                    None
                } else {
                    parser::text_field(r.get(2..34).unwrap_or_default())
                };
                szl.entries.push(SzlEntry {
                    index,
                    name: names::szl_component_index_name(index),
                    text,
                    version: None,
                });
            }
        }
        0x24 => {
            szl.cpu_mode = s
                .records()
                .next()
                .and_then(|r| r.get(3))
                .map(|&b| names::cpu_mode_name(b));
        }
        _ => {}
    }
    szl
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses() {
        assert_eq!(element_address(0x84, 1, 10, 0, 0x04), "DB1.DBW10");
        assert_eq!(element_address(0x84, 1, 2, 3, 0x01), "DB1.DBX2.3");
        assert_eq!(element_address(0x83, 0, 16, 0, 0x08), "MD16");
        assert_eq!(element_address(0x81, 0, 0, 1, 0x01), "I0.1");
        assert_eq!(element_address(0x82, 0, 4, 0, 0x02), "QB4");
        assert_eq!(element_address(0x1D, 0, 3, 0, 0x1D), "T3");
        assert_eq!(element_address(0x1C, 0, 7, 0, 0x1C), "C7");
        assert_eq!(element_address(0x85, 12, 6, 0, 0x06), "DI12.DID6");
        assert_eq!(element_address(0x85, 12, 6, 7, 0x01), "DI12.DIX6.7");
        assert_eq!(
            element_address(0x84, 300, 65_535, 0, 0x02),
            "DB300.DBB65535"
        );
        assert_eq!(element_address(0x86, 0, 2, 5, 0x01), "L2.5");
        assert_eq!(element_address(0x87, 0, 8, 0, 0x04), "VW8");
        assert_eq!(element_address(0x80, 0, 256, 0, 0x02), "PB256");
        assert_eq!(element_address(0x05, 0, 9, 2, 0x01), "05:9.2");
    }

    #[test]
    fn written_values() {
        let mut t = Transaction::job(1, 1, 0x05);
        t.request = true;
        t.items.push(Item {
            syntax: "s7any",
            area_code: Some(0x84),
            db: Some(1),
            start: Some(10),
            transport_size_code: Some(0x05),
            values: vec![-1.0, 7.0],
            ..Item::default()
        });
        t.items.push(Item {
            syntax: "s7any",
            area_code: Some(0x82),
            start: Some(0),
            bit: Some(7),
            transport_size_code: Some(0x01),
            values: vec![1.0],
            ..Item::default()
        });
        assert_eq!(
            t.written(),
            vec![
                ("DB1.DBW10".to_string(), -1.0),
                ("DB1.DBW12".to_string(), 7.0),
                ("Q0.7".to_string(), 1.0)
            ]
        );
        let r = Transaction::job(1, 1, 0x04);
        assert!(r.written().is_empty());
    }

    #[test]
    fn record_is_small() {
        assert!(
            std::mem::size_of::<Transaction>() <= 232,
            "{}",
            std::mem::size_of::<Transaction>()
        );
    }
}
