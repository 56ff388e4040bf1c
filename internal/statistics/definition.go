package statistics

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"amparo/internal/apperr"
	"amparo/internal/authz"
	"amparo/internal/casefile"
)

// Measures: what a table counts.
const (
	Cases      = "CASES"
	Complaints = "COMPLAINTS"
	Violations = "VIOLATIONS" // violations recorded in cases, one per case and type
	Referrals  = "REFERRALS"
)

// Dimensions: what a table's rows and columns are.
const (
	ViolationCategory    = "VIOLATION_CATEGORY"
	ViolationType        = "VIOLATION_TYPE"
	Department           = "DEPARTMENT"
	AgeBand              = "AGE_BAND"
	Sex                  = "SEX"
	Nationality          = "NATIONALITY"
	PopulationStatus     = "POPULATION_STATUS"
	CareStatus           = "CARE_STATUS"
	Urgency              = "URGENCY"
	Status               = "STATUS"
	Month                = "MONTH"
	Institution          = "INSTITUTION" // the owning institution; for referrals, the referring one
	EntryPoint           = "ENTRY_POINT"
	Overdue              = "OVERDUE"               // OVERDUE (the current step's deadline has passed), ON_TIME or CLOSED
	ReceivingInstitution = "RECEIVING_INSTITUTION" // referrals: the institution referred to
	ResponseTime         = "RESPONSE_TIME"         // referrals: how long the answer took
	ReferralService      = "SERVICE"               // referrals: a service asked for (a referral may ask for several)
	ReferralKind         = "KIND"                  // referrals: REFERRAL or TRANSFER
)

// Unknown is the key of a record that has no value for a dimension (a case
// without an entry point, a complaint without a child).
const Unknown = "UNKNOWN"

// Limits of a table definition.
const (
	MaxRows    = 2 // dimensions in rows
	MaxColumns = 2 // dimensions in columns
	MaxDims    = 3 // in all
	// MaxPeriod is the longest period a table may span.
	MaxPeriod = 20 * 366 * 24 * time.Hour
)

// Input defines a table: a measure counted over the rows (one or two
// dimensions) and optional columns, in a period of filing (from and to
// inclusive, dates in Guatemala), narrowed by a case filter.
type Input struct {
	Measure string
	Rows    []string
	Columns []string
	From    *time.Time
	To      *time.Time
	Filter  *casefile.Filter
}

// dims are the table's dimensions, rows first.
func (in *Input) dims() []string { return append(append([]string(nil), in.Rows...), in.Columns...) }

// validate checks the definition against what m can count, naming each
// wrong field.
func (in *Input) validate(m *measure) error {
	var v apperr.Validation
	if m == nil {
		v.Add("measure", "medida desconocida: use CASES, COMPLAINTS, VIOLATIONS o REFERRALS",
			"unknown measure: use CASES, COMPLAINTS, VIOLATIONS or REFERRALS")
		return v.Err()
	}
	if len(in.Rows) == 0 || len(in.Rows) > MaxRows {
		v.Add("rows", fmt.Sprintf("indique de 1 a %d dimensiones en filas", MaxRows),
			fmt.Sprintf("give 1 to %d dimensions in rows", MaxRows))
	}
	if len(in.Columns) > MaxColumns {
		v.Add("columns", fmt.Sprintf("como máximo %d dimensiones en columnas", MaxColumns),
			fmt.Sprintf("at most %d dimensions in columns", MaxColumns))
	}
	if len(in.Rows)+len(in.Columns) > MaxDims {
		v.Add("columns", fmt.Sprintf("como máximo %d dimensiones en total", MaxDims),
			fmt.Sprintf("at most %d dimensions in all", MaxDims))
	}
	seen := map[string]bool{}
	check := func(field string, list []string) {
		for i, d := range list {
			f := fmt.Sprintf("%s[%d]", field, i)
			if _, ok := m.dims[d]; !ok {
				v.Add(f, "dimensión desconocida o que no aplica a "+m.name, "unknown dimension, or one that does not apply to "+m.name)
			} else if seen[d] {
				v.Add(f, "dimensión repetida", "dimension given twice")
			}
			seen[d] = true
		}
	}
	check("rows", in.Rows)
	check("columns", in.Columns)
	if in.From != nil && in.To != nil {
		if in.To.Before(*in.From) {
			v.Add("to", "la fecha final es anterior a la inicial", "to is before from")
		} else if in.To.Sub(*in.From) > MaxPeriod {
			v.Add("to", "periodo demasiado largo (máximo 20 años)", "period too long (at most 20 years)")
		}
	}
	return v.Err()
}

