//! Sluice's own traffic: byte-exact frames, TCP/UDP conversations, OT and IT application
//! payloads, the scenarios of a simulated water-treatment plant, and a replicator that
//! turns a few real captures into a large benchmark capture.
//!
//! ```
//! // The Oldsmar scenario as a pcap in memory (use a BufWriter<File> for a file).
//! let mut pcap = Vec::new();
//! let packets = sluice_synth::scenario::write_scenario("oldsmar", 1, &mut pcap).unwrap();
//! assert!(packets > 1000);
//! ```
//!
//! Layers: [`frame`] (Ethernet/802.1Q, IPv4/IPv6, TCP, UDP, ICMP, ARP into a reusable
//! buffer), [`session`] (clock, seeded RNG, TCP sessions, UDP flows, sinks), [`app`]
//! (Modbus/TCP, S7comm, RFB/VNC, HTTP, DNS, TLS), [`scenario`] (the plant),
//! [`replicate`] (benchmark captures) and [`realstack`] (the plant's scenarios played by
//! real protocol stacks on loopback, captured with tcpdump and rewritten to the plant).
#![forbid(unsafe_code)]

pub mod app;
pub mod frame;
pub mod realstack;
pub mod replicate;
pub mod scenario;
pub mod session;
