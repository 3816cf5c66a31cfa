//! Application payload builders, byte-exact to their specifications. Each appends one
//! message (or one record) to a caller-owned buffer.
pub mod dns;
pub mod ftp;
pub mod http;
pub mod modbus;
pub mod s7;
pub mod telnet;
pub mod tls;
pub mod vnc;

/// Why a message could not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AppError {
    #[error("{what} {value} is outside {min}..={max}")]
    OutOfRange {
        what: &'static str,
        value: usize,
        min: usize,
        max: usize,
    },
    #[error("bad DNS name {0:?}")]
    BadName(String),
}

pub(crate) fn check(
    what: &'static str,
    value: usize,
    min: usize,
    max: usize,
) -> Result<(), AppError> {
    if (min..=max).contains(&value) {
        Ok(())
    } else {
        Err(AppError::OutOfRange {
            what,
            value,
            min,
            max,
        })
    }
}

/// Writes a big-endian u16 length at `at` (no-op when out of bounds).
pub(crate) fn patch_u16(buf: &mut [u8], at: usize, v: u16) {
    if let Some(d) = buf.get_mut(at..at + 2) {
        d.copy_from_slice(&v.to_be_bytes());
    }
}