// codes is the table definition as the audit trail keeps it: codes only.
func (in *Input) codes() map[string]any {
	c := map[string]any{"measure": in.Measure, "rows": in.Rows, "columns": nonNil(in.Columns)}
	if in.From != nil {
		c["from"] = in.From.Format(time.DateOnly)
	}
	if in.To != nil {
		c["to"] = in.To.Format(time.DateOnly)
	}
	if f := filterCodes(in.Filter); len(f) > 0 {
		c["filter"] = f
	}
	return c
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// filterCodes lists the filter's fields that are set, as codes.
func filterCodes(f *casefile.Filter) map[string]any {
	out := map[string]any{}
	if f == nil {
		return out
	}
	add := func(k string, v []string) {
		if len(v) > 0 {
			out[k] = v
		}
	}
	add("status", f.Status)
	add("urgency", strs(f.Urgency))
	add("violationTypes", f.ViolationTypes)
	add("violationCategories", f.ViolationCategories)
	add("departments", f.Departments)
	add("entryPoints", f.EntryPoints)
	add("ageBands", strs(f.AgeBands))
	add("populationStatus", strs(f.PopulationStatus))
	add("careStatus", strs(f.CareStatus))
	if f.CreatedAfter != nil {
		out["createdAfter"] = f.CreatedAfter.UTC().Format(time.RFC3339)
	}
	if f.CreatedBefore != nil {
		out["createdBefore"] = f.CreatedBefore.UTC().Format(time.RFC3339)
	}
	if f.Overdue != nil {
		out["overdue"] = *f.Overdue
	}
	if f.Unassigned != nil {
		out["unassigned"] = *f.Unassigned
	}
	return out
}

func strs[T ~string](vals []T) []string {
	out := make([]string, len(vals))
	for i, v := range vals {
		out[i] = string(v)
	}
	return out
}

// dim is how a measure reaches one dimension.
type dim struct {
	expr  string // SQL over the measure's aliases and joins, never NULL
	join  string // join needed for expr, "" for none
	multi bool   // a record may have several values (a case's violations)
}

// measure is what one measure counts, and over which SQL.
type measure struct {
	name string
	from string      // FROM clause with the aliases the scope needs
	kind *authz.Kind // whose scope narrows it (its aliases are in from)
	id   string      // the counted record's id
	key  string      // the counted record's record key
	at   string      // when the record was filed (periods, MONTH)
	dims map[string]dim
	// filters maps a filter field to its column; a field not listed does
	// not apply to the measure.
	filters map[string]string
}

// The SQL expressions shared by measures. Joins are written so that every
// one may appear at most once in a query; they are added in a fixed order.
const (
	joinChild = "JOIN children ch ON ch.id = c.child_id"
	// A case without violations is in no table by violation.
	joinCaseViolations = "JOIN case_violations cv ON cv.case_id = c.id JOIN violation_types vt ON vt.code = cv.type_code"
	joinKViolations    = "LEFT JOIN complaint_violations kv ON kv.complaint_id = k.id LEFT JOIN violation_types vt ON vt.code = kv.type_code"
	joinKChildren      = "LEFT JOIN complaint_children kc ON kc.complaint_id = k.id LEFT JOIN children ch ON ch.id = kc.child_id"
	joinServices       = "LEFT JOIN LATERAL unnest(r.services) AS rs(service) ON true"
	// overdue: the current step's deadline has passed on a case not closed.
	overdueExpr = "CASE WHEN c.status = 'CLOSED' THEN 'CLOSED' WHEN c.due_at < now() THEN 'OVERDUE' ELSE 'ON_TIME' END"
)

// overdueAt is m with OVERDUE reckoned at the instant of the SQL expression
// at instead of now (the summary's horizon).
func (m *measure) overdueAt(at string) *measure {
	c := *m
	c.dims = make(map[string]dim, len(m.dims))
	for k, v := range m.dims {
		c.dims[k] = v
	}
	d := c.dims[Overdue]
	d.expr = strings.Replace(overdueExpr, "now()", at, 1)
	c.dims[Overdue] = d
	return &c
}

func monthOf(at string) string {
	return "to_char(" + at + " AT TIME ZONE 'America/Guatemala', 'YYYY-MM')"
}

func coalesce(expr string) string { return "COALESCE(" + expr + ", '" + Unknown + "')" }

// childDims are the dimensions of the child, through join.
func childDims(join string, multi bool) map[string]dim {
	return map[string]dim{
		AgeBand:          {expr: coalesce("ch.age_band"), join: join, multi: multi},
		Sex:              {expr: coalesce("ch.sex"), join: join, multi: multi},
		Nationality:      {expr: coalesce("ch.nationality"), join: join, multi: multi},
		PopulationStatus: {expr: coalesce("ch.population_status"), join: join, multi: multi},
		CareStatus:       {expr: coalesce("ch.care_status"), join: join, multi: multi},
	}
}

// caseDims are the dimensions of a case, aliased c, for measures that
// count cases or what hangs from them.
func caseDims(violationsMulti bool) map[string]dim {
	d := childDims(joinChild, false)
	vjoin := joinCaseViolations
	if !violationsMulti {
		vjoin = "JOIN violation_types vt ON vt.code = cv.type_code"
	}
	d[ViolationCategory] = dim{expr: coalesce("vt.category_code"), join: vjoin, multi: violationsMulti}
	d[ViolationType] = dim{expr: coalesce("vt.code"), join: vjoin, multi: violationsMulti}
	d[Department] = dim{expr: "c.department_code"}
	d[Urgency] = dim{expr: "c.urgency"}
	d[Status] = dim{expr: "c.status"}
	d[Institution] = dim{expr: "c.institution_code"}
	d[EntryPoint] = dim{expr: coalesce("c.entry_point_code")}
	d[Overdue] = dim{expr: overdueExpr}
	return d
}

// caseFilters are the filter fields over a case, aliased c, with its child.
var caseFilters = map[string]string{
	"status": "c.status", "urgency": "c.urgency", "departments": "c.department_code",
	"entryPoints": "c.entry_point_code", "ageBands": "ch.age_band", "populationStatus": "ch.population_status",
	"careStatus": "ch.care_status", "violations": "case", "createdAt": "c.created_at", "overdue": overdueExpr,
	"unassigned": "c.assigned_to",
}

var measures = func() map[string]*measure {
	cases := &measure{name: Cases, from: "cases c", kind: authz.Case, id: "c.id", key: "c.record_key", at: "c.created_at",
		dims: caseDims(true), filters: caseFilters}
	cases.dims[Month] = dim{expr: monthOf(cases.at)}

	violations := &measure{name: Violations, from: "case_violations cv JOIN cases c ON c.id = cv.case_id", kind: authz.Case,
		id: "(cv.case_id, cv.position)", key: "cv.record_key", at: "c.created_at", dims: caseDims(false), filters: withFilter(caseFilters, "violations", "row")}
	violations.dims[Month] = dim{expr: monthOf(violations.at)}

	complaints := &measure{name: Complaints, from: "complaints k", kind: authz.Complaint, id: "k.id", key: "k.record_key",
		at: "k.submitted_at", dims: childDims(joinKChildren, true), filters: map[string]string{
			"status": "k.status", "departments": "k.department_code", "entryPoints": "k.entry_point_code",
			"ageBands": "complaint", "populationStatus": "complaint", "careStatus": "complaint",
			"violations": "complaint", "createdAt": "k.submitted_at",
		}}
	complaints.dims[ViolationCategory] = dim{expr: coalesce("vt.category_code"), join: joinKViolations, multi: true}
	complaints.dims[ViolationType] = dim{expr: coalesce("vt.code"), join: joinKViolations, multi: true}
	complaints.dims[Department] = dim{expr: coalesce("k.department_code")}
	complaints.dims[EntryPoint] = dim{expr: coalesce("k.entry_point_code")}
	complaints.dims[Status] = dim{expr: "k.status"}
	complaints.dims[Institution] = dim{expr: "k.institution_code"}
	complaints.dims[Month] = dim{expr: monthOf(complaints.at)}

	referrals := &measure{name: Referrals, from: "referrals r JOIN cases c ON c.id = r.case_id", kind: authz.Case,
		id: "r.id", key: "r.record_key", at: "r.created_at", dims: caseDims(true), filters: caseFilters}
	referrals.dims[Month] = dim{expr: monthOf(referrals.at)}
	referrals.dims[Institution] = dim{expr: "r.from_institution"}
	referrals.dims[ReceivingInstitution] = dim{expr: "r.to_institution"}
	referrals.dims[Status] = dim{expr: "r.status"}
	referrals.dims[ResponseTime] = dim{expr: responseTimeExpr}
	referrals.dims[ReferralService] = dim{expr: coalesce("rs.service"), join: joinServices, multi: true}
	referrals.dims[ReferralKind] = dim{expr: "r.kind"}
	referrals.dims[Urgency] = dim{expr: "r.urgency"} // the referral's own urgency
	return map[string]*measure{Cases: cases, Violations: violations, Complaints: complaints, Referrals: referrals}
}()

// withFilter is filters with field mapped to col.
func withFilter(filters map[string]string, field, col string) map[string]string {
	out := make(map[string]string, len(filters))
	for k, v := range filters {
		out[k] = v
	}
	out[field] = col
	return out
}

// responseTimeExpr bands how long a referral waited for its answer.
const responseTimeExpr = `CASE
  WHEN r.responded_at IS NULL THEN 'NO_RESPONSE'
  WHEN r.responded_at - r.created_at <= interval '1 day' THEN 'WITHIN_1_DAY'
  WHEN r.responded_at - r.created_at <= interval '3 days' THEN 'WITHIN_3_DAYS'
  WHEN r.responded_at - r.created_at <= interval '7 days' THEN 'WITHIN_7_DAYS'
  ELSE 'OVER_7_DAYS' END`

// joinOrder is the order in which joins are written (a join may use the
// aliases of those before it).
var joinOrder = []string{joinChild, joinCaseViolations, "JOIN violation_types vt ON vt.code = cv.type_code", joinKViolations, joinKChildren, joinServices}

func orderJoins(js map[string]bool) []string {
	var out []string
	for _, j := range joinOrder {
		if js[j] {
			out = append(out, j)
		}
	}
	if len(out) != len(js) {
		panic("statistics: a join is missing from joinOrder")
	}
	return out
}

// Dimensions lists the dimensions measure m can use, sorted; nil for an
// unknown measure.
func Dimensions(m string) []string {
	def, ok := measures[m]
	if !ok {
		return nil
	}
	var out []string
	for d := range def.dims {
		out = append(out, d)
	}
	slices.Sort(out)
	return out
}
