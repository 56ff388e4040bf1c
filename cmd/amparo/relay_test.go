package main

import (
	"strings"
	"testing"
)

// TestNodeRefetchesEveryRecordType reads each record type's nodeId where
// the schema shows it and reads the record again through Query.node: the
// same type, the same id.
func TestNodeRefetchesEveryRecordType(t *testing.T) {
	app := newTestApp(t)
	officer := app.token("officer@pgn.demo")
	caseID := app.fileCase("officer@pgn.demo", "node-case")
	app.mustUpload("officer@pgn.demo", caseID, "acta.txt", []byte("acta de entrega"))
	app.do(officer, `mutation($id: ID!) { addCaseNote(input: {caseId: $id, text: "entrevista"}) { note { id } } }`,
		map[string]any{"id": caseID}).decode(t, &struct{}{})
	referralID := app.refer("officer@pgn.demo", referInput(caseID, "SBS", false))

	type node struct{ NodeID, ID, Typename string }
	var c struct {
		Case struct {
			node
			Child    node
			Notes    []node
			Evidence []node
		}
		Referral node
	}
	app.do(officer, `query($id: ID!, $ref: ID!) {
  case(id: $id) { nodeId id __typename child { nodeId id __typename } notes { nodeId id __typename } evidence { nodeId id __typename } }
  referral(id: $ref) { nodeId id __typename } }`, map[string]any{"id": caseID, "ref": referralID}).decode(t, &c)
	want := []node{c.Case.node, c.Case.Child, c.Case.Notes[0], c.Case.Evidence[0], c.Referral}
	for _, w := range want {
		t.Run(w.Typename, func(t *testing.T) {
			var out struct{ Node node }
			app.do(officer, `query($id: ID!) { node(id: $id) { nodeId __typename ... on Case { id } ... on Child { id } ... on CaseNote { id }
  ... on Evidence { id } ... on Referral { id } } }`, map[string]any{"id": w.NodeID}).decode(t, &out)
			if out.Node != w {
				t.Fatalf("node(%s) = %+v, want %+v", w.NodeID, out.Node, w)
			}
		})
	}
	t.Run("MalformedID", func(t *testing.T) {
		res := app.do(officer, `query($id: ID!) { node(id: $id) { nodeId } }`, map[string]any{"id": caseID})
		if strings.Join(res.codes(), ",") != "BAD_USER_INPUT" || res.Errors[0].Extensions.Field != "id" {
			t.Fatalf("node(a bare UUID) = %+v, want BAD_USER_INPUT naming id", res.Errors)
		}
	})
}
