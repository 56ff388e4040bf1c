// Package page holds the pieces of keyset pagination shared by every list:
// the page a client asks for (Relay's first/after forward, last/before
// backward), opaque and stable cursors, the keyset conditions that read it
// (Seek, Behind), the page with exact hasPreviousPage and hasNextPage
// (Cut), and counts. Keyset rather than OFFSET: a page stays right while
// new records arrive, and the cost of page 1,000 is the cost of page 1.
package page

import (
	"context"
	"encoding/base64"
	"fmt"
	"slices"
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

// Size validates the requested page size; field names the argument
// ("first" or "last").
//
// Errors: BAD_USER_INPUT naming field when n is negative or over Max.
func Size(field string, n *int) (int, error) {
	if n == nil {
		return Default, nil
	}
	if *n < 0 || *n > Max {
		return 0, &apperr.Error{Kind: apperr.Invalid, Field: field, Msg: apperr.Text{
			ES: fmt.Sprintf("%s debe estar entre 0 y %d", field, Max),
			EN: fmt.Sprintf("%s must be between 0 and %d", field, Max)}}
	}
	return *n, nil
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

// Key is the cursor's values in the order of the list's key columns (time,
// then id).
func (c Cursor) Key() []any { return []any{c.At, c.ID} }

// Parse decodes a cursor of a list ordered by time and id.
func Parse(s string) (Cursor, bool) {
	raw, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return Cursor{}, false
	}
	ts, id, ok := strings.Cut(string(raw), ".")
	if !ok {
		return Cursor{}, false
	}
	us, err := strconv.ParseInt(ts, 36, 64)
	if err != nil {
		return Cursor{}, false
	}
	uid, err := uuid.Parse(id)
	if err != nil {
		return Cursor{}, false
	}
	return Cursor{At: time.UnixMicro(us).UTC(), ID: uid}, true
}

// Info describes where a page stands.
type Info struct {
	HasNextPage     bool
	HasPreviousPage bool
	StartCursor     *string
	EndCursor       *string
}

// Args are a connection's arguments as the client sent them: first and
// after to page forward, last and before to page backward (Relay's
// Cursor Connections).
type Args struct {
	First, Last   *int
	After, Before *string
}

// Forward are the arguments of the page of first records after after.
func Forward(first *int, after *string) Args { return Args{First: first, After: after} }

// Request is a validated request for one page of a list kept newest first,
// whose positions are keys of type K.
type Request[K any] struct {
	Size int
	// After and Before bound the page: only records after (older than)
	// After and before (newer than) Before are in it. nil: unbounded.
	After, Before *K
	// Last: the page is the Size records nearest Before (or the end of the
	// list), rather than the Size records following After.
	Last bool
}

// NewRequest validates a page request over a list ordered by time and id.
//
// Errors: BAD_USER_INPUT naming "first", "last", "after" or "before".
func NewRequest(a Args) (Request[Cursor], error) { return NewRequestOf(a, Parse) }

// NewRequestOf validates a page request whose cursors parse decodes.
// first and last together are refused: Relay discourages them, and no
// page would mean one thing.
//
// Errors: BAD_USER_INPUT naming "first", "last", "after" or "before".
func NewRequestOf[K any](a Args, parse func(string) (K, bool)) (Request[K], error) {
	if a.First != nil && a.Last != nil {
		return Request[K]{}, &apperr.Error{Kind: apperr.Invalid, Field: "last", Msg: apperr.Text{
			ES: "use first o last, no ambos", EN: "use first or last, not both"}}
	}
	var r Request[K]
	var err error
	if r.Last = a.Last != nil; r.Last {
		r.Size, err = Size("last", a.Last)
	} else {
		r.Size, err = Size("first", a.First)
	}
	if err != nil {
		return Request[K]{}, err
	}
	for _, c := range []struct {
		field string
		s     *string
		to    **K
	}{{"after", a.After, &r.After}, {"before", a.Before, &r.Before}} {
		if c.s == nil || *c.s == "" {
			continue
		}
		k, ok := parse(*c.s)
		if !ok {
			return Request[K]{}, &apperr.Error{Kind: apperr.Invalid, Field: c.field, Msg: apperr.Text{
				ES: "cursor no válido", EN: "invalid cursor"}}
		}
		*c.to = &k
	}
	return r, nil
}

// Keyset is what a query of one page adds to the list's own query, for a
// list ordered by its key columns descending.
type Keyset struct {
	// Where is ANDed to the list's conditions: "" or " AND ...".
	Where string
	// OrderBy (without the keyword) reads the page from its start: newest
	// first forward, oldest first for Last (Cut puts them back in order).
	OrderBy string
	// Limit is one more than the page: the extra row says another page
	// follows in the direction read.
	Limit int
}

// Seek returns the keyset of the page over the key columns cols, whose
// cursor values key gives; add places a value as a query parameter and
// returns its placeholder.
func Seek[K any](r Request[K], cols []string, key func(K) []any, add func(any) string) Keyset {
	ks := Keyset{Limit: r.Size + 1}
	if r.After != nil {
		ks.Where += " AND " + compare(cols, "<", key(*r.After), add)
	}
	if r.Before != nil {
		ks.Where += " AND " + compare(cols, ">", key(*r.Before), add)
	}
	dir := " DESC"
	if r.Last {
		dir = " ASC"
	}
	ks.OrderBy = strings.Join(cols, dir+", ") + dir
	return ks
}

// Behind returns the condition (without AND) of the records on the other
// side of the cursor the page starts from (after After reading forward,
// before Before reading backward), "" when no cursor bounds that side. Some
// exist exactly when the page has a previous page (forward) or a next one
// (Last): Cut needs the answer.
func Behind[K any](r Request[K], cols []string, key func(K) []any, add func(any) string) string {
	switch {
	case !r.Last && r.After != nil:
		return compare(cols, ">=", key(*r.After), add)
	case r.Last && r.Before != nil:
		return compare(cols, "<=", key(*r.Before), add)
	}
	return ""
}

func compare(cols []string, op string, vals []any, add func(any) string) string {
	ph := make([]string, len(vals))
	for i, v := range vals {
		ph[i] = add(v)
	}
	return "(" + strings.Join(cols, ", ") + ") " + op + " (" + strings.Join(ph, ", ") + ")"
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

// Cut makes a page of rows read with the Keyset of r: the extra row, when
// there is one, only says that another page follows in the direction read;
// behind says whether records lie behind the cursor the page starts from
// (see Behind). Items are put in list order (newest first) whichever way
// they were read. cursor encodes an item's position.
func Cut[T, K any](r Request[K], rows []T, behind bool, cursor func(T) string) Of[T] {
	out := Of[T]{Items: []T{}, Cursors: []string{}}
	more := len(rows) > r.Size
	if more {
		rows = rows[:r.Size]
	}
	if r.Last {
		slices.Reverse(rows)
		out.Info.HasPreviousPage, out.Info.HasNextPage = more, behind
	} else {
		out.Info.HasNextPage, out.Info.HasPreviousPage = more, behind
	}
	for _, row := range rows {
		out.Items = append(out.Items, row)
		out.Cursors = append(out.Cursors, cursor(row))
	}
	if len(out.Cursors) > 0 {
		out.Info.StartCursor, out.Info.EndCursor = &out.Cursors[0], &out.Cursors[len(out.Cursors)-1]
	}
	return out
}
