package main

import (
	"strings"
	"testing"
)

// TestCaseReadPrepared: reading a case with its child and violations costs
// two statements, each prepared once per connection (PostgreSQL keeps its
// plan there): the guard's scope check, and one for the case with its
// child, its violations and its data key; none for the caller, whom the
// replica knows.
func TestCaseReadPrepared(t *testing.T) {
	var counter statementCounter
	app := newTestApp(t, func(c *config) { c.wrapDB = counter.wrap })
	officer := app.token("officer@pgn.demo")
	id := app.fileCase("officer@pgn.demo", "prepared-read-0001")
	waitCached(t, app, &counter, officer)
	const q = `query($id: ID!) { case(id: $id) { id reference child { ageBand } violations { type { code } } } }`
	var best []statement
	for range 20 { // until every connection used has prepared them
		counter.record()
		var out struct {
			Case struct{ Reference string }
		}
		app.do(officer, q, map[string]any{"id": id}).decode(t, &out)
		sent := counter.stop()
		if out.Case.Reference == "" {
			t.Fatal("no case read")
		}
		if best == nil || len(sent) < len(best) {
			best = sent
		}
	}
	kinds := make([]string, len(best))
	for i, s := range best {
		kinds[i] = s.Kind
		if s.Kind != "prepared" {
			t.Errorf("statement %d of a case read is not prepared (%s):\n%s", i+1, s.Kind, s.Query)
		}
	}
	if len(best) > 2 {
		t.Errorf("a case read sends %d statements (%s), want 2", len(best), strings.Join(kinds, ", "))
	}
}
