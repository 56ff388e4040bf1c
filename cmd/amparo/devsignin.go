package main

import (
	"database/sql"
	"encoding/json"
	"errors"
	"mime"
	"net/http"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"

	"amparo/internal/auth"
	"amparo/internal/demo"
)

// devSessionTTL is how long a console sign-in of `amparo dev` lasts.
const devSessionTTL = 8 * time.Hour

// mountDevSignIn adds the dev-only sign-in of the web console: GET
// /dev/users lists the demo users, POST /dev/token {"email": ...} mints a
// dev token for one of them. Only `amparo dev` mounts it (config.devRoutes);
// serve never does, whatever its environment says.
func mountDevSignIn(iss *auth.DevIssuer) func(*http.ServeMux, *sqlx.DB) {
	return func(mux *http.ServeMux, db *sqlx.DB) {
		mux.HandleFunc("GET /dev/users", func(w http.ResponseWriter, r *http.Request) {
			type user struct {
				Email       string `json:"email"`
				Name        string `json:"name"`
				Institution string `json:"institution"`
				Role        string `json:"role"`
			}
			out := make([]user, 0, len(demo.Users))
			for _, u := range demo.Users {
				out = append(out, user{u.Email, u.Name, u.Institution, u.Role})
			}
			w.Header().Set("Cache-Control", "no-store")
			writeJSON(w, http.StatusOK, out)
		})
		mux.HandleFunc("POST /dev/token", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Cache-Control", "no-store")
			// JSON only: a cross-site form cannot send it without a
			// preflight, which this endpoint never answers.
			if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/json" {
				writeJSON(w, http.StatusUnsupportedMediaType, map[string]string{"error": "send application/json"})
				return
			}
			var in struct {
				Email string `json:"email"`
			}
			if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 4<<10)).Decode(&in); err != nil {
				writeJSON(w, http.StatusBadRequest, map[string]string{"error": "body must be {\"email\": ...}"})
				return
			}
			var subject string
			err := db.GetContext(r.Context(), &subject, `SELECT subject FROM users WHERE email = $1 AND disabled_at IS NULL`,
				strings.ToLower(strings.TrimSpace(in.Email)))
			if errors.Is(err, sql.ErrNoRows) {
				writeJSON(w, http.StatusNotFound, map[string]string{"error": "no enabled user with that email"})
				return
			}
			if err != nil {
				writeJSON(w, http.StatusServiceUnavailable, map[string]string{"error": "database unavailable"})
				return
			}
			tok, err := iss.Issue(subject, devSessionTTL)
			if err != nil {
				writeJSON(w, http.StatusInternalServerError, map[string]string{"error": "could not sign"})
				return
			}
			writeJSON(w, http.StatusOK, map[string]string{"token": tok, "expiresAt": time.Now().Add(devSessionTTL).UTC().Format(time.RFC3339)})
		})
	}
}
