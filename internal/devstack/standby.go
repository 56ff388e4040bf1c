package devstack

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"
)

// StandbyName is the application_name a standby started by StartStandby
// streams under, and what the primary's synchronous_standby_names names.
const StandbyName = "amparo_standby"

// StartStandby makes a streaming standby of primary in dir (pg_basebackup of
// the running primary, then the server started in recovery on a port of its
// own) and returns once it accepts read-only connections and streams. With
// synchronous, the primary is then set to wait, at every commit, for the
// standby to have flushed it (synchronous_standby_names): a commit the
// primary acknowledged survives the primary's loss. The standby has the
// primary's superuser password.
func StartStandby(ctx context.Context, primary *Postgres, dir string, synchronous bool, log *slog.Logger, opts ...Option) (*Postgres, error) {
	log = orDiscard(log)
	dir, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("devstack: standby dir: %w", err)
	}
	var cred *syscall.Credential
	if os.Geteuid() == 0 {
		if cred, err = postgresUser(); err != nil {
			return nil, err
		}
	}
	if err := prepareDataDir(dir, cred, log); err != nil {
		return nil, err
	}
	initdb, _, err := findPostgresBinaries()
	if err != nil {
		return nil, err
	}
	// Beside the server binaries (through a symlink, as on PATH), where
	// its version matches theirs.
	if real, err := filepath.EvalSymlinks(initdb); err == nil {
		initdb = real
	}
	basebackup := filepath.Join(filepath.Dir(initdb), "pg_basebackup")
	if err := writeFileAtomic(dir+".password", []byte(primary.Password+"\n"), 0o600); err != nil {
		return nil, fmt.Errorf("devstack: standby password: %w", err)
	}
	conninfo := fmt.Sprintf("host=127.0.0.1 port=%d user=%s password=%s application_name=%s",
		primary.Port, superuser, primary.Password, StandbyName)
	cmd := exec.CommandContext(ctx, basebackup, "-D", dir, "-d", conninfo, "-X", "stream", "-c", "fast", "-R")
	cmd.Dir = filepath.Dir(dir)
	cmd.Env = environWithout("PG")
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	if out, err := cmd.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("devstack: pg_basebackup: %w\n%s", err, out)
	}
	standby, err := StartPostgres(ctx, dir, log, opts...)
	if err != nil {
		return nil, err
	}
	// Streaming, as the primary sees it.
	pdb, err := sql.Open("postgres", primary.SuperuserURL("postgres"))
	if err != nil {
		_ = standby.Stop()
		return nil, err
	}
	defer pdb.Close()
	deadline := time.Now().Add(readyTimeout)
	for {
		var n int
		err := pdb.QueryRowContext(ctx, `SELECT count(*) FROM pg_stat_replication WHERE application_name = $1 AND state = 'streaming'`, StandbyName).Scan(&n)
		if err == nil && n == 1 {
			break
		}
		if time.Now().After(deadline) {
			_ = standby.Stop()
			return nil, fmt.Errorf("devstack: standby not streaming after %s (%v); end of %s:\n%s", readyTimeout, err, standby.LogPath, logTail(standby.LogPath, 0))
		}
		time.Sleep(100 * time.Millisecond)
	}
	if synchronous {
		for _, q := range []string{
			`ALTER SYSTEM SET synchronous_standby_names = '` + StandbyName + `'`,
			`ALTER SYSTEM SET synchronous_commit = 'on'`,
			`SELECT pg_reload_conf()`,
		} {
			if _, err := pdb.ExecContext(ctx, q); err != nil {
				_ = standby.Stop()
				return nil, fmt.Errorf("devstack: make the standby synchronous: %s: %w", q, err)
			}
		}
	}
	log.Info("PostgreSQL standby streaming", "port", standby.Port, "primary", primary.Port, "synchronous", synchronous)
	return standby, nil
}

// Promote makes a standby the primary (pg_promote) and returns once it
// accepts writes.
func (p *Postgres) Promote(ctx context.Context) error {
	db, err := sql.Open("postgres", p.SuperuserURL("postgres"))
	if err != nil {
		return err
	}
	defer db.Close()
	var ok bool
	if err := db.QueryRowContext(ctx, `SELECT pg_promote(true, 30)`).Scan(&ok); err != nil || !ok {
		return fmt.Errorf("devstack: promote: %v (promoted %v)", err, ok)
	}
	return nil
}

// Crash kills the server at once (SIGKILL, no shutdown) and keeps it dead,
// as the loss of its machine would: for failover tests.
func (p *Postgres) Crash() error {
	return p.keeper.crash()
}
