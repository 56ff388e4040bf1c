package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strings"

	"amparo/internal/demo"
	"amparo/internal/postgres"
)

// demoCmd runs `amparo demo seed [--subject email|dex]`: the six demo users
// in a database migrated by `amparo migrate up`, for a demonstration stack
// (the compose file runs it). --subject dex gives them the subjects Dex
// issues for its static passwords of the same emails.
func demoCmd(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "seed" {
		fmt.Fprintln(stderr, "usage: amparo demo seed [--subject email|dex]")
		return exitError(2)
	}
	fs := flag.NewFlagSet("demo seed", flag.ContinueOnError)
	fs.SetOutput(stderr)
	subject := fs.String("subject", "email", "the users' identity-provider subject: email (dev tokens) or dex (Dex static passwords)")
	if err := fs.Parse(args[1:]); err != nil {
		return exitError(2)
	}
	sub := func(u demo.User) string { return u.Email }
	switch *subject {
	case "email":
	case "dex":
		sub = func(u demo.User) string { return demo.DexSubject(u.Email, "local") }
	default:
		return fmt.Errorf("demo seed: --subject must be email or dex")
	}
	url := strings.TrimSpace(getenv("AMPARO_MIGRATE_DATABASE_URL"))
	if url == "" {
		return &configError{"AMPARO_MIGRATE_DATABASE_URL", "is required (the schema owner's URL)"}
	}
	db, err := postgres.Open(ctx, url)
	if err != nil {
		return err
	}
	defer db.Close()
	if err := demo.SeedWith(ctx, db, sub); err != nil {
		return err
	}
	fmt.Fprintln(stdout, "demo users seeded")
	return nil
}
