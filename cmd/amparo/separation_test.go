package main

import (
	"slices"
	"testing"
	"time"
)

const (
	grantMutation   = `mutation($id: ID!, $role: String!) { grantRole(input: {userId: $id, role: $role}) { user { roles pendingGrants { role requestedBy } } } }`
	approveMutation = `mutation($id: ID!, $role: String!) { approveRoleGrant(input: {userId: $id, role: $role}) { user { roles pendingGrants { role } } } }`
)

// secondAdmin makes another system admin (as the schema owner) and returns
// a token of theirs.
func secondAdmin(t testing.TB, app *testApp) string {
	t.Helper()
	id := newAccount(t, app, "")
	owner := app.db.Owner(t)
	if _, err := owner.Exec(`INSERT INTO role_grants (user_id, role, domain) VALUES ($1, 'admin', 'system')`, id); err != nil {
		t.Fatal(err)
	}
	// Tell the servers, as a grant through the API does, and wait until
	// this one has heard.
	if _, err := owner.Exec(`SELECT pg_notify('amparo_authz', '')`); err != nil {
		t.Fatal(err)
	}
	var email string
	if err := app.db.App.Get(&email, `SELECT email FROM users WHERE id = $1`, id); err != nil {
		t.Fatal(err)
	}
	tok := app.token(email)
	deadline := time.Now().Add(5 * time.Second)
	for len(app.do(tok, `{ users { id } }`, nil).Errors) > 0 {
		if time.Now().After(deadline) {
			t.Fatal("the second admin is not an admin yet")
		}
		time.Sleep(20 * time.Millisecond)
	}
	return tok
}

type account struct {
	Roles         []string
	PendingGrants []struct{ Role, RequestedBy string }
}

func TestRoleGrantsSeparateDuties(t *testing.T) {
	app := newTestApp(t)
	admin := app.token("admin@amparo.demo")
	adminID := userID(t, app, "admin@amparo.demo").String()
	second := secondAdmin(t, app)
	events := func(action, object, outcome string) int {
		return countRows(t, app.db.App, `SELECT count(*) FROM audit.events WHERE action = $1 AND object_id = $2 AND outcome = $3`, action, object, outcome)
	}
	emailOf := func(id string) string {
		var e string
		if err := app.db.App.Get(&e, `SELECT email FROM users WHERE id = $1`, id); err != nil {
			t.Fatal(err)
		}
		return e
	}

	t.Run("ErrOversightOutsideOversightBody", func(t *testing.T) {
		uid := newAccount(t, app, "PGN")
		res := app.do(admin, grantMutation, map[string]any{"id": uid, "role": "oversight"})
		if !slices.Equal(res.codes(), []string{"BAD_USER_INPUT"}) || res.Errors[0].Extensions.Field != "role" {
			t.Fatalf("got %+v", res.Errors)
		}
		if events("role:grant", uid, "DENIED") != 1 {
			t.Fatal("the refused grant left no DENIED event")
		}
	})
	t.Run("IdentityRoleWaitsForSecondAdmin", func(t *testing.T) {
		// The attack of issue 10: an account in PGN, made supervisor by one
		// admin, reading every child's name.
		uid := newAccount(t, app, "PGN")
		var out struct{ GrantRole struct{ User account } }
		app.do(admin, grantMutation, map[string]any{"id": uid, "role": "supervisor"}).decode(t, &out)
		if u := out.GrantRole.User; len(u.Roles) != 0 || len(u.PendingGrants) != 1 || u.PendingGrants[0].Role != "supervisor" || u.PendingGrants[0].RequestedBy != adminID {
			t.Fatalf("after one admin: %+v", u)
		}
		if res := app.do(app.token(emailOf(uid)), `{ cases { totalCount } }`, nil); !slices.Equal(res.codes(), []string{"FORBIDDEN"}) {
			t.Fatalf("pending supervisor lists cases: %v", res.codes())
		}
		if events("role:request", uid, "SUCCESS") != 1 {
			t.Fatal("no role:request event")
		}

		t.Run("ErrSameAdminApproves", func(t *testing.T) {
			res := app.do(admin, approveMutation, map[string]any{"id": uid, "role": "supervisor"})
			if !slices.Equal(res.codes(), []string{"FORBIDDEN"}) {
				t.Fatalf("got %v", res.codes())
			}
			if events("role:approve", uid, "DENIED") != 1 {
				t.Fatal("the refused approval left no DENIED event")
			}
		})
		t.Run("SecondAdminApproves", func(t *testing.T) {
			var out struct{ ApproveRoleGrant struct{ User account } }
			app.do(second, approveMutation, map[string]any{"id": uid, "role": "supervisor"}).decode(t, &out)
			if u := out.ApproveRoleGrant.User; !slices.Equal(u.Roles, []string{"supervisor"}) || len(u.PendingGrants) != 0 {
				t.Fatalf("after approval: %+v", u)
			}
			app.do(app.token(emailOf(uid)), `{ cases { totalCount } }`, nil).decode(t, &struct{}{})
			if events("role:approve", uid, "SUCCESS") != 1 {
				t.Fatal("no role:approve event")
			}
			if n := countRows(t, app.db.App, `SELECT count(*) FROM role_grants WHERE user_id = $1 AND granted_by = $2 AND approved_by IS NOT NULL AND approved_by <> granted_by`, uid, adminID); n != 1 {
				t.Fatal("the grant does not name both admins")
			}
		})
		t.Run("ErrApproveTwice", func(t *testing.T) {
			res := app.do(second, approveMutation, map[string]any{"id": uid, "role": "supervisor"})
			if !slices.Equal(res.codes(), []string{"NOT_FOUND"}) {
				t.Fatalf("got %v", res.codes())
			}
		})
	})
	t.Run("OversightInOversightBodyWaitsForSecondAdmin", func(t *testing.T) {
		uid := newAccount(t, app, "PDH")
		var out struct{ GrantRole struct{ User account } }
		app.do(admin, grantMutation, map[string]any{"id": uid, "role": "oversight"}).decode(t, &out)
		if u := out.GrantRole.User; len(u.Roles) != 0 || len(u.PendingGrants) != 1 {
			t.Fatalf("got %+v", u)
		}
		app.do(second, approveMutation, map[string]any{"id": uid, "role": "oversight"}).decode(t, &struct{}{})
	})
	t.Run("RoleWithoutIdentityGrantedAtOnce", func(t *testing.T) {
		uid := newAccount(t, app, "IGM")
		var out struct{ GrantRole struct{ User account } }
		app.do(admin, grantMutation, map[string]any{"id": uid, "role": "intake"}).decode(t, &out)
		if u := out.GrantRole.User; !slices.Equal(u.Roles, []string{"intake"}) || len(u.PendingGrants) != 0 {
			t.Fatalf("got %+v", u)
		}
	})
	t.Run("ErrApproveForOneself", func(t *testing.T) {
		res := app.do(admin, approveMutation, map[string]any{"id": adminID, "role": "admin"})
		if !slices.Equal(res.codes(), []string{"FORBIDDEN"}) {
			t.Fatalf("got %v", res.codes())
		}
	})
	t.Run("ErrApproveWithoutRequest", func(t *testing.T) {
		res := app.do(second, approveMutation, map[string]any{"id": newAccount(t, app, "PGN"), "role": "officer"})
		if !slices.Equal(res.codes(), []string{"NOT_FOUND"}) {
			t.Fatalf("got %v", res.codes())
		}
	})
}
