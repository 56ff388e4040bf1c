// Package user manages who may sign in and what they may do: users, their
// institution, and role grants. Only admins use it, and an admin reads no
// case content. Nobody grants a role to themselves, and every grant,
// revocation and disablement is audited and takes effect on every replica
// within a second (authz.Notify).
package user

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net/mail"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jmoiron/sqlx"

	"amparo/internal/apperr"
	"amparo/internal/audit"
	"amparo/internal/auth"
	"amparo/internal/authz"
	"amparo/internal/postgres"
	"amparo/internal/reference"
)

// PermManage is the permission to manage users and grants.
const PermManage = "user:manage"

// Roles that can be granted.
var roles = apperr.Set("intake", "officer", "supervisor", "oversight", "admin")

// User is an account.
type User struct {
	ID          uuid.UUID  `db:"id"`
	Email       string     `db:"email"`
	Name        string     `db:"display_name"`
	Institution *string    `db:"institution_code"`
	Subject     string     `db:"subject"`
	DisabledAt  *time.Time `db:"disabled_at"`
	CreatedAt   time.Time  `db:"created_at"`
	Roles       []string   `db:"-"`
}

// CreateInput is a new account.
type CreateInput struct {
	Email           string
	Name            string
	InstitutionCode *string // nil for a system (admin) account
	// Subject is the identity provider's "sub" for this person.
	Subject string
}

// GrantInput names a role for a user. The domain is the user's own
// institution, or "system" for admins.
type GrantInput struct {
	UserID uuid.UUID
	Role   string
}

// Service manages users.
type Service struct {
	db      *sqlx.DB
	authz   *authz.Authorizer // reloaded after a grant changes
	guard   *authz.Guard
	catalog *reference.Catalog
	log     *slog.Logger
	now     func() time.Time
}

// NewService returns a Service over db.
func NewService(db *sqlx.DB, az *authz.Authorizer, g *authz.Guard, cat *reference.Catalog, log *slog.Logger) *Service {
	return &Service{db: db, authz: az, guard: g, catalog: cat, log: log, now: time.Now}
}

// Create makes an account, without roles.
//
// Errors: UNAUTHENTICATED; FORBIDDEN without user:manage; BAD_USER_INPUT;
// CONFLICT when the email or subject is taken.
func (s *Service) Create(ctx context.Context, in CreateInput) (*User, error) {
	const op = "user.Create"
	if _, err := s.guard.Check(ctx, PermManage, authz.Any); err != nil {
		return nil, apperr.Wrap(op, err)
	}
	in.Email = strings.ToLower(strings.TrimSpace(in.Email))
	in.Name = strings.TrimSpace(in.Name)
	in.Subject = strings.TrimSpace(in.Subject)
	var v apperr.Validation
	if a, err := mail.ParseAddress(in.Email); err != nil || a.Address != in.Email || len(in.Email) > 254 {
		v.Add("email", "correo electrónico no válido", "invalid email address")
	}
	if in.Name == "" {
		v.Add("name", "el nombre es obligatorio", "the name is required")
	} else {
		v.Text("name", in.Name, 200)
	}
	if in.Subject == "" {
		v.Add("subject", "indique el sujeto (sub) del proveedor de identidad", "give the identity provider's subject (sub)")
	} else {
		v.Text("subject", in.Subject, 255)
	}
	if in.InstitutionCode != nil {
		if _, ok := s.catalog.Institution(*in.InstitutionCode); !ok {
			v.Add("institutionCode", "institución desconocida: las válidas están en la consulta institutions", "unknown institution: the valid ones are in the institutions query")
		}
	}
	if err := v.Err(); err != nil {
		return nil, apperr.Wrap(op, err)
	}
	u := &User{ID: uuid.New(), Email: in.Email, Name: in.Name, Institution: in.InstitutionCode, Subject: in.Subject,
		CreatedAt: s.now().UTC(), Roles: []string{}}
	err := postgres.WithTx(ctx, s.db, func(tx *sqlx.Tx) error {
		const q = `
INSERT INTO users (id, email, display_name, institution_code, subject, created_at)
VALUES (:id, :email, :display_name, :institution_code, :subject, :created_at)`
		if _, err := sqlx.NamedExecContext(ctx, tx, q, u); err != nil {
			if postgres.SQLState(err) == "23505" {
				return apperr.New(apperr.Conflict, "ya existe un usuario con ese correo o sujeto",
					"a user with that email or subject exists")
			}
			return fmt.Errorf("insert user: %w", err)
		}
		inst := ""
		if u.Institution != nil {
			inst = *u.Institution
		}
		return audit.Record(ctx, tx, audit.Event{Action: "user:create", ObjectType: "user", ObjectID: u.ID.String(),
			Details: map[string]any{"institution": inst}})
	})
	if err != nil {
		return nil, apperr.Wrap(op, err)
	}
	return u, nil
}

