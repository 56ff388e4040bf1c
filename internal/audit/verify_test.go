package audit_test

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"golang.org/x/mod/sumdb/tlog"

	"amparo/internal/audit"
	"amparo/internal/postgres"
)

// sealedLog is a fixture whose events (the demo seed's and 30 more, in
// three checkpointed rounds) are all sealed, with the sealer stopped so that
// a test tampers with a still log.
func sealedLog(t *testing.T) *fixture {
	t.Helper()
	f := newFixture(t)
	_, stop := f.sealer(t)
	for range 3 {
		f.record(t, principal("PGN", "officer"), 10, "case:file")
		f.waitSealed(t)
	}
	stop()
	if rep := f.verify(t); !rep.OK() {
		t.Fatalf("the untouched log fails: %v", rep.Problems)
	}
	return f
}

// wantFirst checks that Verify fails and that its first problem is of kind
// and names event id (0: any).
func wantFirst(t *testing.T, rep *audit.Report, kind audit.ProblemKind, id int64) {
	t.Helper()
	if rep.OK() {
		t.Fatalf("Verify passed a tampered log")
	}
	p := rep.Problems[0]
	if p.Kind != kind || (id != 0 && p.EventID != id) {
		t.Fatalf("first problem = %v; want %s naming event %d (all: %v)", p, kind, id, rep.Problems)
	}
	t.Logf("found: %v", p)
}

// disableTriggers is what it takes, as the superuser, to change the trail.
func (f *fixture) disableTriggers(t *testing.T, tables ...string) {
	t.Helper()
	for _, tbl := range tables {
		f.exec(t, `ALTER TABLE `+tbl+` DISABLE TRIGGER ALL`)
	}
}

func TestAuditVerifyIntactPasses(t *testing.T) {
	f := sealedLog(t)
	rep := f.verify(t)
	ids := f.eventIDs(t)
	if rep.Events != int64(len(ids)) || rep.Leaves != rep.Events || rep.Latest.Size != rep.Leaves || rep.Pending != 0 {
		t.Fatalf("report %+v for %d events", rep, len(ids))
	}
	if rep.Checkpoints < 3 || rep.StoredCheckpoints != rep.Checkpoints {
		t.Fatalf("%d checkpoints in the database, %d in the store", rep.Checkpoints, rep.StoredCheckpoints)
	}
	// A checkpoint kept by an oversight body, older than the log, holds.
	var old string
	if err := f.owner.Get(&old, `SELECT note FROM audit.checkpoints ORDER BY tree_size LIMIT 1`); err != nil {
		t.Fatal(err)
	}
	if rep := f.verify(t, func(o *audit.VerifyOptions) { o.External = []byte(old) }); !rep.OK() {
		t.Fatalf("an older external checkpoint fails: %v", rep.Problems)
	}
}

