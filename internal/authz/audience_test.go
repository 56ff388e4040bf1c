package authz_test

import (
	"context"
	"slices"
	"testing"

	"github.com/google/uuid"

	"amparo/internal/auth"
	"amparo/internal/authz"
	"amparo/internal/demo"
)

// TestAudience: of every demo user, those told about a record are exactly
// those who could read it, decided the way their own requests are.
func TestAudience(t *testing.T) {
	f := newGuardFixture(t)
	ctx := context.Background()
	var everyone []*auth.Principal
	email := map[uuid.UUID]string{}
	for _, u := range demo.Users {
		p, err := f.users.BySubject(ctx, u.Email)
		if err != nil {
			t.Fatal(err)
		}
		everyone = append(everyone, p)
		email[p.UserID] = u.Email
	}
	for _, tc := range []struct {
		name string
		perm string
		t    authz.Target
		want []string
	}{
		{"PGNCaseReachesItsOfficerSupervisorAndOversight", "case:read", authz.On(authz.Case, f.pgn),
			[]string{"officer@pgn.demo", "supervisor@pgn.demo", "oversight@pdh.demo"}},
		{"SBSCaseReachesNobodyOfPGN", "case:read", authz.On(authz.Case, f.sbs),
			[]string{"officer@sbs.demo", "oversight@pdh.demo"}},
		{"AssigningReachesOnlyTheSupervisor", "case:assign", authz.On(authz.Case, f.pgn), []string{"supervisor@pgn.demo"}},
		{"UnknownCaseReachesNobody", "case:read", authz.On(authz.Case, uuid.New()), nil},
		{"NotAnIDReachesNobody", "case:read", authz.On(authz.Case, "x"), nil},
		{"PermissionNobodyHoldsReachesNobody", "case:fly", authz.On(authz.Case, f.pgn), nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ids, err := f.guard.Audience(ctx, f.db.App, tc.perm, tc.t, everyone)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, id := range ids {
				got = append(got, email[id])
			}
			slices.Sort(got)
			want := slices.Clone(tc.want)
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Errorf("audience %v, want %v", got, want)
			}
		})
	}
	t.Run("ARecordOfTheCallersTransactionCounts", func(t *testing.T) {
		tx, err := f.db.App.Beginx()
		if err != nil {
			t.Fatal(err)
		}
		defer tx.Rollback()
		var ref string
		if err := tx.Get(&ref, `SELECT reference FROM cases WHERE id = $1`, f.pgn); err != nil {
			t.Fatal(err)
		}
		id := uuid.New()
		if _, err := tx.Exec(`INSERT INTO cases (id, institution_code, reference, status, urgency, due_at, department_code, summary, child_id,
  assigned_to, created_by, created_at, updated_by, updated_at)
SELECT $1, institution_code, $2, status, urgency, due_at, department_code, summary, child_id, assigned_to, created_by, created_at, updated_by, updated_at
FROM cases WHERE id = $3`, id, ref+"-b", f.pgn); err != nil {
			t.Fatal(err)
		}
		ids, err := f.guard.Audience(ctx, tx, "case:read", authz.On(authz.Case, id), everyone)
		if err != nil {
			t.Fatal(err)
		}
		if len(ids) != 3 {
			t.Errorf("audience of a case written in the transaction: %d users, want 3", len(ids))
		}
	})
}
