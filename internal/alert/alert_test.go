package alert_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jmoiron/sqlx"

	"amparo/internal/alert"
	"amparo/internal/apperr"
	"amparo/internal/audit"
	"amparo/internal/auth"
	"amparo/internal/authz"
	"amparo/internal/casefile"
	"amparo/internal/child"
	"amparo/internal/keys"
	"amparo/internal/postgres"
	"amparo/internal/postgres/postgrestest"
	"amparo/internal/reference"
	"amparo/policies"
)

func TestMain(m *testing.M) {
	code := m.Run()
	postgrestest.Stop()
	os.Exit(code)
}

// fixture is a fresh database with the guard, an alert raiser, the case
// service that raises through it, and the inbox.
type fixture struct {
	db     *postgrestest.DB
	owner  *sqlx.DB
	guard  *authz.Guard
	raiser *alert.Raiser
	cases  *casefile.Service
	users  *auth.Users
}

func newFixture(tb testing.TB) *fixture {
	tb.Helper()
	db := postgrestest.New(tb)
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
	g := authz.NewGuard(az, db.App, audit.Denials{DB: db.App}, slog.New(slog.DiscardHandler))
	r := alert.NewRaiser(g)
	keyFile := filepath.Join(tb.TempDir(), "identity.keys")
	if err := keys.InitFile(keyFile); err != nil {
		tb.Fatal(err)
	}
	kf, err := keys.LoadFile(keyFile)
	if err != nil {
		tb.Fatal(err)
	}
	cases := casefile.NewService(db.App, g, cat, child.Keys{Vault: keys.NewVault(kf), Index: kf.Index()}, r)
	return &fixture{db: db, owner: db.Owner(tb), guard: g, raiser: r, cases: cases, users: auth.NewUsers(db.App)}
}

// as is a context acting as the demo user email.
func (f *fixture) as(tb testing.TB, email string) context.Context {
	tb.Helper()
	p, err := f.users.BySubject(context.Background(), email)
	if err != nil {
		tb.Fatal(err)
	}
	return auth.With(context.Background(), p)
}

func (f *fixture) userID(tb testing.TB, email string) uuid.UUID {
	tb.Helper()
	var id uuid.UUID
	if err := f.db.App.Get(&id, `SELECT id FROM users WHERE email = $1`, email); err != nil {
		tb.Fatal(err)
	}
	return id
}

// file files a case of urgency u as email.
func (f *fixture) file(tb testing.TB, email string, u casefile.Urgency) uuid.UUID {
	tb.Helper()
	age := 12
	c, err := f.cases.File(f.as(tb, email), casefile.FileInput{
		IdempotencyKey: uuid.NewString(),
		Child: child.Input{AgeYears: &age, Sex: child.Sex("FEMALE"), Nationality: "HND",
			PopulationStatus: child.PopulationStatus("MIGRANT_TRANSIT"), CareStatus: child.CareStatus("UNACCOMPANIED")},
		Violations:     []casefile.ViolationInput{{Type: "TRAFFICKING"}},
		DepartmentCode: "GT-13", Urgency: u, Summary: "Niña no acompañada en La Mesilla.",
	})
	if err != nil {
		tb.Fatal(err)
	}
	return c.ID
}

// recipients lists who was alerted of kind about case id.
func (f *fixture) recipients(tb testing.TB, kind alert.Kind, id uuid.UUID) []string {
	tb.Helper()
	var out []string
	if err := f.owner.Select(&out, `SELECT u.email FROM alerts a JOIN users u ON u.id = a.recipient_id
WHERE a.kind = $1 AND a.case_id = $2 ORDER BY u.email`, kind, id); err != nil {
		tb.Fatal(err)
	}
	return out
}

// newOfficer adds an enabled officer of institution, who filed nothing.
func (f *fixture) newOfficer(tb testing.TB, institution string) string {
	tb.Helper()
	id := uuid.New()
	email := id.String() + "@test.demo"
	if _, err := f.owner.Exec(`INSERT INTO users (id, email, display_name, institution_code, subject) VALUES ($1, $2, 'Oficial', $3, $2)`,
		id, email, institution); err != nil {
		tb.Fatal(err)
	}
	if _, err := f.owner.Exec(`INSERT INTO role_grants (user_id, role, domain) VALUES ($1, 'officer', $2)`, id, institution); err != nil {
		tb.Fatal(err)
	}
	return email
}

