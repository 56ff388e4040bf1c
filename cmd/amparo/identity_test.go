package main

import (
	"crypto/sha256"
	"encoding/hex"
	"slices"
	"strings"
	"testing"
)

func TestIdentityByRole(t *testing.T) {
	app := newTestApp(t)
	id := app.fileCase("officer@pgn.demo", "identity-role-1")
	q := `query($id: ID!) { case(id: $id) { child { sex identity { givenName } } } }`
	for _, tc := range []struct {
		user string
		want string // "name", "FORBIDDEN" (case visible, identity withheld) or "NOT_FOUND"
	}{
		{"officer@pgn.demo", "name"},
		{"supervisor@pgn.demo", "name"},
		{"oversight@pdh.demo", "FORBIDDEN"},
		{"officer@sbs.demo", "NOT_FOUND"},
		{"intake@igm.demo", "FORBIDDEN"},
		{"admin@amparo.demo", "FORBIDDEN"},
	} {
		t.Run(tc.user, func(t *testing.T) {
			res := app.do(app.token(tc.user), q, map[string]any{"id": id})
			switch tc.want {
			case "name":
				var out struct {
					Case struct {
						Child struct{ Identity *struct{ GivenName string } }
					}
				}
				res.decode(t, &out)
				if out.Case.Child.Identity == nil || out.Case.Child.Identity.GivenName != "María José" {
					t.Fatalf("identity = %+v", out.Case.Child.Identity)
				}
			default:
				if !slices.Equal(res.codes(), []string{tc.want}) || strings.Contains(string(res.Data), "María") {
					t.Fatalf("got %s %v", res.Data, res.codes())
				}
			}
		})
	}
	// Each refusal of an identity is on record.
	if n := countRows(t, app.db.App, `SELECT count(*) FROM audit.events WHERE outcome = 'DENIED' AND action = 'identity:read'`); n != 1 {
		t.Errorf("denied identity reads recorded = %d, want 1 (oversight's)", n)
	}
}

func TestRevealIdentity(t *testing.T) {
	app := newTestApp(t)
	id := app.fileCase("officer@pgn.demo", "reveal-1")
	oversight := app.token("oversight@pdh.demo")
	q := `mutation($id: ID!, $j: String!) { revealIdentity(input: {caseId: $id, justification: $j}) { givenName familyName } }`

	t.Run("ShortJustificationRefused", func(t *testing.T) {
		res := app.do(oversight, q, map[string]any{"id": id, "j": "control"})
		if len(res.Errors) != 1 || res.Errors[0].Extensions.Field != "justification" {
			t.Fatalf("got %+v", res.Errors)
		}
	})
	justification := "Queja 2026-114 ante la PDH: verificar la atención de la niña"
	var out struct{ RevealIdentity struct{ GivenName string } }
	app.do(oversight, q, map[string]any{"id": id, "j": justification}).decode(t, &out)
	if out.RevealIdentity.GivenName != "María José" {
		t.Fatalf("revealed %+v", out.RevealIdentity)
	}
	t.Run("AuditedWithJustification", func(t *testing.T) {
		sum := sha256.Sum256([]byte(justification))
		n := countRows(t, app.db.App, `SELECT count(*) FROM audit.events WHERE action = 'identity:reveal'
			AND actor_institution = 'PDH' AND details->>'case' = $1 AND details->>'justificationSha256' = $2`, id, hex.EncodeToString(sum[:]))
		if n != 1 {
			t.Fatalf("reveal events = %d", n)
		}
	})
	t.Run("OwningInstitutionSeesWhoRevealed", func(t *testing.T) {
		var list struct {
			IdentityReveals []struct {
				Justification string
				Institution   struct{ Code string }
			}
		}
		app.do(app.token("supervisor@pgn.demo"), `{ identityReveals { justification institution { code } } }`, nil).decode(t, &list)
		if len(list.IdentityReveals) != 1 || list.IdentityReveals[0].Justification != justification ||
			list.IdentityReveals[0].Institution.Code != "PDH" {
			t.Fatalf("reveals = %+v", list.IdentityReveals)
		}
	})
}

