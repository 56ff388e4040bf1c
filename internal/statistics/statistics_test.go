package statistics_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"amparo/internal/apperr"
	"amparo/internal/casefile"
	"amparo/internal/statistics"
)

var march = time.Date(2026, 3, 10, 15, 0, 0, 0, time.UTC) // 09:00 in Guatemala

func date(s string) *time.Time {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		panic(err)
	}
	return &t
}

// cellOf finds the cell of row key and column col ("" for no columns).
func cellOf(t *testing.T, tab *statistics.Table, row, col string) *statistics.Cell {
	t.Helper()
	for _, r := range tab.Rows {
		if strings.Join(r.Key, "/") != row {
			continue
		}
		for _, c := range r.Cells {
			if strings.Join(c.Column, "/") == col {
				return c
			}
		}
	}
	return nil
}

func rowOf(tab *statistics.Table, key string) *statistics.Row {
	for _, r := range tab.Rows {
		if strings.Join(r.Key, "/") == key {
			return r
		}
	}
	return nil
}

// TestSuppression seeds departments with 0 to 6 cases each and checks what
// the table shows for each.
func TestSuppression(t *testing.T) {
	f := newFixture(t, false, 0)
	deps := []string{"GT-01", "GT-02", "GT-03", "GT-04", "GT-05", "GT-06", "GT-07"}
	var recs []rec
	key := uint32(1)
	for n, dep := range deps {
		for i := range n {
			key = key*1664525 + 1013904223
			recs = append(recs, rec{inst: "PGN", dept: dep, sex: []string{"FEMALE", "MALE"}[i%2], band: "AGE_13_17",
				vtype: "TRAFFICKING", at: march, key: key})
		}
	}
	f.seed(t, recs)
	ctx := f.as(t, "oversight@pdh.demo")
	tab, err := f.svc.Table(ctx, statistics.Input{Measure: statistics.Cases, Rows: []string{statistics.Department}})
	if err != nil {
		t.Fatal(err)
	}
	for n, dep := range deps {
		t.Run(fmt.Sprintf("Count%d", n), func(t *testing.T) {
			c := cellOf(t, tab, dep, "")
			switch {
			case n == 0:
				if c != nil && (c.Suppressed || *c.Value != 0) {
					t.Errorf("empty department shows %+v", c)
				}
			case n < statistics.Threshold:
				if c == nil || !c.Suppressed || c.Value != nil {
					t.Errorf("count %d shows %+v, want suppressed", n, c)
				}
			default:
				if c == nil || c.Suppressed || *c.Value < statistics.Threshold || *c.Value > n+statistics.MaxNoise {
					t.Errorf("count %d shows %+v", n, c)
				}
			}
		})
	}
	if tab.SuppressedCells != 4 {
		t.Errorf("suppressedCells = %d, want 4", tab.SuppressedCells)
	}
	t.Run("Margins", func(t *testing.T) {
		// Department × sex: every row's total is its own count, perturbed;
		// rows of 1 to 4 cases have a suppressed total.
		tab, err := f.svc.Table(ctx, statistics.Input{Measure: statistics.Cases, Rows: []string{statistics.Department},
			Columns: []string{statistics.Sex}})
		if err != nil {
			t.Fatal(err)
		}
		for n, dep := range deps[1:] {
			r := rowOf(tab, dep)
			if r == nil {
				t.Fatalf("no row %s", dep)
			}
			if n+1 < statistics.Threshold && (r.Total != nil) {
				t.Errorf("%s (%d cases) total %d", dep, n+1, *r.Total)
			}
			if n+1 >= statistics.Threshold && r.Total != nil && (*r.Total < statistics.Threshold) {
				t.Errorf("%s (%d cases) total %d", dep, n+1, *r.Total)
			}
		}
		if tab.Total == nil || *tab.Total < 19 || *tab.Total > 23 {
			t.Errorf("grand total %v, want 21±2", tab.Total)
		}
		// The one-dimensional table and this one's margins are the same
		// records: the same figures.
		one, err := f.svc.Table(ctx, statistics.Input{Measure: statistics.Cases, Rows: []string{statistics.Department}})
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range one.Rows {
			m := rowOf(tab, r.Key[0])
			if r.Cells[0].Suppressed != (m.Total == nil) || (m.Total != nil && *m.Total != *r.Cells[0].Value) {
				if !m.TotalSuppressed || !r.Cells[0].Suppressed {
					t.Errorf("%s: cell %+v, margin %v", r.Key[0], r.Cells[0], m.Total)
				}
			}
		}
	})
}

