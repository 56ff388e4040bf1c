package page

import (
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
