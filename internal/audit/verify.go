package audit

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

// ProblemKind classifies what Verify found wrong.
type ProblemKind string

// The problems Verify reports.
const (
	// EventChanged: the event's row no longer encodes to its sealed bytes.
	EventChanged ProblemKind = "EVENT_CHANGED"
	// EventDeleted: a sealed event's row is gone.
	EventDeleted ProblemKind = "EVENT_DELETED"
	// EventNotSealed: a row that is in no leaf although later events are
	// sealed: written into the trail after its place was sealed.
	EventNotSealed ProblemKind = "EVENT_NOT_SEALED"
	// EventUnsealed: an event has waited for sealing longer than allowed.
	EventUnsealed ProblemKind = "EVENT_UNSEALED"
	// LeafCorrupt: a leaf's sealed bytes are not an event encoding, or not
	// of the event the leaf names.
	LeafCorrupt ProblemKind = "LEAF_CORRUPT"
	// LeafOrder: leaf indexes are not 0, 1, 2, ... or their events are not
	// in id order.
	LeafOrder ProblemKind = "LEAF_ORDER"
	// HashMismatch: the tree hashes kept with a leaf (which proofs are made
	// from) are not the ones its bytes give.
	HashMismatch ProblemKind = "HASH_MISMATCH"
	// RootMismatch: the tree rebuilt from the sealed bytes is not the tree
	// a signed checkpoint describes.
	RootMismatch ProblemKind = "ROOT_MISMATCH"
	// BadSignature: a checkpoint in the database or given to Verify is not
	// signed by a trusted key, or is malformed.
	BadSignature ProblemKind = "BAD_SIGNATURE"
	// CheckpointMissing: the locked copy of a database checkpoint is gone
	// from the store, or holds other bytes.
	CheckpointMissing ProblemKind = "CHECKPOINT_MISSING"
	// ForeignObject: the store holds an object that is not a checkpoint of
	// this log signed by a trusted key (a replaced checkpoint).
	ForeignObject ProblemKind = "FOREIGN_OBJECT"
	// RolledBack: a signed checkpoint covers more leaves than the log holds:
	// sealed events were removed, or the database restored from an older
	// copy.
	RolledBack ProblemKind = "ROLLED_BACK"
	// NotLocked: the newest checkpoint's copy is not under compliance
	// retention.
	NotLocked ProblemKind = "NOT_LOCKED"
	// EventTime: an event is dated before the event sealed ahead of it, or
	// after its own sealing. Events take the server's clock as they are
	// written (the application's role cannot name the time): a date out of
	// order was given to the row by someone past that role.
	EventTime ProblemKind = "EVENT_TIME"
)

// timeSkew is how far out of order honest event times may fall: an event's
// id and time are both taken as its row is built, so concurrent writers
// disagree by microseconds, and sealing always follows the commit.
const timeSkew = time.Minute

// Problem is one thing Verify found wrong.
type Problem struct {
	Kind    ProblemKind
	EventID int64 // the first bad event, or 0 when no single event can be named (the detail says which may be)
	Leaf    int64 // its leaf index, or -1
	Detail  string
}

func (p Problem) String() string {
	var b bytes.Buffer
	b.WriteString(string(p.Kind))
	if p.EventID != 0 {
		fmt.Fprintf(&b, " event %d", p.EventID)
	}
	if p.Leaf >= 0 {
		fmt.Fprintf(&b, " (leaf %d)", p.Leaf)
	}
	b.WriteString(": ")
	b.WriteString(p.Detail)
	return b.String()
}

// Report is what Verify found.
type Report struct {
	Events            int64      // rows in audit.events
	Leaves            int64      // sealed events
	Pending           int64      // events not sealed yet, all younger than the limit
	Checkpoints       int        // signed checkpoints in the database
	StoredCheckpoints int        // object versions in the checkpoint store
	Latest            Checkpoint // the newest checkpoint in the database
	Root              tlog.Hash  // root of the tree of all Leaves
	Problems          []Problem  // empty when everything holds; the first is the first bad event
	Truncated         bool       // more problems were found than kept
	Elapsed           time.Duration
}

// OK reports whether everything holds.
func (r *Report) OK() bool { return len(r.Problems) == 0 }

