package graph

import (
	"strings"
	"testing"

	"amparo/graph/generated"
)

// TestEverythingIsDescribed walks the merged schema: every type, field,
// argument and enum value that Amparo defines has a description, which
// client tooling and GraphiQL show.
func TestEverythingIsDescribed(t *testing.T) {
	var missing []string
	for _, d := range generated.NewExecutableSchema(generated.Config{}).Schema().Types {
		if d.BuiltIn || strings.HasPrefix(d.Name, "__") {
			continue
		}
		if strings.TrimSpace(d.Description) == "" {
			missing = append(missing, d.Name)
		}
		for _, f := range d.Fields {
			if strings.HasPrefix(f.Name, "__") { // __schema, __type: GraphQL's own
				continue
			}
			if strings.TrimSpace(f.Description) == "" {
				missing = append(missing, d.Name+"."+f.Name)
			}
			for _, a := range f.Arguments {
				if strings.TrimSpace(a.Description) == "" {
					missing = append(missing, d.Name+"."+f.Name+"("+a.Name+":)")
				}
			}
		}
		for _, v := range d.EnumValues {
			if strings.TrimSpace(v.Description) == "" {
				missing = append(missing, d.Name+"."+v.Name)
			}
		}
	}
	if len(missing) > 0 {
		t.Errorf("%d without a description:\n%s", len(missing), strings.Join(missing, "\n"))
	}
}
