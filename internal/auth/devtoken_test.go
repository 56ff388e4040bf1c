package auth

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

func TestDevTokenLifetime(t *testing.T) {
	_, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	d := NewDevIssuer(key)
	sign := func(iat, exp time.Time) string {
		c := jwt.RegisteredClaims{Issuer: DevIssuerName, Subject: "officer@pgn.demo", Audience: jwt.ClaimStrings{"amparo"},
			ExpiresAt: jwt.NewNumericDate(exp)}
		if !iat.IsZero() {
			c.IssuedAt = jwt.NewNumericDate(iat)
		}
		raw, err := jwt.NewWithClaims(jwt.SigningMethodEdDSA, c).SignedString(key)
		if err != nil {
			t.Fatal(err)
		}
		return raw
	}
	now := time.Now()
	for name, tc := range map[string]struct {
		raw string
		ok  bool
	}{
		"OneHourAccepted":         {sign(now, now.Add(time.Hour)), true},
		"TwelveHoursAccepted":     {sign(now, now.Add(12*time.Hour)), true},
		"ErrTenYears":             {sign(now, now.AddDate(10, 0, 0)), false},
		"ErrThirteenHours":        {sign(now, now.Add(13*time.Hour)), false},
		"ErrTenYearsWithoutIat":   {sign(time.Time{}, now.AddDate(10, 0, 0)), false},
		"ErrIssuedLongAgoForLong": {sign(now.Add(-20*time.Hour), now.Add(time.Hour)), false},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := d.Verify(context.Background(), tc.raw)
			if (err == nil) != tc.ok {
				t.Fatalf("Verify: %v, want accepted %v", err, tc.ok)
			}
		})
	}
	t.Run("ErrIssueOverTwelveHours", func(t *testing.T) {
		if _, err := d.Issue("officer@pgn.demo", 13*time.Hour); err == nil {
			t.Fatal("issued a 13 h token")
		}
		if _, err := d.Issue("officer@pgn.demo", 12*time.Hour); err != nil {
			t.Fatal(err)
		}
	})
}

// A server configured with no verifier accepts no token (errors.Join of no
// error is nil, which would have read as accepted, with no subject).
func TestNoVerifierAcceptsNothing(t *testing.T) {
	if sub, err := (Verifiers{}).Verify(context.Background(), "any.token.at-all"); err == nil {
		t.Fatalf("accepted, subject %q", sub)
	}
}
