package main

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"amparo/internal/blob"
)

// lifeCase is what the lifecycle tests read of a case.
type lifeCase struct {
	ID, Reference, Status string
	Version               int
	DueAt                 *string
	Overdue               bool
	ClosureReason         *string
	Assignee              *struct{ Email string }
	Timeline              []struct {
		Kind, Summary string
		Actor         *struct{ Email string }
	}
}

const lifeCaseFields = `id reference status version dueAt overdue closureReason assignee { email }
  timeline { kind summary actor { email } }`

// lifeComplaint is what they read of a complaint.
type lifeComplaint struct {
	ID, Status    string
	Version       int
	DueAt         *string
	RoutedTo      []struct{ Code string }
	CaseReference *string
	Case          *struct{ ID string }
}

const lifeComplaintFields = `id status version dueAt routedTo { code } caseReference case { id }`

func routed(c lifeComplaint) []string {
	var out []string
	for _, r := range c.RoutedTo {
		out = append(out, r.Code)
	}
	return out
}

// transition moves a case as email and returns it, failing the test on an
// error.
func (a *testApp) transition(email, id, to string, version int, extra string) lifeCase {
	a.t.Helper()
	var out struct{ TransitionCase struct{ Case lifeCase } }
	a.do(a.token(email), fmt.Sprintf(`mutation($id: ID!, $to: String!, $v: Int!) {
	  transitionCase(input: {caseId: $id, to: $to, expectedVersion: $v %s}) { case { %s } } }`, extra, lifeCaseFields),
		map[string]any{"id": id, "to": to, "v": version}).decode(a.t, &out)
	return out.TransitionCase.Case
}

func (a *testApp) getCase(email, id string) lifeCase {
	a.t.Helper()
	var out struct{ Case lifeCase }
	a.do(a.token(email), `query($id: ID!) { case(id: $id) { `+lifeCaseFields+` } }`, map[string]any{"id": id}).decode(a.t, &out)
	return out.Case
}

func (a *testApp) complaintStatus(code, lang string) (status, label string) {
	a.t.Helper()
	var out struct {
		ComplaintStatus struct{ Status, Label string }
	}
	a.do("", `query($c: String!) { complaintStatus(trackingCode: $c) { status label } }`, map[string]any{"c": code},
		"Accept-Language", lang).decode(a.t, &out)
	return out.ComplaintStatus.Status, out.ComplaintStatus.Label
}

// legalHold reads from MinIO whether an evidence object is under legal
// hold, and that its retention is still there.
func (a *testApp) legalHold(evidenceID string) bool {
	a.t.Helper()
	var obj struct {
		Key     string `db:"object_key"`
		Version string `db:"version_id"`
	}
	if err := a.db.App.Get(&obj, `SELECT object_key, version_id FROM evidence WHERE id = $1`, evidenceID); err != nil {
		a.t.Fatal(err)
	}
	ls, err := a.blobs.Inspect(context.Background(), obj.Key, obj.Version)
	if err != nil {
		a.t.Fatal(err)
	}
	if ls.Mode != "GOVERNANCE" || ls.RetainUntil.Before(time.Now().AddDate(9, 0, 0)) {
		a.t.Fatalf("retention of evidence %s is %q until %s: it must stay whatever the hold", evidenceID, ls.Mode, ls.RetainUntil)
	}
	return ls.LegalHold
}

