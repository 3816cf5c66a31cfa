//! Zero-copy decoding of link, network and transport layers.
//!
//! [`decode`] turns a captured frame into a [`Decoded`] view whose payload slices borrow
//! the capture buffer. IP fragments are returned as such; [`defrag::Defragmenter`]
//! reassembles them into an owned datagram that [`decode_transport`] then decodes.
#![forbid(unsafe_code)]

pub mod defrag;
mod layers;

pub use layers::*;
