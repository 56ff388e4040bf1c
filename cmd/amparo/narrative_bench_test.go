package main

import (
	"fmt"
	"testing"
)

// BenchmarkCaseList lists 100 cases through the real handler, as the
// supervisor who may read them all, with the summary and the violations'
// descriptions (sealed: one data key unwrapped per case) and, in the
// second run, the child's identity of each too (sealed under the same key,
// and each read audited), so that the ratio of the two is what reading
// identities in a list costs.
//
//	go test ./cmd/amparo -run '^$' -bench CaseList -benchtime 20x
func BenchmarkCaseList(b *testing.B) {
	app := newTestApp(b)
	for i := range 100 {
		in := fileCaseInput(fmt.Sprintf("bench-list-%03d", i))
		in["summary"] = fmt.Sprintf("Resumen del caso %d: la niña espera en el albergue a que se localice a su familia.", i)
		app.do(app.token("supervisor@pgn.demo"), fileCaseMutation, map[string]any{"input": in}).decode(b, &struct{}{})
	}
	tok := app.token("supervisor@pgn.demo")
	for _, withIdentity := range []bool{false, true} {
		b.Run(fmt.Sprintf("identities=%v", withIdentity), func(b *testing.B) {
			identity := ""
			if withIdentity {
				identity = "identity { givenName familyName dateOfBirth }"
			}
			q := `{ cases(first: 100) { edges { node { reference summary violations { description } child { ageBand ` + identity + ` } } } } }`
			var out struct {
				Cases struct {
					Edges []struct {
						Node struct {
							Summary string
							Child   struct{ Identity *struct{ GivenName string } }
						}
					}
				}
			}
			for b.Loop() {
				app.do(tok, q, nil).decode(b, &out)
			}
			if len(out.Cases.Edges) != 100 || out.Cases.Edges[0].Node.Summary == "" ||
				withIdentity != (out.Cases.Edges[0].Node.Child.Identity != nil) {
				b.Fatalf("the list read %d cases, first %+v", len(out.Cases.Edges), out.Cases.Edges[0].Node)
			}
		})
	}
}
