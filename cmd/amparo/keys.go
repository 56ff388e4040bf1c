package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"

	"amparo/internal/child"
	"amparo/internal/keys"
	"amparo/internal/narrative"
	"amparo/internal/postgres"
)

// openIdentityKeys loads the identity key file, checks that it opens the
// data keys already in the database (a wrong or incomplete file stops
// start-up here, not at the first read of a child's name), and seals the
// identities, narratives and complainants still held in plaintext from
// before sealing existed.
func openIdentityKeys(ctx context.Context, db *sqlx.DB, path string, log *slog.Logger) (child.Keys, error) {
	f, err := keys.LoadFile(path)
	if err != nil {
		return child.Keys{}, fmt.Errorf("AMPARO_IDENTITY_KEY: %w", err)
	}
	ks := child.Keys{Vault: keys.NewVault(f), Index: f.Index()}
	// One data key per KEK in use must open with this file.
	var probes []struct {
		Kind string `db:"owner_kind"`
		ID   string `db:"owner_id"`
		KEK  string `db:"kek_id"`
		Wrap []byte `db:"wrapped"`
	}
	// The KEKs in use, by a skip scan of data_keys_kek (one index probe per
	// KEK, not a sort of every data key), then one data key of each.
	const q = `
WITH RECURSIVE k AS (
  SELECT min(kek_id) AS id FROM data_keys
  UNION ALL
  SELECT (SELECT min(kek_id) FROM data_keys WHERE kek_id > k.id) FROM k WHERE k.id IS NOT NULL)
SELECT d.owner_kind, d.owner_id::text, d.kek_id, d.wrapped
FROM k CROSS JOIN LATERAL (SELECT * FROM data_keys WHERE kek_id = k.id LIMIT 1) d`
	if err := db.SelectContext(ctx, &probes, q); err != nil {
		return child.Keys{}, fmt.Errorf("AMPARO_IDENTITY_KEY: reading data keys: %w", err)
	}
	for _, p := range probes {
		if _, err := f.Unwrap(ctx, p.KEK, p.Wrap, keys.RecordAD(p.Kind, p.ID)); err != nil {
			return child.Keys{}, fmt.Errorf("AMPARO_IDENTITY_KEY: this key file does not open the data keys wrapped by KEK %s: %w", p.KEK, err)
		}
	}
	total, err := drain(func() (int, error) { return child.SealLegacy(ctx, db, ks, 500) })
	if err != nil {
		return child.Keys{}, fmt.Errorf("sealing identities written before sealing: %w", err)
	}
	if total > 0 {
		log.Info("sealed identities written before sealing", "count", total)
	}
	total, err = drain(func() (int, error) { return narrative.SealLegacy(ctx, db, ks.Vault, 500) })
	if err != nil {
		return child.Keys{}, fmt.Errorf("sealing narratives written before sealing: %w", err)
	}
	if total > 0 {
		log.Info("sealed narratives and complainants written before sealing", "count", total)
	}
	return ks, nil
}

// keysCmd manages the identity key file.
func keysCmd(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprintln(stderr, "usage: amparo keys init FILE | amparo keys rotate")
		return exitError(2)
	}
	switch args[0] {
	case "init":
		// --if-missing: leave a key file already there alone (provisioning
		// that runs on every start, such as the compose stack's).
		ifMissing := len(args) == 3 && args[1] == "--if-missing"
		if ifMissing {
			args = append(args[:1], args[2])
		}
		if len(args) != 2 {
			fmt.Fprintln(stderr, "usage: amparo keys init [--if-missing] FILE")
			return exitError(2)
		}
		if fi, err := os.Stat(args[1]); ifMissing && err == nil && fi.Size() > 0 {
			return nil
		}
		if err := keys.InitFile(args[1]); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "wrote %s: keep it secret, and backed up apart from the database\n", args[1])
		return nil
	case "rotate":
		return keysRotate(ctx, args[1:], getenv, stdout, stderr)
	}
	fmt.Fprintf(stderr, "amparo keys: unknown command %q\n", args[0])
	return exitError(2)
}

// keysRotate rewraps every data key under a new KEK. It adds the KEK to
// the key file unless an earlier run already did and was interrupted (some
// keys are then under the current KEK and some not), so running it again
// resumes. Servers pick the new KEK up from the file within seconds; the
// final pass after that grace catches keys they wrapped meanwhile.
func keysRotate(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("keys rotate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	grace := fs.Duration("grace", 5*time.Second, "how long servers take to see the new key-encryption key")
	if err := fs.Parse(args); err != nil {
		return exitError(2)
	}
	path := strings.TrimSpace(getenv("AMPARO_IDENTITY_KEY"))
	if path == "" {
		return &configError{"AMPARO_IDENTITY_KEY", "is required"}
	}
	url := strings.TrimSpace(getenv("AMPARO_DATABASE_URL"))
	if url == "" {
		return &configError{"AMPARO_DATABASE_URL", "is required"}
	}
	db, err := postgres.Open(ctx, url)
	if err != nil {
		return fmt.Errorf("AMPARO_DATABASE_URL: %w", err)
	}
	defer db.Close()
	f, err := keys.LoadFile(path)
	if err != nil {
		return fmt.Errorf("AMPARO_IDENTITY_KEY: %w", err)
	}
	v := keys.NewVault(f)
	var underCurrent int
	if err := db.GetContext(ctx, &underCurrent, `SELECT count(*) FROM data_keys WHERE kek_id = $1`, f.Current()); err != nil {
		return err
	}
	old, err := v.UnderOldKEKs(ctx, db)
	if err != nil {
		return err
	}
	if underCurrent > 0 && old > 0 {
		fmt.Fprintf(stdout, "resuming the rotation to %s: %d data keys left\n", f.Current(), old)
	} else {
		id, err := keys.AddKEK(path)
		if err != nil {
			return err
		}
		if f, err = keys.LoadFile(path); err != nil {
			return err
		}
		v = keys.NewVault(f)
		fmt.Fprintf(stdout, "added key-encryption key %s to %s; waiting %s for servers to see it\n", id, path, *grace)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(*grace):
		}
	}
	total := 0
	for pass := 0; pass < 2; pass++ {
		for {
			n, err := v.RotateBatch(ctx, db, 500)
			if err != nil {
				return err
			}
			if total += n; n == 0 {
				break
			}
		}
		if pass == 0 {
			// Servers that had not yet seen the new KEK may have wrapped a
			// few keys under the old one: one more pass after the grace.
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(*grace):
			}
		}
	}
	left, err := v.UnderOldKEKs(ctx, db)
	if err != nil {
		return err
	}
	if left > 0 {
		return errors.New("keys rotate: data keys are still being wrapped under an old KEK: are all servers reading the same key file? run it again")
	}
	fmt.Fprintf(stdout, "rewrapped %d data keys under %s; every data key is under it: the older kek lines of %s can now be removed\n", total, f.Current(), path)
	return nil
}
