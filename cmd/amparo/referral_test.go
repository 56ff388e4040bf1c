package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

const (
	referralQuery = `query($id: ID!) { referral(id: $id) { id kind status urgency dueAt overdue services ageBand sex
  violationCategories { code } reason shareIdentity consent { given by basis givenAt } case { id reference } } }`
	caseIdentityQuery = `query($id: ID!) { case(id: $id) { id reference institution { code } child { identity { givenName } }
  notes { text } } }`
	formQuery = `query($id: ID!) { referralForm(referralId: $id) { filename contentType base64 size sha256 } }`
)

type referralView struct {
	Referral *struct {
		ID, Kind, Status, Urgency string
		DueAt                     time.Time
		Overdue                   bool
		Services                  []string
		AgeBand, Sex              string
		ViolationCategories       []struct{ Code string }
		Reason                    *string
		ShareIdentity             bool
		Consent                   struct {
			Given   bool
			By      *string
			Basis   *string
			GivenAt *time.Time
		}
		Case *struct{ ID, Reference string }
	}
}

type referredCaseView struct {
	Case *struct {
		ID, Reference string
		Institution   struct{ Code string }
		Child         struct{ Identity *struct{ GivenName string } }
		Notes         []struct{ Text string }
	}
}

// form prints the referral form as email and returns the PDF.
func (a *testApp) form(email, id string) []byte {
	a.t.Helper()
	var out struct {
		ReferralForm struct {
			Filename, ContentType, Base64, Sha256 string
			Size                                  int
		}
	}
	a.do(a.token(email), formQuery, map[string]any{"id": id}).decode(a.t, &out)
	pdf, err := base64.StdEncoding.DecodeString(out.ReferralForm.Base64)
	if err != nil {
		a.t.Fatal(err)
	}
	sum := sha256.Sum256(pdf)
	if out.ReferralForm.ContentType != "application/pdf" || len(pdf) != out.ReferralForm.Size ||
		hex.EncodeToString(sum[:]) != out.ReferralForm.Sha256 || !bytes.HasPrefix(pdf, []byte("%PDF-")) {
		a.t.Fatalf("form %s: %d bytes, %s", out.ReferralForm.Filename, len(pdf), out.ReferralForm.ContentType)
	}
	if n := bytes.Count(pdf, []byte("/Type /Page\n")); n != 1 {
		a.t.Fatalf("form has %d pages, want 1", n)
	}
	return pdf
}

// The child's name as the form's core fonts encode it (Windows-1252).
var nameInForm = []byte("Mar\xeda Jos\xe9")

