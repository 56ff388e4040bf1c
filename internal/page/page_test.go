package page

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"

	"amparo/internal/apperr"
)

func TestCursorRoundTrip(t *testing.T) {
	c := Cursor{At: time.Date(2026, 11, 28, 9, 30, 1, 123456000, time.UTC), ID: uuid.New()}
	s := c.String()
	got, err := Parse(&s)
	if err != nil || got.ID != c.ID || !got.At.Equal(c.At) {
		t.Fatalf("Parse(%q) = %+v, %v; want %+v", s, got, err, c)
	}
}

func TestParseRefusesGarbage(t *testing.T) {
	for _, s := range []string{"x", "bm9wZQ", "MTIz", "!!", Cursor{}.String()[:5]} {
		if _, err := Parse(&s); !apperr.Is(err, apperr.Invalid) {
			t.Errorf("Parse(%q) = %v, want BAD_USER_INPUT", s, err)
		}
	}
	if c, err := Parse(nil); c != nil || err != nil {
		t.Errorf("Parse(nil) = %v, %v", c, err)
	}
}

func TestSize(t *testing.T) {
	for _, tc := range []struct {
		first *int
		want  int
		ok    bool
	}{{nil, Default, true}, {ptr(0), 0, true}, {ptr(100), 100, true}, {ptr(101), 0, false}, {ptr(-1), 0, false}} {
		got, err := Size(tc.first)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("Size(%v) = %d, %v", tc.first, got, err)
		}
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
