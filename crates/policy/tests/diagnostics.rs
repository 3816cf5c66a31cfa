//! Every diagnostic kind, with its exact line:column.

mod common;

use std::path::Path;

use common::*;
use sluice_policy::{DiagnosticKind as K, Policy, PolicyError, Severity};

/// (line, column, severity, kind) of every diagnostic of `text`, checked at `TS`.
fn diags(text: &str) -> Vec<(u32, u32, Severity, K)> {
    let p = Policy::parse(text, Path::new("bad.toml")).unwrap_or_else(|e| panic!("{e}"));
    p.check_at(TS)
        .into_iter()
        .map(|d| (d.location.line, d.location.column, d.severity, d.kind))
        .collect()
}

fn messages(text: &str) -> Vec<String> {
    let p = Policy::parse(text, Path::new("bad.toml")).unwrap_or_else(|e| panic!("{e}"));
    p.check_at(TS).into_iter().map(|d| d.to_string()).collect()
}

use Severity::{Error as E, Warning as W};

const ZONES: &str = r#"[[zone]]
name = "control"
level = 1
cidrs = ["10.10.1.0/24"]

[[zone]]
name = "supervisory"
level = 2
cidrs = ["10.10.2.0/24"]
"#;

#[test]
fn unknown_zone_in_conduit_names_the_known_ones() {
    let text = format!(
        "{ZONES}
[[conduit]]
name = \"hmi-to-plc\"
from = \"supervisory\"
to = \"controll\"
protocols = [\"modbus\"]
access = \"read-write\"
"
    );
    assert_eq!(diags(&text), [(14, 6, E, K::UnknownZone)]);
    assert_eq!(
        messages(&text),
        ["bad.toml:14:6: error: unknown zone \"controll\" in conduit \"hmi-to-plc\" (known: control, supervisory, external)"]
    );
    // from_str refuses it, with the file, line and column.
    let err = Policy::from_str(&text, Path::new("sluice.toml")).unwrap_err();
    assert_eq!(
        err.to_string(),
        "sluice.toml:14:6: unknown zone \"controll\" in conduit \"hmi-to-plc\" (known: control, supervisory, external)"
    );
    let loc = err.location().unwrap();
    assert_eq!((loc.line, loc.column), (14, 6));
    // In a list of `to` zones, the element itself is located.
    let text = text.replace("to = \"controll\"", "to = [\"control\", \"scada\"]");
    assert_eq!(diags(&text), [(14, 18, E, K::UnknownZone)]);
}

#[test]
fn zone_problems() {
    let text = r#"[[zone]]
name = "control"
level = 1
cidrs = ["10.10.1.0/24", "10.10.1.128/25"]
security_level_target = 5

[[zone]]
name = "control"
level = 6
cidrs = ["10.10.0.0/16", "10.10.300.0/24", "10.20.0.7/16"]

[[zone]]
name = "external"
level = 2.25
cidrs = []
"#;
    assert_eq!(
        diags(text),
        [
            (4, 26, W, K::RedundantCidr),
            (5, 25, E, K::SecurityLevelOutOfRange),
            (8, 8, E, K::DuplicateName),
            (9, 9, E, K::LevelOutOfRange),
            (10, 10, E, K::OverlappingCidrs),
            (10, 10, E, K::OverlappingCidrs),
            (10, 26, E, K::InvalidAddress),
            (10, 44, W, K::HostBitsSet),
            (13, 8, E, K::ReservedName),
            (13, 8, W, K::EmptyZone),
            (14, 9, E, K::LevelOutOfRange),
        ]
    );
    let m = messages(text);
    assert!(m.contains(&"bad.toml:10:10: error: 10.10.0.0/16 in zone \"control\" overlaps 10.10.1.0/24 in zone \"control\" (line 4): an address must belong to one zone".to_string()), "{m:#?}");
    assert!(
        m.contains(
            &"bad.toml:8:8: error: duplicate zone name \"control\" (first defined on line 2)"
                .to_string()
        ),
        "{m:#?}"
    );
    assert!(m.contains(&"bad.toml:9:9: error: zone \"control\" has level 6: levels are 0 to 5 (3.5 for the DMZ)".to_string()), "{m:#?}");
}

#[test]
fn overlapping_zones_name_both() {
    let text = r#"[[zone]]
name = "enterprise"
level = 4
cidrs = ["10.0.0.0/8"]

[[zone]]
name = "control"
level = 1
cidrs = ["10.10.1.0/24"]
"#;
    assert_eq!(diags(text), [(9, 10, E, K::OverlappingCidrs)]);
    assert_eq!(
        messages(text),
        ["bad.toml:9:10: error: 10.10.1.0/24 in zone \"control\" overlaps 10.0.0.0/8 in zone \"enterprise\" (line 4): an address must belong to one zone"]
    );
}

#[test]
fn conduits_that_can_never_match() {
    let text = format!(
        "{ZONES}
[[conduit]]
name = \"a\"
from = \"supervisory\"
to = \"control\"
protocols = []
clients = [\"10.10.3.5\", \"10.10.2.0/23\", \"10.10.2.x\"]
servers = [\"10.10.2.9\"]

[[conduit]]
name = \"b\"
from = \"control\"
to = \"control\"
protocols = [\"http\", \"modbuss\"]

[[conduit]]
name = \"a\"
from = \"external\"
to = \"control\"
protocols = [\"rdp\"]
access = \"write\"

[[conduit]]
name = \"d\"
from = \"supervisory\"
to = \"control\"
protocols = [\"dnp3\"]
clients = []
"
    );
    assert_eq!(
        diags(&text),
        [
            (15, 13, E, K::EmptyProtocols),
            (16, 12, E, K::ClientOutsideZone),
            (16, 25, E, K::ClientOutsideZone),
            (16, 41, E, K::InvalidAddress),
            (17, 12, E, K::ServerOutsideZone),
            (20, 8, W, K::NoEffect),
            (23, 22, W, K::UnknownProtocol),
            (26, 8, E, K::DuplicateName),
            (28, 6, W, K::BypassesDmz),
            (30, 10, E, K::InvalidValue),
            (33, 8, W, K::AccessDefaulted),
            (33, 8, E, K::InvalidValue),
        ]
    );
    let m = messages(&text);
    for want in [
        "bad.toml:15:13: error: conduit \"a\" has an empty protocol list: it can never match",
        "bad.toml:16:12: error: client 10.10.3.5 of conduit \"a\" is in zone \"external\", not in \"supervisory\" (from): it can never match",
        "bad.toml:16:25: error: client 10.10.2.0/23 of conduit \"a\" reaches 10.10.3.255, which is in zone \"external\", not in \"supervisory\" (from): it can never match",
        "bad.toml:17:12: error: server 10.10.2.9 of conduit \"a\" is in zone \"supervisory\", not in control (to): it can never match",
        "bad.toml:20:8: warning: conduit \"b\" joins zone \"control\" to itself and restricts nothing: traffic inside a zone is already allowed",
        "bad.toml:28:6: warning: conduit \"a\" lets external (level 5) reach control (level 1) directly; traffic from level 4 or above should end in the DMZ",
        "bad.toml:30:10: error: access \"write\" is not \"read\" or \"read-write\"",
    ] {
        assert!(m.iter().any(|x| x == want), "missing {want:?} in {m:#?}");
    }
    assert!(m.iter().any(|x| x.starts_with(
        "bad.toml:23:22: warning: unknown protocol \"modbuss\" in conduit \"b\" (known: modbus, dnp3,"
    )));
}

#[test]
fn envelope_problems() {
    let text = format!(
        "{ZONES}
[[envelope]]
device = \"10.99.0.1\"
register = 5
min = 0
max = 10

[[envelope]]
device = \"10.10.1.10\"
register = \"0-9\"
min = 300
max = 200

[[envelope]]
device = \"10.10.1.10/24\"
register = 5
min = 0
max = 1

[[envelope]]
device = \"10.10.1.10\"
unit = 1
register = \"9-2\"
min = 0
max = 1

[[envelope]]
device = \"10.10.1.10\"
register = 70000
min = 0
max = 1
max_step = 0

[[envelope]]
device = \"10.10.1.11\"
register = 1
min = 0
max = 1
max_step = -1

[[envelope]]
device = \"10.10.1.12\"
register = \"1-4\"
min = 0
max = 1

[[envelope]]
device = \"10.10.1.12\"
unit = 3
register = 4
min = 0
max = 2
"
    );
    assert_eq!(
        diags(&text),
        [
            (12, 10, W, K::EnvelopeOutsideZones),
            (20, 7, E, K::InvalidEnvelope),
            (24, 10, E, K::InvalidAddress),
            (32, 12, E, K::InvalidRange),
            (38, 12, E, K::InvalidRange),
            (48, 12, E, K::InvalidEnvelope),
            (59, 12, W, K::OverlappingEnvelopes),
        ]
    );
    let m = messages(&text);
    assert!(m.contains(&"bad.toml:20:7: error: envelope of 10.10.1.10 register 0-9: min 300 is above max 200: every write would break it".to_string()), "{m:#?}");
    assert!(
        m.contains(
            &"bad.toml:12:10: warning: envelope device 10.99.0.1 is in no zone (it is external)"
                .to_string()
        ),
        "{m:#?}"
    );
}

#[test]
fn exceptions_and_windows() {
    let text = format!(
        "{ZONES}[site]
utc_offset = \"+25:00\"

[[exception]]
name = \"old\"
what = {{ from = \"supervisory\", to = \"control\", protocols = [\"modbus\"] }}
reason = \"commissioning\"
expires = 2021-01-31

[[exception]]
what = {{ from = \"enterprize\" }}
reason = \"typo\"
expires = \"2031-01-31T00:00:00Z\"
violations = [\"no_conduit\", \"everything\"]

[[exception]]
what = {{}}
reason = \"forever\"

[[exception]]
name = \"bad-date\"
what = {{ to = \"control\" }}
reason = \"x\"
expires = \"next week\"

[[maintenance_window]]
name = \"w1\"
zone = \"controll\"
weekly = \"Sat 02:00-06:00\"

[[maintenance_window]]
name = \"w2\"
device = \"10.10.1.10\"
weekly = [\"Sat 02:00-06:00\", \"Caturday 01:00-02:00\"]

[[maintenance_window]]
name = \"w3\"
start = \"2021-03-01T00:00:00Z\"
end = \"2021-02-01T00:00:00Z\"

[[maintenance_window]]
name = \"w4\"
device = \"10.10.1.10\"
"
    );
    assert_eq!(
        diags(&text),
        [
            (11, 14, E, K::InvalidTime),
            (17, 11, W, K::ExpiredException),
            (20, 17, E, K::UnknownZone),
            (23, 29, E, K::InvalidValue),
            (26, 8, W, K::BroadException),
            (27, 10, W, K::PermanentException),
            (33, 11, E, K::InvalidTime),
            (37, 8, E, K::UnknownZone),
            (43, 30, E, K::InvalidTime),
            (48, 7, E, K::InvalidTime),
            (51, 8, E, K::InvalidValue),
        ]
    );
    let m = messages(&text);
    assert!(
        m.contains(&"bad.toml:17:11: warning: exception \"old\" expired at 2021-02-01T00:00:00Z: it no longer applies".to_string()),
        "{m:#?}"
    );
    // Expiry is judged at the time given: before it, no warning.
    let p = Policy::parse(&text, Path::new("bad.toml")).unwrap();
    let early = p.check_at(TS - 10 * 86_400 * 1_000_000_000);
    assert!(!early.iter().any(|d| d.kind == K::ExpiredException));
}

#[test]
fn syntax_and_type_errors_are_located() {
    let cases: &[(&str, u32, u32, &str)] = &[
        ("[[zone]]\nname = \"a\"\nlevel = \n", 3, 9, ""),
        (
            "[[zone]]\nname = \"a\"\nlevel = \"high\"\ncidrs = []\n",
            3,
            9,
            "invalid type",
        ),
        (
            "[[zone]]\nname = \"a\"\nlevel = 1\ncidr = [\"10.0.0.0/8\"]\n",
            4,
            1,
            "unknown field `cidr`",
        ),
        ("[[zone]]\nlevel = 1\n", 1, 1, "missing field `name`"),
        (
            "[[conduit]]\nname = \"x\"\nfrom = \"a\"\nto = 5\nprotocols = [\"modbus\"]\n",
            4,
            6,
            "",
        ),
        (
            "[[envelope]]\ndevice = \"10.0.0.1\"\nunit = 300\nregister = 1\nmin = 0\nmax = 1\n",
            3,
            8,
            "",
        ),
    ];
    for (text, line, col, needle) in cases {
        let err = Policy::parse(text, Path::new("s.toml")).unwrap_err();
        let PolicyError::Syntax { location, message } = &err else {
            panic!("expected a syntax error for {text:?}, got {err}");
        };
        assert_eq!(
            (location.line, location.column),
            (*line, *col),
            "{text:?}: {err}"
        );
        assert!(message.contains(needle), "{text:?}: {message}");
        assert!(
            err.to_string()
                .starts_with(&format!("s.toml:{line}:{col}: ")),
            "{err}"
        );
    }
    // Keys of other Sluice components are not ours to refuse.
    let other =
        "[site]\nname = \"x\"\ntimezone = \"Europe/Paris\"\n\n[gate]\nlisten = \"0.0.0.0:1502\"\n";
    assert!(Policy::from_str(other, Path::new("s.toml")).is_ok());
}

#[test]
fn load_reports_missing_files() {
    let err = Policy::load("/nonexistent/sluice.toml").unwrap_err();
    assert!(matches!(err, PolicyError::Io { .. }));
    assert!(err
        .to_string()
        .starts_with("/nonexistent/sluice.toml: cannot read policy"));
    let dir = std::env::temp_dir().join(format!("sluice-policy-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let f = dir.join("sluice.toml");
    std::fs::write(
        &f,
        DESIGN_EXAMPLE.replace("\"operations\"\nlevel = 3", "\"operations\"\nlevel = 7"),
    )
    .unwrap();
    let err = Policy::load(&f).unwrap_err();
    assert_eq!(err.location().map(|l| (l.line, l.column)), Some((17, 9)));
    assert!(
        err.to_string().starts_with(&format!(
            "{}:17:9: zone \"operations\" has level 7",
            f.display()
        )),
        "{err}"
    );
    let p = Policy::parse_file(&f).unwrap();
    let errors: Vec<_> = p.check().into_iter().filter(|d| d.severity == E).collect();
    assert_eq!(errors.len(), 1, "{errors:#?}");
    std::fs::write(&f, DESIGN_EXAMPLE).unwrap();
    assert!(Policy::load(&f).is_ok());
    std::fs::remove_dir_all(&dir).unwrap();
}
