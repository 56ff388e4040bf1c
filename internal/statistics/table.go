package statistics

import (
	"database/sql"
	"slices"
	"strings"
	"time"
)

// Table is a published table: every count perturbed, small ones
// suppressed, margins withheld where they would give a suppressed cell
// away.
type Table struct {
	Rows []*Row
	// Total is the table's grand total; nil when withheld.
	Total *int
	// TotalSuppressed says the total is withheld.
	TotalSuppressed bool
	// SuppressedCells counts suppressed cells (not margins).
	SuppressedCells int
	// Columns are the column keys, in the order of every row's cells.
	Columns     [][]string
	GeneratedAt time.Time
}

// Row is one row of a table.
type Row struct {
	Key   []string
	Cells []*Cell
	Total *int // the row's total; nil when withheld
	// TotalSuppressed says the row's total is withheld.
	TotalSuppressed bool
}

// Cell is one cell of a row.
type Cell struct {
	Column     []string
	Value      *int // nil when suppressed
	Suppressed bool
}

// counted is one result row of query.
type counted struct {
	dims []sql.NullString
	c    Count
}

// add is the count of the union of disjoint a and b.
func (a Count) add(b Count) Count { return Count{N: a.N + b.N, Key: a.Key + b.Key} }

// assemble builds the published table from the cells of query, with nRows
// dimensions in rows and the rest in columns. rowsMulti (colsMulti) says a
// record may fall in several rows (columns): rowTotals is then needed when
// colsMulti, and grand when either; otherwise they may be nil and margins
// are the sums of the cells.
func assemble(cells, rowTotals []counted, grand *Count, nRows int, rowsMulti, colsMulti bool, now time.Time) *Table {
	t := &Table{GeneratedAt: now}
	type rowAcc struct {
		key   []string
		cells map[string]Count
		total Count
	}
	rows := map[string]*rowAcc{}
	cols := map[string][]string{}
	keyOf := func(ds []sql.NullString) []string {
		out := make([]string, len(ds))
		for i, d := range ds {
			out[i] = d.String
		}
		return out
	}
	row := func(k []string) *rowAcc {
		id := strings.Join(k, "\x00")
		r := rows[id]
		if r == nil {
			r = &rowAcc{key: k, cells: map[string]Count{}}
			rows[id] = r
		}
		return r
	}
	var sum Count
	for _, c := range cells {
		r := row(keyOf(c.dims[:nRows]))
		col := keyOf(c.dims[nRows:])
		id := strings.Join(col, "\x00")
		cols[id] = col
		r.cells[id] = c.c
		r.total = r.total.add(c.c)
		sum = sum.add(c.c)
	}
	if rowTotals != nil {
		for _, r := range rows {
			r.total = Count{}
		}
		for _, c := range rowTotals {
			row(keyOf(c.dims)).total = c.c
		}
	}
	if grand == nil {
		grand = &sum
	}
	colIDs := make([]string, 0, len(cols))
	for id := range cols {
		colIDs = append(colIDs, id)
	}
	slices.Sort(colIDs)
	for _, id := range colIDs {
		t.Columns = append(t.Columns, cols[id])
	}
	rowIDs := make([]string, 0, len(rows))
	for id := range rows {
		rowIDs = append(rowIDs, id)
	}
	slices.Sort(rowIDs)
	hasColumns := len(colIDs) > 0 && len(cols[colIDs[0]]) > 0
	var totals []Shown
	suppressedTotals := 0
	for _, id := range rowIDs {
		acc := rows[id]
		r := &Row{Key: acc.key}
		var shown []Shown
		suppressed := 0
		for _, cid := range colIDs {
			s := perturb(acc.cells[cid])
			r.Cells = append(r.Cells, &Cell{Column: cols[cid], Value: s.Value, Suppressed: s.Suppressed})
			if s.Suppressed {
				suppressed++
				t.SuppressedCells++
			} else {
				shown = append(shown, s)
			}
		}
		tot := perturb(acc.total)
		if hasColumns && pinned(tot, shown, suppressed, !colsMulti) {
			tot = Shown{Suppressed: true}
		}
		r.Total, r.TotalSuppressed = tot.Value, tot.Suppressed
		if tot.Suppressed {
			suppressedTotals++
		} else {
			totals = append(totals, tot)
		}
		t.Rows = append(t.Rows, r)
	}
	g := perturb(*grand)
	if pinned(g, totals, suppressedTotals, !rowsMulti) || gridPins(g, t, !rowsMulti && !colsMulti) {
		g = Shown{Suppressed: true}
	}
	t.Total, t.TotalSuppressed = g.Value, g.Suppressed
	return t
}

// gridPins reports whether the grand total pins a suppressed cell when set
// against every shown cell of the table.
func gridPins(g Shown, t *Table, additive bool) bool {
	var shown []Shown
	suppressed := 0
	for _, r := range t.Rows {
		for _, c := range r.Cells {
			if c.Suppressed {
				suppressed++
			} else {
				shown = append(shown, Shown{Value: c.Value})
			}
		}
	}
	return pinned(g, shown, suppressed, additive)
}
