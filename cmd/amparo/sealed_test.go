package main

import (
	"bytes"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/uuid"

	"amparo/internal/keys"
)

// sealedChild is a child whose identity is distinctive enough to grep for.
func sealedChild(key, given, family, contact string) map[string]any {
	in := fileCaseInput(key)
	ch := in["child"].(map[string]any)
	ch["givenName"], ch["familyName"], ch["contact"], ch["dateOfBirth"] = given, family, contact, "2013-07-21"
	return in
}

const identityQuery = `query($id: ID!) { case(id: $id) { child { identity { givenName familyName contact dateOfBirth } } } }`

type identityOut struct {
	Case struct {
		Child struct {
			Identity *struct{ GivenName, FamilyName, Contact, DateOfBirth string }
		}
	}
}

func (a *testApp) fileSealed(t *testing.T, email string, in map[string]any) string {
	t.Helper()
	var out struct {
		FileCase struct {
			Case struct{ ID string }
		}
	}
	a.do(a.token(email), fileCaseMutation, map[string]any{"input": in}).decode(t, &out)
	return out.FileCase.Case.ID
}

func (a *testApp) identityOf(t *testing.T, email, caseID string) *identityOut {
	t.Helper()
	var out identityOut
	a.do(a.token(email), identityQuery, map[string]any{"id": caseID}).decode(t, &out)
	return &out
}

func pgDump(t *testing.T, url string) []byte {
	t.Helper()
	bin, err := exec.LookPath("pg_dump")
	if err != nil {
		found, _ := filepath.Glob("/usr/lib/postgresql/*/bin/pg_dump")
		if len(found) == 0 {
			t.Fatal("pg_dump not found")
		}
		slices.Sort(found)
		bin = found[len(found)-1]
	}
	out, err := exec.Command(bin, "--dbname", url, "--no-owner").Output()
	if err != nil {
		t.Fatalf("pg_dump: %v", err)
	}
	return out
}

// A full dump of the database holds no child's name, date of birth or
// contact, while officers read them as before.
func TestIdentitySealedAtRest(t *testing.T) {
	app := newTestApp(t)
	id := app.fileSealed(t, "officer@pgn.demo", sealedChild("sealed-1-abcdef", "Zuleyma", "Quixchán Batz", "+502 5555 0199"))
	got := app.identityOf(t, "officer@pgn.demo", id).Case.Child.Identity
	if got == nil || got.GivenName != "Zuleyma" || got.FamilyName != "Quixchán Batz" || got.Contact != "+502 5555 0199" || got.DateOfBirth != "2013-07-21" {
		t.Fatalf("the officer reads %+v", got)
	}
	dump := pgDump(t, app.db.OwnerURL)
	for _, secret := range []string{"Zuleyma", "Quixch", "5555 0199", "2013-07-21"} {
		if bytes.Contains(dump, []byte(secret)) {
			t.Errorf("the dump holds %q", secret)
		}
	}
	// The dump is the real thing: what is not secret is in it.
	if !bytes.Contains(dump, []byte("PGN-")) {
		t.Fatal("the dump holds no case reference: not a dump of this database?")
	}
}

// A sealed identity copied into another child's row does not open there.
func TestIdentitySwappedDoesNotOpen(t *testing.T) {
	app := newTestApp(t)
	a := app.fileSealed(t, "officer@pgn.demo", sealedChild("swap-a-abcdef", "Ana", "Uno", "a"))
	b := app.fileSealed(t, "officer@pgn.demo", sealedChild("swap-b-abcdef", "Berta", "Dos", "b"))
	owner := app.db.Owner(t)
	if _, err := owner.Exec(`
UPDATE child_identities ci SET sealed = src.sealed, key_kind = src.key_kind, key_id = src.key_id
FROM (SELECT ci2.sealed, ci2.key_kind, ci2.key_id FROM child_identities ci2 JOIN cases c ON c.child_id = ci2.child_id WHERE c.id = $1) src
WHERE ci.child_id = (SELECT child_id FROM cases WHERE id = $2)`, a, b); err != nil {
		t.Fatal(err)
	}
	res := app.do(app.token("officer@pgn.demo"), identityQuery, map[string]any{"id": b})
	if !slices.Equal(res.codes(), []string{"INTERNAL"}) || strings.Contains(string(res.Data), "Ana") {
		t.Fatalf("a swapped identity answered %v %s", res.codes(), res.Data)
	}
}

