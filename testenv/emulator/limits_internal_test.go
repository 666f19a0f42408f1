package emulator

import (
	"slices"
	"testing"
)

// TestRateLimitTablesMatchRoutes checks the per-service tables against the
// routes New registers: every route has exactly one default limit, and
// every limit names a route, so a new route cannot go unlimited and a
// typo in a table cannot leave its route unlimited silently.
func TestRateLimitTablesMatchRoutes(t *testing.T) {
	e := New(Options{})
	limited := map[string]int{}
	for _, l := range defaultLimits {
		limited[l.Service+" "+l.Route]++
	}
	for key, n := range limited {
		if n > 1 {
			t.Errorf("%s has %d default limits", key, n)
		}
		if !slices.Contains(e.routes, key) {
			t.Errorf("limit %s names no route", key)
		}
	}
	for _, key := range e.routes {
		if limited[key] == 0 {
			t.Errorf("route %s has no default limit", key)
		}
	}
}
