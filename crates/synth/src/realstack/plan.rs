//! The real-stack scenarios: which servers run on which plant host, and which clients
//! do what when (seconds from the shared start). Plant addresses are those of
//! [`crate::scenario::hosts`] (the DESIGN.md example); the generator maps them to
//! loopback addresses and back.
use crate::scenario::hosts::*;
use crate::session::Host;
use serde_json::{json, Value};

/// Stand-in (unprivileged) server ports and the real ones they become.
pub const PORTS: &[(u16, u16)] = &[(5020, 502), (1102, 102), (15900, 5900), (8080, 80)];

const MODBUS: u16 = 5020;
const S7: u16 = 1102;
const VNC: u16 = 15900;
const HTTP: u16 = 8080;

/// A server program.
#[derive(Debug, Clone, PartialEq)]
pub enum ServerKind {
    /// pymodbus Modbus/TCP server with a device identity.
    Modbus {
        vendor: &'static str,
        product: &'static str,
        revision: &'static str,
    },
    /// python-snap7 S7 server.
    S7,
    /// python http.server.
    Web,
    /// TigerVNC Xvnc with security type None.
    Vnc { desktop: &'static str },
}

/// A server on a plant host.
#[derive(Debug, Clone, PartialEq)]
pub struct Server {
    pub host: Host,
    pub port: u16,
    pub kind: ServerKind,
}

/// A client run on a timeline.
#[derive(Debug, Clone, PartialEq)]
pub struct Actor {
    /// `modbus`, `s7`, `vnc`, `http` or `nmap` (see `realstack/actor.py`).
    pub kind: &'static str,
    pub src: Host,
    pub dst: Host,
    pub port: u16,
    /// `{"at": seconds, "op": ..., ...}`, in time order.
    pub steps: Vec<Value>,
}

/// What a scenario runs.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    pub servers: Vec<Server>,
    pub actors: Vec<Actor>,
    /// Seconds the timeline lasts (the last step's time, rounded up).
    pub duration: f64,
}

/// What a plan needs from the machine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Needs {
    pub pymodbus: bool,
    pub snap7: bool,
    pub vncdotool: bool,
    pub xvnc: bool,
    pub nmap: bool,
}

impl Plan {
    /// The tools and Python packages the plan uses.
    pub fn needs(&self) -> Needs {
        let mut n = Needs::default();
        for s in &self.servers {
            match s.kind {
                ServerKind::Modbus { .. } => n.pymodbus = true,
                ServerKind::S7 => n.snap7 = true,
                ServerKind::Vnc { .. } => n.xvnc = true,
                ServerKind::Web => {}
            }
        }
        for a in &self.actors {
            match a.kind {
                "modbus" => n.pymodbus = true,
                "s7" => n.snap7 = true,
                "vnc" => n.vncdotool = true,
                "nmap" => n.nmap = true,
                _ => {}
            }
        }
        n
    }
}

fn plc1() -> Server {
    Server {
        host: PLC1,
        port: MODBUS,
        kind: ServerKind::Modbus {
            vendor: "Schneider Electric",
            product: "BMX P34 2020",
            revision: "v3.10",
        },
    }
}

fn plc2() -> Server {
    Server {
        host: PLC2,
        port: MODBUS,
        kind: ServerKind::Modbus {
            vendor: "Schneider Electric",
            product: "TM221CE24T",
            revision: "v1.6.2",
        },
    }
}

fn s7plc() -> Server {
    Server {
        host: S7PLC,
        port: S7,
        kind: ServerKind::S7,
    }
}

fn web(i: usize) -> Server {
    Server {
        host: WEB.get(i).map_or(WEB[0].0, |w| w.0),
        port: HTTP,
        kind: ServerKind::Web,
    }
}

fn at(t: f64, mut op: Value) -> Value {
    if let Value::Object(m) = &mut op {
        m.insert("at".into(), json!(t));
    }
    op
}

