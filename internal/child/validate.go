package child

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"amparo/internal/apperr"
)

const maxName = 200

var (
	sexes        = apperr.Set("FEMALE", "MALE", "OTHER", "UNKNOWN")
	populations  = apperr.Set("REFUGEE", "ASYLUM_SEEKER", "RETURNEE", "MIGRANT_TRANSIT", "IDP", "STATELESS", "NATIONAL_HOST", "OTHER")
	careStatuses = apperr.Set("UNACCOMPANIED", "SEPARATED", "WITH_FAMILY")
	// Vulnerabilities as child-protection case management records them
	// (CPIMS+ "protection concerns" that are conditions, not acts).
	vulnerabilities = apperr.Set("DISABILITY", "CHRONIC_ILLNESS", "PREGNANT", "CHILD_PARENT", "LGBTIQ",
		"INDIGENOUS", "AFRODESCENDANT", "NO_DOCUMENTS", "OUT_OF_SCHOOL", "WORKING_CHILD", "SURVIVOR_OF_VIOLENCE",
		"MENTAL_HEALTH", "SUBSTANCE_USE", "IN_CONFLICT_WITH_LAW", "STREET_SITUATION", "OTHER")
	// Languages: ISO 639-3 codes of Spanish, of the 22 Mayan languages and
	// of Garífuna and Xinka spoken in Guatemala, and of the languages most
	// heard among children on the move through it.
	languages = apperr.Set("spa", "eng", "fra", "hat", "por",
		"quc", "cak", "kek", "mam", "tzj", "kjb", "poh", "acr", "ixl", "jac", "qum", "ttc", "agu",
		"usp", "caa", "mop", "knj", "itz", "acc", "cac", "tzh", "tzo", "cab", "xin", "ctu", "mxv")
)

// Normalize trims text and upper-cases the nationality; it runs before
// validation and before any idempotency hash.
func (in *Input) Normalize() {
	in.GivenName = TrimOpt(in.GivenName)
	in.FamilyName = TrimOpt(in.FamilyName)
	in.OtherNames = TrimOpt(in.OtherNames)
	in.Contact = TrimOpt(in.Contact)
	in.Nationality = strings.ToUpper(strings.TrimSpace(in.Nationality))
	slices.Sort(in.Vulnerabilities)
	in.Vulnerabilities = slices.Compact(in.Vulnerabilities)
	for i := range in.Languages {
		in.Languages[i] = strings.ToLower(strings.TrimSpace(in.Languages[i]))
	}
	slices.Sort(in.Languages)
	in.Languages = slices.Compact(in.Languages)
}

// TrimOpt trims an optional text, turning blank into absent.
func TrimOpt(s *string) *string {
	if s == nil {
		return nil
	}
	t := strings.TrimSpace(*s)
	if t == "" {
		return nil
	}
	return &t
}

// Validate checks a normalized Input, reporting fields under prefix; now is
// the registration time. When needAge is set, a date of birth or an
// estimated age is required (a case needs the age band; a complaint may not
// know it).
func (in *Input) Validate(v *apperr.Validation, prefix string, now time.Time, needAge bool) {
	f := func(name string) string { return prefix + "." + name }
	for _, t := range []struct {
		field string
		s     *string
	}{{"givenName", in.GivenName}, {"familyName", in.FamilyName}, {"otherNames", in.OtherNames}, {"contact", in.Contact}} {
		if t.s != nil {
			v.Text(f(t.field), *t.s, maxName)
		}
	}
	switch {
	case in.DateOfBirth == nil && in.AgeYears == nil:
		if needAge {
			v.Add(f("dateOfBirth"), "indique la fecha de nacimiento o la edad (estimada si hace falta)",
				"give the date of birth or the age (estimated if need be)")
		}
	case in.DateOfBirth != nil:
		dob := *in.DateOfBirth
		if dob.After(now) {
			v.Add(f("dateOfBirth"), "la fecha de nacimiento está en el futuro", "the date of birth is in the future")
		} else if age := AgeOn(dob, now); age > 17 {
			v.Add(f("dateOfBirth"), "Amparo registra niñas, niños y adolescentes: menores de 18 años",
				"Amparo records children and adolescents: under 18")
		} else if in.AgeYears != nil && *in.AgeYears != age {
			v.Add(f("ageYears"), fmt.Sprintf("no concuerda con la fecha de nacimiento (%d años)", age),
				fmt.Sprintf("does not match the date of birth (%d years)", age))
		}
	case *in.AgeYears < 0 || *in.AgeYears > 17:
		v.Add(f("ageYears"), "la edad debe estar entre 0 y 17 años", "the age must be between 0 and 17")
	}
	if !sexes[string(in.Sex)] {
		v.Add(f("sex"), "sexo no válido", "invalid sex")
	}
	if _, ok := nationalities[in.Nationality]; !ok {
		v.Add(f("nationality"), "nacionalidad no válida: use el código ISO 3166-1 alfa-3 (GTM, HND, SLV...)",
			"invalid nationality: use the ISO 3166-1 alpha-3 code (GTM, HND, SLV...)")
	}
	if !populations[string(in.PopulationStatus)] {
		v.Add(f("populationStatus"), "situación de movilidad no válida", "invalid population status")
	}
	if !careStatuses[string(in.CareStatus)] {
		v.Add(f("careStatus"), "situación de cuidado no válida", "invalid care status")
	}
	for i, x := range in.Vulnerabilities {
		if !vulnerabilities[x] {
			v.Add(fmt.Sprintf("%s[%d]", f("vulnerabilities"), i), "vulnerabilidad desconocida", "unknown vulnerability")
		}
	}
	for i, x := range in.Languages {
		if !languages[x] {
			v.Add(fmt.Sprintf("%s[%d]", f("languages"), i), "idioma desconocido: use ISO 639-3 (spa, mam, quc...)",
				"unknown language: use ISO 639-3 (spa, mam, quc...)")
		}
	}
}
