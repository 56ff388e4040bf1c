package evidence

import (
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
