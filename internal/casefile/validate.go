package casefile

import (
	"fmt"
	"strings"
	"time"

	"amparo/internal/apperr"
	"amparo/internal/child"
	"amparo/internal/idempotency"
	"amparo/internal/reference"
)

// Limits on free text: generous for what officers write, small enough that
// a runaway client cannot fill the database.
const (
	maxName       = 200
	maxSummary    = 8000
	maxDesc       = 4000
	maxViolations = 30
)

var (
	urgencies    = apperr.Set(string(Immediate), string(High), string(Medium), string(Low))
	stages       = apperr.Set("ORIGIN", "TRANSIT", "BORDER", "DETENTION_OR_HOLDING", "DESTINATION", "RETURN_RECEPTION")
	perpetrators = apperr.Set("FAMILY_CAREGIVER", "COMMUNITY_MEMBER", "CRIMINAL_GROUP", "SMUGGLER_TRAFFICKER", "EMPLOYER",
		"STATE_POLICE", "STATE_MIGRATION", "STATE_OTHER_OFFICIAL", "SHELTER_OR_SERVICE_STAFF", "HUMANITARIAN_WORKER", "UNKNOWN")
	// Purposes of exploitation of Código Penal art. 202 Ter and the Palermo Protocol.
	traffickingPurposes = apperr.Set("SEXUAL_EXPLOITATION", "PORNOGRAPHY", "LABOUR_EXPLOITATION", "FORCED_BEGGING",
		"SERVITUDE_SLAVERY", "FORCED_MARRIAGE", "ILLEGAL_ADOPTION", "ORGAN_REMOVAL", "CRIMINAL_ACTIVITIES",
		"RECRUITMENT_ARMED_GROUPS", "UNKNOWN", "OTHER")
	discriminationGrounds = apperr.Set("ETHNICITY_INDIGENOUS", "AFRODESCENDANT", "NATIONALITY", "MIGRATION_STATUS",
		"SEX_GENDER", "SEXUAL_ORIENTATION_GENDER_IDENTITY", "DISABILITY", "RELIGION", "LANGUAGE", "AGE",
		"ECONOMIC_STATUS", "OTHER")
)

// normalize trims text fields and resolves codes to their stored form
// (legacy department codes to ISO). It runs before validation and before
// the idempotency hash, so that a retry differing only in blanks matches.
func (in *FileInput) normalize(cat *reference.Catalog) {
	in.IdempotencyKey = strings.TrimSpace(in.IdempotencyKey)
	in.Summary = strings.TrimSpace(in.Summary)
	in.DepartmentCode = strings.ToUpper(strings.TrimSpace(in.DepartmentCode))
	if d, ok := cat.Department(in.DepartmentCode); ok {
		in.DepartmentCode = d.Code
	}
	in.Municipality = child.TrimOpt(in.Municipality)
	in.EntryPoint = child.TrimOpt(in.EntryPoint)
	in.Child.Normalize()
	for i := range in.Violations {
		normalizeViolation(&in.Violations[i])
	}
}

// validate checks a normalized FileInput against the catalog; now is the
// filing time.
//
// Errors: BAD_USER_INPUT listing every wrong field.
func (in *FileInput) validate(cat *reference.Catalog, now time.Time) error {
	var v apperr.Validation
	idempotency.CheckKey(&v, "idempotencyKey", in.IdempotencyKey)
	in.Child.Validate(&v, "child", now, true)
	if len(in.Violations) == 0 {
		v.Add("violations", "indique al menos una vulneración", "give at least one violation")
	}
	if len(in.Violations) > maxViolations {
		v.Add("violations", fmt.Sprintf("a lo sumo %d vulneraciones por caso", maxViolations),
			fmt.Sprintf("at most %d violations per case", maxViolations))
	}
	for i := range in.Violations {
		validateViolation(&v, fmt.Sprintf("violations[%d]", i), &in.Violations[i], cat, now, in.Child.DateOfBirth)
	}
	if _, ok := cat.Department(in.DepartmentCode); !ok {
		v.Add("departmentCode", "departamento desconocido: use GT-01 a GT-22 (consulta departments)", "unknown department: use GT-01 to GT-22 (departments query)")
	}
	if in.EntryPoint != nil {
		if _, ok := cat.EntryPoint(*in.EntryPoint); !ok {
			v.Add("entryPoint", "punto de entrada desconocido: los válidos están en la consulta entryPoints", "unknown entry point: the valid ones are in the entryPoints query")
		}
	}
	if in.Municipality != nil {
		v.Text("municipality", *in.Municipality, maxName)
	}
	if !urgencies[string(in.Urgency)] {
		v.Add("urgency", "urgencia no válida", "invalid urgency")
	}
	if in.Summary == "" {
		v.Add("summary", "el resumen es obligatorio", "the summary is required")
	} else {
		v.Text("summary", in.Summary, maxSummary)
	}
	return v.Err()
}

