package main

import (
	"context"
	"errors"
	"testing"

	"github.com/lib/pq"

	"amparo/internal/authz"
	"amparo/policies"
)

// The application's role reads the authorization rules and changes them
// only through the audited sync function.
func TestPolicyRulesChangeOnlyAudited(t *testing.T) {
	app := newTestApp(t)
	db := app.db.App
	ctx := context.Background()
	denied := func(t *testing.T, err error) {
		t.Helper()
		var pe *pq.Error
		if !errors.As(err, &pe) || pe.Code != "42501" {
			t.Fatalf("got %v, want permission denied", err)
		}
	}
	syncs := func() int {
		return countRows(t, db, `SELECT count(*) FROM audit.events WHERE action = 'policy:sync'`)
	}
	t.Run("ErrAppInsertsRule", func(t *testing.T) {
		_, err := db.Exec(`INSERT INTO authz_rules (ptype, v0, v1, v2, v3) VALUES ('p', 'intake', '*', 'identity:read', 'all')`)
		denied(t, err)
	})
	t.Run("ErrAppDeletesRules", func(t *testing.T) {
		_, err := db.Exec(`DELETE FROM authz_rules`)
		denied(t, err)
	})
	t.Run("ErrAppUpdatesRule", func(t *testing.T) {
		_, err := db.Exec(`UPDATE authz_rules SET v0 = 'intake' WHERE v0 = 'oversight'`)
		denied(t, err)
	})
	t.Run("ErrMalformedRules", func(t *testing.T) {
		if _, err := db.Exec(`SELECT authz_sync_rules('[["g", "u", "admin", "system"]]')`); err == nil {
			t.Fatal("a grouping rule was accepted")
		}
	})
	t.Run("UnchangedStartRecordsNothing", func(t *testing.T) {
		before := syncs()
		if err := authz.SyncPolicy(ctx, db, policies.Policy); err != nil {
			t.Fatal(err)
		}
		if after := syncs(); after != before {
			t.Fatalf("%d policy:sync events after an unchanged sync, want %d", after, before)
		}
	})
	t.Run("ChangeAudited", func(t *testing.T) {
		before := syncs()
		if err := authz.SyncPolicy(ctx, db, policies.Policy+"\np, intake, *, identity:read, all\n"); err != nil {
			t.Fatal(err)
		}
		var added, removed int
		if err := db.QueryRow(`SELECT (details->>'added')::int, (details->>'removed')::int FROM audit.events
WHERE action = 'policy:sync' ORDER BY id DESC LIMIT 1`).Scan(&added, &removed); err != nil {
			t.Fatal(err)
		}
		if syncs() != before+1 || added != 1 || removed != 0 {
			t.Fatalf("%d events, added %d removed %d", syncs()-before, added, removed)
		}
		if err := authz.SyncPolicy(ctx, db, policies.Policy); err != nil {
			t.Fatal(err)
		}
		if syncs() != before+2 || countRows(t, db, `SELECT count(*) FROM authz_rules WHERE v0 = 'intake' AND v2 = 'identity:read'`) != 0 {
			t.Fatal("the restored policy was not recorded, or kept the extra rule")
		}
	})
}
