//! ArcSight Common Event Format (CEF:0) for alert events.
//!
//! `CEF:0|Sluice|Sluice|VERSION|RULE_ID|RULE_NAME|SEVERITY|EXTENSIONS` with the header
//! severity on CEF's 0-10 scale (the alert's 1-100 divided by ten, rounded up) and the
//! extensions `rt` (ms since the epoch), `src`, `spt`, `dst`, `dpt`, `proto`, `app`,
//! `externalId` (alert id), `cnt`, `msg` (explanation), `cat` (ATT&CK tactic) and custom
//! strings for the technique, the chain id, the controls, the asset ids and the
//! Sluice severity.

use std::fmt::Write as _;

use sluice_engine::event::{Body, Event};

/// The product version in the header.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// Escapes a header field: `\` and `|`; line breaks become spaces.
pub fn escape_header(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' => o.push_str("\\\\"),
            '|' => o.push_str("\\|"),
            '\r' | '\n' => o.push(' '),
            c => o.push(c),
        }
    }
    o
}

/// Escapes an extension value: `\`, `=` and line breaks.
pub fn escape_value(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' => o.push_str("\\\\"),
            '=' => o.push_str("\\="),
            '\n' => o.push_str("\\n"),
            '\r' => o.push_str("\\r"),
            c => o.push(c),
        }
    }
    o
}

/// CEF severity (0-10) of a Sluice severity (1-100).
pub fn cef_severity(s: u8) -> u8 {
    s.div_ceil(10).min(10)
}

/// RFC 5424 severity (0 emergency .. 7 debug) of an alert event.
pub fn syslog_severity(e: &Event) -> u8 {
    match &e.body {
        Body::Alert(a) => match a.severity {
            90..=u8::MAX => 2,
            70..=89 => 3,
            40..=69 => 4,
            _ => 5,
        },
        _ => 6,
    }
}

/// The CEF line of an alert event (`None` for other events).
pub fn format(e: &Event) -> Option<String> {
    let Body::Alert(a) = &e.body else {
        return None;
    };
    let mut s = String::with_capacity(512);
    let _ = write!(
        s,
        "CEF:0|Sluice|Sluice|{}|{}|{}|{}|",
        escape_header(VERSION),
        escape_header(&a.rule_id),
        escape_header(&a.rule_name),
        cef_severity(a.severity)
    );
    let mut ext: Vec<(&str, String)> = vec![("rt", (e.ts.div_euclid(1_000_000)).to_string())];
    if let Some(src) = e.src {
        ext.push(("src", src.ip.to_string()));
        ext.push(("spt", src.port.to_string()));
    }
    if let Some(dst) = e.dst {
        ext.push(("dst", dst.ip.to_string()));
        ext.push(("dpt", dst.port.to_string()));
    }
    if let Some(t) = e.transport {
        ext.push(("proto", t.to_ascii_uppercase()));
    }
    if let Some(p) = e.protocol {
        ext.push(("app", p.to_string()));
    }
    ext.push(("externalId", a.id.clone()));
    ext.push(("cnt", a.count.to_string()));
    if let Some(t) = &a.tactic {
        ext.push(("cat", t.clone()));
    }
    if let Some(t) = &a.technique_id {
        ext.push(("cs1Label", "mitreTechnique".into()));
        let name = a
            .technique_name
            .as_deref()
            .map(|n| format!(" {n}"))
            .unwrap_or_default();
        ext.push(("cs1", format!("{t}{name}")));
    }
    if let Some(c) = &a.chain_id {
        ext.push(("cs2Label", "chainId".into()));
        ext.push(("cs2", c.clone()));
    }
    if !a.controls.is_empty() {
        ext.push(("cs3Label", "controls".into()));
        ext.push(("cs3", a.controls.join(",")));
    }
    if !a.asset_ids.is_empty() {
        ext.push(("cs4Label", "assetIds".into()));
        ext.push(("cs4", a.asset_ids.join(",")));
    }
    ext.push(("cn1Label", "sluiceSeverity".into()));
    ext.push(("cn1", a.severity.to_string()));
    ext.push(("msg", a.explanation.clone()));
    for (i, (k, v)) in ext.iter().enumerate() {
        if i > 0 {
            s.push(' ');
        }
        s.push_str(k);
        s.push('=');
        s.push_str(&escape_value(v));
    }
    Some(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping() {
        assert_eq!(escape_header("a|b\\c\nd"), "a\\|b\\\\c d");
        assert_eq!(escape_value("x=1\\2\n"), "x\\=1\\\\2\\n");
        assert_eq!(cef_severity(95), 10);
        assert_eq!(cef_severity(1), 1);
        assert_eq!(cef_severity(50), 5);
    }
}
