//! Builders of TPKT/COTP frames and S7comm PDUs, for tests, fuzz seeds and traffic
//! generation. They produce well-formed bytes; lengths are computed, never given.

/// A variable address of an S7ANY item.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Var {
    /// Request transport size (1 bit, 2 byte, 4 word, 5 int, 8 real...).
    pub transport_size: u8,
    pub count: u16,
    pub db: u16,
    /// Area code (0x84 DB, 0x83 M, 0x81 I, 0x82 Q, 0x1C C, 0x1D T).
    pub area: u8,
    pub byte: u32,
    pub bit: u8,
}

/// A TPKT frame around `tpdu`.
pub fn tpkt(tpdu: &[u8]) -> Vec<u8> {
    let len = u16::try_from(tpdu.len() + 4).unwrap_or(u16::MAX);
    let mut v = vec![3, 0];
    v.extend_from_slice(&len.to_be_bytes());
    v.extend_from_slice(tpdu);
    v
}

/// A class 0 DT TPDU in a TPKT frame.
pub fn dt(payload: &[u8], eot: bool) -> Vec<u8> {
    let mut t = vec![2, 0xF0, if eot { 0x80 } else { 0x00 }];
    t.extend_from_slice(payload);
    tpkt(&t)
}

/// `payload` split over DT TPDUs of at most `chunk` bytes (EOT on the last).
pub fn dts(payload: &[u8], chunk: usize) -> Vec<u8> {
    let chunk = chunk.max(1);
    let n = payload.len().div_ceil(chunk).max(1);
    let mut v = Vec::new();
    for (i, c) in payload.chunks(chunk).enumerate() {
        v.extend(dt(c, i + 1 == n));
    }
    if payload.is_empty() {
        v.extend(dt(&[], true));
    }
    v
}

/// A connection request (`confirm == false`) or confirm with TSAPs and TPDU size
/// 1024.
pub fn connect(confirm: bool, calling: &[u8], called: &[u8]) -> Vec<u8> {
    let mut t = vec![0, if confirm { 0xD0 } else { 0xE0 }, 0, 0, 0, 1, 0];
    t.extend_from_slice(&[0xC0, 1, 0x0A]);
    t.push(0xC1);
    t.push(u8::try_from(calling.len()).unwrap_or(0));
    t.extend_from_slice(
        calling
            .get(..usize::from(t[t.len() - 1]))
            .unwrap_or_default(),
    );
    t.push(0xC2);
    t.push(u8::try_from(called.len()).unwrap_or(0));
    t.extend_from_slice(
        called
            .get(..usize::from(t[t.len() - 1]))
            .unwrap_or_default(),
    );
    t[0] = u8::try_from(t.len() - 1).unwrap_or(0);
    tpkt(&t)
}

/// An S7 PDU: header (with error class/code for ack and ack-data), param, data.
pub fn pdu(
    rosctr: u8,
    pdu_ref: u16,
    error: Option<(u8, u8)>,
    param: &[u8],
    data: &[u8],
) -> Vec<u8> {
    let mut v = vec![0x32, rosctr, 0, 0];
    v.extend_from_slice(&pdu_ref.to_be_bytes());
    v.extend_from_slice(&(param.len() as u16).to_be_bytes());
    v.extend_from_slice(&(data.len() as u16).to_be_bytes());
    if matches!(rosctr, 2 | 3) {
        let (c, e) = error.unwrap_or((0, 0));
        v.push(c);
        v.push(e);
    }
    v.extend_from_slice(param);
    v.extend_from_slice(data);
    v
}

/// Setup communication parameter.
pub fn setup_param(amq: u16, pdu_size: u16) -> Vec<u8> {
    let mut p = vec![0xF0, 0];
    p.extend_from_slice(&amq.to_be_bytes());
    p.extend_from_slice(&amq.to_be_bytes());
    p.extend_from_slice(&pdu_size.to_be_bytes());
    p
}

/// Read var (0x04) or write var (0x05) parameter with S7ANY items.
pub fn var_param(function: u8, vars: &[Var]) -> Vec<u8> {
    let mut p = vec![function, u8::try_from(vars.len()).unwrap_or(u8::MAX)];
    for v in vars {
        let addr = if matches!(v.area, 0x1C..=0x1F) {
            v.byte
        } else {
            v.byte << 3 | u32::from(v.bit & 7)
        };
        p.extend_from_slice(&[0x12, 0x0A, 0x10, v.transport_size]);
        p.extend_from_slice(&v.count.to_be_bytes());
        p.extend_from_slice(&v.db.to_be_bytes());
        p.push(v.area);
        p.extend_from_slice(&addr.to_be_bytes()[1..]);
    }
    p
}

