package main

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/jmoiron/sqlx"

	"amparo/internal/child"
	"amparo/internal/complaint"
	"amparo/internal/idempotency"
)

// prepareTracking checks that the key file's tracking key is the one the
// stored tracking codes are keyed with, then keys the codes stored before
// keying (plain SHA-256) and seals the replay secrets kept in the clear
// before sealing. Both steps resume where an interrupted start left them.
func prepareTracking(ctx context.Context, db *sqlx.DB, ids child.Keys, log *slog.Logger) error {
	t := ids.Index.Tracking()
	if err := complaint.CheckTrackingKey(ctx, db, t); err != nil {
		return fmt.Errorf("AMPARO_IDENTITY_KEY: %w", err)
	}
	keyed, err := drain(func() (int, error) { return complaint.KeyLegacyTracking(ctx, db, t, 500) })
	if err != nil {
		return fmt.Errorf("keying tracking codes stored before keying: %w", err)
	}
	if keyed > 0 {
		log.Info("keyed tracking codes stored before keying", "count", keyed)
	}
	sealed, err := drain(func() (int, error) {
		return idempotency.SealLegacy(ctx, db, complaint.ReplayKey(ids), time.Now(), 500)
	})
	if err != nil {
		return fmt.Errorf("sealing replay secrets kept in the clear: %w", err)
	}
	if sealed > 0 {
		log.Info("sealed or dropped replay secrets kept in the clear", "count", sealed)
	}
	return nil
}

// drain runs batch until it does nothing and returns the total it did.
func drain(batch func() (int, error)) (int, error) {
	total := 0
	for {
		n, err := batch()
		if total += n; err != nil || n == 0 {
			return total, err
		}
	}
}
