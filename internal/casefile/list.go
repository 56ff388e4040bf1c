package casefile

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"amparo/internal/apperr"
	"amparo/internal/authz"
	"amparo/internal/child"
	"amparo/internal/page"
	"amparo/internal/postgres"
)

// Filter narrows a list of cases. Empty fields do not filter. Filters only
// ever narrow the caller's scope: they cannot reach a record outside it.
type Filter struct {
	Reference           *string
	Status              []string
	Urgency             []Urgency
	ViolationTypes      []string
	ViolationCategories []string
	Departments         []string
	EntryPoints         []string
	AgeBands            []child.AgeBand
	PopulationStatus    []child.PopulationStatus
	CareStatus          []child.CareStatus
	CreatedAfter        *time.Time
	CreatedBefore       *time.Time
	// Overdue: the current step's deadline has passed (it clears when the
	// step is done and the next one's deadline is set).
	Overdue      *bool
	AssignedToMe *bool
	// Unassigned: nobody is assigned to the case (the queue).
	Unassigned *bool
}

// Page is one page of cases.
type Page = page.Of[*Case]

// ListOption changes what List reads of each case.
type ListOption func(*listOptions)

type listOptions struct{ sealed bool }

// WithoutNarratives leaves each case's summary and its violations'
// descriptions empty, for a page that shows neither: List then reads no
// data key and opens nothing.
func WithoutNarratives() ListOption { return func(o *listOptions) { o.sealed = true } }

// List returns the cases the caller may read, newest first: the page
// pg asks for.
//
// Errors: UNAUTHENTICATED; FORBIDDEN without case:read; BAD_USER_INPUT for
// an unknown code in the filter, a bad cursor or page size; UNAVAILABLE.
func (s *Service) List(ctx context.Context, f Filter, pg page.Args, opts ...ListOption) (*Page, error) {
	const op = "casefile.List"
	d, err := s.guard.Check(ctx, PermRead, authz.Any)
	if err != nil {
		return nil, apperr.Wrap(op, err)
	}
	req, err := page.NewRequest(pg)
	if err != nil {
		return nil, apperr.Wrap(op, err)
	}
	var a args
	where, err := s.filterWhere(d, &f, &a)
	if err != nil {
		return nil, apperr.Wrap(op, err)
	}
	list := postgres.List{From: "cases c JOIN children ch ON ch.id = c.child_id", Where: where, Args: a, Key: []string{"c.created_at", "c.id"}}
	sel, err := postgres.Seek(ctx, s.db, list, req, page.Cursor.Key)
	if err != nil {
		return nil, apperr.Wrap(op, err)
	}
	var o listOptions
	for _, opt := range opts {
		opt(&o)
	}
	rows := make([]caseRow, 0, req.Size+1) // sqlx appends: no regrowing
	// Prepared: a page's text varies only with the filters used and the
	// page size (a few hundred texts at most; Statements runs others
	// unprepared), and its plan, an index walk in the page's order, does
	// not depend on the values (README, "At the size of a country").
	columns := caseColumns
	if o.sealed {
		columns = caseColumnsUnsealed
	}
	if err := sqlx.SelectContext(ctx, s.stmts, &rows, `SELECT`+columns+sel.Tail, sel.Args...); err != nil {
		return nil, apperr.Wrap(op, postgres.MapError(err))
	}
	cases := make([]*Case, len(rows))
	for i := range rows {
		cases[i] = rows[i].toCase()
	}
	out := page.Cut(req, cases, sel.Behind, func(c *Case) string { return page.Cursor{At: c.CreatedAt, ID: c.ID}.String() })
	out.Count = sel.Count
	// Prepared: the texts of the violations' and the data keys' reads do
	// not vary.
	vault := s.keys.Vault
	if o.sealed {
		vault = nil
	}
	if err := loadViolations(ctx, s.stmts, vault, out.Items); err != nil {
		return nil, apperr.Wrap(op, postgres.MapError(err))
	}
	return &out, nil
}

