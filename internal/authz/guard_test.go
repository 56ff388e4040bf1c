package authz_test

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/jmoiron/sqlx"

	"amparo/internal/apperr"
	"amparo/internal/audit"
	"amparo/internal/auth"
	"amparo/internal/authz"
	"amparo/internal/postgres/postgrestest"
	"amparo/policies"
)

func TestMain(m *testing.M) {
	code := m.Run()
	postgrestest.Stop()
	os.Exit(code)
}

// guardFixture is a guard over a fresh database with one case of PGN, filed
// by officer@pgn.demo, and one of SBS.
type guardFixture struct {
	db       *postgrestest.DB
	guard    *authz.Guard
	users    *auth.Users
	log      *bytes.Buffer
	pgn, sbs uuid.UUID
}

func newGuardFixture(t *testing.T) *guardFixture {
	t.Helper()
	db := postgrestest.New(t)
	ctx := context.Background()
	if err := authz.SyncPolicy(ctx, db.App, policies.Policy); err != nil {
		t.Fatal(err)
	}
	az, err := authz.New(policies.Model, authz.NewDB(db.App))
	if err != nil {
		t.Fatal(err)
	}
	f := &guardFixture{db: db, users: auth.NewUsers(db.App), log: &bytes.Buffer{}}
	f.guard = authz.NewGuard(az, db.App, audit.Denials{DB: db.App}, slog.New(slog.NewJSONHandler(f.log, nil)))
	f.pgn = insertCase(t, db.Owner(t), "PGN", "officer@pgn.demo")
	f.sbs = insertCase(t, db.Owner(t), "SBS", "officer@sbs.demo")
	return f
}

func insertCase(t *testing.T, owner *sqlx.DB, inst, email string) uuid.UUID {
	t.Helper()
	id, child := uuid.New(), uuid.New()
	if _, err := owner.Exec(`
WITH u AS (SELECT id FROM users WHERE email = $4),
ch AS (INSERT INTO children (id, institution_code, sex, nationality, population_status, care_status, created_by, created_at)
  SELECT $2, $3, 'FEMALE', 'HND', 'MIGRANT_TRANSIT', 'UNACCOMPANIED', u.id, now() FROM u RETURNING id)
INSERT INTO cases (id, institution_code, reference, status, urgency, due_at, department_code, summary, child_id,
  assigned_to, created_by, created_at, updated_by, updated_at)
SELECT $1, $3, $5, 'REGISTERED', 'LOW', now(), 'GT-13', NULL, ch.id, u.id, u.id, now(), u.id, now() FROM u, ch`,
		id, child, inst, email, inst+"-"+id.String()[:8]); err != nil {
		t.Fatal(err)
	}
	return id
}

func (f *guardFixture) as(t *testing.T, email string) context.Context {
	t.Helper()
	p, err := f.users.BySubject(context.Background(), email)
	if err != nil {
		t.Fatal(err)
	}
	return auth.With(context.Background(), p)
}

// denied counts the DENIED events for an object, by reason.
func (f *guardFixture) denied(t *testing.T, objectID string) map[string]int {
	t.Helper()
	var rows []struct {
		Reason string `db:"reason"`
		N      int    `db:"n"`
	}
	if err := f.db.App.Select(&rows, `SELECT details->>'reason' AS reason, count(*) AS n FROM audit.events
		WHERE outcome = 'DENIED' AND object_id = $1 GROUP BY 1`, objectID); err != nil {
		t.Fatal(err)
	}
	out := map[string]int{}
	for _, r := range rows {
		out[r.Reason] = r.N
	}
	return out
}

