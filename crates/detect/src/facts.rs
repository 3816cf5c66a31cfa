//! What a transaction touches: register (point) ranges read or written and the values
//! seen, per unit and table, for Modbus and DNP3 (typed, no JSON on the hot path); and
//! the values written to the points of the other ICS protocols ([`written_points`]: S7
//! write var, IEC 104 commands and setpoints, CIP tag and attribute writes, BACnet
//! present values), for safety envelopes.

use sluice_policy::{Envelope, Policy};
use sluice_proto::modbus::Table as MbTable;
use sluice_proto::Record;
use std::net::IpAddr;

/// A data table: Modbus tables 0-3, DNP3 object groups as `1000 + group`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Table(pub u16);

impl Table {
    /// Modbus coils.
    pub const COIL: Table = Table(0);
    /// Modbus discrete inputs.
    pub const DISCRETE_INPUT: Table = Table(1);
    /// Modbus holding registers.
    pub const HOLDING_REGISTER: Table = Table(2);
    /// Modbus input registers.
    pub const INPUT_REGISTER: Table = Table(3);
    /// S7 memory: unit = data block number (0 = the flags, M area), address = byte
    /// offset of the element.
    pub const S7: Table = Table(2000);
    /// IEC 104 information objects: unit = common address, address = IOA.
    pub const IEC104: Table = Table(2001);
    /// BACnet present values: unit = object type, address = object instance.
    pub const BACNET: Table = Table(2002);
    /// CIP tags and attributes (addressed by name; address = a hash of the name).
    pub const CIP: Table = Table(2003);

    /// A DNP3 object group.
    pub fn dnp3(group: u8) -> Table {
        Table(1000 + u16::from(group))
    }

    /// The name used in baselines and alerts (`holding_register`, `g40`).
    pub fn name(self) -> String {
        match self.0 {
            0 => "coil".into(),
            1 => "discrete_input".into(),
            2 => "holding_register".into(),
            3 => "input_register".into(),
            2000 => "s7".into(),
            2001 => "iec104".into(),
            2002 => "bacnet".into(),
            2003 => "cip".into(),
            n if (1000..1256).contains(&n) => format!("g{}", n - 1000),
            n => format!("table{n}"),
        }
    }

    /// Parses a [`Table::name`].
    pub fn parse(s: &str) -> Option<Table> {
        match s {
            "coil" => Some(Table::COIL),
            "discrete_input" => Some(Table::DISCRETE_INPUT),
            "holding_register" => Some(Table::HOLDING_REGISTER),
            "input_register" => Some(Table::INPUT_REGISTER),
            "s7" => Some(Table::S7),
            "iec104" => Some(Table::IEC104),
            "bacnet" => Some(Table::BACNET),
            "cip" => Some(Table::CIP),
            _ => {
                if let Some(g) = s.strip_prefix('g') {
                    g.parse::<u8>().ok().map(Table::dnp3)
                } else {
                    s.strip_prefix("table")
                        .and_then(|n| n.parse().ok())
                        .map(Table)
                }
            }
        }
    }
}

/// A range of addresses read or written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Touch {
    /// Unit id (Modbus) or outstation address (DNP3).
    pub unit: u16,
    /// The table.
    pub table: Table,
    /// Written (true) or read.
    pub write: bool,
    /// First address.
    pub first: u32,
    /// Last address (inclusive).
    pub last: u32,
}

/// One value seen at an address.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Seen {
    /// Unit id or outstation address.
    pub unit: u16,
    /// The table.
    pub table: Table,
    /// The address.
    pub address: u32,
    /// The value.
    pub value: f64,
    /// Written by the request (true) or read from the response.
    pub written: bool,
}

fn mb_table(t: MbTable) -> Table {
    match t {
        MbTable::Coil => Table::COIL,
        MbTable::HoldingRegister => Table::HOLDING_REGISTER,
    }
}

fn span(first: u16, count: u16) -> Option<(u32, u32)> {
    (count > 0).then(|| {
        let f = u32::from(first);
        (f, f + u32::from(count) - 1)
    })
}

