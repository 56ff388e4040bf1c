package idempotency

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"github.com/google/uuid"
	"github.com/jmoiron/sqlx"

	"amparo/internal/apperr"
	"amparo/internal/keys"
)

// SecretTTL is how long a secret is kept for retries: long enough for a
// border post to get a connection back, short enough that the secret does
// not sit in the database (and its backups) for the life of the record.
const SecretTTL = 24 * time.Hour

// ErrSecretGone is the cause of the CONFLICT a retry gets once its secret is
// gone (older than SecretTTL, or its record's data key erased): the record
// exists, nothing new is created, and the secret cannot be shown again.
var ErrSecretGone = errors.New("idempotency: the secret of this result is no longer kept")

// gone is the typed answer for a retry whose secret is gone.
func gone() error {
	return &apperr.Error{Kind: apperr.Conflict, Err: ErrSecretGone, Msg: apperr.Text{
		ES: "ya se recibió una solicitud con esta clave de idempotencia; su secreto (código de seguimiento) solo se muestra de nuevo durante 24 horas y ya no se conserva",
		EN: "a request with this idempotency key was already received; its secret (tracking code) is shown again for 24 hours only and is no longer kept"}}
}

// Gone is the answer for a retry whose secret cannot be opened because
// its record's data key is gone.
//
// Errors: CONFLICT wrapping ErrSecretGone.
func Gone() error { return gone() }

// place binds a sealed secret to its idempotency row: copied to another
// row, it does not open.
func place(c Claim) keys.Place {
	op, key := c.Operation, c.Key
	return keys.Place{Table: "idempotency_secrets", Column: "sealed",
		Row: c.User.String() + "|" + strconv.Itoa(len(op)) + ":" + op + "|" + strconv.Itoa(len(key)) + ":" + key}
}

// KeepSecret stores secret, sealed under k (the data key of the record the
// claim made), beside the claim's idempotency row until now+SecretTTL, in
// the claim's transaction.
func KeepSecret(ctx context.Context, tx sqlx.ExecerContext, c Claim, k keys.DataKey, secret string, now time.Time) error {
	return keep(ctx, tx, c, k, secret, now.Add(SecretTTL))
}

func keep(ctx context.Context, tx sqlx.ExecerContext, c Claim, k keys.DataKey, secret string, expires time.Time) error {
	const q = `
INSERT INTO idempotency_secrets (user_id, operation, key, sealed, expires_at) VALUES ($1, $2, $3, $4, $5)
ON CONFLICT DO NOTHING`
	if _, err := tx.ExecContext(ctx, q, c.User, c.Operation, c.Key, k.Seal([]byte(secret), place(c)), expires); err != nil {
		return fmt.Errorf("keep idempotency secret: %w", err)
	}
	return nil
}

// Secret opens the secret kept for a replayed claim, as long as it has
// not expired at now.
//
// Errors: CONFLICT wrapping ErrSecretGone when it expired or was deleted;
// keys.ErrOpen when it does not open here (moved from another row, or
// tampered with).
func Secret(ctx context.Context, q sqlx.QueryerContext, c Claim, k keys.DataKey, now time.Time) (string, error) {
	var sealed []byte
	const query = `
SELECT sealed FROM idempotency_secrets WHERE user_id = $1 AND operation = $2 AND key = $3 AND expires_at > $4`
	err := sqlx.GetContext(ctx, q, &sealed, query, c.User, c.Operation, c.Key, now)
	if errors.Is(err, sql.ErrNoRows) {
		return "", gone()
	}
	if err != nil {
		return "", fmt.Errorf("read idempotency secret: %w", err)
	}
	b, err := k.Open(sealed, place(c))
	if err != nil {
		return "", fmt.Errorf("idempotency secret of %s: %w", c.Operation, err)
	}
	return string(b), nil
}

// sweepBatch bounds one DELETE of the sweep.
const sweepBatch = 1000

