package statistics_test

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"
	"time"

	"amparo/internal/casefile"
	"amparo/internal/child"
	"amparo/internal/postgres"
	"amparo/internal/statistics"
)

// TestSummaryMatchesCases: a table read from the summary shows exactly
// the figures of the same table counted from the records (the period given
// as a filter on the filing time, which the summary cannot answer): over
// whole months and periods that start or end mid-month, by case dimensions,
// violation types and categories (cases and violations) and OVERDUE, after
// filings, status changes, a child's correction, violations added and
// removed, with deadlines around now and the summary's horizon behind
// it; again after the horizon moves; and the summary kept by triggers
// equals one rebuilt from the records.
func TestSummaryMatchesCases(t *testing.T) {
	f := newFixture(t, false, 0)
	r := rand.New(rand.NewPCG(51, 1))
	types := []string{"NEGLECT", "TRAFFICKING", "VIOLENCE_PHYSICAL", "DETENTION_IMMIGRATION"}
	var recs []rec
	for range 300 {
		recs = append(recs, rec{inst: []string{"PGN", "SBS"}[r.IntN(2)], dept: []string{"GT-12", "GT-13", "GT-17", "GT-01"}[r.IntN(4)],
			sex: []string{"FEMALE", "MALE"}[r.IntN(2)], band: []string{"AGE_0_5", "AGE_6_12", "AGE_13_17"}[r.IntN(3)], vtype: types[r.IntN(len(types))],
			at: time.Date(2026, time.Month(2+r.IntN(3)), 1+r.IntN(28), r.IntN(24), 0, 0, 0, time.UTC), key: r.Uint32()})
	}
	ids := f.seed(t, recs)
	exec := func(q string, args ...any) {
		t.Helper()
		if _, err := f.owner.Exec(q, args...); err != nil {
			t.Fatal(err)
		}
	}
	// The horizon two days behind, and the summary built against it.
	exec(`UPDATE stat_horizon SET at = now() - interval '2 days'`)
	exec(`SELECT stat_rebuild()`)
	f.settle(t)
	// Some cases move on, and a child's sex is corrected.
	for _, id := range ids[:40] {
		exec(`UPDATE cases SET status = 'ASSESSMENT', urgency = 'HIGH' WHERE id = $1`, id)
	}
	exec(`UPDATE children SET sex = 'OTHER' WHERE id = (SELECT child_id FROM cases WHERE id = $1)`, ids[50])
	// Deadlines from three days ago to three days ahead, some cases closed.
	for i, id := range ids[60:200] {
		exec(`UPDATE cases SET due_at = now() + $2 * interval '13 hours' WHERE id = $1`, id, i%12-6)
	}
	exec(`UPDATE cases SET status = 'CLOSED', closure_reason = 'GOAL_MET', due_at = NULL WHERE id = ANY($1::uuid[])`, postgres.UUIDs(ids[190:210]))
	// More violations: another type, the same type twice, one changed and
	// some removed (those cases count under UNKNOWN).
	for i, id := range ids[:120] {
		exec(`INSERT INTO case_violations (case_id, position, type_code) VALUES ($1, 1, $2)`, id, types[i%len(types)])
	}
	exec(`INSERT INTO case_violations (case_id, position, type_code) SELECT case_id, 2, type_code FROM case_violations WHERE case_id = ANY($1::uuid[]) AND position = 0`,
		postgres.UUIDs(ids[100:130]))
	exec(`DELETE FROM case_violations WHERE case_id = $1 AND position = 0`, ids[5])
	exec(`INSERT INTO case_violations (case_id, position, type_code) VALUES ($1, 3, 'DETENTION_IMMIGRATION')`, ids[5])
	exec(`DELETE FROM case_violations WHERE case_id = ANY($1::uuid[])`, postgres.UUIDs(ids[280:290]))

	gt := child.Guatemala
	defs := []struct {
		measure    string
		rows, cols []string
	}{
		{statistics.Cases, []string{statistics.Department}, nil},
		{statistics.Cases, []string{statistics.Department}, []string{statistics.Month}},
		{statistics.Cases, []string{statistics.AgeBand}, []string{statistics.Sex}},
		{statistics.Cases, []string{statistics.Institution}, []string{statistics.Status}},
		{statistics.Cases, []string{statistics.Month}, []string{statistics.Institution}},
		{statistics.Cases, []string{statistics.ViolationCategory}, []string{statistics.Month}},
		{statistics.Cases, []string{statistics.Sex}, []string{statistics.ViolationType}},
		{statistics.Cases, []string{statistics.ViolationCategory}, []string{statistics.ViolationType}},
		{statistics.Cases, []string{statistics.Overdue}, []string{statistics.Institution}},
		{statistics.Cases, []string{statistics.Department}, []string{statistics.Overdue}},
		{statistics.Cases, []string{statistics.Overdue}, []string{statistics.ViolationCategory}},
		{statistics.Violations, []string{statistics.ViolationType}, []string{statistics.Month}},
		{statistics.Violations, []string{statistics.Department}, []string{statistics.Month}},
		{statistics.Violations, []string{statistics.Overdue}, []string{statistics.ViolationCategory}},
	}
	periods := [][2]string{{"2026-03-01", "2026-03-31"}, {"2026-02-10", "2026-04-20"}, {"2026-02-15", "2026-03-31"}, {"2026-03-01", "2026-04-12"}}
	compare := func(t *testing.T) {
		for _, who := range []string{"oversight@pdh.demo", "supervisor@pgn.demo"} {
			ctx := f.as(t, who)
			for _, d := range defs {
				for _, period := range periods {
					for _, filter := range []*casefile.Filter{nil, {Departments: []string{"GT-13", "GT-17"}}} {
						name := fmt.Sprintf("%s/%s/%v×%v/%s/%v", who, d.measure, d.rows, d.cols, period[0], filter != nil)
						in := statistics.Input{Measure: d.measure, Rows: d.rows, Columns: d.cols, From: date(period[0]), To: date(period[1]), Filter: filter}
						summary, err := f.svc.Table(ctx, in)
						if err != nil {
							t.Fatal(name, err)
						}
						base := in
						base.From, base.To = nil, nil
						from, to := *date(period[0]), *date(period[1])
						after := time.Date(from.Year(), from.Month(), from.Day(), 0, 0, 0, 0, gt)
						before := time.Date(to.Year(), to.Month(), to.Day()+1, 0, 0, 0, 0, gt)
						bf := casefile.Filter{CreatedAfter: &after, CreatedBefore: &before}
						if filter != nil {
							bf.Departments = filter.Departments
						}
						base.Filter = &bf
						counted, err := f.svc.Table(ctx, base)
						if err != nil {
							t.Fatal(name, err)
						}
						summary.GeneratedAt, counted.GeneratedAt = time.Time{}, time.Time{}
						if !reflect.DeepEqual(summary, counted) {
							t.Errorf("%s\nsummary %s\ncases   %s", name, dump(summary), dump(counted))
						}
						if len(summary.Rows) == 0 {
							t.Error(name, "empty table: nothing compared")
						}
					}
				}
			}
		}
	}
	// Every change above waits in the queue: the tables correct for it.
	t.Run("QueueNotApplied", func(t *testing.T) {
		if n := queued(t, f); n < 200 {
			t.Fatalf("%d cases queued: the changes were applied already", n)
		}
		compare(t)
	})
	t.Run("QueueApplied", func(t *testing.T) {
		f.settle(t)
		if n := queued(t, f); n != 0 {
			t.Fatalf("%d cases still queued", n)
		}
		compare(t)
	})
	t.Run("HorizonAdvanced", func(t *testing.T) {
		exec(`SELECT stat_overdue_advance('1 day')`)
		compare(t)
	})
	t.Run("RebuildEqualsKept", func(t *testing.T) {
		if kept, rebuilt := pairs(t, f), rebuild(t, f); !reflect.DeepEqual(kept, rebuilt) || len(kept) == 0 {
			t.Errorf("kept %d rows, rebuilt %d, differ", len(kept), len(rebuilt))
		}
	})
	t.Run("NotBuiltCountsTheRecords", func(t *testing.T) {
		exec(`SELECT stat_rebuild()`)
		compare(t)
		f.settle(t)
	})
	t.Run("TheSummaryIsRead", func(t *testing.T) {
		// A count changed in the summary shows: the tables above came from it.
		ctx := f.as(t, "oversight@pdh.demo")
		in := statistics.Input{Measure: statistics.Violations, Rows: []string{statistics.ViolationType}, From: date("2026-03-01"), To: date("2026-03-31")}
		before, err := f.svc.Table(ctx, in)
		if err != nil {
			t.Fatal(err)
		}
		exec(`UPDATE stat_violation_pairs SET n = n + 1000 WHERE unit = 'VIOLATION' AND dim_a = 'VIOLATION_TYPE' AND dim_b = 'VIOLATION_TYPE'`)
		after, err := f.svc.Table(ctx, in)
		if err != nil {
			t.Fatal(err)
		}
		if reflect.DeepEqual(dump(before), dump(after)) {
			t.Error("the table did not change with the summary")
		}
		rebuild(t, f)
	})
	t.Run("AppCannotWriteTheSummary", func(t *testing.T) {
		for _, q := range []string{`UPDATE stat_case_pairs SET n = n + 1`, `UPDATE stat_violation_pairs SET n = n + 1`,
			`UPDATE stat_horizon SET at = now()`, `SELECT stat_rebuild()`, `INSERT INTO stat_changes (case_id) VALUES (gen_random_uuid())`,
			`DELETE FROM stat_changes`, `UPDATE stat_build SET built = true`, `DELETE FROM stat_applied`,
			`SELECT stat_sync(ARRAY[gen_random_uuid()])`} {
			if _, err := f.db.App.Exec(q); err == nil {
				t.Errorf("amparo_app ran %s", q)
			}
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

// difference is what a holds and b does not.
func difference(a, b []string) []string {
	var out []string
	for _, x := range a {
		if !slices.Contains(b, x) {
			out = append(out, x)
		}
	}
	return out
}

// pairs is the summary's non-empty rows, as text.
func pairs(t *testing.T, f *fixture) []string {
	t.Helper()
	var rows []string
	if err := f.owner.Select(&rows, `SELECT concat_ws('|', month, institution_code, dim_a, val_a, dim_b, val_b, n, k)
		FROM stat_case_pairs WHERE n <> 0
		UNION ALL
		SELECT concat_ws('|', unit, month, institution_code, dim_a, val_a, dim_b, val_b, n, k)
		FROM stat_violation_pairs WHERE n <> 0 ORDER BY 1`); err != nil {
		t.Fatal(err)
	}
	return rows
}

// rebuild counts the summary again from the cases and returns it.
func rebuild(t *testing.T, f *fixture) []string {
	t.Helper()
	if _, err := f.owner.Exec(`SELECT stat_rebuild()`); err != nil {
		t.Fatal(err)
	}
	f.settle(t)
	return pairs(t, f)
}

// settle does what the keeper does, but for the horizon: builds the
// summary if it is not built and applies the whole queue, batch by batch.
func (f *fixture) settle(tb testing.TB) {
	tb.Helper()
	for built := false; !built; {
		if err := f.db.App.Get(&built, `SELECT stat_build_step(2000)`); err != nil {
			tb.Fatal(err)
		}
	}
	for n := 1; n > 0; {
		if err := f.db.App.Get(&n, `SELECT stat_drain(1000)`); err != nil {
			tb.Fatal(err)
		}
	}
}

// queued is how many cases wait in the summary's queue.
func queued(tb testing.TB, f *fixture) int {
	tb.Helper()
	var n int
	if err := f.owner.Get(&n, `SELECT count(DISTINCT case_id) FROM stat_changes`); err != nil {
		tb.Fatal(err)
	}
	return n
}

// TestSummaryThroughTheRegistry: cases filed with two violations and moved
// on through the registry itself, by eight officers' connections at once,
// all in this month and institution, while the keeper applies the queue,
// leave this month's tables by violation and OVERDUE equal to the records
// (whatever the keeper has reached) and, once it has caught up, the
// summary equal to a rebuild.
func TestSummaryThroughTheRegistry(t *testing.T) {
	f := newFixture(t, false, 0)
	_, stop := runKeeper(t, f, statistics.KeeperConfig{Batch: 5})
	officer := f.as(t, "officer@pgn.demo")
	errs := make(chan error, 8)
	for w := range 8 {
		go func() {
			for i := range 6 {
				age := 5 + i
				c, err := f.cases.File(officer, casefile.FileInput{IdempotencyKey: fmt.Sprintf("summary-%d-%d-0001", w, i),
					Child: child.Input{AgeYears: &age, Sex: []child.Sex{"FEMALE", "MALE"}[i%2], Nationality: "SLV", PopulationStatus: "MIGRANT_TRANSIT",
						CareStatus: "SEPARATED"},
					Violations:     []casefile.ViolationInput{{Type: "TRAFFICKING"}, {Type: []string{"NEGLECT", "TRAFFICKING"}[i%2]}},
					DepartmentCode: []string{"GT-13", "GT-12"}[w%2], Urgency: casefile.High, Summary: "resumen"})
				if err != nil {
					errs <- err
					return
				}
				if i%2 == 0 {
					if _, err := f.cases.Transition(officer, casefile.TransitionInput{CaseID: c.ID, To: "ASSESSMENT", ExpectedVersion: c.Version}); err != nil {
						errs <- err
						return
					}
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
	ctx := f.as(t, "oversight@pdh.demo")
	now := time.Now().In(child.Guatemala)
	first := time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, time.UTC)
	last := first.AddDate(0, 1, -1)
	after, before := time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, child.Guatemala), time.Date(now.Year(), now.Month()+1, 1, 0, 0, 0, 0, child.Guatemala)
	for _, d := range [][2]string{{statistics.ViolationType, statistics.Status}, {statistics.Overdue, statistics.ViolationCategory}, {statistics.Sex, statistics.Department}} {
		for _, measure := range []string{statistics.Cases, statistics.Violations} {
			in := statistics.Input{Measure: measure, Rows: []string{d[0]}, Columns: []string{d[1]}, From: &first, To: &last}
			summary, err := f.svc.Table(ctx, in)
			if err != nil {
				t.Fatal(err)
			}
			in.From, in.To, in.Filter = nil, nil, &casefile.Filter{CreatedAfter: &after, CreatedBefore: &before}
			counted, err := f.svc.Table(ctx, in)
			if err != nil {
				t.Fatal(err)
			}
			summary.GeneratedAt, counted.GeneratedAt = time.Time{}, time.Time{}
			if !reflect.DeepEqual(summary, counted) || summary.Total == nil {
				t.Errorf("%s %v\nsummary %s\ncases   %s", measure, d, dump(summary), dump(counted))
			}
		}
	}
	waitFor(t, "the keeper has caught up", func() bool { return caughtUp(t, f) })
	stop()
	if kept, rebuilt := pairs(t, f), rebuild(t, f); !reflect.DeepEqual(kept, rebuilt) {
		t.Errorf("kept %d rows, rebuilt %d, differ: kept only %q, rebuilt only %q", len(kept), len(rebuilt),
			difference(kept, rebuilt), difference(rebuilt, kept))
	}
}