// maxProblems bounds a report: past the first few, more say little.
const maxProblems = 100

func (r *Report) add(p Problem) {
	if len(r.Problems) >= maxProblems {
		r.Truncated = true
		return
	}
	r.Problems = append(r.Problems, p)
}

// VerifyOptions says what to check against.
type VerifyOptions struct {
	// Verifiers are the trusted checkpoint keys (required).
	Verifiers []note.Verifier
	// Store holds the locked copies of the checkpoints (required).
	Store CheckpointStore
	// External is a signed checkpoint kept outside Amparo, by an oversight
	// body say; the log must contain it as a prefix. Nil for none.
	External []byte
	// UnsealedAfter is how long an event may wait to be sealed (1 minute).
	UnsealedAfter time.Duration
	// Now is the time events' ages are measured at (time.Now()).
	Now time.Time
}

// Verify checks the whole audit trail and reports every problem it finds,
// first the first: it rebuilds the Merkle tree from each leaf's sealed
// bytes, checks that every event row still encodes to those bytes and every
// sealed event is still there, that leaves are contiguous and in event
// order, that the hashes kept for proofs are right, that each signed
// checkpoint (in the database, in the store, and External) is signed by a
// trusted key and matches the rebuilt tree, that the store holds every
// database checkpoint and nothing else, and that no event has waited for
// sealing longer than UnsealedAfter.
//
// It reads one consistent snapshot of the database on two connections, one
// for leaves and one for events, and holds only the tree's right edge in
// memory, so it handles logs of any length at the speed of a table scan.
//
// Errors: only when verifying was impossible (database or store
// unreachable, bad options); what is wrong with the trail is in the Report.
func Verify(ctx context.Context, db *sqlx.DB, o VerifyOptions) (*Report, error) {
	start := time.Now()
	if len(o.Verifiers) == 0 {
		return nil, errors.New("audit: verify: no trusted key")
	}
	if o.Store == nil {
		return nil, errors.New("audit: verify: no checkpoint store")
	}
	if o.UnsealedAfter <= 0 {
		o.UnsealedAfter = time.Minute
	}
	if o.Now.IsZero() {
		o.Now = time.Now()
	}
	// The store is listed before the database snapshot is taken: the sealer
	// commits leaves before it writes a checkpoint of them, so the snapshot
	// holds the leaves of every checkpoint listed. (A checkpoint's own row
	// may commit later; rows are read from the snapshot, objects by
	// version, so that is no finding.)
	objs, err := o.Store.List(ctx, -1)
	if err != nil {
		return nil, fmt.Errorf("audit: verify: %w", err)
	}
	rep, err := verify(ctx, db, &o, objs)
	if err != nil {
		return nil, err
	}
	rep.Elapsed = time.Since(start)
	return rep, nil
}

// rootCheck is a root some signed checkpoint gives for a tree size.
type rootCheck struct {
	size   int64
	root   tlog.Hash
	source string
}

// verifier is one run of Verify.
type verifier struct {
	o       *VerifyOptions
	rep     *Report
	checks  []rootCheck
	explain []explanation
}

// explanation fills in a problem's detail once the stream is over: it
// needs to read the database, whose connection the stream holds until then.
type explanation struct {
	problem int
	fn      func(ctx context.Context, tx *sqlx.Tx) (ProblemKind, string)
}

