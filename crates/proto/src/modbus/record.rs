//! The Modbus event record ([`Transaction`]) and how decoded PDUs fill it.
use super::names;
use super::parser::{Request, Response};
use serde::Serialize;

/// Most bytes of opaque data rendered as hex in [`Transaction::data`]; longer data
/// is cut and marked with a trailing `...`.
pub const MAX_DATA_BYTES: usize = 128;

/// One Modbus transaction: a request paired with its response, a request never
/// answered, or a response with no request. Serialised under `modbus` in events.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Transaction {
    pub transaction_id: u16,
    pub unit_id: u8,
    /// Function code without the exception bit.
    pub function_code: u8,
    /// Function name, e.g. `read_holding_registers`, `unknown-9`, `user-defined-65`.
    pub function: &'static str,
    /// Exception code of an exception response.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exception: Option<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exception_name: Option<&'static str>,
    /// Starting address (reads, writes, mask write, FIFO pointer).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub address: Option<u16>,
    /// Number of coils / registers (requested or written; FIFO count for function 24).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub quantity: Option<u16>,
    /// Coil bits as 0/1 or register values: written (write requests) or read
    /// (read responses, function 23 reads, FIFO).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub values: Option<Vec<u16>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub read_address: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub read_quantity: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub write_address: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub write_quantity: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub write_values: Option<Vec<u16>>,
    /// Diagnostics sub-function (8), MEI type (43) or UMAS function code (90).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sub_function: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sub_function_name: Option<&'static str>,
    /// Opaque data as lowercase hex, at most [`MAX_DATA_BYTES`] bytes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub and_mask: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub or_mask: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mei_type: Option<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub device_id: Option<Box<DeviceId>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file_records: Option<Vec<FileRecord>>,
    /// Byte count field (of the response for reads, of the request for writes; the
    /// data length for CANopen general reference).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub byte_count: Option<u16>,
    /// Exception status (7), status word (11, 12) or UMAS status (90: 0xFE ok, 0xFD error).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// Event counter (11, 12).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub event_count: Option<u16>,
    /// Message counter (12).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message_count: Option<u16>,
    /// Report Server Id (17) details; the additional data is also in `data` (hex).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server_id: Option<Box<ServerId>>,
    /// The request was seen.
    pub request: bool,
    /// The response was seen.
    pub response: bool,
}

/// Read Device Identification (function 43, MEI 14) details.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct DeviceId {
    /// 1 basic, 2 regular, 3 extended, 4 one specific object.
    pub read_code: u8,
    /// Object id asked for (request).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub object_id: Option<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub conformity_level: Option<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub more_follows: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_object_id: Option<u8>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub objects: Vec<DeviceObject>,
}

/// Report Server Id (function 17) response. The server id's length is device
/// specific: the first byte is taken as the id and the next as the run indicator,
/// as most devices (and Wireshark) do.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct ServerId {
    pub id: u8,
    /// 0xFF on, 0x00 off.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub run_indicator: Option<bool>,
    /// The additional data when it is printable text (often a vendor or product name).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
}

/// One identification object.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct DeviceObject {
    pub id: u8,
    /// `VendorName`, `ProductCode`, ... `Reserved` (0x07-0x7F), `Private` (0x80-0xFF).
    pub name: &'static str,
    pub value: String,
}

/// A file record (functions 20 and 21).
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct FileRecord {
    pub reference_type: u8,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file_number: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub record_number: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub record_length: Option<u16>,
    /// Record data (written, or read when the response was seen).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub values: Vec<u16>,
}

/// A Modbus data table that can be written.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Table {
    Coil,
    HoldingRegister,
}

/// One value a request writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct Written {
    pub kind: Table,
    /// 0-based protocol address.
    pub address: u16,
    /// Coil: 0 or 1; register: the value.
    pub value: u16,
}

impl Transaction {
    /// A record with only the header fields.
    pub fn new(transaction_id: u16, unit_id: u8, function_code: u8) -> Transaction {
        Transaction {
            transaction_id,
            unit_id,
            function_code,
            function: names::function_name(function_code),
            ..Transaction::default()
        }
    }

