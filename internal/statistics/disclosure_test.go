package statistics

import (
	"math/rand/v2"
	"testing"
)

// TestPerturbCells pins down what each true count from 0 to 6 may show,
// over every column of the perturbation table.
func TestPerturbCells(t *testing.T) {
	for n := int64(0); n <= 6; n++ {
		seen := map[int]bool{}
		for k := range uint32(ptableWidth) {
			s := perturb(Count{N: n, Key: k})
			switch {
			case n == 0:
				if s.Suppressed || s.Value == nil || *s.Value != 0 {
					t.Fatalf("0 shown as %+v, want 0", s)
				}
			case n < Threshold:
				if !s.Suppressed || s.Value != nil {
					t.Fatalf("%d shown as %v, want suppressed", n, *s.Value)
				}
			default:
				if s.Suppressed || s.Value == nil {
					t.Fatalf("%d suppressed", n)
				}
				if v := *s.Value; v < Threshold || v < int(n)-MaxNoise || v > int(n)+MaxNoise {
					t.Fatalf("%d shown as %d", n, v)
				}
				seen[*s.Value] = true
			}
		}
		if n >= Threshold && len(seen) < 3 {
			t.Errorf("%d shows only %v: too little noise", n, seen)
		}
	}
}

// TestPerturbNeverShowsSmallCounts: whatever the count and key, no shown
// value is between 1 and 4.
func TestPerturbNeverShowsSmallCounts(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for range 200000 {
		c := Count{N: r.Int64N(60), Key: r.Uint32()}
		if s := perturb(c); s.Value != nil && *s.Value > 0 && *s.Value < Threshold {
			t.Fatalf("%+v shown as %d", c, *s.Value)
		}
	}
}

// TestPerturbIsAFunctionOfTheRecords: the same count and key always show
// the same value.
func TestPerturbIsAFunctionOfTheRecords(t *testing.T) {
	for k := range uint32(1000) {
		a, b := perturb(Count{N: 40, Key: k * 7919}), perturb(Count{N: 40, Key: k * 7919})
		if *a.Value != *b.Value {
			t.Fatalf("key %d: %d then %d", k, *a.Value, *b.Value)
		}
	}
}

// TestPerturbationRowsHaveMeanZero: from 6 up, the noise does not bias.
func TestPerturbationRowsHaveMeanZero(t *testing.T) {
	for name, row := range map[string]noiseRow{"six": rowSix, "seven": rowSeven} {
		sum := 0
		for i, n := range row {
			sum += n * (i - MaxNoise)
		}
		if sum != 0 {
			t.Errorf("row %s: mean %d/256", name, sum)
		}
	}
}

// TestFeasible: what an attacker who knows the table infers from a shown
// value always contains the truth and is never a single small count.
func TestFeasible(t *testing.T) {
	for n := int64(0); n < 40; n++ {
		for k := range uint32(ptableWidth) {
			s := perturb(Count{N: n, Key: k})
			f := feasible(s)
			if n < f.lo || n > f.hi {
				t.Fatalf("%d shown %+v: feasible %v misses it", n, s, f)
			}
			if n > 0 && f.lo == f.hi {
				t.Fatalf("%d shown %+v: feasible %v pins it", n, s, f)
			}
		}
	}
}

func shown(v int) Shown { return Shown{Value: &v} }
func hidden() Shown     { return Shown{Suppressed: true} }
func line(vs ...int) []Shown {
	out := make([]Shown, len(vs))
	for i, v := range vs {
		out[i] = shown(v)
	}
	return out
}

// TestPinned: the margins check, line by line.
func TestPinned(t *testing.T) {
	for name, tc := range map[string]struct {
		total      Shown
		parts      []Shown
		suppressed int
		additive   bool
		want       bool
	}{
		// total 6 (true 5..8), one shown 7 (true 5..9): S in [-4, 3] ∩ [1,4].
		"WideRangeIsSafe": {shown(6), line(7), 1, true, false},
		// total 6 (5..8) and a part shown 9 (7..11): S <= 1, so S = 1.
		"PinnedAtOne": {shown(6), line(9), 1, true, true},
		// total 30 (28..32), parts 5 and 20 (5..7, 18..22): S in [-1, 9].
		"SafeLargeTotal": {shown(30), line(5, 20), 1, true, false},
		// total 16 (14..18), parts 10 and 5 (8..12, 5..7): S in [-5, 5]:
		// with two suppressed cells, each in [1,4] and S >= 2: not pinned.
		"TwoSuppressedSafe": {shown(16), line(10, 5), 2, true, false},
		// total 8 (6..10), a part 10 (8..12): S <= 2, so both are 1.
		"TwoSuppressedPinnedAtTwo": {shown(8), line(10), 2, true, true},
		"NothingSuppressed":        {shown(7), line(7), 0, true, false},
		"TotalSuppressed":          {hidden(), nil, 2, true, false},
		// parts may overlap: only a lower bound, S >= 6-11 ... safe.
		"OverlappingSafe": {shown(6), line(9), 1, false, false},
		// overlapping parts, the lower bound reaches 4: pinned at 4.
		"OverlappingPinnedAtFour": {shown(20), line(12), 1, false, true},
	} {
		t.Run(name, func(t *testing.T) {
			if got := pinned(tc.total, tc.parts, tc.suppressed, tc.additive); got != tc.want {
				t.Errorf("pinned = %v, want %v", got, tc.want)
			}
		})
	}
}
