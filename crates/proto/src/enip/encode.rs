//! Builders of EtherNet/IP messages and CIP requests/responses (traffic generation,
//! round-trip tests). Every builder returns the bytes on the wire.

/// An encapsulation message: header + data.
pub fn message(command: u16, session: u32, status: u32, context: [u8; 8], data: &[u8]) -> Vec<u8> {
    let len = u16::try_from(data.len()).unwrap_or(u16::MAX);
    let mut v = Vec::with_capacity(24 + data.len());
    v.extend_from_slice(&command.to_le_bytes());
    v.extend_from_slice(&len.to_le_bytes());
    v.extend_from_slice(&session.to_le_bytes());
    v.extend_from_slice(&status.to_le_bytes());
    v.extend_from_slice(&context);
    v.extend_from_slice(&0u32.to_le_bytes());
    v.extend_from_slice(data.get(..usize::from(len)).unwrap_or(data));
    v
}

/// RegisterSession request (protocol version 1).
pub fn register_session(context: [u8; 8]) -> Vec<u8> {
    message(0x0065, 0, 0, context, &[1, 0, 0, 0])
}

/// Common Packet Format from `(type, data)` items.
pub fn cpf(items: &[(u16, &[u8])]) -> Vec<u8> {
    let mut v = Vec::new();
    v.extend_from_slice(&u16::try_from(items.len()).unwrap_or(0).to_le_bytes());
    for (ty, d) in items {
        v.extend_from_slice(&ty.to_le_bytes());
        v.extend_from_slice(&u16::try_from(d.len()).unwrap_or(0).to_le_bytes());
        v.extend_from_slice(d);
    }
    v
}

/// SendRRData carrying an unconnected CIP message.
pub fn send_rr_data(session: u32, context: [u8; 8], status: u32, cip: &[u8]) -> Vec<u8> {
    let mut d = vec![0, 0, 0, 0, 0, 0];
    d.extend(cpf(&[(0x0000, &[]), (0x00B2, cip)]));
    message(0x006F, session, status, context, &d)
}

/// SendUnitData carrying a connected CIP message.
pub fn send_unit_data(session: u32, connection_id: u32, sequence: u16, cip: &[u8]) -> Vec<u8> {
    let mut data = sequence.to_le_bytes().to_vec();
    data.extend_from_slice(cip);
    let mut d = vec![0, 0, 0, 0, 0, 0];
    d.extend(cpf(&[
        (0x00A1, &connection_id.to_le_bytes()),
        (0x00B1, &data),
    ]));
    message(0x0070, session, 0, [0; 8], &d)
}

/// A ListIdentity reply with one CIP Identity item.
#[allow(clippy::too_many_arguments)]
pub fn list_identity_reply(
    context: [u8; 8],
    ip: [u8; 4],
    vendor: u16,
    device_type: u16,
    product_code: u16,
    revision: (u8, u8),
    serial: u32,
    name: &str,
) -> Vec<u8> {
    let mut it = Vec::new();
    it.extend_from_slice(&1u16.to_le_bytes());
    it.extend_from_slice(&2u16.to_be_bytes());
    it.extend_from_slice(&44818u16.to_be_bytes());
    it.extend_from_slice(&ip);
    it.extend_from_slice(&[0; 8]);
    it.extend_from_slice(&vendor.to_le_bytes());
    it.extend_from_slice(&device_type.to_le_bytes());
    it.extend_from_slice(&product_code.to_le_bytes());
    it.extend_from_slice(&[revision.0, revision.1]);
    it.extend_from_slice(&0x0030u16.to_le_bytes());
    it.extend_from_slice(&serial.to_le_bytes());
    let name = name
        .as_bytes()
        .get(..name.len().min(255))
        .unwrap_or_default();
    it.push(u8::try_from(name.len()).unwrap_or(0));
    it.extend_from_slice(name);
    it.push(3);
    message(0x0063, 0, 0, context, &cpf(&[(0x000C, &it)]))
}

/// Padded logical path: class, instance and optionally attribute (8 or 16 bits).
pub fn logical_path(class: u16, instance: u16, attribute: Option<u16>) -> Vec<u8> {
    let mut v = Vec::new();
    for (ty, val) in [
        (0x20u8, Some(class)),
        (0x24, Some(instance)),
        (0x30, attribute),
    ] {
        let Some(val) = val else { continue };
        match u8::try_from(val) {
            Ok(b) => v.extend_from_slice(&[ty, b]),
            Err(_) => {
                v.extend_from_slice(&[ty | 1, 0]);
                v.extend_from_slice(&val.to_le_bytes());
            }
        }
    }
    v
}

/// ANSI extended symbol path of a dotted tag name (`a.b.c`).
pub fn symbolic_path(tag: &str) -> Vec<u8> {
    let mut v = Vec::new();
    for part in tag.split('.') {
        let b = part
            .as_bytes()
            .get(..part.len().min(255))
            .unwrap_or_default();
        v.push(0x91);
        v.push(u8::try_from(b.len()).unwrap_or(0));
        v.extend_from_slice(b);
        if b.len() % 2 == 1 {
            v.push(0);
        }
    }
    v
}

/// A CIP request.
pub fn request(service: u8, path: &[u8], data: &[u8]) -> Vec<u8> {
    let mut v = vec![service & 0x7F, u8::try_from(path.len() / 2).unwrap_or(0)];
    v.extend_from_slice(path);
    v.extend_from_slice(data);
    v
}

