package statistics_test

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"runtime/metrics"
	"strconv"
	"testing"
	"time"

	"amparo/internal/export"
	"amparo/internal/postgres"
	"amparo/internal/postgres/postgrestest"
	"amparo/internal/statistics"
)

// seedMany inserts n cases (with their children and one or two violations
// each) with generate_series, spread over 2025-2026, every institution of
// the demo, every department, age band and sex.
func (f *fixture) seedMany(tb testing.TB, n int) {
	tb.Helper()
	start := time.Now()
	const q = `
WITH u AS (SELECT id FROM users WHERE email = 'officer@pgn.demo')
INSERT INTO children (id, institution_code, sex, nationality, population_status, care_status, age_years, age_band, created_by, created_at)
SELECT ('00000000-0000-4000-8000-' || lpad(to_hex(i), 12, '0'))::uuid,
  (ARRAY['PGN','SBS','IGM','MP','PNC'])[1 + i % 5],
  (ARRAY['FEMALE','MALE','FEMALE','MALE','OTHER','UNKNOWN'])[1 + (i / 7) % 6],
  (ARRAY['GTM','HND','SLV','NIC','VEN','CUB','HTI','ECU'])[1 + (i / 3) % 8],
  (ARRAY['REFUGEE','ASYLUM_SEEKER','RETURNEE','MIGRANT_TRANSIT','IDP','STATELESS','NATIONAL_HOST','OTHER'])[1 + (i / 11) % 8],
  (ARRAY['UNACCOMPANIED','SEPARATED','WITH_FAMILY'])[1 + (i / 13) % 3],
  (i / 5) % 18,
  CASE WHEN (i / 5) % 18 <= 5 THEN 'AGE_0_5' WHEN (i / 5) % 18 <= 12 THEN 'AGE_6_12' ELSE 'AGE_13_17' END,
  u.id, timestamptz '2025-01-01' + (i % 700) * interval '1 day' + (i % 86400) * interval '1 second'
FROM generate_series(1, $1) i, u`
	const qc = `
WITH u AS (SELECT id FROM users WHERE email = 'officer@pgn.demo')
INSERT INTO cases (id, institution_code, reference, status, closure_reason, urgency, due_at, department_code, entry_point_code, summary,
  child_id, assigned_to, created_by, created_at, updated_by, updated_at)
SELECT ('00000000-0000-4000-9000-' || lpad(to_hex(i), 12, '0'))::uuid, ch.institution_code, 'B-' || i,
  (ARRAY['REGISTERED','ASSESSMENT','CASE_PLAN','CLOSED'])[1 + (i / 17) % 4],
  CASE WHEN (i / 17) % 4 = 3 THEN 'GOAL_MET' END,
  (ARRAY['IMMEDIATE','HIGH','MEDIUM','LOW'])[1 + (i / 19) % 4],
  CASE WHEN (i / 17) % 4 <> 3 THEN ch.created_at + interval '3 days' END, 'GT-' || lpad((1 + (i / 23) % 22)::text, 2, '0'),
  (ARRAY['TECUN_UMAN','LA_MESILLA','EL_CEIBO','AGUA_CALIENTE','INLAND',NULL])[1 + (i / 29) % 6],
  NULL, ch.id, u.id, u.id, ch.created_at, u.id, ch.created_at
FROM generate_series(1, $1) i JOIN children ch ON ch.id = ('00000000-0000-4000-8000-' || lpad(to_hex(i), 12, '0'))::uuid, u`
	const qv = `
INSERT INTO case_violations (case_id, position, type_code)
SELECT ('00000000-0000-4000-9000-' || lpad(to_hex(i), 12, '0'))::uuid, p,
  (ARRAY['TRAFFICKING','NEGLECT','VIOLENCE_PHYSICAL','SEXUAL_ASSAULT','DETENTION_IMMIGRATION','REFOULEMENT','DENIAL_HEALTH','LABOUR_CHILD'])[1 + (i * (p + 3)) % 8]
FROM generate_series(1, $1) i, generate_series(0, 1) p WHERE p = 0 OR i % 3 = 0`
	// A bulk load counts the summary once at the end, not case by case.
	if _, err := f.owner.Exec(`ALTER TABLE cases DISABLE TRIGGER cases_stat_inserted;
		ALTER TABLE case_violations DISABLE TRIGGER case_violations_stat_inserted`); err != nil {
		tb.Fatal(err)
	}
	for _, stmt := range []string{q, qc, qv} {
		if _, err := f.owner.Exec(stmt, n); err != nil {
			tb.Fatal(err)
		}
	}
	for _, stmt := range []string{`ALTER TABLE cases ENABLE TRIGGER cases_stat_inserted`,
		`ALTER TABLE case_violations ENABLE TRIGGER case_violations_stat_inserted`, `SELECT stat_rebuild()`} {
		if _, err := f.owner.Exec(stmt); err != nil {
			tb.Fatal(err)
		}
	}
	tb.Logf("seeded %d cases in %s", n, time.Since(start).Round(time.Second))
	// The summary built as the keeper builds it, batch by batch.
	start = time.Now()
	f.settle(tb)
	if _, err := f.owner.Exec(`VACUUM ANALYZE children, cases, case_violations, stat_case_pairs, stat_violation_pairs, stat_applied`); err != nil {
		tb.Fatal(err)
	}
	tb.Logf("summary built in %s", time.Since(start).Round(time.Second))
}

