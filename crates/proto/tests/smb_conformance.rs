//! SMB against Zeek (smb_cmd.log, smb_files.log) and Suricata (smb1-01 test).
mod remote_support;
mod support;
use remote_support::{check, records, zeek_log, Row};
use sluice_proto::smb::DESC;

fn recs(rel: &str) -> Option<Vec<serde_json::Value>> {
    let p = support::pcap(rel)?;
    Some(
        support::run(&DESC, &p)
            .into_iter()
            .flat_map(|(_, o)| records(&o))
            .collect(),
    )
}

#[test]
fn against_zeek_smb_cmd() {
    let Some(data) = support::shared_data() else {
        return;
    };
    let name = "smb-zeek-smb2-delete-on-close";
    let Some(ours) = recs(&format!("smb/{name}.pcap")) else {
        return;
    };
    // Zeek logs one SESSION_SETUP per authentication; we log each round trip.
    let ours: Vec<_> = ours
        .into_iter()
        .filter(|r| r["status_name"] != "STATUS_MORE_PROCESSING_REQUIRED")
        .collect();
    let log = zeek_log(&data.join(format!("expected/zeek/{name}.smb_cmd.log")));
    assert_eq!(ours.len(), log.len());
    let mut rows = Vec::new();
    for (i, (r, z)) in ours.iter().zip(&log).enumerate() {
        let zeek_cmd = z["command"].replace("NEGOTIATE_PROTOCOL", "NEGOTIATE");
        rows.push(Row::new(
            name,
            &format!("#{i} command"),
            r["command_name"].as_str().unwrap(),
            zeek_cmd,
        ));
        let st = r["status_name"]
            .as_str()
            .unwrap()
            .trim_start_matches("STATUS_")
            .to_string();
        rows.push(Row::new(name, &format!("#{i} status"), st, &z["status"]));
        if r["command_name"] == "CREATE" {
            rows.push(Row::new(
                name,
                &format!("#{i} file"),
                r["file"]["name"].as_str().unwrap(),
                &z["referenced_file.name"],
            ));
        }
    }
    check("smb", "zeek", &rows);
}

#[test]
fn against_zeek_smb_files() {
    let Some(data) = support::shared_data() else {
        return;
    };
    let mut rows = Vec::new();
    for name in [
        "smb-zeek-smb2-readwrite",
        "smb-zeek-smb1",
        "smb-zeek-smb2-delete-on-close",
    ] {
        let Some(ours) = recs(&format!("smb/{name}.pcap")) else {
            return;
        };
        let log = zeek_log(&data.join(format!("expected/zeek/{name}.smb_files.log")));
        // Every file Zeek reports opened is a successful CREATE of ours with its size.
        for z in log.iter().filter(|z| z["action"] == "SMB::FILE_OPEN") {
            let zname = if z["name"] == "<share_root>" {
                String::new()
            } else {
                z["name"].clone()
            };
            let size: u64 = z["size"].parse().unwrap_or(0);
            let found = ours.iter().any(|r| {
                r["command_name"] == "CREATE"
                    && r["status"] == 0
                    && r["file"]["name"] == zname.as_str()
                    && r["file"]["size"] == size
            });
            rows.push(Row::new(
                name,
                &format!("open {zname:?} size {size}"),
                found,
                true,
            ));
        }
    }
    check("smb", "zeek", &rows);
}

#[test]
fn against_suricata_smb1_01() {
    let n = "smb-zeek-smb1";
    let Some(ours) = recs(&format!("smb/{n}.pcap")) else {
        return;
    };
    let count = |cmd: &str| {
        ours.iter()
            .filter(|r| r["command_name"] == cmd && r["status_name"] == "STATUS_SUCCESS")
            .count()
    };
    let payroll = ours
        .iter()
        .find(|r| r["command_name"] == "CREATE" && r["compound"] != true)
        .cloned()
        .unwrap_or_default();
    let rows = vec![
        Row::new(n, "events", ours.len(), 17),
        Row::new(n, "SMB2_COMMAND_CREATE success", count("CREATE"), 7),
        Row::new(n, "SMB2_COMMAND_CLOSE success", count("CLOSE"), 7),
        Row::new(n, "SMB2_COMMAND_FIND success", count("QUERY_DIRECTORY"), 2),
        Row::new(n, "SMB2_COMMAND_READ success", count("READ"), 1),
        Row::new(n, "SMB2_COMMAND_GET_INFO success", count("QUERY_INFO"), 0),
        Row::new(
            n,
            "smb.session_id",
            &payroll["session_id"],
            4398046511153u64,
        ),
        Row::new(n, "smb.tree_id", &payroll["tree_id"], 1),
        Row::new(
            n,
            "smb.disposition",
            payroll["file"]["disposition"].as_str().unwrap_or("-"),
            "FILE_OPEN",
        ),
        Row::new(
            n,
            "smb.filename",
            payroll["file"]["name"].as_str().unwrap_or("-"),
            "Test\\2009-12 Payroll.xlsx",
        ),
    ];
    check("smb", "suricata", &rows);
}
