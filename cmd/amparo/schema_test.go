package main

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/vektah/gqlparser/v2"
	"github.com/vektah/gqlparser/v2/ast"

	"amparo/graph"
	"amparo/graph/generated"
)

// TestSchemaCommandPrintsTheServedSchema checks that `amparo schema` prints
// a schema that parses and is the one the server serves (the embedded,
// generated one) and the one graph/*.graphqls defines, descriptions
// included: nothing is lost in printing it.
func TestSchemaCommandPrintsTheServedSchema(t *testing.T) {
	var out, errs bytes.Buffer
	if err := run(t.Context(), []string{"schema"}, func(string) string { return "" }, &out, &errs); err != nil {
		t.Fatalf("amparo schema: %v (%s)", err, errs.String())
	}
	printed, err := gqlparser.LoadSchema(&ast.Source{Name: "amparo schema", Input: out.String()})
	if err != nil {
		t.Fatalf("the printed schema does not parse: %v", err)
	}
	files, _ := filepath.Glob("../../graph/*.graphqls")
	var sources []*ast.Source
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		sources = append(sources, &ast.Source{Name: f, Input: string(b)})
	}
	defined, err := gqlparser.LoadSchema(sources...)
	if err != nil {
		t.Fatal(err)
	}
	served := graph.FormatSchema(generated.NewExecutableSchema(generated.Config{}).Schema())
	for name, got := range map[string]string{"printed and parsed again": graph.FormatSchema(printed), "defined in graph/*.graphqls": graph.FormatSchema(defined)} {
		if got != served {
			t.Errorf("the schema %s differs from the served one (run go generate ./...)", name)
		}
	}
	if out.String() != served {
		t.Error("amparo schema does not print the served schema")
	}
	if printed.Types["Node"] == nil || printed.Types["Case"].Fields.ForName("nodeId").Description == "" {
		t.Error("the printed schema lacks Node or its descriptions")
	}
	if err := run(t.Context(), []string{"schema", "extra"}, func(string) string { return "" }, &out, &errs); err != exitError(2) {
		t.Errorf("amparo schema extra = %v, want usage and exit 2", err)
	}
}
