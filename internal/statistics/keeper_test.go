package statistics_test

import (
	"context"
	"math/rand/v2"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"amparo/internal/statistics"
)

// runKeeper runs a keeper over f's database until the test ends or stop
// is called; stop waits for it to return.
func runKeeper(tb testing.TB, f *fixture, cfg statistics.KeeperConfig) (k *statistics.Keeper, stop func()) {
	tb.Helper()
	if cfg.Interval == 0 {
		cfg.Interval = 5 * time.Millisecond
	}
	if cfg.LeaderRetry == 0 {
		cfg.LeaderRetry = 10 * time.Millisecond
	}
	k = statistics.NewKeeper(f.db.App, nil, cfg)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { k.Run(ctx) })
	var once sync.Once
	stop = func() { once.Do(func() { cancel(); wg.Wait() }) }
	tb.Cleanup(stop)
	return k, stop
}

// waitFor polls cond until it holds, or fails the test after a minute.
func waitFor(tb testing.TB, what string, cond func() bool) {
	tb.Helper()
	for deadline := time.Now().Add(time.Minute); !cond(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			tb.Fatal("timed out waiting until", what)
		}
	}
}

// caughtUp reports whether the summary is built and its queue empty.
func caughtUp(tb testing.TB, f *fixture) bool {
	tb.Helper()
	var ok bool
	if err := f.owner.Get(&ok, `SELECT built AND NOT EXISTS (SELECT 1 FROM stat_changes) FROM stat_build`); err != nil {
		tb.Fatal(err)
	}
	return ok
}

// build is where the summary's build stands: built, the last case id
// counted and how many cases it holds.
type build struct {
	Built   bool       `db:"built"`
	After   *uuid.UUID `db:"after"`
	Applied int        `db:"applied"`
}

func buildState(tb testing.TB, f *fixture) build {
	tb.Helper()
	var b build
	if err := f.owner.Get(&b, `SELECT built, after, (SELECT count(*) FROM stat_applied) AS applied FROM stat_build`); err != nil {
		tb.Fatal(err)
	}
	return b
}

// TestSummaryBuildRacesWriters: while the keeper builds the summary in
// small batches, eight connections file cases, change statuses, urgencies
// and deadlines, add and remove violations and correct children, half of
// them on the cases either side of the build's boundary at that moment;
// once the keeper has caught up the summary equals one built from the
// records alone.
func TestSummaryBuildRacesWriters(t *testing.T) {
	f := newFixture(t, false, 0)
	var recs []rec
	for i := range 400 {
		recs = append(recs, rec{inst: []string{"PGN", "SBS"}[i%2], dept: []string{"GT-12", "GT-13"}[i%3%2], sex: []string{"FEMALE", "MALE"}[i%5%2],
			band: "AGE_13_17", vtype: "NEGLECT", at: march, key: uint32(i) * 977})
	}
	ids := f.seed(t, recs)
	if _, err := f.owner.Exec(`UPDATE stat_horizon SET at = now() - interval '1 day'; SELECT stat_rebuild()`); err != nil {
		t.Fatal(err)
	}
	_, stop := runKeeper(t, f, statistics.KeeperConfig{BuildBatch: 3, Batch: 20})
	waitFor(t, "the build has begun", func() bool { return buildState(t, f).After != nil })
	statuses := []string{"ASSESSMENT", "CASE_PLAN", "IMPLEMENTATION", "FOLLOW_UP", "REGISTERED"}
	types := []string{"TRAFFICKING", "NEGLECT", "DENIAL_HEALTH"}
	var mu sync.Mutex
	duringBuild := 0
	errs := make(chan error, 8)
	for w := range 8 {
		go func() {
			r := rand.New(rand.NewPCG(uint64(w), 7))
			for i := range 40 {
				var b build
				if err := f.owner.Get(&b, `SELECT built, after, 0 AS applied FROM stat_build`); err != nil {
					errs <- err
					return
				}
				id := ids[r.IntN(len(ids))]
				if !b.Built && b.After != nil && r.IntN(2) == 0 {
					// The case just counted, or the next one to count.
					q := `SELECT id FROM cases WHERE id <= $1 ORDER BY id DESC LIMIT 1`
					if r.IntN(2) == 0 {
						q = `SELECT id FROM cases WHERE id > $1 ORDER BY id LIMIT 1`
					}
					if err := f.owner.Get(&id, q, *b.After); err != nil {
						id = ids[0] // past the last case
					}
				}
				if !b.Built {
					mu.Lock()
					duringBuild++
					mu.Unlock()
				}
				var err error
				switch i % 6 {
				case 0:
					err = f.insert([]rec{{inst: "PGN", dept: "GT-13", sex: "FEMALE", band: "AGE_6_12", vtype: "NEGLECT", at: march, key: r.Uint32()}})
				case 1:
					_, err = f.owner.Exec(`INSERT INTO case_violations (case_id, position, type_code) VALUES ($1, $3, $2) ON CONFLICT DO NOTHING`,
						id, types[r.IntN(len(types))], 1+r.IntN(30000))
				case 2:
					_, err = f.owner.Exec(`DELETE FROM case_violations WHERE case_id = $1 AND position = (SELECT max(position) FROM case_violations WHERE case_id = $1)`, id)
				case 3:
					_, err = f.owner.Exec(`UPDATE children SET sex = $2 WHERE id = (SELECT child_id FROM cases WHERE id = $1)`, id, []string{"FEMALE", "MALE", "OTHER"}[r.IntN(3)])
				default:
					_, err = f.owner.Exec(`UPDATE cases SET status = $1, urgency = $2, due_at = now() + $4 * interval '1 minute' WHERE id = $3`,
						statuses[r.IntN(len(statuses))], []string{"HIGH", "LOW"}[r.IntN(2)], id, r.IntN(600)-1500)
				}
				if err != nil {
					errs <- err
					return
				}
			}
			errs <- nil
		}()
	}
	for range 8 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	if duringBuild < 20 {
		t.Fatalf("only %d changes while the summary was being built: no race tried", duringBuild)
	}
	waitFor(t, "the keeper has caught up", func() bool { return caughtUp(t, f) })
	stop()
	if kept, rebuilt := pairs(t, f), rebuild(t, f); !reflect.DeepEqual(kept, rebuilt) {
		t.Errorf("kept %d rows, rebuilt %d, differ: kept only %q, rebuilt only %q", len(kept), len(rebuilt),
			difference(kept, rebuilt), difference(rebuilt, kept))
	}
}

