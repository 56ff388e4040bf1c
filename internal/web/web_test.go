package web

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/fstest"
)

func get(t *testing.T, h http.Handler, path string) *httptest.ResponseRecorder {
	t.Helper()
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, path, nil))
	return w
}

func TestHandler(t *testing.T) {
	built := fstest.MapFS{
		"notbuilt.html":           {Data: []byte("not built")},
		"dist/index.html":         {Data: []byte("<div id=root>")},
		"dist/assets/app-1234.js": {Data: []byte("console.log(1)")},
		"dist/sw.js":              {Data: []byte("self")},
	}
	tests := []struct {
		name       string
		fsys       fstest.MapFS
		path       string
		status     int
		body       string
		cache      string
		connectSrc string
	}{
		{"RootServesTheApp", built, "/", 200, "<div id=root>", "no-cache", ""},
		{"ClientRouteServesTheApp", built, "/seguimiento", 200, "<div id=root>", "no-cache", ""},
		{"NestedClientRouteServesTheApp", built, "/casos/1234", 200, "<div id=root>", "no-cache", ""},
		{"HashedAssetIsCachedForAYear", built, "/assets/app-1234.js", 200, "console.log(1)", "public, max-age=31536000, immutable", ""},
		{"ServiceWorkerIsRevalidated", built, "/sw.js", 200, "self", "no-cache", ""},
		{"MissingAssetIsNotFound", built, "/assets/gone.js", 404, "", "", ""},
		{"WithoutABuildTheNotBuiltPageSays503", fstest.MapFS{"notbuilt.html": {Data: []byte("not built")}}, "/seguimiento", 503, "not built", "no-store", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := get(t, Handler(tt.fsys, Options{ConnectSrc: []string{"https://id.example"}}), tt.path)
			if w.Code != tt.status {
				t.Fatalf("status %d, want %d", w.Code, tt.status)
			}
			if tt.body != "" && !strings.Contains(w.Body.String(), tt.body) {
				t.Errorf("body %q, want %q", w.Body.String(), tt.body)
			}
			if tt.cache != "" && w.Header().Get("Cache-Control") != tt.cache {
				t.Errorf("Cache-Control %q, want %q", w.Header().Get("Cache-Control"), tt.cache)
			}
			csp := w.Header().Get("Content-Security-Policy")
			if !strings.Contains(csp, "connect-src 'self' ws://example.com wss://example.com https://id.example;") || !strings.Contains(csp, "default-src 'self'") {
				t.Errorf("CSP %q does not keep the page to its own origin, its websocket and the issuer", csp)
			}
		})
	}
}

func TestCSPLeavesOutAHostThatIsNotOne(t *testing.T) {
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	r.Host = "evil.example; script-src *"
	w := httptest.NewRecorder()
	Handler(fstest.MapFS{"notbuilt.html": {Data: []byte("x")}}, Options{}).ServeHTTP(w, r)
	csp := w.Header().Get("Content-Security-Policy")
	if strings.Contains(csp, "evil") || !strings.Contains(csp, "connect-src 'self'; ") {
		t.Fatalf("CSP %q takes in a Host that is not a host", csp)
	}
}

func TestHandlerAnswersOnlyGET(t *testing.T) {
	w := httptest.NewRecorder()
	Handler(fstest.MapFS{"notbuilt.html": {Data: []byte("x")}}, Options{}).ServeHTTP(w, httptest.NewRequest(http.MethodPost, "/seguimiento", nil))
	if w.Code != http.StatusMethodNotAllowed || w.Header().Get("Allow") != "GET, HEAD" {
		t.Fatalf("POST answered %d, Allow %q", w.Code, w.Header().Get("Allow"))
	}
}

func TestEmbeddedHoldsThePlaceholder(t *testing.T) {
	if _, err := Files().Open("notbuilt.html"); err != nil {
		t.Fatalf("the committed placeholder is not embedded: %v", err)
	}
}