// The tamper matrix: each way of rewriting history must make Verify fail
// and name what is wrong.
func TestAuditVerifyTamper(t *testing.T) {
	t.Parallel()
	t.Run("EditedFieldFails", func(t *testing.T) {
		t.Parallel()
		f := sealedLog(t)
		ids := f.eventIDs(t)
		id := ids[len(ids)-12] // one of ours, filed as case:file
		f.disableTriggers(t, "audit.events")
		f.exec(t, `UPDATE audit.events SET action = 'case:read' WHERE id = $1`, id)
		rep := f.verify(t)
		wantFirst(t, rep, audit.EventChanged, id)
		if d := rep.Problems[0].Detail; !strings.Contains(d, `action sealed as "case:file", now "case:read"`) {
			t.Fatalf("detail does not say what changed: %s", d)
		}
	})
	t.Run("EditedDetailsFails", func(t *testing.T) {
		t.Parallel()
		f := sealedLog(t)
		id := f.eventIDs(t)[7]
		f.disableTriggers(t, "audit.events")
		f.exec(t, `UPDATE audit.events SET details = details || '{"n": 999}' WHERE id = $1`, id)
		wantFirst(t, f.verify(t), audit.EventChanged, id)
	})
	t.Run("EditedEventAndLeafFails", func(t *testing.T) {
		// A careful forger rewrites the event, its sealed bytes and every
		// tree hash kept in the database; only the signed roots catch it.
		t.Parallel()
		f := sealedLog(t)
		id := f.eventIDs(t)[9]
		f.disableTriggers(t, "audit.events", "audit.leaves")
		f.exec(t, `UPDATE audit.events SET object_id = 'forged' WHERE id = $1`, id)
		f.rewriteLeaves(t)
		rep := f.verify(t)
		wantFirst(t, rep, audit.RootMismatch, 0)
		var leaf int64
		if err := f.owner.Get(&leaf, `SELECT idx FROM audit.leaves WHERE event_id = $1`, id); err != nil {
			t.Fatal(err)
		}
		if p := rep.Problems[0]; p.Leaf > leaf {
			t.Fatalf("the range named (from leaf %d) does not hold leaf %d", p.Leaf, leaf)
		}
		f.sealerRefusesToSign(t) // a history inconsistent with what it signed
	})
	t.Run("EditedToUnencodableFails", func(t *testing.T) {
		t.Parallel()
		f := sealedLog(t)
		id := f.eventIDs(t)[6]
		f.disableTriggers(t, "audit.events")
		f.exec(t, `UPDATE audit.events SET actor_roles = '{NULL,officer}' WHERE id = $1`, id)
		wantFirst(t, f.verify(t), audit.EventChanged, id)
	})
	t.Run("EditedSealedBytesFails", func(t *testing.T) {
		t.Parallel()
		f := sealedLog(t)
		id := f.eventIDs(t)[8]
		f.disableTriggers(t, "audit.leaves")
		f.exec(t, `UPDATE audit.leaves SET body = body || '\x20'::bytea WHERE event_id = $1`, id)
		wantFirst(t, f.verify(t), audit.LeafCorrupt, id)
	})
	t.Run("DeletedEventFails", func(t *testing.T) {
		t.Parallel()
		f := sealedLog(t)
		id := f.eventIDs(t)[3]
		f.disableTriggers(t, "audit.events")
		f.exec(t, `DELETE FROM audit.events WHERE id = $1`, id)
		wantFirst(t, f.verify(t), audit.EventDeleted, id)
	})
	t.Run("DeletedEventAndLeafFails", func(t *testing.T) {
		t.Parallel()
		f := sealedLog(t)
		id := f.eventIDs(t)[3]
		f.disableTriggers(t, "audit.events", "audit.leaves")
		f.exec(t, `DELETE FROM audit.events WHERE id = $1`, id)
		f.exec(t, `DELETE FROM audit.leaves WHERE event_id = $1`, id)
		wantFirst(t, f.verify(t), audit.LeafOrder, 0)
	})
	t.Run("ForgedEventInsertedFails", func(t *testing.T) {
		// A rolled-back transaction leaves a gap in the ids; a forger
		// fills it after the sealer has passed.
		t.Parallel()
		f := newFixture(t)
		_, stop := f.sealer(t)
		f.record(t, principal("PGN", "officer"), 3, "case:file")
		gap := f.rolledBackEvent(t)
		f.record(t, principal("PGN", "officer"), 3, "case:file")
		f.waitSealed(t)
		stop()
		f.exec(t, `INSERT INTO audit.events (id, actor_institution, action, object_type, object_id, outcome)
VALUES ($1, 'PGN', 'case:close', 'case', 'x', 'SUCCESS')`, gap)
		wantFirst(t, f.verify(t), audit.EventNotSealed, gap)
	})
	t.Run("SwappedEventsFails", func(t *testing.T) {
		t.Parallel()
		f := sealedLog(t)
		ids := f.eventIDs(t)
		a, b := ids[4], ids[6]
		f.disableTriggers(t, "audit.events")
		// Three steps through a free id: the primary key holds at each.
		f.exec(t, `UPDATE audit.events SET id = -1 WHERE id = $1`, a)
		f.exec(t, `UPDATE audit.events SET id = $1 WHERE id = $2`, a, b)
		f.exec(t, `UPDATE audit.events SET id = $1 WHERE id = -1`, b)
		wantFirst(t, f.verify(t), audit.EventChanged, a)
	})
	t.Run("SwappedLeavesFails", func(t *testing.T) {
		t.Parallel()
		f := sealedLog(t)
		f.disableTriggers(t, "audit.leaves")
		f.exec(t, `UPDATE audit.leaves SET idx = 1e9 WHERE idx = 4`)
		f.exec(t, `UPDATE audit.leaves SET idx = 4 WHERE idx = 6`)
		f.exec(t, `UPDATE audit.leaves SET idx = 6 WHERE idx = 1e9`)
		rep := f.verify(t)
		wantFirst(t, rep, audit.LeafOrder, 0)
		if !hasKind(rep, audit.RootMismatch) {
			t.Fatalf("no root mismatch among %v", rep.Problems)
		}
	})
	t.Run("RebuiltWithAnotherKeyFails", func(t *testing.T) {
		// Someone with the database but not the key rebuilds the whole
		// log, changed, and signs it with a key of their own.
		t.Parallel()
		f := sealedLog(t)
		forger := newSigner(t, f.signer.Name())
		f.disableTriggers(t, "audit.events", "audit.leaves", "audit.checkpoints")
		f.exec(t, `UPDATE audit.events SET client_addr = '10.9.9.9'`)
		f.rewriteLeaves(t)
		f.resignCheckpoints(t, forger)
		rep := f.verify(t)
		wantFirst(t, rep, audit.BadSignature, 0)
		if !hasKind(rep, audit.RootMismatch) {
			t.Fatalf("the locked checkpoints did not catch the rebuilt tree: %v", rep.Problems)
		}
	})
	t.Run("RolledBackFails", func(t *testing.T) {
		t.Parallel()
		f := sealedLog(t)
		var keep int64 // leaves of the oldest checkpoint
		if err := f.owner.Get(&keep, `SELECT min(tree_size) FROM audit.checkpoints`); err != nil {
			t.Fatal(err)
		}
		f.disableTriggers(t, "audit.events", "audit.leaves", "audit.checkpoints")
		f.exec(t, `DELETE FROM audit.events WHERE id IN (SELECT event_id FROM audit.leaves WHERE idx >= $1)`, keep)
		f.exec(t, `DELETE FROM audit.leaves WHERE idx >= $1`, keep)
		f.exec(t, `DELETE FROM audit.checkpoints WHERE tree_size > $1`, keep)
		wantFirst(t, f.verify(t), audit.RolledBack, 0)

		f.sealerRefusesToSign(t) // a fork of what is locked in the store
	})
	t.Run("BucketCheckpointReplacedFails", func(t *testing.T) {
		t.Parallel()
		f := sealedLog(t)
		var ck struct {
			Size    int64  `db:"tree_size"`
			Note    string `db:"note"`
			Key     string `db:"object_key"`
			Version string `db:"object_version"`
		}
		if err := f.owner.Get(&ck, `SELECT tree_size, note, object_key, object_version FROM audit.checkpoints ORDER BY tree_size DESC LIMIT 1`); err != nil {
			t.Fatal(err)
		}
		client, ctx := f.minio(t), context.Background()
		// The locked version cannot be removed or overwritten...
		err := client.RemoveObject(ctx, f.s3.Bucket, ck.Key, minio.RemoveObjectOptions{VersionID: ck.Version})
		if err == nil {
			t.Fatal("a compliance-locked checkpoint was deleted")
		}
		// ...but a new version can be put over it, and must be caught.
		forger := newSigner(t, f.signer.Name())
		text, _, _ := strings.Cut(ck.Note, "\n\n")
		c, err := audit.ParseCheckpoint(text + "\n")
		if err != nil {
			t.Fatal(err)
		}
		c.Root = tlog.RecordHash([]byte("another history"))
		forged, err := audit.SignCheckpoint(c, forger)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := client.PutObject(ctx, f.s3.Bucket, ck.Key, bytes.NewReader(forged), int64(len(forged)),
			minio.PutObjectOptions{SendContentMd5: true}); err != nil {
			t.Fatal(err)
		}
		// A delete marker hides the locked version from a plain read only.
		if err := client.RemoveObject(ctx, f.s3.Bucket, ck.Key, minio.RemoveObjectOptions{}); err != nil {
			t.Fatal(err)
		}
		wantFirst(t, f.verify(t), audit.ForeignObject, 0)
	})
	t.Run("OlderCheckpointCopiedOverNewerFails", func(t *testing.T) {
		t.Parallel()
		f := sealedLog(t)
		var first, lastKey string
		if err := f.owner.Get(&first, `SELECT note FROM audit.checkpoints ORDER BY tree_size LIMIT 1`); err != nil {
			t.Fatal(err)
		}
		if err := f.owner.Get(&lastKey, `SELECT object_key FROM audit.checkpoints ORDER BY tree_size DESC LIMIT 1`); err != nil {
			t.Fatal(err)
		}
		if _, err := f.minio(t).PutObject(context.Background(), f.s3.Bucket, lastKey, strings.NewReader(first), int64(len(first)),
			minio.PutObjectOptions{SendContentMd5: true}); err != nil {
			t.Fatal(err)
		}
		wantFirst(t, f.verify(t), audit.ForeignObject, 0)
	})
	t.Run("CheckpointCopyMissingFails", func(t *testing.T) {
		t.Parallel()
		f := sealedLog(t)
		f.disableTriggers(t, "audit.checkpoints")
		f.exec(t, `UPDATE audit.checkpoints SET object_version = '00000000-0000-0000-0000-000000000000'
WHERE tree_size = (SELECT max(tree_size) FROM audit.checkpoints)`)
		rep := f.verify(t)
		if !hasKind(rep, audit.CheckpointMissing) {
			t.Fatalf("want CHECKPOINT_MISSING among %v", rep.Problems)
		}
	})
	t.Run("UnsealedTooLongFails", func(t *testing.T) {
		t.Parallel()
		f := sealedLog(t)
		f.record(t, principal("SBS", "officer"), 2, "case:file")
		ids := f.eventIDs(t)
		first := ids[len(ids)-2]
		if rep := f.verify(t); !rep.OK() || rep.Pending != 2 {
			t.Fatalf("fresh unsealed events fail: %v (pending %d)", rep.Problems, rep.Pending)
		}
		later := func(o *audit.VerifyOptions) { o.Now = time.Now().Add(2 * time.Minute) }
		wantFirst(t, f.verify(t, later), audit.EventUnsealed, first)
	})
	t.Run("ExternalCheckpointOfAnotherLogFails", func(t *testing.T) {
		t.Parallel()
		f := sealedLog(t)
		var size int64
		if err := f.owner.Get(&size, `SELECT min(tree_size) FROM audit.checkpoints`); err != nil {
			t.Fatal(err)
		}
		other, err := audit.SignCheckpoint(audit.Checkpoint{Origin: f.signer.Name(), Size: size, Root: tlog.RecordHash([]byte("x"))}, f.signer)
		if err != nil {
			t.Fatal(err)
		}
		wantFirst(t, f.verify(t, func(o *audit.VerifyOptions) { o.External = other }), audit.RootMismatch, 0)
	})
	t.Run("ExternalCheckpointAheadFails", func(t *testing.T) {
		t.Parallel()
		f := sealedLog(t)
		var top string
		if err := f.owner.Get(&top, `SELECT note FROM audit.checkpoints ORDER BY tree_size DESC LIMIT 1`); err != nil {
			t.Fatal(err)
		}
		f.disableTriggers(t, "audit.events", "audit.leaves", "audit.checkpoints")
		f.exec(t, `TRUNCATE audit.events, audit.leaves, audit.checkpoints`)
		wantFirst(t, f.verify(t, func(o *audit.VerifyOptions) { o.External = []byte(top) }), audit.RolledBack, 0)
	})
	t.Run("ExternalCheckpointOtherKeyFails", func(t *testing.T) {
		t.Parallel()
		f := sealedLog(t)
		forger := newSigner(t, f.signer.Name())
		c, err := audit.SignCheckpoint(audit.Checkpoint{Origin: forger.Name(), Size: 1, Root: tlog.RecordHash(nil)}, forger)
		if err != nil {
			t.Fatal(err)
		}
		wantFirst(t, f.verify(t, func(o *audit.VerifyOptions) { o.External = c }), audit.BadSignature, 0)
	})
}

