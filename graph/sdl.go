package graph

import (
	"strings"

	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/formatter"

	"amparo/graph/generated"
)

// SDL is the merged schema the server serves (every graph/*.graphqls, as
// embedded at generation), in the GraphQL schema language with its
// descriptions: what `amparo schema` prints for client tooling to use
// offline.
func SDL() string { return FormatSchema(generated.NewExecutableSchema(generated.Config{}).Schema()) }

// FormatSchema writes s in the schema language, GraphQL's own types left out.
func FormatSchema(s *ast.Schema) string {
	var b strings.Builder
	formatter.NewFormatter(&b, formatter.WithIndent("  ")).FormatSchema(s)
	return b.String()
}
