package complaint

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"amparo/internal/apperr"
	"amparo/internal/authz"
	"amparo/internal/page"
	"amparo/internal/postgres"
)

// Filter narrows a list of complaints; filters only ever narrow the
// caller's scope.
type Filter struct {
	Status          []string
	Channel         []Channel
	ViolationTypes  []string
	Departments     []string
	EntryPoints     []string
	SubmittedAfter  *time.Time
	SubmittedBefore *time.Time
	Linked          *bool
	// Overdue: the current step is past its deadline.
	Overdue *bool
}

// Page is one page of complaints.
type Page = page.Of[*Complaint]

// List returns the complaints the caller may read, newest first: the page
// pg asks for.
//
// Errors: UNAUTHENTICATED; FORBIDDEN without complaint:read; BAD_USER_INPUT
// for a bad cursor, page size or code; UNAVAILABLE.
func (s *Service) List(ctx context.Context, f Filter, pg page.Args) (*Page, error) {
	const op = "complaint.List"
	d, err := s.guard.Check(ctx, PermRead, authz.Any)
	if err != nil {
		return nil, apperr.Wrap(op, err)
	}
	req, err := page.NewRequest(pg)
	if err != nil {
		return nil, apperr.Wrap(op, err)
	}
	var a args
	conds := []string{d.Where(authz.Complaint, &a)}
	in := func(col string, vals []string) {
		if len(vals) > 0 {
			conds = append(conds, col+" = ANY("+a.Add(pq.Array(vals))+")")
		}
	}
	var v apperr.Validation
	in("k.status", f.Status)
	channels := make([]string, len(f.Channel))
	for i, c := range f.Channel {
		channels[i] = string(c)
	}
	in("k.channel", channels)
	deps := []string{}
	for i, d := range f.Departments {
		if dep, ok := s.catalog.Department(d); ok {
			deps = append(deps, dep.Code)
		} else {
			v.Add(fmt.Sprintf("filter.departments[%d]", i), "departamento desconocido: use GT-01 a GT-22 (consulta departments)", "unknown department: use GT-01 to GT-22 (departments query)")
		}
	}
	in("k.department_code", deps)
	in("k.entry_point_code", f.EntryPoints)
	if len(f.ViolationTypes) > 0 {
		conds = append(conds, "EXISTS (SELECT 1 FROM complaint_violations v WHERE v.complaint_id = k.id AND v.type_code = ANY("+
			a.Add(pq.Array(f.ViolationTypes))+"))")
	}
	if f.SubmittedAfter != nil {
		conds = append(conds, "k.submitted_at >= "+a.Add(*f.SubmittedAfter))
	}
	if f.SubmittedBefore != nil {
		conds = append(conds, "k.submitted_at < "+a.Add(*f.SubmittedBefore))
	}
	if f.Linked != nil {
		if *f.Linked {
			conds = append(conds, "k.case_id IS NOT NULL")
		} else {
			conds = append(conds, "k.case_id IS NULL")
		}
	}
	if f.Overdue != nil {
		cond := "(k.due_at IS NOT NULL AND k.due_at < " + a.Add(s.now()) + ")"
		if !*f.Overdue {
			cond = "NOT " + cond
		}
		conds = append(conds, cond)
	}
	if err := v.Err(); err != nil {
		return nil, apperr.Wrap(op, err)
	}
	list := postgres.List{From: "complaints k", Where: strings.Join(conds, " AND "), Args: a, Key: []string{"k.submitted_at", "k.id"}}
	sel, err := postgres.Seek(ctx, s.db, list, req, page.Cursor.Key)
	if err != nil {
		return nil, apperr.Wrap(op, err)
	}
	var rows []row
	if err := sqlx.SelectContext(ctx, s.db, &rows, `SELECT`+columns+sel.Tail, sel.Args...); err != nil {
		return nil, apperr.Wrap(op, postgres.MapError(err))
	}
	items, err := open(ctx, s.db, s.keys.Vault, rows)
	if err != nil {
		return nil, apperr.Wrap(op, postgres.MapError(err))
	}
	out := page.Cut(req, items, sel.Behind, func(c *Complaint) string {
		return page.Cursor{At: c.SubmittedAt, ID: c.ID}.String()
	})
	out.Count = sel.Count
	return &out, nil
}
