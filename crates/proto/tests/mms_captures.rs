//! MMS on real captures: values checked against tshark (`tshark -V`) and hard-coded.
mod support;
use sluice_proto::mms::{self, Transaction, Value};
use sluice_proto::{Direction, Operation, Output, ProtoRecord, Record, Side};

/// Every MMS transaction of a capture (all flows), with its direction and times.
fn txns(out: &[Output]) -> Vec<(Direction, i64, Option<i64>, Transaction)> {
    out.iter()
        .filter_map(|o| match o {
            Output::Txn(t) => match &t.record {
                Record::Mms(m) => Some((t.dir, t.ts, t.ts_end, (**m).clone())),
                _ => None,
            },
            _ => None,
        })
        .collect()
}

fn all(rel: &str) -> Option<Vec<Output>> {
    let p = support::pcap(rel)?;
    Some(
        support::run(&mms::DESC, &p)
            .into_iter()
            .flat_map(|(_, o)| o)
            .collect(),
    )
}

fn anomalies(out: &[Output]) -> Vec<&'static str> {
    out.iter()
        .filter_map(|o| match o {
            Output::Anomaly(a) => Some(a.kind),
            _ => None,
        })
        .collect()
}

#[test]
fn piccolo_association_identify_and_status() {
    let Some(out) = all("iec61850-mms/mms-iti-piccolo.pcap") else {
        return;
    };
    let t = txns(&out);
    assert_eq!(t.len(), 3, "{t:#?}");
    // initiate: AARQ/AARE (tshark: called 1.1.1.999.1 / 12, calling 1.1.1.999 / 12, accepted)
    let (dir, ts, end, init) = &t[0];
    assert_eq!(
        (*dir, init.pdu, init.function),
        (Direction::ToServer, "initiate", "initiate")
    );
    assert!(init.request && init.response && end.is_some_and(|e| e > *ts));
    let d = init.details().unwrap();
    let a = d.association.as_ref().unwrap();
    assert_eq!(a.application_context.as_deref(), Some("1.0.9506.2.3"));
    assert_eq!(a.called_ap_title.as_deref(), Some("1.1.1.999.1"));
    assert_eq!(a.called_ae_qualifier, Some(12));
    assert_eq!(a.calling_ap_title.as_deref(), Some("1.1.1.999"));
    assert_eq!(a.responding_ap_title.as_deref(), Some("1.1.1.999.1"));
    assert_eq!(a.result, Some("accepted"));
    assert!(!a.password_present);
    assert_eq!(
        a.presentation_contexts,
        vec!["1:acse", "3:mms_abstract_syntax"]
    );
    let i = d.initiate.as_ref().unwrap();
    let proposed = i.proposed.as_ref().unwrap();
    assert_eq!(proposed.max_serv_outstanding_calling, Some(10));
    assert_eq!(proposed.data_structure_nesting_level, Some(5));
    assert!(proposed.services_supported.contains(&"read"));
    assert!(i.negotiated.is_some());
    assert_eq!(init.function_code(), None);
    assert_eq!(init.operation(), Operation::Other);
    // identify (invoke 1): vendor INFO TECH, model S61850 for PC, revision 0.0.1
    let (_, _, _, ident) = &t[1];
    assert_eq!((ident.invoke_id, ident.function_code), (Some(1), Some(2)));
    let d = ident.details().unwrap();
    assert_eq!(d.vendor.as_deref(), Some("INFO TECH"));
    assert_eq!(d.model.as_deref(), Some("S61850 for PC"));
    assert_eq!(d.revision.as_deref(), Some("0.0.1"));
    let id = out
        .iter()
        .find_map(|o| match o {
            Output::Identity(i) => Some(i.clone()),
            _ => None,
        })
        .unwrap();
    assert_eq!(id.source, "mms.identify");
    assert_eq!(id.side, Some(Side::Server));
    assert_eq!(id.vendor.as_deref(), Some("INFO TECH"));
    assert_eq!(id.firmware.as_deref(), Some("0.0.1"));
    // status (invoke 2) never answered: emitted at the end
    let (_, _, end, status) = &t[2];
    assert_eq!(
        (status.invoke_id, status.function, status.response),
        (Some(2), "status", false)
    );
    assert!(end.is_none());
    assert!(anomalies(&out).is_empty(), "{:?}", anomalies(&out));
}

