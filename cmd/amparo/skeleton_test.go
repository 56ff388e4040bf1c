package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
)

const caseQuery = `query($id: ID!) { case(id: $id) {
  id reference status urgency dueAt version municipality entryPoint summary createdAt
  institution { code name } department { code name }
  child { id ageYears ageBand sex nationality populationStatus careStatus
    identity { givenName familyName dateOfBirth dateOfBirthEstimated } }
  violations { type { code label category { code } } occurredOn journeyStage perpetratorType description }
  evidence { id sha256 }
} }`

type caseView struct {
	ID, Reference, Status, Urgency, Summary, CreatedAt string
	DueAt                                              *string
	Version                                            int
	Municipality, EntryPoint                           *string
	Institution, Department                            struct{ Code, Name string }
	Child                                              struct {
		ID, AgeBand, Sex, Nationality, PopulationStatus, CareStatus string
		AgeYears                                                    int
		Identity                                                    *struct {
			GivenName, FamilyName, DateOfBirth string
			DateOfBirthEstimated               bool
		}
	}
	Violations []struct {
		Type struct {
			Code, Label string
			Category    struct{ Code string }
		}
		OccurredOn, JourneyStage, PerpetratorType, Description *string
	}
	Evidence []struct{ ID, SHA256 string }
}

func TestFileCaseReadBack(t *testing.T) {
	app := newTestApp(t)
	id := app.fileCase("officer@pgn.demo", "skeleton-read-back-1")

	var out struct{ Case caseView }
	app.do(app.token("officer@pgn.demo"), caseQuery, map[string]any{"id": id}).decode(t, &out)
	c := out.Case
	if !strings.HasPrefix(c.Reference, "PGN-") || len(c.Reference) != len("PGN-2026-000001") {
		t.Errorf("reference = %q, want PGN-YYYY-NNNNNN", c.Reference)
	}
	check := func(field, got, want string) {
		t.Helper()
		if got != want {
			t.Errorf("%s = %q, want %q", field, got, want)
		}
	}
	check("status", c.Status, "REGISTERED")
	check("urgency", c.Urgency, "HIGH")
	check("institution", c.Institution.Code, "PGN")
	check("department (legacy GT-HU stored as ISO)", c.Department.Code, "GT-13")
	check("department name", c.Department.Name, "Huehuetenango")
	check("municipality", deref(c.Municipality), "La Mesilla")
	check("entryPoint", deref(c.EntryPoint), "LA_MESILLA")
	check("summary", c.Summary, "Niña no acompañada identificada en el puesto fronterizo.")
	check("sex", c.Child.Sex, "FEMALE")
	check("nationality", c.Child.Nationality, "HND")
	check("populationStatus", c.Child.PopulationStatus, "MIGRANT_TRANSIT")
	check("careStatus", c.Child.CareStatus, "UNACCOMPANIED")
	check("ageBand", c.Child.AgeBand, "AGE_6_12")
	if c.DueAt == nil || c.Version != 1 {
		t.Errorf("dueAt = %v, version = %d", c.DueAt, c.Version)
	}
	if c.Child.Identity == nil {
		t.Fatal("the filing officer, assigned to the case, must see the identity")
	}
	check("givenName", c.Child.Identity.GivenName, "María José")
	check("familyName", c.Child.Identity.FamilyName, "López Pérez")
	check("dateOfBirth", c.Child.Identity.DateOfBirth, "2014-03-09")
	if len(c.Violations) != 2 {
		t.Fatalf("violations = %d, want 2", len(c.Violations))
	}
	v := c.Violations[0]
	check("violation type", v.Type.Code, "TRAFFICKING")
	check("violation label (Spanish by default)", v.Type.Label, "Trata de personas (finalidad registrada aparte)")
	check("occurredOn", deref(v.OccurredOn), "2026-11-20")
	check("journeyStage", deref(v.JourneyStage), "TRANSIT")
	check("perpetratorType", deref(v.PerpetratorType), "SMUGGLER_TRAFFICKER")
	check("description", deref(v.Description), "retenida por el guía")
	check("second violation", c.Violations[1].Type.Code, "VIOLENCE_PHYSICAL")

	// The filing and the identity read are both in the audit trail, and no
	// event carries the child's name.
	owner := app.db.Owner(t)
	if n := countRows(t, owner, `SELECT count(*) FROM audit.events WHERE action = 'case:file' AND object_id = $1`, id); n != 1 {
		t.Errorf("case:file events = %d, want 1", n)
	}
	if n := countRows(t, owner, `SELECT count(*) FROM audit.events WHERE action = 'identity:read'`); n != 1 {
		t.Errorf("identity:read events = %d, want 1", n)
	}
	if n := countRows(t, owner, `SELECT count(*) FROM audit.events WHERE details::text ILIKE '%María%' OR details::text ILIKE '%López%'`); n != 0 {
		t.Errorf("%d audit events carry the child's name", n)
	}
	var ev struct {
		Institution string `db:"actor_institution"`
		Roles       string `db:"roles"`
		RequestID   string `db:"request_id"`
	}
	if err := owner.Get(&ev, `SELECT actor_institution, array_to_string(actor_roles, ',') AS roles, request_id
		FROM audit.events WHERE action = 'case:file' AND object_id = $1`, id); err != nil {
		t.Fatal(err)
	}
	if ev.Institution != "PGN" || ev.Roles != "officer" || ev.RequestID == "" {
		t.Errorf("audit event actor = %+v", ev)
	}
}