/// Fills `touches` and `seen` for a record (cleared first). Values are capped at 256
/// per transaction.
pub fn extract(record: &Record, touches: &mut Vec<Touch>, seen: &mut Vec<Seen>) {
    touches.clear();
    seen.clear();
    match record {
        Record::Modbus(t) => {
            let unit = u16::from(t.unit_id);
            let mut touch = |table, write, first: Option<u16>, count: Option<u16>| {
                if let Some((first, last)) = first.zip(count).and_then(|(f, c)| span(f, c)) {
                    touches.push(Touch {
                        unit,
                        table,
                        write,
                        first,
                        last,
                    });
                }
            };
            match t.function_code {
                1 => touch(Table::COIL, false, t.address, t.quantity),
                2 => touch(Table::DISCRETE_INPUT, false, t.address, t.quantity),
                3 => touch(Table::HOLDING_REGISTER, false, t.address, t.quantity),
                4 => touch(Table::INPUT_REGISTER, false, t.address, t.quantity),
                5 => touch(Table::COIL, true, t.address, Some(1)),
                6 | 22 => touch(Table::HOLDING_REGISTER, true, t.address, Some(1)),
                15 => touch(Table::COIL, true, t.address, t.quantity),
                16 => touch(Table::HOLDING_REGISTER, true, t.address, t.quantity),
                23 => {
                    touch(
                        Table::HOLDING_REGISTER,
                        false,
                        t.read_address,
                        t.read_quantity,
                    );
                    touch(
                        Table::HOLDING_REGISTER,
                        true,
                        t.write_address,
                        t.write_quantity,
                    );
                }
                _ => {}
            }
            for w in t.written().into_iter().take(256) {
                seen.push(Seen {
                    unit,
                    table: mb_table(w.kind),
                    address: u32::from(w.address),
                    value: f64::from(w.value),
                    written: true,
                });
            }
            // Values read back: a response without exception to a paired read.
            if t.request && t.response && t.exception.is_none() {
                let (table, start) = match t.function_code {
                    1 => (Table::COIL, t.address),
                    2 => (Table::DISCRETE_INPUT, t.address),
                    3 => (Table::HOLDING_REGISTER, t.address),
                    4 => (Table::INPUT_REGISTER, t.address),
                    23 => (Table::HOLDING_REGISTER, t.read_address),
                    _ => return,
                };
                let (Some(start), Some(values)) = (start, t.values.as_ref()) else {
                    return;
                };
                for (i, v) in values.iter().enumerate().take(256) {
                    let Ok(i) = u32::try_from(i) else { break };
                    seen.push(Seen {
                        unit,
                        table,
                        address: u32::from(start) + i,
                        value: f64::from(*v),
                        written: false,
                    });
                }
            }
        }
        Record::Dnp3(t) => {
            if t.app_function().is_none() {
                return;
            }
            // Requests go to the outstation (destination); responses come from it.
            let unit = if t.request { t.destination } else { t.source };
            for (group, index, value) in t.operated_points().into_iter().take(256) {
                seen.push(Seen {
                    unit,
                    table: Table::dnp3(group),
                    address: index,
                    value,
                    written: true,
                });
                touches.push(Touch {
                    unit,
                    table: Table::dnp3(group),
                    write: true,
                    first: index,
                    last: index,
                });
            }
            for p in t.response_points.iter().take(256) {
                if let Some(v) = p.value.as_ref().and_then(|v| v.as_f64()) {
                    seen.push(Seen {
                        unit,
                        table: Table::dnp3(p.group),
                        address: p.index,
                        value: v,
                        written: false,
                    });
                }
            }
            // Read ranges: consecutive response point indexes per group.
            let mut i = 0;
            let pts = &t.response_points;
            while let Some(p) = pts.get(i) {
                let mut last = p.index;
                let mut j = i + 1;
                while let Some(q) = pts.get(j) {
                    if q.group == p.group && last.checked_add(1) == Some(q.index) {
                        last = q.index;
                        j += 1;
                    } else {
                        break;
                    }
                }
                if touches.len() < 256 {
                    touches.push(Touch {
                        unit,
                        table: Table::dnp3(p.group),
                        write: false,
                        first: p.index,
                        last,
                    });
                }
                i = j;
            }
        }
        _ => {}
    }
}

/// How a written point is found in the policy's envelopes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PointKey {
    /// By unit and register number (`[[envelope]] unit` and `register`).
    Number {
        /// Unit id, DNP3 outstation, S7 data block, IEC 104 common address, BACnet
        /// object type.
        unit: u16,
        /// Register, point index, S7 byte offset, IOA, BACnet instance.
        register: u32,
    },
    /// By name (`[[envelope]] name`, matched without regard to case) and element
    /// index (`register`; 0 for a scalar): CIP tags and attributes.
    Name {
        /// Tag name without its element index, or `0xCLASS/INSTANCE/ATTRIBUTE`.
        name: String,
        /// Element index.
        index: u32,
    },
}

