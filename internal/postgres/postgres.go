// Package postgres opens Amparo's PostgreSQL database, runs transactions,
// applies the embedded migrations and classifies PostgreSQL errors into
// apperr kinds by SQLSTATE (never by message text).
package postgres

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"net"
	"slices"
	"strconv"
	"time"

	"github.com/google/uuid"
	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"amparo/internal/apperr"
	"amparo/internal/page"
)

// Open connects to url and checks the connection. The pool (24) is sized for
// a server that keeps each transaction short: more connections than this do
// not make PostgreSQL faster on small machines, they only queue inside it.
// A server's hot reads have a pool of their own (OpenGeneric, 16): with the
// sealer's 3 and the alert hub's 1, a replica holds at most 44, and the four
// replicas of a rolling update 176 of the cluster's 200
// (deploy/kubernetes/postgres.yaml).
func Open(ctx context.Context, url string) (*sqlx.DB, error) {
	return OpenWith(ctx, url, nil)
}

// OpenWith is Open with the driver's connector wrapped by wrap (nil for
// none): tests count the statements a request runs this way.
func OpenWith(ctx context.Context, url string, wrap func(driver.Connector) driver.Connector) (*sqlx.DB, error) {
	return open(ctx, url, wrap, 24)
}

func open(ctx context.Context, url string, wrap func(driver.Connector) driver.Connector, conns int) (*sqlx.DB, error) {
	conn, err := pq.NewConnector(url)
	if err != nil {
		return nil, fmt.Errorf("postgres: open: %w", err)
	}
	var c driver.Connector = conn
	if wrap != nil {
		c = wrap(c)
	}
	db := sqlx.NewDb(sql.OpenDB(c), "postgres")
	db.SetMaxOpenConns(conns)
	db.SetMaxIdleConns(conns)
	db.SetConnMaxIdleTime(5 * time.Minute)
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("postgres: connect: %w", err)
	}
	return db, nil
}

// WithTx runs fn in a transaction, committing when fn returns nil and rolling
// back otherwise. The error returned is classified with MapError, so callers
// can return it as is.
//
// Errors: whatever fn returns; UNAVAILABLE when the database cannot be
// reached; CONFLICT on a serialization failure or a unique violation.
func WithTx(ctx context.Context, db *sqlx.DB, fn func(tx *sqlx.Tx) error) error {
	tx, err := db.BeginTxx(ctx, nil)
	if err != nil {
		return MapError(err)
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return MapError(err)
	}
	if err := tx.Commit(); err != nil {
		return MapError(err)
	}
	return nil
}

// MapError turns a database error into an apperr kind. Errors that already
// carry a kind pass through unchanged; the cause is kept for the log.
func MapError(err error) error {
	if err == nil {
		return nil
	}
	if _, ok := apperr.As(err); ok {
		return err
	}
	if errors.Is(err, sql.ErrNoRows) {
		return &apperr.Error{Kind: apperr.NotFound, Err: err}
	}
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return &apperr.Error{Kind: apperr.Unavailable, Err: err}
	}
	var pqe *pq.Error
	if errors.As(err, &pqe) {
		switch code := string(pqe.Code); {
		case code == "23505": // unique_violation
			return &apperr.Error{Kind: apperr.Conflict, Err: err}
		case code == "40001", code == "40P01": // serialization_failure, deadlock_detected
			return &apperr.Error{Kind: apperr.Conflict, Err: err}
		case code == "23503", code == "23514", code == "22P02", code == "22007", code == "22008",
			code == "22021", code == "22P05":
			// foreign key, check constraint, bad text representation, bad datetime,
			// a byte text cannot hold (a NUL): input that validation should have
			// caught; say so without details.
			return &apperr.Error{Kind: apperr.Invalid, Err: err}
		case code[:2] == "08", code == "57P01", code == "57P02", code == "57P03", code == "53300":
			// connection exceptions, admin/crash shutdown, cannot connect now, too many connections
			return &apperr.Error{Kind: apperr.Unavailable, Err: err}
		}
		return &apperr.Error{Kind: apperr.Internal, Err: err}
	}
	var ne net.Error
	// driver.ErrBadConn: the server went away under a transaction (a
	// failover); the client may retry, its idempotency key keeps it safe.
	if errors.As(err, &ne) || errors.Is(err, sql.ErrConnDone) || errors.Is(err, pq.ErrChannelNotOpen) || errors.Is(err, driver.ErrBadConn) {
		return &apperr.Error{Kind: apperr.Unavailable, Err: err}
	}
	var oe *net.OpError
	if errors.As(err, &oe) {
		return &apperr.Error{Kind: apperr.Unavailable, Err: err}
	}
	return &apperr.Error{Kind: apperr.Internal, Err: err}
}

