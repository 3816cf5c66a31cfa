//! Builders of IEC 104 APDUs, for tests, fuzz seeds and traffic generation.

/// A U-frame (`function`: 0x07 STARTDT act, 0x0B con, 0x13 STOPDT act, 0x23 con,
/// 0x43 TESTFR act, 0x83 con).
pub fn u_frame(function: u8) -> Vec<u8> {
    vec![0x68, 4, function, 0, 0, 0]
}

/// An S-frame acknowledging up to `recv`.
pub fn s_frame(recv: u16) -> Vec<u8> {
    let r = (recv << 1).to_le_bytes();
    vec![0x68, 4, 0x01, 0, r[0], r[1]]
}

/// An ASDU: type, SQ, cause (with the P/N and test bits), originator, common
/// address, then `objects` (already encoded: IOA + element for each, or one IOA
/// followed by the elements when `sq`). `count` is the number of objects.
#[allow(clippy::too_many_arguments)]
pub fn asdu(
    type_id: u8,
    sq: bool,
    count: u8,
    cot: u8,
    negative: bool,
    originator: u8,
    ca: u16,
    objects: &[u8],
) -> Vec<u8> {
    let mut a = vec![
        type_id,
        (count & 0x7F) | if sq { 0x80 } else { 0 },
        (cot & 0x3F) | if negative { 0x40 } else { 0 },
        originator,
    ];
    a.extend_from_slice(&ca.to_le_bytes());
    a.extend_from_slice(objects);
    a
}

/// An information object address (3 octets).
pub fn ioa(a: u32) -> [u8; 3] {
    let b = a.to_le_bytes();
    [b[0], b[1], b[2]]
}

/// An I-frame carrying `asdu` with sequence numbers N(S), N(R).
pub fn i_frame(send: u16, recv: u16, asdu: &[u8]) -> Vec<u8> {
    let s = (send << 1).to_le_bytes();
    let r = (recv << 1).to_le_bytes();
    let mut v = vec![
        0x68,
        u8::try_from(asdu.len() + 4).unwrap_or(u8::MAX),
        s[0],
        s[1],
        r[0],
        r[1],
    ];
    v.extend_from_slice(asdu);
    v
}

/// A single command object (C_SC_NA_1): IOA + SCO.
pub fn single_command(addr: u32, on: bool, select: bool, qu: u8) -> Vec<u8> {
    let mut v = ioa(addr).to_vec();
    v.push(u8::from(on) | (qu & 0x1F) << 2 | if select { 0x80 } else { 0 });
    v
}

/// A short float setpoint object (C_SE_NC_1): IOA + float + QOS.
pub fn float_setpoint(addr: u32, value: f32, select: bool) -> Vec<u8> {
    let mut v = ioa(addr).to_vec();
    v.extend_from_slice(&value.to_le_bytes());
    v.push(if select { 0x80 } else { 0 });
    v
}

/// A short float measured value object (M_ME_NC_1): IOA + float + QDS.
pub fn float_measurement(addr: u32, value: f32, qds: u8) -> Vec<u8> {
    let mut v = ioa(addr).to_vec();
    v.extend_from_slice(&value.to_le_bytes());
    v.push(qds);
    v
}

/// A scaled value (C_SE_NB_1 setpoint with QOS, or M_ME_NB_1 with QDS).
pub fn scaled(addr: u32, value: i16, qualifier: u8) -> Vec<u8> {
    let mut v = ioa(addr).to_vec();
    v.extend_from_slice(&value.to_le_bytes());
    v.push(qualifier);
    v
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::iec104::parser;

    #[test]
    fn round_trip() {
        let a = asdu(
            50,
            false,
            1,
            6,
            false,
            0,
            7,
            &float_setpoint(1234, 2.5, false),
        );
        let f = i_frame(3, 9, &a);
        assert_eq!(parser::check_apdu(&f, true), parser::Check::Frame(f.len()));
        let (apci, asdu) = parser::parse_apci(&f).unwrap();
        assert_eq!(apci, parser::Apci::I { send: 3, recv: 9 });
        let (h, body) = parser::parse_asdu_header(asdu).unwrap();
        let (objs, issue) = parser::objects(&h, body);
        assert!(issue.is_none());
        let o: Vec<_> = objs
            .map(|(i, e)| parser::decode_element(50, i, e))
            .collect();
        assert_eq!(o[0].ioa, 1234);
        assert_eq!(o[0].value, Some(2.5));
        assert_eq!(o[0].select, Some(false));
        assert_eq!(
            parser::parse_apci(&s_frame(77)).unwrap().0,
            parser::Apci::S { recv: 77 }
        );
    }
}
