package statistics_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"amparo/internal/casefile"
	"amparo/internal/child"
	"amparo/internal/statistics"
)

// attacker knows the method and its published perturbation table, not the
// record keys.
type attacker struct{}

// feasible is the range of true counts that could show as c.
func (attacker) feasible(v *int, suppressed bool) (lo, hi int) {
	switch {
	case suppressed:
		return 1, statistics.Threshold - 1
	case *v == 0:
		return 0, 0
	}
	lo, hi = -1, -1
	for n := statistics.Threshold; n <= *v+statistics.MaxNoise; n++ {
		if slices.Contains(statistics.Perturbations(n), *v-n) {
			if lo < 0 {
				lo = n
			}
			hi = n
		}
	}
	return lo, hi
}

// figure is one published figure of a table, by position.
type figure struct {
	v          *int
	suppressed bool
}

// figures lists a table's figures by position: cells, row totals, total.
func figures(t *statistics.Table) map[string]figure {
	out := map[string]figure{}
	for _, r := range t.Rows {
		k := strings.Join(r.Key, "/")
		for _, c := range r.Cells {
			out["cell "+k+" × "+strings.Join(c.Column, "/")] = figure{c.Value, c.Suppressed}
		}
		out["row "+k] = figure{r.Total, r.TotalSuppressed}
	}
	out["total"] = figure{t.Total, t.TotalSuppressed}
	return out
}

// difference is what the attacker learns of the records in big and not
// in small (small's records are a subset of big's) at one position: the
// range of their count. It recovers a count when the range is one value
// from 1 to 4.
func (a attacker) difference(big, small figure) (lo, hi int) {
	zero := 0
	if big.v == nil && !big.suppressed {
		big.v = &zero
	}
	if small.v == nil && !small.suppressed {
		small.v = &zero
	}
	bl, bh := a.feasible(big.v, big.suppressed)
	sl, sh := a.feasible(small.v, small.suppressed)
	return max(0, bl-sh), bh - sl
}

// lineValues is every value a suppressed cell of a line may hold, by brute
// force over the suppressed cells: the total's feasible range against the
// shown cells' ranges. additive: each record in exactly one cell.
func (a attacker) lineValues(total figure, cells []figure, additive bool) []map[int]bool {
	if total.suppressed || total.v == nil {
		return nil
	}
	tl, th := a.feasible(total.v, false)
	var sumLo, sumHi int
	var hidden []int
	for i, c := range cells {
		if c.suppressed {
			hidden = append(hidden, i)
			continue
		}
		l, h := a.feasible(c.v, false)
		sumLo += l
		sumHi += h
	}
	if len(hidden) == 0 || len(hidden) > 4 {
		return nil // more than 4 suppressed: 4^k combinations, and no pin is near
	}
	values := make([]map[int]bool, len(hidden))
	for i := range values {
		values[i] = map[int]bool{}
	}
	combo := make([]int, len(hidden))
	var walk func(i, s int)
	walk = func(i, s int) {
		if i == len(hidden) {
			// Some total T in [tl, th] and shown cells summing within
			// [sumLo, sumHi] with T = S + shown (or T <= S + shown).
			ok := false
			if additive {
				ok = tl-s <= sumHi && th-s >= sumLo
			} else {
				ok = s+sumHi >= tl
			}
			if ok {
				for j, v := range combo {
					values[j][v] = true
				}
			}
			return
		}
		for v := 1; v < statistics.Threshold; v++ {
			combo[i] = v
			walk(i+1, s+v)
		}
	}
	walk(0, 0)
	return values
}

// recoverWithin reports the first suppressed cell that a line of t pins.
func (a attacker) recoverWithin(t *statistics.Table, rowsMulti, colsMulti, hasColumns bool) string {
	var totals []figure
	var all []figure
	for _, r := range t.Rows {
		var cells []figure
		for _, c := range r.Cells {
			cells = append(cells, figure{c.Value, c.Suppressed})
		}
		all = append(all, cells...)
		totals = append(totals, figure{r.Total, r.TotalSuppressed})
		if !hasColumns {
			continue
		}
		for i, vs := range a.lineValues(figure{r.Total, r.TotalSuppressed}, cells, !colsMulti) {
			if len(vs) == 1 {
				return fmt.Sprintf("row %v, suppressed cell %d pinned to %v", r.Key, i, vs)
			}
		}
	}
	for _, ln := range [][]figure{totals, all} {
		for i, vs := range a.lineValues(figure{t.Total, t.TotalSuppressed}, ln, !(rowsMulti || colsMulti)) {
			if len(vs) == 1 {
				return fmt.Sprintf("grand total pins suppressed element %d to %v", i, vs)
			}
		}
	}
	return ""
}