// The application role can add to the trail and read it, nothing else; the
// owner cannot change it either while the triggers stand, not even as a
// replication client.
func TestAuditTablesAppendOnly(t *testing.T) {
	f := sealedLog(t)
	for _, tbl := range []string{"audit.events", "audit.leaves", "audit.checkpoints"} {
		for name, q := range map[string]string{
			"UpdateRefused":   `UPDATE ` + tbl + ` SET ` + map[string]string{"audit.events": "action = 'case:read'", "audit.leaves": "body = ''", "audit.checkpoints": "note = ''"}[tbl],
			"DeleteRefused":   `DELETE FROM ` + tbl,
			"TruncateRefused": `TRUNCATE ` + tbl,
		} {
			t.Run(tbl+"/App"+name, func(t *testing.T) {
				_, err := f.db.App.Exec(q)
				if got := postgres.SQLState(err); got != "42501" {
					t.Fatalf("%s as amparo_app: %v (SQLSTATE %q), want insufficient_privilege", q, err, got)
				}
			})
			t.Run(tbl+"/Owner"+name, func(t *testing.T) {
				_, err := f.owner.Exec(q)
				if got := postgres.SQLState(err); got != "42501" {
					t.Fatalf("%s as the owner: %v (SQLSTATE %q), want the trigger's refusal", q, err, got)
				}
			})
			t.Run(tbl+"/Replica"+name, func(t *testing.T) {
				conn, err := f.owner.Conn(context.Background())
				if err != nil {
					t.Fatal(err)
				}
				defer conn.Close()
				if _, err := conn.ExecContext(context.Background(), `SET session_replication_role = replica`); err != nil {
					t.Fatal(err)
				}
				defer conn.ExecContext(context.Background(), `RESET session_replication_role`)
				_, err = conn.ExecContext(context.Background(), q)
				if got := postgres.SQLState(err); got != "42501" {
					t.Fatalf("%s under replica role: %v (SQLSTATE %q), want the trigger's refusal", q, err, got)
				}
			})
		}
	}
	if rep := f.verify(t); !rep.OK() {
		t.Fatalf("the refused changes changed something: %v", rep.Problems)
	}
}

