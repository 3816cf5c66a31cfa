//! GOOSE frame builder (traffic generators and round-trip tests).
use crate::mms::ber::enc::{ctx, len, uint};
use crate::mms::data::{enc as denc, Value};

/// The fields of a GOOSE message to encode.
#[derive(Clone, Debug, PartialEq)]
pub struct GooseMessage {
    pub appid: u16,
    pub gocb_ref: String,
    pub time_allowed_to_live: u32,
    pub dat_set: String,
    pub go_id: Option<String>,
    /// (seconds, 24-bit fraction, quality)
    pub t: (u32, u32, u8),
    pub st_num: u32,
    pub sq_num: u32,
    pub simulation: bool,
    pub conf_rev: u32,
    pub nds_com: bool,
    pub values: Vec<Value>,
}

/// Encodes the frame payload after the ethertype (header + goosePdu).
pub fn encode(m: &GooseMessage) -> Vec<u8> {
    let mut b = ctx(0, false, m.gocb_ref.as_bytes());
    b.extend(ctx(1, false, &uint(u64::from(m.time_allowed_to_live))));
    b.extend(ctx(2, false, m.dat_set.as_bytes()));
    if let Some(id) = &m.go_id {
        b.extend(ctx(3, false, id.as_bytes()));
    }
    b.extend(ctx(4, false, &denc::utc_time(m.t.0, m.t.1, m.t.2)));
    b.extend(ctx(5, false, &uint(u64::from(m.st_num))));
    b.extend(ctx(6, false, &uint(u64::from(m.sq_num))));
    b.extend(ctx(7, false, &[u8::from(m.simulation)]));
    b.extend(ctx(8, false, &uint(u64::from(m.conf_rev))));
    b.extend(ctx(9, false, &[u8::from(m.nds_com)]));
    b.extend(ctx(10, false, &uint(m.values.len() as u64)));
    let all: Vec<u8> = m.values.iter().flat_map(denc::data).collect();
    b.extend(ctx(11, true, &all));
    let mut pdu = vec![0x61];
    len(b.len(), &mut pdu);
    pdu.extend(b);
    let total = 8 + pdu.len();
    let mut out = Vec::with_capacity(total);
    out.extend_from_slice(&m.appid.to_be_bytes());
    out.extend_from_slice(&(total as u16).to_be_bytes());
    out.extend_from_slice(&[0, 0, 0, 0]);
    out.extend(pdu);
    out
}
