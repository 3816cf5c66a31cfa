//! Decoding of service request and response bodies (OPC UA Part 4 structures in
//! the Part 6 binary encoding) into the event record.
use super::binary::{builtin_name, Reader};
use super::cert;
use super::names;
use super::record::{
    Application, Channel, Endpoint, NodeOp, Session, Transaction, Value, MAX_ENDPOINTS, MAX_NODES,
};

/// RequestHeader: returns the request handle.
pub fn request_header(r: &mut Reader<'_>) -> Option<u32> {
    r.node_id()?;
    r.i64()?;
    let handle = r.u32()?;
    r.u32()?;
    r.string()?;
    r.u32()?;
    r.extension_object()?;
    Some(handle)
}

/// ResponseHeader: (request handle, service result).
pub fn response_header(r: &mut Reader<'_>) -> Option<(u32, u32)> {
    r.i64()?;
    let handle = r.u32()?;
    let result = r.u32()?;
    r.diagnostic_info()?;
    r.strings()?;
    r.extension_object()?;
    Some((handle, result))
}

fn application_type_name(t: u32) -> &'static str {
    match t {
        0 => "server",
        1 => "client",
        2 => "client_and_server",
        3 => "discovery_server",
        _ => "unknown",
    }
}

/// ApplicationDescription.
pub fn application(r: &mut Reader<'_>) -> Option<Application> {
    let application_uri = r.string()?;
    let product_uri = r.string()?;
    let (_, name) = r.localized_text()?;
    let ty = r.u32()?;
    r.string()?;
    r.string()?;
    r.strings()?;
    Some(Application {
        application_uri: application_uri.filter(|s| !s.is_empty()),
        product_uri: product_uri.filter(|s| !s.is_empty()),
        application_name: name.filter(|s| !s.is_empty()),
        application_type: application_type_name(ty),
    })
}

/// EndpointDescription: the endpoint and its server's description.
fn endpoint(r: &mut Reader<'_>) -> Option<(Endpoint, Application)> {
    let endpoint_url = r.string()?;
    let server = application(r)?;
    r.byte_string()?;
    let mode = r.u32()?;
    let policy = r.string()?;
    let n = r.count(4)?;
    let mut tokens = Vec::new();
    for _ in 0..n {
        r.string()?;
        let t = r.u32()?;
        r.string()?;
        r.string()?;
        r.string()?;
        let name = names::user_token_type_name(t);
        if !tokens.contains(&name) {
            tokens.push(name);
        }
    }
    r.string()?;
    let level = r.u8()?;
    Some((
        Endpoint {
            endpoint_url,
            security_mode: names::security_mode_name(mode),
            security_policy_uri: policy,
            user_token_types: tokens,
            security_level: level,
        },
        server,
    ))
}

fn endpoints(r: &mut Reader<'_>, tx: &mut Transaction) -> Option<Application> {
    let n = r.count(4)?;
    let mut server = None;
    let mut list = Vec::new();
    for _ in 0..n {
        let Some((e, s)) = endpoint(r) else {
            tx.endpoints = list.into_boxed_slice();
            return None;
        };
        if list.len() < MAX_ENDPOINTS {
            list.push(e);
        } else {
            tx.truncated = true;
        }
        if server.is_none() && !s.is_empty() {
            server = Some(s);
        }
    }
    tx.endpoints = list.into_boxed_slice();
    server
}

fn session(tx: &mut Transaction) -> &mut Session {
    tx.session.get_or_insert_with(Default::default)
}

fn push_node(tx: &mut Transaction, n: NodeOp) {
    if tx.nodes.len() < MAX_NODES {
        tx.nodes.push(n);
    } else {
        tx.truncated = true;
    }
}

/// ReadValueId: (node, attribute).
fn read_value_id(r: &mut Reader<'_>) -> Option<NodeOp> {
    let node = r.node_id()?;
    let attr = r.u32()?;
    r.string()?;
    r.qualified_name()?;
    Some(NodeOp {
        node_id: node.to_string(),
        attribute: Some(names::attribute_name(attr)),
        ..NodeOp::default()
    })
}

fn set_value(n: &mut NodeOp, v: &super::binary::Variant) {
    n.value_type = Some(builtin_name(v.type_id));
    n.value = v.values.first().and_then(Value::from_scalar);
    n.array_length = v.array_len;
}