// BenchmarkMillionCases seeds 1,000,000 cases once (several minutes) and
// measures, over them:
//
//   - Table: two-dimension tables as oversight (all institutions) and as a
//     supervisor (one institution), by case dimensions, violation types and
//     categories (of cases and of violations), OVERDUE, over whole months
//     and over a period that starts and ends mid-month;
//
//   - Export: exports of every case as CSV and XLSX, with the growth of the
//     heap in use during the export (sampled every 10 ms): the file streams,
//     it is never whole in memory.
//
//     go test ./internal/statistics -run '^$' -bench MillionCases -benchtime 3x -timeout 60m
//
// With AMPARO_BENCH_DATABASE_URL (amparo_app's URL of a database already
// seeded, such as `amparo dev` after `amparo-load --seed 1000000`: its
// dev.env has it as AMPARO_DATABASE_URL) it measures that database instead
// of seeding one.
func BenchmarkMillionCases(b *testing.B) {
	var f *fixture
	if url := os.Getenv("AMPARO_BENCH_DATABASE_URL"); url != "" {
		db, err := postgres.Open(context.Background(), url)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { db.Close() })
		f = fixtureOn(b, &postgrestest.DB{App: db, AppURL: url}, true, 0)
		var n int
		if err := db.Get(&n, `SELECT count(*) FROM cases`); err != nil {
			b.Fatal(err)
		}
		b.Logf("%d cases in AMPARO_BENCH_DATABASE_URL", n)
	} else {
		n := 1_000_000
		if v, err := strconv.Atoi(os.Getenv("AMPARO_BENCH_CASES")); err == nil && v > 0 {
			n = v // a smaller run, to try the benchmark out
		}
		f = newFixture(b, true, 0)
		f.seedMany(b, n)
	}
	b.Run("Table", func(b *testing.B) { benchTables(b, f) })
	if f.owner != nil {
		// What a backlog in the summary's queue costs a table: cases queued
		// (as if changed and not applied yet), each corrected for at read.
		for _, n := range []int{1000, 10000} {
			b.Run(fmt.Sprintf("Backlog%d", n), func(b *testing.B) {
				if _, err := f.owner.Exec(`INSERT INTO stat_changes (case_id) SELECT id FROM cases ORDER BY id LIMIT $1`, n); err != nil {
					b.Fatal(err)
				}
				b.Cleanup(func() { f.settle(b) })
				benchTables(b, f)
			})
		}
	}
	b.Run("Export", func(b *testing.B) { benchExports(b, f) })
}

