package main

import (
	"bytes"
	"strings"
	"testing"
)

// field is gqlgen's function for a field of Case whose resolver is body,
// its value of type typ marshalled by marshal: the shape gqlgen v0.17
// generates.
func field(name, body, typ, marshal string) string {
	return `func (ec *executionContext) _Case_` + name + `(ctx context.Context, field graphql.CollectedField, obj *casefile.Case) (ret graphql.Marshaler) {
	return graphql.ResolveField(
		ctx,
		ec.OperationContext,
		field,
		func(ctx context.Context, field graphql.CollectedField) (*graphql.FieldContext, error) {
			return ec.fieldContext_Case_` + name + `(ctx, field)
		},
		func(ctx context.Context) (any, error) {
			` + body + `
		},
		nil,
		func(ctx context.Context, selections ast.SelectionSet, v ` + typ + `) graphql.Marshaler {
			return ec.` + marshal + `(ctx, selections, v)
		},
		true,
		true,
	)
}
`
}

const marshalers = `func (ec *executionContext) marshalNString2string(ctx context.Context, sel ast.SelectionSet, v string) graphql.Marshaler {
	_ = sel
	res := graphql.MarshalString(v)
	if res == graphql.Null {
		graphql.AddInvalidNullFromMarshaler(ctx, "String!")
	}
	return res
}

func (ec *executionContext) marshalNChild2amparoᚋinternalᚋchildᚐChild(ctx context.Context, sel ast.SelectionSet, v child.Child) graphql.Marshaler {
	return ec._Child(ctx, sel, &v)
}

func (ec *executionContext) marshalNString2ᚕstringᚄ(ctx context.Context, sel ast.SelectionSet, v []string) graphql.Marshaler {
	ret := make(graphql.Array, len(v))
	for i := range v {
		ret[i] = ec.marshalNString2string(ctx, sel, v[i])
	}
	return ret
}
`

func TestDirect(t *testing.T) {
	leaf := field("reference", "return obj.Reference, nil", "string", "marshalNString2string")
	kept := []string{
		// an object: its fields need this field's context for their paths
		field("child", "return obj.Child, nil", "child.Child", "marshalNChild2amparoᚋinternalᚋchildᚐChild"),
		// a list
		field("tags", "return obj.Tags, nil", "[]string", "marshalNString2ᚕstringᚄ"),
		// a resolver, which can fail
		field("summary", "return ec.resolvers.Case().Summary(ctx, obj)", "string", "marshalNString2string"),
	}
	src := []byte(marshalers + leaf + strings.Join(kept, ""))
	lv := leaves([][]byte{src})
	if !lv["marshalNString2string"] || lv["marshalNChild2amparoᚋinternalᚋchildᚐChild"] || lv["marshalNString2ᚕstringᚄ"] {
		t.Fatalf("leaves = %v, want only marshalNString2string", lv)
	}

	n := 0
	out := direct(src, lv, &n)
	if n != 1 {
		t.Errorf("%d fields made direct, want 1", n)
	}
	want := "func (ec *executionContext) _Case_reference(ctx context.Context, field graphql.CollectedField, obj *casefile.Case) (ret graphql.Marshaler) {\n" +
		"\treturn ec.marshalNString2string(ctx, field.Selections, obj.Reference) // a plain leaf (graph/sequential)\n}"
	if !bytes.Contains(out, []byte(want)) {
		t.Errorf("the plain leaf was not made direct:\n%s", out)
	}
	for _, k := range kept {
		if !bytes.Contains(out, []byte(k)) {
			t.Errorf("a field that must keep graphql.ResolveField was rewritten; want it as it was:\n%s", k)
		}
	}

	n = 0
	if again := direct(out, lv, &n); !bytes.Equal(again, out) || n != 1 {
		t.Errorf("a second run changed the code or counted %d fields, want none changed and 1", n)
	}
}
