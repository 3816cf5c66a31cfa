//! What a Modbus request touches: unit, function, the addresses it reads and writes,
//! and the register values it writes. Decoding is `sluice_proto`'s; this module only
//! classifies, and refuses (fail closed) anything the decoder flags.

use crate::config::Table;
use sluice_proto::modbus::parser::{self, Request, MBAP_LEN};

/// A span of addresses: first address and count (at least 1, never past 65535).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Span {
    pub start: u16,
    pub count: u16,
}

impl Span {
    fn new(start: u16, count: u16) -> Result<Span, Malformed> {
        if count == 0 {
            return Err(Malformed::Quantity);
        }
        if u32::from(start) + u32::from(count) - 1 > u32::from(u16::MAX) {
            return Err(Malformed::AddressOverflow);
        }
        Ok(Span { start, count })
    }

    /// The last address.
    pub fn last(self) -> u16 {
        self.start.saturating_add(self.count - 1)
    }
}

/// Why a request is refused before any authorisation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Malformed {
    #[error("request PDU cannot be decoded: {0}")]
    Undecodable(parser::PduError),
    #[error("request PDU is inconsistent: {0}")]
    Inconsistent(parser::PduIssue),
    #[error("quantity outside the function's limits")]
    Quantity,
    #[error("address range runs past 65535")]
    AddressOverflow,
    #[error("frame shorter than an MBAP header and a function code")]
    Short,
}

impl Malformed {
    /// The exception a PLC would answer: 02 for an address overflow, 03 otherwise.
    pub fn exception(self) -> u8 {
        match self {
            Malformed::AddressOverflow => 2,
            _ => 3,
        }
    }
}

/// Whether a request reads, writes or does something else.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Class {
    Read,
    Write,
    Other,
}

impl Class {
    pub fn name(self) -> &'static str {
        match self {
            Class::Read => "read",
            Class::Write => "write",
            Class::Other => "other",
        }
    }
}

/// What a request touches.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Access<'a> {
    pub transaction_id: u16,
    pub unit: u8,
    pub function_code: u8,
    pub class: Class,
    /// Addresses read (any table).
    pub read: Option<Span>,
    /// Addresses written and their table.
    pub write: Option<(Table, Span)>,
    pub request: Request<'a>,
}

fn limit(count: u16, max: u16) -> Result<(), Malformed> {
    if count == 0 || count > max {
        Err(Malformed::Quantity)
    } else {
        Ok(())
    }
}

