//! Modbus/TCP (MBAP header + PDU) requests and responses, and a small device model that
//! answers requests from its data tables the way a PLC does.
use super::{check, patch_u16, AppError};

/// Function codes.
pub mod fc {
    pub const READ_COILS: u8 = 1;
    pub const READ_DISCRETE_INPUTS: u8 = 2;
    pub const READ_HOLDING_REGISTERS: u8 = 3;
    pub const READ_INPUT_REGISTERS: u8 = 4;
    pub const WRITE_SINGLE_COIL: u8 = 5;
    pub const WRITE_SINGLE_REGISTER: u8 = 6;
    pub const WRITE_MULTIPLE_COILS: u8 = 15;
    pub const WRITE_MULTIPLE_REGISTERS: u8 = 16;
    pub const ENCAPSULATED_INTERFACE: u8 = 43;
}

/// Exception codes.
pub mod exc {
    pub const ILLEGAL_FUNCTION: u8 = 1;
    pub const ILLEGAL_DATA_ADDRESS: u8 = 2;
    pub const ILLEGAL_DATA_VALUE: u8 = 3;
    pub const SERVER_DEVICE_FAILURE: u8 = 4;
    pub const GATEWAY_TARGET_FAILED: u8 = 0x0b;
}

/// MEI type of Read Device Identification.
pub const MEI_READ_DEVICE_ID: u8 = 0x0e;

