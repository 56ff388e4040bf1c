package user

import (
	"context"

	"github.com/google/uuid"

	"amparo/internal/apperr"
	"amparo/internal/authz"
)

// Get returns one account, for admins: one indexed read of the account and
// its grants, where List reads every account.
//
// Errors: UNAUTHENTICATED; FORBIDDEN without user:manage (audited);
// NOT_FOUND for an unknown account (audited); UNAVAILABLE.
func (s *Service) Get(ctx context.Context, id uuid.UUID) (*User, error) {
	const op = "user.Get"
	if _, err := s.guard.Check(ctx, PermManage, authz.On(authz.User, id)); err != nil {
		return nil, apperr.Wrap(op, err)
	}
	u, err := s.load(ctx, id)
	if err != nil {
		return nil, apperr.Wrap(op, err)
	}
	return u, nil
}