#[test]
fn iec61850_write_and_read_requests() {
    let Some(out) = all("iec61850-mms/mms-iti-iec61850-write.pcap") else {
        return;
    };
    let t = txns(&out);
    let (dir, _, _, w) = t
        .iter()
        .find(|(_, _, _, x)| x.function_code == Some(5))
        .unwrap();
    assert_eq!(*dir, Direction::ToServer);
    assert_eq!(w.function, "write");
    assert_eq!(w.invoke_id, Some(0));
    assert_eq!(w.variables, vec!["mu"]);
    assert_eq!(w.values, vec![Value::Integer(0)]);
    assert_eq!(w.written(), vec![("mu".to_string(), 0.0)]);
    assert_eq!(w.operation(), Operation::Write);
    assert!(w.response);
    let Some(out) = all("iec61850-mms/mms-iti-iec61850-read.pcap") else {
        return;
    };
    let t = txns(&out);
    let (_, _, _, r) = t
        .iter()
        .find(|(_, _, _, x)| x.function_code == Some(4))
        .unwrap();
    assert_eq!(r.variables, vec!["mu"]);
    assert_eq!(r.operation(), Operation::Read);
    assert!(r.written().is_empty());
}

#[test]
fn substation_sample_error_read_failure_and_reports() {
    let Some(out) = all("iec61850-mms/iec61850-iti-sample-mms-and-goose.pcap") else {
        return;
    };
    let t = txns(&out);
    let gvaa = t
        .iter()
        .map(|x| &x.3)
        .find(|x| x.invoke_id == Some(303731))
        .unwrap();
    assert_eq!(gvaa.function, "get_variable_access_attributes");
    assert_eq!(gvaa.variables, vec!["AA1E1Q01FP2LD0/LLN0$BR$rcb_B02"]);
    let e = gvaa.details().unwrap().error.as_ref().unwrap();
    assert_eq!(
        (e.class, e.code, e.code_name),
        ("access", 2, Some("object_non_existent"))
    );
    let read = t
        .iter()
        .map(|x| &x.3)
        .find(|x| x.invoke_id == Some(303732))
        .unwrap();
    assert_eq!(read.function, "read");
    assert_eq!(read.values, vec![Value::Failure("object_non_existent")]);
    // IEC 61850 reports (unconfirmed information reports on RPT), server to client
    let reports: Vec<_> = t
        .iter()
        .filter(|x| x.3.function == "information_report")
        .collect();
    assert!(reports.len() > 20, "{} reports", reports.len());
    assert!(reports
        .iter()
        .all(|x| x.0 == Direction::ToClient && x.2.is_none()));
    let first = &reports[0].3;
    let r = first.details().unwrap().report.as_ref().unwrap();
    assert_eq!(r.rpt_id.as_deref(), Some("AA1C1Q01A1LD0/LLN0$rcb_I02"));
    assert_eq!(r.seq_num, Some(0x39));
    assert_eq!(r.entries, 1);
    assert_eq!(r.reasons, vec!["data_change"]);
    assert_eq!(first.values.len(), 1);
    // a buffered report with entry id (frame 3 of flow 1069 and others)
    assert!(reports.iter().any(|x| {
        x.3.details()
            .and_then(|d| d.report.as_ref())
            .is_some_and(|r| r.entry_id.is_some() && r.buffer_overflow == Some(false))
    }));
    // conclude and the ACSE release close the association
    assert!(t.iter().any(|x| x.3.pdu == "conclude" && x.3.response));
    assert!(t.iter().any(|x| x.3.pdu == "release" && x.3.response));
}

