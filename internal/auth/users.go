package auth

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/google/uuid"
	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"amparo/internal/apperr"
)

// Users finds the principal behind a token subject. It reads the database on
// every request, without a cache, so that a disabled user or a revoked role
// stops working with the next request.
type Users struct {
	db *sqlx.DB
}

// NewUsers returns a Users over db.
func NewUsers(db *sqlx.DB) *Users { return &Users{db: db} }

// BySubject returns the enabled user whose identity-provider subject is sub,
// with the roles held in their own domain.
//
// Errors: UNAUTHENTICATED when no enabled user has that subject;
// UNAVAILABLE when the database cannot be reached.
func (u *Users) BySubject(ctx context.Context, sub string) (*Principal, error) {
	const q = `
SELECT u.id, u.email, u.display_name, coalesce(u.institution_code, '') AS institution,
  coalesce(array_agg(g.role ORDER BY g.role) FILTER (WHERE g.role IS NOT NULL), '{}') AS roles
FROM users u
LEFT JOIN role_grants g ON g.user_id = u.id AND g.domain = coalesce(u.institution_code, 'system')
WHERE u.subject = $1 AND u.disabled_at IS NULL
GROUP BY u.id`
	var r struct {
		ID          uuid.UUID      `db:"id"`
		Email       string         `db:"email"`
		Name        string         `db:"display_name"`
		Institution string         `db:"institution"`
		Roles       pq.StringArray `db:"roles"`
	}
	err := u.db.GetContext(ctx, &r, q, sub)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, apperr.New(apperr.Unauthenticated, "usuario desconocido o deshabilitado", "unknown or disabled user")
	}
	if err != nil {
		return nil, &apperr.Error{Op: "auth.BySubject", Kind: apperr.Unavailable, Err: fmt.Errorf("user lookup: %w", err)}
	}
	return &Principal{UserID: r.ID, Email: r.Email, Name: r.Name, Institution: r.Institution, Roles: r.Roles}, nil
}
