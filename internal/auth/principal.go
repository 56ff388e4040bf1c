// Package auth turns a bearer token into a Principal: the signed-in user, the
// institution they act for and the roles they hold there. It verifies tokens
// (the dev issuer here, OIDC in serve), looks the user up on every request
// so that a disablement takes effect at once, and carries the Principal in
// the request context.
package auth

import (
	"context"
	"slices"

	"github.com/google/uuid"

	"amparo/internal/apperr"
)

// SystemDomain is the authorization domain of users who belong to no
// institution: the admins.
const SystemDomain = "system"

// Principal is who is calling.
type Principal struct {
	UserID      uuid.UUID
	Email       string
	Name        string
	Institution string   // institution code; "" for system users
	Roles       []string // roles held in Domain()
}

// Domain is the casbin domain the principal acts in.
func (p *Principal) Domain() string {
	if p.Institution == "" {
		return SystemDomain
	}
	return p.Institution
}

// HasRole reports whether the principal holds role.
func (p *Principal) HasRole(role string) bool { return slices.Contains(p.Roles, role) }

type ctxKey struct{}

// With returns ctx carrying p.
func With(ctx context.Context, p *Principal) context.Context {
	return context.WithValue(ctx, ctxKey{}, p)
}

// From returns the principal in ctx, if any.
func From(ctx context.Context) (*Principal, bool) {
	p, ok := ctx.Value(ctxKey{}).(*Principal)
	return p, ok && p != nil
}

// Require returns the principal in ctx.
//
// Errors: UNAUTHENTICATED when the request carries no valid token.
func Require(ctx context.Context) (*Principal, error) {
	p, ok := From(ctx)
	if !ok {
		return nil, apperr.E(apperr.Unauthenticated)
	}
	return p, nil
}
