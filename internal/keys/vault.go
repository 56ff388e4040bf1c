package keys

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"

	"github.com/google/uuid"
	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
)

// Vault keeps the wrapped data keys of records in the data_keys table, one
// per (kind, id): a case or a complaint.
type Vault struct {
	ring Keyring
}

// NewVault returns a Vault wrapping data keys with ring.
func NewVault(ring Keyring) *Vault { return &Vault{ring: ring} }

// Kinds of record that own a data key.
const (
	OwnerCase      = "case"
	OwnerComplaint = "complaint"
)

// cache holds the data keys unwrapped while serving one operation, so that
// an operation that reads a record's summary, notes and identity unwraps
// its data key once: with a KMS behind the keyring, an unwrap is a call.
type cache struct {
	mu sync.Mutex
	m  map[cacheKey]DataKey
}

type cacheKey struct {
	kind string
	id   uuid.UUID
}

type cacheCtx struct{}

// WithCache returns ctx with a cache of the data keys unwrapped under it,
// for one operation: the cache goes with ctx, and keys are never kept
// beyond it.
func WithCache(ctx context.Context) context.Context {
	return context.WithValue(ctx, cacheCtx{}, &cache{m: map[cacheKey]DataKey{}})
}

func cacheOf(ctx context.Context) *cache {
	c, _ := ctx.Value(cacheCtx{}).(*cache)
	return c
}

func (c *cache) put(kind string, id uuid.UUID, k DataKey) {
	if c == nil {
		return
	}
	c.mu.Lock()
	c.m[cacheKey{kind, id}] = k
	c.mu.Unlock()
}

// ErrNoKey is returned for a record without a data key: never given one, or
// crypto-shredded.
var ErrNoKey = errors.New("keys: the record has no data key (erased or never encrypted)")

// Create makes the data key of a new record and stores it wrapped, in the
// caller's transaction.
func (v *Vault) Create(ctx context.Context, tx sqlx.ExecerContext, kind string, id uuid.UUID) (DataKey, error) {
	k, raw := NewDataKey()
	defer clear(raw)
	kek, wrapped, err := v.ring.Wrap(ctx, raw, RecordAD(kind, id.String()))
	if err != nil {
		return DataKey{}, fmt.Errorf("keys: wrap: %w", err)
	}
	const q = `INSERT INTO data_keys (owner_kind, owner_id, kek_id, wrapped) VALUES ($1, $2, $3, $4)`
	if _, err := tx.ExecContext(ctx, q, kind, id, kek, wrapped); err != nil {
		return DataKey{}, fmt.Errorf("keys: store data key: %w", err)
	}
	cacheOf(ctx).put(kind, id, k)
	return k, nil
}

// Get returns the data key of a record.
//
// Errors: ErrNoKey; ErrUnknownKEK or ErrOpen when the key file does not
// match the database.
func (v *Vault) Get(ctx context.Context, q sqlx.QueryerContext, kind string, id uuid.UUID) (DataKey, error) {
	m, err := v.GetMany(ctx, q, kind, []uuid.UUID{id})
	if err != nil {
		return DataKey{}, err
	}
	k, ok := m[id]
	if !ok {
		return DataKey{}, ErrNoKey
	}
	return k, nil
}

// GetMany returns the data keys of many records of one kind in one query,
// one unwrap each (none for those already unwrapped under the same
// WithCache context); records without a key are missing from the result.
func (v *Vault) GetMany(ctx context.Context, q sqlx.QueryerContext, kind string, ids []uuid.UUID) (map[uuid.UUID]DataKey, error) {
	out := make(map[uuid.UUID]DataKey, len(ids))
	c := cacheOf(ctx)
	strs := make([]string, 0, len(ids))
	if c != nil {
		c.mu.Lock()
		for _, id := range ids {
			if k, ok := c.m[cacheKey{kind, id}]; !ok {
				strs = append(strs, id.String())
			} else if k.aead != nil {
				out[id] = k
			} // else known to have no key
		}
		c.mu.Unlock()
	} else {
		for _, id := range ids {
			strs = append(strs, id.String())
		}
	}
	if len(strs) == 0 {
		return out, nil
	}
	var rows []struct {
		ID      uuid.UUID `db:"owner_id"`
		KEK     string    `db:"kek_id"`
		Wrapped []byte    `db:"wrapped"`
	}
	const query = `SELECT owner_id, kek_id, wrapped FROM data_keys WHERE owner_kind = $1 AND owner_id = ANY($2::uuid[])`
	if err := sqlx.SelectContext(ctx, q, &rows, query, kind, pq.Array(strs)); err != nil {
		return nil, fmt.Errorf("keys: read data keys: %w", err)
	}
	for _, r := range rows {
		k, err := v.unwrap(ctx, kind, r.ID, r.KEK, r.Wrapped)
		if err != nil {
			return nil, err
		}
		out[r.ID] = k
		c.put(kind, r.ID, k)
	}
	if c != nil {
		// Remember the records without a key too (erased, or never
		// given one), as the zero DataKey.
		c.mu.Lock()
		for _, s := range strs {
			id, _ := uuid.Parse(s)
			if _, ok := out[id]; !ok {
				c.m[cacheKey{kind, id}] = DataKey{}
			}
		}
		c.mu.Unlock()
	}
	return out, nil
}

