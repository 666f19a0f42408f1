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
)

// SearchAttributes returns the search attributes to register.
func SearchAttributes() map[string]enumspb.IndexedValueType {
	return map[string]enumspb.IndexedValueType{
		SearchAttrPipelineName: enumspb.INDEXED_VALUE_TYPE_KEYWORD,
		SearchAttrSpecHashName: enumspb.INDEXED_VALUE_TYPE_KEYWORD,
	}
}

// RunSearchAttributes returns the attributes of a run of pipeline with the
// given spec hash.
func RunSearchAttributes(pipeline, specHash string) temporal.SearchAttributes {
	return temporal.NewSearchAttributes(
		temporal.NewSearchAttributeKeyKeyword(SearchAttrPipelineName).ValueSet(pipeline),
		temporal.NewSearchAttributeKeyKeyword(SearchAttrSpecHashName).ValueSet(specHash),
	)
}