// TestReferralWalkthrough is issue 12's "Done when", through the real
// handler: PGN refers a case to SBS for shelter with the caregiver's
// consent and the identity shared; SBS sees only the summary, accepts,
// reads the case and the child's name (audited), adds a note that PGN then
// sees; a second referral without sharing shows no identity; SBS never
// sees a PGN case that was not referred to it.
func TestReferralWalkthrough(t *testing.T) {
	app := newTestApp(t)
	pgn, sbs := app.token("officer@pgn.demo"), app.token("officer@sbs.demo")
	caseID := app.fileCase("officer@pgn.demo", "walk-case-1")
	refID := app.refer("officer@pgn.demo", referInput(caseID, "SBS", true, func(in map[string]any) {
		in["services"] = []string{"SHELTER"}
	}))

	t.Run("RecipientSeesSummaryOnly", func(t *testing.T) {
		var v referralView
		app.do(sbs, referralQuery, map[string]any{"id": refID}).decode(t, &v)
		r := v.Referral
		if r.Status != "PENDING" || r.Case != nil || r.Reason != nil {
			t.Fatalf("before acceptance: status %s, case %v, reason %v", r.Status, r.Case, r.Reason)
		}
		if r.Urgency != "HIGH" || r.AgeBand != "AGE_6_12" || r.Sex != "FEMALE" || !slices.Equal(r.Services, []string{"SHELTER"}) ||
			len(r.ViolationCategories) == 0 || r.DueAt.IsZero() || !r.ShareIdentity || !r.Consent.Given || *r.Consent.By != "CAREGIVER" || r.Consent.GivenAt == nil {
			t.Fatalf("summary %+v", r)
		}
		if res := app.do(sbs, caseIdentityQuery, map[string]any{"id": caseID}); !slices.Equal(res.codes(), []string{nf}) {
			t.Fatalf("case before acceptance: %v", res.codes())
		}
		var in struct {
			Referrals struct {
				Edges []struct{ Node struct{ ID string } }
			}
		}
		app.do(sbs, `{ referrals(filter: {direction: "INCOMING", status: ["PENDING"]}) { edges { node { id } } } }`, nil).decode(t, &in)
		if len(in.Referrals.Edges) != 1 || in.Referrals.Edges[0].Node.ID != refID {
			t.Fatalf("incoming %+v", in.Referrals.Edges)
		}
		if pdf := app.form("officer@sbs.demo", refID); bytes.Contains(pdf, nameInForm) || bytes.Contains(pdf, []byte("albergue temporal")) {
			t.Fatal("the form shows the identity or the reason before acceptance")
		}
	})

	app.respond("officer@sbs.demo", refID, true)

	t.Run("RecipientReadsCaseAndIdentityAudited", func(t *testing.T) {
		var c referredCaseView
		app.do(sbs, caseIdentityQuery, map[string]any{"id": caseID}).decode(t, &c)
		if c.Case.Child.Identity == nil || c.Case.Child.Identity.GivenName != "María José" || c.Case.Institution.Code != "PGN" {
			t.Fatalf("case after acceptance %+v", c.Case)
		}
		n := countRows(t, app.db.App, `SELECT count(*) FROM audit.events WHERE action = 'identity:read' AND outcome = 'SUCCESS'
			AND actor_institution = 'SBS' AND details->>'case' = $1`, caseID)
		if n != 1 {
			t.Fatalf("identity reads by SBS audited: %d, want 1", n)
		}
		var v referralView
		app.do(sbs, referralQuery, map[string]any{"id": refID}).decode(t, &v)
		if v.Referral.Case == nil || v.Referral.Reason == nil {
			t.Fatalf("after acceptance the referral shows no case or reason: %+v", v.Referral)
		}
		if pdf := app.form("officer@sbs.demo", refID); !bytes.Contains(pdf, nameInForm) {
			t.Fatal("the form of a shared referral shows no identity to the recipient")
		}
	})

	t.Run("RecipientNoteSeenBySender", func(t *testing.T) {
		app.do(sbs, `mutation($id: ID!) { addCaseNote(input: {caseId: $id, text: "Ingresó al albergue Casa Nuestras Raíces."}) { note { id } } }`,
			map[string]any{"id": caseID}).decode(t, &struct{}{})
		var c referredCaseView
		app.do(pgn, caseIdentityQuery, map[string]any{"id": caseID}).decode(t, &c)
		if len(c.Case.Notes) != 1 || !strings.Contains(c.Case.Notes[0].Text, "Casa Nuestras Raíces") {
			t.Fatalf("PGN sees notes %+v", c.Case.Notes)
		}
	})

	t.Run("SecondReferralWithoutSharingShowsNoIdentity", func(t *testing.T) {
		second := app.fileCase("officer@pgn.demo", "walk-case-2")
		id := app.refer("officer@pgn.demo", referInput(second, "SBS", false))
		app.respond("officer@sbs.demo", id, true)
		res := app.do(sbs, caseIdentityQuery, map[string]any{"id": second})
		if !slices.Equal(res.codes(), []string{fb}) || strings.Contains(string(res.Data), "María") {
			t.Fatalf("identity of an unshared referral: %s %v", res.Data, res.codes())
		}
		if pdf := app.form("officer@sbs.demo", id); bytes.Contains(pdf, nameInForm) {
			t.Fatal("the form of an unshared referral shows the identity")
		}
		if pdf := app.form("officer@pgn.demo", id); bytes.Contains(pdf, nameInForm) {
			t.Fatal("the sender's print of an unshared referral shows the identity")
		}
	})

	t.Run("NeverReferredStaysUnseen", func(t *testing.T) {
		hidden := app.fileCase("officer@pgn.demo", "walk-case-3")
		if res := app.do(sbs, caseIdentityQuery, map[string]any{"id": hidden}); !slices.Equal(res.codes(), []string{nf}) {
			t.Fatalf("unreferred case: %v", res.codes())
		}
		var list struct {
			Cases struct {
				Edges []struct{ Node struct{ ID string } }
			}
		}
		app.do(sbs, `{ cases(first: 100) { edges { node { id } } } }`, nil).decode(t, &list)
		var ids []string
		for _, e := range list.Cases.Edges {
			ids = append(ids, e.Node.ID)
		}
		if slices.Contains(ids, hidden) || !slices.Contains(ids, caseID) {
			t.Fatalf("SBS lists %v", ids)
		}
	})

	t.Run("AuditedWithCodesOnly", func(t *testing.T) {
		for _, action := range []string{"case:refer", "referral:respond", "referral:print"} {
			if n := countRows(t, app.db.App, `SELECT count(*) FROM audit.events WHERE action = $1 AND object_id = $2`, action, refID); n == 0 {
				t.Errorf("no %s event", action)
			}
		}
		if n := countRows(t, app.db.App, `SELECT count(*) FROM audit.events WHERE object_type = 'referral'
			AND (details::text LIKE '%albergue%' OR details::text LIKE '%María%')`); n != 0 {
			t.Errorf("%d referral events hold free text", n)
		}
	})
}

