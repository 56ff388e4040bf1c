package main

import (
	"context"
	"fmt"
	"io"
	"strings"

	"amparo/internal/postgres"
)

// migrateCmd applies or lists migrations. Migrations run as the schema
// owner: AMPARO_MIGRATE_DATABASE_URL when set, else AMPARO_DATABASE_URL.
// After `up`, when AMPARO_APP_PASSWORD (AMPARO_SEALER_PASSWORD) is set, the
// application role amparo_app (the sealer's role amparo_sealer), created
// NOLOGIN, may log in with that password: the one step a compose file or a
// VM install needs besides migrating (the owner then needs CREATEROLE; on
// Kubernetes CloudNativePG manages the roles instead).
func migrateCmd(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	if len(args) != 1 || (args[0] != "up" && args[0] != "status") {
		return fmt.Errorf("usage: amparo migrate up|status")
	}
	url := strings.TrimSpace(getenv("AMPARO_MIGRATE_DATABASE_URL"))
	if url == "" {
		url = strings.TrimSpace(getenv("AMPARO_DATABASE_URL"))
	}
	if url == "" {
		return &configError{"AMPARO_MIGRATE_DATABASE_URL", "(or AMPARO_DATABASE_URL) is required"}
	}
	db, err := postgres.Open(ctx, url)
	if err != nil {
		return err
	}
	defer db.Close()
	if args[0] == "up" {
		if err := postgres.Migrate(ctx, db.DB); err != nil {
			return err
		}
		if pw := getenv("AMPARO_APP_PASSWORD"); pw != "" {
			if err := postgres.EnableAppLogin(ctx, db, pw); err != nil {
				return fmt.Errorf("AMPARO_APP_PASSWORD: %w", err)
			}
			fmt.Fprintln(stdout, "amparo_app may log in")
		}
		if pw := getenv("AMPARO_SEALER_PASSWORD"); pw != "" {
			if err := postgres.EnableSealerLogin(ctx, db, pw); err != nil {
				return fmt.Errorf("AMPARO_SEALER_PASSWORD: %w", err)
			}
			fmt.Fprintln(stdout, "amparo_sealer may log in")
		}
	}
	return postgres.MigrationStatus(ctx, db.DB, stdout)
}
