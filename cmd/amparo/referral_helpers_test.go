package main

import (
	"github.com/google/uuid"
)

const referCaseMutation = `mutation($in: ReferCaseInput!) { referCase(input: $in) { referral { id status dueAt createdAt } } }`

// referInput is a referral of caseID to institution to, for shelter, with
// the caregiver's consent; tweak adjusts it.
func referInput(caseID, to string, share bool, tweak ...func(map[string]any)) map[string]any {
	in := map[string]any{
		"caseId": caseID, "toInstitution": to, "services": []string{"SHELTER", "PSYCHOSOCIAL"},
		"reason":        "Necesita albergue temporal mientras se localiza a su familia.",
		"shareIdentity": share,
		"consent":       map[string]any{"given": true, "by": "CAREGIVER"},
	}
	for _, f := range tweak {
		f(in)
	}
	return in
}

// refer refers a case as email and returns the referral's id.
func (a *testApp) refer(email string, in map[string]any) string {
	a.t.Helper()
	var out struct {
		ReferCase struct{ Referral struct{ ID string } }
	}
	a.do(a.token(email), referCaseMutation, map[string]any{"in": in}).decode(a.t, &out)
	return out.ReferCase.Referral.ID
}

const respondMutation = `mutation($id: ID!, $accept: Boolean!, $reason: String) {
  respondToReferral(input: {referralId: $id, accept: $accept, reason: $reason}) { referral { id status } } }`

// respond answers a referral as email.
func (a *testApp) respond(email, id string, accept bool) {
	a.t.Helper()
	var out struct {
		RespondToReferral struct{ Referral struct{ Status string } }
	}
	a.do(a.token(email), respondMutation, map[string]any{"id": id, "accept": accept, "reason": "sin cupo en el albergue"}).decode(a.t, &out)
}

// freshReferral makes a new referral in state, for rows whose operation
// changes it: "pending" and "accepted" are PGN cases of officer@pgn.demo
// referred to SBS; "third" is an SBS case referred to IGM (pending), of
// which PGN is a third institution. It returns the referral's and the
// case's ids.
func (f *fixtures) freshReferral(state string) (string, string) {
	app := f.app
	key := "mx-rf-" + uuid.NewString()
	if state == "third" {
		c := app.fileCase("officer@sbs.demo", key)
		return app.refer("officer@sbs.demo", referInput(c, "IGM", false)), c
	}
	c := app.fileCase("officer@pgn.demo", key)
	id := app.refer("officer@pgn.demo", referInput(c, "SBS", false))
	switch state {
	case "accepted":
		app.respond("officer@sbs.demo", id, true)
	case "declined":
		app.respond("officer@sbs.demo", id, false)
	case "withdrawn":
		app.do(app.token("officer@pgn.demo"), withdrawMutation, map[string]any{"id": id}).decode(app.t, &struct{}{})
	case "completed":
		app.respond("officer@sbs.demo", id, true)
		app.do(app.token("officer@sbs.demo"), completeMutation, map[string]any{"id": id}).decode(app.t, &struct{}{})
	}
	return id, c
}

const (
	withdrawMutation = `mutation($id: ID!) { withdrawReferral(input: {referralId: $id, reason: "la familia fue localizada"}) { referral { id status } } }`
	completeMutation = `mutation($id: ID!) { completeReferral(input: {referralId: $id, servicesDelivered: ["SHELTER"]}) { referral { id status } } }`
)

// Referral records of the matrix, by the relation of the PGN and SBS
// users to them: pending (PGN sends, SBS before acceptance), accepted (SBS
// after acceptance), third (SBS to IGM: PGN is a third institution).
var referralRecords = []string{"pending", "accepted", "third"}

// referralStates are the states a referred case's read is checked in.
var referralStates = []string{"pending", "accepted", "declined", "withdrawn", "completed", "third"}

// perReferral expands one operation over the referral records; fresh
// makes a new referral for each user (the operation changes it).
func perReferral(op, doc string, fresh bool, want map[string][6]string) []row {
	var out []row
	for _, rec := range referralRecords {
		vars := func(f *fixtures, rec string) map[string]any { return map[string]any{"id": f.referrals[rec]} }
		if fresh {
			vars = func(f *fixtures, rec string) map[string]any {
				id, _ := f.freshReferral(rec)
				return map[string]any{"id": id}
			}
		}
		out = append(out, row{op: op, record: rec, doc: doc, vars: vars, want: want[rec]})
	}
	return out
}

