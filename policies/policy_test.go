package policies_test

import (
	"fmt"
	"slices"
	"testing"

	"github.com/google/uuid"

	"amparo/internal/auth"
	"amparo/internal/authz"
	"amparo/policies"
)

// TestPolicy pins down, role by role, which scopes each permission reaches.
// A change to policy.csv that is not also made here fails, so that every
// widening of access is a deliberate, reviewed decision.
func TestPolicy(t *testing.T) {
	users := map[string]*auth.Principal{
		"intake":     {UserID: uuid.New(), Institution: "IGM", Roles: []string{"intake"}},
		"officer":    {UserID: uuid.New(), Institution: "PGN", Roles: []string{"officer"}},
		"supervisor": {UserID: uuid.New(), Institution: "PGN", Roles: []string{"supervisor"}},
		"oversight":  {UserID: uuid.New(), Institution: "PDH", Roles: []string{"oversight"}},
		"admin":      {UserID: uuid.New(), Roles: []string{"admin"}},
	}
	var grants []authz.Grant
	for role, p := range users {
		grants = append(grants, authz.Grant{UserID: p.UserID, Role: role, Domain: p.Domain()})
	}
	a, err := authz.New(policies.Model, authz.Static{Policy: policies.Policy, Grants: grants})
	if err != nil {
		t.Fatal(err)
	}
	// permission → role → scopes held ("" none).
	want := map[string]map[string]string{
		"case:file": {"officer": "institution", "supervisor": "institution"},
		"case:read": {"officer": "own,referred,referred_history,transferred,unassigned",
			"supervisor": "institution,referred,referred_history,transferred", "oversight": "all"},
		"case:update":       {"officer": "own", "supervisor": "institution"},
		"case:assign":       {"supervisor": "institution"},
		"case:take":         {"officer": "own,unassigned", "supervisor": "institution"},
		"case:close":        {"supervisor": "institution"},
		"case:transition":   {"officer": "own", "supervisor": "institution"},
		"case:refer":        {"officer": "own", "supervisor": "institution"},
		"case:transfer":     {"supervisor": "institution"},
		"referral:read":     {"officer": "own,referred", "supervisor": "institution,referred", "oversight": "all"},
		"referral:respond":  {"officer": "referred", "supervisor": "referred"},
		"referral:complete": {"officer": "referred", "supervisor": "referred"},
		"referral:withdraw": {"officer": "own", "supervisor": "institution"},
		"note:add":          {"officer": "own,referred", "supervisor": "institution,referred"},
		"evidence:upload":   {"officer": "own,referred", "supervisor": "institution,referred"},
		"evidence:download": {"officer": "own,referred,transferred", "supervisor": "institution,referred,transferred"},
		"identity:read":     {"officer": "assigned,referred_identity", "supervisor": "institution,referred_identity"},
		"identity:reveal":   {"oversight": "all"},
		"identity:erase":    {"supervisor": "institution"},
		"child:search":      {"officer": "own,referred", "supervisor": "institution,referred"},
		"complaint:submit":  {"intake": "institution", "officer": "institution", "supervisor": "institution"},
		"complaint:read":    {"intake": "own", "officer": "institution,routed", "supervisor": "institution,routed", "oversight": "all"},
		"complaint:link":    {"officer": "institution,routed", "supervisor": "institution,routed"},
		"complaint:triage":  {"officer": "routed", "supervisor": "routed"},
		"complaint:close":   {"officer": "routed", "supervisor": "routed"},
		"complaint:contact": {"officer": "routed", "supervisor": "routed"},
		"audit:read":        {"supervisor": "institution", "oversight": "all"},
		"stats:read":        {"supervisor": "institution", "oversight": "all"},
		"stats:export":      {"supervisor": "institution", "oversight": "all"},
		"case:export":       {"supervisor": "institution", "oversight": "all"},
		"user:manage":       {"admin": "all"},
		"policy:read":       {"oversight": "all", "admin": "all"},
		"alert:read":        {"officer": "own", "supervisor": "own"},
		"alert:update":      {"officer": "own", "supervisor": "own"},
	}
	for perm, roles := range want {
		for role, p := range users {
			t.Run(fmt.Sprintf("%s/%s", perm, role), func(t *testing.T) {
				var got []string
				for s := range a.Scopes(p, perm) {
					got = append(got, string(s))
				}
				slices.Sort(got)
				if g := fmt.Sprint(got); g != fmt.Sprint(splitScopes(roles[role])) {
					t.Errorf("scopes %v, want %v", got, splitScopes(roles[role]))
				}
			})
		}
	}
	t.Run("EveryPolicyPermissionIsPinned", func(t *testing.T) {
		for _, p := range users {
			for _, perm := range a.Permissions(p) {
				if _, ok := want[perm]; !ok {
					t.Errorf("policy grants %s, which this test does not pin down", perm)
				}
			}
		}
	})
	t.Run("AdminDomainIsSystemOnly", func(t *testing.T) {
		// An admin grant recorded in an institution's domain gives nothing.
		id := uuid.New()
		b, err := authz.New(policies.Model, authz.Static{Policy: policies.Policy,
			Grants: []authz.Grant{{UserID: id, Role: "admin", Domain: "PGN"}}})
		if err != nil {
			t.Fatal(err)
		}
		if s := b.Scopes(&auth.Principal{UserID: id, Institution: "PGN"}, "user:manage"); len(s) != 0 {
			t.Errorf("admin in PGN holds user:manage %v", s)
		}
	})
	t.Run("RoleInAnotherDomainGivesNothing", func(t *testing.T) {
		p := *users["supervisor"]
		p.Institution = "SBS" // acting in SBS with a PGN grant
		if s := a.Scopes(&p, "case:read"); len(s) != 0 {
			t.Errorf("scopes %v", s)
		}
	})
}

func splitScopes(s string) []string {
	if s == "" {
		return nil
	}
	var out []string
	start := 0
	for i := 0; i <= len(s); i++ {
		if i == len(s) || s[i] == ',' {
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	slices.Sort(out)
	return out
}
