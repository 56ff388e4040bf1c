package main

import (
	"bytes"
	"context"
	"slices"
	"testing"
	"time"
)

// secondSupervisor makes another supervisor of PGN (as the schema owner)
// and returns a token of theirs.
func secondSupervisor(t *testing.T, app *testApp) string {
	t.Helper()
	id := newAccount(t, app, "PGN")
	owner := app.db.Owner(t)
	if _, err := owner.Exec(`INSERT INTO role_grants (user_id, role, domain) VALUES ($1, 'supervisor', 'PGN')`, id); err != nil {
		t.Fatal(err)
	}
	if _, err := owner.Exec(`SELECT pg_notify('amparo_authz', '')`); err != nil {
		t.Fatal(err)
	}
	var email string
	if err := app.db.App.Get(&email, `SELECT email FROM users WHERE id = $1`, id); err != nil {
		t.Fatal(err)
	}
	tok := app.token(email)
	deadline := time.Now().Add(5 * time.Second)
	for len(app.do(tok, `{ statistics(input: {measure: "CASES", rows: ["STATUS"]}) { total } }`, nil).Errors) > 0 {
		if time.Now().After(deadline) {
			t.Fatal("the second supervisor is not a supervisor yet")
		}
		time.Sleep(20 * time.Millisecond)
	}
	return tok
}

const eraseMutation = `mutation($id: ID!, $ground: String!) {
  eraseChildIdentity(input: {caseId: $id, ground: $ground}) { erasure { id status ground keysErased approvedBy } } }`

type erasureOut struct {
	EraseChildIdentity struct {
		Erasure struct {
			ID, Status, Ground string
			KeysErased         *int
			ApprovedBy         *string
		}
	}
}

