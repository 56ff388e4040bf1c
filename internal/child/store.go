package child

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
)

// Insert writes a child and, apart, its identity, in the caller's
// transaction. The age and its band are fixed at registration.
func Insert(ctx context.Context, tx sqlx.ExecerContext, id uuid.UUID, institution string, by uuid.UUID, at time.Time, in *Input) error {
	age, estimated := in.AgeYears, in.DateOfBirth == nil
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
	const qIdentity = `
INSERT INTO child_identities (child_id, given_name, family_name, other_names, date_of_birth, dob_estimated, contact)
VALUES ($1, $2, $3, $4, $5, $6, $7)`
	if _, err := tx.ExecContext(ctx, qIdentity, id, in.GivenName, in.FamilyName, in.OtherNames, in.DateOfBirth,
		estimated && age != nil, in.Contact); err != nil {
		return fmt.Errorf("insert identity: %w", err)
	}
	return nil
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
