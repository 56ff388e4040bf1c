package authz

import (
	"context"
	"fmt"
	"strings"

	"github.com/google/uuid"
	"github.com/jmoiron/sqlx"

	"amparo/internal/auth"
	"amparo/internal/postgres"
)

// ChangesChannel is the PostgreSQL notification channel on which Notify
// announces a change of grants, rules or accounts, for whoever must act on
// it besides the Authorizer (open subscriptions of a disabled user).
const ChangesChannel = channel

// maxAudienceColumns bounds the distinct conditions one Audience query
// evaluates; more candidates take more queries.
const maxAudienceColumns = 200

// Audience returns those of candidates who hold perm over record t, in the
// order given: the roles of each candidate in their institution decide the
// scopes (casbin, as for a request of theirs), then the record's Kind
// decides whether it lies within them (SQL, read through q so that a record
// written in the caller's uncommitted transaction counts). Candidates whose
// conditions coincide (the same scopes in the same institution, without a
// condition on the user) are decided once; the distinct conditions are
// evaluated together in one query.
//
// It answers "whom may we tell about this record", for alerts: nobody is
// told about a record they could not read. Only UserID and Institution of a
// candidate are used.
//
// Errors: UNAVAILABLE when the database is down.
func (g *Guard) Audience(ctx context.Context, q sqlx.QueryerContext, perm string, t Target, candidates []*auth.Principal) ([]uuid.UUID, error) {
	if t.Kind == nil || len(candidates) == 0 {
		return nil, nil
	}
	type column struct {
		p   *auth.Principal // the first candidate of the condition
		sc  Scopes
		who []int // indices into candidates
	}
	var cols []*column
	byKey := map[string]*column{}
	for i, p := range candidates {
		sc := g.az.Scopes(p, perm)
		if len(sc) == 0 {
			continue
		}
		var a postgres.Args
		key := t.Kind.Where(p, sc, &a) + "\x00" + fmt.Sprint([]any(a)...)
		c := byKey[key]
		if c == nil {
			c = &column{p: p, sc: sc}
			byKey[key] = c
			cols = append(cols, c)
		}
		c.who = append(c.who, i)
	}
	allowed := make([]bool, len(candidates))
	for start := 0; start < len(cols); start += maxAudienceColumns {
		batch := cols[start:min(start+maxAudienceColumns, len(cols))]
		var a postgres.Args
		id := a.Add(t.ID)
		exprs := make([]string, len(batch))
		for j, c := range batch {
			exprs[j] = `EXISTS (SELECT 1 FROM ` + t.Kind.From + ` WHERE ` + t.Kind.ID + ` = ` + id + ` AND ` + t.Kind.Where(c.p, c.sc, &a) + `)`
		}
		rows, err := q.QueryxContext(ctx, `SELECT `+strings.Join(exprs, ", "), a...)
		if err != nil {
			if postgres.SQLState(err) == "22P02" { // not an id of the column's type: no such record
				return nil, nil
			}
			return nil, postgres.MapError(err)
		}
		got := make([]bool, len(batch))
		ptrs := make([]any, len(batch))
		for j := range got {
			ptrs[j] = &got[j]
		}
		if rows.Next() {
			err = rows.Scan(ptrs...)
		}
		if cerr := rows.Close(); err == nil {
			err = cerr
		}
		if err == nil {
			err = rows.Err()
		}
		if err != nil {
			return nil, postgres.MapError(err)
		}
		for j, c := range batch {
			for _, i := range c.who {
				allowed[i] = got[j]
			}
		}
	}
	var out []uuid.UUID
	for i, ok := range allowed {
		if ok {
			out = append(out, candidates[i].UserID)
		}
	}
	return out, nil
}
