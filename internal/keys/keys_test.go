package keys_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/google/uuid"

	"amparo/internal/keys"
)

func newFile(t *testing.T) (string, *keys.File) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "identity.keys")
	if err := keys.InitFile(path); err != nil {
		t.Fatal(err)
	}
	f, err := keys.LoadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return path, f
}

func TestSealOpen(t *testing.T) {
	k, _ := keys.NewDataKey()
	here := keys.Place{Table: "child_identities", Column: "given_name", Row: "c1"}
	sealed := k.Seal([]byte("María José"), here)
	if bytes.Contains(sealed, []byte("María")) {
		t.Fatal("plaintext visible in the ciphertext")
	}
	t.Run("RoundTrip", func(t *testing.T) {
		got, err := k.Open(sealed, here)
		if err != nil || string(got) != "María José" {
			t.Fatalf("Open: %q %v", got, err)
		}
	})
	for name, place := range map[string]keys.Place{
		"ErrOpenOtherRow":    {Table: "child_identities", Column: "given_name", Row: "c2"},
		"ErrOpenOtherColumn": {Table: "child_identities", Column: "family_name", Row: "c1"},
		"ErrOpenOtherTable":  {Table: "complaint_contacts", Column: "given_name", Row: "c1"},
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := k.Open(sealed, place); !errors.Is(err, keys.ErrOpen) {
				t.Fatalf("a ciphertext moved to %+v opened: %v", place, err)
			}
		})
	}
	t.Run("ErrOpenOtherKey", func(t *testing.T) {
		other, _ := keys.NewDataKey()
		if _, err := other.Open(sealed, here); !errors.Is(err, keys.ErrOpen) {
			t.Fatalf("another record's key opened it: %v", err)
		}
	})
	t.Run("ErrOpenTampered", func(t *testing.T) {
		bad := bytes.Clone(sealed)
		bad[len(bad)-1] ^= 1
		if _, err := k.Open(bad, here); !errors.Is(err, keys.ErrOpen) {
			t.Fatalf("tampered ciphertext opened: %v", err)
		}
		if _, err := k.Open(sealed[:5], here); !errors.Is(err, keys.ErrOpen) {
			t.Fatalf("truncated ciphertext: %v", err)
		}
	})
	t.Run("NilStaysNil", func(t *testing.T) {
		if k.SealString(nil, here) != nil {
			t.Fatal("nil sealed to something")
		}
		if s, err := k.OpenString(nil, here); s != nil || err != nil {
			t.Fatalf("OpenString(nil) = %v, %v", s, err)
		}
	})
}

func TestWrapRewrap(t *testing.T) {
	ctx := context.Background()
	path, f := newFile(t)
	_, raw := keys.NewDataKey()
	ad := keys.RecordAD("case", "case-1")
	kek, wrapped, err := f.Wrap(ctx, raw, ad)
	if err != nil || kek != f.Current() {
		t.Fatalf("Wrap: %s %v", kek, err)
	}
	t.Run("ErrOpenOtherRecord", func(t *testing.T) {
		if _, err := f.Unwrap(ctx, kek, wrapped, keys.RecordAD("case", "case-2")); !errors.Is(err, keys.ErrOpen) {
			t.Fatalf("a wrapped key moved to another record opened: %v", err)
		}
	})
	t.Run("RotateKeepsEveryKeyReadable", func(t *testing.T) {
		newID, err := keys.AddKEK(path)
		if err != nil {
			t.Fatal(err)
		}
		rotated, err := keys.LoadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if rotated.Current() != newID || newID == kek {
			t.Fatalf("current KEK %s after adding %s (was %s)", rotated.Current(), newID, kek)
		}
		id2, wrapped2, err := keys.Rewrap(ctx, rotated, kek, wrapped, ad)
		if err != nil || id2 != newID {
			t.Fatalf("Rewrap: %s %v", id2, err)
		}
		got, err := rotated.Unwrap(ctx, id2, wrapped2, ad)
		if err != nil || !bytes.Equal(got, raw) {
			t.Fatalf("rewrapped key: %v", err)
		}
		// Once the old KEK is retired, only rewrapped keys open.
		retireOldest(t, path)
		retired, err := keys.LoadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := retired.Unwrap(ctx, kek, wrapped, ad); !errors.Is(err, keys.ErrUnknownKEK) {
			t.Fatalf("unwrap under a retired KEK: %v", err)
		}
		if _, err := retired.Unwrap(ctx, id2, wrapped2, ad); err != nil {
			t.Fatalf("rewrapped key after retiring the old KEK: %v", err)
		}
	})
}