// SQLState returns the SQLSTATE of a PostgreSQL error, or "".
func SQLState(err error) string {
	var pqe *pq.Error
	if errors.As(err, &pqe) {
		return string(pqe.Code)
	}
	return ""
}

// Args collects the positional arguments of a query built piece by piece.
type Args []any

// Add appends v and returns its placeholder ($1, $2, ...).
func (a *Args) Add(v any) string {
	*a = append(*a, v)
	return "$" + strconv.Itoa(len(*a))
}

// UUIDs passes ids as a uuid[] parameter, for "= ANY($1::uuid[])".
func UUIDs(ids []uuid.UUID) any {
	s := make([]string, len(ids))
	for i, id := range ids {
		s[i] = id.String()
	}
	return pq.Array(s)
}

// CountByCase counts, per case, the rows of "FROM from" whose caseColumn is
// one of the case ids and that meet where, in one query. from, caseColumn
// and where are SQL from the caller's code, never from input; the ids are
// args' first parameter ($1), and where may add its own after it.
func CountByCase(ctx context.Context, db sqlx.QueryerContext, from, caseColumn, where string, args Args) (map[uuid.UUID]int, error) {
	var rows []struct {
		CaseID uuid.UUID `db:"case_id"`
		N      int       `db:"n"`
	}
	q := `SELECT ` + caseColumn + ` AS case_id, count(*) AS n FROM ` + from + ` WHERE ` + caseColumn +
		` = ANY($1::uuid[]) AND ` + where + ` GROUP BY 1`
	if err := sqlx.SelectContext(ctx, db, &rows, q, args...); err != nil {
		return nil, MapError(err)
	}
	out := make(map[uuid.UUID]int, len(rows))
	for _, r := range rows {
		out[r.CaseID] = r.N
	}
	return out, nil
}

// Counter counts the rows of "FROM from WHERE where" with args, when first
// asked and up to the limit it is asked for: a list's totalCount.
func Counter(db sqlx.QueryerContext, from, where string, args Args) *page.Counter {
	args = slices.Clone(args) // the caller goes on adding its cursor's conditions
	return page.NewCounter(func(ctx context.Context, limit int) (int, error) {
		q := `SELECT count(*) FROM (SELECT 1 FROM ` + from + ` WHERE ` + where + ` LIMIT ` + strconv.Itoa(limit) + `) AS x`
		var n int
		if err := sqlx.GetContext(ctx, db, &n, q, args...); err != nil {
			return 0, MapError(err)
		}
		return n, nil
	})
}

// List is a keyset-paginated list: the rows of "FROM From WHERE Where"
// (the caller's scope and filters, with Args), newest first by the Key
// columns (descending, unique together). Join, when set, is joined to From
// to read the page's rows only (it must not add or drop rows), not to count
// or probe.
type List struct {
	From, Join, Where string
	Args              Args
	Key               []string
}

// PageQuery reads one page of a List.
type PageQuery struct {
	// Tail follows the SELECT list: FROM, WHERE, ORDER BY and LIMIT of the
	// page's rows, with Args. Cut the rows with page.Cut and Behind.
	Tail string
	Args Args
	// Count counts the whole list, when asked.
	Count *page.Counter
	// Behind: records lie behind the cursor the page starts from.
	Behind bool
}

// Seek prepares page r of l, whose cursors' values key gives. Whether
// records lie behind the page's starting cursor is asked of the database
// only when a cursor bounds that side (one indexed EXISTS), so that
// hasPreviousPage and hasNextPage are exact, also when the cursor's own
// record has since left the list.
//
// Errors: UNAVAILABLE, INTERNAL (MapError).
func Seek[K any](ctx context.Context, db sqlx.QueryerContext, l List, r page.Request[K], key func(K) []any) (*PageQuery, error) {
	p := &PageQuery{Count: Counter(db, l.From, l.Where, l.Args)}
	probe := slices.Clone(l.Args)
	if behind := page.Behind(r, l.Key, key, probe.Add); behind != "" {
		q := `SELECT EXISTS (SELECT 1 FROM ` + l.From + ` WHERE ` + l.Where + ` AND ` + behind + `)`
		if err := sqlx.GetContext(ctx, db, &p.Behind, q, probe...); err != nil {
			return nil, MapError(err)
		}
	}
	p.Args = slices.Clone(l.Args)
	ks := page.Seek(r, l.Key, key, p.Args.Add)
	// The limit is written into the text, not passed as an argument: a
	// page's statement may run prepared (Statements), and the generic plan
	// of a prepared statement guesses a LIMIT argument at a tenth of the
	// rows, which at a million cases would sort instead of walking an index
	// in the page's order. It is a number the server computed from a
	// validated page size, never the caller's text.
	p.Tail = ` FROM ` + l.From + l.Join + ` WHERE ` + l.Where + ks.Where + ` ORDER BY ` + ks.OrderBy + ` LIMIT ` + strconv.Itoa(ks.Limit)
	return p, nil
}
