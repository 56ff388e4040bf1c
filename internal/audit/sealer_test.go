package audit_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"amparo/internal/audit"
	"amparo/internal/auth"
	"amparo/internal/postgres"
)

// Event ids come from a sequence, so a transaction can hold a lower id
// than one that commits before it. The sealer must wait for it: sealing
// the higher id first would leave the lower one out of the log for good.
// Here the writer holding the lower id also took its transaction id last,
// which is the case that a rule on transaction ids alone gets wrong.
func TestAuditSealerWaitsForRunningWriters(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	s, _ := f.sealer(t)
	f.waitSealed(t)
	ctx := auth.With(context.Background(), principal("PGN", "officer"))

	early, err := f.db.App.BeginTxx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer early.Rollback()
	if _, err := early.Exec(`SELECT pg_current_xact_id()`); err != nil {
		t.Fatal(err)
	}
	slow, err := f.db.App.BeginTxx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer slow.Rollback()
	low := recordIn(t, ctx, slow) // the lower id, in the younger transaction
	high := recordIn(t, ctx, early)
	if err := early.Commit(); err != nil {
		t.Fatal(err)
	}
	f.record(t, principal("PGN", "officer"), 3, "case:file") // and more after it

	// Let the sealer run several cycles past all of that.
	from := s.Cycles()
	eventually(t, 10*time.Second, func() error {
		if s.Cycles() < from+5 {
			return errors.New("sealer has not cycled")
		}
		return nil
	})
	var past int
	if err := f.owner.Get(&past, `SELECT count(*) FROM audit.leaves WHERE event_id >= $1`, low); err != nil {
		t.Fatal(err)
	}
	if past != 0 {
		t.Fatalf("%d events at or past id %d sealed while the writer of %d was still running (and %d committed)", past, low, low, high)
	}
	if err := slow.Commit(); err != nil {
		t.Fatal(err)
	}
	f.waitSealed(t)
	if rep := f.verify(t); !rep.OK() {
		t.Fatalf("Verify: %v", rep.Problems)
	}
}

func recordIn(t *testing.T, ctx context.Context, tx *sqlx.Tx) int64 {
	t.Helper()
	if err := audit.Record(ctx, tx, audit.Event{Action: "case:file", ObjectType: "case", ObjectID: "x"}); err != nil {
		t.Fatal(err)
	}
	var id int64
	if err := tx.Get(&id, `SELECT currval('audit.events_id_seq')`); err != nil {
		t.Fatal(err)
	}
	return id
}

// Many writers at once, some of them rolling back: every committed event
// is sealed once, in id order, and rolled-back ids stay gaps.
func TestAuditSealerUnderConcurrentWriters(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.sealer(t, audit.WithBatchSize(37)) // small batches: many cycles
	w := startWriters(t, f, 16)
	eventually(t, 20*time.Second, func() error {
		if w.written() < 600 {
			return fmt.Errorf("%d events written", w.written())
		}
		return nil
	})
	w.stop(t)
	f.waitSealed(t)
	rep := f.verify(t)
	if !rep.OK() {
		t.Fatalf("Verify: %v", rep.Problems)
	}
	t.Logf("%d events sealed, %d rolled back", rep.Leaves, w.rolledBack())
}

