package main

import (
	"encoding/base64"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/google/uuid"
)

// The demo users, one per role; "referred" below means a case of SBS
// referred to PGN (referCase) and accepted there (respondToReferral).
var matrixUsers = []string{"officer@pgn.demo", "supervisor@pgn.demo", "officer@sbs.demo", "intake@igm.demo",
	"oversight@pdh.demo", "admin@amparo.demo"}

// fixtures are the records the matrix acts on.
type fixtures struct {
	app        *testApp
	cases      map[string]string // label → case id
	complaints map[string]string // label → complaint id
	evidence   map[string]string // case label → evidence id
	// referrals are the referral records (referralRecords); referredCases
	// the case of a referral in each of referralStates.
	referrals     map[string]string
	referredCases map[string]string
}

// Case records, named by their relation to officer@pgn.demo: own (filed by
// and assigned to them), institution (PGN, assigned to the supervisor),
// other (SBS), referred (SBS, referred to PGN and accepted).
var caseRecords = []string{"own", "institution", "other", "referred"}

// A further case record for the operations of the workflow: queue, a case
// of PGN that nobody is assigned to.
var workRecords = append(slices.Clone(caseRecords), "queue")

// Complaint records: received at IGM by intake and at PGN by the officer,
// both routed to MP and PGN (trafficking and abduction, a child with
// family); and received at IGM and routed to SBS, MSPAS and PDH, not PGN
// (denial of health care to an unaccompanied child).
var complaintRecords = []string{"igm", "pgn", "igm-sbs"}

// complaintSubmitters and complaintReceivers are who submits each complaint
// record and an officer of an institution it is routed to.
var (
	complaintSubmitters = map[string]string{"igm": "intake@igm.demo", "pgn": "officer@pgn.demo", "igm-sbs": "intake@igm.demo"}
	complaintReceivers  = map[string]string{"igm": "officer@pgn.demo", "pgn": "officer@pgn.demo", "igm-sbs": "officer@sbs.demo"}
)

// matrixComplaintInput is the submission of a complaint record.
func matrixComplaintInput(rec, key string) map[string]any {
	in := complaintInput(key)
	child := map[string]any{"ageYears": 15, "sex": "FEMALE", "nationality": "SLV",
		"populationStatus": "MIGRANT_TRANSIT", "careStatus": "WITH_FAMILY"}
	if rec == "igm-sbs" {
		in["violations"] = []any{"DENIAL_HEALTH"}
		child["careStatus"] = "UNACCOMPANIED"
	}
	in["children"] = []any{child}
	return in
}

func newFixtures(t *testing.T, app *testApp) *fixtures {
	f := &fixtures{app: app, cases: map[string]string{}, complaints: map[string]string{}, evidence: map[string]string{},
		referrals: map[string]string{}, referredCases: map[string]string{}}
	for _, rec := range workRecords {
		f.cases[rec] = f.freshCase(rec)
	}
	for _, st := range referralStates {
		id, c := f.freshReferral(st)
		f.referredCases[st] = c
		if slices.Contains(referralRecords, st) {
			f.referrals[st] = id
		}
	}
	for label, uploader := range map[string]string{"own": "officer@pgn.demo", "institution": "supervisor@pgn.demo",
		"other": "officer@sbs.demo", "referred": "officer@sbs.demo"} {
		var out struct {
			UploadEvidence struct{ Evidence struct{ ID string } }
		}
		app.upload(app.token(uploader), uploadMutation, map[string]any{"caseId": f.cases[label]}, "acta.txt",
			strings.NewReader("acta de entrega")).decode(t, &out)
		f.evidence[label] = out.UploadEvidence.Evidence.ID
	}
	for _, rec := range complaintRecords {
		f.complaints[rec] = f.freshComplaint(rec, false)
	}
	return f
}

// freshComplaint submits a new complaint of record rec, acknowledged (at
// version 2) by one of its receivers when acknowledged.
func (f *fixtures) freshComplaint(rec string, acknowledged bool) string {
	var out submitted
	f.app.do(f.app.token(complaintSubmitters[rec]), submitComplaintMutation, map[string]any{
		"input": matrixComplaintInput(rec, "mx-complaint-"+uuid.NewString())}).decode(f.app.t, &out)
	id := out.SubmitComplaint.Complaint.ID
	if acknowledged {
		f.app.do(f.app.token(complaintReceivers[rec]), `mutation($id: ID!) { acknowledgeComplaint(input: {complaintId: $id, expectedVersion: 1}) { complaint { id } } }`,
			map[string]any{"id": id}).decode(f.app.t, &struct{}{})
	}
	return id
}

