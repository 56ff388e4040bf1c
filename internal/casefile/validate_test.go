package casefile

import (
	"slices"
	"strings"
	"testing"
	"time"

	"amparo/internal/apperr"
	"amparo/internal/child"
	"amparo/internal/reference"
)

func testCatalog() *reference.Catalog {
	return reference.New(
		[]reference.Category{{Code: "EXPLOITATION"}, {Code: "RIGHTS"}},
		[]reference.ViolationType{{Code: "TRAFFICKING", Category: "EXPLOITATION"}, {Code: "DISCRIMINATION", Category: "RIGHTS"},
			{Code: "OLD_CODE", Category: "RIGHTS", Deprecated: true}},
		[]reference.Department{{Code: "GT-13", LegacyCode: "GT-HU", Name: "Huehuetenango"}},
		[]reference.EntryPoint{{Code: "LA_MESILLA", Department: "GT-13"}},
		nil)
}

func ptr[T any](v T) *T { return &v }

func day(s string) *time.Time {
	d, err := time.Parse(time.DateOnly, s)
	if err != nil {
		panic(err)
	}
	return &d
}

func validInput() FileInput {
	return FileInput{
		IdempotencyKey: "key-12345678",
		Child: child.Input{GivenName: ptr("Ana"), DateOfBirth: day("2014-03-09"), Sex: "FEMALE", Nationality: "HND",
			PopulationStatus: "MIGRANT_TRANSIT", CareStatus: "UNACCOMPANIED"},
		Violations:     []ViolationInput{{Type: "TRAFFICKING", OccurredOn: day("2026-11-20")}},
		DepartmentCode: "GT-13",
		EntryPoint:     ptr("LA_MESILLA"),
		Urgency:        High,
		Summary:        "Niña no acompañada.",
	}
}

