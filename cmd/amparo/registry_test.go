package main

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

const submitComplaintMutation = `mutation($input: SubmitComplaintInput!) {
  submitComplaint(input: $input) { trackingCode complaint { id status channel complainantKind childIds
    violations { code } department { code } } } }`

func complaintInput(key string) map[string]any {
	return map[string]any{
		"idempotencyKey": key,
		"complainant":    map[string]any{"kind": "FAMILY_MEMBER", "name": "Tía de la niña", "contact": "+502 5555 0000"},
		"channel":        "IN_PERSON",
		"description":    "Un grupo retuvo a dos adolescentes en el río.",
		"departmentCode": "GT-SM",
		"entryPoint":     "EL_CARMEN",
		"occurredOn":     "2026-11-25",
		"violations":     []any{"TRAFFICKING", "ABDUCTION"},
		"children": []any{map[string]any{"givenName": "Ana", "ageYears": 15, "sex": "FEMALE", "nationality": "SLV",
			"populationStatus": "MIGRANT_TRANSIT", "careStatus": "SEPARATED", "languages": []any{"spa"}}},
	}
}

type submitted struct {
	SubmitComplaint struct {
		TrackingCode string
		Complaint    struct {
			ID, Status, Channel, ComplainantKind string
			ChildIDs                             []string
			Violations                           []struct{ Code string }
			Department                           struct{ Code string }
		}
	}
}

