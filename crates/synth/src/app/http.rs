//! HTTP/1.1 requests and responses.

/// `GET path HTTP/1.1` with Host, User-Agent, Accept and keep-alive headers.
pub fn get(buf: &mut Vec<u8>, host: &str, path: &str, user_agent: &str) {
    buf.extend_from_slice(b"GET ");
    buf.extend_from_slice(path.as_bytes());
    buf.extend_from_slice(b" HTTP/1.1\r\nHost: ");
    buf.extend_from_slice(host.as_bytes());
    buf.extend_from_slice(b"\r\nUser-Agent: ");
    buf.extend_from_slice(user_agent.as_bytes());
    buf.extend_from_slice(
        b"\r\nAccept: */*\r\nAccept-Encoding: identity\r\nConnection: keep-alive\r\n\r\n",
    );
}

/// A response with Server, Content-Type and Content-Length headers followed by `body`.
pub fn response(
    buf: &mut Vec<u8>,
    status: u16,
    reason: &str,
    server: &str,
    content_type: &str,
    body: &[u8],
) {
    buf.extend_from_slice(format!("HTTP/1.1 {status} {reason}\r\nServer: {server}\r\n").as_bytes());
    buf.extend_from_slice(b"Date: Fri, 05 Feb 2021 13:00:00 GMT\r\nContent-Type: ");
    buf.extend_from_slice(content_type.as_bytes());
    buf.extend_from_slice(
        format!(
            "\r\nContent-Length: {}\r\nConnection: keep-alive\r\n\r\n",
            body.len()
        )
        .as_bytes(),
    );
    buf.extend_from_slice(body);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_and_response_text() {
        let mut b = Vec::new();
        get(&mut b, "www.example.com", "/", "curl/7.88.1");
        assert_eq!(
            b,
            b"GET / HTTP/1.1\r\nHost: www.example.com\r\nUser-Agent: curl/7.88.1\r\nAccept: */*\r\nAccept-Encoding: identity\r\nConnection: keep-alive\r\n\r\n"
        );
        b.clear();
        response(&mut b, 200, "OK", "nginx/1.22.1", "text/plain", b"hi");
        let text = String::from_utf8(b).unwrap();
        assert!(text.starts_with("HTTP/1.1 200 OK\r\nServer: nginx/1.22.1\r\n"));
        assert!(text.ends_with("Content-Length: 2\r\nConnection: keep-alive\r\n\r\nhi"));
    }
}
