//! Builders of OPC UA binary messages (traffic generation, round-trip tests).

/// `POLICY_NONE` security policy URI.
pub const POLICY_NONE: &str = "http://opcfoundation.org/UA/SecurityPolicy#None";

fn frame(ty: &[u8; 3], chunk: u8, body: &[u8]) -> Vec<u8> {
    let mut v = ty.to_vec();
    v.push(chunk);
    v.extend_from_slice(
        &u32::try_from(8 + body.len())
            .unwrap_or(u32::MAX)
            .to_le_bytes(),
    );
    v.extend_from_slice(body);
    v
}

pub fn string(v: &mut Vec<u8>, s: Option<&str>) {
    match s {
        Some(s) => {
            v.extend_from_slice(&i32::try_from(s.len()).unwrap_or(i32::MAX).to_le_bytes());
            v.extend_from_slice(s.as_bytes());
        }
        None => v.extend_from_slice(&(-1i32).to_le_bytes()),
    }
}

/// A four-byte or numeric NodeId in namespace `ns`.
pub fn numeric_node(v: &mut Vec<u8>, ns: u16, id: u32) {
    match (u8::try_from(ns), u16::try_from(id)) {
        (Ok(0), _) if id < 256 => v.extend_from_slice(&[0x00, id as u8]),
        (Ok(n), Ok(i)) => {
            v.push(0x01);
            v.push(n);
            v.extend_from_slice(&i.to_le_bytes());
        }
        _ => {
            v.push(0x02);
            v.extend_from_slice(&ns.to_le_bytes());
            v.extend_from_slice(&id.to_le_bytes());
        }
    }
}

/// A string NodeId.
pub fn string_node(v: &mut Vec<u8>, ns: u16, s: &str) {
    v.push(0x03);
    v.extend_from_slice(&ns.to_le_bytes());
    string(v, Some(s));
}

pub fn request_header(v: &mut Vec<u8>, handle: u32) {
    v.extend_from_slice(&[0x00, 0x00]); // null auth token
    v.extend_from_slice(&0i64.to_le_bytes());
    v.extend_from_slice(&handle.to_le_bytes());
    v.extend_from_slice(&0u32.to_le_bytes());
    string(v, None);
    v.extend_from_slice(&10_000u32.to_le_bytes());
    v.extend_from_slice(&[0x00, 0x00, 0x00]); // null extension object
}

pub fn response_header(v: &mut Vec<u8>, handle: u32, result: u32) {
    v.extend_from_slice(&0i64.to_le_bytes());
    v.extend_from_slice(&handle.to_le_bytes());
    v.extend_from_slice(&result.to_le_bytes());
    v.push(0); // empty diagnostic info
    v.extend_from_slice(&(-1i32).to_le_bytes()); // no string table
    v.extend_from_slice(&[0x00, 0x00, 0x00]);
}

/// HEL.
pub fn hello(url: &str) -> Vec<u8> {
    let mut b = Vec::new();
    for x in [0u32, 65535, 65535, 0, 0] {
        b.extend_from_slice(&x.to_le_bytes());
    }
    string(&mut b, Some(url));
    frame(b"HEL", b'F', &b)
}

/// ACK.
pub fn ack() -> Vec<u8> {
    let mut b = Vec::new();
    for x in [0u32, 65535, 65535, 0, 0] {
        b.extend_from_slice(&x.to_le_bytes());
    }
    frame(b"ACK", b'F', &b)
}

/// ERR.
pub fn error(code: u32, reason: &str) -> Vec<u8> {
    let mut b = code.to_le_bytes().to_vec();
    string(&mut b, Some(reason));
    frame(b"ERR", b'F', &b)
}

