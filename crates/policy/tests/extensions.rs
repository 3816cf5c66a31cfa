//! Extensions of the format: jump hosts and gates, writers per register range,
//! maintenance windows, exceptions, conduits inside a zone.

mod common;

use common::*;
use sluice_policy::{Access, Schedule, Verdict, ViolationKind as V, WindowScope};

const NS_DAY: i64 = 86_400 * 1_000_000_000;

fn with(extra: &str) -> String {
    format!("{DESIGN_EXAMPLE}\n{extra}")
}

#[test]
fn jump_hosts_and_gates_satisfy_mfa() {
    let text = DESIGN_EXAMPLE.replace(
        "requires_mfa = true",
        "requires_mfa = true\njump_hosts = [\"10.30.0.5\"]",
    );
    let p = load(&text);
    assert_eq!(
        p.judge_flow(flow("203.0.113.66", "10.30.0.5", Some("vnc"))),
        Verdict::Allowed {
            conduit: Some("vendor-remote-access".into()),
            exception: None
        }
    );
    // A gate listed for the site counts as the MFA point for every conduit.
    let text = DESIGN_EXAMPLE.replace(
        "name = \"Riverside Water Treatment\"",
        "name = \"Riverside Water Treatment\"\ngates = [\"198.51.100.7\"]",
    );
    let p = load(&text);
    assert_eq!(p.gates().len(), 1);
    assert!(p
        .judge_flow(flow("198.51.100.7", "10.30.0.5", Some("rdp")))
        .is_allowed());
    let v = p.judge_flow(flow("198.51.100.8", "10.30.0.5", Some("rdp")));
    assert_eq!(v.violations()[0].kind, V::RemoteAccessWithoutMfa);
    assert_eq!(
        v.violations()[0].explanation,
        "198.51.100.8 (external, level 5) reached 10.30.0.5 (dmz, level 3.5) over RDP: conduit \"vendor-remote-access\" requires MFA, but the session did not pass through a listed jump host or a gate"
    );
}

#[test]
fn writers_per_register_range() {
    let text = DESIGN_EXAMPLE.replace(
        "clients = [\"10.10.2.20\", \"10.10.2.40\"]",
        "clients = [\"10.10.2.20\", \"10.10.2.40\"]\nwriters = [\n  { clients = [\"10.10.2.20\"], registers = \"0-19\" },\n  { clients = [\"10.10.2.20\", \"10.10.2.40\"], registers = \"20-39\" },\n  { clients = [\"10.10.2.40\"], registers = 100, unit = 2 },\n]",
    );
    let p = load(&text);
    let ok = |c: &str, first, count| p.judge_ics(write_regs(c, "10.10.1.10", first, count));
    assert!(ok("10.10.2.20", 5, 1).is_allowed());
    assert!(ok("10.10.2.20", 0, 40).is_allowed(), "0-39 spans two rules");
    assert!(ok("10.10.2.40", 20, 20).is_allowed());
    let v = ok("10.10.2.40", 5, 1);
    assert_eq!(v.violations()[0].kind, V::WriterNotAllowed);
    assert_eq!(
        v.violations()[0].explanation,
        "10.10.2.40 (supervisory, level 2) wrote Modbus register 5 on 10.10.1.10 (control, level 1): conduit \"hmi-to-plc\" does not list 10.10.2.40 among the writers of register 5"
    );
    assert!(
        ok("10.10.2.40", 19, 2).has(V::WriterNotAllowed),
        "19 is not its"
    );
    assert!(
        ok("10.10.2.20", 35, 10).has(V::WriterNotAllowed),
        "40-44 have no rule"
    );
    // Unit-limited rule: register 100 on unit 2 only.
    let mut f = write_regs("10.10.2.40", "10.10.1.10", 100, 1);
    assert!(p.judge_ics(f).has(V::WriterNotAllowed), "unit 1");
    f.unit = Some(2);
    assert!(p.judge_ics(f).is_allowed());
    // Registers unknown: the client must at least be a writer somewhere.
    f.registers = None;
    assert!(p.judge_ics(f).is_allowed());
    // Reads are not writes.
    assert!(p
        .judge_ics(ics("10.10.2.40", "10.10.1.10", "modbus", Access::Read))
        .is_allowed());
}

#[test]
fn conduits_inside_a_zone_restrict_their_protocols() {
    let p = load(&with(
        r#"[[conduit]]
name = "plc-peers"
from = "control"
to = "control"
protocols = ["modbus"]
access = "read"
"#,
    ));
    assert!(p
        .judge_ics(ics("10.10.1.11", "10.10.1.10", "modbus", Access::Read))
        .is_allowed());
    let v = p.judge_ics(write_regs("10.10.1.11", "10.10.1.10", 1, 1));
    assert_eq!(v.violations()[0].kind, V::WriteOnReadOnly);
    assert_eq!(v.violations().len(), 1);
    // Protocols it does not list stay allowed inside the zone.
    assert!(p
        .judge_ics(ics("10.10.1.11", "10.10.1.10", "enip", Access::Write))
        .is_allowed());
}