// Grant gives a user a role in their own domain.
//
// Errors: UNAUTHENTICATED; FORBIDDEN without user:manage or when granting
// to oneself; NOT_FOUND for an unknown user; BAD_USER_INPUT for an unknown
// role or one that does not fit the account (admin only for system
// accounts, and no institution role for them).
func (s *Service) Grant(ctx context.Context, in GrantInput) (*User, error) {
	return s.change(ctx, "user.Grant", "role:grant", in)
}

// Revoke takes a role away.
//
// Errors: as Grant.
func (s *Service) Revoke(ctx context.Context, in GrantInput) (*User, error) {
	return s.change(ctx, "user.Revoke", "role:revoke", in)
}

func (s *Service) change(ctx context.Context, op, action string, in GrantInput) (*User, error) {
	d, err := s.guard.Check(ctx, PermManage, authz.On(authz.User, in.UserID))
	if err != nil {
		return nil, apperr.Wrap(op, err)
	}
	p := d.Principal
	if in.UserID == p.UserID {
		return nil, s.guard.Refuse(ctx, action, authz.On(authz.User, in.UserID),
			&apperr.Error{Op: op, Kind: apperr.Forbidden, Msg: apperr.Text{
				ES: "nadie puede cambiar sus propios roles", EN: "nobody may change their own roles"}})
	}
	if !roles[in.Role] {
		return nil, &apperr.Error{Op: op, Kind: apperr.Invalid, Field: "role", Msg: apperr.Text{
			ES: "rol desconocido", EN: "unknown role"}}
	}
	err = postgres.WithTx(ctx, s.db, func(tx *sqlx.Tx) error {
		u, err := get(ctx, tx, in.UserID, true)
		if err != nil {
			return err
		}
		domain := auth.SystemDomain
		if u.Institution != nil {
			domain = *u.Institution
		}
		if (in.Role == "admin") != (domain == auth.SystemDomain) {
			return &apperr.Error{Kind: apperr.Invalid, Field: "role", Msg: apperr.Text{
				ES: "admin solo para cuentas del sistema; los demás roles solo para cuentas de una institución",
				EN: "admin only for system accounts; other roles only for accounts of an institution"}}
		}
		var res sql.Result
		if action == "role:grant" {
			res, err = tx.ExecContext(ctx, `INSERT INTO role_grants (user_id, role, domain, granted_by) VALUES ($1, $2, $3, $4)
				ON CONFLICT DO NOTHING`, in.UserID, in.Role, domain, p.UserID)
		} else {
			res, err = tx.ExecContext(ctx, `DELETE FROM role_grants WHERE user_id = $1 AND role = $2 AND domain = $3`,
				in.UserID, in.Role, domain)
		}
		if err != nil {
			return fmt.Errorf("%s: %w", action, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return nil // already so: nothing changed, nothing to record
		}
		if err := audit.Record(ctx, tx, audit.Event{Action: action, ObjectType: "user", ObjectID: in.UserID.String(),
			Details: map[string]any{"role": in.Role, "domain": domain}}); err != nil {
			return err
		}
		return authz.Notify(ctx, tx)
	})
	if err != nil {
		return nil, apperr.Wrap(op, err)
	}
	s.reload(ctx)
	return s.load(ctx, in.UserID)
}

// Disable stops a user from signing in, from their next request on.
//
// Errors: UNAUTHENTICATED; FORBIDDEN without user:manage or for oneself;
// NOT_FOUND for an unknown user.
func (s *Service) Disable(ctx context.Context, id uuid.UUID) (*User, error) {
	const op = "user.Disable"
	d, err := s.guard.Check(ctx, PermManage, authz.On(authz.User, id))
	if err != nil {
		return nil, apperr.Wrap(op, err)
	}
	if id == d.Principal.UserID {
		return nil, s.guard.Refuse(ctx, "user:disable", authz.On(authz.User, id),
			&apperr.Error{Op: op, Kind: apperr.Forbidden, Msg: apperr.Text{
				ES: "no puede deshabilitar su propia cuenta", EN: "you cannot disable your own account"}})
	}
	err = postgres.WithTx(ctx, s.db, func(tx *sqlx.Tx) error {
		u, err := get(ctx, tx, id, true)
		if err != nil {
			return err
		}
		if u.DisabledAt != nil {
			return nil
		}
		if _, err := tx.ExecContext(ctx, `UPDATE users SET disabled_at = $2 WHERE id = $1`, id, s.now().UTC()); err != nil {
			return fmt.Errorf("disable user: %w", err)
		}
		if err := audit.Record(ctx, tx, audit.Event{Action: "user:disable", ObjectType: "user", ObjectID: id.String()}); err != nil {
			return err
		}
		return authz.Notify(ctx, tx)
	})
	if err != nil {
		return nil, apperr.Wrap(op, err)
	}
	s.reload(ctx)
	return s.load(ctx, id)
}

// List returns every account, for admins.
//
// Errors: UNAUTHENTICATED; FORBIDDEN without user:manage.
func (s *Service) List(ctx context.Context) ([]*User, error) {
	if _, err := s.guard.Check(ctx, PermManage, authz.Any); err != nil {
		return nil, apperr.Wrap("user.List", err)
	}
	var users []*User
	if err := sqlx.SelectContext(ctx, s.db, &users, `SELECT id, email, display_name, institution_code, subject, disabled_at, created_at FROM users ORDER BY email`); err != nil {
		return nil, apperr.Wrap("user.List", postgres.MapError(err))
	}
	for _, u := range users {
		if err := loadRoles(ctx, s.db, u); err != nil {
			return nil, apperr.Wrap("user.List", postgres.MapError(err))
		}
	}
	return users, nil
}

// reload applies a committed change on this replica before answering, so
// that the admin's next request already sees it; other replicas hear of it
// by notification.
func (s *Service) reload(ctx context.Context) {
	if err := s.authz.Reload(); err != nil {
		s.log.ErrorContext(ctx, "authz reload after a grant change failed; the watcher retries", "err", err)
	}
}

func (s *Service) load(ctx context.Context, id uuid.UUID) (*User, error) {
	u, err := get(ctx, s.db, id, false)
	if err != nil {
		return nil, postgres.MapError(err)
	}
	return u, nil
}

func get(ctx context.Context, q sqlx.QueryerContext, id uuid.UUID, lock bool) (*User, error) {
	query := `SELECT id, email, display_name, institution_code, subject, disabled_at, created_at FROM users WHERE id = $1`
	if lock {
		query += " FOR UPDATE"
	}
	var u User
	if err := sqlx.GetContext(ctx, q, &u, query, id); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return nil, apperr.E(apperr.NotFound)
		}
		return nil, err
	}
	return &u, loadRoles(ctx, q, &u)
}

func loadRoles(ctx context.Context, q sqlx.QueryerContext, u *User) error {
	u.Roles = []string{}
	return sqlx.SelectContext(ctx, q, &u.Roles, `SELECT role FROM role_grants WHERE user_id = $1 ORDER BY role`, u.ID)
}
