package statistics

import (
	"context"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"amparo/internal/authz"
	"amparo/internal/casefile"
	"amparo/internal/postgres"
)

// The summary (migrations 00051 and 00082) holds, per month and
// institution and for each pair of dimensions, the count and key of:
// cases (stat_case_pairs, over the ten single-valued case dimensions,
// OVERDUE included); and, in stat_violation_pairs, violations (VIOLATION,
// with VIOLATION_TYPE and VIOLATION_CATEGORY as well), cases once per type
// (CASE_TYPE) and cases once per category (CASE_CATEGORY); a case without
// violations is in no table by violation. Counts and keys
// are exact and additive (the key of a union of disjoint sets is the sum
// of theirs modulo 2^32), so a table read from it has the figures of
// counting the records, from a few thousand rows instead of a million.
//
// A table of CASES or VIOLATIONS whose dimensions and filters name at most
// two summary dimensions (MONTH and INSTITUTION are free) reads:
//   - the whole months of its period from the summary;
//   - the days before the first whole month and after the last from the
//     records, or, where a partial month holds more than half its days,
//     the month from the summary less the days left out, from the
//     records (at most half a month at either end);
//   - for OVERDUE, which the summary classifies against a horizon rather
//     than the clock, the cases whose deadline falls between the horizon
//     and now from the records: counted as they are, less as the summary
//     counted them.
// The summary is kept by the Keeper from a queue of changed cases
// (keeper.go): the summary's part of a table adds, for the cases still in
// the queue, their contribution now less the one applied (stat_pending),
// so that a table counts every committed change. Until the Keeper has
// built it, tables count the records.
// All of it in one snapshot, so the parts add up to one moment's figures.

// summaryDims are the dimensions the summary pairs, with the filter field
// that narrows each ("": none).
var summaryDims = map[string]string{
	Department: "departments", EntryPoint: "entryPoints", Urgency: "urgency", Status: "status",
	AgeBand: "ageBands", Sex: "", Nationality: "", PopulationStatus: "populationStatus", CareStatus: "careStatus",
	Overdue: "", ViolationType: "violationTypes", ViolationCategory: "violationCategories",
}

// horizonWindow is how far one advance moves the overdue horizon at most
// (horizonStep as text): a long pause is caught up over several
// transactions, none of them long.
const (
	horizonWindow = "1 day"
	horizonStep   = 24 * time.Hour
)

// plan is how a table is counted from the summary.
type plan struct {
	d       *authz.Decision
	m       *measure
	in      *Input
	filters map[string][]string // summary dimension → values
	// whole months [first, end) read from the summary; zero: unbounded
	first, end time.Time
	// edges are the periods counted from the records and added, minus
	// those counted and taken away (days of a whole month read from the
	// summary that the period leaves out), as dates (from, to inclusive)
	edges, minus [][2]*time.Time
}

// summaryPlan returns the plan of in over the summary, or nil when the
// summary cannot answer it.
func summaryPlan(d *authz.Decision, m *measure, in *Input, department func(string) (string, bool)) *plan {
	if (m.name != Cases && m.name != Violations) || !onlyScopes(d, authz.All, authz.Institution) {
		return nil
	}
	filters, ok := summaryFilters(m, in.Filter, department)
	if !ok {
		return nil
	}
	used := map[string]bool{}
	for _, dm := range in.dims() {
		if _, ok := summaryDims[dm]; ok {
			used[dm] = true
		} else if dm != Month && dm != Institution {
			return nil
		}
	}
	for dm := range filters {
		used[dm] = true
	}
	if len(used) > 2 {
		return nil
	}
	p := &plan{d: d, m: m, in: in, filters: filters}
	// Whole months: from the first day of a month to the last of a month.
	// A partial month at either end is counted from the records; when it
	// holds more than half its month, the month is read whole from the
	// summary instead, less the days it leaves out, counted from the
	// records.
	if from := in.From; from != nil {
		p.first = time.Date(from.Year(), from.Month(), 1, 0, 0, 0, 0, time.UTC)
		if from.Day() != 1 {
			next := p.first.AddDate(0, 1, 0)
			if in.To != nil && in.To.Before(next) {
				return nil // within one month: the records are all there is to count
			}
			last := next.AddDate(0, 0, -1)
			if skipped := from.Day() - 1; skipped < last.Day()-skipped {
				first, before := p.first, from.AddDate(0, 0, -1)
				p.minus = append(p.minus, [2]*time.Time{&first, &before})
			} else {
				p.edges = append(p.edges, [2]*time.Time{from, &last})
				p.first = next
			}
		}
	}
	if to := in.To; to != nil {
		after := to.AddDate(0, 0, 1)
		p.end = time.Date(after.Year(), after.Month(), 1, 0, 0, 0, 0, time.UTC)
		if after.Day() != 1 {
			start := p.end
			next := start.AddDate(0, 1, 0)
			last := next.AddDate(0, 0, -1)
			if skipped := last.Day() - to.Day(); skipped < to.Day() {
				p.minus = append(p.minus, [2]*time.Time{&after, &last})
				p.end = next
			} else {
				p.edges = append(p.edges, [2]*time.Time{&start, to})
			}
		}
	}
	if !p.first.IsZero() && !p.end.IsZero() && !p.end.After(p.first) {
		return nil // no whole month: the records are all there is to count
	}
	return p
}

