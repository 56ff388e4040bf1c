package graph

import (
	"context"
	"crypto/sha256"
	"fmt"

	"github.com/99designs/gqlgen/complexity"
	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/handler/lru"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"
	"github.com/vektah/gqlparser/v2/parser"

	"amparo/internal/apperr"
	"amparo/internal/auth"
	"amparo/internal/request"
)

// Defaults of the limits on one operation's text. The largest operation the
// clients send (a case page with every field, or a filing with its literal
// input) is under 4 KiB, 600 tokens and 120 fields.
const (
	DefaultMaxQueryBytes = 64 << 10
	DefaultMaxTokens     = 5000
	DefaultMaxFields     = 500
	DefaultComplexity    = 2000
)

// Introspection costs, counted by the complexity limit (gqlgen's own count
// skips __schema): one __schema answers about 15 KB whatever is selected
// under it, __type a few hundred bytes.
const (
	costSchema = 200
	costType   = 20
)

// publicFields are the root query fields that answer without a token:
// following a complaint by its tracking code, and the reference data that
// the complaint form shows. Every other operation needs a signed-in user.
var publicFields = map[string]bool{
	"complaintStatus": true, "violationTypes": true, "violationCategories": true,
	"departments": true, "institutions": true, "entryPoints": true, "__typename": true,
}

// screen bounds the work a request may cause before gqlgen parses and
// validates it: the validator's cost grows with the square of the fields
// in a selection (OverlappingFieldsCanBeMerged compares every pair), so
// 50,000 duplicate fields take minutes to refuse. The text is measured,
// parsed once under a token limit (linear), and its fields counted with
// fragments expanded; only then does the request reach the validator, with
// a size it handles in milliseconds.
//
// It also decides what needs a token (everything but publicFields), and
// admits complaintStatus at most once per operation and at the rate the
// limiter allows.
type screen struct {
	maxBytes, maxTokens, maxFields int
	introspection                  bool
	status                         *Limiter
	cache                          *lru.LRU[*shape] // by the SHA-256 of the text, so that keys stay small
	// persisted is the automatic persisted queries' cache: an operation
	// sent by hash alone is screened as the text it stands for.
	persisted graphql.Cache[string]
}

// shape is what screen learned of a query text; the same text always has
// the same shape, so it is cached.
type shape struct {
	err         *apperr.Error // the text is refused, whoever sends it
	public      bool          // every operation selects public fields only
	introspects bool          // some operation selects __schema or __type
	statusCalls int           // complaintStatus fields, in the operation that has most
}

func newScreen(lim Limits, persisted graphql.Cache[string]) *screen {
	return &screen{
		maxBytes: lim.MaxQueryBytes, maxTokens: lim.MaxTokens, maxFields: lim.MaxFields,
		introspection: lim.Introspection, status: lim.StatusLimiter,
		cache: lru.New[*shape](1000), persisted: persisted,
	}
}

// check admits or refuses one operation.
//
// Errors: PAYLOAD_TOO_LARGE over the text limit; BAD_USER_INPUT over the
// token or field limits, with a NUL in a variable, with introspection while
// it is off, or with complaintStatus twice; UNAUTHENTICATED for
// a non-public operation without a token; RATE_LIMITED for complaintStatus
// over the rate.
func (s *screen) check(ctx context.Context, p *graphql.RawParams) *apperr.Error {
	query := p.Query
	if pq, ok := p.Extensions["persistedQuery"].(map[string]any); ok && query == "" {
		// Unknown hashes are gqlgen's to refuse (PersistedQueryNotFound).
		if hash, ok := pq["sha256Hash"].(string); ok {
			query, _ = s.persisted.Get(ctx, hash)
		}
	}
	if len(query) > s.maxBytes {
		return apperr.New(apperr.TooLarge,
			fmt.Sprintf("la operación excede %d KiB", s.maxBytes>>10),
			fmt.Sprintf("the operation exceeds %d KiB", s.maxBytes>>10))
	}
	for name, v := range p.Variables {
		if name == "input" {
			name = "" // fields are named inside the input, like the domain's own paths
		}
		if err := noNUL(v, name); err != nil {
			return err
		}
	}
	sum := sha256.Sum256([]byte(query))
	key := string(sum[:])
	sh, ok := s.cache.Get(ctx, key)
	if !ok {
		sh = s.measure(query)
		s.cache.Add(ctx, key, sh)
	}
	if sh.err != nil {
		return sh.err
	}
	if _, signed := auth.From(ctx); !signed && !sh.public {
		return apperr.E(apperr.Unauthenticated)
	}
	if sh.introspects && !s.introspection {
		// gqlgen would answer a path error, which reads as INTERNAL.
		return apperr.New(apperr.Invalid, "la introspección está desactivada en este servidor",
			"introspection is disabled on this server")
	}
	if sh.statusCalls > 1 {
		return apperr.New(apperr.Invalid, "una sola consulta complaintStatus por operación",
			"one complaintStatus per operation")
	}
	if sh.statusCalls == 1 && s.status != nil && !s.status.allow(request.From(ctx).ClientAddr) {
		return apperr.New(apperr.RateLimited, "demasiadas consultas de seguimiento; intente en unos minutos",
			"too many status queries; try again in a few minutes")
	}
	return nil
}