// Open returns the data key of a record from its wrapped form, read by the
// caller in the same statement as the record (kekID and wrapped are NULL,
// here "" and nil, when the record has no key): one statement for a record
// and its key. The key unwrapped, or known to be missing, is kept under a
// WithCache context as GetMany keeps it, and one already there is not
// unwrapped again.
//
// Errors: ErrNoKey; ErrUnknownKEK or ErrOpen when the key file does not
// match the database (or the wrapped key was copied from another record).
func (v *Vault) Open(ctx context.Context, kind string, id uuid.UUID, kekID string, wrapped []byte) (DataKey, error) {
	c := cacheOf(ctx)
	if c != nil {
		c.mu.Lock()
		k, ok := c.m[cacheKey{kind, id}]
		c.mu.Unlock()
		switch {
		case ok && k.aead == nil:
			return DataKey{}, ErrNoKey
		case ok:
			return k, nil
		}
	}
	if wrapped == nil {
		c.put(kind, id, DataKey{}) // known to have no key
		return DataKey{}, ErrNoKey
	}
	k, err := v.unwrap(ctx, kind, id, kekID, wrapped)
	if err != nil {
		return DataKey{}, err
	}
	c.put(kind, id, k)
	return k, nil
}

// unwrap opens the wrapped data key of record (kind, id).
func (v *Vault) unwrap(ctx context.Context, kind string, id uuid.UUID, kekID string, wrapped []byte) (DataKey, error) {
	raw, err := v.ring.Unwrap(ctx, kekID, wrapped, RecordAD(kind, id.String()))
	if err != nil {
		return DataKey{}, fmt.Errorf("keys: data key of %s %s: %w", kind, id, err)
	}
	defer clear(raw)
	return ParseDataKey(raw)
}

// RotateBatch rewraps up to n data keys that are not under the current KEK
// and returns how many it rewrapped; 0 means none is left. Each batch is
// one transaction, and rows being rewrapped by another run are skipped, so
// rotation runs while the server serves, can run on several machines, and
// resumes where it stopped.
func (v *Vault) RotateBatch(ctx context.Context, db *sqlx.DB, n int) (int, error) {
	tx, err := db.BeginTxx(ctx, nil)
	if err != nil {
		return 0, err
	}
	defer tx.Rollback()
	var rows []struct {
		Kind    string    `db:"owner_kind"`
		ID      uuid.UUID `db:"owner_id"`
		KEK     string    `db:"kek_id"`
		Wrapped []byte    `db:"wrapped"`
	}
	const q = `SELECT owner_kind, owner_id, kek_id, wrapped FROM data_keys WHERE kek_id <> $1
ORDER BY owner_kind, owner_id LIMIT $2 FOR UPDATE SKIP LOCKED`
	if err := tx.SelectContext(ctx, &rows, q, v.ring.Current(), n); err != nil {
		return 0, fmt.Errorf("keys: rotate: %w", err)
	}
	for _, r := range rows {
		kek, wrapped, err := Rewrap(ctx, v.ring, r.KEK, r.Wrapped, RecordAD(r.Kind, r.ID.String()))
		if err != nil {
			return 0, fmt.Errorf("keys: rotate %s %s: %w", r.Kind, r.ID, err)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE data_keys SET kek_id = $3, wrapped = $4, rotated_at = now()
			WHERE owner_kind = $1 AND owner_id = $2`, r.Kind, r.ID, kek, wrapped); err != nil {
			return 0, fmt.Errorf("keys: rotate: %w", err)
		}
	}
	return len(rows), tx.Commit()
}

// UnderOldKEKs counts the data keys not yet under the current KEK.
func (v *Vault) UnderOldKEKs(ctx context.Context, q sqlx.QueryerContext) (int, error) {
	var n int
	err := sqlx.GetContext(ctx, q, &n, `SELECT count(*) FROM data_keys WHERE kek_id <> $1`, v.ring.Current())
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	return n, err
}
