package graph

import (
	"context"
	"net/http"
	"time"

	"github.com/google/uuid"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/handler"
	"github.com/99designs/gqlgen/graphql/handler/extension"
	"github.com/99designs/gqlgen/graphql/handler/lru"
	"github.com/99designs/gqlgen/graphql/handler/transport"
	"github.com/vektah/gqlparser/v2/ast"

	"amparo/graph/generated"
	"amparo/graph/loader"
	"amparo/internal/keys"
)

// Limits of the GraphQL endpoint. The zero value of a field means its
// default.
type Limits struct {
	// MaxUploadSize is the largest evidence file; the request body may be a
	// little larger (operations and map).
	MaxUploadSize int64
	// MaxUploads is how many uploads stream at once; more wait up to a
	// minute, then get RATE_LIMITED.
	MaxUploads int
	// MaxUploadsPerUser is how many of them one user may hold (2).
	MaxUploadsPerUser int
	// MinUploadRate is the slowest an upload may arrive, in bytes a second
	// over each UploadRateWindow (1 KiB/s over 30 s); slower, it is cut.
	MinUploadRate    int64
	UploadRateWindow time.Duration
	// BodyTimeout is how long a JSON body may take to arrive (10 s), plus
	// the time its declared length takes at MinUploadRate, 2 minutes at
	// most.
	BodyTimeout time.Duration
	// Complexity caps the cost of one operation (each field costs 1,
	// __schema 200, __type 20).
	Complexity int
	// MaxQueryBytes, MaxTokens and MaxFields bound an operation's text
	// before it is parsed and validated (64 KiB, 5,000 tokens, 500 fields
	// with fragments expanded).
	MaxQueryBytes, MaxTokens, MaxFields int
	// Introspection answers __schema and __type queries (dev; serve only
	// with AMPARO_INTROSPECTION=1).
	Introspection bool
	// StatusLimiter admits complaintStatus queries; nil admits all.
	StatusLimiter *Limiter
}

func (l Limits) withDefaults() Limits {
	def := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&l.MaxUploads, 8)
	def(&l.MaxUploadsPerUser, 2)
	def(&l.Complexity, DefaultComplexity)
	def(&l.MaxQueryBytes, DefaultMaxQueryBytes)
	def(&l.MaxTokens, DefaultMaxTokens)
	def(&l.MaxFields, DefaultMaxFields)
	if l.MinUploadRate <= 0 {
		l.MinUploadRate = 1 << 10
	}
	if l.UploadRateWindow <= 0 {
		l.UploadRateWindow = 30 * time.Second
	}
	if l.BodyTimeout <= 0 {
		l.BodyTimeout = 10 * time.Second
	}
	return l
}

// NewHandler returns the /graphql handler, with the handler extensions in
// ext added (Metrics, for one).
func NewHandler(r *Resolver, lim Limits, ext ...graphql.HandlerExtension) http.Handler {
	lim = lim.withDefaults()
	es := generated.NewExecutableSchema(generated.Config{Resolvers: r})
	persisted := lru.New[string](100)
	scr := newScreen(lim, persisted)
	srv := handler.New(es)
	srv.AddTransport(transport.Options{})
	srv.AddTransport(jsonPost{screen: scr, bodyTimeout: lim.BodyTimeout, minRate: lim.MinUploadRate})
	addWebsocket(srv, r.Websocket) // subscription.go
	srv.AddTransport(&streamingMultipart{
		screen:  scr,
		maxBody: lim.MaxUploadSize + 2<<20,
		slots:   make(chan struct{}, lim.MaxUploads),
		wait:    time.Minute,
		perUser: lim.MaxUploadsPerUser,
		minRate: lim.MinUploadRate,
		window:  lim.UploadRateWindow,
		active:  map[uuid.UUID]int{},
	})
	srv.AddTransport(unsupported{})
	srv.SetQueryCache(lru.New[*ast.QueryDocument](1000))
	srv.SetParserTokenLimit(lim.MaxTokens)
	if lim.Introspection {
		srv.Use(extension.Introspection{})
	} else {
		// Suggestions ("did you mean ...") would tell the schema that
		// introspection keeps to itself.
		srv.SetDisableSuggestion(true)
	}
	srv.Use(wsScreen{s: scr, present: presenter(r.Log)}) // subscription.go
	srv.Use(costLimit{es: es, limit: lim.Complexity})
	srv.Use(noDefer{})
	srv.Use(extension.AutomaticPersistedQuery{Cache: persisted})
	for _, e := range ext {
		srv.Use(e)
	}
	srv.SetErrorPresenter(presenter(r.Log))
	srv.AroundFields(splitInvalid)
	// One unwrap of a record's data key per operation, however many of
	// its fields are sealed.
	srv.AroundOperations(func(ctx context.Context, next graphql.OperationHandler) graphql.ResponseHandler {
		return next(keys.WithCache(ctx))
	})
	return loader.Middleware(loader.Sources{Evidence: r.Svc.Evidence, Cases: r.Svc.Cases}, srv)
}