func TestComplaints(t *testing.T) {
	app := newTestApp(t)
	intake := app.token("intake@igm.demo")
	var first submitted
	app.do(intake, submitComplaintMutation, map[string]any{"input": complaintInput("complaint-key-1")}).decode(t, &first)
	c := first.SubmitComplaint.Complaint
	code := first.SubmitComplaint.TrackingCode
	if c.Status != "RECEIVED" || c.Department.Code != "GT-12" || len(c.ChildIDs) != 1 || len(c.Violations) != 2 {
		t.Fatalf("complaint = %+v", c)
	}
	if len(strings.ReplaceAll(code, "-", "")) != 32 {
		t.Fatalf("tracking code %q is not 160 bits of base32", code)
	}

	t.Run("RetryReturnsFirstWithSameCode", func(t *testing.T) {
		var again submitted
		app.do(intake, submitComplaintMutation, map[string]any{"input": complaintInput("complaint-key-1")}).decode(t, &again)
		if again.SubmitComplaint.Complaint.ID != c.ID || again.SubmitComplaint.TrackingCode != code {
			t.Fatalf("retry gave %+v", again.SubmitComplaint)
		}
		if n := countRows(t, app.db.App, `SELECT count(*) FROM complaints`); n != 1 {
			t.Fatalf("complaints = %d", n)
		}
	})
	t.Run("ConcurrentRetriesMakeOne", func(t *testing.T) {
		var wg sync.WaitGroup
		ids := make([]string, 8)
		for i := range ids {
			wg.Add(1)
			go func() {
				defer wg.Done()
				var out submitted
				app.do(intake, submitComplaintMutation, map[string]any{"input": complaintInput("complaint-key-race")}).decode(t, &out)
				ids[i] = out.SubmitComplaint.Complaint.ID
			}()
		}
		wg.Wait()
		slices.Sort(ids)
		if ids = slices.Compact(ids); len(ids) != 1 || ids[0] == "" {
			t.Fatalf("concurrent retries made %v", ids)
		}
	})
	t.Run("SameKeyOtherContentConflict", func(t *testing.T) {
		in := complaintInput("complaint-key-1")
		in["channel"] = "PHONE"
		res := app.do(intake, submitComplaintMutation, map[string]any{"input": in})
		if !slices.Equal(res.codes(), []string{"CONFLICT"}) {
			t.Fatalf("got %v", res.codes())
		}
	})
	t.Run("StatusByTrackingCodeWithoutLogin", func(t *testing.T) {
		var out struct {
			ComplaintStatus *struct{ Status, UpdatedAt string }
		}
		q := `query($c: String!) { complaintStatus(trackingCode: $c) { status updatedAt } }`
		app.do("", q, map[string]any{"c": strings.ToLower(code)}).decode(t, &out)
		if out.ComplaintStatus == nil || out.ComplaintStatus.Status != "RECEIVED" {
			t.Fatalf("status = %+v", out.ComplaintStatus)
		}
		app.do("", q, map[string]any{"c": "AAAA-BBBB-CCCC-DDDD-EEEE-FFFF-GGGG-HHHH"}).decode(t, &out)
		if out.ComplaintStatus != nil {
			t.Fatal("an unknown code answered a status")
		}
		if n := countRows(t, app.db.App, `SELECT count(*) FROM complaints WHERE tracking_hash::text LIKE '%' || $1 || '%'`, code); n != 0 {
			t.Fatal("the tracking code is stored in clear")
		}
	})
	t.Run("AnonymousWithNameRefused", func(t *testing.T) {
		in := complaintInput("complaint-key-anon")
		in["complainant"] = map[string]any{"kind": "ANONYMOUS", "name": "X"}
		res := app.do(intake, submitComplaintMutation, map[string]any{"input": in})
		if len(res.Errors) != 1 || res.Errors[0].Extensions.Field != "input.complainant.name" {
			t.Fatalf("got %+v", res.Errors)
		}
	})
	t.Run("ReadScope", func(t *testing.T) {
		q := `query($id: ID!) { complaint(id: $id) { id } }`
		for _, tc := range []struct{ user, want string }{
			{"intake@igm.demo", ""}, {"oversight@pdh.demo", ""},
			{"officer@pgn.demo", "NOT_FOUND"}, {"officer@sbs.demo", "NOT_FOUND"},
		} {
			res := app.do(app.token(tc.user), q, map[string]any{"id": c.ID})
			if got := strings.Join(res.codes(), ","); got != tc.want {
				t.Errorf("%s: got %q, want %q", tc.user, got, tc.want)
			}
		}
	})
	t.Run("LinkToNewCase", func(t *testing.T) {
		// The complaint was received at IGM; an IGM-received complaint can only
		// be linked by IGM staff who may file: the PGN officer cannot see it.
		q := `mutation($input: LinkComplaintToCaseInput!) { linkComplaintToCase(input: $input) { complaint { id status case { id reference } } } }`
		res := app.do(app.token("officer@pgn.demo"), q, map[string]any{"input": map[string]any{"complaintId": c.ID, "newCase": fileCaseInput("link-new-1")}})
		if !slices.Equal(res.codes(), []string{"NOT_FOUND"}) {
			t.Fatalf("PGN officer linking an IGM complaint: %v", res.codes())
		}
		if n := countRows(t, app.db.App, `SELECT count(*) FROM cases`); n != 0 {
			t.Fatalf("a refused link filed %d cases", n)
		}
		// A PGN officer links a PGN complaint to a case filed with it.
		var pgnC submitted
		app.do(app.token("officer@pgn.demo"), submitComplaintMutation, map[string]any{"input": complaintInput("complaint-key-pgn")}).decode(t, &pgnC)
		var out struct {
			LinkComplaintToCase struct {
				Complaint struct {
					Status string
					Case   *struct{ ID, Reference string }
				}
			}
		}
		app.do(app.token("officer@pgn.demo"), q, map[string]any{"input": map[string]any{
			"complaintId": pgnC.SubmitComplaint.Complaint.ID, "newCase": fileCaseInput("link-new-2")}}).decode(t, &out)
		lc := out.LinkComplaintToCase.Complaint
		if lc.Status != "LINKED" || lc.Case == nil || !strings.HasPrefix(lc.Case.Reference, "PGN-") {
			t.Fatalf("linked = %+v", lc)
		}
		// Linking again to another case is a conflict.
		other := app.fileCase("officer@pgn.demo", "link-other-1")
		res = app.do(app.token("officer@pgn.demo"), q, map[string]any{"input": map[string]any{
			"complaintId": pgnC.SubmitComplaint.Complaint.ID, "caseId": other}})
		if !slices.Equal(res.codes(), []string{"CONFLICT"}) {
			t.Fatalf("relink: %v", res.codes())
		}
	})
}

