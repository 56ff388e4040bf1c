package statistics

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/jmoiron/sqlx"

	"amparo/internal/postgres"
)

// keeperLock is the PostgreSQL advisory lock key that makes one summary
// keeper the leader ("amparoSK" in ASCII; the audit sealer, the deadline
// watcher and goose use others).
const keeperLock int64 = 0x616d7061726f534b

// KeeperConfig times a Keeper.
type KeeperConfig struct {
	// Interval is how often the leader looks at the queue once it is empty
	// (1 s). Tables are exact meanwhile: this only bounds the queue a read
	// corrects for.
	Interval time.Duration
	// LeaderRetry is how often a replica that does not lead tries to (1 s).
	LeaderRetry time.Duration
	// Batch is the most queue rows applied in one transaction (1,000).
	Batch int
	// BuildBatch is the most cases the build counts in one transaction
	// (2,000).
	BuildBatch int
}

// Keeper keeps the statistics summary (migration 00082): it builds it from
// the cases after the migration or a rebuild, in batches by case id, each
// committed, so that a build cut short resumes where it stopped; it
// applies the queue of changed cases the triggers fill, in batches; and it
// moves the overdue horizon towards now. Writers of cases wait for none of
// it. Every replica runs one; the one holding a session advisory lock on a
// connection of its own leads and does the work on that connection, as
// the deadline watcher does, so a leader cut off loses its lock and its
// uncommitted batch together. The database functions it calls also take
// one transaction lock, so two keepers never interleave batches even while
// leadership changes hands.
type Keeper struct {
	db   *sqlx.DB
	cfg  KeeperConfig
	lead *postgres.Leadership
}

// NewKeeper returns a Keeper over db.
func NewKeeper(db *sqlx.DB, log *slog.Logger, cfg KeeperConfig) *Keeper {
	if cfg.Interval <= 0 {
		cfg.Interval = time.Second
	}
	if cfg.LeaderRetry <= 0 {
		cfg.LeaderRetry = time.Second
	}
	if cfg.Batch <= 0 {
		cfg.Batch = 1000
	}
	if cfg.BuildBatch <= 0 {
		cfg.BuildBatch = 2000
	}
	return &Keeper{db: db, cfg: cfg, lead: postgres.NewLeadership(db, keeperLock, "statistics keeper", cfg.LeaderRetry, log)}
}

// Leader reports whether this keeper leads now.
func (k *Keeper) Leader() bool { return k.lead.Leader() }

// Run keeps the summary until ctx ends, leading whenever it can take the
// lock. Failures are logged and retried.
func (k *Keeper) Run(ctx context.Context) { k.lead.Run(ctx, k.keep) }

// keep does the leader's work on the lock's connection until ctx ends or
// a round fails.
func (k *Keeper) keep(ctx context.Context, conn *sqlx.Conn) error {
	for {
		if err := k.round(ctx, conn); err != nil {
			return err
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(k.cfg.Interval):
		}
	}
}

// round runs on db, until each is done: the build's batches (each followed
// by a batch of the queue), the queue's batches (what it held when it
// began at least) and the horizon's advances. Each batch commits on its
// own (the functions run as one statement each, in READ COMMITTED).
func (k *Keeper) round(ctx context.Context, db sqlx.QueryerContext) error {
	for {
		var built bool
		if err := sqlx.GetContext(ctx, db, &built, `SELECT stat_build_step($1)`, k.cfg.BuildBatch); err != nil {
			return fmt.Errorf("statistics: keeper: build: %w", err)
		}
		n, err := k.drain(ctx, db)
		if err != nil {
			return err
		}
		if built && n < k.cfg.Batch {
			break
		}
	}
	// The horizon moves by at most a window per call: once a call moves it
	// less, it has reached the database's now (whatever this clock says).
	var last time.Time
	for {
		var at time.Time
		if err := sqlx.GetContext(ctx, db, &at, `SELECT stat_overdue_advance($1::interval)`, horizonWindow); err != nil {
			return fmt.Errorf("statistics: keeper: horizon: %w", err)
		}
		if !last.IsZero() && at.Sub(last) < horizonStep {
			return nil
		}
		last = at
	}
}

// drain applies one batch of the queue and returns how many rows it took.
func (k *Keeper) drain(ctx context.Context, db sqlx.QueryerContext) (int, error) {
	var n int
	if err := sqlx.GetContext(ctx, db, &n, `SELECT stat_drain($1)`, k.cfg.Batch); err != nil {
		return 0, fmt.Errorf("statistics: keeper: queue: %w", err)
	}
	return n, nil
}
