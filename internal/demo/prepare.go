package demo

import (
	"context"

	"amparo/internal/devstack"
	"amparo/internal/postgres"
)

// Prepare creates database on pg's server, migrates it, lets the
// application and sealer roles log in with the passwords given and seeds
// the demo users: a demo stack's database, as `amparo dev` and the restore
// drill make one. Every step is idempotent, so a second run over the same
// data directory only applies what is new.
func Prepare(ctx context.Context, pg *devstack.Postgres, database, appPassword, sealerPassword string) error {
	admin, err := postgres.Open(ctx, pg.SuperuserURL("postgres"))
	if err != nil {
		return err
	}
	err = postgres.EnsureDatabase(ctx, admin, database)
	admin.Close()
	if err != nil {
		return err
	}
	owner, err := postgres.Open(ctx, pg.SuperuserURL(database))
	if err != nil {
		return err
	}
	defer owner.Close()
	if err := postgres.Migrate(ctx, owner.DB); err != nil {
		return err
	}
	if err := postgres.EnableAppLogin(ctx, owner, appPassword); err != nil {
		return err
	}
	if err := postgres.EnableSealerLogin(ctx, owner, sealerPassword); err != nil {
		return err
	}
	return Seed(ctx, owner)
}