// TestScopePerRole: oversight counts every institution, a supervisor their
// own, officers, intake and admins nothing.
func TestScopePerRole(t *testing.T) {
	f := newFixture(t, false, 0)
	var recs []rec
	for i := range 30 {
		inst := "PGN"
		if i%3 == 0 {
			inst = "SBS"
		}
		recs = append(recs, rec{inst: inst, dept: "GT-13", sex: "FEMALE", band: "AGE_6_12", vtype: "NEGLECT", at: march, key: uint32(i) * 2654435761})
	}
	f.seed(t, recs)
	in := statistics.Input{Measure: statistics.Cases, Rows: []string{statistics.Institution}}
	over, err := f.svc.Table(f.as(t, "oversight@pdh.demo"), in)
	if err != nil {
		t.Fatal(err)
	}
	if len(over.Rows) != 2 {
		t.Fatalf("oversight sees %d institutions, want 2", len(over.Rows))
	}
	sup, err := f.svc.Table(f.as(t, "supervisor@pgn.demo"), in)
	if err != nil {
		t.Fatal(err)
	}
	if len(sup.Rows) != 1 || sup.Rows[0].Key[0] != "PGN" {
		t.Fatalf("supervisor sees %v", sup.Rows)
	}
	// The same records, the same figure, whoever asks.
	if *sup.Total != *rowOf(over, "PGN").Total {
		t.Errorf("supervisor total %d, oversight's PGN row %d", *sup.Total, *rowOf(over, "PGN").Total)
	}
	for _, email := range []string{"officer@pgn.demo", "intake@igm.demo", "admin@amparo.demo"} {
		t.Run(email, func(t *testing.T) {
			_, err := f.svc.Table(f.as(t, email), in)
			if !apperr.Is(err, apperr.Forbidden) {
				t.Errorf("err = %v, want FORBIDDEN", err)
			}
			_, err = f.svc.IndicatorReport(f.as(t, email), statistics.ReportInput{})
			if !apperr.Is(err, apperr.Forbidden) {
				t.Errorf("report: err = %v, want FORBIDDEN", err)
			}
		})
	}
}

// TestInvalidDefinitions name the field at fault.
func TestInvalidDefinitions(t *testing.T) {
	f := newFixture(t, false, 0)
	ctx := f.as(t, "oversight@pdh.demo")
	ref := "PGN-2026-000001"
	for name, tc := range map[string]struct {
		in    statistics.Input
		field string
	}{
		"UnknownMeasure":      {statistics.Input{Measure: "CHILDREN", Rows: []string{statistics.Sex}}, "measure"},
		"NoRows":              {statistics.Input{Measure: statistics.Cases}, "rows"},
		"UnknownDimension":    {statistics.Input{Measure: statistics.Cases, Rows: []string{"NAME"}}, "rows[0]"},
		"RepeatedDimension":   {statistics.Input{Measure: statistics.Cases, Rows: []string{statistics.Sex}, Columns: []string{statistics.Sex}}, "columns[0]"},
		"NotForComplaints":    {statistics.Input{Measure: statistics.Complaints, Rows: []string{statistics.Urgency}}, "rows[0]"},
		"FilterByReference":   {statistics.Input{Measure: statistics.Cases, Rows: []string{statistics.Sex}, Filter: &casefile.Filter{Reference: &ref}}, "filter.reference"},
		"PeriodBackwards":     {statistics.Input{Measure: statistics.Cases, Rows: []string{statistics.Sex}, From: date("2026-03-02"), To: date("2026-03-01")}, "to"},
		"UnknownDepartment":   {statistics.Input{Measure: statistics.Cases, Rows: []string{statistics.Sex}, Filter: &casefile.Filter{Departments: []string{"GT-99"}}}, "filter.departments[0]"},
		"UrgencyOfComplaints": {statistics.Input{Measure: statistics.Complaints, Rows: []string{statistics.Status}, Filter: &casefile.Filter{Urgency: []casefile.Urgency{"HIGH"}}}, "filter.urgency"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := f.svc.Table(ctx, tc.in)
			ae, ok := apperr.As(err)
			if !ok || ae.Kind != apperr.Invalid || ae.Field != tc.field {
				t.Errorf("err = %v, want BAD_USER_INPUT at %s", err, tc.field)
			}
		})
	}
}

