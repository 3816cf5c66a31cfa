//! The assessment's result model: what `--format json` writes and the store keeps.
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The outcome of a check, an answer or a control.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    /// Met.
    Satisfied,
    /// Partly met.
    Partial,
    /// Not met.
    NotSatisfied,
    /// Does not apply here.
    NotApplicable,
    /// No evidence and no answer.
    NotAssessed,
}

impl Status {
    /// `satisfied`, `partial`, ...
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Satisfied => "satisfied",
            Status::Partial => "partial",
            Status::NotSatisfied => "not-satisfied",
            Status::NotApplicable => "not-applicable",
            Status::NotAssessed => "not-assessed",
        }
    }

    /// Whether evidence or an answer decided it (satisfied, partial or not satisfied).
    pub fn assessed(self) -> bool {
        matches!(
            self,
            Status::Satisfied | Status::Partial | Status::NotSatisfied
        )
    }

    /// Combines the outcomes of several sources: any failure fails, then any partial, then
    /// any success; not-applicable only when every source says so.
    pub fn combine(items: impl IntoIterator<Item = Status>) -> Status {
        let mut seen = [false; 5];
        let mut any = false;
        for s in items {
            any = true;
            seen[s as usize] = true;
        }
        if !any {
            return Status::NotAssessed;
        }
        if seen[Status::NotSatisfied as usize] {
            Status::NotSatisfied
        } else if seen[Status::Partial as usize] {
            Status::Partial
        } else if seen[Status::Satisfied as usize] {
            Status::Satisfied
        } else if seen[Status::NotAssessed as usize] {
            Status::NotAssessed
        } else {
            Status::NotApplicable
        }
    }
}

impl std::fmt::Display for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One piece of evidence: an alert, a flow aggregate, an asset, a zone, a query row or an
/// answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct Item {
    /// `alert`, `flow`, `ics_write`, `asset`, `zone`, `row`, `answer`, `policy`.
    pub kind: String,
    /// Alert id, flow id, asset id...
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// First occurrence (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ts: Option<String>,
    /// Client / source address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub src: Option<String>,
    /// Server / destination address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dst: Option<String>,
    /// Protocol.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protocol: Option<String>,
    /// Detection rule id of an alert.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rule: Option<String>,
    /// The zone it counts against.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub zone: Option<String>,
    /// How many occurrences it stands for.
    pub count: u64,
    /// Only enough for a partial result on its own.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub soft: bool,
    /// One line for a reader.
    pub detail: String,
}

/// Who answers or fixes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Chief information security officer / compliance lead.
    Ciso,
    /// OT / controls engineer.
    OtEngineer,
    /// IT / network / security operations.
    It,
}

impl Role {
    /// Every role in questionnaire order.
    pub const ALL: [Role; 3] = [Role::Ciso, Role::OtEngineer, Role::It];

    /// The table name in the answers file.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Ciso => "ciso",
            Role::OtEngineer => "ot_engineer",
            Role::It => "it",
        }
    }

    /// A heading.
    pub fn title(self) -> &'static str {
        match self {
            Role::Ciso => "CISO / compliance lead",
            Role::OtEngineer => "OT / controls engineer",
            Role::It => "IT / network and security operations",
        }
    }

    /// The role of a table name.
    pub fn from_name(s: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == s)
    }
}

/// The result of one evidence rule or one answered question.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CheckResult {
    /// Rule or question id.
    pub id: String,
    /// `evidence` (observed) or `answer` (questionnaire).
    pub source: String,
    /// Title.
    pub title: String,
    /// Outcome.
    pub status: Status,
    /// One sentence: why.
    pub summary: String,
    /// Control keys it supports.
    pub controls: Vec<String>,
    /// Occurrences found (sum of item counts).
    pub count: u64,
    /// Examples (at most a few), first occurrences first.
    pub items: Vec<Item>,
    /// Every alert id cited (capped).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub alert_ids: Vec<String>,
    /// Outcome per zone (evidence scoped to zones; answers apply to every zone).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub zones: BTreeMap<String, Status>,
    /// Risk reduction when fixed (1-5).
    pub risk: u8,
    /// Effort to fix (1-5).
    pub effort: u8,
    /// Who fixes it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<Role>,
    /// What to do.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub remediation: String,
    /// Checks to fix first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub depends: Vec<String>,
}

