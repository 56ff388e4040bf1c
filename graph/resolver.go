// Package graph is Amparo's GraphQL layer: the schema (*.graphqls, one file
// per domain), thin resolvers that call the domain services, the HTTP
// handler with its limits and transports, and the error presenter. It never
// touches the database, the object store or casbin directly.
package graph

//go:generate sh -c "cd .. && go tool gqlgen generate"
//go:generate go run ./sequential

import (
	"log/slog"

	"amparo/internal/alert"
	"amparo/internal/audit"
	"amparo/internal/authz"
	"amparo/internal/casefile"
	"amparo/internal/complaint"
	"amparo/internal/evidence"
	"amparo/internal/reference"
	"amparo/internal/referral"
	"amparo/internal/statistics"
	"amparo/internal/user"
)

// Services are the domain services the resolvers call. They are grouped so
// that their names cannot clash with the resolvers' own methods (the query
// `cases` is a method Cases).
type Services struct {
	Cases      *casefile.Service
	Complaints *complaint.Service
	Evidence   *evidence.Service
	Users      *user.Service
	Audit      *audit.Service
	Alerts     *alert.Service
	Statistics *statistics.Service
	Referrals  *referral.Service
}

// Resolver holds what the resolvers need.
type Resolver struct {
	Authz   *authz.Authorizer
	Catalog *reference.Catalog
	Svc     Services
	Log     *slog.Logger
	// Websocket is how subscriptions are served (graph/subscription.go).
	Websocket Websocket
}