func TestReferralConsent(t *testing.T) {
	app := newTestApp(t)
	caseID := app.fileCase("officer@pgn.demo", "consent-1")
	justification := "Riesgo inminente: la niña no tiene cuidador presente y debe ingresar hoy al albergue."
	for _, tc := range []struct {
		name    string
		consent map[string]any
		field   string // "" when accepted
	}{
		{"NoConsentNoBasisRefused", map[string]any{"given": false}, "consent.basis"},
		{"BasisWithoutJustificationRefused", map[string]any{"given": false, "basis": "BEST_INTERESTS"}, "consent.justification"},
		{"UnknownBasisRefused", map[string]any{"given": false, "basis": "CONVENIENCE", "justification": justification}, "consent.basis"},
		{"GivenWithoutWhoRefused", map[string]any{"given": true}, "consent.by"},
		{"GivenByStrangerRefused", map[string]any{"given": true, "by": "NEIGHBOUR"}, "consent.by"},
		{"GivenInFutureRefused", map[string]any{"given": true, "by": "CHILD", "givenAt": time.Now().Add(48 * time.Hour).Format(time.RFC3339)}, "consent.givenAt"},
		{"BasisWithJustificationAccepted", map[string]any{"given": false, "basis": "VITAL_INTEREST", "justification": justification}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := referInput(caseID, "MSPAS", true, func(in map[string]any) { in["consent"] = tc.consent })
			res := app.do(app.token("officer@pgn.demo"), referCaseMutation, map[string]any{"in": in})
			if tc.field == "" {
				if len(res.Errors) != 0 {
					t.Fatalf("refused: %+v", res.Errors)
				}
				return
			}
			if !slices.Equal(slices.Compact(res.codes()), []string{"BAD_USER_INPUT"}) || res.Errors[0].Extensions.Field != tc.field {
				t.Fatalf("got %+v, want BAD_USER_INPUT at %s", res.Errors, tc.field)
			}
		})
	}
	t.Run("OtherFieldsChecked", func(t *testing.T) {
		for field, tweak := range map[string]func(map[string]any){
			"toInstitution": func(in map[string]any) { in["toInstitution"] = "PGN" }, // the case's own
			"services[0]":   func(in map[string]any) { in["services"] = []string{"TELEPORTATION"} },
			"services":      func(in map[string]any) { in["services"] = []string{} },
			"reason":        func(in map[string]any) { in["reason"] = "  " },
		} {
			res := app.do(app.token("officer@pgn.demo"), referCaseMutation, map[string]any{"in": referInput(caseID, "SBS", false, tweak)})
			if !slices.Equal(res.codes(), []string{"BAD_USER_INPUT"}) || res.Errors[0].Extensions.Field != field {
				t.Errorf("%s: got %+v", field, res.Errors)
			}
		}
	})
	t.Run("BasisAuditedAsCodeNeverText", func(t *testing.T) {
		sum := sha256.Sum256([]byte(justification))
		n := countRows(t, app.db.App, `SELECT count(*) FROM audit.events WHERE action = 'case:refer' AND details->>'case' = $1
			AND details->>'consentBasis' = 'VITAL_INTEREST' AND details->>'justificationSha256' = $2`, caseID, hex.EncodeToString(sum[:]))
		if n != 1 {
			t.Fatalf("basis events = %d", n)
		}
		if n := countRows(t, app.db.App, `SELECT count(*) FROM audit.events WHERE details::text LIKE '%Riesgo inminente%'`); n != 0 {
			t.Fatalf("the justification's text is in %d audit events", n)
		}
	})
	t.Run("SecondOpenReferralConflicts", func(t *testing.T) {
		res := app.do(app.token("officer@pgn.demo"), referCaseMutation, map[string]any{"in": referInput(caseID, "MSPAS", false,
			func(in map[string]any) {
				in["consent"] = map[string]any{"given": true, "by": "CHILD"}
			})})
		if !slices.Equal(res.codes(), []string{"CONFLICT"}) {
			t.Fatalf("got %v", res.codes())
		}
	})
}

