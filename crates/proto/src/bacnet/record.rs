//! The BACnet event record ([`Transaction`]) and the decoding of service parameters
//! into it.
use super::names;
use super::tags::{self, ObjectId, Reader, Value};
use crate::Operation;
use serde::Serialize;

/// Properties kept per message (ReadPropertyMultiple, WritePropertyMultiple, COV).
pub const MAX_PROPERTIES: usize = 64;

fn is_false(b: &bool) -> bool {
    !*b
}

/// One BACnet transaction: a confirmed request paired with its answer (simple or
/// complex ACK, error, reject, abort), an unanswered request, an answer with no
/// request, an unconfirmed request (Who-Is, I-Am, COV notification...), a BVLC
/// message (with its BVLC-Result) or a network layer message. Serialised under
/// `bacnet` in events.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Transaction {
    /// Service choice; `256 + function` for BVLC messages without an NPDU and
    /// `512 + message type` for network layer messages.
    pub function_code: u16,
    /// Service name (`read_property`, `who_is`...), BVLC function name or network
    /// message name.
    pub function: &'static str,
    /// BVLC function of the first message (`original_unicast_npdu`...).
    pub bvlc_function: &'static str,
    /// BVLC function of the answer, when it differs from the first message's.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub response_bvlc_function: Option<&'static str>,
    /// Originating address of a Forwarded-NPDU (`ip:port`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub forwarded_from: Option<String>,
    /// NPDU routing information, when present.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub network: Option<Box<Network>>,
    /// APDU type of the first message.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pdu_type: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub invoke_id: Option<u8>,
    /// APDU type of the answer (`simple_ack`, `complex_ack`, `error`, `reject`,
    /// `abort`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub response_pdu_type: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_class: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_code: Option<&'static str>,
    /// Reject or abort reason (`response_pdu_type` tells which).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<&'static str>,
    /// BVLC-Result code.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub result_code: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub result: Option<&'static str>,
    /// A message of the transaction was segmented (only its first segment decoded).
    #[serde(skip_serializing_if = "is_false")]
    pub segmented: bool,
    /// Service parameters.
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    pub detail: Option<Box<Detail>>,
    pub request: bool,
    pub response: bool,
}

/// NPDU routing information.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Network {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dnet: Option<u16>,
    /// Destination MAC address (hex; empty: broadcast).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dadr: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub snet: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sadr: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hop_count: Option<u8>,
    /// Network layer message vendor (proprietary messages).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vendor_id: Option<u16>,
}

