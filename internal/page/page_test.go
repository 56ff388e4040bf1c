package page

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"amparo/internal/apperr"
)

func TestCursorRoundTrip(t *testing.T) {
	c := Cursor{At: time.Date(2026, 11, 28, 9, 30, 1, 123456000, time.UTC), ID: uuid.New()}
	got, ok := Parse(c.String())
	if !ok || got.ID != c.ID || !got.At.Equal(c.At) {
		t.Fatalf("Parse(%q) = %+v, %v; want %+v", c.String(), got, ok, c)
	}
}

func TestNewRequestRefusesGarbageCursors(t *testing.T) {
	for _, s := range []string{"x", "bm9wZQ", "MTIz", "!!", Cursor{}.String()[:5]} {
		for _, tc := range []struct {
			field string
			args  Args
		}{{"after", Args{After: &s}}, {"before", Args{Before: &s}}} {
			_, err := NewRequest(tc.args)
			var e *apperr.Error
			if !errors.As(err, &e) || e.Kind != apperr.Invalid || e.Field != tc.field {
				t.Errorf("NewRequest(%s: %q) = %v, want BAD_USER_INPUT naming %s", tc.field, s, err, tc.field)
			}
		}
	}
	empty := ""
	if r, err := NewRequest(Args{After: &empty}); r.After != nil || err != nil {
		t.Errorf("an empty cursor = %v, %v; want the start of the list", r.After, err)
	}
}

func TestNewRequest(t *testing.T) {
	c := Cursor{At: time.Now().UTC().Truncate(time.Microsecond), ID: uuid.New()}.String()
	for _, tc := range []struct {
		name      string
		args      Args
		wantField string
		wantSize  int
		wantLast  bool
	}{
		{"DefaultForward", Args{}, "", Default, false},
		{"First", Args{First: ptr(5), After: &c}, "", 5, false},
		{"Last", Args{Last: ptr(7), Before: &c}, "", 7, true},
		{"LastWithoutCursorIsTheEndOfTheList", Args{Last: ptr(3)}, "", 3, true},
		{"BothFirstAndLastRefused", Args{First: ptr(1), Last: ptr(1)}, "last", 0, false},
		{"LastOverMaxRefused", Args{Last: ptr(Max + 1)}, "last", 0, false},
		{"NegativeFirstRefused", Args{First: ptr(-1)}, "first", 0, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := NewRequest(tc.args)
			if tc.wantField != "" {
				var e *apperr.Error
				if !errors.As(err, &e) || e.Kind != apperr.Invalid || e.Field != tc.wantField {
					t.Fatalf("err = %v, want BAD_USER_INPUT naming %s", err, tc.wantField)
				}
				return
			}
			if err != nil || r.Size != tc.wantSize || r.Last != tc.wantLast {
				t.Fatalf("NewRequest = %+v, %v; want size %d, last %v", r, err, tc.wantSize, tc.wantLast)
			}
		})
	}
}

func TestSize(t *testing.T) {
	for _, tc := range []struct {
		first *int
		want  int
		ok    bool
	}{{nil, Default, true}, {ptr(0), 0, true}, {ptr(100), 100, true}, {ptr(101), 0, false}, {ptr(-1), 0, false}} {
		got, err := Size("first", tc.first)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("Size(%v) = %d, %v", tc.first, got, err)
		}
	}
}

