package audit

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"sort"
	"sync/atomic"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"amparo/internal/postgres"
)

// settle is how long the sealer waits after a new mark before it looks
// whether the mark is final.
const settle = 20 * time.Millisecond

// sealerLock is the PostgreSQL advisory lock key that makes one sealer the
// leader ("amparoAS" in ASCII); goose's migration lock uses another key.
const sealerLock int64 = 0x616d7061726f4153

// Sealer turns committed audit events into leaves of the Merkle tree and
// signs checkpoints of it. Every replica runs one; the one holding a
// PostgreSQL session advisory lock, on a connection of its own, is the
// leader and does the work. The lock lives as long as that connection, so
// when a leader dies or is cut off its lock goes with it and another replica
// takes over at its next try, within about a second.
//
// Writers take no lock and wait for nothing: events are sealed after they
// commit, in id order, once no transaction that could still commit a lower
// id is running (see migrations/00013_audit_seal.sql). Each batch of leaves
// commits in one transaction on the leader's connection, so a leader that
// loses its connection loses its uncommitted batch with it; the primary key
// on the leaf index and the unique event id refuse any double sealing all
// the same.
//
// A checkpoint is written to the CheckpointStore, locked, before its
// database row: a checkpoint in the database always has its locked copy.
type Sealer struct {
	db       *sqlx.DB
	store    CheckpointStore
	signer   note.Signer
	verifier note.Verifier
	log      *slog.Logger
	o        sealerOptions

	lead   *postgres.Leadership
	cycles atomic.Int64 // seal cycles run, for tests that must see the sealer pass a point

	// Leader state, reset whenever leadership is taken.
	marks          []mark
	safe           int64 // every event id up to safe is final
	lastCheckpoint time.Time
	ahead          []Checkpoint // locked checkpoints past the database's newest, to agree with before signing
	aheadLoaded    bool
	warned         time.Time
}

// mark says: once no transaction older than xid is running, every event id
// up to id is final.
type mark struct {
	id  int64
	xid uint64
}

type sealerOptions struct {
	interval, retry, checkpointEvery time.Duration
	batch                            int
}

// SealerOption changes a Sealer's timing.
type SealerOption func(*sealerOptions)

// WithPollInterval sets how often the leader looks for new events (250 ms).
func WithPollInterval(d time.Duration) SealerOption {
	return func(o *sealerOptions) { o.interval = d }
}

// WithLeaderRetry sets how often a replica that is not the leader tries to
// become it (1 s): the longest a dead leader goes unreplaced.
func WithLeaderRetry(d time.Duration) SealerOption {
	return func(o *sealerOptions) { o.retry = d }
}

// WithCheckpointInterval sets the least time between two checkpoints (1 s);
// each one is an object in the bucket, locked for years.
func WithCheckpointInterval(d time.Duration) SealerOption {
	return func(o *sealerOptions) { o.checkpointEvery = d }
}

// WithBatchSize sets the most events sealed in one transaction (5,000).
func WithBatchSize(n int) SealerOption {
	return func(o *sealerOptions) { o.batch = n }
}

