package workflows

import (
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/temporal"
)

// Search attributes every run carries, so runs can be listed by pipeline
// and by the spec version they ran. A cluster must have them registered
// (`pipectl dev` does; see the README for a real cluster).
const (
	SearchAttrPipelineName = "PipectlPipeline"
	SearchAttrSpecHashName = "PipectlSpecHash"
	// SearchAttrTriggerName says what started a run: apply, schedule,
	// manual (pipectl run) or parent (a pipeline step of another run).
	// Backfills are started by the schedule.
	SearchAttrTriggerName = "PipectlTrigger"
)

// Triggers.
const (
	TriggerApply    = "apply"
	TriggerSchedule = "schedule"
	TriggerManual   = "manual"
	TriggerParent   = "parent"
)

// SearchAttributes returns the search attributes to register.
func SearchAttributes() map[string]enumspb.IndexedValueType {
	return map[string]enumspb.IndexedValueType{
		SearchAttrPipelineName: enumspb.INDEXED_VALUE_TYPE_KEYWORD,
		SearchAttrSpecHashName: enumspb.INDEXED_VALUE_TYPE_KEYWORD,
		SearchAttrTriggerName:  enumspb.INDEXED_VALUE_TYPE_KEYWORD,
	}
}

// RunSearchAttributes returns the attributes of a run of pipeline with the
// given spec hash, started by trigger.
func RunSearchAttributes(pipeline, specHash, trigger string) temporal.SearchAttributes {
	return temporal.NewSearchAttributes(
		temporal.NewSearchAttributeKeyKeyword(SearchAttrPipelineName).ValueSet(pipeline),
		temporal.NewSearchAttributeKeyKeyword(SearchAttrSpecHashName).ValueSet(specHash),
		temporal.NewSearchAttributeKeyKeyword(SearchAttrTriggerName).ValueSet(trigger),
	)
}
