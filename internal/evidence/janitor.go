package evidence

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/jmoiron/sqlx"

	"amparo/internal/apperr"
	"amparo/internal/blob"
	"amparo/internal/postgres"
)

// JanitorConfig tunes a Janitor; the zero value of each field means its
// default.
type JanitorConfig struct {
	// Interval is the time between passes (default 5 minutes).
	Interval time.Duration
	// Grace is how long an upload may stay staged before it is taken for
	// abandoned and its object removed (default 24 h). It must be longer
	// than the Service's MaxUploadTime, or an upload still streaming over a
	// slow link would lose its object.
	Grace time.Duration
	// Batch caps the staging rows one pass works on (default 500).
	Batch int
}

// Defaults of JanitorConfig.
const (
	DefaultJanitorInterval = 5 * time.Minute
	DefaultJanitorGrace    = 24 * time.Hour
	DefaultJanitorBatch    = 500
)

// Janitor finishes what crashed or failed uploads left half done, from the
// exact work list in evidence_staging: it removes the objects of uploads
// that never committed once their grace period is over, and locks the
// objects of uploads that committed but were not locked. Janitors on
// several replicas may run at once: each staging row is worked on under its
// row lock, skipped by the others.
type Janitor struct {
	db    *sqlx.DB
	blobs *blob.Store
	holds *Holds
	log   *slog.Logger
	cfg   JanitorConfig
}

// NewJanitor returns a Janitor over the database and store the Service
// uses.
func NewJanitor(db *sqlx.DB, blobs *blob.Store, log *slog.Logger, cfg JanitorConfig) *Janitor {
	if cfg.Interval <= 0 {
		cfg.Interval = DefaultJanitorInterval
	}
	if cfg.Grace <= 0 {
		cfg.Grace = DefaultJanitorGrace
	}
	if cfg.Batch <= 0 {
		cfg.Batch = DefaultJanitorBatch
	}
	return &Janitor{db: db, blobs: blobs, holds: NewHolds(db, blobs), log: log, cfg: cfg}
}

// PassReport counts what one pass did.
type PassReport struct {
	Finalized int // committed uploads whose objects it locked
	Removed   int // abandoned uploads whose objects it removed
	Synced    int // cases closed or reopened whose evidence holds it brought in line
	Failed    int // rows left for a later pass
}

// Run makes a pass at once and then every Interval until ctx ends.
func (j *Janitor) Run(ctx context.Context) {
	t := time.NewTicker(j.cfg.Interval)
	defer t.Stop()
	for {
		rep, err := j.Pass(ctx)
		switch {
		case err != nil && ctx.Err() == nil:
			j.log.WarnContext(ctx, "evidence janitor pass failed", "err", err, "finalized", rep.Finalized, "removed", rep.Removed)
		case rep != PassReport{}:
			j.log.InfoContext(ctx, "evidence janitor pass", "finalized", rep.Finalized, "removed", rep.Removed,
				"synced", rep.Synced, "failed", rep.Failed)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Pass works once through the staging rows due: committed ones at once,
// uncommitted ones older than the grace period; then through the cases
// whose evidence holds are not yet in line with their status
// (case_hold_sync). A row that fails is counted, its error kept in the
// row, and left for the next pass.
//
// Errors: UNAVAILABLE when the database or the store is down (the pass
// stops at the first such failure: there is no point going on).
func (j *Janitor) Pass(ctx context.Context) (PassReport, error) {
	const op = "evidence.Janitor.Pass"
	var rep PassReport
	// Rows that keep failing go last, so they cannot starve the others.
	const q = `
SELECT object_key, committed FROM evidence_staging
WHERE committed OR started_at < now() - make_interval(secs => $1)
ORDER BY attempts, started_at
LIMIT $2`
	var due []struct {
		Key       string `db:"object_key"`
		Committed bool   `db:"committed"`
	}
	if err := sqlx.SelectContext(ctx, j.db, &due, q, j.cfg.Grace.Seconds(), j.cfg.Batch); err != nil {
		return rep, apperr.Wrap(op, postgres.MapError(err))
	}
	for _, d := range due {
		var (
			done bool
			err  error
		)
		if d.Committed {
			err = finalize(ctx, j.db, j.blobs, d.Key)
			done = err == nil
			if done {
				rep.Finalized++
			}
		} else {
			done, err = j.abandon(ctx, d.Key)
			if done {
				rep.Removed++
			}
		}
		if err == nil {
			continue
		}
		rep.Failed++
		j.log.ErrorContext(ctx, "evidence janitor: staging row left for the next pass",
			"key", d.Key, "committed", d.Committed, "err", err)
		const note = `UPDATE evidence_staging SET attempts = attempts + 1, last_error = $2 WHERE object_key = $1`
		if _, nerr := j.db.ExecContext(ctx, note, d.Key, err.Error()); nerr != nil {
			return rep, apperr.Wrap(op, postgres.MapError(nerr))
		}
		if apperr.Is(err, apperr.Unavailable) {
			return rep, apperr.Wrap(op, err)
		}
	}
	cases, err := j.holds.pending(ctx, j.cfg.Batch)
	if err != nil {
		return rep, apperr.Wrap(op, err)
	}
	for _, id := range cases {
		if err := j.holds.Sync(ctx, id); err != nil {
			rep.Failed++
			j.log.ErrorContext(ctx, "evidence janitor: holds of a case left for the next pass", "case", id, "err", err)
			if apperr.Is(err, apperr.Unavailable) {
				return rep, apperr.Wrap(op, err)
			}
			continue
		}
		rep.Synced++
	}
	return rep, nil
}

// abandon removes what an upload that never committed stored, and its
// staging row. It reports false when another janitor or the uploader holds
// the row, or the row is no longer due.
func (j *Janitor) abandon(ctx context.Context, key string) (bool, error) {
	claimed := false
	err := postgres.WithTx(ctx, j.db, func(tx *sqlx.Tx) error {
		const claim = `
SELECT EXISTS (SELECT 1 FROM evidence WHERE object_key = s.object_key) AS recorded
FROM evidence_staging s
WHERE s.object_key = $1 AND NOT s.committed AND s.started_at < now() - make_interval(secs => $2)
FOR UPDATE OF s SKIP LOCKED`
		var recorded bool
		if err := tx.GetContext(ctx, &recorded, claim, key, j.cfg.Grace.Seconds()); errors.Is(err, sql.ErrNoRows) {
			return nil
		} else if err != nil {
			return fmt.Errorf("claim %s: %w", key, err)
		}
		if recorded {
			// Cannot happen (the record and the committed mark share a
			// transaction); should it ever, evidence is never removed.
			return fmt.Errorf("staging row of %s not committed, yet evidence is recorded: left alone", key)
		}
		if err := j.blobs.Purge(ctx, key); err != nil {
			return err
		}
		if err := unstage(ctx, tx, key); err != nil {
			return err
		}
		claimed = true
		return nil
	})
	return claimed && err == nil, err
}