/// How a control's status was decided.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ControlResult {
    /// `PREFIX:ID`.
    pub key: String,
    /// Framework id.
    pub framework: String,
    /// Id in the framework.
    pub id: String,
    /// Short title (where allowed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// Top-level group (function, FR, CIS control, family).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    /// Security / maturity level.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub level: Option<u8>,
    /// OSCAL token.
    pub oscal_id: String,
    /// Outcome.
    pub status: Status,
    /// Checks (rule / question ids) that decided it directly.
    pub basis: Vec<String>,
    /// When no check cites it: the mapped controls whose outcome it takes.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub derived_from: Vec<String>,
    /// Outcome per zone (IEC 62443).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub zones: BTreeMap<String, Status>,
}

/// Counts per framework.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct Coverage {
    /// Framework id.
    pub framework: String,
    /// Display name.
    pub name: String,
    /// Assessable controls.
    pub total: usize,
    /// Decided by evidence or answers.
    pub assessed: usize,
    /// Satisfied.
    pub satisfied: usize,
    /// Partial.
    pub partial: usize,
    /// Not satisfied.
    pub not_satisfied: usize,
    /// satisfied (+ half of partial) / total, percent.
    pub score: f64,
}

/// IEC 62443: one foundational requirement in one zone.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FrScore {
    /// `FR 1` ...
    pub fr: String,
    /// Short heading.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// Achieved: highest SL whose requirements (and all below) are all satisfied;
    /// unassessed requirements count as unmet.
    pub sl_achieved: u8,
    /// The best SL the failures allow (unassessed requirements ignored).
    pub sl_possible: u8,
    /// Requirements assessed / total.
    pub assessed: usize,
    /// Requirements in the FR.
    pub total: usize,
    /// Requirements failing here.
    pub failing: Vec<String>,
}

/// IEC 62443: one zone.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ZoneScore {
    /// Zone name.
    pub zone: String,
    /// Purdue level.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub level: Option<f64>,
    /// Target SL from the policy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sl_target: Option<u8>,
    /// Per FR.
    pub frs: Vec<FrScore>,
    /// The lowest achieved SL over the FRs.
    pub sl_achieved: u8,
    /// FRs below target.
    pub below_target: Vec<String>,
}

/// CSF: one function.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FunctionScore {
    /// `GV`, `ID`, ...
    pub function: String,
    /// Title.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// Active subcategories.
    pub outcomes: usize,
    /// Assessed.
    pub assessed: usize,
    /// Met.
    pub met: usize,
    /// Partly met.
    pub partial: usize,
    /// Not met.
    pub not_met: usize,
    /// (met + partial / 2) / outcomes, percent.
    pub score: f64,
    /// Tier 1-4 (Partial, Risk Informed, Repeatable, Adaptive) from the thresholds.
    pub tier: u8,
    /// Tier name.
    pub tier_name: String,
    /// Outcomes met.
    pub met_ids: Vec<String>,
}

/// CIS: one implementation group.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IgScore {
    /// 1, 2 or 3.
    pub ig: u8,
    /// Safeguards in the group (cumulative).
    pub total: usize,
    /// Assessed.
    pub assessed: usize,
    /// Satisfied.
    pub satisfied: usize,
    /// satisfied / total, percent.
    pub coverage: f64,
}

/// CIS scores.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CisScore {
    /// Safeguards in the catalogue.
    pub safeguards: usize,
    /// Cited by a check and assessed.
    pub assessed: usize,
    /// Satisfied.
    pub satisfied: usize,
    /// Per IG, when membership was supplied.
    pub groups: Vec<IgScore>,
    /// How to read it.
    pub note: String,
}

