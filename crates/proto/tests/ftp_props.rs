//! Property tests for the ftp parser: arbitrary bytes in arbitrary chunkings (with
//! TCP gaps) never panic, and the records do not depend on the chunking.
mod remote_support;
mod support;
use proptest::prelude::*;
use sluice_proto::ftp::DESC;
use sluice_proto::{Direction, Transport};

remote_support::robustness_props!(DESC, "ftp");

// ---- control-channel session round trip (issue 6) ----

#[derive(Clone, Debug)]
struct Session {
    greeting: String,
    user: String,
    pass: String,
    ok: bool,
    system: String,
    port: ([u8; 4], u16),
    pasv: ([u8; 4], u16),
    file: String,
    epsv: u16,
    features: Vec<String>,
}

fn session() -> impl Strategy<Value = Session> {
    (
        "[A-Za-z0-9()._-]([A-Za-z0-9()._ -]{0,30}[A-Za-z0-9()._-])?",
        "[A-Za-z0-9._@-]{1,20}",
        "pw![!-~]{1,17}",
        any::<bool>(),
        "UNIX Type: L8|Windows_NT|[A-Z]{1,10}",
        (any::<[u8; 4]>(), any::<u16>()),
        (any::<[u8; 4]>(), any::<u16>()),
        "[A-Za-z0-9._/-]{1,30}",
        any::<u16>(),
        prop::collection::vec("[A-Z]{2,6}( [A-Za-z0-9;*]{1,10})?", 0..6),
    )
        .prop_map(
            |(greeting, user, pass, ok, system, port, pasv, file, epsv, features)| Session {
                greeting,
                user,
                pass,
                ok,
                system,
                port,
                pasv,
                file,
                epsv,
                features,
            },
        )
}

fn commas((ip, port): ([u8; 4], u16)) -> String {
    format!(
        "{},{},{},{},{},{}",
        ip[0],
        ip[1],
        ip[2],
        ip[3],
        port >> 8,
        port & 255
    )
}

impl Session {
    fn steps(&self) -> Vec<(Direction, Vec<u8>)> {
        let (c, s) = (Direction::ToServer, Direction::ToClient);
        let mut feat = String::from("211-Features:\r\n");
        for f in &self.features {
            feat += &format!(" {f}\r\n");
        }
        feat += "211 End\r\n";
        [
            (s, format!("220 {}\r\n", self.greeting)),
            (c, format!("USER {}\r\n", self.user)),
            (s, "331 Password required\r\n".to_string()),
            (c, format!("PASS {}\r\n", self.pass)),
            (
                s,
                if self.ok {
                    "230 Logged in\r\n"
                } else {
                    "530 Login incorrect\r\n"
                }
                .to_string(),
            ),
            (c, "SYST\r\n".to_string()),
            (s, format!("215 {}\r\n", self.system)),
            (c, format!("PORT {}\r\n", commas(self.port))),
            (s, "200 PORT command successful\r\n".to_string()),
            (c, "PASV\r\n".to_string()),
            (
                s,
                format!("227 Entering Passive Mode ({}).\r\n", commas(self.pasv)),
            ),
            (c, format!("RETR {}\r\n", self.file)),
            (s, "150 Opening BINARY mode data connection\r\n".to_string()),
            (s, "226 Transfer complete\r\n".to_string()),
            (c, "EPSV\r\n".to_string()),
            (
                s,
                format!("229 Entering Extended Passive Mode (|||{}|)\r\n", self.epsv),
            ),
            (c, "FEAT\r\n".to_string()),
            (s, feat),
            (c, "QUIT\r\n".to_string()),
            (s, "221 Goodbye\r\n".to_string()),
        ]
        .into_iter()
        .map(|(d, t)| (d, t.into_bytes()))
        .collect()
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// Greeting, USER name, PASS presence and login verdict, SYST answer, PORT / PASV /
    /// EPSV endpoints, RETR file with its preliminary reply and FEAT lines read back,
    /// each line split at a random point.
    #[test]
    fn session_round_trip(s in session(), split in any::<usize>()) {
        let mut p = (DESC.new_parser)(Transport::Tcp);
        let mut out = Vec::new();
        for (i, (d, b)) in s.steps().iter().enumerate() {
            let at = split % (b.len() + 1);
            p.parse(*d, &b[..at], i as i64, &mut out);
            p.parse(*d, &b[at..], i as i64, &mut out);
        }
        p.finish(99, &mut out);
        prop_assert!(remote_support::anomalies(&out).is_empty(), "{:?}", remote_support::anomalies(&out));
        let t: Vec<_> = out.iter().filter_map(|o| match o {
            sluice_proto::Output::Txn(t) => match &t.record { sluice_proto::Record::Ftp(v) => Some(v.clone()), _ => None },
            _ => None,
        }).collect();
        let cmds: Vec<_> = t.iter().map(|x| x.command.as_deref()).collect();
        prop_assert_eq!(cmds, vec![None, Some("USER"), Some("PASS"), Some("SYST"), Some("PORT"), Some("PASV"), Some("RETR"), Some("EPSV"), Some("FEAT"), Some("QUIT")]);
        prop_assert_eq!((t[0].reply_code, t[0].reply_text.as_ref()), (Some(220), Some(&s.greeting)));
        prop_assert_eq!(&t[0].user, &None);
        for x in &t[1..] {
            prop_assert_eq!(x.user.as_ref(), Some(&s.user));
            prop_assert!(!x.truncated && !x.tls);
        }
        prop_assert_eq!(t[1].arg.as_ref(), Some(&s.user));
        prop_assert_eq!((t[1].reply_code, t[1].login_success), (Some(331), None));
        prop_assert_eq!(&t[2].arg, &None);
        prop_assert!(t[2].password_present);
        prop_assert_eq!(t[2].reply_code, Some(if s.ok { 230 } else { 530 }));
        prop_assert_eq!(t[2].login_success, Some(s.ok));
        prop_assert_eq!(t[3].system.as_ref(), Some(&s.system));
        let host = |ip: [u8; 4]| Some(std::net::Ipv4Addr::from(ip).to_string());
        prop_assert_eq!((t[4].data_mode, &t[4].data_host, t[4].data_port), (Some("active"), &host(s.port.0), Some(s.port.1)));
        prop_assert_eq!((t[5].data_mode, &t[5].data_host, t[5].data_port), (Some("passive"), &host(s.pasv.0), Some(s.pasv.1)));
        prop_assert_eq!(t[6].file.as_ref(), Some(&s.file));
        prop_assert_eq!((t[6].preliminary_code, t[6].reply_code), (Some(150), Some(226)));
        prop_assert_eq!((t[7].data_mode, &t[7].data_host, t[7].data_port), (Some("passive"), &None, Some(s.epsv)));
        prop_assert_eq!(&t[8].features, &s.features);
        prop_assert_eq!(t[9].reply_code, Some(221));
        // the password (marked "pw!", a mark no other field can hold) is never kept
        let json = serde_json::to_string(&remote_support::records(&out)).unwrap_or_default();
        prop_assert!(!json.contains("pw!"));
    }
}