func TestUrgentCase(t *testing.T) {
	f := newFixture(t)
	other := f.newOfficer(t, "PGN")
	for _, tc := range []struct {
		name    string
		filer   string
		urgency casefile.Urgency
		want    []string
	}{
		// The filer is not told of their own filing; another officer of
		// PGN may not read a case they neither filed nor were assigned
		// (case:read own), so the guard leaves them out.
		{"ImmediateReachesTheSupervisorOnly", "officer@pgn.demo", casefile.Immediate, []string{"supervisor@pgn.demo"}},
		{"HighReachesTheSupervisorOnly", "officer@pgn.demo", casefile.High, []string{"supervisor@pgn.demo"}},
		{"MediumRaisesNothing", "officer@pgn.demo", casefile.Medium, nil},
		{"LowRaisesNothing", "officer@pgn.demo", casefile.Low, nil},
		{"AnotherInstitutionsCaseNeverReachesPGN", "officer@sbs.demo", casefile.Immediate, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			id := f.file(t, tc.filer, tc.urgency)
			got := f.recipients(t, alert.UrgentCase, id)
			if fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Errorf("alerted %v, want %v (officer %s must never be)", got, tc.want, other)
			}
		})
	}
	t.Run("RolledBackFilingLeavesNoAlert", func(t *testing.T) {
		var before int
		if err := f.owner.Get(&before, `SELECT count(*) FROM alerts`); err != nil {
			t.Fatal(err)
		}
		ctx := f.as(t, "officer@pgn.demo")
		id := uuid.New()
		err := postgres.WithTx(ctx, f.db.App, func(tx *sqlx.Tx) error {
			var c uuid.UUID
			if err := tx.Get(&c, `SELECT id FROM cases WHERE institution_code = 'PGN' LIMIT 1`); err != nil {
				return err
			}
			if err := f.raiser.UrgentCase(ctx, tx, c, "PGN", "IMMEDIATE"); err != nil {
				return err
			}
			return apperr.New(apperr.Conflict, "abortar", "abort "+id.String())
		})
		if !apperr.Is(err, apperr.Conflict) {
			t.Fatalf("err = %v", err)
		}
		var after int
		if err := f.owner.Get(&after, `SELECT count(*) FROM alerts`); err != nil {
			t.Fatal(err)
		}
		if after != before {
			t.Errorf("alerts %d → %d after a rolled-back change", before, after)
		}
	})
}

// hub runs a Hub over f's database until the test ends, and its inbox.
func (f *fixture) hub(tb testing.TB, cfg alert.HubConfig) (*alert.Hub, *alert.Service) {
	tb.Helper()
	h := alert.NewHub(f.db.App, f.db.AppURL, slog.New(slog.DiscardHandler), nil, cfg)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { h.Run(ctx) })
	tb.Cleanup(func() { cancel(); wg.Wait() })
	<-h.Ready()
	return h, alert.NewService(f.db.App, f.guard, h)
}

// raise raises an URGENT_CASE alert about case c to user, in a
// transaction of its own.
func (f *fixture) raise(tb testing.TB, c, user uuid.UUID) {
	tb.Helper()
	err := postgres.WithTx(context.Background(), f.db.App, func(tx *sqlx.Tx) error {
		return alert.Raise(context.Background(), tx, alert.About{Kind: alert.UrgentCase, CaseID: &c, Urgency: "IMMEDIATE"}, []uuid.UUID{user})
	})
	if err != nil {
		tb.Fatal(err)
	}
}

// collect reads ch until it has been quiet for quiet.
func collect(ch <-chan *alert.Alert, quiet time.Duration) map[uuid.UUID]int {
	got := map[uuid.UUID]int{}
	for {
		select {
		case a, ok := <-ch:
			if !ok {
				return got
			}
			got[a.ID]++
		case <-time.After(quiet):
			return got
		}
	}
}