func TestCaseListPagesAndFilters(t *testing.T) {
	app := newTestApp(t)
	officer := app.token("officer@pgn.demo")
	for i := range 7 {
		in := fileCaseInput(fmt.Sprintf("list-%d-abcdef", i))
		if i%2 == 1 {
			in["urgency"] = "IMMEDIATE"
			in["departmentCode"] = "GT-01"
			in["violations"] = []any{map[string]any{"type": "DETENTION_IMMIGRATION"}}
		}
		app.do(officer, fileCaseMutation, map[string]any{"input": in}).decode(t, &struct{}{})
	}
	app.fileCase("officer@sbs.demo", "list-sbs-abcdef")

	q := `query($f: CaseFilter, $first: Int, $after: String) { cases(filter: $f, first: $first, after: $after) {
	  totalCount pageInfo { hasNextPage hasPreviousPage endCursor } edges { cursor node { id reference urgency } } } }`
	type conn struct {
		Cases struct {
			TotalCount int
			PageInfo   struct {
				HasNextPage, HasPreviousPage bool
				EndCursor                    *string
			}
			Edges []struct {
				Cursor string
				Node   struct{ ID, Reference, Urgency string }
			}
		}
	}
	var seen []string
	var after *string
	for range 10 {
		var out conn
		app.do(officer, q, map[string]any{"first": 3, "after": after}).decode(t, &out)
		if out.Cases.TotalCount != 7 {
			t.Fatalf("totalCount = %d, want 7 (the SBS case is out of scope)", out.Cases.TotalCount)
		}
		for _, e := range out.Cases.Edges {
			seen = append(seen, e.Node.Reference)
		}
		if !out.Cases.PageInfo.HasNextPage {
			break
		}
		after = out.Cases.PageInfo.EndCursor
	}
	if len(seen) != 7 || slices.Contains(seen, "") {
		t.Fatalf("paged through %v", seen)
	}
	sorted := slices.Clone(seen)
	slices.Sort(sorted)
	slices.Reverse(sorted)
	if !slices.Equal(seen, sorted) {
		t.Errorf("not newest first: %v", seen)
	}

	for name, tc := range map[string]struct {
		filter map[string]any
		want   int
	}{
		"Urgency":                         {map[string]any{"urgency": []any{"IMMEDIATE"}}, 3},
		"LegacyDepartment":                {map[string]any{"departments": []any{"GT-GU"}}, 3},
		"ViolationType":                   {map[string]any{"violationTypes": []any{"TRAFFICKING"}}, 4},
		"Category":                        {map[string]any{"violationCategories": []any{"LIBERTY"}}, 3},
		"AgeBand":                         {map[string]any{"ageBands": []any{"AGE_6_12"}}, 7},
		"CareStatus":                      {map[string]any{"careStatus": []any{"WITH_FAMILY"}}, 0},
		"AssignedToMe":                    {map[string]any{"assignedToMe": true}, 7},
		"NotOverdue":                      {map[string]any{"overdue": false}, 7},
		"CreatedBeforeNone":               {map[string]any{"createdBefore": "2020-01-01T00:00:00Z"}, 0},
		"OtherInstitutionReferenceHidden": {map[string]any{"reference": "SBS-" + fmt.Sprint(time.Now().Year()) + "-000001"}, 0},
	} {
		t.Run(name, func(t *testing.T) {
			var out conn
			app.do(officer, q, map[string]any{"f": tc.filter, "first": 100}).decode(t, &out)
			if out.Cases.TotalCount != tc.want || len(out.Cases.Edges) != tc.want {
				t.Fatalf("total %d edges %d, want %d", out.Cases.TotalCount, len(out.Cases.Edges), tc.want)
			}
		})
	}
	t.Run("FirstOver100Refused", func(t *testing.T) {
		res := app.do(officer, q, map[string]any{"first": 101})
		if !slices.Equal(res.codes(), []string{"BAD_USER_INPUT"}) {
			t.Fatalf("got %v", res.codes())
		}
	})
	t.Run("BadCursorRefused", func(t *testing.T) {
		res := app.do(officer, q, map[string]any{"after": "bm9wZQ"})
		if !slices.Equal(res.codes(), []string{"BAD_USER_INPUT"}) {
			t.Fatalf("got %v", res.codes())
		}
	})
}

