// Package export writes tables to files that are safe to open, CSV and
// XLSX, streamed row by row, and keeps them in an exports bucket: encrypted
// at rest (SSE-S3), read only through presigned URLs of a few minutes, and
// deleted after 24 hours.
//
// Safe to open (OWASP, CSV injection): every text cell that begins with =,
// +, -, @, a tab or a carriage return is prefixed with a single quote, in
// CSV and XLSX alike, so that no spreadsheet reads it as a formula. Text
// cells are written as text, numbers as numbers, dates as dates (XLSX: a
// date cell with a yyyy-mm-dd format; CSV: ISO 8601, which spreadsheets
// read as a date). CSV is UTF-8 with a byte order mark, so that Excel in
// Spanish shows accents.
package export

import (
	"archive/zip"
	"bufio"
	"encoding/csv"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/xuri/excelize/v2"
)

// Formats.
const (
	CSV  = "CSV"
	XLSX = "XLSX"
)

// ContentType is the media type of a format.
func ContentType(format string) string {
	if format == XLSX {
		return "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
	}
	return "text/csv; charset=utf-8"
}

// Ext is the file name extension of a format.
func Ext(format string) string { return "." + strings.ToLower(format) }

// Date is a cell that holds a calendar date.
type Date time.Time

// Writer writes one or more sheets of rows. Cell values are string, int,
// int64, *int (nil: empty), Date, time.Time (written in UTC, RFC 3339),
// bool or nil.
type Writer interface {
	// Sheet starts a sheet with a header row. In CSV, sheets after the
	// first follow a blank line and a line with the sheet's name.
	Sheet(name string, header []string) error
	// Row writes one row of the current sheet.
	Row(cells ...any) error
	// Close finishes the file; nothing is complete before it.
	Close() error
}

// NewWriter returns a writer of format to w.
func NewWriter(format string, w io.Writer) (Writer, error) {
	switch format {
	case CSV:
		return newCSV(w), nil
	case XLSX:
		return newXLSX(w), nil
	}
	return nil, fmt.Errorf("export: unknown format %q", format)
}

// Neutralize makes a text cell inert in a spreadsheet: one that begins with
// =, +, -, @, tab or carriage return gets a leading single quote.
func Neutralize(s string) string {
	if s == "" {
		return s
	}
	switch s[0] {
	case '=', '+', '-', '@', '\t', '\r':
		return "'" + s
	}
	return s
}

// bom is UTF-8's byte order mark.
const bom = "\uFEFF"

type csvWriter struct {
	buf    *bufio.Writer
	w      *csv.Writer
	sheets int
	rec    []string
}

func newCSV(w io.Writer) *csvWriter {
	buf := bufio.NewWriterSize(w, 64<<10)
	c := csv.NewWriter(buf)
	c.UseCRLF = true // what spreadsheets expect
	return &csvWriter{buf: buf, w: c}
}

func (c *csvWriter) Sheet(name string, header []string) error {
	if c.sheets == 0 {
		if _, err := c.buf.WriteString(bom); err != nil {
			return err
		}
	} else {
		if err := c.w.Write([]string{""}); err != nil {
			return err
		}
		if err := c.w.Write([]string{Neutralize(name)}); err != nil {
			return err
		}
	}
	c.sheets++
	return c.Row(anys(header)...)
}

func (c *csvWriter) Row(cells ...any) error {
	c.rec = c.rec[:0]
	for _, v := range cells {
		c.rec = append(c.rec, csvCell(v))
	}
	return c.w.Write(c.rec)
}

func csvCell(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return Neutralize(x)
	case int:
		return strconv.Itoa(x)
	case int64:
		return strconv.FormatInt(x, 10)
	case *int:
		if x == nil {
			return ""
		}
		return strconv.Itoa(*x)
	case bool:
		return strconv.FormatBool(x)
	case Date:
		return time.Time(x).Format(time.DateOnly)
	case time.Time:
		return x.UTC().Format(time.RFC3339)
	}
	return Neutralize(fmt.Sprint(v))
}

func (c *csvWriter) Close() error {
	c.w.Flush()
	if err := c.w.Error(); err != nil {
		return err
	}
	return c.buf.Flush()
}

func anys(s []string) []any {
	out := make([]any, len(s))
	for i, v := range s {
		out[i] = v
	}
	return out
}

