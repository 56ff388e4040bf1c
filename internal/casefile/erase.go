package casefile

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jmoiron/sqlx"

	"amparo/internal/apperr"
	"amparo/internal/audit"
	"amparo/internal/authz"
	"amparo/internal/postgres"
)

// PermErase is the permission to erase a child's identity for good.
const PermErase = "identity:erase"

// ErasureGrounds are the grounds an erasure may be asked on.
var ErasureGrounds = []string{"DATA_SUBJECT_REQUEST", "COURT_ORDER", "REGISTERED_IN_ERROR", "RETENTION_ENDED"}

var erasureGrounds = apperr.Set(ErasureGrounds...)

// Statuses of an erasure.
const (
	ErasurePending = "PENDING_APPROVAL"
	ErasureDone    = "ERASED"
)

// EraseInput asks for (or approves) the erasure of a case's child identity.
type EraseInput struct {
	CaseID uuid.UUID
	Ground string
}

// Erasure is the erasure of the identity and narratives of a case.
type Erasure struct {
	ID          uuid.UUID     `db:"id"`
	CaseID      uuid.UUID     `db:"case_id"`
	Ground      string        `db:"ground"`
	RequestedBy uuid.UUID     `db:"requested_by"`
	RequestedAt time.Time     `db:"requested_at"`
	ApprovedBy  uuid.NullUUID `db:"approved_by"`
	ApprovedAt  sql.NullTime  `db:"approved_at"`
	KeysErased  sql.NullInt32 `db:"keys_erased"`
}

// Status is PENDING_APPROVAL until a second supervisor approves, then
// ERASED.
func (e *Erasure) Status() string {
	if e.ApprovedAt.Valid {
		return ErasureDone
	}
	return ErasurePending
}

// EraseIdentity erases the identity of a case's child, and every narrative
// of the case, for good, in two steps by two people. The first call asks
// for it (PENDING_APPROVAL). The same call by another supervisor, on the
// same ground, approves it and destroys the data keys of the case and of
// the complaints linked to it (crypto-shredding): the identities, summary,
// violation descriptions, notes, referral reasons, complaint descriptions
// and complainants sealed under them can never be opened again, and the
// child is no longer found by searchChildren. The structured record (codes,
// dates, statuses), its statistics and the audit trail stay. Both steps are
// audited with codes and ids only.
//
// Errors: UNAUTHENTICATED; FORBIDDEN without identity:erase, or when the
// supervisor who asked tries to approve (audited); NOT_FOUND for a case
// outside the caller's scope; BAD_USER_INPUT for an unknown ground or one
// other than the pending request's; CONFLICT when already erased.
func (s *Service) EraseIdentity(ctx context.Context, in EraseInput) (*Erasure, error) {
	const op = "casefile.EraseIdentity"
	target := authz.Target{Kind: authz.Case, ID: in.CaseID, SeenWith: PermRead}
	d, err := s.guard.Check(ctx, PermErase, target)
	if err != nil {
		return nil, apperr.Wrap(op, err)
	}
	if !erasureGrounds[in.Ground] {
		return nil, &apperr.Error{Op: op, Kind: apperr.Invalid, Field: "ground", Msg: apperr.Text{
			ES: "motivo desconocido: DATA_SUBJECT_REQUEST, COURT_ORDER, REGISTERED_IN_ERROR o RETENTION_ENDED",
			EN: "unknown ground: DATA_SUBJECT_REQUEST, COURT_ORDER, REGISTERED_IN_ERROR or RETENTION_ENDED"}}
	}
	p := d.Principal
	now := s.now().UTC().Truncate(time.Microsecond)
	var out *Erasure
	err = postgres.WithTx(ctx, s.db, func(tx *sqlx.Tx) error {
		var erased sql.NullTime
		if err := tx.GetContext(ctx, &erased, `SELECT identity_erased_at FROM cases WHERE id = $1 FOR UPDATE`, in.CaseID); err != nil {
			return err
		}
		if erased.Valid {
			return apperr.New(apperr.Conflict, "la identidad de este caso ya fue borrada", "this case's identity was already erased")
		}
		var e Erasure
		err := tx.GetContext(ctx, &e, `SELECT `+erasureColumns+` FROM identity_erasures WHERE case_id = $1 AND approved_at IS NULL`, in.CaseID)
		if errors.Is(err, sql.ErrNoRows) {
			e = Erasure{ID: uuid.New(), CaseID: in.CaseID, Ground: in.Ground, RequestedBy: p.UserID, RequestedAt: now}
			if _, err := tx.ExecContext(ctx, `INSERT INTO identity_erasures (id, case_id, ground, requested_by, requested_at)
VALUES ($1, $2, $3, $4, $5)`, e.ID, e.CaseID, e.Ground, e.RequestedBy, e.RequestedAt); err != nil {
				return fmt.Errorf("request erasure: %w", err)
			}
			out = &e
			return s.record(ctx, tx, audit.Event{Action: PermErase, ObjectType: "case", ObjectID: in.CaseID.String(),
				Details: map[string]any{"erasure": e.ID, "step": "REQUESTED", "ground": e.Ground}})
		}
		if err != nil {
			return err
		}
		if e.RequestedBy == p.UserID {
			return s.guard.Refuse(ctx, PermErase, target, &apperr.Error{Kind: apperr.Forbidden, Msg: apperr.Text{
				ES: "otra supervisora o supervisor debe aprobar el borrado que usted pidió",
				EN: "another supervisor must approve the erasure you asked for"}})
		}
		if e.Ground != in.Ground {
			return &apperr.Error{Kind: apperr.Invalid, Field: "ground", Msg: apperr.Text{
				ES: "el borrado pendiente se pidió por otro motivo: " + e.Ground,
				EN: "the pending erasure was asked on another ground: " + e.Ground}}
		}
		if out, err = s.erase(ctx, tx, &e, p.UserID, now); err != nil {
			return err
		}
		return nil
	})
	if err != nil {
		return nil, apperr.Wrap(op, postgres.MapError(err))
	}
	return out, nil
}

