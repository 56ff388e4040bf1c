package main

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"
)

const indicatorQuery = `query($from: Date) { indicatorReport(from: $from) { indicators { name measure rows columns
  table { total suppressedCells columns rows { key total cells { column value suppressed } } } rates { key value } } } }`

type statsTable struct {
	Total           *int
	SuppressedCells int
	Columns         [][]string
	Rows            []struct {
		Key   []string
		Total *int
		Cells []struct {
			Column     []string
			Value      *int
			Suppressed bool
		}
	}
}

type indicatorReport struct {
	IndicatorReport struct {
		Indicators []struct {
			Name    string
			Measure string
			Table   statsTable
		}
	}
}

// download fetches an export's URL.
func download(t *testing.T, url string) []byte {
	t.Helper()
	resp, body := fetch(t, http.MethodGet, url)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("download: %d %s", resp.StatusCode, body)
	}
	return []byte(body)
}

// TestStatisticsEndToEnd is the "done when" through the real
// handler: oversight gets the indicator report with every count of 1 to 4
// suppressed, exports it as XLSX and the cases as CSV; a supervisor of PGN
// sees only PGN's figures.
func TestStatisticsEndToEnd(t *testing.T) {
	app := newTestApp(t)
	// PGN: 7 cases of one kind and a single different one; SBS: 3.
	for i := range 7 {
		app.fileCase("officer@pgn.demo", fmt.Sprintf("e2e-pgn-%d", i))
	}
	single := fileCaseInput("e2e-pgn-single")
	single["departmentCode"] = "GT-17"
	single["entryPoint"] = "EL_CEIBO"
	single["child"] = map[string]any{"ageYears": 3, "sex": "MALE", "nationality": "GTM", "populationStatus": "RETURNEE", "careStatus": "WITH_FAMILY"}
	app.do(app.token("officer@pgn.demo"), fileCaseMutation, map[string]any{"input": single}).decode(t, &struct{}{})
	for i := range 3 {
		app.fileCase("officer@sbs.demo", fmt.Sprintf("e2e-sbs-%d", i))
	}

	var rep indicatorReport
	app.do(app.token("oversight@pdh.demo"), indicatorQuery, map[string]any{"from": "2026-01-01"}).decode(t, &rep)
	if len(rep.IndicatorReport.Indicators) < 12 {
		t.Fatalf("%d indicators", len(rep.IndicatorReport.Indicators))
	}
	suppressed := 0
	for _, ind := range rep.IndicatorReport.Indicators {
		check := func(where string, v *int) {
			if v != nil && *v >= 1 && *v <= 4 {
				t.Errorf("%s %s shows %d", ind.Name, where, *v)
			}
		}
		check("total", ind.Table.Total)
		for _, r := range ind.Table.Rows {
			check(fmt.Sprintf("row %v total", r.Key), r.Total)
			for _, c := range r.Cells {
				check(fmt.Sprintf("cell %v×%v", r.Key, c.Column), c.Value)
				if c.Suppressed != (c.Value == nil) {
					t.Errorf("%s %v×%v: suppressed %v, value %v", ind.Name, r.Key, c.Column, c.Suppressed, c.Value)
				}
			}
		}
		suppressed += ind.Table.SuppressedCells
		if ind.Name == "CASES_BY_DEPARTMENT" {
			for _, r := range ind.Table.Rows {
				if r.Key[0] == "GT-17" && !r.Cells[0].Suppressed {
					t.Errorf("GT-17 (one case) shows %v", r.Cells[0].Value)
				}
			}
		}
	}
	if suppressed == 0 {
		t.Error("no cell suppressed: the single case should be")
	}

	t.Run("OversightExportsTheReportAsXLSX", func(t *testing.T) {
		var out struct {
			ExportIndicatorReport struct {
				URL, Sha256 string
				Rows        int
			}
		}
		app.do(app.token("oversight@pdh.demo"), `mutation { exportIndicatorReport(input: {from: "2026-01-01", format: "XLSX"}) { url sha256 rows } }`, nil).decode(t, &out)
		x, err := excelize.OpenReader(bytes.NewReader(download(t, out.ExportIndicatorReport.URL)))
		if err != nil {
			t.Fatal(err)
		}
		defer x.Close()
		if n := len(x.GetSheetList()); n != len(rep.IndicatorReport.Indicators) {
			t.Errorf("%d sheets, want %d", n, len(rep.IndicatorReport.Indicators))
		}
	})
	t.Run("OversightExportsTheCasesAsCSV", func(t *testing.T) {
		var out struct {
			ExportCases struct {
				URL  string
				Rows int
			}
		}
		app.do(app.token("oversight@pdh.demo"), `mutation { exportCases(input: {format: "CSV"}) { url rows } }`, nil).decode(t, &out)
		body := download(t, out.ExportCases.URL)
		recs, err := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(body, []byte("\uFEFF")))).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		if out.ExportCases.Rows != 11 || len(recs) != 12 {
			t.Errorf("rows %d, records %d, want 11 cases", out.ExportCases.Rows, len(recs))
		}
		if bytes.Contains(body, []byte("María")) || bytes.Contains(body, []byte("Niña no acompañada")) {
			t.Error("a de-identified export carries a name or the narrative")
		}
	})
	t.Run("SupervisorSeesOnlyPGN", func(t *testing.T) {
		var out struct{ Statistics statsTable }
		app.do(app.token("supervisor@pgn.demo"), `{ statistics(input: {measure: "CASES", rows: ["INSTITUTION"], columns: ["SEX"]}) {
			total suppressedCells columns rows { key total cells { column value suppressed } } } }`, nil).decode(t, &out)
		if len(out.Statistics.Rows) != 1 || out.Statistics.Rows[0].Key[0] != "PGN" {
			t.Fatalf("rows %+v, want PGN only", out.Statistics.Rows)
		}
		var sup indicatorReport
		app.do(app.token("supervisor@pgn.demo"), indicatorQuery, map[string]any{"from": "2026-01-01"}).decode(t, &sup)
		for _, ind := range sup.IndicatorReport.Indicators {
			if ind.Name != "OVERDUE_BY_INSTITUTION" {
				continue
			}
			for _, r := range ind.Table.Rows {
				if r.Key[0] != "PGN" {
					t.Errorf("supervisor of PGN sees %s", strings.Join(r.Key, "/"))
				}
			}
		}
	})
}