/// A value a request writes to a point of S7, IEC 104, CIP or BACnet.
#[derive(Debug, Clone, PartialEq)]
pub struct PointWrite {
    /// The table ([`Table::S7`], [`Table::IEC104`], [`Table::CIP`], [`Table::BACNET`]).
    pub table: Table,
    /// How the envelope is found.
    pub key: PointKey,
    /// Unit and address under which the last value is remembered.
    pub unit: u16,
    /// See `unit`.
    pub address: u32,
    /// The value written.
    pub value: f64,
    /// The point as an operator names it: `DB1.DBD8`, `IOA 5001 (common address 1)`,
    /// `tag NaOH_Setpoint`, `analog-value,7 present-value`.
    pub label: String,
}

fn fnv32(s: &str) -> u32 {
    s.bytes().fold(0x811c_9dc5u32, |h, b| {
        (h ^ u32::from(b)).wrapping_mul(0x0100_0193)
    })
}

/// An S7 element: data block (0 for flags), size letter (`B`, `W`, `D`), byte offset.
type S7Elem = (u16, char, u32);

/// `DB1.DBW10` → (1, 'W', 10); `MD16` → (0, 'D', 16). Bit, input, output, timer and
/// counter addresses are not enveloped (`None`).
fn s7_point(addr: &str) -> Option<S7Elem> {
    let sized = |rest: &str| -> Option<(char, u32)> {
        let mut c = rest.chars();
        match c.next()? {
            l @ ('B' | 'W' | 'D') => c.as_str().parse().ok().map(|b| (l, b)),
            _ => None,
        }
    };
    if let Some(rest) = addr.strip_prefix("DB") {
        let (db, elem) = rest.split_once('.')?;
        let db: u16 = db.parse().ok()?;
        let (l, b) = sized(elem.strip_prefix("DB")?)?;
        return Some((db, l, b));
    }
    addr.strip_prefix('M')
        .and_then(sized)
        .map(|(l, b)| (0, l, b))
}

/// `Tag[3]` → ("Tag", 3); `Tag` → ("Tag", 0); anything else whole, index 0.
fn cip_point(item: &str) -> (String, u32) {
    if let Some(open) = item.rfind('[') {
        if let Some(idx) = item
            .strip_suffix(']')
            .and_then(|s| s.get(open + 1..))
            .and_then(|i| i.parse().ok())
        {
            return (item.get(..open).unwrap_or(item).to_string(), idx);
        }
    }
    (item.to_string(), 0)
}

/// Fills `out` (cleared first) with the values `record` writes to points of S7
/// (write var, typed byte/word/dword elements of data blocks and flags), IEC 104
/// (executed commands, setpoints and parameters), CIP (Write_Tag, Write_Tag_Fragmented,
/// Set_Attribute_Single) and BACnet (WriteProperty(Multiple) of present-value). At most
/// 256 per transaction.
pub fn written_points(record: &Record, out: &mut Vec<PointWrite>) {
    out.clear();
    match record {
        Record::S7comm(t) => {
            let w: Vec<(String, f64, Option<S7Elem>)> = t
                .written()
                .into_iter()
                .take(256)
                .map(|(a, v)| {
                    let p = s7_point(&a);
                    (a, v, p)
                })
                .collect();
            // A run of byte elements is a raw byte array (python-snap7's db_write, many
            // HMIs): the bytes of a word, a DINT or a REAL, not values. Only typed
            // elements and lone bytes are checked.
            let raw = |db: u16, byte: u32| {
                w.iter().any(|(_, _, q)| {
                    matches!(q, Some((d, 'B', b)) if *d == db
                        && (b.checked_add(1) == Some(byte) || byte.checked_add(1) == Some(*b)))
                })
            };
            for (addr, value, p) in &w {
                let Some((db, letter, byte)) = *p else {
                    continue;
                };
                if letter == 'B' && raw(db, byte) {
                    continue;
                }
                out.push(PointWrite {
                    table: Table::S7,
                    key: PointKey::Number {
                        unit: db,
                        register: byte,
                    },
                    unit: db,
                    address: byte,
                    value: *value,
                    label: addr.clone(),
                });
            }
        }
        Record::Iec104(t) => {
            for (item, value) in t.written().into_iter().take(256) {
                let Some((ca, ioa)) = item.split_once(':') else {
                    continue;
                };
                let (Ok(ca), Ok(ioa)) = (ca.parse::<u16>(), ioa.parse::<u32>()) else {
                    continue;
                };
                out.push(PointWrite {
                    table: Table::IEC104,
                    key: PointKey::Number {
                        unit: ca,
                        register: ioa,
                    },
                    unit: ca,
                    address: ioa,
                    value,
                    label: format!("IOA {ioa} (common address {ca})"),
                });
            }
        }
        Record::Enip(t) => {
            for (item, value) in t.written().into_iter().take(256) {
                let (name, index) = cip_point(&item);
                let label = if item.starts_with("0x") {
                    format!("attribute {item}")
                } else {
                    format!("tag {item}")
                };
                out.push(PointWrite {
                    table: Table::CIP,
                    unit: 0,
                    // Logix tag names ignore case.
                    address: fnv32(&item.to_ascii_lowercase()),
                    key: PointKey::Name { name, index },
                    value,
                    label,
                });
            }
        }
        Record::Bacnet(t) => {
            if !t.request || t.pdu_type != Some("confirmed_request") {
                return;
            }
            if !matches!(t.function_code, 15 | 16) {
                return;
            }
            let Some(d) = t.detail.as_deref() else {
                return;
            };
            // present-value (85) only: the value a controller acts on.
            for p in d.properties.iter().filter(|p| p.property == 85).take(256) {
                let (Some(obj), Some(value)) = (
                    p.object.or(d.object),
                    p.values.first().and_then(|v| v.as_f64()),
                ) else {
                    continue;
                };
                out.push(PointWrite {
                    table: Table::BACNET,
                    key: PointKey::Number {
                        unit: obj.object_type,
                        register: obj.instance,
                    },
                    unit: obj.object_type,
                    address: obj.instance,
                    value,
                    label: format!("{obj} present-value"),
                });
            }
        }
        _ => {}
    }
}

