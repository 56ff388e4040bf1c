package main

import (
	"math"
	"runtime/debug"
	"testing"
)

func TestTuneGC(t *testing.T) {
	restore := func() {
		debug.SetGCPercent(debug.SetGCPercent(100))
		debug.SetMemoryLimit(debug.SetMemoryLimit(math.MaxInt64))
	}
	defer restore()
	env := func(vars map[string]string) func(string) string {
		return func(k string) string { return vars[k] }
	}
	t.Run("ServerDefaults", func(t *testing.T) {
		debug.SetGCPercent(100)
		debug.SetMemoryLimit(math.MaxInt64)
		s := tuneGC(env(nil), "1073741824\n")
		if got := debug.SetGCPercent(100); got != serverGCPercent || s.Percent != serverGCPercent {
			t.Fatalf("GC percent %d (said %d), want %d", got, s.Percent, serverGCPercent)
		}
		if got := debug.SetMemoryLimit(-1); got != 858993459 || s.MemoryLimit != got {
			t.Fatalf("memory limit %d (said %d), want 80%% of 1 GiB", got, s.MemoryLimit)
		}
	})
	t.Run("OperatorsChoiceKept", func(t *testing.T) {
		debug.SetGCPercent(150)
		debug.SetMemoryLimit(math.MaxInt64)
		s := tuneGC(env(map[string]string{"GOGC": "150", "GOMEMLIMIT": "2GiB"}), "1073741824")
		if got := debug.SetGCPercent(150); got != 150 || s.Percent != -1 {
			t.Fatalf("GC percent %d (said %d): GOGC was set", got, s.Percent)
		}
		if got := debug.SetMemoryLimit(-1); got != math.MaxInt64 || s.MemoryLimit != 0 {
			t.Fatalf("memory limit %d (said %d): GOMEMLIMIT was set", got, s.MemoryLimit)
		}
	})
	t.Run("NoContainerLimit", func(t *testing.T) {
		debug.SetMemoryLimit(math.MaxInt64)
		if s := tuneGC(env(nil), ""); s.MemoryLimit != 0 || debug.SetMemoryLimit(-1) != math.MaxInt64 {
			t.Fatalf("a limit set without a container's: %+v", s)
		}
	})
}