// TestHubCatchesUpAfterLosingItsConnection: alerts raised while a Hub's
// listening connection is down reach its subscriber once it is back, each
// exactly once, and so do those raised before and after.
func TestHubCatchesUpAfterLosingItsConnection(t *testing.T) {
	f := newFixture(t)
	c := f.file(t, "officer@pgn.demo", casefile.Low)
	sup := f.userID(t, "supervisor@pgn.demo")
	_, svc := f.hub(t, alert.HubConfig{Backstop: 200 * time.Millisecond})
	ctx, cancel := context.WithCancel(f.as(t, "supervisor@pgn.demo"))
	defer cancel()
	ch, err := svc.Subscribe(ctx)
	if err != nil {
		t.Fatal(err)
	}
	f.raise(t, c, sup)
	// Cut the listener off, and raise while it reconnects.
	var n int
	if err := f.db.App.Get(&n, `SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = $1`, alert.ListenerName); err != nil || n != 1 {
		t.Fatalf("terminate listener: %d, %v", n, err)
	}
	for range 5 {
		f.raise(t, c, sup)
	}
	time.Sleep(300 * time.Millisecond)
	f.raise(t, c, sup)
	got := collect(ch, 2*time.Second)
	var raised []uuid.UUID
	if err := f.db.App.Select(&raised, `SELECT id FROM alerts WHERE recipient_id = $1`, sup); err != nil {
		t.Fatal(err)
	}
	if len(raised) != 7 {
		t.Fatalf("raised %d alerts, want 7", len(raised))
	}
	for _, id := range raised {
		if got[id] != 1 {
			t.Errorf("alert %s pushed %d times, want once", id, got[id])
		}
	}
	if len(got) != len(raised) {
		t.Errorf("pushed %d distinct alerts, want %d", len(got), len(raised))
	}
}

// TestSubscriptionCaps: a user may hold PerUser subscriptions on a replica.
func TestSubscriptionCaps(t *testing.T) {
	f := newFixture(t)
	_, svc := f.hub(t, alert.HubConfig{PerUser: 2, PerReplica: 3})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sub := func(email string) error {
		_, err := svc.Subscribe(auth.With(ctx, must(f.users.BySubject(ctx, email))))
		return err
	}
	for _, tc := range []struct {
		name, email string
		want        apperr.Kind
	}{
		{"FirstOfSupervisor", "supervisor@pgn.demo", 0},
		{"SecondOfSupervisor", "supervisor@pgn.demo", 0},
		{"ErrRateLimitedThirdOfSupervisor", "supervisor@pgn.demo", apperr.RateLimited},
		{"FirstOfOfficer", "officer@pgn.demo", 0},
		{"ErrRateLimitedOverTheReplica", "officer@sbs.demo", apperr.RateLimited},
		{"ErrForbiddenWithoutAlertRead", "intake@igm.demo", apperr.Forbidden},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := sub(tc.email)
			if tc.want == 0 && err != nil || tc.want != 0 && !apperr.Is(err, tc.want) {
				t.Errorf("err = %v, want %v", err, tc.want)
			}
		})
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// TestWatcherRaisesEachDeadlineOnce: two watchers over one database, one
// stopped half-way; every deadline alert is raised exactly once, to the
// assignee and the supervisors.
func TestWatcherRaisesEachDeadlineOnce(t *testing.T) {
	f := newFixture(t)
	soon := f.file(t, "officer@pgn.demo", casefile.Low)
	late := f.file(t, "officer@pgn.demo", casefile.Low)
	far := f.file(t, "officer@pgn.demo", casefile.Low)
	setDue := func(id uuid.UUID, in time.Duration) {
		if _, err := f.owner.Exec(`UPDATE cases SET due_at = now() + $2 * interval '1 second' WHERE id = $1`, id, in.Seconds()); err != nil {
			t.Fatal(err)
		}
	}
	setDue(soon, 3*time.Second) // soon at once, overdue a moment later
	setDue(late, -time.Minute)
	setDue(far, 5*time.Hour)
	cfg := alert.WatcherConfig{Soon: 2 * time.Hour, Interval: 20 * time.Millisecond, LeaderRetry: 20 * time.Millisecond}
	run := func() (*alert.Watcher, func()) {
		w := alert.NewWatcher(f.db.App, f.raiser, slog.New(slog.DiscardHandler), cfg)
		ctx, cancel := context.WithCancel(context.Background())
		var wg sync.WaitGroup
		wg.Go(func() { w.Run(ctx) })
		stop := sync.OnceFunc(func() { cancel(); wg.Wait() })
		t.Cleanup(stop)
		return w, stop
	}
	a, stopA := run()
	b, stopB := run()
	waitFor(t, func() bool { return a.Sweeps()+b.Sweeps() >= 3 })
	if a.Leader() == b.Leader() {
		t.Fatalf("leaders: a %v, b %v; want exactly one", a.Leader(), b.Leader())
	}
	// Kill the leader; the other takes over and raises what comes due.
	survivor := b
	if a.Leader() {
		stopA()
	} else {
		stopB()
		survivor = a
	}
	setDue(far, time.Hour) // a new deadline for the far case: now soon
	time.Sleep(3 * time.Second)
	before := survivor.Sweeps()
	waitFor(t, func() bool { return survivor.Leader() && survivor.Sweeps() >= before+3 })
	both := []string{"officer@pgn.demo", "supervisor@pgn.demo"}
	for _, tc := range []struct {
		name string
		c    uuid.UUID
		kind alert.Kind
		want []string
	}{
		{"SoonThenOverdue/soon", soon, alert.DeadlineSoon, both},
		{"SoonThenOverdue/overdue", soon, alert.Overdue, both},
		{"AlreadyOverdueIsNeverSoon/soon", late, alert.DeadlineSoon, nil},
		{"AlreadyOverdueIsNeverSoon/overdue", late, alert.Overdue, both},
		{"NewDeadlineAlertedAnew/soon", far, alert.DeadlineSoon, both},
		{"NewDeadlineAlertedAnew/overdue", far, alert.Overdue, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := f.recipients(t, tc.kind, tc.c); fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Errorf("alerted %v, want %v", got, tc.want)
			}
		})
	}
}

