package postgres

import (
	"context"
	"database/sql"
	"fmt"
	"io"

	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"

	"amparo/migrations"
)

// provider builds a goose provider over the embedded migrations. A session
// advisory lock makes concurrent replicas starting at once apply each
// migration exactly once.
func provider(db *sql.DB) (*goose.Provider, error) {
	locker, err := lock.NewPostgresSessionLocker()
	if err != nil {
		return nil, fmt.Errorf("postgres: migration lock: %w", err)
	}
	// Out of order: work developed in parallel numbers its migrations in
	// ranges, so a development database that took a later range first must
	// still take an earlier one that lands after it. A fresh database
	// applies them in order either way.
	p, err := goose.NewProvider(goose.DialectPostgres, db, migrations.FS, goose.WithSessionLocker(locker),
		goose.WithAllowOutofOrder(true))
	if err != nil {
		return nil, fmt.Errorf("postgres: migrations: %w", err)
	}
	return p, nil
}

// Migrate applies every pending migration. It must run as the schema owner,
// not as the application role (see package migrations).
func Migrate(ctx context.Context, db *sql.DB) error {
	p, err := provider(db)
	if err != nil {
		return err
	}
	if _, err := p.Up(ctx); err != nil {
		return fmt.Errorf("postgres: migrate up: %w", err)
	}
	return nil
}

// MigrationStatus writes one line per migration: version, state, file.
func MigrationStatus(ctx context.Context, db *sql.DB, w io.Writer) error {
	p, err := provider(db)
	if err != nil {
		return err
	}
	list, err := p.Status(ctx)
	if err != nil {
		return fmt.Errorf("postgres: migration status: %w", err)
	}
	for _, s := range list {
		applied := "pending"
		if s.State == goose.StateApplied {
			applied = "applied " + s.AppliedAt.UTC().Format("2006-01-02T15:04:05Z")
		}
		fmt.Fprintf(w, "%05d  %-28s  %s\n", s.Source.Version, applied, s.Source.Path)
	}
	return nil
}
