//! The EtherNet/IP event record ([`Transaction`]), its CIP part ([`Cip`]) and how
//! decoded messages fill them.
use super::cip;
use super::names::{self, ServiceContext};
use super::parser::{IdentityItem, ServiceItem, SockAddr};
use crate::Operation;
use serde::{Serialize, Serializer};
use std::fmt::Write as _;

/// Most bytes of opaque data rendered as hex; longer data is cut and marked `...`.
pub const MAX_DATA_BYTES: usize = 64;
/// Values (tag elements) kept per message.
pub const MAX_VALUES: usize = 64;
/// Embedded services (Multiple_Service_Packet) kept per message.
pub const MAX_SERVICES: usize = 64;
/// Attribute ids kept per Get/Set_Attribute_List.
pub const MAX_ATTRIBUTES: usize = 64;
/// Identity / service items kept per ListIdentity / ListServices reply.
pub const MAX_LIST_ITEMS: usize = 8;
/// Nesting of Unconnected_Send / Multiple_Service_Packet that is decoded.
pub const MAX_DEPTH: u8 = 3;

fn hex32<S: Serializer>(v: &u32, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&format!("0x{v:08x}"))
}

fn hex32_opt<S: Serializer>(v: &Option<u32>, s: S) -> Result<S::Ok, S::Error> {
    match v {
        Some(v) => hex32(v, s),
        None => s.serialize_none(),
    }
}

fn hex_ctx<S: Serializer>(v: &[u8; 8], s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&hex(v))
}

fn is_zero_u32(v: &u32) -> bool {
    *v == 0
}

fn is_zero_ctx(v: &[u8; 8]) -> bool {
    v.iter().all(|&b| b == 0)
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// One EtherNet/IP transaction: an encapsulation request paired with its reply (the
/// CIP request and response they carry under `cip`), an unanswered request, a reply
/// with no request, or the summary of one implicit I/O connection. Serialised under
/// `enip` in events.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Transaction {
    /// Encapsulation command (`0x8002` for an implicit I/O connection summary).
    pub function_code: u16,
    /// Command name: `list_identity`, `send_rr_data`, ..., `implicit_io`.
    pub function: &'static str,
    /// Session handle (absent when 0).
    #[serde(skip_serializing_if = "is_zero_u32", serialize_with = "hex32")]
    pub session_handle: u32,
    /// Sender context of the request, hex of the 8 wire bytes (absent when all 0).
    #[serde(skip_serializing_if = "is_zero_ctx", serialize_with = "hex_ctx")]
    pub sender_context: [u8; 8],
    #[serde(skip_serializing_if = "is_zero_u32")]
    pub options: u32,
    /// Length field of the request.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub length: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub response_length: Option<u16>,
    /// Encapsulation status of the reply.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status_name: Option<&'static str>,
    /// Connection id of a connected (SendUnitData) request or of an I/O connection.
    #[serde(skip_serializing_if = "Option::is_none", serialize_with = "hex32_opt")]
    pub connection_id: Option<u32>,
    /// Connection id of the connected reply (the other direction's id).
    #[serde(skip_serializing_if = "Option::is_none", serialize_with = "hex32_opt")]
    pub response_connection_id: Option<u32>,
    /// CIP sequence count of a connected message.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sequence: Option<u16>,
    /// Effective CIP service of the request (the embedded one behind Unconnected_Send).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cip_service: Option<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cip: Option<Box<Cip>>,
    /// ListIdentity reply items.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub identity: Vec<Identity>,
    /// ListServices reply items.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub services: Vec<Service>,
    /// ListInterfaces reply item count.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub interface_count: Option<u16>,
    /// Socket address info items (O->T, T->O) of the request and reply.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub sockaddr: Vec<SockAddrInfo>,
    /// Implicit I/O connection summary (UDP 2222).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub io: Option<Box<IoSummary>>,
    pub request: bool,
    pub response: bool,
}

