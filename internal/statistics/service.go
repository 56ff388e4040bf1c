// Package statistics publishes figures on cases, complaints, violations and
// referrals to oversight bodies and supervisors without exposing a child:
// the table engine (one or two dimensions in rows, optional columns, a
// period and the case filter), disclosure control by cell-key perturbation
// with suppression of counts under 5 (disclosure.go), the action plan's
// indicator report, and exports of tables and cases to CSV and XLSX
// (package export writes and keeps them).
//
// Figures never carry identity fields or free text: dimensions are codes.
// Every table served is audited with its definition (codes only, never the
// figures).
package statistics

import (
	"context"
	"database/sql"
	"log/slog"
	"time"

	"github.com/jmoiron/sqlx"

	"amparo/internal/apperr"
	"amparo/internal/audit"
	"amparo/internal/authz"
	"amparo/internal/postgres"
	"amparo/internal/reference"
)

// Permissions used by this package.
const (
	PermRead        = "stats:read"
	PermExport      = "stats:export"
	PermExportCases = "case:export"
	// PermIdentityRead lets a case export carry identities (checked per case).
	PermIdentityRead = "identity:read"
)

// Service serves statistics and exports.
type Service struct {
	db      *sqlx.DB
	guard   *authz.Guard
	catalog *reference.Catalog
	exports Exports
	ids     Identities
	log     *slog.Logger
	now     func() time.Time
}

// NewService returns a Service over db; exports keeps exported files and
// ids reads children's identities for case exports that ask for them.
func NewService(db *sqlx.DB, g *authz.Guard, cat *reference.Catalog, exports Exports, ids Identities, log *slog.Logger) *Service {
	return &Service{db: db, guard: g, catalog: cat, exports: exports, ids: ids, log: log, now: time.Now}
}

// Table computes the table in defines, over the records the caller's scope
// reaches (a supervisor: their institution's; oversight: all), and audits
// its definition.
//
// Errors: UNAUTHENTICATED; FORBIDDEN without stats:read; BAD_USER_INPUT
// naming each wrong field of the definition; UNAVAILABLE.
func (s *Service) Table(ctx context.Context, in Input) (*Table, error) {
	const op = "statistics.Table"
	d, err := s.guard.Check(ctx, PermRead, authz.Any)
	if err != nil {
		return nil, apperr.Wrap(op, err)
	}
	t, err := s.compute(ctx, d, &in)
	if err != nil {
		return nil, apperr.Wrap(op, err)
	}
	if err := s.audit(ctx, PermRead, "statistics", "", map[string]any{"table": in.codes()}); err != nil {
		return nil, apperr.Wrap(op, err)
	}
	return t, nil
}

// compute builds the table of in within d's scope.
func (s *Service) compute(ctx context.Context, d *authz.Decision, in *Input) (*Table, error) {
	m := measures[in.Measure]
	if err := in.validate(m); err != nil {
		return nil, err
	}
	var a postgres.Args
	w, err := where(d, s.catalog, m, in, &a)
	if err != nil {
		return nil, err
	}
	dims := in.dims()
	multi := func(ds []string) bool {
		for _, x := range ds {
			if m.dims[x].multi {
				return true
			}
		}
		return false
	}
	rowsMulti, colsMulti := multi(in.Rows), multi(in.Columns)
	plan := summaryPlan(d, m, in, s.department)
	// One snapshot for every part of the table: its margins, and the
	// summary, its queue, the horizon and the records counted beside them,
	// describe the same moment.
	var t *Table
	err = s.snapshot(ctx, func(tx *sqlx.Tx) error {
		p := plan
		if p != nil {
			ok, err := built(ctx, tx)
			if err != nil {
				return err
			}
			if !ok {
				p = nil // not built yet: the records
			}
		}
		count := func(ds []string) ([]counted, error) {
			if p != nil {
				return p.count(ctx, tx, s, ds)
			}
			return s.count(ctx, tx, query(m, ds, w), len(ds), a)
		}
		cells, err := count(dims)
		if err != nil {
			return err
		}
		var rowTotals []counted
		if colsMulti {
			if rowTotals, err = count(in.Rows); err != nil {
				return err
			}
		}
		var grand *Count
		if rowsMulti || colsMulti {
			g, err := count(nil)
			if err != nil {
				return err
			}
			grand = &Count{}
			if len(g) > 0 {
				grand = &g[0].c
			}
		}
		t = assemble(cells, rowTotals, grand, len(in.Rows), rowsMulti, colsMulti, s.now().UTC())
		return nil
	})
	return t, err
}

// snapshot runs fn in a read-only transaction of one snapshot.
func (s *Service) snapshot(ctx context.Context, fn func(tx *sqlx.Tx) error) error {
	tx, err := s.db.BeginTxx(ctx, &sql.TxOptions{Isolation: sql.LevelRepeatableRead, ReadOnly: true})
	if err != nil {
		return postgres.MapError(err)
	}
	defer func() { _ = tx.Rollback() }()
	if err := fn(tx); err != nil {
		return postgres.MapError(err)
	}
	return postgres.MapError(tx.Commit())
}

// count runs a query of query with nDims dimensions.
func (s *Service) count(ctx context.Context, db sqlx.QueryerContext, q string, nDims int, args []any) ([]counted, error) {
	rows, err := db.QueryxContext(ctx, q, args...)
	if err != nil {
		return nil, postgres.MapError(err)
	}
	defer rows.Close()
	var out []counted
	for rows.Next() {
		c := counted{dims: make([]sql.NullString, nDims)}
		dest := make([]any, 0, nDims+2)
		for i := range c.dims {
			dest = append(dest, &c.dims[i])
		}
		var key int64
		dest = append(dest, &c.c.N, &key)
		if err := rows.Scan(dest...); err != nil {
			return nil, postgres.MapError(err)
		}
		c.c.Key = uint32(key)
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, postgres.MapError(err)
	}
	return out, nil
}

// department is the code of a department given by either code.
func (s *Service) department(code string) (string, bool) {
	d, ok := s.catalog.Department(code)
	if !ok {
		return "", false
	}
	return d.Code, true
}

// audit records one event in a transaction of its own.
func (s *Service) audit(ctx context.Context, action, objectType, objectID string, details map[string]any) error {
	return postgres.WithTx(ctx, s.db, func(tx *sqlx.Tx) error {
		return audit.Record(ctx, tx, audit.Event{Action: action, ObjectType: objectType, ObjectID: objectID, Details: details})
	})
}
