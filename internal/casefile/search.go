package casefile

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
	"golang.org/x/time/rate"

	"amparo/internal/apperr"
	"amparo/internal/audit"
	"amparo/internal/authz"
	"amparo/internal/child"
	"amparo/internal/postgres"
)

// PermSearch is the permission to look a child up by name among the cases
// in one's scope.
const PermSearch = "child:search"

// SearchInput is who is being looked for: a name, and a date of birth or an
// age in years.
type SearchInput struct {
	GivenName   *string
	FamilyName  *string
	DateOfBirth *time.Time
	AgeYears    *int
}

// ChildMatch is a case whose child has the name searched for and was born
// in the year searched for, give or take one. It names the case, never the
// child: the searcher opens the case to see more, with the usual checks.
type ChildMatch struct {
	CaseID      uuid.UUID `db:"id"`
	Reference   string    `db:"reference"`
	Institution string    `db:"institution_code"`
	Status      string    `db:"status"`
	CreatedAt   time.Time `db:"created_at"`
}

// searchLimit is how many searches one user may make: a blind index lets
// whoever may search test guesses, so guesses are rationed.
var searchLimit = struct {
	every time.Duration
	burst int
}{6 * time.Second, 10} // 10 at once, then one every 6 s

// limiters rations searches per user on this replica.
type limiters struct {
	mu sync.Mutex
	by map[uuid.UUID]*rate.Limiter
}

func (l *limiters) allow(user uuid.UUID) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.by == nil || len(l.by) > 10000 {
		l.by = map[uuid.UUID]*rate.Limiter{}
	}
	lim, ok := l.by[user]
	if !ok {
		lim = rate.NewLimiter(rate.Every(searchLimit.every), searchLimit.burst)
		l.by[user] = lim
	}
	return lim.Allow()
}

// SearchChildren finds, among the cases the caller may search, those whose
// child has exactly this name (case, accents and spacing aside) and birth
// year (give or take one), through the blind index: no name is decrypted or
// compared in the clear. Every search is audited as an identity read (the
// event holds the number of matches and the case ids, never the name).
//
// Errors: UNAUTHENTICATED; FORBIDDEN without child:search; BAD_USER_INPUT
// without a name, or without a date of birth or an age; RATE_LIMITED.
func (s *Service) SearchChildren(ctx context.Context, in SearchInput) ([]*ChildMatch, error) {
	const op = "casefile.SearchChildren"
	d, err := s.guard.Check(ctx, PermSearch, authz.Any)
	if err != nil {
		return nil, apperr.Wrap(op, err)
	}
	var v apperr.Validation
	if !child.Named(in.GivenName, in.FamilyName) {
		v.Add("givenName", "indique el nombre o el apellido", "give the given name or the family name")
	}
	year, ok := child.BirthYear(in.DateOfBirth, in.AgeYears, s.now())
	if !ok {
		v.Add("dateOfBirth", "indique la fecha de nacimiento o la edad", "give the date of birth or the age")
	} else if in.AgeYears != nil && (*in.AgeYears < 0 || *in.AgeYears > 17) {
		v.Add("ageYears", "la edad va de 0 a 17 años", "the age is from 0 to 17")
	}
	if err := v.Err(); err != nil {
		return nil, apperr.Wrap(op, err)
	}
	if !s.searches.allow(d.Principal.UserID) {
		return nil, &apperr.Error{Op: op, Kind: apperr.RateLimited}
	}
	indexes := child.NameIndexes(s.keys.Index, in.GivenName, in.FamilyName, year)
	var out []*ChildMatch
	err = postgres.WithTx(ctx, s.db, func(tx *sqlx.Tx) error {
		var err error
		if out, err = s.matches(ctx, tx, d, indexes, uuid.Nil); err != nil {
			return err
		}
		return audit.Record(ctx, tx, audit.Event{Action: PermSearch, ObjectType: "child", ObjectID: "",
			Details: map[string]any{"matches": len(out), "cases": matchIDs(out)}})
	})
	if err != nil {
		return nil, apperr.Wrap(op, err)
	}
	return out, nil
}

// maxMatches bounds one search's answer.
const maxMatches = 50

// matches lists the cases within d's scope whose child's blind index is one
// of indexes, but for case except.
func (s *Service) matches(ctx context.Context, q sqlx.QueryerContext, d *authz.Decision, indexes [][]byte, except uuid.UUID) ([]*ChildMatch, error) {
	out := []*ChildMatch{}
	if len(indexes) == 0 {
		return out, nil
	}
	var a args
	query := `SELECT c.id, c.reference, c.institution_code, c.status, c.created_at
FROM child_identities ci JOIN cases c ON c.child_id = ci.child_id
WHERE ci.name_index = ANY(` + a.Add(pq.ByteaArray(indexes)) + `) AND c.id <> ` + a.Add(except) + ` AND ` + d.Where(authz.Case, &a) + `
ORDER BY c.created_at DESC LIMIT ` + fmt.Sprint(maxMatches)
	if err := sqlx.SelectContext(ctx, q, &out, query, a...); err != nil {
		return nil, err
	}
	return out, nil
}

func matchIDs(ms []*ChildMatch) []uuid.UUID {
	ids := make([]uuid.UUID, len(ms))
	for i, m := range ms {
		ids[i] = m.CaseID
	}
	return ids
}
