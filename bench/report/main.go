//go:build bench

// Command report turns the output of `make bench` (go test -bench, in the
// standard benchmark format) into BENCHMARKS.md: the machine, the date, a
// summary against the goals, and one table per benchmark group. It fails
// when the output holds a failure or no results, so `make bench` fails
// with it.
//
//	go run -tags bench ./bench/report -in bin/bench.txt -out BENCHMARKS.md
package main

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"
)

// result is one benchmark line.
type result struct {
	pkg     string
	group   string // BenchmarkOverhead
	name    string // chain-200 (the sub-benchmark path; "" for none)
	iters   int
	metrics map[string]float64
	units   []string // in the order printed
}

// output is what the benchmark run printed.
type output struct {
	cpu     string
	results []result
	failed  []string
}

var benchLine = regexp.MustCompile(`^(Benchmark[^\s/]+?)(/\S+?)?(-\d+)?\s+(\d+)\s+(.+)$`)

func parse(r io.Reader) (output, error) {
	var out output
	pkg := ""
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "pkg: "):
			pkg = strings.TrimPrefix(line, "pkg: ")
			continue
		case strings.HasPrefix(line, "cpu: "):
			out.cpu = strings.TrimPrefix(line, "cpu: ")
			continue
		case strings.HasPrefix(line, "FAIL"), strings.HasPrefix(line, "--- FAIL"), strings.HasPrefix(line, "panic:"):
			out.failed = append(out.failed, line)
			continue
		}
		m := benchLine.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		iters, _ := strconv.Atoi(m[4])
		res := result{pkg: pkg, group: m[1], name: strings.TrimPrefix(m[2], "/"), iters: iters, metrics: map[string]float64{}}
		fields := strings.Fields(m[5])
		for i := 0; i+1 < len(fields); i += 2 {
			v, err := strconv.ParseFloat(fields[i], 64)
			if err != nil {
				break
			}
			res.metrics[fields[i+1]] = v
			res.units = append(res.units, fields[i+1])
		}
		out.results = append(out.results, res)
	}
	return out, sc.Err()
}