// TestDifferencing seeds cases with singletons and tries, over several
// table definitions, every pair of queries that differ by one day at
// either end of the period or by one value of a filter, plus each table
// against its transpose, as an attacker who knows the method. Nothing may
// be recovered: no count from 1 to 4, in a cell, a margin or a total, is
// pinned by subtraction within a table or between the two of a pair.
func TestDifferencing(t *testing.T) {
	f := newFixture(t, false, 0)
	r := rand.New(rand.NewPCG(16, 2026))
	deps := []string{"GT-12", "GT-13", "GT-17"}
	sexes := []string{"FEMALE", "MALE"}
	bands := []child.AgeBand{child.Age0to5, child.Age6to12, child.Age13to17}
	types := []string{"TRAFFICKING", "NEGLECT", "VIOLENCE_PHYSICAL"}
	cats := []string{"EXPLOITATION", "CARE", "VIOLENCE"}
	insts := []string{"PGN", "SBS"}
	day := func(d int) time.Time { return time.Date(2026, 3, d, 16, 0, 0, 0, time.UTC) }
	var recs []rec
	for range 140 {
		recs = append(recs, rec{inst: insts[r.IntN(2)], dept: deps[r.IntN(3)], sex: sexes[r.IntN(2)],
			band: string(bands[r.IntN(3)]), vtype: types[r.IntN(3)], at: day(2 + r.IntN(6)), key: r.Uint32()})
	}
	// Singletons: combinations that occur once, on days of their own.
	recs = append(recs,
		rec{inst: "SBS", dept: "GT-17", sex: "MALE", band: "AGE_0_5", vtype: "TRAFFICKING", at: day(8), key: r.Uint32()},
		rec{inst: "PGN", dept: "GT-12", sex: "FEMALE", band: "AGE_0_5", vtype: "VIOLENCE_PHYSICAL", at: day(1), key: r.Uint32()},
		rec{inst: "PGN", dept: "GT-13", sex: "MALE", band: "AGE_13_17", vtype: "NEGLECT", at: day(9), key: r.Uint32()},
	)
	f.seed(t, recs)
	ctx := f.as(t, "oversight@pdh.demo")

	type def struct{ rows, cols []string }
	defs := []def{
		{[]string{statistics.Department}, nil},
		{[]string{statistics.Department}, []string{statistics.Sex}},
		{[]string{statistics.Sex}, []string{statistics.Department}},
		{[]string{statistics.AgeBand}, []string{statistics.Sex}},
		{[]string{statistics.Department}, []string{statistics.AgeBand}},
		{[]string{statistics.ViolationCategory}, []string{statistics.Sex}},
		{[]string{statistics.Institution}, []string{statistics.ViolationCategory}},
		{[]string{statistics.Department, statistics.Sex}, []string{statistics.AgeBand}},
	}
	multi := map[string]bool{statistics.ViolationCategory: true}
	anyMulti := func(ds []string) bool { return slices.ContainsFunc(ds, func(d string) bool { return multi[d] }) }

	cache := map[string]*statistics.Table{}
	var a attacker
	table := func(d def, in statistics.Input) *statistics.Table {
		in.Measure, in.Rows, in.Columns = statistics.Cases, d.rows, d.cols
		k := fmt.Sprintf("%v|%v|%v|%v|%+v", d.rows, d.cols, in.From, in.To, in.Filter)
		if tab, ok := cache[k]; ok {
			return tab
		}
		tab, err := f.svc.Table(ctx, in)
		if err != nil {
			t.Fatal(err)
		}
		if msg := a.recoverWithin(tab, anyMulti(d.rows), anyMulti(d.cols), len(d.cols) > 0); msg != "" {
			t.Errorf("%s: %s", k, msg)
		}
		for pos, fg := range figures(tab) {
			if fg.v != nil && *fg.v > 0 && *fg.v < statistics.Threshold {
				t.Errorf("%s: %s shows %d", k, pos, *fg.v)
			}
		}
		cache[k] = tab
		return tab
	}

	// pairs: (big, small) inputs whose records differ by one day or one
	// filter value, small's within big's.
	type pair struct {
		name       string
		big, small statistics.Input
	}
	var pairs []pair
	first, last := 1, 9
	for d := first + 1; d <= last; d++ {
		pairs = append(pairs,
			pair{fmt.Sprintf("to 03-%02d vs 03-%02d", d, d-1),
				statistics.Input{From: date("2026-03-01"), To: date(fmt.Sprintf("2026-03-%02d", d))},
				statistics.Input{From: date("2026-03-01"), To: date(fmt.Sprintf("2026-03-%02d", d-1))}},
			pair{fmt.Sprintf("from 03-%02d vs 03-%02d", d-1, d),
				statistics.Input{From: date(fmt.Sprintf("2026-03-%02d", d-1)), To: date("2026-03-09")},
				statistics.Input{From: date(fmt.Sprintf("2026-03-%02d", d)), To: date("2026-03-09")}})
	}
	without := func(list []string, i int) []string {
		return append(append([]string(nil), list[:i]...), list[i+1:]...)
	}
	filterPairs := func(name string, values []string, set func(*casefile.Filter, []string)) {
		for i := range values {
			big, small := &casefile.Filter{}, &casefile.Filter{}
			set(big, values)
			set(small, without(values, i))
			pairs = append(pairs, pair{fmt.Sprintf("%s %v vs %v", name, values, without(values, i)),
				statistics.Input{Filter: big}, statistics.Input{Filter: small}})
			for j := range values {
				if j == i {
					continue
				}
				two, one := &casefile.Filter{}, &casefile.Filter{}
				set(two, []string{values[i], values[j]})
				set(one, []string{values[j]})
				pairs = append(pairs, pair{fmt.Sprintf("%s %v,%v vs %v", name, values[i], values[j], values[j]),
					statistics.Input{Filter: two}, statistics.Input{Filter: one}})
			}
		}
	}
	filterPairs("departments", deps, func(f *casefile.Filter, v []string) { f.Departments = v })
	filterPairs("ageBands", []string{"AGE_0_5", "AGE_6_12", "AGE_13_17"}, func(f *casefile.Filter, v []string) {
		f.AgeBands = nil
		for _, b := range v {
			f.AgeBands = append(f.AgeBands, child.AgeBand(b))
		}
	})
	filterPairs("violationCategories", cats, func(f *casefile.Filter, v []string) { f.ViolationCategories = v })

	tried := 0
	for _, d := range defs {
		for _, p := range pairs {
			big, small := figures(table(d, p.big)), figures(table(d, p.small))
			for pos, b := range big {
				lo, hi := a.difference(b, small[pos])
				tried++
				if lo == hi && lo >= 1 && lo < statistics.Threshold {
					t.Errorf("%v×%v, %s, %s: the difference is %d", d.rows, d.cols, p.name, pos, lo)
				}
			}
		}
	}
	t.Logf("%d queries, %d figure pairs differenced", len(cache), tried)

	t.Run("TransposeShowsTheSameFigures", func(t *testing.T) {
		ab := table(def{[]string{statistics.Department}, []string{statistics.Sex}}, statistics.Input{})
		ba := table(def{[]string{statistics.Sex}, []string{statistics.Department}}, statistics.Input{})
		for _, r := range ab.Rows {
			for _, c := range r.Cells {
				var other *statistics.Cell
				for _, r2 := range ba.Rows {
					for _, c2 := range r2.Cells {
						if r2.Key[0] == c.Column[0] && c2.Column[0] == r.Key[0] {
							other = c2
						}
					}
				}
				if other == nil || other.Suppressed != c.Suppressed || (c.Value != nil && *c.Value != *other.Value) {
					t.Errorf("%v×%v: %+v, transposed %+v", r.Key, c.Column, c, other)
				}
			}
		}
	})
	_ = context.Background
}
