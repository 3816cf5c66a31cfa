//! The shared test support itself: real captures cut into flows.
mod support;

#[test]
fn modbus_capture_cuts_into_flows() {
    let Some(p) = support::pcap("modbus/modbus-iti-modbustcp-large.pcap") else {
        return;
    };
    let runs = support::run(&sluice_proto::modbus::DESC, &p);
    assert_eq!(runs.len(), 14);
    let txns: usize = runs
        .iter()
        .map(|(_, o)| {
            o.iter()
                .filter(|x| matches!(x, sluice_proto::Output::Txn(_)))
                .count()
        })
        .sum();
    assert!(txns > 7000, "{txns} transactions");
    assert!(runs.iter().all(|(f, _)| f.server.port() == 502));
}
