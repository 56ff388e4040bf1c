package main

import (
	"fmt"
	"slices"
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
	// The records no case query shows, each read by who may read it: an
	// alert (of the urgent case) and an audit event by the supervisor, the
	// erasure the supervisor asks for, an account by the admin.
	supervisor, admin := app.token("supervisor@pgn.demo"), app.token("admin@amparo.demo")
	app.fileUrgent("officer@pgn.demo", "node-urgent")
	var more struct {
		Alerts, AuditEvents struct{ Edges []struct{ Node node } }
	}
	app.do(supervisor, `{ alerts(first: 1) { edges { node { nodeId id __typename } } }
  auditEvents(first: 1) { edges { node { nodeId id __typename } } } }`, nil).decode(t, &more)
	var erased struct {
		EraseChildIdentity struct{ Erasure node }
	}
	app.do(supervisor, `mutation($id: ID!) { eraseChildIdentity(input: {caseId: $id, ground: "COURT_ORDER"}) { erasure { nodeId id __typename } } }`,
		map[string]any{"id": caseID}).decode(t, &erased)
	var accounts struct{ Users []node }
	app.do(admin, `{ users { nodeId id __typename } }`, nil).decode(t, &accounts)
	if len(more.Alerts.Edges) == 0 || len(more.AuditEvents.Edges) == 0 || len(accounts.Users) == 0 {
		t.Fatalf("no alert, audit event or account to read again: %+v %+v", more, accounts)
	}

	want := []struct {
		reader string
		node
	}{{officer, c.Case.node}, {officer, c.Case.Child}, {officer, c.Case.Notes[0]}, {officer, c.Case.Evidence[0]}, {officer, c.Referral},
		{supervisor, more.Alerts.Edges[0].Node}, {supervisor, more.AuditEvents.Edges[0].Node},
		{supervisor, erased.EraseChildIdentity.Erasure}, {admin, accounts.Users[0]}}
	for _, w := range want {
		t.Run(w.Typename, func(t *testing.T) {
			var out struct{ Node node }
			app.do(w.reader, `query($id: ID!) { node(id: $id) { nodeId __typename ... on Case { id } ... on Child { id } ... on CaseNote { id }
  ... on Evidence { id } ... on Referral { id } ... on Alert { id } ... on AuditEvent { id } ... on IdentityErasure { id }
  ... on Account { id } } }`, map[string]any{"id": w.NodeID}).decode(t, &out)
			if out.Node != w.node {
				t.Fatalf("node(%s) = %+v, want %+v", w.NodeID, out.Node, w.node)
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

// connectionPage is one page of any connection, as a client pages it.
type connectionPage struct {
	Edges    []struct{ Cursor string }
	PageInfo struct {
		HasPreviousPage, HasNextPage bool
		StartCursor, EndCursor       *string
	}
}

// TestEveryConnectionPagesBothWays walks every connection of the schema
// through the real handler, two records at a time, forward with
// first/after and backward with last/before: both walks meet the whole
// list in the same order, and every page's hasPreviousPage and hasNextPage
// say whether records lie before and after it.
func TestEveryConnectionPagesBothWays(t *testing.T) {
	app := newTestApp(t)
	for i := range 5 {
		id := app.fileUrgent("officer@pgn.demo", fmt.Sprintf("pages-case-%d", i)) // alerts supervisor@pgn.demo
		app.refer("officer@pgn.demo", referInput(id, "SBS", false))
		app.do(app.token("intake@igm.demo"), submitComplaintMutation,
			map[string]any{"input": complaintInput(fmt.Sprintf("pages-complaint-%d", i))}).decode(t, &struct{}{})
	}
	connections := []struct{ field, args, viewer string }{
		{"cases", "", "officer@pgn.demo"},
		{"complaints", "", "intake@igm.demo"},
		{"referrals", "", "officer@pgn.demo"},
		{"alerts", "unreadOnly: false, ", "supervisor@pgn.demo"},
		{"auditEvents", `filter: {actions: ["case:file", "referral:create"]}, `, "oversight@pdh.demo"},
	}
	t.Run("EveryConnectionIsHere", func(t *testing.T) {
		var out struct {
			Schema struct {
				QueryType struct {
					Fields []struct {
						Name string
						Type struct{ OfType struct{ Name string } }
					}
				}
			} `json:"__schema"`
		}
		app.do("", `{ __schema { queryType { fields { name type { ofType { name } } } } } }`, nil).decode(t, &out)
		for _, f := range out.Schema.QueryType.Fields {
			if strings.HasSuffix(f.Type.OfType.Name, "Connection") && !slices.ContainsFunc(connections, func(c struct{ field, args, viewer string }) bool { return c.field == f.Name }) {
				t.Errorf("connection %s is not walked here", f.Name)
			}
		}
	})
	for _, c := range connections {
		t.Run(c.field, func(t *testing.T) {
			tok := app.token(c.viewer)
			q := `query($first: Int, $after: String, $last: Int, $before: String) { ` + c.field + `(` + c.args +
				`first: $first, after: $after, last: $last, before: $before) { edges { cursor } pageInfo { hasPreviousPage hasNextPage startCursor endCursor } } }`
			get := func(vars map[string]any) connectionPage {
				t.Helper()
				var out map[string]connectionPage
				app.do(tok, q, vars).decode(t, &out)
				return out[c.field]
			}
			cursors := func(p connectionPage) []string {
				var out []string
				for _, e := range p.Edges {
					out = append(out, e.Cursor)
				}
				return out
			}
			whole := cursors(get(map[string]any{"first": 100}))
			if len(whole) < 5 {
				t.Fatalf("%d records, want at least 5", len(whole))
			}
			var forward []string
			for vars := map[string]any{"first": 2}; ; {
				p := get(vars)
				if p.PageInfo.HasPreviousPage != (len(forward) > 0) {
					t.Fatalf("forward page at %d: hasPreviousPage %v", len(forward), p.PageInfo.HasPreviousPage)
				}
				forward = append(forward, cursors(p)...)
				if p.PageInfo.HasNextPage != (len(forward) < len(whole)) {
					t.Fatalf("forward page ending at %d of %d: hasNextPage %v", len(forward), len(whole), p.PageInfo.HasNextPage)
				}
				if !p.PageInfo.HasNextPage {
					break
				}
				vars = map[string]any{"first": 2, "after": *p.PageInfo.EndCursor}
			}
			var backward []string
			for vars := map[string]any{"last": 2}; ; {
				p := get(vars)
				if p.PageInfo.HasNextPage != (len(backward) > 0) {
					t.Fatalf("backward page at %d from the end: hasNextPage %v", len(backward), p.PageInfo.HasNextPage)
				}
				backward = append(cursors(p), backward...)
				if p.PageInfo.HasPreviousPage != (len(backward) < len(whole)) {
					t.Fatalf("backward page starting %d from the end of %d: hasPreviousPage %v", len(backward), len(whole), p.PageInfo.HasPreviousPage)
				}
				if !p.PageInfo.HasPreviousPage {
					break
				}
				vars = map[string]any{"last": 2, "before": *p.PageInfo.StartCursor}
			}
			if !slices.Equal(forward, whole) || !slices.Equal(backward, whole) {
				t.Fatalf("forward %v\nbackward %v\nwant %v", forward, backward, whole)
			}
			// Between two cursors: the records strictly between them.
			if got := cursors(get(map[string]any{"first": 100, "after": whole[0], "before": whole[4]})); !slices.Equal(got, whole[1:4]) {
				t.Errorf("between the 1st and 5th: %v, want %v", got, whole[1:4])
			}
			if got := cursors(get(map[string]any{"last": 2, "after": whole[0], "before": whole[4]})); !slices.Equal(got, whole[2:4]) {
				t.Errorf("last 2 between the 1st and 5th: %v, want %v", got, whole[2:4])
			}
			res := app.do(tok, q, map[string]any{"first": 1, "last": 1})
			if strings.Join(res.codes(), ",") != "BAD_USER_INPUT" || res.Errors[0].Extensions.Field != "last" {
				t.Errorf("first and last together: %+v, want BAD_USER_INPUT naming last", res.Errors)
			}
			res = app.do(tok, q, map[string]any{"last": 1, "before": "garbage"})
			if strings.Join(res.codes(), ",") != "BAD_USER_INPUT" || res.Errors[0].Extensions.Field != "before" {
				t.Errorf("a bad before: %+v, want BAD_USER_INPUT naming before", res.Errors)
			}
		})
	}
}
