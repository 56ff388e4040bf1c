package auth

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strings"

	"amparo/internal/apperr"
	"amparo/internal/request"
)

// Verifier checks a bearer token and returns its subject.
type Verifier interface {
	Verify(ctx context.Context, raw string) (subject string, err error)
}

// Verifiers accepts a token any of its verifiers accepts, in order.
type Verifiers []Verifier

// Verify implements Verifier.
func (vs Verifiers) Verify(ctx context.Context, raw string) (string, error) {
	if len(vs) == 0 { // errors.Join of nothing is nil: no verifier accepts nothing
		return "", errors.New("no token verifier is configured")
	}
	errs := make([]error, 0, len(vs))
	for _, v := range vs {
		sub, err := v.Verify(ctx, raw)
		if err == nil {
			return sub, nil
		}
		errs = append(errs, err)
	}
	return "", errors.Join(errs...)
}

// Middleware resolves the bearer token of each request into a Principal. A
// request without Authorization goes on anonymous (resolvers then answer
// UNAUTHENTICATED where a user is needed, and anonymous operations such as
// complaintStatus still work). A bad token, an unknown or a disabled user
// stops the request with HTTP 401 and a GraphQL-shaped UNAUTHENTICATED error.
func Middleware(v Verifier, users *Users, log *slog.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := r.Header.Get("Authorization")
		if h == "" {
			next.ServeHTTP(w, r)
			return
		}
		ctx := r.Context()
		raw, ok := strings.CutPrefix(h, "Bearer ")
		if !ok || raw == "" {
			refuse(w, r, "invalid_request", apperr.New(apperr.Unauthenticated, "use Authorization: Bearer <token>", "use Authorization: Bearer <token>"))
			return
		}
		sub, err := v.Verify(ctx, strings.TrimSpace(raw))
		if err != nil {
			log.InfoContext(ctx, "token refused", "request_id", request.From(ctx).ID, "err", err)
			refuse(w, r, "invalid_token", apperr.New(apperr.Unauthenticated, "token no válido o vencido", "invalid or expired token"))
			return
		}
		p, err := users.BySubject(ctx, sub)
		if err != nil {
			if !apperr.Is(err, apperr.Unauthenticated) {
				log.ErrorContext(ctx, "user lookup failed", "request_id", request.From(ctx).ID, "err", err)
				writeError(w, r, http.StatusServiceUnavailable, err)
				return
			}
			refuse(w, r, "invalid_token", err)
			return
		}
		next.ServeHTTP(w, r.WithContext(With(ctx, p)))
	})
}

// refuse answers 401 with the RFC 6750 challenge: code is invalid_request
// for a malformed Authorization header, invalid_token for a token that is
// bad, expired, or names no enabled user (clients then sign in again).
func refuse(w http.ResponseWriter, r *http.Request, code string, err error) {
	w.Header().Set("WWW-Authenticate", `Bearer realm="amparo", error="`+code+`"`)
	writeError(w, r, http.StatusUnauthorized, err)
}

// writeError answers with the shape of a GraphQL error response, so that
// clients handle it like any other error.
func writeError(w http.ResponseWriter, r *http.Request, status int, err error) {
	ae, ok := apperr.As(err)
	if !ok {
		ae = apperr.E(apperr.Internal)
	}
	meta := request.From(r.Context())
	ext := map[string]any{"code": ae.Kind.Code(), "requestId": meta.ID}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{
		"errors": []map[string]any{{"message": ae.Message(meta.Lang), "extensions": ext}},
	})
}