// freshCase files a new case (REGISTERED, version 1) of record rec.
func (f *fixtures) freshCase(rec string) string {
	t, app := f.app.t, f.app
	key := "mx-fresh-" + uuid.NewString()
	switch rec {
	case "own":
		return app.fileCase("officer@pgn.demo", key)
	case "institution":
		return app.fileCase("supervisor@pgn.demo", key)
	case "other":
		return app.fileCase("officer@sbs.demo", key)
	case "referred":
		id := app.fileCase("officer@sbs.demo", key)
		app.respond("officer@pgn.demo", app.refer("officer@sbs.demo", referInput(id, "PGN", false)), true)
		return id
	case "queue":
		id := app.fileCase("supervisor@pgn.demo", key)
		if _, err := app.db.Owner(t).Exec(`UPDATE cases SET assigned_to = NULL WHERE id = $1`, id); err != nil {
			t.Fatal(err)
		}
		return id
	}
	t.Fatalf("no case record %q", rec)
	return ""
}

func userID(t testing.TB, app *testApp, email string) uuid.UUID {
	t.Helper()
	var id uuid.UUID
	if err := app.db.App.Get(&id, `SELECT id FROM users WHERE email = $1`, email); err != nil {
		t.Fatal(err)
	}
	return id
}

// newAccount creates a fresh account (as the schema owner) to act on.
func newAccount(t testing.TB, app *testApp, institution string) string {
	t.Helper()
	id := uuid.New()
	var inst any
	if institution != "" {
		inst = institution
	}
	if _, err := app.db.Owner(t).Exec(`INSERT INTO users (id, email, display_name, institution_code, subject)
		VALUES ($1, $2, 'Cuenta de prueba', $3, $2)`, id, id.String()+"@test.demo", inst); err != nil {
		t.Fatal(err)
	}
	return id.String()
}

// requestedGrant asks, as the admin holding token, for an officer grant to a
// fresh PGN account, and returns the variables that approve it.
func requestedGrant(f *fixtures, token string) map[string]any {
	id := newAccount(f.app.t, f.app, "PGN")
	f.app.do(token, grantMutation, map[string]any{"id": id, "role": "officer"}).decode(f.app.t, &struct{}{})
	return map[string]any{"id": id, "role": "officer"}
}

// A matrix row: one operation on one record, and its outcome for each demo
// user in matrixUsers order: "ok", or the error code.
type row struct {
	op     string // the Query or Mutation field exercised
	record string // a key of caseRecords or complaintRecords, or "-"
	doc    string
	vars   func(f *fixtures, record string) map[string]any
	want   [6]string
}

const (
	ok = "ok"
	nf = "NOT_FOUND"
	fb = "FORBIDDEN"
)

func caseVars(f *fixtures, record string) map[string]any {
	return map[string]any{"id": f.cases[record]}
}

func complaintVars(f *fixtures, record string) map[string]any {
	return map[string]any{"id": f.complaints[record]}
}

func noVars(*fixtures, string) map[string]any { return nil }

const markAlertsReadMutation = `mutation($id: ID!) { markAlertsRead(ids: [$id]) { alerts { id read } } }`

// alertVars names a fresh alert of the demo user record (about the "own"
// case), written as the schema owner.
func alertVars(f *fixtures, record string) map[string]any {
	id := uuid.New()
	if _, err := f.app.db.Owner(f.app.t).Exec(`INSERT INTO alerts (id, recipient_id, kind, case_id, urgency)
		SELECT $1, u.id, 'URGENT_CASE', $3, 'HIGH' FROM users u WHERE u.email = $2`, id, record, f.cases["own"]); err != nil {
		f.app.t.Fatal(err)
	}
	return map[string]any{"id": id.String()}
}

// evidenceVars names the evidence attached to each case record.
func evidenceVars(f *fixtures, record string) map[string]any {
	return map[string]any{"id": f.evidence[record]}
}

// perCase expands one operation over the four case records; want lists,
// for each record, the outcomes of the six users.
func perCase(op, doc string, vars func(*fixtures, string) map[string]any, want map[string][6]string) []row {
	return perRecord(caseRecords, op, doc, vars, want)
}

// perRecord expands one operation over records.
func perRecord(records []string, op, doc string, vars func(*fixtures, string) map[string]any, want map[string][6]string) []row {
	var out []row
	for _, rec := range records {
		out = append(out, row{op: op, record: rec, doc: doc, vars: vars, want: want[rec]})
	}
	return out
}

// freshCaseVars names a new case of the record, for operations that
// change it.
func freshCaseVars(f *fixtures, record string) map[string]any {
	return map[string]any{"id": f.freshCase(record)}
}

// freshComplaintVars names a new complaint of the record; ackedVars one
// already acknowledged by its receiver.
func freshComplaintVars(f *fixtures, record string) map[string]any {
	return map[string]any{"id": f.freshComplaint(record, false)}
}