func TestCaseAccess(t *testing.T) {
	app := newTestApp(t)
	id := app.fileCase("officer@pgn.demo", "skeleton-access-1")

	t.Run("OtherInstitutionNotFound", func(t *testing.T) {
		res := app.do(app.token("officer@sbs.demo"), caseQuery, map[string]any{"id": id})
		if !slices.Equal(res.codes(), []string{"NOT_FOUND"}) || string(res.Data) != `{"case":null}` {
			t.Fatalf("got %s %v", res.Data, res.codes())
		}
	})
	t.Run("IntakeCannotFileForbidden", func(t *testing.T) {
		res := app.do(app.token("intake@igm.demo"), fileCaseMutation, map[string]any{"input": fileCaseInput("skeleton-intake-1")})
		if !slices.Equal(res.codes(), []string{"FORBIDDEN"}) {
			t.Fatalf("got %v", res.codes())
		}
	})
	t.Run("NoTokenUnauthenticated", func(t *testing.T) {
		res := app.do("", caseQuery, map[string]any{"id": id})
		if !slices.Equal(res.codes(), []string{"UNAUTHENTICATED"}) {
			t.Fatalf("got %v", res.codes())
		}
		res = app.do("", fileCaseMutation, map[string]any{"input": fileCaseInput("skeleton-anon-1")})
		if !slices.Equal(res.codes(), []string{"UNAUTHENTICATED"}) {
			t.Fatalf("got %v", res.codes())
		}
	})
	t.Run("BadTokenUnauthenticated", func(t *testing.T) {
		res := app.do("not-a-token", `{ me { user { email } } }`, nil)
		if res.Status != http.StatusUnauthorized || !slices.Equal(res.codes(), []string{"UNAUTHENTICATED"}) {
			t.Fatalf("got %d %v", res.Status, res.codes())
		}
	})
	t.Run("SupervisorSeesIdentity", func(t *testing.T) {
		var out struct{ Case caseView }
		app.do(app.token("supervisor@pgn.demo"), caseQuery, map[string]any{"id": id}).decode(t, &out)
		if out.Case.Child.Identity == nil || out.Case.Child.Identity.GivenName != "María José" {
			t.Fatalf("identity = %+v", out.Case.Child.Identity)
		}
	})
	t.Run("OversightIdentityWithheld", func(t *testing.T) {
		res := app.do(app.token("oversight@pdh.demo"), caseQuery, map[string]any{"id": id})
		if !slices.Equal(res.codes(), []string{"FORBIDDEN"}) || !strings.Contains(string(res.Data), `"identity":null`) {
			t.Fatalf("got %s %v", res.Data, res.codes())
		}
		if p := res.Errors[0].Path; len(p) != 3 || p[2] != "identity" {
			t.Fatalf("error path = %v", p)
		}
	})
}

