package evidence

import (
	"archive/zip"
	"bytes"
	"encoding/binary"
	"io"
	"math/rand/v2"
	"strings"
	"testing"
	"testing/iotest"

	"amparo/internal/apperr"
)

// zipWith builds a ZIP package holding the named entries.
func zipWith(tb testing.TB, names ...string) []byte {
	tb.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, name := range names {
		w, err := zw.Create(name)
		if err != nil {
			tb.Fatal(err)
		}
		_, _ = w.Write([]byte(`<?xml version="1.0"?><x/>`))
	}
	if err := zw.Close(); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}

func cat(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

func TestInspectWholeFile(t *testing.T) {
	pe := make([]byte, 512)
	copy(pe, "MZ")
	binary.LittleEndian.PutUint32(pe[0x3c:], 0x80)
	copy(pe[0x80:], "PE\x00\x00")
	elf := append([]byte("\x7fELF\x02\x01\x01\x00"), make([]byte, 120)...)
	macho := append([]byte{0xcf, 0xfa, 0xed, 0xfe, 0x0c, 0x00, 0x00, 0x01, 0, 0, 0, 0, 0x02, 0, 0, 0}, make([]byte, 64)...)
	random := make([]byte, 4<<20)
	rnd := rand.NewChaCha8([32]byte{'e', 'v', 'i', 'd', 'e', 'n', 'c', 'i', 'a'})
	_, _ = rnd.Read(random)
	pdfHead := []byte("%PDF-1.7\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n")
	pdfEnd := []byte("\ntrailer\n<< /Root 1 0 R >>\nstartxref\n0\n%%EOF\n")
	text := []byte(strings.Repeat("Declaración tomada a la niña en el albergue de Tecún Umán.\n", 200))
	const (
		pdfT  = "application/pdf"
		textT = "text/plain; charset=utf-8"
		docxT = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
		jpegT = "image/jpeg"
	)
	for _, c := range []struct {
		name, ct string
		data     []byte
		ok       bool
	}{
		{"PDFAccepted", pdfT, cat(pdfHead, pdfEnd), true},
		{"PDFWithRandomStreamsAccepted", pdfT, cat(pdfHead, random, pdfEnd), true},
		{"PDFTrailingWhitespaceAccepted", pdfT, cat(pdfHead, pdfEnd, []byte("\r\n\x00\x00")), true},
		{"ErrPDFThenPE", pdfT, cat(pdfHead, pe), false},
		{"ErrPDFThenPEThenEOF", pdfT, cat(pdfHead, random[:100000], pe, pdfEnd), false},
		{"ErrPDFThenELF", pdfT, cat(pdfHead, elf, pdfEnd), false},
		{"ErrPDFThenMachO", pdfT, cat(pdfHead, macho, pdfEnd), false},
		{"ErrPDFWithoutTrailer", pdfT, cat(pdfHead, random[:10000]), false},
		{"ErrPDFJavaScript", pdfT, cat(pdfHead, []byte("2 0 obj << /S /JavaScript /JS (app.alert(1)) >> endobj"), pdfEnd), false},
		{"ErrPDFJavaScriptEscaped", pdfT, cat(pdfHead, []byte("2 0 obj << /S /Java#53cript /JS (x) >> endobj"), pdfEnd), false},
		{"ErrPDFLaunch", pdfT, cat(pdfHead, []byte("<< /S/Launch /F (cmd.exe) >>"), pdfEnd), false},
		{"ErrPDFEmbeddedFile", pdfT, cat(pdfHead, []byte("<< /Type /EmbeddedFile /Length 10 >>"), pdfEnd), false},
		{"ErrJPEGThenPE", jpegT, cat([]byte{0xFF, 0xD8, 0xFF, 0xE0}, random[:50000], pe, random[:10000]), false},
		{"JPEGRandomAccepted", jpegT, cat([]byte{0xFF, 0xD8, 0xFF, 0xE0}, random), true},
		{"TextAccepted", textT, text, true},
		{"ErrTextThenNUL", textT, cat(text, []byte("\x00\x00MZ")), false},
		{"ErrTextThenInvalidUTF8", textT, cat(text, []byte{0xff, 0xfe, 0x41}), false},
		{"ErrTextEndsMidCharacter", textT, cat(text, []byte{0xc3}), false},
		{"ErrTextThenScript", textT, cat(text, []byte("<SCRIPT>new ActiveXObject('WScript.Shell').Run('cmd')</SCRIPT>")), false},
		{"ErrTextThenHTA", textT, cat(text, []byte(`<hta:application id="x"/>`)), false},
		{"ErrTextThenHTML", textT, cat(text, []byte("<HtMl><body onload=x()>")), false},
		{"ErrTextThenEscape", textT, cat(text, []byte("\x1b[2J")), false},
		{"DOCXAccepted", docxT, zipWith(t, "[Content_Types].xml", "_rels/.rels", "word/document.xml"), true},
		{"DOCXWithEmbeddedSheetAccepted", docxT, zipWith(t, "[Content_Types].xml", "word/document.xml", "word/embeddings/Microsoft_Excel_Worksheet.xlsx"), true},
		{"ErrDOCXMacros", docxT, zipWith(t, "[Content_Types].xml", "word/document.xml", "word/vbaProject.bin"), false},
		{"ErrDOCXOLEObject", docxT, zipWith(t, "[Content_Types].xml", "word/document.xml", "word/embeddings/oleObject1.bin"), false},
		{"ErrDOCXActiveX", docxT, zipWith(t, "[Content_Types].xml", "word/document.xml", "word/activeX/activeX1.xml"), false},
		{"ErrDOCXExecutable", docxT, zipWith(t, "[Content_Types].xml", "word/document.xml", "word/media/setup.exe"), false},
	} {
		for _, reads := range []struct {
			name string
			wrap func(io.Reader) io.Reader
		}{
			{"Whole", func(r io.Reader) io.Reader { return r }},
			{"OneByteReads", iotest.OneByteReader},
		} {
			t.Run(c.name+"/"+reads.name, func(t *testing.T) {
				if reads.name == "OneByteReads" && len(c.data) > 1<<20 {
					t.Skip("large")
				}
				got, err := io.ReadAll(inspect(reads.wrap(bytes.NewReader(c.data)), c.ct))
				if c.ok {
					if err != nil || !bytes.Equal(got, c.data) {
						t.Fatalf("ReadAll: %d bytes, %v; want all %d", len(got), err, len(c.data))
					}
					return
				}
				if !apperr.Is(err, apperr.UnsupportedMedia) {
					t.Fatalf("ReadAll: %v, want UNSUPPORTED_MEDIA_TYPE", err)
				}
			})
		}
	}
}

func TestStoredName(t *testing.T) {
	for _, c := range []struct{ name, in, ct, want string }{
		{"TextKept", "declaracion.txt", "text/plain; charset=utf-8", "declaracion.txt"},
		{"UpperCaseExtensionKept", "FOTO.JPG", "image/jpeg", "FOTO.JPG"},
		{"BatchRenamed", "nota.bat", "text/plain; charset=utf-8", "nota_bat.txt"},
		{"HTARenamed", "nota.hta", "text/plain; charset=utf-8", "nota_hta.txt"},
		{"HTMLRenamed", "pagina.html", "text/plain; charset=utf-8", "pagina_html.txt"},
		{"DoubleExtensionRenamed", "informe.pdf.exe", "application/pdf", "informe.pdf_exe.pdf"},
		{"MissingExtensionAdded", "acta", "application/pdf", "acta.pdf"},
		{"WrongTypeExtensionRenamed", "foto.pdf", "image/jpeg", "foto_pdf.jpg"},
		{"LongNameStaysShort", strings.Repeat("n", 198) + ".exe", "text/plain; charset=utf-8", strings.Repeat("n", 196) + ".txt"},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := storedName(c.in, c.ct); got != c.want {
				t.Fatalf("storedName(%q, %q) = %q, want %q", c.in, c.ct, got, c.want)
			}
		})
	}
}

// BenchmarkInspect measures the whole-file check on a PDF of random
// (incompressible) content, read as the upload reads it.
//
//	go test ./internal/evidence -run '^$' -bench Inspect
func BenchmarkInspect(b *testing.B) {
	data := make([]byte, 64<<20)
	rnd := rand.NewChaCha8([32]byte{'b'})
	_, _ = rnd.Read(data)
	copy(data, "%PDF-1.7\n")
	copy(data[len(data)-7:], "\n%%EOF\n")
	buf := make([]byte, 256<<10)
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		r := inspect(bytes.NewReader(data), "application/pdf")
		if _, err := io.CopyBuffer(io.Discard, struct{ io.Reader }{r}, buf); err != nil {
			b.Fatal(err)
		}
	}
}
