# The AIAnalysis approval policy: decides whether the workflow HolmesGPT-API selected may run
# on its own (Approved), needs a human (ManualReviewRequired), or must not run (Denied).
#
# Input: {environment, confidence, action_type, workflow_id, severity, business_priority}.
# Output (data.aianalysis.approval): decision, and matched_rules (the reasons, sorted).
package aianalysis.approval

import rego.v1

# Actions too destructive to run automatically anywhere.
destructive_actions := {"DeleteNamespace", "DeleteCluster", "DrainNode"}

# Below this confidence no workflow runs, reviewed or not.
min_confidence := 0.5

# Below this confidence a production workflow needs a human.
production_review_confidence := 0.8

deny_rules contains "DestructiveAction" if input.action_type in destructive_actions

deny_rules contains "ConfidenceTooLow" if input.confidence < min_confidence

review_rules contains "ProductionLowConfidence" if {
	input.environment == "Production"
	input.confidence < production_review_confidence
}

review_rules contains "ProductionCriticalP0" if {
	input.environment == "Production"
	input.business_priority == "P0"
}

default decision := "Approved"

decision := "Denied" if count(deny_rules) > 0

decision := "ManualReviewRequired" if {
	count(deny_rules) == 0
	count(review_rules) > 0
}

matched_rules := sort(array.concat([r | some r in deny_rules], [r | some r in review_rules]))
