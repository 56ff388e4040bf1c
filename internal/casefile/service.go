package casefile

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/google/uuid"
	"github.com/jmoiron/sqlx"

	"amparo/internal/apperr"
	"amparo/internal/audit"
	"amparo/internal/auth"
	"amparo/internal/authz"
	"amparo/internal/child"
	"amparo/internal/idempotency"
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
	authz   *authz.Authorizer
	catalog *reference.Catalog
	now     func() time.Time
	// record writes audit events: audit.Record, always. Only the benchmark
	// that measures what auditing costs replaces it, from inside the package.
	record func(ctx context.Context, tx sqlx.ExecerContext, ev audit.Event) error
}

// NewService returns a Service over db.
func NewService(db *sqlx.DB, az *authz.Authorizer, cat *reference.Catalog) *Service {
	return &Service{db: db, authz: az, catalog: cat, now: time.Now, record: audit.Record}
}

// check authorizes perm for the caller and records a refusal.
func (s *Service) check(ctx context.Context, perm, objectID string) (*auth.Principal, authz.Scopes, error) {
	p, scopes, err := s.authz.Check(ctx, perm)
	if apperr.Is(err, apperr.Forbidden) {
		return nil, nil, audit.Deny(ctx, s.db, audit.Event{Action: perm, ObjectType: "case", ObjectID: objectID}, err)
	}
	return p, scopes, err
}

// File opens a case for the caller's institution, with the caller as the
// assigned officer. A retry with the same idempotency key and the same
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
// atomically: if the hook fails, no case is filed.
type Hook func(ctx context.Context, tx *sqlx.Tx, c *Case) error

// FileWith is File with a hook run after the case is written and before
// commit. On an idempotent replay nothing is written and the hook does not
// run.
func (s *Service) FileWith(ctx context.Context, in FileInput, hook Hook) (*Case, error) {
	const op = "casefile.File"
	p, scopes, err := s.check(ctx, PermFile, "")
	if err != nil {
		return nil, apperr.Wrap(op, err)
	}
	if !scopes.Has(authz.Institution) || p.Institution == "" {
		return nil, &apperr.Error{Op: op, Kind: apperr.Forbidden}
	}
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
	n := &newCase{ID: uuid.New(), ChildID: uuid.New(), Institution: p.Institution, By: p.UserID, At: now, In: &in}
	var c *Case
	err = postgres.WithTx(ctx, s.db, func(tx *sqlx.Tx) error {
		claim, err := idempotency.Record(ctx, tx, idempotency.Claim{User: p.UserID, Operation: "fileCase",
			Key: in.IdempotencyKey, Hash: hash, ID: n.ID})
		if err != nil {
			return err
		}
		if claim.Replay {
			// The first submission's case; the filer was assigned to it, so
			// it is in scope unless it has since been reassigned.
			c, err = getCase(ctx, tx, claim.ID, p, s.authz.Scopes(p, PermRead))
			return err
		}
		if err := child.Insert(ctx, tx, n.ChildID, n.Institution, n.By, n.At, &in.Child); err != nil {
			return err
		}
		if err := s.record(ctx, tx, audit.Event{
			Action: PermFile, ObjectType: "case", ObjectID: n.ID.String(),
			Details: map[string]any{"child": n.ChildID, "urgency": in.Urgency, "department": in.DepartmentCode,
				"violations": violationTypes(in.Violations)},
		}); err != nil {
			return err
		}
		if _, err := insertCase(ctx, tx, n); err != nil {
			return err
		}
		if c, err = getCase(ctx, tx, n.ID, p, authz.Scopes{authz.All: true}); err != nil {
			return err
		}
		if hook != nil {
			return hook(ctx, tx, c)
		}
		return nil
	})
	if err != nil {
		return nil, apperr.Wrap(op, err)
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
	p, scopes, err := s.check(ctx, PermRead, id.String())
	if err != nil {
		return nil, apperr.Wrap(op, err)
	}
	c, err := getCase(ctx, s.db, id, p, scopes)
	if err != nil {
		return nil, apperr.Wrap(op, postgres.MapError(err))
	}
	return c, nil
}

// Authorize checks that the caller holds perm over case id, for services
// that act on a case's dependants (evidence, notes).
//
// Errors: UNAUTHENTICATED; FORBIDDEN without perm; NOT_FOUND when the case
// lies outside the caller's scope for perm.
func (s *Service) Authorize(ctx context.Context, caseID uuid.UUID, perm string) (*auth.Principal, error) {
	p, scopes, err := s.check(ctx, perm, caseID.String())
	if err != nil {
		return nil, err
	}
	ok, err := inScope(ctx, s.db, caseID, p, scopes)
	if err != nil {
		return nil, postgres.MapError(err)
	}
	if !ok {
		return nil, apperr.E(apperr.NotFound)
	}
	return p, nil
}

// Identity returns who the child of case caseID is, and records the read in
// the audit trail in the same transaction.
//
// Errors: UNAUTHENTICATED; FORBIDDEN when the caller may see the case but
// not the child's identity (the refusal is audited); NOT_FOUND when the
// caller may not see the case at all.
func (s *Service) Identity(ctx context.Context, caseID uuid.UUID) (*child.Identity, error) {
	const op = "casefile.Identity"
	p, err := auth.Require(ctx)
	if err != nil {
		return nil, err
	}
	forbidden := func() error {
		if ok, err := inScope(ctx, s.db, caseID, p, s.authz.Scopes(p, PermRead)); err != nil {
			return postgres.MapError(err)
		} else if !ok {
			return apperr.E(apperr.NotFound)
		}
		return audit.Deny(ctx, s.db, audit.Event{Action: PermIdentityRead, ObjectType: "case", ObjectID: caseID.String()},
			&apperr.Error{Op: op, Kind: apperr.Forbidden, Msg: apperr.Text{
				ES: "la identidad de la niña, niño o adolescente está reservada",
				EN: "the child's identity is withheld"}})
	}
	scopes := s.authz.Scopes(p, PermIdentityRead)
	if len(scopes) == 0 {
		return nil, forbidden()
	}
	var id *child.Identity
	err = postgres.WithTx(ctx, s.db, func(tx *sqlx.Tx) error {
		var childID uuid.UUID
		var err error
		id, childID, err = getIdentity(ctx, tx, caseID, p, scopes)
		if err != nil {
			return err
		}
		return audit.Record(ctx, tx, audit.Event{Action: PermIdentityRead, ObjectType: "child", ObjectID: childID.String(),
			Details: map[string]any{"case": caseID}})
	})
	if errors.Is(err, sql.ErrNoRows) || apperr.Is(err, apperr.NotFound) {
		return nil, forbidden()
	}
	if err != nil {
		return nil, apperr.Wrap(op, err)
	}
	return id, nil
}