func referralRows() []row {
	const cf = "CONFLICT"
	//                         officer@pgn supervisor@pgn officer@sbs intake@igm oversight@pdh admin
	read := map[string][6]string{
		"pending":  {ok, ok, ok, fb, ok, fb},
		"accepted": {ok, ok, ok, fb, ok, fb},
		"third":    {nf, nf, ok, fb, ok, fb},
	}
	respond := map[string][6]string{ // the recipient answers; the sender sees it but may not
		"pending":  {fb, fb, ok, fb, fb, fb},
		"accepted": {fb, fb, cf, fb, fb, fb},
		"third":    {nf, nf, fb, fb, fb, fb},
	}
	withdraw := map[string][6]string{ // the sender withdraws while pending
		"pending":  {ok, ok, fb, fb, fb, fb},
		"accepted": {cf, cf, fb, fb, fb, fb},
		"third":    {nf, nf, ok, fb, fb, fb},
	}
	complete := map[string][6]string{ // the recipient completes once accepted
		"pending":  {fb, fb, cf, fb, fb, fb},
		"accepted": {fb, fb, ok, fb, fb, fb},
		"third":    {nf, nf, fb, fb, fb, fb},
	}
	// The referred case itself, read by each user in each state of its
	// referral: the recipient only while accepted, and read-only for a
	// while after completing it.
	caseRead := map[string][6]string{
		"pending":   {ok, ok, nf, fb, ok, fb},
		"accepted":  {ok, ok, ok, fb, ok, fb},
		"declined":  {ok, ok, nf, fb, ok, fb},
		"withdrawn": {ok, ok, nf, fb, ok, fb},
		"completed": {ok, ok, ok, fb, ok, fb},
		"third":     {nf, nf, ok, fb, ok, fb},
	}
	caseNote := map[string][6]string{
		"pending":   {ok, ok, nf, fb, fb, fb},
		"accepted":  {ok, ok, ok, fb, fb, fb},
		"declined":  {ok, ok, nf, fb, fb, fb},
		"withdrawn": {ok, ok, nf, fb, fb, fb},
		"completed": {ok, ok, nf, fb, fb, fb},
		"third":     {nf, nf, ok, fb, fb, fb},
	}
	var rows []row
	rows = append(rows, perReferral("referral", `query($id: ID!) { referral(id: $id) { id status urgency dueAt services ageBand sex violationCategories { code } } }`, false, read)...)
	rows = append(rows, perReferral("referralForm", `query($id: ID!) { referralForm(referralId: $id) { size sha256 } }`, false, read)...)
	rows = append(rows, perReferral("respondToReferral", `mutation($id: ID!) { respondToReferral(input: {referralId: $id, accept: true}) { referral { id } } }`, true, respond)...)
	rows = append(rows, perReferral("withdrawReferral", withdrawMutation, true, withdraw)...)
	rows = append(rows, perReferral("completeReferral", completeMutation, true, complete)...)
	for _, st := range referralStates {
		caseVars := func(f *fixtures, _ string) map[string]any { return map[string]any{"id": f.referredCases[st]} }
		rows = append(rows,
			row{op: "case", record: "referral-" + st, doc: `query($id: ID!) { case(id: $id) { id reference } }`, vars: caseVars, want: caseRead[st]},
			row{op: "addCaseNote", record: "referral-" + st, doc: `mutation($id: ID!) { addCaseNote(input: {caseId: $id, text: "seguimiento"}) { note { id } } }`, vars: caseVars, want: caseNote[st]})
	}
	rows = append(rows,
		row{op: "referCase", record: "-", doc: referCaseMutation, vars: func(f *fixtures, _ string) map[string]any {
			c := f.app.fileCase("officer@pgn.demo", "mx-refer-"+uuid.NewString())
			return map[string]any{"in": referInput(c, "SBS", true)}
		}, want: [6]string{ok, ok, nf, fb, fb, fb}},
		row{op: "referCase", record: "transfer", doc: referCaseMutation, vars: func(f *fixtures, _ string) map[string]any {
			c := f.app.fileCase("officer@pgn.demo", "mx-transfer-"+uuid.NewString())
			return map[string]any{"in": referInput(c, "SBS", false, func(in map[string]any) { in["kind"] = "TRANSFER" })}
		}, want: [6]string{fb, ok, fb, fb, fb, fb}},
		row{op: "referrals", record: "-", doc: `{ referrals(filter: {direction: "INCOMING"}) { totalCount edges { node { id } } } }`, vars: noVars, want: [6]string{ok, ok, ok, fb, ok, fb}},
		row{op: "referralServices", record: "-", doc: `{ referralServices { code label } }`, vars: noVars, want: [6]string{ok, ok, ok, ok, ok, ok}},
	)
	return rows
}
