package graph

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/uuid"

	"amparo/internal/auth"
)

// worstShapes are the operations that cost the parser and validator most:
// the attacks of issue 10, and for each limit the largest shape it lets
// through or the one just past it.
func worstShapes() map[string]string {
	rep := func(s string, n int) string { return strings.Repeat(s+" ", n) }
	aliases := func(n int, field string) string {
		var b strings.Builder
		for i := range n {
			fmt.Fprintf(&b, "a%d: %s ", i, field)
		}
		return b.String()
	}
	var frags strings.Builder
	frags.WriteString("{ ...F30 } fragment F0 on Query { __typename } ")
	for i := 1; i <= 30; i++ {
		fmt.Fprintf(&frags, "fragment F%d on Query { ...F%d ...F%d } ", i, i-1, i-1)
	}
	var vars strings.Builder
	vars.WriteString("query(")
	for i := range 1200 {
		fmt.Fprintf(&vars, "$v%d: Int ", i)
	}
	vars.WriteString(") { __typename }")
	return map[string]string{
		"Issue/50000DuplicateFields":   "{ me { user { " + rep("email", 50_000) + "} } }",
		"Issue/20000Typename":          "{ " + rep("__typename", 20_000) + "}",
		"Issue/300AliasedSchema":       "{ " + aliases(300, "__schema { types { name fields { name } } }") + "}",
		"Limit/499DuplicateFields":     "{ " + rep("__typename", 499) + "}",
		"Limit/499AliasedFields":       "{ " + aliases(499, "__typename") + "}",
		"Limit/5000Tokens":             "{ " + rep("__typename", 4990) + "}",
		"Limit/64KiBOneString":         `{ __type(name: "` + strings.Repeat("x", 64<<10-40) + `") { name } }`,
		"Limit/ExponentialFragments":   frags.String(),
		"Limit/1200UnusedVariables":    vars.String(),
		"Limit/800DuplicateDirectives": "{ __typename " + rep("@skip(if: false)", 800) + "}",
		"Limit/9SchemaWithinCost":      "{ " + aliases(9, "__schema { queryType { name } }") + "}",
	}
}

// BenchmarkWorstShapes measures the server's CPU for one request of each
// worst shape, answered or refused, through the real handler (no storage is
// reached: each is refused or answered before any resolver needs it).
//
//	go test ./graph -run '^$' -bench WorstShapes
func BenchmarkWorstShapes(b *testing.B) {
	h := NewHandler(&Resolver{Log: slog.New(slog.DiscardHandler)}, Limits{Introspection: true})
	p := &auth.Principal{UserID: uuid.New(), Email: "officer@pgn.demo", Institution: "PGN", Roles: []string{"officer"}}
	for name, q := range worstShapes() {
		body, _ := json.Marshal(map[string]any{"query": q})
		b.Run(name, func(b *testing.B) {
			b.SetBytes(int64(len(body)))
			for b.Loop() {
				req := httptest.NewRequest(http.MethodPost, "/graphql", bytes.NewReader(body))
				req.Header.Set("Content-Type", "application/json")
				req = req.WithContext(auth.With(req.Context(), p))
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, req)
				if rec.Code == http.StatusInternalServerError || strings.Contains(rec.Body.String(), `"INTERNAL"`) {
					b.Fatalf("%d %s", rec.Code, rec.Body)
				}
				_, _ = io.Copy(io.Discard, rec.Body)
			}
		})
	}
}
