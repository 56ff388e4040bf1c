package main

import (
	"slices"
	"testing"
	"time"
)

// A replica caches who its callers are, so that a request costs no
// statement for its caller; a disablement or a role change made on another
// replica still takes effect on it within a second.
func TestPrincipalCache(t *testing.T) {
	a := newTestApp(t)
	var counter statementCounter
	b := a.replica(t, func(c *config) { c.wrapDB = counter.wrap })
	admin := a.token("admin@amparo.demo")
	uid := newAccount(t, a, "PGN")
	var email string
	if err := a.db.App.Get(&email, `SELECT email FROM users WHERE id = $1`, uid); err != nil {
		t.Fatal(err)
	}
	tok := b.token(email)
	me := `{ me { roles } }`

	t.Run("NoStatementForAKnownCaller", func(t *testing.T) { waitCached(t, b, &counter, tok) })
	// within polls the replica until check holds, for at most a second.
	within := func(t *testing.T, what string, check func() bool) {
		t.Helper()
		start := time.Now()
		for !check() {
			if time.Since(start) > time.Second {
				t.Fatalf("%s not seen by the other replica after a second", what)
			}
			time.Sleep(20 * time.Millisecond)
		}
		t.Logf("%s reached the other replica in %s", what, time.Since(start).Round(time.Millisecond))
	}
	t.Run("GrantReachesOtherReplica", func(t *testing.T) {
		// intake reads no identity: granted at once, without a second admin.
		a.do(admin, `mutation($id: ID!) { grantRole(input: {userId: $id, role: "intake"}) { user { id } } }`, map[string]any{"id": uid}).decode(t, &struct{}{})
		within(t, "the grant", func() bool {
			var out struct{ Me struct{ Roles []string } }
			b.do(tok, me, nil).decode(t, &out)
			return slices.Contains(out.Me.Roles, "intake")
		})
	})
	t.Run("DisablementReachesOtherReplica", func(t *testing.T) {
		a.do(admin, `mutation($id: ID!) { disableUser(userId: $id) { user { id } } }`, map[string]any{"id": uid}).decode(t, &struct{}{})
		within(t, "the disablement", func() bool {
			return slices.Equal(b.do(tok, me, nil).codes(), []string{"UNAUTHENTICATED"})
		})
	})
}

// waitCached waits until app knows the caller of tok without a statement:
// it caches once its authorization watcher listens, a moment after start
// (longer on a loaded machine).
func waitCached(t *testing.T, app *testApp, counter *statementCounter, tok string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		app.do(tok, `{ me { roles } }`, nil).decode(t, &struct{}{})
		before := counter.count()
		app.do(tok, `{ me { roles } }`, nil).decode(t, &struct{}{})
		if counter.count() == before {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("a known caller still costs %d statements", counter.count()-before)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
