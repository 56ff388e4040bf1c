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
	"bufio"
	"encoding/csv"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
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