/// The CIP part of a transaction: the request's service, target and data, and the
/// response's status and data.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Cip {
    /// Service code (response bit cleared).
    pub service: u8,
    /// Service name; object specific services are named after the target
    /// (`forward_open` on the Connection Manager, `read_tag` on a symbol...).
    pub service_name: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub class: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub class_name: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub instance: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attribute: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub member: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub connection_point: Option<u32>,
    /// Logix tag from the symbolic path (`Program:Main.Valve[3].Cmd`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tag: Option<String>,
    /// The request path, rendered (`class 0x02, instance 1`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// The request went through Unconnected_Send: its route path, rendered.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub route_path: Option<String>,
    /// General status of the response.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status_name: Option<&'static str>,
    /// First extended status word.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub extended_status: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub extended_status_name: Option<&'static str>,
    /// Attribute ids of Get_Attribute_List.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub attributes: Vec<u16>,
    /// Tag data type (write request or read response).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_type: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_type_name: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub elements: Option<u16>,
    /// Byte offset of fragmented tag services.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub offset: Option<u32>,
    /// Values the request writes (Write_Tag, Write_Tag_Fragmented).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub values: Vec<f64>,
    /// Values the response returns (Read_Tag, Read_Tag_Fragmented).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub read_values: Vec<f64>,
    /// Request data as hex when it is not decoded further (Set_Attribute_*, struct
    /// writes, class specific services), at most [`MAX_DATA_BYTES`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data: Option<String>,
    /// Read_Modify_Write_Tag masks (hex).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub or_mask: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub and_mask: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub forward_open: Option<Box<ForwardOpen>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub forward_close: Option<Box<ForwardClose>>,
    /// Identity object attributes (Get_Attributes_All on class 1).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub identity: Option<Box<Identity>>,
    /// Embedded services of a Multiple_Service_Packet, each with its response.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub services: Vec<Cip>,
    /// Something was cut to the bounds above, or could not be decoded.
    #[serde(skip_serializing_if = "is_false")]
    pub truncated: bool,
    /// The record was built from a request (else from a response alone).
    #[serde(skip)]
    pub from_request: bool,
    #[serde(skip)]
    ctx: Option<ServiceContext>,
}

/// Forward_Open / Large_Forward_Open parameters and reply.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct ForwardOpen {
    pub large: bool,
    /// O->T connection id (the request's proposal, replaced by the target's choice
    /// from a successful reply).
    #[serde(serialize_with = "hex32")]
    pub o_t_connection_id: u32,
    #[serde(serialize_with = "hex32")]
    pub t_o_connection_id: u32,
    pub connection_serial: u16,
    pub originator_vendor: u16,
    pub originator_serial: u32,
    pub timeout_multiplier: u8,
    /// Requested packet intervals (microseconds).
    pub o_t_rpi_us: u32,
    pub t_o_rpi_us: u32,
    pub o_t_size: u16,
    pub t_o_size: u16,
    pub o_t_type: &'static str,
    pub t_o_type: &'static str,
    pub transport_class: u8,
    pub trigger: &'static str,
    /// Connection path, rendered (`port 1 link 0, class 0x02, instance 1`).
    pub connection_path: String,
    /// Actual packet intervals from a successful reply (microseconds).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub o_t_api_us: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub t_o_api_us: Option<u32>,
}

/// Forward_Close parameters.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct ForwardClose {
    pub connection_serial: u16,
    pub originator_vendor: u16,
    pub originator_serial: u32,
    pub connection_path: String,
}

/// A CIP identity (ListIdentity item or Identity object attributes).
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Identity {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub encapsulation_version: Option<u16>,
    /// Socket address the device states (ListIdentity).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub socket_address: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub socket_port: Option<u16>,
    pub vendor_id: u16,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vendor_name: Option<&'static str>,
    pub device_type: u16,
    pub device_type_name: &'static str,
    pub product_code: u16,
    /// `major.minor`.
    pub revision: String,
    /// Status word, hex.
    pub status: String,
    /// Serial number, hex (`0x00524d8e`).
    pub serial_number: String,
    pub product_name: String,
    /// State byte, hex.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    #[serde(skip_serializing_if = "is_false")]
    pub truncated: bool,
    #[serde(skip)]
    pub address: Option<std::net::IpAddr>,
}

impl Identity {
    pub fn from_item(i: &IdentityItem) -> Identity {
        Identity {
            encapsulation_version: i.encapsulation_version,
            socket_address: i.socket.map(|s| s.addr.to_string()),
            socket_port: i.socket.map(|s| s.port),
            vendor_id: i.vendor_id,
            vendor_name: names::vendor_name(i.vendor_id),
            device_type: i.device_type,
            device_type_name: names::device_type_name(i.device_type),
            product_code: i.product_code,
            revision: format!("{}.{}", i.revision_major, i.revision_minor),
            status: format!("0x{:04x}", i.status),
            serial_number: format!("0x{:08x}", i.serial_number),
            product_name: i.product_name.clone(),
            state: i.state.map(|s| format!("0x{s:02x}")),
            truncated: i.truncated,
            address: i.socket.and_then(|s| s.host()),
        }
    }

