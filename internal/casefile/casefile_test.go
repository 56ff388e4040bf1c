package casefile

import (
	"testing"
	"time"
)

func TestDueAt(t *testing.T) {
	filed := time.Date(2026, 11, 28, 15, 0, 0, 0, time.UTC) // 09:00 in Guatemala
	for u, want := range map[Urgency]time.Time{
		Immediate: time.Date(2026, 11, 29, 5, 59, 59, 0, time.UTC), // 23:59:59 that day in Guatemala
		High:      filed.Add(24 * time.Hour),
		Medium:    filed.Add(72 * time.Hour),
		Low:       filed.Add(120 * time.Hour),
	} {
		if got := u.DueAt(filed); !got.Equal(want) {
			t.Errorf("%s: due %s, want %s", u, got, want)
		}
	}
}
