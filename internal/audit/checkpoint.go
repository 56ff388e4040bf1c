package audit

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

// Checkpoint is a signed tree head in the C2SP tlog-checkpoint form
// (https://c2sp.org/tlog-checkpoint): the note text is the origin, the tree
// size and the base64 root hash, one per line, and the note is signed with
// Ed25519 by a key whose name is the origin.
type Checkpoint struct {
	Origin string
	Size   int64
	Root   tlog.Hash
}

// Text is the checkpoint's note text.
func (c Checkpoint) Text() string {
	return c.Origin + "\n" + strconv.FormatInt(c.Size, 10) + "\n" + c.Root.String() + "\n"
}

// ErrCheckpoint is the error of ParseCheckpoint and OpenCheckpoint for text
// that is not a checkpoint, or not one signed by a trusted key.
var ErrCheckpoint = errors.New("audit: bad checkpoint")

// ParseCheckpoint reads a checkpoint's note text. Extension lines, which
// this log never writes, are ignored as the specification asks.
func ParseCheckpoint(text string) (Checkpoint, error) {
	lines := strings.SplitN(text, "\n", 4)
	if len(lines) < 4 || lines[0] == "" {
		return Checkpoint{}, fmt.Errorf("%w: want origin, size and root lines", ErrCheckpoint)
	}
	n, err := strconv.ParseInt(lines[1], 10, 64)
	if err != nil || n < 0 || strconv.FormatInt(n, 10) != lines[1] {
		return Checkpoint{}, fmt.Errorf("%w: bad tree size %q", ErrCheckpoint, lines[1])
	}
	h, err := base64.StdEncoding.Strict().DecodeString(lines[2])
	if err != nil || len(h) != tlog.HashSize {
		return Checkpoint{}, fmt.Errorf("%w: bad root hash %q", ErrCheckpoint, lines[2])
	}
	if rest := lines[3]; rest != "" {
		if !strings.HasSuffix(rest, "\n") {
			return Checkpoint{}, fmt.Errorf("%w: text does not end in a newline", ErrCheckpoint)
		}
		for _, ext := range strings.Split(strings.TrimSuffix(rest, "\n"), "\n") {
			if ext == "" {
				return Checkpoint{}, fmt.Errorf("%w: empty extension line", ErrCheckpoint)
			}
		}
	}
	c := Checkpoint{Origin: lines[0], Size: n}
	copy(c.Root[:], h)
	return c, nil
}

// SignCheckpoint returns the signed note of c. The signer's name must be
// c.Origin.
func SignCheckpoint(c Checkpoint, s note.Signer) ([]byte, error) {
	if s.Name() != c.Origin {
		return nil, fmt.Errorf("audit: sign checkpoint: key %q does not sign for origin %q", s.Name(), c.Origin)
	}
	msg, err := note.Sign(&note.Note{Text: c.Text()}, s)
	if err != nil {
		return nil, fmt.Errorf("audit: sign checkpoint: %w", err)
	}
	return msg, nil
}

// OpenCheckpoint verifies a signed checkpoint: it must carry a good
// signature of one of the trusted keys whose name is the checkpoint's origin.
// Signatures of unknown keys (witnesses, say) are ignored.
//
// Errors: ErrCheckpoint, wrapped with the reason.
func OpenCheckpoint(msg []byte, trusted note.Verifiers) (Checkpoint, error) {
	n, err := note.Open(msg, trusted)
	if err != nil {
		var unverified *note.UnverifiedNoteError
		if errors.As(err, &unverified) {
			return Checkpoint{}, fmt.Errorf("%w: not signed by a trusted key (%w)", ErrCheckpoint, err)
		}
		return Checkpoint{}, fmt.Errorf("%w: %w", ErrCheckpoint, err)
	}
	c, err := ParseCheckpoint(n.Text)
	if err != nil {
		return Checkpoint{}, err
	}
	for _, sig := range n.Sigs {
		if sig.Name == c.Origin {
			return c, nil
		}
	}
	return Checkpoint{}, fmt.Errorf("%w: origin %q is not the name of the key that signed it", ErrCheckpoint, c.Origin)
}

// splitNote returns the text of a signed note without checking signatures:
// the server hands checkpoints out, the reader checks them.
func splitNote(msg []byte) (string, error) {
	i := bytes.LastIndex(msg, []byte("\n\n"))
	if i < 0 {
		return "", fmt.Errorf("%w: not a signed note", ErrCheckpoint)
	}
	return string(msg[:i+1]), nil
}

// Signer signs checkpoints with an Ed25519 key. Its name, which is the
// origin of the checkpoints it signs, looks like "amparo.audit/pdh-gt".
type Signer struct {
	note.Signer
	verifierKey string
	verifier    note.Verifier
}

// VerifierKey is the public key in the signed-note text form
// ("<name>+<hash>+<key>"), the form oversight bodies keep and pass to
// `amparo audit verify` as AMPARO_AUDIT_VERIFIER_KEY.
func (s *Signer) VerifierKey() string { return s.verifierKey }

// Verifier checks this signer's signatures.
func (s *Signer) Verifier() note.Verifier { return s.verifier }

