package graph

import (
	"mime"
	"net/http"
	"time"

	"github.com/99designs/gqlgen/graphql/handler"
	"github.com/99designs/gqlgen/graphql/handler/extension"
	"github.com/99designs/gqlgen/graphql/handler/lru"
	"github.com/99designs/gqlgen/graphql/handler/transport"
	"github.com/99designs/gqlgen/graphql/playground"
	"github.com/vektah/gqlparser/v2/ast"

	"amparo/graph/generated"
	"amparo/graph/loader"
)

// Limits of the GraphQL endpoint.
type Limits struct {
	// MaxUploadSize is the largest evidence file; the request body may be a
	// little larger (operations and map).
	MaxUploadSize int64
	// MaxUploads is how many uploads stream at once; more wait up to a
	// minute, then get RATE_LIMITED.
	MaxUploads int
	// Complexity caps the cost of one operation (each field costs 1).
	Complexity int
}

// NewHandler returns the /graphql handler.
func NewHandler(r *Resolver, lim Limits) http.Handler {
	srv := handler.New(generated.NewExecutableSchema(generated.Config{Resolvers: r}))
	srv.AddTransport(transport.Options{})
	srv.AddTransport(transport.POST{})
	addWebsocket(srv, r.Websocket) // subscription.go
	srv.AddTransport(&streamingMultipart{
		maxBody: lim.MaxUploadSize + 2<<20,
		slots:   make(chan struct{}, max(lim.MaxUploads, 1)),
		wait:    time.Minute,
	})
	srv.SetQueryCache(lru.New[*ast.QueryDocument](1000))
	srv.Use(extension.Introspection{})
	srv.Use(extension.FixedComplexityLimit(max(lim.Complexity, 100)))
	srv.Use(extension.AutomaticPersistedQuery{Cache: lru.New[string](100)})
	srv.SetErrorPresenter(presenter(r.Log))
	srv.AroundFields(splitInvalid)
	return limitJSON(loader.Middleware(loader.Sources{Evidence: r.Svc.Evidence, Cases: r.Svc.Cases}, srv))
}

// maxJSONBody bounds an operation sent as JSON: the largest legitimate one
// (a case with thirty violations and long texts) is a few tens of KiB.
const maxJSONBody = 1 << 20

// limitJSON caps the body of every request but multipart uploads, whose
// transport sets its own limit: gqlgen's JSON transport reads whatever it
// is sent.
func limitJSON(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "multipart/form-data" {
			r.Body = http.MaxBytesReader(w, r.Body, maxJSONBody)
		}
		next.ServeHTTP(w, r)
	})
}

// Playground serves GraphiQL; only `amparo dev` mounts it.
func Playground() http.Handler { return playground.Handler("Amparo", "/graphql") }