// Start-up refuses a key file that does not open the data keys in the
// database, naming the variable.
func TestIdentityWrongKeyStopsStartUp(t *testing.T) {
	app := newTestApp(t)
	app.fileSealed(t, "officer@pgn.demo", sealedChild("wrongkey-abcdef", "Carla", "Tres", "c"))
	other := filepath.Join(t.TempDir(), "other.keys")
	if err := keys.InitFile(other); err != nil {
		t.Fatal(err)
	}
	cfg := *app.cfg
	cfg.IdentityKey = other
	_, err := build(t.Context(), &cfg, slog.New(slog.DiscardHandler))
	if err == nil || !strings.Contains(err.Error(), "AMPARO_IDENTITY_KEY") {
		t.Fatalf("start-up with another key file: %v", err)
	}
	t.Run("ErrMissing", func(t *testing.T) {
		env, _ := serverEnv(t, app.db, app.cfg.S3)
		delete(env, "AMPARO_IDENTITY_KEY")
		if _, err := loadConfig(func(k string) string { return env[k] }); err == nil || !strings.Contains(err.Error(), "AMPARO_IDENTITY_KEY") {
			t.Fatalf("config without the key: %v", err)
		}
	})
}

// `amparo keys rotate` rewraps every data key under a new KEK while the
// server runs, and everything stays readable; the old KEK can then go.
func TestIdentityKeysRotate(t *testing.T) {
	app := newTestApp(t)
	ids := []string{
		app.fileSealed(t, "officer@pgn.demo", sealedChild("rot-1-abcdef", "Dora", "Cuatro", "d")),
		app.fileSealed(t, "officer@pgn.demo", sealedChild("rot-2-abcdef", "Elsa", "Cinco", "e")),
	}
	before := countRows(t, app.db.App, `SELECT count(*) FROM data_keys`)
	env := map[string]string{"AMPARO_IDENTITY_KEY": app.cfg.IdentityKey, "AMPARO_DATABASE_URL": app.db.AppURL}
	var out, errOut bytes.Buffer
	if err := run(t.Context(), []string{"keys", "rotate", "--grace", "100ms"}, func(k string) string { return env[k] }, &out, &errOut); err != nil {
		t.Fatalf("keys rotate: %v\n%s%s", err, out.String(), errOut.String())
	}
	f, err := keys.LoadFile(app.cfg.IdentityKey)
	if err != nil {
		t.Fatal(err)
	}
	if n := countRows(t, app.db.App, `SELECT count(*) FROM data_keys WHERE kek_id <> $1`, f.Current()); n != 0 || before == 0 {
		t.Fatalf("%d of %d data keys left under an old KEK", n, before)
	}
	// The running server reads every record, without a restart.
	for i, id := range ids {
		if got := app.identityOf(t, "officer@pgn.demo", id).Case.Child.Identity; got == nil || got.GivenName != []string{"Dora", "Elsa"}[i] {
			t.Fatalf("after rotation case %d reads %+v", i, got)
		}
	}
	// Retire every KEK but the current one: a fresh start still opens all.
	b, _ := os.ReadFile(app.cfg.IdentityKey)
	var kept []string
	for _, l := range strings.Split(string(b), "\n") {
		if !strings.HasPrefix(l, "kek ") || strings.Contains(l, " "+f.Current()+" ") {
			kept = append(kept, l)
		}
	}
	if err := os.WriteFile(app.cfg.IdentityKey, []byte(strings.Join(kept, "\n")), 0o600); err != nil {
		t.Fatal(err)
	}
	fresh := app.replica(t)
	if got := fresh.identityOf(t, "officer@pgn.demo", ids[0]).Case.Child.Identity; got == nil || got.GivenName != "Dora" {
		t.Fatalf("with the old KEK retired: %+v", got)
	}
}