// TestSeekAndCut pages over the list 9, 8, ..., 0 (newest first) as a
// database would, both ways, and checks every page and its pageInfo.
func TestSeekAndCut(t *testing.T) {
	list := []int{9, 8, 7, 6, 5, 4, 3, 2, 1, 0}
	id := func(n int) []any { return []any{n} }
	parse := func(s string) (int, bool) { n, err := strconv.Atoi(s); return n, err == nil }
	// run reads the page the way Seek's SQL would: the rows within the
	// bounds, in the keyset's order, up to its limit; and Behind's probe.
	run := func(r Request[int]) Of[int] {
		var rows []int
		for _, n := range list {
			if (r.After == nil || n < *r.After) && (r.Before == nil || n > *r.Before) {
				rows = append(rows, n)
			}
		}
		ks := Seek(r, []string{"k"}, id, func(any) string { return "$" })
		if r.Last != strings.HasSuffix(ks.OrderBy, "ASC") {
			t.Fatalf("OrderBy %q for last=%v", ks.OrderBy, r.Last)
		}
		if r.Last {
			slices.Reverse(rows)
		}
		rows = rows[:min(len(rows), ks.Limit)]
		behind := false
		if Behind(r, []string{"k"}, id, func(any) string { return "$" }) != "" {
			for _, n := range list {
				behind = behind || (!r.Last && n >= *r.After) || (r.Last && n <= *r.Before)
			}
		}
		return Cut(r, rows, behind, strconv.Itoa)
	}
	s := func(n int) *string { v := strconv.Itoa(n); return &v }
	for _, tc := range []struct {
		name       string
		args       Args
		want       []int
		prev, next bool
	}{
		{"FirstPage", Args{First: ptr(3)}, []int{9, 8, 7}, false, true},
		{"MiddlePage", Args{First: ptr(3), After: s(7)}, []int{6, 5, 4}, true, true},
		{"LastPageForward", Args{First: ptr(3), After: s(2)}, []int{1, 0}, true, false},
		{"AfterAVanishedNewestRecord", Args{First: ptr(3), After: s(10)}, []int{9, 8, 7}, false, true},
		{"LastOfTheList", Args{Last: ptr(3)}, []int{2, 1, 0}, true, false},
		{"LastBefore", Args{Last: ptr(3), Before: s(3)}, []int{6, 5, 4}, true, true},
		{"LastBeforeReachesTheStart", Args{Last: ptr(3), Before: s(7)}, []int{9, 8}, false, true},
		{"BeforeAVanishedOldestRecord", Args{Last: ptr(2), Before: s(-1)}, []int{1, 0}, true, false},
		{"BetweenAfterAndBefore", Args{First: ptr(5), After: s(8), Before: s(5)}, []int{7, 6}, true, false},
		{"Empty", Args{First: ptr(0)}, []int{}, false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := NewRequestOf(tc.args, parse)
			if err != nil {
				t.Fatal(err)
			}
			pg := run(r)
			if !slices.Equal(pg.Items, tc.want) || pg.Info.HasPreviousPage != tc.prev || pg.Info.HasNextPage != tc.next {
				t.Fatalf("page %v prev %v next %v; want %v prev %v next %v", pg.Items, pg.Info.HasPreviousPage, pg.Info.HasNextPage, tc.want, tc.prev, tc.next)
			}
			if len(pg.Items) > 0 && (*pg.Info.StartCursor != strconv.Itoa(tc.want[0]) || *pg.Info.EndCursor != strconv.Itoa(tc.want[len(tc.want)-1])) {
				t.Fatalf("cursors %s..%s", *pg.Info.StartCursor, *pg.Info.EndCursor)
			}
		})
	}
}

func TestSeekSQL(t *testing.T) {
	c := Cursor{At: time.Now(), ID: uuid.New()}
	var args []any
	add := func(v any) string { args = append(args, v); return "$" + strconv.Itoa(len(args)) }
	ks := Seek(Request[Cursor]{Size: 5, Last: true, After: &c, Before: &c}, []string{"c.created_at", "c.id"}, Cursor.Key, add)
	want := Keyset{Where: " AND (c.created_at, c.id) < ($1, $2) AND (c.created_at, c.id) > ($3, $4)", OrderBy: "c.created_at ASC, c.id ASC", Limit: 6}
	if ks != want || len(args) != 4 {
		t.Fatalf("Seek = %+v (%d args); want %+v", ks, len(args), want)
	}
	if got := Behind(Request[Cursor]{Before: &c}, []string{"c.created_at", "c.id"}, Cursor.Key, add); got != "" {
		t.Fatalf("forward, nothing after: Behind = %q, want none", got)
	}
}

func ptr(n int) *int { return &n }

func TestCounter(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name       string
		records    int
		want       int
		wantCapped bool
	}{
		{"Exact", 42, 42, false},
		{"ExactAtTheLimit", CountLimit, CountLimit, false},
		{"CappedPastTheLimit", 1_000_000, CountLimit, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			calls := 0
			c := NewCounter(func(_ context.Context, limit int) (int, error) {
				calls++
				return min(tc.records, limit), nil
			})
			for range 2 {
				n, capped, err := c.Count(ctx)
				if err != nil || n != tc.want || capped != tc.wantCapped {
					t.Fatalf("Count = %d, %v, %v; want %d, %v", n, capped, err, tc.want, tc.wantCapped)
				}
			}
			if calls != 1 {
				t.Fatalf("counted %d times, want once", calls)
			}
		})
	}
	t.Run("NeverAskedNeverCounted", func(t *testing.T) {
		NewCounter(func(context.Context, int) (int, error) { t.Fatal("counted"); return 0, nil })
	})
}