// about says what each group measures; groups not listed get no text.
var about = map[string]string{
	"BenchmarkOverhead": "Per-step overhead. The same compiled plan of `dli.sql` steps runs on pipectl's workflow " +
		"and on `bench.Baseline`, a hand-written Temporal workflow that calls the same registered run activity " +
		"(submit, then poll), on the same worker and service task queue, in the same dependency order, with the same retry, poll and " +
		"timeout options (but none of pipectl's features). Jobs take 50ms and are polled every 20ms doubling to " +
		"200ms; in the `-instant` cases they have ended by their first status call, so only orchestration takes " +
		"time. Each case runs both (3 pairs of runs, 1 for chain-200), alternating which goes first. Wall time is from ExecuteWorkflow to the " +
		"server's close time; `ratio` = pipectl / baseline; `overhead-ms/step` = their difference per step. " +
		"`cpu-ms/step` is the CPU time of the whole process (server, emulator, worker) during the run: the " +
		"difference is the workflows' own (and the server's work for what they do differently, e.g. continuing " +
		"as new). Events count every workflow run of the pipeline run (continue-as-new chain and child " +
		"workflows); `pipectl-workflow-runs` is how many workflow runs pipectl's took.",
	"BenchmarkHistory": "History events per step on a chain of `dli.sql` steps, with pipectl's default polling " +
		"(2s doubling to 30s). The 10-minute jobs run 120× faster with the poll intervals scaled alike, so each " +
		"gets the couple of dozen status calls a real 10-minute job gets (`status-calls/job`). `events/step` is " +
		"the whole history of a 3-step chain divided by 3; `marginal-events/step` is what one more step adds, " +
		"(E(3) − E(1)) / 2. Goal: ≤ 8 per step, the same for both durations. A step is one run activity " +
		"(scheduled, started, completed: 3 events) followed by a workflow task (scheduled, started, completed); " +
		"polls are retries of the run activity and add none.",
	"BenchmarkPolling": "Status calls per job and detection lag with the default polling (2s doubling to 30s). " +
		"Lag is from the job's end (emulator clock) to the submission of the step after it. 10s jobs run in real " +
		"time; 1m and 10m jobs run 6× and 30× faster with poll intervals scaled alike. 4 job pairs per run. " +
		"`ideal-*` is what the poll schedule gives if calls took no time; `lag-s` is the ideal lag plus the real " +
		"time the run added (`lag-overhead-ms`: the polls' drift and the start of the next step, which does not " +
		"scale with the job). 1m and 10m end exactly on the poll schedule (polls at 0, 2, 6, 14, 30s, then every " +
		"30s); a job ending at a random moment waits on average half the current interval more (up to 15s at the cap).",
	"BenchmarkWaiting": "Waiting is free: one run of 200 steps whose jobs never end, default polling. The whole " +
		"process (Temporal server, emulator, worker) is sampled for 5s while idle and for 15s while the 200 jobs " +
		"run (after 5s of settling). `sdk-goroutines` are goroutines in the Temporal SDK (worker pollers and " +
		"workflow coroutines; the server's own system worker uses the SDK too, hence the per-job delta), " +
		"`workflow-goroutines` those in pipectl's workflow code; `activities-executing` counts goroutines inside " +
		"pipectl's activity code, i.e. activity slots held (most seen at once, and mean); heap and RSS are the " +
		"whole process's; CPU is the process's, in % of one core. Then the run is cancelled: " +
		"`cancel-all-s` is until all 200 jobs were stopped.",
	"BenchmarkFanOut": "1 → 1,000 → 1 with 50ms jobs (polled every 20ms doubling to 200ms): a `for_each` step " +
		"over 1,000 items, 1,000 parallel steps, and the 1,000 parallel steps on the hand-written baseline.",
	"BenchmarkLatency": "p50/p95 over 20 runs. trigger: ExecuteWorkflow (what `pipectl apply` does after " +
		"compiling) → the emulator receives the step's job submission. result: the server closes the run → a " +
		"client's `WorkflowRun.Get`, waiting since the start, returns (what `pipectl apply --wait` waits on); " +
		"`late-runs` counts those over a second. cancel: CancelWorkflow on a run whose job is running and has " +
		"been polled once → the emulator receives the job's DELETE.",
	"BenchmarkServerSettings": "What the embedded Temporal server's own pacing costs: a 10-step chain with " +
		"50ms jobs (polled every 20ms doubling to 200ms) and a 50-step chain of jobs that have ended by their first status call, " +
		"on a server with default settings and on one set as every other benchmark sets it: " +
		"`history.timerProcessorMaxTimeShift` 5ms (default 1s: a timer, and so a poll, due sooner than that fires " +
		"only then), `history.timerProcessorMaxPollRPS` and `history.transferProcessorMaxPollRPS` 1000 (default " +
		"20 reads/s per shard: a workflow task following an activity waits up to 50ms for the next read; the " +
		"embedded server has 1 shard).",
	emulatorTable: "The emulator alone (testenv/emulator/bench_test.go), one benchmark per service, to show it is " +
		"not the bottleneck of the benchmarks above: the calls pipectl makes most for the service, over loopback " +
		"HTTP with token checks on and rate limits off, from parallel clients with the default benchtime. " +
		"DLI: a SQL submit and 4 status checks; CDM: a job created, started and checked 4 times; DIS: an upload " +
		"of 10 records and a describe of the stream; LakeFormation: a job created, started and checked 4 times; " +
		"DataArts: a run-immediate of a job and 4 checks of its instance. `time/op` is one such sequence; " +
		"`req/s` counts every request, so compare that across services.",
	"BenchmarkCompile": "Planner: `spec.Load` + `planner.Compile` of generated layered specs of 100, 1,000 and " +
		"10,000 `dli.sql` steps (planner/bench_test.go), with the default benchtime.",
	"BenchmarkCompileCycle": "Planner on the same specs with one dependency cycle that every other step comes after: " +
		"what a mistaken spec costs to reject (the cycle is searched for only among the steps on cycles).",
}

// order is the order groups appear in; unknown groups follow.
var order = []string{
	"BenchmarkOverhead", "BenchmarkHistory", "BenchmarkPolling", "BenchmarkWaiting",
	"BenchmarkFanOut", "BenchmarkLatency", "BenchmarkServerSettings", "BenchmarkCompile",
	"BenchmarkCompileCycle", emulatorTable,
}

