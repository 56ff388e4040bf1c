package evidence

import (
	"bytes"
	"encoding/binary"
	"io"
	"path"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/gabriel-vasile/mimetype"

	"amparo/internal/apperr"
)

// sniffLen is how much of a file's beginning decides its type: what
// mimetype reads by default, and enough to reach the "word/" or "xl/" entry
// of an OOXML package as Office and LibreOffice write them.
const sniffLen = 4096

// allowed are the types evidence may have: photos (JPEG, PNG, HEIC), PDF,
// MP4 video, audio (MP3, M4A, Ogg, WAV), plain text, DOCX and XLSX. Each is
// a format that ordinary phones and offices produce and that cannot run
// code when opened as a download. HTML, SVG and scripts are text but are
// refused: they are active content in a browser.
var allowed = []string{
	"image/jpeg",
	"image/png",
	"image/heic", "image/heic-sequence", "image/heif", "image/heif-sequence",
	"application/pdf",
	"video/mp4",
	"audio/mpeg", "audio/x-m4a", "audio/mp4", "audio/ogg", "audio/wav",
	"text/plain",
	"application/vnd.openxmlformats-officedocument.wordprocessingml.document",
	"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}

// sniff decides the content type of a file from its first bytes, whatever
// its name or the client's claim.
//
// Errors: UNSUPPORTED_MEDIA_TYPE when the type is not in the allowlist.
func sniff(head []byte) (string, error) {
	m := mimetype.Detect(head)
	for _, a := range allowed {
		if m.Is(a) {
			return m.String(), nil
		}
	}
	return "", apperr.New(apperr.UnsupportedMedia,
		"tipo de archivo no admitido; se aceptan fotos (JPEG, PNG, HEIC), PDF, video MP4, audio (MP3, M4A, OGG, WAV), texto, DOCX y XLSX",
		"unsupported file type; accepted are photos (JPEG, PNG, HEIC), PDF, MP4 video, audio (MP3, M4A, OGG, WAV), text, DOCX and XLSX")
}

// extensions are the file name extensions that belong to each allowed type;
// the first is the one given to a name that has none of them.
var extensions = map[string][]string{
	"image/jpeg":          {".jpg", ".jpeg", ".jpe"},
	"image/png":           {".png"},
	"image/heic":          {".heic", ".heif", ".hif"},
	"image/heic-sequence": {".heics", ".heic"},
	"image/heif":          {".heif", ".heic", ".hif"},
	"image/heif-sequence": {".heifs", ".heif"},
	"application/pdf":     {".pdf"},
	"video/mp4":           {".mp4", ".m4v"},
	"audio/mpeg":          {".mp3"},
	"audio/x-m4a":         {".m4a", ".mp4"},
	"audio/mp4":           {".m4a", ".mp4"},
	"audio/ogg":           {".ogg", ".oga", ".opus"},
	"audio/wav":           {".wav"},
	"text/plain":          {".txt", ".text", ".log", ".csv", ".md"},
	"application/vnd.openxmlformats-officedocument.wordprocessingml.document": {".docx"},
	"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet":       {".xlsx"},
}

// storedName is the file name kept for a sanitized name of a file of
// contentType: its extension must be one of the type's, so that no
// download is saved as "acta.bat", "nota.hta" or "informe.pdf.exe" and run
// by a double click. A foreign extension is kept readable in the name
// ("nota_bat.txt"); a missing one is added.
func storedName(name, contentType string) string {
	mt, _, _ := strings.Cut(contentType, ";")
	exts := extensions[strings.TrimSpace(mt)]
	if len(exts) == 0 {
		exts = []string{".bin"}
	}
	ext := path.Ext(name)
	if slices.Contains(exts, strings.ToLower(ext)) {
		return name
	}
	stem := strings.TrimSuffix(name, ext)
	if ext != "" {
		stem += "_" + strings.TrimPrefix(ext, ".")
	}
	return SanitizeFilename(stem + exts[0])
}

// inspect passes r through while checking the whole file's structure for
// the allowed types that can carry code, which the first bytes alone
// cannot tell: a PDF header followed by an executable, or a text that turns
// into a script further on. The read that finds a problem fails with
// UNSUPPORTED_MEDIA_TYPE, so nothing of it is recorded.
//
// Every type: no Windows (PE), Linux (ELF) or macOS (Mach-O) executable
// anywhere in it. PDF: ends with %%EOF, and names no JavaScript, launch
// action or embedded file in its uncompressed structure (names hidden in a
// compressed object stream are not seen). Text: valid UTF-8 throughout, no
// NUL or control characters but tab, line breaks and form feed, and no
// HTML or HTA markup. DOCX and XLSX: no macro project, ActiveX control,
// OLE object or executable among the package's entries (local and central
// directory names both).
func inspect(r io.Reader, contentType string) io.Reader {
	mt, _, _ := strings.Cut(contentType, ";")
	return &inspector{r: r, kind: strings.TrimSpace(mt)}
}

// lookahead is how far past a candidate position a check may read: a PE
// header lies at most 4 KiB after its MZ stub in any linker's output.
const lookahead = 4096 + 0x40 + 8

type inspector struct {
	r     io.Reader
	kind  string
	buf   []byte // stream bytes from buf[0] on; positions before scan are checked
	scan  int
	total int64
	carry []byte // text: an incomplete UTF-8 sequence at the end of the last read
	err   error
}

func (in *inspector) Read(p []byte) (int, error) {
	if in.err != nil {
		return 0, in.err
	}
	n, err := in.r.Read(p)
	if n > 0 {
		in.feed(p[:n], false)
	}
	if err == io.EOF {
		in.feed(nil, true)
	}
	if in.err != nil {
		return n, in.err
	}
	return n, err
}

func (in *inspector) refuse(es, en string) {
	if in.err == nil {
		in.err = apperr.New(apperr.UnsupportedMedia, es, en)
	}
}

// feed appends chunk and checks every position whose lookahead has
// arrived (all of them at the end).
func (in *inspector) feed(chunk []byte, final bool) {
	in.total += int64(len(chunk))
	if in.kind == "text/plain" {
		in.text(chunk, final)
	}
	in.buf = append(in.buf, chunk...)
	limit := len(in.buf) - lookahead
	if final {
		limit = len(in.buf)
	}
	if limit > in.scan {
		in.check(limit)
		in.scan = limit
	}
	if final {
		in.trailer()
		return
	}
	// Keep the lookahead and a little behind it (markup spans reads).
	if drop := in.scan - 64; drop > 0 {
		in.buf = in.buf[:copy(in.buf, in.buf[drop:])]
		in.scan -= drop
	}
}

// check looks at the candidate positions in [in.scan, limit).
func (in *inspector) check(limit int) {
	b := in.buf
	each := func(pat string, fn func(i int) bool) {
		for i := in.scan; i < limit; {
			j := bytes.Index(b[i:min(limit+len(pat)-1, len(b))], []byte(pat))
			if j < 0 {
				return
			}
			if fn(i + j) {
				return
			}
			i += j + 1
		}
	}
	executable := false
	each("MZ", func(i int) bool { executable = isPE(b[i:]); return executable })
	if !executable {
		each("\x7fELF", func(i int) bool { executable = isELF(b[i:]); return executable })
	}
	if !executable {
		// Big-endian magics (fe ed fa ce, fe ed fa cf) and little-endian
		// ones (ce fa ed fe, cf fa ed fe), by their middle bytes.
		each("\xed\xfa", func(i int) bool { executable = i >= 1 && isMachO(b[i-1:]); return executable })
		if !executable {
			each("\xfa\xed", func(i int) bool { executable = i >= 1 && isMachO(b[i-1:]); return executable })
		}
	}
	if executable {
		in.refuse("el archivo contiene un programa ejecutable", "the file contains an executable program")
		return
	}
	switch in.kind {
	case "application/pdf":
		var buf [16]byte
		each("/", func(i int) bool {
			if name := pdfName(b[i+1:], &buf); activePDFNames[string(name)] {
				in.refuse("el PDF contiene código o archivos incrustados ("+string(name)+"); imprímalo a un PDF nuevo",
					"the PDF carries code or embedded files ("+string(name)+"); print it to a new PDF")
				return true
			}
			return false
		})
	case "text/plain":
		lower := bytes.ToLower(b[max(in.scan-16, 0):min(limit+16, len(b))])
		for _, m := range markup {
			if bytes.Contains(lower, []byte(m)) {
				in.refuse("el texto contiene marcado HTML activo", "the text contains active HTML markup")
				return
			}
		}
	case "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
		"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet":
		check := func(name string) bool {
			if activeOfficeEntry(name) {
				in.refuse("el documento contiene macros, controles o programas ("+name+")",
					"the document carries macros, controls or programs ("+name+")")
				return true
			}
			return false
		}
		each("PK\x03\x04", func(i int) bool { return check(zipName(b[i:], 26, 30)) })
		each("PK\x01\x02", func(i int) bool { return check(zipName(b[i:], 28, 46)) })
	}
}

// trailer checks what only the end of the file tells.
func (in *inspector) trailer() {
	if in.kind != "application/pdf" || in.err != nil {
		return
	}
	end := bytes.TrimRight(in.buf[max(len(in.buf)-1024, 0):], " \t\r\n\x00")
	if !bytes.HasSuffix(end, []byte("%%EOF")) {
		in.refuse("el PDF no termina como un PDF (%%EOF): algo va tras el documento",
			"the PDF does not end as a PDF does (%%EOF): something follows the document")
	}
}

// text checks chunk as part of a UTF-8 text.
func (in *inspector) text(chunk []byte, final bool) {
	b := append(in.carry, chunk...)
	// Hold back an incomplete sequence at the end for the next read.
	cut := len(b)
	for k := 1; k <= utf8.UTFMax && k <= len(b); k++ {
		if utf8.RuneStart(b[len(b)-k]) {
			if !utf8.FullRune(b[len(b)-k:]) && !final {
				cut = len(b) - k
			}
			break
		}
	}
	in.carry = append(in.carry[:0], b[cut:]...)
	if !utf8.Valid(b[:cut]) || final && len(in.carry) > 0 {
		in.refuse("el texto no es UTF-8 válido de principio a fin", "the text is not valid UTF-8 throughout")
		return
	}
	for _, c := range b[:cut] {
		if c < 0x20 && c != '\t' && c != '\n' && c != '\r' && c != '\f' || c == 0x7f {
			in.refuse("el texto contiene caracteres de control o binarios", "the text contains control or binary characters")
			return
		}
	}
}

// markup is what makes a text a page or an HTML application when a browser
// or Windows (mshta) opens it, lower case.
var markup = []string{"<script", "<html", "<hta:", "<iframe", "<svg", "<object", "<embed", "<body", "<!doctype html", "<?xml-stylesheet"}

// activePDFNames are the PDF names of JavaScript, of actions that start
// programs or open forms that run code, and of embedded files.
var activePDFNames = map[string]bool{
	"JavaScript": true, "Launch": true, "EmbeddedFile": true, "EmbeddedFiles": true, "RichMedia": true,
}

// pdfName reads a PDF name after its slash, decoding #xx escapes
// ("/Java#53cript" is "/JavaScript"), into buf, and returns it. Only names
// that may be active are read in full: the others end at their first byte.
func pdfName(b []byte, buf *[16]byte) []byte {
	if len(b) == 0 || strings.IndexByte("JLER#", b[0]) < 0 {
		return nil
	}
	n := 0
	for i := 0; i < len(b) && n < len(buf); i++ {
		c := b[i]
		switch {
		case c == '#' && i+2 < len(b):
			hi, ok1 := unhex(b[i+1])
			lo, ok2 := unhex(b[i+2])
			if !ok1 || !ok2 {
				return buf[:n]
			}
			c = hi<<4 | lo
			i += 2
		case c <= ' ' || strings.IndexByte("()<>[]{}/%", c) >= 0:
			return buf[:n]
		}
		buf[n] = c
		n++
	}
	return buf[:n]
}

func unhex(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// zipName reads the entry name of a ZIP header whose name length is at
// lenAt and name at nameAt.
func zipName(b []byte, lenAt, nameAt int) string {
	if len(b) < nameAt {
		return ""
	}
	n := int(binary.LittleEndian.Uint16(b[lenAt:]))
	return string(b[nameAt:min(nameAt+n, len(b), nameAt+512)])
}

// activeOfficeEntry tells the package entries that run code: the VBA
// project of macros, ActiveX controls, OLE objects (which wrap any
// program), and programs themselves.
func activeOfficeEntry(name string) bool {
	n := strings.ToLower(name)
	if strings.Contains(n, "vbaproject") || strings.Contains(n, "activex") || strings.Contains(n, "vbadata") {
		return true
	}
	if strings.Contains(n, "embeddings/") && strings.HasSuffix(n, ".bin") {
		return true
	}
	return executableExt[strings.ToLower(path.Ext(n))]
}

// executableExt are extensions Windows runs or a browser renders.
var executableExt = map[string]bool{
	".exe": true, ".dll": true, ".com": true, ".scr": true, ".bat": true, ".cmd": true, ".ps1": true, ".vbs": true,
	".vbe": true, ".js": true, ".jse": true, ".wsf": true, ".hta": true, ".msi": true, ".jar": true, ".lnk": true,
	".html": true, ".htm": true, ".svg": true, ".sh": true,
}

// isPE reports an MS-DOS stub whose header offset names a PE header.
func isPE(b []byte) bool {
	if len(b) < 0x40 {
		return false
	}
	off := int(binary.LittleEndian.Uint32(b[0x3c:]))
	return off >= 0x40 && off <= 4096 && off+4 <= len(b) && string(b[off:off+4]) == "PE\x00\x00"
}

// isELF reports an ELF identification: class, data encoding and version
// valid, padding zero.
func isELF(b []byte) bool {
	if len(b) < 16 {
		return false
	}
	return (b[4] == 1 || b[4] == 2) && (b[5] == 1 || b[5] == 2) && b[6] == 1 && bytes.Equal(b[9:16], make([]byte, 7))
}

// isMachO reports a Mach-O header of a known CPU and file type.
func isMachO(b []byte) bool {
	if len(b) < 16 {
		return false
	}
	switch string(b[:4]) {
	case "\xfe\xed\xfa\xce", "\xfe\xed\xfa\xcf", "\xce\xfa\xed\xfe", "\xcf\xfa\xed\xfe":
	default:
		return false
	}
	order := binary.ByteOrder(binary.BigEndian)
	if b[0] == 0xce || b[0] == 0xcf {
		order = binary.LittleEndian
	}
	cpu, file := order.Uint32(b[4:]), order.Uint32(b[12:])
	switch cpu {
	case 7, 0x01000007, 12, 0x0100000c, 18, 0x01000012:
		return file >= 1 && file <= 12
	}
	return false
}
