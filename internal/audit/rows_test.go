package audit

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lib/pq"
)

// FuzzAuditPGArray: the hand-written array reader agrees with lib/pq's,
// which scanEntry uses, on every input either accepts.
func FuzzAuditPGArray(f *testing.F) {
	for _, s := range []string{`{}`, `{officer}`, `{officer,supervisor}`, `{"a b",c}`, `{"",x}`, `{NULL}`, `{"NULL"}`,
		`{a,"b\"c",d}`, `{{a}}`, `[0:1]={a,b}`, `{a,,b}`, `{ a }`, `{é,ü}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var want pq.StringArray
		wantErr := want.Scan(b)
		got, err := parsePGArray(nil, b)
		if (err != nil) != (wantErr != nil) {
			t.Fatalf("%q: parsePGArray error %v, lib/pq %v", b, err, wantErr)
		}
		if err != nil {
			return
		}
		var gs []string
		for _, g := range got {
			gs = append(gs, string(g))
		}
		if !slices.Equal(gs, []string(want)) {
			t.Fatalf("%q: parsePGArray %q, lib/pq %q", b, gs, want)
		}
	})
}

// pgTime prints t as PostgreSQL does with TimeZone UTC and DateStyle ISO.
func pgTime(t time.Time) string {
	s := strings.TrimRight(t.UTC().Format("2006-01-02 15:04:05.000000"), "0")
	return strings.TrimSuffix(s, ".") + "+00"
}

// FuzzAuditPGTime: the hand-written time reader reads what PostgreSQL
// prints to the canonical form, and anything else it accepts means the
// instant lib/pq reads, written as an Entry's time is.
func FuzzAuditPGTime(f *testing.F) {
	f.Add(int64(0), []byte("2026-11-28 09:30:01.12+00"))
	f.Add(int64(1764322201123456), []byte("2026-02-31 00:00:00+00"))
	f.Add(int64(-62135596800000000), []byte("0001-01-01 00:00:00+00 BC"))
	f.Add(int64(253402300799999999), []byte("9999-12-31 23:59:59.999999+00"))
	f.Fuzz(func(t *testing.T, micros int64, b []byte) {
		check := func(in []byte, got time.Time, text []byte) {
			want, err := pq.ParseTimestamp(time.UTC, string(in))
			if err != nil || !want.Equal(got) {
				t.Fatalf("%q: read as %v, lib/pq %v, %v", in, got, want, err)
			}
			var canon [len(timeLayout)]byte
			if err := formatTime(&canon, 0, want); err != nil || string(canon[:]) != string(text) {
				t.Fatalf("%q: written %q, an Entry's %q (%v)", in, text, canon, err)
			}
		}
		at := time.UnixMicro(micros).UTC()
		if at.Year() >= 1000 && at.Before(maxTime) {
			in := []byte(pgTime(at))
			var text [len(timeLayout)]byte
			got, ok := pgTimeCanonical(&text, in)
			if !ok {
				t.Fatalf("%q declined", in)
			}
			check(in, got, text[:])
		}
		var text [len(timeLayout)]byte
		if got, ok := pgTimeCanonical(&text, b); ok {
			check(b, got, text[:])
		}
	})
}