// TestTableAudited: each table is recorded with its definition, in codes,
// and without any figure.
func TestTableAudited(t *testing.T) {
	f := newFixture(t, false, 0)
	f.seed(t, []rec{{inst: "PGN", dept: "GT-13", sex: "FEMALE", band: "AGE_13_17", vtype: "TRAFFICKING", at: march, key: 7}})
	ctx := f.as(t, "supervisor@pgn.demo")
	if _, err := f.svc.Table(ctx, statistics.Input{Measure: statistics.Cases, Rows: []string{statistics.AgeBand},
		Columns: []string{statistics.Sex}, From: date("2026-03-01"), To: date("2026-03-31"),
		Filter: &casefile.Filter{Departments: []string{"GT-13"}}}); err != nil {
		t.Fatal(err)
	}
	var details string
	if err := f.db.App.Get(&details, `SELECT details::text FROM audit.events WHERE action = 'stats:read' AND actor_id =
		(SELECT id FROM users WHERE email = 'supervisor@pgn.demo')`); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"measure": "CASES"`, `"rows": ["AGE_BAND"]`, `"columns": ["SEX"]`, `"from": "2026-03-01"`, `"departments": ["GT-13"]`} {
		if !strings.Contains(details, want) {
			t.Errorf("audit details %s lack %s", details, want)
		}
	}
	if strings.Contains(details, "value") || strings.Contains(details, "total") {
		t.Errorf("audit details carry results: %s", details)
	}
}

// TestReferralsByServiceAndResponseTime: a referral asking for two services
// counts once under each, once in the total; response times are banded.
func TestReferralsByServiceAndResponseTime(t *testing.T) {
	f := newFixture(t, false, 0)
	var recs []rec
	for i := range 12 {
		recs = append(recs, rec{inst: "PGN", dept: "GT-13", sex: "FEMALE", band: "AGE_13_17", vtype: "NEGLECT", at: march, key: uint32(i) * 7919})
	}
	ids := f.seed(t, recs)
	for i, id := range ids {
		services := "{SHELTER,HEALTH}"
		if i%2 == 1 {
			services = "{LEGAL_REPRESENTATION}"
		}
		if _, err := f.owner.Exec(`INSERT INTO referrals (id, case_id, from_institution, to_institution, status, reason, created_by,
			created_at, responded_at, services, consent_given, consent_basis, consent_justification)
			SELECT gen_random_uuid(), $1, 'PGN', 'SBS', 'ACCEPTED', NULL, id, $2::timestamptz, $2::timestamptz + interval '2 days', $3::text[], false,
			  'BEST_INTERESTS', 'niña sola' FROM users WHERE email = 'officer@pgn.demo'`, id, march, services); err != nil {
			t.Fatal(err)
		}
	}
	tab, err := f.svc.Table(f.as(t, "oversight@pdh.demo"), statistics.Input{Measure: statistics.Referrals,
		Rows: []string{statistics.ReferralService}, Columns: []string{statistics.ResponseTime}})
	if err != nil {
		t.Fatal(err)
	}
	keys := []string{}
	for _, r := range tab.Rows {
		keys = append(keys, r.Key[0])
		if len(r.Cells) != 1 || r.Cells[0].Column[0] != "WITHIN_3_DAYS" {
			t.Errorf("%v: cells %+v", r.Key, r.Cells)
		}
	}
	if strings.Join(keys, ",") != "HEALTH,LEGAL_REPRESENTATION,SHELTER" {
		t.Errorf("rows %v", keys)
	}
	// 12 referrals (perturbed), not the 18 service requests.
	if tab.Total == nil || *tab.Total < 10 || *tab.Total > 14 {
		t.Errorf("total %v, want 12±2", tab.Total)
	}
}
