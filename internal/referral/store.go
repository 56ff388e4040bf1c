package referral

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"amparo/internal/casefile"
	"amparo/internal/child"
	"amparo/internal/keys"
	"amparo/internal/narrative"
)

type row struct {
	ID                uuid.UUID      `db:"id"`
	CaseID            uuid.UUID      `db:"case_id"`
	Kind              string         `db:"kind"`
	Status            string         `db:"status"`
	From              string         `db:"from_institution"`
	To                string         `db:"to_institution"`
	Services          pq.StringArray `db:"services"`
	Urgency           string         `db:"urgency"`
	DueAt             sql.NullTime   `db:"due_at"`
	ShareIdentity     bool           `db:"share_identity"`
	ConsentGiven      bool           `db:"consent_given"`
	ConsentBy         sql.NullString `db:"consent_by"`
	ConsentAt         sql.NullTime   `db:"consent_at"`
	ConsentBasis      sql.NullString `db:"consent_basis"`
	Justification     sql.NullString `db:"consent_justification"`
	AgeBand           sql.NullString `db:"summary_age_band"`
	Sex               sql.NullString `db:"summary_sex"`
	Categories        pq.StringArray `db:"summary_categories"`
	Reason            []byte         `db:"reason_sealed"`
	ResponseReason    sql.NullString `db:"response_reason"`
	ServicesDelivered pq.StringArray `db:"services_delivered"`
	CloseReason       sql.NullString `db:"close_reason"`
	CreatedBy         uuid.UUID      `db:"created_by"`
	CreatedAt         time.Time      `db:"created_at"`
	RespondedBy       uuid.NullUUID  `db:"responded_by"`
	RespondedAt       sql.NullTime   `db:"responded_at"`
	ClosedBy          uuid.NullUUID  `db:"closed_by"`
	ClosedAt          sql.NullTime   `db:"closed_at"`
	Version           int            `db:"version"`
}

const columns = `
  r.id, r.case_id, r.kind, r.status, r.from_institution, r.to_institution, r.services, r.urgency, r.due_at,
  r.share_identity, r.consent_given, r.consent_by, r.consent_at, r.consent_basis, r.consent_justification,
  r.summary_age_band, r.summary_sex, r.summary_categories, r.reason_sealed, r.response_reason, r.services_delivered,
  r.close_reason, r.created_by, r.created_at, r.responded_by, r.responded_at, r.closed_by, r.closed_at, r.version`

func (r *row) referral(now time.Time) *Referral {
	out := &Referral{
		ID: r.ID, CaseID: r.CaseID, Kind: Kind(r.Kind), Status: Status(r.Status), From: r.From, To: r.To,
		Services: nonNil(r.Services), Urgency: casefile.Urgency(r.Urgency), DueAt: r.DueAt.Time,
		ShareIdentity: r.ShareIdentity, Sex: child.Sex(r.Sex.String), Categories: nonNil(r.Categories),
		ResponseReason: str(r.ResponseReason), ServicesDelivered: nonNil(r.ServicesDelivered),
		CloseReason: str(r.CloseReason), CreatedBy: r.CreatedBy, CreatedAt: r.CreatedAt,
		RespondedBy: id(r.RespondedBy), RespondedAt: tm(r.RespondedAt), ClosedBy: id(r.ClosedBy), ClosedAt: tm(r.ClosedAt),
		Version: r.Version,
		Consent: Consent{Given: r.ConsentGiven, By: str(r.ConsentBy), At: tm(r.ConsentAt), Basis: str(r.ConsentBasis),
			Justification: str(r.Justification)},
	}
	if r.AgeBand.Valid {
		b := child.AgeBand(r.AgeBand.String)
		out.AgeBand = &b
	}
	out.Overdue = out.Status == Pending && r.DueAt.Valid && now.After(r.DueAt.Time)
	return out
}

func nonNil(a pq.StringArray) []string {
	if a == nil {
		return []string{}
	}
	return a
}

func str(s sql.NullString) *string {
	if !s.Valid {
		return nil
	}
	return &s.String
}

func id(u uuid.NullUUID) *uuid.UUID {
	if !u.Valid {
		return nil
	}
	return &u.UUID
}

func tm(t sql.NullTime) *time.Time {
	if !t.Valid {
		return nil
	}
	return &t.Time
}

// get reads one referral; lock takes its row lock until commit, so that
// of two answers to one referral (accept and withdraw) one waits for the
// other and then sees what it did.
//
// Errors: sql.ErrNoRows.
func get(ctx context.Context, q sqlx.QueryerContext, id uuid.UUID, lock bool) (*row, error) {
	query := `SELECT` + columns + ` FROM referrals r WHERE r.id = $1`
	if lock {
		query += ` FOR UPDATE`
	}
	var r row
	if err := sqlx.GetContext(ctx, q, &r, query, id); err != nil {
		return nil, err
	}
	return &r, nil
}