// Sweep deletes the secrets expired at now, the idempotency rows staying
// (a retry still finds its result, and creates nothing), and returns how
// many it deleted.
func Sweep(ctx context.Context, db sqlx.ExecerContext, now time.Time) (int64, error) {
	const q = `
DELETE FROM idempotency_secrets WHERE (user_id, operation, key) IN (
  SELECT user_id, operation, key FROM idempotency_secrets WHERE expires_at <= $1 LIMIT $2)`
	var total int64
	for {
		res, err := db.ExecContext(ctx, q, now, sweepBatch)
		if err != nil {
			return total, fmt.Errorf("sweep idempotency secrets: %w", err)
		}
		n, _ := res.RowsAffected()
		if total += n; n < sweepBatch {
			return total, nil
		}
	}
}

// Janitor sweeps expired secrets now and then every interval until ctx
// ends, so that none outlives SecretTTL by more than interval. Replicas may
// all run it: a DELETE twice deletes once.
func Janitor(ctx context.Context, db sqlx.ExecerContext, every time.Duration, log *slog.Logger) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		if n, err := Sweep(ctx, db, time.Now()); err != nil && ctx.Err() == nil {
			log.Warn("idempotency secrets janitor", "err", err)
		} else if n > 0 {
			log.Info("deleted expired idempotency secrets", "count", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// KeyOf returns the data key that seals the secret of a result of
// operation: keys.ErrNoKey when there is none (the secret is then dropped).
type KeyOf func(ctx context.Context, tx *sqlx.Tx, operation string, resultID uuid.UUID) (keys.DataKey, error)

// SealLegacy moves up to n secrets kept in the clear (idempotency_keys
// .replay_secret, from before secrets were sealed) into
// idempotency_secrets, sealed under keyOf's key, with the expiry they
// would have had; a secret already expired at now, or without a key, is
// dropped. It returns how many rows it cleared; 0 means none is left. Each
// batch is one transaction, and a second replica starting at the same time
// waits for the batch it would take, so every replica returns 0 only when
// none is left and running it again resumes.
func SealLegacy(ctx context.Context, db *sqlx.DB, keyOf KeyOf, now time.Time, n int) (int, error) {
	tx, err := db.BeginTxx(ctx, nil)
	if err != nil {
		return 0, err
	}
	defer tx.Rollback()
	var rows []struct {
		User      uuid.UUID `db:"user_id"`
		Operation string    `db:"operation"`
		Key       string    `db:"key"`
		Result    uuid.UUID `db:"result_id"`
		Secret    string    `db:"replay_secret"`
		Created   time.Time `db:"created_at"`
	}
	const q = `
SELECT user_id, operation, key, result_id, replay_secret, created_at
FROM idempotency_keys WHERE replay_secret IS NOT NULL ORDER BY created_at LIMIT $1 FOR UPDATE`
	if err := tx.SelectContext(ctx, &rows, q, n); err != nil {
		return 0, fmt.Errorf("seal legacy idempotency secrets: %w", err)
	}
	for _, r := range rows {
		c := Claim{User: r.User, Operation: r.Operation, Key: r.Key, ID: r.Result}
		if expires := r.Created.Add(SecretTTL); expires.After(now) {
			k, err := keyOf(ctx, tx, r.Operation, r.Result)
			switch {
			case err == nil:
				if err := keep(ctx, tx, c, k, r.Secret, expires); err != nil {
					return 0, err
				}
			case !errors.Is(err, keys.ErrNoKey):
				return 0, err
			}
		}
		const qClear = `UPDATE idempotency_keys SET replay_secret = NULL WHERE user_id = $1 AND operation = $2 AND key = $3`
		if _, err := tx.ExecContext(ctx, qClear, c.User, c.Operation, c.Key); err != nil {
			return 0, fmt.Errorf("clear legacy idempotency secret: %w", err)
		}
	}
	return len(rows), tx.Commit()
}
