package auth

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
)

// OIDC verifies bearer tokens issued by an OpenID Connect provider:
// signature (keys from the provider's JWKS, fetched again when a token names
// an unknown key, so that key rotation needs no restart), issuer, audience,
// expiry and lifetime (at most MaxLifetime).
type OIDC struct {
	v *oidc.IDTokenVerifier
}

// NewOIDC discovers the provider at issuer. ctx must outlive the verifier:
// go-oidc fetches keys with it.
func NewOIDC(ctx context.Context, issuer, audience string) (*OIDC, error) {
	p, err := oidc.NewProvider(ctx, issuer)
	if err != nil {
		return nil, fmt.Errorf("auth: OIDC discovery at %s: %w", issuer, err)
	}
	return &OIDC{v: p.Verifier(&oidc.Config{ClientID: audience})}, nil
}

// Verify implements Verifier.
func (o *OIDC) Verify(ctx context.Context, raw string) (string, error) {
	t, err := o.v.Verify(ctx, raw)
	if err != nil {
		return "", err
	}
	if err := checkLifetime(t.IssuedAt, t.Expiry, time.Now()); err != nil {
		return "", err
	}
	if t.Subject == "" {
		return "", errors.New("token without subject")
	}
	return t.Subject, nil
}