// Identities and narratives written in plaintext before sealing existed
// are sealed at the next start, and read as before.
func TestIdentityLegacySealedAtStart(t *testing.T) {
	app := newTestApp(t)
	id := app.fileSealed(t, "officer@pgn.demo", sealedChild("legacy-abcdef", "Fidelia", "Seis", "f"))
	owner := app.db.Owner(t)
	// Put the row back as it was before migration 00070.
	for _, q := range []string{
		`ALTER TABLE child_identities DROP CONSTRAINT child_identities_no_plaintext`,
		`UPDATE child_identities SET given_name = 'Gumercinda', family_name = 'Siete', contact = '+502 4444 0000',
		   sealed = NULL, key_kind = NULL, key_id = NULL, name_index = NULL
		 WHERE child_id = (SELECT child_id FROM cases WHERE id = '` + id + `')`,
		// and its narratives as they were before migration 00072
		`ALTER TABLE cases DROP CONSTRAINT cases_summary_no_plaintext`,
		`ALTER TABLE case_violations DROP CONSTRAINT case_violations_description_no_plaintext`,
		`ALTER TABLE case_violations DISABLE TRIGGER case_violations_seal_only`,
		`UPDATE cases SET summary = 'Resumen heredado de Gumercinda', summary_sealed = NULL WHERE id = '` + id + `'`,
		`UPDATE case_violations SET description = 'Descripción heredada de Gumercinda', description_sealed = NULL
		 WHERE case_id = '` + id + `' AND position = 0`,
		`ALTER TABLE case_violations ENABLE TRIGGER case_violations_seal_only`,
		`DELETE FROM data_keys WHERE owner_id = '` + id + `'`,
		`ALTER TABLE child_identities ADD CONSTRAINT child_identities_no_plaintext CHECK (given_name IS NULL AND family_name IS NULL
		   AND other_names IS NULL AND date_of_birth IS NULL AND contact IS NULL AND documents = '[]'::jsonb) NOT VALID`,
		`ALTER TABLE cases ADD CONSTRAINT cases_summary_no_plaintext CHECK (summary IS NULL) NOT VALID`,
		`ALTER TABLE case_violations ADD CONSTRAINT case_violations_description_no_plaintext CHECK (description IS NULL) NOT VALID`,
	} {
		if _, err := owner.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	fresh := app.replica(t) // starting seals it
	if n := countRows(t, app.db.App, `SELECT count(*) FROM child_identities WHERE given_name IS NOT NULL OR contact IS NOT NULL`); n != 0 {
		t.Fatalf("%d identities still in plaintext after start", n)
	}
	got := fresh.identityOf(t, "officer@pgn.demo", id).Case.Child.Identity
	if got == nil || got.GivenName != "Gumercinda" || got.Contact != "+502 4444 0000" {
		t.Fatalf("the sealed legacy identity reads %+v", got)
	}
	var out struct {
		Case struct {
			Summary    string
			Violations []struct{ Description *string }
		}
	}
	fresh.do(fresh.token("officer@pgn.demo"), `query($id: ID!) { case(id: $id) { summary violations { description } } }`,
		map[string]any{"id": id}).decode(t, &out)
	if out.Case.Summary != "Resumen heredado de Gumercinda" || len(out.Case.Violations) != 2 || out.Case.Violations[0].Description == nil ||
		*out.Case.Violations[0].Description != "Descripción heredada de Gumercinda" || out.Case.Violations[1].Description != nil {
		t.Fatalf("the sealed legacy narratives read %+v", out.Case)
	}
	if bytes.Contains(pgDump(t, app.db.OwnerURL), []byte("Gumercinda")) {
		t.Fatal("the dump still holds the legacy name or narratives")
	}
}

// searchChildren finds a child from a differently written name, only within
// the caller's scope, and audits each search; filing a second case for the
// same child points at the first.
func TestSearchChildren(t *testing.T) {
	app := newTestApp(t)
	first := app.fileSealed(t, "officer@pgn.demo", sealedChild("search-1-abcdef", "María José", "López", "x"))
	app.fileSealed(t, "officer@sbs.demo", sealedChild("search-2-abcdef", "María José", "López", "y"))
	const q = `query($in: SearchChildrenInput!) { searchChildren(input: $in) { caseId reference institution { code } } }`
	search := func(email string, in map[string]any) *gqlResponse {
		return app.do(app.token(email), q, map[string]any{"in": in})
	}
	type matches struct {
		SearchChildren []struct{ CaseID, Reference string }
	}
	t.Run("FoundDespiteSpelling", func(t *testing.T) {
		var out matches
		search("officer@pgn.demo", map[string]any{"givenName": "maria jose ", "familyName": " LOPEZ", "ageYears": 13}).decode(t, &out)
		if len(out.SearchChildren) != 1 || out.SearchChildren[0].CaseID != first {
			t.Fatalf("found %+v, want only the PGN case", out.SearchChildren)
		}
	})
	t.Run("NothingOutOfScope", func(t *testing.T) {
		var out matches
		search("officer@pgn.demo", map[string]any{"givenName": "Ana", "familyName": "López", "ageYears": 13}).decode(t, &out)
		if len(out.SearchChildren) != 0 {
			t.Fatalf("found %+v", out.SearchChildren)
		}
	})
	t.Run("Audited", func(t *testing.T) {
		if n := countRows(t, app.db.App, `SELECT count(*) FROM audit.events WHERE action = 'child:search'`); n != 2 {
			t.Fatalf("%d search events, want 2", n)
		}
		if n := countRows(t, app.db.App, `SELECT count(*) FROM audit.events WHERE details::text ILIKE '%lopez%' OR details::text ILIKE '%maría%'`); n != 0 {
			t.Fatal("a searched name is in the audit trail")
		}
	})
	t.Run("ErrInvalidWithoutAge", func(t *testing.T) {
		res := search("officer@pgn.demo", map[string]any{"givenName": "María"})
		if !slices.Equal(res.codes(), []string{"BAD_USER_INPUT"}) || res.Errors[0].Extensions.Field != "dateOfBirth" {
			t.Fatalf("got %+v", res.Errors)
		}
	})
	t.Run("ErrForbiddenOversight", func(t *testing.T) {
		if res := search("oversight@pdh.demo", map[string]any{"givenName": "María", "ageYears": 13}); !slices.Equal(res.codes(), []string{"FORBIDDEN"}) {
			t.Fatalf("got %v", res.codes())
		}
	})
	t.Run("DuplicateWarnedAtFiling", func(t *testing.T) {
		var out struct {
			FileCase struct{ PossibleDuplicates []string }
		}
		app.do(app.token("officer@pgn.demo"), `mutation($input: FileCaseInput!) { fileCase(input: $input) { possibleDuplicates } }`,
			map[string]any{"input": sealedChild("search-3-abcdef", "MARIA JOSE", "lopez", "z")}).decode(t, &out)
		var ref string
		if err := app.db.App.Get(&ref, `SELECT reference FROM cases WHERE id = $1`, first); err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(out.FileCase.PossibleDuplicates, []string{ref}) {
			t.Fatalf("possible duplicates %v, want [%s] (not the SBS case)", out.FileCase.PossibleDuplicates, ref)
		}
	})
	t.Run("RateLimited", func(t *testing.T) {
		var codes []string
		for range 12 {
			codes = search("supervisor@pgn.demo", map[string]any{"givenName": uuid.NewString(), "ageYears": 10}).codes()
		}
		if !slices.Equal(codes, []string{"RATE_LIMITED"}) {
			t.Fatalf("the 12th search in a row: %v", codes)
		}
	})
}
