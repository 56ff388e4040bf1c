package main

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"amparo/internal/audit"
	"amparo/internal/auth"
	"amparo/internal/blob"
	"amparo/internal/blob/blobtest"
	"amparo/internal/keys"
	"amparo/internal/postgres/postgrestest"
)

func TestMain(m *testing.M) {
	code := m.Run()
	postgrestest.Stop()
	blobtest.Stop()
	os.Exit(code)
}

// testApp is the real server (build, the same wiring as serve) over a fresh
// database and bucket, reached through HTTP.
type testApp struct {
	t      testing.TB
	srv    *httptest.Server
	db     *postgrestest.DB
	blobs  *blob.Store
	issuer *auth.DevIssuer
	cfg    *config
	server *app // the server's own parts, for tests that look inside
	// wsQuery, when set, is the operation subscribe sends instead of alerts.
	wsQuery string
}

// serverEnv is the environment of a server over db and the bucket of s3,
// with its keys in fresh files, accepting tokens of the returned dev
// issuer. newTestApp builds the server in process from it; benchmarks run
// `amparo serve` with it as a child process.
func serverEnv(tb testing.TB, db *postgrestest.DB, s3 blob.Config) (map[string]string, *auth.DevIssuer) {
	tb.Helper()
	dir := tb.TempDir()
	_, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		tb.Fatal(err)
	}
	der, _ := x509.MarshalPKCS8PrivateKey(key)
	keyFile := filepath.Join(dir, "dev-issuer.pem")
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		tb.Fatal(err)
	}
	auditKey := filepath.Join(dir, "audit-signing.key")
	if _, err := audit.LoadOrCreateSigner(auditKey, true); err != nil {
		tb.Fatal(err)
	}
	identityKey := filepath.Join(dir, "identity.keys")
	if err := keys.InitFile(identityKey); err != nil {
		tb.Fatal(err)
	}
	return map[string]string{
		"AMPARO_AUDIT_SIGNING_KEY":   auditKey,
		"AMPARO_IDENTITY_KEY":        identityKey,
		"AMPARO_DATABASE_URL":        db.AppURL,
		"AMPARO_SEALER_DATABASE_URL": db.SealerURL,
		// EveryOperationHasRows lists the schema's operations through
		// introspection; serve answers it only when told to.
		"AMPARO_INTROSPECTION": "1",
		"AMPARO_S3_ENDPOINT":   s3.Endpoint,
		"AMPARO_S3_ACCESS_KEY": s3.AccessKey,
		"AMPARO_S3_SECRET_KEY": s3.SecretKey,
		"AMPARO_S3_BUCKET":     s3.Bucket,
		"AMPARO_DEV_TOKENS":    "1",
		"AMPARO_DEV_KEY_FILE":  keyFile,
	}, auth.NewDevIssuer(key)
}

