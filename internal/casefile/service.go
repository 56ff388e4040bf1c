package casefile

import (
	"context"
	"log/slog"
	"time"

	"github.com/google/uuid"
	"github.com/jmoiron/sqlx"

	"amparo/internal/apperr"
	"amparo/internal/audit"
	"amparo/internal/authz"
	"amparo/internal/child"
	"amparo/internal/idempotency"
	"amparo/internal/keys"
	"amparo/internal/postgres"
	"amparo/internal/reference"
)

// Permissions used by this package.
const (
	PermFile         = "case:file"
	PermRead         = "case:read"
	PermIdentityRead = "identity:read"
)

// Service works the case registry.
type Service struct {
	db      *sqlx.DB
	stmts   *postgres.Statements // Get's reads, prepared
	guard   *authz.Guard
	catalog *reference.Catalog
	keys    child.Keys // seal and open identities
	alerts  Alerts
	// searches rations searches by name per user (SearchChildren).
	searches limiters
	now      func() time.Time
	// record writes audit events: audit.Record, always. Only the benchmark
	// that measures what auditing costs replaces it, from inside the package.
	record func(ctx context.Context, tx sqlx.ExecerContext, ev audit.Event) error
	// hooks run in every transition's transaction (OnTransition).
	hooks []TransitionHook
	// holds brings evidence holds in line after a case closes or reopens
	// (UseHolds); without it the evidence janitor does.
	holds Holds
	log   *slog.Logger
}

// Alerts raises the alerts that changes to cases cause, inside the
// change's transaction (alert.Raiser).
type Alerts interface {
	// UrgentCase alerts whoever must act now on a case of urgency
	// IMMEDIATE or HIGH, and does nothing for other urgencies.
	UrgentCase(ctx context.Context, tx *sqlx.Tx, caseID uuid.UUID, institution, urgency string) error
	// CaseAssigned alerts the new assignee of a case.
	CaseAssigned(ctx context.Context, tx *sqlx.Tx, caseID, assignee uuid.UUID, urgency string) error
	// ClosureRequested alerts the supervisors who approve a closure.
	ClosureRequested(ctx context.Context, tx *sqlx.Tx, caseID uuid.UUID, institution, urgency string) error
}

// NewService returns a Service over db, sealing identities with ks and
// raising alerts with alerts.
func NewService(db *sqlx.DB, g *authz.Guard, cat *reference.Catalog, ks child.Keys, alerts Alerts) *Service {
	return &Service{db: db, stmts: postgres.NewStatements(db), guard: g, catalog: cat, keys: ks, alerts: alerts, now: time.Now, record: audit.Record,
		log: slog.New(slog.DiscardHandler)}
}

// PrepareOn runs the service's hot reads (a case, a page of cases and its
// violations and data keys) prepared on pool (postgres.OpenGeneric), where
// they are planned once per connection. Call it before serving.
func (s *Service) PrepareOn(pool *sqlx.DB) { s.stmts = postgres.NewStatements(pool) }

// File opens a case for the caller's institution, REGISTERED, with the
// caller as the assigned officer (unless in.Unassigned) and first contact
// due by the urgency's deadline. A retry with the same idempotency key and the same
// content returns the case of the first call and creates nothing.
//
// Errors: UNAUTHENTICATED; FORBIDDEN without case:file; BAD_USER_INPUT
// naming each wrong field; CONFLICT when the key was used for different
// content; UNAVAILABLE when the database is down.
func (s *Service) File(ctx context.Context, in FileInput) (*Case, error) {
	return s.FileWith(ctx, in, nil)
}

// Hook runs inside the transaction that files a case, so that another
// service can record what goes with the new case (a complaint linked to it)
// atomically: if the hook fails, no case is filed. The case has no
// reference yet: it is numbered after the hook, last.
type Hook func(ctx context.Context, tx *sqlx.Tx, c *Case) error

