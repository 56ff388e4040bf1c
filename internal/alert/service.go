package alert

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/google/uuid"
	"github.com/jmoiron/sqlx"

	"amparo/internal/apperr"
	"amparo/internal/audit"
	"amparo/internal/authz"
	"amparo/internal/page"
	"amparo/internal/postgres"
)

// Permissions used by this package: a recipient reads (and subscribes to)
// their own alerts and marks them read.
const (
	PermRead   = "alert:read"
	PermUpdate = "alert:update"
)

// Service is the inbox and the subscription of the caller's alerts.
type Service struct {
	db    *sqlx.DB
	guard *authz.Guard
	hub   *Hub
}

// NewService returns a Service over db, subscribing through hub.
func NewService(db *sqlx.DB, g *authz.Guard, hub *Hub) *Service {
	return &Service{db: db, guard: g, hub: hub}
}

// Page is one page of alerts.
type Page = page.Of[*Alert]

// List returns the caller's alerts, newest first (only the unread ones when
// unreadOnly): the page pg asks for.
//
// Errors: UNAUTHENTICATED; FORBIDDEN without alert:read; BAD_USER_INPUT for
// a bad cursor or page size; UNAVAILABLE.
func (s *Service) List(ctx context.Context, unreadOnly bool, pg page.Args) (*Page, error) {
	const op = "alert.List"
	d, err := s.guard.Check(ctx, PermRead, authz.Any)
	if err != nil {
		return nil, apperr.Wrap(op, err)
	}
	req, err := page.NewRequest(pg)
	if err != nil {
		return nil, apperr.Wrap(op, err)
	}
	var a postgres.Args
	conds := []string{d.Where(authz.Alert, &a)}
	if unreadOnly {
		conds = append(conds, "a.read_at IS NULL")
	}
	list := postgres.List{From: "alerts a", Where: strings.Join(conds, " AND "), Args: a, Key: []string{"a.at", "a.id"}}
	sel, err := postgres.Seek(ctx, s.db, list, req, page.Cursor.Key)
	if err != nil {
		return nil, apperr.Wrap(op, err)
	}
	var rows []*Alert
	if err := sqlx.SelectContext(ctx, s.db, &rows, `SELECT`+columns+sel.Tail, sel.Args...); err != nil {
		return nil, apperr.Wrap(op, postgres.MapError(err))
	}
	out := page.Cut(req, rows, sel.Behind, func(al *Alert) string {
		return page.Cursor{At: al.At, ID: al.ID}.String()
	})
	out.Count = sel.Count
	return &out, nil
}

// Get returns one alert of the caller's.
//
// Errors: UNAUTHENTICATED; FORBIDDEN without alert:read (audited);
// NOT_FOUND when id is not an alert of the caller's, whether another
// user's or none at all (audited); UNAVAILABLE.
func (s *Service) Get(ctx context.Context, id uuid.UUID) (*Alert, error) {
	const op = "alert.Get"
	if _, err := s.guard.Check(ctx, PermRead, authz.On(authz.Alert, id)); err != nil {
		return nil, apperr.Wrap(op, err)
	}
	var al Alert
	if err := sqlx.GetContext(ctx, s.db, &al, `SELECT`+columns+` FROM alerts a WHERE a.id = $1`, id); err != nil {
		return nil, apperr.Wrap(op, postgres.MapError(err))
	}
	return &al, nil
}

// MaxMark bounds the alerts one MarkRead call takes.
const MaxMark = 500

// MarkRead marks the caller's alerts ids read (those already read stay as
// they were) and returns them, in the order given, in one audited
// transaction.
//
// Errors: UNAUTHENTICATED; FORBIDDEN without alert:update; BAD_USER_INPUT
// naming "ids" when empty or over MaxMark; NOT_FOUND when an id is not an
// alert of the caller's (audited); UNAVAILABLE.
func (s *Service) MarkRead(ctx context.Context, ids []uuid.UUID) ([]*Alert, error) {
	const op = "alert.MarkRead"
	ids = slices.Compact(slices.SortedFunc(slices.Values(ids), func(a, b uuid.UUID) int { return slices.Compare(a[:], b[:]) }))
	_, mine, err := s.guard.Filter(ctx, PermUpdate, authz.Alert, ids)
	if err != nil {
		return nil, apperr.Wrap(op, err)
	}
	var v apperr.Validation
	switch {
	case len(ids) == 0:
		v.Add("ids", "indique al menos una alerta", "name at least one alert")
	case len(ids) > MaxMark:
		v.Add("ids", fmt.Sprintf("a lo sumo %d alertas a la vez", MaxMark), fmt.Sprintf("at most %d alerts at once", MaxMark))
	}
	if err := v.Err(); err != nil {
		return nil, apperr.Wrap(op, err)
	}
	if len(mine) < len(ids) {
		for _, id := range ids {
			if !slices.Contains(mine, id) {
				return nil, apperr.Wrap(op, s.guard.Refuse(ctx, PermUpdate, authz.On(authz.Alert, id), &apperr.Error{Op: op, Kind: apperr.NotFound}))
			}
		}
	}
	var out []*Alert
	err = postgres.WithTx(ctx, s.db, func(tx *sqlx.Tx) error {
		const q = `UPDATE alerts a SET read_at = coalesce(a.read_at, now()) WHERE a.id = ANY($1::uuid[]) RETURNING` + columns
		if err := sqlx.SelectContext(ctx, tx, &out, q, postgres.UUIDs(ids)); err != nil {
			return err
		}
		return audit.Record(ctx, tx, audit.Event{Action: PermUpdate, ObjectType: "alert", ObjectID: ids[0].String(),
			Details: map[string]any{"alerts": ids, "read": true}})
	})
	if err != nil {
		return nil, apperr.Wrap(op, postgres.MapError(err))
	}
	slices.SortFunc(out, func(a, b *Alert) int { return b.At.Compare(a.At) })
	return out, nil
}

// Subscribe returns the caller's alerts as they are raised, until ctx ends
// (the channel then closes; it also closes when the caller falls too far
// behind, who then reads the inbox).
//
// Errors: UNAUTHENTICATED; FORBIDDEN without alert:read; RATE_LIMITED over
// the subscriptions a user or the replica may hold; UNAVAILABLE while the
// server stops.
func (s *Service) Subscribe(ctx context.Context) (<-chan *Alert, error) {
	const op = "alert.Subscribe"
	d, err := s.guard.Check(ctx, PermRead, authz.Any)
	if err != nil {
		return nil, apperr.Wrap(op, err)
	}
	ch, err := s.hub.subscribe(ctx, d.Principal.UserID)
	if err != nil {
		return nil, apperr.Wrap(op, err)
	}
	return ch, nil
}
