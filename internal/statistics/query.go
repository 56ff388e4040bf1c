package statistics

import (
	"fmt"
	"strings"
	"time"

	"github.com/lib/pq"

	"amparo/internal/apperr"
	"amparo/internal/authz"
	"amparo/internal/casefile"
	"amparo/internal/child"
	"amparo/internal/postgres"
	"amparo/internal/reference"
)

// guatemala is the country's time: periods and months are reckoned in it.
var guatemala = child.Guatemala

// where is the scope of d over m, the filter and the period, ANDed.
func where(d *authz.Decision, cat *reference.Catalog, m *measure, in *Input, a *postgres.Args) (string, error) {
	conds := []string{d.Where(m.kind, a)}
	var v apperr.Validation
	f := in.Filter
	if f == nil {
		f = &casefile.Filter{}
	}
	field := func(name string) string { return "filter." + name }
	col := func(name string) (string, bool) {
		c, ok := m.filters[name]
		return c, ok
	}
	notApplicable := func(name string) {
		v.Add(field(name), "este filtro no aplica a "+m.name, "this filter does not apply to "+m.name)
	}
	in1 := func(name string, vals []string) {
		if len(vals) == 0 {
			return
		}
		c, ok := col(name)
		if !ok {
			notApplicable(name)
			return
		}
		switch c {
		case "complaint": // an attribute of the complaint's children
			conds = append(conds, "EXISTS (SELECT 1 FROM complaint_children kc2 JOIN children ch2 ON ch2.id = kc2.child_id WHERE kc2.complaint_id = k.id AND ch2."+
				childColumn(name)+" = ANY("+a.Add(pq.Array(vals))+"))")
		default:
			conds = append(conds, c+" = ANY("+a.Add(pq.Array(vals))+")")
		}
	}
	// A filter by one record's reference, or by who is assigned, is not a
	// statistic: refuse it rather than count one case.
	if f.Reference != nil {
		v.Add(field("reference"), "las estadísticas no se filtran por caso", "statistics are not filtered by case")
	}
	if f.AssignedToMe != nil {
		v.Add(field("assignedToMe"), "las estadísticas no se filtran por persona asignada", "statistics are not filtered by assignee")
	}
	in1("status", f.Status)
	in1("urgency", strs(f.Urgency))
	for i, dep := range f.Departments {
		if _, ok := cat.Department(dep); !ok {
			v.Add(fmt.Sprintf("filter.departments[%d]", i), "departamento desconocido", "unknown department")
		}
	}
	deps := make([]string, 0, len(f.Departments))
	for _, dep := range f.Departments {
		if d, ok := cat.Department(dep); ok {
			deps = append(deps, d.Code)
		}
	}
	in1("departments", deps)
	for i, e := range f.EntryPoints {
		if _, ok := cat.EntryPoint(e); !ok {
			v.Add(fmt.Sprintf("filter.entryPoints[%d]", i), "punto de entrada desconocido", "unknown entry point")
		}
	}
	in1("entryPoints", f.EntryPoints)
	in1("ageBands", strs(f.AgeBands))
	in1("populationStatus", strs(f.PopulationStatus))
	in1("careStatus", strs(f.CareStatus))
	var types []string
	for i, t := range f.ViolationTypes {
		if _, ok := cat.ViolationType(t); !ok {
			v.Add(fmt.Sprintf("filter.violationTypes[%d]", i), "tipo de vulneración desconocido", "unknown violation type")
		}
		types = append(types, t)
	}
	for i, c := range f.ViolationCategories {
		if _, ok := cat.Category(c); !ok {
			v.Add(fmt.Sprintf("filter.violationCategories[%d]", i), "categoría desconocida", "unknown category")
		}
	}
	violationCond := func(name string, codes []string) {
		switch c, _ := col("violations"); c {
		case "case":
			conds = append(conds, "EXISTS (SELECT 1 FROM case_violations cv2 WHERE cv2.case_id = c.id AND cv2.type_code = ANY("+a.Add(pq.Array(codes))+"))")
		case "row":
			conds = append(conds, "cv.type_code = ANY("+a.Add(pq.Array(codes))+")")
		case "complaint":
			conds = append(conds, "EXISTS (SELECT 1 FROM complaint_violations kv2 WHERE kv2.complaint_id = k.id AND kv2.type_code = ANY("+a.Add(pq.Array(codes))+"))")
		default:
			notApplicable(name)
		}
	}
	if len(f.ViolationTypes) > 0 {
		violationCond("violationTypes", types)
	}
	if len(f.ViolationCategories) > 0 {
		violationCond("violationCategories", cat.TypesInCategories(f.ViolationCategories))
	}
	at := m.at
	if f.CreatedAfter != nil {
		conds = append(conds, at+" >= "+a.Add(*f.CreatedAfter))
	}
	if f.CreatedBefore != nil {
		conds = append(conds, at+" < "+a.Add(*f.CreatedBefore))
	}
	if f.Overdue != nil {
		c, ok := col("overdue")
		if !ok {
			notApplicable("overdue")
		} else {
			op := map[bool]string{true: " = ", false: " <> "}[*f.Overdue]
			conds = append(conds, "("+c+")"+op+"'OVERDUE'")
		}
	}
	if f.Unassigned != nil {
		if c, ok := col("unassigned"); !ok {
			notApplicable("unassigned")
		} else if *f.Unassigned {
			conds = append(conds, c+" IS NULL")
		} else {
			conds = append(conds, c+" IS NOT NULL")
		}
	}
	if in.From != nil {
		conds = append(conds, at+" >= "+a.Add(dayStart(*in.From)))
	}
	if in.To != nil {
		conds = append(conds, at+" < "+a.Add(dayStart(*in.To).AddDate(0, 0, 1)))
	}
	return strings.Join(conds, " AND "), v.Err()
}

