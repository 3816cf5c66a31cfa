//! The protocol registry: adding a protocol is one line here.
use crate::ProtocolDesc;

/// Every protocol Sluice parses, in probe order.
pub static REGISTRY: &[&ProtocolDesc] = &[&crate::modbus::DESC, &crate::dnp3::DESC];

/// Look a protocol up by name.
pub fn by_name(name: &str) -> Option<&'static ProtocolDesc> {
    REGISTRY.iter().copied().find(|d| d.name == name)
}