func newTestApp(t testing.TB, tweak ...func(*config)) *testApp {
	t.Helper()
	db := postgrestest.New(t)
	blobs, s3 := blobtest.New(t)
	env, issuer := serverEnv(t, db, s3)
	cfg, err := loadConfig(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range tweak {
		f(cfg)
	}
	log := slog.New(slog.NewJSONHandler(io.Discard, nil))
	if testing.Verbose() {
		log = slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	a, err := build(t.Context(), cfg, log)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(a.handler)
	t.Cleanup(func() { srv.Close(); a.db.Close(); a.sealerDB.Close() })
	return &testApp{t: t, srv: srv, db: db, blobs: blobs, issuer: issuer, cfg: cfg, server: a}
}

// token returns a bearer token for a demo user.
func (a *testApp) token(email string) string {
	a.t.Helper()
	tok, err := a.issuer.Issue(email, time.Hour)
	if err != nil {
		a.t.Fatal(err)
	}
	return tok
}

type gqlError struct {
	Message    string `json:"message"`
	Path       []any  `json:"path"`
	Extensions struct {
		Code      string `json:"code"`
		Field     string `json:"field"`
		RequestID string `json:"requestId"`
	} `json:"extensions"`
}

type gqlResponse struct {
	Status int
	Data   json.RawMessage `json:"data"`
	Errors []gqlError      `json:"errors"`
}

// codes lists the error codes of a response, in order.
func (r *gqlResponse) codes() []string {
	var out []string
	for _, e := range r.Errors {
		out = append(out, e.Extensions.Code)
	}
	return out
}

// decode unmarshals data into v, failing on any error in the response.
func (r *gqlResponse) decode(t testing.TB, v any) {
	t.Helper()
	if len(r.Errors) > 0 {
		t.Fatalf("unexpected errors: %+v", r.Errors)
	}
	if err := json.Unmarshal(r.Data, v); err != nil {
		t.Fatalf("decode %s: %v", r.Data, err)
	}
}

// do posts a GraphQL operation as the holder of token ("" for none).
func (a *testApp) do(token, query string, vars map[string]any, header ...string) *gqlResponse {
	a.t.Helper()
	body, _ := json.Marshal(map[string]any{"query": query, "variables": vars})
	req, _ := http.NewRequest(http.MethodPost, a.srv.URL+"/graphql", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	return a.send(req, token)
}

func (a *testApp) send(req *http.Request, token string) *gqlResponse {
	a.t.Helper()
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		a.t.Fatal(err)
	}
	defer res.Body.Close()
	out := &gqlResponse{Status: res.StatusCode}
	raw, _ := io.ReadAll(res.Body)
	if err := json.Unmarshal(raw, out); err != nil {
		a.t.Fatalf("response %d is not JSON: %s", res.StatusCode, raw)
	}
	return out
}

// upload sends a GraphQL multipart request with one file at variables.file.
func (a *testApp) upload(token, query string, vars map[string]any, filename string, content io.Reader) *gqlResponse {
	a.t.Helper()
	return a.send(a.uploadRequestFor(query, vars, filename, content), token)
}

// uploadRequest is the request of uploadMutation over vars, authorized by
// token, streaming content as it is read.
func (a *testApp) uploadRequest(token string, vars map[string]any, filename string, content io.Reader) *http.Request {
	req := a.uploadRequestFor(uploadMutation, vars, filename, content)
	req.Header.Set("Authorization", "Bearer "+token)
	return req
}

func (a *testApp) uploadRequestFor(query string, vars map[string]any, filename string, content io.Reader) *http.Request {
	pr, pw := io.Pipe()
	mw := multipart.NewWriter(pw)
	go func() {
		vars["file"] = nil
		ops, _ := json.Marshal(map[string]any{"query": query, "variables": vars})
		_ = mw.WriteField("operations", string(ops))
		_ = mw.WriteField("map", `{"0":["variables.file"]}`)
		fw, err := mw.CreateFormFile("0", filename)
		if err == nil {
			_, err = io.Copy(fw, content)
		}
		if err == nil {
			err = mw.Close()
		}
		pw.CloseWithError(err)
	}()
	req, _ := http.NewRequest(http.MethodPost, a.srv.URL+"/graphql", pr)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	return req
}

// fileCaseInput is a complete, valid fileCase input; key makes it unique.
func fileCaseInput(key string) map[string]any {
	return map[string]any{
		"idempotencyKey": key,
		"child": map[string]any{
			"givenName": "María José", "familyName": "López Pérez", "dateOfBirth": "2014-03-09",
			"sex": "FEMALE", "nationality": "HND", "populationStatus": "MIGRANT_TRANSIT", "careStatus": "UNACCOMPANIED",
		},
		"violations": []any{
			map[string]any{"type": "TRAFFICKING", "occurredOn": "2026-11-20", "journeyStage": "TRANSIT",
				"perpetratorType": "SMUGGLER_TRAFFICKER", "description": "retenida por el guía"},
			map[string]any{"type": "VIOLENCE_PHYSICAL"},
		},
		"departmentCode": "GT-HU",
		"municipality":   "La Mesilla",
		"entryPoint":     "LA_MESILLA",
		"urgency":        "HIGH",
		"summary":        "Niña no acompañada identificada en el puesto fronterizo.",
	}
}

const fileCaseMutation = `mutation($input: FileCaseInput!) { fileCase(input: $input) { case { id reference } } }`

// fileCase files a case as email and returns its id.
func (a *testApp) fileCase(email, key string) string {
	a.t.Helper()
	var out struct {
		FileCase struct {
			Case struct{ ID, Reference string }
		}
	}
	a.do(a.token(email), fileCaseMutation, map[string]any{"input": fileCaseInput(key)}).decode(a.t, &out)
	if out.FileCase.Case.ID == "" {
		a.t.Fatal("no case id")
	}
	return out.FileCase.Case.ID
}

// countRows runs a SELECT count(*) query.
func countRows(t testing.TB, db *sqlx.DB, q string, args ...any) int {
	t.Helper()
	var n int
	if err := db.Get(&n, q, args...); err != nil {
		t.Fatal(err)
	}
	return n
}

// replica is a second server over the same database, bucket and keys as a:
// another replica of the same deployment.
func (a *testApp) replica(t testing.TB, tweak ...func(*config)) *testApp {
	t.Helper()
	cfg := *a.cfg
	for _, f := range tweak {
		f(&cfg)
	}
	s, err := build(t.Context(), &cfg, slog.New(slog.NewJSONHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(s.handler)
	t.Cleanup(func() { srv.Close(); s.db.Close(); s.sealerDB.Close() })
	return &testApp{t: t, srv: srv, db: a.db, blobs: a.blobs, issuer: a.issuer, cfg: &cfg, server: s}
}
