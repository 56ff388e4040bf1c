package main

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// issuer is a real OpenID Connect issuer for tests: discovery and JWKS over
// HTTP, tokens signed with its own RSA key, which it can rotate.
type issuer struct {
	srv *httptest.Server
	mu  sync.Mutex
	key *rsa.PrivateKey
	kid string
}

func newIssuer(t *testing.T) *issuer {
	t.Helper()
	is := &issuer{}
	is.rotate(t)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		_ = json.NewEncoder(w).Encode(map[string]any{
			"issuer": is.srv.URL, "jwks_uri": is.srv.URL + "/jwks", "authorization_endpoint": is.srv.URL + "/auth",
			"token_endpoint": is.srv.URL + "/token", "id_token_signing_alg_values_supported": []string{"RS256"},
		})
	})
	mux.HandleFunc("GET /jwks", func(w http.ResponseWriter, r *http.Request) {
		is.mu.Lock()
		defer is.mu.Unlock()
		_ = json.NewEncoder(w).Encode(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{
			{Key: &is.key.PublicKey, KeyID: is.kid, Algorithm: "RS256", Use: "sig"}}})
	})
	is.srv = httptest.NewServer(mux)
	t.Cleanup(is.srv.Close)
	return is
}

// rotate replaces the signing key; the JWKS publishes only the new one.
func (is *issuer) rotate(t *testing.T) {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	is.mu.Lock()
	defer is.mu.Unlock()
	is.key, is.kid = key, rand.Text()
}

// token signs a token for sub with the current key; tweak edits claims.
func (is *issuer) token(t *testing.T, sub string, tweak func(*jwt.Claims)) string {
	t.Helper()
	is.mu.Lock()
	key, kid := is.key, is.kid
	is.mu.Unlock()
	sig, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: key},
		(&jose.SignerOptions{}).WithType("JWT").WithHeader("kid", kid))
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	c := jwt.Claims{Issuer: is.srv.URL, Subject: sub, Audience: jwt.Audience{"amparo"},
		IssuedAt: jwt.NewNumericDate(now), Expiry: jwt.NewNumericDate(now.Add(10 * time.Minute))}
	if tweak != nil {
		tweak(&c)
	}
	raw, err := jwt.Signed(sig).Claims(c).Serialize()
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

func TestOIDC(t *testing.T) {
	is := newIssuer(t)
	app := newTestApp(t, func(c *config) {
		c.OIDCIssuer, c.OIDCAudience, c.DevTokens = is.srv.URL, "amparo", false
	})
	me := `{ me { user { email } roles } }`
	accepted := func(t *testing.T, tok string) {
		t.Helper()
		var out struct {
			Me struct{ User struct{ Email string } }
		}
		app.do(tok, me, nil).decode(t, &out)
		if out.Me.User.Email != "officer@pgn.demo" {
			t.Fatalf("me = %+v", out.Me)
		}
	}
	refused := func(t *testing.T, tok string) {
		t.Helper()
		res := app.do(tok, me, nil)
		if res.Status != http.StatusUnauthorized || !slices.Equal(res.codes(), []string{"UNAUTHENTICATED"}) {
			t.Fatalf("got %d %v", res.Status, res.codes())
		}
	}
	t.Run("ValidTokenAccepted", func(t *testing.T) { accepted(t, is.token(t, "officer@pgn.demo", nil)) })
	t.Run("WrongAudienceRefused", func(t *testing.T) {
		refused(t, is.token(t, "officer@pgn.demo", func(c *jwt.Claims) { c.Audience = jwt.Audience{"other-app"} }))
	})
	t.Run("ExpiredRefused", func(t *testing.T) {
		refused(t, is.token(t, "officer@pgn.demo", func(c *jwt.Claims) { c.Expiry = jwt.NewNumericDate(time.Now().Add(-time.Minute)) }))
	})
	t.Run("TenYearLifetimeRefused", func(t *testing.T) {
		refused(t, is.token(t, "officer@pgn.demo", func(c *jwt.Claims) { c.Expiry = jwt.NewNumericDate(time.Now().AddDate(10, 0, 0)) }))
	})
	t.Run("ThirteenHourLifetimeRefused", func(t *testing.T) {
		refused(t, is.token(t, "officer@pgn.demo", func(c *jwt.Claims) { c.Expiry = jwt.NewNumericDate(time.Now().Add(13 * time.Hour)) }))
	})
	t.Run("WrongIssuerRefused", func(t *testing.T) {
		refused(t, is.token(t, "officer@pgn.demo", func(c *jwt.Claims) { c.Issuer = "https://evil.example" }))
	})
	t.Run("UnknownSubjectRefused", func(t *testing.T) { refused(t, is.token(t, "nobody@nowhere.demo", nil)) })
	t.Run("DevTokenRefusedWithoutDevTokens", func(t *testing.T) { refused(t, app.token("officer@pgn.demo")) })
	t.Run("ForgedSignatureRefused", func(t *testing.T) {
		other := &issuer{srv: is.srv}
		other.rotate(t)
		refused(t, other.token(t, "officer@pgn.demo", nil))
	})
	t.Run("KeyRotation", func(t *testing.T) {
		old := is.token(t, "officer@pgn.demo", nil)
		accepted(t, old)
		is.rotate(t)
		// A token of the new key names a key the server has not seen: it
		// fetches the JWKS again and accepts it, without a restart.
		accepted(t, is.token(t, "officer@pgn.demo", nil))
		// The old key is gone from the JWKS: its tokens no longer pass.
		refused(t, old)
	})
}
