package complaint

import (
	"context"
	"os"
	"slices"
	"testing"

	"amparo/internal/postgres/postgrestest"
	"amparo/internal/reference"
)

func TestMain(m *testing.M) {
	code := m.Run()
	postgrestest.Stop()
	os.Exit(code)
}

// TestRoute routes complaints by the migrated rules (reviewed in
// migrations/reference/routing_rules.csv).
func TestRoute(t *testing.T) {
	cat, err := reference.Load(context.Background(), postgrestest.New(t).App)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name                                string
		violations, perpetrators, situation []string
		want                                []string
	}{
		{"TraffickingToProsecutorAndPGN", []string{"TRAFFICKING"}, nil, []string{"WITH_FAMILY"}, []string{"MP", "PGN"}},
		{"SexualViolenceToProsecutorAndPGN", []string{"SEXUAL_RAPE"}, nil, nil, []string{"MP", "PGN"}},
		{"PoliceViolenceToPDH", []string{"VIOLENCE_PHYSICAL"}, []string{"STATE_POLICE"}, nil, []string{"PDH", "PGN"}},
		{"MigrationStaffToPDH", []string{"REFOULEMENT"}, []string{"STATE_MIGRATION"}, nil, []string{"PDH"}},
		{"UnaccompaniedToShelter", []string{"NEGLECT"}, nil, []string{"UNACCOMPANIED"}, []string{"PGN", "SBS"}},
		{"SeparatedToShelter", []string{"DENIAL_HEALTH"}, nil, []string{"WITH_FAMILY", "SEPARATED"}, []string{"MSPAS", "PDH", "SBS"}},
		{"DetentionToPDH", []string{"DETENTION_IMMIGRATION"}, nil, nil, []string{"PDH"}},
		{"AsylumDeniedToDRERAndPDH", []string{"ASYLUM_ACCESS_DENIED"}, nil, nil, []string{"IGM-DRER", "PDH"}},
		{"ChildLabourToLabourInspection", []string{"LABOUR_CHILD"}, []string{"EMPLOYER"}, nil, []string{"MINTRAB", "PGN"}},
		{"NoRuleFallsBackToPGN", []string{"OTHER"}, nil, nil, []string{"PGN"}},
		{"SeveralViolationsUnite", []string{"TRAFFICKING", "DETENTION_ARBITRARY"}, []string{"STATE_POLICE"}, []string{"UNACCOMPANIED"},
			[]string{"MP", "PDH", "PGN", "SBS"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			for _, r := range Route(cat, tt.violations, tt.perpetrators, tt.situation) {
				got = append(got, r.Institution)
				if len(r.Rules) == 0 {
					t.Errorf("%s routed by no rule", r.Institution)
				}
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("routed to %v, want %v", got, tt.want)
			}
		})
	}
	t.Run("RulesNamed", func(t *testing.T) {
		routes := Route(cat, []string{"TRAFFICKING"}, nil, nil)
		if len(routes) != 2 || !slices.Equal(routes[0].Rules, []string{"R01"}) || !slices.Equal(routes[1].Rules, []string{"R02", "R20"}) {
			t.Errorf("routes %+v", routes)
		}
	})
}
