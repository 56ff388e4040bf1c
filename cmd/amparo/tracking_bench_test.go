package main

import (
	"strings"
	"testing"
	"time"
)

// BenchmarkComplaintStatus compares complaintStatus for a known code and
// for an unknown one of the same form, through the real handler (rate
// limit raised out of the way): the two take the same path, one HMAC and
// one probe of the unique index, and should cost the same within noise.
// Calls alternate, so that drift on a loaded machine hits both alike; the
// figures are known-ns/op and unknown-ns/op.
//
//	go test ./cmd/amparo -run '^$' -bench ComplaintStatus -count 5
func BenchmarkComplaintStatus(b *testing.B) {
	app := newTestApp(b, func(c *config) { c.StatusPerMinute, c.StatusBurst, c.StatusPerSecond = 100000, 100000, 100000 })
	_, known, errs := app.submit("bench-status-1")
	if errs != nil {
		b.Fatal(errs)
	}
	// The same code with its first character changed: same length and
	// alphabet, no complaint.
	unknown := "A" + known[1:]
	if known[0] == 'A' {
		unknown = "B" + known[1:]
	}
	const q = `query($c: String!) { complaintStatus(trackingCode: $c) { status } }`
	ask := func(code, want string) time.Duration {
		start := time.Now()
		res := app.do("", q, map[string]any{"c": code})
		d := time.Since(start)
		if len(res.Errors) > 0 || !strings.Contains(string(res.Data), want) {
			b.Fatalf("%s: %v %s", code, res.codes(), res.Data)
		}
		return d
	}
	for range 200 { // warm connections and caches
		ask(known, "RECEIVED")
		ask(unknown, "null")
	}
	var k, u time.Duration
	n := 0
	for b.Loop() {
		if n%2 == 0 {
			k += ask(known, "RECEIVED")
			u += ask(unknown, "null")
		} else {
			u += ask(unknown, "null")
			k += ask(known, "RECEIVED")
		}
		n++
	}
	b.ReportMetric(float64(k.Nanoseconds())/float64(n), "known-ns/op")
	b.ReportMetric(float64(u.Nanoseconds())/float64(n), "unknown-ns/op")
}