// NewSealer returns a sealer that writes with db, connected as the sealer's
// own role amparo_sealer (the application's role may not write leaves or
// checkpoints, migration 00014), keeps checkpoints in store and signs them with signer. When the
// signer has a Verifier method (as *Signer does), the sealer also checks,
// before it signs, that the log agrees with any checkpoint already locked in
// the store beyond the database's newest one, and refuses to sign a fork.
func NewSealer(db *sqlx.DB, store CheckpointStore, signer note.Signer, log *slog.Logger, opts ...SealerOption) *Sealer {
	o := sealerOptions{interval: 250 * time.Millisecond, retry: time.Second, checkpointEvery: time.Second, batch: 5000}
	for _, opt := range opts {
		opt(&o)
	}
	s := &Sealer{db: db, store: store, signer: signer, log: log, o: o}
	if v, ok := signer.(interface{ Verifier() note.Verifier }); ok {
		s.verifier = v.Verifier()
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	s.lead = postgres.NewLeadership(db, sealerLock, "audit sealer", o.retry, s.log)
	return s
}

// Leader reports whether this sealer leads now.
func (s *Sealer) Leader() bool { return s.lead.Leader() }

// Run seals until ctx ends, leading whenever it can get the lock, and
// returns nil then. Database and storage failures are logged and retried:
// the sealer must outlive them.
func (s *Sealer) Run(ctx context.Context) error {
	s.lead.Run(ctx, s.seals)
	return nil
}

// seals does the leader's work on the lock's connection until ctx ends or
// a database or storage failure makes it step down.
func (s *Sealer) seals(ctx context.Context, conn *sqlx.Conn) error {
	s.marks, s.safe, s.lastCheckpoint, s.ahead = nil, math.MinInt64, time.Time{}, nil
	// The session is the sealer's alone (closed, not pooled, after): times
	// in the form rawRow reads fastest; it reads any other all the same.
	if _, err := conn.ExecContext(ctx, `SET TimeZone = 'UTC'; SET DateStyle = 'ISO'`); err != nil {
		return fmt.Errorf("audit: sealer: %w", err)
	}
	s.aheadLoaded = false
	for {
		more, err := s.seal(ctx, conn)
		if err != nil {
			return err
		}
		if err := s.checkpoint(ctx, conn); err != nil {
			return err
		}
		if more {
			continue
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(s.o.interval):
		}
	}
}

// watermark records a new mark: the last event id handed out (V), then a
// transaction id of the sealer's own (X), in two statements and in this
// order. Every writer holding an id up to V took its transaction id before
// its event id (audit.next_event_id), so before V was read, so below X:
// once the oldest running transaction is at least X, they have all ended.
// (A snapshot's xmax is no such bound: it is one past the newest
// transaction that ended, and younger ones may still be running.) An id is
// spent only when new events were written since the last mark.
func (s *Sealer) watermark(ctx context.Context, conn *sqlx.Conn) (added bool, err error) {
	var (
		last   int64
		called bool
		xid    string
	)
	if err := conn.QueryRowxContext(ctx, `SELECT last_value, is_called FROM audit.events_id_seq`).Scan(&last, &called); err != nil {
		return false, fmt.Errorf("audit: sealer: read event sequence: %w", err)
	}
	if !called {
		last-- // last_value is the next id to hand out
	}
	if last <= s.safe || len(s.marks) > 0 && s.marks[len(s.marks)-1].id >= last {
		return false, nil
	}
	// A statement of its own: the transaction that takes the id commits
	// with it.
	if err := conn.QueryRowxContext(ctx, `SELECT pg_current_xact_id()::text`).Scan(&xid); err != nil {
		return false, fmt.Errorf("audit: sealer: take a transaction id: %w", err)
	}
	x, err := parseXID(xid)
	if err != nil {
		return false, err
	}
	if n := len(s.marks); n >= 64 {
		// A long transaction holds every mark back. Replacing the newest
		// only delays it further, and keeps the list short.
		s.marks[n-1] = mark{last, x}
	} else {
		s.marks = append(s.marks, mark{last, x})
	}
	return true, nil
}

// advance moves s.safe past every mark whose transactions have all ended.
func (s *Sealer) advance(xmin uint64) {
	i := 0
	for ; i < len(s.marks) && s.marks[i].xid <= xmin; i++ {
		s.safe = max(s.safe, s.marks[i].id)
	}
	s.marks = s.marks[i:]
}

// seal seals one batch of final events. more says a full batch was sealed
// and another may follow at once.
func (s *Sealer) seal(ctx context.Context, conn *sqlx.Conn) (more bool, err error) {
	added, err := s.watermark(ctx, conn)
	if err != nil {
		return false, err
	}
	if added {
		// Writers' transactions last milliseconds: a moment from now the
		// new mark is usually final, and the events under it are sealed
		// in this cycle rather than the next.
		select {
		case <-ctx.Done():
			return false, nil
		case <-time.After(settle):
		}
	}
	defer s.cycles.Add(1)
	tx, err := conn.BeginTxx(ctx, nil)
	if err != nil {
		return false, fmt.Errorf("audit: sealer: begin: %w", err)
	}
	defer tx.Rollback()
	var xminText string
	if err := tx.QueryRowxContext(ctx, `SELECT pg_snapshot_xmin(pg_current_snapshot())::text`).Scan(&xminText); err != nil {
		return false, fmt.Errorf("audit: sealer: read snapshot: %w", err)
	}
	xmin, err := parseXID(xminText)
	if err != nil {
		return false, err
	}
	s.advance(xmin)
	n, lastEvent, err := treeEnd(ctx, tx)
	if err != nil {
		return false, err
	}
	if s.safe <= lastEvent {
		return false, nil
	}
	f, _, err := loadFrontier(ctx, tx, n)
	if err != nil {
		return false, fmt.Errorf("audit: sealer: %w", err)
	}
	// Later statements of this transaction see everything committed before
	// they start, and every event up to s.safe committed (or never will)
	// before xmin was read.
	const q = `SELECT ` + rawColumns + `, e.xid::text FROM audit.events e
WHERE e.id > $1 AND e.id <= $2 ORDER BY e.id LIMIT $3`
	rows, err := tx.QueryxContext(ctx, q, lastEvent, s.safe, s.o.batch)
	if err != nil {
		return false, fmt.Errorf("audit: sealer: read events: %w", err)
	}
	var (
		idx, ids       []int64
		bodies, hashes [][]byte
		raw            rawRow
		xidText        string
		buf            []byte
		id             int64
	)
	targets := raw.targets(&xidText)
	for rows.Next() {
		if err := rows.Scan(targets...); err != nil {
			rows.Close()
			return false, fmt.Errorf("audit: sealer: read events: %w", err)
		}
		id = raw.id
		if buf, err = raw.appendEncoding(buf[:0]); err != nil {
			// Only a row written past the application (its columns
			// changed by hand) can fail so. Sealing stops before it and
			// Verify reports it; a person must look.
			s.warn("audit sealer: event cannot be encoded; not sealing past it", "event_id", id, "err", err)
			break
		}
		xid, err := parseXID(xidText)
		if err != nil {
			rows.Close()
			return false, err
		}
		if xid >= xmin {
			// Cannot happen to a row the application wrote (its
			// transaction ended before the sealer's mark); a row planted
			// with a transaction id from the future waits here, loudly.
			s.warn("audit sealer: event written by a transaction that may still be running; not sealing past it", "event_id", id, "xid", xid, "xmin", xmin)
			break
		}
		stored, err := f.add(tlog.RecordHash(buf))
		if err != nil {
			rows.Close()
			return false, fmt.Errorf("audit: sealer: %w", err)
		}
		hs := make([]byte, 0, len(stored)*tlog.HashSize)
		for _, h := range stored {
			hs = append(hs, h[:]...)
		}
		idx = append(idx, f.n-1)
		ids = append(ids, id)
		bodies = append(bodies, append([]byte(nil), buf...))
		hashes = append(hashes, hs)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return false, fmt.Errorf("audit: sealer: read events: %w", err)
	}
	if len(idx) == 0 {
		return false, nil
	}
	const ins = `INSERT INTO audit.leaves (idx, event_id, body, hashes)
SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::bytea[], $4::bytea[])`
	if _, err := tx.ExecContext(ctx, ins, pq.Array(idx), pq.Array(ids), pq.ByteaArray(bodies), pq.ByteaArray(hashes)); err != nil {
		return false, fmt.Errorf("audit: sealer: write leaves: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return false, fmt.Errorf("audit: sealer: commit: %w", err)
	}
	s.log.Debug("audit sealer: sealed", "leaves", len(idx), "tree_size", f.n, "last_event_id", ids[len(ids)-1])
	return len(idx) == s.o.batch, nil
}

// treeEnd returns the number of leaves and the id of the last event sealed
// (math.MinInt64 when none).
func treeEnd(ctx context.Context, q sqlx.QueryerContext) (n, lastEvent int64, err error) {
	var idx int64
	err = q.QueryRowxContext(ctx, `SELECT idx, event_id FROM audit.leaves ORDER BY idx DESC LIMIT 1`).Scan(&idx, &lastEvent)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, math.MinInt64, nil
	}
	if err != nil {
		return 0, 0, fmt.Errorf("audit: read tree size: %w", err)
	}
	return idx + 1, lastEvent, nil
}

// checkpoint signs and stores a checkpoint of the tree when it grew and
// the last one is old enough. Storage failures are logged, not returned:
// sealing goes on without the store, and the next try catches up.
func (s *Sealer) checkpoint(ctx context.Context, conn *sqlx.Conn) error {
	if time.Since(s.lastCheckpoint) < s.o.checkpointEvery {
		return nil
	}
	tx, err := conn.BeginTxx(ctx, nil)
	if err != nil {
		return fmt.Errorf("audit: sealer: begin: %w", err)
	}
	defer tx.Rollback()
	n, _, err := treeEnd(ctx, tx)
	if err != nil {
		return err
	}
	var top int64
	if err := tx.QueryRowxContext(ctx, `SELECT coalesce(max(tree_size), 0) FROM audit.checkpoints`).Scan(&top); err != nil {
		return fmt.Errorf("audit: sealer: read checkpoints: %w", err)
	}
	if n <= top {
		if n < top {
			s.warn("audit sealer: the database has a checkpoint of more leaves than it holds; not signing", "leaves", n, "checkpoint", top)
		}
		return nil
	}
	_, root, err := loadFrontier(ctx, tx, n)
	if err != nil {
		return fmt.Errorf("audit: sealer: %w", err)
	}
	if !s.aheadLoaded {
		if err := s.loadAhead(ctx, tx); err != nil {
			// The store is down; sealing goes on, checkpoints wait for it.
			if ctx.Err() == nil {
				s.warn("audit sealer: cannot read the checkpoint store; will retry", "err", err)
			}
			return nil
		}
		s.aheadLoaded = true
	}
	if ok, err := s.agrees(ctx, tx, n, top); err != nil || !ok {
		return err
	}
	msg, err := SignCheckpoint(Checkpoint{Origin: s.signer.Name(), Size: n, Root: root}, s.signer)
	if err != nil {
		return err
	}
	obj, err := s.store.Put(ctx, n, msg)
	if err != nil {
		if ctx.Err() != nil {
			return nil // stopping
		}
		s.warn("audit sealer: cannot store checkpoint; will retry", "tree_size", n, "err", err)
		return nil
	}
	const ins = `INSERT INTO audit.checkpoints (tree_size, note, object_key, object_version) VALUES ($1, $2, $3, $4)`
	if _, err := tx.ExecContext(ctx, ins, n, string(msg), obj.Key, obj.Version); err != nil {
		return fmt.Errorf("audit: sealer: write checkpoint: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("audit: sealer: commit checkpoint: %w", err)
	}
	s.lastCheckpoint = time.Now()
	s.log.Debug("audit sealer: checkpoint", "tree_size", n, "root", root.String())
	return nil
}

// loadAhead reads the checkpoints locked in the store beyond the database's
// newest: normally none, or one whose database row was lost to a failed
// commit. The sealer signs nothing until its log agrees with them.
func (s *Sealer) loadAhead(ctx context.Context, tx *sqlx.Tx) error {
	s.ahead = nil
	if s.verifier == nil {
		return nil
	}
	var top int64
	if err := tx.QueryRowxContext(ctx, `SELECT coalesce(max(tree_size), 0) FROM audit.checkpoints`).Scan(&top); err != nil {
		return fmt.Errorf("audit: sealer: read checkpoints: %w", err)
	}
	objs, err := s.store.List(ctx, top)
	if err != nil {
		return err
	}
	for _, o := range objs {
		msg, err := s.store.Get(ctx, o.Key, o.Version)
		if err != nil {
			return err
		}
		c, err := OpenCheckpoint(msg, note.VerifierList(s.verifier))
		if err != nil || c.Size != o.Size || c.Origin != s.signer.Name() {
			// Not ours: Verify reports it; it binds the sealer to nothing.
			s.log.Error("audit sealer: the checkpoint store holds an object that is not a checkpoint of this log", "key", o.Key, "version", o.Version, "err", err)
			continue
		}
		s.ahead = append(s.ahead, c)
	}
	sort.Slice(s.ahead, func(i, j int) bool { return s.ahead[i].Size < s.ahead[j].Size })
	return nil
}

// agrees reports whether the tree of n leaves may be signed: a log must
// never sign a checkpoint inconsistent with one it signed before. The tree
// must hold as prefixes the database's newest checkpoint (whose root the
// stored hashes must still give: a rewritten history would not) and every
// locked checkpoint ahead of it; a smaller tree waits for the sealer to
// catch up with those.
func (s *Sealer) agrees(ctx context.Context, tx *sqlx.Tx, n, top int64) (bool, error) {
	hashes := &dbHashes{ctx: ctx, q: tx}
	if top > 0 {
		var msg string
		if err := tx.GetContext(ctx, &msg, `SELECT note FROM audit.checkpoints WHERE tree_size = $1`, top); err != nil {
			return false, fmt.Errorf("audit: sealer: read checkpoint: %w", err)
		}
		c, err := s.signed([]byte(msg))
		if err != nil || c.Size != top {
			s.warn("audit sealer: the newest checkpoint in the database is not one this log signed; refusing to sign", "tree_size", top, "err", err)
			return false, nil
		}
		h, err := tlog.TreeHash(c.Size, hashes)
		if err != nil {
			return false, fmt.Errorf("audit: sealer: %w", err)
		}
		if h != c.Root {
			s.warn("audit sealer: the database log disagrees with its newest checkpoint (history rewritten?); refusing to sign", "tree_size", c.Size)
			return false, nil
		}
	}
	for len(s.ahead) > 0 {
		c := s.ahead[0]
		if c.Size > n {
			return false, nil
		}
		h, err := tlog.TreeHash(c.Size, hashes)
		if err != nil {
			return false, fmt.Errorf("audit: sealer: %w", err)
		}
		if h != c.Root {
			s.warn("audit sealer: the database log disagrees with a checkpoint locked in the store (database rolled back or rewritten?); refusing to sign", "tree_size", c.Size)
			return false, nil
		}
		s.ahead = s.ahead[1:]
	}
	return true, nil
}

// signed reads a checkpoint this log signed. Without a verifier, or for a
// checkpoint signed by a key the sealer does not know (the key before a
// rotation), it can only read the text, and says so once in a while.
func (s *Sealer) signed(msg []byte) (Checkpoint, error) {
	if s.verifier != nil {
		c, err := OpenCheckpoint(msg, note.VerifierList(s.verifier))
		var unknown *note.UnverifiedNoteError
		if err == nil || !errors.As(err, &unknown) {
			return c, err
		}
		s.warn("audit sealer: the newest checkpoint is signed by another key (rotated?); trusting its text")
	}
	text, err := splitNote(msg)
	if err != nil {
		return Checkpoint{}, err
	}
	return ParseCheckpoint(text)
}

// warn logs at error level at most once a minute: a condition that needs a
// person repeats every poll.
func (s *Sealer) warn(msg string, args ...any) {
	if time.Since(s.warned) < time.Minute {
		return
	}
	s.warned = time.Now()
	s.log.Error(msg, args...)
}