// TestComplaintToClosedCase is the walk-through of issue 11: intake at an
// IGM post submits a trafficking complaint; PGN, to which the rules route
// it, acknowledges, triages and links it to a new case; the PGN supervisor
// assigns the case; the officer moves it through every step and asks for
// closure; the supervisor approves; the evidence's legal hold is off and
// the complainant's tracking code reads "Cerrada".
func TestComplaintToClosedCase(t *testing.T) {
	app := newTestApp(t)
	intake, officer, supervisor := "intake@igm.demo", "officer@pgn.demo", "supervisor@pgn.demo"

	in := complaintInput("walk-through-1")
	in["violations"] = []any{"TRAFFICKING"}
	in["perpetratorTypes"] = []any{"SMUGGLER_TRAFFICKER"}
	in["children"] = []any{map[string]any{"givenName": "Ana", "familyName": "Secreto", "ageYears": 15, "sex": "FEMALE",
		"nationality": "SLV", "populationStatus": "MIGRANT_TRANSIT", "careStatus": "WITH_FAMILY"}}
	var sub struct {
		SubmitComplaint struct {
			TrackingCode string
			Complaint    lifeComplaint
		}
	}
	app.do(app.token(intake), `mutation($in: SubmitComplaintInput!) { submitComplaint(input: $in) { trackingCode complaint { `+
		lifeComplaintFields+` } } }`, map[string]any{"in": in}).decode(t, &sub)
	k, code := sub.SubmitComplaint.Complaint, sub.SubmitComplaint.TrackingCode
	if got := routed(k); !slices.Equal(got, []string{"MP", "PGN"}) || k.Status != "RECEIVED" || k.DueAt == nil {
		t.Fatalf("submitted: routed to %v, %+v", got, k)
	}
	if st, label := app.complaintStatus(code, "es"); st != "RECEIVED" || label != "Recibida" {
		t.Fatalf("tracking code: %s %q", st, label)
	}
	overdueComplaints := func() int {
		var out struct{ Complaints struct{ TotalCount int } }
		app.do(app.token(officer), `{ complaints(filter: {overdue: true}) { totalCount } }`, nil).decode(t, &out)
		return out.Complaints.TotalCount
	}
	if n := overdueComplaints(); n != 0 {
		t.Fatalf("%d overdue complaints just after submission", n)
	}
	if _, err := app.db.Owner(t).Exec(`UPDATE complaints SET due_at = now() - interval '1 minute' WHERE id = $1`, k.ID); err != nil {
		t.Fatal(err)
	}
	if n := overdueComplaints(); n != 1 {
		t.Fatalf("%d overdue complaints once unacknowledged past 24 hours, want 1", n)
	}

	t.Run("RoutedToPGNNotToSBS", func(t *testing.T) {
		var list struct {
			Complaints struct {
				Edges []struct{ Node struct{ ID string } }
			}
		}
		app.do(app.token(officer), `{ complaints(first: 100) { edges { node { id } } } }`, nil).decode(t, &list)
		if !slices.ContainsFunc(list.Complaints.Edges, func(e struct{ Node struct{ ID string } }) bool { return e.Node.ID == k.ID }) {
			t.Error("the complaint is not in PGN's queue")
		}
		res := app.do(app.token("officer@sbs.demo"), `query($id: ID!) { complaint(id: $id) { id } }`, map[string]any{"id": k.ID})
		if !slices.Equal(res.codes(), []string{"NOT_FOUND"}) {
			t.Errorf("SBS, not routed: %v", res.codes())
		}
		// The complainant's contact is for the receiving institution only,
		// and every read of it is audited.
		var c struct {
			Complaint struct{ Complainant struct{ Contact string } }
		}
		app.do(app.token(officer), `query($id: ID!) { complaint(id: $id) { complainant { contact } } }`, map[string]any{"id": k.ID}).decode(t, &c)
		if c.Complaint.Complainant.Contact != "+502 5555 0000" {
			t.Errorf("contact = %q", c.Complaint.Complainant.Contact)
		}
		res = app.do(app.token(intake), `query($id: ID!) { complaint(id: $id) { id complainant { contact } } }`, map[string]any{"id": k.ID})
		if !slices.Equal(res.codes(), []string{"FORBIDDEN"}) {
			t.Errorf("intake reading the contact: %v", res.codes())
		}
		if n := countRows(t, app.db.App, `SELECT count(*) FROM audit.events WHERE action = 'complaint:contact' AND object_id = $1 AND outcome = 'SUCCESS'`, k.ID); n != 1 {
			t.Errorf("%d audited contact reads, want 1", n)
		}
	})

	complaintStep := func(email, mutation, args string, v int) lifeComplaint {
		t.Helper()
		var out map[string]struct{ Complaint lifeComplaint }
		app.do(app.token(email), fmt.Sprintf(`mutation($id: ID!, $v: Int!) { %s(input: {complaintId: $id, expectedVersion: $v %s}) { complaint { %s } } }`,
			mutation, args, lifeComplaintFields), map[string]any{"id": k.ID, "v": v}).decode(t, &out)
		return out[mutation].Complaint
	}
	k = complaintStep(officer, "acknowledgeComplaint", "", 1)
	if k.Status != "ACKNOWLEDGED" || k.Version != 2 {
		t.Fatalf("acknowledged: %+v", k)
	}
	if n := overdueComplaints(); n != 0 {
		t.Fatalf("still overdue once acknowledged: %d", n)
	}
	if st, label := app.complaintStatus(code, "en"); st != "ACKNOWLEDGED" || label != "Under review" {
		t.Fatalf("tracking code: %s %q", st, label)
	}
	res := app.do(app.token(officer), `mutation($id: ID!) { acknowledgeComplaint(input: {complaintId: $id, expectedVersion: 1}) { complaint { id } } }`,
		map[string]any{"id": k.ID})
	if !slices.Equal(res.codes(), []string{"CONFLICT"}) {
		t.Fatalf("stale acknowledgement: %v", res.codes())
	}
	k = complaintStep(officer, "triageComplaint", `, urgency: HIGH, violations: ["TRAFFICKING", "SEXUAL_EXPLOITATION"], routedTo: ["PGN", "MP"]`, 2)
	if k.Status != "TRIAGED" || !slices.Equal(routed(k), []string{"MP", "PGN"}) {
		t.Fatalf("triaged: %+v", k)
	}

	newCase := fileCaseInput("walk-through-case")
	var linked struct {
		LinkComplaintToCase struct{ Complaint lifeComplaint }
	}
	app.do(app.token(officer), `mutation($id: ID!, $nc: FileCaseInput!) { linkComplaintToCase(input: {complaintId: $id, newCase: $nc}) {
	  complaint { `+lifeComplaintFields+` } } }`, map[string]any{"id": k.ID, "nc": newCase}).decode(t, &linked)
	k = linked.LinkComplaintToCase.Complaint
	if k.Status != "LINKED" || k.Case == nil || k.CaseReference == nil || !strings.HasPrefix(*k.CaseReference, "PGN-") || k.DueAt != nil {
		t.Fatalf("linked: %+v", k)
	}
	caseID := k.Case.ID

	t.Run("IntakeFollowsWithoutTheCase", func(t *testing.T) {
		var out struct{ Complaint lifeComplaint }
		app.do(app.token(intake), `query($id: ID!) { complaint(id: $id) { `+lifeComplaintFields+` } }`, map[string]any{"id": k.ID}).decode(t, &out)
		c := out.Complaint
		if c.Status != "LINKED" || c.CaseReference == nil || *c.CaseReference != *k.CaseReference || c.Case != nil || len(c.RoutedTo) != 2 {
			t.Errorf("intake sees %+v", c)
		}
	})

	// The new case waits, unassigned, in PGN's queue.
	c := app.getCase(supervisor, caseID)
	if c.Status != "REGISTERED" || c.Assignee != nil || c.Version != 1 {
		t.Fatalf("new case: %+v", c)
	}
	var queue struct {
		Cases struct {
			Edges []struct{ Node struct{ ID string } }
		}
	}
	app.do(app.token(supervisor), `{ cases(filter: {unassigned: true}) { edges { node { id } } } }`, nil).decode(t, &queue)
	if len(queue.Cases.Edges) != 1 || queue.Cases.Edges[0].Node.ID != caseID {
		t.Fatalf("queue: %+v", queue)
	}

	var assigned struct{ AssignCase struct{ Case lifeCase } }
	app.do(app.token(supervisor), `mutation($id: ID!) { assignCase(input: {caseId: $id, assigneeEmail: "officer@pgn.demo", expectedVersion: 1}) {
	  case { `+lifeCaseFields+` } } }`, map[string]any{"id": caseID}).decode(t, &assigned)
	c = assigned.AssignCase.Case
	if c.Assignee == nil || c.Assignee.Email != officer || c.Version != 2 {
		t.Fatalf("assigned: %+v", c)
	}
	app.do(app.token(officer), `{ cases(filter: {assignedToMe: true}) { edges { node { id } } } }`, nil).decode(t, &queue)
	if len(queue.Cases.Edges) != 1 || queue.Cases.Edges[0].Node.ID != caseID {
		t.Fatalf("assigned to me: %+v", queue)
	}

	var up struct {
		UploadEvidence struct{ Evidence struct{ ID string } }
	}
	app.upload(app.token(officer), uploadMutation, map[string]any{"caseId": caseID}, "acta.txt",
		strings.NewReader("acta de entrega a la PGN")).decode(t, &up)
	ev := up.UploadEvidence.Evidence.ID
	if !app.legalHold(ev) {
		t.Fatal("evidence of an open case is not under legal hold")
	}
	app.do(app.token(officer), `mutation($id: ID!) { addCaseNote(input: {caseId: $id, text: "Entrevista con Ana Secreto y su madre."}) { note { id } } }`,
		map[string]any{"id": caseID}).decode(t, &struct{}{})

	v := c.Version
	for _, to := range []string{"ASSESSMENT", "CASE_PLAN", "IMPLEMENTATION", "FOLLOW_UP"} {
		c = app.transition(officer, caseID, to, v, "")
		if c.Status != to || c.Version != v+1 || c.DueAt == nil || c.Overdue {
			t.Fatalf("moved to %s: %+v", to, c)
		}
		v = c.Version
	}
	c = app.transition(officer, caseID, "CLOSURE_REQUESTED", v, `, closureReason: "GOAL_MET"`)
	if c.ClosureReason == nil || *c.ClosureReason != "GOAL_MET" {
		t.Fatalf("closure requested: %+v", c)
	}
	v = c.Version
	res = app.do(app.token(officer), `mutation($id: ID!, $v: Int!) { transitionCase(input: {caseId: $id, to: "CLOSED", expectedVersion: $v}) { case { id } } }`,
		map[string]any{"id": caseID, "v": v})
	if !slices.Equal(res.codes(), []string{"FORBIDDEN"}) {
		t.Fatalf("the officer approving the closure: %v", res.codes())
	}
	c = app.transition(supervisor, caseID, "CLOSED", v, "")
	if c.Status != "CLOSED" || c.DueAt != nil || c.Overdue {
		t.Fatalf("closed: %+v", c)
	}
	if app.legalHold(ev) {
		t.Fatal("the evidence of a closed case is still under legal hold")
	}
	// What the officer sees through the API is what MinIO says.
	var verified struct {
		VerifyEvidence struct {
			Intact      bool
			LegalHold   bool
			RetainUntil *time.Time
		}
	}
	app.do(app.token(officer), `mutation($id: ID!) { verifyEvidence(evidenceId: $id) { intact legalHold retainUntil } }`,
		map[string]any{"id": ev}).decode(t, &verified)
	if vr := verified.VerifyEvidence; !vr.Intact || vr.LegalHold || vr.RetainUntil == nil || vr.RetainUntil.Before(time.Now().AddDate(9, 0, 0)) {
		t.Fatalf("verifyEvidence after closing: %+v", vr)
	}
	if st, label := app.complaintStatus(code, "es"); st != "CLOSED" || label != "Cerrada" {
		t.Fatalf("tracking code after closing: %s %q", st, label)
	}

	t.Run("TimelineWithoutIdentity", func(t *testing.T) {
		c := app.getCase(officer, caseID)
		var kinds []string
		for _, e := range c.Timeline {
			kinds = append(kinds, e.Kind)
			for _, secret := range []string{"María", "López", "Ana", "Secreto", "2014-03-09"} {
				if strings.Contains(e.Summary, secret) {
					t.Errorf("timeline entry %s shows %q: %q", e.Kind, secret, e.Summary)
				}
			}
			if e.Actor == nil {
				t.Errorf("timeline entry %s has no actor", e.Kind)
			}
		}
		want := []string{"STATUS_CHANGED", "ASSIGNED", "EVIDENCE_ADDED", "NOTE_ADDED", "STATUS_CHANGED", "STATUS_CHANGED",
			"STATUS_CHANGED", "STATUS_CHANGED", "STATUS_CHANGED", "STATUS_CHANGED"}
		if !slices.Equal(kinds, want) {
			t.Errorf("timeline %v, want %v", kinds, want)
		}
		if last := c.Timeline[len(c.Timeline)-1]; last.Actor.Email != supervisor || !strings.Contains(last.Summary, "Cerrado") {
			t.Errorf("last entry %+v", last)
		}
	})

	t.Run("ReopenSetsTheHoldAgain", func(t *testing.T) {
		c := app.getCase(supervisor, caseID)
		res := app.do(app.token(supervisor), `mutation($id: ID!, $v: Int!) { transitionCase(input: {caseId: $id, to: "ASSESSMENT", expectedVersion: $v}) { case { id } } }`,
			map[string]any{"id": caseID, "v": c.Version})
		if len(res.Errors) != 1 || res.Errors[0].Extensions.Field != "reason" {
			t.Fatalf("reopening without a reason: %+v", res.Errors)
		}
		c = app.transition(supervisor, caseID, "ASSESSMENT", c.Version, `, reason: "nueva denuncia de la familia"`)
		if c.Status != "ASSESSMENT" || c.DueAt == nil || c.ClosureReason != nil {
			t.Fatalf("reopened: %+v", c)
		}
		if !app.legalHold(ev) {
			t.Error("the evidence of a reopened case is not under legal hold")
		}
		if st, _ := app.complaintStatus(code, "es"); st != "LINKED" {
			t.Errorf("the complaint of a reopened case is %s", st)
		}
	})
}