// xlsxWriter streams sheets with excelize's StreamWriter, which keeps at
// most a chunk of each sheet (16 MiB) in memory and spills the rest to a
// temporary file, then zips them straight into the output.
type xlsxWriter struct {
	out      io.Writer
	f        *excelize.File
	sw       *excelize.StreamWriter
	row      int
	sheets   int
	date     int // style of date cells
	datetime int // style of instants
	cells    []any
	// the current sheet's name and header, and which part of it this is
	name   string
	header []string
	part   int
}

func newXLSX(w io.Writer) *xlsxWriter {
	f := excelize.NewFile()
	// excelize zips the workbook into a buffer the size of the whole file
	// and copies that out; its zip writer hook is handed that buffer, and
	// writes to w instead, so the file streams out as it is zipped.
	f.SetZipWriter(func(io.Writer) excelize.ZipWriter { return zip.NewWriter(w) })
	return &xlsxWriter{out: w, f: f}
}

func (x *xlsxWriter) Sheet(name string, header []string) error {
	if err := x.flushSheet(); err != nil {
		return err
	}
	x.name, x.header, x.part = name, header, 1
	return x.startSheet(name, header)
}

// startSheet begins a sheet of the workbook.
func (x *xlsxWriter) startSheet(name string, header []string) error {
	name = sheetName(name, x.sheets)
	if x.sheets == 0 {
		if err := x.f.SetSheetName("Sheet1", name); err != nil {
			return err
		}
		var err error
		if x.date, err = x.f.NewStyle(&excelize.Style{CustomNumFmt: ptr("yyyy-mm-dd")}); err != nil {
			return err
		}
		if x.datetime, err = x.f.NewStyle(&excelize.Style{CustomNumFmt: ptr("yyyy-mm-dd hh:mm:ss")}); err != nil {
			return err
		}
	} else if _, err := x.f.NewSheet(name); err != nil {
		return err
	}
	sw, err := x.f.NewStreamWriter(name)
	if err != nil {
		return err
	}
	x.sw, x.row = sw, 0
	x.sheets++
	return x.Row(anys(header)...)
}

// sheetName is a valid sheet name: at most 31 characters, none of
// : \ / ? * [ ] and no leading or trailing apostrophe.
func sheetName(name string, n int) string {
	name = strings.Map(func(r rune) rune {
		if strings.ContainsRune(`:\/?*[]'`, r) {
			return '_'
		}
		return r
	}, name)
	if r := []rune(name); len(r) > 31 {
		name = string(r[:31])
	}
	if name == "" {
		return fmt.Sprintf("Sheet%d", n+1)
	}
	return name
}

func ptr[T any](v T) *T { return &v }

func (x *xlsxWriter) Row(cells ...any) error {
	if x.sw == nil {
		return fmt.Errorf("export: row before sheet")
	}
	if x.row == excelize.TotalRows {
		// A sheet holds 1,048,576 rows: the rows go on in another sheet,
		// under the same header.
		if err := x.flushSheet(); err != nil {
			return err
		}
		x.part++
		if err := x.startSheet(fmt.Sprintf("%s (%d)", x.name, x.part), x.header); err != nil {
			return err
		}
	}
	x.row++
	x.cells = x.cells[:0]
	for _, v := range cells {
		switch c := v.(type) {
		case string:
			x.cells = append(x.cells, Neutralize(c))
		case *int:
			if c == nil {
				x.cells = append(x.cells, nil)
			} else {
				x.cells = append(x.cells, *c)
			}
		case Date:
			x.cells = append(x.cells, excelize.Cell{StyleID: x.date, Value: time.Time(c)})
		case time.Time:
			x.cells = append(x.cells, excelize.Cell{StyleID: x.datetime, Value: c.UTC()})
		case int, int64, bool, nil:
			x.cells = append(x.cells, c)
		default:
			x.cells = append(x.cells, Neutralize(fmt.Sprint(v)))
		}
	}
	cell, err := excelize.CoordinatesToCellName(1, x.row)
	if err != nil {
		return err
	}
	return x.sw.SetRow(cell, x.cells)
}

func (x *xlsxWriter) flushSheet() error {
	if x.sw == nil {
		return nil
	}
	err := x.sw.Flush()
	x.sw = nil
	return err
}

func (x *xlsxWriter) Close() error {
	defer x.f.Close() // removes the temporary files
	if x.sheets == 0 {
		if err := x.Sheet("Sheet1", nil); err != nil {
			return err
		}
	}
	if err := x.flushSheet(); err != nil {
		return err
	}
	// Everything went to out through the zip writer: what is left in
	// excelize's own buffer is nothing.
	_, err := x.f.WriteTo(io.Discard)
	return err
}
