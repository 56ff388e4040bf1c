package main

import (
	"encoding/json"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"amparo/internal/apperr"
)

// fetch fetches url with the given request headers (pairs).
func fetch(t *testing.T, method, url string, header ...string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	res, err := http.DefaultClient.Do(req) // decompresses gzip it asked for itself
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res, string(b)
}

// TestGraphiQLWorksOffline: the dev page refers only to scripts and styles
// the binary serves itself, and each of them is there.
func TestGraphiQLWorksOffline(t *testing.T) {
	app := newTestApp(t, func(c *config) { c.Dev = true })
	res, page := fetch(t, http.MethodGet, app.srv.URL+"/graphql", "Accept", "text/html")
	if res.StatusCode != http.StatusOK || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("GET /graphql: %s %s", res.Status, res.Header.Get("Content-Type"))
	}
	refs := regexp.MustCompile(`(?:src|href)="([^"]+)"`).FindAllStringSubmatch(page, -1)
	if len(refs) < 4 {
		t.Fatalf("page refers to %d assets: %s", len(refs), page)
	}
	for _, m := range refs {
		ref := m[1]
		if !strings.HasPrefix(ref, "/graphiql/") {
			t.Errorf("page loads %s from elsewhere", ref)
			continue
		}
		res, body := fetch(t, http.MethodGet, app.srv.URL+ref)
		want := "text/javascript"
		if strings.HasSuffix(ref, ".css") {
			want = "text/css"
		}
		if res.StatusCode != http.StatusOK || !strings.HasPrefix(res.Header.Get("Content-Type"), want) || len(body) < 100 {
			t.Errorf("GET %s: %s %q, %d bytes", ref, res.Status, res.Header.Get("Content-Type"), len(body))
		}
		if strings.HasSuffix(ref, "graphiql.min.js") && !strings.Contains(body, "createFetcher") {
			t.Errorf("%s is not the GraphiQL bundle", ref)
		}
	}
	// Without gzip the same bytes, decompressed.
	res, plain := fetch(t, http.MethodGet, app.srv.URL+"/graphiql/react.production.min.js", "Accept-Encoding", "identity")
	if res.Header.Get("Content-Encoding") != "" || !strings.Contains(plain, "react.production.min.js") {
		t.Errorf("identity encoding: %q, %.60q", res.Header.Get("Content-Encoding"), plain)
	}

	prod := newTestApp(t)
	if res, _ := fetch(t, http.MethodGet, prod.srv.URL+"/graphiql/graphiql.min.js"); res.StatusCode == http.StatusOK {
		t.Error("serve (not dev) serves GraphiQL")
	}
}

// TestCORSForConfiguredOrigins: preflight and responses carry CORS headers
// for the configured origins only.
func TestCORSForConfiguredOrigins(t *testing.T) {
	origins, err := corsOrigins("https://consola.amparo.gt, http://localhost:5173")
	if err != nil {
		t.Fatal(err)
	}
	app := newTestApp(t, func(c *config) { c.CORSOrigins = origins })
	preflight := func(origin string) *http.Response {
		res, _ := fetch(t, http.MethodOptions, app.srv.URL+"/graphql", "Origin", origin,
			"Access-Control-Request-Method", "POST", "Access-Control-Request-Headers", "authorization, content-type")
		return res
	}
	res := preflight("https://consola.amparo.gt")
	if res.StatusCode != http.StatusNoContent || res.Header.Get("Access-Control-Allow-Origin") != "https://consola.amparo.gt" ||
		!strings.Contains(res.Header.Get("Access-Control-Allow-Headers"), "Authorization") ||
		!strings.Contains(res.Header.Get("Access-Control-Allow-Methods"), "POST") {
		t.Errorf("allowed preflight: %s %v", res.Status, res.Header)
	}
	if res := preflight("https://evil.example"); res.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("other origin allowed: %v", res.Header)
	}
	r := app.do("", `{ __typename }`, nil, "Origin", "http://localhost:5173")
	if r.Status != http.StatusOK {
		t.Errorf("POST from allowed origin: %d", r.Status)
	}
	res, _ = fetch(t, http.MethodGet, app.srv.URL+"/healthz", "Origin", "http://localhost:5173")
	if res.Header.Get("Access-Control-Allow-Origin") != "http://localhost:5173" || !strings.Contains(res.Header.Get("Vary"), "Origin") {
		t.Errorf("response to allowed origin: %v", res.Header)
	}

	for _, bad := range []string{"*", "https://a.gt/path", "ftp://a.gt", "a.gt"} {
		if _, err := corsOrigins(bad); err == nil {
			t.Errorf("AMPARO_CORS_ORIGINS=%q accepted", bad)
		}
	}
}

