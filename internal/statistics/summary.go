package statistics

import (
	"slices"
	"strings"
	"time"

	"github.com/lib/pq"

	"amparo/internal/authz"
	"amparo/internal/casefile"
	"amparo/internal/postgres"
)

// The summary (migrations/00051_statistics_summary.sql) holds, per month
// and institution, the count and key of cases for each pair of the case's
// single-valued dimensions. A table of cases whose dimensions and filters
// name at most two of those (plus MONTH and INSTITUTION), over whole
// months, is read from it: the same counts and keys as counting the cases,
// so the same figures, from a few thousand rows instead of every case.

// summaryDims are the dimensions the summary pairs, with the filter field
// that narrows each.
var summaryDims = map[string]string{
	Department: "departments", EntryPoint: "entryPoints", Urgency: "urgency", Status: "status",
	AgeBand: "ageBands", Sex: "", Nationality: "", PopulationStatus: "populationStatus", CareStatus: "careStatus",
}

// fromSummary returns the SQL of in over the summary, or "" when the
// summary cannot answer it. The result has the columns of query.
func fromSummary(d *authz.Decision, in *Input, department func(string) (string, bool), a *postgres.Args) string {
	if in.Measure != Cases || !onlyScopes(d, authz.All, authz.Institution) {
		return ""
	}
	if in.From != nil && in.From.Day() != 1 {
		return ""
	}
	if in.To != nil && in.To.AddDate(0, 0, 1).Day() != 1 {
		return ""
	}
	// The summary dimensions named by the table and by the filter.
	filters, ok := summaryFilters(in.Filter, department)
	if !ok {
		return ""
	}
	used := map[string]bool{}
	for _, dm := range in.dims() {
		if _, ok := summaryDims[dm]; ok {
			used[dm] = true
		} else if dm != Month && dm != Institution {
			return ""
		}
	}
	for dm := range filters {
		used[dm] = true
	}
	if len(used) > 2 {
		return ""
	}
	pair := make([]string, 0, 2)
	for dm := range used {
		pair = append(pair, dm)
	}
	slices.Sort(pair)
	switch len(pair) {
	case 0:
		pair = []string{Urgency, Urgency} // every case has one urgency: summing over it counts every case
	case 1:
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
	conds := []string{"c.dim_a = " + a.Add(pair[0]), "c.dim_b = " + a.Add(pair[1]), d.Where(authz.CaseSummary, a)}
	for dm, vals := range filters {
		conds = append(conds, col(dm)+" = ANY("+a.Add(pq.Array(vals))+")")
	}
	if in.From != nil {
		conds = append(conds, "c.month >= "+a.Add(in.From.Format(time.DateOnly)))
	}
	if in.To != nil {
		conds = append(conds, "c.month <= "+a.Add(in.To.Format(time.DateOnly)))
	}
	var sel, names []string
	for i, dm := range in.dims() {
		sel = append(sel, col(dm)+" AS d"+string(rune('0'+i)))
		names = append(names, "d"+string(rune('0'+i)))
	}
	q := `SELECT ` + strings.Join(append(sel, ""), ", ") + `sum(c.n) AS n, (COALESCE(sum(c.k), 0) % 4294967296)::bigint AS k
FROM stat_case_pairs c
WHERE ` + strings.Join(conds, " AND ")
	if len(names) > 0 {
		q += `
GROUP BY ` + strings.Join(names, ", ") + `
HAVING sum(c.n) > 0`
	}
	return q
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
// false when it filters by something the summary does not hold.
func summaryFilters(f *casefile.Filter, department func(string) (string, bool)) (map[string][]string, bool) {
	out := map[string][]string{}
	if f == nil {
		return out, true
	}
	if f.Reference != nil || f.AssignedToMe != nil || len(f.ViolationTypes) > 0 || len(f.ViolationCategories) > 0 ||
		f.CreatedAfter != nil || f.CreatedBefore != nil || f.Overdue != nil || f.Unassigned != nil {
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
	return out, true
}
