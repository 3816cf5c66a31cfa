//! Flows: a bidirectional flow table bounded in memory, with idle and active
//! timeouts, and per-direction TCP stream reassembly.
#![forbid(unsafe_code)]

mod reassembly;
mod table;

pub use reassembly::{Budget, Chunk, StreamStats, TcpStream};
pub use table::*;
