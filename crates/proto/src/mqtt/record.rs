//! The MQTT event record: one control packet with its acknowledgement.
use super::parser::{self, Packet, PropValue, Props};
use serde::ser::SerializeMap;
use serde::{Serialize, Serializer};

/// Characters kept of topics, client ids, user names and property strings.
pub const MAX_TEXT: usize = 256;
/// Characters kept of a printable PUBLISH payload.
pub const MAX_PAYLOAD_TEXT: usize = 128;

fn is_false(b: &bool) -> bool {
    !*b
}

/// Printable text, cut at `max` characters.
pub fn text(b: &[u8], max: usize) -> String {
    String::from_utf8_lossy(b)
        .chars()
        .filter(|c| !c.is_control())
        .take(max)
        .collect()
}

/// A property value as serialized.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    Int(u32),
    Text(String),
}

impl Serialize for Value {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Value::Int(n) => s.serialize_u32(*n),
            Value::Text(t) => s.serialize_str(t),
        }
    }
}

/// MQTT 5 properties, serialized as a map `name → value` (a user property as
/// `key → value`, like Suricata). Authentication data is never kept, only its size.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Properties(pub Vec<(String, Value)>);

impl Properties {
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn get(&self, name: &str) -> Option<&Value> {
        self.0.iter().find(|(k, _)| k == name).map(|(_, v)| v)
    }

    pub fn from_props(p: &Props<'_>) -> Properties {
        let mut v = Vec::new();
        for prop in &p.list {
            let name = parser::prop_name(prop.id).unwrap_or("unknown");
            let entry = match &prop.value {
                PropValue::Int(n) => (name.to_string(), Value::Int(*n)),
                PropValue::Str(s) => (name.to_string(), Value::Text(text(s, MAX_TEXT))),
                PropValue::Bin(b) if prop.id == 0x16 => (
                    "authentication_data_len".to_string(),
                    Value::Int(u32::try_from(b.len()).unwrap_or(u32::MAX)),
                ),
                PropValue::Bin(b) => (name.to_string(), Value::Text(text(b, MAX_TEXT))),
                PropValue::Pair(k, val) => (text(k, MAX_TEXT), Value::Text(text(val, MAX_TEXT))),
            };
            v.push(entry);
        }
        Properties(v)
    }
}

impl Serialize for Properties {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(self.0.len()))?;
        for (k, v) in &self.0 {
            m.serialize_entry(k, v)?;
        }
        m.end()
    }
}

/// The will of a CONNECT.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Will {
    pub topic: String,
    pub qos: u8,
    pub retain: bool,
    pub payload_len: usize,
    #[serde(skip_serializing_if = "Properties::is_empty")]
    pub properties: Properties,
}

/// A CONNECT (the password itself is never kept).
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Connect {
    pub protocol_name: String,
    /// 3 (3.1), 4 (3.1.1), 5 (5.0).
    pub protocol_version: u8,
    pub client_id: String,
    pub clean_session: bool,
    pub keep_alive: u16,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub will: Option<Will>,
    pub username_present: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    pub password_present: bool,
    #[serde(skip_serializing_if = "Properties::is_empty")]
    pub properties: Properties,
}

/// A PUBLISH.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Publish {
    pub topic: String,
    pub payload_len: usize,
    /// The payload when it is printable UTF-8 (cut at 128 characters).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub payload: Option<String>,
    #[serde(skip_serializing_if = "Properties::is_empty")]
    pub properties: Properties,
}

/// One topic filter of a SUBSCRIBE or UNSUBSCRIBE.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Topic {
    pub topic: String,
    /// Requested QoS (SUBSCRIBE only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub qos: Option<u8>,
}

/// The answer to a request (CONNACK, PUBACK, PUBREC, PUBCOMP, SUBACK, UNSUBACK,
/// PINGRESP).
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Reply {
    pub packet_type: u8,
    pub packet_type_name: &'static str,
    /// CONNACK return code / MQTT 5 reason code.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason_code: Option<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<&'static str>,
    /// SUBACK granted QoS / reason codes, UNSUBACK reason codes (MQTT 5).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub reason_codes: Vec<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub session_present: Option<bool>,
    #[serde(skip_serializing_if = "Properties::is_empty")]
    pub properties: Properties,
}

/// One MQTT transaction: a control packet and, where the protocol has one, its
/// acknowledgement (paired by packet identifier).
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Transaction {
    pub packet_type: u8,
    pub packet_type_name: &'static str,
    /// Protocol level of the connection (from its CONNECT), when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub protocol_version: Option<u8>,
    pub qos: u8,
    pub retain: bool,
    pub dup: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub packet_id: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub connect: Option<Box<Connect>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub publish: Option<Box<Publish>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub topics: Vec<Topic>,
    /// Reason code of a DISCONNECT / AUTH or of an unpaired acknowledgement.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason_code: Option<u8>,
    #[serde(skip_serializing_if = "Properties::is_empty")]
    pub properties: Properties,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reply: Option<Box<Reply>>,
    /// A list was cut or the packet was larger than what was decoded.
    #[serde(skip_serializing_if = "is_false")]
    pub truncated: bool,
}