/// Classifies one whole request frame (MBAP header included, header already checked).
pub fn analyse(frame: &[u8]) -> Result<Access<'_>, Malformed> {
    let hdr = parser::Mbap::parse(frame).ok_or(Malformed::Short)?;
    let pdu = frame.get(MBAP_LEN..).ok_or(Malformed::Short)?;
    let d = parser::decode_request(pdu).map_err(Malformed::Undecodable)?;
    if let Some(issue) = d.issue {
        return Err(Malformed::Inconsistent(issue));
    }
    let fc = pdu.first().copied().ok_or(Malformed::Short)?;
    let mut a = Access {
        transaction_id: hdr.transaction_id,
        unit: hdr.unit_id,
        function_code: fc,
        class: Class::Other,
        read: None,
        write: None,
        request: d.pdu,
    };
    match d.pdu {
        Request::Read {
            function_code,
            address,
            quantity,
        } => {
            limit(quantity, if function_code <= 2 { 2000 } else { 125 })?;
            a.class = Class::Read;
            a.read = Some(Span::new(address, quantity)?);
        }
        Request::WriteSingleCoil { address, .. } => {
            a.class = Class::Write;
            a.write = Some((Table::Coil, Span::new(address, 1)?));
        }
        Request::WriteSingleRegister { address, .. } => {
            a.class = Class::Write;
            a.write = Some((Table::HoldingRegister, Span::new(address, 1)?));
        }
        Request::WriteMultipleCoils {
            address, quantity, ..
        } => {
            limit(quantity, 1968)?;
            a.class = Class::Write;
            a.write = Some((Table::Coil, Span::new(address, quantity)?));
        }
        Request::WriteMultipleRegisters {
            address, quantity, ..
        } => {
            limit(quantity, 123)?;
            a.class = Class::Write;
            a.write = Some((Table::HoldingRegister, Span::new(address, quantity)?));
        }
        Request::MaskWriteRegister { address, .. } => {
            a.class = Class::Write;
            a.write = Some((Table::HoldingRegister, Span::new(address, 1)?));
        }
        Request::ReadWriteMultipleRegisters {
            read_address,
            read_quantity,
            write_address,
            write_quantity,
            ..
        } => {
            limit(read_quantity, 125)?;
            limit(write_quantity, 121)?;
            a.class = Class::Write;
            a.read = Some(Span::new(read_address, read_quantity)?);
            a.write = Some((
                Table::HoldingRegister,
                Span::new(write_address, write_quantity)?,
            ));
        }
        Request::ReadFifoQueue { address } => {
            // The count register and up to 31 queued values.
            a.class = Class::Read;
            let count = (65_536u32 - u32::from(address)).min(32) as u16;
            a.read = Some(Span::new(address, count)?);
        }
        Request::ReadFileRecord { .. } => a.class = Class::Read,
        Request::WriteFileRecord { .. } => a.class = Class::Write,
        Request::NoData { .. }
        | Request::ReadDeviceIdentification { .. }
        | Request::Encapsulated { .. } => a.class = Class::Read,
        Request::Diagnostics { .. } | Request::Umas { .. } | Request::Other { .. } => {
            a.class = Class::Other
        }
    }
    Ok(a)
}

/// The holding-register values a request writes, as `(address, value)`; `current`
/// gives a register's present value for a mask write (22), whose result depends on it
/// (`None`: unknown, and the mask write's value is then left out).
pub fn written_registers(
    req: &Request<'_>,
    current: impl Fn(u16) -> Option<u16>,
) -> Vec<(u16, u16)> {
    let many = |start: u16, values: parser::Registers<'_>| {
        values
            .iter()
            .zip(0u16..)
            .map_while(|(v, i)| start.checked_add(i).map(|a| (a, v)))
            .collect()
    };
    match *req {
        Request::WriteSingleRegister { address, value } => vec![(address, value)],
        Request::WriteMultipleRegisters {
            address, values, ..
        } => many(address, values),
        Request::ReadWriteMultipleRegisters {
            write_address,
            values,
            ..
        } => many(write_address, values),
        Request::MaskWriteRegister {
            address,
            and_mask,
            or_mask,
        } => current(address)
            .map(|c| vec![(address, (c & and_mask) | (or_mask & !and_mask))])
            .unwrap_or_default(),
        _ => Vec::new(),
    }
}

