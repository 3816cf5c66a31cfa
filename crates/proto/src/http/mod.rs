//! HTTP/1.x over TCP: request and response heads (method, URI, version, host, user
//! agent, basic-auth user name, status, server, content type and length), bodies
//! skipped by Content-Length or chunked encoding (bounded, never buffered),
//! pipelining, request-smuggling ambiguities, the server's `Server:` header as an
//! identity (`http.server`).
//!
//! - [`parser`]: pure decoding of heads, framing values, the chunked decoder.
//! - [`state`]: per-direction framing, pairing, resynchronisation.
//! - [`record`]: the event record [`Transaction`].
//!
//! `function_code` stays unset; `function` is the request method.
//!
//! Anomaly kinds: `bad_request_line`, `bad_status_line`, `bad_header`,
//! `space_before_colon`, `obsolete_line_folding`, `too_many_headers`,
//! `head_too_long`, `cl_te_conflict` (both Content-Length and Transfer-Encoding:
//! request smuggling ambiguity), `conflicting_content_length`,
//! `bad_content_length`, `multiple_transfer_encoding`, `bad_transfer_encoding`,
//! `bad_chunk_size`, `bad_chunk_end`, `chunk_line_too_long`, `gap`, `resync`,
//! `truncated`, `not_http`.
use crate::{Direction, Parser, Probe, ProtocolDesc, Transport};

pub mod parser;
pub mod record;
pub mod state;

pub use record::{Request, Response, Transaction};
pub use state::HttpParser;

/// Content probe: a request starts with a known method and a space and, once its
/// first line is complete, ends that line with `HTTP/x.y` (so RTSP and SIP do not
/// match); a response starts with `HTTP/1.`.
pub fn probe(dir: Direction, data: &[u8]) -> Probe {
    match state::start(dir, data) {
        state::Start::No => Probe::NoMatch,
        state::Start::NeedMore => Probe::NeedMore,
        state::Start::Yes => {
            if dir == Direction::ToClient {
                return Probe::Match;
            }
            let body = match data.iter().position(|&c| c != b'\r' && c != b'\n') {
                Some(i) => data.get(i..).unwrap_or_default(),
                None => return Probe::NeedMore,
            };
            match body.iter().position(|&c| c == b'\n') {
                Some(nl) => {
                    let line = body.get(..nl).unwrap_or_default();
                    let line = line.strip_suffix(b"\r").unwrap_or(line);
                    match parser::request_line(line) {
                        Ok(l) if !l.version.is_empty() => Probe::Match,
                        _ => Probe::NoMatch,
                    }
                }
                // a very long request line: the method is enough
                None if body.len() >= 256 => Probe::Match,
                None => Probe::NeedMore,
            }
        }
    }
}

fn new_parser(_: Transport) -> Box<dyn Parser> {
    Box::new(HttpParser::new())
}

pub static DESC: ProtocolDesc = ProtocolDesc {
    name: "http",
    transports: &[Transport::Tcp],
    ports: &[80, 8080, 8000, 8008, 8888],
    probe,
    new_parser,
};

impl crate::ProtoRecord for Transaction {
    fn function(&self) -> Option<&str> {
        self.request.as_ref().map(|r| r.method.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn probe_decisions() {
        use Direction::*;
        assert_eq!(
            probe(ToServer, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"),
            Probe::Match
        );
        assert_eq!(probe(ToServer, b"\r\nPOST /a HTTP/1.0\r\n"), Probe::Match);
        assert_eq!(probe(ToServer, b"GE"), Probe::NeedMore);
        assert_eq!(probe(ToServer, b"GET /index"), Probe::NeedMore);
        assert_eq!(
            probe(ToServer, b"OPTIONS rtsp://x RTSP/1.0\r\n"),
            Probe::NoMatch
        );
        assert_eq!(
            probe(ToServer, b"OPTIONS sip:x SIP/2.0\r\n"),
            Probe::NoMatch
        );
        assert_eq!(probe(ToClient, b"HTTP/1.1 200 OK\r\n"), Probe::Match);
        assert_eq!(probe(ToClient, b"HTTP"), Probe::NeedMore);
        assert_eq!(probe(ToServer, b"SSH-2.0-OpenSSH\r\n"), Probe::NoMatch);
        assert_eq!(probe(ToServer, &[0x16, 3, 1, 0, 0x80, 1]), Probe::NoMatch);
        assert_eq!(
            probe(ToServer, &[0x10, 0x0c, 0, 4, b'M', b'Q']),
            Probe::NoMatch
        );
        assert_eq!(probe(ToClient, b"220 ftp ready\r\n"), Probe::NoMatch);
    }
}