// A page of cases with their violations, evidence and notes costs one query
// per field, not one per case: counted on PostgreSQL's own statistics of
// scans of each table.
func TestCaseListNoNPlusOne(t *testing.T) {
	app := newTestApp(t)
	officer := app.token("officer@pgn.demo")
	for i := range 25 {
		id := app.fileCase("officer@pgn.demo", fmt.Sprintf("n1-%02d-abcdef", i))
		app.do(officer, `mutation($id: ID!) { addCaseNote(input: {caseId: $id, text: "primer contacto"}) { note { id } } }`,
			map[string]any{"id": id}).decode(t, &struct{}{})
	}
	owner := app.db.Owner(t)
	scans := func() map[string]int {
		rows, err := owner.Query(`SELECT relname, coalesce(seq_scan, 0) + coalesce(idx_scan, 0)
			FROM pg_stat_user_tables WHERE relname IN ('case_violations', 'evidence', 'case_notes')`)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		m := map[string]int{}
		for rows.Next() {
			var name string
			var n int
			if err := rows.Scan(&name, &n); err != nil {
				t.Fatal(err)
			}
			m[name] = n
		}
		return m
	}
	// A backend reports its table statistics when it exits (or idle, but
	// at most once a second), so the server's connections are closed before
	// reading them, and the reading waits until they stop moving.
	settle := func() map[string]int {
		app.server.db.SetMaxIdleConns(0)
		app.server.db.SetMaxIdleConns(32)
		prev := scans()
		for range 50 {
			time.Sleep(200 * time.Millisecond)
			_, _ = owner.Exec(`SELECT pg_stat_clear_snapshot()`)
			cur := scans()
			if fmt.Sprint(cur) == fmt.Sprint(prev) {
				return cur
			}
			prev = cur
		}
		return prev
	}
	before := settle()
	var out struct {
		Cases struct {
			Edges []struct{ Node struct{ ID string } }
		}
	}
	app.do(officer, `{ cases(first: 25) { edges { node { id violations { type { code } } evidence { id } notes { id } } } } }`, nil).decode(t, &out)
	if len(out.Cases.Edges) != 25 {
		t.Fatalf("edges = %d", len(out.Cases.Edges))
	}
	after := settle()
	// Exactly one scan each: more is N+1, none would mean the statistics
	// did not move and this test measured nothing.
	for _, table := range []string{"case_violations", "evidence", "case_notes"} {
		if d := after[table] - before[table]; d != 1 {
			t.Errorf("%s scanned %d times for one page of 25 cases, want 1", table, d)
		}
	}
}

func TestReferenceDataLabels(t *testing.T) {
	app := newTestApp(t)
	q := `{ violationTypes { code label category { code label } } departments { code name } institutions { code name } entryPoints { code department { code } } }`
	var es, en struct {
		ViolationTypes []struct {
			Code, Label string
			Category    struct{ Code, Label string }
		}
		Departments  []struct{ Code, Name string }
		Institutions []struct{ Code, Name string }
		EntryPoints  []struct {
			Code       string
			Department *struct{ Code string }
		}
	}
	app.do("", q, nil).decode(t, &es)
	app.do("", q, nil, "Accept-Language", "en-US,en;q=0.9").decode(t, &en)
	if len(es.ViolationTypes) < 30 || len(es.Departments) != 22 || len(es.Institutions) < 5 || len(es.EntryPoints) == 0 {
		t.Fatalf("catalog sizes %d %d %d %d", len(es.ViolationTypes), len(es.Departments), len(es.Institutions), len(es.EntryPoints))
	}
	find := func(vs []struct {
		Code, Label string
		Category    struct{ Code, Label string }
	}, code string) string {
		for _, v := range vs {
			if v.Code == code {
				return v.Label
			}
		}
		return ""
	}
	if got := find(es.ViolationTypes, "TRAFFICKING"); got != "Trata de personas (finalidad registrada aparte)" {
		t.Errorf("Spanish label = %q", got)
	}
	if got := find(en.ViolationTypes, "TRAFFICKING"); got != "Trafficking in persons (purpose recorded separately)" {
		t.Errorf("English label = %q", got)
	}
}