    /// The identity facts for the asset inventory.
    pub fn to_identity(&self, source: &'static str, side: crate::Side) -> crate::Identity {
        let vendor = self
            .vendor_name
            .map(str::to_string)
            .unwrap_or_else(|| format!("vendor {}", self.vendor_id));
        let product = Some(self.product_name.clone()).filter(|p| !p.is_empty());
        crate::Identity {
            side: Some(side),
            source,
            address: self.address,
            vendor: Some(vendor),
            product,
            model: Some(format!(
                "{} (product code {})",
                self.device_type_name, self.product_code
            )),
            firmware: Some(self.revision.clone()),
            serial: Some(self.serial_number.clone()),
            ..crate::Identity::default()
        }
    }
}

/// A ListServices reply item.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Service {
    pub type_id: u16,
    pub version: u16,
    pub capability_flags: u16,
    pub name: String,
}

impl From<&ServiceItem> for Service {
    fn from(s: &ServiceItem) -> Service {
        Service {
            type_id: s.type_id,
            version: s.version,
            capability_flags: s.capability_flags,
            name: s.name.clone(),
        }
    }
}

/// A socket address info item.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct SockAddrInfo {
    /// `o_t` or `t_o`.
    pub direction: &'static str,
    pub address: String,
    pub port: u16,
}

impl SockAddrInfo {
    pub fn new(type_id: u16, s: &SockAddr) -> SockAddrInfo {
        SockAddrInfo {
            direction: if type_id == 0x8000 { "o_t" } else { "t_o" },
            address: s.addr.to_string(),
            port: s.port,
        }
    }
}

/// Counters of one implicit I/O connection.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct IoSummary {
    pub packets: u64,
    /// Bytes of connected data.
    pub bytes: u64,
    pub first_sequence: u32,
    pub last_sequence: u32,
    /// Packets missing according to the encapsulation sequence numbers.
    pub lost: u64,
    /// Packets whose sequence number did not advance (duplicates, reordering).
    pub out_of_order: u64,
    /// Connected data length of the last packet.
    pub data_length: u16,
}

/// Lowercase hex of at most [`MAX_DATA_BYTES`] bytes, `...` appended when cut.
pub fn hex(b: &[u8]) -> String {
    let shown = b.get(..MAX_DATA_BYTES).unwrap_or(b);
    let mut s = String::with_capacity(shown.len() * 2 + 3);
    for x in shown {
        let _ = write!(s, "{x:02x}");
    }
    if b.len() > MAX_DATA_BYTES {
        s.push_str("...");
    }
    s
}

/// Why a response could not be applied to its request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ApplyIssue {
    /// Too short for a CIP response header.
    Truncated,
    /// The response's service is not the request's.
    ServiceMismatch(u8),
}

impl Cip {
    fn base(service: u8, path: &cip::Path<'_>) -> Cip {
        let t = path.target();
        let ctx = ServiceContext::of(t.class, path.has_symbol());
        Cip {
            service: service & 0x7F,
            service_name: names::service_name(service, ctx),
            class: t.class,
            class_name: t.class.and_then(names::class_name),
            instance: t.instance,
            attribute: t.attribute,
            member: t.member,
            connection_point: t.connection_point,
            tag: t.tag,
            path: informative(path).then(|| path.render()),
            truncated: path.error || path.truncated,
            ctx: Some(ctx),
            ..Cip::default()
        }
    }

    /// The CIP record of a request message; `None` when it is too short for a
    /// request header.
    pub fn from_request(msg: &[u8], depth: u8) -> Option<Cip> {
        Cip::request_at(msg, depth, false)
    }