// measure parses query under the token limit and counts its fields.
func (s *screen) measure(query string) *shape {
	doc, err := parser.ParseQueryWithTokenLimit(&ast.Source{Input: query}, s.maxTokens)
	if err != nil {
		// Syntax errors are reported by gqlgen, with their location; only
		// the token limit is screen's to report.
		if ge, ok := err.(*gqlerror.Error); ok && ge.Message == fmt.Sprintf("exceeded token limit of %d", s.maxTokens) {
			return &shape{err: apperr.New(apperr.Invalid,
				fmt.Sprintf("la operación excede %d símbolos", s.maxTokens),
				fmt.Sprintf("the operation exceeds %d tokens", s.maxTokens))}
		}
		return &shape{public: false}
	}
	c := counter{frags: map[string]*ast.FragmentDefinition{}, memo: map[string]int{}, limit: s.maxFields}
	for _, f := range doc.Fragments {
		c.frags[f.Name] = f
	}
	total := 0
	for _, f := range doc.Fragments {
		total += c.count(f.SelectionSet, 0)
	}
	sh := &shape{public: len(doc.Operations) > 0}
	for _, op := range doc.Operations {
		total += c.count(op.SelectionSet, 0)
		roots := c.roots(op.SelectionSet, map[string]bool{}, nil)
		calls := 0
		for _, name := range roots {
			if name == "complaintStatus" {
				calls++
			}
			if name == "__schema" || name == "__type" {
				sh.introspects = true
			}
			if op.Operation != ast.Query || !(publicFields[name] || s.introspection && (name == "__schema" || name == "__type")) {
				sh.public = false
			}
		}
		sh.statusCalls = max(sh.statusCalls, calls)
	}
	if total > s.maxFields {
		sh.err = apperr.New(apperr.Invalid,
			fmt.Sprintf("la operación tiene más de %d campos", s.maxFields),
			fmt.Sprintf("the operation has more than %d fields", s.maxFields))
	}
	return sh
}

// counter counts fields with fragment spreads expanded, each fragment
// counted once and reused, a cycle counted as nothing (the validator
// refuses it), and every sum capped just past the limit.
type counter struct {
	frags map[string]*ast.FragmentDefinition
	memo  map[string]int
	limit int
}

func (c *counter) count(set ast.SelectionSet, depth int) int {
	n := 0
	for _, sel := range set {
		switch sel := sel.(type) {
		case *ast.Field:
			n += 1 + c.count(sel.SelectionSet, depth+1)
		case *ast.InlineFragment:
			n += c.count(sel.SelectionSet, depth+1)
		case *ast.FragmentSpread:
			n += c.fragment(sel.Name, depth)
		}
		if n > c.limit {
			return c.limit + 1
		}
	}
	return n
}

func (c *counter) fragment(name string, depth int) int {
	if n, ok := c.memo[name]; ok {
		return n
	}
	f, ok := c.frags[name]
	if !ok {
		return 0
	}
	c.memo[name] = 0 // a spread of name inside name counts as nothing
	n := c.count(f.SelectionSet, depth+1)
	c.memo[name] = n
	return n
}

// roots lists the root field names of set, through fragments.
func (c *counter) roots(set ast.SelectionSet, seen map[string]bool, out []string) []string {
	for _, sel := range set {
		switch sel := sel.(type) {
		case *ast.Field:
			out = append(out, sel.Name)
		case *ast.InlineFragment:
			out = c.roots(sel.SelectionSet, seen, out)
		case *ast.FragmentSpread:
			if f, ok := c.frags[sel.Name]; ok && !seen[sel.Name] {
				seen[sel.Name] = true
				out = c.roots(f.SelectionSet, seen, out)
			}
		}
	}
	return out
}