func verify(ctx context.Context, db *sqlx.DB, o *VerifyOptions, objs []StoredObject) (*Report, error) {
	v := &verifier{o: o, rep: &Report{}}
	trusted := note.VerifierList(o.Verifiers...)

	tx1, err := db.BeginTxx(ctx, &sql.TxOptions{Isolation: sql.LevelRepeatableRead, ReadOnly: true})
	if err != nil {
		return nil, fmt.Errorf("audit: verify: %w", err)
	}
	defer tx1.Rollback()
	var snap string
	if err := tx1.GetContext(ctx, &snap, `SELECT pg_export_snapshot()`); err != nil {
		return nil, fmt.Errorf("audit: verify: %w", err)
	}
	tx2, err := db.BeginTxx(ctx, &sql.TxOptions{Isolation: sql.LevelRepeatableRead, ReadOnly: true})
	if err != nil {
		return nil, fmt.Errorf("audit: verify: %w", err)
	}
	defer tx2.Rollback()
	if _, err := tx2.ExecContext(ctx, `SET TRANSACTION SNAPSHOT `+pq.QuoteLiteral(snap)); err != nil {
		return nil, fmt.Errorf("audit: verify: %w", err)
	}
	// Times in the form rawRow reads fastest; it reads any other all the same.
	if _, err := tx2.ExecContext(ctx, `SET LOCAL TimeZone = 'UTC'; SET LOCAL DateStyle = 'ISO'`); err != nil {
		return nil, fmt.Errorf("audit: verify: %w", err)
	}

	dbCks, err := v.checkpoints(ctx, tx1, trusted, objs)
	if err != nil {
		return nil, err
	}
	var ext *Checkpoint
	if o.External != nil {
		c, err := OpenCheckpoint(o.External, trusted)
		if err != nil {
			v.rep.add(Problem{Kind: BadSignature, Leaf: -1, Detail: fmt.Sprintf("the external checkpoint: %v", err)})
		} else {
			ext = &c
			v.checks = append(v.checks, rootCheck{c.Size, c.Root, "the external checkpoint"})
		}
	}
	sort.SliceStable(v.checks, func(i, j int) bool { return v.checks[i].size < v.checks[j].size })
	for len(v.checks) > 0 && v.checks[0].size == 0 {
		if c := v.checks[0]; c.root != emptyRoot() {
			v.rep.add(Problem{Kind: RootMismatch, Leaf: -1, Detail: fmt.Sprintf("%s signs an empty tree with root %s", c.source, c.root)})
		}
		v.checks = v.checks[1:]
	}

	if err := v.stream(ctx, tx1, tx2); err != nil {
		return nil, err
	}

	if ext != nil && ext.Size > 0 && ext.Size <= v.rep.Leaves && v.rep.OK() {
		// The stream compared roots directly; the consistency proof checks
		// the stored hashes a third party would be given do the same.
		p, err := tlog.ProveTree(v.rep.Leaves, ext.Size, &dbHashes{ctx: ctx, q: tx1})
		if err == nil {
			err = tlog.CheckTree(p, v.rep.Leaves, v.rep.Root, ext.Size, ext.Root)
		}
		if err != nil {
			v.rep.add(Problem{Kind: HashMismatch, Leaf: -1, Detail: fmt.Sprintf("no consistency proof from the external checkpoint of %d leaves to the log of %d: %v", ext.Size, v.rep.Leaves, err)})
		}
	}
	if n := len(dbCks); n > 0 {
		last := dbCks[n-1]
		mode, until, err := o.Store.Retention(ctx, last.key, last.version)
		switch {
		case isNotFound(err):
			// Reported as CheckpointMissing already.
		case err != nil:
			return nil, fmt.Errorf("audit: verify: %w", err)
		case mode != "COMPLIANCE" || !until.After(o.Now):
			v.rep.add(Problem{Kind: NotLocked, Leaf: -1, Detail: fmt.Sprintf("the copy of checkpoint %d (%s version %s) is not under compliance retention (mode %q until %s)", last.size, last.key, last.version, mode, until.Format(time.RFC3339))})
		}
	}
	return v.rep, nil
}

type dbCheckpoint struct {
	size         int64
	note         string
	key, version string
}