func ackedVars(f *fixtures, record string) map[string]any {
	return map[string]any{"id": f.freshComplaint(record, true)}
}

func matrix() []row {
	//                         officer@pgn supervisor@pgn officer@sbs intake@igm oversight@pdh admin
	caseRead := map[string][6]string{
		"own":         {ok, ok, nf, fb, ok, fb},
		"institution": {nf, ok, nf, fb, ok, fb},
		"other":       {nf, nf, ok, fb, ok, fb},
		"referred":    {ok, ok, ok, fb, ok, fb},
	}
	caseWork := map[string][6]string{ // notes and evidence: no oversight, no intake
		"own":         {ok, ok, nf, fb, fb, fb},
		"institution": {nf, ok, nf, fb, fb, fb},
		"other":       {nf, nf, ok, fb, fb, fb},
		"referred":    {ok, ok, ok, fb, fb, fb},
	}
	identity := map[string][6]string{ // only who may read the identity sees who revealed it
		"own":         {ok, ok, nf, fb, fb, fb},
		"institution": {nf, ok, nf, fb, fb, fb},
		"other":       {nf, nf, ok, fb, fb, fb},
		"referred":    {nf, nf, ok, fb, fb, fb},
	}
	reveal := map[string][6]string{
		"own": {fb, fb, fb, fb, ok, fb}, "institution": {fb, fb, fb, fb, ok, fb},
		"other": {fb, fb, fb, fb, ok, fb}, "referred": {fb, fb, fb, fb, ok, fb},
	}
	link := map[string][6]string{ // a fresh PGN complaint linked to each case
		"own":         {ok, ok, nf, fb, fb, fb},
		"institution": {nf, ok, nf, fb, fb, fb},
		"other":       {nf, nf, nf, fb, fb, fb},
		"referred":    {nf, nf, nf, fb, fb, fb},
	}
	caseRead["queue"] = [6]string{ok, ok, nf, fb, ok, fb}
	transition := map[string][6]string{ // REGISTERED → ASSESSMENT
		"own":         {ok, ok, nf, fb, fb, fb},
		"institution": {nf, ok, nf, fb, fb, fb},
		"other":       {nf, nf, ok, fb, fb, fb},
		"referred":    {fb, fb, ok, fb, fb, fb},
		"queue":       {fb, ok, nf, fb, fb, fb},
	}
	assign := map[string][6]string{ // to officer@pgn.demo: the officer takes, others assign
		"own":         {ok, ok, fb, fb, fb, fb},
		"institution": {nf, ok, fb, fb, fb, fb},
		"other":       {nf, nf, fb, fb, fb, fb},
		"referred":    {fb, fb, fb, fb, fb, fb},
		"queue":       {ok, ok, fb, fb, fb, fb},
	}
	receive := map[string][6]string{ // acknowledge, triage, forward, close: the receiving institutions
		"igm":     {ok, ok, nf, fb, fb, fb},
		"pgn":     {ok, ok, nf, fb, fb, fb},
		"igm-sbs": {nf, nf, ok, fb, fb, fb},
	}
	routedTo := func(rec string) string {
		if rec == "igm-sbs" {
			return `["SBS"]`
		}
		return `["PGN", "MP"]`
	}
	var rows []row
	rows = append(rows, perRecord(workRecords, "case", `query($id: ID!) { case(id: $id) { id reference } }`, caseVars, caseRead)...)
	rows = append(rows, perRecord(workRecords, "transitionCase", `mutation($id: ID!) { transitionCase(input: {caseId: $id, to: "ASSESSMENT", expectedVersion: 1}) { case { id status } } }`,
		freshCaseVars, transition)...)
	rows = append(rows, perRecord(workRecords, "assignCase", `mutation($id: ID!) { assignCase(input: {caseId: $id, assigneeEmail: "officer@pgn.demo"}) { case { id assignee { email } } } }`,
		freshCaseVars, assign)...)
	rows = append(rows, perRecord(complaintRecords, "acknowledgeComplaint", `mutation($id: ID!) { acknowledgeComplaint(input: {complaintId: $id, expectedVersion: 1}) { complaint { id status } } }`,
		freshComplaintVars, receive)...)
	for _, rec := range complaintRecords {
		rows = append(rows, row{op: "triageComplaint", record: rec, vars: ackedVars, want: receive[rec],
			doc: `mutation($id: ID!) { triageComplaint(input: {complaintId: $id, urgency: HIGH, violations: ["TRAFFICKING"], routedTo: ` + routedTo(rec) + `, expectedVersion: 2}) { complaint { id status } } }`})
	}
	rows = append(rows, perRecord(complaintRecords, "forwardComplaint", `mutation($id: ID!) { forwardComplaint(input: {complaintId: $id, toInstitution: "SVET", reason: "trata con fines de explotación sexual"}) { complaint { id status } } }`,
		ackedVars, receive)...)
	rows = append(rows, perRecord(complaintRecords, "closeComplaint", `mutation($id: ID!) { closeComplaint(input: {complaintId: $id, outcome: "WITHDRAWN", expectedVersion: 2}) { complaint { id status } } }`,
		ackedVars, receive)...)
	rows = append(rows, perCase("addCaseNote", `mutation($id: ID!) { addCaseNote(input: {caseId: $id, text: "seguimiento"}) { note { id } } }`, caseVars, caseWork)...)
	rows = append(rows, perCase("uploadEvidence", "upload", caseVars, caseWork)...)
	rows = append(rows, perCase("requestEvidenceDownload", `mutation($id: ID!) { requestEvidenceDownload(evidenceId: $id) { url } }`, evidenceVars, caseWork)...)
	rows = append(rows, perCase("verifyEvidence", `mutation($id: ID!) { verifyEvidence(evidenceId: $id) { intact } }`, evidenceVars, caseRead)...)
	rows = append(rows, perCase("identityReveals", `query($id: ID!) { identityReveals(caseId: $id) { id } }`, caseVars, identity)...)
	rows = append(rows, perCase("revealIdentity", `mutation($id: ID!) { revealIdentity(input: {caseId: $id, justification: "Revisión de oficio por queja recibida en la PDH"}) { givenName } }`, caseVars, reveal)...)
	// Erasing an identity: a supervisor of the owning institution asks,
	// another approves (here the request comes from another account).
	erase := map[string][6]string{
		"own": {fb, ok, fb, fb, fb, fb}, "institution": {fb, ok, fb, fb, fb, fb},
		"other": {fb, nf, fb, fb, fb, fb}, "referred": {fb, fb, fb, fb, fb, fb},
	}
	const eraseDoc = `mutation($id: ID!) { eraseChildIdentity(input: {caseId: $id, ground: "COURT_ORDER"}) { erasure { id status } } }`
	rows = append(rows, perCase("eraseChildIdentity", eraseDoc, freshCaseVars, erase)...)
	rows = append(rows, perCase("eraseChildIdentity", eraseDoc, func(f *fixtures, rec string) map[string]any {
		id := f.freshCase(rec)
		pendingErasure(f, id)
		return map[string]any{"id": id}
	}, erase)...)
	rows = append(rows, perCase("linkComplaintToCase", `mutation($c: ID!, $id: ID!) { linkComplaintToCase(input: {complaintId: $c, caseId: $id}) { complaint { id } } }`,
		func(f *fixtures, rec string) map[string]any {
			return map[string]any{"id": f.cases[rec], "c": f.freshComplaint("pgn", false)}
		}, link)...)
	rows = append(rows, referralRows()...)
	rows = append(rows,
		row{op: "complaint", record: "igm", doc: `query($id: ID!) { complaint(id: $id) { id } }`, vars: complaintVars, want: [6]string{ok, ok, nf, ok, ok, fb}},
		row{op: "complaint", record: "pgn", doc: `query($id: ID!) { complaint(id: $id) { id } }`, vars: complaintVars, want: [6]string{ok, ok, nf, nf, ok, fb}},
		row{op: "complaint", record: "igm-sbs", doc: `query($id: ID!) { complaint(id: $id) { id } }`, vars: complaintVars, want: [6]string{nf, nf, ok, ok, ok, fb}},
		row{op: "linkComplaintToCase", record: "igm", doc: `mutation($id: ID!, $key: String!) { linkComplaintToCase(input: {complaintId: $id, newCase: {idempotencyKey: $key, child: {ageYears: 9, sex: MALE, nationality: "GTM", populationStatus: RETURNEE, careStatus: SEPARATED}, violations: [{type: "NEGLECT"}], departmentCode: "GT-01", urgency: LOW, summary: "retorno"}}) { complaint { id } } }`,
			vars: func(f *fixtures, rec string) map[string]any {
				return map[string]any{"id": f.freshComplaint(rec, false), "key": "mx-newcase-" + uuid.NewString()}
			}, want: [6]string{ok, ok, nf, fb, fb, fb}},
		row{op: "me", record: "-", doc: `{ me { user { email } roles } }`, vars: noVars, want: [6]string{ok, ok, ok, ok, ok, ok}},
		row{op: "cases", record: "-", doc: `{ cases { totalCount } }`, vars: noVars, want: [6]string{ok, ok, ok, fb, ok, fb}},
		row{op: "complaints", record: "-", doc: `{ complaints { totalCount } }`, vars: noVars, want: [6]string{ok, ok, ok, ok, ok, fb}},
		row{op: "complaintStatus", record: "-", doc: `{ complaintStatus(trackingCode: "AAAA") { status } }`, vars: noVars, want: [6]string{ok, ok, ok, ok, ok, ok}},
		row{op: "violationTypes", record: "-", doc: `{ violationTypes { code } }`, vars: noVars, want: [6]string{ok, ok, ok, ok, ok, ok}},
		row{op: "violationCategories", record: "-", doc: `{ violationCategories { code } }`, vars: noVars, want: [6]string{ok, ok, ok, ok, ok, ok}},
		row{op: "departments", record: "-", doc: `{ departments { code } }`, vars: noVars, want: [6]string{ok, ok, ok, ok, ok, ok}},
		row{op: "institutions", record: "-", doc: `{ institutions { code } }`, vars: noVars, want: [6]string{ok, ok, ok, ok, ok, ok}},
		row{op: "entryPoints", record: "-", doc: `{ entryPoints { code } }`, vars: noVars, want: [6]string{ok, ok, ok, ok, ok, ok}},
		row{op: "identityReveals", record: "-", doc: `{ identityReveals { id } }`, vars: noVars, want: [6]string{fb, ok, fb, fb, fb, fb}},
		row{op: "searchChildren", record: "-", doc: `{ searchChildren(input: {givenName: "María José", familyName: "López Pérez", ageYears: 12}) { caseId } }`,
			vars: noVars, want: [6]string{ok, ok, ok, fb, fb, fb}},
		row{op: "auditEvents", record: "-", doc: `{ auditEvents(first: 5) { totalCount edges { node { id action } } } }`, vars: noVars, want: [6]string{fb, ok, fb, fb, ok, fb}},
		row{op: "auditProof", record: "-", doc: `{ auditProof(eventId: "999999999") { leafIndex } }`, vars: noVars, want: [6]string{fb, nf, fb, fb, nf, fb}},
		row{op: "users", record: "-", doc: `{ users { id } }`, vars: noVars, want: [6]string{fb, fb, fb, fb, fb, ok}},
		// Figures: oversight over every institution, supervisors over their own, nobody else.
		row{op: "statistics", record: "-", doc: `{ statistics(input: {measure: "CASES", rows: ["DEPARTMENT"], columns: ["SEX"]}) { total suppressedCells } }`,
			vars: noVars, want: [6]string{fb, ok, fb, fb, ok, fb}},
		row{op: "indicatorReport", record: "-", doc: `{ indicatorReport(from: "2026-01-01") { indicators { name table { total } } } }`,
			vars: noVars, want: [6]string{fb, ok, fb, fb, ok, fb}},
		row{op: "exportStatistics", record: "-", doc: `mutation { exportStatistics(input: {statistics: {measure: "COMPLAINTS", rows: ["STATUS"]}, format: "XLSX"}) { rows sha256 } }`,
			vars: noVars, want: [6]string{fb, ok, fb, fb, ok, fb}},
		row{op: "exportIndicatorReport", record: "-", doc: `mutation { exportIndicatorReport(input: {format: "CSV"}) { rows } }`,
			vars: noVars, want: [6]string{fb, ok, fb, fb, ok, fb}},
		row{op: "exportCases", record: "-", doc: `mutation { exportCases(input: {format: "CSV"}) { rows url } }`,
			vars: noVars, want: [6]string{fb, ok, fb, fb, ok, fb}},
		// identities in an export: only whoever may read them (supervisors), never oversight
		row{op: "exportCases", record: "-", doc: `mutation { exportCases(input: {format: "CSV", includeIdentity: true}) { rows } }`,
			vars: noVars, want: [6]string{fb, ok, fb, fb, fb, fb}},
		row{op: "fileCase", record: "-", doc: fileCaseMutation,
			vars: func(*fixtures, string) map[string]any {
				return map[string]any{"input": fileCaseInput("mx-file-" + uuid.NewString())}
			}, want: [6]string{ok, ok, ok, fb, fb, fb}},
		row{op: "submitComplaint", record: "-", doc: submitComplaintMutation,
			vars: func(*fixtures, string) map[string]any {
				return map[string]any{"input": complaintInput("mx-submit-" + uuid.NewString())}
			}, want: [6]string{ok, ok, ok, ok, fb, fb}},
		row{op: "createUser", record: "-", doc: `mutation($e: String!) { createUser(input: {email: $e, name: "Nueva", institutionCode: "PGN", subject: $e}) { user { id } } }`,
			vars: func(*fixtures, string) map[string]any {
				return map[string]any{"e": uuid.NewString() + "@new.demo"}
			}, want: [6]string{fb, fb, fb, fb, fb, ok}},
		row{op: "grantRole", record: "-", doc: `mutation($id: ID!) { grantRole(input: {userId: $id, role: "officer"}) { user { roles } } }`,
			vars: func(f *fixtures, _ string) map[string]any {
				return map[string]any{"id": newAccount(f.app.t, f.app, "PGN")}
			}, want: [6]string{fb, fb, fb, fb, fb, ok}},
		// A grant admin@amparo.demo asked for: nobody approves it, its own
		// asker included; one another admin asked for: admin@amparo.demo
		// approves it.
		row{op: "approveRoleGrant", record: "-", doc: approveMutation,
			vars: func(f *fixtures, _ string) map[string]any {
				return requestedGrant(f, f.app.token("admin@amparo.demo"))
			}, want: [6]string{fb, fb, fb, fb, fb, fb}},
		row{op: "approveRoleGrant", record: "-", doc: approveMutation,
			vars: func(f *fixtures, _ string) map[string]any {
				return requestedGrant(f, secondAdmin(f.app.t, f.app))
			}, want: [6]string{fb, fb, fb, fb, fb, ok}},
		row{op: "revokeRole", record: "-", doc: `mutation($id: ID!) { revokeRole(input: {userId: $id, role: "officer"}) { user { roles } } }`,
			vars: func(f *fixtures, _ string) map[string]any {
				return map[string]any{"id": newAccount(f.app.t, f.app, "PGN")}
			}, want: [6]string{fb, fb, fb, fb, fb, ok}},
		row{op: "alerts", record: "-", doc: `{ alerts(unreadOnly: true) { totalCount edges { node { id kind } } } }`, vars: noVars,
			want: [6]string{ok, ok, ok, fb, fb, fb}},
		row{op: "markAlertsRead", record: "officer@pgn.demo", doc: markAlertsReadMutation, vars: alertVars, want: [6]string{ok, nf, nf, fb, fb, fb}},
		row{op: "markAlertsRead", record: "supervisor@pgn.demo", doc: markAlertsReadMutation, vars: alertVars, want: [6]string{nf, ok, nf, fb, fb, fb}},
		row{op: "disableUser", record: "-", doc: `mutation($id: ID!) { disableUser(userId: $id) { user { disabledAt } } }`,
			vars: func(f *fixtures, _ string) map[string]any {
				return map[string]any{"id": newAccount(f.app.t, f.app, "PGN")}
			}, want: [6]string{fb, fb, fb, fb, fb, ok}},
	)
	rows = append(rows, nodeRows(rows, caseRead, identity)...)
	return rows
}