    /// `in_msp`: the message is embedded in a Multiple_Service_Packet, whose own
    /// embedded packets are then not decoded (bounds the records per message to
    /// 1 + [`MAX_SERVICES`] whatever the offsets).
    fn request_at(msg: &[u8], depth: u8, in_msp: bool) -> Option<Cip> {
        let req = cip::parse_request(msg)?;
        let path = cip::parse_path(req.path);
        let mut c = Cip::base(req.service, &path);
        c.from_request = true;
        let d = req.data;
        let ctx = c.ctx.unwrap_or(ServiceContext::Other);
        match (ctx, c.service) {
            (ServiceContext::ConnectionManager, 0x52) if depth < MAX_DEPTH => {
                let Some(us) = cip::parse_unconnected_send(d) else {
                    c.truncated = true;
                    return Some(c);
                };
                let route = cip::parse_path(us.route_path).render();
                match Cip::request_at(us.message, depth + 1, in_msp) {
                    Some(mut inner) => {
                        inner.route_path = Some(route);
                        return Some(inner);
                    }
                    None => {
                        c.route_path = Some(route);
                        c.truncated = true;
                    }
                }
            }
            (ServiceContext::ConnectionManager, 0x54 | 0x5B) => {
                let large = c.service == 0x5B;
                match cip::parse_forward_open(d, large) {
                    Some(f) => {
                        let (o_t_size, o_t_type) = conn_params(f.o_t_params, large);
                        let (t_o_size, t_o_type) = conn_params(f.t_o_params, large);
                        c.forward_open = Some(Box::new(ForwardOpen {
                            large,
                            o_t_connection_id: f.o_t_connection_id,
                            t_o_connection_id: f.t_o_connection_id,
                            connection_serial: f.connection_serial,
                            originator_vendor: f.originator_vendor,
                            originator_serial: f.originator_serial,
                            timeout_multiplier: f.timeout_multiplier,
                            o_t_rpi_us: f.o_t_rpi,
                            t_o_rpi_us: f.t_o_rpi,
                            o_t_size,
                            t_o_size,
                            o_t_type,
                            t_o_type,
                            transport_class: f.transport & 0x0F,
                            trigger: names::trigger_name((f.transport >> 4) & 0x07),
                            connection_path: cip::parse_path(f.path).render(),
                            o_t_api_us: None,
                            t_o_api_us: None,
                        }));
                    }
                    None => c.truncated = true,
                }
            }
            (ServiceContext::ConnectionManager, 0x4E) => match cip::parse_forward_close(d) {
                Some(f) => {
                    c.forward_close = Some(Box::new(ForwardClose {
                        connection_serial: f.connection_serial,
                        originator_vendor: f.originator_vendor,
                        originator_serial: f.originator_serial,
                        connection_path: cip::parse_path(f.path).render(),
                    }));
                }
                None => c.truncated = true,
            },
            (_, 0x0A) => match cip::parse_multiple(d, MAX_SERVICES) {
                Some((msgs, cut)) => {
                    c.truncated |= cut;
                    if depth < MAX_DEPTH && !in_msp {
                        // Sized once: a service record is large to move on each growth.
                        c.services.reserve_exact(msgs.len());
                        for m in msgs {
                            match Cip::request_at(m, depth + 1, true) {
                                Some(s) => c.services.push(s),
                                None => c.truncated = true,
                            }
                        }
                    }
                }
                None => c.truncated = true,
            },
            (_, 0x03) => {
                let n = usize::from(super::parser::u16le(d, 0).unwrap_or(0));
                for i in 0..n {
                    if c.attributes.len() >= MAX_ATTRIBUTES {
                        c.truncated = true;
                        break;
                    }
                    match super::parser::u16le(d, 2 + 2 * i) {
                        Some(a) => c.attributes.push(a),
                        None => {
                            c.truncated = true;
                            break;
                        }
                    }
                }
            }
            (ServiceContext::Tag, 0x4C) => {
                c.elements = super::parser::u16le(d, 0);
            }
            (ServiceContext::Tag, 0x52) => {
                c.elements = super::parser::u16le(d, 0);
                c.offset = super::parser::u32le(d, 2);
            }
            (ServiceContext::Tag, 0x4D | 0x53) => {
                let ty = super::parser::u16le(d, 0);
                let mut at = 2;
                if ty == Some(0xA0) {
                    at += 2;
                }
                c.data_type = ty;
                c.data_type_name = ty.map(names::data_type_name);
                c.elements = super::parser::u16le(d, at);
                at += 2;
                if c.service == 0x53 {
                    c.offset = super::parser::u32le(d, at);
                    at += 4;
                }
                let values = d.get(at..).unwrap_or_default();
                match ty {
                    Some(t) if names::data_type_size(t).is_some() => {
                        let (v, cut) = cip::decode_values(t, values, MAX_VALUES);
                        c.values = v;
                        c.truncated |= cut;
                    }
                    _ => c.data = Some(hex(values)),
                }
            }
            (ServiceContext::Tag, 0x4E) => {
                let size = usize::from(super::parser::u16le(d, 0).unwrap_or(0));
                let or = d.get(2..2 + size);
                let and = d.get(2 + size..2 + 2 * size);
                match (or, and) {
                    (Some(o), Some(a)) => {
                        c.or_mask = Some(hex(o));
                        c.and_mask = Some(hex(a));
                    }
                    _ => c.truncated = true,
                }
            }
            _ => {
                if !d.is_empty() {
                    c.data = Some(hex(d));
                }
            }
        }
        Some(c)
    }