// TestReferralIdentity: the recipient reads the identity only when the
// referral shares it, under consent or a basis, and while it is accepted.
func TestReferralIdentity(t *testing.T) {
	app := newTestApp(t)
	basis := func(in map[string]any) {
		in["consent"] = map[string]any{"given": false, "basis": "BEST_INTERESTS", "justification": "Sin cuidador localizable; el juzgado ordenó el abrigo."}
	}
	for _, tc := range []struct {
		name   string
		share  bool
		tweak  func(map[string]any)
		answer string // accepted, declined, pending
		want   string // "name", FORBIDDEN (case readable, identity withheld), NOT_FOUND
	}{
		{"SharedWithConsent", true, nil, "accepted", "name"},
		{"SharedUnderBasis", true, basis, "accepted", "name"},
		{"NotShared", false, nil, "accepted", fb},
		{"NotSharedUnderBasis", false, basis, "accepted", fb},
		{"SharedButPending", true, nil, "pending", nf},
		{"SharedButDeclined", true, nil, "declined", nf},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := app.fileCase("officer@pgn.demo", "ident-"+tc.name)
			var tweaks []func(map[string]any)
			if tc.tweak != nil {
				tweaks = append(tweaks, tc.tweak)
			}
			id := app.refer("officer@pgn.demo", referInput(c, "SBS", tc.share, tweaks...))
			if tc.answer != "pending" {
				app.respond("officer@sbs.demo", id, tc.answer == "accepted")
			}
			res := app.do(app.token("officer@sbs.demo"), caseIdentityQuery, map[string]any{"id": c})
			switch tc.want {
			case "name":
				var v referredCaseView
				res.decode(t, &v)
				if v.Case.Child.Identity == nil || v.Case.Child.Identity.GivenName != "María José" {
					t.Fatalf("identity %+v", v.Case.Child.Identity)
				}
			default:
				if !slices.Equal(res.codes(), []string{tc.want}) || strings.Contains(string(res.Data), "María") {
					t.Fatalf("got %s %v, want %s", res.Data, res.codes(), tc.want)
				}
			}
		})
	}
}

