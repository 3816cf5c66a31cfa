//! The HTTP event record: one request with its response.
use super::parser::{self, Head};
use serde::Serialize;

/// Characters kept of the URI.
pub const MAX_URI: usize = 1024;
/// Characters kept of other header values.
pub const MAX_VALUE: usize = 256;

fn is_false(b: &bool) -> bool {
    !*b
}

/// Text of a wire value: lossy UTF-8 with control characters dropped, cut at `max`
/// characters; `cut` is set when it was cut.
pub fn text(b: &[u8], max: usize, cut: &mut bool) -> String {
    let s = String::from_utf8_lossy(b);
    let mut out = String::new();
    for (n, c) in s.chars().filter(|c| !c.is_control()).enumerate() {
        if n >= max {
            *cut = true;
            break;
        }
        out.push(c);
    }
    out
}

/// The request side.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Request {
    pub method: String,
    pub uri: String,
    /// `1.1`, `1.0` (empty for HTTP/0.9).
    pub version: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_agent: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub referrer: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub content_type: Option<String>,
    /// Declared Content-Length.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub content_length: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub transfer_encoding: Option<String>,
    /// Body octets seen (after chunked decoding).
    pub body_len: u64,
    /// An `Authorization: Basic` header was present.
    #[serde(skip_serializing_if = "is_false")]
    pub basic_auth: bool,
    /// User name of basic authentication (the password is never kept).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    #[serde(skip_serializing_if = "is_false")]
    pub password_present: bool,
    /// Header fields in the request.
    pub header_count: u32,
    /// Some value was cut.
    #[serde(skip_serializing_if = "is_false")]
    pub truncated: bool,
}

/// The response side.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Response {
    pub version: String,
    pub status_code: u16,
    pub reason: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub content_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub content_length: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub transfer_encoding: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
    /// Body octets seen (after chunked decoding).
    pub body_len: u64,
    pub header_count: u32,
    #[serde(skip_serializing_if = "is_false")]
    pub truncated: bool,
}

/// One HTTP transaction.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Transaction {
    /// Position of the request in the connection (1 for the first).
    pub trans_depth: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request: Option<Box<Request>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub response: Option<Box<Response>>,
    /// Last informational (1xx) status before the final response.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub info_code: Option<u16>,
}

fn opt(h: &Head<'_>, name: &str, max: usize, cut: &mut bool) -> Option<String> {
    h.get(name).map(|v| text(v, max, cut))
}

impl Request {
    pub fn from_head(line: &parser::RequestLine<'_>, h: &Head<'_>) -> Request {
        let mut cut = false;
        let mut r = Request {
            method: text(line.method, 32, &mut cut),
            uri: text(line.uri, MAX_URI, &mut cut),
            version: text(line.version, 16, &mut cut),
            host: opt(h, "host", MAX_VALUE, &mut cut),
            user_agent: opt(h, "user-agent", MAX_VALUE, &mut cut),
            referrer: opt(h, "referer", MAX_VALUE, &mut cut),
            content_type: opt(h, "content-type", MAX_VALUE, &mut cut),
            content_length: h.get("content-length").and_then(parser::content_length),
            transfer_encoding: opt(h, "transfer-encoding", MAX_VALUE, &mut cut),
            header_count: u32::try_from(h.count).unwrap_or(u32::MAX),
            ..Request::default()
        };
        let auth = h
            .get("authorization")
            .or_else(|| h.get("proxy-authorization"));
        if let Some(v) = auth {
            let (scheme, cred) = match v.iter().position(|&b| b == b' ') {
                Some(i) => (&v[..i], v.get(i + 1..).unwrap_or_default()),
                None => (v, &b""[..]),
            };
            if scheme.eq_ignore_ascii_case(b"basic") {
                r.basic_auth = true;
                if let Some(dec) = parser::base64(cred) {
                    let (user, pass) = match dec.iter().position(|&b| b == b':') {
                        Some(i) => (&dec[..i], dec.get(i + 1..).unwrap_or_default()),
                        None => (&dec[..], &b""[..]),
                    };
                    r.user = Some(text(user, MAX_VALUE, &mut cut));
                    r.password_present = !pass.is_empty();
                }
            }
        }
        r.truncated = cut;
        r
    }
}

impl Response {
    pub fn from_head(line: &parser::StatusLine<'_>, h: &Head<'_>) -> Response {
        let mut cut = false;
        let mut r = Response {
            version: text(line.version, 16, &mut cut),
            status_code: line.code,
            reason: text(line.reason, MAX_VALUE, &mut cut),
            server: opt(h, "server", MAX_VALUE, &mut cut),
            content_type: opt(h, "content-type", MAX_VALUE, &mut cut),
            content_length: h.get("content-length").and_then(parser::content_length),
            transfer_encoding: opt(h, "transfer-encoding", MAX_VALUE, &mut cut),
            location: opt(h, "location", MAX_VALUE, &mut cut),
            header_count: u32::try_from(h.count).unwrap_or(u32::MAX),
            ..Response::default()
        };
        r.truncated = cut;
        r
    }
}