/// CONNACK return code name (3.1.1) / reason code name (5.0).
pub fn reason_name(ptype: u8, code: u8, v5: bool) -> &'static str {
    if ptype == parser::CONNACK && !v5 {
        return match code {
            0 => "accepted",
            1 => "unacceptable_protocol_version",
            2 => "identifier_rejected",
            3 => "server_unavailable",
            4 => "bad_user_name_or_password",
            5 => "not_authorized",
            _ => "unknown",
        };
    }
    match code {
        0x00 => "success",
        0x01 => "granted_qos_1",
        0x02 => "granted_qos_2",
        0x04 => "disconnect_with_will_message",
        0x10 => "no_matching_subscribers",
        0x11 => "no_subscription_existed",
        0x18 => "continue_authentication",
        0x19 => "re_authenticate",
        0x80 => "unspecified_error",
        0x81 => "malformed_packet",
        0x82 => "protocol_error",
        0x83 => "implementation_specific_error",
        0x84 => "unsupported_protocol_version",
        0x85 => "client_identifier_not_valid",
        0x86 => "bad_user_name_or_password",
        0x87 => "not_authorized",
        0x88 => "server_unavailable",
        0x89 => "server_busy",
        0x8a => "banned",
        0x8b => "server_shutting_down",
        0x8c => "bad_authentication_method",
        0x8d => "keep_alive_timeout",
        0x8e => "session_taken_over",
        0x8f => "topic_filter_invalid",
        0x90 => "topic_name_invalid",
        0x91 => "packet_identifier_in_use",
        0x92 => "packet_identifier_not_found",
        0x93 => "receive_maximum_exceeded",
        0x94 => "topic_alias_invalid",
        0x95 => "packet_too_large",
        0x96 => "message_rate_too_high",
        0x97 => "quota_exceeded",
        0x98 => "administrative_action",
        0x99 => "payload_format_invalid",
        0x9a => "retain_not_supported",
        0x9b => "qos_not_supported",
        0x9c => "use_another_server",
        0x9d => "server_moved",
        0x9e => "shared_subscriptions_not_supported",
        0x9f => "connection_rate_exceeded",
        0xa0 => "maximum_connect_time",
        0xa1 => "subscription_identifiers_not_supported",
        0xa2 => "wildcard_subscriptions_not_supported",
        _ => "unknown",
    }
}

impl Transaction {
    /// A transaction from its first packet.
    pub fn from_packet(
        h: &parser::FixedHeader,
        p: &Packet<'_>,
        version: Option<u8>,
        cut: bool,
    ) -> Transaction {
        let mut t = Transaction {
            packet_type: h.ptype,
            packet_type_name: parser::type_name(h.ptype),
            protocol_version: version,
            qos: h.qos(),
            retain: h.retain(),
            dup: h.dup(),
            truncated: cut,
            ..Transaction::default()
        };
        let v5 = version == Some(5);
        match p {
            Packet::Connect(c) => {
                t.protocol_version = Some(c.level);
                t.connect = Some(Box::new(Connect {
                    protocol_name: text(c.protocol_name, 32),
                    protocol_version: c.level,
                    client_id: text(c.client_id, MAX_TEXT),
                    clean_session: c.clean_session(),
                    keep_alive: c.keep_alive,
                    will: c.will.as_ref().map(|w| Will {
                        topic: text(w.topic, MAX_TEXT),
                        qos: w.qos,
                        retain: w.retain,
                        payload_len: w.payload.len(),
                        properties: Properties::from_props(&w.properties),
                    }),
                    username_present: c.username_flag(),
                    username: c.username.map(|u| text(u, MAX_TEXT)),
                    password_present: c.password_present,
                    properties: Properties::from_props(&c.properties),
                }));
            }
            Packet::Publish {
                topic,
                packet_id,
                properties,
                payload,
                payload_len,
            } => {
                t.packet_id = *packet_id;
                let printable = std::str::from_utf8(payload).ok().filter(|s| {
                    s.chars()
                        .all(|c| !c.is_control() || c == '\n' || c == '\r' || c == '\t')
                });
                t.publish = Some(Box::new(Publish {
                    topic: text(topic, MAX_TEXT),
                    payload_len: *payload_len,
                    payload: printable.map(|s| s.chars().take(MAX_PAYLOAD_TEXT).collect()),
                    properties: Properties::from_props(properties),
                }));
            }
            Packet::Subscribe {
                packet_id,
                properties,
                topics,
                more,
            } => {
                t.packet_id = Some(*packet_id);
                t.properties = Properties::from_props(properties);
                t.topics = topics
                    .iter()
                    .map(|(name, o)| Topic {
                        topic: text(name, MAX_TEXT),
                        qos: (h.ptype == parser::SUBSCRIBE).then_some(o & 3),
                    })
                    .collect();
                t.truncated |= *more;
            }
            Packet::Ack {
                packet_id,
                code,
                properties,
            } => {
                t.packet_id = Some(*packet_id);
                t.reason_code = *code;
                t.properties = Properties::from_props(properties);
            }
            Packet::Reason { code, properties } => {
                t.reason_code = *code;
                t.properties = Properties::from_props(properties);
            }
            Packet::Connack { .. } | Packet::SubAck { .. } | Packet::Ping => {
                // an answer without its request
                t.reply = Some(Box::new(Reply::from_packet(h, p, v5)));
            }
        }
        t
    }
}

impl Reply {
    pub fn from_packet(h: &parser::FixedHeader, p: &Packet<'_>, v5: bool) -> Reply {
        let mut r = Reply {
            packet_type: h.ptype,
            packet_type_name: parser::type_name(h.ptype),
            ..Reply::default()
        };
        match p {
            Packet::Connack {
                session_present,
                code,
                properties,
            } => {
                r.session_present = Some(*session_present);
                r.reason_code = Some(*code);
                r.reason = Some(reason_name(h.ptype, *code, v5));
                r.properties = Properties::from_props(properties);
            }
            Packet::Ack {
                code, properties, ..
            } => {
                r.reason_code = *code;
                r.reason = code.map(|c| reason_name(h.ptype, c, v5));
                r.properties = Properties::from_props(properties);
            }
            Packet::SubAck {
                properties, codes, ..
            } => {
                r.reason_codes = codes.clone();
                r.properties = Properties::from_props(properties);
            }
            _ => {}
        }
        r
    }
}
