package audit_test

import (
	"bytes"
	"context"
	"testing"

	"amparo/internal/audit"
)

// The sealer and Verify read rows raw, by hand; the Service reads them into
// an Entry. Both must give the same bytes for every value a row can hold,
// in any session time zone.
func TestAuditRawRowsEncodeAsEntries(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	// In time order and after the seeded events, as Verify wants them
	// (entry_test covers the years 1 and 9999).
	f.exec(t, `INSERT INTO audit.events (occurred_at, actor_id, actor_institution, actor_roles, action, object_type, object_id,
  outcome, request_id, client_addr, details) VALUES
 (now() - interval '20 seconds', NULL, 'SBS', '{officer}', 'identity:read', 'child', 'x', 'SUCCESS', 'r', 'a', '"scalar"'),
 (now() - interval '1 second', NULL, '', '{}', 'case:file', 'case', '', 'SUCCESS', '', '', '{}'),
 (date_trunc('second', now()) + interval '0.1 second', gen_random_uuid(), 'PGN', ARRAY['a b', '', 'NULL', 'x,y', 'q"uo\te', 'back\\slash', '{b}', 'ñandú'], 'case:file', 'case',
  E'line\nbreak', 'DENIED', '12:34:', '::1', '{"z": [1, 2.50, {"é": null}], "a": "ü\n", "n": 1e3}'),
 (date_trunc('second', now()) + interval '0.999999 second', NULL, 'SBS', ARRAY['officer','supervisor'], 'evidence:download', 'evidence', 'y', 'SUCCESS', 'r', 'a', '[]')`)
	ctx := context.Background()
	for _, tz := range []string{"UTC", "America/Guatemala", "Asia/Kathmandu"} {
		f.exec(t, `ALTER DATABASE `+f.db.Name+` SET TimeZone = '`+tz+`'`)
		f.db.App.SetMaxIdleConns(0) // new sessions pick the zone up
		for _, id := range f.eventIDs(t) {
			want, err := audit.EncodeRow(ctx, f.db.App, id)
			if err != nil {
				t.Fatal(err)
			}
			got, err := audit.EncodeRowRaw(ctx, f.db.App, id)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("event %d in %s: raw\n%s\nentry\n%s", id, tz, got, want)
			}
			e, err := audit.Decode(got)
			if err != nil {
				t.Fatal(err)
			}
			if e.ID != id {
				t.Fatalf("decoded id %d", e.ID)
			}
		}
	}
	f.sealer(t)
	f.waitSealed(t)
	if rep := f.verify(t); !rep.OK() {
		t.Fatalf("Verify: %v", rep.Problems)
	}
}