// filterWhere is the scope predicate ANDed with the filter's conditions.
func (s *Service) filterWhere(d *authz.Decision, f *Filter, a *args) (string, error) {
	p := d.Principal
	conds := []string{d.Where(authz.Case, a)}
	var v apperr.Validation
	in := func(col string, vals []string) {
		switch {
		case len(vals) == 1:
			// An equality, not = ANY of one: PostgreSQL walks an index
			// led by col in the page's order only for an equality
			// (migration 00081).
			conds = append(conds, col+" = "+a.Add(vals[0]))
		case len(vals) > 1:
			conds = append(conds, col+" = ANY("+a.Add(pq.Array(vals))+")")
		}
	}
	if f.Reference != nil {
		conds = append(conds, "c.reference = "+a.Add(strings.ToUpper(strings.TrimSpace(*f.Reference))))
	}
	in("c.status", f.Status)
	in("c.urgency", strs(f.Urgency))
	deps := make([]string, 0, len(f.Departments))
	for i, d := range f.Departments {
		if dep, ok := s.catalog.Department(d); ok {
			deps = append(deps, dep.Code)
		} else {
			v.Add(fmt.Sprintf("filter.departments[%d]", i), "departamento desconocido: use GT-01 a GT-22 (consulta departments)", "unknown department: use GT-01 to GT-22 (departments query)")
		}
	}
	in("c.department_code", deps)
	for i, e := range f.EntryPoints {
		if _, ok := s.catalog.EntryPoint(e); !ok {
			v.Add(fmt.Sprintf("filter.entryPoints[%d]", i), "punto de entrada desconocido: los válidos están en la consulta entryPoints", "unknown entry point: the valid ones are in the entryPoints query")
		}
	}
	in("c.entry_point_code", f.EntryPoints)
	types := append([]string(nil), f.ViolationTypes...)
	for i, t := range f.ViolationTypes {
		if _, ok := s.catalog.ViolationType(t); !ok {
			v.Add(fmt.Sprintf("filter.violationTypes[%d]", i), "tipo de vulneración desconocido: los válidos están en la consulta violationTypes", "unknown violation type: the valid ones are in the violationTypes query")
		}
	}
	if len(f.ViolationTypes) > 0 {
		conds = append(conds, "EXISTS (SELECT 1 FROM case_violations cv WHERE cv.case_id = c.id AND cv.type_code = ANY("+a.Add(pq.Array(types))+"))")
	}
	if len(f.ViolationCategories) > 0 {
		for i, cat := range f.ViolationCategories {
			if _, ok := s.catalog.Category(cat); !ok {
				v.Add(fmt.Sprintf("filter.violationCategories[%d]", i), "categoría desconocida: las válidas están en la consulta violationCategories", "unknown category: the valid ones are in the violationCategories query")
			}
		}
		inCats := s.catalog.TypesInCategories(f.ViolationCategories)
		conds = append(conds, "EXISTS (SELECT 1 FROM case_violations cv WHERE cv.case_id = c.id AND cv.type_code = ANY("+a.Add(pq.Array(inCats))+"))")
	}
	in("ch.age_band", strs(f.AgeBands))
	in("ch.population_status", strs(f.PopulationStatus))
	in("ch.care_status", strs(f.CareStatus))
	if f.CreatedAfter != nil {
		conds = append(conds, "c.created_at >= "+a.Add(*f.CreatedAfter))
	}
	if f.CreatedBefore != nil {
		conds = append(conds, "c.created_at < "+a.Add(*f.CreatedBefore))
	}
	if f.Overdue != nil {
		// Overdue: the deadline of the step the case is at has passed. A
		// closed case has no deadline.
		cond := "(c.due_at IS NOT NULL AND c.due_at < " + a.Add(s.now()) + ")"
		if !*f.Overdue {
			cond = "NOT " + cond
		}
		conds = append(conds, cond)
	}
	if f.AssignedToMe != nil {
		if *f.AssignedToMe {
			conds = append(conds, "c.assigned_to = "+a.Add(p.UserID))
		} else {
			conds = append(conds, "c.assigned_to IS DISTINCT FROM "+a.Add(p.UserID))
		}
	}
	if f.Unassigned != nil {
		if *f.Unassigned {
			conds = append(conds, "c.assigned_to IS NULL")
		} else {
			conds = append(conds, "c.assigned_to IS NOT NULL")
		}
	}
	return strings.Join(conds, " AND "), v.Err()
}

func strs[T ~string](vals []T) []string {
	out := make([]string, len(vals))
	for i, v := range vals {
		out[i] = string(v)
	}
	return out
}