#[test]
fn exceptions_waive_until_they_expire() {
    let p = load(&with(
        r#"[[exception]]
name = "integrator-commissioning"
what = { from = "enterprise", to = "control", protocols = ["modbus"], clients = ["10.20.5.23"] }
reason = "integrator commissioning the new dosing pump (CHG-1042)"
expires = 2021-02-28

[[exception]]
what = { from = "external", to = "dmz", access = "read" }
reason = "MFA rollout pending for vendor VPN"
expires = "2021-03-01T12:00:00+01:00"
violations = ["remote_access_without_mfa"]
"#,
    ));
    let f = write_regs("10.20.5.23", "10.10.1.10", 5, 1);
    assert_eq!(
        p.judge_ics(f),
        Verdict::Allowed {
            conduit: None,
            exception: Some("integrator commissioning the new dosing pump (CHG-1042)".into())
        }
    );
    // The whole last day is covered; the day after, it no longer applies.
    let end_of_feb = sluice_policy::format_rfc3339(TS);
    assert_eq!(end_of_feb, "2021-02-05T13:30:00Z");
    let last_day = TS + 22 * NS_DAY + 10 * 3600 * 1_000_000_000; // 2021-02-27T23:30Z
    assert!(p
        .judge_ics(sluice_policy::IcsFacts { ts: last_day, ..f })
        .is_allowed());
    let after = TS + 23 * NS_DAY; // 2021-02-28T13:30Z
    assert!(p
        .judge_ics(sluice_policy::IcsFacts { ts: after, ..f })
        .is_allowed());
    let later = TS + 24 * NS_DAY; // 2021-03-01T13:30Z
    let v = p.judge_ics(sluice_policy::IcsFacts { ts: later, ..f });
    assert_eq!(
        v.violations().iter().map(|v| v.kind).collect::<Vec<_>>(),
        [V::NoConduit, V::DirectEnterpriseToControl]
    );
    // Another client is not covered.
    assert!(!p
        .judge_ics(write_regs("10.20.5.24", "10.10.1.10", 5, 1))
        .is_allowed());
    // The second exception waives only the MFA violation...
    assert_eq!(
        p.judge_flow(flow("203.0.113.66", "10.30.0.5", Some("vnc"))),
        Verdict::Allowed {
            conduit: None,
            exception: Some("MFA rollout pending for vendor VPN".into())
        }
    );
    // ...not a wrong server,
    assert!(p
        .judge_flow(flow("203.0.113.66", "10.30.0.9", Some("vnc")))
        .has(V::ServerNotAllowed));
    // ...and only until 2021-03-01T11:00Z.
    let v = p.judge_flow(sluice_policy::FlowFacts {
        ts: later,
        ..flow("203.0.113.66", "10.30.0.5", Some("vnc"))
    });
    assert!(v.has(V::RemoteAccessWithoutMfa));
    // check() warns about expired exceptions.
    let d = p.check_at(later);
    assert_eq!(d.len(), 2, "{d:#?}");
    assert!(d[0]
        .to_string()
        .contains("exception \"integrator-commissioning\" expired at 2021-03-01T00:00:00Z"));
    assert!(d[1].to_string().contains(
        "exception \"MFA rollout pending for vendor VPN\" expired at 2021-03-01T11:00:00Z"
    ));
    assert!(p.check_at(TS).is_empty());
}

#[test]
fn maintenance_windows() {
    let p = load(&with(
        r#"[[maintenance_window]]
name = "plc-patching"
zone = "control"
weekly = "Sat 02:00-06:00"

[[maintenance_window]]
name = "hmi-replacement"
device = "10.10.2.20"
start = "2021-02-05T12:00:00Z"
end = 2021-02-05T14:00:00Z
"#,
    ));
    let w = p.maintenance_windows();
    assert_eq!(w.len(), 2);
    assert_eq!(w[0].scope, WindowScope::Zone("control".into()));
    assert!(matches!(w[1].schedule, Schedule::Once { .. }));
    // TS is Friday 2021-02-05 13:30Z.
    assert_eq!(
        p.maintenance_window_at(ip("10.10.2.20"), TS)
            .map(|w| &*w.name),
        Some("hmi-replacement")
    );
    assert!(p.maintenance_window_at(ip("10.10.2.21"), TS).is_none());
    assert!(p.maintenance_window_at(ip("10.10.1.10"), TS).is_none());
    // Saturday 03:00Z = TS + 13.5 h.
    let sat3 = TS + 13 * 3600 * 1_000_000_000 + 1_800_000_000_000;
    assert_eq!(
        p.maintenance_window_at(ip("10.10.1.10"), sat3)
            .map(|w| &*w.name),
        Some("plc-patching")
    );
    assert!(p.maintenance_window_at(ip("10.10.2.20"), sat3).is_none());
    // Weekly slots follow [site] utc_offset.
    let shifted = load(&with(
        "[[maintenance_window]]\nname = \"w\"\nzone = \"control\"\nweekly = \"Sat 02:00-06:00\"\n",
    )
    .replace(
        "name = \"Riverside Water Treatment\"",
        "name = \"Riverside Water Treatment\"\nutc_offset = \"-05:00\"",
    ));
    assert!(
        shifted
            .maintenance_window_at(ip("10.10.1.10"), sat3)
            .is_none(),
        "22:00 local"
    );
    let sat8 = sat3 + 5 * 3600 * 1_000_000_000;
    assert!(
        shifted
            .maintenance_window_at(ip("10.10.1.10"), sat8)
            .is_some(),
        "03:00 local"
    );
}