/// Data items: (return code, data transport size, data); lengths in bits for
/// transport sizes 3, 4, 5, fill bytes between items.
pub fn data_items(items: &[(u8, u8, &[u8])]) -> Vec<u8> {
    let mut d = Vec::new();
    for (i, (rc, ts, data)) in items.iter().enumerate() {
        let len = if matches!(ts, 3..=5) {
            if *ts == 3 {
                data.len()
            } else {
                data.len() * 8
            }
        } else {
            data.len()
        };
        d.push(*rc);
        d.push(*ts);
        d.extend_from_slice(&(len as u16).to_be_bytes());
        d.extend_from_slice(data);
        if data.len() % 2 == 1 && i + 1 < items.len() {
            d.push(0);
        }
    }
    d
}

/// Data transport size of an item by its request transport size.
pub fn data_transport_size(request_size: u8) -> u8 {
    match request_size {
        0x01 => 0x03,
        0x02..=0x04 | 0x06 => 0x04,
        0x05 => 0x05,
        0x07 => 0x06,
        0x08 => 0x07,
        _ => 0x09,
    }
}

/// A userdata PDU parameter. `response` adds the data unit reference, last data
/// unit flag and error code.
pub fn userdata_param(
    kind: u8,
    group: u8,
    sub: u8,
    seq: u8,
    response: Option<(u8, bool, u16)>,
) -> Vec<u8> {
    let mut p = vec![
        0x00,
        0x01,
        0x12,
        4,
        if kind == 4 { 0x11 } else { 0x12 },
        kind << 4 | (group & 0x0F),
        sub,
        seq,
    ];
    if let Some((dur, last, err)) = response {
        p[3] = 8;
        p.push(dur);
        p.push(if last { 0 } else { 1 });
        p.extend_from_slice(&err.to_be_bytes());
    }
    p
}

/// A userdata data part (octet string).
pub fn userdata_data(rc: u8, data: &[u8]) -> Vec<u8> {
    let mut d = vec![rc, if data.is_empty() { 0 } else { 9 }];
    d.extend_from_slice(&(data.len() as u16).to_be_bytes());
    d.extend_from_slice(data);
    d
}

/// A PI service (0x28) parameter.
pub fn pi_param(service: &[u8], params: &[u8]) -> Vec<u8> {
    let mut p = vec![0x28, 0, 0, 0, 0, 0, 0, 0xFD];
    p.extend_from_slice(&(params.len() as u16).to_be_bytes());
    p.extend_from_slice(params);
    p.push(u8::try_from(service.len()).unwrap_or(0));
    p.extend_from_slice(service);
    p
}

/// A PLC stop (0x29) parameter.
pub fn stop_param() -> Vec<u8> {
    let mut p = vec![0x29, 0, 0, 0, 0, 0, 9];
    p.extend_from_slice(b"P_PROGRAM");
    p
}

/// An up/download job parameter with a block file name (`_0A00001P`).
pub fn block_param(function: u8, upload_id: u32, filename: &[u8]) -> Vec<u8> {
    let mut p = vec![function, 0, 0, 0];
    p.extend_from_slice(&upload_id.to_be_bytes());
    if matches!(function, 0x1A..=0x1D) {
        p.push(u8::try_from(filename.len()).unwrap_or(0));
        p.extend_from_slice(filename);
    }
    p
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::s7comm::parser;

    #[test]
    fn built_pdus_parse() {
        let v = Var {
            transport_size: 4,
            count: 2,
            db: 7,
            area: 0x84,
            byte: 12,
            bit: 0,
        };
        let p = var_param(0x05, &[v]);
        let d = data_items(&[(0, 4, &[0, 1, 0, 2])]);
        let b = pdu(1, 9, None, &p, &d);
        let pdu = parser::parse_pdu(&b).unwrap();
        assert_eq!(pdu.issue, None);
        let items: Vec<_> = parser::ItemSpecs::new(pdu.param).collect();
        assert_eq!(
            items,
            vec![parser::ItemSpec::Any {
                transport_size: 4,
                count: 2,
                db: 7,
                area: 0x84,
                address: 96
            }]
        );
        let di: Vec<_> = parser::DataItems::new(pdu.data, 1).collect();
        assert_eq!(di[0].data, &[0, 1, 0, 2]);
        let f = dt(&b, true);
        assert_eq!(crate::s7comm::tpkt::first_data(&f), Ok(&b[..]));
    }
}
