package audit

import (
	"context"
	"database/sql"

	"github.com/jmoiron/sqlx"
	"github.com/minio/minio-go/v7"
	"golang.org/x/mod/sumdb/tlog"
)

// Cycles is how many seal cycles the sealer has run: a test that must show
// the sealer did not seal something waits for it to pass a few cycles.
func (s *Sealer) Cycles() int64 { return s.cycles.Load() }

// SealerLock is the advisory lock key of the leader.
const SealerLock = sealerLock

// EncodeRow is the canonical encoding of event id as the sealer would
// make it now: what a forger rewriting leaves would compute.
func EncodeRow(ctx context.Context, db *sqlx.DB, id int64) ([]byte, error) {
	e, err := scanEntry(db.QueryRowxContext(ctx, `SELECT `+entryColumns+` FROM audit.events e WHERE e.id = $1`, id))
	if err != nil {
		return nil, err
	}
	return e.Encode()
}

// LeafHashes reads the tree hashes kept in audit.leaves.
func LeafHashes(ctx context.Context, db *sqlx.DB) tlog.HashReader { return &dbHashes{ctx: ctx, q: db} }

// BucketClient is the store's MinIO client.
func BucketClient(b *Bucket) *minio.Client { return b.client }

// EncodeRowRaw is the canonical encoding of event id as the sealer and
// Verify make it, from the raw row.
func EncodeRowRaw(ctx context.Context, db *sqlx.DB, id int64) ([]byte, error) {
	rows, err := db.QueryContext(ctx, `SELECT `+rawColumns+` FROM audit.events e WHERE e.id = $1`, id)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	if !rows.Next() {
		return nil, sql.ErrNoRows
	}
	var r rawRow
	if err := rows.Scan(r.targets()...); err != nil {
		return nil, err
	}
	return r.appendEncoding(nil)
}
