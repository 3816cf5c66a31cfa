//! Pure decoding of HTTP/1.x message heads (start line and header fields), body
//! framing decisions (RFC 9112 §6) and a bounded chunked-encoding state machine.
//! Line endings may be CRLF or bare LF.
use thiserror::Error;

/// Largest message head (start line + header fields) buffered.
pub const MAX_HEAD: usize = 16 * 1024;
/// Header fields decoded per message.
pub const MAX_HEADERS: usize = 128;
/// Longest chunk-size line (with extensions) or trailer line.
pub const MAX_CHUNK_LINE: usize = 1024;

/// Request methods the probe and the request-line parser accept.
pub const METHODS: &[&[u8]] = &[
    b"GET",
    b"POST",
    b"HEAD",
    b"PUT",
    b"DELETE",
    b"OPTIONS",
    b"TRACE",
    b"CONNECT",
    b"PATCH",
    b"PROPFIND",
    b"PROPPATCH",
    b"MKCOL",
    b"COPY",
    b"MOVE",
    b"LOCK",
    b"UNLOCK",
    b"SEARCH",
    b"REPORT",
    b"MKACTIVITY",
    b"CHECKOUT",
    b"MERGE",
    b"PURGE",
    b"LINK",
    b"UNLINK",
];

/// A decoding problem; [`Error::kind`] is the anomaly kind.
#[derive(Clone, Debug, Error, PartialEq, Eq)]
pub enum Error {
    #[error("malformed request line")]
    BadRequestLine,
    #[error("malformed status line")]
    BadStatusLine,
    #[error("header line without a colon")]
    BadHeader,
    #[error("whitespace between a header name and its colon (request smuggling vector)")]
    SpaceBeforeColon,
    #[error("obsolete line folding in a header")]
    ObsFold,
    #[error("message head longer than {MAX_HEAD} bytes")]
    HeadTooLong,
    #[error("more than {MAX_HEADERS} header fields")]
    TooManyHeaders,
    #[error("bad chunk size line")]
    BadChunkSize,
    #[error("chunk data not followed by CRLF")]
    BadChunkEnd,
    #[error("chunk size or trailer line longer than {MAX_CHUNK_LINE} bytes")]
    ChunkLineTooLong,
}

impl Error {
    pub fn kind(&self) -> &'static str {
        match self {
            Error::BadRequestLine => "bad_request_line",
            Error::BadStatusLine => "bad_status_line",
            Error::BadHeader => "bad_header",
            Error::SpaceBeforeColon => "space_before_colon",
            Error::ObsFold => "obsolete_line_folding",
            Error::HeadTooLong => "head_too_long",
            Error::TooManyHeaders => "too_many_headers",
            Error::BadChunkSize => "bad_chunk_size",
            Error::BadChunkEnd => "bad_chunk_end",
            Error::ChunkLineTooLong => "chunk_line_too_long",
        }
    }
}

/// Is `tok` a known method?
pub fn is_method(tok: &[u8]) -> bool {
    METHODS.contains(&tok)
}

/// Offset just after the empty line ending a message head in `buf`, searching from
/// `from` (callers resume where the last search stopped).
pub fn head_end(buf: &[u8], from: usize) -> Option<usize> {
    let mut i = from;
    while let Some(rel) = buf.get(i..)?.iter().position(|&b| b == b'\n') {
        let nl = i + rel;
        // "\n\n" or "\n\r\n"
        match buf.get(nl + 1) {
            Some(b'\n') => return Some(nl + 2),
            Some(b'\r') if buf.get(nl + 2) == Some(&b'\n') => return Some(nl + 3),
            _ => {}
        }
        i = nl + 1;
    }
    None
}

/// Splits a head into lines without their line endings.
pub fn lines(head: &[u8]) -> impl Iterator<Item = &[u8]> {
    head.split(|&b| b == b'\n')
        .map(|l| l.strip_suffix(b"\r").unwrap_or(l))
}

fn trim(mut b: &[u8]) -> &[u8] {
    while let [f, rest @ ..] = b {
        if *f == b' ' || *f == b'\t' {
            b = rest;
        } else {
            break;
        }
    }
    while let [rest @ .., l] = b {
        if *l == b' ' || *l == b'\t' {
            b = rest;
        } else {
            break;
        }
    }
    b
}

/// `METHOD SP URI SP HTTP/x.y`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RequestLine<'a> {
    pub method: &'a [u8],
    pub uri: &'a [u8],
    /// `1.1`, `1.0`; empty for an HTTP/0.9 request line.
    pub version: &'a [u8],
}

