package evidence

import (
	"context"

	"github.com/google/uuid"

	"amparo/internal/apperr"
	"amparo/internal/authz"
	"amparo/internal/postgres"
)

// CountByCases counts the evidence of each case the caller may read.
//
// Errors: as ListByCases.
func (s *Service) CountByCases(ctx context.Context, caseIDs []uuid.UUID) (map[uuid.UUID]int, error) {
	d, caseIDs, err := s.guard.Filter(ctx, PermRead, authz.Case, caseIDs)
	if err != nil {
		return nil, apperr.Wrap("evidence.CountByCases", err)
	}
	args := postgres.Args{postgres.UUIDs(caseIDs)}
	return postgres.CountByCase(ctx, s.db, authz.Evidence.From, "e.case_id", d.Where(authz.Evidence, &args), args)
}