func waitFor(tb testing.TB, cond func() bool) {
	tb.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			tb.Fatal("condition not met within 20 s")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestSubscriptionOpensWithRecentUnread: a new subscription is pushed, at
// once and once, the unread alerts of the minute before it opened (one may
// have committed after the client read its inbox), never one already read
// or older, not even when the hub reads recent alerts back; then what is
// raised after it opened.
func TestSubscriptionOpensWithRecentUnread(t *testing.T) {
	f := newFixture(t)
	c := f.file(t, "officer@pgn.demo", casefile.Low)
	sup := f.userID(t, "supervisor@pgn.demo")
	_, svc := f.hub(t, alert.HubConfig{Backstop: 50 * time.Millisecond})
	ctx, cancel := context.WithCancel(f.as(t, "supervisor@pgn.demo"))
	defer cancel()
	inbox := func() []uuid.UUID {
		var ids []uuid.UUID
		if err := f.owner.Select(&ids, `SELECT id FROM alerts WHERE recipient_id = $1 ORDER BY at, id`, sup); err != nil {
			t.Fatal(err)
		}
		return ids
	}
	f.raise(t, c, sup) // older than the minute
	old := inbox()[0]
	if _, err := f.owner.Exec(`UPDATE alerts SET at = at - interval '2 minutes' WHERE id = $1`, old); err != nil {
		t.Fatal(err)
	}
	f.raise(t, c, sup) // read
	read := inbox()[1]
	if _, err := svc.MarkRead(ctx, []uuid.UUID{read}); err != nil {
		t.Fatal(err)
	}
	f.raise(t, c, sup) // unread and recent
	recent := inbox()[2]

	ch, err := svc.Subscribe(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got := collect(ch, 500*time.Millisecond); len(got) != 1 || got[recent] != 1 {
		t.Errorf("opening pushed %v, want the recent unread alert %s once", got, recent)
	}
	f.raise(t, c, sup)
	after := inbox()[3]
	if got := collect(ch, 500*time.Millisecond); len(got) != 1 || got[after] != 1 {
		t.Errorf("pushed %v after subscribing, want %s once", got, after)
	}
}

// TestRaisingFunctions: each kind's raiser reaches whom it names, of those
// the guard lets read the record, and never the actor.
func TestRaisingFunctions(t *testing.T) {
	f := newFixture(t)
	pgnCase := f.file(t, "officer@pgn.demo", casefile.Low)
	sbsCase := f.file(t, "officer@sbs.demo", casefile.Low)
	complaintID, referralID := uuid.New(), uuid.New()
	if _, err := f.owner.Exec(`INSERT INTO complaints (id, institution_code, tracking_hash, tracking_key, status, complainant_kind, channel, description,
  submitted_by, submitted_at, updated_at)
SELECT $1::uuid, 'PGN', sha256(convert_to($1::text, 'UTF8')), 't1', 'RECEIVED', 'ANONYMOUS', 'PHONE', NULL, id, now(), now() FROM users WHERE email = 'intake@igm.demo'`,
		complaintID); err != nil {
		t.Fatal(err)
	}
	if _, err := f.owner.Exec(`INSERT INTO referrals (id, case_id, from_institution, to_institution, status, reason, created_by, created_at,
  consent_basis, consent_justification)
SELECT $1, $2, 'SBS', 'PGN', 'PENDING', NULL, id, now(), 'BEST_INTERESTS', 'interés superior' FROM users WHERE email = 'officer@sbs.demo'`,
		referralID, sbsCase); err != nil {
		t.Fatal(err)
	}
	pgnOfficer := f.userID(t, "officer@pgn.demo")
	sbsOfficer := f.userID(t, "officer@sbs.demo")
	for _, tc := range []struct {
		name  string
		actor string
		kind  alert.Kind
		raise func(ctx context.Context, tx *sqlx.Tx) error
		want  []string
	}{
		{"CaseAssignedReachesTheAssignee", "supervisor@pgn.demo", alert.CaseAssigned, func(ctx context.Context, tx *sqlx.Tx) error {
			return f.raiser.CaseAssigned(ctx, tx, pgnCase, pgnOfficer, "LOW")
		}, []string{"officer@pgn.demo"}},
		{"CaseAssignedNeverReachesWhoCannotReadTheCase", "supervisor@pgn.demo", alert.CaseAssigned, func(ctx context.Context, tx *sqlx.Tx) error {
			return f.raiser.CaseAssigned(ctx, tx, pgnCase, sbsOfficer, "LOW")
		}, nil},
		{"ClosureRequestedReachesTheSupervisors", "officer@pgn.demo", alert.ClosureRequested, func(ctx context.Context, tx *sqlx.Tx) error {
			return f.raiser.ClosureRequested(ctx, tx, pgnCase, "PGN", "LOW")
		}, []string{"supervisor@pgn.demo"}},
		{"ComplaintRoutedReachesTheReceivingStaff", "intake@igm.demo", alert.ComplaintRouted, func(ctx context.Context, tx *sqlx.Tx) error {
			return f.raiser.ComplaintRouted(ctx, tx, complaintID, "HIGH", []string{"PGN", "SBS"})
		}, []string{"officer@pgn.demo", "supervisor@pgn.demo"}},
		{"ReferralReachesTheReceivingInstitution", "officer@sbs.demo", alert.ReferralReceived, func(ctx context.Context, tx *sqlx.Tx) error {
			return f.raiser.ReferralReceived(ctx, tx, referralID, sbsCase, "HIGH", "PGN")
		}, []string{"officer@pgn.demo", "supervisor@pgn.demo"}},
		{"ReferralAnsweredReachesTheReferrerNotTheActor", "supervisor@pgn.demo", alert.ReferralAnswered, func(ctx context.Context, tx *sqlx.Tx) error {
			return f.raiser.ReferralAnswered(ctx, tx, referralID, sbsCase, "HIGH", "SBS")
		}, []string{"officer@sbs.demo"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := f.as(t, tc.actor)
			if err := postgres.WithTx(ctx, f.db.App, func(tx *sqlx.Tx) error { return tc.raise(ctx, tx) }); err != nil {
				t.Fatal(err)
			}
			var got []string
			if err := f.owner.Select(&got, `SELECT u.email FROM alerts a JOIN users u ON u.id = a.recipient_id WHERE a.kind = $1 ORDER BY u.email`,
				tc.kind); err != nil {
				t.Fatal(err)
			}
			if fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Errorf("alerted %v, want %v", got, tc.want)
			}
			if _, err := f.owner.Exec(`DELETE FROM alerts WHERE kind = $1`, tc.kind); err != nil {
				t.Fatal(err)
			}
		})
	}
}