// TestCaseWorkflowTable tries every (status, move, role): each move of the
// workflow as the assigned officer and as the supervisor (allowed, or
// FORBIDDEN for a supervisor's decision), and every other pair of
// statuses (BAD_USER_INPUT naming "to").
func TestCaseWorkflowTable(t *testing.T) {
	app := newTestApp(t)
	statuses := []string{"REGISTERED", "ASSESSMENT", "CASE_PLAN", "IMPLEMENTATION", "FOLLOW_UP", "CLOSURE_REQUESTED", "CLOSED"}
	supervisorOnly := map[[2]string]bool{
		{"CLOSURE_REQUESTED", "CLOSED"}: true, {"CLOSURE_REQUESTED", "FOLLOW_UP"}: true, {"CLOSED", "ASSESSMENT"}: true,
	}
	moves := map[[2]string]bool{
		{"REGISTERED", "ASSESSMENT"}: true, {"ASSESSMENT", "CASE_PLAN"}: true, {"CASE_PLAN", "IMPLEMENTATION"}: true,
		{"IMPLEMENTATION", "FOLLOW_UP"}: true, {"FOLLOW_UP", "IMPLEMENTATION"}: true,
		{"REGISTERED", "CLOSURE_REQUESTED"}: true, {"ASSESSMENT", "CLOSURE_REQUESTED"}: true, {"CASE_PLAN", "CLOSURE_REQUESTED"}: true,
		{"IMPLEMENTATION", "CLOSURE_REQUESTED"}: true, {"FOLLOW_UP", "CLOSURE_REQUESTED"}: true,
	}
	for m := range supervisorOnly {
		moves[m] = true
	}
	officer := userID(t, app, "officer@pgn.demo")
	// at puts a fresh case of the officer's at status, closure asked for by
	// the officer when the status says so.
	at := func(status string) string {
		id := app.fileCase("officer@pgn.demo", "wf-"+status+"-"+fmt.Sprint(time.Now().UnixNano()))
		if _, err := app.db.Owner(t).Exec(`UPDATE cases SET status = $2,
		  closure_reason = CASE WHEN $2 IN ('CLOSURE_REQUESTED', 'CLOSED') THEN 'GOAL_MET' END,
		  closure_requested_by = CASE WHEN $2 IN ('CLOSURE_REQUESTED', 'CLOSED') THEN $3::uuid END,
		  due_at = CASE WHEN $2 = 'CLOSED' THEN NULL ELSE due_at END WHERE id = $1`, id, status, officer); err != nil {
			t.Fatal(err)
		}
		return id
	}
	doc := `mutation($id: ID!, $to: String!) { transitionCase(input: {caseId: $id, to: $to, expectedVersion: 1,
	  closureReason: "GOAL_MET", reason: "según la evaluación"}) { case { status version } } }`
	for _, from := range statuses {
		for _, to := range statuses {
			for _, role := range []string{"officer@pgn.demo", "supervisor@pgn.demo"} {
				want := "ok"
				switch {
				case !moves[[2]string{from, to}]:
					want = "BAD_USER_INPUT"
				case supervisorOnly[[2]string{from, to}] && role == "officer@pgn.demo":
					want = "FORBIDDEN"
				}
				name := from + "/" + to + "/" + role
				if want == "ok" {
					name = "Allowed/" + name
				} else {
					name = "Err" + want + "/" + name
				}
				t.Run(name, func(t *testing.T) {
					id := at(from)
					res := app.do(app.token(role), doc, map[string]any{"id": id, "to": to})
					got := "ok"
					if len(res.Errors) > 0 {
						got = strings.Join(res.codes(), ",")
					}
					if got != want {
						t.Fatalf("got %s, want %s (%+v)", got, want, res.Errors)
					}
					var status string
					var version int
					if err := app.db.App.QueryRow(`SELECT status, version FROM cases WHERE id = $1`, id).Scan(&status, &version); err != nil {
						t.Fatal(err)
					}
					if want == "ok" && (status != to || version != 2) || want != "ok" && (status != from || version != 1) {
						t.Errorf("case is %s at version %d", status, version)
					}
					if want == "BAD_USER_INPUT" && res.Errors[0].Extensions.Field != "to" {
						t.Errorf("field %q, want to", res.Errors[0].Extensions.Field)
					}
				})
			}
		}
	}
}