/// One Modbus PDU.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Pdu<'a> {
    /// FC 1-4 request.
    Read { fc: u8, address: u16, quantity: u16 },
    /// FC 1/2 response.
    ReadBits { fc: u8, bits: &'a [bool] },
    /// FC 3/4 response.
    ReadRegisters { fc: u8, values: &'a [u16] },
    /// FC 5 request and response.
    WriteSingleCoil { address: u16, value: bool },
    /// FC 6 request and response.
    WriteSingleRegister { address: u16, value: u16 },
    /// FC 15 request.
    WriteMultipleCoils { address: u16, values: &'a [bool] },
    /// FC 16 request.
    WriteMultipleRegisters { address: u16, values: &'a [u16] },
    /// FC 15/16 response.
    WriteMultipleAck { fc: u8, address: u16, quantity: u16 },
    /// FC 43 / MEI 14 request: read code 1 basic, 2 regular, 3 extended, 4 one object.
    ReadDeviceId { code: u8, object_id: u8 },
    /// FC 43 / MEI 14 response.
    DeviceId {
        code: u8,
        conformity: u8,
        more_follows: bool,
        next_object: u8,
        objects: &'a [(u8, &'a [u8])],
    },
    /// Exception response to function `fc`.
    Exception { fc: u8, code: u8 },
}

fn pack_bits(buf: &mut Vec<u8>, bits: &[bool]) {
    for chunk in bits.chunks(8) {
        let mut b = 0u8;
        for (i, &on) in chunk.iter().enumerate() {
            if on {
                b |= 1 << i;
            }
        }
        buf.push(b);
    }
}

/// Appends one Modbus/TCP ADU: MBAP header (transaction `tid`, protocol 0, length,
/// `unit`) and the PDU.
/// On error nothing is appended.
pub fn encode(buf: &mut Vec<u8>, tid: u16, unit: u8, pdu: &Pdu<'_>) -> Result<(), AppError> {
    let start = buf.len();
    let r = encode_inner(buf, tid, unit, pdu);
    if r.is_err() {
        buf.truncate(start);
    }
    r
}

fn encode_inner(buf: &mut Vec<u8>, tid: u16, unit: u8, pdu: &Pdu<'_>) -> Result<(), AppError> {
    let start = buf.len();
    buf.extend_from_slice(&tid.to_be_bytes());
    buf.extend_from_slice(&[0, 0, 0, 0]);
    buf.push(unit);
    match pdu {
        Pdu::Read {
            fc,
            address,
            quantity,
        } => {
            check("read function", usize::from(*fc), 1, 4)?;
            let max = if *fc <= 2 { 2000 } else { 125 };
            check("read quantity", usize::from(*quantity), 1, max)?;
            buf.push(*fc);
            buf.extend_from_slice(&address.to_be_bytes());
            buf.extend_from_slice(&quantity.to_be_bytes());
        }
        Pdu::ReadBits { fc, bits } => {
            check("bit read function", usize::from(*fc), 1, 2)?;
            check("bit count", bits.len(), 1, 2000)?;
            buf.push(*fc);
            buf.push(bits.len().div_ceil(8) as u8);
            pack_bits(buf, bits);
        }
        Pdu::ReadRegisters { fc, values } => {
            check("register read function", usize::from(*fc), 3, 4)?;
            check("register count", values.len(), 1, 125)?;
            buf.push(*fc);
            buf.push((values.len() * 2) as u8);
            for v in values.iter() {
                buf.extend_from_slice(&v.to_be_bytes());
            }
        }
        Pdu::WriteSingleCoil { address, value } => {
            buf.push(fc::WRITE_SINGLE_COIL);
            buf.extend_from_slice(&address.to_be_bytes());
            buf.extend_from_slice(if *value { &[0xff, 0x00] } else { &[0x00, 0x00] });
        }
        Pdu::WriteSingleRegister { address, value } => {
            buf.push(fc::WRITE_SINGLE_REGISTER);
            buf.extend_from_slice(&address.to_be_bytes());
            buf.extend_from_slice(&value.to_be_bytes());
        }
        Pdu::WriteMultipleCoils { address, values } => {
            check("coil count", values.len(), 1, 1968)?;
            buf.push(fc::WRITE_MULTIPLE_COILS);
            buf.extend_from_slice(&address.to_be_bytes());
            buf.extend_from_slice(&(values.len() as u16).to_be_bytes());
            buf.push(values.len().div_ceil(8) as u8);
            pack_bits(buf, values);
        }
        Pdu::WriteMultipleRegisters { address, values } => {
            check("register count", values.len(), 1, 123)?;
            buf.push(fc::WRITE_MULTIPLE_REGISTERS);
            buf.extend_from_slice(&address.to_be_bytes());
            buf.extend_from_slice(&(values.len() as u16).to_be_bytes());
            buf.push((values.len() * 2) as u8);
            for v in values.iter() {
                buf.extend_from_slice(&v.to_be_bytes());
            }
        }
        Pdu::WriteMultipleAck {
            fc,
            address,
            quantity,
        } => {
            check("write-multiple function", usize::from(*fc), 15, 16)?;
            buf.push(*fc);
            buf.extend_from_slice(&address.to_be_bytes());
            buf.extend_from_slice(&quantity.to_be_bytes());
        }
        Pdu::ReadDeviceId { code, object_id } => {
            check("device id read code", usize::from(*code), 1, 4)?;
            buf.extend_from_slice(&[
                fc::ENCAPSULATED_INTERFACE,
                MEI_READ_DEVICE_ID,
                *code,
                *object_id,
            ]);
        }
        Pdu::DeviceId {
            code,
            conformity,
            more_follows,
            next_object,
            objects,
        } => {
            check("device id object count", objects.len(), 0, 255)?;
            buf.extend_from_slice(&[
                fc::ENCAPSULATED_INTERFACE,
                MEI_READ_DEVICE_ID,
                *code,
                *conformity,
                if *more_follows { 0xff } else { 0 },
                *next_object,
                objects.len() as u8,
            ]);
            for (id, value) in objects.iter() {
                check("device id object length", value.len(), 0, 245)?;
                buf.push(*id);
                buf.push(value.len() as u8);
                buf.extend_from_slice(value);
            }
        }
        Pdu::Exception { fc, code } => {
            buf.push(fc | 0x80);
            buf.push(*code);
        }
    }
    let len = buf.len() - start - 6;
    check("PDU length", len - 1, 1, 253)?;
    patch_u16(buf, start + 4, len as u16);
    Ok(())
}

/// Basic device identification objects.
pub mod obj {
    pub const VENDOR_NAME: u8 = 0;
    pub const PRODUCT_CODE: u8 = 1;
    pub const REVISION: u8 = 2;
    pub const VENDOR_URL: u8 = 3;
    pub const PRODUCT_NAME: u8 = 4;
    pub const MODEL_NAME: u8 = 5;
}

/// A Modbus server's data tables and identity, answering requests like a PLC.
#[derive(Debug, Clone)]
pub struct Device {
    /// Unit ids it answers as itself; other units get exception 0x0B.
    pub units: Vec<u8>,
    pub coils: Vec<bool>,
    pub discrete_inputs: Vec<bool>,
    pub holding: Vec<u16>,
    pub input: Vec<u16>,
    /// Device identification objects (id, value), ids ascending.
    pub identity: Vec<(u8, Vec<u8>)>,
}

impl Device {
    /// A device answering unit `unit` (and 255, "this device") with `n` of each item.
    pub fn new(unit: u8, n: usize) -> Self {
        Device {
            units: vec![unit, 255],
            coils: vec![false; n],
            discrete_inputs: vec![false; n],
            holding: vec![0; n],
            input: vec![0; n],
            identity: Vec::new(),
        }
    }

    /// Sets the basic identification (vendor, product code, revision).
    pub fn with_identity(mut self, vendor: &str, product: &str, revision: &str) -> Self {
        self.identity = vec![
            (obj::VENDOR_NAME, vendor.as_bytes().to_vec()),
            (obj::PRODUCT_CODE, product.as_bytes().to_vec()),
            (obj::REVISION, revision.as_bytes().to_vec()),
        ];
        self
    }

    fn range(len: usize, address: u16, quantity: usize) -> Option<std::ops::Range<usize>> {
        let a = usize::from(address);
        let end = a.checked_add(quantity)?;
        (quantity > 0 && end <= len).then_some(a..end)
    }

    /// Applies `req` (sent to `unit`) to the tables and appends the response ADU.
    pub fn handle(
        &mut self,
        tid: u16,
        unit: u8,
        req: &Pdu<'_>,
        out: &mut Vec<u8>,
    ) -> Result<(), AppError> {
        let ex = |fc: u8, code: u8| Pdu::Exception { fc, code };
        let fc_of = |p: &Pdu<'_>| match p {
            Pdu::Read { fc, .. } => *fc,
            Pdu::WriteSingleCoil { .. } => fc::WRITE_SINGLE_COIL,
            Pdu::WriteSingleRegister { .. } => fc::WRITE_SINGLE_REGISTER,
            Pdu::WriteMultipleCoils { .. } => fc::WRITE_MULTIPLE_COILS,
            Pdu::WriteMultipleRegisters { .. } => fc::WRITE_MULTIPLE_REGISTERS,
            Pdu::ReadDeviceId { .. } => fc::ENCAPSULATED_INTERFACE,
            Pdu::ReadBits { fc, .. } | Pdu::ReadRegisters { fc, .. } => *fc,
            Pdu::WriteMultipleAck { fc, .. } => *fc,
            Pdu::DeviceId { .. } => fc::ENCAPSULATED_INTERFACE,
            Pdu::Exception { fc, .. } => *fc,
        };
        if !self.units.contains(&unit) {
            return encode(out, tid, unit, &ex(fc_of(req), exc::GATEWAY_TARGET_FAILED));
        }
        match *req {
            Pdu::Read {
                fc,
                address,
                quantity,
            } => {
                let q = usize::from(quantity);
                match fc {
                    1 | 2 => {
                        let table = if fc == 1 {
                            &self.coils
                        } else {
                            &self.discrete_inputs
                        };
                        match Self::range(table.len(), address, q).and_then(|r| table.get(r)) {
                            Some(bits) if q <= 2000 => {
                                let bits = bits.to_vec();
                                encode(out, tid, unit, &Pdu::ReadBits { fc, bits: &bits })
                            }
                            _ => encode(out, tid, unit, &ex(fc, exc::ILLEGAL_DATA_ADDRESS)),
                        }
                    }
                    3 | 4 => {
                        let table = if fc == 3 { &self.holding } else { &self.input };
                        match Self::range(table.len(), address, q).and_then(|r| table.get(r)) {
                            Some(values) if q <= 125 => {
                                let values = values.to_vec();
                                encode(
                                    out,
                                    tid,
                                    unit,
                                    &Pdu::ReadRegisters {
                                        fc,
                                        values: &values,
                                    },
                                )
                            }
                            _ => encode(out, tid, unit, &ex(fc, exc::ILLEGAL_DATA_ADDRESS)),
                        }
                    }
                    _ => encode(out, tid, unit, &ex(fc, exc::ILLEGAL_FUNCTION)),
                }
            }
            Pdu::WriteSingleCoil { address, value } => {
                match self.coils.get_mut(usize::from(address)) {
                    Some(c) => {
                        *c = value;
                        encode(out, tid, unit, req)
                    }
                    None => encode(
                        out,
                        tid,
                        unit,
                        &ex(fc::WRITE_SINGLE_COIL, exc::ILLEGAL_DATA_ADDRESS),
                    ),
                }
            }
            Pdu::WriteSingleRegister { address, value } => {
                match self.holding.get_mut(usize::from(address)) {
                    Some(r) => {
                        *r = value;
                        encode(out, tid, unit, req)
                    }
                    None => encode(
                        out,
                        tid,
                        unit,
                        &ex(fc::WRITE_SINGLE_REGISTER, exc::ILLEGAL_DATA_ADDRESS),
                    ),
                }
            }
            Pdu::WriteMultipleCoils { address, values } => {
                match Self::range(self.coils.len(), address, values.len())
                    .and_then(|r| self.coils.get_mut(r))
                {
                    Some(dst) => {
                        dst.copy_from_slice(values);
                        let ack = Pdu::WriteMultipleAck {
                            fc: fc::WRITE_MULTIPLE_COILS,
                            address,
                            quantity: values.len() as u16,
                        };
                        encode(out, tid, unit, &ack)
                    }
                    None => encode(
                        out,
                        tid,
                        unit,
                        &ex(fc::WRITE_MULTIPLE_COILS, exc::ILLEGAL_DATA_ADDRESS),
                    ),
                }
            }
            Pdu::WriteMultipleRegisters { address, values } => {
                match Self::range(self.holding.len(), address, values.len())
                    .and_then(|r| self.holding.get_mut(r))
                {
                    Some(dst) => {
                        dst.copy_from_slice(values);
                        let ack = Pdu::WriteMultipleAck {
                            fc: fc::WRITE_MULTIPLE_REGISTERS,
                            address,
                            quantity: values.len() as u16,
                        };
                        encode(out, tid, unit, &ack)
                    }
                    None => encode(
                        out,
                        tid,
                        unit,
                        &ex(fc::WRITE_MULTIPLE_REGISTERS, exc::ILLEGAL_DATA_ADDRESS),
                    ),
                }
            }
            Pdu::ReadDeviceId { code, object_id } => {
                if self.identity.is_empty() {
                    return encode(
                        out,
                        tid,
                        unit,
                        &ex(fc::ENCAPSULATED_INTERFACE, exc::ILLEGAL_FUNCTION),
                    );
                }
                let objects: Vec<(u8, &[u8])> = self
                    .identity
                    .iter()
                    .filter(|(id, _)| match code {
                        4 => *id == object_id,
                        1 => *id <= obj::REVISION && *id >= object_id,
                        2 => *id <= 0x7f && *id >= object_id,
                        _ => *id >= object_id,
                    })
                    .map(|(id, v)| (*id, v.as_slice()))
                    .collect();
                if objects.is_empty() {
                    return encode(
                        out,
                        tid,
                        unit,
                        &ex(fc::ENCAPSULATED_INTERFACE, exc::ILLEGAL_DATA_ADDRESS),
                    );
                }
                let resp = Pdu::DeviceId {
                    code,
                    conformity: 0x81,
                    more_follows: false,
                    next_object: 0,
                    objects: &objects,
                };
                encode(out, tid, unit, &resp)
            }
            _ => encode(out, tid, unit, &ex(fc_of(req), exc::ILLEGAL_FUNCTION)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn enc(tid: u16, unit: u8, p: Pdu<'_>) -> Vec<u8> {
        let mut b = Vec::new();
        encode(&mut b, tid, unit, &p).unwrap();
        b
    }

    #[test]
    fn requests_byte_exact() {
        // Read holding registers 0..10 of unit 1 (Modbus Application Protocol v1.1b3).
        assert_eq!(
            enc(
                1,
                1,
                Pdu::Read {
                    fc: 3,
                    address: 0,
                    quantity: 10
                }
            ),
            [0, 1, 0, 0, 0, 6, 1, 3, 0, 0, 0, 10]
        );
        // Write single register 5 = 11100 (0x2b5c).
        assert_eq!(
            enc(
                0x1234,
                1,
                Pdu::WriteSingleRegister {
                    address: 5,
                    value: 11100
                }
            ),
            [0x12, 0x34, 0, 0, 0, 6, 1, 6, 0, 5, 0x2b, 0x5c]
        );
        // The spec's FC15 example: 10 coils from 19 (0x13), values CD 01.
        let bits = [
            true, false, true, true, false, false, true, true, true, false,
        ];
        assert_eq!(
            enc(
                2,
                1,
                Pdu::WriteMultipleCoils {
                    address: 0x13,
                    values: &bits
                }
            ),
            [0, 2, 0, 0, 0, 9, 1, 15, 0, 0x13, 0, 10, 2, 0xcd, 0x01]
        );
        assert_eq!(
            enc(
                3,
                1,
                Pdu::WriteSingleCoil {
                    address: 0xac,
                    value: true
                }
            ),
            [0, 3, 0, 0, 0, 6, 1, 5, 0, 0xac, 0xff, 0]
        );
        assert_eq!(
            enc(
                4,
                1,
                Pdu::ReadDeviceId {
                    code: 1,
                    object_id: 0
                }
            ),
            [0, 4, 0, 0, 0, 5, 1, 0x2b, 0x0e, 1, 0]
        );
        assert_eq!(
            enc(5, 1, Pdu::Exception { fc: 6, code: 2 }),
            [0, 5, 0, 0, 0, 3, 1, 0x86, 2]
        );
        let mut b = Vec::new();
        assert!(encode(
            &mut b,
            1,
            1,
            &Pdu::Read {
                fc: 3,
                address: 0,
                quantity: 126
            }
        )
        .is_err());
        assert!(encode(
            &mut b,
            1,
            1,
            &Pdu::WriteMultipleRegisters {
                address: 0,
                values: &[0; 124]
            }
        )
        .is_err());
        assert!(b.is_empty());
    }

    #[test]
    fn device_answers_from_its_tables() {
        let mut d = Device::new(1, 16).with_identity("Schneider Electric", "BMX P34 2020", "v3.10");
        d.holding[5] = 100;
        let mut out = Vec::new();
        d.handle(
            7,
            1,
            &Pdu::WriteSingleRegister {
                address: 5,
                value: 120,
            },
            &mut out,
        )
        .unwrap();
        assert_eq!(out, [0, 7, 0, 0, 0, 6, 1, 6, 0, 5, 0, 120]);
        out.clear();
        d.handle(
            8,
            1,
            &Pdu::Read {
                fc: 3,
                address: 4,
                quantity: 2,
            },
            &mut out,
        )
        .unwrap();
        assert_eq!(out, [0, 8, 0, 0, 0, 7, 1, 3, 4, 0, 0, 0, 120]);
        out.clear();
        d.handle(
            9,
            1,
            &Pdu::Read {
                fc: 3,
                address: 15,
                quantity: 2,
            },
            &mut out,
        )
        .unwrap();
        assert_eq!(out, [0, 9, 0, 0, 0, 3, 1, 0x83, 2]);
        out.clear();
        d.handle(
            10,
            9,
            &Pdu::Read {
                fc: 1,
                address: 0,
                quantity: 1,
            },
            &mut out,
        )
        .unwrap();
        assert_eq!(out, [0, 10, 0, 0, 0, 3, 9, 0x81, 0x0b]);
        out.clear();
        d.handle(
            11,
            1,
            &Pdu::ReadDeviceId {
                code: 1,
                object_id: 0,
            },
            &mut out,
        )
        .unwrap();
        let mut expect = vec![0, 11, 0, 0, 0, 0, 1, 0x2b, 0x0e, 1, 0x81, 0, 0, 3];
        for (id, v) in [
            (0u8, "Schneider Electric"),
            (1, "BMX P34 2020"),
            (2, "v3.10"),
        ] {
            expect.push(id);
            expect.push(v.len() as u8);
            expect.extend_from_slice(v.as_bytes());
        }
        let len = (expect.len() - 6) as u16;
        expect[4..6].copy_from_slice(&len.to_be_bytes());
        assert_eq!(out, expect);
    }
}