// NewSigner reads a signer key. Two forms are accepted: the signed-note
// private key text ("PRIVATE+KEY+<name>+<hash>+<key>", what GenerateKey
// writes), and a PEM PKCS #8 Ed25519 private key (what `openssl genpkey
// -algorithm ed25519` writes), whose origin is then "amparo.audit/" and
// the first eight hex digits of the public key's SHA-256.
func NewSigner(b []byte) (*Signer, error) {
	text := strings.TrimSpace(string(b))
	var (
		name string
		priv ed25519.PrivateKey
	)
	switch {
	case strings.HasPrefix(text, "PRIVATE+KEY+"):
		parts := strings.SplitN(text, "+", 5)
		if len(parts) != 5 {
			return nil, errors.New("audit: signing key: malformed signer key")
		}
		raw, err := base64.StdEncoding.DecodeString(parts[4])
		if err != nil || len(raw) != 1+ed25519.SeedSize || raw[0] != 1 {
			return nil, errors.New("audit: signing key: not an Ed25519 signer key")
		}
		name, priv = parts[2], ed25519.NewKeyFromSeed(raw[1:])
	case strings.HasPrefix(text, "-----BEGIN"):
		blk, _ := pem.Decode([]byte(text))
		if blk == nil {
			return nil, errors.New("audit: signing key: no PEM block")
		}
		k, err := x509.ParsePKCS8PrivateKey(blk.Bytes)
		if err != nil {
			return nil, fmt.Errorf("audit: signing key: %w", err)
		}
		var ok bool
		if priv, ok = k.(ed25519.PrivateKey); !ok {
			return nil, errors.New("audit: signing key: not an Ed25519 key")
		}
		sum := sha256.Sum256(priv.Public().(ed25519.PublicKey))
		name = "amparo.audit/" + hex.EncodeToString(sum[:4])
	default:
		return nil, errors.New("audit: signing key: neither a signed-note key nor a PEM Ed25519 key")
	}
	vkey, err := note.NewEd25519VerifierKey(name, priv.Public().(ed25519.PublicKey))
	if err != nil {
		return nil, fmt.Errorf("audit: signing key: %w", err)
	}
	v, err := note.NewVerifier(vkey)
	if err != nil {
		return nil, fmt.Errorf("audit: signing key: %w", err)
	}
	skey := signerKey(name, v.KeyHash(), priv)
	s, err := note.NewSigner(skey)
	if err != nil {
		return nil, fmt.Errorf("audit: signing key: %w", err)
	}
	return &Signer{Signer: s, verifierKey: vkey, verifier: v}, nil
}

func signerKey(name string, hash uint32, priv ed25519.PrivateKey) string {
	return fmt.Sprintf("PRIVATE+KEY+%s+%08x+%s", name, hash,
		base64.StdEncoding.EncodeToString(append([]byte{1}, priv.Seed()...)))
}

// GenerateKey makes a new signer key for origin, in the signed-note text
// form, and its verifier key.
func GenerateKey(origin string) (skey, vkey string, err error) {
	skey, vkey, err = note.GenerateKey(rand.Reader, origin)
	if err != nil {
		return "", "", fmt.Errorf("audit: generate key: %w", err)
	}
	return skey, vkey, nil
}

// LoadOrCreateSigner reads the signing key kept in path. When the file does
// not exist and create is set (amparo dev), it makes a new key first, named
// "amparo.audit/dev-" and eight random hex digits, and writes it with mode
// 0600. serve passes create=false: a missing key there is a mistake.
func LoadOrCreateSigner(path string, create bool) (*Signer, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) && create {
		var r [4]byte
		if _, err := rand.Read(r[:]); err != nil {
			return nil, fmt.Errorf("audit: signing key: %w", err)
		}
		skey, _, err := GenerateKey("amparo.audit/dev-" + hex.EncodeToString(r[:]))
		if err != nil {
			return nil, err
		}
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return nil, fmt.Errorf("audit: signing key: %w", err)
		}
		// O_EXCL: two processes starting at once must not each write a key.
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if errors.Is(err, os.ErrExist) {
			return LoadOrCreateSigner(path, false)
		}
		if err != nil {
			return nil, fmt.Errorf("audit: signing key: %w", err)
		}
		if _, err := f.WriteString(skey + "\n"); err != nil {
			f.Close()
			return nil, fmt.Errorf("audit: signing key: %w", err)
		}
		if err := f.Close(); err != nil {
			return nil, fmt.Errorf("audit: signing key: %w", err)
		}
		b = []byte(skey)
	} else if err != nil {
		return nil, fmt.Errorf("audit: signing key: %w", err)
	}
	s, err := NewSigner(b)
	if err != nil {
		return nil, fmt.Errorf("%w (in %s)", err, path)
	}
	return s, nil
}

// ParseVerifiers reads one or more verifier keys separated by white space
// or commas: more than one when a key was rotated and old checkpoints are
// signed by the old one.
func ParseVerifiers(text string) ([]note.Verifier, error) {
	var list []note.Verifier
	for _, f := range strings.FieldsFunc(text, func(r rune) bool { return r == ',' || r == ' ' || r == '\n' || r == '\t' || r == '\r' }) {
		v, err := note.NewVerifier(f)
		if err != nil {
			return nil, fmt.Errorf("audit: verifier key %q: %w", f, err)
		}
		list = append(list, v)
	}
	if len(list) == 0 {
		return nil, errors.New("audit: no verifier key")
	}
	return list, nil
}