// TestCaseWorkflowRules covers what the table of moves does not: versions,
// concurrent moves, closure reasons, four eyes, reassignment and the
// queues.
func TestCaseWorkflowRules(t *testing.T) {
	app := newTestApp(t)
	officer, supervisor := "officer@pgn.demo", "supervisor@pgn.demo"
	move := func(email, id, to string, version int, extra string) *gqlResponse {
		return app.do(app.token(email), fmt.Sprintf(`mutation($id: ID!, $to: String!, $v: Int!) {
		  transitionCase(input: {caseId: $id, to: $to, expectedVersion: $v %s}) { case { id } } }`, extra),
			map[string]any{"id": id, "to": to, "v": version})
	}

	t.Run("ErrStaleVersion", func(t *testing.T) {
		id := app.fileCase(officer, "rules-stale")
		app.transition(officer, id, "ASSESSMENT", 1, "")
		res := move(officer, id, "CASE_PLAN", 1, "")
		if !slices.Equal(res.codes(), []string{"CONFLICT"}) {
			t.Fatalf("stale: %v", res.codes())
		}
		if c := app.getCase(officer, id); c.Status != "ASSESSMENT" || c.Version != 2 {
			t.Fatalf("a stale move changed the case: %+v", c)
		}
		res = app.do(app.token(supervisor), `mutation($id: ID!) { assignCase(input: {caseId: $id, assigneeEmail: "supervisor@pgn.demo", expectedVersion: 1}) { case { id } } }`,
			map[string]any{"id": id})
		if !slices.Equal(res.codes(), []string{"CONFLICT"}) {
			t.Fatalf("stale assignment: %v", res.codes())
		}
	})

	t.Run("ConcurrentTransitionsOneWins", func(t *testing.T) {
		id := app.fileCase(officer, "rules-race")
		const n = 8
		codes := make([]string, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				res := move(officer, id, "ASSESSMENT", 1, "")
				codes[i] = strings.Join(res.codes(), ",")
			})
		}
		wg.Wait()
		won := 0
		for _, c := range codes {
			switch c {
			case "":
				won++
			case "CONFLICT":
			default:
				t.Errorf("a concurrent move answered %s", c)
			}
		}
		if won != 1 {
			t.Fatalf("%d of %d concurrent moves won (%v)", won, n, codes)
		}
		if c := app.getCase(officer, id); c.Version != 2 || len(c.Timeline) != 3 {
			t.Fatalf("after the race: version %d, %d timeline entries", c.Version, len(c.Timeline))
		}
	})

	t.Run("ErrClosureReason", func(t *testing.T) {
		id := app.fileCase(officer, "rules-reason")
		for extra, field := range map[string]string{"": "closureReason", `, closureReason: "BORED"`: "closureReason",
			`, closureReason: "NO_LONGER_CONTACTABLE"`: "closureReason"} {
			res := move(officer, id, "CLOSURE_REQUESTED", 1, extra)
			if len(res.Errors) != 1 || res.Errors[0].Extensions.Code != "BAD_USER_INPUT" || res.Errors[0].Extensions.Field != field {
				t.Errorf("%q: %+v", extra, res.Errors)
			}
		}
		// 90 days without contact: now it may.
		if _, err := app.db.Owner(t).Exec(`UPDATE cases SET cycle_started_at = now() - interval '91 days' WHERE id = $1`, id); err != nil {
			t.Fatal(err)
		}
		app.transition(officer, id, "CLOSURE_REQUESTED", 1, `, closureReason: "NO_LONGER_CONTACTABLE"`)
	})

	t.Run("ErrForbiddenApprovingOwnRequest", func(t *testing.T) {
		id := app.fileCase(supervisor, "rules-four-eyes")
		app.transition(supervisor, id, "CLOSURE_REQUESTED", 1, `, closureReason: "OPENED_IN_ERROR"`)
		res := move(supervisor, id, "CLOSED", 2, "")
		if !slices.Equal(res.codes(), []string{"FORBIDDEN"}) {
			t.Fatalf("approving one's own closure: %v", res.codes())
		}
		if n := countRows(t, app.db.App, `SELECT count(*) FROM audit.events WHERE request_id = $1 AND outcome = 'DENIED'`,
			res.Errors[0].Extensions.RequestID); n != 1 {
			t.Errorf("%d DENIED events, want 1", n)
		}
		// Rejected, with a reason, it goes back to follow-up.
		c := app.transition(supervisor, id, "FOLLOW_UP", 2, `, reason: "falta la visita de verificación"`)
		if c.Status != "FOLLOW_UP" || c.ClosureReason != nil {
			t.Fatalf("rejected: %+v", c)
		}
	})

	t.Run("ReassignmentTakesTheCaseAway", func(t *testing.T) {
		id := app.fileCase(officer, "rules-reassign")
		var out struct{ AssignCase struct{ Case lifeCase } }
		app.do(app.token(supervisor), `mutation($id: ID!) { assignCase(input: {caseId: $id, assigneeEmail: "supervisor@pgn.demo"}) { case { `+lifeCaseFields+` } } }`,
			map[string]any{"id": id}).decode(t, &out)
		if a := out.AssignCase.Case.Assignee; a == nil || a.Email != supervisor {
			t.Fatalf("assignee %+v", a)
		}
		res := app.do(app.token(officer), `query($id: ID!) { case(id: $id) { id } }`, map[string]any{"id": id})
		if !slices.Equal(res.codes(), []string{"NOT_FOUND"}) {
			t.Fatalf("the previous assignee reads the case: %v", res.codes())
		}
		res = app.do(app.token(supervisor), `mutation($id: ID!) { assignCase(input: {caseId: $id, assigneeEmail: "officer@sbs.demo"}) { case { id } } }`,
			map[string]any{"id": id})
		if len(res.Errors) != 1 || res.Errors[0].Extensions.Field != "assigneeEmail" {
			t.Fatalf("assigning to another institution's officer: %+v", res.Errors)
		}
	})

	t.Run("OverdueClearsWhenTheStepIsDone", func(t *testing.T) {
		id := app.fileCase(officer, "rules-overdue")
		if _, err := app.db.Owner(t).Exec(`UPDATE cases SET due_at = now() - interval '1 hour' WHERE id = $1`, id); err != nil {
			t.Fatal(err)
		}
		overdue := func() []string {
			var out struct {
				Cases struct {
					Edges []struct{ Node struct{ ID string } }
				}
			}
			app.do(app.token(officer), `{ cases(filter: {overdue: true}) { edges { node { id } } } }`, nil).decode(t, &out)
			var ids []string
			for _, e := range out.Cases.Edges {
				ids = append(ids, e.Node.ID)
			}
			return ids
		}
		if c := app.getCase(officer, id); !c.Overdue || !slices.Contains(overdue(), id) {
			t.Fatalf("not overdue: %+v", c)
		}
		c := app.transition(officer, id, "ASSESSMENT", 1, "")
		if c.Overdue || slices.Contains(overdue(), id) {
			t.Fatalf("still overdue after the step: %+v", c)
		}
	})

	t.Run("ErrLinkToClosedCase", func(t *testing.T) {
		id := app.fileCase(supervisor, "rules-closed-link")
		if _, err := app.db.Owner(t).Exec(`UPDATE cases SET status = 'CLOSED', closure_reason = 'GOAL_MET', due_at = NULL WHERE id = $1`, id); err != nil {
			t.Fatal(err)
		}
		var sub submitted
		app.do(app.token(officer), submitComplaintMutation, map[string]any{"input": complaintInput("rules-closed-link")}).decode(t, &sub)
		res := app.do(app.token(supervisor), `mutation($c: ID!, $id: ID!) { linkComplaintToCase(input: {complaintId: $c, caseId: $id}) { complaint { id } } }`,
			map[string]any{"c": sub.SubmitComplaint.Complaint.ID, "id": id})
		if !slices.Equal(res.codes(), []string{"CONFLICT"}) {
			t.Fatalf("linking to a closed case: %v", res.codes())
		}
	})

	t.Run("OfficerTakesFromTheQueue", func(t *testing.T) {
		id := app.fileCase(supervisor, "rules-queue")
		if _, err := app.db.Owner(t).Exec(`UPDATE cases SET assigned_to = NULL WHERE id = $1`, id); err != nil {
			t.Fatal(err)
		}
		var out struct{ AssignCase struct{ Case lifeCase } }
		app.do(app.token(officer), `mutation($id: ID!) { assignCase(input: {caseId: $id, assigneeEmail: "officer@pgn.demo"}) { case { `+lifeCaseFields+` } } }`,
			map[string]any{"id": id}).decode(t, &out)
		if c := out.AssignCase.Case; c.Assignee == nil || c.Assignee.Email != officer || c.Version != 2 {
			t.Fatalf("taken: %+v", c)
		}
		// Taken, it is no longer anyone else's to take.
		res := app.do(app.token(officer), `mutation($id: ID!) { assignCase(input: {caseId: $id, assigneeEmail: "supervisor@pgn.demo"}) { case { id } } }`,
			map[string]any{"id": id})
		if !slices.Equal(res.codes(), []string{"FORBIDDEN"}) {
			t.Fatalf("an officer assigning to someone else: %v", res.codes())
		}
	})
}