/// The envelope bounding a point of `server`: by unit and register (a unit beyond
/// 255 only matches envelopes without a unit), or by name and element index.
pub fn find_envelope<'p>(
    policy: &'p Policy,
    server: IpAddr,
    key: &PointKey,
) -> Option<&'p Envelope> {
    let device = server.to_canonical();
    match key {
        PointKey::Number { unit, register } => {
            let register = u16::try_from(*register).ok()?;
            match u8::try_from(*unit) {
                Ok(u) => policy.envelope(server, u, register),
                Err(_) => policy.envelopes().iter().find(|e| {
                    e.device == device && e.unit.is_none() && e.registers.contains(register)
                }),
            }
        }
        PointKey::Name { name, index } => {
            let index = u16::try_from(*index).ok()?;
            policy.envelopes().iter().find(|e| {
                e.device == device
                    && e.name
                        .as_deref()
                        .is_some_and(|n| n.eq_ignore_ascii_case(name))
                    && e.registers.contains(index)
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_names_round_trip() {
        for t in [
            Table::COIL,
            Table::HOLDING_REGISTER,
            Table::INPUT_REGISTER,
            Table::DISCRETE_INPUT,
            Table::dnp3(40),
            Table::S7,
            Table::IEC104,
            Table::BACNET,
            Table::CIP,
        ] {
            assert_eq!(Table::parse(&t.name()), Some(t));
        }
        assert_eq!(Table::parse("nope"), None);
    }

    #[test]
    fn s7_addresses_become_data_block_and_byte() {
        assert_eq!(s7_point("DB1.DBW10"), Some((1, 'W', 10)));
        assert_eq!(s7_point("DB300.DBD8"), Some((300, 'D', 8)));
        assert_eq!(s7_point("DB1.DBB0"), Some((1, 'B', 0)));
        assert_eq!(s7_point("MW16"), Some((0, 'W', 16)));
        assert_eq!(s7_point("MD4"), Some((0, 'D', 4)));
        for no in [
            "DB1.DBX0.1",
            "M0.1",
            "Q0.1",
            "IW4",
            "T3",
            "C1",
            "DI2.DIW4",
            "",
            "DB.DBW1",
            "DBx.DBW1",
        ] {
            assert_eq!(s7_point(no), None, "{no}");
        }
    }

    #[test]
    fn cip_tags_split_their_element_index() {
        assert_eq!(cip_point("Setpoint"), ("Setpoint".into(), 0));
        assert_eq!(cip_point("Arr[7]"), ("Arr".into(), 7));
        assert_eq!(cip_point("Prog:Main.Arr[12]"), ("Prog:Main.Arr".into(), 12));
        assert_eq!(cip_point("Grid[1,2]"), ("Grid[1,2]".into(), 0));
        assert_eq!(cip_point("0x04/100/3"), ("0x04/100/3".into(), 0));
        assert_eq!(cip_point("]["), ("][".into(), 0));
    }
}
