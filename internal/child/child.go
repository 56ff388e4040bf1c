// Package child holds what Amparo records about a child: the attributes that
// are always visible (age band, sex, nationality, mobility and care status,
// vulnerabilities, languages) and, apart from them, the identity (names,
// date of birth, contact, documents), which is withheld from whoever is not
// entitled to it. Cases and complaints both refer to children; reading an
// identity is authorized and audited by the case through which it is
// reached (package casefile).
package child

import (
	"time"

	"github.com/google/uuid"
)

// Sex of a child as recorded.
type Sex string

// PopulationStatus is the child's situation in the mobility context.
type PopulationStatus string

// CareStatus says whether the child travels with family.
type CareStatus string

// AgeBand groups ages as Ley PINA does: niña/niño under 13 (split at 6 for
// early childhood), adolescente 13 to 17.
type AgeBand string

// Age bands.
const (
	Age0to5   AgeBand = "AGE_0_5"
	Age6to12  AgeBand = "AGE_6_12"
	Age13to17 AgeBand = "AGE_13_17"
)

// BandOf returns the age band of an age in whole years.
func BandOf(years int) AgeBand {
	switch {
	case years <= 5:
		return Age0to5
	case years <= 12:
		return Age6to12
	default:
		return Age13to17
	}
}

// Guatemala is the country's time (UTC-6, no daylight saving since 2006):
// ages, "same day" and the year of a case reference are reckoned in it.
var Guatemala = time.FixedZone("America/Guatemala", -6*60*60)

// Child holds what is always visible about a child: never the identity.
type Child struct {
	ID               uuid.UUID
	AgeYears         *int
	AgeBand          *AgeBand
	Sex              Sex
	Nationality      string
	PopulationStatus PopulationStatus
	CareStatus       CareStatus
	Vulnerabilities  []string
	Languages        []string

	// CaseID is the case through which the child was reached; whether its
	// identity may be read depends on that case.
	CaseID uuid.UUID
}

// Identity is who a child is.
type Identity struct {
	GivenName    *string
	FamilyName   *string
	OtherNames   *string
	DateOfBirth  *time.Time
	DOBEstimated bool
	Contact      *string
}

// Input describes a child being registered.
type Input struct {
	GivenName        *string
	FamilyName       *string
	OtherNames       *string
	DateOfBirth      *time.Time
	AgeYears         *int
	Sex              Sex
	Nationality      string
	PopulationStatus PopulationStatus
	CareStatus       CareStatus
	Vulnerabilities  []string
	Languages        []string
	Contact          *string
}

// AgeOn is the age in whole years, on date now, of someone born on dob.
func AgeOn(dob, now time.Time) int {
	now = now.In(Guatemala)
	y := now.Year() - dob.Year()
	if now.Month() < dob.Month() || (now.Month() == dob.Month() && now.Day() < dob.Day()) {
		y--
	}
	return y
}