    /// The function changes data in the device: 5, 6, 15, 16, 21, 22, 23, and the
    /// UMAS (90) variable / coil-register / I/O object writes.
    pub fn is_write(&self) -> bool {
        match self.function_code {
            5 | 6 | 15 | 16 | 21 | 22 | 23 => true,
            90 => matches!(self.sub_function, Some(0x23 | 0x25 | 0x71)),
            _ => false,
        }
    }

    /// The function disturbs the device's operation: diagnostics restart
    /// communications (8/1) or force listen only mode (8/4); UMAS (90) start or
    /// stop PLC and program transfer to the PLC (0x30-0x32).
    pub fn is_dangerous(&self) -> bool {
        match self.function_code {
            8 => matches!(self.sub_function, Some(1 | 4)),
            90 => matches!(self.sub_function, Some(0x30..=0x32 | 0x40 | 0x41)),
            _ => false,
        }
    }

    /// Every value the request writes to a coil or holding register, for envelope
    /// checks. A mask write (22) is included only when its result does not depend on
    /// the register's current value (AND mask 0: the register becomes the OR mask).
    /// File records (21) and UMAS writes are not in a Modbus table and are left out.
    pub fn written(&self) -> Vec<Written> {
        if !self.request {
            return Vec::new();
        }
        let one = |kind, address: Option<u16>, value: Option<u16>| match (address, value) {
            (Some(address), Some(value)) => vec![Written {
                kind,
                address,
                value,
            }],
            _ => Vec::new(),
        };
        let many = |kind, start: Option<u16>, values: Option<&Vec<u16>>| {
            let (Some(start), Some(values)) = (start, values) else {
                return Vec::new();
            };
            values
                .iter()
                .zip(0u16..)
                .map_while(|(&value, i)| {
                    start.checked_add(i).map(|address| Written {
                        kind,
                        address,
                        value,
                    })
                })
                .collect()
        };
        match self.function_code {
            5 => one(
                Table::Coil,
                self.address,
                self.values.as_ref().and_then(|v| v.first().copied()),
            ),
            6 => one(
                Table::HoldingRegister,
                self.address,
                self.values.as_ref().and_then(|v| v.first().copied()),
            ),
            15 => many(Table::Coil, self.address, self.values.as_ref()),
            16 => many(Table::HoldingRegister, self.address, self.values.as_ref()),
            23 => many(
                Table::HoldingRegister,
                self.write_address,
                self.write_values.as_ref(),
            ),
            22 if self.and_mask == Some(0) => {
                one(Table::HoldingRegister, self.address, self.or_mask)
            }
            _ => Vec::new(),
        }
    }

