package authz

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/google/uuid"
	"github.com/jmoiron/sqlx"

	"amparo/internal/apperr"
	"amparo/internal/auth"
	"amparo/internal/postgres"
)

// Guard is the one gate in front of every exported service method: the
// caller's role must hold the permission in their institution (casbin), and
// the record acted on must lie within the scopes that role holds (SQL over
// the record's Kind), decided before the record itself is read. Every
// refusal, by role or by scope, is written to the audit trail.
//
// Services call exactly one of its methods first:
//
//   - Check for an action on one record, on no record in particular (a
//     list, whose query then uses Decision.Where), or on a new record of the
//     caller's institution (Create);
//   - Filter for the batch methods behind loaders, which act on many;
//   - May for optional fields, where a refusal is an empty field and not an
//     event worth auditing.
type Guard struct {
	az      *Authorizer
	db      sqlx.QueryerContext
	stmts   *postgres.Statements // the scope checks, prepared, when db is a pool
	denials Denials
	log     *slog.Logger
}

// Denials records refusals. The audit trail implements it (audit.Denials),
// writing each in a transaction of its own: the refused action has none.
type Denials interface {
	Deny(ctx context.Context, d Denial) error
}

// Denial is one refusal.
type Denial struct {
	Perm     string
	Kind     string // object type; "" for an action on no record
	ObjectID string
	Reason   string // ReasonRole or ReasonScope
}

// Reasons of a refusal, as recorded.
const (
	ReasonRole  = "role"  // the role does not hold the permission
	ReasonScope = "scope" // the record is unknown or outside the role's scopes
	ReasonRule  = "rule"  // a rule of the domain forbids it (Refuse)
)

// NewGuard returns the guard over az, reading record scopes from db and
// recording refusals with denials.
func NewGuard(az *Authorizer, db sqlx.QueryerContext, denials Denials, log *slog.Logger) *Guard {
	g := &Guard{az: az, db: db, denials: denials, log: log}
	if pool, ok := db.(*sqlx.DB); ok {
		// A scope check's text depends only on the kind and the scopes,
		// so there are few: each is planned once per connection.
		g.stmts = postgres.NewStatements(pool)
	}
	return g
}

// PrepareOn runs the scope checks prepared on pool (postgres.OpenGeneric),
// where they are planned once per connection.
func (g *Guard) PrepareOn(pool *sqlx.DB) { g.stmts = postgres.NewStatements(pool) }

// Target is what an action touches.
type Target struct {
	Kind *Kind
	ID   any // the record's id, in the type of Kind.ID's column
	// SeenWith names a permission through which the caller may already see
	// the record. Refused perm over a record they may see, they are told
	// FORBIDDEN (its existence is no secret to them); otherwise NOT_FOUND.
	SeenWith string
	// ofInstitution: the action reaches all of the caller's institution (a
	// new record of it, or an institution-wide list).
	ofInstitution bool
}

// On targets record id of kind k.
func On(k *Kind, id any) Target { return Target{Kind: k, ID: id} }

// Create targets a new record of the caller's institution: the role must
// hold the permission in institution scope, and the caller must belong to
// an institution.
var Create = Target{ofInstitution: true}

// WholeInstitution targets every record of the caller's institution at
// once (an institution-wide list), with the same requirement as Create.
var WholeInstitution = Target{ofInstitution: true}

// Any targets no record in particular: a list, whose query narrows itself
// with Decision.Where.
var Any = Target{}

// Decision is what the guard allowed: who is calling and which scopes their
// role holds for the permission.
type Decision struct {
	Principal *auth.Principal
	Scopes    Scopes
}

// Where is the scope condition over k's aliases, for queries that list.
func (d *Decision) Where(k *Kind, a *postgres.Args) string {
	return k.Where(d.Principal, d.Scopes, a)
}

