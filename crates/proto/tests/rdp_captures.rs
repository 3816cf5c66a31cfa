//! RDP on real captures (values checked with tshark: `rdp.neg_type`, cookie, client
//! name; and against Zeek's rdp.log / Suricata's rdp test).
mod remote_support;
mod support;
use remote_support::{assert_chunk_invariant, records, steps_of};
use sluice_proto::rdp::DESC;
use sluice_proto::{Direction, Probe};

fn flows(rel: &str) -> Vec<(support::Flow, Vec<serde_json::Value>)> {
    let Some(p) = support::pcap(rel) else {
        return Vec::new();
    };
    support::run(&DESC, &p)
        .into_iter()
        .map(|(f, o)| (f, records(&o)))
        .collect()
}

#[test]
fn standard_rdp_security_with_client_data() {
    let fl = flows("rdp/rdp-sv-rdp-003.pcap");
    let Some((_, recs)) = fl.first() else { return };
    assert_eq!(recs.len(), 2, "{recs:#?}");
    let neg = &recs[0];
    assert_eq!(neg["kind"], "negotiation");
    assert_eq!(neg["cookie"], "A70067");
    assert_eq!(neg["user"], "A70067");
    assert_eq!(neg["security_protocol"], "RDP");
    assert_eq!(neg["result"], "success");
    assert_eq!(neg["tls"], false);
    let mcs = &recs[1];
    assert_eq!(mcs["kind"], "mcs_connect");
    let c = &mcs["client"];
    assert_eq!(c["version"], "v5");
    assert_eq!(c["build"], 2600);
    assert_eq!(c["build_name"], "Windows XP");
    assert_eq!(c["name"], "ISD2-KM84178");
    assert_eq!(c["desktop_width"], 1152);
    assert_eq!(c["desktop_height"], 864);
    assert_eq!(c["keyboard_layout"], 0x409);
    assert_eq!(c["dig_product_id"], "55274-OEM-0011903-00107");
    assert_eq!(
        c["channels"],
        serde_json::json!(["rdpdr", "cliprdr", "rdpsnd"])
    );
    // tshark: "ServerData Encryption: 56-bit RC4 (Client Compatible)"
    assert_eq!(mcs["server"]["encryption_method"], "56bit");
    assert_eq!(mcs["server"]["encryption_level"], "Client compatible");
}

#[test]
fn negotiation_switches_to_tls() {
    let fl = flows("rdp/rdp-zeek-to-ssl.pcap");
    assert!(fl.is_empty() || fl.len() == 2);
    for (_, recs) in &fl {
        assert_eq!(recs.len(), 1, "nothing after the TLS switch: {recs:#?}");
        let r = &recs[0];
        assert_eq!(r["cookie"], "AWAKECODI");
        assert_eq!(
            r["requested_protocols"],
            serde_json::json!(["RDP", "TLS", "HYBRID"])
        );
        assert_eq!(r["security_protocol"], "HYBRID");
        assert_eq!(r["result"], "encrypted");
        assert_eq!(r["tls"], true);
    }
    for (_, recs) in flows("rdp/rdp-zeek-no-cookie-mstshash.pcap") {
        assert_eq!(recs.len(), 1);
        assert!(recs[0].get("cookie").is_none());
        assert!(recs[0].get("user").is_none());
        assert_eq!(recs[0]["security_protocol"], "HYBRID_EX");
        assert_eq!(
            recs[0]["requested_protocols"],
            serde_json::json!(["RDP", "TLS", "HYBRID", "HYBRID_EX"])
        );
    }
}

#[test]
fn x509_server_certificate_and_padded_cookie() {
    for (_, recs) in flows("rdp/rdp-zeek-x509.pcap") {
        assert_eq!(recs.len(), 2);
        assert_eq!(recs[0]["cookie"], "JOHN-PC  ");
        assert_eq!(recs[0]["user"], "JOHN-PC");
        let s = &recs[1]["server"];
        assert_eq!(s["cert_type"], "X.509");
        assert_eq!(s["cert_count"], 2);
        assert_eq!(s["cert_permanent"], false);
        assert_eq!(s["encryption_method"], "128bit");
        assert_eq!(recs[1]["client"]["name"], "JOHN-PC-LAPTOP");
        assert_eq!(recs[1]["client"]["build"], 9600);
        assert_eq!(recs[1]["client"]["color_depth"], 16);
    }
}

#[test]
fn chunking_does_not_matter_and_probe_matches() {
    for rel in [
        "rdp/rdp-sv-rdp-003.pcap",
        "rdp/rdp-zeek-to-ssl.pcap",
        "rdp/rdp-zeek-x509.pcap",
        "rdp/rdp-zeek-no-cookie-mstshash.pcap",
    ] {
        for (f, _) in flows(rel) {
            let steps = steps_of(&f);
            assert_chunk_invariant(&DESC, &steps);
            let first = steps.iter().find(|s| s.0 == Direction::ToServer).unwrap();
            assert_eq!(
                (DESC.probe)(Direction::ToServer, &first.1),
                Probe::Match,
                "{rel}"
            );
        }
    }
}