    /// Fills the request fields.
    pub(crate) fn apply_request(&mut self, req: &Request<'_>) {
        self.request = true;
        match *req {
            Request::Read {
                address, quantity, ..
            } => {
                self.address = Some(address);
                self.quantity = Some(quantity);
            }
            Request::WriteSingleCoil { address, value } => {
                self.address = Some(address);
                self.values = match value {
                    0xFF00 => Some(vec![1]),
                    0x0000 => Some(vec![0]),
                    _ => None,
                };
                if self.values.is_none() {
                    self.data = Some(hex(&value.to_be_bytes()));
                }
            }
            Request::WriteSingleRegister { address, value } => {
                self.address = Some(address);
                self.values = Some(vec![value]);
            }
            Request::NoData { .. } => {}
            Request::Diagnostics { sub_function, data } => {
                self.sub_function = Some(sub_function);
                self.sub_function_name = Some(names::diagnostic_name(sub_function));
                self.data = Some(hex(data));
            }
            Request::WriteMultipleCoils {
                address,
                quantity,
                byte_count,
                values,
            } => {
                self.address = Some(address);
                self.quantity = Some(quantity);
                self.byte_count = Some(u16::from(byte_count));
                self.values = Some(values.iter().map(u16::from).collect());
            }
            Request::WriteMultipleRegisters {
                address,
                quantity,
                byte_count,
                values,
            } => {
                self.address = Some(address);
                self.quantity = Some(quantity);
                self.byte_count = Some(u16::from(byte_count));
                self.values = Some(values.iter().collect());
            }
            Request::ReadFileRecord {
                byte_count,
                records,
            } => {
                self.byte_count = Some(u16::from(byte_count));
                self.file_records = Some(
                    records
                        .iter()
                        .map(|r| FileRecord {
                            reference_type: r.reference_type,
                            file_number: Some(r.file_number),
                            record_number: Some(r.record_number),
                            record_length: Some(r.record_length),
                            values: Vec::new(),
                        })
                        .collect(),
                );
            }
            Request::WriteFileRecord {
                byte_count,
                records,
            } => {
                self.byte_count = Some(u16::from(byte_count));
                self.file_records = Some(
                    records
                        .iter()
                        .map(|r| FileRecord {
                            reference_type: r.reference_type,
                            file_number: Some(r.file_number),
                            record_number: Some(r.record_number),
                            record_length: Some(r.record_length),
                            values: r.data.iter().collect(),
                        })
                        .collect(),
                );
            }
            Request::MaskWriteRegister {
                address,
                and_mask,
                or_mask,
            } => {
                self.address = Some(address);
                self.and_mask = Some(and_mask);
                self.or_mask = Some(or_mask);
            }
            Request::ReadWriteMultipleRegisters {
                read_address,
                read_quantity,
                write_address,
                write_quantity,
                values,
                ..
            } => {
                self.read_address = Some(read_address);
                self.read_quantity = Some(read_quantity);
                self.write_address = Some(write_address);
                self.write_quantity = Some(write_quantity);
                self.write_values = Some(values.iter().collect());
            }
            Request::ReadFifoQueue { address } => self.address = Some(address),
            Request::ReadDeviceIdentification {
                read_code,
                object_id,
            } => {
                self.set_mei(0x0E);
                self.device_id = Some(Box::new(DeviceId {
                    read_code,
                    object_id: Some(object_id),
                    ..DeviceId::default()
                }));
            }
            Request::Encapsulated { mei_type, data } => {
                self.set_mei(mei_type);
                self.byte_count = Some(len16(data));
                self.data = Some(hex(data));
            }
            Request::Umas { code, data, .. } => {
                self.sub_function = Some(u16::from(code));
                self.sub_function_name = Some(names::umas_name(code));
                self.data = Some(hex(data));
            }
            Request::Other { data, .. } => {
                if !data.is_empty() {
                    self.data = Some(hex(data));
                }
            }
        }
    }

