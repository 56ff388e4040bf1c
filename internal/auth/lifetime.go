package auth

import (
	"fmt"
	"time"
)

// MaxLifetime is the longest a bearer token may be valid: a working day and
// its overtime. A stolen token of years would otherwise open every child's
// case for as long.
const MaxLifetime = 12 * time.Hour

// clockSkew is how far issuer and server clocks may disagree.
const clockSkew = time.Minute

// checkLifetime refuses a token valid for longer than MaxLifetime, counted
// from its issue time when it has one and from now in any case.
func checkLifetime(issued, expires, now time.Time) error {
	if expires.IsZero() {
		return fmt.Errorf("token without expiry")
	}
	if expires.Sub(now) > MaxLifetime+clockSkew {
		return fmt.Errorf("token valid until %s, beyond the %s allowed", expires.UTC().Format(time.RFC3339), MaxLifetime)
	}
	if !issued.IsZero() && expires.Sub(issued) > MaxLifetime {
		return fmt.Errorf("token issued for %s, beyond the %s allowed", expires.Sub(issued), MaxLifetime)
	}
	return nil
}
