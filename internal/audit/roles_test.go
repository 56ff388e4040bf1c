package audit_test

import (
	"errors"
	"testing"

	"github.com/lib/pq"

	"amparo/internal/audit"
)

// The application's role writes events and nothing else of the trail; the
// sealer's role writes leaves and checkpoints; the time of an event is the
// server's.
func TestAuditRolesHoldTheirOwnWrites(t *testing.T) {
	t.Parallel()
	f := sealedLog(t)
	refused := func(t *testing.T, err error) {
		t.Helper()
		var pe *pq.Error
		if !errors.As(err, &pe) || pe.Code != "42501" { // insufficient_privilege
			t.Fatalf("got %v, want permission denied", err)
		}
	}
	t.Run("ErrAppForgesCheckpoint", func(t *testing.T) {
		_, err := f.db.App.Exec(`INSERT INTO audit.checkpoints (tree_size, note, object_key, object_version)
VALUES (1000000, 'forged', 'checkpoints/forged', 'v')`)
		refused(t, err)
	})
	t.Run("ErrAppForgesLeaf", func(t *testing.T) {
		_, err := f.db.App.Exec(`INSERT INTO audit.leaves (idx, event_id, body, hashes) VALUES (1000000, 1, '\x00', $1)`, make([]byte, 32))
		refused(t, err)
	})
	t.Run("ErrAppDatesEvent", func(t *testing.T) {
		_, err := f.db.App.Exec(`INSERT INTO audit.events (occurred_at, action, object_type, outcome)
VALUES ('2020-01-01', 'case:file', 'case', 'SUCCESS')`)
		refused(t, err)
	})
	t.Run("ErrAppNamesEventID", func(t *testing.T) {
		_, err := f.db.App.Exec(`INSERT INTO audit.events (id, action, object_type, outcome) VALUES (1000000, 'case:file', 'case', 'SUCCESS')`)
		refused(t, err)
	})
	t.Run("ErrSealerWritesEvent", func(t *testing.T) {
		_, err := f.db.Sealer.Exec(`INSERT INTO audit.events (action, object_type, outcome) VALUES ('case:file', 'case', 'SUCCESS')`)
		refused(t, err)
	})
	t.Run("TrailStillIntact", func(t *testing.T) {
		if rep := f.verify(t); !rep.OK() {
			t.Fatalf("Verify: %v", rep.Problems)
		}
	})
}

// An event dated in the past, forced in by someone past the application's
// role and then sealed like any other, is named by Verify.
func TestAuditVerifyEventDatedBackFails(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	_, stop := f.sealer(t)
	f.record(t, principal("PGN", "officer"), 3, "case:file")
	f.waitSealed(t)
	var id int64
	if err := f.owner.Get(&id, `INSERT INTO audit.events (occurred_at, actor_institution, action, object_type, object_id, outcome)
VALUES ('2020-03-01 10:00:00+00', 'PGN', 'consent:record', 'case', 'x', 'SUCCESS') RETURNING id`); err != nil {
		t.Fatal(err)
	}
	f.record(t, principal("PGN", "officer"), 2, "case:file")
	f.waitSealed(t)
	stop()
	wantFirst(t, f.verify(t), audit.EventTime, id)
}