// FileWith is File with a hook run after the case is written and before
// commit. An IMMEDIATE or HIGH case raises URGENT_CASE in the same
// transaction. On an idempotent replay nothing is written, nothing is
// raised and the hook does not run.
func (s *Service) FileWith(ctx context.Context, in FileInput, hook Hook) (*Case, error) {
	const op = "casefile.File"
	d, err := s.guard.Check(ctx, PermFile, authz.Create)
	if err != nil {
		return nil, apperr.Wrap(op, err)
	}
	p := d.Principal
	now := s.now().UTC()
	in.normalize(s.catalog)
	if err := in.validate(s.catalog, now); err != nil {
		return nil, apperr.Wrap(op, err)
	}
	keyless := in
	keyless.IdempotencyKey = ""
	hash, err := idempotency.Hash(keyless)
	if err != nil {
		return nil, apperr.Wrap(op, err)
	}
	n := &newCase{ID: uuid.New(), ChildID: uuid.New(), Institution: p.Institution, By: p.UserID, At: now, In: &in,
		DueAt: s.dueAt(Registered, in.Urgency, now, now)}
	// A child already on file under the same name is pointed out to a filer
	// who may search; the search is recorded in the filing's audit event.
	var dupScope *authz.Decision
	var dupIndexes [][]byte
	if y, ok := child.BirthYear(in.Child.DateOfBirth, in.Child.AgeYears, now); ok && (in.Child.GivenName != nil || in.Child.FamilyName != nil) {
		if dupScope, err = s.guard.Check(ctx, PermSearch, authz.Any); err != nil {
			dupScope = nil // the filer may not search: no warning
		}
		dupIndexes = child.NameIndexes(s.keys.Index, in.Child.GivenName, in.Child.FamilyName, y)
	}
	var dups []*ChildMatch
	var c *Case
	var replayed *uuid.UUID
	err = postgres.WithTx(ctx, s.db, func(tx *sqlx.Tx) error {
		claim, err := idempotency.Record(ctx, tx, idempotency.Claim{User: p.UserID, Operation: "fileCase",
			Key: in.IdempotencyKey, Hash: hash, ID: n.ID})
		if err != nil {
			return err
		}
		if claim.Replay {
			replayed = &claim.ID
			return nil
		}
		// The case's own data key seals its child's identity.
		key, err := s.keys.Vault.Create(ctx, tx, keys.OwnerCase, n.ID)
		if err != nil {
			return err
		}
		n.Key = key
		owner := child.Owner{Kind: keys.OwnerCase, ID: n.ID, Key: key}
		if err := child.Insert(ctx, tx, s.keys, owner, n.ChildID, n.Institution, n.By, n.At, &in.Child); err != nil {
			return err
		}
		details := map[string]any{"child": n.ChildID, "urgency": in.Urgency, "department": in.DepartmentCode,
			"violations": violationTypes(in.Violations)}
		if dupScope != nil {
			if dups, err = s.matches(ctx, tx, dupScope, dupIndexes, n.ID); err != nil {
				return err
			}
			details["possibleDuplicates"] = matchIDs(dups)
		}
		if err := s.record(ctx, tx, audit.Event{
			Action: PermFile, ObjectType: "case", ObjectID: n.ID.String(), Details: details,
		}); err != nil {
			return err
		}
		if err := insertCase(ctx, tx, n); err != nil {
			return err
		}
		if c, err = getCase(ctx, tx, s.keys.Vault, n.ID); err != nil {
			return err
		}
		c.PossibleDuplicates = make([]string, len(dups))
		for i, m := range dups {
			c.PossibleDuplicates[i] = m.Reference
		}
		// After the case row, which the guard reads to decide who may be
		// told.
		if err := s.alerts.UrgentCase(ctx, tx, n.ID, n.Institution, string(in.Urgency)); err != nil {
			return err
		}
		if hook != nil {
			if err := hook(ctx, tx, c); err != nil {
				return err
			}
		}
		// Last: the institution's counter is locked from here to the
		// commit, and every other filing of the institution waits for it.
		c.Reference, err = numberCase(ctx, tx, n)
		return err
	})
	if err != nil {
		return nil, apperr.Wrap(op, err)
	}
	if replayed != nil {
		// The first submission's case, as the caller may read it now: the
		// filer was assigned to it, but it may since have been reassigned.
		return s.Get(ctx, *replayed)
	}
	return c, nil
}

func violationTypes(vs []ViolationInput) []string {
	out := make([]string, len(vs))
	for i, v := range vs {
		out[i] = v.Type
	}
	return out
}

// Get returns a case the caller may read.
//
// Errors: UNAUTHENTICATED; FORBIDDEN without case:read; NOT_FOUND when the
// case does not exist or lies outside the caller's scope (the two are not
// told apart).
func (s *Service) Get(ctx context.Context, id uuid.UUID) (*Case, error) {
	const op = "casefile.Get"
	if _, err := s.guard.Check(ctx, PermRead, authz.On(authz.Case, id)); err != nil {
		return nil, apperr.Wrap(op, err)
	}
	// One statement for the case, its child, its violations and its data
	// key (readCase), prepared: planned once per connection
	// (postgres.Statements).
	c, err := getCase(ctx, s.stmts, s.keys.Vault, id)
	if err != nil {
		return nil, apperr.Wrap(op, postgres.MapError(err))
	}
	return c, nil
}

// ByIDs returns those of the cases the caller may read, quietly leaving out
// the others: for optional fields that name a case (a complaint's linked
// case), where a case out of reach is simply not shown.
//
// Errors: BAD_USER_INPUT over authz.MaxBatch ids; UNAVAILABLE.
func (s *Service) ByIDs(ctx context.Context, ids []uuid.UUID) (map[uuid.UUID]*Case, error) {
	const op = "casefile.ByIDs"
	visible, err := s.guard.Visible(ctx, PermRead, authz.Case, ids)
	if err != nil {
		return nil, apperr.Wrap(op, err)
	}
	keep := make([]uuid.UUID, 0, len(visible))
	for id := range visible {
		keep = append(keep, id)
	}
	cases, err := getCases(ctx, s.db, s.keys.Vault, keep)
	if err != nil {
		return nil, apperr.Wrap(op, postgres.MapError(err))
	}
	out := make(map[uuid.UUID]*Case, len(cases))
	for _, c := range cases {
		out[c.ID] = c
	}
	return out, nil
}

