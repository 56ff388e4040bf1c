package postgres

import (
	"context"
	"database/sql/driver"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/jmoiron/sqlx"
)

// Leadership makes one process among replicas the leader of a background
// job (the audit sealer, the deadline watcher, the statistics keeper):
// whoever holds a session advisory lock, on a connection of its own, leads.
// A leader that dies or is cut off from the database loses its session and
// with it the lock, so another replica takes over within the retry
// interval; work that must not interleave across a change of leader takes
// a transaction lock of its own as well.
type Leadership struct {
	db    *sqlx.DB
	lock  int64
	name  string
	retry time.Duration
	log   *slog.Logger
	held  atomic.Bool
}

// NewLeadership returns the leadership of the job name (as logs say it)
// over the advisory lock key lock; a replica that does not lead tries again
// every retry.
func NewLeadership(db *sqlx.DB, lock int64, name string, retry time.Duration, log *slog.Logger) *Leadership {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Leadership{db: db, lock: lock, name: name, retry: retry, log: log}
}

// Leader reports whether this process leads now.
func (l *Leadership) Leader() bool { return l.held.Load() }

// Run, until ctx ends, takes the lock whenever it is free and, holding it,
// calls lead with the lock's connection. lead returns nil when ctx ends, or
// an error to step down; the error is logged, the connection is closed
// rather than pooled (which releases the lock), and Run tries again after
// the retry interval. Database failures are never fatal: a job that must
// outlive them retries.
func (l *Leadership) Run(ctx context.Context, lead func(context.Context, *sqlx.Conn) error) {
	for {
		if err := l.tryLead(ctx, lead); err != nil && ctx.Err() == nil {
			l.log.Warn(l.name+": stepping down", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(l.retry):
		}
	}
}

func (l *Leadership) tryLead(ctx context.Context, lead func(context.Context, *sqlx.Conn) error) error {
	conn, err := l.db.Connx(ctx)
	if err != nil {
		return fmt.Errorf("%s: connect: %w", l.name, err)
	}
	var got bool
	if err := conn.QueryRowxContext(ctx, `SELECT pg_try_advisory_lock($1)`, l.lock).Scan(&got); err != nil {
		discard(conn)
		return fmt.Errorf("%s: lock: %w", l.name, err)
	}
	if !got {
		_ = conn.Close() // holds no lock: back to the pool
		return nil
	}
	// The session holds the lock: never hand it back to the pool, close it.
	defer discard(conn)
	l.held.Store(true)
	defer l.held.Store(false)
	l.log.Info(l.name + ": leading")
	return lead(ctx, conn)
}

// discard closes conn's session instead of returning it to the pool, which
// releases every session lock it holds.
func discard(conn *sqlx.Conn) {
	_ = conn.Raw(func(any) error { return driver.ErrBadConn })
	_ = conn.Close()
}
