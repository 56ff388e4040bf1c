package alert

import (
	"context"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/jmoiron/sqlx"

	"amparo/internal/postgres"
)

// watcherLock is the PostgreSQL advisory lock key that makes one deadline
// watcher the leader ("amparoDW" in ASCII; the audit sealer and goose use
// others).
const watcherLock int64 = 0x616d7061726f4457

// WatcherConfig times a Watcher.
type WatcherConfig struct {
	// Soon is how long before a deadline DEADLINE_SOON is raised (2 h).
	Soon time.Duration
	// Interval is how often the leader looks for deadlines (15 s): an
	// alert follows its moment by at most this much.
	Interval time.Duration
	// LeaderRetry is how often a replica that does not lead tries to (1 s).
	LeaderRetry time.Duration
	// Batch is the most deadlines raised in one transaction (500).
	Batch int
}

// Watcher raises DEADLINE_SOON, Soon before a case's deadline (cases.due_at),
// and OVERDUE once it passed, exactly once per case, deadline and kind: the
// raising and its row in alert_deadlines commit together, and the row's
// primary key refuses a second. Every replica runs one; the one holding a
// session advisory lock on a connection of its own leads and does the work
// on that connection, so a leader that dies or is cut off loses its lock
// and its uncommitted work together, and another takes over within about
// LeaderRetry. A closed case has no running deadline. A new deadline of the
// same case (a new step) is alerted anew.
type Watcher struct {
	db     *sqlx.DB
	raiser *Raiser
	cfg    WatcherConfig
	lead   *postgres.Leadership
	sweeps atomic.Int64
}

// NewWatcher returns a Watcher raising through r.
func NewWatcher(db *sqlx.DB, r *Raiser, log *slog.Logger, cfg WatcherConfig) *Watcher {
	if cfg.Soon <= 0 {
		cfg.Soon = 2 * time.Hour
	}
	if cfg.Interval <= 0 {
		cfg.Interval = 15 * time.Second
	}
	if cfg.LeaderRetry <= 0 {
		cfg.LeaderRetry = time.Second
	}
	if cfg.Batch <= 0 {
		cfg.Batch = 500
	}
	return &Watcher{db: db, raiser: r, cfg: cfg, lead: postgres.NewLeadership(db, watcherLock, "deadline watcher", cfg.LeaderRetry, log)}
}

// Leader reports whether this watcher leads now.
func (w *Watcher) Leader() bool { return w.lead.Leader() }

// Sweeps is how many sweeps this watcher completed while leading.
func (w *Watcher) Sweeps() int64 { return w.sweeps.Load() }

// Run watches until ctx ends, leading whenever it can take the lock.
// Failures are logged and retried.
func (w *Watcher) Run(ctx context.Context) { w.lead.Run(ctx, w.watch) }

// watch does the leader's work on the lock's connection until ctx ends or
// a sweep fails.
func (w *Watcher) watch(ctx context.Context, conn *sqlx.Conn) error {
	for {
		for {
			n, err := w.sweep(ctx, conn)
			if err != nil {
				return err
			}
			if n < w.cfg.Batch {
				break
			}
		}
		w.sweeps.Add(1)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(w.cfg.Interval):
		}
	}
}

// due is a case deadline to alert about.
type due struct {
	CaseID      uuid.UUID  `db:"id"`
	DueAt       time.Time  `db:"due_at"`
	Kind        Kind       `db:"kind"`
	Institution string     `db:"institution_code"`
	Assignee    *uuid.UUID `db:"assigned_to"`
	Urgency     string     `db:"urgency"`
}

// sweep raises, in one transaction, up to Batch deadline alerts not raised
// yet, and returns how many.
func (w *Watcher) sweep(ctx context.Context, conn *sqlx.Conn) (int, error) {
	tx, err := conn.BeginTxx(ctx, nil)
	if err != nil {
		return 0, fmt.Errorf("alert: watcher: %w", err)
	}
	defer tx.Rollback()
	const q = `
SELECT c.id, c.due_at, k.kind, c.institution_code, c.assigned_to, c.urgency
FROM cases c
CROSS JOIN LATERAL (SELECT CASE WHEN c.due_at <= now() THEN 'OVERDUE' ELSE 'DEADLINE_SOON' END AS kind) k
WHERE c.status <> 'CLOSED' AND c.due_at <= now() + $1 * interval '1 second'
  AND NOT EXISTS (SELECT 1 FROM alert_deadlines d WHERE d.case_id = c.id AND d.due_at = c.due_at AND d.kind = k.kind)
ORDER BY c.due_at
LIMIT $2`
	var list []due
	if err := tx.SelectContext(ctx, &list, q, w.cfg.Soon.Seconds(), w.cfg.Batch); err != nil {
		return 0, fmt.Errorf("alert: watcher: deadlines: %w", err)
	}
	for _, d := range list {
		res, err := tx.ExecContext(ctx, `INSERT INTO alert_deadlines (case_id, due_at, kind) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING`,
			d.CaseID, d.DueAt, d.Kind)
		if err != nil {
			return 0, fmt.Errorf("alert: watcher: record deadline: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			continue // raised meanwhile by a leader that has just lost its lock
		}
		to := To{Perm: permCaseRead, Target: caseTarget(d.CaseID), Institutions: []string{d.Institution}, Roles: []string{RoleSupervisor}}
		if d.Assignee != nil {
			to.Users = []uuid.UUID{*d.Assignee}
		}
		if err := w.raiser.Raise(ctx, tx, About{Kind: d.Kind, CaseID: &d.CaseID, Urgency: d.Urgency}, to); err != nil {
			return 0, err
		}
	}
	if err := tx.Commit(); err != nil {
		return 0, fmt.Errorf("alert: watcher: commit: %w", err)
	}
	return len(list), nil
}
