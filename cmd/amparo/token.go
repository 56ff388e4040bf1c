package main

import (
	"context"
	"database/sql"
	"errors"
	"flag"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"time"

	"amparo/internal/auth"
	"amparo/internal/postgres"
)

// tokenCmd prints a dev bearer token for a seeded user of `amparo dev`.
func tokenCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("token", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dir := fs.String("data-dir", "./.amparo", "data directory of `amparo dev`")
	user := fs.String("user", "", "email of the user, such as officer@pgn.demo")
	ttl := fs.Duration("ttl", time.Hour, "how long the token is valid (at most 12h)")
	if err := fs.Parse(args); err != nil {
		return exitError(2)
	}
	if *user == "" {
		return errors.New("token: --user EMAIL is required")
	}
	if *ttl <= 0 || *ttl > auth.MaxLifetime {
		return errors.New("token: --ttl must be between 1s and 12h")
	}
	env, err := readEnvFile(filepath.Join(*dir, "dev.env"))
	if err != nil {
		return fmt.Errorf("token: %w (has `amparo dev --data-dir %s` run?)", err, *dir)
	}
	db, err := postgres.Open(ctx, env["AMPARO_DATABASE_URL"])
	if err != nil {
		return fmt.Errorf("token: %w (is `amparo dev` running?)", err)
	}
	defer db.Close()
	var subject string
	err = db.GetContext(ctx, &subject, `SELECT subject FROM users WHERE email = $1 AND disabled_at IS NULL`,
		strings.ToLower(strings.TrimSpace(*user)))
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("token: no enabled user %s", *user)
	}
	if err != nil {
		return fmt.Errorf("token: %w", err)
	}
	iss, err := auth.LoadDevIssuer(*dir, false)
	if err != nil {
		return err
	}
	tok, err := iss.Issue(subject, *ttl)
	if err != nil {
		return fmt.Errorf("token: %w", err)
	}
	fmt.Fprintln(stdout, tok)
	return nil
}