// checkpoints checks the database's checkpoints and the store's objects,
// and collects the roots they sign for the stream to compare.
func (v *verifier) checkpoints(ctx context.Context, tx *sqlx.Tx, trusted note.Verifiers, objs []StoredObject) ([]dbCheckpoint, error) {
	rows, err := tx.QueryxContext(ctx, `SELECT tree_size, note, object_key, object_version FROM audit.checkpoints ORDER BY tree_size`)
	if err != nil {
		return nil, fmt.Errorf("audit: verify: read checkpoints: %w", err)
	}
	var cks []dbCheckpoint
	for rows.Next() {
		var c dbCheckpoint
		if err := rows.Scan(&c.size, &c.note, &c.key, &c.version); err != nil {
			rows.Close()
			return nil, fmt.Errorf("audit: verify: read checkpoints: %w", err)
		}
		cks = append(cks, c)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("audit: verify: read checkpoints: %w", err)
	}
	v.rep.Checkpoints = len(cks)
	v.rep.StoredCheckpoints = len(objs)

	type objKey struct{ key, version string }
	listed := make(map[objKey]StoredObject, len(objs))
	for _, o := range objs {
		listed[objKey{o.Key, o.Version}] = o
	}
	known := make(map[objKey]bool, len(cks))
	bySize := make(map[int64]string, len(cks)) // tree size → note, for the store's extra versions
	for _, c := range cks {
		bySize[c.size] = c.note
		ck, err := OpenCheckpoint([]byte(c.note), trusted)
		switch {
		case err != nil:
			v.rep.add(Problem{Kind: BadSignature, Leaf: c.size - 1, Detail: fmt.Sprintf("checkpoint %d in the database: %v", c.size, err)})
		case ck.Size != c.size:
			v.rep.add(Problem{Kind: BadSignature, Leaf: c.size - 1, Detail: fmt.Sprintf("checkpoint row %d holds a checkpoint of %d leaves", c.size, ck.Size)})
		default:
			v.rep.Latest = ck
			v.checks = append(v.checks, rootCheck{ck.Size, ck.Root, fmt.Sprintf("checkpoint %d in the database", ck.Size)})
		}
		k := objKey{c.key, c.version}
		if c.key != CheckpointKey(c.size) {
			v.rep.add(Problem{Kind: CheckpointMissing, Leaf: c.size - 1, Detail: fmt.Sprintf("checkpoint %d names object %s, not %s", c.size, c.key, CheckpointKey(c.size))})
			continue
		}
		if o, ok := listed[k]; ok && o.ETag == etagOf([]byte(c.note)) {
			known[k] = true // same bytes, by their MD5, without a read
			continue
		}
		data, err := v.o.Store.Get(ctx, c.key, c.version)
		switch {
		case isNotFound(err):
			v.rep.add(Problem{Kind: CheckpointMissing, Leaf: c.size - 1, Detail: fmt.Sprintf("checkpoint %d: its locked copy %s version %s is not in the store", c.size, c.key, c.version)})
		case err != nil:
			return nil, fmt.Errorf("audit: verify: %w", err)
		case !bytes.Equal(data, []byte(c.note)):
			// The locked copy is checked below as a checkpoint in its own
			// right: it is what the database row said before.
			v.rep.add(Problem{Kind: CheckpointMissing, Leaf: c.size - 1, Detail: fmt.Sprintf("checkpoint %d in the database differs from its locked copy %s version %s", c.size, c.key, c.version)})
		default:
			known[k] = true
		}
	}
	// Every other version in the store must be a checkpoint of this log:
	// a version added over a locked one is how a replacement would look.
	for _, o := range objs {
		k := objKey{o.Key, o.Version}
		if known[k] {
			continue
		}
		if o.Size < 0 {
			v.rep.add(Problem{Kind: ForeignObject, Leaf: -1, Detail: fmt.Sprintf("the store holds %s version %s, which is not named as a checkpoint", o.Key, o.Version)})
			continue
		}
		if n, ok := bySize[o.Size]; ok && o.ETag == etagOf([]byte(n)) {
			continue // an identical copy
		}
		data, err := v.o.Store.Get(ctx, o.Key, o.Version)
		if err != nil {
			return nil, fmt.Errorf("audit: verify: %w", err)
		}
		if n, ok := bySize[o.Size]; ok && n == string(data) {
			continue
		}
		ck, err := OpenCheckpoint(data, trusted)
		switch {
		case err != nil:
			v.rep.add(Problem{Kind: ForeignObject, Leaf: o.Size - 1, Detail: fmt.Sprintf("%s version %s in the store: %v", o.Key, o.Version, err)})
		case ck.Size != o.Size:
			v.rep.add(Problem{Kind: ForeignObject, Leaf: o.Size - 1, Detail: fmt.Sprintf("%s version %s in the store holds a checkpoint of %d leaves", o.Key, o.Version, ck.Size)})
		default:
			v.checks = append(v.checks, rootCheck{ck.Size, ck.Root, fmt.Sprintf("%s version %s in the store", o.Key, o.Version)})
		}
	}
	out := make([]dbCheckpoint, 0, len(cks))
	for _, c := range cks {
		if c.key == CheckpointKey(c.size) {
			out = append(out, c)
		}
	}
	return out, nil
}

