//! Modbus/TCP request and response builders, for traffic generators, the gateway
//! and tests: `encode::request(tid, unit, &Request::ReadHoldingRegisters { .. })`.
//!
//! The builders enforce what framing needs (a PDU of at most 253 bytes, counts that
//! fit their fields) but not the specification's per-function quantity limits, so
//! that tests can build unusual yet well-framed traffic.
use super::parser::MAX_PDU_LEN;
use thiserror::Error;

/// Why a PDU cannot be encoded.
#[derive(Clone, Copy, Debug, Error, PartialEq, Eq)]
pub enum EncodeError {
    #[error("PDU of {0} bytes exceeds 253")]
    PduTooLong(usize),
    #[error("{0} values do not fit the count field")]
    TooManyValues(usize),
}

/// A file record to write (function 21).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FileWrite<'a> {
    pub file_number: u16,
    pub record_number: u16,
    pub values: &'a [u16],
}

/// A file record to read (function 20).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FileRead {
    pub file_number: u16,
    pub record_number: u16,
    pub record_length: u16,
}

/// A request to encode.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Request<'a> {
    ReadCoils {
        address: u16,
        quantity: u16,
    },
    ReadDiscreteInputs {
        address: u16,
        quantity: u16,
    },
    ReadHoldingRegisters {
        address: u16,
        quantity: u16,
    },
    ReadInputRegisters {
        address: u16,
        quantity: u16,
    },
    WriteSingleCoil {
        address: u16,
        value: bool,
    },
    WriteSingleRegister {
        address: u16,
        value: u16,
    },
    ReadExceptionStatus,
    Diagnostics {
        sub_function: u16,
        data: &'a [u8],
    },
    GetCommEventCounter,
    GetCommEventLog,
    WriteMultipleCoils {
        address: u16,
        values: &'a [bool],
    },
    WriteMultipleRegisters {
        address: u16,
        values: &'a [u16],
    },
    ReportServerId,
    ReadFileRecord {
        records: &'a [FileRead],
    },
    WriteFileRecord {
        records: &'a [FileWrite<'a>],
    },
    MaskWriteRegister {
        address: u16,
        and_mask: u16,
        or_mask: u16,
    },
    ReadWriteMultipleRegisters {
        read_address: u16,
        read_quantity: u16,
        write_address: u16,
        values: &'a [u16],
    },
    ReadFifoQueue {
        address: u16,
    },
    ReadDeviceIdentification {
        read_code: u8,
        object_id: u8,
    },
    /// Any function code and data, sent as is.
    Raw {
        function_code: u8,
        data: &'a [u8],
    },
}

/// A response to encode.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Response<'a> {
    ReadCoils {
        bits: &'a [bool],
    },
    ReadDiscreteInputs {
        bits: &'a [bool],
    },
    ReadHoldingRegisters {
        values: &'a [u16],
    },
    ReadInputRegisters {
        values: &'a [u16],
    },
    WriteSingleCoil {
        address: u16,
        value: bool,
    },
    WriteSingleRegister {
        address: u16,
        value: u16,
    },
    ReadExceptionStatus {
        status: u8,
    },
    Diagnostics {
        sub_function: u16,
        data: &'a [u8],
    },
    GetCommEventCounter {
        status: u16,
        event_count: u16,
    },
    WriteMultipleCoils {
        address: u16,
        quantity: u16,
    },
    WriteMultipleRegisters {
        address: u16,
        quantity: u16,
    },
    ReportServerId {
        server_id: u8,
        running: bool,
        additional: &'a [u8],
    },
    MaskWriteRegister {
        address: u16,
        and_mask: u16,
        or_mask: u16,
    },
    ReadWriteMultipleRegisters {
        values: &'a [u16],
    },
    ReadFifoQueue {
        values: &'a [u16],
    },
    /// Function 43/14; objects are (object id, value).
    ReadDeviceIdentification {
        read_code: u8,
        conformity_level: u8,
        more_follows: bool,
        next_object_id: u8,
        objects: &'a [(u8, &'a [u8])],
    },
    /// `function_code` without the exception bit.
    Exception {
        function_code: u8,
        code: u8,
    },
    Raw {
        function_code: u8,
        data: &'a [u8],
    },
}

fn put16(v: &mut Vec<u8>, x: u16) {
    v.extend_from_slice(&x.to_be_bytes());
}

fn count8(n: usize) -> Result<u8, EncodeError> {
    u8::try_from(n).map_err(|_| EncodeError::TooManyValues(n))
}

fn count16(n: usize) -> Result<u16, EncodeError> {
    u16::try_from(n).map_err(|_| EncodeError::TooManyValues(n))
}

fn pack_bits(v: &mut Vec<u8>, bits: &[bool]) {
    for chunk in bits.chunks(8) {
        let byte = chunk
            .iter()
            .enumerate()
            .fold(0u8, |acc, (i, &b)| if b { acc | (1 << i) } else { acc });
        v.push(byte);
    }
}

fn put_regs(v: &mut Vec<u8>, values: &[u16]) {
    for &x in values {
        put16(v, x);
    }
}