pub fn request_line(line: &[u8]) -> Result<RequestLine<'_>, Error> {
    let mut parts = line.split(|&b| b == b' ').filter(|p| !p.is_empty());
    let method = parts.next().ok_or(Error::BadRequestLine)?;
    let uri = parts.next().ok_or(Error::BadRequestLine)?;
    let version = match parts.next() {
        Some(v) => v.strip_prefix(b"HTTP/").ok_or(Error::BadRequestLine)?,
        None => b"",
    };
    if parts.next().is_some()
        || !method
            .iter()
            .all(|c| c.is_ascii_uppercase() || *c == b'-' || *c == b'_')
        || !uri.iter().all(|c| c.is_ascii_graphic())
    {
        return Err(Error::BadRequestLine);
    }
    Ok(RequestLine {
        method,
        uri,
        version,
    })
}

/// `HTTP/x.y SP code SP reason`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StatusLine<'a> {
    pub version: &'a [u8],
    pub code: u16,
    pub reason: &'a [u8],
}

pub fn status_line(line: &[u8]) -> Result<StatusLine<'_>, Error> {
    let rest = line.strip_prefix(b"HTTP/").ok_or(Error::BadStatusLine)?;
    let sp = rest
        .iter()
        .position(|&b| b == b' ')
        .ok_or(Error::BadStatusLine)?;
    let version = rest.get(..sp).ok_or(Error::BadStatusLine)?;
    let after = trim(rest.get(sp + 1..).unwrap_or_default());
    let digits = after.get(..3).ok_or(Error::BadStatusLine)?;
    if !digits.iter().all(u8::is_ascii_digit) || matches!(after.get(3), Some(c) if *c != b' ') {
        return Err(Error::BadStatusLine);
    }
    let code = digits
        .iter()
        .fold(0u16, |a, d| a * 10 + u16::from(d - b'0'));
    Ok(StatusLine {
        version,
        code,
        reason: trim(after.get(3..).unwrap_or_default()),
    })
}

/// A decoded message head.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Head<'a> {
    pub start: &'a [u8],
    /// (name, value) with the value trimmed; at most [`MAX_HEADERS`].
    pub headers: Vec<(&'a [u8], &'a [u8])>,
    /// Problems met (the header concerned is skipped or kept as noted).
    pub issues: Vec<Error>,
    /// Header fields seen (also those past the cap).
    pub count: usize,
}

impl<'a> Head<'a> {
    /// Values of every header named `name` (case-insensitive).
    pub fn all<'s>(&'s self, name: &'s str) -> impl Iterator<Item = &'a [u8]> + 's {
        let n = name.as_bytes();
        self.headers
            .iter()
            .filter(move |(k, _)| k.eq_ignore_ascii_case(n))
            .map(|(_, v)| *v)
    }
    /// First value of header `name`.
    pub fn get(&self, name: &str) -> Option<&'a [u8]> {
        self.all(name).next()
    }
}

/// Decodes a head (without its terminating empty line; leading empty lines skipped).
pub fn head(bytes: &[u8]) -> Head<'_> {
    let mut h = Head::default();
    let mut ls = lines(bytes).skip_while(|l| l.is_empty());
    h.start = ls.next().unwrap_or_default();
    for line in ls {
        if line.is_empty() {
            break;
        }
        if matches!(line.first(), Some(b' ' | b'\t')) {
            if !h.issues.contains(&Error::ObsFold) {
                h.issues.push(Error::ObsFold);
            }
            continue;
        }
        h.count += 1;
        let Some(colon) = line.iter().position(|&b| b == b':') else {
            h.issues.push(Error::BadHeader);
            continue;
        };
        let raw_name = line.get(..colon).unwrap_or_default();
        let name = trim(raw_name);
        if name.len() != raw_name.len() {
            h.issues.push(Error::SpaceBeforeColon);
        }
        if h.headers.len() >= MAX_HEADERS {
            if !h.issues.contains(&Error::TooManyHeaders) {
                h.issues.push(Error::TooManyHeaders);
            }
            continue;
        }
        h.headers
            .push((name, trim(line.get(colon + 1..).unwrap_or_default())));
    }
    h
}

/// Parses a decimal Content-Length value.
pub fn content_length(v: &[u8]) -> Option<u64> {
    if v.is_empty() || !v.iter().all(u8::is_ascii_digit) {
        return None;
    }
    v.iter().try_fold(0u64, |a, d| {
        a.checked_mul(10)?.checked_add(u64::from(d - b'0'))
    })
}

/// Does a Transfer-Encoding value end with `chunked`?
pub fn te_is_chunked(v: &[u8]) -> bool {
    v.rsplit(|&b| b == b',')
        .next()
        .is_some_and(|last| trim(last).eq_ignore_ascii_case(b"chunked"))
}