// sealerRefusesToSign adds events to a tampered log and runs a sealer: it
// seals them, but signs no checkpoint of the tampered tree.
func (f *fixture) sealerRefusesToSign(t *testing.T) {
	t.Helper()
	var before int64
	if err := f.owner.Get(&before, `SELECT coalesce(max(tree_size), 0) FROM audit.checkpoints`); err != nil {
		t.Fatal(err)
	}
	f.record(t, principal("PGN", "officer"), 40, "case:note")
	s, stop := f.sealer(t)
	eventually(t, 20*time.Second, func() error {
		var events, leaves int64
		if err := f.owner.QueryRowx(`SELECT (SELECT count(*) FROM audit.events), (SELECT count(*) FROM audit.leaves)`).Scan(&events, &leaves); err != nil {
			return err
		}
		if events != leaves {
			return errString("not all sealed")
		}
		return nil
	})
	from := s.Cycles()
	eventually(t, 10*time.Second, func() error {
		if s.Cycles() < from+3 {
			return errString("sealer has not cycled")
		}
		return nil
	})
	stop()
	var after int64
	if err := f.owner.Get(&after, `SELECT coalesce(max(tree_size), 0) FROM audit.checkpoints`); err != nil {
		t.Fatal(err)
	}
	if after != before {
		t.Fatalf("the sealer signed a checkpoint of %d leaves over the tampered log", after)
	}
}