// Check authorizes perm over t for the caller in ctx.
//
// Errors: UNAUTHENTICATED without a principal; FORBIDDEN when the role does
// not hold perm (or, for Create and WholeInstitution, not in institution scope; or the record
// lies outside perm's scopes but within SeenWith's); NOT_FOUND when the
// record does not exist or lies outside the caller's scopes — the two are
// not told apart, and cost the same. UNAVAILABLE when the database is down.
// Every FORBIDDEN and NOT_FOUND is audited.
func (g *Guard) Check(ctx context.Context, perm string, t Target) (*Decision, error) {
	d, err := g.role(ctx, perm, t)
	if err != nil || t.Kind == nil {
		return d, err
	}
	in, err := g.inScope(ctx, d, t.Kind, t.ID)
	if err != nil {
		return nil, err
	}
	if in {
		return d, nil
	}
	kind := apperr.NotFound
	if t.SeenWith != "" {
		seen := &Decision{Principal: d.Principal, Scopes: g.az.Scopes(d.Principal, t.SeenWith)}
		if len(seen.Scopes) > 0 {
			if in, err = g.inScope(ctx, seen, t.Kind, t.ID); err != nil {
				return nil, err
			} else if in {
				kind = apperr.Forbidden
			}
		}
	}
	return nil, g.refuse(ctx, Denial{Perm: perm, Kind: t.Kind.Name, ObjectID: fmt.Sprint(t.ID), Reason: ReasonScope},
		&apperr.Error{Op: perm, Kind: kind})
}

// role is the first half of every check: a principal whose role holds perm.
func (g *Guard) role(ctx context.Context, perm string, t Target) (*Decision, error) {
	p, err := auth.Require(ctx)
	if err != nil {
		return nil, err
	}
	d := &Decision{Principal: p, Scopes: g.az.Scopes(p, perm)}
	if len(d.Scopes) == 0 || (t.ofInstitution && (!d.Scopes.Has(Institution) || p.Institution == "")) {
		den := Denial{Perm: perm, Reason: ReasonRole}
		if t.Kind != nil {
			den.Kind, den.ObjectID = t.Kind.Name, fmt.Sprint(t.ID)
		}
		return nil, g.refuse(ctx, den, &apperr.Error{Op: perm, Kind: apperr.Forbidden})
	}
	return d, nil
}

// inScope reports whether record id of kind k lies within d's scopes: one
// indexed lookup whether or not the record exists.
func (g *Guard) inScope(ctx context.Context, d *Decision, k *Kind, id any) (bool, error) {
	var a postgres.Args
	q := `SELECT EXISTS (SELECT 1 FROM ` + k.From + ` WHERE ` + k.ID + ` = ` + a.Add(id) + ` AND ` + d.Where(k, &a) + `)`
	var ok bool
	get := func() error { return sqlx.GetContext(ctx, g.db, &ok, q, a...) }
	if g.stmts != nil {
		get = func() error { return g.stmts.Get(ctx, &ok, q, a...) }
	}
	if err := get(); err != nil {
		if postgres.SQLState(err) == "22P02" { // not a valid id of the column's type: no such record
			return false, nil
		}
		return false, postgres.MapError(err)
	}
	return ok, nil
}

// Refuse records a refusal that a rule of the domain makes after the guard
// let the caller through (nobody changes their own roles), the same way the
// guard records its own, and returns refusal.
func (g *Guard) Refuse(ctx context.Context, perm string, t Target, refusal *apperr.Error) error {
	den := Denial{Perm: perm, Reason: ReasonRule}
	if t.Kind != nil {
		den.Kind, den.ObjectID = t.Kind.Name, fmt.Sprint(t.ID)
	}
	return g.refuse(ctx, den, refusal)
}

// refuse audits a refusal and returns it. A refusal stands even when its
// audit cannot be written, but that failure is an error of its own: it is
// logged here and kept as the refusal's cause.
func (g *Guard) refuse(ctx context.Context, d Denial, refusal *apperr.Error) error {
	if err := g.denials.Deny(ctx, d); err != nil {
		g.log.ErrorContext(ctx, "audit of a refusal failed", "perm", d.Perm, "object_type", d.Kind,
			"object_id", d.ObjectID, "reason", d.Reason, "err", err)
		refusal.Err = fmt.Errorf("audit of the refusal failed: %w", err)
	}
	return refusal
}