/// Decodes standard base64 (padding optional); `None` on a bad character.
pub fn base64(s: &[u8]) -> Option<Vec<u8>> {
    fn val(c: u8) -> Option<u32> {
        Some(match c {
            b'A'..=b'Z' => u32::from(c - b'A'),
            b'a'..=b'z' => u32::from(c - b'a') + 26,
            b'0'..=b'9' => u32::from(c - b'0') + 52,
            b'+' | b'-' => 62,
            b'/' | b'_' => 63,
            _ => return None,
        })
    }
    let s = trim(s);
    let end = s.iter().rposition(|&c| c != b'=').map_or(0, |i| i + 1);
    let data = s.get(..end)?;
    let mut out = Vec::with_capacity(data.len() * 3 / 4);
    let mut acc = 0u32;
    let mut bits = 0u32;
    for &c in data {
        acc = (acc << 6) | val(c)?;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    Some(out)
}

/// Where a chunked body decoder is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ChunkState {
    /// Reading the chunk-size line: value so far, digits seen, in extension, line length.
    Size {
        value: u64,
        digits: u8,
        ext: bool,
        len: usize,
    },
    Data(u64),
    /// Expecting the CRLF after chunk data (`cr` seen).
    DataEnd {
        cr: bool,
    },
    /// Trailer lines: length of the current line.
    Trailer {
        len: usize,
    },
    Done,
}

/// Bounded chunked transfer-coding decoder: never buffers, counts data octets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Chunked {
    state: ChunkState,
    /// Data octets decoded so far.
    pub data_len: u64,
    /// Chunks seen.
    pub chunks: u64,
}

impl Default for Chunked {
    fn default() -> Self {
        Chunked::new()
    }
}

/// What [`Chunked::feed`] found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ChunkStep {
    /// All input consumed, the body goes on.
    More,
    /// The body ended after this many input bytes.
    Done(usize),
    /// Malformed at this many bytes into the input.
    Err(usize, Error),
}

impl Chunked {
    pub fn new() -> Chunked {
        Chunked {
            state: ChunkState::Size {
                value: 0,
                digits: 0,
                ext: false,
                len: 0,
            },
            data_len: 0,
            chunks: 0,
        }
    }

    pub fn is_done(&self) -> bool {
        self.state == ChunkState::Done
    }

    /// Octets of chunk data still expected in the current chunk (gap handling).
    pub fn data_left(&self) -> Option<u64> {
        match self.state {
            ChunkState::Data(n) => Some(n),
            _ => None,
        }
    }

    /// Skips `n` missing octets of chunk data (`n` ≤ [`Chunked::data_left`]).
    pub fn skip_data(&mut self, n: u64) {
        if let ChunkState::Data(left) = self.state {
            let n = n.min(left);
            self.data_len = self.data_len.saturating_add(n);
            self.state = if left == n {
                ChunkState::DataEnd { cr: false }
            } else {
                ChunkState::Data(left - n)
            };
        }
    }