func hasKind(rep *audit.Report, k audit.ProblemKind) bool {
	for _, p := range rep.Problems {
		if p.Kind == k {
			return true
		}
	}
	return false
}

type errString string

func (e errString) Error() string { return string(e) }

// rolledBackEvent writes an event in a transaction that rolls back and
// returns the id it took: a gap in the ids for good.
func (f *fixture) rolledBackEvent(t *testing.T) int64 {
	t.Helper()
	ctx := context.Background()
	tx, err := f.db.App.BeginTxx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	if err := audit.Record(ctx, tx, audit.Event{Action: "case:file", ObjectType: "case"}); err != nil {
		t.Fatal(err)
	}
	var id int64
	if err := tx.Get(&id, `SELECT currval('audit.events_id_seq')`); err != nil {
		t.Fatal(err)
	}
	return id
}

// rewriteLeaves does what a forger with the database would: re-encode
// every event into its leaf and recompute every tree hash kept, so that
// the database agrees with itself.
func (f *fixture) rewriteLeaves(t *testing.T) {
	t.Helper()
	ctx := context.Background()
	rows, err := f.owner.Query(`SELECT l.idx, e.id FROM audit.leaves l JOIN audit.events e ON e.id = l.event_id ORDER BY l.idx`)
	if err != nil {
		t.Fatal(err)
	}
	type leaf struct{ idx, id int64 }
	var leaves []leaf
	for rows.Next() {
		var l leaf
		if err := rows.Scan(&l.idx, &l.id); err != nil {
			t.Fatal(err)
		}
		leaves = append(leaves, l)
	}
	rows.Close()
	var all memHashes
	for _, l := range leaves {
		body, err := audit.EncodeRow(ctx, f.owner, l.id)
		if err != nil {
			t.Fatal(err)
		}
		hs, err := tlog.StoredHashes(l.idx, body, all)
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, hs...)
		var kept []byte
		for _, h := range hs {
			kept = append(kept, h[:]...)
		}
		f.exec(t, `UPDATE audit.leaves SET body = $1, hashes = $2 WHERE idx = $3`, body, kept, l.idx)
	}
}

