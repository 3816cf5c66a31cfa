//! S7comm over ISO-on-TCP (RFC 1006): TPKT, COTP connection request/confirm and data
//! TPDUs, S7 jobs and acknowledgements (setup communication, read var, PLC stop).
use super::{check, patch_u16, AppError};

/// S7 parameter function codes.
pub mod func {
    pub const READ_VAR: u8 = 0x04;
    pub const WRITE_VAR: u8 = 0x05;
    pub const PLC_STOP: u8 = 0x29;
    pub const SETUP_COMMUNICATION: u8 = 0xf0;
}

/// Memory areas.
pub mod area {
    pub const INPUTS: u8 = 0x81;
    pub const OUTPUTS: u8 = 0x82;
    pub const FLAGS: u8 = 0x83;
    pub const DB: u8 = 0x84;
}

/// ROSCTR values.
const JOB: u8 = 1;
const ACK_DATA: u8 = 3;

fn tpkt_start(buf: &mut Vec<u8>) -> usize {
    let start = buf.len();
    buf.extend_from_slice(&[3, 0, 0, 0]);
    start
}

fn tpkt_end(buf: &mut Vec<u8>, start: usize) -> Result<(), AppError> {
    let len = buf.len() - start;
    if let Err(e) = check("TPKT length", len, 7, 65_535) {
        buf.truncate(start);
        return Err(e);
    }
    patch_u16(buf, start + 2, len as u16);
    Ok(())
}

fn cotp_connect(
    buf: &mut Vec<u8>,
    code: u8,
    dst_ref: u16,
    src_ref: u16,
    src_tsap: u16,
    dst_tsap: u16,
) -> Result<(), AppError> {
    let start = tpkt_start(buf);
    // LI counts the bytes after itself: fixed part 6 + three parameters 3 + 4 + 4.
    buf.extend_from_slice(&[17, code]);
    buf.extend_from_slice(&dst_ref.to_be_bytes());
    buf.extend_from_slice(&src_ref.to_be_bytes());
    buf.push(0x00); // class 0, no extended formats
    buf.extend_from_slice(&[0xc0, 1, 0x0a]); // TPDU size 1024
    buf.extend_from_slice(&[0xc1, 2]);
    buf.extend_from_slice(&src_tsap.to_be_bytes());
    buf.extend_from_slice(&[0xc2, 2]);
    buf.extend_from_slice(&dst_tsap.to_be_bytes());
    tpkt_end(buf, start)
}

/// The destination TSAP of a connection to the CPU in `rack`/`slot` (PG communication).
pub fn cpu_tsap(rack: u8, slot: u8) -> u16 {
    0x0100 | (u16::from(rack & 0x07) << 5) | u16::from(slot & 0x1f)
}

/// TPKT + COTP connection request (CR).
pub fn connection_request(
    buf: &mut Vec<u8>,
    src_ref: u16,
    src_tsap: u16,
    dst_tsap: u16,
) -> Result<(), AppError> {
    cotp_connect(buf, 0xe0, 0, src_ref, src_tsap, dst_tsap)
}

/// TPKT + COTP connection confirm (CC) answering a request with `peer_ref`.
pub fn connection_confirm(
    buf: &mut Vec<u8>,
    peer_ref: u16,
    src_ref: u16,
    src_tsap: u16,
    dst_tsap: u16,
) -> Result<(), AppError> {
    cotp_connect(buf, 0xd0, peer_ref, src_ref, src_tsap, dst_tsap)
}

fn s7_pdu(
    buf: &mut Vec<u8>,
    rosctr: u8,
    pdu_ref: u16,
    error: Option<(u8, u8)>,
    param: &[u8],
    data: &[u8],
) -> Result<(), AppError> {
    check("S7 parameter length", param.len(), 0, 0xffff)?;
    check("S7 data length", data.len(), 0, 0xffff)?;
    let start = tpkt_start(buf);
    buf.extend_from_slice(&[2, 0xf0, 0x80]); // COTP DT, last data unit
    buf.extend_from_slice(&[0x32, rosctr, 0, 0]);
    buf.extend_from_slice(&pdu_ref.to_be_bytes());
    buf.extend_from_slice(&(param.len() as u16).to_be_bytes());
    buf.extend_from_slice(&(data.len() as u16).to_be_bytes());
    if let Some((class, code)) = error {
        buf.push(class);
        buf.push(code);
    }
    buf.extend_from_slice(param);
    buf.extend_from_slice(data);
    tpkt_end(buf, start)
}

/// TPKT + COTP DT + S7 Job with `param` and `data`.
pub fn job(buf: &mut Vec<u8>, pdu_ref: u16, param: &[u8], data: &[u8]) -> Result<(), AppError> {
    s7_pdu(buf, JOB, pdu_ref, None, param, data)
}

/// TPKT + COTP DT + S7 Ack_Data with error class/code (0, 0 for success).
pub fn ack_data(
    buf: &mut Vec<u8>,
    pdu_ref: u16,
    error_class: u8,
    error_code: u8,
    param: &[u8],
    data: &[u8],
) -> Result<(), AppError> {
    s7_pdu(
        buf,
        ACK_DATA,
        pdu_ref,
        Some((error_class, error_code)),
        param,
        data,
    )
}

