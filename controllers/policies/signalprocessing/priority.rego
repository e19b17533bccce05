# Assigns a business priority (P0 most urgent) from the environment and the severity.
#
# Input: {"environment": "Production"|..., "signal": {"severity", "labels", ...},
#         "namespace": {"name", "labels"}}.
# Output: data.signalprocessing.priority.result = {"priority", "source", "policyName"}.
# A namespace label kubernaut.ai/priority (P0-P3) overrides the matrix; a severity the matrix
# does not know gets P3 from the default rule.
package signalprocessing.priority

matrix := {
	"Production": {"critical": "P0", "warning": "P1", "info": "P2"},
	"Staging": {"critical": "P1", "warning": "P2", "info": "P3"},
	"Development": {"critical": "P2", "warning": "P3", "info": "P3"},
	"Test": {"critical": "P2", "warning": "P3", "info": "P3"},
	"Unknown": {"critical": "P1", "warning": "P2", "info": "P3"},
}

priorities := {"P0", "P1", "P2", "P3"}

severity := lower(input.signal.severity)

override := upper(input.namespace.labels["kubernaut.ai/priority"])

default result := {"priority": "P3", "source": "default", "policyName": "unmatched-severity"}

result := {"priority": override, "source": "namespace-label", "policyName": "namespace-override"} if {
	override in priorities
} else := {
	"priority": matrix[input.environment][severity],
	"source": "rego-policy",
	"policyName": sprintf("%s-%s", [lower(input.environment), severity]),
} if {
	matrix[input.environment][severity]
}