    /// Fills the response fields. `paired` tells whether the request fields are
    /// present (they bound coil lists and name file records).
    pub(crate) fn apply_response(&mut self, resp: &Response<'_>, paired: bool) {
        self.response = true;
        match *resp {
            Response::Exception { code, .. } => {
                self.exception = Some(code);
                self.exception_name = Some(names::exception_name(code));
            }
            Response::ReadBits { byte_count, bits } => {
                self.byte_count = Some(u16::from(byte_count));
                let bits = match (paired, self.quantity) {
                    (true, Some(q)) => bits.truncate(usize::from(q)),
                    _ => bits,
                };
                self.values = Some(bits.iter().map(u16::from).collect());
            }
            Response::ReadRegisters { byte_count, values } => {
                self.byte_count = Some(u16::from(byte_count));
                self.values = Some(values.iter().collect());
            }
            Response::WriteSingle { address, value } => {
                if !paired {
                    self.address = Some(address);
                    if self.function_code == 6 {
                        self.values = Some(vec![value]);
                    } else {
                        self.values = match value {
                            0xFF00 => Some(vec![1]),
                            0x0000 => Some(vec![0]),
                            _ => None,
                        };
                    }
                }
            }
            Response::ReadExceptionStatus { status } => self.status = Some(u16::from(status)),
            Response::Diagnostics { sub_function, data } => {
                if !paired || self.sub_function.is_none() {
                    self.sub_function = Some(sub_function);
                    self.sub_function_name = Some(names::diagnostic_name(sub_function));
                }
                // The response data (echo or counter) replaces the request's.
                self.data = Some(hex(data));
            }
            Response::GetCommEventCounter {
                status,
                event_count,
            } => {
                self.status = Some(status);
                self.event_count = Some(event_count);
            }
            Response::GetCommEventLog {
                byte_count,
                status,
                event_count,
                message_count,
                events,
            } => {
                self.byte_count = Some(u16::from(byte_count));
                self.status = Some(status);
                self.event_count = Some(event_count);
                self.message_count = Some(message_count);
                self.data = Some(hex(events));
            }
            Response::WriteMultiple { address, quantity } => {
                if !paired {
                    self.address = Some(address);
                    self.quantity = Some(quantity);
                }
            }
            Response::ReportServerId { byte_count, data } => {
                self.byte_count = Some(u16::from(byte_count));
                let extra = data.get(2..).unwrap_or_default();
                self.server_id = data.first().map(|&id| {
                    Box::new(ServerId {
                        id,
                        run_indicator: data.get(1).and_then(|b| match b {
                            0xFF => Some(true),
                            0x00 => Some(false),
                            _ => None,
                        }),
                        text: printable(extra),
                    })
                });
                if !extra.is_empty() {
                    self.data = Some(hex(extra));
                }
            }
            Response::ReadFileRecord {
                byte_count,
                records,
            } => {
                self.byte_count = Some(u16::from(byte_count));
                let list = self.file_records.get_or_insert_with(Vec::new);
                for (i, r) in records.iter().enumerate() {
                    match list.get_mut(i) {
                        Some(rec) if paired => rec.values = r.data.iter().collect(),
                        _ => list.push(FileRecord {
                            reference_type: r.reference_type,
                            values: r.data.iter().collect(),
                            ..FileRecord::default()
                        }),
                    }
                }
            }
            Response::WriteFileRecord {
                byte_count,
                records,
            } => {
                if !paired {
                    self.byte_count = Some(u16::from(byte_count));
                    self.file_records = Some(
                        records
                            .iter()
                            .map(|r| FileRecord {
                                reference_type: r.reference_type,
                                file_number: Some(r.file_number),
                                record_number: Some(r.record_number),
                                record_length: Some(r.record_length),
                                values: r.data.iter().collect(),
                            })
                            .collect(),
                    );
                }
            }
            Response::MaskWriteRegister {
                address,
                and_mask,
                or_mask,
            } => {
                if !paired {
                    self.address = Some(address);
                    self.and_mask = Some(and_mask);
                    self.or_mask = Some(or_mask);
                }
            }
            Response::ReadFifoQueue {
                byte_count,
                fifo_count,
                values,
            } => {
                self.byte_count = Some(byte_count);
                self.quantity = Some(fifo_count);
                self.values = Some(values.iter().collect());
            }
            Response::ReadDeviceIdentification(id) => {
                self.set_mei(0x0E);
                let dev = self.device_id.get_or_insert_with(Box::default);
                dev.read_code = id.read_code;
                dev.conformity_level = Some(id.conformity_level);
                dev.more_follows = Some(id.more_follows == 0xFF);
                dev.next_object_id = Some(id.next_object_id);
                dev.objects = id
                    .objects
                    .iter()
                    .map(|(oid, value)| DeviceObject {
                        id: oid,
                        name: names::device_object_name(oid),
                        value: text(value),
                    })
                    .collect();
            }
            Response::Encapsulated { mei_type, data } => {
                self.set_mei(mei_type);
                self.byte_count = Some(len16(data));
                self.data = Some(hex(data));
            }
            Response::Umas { status, data, .. } => {
                self.status = Some(u16::from(status));
                self.data = Some(hex(data));
            }
            Response::Other { data, .. } => {
                if !data.is_empty() {
                    self.data = Some(hex(data));
                }
            }
        }
    }

    fn set_mei(&mut self, mei: u8) {
        self.mei_type = Some(mei);
        self.sub_function = Some(u16::from(mei));
        self.sub_function_name = Some(names::mei_name(mei));
    }