// noNUL refuses a NUL character in any string variable: PostgreSQL cannot
// store one in text, and no form field has a use for it.
func noNUL(v any, path string) *apperr.Error {
	switch v := v.(type) {
	case string:
		for i := 0; i < len(v); i++ {
			if v[i] == 0 {
				e := apperr.New(apperr.Invalid, "el texto contiene un carácter nulo", "the text contains a NUL character")
				e.Field = path
				return e
			}
		}
	case map[string]any:
		for k, x := range v {
			p := k
			if path != "" {
				p = path + "." + k
			}
			if err := noNUL(x, p); err != nil {
				return err
			}
		}
	case []any:
		for i, x := range v {
			if err := noNUL(x, fmt.Sprintf("%s[%d]", path, i)); err != nil {
				return err
			}
		}
	}
	return nil
}

// costLimit refuses an operation whose complexity, introspection included,
// exceeds limit: gqlgen's FixedComplexityLimit counts __schema as nothing,
// so 300 aliased __schema answered 4.5 MB.
type costLimit struct {
	es    graphql.ExecutableSchema
	limit int
}

var _ interface {
	graphql.HandlerExtension
	graphql.OperationContextMutator
} = costLimit{}

func (costLimit) ExtensionName() string { return "CostLimit" }

func (c costLimit) Validate(es graphql.ExecutableSchema) error { return nil }

func (c costLimit) MutateOperationContext(ctx context.Context, oc *graphql.OperationContext) *gqlerror.Error {
	n := complexity.Calculate(ctx, c.es, oc.Operation, oc.Variables) + introspectionCost(oc.Operation.SelectionSet, 0)
	if n <= c.limit {
		return nil
	}
	return &gqlerror.Error{Err: apperr.New(apperr.Invalid,
		fmt.Sprintf("la operación cuesta %d, más que el límite de %d", n, c.limit),
		fmt.Sprintf("the operation costs %d, over the limit of %d", n, c.limit)),
		Message: "operation too complex", Extensions: map[string]any{"code": "COMPLEXITY_LIMIT_EXCEEDED"}}
}

// introspectionCost is what __schema and __type fields cost, fragments
// expanded (a validated operation has no fragment cycles).
func introspectionCost(set ast.SelectionSet, depth int) int {
	if depth > 64 {
		return 0
	}
	n := 0
	for _, sel := range set {
		switch sel := sel.(type) {
		case *ast.Field:
			switch sel.Name {
			case "__schema":
				n += costSchema
			case "__type":
				n += costType
			default:
				n += introspectionCost(sel.SelectionSet, depth+1)
			}
		case *ast.InlineFragment:
			n += introspectionCost(sel.SelectionSet, depth+1)
		case *ast.FragmentSpread:
			if sel.Definition != nil {
				n += introspectionCost(sel.Definition.SelectionSet, depth+1)
			}
		}
	}
	return n
}

// noDefer refuses an operation that asks for @defer. gqlgen's prelude
// declares the directive, but Amparo's transports answer one response per
// operation: the deferred parts would never reach the client, while their
// resolvers still ran after the answer was written. Refusing it also lets
// the generated code skip the per-object bookkeeping @defer needs
// (graph/sequential).
type noDefer struct{}

var _ interface {
	graphql.HandlerExtension
	graphql.OperationContextMutator
} = noDefer{}

func (noDefer) ExtensionName() string { return "NoDefer" }

func (noDefer) Validate(graphql.ExecutableSchema) error { return nil }

func (noDefer) MutateOperationContext(_ context.Context, oc *graphql.OperationContext) *gqlerror.Error {
	if !defers(oc.Operation.SelectionSet, 0) {
		return nil
	}
	return &gqlerror.Error{Err: apperr.New(apperr.Invalid,
		"@defer no está disponible: pida esos campos sin @defer",
		"@defer is not supported: ask for those fields without @defer"),
		Message: "@defer is not supported"}
}

// defers tells whether a fragment in set, or beneath it, carries @defer
// (fragments expanded; a validated operation has no fragment cycles).
func defers(set ast.SelectionSet, depth int) bool {
	if depth > 64 {
		return false
	}
	for _, sel := range set {
		switch sel := sel.(type) {
		case *ast.Field:
			if defers(sel.SelectionSet, depth+1) {
				return true
			}
		case *ast.InlineFragment:
			if sel.Directives.ForName("defer") != nil || defers(sel.SelectionSet, depth+1) {
				return true
			}
		case *ast.FragmentSpread:
			if sel.Directives.ForName("defer") != nil {
				return true
			}
			if sel.Definition != nil && defers(sel.Definition.SelectionSet, depth+1) {
				return true
			}
		}
	}
	return false
}
