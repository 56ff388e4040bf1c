package authz

// RoleHolds reports whether role holds perm in domain in some scope, by the
// policy alone (no user involved): what a grant of role would give.
func (a *Authorizer) RoleHolds(role, domain, perm string) bool {
	return len(a.roleScopes(role, domain, perm)) > 0
}