// Erasure returns erasure id, for the supervisors who may ask for and
// approve erasures of its case (identity:erase).
//
// Errors: UNAUTHENTICATED; FORBIDDEN without identity:erase (audited);
// NOT_FOUND for an erasure of a case outside the caller's scope (another
// institution's) or none at all, the two alike (audited); UNAVAILABLE.
func (s *Service) Erasure(ctx context.Context, id uuid.UUID) (*Erasure, error) {
	const op = "casefile.Erasure"
	if _, err := s.guard.Check(ctx, PermErase, authz.On(authz.Erasure, id)); err != nil {
		return nil, apperr.Wrap(op, err)
	}
	var e Erasure
	if err := s.db.GetContext(ctx, &e, `SELECT `+erasureColumns+` FROM identity_erasures WHERE id = $1`, id); err != nil {
		return nil, apperr.Wrap(op, postgres.MapError(err))
	}
	return &e, nil
}

// erasureColumns are the columns of identity_erasures an Erasure holds.
const erasureColumns = `id, case_id, ground, requested_by, requested_at, approved_by, approved_at, keys_erased`

// erase approves e and destroys the keys, in the caller's transaction.
func (s *Service) erase(ctx context.Context, tx *sqlx.Tx, e *Erasure, by uuid.UUID, now time.Time) (*Erasure, error) {
	if _, err := tx.ExecContext(ctx, `UPDATE identity_erasures SET approved_by = $2, approved_at = $3 WHERE id = $1`,
		e.ID, by, now); err != nil {
		return nil, fmt.Errorf("approve erasure: %w", err)
	}
	var complaints []uuid.UUID
	if err := tx.SelectContext(ctx, &complaints, `SELECT id FROM complaints WHERE case_id = $1 ORDER BY id`, e.CaseID); err != nil {
		return nil, err
	}
	// The identities sealed under the keys, and their blind index, go
	// with the keys: nothing is left to open, and nothing to search by.
	const qIdent = `
UPDATE child_identities SET sealed = NULL, key_kind = NULL, key_id = NULL, name_index = NULL, birth_year = NULL
WHERE (key_kind = 'case' AND key_id = $1) OR (key_kind = 'complaint' AND key_id = ANY($2::uuid[]))
   OR child_id = (SELECT child_id FROM cases WHERE id = $1)`
	if _, err := tx.ExecContext(ctx, qIdent, e.CaseID, postgres.UUIDs(complaints)); err != nil {
		return nil, fmt.Errorf("erase identities: %w", err)
	}
	var n int
	if err := tx.GetContext(ctx, &n, `SELECT erase_case_keys($1)`, e.ID); err != nil {
		return nil, fmt.Errorf("erase data keys: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `UPDATE cases SET identity_erased_at = $2, version = version + 1, updated_by = $3, updated_at = $2
WHERE id = $1`, e.CaseID, now, by); err != nil {
		return nil, fmt.Errorf("mark erased: %w", err)
	}
	if err := s.record(ctx, tx, audit.Event{Action: PermErase, ObjectType: "case", ObjectID: e.CaseID.String(),
		Details: map[string]any{"erasure": e.ID, "step": "ERASED", "ground": e.Ground, "requestedBy": e.RequestedBy,
			"complaints": complaints, "keysErased": n}}); err != nil {
		return nil, err
	}
	e.ApprovedBy = uuid.NullUUID{UUID: by, Valid: true}
	e.ApprovedAt = sql.NullTime{Time: now, Valid: true}
	e.KeysErased = sql.NullInt32{Int32: int32(n), Valid: true}
	return e, nil
}