// MaxBatch bounds the ids one Filter call takes (a loader's batch).
const MaxBatch = 1000

// Filter authorizes perm over many records of kind k at once, for the batch
// methods behind loaders: a role refusal is audited and fails the batch;
// ids outside the caller's scopes are left out of the result, quietly, as
// May leaves an optional field empty. The result keeps the order of ids.
//
// Errors: UNAUTHENTICATED; FORBIDDEN (audited); BAD_USER_INPUT over
// MaxBatch ids; UNAVAILABLE.
func (g *Guard) Filter(ctx context.Context, perm string, k *Kind, ids []uuid.UUID) (*Decision, []uuid.UUID, error) {
	d, err := g.role(ctx, perm, Any)
	if err != nil {
		return nil, nil, err
	}
	if len(ids) > MaxBatch {
		return nil, nil, &apperr.Error{Op: perm, Kind: apperr.Invalid, Msg: apperr.Text{
			ES: fmt.Sprintf("demasiados registros a la vez (máximo %d)", MaxBatch),
			EN: fmt.Sprintf("too many records at once (at most %d)", MaxBatch)}}
	}
	if len(ids) == 0 {
		return d, nil, nil
	}
	in, err := g.within(ctx, d, k, ids)
	if err != nil {
		return nil, nil, err
	}
	out := make([]uuid.UUID, 0, len(ids))
	for _, id := range ids {
		if in[id] {
			out = append(out, id)
		}
	}
	return d, out, nil
}

// within returns those of ids (of a kind with uuid ids) that lie within
// d's scopes, in one query.
func (g *Guard) within(ctx context.Context, d *Decision, k *Kind, ids []uuid.UUID) (map[uuid.UUID]bool, error) {
	var a postgres.Args
	q := `SELECT ` + k.ID + ` FROM ` + k.From + ` WHERE ` + k.ID + ` = ANY(` + a.Add(postgres.UUIDs(ids)) + `::uuid[]) AND ` + d.Where(k, &a)
	var found []uuid.UUID
	if err := sqlx.SelectContext(ctx, g.db, &found, q, a...); err != nil {
		return nil, postgres.MapError(err)
	}
	in := make(map[uuid.UUID]bool, len(found))
	for _, id := range found {
		in[id] = true
	}
	return in, nil
}

// May answers quietly whether the caller holds perm over t: no audit event
// either way, for optional fields that are simply left empty when not.
// Errors reading the scope count as "no".
func (g *Guard) May(ctx context.Context, perm string, t Target) bool {
	p, ok := auth.From(ctx)
	if !ok {
		return false
	}
	d := &Decision{Principal: p, Scopes: g.az.Scopes(p, perm)}
	if len(d.Scopes) == 0 || (t.ofInstitution && (!d.Scopes.Has(Institution) || p.Institution == "")) {
		return false
	}
	if t.Kind == nil {
		return true
	}
	in, err := g.inScope(ctx, d, t.Kind, t.ID)
	return err == nil && in
}

// Visible is May over many records of kind k: the subset the caller holds
// perm over, with no audit event. For loaders of optional fields.
//
// Errors: BAD_USER_INPUT over MaxBatch ids; UNAVAILABLE.
func (g *Guard) Visible(ctx context.Context, perm string, k *Kind, ids []uuid.UUID) (map[uuid.UUID]bool, error) {
	p, ok := auth.From(ctx)
	if !ok || len(ids) == 0 {
		return map[uuid.UUID]bool{}, nil
	}
	d := &Decision{Principal: p, Scopes: g.az.Scopes(p, perm)}
	if len(d.Scopes) == 0 {
		return map[uuid.UUID]bool{}, nil
	}
	if len(ids) > MaxBatch {
		return nil, &apperr.Error{Op: perm, Kind: apperr.Invalid}
	}
	return g.within(ctx, d, k, ids)
}
