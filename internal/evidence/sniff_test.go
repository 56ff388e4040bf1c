package evidence

import (
	"archive/zip"
	"bytes"
	"encoding/binary"
	"strings"
	"testing"
	"unicode/utf8"

	"amparo/internal/apperr"
)

// ftyp builds the start of an ISO base media file (MP4, M4A, HEIC) with
// brand major.
func ftyp(major string) []byte {
	b := binary.BigEndian.AppendUint32(nil, 24)
	b = append(b, "ftyp"+major+"\x00\x00\x00\x00"+major+"isom"...)
	return append(b, make([]byte, 64)...)
}

// ooxml builds a minimal Office Open XML package whose main part lives
// under dir ("word/" or "xl/").
func ooxml(tb testing.TB, dir string) []byte {
	tb.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, name := range []string{"[Content_Types].xml", "_rels/.rels", dir + "document.xml"} {
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

// Samples returns the first bytes of files of each kind, named by the type
// sniff must decide ("" for refused).
func samples(tb testing.TB) map[string]struct {
	want string
	data []byte
} {
	tb.Helper()
	// An Ogg page header is 26 bytes and a one-entry segment table; the
	// Vorbis identification packet follows.
	ogg := append(append([]byte("OggS\x00\x02"), make([]byte, 20)...), 1, 30)
	ogg = append(append(ogg, "\x01vorbis"...), make([]byte, 64)...)
	wav := append([]byte("RIFF\x24\x00\x00\x00WAVEfmt \x10\x00\x00\x00"), make([]byte, 64)...)
	pe := make([]byte, 256)
	copy(pe, "MZ")
	binary.LittleEndian.PutUint32(pe[0x3c:], 0x80)
	copy(pe[0x80:], "PE\x00\x00")
	return map[string]struct {
		want string
		data []byte
	}{
		"JPEG":  {"image/jpeg", append([]byte{0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10, 'J', 'F', 'I', 'F', 0}, make([]byte, 64)...)},
		"PNG":   {"image/png", append([]byte("\x89PNG\r\n\x1a\n\x00\x00\x00\x0dIHDR"), make([]byte, 64)...)},
		"HEIC":  {"image/heic", ftyp("heic")},
		"PDF":   {"application/pdf", []byte("%PDF-1.7\n1 0 obj\n<<>>\nendobj\n")},
		"MP4":   {"video/mp4", ftyp("isom")},
		"M4A":   {"audio/x-m4a", ftyp("M4A ")},
		"MP3":   {"audio/mpeg", append([]byte("ID3\x04\x00\x00\x00\x00\x01\x00"), make([]byte, 64)...)},
		"OGG":   {"audio/ogg", ogg},
		"WAV":   {"audio/wav", wav},
		"Text":  {"text/plain; charset=utf-8", []byte("Declaración de la niña, tomada en La Mesilla.\n")},
		"DOCX":  {"application/vnd.openxmlformats-officedocument.wordprocessingml.document", ooxml(tb, "word/")},
		"XLSX":  {"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", ooxml(tb, "xl/")},
		"ELF":   {"", append([]byte("\x7fELF\x02\x01\x01\x00"), make([]byte, 120)...)},
		"PE":    {"", pe},
		"HTML":  {"", []byte("<!DOCTYPE html><html><script>alert(1)</script></html>")},
		"SVG":   {"", []byte(`<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>`)},
		"Shell": {"", []byte("#!/bin/sh\nrm -rf /\n")},
		"ZIP":   {"", func() []byte { b := ooxml(tb, "other/"); return b }()},
		"PPTX":  {"", ooxml(tb, "ppt/")},
	}
}

func TestSniff(t *testing.T) {
	for name, s := range samples(t) {
		t.Run(name, func(t *testing.T) {
			got, err := sniff(s.data)
			if s.want == "" {
				if !apperr.Is(err, apperr.UnsupportedMedia) {
					t.Fatalf("sniff = %q, %v; want UNSUPPORTED_MEDIA_TYPE", got, err)
				}
				return
			}
			if err != nil || got != s.want {
				t.Fatalf("sniff = %q, %v; want %q", got, err, s.want)
			}
		})
	}
}

func TestSanitizeFilename(t *testing.T) {
	long := strings.Repeat("á", 300)
	for _, c := range []struct{ name, in, want string }{
		{"PlainNameKept", "informe médico.pdf", "informe médico.pdf"},
		{"UnixTraversalStripped", "../../etc/passwd", "passwd"},
		{"AbsolutePathStripped", "/var/lib/amparo/acta.txt", "acta.txt"},
		{"WindowsTraversalStripped", `..\..\Windows\System32\acta.txt`, "acta.txt"},
		{"DriveLetterStripped", `C:\Users\oficial\foto.jpg`, "foto.jpg"},
		{"DotsOnlyReplaced", "..", "archivo"},
		{"EmptyReplaced", "", "archivo"},
		{"TrailingSlashReplaced", "carpeta/", "carpeta"},
		{"ControlCharactersRemoved", "acta\x00\x07\x1b[31m\r\n.txt", "acta[31m.txt"},
		{"DeleteCharacterRemoved", "acta\x7f.txt", "acta.txt"},
		{"BidiOverrideRemoved", "foto\u202Egpj.exe", "fotogpj.exe"},
		{"ZeroWidthRemoved", "ac\u200bta\ufeff.pdf", "acta.pdf"},
		{"InvalidUTF8Removed", "acta\xff\xfe.pdf", "acta.pdf"},
		{"HiddenDotfileShown", ".bashrc", "bashrc"},
		{"SurroundingSpaceTrimmed", "  acta.pdf  ", "acta.pdf"},
		{"LongNameCutKeepingExtension", long + ".pdf", strings.Repeat("á", 196) + ".pdf"},
		{"LongExtensionDropped", "a." + long, "a." + strings.Repeat("á", 198)},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := SanitizeFilename(c.in)
			if got != c.want {
				t.Errorf("SanitizeFilename(%q) = %q, want %q", c.in, got, c.want)
			}
			if n := utf8.RuneCountInString(got); n > maxFilename {
				t.Errorf("%d characters", n)
			}
		})
	}
}

func FuzzSanitizeFilename(f *testing.F) {
	for _, s := range []string{"../../a", `a\b`, "\u202e", "..", strings.Repeat("x", 400) + ".pdf"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		got := SanitizeFilename(in)
		if got == "" || strings.ContainsAny(got, `/\`) || !utf8.ValidString(got) || utf8.RuneCountInString(got) > maxFilename {
			t.Fatalf("SanitizeFilename(%q) = %q", in, got)
		}
		if got == "." || got == ".." {
			t.Fatalf("SanitizeFilename(%q) = %q", in, got)
		}
		for _, r := range got {
			if r < 0x20 || r == 0x7f {
				t.Fatalf("SanitizeFilename(%q) = %q keeps %U", in, got, r)
			}
		}
	})
}
