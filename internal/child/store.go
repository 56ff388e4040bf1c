package child

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
)

// Insert writes a child and, apart, its identity sealed under the owner's
// data key, in the caller's transaction. The age and its band are fixed at
// registration.
func Insert(ctx context.Context, tx sqlx.ExecerContext, ks Keys, o Owner, id uuid.UUID, institution string, by uuid.UUID, at time.Time, in *Input) error {
	age := in.AgeYears
	if in.DateOfBirth != nil {
		y := AgeOn(*in.DateOfBirth, at)
		age = &y
	}
	var band *AgeBand
	if age != nil {
		b := BandOf(*age)
		band = &b
	}
	const qChild = `
INSERT INTO children (id, institution_code, sex, nationality, population_status, care_status,
  age_years, age_band, vulnerabilities, languages, created_by, created_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`
	if _, err := tx.ExecContext(ctx, qChild, id, institution, in.Sex, in.Nationality, in.PopulationStatus,
		in.CareStatus, age, band, pq.Array(nonNil(in.Vulnerabilities)), pq.Array(nonNil(in.Languages)), by, at); err != nil {
		return fmt.Errorf("insert child: %w", err)
	}
	return insertIdentity(ctx, tx, ks, o, id, at, age, in)
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
