package request

import (
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
)

func TestLang(t *testing.T) {
	for header, want := range map[string]string{
		"":                          "es",
		"en":                        "en",
		"en-US,en;q=0.9":            "en",
		"es-GT,es;q=0.9,en;q=0.8":   "es",
		"fr-FR,en;q=0.5":            "en",
		"en;q=0.2,es;q=0.8":         "es",
		"de":                        "es",
		"EN-gb":                     "en",
		"en;q=0,es;q=0.001":         "es",
		"garbage;;;q=x,en;q=banana": "en",
	} {
		if got := Lang(header); got != want {
			t.Errorf("Lang(%q) = %q, want %q", header, got, want)
		}
	}
}

func TestMiddlewareRequestID(t *testing.T) {
	fresh := regexp.MustCompile(`^[0-9a-f]{24}$`)
	for name, tc := range map[string]struct {
		sent string
		kept bool
	}{
		"UUIDKept":          {"3f2b8c1e-9a4d-4e6f-8b7a-1c2d3e4f5a6b", true},
		"TraceIDKept":       {"4bf92f3577b34da6a3ce929d0e0e4736", true},
		"OwnFormKept":       {"0123456789abcdef01234567", true},
		"MissingMinted":     {"", false},
		"FreeTextReplaced":  {"juan-perez-sbs", false},
		"PathReplaced":      {"../../etc/passwd", false},
		"ShortReplaced":     {"abc123", false},
		"DashesReplaced":    {"----------------------", false},
		"TooLongReplaced":   {strings.Repeat("a", 65), false},
		"InjectionReplaced": {"0123456789abcdef\nlevel=ERROR", false},
		"UnicodeReplaced":   {"0123456789abcdéf0123", false},
	} {
		t.Run(name, func(t *testing.T) {
			var got Meta
			h := Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { got = From(r.Context()) }))
			req := httptest.NewRequest(http.MethodPost, "/graphql", nil)
			if tc.sent != "" {
				req.Header.Set("X-Request-Id", tc.sent)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if tc.kept && got.ID != tc.sent {
				t.Fatalf("id %q, want %q kept", got.ID, tc.sent)
			}
			if !tc.kept && !fresh.MatchString(got.ID) {
				t.Fatalf("id %q, want a fresh one", got.ID)
			}
			if rec.Header().Get("X-Request-Id") != got.ID {
				t.Fatalf("header %q, context %q", rec.Header().Get("X-Request-Id"), got.ID)
			}
		})
	}
}
