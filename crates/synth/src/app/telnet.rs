//! Telnet (RFC 854/855, RFC 1572): option negotiation, NEW-ENVIRON subnegotiation and
//! text lines with IAC escaping.

/// Interpret As Command.
pub const IAC: u8 = 255;
pub const WILL: u8 = 251;
pub const WONT: u8 = 252;
pub const DO: u8 = 253;
pub const DONT: u8 = 254;
pub const SB: u8 = 250;
pub const SE: u8 = 240;

/// Option codes.
pub mod option {
    pub const ECHO: u8 = 1;
    pub const SUPPRESS_GO_AHEAD: u8 = 3;
    pub const TERMINAL_TYPE: u8 = 24;
    pub const NAWS: u8 = 31;
    pub const NEW_ENVIRON: u8 = 39;
}

/// `IAC <WILL|WONT|DO|DONT> <option>`.
pub fn negotiate(buf: &mut Vec<u8>, verb: u8, option: u8) {
    buf.extend_from_slice(&[IAC, verb, option]);
}

/// `IAC SB NEW-ENVIRON IS VAR "USER" VALUE <user> IAC SE` (names escaped per RFC 1572).
pub fn new_environ_user(buf: &mut Vec<u8>, user: &str) {
    buf.extend_from_slice(&[IAC, SB, option::NEW_ENVIRON, 0, 0]);
    buf.extend_from_slice(b"USER");
    buf.push(1);
    for &b in user.as_bytes() {
        if b <= 3 {
            buf.push(2);
        }
        if b == IAC {
            buf.push(IAC);
        }
        buf.push(b);
    }
    buf.extend_from_slice(&[IAC, SE]);
}

/// Text as sent on the wire (IAC doubled), without a line end.
pub fn text(buf: &mut Vec<u8>, s: &str) {
    for &b in s.as_bytes() {
        if b == IAC {
            buf.push(IAC);
        }
        buf.push(b);
    }
}

/// A text line ended with CR LF.
pub fn line(buf: &mut Vec<u8>, s: &str) {
    text(buf, s);
    buf.extend_from_slice(b"\r\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_exact() {
        let mut b = Vec::new();
        negotiate(&mut b, DO, option::ECHO);
        assert_eq!(b, [255, 253, 1]);
        b.clear();
        new_environ_user(&mut b, "op");
        assert_eq!(
            b,
            [255, 250, 39, 0, 0, b'U', b'S', b'E', b'R', 1, b'o', b'p', 255, 240]
        );
        b.clear();
        line(&mut b, "a\u{00ff}");
        assert_eq!(b, [b'a', 0xc3, 0xbf, b'\r', b'\n']);
    }
}
