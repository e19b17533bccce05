//! The HolmesGPT-API mock's scenarios the suite's requests choose, by signal name and
//! environment label.

/// The HolmesGPT-API mock's scenarios the suite uses, by the signal name that selects them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scenario {
    /// A workflow with confidence 0.9: approved by policy.
    Workflow,
    /// A workflow with confidence 0.6: in Production, the policy asks for a human.
    LowConfidence,
    /// No workflow needed.
    NoWorkflow,
    /// HolmesGPT-API refuses the request (400): the analysis fails.
    Rejected,
    /// The investigation never finishes.
    NeverFinishes,
}

impl Scenario {
    /// The environment the signal is labelled with: Production where the approval policy
    /// must ask a human (a critical Production signal is P0, and P0 in Production is always
    /// reviewed), Staging everywhere else, so policy-approved workflows run on their own.
    pub fn environment(self) -> &'static str {
        match self {
            Scenario::LowConfidence => "production",
            _ => "staging",
        }
    }

    pub fn signal_name(self) -> &'static str {
        match self {
            Scenario::Workflow => "HighMemoryUsage",
            Scenario::LowConfidence => "mock-low-confidence",
            Scenario::NoWorkflow => "mock-no-workflow",
            Scenario::Rejected => "mock-rejected",
            Scenario::NeverFinishes => "mock-never-finishes",
        }
    }
}