/// All scores.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct Scores {
    /// Per framework.
    pub coverage: Vec<Coverage>,
    /// IEC 62443 per zone.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub iec62443: Vec<ZoneScore>,
    /// CSF per function.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub csf: Vec<FunctionScore>,
    /// CIS.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cis: Option<CisScore>,
}

/// A control not (fully) met, with its evidence.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Gap {
    /// Control key.
    pub control: String,
    /// Title.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// Partial or not satisfied.
    pub status: Status,
    /// The failing checks.
    pub checks: Vec<String>,
    /// Their summaries.
    pub evidence: Vec<String>,
}

/// One step of the roadmap: a failing check to fix.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RoadmapItem {
    /// Check id.
    pub check: String,
    /// Title.
    pub title: String,
    /// Its status.
    pub status: Status,
    /// Risk (1-5).
    pub risk: u8,
    /// Effort (1-5).
    pub effort: u8,
    /// Risk reduction per effort (weights from the scoring data).
    pub priority: f64,
    /// Phase name.
    pub phase: String,
    /// Checks it waits for.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub after: Vec<String>,
    /// Controls it closes.
    pub controls: Vec<String>,
    /// Who.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<Role>,
    /// What to do.
    pub remediation: String,
}

/// A phase of the roadmap.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Phase {
    /// Name (`Quick wins`, ...).
    pub name: String,
    /// Steps, highest priority first.
    pub items: Vec<RoadmapItem>,
}

/// What the store held.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct Observed {
    /// Flows.
    pub flows: u64,
    /// Transactions and anomalies.
    pub events: u64,
    /// Alerts.
    pub alerts: u64,
    /// Assets.
    pub assets: u64,
    /// Runs.
    pub runs: u64,
    /// First capture time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first: Option<String>,
    /// Last capture time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last: Option<String>,
}

/// A complete assessment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Assessment {
    /// `sluice.assessment/1`.
    pub schema: String,
    /// Stable id (UUID form).
    pub uuid: String,
    /// Store id once saved.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<i64>,
    /// When made (RFC 3339).
    pub created: String,
    /// Site name from the policy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub site: Option<String>,
    /// Frameworks assessed.
    pub frameworks: Vec<String>,
    /// Inputs: store, policy, answers, catalogue folder.
    pub inputs: BTreeMap<String, String>,
    /// What the store held.
    pub observed: Observed,
    /// Every check's result.
    pub checks: Vec<CheckResult>,
    /// Every assessable control of the chosen frameworks.
    pub controls: Vec<ControlResult>,
    /// Scores.
    pub scores: Scores,
    /// Controls not met.
    pub gaps: Vec<Gap>,
    /// The roadmap.
    pub roadmap: Vec<Phase>,
    /// Caveats (unverified data, missing catalogues...).
    pub notes: Vec<String>,
}

impl Assessment {
    /// The result of a control by key.
    pub fn control(&self, key: &str) -> Option<&ControlResult> {
        self.controls.iter().find(|c| c.key == key)
    }

    /// The result of a check by id.
    pub fn check(&self, id: &str) -> Option<&CheckResult> {
        self.checks.iter().find(|c| c.id == id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn combine() {
        use Status::*;
        assert_eq!(Status::combine([Satisfied, NotSatisfied]), NotSatisfied);
        assert_eq!(Status::combine([Satisfied, Partial]), Partial);
        assert_eq!(Status::combine([NotAssessed, Satisfied]), Satisfied);
        assert_eq!(
            Status::combine([NotApplicable, NotApplicable]),
            NotApplicable
        );
        assert_eq!(Status::combine([NotApplicable, NotAssessed]), NotAssessed);
        assert_eq!(Status::combine([]), NotAssessed);
    }
}