/// The PDU (function code + data) of a request.
pub fn request_pdu(req: &Request<'_>) -> Result<Vec<u8>, EncodeError> {
    let mut v = Vec::with_capacity(16);
    match *req {
        Request::ReadCoils { address, quantity } => read(&mut v, 1, address, quantity),
        Request::ReadDiscreteInputs { address, quantity } => read(&mut v, 2, address, quantity),
        Request::ReadHoldingRegisters { address, quantity } => read(&mut v, 3, address, quantity),
        Request::ReadInputRegisters { address, quantity } => read(&mut v, 4, address, quantity),
        Request::WriteSingleCoil { address, value } => {
            v.push(5);
            put16(&mut v, address);
            put16(&mut v, if value { 0xFF00 } else { 0 });
        }
        Request::WriteSingleRegister { address, value } => {
            v.push(6);
            put16(&mut v, address);
            put16(&mut v, value);
        }
        Request::ReadExceptionStatus => v.push(7),
        Request::Diagnostics { sub_function, data } => {
            v.push(8);
            put16(&mut v, sub_function);
            v.extend_from_slice(data);
        }
        Request::GetCommEventCounter => v.push(11),
        Request::GetCommEventLog => v.push(12),
        Request::WriteMultipleCoils { address, values } => {
            v.push(15);
            put16(&mut v, address);
            put16(&mut v, count16(values.len())?);
            v.push(count8(values.len().div_ceil(8))?);
            pack_bits(&mut v, values);
        }
        Request::WriteMultipleRegisters { address, values } => {
            v.push(16);
            put16(&mut v, address);
            put16(&mut v, count16(values.len())?);
            v.push(count8(values.len() * 2)?);
            put_regs(&mut v, values);
        }
        Request::ReportServerId => v.push(17),
        Request::ReadFileRecord { records } => {
            v.push(20);
            v.push(count8(records.len() * 7)?);
            for r in records {
                v.push(6);
                put16(&mut v, r.file_number);
                put16(&mut v, r.record_number);
                put16(&mut v, r.record_length);
            }
        }
        Request::WriteFileRecord { records } => {
            v.push(21);
            let n: usize = records.iter().map(|r| 7 + r.values.len() * 2).sum();
            v.push(count8(n)?);
            for r in records {
                v.push(6);
                put16(&mut v, r.file_number);
                put16(&mut v, r.record_number);
                put16(&mut v, count16(r.values.len())?);
                put_regs(&mut v, r.values);
            }
        }
        Request::MaskWriteRegister {
            address,
            and_mask,
            or_mask,
        } => {
            v.push(22);
            put16(&mut v, address);
            put16(&mut v, and_mask);
            put16(&mut v, or_mask);
        }
        Request::ReadWriteMultipleRegisters {
            read_address,
            read_quantity,
            write_address,
            values,
        } => {
            v.push(23);
            put16(&mut v, read_address);
            put16(&mut v, read_quantity);
            put16(&mut v, write_address);
            put16(&mut v, count16(values.len())?);
            v.push(count8(values.len() * 2)?);
            put_regs(&mut v, values);
        }
        Request::ReadFifoQueue { address } => {
            v.push(24);
            put16(&mut v, address);
        }
        Request::ReadDeviceIdentification {
            read_code,
            object_id,
        } => {
            v.extend_from_slice(&[43, 0x0E, read_code, object_id]);
        }
        Request::Raw {
            function_code,
            data,
        } => {
            v.push(function_code);
            v.extend_from_slice(data);
        }
    }
    check(v)
}

fn read(v: &mut Vec<u8>, fc: u8, address: u16, quantity: u16) {
    v.push(fc);
    put16(v, address);
    put16(v, quantity);
}

fn check(v: Vec<u8>) -> Result<Vec<u8>, EncodeError> {
    if v.len() > MAX_PDU_LEN {
        Err(EncodeError::PduTooLong(v.len()))
    } else {
        Ok(v)
    }
}

