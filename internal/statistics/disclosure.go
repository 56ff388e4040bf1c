package statistics

// Disclosure control: cell-key perturbation after the Australian Bureau of
// Statistics' TableBuilder, with suppression of small counts.
//
// Every counted record carries a random 32-bit record key fixed when it was
// inserted (migrations/00050_statistics.sql). The cell key of a cell is the
// sum of its records' keys modulo 2^32; its low 8 bits pick a column of the
// perturbation table, the cell's true count picks the row, and the entry is
// added to the count. Because the key is a function of the set of records
// only, the same records always show the same value, in every table and
// every query (a table and its transpose, a margin and the cell of a
// one-dimensional table); two sets that differ by even one record get
// perturbations that are independent to whoever does not know the keys.
//
// What is shown:
//   - a true count of 0 is shown as 0 (structural zeros are not perturbed);
//   - a true count from 1 to Threshold-1 is suppressed: no value;
//   - a true count n >= Threshold is shown as n + p, where p comes from the
//     row of n (rows for 5 and 6 never bring the value under 5), so that no
//     shown value is ever between 1 and 4.
//
// Totals and margins are counted from their own records (not summed from
// the cells) and perturbed the same way, so they are consistent with the
// same records shown elsewhere and not additive: subtracting shown cells
// from a total leaves a suppressed cell plus the noise of every term.
// Within a table, each line (a row with its total, the row totals with the
// grand total) is also checked the way an attacker who knows this table of
// perturbations would check it; a total that would pin a suppressed cell to
// one value is withheld (see protectLine).

// Threshold is the smallest count shown: counts 1 to Threshold-1 are
// suppressed.
const Threshold = 5

// MaxNoise bounds the perturbation: |p| <= MaxNoise.
const MaxNoise = 2

// ptableWidth is the number of columns of the perturbation table (the cell
// key modulo ptableWidth picks one).
const ptableWidth = 256

// noiseRow is how many of the ptableWidth columns carry each perturbation,
// from -MaxNoise to +MaxNoise.
type noiseRow [2*MaxNoise + 1]int

// The perturbation table's rows: for a count of 5, of 6, and of 7 or more.
// Each row has mean zero except for 5 (+0.30), which cannot go lower.
var (
	rowFive  = noiseRow{0, 0, 192, 51, 13}   // p in {0, +1, +2}
	rowSix   = noiseRow{0, 77, 115, 51, 13}  // p in {-1 .. +2}
	rowSeven = noiseRow{13, 51, 128, 51, 13} // p in {-2 .. +2}
)

// ptable is the perturbation table, built once from the rows above:
// ptable[r][col], r = 0 for a count of 5, 1 for 6, 2 for 7 or more.
var ptable = func() [3][ptableWidth]int8 {
	var t [3][ptableWidth]int8
	for r, row := range []noiseRow{rowFive, rowSix, rowSeven} {
		col := 0
		// Spread each value over the columns in a fixed interleaving (not
		// in runs), so that neighbouring keys do not share a perturbation.
		seq := make([]int8, 0, ptableWidth)
		for i, n := range row {
			for range n {
				seq = append(seq, int8(i-MaxNoise))
			}
		}
		if len(seq) != ptableWidth {
			panic("statistics: a perturbation row does not fill the table")
		}
		for i := range seq {
			// 101 is odd, hence coprime with 256: a permutation.
			col = (i * 101) % ptableWidth
			t[r][col] = seq[i]
		}
	}
	return t
}()

// Count is what is known of one cell before it is shown: how many records
// it holds and its cell key.
type Count struct {
	N   int64
	Key uint32 // sum of the records' keys modulo 2^32
}

// Shown is a count as published.
type Shown struct {
	Value      *int // nil when suppressed
	Suppressed bool
}

// perturb returns the published form of c.
func perturb(c Count) Shown {
	switch {
	case c.N <= 0:
		zero := 0
		return Shown{Value: &zero}
	case c.N < Threshold:
		return Shown{Suppressed: true}
	}
	r := 2
	switch c.N {
	case 5:
		r = 0
	case 6:
		r = 1
	}
	v := int(c.N) + int(ptable[r][c.Key%ptableWidth])
	return Shown{Value: &v}
}

// span is a closed interval of whole numbers; hi < 0 means unbounded above.
type span struct{ lo, hi int64 }

// feasible is the set of true counts that could have been shown as s, to
// someone who knows the perturbation table but not the keys. The set is an
// interval for every row above (each row's support is contiguous).
func feasible(s Shown) span {
	if s.Suppressed {
		return span{1, Threshold - 1}
	}
	v := int64(*s.Value)
	if v == 0 {
		return span{0, 0}
	}
	lo, hi := int64(-1), int64(-1)
	for n := max(Threshold, v-MaxNoise); n <= v+MaxNoise; n++ {
		if canShow(n, v) {
			if lo < 0 {
				lo = n
			}
			hi = n
		}
	}
	return span{lo, hi}
}

// canShow reports whether a true count n can be shown as v.
func canShow(n, v int64) bool {
	p := v - n
	if p < -MaxNoise || p > MaxNoise {
		return false
	}
	row := rowSeven
	switch n {
	case 5:
		row = rowFive
	case 6:
		row = rowSix
	}
	return row[p+MaxNoise] > 0
}

// pinned reports whether a suppressed element of a line can be pinned to a
// single value from what the line shows: total is the line's total, parts
// the shown elements and suppressed how many are suppressed. When additive,
// the total counts exactly the records of its parts (every record in one
// part); otherwise a record may be in several parts and the parts only sum
// to at least the total.
func pinned(total Shown, parts []Shown, suppressed int, additive bool) bool {
	if suppressed == 0 || total.Suppressed {
		return false
	}
	t := feasible(total)
	var sumLo, sumHi int64
	for _, p := range parts {
		f := feasible(p)
		sumLo += f.lo
		sumHi += f.hi
	}
	k := int64(suppressed)
	// The suppressed elements together hold S records, k <= S <= 4k.
	sLo, sHi := t.lo-sumHi, t.hi-sumLo
	if !additive {
		sHi = k * (Threshold - 1) // parts may overlap: only a lower bound
	}
	sLo, sHi = max(sLo, k), min(sHi, k*(Threshold-1))
	if sLo > sHi {
		// Nothing fits: the line is not what this model says (a filter
		// the model does not know of); no inference to protect against.
		return false
	}
	// One suppressed element, with the others anywhere in 1..4.
	others := k - 1
	eLo := max(sLo-others*(Threshold-1), 1)
	eHi := min(sHi-others, Threshold-1)
	return eLo == eHi
}

// Perturbations lists the perturbations a true count n may receive, in
// increasing order: none for 0, nil (suppressed) for 1 to 4. It is the
// published perturbation table's support (README, statistics), which is
// all that whoever tries to undo the perturbation may know.
func Perturbations(n int) []int {
	if n < Threshold {
		return nil
	}
	var out []int
	for p := -MaxNoise; p <= MaxNoise; p++ {
		if canShow(int64(n), int64(n+p)) {
			out = append(out, p)
		}
	}
	return out
}
