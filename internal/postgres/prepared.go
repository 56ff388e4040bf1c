package postgres

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"sync"

	"github.com/jmoiron/sqlx"
)

// Statements runs hot queries as statements prepared once on each
// connection of a pool, the first time they run there, and kept for the
// connection's life: PostgreSQL parses each once per connection, and on a
// pool opened with OpenGeneric plans it once too, so a hot read is neither
// parsed nor planned again, and goes to the server in one round trip
// instead of two (lib/pq sends a query with arguments as a parse, then a
// bind). For queries whose text is one of a few (reads by key, the guard's
// scope checks, a page of cases), whose plan does not depend on the
// values: at most maxStatements texts are kept, others run unprepared.
type Statements struct {
	db *sqlx.DB

	mu    sync.Mutex
	stmts map[string]*sqlx.Stmt
}

const maxStatements = 256

// OpenGeneric opens the pool Statements run on: as OpenWith, 16
// connections, each of whose sessions plans a prepared statement once,
// generically (plan_cache_mode = force_generic_plan). Left to itself
// (auto), PostgreSQL compares a generic plan's estimated cost with its
// custom plans' and, for a page of cases, plans every execution anew: about
// 0.6-0.9 ms of its CPU per page, more than running it, for the same index
// walk. Only Statements belong here: the setting gives every parameterized
// query of the session a generic plan, unprepared ones too, and a range
// over time, say, may need the plan its values allow.
func OpenGeneric(ctx context.Context, url string, wrap func(driver.Connector) driver.Connector) (*sqlx.DB, error) {
	return open(ctx, url, func(c driver.Connector) driver.Connector {
		c = genericPlans{c}
		if wrap != nil {
			c = wrap(c)
		}
		return c
	}, 16)
}

// genericPlans sets plan_cache_mode on each connection it opens.
type genericPlans struct{ driver.Connector }

func (g genericPlans) Connect(ctx context.Context) (driver.Conn, error) {
	c, err := g.Connector.Connect(ctx)
	if err != nil {
		return nil, err
	}
	ex, ok := c.(driver.ExecerContext)
	if !ok {
		c.Close()
		return nil, errors.New("postgres: the driver's connection cannot execute SET")
	}
	if _, err := ex.ExecContext(ctx, `SET plan_cache_mode = force_generic_plan`, nil); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

// NewStatements returns the statements of db. Nothing is sent before a
// statement's first use; a preparation that fails is tried again at the
// next use.
func NewStatements(db *sqlx.DB) *Statements {
	return &Statements{db: db, stmts: map[string]*sqlx.Stmt{}}
}

// Get runs query prepared and scans its one row into dest, as sqlx.Get.
//
// Errors: sql.ErrNoRows when there is no row; the driver's otherwise.
func (s *Statements) Get(ctx context.Context, dest any, query string, args ...any) error {
	st, err := s.statement(ctx, query)
	if err != nil {
		return err
	}
	if st == nil {
		return s.db.GetContext(ctx, dest, query, args...)
	}
	return st.GetContext(ctx, dest, args...)
}

// statement is query's prepared statement, or nil when too many are kept.
func (s *Statements) statement(ctx context.Context, query string) (*sqlx.Stmt, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if st, ok := s.stmts[query]; ok {
		return st, nil
	}
	if len(s.stmts) >= maxStatements {
		return nil, nil
	}
	st, err := s.db.PreparexContext(ctx, query)
	if err != nil {
		return nil, err
	}
	s.stmts[query] = st
	return st, nil
}

// QueryContext runs query prepared (sqlx.QueryerContext), so that code
// written against a querier (getCase, the vault) runs its statements
// prepared when given Statements.
func (s *Statements) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	st, err := s.statement(ctx, query)
	if err != nil {
		return nil, err
	}
	if st == nil {
		return s.db.QueryContext(ctx, query, args...)
	}
	return st.QueryContext(ctx, args...)
}

// QueryxContext runs query prepared (sqlx.QueryerContext).
func (s *Statements) QueryxContext(ctx context.Context, query string, args ...any) (*sqlx.Rows, error) {
	st, err := s.statement(ctx, query)
	if err != nil {
		return nil, err
	}
	if st == nil {
		return s.db.QueryxContext(ctx, query, args...)
	}
	return st.QueryxContext(ctx, args...)
}

// QueryRowxContext runs query prepared (sqlx.QueryerContext); when it
// cannot be prepared, it runs unprepared, which reports the error.
func (s *Statements) QueryRowxContext(ctx context.Context, query string, args ...any) *sqlx.Row {
	st, err := s.statement(ctx, query)
	if err != nil || st == nil {
		return s.db.QueryRowxContext(ctx, query, args...)
	}
	return st.QueryRowxContext(ctx, args...)
}