// TestSummaryBuildResumes: a keeper killed in the middle of a build batch
// (its connection terminated while the batch waits) loses that batch only;
// the next build step goes on after the last committed one, not from the
// start, and the summary ends equal to one built at once.
func TestSummaryBuildResumes(t *testing.T) {
	f := newFixture(t, false, 0)
	var recs []rec
	for i := range 300 {
		recs = append(recs, rec{inst: "PGN", dept: []string{"GT-12", "GT-13", "GT-01"}[i%3], sex: "FEMALE", band: "AGE_6_12",
			vtype: []string{"NEGLECT", "TRAFFICKING"}[i%2], at: march, key: uint32(i) * 7919})
	}
	f.seed(t, recs)
	want := rebuild(t, f)
	if _, err := f.owner.Exec(`SELECT stat_rebuild()`); err != nil {
		t.Fatal(err)
	}
	k, stop := runKeeper(t, f, statistics.KeeperConfig{BuildBatch: 2, LeaderRetry: time.Hour})
	waitFor(t, "the build has begun", func() bool { return buildState(t, f).After != nil })
	// The keeper's next batch waits for the worker lock held here, and is
	// killed while it waits.
	hold, err := f.owner.Beginx()
	if err != nil {
		t.Fatal(err)
	}
	defer hold.Rollback()
	if _, err := hold.Exec(`SELECT pg_advisory_xact_lock(52, 1)`); err != nil {
		t.Fatal(err)
	}
	var killed int
	waitFor(t, "a batch waits for the lock", func() bool {
		if err := f.owner.Get(&killed, `SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
			WHERE wait_event_type = 'Lock' AND wait_event = 'advisory' AND query LIKE 'SELECT stat_%'`); err != nil {
			t.Fatal(err)
		}
		return killed == 1
	})
	waitFor(t, "the killed keeper steps down", func() bool { return !k.Leader() })
	stop()
	if err := hold.Rollback(); err != nil {
		t.Fatal(err)
	}
	at := buildState(t, f)
	if at.Built || at.Applied == 0 || at.Applied >= 300 {
		t.Fatalf("build at %+v: not killed midway", at)
	}
	var built bool
	if err := f.db.App.Get(&built, `SELECT stat_build_step(20)`); err != nil || built {
		t.Fatal(built, err)
	}
	if next := buildState(t, f); next.Applied != at.Applied+20 || next.After.String() <= at.After.String() {
		t.Fatalf("build went from %+v to %+v: not resumed after the last batch", at, next)
	}
	runKeeper(t, f, statistics.KeeperConfig{BuildBatch: 20})
	waitFor(t, "the new keeper has built the summary", func() bool { return caughtUp(t, f) })
	if got := pairs(t, f); !reflect.DeepEqual(got, want) {
		t.Errorf("resumed %d rows, built at once %d, differ: resumed only %q, at once only %q", len(got), len(want),
			difference(got, want), difference(want, got))
	}
}

// TestSummaryKeepersOneLeads: of two keepers, one leads and applies the
// queue; when it stops the other takes over and applies what follows.
func TestSummaryKeepersOneLeads(t *testing.T) {
	f := newFixture(t, false, 0)
	k1, stop1 := runKeeper(t, f, statistics.KeeperConfig{})
	k2, stop2 := runKeeper(t, f, statistics.KeeperConfig{})
	waitFor(t, "one keeper leads", func() bool { return k1.Leader() || k2.Leader() })
	for range 50 {
		if k1.Leader() == k2.Leader() {
			t.Fatal("both keepers lead, or neither")
		}
		time.Sleep(2 * time.Millisecond)
	}
	leader, other, stopLeader := k1, k2, stop1
	if k2.Leader() {
		leader, other, stopLeader = k2, k1, stop2
	}
	seedOne := func(key uint32) {
		f.seed(t, []rec{{inst: "SBS", dept: "GT-17", sex: "MALE", band: "AGE_0_5", vtype: "NEGLECT", at: march, key: key}})
	}
	seedOne(1)
	waitFor(t, "the leader applies the queue", func() bool { return caughtUp(t, f) })
	stopLeader()
	if leader.Leader() {
		t.Fatal("a stopped keeper still leads")
	}
	waitFor(t, "the other keeper leads", other.Leader)
	seedOne(2)
	waitFor(t, "the new leader applies the queue", func() bool { return caughtUp(t, f) })
	kept := pairs(t, f)
	if rebuilt := rebuild(t, f); !reflect.DeepEqual(kept, rebuilt) || len(kept) == 0 {
		t.Errorf("kept %d rows, rebuilt %d, differ", len(kept), len(rebuilt))
	}
}