// leafRow is a leaf as the stream carries it: its kept hashes, the first
// of which is the leaf hash sealed, and whether its sealed bytes still hash
// to it. The bytes themselves stay in the database (they are read again
// only to explain a finding): the event row, re-encoded and hashed here,
// is what is compared with the sealed leaf hash, and the tree is rebuilt
// from hashes computed here.
type leafRow struct {
	idx, eventID int64
	hashes       []byte
	bodyOK       bool
	sealedAt     time.Time
}

// sealed is the leaf hash kept with l at sealing.
func (l *leafRow) sealed() (tlog.Hash, bool) {
	var h tlog.Hash
	if len(l.hashes) < tlog.HashSize {
		return h, false
	}
	copy(h[:], l.hashes)
	return h, true
}

// eventRow is an event row as the stream carries it: the record hash of its
// canonical encoding.
type eventRow struct {
	id   int64
	at   time.Time
	hash tlog.Hash
	err  error // the row has no encoding
}

// streamBatch is how many rows travel together between goroutines.
const streamBatch = 512

// stream walks leaves (in tx1) and events (in tx2, the same snapshot) side
// by side, each read and hashed by a goroutine of its own, then explains
// what it found (tx1 is free again by then).
func (v *verifier) stream(ctx context.Context, tx1, tx2 *sqlx.Tx) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	leaves := make(chan []leafRow, 4)
	events := make(chan []eventRow, 4)
	errs := make(chan error, 2)
	go func() { defer close(leaves); errs <- readLeaves(ctx, tx1, leaves) }()
	go func() { defer close(events); errs <- readEvents(ctx, tx2, events) }()
	err := v.merge(ctx, leaves, events)
	if err != nil {
		cancel()
	}
	// Drain, so that both readers finish before their transactions are
	// used again or rolled back.
	for range leaves {
	}
	for range events {
	}
	for range 2 {
		if e := <-errs; e != nil && err == nil {
			err = e
		}
	}
	if err != nil {
		return fmt.Errorf("audit: verify: %w", err)
	}
	for _, x := range v.explain {
		p := &v.rep.Problems[x.problem]
		p.Kind, p.Detail = x.fn(ctx, tx1)
	}
	return nil
}