func benchTables(b *testing.B, f *fixture) {
	year := [2]*time.Time{date("2025-01-01"), date("2025-12-31")}
	mid := [2]*time.Time{date("2025-02-14"), date("2025-11-20")}
	for _, tc := range []struct {
		who        string
		measure    string
		rows, cols string
		period     [2]*time.Time
	}{
		{"oversight@pdh.demo", statistics.Cases, statistics.Department, statistics.Month, year},
		{"oversight@pdh.demo", statistics.Cases, statistics.AgeBand, statistics.Sex, year},
		{"supervisor@pgn.demo", statistics.Cases, statistics.Department, statistics.Month, year},
		{"oversight@pdh.demo", statistics.Cases, statistics.ViolationCategory, statistics.Month, year},
		{"oversight@pdh.demo", statistics.Cases, statistics.ViolationType, statistics.Department, year},
		{"oversight@pdh.demo", statistics.Violations, statistics.ViolationCategory, statistics.Month, year},
		{"oversight@pdh.demo", statistics.Cases, statistics.Overdue, statistics.Institution, [2]*time.Time{}},
		{"oversight@pdh.demo", statistics.Cases, statistics.ViolationCategory, statistics.Overdue, [2]*time.Time{}},
		{"supervisor@pgn.demo", statistics.Cases, statistics.Overdue, statistics.Department, [2]*time.Time{}},
		{"oversight@pdh.demo", statistics.Cases, statistics.Department, statistics.Month, mid},
		{"oversight@pdh.demo", statistics.Cases, statistics.ViolationCategory, statistics.Month, mid},
		{"oversight@pdh.demo", statistics.Violations, statistics.ViolationType, statistics.Sex, mid},
	} {
		period := "all"
		if tc.period[0] != nil {
			period = tc.period[0].Format(time.DateOnly) + "…" + tc.period[1].Format(time.DateOnly)
		}
		b.Run(fmt.Sprintf("%s/%s/%s×%s/%s", tc.who, tc.measure, tc.rows, tc.cols, period), func(b *testing.B) {
			ctx := f.as(b, tc.who)
			in := statistics.Input{Measure: tc.measure, Rows: []string{tc.rows}, Columns: []string{tc.cols}, From: tc.period[0], To: tc.period[1]}
			for b.Loop() {
				if _, err := f.svc.Table(ctx, in); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func benchExports(b *testing.B, f *fixture) {
	for _, format := range []string{export.CSV, export.XLSX} {
		b.Run(format, func(b *testing.B) {
			ctx := f.as(b, "oversight@pdh.demo")
			for b.Loop() {
				runtime.GC()
				base := sample()
				done, peakc := make(chan struct{}), make(chan memSample)
				go func() {
					peak := base
					t := time.NewTicker(10 * time.Millisecond)
					defer t.Stop()
					for {
						select {
						case <-done:
							peakc <- peak
							return
						case <-t.C:
							s := sample()
							peak.heap, peak.live = max(peak.heap, s.heap), max(peak.live, s.live)
						}
					}
				}()
				ex, err := f.svc.ExportCases(ctx, statistics.ExportCasesInput{Format: format})
				close(done)
				peak := <-peakc
				if err != nil {
					b.Fatal(err)
				}
				if ex.Rows == 0 {
					b.Fatal("no rows")
				}
				b.ReportMetric(float64(ex.Rows), "rows")
				b.ReportMetric(float64(peak.heap-base.heap)/(1<<20), "MiB-heap-growth")
				b.ReportMetric(float64(peak.live-base.live)/(1<<20), "MiB-live-growth")
			}
		})
	}
}

// memSample is the heap's size: heap, every span in use (live objects,
// garbage not yet collected, free space in spans) and goroutine stacks;
// live, what the last collection found reachable.
type memSample struct{ heap, live uint64 }

func sample() memSample {
	s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}, {Name: "/memory/classes/heap/unused:bytes"},
		{Name: "/memory/classes/os-stacks:bytes"}, {Name: "/gc/heap/live:bytes"}}
	metrics.Read(s)
	return memSample{heap: s[0].Value.Uint64() + s[1].Value.Uint64() + s[2].Value.Uint64(), live: s[3].Value.Uint64()}
}
