package auth

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// DevIssuer is the token issuer of `amparo dev`: an Ed25519 key kept in the
// data directory signs short JWTs whose subject is a seeded user's subject.
// serve accepts its tokens only when told to (AMPARO_DEV_TOKENS=1).
type DevIssuer struct {
	key ed25519.PrivateKey
}

// DevIssuerName is the "iss" claim of dev tokens.
const DevIssuerName = "amparo-dev"

// devKeyFile is the name of the issuer key in the data directory.
const devKeyFile = "dev-issuer.pem"

// LoadDevIssuer reads the issuer key from dir, creating it on first use.
func LoadDevIssuer(dir string, create bool) (*DevIssuer, error) {
	path := filepath.Join(dir, devKeyFile)
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) && create {
		_, priv, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			return nil, fmt.Errorf("auth: dev key: %w", err)
		}
		der, err := x509.MarshalPKCS8PrivateKey(priv)
		if err != nil {
			return nil, fmt.Errorf("auth: dev key: %w", err)
		}
		b = pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
		if err := os.WriteFile(path, b, 0o600); err != nil {
			return nil, fmt.Errorf("auth: dev key: %w", err)
		}
	} else if err != nil {
		return nil, fmt.Errorf("auth: dev key (run `amparo dev` first): %w", err)
	}
	key, err := ParseEd25519PrivateKey(b)
	if err != nil {
		return nil, fmt.Errorf("auth: dev key %s: %w", path, err)
	}
	return &DevIssuer{key: key}, nil
}

// ParseEd25519PrivateKey reads a PEM-encoded PKCS #8 Ed25519 private key.
func ParseEd25519PrivateKey(b []byte) (ed25519.PrivateKey, error) {
	blk, _ := pem.Decode(b)
	if blk == nil {
		return nil, errors.New("no PEM block")
	}
	k, err := x509.ParsePKCS8PrivateKey(blk.Bytes)
	if err != nil {
		return nil, err
	}
	key, ok := k.(ed25519.PrivateKey)
	if !ok {
		return nil, errors.New("not an Ed25519 key")
	}
	return key, nil
}

// Issue signs a token for subject valid for ttl, at most MaxLifetime.
func (d *DevIssuer) Issue(subject string, ttl time.Duration) (string, error) {
	if ttl <= 0 || ttl > MaxLifetime {
		return "", fmt.Errorf("auth: a token may be valid from 1s to %s, not %s", MaxLifetime, ttl)
	}
	now := time.Now()
	claims := jwt.RegisteredClaims{
		Issuer:    DevIssuerName,
		Subject:   subject,
		Audience:  jwt.ClaimStrings{"amparo"},
		IssuedAt:  jwt.NewNumericDate(now),
		NotBefore: jwt.NewNumericDate(now.Add(-time.Minute)),
		ExpiresAt: jwt.NewNumericDate(now.Add(ttl)),
	}
	return jwt.NewWithClaims(jwt.SigningMethodEdDSA, claims).SignedString(d.key)
}

// Verify checks a dev token's signature, issuer, audience, expiry and
// lifetime (at most MaxLifetime) and returns its subject.
func (d *DevIssuer) Verify(_ context.Context, raw string) (string, error) {
	pub := d.key.Public()
	tok, err := jwt.ParseWithClaims(raw, &jwt.RegisteredClaims{}, func(*jwt.Token) (any, error) { return pub, nil },
		jwt.WithValidMethods([]string{"EdDSA"}), jwt.WithIssuer(DevIssuerName), jwt.WithAudience("amparo"),
		jwt.WithExpirationRequired())
	if err != nil {
		return "", err
	}
	c := tok.Claims.(*jwt.RegisteredClaims)
	var issued time.Time
	if c.IssuedAt != nil {
		issued = c.IssuedAt.Time
	}
	if err := checkLifetime(issued, c.ExpiresAt.Time, time.Now()); err != nil {
		return "", err
	}
	sub, err := tok.Claims.GetSubject()
	if err != nil || sub == "" {
		return "", errors.New("token without subject")
	}
	return sub, nil
}

// NewDevIssuer returns an issuer over key, for serve with AMPARO_DEV_TOKENS=1.
func NewDevIssuer(key ed25519.PrivateKey) *DevIssuer { return &DevIssuer{key: key} }
