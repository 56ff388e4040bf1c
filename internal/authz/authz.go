// Package authz answers "may this principal use this permission, and over
// which records": casbin decides which scopes a role holds in a domain
// (policies/), and each domain's store turns the scopes into a SQL predicate
// over the record. Both checks are needed on every path: a role check alone
// is the record-access bug this package exists to prevent.
package authz

import (
	"context"
	"fmt"
	"sync"

	"github.com/casbin/casbin/v2"
	"github.com/casbin/casbin/v2/model"
	"github.com/casbin/casbin/v2/persist"
	"github.com/google/uuid"

	"amparo/internal/apperr"
	"amparo/internal/auth"
)

// Scope names which records a permission reaches.
type Scope string

// The scopes of policies/model.conf.
const (
	Own         Scope = "own"
	Assigned    Scope = "assigned"
	Institution Scope = "institution"
	Referred    Scope = "referred"
	All         Scope = "all"
	// Routed reaches complaints routed to the caller's institution.
	Routed Scope = "routed"
	// Unassigned reaches cases of the caller's institution that nobody is
	// assigned to: the queue an officer may take a case from.
	Unassigned Scope = "unassigned"
	// Scopes of referrals and transfers (see kind.go for what each reaches).
	ReferredIdentity Scope = "referred_identity"
	ReferredHistory  Scope = "referred_history"
	Transferred      Scope = "transferred"
)

var allScopes = []Scope{All, Institution, Referred, Routed, Unassigned, Own, Assigned, ReferredIdentity, ReferredHistory, Transferred}

// Scopes is the set of scopes a principal holds for one permission.
type Scopes map[Scope]bool

// Has reports whether s includes scope.
func (s Scopes) Has(scope Scope) bool { return s[scope] }

// Grant is one (user, role, domain) grouping rule.
type Grant struct {
	UserID uuid.UUID
	Role   string
	Domain string
}

// Authorizer wraps a casbin enforcer. It is safe for concurrent use.
type Authorizer struct {
	mu       sync.RWMutex
	enforcer *casbin.Enforcer
	perms    []string
	cache    map[string]Scopes // role|dom|perm → scopes; dropped on every reload

	// Told of every reload, and whether changes are being heard (Watch).
	listeners []func(trusted bool)
	listening bool
}

// New builds an Authorizer from a model (policies.Model) and an adapter
// that supplies the policy and grouping rules (DB in the server, Static in
// tests of the policy).
func New(modelText string, adapter persist.Adapter) (*Authorizer, error) {
	m, err := model.NewModelFromString(modelText)
	if err != nil {
		return nil, fmt.Errorf("authz: model: %w", err)
	}
	e, err := casbin.NewEnforcer(m, adapter)
	if err != nil {
		return nil, fmt.Errorf("authz: load: %w", err)
	}
	e.EnableAutoSave(false)
	a := &Authorizer{enforcer: e}
	a.reset()
	return a, nil
}

// Reload reads every rule again and drops cached decisions. casbin's own
// cache does not invalidate itself, so the Authorizer keeps its own and
// clears it here, the only place rules change.
func (a *Authorizer) Reload() error {
	a.mu.Lock()
	if err := a.enforcer.LoadPolicy(); err != nil {
		a.mu.Unlock()
		return fmt.Errorf("authz: reload: %w", err)
	}
	a.reset()
	fns, trusted := a.listeners, a.listening
	a.mu.Unlock()
	for _, fn := range fns {
		fn(trusted)
	}
	return nil
}

// OnChange registers fn to be called after every reload, with trusted true
// while Watch hears every change, and at once with false when it stops
// hearing them. Caches of what grants decide (auth.Users) hang on it.
func (a *Authorizer) OnChange(fn func(trusted bool)) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.listeners = append(a.listeners, fn)
}

// setListening records whether Watch hears changes, telling the listeners
// when it stops.
func (a *Authorizer) setListening(on bool) {
	a.mu.Lock()
	was := a.listening
	a.listening = on
	fns := a.listeners
	a.mu.Unlock()
	if was && !on {
		for _, fn := range fns {
			fn(false)
		}
	}
}

// reset drops the cache and lists the permissions the policy names; the
// caller holds the lock (or is the constructor).
func (a *Authorizer) reset() {
	a.cache = map[string]Scopes{}
	a.perms = a.perms[:0]
	seen := map[string]bool{}
	rules, _ := a.enforcer.GetPolicy()
	for _, r := range rules {
		if len(r) > 2 && !seen[r[2]] {
			seen[r[2]] = true
			a.perms = append(a.perms, r[2])
		}
	}
}

// Scopes returns the scopes in which p holds perm; empty when none.
//
// A decision is split in two, both answered by casbin: which roles the user
// holds in the domain (the role manager, a map lookup), and which scopes
// each role holds for the permission (the model's matcher, evaluated with
// the role as subject, which g() relates to itself). The second part is the
// expensive one, a matcher evaluation per policy rule, and depends only on
// (role, domain, permission): it is cached, for a few thousand entries at
// most whatever the number of users, and the cache is dropped on reload.
func (a *Authorizer) Scopes(p *auth.Principal, perm string) Scopes {
	dom := p.Domain()
	a.mu.RLock()
	roles, err := a.enforcer.GetImplicitRolesForUser(p.UserID.String(), dom)
	a.mu.RUnlock()
	if err != nil {
		return Scopes{}
	}
	out := Scopes{}
	for _, role := range roles {
		for sc := range a.roleScopes(role, dom, perm) {
			out[sc] = true
		}
	}
	return out
}

// roleScopes is the cached decision for a role.
func (a *Authorizer) roleScopes(role, dom, perm string) Scopes {
	key := role + "|" + dom + "|" + perm
	a.mu.RLock()
	s, ok := a.cache[key]
	a.mu.RUnlock()
	if ok {
		return s
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	s = Scopes{}
	for _, sc := range allScopes {
		// Enforce only errs on a malformed model, which New already rejected.
		if ok, _ := a.enforcer.Enforce(role, dom, perm, string(sc)); ok {
			s[sc] = true
		}
	}
	a.cache[key] = s
	return s
}

// Check returns the scopes in which the principal in ctx holds perm.
//
// Errors: UNAUTHENTICATED without a principal; FORBIDDEN when the principal
// holds perm in no scope.
func (a *Authorizer) Check(ctx context.Context, perm string) (*auth.Principal, Scopes, error) {
	p, err := auth.Require(ctx)
	if err != nil {
		return nil, nil, err
	}
	s := a.Scopes(p, perm)
	if len(s) == 0 {
		return p, nil, &apperr.Error{Op: perm, Kind: apperr.Forbidden}
	}
	return p, s, nil
}

// Permissions lists every permission p holds in some scope, in policy order.
func (a *Authorizer) Permissions(p *auth.Principal) []string {
	var out []string
	for _, perm := range a.perms {
		if len(a.Scopes(p, perm)) > 0 {
			out = append(out, perm)
		}
	}
	return out
}
