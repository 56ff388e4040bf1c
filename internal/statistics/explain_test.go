package statistics_test

import (
	"os"
	"strings"
	"testing"
	"time"
)

// TestExplainScratch is a scratch harness (AMPARO_STATS_EXPLAIN=1).
func TestExplainScratch(t *testing.T) {
	if os.Getenv("AMPARO_STATS_EXPLAIN") == "" {
		t.Skip()
	}
	f := newFixture(t, false, 0)
	f.seedMany(t, 1_000_000)
	t0 := time.Now()
	for _, q := range strings.Split(os.Getenv("AMPARO_STATS_QUERIES"), ";;") {
		var plan []string
		if err := f.owner.Select(&plan, "EXPLAIN (ANALYZE, BUFFERS) "+q); err != nil {
			t.Fatal(err)
		}
		t.Log(q + "\n" + strings.Join(plan, "\n"))
	}
	t.Log(time.Since(t0))
}