    /// The CIP record of a response whose request was not seen.
    pub fn from_response(msg: &[u8]) -> Option<Cip> {
        Cip::from_response_at(msg, false)
    }

    fn from_response_at(msg: &[u8], in_msp: bool) -> Option<Cip> {
        let resp = cip::parse_response(msg)?;
        let mut c = Cip {
            service: resp.service,
            service_name: names::service_name(resp.service, ServiceContext::Other),
            ..Cip::default()
        };
        c.set_status(&resp);
        if resp.service == 0x0A && !in_msp {
            if let Some((msgs, cut)) = cip::parse_multiple(resp.data, MAX_SERVICES) {
                c.truncated |= cut;
                c.services = msgs
                    .into_iter()
                    .filter_map(|m| Cip::from_response_at(m, true))
                    .collect();
            }
        }
        Some(c)
    }

    fn set_status(&mut self, resp: &cip::Response<'_>) {
        self.status = Some(resp.status);
        self.status_name = Some(names::general_status_name(resp.status));
        self.extended_status = super::parser::u16le(resp.extended, 0);
        self.extended_status_name = match (resp.status, self.extended_status) {
            (0x01, Some(e)) => names::cm_extended_status_name(e),
            _ => None,
        };
    }

    /// Applies the response message to this request record.
    pub fn apply_response(&mut self, msg: &[u8], depth: u8) -> Result<(), ApplyIssue> {
        let resp = cip::parse_response(msg).ok_or(ApplyIssue::Truncated)?;
        self.set_status(&resp);
        if self.route_path.is_some() && resp.service == 0x52 && resp.service != self.service {
            // Unconnected_Send failed on the way: the status is the router's.
            return Ok(());
        }
        if resp.service != self.service {
            return Err(ApplyIssue::ServiceMismatch(resp.service));
        }
        let ok = resp.status == 0 || resp.status == 0x06;
        let ctx = self.ctx.unwrap_or(ServiceContext::Other);
        let d = resp.data;
        match (ctx, self.service) {
            (_, 0x0A) if depth < MAX_DEPTH => {
                if let Some((msgs, _)) = cip::parse_multiple(d, MAX_SERVICES) {
                    for (s, m) in self.services.iter_mut().zip(msgs) {
                        if s.apply_response(m, depth + 1).is_err() {
                            s.truncated = true;
                        }
                    }
                }
            }
            (ServiceContext::Tag, 0x4C | 0x52) if ok => {
                let ty = super::parser::u16le(d, 0);
                let at = if ty == Some(0xA0) { 4 } else { 2 };
                if self.data_type.is_none() {
                    self.data_type = ty;
                    self.data_type_name = ty.map(names::data_type_name);
                }
                if let Some(t) = ty {
                    let (v, cut) =
                        cip::decode_values(t, d.get(at..).unwrap_or_default(), MAX_VALUES);
                    self.read_values = v;
                    self.truncated |= cut;
                }
            }
            (ServiceContext::ConnectionManager, 0x54 | 0x5B) if ok => {
                if let (Some(f), Some(r)) =
                    (self.forward_open.as_mut(), cip::parse_forward_open_reply(d))
                {
                    f.o_t_connection_id = r.o_t_connection_id;
                    f.t_o_connection_id = r.t_o_connection_id;
                    f.o_t_api_us = Some(r.o_t_api);
                    f.t_o_api_us = Some(r.t_o_api);
                }
            }
            (_, 0x01) if ok && self.class == Some(names::CLASS_IDENTITY) => {
                if let Some(i) = IdentityItem::parse_attributes_all(d) {
                    self.identity = Some(Box::new(Identity::from_item(&i)));
                }
            }
            _ => {}
        }
        Ok(())
    }

    /// This record and its embedded services, depth first.
    pub fn all(&self) -> Vec<&Cip> {
        let mut v = vec![self];
        for s in &self.services {
            v.extend(s.all());
        }
        v
    }

