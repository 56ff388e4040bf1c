package main

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"amparo/internal/auth"
)

// postJSON posts body to path of the test server.
func (a *testApp) postJSON(path, body string) (int, []byte) {
	a.t.Helper()
	res, err := http.Post(a.srv.URL+path, "application/json", strings.NewReader(body))
	if err != nil {
		a.t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	return res.StatusCode, raw
}

// withDevSignIn mounts the console's dev sign-in as `amparo dev` does.
func withDevSignIn(c *config) {
	b, err := os.ReadFile(c.DevKeyFile)
	if err != nil {
		panic(err)
	}
	key, err := auth.ParseEd25519PrivateKey(b)
	if err != nil {
		panic(err)
	}
	c.devRoutes = mountDevSignIn(auth.NewDevIssuer(key))
}

func TestConsoleDevSignIn(t *testing.T) {
	t.Run("DevMintsATokenTheAPIAccepts", func(t *testing.T) {
		a := newTestApp(t, withDevSignIn)
		status, raw := a.postJSON("/dev/token", `{"email":"officer@pgn.demo"}`)
		if status != http.StatusOK {
			t.Fatalf("status %d: %s", status, raw)
		}
		var tok struct{ Token string }
		if err := json.Unmarshal(raw, &tok); err != nil || tok.Token == "" {
			t.Fatalf("no token in %s", raw)
		}
		var me struct {
			Me struct{ User struct{ Email string } }
		}
		a.do(tok.Token, `{ me { user { email } } }`, nil).decode(t, &me)
		if me.Me.User.Email != "officer@pgn.demo" {
			t.Fatalf("signed in as %q", me.Me.User.Email)
		}
	})
	t.Run("DevRefusesAnUnknownUser", func(t *testing.T) {
		a := newTestApp(t, withDevSignIn)
		if status, raw := a.postJSON("/dev/token", `{"email":"nobody@pgn.demo"}`); status != http.StatusNotFound {
			t.Fatalf("status %d: %s", status, raw)
		}
	})
	t.Run("DevRefusesAFormPost", func(t *testing.T) {
		a := newTestApp(t, withDevSignIn)
		res, err := http.Post(a.srv.URL+"/dev/token", "text/plain", bytes.NewBufferString(`{"email":"officer@pgn.demo"}`))
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusUnsupportedMediaType {
			t.Fatalf("status %d", res.StatusCode)
		}
	})
	t.Run("DevConfigSaysDev", func(t *testing.T) {
		a := newTestApp(t, withDevSignIn)
		if got := getBody(t, a.srv.URL+"/console/config.json"); !strings.Contains(got, `"signIn":"dev"`) {
			t.Fatalf("config %s", got)
		}
	})
	t.Run("ServeNeverMintsTokens", func(t *testing.T) {
		a := newTestApp(t) // serve's wiring, even with AMPARO_DEV_TOKENS=1
		status, raw := a.postJSON("/dev/token", `{"email":"officer@pgn.demo"}`)
		if status == http.StatusOK || bytes.Contains(raw, []byte("token")) {
			t.Fatalf("serve answered /dev/token: %d %s", status, raw)
		}
		if got := getBody(t, a.srv.URL+"/dev/users"); strings.Contains(got, "officer@pgn.demo") {
			t.Fatalf("serve lists the demo users: %s", got)
		}
		if got := getBody(t, a.srv.URL+"/console/config.json"); strings.Contains(got, `"dev"`) {
			t.Fatalf("serve's console config offers dev sign-in: %s", got)
		}
	})
	t.Run("ServeOffersOIDCWhenConfigured", func(t *testing.T) {
		w := httptest.NewRecorder()
		consoleConfig(&config{OIDCIssuer: "https://id.example/realms/amparo", ConsoleClientID: "amparo-console"}).
			ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/console/config.json", nil))
		got := w.Body.String()
		if !strings.Contains(got, `"signIn":"oidc"`) || !strings.Contains(got, `"clientId":"amparo-console"`) {
			t.Fatalf("config %s", got)
		}
	})
}

func TestConsoleIsServedAtClientRoutes(t *testing.T) {
	a := newTestApp(t)
	for _, p := range []string{"/", "/seguimiento", "/casos/nuevo"} {
		res, err := http.Get(a.srv.URL + p)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		// 200 with the built app, 503 with the "not built" page: either way
		// an HTML page of the console, never the API's 404.
		if (res.StatusCode != http.StatusOK && res.StatusCode != http.StatusServiceUnavailable) || !bytes.Contains(body, []byte("<html")) {
			t.Errorf("%s: %d %.80s", p, res.StatusCode, body)
		}
		if csp := res.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'self'") {
			t.Errorf("%s: CSP %q", p, csp)
		}
	}
}

func getBody(t *testing.T, url string) string {
	t.Helper()
	_, body := httpGet(t, url)
	return body
}