// emulatorTable is the one table of every benchmark of the emulator's
// package, a row each, rather than a table per benchmark.
const emulatorTable = "Emulator throughput"

// tableOf is the table a result goes in and its row there: its group's
// table and its sub-benchmark, or the emulator's table and its name.
func tableOf(r result) (table, row string) {
	if strings.HasSuffix(r.pkg, "/testenv/emulator") {
		row = strings.TrimPrefix(r.group, "Benchmark")
		if r.name != "" {
			row += "/" + r.name
		}
		return emulatorTable, row
	}
	return r.group, r.name
}

func main() {
	in := flag.String("in", "", "benchmark output (default stdin)")
	outPath := flag.String("out", "BENCHMARKS.md", "report to write")
	flag.Parse()
	var r io.Reader = os.Stdin
	ran := time.Now()
	if *in != "" {
		f, err := os.Open(*in)
		if err != nil {
			fatal(err)
		}
		defer f.Close()
		if fi, err := f.Stat(); err == nil {
			ran = fi.ModTime() // when the run ended
		}
		r = f
	}
	out, err := parse(r)
	if err != nil {
		fatal(err)
	}
	if len(out.failed) > 0 {
		fatal(fmt.Errorf("the benchmark run failed:\n%s", strings.Join(out.failed, "\n")))
	}
	if len(out.results) == 0 {
		fatal(fmt.Errorf("no benchmark results in the input"))
	}
	if err := os.WriteFile(*outPath, []byte(render(out, ran)), 0o644); err != nil {
		fatal(err)
	}
	fmt.Printf("wrote %s (%d results)\n", *outPath, len(out.results))
}

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "report:", err)
	os.Exit(1)
}

func render(out output, ran time.Time) string {
	var b strings.Builder
	b.WriteString("# Benchmarks\n\n")
	b.WriteString("Produced by `make bench` (`bench/`, `planner/bench_test.go`; report by `bench/report`). ")
	b.WriteString("Everything runs in one process: the embedded Temporal server (SQLite in memory, one history shard), ")
	b.WriteString("the service emulator at zero service latency, and the worker. Figures are from one run ")
	b.WriteString("(`-benchtime=1x` for the suite), so compare runs with benchstat rather than reading small differences.\n\n")
	b.WriteString("## Machine\n\n")
	b.WriteString("| | |\n| --- | --- |\n")
	fmt.Fprintf(&b, "| date | %s |\n", ran.UTC().Format("2006-01-02 15:04 MST"))
	cpu := cpuModel()
	if cpu == "" {
		cpu = out.cpu
	}
	fmt.Fprintf(&b, "| CPU | %s |\n", cpu)
	fmt.Fprintf(&b, "| cores | %d |\n", runtime.NumCPU())
	if mem := memTotal(); mem > 0 {
		fmt.Fprintf(&b, "| memory | %.1f GiB |\n", float64(mem)/(1<<30))
	}
	fmt.Fprintf(&b, "| OS/arch | %s/%s |\n", runtime.GOOS, runtime.GOARCH)
	fmt.Fprintf(&b, "| Go | %s |\n", runtime.Version())
	if la := loadAvg(); la != "" {
		fmt.Fprintf(&b, "| load average (1, 5, 15 min) when the report was written | %s |\n", la)
	}
	b.WriteString("\n")

	if s := summary(out); s != "" {
		b.WriteString("## Summary\n\n")
		b.WriteString(s)
		b.WriteString("\n")
	}

	type row struct {
		label string // the case column
		result
	}
	groups := map[string][]row{}
	var names []string
	for _, r := range out.results {
		table, name := tableOf(r)
		if _, ok := groups[table]; !ok {
			names = append(names, table)
		}
		groups[table] = append(groups[table], row{name, r})
	}
	slices.SortStableFunc(names, func(a, c string) int { return rank(a) - rank(c) })
	b.WriteString("## Results\n")
	for _, g := range names {
		rs := groups[g]
		fmt.Fprintf(&b, "\n### %s\n\n", g)
		if text := about[g]; text != "" {
			b.WriteString(text + "\n\n")
		}
		var units []string
		for _, r := range rs {
			for _, u := range r.units {
				if !slices.Contains(units, u) {
					units = append(units, u)
				}
			}
		}
		b.WriteString("| case |")
		for _, u := range units {
			fmt.Fprintf(&b, " %s |", header(u))
		}
		b.WriteString("\n| --- |")
		for range units {
			b.WriteString(" ---: |")
		}
		b.WriteString("\n")
		for _, r := range rs {
			name := r.label
			if name == "" {
				name = "—"
			}
			fmt.Fprintf(&b, "| %s |", name)
			for _, u := range units {
				v, ok := r.metrics[u]
				if !ok {
					b.WriteString(" |")
					continue
				}
				fmt.Fprintf(&b, " %s |", format(u, v))
			}
			b.WriteString("\n")
		}
	}
	return b.String()
}

