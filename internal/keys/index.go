package keys

import (
	"crypto/hmac"
	"crypto/sha256"
	"strconv"
	"strings"
	"sync"
	"unicode"

	"golang.org/x/text/runes"
	"golang.org/x/text/transform"
	"golang.org/x/text/unicode/norm"
)

// Index computes blind indexes: keyed hashes of what a child is searched by,
// so that an exact (normalized) match can be found without storing or
// comparing plaintext. Without the index key, an index value tells nothing;
// with it, one can only test guesses, one HMAC at a time — which is why
// searches are scoped, audited and rate-limited by the service that uses
// it.
type Index struct{ key []byte }

// NewIndex returns an Index keyed by key (32 bytes).
func NewIndex(key []byte) Index { return Index{key: append([]byte(nil), key...)} }

// Name is the blind index of a child's full name and birth year. Two
// spellings that differ only in case, accents or spacing ("María José
// López", "maria jose  LOPEZ") give the same value. An empty name gives
// nil: nothing to find.
func (ix Index) Name(given, family string, birthYear int) []byte {
	n := NormalizeName(given + " " + family)
	if n == "" {
		return nil
	}
	m := hmac.New(sha256.New, ix.key)
	m.Write([]byte("amparo/name/v1\x00"))
	m.Write([]byte(n))
	m.Write([]byte{0})
	m.Write([]byte(strconv.Itoa(birthYear)))
	return m.Sum(nil)
}

// folds hands out transformers that remove accents: decompose, drop
// combining marks, recompose. A chain keeps buffers and state between its
// calls, so one is never shared by two goroutines at once: one chain for
// every filing panicked under concurrent filings (slice bounds out of
// range, TestNormalizeNameConcurrently).
var folds = sync.Pool{New: func() any {
	return transform.Chain(norm.NFD, runes.Remove(runes.In(unicode.Mn)), norm.NFC)
}}

// NormalizeName folds a name for matching: lower case, accents removed
// (ñ becomes n), anything but letters and digits turned into single spaces,
// trimmed.
func NormalizeName(s string) string {
	fold := folds.Get().(transform.Transformer)
	s, _, _ = transform.String(fold, s)
	folds.Put(fold)
	var b strings.Builder
	space := false
	for _, r := range strings.ToLower(s) {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			if space && b.Len() > 0 {
				b.WriteByte(' ')
			}
			b.WriteRune(r)
			space = false
		} else {
			space = true
		}
	}
	return b.String()
}
