package audit

import (
	"context"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
	"golang.org/x/mod/sumdb/tlog"

	"amparo/internal/apperr"
	"amparo/internal/authz"
	"amparo/internal/page"
	"amparo/internal/postgres"
)

// PermRead is the permission to read the audit trail: oversight holds it
// over every institution, a supervisor over their own.
const PermRead = "audit:read"

// Service reads the audit trail for oversight: lists of events and
// inclusion proofs that anyone can check without trusting the server.
type Service struct {
	db    *sqlx.DB
	guard *authz.Guard
}

// NewService returns a Service over db.
func NewService(db *sqlx.DB, g *authz.Guard) *Service { return &Service{db: db, guard: g} }

// EventFilter narrows a list of events. Empty fields do not filter; none
// reaches past the caller's scope.
type EventFilter struct {
	ActorID        *uuid.UUID
	Institution    *string // the actor's institution
	Actions        []string
	ObjectType     *string
	ObjectID       *string
	OccurredAfter  *time.Time // inclusive
	OccurredBefore *time.Time // exclusive
}

// Row is an event as Events lists it: the entry and, once it is sealed, its
// leaf index in the log.
type Row struct {
	Entry
	LeafIndex *int64
}

// EventPage is one page of events, newest first.
type EventPage = page.Of[*Row]

// maxPage is the most events one page holds; larger requests get this many.
const maxPage = page.Max

// Events lists the events the caller may read, newest first: the page pg
// asks for (first or last: 20 when neither, at most 100, larger requests
// get 100).
//
// Errors: UNAUTHENTICATED; FORBIDDEN without audit:read (audited);
// BAD_USER_INPUT for a negative first or last, both, or a bad cursor;
// UNAVAILABLE.
func (s *Service) Events(ctx context.Context, f EventFilter, pg page.Args) (*EventPage, error) {
	const op = "audit.Events"
	d, err := s.guard.Check(ctx, PermRead, authz.Any)
	if err != nil {
		return nil, apperr.Wrap(op, err)
	}
	var args postgres.Args
	where := d.Where(authz.AuditEvent, &args)
	for _, n := range []**int{&pg.First, &pg.Last} {
		if *n != nil && **n > maxPage {
			capped := maxPage
			*n = &capped
		}
	}
	req, err := page.NewRequestOf(pg, parseCursor)
	if err != nil {
		return nil, apperr.Wrap(op, err)
	}
	add := func(cond string, v any) { where += " AND " + cond + " " + args.Add(v) }
	if f.ActorID != nil {
		add("e.actor_id =", *f.ActorID)
	}
	if f.Institution != nil {
		add("e.actor_institution =", *f.Institution)
	}
	if len(f.Actions) > 0 {
		where += " AND e.action = ANY(" + args.Add(pq.Array(f.Actions)) + ")"
	}
	if f.ObjectType != nil {
		add("e.object_type =", *f.ObjectType)
	}
	if f.ObjectID != nil {
		add("e.object_id =", *f.ObjectID)
	}
	if f.OccurredAfter != nil {
		add("e.occurred_at >=", *f.OccurredAfter)
	}
	if f.OccurredBefore != nil {
		add("e.occurred_at <", *f.OccurredBefore)
	}
	events := postgres.List{From: "audit.events e", Join: " LEFT JOIN audit.leaves l ON l.event_id = e.id", Where: where, Args: args, Key: []string{"e.id"}}
	sel, err := postgres.Seek(ctx, s.db, events, req, func(id int64) []any { return []any{id} })
	if err != nil {
		return nil, apperr.Wrap(op, err)
	}
	rows, err := s.db.QueryxContext(ctx, `SELECT `+entryColumns+`, l.idx`+sel.Tail, sel.Args...)
	if err != nil {
		return nil, apperr.Wrap(op, postgres.MapError(err))
	}
	defer rows.Close()
	var list []*Row
	for rows.Next() {
		r, err := scanRow(rows)
		if err != nil {
			return nil, apperr.Wrap(op, postgres.MapError(err))
		}
		list = append(list, r)
	}
	if err := rows.Err(); err != nil {
		return nil, apperr.Wrap(op, postgres.MapError(err))
	}
	out := page.Cut(req, list, sel.Behind, func(r *Row) string { return formatCursor(r.ID) })
	out.Count = sel.Count
	return &out, nil
}

// Event returns the event id of the trail, as Events lists it.
//
// Errors: UNAUTHENTICATED; FORBIDDEN without audit:read (audited);
// NOT_FOUND when the event does not exist or is outside the caller's scope,
// the two alike (audited); UNAVAILABLE.
func (s *Service) Event(ctx context.Context, id int64) (*Row, error) {
	const op = "audit.Event"
	if _, err := s.guard.Check(ctx, PermRead, authz.On(authz.AuditEvent, id)); err != nil {
		return nil, apperr.Wrap(op, err)
	}
	r, err := scanRow(s.db.QueryRowxContext(ctx, `SELECT `+entryColumns+`, l.idx FROM audit.events e
LEFT JOIN audit.leaves l ON l.event_id = e.id WHERE e.id = $1`, id))
	if err != nil {
		return nil, apperr.Wrap(op, postgres.MapError(err))
	}
	return r, nil
}