    pub fn feed(&mut self, input: &[u8]) -> ChunkStep {
        let mut i = 0usize;
        while i < input.len() {
            let Some(&c) = input.get(i) else { break };
            match &mut self.state {
                ChunkState::Size {
                    value,
                    digits,
                    ext,
                    len,
                } => {
                    *len += 1;
                    if *len > MAX_CHUNK_LINE {
                        return ChunkStep::Err(i, Error::ChunkLineTooLong);
                    }
                    match c {
                        b'\n' => {
                            if *digits == 0 {
                                return ChunkStep::Err(i, Error::BadChunkSize);
                            }
                            self.chunks += 1;
                            self.state = if *value == 0 {
                                ChunkState::Trailer { len: 0 }
                            } else {
                                ChunkState::Data(*value)
                            };
                        }
                        _ if *ext || c == b'\r' => {}
                        b';' | b' ' | b'\t' if *digits > 0 => *ext = true,
                        _ => {
                            let Some(d) = (c as char).to_digit(16) else {
                                return ChunkStep::Err(i, Error::BadChunkSize);
                            };
                            *digits = digits.saturating_add(1);
                            match value.checked_mul(16) {
                                Some(v) if *digits <= 16 => *value = v + u64::from(d),
                                _ => return ChunkStep::Err(i, Error::BadChunkSize),
                            }
                        }
                    }
                    i += 1;
                }
                ChunkState::Data(left) => {
                    let avail = (input.len() - i) as u64;
                    let take = avail.min(*left);
                    self.data_len = self.data_len.saturating_add(take);
                    i += take as usize;
                    *left -= take;
                    if *left == 0 {
                        self.state = ChunkState::DataEnd { cr: false };
                    }
                }
                ChunkState::DataEnd { cr } => {
                    match (c, *cr) {
                        (b'\r', false) => *cr = true,
                        (b'\n', _) => {
                            self.state = ChunkState::Size {
                                value: 0,
                                digits: 0,
                                ext: false,
                                len: 0,
                            }
                        }
                        _ => return ChunkStep::Err(i, Error::BadChunkEnd),
                    }
                    i += 1;
                }
                ChunkState::Trailer { len } => {
                    i += 1;
                    match c {
                        b'\n' => {
                            if *len == 0 {
                                self.state = ChunkState::Done;
                                return ChunkStep::Done(i);
                            }
                            *len = 0;
                        }
                        b'\r' => {}
                        _ => {
                            *len += 1;
                            if *len > MAX_CHUNK_LINE {
                                return ChunkStep::Err(i, Error::ChunkLineTooLong);
                            }
                        }
                    }
                }
                ChunkState::Done => return ChunkStep::Done(i),
            }
        }
        ChunkStep::More
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn start_lines() {
        let r = request_line(b"GET /a?b HTTP/1.1").unwrap();
        assert_eq!(
            (r.method, r.uri, r.version),
            (&b"GET"[..], &b"/a?b"[..], &b"1.1"[..])
        );
        assert_eq!(request_line(b"GET /").unwrap().version, b"");
        assert!(request_line(b"GET / RTSP/1.0").is_err());
        assert!(request_line(b"get / HTTP/1.1").is_err());
        let s = status_line(b"HTTP/1.1 404 Not Found").unwrap();
        assert_eq!(
            (s.version, s.code, s.reason),
            (&b"1.1"[..], 404, &b"Not Found"[..])
        );
        assert_eq!(status_line(b"HTTP/1.0 200").unwrap().reason, b"");
        assert!(status_line(b"HTTP/1.1 20x OK").is_err());
        assert!(status_line(b"HTTP/1.1 2000 OK").is_err());
    }

    #[test]
    fn heads() {
        let h = head(b"GET / HTTP/1.1\r\nHost: a\r\nX : y\r\n folded\r\nbad\r\n");
        assert_eq!(h.start, b"GET / HTTP/1.1");
        assert_eq!(h.get("host"), Some(&b"a"[..]));
        assert_eq!(h.get("X"), Some(&b"y"[..]));
        assert_eq!(
            h.issues,
            vec![Error::SpaceBeforeColon, Error::ObsFold, Error::BadHeader]
        );
        assert_eq!(head_end(b"a\r\nb\r\n\r\nc", 0), Some(8));
        assert_eq!(head_end(b"a\n\nc", 0), Some(3));
        assert_eq!(head_end(b"a\r\nb\r\n", 0), None);
    }

    #[test]
    fn framing_values() {
        assert_eq!(content_length(b"123"), Some(123));
        assert_eq!(content_length(b"1 2"), None);
        assert_eq!(content_length(b"99999999999999999999999"), None);
        assert!(te_is_chunked(b"gzip, Chunked"));
        assert!(!te_is_chunked(b"chunked, gzip"));
        assert_eq!(base64(b"dXNlcjpwYXNz").unwrap(), b"user:pass");
        assert_eq!(base64(b"YQ==").unwrap(), b"a");
        assert!(base64(b"a*b").is_none());
    }

    #[test]
    fn chunked_decoder() {
        let body = b"4\r\nWiki\r\n5;ext=1\r\npedia\r\n0\r\nTrailer: x\r\n\r\nNEXT";
        let mut c = Chunked::new();
        assert_eq!(c.feed(body), ChunkStep::Done(body.len() - 4));
        assert_eq!(c.data_len, 9);
        // byte by byte gives the same
        let mut c2 = Chunked::new();
        let mut done = None;
        for (i, b) in body.iter().enumerate() {
            match c2.feed(&[*b]) {
                ChunkStep::More => {}
                ChunkStep::Done(n) => {
                    done = Some(i + n);
                    break;
                }
                ChunkStep::Err(..) => panic!("error"),
            }
        }
        assert_eq!(done, Some(body.len() - 4));
        let mut bad = Chunked::new();
        assert_eq!(bad.feed(b"zz\r\n"), ChunkStep::Err(0, Error::BadChunkSize));
        let mut huge = Chunked::new();
        assert!(matches!(
            huge.feed(b"fffffffffffffffff\r\n"),
            ChunkStep::Err(_, Error::BadChunkSize)
        ));
    }
}
