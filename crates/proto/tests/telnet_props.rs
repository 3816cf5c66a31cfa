//! Property tests for the telnet parser: arbitrary bytes in arbitrary chunkings (with
//! TCP gaps) never panic, and the records do not depend on the chunking.
mod remote_support;
mod support;
use proptest::prelude::*;
use sluice_proto::telnet::DESC;
use sluice_proto::{Direction, Transport};

remote_support::robustness_props!(DESC, "telnet");

// ---- option negotiation + login attempts round trip (issue 6) ----

const KNOWN: [(u8, &str); 13] = [
    (0, "binary"),
    (1, "echo"),
    (3, "suppress_go_ahead"),
    (5, "status"),
    (6, "timing_mark"),
    (24, "terminal_type"),
    (31, "naws"),
    (32, "terminal_speed"),
    (33, "remote_flow_control"),
    (34, "linemode"),
    (35, "x_display_location"),
    (37, "authentication"),
    (38, "encryption"),
];

#[derive(Clone, Debug)]
struct Login {
    server_opts: Vec<(u8, usize)>,
    client_opts: Vec<(u8, usize)>,
    banner: String,
    host: String,
    /// (user, password, success); every attempt but the last fails.
    attempts: Vec<(String, String, bool)>,
    last_login: String,
}

fn login() -> impl Strategy<Value = Login> {
    let opt = || {
        (
            prop::sample::select(vec![251u8, 252, 253, 254]),
            0usize..KNOWN.len(),
        )
    };
    (
        prop::collection::vec(opt(), 0..6),
        prop::collection::vec(opt(), 0..6),
        "[A-Z][a-z0-9]{0,10}( [A-Z0-9][a-z0-9.]{0,8}){0,3}",
        "[a-z][a-z0-9-]{0,10}",
        prop::collection::vec(("[a-z][a-z0-9_.-]{0,15}", "pw![ -~]{1,12}"), 1..4),
        any::<bool>(),
        "Last login: [A-Za-z0-9:]{1,10}( [A-Za-z0-9:]{1,10}){0,3}",
    )
        .prop_map(
            |(server_opts, client_opts, banner, host, users, ok, last_login)| {
                let n = users.len();
                let attempts = users
                    .into_iter()
                    .enumerate()
                    .map(|(i, (u, p))| (u, p, ok && i + 1 == n))
                    .collect();
                Login {
                    server_opts,
                    client_opts,
                    banner,
                    host,
                    attempts,
                    last_login,
                }
            },
        )
}

impl Login {
    fn steps(&self) -> Vec<(Direction, Vec<u8>)> {
        let (c, s) = (Direction::ToServer, Direction::ToClient);
        let iac = |v: &[(u8, usize)]| -> Vec<u8> {
            v.iter()
                .flat_map(|(cmd, o)| [255, *cmd, KNOWN[*o].0])
                .collect()
        };
        let mut v = Vec::new();
        if !self.server_opts.is_empty() {
            v.push((s, iac(&self.server_opts)));
        }
        if !self.client_opts.is_empty() {
            v.push((c, iac(&self.client_opts)));
        }
        v.push((s, format!("\r\n{}\r\n\r\n", self.banner).into_bytes()));
        for (user, pass, ok) in &self.attempts {
            v.push((s, format!("{} login: ", self.host).into_bytes()));
            v.push((c, format!("{user}\r\n").into_bytes()));
            v.push((s, b"Password: ".to_vec()));
            v.push((c, format!("{pass}\r\n").into_bytes()));
            if *ok {
                v.push((
                    s,
                    format!("\r\n{}\r\n{user}@{}:~$ ", self.last_login, self.host).into_bytes(),
                ));
                v.push((c, b"id\r\n".to_vec()));
            } else {
                v.push((s, b"\r\nLogin incorrect\r\n".to_vec()));
            }
        }
        v
    }

    fn options(&self) -> Vec<&'static str> {
        let mut o = Vec::new();
        for (_, i) in self.server_opts.iter().chain(&self.client_opts) {
            if !o.contains(&KNOWN[*i].1) {
                o.push(KNOWN[*i].1);
            }
        }
        o
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// Negotiated options, banner, prompt, user of every attempt, password presence,
    /// verdicts and the deciding line read back, each segment split at a random point.
    #[test]
    fn login_round_trip(l in login(), split in any::<usize>()) {
        let mut p = (DESC.new_parser)(Transport::Tcp);
        let mut out = Vec::new();
        for (i, (d, b)) in l.steps().iter().enumerate() {
            let at = split % (b.len() + 1);
            p.parse(*d, &b[..at], i as i64, &mut out);
            p.parse(*d, &b[at..], i as i64, &mut out);
        }
        p.finish(99, &mut out);
        prop_assert!(remote_support::anomalies(&out).is_empty(), "{:?}", remote_support::anomalies(&out));
        let t: Vec<_> = out.iter().filter_map(|o| match o {
            sluice_proto::Output::Txn(t) => match &t.record { sluice_proto::Record::Telnet(v) => Some(v.clone()), _ => None },
            _ => None,
        }).collect();
        prop_assert_eq!(t.len(), l.attempts.len(), "{:#?}", t);
        for (x, (user, _, ok)) in t.iter().zip(&l.attempts) {
            prop_assert_eq!(x.kind, "login");
            prop_assert_eq!(x.prompt.clone(), Some(format!("{} login:", l.host)));
            prop_assert_eq!(x.user.as_ref(), Some(user));
            prop_assert!(x.password_present);
            prop_assert_eq!(x.login_success, Some(*ok));
            let line = if *ok { l.last_login.clone() } else { "Login incorrect".to_string() };
            prop_assert_eq!(x.result_line.as_ref(), Some(&line));
            prop_assert_eq!(&x.options, &l.options());
            prop_assert_eq!(x.banner.as_ref(), Some(&l.banner));
            prop_assert!(!x.truncated);
        }
        let json = serde_json::to_string(&remote_support::records(&out)).unwrap_or_default();
        prop_assert!(!json.contains("pw!"));
    }
}
