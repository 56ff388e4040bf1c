package referral

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"amparo/internal/apperr"
	"amparo/internal/casefile"
	"amparo/internal/child"
	"amparo/internal/reference"
)

// Tests of pure logic: validation, deadlines, the printed form. What
// touches the database is tested through the real handler in cmd/amparo.

func catalog() *reference.Catalog {
	return reference.New(
		[]reference.Category{{Code: "TRAFFICKING_EXPLOITATION", Label: reference.Label{ES: "Trata y explotación", EN: "Trafficking and exploitation"}}},
		[]reference.ViolationType{{Code: "TRAFFICKING", Category: "TRAFFICKING_EXPLOITATION"}},
		nil, nil,
		[]reference.Institution{
			{Code: "SBS", Name: reference.Label{ES: "Secretaría de Bienestar Social", EN: "Social Welfare Secretariat"}, Functions: []string{"receives"}},
			{Code: "PGN", Name: reference.Label{ES: "Procuraduría General de la Nación", EN: "Attorney General"}, Functions: []string{"files", "receives"}},
			{Code: "OMPNA", Name: reference.Label{ES: "Oficinas municipales", EN: "Municipal offices"}, Functions: []string{"files"}},
		},
		reference.Service{Code: "SHELTER", Label: reference.Label{ES: "Albergue", EN: "Shelter"}},
		reference.Service{Code: "HEALTH", Label: reference.Label{ES: "Salud", EN: "Health"}},
	)
}

func ptr[T any](v T) *T { return &v }

func TestReferInputValidate(t *testing.T) {
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	valid := func() ReferInput {
		return ReferInput{CaseID: uuid.New(), ToInstitution: " sbs ", Services: []string{"shelter"}, Reason: "Necesita albergue.",
			Consent: ConsentInput{Given: true, By: ptr("caregiver")}}
	}
	for _, tc := range []struct {
		name  string
		edit  func(*ReferInput)
		field string // "" valid
	}{
		{"Valid", func(*ReferInput) {}, ""},
		{"ValidUnderBasis", func(in *ReferInput) {
			in.Consent = ConsentInput{Basis: ptr("LEGAL_OBLIGATION"), Justification: ptr("Orden del juzgado de niñez 2026-55.")}
		}, ""},
		{"ErrNoConsentNoBasis", func(in *ReferInput) { in.Consent = ConsentInput{} }, "consent.basis"},
		{"ErrBasisWithConsent", func(in *ReferInput) { in.Consent.Basis = ptr("BEST_INTERESTS") }, "consent.basis"},
		{"ErrWhoWithoutConsent", func(in *ReferInput) {
			in.Consent = ConsentInput{By: ptr("CHILD"), Basis: ptr("VITAL_INTEREST"), Justification: ptr("Riesgo para la vida de la niña hoy.")}
		}, "consent.given"},
		{"ErrShortJustification", func(in *ReferInput) {
			in.Consent = ConsentInput{Basis: ptr("BEST_INTERESTS"), Justification: ptr("urgente")}
		}, "consent.justification"},
		{"ErrFutureConsent", func(in *ReferInput) { in.Consent.GivenAt = ptr(now.Add(time.Hour)) }, "consent.givenAt"},
		{"ErrUnknownInstitution", func(in *ReferInput) { in.ToInstitution = "NASA" }, "toInstitution"},
		{"ErrInstitutionDoesNotReceive", func(in *ReferInput) { in.ToInstitution = "OMPNA" }, "toInstitution"},
		{"ErrNoService", func(in *ReferInput) { in.Services = nil }, "services"},
		{"ErrUnknownService", func(in *ReferInput) { in.Services = []string{"SHELTER", "MAGIC"} }, "services[1]"},
		{"ErrServiceTwice", func(in *ReferInput) { in.Services = []string{"SHELTER", "shelter"} }, "services[1]"},
		{"ErrNoReason", func(in *ReferInput) { in.Reason = " \n " }, "reason"},
		{"ErrLongReason", func(in *ReferInput) { in.Reason = strings.Repeat("a", maxReason+1) }, "reason"},
		{"ErrUnknownKind", func(in *ReferInput) { in.Kind = "ADOPTION" }, "kind"},
		{"ErrUnknownUrgency", func(in *ReferInput) { in.Urgency = ptr(casefile.Urgency("SOON")) }, "urgency"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := valid()
			tc.edit(&in)
			in.normalize()
			err := in.validate(catalog(), now)
			if tc.field == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			if !apperr.Is(err, apperr.Invalid) {
				t.Fatalf("got %v, want BAD_USER_INPUT", err)
			}
			if ps := apperr.Problems(err); ps[0].Field != tc.field {
				t.Fatalf("first problem at %s (%v), want %s", ps[0].Field, err, tc.field)
			}
		})
	}
}

