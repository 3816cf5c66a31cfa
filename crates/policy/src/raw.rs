//! The policy file as written: serde structures with spans, before resolution.

use std::fmt;

use serde::de::{self, Deserializer, SeqAccess, Visitor};
use serde::Deserialize;
use toml::Spanned;

pub(crate) type S<T> = Spanned<T>;

#[derive(Debug, Deserialize)]
pub(crate) struct RawPolicy {
    #[serde(default)]
    pub site: Option<RawSite>,
    #[serde(default)]
    pub zone: Vec<RawZone>,
    #[serde(default)]
    pub conduit: Vec<RawConduit>,
    #[serde(default)]
    pub envelope: Vec<RawEnvelope>,
    #[serde(default)]
    pub maintenance_window: Vec<RawWindow>,
    #[serde(default)]
    pub exception: Vec<RawException>,
    // Other top-level tables belong to other parts of Sluice (gate, outputs, ...).
}

/// `[site]` may carry keys of other Sluice components: unknown keys are ignored here.
#[derive(Debug, Deserialize)]
#[serde(expecting = "a [site] table")]
pub(crate) struct RawSite {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub gates: Vec<S<String>>,
    #[serde(default)]
    pub utc_offset: Option<S<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a [[zone]] table")]
pub(crate) struct RawZone {
    pub name: S<String>,
    pub level: S<f64>,
    #[serde(default)]
    pub cidrs: Vec<S<String>>,
    #[serde(default)]
    pub security_level_target: Option<S<i64>>,
    #[serde(default)]
    pub description: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a [[conduit]] table")]
pub(crate) struct RawConduit {
    pub name: S<String>,
    pub from: S<String>,
    pub to: S<OneOrMany>,
    pub protocols: S<Vec<S<String>>>,
    #[serde(default)]
    pub access: Option<S<String>>,
    #[serde(default)]
    pub clients: Option<Vec<S<String>>>,
    #[serde(default)]
    pub servers: Option<Vec<S<String>>>,
    #[serde(default)]
    pub requires_mfa: bool,
    #[serde(default)]
    pub jump_hosts: Vec<S<String>>,
    #[serde(default)]
    pub writers: Vec<RawWriter>,
    #[serde(default)]
    pub description: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "a writer table like { clients = [...], registers = \"0-19\" }"
)]
pub(crate) struct RawWriter {
    pub clients: Vec<S<String>>,
    #[serde(default)]
    pub registers: Option<S<toml::Value>>,
    #[serde(default)]
    pub unit: Option<u8>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, expecting = "an [[envelope]] table")]
pub(crate) struct RawEnvelope {
    #[serde(default)]
    pub name: Option<String>,
    pub device: S<String>,
    #[serde(default)]
    pub unit: Option<u8>,
    pub register: S<toml::Value>,
    pub min: S<f64>,
    pub max: S<f64>,
    #[serde(default)]
    pub max_step: Option<S<f64>>,
    #[serde(default)]
    pub description: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a [[maintenance_window]] table")]
pub(crate) struct RawWindow {
    pub name: S<String>,
    #[serde(default)]
    pub zone: Option<S<String>>,
    #[serde(default)]
    pub device: Option<S<String>>,
    #[serde(default)]
    pub start: Option<S<toml::Value>>,
    #[serde(default)]
    pub end: Option<S<toml::Value>>,
    #[serde(default)]
    pub weekly: Option<S<OneOrMany>>,
    #[serde(default)]
    pub description: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, expecting = "an [[exception]] table")]
pub(crate) struct RawException {
    #[serde(default)]
    pub name: Option<S<String>>,
    pub what: S<RawMatch>,
    pub reason: S<String>,
    #[serde(default)]
    pub expires: Option<S<toml::Value>>,
    #[serde(default)]
    pub violations: Option<Vec<S<String>>>,
}

#[derive(Debug, Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "a table like { from = \"zone\", to = \"zone\", protocols = [...] }"
)]
pub(crate) struct RawMatch {
    #[serde(default)]
    pub from: Option<S<String>>,
    #[serde(default)]
    pub to: Option<S<OneOrMany>>,
    #[serde(default)]
    pub protocols: Option<Vec<S<String>>>,
    #[serde(default)]
    pub clients: Option<Vec<S<String>>>,
    #[serde(default)]
    pub servers: Option<Vec<S<String>>>,
    #[serde(default)]
    pub access: Option<S<String>>,
}

/// A string or a list of strings (`to = "control"` or `to = ["a", "b"]`).
#[derive(Debug)]
pub(crate) enum OneOrMany {
    One(String),
    Many(Vec<S<String>>),
}

impl<'de> Deserialize<'de> for OneOrMany {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = OneOrMany;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string or a list of strings")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<OneOrMany, E> {
                Ok(OneOrMany::One(v.to_string()))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<OneOrMany, E> {
                Ok(OneOrMany::One(v))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<OneOrMany, A::Error> {
                let mut out = Vec::new();
                while let Some(item) = seq.next_element::<S<String>>()? {
                    out.push(item);
                }
                Ok(OneOrMany::Many(out))
            }
        }
        d.deserialize_any(V)
    }
}

impl OneOrMany {
    /// The items with their spans (a single string takes the span of the whole value).
    pub(crate) fn items(
        &self,
        whole: std::ops::Range<usize>,
    ) -> Vec<(&str, std::ops::Range<usize>)> {
        match self {
            OneOrMany::One(s) => vec![(s.as_str(), whole)],
            OneOrMany::Many(v) => v.iter().map(|s| (s.get_ref().as_str(), s.span())).collect(),
        }
    }
}