// Identity returns who the child of case caseID is, and records the read in
// the audit trail in the same transaction.
//
// Errors: UNAUTHENTICATED; FORBIDDEN when the caller may see the case but
// not the child's identity; NOT_FOUND when the caller may not see the case
// at all (both refusals audited).
func (s *Service) Identity(ctx context.Context, caseID uuid.UUID) (*child.Identity, error) {
	id, _, err := s.identity(ctx, "casefile.Identity", caseID, false)
	return id, err
}

// IdentityAndSummary is Identity with the case's summary, both opened with
// the case's one data key: for case exports that list identities.
//
// Errors: as Identity.
func (s *Service) IdentityAndSummary(ctx context.Context, caseID uuid.UUID) (*child.Identity, string, error) {
	return s.identity(ctx, "casefile.IdentityAndSummary", caseID, true)
}

func (s *Service) identity(ctx context.Context, op string, caseID uuid.UUID, withSummary bool) (*child.Identity, string, error) {
	_, err := s.guard.Check(ctx, PermIdentityRead, authz.Target{Kind: authz.Case, ID: caseID, SeenWith: PermRead})
	if apperr.Is(err, apperr.Forbidden) {
		return nil, "", &apperr.Error{Op: op, Kind: apperr.Forbidden, Err: err, Msg: apperr.Text{
			ES: "la identidad de la niña, niño o adolescente está reservada",
			EN: "the child's identity is withheld"}}
	}
	if err != nil {
		return nil, "", apperr.Wrap(op, err)
	}
	var id *child.Identity
	var summary string
	err = postgres.WithTx(ctx, s.db, func(tx *sqlx.Tx) error {
		var childID uuid.UUID
		var err error
		if id, childID, err = getIdentity(ctx, tx, s.keys, caseID); err != nil {
			return err
		}
		if withSummary {
			if summary, err = getSummary(ctx, tx, s.keys.Vault, caseID); err != nil {
				return err
			}
		}
		return audit.Record(ctx, tx, audit.Event{Action: PermIdentityRead, ObjectType: "child", ObjectID: childID.String(),
			Details: map[string]any{"case": caseID}})
	})
	if err != nil {
		return nil, "", apperr.Wrap(op, err)
	}
	return id, summary, nil
}

// Identities is Identity over many cases at once, for the loader behind a
// list's identity fields: the identities the caller may read are opened
// in one transaction, with one data key unwrapped per case and one audit
// event per child read, as Identity writes (in one statement); each case the caller may not
// identify goes through Identity, whose refusal is audited and answered as
// before (in errs).
//
// Errors: UNAVAILABLE; per case, those of Identity.
func (s *Service) Identities(ctx context.Context, caseIDs []uuid.UUID) (ids map[uuid.UUID]*child.Identity, errs map[uuid.UUID]error, err error) {
	const op = "casefile.Identities"
	ok, err := s.guard.Visible(ctx, PermIdentityRead, authz.Case, caseIDs)
	if err != nil {
		return nil, nil, apperr.Wrap(op, err)
	}
	ids, errs = map[uuid.UUID]*child.Identity{}, map[uuid.UUID]error{}
	var allowed []uuid.UUID
	for _, id := range caseIDs {
		if ok[id] {
			allowed = append(allowed, id)
		}
	}
	if len(allowed) > 0 {
		err = postgres.WithTx(ctx, s.db, func(tx *sqlx.Tx) error {
			var rows []struct {
				CaseID  uuid.UUID `db:"id"`
				ChildID uuid.UUID `db:"child_id"`
			}
			if err := tx.SelectContext(ctx, &rows, `SELECT id, child_id FROM cases WHERE id = ANY($1::uuid[])`, postgres.UUIDs(allowed)); err != nil {
				return err
			}
			children := make([]uuid.UUID, len(rows))
			for i, r := range rows {
				children[i] = r.ChildID
			}
			read, err := child.ReadIdentities(ctx, tx, s.keys, children)
			if err != nil {
				return err
			}
			evs := make([]audit.Event, 0, len(rows))
			for _, r := range rows {
				id, found := read[r.ChildID]
				if !found {
					continue // answered by Identity below
				}
				evs = append(evs, audit.Event{Action: PermIdentityRead, ObjectType: "child", ObjectID: r.ChildID.String(),
					Details: map[string]any{"case": r.CaseID}})
				ids[r.CaseID] = id
			}
			return audit.RecordMany(ctx, tx, evs)
		})
		if err != nil {
			return nil, nil, apperr.Wrap(op, err)
		}
	}
	for _, id := range caseIDs {
		if _, done := ids[id]; done {
			continue
		}
		if one, err := s.Identity(ctx, id); err != nil {
			errs[id] = err
		} else {
			ids[id] = one
		}
	}
	return ids, errs, nil
}