// Erasing a child's identity takes two supervisors; it destroys the data
// keys of the case and of its linked complaint, so that the identity, the
// narratives and the complainant are gone for good, while the structured
// record, the statistics and the audit trail hold.
func TestEraseChildIdentity(t *testing.T) {
	app := newTestApp(t)
	s := seedNarratives(t, app)
	other := seedNarratives(t, app) // a case left alone
	// The complaint joins the case: its complainant and description go too.
	app.do(app.token("officer@pgn.demo"), `mutation($c: ID!, $id: ID!) { linkComplaintToCase(input: {complaintId: $c, caseId: $id}) { complaint { id } } }`,
		map[string]any{"c": s.complaint, "id": s.caseID}).decode(t, &struct{}{})
	supervisor := app.token("supervisor@pgn.demo")
	const stats = `{ statistics(input: {measure: "CASES", rows: ["DEPARTMENT", "VIOLATION_TYPE"], columns: ["AGE_BAND"]}) { total rows { key total cells { value suppressed } } } }`
	statsBefore := app.do(supervisor, stats, nil)
	const structured = `query($id: ID!) { case(id: $id) { reference status urgency version department { code } child { ageBand sex nationality } violations { type { code } } } }`
	var before, after struct {
		Case struct {
			Reference, Status, Urgency string
			Version                    int
			Department                 struct{ Code string }
			Child                      struct{ AgeBand, Sex, Nationality string }
			Violations                 []struct{ Type struct{ Code string } }
		}
	}
	app.do(supervisor, structured, map[string]any{"id": s.caseID}).decode(t, &before)

	search := func() int {
		var m struct{ SearchChildren []struct{ CaseID string } }
		app.do(supervisor, `query($g: String!, $f: String!) { searchChildren(input: {givenName: $g, familyName: $f, dateOfBirth: "2013-07-21"}) { caseId } }`,
			map[string]any{"g": s.secrets["child given name"], "f": s.secrets["child family name"]}).decode(t, &m)
		return len(m.SearchChildren)
	}
	if n := search(); n != 1 {
		t.Fatalf("before erasure the child is found in %d cases, want 1", n)
	}

	var asked erasureOut
	app.do(supervisor, eraseMutation, map[string]any{"id": s.caseID, "ground": "DATA_SUBJECT_REQUEST"}).decode(t, &asked)
	if e := asked.EraseChildIdentity.Erasure; e.Status != "PENDING_APPROVAL" || e.KeysErased != nil {
		t.Fatalf("asking answered %+v", e)
	}
	s.readsAsWritten(t, app) // nothing is erased until approved

	t.Run("ErrForbiddenSameSupervisor", func(t *testing.T) {
		res := app.do(supervisor, eraseMutation, map[string]any{"id": s.caseID, "ground": "DATA_SUBJECT_REQUEST"})
		if !slices.Equal(res.codes(), []string{"FORBIDDEN"}) {
			t.Fatalf("the same supervisor approving: %v", res.codes())
		}
	})
	second := secondSupervisor(t, app)
	t.Run("ErrInvalidOtherGround", func(t *testing.T) {
		res := app.do(second, eraseMutation, map[string]any{"id": s.caseID, "ground": "COURT_ORDER"})
		if !slices.Equal(res.codes(), []string{"BAD_USER_INPUT"}) || res.Errors[0].Extensions.Field != "ground" {
			t.Fatalf("approving on another ground: %+v", res.Errors)
		}
	})
	var done erasureOut
	app.do(second, eraseMutation, map[string]any{"id": s.caseID, "ground": "DATA_SUBJECT_REQUEST"}).decode(t, &done)
	if e := done.EraseChildIdentity.Erasure; e.Status != "ERASED" || e.KeysErased == nil || *e.KeysErased != 2 || e.ID != asked.EraseChildIdentity.Erasure.ID {
		t.Fatalf("approving answered %+v", e)
	}

	t.Run("IdentityAndNarrativesGone", func(t *testing.T) {
		got := s.read(t, app)
		c := got.Case
		if c.Summary != "" || c.Violations[0].Description != nil || c.Notes[0].Text != "" ||
			c.Child.Identity == nil || c.Child.Identity.GivenName != nil || c.Child.Identity.Contact != nil {
			t.Errorf("the case reads %+v", c)
		}
		if got.Complaint.Description != "" || got.Complaint.Complainant == nil || got.Complaint.Complainant.Name != nil {
			t.Errorf("the complaint reads %+v", got.Complaint)
		}
		if got.Referral.Reason == nil || *got.Referral.Reason != "" {
			t.Errorf("the referral reason reads %v", got.Referral.Reason)
		}
		if n := countRows(t, app.db.App, `SELECT count(*) FROM data_keys WHERE owner_id IN ($1, $2)`, s.caseID, s.complaint); n != 0 {
			t.Errorf("%d data keys left", n)
		}
		// For good: the ciphertexts stay, and nothing in the database or
		// the key file opens them any more; the dump holds no secret.
		if n := countRows(t, app.db.App, `SELECT count(*) FROM cases WHERE id = $1 AND summary_sealed IS NOT NULL`, s.caseID); n != 1 {
			t.Errorf("the summary's ciphertext is gone (%d): the test proves nothing", n)
		}
		dump := pgDump(t, app.db.OwnerURL)
		for what, secret := range s.secrets {
			if bytes.Contains(dump, []byte(secret)) {
				t.Errorf("the dump holds the %s", what)
			}
		}
		if n := search(); n != 0 {
			t.Errorf("the erased child is still found in %d cases", n)
		}
	})
	t.Run("StructuredRecordAndStatisticsHold", func(t *testing.T) {
		app.do(supervisor, structured, map[string]any{"id": s.caseID}).decode(t, &after)
		after.Case.Version = before.Case.Version // erasing is a change of the case
		if !slices.Equal([]any{before.Case.Reference, before.Case.Status, before.Case.Department, before.Case.Child, len(before.Case.Violations)},
			[]any{after.Case.Reference, after.Case.Status, after.Case.Department, after.Case.Child, len(after.Case.Violations)}) ||
			before.Case.Violations[0] != after.Case.Violations[0] {
			t.Errorf("the record was %+v, is %+v", before.Case, after.Case)
		}
		if statsAfter := app.do(supervisor, stats, nil); string(statsAfter.Data) != string(statsBefore.Data) || len(statsAfter.Errors) > 0 {
			t.Errorf("statistics were %s, are %s %v", statsBefore.Data, statsAfter.Data, statsAfter.Errors)
		}
	})
	t.Run("OtherCaseUntouched", func(t *testing.T) {
		other.readsAsWritten(t, app)
	})
	t.Run("ErrConflictAlreadyErased", func(t *testing.T) {
		for _, tok := range []string{supervisor, second} {
			if res := app.do(tok, eraseMutation, map[string]any{"id": s.caseID, "ground": "COURT_ORDER"}); !slices.Equal(res.codes(), []string{"CONFLICT"}) {
				t.Fatalf("erasing again: %v", res.codes())
			}
		}
		if res := app.do(app.token("officer@pgn.demo"), `mutation($id: ID!) { addCaseNote(input: {caseId: $id, text: "otra"}) { note { id } } }`,
			map[string]any{"id": s.caseID}); !slices.Equal(res.codes(), []string{"CONFLICT"}) {
			t.Fatalf("a note on an erased case: %v", res.codes())
		}
	})
	t.Run("AuditedWithoutText", func(t *testing.T) {
		if n := countRows(t, app.db.App, `SELECT count(*) FROM audit.events WHERE action = 'identity:erase' AND outcome = 'SUCCESS' AND object_id = $1`, s.caseID); n != 2 {
			t.Errorf("%d erasure events, want 2 (asked, approved)", n)
		}
		if n := countRows(t, app.db.App, `SELECT count(*) FROM audit.events WHERE action = 'identity:erase' AND outcome = 'DENIED'`); n != 1 {
			t.Errorf("%d refused erasures audited, want 1", n)
		}
	})
	t.Run("AuditVerifyHolds", func(t *testing.T) {
		// The sealer, as serve runs it, seals the trail; verify then finds
		// every event sealed and the chain intact.
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan struct{})
		go func() { defer close(done); _ = app.server.sealer.Run(ctx) }()
		t.Cleanup(func() { cancel(); <-done })
		env, _ := serverEnv(t, app.db, app.cfg.S3)
		env["AMPARO_AUDIT_SIGNING_KEY"] = app.cfg.AuditKey
		deadline := time.Now().Add(30 * time.Second)
		for {
			out, errOut, err := runAudit(env, "verify", "--unsealed-after", "2s")
			if err == nil {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("audit verify: %v\n%s%s", err, out, errOut)
			}
			time.Sleep(200 * time.Millisecond)
		}
	})
}
