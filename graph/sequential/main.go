// Command sequential rewrites, in gqlgen's generated code, the marshalling
// of the lists named in lists so that their elements are marshalled one
// after another in the goroutine of the field holding the list, instead of
// one goroutine per element (graphql.MarshalSliceConcurrently, gqlgen's
// only way for a list of objects).
//
// A page of 50 cases holds about 100 violations: 100 goroutines per page,
// each growing its stack through gqlgen's deep marshalling and waking the
// scheduler, for fields that never wait (a violation's fields are its own
// or the reference catalog's). A list may be named here only if nothing
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
// It runs after gqlgen (go generate ./..., graph/resolver.go) and fails
// when a list named here is not found in the shape it rewrites, or no
// deferred group is found at all, so that a gqlgen upgrade that changes the
// shape is noticed, not silently skipped.
package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
)

// lists are the marshal functions, as gqlgen names them, of the lists
// marshalled sequentially.
var lists = []string{
	"marshalNViolation2ᚕamparoᚋinternalᚋcasefileᚐViolationᚄ", // Case.violations
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
	found := map[string]bool{}
	groups := 0
	for _, path := range files {
		src, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		out := src
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
			if err := os.WriteFile(path, out, 0o644); err != nil {
				return err
			}
		}
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