/// Decodes a request body (after the encoding id); `None` when it stops short.
pub fn request(id: u32, r: &mut Reader<'_>, tx: &mut Transaction) -> Option<()> {
    tx.request_handle = Some(request_header(r)?);
    match id {
        // OpenSecureChannel
        446 => {
            r.u32()?;
            let rt = r.u32()?;
            let mode = r.u32()?;
            r.byte_string()?;
            let lifetime = r.u32()?;
            let c = tx.channel.get_or_insert_with(Default::default);
            c.request_type = Some(names::request_type_name(rt));
            c.security_mode = Some(names::security_mode_name(mode));
            c.security_none |= mode == 1;
            c.requested_lifetime_ms = Some(lifetime);
        }
        // GetEndpoints
        428 => {
            tx.endpoint_url = r.string()?.map(String::into_boxed_str);
            r.strings()?;
            r.strings()?;
        }
        // CreateSession
        461 => {
            let client = application(r)?;
            r.string()?;
            tx.endpoint_url = r.string()?.map(String::into_boxed_str);
            let name = r.string()?;
            r.byte_string()?;
            let cert = r.byte_string()?;
            r.f64()?;
            r.u32()?;
            let s = session(tx);
            s.session_name = name;
            s.client = Some(client);
            s.client_certificate_length = cert.map(|c| u32::try_from(c.len()).unwrap_or(u32::MAX));
        }
        // ActivateSession
        467 => {
            r.string()?;
            r.byte_string()?;
            let n = r.count(8)?;
            for _ in 0..n {
                r.byte_string()?;
                r.byte_string()?;
            }
            r.strings()?;
            let (ty, body) = r.extension_object()?;
            let kind = ty.ns0_numeric().and_then(names::identity_token_name);
            let s = session(tx);
            s.user_token = kind;
            if let Some(b) = body {
                let mut t = Reader::new(b);
                s.policy_id = t.string().flatten();
                match kind {
                    Some("username") => {
                        s.user_name = t.string().flatten();
                        s.password_present =
                            t.byte_string().flatten().is_some_and(|p| !p.is_empty());
                    }
                    Some("certificate") => {
                        if let Some(Some(c)) = t.byte_string() {
                            s.user_certificate_subject = cert::names(c).0;
                        }
                    }
                    _ => {}
                }
            }
        }
        // Read
        631 => {
            r.f64()?;
            r.u32()?;
            let n = r.count(1)?;
            for _ in 0..n {
                let op = read_value_id(r)?;
                push_node(tx, op);
            }
        }
        // Write
        673 => {
            let n = r.count(1)?;
            for _ in 0..n {
                let node = r.node_id()?;
                let attr = r.u32()?;
                r.string()?;
                let (v, _) = r.data_value()?;
                let mut op = NodeOp {
                    node_id: node.to_string(),
                    attribute: Some(names::attribute_name(attr)),
                    ..NodeOp::default()
                };
                if let Some(v) = v {
                    set_value(&mut op, &v);
                }
                push_node(tx, op);
            }
        }
        // Browse
        527 => {
            r.node_id()?;
            r.i64()?;
            r.u32()?;
            r.u32()?;
            let n = r.count(1)?;
            for _ in 0..n {
                let node = r.node_id()?;
                r.u32()?;
                r.node_id()?;
                r.bool()?;
                r.u32()?;
                r.u32()?;
                push_node(
                    tx,
                    NodeOp {
                        node_id: node.to_string(),
                        ..NodeOp::default()
                    },
                );
            }
        }
        // Call
        712 => {
            let n = r.count(1)?;
            for _ in 0..n {
                let object = r.node_id()?;
                let method = r.node_id()?;
                let k = r.count(1)?;
                let mut first = None;
                for _ in 0..k {
                    let v = r.variant()?;
                    if first.is_none() {
                        first = Some(v);
                    }
                }
                let mut op = NodeOp {
                    node_id: method.to_string(),
                    object_id: Some(object.to_string()),
                    ..NodeOp::default()
                };
                if let Some(v) = first {
                    set_value(&mut op, &v);
                }
                push_node(tx, op);
            }
        }
        // AddNodes
        488 => {
            let n = r.count(1)?;
            for _ in 0..n {
                r.expanded_node_id()?;
                r.node_id()?;
                let new = r.expanded_node_id()?;
                let (_, name) = r.qualified_name()?;
                r.u32()?;
                r.extension_object()?;
                r.expanded_node_id()?;
                push_node(
                    tx,
                    NodeOp {
                        node_id: new.to_string(),
                        browse_name: Some(name),
                        ..NodeOp::default()
                    },
                );
            }
        }
        // DeleteNodes
        500 => {
            let n = r.count(1)?;
            for _ in 0..n {
                let node = r.node_id()?;
                r.bool()?;
                push_node(
                    tx,
                    NodeOp {
                        node_id: node.to_string(),
                        ..NodeOp::default()
                    },
                );
            }
        }
        // CreateMonitoredItems
        751 => {
            r.u32()?;
            r.u32()?;
            let n = r.count(1)?;
            for _ in 0..n {
                let op = read_value_id(r)?;
                r.u32()?;
                r.u32()?;
                r.f64()?;
                r.extension_object()?;
                r.u32()?;
                r.bool()?;
                push_node(tx, op);
            }
        }
        _ => {}
    }
    Some(())
}