/// `ops` every `every` seconds from `from` while before `until`.
fn poll(steps: &mut Vec<Value>, from: f64, until: f64, every: f64, ops: &[Value]) {
    let mut t = from;
    while t < until {
        for op in ops {
            steps.push(at(t, op.clone()));
        }
        t += every;
    }
}

fn sorted(mut steps: Vec<Value>) -> Vec<Value> {
    steps.sort_by(|a, b| {
        let t = |v: &Value| v.get("at").and_then(Value::as_f64).unwrap_or(0.0);
        t(a).total_cmp(&t(b))
    });
    steps
}

fn modbus(src: Host, dst: Host, steps: Vec<Value>) -> Actor {
    Actor {
        kind: "modbus",
        src,
        dst,
        port: MODBUS,
        steps: sorted(steps),
    }
}

/// The HMI's scan of a PLC: holding registers 0-9, input registers 0-9, coils 0-15.
fn hmi_scan() -> Vec<Value> {
    vec![
        json!({"op": "read_hr", "address": 0, "count": 10}),
        json!({"op": "read_ir", "address": 0, "count": 10}),
        json!({"op": "read_coils", "address": 0, "count": 16}),
    ]
}

/// The HMI polling PLC1 every half second, plus `writes`.
fn hmi_on_plc1(until: f64, writes: &[(f64, Value)]) -> Actor {
    let mut steps = Vec::new();
    poll(&mut steps, 0.0, until, 0.5, &hmi_scan());
    for (t, w) in writes {
        steps.push(at(*t, w.clone()));
    }
    modbus(HMI, PLC1, steps)
}

/// The historian reading PLC1 every second.
fn historian_on_plc1(until: f64) -> Actor {
    let mut steps = Vec::new();
    poll(
        &mut steps,
        0.1,
        until,
        1.0,
        &[
            json!({"op": "read_hr", "address": 0, "count": 10}),
            json!({"op": "read_ir", "address": 0, "count": 10}),
        ],
    );
    modbus(HISTORIAN, PLC1, steps)
}

fn write_register(address: u16, value: u16) -> Value {
    json!({"op": "write_register", "address": address, "value": value})
}

fn http(src: Host, web_i: usize, gets: &[(f64, &str)]) -> Actor {
    let (dst, name) = WEB.get(web_i).copied().unwrap_or(WEB[0]);
    Actor {
        kind: "http",
        src,
        dst,
        port: HTTP,
        steps: gets
            .iter()
            .map(|(t, path)| at(*t, json!({"op": "get", "path": path, "host": name})))
            .collect(),
    }
}

/// A benign stretch of plant time: HMI polling of both Modbus PLCs with operator
/// setpoint changes inside the envelope (100 -> 120 -> 140 -> 100) and a pump start,
/// historian reads, the engineering workstation reading the S7 PLC's data block and
/// changing a setpoint there, office web browsing.
fn benign() -> Plan {
    let d = 8.0;
    let mut hmi2 = Vec::new();
    poll(
        &mut hmi2,
        0.05,
        d,
        1.0,
        &[
            json!({"op": "read_hr", "address": 0, "count": 8}),
            json!({"op": "read_ir", "address": 0, "count": 8}),
        ],
    );
    let mut hist2 = Vec::new();
    poll(
        &mut hist2,
        0.3,
        d,
        2.0,
        &[json!({"op": "read_ir", "address": 0, "count": 8})],
    );
    let ews = Actor {
        kind: "s7",
        src: EWS,
        dst: S7PLC,
        port: S7,
        steps: vec![
            at(0.5, json!({"op": "connect", "rack": 0, "slot": 2})),
            at(
                1.0,
                json!({"op": "db_read", "db": 1, "start": 0, "size": 12}),
            ),
            // A setpoint change: DB1.DBD8 (REAL) from 7.2 to 7.4. (No SZL read: the
            // python-snap7 3.3.0 server answers SZL 0x0011 with a record shorter than the
            // length it announces, which tshark rightly calls malformed, and its client
            // sends the CPU-state request as a read var without an item count.)
            at(
                3.0,
                json!({"op": "db_read", "db": 1, "start": 0, "size": 12}),
            ),
            at(
                4.0,
                json!({"op": "db_write", "db": 1, "start": 8, "hex": "40eccccd"}),
            ),
            at(
                5.0,
                json!({"op": "db_read", "db": 1, "start": 0, "size": 12}),
            ),
            at(6.0, json!({"op": "disconnect"})),
        ],
    };
    Plan {
        servers: vec![plc1(), plc2(), s7plc(), web(0), web(2)],
        actors: vec![
            hmi_on_plc1(
                d,
                &[
                    (2.25, write_register(5, 120)),
                    (
                        3.25,
                        json!({"op": "write_coil", "address": 3, "value": true}),
                    ),
                    (4.25, write_register(5, 140)),
                    (6.25, write_register(5, 100)),
                ],
            ),
            modbus(HMI, PLC2, hmi2),
            historian_on_plc1(d),
            modbus(HISTORIAN, PLC2, hist2),
            ews,
            http(OFFICE[1], 0, &[(0.3, "/"), (3.5, "/news")]),
            http(OFFICE[2], 2, &[(1.2, "/"), (5.2, "/weather")]),
        ],
        duration: d,
    }
}

