// Package alert tells the right people at once what they must act on: an
// urgent case filed, a complaint routed to their institution, a referral
// received or answered, an assignment, a closure to approve, a deadline
// near or past.
//
// An alert is a row per recipient in the alerts table, written by Raise in
// the transaction of the change that causes it, so that the change and its
// alerts commit or vanish together. Who receives it is decided by the guard
// (authz.Guard.Audience): nobody is alerted about a record they could not
// read. Alerts hold ids and codes only, never a name or free text.
//
// Every replica runs a Hub: one PostgreSQL LISTEN connection on which each
// committed alert is announced, and the open subscriptions of this replica's
// users, to which it pushes what it hears. A Hub that lost its connection
// reads back from the table what was raised meanwhile, and never pushes an
// alert twice to one subscription. The inbox (Service.List, MarkRead) keeps
// what a recipient was not connected to hear. The Watcher, one leader among
// the replicas, raises DEADLINE_SOON and OVERDUE once per case deadline.
package alert

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/google/uuid"
	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"amparo/internal/auth"
	"amparo/internal/authz"
	"amparo/internal/postgres"
)

// Kind is what an alert is about.
type Kind string

// The kinds of alert (DESIGN.md, Wave 2 contract).
const (
	UrgentCase       Kind = "URGENT_CASE"
	ComplaintRouted  Kind = "COMPLAINT_ROUTED"
	ReferralReceived Kind = "REFERRAL_RECEIVED"
	ReferralAnswered Kind = "REFERRAL_ANSWERED"
	CaseAssigned     Kind = "CASE_ASSIGNED"
	ClosureRequested Kind = "CLOSURE_REQUESTED"
	DeadlineSoon     Kind = "DEADLINE_SOON"
	Overdue          Kind = "OVERDUE"
)

// Alert is one alert of one recipient.
type Alert struct {
	ID          uuid.UUID  `db:"id"`
	Recipient   uuid.UUID  `db:"recipient_id"`
	Kind        Kind       `db:"kind"`
	At          time.Time  `db:"at"`
	CaseID      *uuid.UUID `db:"case_id"`
	ComplaintID *uuid.UUID `db:"complaint_id"`
	ReferralID  *uuid.UUID `db:"referral_id"`
	Urgency     *string    `db:"urgency"`
	ReadAt      *time.Time `db:"read_at"`
}

// About is what an alert says: its kind and the ids and urgency of the
// records concerned.
type About struct {
	Kind        Kind
	CaseID      *uuid.UUID
	ComplaintID *uuid.UUID
	ReferralID  *uuid.UUID
	Urgency     string // "" when none
}

// channel is the PostgreSQL notification channel of committed alerts. Each
// notification's payload is "<alert id>:<recipient id>".
const channel = "amparo_alerts"

// Raise writes ab for each of recipients in tx and announces each to every
// replica, which PostgreSQL does when tx commits (and never if it rolls
// back). Duplicate recipients are alerted once; none is no work.
func Raise(ctx context.Context, tx sqlx.QueryerContext, ab About, recipients []uuid.UUID) error {
	recipients = slices.Clone(recipients)
	slices.SortFunc(recipients, func(a, b uuid.UUID) int { return slices.Compare(a[:], b[:]) })
	recipients = slices.Compact(recipients)
	if len(recipients) == 0 {
		return nil
	}
	const q = `
WITH ins AS (
  INSERT INTO alerts (id, recipient_id, kind, case_id, complaint_id, referral_id, urgency)
  SELECT gen_random_uuid(), r, $2, $3, $4, $5, nullif($6, '')
  FROM unnest($1::uuid[]) AS r
  RETURNING id, recipient_id)
SELECT count(pg_notify('` + channel + `', ins.id::text || ':' || ins.recipient_id::text)) FROM ins`
	var n int
	if err := sqlx.GetContext(ctx, tx, &n, q, postgres.UUIDs(recipients), ab.Kind, ab.CaseID, ab.ComplaintID, ab.ReferralID, ab.Urgency); err != nil {
		return fmt.Errorf("alert: raise %s: %w", ab.Kind, postgres.MapError(err))
	}
	return nil
}

// Roles of an institution's staff whom alerts reach.
const (
	RoleSupervisor = "supervisor"
	RoleOfficer    = "officer"
)

// To is whom an alert may reach: the staff of Institutions holding one of
// Roles, and Users; of those, only whoever holds Perm over Target receives
// it, and never the person whose action raised it.
type To struct {
	Perm         string
	Target       authz.Target
	Institutions []string
	Roles        []string
	Users        []uuid.UUID
}

// Raiser raises alerts to the audience the guard allows. Domain services
// call its methods inside the transaction of the change.
type Raiser struct {
	guard *authz.Guard
}

// NewRaiser returns a Raiser deciding recipients with g.
func NewRaiser(g *authz.Guard) *Raiser { return &Raiser{guard: g} }

// Raise alerts about ab whoever of to may read its record.
//
// Errors: UNAVAILABLE when the database is down.
func (r *Raiser) Raise(ctx context.Context, tx *sqlx.Tx, ab About, to To) error {
	candidates, err := candidates(ctx, tx, to)
	if err != nil {
		return err
	}
	if p, ok := auth.From(ctx); ok {
		candidates = slices.DeleteFunc(candidates, func(c *auth.Principal) bool { return c.UserID == p.UserID })
	}
	ids, err := r.guard.Audience(ctx, tx, to.Perm, to.Target, candidates)
	if err != nil {
		return fmt.Errorf("alert: audience of %s: %w", ab.Kind, err)
	}
	return Raise(ctx, tx, ab, ids)
}

