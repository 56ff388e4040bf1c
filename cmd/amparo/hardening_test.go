package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"
)

// post sends a raw body to /graphql with content type ct and the holder of
// token ("" for none).
func (a *testApp) post(token, ct string, body io.Reader) *gqlResponse {
	a.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, a.srv.URL+"/graphql", body)
	req.Header.Set("Content-Type", ct)
	req.Header.Set(strictAccept[0], strictAccept[1])
	return a.send(req, token)
}

// strictAccept asks for application/graphql-response+json, under which
// request errors answer 4xx (under application/json, the default, 200).
var strictAccept = []string{"Accept", "application/graphql-response+json"}

// wantRefused checks a response carries exactly one error, of code, with a
// request id, and the HTTP status.
func wantRefused(t *testing.T, res *gqlResponse, status int, code string) {
	t.Helper()
	if res.Status != status || !slices.Equal(res.codes(), []string{code}) {
		t.Fatalf("got %d %+v, want %d %s", res.Status, res.Errors, status, code)
	}
	if res.Errors[0].Extensions.RequestID == "" {
		t.Fatalf("error without requestId: %+v", res.Errors[0])
	}
}

// repeat joins n copies of s with spaces.
func repeat(s string, n int) string { return strings.TrimSpace(strings.Repeat(s+" ", n)) }

// The attacks of issue 10, and the shapes just past each limit: every one is
// refused before gqlgen's validator sees it (BenchmarkWorstShapes in package
// graph measures their cost).
func TestOperationCostBounded(t *testing.T) {
	app := newTestApp(t)
	tok := app.token("officer@pgn.demo")
	for _, tc := range []struct {
		name, token, query string
		status             int
		code               string
	}{
		{"ErrFiftyThousandDuplicateFields", tok, "{ me { user { " + repeat("email", 50_000) + " } } }", 413, "PAYLOAD_TOO_LARGE"},
		{"ErrTwentyThousandAnonymousTypename", "", "{ " + repeat("__typename", 20_000) + " }", 413, "PAYLOAD_TOO_LARGE"},
		{"ErrThreeHundredAliasedSchema", tok, "{ " + func() string {
			var b strings.Builder
			for i := range 300 {
				fmt.Fprintf(&b, "s%d: __schema { types { name fields { name } } } ", i)
			}
			return b.String()
		}() + "}", 400, "BAD_USER_INPUT"},
		{"ErrTokensOverLimit", tok, "{ me { user { " + repeat("email", 6_000) + " } } }", 400, "BAD_USER_INPUT"},
		{"ErrFieldsOverLimit", tok, "{ me { user { " + repeat("email", 600) + " } } }", 400, "BAD_USER_INPUT"},
		{"ErrFragmentsExpandedOverLimit", tok, "{ me { user { " + repeat("...F", 30) + " } } } fragment F on User { " + repeat("email", 20) + " }", 400, "BAD_USER_INPUT"},
		{"ErrFragmentCycle", tok, "{ me { user { ...A } } } fragment A on User { email ...B } fragment B on User { id ...A }", 422, "BAD_USER_INPUT"},
		{"ErrIntrospectionOverComplexity", tok, "{ " + func() string {
			var b strings.Builder
			for i := range 20 {
				fmt.Fprintf(&b, "s%d: __schema { queryType { name } } ", i)
			}
			return b.String()
		}() + "}", 422, "BAD_USER_INPUT"},
		// One response per operation: deferred parts would never arrive.
		{"ErrDeferInline", tok, "{ me { user { id ... @defer { email } } } }", 422, "BAD_USER_INPUT"},
		{"ErrDeferSpreadInFragment", tok, "{ ...Q } fragment Q on Query { me { user { ...E @defer(label: \"e\") } } } fragment E on User { email }", 422, "BAD_USER_INPUT"},
		{"ErrUnknownFieldWithoutSuggestion", tok, "{ me { user { emial } } }", 422, "BAD_USER_INPUT"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			wantRefused(t, app.do(tc.token, tc.query, nil, strictAccept...), tc.status, tc.code)
		})
	}
	t.Run("AtLimitAnswered", func(t *testing.T) {
		var out struct {
			Me struct{ User struct{ Email string } }
		}
		app.do(tok, "{ me { user { "+repeat("email", 400)+" } } }", nil).decode(t, &out)
		if out.Me.User.Email != "officer@pgn.demo" {
			t.Fatalf("got %+v", out)
		}
	})
	t.Run("OneSchemaAnswered", func(t *testing.T) {
		var out struct {
			Schema struct{ Types []struct{ Name string } } `json:"__schema"`
		}
		app.do(tok, "{ __schema { types { name fields { name } } } }", nil).decode(t, &out)
		if len(out.Schema.Types) == 0 {
			t.Fatal("no types")
		}
	})
}

