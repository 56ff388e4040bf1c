package statistics_test

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"amparo/internal/alert"
	"amparo/internal/audit"
	"amparo/internal/auth"
	"amparo/internal/authz"
	"amparo/internal/blob/blobtest"
	"amparo/internal/casefile"
	"amparo/internal/child"
	"amparo/internal/export"
	"amparo/internal/keys"
	"amparo/internal/postgres/postgrestest"
	"amparo/internal/reference"
	"amparo/internal/statistics"
	"amparo/policies"
)

func TestMain(m *testing.M) {
	code := m.Run()
	postgrestest.Stop()
	blobtest.Stop()
	os.Exit(code)
}

// fixture is a statistics service over a fresh database and, when asked
// for, a fresh exports bucket.
type fixture struct {
	db      *postgrestest.DB
	owner   *sqlx.DB
	svc     *statistics.Service
	users   *auth.Users
	exports *export.Bucket
	cases   *casefile.Service
}

// newFixture is a fixture over a fresh database whose statistics summary
// is built (over no cases) and never kept: every case the test writes
// waits in its queue, so tables read the summary and correct for the
// queue, unless the test runs the keeper.
func newFixture(tb testing.TB, withBucket bool, urlTTL time.Duration) *fixture {
	tb.Helper()
	f := fixtureOn(tb, postgrestest.New(tb), withBucket, urlTTL)
	f.settle(tb)
	return f
}

// fixtureOn is a fixture over db; without an owner URL, f.owner is nil.
func fixtureOn(tb testing.TB, db *postgrestest.DB, withBucket bool, urlTTL time.Duration) *fixture {
	tb.Helper()
	ctx := context.Background()
	if err := authz.SyncPolicy(ctx, db.App, policies.Policy); err != nil {
		tb.Fatal(err)
	}
	az, err := authz.New(policies.Model, authz.NewDB(db.App))
	if err != nil {
		tb.Fatal(err)
	}
	cat, err := reference.Load(ctx, db.App)
	if err != nil {
		tb.Fatal(err)
	}
	log := slog.New(slog.DiscardHandler)
	g := authz.NewGuard(az, db.App, audit.Denials{DB: db.App}, log)
	f := &fixture{db: db, users: auth.NewUsers(db.App)}
	if db.OwnerURL != "" {
		f.owner = db.Owner(tb)
	}
	var ex statistics.Exports
	if withBucket {
		_, cfg := blobtest.New(tb)
		cfg.Bucket += "-exports"
		if f.exports, err = export.OpenBucket(ctx, cfg, urlTTL); err != nil {
			tb.Fatal(err)
		}
		ex = f.exports
	}
	keyFile := filepath.Join(tb.TempDir(), "identity.keys")
	if err := keys.InitFile(keyFile); err != nil {
		tb.Fatal(err)
	}
	kf, err := keys.LoadFile(keyFile)
	if err != nil {
		tb.Fatal(err)
	}
	f.cases = casefile.NewService(db.App, g, cat, child.Keys{Vault: keys.NewVault(kf), Index: kf.Index()}, alert.NewRaiser(g))
	f.svc = statistics.NewService(db.App, g, cat, ex, f.cases, log)
	return f
}

// as is a context of the demo user email.
func (f *fixture) as(tb testing.TB, email string) context.Context {
	tb.Helper()
	p, err := f.users.BySubject(context.Background(), email)
	if err != nil {
		tb.Fatal(err)
	}
	return auth.With(context.Background(), p)
}

// rec is one seeded case: its institution, department, child, violation,
// filing time and record key.
type rec struct {
	inst, dept, sex, band, vtype string
	at                           time.Time
	key                          uint32
}

// seed inserts cases, straight into the tables, with the record keys given
// (the application never sets them; a test fixes them to be reproducible).
func (f *fixture) seed(tb testing.TB, recs []rec) []uuid.UUID {
	tb.Helper()
	ids, err := f.insertIDs(recs)
	if err != nil {
		tb.Fatal(err)
	}
	return ids
}

// insert is seed for other goroutines than the test's.
func (f *fixture) insert(recs []rec) error {
	_, err := f.insertIDs(recs)
	return err
}

func (f *fixture) insertIDs(recs []rec) ([]uuid.UUID, error) {
	n := len(recs)
	ids, children := make([]string, n), make([]string, n)
	insts, deps, sexes, bands, types, rkeys := make([]string, n), make([]string, n), make([]string, n),
		make([]string, n), make([]string, n), make([]int64, n)
	ats := make([]time.Time, n)
	out := make([]uuid.UUID, n)
	for i, r := range recs {
		out[i] = uuid.New()
		ids[i], children[i] = out[i].String(), uuid.NewString()
		insts[i], deps[i], sexes[i], bands[i], types[i], ats[i], rkeys[i] = r.inst, r.dept, r.sex, r.band, r.vtype, r.at, int64(r.key)
	}
	_, err := f.owner.Exec(`
WITH u AS (SELECT id FROM users WHERE email = 'officer@pgn.demo'),
s AS (SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[],
        $8::timestamptz[], $9::bigint[])
      AS s(id, child, inst, dept, sex, band, vtype, at, key)),
ch AS (INSERT INTO children (id, institution_code, sex, nationality, population_status, care_status, age_band, created_by, created_at)
  SELECT s.child, s.inst, s.sex, 'HND', 'MIGRANT_TRANSIT', 'UNACCOMPANIED', s.band, u.id, s.at FROM s, u RETURNING id),
c AS (INSERT INTO cases (id, institution_code, reference, status, urgency, due_at, department_code, summary, child_id,
  assigned_to, created_by, created_at, updated_by, updated_at, record_key)
  SELECT s.id, s.inst, s.inst || '-T-' || s.id, 'REGISTERED', 'LOW', s.at + interval '5 days', s.dept, NULL, s.child,
    u.id, u.id, s.at, u.id, s.at, s.key FROM s, u RETURNING id)
INSERT INTO case_violations (case_id, position, type_code, record_key)
SELECT s.id, 0, s.vtype, (s.key # 2654435761) % 4294967296 FROM s`,
		pq.Array(ids), pq.Array(children), pq.Array(insts), pq.Array(deps), pq.Array(sexes), pq.Array(bands), pq.Array(types),
		pq.Array(ats), pq.Array(rkeys))
	return out, err
}
