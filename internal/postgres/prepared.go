package postgres

import (
	"context"
	"sync"

	"github.com/jmoiron/sqlx"
)

// Prepared is a statement prepared once on each connection of a pool, the
// first time it runs there, and kept for the connection's life: PostgreSQL
// parses it once per connection and, after its first executions, keeps a
// generic plan, so a hot read is neither parsed nor planned again, and goes
// to the server in one round trip instead of two (lib/pq sends a query with
// arguments as a parse, then a bind). For reads by key, whose plan does not
// depend on the value.
type Prepared struct {
	db    *sqlx.DB
	query string

	mu   sync.Mutex
	stmt *sqlx.Stmt
}

// Prepare returns query as a Prepared statement of db. Nothing is sent
// before its first use; a preparation that fails is tried again at the
// next use.
func Prepare(db *sqlx.DB, query string) *Prepared {
	return &Prepared{db: db, query: query}
}

// Get runs the statement and scans its one row into dest, as sqlx.Get.
//
// Errors: sql.ErrNoRows when there is no row; the driver's otherwise.
func (p *Prepared) Get(ctx context.Context, dest any, args ...any) error {
	st, err := p.statement(ctx)
	if err != nil {
		return err
	}
	return st.GetContext(ctx, dest, args...)
}

func (p *Prepared) statement(ctx context.Context) (*sqlx.Stmt, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.stmt == nil {
		st, err := p.db.PreparexContext(ctx, p.query)
		if err != nil {
			return nil, err
		}
		p.stmt = st
	}
	return p.stmt, nil
}