// retireOldest deletes the last kek line of a key file.
func retireOldest(t *testing.T, path string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(b), "\n")
	for i := len(lines) - 1; i >= 0; i-- {
		if strings.HasPrefix(lines[i], "kek ") {
			lines = append(lines[:i], lines[i+1:]...)
			break
		}
	}
	if err := os.WriteFile(path, []byte(strings.Join(lines, "\n")), 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestLoadFileRefuses(t *testing.T) {
	dir := t.TempDir()
	for name, tc := range map[string]struct {
		text string
		mode os.FileMode
		want string
	}{
		"ErrReadableByOthers": {"", 0o644, "readable by others"},
		"ErrNoIndex":          {"kek a " + strings.Repeat("A", 43) + "=\n", 0o600, "index"},
		"ErrShortKey":         {"kek a QUJD\nindex QUJD\n", 0o600, "line 1"},
		"ErrUnknownLine":      {"secret xyz\n", 0o600, "line 1"},
	} {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(dir, name)
			if err := os.WriteFile(path, []byte(tc.text), tc.mode); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(path, tc.mode); err != nil {
				t.Fatal(err)
			}
			if _, err := keys.LoadFile(path); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("LoadFile: %v, want an error about %q", err, tc.want)
			}
		})
	}
	t.Run("ErrExists", func(t *testing.T) {
		path, _ := newFile(t)
		if err := keys.InitFile(path); err == nil {
			t.Fatal("InitFile overwrote a key file")
		}
	})
}

func TestBlindIndex(t *testing.T) {
	_, f := newFile(t)
	ix := f.Index()
	want := ix.Name("María José", "López", 2013)
	for _, spelling := range [][2]string{{"maria jose ", " LOPEZ"}, {"MARÍA  JOSÉ", "lópez"}, {"Maria-Jose", "Lopez"}} {
		if got := ix.Name(spelling[0], spelling[1], 2013); !bytes.Equal(got, want) {
			t.Errorf("%q %q does not match María José López", spelling[0], spelling[1])
		}
	}
	for name, got := range map[string][]byte{
		"OtherYear":   ix.Name("María José", "López", 2012),
		"OtherName":   ix.Name("María", "López", 2013),
		"OtherKey":    keys.NewIndex(bytes.Repeat([]byte{7}, 32)).Name("María José", "López", 2013),
		"NameSwapped": ix.Name("López", "María José", 2013),
	} {
		if bytes.Equal(got, want) {
			t.Errorf("%s matches", name)
		}
	}
	if ix.Name(" ", "", 2013) != nil {
		t.Error("an empty name has an index")
	}
	if n := keys.NormalizeName("  Ñandú   O'Brien "); n != "nandu o brien" {
		t.Errorf("NormalizeName = %q", n)
	}
}

// TestVaultOpen opens a data key from its wrapped form as a caller read it
// beside its record (Vault.Open), the way Vault.Create stored it.
// Filings run concurrently, and each normalizes the child's name for its
// blind index.
func TestNormalizeNameConcurrently(t *testing.T) {
	names := map[string]string{
		"  María José   López ": "maria jose lopez",
		"ÑANDÚ o'brien":         "nandu o brien",
		"José-Luis  GUZMÁN":     "jose luis guzman",
	}
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 2000 {
				for in, want := range names {
					if got := keys.NormalizeName(in); got != want {
						t.Errorf("NormalizeName(%q) = %q, want %q", in, got, want)
						return
					}
				}
			}
		})
	}
	wg.Wait()
}

func TestVaultOpen(t *testing.T) {
	_, f := newFile(t)
	v := keys.NewVault(f)
	id, other := uuid.New(), uuid.New()
	_, raw := keys.NewDataKey()
	kek, wrapped, err := f.Wrap(context.Background(), raw, keys.RecordAD(keys.OwnerCase, id.String()))
	if err != nil {
		t.Fatal(err)
	}
	want, _ := keys.ParseDataKey(raw)
	here := keys.Place{Table: "cases", Column: "summary", Row: id.String()}
	sealed := want.Seal([]byte("resumen"), here)
	tests := []struct {
		name    string
		id      uuid.UUID
		kek     string
		wrapped []byte
		wantErr error
	}{
		{"Opens", id, kek, wrapped, nil},
		{"ErrNoKeyWithoutOne", id, "", nil, keys.ErrNoKey},
		{"ErrOpenOtherRecord", other, kek, wrapped, keys.ErrOpen},
		{"ErrUnknownKEK", id, "20200101-00000000", wrapped, keys.ErrUnknownKEK},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			k, err := v.Open(context.Background(), keys.OwnerCase, tc.id, tc.kek, tc.wrapped)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("Open: %v, want %v", err, tc.wantErr)
			}
			if err == nil {
				if got, err := k.Open(sealed, here); err != nil || string(got) != "resumen" {
					t.Fatalf("the opened key does not open what the stored one sealed: %q %v", got, err)
				}
			}
		})
	}
	t.Run("CachedPerOperation", func(t *testing.T) {
		ctx := keys.WithCache(context.Background())
		if _, err := v.Open(ctx, keys.OwnerCase, id, kek, wrapped); err != nil {
			t.Fatal(err)
		}
		// Within the operation, the key unwrapped once answers again
		// without unwrapping what it is given.
		if _, err := v.Open(ctx, keys.OwnerCase, id, kek, []byte("not a wrapped key")); err != nil {
			t.Fatalf("second Open unwrapped again: %v", err)
		}
		if _, err := v.Open(ctx, keys.OwnerCase, other, "", nil); !errors.Is(err, keys.ErrNoKey) {
			t.Fatalf("record without a key: %v", err)
		}
		if _, err := v.Open(ctx, keys.OwnerCase, other, kek, wrapped); !errors.Is(err, keys.ErrNoKey) {
			t.Fatalf("a record known to have no key opened one within the same operation: %v", err)
		}
	})
}