// scanRow reads one row selected with entryColumns and the leaf index.
func scanRow(sc scanner) (*Row, error) {
	var leaf sql.NullInt64
	e, err := scanEntry(sc, &leaf)
	if err != nil {
		return nil, err
	}
	r := &Row{Entry: *e}
	if leaf.Valid {
		r.LeafIndex = &leaf.Int64
	}
	return r, nil
}

// cursorPrefix keeps audit cursors apart from other lists' cursors.
const cursorPrefix = "audit."

func formatCursor(id int64) string {
	return base64.RawURLEncoding.EncodeToString([]byte(cursorPrefix + strconv.FormatInt(id, 10)))
}

func parseCursor(s string) (int64, bool) {
	raw, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return 0, false
	}
	rest, ok := strings.CutPrefix(string(raw), cursorPrefix)
	if !ok {
		return 0, false
	}
	id, err := strconv.ParseInt(rest, 10, 64)
	if err != nil || strconv.FormatInt(id, 10) != rest {
		return 0, false
	}
	return id, true
}

// Proof shows that an event is in the log that a signed checkpoint
// describes. Everything needed to check it is in it, but for the log's
// verifier key, which the checker must already trust: see VerifyProof.
type Proof struct {
	EventID    int64       `json:"eventId"`
	LeafIndex  int64       `json:"leafIndex"`
	Canonical  []byte      `json:"canonical"`  // the event's sealed bytes (canonical encoding)
	TreeSize   int64       `json:"treeSize"`   // leaves in the checkpointed tree
	Hashes     []tlog.Hash `json:"hashes"`     // RFC 6962 audit path from the leaf to the root
	Checkpoint string      `json:"checkpoint"` // the signed checkpoint (C2SP tlog-checkpoint note)
}

// Proof returns the inclusion proof of event id against the newest
// checkpoint.
//
// Errors: UNAUTHENTICATED; FORBIDDEN without audit:read (audited);
// NOT_FOUND when the event does not exist or is outside the caller's scope,
// and, with its own message, when it is not sealed and checkpointed yet
// (seconds after it is written); UNAVAILABLE.
func (s *Service) Proof(ctx context.Context, id int64) (*Proof, error) {
	const op = "audit.Proof"
	if _, err := s.guard.Check(ctx, PermRead, authz.On(authz.AuditEvent, id)); err != nil {
		return nil, apperr.Wrap(op, err)
	}
	tx, err := s.db.BeginTxx(ctx, &sql.TxOptions{Isolation: sql.LevelRepeatableRead, ReadOnly: true})
	if err != nil {
		return nil, apperr.Wrap(op, postgres.MapError(err))
	}
	defer tx.Rollback()
	const q = `SELECT l.idx, l.body FROM audit.events e LEFT JOIN audit.leaves l ON l.event_id = e.id WHERE e.id = $1`
	var (
		idx  sql.NullInt64
		body []byte
	)
	if err := tx.QueryRowxContext(ctx, q, id).Scan(&idx, &body); err != nil {
		return nil, apperr.Wrap(op, postgres.MapError(err))
	}
	notYet := &apperr.Error{Kind: apperr.NotFound, Msg: apperr.Text{
		ES: "el evento aún no está sellado en un punto de control; intente en unos segundos",
		EN: "the event is not sealed in a checkpoint yet; try again in a few seconds"}}
	if !idx.Valid {
		return nil, apperr.Wrap(op, notYet)
	}
	var msg string
	err = tx.GetContext(ctx, &msg, `SELECT note FROM audit.checkpoints ORDER BY tree_size DESC LIMIT 1`)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, apperr.Wrap(op, notYet)
	}
	if err != nil {
		return nil, apperr.Wrap(op, postgres.MapError(err))
	}
	text, err := splitNote([]byte(msg))
	if err != nil {
		return nil, apperr.Wrap(op, err)
	}
	ck, err := ParseCheckpoint(text)
	if err != nil {
		return nil, apperr.Wrap(op, err)
	}
	if idx.Int64 >= ck.Size {
		return nil, apperr.Wrap(op, notYet)
	}
	hashes, err := tlog.ProveRecord(ck.Size, idx.Int64, &dbHashes{ctx: ctx, q: tx})
	if err != nil {
		return nil, apperr.Wrap(op, postgres.MapError(fmt.Errorf("audit: prove: %w", err)))
	}
	return &Proof{EventID: id, LeafIndex: idx.Int64, Canonical: body, TreeSize: ck.Size, Hashes: hashes, Checkpoint: msg}, nil
}
