package authz_test

import (
	"fmt"
	"testing"

	"github.com/google/uuid"

	"amparo/internal/auth"
	"amparo/internal/authz"
	"amparo/policies"
)

// benchAuthorizer has 20 institutions with 1,000 users each, every user
// holding one of the four institution roles.
func benchAuthorizer(b *testing.B) (*authz.Authorizer, []*auth.Principal) {
	b.Helper()
	roles := []string{"intake", "officer", "supervisor", "oversight"}
	var grants []authz.Grant
	var users []*auth.Principal
	for i := range 20 {
		inst := fmt.Sprintf("INST%02d", i)
		for j := range 1000 {
			p := &auth.Principal{UserID: uuid.New(), Institution: inst, Roles: []string{roles[j%len(roles)]}}
			users = append(users, p)
			grants = append(grants, authz.Grant{UserID: p.UserID, Role: p.Roles[0], Domain: inst})
		}
	}
	a, err := authz.New(policies.Model, authz.Static{Policy: policies.Policy, Grants: grants})
	if err != nil {
		b.Fatal(err)
	}
	return a, users
}

// BenchmarkDecision is one authorization decision as services make it: the
// scopes a user holds for a permission. Users vary on every call; role
// decisions come from the cache that every reload drops.
func BenchmarkDecision(b *testing.B) {
	a, users := benchAuthorizer(b)
	perms := []string{"case:read", "case:file", "note:add", "evidence:upload", "identity:read"}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		a.Scopes(users[i%len(users)], perms[i%len(perms)])
		i++
	}
}

// BenchmarkDecisionCold is the first decision after a reload (a grant
// changed somewhere): casbin evaluates the model's matcher over the policy
// for each scope. The reload itself is not timed.
func BenchmarkDecisionCold(b *testing.B) {
	a, users := benchAuthorizer(b)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		b.StopTimer()
		if err := a.Reload(); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		a.Scopes(users[i%len(users)], "case:read")
		i++
	}
}
