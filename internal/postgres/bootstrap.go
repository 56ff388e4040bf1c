package postgres

import (
	"context"
	"fmt"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
)

// EnsureDatabase creates database name, owned by the connecting role, when
// it does not exist. db must be connected to another database of the
// cluster (usually "postgres") as a role that may create databases.
func EnsureDatabase(ctx context.Context, db *sqlx.DB, name string) error {
	var exists bool
	if err := db.GetContext(ctx, &exists, `SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)`, name); err != nil {
		return fmt.Errorf("postgres: %w", err)
	}
	if exists {
		return nil
	}
	if _, err := db.ExecContext(ctx, `CREATE DATABASE `+pq.QuoteIdentifier(name)); err != nil {
		return fmt.Errorf("postgres: create database %s: %w", name, err)
	}
	return nil
}

// EnableAppLogin lets the application role amparo_app (created NOLOGIN by
// the first migration) log in with password.
func EnableAppLogin(ctx context.Context, db *sqlx.DB, password string) error {
	_, err := db.ExecContext(ctx, `ALTER ROLE amparo_app LOGIN PASSWORD `+pq.QuoteLiteral(password))
	if err != nil {
		return fmt.Errorf("postgres: enable amparo_app login: %w", err)
	}
	return nil
}

// EnableSealerLogin lets the audit sealer's role amparo_sealer (created
// NOLOGIN by migration 00014) log in with password.
func EnableSealerLogin(ctx context.Context, db *sqlx.DB, password string) error {
	_, err := db.ExecContext(ctx, `ALTER ROLE amparo_sealer LOGIN PASSWORD `+pq.QuoteLiteral(password))
	if err != nil {
		return fmt.Errorf("postgres: enable amparo_sealer login: %w", err)
	}
	return nil
}