func normalizeViolation(v *ViolationInput) {
	v.Type = strings.TrimSpace(v.Type)
	v.Description = child.TrimOpt(v.Description)
	v.TraffickingPurpose = child.TrimOpt(v.TraffickingPurpose)
	v.DiscriminationGround = child.TrimOpt(v.DiscriminationGround)
	if v.OccurredOn != nil && v.OccurredOnPrecision == nil {
		p := Day
		v.OccurredOnPrecision = &p
	}
	if v.OccurredOn != nil && *v.OccurredOnPrecision == Month {
		t := time.Date(v.OccurredOn.Year(), v.OccurredOn.Month(), 1, 0, 0, 0, 0, time.UTC)
		v.OccurredOn = &t
	}
}

func validateViolation(v *apperr.Validation, field string, in *ViolationInput, cat *reference.Catalog, now time.Time, born *time.Time) {
	if t, ok := cat.ViolationType(in.Type); !ok {
		v.Add(field+".type", "tipo de vulneración desconocido: los válidos están en la consulta violationTypes", "unknown violation type: the valid ones are in the violationTypes query")
	} else if t.Deprecated {
		v.Add(field+".type", "tipo de vulneración en desuso; use el que lo reemplaza", "deprecated violation type; use its replacement")
	}
	if in.OccurredOn != nil && in.OccurredOn.After(now) {
		v.Add(field+".occurredOn", "la fecha está en el futuro", "the date is in the future")
	} else if in.OccurredOn != nil && born != nil && beforeBirth(*in.OccurredOn, in.OccurredOnPrecision, *born) {
		v.Add(field+".occurredOn", "la fecha es anterior al nacimiento", "the date is before the child's birth")
	}
	if p := in.OccurredOnPrecision; p != nil && *p != Day && *p != Month {
		v.Add(field+".occurredOnPrecision", "precisión no válida: DAY o MONTH", "invalid precision: DAY or MONTH")
	} else if p != nil && in.OccurredOn == nil {
		v.Add(field+".occurredOnPrecision", "indique también la fecha", "give the date as well")
	}
	if in.TraffickingPurpose != nil {
		if in.Type != "TRAFFICKING" {
			v.Add(field+".traffickingPurpose", "solo para el tipo TRAFFICKING", "only for type TRAFFICKING")
		} else if !traffickingPurposes[*in.TraffickingPurpose] {
			v.Add(field+".traffickingPurpose", "fin de explotación no válido", "invalid trafficking purpose")
		}
	}
	if in.DiscriminationGround != nil {
		if in.Type != "DISCRIMINATION" {
			v.Add(field+".discriminationGround", "solo para el tipo DISCRIMINATION", "only for type DISCRIMINATION")
		} else if !discriminationGrounds[*in.DiscriminationGround] {
			v.Add(field+".discriminationGround", "motivo de discriminación no válido", "invalid discrimination ground")
		}
	}
	if in.JourneyStage != nil && !stages[string(*in.JourneyStage)] {
		v.Add(field+".journeyStage", "etapa del trayecto no válida", "invalid journey stage")
	}
	if in.PerpetratorType != nil && !perpetrators[string(*in.PerpetratorType)] {
		v.Add(field+".perpetratorType", "tipo de agresor no válido", "invalid perpetrator type")
	}
	if in.Description != nil {
		v.Text(field+".description", *in.Description, maxDesc)
	}
}

// beforeBirth reports whether a violation dated on (to the day or, with
// MONTH precision, to the month) certainly happened before birth.
func beforeBirth(on time.Time, p *DatePrecision, born time.Time) bool {
	if p != nil && *p == Month {
		return on.Year() < born.Year() || (on.Year() == born.Year() && on.Month() < born.Month())
	}
	return on.Before(born)
}

// Valid reports whether p is one of the perpetrator types.
func (p PerpetratorType) Valid() bool { return perpetrators[string(p)] }

// Valid reports whether u is one of the urgencies.
func (u Urgency) Valid() bool { return urgencies[string(u)] }
