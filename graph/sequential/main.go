// Command sequential rewrites, in gqlgen's generated code, the marshalling
// of the lists named in lists so that their elements are marshalled one
// after another in the goroutine of the field holding the list, instead of
// one goroutine per element (graphql.MarshalSliceConcurrently, gqlgen's
// only way for a list of objects).
//
// A page of 50 cases holds 50 edges and about 100 violations: 150
// goroutines per page, each growing its stack through gqlgen's deep
// marshalling and waking the scheduler, for fields that never wait (a
// violation's fields are its own or the reference catalog's; a case's are
// loaded for the whole page first). A list may be named here only if nothing
// beneath its elements waits on a loader: a loader batches the keys that
// arrive within its wait window, and elements marshalled one by one would
// each wait it out alone.
//
// It also drops, from every object's marshalling, the group gqlgen makes
// for @defer'd fields (graphql.NewDeferredGroup: the object's whole path, a
// field set and a map, for each of the ~350 objects of a page, about an
// eighth of a page's allocations). Amparo refuses @defer before execution
// (noDefer in graph/screen.go), so the group stays empty; a zero group is
// what gqlgen reads when it is empty.
//
// And it marshals a plain leaf field (its resolver is `return obj.F, nil`,
// no directive, its value a scalar or an enum) directly, without
// graphql.ResolveField: that gives each field a FieldContext, a context, a
// deferred recover, closures and the value boxed in an interface, about
// six allocations for a read that cannot fail or panic. A page of 50 cases
// holds some 400 such fields. What the field gives up: field middleware
// (Amparo's only one, splitInvalid, acts on errors, which a plain read
// has none of) and a path of its own for a null from its marshaler (the
// marshalers of Amparo's scalars and gqlgen's built-in ones never give
// null for a value).
//
// It runs after gqlgen (go generate ./..., graph/resolver.go) and fails
// when a list named here is not found in the shape it rewrites, no
// deferred group is found at all, or no leaf field is, so that a gqlgen
// upgrade that changes the shape is noticed, not silently skipped.
package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"regexp"

	"golang.org/x/tools/imports"
)

// lists are the marshal functions, as gqlgen names them, of the lists
// marshalled sequentially.
var lists = []string{
	"marshalNViolation2ᚕamparoᚋinternalᚋcasefileᚐViolationᚄ", // Case.violations
	// CaseConnection.edges: Query.cases, its only source, loads every
	// loader-backed field its nodes select for the whole page before they
	// are marshalled (graph/prefetch.go), so none of them waits. A page of
	// 50 spent about a tenth of its CPU growing the stacks of its 50 edge
	// goroutines.
	"marshalNCaseEdge2ᚕᚖamparoᚋgraphᚋmodelᚐCaseEdgeᚄ",
}

// concurrent is gqlgen's body for a list of objects; $1 marshals one.
var concurrent = regexp.MustCompile(`ret := graphql\.MarshalSliceConcurrently\(ctx, len\(v\), \d+, (?:true|false), func\(ctx context\.Context, i int\) graphql\.Marshaler \{
\t\tfc := graphql\.GetFieldContext\(ctx\)
\t\tfc\.Result = &v\[i\]
\t\treturn (ec\.[^(]+)\(ctx, sel, v\[i\]\)
\t\}\)`)

const sequential = `ret := make(graphql.Array, len(v))
	for i := range v { // one by one, in this goroutine (graph/sequential)
		fc := &graphql.FieldContext{Index: &i, Result: &v[i]}
		ret[i] = $1(graphql.WithFieldContext(ctx, fc), sel, v[i])
	}`

// deferredGroup is gqlgen's per-object group, and what replaces it.
var (
	deferredGroup = []byte("deferred := graphql.NewDeferredGroup(ctx)")
	noGroup       = []byte("var deferred graphql.DeferredGroup // @defer is refused (graph/sequential)")
)

// plainField is gqlgen's function for a field read straight from its
// object: $1 the function's head, $2 the Go field, $3 the value's type,
// $4 its marshaler.
var plainField = regexp.MustCompile(`(func \(ec \*executionContext\) _\w+\(ctx context\.Context, field graphql\.CollectedField, obj [^)]+\) \(ret graphql\.Marshaler\) \{)
\treturn graphql\.ResolveField\(
\t\tctx,
\t\tec\.OperationContext,
\t\tfield,
\t\tfunc\(ctx context\.Context, field graphql\.CollectedField\) \(\*graphql\.FieldContext, error\) \{
\t\t\treturn ec\.fieldContext_\w+\(ctx, field\)
\t\t\},
\t\tfunc\(ctx context\.Context\) \(any, error\) \{
\t\t\treturn obj\.(\w+), nil
\t\t\},
\t\tnil,
\t\tfunc\(ctx context\.Context, selections ast\.SelectionSet, v ([^)]+)\) graphql\.Marshaler \{
\t\t\treturn ec\.([^(]+)\(ctx, selections, v\)
\t\t\},
\t\ttrue,
\t\t(?:true|false),
\t\)
\}`)

