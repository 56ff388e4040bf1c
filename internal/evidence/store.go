package evidence

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"

	"amparo/internal/apperr"
	"amparo/internal/blob"
	"amparo/internal/postgres"
)

// stage writes the staging row of an upload about to start, before any
// byte reaches the store: from then on the janitor knows the key.
func stage(ctx context.Context, db *sqlx.DB, e *Evidence) error {
	const q = `INSERT INTO evidence_staging (object_key, evidence_id) VALUES ($1, $2)`
	if _, err := db.ExecContext(ctx, q, e.ObjectKey, e.ID); err != nil {
		return postgres.MapError(fmt.Errorf("stage: %w", err))
	}
	return nil
}

// unstage deletes the staging row of an upload that did not commit, once
// its object is gone.
func unstage(ctx context.Context, db sqlx.ExecerContext, key string) error {
	const q = `DELETE FROM evidence_staging WHERE object_key = $1 AND NOT committed`
	if _, err := db.ExecContext(ctx, q, key); err != nil {
		return postgres.MapError(fmt.Errorf("unstage: %w", err))
	}
	return nil
}

// markCommitted marks the staging row of key committed, in the transaction
// that records the evidence. It also takes the row's lock, so the record
// and the janitor cannot both act on the upload: if the janitor took the
// upload for abandoned first, the row is gone and the record is refused.
func markCommitted(ctx context.Context, tx *sqlx.Tx, key string) error {
	const q = `UPDATE evidence_staging SET committed = true WHERE object_key = $1 AND NOT committed`
	res, err := tx.ExecContext(ctx, q, key)
	if err != nil {
		return fmt.Errorf("mark committed: %w", err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return apperr.New(apperr.Unavailable, "la carga tardó demasiado y fue descartada; intente de nuevo",
			"the upload took too long and was discarded; try again")
	}
	return nil
}

// insert writes the evidence row.
func insert(ctx context.Context, tx *sqlx.Tx, e *Evidence) error {
	const q = `
INSERT INTO evidence (id, case_id, object_key, version_id, filename, content_type, size, sha256, description,
  captured_at, uploaded_by, uploaded_at, retain_until)
VALUES (:id, :case_id, :object_key, :version_id, :filename, :content_type, :size, :sha256, :description,
  :captured_at, :uploaded_by, :uploaded_at, :retain_until)`
	if _, err := sqlx.NamedExecContext(ctx, tx, q, e); err != nil {
		return fmt.Errorf("insert evidence: %w", err)
	}
	return nil
}

// finalize locks the object of a committed upload and deletes its staging
// row, under the row's lock so that an uploader and janitors on several
// replicas never work on the same object at once. The case is share-locked
// meanwhile: a transition that closes or reopens it waits, so the hold set
// here and the one Holds.Sync sets after the transition cannot cross. A row already taken by
// another, or already gone, is no work.
//
// Errors: UNAVAILABLE; NOT_FOUND when the recorded object version is
// missing (evidence lost: the row stays for the operator to see).
func finalize(ctx context.Context, db *sqlx.DB, blobs *blob.Store, key string) error {
	return postgres.WithTx(ctx, db, func(tx *sqlx.Tx) error {
		const q = `
SELECT e.version_id, e.retain_until, c.status <> 'CLOSED' AS hold
FROM evidence_staging s
JOIN evidence e ON e.object_key = s.object_key
JOIN cases c ON c.id = e.case_id
WHERE s.object_key = $1 AND s.committed
FOR UPDATE OF s SKIP LOCKED
FOR SHARE OF c`
		var row struct {
			VersionID   string    `db:"version_id"`
			RetainUntil time.Time `db:"retain_until"`
			Hold        bool      `db:"hold"`
		}
		if err := tx.GetContext(ctx, &row, q, key); errors.Is(err, sql.ErrNoRows) {
			return nil
		} else if err != nil {
			return fmt.Errorf("claim %s: %w", key, err)
		}
		err := blobs.Finalize(ctx, key, row.VersionID, blob.Lock{RetainUntil: row.RetainUntil, LegalHold: row.Hold})
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM evidence_staging WHERE object_key = $1`, key); err != nil {
			return fmt.Errorf("finalized %s: %w", key, err)
		}
		return nil
	})
}
