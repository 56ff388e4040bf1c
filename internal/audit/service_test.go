package audit_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"strconv"
	"testing"
	"time"

	"amparo/internal/apperr"
	"amparo/internal/audit"
	"amparo/internal/auth"
	"amparo/internal/authz"
	"amparo/internal/page"
	"amparo/policies"
)

// serviceFixture is a sealed log with events of two institutions and the
// Service over it, with the real policy.
type serviceFixture struct {
	*fixture
	svc *audit.Service
}

func newServiceFixture(t *testing.T) *serviceFixture {
	t.Helper()
	f := newFixture(t)
	ctx := context.Background()
	if err := authz.SyncPolicy(ctx, f.db.App, policies.Policy); err != nil {
		t.Fatal(err)
	}
	az, err := authz.New(policies.Model, authz.NewDB(f.db.App))
	if err != nil {
		t.Fatal(err)
	}
	f.sealer(t)
	f.record(t, principal("PGN", "officer"), 25, "case:file")
	f.record(t, principal("SBS", "officer"), 5, "case:transition")
	f.waitSealed(t)
	g := authz.NewGuard(az, f.db.App, audit.Denials{DB: f.db.App}, slog.New(slog.DiscardHandler))
	return &serviceFixture{fixture: f, svc: audit.NewService(f.db.App, g)}
}

// as is a context acting as a seeded demo user.
func (f *serviceFixture) as(t *testing.T, subject string) context.Context {
	t.Helper()
	p, err := auth.NewUsers(f.db.App).BySubject(context.Background(), subject)
	if err != nil {
		t.Fatal(err)
	}
	return auth.With(context.Background(), p)
}

func ptr[T any](v T) *T { return &v }

func TestAuditEvents(t *testing.T) {
	t.Parallel()
	f := newServiceFixture(t)
	oversight := f.as(t, "oversight@pdh.demo")

	t.Run("OversightPagesThroughAll", func(t *testing.T) {
		var all []int64
		var after *string
		for {
			pg, err := f.svc.Events(oversight, audit.EventFilter{}, page.Forward(ptr(7), after))
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range pg.Items {
				if r.LeafIndex == nil {
					t.Fatalf("event %d listed as unsealed after sealing", r.ID)
				}
				all = append(all, r.ID)
			}
			if total(t, pg) != len(f.eventIDs(t)) {
				t.Fatalf("totalCount %d", total(t, pg))
			}
			if !pg.Info.HasNextPage {
				break
			}
			after = pg.Info.EndCursor
		}
		ids := f.eventIDs(t)
		if len(all) != len(ids) {
			t.Fatalf("paged %d events of %d", len(all), len(ids))
		}
		for i := range all {
			if all[i] != ids[len(ids)-1-i] {
				t.Fatalf("page order: %v", all)
			}
		}
	})
	t.Run("FiltersNarrow", func(t *testing.T) {
		for name, tc := range map[string]struct {
			f    audit.EventFilter
			want int
		}{
			"Institution": {audit.EventFilter{Institution: ptr("SBS")}, 5},
			"Action":      {audit.EventFilter{Actions: []string{"case:transition", "case:none"}}, 5},
			"ObjectType":  {audit.EventFilter{ObjectType: ptr("case"), Institution: ptr("PGN")}, 25},
			"Future":      {audit.EventFilter{OccurredAfter: ptr(time.Now().Add(time.Hour))}, 0},
			"Past":        {audit.EventFilter{OccurredBefore: ptr(time.Now().Add(-time.Hour))}, 0},
		} {
			t.Run(name, func(t *testing.T) {
				pg, err := f.svc.Events(oversight, tc.f, page.Forward(ptr(100), nil))
				if err != nil {
					t.Fatal(err)
				}
				if total(t, pg) != tc.want || len(pg.Items) != tc.want {
					t.Fatalf("%d items, totalCount %d; want %d", len(pg.Items), total(t, pg), tc.want)
				}
			})
		}
		pg, _ := f.svc.Events(oversight, audit.EventFilter{Institution: ptr("SBS")}, page.Forward(ptr(1), nil))
		one := pg.Items[0]
		for name, flt := range map[string]audit.EventFilter{
			"Actor":    {ActorID: one.ActorID},
			"ObjectID": {ObjectID: &one.ObjectID},
		} {
			t.Run(name, func(t *testing.T) {
				pg, err := f.svc.Events(oversight, flt, page.Forward(nil, nil))
				if err != nil || total(t, pg) == 0 || pg.Items[0].ActorInstitution != "SBS" {
					t.Fatalf("%+v, %v", pg, err)
				}
			})
		}
	})
	t.Run("SupervisorSeesOwnInstitution", func(t *testing.T) {
		pg, err := f.svc.Events(f.as(t, "supervisor@pgn.demo"), audit.EventFilter{}, page.Forward(ptr(100), nil))
		if err != nil {
			t.Fatal(err)
		}
		if total(t, pg) != 25 {
			t.Fatalf("supervisor of PGN sees %d events", total(t, pg))
		}
		for _, r := range pg.Items {
			if r.ActorInstitution != "PGN" {
				t.Fatalf("supervisor of PGN sees an event of %q", r.ActorInstitution)
			}
		}
		pg, err = f.svc.Events(f.as(t, "supervisor@pgn.demo"), audit.EventFilter{Institution: ptr("SBS")}, page.Forward(nil, nil))
		if err != nil || total(t, pg) != 0 {
			t.Fatalf("a filter reached past the scope: %d, %v", total(t, pg), err)
		}
	})
	t.Run("FirstCappedAt100", func(t *testing.T) {
		f.record(t, principal("PGN", "officer"), 90, "case:note")
		pg, err := f.svc.Events(oversight, audit.EventFilter{}, page.Forward(ptr(5000), nil))
		if err != nil || len(pg.Items) != 100 || !pg.Info.HasNextPage {
			t.Fatalf("%d items, next %v, %v", len(pg.Items), pg != nil && pg.Info.HasNextPage, err)
		}
	})
	t.Run("ErrBadInput", func(t *testing.T) {
		if _, err := f.svc.Events(oversight, audit.EventFilter{}, page.Forward(ptr(-1), nil)); !apperr.Is(err, apperr.Invalid) {
			t.Fatalf("first -1: %v", err)
		}
		for _, c := range []string{"x", "YXVkaXQuMDE", "Y2FzZS4x"} {
			if _, err := f.svc.Events(oversight, audit.EventFilter{}, page.Forward(nil, &c)); !apperr.Is(err, apperr.Invalid) {
				t.Fatalf("cursor %q: %v", c, err)
			}
		}
	})
	t.Run("ErrForbidden", func(t *testing.T) {
		before := len(f.eventIDs(t))
		_, err := f.svc.Events(f.as(t, "officer@pgn.demo"), audit.EventFilter{}, page.Forward(nil, nil))
		if !apperr.Is(err, apperr.Forbidden) {
			t.Fatalf("officer: %v", err)
		}
		if after := len(f.eventIDs(t)); after != before+1 {
			t.Fatalf("the refusal was not audited (%d → %d events)", before, after)
		}
	})
	t.Run("ErrUnauthenticated", func(t *testing.T) {
		if _, err := f.svc.Events(context.Background(), audit.EventFilter{}, page.Forward(nil, nil)); !apperr.Is(err, apperr.Unauthenticated) {
			t.Fatalf("no principal: %v", err)
		}
	})
}