/// OPN request with the None policy and the given security mode.
pub fn open_secure_channel_request(request_id: u32, mode: u32) -> Vec<u8> {
    let mut b = 0u32.to_le_bytes().to_vec();
    string(&mut b, Some(POLICY_NONE));
    b.extend_from_slice(&(-1i32).to_le_bytes());
    b.extend_from_slice(&(-1i32).to_le_bytes());
    b.extend_from_slice(&1u32.to_le_bytes());
    b.extend_from_slice(&request_id.to_le_bytes());
    numeric_node(&mut b, 0, 446);
    request_header(&mut b, 0);
    b.extend_from_slice(&0u32.to_le_bytes());
    b.extend_from_slice(&0u32.to_le_bytes());
    b.extend_from_slice(&mode.to_le_bytes());
    b.extend_from_slice(&0i32.to_le_bytes());
    b.extend_from_slice(&600_000u32.to_le_bytes());
    frame(b"OPN", b'F', &b)
}

/// OPN response assigning `channel`.
pub fn open_secure_channel_response(request_id: u32, channel: u32) -> Vec<u8> {
    let mut b = 0u32.to_le_bytes().to_vec();
    string(&mut b, Some(POLICY_NONE));
    b.extend_from_slice(&(-1i32).to_le_bytes());
    b.extend_from_slice(&(-1i32).to_le_bytes());
    b.extend_from_slice(&1u32.to_le_bytes());
    b.extend_from_slice(&request_id.to_le_bytes());
    numeric_node(&mut b, 0, 449);
    response_header(&mut b, 0, 0);
    b.extend_from_slice(&0u32.to_le_bytes());
    b.extend_from_slice(&channel.to_le_bytes());
    b.extend_from_slice(&1u32.to_le_bytes());
    b.extend_from_slice(&0i64.to_le_bytes());
    b.extend_from_slice(&600_000u32.to_le_bytes());
    b.extend_from_slice(&0i32.to_le_bytes());
    frame(b"OPN", b'F', &b)
}

/// A MSG (or CLO) chunk carrying `body` (encoding id + service structure).
pub fn message(ty: &[u8; 3], chunk: u8, channel: u32, request_id: u32, body: &[u8]) -> Vec<u8> {
    let mut b = channel.to_le_bytes().to_vec();
    b.extend_from_slice(&1u32.to_le_bytes());
    b.extend_from_slice(&request_id.to_le_bytes());
    b.extend_from_slice(&request_id.to_le_bytes());
    b.extend_from_slice(body);
    frame(ty, chunk, &b)
}

/// ReadRequest body of Value attributes of numeric nodes in namespace `ns`.
pub fn read_request(handle: u32, ns: u16, ids: &[u32]) -> Vec<u8> {
    let mut b = Vec::new();
    numeric_node(&mut b, 0, 631);
    request_header(&mut b, handle);
    b.extend_from_slice(&0f64.to_le_bytes());
    b.extend_from_slice(&2u32.to_le_bytes());
    b.extend_from_slice(&i32::try_from(ids.len()).unwrap_or(0).to_le_bytes());
    for id in ids {
        numeric_node(&mut b, ns, *id);
        b.extend_from_slice(&13u32.to_le_bytes());
        string(&mut b, None);
        b.extend_from_slice(&0u16.to_le_bytes());
        string(&mut b, None);
    }
    b
}

/// ReadResponse body of Double values.
pub fn read_response(handle: u32, values: &[f64]) -> Vec<u8> {
    let mut b = Vec::new();
    numeric_node(&mut b, 0, 634);
    response_header(&mut b, handle, 0);
    b.extend_from_slice(&i32::try_from(values.len()).unwrap_or(0).to_le_bytes());
    for v in values {
        b.push(0x01);
        b.push(11);
        b.extend_from_slice(&v.to_le_bytes());
    }
    b.extend_from_slice(&(-1i32).to_le_bytes());
    b
}