// TestReferralAccessEnds: a declined or withdrawn referral gives the
// recipient nothing of the case; a completed one leaves it readable, read
// only, for the history period, and then nothing.
func TestReferralAccessEnds(t *testing.T) {
	app := newTestApp(t)
	sbs := app.token("officer@sbs.demo")
	read := func(t *testing.T, caseID string) []string {
		t.Helper()
		return app.do(sbs, `query($id: ID!) { case(id: $id) { id } }`, map[string]any{"id": caseID}).codes()
	}
	note := func(t *testing.T, caseID string) []string {
		t.Helper()
		return app.do(sbs, `mutation($id: ID!) { addCaseNote(input: {caseId: $id, text: "visita"}) { note { id } } }`,
			map[string]any{"id": caseID}).codes()
	}
	f := &fixtures{app: app}

	t.Run("Declined", func(t *testing.T) {
		_, c := f.freshReferral("declined")
		if got := read(t, c); !slices.Equal(got, []string{nf}) {
			t.Fatalf("read after decline: %v", got)
		}
	})
	t.Run("DeclineNeedsReason", func(t *testing.T) {
		id, _ := f.freshReferral("pending")
		res := app.do(sbs, respondMutation, map[string]any{"id": id, "accept": false, "reason": nil})
		if !slices.Equal(res.codes(), []string{"BAD_USER_INPUT"}) || res.Errors[0].Extensions.Field != "reason" {
			t.Fatalf("got %+v", res.Errors)
		}
	})
	t.Run("Withdrawn", func(t *testing.T) {
		id, c := f.freshReferral("withdrawn")
		if got := read(t, c); !slices.Equal(got, []string{nf}) {
			t.Fatalf("read after withdrawal: %v", got)
		}
		res := app.do(sbs, respondMutation, map[string]any{"id": id, "accept": true})
		if !slices.Equal(res.codes(), []string{"CONFLICT"}) {
			t.Fatalf("accepting a withdrawn referral: %v", res.codes())
		}
	})
	t.Run("CompletedReadOnlyThenGone", func(t *testing.T) {
		id, c := f.freshReferral("completed")
		if got := read(t, c); len(got) != 0 {
			t.Fatalf("read after completion: %v", got)
		}
		if got := note(t, c); !slices.Equal(got, []string{nf}) {
			t.Fatalf("note after completion: %v", got)
		}
		var v struct {
			Referral struct {
				Status            string
				ServicesDelivered []string
			}
		}
		app.do(sbs, `query($id: ID!) { referral(id: $id) { status servicesDelivered } }`, map[string]any{"id": id}).decode(t, &v)
		if v.Referral.Status != "COMPLETED" || !slices.Equal(v.Referral.ServicesDelivered, []string{"SHELTER"}) {
			t.Fatalf("completed referral %+v", v.Referral)
		}
		// The history period (authz.ReferredHistoryPeriod, 90 days) passes.
		if _, err := app.db.Owner(t).Exec(`UPDATE referrals SET closed_at = now() - interval '91 days' WHERE id = $1`, id); err != nil {
			t.Fatal(err)
		}
		if got := read(t, c); !slices.Equal(got, []string{nf}) {
			t.Fatalf("read after the history period: %v", got)
		}
	})
	t.Run("CompleteOnlyServicesAsked", func(t *testing.T) {
		id, _ := f.freshReferral("accepted")
		res := app.do(sbs, `mutation($id: ID!) { completeReferral(input: {referralId: $id, servicesDelivered: ["HEALTH"]}) { referral { id } } }`,
			map[string]any{"id": id})
		if !slices.Equal(res.codes(), []string{"BAD_USER_INPUT"}) || res.Errors[0].Extensions.Field != "servicesDelivered[0]" {
			t.Fatalf("got %+v", res.Errors)
		}
	})
}

