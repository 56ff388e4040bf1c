package user

import (
	"context"
	"fmt"
	"strings"

	"github.com/google/uuid"
	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"amparo/internal/apperr"
	"amparo/internal/auth"
	"amparo/internal/authz"
	"amparo/internal/page"
	"amparo/internal/postgres"
)

// PermStaffRead is the permission to see who works in one's institution
// (ids, emails and names), to assign a case to one of them.
const PermStaffRead = "staff:read"

// StaffQuery asks for the colleagues who hold one of Roles.
type StaffQuery struct {
	// Roles: an account holding any of them in its institution is listed.
	Roles []string
	// Search narrows the list to names or emails containing it (case and
	// accents as the database's collation compares them).
	Search string
	// First bounds the list (page.Default when nil, at most page.Max).
	First *int
}

// Staff is a bounded list of colleagues, by name.
type Staff struct {
	Members []*auth.Principal
	// More says that others match too: narrow the search to see them.
	More bool
}

// maxSearch bounds a search text.
const maxSearch = 100

// Staff lists the enabled accounts of the caller's institution that hold
// one of q.Roles there, by name then email: their ids, emails and names
// only. The list is capped at q.First (More says when others match). It
// is not audited: it reads no case and no child, as lists of accounts are
// not (only a refusal is, by the guard).
//
// Errors: UNAUTHENTICATED; FORBIDDEN without staff:read in institution
// scope (audited); BAD_USER_INPUT for an unknown role, a search over 100
// characters or first outside 0–100; UNAVAILABLE.
func (s *Service) Staff(ctx context.Context, q StaffQuery) (*Staff, error) {
	const op = "user.Staff"
	d, err := s.guard.Check(ctx, PermStaffRead, authz.WholeInstitution)
	if err != nil {
		return nil, apperr.Wrap(op, err)
	}
	var v apperr.Validation
	for _, r := range q.Roles {
		if !roles[r] {
			v.Add("roles", "rol desconocido", "unknown role")
			break
		}
	}
	q.Search = strings.TrimSpace(q.Search)
	v.Text("search", q.Search, maxSearch)
	if err := v.Err(); err != nil {
		return nil, apperr.Wrap(op, err)
	}
	n, err := page.Size("first", q.First)
	if err != nil {
		return nil, apperr.Wrap(op, err)
	}
	var a postgres.Args
	query := `SELECT u.id, u.email, u.display_name FROM users u
WHERE u.disabled_at IS NULL AND ` + d.Where(authz.Staff, &a) + `
  AND EXISTS (SELECT 1 FROM role_grants g WHERE g.user_id = u.id AND g.domain = u.institution_code AND g.role = ANY(` + a.Add(pq.Array(q.Roles)) + `::text[]))`
	if q.Search != "" {
		like := a.Add("%" + likeEscaper.Replace(q.Search) + "%")
		query += ` AND (u.display_name ILIKE ` + like + ` OR u.email ILIKE ` + like + `)`
	}
	query += fmt.Sprintf(` ORDER BY lower(u.display_name), u.email LIMIT %d`, n+1)
	var rows []struct {
		ID    uuid.UUID `db:"id"`
		Email string    `db:"email"`
		Name  string    `db:"display_name"`
	}
	if err := sqlx.SelectContext(ctx, s.db, &rows, query, a...); err != nil {
		return nil, apperr.Wrap(op, postgres.MapError(err))
	}
	out := &Staff{Members: []*auth.Principal{}, More: len(rows) > n}
	for _, r := range rows[:min(n, len(rows))] {
		out.Members = append(out.Members, &auth.Principal{UserID: r.ID, Email: r.Email, Name: r.Name})
	}
	return out, nil
}

// likeEscaper makes a search text match itself only in LIKE (whose
// default escape character is the backslash).
var likeEscaper = strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)
