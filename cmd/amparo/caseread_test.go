package main

import (
	"strings"
	"testing"
)

// TestCaseReadOneStatement: reading a case with its child and violations
// costs the guard's scope check and one statement, both prepared once per
// connection (PostgreSQL keeps their plans there), and none for the caller,
// whom the replica knows.
func TestCaseReadOneStatement(t *testing.T) {
	var counter statementCounter
	app := newTestApp(t, func(c *config) { c.wrapDB = counter.wrap })
	officer := app.token("officer@pgn.demo")
	id := app.fileCase("officer@pgn.demo", "one-statement-0001")
	waitCached(t, app, &counter, officer)
	const q = `query($id: ID!) { case(id: $id) { id reference status child { ageBand sex }
	  violations { type { code } occurredOn journeyStage } } }`
	read := func() []statement {
		var out struct {
			Case struct {
				Reference  string
				Violations []struct {
					Type         struct{ Code string }
					OccurredOn   *string
					JourneyStage *string
				}
			}
		}
		counter.record()
		app.do(officer, q, map[string]any{"id": id}).decode(t, &out)
		sent := counter.stop()
		v := out.Case.Violations
		if out.Case.Reference == "" || len(v) != 2 || v[0].Type.Code != "TRAFFICKING" || v[0].OccurredOn == nil ||
			*v[0].OccurredOn != "2026-11-20" || v[1].Type.Code != "VIOLENCE_PHYSICAL" || v[1].OccurredOn != nil {
			t.Fatalf("case read back as %+v", out.Case)
		}
		return sent
	}
	prepares := 0
	var best []statement
	for range 20 {
		sent := read()
		for _, s := range sent {
			if s.Kind == "prepare" {
				prepares++
			}
		}
		if best == nil || len(sent) < len(best) {
			best = sent
		}
	}
	// A connection that has run the read before runs it again without
	// preparing it; the pool holds a few connections, each prepares once.
	if prepares > 10 {
		t.Errorf("statements were prepared %d times in 20 reads", prepares)
	}
	kinds := make([]string, len(best))
	for i, s := range best {
		kinds[i] = s.Kind
	}
	if len(best) != 2 || best[0].Kind != "prepared" || best[1].Kind != "prepared" || !strings.Contains(best[1].Query, "case_violations") {
		t.Errorf("a case read sends %d statements (%s), want 2 prepared ones: the guard's scope check, then the read", len(best), strings.Join(kinds, ", "))
	}
}