// send hands a full batch to the merge.
func send[T any](ctx context.Context, out chan<- []T, batch []T) error {
	select {
	case out <- batch:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func readLeaves(ctx context.Context, tx *sqlx.Tx, out chan<- []leafRow) error {
	// PostgreSQL checks each leaf's sealed bytes against its kept leaf hash
	// (sha256 of 0x00 and the bytes, as tlog.RecordHash): shipping every
	// body only to hash it here would halve Verify's speed, and a server
	// lying about it could hide nothing, since the event row itself is
	// re-encoded and hashed here.
	const q = `SELECT idx, event_id, hashes,
  coalesce(length(hashes) >= 32 AND sha256('\x00'::bytea || body) = substring(hashes FROM 1 FOR 32), false), sealed_at
FROM audit.leaves ORDER BY idx`
	rows, err := tx.QueryContext(ctx, q)
	if err != nil {
		return fmt.Errorf("read leaves: %w", err)
	}
	defer rows.Close()
	batch := make([]leafRow, 0, streamBatch)
	var hashes sql.RawBytes
	for rows.Next() {
		var l leafRow
		if err := rows.Scan(&l.idx, &l.eventID, &hashes, &l.bodyOK, &l.sealedAt); err != nil {
			return fmt.Errorf("read leaves: %w", err)
		}
		l.hashes = bytes.Clone(hashes)
		if batch = append(batch, l); len(batch) == streamBatch {
			if err := send(ctx, out, batch); err != nil {
				return err
			}
			batch = make([]leafRow, 0, streamBatch)
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read leaves: %w", err)
	}
	if len(batch) > 0 {
		return send(ctx, out, batch)
	}
	return nil
}

func readEvents(ctx context.Context, tx *sqlx.Tx, out chan<- []eventRow) error {
	rows, err := tx.QueryContext(ctx, `SELECT `+rawColumns+` FROM audit.events e ORDER BY e.id`)
	if err != nil {
		return fmt.Errorf("read events: %w", err)
	}
	defer rows.Close()
	batch := make([]eventRow, 0, streamBatch)
	var (
		raw rawRow
		buf []byte
	)
	targets := raw.targets()
	for rows.Next() {
		if err := rows.Scan(targets...); err != nil {
			return fmt.Errorf("read events: %w", err)
		}
		r := eventRow{id: raw.id}
		if buf, r.err = raw.appendEncoding(buf[:0]); r.err == nil {
			r.at, r.hash = raw.when, tlog.RecordHash(buf)
		}
		if batch = append(batch, r); len(batch) == streamBatch {
			if err := send(ctx, out, batch); err != nil {
				return err
			}
			batch = make([]eventRow, 0, streamBatch)
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read events: %w", err)
	}
	if len(batch) > 0 {
		return send(ctx, out, batch)
	}
	return nil
}

// eventCursor walks the event stream one row at a time.
type eventCursor struct {
	ch    <-chan []eventRow
	batch []eventRow
	i     int
	done  bool
	count int64 // rows passed
}

func (c *eventCursor) peek(ctx context.Context) (*eventRow, error) {
	for !c.done && c.i >= len(c.batch) {
		select {
		case b, ok := <-c.ch:
			if !ok {
				c.done = true
				return nil, nil
			}
			c.batch, c.i = b, 0
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	if c.done {
		return nil, nil
	}
	return &c.batch[c.i], nil
}

func (c *eventCursor) next() { c.i++; c.count++ }

// maxUnmatched bounds the events held while waiting for a leaf that comes
// out of order; a log in order holds none.
const maxUnmatched = 100_000

// merge is the heart of Verify: leaf by leaf, in index order, it extends
// the tree, compares roots at every checkpointed size, and pairs each leaf
// with its event row.
func (v *verifier) merge(ctx context.Context, leaves <-chan []leafRow, events <-chan []eventRow) error {
	var (
		f         frontier
		ev        = eventCursor{ch: events}
		unmatched = map[int64]eventRow{}
		prevEvent int64
		haveLeaf  bool
		ci        int
		okSize    int64 // the largest size whose roots all matched
		okEvent   int64 // the event of leaf okSize
		prevAt    time.Time
		prevAtID  int64
	)
	rep := v.rep
	for batch := range leaves {
		for _, l := range batch {
			switch {
			case l.idx > f.n:
				rep.add(Problem{Kind: LeafOrder, EventID: l.eventID, Leaf: f.n, Detail: fmt.Sprintf(
					"leaves %d to %d are missing, before the leaf of this event: sealed events were removed", f.n, l.idx-1)})
			case l.idx < f.n:
				rep.add(Problem{Kind: LeafOrder, EventID: l.eventID, Leaf: l.idx, Detail: fmt.Sprintf(
					"leaf index %d comes again after leaf %d", l.idx, f.n-1)})
			}
			if haveLeaf && l.eventID <= prevEvent {
				rep.add(Problem{Kind: LeafOrder, EventID: l.eventID, Leaf: l.idx, Detail: fmt.Sprintf("leaf %d seals event %d after event %d: leaves were reordered", l.idx, l.eventID, prevEvent)})
			}
			if f.n == okSize {
				okEvent = l.eventID
			}

			// Pair the leaf with its event row.
			for {
				e, err := ev.peek(ctx)
				if err != nil {
					return err
				}
				if e == nil || e.id >= l.eventID {
					break
				}
				if len(unmatched) < maxUnmatched {
					unmatched[e.id] = *e
				} else {
					v.notSealed(e.id)
				}
				ev.next()
			}
			e, err := ev.peek(ctx)
			if err != nil {
				return err
			}
			var row *eventRow
			if e != nil && e.id == l.eventID {
				row = e
				ev.next()
			} else if u, ok := unmatched[l.eventID]; ok {
				row = &u
				delete(unmatched, l.eventID)
			}
			sealed, ok := l.sealed()
			leaf := sealed // what the tree gets: the row's own hash when it matches
			switch {
			case !ok:
				rep.add(Problem{Kind: LeafCorrupt, EventID: l.eventID, Leaf: l.idx, Detail: "the leaf keeps no leaf hash"})
			case row == nil:
				v.deleted(l)
			case row.err != nil:
				rep.add(Problem{Kind: EventChanged, EventID: l.eventID, Leaf: l.idx, Detail: fmt.Sprintf("the row can no longer be encoded: %v", row.err)})
			case row.hash != sealed:
				v.changed(l)
			default:
				leaf = row.hash
			}
			if ok && !l.bodyOK {
				v.corrupt(l)
			}
			if row != nil && row.err == nil {
				switch {
				case prevAtID != 0 && row.at.Before(prevAt.Add(-timeSkew)):
					rep.add(Problem{Kind: EventTime, EventID: l.eventID, Leaf: l.idx, Detail: fmt.Sprintf(
						"dated %s, before event %d (%s) sealed ahead of it: the time was given to the row, not taken from the server's clock",
						row.at.UTC().Format(time.RFC3339Nano), prevAtID, prevAt.UTC().Format(time.RFC3339Nano))})
				case row.at.After(l.sealedAt.Add(timeSkew)):
					rep.add(Problem{Kind: EventTime, EventID: l.eventID, Leaf: l.idx, Detail: fmt.Sprintf(
						"dated %s, after its sealing at %s", row.at.UTC().Format(time.RFC3339Nano), l.sealedAt.UTC().Format(time.RFC3339Nano))})
				default:
					prevAt, prevAtID = row.at, l.eventID
				}
			}
			stored, err := f.add(leaf)
			if err != nil {
				return err
			}
			if ok && !hashesEqual(stored, l.hashes) {
				rep.add(Problem{Kind: HashMismatch, EventID: l.eventID, Leaf: l.idx, Detail: "the tree hashes kept with the leaf are not those the log gives; proofs made from them would fail"})
			}
			prevEvent, haveLeaf = l.eventID, true

			// Compare roots at every size a checkpoint signs.
			if ci < len(v.checks) && v.checks[ci].size == f.n {
				root, err := f.root()
				if err != nil {
					return err
				}
				allOK := true
				for ; ci < len(v.checks) && v.checks[ci].size == f.n; ci++ {
					c := v.checks[ci]
					if c.root != root {
						allOK = false
						rep.add(Problem{Kind: RootMismatch, Leaf: okSize, Detail: fmt.Sprintf(
							"the tree of %d leaves has root %s but %s signs %s: one of events %d to %d (leaves %d to %d) was changed, removed or inserted after sealing, with its leaf and tree hashes",
							f.n, root, c.source, c.root, okEvent, l.eventID, okSize, f.n-1)})
					}
				}
				if allOK {
					okSize = f.n
				}
			}
		}
	}
	rep.Leaves = f.n
	root, err := f.root()
	if err != nil {
		return err
	}
	rep.Root = root

	// Whatever waited for a leaf and got none was never sealed though later
	// events were.
	ids := make([]int64, 0, len(unmatched))
	for id := range unmatched {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	for _, id := range ids {
		v.notSealed(id)
	}

	// The events after the last leaf wait for the sealer.
	var stale int64
	var first *eventRow
	for {
		e, err := ev.peek(ctx)
		if err != nil {
			return err
		}
		if e == nil {
			break
		}
		if e.err != nil {
			rep.add(Problem{Kind: EventUnsealed, EventID: e.id, Leaf: -1, Detail: fmt.Sprintf(
				"the row cannot be encoded, so the sealer can seal neither it nor any event after it: %v", e.err)})
			ev.next()
			continue
		}
		if v.o.Now.Sub(e.at) > v.o.UnsealedAfter {
			if first == nil {
				c := *e
				first = &c
			}
			stale++
		} else {
			rep.Pending++
		}
		ev.next()
	}
	rep.Events = ev.count
	if first != nil {
		rep.add(Problem{Kind: EventUnsealed, EventID: first.id, Leaf: -1, Detail: fmt.Sprintf(
			"written at %s and not sealed after %s (%d events so; is a sealer running?)",
			first.at.Format(time.RFC3339), v.o.UnsealedAfter, stale)})
	}

	for ; ci < len(v.checks); ci++ {
		if c := v.checks[ci]; c.size > f.n {
			rep.add(Problem{Kind: RolledBack, Leaf: f.n, Detail: fmt.Sprintf(
				"%s covers %d leaves but the log holds %d: sealed events were removed or the database was restored from an older copy",
				c.source, c.size, f.n)})
		}
	}
	return nil
}

func emptyRoot() tlog.Hash {
	h, _ := tlog.TreeHash(0, nil)
	return h
}

func hashesEqual(stored []tlog.Hash, kept []byte) bool {
	if len(kept) != len(stored)*tlog.HashSize {
		return false
	}
	for i, h := range stored {
		if !bytes.Equal(h[:], kept[i*tlog.HashSize:(i+1)*tlog.HashSize]) {
			return false
		}
	}
	return true
}

func (v *verifier) notSealed(id int64) {
	v.rep.add(Problem{Kind: EventNotSealed, EventID: id, Leaf: -1, Detail: "the event is in audit.events but in no leaf, though later events are sealed: it was written into the trail after its place was sealed"})
}

// later adds p, whose detail fn writes once the stream is over.
func (v *verifier) later(p Problem, fn func(ctx context.Context, tx *sqlx.Tx) (ProblemKind, string)) {
	if len(v.rep.Problems) >= maxProblems {
		v.rep.Truncated = true
		return
	}
	v.rep.Problems = append(v.rep.Problems, p)
	v.explain = append(v.explain, explanation{len(v.rep.Problems) - 1, fn})
}

// sealedEntry reads a leaf's sealed bytes again to explain a finding.
func sealedEntry(ctx context.Context, tx *sqlx.Tx, idx int64) (*Entry, error) {
	var body []byte
	if err := tx.GetContext(ctx, &body, `SELECT body FROM audit.leaves WHERE idx = $1`, idx); err != nil {
		return nil, err
	}
	return Decode(body)
}

func (v *verifier) deleted(l leafRow) {
	p := Problem{Kind: EventDeleted, EventID: l.eventID, Leaf: l.idx}
	v.later(p, func(ctx context.Context, tx *sqlx.Tx) (ProblemKind, string) {
		sealed, err := sealedEntry(ctx, tx, l.idx)
		switch {
		case err != nil:
			return LeafCorrupt, fmt.Sprintf("the event is not in audit.events and the leaf's sealed bytes are unreadable: %v", err)
		case sealed.ID != l.eventID:
			return LeafCorrupt, fmt.Sprintf("the leaf names event %d, which is not in audit.events, but seals event %d", l.eventID, sealed.ID)
		}
		return EventDeleted, fmt.Sprintf("the sealed event (%s on %s %s at %s) is no longer in audit.events", sealed.Action,
			sealed.ObjectType, sealed.ObjectID, sealed.OccurredAt.Format(time.RFC3339))
	})
}

func (v *verifier) corrupt(l leafRow) {
	v.rep.add(Problem{Kind: LeafCorrupt, EventID: l.eventID, Leaf: l.idx, Detail: "the leaf's sealed bytes no longer hash to the leaf hash kept with them: they were changed after sealing, and proofs served from them fail"})
}

func (v *verifier) changed(l leafRow) {
	p := Problem{Kind: EventChanged, EventID: l.eventID, Leaf: l.idx}
	v.later(p, func(ctx context.Context, tx *sqlx.Tx) (ProblemKind, string) {
		sealed, err := sealedEntry(ctx, tx, l.idx)
		if err != nil {
			return LeafCorrupt, fmt.Sprintf("the leaf's sealed bytes are unreadable: %v", err)
		}
		if sealed.ID != l.eventID {
			return LeafCorrupt, fmt.Sprintf("the leaf names event %d but seals event %d", l.eventID, sealed.ID)
		}
		q := `SELECT ` + entryColumns + ` FROM audit.events e WHERE e.id = $1`
		now, err := scanEntry(tx.QueryRowxContext(ctx, q, l.eventID))
		if err != nil {
			return EventChanged, fmt.Sprintf("the row differs from its sealed bytes and cannot be read again: %v", err)
		}
		if sealed.Equal(now) {
			return EventChanged, "the row and the leaf's sealed bytes were both changed after sealing: they no longer hash to the leaf hash sealed"
		}
		return EventChanged, "the row was changed after sealing: " + diff(sealed, now)
	})
}