// TestHoldsRecoverAfterAFailure shows that a closed case whose evidence
// holds could not be lifted at once (the store failed after commit) is
// brought in line by the evidence janitor from case_hold_sync.
func TestHoldsRecoverAfterAFailure(t *testing.T) {
	app := newTestApp(t)
	officer, supervisor := "officer@pgn.demo", "supervisor@pgn.demo"
	id := app.fileCase(officer, "holds-recover")
	var up struct {
		UploadEvidence struct{ Evidence struct{ ID string } }
	}
	app.upload(app.token(officer), uploadMutation, map[string]any{"caseId": id}, "acta.txt", strings.NewReader("acta")).decode(t, &up)
	ev := up.UploadEvidence.Evidence.ID
	app.transition(officer, id, "CLOSURE_REQUESTED", 1, `, closureReason: "DUPLICATE"`)
	app.transition(supervisor, id, "CLOSED", 2, "")
	if app.legalHold(ev) {
		t.Fatal("hold not lifted on closing")
	}
	// As if the store had failed right after commit: the hold is still on
	// and the case still on the work list.
	var obj struct {
		Key     string `db:"object_key"`
		Version string `db:"version_id"`
	}
	if err := app.db.App.Get(&obj, `SELECT object_key, version_id FROM evidence WHERE id = $1`, ev); err != nil {
		t.Fatal(err)
	}
	if err := app.blobs.SetLegalHold(context.Background(), obj.Key, obj.Version, true); err != nil {
		t.Fatal(err)
	}
	if _, err := app.db.Owner(t).Exec(`INSERT INTO case_hold_sync (case_id, requested_at) VALUES ($1, now())`, id); err != nil {
		t.Fatal(err)
	}
	// With the store down, the pass fails and keeps the row.
	down, err := blob.New(blob.Config{Endpoint: "127.0.0.1:1", AccessKey: "x", SecretKey: "yyyyyyyy", Bucket: app.blobs.Bucket()})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := app.janitor(down, time.Hour).Pass(context.Background()); err == nil {
		t.Fatal("a pass against a dead store succeeded")
	}
	if n := countRows(t, app.db.App, `SELECT count(*) FROM case_hold_sync WHERE case_id = $1 AND attempts = 1`, id); n != 1 {
		t.Fatal("the failed sync left no trace on its row")
	}
	rep, err := app.janitor(app.blobs, time.Hour).Pass(context.Background())
	if err != nil || rep.Synced != 1 {
		t.Fatalf("pass: %+v %v", rep, err)
	}
	if app.legalHold(ev) {
		t.Fatal("the janitor did not lift the hold")
	}
	if n := countRows(t, app.db.App, `SELECT count(*) FROM case_hold_sync`); n != 0 {
		t.Fatalf("%d rows left on the work list", n)
	}
}

