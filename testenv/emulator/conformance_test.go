package emulator_test

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pipectl/pipectl/testenv/emulator"
)

// Response conformance: for each service's main operations the emulator's
// answer is compared with the response example the API documents print
// (shared/seeds, cited as file @lines; 000 = DAYU, 001 = DLI, 002 = DIS,
// 003 = CDM job page, 004 = LakeFormation), by shape: every field of the
// example must be in the answer with the same JSON type. Values are not
// compared (the service tests do that), and fields the emulator adds are
// fine. Where the documents print no example, the response table is
// written out as one, cited the same way.
//
// Examples are pasted verbatim where they are JSON; page breaks of the
// PDF often cut them, and the least repair that makes them JSON is made
// and described. Where the emulator deliberately answers otherwise than
// the example (usually because the document's own table says otherwise),
// the case lists the field with the reason; a listed field that no longer
// differs fails the test, so the list stays true.

// shapeDiffs lists, by JSON path, where got lacks a field of doc or holds
// a value of another JSON type. A null in doc stands for a value the
// example leaves unset: the field must be there, with any value. Every
// element of an array in got is compared with the element of doc's it
// differs least from (examples mix shapes, e.g. a password input printed
// without its value); an empty array in got cannot show its elements'
// shape, which is reported when doc shows one.
func shapeDiffs(path string, doc, got any) []string {
	if doc == nil {
		return nil
	}
	if dt, gt := jsonType(doc), jsonType(got); dt != gt {
		return []string{fmt.Sprintf("%s: documented %s, got %s", orRoot(path), dt, gt)}
	}
	var out []string
	switch d := doc.(type) {
	case map[string]any:
		g := got.(map[string]any)
		for _, k := range slices.Sorted(maps.Keys(d)) {
			p := k
			if path != "" {
				p = path + "." + k
			}
			gv, ok := g[k]
			if !ok {
				out = append(out, p+": missing")
				continue
			}
			out = append(out, shapeDiffs(p, d[k], gv)...)
		}
	case []any:
		g := got.([]any)
		if len(d) == 0 {
			return nil
		}
		if len(g) == 0 {
			return []string{path + "[]: documented with elements, got an empty array"}
		}
		seen := map[string]bool{}
		for _, gv := range g {
			var best []string
			for i, dv := range d {
				if diffs := shapeDiffs(path+"[]", dv, gv); i == 0 || len(diffs) < len(best) {
					best = diffs
				}
			}
			for _, diff := range best {
				if !seen[diff] {
					seen[diff] = true
					out = append(out, diff)
				}
			}
		}
	}
	return out
}

func jsonType(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case bool:
		return "boolean"
	case float64:
		return "number"
	case string:
		return "string"
	case []any:
		return "array"
	case map[string]any:
		return "object"
	}
	return fmt.Sprintf("%T", v)
}

func orRoot(path string) string {
	if path == "" {
		return "(root)"
	}
	return path
}

func TestShapeDiffs(t *testing.T) {
	doc := `{"a":1,"b":"x","c":null,"d":[{"e":true}],"f":{"g":[]},"h":[]}`
	for _, tc := range []struct {
		got  string
		want []string
	}{
		{`{"a":2,"b":"y","c":{},"d":[{"e":false,"z":1}],"f":{"g":[1]},"h":[],"extra":0}`, nil},
		{`{"a":"2","c":1,"d":[{"e":true},{"e":"no"},{}],"f":{"g":{}},"h":[]}`, []string{
			"a: documented number, got string", "b: missing", "d[].e: documented boolean, got string",
			"d[].e: missing", "f.g: documented array, got object"}},
		{`{"a":1,"b":"x","d":[],"f":{"g":[]},"h":[]}`, []string{"c: missing", "d[]: documented with elements, got an empty array"}},
		{`[]`, []string{"(root): documented object, got array"}},
	} {
		var d, g any
		if err := json.Unmarshal([]byte(doc), &d); err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal([]byte(tc.got), &g); err != nil {
			t.Fatal(err)
		}
		if got := shapeDiffs("", d, g); !slices.Equal(got, tc.want) {
			t.Errorf("shapeDiffs(%s) =\n%q\nwant\n%q", tc.got, got, tc.want)
		}
	}

	// An element is held to the documented element it is closest to.
	var mixed any
	if err := json.Unmarshal([]byte(`[{"name":"host","value":"h"},{"name":"password","sensitive":true}]`), &mixed); err != nil {
		t.Fatal(err)
	}
	for got, want := range map[string][]string{
		`[{"name":"port","value":"1"},{"name":"password","sensitive":true}]`: nil,
		`[{"name":"password"}]`:    {"[].value: missing"},
		`[{"name":1,"value":"1"}]`: {"[].name: documented string, got number"},
	} {
		var g any
		if err := json.Unmarshal([]byte(got), &g); err != nil {
			t.Fatal(err)
		}
		if diffs := shapeDiffs("", mixed, g); !slices.Equal(diffs, want) {
			t.Errorf("shapeDiffs(%s) = %q, want %q", got, diffs, want)
		}
	}
}

