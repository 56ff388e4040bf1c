package main

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vektah/gqlparser/v2/ast"

	"amparo/graph/generated"
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

// notRoutedToPGN is a complaint the routing rules send to MINEDUC and PDH
// only (denial of education, a child with family).
func notRoutedToPGN(key string) map[string]any {
	in := complaintInput(key)
	in["violations"] = []any{"DENIAL_EDUCATION"}
	in["children"] = []any{map[string]any{"ageYears": 11, "sex": "MALE", "nationality": "HND",
		"populationStatus": "MIGRANT_TRANSIT", "careStatus": "WITH_FAMILY"}}
	return in
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
		// The type answered to a tracking code has nothing but the status,
		// its label and its time: no way to ask for more.
		var schema struct {
			Type struct{ Fields []struct{ Name string } } `json:"__type"`
		}
		app.do("", `{ __type(name: "ComplaintStatus") { fields { name } } }`, nil).decode(t, &schema)
		var names []string
		for _, f := range schema.Type.Fields {
			names = append(names, f.Name)
		}
		if !slices.Equal(names, []string{"status", "label", "updatedAt"}) {
			t.Fatalf("ComplaintStatus exposes %v", names)
		}
	})
	t.Run("AnonymousWithNameRefused", func(t *testing.T) {
		in := complaintInput("complaint-key-anon")
		in["complainant"] = map[string]any{"kind": "ANONYMOUS", "name": "X"}
		res := app.do(intake, submitComplaintMutation, map[string]any{"input": in})
		if len(res.Errors) != 1 || res.Errors[0].Extensions.Field != "complainant.name" {
			t.Fatalf("got %+v", res.Errors)
		}
	})
	t.Run("ReadScope", func(t *testing.T) {
		// Trafficking and abduction of a separated child: routed to MP, PGN
		// and SBS, who see it; the routing rules are tested in
		// internal/complaint.
		q := `query($id: ID!) { complaint(id: $id) { id } }`
		for _, tc := range []struct{ user, want string }{
			{"intake@igm.demo", ""}, {"oversight@pdh.demo", ""},
			{"officer@pgn.demo", ""}, {"officer@sbs.demo", ""},
		} {
			res := app.do(app.token(tc.user), q, map[string]any{"id": c.ID})
			if got := strings.Join(res.codes(), ","); got != tc.want {
				t.Errorf("%s: got %q, want %q", tc.user, got, tc.want)
			}
		}
	})
	t.Run("LinkToNewCase", func(t *testing.T) {
		// Received at IGM and not routed to PGN: the PGN officer cannot see
		// it, let alone link it.
		var away submitted
		app.do(intake, submitComplaintMutation, map[string]any{"input": notRoutedToPGN("complaint-key-away")}).decode(t, &away)
		q := `mutation($input: LinkComplaintToCaseInput!) { linkComplaintToCase(input: $input) { complaint { id status case { id reference } } } }`
		res := app.do(app.token("officer@pgn.demo"), q, map[string]any{"input": map[string]any{
			"complaintId": away.SubmitComplaint.Complaint.ID, "newCase": fileCaseInput("link-new-1")}})
		if !slices.Equal(res.codes(), []string{"NOT_FOUND"}) {
			t.Fatalf("PGN officer linking an IGM complaint not routed to PGN: %v", res.codes())
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

// seedCases inserts n PGN cases assigned to officer@pgn.demo straight into
// the database (as the schema owner), each with one violation and one
// note, created a second apart in threes (so that cursors must break ties
// by id). It is much faster than filing them through the API.
func seedCases(t *testing.T, app *testApp, n int) {
	t.Helper()
	officer := userID(t, app, "officer@pgn.demo")
	owner := app.db.Owner(t)
	const q = `
WITH g AS (
  SELECT i, gen_random_uuid() AS case_id, gen_random_uuid() AS child_id,
         now() - interval '1 hour' - (i / 3) * interval '1 second' AS at
  FROM generate_series(1, $1::int) i
), ch AS (
  INSERT INTO children (id, institution_code, sex, nationality, population_status, care_status, age_years, age_band, created_by, created_at)
  SELECT child_id, 'PGN', 'MALE', 'GTM', 'RETURNEE', 'SEPARATED', 10, 'AGE_6_12', $2, at FROM g
), c AS (
  INSERT INTO cases (id, institution_code, reference, status, urgency, due_at, department_code, summary, child_id,
    assigned_to, created_by, created_at, updated_by, updated_at)
  SELECT case_id, 'PGN', 'PGN-1999-' || lpad(i::text, 6, '0'), 'REGISTERED', 'LOW', at + interval '5 days', 'GT-01', NULL,
    child_id, $2, $2, at, $2, at FROM g
), v AS (
  INSERT INTO case_violations (case_id, position, type_code) SELECT case_id, 0, 'NEGLECT' FROM g
)
INSERT INTO case_notes (id, case_id, text, author_id, created_at)
SELECT gen_random_uuid(), case_id, NULL, $2, at FROM g`
	if _, err := owner.Exec(q, n, officer); err != nil {
		t.Fatal(err)
	}
}

// A page of cases with their child, violations, institution, evidence and
// notes, and the counts of both, runs the same number of SQL statements
// whatever the page size: the server's statements are counted at the
// driver.
func TestCaseListNoNPlusOne(t *testing.T) {
	var counter statementCounter
	app := newTestApp(t, func(c *config) { c.wrapDB = counter.wrap })
	officer := app.token("officer@pgn.demo")
	seedCases(t, app, 100)
	waitCached(t, app, &counter, officer)
	const q = `query($n: Int) { cases(first: $n) { totalCount edges { node { id institution { name } child { ageBand sex }
	  violations { type { code label } } evidence { id } evidenceCount notes { id } noteCount } } } }`
	measure := func(n int) int64 {
		before := counter.count()
		var out struct {
			Cases struct {
				Edges []struct {
					Node struct {
						ID        string
						NoteCount int
					}
				}
			}
		}
		app.do(officer, q, map[string]any{"n": n}).decode(t, &out)
		if len(out.Cases.Edges) != n || out.Cases.Edges[0].Node.NoteCount != 1 {
			t.Fatalf("page of %d: %d edges", n, len(out.Cases.Edges))
		}
		return counter.count() - before
	}
	// The least of two runs: the replica forgets its callers at its
	// periodic authorization reload, which may fall inside one run.
	least := func(n int) int64 { return min(measure(n), measure(n)) }
	one, ten, hundred := least(1), least(10), least(100)
	// The count, the page, and one batch per field (violations, evidence,
	// evidence counts, notes, note counts), each batch behind a loader
	// preceded by the guard's scope check of its ids; the page's data keys,
	// which open its narratives (once per operation); none for the caller,
	// whom the replica knows.
	if one != ten || ten != hundred || hundred > 12 {
		t.Errorf("statements for pages of 1, 10, 100 cases: %d, %d, %d; want the same, at most 12", one, ten, hundred)
	}
}

// A page of cases reads the data keys and opens the sealed narratives only
// when it shows a summary or a violation's description, fragments
// included; a page that shows neither reads no key.
func TestCaseListOpensNarrativesOnlyWhenShown(t *testing.T) {
	var counter statementCounter
	app := newTestApp(t, func(c *config) { c.wrapDB = counter.wrap })
	officer := app.token("officer@pgn.demo")
	app.fileCase("officer@pgn.demo", "narratives-shown-0001")
	want := fileCaseInput("")
	tests := []struct {
		name     string
		node     string
		readsKey bool
	}{
		{"NeitherReadsNoKey", `id violations { type { code } }`, false},
		{"SummaryOpens", `id summary`, true},
		{"DescriptionOpens", `id violations { description }`, true},
		{"DescriptionInFragmentOpens", `id ... on Case { violations { description } }`, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var out struct {
				Cases struct {
					Edges []struct {
						Node struct {
							Summary    *string
							Violations []struct{ Description *string }
						}
					}
				}
			}
			counter.record()
			app.do(officer, `{ cases(first: 5) { edges { node { `+tc.node+` } } } }`, nil).decode(t, &out)
			readKey := false
			for _, s := range counter.stop() {
				readKey = readKey || strings.Contains(s.Query, "FROM data_keys")
			}
			if readKey != tc.readsKey {
				t.Errorf("read the data keys: %v, want %v", readKey, tc.readsKey)
			}
			if len(out.Cases.Edges) != 1 {
				t.Fatalf("%d cases listed, want 1", len(out.Cases.Edges))
			}
			n := out.Cases.Edges[0].Node
			if strings.Contains(tc.node, "summary") && (n.Summary == nil || *n.Summary != want["summary"]) {
				t.Errorf("summary %v, want %q", n.Summary, want["summary"])
			}
			wantDesc := want["violations"].([]any)[0].(map[string]any)["description"]
			if strings.Contains(tc.node, "description") && (len(n.Violations) == 0 || n.Violations[0].Description == nil ||
				*n.Violations[0].Description != wantDesc) {
				t.Errorf("violations %+v, want the first described %q", n.Violations, wantDesc)
			}
		})
	}
}

// Paging through 1,000 cases while new ones are filed neither repeats nor
// skips a case: keyset cursors over (created_at, id) are stable.
func TestCasePagingStableAcrossInserts(t *testing.T) {
	app := newTestApp(t)
	officer := app.token("officer@pgn.demo")
	seedCases(t, app, 1000)
	seen := map[string]int{}
	var after *string
	pages := 0
	for {
		var out struct {
			Cases struct {
				PageInfo struct {
					HasNextPage bool
					EndCursor   *string
				}
				Edges []struct {
					Node struct{ ID, Reference string }
				}
			}
		}
		app.do(officer, `query($after: String) { cases(first: 100, after: $after) { pageInfo { hasNextPage endCursor } edges { node { id reference } } } }`,
			map[string]any{"after": after}).decode(t, &out)
		for _, e := range out.Cases.Edges {
			seen[e.Node.Reference]++
		}
		pages++
		// A new case arrives between pages, as it would at a border post.
		app.fileCase("officer@pgn.demo", fmt.Sprintf("paging-insert-%03d", pages))
		if !out.Cases.PageInfo.HasNextPage {
			break
		}
		after = out.Cases.PageInfo.EndCursor
	}
	for i := 1; i <= 1000; i++ {
		ref := fmt.Sprintf("PGN-1999-%06d", i)
		if seen[ref] != 1 {
			t.Fatalf("%s seen %d times", ref, seen[ref])
		}
	}
	if pages != 10 {
		t.Errorf("pages = %d, want 10", pages)
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

// A value the schema's scalars cannot read is BAD_USER_INPUT with the
// field's path, like any other validation failure.
func TestScalarInputErrors(t *testing.T) {
	app := newTestApp(t)
	officer := app.token("officer@pgn.demo")
	in := fileCaseInput("scalar-1-abcdef")
	in["child"].(map[string]any)["dateOfBirth"] = "2014-13-45"
	res := app.do(officer, fileCaseMutation, map[string]any{"input": in})
	if len(res.Errors) != 1 || res.Errors[0].Extensions.Code != "BAD_USER_INPUT" || res.Errors[0].Extensions.Field != "child.dateOfBirth" {
		t.Fatalf("got %+v", res.Errors)
	}
	res = app.do(officer, `{ case(id: "not-a-uuid") { id } }`, nil)
	if len(res.Errors) != 1 || res.Errors[0].Extensions.Code != "BAD_USER_INPUT" || res.Errors[0].Extensions.Field != "id" {
		t.Fatalf("got %+v", res.Errors)
	}
	res = app.do(officer, `{ nonsense }`, nil)
	if len(res.Errors) != 1 || res.Errors[0].Extensions.Code != "BAD_USER_INPUT" {
		t.Fatalf("got %+v", res.Errors)
	}
}

// A list counts its records only when totalCount is asked for, once
// whether or not totalCountCapped is asked too.
func TestCaseListCountsOnlyWhenAsked(t *testing.T) {
	var counter statementCounter
	app := newTestApp(t, func(c *config) { c.wrapDB = counter.wrap })
	officer := app.token("officer@pgn.demo")
	seedCases(t, app, 3)
	waitCached(t, app, &counter, officer)
	statements := func(q string) (int64, json.RawMessage) {
		before := counter.count()
		res := app.do(officer, q, nil)
		if len(res.Errors) > 0 {
			t.Fatalf("%s: %+v", q, res.Errors)
		}
		return counter.count() - before, res.Data
	}
	// The least of two runs each: the replica forgets its callers at its
	// periodic authorization reload, which may fall inside one run.
	without1, _ := statements(`{ cases(first: 5) { edges { node { id } } } }`)
	without2, _ := statements(`{ cases(first: 5) { edges { node { id } } } }`)
	with1, _ := statements(`{ cases(first: 5) { totalCount totalCountCapped edges { node { id } } } }`)
	with2, data := statements(`{ cases(first: 5) { totalCount totalCountCapped edges { node { id } } } }`)
	without, with := min(without1, without2), min(with1, with2)
	if with != without+1 {
		t.Fatalf("statements without totalCount %d, with it %d: want exactly one more", without, with)
	}
	if !strings.Contains(string(data), `"totalCount":3`) || !strings.Contains(string(data), `"totalCountCapped":false`) {
		t.Fatalf("counted %s", data)
	}
}

// TestCasePageEveryFieldBatched: a page selecting every field of a case,
// two levels of objects deep (built from the schema, so that a field added
// later is in it), costs as many statements for 10 or 30 cases as for 1.
// The page's edges are marshalled one after another (graph/sequential): a
// loader-backed field the cases resolver did not load for the whole page
// would cost one statement per case, each after waiting out its loader.
func TestCasePageEveryFieldBatched(t *testing.T) {
	var counter statementCounter
	app := newTestApp(t, func(c *config) { c.wrapDB = counter.wrap })
	officer := app.token("officer@pgn.demo")
	for i := range 30 {
		app.fileCase("officer@pgn.demo", fmt.Sprintf("every-field-%04d", i))
	}
	waitCached(t, app, &counter, officer)
	schema := generated.NewExecutableSchema(generated.Config{}).Schema()
	q := `query($n: Int) { cases(first: $n) { edges { node { ` + selectEvery(schema, "Case", 2) + ` } } } }`
	measure := func(n int) int64 {
		before := counter.count()
		var out struct {
			Cases struct{ Edges []json.RawMessage }
		}
		app.do(officer, q, map[string]any{"n": n}).decode(t, &out)
		if len(out.Cases.Edges) != n {
			t.Fatalf("page of %d: %d edges", n, len(out.Cases.Edges))
		}
		return counter.count() - before
	}
	least := func(n int) int64 { return min(measure(n), measure(n)) }
	if one, ten, thirty := least(1), least(10), least(30); one != ten || ten != thirty {
		t.Errorf("statements for pages of 1, 10, 30 cases selecting every field: %d, %d, %d; want the same\n%s", one, ten, thirty, q)
	}
}

// selectEvery selects every field of the object type name that takes no
// required argument; of object fields, their own fields down to depth more
// levels, and below that their __typename (which still resolves them).
func selectEvery(s *ast.Schema, name string, depth int) string {
	var b strings.Builder
	for _, f := range s.Types[name].Fields {
		if strings.HasPrefix(f.Name, "__") || slices.ContainsFunc(f.Arguments, func(a *ast.ArgumentDefinition) bool {
			return a.Type.NonNull && a.DefaultValue == nil
		}) {
			continue
		}
		switch t := s.Types[f.Type.Name()]; {
		case t.Kind == ast.Scalar || t.Kind == ast.Enum:
			b.WriteString(f.Name + " ")
		case t.Kind == ast.Object && depth > 0:
			b.WriteString(f.Name + " { __typename " + selectEvery(s, t.Name, depth-1) + "} ")
		default:
			b.WriteString(f.Name + " { __typename } ")
		}
	}
	return b.String()
}

// TestCasePagePlannedOnce: a page of cases, a case read and the guard's
// scope checks run prepared on the pool that plans them once
// (postgres.OpenGeneric): after many pages, none of the prepared
// statements has been planned for its values (custom_plans), where
// PostgreSQL's own choice plans a page's statement anew every time.
func TestCasePagePlannedOnce(t *testing.T) {
	app := newTestApp(t)
	officer := app.token("officer@pgn.demo")
	seedCases(t, app, 60)
	// One connection, so that the session read below is the one that ran
	// the statements.
	app.server.planned.SetMaxOpenConns(1)
	var first string
	for range 12 {
		var out struct {
			Cases struct {
				Edges []struct{ Node struct{ ID string } }
			}
		}
		app.do(officer, `query($f: CaseFilter) { cases(first: 50, filter: $f) { edges { node { id status child { ageBand } violations { type { code } } } } } }`,
			map[string]any{"f": map[string]any{"departments": []string{"GT-01"}}}).decode(t, &out)
		if len(out.Cases.Edges) > 0 && first == "" {
			first = out.Cases.Edges[0].Node.ID
		}
	}
	if first == "" {
		t.Fatal("the page is empty")
	}
	for range 6 {
		app.do(officer, `query($id: ID!) { case(id: $id) { id } }`, map[string]any{"id": first}).decode(t, &struct{}{})
	}
	var rows []struct {
		Statement string `db:"statement"`
		Generic   int64  `db:"generic_plans"`
		Custom    int64  `db:"custom_plans"`
	}
	if err := app.server.planned.Select(&rows, `SELECT statement, generic_plans, custom_plans FROM pg_prepared_statements`); err != nil {
		t.Fatal(err)
	}
	page := false
	for _, r := range rows {
		if r.Custom != 0 {
			t.Errorf("planned for its values %d times (generic %d): %s", r.Custom, r.Generic, r.Statement)
		}
		if strings.Contains(r.Statement, "FROM cases c JOIN children ch") && strings.Contains(r.Statement, "LIMIT") {
			page = r.Generic >= 12
		}
	}
	if !page {
		t.Errorf("the page's statement is not among the prepared ones, run 12 times: %+v", rows)
	}
}
