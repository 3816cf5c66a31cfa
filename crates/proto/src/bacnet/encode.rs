//! Builders of BACnet/IP messages (traffic generation, round-trip tests).
use super::tags::ObjectId;

/// A BVLC message with an NPDU (no routing) carrying `apdu`.
pub fn bvlc(function: u8, expecting_reply: bool, apdu: &[u8]) -> Vec<u8> {
    let len = u16::try_from(4 + 2 + apdu.len()).unwrap_or(u16::MAX);
    let mut v = vec![0x81, function];
    v.extend_from_slice(&len.to_be_bytes());
    v.push(1);
    v.push(if expecting_reply { 0x04 } else { 0x00 });
    v.extend_from_slice(apdu);
    v
}

/// An application tag header with content.
pub fn app(tag: u8, content: &[u8]) -> Vec<u8> {
    tagged(tag, false, content)
}

/// A context tag header with content.
pub fn ctx(tag: u8, content: &[u8]) -> Vec<u8> {
    tagged(tag, true, content)
}

fn tagged(tag: u8, context: bool, content: &[u8]) -> Vec<u8> {
    let class = if context { 0x08 } else { 0 };
    let mut v = Vec::new();
    let hi = if tag < 15 { tag << 4 } else { 0xF0 };
    let n = content.len();
    if n < 5 {
        v.push(hi | class | n as u8);
    } else {
        v.push(hi | class | 5);
    }
    if tag >= 15 {
        v.push(tag);
    }
    if n >= 5 {
        if n < 254 {
            v.push(n as u8);
        } else if n <= 0xFFFF {
            v.push(254);
            v.extend_from_slice(&(n as u16).to_be_bytes());
        } else {
            v.push(255);
            v.extend_from_slice(&(n as u32).to_be_bytes());
        }
    }
    v.extend_from_slice(content);
    v
}

pub fn opening(tag: u8) -> u8 {
    (tag << 4) | 0x0E
}

pub fn closing(tag: u8) -> u8 {
    (tag << 4) | 0x0F
}

/// Minimal big-endian encoding of an unsigned value.
pub fn uint(v: u64) -> Vec<u8> {
    let b = v.to_be_bytes();
    let skip = b.iter().take(7).take_while(|&&x| x == 0).count();
    b.get(skip..).unwrap_or_default().to_vec()
}

pub fn object_id(o: ObjectId) -> [u8; 4] {
    ((u32::from(o.object_type) << 22) | (o.instance & 0x3F_FFFF)).to_be_bytes()
}

pub fn oid(object_type: u16, instance: u32) -> ObjectId {
    ObjectId {
        object_type,
        type_name: super::names::object_type_name(object_type),
        instance,
    }
}

/// Confirmed request APDU header + service data.
pub fn confirmed(invoke_id: u8, service: u8, data: &[u8]) -> Vec<u8> {
    let mut v = vec![0x00, 0x05, invoke_id, service];
    v.extend_from_slice(data);
    v
}

/// ReadProperty request.
pub fn read_property(invoke_id: u8, object: ObjectId, property: u32) -> Vec<u8> {
    let mut d = ctx(0, &object_id(object));
    d.extend(ctx(1, &uint(u64::from(property))));
    bvlc(0x0A, true, &confirmed(invoke_id, 12, &d))
}

/// ReadProperty ACK with one application-tagged value (already encoded).
pub fn read_property_ack(invoke_id: u8, object: ObjectId, property: u32, value: &[u8]) -> Vec<u8> {
    let mut d = vec![0x30, invoke_id, 12];
    d.extend(ctx(0, &object_id(object)));
    d.extend(ctx(1, &uint(u64::from(property))));
    d.push(opening(3));
    d.extend_from_slice(value);
    d.push(closing(3));
    bvlc(0x0A, false, &d)
}

/// WriteProperty request of a REAL value with an optional priority.
pub fn write_property_real(
    invoke_id: u8,
    object: ObjectId,
    property: u32,
    value: f32,
    priority: Option<u8>,
) -> Vec<u8> {
    let mut d = ctx(0, &object_id(object));
    d.extend(ctx(1, &uint(u64::from(property))));
    d.push(opening(3));
    d.extend(app(4, &value.to_be_bytes()));
    d.push(closing(3));
    if let Some(p) = priority {
        d.extend(ctx(4, &[p]));
    }
    bvlc(0x0A, true, &confirmed(invoke_id, 15, &d))
}

/// SimpleACK.
pub fn simple_ack(invoke_id: u8, service: u8) -> Vec<u8> {
    bvlc(0x0A, false, &[0x20, invoke_id, service])
}

/// I-Am (broadcast).
pub fn i_am(device: u32, max_apdu: u32, vendor: u16) -> Vec<u8> {
    let mut d = vec![0x10, 0x00];
    d.extend(app(12, &object_id(oid(8, device))));
    d.extend(app(2, &uint(u64::from(max_apdu))));
    d.extend(app(9, &[3]));
    d.extend(app(2, &uint(u64::from(vendor))));
    bvlc(0x0B, false, &d)
}

/// Who-Is with optional limits (broadcast).
pub fn who_is(limits: Option<(u32, u32)>) -> Vec<u8> {
    let mut d = vec![0x10, 0x08];
    if let Some((lo, hi)) = limits {
        d.extend(ctx(0, &uint(u64::from(lo))));
        d.extend(ctx(1, &uint(u64::from(hi))));
    }
    bvlc(0x0B, false, &d)
}

/// ReinitializeDevice with an optional password (character string, UTF-8).
pub fn reinitialize(invoke_id: u8, state: u8, password: Option<&str>) -> Vec<u8> {
    let mut d = ctx(0, &[state]);
    if let Some(p) = password {
        let mut s = vec![0u8];
        s.extend_from_slice(p.as_bytes());
        d.extend(ctx(1, &s));
    }
    bvlc(0x0A, true, &confirmed(invoke_id, 20, &d))
}
