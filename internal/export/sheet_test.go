package export

import (
	"bytes"
	"strconv"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"
)

func TestNeutralize(t *testing.T) {
	for in, want := range map[string]string{
		`=HYPERLINK("http://x","y")`: `'=HYPERLINK("http://x","y")`,
		"+57 5555":                   "'+57 5555",
		"-2+3":                       "'-2+3",
		"@SUM(A1)":                   "'@SUM(A1)",
		"\tcmd":                      "'\tcmd",
		"\rcmd":                      "'\rcmd",
		"Ángel":                      "Ángel",
		"GT-13":                      "GT-13",
		"":                           "",
	} {
		if got := Neutralize(in); got != want {
			t.Errorf("Neutralize(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestCSVIsSafeToOpen: BOM first, formula cells inert, dates ISO, empty
// for suppressed.
func TestCSVIsSafeToOpen(t *testing.T) {
	var buf bytes.Buffer
	w, _ := NewWriter(CSV, &buf)
	n := 7
	if err := w.Sheet("casos", []string{"a", "b", "c", "d"}); err != nil {
		t.Fatal(err)
	}
	if err := w.Row(`=HYPERLINK("http://evil","x")`, Date(time.Date(2026, 3, 10, 0, 0, 0, 0, time.UTC)), &n, (*int)(nil)); err != nil {
		t.Fatal(err)
	}
	if err := w.Sheet("otra", []string{"x"}); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	want := "\uFEFFa,b,c,d\r\n\"'=HYPERLINK(\"\"http://evil\"\",\"\"x\"\")\",2026-03-10,7,\r\n\r\notra\r\nx\r\n"
	if got := buf.String(); got != want {
		t.Errorf("got %q\nwant %q", got, want)
	}
}

// TestXLSXRoundTrip: reopened with excelize, the file holds the rows, text
// inert, numbers as numbers and dates as dates.
func TestXLSXRoundTrip(t *testing.T) {
	var buf bytes.Buffer
	w, _ := NewWriter(XLSX, &buf)
	n := 12
	day := time.Date(2026, 3, 10, 0, 0, 0, 0, time.UTC)
	if err := w.Sheet("CASES_BY_DEPARTMENT", []string{"DEPARTMENT", "CASES", "FILED"}); err != nil {
		t.Fatal(err)
	}
	if err := w.Row("=1+1", &n, Date(day)); err != nil {
		t.Fatal(err)
	}
	if err := w.Sheet("second", []string{"x"}); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	f, err := excelize.OpenReader(&buf)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if got := f.GetSheetList(); len(got) != 2 || got[0] != "CASES_BY_DEPARTMENT" {
		t.Fatalf("sheets %v", got)
	}
	rows, err := f.GetRows("CASES_BY_DEPARTMENT")
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 2 || rows[1][0] != "'=1+1" || rows[1][1] != "12" || rows[1][2] != "2026-03-10" {
		t.Fatalf("rows %q", rows)
	}
	if formula, _ := f.GetCellFormula("CASES_BY_DEPARTMENT", "A2"); formula != "" {
		t.Errorf("A2 is a formula: %s", formula)
	}
	raw, _ := f.GetCellValue("CASES_BY_DEPARTMENT", "C2", excelize.Options{RawCellValue: true})
	if serial, err := strconv.ParseFloat(raw, 64); err != nil || serial < 46000 {
		t.Errorf("C2 raw %q: not a date serial", raw)
	}
}
