package keys_test

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"os"
	"strings"
	"testing"

	"amparo/internal/keys"
)

func TestTracking(t *testing.T) {
	path, f := newFile(t)
	_, other := newFile(t)
	tr := f.Index().Tracking()
	code := "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
	plain := sha256.Sum256([]byte(code))
	t.Run("KeysAStoredSHA256AsItKeysTheCode", func(t *testing.T) {
		if !bytes.Equal(tr.Sum(plain[:]), tr.Code(code)) {
			t.Fatal("keying a plain SHA-256 differs from keying the code: rows from before keying would be lost")
		}
	})
	t.Run("NotThePlainHash", func(t *testing.T) {
		if bytes.Equal(tr.Code(code), plain[:]) {
			t.Fatal("the keyed value is the plain SHA-256")
		}
	})
	t.Run("OtherKeyOtherValue", func(t *testing.T) {
		if bytes.Equal(other.Index().Tracking().Code(code), tr.Code(code)) {
			t.Fatal("two key files key a code alike")
		}
		if bytes.Equal(other.Index().Tracking().Fingerprint(), tr.Fingerprint()) {
			t.Fatal("two key files have the same fingerprint")
		}
	})
	t.Run("StableForAKeyFile", func(t *testing.T) {
		if !bytes.Equal(f.Index().Tracking().Code(code), tr.Code(code)) || !bytes.Equal(f.Index().Tracking().Fingerprint(), tr.Fingerprint()) {
			t.Fatal("the same key file keys a code differently")
		}
	})
	t.Run("NotTheIndexKey", func(t *testing.T) {
		// The tracking key is derived, not the index key itself: an HMAC
		// under the index key of the same input is another value.
		m := hmac.New(sha256.New, indexKey(t, path))
		m.Write([]byte("amparo/tracking/" + keys.TrackingKeyID + "\x00"))
		m.Write(plain[:])
		if bytes.Equal(m.Sum(nil), tr.Code(code)) {
			t.Fatal("tracking codes are keyed with the index key itself")
		}
	})
}

func indexKey(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for line := range strings.Lines(string(b)) {
		if rest, ok := strings.CutPrefix(line, "index "); ok {
			k, err := base64.StdEncoding.DecodeString(strings.TrimSpace(rest))
			if err != nil {
				t.Fatal(err)
			}
			return k
		}
	}
	t.Fatal("no index line")
	return nil
}