/// Oldsmar: the HMI polls PLC1 and the operator writes the setpoint 100 twice; an
/// intruder on the Internet opens a VNC session (security type None) on the HMI, types
/// "11100" and Enter, and the HMI writes 11100 to register 5; the operator restores
/// 100 after the intruder left.
fn oldsmar() -> Plan {
    let d = 10.0;
    let mut vnc = vec![
        at(3.0, json!({"op": "connect"})),
        at(3.5, json!({"op": "move", "x": 200, "y": 150})),
        at(4.0, json!({"op": "move", "x": 240, "y": 170})),
    ];
    for (i, k) in ["1", "1", "1", "0", "0", "enter"].iter().enumerate() {
        vnc.push(at(5.0 + 0.12 * i as f64, json!({"op": "key", "key": k})));
    }
    vnc.push(at(7.0, json!({"op": "move", "x": 100, "y": 60})));
    vnc.push(at(9.0, json!({"op": "disconnect"})));
    Plan {
        servers: vec![
            plc1(),
            Server {
                host: HMI,
                port: VNC,
                kind: ServerKind::Vnc {
                    desktop: "RIVERSIDE-HMI1",
                },
            },
        ],
        actors: vec![
            hmi_on_plc1(
                d,
                &[
                    (1.25, write_register(5, 100)),
                    (2.75, write_register(5, 100)),
                    (6.25, write_register(5, 11_100)),
                    (8.25, write_register(5, 100)),
                ],
            ),
            historian_on_plc1(d),
            Actor {
                kind: "vnc",
                src: ATTACKER,
                dst: HMI,
                port: VNC,
                steps: vnc,
            },
        ],
        duration: d,
    }
}

/// IT-to-OT pivot: an office PC reads PLC1, then writes a coil (FC5), coils (FC15)
/// and registers (FC16, register 5 = 2000) while the HMI keeps polling.
fn pivot() -> Plan {
    let d = 6.0;
    let pc = vec![
        at(1.5, json!({"op": "read_hr", "address": 0, "count": 10})),
        at(
            2.5,
            json!({"op": "write_coil", "address": 0, "value": false}),
        ),
        at(
            3.5,
            json!({"op": "write_coils", "address": 0, "values": [0, 0, 1, 0, 0, 0, 0, 0]}),
        ),
        at(
            4.5,
            json!({"op": "write_registers", "address": 5, "values": [2000, 100]}),
        ),
    ];
    Plan {
        servers: vec![plc1()],
        actors: vec![
            hmi_on_plc1(d, &[]),
            historian_on_plc1(d),
            modbus(PIVOT_PC, PLC1, pc),
        ],
        duration: d,
    }
}