// confEnv serves every service of one emulator (fake clock, any token,
// no rate limits) and sends requests to them.
type confEnv struct {
	t     *testing.T
	clock *fakeClock
	urls  map[string]string
}

func newConfEnv(t *testing.T) *confEnv {
	t.Helper()
	clock := &fakeClock{t: t0}
	emu := emulator.New(testOptions(clock, 10*time.Second))
	c := &confEnv{t: t, clock: clock, urls: map[string]string{}}
	for _, s := range emulator.Services() {
		srv := httptest.NewServer(emu.Handler(s))
		t.Cleanup(srv.Close)
		c.urls[s] = srv.URL
	}
	return c
}

// do sends a request to service and returns the body, failing the test
// unless the status is want.
func (c *confEnv) do(service, method, path, body string, want int) string {
	c.t.Helper()
	req, err := http.NewRequest(method, c.urls[service]+path, strings.NewReader(body))
	if err != nil {
		c.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Auth-Token", "test-token")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		c.t.Fatal(err)
	}
	if resp.StatusCode != want {
		c.t.Fatalf("%s %s %s: status %d, want %d: %s", service, method, path, resp.StatusCode, want, raw)
	}
	return string(raw)
}

// field decodes a JSON answer and returns the value at a dotted path of
// object keys.
func (c *confEnv) field(raw, path string) any {
	c.t.Helper()
	var v any
	if err := json.Unmarshal([]byte(raw), &v); err != nil {
		c.t.Fatalf("%v: %s", err, raw)
	}
	for _, k := range strings.Split(path, ".") {
		m, ok := v.(map[string]any)
		if !ok {
			c.t.Fatalf("no %s in %s", path, raw)
		}
		v = m[k]
	}
	return v
}

func (c *confEnv) str(raw, path string) string {
	c.t.Helper()
	switch v := c.field(raw, path).(type) {
	case string:
		return v
	case float64:
		return fmt.Sprint(int64(v))
	default:
		c.t.Fatalf("%s = %#v in %s", path, v, raw)
		return ""
	}
}

// conformanceCase is one operation: its documented example, the call
// that makes the emulator answer it, and where the two differ on purpose.
type conformanceCase struct {
	name    string
	example string
	// deviations maps a path of shapeDiffs to why the emulator answers
	// otherwise than the example there.
	deviations map[string]string
	call       func(c *confEnv) string
}

func runConformance(t *testing.T, cases []conformanceCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var doc, got any
			if err := json.Unmarshal([]byte(tc.example), &doc); err != nil {
				t.Fatalf("the example is not JSON: %v", err)
			}
			raw := tc.call(newConfEnv(t))
			if err := json.Unmarshal([]byte(raw), &got); err != nil {
				t.Fatalf("the answer is not JSON: %v\n%s", err, raw)
			}
			hit := map[string]bool{}
			var unexpected []string
			for _, d := range shapeDiffs("", doc, got) {
				path, _, _ := strings.Cut(d, ": ")
				if _, ok := tc.deviations[path]; ok {
					hit[path] = true
					continue
				}
				unexpected = append(unexpected, d)
			}
			if len(unexpected) > 0 {
				t.Errorf("the answer differs from the example:\n\t%s\nanswer: %s", strings.Join(unexpected, "\n\t"), raw)
			}
			for path, why := range tc.deviations {
				if !hit[path] {
					t.Errorf("listed deviation %s (%s) does not occur: remove it", path, why)
				}
			}
		})
	}
}
