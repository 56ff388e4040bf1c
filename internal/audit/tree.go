package audit

import (
	"context"
	"fmt"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
	"golang.org/x/mod/sumdb/tlog"
)

// frontier is the right edge of the tree: for each level, the newest
// complete subtree hash. That is all that appending a leaf or computing the
// root needs, so the sealer and Verify walk logs of any length in constant
// memory. It serves tlog's HashReader for exactly those hashes.
type frontier struct {
	n     int64 // leaves so far
	nodes [64]node
}

type node struct {
	index int64 // tlog stored hash index
	hash  tlog.Hash
	ok    bool
}

// ReadHashes implements tlog.HashReader over the frontier.
func (f *frontier) ReadHashes(indexes []int64) ([]tlog.Hash, error) {
	out := make([]tlog.Hash, len(indexes))
	for i, idx := range indexes {
		found := false
		for l := range f.nodes {
			if f.nodes[l].ok && f.nodes[l].index == idx {
				out[i], found = f.nodes[l].hash, true
				break
			}
		}
		if !found {
			return nil, fmt.Errorf("audit: tree: hash %d is not on the frontier of %d leaves", idx, f.n)
		}
	}
	return out, nil
}

// add appends a leaf with record hash h and returns the hashes tlog stores
// for it: h, then the subtrees it completes.
func (f *frontier) add(h tlog.Hash) ([]tlog.Hash, error) {
	stored, err := tlog.StoredHashesForRecordHash(f.n, h, f)
	if err != nil {
		return nil, err
	}
	for level, s := range stored {
		k := f.n >> level
		f.nodes[level] = node{index: tlog.StoredHashIndex(level, k), hash: s, ok: true}
	}
	f.n++
	return stored, nil
}

// root is the tree hash of the f.n leaves so far.
func (f *frontier) root() (tlog.Hash, error) { return tlog.TreeHash(f.n, f) }

// loadFrontier reads from the database the frontier of the tree of n leaves.
func loadFrontier(ctx context.Context, q sqlx.QueryerContext, n int64) (*frontier, tlog.Hash, error) {
	f := &frontier{n: n}
	r := &dbHashes{ctx: ctx, q: q}
	var (
		got    []int64
		hashes []tlog.Hash
	)
	rec := tlog.HashReaderFunc(func(indexes []int64) ([]tlog.Hash, error) {
		hs, err := r.ReadHashes(indexes)
		got, hashes = indexes, hs
		return hs, err
	})
	root, err := tlog.TreeHash(n, rec)
	if err != nil {
		return nil, tlog.Hash{}, err
	}
	// TreeHash reads exactly the subtrees that n leaves decompose into,
	// which are the newest complete subtree of each level set in n.
	for i, idx := range got {
		level, _ := tlog.SplitStoredHashIndex(idx)
		f.nodes[level] = node{index: idx, hash: hashes[i], ok: true}
	}
	return f, root, nil
}

// dbHashes reads tlog stored hashes from audit.leaves: the hash at level L,
// position k was stored with leaf (k+1)·2^L − 1, L hashes into its row.
type dbHashes struct {
	ctx context.Context
	q   sqlx.QueryerContext
}

// maxHashRead bounds one read; tlog asks for at most a few per level.
const maxHashRead = 4096

func (r *dbHashes) ReadHashes(indexes []int64) ([]tlog.Hash, error) {
	if len(indexes) == 0 {
		return nil, nil
	}
	if len(indexes) > maxHashRead {
		return nil, fmt.Errorf("audit: tree: %d hashes asked at once", len(indexes))
	}
	type at struct {
		leaf  int64
		level int
	}
	where := make([]at, len(indexes))
	leaves := make([]int64, 0, len(indexes))
	for i, idx := range indexes {
		level, k := tlog.SplitStoredHashIndex(idx)
		where[i] = at{(k+1)<<level - 1, level}
		leaves = append(leaves, where[i].leaf)
	}
	const q = `SELECT idx, hashes FROM audit.leaves WHERE idx = ANY($1)`
	rows, err := r.q.QueryxContext(r.ctx, q, pq.Array(leaves))
	if err != nil {
		return nil, fmt.Errorf("audit: tree: read hashes: %w", err)
	}
	defer rows.Close()
	byLeaf := make(map[int64][]byte, len(leaves))
	for rows.Next() {
		var idx int64
		var hs []byte
		if err := rows.Scan(&idx, &hs); err != nil {
			return nil, fmt.Errorf("audit: tree: read hashes: %w", err)
		}
		byLeaf[idx] = hs
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("audit: tree: read hashes: %w", err)
	}
	out := make([]tlog.Hash, len(indexes))
	for i, w := range where {
		hs := byLeaf[w.leaf]
		if len(hs) < (w.level+1)*tlog.HashSize {
			return nil, fmt.Errorf("audit: tree: leaf %d holds no hash at level %d", w.leaf, w.level)
		}
		copy(out[i][:], hs[w.level*tlog.HashSize:])
	}
	return out, nil
}