func TestResponseWindow(t *testing.T) {
	for u, want := range map[casefile.Urgency]time.Duration{
		casefile.Immediate: 24 * time.Hour, casefile.High: 24 * time.Hour, casefile.Medium: 72 * time.Hour, casefile.Low: 72 * time.Hour,
	} {
		if got := ResponseWindow(u); got != want {
			t.Errorf("%s: %v, want %v", u, got, want)
		}
	}
}

func TestFormRender(t *testing.T) {
	now := time.Date(2026, 12, 1, 15, 0, 0, 0, time.UTC)
	band := child.AgeBand("AGE_13_17")
	r := &Referral{ID: uuid.New(), CaseID: uuid.New(), Kind: KindReferral, Status: Pending, From: "PGN", To: "SBS",
		Services: []string{"SHELTER", "HEALTH"}, Urgency: casefile.High, DueAt: now.Add(24 * time.Hour), ShareIdentity: true,
		AgeBand: &band, Sex: child.Sex("FEMALE"), Categories: []string{"TRAFFICKING_EXPLOITATION"},
		Reason: "Motivo largo de la derivación — “urgente” 🙂." + strings.Repeat("\n", 60) + strings.Repeat("Motivo largo de la derivación. ", 65), CreatedAt: now,
		Consent: Consent{Given: true, By: ptr("CAREGIVER"), At: &now}}
	// The most a referral holds: every service, the longest reason.
	cat := catalog()
	for i := range 16 { // 13 are seeded, with labels of at most 45 characters
		code := strings.Repeat("X", i+1)
		cat.Services = append(cat.Services, reference.Service{Code: code, Label: reference.Label{ES: "Servicio de nombre bastante largo, 45 letras"}})
		r.Services = append(r.Services, code)
	}
	cat = reference.New(cat.Categories, cat.ViolationTypes, nil, nil, cat.Institutions, cat.Services...)
	c := &casefile.Case{Reference: "PGN-2026-000042"}
	ident := &child.Identity{GivenName: ptr("Rosa"), FamilyName: ptr("Tzul")}
	for _, tc := range []struct {
		name             string
		c                *casefile.Case
		ident            *child.Identity
		shows, hidesText []string
	}{
		{"RecipientBeforeAcceptanceSeesSummary", nil, nil, []string{"Albergue", "Trata y explotaci", "13 a 17"}, []string{"PGN-2026-000042", "Motivo largo", "Rosa"}},
		{"WithCaseShowsReasonNotIdentity", c, nil, []string{"PGN-2026-000042", "Motivo largo"}, []string{"Rosa"}},
		{"WithIdentityShowsName", c, ident, []string{"Rosa Tzul"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pdf, err := render(r, tc.c, tc.ident, cat, "es", now)
			if err != nil {
				t.Fatal(err) // including one that overflows the page
			}
			if !bytes.HasPrefix(pdf, []byte("%PDF-")) || bytes.Count(pdf, []byte("/Type /Page\n")) != 1 {
				t.Fatal("not a one-page PDF")
			}
			for _, s := range tc.shows {
				if !bytes.Contains(pdf, []byte(s)) {
					t.Errorf("form lacks %q", s)
				}
			}
			for _, s := range tc.hidesText {
				if bytes.Contains(pdf, []byte(s)) {
					t.Errorf("form shows %q", s)
				}
			}
		})
	}
}
