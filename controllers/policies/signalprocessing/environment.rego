# Classifies the environment of a signal's target.
#
# Input: {"namespace": {"name", "labels"}, "signal": {"name", "severity", "labels", ...},
#         "target": {"kind", "name"}}.
# Output: data.signalprocessing.environment.result = {"environment", "source"}, where
# environment is Production|Staging|Development|Test|Unknown and source names the rule that
# decided. The first rule that matches wins: the namespace label kubernaut.ai/environment,
# then the signal's own `environment` label, then a word of the namespace name
# (e.g. `payments-prod`); Unknown when none does.
package signalprocessing.environment

aliases := {
	"production": "Production",
	"prod": "Production",
	"prd": "Production",
	"staging": "Staging",
	"stage": "Staging",
	"stg": "Staging",
	"development": "Development",
	"dev": "Development",
	"test": "Test",
	"testing": "Test",
	"qa": "Test",
}

namespace_label := lower(input.namespace.labels["kubernaut.ai/environment"])

signal_label := lower(input.signal.labels.environment)

# Dash-separated words of the namespace name that name an environment, in order.
name_words := [w |
	some w in split(lower(input.namespace.name), "-")
	aliases[w]
]

default result := {"environment": "Unknown", "source": "default"}

result := {"environment": aliases[namespace_label], "source": "namespace-label"} if {
	aliases[namespace_label]
} else := {"environment": aliases[signal_label], "source": "signal-label"} if {
	aliases[signal_label]
} else := {"environment": aliases[name_words[0]], "source": "namespace-name"} if {
	count(name_words) > 0
}
