package evidence

import (
	"context"
	"fmt"

	"github.com/google/uuid"
	"github.com/jmoiron/sqlx"

	"amparo/internal/apperr"
	"amparo/internal/blob"
	"amparo/internal/postgres"
)

// Holds keeps the legal holds of a case's evidence in line with the case:
// held while the case is not closed, lifted once it is (governance
// retention stays either way). It implements casefile.Holds.
//
// The object store is not transactional, so a transition that closes or
// reopens a case commits first, with a row in case_hold_sync, and Sync
// follows; the row is deleted once every object agrees. Should Sync fail
// or the process die in between, the row stays and the janitor's next pass
// syncs the case again. Sync reads the case's status as it is when it
// runs, under a share lock that a transition waits for, so a late or
// repeated sync can only set what the case's current status says.
type Holds struct {
	db    *sqlx.DB
	blobs *blob.Store
}

// NewHolds returns Holds over the database and store the Service uses.
func NewHolds(db *sqlx.DB, blobs *blob.Store) *Holds { return &Holds{db: db, blobs: blobs} }

// Sync sets or lifts the legal hold on every evidence object of a case as
// its status says, and clears the case's case_hold_sync row.
//
// Errors: UNAVAILABLE when the database or the store is down; NOT_FOUND
// when a recorded object version is missing (the row stays, for the
// operator to see).
func (h *Holds) Sync(ctx context.Context, caseID uuid.UUID) error {
	const op = "evidence.Holds.Sync"
	err := postgres.WithTx(ctx, h.db, func(tx *sqlx.Tx) error {
		var closed bool
		if err := tx.GetContext(ctx, &closed, `SELECT status = 'CLOSED' FROM cases WHERE id = $1 FOR SHARE`, caseID); err != nil {
			return fmt.Errorf("read case: %w", err)
		}
		var objs []struct {
			Key       string `db:"object_key"`
			VersionID string `db:"version_id"`
		}
		if err := tx.SelectContext(ctx, &objs, `SELECT object_key, version_id FROM evidence WHERE case_id = $1`, caseID); err != nil {
			return fmt.Errorf("list evidence: %w", err)
		}
		for _, o := range objs {
			if err := h.blobs.SetLegalHold(ctx, o.Key, o.VersionID, !closed); err != nil {
				return err
			}
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM case_hold_sync WHERE case_id = $1`, caseID); err != nil {
			return fmt.Errorf("clear hold sync: %w", err)
		}
		return nil
	})
	if err != nil {
		err = apperr.Wrap(op, err)
		const note = `UPDATE case_hold_sync SET attempts = attempts + 1, last_error = $2 WHERE case_id = $1`
		if _, nerr := h.db.ExecContext(ctx, note, caseID, err.Error()); nerr != nil {
			return apperr.Wrap(op, postgres.MapError(nerr))
		}
	}
	return err
}

// pending lists the cases whose holds are yet to be synced, those that
// keep failing last.
func (h *Holds) pending(ctx context.Context, limit int) ([]uuid.UUID, error) {
	var ids []uuid.UUID
	err := sqlx.SelectContext(ctx, h.db, &ids,
		`SELECT case_id FROM case_hold_sync ORDER BY attempts, requested_at LIMIT $1`, limit)
	return ids, postgres.MapError(err)
}
