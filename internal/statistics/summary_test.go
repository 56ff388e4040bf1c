package statistics_test

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"testing"
	"time"

	"amparo/internal/casefile"
	"amparo/internal/child"
	"amparo/internal/statistics"
)

// TestSummaryMatchesCases: a table read from the summary (whole months)
// shows exactly the figures of the same table counted from the cases (the
// same period as a filter on the filing time, which the summary cannot
// answer), after filings, status changes and a child's correction; and the
// summary kept by triggers equals one rebuilt from the cases.
func TestSummaryMatchesCases(t *testing.T) {
	f := newFixture(t, false, 0)
	r := rand.New(rand.NewPCG(51, 1))
	var recs []rec
	for range 300 {
		recs = append(recs, rec{inst: []string{"PGN", "SBS"}[r.IntN(2)], dept: []string{"GT-12", "GT-13", "GT-17", "GT-01"}[r.IntN(4)],
			sex: []string{"FEMALE", "MALE"}[r.IntN(2)], band: []string{"AGE_0_5", "AGE_6_12", "AGE_13_17"}[r.IntN(3)], vtype: "NEGLECT",
			at: time.Date(2026, time.Month(2+r.IntN(3)), 1+r.IntN(28), r.IntN(24), 0, 0, 0, time.UTC), key: r.Uint32()})
	}
	ids := f.seed(t, recs)
	// Some cases move on, and a child's sex is corrected.
	for _, id := range ids[:40] {
		if _, err := f.owner.Exec(`UPDATE cases SET status = 'ASSESSMENT', urgency = 'HIGH' WHERE id = $1`, id); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := f.owner.Exec(`UPDATE children SET sex = 'OTHER' WHERE id = (SELECT child_id FROM cases WHERE id = $1)`, ids[50]); err != nil {
		t.Fatal(err)
	}
	gt := child.Guatemala
	after, before := time.Date(2026, 3, 1, 0, 0, 0, 0, gt), time.Date(2026, 4, 1, 0, 0, 0, 0, gt)
	defs := [][2][]string{
		{{statistics.Department}, nil},
		{{statistics.Department}, {statistics.Month}},
		{{statistics.AgeBand}, {statistics.Sex}},
		{{statistics.Institution}, {statistics.Status}},
		{{statistics.Sex}, {statistics.Urgency}},
		{{statistics.Month}, {statistics.Institution}},
	}
	for _, who := range []string{"oversight@pdh.demo", "supervisor@pgn.demo"} {
		ctx := f.as(t, who)
		for _, d := range defs {
			for _, filter := range []*casefile.Filter{nil, {Departments: []string{"GT-13", "GT-17"}}} {
				t.Run(fmt.Sprintf("%s/%v×%v/%v", who, d[0], d[1], filter != nil), func(t *testing.T) {
					in := statistics.Input{Measure: statistics.Cases, Rows: d[0], Columns: d[1], From: date("2026-03-01"), To: date("2026-03-31"), Filter: filter}
					summary, err := f.svc.Table(ctx, in)
					if err != nil {
						t.Fatal(err)
					}
					base := in
					base.From, base.To = nil, nil
					bf := casefile.Filter{CreatedAfter: &after, CreatedBefore: &before}
					if filter != nil {
						bf.Departments = filter.Departments
					}
					base.Filter = &bf
					counted, err := f.svc.Table(ctx, base)
					if err != nil {
						t.Fatal(err)
					}
					summary.GeneratedAt, counted.GeneratedAt = time.Time{}, time.Time{}
					if !reflect.DeepEqual(summary, counted) {
						t.Errorf("summary %s\ncases   %s", dump(summary), dump(counted))
					}
					if len(summary.Rows) == 0 {
						t.Error("empty table: nothing compared")
					}
				})
			}
		}
	}
	t.Run("RebuildEqualsTriggers", func(t *testing.T) {
		if kept, rebuilt := pairs(t, f), rebuild(t, f); !reflect.DeepEqual(kept, rebuilt) || len(kept) == 0 {
			t.Errorf("kept %d rows, rebuilt %d, differ", len(kept), len(rebuilt))
		}
	})
	t.Run("AppCannotWriteTheSummary", func(t *testing.T) {
		if _, err := f.db.App.Exec(`UPDATE stat_case_pairs SET n = n + 1`); err == nil {
			t.Error("amparo_app updated the summary")
		}
	})
}

func dump(t *statistics.Table) string {
	s := fmt.Sprintf("total %v suppressed %d:", deref(t.Total), t.SuppressedCells)
	for _, r := range t.Rows {
		s += fmt.Sprintf(" %v=%v[", r.Key, deref(r.Total))
		for _, c := range r.Cells {
			s += fmt.Sprintf("%v:%v ", c.Column, deref(c.Value))
		}
		s += "]"
	}
	return s
}

func deref(v *int) any {
	if v == nil {
		return "·"
	}
	return *v
}

// TestSummaryConcurrentWriters: filings and status changes of the same
// institution and month, from many connections at once, wait for each
// other on the summary's rows but never deadlock, and leave the summary
// equal to a rebuild.
func TestSummaryConcurrentWriters(t *testing.T) {
	f := newFixture(t, false, 0)
	var recs []rec
	for i := range 40 {
		recs = append(recs, rec{inst: "PGN", dept: []string{"GT-12", "GT-13"}[i%2], sex: []string{"FEMALE", "MALE"}[i%3%2],
			band: "AGE_13_17", vtype: "NEGLECT", at: march, key: uint32(i) * 977})
	}
	ids := f.seed(t, recs)
	statuses := []string{"ASSESSMENT", "CASE_PLAN", "IMPLEMENTATION", "FOLLOW_UP", "REGISTERED"}
	errs := make(chan error, 8)
	for w := range 8 {
		go func() {
			r := rand.New(rand.NewPCG(uint64(w), 7))
			for i := range 25 {
				var err error
				if i%5 == 0 {
					err = f.insert([]rec{{inst: "PGN", dept: "GT-13", sex: "FEMALE", band: "AGE_6_12", vtype: "NEGLECT", at: march, key: r.Uint32()}})
				} else {
					_, err = f.owner.Exec(`UPDATE cases SET status = $1, urgency = $2 WHERE id = $3`,
						statuses[r.IntN(len(statuses))], []string{"HIGH", "LOW"}[r.IntN(2)], ids[r.IntN(len(ids))])
				}
				if err != nil {
					errs <- err
					return
				}
			}
			errs <- nil
		}()
	}
	for range 8 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	if kept, rebuilt := pairs(t, f), rebuild(t, f); !reflect.DeepEqual(kept, rebuilt) {
		t.Errorf("kept %d rows, rebuilt %d, differ", len(kept), len(rebuilt))
	}
}

// pairs is the summary's non-empty rows, as text.
func pairs(t *testing.T, f *fixture) []string {
	t.Helper()
	var rows []string
	if err := f.owner.Select(&rows, `SELECT concat_ws('|', month, institution_code, dim_a, val_a, dim_b, val_b, n, k)
		FROM stat_case_pairs WHERE n <> 0 ORDER BY 1`); err != nil {
		t.Fatal(err)
	}
	return rows
}

// rebuild counts the summary again from the cases and returns it.
func rebuild(t *testing.T, f *fixture) []string {
	t.Helper()
	if _, err := f.owner.Exec(`SELECT stat_case_rebuild()`); err != nil {
		t.Fatal(err)
	}
	return pairs(t, f)
}
