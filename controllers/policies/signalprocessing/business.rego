# Categorizes a signal's target for the business: which unit owns it and how critical it is.
#
# Input: {"namespace": {"name", "labels"}, "workload": {"kind", "name", "labels"} or null,
#         "signal": {...}, "environment": "...", "priority": "P0"|...}.
# Output: data.signalprocessing.business.result = {"businessUnit", "criticality", "source"};
# businessUnit is "" when no label names one. Criticality comes from the label
# kubernaut.ai/criticality on the workload, then on the namespace, else from the priority.
package signalprocessing.business

criticalities := {"critical", "high", "medium", "low"}

by_priority := {"P0": "critical", "P1": "high", "P2": "medium", "P3": "low"}

unit_label := "kubernaut.ai/business-unit"

criticality_label := "kubernaut.ai/criticality"

default business_unit := ""

business_unit := input.workload.labels[unit_label] if {
	input.workload.labels[unit_label]
} else := input.namespace.labels[unit_label] if {
	input.namespace.labels[unit_label]
}

default criticality := {"criticality": "low", "source": "default"}

criticality := {"criticality": c, "source": "workload-label"} if {
	c := lower(input.workload.labels[criticality_label])
	c in criticalities
} else := {"criticality": c, "source": "namespace-label"} if {
	c := lower(input.namespace.labels[criticality_label])
	c in criticalities
} else := {"criticality": by_priority[input.priority], "source": "priority-derived"} if {
	by_priority[input.priority]
}

result := object.union(criticality, {"businessUnit": business_unit})
