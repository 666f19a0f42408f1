//go:build bench

package main

import (
	"strings"
	"testing"
	"time"
)

// The emulator's benchmarks share one table, a row each, and the summary
// names the slowest and the fastest; other groups keep a table each.
func TestEmulatorBenchmarksShareATable(t *testing.T) {
	const in = `goos: linux
pkg: github.com/pipectl/pipectl/planner
BenchmarkCompile/steps=100-2    501   2086940 ns/op   20869 ns/step   1721076 B/op   19565 allocs/op
ok  	github.com/pipectl/pipectl/planner	3.527s
pkg: github.com/pipectl/pipectl/testenv/emulator
BenchmarkDLISubmitAndPoll-2                  	   15272	     81276 ns/op	     61519 req/s	   42368 B/op	     497 allocs/op
BenchmarkCDMCreateStartAndPoll-2             	   10000	    111632 ns/op	     53748 req/s	   56045 B/op	     677 allocs/op
BenchmarkLakeFormationCreateStartAndPoll-2   	   10000	    279195 ns/op	     21490 req/s	   69014 B/op	     715 allocs/op
ok  	github.com/pipectl/pipectl/testenv/emulator	9.458s
`
	out, err := parse(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	if len(out.results) != 4 || len(out.failed) != 0 {
		t.Fatalf("parsed %d results, %d failures; want 4 and 0", len(out.results), len(out.failed))
	}
	md := render(out, time.Date(2026, 1, 2, 3, 4, 0, 0, time.UTC))
	for _, want := range []string{
		"### BenchmarkCompile\n",
		"### Emulator throughput\n",
		"| DLISubmitAndPoll | 81.28µs | 61519 |",
		"| CDMCreateStartAndPoll | 111.63µs | 53748 |",
		"| LakeFormationCreateStartAndPoll | 279.2µs | 21490 |",
		"- Emulator: 21490 req/s (LakeFormationCreateStartAndPoll) to 61519 req/s (DLISubmitAndPoll)",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("report lacks %q:\n%s", want, md)
		}
	}
	if strings.Contains(md, "### BenchmarkDLISubmitAndPoll") {
		t.Errorf("an emulator benchmark got a table of its own:\n%s", md)
	}
	if i, j := strings.Index(md, "### BenchmarkCompile"), strings.Index(md, "### Emulator throughput"); i > j {
		t.Errorf("the emulator's table comes before the planner's")
	}
}
