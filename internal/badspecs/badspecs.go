// Package badspecs is the corpus of malformed specs that `pipectl
// validate` and `pipectl apply` must reject, each with an error at a given
// line and column: the files in spec/testdata/bad, listed with what each
// must report in its expected.txt, and the cases too large to commit,
// generated. It is for tests.
package badspecs

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// Case is a malformed spec and the error it must be rejected with.
type Case struct {
	// Name is the file name, Path where it is.
	Name, Path string
	// Line and Column are where the error must point.
	Line, Column int
	// Text is in the error's summary or detail.
	Text string
	// Errors is how many errors must be reported; 0: any number.
	Errors int
}

// Committed reads dir/expected.txt and returns its cases, with their
// files in dir. Every file of dir but expected.txt must have a row, and
// every row a file.
func Committed(dir string) ([]Case, error) {
	f, err := os.Open(filepath.Join(dir, "expected.txt"))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var cases []Case
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		fields := strings.Fields(line)
		var c Case
		if len(fields) < 3 {
			return nil, fmt.Errorf("expected.txt:%d: want FILE LINE:COL TEXT", n)
		}
		if _, err := fmt.Sscanf(fields[1], "%d:%d", &c.Line, &c.Column); err != nil {
			return nil, fmt.Errorf("expected.txt:%d: %q is not LINE:COL", n, fields[1])
		}
		c.Name, c.Path = fields[0], filepath.Join(dir, fields[0])
		c.Text = strings.TrimSpace(strings.SplitN(line, fields[1], 2)[1])
		cases = append(cases, c)
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var files []string
	for _, e := range entries {
		if !e.IsDir() && e.Name() != "expected.txt" && !strings.HasPrefix(e.Name(), ".") {
			files = append(files, e.Name())
		}
	}
	for _, c := range cases {
		if !slices.Contains(files, c.Name) {
			return nil, fmt.Errorf("expected.txt lists %s, which is not in %s", c.Name, dir)
		}
	}
	for _, name := range files {
		if !slices.ContainsFunc(cases, func(c Case) bool { return c.Name == name }) {
			return nil, fmt.Errorf("%s has no row in expected.txt: add what it must report", filepath.Join(dir, name))
		}
	}
	return cases, nil
}

// Generate writes into dir the cases too large to commit and returns
// them: a 6 MB spec of 100,000 steps whose last has a mistake, a 4 MB
// line, nesting past YAML's depth limit in flow and in block style,
// nesting under that limit where a string belongs, and a spec with 2,000
// mistakes (its case points at the last).
func Generate(dir string) ([]Case, error) {
	var cases []Case
	add := func(name string, src []byte, line, col int, text string) error {
		path := filepath.Join(dir, name)
		cases = append(cases, Case{Name: name, Path: path, Line: line, Column: col, Text: text})
		return os.WriteFile(path, src, 0o644)
	}
	head := "name: p\nsteps:\n"

	var b bytes.Buffer
	b.WriteString(head)
	for i := range 100_000 {
		fmt.Fprintf(&b, "  - {id: s%06d, kind: dli.sql, with: {sql: \"SELECT %d\"}}\n", i, i)
	}
	last := "  - {id: last, kind: dli.sq, with: {sql: x}}\n"
	b.WriteString(last)
	if err := add("huge-file.yaml", b.Bytes(), 100_003, strings.Index(last, "dli.sq")+1, `Did you mean "dli.sql"?`); err != nil {
		return nil, err
	}

	line := "  - {id: a, kind: dli.sql, with: {sql: \"" + strings.Repeat("x", 4<<20) + "\"}, timeout: soon}\n"
	if err := add("huge-line.yaml", []byte(head+line), 3, strings.Index(line, "soon")+1, `"soon" is not a positive duration`); err != nil {
		return nil, err
	}

	flow := head + "  - id: a\n    kind: dli.sql\n    with: {sql: x, conf: " + strings.Repeat("[", 100_000) + strings.Repeat("]", 100_000) + "}\n"
	if err := add("deep-flow-nesting.yaml", []byte(flow), 5, 1, "exceeded max depth of 10000"); err != nil {
		return nil, err
	}
	block := head + "  - id: a\n    kind: dli.sql\n    with:\n      sql:\n        " + strings.Repeat("- ", 20_000) + "x\n"
	if err := add("deep-block-nesting.yaml", []byte(block), 6, 1, "exceeded max depth of 10000"); err != nil {
		return nil, err
	}
	deep := head + "  - id: a\n    kind: dli.sql\n    with:\n      sql:\n        " + strings.Repeat("- ", 5_000) + "x\n"
	if err := add("deep-nesting-for-a-string.yaml", []byte(deep), 7, 9, `Invalid input "sql"`); err != nil {
		return nil, err
	}

	b.Reset()
	b.WriteString(head)
	const many = 2_000
	step := ""
	for i := range many {
		step = fmt.Sprintf("  - {id: s%04d, kind: dli.sq, with: {sql: x}}\n", i)
		b.WriteString(step)
	}
	if err := add("many-errors.yaml", b.Bytes(), 2+many, strings.Index(step, "dli.sq")+1, `Did you mean "dli.sql"?`); err != nil {
		return nil, err
	}
	cases[len(cases)-1].Errors = many
	return cases, nil
}
