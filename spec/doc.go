// Package spec loads pipeline specs: YAML documents that declare the steps of
// a data pipeline, their kinds, inputs and dependencies.
//
// Load walks yaml.v3 nodes itself rather than decoding into maps, so every
// value keeps its file:line:column and every problem is reported as an
// hcl.Diagnostic pointing at it. Load returns all problems at once, with the
// part of the pipeline that was valid; the planner compiles the result.
package spec