// unit is the summary table and unit that counts m over dims: cases by a
// violation dimension are counted once per type or category, in
// stat_violation_pairs.
func (p *plan) unit(dims []string) (table, unit string) {
	if p.m.name == Violations {
		return "stat_violation_pairs", "VIOLATION"
	}
	switch {
	case slices.Contains(dims, ViolationType):
		return "stat_violation_pairs", "CASE_TYPE"
	case slices.Contains(dims, ViolationCategory):
		return "stat_violation_pairs", "CASE_CATEGORY"
	}
	return "stat_case_pairs", ""
}

// sql is the query of dims over the summary's whole months. The result has
// the columns of query.
func (p *plan) sql(dims []string, a *postgres.Args) string {
	used := map[string]bool{}
	for _, dm := range dims {
		if _, ok := summaryDims[dm]; ok {
			used[dm] = true
		}
	}
	for dm := range p.filters {
		used[dm] = true
	}
	pair := make([]string, 0, 2)
	for dm := range used {
		pair = append(pair, dm)
	}
	slices.Sort(pair)
	table, unit := p.unit(dims)
	switch {
	case len(pair) == 0 && unit == "VIOLATION":
		pair = []string{ViolationType, ViolationType} // every violation has one type
	case len(pair) == 0:
		pair = []string{Urgency, Urgency} // every case has one urgency: summing over it counts every case
	case len(pair) == 1 && unit == "VIOLATION" && pair[0] != ViolationType && pair[0] != ViolationCategory:
		// no case dimension with itself: with the type, summed over types
		pair = append(pair, ViolationType)
		slices.Sort(pair)
	case len(pair) == 1:
		pair = append(pair, pair[0])
	}
	col := func(dm string) string {
		switch dm {
		case Month:
			return "to_char(c.month, 'YYYY-MM')"
		case Institution:
			return "c.institution_code"
		case pair[0]:
			return "c.val_a"
		}
		return "c.val_b"
	}
	// The summary's rows of the pair, and what the cases still in the
	// queue change in them (stat_pending): the figures of this snapshot.
	dimA, dimB := a.Add(pair[0]), a.Add(pair[1])
	pending, only := "CASE", ""
	if unit != "" {
		pending = unit
	}
	unitArg := a.Add(pending)
	if unit != "" {
		only = " AND unit = " + unitArg
	}
	from := `(SELECT month, institution_code, val_a, val_b, n, k FROM ` + table + ` WHERE dim_a = ` + dimA + ` AND dim_b = ` + dimB + only + `
      UNION ALL
      SELECT month, institution_code, val_a, val_b, n, k FROM stat_pending(` + unitArg + `, ` + dimA + `, ` + dimB + `)) c`
	conds := []string{p.d.Where(authz.CaseSummary, a)}
	for dm, vals := range p.filters {
		conds = append(conds, col(dm)+" = ANY("+a.Add(pq.Array(vals))+")")
	}
	if !p.first.IsZero() {
		conds = append(conds, "c.month >= "+a.Add(p.first.Format(time.DateOnly)))
	}
	if !p.end.IsZero() {
		conds = append(conds, "c.month < "+a.Add(p.end.Format(time.DateOnly)))
	}
	var sel, names []string
	for i, dm := range dims {
		sel = append(sel, col(dm)+" AS d"+strconv.Itoa(i))
		names = append(names, "d"+strconv.Itoa(i))
	}
	q := `SELECT ` + strings.Join(append(sel, ""), ", ") + `COALESCE(sum(c.n), 0) AS n, (COALESCE(sum(c.k), 0) % 4294967296)::bigint AS k
FROM ` + from + `
WHERE ` + strings.Join(conds, " AND ")
	if len(names) > 0 {
		q += `
GROUP BY ` + strings.Join(names, ", ")
	}
	return q
}

// count counts dims by the plan, in tx's snapshot: the summary's whole
// months, the edges from the records and, for OVERDUE, the cases between
// the horizon and now.
func (p *plan) count(ctx context.Context, tx *sqlx.Tx, s *Service, dims []string) ([]counted, error) {
	var a postgres.Args
	q := p.sql(dims, &a)
	cells, err := s.count(ctx, tx, q, len(dims), a)
	if err != nil {
		return nil, err
	}
	parts := [][]counted{cells}
	for i, e := range append(append([][2]*time.Time(nil), p.edges...), p.minus...) {
		edge := *p.in
		edge.From, edge.To = e[0], e[1]
		var ea postgres.Args
		w, err := where(p.d, s.catalog, p.m, &edge, &ea)
		if err != nil {
			return nil, err
		}
		c, err := s.count(ctx, tx, query(p.m, dims, w), len(dims), ea)
		if err != nil {
			return nil, err
		}
		if i >= len(p.edges) {
			negate(c)
		}
		parts = append(parts, c)
	}
	if slices.Contains(dims, Overdue) {
		plus, minus, err := p.overdue(ctx, tx, s, dims)
		if err != nil {
			return nil, err
		}
		negate(minus)
		parts = append(parts, plus, minus)
	}
	return merge(len(dims), parts...), nil
}

