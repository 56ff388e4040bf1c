package export

import (
	"archive/zip"
	"bufio"
	"compress/flate"
	"encoding/xml"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// The XLSX writer writes the Office Open XML package itself, one zip entry
// after another, straight into the output: a sheet's rows go through a
// small buffer into the zip's compressor and out, so memory stays the same
// whatever the number of rows (about 1 MiB: the compressor's window and
// two buffers). excelize's StreamWriter, used before, keeps up to 16 MiB of
// every sheet in a buffer that grows by doubling, and copied each sheet
// once more into the zip at the end: 77 MiB of heap for a million rows.
// excelize still reads the files back in the tests.
//
// The package holds only what a spreadsheet needs: the workbook, its
// sheets (text as inline strings, so there is no shared-string table to
// keep in memory), a style sheet with the date formats, and the
// relationships and content types. Entries are written in that order; the
// workbook, which lists the sheets, comes after them.

// Limits of a worksheet.
const (
	// MaxSheetRows is how many rows a sheet holds: the rows go on in
	// another sheet, under the same header.
	MaxSheetRows = 1 << 20
	// MaxCellChars is the longest text a cell holds, in characters; longer
	// text is cut there, as spreadsheets cut it.
	MaxCellChars = 32767
)

// Styles of styles.xml, as a cell's attribute (index in cellXfs).
const (
	styleDate     = ` s="1"` // yyyy-mm-dd
	styleDateTime = ` s="2"` // yyyy-mm-dd hh:mm:ss
)

// excelEpoch is day 0 of spreadsheet date serials (1900 date system, after
// its phantom 29 February 1900).
var excelEpoch = time.Date(1899, 12, 30, 0, 0, 0, 0, time.UTC)

type xlsxWriter struct {
	zip    *zip.Writer
	buf    *bufio.Writer // the current sheet's entry; nil between sheets
	err    error         // the first error: every later call returns it
	sheets []string      // names, in order
	row    int           // rows written to the current sheet
	max    int           // rows a sheet holds (MaxSheetRows)
	cols   []string      // column letters, A, B, ...
	gap    bool          // a cell of the row was left out: the next names its place
	num    []byte        // scratch for numbers
	// the current sheet's name and header, and which part of it this is
	name   string
	header []string
	part   int
}

func newXLSX(w io.Writer) *xlsxWriter {
	z := zip.NewWriter(w)
	// The fastest deflate: sheets of codes repeat themselves, and compress
	// well at any level; the default level costs three times the CPU.
	z.RegisterCompressor(zip.Deflate, func(out io.Writer) (io.WriteCloser, error) {
		return flate.NewWriter(out, flate.BestSpeed)
	})
	return &xlsxWriter{zip: z, max: MaxSheetRows}
}

func (x *xlsxWriter) Sheet(name string, header []string) error {
	if x.err != nil {
		return x.err
	}
	x.name, x.header, x.part = name, header, 1
	return x.startSheet(name, header)
}

// startSheet ends the sheet being written and begins the next.
func (x *xlsxWriter) startSheet(name string, header []string) error {
	if err := x.endSheet(); err != nil {
		return err
	}
	x.sheets = append(x.sheets, x.uniqueName(sheetName(name, len(x.sheets))))
	w, err := x.zip.Create(fmt.Sprintf("xl/worksheets/sheet%d.xml", len(x.sheets)))
	if err != nil {
		return x.fail(err)
	}
	x.buf = bufio.NewWriterSize(w, 64<<10)
	x.row = 0
	x.buf.WriteString(xml.Header + `<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>`)
	return x.Row(anys(header)...)
}

// uniqueName is name, or name with a number when the workbook already has
// a sheet of that name (names compare without case).
func (x *xlsxWriter) uniqueName(name string) string {
	taken := func(n string) bool {
		for _, s := range x.sheets {
			if strings.EqualFold(s, n) {
				return true
			}
		}
		return false
	}
	base := []rune(name)
	for i := 2; taken(name); i++ {
		suffix := fmt.Sprintf(" (%d)", i)
		b := base
		if len(b)+len(suffix) > 31 {
			b = b[:31-len(suffix)]
		}
		name = string(b) + suffix
	}
	return name
}

// sheetName is a valid sheet name: at most 31 characters, none of
// : \ / ? * [ ] and no apostrophe.
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

func (x *xlsxWriter) Row(cells ...any) error {
	if x.err != nil {
		return x.err
	}
	if x.buf == nil {
		return fmt.Errorf("export: row before sheet")
	}
	if x.row == x.max {
		x.part++
		if err := x.startSheet(fmt.Sprintf("%s (%d)", x.name, x.part), x.header); err != nil {
			return err
		}
	}
	x.row++
	b := x.buf
	r := strconv.Itoa(x.row)
	b.WriteString(`<row r="`)
	b.WriteString(r)
	b.WriteString(`">`)
	x.gap = false
	for i, v := range cells {
		x.cell(x.col(i), r, v)
	}
	_, err := b.WriteString(`</row>`)
	return x.fail(err)
}

// col is the letters of the i-th column (from 0).
func (x *xlsxWriter) col(i int) string {
	for len(x.cols) <= i {
		n, s := len(x.cols)+1, ""
		for ; n > 0; n = (n - 1) / 26 {
			s = string(rune('A'+(n-1)%26)) + s
		}
		x.cols = append(x.cols, s)
	}
	return x.cols[i]
}

// cell writes one cell at column col of row; nil and a nil *int write
// nothing.
func (x *xlsxWriter) cell(col, row string, v any) {
	switch c := v.(type) {
	case nil:
		x.gap = true
	case string:
		x.text(col, row, Neutralize(c))
	case int:
		x.number(col, row, "", strconv.AppendInt(x.num[:0], int64(c), 10))
	case int64:
		x.number(col, row, "", strconv.AppendInt(x.num[:0], c, 10))
	case *int:
		if c != nil {
			x.number(col, row, "", strconv.AppendInt(x.num[:0], int64(*c), 10))
		} else {
			x.gap = true
		}
	case bool:
		v := []byte("0")
		if c {
			v = []byte("1")
		}
		x.open(col, row, ` t="b"`)
		x.buf.Write(v)
		x.buf.WriteString(`</v></c>`)
	case Date:
		t := time.Time(c)
		day := time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
		x.number(col, row, styleDate, strconv.AppendInt(x.num[:0], int64(day.Sub(excelEpoch)/(24*time.Hour)), 10))
	case time.Time:
		serial := float64(c.UTC().Sub(excelEpoch)) / float64(24*time.Hour)
		x.number(col, row, styleDateTime, strconv.AppendFloat(x.num[:0], serial, 'f', -1, 64))
	default:
		x.text(col, row, Neutralize(fmt.Sprint(v)))
	}
}

// open begins a cell with attrs and its value element.
func (x *xlsxWriter) open(col, row, attrs string) {
	x.start(col, row)
	x.buf.WriteString(attrs)
	x.buf.WriteString(`><v>`)
}

// start begins a cell element. Its reference (A1) is optional when it
// follows the cell before it; it is written after a cell left out.
func (x *xlsxWriter) start(col, row string) {
	b := x.buf
	b.WriteString(`<c`)
	if x.gap {
		b.WriteString(` r="`)
		b.WriteString(col)
		b.WriteString(row)
		b.WriteString(`"`)
		x.gap = false
	}
}

func (x *xlsxWriter) number(col, row, style string, v []byte) {
	x.num = v[:0]
	x.open(col, row, style)
	x.buf.Write(v)
	x.buf.WriteString(`</v></c>`)
}

// text writes an inline string, escaped; characters XML cannot hold become
// U+FFFD.
func (x *xlsxWriter) text(col, row, s string) {
	if len(s) > MaxCellChars && utf8.RuneCountInString(s) > MaxCellChars {
		s = string([]rune(s)[:MaxCellChars])
	}
	x.start(col, row)
	b := x.buf
	if s != strings.TrimSpace(s) {
		b.WriteString(` t="inlineStr"><is><t xml:space="preserve">`)
	} else {
		b.WriteString(` t="inlineStr"><is><t>`)
	}
	if plain(s) {
		b.WriteString(s)
	} else {
		_ = xml.EscapeText(b, []byte(s)) // writes to the buffer, whose error Row returns
	}
	b.WriteString(`</t></is></c>`)
}

// plain reports whether s is printable ASCII XML text needs no escape for.
func plain(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f || c == '<' || c == '>' || c == '&' || c == '"' || c == '\'' {
			return false
		}
	}
	return true
}