// TestReferralTransfer: an accepted transfer moves the case, its scope and
// its child's record to the new owner in one step; the case keeps its
// reference; the previous owner keeps reading what it wrote and nothing
// more.
func TestReferralTransfer(t *testing.T) {
	app := newTestApp(t)
	pgnOfficer, pgnSup, sbs := app.token("officer@pgn.demo"), app.token("supervisor@pgn.demo"), app.token("officer@sbs.demo")
	caseID := app.fileCase("officer@pgn.demo", "transfer-1")
	addNote := func(tok, text string) {
		t.Helper()
		res := app.do(tok, `mutation($id: ID!, $text: String!) { addCaseNote(input: {caseId: $id, text: $text}) { note { id } } }`,
			map[string]any{"id": caseID, "text": text})
		if len(res.Errors) != 0 {
			t.Fatalf("note %q: %+v", text, res.Errors)
		}
	}
	addNote(pgnOfficer, "nota de PGN")
	pgnFile := app.mustUpload("officer@pgn.demo", caseID, "acta-pgn.pdf", pdf(t, 2000))
	var before referredCaseView
	app.do(pgnOfficer, caseIdentityQuery, map[string]any{"id": caseID}).decode(t, &before)
	transfer := func(in map[string]any) { in["kind"] = "TRANSFER" }
	id := app.refer("supervisor@pgn.demo", referInput(caseID, "SBS", false, transfer))

	t.Run("NothingMovesBeforeAcceptance", func(t *testing.T) {
		if res := app.do(sbs, caseIdentityQuery, map[string]any{"id": caseID}); !slices.Equal(res.codes(), []string{nf}) {
			t.Fatalf("recipient reads a pending transfer's case: %v", res.codes())
		}
		res := app.do(pgnOfficer, referCaseMutation, map[string]any{"in": referInput(caseID, "MSPAS", false, transfer)})
		if !slices.Equal(res.codes(), []string{fb}) {
			t.Fatalf("an officer transfers: %v", res.codes())
		}
		res = app.do(pgnSup, referCaseMutation, map[string]any{"in": referInput(caseID, "MSPAS", false, transfer)})
		if !slices.Equal(res.codes(), []string{"CONFLICT"}) {
			t.Fatalf("a second pending transfer: %v", res.codes())
		}
	})

	t.Run("OwnerChangedMeanwhileConflictsAndLeavesNothing", func(t *testing.T) {
		// Another case whose owner changes under a pending transfer (as a
		// concurrent transfer would): the acceptance writes nothing.
		other := app.fileCase("officer@pgn.demo", "transfer-2")
		oid := app.refer("supervisor@pgn.demo", referInput(other, "SBS", false, transfer))
		owner := app.db.Owner(t)
		if _, err := owner.Exec(`UPDATE cases SET institution_code = 'MSPAS' WHERE id = $1`, other); err != nil {
			t.Fatal(err)
		}
		res := app.do(sbs, respondMutation, map[string]any{"id": oid, "accept": true})
		if !slices.Equal(res.codes(), []string{"CONFLICT"}) {
			t.Fatalf("got %v", res.codes())
		}
		if n := countRows(t, app.db.App, `SELECT count(*) FROM referrals WHERE id = $1 AND status = 'PENDING' AND responded_at IS NULL`, oid); n != 1 {
			t.Fatal("the failed acceptance left the referral answered")
		}
		if n := countRows(t, app.db.App, `SELECT count(*) FROM audit.events WHERE object_id = $1 AND action = 'referral:respond'`, oid); n != 0 {
			t.Fatal("the failed acceptance left an audit event")
		}
	})

	app.respond("officer@sbs.demo", id, true)
	// What the new owner writes after the transfer.
	addNote(sbs, "nota de SBS")
	sbsFile := app.mustUpload("officer@sbs.demo", caseID, "acta-sbs.pdf", pdf(t, 3000))
	app.transition("officer@sbs.demo", caseID, "ASSESSMENT", app.getCase("officer@sbs.demo", caseID).Version, "")

	t.Run("OwnershipAndScopeMoved", func(t *testing.T) {
		var after referredCaseView
		app.do(sbs, caseIdentityQuery, map[string]any{"id": caseID}).decode(t, &after)
		if after.Case.Institution.Code != "SBS" || after.Case.Reference != before.Case.Reference {
			t.Fatalf("after transfer: %+v (was %s)", after.Case, before.Case.Reference)
		}
		if after.Case.Child.Identity == nil {
			t.Fatal("the accepting officer, now assigned, does not see who the child is")
		}
		if n := countRows(t, app.db.App, `SELECT count(*) FROM children ch JOIN cases c ON c.child_id = ch.id
			WHERE c.id = $1 AND ch.institution_code = 'SBS'`, caseID); n != 1 {
			t.Fatal("the child's record did not move with the case")
		}
		if n := countRows(t, app.db.App, `SELECT count(*) FROM audit.events WHERE action = 'case:transfer' AND object_id = $1
			AND details->>'from' = 'PGN' AND details->>'to' = 'SBS'`, caseID); n != 1 {
			t.Fatal("the transfer is not on record")
		}
	})

	t.Run("PreviousOwnerReadsOnly", func(t *testing.T) {
		for _, tok := range []string{pgnOfficer, pgnSup} {
			res := app.do(tok, `query($id: ID!) { case(id: $id) { reference notes { text } } }`, map[string]any{"id": caseID})
			if len(res.Errors) != 0 {
				t.Fatalf("previous owner reads: %+v", res.Errors)
			}
			res = app.do(tok, `mutation($id: ID!) { addCaseNote(input: {caseId: $id, text: "seguimiento"}) { note { id } } }`, map[string]any{"id": caseID})
			if !slices.Equal(res.codes(), []string{nf}) {
				t.Fatalf("previous owner writes a note: %v", res.codes())
			}
			res = app.do(tok, referCaseMutation, map[string]any{"in": referInput(caseID, "MSPAS", false)})
			if !slices.Equal(res.codes(), []string{fb}) {
				t.Fatalf("previous owner refers the case: %v", res.codes())
			}
		}
		if res := app.do(pgnOfficer, caseIdentityQuery, map[string]any{"id": caseID}); !slices.Equal(res.codes(), []string{fb}) {
			t.Fatalf("previous owner reads the identity: %v", res.codes())
		}
	})

	t.Run("PreviousOwnerSeesOnlyWhatItWrote", func(t *testing.T) {
		const q = `query($id: ID!) { case(id: $id) { noteCount notes { text } evidenceCount evidence { id } timeline { kind } } }`
		for who, tok := range map[string]string{"previous owner": pgnOfficer, "previous supervisor": pgnSup, "new owner": sbs} {
			var out struct {
				Case struct {
					NoteCount, EvidenceCount int
					Notes                    []struct{ Text string }
					Evidence                 []struct{ ID string }
					Timeline                 []struct{ Kind string }
				}
			}
			app.do(tok, q, map[string]any{"id": caseID}).decode(t, &out)
			c := out.Case
			var notes, files, kinds []string
			for _, n := range c.Notes {
				notes = append(notes, n.Text)
			}
			for _, e := range c.Evidence {
				files = append(files, e.ID)
			}
			for _, e := range c.Timeline {
				kinds = append(kinds, e.Kind)
			}
			wantNotes, wantFiles := []string{"nota de PGN"}, []string{pgnFile.ID}
			if who == "new owner" {
				wantNotes, wantFiles = []string{"nota de PGN", "nota de SBS"}, []string{pgnFile.ID, sbsFile.ID}
			}
			if !slices.Equal(notes, wantNotes) || c.NoteCount != len(wantNotes) {
				t.Errorf("%s reads notes %q (count %d), want %q", who, notes, c.NoteCount, wantNotes)
			}
			if !slices.Equal(files, wantFiles) || c.EvidenceCount != len(wantFiles) {
				t.Errorf("%s reads files %v (count %d), want %v", who, files, c.EvidenceCount, wantFiles)
			}
			// Filing is a status change; the new owner's assessment, after
			// the transfer, is one only the new owner follows.
			changes, want := 0, 1
			for _, k := range kinds {
				if k == "STATUS_CHANGED" {
					changes++
				}
			}
			if who == "new owner" {
				want = 2
			}
			if changes != want {
				t.Errorf("%s timeline %v: %d status changes, want %d", who, kinds, changes, want)
			}
			if !slices.Contains(kinds, "REFERRAL_ACCEPTED") {
				t.Errorf("%s timeline %v lacks the transfer", who, kinds)
			}
		}
		if res := app.do(pgnOfficer, downloadMutation, map[string]any{"id": pgnFile.ID}); len(res.Errors) != 0 {
			t.Errorf("previous owner downloads its own file: %+v", res.Errors)
		}
		if res := app.do(pgnOfficer, downloadMutation, map[string]any{"id": sbsFile.ID}); !slices.Equal(res.codes(), []string{nf}) {
			t.Errorf("previous owner downloads the new owner's file: %v", res.codes())
		}
	})
}

