//! What a transaction touches: register (point) ranges read or written and the values
//! seen, per unit and table, for Modbus and DNP3 (typed, no JSON on the hot path).

use sluice_proto::modbus::Table as MbTable;
use sluice_proto::Record;

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
            n if n >= 1000 => format!("g{}", n - 1000),
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
        ] {
            assert_eq!(Table::parse(&t.name()), Some(t));
        }
        assert_eq!(Table::parse("nope"), None);
    }
}