// candidates reads the enabled users that to names.
func candidates(ctx context.Context, q sqlx.QueryerContext, to To) ([]*auth.Principal, error) {
	if len(to.Users) == 0 && (len(to.Institutions) == 0 || len(to.Roles) == 0) {
		return nil, nil
	}
	const sel = `
SELECT u.id, coalesce(u.institution_code, '') AS institution FROM users u
WHERE u.disabled_at IS NULL AND (u.id = ANY($3::uuid[]) OR (u.institution_code = ANY($1) AND EXISTS (
  SELECT 1 FROM role_grants g WHERE g.user_id = u.id AND g.domain = u.institution_code AND g.role = ANY($2))))
ORDER BY u.id`
	var rows []struct {
		ID          uuid.UUID `db:"id"`
		Institution string    `db:"institution"`
	}
	if err := sqlx.SelectContext(ctx, q, &rows, sel, pq.Array(to.Institutions), pq.Array(to.Roles), postgres.UUIDs(to.Users)); err != nil {
		return nil, fmt.Errorf("alert: candidates: %w", postgres.MapError(err))
	}
	out := make([]*auth.Principal, len(rows))
	for i, r := range rows {
		out[i] = &auth.Principal{UserID: r.ID, Institution: r.Institution}
	}
	return out, nil
}

// Permissions over the records alerts are about, which recipients must hold.
const (
	permCaseRead      = "case:read"
	permComplaintRead = "complaint:read"
)

func caseTarget(id uuid.UUID) authz.Target { return authz.On(authz.Case, id) }

// IsUrgent reports whether a case of urgency u calls for URGENT_CASE.
func IsUrgent(u string) bool { return u == "IMMEDIATE" || u == "HIGH" }

// UrgentCase alerts the supervisors and on-duty officers of institution to
// a case of urgency IMMEDIATE or HIGH; other urgencies raise nothing.
// On-duty is every enabled officer of the institution (there are no duty
// rosters yet); of them, the guard keeps those who may read the case.
//
// Errors: UNAVAILABLE.
func (r *Raiser) UrgentCase(ctx context.Context, tx *sqlx.Tx, caseID uuid.UUID, institution, urgency string) error {
	if !IsUrgent(urgency) {
		return nil
	}
	return r.Raise(ctx, tx, About{Kind: UrgentCase, CaseID: &caseID, Urgency: urgency}, To{
		Perm: permCaseRead, Target: caseTarget(caseID),
		Institutions: []string{institution}, Roles: []string{RoleSupervisor, RoleOfficer},
	})
}

// ComplaintRouted alerts the supervisors and officers of the institutions a
// complaint was routed to who may read it.
//
// Errors: UNAVAILABLE.
func (r *Raiser) ComplaintRouted(ctx context.Context, tx *sqlx.Tx, complaintID uuid.UUID, urgency string, institutions []string) error {
	return r.Raise(ctx, tx, About{Kind: ComplaintRouted, ComplaintID: &complaintID, Urgency: urgency}, To{
		Perm: permComplaintRead, Target: authz.On(authz.Complaint, complaintID),
		Institutions: institutions, Roles: []string{RoleSupervisor, RoleOfficer},
	})
}

// CaseAssigned alerts the new assignee of a case.
//
// Errors: UNAVAILABLE.
func (r *Raiser) CaseAssigned(ctx context.Context, tx *sqlx.Tx, caseID, assignee uuid.UUID, urgency string) error {
	return r.Raise(ctx, tx, About{Kind: CaseAssigned, CaseID: &caseID, Urgency: urgency}, To{
		Perm: permCaseRead, Target: caseTarget(caseID), Users: []uuid.UUID{assignee},
	})
}

// ClosureRequested alerts the supervisors of the case's institution, who
// approve closures.
//
// Errors: UNAVAILABLE.
func (r *Raiser) ClosureRequested(ctx context.Context, tx *sqlx.Tx, caseID uuid.UUID, institution, urgency string) error {
	return r.Raise(ctx, tx, About{Kind: ClosureRequested, CaseID: &caseID, Urgency: urgency}, To{
		Perm: permCaseRead, Target: caseTarget(caseID),
		Institutions: []string{institution}, Roles: []string{RoleSupervisor},
	})
}

// permReferralRead is what recipients of referral alerts must hold over
// the referral.
const permReferralRead = "referral:read"

// ReferralReceived alerts the supervisors and officers of the institution a
// referral (or transfer) is addressed to who may read it.
//
// Errors: UNAVAILABLE.
func (r *Raiser) ReferralReceived(ctx context.Context, tx *sqlx.Tx, referralID, caseID uuid.UUID, urgency, to string) error {
	return r.referral(ctx, tx, ReferralReceived, referralID, caseID, urgency, to)
}

// ReferralAnswered alerts the referring institution's supervisors and
// officers who may read the referral (the officer who made it, the
// supervisors) that it was accepted or declined.
//
// Errors: UNAVAILABLE.
func (r *Raiser) ReferralAnswered(ctx context.Context, tx *sqlx.Tx, referralID, caseID uuid.UUID, urgency, from string) error {
	return r.referral(ctx, tx, ReferralAnswered, referralID, caseID, urgency, from)
}

func (r *Raiser) referral(ctx context.Context, tx *sqlx.Tx, kind Kind, referralID, caseID uuid.UUID, urgency, institution string) error {
	return r.Raise(ctx, tx, About{Kind: kind, ReferralID: &referralID, CaseID: &caseID, Urgency: urgency}, To{
		Perm: permReferralRead, Target: authz.On(authz.Referral, referralID),
		Institutions: []string{institution}, Roles: []string{RoleSupervisor, RoleOfficer},
	})
}