// TestReferralConcurrentAcceptWithdraw: the recipient accepts while the
// sender withdraws; one wins, the other gets CONFLICT, and the referral
// ends in the winner's status.
func TestReferralConcurrentAcceptWithdraw(t *testing.T) {
	app := newTestApp(t)
	f := &fixtures{app: app}
	pgn, sbs := app.token("officer@pgn.demo"), app.token("officer@sbs.demo")
	for i := range 8 {
		id, _ := f.freshReferral("pending")
		var accept, withdraw *gqlResponse
		var wg sync.WaitGroup
		start := make(chan struct{})
		wg.Go(func() {
			<-start
			accept = app.do(sbs, respondMutation, map[string]any{"id": id, "accept": true})
		})
		wg.Go(func() {
			<-start
			withdraw = app.do(pgn, withdrawMutation, map[string]any{"id": id})
		})
		close(start)
		wg.Wait()
		a, w := strings.Join(accept.codes(), ","), strings.Join(withdraw.codes(), ",")
		var status string
		if err := app.db.App.Get(&status, `SELECT status FROM referrals WHERE id = $1`, id); err != nil {
			t.Fatal(err)
		}
		switch {
		case a == "" && w == "CONFLICT" && status == "ACCEPTED":
		case a == "CONFLICT" && w == "" && status == "WITHDRAWN":
		default:
			t.Fatalf("round %d: accept %q, withdraw %q, status %s", i, a, w, status)
		}
	}
}