func TestAdministration(t *testing.T) {
	app := newTestApp(t)
	admin := app.token("admin@amparo.demo")
	t.Run("SelfGrantRefused", func(t *testing.T) {
		self := userID(t, app, "admin@amparo.demo")
		res := app.do(admin, `mutation($id: ID!) { grantRole(input: {userId: $id, role: "oversight"}) { user { id } } }`, map[string]any{"id": self})
		if !slices.Equal(res.codes(), []string{"FORBIDDEN"}) {
			t.Fatalf("got %v", res.codes())
		}
	})
	t.Run("AdminReadsNoCase", func(t *testing.T) {
		id := app.fileCase("officer@pgn.demo", "admin-reads-1")
		for _, q := range []string{`query($id: ID!) { case(id: $id) { id } }`, `{ cases { totalCount } }`, `{ complaints { totalCount } }`} {
			res := app.do(admin, q, map[string]any{"id": id})
			if !slices.Equal(res.codes(), []string{"FORBIDDEN"}) {
				t.Errorf("%s: %v", q, res.codes())
			}
		}
	})
	t.Run("GrantAndDisableTakeEffectAtOnce", func(t *testing.T) {
		var created struct {
			CreateUser struct{ User struct{ ID string } }
		}
		app.do(admin, `mutation { createUser(input: {email: "nueva@pgn.demo", name: "Nueva Oficial", institutionCode: "PGN", subject: "nueva@pgn.demo"}) { user { id } } }`, nil).decode(t, &created)
		uid := created.CreateUser.User.ID
		tok := app.token("nueva@pgn.demo")
		res := app.do(tok, fileCaseMutation, map[string]any{"input": fileCaseInput("nueva-1-abcdef")})
		if !slices.Equal(res.codes(), []string{"FORBIDDEN"}) {
			t.Fatalf("without a role: %v", res.codes())
		}
		app.do(admin, `mutation($id: ID!) { grantRole(input: {userId: $id, role: "officer"}) { user { roles } } }`, map[string]any{"id": uid}).decode(t, &struct{}{})
		// officer reads identities: a second admin approves the grant.
		app.do(secondAdmin(t, app), approveMutation, map[string]any{"id": uid, "role": "officer"}).decode(t, &struct{}{})
		app.do(tok, fileCaseMutation, map[string]any{"input": fileCaseInput("nueva-2-abcdef")}).decode(t, &struct{}{})
		app.do(admin, `mutation($id: ID!) { disableUser(userId: $id) { user { disabledAt } } }`, map[string]any{"id": uid}).decode(t, &struct{}{})
		res = app.do(tok, `{ me { user { email } } }`, nil)
		if !slices.Equal(res.codes(), []string{"UNAUTHENTICATED"}) {
			t.Fatalf("after disablement: %v", res.codes())
		}
		for _, action := range []string{"user:create", "role:request", "role:approve", "user:disable"} {
			if n := countRows(t, app.db.App, `SELECT count(*) FROM audit.events WHERE action = $1 AND object_id = $2`, action, uid); n != 1 {
				t.Errorf("%s events = %d", action, n)
			}
		}
	})
	t.Run("RevokeTakesEffectAtOnce", func(t *testing.T) {
		uid := newAccount(t, app, "PGN")
		app.do(admin, `mutation($id: ID!) { grantRole(input: {userId: $id, role: "supervisor"}) { user { id } } }`, map[string]any{"id": uid}).decode(t, &struct{}{})
		app.do(secondAdmin(t, app), approveMutation, map[string]any{"id": uid, "role": "supervisor"}).decode(t, &struct{}{})
		var email string
		if err := app.db.App.Get(&email, `SELECT email FROM users WHERE id = $1`, uid); err != nil {
			t.Fatal(err)
		}
		tok := app.token(email)
		app.do(tok, `{ cases { totalCount } }`, nil).decode(t, &struct{}{})
		app.do(admin, `mutation($id: ID!) { revokeRole(input: {userId: $id, role: "supervisor"}) { user { id } } }`, map[string]any{"id": uid}).decode(t, &struct{}{})
		// The revoking replica has reloaded before answering; others within a
		// second, by notification.
		res := app.do(tok, `{ cases { totalCount } }`, nil)
		if !slices.Equal(res.codes(), []string{"FORBIDDEN"}) {
			t.Fatalf("after revocation: %v", res.codes())
		}
	})
}
