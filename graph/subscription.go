package graph

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/handler"
	"github.com/99designs/gqlgen/graphql/handler/transport"
	coderws "github.com/coder/websocket"
	"github.com/google/uuid"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"amparo/internal/apperr"
	"amparo/internal/auth"
	"amparo/internal/request"
)

// Websocket is how subscriptions are served: graphql-ws (the
// graphql-transport-ws protocol) on /graphql, authenticated in
// connection_init with { "Authorization": "Bearer ..." } exactly as HTTP
// requests are (the same verifiers, the user read from the database).
type Websocket struct {
	Verifier auth.Verifier
	Users    *auth.Users
	// Sessions registers each connection and ends it when its user is
	// disabled (alert.Hub).
	Sessions Sessions
	// Origins are the browser origins allowed besides the server's own
	// (AMPARO_CORS_ORIGINS), such as "https://consola.example.org".
	// Clients that send no Origin (not browsers) are not concerned.
	Origins []string
	// KeepAlive is how often the server pings; a client that has not
	// answered within twice that is disconnected (15 s).
	KeepAlive time.Duration
}

// Sessions registers websocket connections.
type Sessions interface {
	// Session returns a context that ends when user may no longer be
	// connected, and a function that releases the connection.
	Session(ctx context.Context, user uuid.UUID) (context.Context, func(), error)
}

// subprotocol is the one websocket subprotocol served.
const subprotocol = "graphql-transport-ws"

// closeForbidden is graphql-transport-ws's close code for a refused
// connection_init.
const closeForbidden = 4403

// addWebsocket adds the subscription transport to srv; without Sessions
// there are no subscriptions.
func addWebsocket(srv *handler.Server, ws Websocket) {
	if ws.Sessions == nil {
		return
	}
	keepAlive := ws.KeepAlive
	if keepAlive <= 0 {
		keepAlive = 15 * time.Second
	}
	srv.AddTransport(transport.Websocket{
		Implementation: transport.CoderWebsocketImplementation{AcceptOptions: coderws.AcceptOptions{
			OriginPatterns: ws.Origins,
		}},
		InitFunc:         ws.init,
		InitTimeout:      10 * time.Second,
		PingPongInterval: keepAlive,
	})
}

// init authenticates a connection.
func (ws Websocket) init(ctx context.Context, p transport.InitPayload) (context.Context, *transport.InitPayload, error) {
	refuse := func(err error) (context.Context, *transport.InitPayload, error) {
		ae, ok := apperr.As(err)
		if !ok {
			ae = apperr.E(apperr.Internal)
		}
		ctx = transport.WithWebsocketCloseCode(ctx, closeForbidden)
		return transport.AppendCloseReason(ctx, "Forbidden"), nil, &wsError{code: ae.Kind.Code(), msg: ae.Message(request.From(ctx).Lang)}
	}
	raw, ok := strings.CutPrefix(strings.TrimSpace(p.Authorization()), "Bearer ")
	if !ok || strings.TrimSpace(raw) == "" {
		return refuse(apperr.New(apperr.Unauthenticated, `envíe { "Authorization": "Bearer <token>" } en connection_init`,
			`send { "Authorization": "Bearer <token>" } in connection_init`))
	}
	sub, err := ws.Verifier.Verify(ctx, strings.TrimSpace(raw))
	if err != nil {
		return refuse(apperr.New(apperr.Unauthenticated, "token no válido o vencido", "invalid or expired token"))
	}
	pr, err := ws.Users.BySubject(ctx, sub)
	if err != nil {
		return refuse(err)
	}
	sctx, _, err := ws.Sessions.Session(auth.With(ctx, pr), pr.UserID)
	if err != nil {
		return refuse(err)
	}
	return context.WithValue(sctx, overWebsocket{}, true), nil, nil
}

// overWebsocket marks the context of a websocket connection, for wsScreen.
type overWebsocket struct{}

// wsError is a refused connection_init, as graphql-ws reports it.
type wsError struct{ code, msg string }

func (e *wsError) Error() string { return e.code + ": " + e.msg }

// Upgrades routes GET /graphql: websocket upgrades to gql (which serves
// only the graphql-transport-ws subprotocol, to browsers of the server's
// own origin or of origins), anything else to other (GraphiQL in dev), or
// to gql when other is nil. The websocket transport checks origins again.
func Upgrades(gql, other http.Handler, origins []string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.EqualFold(r.Header.Get("Upgrade"), "websocket") {
			if o := r.Header.Get("Origin"); o != "" && !slices.Contains(origins, o) {
				if u, err := url.Parse(o); err != nil || !strings.EqualFold(u.Host, r.Host) {
					http.Error(w, "origin not allowed (AMPARO_CORS_ORIGINS)", http.StatusForbidden)
					return
				}
			}
			for _, h := range r.Header.Values("Sec-WebSocket-Protocol") {
				for _, p := range strings.Split(h, ",") {
					if strings.TrimSpace(p) == subprotocol {
						gql.ServeHTTP(w, r)
						return
					}
				}
			}
			http.Error(w, "use the "+subprotocol+" websocket subprotocol", http.StatusBadRequest)
			return
		}
		if other == nil {
			gql.ServeHTTP(w, r) // its own coded answer
			return
		}
		other.ServeHTTP(w, r)
	})
}

// wsScreen bounds what an operation sent over a websocket may cost before it
// is parsed, as the HTTP transports do before they hand an operation to the
// executor (transport.go's run): over a websocket, operations reach the
// executor directly. It acts only on websocket operations (their context is
// the connection's, marked by init), so HTTP operations are not screened
// twice.
type wsScreen struct {
	s       *screen
	present graphql.ErrorPresenterFunc // the transport sends mutator errors as they are
}

var _ interface {
	graphql.HandlerExtension
	graphql.OperationParameterMutator
} = wsScreen{}

func (wsScreen) ExtensionName() string                   { return "WebsocketScreen" }
func (wsScreen) Validate(graphql.ExecutableSchema) error { return nil }
func (w wsScreen) MutateOperationParameters(ctx context.Context, p *graphql.RawParams) *gqlerror.Error {
	if ctx.Value(overWebsocket{}) == nil {
		return nil
	}
	if err := w.s.check(ctx, p); err != nil {
		return w.present(ctx, err)
	}
	return nil
}