func TestGuardCheck(t *testing.T) {
	f := newGuardFixture(t)
	unknown := uuid.New()
	// Filed by officer@pgn.demo and since reassigned: a case is its
	// assignee's own, so the officer no longer reaches it.
	reassigned := insertCase(t, f.db.Owner(t), "PGN", "officer@pgn.demo")
	if _, err := f.db.Owner(t).Exec(`UPDATE cases SET assigned_to = (SELECT id FROM users WHERE email = 'supervisor@pgn.demo') WHERE id = $1`, reassigned); err != nil {
		t.Fatal(err)
	}
	// Of SBS, referred to PGN and accepted: the officer sees the case
	// (referred scope), not the child (assigned scope).
	referred := insertCase(t, f.db.Owner(t), "SBS", "officer@sbs.demo")
	if _, err := f.db.Owner(t).Exec(`INSERT INTO referrals (id, case_id, from_institution, to_institution, status, reason, created_by, created_at,
		consent_given, consent_by, consent_at, responded_at)
		SELECT $1, $2, 'SBS', 'PGN', 'ACCEPTED', NULL, id, now(), true, 'CAREGIVER', now(), now() FROM users WHERE email = 'officer@sbs.demo'`, uuid.New(), referred); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		email  string
		perm   string
		target authz.Target
		want   apperr.Kind // 0 (Internal) stands for allowed
		reason string
	}{
		{"Allowed", "officer@pgn.demo", "case:read", authz.On(authz.Case, f.pgn), 0, ""},
		{"ErrNotFoundOtherInstitution", "officer@pgn.demo", "case:read", authz.On(authz.Case, f.sbs), apperr.NotFound, authz.ReasonScope},
		{"ErrNotFoundUnknown", "officer@pgn.demo", "case:read", authz.On(authz.Case, unknown), apperr.NotFound, authz.ReasonScope},
		{"ErrForbiddenRole", "intake@igm.demo", "case:read", authz.On(authz.Case, f.pgn), apperr.Forbidden, authz.ReasonRole},
		{"ErrForbiddenRoleUnknownRecord", "intake@igm.demo", "case:read", authz.On(authz.Case, unknown), apperr.Forbidden, authz.ReasonRole},
		{"ErrForbiddenRoleWithoutPerm", "oversight@pdh.demo", "identity:read",
			authz.Target{Kind: authz.Case, ID: f.pgn, SeenWith: "case:read"}, apperr.Forbidden, authz.ReasonRole},
		{"ErrForbiddenSeenWith", "officer@pgn.demo", "identity:read",
			authz.Target{Kind: authz.Case, ID: referred, SeenWith: "case:read"}, apperr.Forbidden, authz.ReasonScope},
		{"ErrNotFoundAfterReassignment", "officer@pgn.demo", "case:read", authz.On(authz.Case, reassigned), apperr.NotFound, authz.ReasonScope},
		{"ErrNotFoundNotSeenWith", "officer@pgn.demo", "identity:read",
			authz.Target{Kind: authz.Case, ID: f.sbs, SeenWith: "case:read"}, apperr.NotFound, authz.ReasonScope},
		{"ErrForbiddenCreateWithoutInstitution", "admin@amparo.demo", "case:file", authz.Create, apperr.Forbidden, authz.ReasonRole},
		{"CreateInOwnInstitution", "officer@pgn.demo", "case:file", authz.Create, 0, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id := ""
			if tt.target.Kind != nil {
				id = tt.target.ID.(uuid.UUID).String()
			}
			before := f.denied(t, id)
			d, err := f.guard.Check(f.as(t, tt.email), tt.perm, tt.target)
			if tt.want == 0 {
				if err != nil || d == nil {
					t.Fatalf("Check: %v", err)
				}
				return
			}
			if !apperr.Is(err, tt.want) {
				t.Fatalf("Check: %v, want %s", err, tt.want)
			}
			after := f.denied(t, id)
			if after[tt.reason] != before[tt.reason]+1 {
				t.Fatalf("DENIED events with reason %s: %d then %d, want one more", tt.reason, before[tt.reason], after[tt.reason])
			}
		})
	}
	t.Run("ErrUnauthenticated", func(t *testing.T) {
		if _, err := f.guard.Check(context.Background(), "case:read", authz.On(authz.Case, f.pgn)); !apperr.Is(err, apperr.Unauthenticated) {
			t.Fatalf("Check without a principal: %v", err)
		}
	})
}