// TestReferralDeadlines: the recipient has 24 hours to answer an IMMEDIATE
// or HIGH referral and 72 hours otherwise; an overdue one shows so to both
// sides.
func TestReferralDeadlines(t *testing.T) {
	app := newTestApp(t)
	for urgency, want := range map[string]time.Duration{"IMMEDIATE": 24 * time.Hour, "HIGH": 24 * time.Hour,
		"MEDIUM": 72 * time.Hour, "LOW": 72 * time.Hour, "": 24 * time.Hour /* the case's: HIGH */} {
		c := app.fileCase("officer@pgn.demo", "deadline-"+urgency)
		var out struct {
			ReferCase struct {
				Referral struct{ DueAt, CreatedAt time.Time }
			}
		}
		in := referInput(c, "SBS", false, func(in map[string]any) {
			if urgency != "" {
				in["urgency"] = urgency
			}
		})
		app.do(app.token("officer@pgn.demo"), referCaseMutation, map[string]any{"in": in}).decode(t, &out)
		if got := out.ReferCase.Referral.DueAt.Sub(out.ReferCase.Referral.CreatedAt); got != want {
			t.Errorf("urgency %q: due after %v, want %v", urgency, got, want)
		}
	}
	f := &fixtures{app: app}
	id, _ := f.freshReferral("pending")
	if _, err := app.db.Owner(t).Exec(`UPDATE referrals SET due_at = now() - interval '1 hour' WHERE id = $1`, id); err != nil {
		t.Fatal(err)
	}
	for _, email := range []string{"officer@pgn.demo", "officer@sbs.demo"} {
		var v referralView
		app.do(app.token(email), referralQuery, map[string]any{"id": id}).decode(t, &v)
		if !v.Referral.Overdue {
			t.Errorf("%s: not overdue", email)
		}
		var list struct {
			Referrals struct {
				TotalCount int
				Edges      []struct{ Node struct{ ID string } }
			}
		}
		app.do(app.token(email), `{ referrals(filter: {overdue: true}) { totalCount edges { node { id } } } }`, nil).decode(t, &list)
		if list.Referrals.TotalCount != 1 || list.Referrals.Edges[0].Node.ID != id {
			t.Errorf("%s: overdue list %+v", email, list.Referrals)
		}
	}
	app.respond("officer@sbs.demo", id, true)
	var v referralView
	app.do(app.token("officer@pgn.demo"), referralQuery, map[string]any{"id": id}).decode(t, &v)
	if v.Referral.Overdue {
		t.Error("an answered referral is still overdue")
	}
}
