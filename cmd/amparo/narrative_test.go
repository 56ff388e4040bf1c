package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// seeded is a case, a note, a complaint and a referral whose names,
// contacts and narratives are unique to one test, so that finding any of
// them anywhere means it leaked.
type seeded struct {
	secrets   map[string]string // what → text
	caseID    string
	reference string
	complaint string
	referral  string
}

func nonce(t *testing.T) string {
	t.Helper()
	b := make([]byte, 5)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// seedNarratives files, as officer@pgn.demo, a case with a note and a
// referral to SBS, and has intake@igm.demo submit a complaint routed to
// PGN, all with distinctive texts.
func seedNarratives(t *testing.T, app *testApp) *seeded {
	t.Helper()
	n := nonce(t)
	s := &seeded{secrets: map[string]string{
		"child given name":      "Yaretzi" + n,
		"child family name":     "Ixcoy" + n,
		"child contact":         "+502 7" + n,
		"case summary":          "Resumen" + n + " la niña duerme en el albergue Casa Esperanza",
		"violation description": "Descripción" + n + " retenida por el guía en Tecún Umán",
		"note":                  "Nota" + n + " la tía llamó desde Chicago",
		"complainant name":      "Denunciante" + n,
		"complainant contact":   "denuncia" + n + "@correo.gt",
		"complaint description": "Relato" + n + " dos adolescentes retenidas en el río",
		"complaint child name":  "Ninfa" + n,
		"referral reason":       "Motivo" + n + " necesita albergue mientras se localiza a su madre",
	}}
	sec := s.secrets
	in := sealedChild("narr-"+n, sec["child given name"], sec["child family name"], sec["child contact"])
	in["summary"] = sec["case summary"]
	in["violations"] = []any{map[string]any{"type": "TRAFFICKING", "description": sec["violation description"]}}
	var filed struct {
		FileCase struct {
			Case struct{ ID, Reference string }
		}
	}
	app.do(app.token("officer@pgn.demo"), `mutation($input: FileCaseInput!) { fileCase(input: $input) { case { id reference } } }`,
		map[string]any{"input": in}).decode(t, &filed)
	s.caseID, s.reference = filed.FileCase.Case.ID, filed.FileCase.Case.Reference
	app.do(app.token("officer@pgn.demo"), `mutation($id: ID!, $text: String!) { addCaseNote(input: {caseId: $id, text: $text}) { note { id } } }`,
		map[string]any{"id": s.caseID, "text": sec["note"]}).decode(t, &struct{}{})
	s.referral = app.refer("officer@pgn.demo", referInput(s.caseID, "SBS", false, func(m map[string]any) { m["reason"] = sec["referral reason"] }))
	cin := complaintInput("narr-complaint-" + n)
	cin["complainant"] = map[string]any{"kind": "FAMILY_MEMBER", "name": sec["complainant name"], "contact": sec["complainant contact"]}
	cin["description"] = sec["complaint description"]
	cin["children"].([]any)[0].(map[string]any)["givenName"] = sec["complaint child name"]
	var out submitted
	app.do(app.token("intake@igm.demo"), submitComplaintMutation, map[string]any{"input": cin}).decode(t, &out)
	s.complaint = out.SubmitComplaint.Complaint.ID
	return s
}

const narrativeQuery = `query($case: ID!, $complaint: ID!, $referral: ID!) {
  case(id: $case) { summary violations { description } notes { text } child { identity { givenName familyName contact } } }
  complaint(id: $complaint) { description complainant { name contact } }
  referral(id: $referral) { reason } }`

type narrativeOut struct {
	Case struct {
		Summary    string
		Violations []struct{ Description *string }
		Notes      []struct{ Text string }
		Child      struct {
			Identity *struct{ GivenName, FamilyName, Contact *string }
		}
	}
	Complaint struct {
		Description string
		Complainant *struct{ Name, Contact *string }
	}
	Referral struct{ Reason *string }
}

func (s *seeded) read(t *testing.T, app *testApp) *narrativeOut {
	t.Helper()
	var out narrativeOut
	app.do(app.token("officer@pgn.demo"), narrativeQuery, map[string]any{"case": s.caseID, "complaint": s.complaint, "referral": s.referral}).decode(t, &out)
	return &out
}

// readsAsWritten fails unless the officer reads every seeded text as it
// was written.
func (s *seeded) readsAsWritten(t *testing.T, app *testApp) {
	t.Helper()
	got := s.read(t, app)
	sec := s.secrets
	str := func(p *string) string {
		if p == nil {
			return "<nil>"
		}
		return *p
	}
	c := got.Case
	for what, pair := range map[string][2]string{
		"case summary":          {c.Summary, sec["case summary"]},
		"violation description": {str(c.Violations[0].Description), sec["violation description"]},
		"note":                  {c.Notes[0].Text, sec["note"]},
		"child given name":      {str(c.Child.Identity.GivenName), sec["child given name"]},
		"child contact":         {str(c.Child.Identity.Contact), sec["child contact"]},
		"complaint description": {got.Complaint.Description, sec["complaint description"]},
		"complainant name":      {str(got.Complaint.Complainant.Name), sec["complainant name"]},
		"complainant contact":   {str(got.Complaint.Complainant.Contact), sec["complainant contact"]},
		"referral reason":       {str(got.Referral.Reason), sec["referral reason"]},
	} {
		if pair[0] != pair[1] {
			t.Errorf("%s reads %q, want %q", what, pair[0], pair[1])
		}
	}
}

// dataFiles reads every file under the database cluster's data directory
// (heap, indexes, TOAST, WAL, logs) after a checkpoint and a WAL switch,
// calling found for each secret a file holds.
func dataFiles(t *testing.T, app *testApp, secrets map[string]string, found func(what, path string)) (files int, size int64) {
	t.Helper()
	owner := app.db.Owner(t)
	for _, q := range []string{`CHECKPOINT`, `SELECT pg_switch_wal()`, `CHECKPOINT`} {
		if _, err := owner.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	var dir string
	if err := owner.Get(&dir, `SHOW data_directory`); err != nil {
		t.Fatal(err)
	}
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !d.Type().IsRegular() {
			return nil // a file removed while walking (a WAL segment recycled)
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return nil
		}
		files++
		size += int64(len(b))
		for what, s := range secrets {
			if bytes.Contains(b, []byte(s)) {
				found(what, path)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return files, size
}

// After filing a case with a note and a referral, and a complaint, neither
// a full dump nor any file of the database cluster (its data files and WAL)
// holds a name, a contact or a narrative; officers read them all as
// before; and `amparo keys rotate` leaves every one readable.
func TestNarrativesSealedAtRest(t *testing.T) {
	app := newTestApp(t)
	s := seedNarratives(t, app)
	s.readsAsWritten(t, app)
	// The recipient of a pending referral does not read its reason.
	var sbs struct{ Referral struct{ Reason *string } }
	app.do(app.token("officer@sbs.demo"), `query($id: ID!) { referral(id: $id) { reason } }`, map[string]any{"id": s.referral}).decode(t, &sbs)
	if sbs.Referral.Reason != nil {
		t.Errorf("the recipient reads the reason %q before accepting", *sbs.Referral.Reason)
	}

	t.Run("DumpHoldsNone", func(t *testing.T) {
		dump := pgDump(t, app.db.OwnerURL)
		for what, secret := range s.secrets {
			if bytes.Contains(dump, []byte(secret)) {
				t.Errorf("the dump holds the %s", what)
			}
		}
		if !bytes.Contains(dump, []byte(s.reference)) {
			t.Fatal("the dump lacks the case's reference: not a dump of this database?")
		}
	})
	t.Run("DataFilesAndWALHoldNone", func(t *testing.T) {
		control := map[string]string{"reference": s.reference}
		for k, v := range s.secrets {
			control[k] = v
		}
		var referenceSeen, walSeen bool
		files, size := dataFiles(t, app, control, func(what, path string) {
			if what == "reference" {
				referenceSeen = true
				walSeen = walSeen || strings.Contains(path, "pg_wal")
				return
			}
			t.Errorf("%s holds the %s", path, what)
		})
		t.Logf("read %d files, %d MiB", files, size>>20)
		// The search is real: what is not secret is found, in the heap and in the WAL.
		if !referenceSeen || !walSeen {
			t.Fatalf("the case reference was found in the data files %v, in the WAL %v", referenceSeen, walSeen)
		}
	})
	t.Run("KeysRotateKeepsAllReadable", func(t *testing.T) {
		env := map[string]string{"AMPARO_IDENTITY_KEY": app.cfg.IdentityKey, "AMPARO_DATABASE_URL": app.db.AppURL}
		var out, errOut bytes.Buffer
		if err := run(t.Context(), []string{"keys", "rotate", "--grace", "100ms"}, func(k string) string { return env[k] }, &out, &errOut); err != nil {
			t.Fatalf("keys rotate: %v\n%s%s", err, out.String(), errOut.String())
		}
		s.readsAsWritten(t, app)
		s.readsAsWritten(t, app.replica(t))
	})
}

// A narrative's ciphertext copied into another row, or into another column
// of the same row, does not open there: the read fails, and shows nothing
// of the other row.
func TestNarrativeSwappedDoesNotOpen(t *testing.T) {
	app := newTestApp(t)
	a := seedNarratives(t, app)
	b := seedNarratives(t, app)
	owner := app.db.Owner(t)
	tests := []struct {
		name string
		swap string
	}{
		{"SummaryOfAnotherCase", `UPDATE cases SET summary_sealed = (SELECT summary_sealed FROM cases WHERE id = $1) WHERE id = $2`},
		{"NoteOfAnotherCase", `UPDATE cases SET summary_sealed = (SELECT text_sealed FROM case_notes WHERE case_id = $1) WHERE id = $2`},
		{"DescriptionIntoSummary", `UPDATE cases SET summary_sealed = (SELECT description_sealed FROM case_violations WHERE case_id = $2 AND position = 0) WHERE id = $2 AND $1::uuid IS NOT NULL`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			victim := seedNarratives(t, app)
			if _, err := owner.Exec(tc.swap, a.caseID, victim.caseID); err != nil {
				t.Fatal(err)
			}
			res := app.do(app.token("officer@pgn.demo"), `query($id: ID!) { case(id: $id) { summary } }`, map[string]any{"id": victim.caseID})
			if !slices.Equal(res.codes(), []string{"INTERNAL"}) || strings.Contains(string(res.Data), "Resumen") {
				t.Fatalf("a swapped summary answered %v %s", res.codes(), res.Data)
			}
		})
	}
	t.Run("ComplainantOfAnotherComplaint", func(t *testing.T) {
		for _, q := range []string{`ALTER TABLE complaint_contacts DISABLE TRIGGER complaint_contacts_seal_only`,
			`UPDATE complaint_contacts SET name_sealed = (SELECT name_sealed FROM complaint_contacts WHERE complaint_id = '` + a.complaint + `')
			 WHERE complaint_id = '` + b.complaint + `'`,
			`ALTER TABLE complaint_contacts ENABLE TRIGGER complaint_contacts_seal_only`} {
			if _, err := owner.Exec(q); err != nil {
				t.Fatal(err)
			}
		}
		res := app.do(app.token("officer@pgn.demo"), `query($id: ID!) { complaint(id: $id) { complainant { name } } }`, map[string]any{"id": b.complaint})
		if !slices.Contains(res.codes(), "INTERNAL") || strings.Contains(string(res.Data), "Denunciante") {
			t.Fatalf("a swapped complainant answered %v %s", res.codes(), res.Data)
		}
	})
	// The rows not tampered with still read.
	a.readsAsWritten(t, app)
}

// New rows cannot hold plaintext: the database refuses them, whoever
// writes them.
func TestNarrativePlaintextRefused(t *testing.T) {
	app := newTestApp(t)
	s := seedNarratives(t, app)
	owner := app.db.Owner(t)
	for _, q := range []string{
		`UPDATE cases SET summary = 'en claro' WHERE id = $1`,
		`UPDATE case_violations SET description = 'en claro' WHERE case_id = $1`,
		`UPDATE case_notes SET text = 'en claro' WHERE case_id = $1`,
		`UPDATE referrals SET reason = 'en claro' WHERE case_id = $1`,
		`UPDATE complaints SET description = 'en claro' WHERE id = (SELECT id FROM complaints ORDER BY submitted_at DESC LIMIT 1) AND $1::uuid IS NOT NULL`,
		`UPDATE complaint_contacts SET name = 'en claro' WHERE $1::uuid IS NOT NULL`,
	} {
		if _, err := owner.Exec(q, s.caseID); err == nil {
			t.Errorf("plaintext accepted: %s", q)
		}
	}
	// Notes stay append-only: the application cannot rewrite a sealed one.
	if _, err := app.db.App.ExecContext(context.Background(), `UPDATE case_notes SET text_sealed = '\x00' WHERE case_id = $1`, s.caseID); err == nil {
		t.Error("the application rewrote a sealed note")
	}
}