/// The PDU (function code + data) of a response.
pub fn response_pdu(resp: &Response<'_>) -> Result<Vec<u8>, EncodeError> {
    let mut v = Vec::with_capacity(16);
    match *resp {
        Response::ReadCoils { bits } | Response::ReadDiscreteInputs { bits } => {
            v.push(if matches!(resp, Response::ReadCoils { .. }) {
                1
            } else {
                2
            });
            v.push(count8(bits.len().div_ceil(8))?);
            pack_bits(&mut v, bits);
        }
        Response::ReadHoldingRegisters { values }
        | Response::ReadInputRegisters { values }
        | Response::ReadWriteMultipleRegisters { values } => {
            v.push(match resp {
                Response::ReadHoldingRegisters { .. } => 3,
                Response::ReadInputRegisters { .. } => 4,
                _ => 23,
            });
            v.push(count8(values.len() * 2)?);
            put_regs(&mut v, values);
        }
        Response::WriteSingleCoil { address, value } => {
            v.push(5);
            put16(&mut v, address);
            put16(&mut v, if value { 0xFF00 } else { 0 });
        }
        Response::WriteSingleRegister { address, value } => {
            v.push(6);
            put16(&mut v, address);
            put16(&mut v, value);
        }
        Response::ReadExceptionStatus { status } => v.extend_from_slice(&[7, status]),
        Response::Diagnostics { sub_function, data } => {
            v.push(8);
            put16(&mut v, sub_function);
            v.extend_from_slice(data);
        }
        Response::GetCommEventCounter {
            status,
            event_count,
        } => {
            v.push(11);
            put16(&mut v, status);
            put16(&mut v, event_count);
        }
        Response::WriteMultipleCoils { address, quantity } => {
            v.push(15);
            put16(&mut v, address);
            put16(&mut v, quantity);
        }
        Response::WriteMultipleRegisters { address, quantity } => {
            v.push(16);
            put16(&mut v, address);
            put16(&mut v, quantity);
        }
        Response::ReportServerId {
            server_id,
            running,
            additional,
        } => {
            v.push(17);
            v.push(count8(2 + additional.len())?);
            v.push(server_id);
            v.push(if running { 0xFF } else { 0 });
            v.extend_from_slice(additional);
        }
        Response::MaskWriteRegister {
            address,
            and_mask,
            or_mask,
        } => {
            v.push(22);
            put16(&mut v, address);
            put16(&mut v, and_mask);
            put16(&mut v, or_mask);
        }
        Response::ReadFifoQueue { values } => {
            v.push(24);
            put16(&mut v, count16(2 + values.len() * 2)?);
            put16(&mut v, count16(values.len())?);
            put_regs(&mut v, values);
        }
        Response::ReadDeviceIdentification {
            read_code,
            conformity_level,
            more_follows,
            next_object_id,
            objects,
        } => {
            v.extend_from_slice(&[
                43,
                0x0E,
                read_code,
                conformity_level,
                if more_follows { 0xFF } else { 0 },
                next_object_id,
                count8(objects.len())?,
            ]);
            for (id, value) in objects {
                v.push(*id);
                v.push(count8(value.len())?);
                v.extend_from_slice(value);
            }
        }
        Response::Exception {
            function_code,
            code,
        } => v.extend_from_slice(&[function_code | 0x80, code]),
        Response::Raw {
            function_code,
            data,
        } => {
            v.push(function_code);
            v.extend_from_slice(data);
        }
    }
    check(v)
}

/// A whole Modbus/TCP frame (MBAP header + PDU).
pub fn frame(transaction_id: u16, unit_id: u8, pdu: &[u8]) -> Result<Vec<u8>, EncodeError> {
    if pdu.len() > MAX_PDU_LEN {
        return Err(EncodeError::PduTooLong(pdu.len()));
    }
    let mut v = Vec::with_capacity(7 + pdu.len());
    put16(&mut v, transaction_id);
    put16(&mut v, 0);
    put16(&mut v, count16(pdu.len() + 1)?);
    v.push(unit_id);
    v.extend_from_slice(pdu);
    Ok(v)
}

/// A whole request frame.
pub fn request(
    transaction_id: u16,
    unit_id: u8,
    req: &Request<'_>,
) -> Result<Vec<u8>, EncodeError> {
    frame(transaction_id, unit_id, &request_pdu(req)?)
}

/// A whole response frame.
pub fn response(
    transaction_id: u16,
    unit_id: u8,
    resp: &Response<'_>,
) -> Result<Vec<u8>, EncodeError> {
    frame(transaction_id, unit_id, &response_pdu(resp)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_frames() {
        // digitalbond part 1 frame 57: read holding registers 5..7, unit 10
        assert_eq!(
            request(
                1,
                10,
                &Request::ReadHoldingRegisters {
                    address: 5,
                    quantity: 2
                }
            )
            .unwrap(),
            vec![0, 1, 0, 0, 0, 6, 10, 3, 0, 5, 0, 2]
        );
        // pymodbus capture frame 302: write multiple coils, 10 coils, 0x20 0x00
        let mut bits = [false; 10];
        bits[5] = true;
        assert_eq!(
            request(
                0x95,
                17,
                &Request::WriteMultipleCoils {
                    address: 0x59,
                    values: &bits
                }
            )
            .unwrap(),
            vec![0x00, 0x95, 0, 0, 0, 9, 0x11, 0x0f, 0x00, 0x59, 0x00, 0x0a, 0x02, 0x20, 0x00]
        );
        assert_eq!(
            response(
                0,
                10,
                &Response::Exception {
                    function_code: 8,
                    code: 0x0b
                }
            )
            .unwrap(),
            vec![0, 0, 0, 0, 0, 3, 10, 0x88, 0x0b]
        );
    }

    #[test]
    fn limits() {
        let many = [0u16; 200];
        assert_eq!(
            request(
                0,
                1,
                &Request::WriteMultipleRegisters {
                    address: 0,
                    values: &many
                }
            ),
            Err(EncodeError::TooManyValues(400))
        );
        let big = [0u8; 260];
        assert_eq!(
            request(
                0,
                1,
                &Request::Raw {
                    function_code: 100,
                    data: &big
                }
            ),
            Err(EncodeError::PduTooLong(261))
        );
    }
}
