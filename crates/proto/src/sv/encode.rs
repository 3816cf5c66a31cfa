//! Sampled Values frame builder (traffic generators and tests).
use crate::mms::ber::enc::{ctx, len, tlv};

/// One ASDU to encode: svID, smpCnt, confRev, smpSynch and sample octets.
#[derive(Clone, Debug, PartialEq)]
pub struct AsduSpec {
    pub sv_id: String,
    pub smp_cnt: u16,
    pub conf_rev: u32,
    pub smp_synch: u8,
    pub samples: Vec<u8>,
}

/// Encodes the frame payload after the ethertype.
pub fn encode(appid: u16, asdus: &[AsduSpec]) -> Vec<u8> {
    let mut seq = Vec::new();
    for a in asdus {
        let mut b = ctx(0, false, a.sv_id.as_bytes());
        b.extend(ctx(2, false, &a.smp_cnt.to_be_bytes()));
        b.extend(ctx(3, false, &a.conf_rev.to_be_bytes()));
        b.extend(ctx(5, false, &[a.smp_synch]));
        b.extend(ctx(7, false, &a.samples));
        seq.extend(tlv(0x30, None, &b));
    }
    let mut body = ctx(0, false, &[asdus.len() as u8]);
    body.extend(ctx(2, true, &seq));
    let mut pdu = vec![0x60];
    len(body.len(), &mut pdu);
    pdu.extend(body);
    let total = 8 + pdu.len();
    let mut out = Vec::with_capacity(total);
    out.extend_from_slice(&appid.to_be_bytes());
    out.extend_from_slice(&(total as u16).to_be_bytes());
    out.extend_from_slice(&[0, 0, 0, 0]);
    out.extend(pdu);
    out
}