func TestIntrospectionOffInServe(t *testing.T) {
	app := newTestApp(t, func(c *config) { c.Introspection = false })
	tok := app.token("officer@pgn.demo")
	for name, q := range map[string]string{
		"ErrSchema":     "{ __schema { queryType { name } } }",
		"ErrType":       `{ __type(name: "Case") { name } }`,
		"ErrInFragment": "{ ...F } fragment F on Query { __schema { queryType { name } } }",
	} {
		t.Run(name, func(t *testing.T) {
			res := app.do(tok, q, nil)
			if !slices.Equal(res.codes(), []string{"BAD_USER_INPUT"}) || len(res.Data) > 0 && string(res.Data) != "null" {
				t.Fatalf("got %d %s %+v", res.Status, res.Data, res.Errors)
			}
		})
	}
	t.Run("TypenameAnswered", func(t *testing.T) {
		var out struct {
			Typename string `json:"__typename"`
		}
		app.do(tok, "{ __typename }", nil).decode(t, &out)
		if out.Typename != "Query" {
			t.Fatalf("got %q", out.Typename)
		}
	})
	t.Run("EnvironmentTurnsItOn", func(t *testing.T) {
		env := map[string]string{"AMPARO_INTROSPECTION": "1"}
		for k, v := range map[string]string{"AMPARO_DATABASE_URL": "postgres://x/y", "AMPARO_SEALER_DATABASE_URL": "postgres://x/y",
			"AMPARO_S3_ENDPOINT": "h:1", "AMPARO_S3_ACCESS_KEY": "a", "AMPARO_S3_SECRET_KEY": "s", "AMPARO_AUDIT_SIGNING_KEY": "k", "AMPARO_IDENTITY_KEY": "i",
			"AMPARO_OIDC_ISSUER": "https://i", "AMPARO_OIDC_AUDIENCE": "amparo"} {
			env[k] = v
		}
		cfg, err := loadConfig(func(k string) string { return env[k] })
		if err != nil || !cfg.Introspection {
			t.Fatalf("%+v, %v", cfg, err)
		}
		delete(env, "AMPARO_INTROSPECTION")
		if cfg, _ := loadConfig(func(k string) string { return env[k] }); cfg.Introspection {
			t.Fatal("introspection on by default")
		}
	})
}

func TestAnonymousOnlyPublicOperations(t *testing.T) {
	app := newTestApp(t)
	for _, tc := range []struct {
		name, query string
		public      bool
	}{
		{"ComplaintStatusAnswered", `{ complaintStatus(trackingCode: "AAAA-BBBB") { status } }`, true},
		{"ReferenceDataAnswered", `{ violationTypes { code } violationCategories { code } departments { code } institutions { code } entryPoints { code } }`, true},
		{"ReferenceThroughFragmentAnswered", `{ ...R } fragment R on Query { departments { code } }`, true},
		{"ErrMe", `{ me { roles } }`, false},
		{"ErrCases", `{ cases { totalCount } }`, false},
		{"ErrMixedWithPublic", `{ departments { code } me { roles } }`, false},
		{"ErrHiddenInFragment", `{ departments { code } ...F } fragment F on Query { cases { totalCount } }`, false},
		{"ErrMutation", fileCaseMutation, false},
		{"ErrSecondOperation", `query A { departments { code } } query B { cases { totalCount } }`, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := app.do("", tc.query, map[string]any{"input": fileCaseInput("anon")})
			if tc.public {
				if len(res.Errors) > 0 {
					t.Fatalf("%d %+v", res.Status, res.Errors)
				}
				return
			}
			wantRefused(t, res, http.StatusUnauthorized, "UNAUTHENTICATED")
		})
	}
	t.Run("ErrAnonymousUpload", func(t *testing.T) {
		res := app.upload("", uploadMutation, map[string]any{"caseId": "00000000-0000-0000-0000-000000000000"}, "a.txt", strings.NewReader("acta"))
		wantRefused(t, res, http.StatusUnauthorized, "UNAUTHENTICATED")
	})
}

