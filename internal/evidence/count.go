package evidence

import (
	"context"

	"github.com/google/uuid"

	"amparo/internal/postgres"
)

// CountByCases counts the evidence of each case, for cases the caller has
// already been authorized to read.
func (s *Service) CountByCases(ctx context.Context, caseIDs []uuid.UUID) (map[uuid.UUID]int, error) {
	return postgres.CountByCase(ctx, s.db, "evidence", caseIDs)
}