/// An unknown laptop on the supervisory network connects to the S7 PLC with
/// python-snap7, reads DB1 and stops the CPU.
fn s7_stop() -> Plan {
    let d = 5.0;
    Plan {
        servers: vec![plc1(), s7plc()],
        actors: vec![
            hmi_on_plc1(d, &[]),
            Actor {
                kind: "s7",
                src: ROGUE,
                dst: S7PLC,
                port: S7,
                steps: vec![
                    at(1.0, json!({"op": "connect", "rack": 0, "slot": 2})),
                    at(
                        1.5,
                        json!({"op": "db_read", "db": 1, "start": 0, "size": 8}),
                    ),
                    at(2.5, json!({"op": "plc_stop"})),
                    at(3.0, json!({"op": "disconnect"})),
                ],
            },
        ],
        duration: d,
    }
}

/// Reconnaissance: the unknown laptop sweeps the control network with an nmap TCP
/// connect scan (Modbus, S7, EtherNet/IP and DNP3 ports of 254 hosts), then asks both
/// Modbus PLCs for their identity (FC43) and sweeps unit ids 0-20 with FC43.
fn recon() -> Plan {
    let d = 7.0;
    let sweep = |from: f64| {
        let mut s = vec![
            at(from, json!({"op": "device_id", "code": 1, "unit": 1})),
            at(from + 0.1, json!({"op": "device_id", "code": 2, "unit": 1})),
        ];
        for u in 0..=20u8 {
            s.push(at(
                from + 0.3 + 0.05 * f64::from(u),
                json!({"op": "device_id", "code": 1, "unit": u}),
            ));
        }
        s
    };
    // The target list is in plant terms; the generator maps it to loopback.
    let nmap = Actor {
        kind: "nmap",
        src: ROGUE,
        dst: PLC1,
        port: 0,
        steps: vec![at(
            0.5,
            json!({"op": "sweep", "targets": ["{control}.1-254"], "ports": [MODBUS, S7, 44818, 20000]}),
        )],
    };
    Plan {
        servers: vec![plc1(), plc2(), s7plc()],
        actors: vec![
            hmi_on_plc1(d, &[]),
            nmap,
            modbus(ROGUE, PLC1, sweep(3.0)),
            modbus(ROGUE, PLC2, sweep(4.8)),
        ],
        duration: d,
    }
}

/// The plan of scenario `name` (see [`super::SCENARIOS`]).
pub fn build(name: &str) -> Option<Plan> {
    match name {
        "benign" => Some(benign()),
        "oldsmar" => Some(oldsmar()),
        "pivot" => Some(pivot()),
        "s7_stop" => Some(s7_stop()),
        "recon" => Some(recon()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_scenario_has_a_plan_in_time_order() {
        for name in super::super::SCENARIOS {
            let p = build(name).unwrap();
            assert!(!p.servers.is_empty() && !p.actors.is_empty(), "{name}");
            for a in &p.actors {
                let t: Vec<f64> = a.steps.iter().map(|s| s["at"].as_f64().unwrap()).collect();
                assert!(t.windows(2).all(|w| w[0] <= w[1]), "{name} {}", a.kind);
                assert!(t.iter().all(|&x| x <= p.duration), "{name}");
            }
        }
        assert!(build("nope").is_none());
    }

    #[test]
    fn oldsmar_writes_after_the_session_opens() {
        let p = build("oldsmar").unwrap();
        let vnc = p.actors.iter().find(|a| a.kind == "vnc").unwrap();
        let open = vnc.steps[0]["at"].as_f64().unwrap();
        let hmi = &p.actors[0];
        let w = hmi
            .steps
            .iter()
            .find(|s| s["op"] == "write_register" && s["value"] == 11_100)
            .unwrap();
        assert!(w["at"].as_f64().unwrap() > open + 2.0);
        assert!(p.needs().xvnc && p.needs().vncdotool && !p.needs().snap7);
    }
}
