//! RFB 3.8 (VNC): version handshake, security negotiation (None and VNC authentication),
//! initialisation and a few normal client/server messages.
use super::{check, AppError};

/// The protocol version string both sides send.
pub const VERSION_3_8: &[u8; 12] = b"RFB 003.008\n";

/// Security types.
pub mod security {
    pub const NONE: u8 = 1;
    pub const VNC_AUTH: u8 = 2;
}

/// Server's list of supported security types.
pub fn security_types(buf: &mut Vec<u8>, types: &[u8]) -> Result<(), AppError> {
    check("security type count", types.len(), 1, 255)?;
    buf.push(types.len() as u8);
    buf.extend_from_slice(types);
    Ok(())
}

/// SecurityResult: 0 OK, 1 failed.
pub fn security_result(buf: &mut Vec<u8>, ok: bool) {
    buf.extend_from_slice(&u32::from(!ok).to_be_bytes());
}

/// ServerInit: framebuffer size, a 32-bit true-colour pixel format and the desktop name.
pub fn server_init(buf: &mut Vec<u8>, width: u16, height: u16, name: &str) -> Result<(), AppError> {
    check("desktop name length", name.len(), 0, 1 << 16)?;
    buf.extend_from_slice(&width.to_be_bytes());
    buf.extend_from_slice(&height.to_be_bytes());
    // bpp 32, depth 24, little endian, true colour, 255/255/255, shifts 16/8/0, padding.
    buf.extend_from_slice(&[32, 24, 0, 1, 0, 255, 0, 255, 0, 255, 16, 8, 0, 0, 0, 0]);
    buf.extend_from_slice(&(name.len() as u32).to_be_bytes());
    buf.extend_from_slice(name.as_bytes());
    Ok(())
}

/// SetEncodings (client message 2).
pub fn set_encodings(buf: &mut Vec<u8>, encodings: &[i32]) -> Result<(), AppError> {
    check("encoding count", encodings.len(), 0, 0xffff)?;
    buf.extend_from_slice(&[2, 0]);
    buf.extend_from_slice(&(encodings.len() as u16).to_be_bytes());
    for e in encodings {
        buf.extend_from_slice(&e.to_be_bytes());
    }
    Ok(())
}

/// FramebufferUpdateRequest (client message 3).
pub fn update_request(buf: &mut Vec<u8>, incremental: bool, x: u16, y: u16, w: u16, h: u16) {
    buf.push(3);
    buf.push(u8::from(incremental));
    for v in [x, y, w, h] {
        buf.extend_from_slice(&v.to_be_bytes());
    }
}

/// A rectangle of raw 32-bit pixels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rect {
    pub x: u16,
    pub y: u16,
    pub w: u16,
    pub h: u16,
}

/// FramebufferUpdate (server message 0) with raw-encoded rectangles; `fill` produces the
/// pixel bytes of each rectangle (4 bytes a pixel).
pub fn framebuffer_update(
    buf: &mut Vec<u8>,
    rects: &[Rect],
    mut fill: impl FnMut(&mut [u8]),
) -> Result<(), AppError> {
    check("rectangle count", rects.len(), 0, 0xffff)?;
    buf.extend_from_slice(&[0, 0]);
    buf.extend_from_slice(&(rects.len() as u16).to_be_bytes());
    for r in rects {
        for v in [r.x, r.y, r.w, r.h] {
            buf.extend_from_slice(&v.to_be_bytes());
        }
        buf.extend_from_slice(&0i32.to_be_bytes()); // raw encoding
        let n = usize::from(r.w) * usize::from(r.h) * 4;
        let at = buf.len();
        buf.resize(at + n, 0);
        if let Some(px) = buf.get_mut(at..) {
            fill(px);
        }
    }
    Ok(())
}

/// PointerEvent (client message 5).
pub fn pointer_event(buf: &mut Vec<u8>, buttons: u8, x: u16, y: u16) {
    buf.push(5);
    buf.push(buttons);
    buf.extend_from_slice(&x.to_be_bytes());
    buf.extend_from_slice(&y.to_be_bytes());
}

/// KeyEvent (client message 4) for an X11 keysym.
pub fn key_event(buf: &mut Vec<u8>, down: bool, keysym: u32) {
    buf.extend_from_slice(&[4, u8::from(down), 0, 0]);
    buf.extend_from_slice(&keysym.to_be_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_byte_exact() {
        let mut b = Vec::new();
        security_types(&mut b, &[security::NONE]).unwrap();
        assert_eq!(b, [1, 1]);
        b.clear();
        server_init(&mut b, 1024, 768, "HMI").unwrap();
        assert_eq!(&b[..4], &[4, 0, 3, 0]);
        assert_eq!(b.len(), 4 + 16 + 4 + 3);
        assert_eq!(&b[20..], &[0, 0, 0, 3, b'H', b'M', b'I']);
        b.clear();
        framebuffer_update(
            &mut b,
            &[Rect {
                x: 1,
                y: 2,
                w: 2,
                h: 1,
            }],
            |px| px.fill(7),
        )
        .unwrap();
        assert_eq!(
            b,
            [0, 0, 0, 1, 0, 1, 0, 2, 0, 2, 0, 1, 0, 0, 0, 0, 7, 7, 7, 7, 7, 7, 7, 7]
        );
        b.clear();
        key_event(&mut b, true, 0xff0d);
        assert_eq!(b, [4, 1, 0, 0, 0, 0, 0xff, 0x0d]);
        assert!(security_types(&mut b, &[]).is_err());
    }
}