// nodeQuery reads a record by its global id.
const nodeQuery = `query($id: ID!) { node(id: $id) { nodeId __typename } }`

// globalID is the nodeId of the record of type typ named by ids (the
// format graph/node.go documents).
func globalID(typ string, ids ...string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(strings.Join(append([]string{typ}, ids...), ":")))
}

// caseWriters are a demo user of the owning institution of each case record.
var caseWriters = map[string]string{"own": "officer@pgn.demo", "institution": "supervisor@pgn.demo",
	"other": "officer@sbs.demo", "referred": "officer@sbs.demo"}

// nodeRows read every record type through Query.node. The answer is the
// one of the record's own query (the rows of case, complaint, referral and
// users, copied) or, for a case's own records, of reading its case: node
// is no way around a refusal.
func nodeRows(rows []row, caseRead, identity map[string][6]string) []row {
	var out []row
	for _, r := range rows {
		typ := map[string]string{"case": "Case", "complaint": "Complaint", "referral": "Referral"}[r.op]
		if typ == "" {
			continue
		}
		vars, rec := r.vars, r.record
		out = append(out, row{op: "node", record: typ + "/" + rec, doc: nodeQuery, want: r.want,
			vars: func(f *fixtures, _ string) map[string]any {
				return map[string]any{"id": globalID(typ, vars(f, rec)["id"].(string))}
			}})
		if typ == "Case" {
			out = append(out, row{op: "node", record: "Child/" + rec, doc: nodeQuery, want: r.want,
				vars: func(f *fixtures, _ string) map[string]any {
					return map[string]any{"id": globalID("Child", vars(f, rec)["id"].(string))}
				}})
		}
	}
	for _, rec := range caseRecords {
		out = append(out,
			row{op: "node", record: "Evidence/" + rec, doc: nodeQuery, want: caseRead[rec],
				vars: func(f *fixtures, _ string) map[string]any {
					return map[string]any{"id": globalID("Evidence", f.cases[rec], f.evidence[rec])}
				}},
			row{op: "node", record: "CaseNote/" + rec, doc: nodeQuery, want: caseRead[rec],
				vars: func(f *fixtures, _ string) map[string]any {
					var out struct {
						AddCaseNote struct{ Note struct{ ID string } }
					}
					f.app.do(f.app.token(caseWriters[rec]), `mutation($id: ID!) { addCaseNote(input: {caseId: $id, text: "entrevista"}) { note { id } } }`,
						map[string]any{"id": f.cases[rec]}).decode(f.app.t, &out)
					return map[string]any{"id": globalID("CaseNote", f.cases[rec], out.AddCaseNote.Note.ID)}
				}},
			row{op: "node", record: "IdentityReveal/" + rec, doc: nodeQuery, want: identity[rec],
				vars: func(f *fixtures, _ string) map[string]any {
					f.app.do(f.app.token("oversight@pdh.demo"), `mutation($id: ID!) { revealIdentity(input: {caseId: $id, justification: "Revisión de oficio por queja recibida en la PDH"}) { givenName } }`,
						map[string]any{"id": f.cases[rec]}).decode(f.app.t, &struct{}{})
					var id string
					if err := f.app.db.App.Get(&id, `SELECT id FROM identity_reveals WHERE case_id = $1 ORDER BY revealed_at DESC LIMIT 1`, f.cases[rec]); err != nil {
						f.app.t.Fatal(err)
					}
					return map[string]any{"id": globalID("IdentityReveal", f.cases[rec], id)}
				}})
	}
	return append(out,
		row{op: "node", record: "Account", doc: nodeQuery, want: [6]string{fb, fb, fb, fb, fb, ok},
			vars: func(f *fixtures, _ string) map[string]any {
				return map[string]any{"id": globalID("Account", newAccount(f.app.t, f.app, "PGN"))}
			}},
		// A case that never existed answers as another institution's does.
		row{op: "node", record: "Case/none", doc: nodeQuery, want: [6]string{nf, nf, nf, fb, nf, fb},
			vars: func(*fixtures, string) map[string]any {
				return map[string]any{"id": globalID("Case", uuid.NewString())}
			}},
		// An alert only to its recipient; another's as one never raised.
		row{op: "node", record: "Alert/officer@pgn.demo", doc: nodeQuery, want: [6]string{ok, nf, nf, fb, fb, fb},
			vars: func(f *fixtures, _ string) map[string]any {
				return map[string]any{"id": globalID("Alert", alertVars(f, "officer@pgn.demo")["id"].(string))}
			}},
		row{op: "node", record: "Alert/supervisor@pgn.demo", doc: nodeQuery, want: [6]string{nf, ok, nf, fb, fb, fb},
			vars: func(f *fixtures, _ string) map[string]any {
				return map[string]any{"id": globalID("Alert", alertVars(f, "supervisor@pgn.demo")["id"].(string))}
			}},
		row{op: "node", record: "Alert/none", doc: nodeQuery, want: [6]string{nf, nf, nf, fb, fb, fb},
			vars: func(*fixtures, string) map[string]any {
				return map[string]any{"id": globalID("Alert", uuid.NewString())}
			}},
		// An audit event as auditEvents lists it: oversight every one, a
		// supervisor those of their institution's staff.
		row{op: "node", record: "AuditEvent/PGN", doc: nodeQuery, want: [6]string{fb, ok, fb, fb, ok, fb},
			vars: func(f *fixtures, _ string) map[string]any { return auditEventVars(f, "PGN") }},
		row{op: "node", record: "AuditEvent/SBS", doc: nodeQuery, want: [6]string{fb, nf, fb, fb, ok, fb},
			vars: func(f *fixtures, _ string) map[string]any { return auditEventVars(f, "SBS") }},
		row{op: "node", record: "AuditEvent/none", doc: nodeQuery, want: [6]string{fb, nf, fb, fb, nf, fb},
			vars: func(*fixtures, string) map[string]any {
				return map[string]any{"id": globalID("AuditEvent", "999999999")}
			}},
		// An erasure only to the supervisors who may erase its case's
		// identity: one of a case they read by a referral is NOT_FOUND too.
		row{op: "node", record: "IdentityErasure/own", doc: nodeQuery, want: [6]string{fb, ok, fb, fb, fb, fb}, vars: erasureVars("own")},
		row{op: "node", record: "IdentityErasure/other", doc: nodeQuery, want: [6]string{fb, nf, fb, fb, fb, fb}, vars: erasureVars("other")},
		row{op: "node", record: "IdentityErasure/referred", doc: nodeQuery, want: [6]string{fb, nf, fb, fb, fb, fb}, vars: erasureVars("referred")},
		row{op: "node", record: "IdentityErasure/none", doc: nodeQuery, want: [6]string{fb, nf, fb, fb, fb, fb},
			vars: func(*fixtures, string) map[string]any {
				return map[string]any{"id": globalID("IdentityErasure", uuid.NewString())}
			}},
	)
}