// Two sealers, the leader dies (its connection is killed, then it is
// stopped): the other leads within seconds and nothing is sealed twice.
func TestAuditSealerFailover(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	a, stopA := f.sealer(t, audit.WithLeaderRetry(time.Second))
	eventually(t, 10*time.Second, func() error {
		if !a.Leader() {
			return errors.New("a does not lead")
		}
		return nil
	})
	b, stopB := f.sealer(t, audit.WithLeaderRetry(time.Second))
	w := startWriters(t, f, 4)

	from := a.Cycles()
	eventually(t, 10*time.Second, func() error {
		if a.Cycles() < from+10 {
			return errors.New("a has not cycled")
		}
		return nil
	})
	if b.Leader() {
		t.Fatal("two leaders at once")
	}

	t.Run("KilledConnectionTakenOver", func(t *testing.T) {
		old := f.lockHolder(t)
		f.exec(t, `SELECT pg_terminate_backend($1)`, old)
		start := time.Now()
		eventually(t, 10*time.Second, func() error {
			if pid := f.lockHolder(t); pid == 0 || pid == old {
				return errors.New("no new leader")
			}
			return nil
		})
		t.Logf("a new leader after %s", time.Since(start).Round(time.Millisecond))
	})
	t.Run("StoppedLeaderTakenOver", func(t *testing.T) {
		var next *audit.Sealer
		eventually(t, 10*time.Second, func() error {
			switch {
			case a.Leader():
				stopA()
				next = b
			case b.Leader():
				stopB()
				next = a
			default:
				return errors.New("no leader")
			}
			return nil
		})
		start := time.Now()
		eventually(t, 10*time.Second, func() error {
			if !next.Leader() {
				return errors.New("the other sealer does not lead")
			}
			return nil
		})
		t.Logf("the other sealer leads after %s", time.Since(start).Round(time.Millisecond))
	})

	w.stop(t)
	f.waitSealed(t)
	var dup int
	if err := f.owner.Get(&dup, `SELECT count(*) - count(DISTINCT event_id) FROM audit.leaves`); err != nil {
		t.Fatal(err)
	}
	if dup != 0 {
		t.Fatalf("%d events sealed twice", dup)
	}
	if rep := f.verify(t); !rep.OK() {
		t.Fatalf("Verify: %v", rep.Problems)
	}
}

// lockHolder is the backend pid holding the sealer's lock in the fixture's
// database, or 0.
func (f *fixture) lockHolder(tb testing.TB) int {
	tb.Helper()
	const q = `SELECT coalesce(max(pid), 0) FROM pg_locks
WHERE locktype = 'advisory' AND granted AND objsubid = 1
  AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
  AND ((classid::bigint << 32) | objid::bigint) = $1`
	var pid int
	if err := f.owner.Get(&pid, q, audit.SealerLock); err != nil {
		tb.Fatal(err)
	}
	return pid
}

// writers write events from n goroutines, one in seven rolled back, until
// stopped (and at most for a minute).
type writers struct {
	done     chan struct{}
	wg       sync.WaitGroup
	mu       sync.Mutex
	n, rb    int
	firstErr error
}

func startWriters(tb testing.TB, f *fixture, n int) *writers {
	tb.Helper()
	w := &writers{done: make(chan struct{})}
	deadline := time.Now().Add(time.Minute)
	for g := range n {
		w.wg.Add(1)
		go func() {
			defer w.wg.Done()
			ctx := auth.With(context.Background(), principal("PGN", "officer"))
			rollback := errors.New("rolled back on purpose")
			for i := 0; time.Now().Before(deadline); i++ {
				select {
				case <-w.done:
					return
				default:
				}
				err := postgres.WithTx(ctx, f.db.App, func(tx *sqlx.Tx) error {
					if err := audit.Record(ctx, tx, audit.Event{Action: "case:file", ObjectType: "case", ObjectID: fmt.Sprint(g, "-", i)}); err != nil {
						return err
					}
					if i%7 == 3 {
						return rollback
					}
					return nil
				})
				w.mu.Lock()
				switch {
				case errors.Is(err, rollback):
					w.rb++
				case err != nil:
					if w.firstErr == nil {
						w.firstErr = err
					}
				default:
					w.n++
				}
				w.mu.Unlock()
				if err != nil && !errors.Is(err, rollback) {
					return
				}
			}
		}()
	}
	tb.Cleanup(func() { w.stop(tb) })
	return w
}

func (w *writers) written() int    { w.mu.Lock(); defer w.mu.Unlock(); return w.n }
func (w *writers) rolledBack() int { w.mu.Lock(); defer w.mu.Unlock(); return w.rb }

func (w *writers) stop(tb testing.TB) {
	tb.Helper()
	select {
	case <-w.done:
	default:
		close(w.done)
	}
	w.wg.Wait()
	if w.firstErr != nil {
		tb.Fatalf("writer: %v", w.firstErr)
	}
}