    /// What this CIP request does to the device.
    pub fn operation(&self) -> Operation {
        let ctx = self.ctx.unwrap_or(ServiceContext::Other);
        match (ctx, self.service) {
            (_, 0x0A) => {
                let ops: Vec<Operation> = self.services.iter().map(Cip::operation).collect();
                if ops.contains(&Operation::Engineering) {
                    Operation::Engineering
                } else if ops.contains(&Operation::Write) {
                    Operation::Write
                } else if ops.contains(&Operation::Read) {
                    Operation::Read
                } else {
                    Operation::Other
                }
            }
            (ServiceContext::ConnectionManager, 0x4E | 0x52 | 0x54 | 0x5B) => Operation::Other,
            (_, 0x05..=0x07 | 0x15 | 0x16) => Operation::Engineering,
            (_, 0x02 | 0x04 | 0x08 | 0x09 | 0x0D | 0x10 | 0x19..=0x1B) => Operation::Write,
            (ServiceContext::Tag, 0x4D | 0x4E | 0x53) => Operation::Write,
            (_, 0x01 | 0x03 | 0x0E | 0x11 | 0x18) => Operation::Read,
            (ServiceContext::Tag, 0x4C | 0x52 | 0x55) => Operation::Read,
            _ => Operation::Other,
        }
    }

    /// Values this request writes: `(item, value)` with the item a tag name (array
    /// elements as `tag[i]`) or `0xCLASS/INSTANCE/ATTRIBUTE` for Set_Attribute_Single
    /// of a 1, 2, 4 or 8 byte value (read as an unsigned little-endian integer).
    pub fn written(&self) -> Vec<(String, f64)> {
        let mut out = Vec::new();
        for c in self.all() {
            if !c.from_request {
                continue;
            }
            let ctx = c.ctx.unwrap_or(ServiceContext::Other);
            match (ctx, c.service) {
                (ServiceContext::Tag, 0x4D | 0x53) => {
                    let Some(tag) = &c.tag else { continue };
                    let start = if c.service == 0x53 {
                        c.offset
                            .zip(c.data_type.and_then(names::data_type_size))
                            .map_or(0, |(o, s)| o as usize / s)
                    } else {
                        0
                    };
                    if c.values.len() == 1 && start == 0 {
                        if let Some(v) = c.values.first() {
                            out.push((tag.clone(), *v));
                        }
                    } else {
                        for (i, v) in c.values.iter().enumerate() {
                            out.push((element_name(tag, start + i), *v));
                        }
                    }
                }
                (_, 0x10) => {
                    let (Some(class), Some(inst), Some(attr)) = (c.class, c.instance, c.attribute)
                    else {
                        continue;
                    };
                    let Some(v) = c.data.as_deref().and_then(hex_uint) else {
                        continue;
                    };
                    out.push((format!("0x{class:02x}/{inst}/{attr}"), v));
                }
                _ => {}
            }
        }
        out
    }
}

/// A path says more than its class / instance / attribute / member / tag fields.
fn informative(path: &cip::Path<'_>) -> bool {
    path.error
        || path.truncated
        || path.segments.iter().any(|s| {
            !matches!(
                s,
                cip::Segment::Symbol(_)
                    | cip::Segment::Logical(
                        cip::Logical::Class
                            | cip::Logical::Instance
                            | cip::Logical::Attribute
                            | cip::Logical::Member,
                        _
                    )
            )
        })
}

/// Element `i` of a tag write: `Tag[i]`, or `Tag[n+i]` when the tag names element n.
fn element_name(tag: &str, i: usize) -> String {
    if let Some(open) = tag.rfind('[') {
        if let Some(inner) = tag.get(open + 1..tag.len().saturating_sub(1)) {
            if tag.ends_with(']') {
                if let Ok(n) = inner.parse::<usize>() {
                    let base = tag.get(..open).unwrap_or(tag);
                    return format!("{base}[{}]", n.saturating_add(i));
                }
            }
        }
    }
    format!("{tag}[{i}]")
}

/// Little-endian unsigned value of 1, 2, 4 or 8 bytes given as hex.
fn hex_uint(h: &str) -> Option<f64> {
    if h.ends_with("...") || !matches!(h.len(), 2 | 4 | 8 | 16) {
        return None;
    }
    let mut v: u64 = 0;
    for i in (0..h.len()).step_by(2).rev() {
        let b = u8::from_str_radix(h.get(i..i + 2)?, 16).ok()?;
        v = (v << 8) | u64::from(b);
    }
    Some(v as f64)
}

