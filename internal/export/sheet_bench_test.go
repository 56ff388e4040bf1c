package export

import (
	"fmt"
	"io"
	"runtime"
	"runtime/metrics"
	"testing"
	"time"
)

// BenchmarkXLSXMillionRows writes a million rows shaped like a case export
// (codes, dates, numbers) to nowhere and reports the peak growth of the
// heap while it does (sampled every 10 ms after a collection): the writer
// alone, without the database or the upload that BenchmarkMillionCases
// (internal/statistics) adds.
//
//	go test ./internal/export -run '^$' -bench XLSXMillionRows -benchtime 1x
func BenchmarkXLSXMillionRows(b *testing.B) {
	for b.Loop() {
		runtime.GC()
		base := heapBytes()
		done, peak := make(chan struct{}), make(chan uint64)
		go func() {
			p := base
			t := time.NewTicker(10 * time.Millisecond)
			defer t.Stop()
			for {
				select {
				case <-done:
					peak <- p
					return
				case <-t.C:
					p = max(p, heapBytes())
				}
			}
		}()
		w, _ := NewWriter(XLSX, io.Discard)
		if err := w.Sheet("casos", []string{"reference", "status", "urgency", "institution", "department", "entry point",
			"filed", "due", "age band", "sex", "nationality", "population status", "care status", "violations", "n"}); err != nil {
			b.Fatal(err)
		}
		day := time.Date(2026, 3, 10, 0, 0, 0, 0, time.UTC)
		for i := range 1_000_000 {
			if err := w.Row(fmt.Sprintf("PGN-2026-%06d", i), "ASSESSMENT", "HIGH", "PGN", "GT-13", "TECUN_UMAN",
				day.Add(time.Duration(i)*time.Second), Date(day), "AGE_13_17", "FEMALE", "HND", "MIGRANT_TRANSIT",
				"UNACCOMPANIED", "TRAFFICKING NEGLECT", i); err != nil {
				b.Fatal(err)
			}
		}
		if err := w.Close(); err != nil {
			b.Fatal(err)
		}
		close(done)
		b.ReportMetric(float64(<-peak-base)/(1<<20), "MiB-heap-growth")
	}
}

// heapBytes is the heap's size: objects (garbage not yet collected
// included) and free space in spans.
func heapBytes() uint64 {
	s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}, {Name: "/memory/classes/heap/unused:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64() + s[1].Value.Uint64()
}