// caseFacts is what a referral copies from its case: who owns it, and the
// summary the recipient may see before accepting.
type caseFacts struct {
	Institution string         `db:"institution_code"`
	Urgency     string         `db:"urgency"`
	ChildID     uuid.UUID      `db:"child_id"`
	AgeBand     sql.NullString `db:"age_band"`
	Sex         string         `db:"sex"`
	Types       pq.StringArray `db:"types"`
}

// lockCase reads the facts of a case and locks its row until commit: a
// referral and a transfer of the same case do not cross.
//
// Errors: sql.ErrNoRows.
func lockCase(ctx context.Context, tx *sqlx.Tx, caseID uuid.UUID) (*caseFacts, error) {
	const q = `
SELECT c.institution_code, c.urgency, c.child_id, ch.age_band, ch.sex,
  ARRAY(SELECT cv.type_code FROM case_violations cv WHERE cv.case_id = c.id ORDER BY cv.position) AS types
FROM cases c JOIN children ch ON ch.id = c.child_id
WHERE c.id = $1
FOR UPDATE OF c`
	var f caseFacts
	if err := tx.GetContext(ctx, &f, q, caseID); err != nil {
		return nil, err
	}
	return &f, nil
}

// insert writes a referral, its reason sealed under the case's data key k.
func insert(ctx context.Context, tx *sqlx.Tx, k keys.DataKey, r *Referral) error {
	const q = `
INSERT INTO referrals (id, case_id, kind, status, from_institution, to_institution, services, urgency, due_at,
  share_identity, consent_given, consent_by, consent_at, consent_basis, consent_justification,
  summary_age_band, summary_sex, summary_categories, reason_sealed, created_by, created_at, updated_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $21)`
	c := r.Consent
	if _, err := tx.ExecContext(ctx, q, r.ID, r.CaseID, r.Kind, r.Status, r.From, r.To, pq.Array(r.Services),
		r.Urgency, r.DueAt, r.ShareIdentity, c.Given, c.By, c.At, c.Basis, c.Justification,
		r.AgeBand, string(r.Sex), pq.Array(r.Categories), narrative.ReferralReason.Seal(k, r.ID.String(), &r.Reason), r.CreatedBy, r.CreatedAt); err != nil {
		return fmt.Errorf("insert referral: %w", err)
	}
	return nil
}

// respond records the recipient's answer.
func respond(ctx context.Context, tx *sqlx.Tx, id uuid.UUID, to Status, by uuid.UUID, at time.Time, reason *string) error {
	const q = `
UPDATE referrals SET status = $2, responded_by = $3, responded_at = $4, response_reason = $5,
  version = version + 1, updated_at = $4
WHERE id = $1`
	if _, err := tx.ExecContext(ctx, q, id, to, by, at, reason); err != nil {
		return fmt.Errorf("answer referral: %w", err)
	}
	return nil
}

// closeReferral records a withdrawal or a completion.
func closeReferral(ctx context.Context, tx *sqlx.Tx, id uuid.UUID, to Status, by uuid.UUID, at time.Time, reason *string, delivered []string) error {
	const q = `
UPDATE referrals SET status = $2, closed_by = $3, closed_at = $4, close_reason = $5, services_delivered = $6,
  version = version + 1, updated_at = $4
WHERE id = $1`
	if delivered == nil {
		delivered = []string{}
	}
	if _, err := tx.ExecContext(ctx, q, id, to, by, at, reason, pq.Array(delivered)); err != nil {
		return fmt.Errorf("close referral: %w", err)
	}
	return nil
}

// moveCase hands a case and its child's record to another institution:
// the reference stays, the case is assigned to whoever accepted it (the old
// owner's assignee is not of the new institution), and the accepted
// transfer referral records the previous owner.
func moveCase(ctx context.Context, tx *sqlx.Tx, caseID, childID uuid.UUID, to string, by uuid.UUID, at time.Time) error {
	const qCase = `
UPDATE cases SET institution_code = $2, assigned_to = $3, version = version + 1, updated_by = $3, updated_at = $4
WHERE id = $1`
	if _, err := tx.ExecContext(ctx, qCase, caseID, to, by, at); err != nil {
		return fmt.Errorf("transfer case: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `UPDATE children SET institution_code = $2 WHERE id = $1`, childID, to); err != nil {
		return fmt.Errorf("transfer child: %w", err)
	}
	return nil
}