/// Setup communication parameter (request and response alike).
pub fn setup_param(max_amq_calling: u16, max_amq_called: u16, pdu_length: u16) -> [u8; 8] {
    let mut p = [0u8; 8];
    p[0] = func::SETUP_COMMUNICATION;
    p[2..4].copy_from_slice(&max_amq_calling.to_be_bytes());
    p[4..6].copy_from_slice(&max_amq_called.to_be_bytes());
    p[6..8].copy_from_slice(&pdu_length.to_be_bytes());
    p
}

/// One variable of a read var request (any-pointer, S7ANY syntax, byte transport).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Item {
    pub area: u8,
    /// Data block number (0 outside the DB area).
    pub db: u16,
    /// Start byte.
    pub start: u32,
    /// Number of bytes.
    pub length: u16,
}

/// Read var parameter for `items`.
pub fn read_var_param(buf: &mut Vec<u8>, items: &[Item]) -> Result<(), AppError> {
    check("read var item count", items.len(), 1, 20)?;
    buf.push(func::READ_VAR);
    buf.push(items.len() as u8);
    for it in items {
        let bit_addr =
            it.start
                .checked_mul(8)
                .filter(|a| *a < 1 << 24)
                .ok_or(AppError::OutOfRange {
                    what: "S7 start byte",
                    value: it.start as usize,
                    min: 0,
                    max: (1 << 21) - 1,
                })?;
        buf.extend_from_slice(&[0x12, 0x0a, 0x10, 0x02]); // variable spec, S7ANY, BYTE
        buf.extend_from_slice(&it.length.to_be_bytes());
        buf.extend_from_slice(&it.db.to_be_bytes());
        buf.push(it.area);
        buf.extend_from_slice(&bit_addr.to_be_bytes()[1..]);
    }
    Ok(())
}

/// Read var response data for the values of each item (return code success, transport
/// size BYTE/WORD/DWORD, length in bits; items padded to even length except the last).
pub fn read_var_data(buf: &mut Vec<u8>, values: &[&[u8]]) -> Result<(), AppError> {
    check("read var item count", values.len(), 1, 20)?;
    for (i, v) in values.iter().enumerate() {
        check("read var item length", v.len(), 0, 0x1fff)?;
        buf.extend_from_slice(&[0xff, 0x04]);
        buf.extend_from_slice(&((v.len() * 8) as u16).to_be_bytes());
        buf.extend_from_slice(v);
        if v.len() % 2 == 1 && i + 1 < values.len() {
            buf.push(0);
        }
    }
    Ok(())
}

/// PLC stop parameter: function 0x29, five reserved bytes, the PI service "P_PROGRAM".
pub fn plc_stop_param() -> [u8; 16] {
    let mut p = [0u8; 16];
    p[0] = func::PLC_STOP;
    p[6] = 9;
    p[7..16].copy_from_slice(b"P_PROGRAM");
    p
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cotp_cr_byte_exact() {
        let mut b = Vec::new();
        connection_request(&mut b, 0x0001, 0x0100, cpu_tsap(0, 2)).unwrap();
        assert_eq!(
            b,
            [3, 0, 0, 22, 17, 0xe0, 0, 0, 0, 1, 0, 0xc0, 1, 0x0a, 0xc1, 2, 1, 0, 0xc2, 2, 1, 2]
        );
    }

    #[test]
    fn plc_stop_matches_the_wire_format() {
        // Job: TPKT 33 bytes, COTP DT, S7 header, 16-byte parameter, no data.
        let mut b = Vec::new();
        job(&mut b, 0x1c00, &plc_stop_param(), &[]).unwrap();
        let mut expect = vec![
            3, 0, 0, 0x21, 2, 0xf0, 0x80, 0x32, 1, 0, 0, 0x1c, 0, 0, 0x10, 0, 0,
        ];
        expect.extend_from_slice(&[0x29, 0, 0, 0, 0, 0, 9]);
        expect.extend_from_slice(b"P_PROGRAM");
        assert_eq!(b, expect);
        b.clear();
        ack_data(&mut b, 0x1c00, 0, 0, &[func::PLC_STOP], &[]).unwrap();
        assert_eq!(
            b,
            [3, 0, 0, 0x14, 2, 0xf0, 0x80, 0x32, 3, 0, 0, 0x1c, 0, 0, 1, 0, 0, 0, 0, 0x29]
        );
    }

    #[test]
    fn read_var_item_layout() {
        let mut p = Vec::new();
        read_var_param(
            &mut p,
            &[Item {
                area: area::DB,
                db: 1,
                start: 10,
                length: 4,
            }],
        )
        .unwrap();
        assert_eq!(p, [4, 1, 0x12, 0x0a, 0x10, 2, 0, 4, 0, 1, 0x84, 0, 0, 0x50]);
        let mut d = Vec::new();
        read_var_data(&mut d, &[&[1, 2, 3], &[4]]).unwrap();
        assert_eq!(d, [0xff, 4, 0, 24, 1, 2, 3, 0, 0xff, 4, 0, 8, 4]);
        assert!(read_var_param(
            &mut p,
            &[Item {
                area: area::DB,
                db: 1,
                start: 1 << 21,
                length: 1
            }]
        )
        .is_err());
    }
}
