package audit_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jmoiron/sqlx"
	"golang.org/x/mod/sumdb/note"

	"amparo/internal/audit"
	"amparo/internal/auth"
	"amparo/internal/blob"
	"amparo/internal/blob/blobtest"
	"amparo/internal/postgres"
	"amparo/internal/postgres/postgrestest"
)

func TestMain(m *testing.M) {
	code := m.Run()
	postgrestest.Stop()
	blobtest.Stop()
	os.Exit(code)
}

// fixture is a fresh database and checkpoint bucket, a signing key, and the
// superuser connection tests tamper through.
type fixture struct {
	db     *postgrestest.DB
	owner  *sqlx.DB
	store  *audit.Bucket
	s3     blob.Config
	signer *audit.Signer
}

func newFixture(tb testing.TB) *fixture {
	tb.Helper()
	db := postgrestest.New(tb)
	_, cfg := blobtest.New(tb)
	store, err := audit.OpenBucket(context.Background(), cfg, 24*time.Hour)
	if err != nil {
		tb.Fatal(err)
	}
	return &fixture{db: db, owner: db.Owner(tb), store: store, s3: cfg, signer: newSigner(tb, "amparo.audit/test")}
}

// principal is an actor of institution inst.
func principal(inst string, roles ...string) *auth.Principal {
	return &auth.Principal{UserID: uuid.New(), Email: "x@" + inst + ".demo", Institution: inst, Roles: roles}
}

// record writes n events as the application does, each in a transaction of
// its own, acting as p.
func (f *fixture) record(tb testing.TB, p *auth.Principal, n int, action string) {
	tb.Helper()
	ctx := auth.With(context.Background(), p)
	for i := range n {
		err := postgres.WithTx(ctx, f.db.App, func(tx *sqlx.Tx) error {
			return audit.Record(ctx, tx, audit.Event{Action: action, ObjectType: "case", ObjectID: uuid.NewString(),
				Details: map[string]any{"n": i, "sha256": "ab12"}})
		})
		if err != nil {
			tb.Fatal(err)
		}
	}
}

// sealer runs a sealer with test timing until the test ends (or stop is
// called) and returns it.
func (f *fixture) sealer(tb testing.TB, opts ...audit.SealerOption) (s *audit.Sealer, stop func()) {
	tb.Helper()
	opts = append([]audit.SealerOption{audit.WithPollInterval(10 * time.Millisecond), audit.WithCheckpointInterval(0),
		audit.WithLeaderRetry(50 * time.Millisecond)}, opts...)
	s = audit.NewSealer(f.db.Sealer, f.store, f.signer, testLog(tb), opts...)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); _ = s.Run(ctx) }()
	var once sync.Once
	stop = func() { once.Do(func() { cancel(); wg.Wait() }) }
	tb.Cleanup(stop)
	return s, stop
}

// waitSealed waits until every event is sealed and checkpointed (the
// deadline is generous for benchmarks that seal hundreds of thousands).
func (f *fixture) waitSealed(tb testing.TB) {
	tb.Helper()
	eventually(tb, 2*time.Minute, func() error {
		var events, leaves, top int64
		err := f.owner.QueryRowx(`SELECT (SELECT count(*) FROM audit.events), (SELECT count(*) FROM audit.leaves),
  (SELECT coalesce(max(tree_size), 0) FROM audit.checkpoints)`).Scan(&events, &leaves, &top)
		if err != nil {
			return err
		}
		if events != leaves || leaves != top {
			return fmt.Errorf("%d events, %d sealed, %d checkpointed", events, leaves, top)
		}
		return nil
	})
}

// eventually polls cond until it holds or the deadline passes.
func eventually(tb testing.TB, within time.Duration, cond func() error) {
	tb.Helper()
	deadline := time.Now().Add(within)
	for {
		err := cond()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			tb.Fatalf("still not so after %s: %v", within, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// verify runs Verify with the fixture's key and store.
func (f *fixture) verify(tb testing.TB, mod ...func(*audit.VerifyOptions)) *audit.Report {
	tb.Helper()
	o := audit.VerifyOptions{Verifiers: []note.Verifier{f.signer.Verifier()}, Store: f.store}
	for _, m := range mod {
		m(&o)
	}
	rep, err := audit.Verify(context.Background(), f.db.App, o)
	if err != nil {
		tb.Fatalf("Verify: %v", err)
	}
	return rep
}

// exec runs statements as the superuser.
func (f *fixture) exec(tb testing.TB, q string, args ...any) {
	tb.Helper()
	if _, err := f.owner.Exec(q, args...); err != nil {
		tb.Fatalf("%s: %v", q, err)
	}
}

// eventIDs lists the event ids in id order.
func (f *fixture) eventIDs(tb testing.TB) []int64 {
	tb.Helper()
	var ids []int64
	if err := f.owner.Select(&ids, `SELECT id FROM audit.events ORDER BY id`); err != nil {
		tb.Fatal(err)
	}
	return ids
}

func testLog(tb testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(testWriter{tb}, &slog.HandlerOptions{Level: slog.LevelInfo}))
}

type testWriter struct{ tb testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.tb.Log(string(p))
	return len(p), nil
}

func newSigner(tb testing.TB, origin string) *audit.Signer {
	tb.Helper()
	skey, _, err := audit.GenerateKey(origin)
	if err != nil {
		tb.Fatal(err)
	}
	s, err := audit.NewSigner([]byte(skey))
	if err != nil {
		tb.Fatal(err)
	}
	return s
}
