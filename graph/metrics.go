package graph

import (
	"context"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/vektah/gqlparser/v2/ast"
)

// Metrics is a gqlgen handler extension that counts operations by name and
// outcome code and times them:
//
//	amparo_graphql_operations_total{operation,code}
//	amparo_graphql_operation_duration_seconds{operation}
//
// The operation label is the name of the operation's first root field
// ("fileCase", "cases"), which the schema bounds; not the operation name the
// client chose, which any client could vary to explode the number of series.
// Requests refused before an operation was chosen (unparsable, invalid) are
// "invalid"; introspection is "introspection". code is the first error's
// extensions.code, or OK.
type Metrics struct {
	ops      *prometheus.CounterVec
	duration *prometheus.HistogramVec
}

var (
	_ graphql.HandlerExtension    = (*Metrics)(nil)
	_ graphql.ResponseInterceptor = (*Metrics)(nil)
)

// NewMetrics registers the GraphQL metrics with reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		ops: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "amparo_graphql_operations_total",
			Help: "GraphQL operations by first root field and outcome code (OK or extensions.code of the first error).",
		}, []string{"operation", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "amparo_graphql_operation_duration_seconds",
			Help:    "GraphQL operation duration, from the start of reading the request to the response, by first root field.",
			Buckets: prometheus.ExponentialBuckets(0.002, 2, 14),
		}, []string{"operation"}),
	}
	reg.MustRegister(m.ops, m.duration)
	return m
}

// ExtensionName implements graphql.HandlerExtension.
func (m *Metrics) ExtensionName() string { return "AmparoMetrics" }

// Validate implements graphql.HandlerExtension.
func (m *Metrics) Validate(graphql.ExecutableSchema) error { return nil }

// InterceptResponse implements graphql.ResponseInterceptor. It sees every
// response, request errors included (gqlgen's DispatchError runs response
// interceptors too).
func (m *Metrics) InterceptResponse(ctx context.Context, next graphql.ResponseHandler) *graphql.Response {
	resp := next(ctx)
	name, start := "invalid", time.Time{}
	if graphql.HasOperationContext(ctx) {
		oc := graphql.GetOperationContext(ctx)
		if oc.Operation != nil && oc.Operation.Operation == ast.Subscription {
			return resp // one response per event, not per operation
		}
		name, start = operationLabel(oc.Operation), oc.Stats.OperationStart
	}
	code := "OK"
	if resp != nil && len(resp.Errors) > 0 {
		code = "INTERNAL"
		if c, ok := resp.Errors[0].Extensions["code"].(string); ok {
			code = c
		}
	}
	m.ops.WithLabelValues(name, code).Inc()
	if !start.IsZero() {
		m.duration.WithLabelValues(name).Observe(time.Since(start).Seconds())
	}
	return resp
}

// operationLabel is the first root field of op, by its schema name.
func operationLabel(op *ast.OperationDefinition) string {
	if op == nil {
		return "invalid"
	}
	for _, sel := range op.SelectionSet {
		f, ok := sel.(*ast.Field)
		if !ok || f.Name == "__typename" {
			continue // fragments and __typename: look further
		}
		if f.Name == "__schema" || f.Name == "__type" {
			return "introspection"
		}
		if f.Definition != nil {
			return f.Definition.Name
		}
		return f.Name
	}
	return "other"
}
