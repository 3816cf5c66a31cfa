//! SMB on real captures (values checked with tshark's smb / smb2 / ntlmssp dissectors
//! and Zeek's smb logs).
mod remote_support;
mod support;
use remote_support::{assert_chunk_invariant, records, steps_of};
use sluice_proto::smb::DESC;
use sluice_proto::{Direction, Output, Probe, Side};

fn run(rel: &str) -> Vec<(support::Flow, Vec<Output>)> {
    let Some(p) = support::pcap(rel) else {
        return Vec::new();
    };
    support::run(&DESC, &p)
}

#[test]
fn smb2_session_with_ntlm_login_and_files() {
    let fl = run("smb/smb-zeek-smb2-delete-on-close.pcap");
    let Some((_, out)) = fl.first() else { return };
    let recs = records(out);
    // Zeek logs 24 commands: it folds the two SESSION_SETUP rounds into one
    assert_eq!(recs.len(), 25);
    let neg = &recs[0];
    assert_eq!(neg["command_name"], "NEGOTIATE");
    assert_eq!(
        neg["dialects"],
        serde_json::json!(["2.0.2", "2.1", "3.0", "3.0.2", "3.1.1"])
    );
    assert_eq!(neg["dialect"], "3.1.1");
    assert_eq!(neg["signing_required"], false);
    let chal = &recs[1];
    assert_eq!(chal["status_name"], "STATUS_MORE_PROCESSING_REQUIRED");
    assert_eq!(chal["auth"]["ntlm_message"], "negotiate");
    assert_eq!(chal["auth"]["server_name"], "TINKYX390");
    assert!(chal.get("login_success").is_none());
    // tshark: "Session Setup Request, NTLMSSP_AUTH, User: ZEEK-TEST\zeek"
    let auth = &recs[2];
    assert_eq!(auth["user"], "zeek");
    assert_eq!(auth["auth"]["domain"], "ZEEK-TEST");
    assert_eq!(auth["auth"]["workstation"], "TINKYX390");
    assert_eq!(auth["login_success"], true);
    assert_eq!(auth["function_code"], serde_json::Value::Null);
    let tree = &recs[3];
    assert_eq!(tree["share"], "\\\\127.0.0.1\\tmp");
    assert_eq!(tree["share_type"], "DISK");
    let create = &recs[4];
    assert_eq!(create["file"]["name"], "test_dir");
    assert_eq!(create["file"]["disposition"], "FILE_OPEN_IF");
    assert_eq!(create["share"], "\\\\127.0.0.1\\tmp");
    assert_eq!(create["user"], "zeek");
    let doc = recs
        .iter()
        .filter(|r| r["file"]["delete_on_close"] == true)
        .count();
    assert_eq!(doc, 5);
    let not_found = recs
        .iter()
        .filter(|r| r["status_name"] == "STATUS_OBJECT_NAME_NOT_FOUND")
        .count();
    assert_eq!(not_found, 2);
    // identities: server name + OS version from the CHALLENGE, the client workstation
    let ids: Vec<_> = out
        .iter()
        .filter_map(|o| match o {
            Output::Identity(i) => Some(i),
            _ => None,
        })
        .collect();
    assert_eq!(ids.len(), 2);
    assert_eq!(ids[0].side, Some(Side::Server));
    assert_eq!(ids[0].source, "smb.ntlm");
    assert_eq!(ids[0].name.as_deref(), Some("TINKYX390"));
    assert_eq!(ids[1].side, Some(Side::Client));
    // never a hash or response: the NT response of the AUTHENTICATE is not there
    let json = serde_json::to_string(&recs).unwrap();
    assert!(!json.contains("response") && !json.contains("challenge\":"));
}

