package export

import (
	"bytes"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

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

// TestXLSXCells: every kind of cell reads back as written; text that XML
// must escape, or cannot hold, stays text; a sheet that is full goes on in
// another under the same header; sheet names stay valid and distinct.
func TestXLSXCells(t *testing.T) {
	var buf bytes.Buffer
	w := newXLSX(&buf)
	w.max = 3 // header and two rows a sheet
	at := time.Date(2026, 3, 10, 15, 4, 5, 0, time.FixedZone("GT", -6*3600))
	long := strings.Repeat("ñ", MaxCellChars+10)
	if err := w.Sheet("casos: 2026/03", []string{"texto", "n", "fecha", "instante", "sí", "vacío"}); err != nil {
		t.Fatal(err)
	}
	rows := [][]any{
		{`<a href="x">&'</a>`, 7, Date(time.Date(2026, 1, 2, 0, 0, 0, 0, time.UTC)), at, true, nil},
		{"tab\there\x00\x1b end", int64(-3), nil, nil, false, (*int)(nil)},
		{long, 0},
		{"@cmd", 1},
	}
	for _, r := range rows {
		if err := w.Row(r...); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Sheet("casos: 2026/03", []string{"x"}); err != nil {
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
	want := []string{"casos_ 2026_03", "casos_ 2026_03 (2)", "casos_ 2026_03 (3)"}
	if got := f.GetSheetList(); !slices.Equal(got, want) {
		t.Fatalf("sheets %q, want %q", got, want)
	}
	first, _ := f.GetRows(want[0])
	second, _ := f.GetRows(want[1])
	third, _ := f.GetRows(want[2])
	header := []string{"texto", "n", "fecha", "instante", "sí", "vacío"}
	if len(first) != 3 || len(second) != 3 || len(third) != 1 || !slices.Equal(first[0], header) || !slices.Equal(second[0], header) {
		t.Fatalf("rows %q | %q | %q", first, second, third)
	}
	if got := first[1][:5]; !slices.Equal(got, []string{`<a href="x">&'</a>`, "7", "2026-01-02", "2026-03-10 21:04:05", "TRUE"}) {
		t.Errorf("row 1 %q", got)
	}
	if got := first[2]; got[0] != "tab\there\uFFFD\uFFFD end" || got[1] != "-3" || len(got) > 2 && got[2] != "" {
		t.Errorf("row 2 %q", got)
	}
	if got := second[1]; utf8.RuneCountInString(got[0]) != MaxCellChars || got[1] != "0" {
		t.Errorf("long text: %d characters", utf8.RuneCountInString(got[0]))
	}
	if got := second[2]; got[0] != "'@cmd" {
		t.Errorf("row 4 %q", got)
	}
	if v, _ := f.GetCellValue(want[0], "D2", excelize.Options{RawCellValue: true}); !strings.HasPrefix(v, "46091.877") {
		t.Errorf("D2 raw %q: not the instant's serial", v)
	}
}