func TestAuditProof(t *testing.T) {
	t.Parallel()
	f := newServiceFixture(t)
	oversight := f.as(t, "oversight@pdh.demo")
	pg, err := f.svc.Events(oversight, audit.EventFilter{Institution: ptr("SBS")}, page.Forward(ptr(1), nil))
	if err != nil {
		t.Fatal(err)
	}
	sbs := pg.Items[0].ID

	t.Run("VerifiesWithoutTheServer", func(t *testing.T) {
		p, err := f.svc.Proof(oversight, sbs)
		if err != nil {
			t.Fatal(err)
		}
		// What an oversight body takes home: JSON, and the verifier key.
		saved, err := json.Marshal(p)
		if err != nil {
			t.Fatal(err)
		}
		var got audit.Proof
		if err := json.Unmarshal(saved, &got); err != nil {
			t.Fatal(err)
		}
		e, err := audit.VerifyProof(&got, f.signer.Verifier())
		if err != nil {
			t.Fatalf("VerifyProof: %v\n%s", err, saved)
		}
		if e.ID != sbs || e.ActorInstitution != "SBS" || e.Action != "case:transition" {
			t.Fatalf("proof of %+v", e)
		}
	})
	t.Run("SupervisorOfOtherInstitutionNotFound", func(t *testing.T) {
		_, err := f.svc.Proof(f.as(t, "supervisor@pgn.demo"), sbs)
		if !apperr.Is(err, apperr.NotFound) {
			t.Fatalf("proof of another institution's event: %v, want NOT_FOUND", err)
		}
	})
	t.Run("SupervisorOwnInstitution", func(t *testing.T) {
		// A sealed event of the institution's: the refusals the guard just
		// recorded may not be sealed yet.
		pg, err := f.svc.Events(f.as(t, "supervisor@pgn.demo"), audit.EventFilter{Actions: []string{"case:file"}}, page.Forward(ptr(1), nil))
		if err != nil {
			t.Fatal(err)
		}
		p, err := f.svc.Proof(f.as(t, "supervisor@pgn.demo"), pg.Items[0].ID)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := audit.VerifyProof(p, f.signer.Verifier()); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("UnknownEventNotFound", func(t *testing.T) {
		if _, err := f.svc.Proof(oversight, 1<<40); !apperr.Is(err, apperr.NotFound) {
			t.Fatalf("%v, want NOT_FOUND", err)
		}
	})
	t.Run("OfficerForbidden", func(t *testing.T) {
		if _, err := f.svc.Proof(f.as(t, "officer@pgn.demo"), sbs); !apperr.Is(err, apperr.Forbidden) {
			t.Fatalf("%v, want FORBIDDEN", err)
		}
	})
	t.Run("OtherKeyRefuses", func(t *testing.T) {
		p, err := f.svc.Proof(oversight, sbs)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := audit.VerifyProof(p, newSigner(t, f.signer.Name()).Verifier()); err == nil {
			t.Fatal("a proof verified with a key that did not sign it")
		}
	})
	t.Run("UnsealedNotFound", func(t *testing.T) {
		f.record(t, principal("PGN", "officer"), 1, "case:file")
		ids := f.eventIDs(t)
		last := ids[len(ids)-1]
		_, err := f.svc.Proof(oversight, last)
		if err == nil {
			// The sealer was quick: then the proof must hold.
			return
		}
		if !apperr.Is(err, apperr.NotFound) {
			t.Fatalf("proof of event %s: %v", strconv.FormatInt(last, 10), err)
		}
	})
}

// total is what the page's totalCount answers.
func total(t *testing.T, pg *audit.EventPage) int {
	t.Helper()
	n, _, err := pg.Count.Count(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return n
}