// auditEventVars names the newest audit event of the staff of institution.
func auditEventVars(f *fixtures, institution string) map[string]any {
	var id int64
	if err := f.app.db.App.Get(&id, `SELECT max(id) FROM audit.events WHERE actor_institution = $1`, institution); err != nil {
		f.app.t.Fatal(err)
	}
	return map[string]any{"id": globalID("AuditEvent", fmt.Sprint(id))}
}

// erasureVars names a pending erasure of a fresh case of record rec.
func erasureVars(rec string) func(*fixtures, string) map[string]any {
	return func(f *fixtures, _ string) map[string]any {
		return map[string]any{"id": globalID("IdentityErasure", pendingErasure(f, f.freshCase(rec)))}
	}
}

// pendingErasure writes (as the schema owner) a pending erasure of case
// caseID, asked for by a new account of PGN, and returns its id.
func pendingErasure(f *fixtures, caseID string) string {
	id := uuid.NewString()
	if _, err := f.app.db.Owner(f.app.t).Exec(`INSERT INTO identity_erasures (id, case_id, ground, requested_by, requested_at)
		VALUES ($1, $2, 'COURT_ORDER', $3, now())`, id, caseID, newAccount(f.app.t, f.app, "PGN")); err != nil {
		f.app.t.Fatal(err)
	}
	return id
}

