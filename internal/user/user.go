// Package user manages who may sign in and what they may do: users, their
// institution, and role grants. Only admins use it, and an admin reads no
// case content. Nobody grants a role to themselves, and every grant,
// revocation and disablement is audited and takes effect on every replica
// within a second (authz.Notify).
//
// Duties are separated: a role fits only the kind of institution it is for
// (oversight only in a body that oversees, by the institutions' reference
// data), and a role that reads children's identities is granted by two
// admins, one who asks (Grant) and another who approves (Approve).
package user

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net/mail"
	"slices"
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
	// Pending are grants asked for and awaiting a second admin.
	Pending []Pending `db:"-"`
}

// Pending is a grant waiting for approval.
type Pending struct {
	Role        string    `db:"role"`
	RequestedBy uuid.UUID `db:"requested_by"`
	RequestedAt time.Time `db:"requested_at"`
}

// identityPerms are the permissions that reach a child's identity: a role
// holding any of them is granted only with a second admin's approval.
var identityPerms = []string{"identity:read", "identity:reveal"}

// fits names, for each institution role, the functions of an institution
// (reference data: files, receives, oversees) of which it needs one.
var fits = map[string][]string{
	"intake":     {"files", "receives"},
	"officer":    {"files", "receives"},
	"supervisor": {"files", "receives"},
	"oversight":  {"oversees"},
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

// Grant gives a user a role in their own domain. A role that reads
// children's identities is not granted yet: the request waits (User.Pending,
// audited as role:request) for another admin's Approve.
//
// Errors: UNAUTHENTICATED; FORBIDDEN without user:manage or when granting
// to oneself; NOT_FOUND for an unknown user; BAD_USER_INPUT for an unknown
// role or one that does not fit the account (admin only for system
// accounts, and no institution role for them; oversight only in an
// institution that oversees — audited as a refusal).
func (s *Service) Grant(ctx context.Context, in GrantInput) (*User, error) {
	return s.change(ctx, "user.Grant", "role:grant", in)
}

// Approve grants a role asked for by another admin, as the second admin.
//
// Errors: UNAUTHENTICATED; FORBIDDEN without user:manage, for one's own
// account, or for a request one made oneself (audited); NOT_FOUND for an
// unknown user or when no grant of that role awaits approval;
// BAD_USER_INPUT for an unknown role.
func (s *Service) Approve(ctx context.Context, in GrantInput) (*User, error) {
	const op, action = "user.Approve", "role:approve"
	d, err := s.guard.Check(ctx, PermManage, authz.On(authz.User, in.UserID))
	if err != nil {
		return nil, apperr.Wrap(op, err)
	}
	p := d.Principal
	target := authz.On(authz.User, in.UserID)
	if in.UserID == p.UserID {
		return nil, s.guard.Refuse(ctx, action, target,
			&apperr.Error{Op: op, Kind: apperr.Forbidden, Msg: apperr.Text{
				ES: "nadie puede cambiar sus propios roles", EN: "nobody may change their own roles"}})
	}
	if !roles[in.Role] {
		return nil, &apperr.Error{Op: op, Kind: apperr.Invalid, Field: "role", Msg: apperr.Text{
			ES: "rol desconocido", EN: "unknown role"}}
	}
	var refusal *apperr.Error
	err = postgres.WithTx(ctx, s.db, func(tx *sqlx.Tx) error {
		u, err := get(ctx, tx, in.UserID, true)
		if err != nil {
			return err
		}
		domain := domainOf(u)
		var req struct {
			ID          uuid.UUID `db:"id"`
			RequestedBy uuid.UUID `db:"requested_by"`
		}
		err = sqlx.GetContext(ctx, tx, &req, `SELECT id, requested_by FROM role_grant_requests
WHERE user_id = $1 AND role = $2 AND domain = $3 AND approved_at IS NULL FOR UPDATE`, in.UserID, in.Role, domain)
		if errors.Is(err, sql.ErrNoRows) {
			return apperr.New(apperr.NotFound, "no hay una concesión de ese rol pendiente de aprobación",
				"no grant of that role awaits approval")
		}
		if err != nil {
			return fmt.Errorf("pending grant: %w", err)
		}
		if req.RequestedBy == p.UserID {
			refusal = &apperr.Error{Op: op, Kind: apperr.Forbidden, Msg: apperr.Text{
				ES: "otro administrador debe aprobar la concesión que usted pidió",
				EN: "another admin must approve the grant you asked for"}}
			return refusal
		}
		now := s.now().UTC()
		if _, err := tx.ExecContext(ctx, `UPDATE role_grant_requests SET approved_by = $2, approved_at = $3 WHERE id = $1`,
			req.ID, p.UserID, now); err != nil {
			return fmt.Errorf("approve grant: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO role_grants (user_id, role, domain, granted_by, approved_by, granted_at)
VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING`, in.UserID, in.Role, domain, req.RequestedBy, p.UserID, now); err != nil {
			return fmt.Errorf("approve grant: %w", err)
		}
		if err := audit.Record(ctx, tx, audit.Event{Action: action, ObjectType: "user", ObjectID: in.UserID.String(),
			Details: map[string]any{"role": in.Role, "domain": domain, "request": req.ID, "requestedBy": req.RequestedBy}}); err != nil {
			return err
		}
		return authz.Notify(ctx, tx)
	})
	if refusal != nil {
		return nil, s.guard.Refuse(ctx, action, target, refusal)
	}
	if err != nil {
		return nil, apperr.Wrap(op, err)
	}
	s.reload(ctx)
	return s.load(ctx, in.UserID)
}

// domainOf is the domain of a user's roles: their institution, or system.
func domainOf(u *User) string {
	if u.Institution != nil {
		return *u.Institution
	}
	return auth.SystemDomain
}

// fitRefusal says why role cannot be held in domain, or nil when it can.
func (s *Service) fitRefusal(role, domain string) *apperr.Error {
	if (role == "admin") != (domain == auth.SystemDomain) {
		return &apperr.Error{Kind: apperr.Invalid, Field: "role", Msg: apperr.Text{
			ES: "admin solo para cuentas del sistema; los demás roles solo para cuentas de una institución",
			EN: "admin only for system accounts; other roles only for accounts of an institution"}}
	}
	need, ok := fits[role]
	if !ok {
		return nil
	}
	inst, _ := s.catalog.Institution(domain)
	if inst != nil {
		for _, f := range need {
			if slices.Contains(inst.Functions, f) {
				return nil
			}
		}
	}
	return &apperr.Error{Kind: apperr.Invalid, Field: "role", Msg: apperr.Text{
		ES: fmt.Sprintf("el rol %s no corresponde a %s: requiere una institución que %s", role, domain, strings.Join(need, " o ")),
		EN: fmt.Sprintf("the role %s does not fit %s: it needs an institution that %s", role, domain, strings.Join(need, " or "))}}
}

// needsApproval reports whether a grant of role in domain gives identity
// access, by the policy.
func (s *Service) needsApproval(role, domain string) bool {
	for _, perm := range identityPerms {
		if s.authz.RoleHolds(role, domain, perm) {
			return true
		}
	}
	return false
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
	var refusal *apperr.Error
	err = postgres.WithTx(ctx, s.db, func(tx *sqlx.Tx) error {
		u, err := get(ctx, tx, in.UserID, true)
		if err != nil {
			return err
		}
		domain := domainOf(u)
		var res sql.Result
		switch {
		case action == "role:revoke":
			res, err = tx.ExecContext(ctx, `DELETE FROM role_grants WHERE user_id = $1 AND role = $2 AND domain = $3`,
				in.UserID, in.Role, domain)
		case s.fitRefusal(in.Role, domain) != nil:
			refusal = s.fitRefusal(in.Role, domain)
			refusal.Op = op
			return refusal
		case s.needsApproval(in.Role, domain):
			if slices.Contains(u.Roles, in.Role) {
				return nil // held already
			}
			action = "role:request"
			res, err = tx.ExecContext(ctx, `INSERT INTO role_grant_requests (id, user_id, role, domain, requested_by, requested_at)
VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING`, uuid.New(), in.UserID, in.Role, domain, p.UserID, s.now().UTC())
		default:
			res, err = tx.ExecContext(ctx, `INSERT INTO role_grants (user_id, role, domain, granted_by) VALUES ($1, $2, $3, $4)
				ON CONFLICT DO NOTHING`, in.UserID, in.Role, domain, p.UserID)
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
		if action == "role:request" {
			return nil // nothing any replica enforces has changed
		}
		return authz.Notify(ctx, tx)
	})
	if refusal != nil {
		// Recorded as a refusal: a grant the institution's kind forbids is
		// what an admin escalating an account would try.
		return nil, s.guard.Refuse(ctx, action, authz.On(authz.User, in.UserID), refusal)
	}
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
	u.Roles, u.Pending = []string{}, []Pending{}
	if err := sqlx.SelectContext(ctx, q, &u.Roles, `SELECT role FROM role_grants WHERE user_id = $1 ORDER BY role`, u.ID); err != nil {
		return err
	}
	return sqlx.SelectContext(ctx, q, &u.Pending, `SELECT role, requested_by, requested_at FROM role_grant_requests
WHERE user_id = $1 AND approved_at IS NULL ORDER BY role`, u.ID)
}
