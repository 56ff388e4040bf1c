// Package idempotency makes submissions safe to retry. Border posts send
// over bad connections and retry; a retried submission must never create a
// second record. The first result of a (user, operation, key) is kept with
// a hash of the request that made it: the same key with the same content
// returns that result, with different content it is a CONFLICT.
//
// A secret the first answer carried (a complaint's tracking code) is kept
// apart, sealed and for 24 hours only (secret.go), so that a retry whose
// first answer was lost on the way still gets it.
package idempotency

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"

	"github.com/google/uuid"
	"github.com/jmoiron/sqlx"

	"amparo/internal/apperr"
)

// Hash identifies the content of a request. v must marshal to JSON
// deterministically (structs do; maps are sorted by encoding/json).
func Hash(v any) ([]byte, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("idempotency: hash: %w", err)
	}
	h := sha256.Sum256(b)
	return h[:], nil
}

// Claim is a request to record an idempotency key.
type Claim struct {
	User      uuid.UUID
	Operation string
	Key       string
	Hash      []byte    // of the request's content, key excluded
	ID        uuid.UUID // the id the new result will have
}

// Result says which result to answer with.
type Result struct {
	ID     uuid.UUID
	Replay bool // the result exists: create nothing
}

// Record records the claim's key in tx, or finds the first result made with
// it. A concurrent claim of the same key waits on the primary key until the
// first transaction ends, so two racing retries still produce one record.
//
// Errors: CONFLICT when the key was used for different content.
func Record(ctx context.Context, tx sqlx.ExtContext, c Claim) (Result, error) {
	const qClaim = `
INSERT INTO idempotency_keys (user_id, operation, key, request_hash, result_id)
VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING`
	res, err := tx.ExecContext(ctx, qClaim, c.User, c.Operation, c.Key, c.Hash, c.ID)
	if err != nil {
		return Result{}, fmt.Errorf("claim idempotency key: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 1 {
		return Result{ID: c.ID}, nil
	}
	var first struct {
		Hash []byte    `db:"request_hash"`
		ID   uuid.UUID `db:"result_id"`
	}
	const qFirst = `
SELECT request_hash, result_id
FROM idempotency_keys WHERE user_id = $1 AND operation = $2 AND key = $3`
	if err := sqlx.GetContext(ctx, tx, &first, qFirst, c.User, c.Operation, c.Key); err != nil {
		return Result{}, fmt.Errorf("read idempotency key: %w", err)
	}
	if string(first.Hash) != string(c.Hash) {
		return Result{}, apperr.New(apperr.Conflict,
			"esta clave de idempotencia ya se usó con otro contenido",
			"this idempotency key was already used with different content")
	}
	return Result{ID: first.ID, Replay: true}, nil
}

// CheckKey validates a client's idempotency key.
func CheckKey(v *apperr.Validation, field, key string) {
	if len(key) < 8 || len(key) > 128 {
		v.Add(field, "la clave debe tener entre 8 y 128 caracteres", "the key must be 8 to 128 characters long")
		return
	}
	for i := 0; i < len(key); i++ {
		if key[i] < 0x21 || key[i] > 0x7e {
			v.Add(field, "la clave solo admite caracteres ASCII visibles", "the key takes printable ASCII only")
			return
		}
	}
}