// TestValidate has one case per rule, named after the outcome, each
// breaking exactly one rule and expecting exactly its field.
func TestValidate(t *testing.T) {
	now := time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)
	for name, tc := range map[string]struct {
		edit   func(*FileInput)
		fields []string
	}{
		"Valid":                       {func(*FileInput) {}, nil},
		"LegacyDepartmentAccepted":    {func(in *FileInput) { in.DepartmentCode = "gt-hu" }, nil},
		"ShortKeyRefused":             {func(in *FileInput) { in.IdempotencyKey = "k" }, []string{"idempotencyKey"}},
		"KeyWithSpacesRefused":        {func(in *FileInput) { in.IdempotencyKey = "key with spaces" }, []string{"idempotencyKey"}},
		"NoViolationsRefused":         {func(in *FileInput) { in.Violations = nil }, []string{"violations"}},
		"UnknownTypeRefused":          {func(in *FileInput) { in.Violations[0].Type = "NOPE" }, []string{"violations[0].type"}},
		"DeprecatedTypeRefused":       {func(in *FileInput) { in.Violations[0].Type = "OLD_CODE" }, []string{"violations[0].type"}},
		"FutureViolationRefused":      {func(in *FileInput) { in.Violations[0].OccurredOn = day("2027-01-01") }, []string{"violations[0].occurredOn"}},
		"ViolationBeforeBirthRefused": {func(in *FileInput) { in.Violations[0].OccurredOn = day("2013-01-01") }, []string{"violations[0].occurredOn"}},
		"BirthMonthViolationAccepted": {func(in *FileInput) {
			in.Violations[0].OccurredOn, in.Violations[0].OccurredOnPrecision = day("2014-03-01"), ptr(Month)
		}, nil},
		"PrecisionWithoutDateRefused": {func(in *FileInput) { in.Violations[0].OccurredOn, in.Violations[0].OccurredOnPrecision = nil, ptr(Day) }, []string{"violations[0].occurredOnPrecision"}},
		"PurposeOnOtherTypeRefused": {func(in *FileInput) {
			in.Violations = []ViolationInput{{Type: "DISCRIMINATION", TraffickingPurpose: ptr("SERVITUDE_SLAVERY")}}
		}, []string{"violations[0].traffickingPurpose"}},
		"UnknownPurposeRefused":      {func(in *FileInput) { in.Violations[0].TraffickingPurpose = ptr("FUN") }, []string{"violations[0].traffickingPurpose"}},
		"GroundOnOtherTypeRefused":   {func(in *FileInput) { in.Violations[0].DiscriminationGround = ptr("NATIONALITY") }, []string{"violations[0].discriminationGround"}},
		"BadStageRefused":            {func(in *FileInput) { in.Violations[0].JourneyStage = ptr(JourneyStage("SPACE")) }, []string{"violations[0].journeyStage"}},
		"BadPerpetratorRefused":      {func(in *FileInput) { in.Violations[0].PerpetratorType = ptr(PerpetratorType("ALIEN")) }, []string{"violations[0].perpetratorType"}},
		"LongDescriptionRefused":     {func(in *FileInput) { in.Violations[0].Description = ptr(strings.Repeat("a", maxDesc+1)) }, []string{"violations[0].description"}},
		"UnknownDepartmentRefused":   {func(in *FileInput) { in.DepartmentCode = "GT-23" }, []string{"departmentCode"}},
		"UnknownEntryPointRefused":   {func(in *FileInput) { in.EntryPoint = ptr("NOWHERE") }, []string{"entryPoint"}},
		"BadUrgencyRefused":          {func(in *FileInput) { in.Urgency = "SOON" }, []string{"urgency"}},
		"EmptySummaryRefused":        {func(in *FileInput) { in.Summary = "   " }, []string{"summary"}},
		"LongSummaryRefused":         {func(in *FileInput) { in.Summary = strings.Repeat("ñ", maxSummary+1) }, []string{"summary"}},
		"ControlCharacterRefused":    {func(in *FileInput) { in.Summary = "hola\x00mundo" }, []string{"summary"}},
		"InvalidUTF8Refused":         {func(in *FileInput) { in.Summary = "hola \xff" }, []string{"summary"}},
		"AdultRefused":               {func(in *FileInput) { in.Child.DateOfBirth = day("2008-11-27") }, []string{"child.dateOfBirth"}},
		"SeventeenAccepted":          {func(in *FileInput) { in.Child.DateOfBirth, in.Violations[0].OccurredOn = day("2008-11-29"), nil }, nil},
		"NationalityNotISORefused":   {func(in *FileInput) { in.Child.Nationality = "Honduras" }, []string{"child.nationality"}},
		"EveryProblemReportedAtOnce": {func(in *FileInput) { in.Summary, in.Urgency, in.DepartmentCode = "", "X", "Y" }, []string{"departmentCode", "urgency", "summary"}},
	} {
		t.Run(name, func(t *testing.T) {
			in := validInput()
			in.Violations = slices.Clone(in.Violations)
			tc.edit(&in)
			cat := testCatalog()
			in.normalize(cat)
			var got []string
			for _, p := range apperr.Problems(in.validate(cat, now)) {
				got = append(got, p.Field)
			}
			if !slices.Equal(got, tc.fields) {
				t.Fatalf("fields %v, want %v", got, tc.fields)
			}
		})
	}
}

func TestMessagesInBothLanguages(t *testing.T) {
	in := validInput()
	in.Violations[0].Type = "NOPE"
	cat := testCatalog()
	in.normalize(cat)
	p := apperr.Problems(in.validate(cat, time.Now()))
	if len(p) != 1 {
		t.Fatalf("problems %v", p)
	}
	es, en := p[0].Message("es"), p[0].Message("en")
	if !strings.Contains(es, "violationTypes") || !strings.Contains(en, "violationTypes") || es == en {
		t.Fatalf("es %q, en %q: both must say where valid codes are, each in its language", es, en)
	}
}
