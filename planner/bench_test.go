package planner

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"

	"github.com/pipectl/pipectl/spec"
)

// benchLayerWidth is how many steps each layer of a generated spec has.
const benchLayerWidth = 10

// layeredSpec generates a spec of n dli.sql steps in layers of
// benchLayerWidth, each step after the first layer depending on 1–3 steps
// of the layer before. Every third step reads a parameter and every fifth
// reads an output of one of its dependencies, so templates are parsed,
// checked and evaluated as in real specs. The same n always gives the same
// spec.
func layeredSpec(n int) []byte {
	rng := rand.New(rand.NewPCG(uint64(n), 42))
	var b strings.Builder
	b.Grow(n * 220)
	b.WriteString("name: generated\n")
	b.WriteString("params:\n  limit: 100\n  region: {type: string, default: eu, description: sales region}\n")
	b.WriteString("defaults:\n  retry: {max_attempts: 2, initial_interval: 1s}\n  timeout: 1h\n")
	b.WriteString("steps:\n")
	for i := range n {
		layer, prev := i/benchLayerWidth, (i/benchLayerWidth-1)*benchLayerWidth
		fmt.Fprintf(&b, "  - id: s%05d\n    kind: dli.sql\n", i)
		var deps []int
		if layer > 0 {
			width := min(benchLayerWidth, n-prev)
			for _, j := range rng.Perm(width)[:1+rng.IntN(3)] {
				deps = append(deps, prev+j)
			}
			b.WriteString("    depends_on: [")
			for k, d := range deps {
				if k > 0 {
					b.WriteString(", ")
				}
				fmt.Fprintf(&b, "s%05d", d)
			}
			b.WriteString("]\n")
		}
		b.WriteString("    with:\n      queue: etl\n      sql: |\n")
		fmt.Fprintf(&b, "        INSERT OVERWRITE TABLE mart.t%05d\n        SELECT * FROM staging.t%05d\n", i, i)
		if i%3 == 0 {
			b.WriteString("        WHERE region = '${params.region}' LIMIT ${params.limit}\n")
		}
		if i%5 == 0 && len(deps) > 0 {
			fmt.Fprintf(&b, "        -- after job ${steps.s%05d.outputs.job_id}\n", deps[0])
		}
	}
	return []byte(b.String())
}

func TestLayeredSpec(t *testing.T) {
	src := layeredSpec(100)
	if string(layeredSpec(100)) != string(src) {
		t.Fatal("layeredSpec(100) differs between calls")
	}
	p, diags := spec.Load("gen.yaml", src)
	if len(diags) != 0 {
		t.Fatalf("generated spec does not load: %v", diags)
	}
	plan, diags := Compile(p)
	if len(diags) != 0 {
		t.Fatalf("generated spec does not compile:\n%s", formatDiags(diagList(diags)))
	}
	if len(plan.Steps) != 100 {
		t.Fatalf("%d steps, want 100", len(plan.Steps))
	}
	waves := plan.Waves()
	if len(waves) != 10 {
		t.Fatalf("%d waves, want 10 (one per layer)", len(waves))
	}
	for w, wave := range waves {
		if len(wave) != benchLayerWidth {
			t.Errorf("wave %d has %d steps, want %d", w, len(wave), benchLayerWidth)
		}
		for _, id := range wave {
			var i int
			if _, err := fmt.Sscanf(id, "s%05d", &i); err != nil || i/benchLayerWidth != w {
				t.Errorf("step %s is in wave %d, want layer %d", id, w, i/benchLayerWidth)
			}
		}
	}
	templated := 0
	for _, s := range plan.Steps {
		if s.Templates != nil {
			templated++
		}
		if s.ID < "s00010" { // the first layer
			if len(s.DependsOn) != 0 {
				t.Errorf("%s depends on %v, want nothing", s.ID, s.DependsOn)
			}
			continue
		}
		if n := len(s.DependsOn); n < 1 || n > 3 {
			t.Errorf("%s has %d dependencies, want 1–3", s.ID, n)
		}
	}
	// i%3 == 0 (34 steps) or i%5 == 0 past the first layer (18), both (6).
	if templated != 46 {
		t.Errorf("%d steps have templates, want 46", templated)
	}
}

// BenchmarkCompile measures spec.Load and Compile together on generated
// layered specs.
func BenchmarkCompile(b *testing.B) {
	for _, n := range []int{100, 1000, 10000} {
		src := layeredSpec(n)
		b.Run(fmt.Sprintf("steps=%d", n), func(b *testing.B) {
			p, diags := spec.Load("gen.yaml", src)
			if len(diags) != 0 {
				b.Fatalf("generated spec does not load: %v", diags)
			}
			if plan, diags := Compile(p); len(diags) != 0 || len(plan.Steps) != n {
				b.Fatalf("generated spec does not compile: %v", diags)
			}
			b.SetBytes(int64(len(src)))
			b.ReportAllocs()
			iters := 0
			for b.Loop() {
				p, _ := spec.Load("gen.yaml", src)
				if _, diags := Compile(p); diags.HasErrors() {
					b.Fatal(diags)
				}
				iters++
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(iters)/float64(n), "ns/step")
		})
	}
}

// cycleSpec is layeredSpec(n) with its first two steps depending on each
// other, so that the steps after them cannot be ordered either.
func cycleSpec(n int) []byte {
	src := string(layeredSpec(n))
	for _, r := range [][2]string{{"s00000", "s00001"}, {"s00001", "s00000"}} {
		step := "  - id: " + r[0] + "\n    kind: dli.sql\n"
		src = strings.Replace(src, step, step+"    depends_on: ["+r[1]+"]\n", 1)
	}
	return []byte(src)
}

// BenchmarkCompileCycle measures spec.Load and Compile of generated
// layered specs with a cycle that every other step comes after: finding
// and reporting it must cost about as much as ordering a valid spec.
func BenchmarkCompileCycle(b *testing.B) {
	for _, n := range []int{100, 1000, 10000} {
		src := cycleSpec(n)
		b.Run(fmt.Sprintf("steps=%d", n), func(b *testing.B) {
			p, diags := spec.Load("gen.yaml", src)
			if len(diags) != 0 {
				b.Fatalf("generated spec does not load: %v", diags)
			}
			want := []wantDiag{{"20:18-20:24", "Dependency cycle",
				"Steps depend on each other in a loop: s00001 -> s00000 -> s00001. Remove one of these dependencies."}}
			if _, diags := Compile(p); !reflect.DeepEqual(diagList(diags), want) {
				b.Fatalf("diagnostics:\n%s\nwant:\n%s", formatDiags(diagList(diags)), formatDiags(want))
			}
			b.ReportAllocs()
			iters := 0
			for b.Loop() {
				p, _ := spec.Load("gen.yaml", src)
				if _, diags := Compile(p); len(diags) != 1 {
					b.Fatal(diags)
				}
				iters++
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(iters)/float64(n), "ns/step")
		})
	}
}
