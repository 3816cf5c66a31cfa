//! The OPC UA event record ([`Transaction`]).
use super::binary::Scalar;
use crate::Operation;
use serde::Serialize;

/// Endpoints kept per GetEndpoints / CreateSession answer.
pub const MAX_ENDPOINTS: usize = 16;
/// Nodes kept per request (Read, Write, Browse, Call...).
pub const MAX_NODES: usize = 64;

fn is_false(b: &bool) -> bool {
    !*b
}

/// One OPC UA transaction: a request paired with its response (by request id of the
/// sequence header), HEL with its ACK/ERR, an unanswered request, a response with no
/// request, or a message of its own (CLO, ERR, RHE). Serialised under `opcua`.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Transaction {
    /// Service request encoding id of a MSG (631 ReadRequest...) or of an OPN body
    /// (446); for other messages the message type as a number (`HEL` = 0x48454C).
    pub function_code: u32,
    /// Service name (`read`, `create_session`...) or message type name (`hello`).
    pub function: &'static str,
    /// `HEL`, `ACK`, `ERR`, `RHE`, `OPN`, `MSG`, `CLO` of the first message.
    pub message_type: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secure_channel_id: Option<u32>,
    /// Request id of the sequence header.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_id: Option<u32>,
    /// Request handle of the request header.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_handle: Option<u32>,
    /// Encoding id of the response body (e.g. 634, or 397 for a ServiceFault).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub response_type: Option<u32>,
    /// Service result (response header) or error code (ERR).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status_name: Option<&'static str>,
    /// ERR reason.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<Box<str>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub endpoint_url: Option<Box<str>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hello: Option<Box<Hello>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub channel: Option<Box<Channel>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub session: Option<Box<Session>>,
    /// Nodes the request names (Read, Write, Browse, Call, AddNodes,
    /// CreateMonitoredItems...), with values written / read and per-node status.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub nodes: Vec<NodeOp>,
    /// Endpoints of a GetEndpoints / CreateSession answer.
    #[serde(skip_serializing_if = "<[Endpoint]>::is_empty")]
    pub endpoints: Box<[Endpoint]>,
    /// Chunks of the request when more than one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub chunks: Option<u32>,
    /// The body is encrypted (or unreadable on a channel whose security is
    /// unknown): headers only.
    #[serde(skip_serializing_if = "is_false")]
    pub encrypted: bool,
    /// Lists were cut or the body did not decode to its end.
    #[serde(skip_serializing_if = "is_false")]
    pub truncated: bool,
    pub request: bool,
    pub response: bool,
}

/// HEL / ACK parameters.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Hello {
    pub protocol_version: u32,
    pub receive_buffer_size: u32,
    pub send_buffer_size: u32,
    pub max_message_size: u32,
    pub max_chunk_count: u32,
    /// From the ACK.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server_receive_buffer_size: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server_send_buffer_size: Option<u32>,
}

/// OpenSecureChannel security parameters.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Channel {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub security_policy_uri: Option<String>,
    /// The channel has no security: policy `#None` or mode None.
    pub security_none: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub security_mode: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_type: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sender_certificate_length: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub certificate_subject: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub certificate_issuer: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub requested_lifetime_ms: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revised_lifetime_ms: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token_id: Option<u32>,
}

/// An application description (client or server).
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Application {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub application_uri: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub product_uri: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub application_name: Option<String>,
    pub application_type: &'static str,
}

impl Application {
    pub fn is_empty(&self) -> bool {
        self.application_uri.is_none()
            && self.product_uri.is_none()
            && self.application_name.is_none()
    }
}

/// Session parameters (CreateSession, ActivateSession).
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Session {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub session_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client: Option<Application>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server: Option<Application>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_certificate_length: Option<u32>,
    /// `anonymous`, `username`, `certificate`, `issued`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_token: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub policy_id: Option<String>,
    /// User name of a username token (the password is never recorded).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_name: Option<String>,
    #[serde(skip_serializing_if = "is_false")]
    pub password_present: bool,
    /// Subject common name of an X.509 user token.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_certificate_subject: Option<String>,
}

/// An endpoint description.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Endpoint {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub endpoint_url: Option<String>,
    pub security_mode: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub security_policy_uri: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub user_token_types: Vec<&'static str>,
    pub security_level: u8,
}

/// A value written or read.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Value {
    Bool(bool),
    Number(f64),
    Text(String),
}

impl Value {
    pub fn from_scalar(s: &Scalar) -> Option<Value> {
        Some(match s {
            Scalar::Bool(b) => Value::Bool(*b),
            Scalar::Number(n) => Value::Number(*n),
            Scalar::Text(t) => Value::Text(t.clone()),
            Scalar::Null | Scalar::Other(_) => return None,
        })
    }

    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Value::Bool(b) => Some(if *b { 1.0 } else { 0.0 }),
            Value::Number(n) => Some(*n),
            Value::Text(_) => None,
        }
    }
}

/// A node a request operates on.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct NodeOp {
    /// NodeId in text form (`ns=2;s=Temperature`, `i=2258`).
    pub node_id: String,
    /// The object of a Call (the method is `node_id`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub object_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attribute: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub browse_name: Option<String>,
    /// Built-in type of the value.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value_type: Option<&'static str>,
    /// Value written (Write) or read (Read response); an array's first element.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub array_length: Option<i32>,
    /// Per-node result of the response.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<&'static str>,
}

impl Transaction {
    /// Values the request writes: `(node id, value)`; the attribute is appended when
    /// it is not Value (`ns=2;s=Setpoint`, `i=2258#DisplayName` is not numeric so
    /// never here). Numeric and boolean scalars only.
    pub fn written(&self) -> Vec<(String, f64)> {
        if !self.request || self.function_code != 673 {
            return Vec::new();
        }
        self.nodes
            .iter()
            .filter_map(|n| {
                let v = n.value.as_ref()?.as_f64()?;
                let item = match n.attribute {
                    Some("Value") | None => n.node_id.clone(),
                    Some(a) => format!("{}#{a}", n.node_id),
                };
                Some((item, v))
            })
            .collect()
    }

    /// The secure channel has no security (OPN with policy `#None` or mode None).
    pub fn is_insecure_channel(&self) -> bool {
        self.channel.as_deref().is_some_and(|c| c.security_none)
    }

    pub(crate) fn operation(&self) -> Operation {
        if self.message_type != "MSG" {
            return Operation::Other;
        }
        match self.function_code {
            673 | 700 | 712 => Operation::Write,
            488 | 494 | 500 | 506 => Operation::Engineering,
            631 | 664 | 527 | 533 | 554 | 615 | 621 | 751 | 787 | 826 | 832 => Operation::Read,
            _ => Operation::Other,
        }
    }
}
