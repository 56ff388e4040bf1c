// Package policies embeds Amparo's casbin model and policy, the source of
// truth for what each role may do (see model.conf for the request shape and
// policy.csv for the reason behind every rule).
package policies

import _ "embed"

// Model is the casbin model (RBAC with domains, plus a record scope).
//
//go:embed model.conf
var Model string

// Policy is the casbin policy: role, domain, permission, scope.
//
//go:embed policy.csv
var Policy string