// TestBadTokenGetsInvalidTokenChallenge: RFC 6750's challenge tells a
// client whether to sign in again.
func TestBadTokenGetsInvalidTokenChallenge(t *testing.T) {
	app := newTestApp(t)
	for _, c := range []struct {
		name, auth, want string
	}{
		{"ErrInvalidToken", "Bearer not-a-token", `error="invalid_token"`},
		{"ErrUnknownUser", "Bearer " + app.token("nobody@nowhere.demo"), `error="invalid_token"`},
		{"ErrMalformedHeader", "Basic dXNlcjpwYXNz", `error="invalid_request"`},
	} {
		t.Run(c.name, func(t *testing.T) {
			res, body := fetch(t, http.MethodPost, app.srv.URL+"/graphql", "Authorization", c.auth, "Content-Type", "application/json")
			if res.StatusCode != http.StatusUnauthorized {
				t.Fatalf("status %s", res.Status)
			}
			if h := res.Header.Get("WWW-Authenticate"); !strings.HasPrefix(h, "Bearer ") || !strings.Contains(h, c.want) {
				t.Errorf("WWW-Authenticate = %q, want %s", h, c.want)
			}
			if !strings.Contains(body, apperr.Unauthenticated.Code()) {
				t.Errorf("body %s", body)
			}
		})
	}
}

// TestRequestErrorsAfterAccept: GraphQL over HTTP. A request error (here
// a document that does not validate) answers 200 under application/json,
// 4xx under application/graphql-response+json, and never has a data entry;
// an oversize body is 413 either way.
func TestRequestErrorsAfterAccept(t *testing.T) {
	app := newTestApp(t)
	tok := app.token("officer@pgn.demo")
	for _, c := range []struct {
		name, accept, wantType string
		wantStatus             int
	}{
		{"DefaultJSON", "", "application/json", http.StatusOK},
		{"JSON", "application/json", "application/json", http.StatusOK},
		{"GraphQLResponse", "application/graphql-response+json, application/json;q=0.9", "application/graphql-response+json", http.StatusUnprocessableEntity},
	} {
		t.Run(c.name, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodPost, app.srv.URL+"/graphql", strings.NewReader(`{"query":"{ me { nosuchfield } }"}`))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Authorization", "Bearer "+tok)
			if c.accept != "" {
				req.Header.Set("Accept", c.accept)
			}
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer res.Body.Close()
			raw, _ := io.ReadAll(res.Body)
			var body map[string]json.RawMessage
			if err := json.Unmarshal(raw, &body); err != nil {
				t.Fatalf("%s", raw)
			}
			if res.StatusCode != c.wantStatus || !strings.HasPrefix(res.Header.Get("Content-Type"), c.wantType) {
				t.Errorf("status %d %q, want %d %q", res.StatusCode, res.Header.Get("Content-Type"), c.wantStatus, c.wantType)
			}
			if _, ok := body["data"]; ok {
				t.Errorf("a request error with a data entry: %s", raw)
			}
			if len(body["errors"]) == 0 {
				t.Errorf("no errors: %s", raw)
			}
		})
	}
	res := app.do(tok, `{ me { roles } }`, map[string]any{"pad": strings.Repeat("x", 2<<20)})
	if res.Status != http.StatusRequestEntityTooLarge || len(res.codes()) != 1 || res.codes()[0] != apperr.TooLarge.Code() {
		t.Errorf("oversize body: %d %v", res.Status, res.codes())
	}
	// A field error is no request error: data stays, status 200.
	ok := app.do(tok, `{ me { roles } }`, nil, "Accept", "application/graphql-response+json")
	if ok.Status != http.StatusOK || len(ok.Data) == 0 {
		t.Errorf("an operation that ran: %d %s", ok.Status, ok.Data)
	}
}