#[test]
fn iccp_association_pairs_requests_from_both_ends() {
    let Some(out) = all("iec61850-mms/mms-iti-session-8d7c7db0.pcap") else {
        return;
    };
    let t = txns(&out);
    // Both ends issue confirmed requests (tshark: invoke ids 1.. from the client,
    // 4431.. from the server); every one is answered.
    let from_client = t
        .iter()
        .filter(|x| x.3.pdu == "confirmed" && x.0 == Direction::ToServer)
        .count();
    let from_server = t
        .iter()
        .filter(|x| x.3.pdu == "confirmed" && x.0 == Direction::ToClient)
        .count();
    assert!(
        from_client >= 10 && from_server >= 10,
        "{from_client} {from_server}"
    );
    assert!(t
        .iter()
        .filter(|x| x.3.pdu == "confirmed")
        .all(|x| x.3.request && x.3.response));
    let w = t
        .iter()
        .map(|x| &x.3)
        .find(|x| x.invoke_id == Some(4436))
        .unwrap();
    assert_eq!(w.function, "write");
    assert_eq!(w.variables, vec!["KIRKLAND/CITEC_TS0"]);
    assert_eq!(w.details().unwrap().results, vec!["success"]);
    let gnl = t
        .iter()
        .map(|x| &x.3)
        .find(|x| x.invoke_id == Some(4433))
        .unwrap();
    assert_eq!(gnl.function, "get_name_list");
    assert_eq!(gnl.object.as_deref(), Some("KIRKLAND"));
    assert_eq!(gnl.object_class, Some("named_variable_list"));
    assert_eq!(
        gnl.details().unwrap().identifiers,
        vec!["EMS_ANALOG_ICCP_IN", "EMS_STATUS_ICCP_IN"]
    );
    let ids: Vec<_> = out
        .iter()
        .filter_map(|o| match o {
            Output::Identity(i) => Some(i),
            _ => None,
        })
        .collect();
    assert!(ids.iter().any(|i| i.side == Some(Side::Server)));
    assert!(ids.iter().any(|i| i.side == Some(Side::Client)));
    assert!(ids
        .iter()
        .all(|i| i.vendor.as_deref() == Some("AREVA T&D Corporation")
            && i.model.as_deref() == Some("e-terracomm")));
}

/// (confirmed service number, name, object)
type Expected = (u32, &'static str, &'static str);

#[test]
fn bare_mms_over_cotp_program_and_domain_services() {
    // These captures carry MMS straight over COTP (no session/presentation) and a
    // server whose COTP headers are malformed (tshark decodes only the requests).
    let cases: [(&str, &[Expected]); 5] = [
        (
            "iec61850-mms/mms-iti-delete-program-invocation.pcap",
            &[(39, "delete_program_invocation", "MuSecurity_Application_1")],
        ),
        (
            "iec61850-mms/mms-iti-get-domain-attributes.pcap",
            &[(37, "get_domain_attributes", "DTLogFilesDomain")],
        ),
        (
            "iec61850-mms/mms-iti-start-request.pcap",
            &[
                (41, "stop", "R395024397Application_1"),
                (40, "start", "R395024397Application_1"),
            ],
        ),
        (
            "iec61850-mms/mms-iti-take-control.pcap",
            &[
                (19, "take_control", "reserved"),
                (20, "relinquish_control", "reserved"),
            ],
        ),
        (
            "iec61850-mms/mms-iti-initiate-download-sequence.pcap",
            &[
                (19, "take_control", "reserved"),
                (26, "initiate_download_sequence", "DTLogFilesDomain"),
            ],
        ),
    ];
    for (file, want) in cases {
        let Some(out) = all(file) else {
            return;
        };
        let got: Vec<_> = txns(&out)
            .into_iter()
            .map(|x| x.3)
            .filter(|x| x.pdu == "confirmed")
            .collect();
        assert_eq!(got.len(), want.len(), "{file}: {got:#?}");
        for (g, (fc, name, object)) in got.iter().zip(want) {
            assert_eq!(g.function_code, Some(*fc), "{file}");
            assert_eq!(g.function, *name, "{file}");
            assert_eq!(g.object.as_deref(), Some(*object), "{file}");
            assert_eq!(g.invoke_id, Some(1), "{file}");
            let op = g.operation();
            match fc {
                39 | 40 | 41 | 26 => assert_eq!(op, Operation::Engineering, "{file}"),
                37 => assert_eq!(op, Operation::Read),
                _ => assert_eq!(op, Operation::Other),
            }
        }
        // the initiate request went straight over COTP too
        assert!(txns(&out).iter().any(|x| x.3.pdu == "initiate"), "{file}");
    }
    let Some(out) = all("iec61850-mms/mms-iti-initiate-download-sequence.pcap") else {
        return;
    };
    let dl = txns(&out)
        .into_iter()
        .map(|x| x.3)
        .find(|x| x.function_code == Some(26))
        .unwrap();
    assert_eq!(dl.details().unwrap().identifiers, vec!["MuSecAC800M"]);
    // the reused invoke id is flagged
    assert!(anomalies(&out).contains(&"duplicate_invoke_id"));
}

#[test]
fn read_request_names_a_vmd_variable() {
    let Some(out) = all("iec61850-mms/mms-iti-read-request.pcap") else {
        return;
    };
    let r = txns(&out)
        .into_iter()
        .map(|x| x.3)
        .find(|x| x.function_code == Some(4))
        .unwrap();
    assert_eq!(r.variables, vec!["$MSG$1$$"]);
}