// dayStart is the first instant of date's day in Guatemala.
func dayStart(date time.Time) time.Time {
	return time.Date(date.Year(), date.Month(), date.Day(), 0, 0, 0, 0, guatemala)
}

// childColumn is the children column of a child filter field.
func childColumn(field string) string {
	switch field {
	case "ageBands":
		return "age_band"
	case "populationStatus":
		return "population_status"
	default:
		return "care_status"
	}
}

// query is the SQL that counts over m by dims (none: one row for every
// record): one row per combination of values present, with the count and
// the cell key. Result columns: d0..dn, n, k.
//
// Margins are not grouping sets here: PostgreSQL aggregates GROUP BY in
// parallel but not GROUPING SETS, and margins along dimensions where each
// record has one value are sums of cells, keys included (the key of a
// union of disjoint cells is the sum of theirs modulo 2^32), which the
// caller adds up. Only margins over a dimension where a record may have
// several values (a case's violations) need a query of their own.
func query(m *measure, dims []string, whereSQL string) string {
	var sel, names []string
	joins := map[string]bool{}
	multi := false
	for i, d := range dims {
		def := m.dims[d]
		sel = append(sel, fmt.Sprintf("%s AS d%d", def.expr, i))
		names = append(names, fmt.Sprintf("d%d", i))
		if def.join != "" {
			joins[def.join] = true
		}
		multi = multi || def.multi
	}
	// The filter may name the child's columns: the join is then needed.
	if m.name != Complaints && strings.Contains(whereSQL, "ch.") {
		joins[joinChild] = true
	}
	from := m.from
	if js := orderJoins(joins); len(js) > 0 {
		from += " " + strings.Join(js, " ")
	}
	distinct := ""
	if multi {
		// A record reached through several values of a dimension counts
		// once in each value: one row per record and combination.
		distinct = "DISTINCT "
	}
	cols := append([]string{m.id + " AS id", m.key + " AS key"}, sel...)
	group := ""
	if len(names) > 0 {
		group = "GROUP BY " + strings.Join(names, ", ")
		names = append(names, "")
	}
	return `SELECT ` + strings.Join(names, ", ") + `count(*) AS n, (COALESCE(sum(f.key), 0) % 4294967296)::bigint AS k
FROM (SELECT ` + distinct + strings.Join(cols, ", ") + `
      FROM ` + from + `
      WHERE ` + whereSQL + `) f
` + group
}