// An unknown id and another institution's record are refused alike: same
// kind, same message, one audit event each.
func TestGuardNoExistenceOracle(t *testing.T) {
	f := newGuardFixture(t)
	ctx := f.as(t, "officer@pgn.demo")
	_, errOther := f.guard.Check(ctx, "case:read", authz.On(authz.Case, f.sbs))
	_, errUnknown := f.guard.Check(ctx, "case:read", authz.On(authz.Case, uuid.New()))
	a, _ := apperr.As(errOther)
	b, _ := apperr.As(errUnknown)
	if a == nil || b == nil || a.Kind != apperr.NotFound || a.Kind != b.Kind || a.Message("es") != b.Message("es") {
		t.Fatalf("other institution: %v; unknown: %v", errOther, errUnknown)
	}
}

func TestGuardFilterAndMay(t *testing.T) {
	f := newGuardFixture(t)
	ctx := f.as(t, "officer@pgn.demo")
	t.Run("FilterKeepsScope", func(t *testing.T) {
		_, ids, err := f.guard.Filter(ctx, "case:read", authz.Case, []uuid.UUID{f.sbs, f.pgn, uuid.New()})
		if err != nil || len(ids) != 1 || ids[0] != f.pgn {
			t.Fatalf("Filter: %v %v", ids, err)
		}
	})
	t.Run("FilterErrForbiddenAudited", func(t *testing.T) {
		before := f.denied(t, "")
		if _, _, err := f.guard.Filter(f.as(t, "intake@igm.demo"), "case:read", authz.Case, []uuid.UUID{f.pgn}); !apperr.Is(err, apperr.Forbidden) {
			t.Fatalf("Filter by intake: %v", err)
		}
		if after := f.denied(t, ""); after[authz.ReasonRole] != before[authz.ReasonRole]+1 {
			t.Fatalf("role refusal of a batch not audited: %v then %v", before, after)
		}
	})
	t.Run("FilterErrInvalidOverCap", func(t *testing.T) {
		if _, _, err := f.guard.Filter(ctx, "case:read", authz.Case, make([]uuid.UUID, authz.MaxBatch+1)); !apperr.Is(err, apperr.Invalid) {
			t.Fatalf("Filter over the cap: %v", err)
		}
	})
	t.Run("MayIsQuiet", func(t *testing.T) {
		before := f.denied(t, f.sbs.String())
		if f.guard.May(ctx, "case:read", authz.On(authz.Case, f.sbs)) {
			t.Fatal("May reaches another institution's case")
		}
		if !f.guard.May(ctx, "case:read", authz.On(authz.Case, f.pgn)) {
			t.Fatal("May refuses the officer's own case")
		}
		vis, err := f.guard.Visible(ctx, "case:read", authz.Case, []uuid.UUID{f.sbs, f.pgn})
		if err != nil || len(vis) != 1 || !vis[f.pgn] {
			t.Fatalf("Visible: %v %v", vis, err)
		}
		if after := f.denied(t, f.sbs.String()); after[authz.ReasonScope] != before[authz.ReasonScope] {
			t.Fatalf("May and Visible wrote refusals: %v then %v", before, after)
		}
	})
}

// A refusal whose audit cannot be written still refuses, and the failure
// reaches the log and the error's cause instead of vanishing.
func TestGuardRefusalAuditFailureLogged(t *testing.T) {
	f := newGuardFixture(t)
	ctx := f.as(t, "officer@pgn.demo")
	closed := sqlx.MustOpen("postgres", f.db.AppURL)
	closed.Close()
	az, err := authz.New(policies.Model, authz.NewDB(f.db.App))
	if err != nil {
		t.Fatal(err)
	}
	var log bytes.Buffer
	g := authz.NewGuard(az, f.db.App, audit.Denials{DB: closed}, slog.New(slog.NewJSONHandler(&log, nil)))
	_, err = g.Check(ctx, "case:read", authz.On(authz.Case, f.sbs))
	if !apperr.Is(err, apperr.NotFound) {
		t.Fatalf("Check: %v, want NOT_FOUND", err)
	}
	if !strings.Contains(err.Error(), "audit of the refusal failed") {
		t.Fatalf("the audit failure is not in the error: %v", err)
	}
	if !strings.Contains(log.String(), "audit of a refusal failed") || !strings.Contains(log.String(), f.sbs.String()) {
		t.Fatalf("the audit failure did not reach the log: %s", log.String())
	}
}
