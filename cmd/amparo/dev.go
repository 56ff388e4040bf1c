package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"amparo/internal/audit"
	"amparo/internal/auth"
	"amparo/internal/demo"
	"amparo/internal/devstack"
	"amparo/internal/keys"
)

// devDatabase is the database `amparo dev` keeps its data in.
const devDatabase = "amparo"

// devCmd runs the whole stack on this machine: a private PostgreSQL cluster
// and MinIO under the data directory, migrated and seeded, and the server.
func devCmd(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("dev", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dir := fs.String("data-dir", "./.amparo", "where the cluster, objects and keys live (kept between runs)")
	listen := fs.String("listen", "127.0.0.1:8080", "address to serve on")
	pprofAt := fs.String("pprof", "127.0.0.1:0", "address of /debug/pprof (port 0: a free one, printed at start; empty: none)")
	if err := fs.Parse(args); err != nil {
		return exitError(2)
	}
	log := newLogger(stderr, "info")
	minioBin, err := devstack.FindMinIO(getenv)
	if err != nil {
		return err
	}
	abs, err := filepath.Abs(*dir)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(abs, 0o700); err != nil {
		return fmt.Errorf("--data-dir: %w", err)
	}

	pg, err := devstack.StartPostgres(ctx, filepath.Join(abs, "postgres"), log)
	if err != nil {
		return err
	}
	defer pg.Stop()
	mi, err := devstack.StartMinIO(ctx, minioBin, filepath.Join(abs, "minio"), log)
	if err != nil {
		return err
	}
	defer mi.Stop()

	appPassword, err := secret(filepath.Join(abs, "app.password"))
	if err != nil {
		return err
	}
	sealerPassword, err := secret(filepath.Join(abs, "sealer.password"))
	if err != nil {
		return err
	}
	if err := prepareDatabase(ctx, pg, appPassword, sealerPassword); err != nil {
		return err
	}
	iss, err := auth.LoadDevIssuer(abs, true)
	if err != nil {
		return err
	}
	if _, err := audit.LoadOrCreateSigner(filepath.Join(abs, "audit-signing.key"), true); err != nil {
		return err
	}
	identityKey := filepath.Join(abs, "identity.keys")
	if err := keys.InitFile(identityKey); err != nil && !errors.Is(err, os.ErrExist) {
		return err
	}

	env := map[string]string{
		"AMPARO_DATABASE_URL":         pg.URL("amparo_app", appPassword, devDatabase),
		"AMPARO_SEALER_DATABASE_URL":  pg.URL("amparo_sealer", sealerPassword, devDatabase),
		"AMPARO_MIGRATE_DATABASE_URL": pg.SuperuserURL(devDatabase),
		"AMPARO_INTROSPECTION":        "1",
		"AMPARO_DEV_SUPERUSER_URL":    pg.SuperuserURL(devDatabase),
		"AMPARO_S3_ENDPOINT":          mi.Endpoint,
		"AMPARO_S3_ACCESS_KEY":        mi.AccessKey,
		"AMPARO_S3_SECRET_KEY":        mi.SecretKey,
		"AMPARO_S3_BUCKET":            "amparo-evidence",
		"AMPARO_S3_USE_TLS":           "false",
		"AMPARO_DEV_TOKENS":           "1",
		"AMPARO_DEV_KEY_FILE":         filepath.Join(abs, "dev-issuer.pem"),
		"AMPARO_LISTEN":               "127.0.0.1:8081",
		"AMPARO_AUDIT_SIGNING_KEY":    filepath.Join(abs, "audit-signing.key"),
		"AMPARO_IDENTITY_KEY":         identityKey,
	}
	if err := writeEnvFile(filepath.Join(abs, "dev.env"), env); err != nil {
		return err
	}
	cfg, err := loadConfig(func(k string) string { return env[k] })
	if err != nil {
		return err
	}
	devConfig(cfg, *listen, *pprofAt)
	cfg.devRoutes = mountDevSignIn(iss)
	return serve(ctx, cfg, log, func(at listening) {
		fmt.Fprintf(stdout, "Amparo is running: http://%s/ (web console; GraphiQL at /graphql)\n", at.API)
		if at.Profiling != "" {
			fmt.Fprintf(stdout, "  pprof:   http://%s/debug/pprof/\n", at.Profiling)
		}
		fmt.Fprintf(stdout, "  token:   go run ./cmd/amparo token --data-dir %s --user officer@pgn.demo\n", *dir)
		fmt.Fprintf(stdout, "  replica: set -a; . %s; set +a; go run ./cmd/amparo serve\n", filepath.Join(*dir, "dev.env"))
	})
}

// devConfig is what `amparo dev` changes in serve's configuration: its
// listener, the dev-only features, and profiling on pprofAt (loopback by
// default).
func devConfig(cfg *config, listen, pprofAt string) {
	cfg.Listen, cfg.Dev, cfg.PprofListen = listen, true, pprofAt
}

// prepareDatabase creates, migrates and seeds the dev database, and lets the
// application and sealer roles log in. Every step is idempotent, so a second run over the
// same data directory only applies what is new.
func prepareDatabase(ctx context.Context, pg *devstack.Postgres, appPassword, sealerPassword string) error {
	return demo.Prepare(ctx, pg, devDatabase, appPassword, sealerPassword)
}

// secret reads a random secret kept in path, creating it on first use.
func secret(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err == nil && len(b) > 0 {
		return string(b), nil
	}
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return "", err
	}
	buf := make([]byte, 24)
	_, _ = rand.Read(buf)
	s := hex.EncodeToString(buf)
	return s, os.WriteFile(path, []byte(s), 0o600)
}
