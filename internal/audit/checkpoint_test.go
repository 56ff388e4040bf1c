package audit

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

func testSigner(tb testing.TB, origin string) *Signer {
	tb.Helper()
	skey, _, err := GenerateKey(origin)
	if err != nil {
		tb.Fatal(err)
	}
	s, err := NewSigner([]byte(skey))
	if err != nil {
		tb.Fatal(err)
	}
	return s
}

func TestAuditCheckpointText(t *testing.T) {
	c := Checkpoint{Origin: "amparo.audit/test", Size: 20852163, Root: tlog.RecordHash([]byte("x"))}
	text := c.Text()
	want := "amparo.audit/test\n20852163\n" + c.Root.String() + "\n"
	if text != want {
		t.Fatalf("Text = %q, want %q", text, want)
	}
	got, err := ParseCheckpoint(text)
	if err != nil || got != c {
		t.Fatalf("ParseCheckpoint = %+v, %v", got, err)
	}
	if got, err := ParseCheckpoint(text + "extension\n"); err != nil || got != c {
		t.Fatalf("extension line: %+v, %v", got, err)
	}
	for name, bad := range map[string]string{
		"TwoLines":     "amparo.audit/test\n5\n",
		"LeadingZero":  "amparo.audit/test\n05\n" + c.Root.String() + "\n",
		"Negative":     "amparo.audit/test\n-5\n" + c.Root.String() + "\n",
		"ShortRoot":    "amparo.audit/test\n5\nAAAA\n",
		"EmptyOrigin":  "\n5\n" + c.Root.String() + "\n",
		"EmptyExtLine": text + "\n",
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := ParseCheckpoint(bad); !errors.Is(err, ErrCheckpoint) {
				t.Fatalf("ParseCheckpoint(%q) = %v, want ErrCheckpoint", bad, err)
			}
		})
	}
}

func TestAuditCheckpointSignatures(t *testing.T) {
	s := testSigner(t, "amparo.audit/test")
	c := Checkpoint{Origin: "amparo.audit/test", Size: 3, Root: tlog.RecordHash([]byte("x"))}
	msg, err := SignCheckpoint(c, s)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(msg), c.Text()+"\n— amparo.audit/test ") {
		t.Fatalf("not a C2SP checkpoint note:\n%s", msg)
	}
	trusted := note.VerifierList(s.Verifier())
	if got, err := OpenCheckpoint(msg, trusted); err != nil || got != c {
		t.Fatalf("OpenCheckpoint = %+v, %v", got, err)
	}
	t.Run("OtherKeyFails", func(t *testing.T) {
		other := testSigner(t, "amparo.audit/test")
		if _, err := OpenCheckpoint(msg, note.VerifierList(other.Verifier())); !errors.Is(err, ErrCheckpoint) {
			t.Fatalf("OpenCheckpoint with another key = %v, want ErrCheckpoint", err)
		}
	})
	t.Run("EditedTextFails", func(t *testing.T) {
		edited := []byte(strings.Replace(string(msg), "\n3\n", "\n4\n", 1))
		if _, err := OpenCheckpoint(edited, trusted); !errors.Is(err, ErrCheckpoint) {
			t.Fatalf("OpenCheckpoint of an edited note = %v, want ErrCheckpoint", err)
		}
	})
	t.Run("OriginNotKeyNameFails", func(t *testing.T) {
		other := Checkpoint{Origin: "amparo.audit/other", Size: 3, Root: c.Root}
		if _, err := SignCheckpoint(other, s); err == nil {
			t.Fatal("SignCheckpoint signed for an origin that is not the key's name")
		}
		forged, err := note.Sign(&note.Note{Text: other.Text()}, s)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := OpenCheckpoint(forged, trusted); !errors.Is(err, ErrCheckpoint) {
			t.Fatalf("OpenCheckpoint of a checkpoint for another origin = %v, want ErrCheckpoint", err)
		}
	})
	t.Run("WitnessSignatureIgnored", func(t *testing.T) {
		witness := testSigner(t, "witness.example/w1")
		cosigned, err := note.Sign(&note.Note{Text: c.Text()}, s, witness)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := OpenCheckpoint(cosigned, trusted); err != nil {
			t.Fatalf("OpenCheckpoint with an extra signature: %v", err)
		}
	})
}

func TestAuditLoadOrCreateSigner(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "keys", "audit.key")
	if _, err := LoadOrCreateSigner(path, false); err == nil {
		t.Fatal("LoadOrCreateSigner without create made or found a key")
	}
	s1, err := LoadOrCreateSigner(path, true)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(s1.Name(), "amparo.audit/dev-") {
		t.Fatalf("name %q", s1.Name())
	}
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v, %v", fi, err)
	}
	s2, err := LoadOrCreateSigner(path, true)
	if err != nil {
		t.Fatal(err)
	}
	if s2.VerifierKey() != s1.VerifierKey() {
		t.Fatal("a second load made a new key")
	}
	if v, err := note.NewVerifier(s1.VerifierKey()); err != nil || v.KeyHash() != s1.KeyHash() {
		t.Fatalf("verifier key %q: %v", s1.VerifierKey(), err)
	}

	t.Run("PEMKey", func(t *testing.T) {
		_, priv, _ := ed25519.GenerateKey(rand.Reader)
		der, _ := x509.MarshalPKCS8PrivateKey(priv)
		p := filepath.Join(dir, "pem.key")
		if err := os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
			t.Fatal(err)
		}
		s, err := LoadOrCreateSigner(p, false)
		if err != nil {
			t.Fatal(err)
		}
		msg, err := SignCheckpoint(Checkpoint{Origin: s.Name(), Size: 1, Root: tlog.RecordHash(nil)}, s)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := OpenCheckpoint(msg, note.VerifierList(s.Verifier())); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("GarbageRefused", func(t *testing.T) {
		p := filepath.Join(dir, "bad.key")
		if err := os.WriteFile(p, []byte("not a key"), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := LoadOrCreateSigner(p, true); err == nil {
			t.Fatal("a garbage key file was accepted")
		}
	})
}

func TestAuditParseVerifiers(t *testing.T) {
	a, b := testSigner(t, "amparo.audit/a"), testSigner(t, "amparo.audit/b")
	list, err := ParseVerifiers(a.VerifierKey() + ",\n " + b.VerifierKey())
	if err != nil || len(list) != 2 {
		t.Fatalf("ParseVerifiers = %v, %v", list, err)
	}
	if _, err := ParseVerifiers("  "); err == nil {
		t.Fatal("no key accepted")
	}
	if _, err := ParseVerifiers("amparo.audit/a+00000000+AAAA"); err == nil {
		t.Fatal("a malformed key accepted")
	}
}
