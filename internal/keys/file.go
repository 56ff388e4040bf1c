package keys

import (
	"bufio"
	"bytes"
	"context"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"os"
	"strings"
	"sync"
	"time"
)

// File is a Keyring whose key-encryption keys live in a local file, with
// the blind-index key beside them. The file is text, one key a line:
//
//	# comments and blank lines are ignored
//	kek 20261201-3f9a0c1d <base64 of 32 bytes>   ← the first kek wraps new keys
//	kek 20250601-77aa01b2 <base64 of 32 bytes>   ← older ones only unwrap
//	index <base64 of 32 bytes>
//
// Rotation adds a new kek line at the top (AddKEK), rewraps every data key
// (`amparo keys rotate`), and then the old line can be deleted. The index
// key never rotates this way: changing it means recomputing every blind
// index, which needs the plaintext, and it keys tracking codes too
// (Index.Tracking), which nobody keeps.
//
// A running server notices a changed file within seconds (and at once when
// asked to unwrap under a KEK it does not know), so a rotation needs no
// restart: servers wrap new keys under the new KEK and open keys already
// rewrapped.
type File struct {
	path string

	mu      sync.Mutex
	set     *keySet
	mtime   time.Time
	checked time.Time
}

// keySet is the content of a key file.
type keySet struct {
	current string
	keks    map[string]cipher.AEAD
	index   []byte
}

// recheck is how often a server looks whether its key file changed.
const recheck = 2 * time.Second

// LoadFile reads a key file.
//
// Errors: the file cannot be read, is readable by others than its owner,
// or is malformed (the message names the line).
func LoadFile(path string) (*File, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if st.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("%s is readable by others (mode %o): chmod 600 it", path, st.Mode().Perm())
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	set, err := parseFile(b)
	if err != nil {
		return nil, err
	}
	return &File{path: path, set: set, mtime: st.ModTime(), checked: time.Now()}, nil
}

// keys returns the key set, read again first when the file changed (and
// force says to look now).
func (f *File) keys(force bool) *keySet {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.path == "" || (!force && time.Since(f.checked) < recheck) {
		return f.set
	}
	f.checked = time.Now()
	st, err := os.Stat(f.path)
	if err != nil || st.ModTime().Equal(f.mtime) {
		return f.set // a file that vanished or broke keeps the keys already known
	}
	b, err := os.ReadFile(f.path)
	if err != nil {
		return f.set
	}
	set, err := parseFile(b)
	if err != nil {
		return f.set
	}
	// Keep the KEKs known before: a data key rewrapped elsewhere under a new
	// KEK must open, and one not yet rewrapped too, until the next start.
	for id, a := range f.set.keks {
		if _, ok := set.keks[id]; !ok {
			set.keks[id] = a
		}
	}
	f.set, f.mtime = set, st.ModTime()
	return set
}

func parseFile(b []byte) (*keySet, error) {
	f := &keySet{keks: map[string]cipher.AEAD{}}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		fields := strings.Fields(line)
		bad := func(why string) error { return fmt.Errorf("key file line %d: %s", n, why) }
		switch {
		case fields[0] == "kek" && len(fields) == 3:
			key, err := decodeKey(fields[2])
			if err != nil {
				return nil, bad(err.Error())
			}
			if _, dup := f.keks[fields[1]]; dup {
				return nil, bad("kek id " + fields[1] + " appears twice")
			}
			a, _ := newAEAD(key)
			f.keks[fields[1]] = a
			if f.current == "" {
				f.current = fields[1]
			}
		case fields[0] == "index" && len(fields) == 2:
			if f.index != nil {
				return nil, bad("a second index key")
			}
			key, err := decodeKey(fields[1])
			if err != nil {
				return nil, bad(err.Error())
			}
			f.index = key
		default:
			return nil, bad(`want "kek ID KEY" or "index KEY"`)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if f.current == "" || f.index == nil {
		return nil, fmt.Errorf("key file: needs at least one kek line and one index line (amparo keys init FILE makes one)")
	}
	return f, nil
}

func decodeKey(s string) ([]byte, error) {
	key, err := base64.StdEncoding.DecodeString(s)
	if err != nil || len(key) != keySize {
		return nil, fmt.Errorf("a key is %d bytes in base64", keySize)
	}
	return key, nil
}

// Current implements Keyring.
func (f *File) Current() string { return f.keys(false).current }

// KEKs lists the ids of the KEKs the file holds, the current one first.
func (f *File) KEKs() []string {
	set := f.keys(false)
	out := []string{set.current}
	for id := range set.keks {
		if id != set.current {
			out = append(out, id)
		}
	}
	return out
}

// Wrap implements Keyring.
func (f *File) Wrap(_ context.Context, dek, ad []byte) (string, []byte, error) {
	set := f.keys(false)
	return set.current, seal(set.keks[set.current], dek, ad), nil
}

// Unwrap implements Keyring.
func (f *File) Unwrap(_ context.Context, kekID string, wrapped, ad []byte) ([]byte, error) {
	a, ok := f.keys(false).keks[kekID]
	if !ok {
		// Rewrapped under a KEK added since this file was read?
		if a, ok = f.keys(true).keks[kekID]; !ok {
			return nil, fmt.Errorf("%w %q", ErrUnknownKEK, kekID)
		}
	}
	return open(a, wrapped, ad)
}

// Index is the blind index keyed by this file's index key.
func (f *File) Index() Index { return Index{key: f.keys(false).index} }

// InitFile writes a new key file with one KEK and an index key, readable by
// its owner only. It refuses to overwrite an existing file.
func InitFile(path string) error {
	var b strings.Builder
	b.WriteString("# Amparo identity keys: keep this file secret and backed up apart from the database.\n")
	b.WriteString("# The first kek line wraps new data keys; older kek lines only unwrap, until rotated out.\n")
	fmt.Fprintf(&b, "kek %s %s\n", newKEKID(time.Now()), randomKey())
	fmt.Fprintf(&b, "index %s\n", randomKey())
	fd, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	if _, err := fd.WriteString(b.String()); err != nil {
		fd.Close()
		return err
	}
	return fd.Close()
}

// AddKEK puts a fresh KEK at the top of the key file, making it current,
// and returns its id. The older KEKs stay, to unwrap until every data key
// is rewrapped.
func AddKEK(path string) (string, error) {
	old, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	if _, err := parseFile(old); err != nil {
		return "", err
	}
	id := newKEKID(time.Now())
	var out bytes.Buffer
	lines := bytes.SplitAfter(old, []byte("\n"))
	added := false
	for _, l := range lines {
		if !added && bytes.HasPrefix(bytes.TrimSpace(l), []byte("kek ")) {
			fmt.Fprintf(&out, "kek %s %s\n", id, randomKey())
			added = true
		}
		out.Write(l)
	}
	tmp := path + ".new"
	if err := os.WriteFile(tmp, out.Bytes(), 0o600); err != nil {
		return "", err
	}
	return id, os.Rename(tmp, path)
}

func newKEKID(t time.Time) string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return t.UTC().Format("20060102") + "-" + hex.EncodeToString(b)
}

func randomKey() string {
	k := make([]byte, keySize)
	_, _ = rand.Read(k)
	return base64.StdEncoding.EncodeToString(k)
}