// Every answer carries one of the documented codes and the request id.
func TestErrorCodesEverywhere(t *testing.T) {
	app := newTestApp(t)
	tok := app.token("officer@pgn.demo")
	t.Run("ErrContentType", func(t *testing.T) {
		wantRefused(t, app.post(tok, "text/plain", strings.NewReader(`{"query":"{ me { roles } }"}`)), 415, "UNSUPPORTED_MEDIA_TYPE")
	})
	t.Run("ErrNoContentType", func(t *testing.T) {
		wantRefused(t, app.post(tok, "", strings.NewReader(`{"query":"{ me { roles } }"}`)), 415, "UNSUPPORTED_MEDIA_TYPE")
	})
	t.Run("ErrMethod", func(t *testing.T) {
		req, _ := http.NewRequest(http.MethodPut, app.srv.URL+"/graphql", nil)
		wantRefused(t, app.send(req, tok), http.StatusMethodNotAllowed, "BAD_USER_INPUT")
	})
	t.Run("ErrBodyOverOneMiB", func(t *testing.T) {
		body := `{"query":"{ me { roles } }","variables":{"pad":"` + strings.Repeat("x", 1<<20) + `"}}`
		wantRefused(t, app.post(tok, "application/json", strings.NewReader(body)), 413, "PAYLOAD_TOO_LARGE")
	})
	t.Run("ErrNULInFilterVariable", func(t *testing.T) {
		res := app.do(tok, `query($f: CaseFilter) { cases(filter: $f) { totalCount } }`, map[string]any{"f": map[string]any{"reference": "PGN\x00-2026"}}, strictAccept...)
		wantRefused(t, res, 400, "BAD_USER_INPUT")
		if res.Errors[0].Extensions.Field != "f.reference" {
			t.Fatalf("field %q", res.Errors[0].Extensions.Field)
		}
	})
	t.Run("ErrNULInFilterLiteral", func(t *testing.T) {
		res := app.do(tok, `{ cases(filter: {reference: "PGN\u0000-2026"}) { totalCount } }`, nil)
		if !slices.Equal(res.codes(), []string{"BAD_USER_INPUT"}) {
			t.Fatalf("%d %+v", res.Status, res.Errors)
		}
	})
	t.Run("ErrBatchNotEchoed", func(t *testing.T) {
		res := app.post(tok, "application/json", strings.NewReader(`[{"query":"{ me { roles } }","variables":{"name":"María José López"}}]`))
		wantRefused(t, res, 400, "BAD_USER_INPUT")
		if strings.Contains(res.Errors[0].Message, "María") {
			t.Fatalf("body echoed: %q", res.Errors[0].Message)
		}
	})
	t.Run("ErrBadJSONNotEchoed", func(t *testing.T) {
		res := app.post(tok, "application/json", strings.NewReader(`{"query":"{ me { roles } }","variables":{"name":"María José López`))
		wantRefused(t, res, 400, "BAD_USER_INPUT")
		if strings.Contains(res.Errors[0].Message, "María") {
			t.Fatalf("body echoed: %q", res.Errors[0].Message)
		}
	})
	t.Run("ErrSyntax", func(t *testing.T) {
		wantRefused(t, app.do(tok, `{ me { roles `, nil, strictAccept...), 422, "BAD_USER_INPUT")
	})
	t.Run("ErrUnknownOperationName", func(t *testing.T) {
		body, _ := json.Marshal(map[string]any{"query": "query A { me { roles } }", "operationName": "B"})
		wantRefused(t, app.post(tok, "application/json", bytes.NewReader(body)), 422, "BAD_USER_INPUT")
	})
}

func TestComplaintStatusRateLimited(t *testing.T) {
	app := newTestApp(t, func(c *config) { c.StatusPerMinute, c.StatusBurst, c.StatusPerSecond = 1, 3, 1000 })
	q := `{ complaintStatus(trackingCode: "AAAA-BBBB") { status } }`
	t.Run("ErrAliasesMultiply", func(t *testing.T) {
		res := app.do("", `{ a: complaintStatus(trackingCode: "AAAA-BBBB") { status } b: complaintStatus(trackingCode: "AAAA-BBBC") { status } }`, nil, strictAccept...)
		wantRefused(t, res, 400, "BAD_USER_INPUT")
	})
	t.Run("ErrAliasesInFragments", func(t *testing.T) {
		res := app.do("", `{ a: complaintStatus(trackingCode: "AAAA-BBBB") { status } ...F } fragment F on Query { b: complaintStatus(trackingCode: "C") { status } }`, nil, strictAccept...)
		wantRefused(t, res, 400, "BAD_USER_INPUT")
	})
	t.Run("ErrOverRatePerAddress", func(t *testing.T) {
		for i := range 3 {
			if res := app.do("", q, nil); len(res.Errors) > 0 {
				t.Fatalf("query %d: %+v", i, res.Errors)
			}
		}
		wantRefused(t, app.do("", q, nil), http.StatusTooManyRequests, "RATE_LIMITED")
		// A token does not lift it: the limit is on guessing codes.
		wantRefused(t, app.do(app.token("officer@pgn.demo"), q, nil), http.StatusTooManyRequests, "RATE_LIMITED")
	})
	t.Run("OtherQueriesUnaffected", func(t *testing.T) {
		if res := app.do("", `{ departments { code } }`, nil); len(res.Errors) > 0 {
			t.Fatalf("%+v", res.Errors)
		}
	})
}

