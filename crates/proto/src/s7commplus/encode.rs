//! Builders of S7comm-plus frames (headers only), for tests and fuzz seeds.
use crate::s7comm::encode::dt;

/// Message data of a request: opcode 0x31, function, sequence, session id, flags,
/// then `payload`.
pub fn request(function: u16, seq: u16, session: u32, flags: u8, payload: &[u8]) -> Vec<u8> {
    let mut d = vec![0x31, 0, 0];
    d.extend_from_slice(&function.to_be_bytes());
    d.extend_from_slice(&[0, 0]);
    d.extend_from_slice(&seq.to_be_bytes());
    d.extend_from_slice(&session.to_be_bytes());
    d.push(flags);
    d.extend_from_slice(payload);
    d
}

/// Message data of a response (opcode 0x32 or 0x02).
pub fn response(opcode: u8, function: u16, seq: u16, flags: u8, payload: &[u8]) -> Vec<u8> {
    let mut d = vec![opcode, 0, 0];
    d.extend_from_slice(&function.to_be_bytes());
    d.extend_from_slice(&[0, 0]);
    d.extend_from_slice(&seq.to_be_bytes());
    d.push(flags);
    d.extend_from_slice(payload);
    d
}

/// Message data of a notification.
pub fn notification(subscription: u32, payload: &[u8]) -> Vec<u8> {
    let mut d = vec![0x33];
    d.extend_from_slice(&subscription.to_be_bytes());
    d.extend_from_slice(payload);
    d
}

/// One frame: `72 version length data [72 version 00 00]`.
pub fn frame(version: u8, data: &[u8], trailer: bool) -> Vec<u8> {
    let mut f = vec![0x72, version];
    f.extend_from_slice(&(data.len() as u16).to_be_bytes());
    f.extend_from_slice(data);
    if trailer {
        f.extend_from_slice(&[0x72, version, 0, 0]);
    }
    f
}

/// A V3 message data part with an integrity digest in front.
pub fn with_digest(data: &[u8]) -> Vec<u8> {
    let mut d = vec![32];
    d.extend_from_slice(&[0xA5; 32]);
    d.extend_from_slice(data);
    d
}

/// A whole message as TPKT/COTP bytes, split into frames of at most `chunk` data
/// bytes (each frame in its own DT, the trailer on the last).
pub fn message(version: u8, data: &[u8], chunk: usize) -> Vec<u8> {
    let chunk = chunk.max(1);
    let parts: Vec<&[u8]> = if data.is_empty() {
        vec![data]
    } else {
        data.chunks(chunk).collect()
    };
    let n = parts.len();
    let mut v = Vec::new();
    for (i, p) in parts.into_iter().enumerate() {
        v.extend(dt(&frame(version, p, i + 1 == n), true));
    }
    v
}