func rank(group string) int {
	if i := slices.Index(order, group); i >= 0 {
		return i
	}
	return len(order)
}

func header(unit string) string {
	if unit == "ns/op" {
		return "time/op"
	}
	return unit
}

func format(unit string, v float64) string {
	if unit == "ns/op" {
		return time.Duration(v).Round(roundTo(time.Duration(v))).String()
	}
	switch {
	case v == math.Trunc(v) && math.Abs(v) < 1e15:
		return strconv.FormatFloat(v, 'f', 0, 64)
	case math.Abs(v) >= 100:
		return strconv.FormatFloat(v, 'f', 1, 64)
	case math.Abs(v) >= 1:
		return strconv.FormatFloat(v, 'f', 2, 64)
	default:
		return strconv.FormatFloat(v, 'g', 3, 64)
	}
}

func roundTo(d time.Duration) time.Duration {
	switch {
	case d >= time.Second:
		return 10 * time.Millisecond
	case d >= time.Millisecond:
		return 10 * time.Microsecond
	case d >= time.Microsecond:
		return 10 * time.Nanosecond
	}
	return 1
}

// summary states the figures the benchmarks exist for, against their goals.
func summary(out output) string {
	get := func(group, name, unit string) (float64, bool) {
		for _, r := range out.results {
			if r.group == group && r.name == name {
				v, ok := r.metrics[unit]
				return v, ok
			}
		}
		return 0, false
	}
	var b strings.Builder
	line := func(format string, args ...any) { fmt.Fprintf(&b, "- "+format+"\n", args...) }
	for _, c := range []string{"chain-200", "chain-200-instant", "dag-1000", "dag-1000-instant"} {
		if ratio, ok := get("BenchmarkOverhead", c, "ratio"); ok {
			p, _ := get("BenchmarkOverhead", c, "pipectl-s/run")
			base, _ := get("BenchmarkOverhead", c, "baseline-s/run")
			d, _ := get("BenchmarkOverhead", c, "overhead-ms/step")
			pc, _ := get("BenchmarkOverhead", c, "pipectl-cpu-ms/step")
			bc, _ := get("BenchmarkOverhead", c, "baseline-cpu-ms/step")
			runs := ""
			if n, ok := get("BenchmarkOverhead", c, "pipectl-workflow-runs"); ok && n > 1 {
				runs = fmt.Sprintf("; pipectl's run continued as new (%.1f workflow runs)", n)
			}
			line("Overhead, %s: pipectl %.2fs, hand-written baseline %.2fs per run: ratio %.2f (%+.1f ms/step); process CPU %.1f vs %.1f ms/step%s.", c, p, base, ratio, d, pc, bc, runs)
		}
	}
	short, ok1 := get("BenchmarkHistory", "job=1s", "marginal-events/step")
	long, ok2 := get("BenchmarkHistory", "job=10m", "marginal-events/step")
	if ok1 && ok2 {
		verdict := "met"
		if short > 8 || long > 8 {
			verdict = "NOT met"
		}
		same := "the same for both"
		if short != long {
			same = "different"
		}
		calls, _ := get("BenchmarkHistory", "job=10m", "status-calls/job")
		line("History: %.1f events per step for 1s jobs, %.1f for 10-minute jobs (%.0f status calls each): %s; goal ≤ 8 %s.", short, long, calls, same, verdict)
	}
	for _, c := range []string{"job=10s", "job=1m", "job=10m"} {
		if calls, ok := get("BenchmarkPolling", c, "status-calls/job"); ok {
			lag, _ := get("BenchmarkPolling", c, "lag-s")
			line("Polling, %s: %.1f status calls per job, detection lag %.2fs.", strings.TrimPrefix(c, "job="), calls, lag)
		}
	}
	if exec, ok := get("BenchmarkWaiting", "", "activities-executing-max"); ok {
		mean, _ := get("BenchmarkWaiting", "", "activities-executing-mean")
		g, _ := get("BenchmarkWaiting", "", "sdk-goroutines/job")
		heap, _ := get("BenchmarkWaiting", "", "heap-KB/job")
		cpu, _ := get("BenchmarkWaiting", "", "cpu-%-waiting")
		idle, _ := get("BenchmarkWaiting", "", "cpu-%-idle")
		rss, _ := get("BenchmarkWaiting", "", "rss-MB-waiting")
		rssIdle, _ := get("BenchmarkWaiting", "", "rss-MB-idle")
		line("Waiting: 200 running jobs hold %.2f activity slots on average and %.0f at most (a slot is held only while a status call runs), "+
			"%.2f worker goroutines and %.0f KB of heap per job (server included); process CPU %.1f%% of a core (idle: %.1f%%), RSS %.0f MB (idle: %.0f MB).",
			mean, exec, g, heap, cpu, idle, rss, rssIdle)
	}
	for _, c := range []string{"for_each-1000", "steps-1000", "steps-1000-baseline"} {
		if s, ok := get("BenchmarkFanOut", c, "s/run"); ok {
			ev, _ := get("BenchmarkFanOut", c, "events/run")
			line("Fan-out 1 → 1,000 → 1, %s: %.1fs, %.0f events per run.", c, s, ev)
		}
	}
	for _, c := range []string{"trigger", "result", "cancel"} {
		if p50, ok := get("BenchmarkLatency", c, "p50-ms"); ok {
			p95, _ := get("BenchmarkLatency", c, "p95-ms")
			extra := ""
			if mx, ok := get("BenchmarkLatency", c, "max-ms"); ok {
				late, _ := get("BenchmarkLatency", c, "late-runs")
				extra = fmt.Sprintf(", max %.0f ms (%.0f of 20 runs over 1s)", mx, late)
			}
			line("Latency, %s: p50 %.1f ms, p95 %.1f ms%s.", c, p50, p95, extra)
		}
	}
	for _, j := range []string{"job=50ms", "job=instant"} {
		d, ok1 := get("BenchmarkServerSettings", "server=default/"+j, "ms/step")
		f, ok2 := get("BenchmarkServerSettings", "server=bench/"+j, "ms/step")
		if ok1 && ok2 {
			line("Server settings, chain with %s: %.0f ms per step with the embedded server's defaults, %.0f ms with the benchmarks' settings.", strings.TrimPrefix(j, "job="), d, f)
		}
	}
	for _, n := range []string{"steps=100", "steps=1000", "steps=10000"} {
		if ns, ok := get("BenchmarkCompile", n, "ns/step"); ok {
			allocs, _ := get("BenchmarkCompile", n, "allocs/op")
			steps, _ := strconv.Atoi(strings.TrimPrefix(n, "steps="))
			line("Planner, %s steps: %.0f µs per step, %.0f allocations per step.", strings.TrimPrefix(n, "steps="), ns/1000, allocs/float64(steps))
		}
	}
	var slowest, fastest result
	for _, r := range out.results {
		if table, _ := tableOf(r); table != emulatorTable {
			continue
		}
		if v, ok := r.metrics["req/s"]; ok {
			if slowest.metrics == nil || v < slowest.metrics["req/s"] {
				slowest = r
			}
			if fastest.metrics == nil || v > fastest.metrics["req/s"] {
				fastest = r
			}
		}
	}
	if slowest.metrics != nil {
		_, low := tableOf(slowest)
		_, high := tableOf(fastest)
		line("Emulator: %.0f req/s (%s) to %.0f req/s (%s), one service at a time over loopback HTTP.",
			slowest.metrics["req/s"], low, fastest.metrics["req/s"], high)
	}
	return b.String()
}

func cpuModel() string {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return ""
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// memTotal is the machine's memory in bytes (Linux), or 0.
func memTotal() uint64 {
	b, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		return 0
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "MemTotal:"); ok {
			kb, _ := strconv.ParseUint(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return kb << 10
		}
	}
	return 0
}

func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return ""
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return ""
	}
	return strings.Join(f[:3], " ")
}
