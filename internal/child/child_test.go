package child

import (
	"testing"
	"time"

	"amparo/internal/apperr"
)

func TestBandOf(t *testing.T) {
	for age, want := range map[int]AgeBand{0: Age0to5, 5: Age0to5, 6: Age6to12, 12: Age6to12, 13: Age13to17, 17: Age13to17} {
		if got := BandOf(age); got != want {
			t.Errorf("BandOf(%d) = %s, want %s", age, got, want)
		}
	}
}

func TestAgeOnBirthdayInGuatemala(t *testing.T) {
	dob := time.Date(2013, 11, 28, 0, 0, 0, 0, time.UTC)
	// 03:00 UTC on the 28th is still the 27th in Guatemala (UTC-6).
	if got := AgeOn(dob, time.Date(2026, 11, 28, 3, 0, 0, 0, time.UTC)); got != 12 {
		t.Errorf("age the evening before = %d, want 12", got)
	}
	if got := AgeOn(dob, time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)); got != 13 {
		t.Errorf("age on the birthday = %d, want 13", got)
	}
}

func TestValidate(t *testing.T) {
	now := time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)
	age := func(n int) *int { return &n }
	date := func(s string) *time.Time { d, _ := time.Parse(time.DateOnly, s); return &d }
	valid := Input{Sex: "FEMALE", Nationality: "gtm", PopulationStatus: "RETURNEE", CareStatus: "SEPARATED", AgeYears: age(9),
		Languages: []string{"MAM", "spa"}}
	for name, tc := range map[string]struct {
		edit   func(*Input)
		fields []string
	}{
		"Valid":               {func(*Input) {}, nil},
		"NoAge":               {func(in *Input) { in.AgeYears = nil }, []string{"child.dateOfBirth"}},
		"Adult":               {func(in *Input) { in.AgeYears, in.DateOfBirth = nil, date("2000-01-01") }, []string{"child.dateOfBirth"}},
		"FutureBirth":         {func(in *Input) { in.AgeYears, in.DateOfBirth = nil, date("2027-01-01") }, []string{"child.dateOfBirth"}},
		"AgeDisagreesWithDOB": {func(in *Input) { in.DateOfBirth = date("2010-01-01") }, []string{"child.ageYears"}},
		"UnknownNationality":  {func(in *Input) { in.Nationality = "ZZZ" }, []string{"child.nationality"}},
		"UnknownLanguage":     {func(in *Input) { in.Languages = []string{"klingon"} }, []string{"child.languages[0]"}},
		"Several":             {func(in *Input) { in.Sex, in.CareStatus = "X", "Y" }, []string{"child.sex", "child.careStatus"}},
	} {
		t.Run(name, func(t *testing.T) {
			in := valid
			in.Languages = append([]string(nil), valid.Languages...)
			tc.edit(&in)
			in.Normalize()
			var v apperr.Validation
			in.Validate(&v, "child", now, true)
			var got []string
			for _, p := range apperr.Problems(v.Err()) {
				got = append(got, p.Field)
			}
			if len(got) != len(tc.fields) {
				t.Fatalf("fields %v, want %v", got, tc.fields)
			}
			for i := range got {
				if got[i] != tc.fields[i] {
					t.Fatalf("fields %v, want %v", got, tc.fields)
				}
			}
		})
	}
}