#[test]
fn smb2_compound_read_write() {
    let fl = run("smb/smb-zeek-smb1.pcap");
    if let Some((_, out)) = fl.first() {
        let recs = records(out);
        let read = recs.iter().find(|r| r["command_name"] == "READ").unwrap();
        // tshark: "Read Request Len:25940 Off:0 File: Test\2009-12 Payroll.xlsx"
        assert_eq!(read["file"]["name"], "Test\\2009-12 Payroll.xlsx");
        assert_eq!(read["file"]["length"], 25940);
        assert_eq!(read["file"]["data_length"], 25940);
        assert_eq!(read["session_id"], 4398046511153u64);
        assert_eq!(read["tree_id"], 1);
        let compound = recs.iter().filter(|r| r["compound"] == true).count();
        // tshark: six requests of three commands (frames 1, 4, 7, 10, 13, 16)
        assert_eq!(compound, 18);
    }
    for (_, out) in run("smb/smb-zeek-smb2-readwrite.pcap") {
        let recs = records(&out);
        let write = recs.iter().find(|r| r["command_name"] == "WRITE").unwrap();
        assert_eq!(write["file"]["name"], "pythonfile2");
        assert_eq!(write["file"]["length"], 7000);
        let ioctl = recs.iter().find(|r| r["command_name"] == "IOCTL").unwrap();
        assert_eq!(ioctl["file"]["ioctl"], "FSCTL_PIPE_WAIT");
        assert_eq!(ioctl["file"]["name"], "MsFteWds");
        assert_eq!(ioctl["status_name"], "STATUS_FS_DRIVER_REQUIRED");
        // the async CHANGE_NOTIFY: interim STATUS_PENDING skipped, final response paired
        let notify = recs
            .iter()
            .find(|r| r["command_name"] == "CHANGE_NOTIFY" && r["message_id"] == 1237)
            .unwrap();
        assert_eq!(notify["async"], true);
        assert_eq!(notify["status_name"], "STATUS_NOTIFY_ENUM_DIR");
    }
}

#[test]
fn smb1_negotiate_anonymous_ntlm_and_named_pipe() {
    for (_, out) in run("smb/smb-sv-named-pipe.pcap") {
        let recs = records(&out);
        assert_eq!(recs.len(), 5);
        assert_eq!(recs[0]["version"], "smb1");
        assert_eq!(recs[0]["dialect"], "NT LM 0.12");
        assert_eq!(recs[0]["dialects"].as_array().unwrap().len(), 10);
        // tshark: "NTLMSSP_AUTH, User: \" (anonymous)
        assert_eq!(recs[2]["auth"]["anonymous"], true);
        assert_eq!(recs[2]["login_success"], true);
        assert_eq!(recs[3]["share"], "\\\\192.168.1.3\\IPC$");
        assert_eq!(recs[4]["command_name"], "ECHO");
    }
    for (_, out) in run("smb/smb-zeek-smb1-dcerpc-dssetup.pcap") {
        let recs = records(&out);
        let create = recs
            .iter()
            .find(|r| r["command_name"] == "NT_CREATE_ANDX")
            .unwrap();
        assert_eq!(create["file"]["name"], "\\lsarpc");
    }
}

#[test]
fn chunking_does_not_matter_and_probe_matches() {
    for rel in [
        "smb/smb-sv-named-pipe.pcap",
        "smb/smb-zeek-smb1.pcap",
        "smb/smb-zeek-smb2-delete-on-close.pcap",
        "smb/smb-zeek-smb2-readwrite.pcap",
        "smb/smb-zeek-smb1-dcerpc-dssetup.pcap",
    ] {
        for (f, _) in run(rel) {
            let steps = steps_of(&f);
            assert_chunk_invariant(&DESC, &steps);
            let first = &steps[0];
            assert_eq!((DESC.probe)(first.0, &first.1), Probe::Match, "{rel}");
        }
    }
    assert_eq!(
        (DESC.probe)(Direction::ToServer, b"SSH-2.0-x\r\n"),
        Probe::NoMatch
    );
}