/// WriteRequest body writing Double values to string nodes.
pub fn write_request(handle: u32, ns: u16, writes: &[(&str, f64)]) -> Vec<u8> {
    let mut b = Vec::new();
    numeric_node(&mut b, 0, 673);
    request_header(&mut b, handle);
    b.extend_from_slice(&i32::try_from(writes.len()).unwrap_or(0).to_le_bytes());
    for (node, v) in writes {
        string_node(&mut b, ns, node);
        b.extend_from_slice(&13u32.to_le_bytes());
        string(&mut b, None);
        b.push(0x01);
        b.push(11);
        b.extend_from_slice(&v.to_le_bytes());
    }
    b
}

/// WriteResponse body.
pub fn write_response(handle: u32, statuses: &[u32]) -> Vec<u8> {
    let mut b = Vec::new();
    numeric_node(&mut b, 0, 676);
    response_header(&mut b, handle, 0);
    b.extend_from_slice(&i32::try_from(statuses.len()).unwrap_or(0).to_le_bytes());
    for s in statuses {
        b.extend_from_slice(&s.to_le_bytes());
    }
    b.extend_from_slice(&(-1i32).to_le_bytes());
    b
}

/// CreateSessionRequest body.
pub fn create_session_request(
    handle: u32,
    app_uri: &str,
    app_name: &str,
    session: &str,
) -> Vec<u8> {
    let mut b = Vec::new();
    numeric_node(&mut b, 0, 461);
    request_header(&mut b, handle);
    string(&mut b, Some(app_uri));
    string(&mut b, Some("urn:example:product"));
    b.push(0x02);
    string(&mut b, Some(app_name));
    b.extend_from_slice(&1u32.to_le_bytes());
    string(&mut b, None);
    string(&mut b, None);
    b.extend_from_slice(&(-1i32).to_le_bytes());
    string(&mut b, None);
    string(&mut b, Some("opc.tcp://plc:4840"));
    string(&mut b, Some(session));
    b.extend_from_slice(&(-1i32).to_le_bytes());
    b.extend_from_slice(&(-1i32).to_le_bytes());
    b.extend_from_slice(&60_000f64.to_le_bytes());
    b.extend_from_slice(&0u32.to_le_bytes());
    b
}

/// ActivateSessionRequest body with a user name token.
pub fn activate_session_username(handle: u32, user: &str, password: &[u8]) -> Vec<u8> {
    let mut b = Vec::new();
    numeric_node(&mut b, 0, 467);
    request_header(&mut b, handle);
    string(&mut b, None);
    b.extend_from_slice(&(-1i32).to_le_bytes());
    b.extend_from_slice(&(-1i32).to_le_bytes());
    b.extend_from_slice(&(-1i32).to_le_bytes());
    numeric_node(&mut b, 0, 324);
    b.push(0x01);
    let mut t = Vec::new();
    string(&mut t, Some("username"));
    string(&mut t, Some(user));
    t.extend_from_slice(&i32::try_from(password.len()).unwrap_or(0).to_le_bytes());
    t.extend_from_slice(password);
    string(&mut t, None);
    b.extend_from_slice(&i32::try_from(t.len()).unwrap_or(0).to_le_bytes());
    b.extend(t);
    string(&mut b, None);
    b.extend_from_slice(&(-1i32).to_le_bytes());
    b
}

/// OPN chunk with any policy, sender certificate and (possibly encrypted) body.
pub fn open_secure_channel_raw(
    policy: &str,
    certificate: Option<&[u8]>,
    request_id: u32,
    body: &[u8],
) -> Vec<u8> {
    let mut b = 0u32.to_le_bytes().to_vec();
    string(&mut b, Some(policy));
    match certificate {
        Some(c) => {
            b.extend_from_slice(&i32::try_from(c.len()).unwrap_or(0).to_le_bytes());
            b.extend_from_slice(c);
        }
        None => b.extend_from_slice(&(-1i32).to_le_bytes()),
    }
    b.extend_from_slice(&(-1i32).to_le_bytes());
    b.extend_from_slice(&1u32.to_le_bytes());
    b.extend_from_slice(&request_id.to_le_bytes());
    b.extend_from_slice(body);
    frame(b"OPN", b'F', &b)
}