// An operation sent by its hash alone (automatic persisted queries) is
// screened, and counted, as the text it stands for.
func TestPersistedComplaintStatusCounted(t *testing.T) {
	app := newTestApp(t, func(c *config) { c.StatusPerMinute, c.StatusBurst, c.StatusPerSecond = 1, 2, 1000 })
	q := `{ complaintStatus(trackingCode: "AAAA-BBBB") { status } }`
	sum := sha256.Sum256([]byte(q))
	ext := map[string]any{"persistedQuery": map[string]any{"version": 1, "sha256Hash": hex.EncodeToString(sum[:])}}
	send := func(token string, withQuery bool) *gqlResponse {
		body := map[string]any{"extensions": ext}
		if withQuery {
			body["query"] = q
		}
		b, _ := json.Marshal(body)
		return app.post(token, "application/json", bytes.NewReader(b))
	}
	if res := send("", true); len(res.Errors) > 0 {
		t.Fatalf("registering: %+v", res.Errors)
	}
	if res := send("", false); len(res.Errors) > 0 {
		t.Fatalf("anonymous by hash: %+v", res.Errors)
	}
	wantRefused(t, send(app.token("officer@pgn.demo"), false), http.StatusTooManyRequests, "RATE_LIMITED")
}

// slowBody feeds first, then a byte every gap until stop is closed.
func slowBody(first []byte, gap time.Duration, stop <-chan struct{}) io.Reader {
	pr, pw := io.Pipe()
	go func() {
		if _, err := pw.Write(first); err != nil {
			return
		}
		for {
			select {
			case <-stop:
				pw.CloseWithError(io.ErrUnexpectedEOF)
				return
			case <-time.After(gap):
				if _, err := pw.Write([]byte(" ")); err != nil {
					return
				}
			}
		}
	}()
	return pr
}

func TestSlowClients(t *testing.T) {
	app := newTestApp(t, func(c *config) {
		c.BodyTimeout = 1
		c.MinUploadRate, c.UploadRateWindow = 64<<10, 500*time.Millisecond
	})
	caseID := app.fileCase("officer@pgn.demo", "slow-clients")
	t.Run("ErrJSONBodyTrickling", func(t *testing.T) {
		stop := make(chan struct{})
		defer close(stop)
		start := time.Now()
		res := app.post("", "application/json", slowBody([]byte(`{"query":"{ departments { code } }"`), 100*time.Millisecond, stop))
		wantRefused(t, res, 400, "BAD_USER_INPUT")
		if d := time.Since(start); d > 10*time.Second {
			t.Fatalf("cut after %s", d)
		}
	})
	t.Run("ErrStalledUploadCutAndCleaned", func(t *testing.T) {
		seen := app.watchStagedKeys()
		stop := make(chan struct{})
		defer close(stop)
		head := []byte(strings.Repeat("Acta de entrega de la niña en el albergue.\n", 400)) // past the sniffed head
		done := make(chan *gqlResponse, 1)
		go func() {
			req := app.uploadRequest(app.token("officer@pgn.demo"), map[string]any{"caseId": caseID}, "acta.txt", slowBody(head, time.Second, stop))
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				done <- nil
				return
			}
			defer res.Body.Close()
			out := &gqlResponse{Status: res.StatusCode}
			_ = json.NewDecoder(res.Body).Decode(out)
			done <- out
		}()
		select {
		case res := <-done:
			if res != nil && len(res.Errors) == 0 {
				t.Fatalf("stalled upload accepted: %s", res.Data)
			}
		case <-time.After(20 * time.Second):
			t.Fatal("stalled upload not cut")
		}
		eventually(t, 10*time.Second, func() error {
			if r := app.recorded(); r.evidence != 0 || r.staging != 0 {
				return fmt.Errorf("recorded %+v", r)
			}
			if keys := seen(); len(keys) != 1 {
				return fmt.Errorf("staged keys %v", keys)
			} else if s := bucketContents(t, app.blobs, keys...); s != (stored{}) {
				return fmt.Errorf("bucket holds %+v", s)
			}
			return nil
		})
	})
}