// resignCheckpoints replaces every checkpoint in the database with one of
// the rewritten tree, signed by s.
func (f *fixture) resignCheckpoints(t *testing.T, s *audit.Signer) {
	t.Helper()
	var sizes []int64
	if err := f.owner.Select(&sizes, `SELECT tree_size FROM audit.checkpoints`); err != nil {
		t.Fatal(err)
	}
	hr := audit.LeafHashes(context.Background(), f.owner)
	for _, n := range sizes {
		root, err := tlog.TreeHash(n, hr)
		if err != nil {
			t.Fatal(err)
		}
		msg, err := audit.SignCheckpoint(audit.Checkpoint{Origin: s.Name(), Size: n, Root: root}, s)
		if err != nil {
			t.Fatal(err)
		}
		f.exec(t, `UPDATE audit.checkpoints SET note = $1 WHERE tree_size = $2`, string(msg), n)
	}
}

// minio is a client of the fixture's store, with the same credentials the
// server has: what an insider with the storage keys could do.
func (f *fixture) minio(t *testing.T) *minio.Client {
	t.Helper()
	return audit.BucketClient(f.store)
}

type memHashes []tlog.Hash

func (m memHashes) ReadHashes(indexes []int64) ([]tlog.Hash, error) {
	out := make([]tlog.Hash, len(indexes))
	for i, x := range indexes {
		out[i] = m[x]
	}
	return out, nil
}