    /// The device identity a Read Device Identification response revealed.
    pub(crate) fn identity(&self) -> Option<crate::Identity> {
        if let Some(dev) = &self.device_id {
            let find = |id: u8| {
                dev.objects
                    .iter()
                    .find(|o| o.id == id && !o.value.is_empty())
                    .map(|o| o.value.clone())
            };
            let ident = crate::Identity {
                side: Some(crate::Side::Server),
                source: "modbus.fc43",
                vendor: find(0),
                product: find(4).or_else(|| find(1)),
                model: find(5),
                firmware: find(2),
                ..crate::Identity::default()
            };
            let any = ident.vendor.is_some()
                || ident.product.is_some()
                || ident.model.is_some()
                || ident.firmware.is_some();
            return any.then_some(ident);
        }
        if self.function_code == 17 && self.exception.is_none() {
            let name = self.server_id.as_ref()?.text.clone()?;
            return Some(crate::Identity {
                side: Some(crate::Side::Server),
                source: "modbus.fc17",
                name: Some(name),
                ..crate::Identity::default()
            });
        }
        None
    }
}

fn len16(b: &[u8]) -> u16 {
    u16::try_from(b.len()).unwrap_or(u16::MAX)
}

/// Lowercase hex of at most [`MAX_DATA_BYTES`] bytes, `...` appended when cut.
pub fn hex(b: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let shown = b.get(..MAX_DATA_BYTES).unwrap_or(b);
    let mut s = String::with_capacity(shown.len() * 2 + 3);
    for &x in shown {
        s.push(char::from(DIGITS[usize::from(x >> 4)]));
        s.push(char::from(DIGITS[usize::from(x & 0x0f)]));
    }
    if b.len() > MAX_DATA_BYTES {
        s.push_str("...");
    }
    s
}

/// Text of an identification object: UTF-8 (lossy), control characters dropped,
/// surrounding spaces and NULs trimmed.
fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b)
        .chars()
        .filter(|c| !c.is_control())
        .collect::<String>()
        .trim()
        .to_string()
}

/// The bytes as text when they are printable ASCII (trailing NULs allowed).
fn printable(b: &[u8]) -> Option<String> {
    let end = b.iter().rposition(|&c| c != 0).map_or(0, |i| i + 1);
    let b = b.get(..end)?;
    if b.is_empty() || !b.iter().all(|c| (0x20..0x7f).contains(c)) {
        return None;
    }
    Some(String::from_utf8_lossy(b).trim().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_is_bounded() {
        assert_eq!(hex(&[0x0a, 0xff]), "0aff");
        let long = vec![0u8; 300];
        let h = hex(&long);
        assert_eq!(h.len(), MAX_DATA_BYTES * 2 + 3);
        assert!(h.ends_with("..."));
    }

    #[test]
    fn printable_text() {
        assert_eq!(
            printable(b"Wingpath Limited"),
            Some("Wingpath Limited".into())
        );
        assert_eq!(printable(b"abc\0\0"), Some("abc".into()));
        assert_eq!(printable(&[1, 2, 3]), None);
        assert_eq!(printable(&[]), None);
    }

    #[test]
    fn written_values() {
        let mut t = Transaction::new(1, 1, 16);
        t.request = true;
        t.address = Some(0xFFFE);
        t.values = Some(vec![1, 2, 3]);
        // addresses past 0xFFFF are not invented
        assert_eq!(
            t.written(),
            vec![
                Written {
                    kind: Table::HoldingRegister,
                    address: 0xFFFE,
                    value: 1
                },
                Written {
                    kind: Table::HoldingRegister,
                    address: 0xFFFF,
                    value: 2
                }
            ]
        );
        assert!(t.is_write());
        let mut m = Transaction::new(1, 1, 22);
        m.request = true;
        m.address = Some(5);
        m.and_mask = Some(0xF0F0);
        m.or_mask = Some(0x0F0F);
        assert!(m.written().is_empty());
        m.and_mask = Some(0);
        assert_eq!(m.written().len(), 1);
        let mut d = Transaction::new(0, 10, 8);
        d.sub_function = Some(4);
        assert!(d.is_dangerous());
        assert!(!d.is_write());
        d.sub_function = Some(0);
        assert!(!d.is_dangerous());
    }
}