func TestUploadsPerUserCapped(t *testing.T) {
	app := newTestApp(t, func(c *config) { c.UploadsPerUser, c.MinUploadRate = 2, 1 })
	caseID := app.fileCase("officer@pgn.demo", "upload-cap")
	stop := make(chan struct{})
	head := []byte(strings.Repeat("Acta de entrega de la niña en el albergue.\n", 400))
	finished := make(chan struct{}, 2)
	for range 2 {
		go func() {
			defer func() { finished <- struct{}{} }()
			req := app.uploadRequest(app.token("officer@pgn.demo"), map[string]any{"caseId": caseID}, "acta.txt", slowBody(head, time.Second, stop))
			if res, err := http.DefaultClient.Do(req); err == nil {
				res.Body.Close()
			}
		}()
	}
	defer func() { close(stop); <-finished; <-finished }()
	eventually(t, 10*time.Second, func() error {
		if n := countRows(t, app.db.App, `SELECT count(*) FROM evidence_staging`); n != 2 {
			return fmt.Errorf("%d uploads staged", n)
		}
		return nil
	})
	t.Run("ErrThirdOfSameUser", func(t *testing.T) {
		res, _ := app.uploadAs("officer@pgn.demo", caseID, "acta.txt", strings.NewReader("acta"))
		wantRefused(t, res, http.StatusTooManyRequests, "RATE_LIMITED")
	})
	t.Run("OtherUserUploads", func(t *testing.T) {
		app.mustUpload("supervisor@pgn.demo", caseID, "acta.txt", []byte("constancia de entrega"))
	})
}

func eventually(t *testing.T, within time.Duration, cond func() error) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		err := cond()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("still not so after %s: %v", within, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestSealerRoleRequired(t *testing.T) {
	t.Run("ErrMissingNamesVariable", func(t *testing.T) {
		env := map[string]string{"AMPARO_DATABASE_URL": "postgres://x/y", "AMPARO_S3_ENDPOINT": "h:1",
			"AMPARO_S3_ACCESS_KEY": "a", "AMPARO_S3_SECRET_KEY": "s", "AMPARO_AUDIT_SIGNING_KEY": "k", "AMPARO_IDENTITY_KEY": "i", "AMPARO_DEV_TOKENS": "1",
			"AMPARO_DEV_KEY_FILE": "f"}
		_, err := loadConfig(func(k string) string { return env[k] })
		var ce *configError
		if !errors.As(err, &ce) || ce.name != "AMPARO_SEALER_DATABASE_URL" || strings.Contains(err.Error(), "\n") {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("ErrApplicationRoleRefused", func(t *testing.T) {
		app := newTestApp(t)
		cfg := *app.cfg
		cfg.SealerURL = app.db.AppURL
		_, err := build(t.Context(), &cfg, slog.New(slog.DiscardHandler))
		if err == nil || !strings.HasPrefix(err.Error(), "AMPARO_SEALER_DATABASE_URL: role amparo_app may not write audit checkpoints") {
			t.Fatalf("got %v", err)
		}
	})
}

// GraphQL answers write their strings as gqlgen marshalled them (< and >
// not escaped): a browser must never sniff one into HTML, answered or
// refused, by GraphQL or before it.
func TestAnswersNotSniffed(t *testing.T) {
	app := newTestApp(t)
	tok := app.token("officer@pgn.demo")
	for name, c := range map[string]struct{ token, body string }{
		"Answered":    {tok, `{"query":"{ me { user { id } } }"}`},
		"ErrRefused":  {tok, `{"query":"{ me { roles `},
		"ErrBadToken": {"not.a.token", `{"query":"{ me { user { id } } }"}`},
	} {
		t.Run(name, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodPost, app.srv.URL+"/graphql", strings.NewReader(c.body))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Authorization", "Bearer "+c.token)
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			if got := res.Header.Get("X-Content-Type-Options"); got != "nosniff" {
				t.Fatalf("%d: X-Content-Type-Options %q", res.StatusCode, got)
			}
		})
	}
}
