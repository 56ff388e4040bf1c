package evidence

import (
	"context"

	"github.com/google/uuid"
	"github.com/jmoiron/sqlx"

	"amparo/internal/postgres"
)

// CountByCases counts the evidence of each case, for cases the caller has
// already been authorized to read.
func (s *Service) CountByCases(ctx context.Context, caseIDs []uuid.UUID) (map[uuid.UUID]int, error) {
	var rows []struct {
		CaseID uuid.UUID `db:"case_id"`
		N      int       `db:"n"`
	}
	const q = `SELECT case_id, count(*) AS n FROM evidence WHERE case_id = ANY($1) GROUP BY case_id`
	if err := sqlx.SelectContext(ctx, s.db, &rows, q, uuidArray(caseIDs)); err != nil {
		return nil, postgres.MapError(err)
	}
	out := make(map[uuid.UUID]int, len(rows))
	for _, r := range rows {
		out[r.CaseID] = r.N
	}
	return out, nil
}