/// A CIP response.
pub fn response(service: u8, status: u8, extended: &[u16], data: &[u8]) -> Vec<u8> {
    let mut v = vec![
        service | 0x80,
        0,
        status,
        u8::try_from(extended.len()).unwrap_or(0),
    ];
    for e in extended {
        v.extend_from_slice(&e.to_le_bytes());
    }
    v.extend_from_slice(data);
    v
}

/// Read_Tag request.
pub fn read_tag(tag: &str, elements: u16) -> Vec<u8> {
    request(0x4C, &symbolic_path(tag), &elements.to_le_bytes())
}

/// Write_Tag request of DINT values.
pub fn write_tag_dint(tag: &str, values: &[i32]) -> Vec<u8> {
    let mut d = 0xC4u16.to_le_bytes().to_vec();
    d.extend_from_slice(&u16::try_from(values.len()).unwrap_or(0).to_le_bytes());
    for v in values {
        d.extend_from_slice(&v.to_le_bytes());
    }
    request(0x4D, &symbolic_path(tag), &d)
}

/// Write_Tag request of REAL values.
pub fn write_tag_real(tag: &str, values: &[f32]) -> Vec<u8> {
    let mut d = 0xCAu16.to_le_bytes().to_vec();
    d.extend_from_slice(&u16::try_from(values.len()).unwrap_or(0).to_le_bytes());
    for v in values {
        d.extend_from_slice(&v.to_le_bytes());
    }
    request(0x4D, &symbolic_path(tag), &d)
}

/// Multiple_Service_Packet request to the Message Router.
pub fn multiple_service(requests: &[Vec<u8>]) -> Vec<u8> {
    request(0x0A, &logical_path(2, 1, None), &multiple_body(requests))
}

/// The count + offsets + messages body shared by MSP requests and replies.
pub fn multiple_body(msgs: &[Vec<u8>]) -> Vec<u8> {
    let n = msgs.len();
    let mut d = u16::try_from(n).unwrap_or(0).to_le_bytes().to_vec();
    let mut off = 2 + 2 * n;
    for m in msgs {
        d.extend_from_slice(&u16::try_from(off).unwrap_or(0).to_le_bytes());
        off += m.len();
    }
    for m in msgs {
        d.extend_from_slice(m);
    }
    d
}

/// Unconnected_Send of `embedded` along `route` (a padded port path).
pub fn unconnected_send(embedded: &[u8], route: &[u8]) -> Vec<u8> {
    let mut d = vec![0x07, 0xE9];
    d.extend_from_slice(&u16::try_from(embedded.len()).unwrap_or(0).to_le_bytes());
    d.extend_from_slice(embedded);
    if embedded.len() % 2 == 1 {
        d.push(0);
    }
    d.push(u8::try_from(route.len() / 2).unwrap_or(0));
    d.push(0);
    d.extend_from_slice(route);
    request(0x52, &logical_path(6, 1, None), &d)
}

/// Forward_Open request (16-bit connection parameters).
pub fn forward_open(o_t_id: u32, t_o_id: u32, serial: u16, rpi_us: u32, path: &[u8]) -> Vec<u8> {
    let mut d = vec![0x0A, 0x0E];
    d.extend_from_slice(&o_t_id.to_le_bytes());
    d.extend_from_slice(&t_o_id.to_le_bytes());
    d.extend_from_slice(&serial.to_le_bytes());
    d.extend_from_slice(&1u16.to_le_bytes());
    d.extend_from_slice(&0x1234_5678u32.to_le_bytes());
    d.extend_from_slice(&[1, 0, 0, 0]);
    d.extend_from_slice(&rpi_us.to_le_bytes());
    d.extend_from_slice(&0x43F4u16.to_le_bytes());
    d.extend_from_slice(&rpi_us.to_le_bytes());
    d.extend_from_slice(&0x43F4u16.to_le_bytes());
    d.push(0xA3);
    d.push(u8::try_from(path.len() / 2).unwrap_or(0));
    d.extend_from_slice(path);
    request(0x54, &logical_path(6, 1, None), &d)
}

/// Successful Forward_Open reply data.
pub fn forward_open_reply(o_t_id: u32, t_o_id: u32, serial: u16, api_us: u32) -> Vec<u8> {
    let mut d = Vec::new();
    d.extend_from_slice(&o_t_id.to_le_bytes());
    d.extend_from_slice(&t_o_id.to_le_bytes());
    d.extend_from_slice(&serial.to_le_bytes());
    d.extend_from_slice(&1u16.to_le_bytes());
    d.extend_from_slice(&0x1234_5678u32.to_le_bytes());
    d.extend_from_slice(&api_us.to_le_bytes());
    d.extend_from_slice(&api_us.to_le_bytes());
    d.extend_from_slice(&[0, 0]);
    response(0x54, 0, &[], &d)
}

/// An implicit I/O datagram.
pub fn io_datagram(connection_id: u32, sequence: u32, data: &[u8]) -> Vec<u8> {
    let mut a = connection_id.to_le_bytes().to_vec();
    a.extend_from_slice(&sequence.to_le_bytes());
    cpf(&[(0x8002, &a), (0x00B1, data)])
}