/// Network connection parameters: (size, connection type name).
fn conn_params(p: u32, large: bool) -> (u16, &'static str) {
    if large {
        (
            (p & 0xFFFF) as u16,
            names::connection_type_name(((p >> 29) & 3) as u8),
        )
    } else {
        (
            (p & 0x01FF) as u16,
            names::connection_type_name(((p >> 13) & 3) as u8),
        )
    }
}

impl Transaction {
    /// A record with the header fields of the first message.
    pub fn new(h: &super::parser::Header) -> Transaction {
        Transaction {
            function_code: h.command,
            function: names::command_name(h.command),
            session_handle: h.session_handle,
            sender_context: h.sender_context,
            options: h.options,
            ..Transaction::default()
        }
    }

    /// Every CIP record of the transaction (the top one and embedded services).
    pub fn cip_all(&self) -> Vec<&Cip> {
        self.cip.as_deref().map(Cip::all).unwrap_or_default()
    }

    /// A CIP Reset service was requested (device or object reset).
    pub fn is_reset(&self) -> bool {
        self.cip_all()
            .iter()
            .any(|c| c.from_request && c.service == 0x05)
    }

    /// A CIP Start or Stop service was requested.
    pub fn is_start_stop(&self) -> bool {
        self.cip_all()
            .iter()
            .any(|c| c.from_request && matches!(c.service, 0x06 | 0x07))
    }

    /// The transaction is a ListIdentity request or reply (device discovery).
    pub fn is_list_identity(&self) -> bool {
        self.function_code == 0x0063
    }

    /// The connection path of a Forward_Open (`port 1 link 0, class 0x02,
    /// instance 1`): detection compares it with the targets seen before.
    pub fn forward_open_target(&self) -> Option<&str> {
        self.cip_all()
            .into_iter()
            .find_map(|c| c.forward_open.as_ref())
            .map(|f| f.connection_path.as_str())
    }

    /// Values written by the request (Write_Tag, Write_Tag_Fragmented,
    /// Set_Attribute_Single), see [`Cip::written`].
    pub fn written(&self) -> Vec<(String, f64)> {
        if !self.request {
            return Vec::new();
        }
        self.cip.as_deref().map(Cip::written).unwrap_or_default()
    }

    /// The identity of a Get_Attributes_All reply of the Identity object.
    pub(crate) fn object_identity(&self) -> Option<(&Identity, bool)> {
        let c = self.cip.as_deref()?;
        c.all()
            .into_iter()
            .find_map(|c| c.identity.as_deref().map(|i| (i, c.route_path.is_some())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn element_names() {
        assert_eq!(element_name("Arr", 2), "Arr[2]");
        assert_eq!(element_name("Arr[5]", 2), "Arr[7]");
        assert_eq!(element_name("A.B[1,2]", 1), "A.B[1,2][1]");
        assert_eq!(hex_uint("0100"), Some(1.0));
        assert_eq!(hex_uint("ff"), Some(255.0));
        assert_eq!(hex_uint("010203"), None);
    }

    #[test]
    fn write_tag_request() {
        // Write_Tag 'SCADA' DINT x1 = 42
        let msg = [
            0x4D, 0x04, 0x91, 0x05, b'S', b'C', b'A', b'D', b'A', 0x00, 0xC4, 0x00, 0x01, 0x00, 42,
            0, 0, 0,
        ];
        let c = Cip::from_request(&msg, 0).unwrap();
        assert_eq!(c.service_name, "write_tag");
        assert_eq!(c.tag.as_deref(), Some("SCADA"));
        assert_eq!(c.values, vec![42.0]);
        assert_eq!(c.operation(), Operation::Write);
        assert_eq!(c.written(), vec![("SCADA".to_string(), 42.0)]);
    }

    #[test]
    fn set_attribute_single() {
        let msg = [0x10, 0x03, 0x20, 0xF6, 0x24, 0x01, 0x30, 0x06, 0x02, 0x00];
        let c = Cip::from_request(&msg, 0).unwrap();
        assert_eq!(c.service_name, "set_attribute_single");
        assert_eq!(c.class_name, Some("ethernet_link"));
        assert_eq!(c.written(), vec![("0xf6/1/6".to_string(), 2.0)]);
    }
}
