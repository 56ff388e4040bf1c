package auth

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"amparo/internal/apperr"
)

// Users finds the principal behind a token subject.
//
// Principals are cached per replica, but only while the replica hears of
// every change: the authorizer's watcher (authz.Authorizer.OnChange) calls
// Changed at each grant change or disablement on any replica (a PostgreSQL
// notification, within milliseconds), and with trusted=false when its
// listening connection drops, which turns the cache off until it is back. A
// disabled user or a revoked role therefore stops working within a second
// everywhere, and a request costs no statement for the caller meanwhile.
type Users struct {
	db *sqlx.DB

	mu      sync.Mutex
	cache   map[string]cachedPrincipal // subject → principal
	trusted bool                       // caching is on
	gen     uint64                     // bumped at every change
}

type cachedPrincipal struct {
	p  Principal
	at time.Time
}

// Bounds of the principal cache: entries older than cacheTTL are read
// again (a backstop should a notification ever be missed), and the cache
// starts over beyond maxCached subjects.
const (
	cacheTTL  = 30 * time.Second
	maxCached = 20000
)

// NewUsers returns a Users over db, caching nothing until Changed(true).
func NewUsers(db *sqlx.DB) *Users { return &Users{db: db} }

// Changed drops every cached principal. trusted says whether changes will
// be heard from now on: while false, nothing is cached.
func (u *Users) Changed(trusted bool) {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.cache = nil
	u.trusted = trusted
	u.gen++
}

func (u *Users) cached(sub string) (*Principal, uint64, bool) {
	u.mu.Lock()
	defer u.mu.Unlock()
	c, ok := u.cache[sub]
	if !u.trusted || !ok || time.Since(c.at) > cacheTTL {
		return nil, u.gen, false
	}
	p := c.p
	return &p, u.gen, true
}

// remember caches p unless a change happened since gen was read: a lookup
// that raced with a disablement must not put the old principal back.
func (u *Users) remember(sub string, gen uint64, p *Principal) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if !u.trusted || gen != u.gen {
		return
	}
	if u.cache == nil || len(u.cache) >= maxCached {
		u.cache = make(map[string]cachedPrincipal)
	}
	u.cache[sub] = cachedPrincipal{p: *p, at: time.Now()}
}

// BySubject returns the enabled user whose identity-provider subject is sub,
// with the roles held in their own domain.
//
// Errors: UNAUTHENTICATED when no enabled user has that subject;
// UNAVAILABLE when the database cannot be reached.
func (u *Users) BySubject(ctx context.Context, sub string) (*Principal, error) {
	p, gen, ok := u.cached(sub)
	if ok {
		return p, nil
	}
	p, err := u.lookup(ctx, sub)
	if err == nil {
		u.remember(sub, gen, p)
	}
	return p, err
}

func (u *Users) lookup(ctx context.Context, sub string) (*Principal, error) {
	const q = `
SELECT u.id, u.email, u.display_name, coalesce(u.institution_code, '') AS institution,
  coalesce(array_agg(g.role ORDER BY g.role) FILTER (WHERE g.role IS NOT NULL), '{}') AS roles
FROM users u
LEFT JOIN role_grants g ON g.user_id = u.id AND g.domain = coalesce(u.institution_code, 'system')
WHERE u.subject = $1 AND u.disabled_at IS NULL
GROUP BY u.id`
	var r struct {
		ID          uuid.UUID      `db:"id"`
		Email       string         `db:"email"`
		Name        string         `db:"display_name"`
		Institution string         `db:"institution"`
		Roles       pq.StringArray `db:"roles"`
	}
	err := u.db.GetContext(ctx, &r, q, sub)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, apperr.New(apperr.Unauthenticated, "usuario desconocido o deshabilitado", "unknown or disabled user")
	}
	if err != nil {
		return nil, &apperr.Error{Op: "auth.BySubject", Kind: apperr.Unavailable, Err: fmt.Errorf("user lookup: %w", err)}
	}
	return &Principal{UserID: r.ID, Email: r.Email, Name: r.Name, Institution: r.Institution, Roles: r.Roles}, nil
}