func TestFileCaseInvalidInput(t *testing.T) {
	app := newTestApp(t)
	in := fileCaseInput("skeleton-invalid-1")
	in["departmentCode"] = "GT-99"
	in["child"].(map[string]any)["nationality"] = "XYZ"
	in["violations"] = []any{map[string]any{"type": "NO_SUCH_TYPE"}}
	res := app.do(app.token("officer@pgn.demo"), fileCaseMutation, map[string]any{"input": in}, "Accept-Language", "en")
	var fields []string
	for _, e := range res.Errors {
		if e.Extensions.Code != "BAD_USER_INPUT" {
			t.Errorf("code = %s", e.Extensions.Code)
		}
		fields = append(fields, e.Extensions.Field)
	}
	slices.Sort(fields)
	want := []string{"child.nationality", "departmentCode", "violations[0].type"}
	if !slices.Equal(fields, want) {
		t.Fatalf("fields = %v, want %v (errors %+v)", fields, want, res.Errors)
	}
	if !strings.Contains(res.Errors[0].Message, "unknown") && !strings.Contains(res.Errors[0].Message, "invalid") {
		t.Errorf("message not in English: %q", res.Errors[0].Message)
	}
	if n := countRows(t, app.db.App, `SELECT count(*) FROM cases`); n != 0 {
		t.Errorf("cases = %d after a refused filing", n)
	}
}

func TestFileCaseIdempotent(t *testing.T) {
	app := newTestApp(t)
	first := app.fileCase("officer@pgn.demo", "skeleton-retry-1")
	again := app.fileCase("officer@pgn.demo", "skeleton-retry-1")
	if first != again {
		t.Fatalf("retry made a second case: %s, %s", first, again)
	}
	in := fileCaseInput("skeleton-retry-1")
	in["urgency"] = "LOW"
	res := app.do(app.token("officer@pgn.demo"), fileCaseMutation, map[string]any{"input": in})
	if !slices.Equal(res.codes(), []string{"CONFLICT"}) {
		t.Fatalf("same key, other content: %v", res.codes())
	}
	if n := countRows(t, app.db.App, `SELECT count(*) FROM cases`); n != 1 {
		t.Fatalf("cases = %d, want 1", n)
	}
}