// endSheet closes the sheet being written, if any.
func (x *xlsxWriter) endSheet() error {
	if x.err != nil || x.buf == nil {
		return x.err
	}
	x.buf.WriteString(`</sheetData></worksheet>`)
	err := x.buf.Flush()
	x.buf = nil
	return x.fail(err)
}

func (x *xlsxWriter) fail(err error) error {
	if err != nil && x.err == nil {
		x.err = err
	}
	return x.err
}

func (x *xlsxWriter) Close() error {
	if x.err != nil {
		return x.err
	}
	if len(x.sheets) == 0 {
		if err := x.Sheet("Sheet1", nil); err != nil {
			return err
		}
	}
	if err := x.endSheet(); err != nil {
		return err
	}
	const (
		main = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
		rels = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
		pkg  = "http://schemas.openxmlformats.org/package/2006/relationships"
		ct   = "application/vnd.openxmlformats-officedocument.spreadsheetml."
	)
	var wb, wbRels, types strings.Builder
	wb.WriteString(xml.Header + `<workbook xmlns="` + main + `" xmlns:r="` + rels + `"><sheets>`)
	wbRels.WriteString(xml.Header + `<Relationships xmlns="` + pkg + `">`)
	types.WriteString(xml.Header + `<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">` +
		`<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>` +
		`<Default Extension="xml" ContentType="application/xml"/>` +
		`<Override PartName="/xl/workbook.xml" ContentType="` + ct + `sheet.main+xml"/>` +
		`<Override PartName="/xl/styles.xml" ContentType="` + ct + `styles+xml"/>`)
	for i, name := range x.sheets {
		n := strconv.Itoa(i + 1)
		wb.WriteString(`<sheet name="`)
		_ = xml.EscapeText(&wb, []byte(name))
		wb.WriteString(`" sheetId="` + n + `" r:id="rId` + n + `"/>`)
		wbRels.WriteString(`<Relationship Id="rId` + n + `" Type="` + rels + `/worksheet" Target="worksheets/sheet` + n + `.xml"/>`)
		types.WriteString(`<Override PartName="/xl/worksheets/sheet` + n + `.xml" ContentType="` + ct + `worksheet+xml"/>`)
	}
	wb.WriteString(`</sheets></workbook>`)
	wbRels.WriteString(`<Relationship Id="rId` + strconv.Itoa(len(x.sheets)+1) + `" Type="` + rels + `/styles" Target="styles.xml"/></Relationships>`)
	types.WriteString(`</Types>`)
	for _, e := range []struct{ name, body string }{
		{"xl/styles.xml", stylesXML},
		{"xl/workbook.xml", wb.String()},
		{"xl/_rels/workbook.xml.rels", wbRels.String()},
		{"_rels/.rels", xml.Header + `<Relationships xmlns="` + pkg + `"><Relationship Id="rId1" Type="` + rels +
			`/officeDocument" Target="xl/workbook.xml"/></Relationships>`},
		{"[Content_Types].xml", types.String()},
	} {
		w, err := x.zip.Create(e.name)
		if err != nil {
			return x.fail(err)
		}
		if _, err := io.WriteString(w, e.body); err != nil {
			return x.fail(err)
		}
	}
	return x.fail(x.zip.Close())
}

// stylesXML is the style sheet: the default style, dates and instants.
const stylesXML = xml.Header + `<styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">` +
	`<numFmts count="2"><numFmt numFmtId="164" formatCode="yyyy-mm-dd"/><numFmt numFmtId="165" formatCode="yyyy-mm-dd hh:mm:ss"/></numFmts>` +
	`<fonts count="1"><font><sz val="11"/><name val="Calibri"/><family val="2"/></font></fonts>` +
	`<fills count="2"><fill><patternFill patternType="none"/></fill><fill><patternFill patternType="gray125"/></fill></fills>` +
	`<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>` +
	`<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>` +
	`<cellXfs count="3"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>` +
	`<xf numFmtId="164" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>` +
	`<xf numFmtId="165" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/></cellXfs>` +
	`<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>` +
	`</styleSheet>`