// overdue counts, over the summary's whole months, the cases not closed
// whose deadline lies between the horizon and now: plus as they are now,
// minus as the summary counted them (against the horizon).
func (p *plan) overdue(ctx context.Context, tx *sqlx.Tx, s *Service, dims []string) (plus, minus []counted, err error) {
	var horizon time.Time
	if err := tx.GetContext(ctx, &horizon, `SELECT at FROM stat_horizon`); err != nil {
		return nil, nil, postgres.MapError(err)
	}
	whole := *p.in
	whole.From, whole.To = nil, nil
	if !p.first.IsZero() {
		whole.From = &p.first
	}
	if !p.end.IsZero() {
		last := p.end.AddDate(0, 0, -1)
		whole.To = &last
	}
	for _, at := range []string{"now()", "h"} {
		var a postgres.Args
		w, err := where(p.d, s.catalog, p.m, &whole, &a)
		if err != nil {
			return nil, nil, err
		}
		h := a.Add(horizon)
		w += " AND c.status <> 'CLOSED' AND c.due_at >= least(" + h + "::timestamptz, now()) AND c.due_at < greatest(" + h + "::timestamptz, now())"
		m := p.m
		if at == "h" {
			m = m.overdueAt(h + "::timestamptz")
		}
		c, err := s.count(ctx, tx, query(m, dims, w), len(dims), a)
		if err != nil {
			return nil, nil, err
		}
		if at == "h" {
			minus = c
		} else {
			plus = c
		}
	}
	return plus, minus, nil
}

// built reports whether the summary is built, in tx's snapshot: until it
// is, tables count the records.
func built(ctx context.Context, tx *sqlx.Tx) (bool, error) {
	var b bool
	if err := tx.GetContext(ctx, &b, `SELECT built FROM stat_build`); err != nil {
		return false, postgres.MapError(err)
	}
	return b, nil
}

// negate makes counts to take away.
func negate(cs []counted) {
	for i := range cs {
		cs[i].c = Count{N: -cs[i].c.N, Key: -cs[i].c.Key}
	}
}

// merge adds up counts of the same dimension values; combinations left
// with no record are dropped, as a count of the records would not have
// them.
func merge(nDims int, parts ...[]counted) []counted {
	idx := map[string]int{}
	var out []counted
	for _, part := range parts {
		for _, c := range part {
			var k strings.Builder
			for _, d := range c.dims[:nDims] {
				k.WriteString(d.String)
				k.WriteByte(0)
			}
			if i, ok := idx[k.String()]; ok {
				out[i].c = out[i].c.add(c.c)
				continue
			}
			idx[k.String()] = len(out)
			out = append(out, c)
		}
	}
	return slices.DeleteFunc(out, func(c counted) bool { return c.c.N == 0 })
}

// onlyScopes reports whether d holds no scope but those given.
func onlyScopes(d *authz.Decision, allowed ...authz.Scope) bool {
	for sc, held := range d.Scopes {
		if held && !slices.Contains(allowed, sc) {
			return false
		}
	}
	return true
}

// summaryFilters maps the filter to summary dimensions and their values;
// false when it filters by something the summary does not hold (for cases,
// a violation filter means "has a violation of", which no unit counts).
func summaryFilters(m *measure, f *casefile.Filter, department func(string) (string, bool)) (map[string][]string, bool) {
	out := map[string][]string{}
	if f == nil {
		return out, true
	}
	if f.Reference != nil || f.AssignedToMe != nil || f.CreatedAfter != nil || f.CreatedBefore != nil || f.Overdue != nil || f.Unassigned != nil {
		return nil, false
	}
	if m.name != Violations && (len(f.ViolationTypes) > 0 || len(f.ViolationCategories) > 0) {
		return nil, false
	}
	add := func(dm string, vals []string) {
		if len(vals) > 0 {
			out[dm] = vals
		}
	}
	var deps []string
	for _, dep := range f.Departments {
		code, ok := department(dep)
		if !ok {
			return nil, false // the base path names the field at fault
		}
		deps = append(deps, code)
	}
	add(Department, deps)
	add(EntryPoint, f.EntryPoints)
	add(Urgency, strs(f.Urgency))
	add(Status, f.Status)
	add(AgeBand, strs(f.AgeBands))
	add(PopulationStatus, strs(f.PopulationStatus))
	add(CareStatus, strs(f.CareStatus))
	add(ViolationType, f.ViolationTypes)
	add(ViolationCategory, f.ViolationCategories)
	return out, true
}
