package complaint

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"amparo/internal/child"
	"amparo/internal/idempotency"
	"amparo/internal/keys"
)

// opSubmit is the idempotency operation of Submit.
const opSubmit = "submitComplaint"

// replayedCode is the tracking code a retry of claim gets again: kept
// sealed under the complaint's data key for a day.
//
// Errors: CONFLICT wrapping idempotency.ErrSecretGone once it is gone.
func (s *Service) replayedCode(ctx context.Context, tx *sqlx.Tx, c idempotency.Claim, id uuid.UUID, now time.Time) (string, error) {
	key, err := s.keys.Vault.Get(ctx, tx, keys.OwnerComplaint, id)
	if errors.Is(err, keys.ErrNoKey) {
		return "", idempotency.Gone() // erased with the complaint's key
	}
	if err != nil {
		return "", err
	}
	return idempotency.Secret(ctx, tx, c, key, now)
}

// CheckTrackingKey makes sure the tracking key is the one the stored codes
// were keyed with: the first start records its fingerprint, later starts
// compare.
//
// Errors: one naming the mismatch, when the key file is another.
func CheckTrackingKey(ctx context.Context, db sqlx.ExtContext, t keys.Tracking) error {
	fp := t.Fingerprint()
	if _, err := db.ExecContext(ctx, `INSERT INTO key_fingerprints (purpose, fingerprint) VALUES ('tracking', $1)
		ON CONFLICT DO NOTHING`, fp); err != nil {
		return fmt.Errorf("tracking key fingerprint: %w", err)
	}
	var stored []byte
	if err := sqlx.GetContext(ctx, db, &stored, `SELECT fingerprint FROM key_fingerprints WHERE purpose = 'tracking'`); err != nil {
		return fmt.Errorf("tracking key fingerprint: %w", err)
	}
	if !bytes.Equal(stored, fp) {
		return errors.New("this key file's index key is not the one the tracking codes were stored under")
	}
	return nil
}

// KeyLegacyTracking keys up to n tracking hashes stored as a plain SHA-256
// (before keying) and returns how many; 0 means none is left. The code is
// not needed: the keyed value is the HMAC of that SHA-256. Each batch is
// one transaction; a replica starting at the same time waits for the batch
// it would take, so that each returns 0 only when none is left.
func KeyLegacyTracking(ctx context.Context, db *sqlx.DB, t keys.Tracking, n int) (int, error) {
	tx, err := db.BeginTxx(ctx, nil)
	if err != nil {
		return 0, err
	}
	defer tx.Rollback()
	var rows []struct {
		ID   string `db:"id"`
		Hash []byte `db:"tracking_hash"`
	}
	const q = `SELECT id, tracking_hash FROM complaints WHERE tracking_key IS NULL ORDER BY id LIMIT $1 FOR UPDATE`
	if err := tx.SelectContext(ctx, &rows, q, n); err != nil {
		return 0, fmt.Errorf("key legacy tracking codes: %w", err)
	}
	if len(rows) == 0 {
		return 0, nil
	}
	ids, sums := make([]string, len(rows)), make([][]byte, len(rows))
	for i, r := range rows {
		ids[i], sums[i] = r.ID, t.Sum(r.Hash)
	}
	const qKey = `
UPDATE complaints c SET tracking_hash = u.sum, tracking_key = $3
FROM unnest($1::uuid[], $2::bytea[]) AS u(id, sum) WHERE c.id = u.id`
	if _, err := tx.ExecContext(ctx, qKey, pq.Array(ids), pq.ByteaArray(sums), keys.TrackingKeyID); err != nil {
		return 0, fmt.Errorf("key legacy tracking codes: %w", err)
	}
	return len(rows), tx.Commit()
}

// ReplayKey is the idempotency.KeyOf of complaint submissions: the
// complaint's data key, made for a complaint that predates data keys.
func ReplayKey(ks child.Keys) idempotency.KeyOf {
	return func(ctx context.Context, tx *sqlx.Tx, operation string, id uuid.UUID) (keys.DataKey, error) {
		if operation != opSubmit {
			return keys.DataKey{}, keys.ErrNoKey
		}
		k, err := ks.Vault.Get(ctx, tx, keys.OwnerComplaint, id)
		if errors.Is(err, keys.ErrNoKey) {
			k, err = ks.Vault.Create(ctx, tx, keys.OwnerComplaint, id)
		}
		return k, err
	}
}