// A failure after the case row is written and before commit must leave
// neither the case nor its audit event. A deferred constraint trigger,
// installed by the schema owner, fails the transaction at COMMIT, the last
// possible moment.
func TestFileCaseFailureBeforeCommitLeavesNothing(t *testing.T) {
	app := newTestApp(t)
	owner := app.db.Owner(t)
	for _, q := range []string{
		`CREATE FUNCTION fail_at_commit() RETURNS trigger LANGUAGE plpgsql AS $$
		 BEGIN RAISE EXCEPTION 'injected failure' USING ERRCODE = 'XX000'; END $$`,
		`CREATE CONSTRAINT TRIGGER fail_at_commit AFTER INSERT ON cases
		 DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION fail_at_commit()`,
	} {
		if _, err := owner.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	res := app.do(app.token("officer@pgn.demo"), fileCaseMutation, map[string]any{"input": fileCaseInput("skeleton-fail-1")})
	if !slices.Equal(res.codes(), []string{"INTERNAL"}) || res.Errors[0].Extensions.RequestID == "" {
		t.Fatalf("got %+v", res.Errors)
	}
	if strings.Contains(res.Errors[0].Message, "injected") {
		t.Errorf("the cause leaked to the client: %q", res.Errors[0].Message)
	}
	for table, q := range map[string]string{
		"cases":            `SELECT count(*) FROM cases`,
		"children":         `SELECT count(*) FROM children`,
		"child_identities": `SELECT count(*) FROM child_identities`,
		"case_violations":  `SELECT count(*) FROM case_violations`,
		"audit events":     `SELECT count(*) FROM audit.events WHERE action = 'case:file'`,
		"idempotency keys": `SELECT count(*) FROM idempotency_keys`,
	} {
		if n := countRows(t, owner, q); n != 0 {
			t.Errorf("%s = %d after the failed filing", table, n)
		}
	}
}

const uploadMutation = `mutation($caseId: ID!, $file: Upload!) {
  uploadEvidence(input: { caseId: $caseId, file: $file, description: "foto del documento" }) {
    evidence { id filename contentType size sha256 } } }`

func TestUploadEvidenceSHA256(t *testing.T) {
	app := newTestApp(t)
	id := app.fileCase("officer@pgn.demo", "skeleton-upload-1")
	content := append(bytes.Repeat([]byte("%PDF-1.7 evidencia\n"), 200_000), "%%EOF\n"...) // ~3.8 MB, several parts' worth of reads
	sum := sha256.Sum256(content)

	res := app.upload(app.token("officer@pgn.demo"), uploadMutation, map[string]any{"caseId": id}, "informe.pdf", bytes.NewReader(content))
	var out struct {
		UploadEvidence struct {
			Evidence struct {
				ID, Filename, ContentType, SHA256 string
				Size                              int64
			}
		}
	}
	res.decode(t, &out)
	e := out.UploadEvidence.Evidence
	if e.SHA256 != hex.EncodeToString(sum[:]) || e.Size != int64(len(content)) || e.Filename != "informe.pdf" {
		t.Fatalf("evidence = %+v, want sha256 %x size %d", e, sum, len(content))
	}

	// Read the object back from MinIO and hash what is stored.
	var obj struct {
		Key     string `db:"object_key"`
		Version string `db:"version_id"`
	}
	if err := app.db.App.Get(&obj, `SELECT object_key, version_id FROM evidence WHERE id = $1`, e.ID); err != nil {
		t.Fatal(err)
	}
	r, err := app.blobs.Open(t.Context(), obj.Key, obj.Version)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	h := sha256.New()
	if _, err := io.Copy(h, r); err != nil {
		t.Fatal(err)
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != e.SHA256 {
		t.Fatalf("stored object sha256 %s, response %s", got, e.SHA256)
	}
	if strings.Contains(obj.Key, id) || strings.Contains(obj.Key, "informe") {
		t.Errorf("object key %q reveals the case or the file", obj.Key)
	}

	t.Run("OtherInstitutionNotFound", func(t *testing.T) {
		res := app.upload(app.token("officer@sbs.demo"), uploadMutation, map[string]any{"caseId": id}, "x.pdf", strings.NewReader("%PDF-1.4"))
		if !slices.Equal(res.codes(), []string{"NOT_FOUND"}) {
			t.Fatalf("got %v", res.codes())
		}
	})
}

func TestHealth(t *testing.T) {
	app := newTestApp(t)
	for _, path := range []string{"/healthz", "/readyz", "/metrics"} {
		res, err := http.Get(app.srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusOK {
			t.Errorf("%s = %d", path, res.StatusCode)
		}
		if res.Header.Get("X-Request-Id") == "" {
			t.Errorf("%s without X-Request-Id", path)
		}
	}
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func TestOversizedJSONRefused(t *testing.T) {
	app := newTestApp(t)
	body := `{"query":"{ me { user { email } } }","variables":{"pad":"` + strings.Repeat("x", 2<<20) + `"}}`
	req, _ := http.NewRequest(http.MethodPost, app.srv.URL+"/graphql", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	res := app.send(req, app.token("officer@pgn.demo"))
	if res.Status != http.StatusRequestEntityTooLarge || !slices.Equal(res.codes(), []string{"PAYLOAD_TOO_LARGE"}) ||
		strings.Contains(string(res.Data), "officer@pgn.demo") {
		t.Fatalf("a 2 MiB operation: %d %+v", res.Status, res.Errors)
	}
}
