package main

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/google/uuid"
)

const staffQuery = `query($search: String, $first: Int) { assignableStaff(search: $search, first: $first) { staff { id email name } hasMore } }`

type staffOut struct {
	AssignableStaff struct {
		Staff []struct {
			ID, Email, Name string
		}
		HasMore bool
	}
}

// staffEmails lists, by the token's holder, whom a case can be assigned to.
func staffEmails(t *testing.T, app *testApp, tok string, vars map[string]any) ([]string, bool) {
	t.Helper()
	var out staffOut
	app.do(tok, staffQuery, vars).decode(t, &out)
	var emails []string
	for _, s := range out.AssignableStaff.Staff {
		emails = append(emails, s.Email)
	}
	return emails, out.AssignableStaff.HasMore
}

// staffAccount makes an account of institution holding role (none when
// ""), disabled when disabled, and returns its email.
func staffAccount(t *testing.T, app *testApp, institution, role string, disabled bool) string {
	t.Helper()
	id := newAccount(t, app, institution)
	owner := app.db.Owner(t)
	if role != "" {
		if _, err := owner.Exec(`INSERT INTO role_grants (user_id, role, domain) VALUES ($1, $2, $3)`, id, role, institution); err != nil {
			t.Fatal(err)
		}
	}
	if disabled {
		if _, err := owner.Exec(`UPDATE users SET disabled_at = now() WHERE id = $1`, id); err != nil {
			t.Fatal(err)
		}
	}
	return id + "@test.demo"
}

// staffOfOwnInstitution: a supervisor lists the enabled officers and
// supervisors of their own institution, and nobody else; a supervisor of
// another institution, only theirs.
func staffOfOwnInstitution(t *testing.T, app *testApp) {
	officer := staffAccount(t, app, "PGN", "officer", false)
	disabled := staffAccount(t, app, "PGN", "officer", true)
	intake := staffAccount(t, app, "PGN", "intake", false)
	noRole := staffAccount(t, app, "PGN", "", false)
	sbsTok, sbsSupervisor := newSupervisor(t, app, "SBS")
	all := map[string]any{"first": 100}

	pgn, _ := staffEmails(t, app, app.token("supervisor@pgn.demo"), all)
	sbs, _ := staffEmails(t, app, sbsTok, all)
	for _, c := range []struct {
		name     string
		got      []string
		in, out  []string
		ownInsts string
	}{
		{"PGN", pgn, []string{"officer@pgn.demo", "supervisor@pgn.demo", officer},
			[]string{disabled, intake, noRole, "officer@sbs.demo", sbsSupervisor, "intake@igm.demo", "oversight@pdh.demo", "admin@amparo.demo"}, "PGN"},
		{"SBS", sbs, []string{"officer@sbs.demo", sbsSupervisor},
			[]string{"officer@pgn.demo", "supervisor@pgn.demo", officer, "intake@igm.demo"}, "SBS"},
	} {
		for _, e := range c.in {
			if !slices.Contains(c.got, e) {
				t.Errorf("%s's supervisor does not see %s among %v", c.name, e, c.got)
			}
		}
		for _, e := range c.out {
			if slices.Contains(c.got, e) {
				t.Errorf("%s's supervisor sees %s", c.name, e)
			}
		}
		var others int
		if err := app.db.App.Get(&others, `SELECT count(*) FROM users WHERE email = ANY(string_to_array($1, ',')) AND institution_code <> $2`,
			strings.Join(c.got, ","), c.ownInsts); err != nil {
			t.Fatal(err)
		}
		if others != 0 {
			t.Errorf("%s's supervisor sees %d accounts of other institutions", c.name, others)
		}
	}
}