// TestAuthorizationMatrix runs every operation of the schema, for every
// role, over records of every relation to the caller, through the real
// handler. Its table is the specification of who may do what to which
// record: an operation added to the schema without rows here fails.
func TestAuthorizationMatrix(t *testing.T) {
	app := newTestApp(t)
	f := newFixtures(t, app)
	rows := matrix()

	t.Run("EveryOperationHasRows", func(t *testing.T) {
		var out struct {
			Schema struct {
				QueryType, MutationType struct{ Fields []struct{ Name string } }
			} `json:"__schema"`
		}
		app.do("", `{ __schema { queryType { fields { name } } mutationType { fields { name } } } }`, nil).decode(t, &out)
		covered := map[string]bool{}
		for _, r := range rows {
			covered[r.op] = true
		}
		for _, fld := range append(out.Schema.QueryType.Fields, out.Schema.MutationType.Fields...) {
			if !covered[fld.Name] {
				t.Errorf("operation %s has no rows in the authorization matrix", fld.Name)
			}
		}
	})

	for _, r := range rows {
		for i, email := range matrixUsers {
			t.Run(fmt.Sprintf("%s/%s/%s", r.op, r.record, email), func(t *testing.T) {
				tok := app.token(email)
				vars := r.vars(f, r.record)
				var res *gqlResponse
				if r.doc == "upload" {
					res = app.upload(tok, uploadMutation, map[string]any{"caseId": vars["id"]}, "nota.txt", strings.NewReader("constancia de entrevista"))
				} else {
					res = app.do(tok, r.doc, vars)
				}
				got := ok
				if len(res.Errors) > 0 {
					got = strings.Join(slices.Compact(res.codes()), ",")
				}
				if got != r.want[i] {
					t.Errorf("got %s, want %s (%+v)", got, r.want[i], res.Errors)
				}
				if got == fb || got == nf {
					// Every refusal, by role or by scope, leaves exactly one
					// event in the trail, written by the refused request.
					var n int
					if err := app.db.App.Get(&n, `SELECT count(*) FROM audit.events WHERE request_id = $1 AND outcome = 'DENIED'`,
						res.Errors[0].Extensions.RequestID); err != nil {
						t.Fatal(err)
					}
					if n != 1 {
						t.Errorf("refusal %s left %d DENIED events, want 1", got, n)
					}
				}
			})
		}
	}

	t.Run("ListsShowOnlyScope", func(t *testing.T) {
		want := map[string][]string{
			"officer@pgn.demo":    {"own", "queue", "referred"},
			"supervisor@pgn.demo": {"institution", "own", "queue", "referred"},
			"officer@sbs.demo":    {"other", "referred"},
			"oversight@pdh.demo":  {"institution", "other", "own", "queue", "referred"},
		}
		for email, labels := range want {
			// Every page: the rows above filed many more cases.
			var got []string
			for after := ""; ; {
				var out struct {
					Cases struct {
						Edges    []struct{ Node struct{ ID string } }
						PageInfo struct {
							HasNextPage bool
							EndCursor   string
						}
					}
				}
				app.do(app.token(email), `query($after: String) { cases(first: 100, after: $after) { edges { node { id } } pageInfo { hasNextPage endCursor } } }`,
					map[string]any{"after": after}).decode(t, &out)
				for _, e := range out.Cases.Edges {
					for label, id := range f.cases {
						if id == e.Node.ID {
							got = append(got, label)
						}
					}
				}
				if !out.Cases.PageInfo.HasNextPage {
					break
				}
				after = out.Cases.PageInfo.EndCursor
			}
			slices.Sort(got)
			if !slices.Equal(got, labels) {
				t.Errorf("%s sees %v, want %v", email, got, labels)
			}
		}
	})
}
