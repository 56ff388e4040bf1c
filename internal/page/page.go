// Package page holds the pieces of keyset pagination shared by every list:
// the size of a page and opaque, stable cursors. Keyset rather than OFFSET:
// a page stays right while new records arrive, and the cost of page 1,000
// is the cost of page 1.
package page

import (
	"context"
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"

	"amparo/internal/apperr"
)

// Default and Max bound the size of one page.
const (
	Default = 20
	Max     = 100
)

// Size validates the requested page size.
//
// Errors: BAD_USER_INPUT when first is negative or over Max.
func Size(first *int) (int, error) {
	if first == nil {
		return Default, nil
	}
	if *first < 0 || *first > Max {
		return 0, &apperr.Error{Kind: apperr.Invalid, Field: "first", Msg: apperr.Text{
			ES: fmt.Sprintf("first debe estar entre 0 y %d", Max),
			EN: fmt.Sprintf("first must be between 0 and %d", Max)}}
	}
	return *first, nil
}

// Cursor is a position in a list ordered by time, then id, descending.
type Cursor struct {
	At time.Time
	ID uuid.UUID
}

// String encodes the cursor opaquely.
func (c Cursor) String() string {
	raw := strconv.FormatInt(c.At.UnixMicro(), 36) + "." + c.ID.String()
	return base64.RawURLEncoding.EncodeToString([]byte(raw))
}

// Parse decodes a cursor; "" or nil is the start of the list.
//
// Errors: BAD_USER_INPUT naming field "after" when s is not a cursor.
func Parse(s *string) (*Cursor, error) {
	if s == nil || *s == "" {
		return nil, nil
	}
	bad := &apperr.Error{Kind: apperr.Invalid, Field: "after", Msg: apperr.Text{
		ES: "cursor no válido", EN: "invalid cursor"}}
	raw, err := base64.RawURLEncoding.DecodeString(*s)
	if err != nil {
		return nil, bad
	}
	ts, id, ok := strings.Cut(string(raw), ".")
	if !ok {
		return nil, bad
	}
	us, err := strconv.ParseInt(ts, 36, 64)
	if err != nil {
		return nil, bad
	}
	uid, err := uuid.Parse(id)
	if err != nil {
		return nil, bad
	}
	return &Cursor{At: time.UnixMicro(us).UTC(), ID: uid}, nil
}

// Info describes where a page stands.
type Info struct {
	HasNextPage     bool
	HasPreviousPage bool
	StartCursor     *string
	EndCursor       *string
}

// Request is a validated request for a page: its size and where it starts.
type Request struct {
	Size  int
	After *Cursor // nil: from the start
}

// NewRequest validates first and after.
//
// Errors: BAD_USER_INPUT naming "first" or "after".
func NewRequest(first *int, after *string) (Request, error) {
	n, err := Size(first)
	if err != nil {
		return Request{}, err
	}
	c, err := Parse(after)
	if err != nil {
		return Request{}, err
	}
	return Request{Size: n, After: c}, nil
}

// Of is one page of items, newest first.
type Of[T any] struct {
	Items   []T
	Cursors []string
	Info    Info
	// Count counts the whole list (every page), only if asked.
	Count *Counter
}

// CountLimit bounds a count: a list's count is exact up to it, and past it
// only says "more", so that no count scans a million rows.
const CountLimit = 10_000

// Counter counts a list's records once, when first asked (a client that
// does not select totalCount costs no count), up to CountLimit.
type Counter struct {
	fn   func(ctx context.Context, limit int) (int, error)
	once sync.Once
	n    int
	err  error
}

// NewCounter returns a Counter that counts with fn, which must count at
// most limit records.
func NewCounter(fn func(ctx context.Context, limit int) (int, error)) *Counter {
	return &Counter{fn: fn}
}

// Count returns the number of records, exact up to CountLimit; capped
// reports that there are more.
func (c *Counter) Count(ctx context.Context) (n int, capped bool, err error) {
	if c == nil {
		return 0, false, nil
	}
	c.once.Do(func() { c.n, c.err = c.fn(ctx, CountLimit+1) })
	if c.n > CountLimit {
		return CountLimit, true, c.err
	}
	return c.n, false, c.err
}

// Cut makes a page of rows fetched with LIMIT size+1 after a cursor (when
// hasPrevious): the extra row, when there is one, only says that another
// page follows. cursor encodes an item's position.
func Cut[T any](size int, hasPrevious bool, rows []T, cursor func(T) string) Of[T] {
	out := Of[T]{Items: []T{}, Cursors: []string{}}
	if len(rows) > size {
		rows, out.Info.HasNextPage = rows[:size], true
	}
	out.Info.HasPreviousPage = hasPrevious
	for _, r := range rows {
		out.Items = append(out.Items, r)
		out.Cursors = append(out.Cursors, cursor(r))
	}
	if len(out.Cursors) > 0 {
		out.Info.StartCursor, out.Info.EndCursor = &out.Cursors[0], &out.Cursors[len(out.Cursors)-1]
	}
	return out
}