func TestAssignableStaff(t *testing.T) {
	app := newTestApp(t)
	tok := app.token("supervisor@pgn.demo")
	for range 3 {
		staffAccount(t, app, "PGN", "officer", false)
	}

	t.Run("CappedAtFirstWithHasMore", func(t *testing.T) {
		got, more := staffEmails(t, app, tok, map[string]any{"first": 2})
		if len(got) != 2 || !more {
			t.Errorf("first 2 gave %v, hasMore %v; want 2 and true", got, more)
		}
		got, more = staffEmails(t, app, tok, map[string]any{"first": 100})
		if len(got) != 5 || more {
			t.Errorf("first 100 gave %d, hasMore %v; want 5 and false", len(got), more)
		}
	})
	t.Run("SearchNarrowsByNameOrEmail", func(t *testing.T) {
		got, _ := staffEmails(t, app, tok, map[string]any{"search": "OFFICER@pgn"})
		if !slices.Equal(got, []string{"officer@pgn.demo"}) {
			t.Errorf("search by email gave %v", got)
		}
		got, _ = staffEmails(t, app, tok, map[string]any{"search": "Supervisora"})
		if !slices.Equal(got, []string{"supervisor@pgn.demo"}) {
			t.Errorf("search by name gave %v", got)
		}
		if got, _ = staffEmails(t, app, tok, map[string]any{"search": "%"}); len(got) != 0 {
			t.Errorf("a search for %% matched %v: it must match itself only", got)
		}
	})
	for _, c := range []struct {
		name, field string
		vars        map[string]any
	}{
		{"ErrFirstOverMax", "first", map[string]any{"first": 101}},
		{"ErrSearchTooLong", "search", map[string]any{"search": strings.Repeat("a", 101)}},
	} {
		t.Run(c.name, func(t *testing.T) {
			res := app.do(tok, staffQuery, c.vars)
			if len(res.Errors) == 0 || res.Errors[0].Extensions.Code != "BAD_USER_INPUT" || res.Errors[0].Extensions.Field != c.field {
				t.Errorf("got %+v, want BAD_USER_INPUT at %s", res.Errors, c.field)
			}
		})
	}
}

// TestCaseViewerCan: the case says who may take it (only while it waits
// unassigned) and who may assign it, as assignCase decides.
func TestCaseViewerCan(t *testing.T) {
	app := newTestApp(t)
	queue := app.fileCase("supervisor@pgn.demo", "vc-"+uuid.NewString())
	if _, err := app.db.Owner(t).Exec(`UPDATE cases SET assigned_to = NULL WHERE id = $1`, queue); err != nil {
		t.Fatal(err)
	}
	assigned := app.fileCase("officer@pgn.demo", "vc-"+uuid.NewString()) // filing assigns it to the officer
	other := app.fileCase("officer@sbs.demo", "vc-"+uuid.NewString())
	closed := app.fileCase("supervisor@pgn.demo", "vc-"+uuid.NewString())
	if _, err := app.db.Owner(t).Exec(`UPDATE cases SET assigned_to = NULL, status = 'CLOSED', closure_reason = 'GOAL_MET', due_at = NULL WHERE id = $1`, closed); err != nil {
		t.Fatal(err)
	}

	type can struct{ Take, Assign bool }
	for _, c := range []struct {
		name, email, id string
		want            *can // nil: the case is not readable
	}{
		{"OfficerTakesFromTheQueue", "officer@pgn.demo", queue, &can{Take: true}},
		{"OfficerDoesNotTakeTheirOwn", "officer@pgn.demo", assigned, &can{}},
		{"SupervisorTakesOrAssignsFromTheQueue", "supervisor@pgn.demo", queue, &can{Take: true, Assign: true}},
		{"SupervisorAssignsButDoesNotTakeAnAssignedCase", "supervisor@pgn.demo", assigned, &can{Assign: true}},
		{"NobodyTakesOrAssignsAClosedCase", "supervisor@pgn.demo", closed, &can{}},
		{"OversightReadsButDoesNeither", "oversight@pdh.demo", queue, &can{}},
		{"AnotherInstitutionSeesNothing", "officer@pgn.demo", other, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			var out struct {
				Case *struct{ ViewerCan can }
			}
			res := app.do(app.token(c.email), `query($id: ID!) { case(id: $id) { viewerCan { take assign } } }`, map[string]any{"id": c.id})
			if err := json.Unmarshal(res.Data, &out); err != nil {
				t.Fatal(err)
			}
			switch {
			case c.want == nil && out.Case != nil:
				t.Errorf("the case is readable: %+v", out.Case)
			case c.want != nil && (out.Case == nil || out.Case.ViewerCan != *c.want):
				t.Errorf("got %+v, want %+v", out.Case, *c.want)
			}
		})
	}
}
