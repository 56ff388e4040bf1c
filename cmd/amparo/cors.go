package main

import (
	"net/http"
	"net/url"
	"strings"
)

// corsOrigins parses AMPARO_CORS_ORIGINS: comma-separated origins
// (scheme://host[:port]) whose pages may call the API from a browser.
// "*" is refused: the API serves records about children, and which sites
// may script it is a decision to write down, origin by origin.
func corsOrigins(v string) (map[string]bool, error) {
	out := map[string]bool{}
	for _, o := range strings.Split(v, ",") {
		o = strings.TrimSpace(o)
		if o == "" {
			continue
		}
		u, err := url.Parse(o)
		if o == "*" || err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" ||
			(u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
			return nil, &configError{"AMPARO_CORS_ORIGINS", "must be comma-separated origins such as https://amparo.example.gt (scheme and host, no path, no *): " + o}
		}
		out[u.Scheme+"://"+strings.ToLower(u.Host)] = true
	}
	return out, nil
}

// cors lets pages of the allowed origins call the API: it answers their
// preflight requests and marks their responses readable. Tokens travel in
// the Authorization header, never in cookies, so credentials are not
// allowed. Requests from other origins pass unchanged and get no CORS
// headers, which browsers take as a refusal.
func cors(allowed map[string]bool, next http.Handler) http.Handler {
	if len(allowed) == 0 {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		origin := r.Header.Get("Origin")
		if origin == "" {
			next.ServeHTTP(w, r)
			return
		}
		h := w.Header()
		h.Add("Vary", "Origin")
		preflight := r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != ""
		if !allowed[strings.ToLower(origin)] {
			if preflight {
				w.WriteHeader(http.StatusNoContent)
				return
			}
			next.ServeHTTP(w, r)
			return
		}
		h.Set("Access-Control-Allow-Origin", origin)
		if preflight {
			h.Add("Vary", "Access-Control-Request-Method, Access-Control-Request-Headers")
			h.Set("Access-Control-Allow-Methods", "GET, POST, OPTIONS")
			h.Set("Access-Control-Allow-Headers", "Authorization, Content-Type, Accept, Accept-Language, X-Request-Id")
			h.Set("Access-Control-Max-Age", "600")
			w.WriteHeader(http.StatusNoContent)
			return
		}
		h.Set("Access-Control-Expose-Headers", "X-Request-Id, WWW-Authenticate")
		next.ServeHTTP(w, r)
	})
}