/// The coil values a request writes, as `(address, 0 or 1)`.
pub fn written_coils(req: &Request<'_>) -> Vec<(u16, u16)> {
    match *req {
        Request::WriteSingleCoil { address, value } => vec![(address, u16::from(value == 0xFF00))],
        Request::WriteMultipleCoils {
            address, values, ..
        } => values
            .iter()
            .zip(0u16..)
            .map_while(|(v, i)| address.checked_add(i).map(|a| (a, u16::from(v))))
            .collect(),
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sluice_proto::modbus::encode::{self, Request as E};

    fn frame(req: &E<'_>) -> Vec<u8> {
        encode::request(7, 1, req).unwrap()
    }

    #[test]
    fn classifies_reads_and_writes() {
        let f = frame(&E::ReadHoldingRegisters {
            address: 10,
            quantity: 5,
        });
        let a = analyse(&f).unwrap();
        assert_eq!((a.transaction_id, a.unit, a.function_code), (7, 1, 3));
        assert_eq!(a.class, Class::Read);
        assert_eq!(
            a.read,
            Some(Span {
                start: 10,
                count: 5
            })
        );
        assert_eq!(a.write, None);

        let f = frame(&E::WriteSingleRegister {
            address: 5,
            value: 11100,
        });
        let a = analyse(&f).unwrap();
        assert_eq!(a.class, Class::Write);
        assert_eq!(
            a.write,
            Some((Table::HoldingRegister, Span { start: 5, count: 1 }))
        );
        assert_eq!(written_registers(&a.request, |_| None), vec![(5, 11100)]);

        let f = frame(&E::ReadWriteMultipleRegisters {
            read_address: 0,
            read_quantity: 3,
            write_address: 4,
            values: &[1, 2, 3],
        });
        let a = analyse(&f).unwrap();
        assert_eq!(a.read, Some(Span { start: 0, count: 3 }));
        assert_eq!(
            a.write,
            Some((Table::HoldingRegister, Span { start: 4, count: 3 }))
        );
        assert_eq!(
            written_registers(&a.request, |_| None),
            vec![(4, 1), (5, 2), (6, 3)]
        );

        let f = frame(&E::MaskWriteRegister {
            address: 5,
            and_mask: 0x00F0,
            or_mask: 0x0025,
        });
        let a = analyse(&f).unwrap();
        // spec example: current 0x12, AND 0xF2... here: (0x12 & 0xF0) | (0x25 & !0xF0)
        assert_eq!(
            written_registers(&a.request, |_| Some(0x12)),
            vec![(5, 0x10 | 0x05)]
        );
        assert!(written_registers(&a.request, |_| None).is_empty());

        let f = frame(&E::WriteMultipleCoils {
            address: 3,
            values: &[true, false, true],
        });
        let a = analyse(&f).unwrap();
        assert_eq!(a.write, Some((Table::Coil, Span { start: 3, count: 3 })));
        assert_eq!(written_coils(&a.request), vec![(3, 1), (4, 0), (5, 1)]);

        let f = frame(&E::Diagnostics {
            sub_function: 1,
            data: &[0, 0],
        });
        assert_eq!(analyse(&f).unwrap().class, Class::Other);
    }

    #[test]
    fn refuses_what_it_cannot_trust() {
        // quantity 0 and past the limit
        let f = frame(&E::ReadHoldingRegisters {
            address: 0,
            quantity: 0,
        });
        assert_eq!(analyse(&f).unwrap_err(), Malformed::Quantity);
        let f = frame(&E::ReadHoldingRegisters {
            address: 0,
            quantity: 126,
        });
        assert_eq!(analyse(&f).unwrap_err(), Malformed::Quantity);
        // a span running past 65535
        let f = frame(&E::ReadHoldingRegisters {
            address: 65530,
            quantity: 10,
        });
        assert_eq!(analyse(&f).unwrap_err(), Malformed::AddressOverflow);
        assert_eq!(Malformed::AddressOverflow.exception(), 2);
        // truncated PDU: write single register without its value
        let f = encode::frame(1, 1, &[6, 0, 5]).unwrap();
        assert!(matches!(analyse(&f), Err(Malformed::Undecodable(_))));
        // byte count disagreeing with the quantity
        let f = encode::frame(1, 1, &[16, 0, 5, 0, 2, 2, 0, 1]).unwrap();
        assert!(matches!(analyse(&f), Err(Malformed::Inconsistent(_))));
        // a coil value that is neither on nor off
        let f = encode::frame(1, 1, &[5, 0, 5, 0x12, 0x34]).unwrap();
        assert!(matches!(analyse(&f), Err(Malformed::Inconsistent(_))));
    }

    proptest::proptest! {
        #[test]
        fn never_panics(pdu in proptest::collection::vec(proptest::num::u8::ANY, 0..260)) {
            let mut f = vec![0, 1, 0, 0, 0, 0, 1];
            f.extend_from_slice(&pdu);
            if let Ok(a) = analyse(&f) {
                let _ = written_registers(&a.request, |_| Some(0xFFFF));
                let _ = written_coils(&a.request);
                if let Some(s) = a.read { proptest::prop_assert!(s.count > 0); let _ = s.last(); }
            }
            let _ = analyse(&pdu);
        }
    }
}