// TestCaseTimeline reads a timeline with a referral and an identity reveal:
// in order, in the request's language, the reveal only for who may see the
// identity, and never the child's identity.
func TestCaseTimeline(t *testing.T) {
	app := newTestApp(t)
	id := app.fileCase("officer@pgn.demo", "timeline-1")
	ref := app.refer("officer@pgn.demo", referInput(id, "SBS", false))
	app.do(app.token("oversight@pdh.demo"), `mutation($id: ID!) { revealIdentity(input: {caseId: $id, justification: "Revisión de oficio por queja recibida en la PDH"}) { givenName } }`,
		map[string]any{"id": id}).decode(t, &struct{}{})
	app.respond("officer@sbs.demo", ref, false)
	read := func(email string) (kinds, summaries []string) {
		var out struct{ Case lifeCase }
		app.do(app.token(email), `query($id: ID!) { case(id: $id) { `+lifeCaseFields+` } }`, map[string]any{"id": id},
			"Accept-Language", "en").decode(t, &out)
		for _, e := range out.Case.Timeline {
			kinds = append(kinds, e.Kind)
			summaries = append(summaries, e.Summary)
			for _, secret := range []string{"María", "López", "2014"} {
				if strings.Contains(e.Summary, secret) {
					t.Errorf("%s sees %q in %q", email, secret, e.Summary)
				}
			}
		}
		return kinds, summaries
	}
	kinds, summaries := read("officer@pgn.demo")
	want := []string{"STATUS_CHANGED", "ASSIGNED", "REFERRAL_CREATED", "IDENTITY_REVEALED", "REFERRAL_DECLINED"}
	if !slices.Equal(kinds, want) {
		t.Fatalf("officer reads %v, want %v", kinds, want)
	}
	if summaries[0] != "Registered" || summaries[1] != "Assigned to officer@pgn.demo" || summaries[4] != "Referral declined by SBS" {
		t.Errorf("summaries %q", summaries)
	}
	if kinds, _ := read("oversight@pdh.demo"); slices.Contains(kinds, "IDENTITY_REVEALED") {
		t.Errorf("a reader without the identity sees who revealed it: %v", kinds)
	}
}