/// A property reference with its values (read, written or notified).
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Property {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub object: Option<ObjectId>,
    pub property: u32,
    pub property_name: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub array_index: Option<u32>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub values: Vec<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub priority: Option<u8>,
    /// `class:code` of a per-property access error (ReadPropertyMultiple).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// Service parameters (flattened into the transaction).
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Detail {
    /// The object a service addresses (ReadProperty, WriteProperty, CreateObject,
    /// SubscribeCOV, AtomicRead/WriteFile, Who-Has / I-Have).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub object: Option<ObjectId>,
    /// The device of I-Am / I-Have / COV notifications.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub device: Option<ObjectId>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub properties: Vec<Property>,
    /// Who-Is / Who-Has device instance range.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub low_limit: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub high_limit: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_apdu: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub segmentation: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vendor_id: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vendor_name: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub object_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reinitialize_state: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enable_disable: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub duration_minutes: Option<u32>,
    /// A password was given (never recorded).
    #[serde(skip_serializing_if = "is_false")]
    pub password_present: bool,
    /// AtomicRead/WriteFile access: `stream` or `record`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file_access: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file_start: Option<i64>,
    /// Octets or records requested (read) or record count (write).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file_count: Option<u64>,
    /// Bytes of file data carried (write request or read ACK).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file_data_length: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub end_of_file: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub process_id: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub issue_confirmed: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lifetime: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub time_remaining: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub date: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub time: Option<String>,
    /// Lists were cut to their bounds or parameters could not be decoded.
    #[serde(skip_serializing_if = "is_false")]
    pub truncated: bool,
}

fn u32_of(v: Option<u64>) -> Option<u32> {
    v.and_then(|v| u32::try_from(v).ok())
}

fn app_u32(v: Option<Value>) -> Option<u32> {
    match v {
        Some(Value::Unsigned(u)) => u32::try_from(u).ok(),
        Some(Value::Enumerated(e)) => Some(e),
        _ => None,
    }
}

/// Property identifier (context `n`), optional array index (context `n + 1`).
fn property_ref(r: &mut Reader<'_>, n: u8) -> Option<Property> {
    let id = u32_of(r.context_unsigned(n))?;
    Some(Property {
        property: id,
        property_name: names::property_name(id),
        array_index: u32_of(r.context_unsigned(n + 1)),
        ..Property::default()
    })
}

/// `(property [n], index [n+1], value [n+2] {..}, priority [n+3])*` until a
/// closing tag or the end; the values of each property go to its entry.
fn property_values(r: &mut Reader<'_>, n: u8, object: Option<ObjectId>, d: &mut Detail) {
    while !r.done() {
        if matches!(r.peek(), Some(t) if t.closing) {
            break;
        }
        let Some(mut p) = property_ref(r, n) else {
            d.truncated = true;
            return;
        };
        p.object = object;
        if r.opening(n + 2) {
            let (v, cut) = r.values_until(n + 2);
            p.values = v;
            d.truncated |= cut;
        }
        p.priority = r.context_unsigned(n + 3).and_then(|v| u8::try_from(v).ok());
        if d.properties.len() < MAX_PROPERTIES {
            d.properties.push(p);
        } else {
            d.truncated = true;
        }
    }
}

/// Decodes the parameters of a confirmed service request.
pub fn confirmed_request(service: u8, data: &[u8]) -> Detail {
    let mut d = Detail::default();
    let mut r = Reader::new(data);
    match service {
        // ReadProperty
        12 => {
            d.object = r.context_object(0);
            if let Some(p) = property_ref(&mut r, 1) {
                d.properties.push(p);
            }
        }
        // ReadPropertyMultiple: (object [0], [1] { (property [0], index [1])* })*
        14 => {
            while !r.done() {
                let Some(obj) = r.context_object(0) else {
                    d.truncated = true;
                    break;
                };
                if !r.opening(1) {
                    d.truncated = true;
                    break;
                }
                while !r.closing(1) {
                    let Some(p) = property_ref(&mut r, 0) else {
                        d.truncated = true;
                        return d;
                    };
                    if d.properties.len() < MAX_PROPERTIES {
                        d.properties.push(Property {
                            object: Some(obj),
                            ..p
                        });
                    } else {
                        d.truncated = true;
                    }
                }
            }
        }
        // WriteProperty: object [0], property [1], index [2], value [3], priority [4]
        15 => {
            d.object = r.context_object(0);
            if let Some(mut p) = property_ref(&mut r, 1) {
                if r.opening(3) {
                    let (v, cut) = r.values_until(3);
                    p.values = v;
                    d.truncated |= cut;
                }
                p.priority = r.context_unsigned(4).and_then(|v| u8::try_from(v).ok());
                d.properties.push(p);
            } else {
                d.truncated = true;
            }
        }
        // WritePropertyMultiple: (object [0], [1] { property values })*
        16 => {
            while !r.done() {
                let Some(obj) = r.context_object(0) else {
                    d.truncated = true;
                    break;
                };
                if !r.opening(1) {
                    d.truncated = true;
                    break;
                }
                property_values(&mut r, 0, Some(obj), &mut d);
                if !r.closing(1) {
                    d.truncated = true;
                    break;
                }
            }
        }
        // ReadRange: object [0], property [1], index [2]
        26 => {
            d.object = r.context_object(0);
            if let Some(p) = property_ref(&mut r, 1) {
                d.properties.push(p);
            }
        }
        // SubscribeCOV: process [0], object [1], confirmed [2], lifetime [3]
        5 => {
            d.process_id = u32_of(r.context_unsigned(0));
            d.object = r.context_object(1);
            d.issue_confirmed = r.context_unsigned(2).map(|v| v != 0);
            d.lifetime = u32_of(r.context_unsigned(3));
        }
        // SubscribeCOVProperty: ... property [4]
        28 => {
            d.process_id = u32_of(r.context_unsigned(0));
            d.object = r.context_object(1);
            d.issue_confirmed = r.context_unsigned(2).map(|v| v != 0);
            d.lifetime = u32_of(r.context_unsigned(3));
            if r.opening(4) {
                if let Some(p) = property_ref(&mut r, 0) {
                    d.properties.push(p);
                }
            }
        }
        // ConfirmedCOVNotification
        1 => cov_notification(&mut r, &mut d),
        // AtomicReadFile: file object, [0] { start, count } | [1] { start, count }
        6 => {
            d.object = app_object(&mut r);
            for (n, access) in [(0u8, "stream"), (1, "record")] {
                if r.opening(n) {
                    d.file_access = Some(access);
                    if let Some(Value::Signed(s)) = r.app() {
                        d.file_start = Some(s);
                    }
                    if let Some(Value::Unsigned(c)) = r.app() {
                        d.file_count = Some(c);
                    }
                    break;
                }
            }
        }
        // AtomicWriteFile: file object, [0] { start, data } | [1] { start, count, data* }
        7 => {
            d.object = app_object(&mut r);
            if r.opening(0) {
                d.file_access = Some("stream");
                if let Some(Value::Signed(s)) = r.app() {
                    d.file_start = Some(s);
                }
                d.file_data_length = octets(&mut r);
            } else if r.opening(1) {
                d.file_access = Some("record");
                if let Some(Value::Signed(s)) = r.app() {
                    d.file_start = Some(s);
                }
                if let Some(Value::Unsigned(c)) = r.app() {
                    d.file_count = Some(c);
                }
                let mut total = 0u64;
                while let Some(n) = octets(&mut r) {
                    total += n;
                }
                d.file_data_length = Some(total);
            }
        }
        // CreateObject: [0] { object type [0] | object id [1] }, initial values [1]
        10 => {
            if r.opening(0) {
                if let Some(t) = r.context_unsigned(0) {
                    d.object = Some(ObjectId {
                        object_type: u16::try_from(t).unwrap_or(u16::MAX),
                        type_name: names::object_type_name(u16::try_from(t).unwrap_or(u16::MAX)),
                        instance: 0x3F_FFFF,
                    });
                } else {
                    d.object = r.context_object(1);
                }
                r.closing(0);
            }
            if r.opening(1) {
                property_values(&mut r, 0, None, &mut d);
            }
        }
        // DeleteObject: object id (application)
        11 => d.object = app_object(&mut r),
        // AddListElement / RemoveListElement: object [0], property [1], index [2]
        8 | 9 => {
            d.object = r.context_object(0);
            if let Some(p) = property_ref(&mut r, 1) {
                d.properties.push(p);
            }
        }
        // DeviceCommunicationControl: duration [0], enable-disable [1], password [2]
        17 => {
            d.duration_minutes = u32_of(r.context_unsigned(0));
            d.enable_disable = r
                .context_unsigned(1)
                .and_then(|v| u32::try_from(v).ok())
                .map(names::enable_disable_name);
            d.password_present = r.context(2).is_some();
        }
        // ReinitializeDevice: state [0], password [1]
        20 => {
            d.reinitialize_state = r
                .context_unsigned(0)
                .and_then(|v| u32::try_from(v).ok())
                .map(names::reinitialize_state_name);
            d.password_present = r.context(1).is_some();
        }
        _ => {}
    }
    d
}

fn app_object(r: &mut Reader<'_>) -> Option<ObjectId> {
    match r.app() {
        Some(Value::ObjectId(o)) => Some(o),
        _ => None,
    }
}

/// Length of the next application octet string.
fn octets(r: &mut Reader<'_>) -> Option<u64> {
    let t = r.peek()?;
    if t.context || t.number != 6 {
        return None;
    }
    r.pos = t.end;
    Some((t.end - t.start) as u64)
}

/// COV notification: process [0], device [1], object [2], time remaining [3],
/// values [4] { property values }.
fn cov_notification(r: &mut Reader<'_>, d: &mut Detail) {
    d.process_id = u32_of(r.context_unsigned(0));
    d.device = r.context_object(1);
    d.object = r.context_object(2);
    d.time_remaining = u32_of(r.context_unsigned(3));
    if r.opening(4) {
        property_values(r, 0, None, d);
    }
}

/// Decodes the parameters of an unconfirmed service request.
pub fn unconfirmed_request(service: u8, data: &[u8]) -> Detail {
    let mut d = Detail::default();
    let mut r = Reader::new(data);
    match service {
        // I-Am: device, max APDU, segmentation, vendor
        0 => {
            d.device = app_object(&mut r);
            d.max_apdu = app_u32(r.app());
            d.segmentation = app_u32(r.app()).map(names::segmentation_name);
            d.vendor_id = app_u32(r.app());
            d.vendor_name = d
                .vendor_id
                .and_then(|v| u16::try_from(v).ok())
                .and_then(names::vendor_name);
        }
        // I-Have: device, object, object name
        1 => {
            d.device = app_object(&mut r);
            d.object = app_object(&mut r);
            d.object_name = r.app().and_then(|v| v.as_str().map(str::to_string));
        }
        // UnconfirmedCOVNotification
        2 => cov_notification(&mut r, &mut d),
        // TimeSynchronization / UTCTimeSynchronization: date, time
        6 | 9 => {
            if let Some(Value::Date(s)) = r.app() {
                d.date = Some(s);
            }
            if let Some(Value::Time(s)) = r.app() {
                d.time = Some(s);
            }
        }
        // Who-Has: limits [0] [1], object [2] | name [3]
        7 => {
            d.low_limit = u32_of(r.context_unsigned(0));
            d.high_limit = u32_of(r.context_unsigned(1));
            d.object = r.context_object(2);
            if d.object.is_none() {
                d.object_name = r.context(3).map(tags::character_string);
            }
        }
        // Who-Is: limits [0] [1]
        8 => {
            d.low_limit = u32_of(r.context_unsigned(0));
            d.high_limit = u32_of(r.context_unsigned(1));
        }
        _ => {}
    }
    d
}

/// Decodes a ComplexACK into the request's detail (`d` holds the request's).
pub fn complex_ack(service: u8, data: &[u8], d: &mut Detail) {
    let mut r = Reader::new(data);
    match service {
        // ReadProperty-ACK: object [0], property [1], index [2], value [3]
        12 => {
            let obj = r.context_object(0);
            let Some(mut p) = property_ref(&mut r, 1) else {
                d.truncated = true;
                return;
            };
            if r.opening(3) {
                let (v, cut) = r.values_until(3);
                p.values = v;
                d.truncated |= cut;
            }
            if d.object.is_none() {
                d.object = obj;
            } else if obj != d.object {
                // e.g. the wildcard device instance 4194303 answered by the real one
                p.object = obj;
            }
            d.properties = vec![p];
        }
        // ReadPropertyMultiple-ACK: (object [0], [1] { (property [2], index [3],
        // value [4] {..} | error [5] {class, code})* })*
        14 => {
            let mut props = Vec::new();
            while !r.done() {
                let Some(obj) = r.context_object(0) else {
                    d.truncated = true;
                    break;
                };
                if !r.opening(1) {
                    d.truncated = true;
                    break;
                }
                while !r.closing(1) {
                    let Some(mut p) = property_ref(&mut r, 2) else {
                        d.truncated = true;
                        d.properties = props;
                        return;
                    };
                    p.object = Some(obj);
                    if r.opening(4) {
                        let (v, cut) = r.values_until(4);
                        p.values = v;
                        d.truncated |= cut;
                    } else if r.opening(5) {
                        let class = app_u32(r.app()).unwrap_or(u32::MAX);
                        let code = app_u32(r.app()).unwrap_or(u32::MAX);
                        p.error = Some(format!(
                            "{}:{}",
                            names::error_class_name(class),
                            names::error_code_name(code)
                        ));
                        r.closing(5);
                    } else {
                        d.truncated = true;
                        d.properties = props;
                        return;
                    }
                    if props.len() < MAX_PROPERTIES {
                        props.push(p);
                    } else {
                        d.truncated = true;
                    }
                }
            }
            d.properties = props;
        }
        // AtomicReadFile-ACK: end of file, [0] { start, data } | [1] { start, count, data* }
        6 => {
            if let Some(Value::Boolean(b)) = r.app() {
                d.end_of_file = Some(b);
            }
            if r.opening(0) {
                r.app();
                d.file_data_length = octets(&mut r);
            } else if r.opening(1) {
                r.app();
                r.app();
                let mut total = 0u64;
                while let Some(n) = octets(&mut r) {
                    total += n;
                }
                d.file_data_length = Some(total);
            }
        }
        // AtomicWriteFile-ACK: start position [0] | start record [1]
        7 => {
            if let Some(s) = r.context_signed(0).or_else(|| r.context_signed(1)) {
                d.file_start = Some(s);
            }
        }
        // CreateObject-ACK: the object id
        10 => {
            if let Some(o) = app_object(&mut r) {
                d.object = Some(o);
            }
        }
        _ => {}
    }
}

/// Error class and code of an Error PDU (the first two enumerations found, so
/// that the services whose errors are wrapped in a context tag decode too).
pub fn error_pdu(data: &[u8]) -> Option<(u32, u32)> {
    let mut r = Reader::new(data);
    let mut found = Vec::new();
    let mut steps = 0;
    while found.len() < 2 && !r.done() && steps < 64 {
        steps += 1;
        match r.peek() {
            Some(t) if !t.context && t.number == 9 => {
                if let Some(Value::Enumerated(e)) = r.app() {
                    found.push(e);
                }
            }
            Some(t) if t.opening || t.closing => {
                r.pos = t.end;
            }
            Some(_) => {
                if !r.skip() {
                    break;
                }
            }
            None => break,
        }
    }
    match found.as_slice() {
        [c, e] => Some((*c, *e)),
        _ => None,
    }
}

impl Transaction {
    fn detail_ref(&self) -> Option<&Detail> {
        self.detail.as_deref()
    }

    /// Values written by the request (WriteProperty, WritePropertyMultiple):
    /// `("analog-value,7.present-value", 42.0)`, `[i]` appended for an array index.
    /// Only numeric values (real, double, unsigned, signed, enumerated, boolean).
    pub fn written(&self) -> Vec<(String, f64)> {
        if !self.request || self.pdu_type != Some("confirmed_request") {
            return Vec::new();
        }
        if !matches!(self.function_code, 15 | 16) {
            return Vec::new();
        }
        let Some(d) = self.detail_ref() else {
            return Vec::new();
        };
        d.properties
            .iter()
            .filter_map(|p| {
                let v = p.values.first()?.as_f64()?;
                let obj = p
                    .object
                    .or(d.object)
                    .map(|o| o.to_string())
                    .unwrap_or_default();
                let mut item = format!("{obj}.{}", p.property_name);
                if let Some(i) = p.array_index {
                    item.push_str(&format!("[{i}]"));
                }
                Some((item, v))
            })
            .collect()
    }

    /// A ReinitializeDevice request (device restart, backup / restore).
    pub fn is_reinitialize(&self) -> bool {
        self.pdu_type == Some("confirmed_request") && self.function_code == 20
    }

    /// A DeviceCommunicationControl request (disables a device's communication).
    pub fn is_communication_control(&self) -> bool {
        self.pdu_type == Some("confirmed_request") && self.function_code == 17
    }

    pub(crate) fn operation(&self) -> Operation {
        match (self.pdu_type, self.function_code) {
            (Some("confirmed_request"), 6 | 7 | 17 | 20) => Operation::Engineering,
            (Some("confirmed_request"), 8..=11 | 15 | 16) => Operation::Write,
            (Some("confirmed_request"), 3 | 4 | 12..=14 | 26 | 29) => Operation::Read,
            (Some("unconfirmed_request"), 10) => Operation::Write,
            _ => Operation::Other,
        }
    }
}
