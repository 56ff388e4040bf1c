package alert_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"amparo/internal/alert"
	"amparo/internal/casefile"
)

// BenchmarkFanout measures the lag from an alert's commit on one replica
// to its push to a subscriber of another (two hubs over one database, the
// raiser on neither), one alert at a time: go test -run '^$' -bench Fanout
// ./internal/alert. Reported: p50 and p99 of the lag.
func BenchmarkFanout(b *testing.B) {
	f := newFixture(b)
	c := f.file(b, "officer@pgn.demo", casefile.Low)
	sup := f.userID(b, "supervisor@pgn.demo")
	f.hub(b, alert.HubConfig{}) // replica A: listens, nobody subscribed
	_, svc := f.hub(b, alert.HubConfig{})
	ctx, cancel := context.WithCancel(f.as(b, "supervisor@pgn.demo"))
	defer cancel()
	ch, err := svc.Subscribe(ctx)
	if err != nil {
		b.Fatal(err)
	}
	lags := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for range b.N {
		f.raise(b, c, sup)
		committed := time.Now()
		select {
		case <-ch:
			lags = append(lags, time.Since(committed))
		case <-time.After(10 * time.Second):
			b.Fatal("alert not pushed within 10 s")
		}
	}
	b.StopTimer()
	slices.Sort(lags)
	b.ReportMetric(float64(lags[len(lags)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(lags[len(lags)*99/100].Microseconds())/1000, "p99-ms")
}
