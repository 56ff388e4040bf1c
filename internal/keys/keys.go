// Package keys is Amparo's envelope encryption of what identifies a child:
// each case (and each complaint) has a data key of its own (AES-256-GCM)
// that encrypts its identity fields, contacts and narratives; the data key
// is stored wrapped by a key-encryption key (KEK) held outside the database
// (AMPARO_IDENTITY_KEY), with the KEK's id beside it so KEKs can rotate.
//
// Every ciphertext is bound by its associated data to the place it belongs
// (table, column, row): a ciphertext copied into another row or column
// fails to open, and so does a wrapped data key copied to another record.
// Destroying a record's wrapped data key destroys its identity and
// narratives for good (crypto-shredding), and nothing else.
//
// Finding a child again without plaintext uses a blind index: an HMAC,
// under a key of its own, of the normalized name with the birth year.
//
// Keyring is the seam for a KMS: the file implementation here keeps KEKs in
// a local file; AWS KMS, Google Cloud KMS, Azure Key Vault, HashiCorp
// Vault's transit engine or MinIO KES fit the same two calls (wrap and
// unwrap a 32-byte key with associated data).
//
// This package imports nothing from Amparo.
package keys

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"errors"
	"fmt"
)

// Keyring wraps and unwraps data keys with key-encryption keys.
type Keyring interface {
	// Current is the id of the KEK that wraps new data keys.
	Current() string
	// Wrap encrypts a data key under the current KEK, bound to ad.
	Wrap(ctx context.Context, dek []byte, ad []byte) (kekID string, wrapped []byte, err error)
	// Unwrap decrypts a data key wrapped by KEK kekID with the same ad.
	Unwrap(ctx context.Context, kekID string, wrapped []byte, ad []byte) ([]byte, error)
}

// ErrOpen is returned for a ciphertext or wrapped key that does not open:
// a wrong key, a wrong place (associated data) or tampered bytes.
var ErrOpen = errors.New("keys: ciphertext does not open with this key and place")

// ErrUnknownKEK is returned by Unwrap for a KEK id the keyring lacks (retired
// too early, or the wrong key file).
var ErrUnknownKEK = errors.New("keys: unknown key-encryption key")

// keySize is the size of every key: AES-256.
const keySize = 32

// DataKey is the data key of one record.
type DataKey struct {
	aead cipher.AEAD
}

// NewDataKey makes a fresh random data key and returns it with its raw bytes
// (to be wrapped, and then forgotten).
func NewDataKey() (DataKey, []byte) {
	raw := make([]byte, keySize)
	_, _ = rand.Read(raw) // crypto/rand.Read never fails
	k, _ := ParseDataKey(raw)
	return k, raw
}

// ParseDataKey makes a DataKey of raw bytes, as unwrapped.
//
// Errors: a key of the wrong size.
func ParseDataKey(raw []byte) (DataKey, error) {
	a, err := newAEAD(raw)
	if err != nil {
		return DataKey{}, err
	}
	return DataKey{aead: a}, nil
}

func newAEAD(key []byte) (cipher.AEAD, error) {
	if len(key) != keySize {
		return nil, fmt.Errorf("keys: a key is %d bytes, not %d", keySize, len(key))
	}
	b, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(b)
}

// Place is where a ciphertext belongs; it is authenticated with it.
type Place struct {
	Table  string // "child_identities"
	Column string // "given_name"
	Row    string // the row's id
}

func (p Place) ad() []byte {
	// Lengths first, so that no two places encode alike.
	return fmt.Appendf(nil, "amparo/v1|%d:%s|%d:%s|%d:%s", len(p.Table), p.Table, len(p.Column), p.Column, len(p.Row), p.Row)
}

// RecordAD is the associated data of a record's wrapped data key: a wrapped
// key opens only for the record it was made for.
func RecordAD(kind, id string) []byte { return Place{Table: "data_keys", Column: kind, Row: id}.ad() }

// Seal encrypts plaintext for place: nonce followed by ciphertext and tag.
func (k DataKey) Seal(plaintext []byte, place Place) []byte {
	return seal(k.aead, plaintext, place.ad())
}

// Open decrypts what Seal made for the same place.
//
// Errors: ErrOpen.
func (k DataKey) Open(sealed []byte, place Place) ([]byte, error) {
	return open(k.aead, sealed, place.ad())
}

// SealString and OpenString are Seal and Open for text; nil stays nil, so
// that an absent field stays absent.
func (k DataKey) SealString(s *string, place Place) []byte {
	if s == nil {
		return nil
	}
	return k.Seal([]byte(*s), place)
}

// OpenString is Open for text sealed with SealString.
//
// Errors: ErrOpen.
func (k DataKey) OpenString(sealed []byte, place Place) (*string, error) {
	if sealed == nil {
		return nil, nil
	}
	b, err := k.Open(sealed, place)
	if err != nil {
		return nil, err
	}
	s := string(b)
	return &s, nil
}

func seal(a cipher.AEAD, plaintext, ad []byte) []byte {
	nonce := make([]byte, a.NonceSize(), a.NonceSize()+len(plaintext)+a.Overhead())
	_, _ = rand.Read(nonce)
	return a.Seal(nonce, nonce, plaintext, ad)
}

func open(a cipher.AEAD, sealed, ad []byte) ([]byte, error) {
	n := a.NonceSize()
	if len(sealed) < n+a.Overhead() {
		return nil, ErrOpen
	}
	out, err := a.Open(nil, sealed[:n], sealed[n:], ad)
	if err != nil {
		return nil, ErrOpen
	}
	return out, nil
}

// Rewrap moves a wrapped data key from whichever KEK wrapped it to the
// keyring's current one, for `amparo keys rotate`. A key already under the
// current KEK is returned as is.
//
// Errors: ErrUnknownKEK, ErrOpen.
func Rewrap(ctx context.Context, kr Keyring, kekID string, wrapped, ad []byte) (string, []byte, error) {
	if kekID == kr.Current() {
		return kekID, wrapped, nil
	}
	dek, err := kr.Unwrap(ctx, kekID, wrapped, ad)
	if err != nil {
		return "", nil, err
	}
	defer clear(dek)
	return kr.Wrap(ctx, dek, ad)
}