/// Decodes a response body (after the encoding id); `None` when it stops short.
pub fn response(id: u32, r: &mut Reader<'_>, tx: &mut Transaction) -> Option<()> {
    let (handle, result) = response_header(r)?;
    if tx.request_handle.is_none() {
        tx.request_handle = Some(handle);
    }
    tx.status = Some(result);
    tx.status_name = Some(names::status_name(result));
    match id {
        // OpenSecureChannel
        449 => {
            r.u32()?;
            let channel = r.u32()?;
            let token = r.u32()?;
            r.i64()?;
            let lifetime = r.u32()?;
            tx.secure_channel_id = tx.secure_channel_id.filter(|&c| c != 0).or(Some(channel));
            let c = tx.channel.get_or_insert_with(Default::default);
            c.token_id = Some(token);
            c.revised_lifetime_ms = Some(lifetime);
        }
        // GetEndpoints
        431 => {
            if let Some(server) = endpoints(r, tx) {
                session(tx).server = Some(server);
            }
        }
        // CreateSession
        464 => {
            r.node_id()?;
            r.node_id()?;
            r.f64()?;
            r.byte_string()?;
            r.byte_string()?;
            if let Some(server) = endpoints(r, tx) {
                session(tx).server = Some(server);
            }
        }
        // Read
        634 => {
            let n = r.count(1)?;
            for i in 0..n {
                let (v, status) = r.data_value()?;
                if let Some(op) = tx.nodes.get_mut(i) {
                    if let Some(v) = v {
                        set_value(op, &v);
                    }
                    op.status = status.map(names::status_name);
                }
            }
        }
        // Write, DeleteNodes: StatusCode per node
        676 | 503 => {
            let st = r.status_codes()?;
            for (op, s) in tx.nodes.iter_mut().zip(st) {
                op.status = Some(names::status_name(s));
            }
        }
        // ActivateSession: server nonce, then results
        470 => {
            r.byte_string()?;
            r.status_codes()?;
        }
        // Call: CallMethodResult[]
        715 => {
            let n = r.count(1)?;
            for i in 0..n {
                let s = r.u32()?;
                r.status_codes()?;
                r.diagnostic_infos()?;
                let k = r.count(1)?;
                for _ in 0..k {
                    r.variant()?;
                }
                if let Some(op) = tx.nodes.get_mut(i) {
                    op.status = Some(names::status_name(s));
                }
            }
        }
        // AddNodes: AddNodesResult[] (status, added node id)
        491 => {
            let n = r.count(1)?;
            for i in 0..n {
                let s = r.u32()?;
                r.node_id()?;
                if let Some(op) = tx.nodes.get_mut(i) {
                    op.status = Some(names::status_name(s));
                }
            }
        }
        // CreateMonitoredItems: MonitoredItemCreateResult[]
        754 => {
            let n = r.count(1)?;
            for i in 0..n {
                let s = r.u32()?;
                r.u32()?;
                r.f64()?;
                r.u32()?;
                r.extension_object()?;
                if let Some(op) = tx.nodes.get_mut(i) {
                    op.status = Some(names::status_name(s));
                }
            }
        }
        _ => {}
    }
    Some(())
}

/// The asymmetric security header of an OPN: fills the channel record.
pub fn asymmetric_header(r: &mut Reader<'_>, c: &mut Channel) -> Option<()> {
    let policy = r.string()?;
    let cert = r.byte_string()?;
    r.byte_string()?;
    c.security_none |= policy.as_deref().is_some_and(|p| p.ends_with("#None"));
    c.security_policy_uri = policy;
    c.sender_certificate_length = cert.map(|b| u32::try_from(b.len()).unwrap_or(u32::MAX));
    if let Some(der) = cert.filter(|b| !b.is_empty()) {
        let (subject, issuer) = cert::names(der);
        c.certificate_subject = subject;
        c.certificate_issuer = issuer;
    }
    Some(())
}