const directField = "$1\n\treturn ec.$4(ctx, field.Selections, obj.$2) // a plain leaf (graph/sequential)\n}"

// marshalFunc finds a marshaler's body in gqlgen's output: $1 its name.
var marshalFunc = regexp.MustCompile(`(?s)func \(ec \*executionContext\) (marshal[^(]+)\(ctx context\.Context, sel ast\.SelectionSet, v [^)]+\) graphql\.Marshaler \{\n(.*?)\n\}\n`)

// leaves are the marshalers that call no other: those of scalars and
// enums, not of objects or lists.
func leaves(srcs [][]byte) map[string]bool {
	out := map[string]bool{}
	for _, src := range srcs {
		for _, m := range marshalFunc.FindAllSubmatch(src, -1) {
			if !bytes.Contains(m[2], []byte("ec.")) {
				out[string(m[1])] = true
			}
		}
	}
	return out
}

// direct rewrites src's plain leaf fields, counting them in *n.
func direct(src []byte, leaf map[string]bool, n *int) []byte {
	*n += bytes.Count(src, []byte("// a plain leaf (graph/sequential)"))
	var out []byte
	last := 0
	for _, m := range plainField.FindAllSubmatchIndex(src, -1) {
		typ, marshal := src[m[6]:m[7]], src[m[8]:m[9]]
		if bytes.HasPrefix(typ, []byte("[]")) || !leaf[string(marshal)] {
			continue
		}
		*n++
		out = append(out, src[last:m[0]]...)
		out = plainField.Expand(out, []byte(directField), src, m)
		last = m[1]
	}
	return append(out, src[last:]...)
}

func main() {
	if err := run("generated"); err != nil {
		fmt.Fprintln(os.Stderr, "sequential:", err)
		os.Exit(1)
	}
}

func run(dir string) error {
	files, err := filepath.Glob(filepath.Join(dir, "*.generated.go"))
	if err != nil {
		return err
	}
	srcs := make([][]byte, len(files))
	for i, path := range files {
		if srcs[i], err = os.ReadFile(path); err != nil {
			return err
		}
	}
	leaf := leaves(srcs)
	found := map[string]bool{}
	groups, plain := 0, 0
	for i, path := range files {
		src := srcs[i]
		out := direct(src, leaf, &plain)
		groups += bytes.Count(out, deferredGroup) + bytes.Count(out, noGroup)
		out = bytes.ReplaceAll(out, deferredGroup, noGroup)
		for _, name := range lists {
			head := []byte("func (ec *executionContext) " + name + "(")
			start := bytes.Index(out, head)
			if start < 0 {
				continue
			}
			end := bytes.Index(out[start:], []byte("\n}\n"))
			if end < 0 {
				return fmt.Errorf("%s: %s has no end", path, name)
			}
			body := out[start : start+end]
			if bytes.Contains(body, []byte("(graph/sequential)")) {
				found[name] = true // already rewritten
				continue
			}
			if !concurrent.Match(body) {
				return fmt.Errorf("%s: %s is not in the shape this rewrites (a gqlgen upgrade?)", path, name)
			}
			rewritten := concurrent.ReplaceAll(body, []byte(sequential))
			out = append(append(append([]byte{}, out[:start]...), rewritten...), out[start+end:]...)
			found[name] = true
		}
		if !bytes.Equal(out, src) {
			// A file whose time or uuid fields are all direct now no
			// longer needs gqlgen's import of them.
			if out, err = imports.Process(path, out, &imports.Options{Comments: true, TabIndent: true, TabWidth: 8}); err != nil {
				return fmt.Errorf("%s: %w", path, err)
			}
			if err := os.WriteFile(path, out, 0o644); err != nil {
				return err
			}
		}
	}
	if plain == 0 {
		return fmt.Errorf("no plain leaf field in %s (a gqlgen upgrade?)", dir)
	}
	if groups == 0 {
		return fmt.Errorf("no %s in %s (a gqlgen upgrade?)", deferredGroup, dir)
	}
	for _, name := range lists {
		if !found[name] {
			return fmt.Errorf("no generated function %s", name)
		}
	}
	return nil
}
