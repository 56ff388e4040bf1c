// Package request carries what is known about the HTTP request being served —
// its correlation id, the client's address and the language it asked for —
// from the HTTP middleware down to the audit trail, the logs and the error
// presenter.
//
// It holds only metadata about the request. Transactions and principals are
// passed explicitly or live in their own packages.
package request

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net"
	"net/http"
	"strings"
)

// Meta describes one request.
type Meta struct {
	ID         string // correlation id; also in every log line and audit event
	ClientAddr string // client IP address, without port
	Lang       string // "es" or "en"
}

type ctxKey struct{}

// With returns ctx carrying m.
func With(ctx context.Context, m Meta) context.Context {
	return context.WithValue(ctx, ctxKey{}, m)
}

// From returns the request's metadata; outside a request (a command-line
// tool, the sealer) it is the zero Meta with Lang "es".
func From(ctx context.Context) Meta {
	m, _ := ctx.Value(ctxKey{}).(Meta)
	if m.Lang == "" {
		m.Lang = "es"
	}
	return m
}

// NewID returns a fresh random correlation id.
func NewID() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// Lang picks "en" or "es" from an Accept-Language header. Spanish is the
// default: it is the working language of every institution using Amparo.
func Lang(acceptLanguage string) string {
	best, bestQ := "es", -1.0
	for _, part := range strings.Split(acceptLanguage, ",") {
		tag, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		q := 1.0
		if v, ok := strings.CutPrefix(strings.TrimSpace(params), "q="); ok {
			q = parseQ(v)
		}
		primary, _, _ := strings.Cut(strings.ToLower(strings.TrimSpace(tag)), "-")
		if (primary == "es" || primary == "en") && q > bestQ {
			best, bestQ = primary, q
		}
	}
	return best
}

func parseQ(s string) float64 {
	// q-values have at most three decimals (RFC 9110 §12.4.2).
	var whole, frac, scale float64 = 0, 0, 1
	seenDot := false
	for _, c := range s {
		switch {
		case c == '.' && !seenDot:
			seenDot = true
		case c >= '0' && c <= '9' && !seenDot:
			whole = whole*10 + float64(c-'0')
		case c >= '0' && c <= '9':
			scale /= 10
			frac += float64(c-'0') * scale
		default:
			return 0
		}
	}
	return whole + frac
}

// validID accepts a caller-supplied correlation id only in the forms that
// proxies and clients mint: 16 to 64 hexadecimal digits, with dashes (a
// UUID, a W3C trace id, or an id of NewID). Anything else — free text, a
// path, a name — is replaced, since the id is copied into the sealed audit
// trail and every log line.
func validID(s string) bool {
	if len(s) < 16 || len(s) > 64 {
		return false
	}
	digits := 0
	for _, c := range s {
		switch {
		case c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F':
			digits++
		case c == '-':
		default:
			return false
		}
	}
	return digits >= 16
}

// Middleware attaches Meta to every request and echoes the correlation id in
// the X-Request-Id response header. A well-formed X-Request-Id (validID) is
// kept, so that a proxy's id follows the request; anything else is
// replaced by a fresh one.
func Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.Header.Get("X-Request-Id")
		if !validID(id) {
			id = NewID()
		}
		host, _, err := net.SplitHostPort(r.RemoteAddr)
		if err != nil {
			host = r.RemoteAddr
		}
		m := Meta{ID: id, ClientAddr: host, Lang: Lang(r.Header.Get("Accept-Language"))}
		w.Header().Set("X-Request-Id", id)
		next.ServeHTTP(w, r.WithContext(With(r.Context(), m)))
	})
}
