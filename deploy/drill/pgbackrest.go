package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// stanza is pgBackRest's name for the cluster it backs up.
const stanza = "amparo"

// repoBucket is the bucket of the backup site that holds pgBackRest's
// repository (base backups and archived WAL).
const repoBucket = "amparo-pgbackrest"

// pgBackRest runs the pgbackrest command with the drill's configuration,
// as the user that owns the cluster (postgres, when the drill runs as
// root), which also runs archive-push from the server's archive_command.
type pgBackRest struct {
	config string
	cred   *syscall.Credential
	env    []string // PGPASSWORD for the commands that connect
}

// newPGBackRest writes dir/pgbackrest.conf for a repository in the
// backup site's bucket (S3 over TLS, path-style, as MinIO serves it) and a
// cluster in dataDir, whose server listens on the Unix socket in sockDir.
//
// The repository is encrypted (it holds children's records) with
// cipherPass, which must be the same for every command on the stanza.
func newPGBackRest(dir string, repo *site, caFile, dataDir, sockDir string, port int, password, cipherPass string) (*pgBackRest, error) {
	cred, err := clusterOwner()
	if err != nil {
		return nil, err
	}
	host, repoPort, err := net.SplitHostPort(repo.endpoint)
	if err != nil {
		return nil, err
	}
	for _, d := range []string{"log", "lock", "spool"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o700); err != nil {
			return nil, err
		}
	}
	conf := fmt.Sprintf(`[global]
repo1-type=s3
repo1-s3-endpoint=%s
repo1-storage-port=%s
repo1-s3-bucket=%s
repo1-s3-region=us-east-1
repo1-s3-key=%s
repo1-s3-key-secret=%s
repo1-s3-uri-style=path
repo1-storage-ca-file=%s
repo1-path=/%s
repo1-retention-full=2
repo1-cipher-type=aes-256-cbc
repo1-cipher-pass=%s
compress-type=lz4
process-max=4
start-fast=y
log-path=%s
lock-path=%s
spool-path=%s
log-level-console=warn
log-level-file=info

[%s]
pg1-path=%s
pg1-port=%d
pg1-socket-path=%s
pg1-user=postgres
`, host, repoPort, repoBucket, repo.accessKey, repo.secretKey, caFile, stanza, cipherPass,
		filepath.Join(dir, "log"), filepath.Join(dir, "lock"), filepath.Join(dir, "spool"),
		stanza, dataDir, port, sockDir)
	path := filepath.Join(dir, "pgbackrest.conf")
	if err := os.WriteFile(path, []byte(conf), 0o600); err != nil {
		return nil, err
	}
	if cred != nil {
		for _, p := range []string{dir, path, filepath.Join(dir, "log"), filepath.Join(dir, "lock"), filepath.Join(dir, "spool")} {
			if err := os.Chown(p, int(cred.Uid), int(cred.Gid)); err != nil {
				return nil, err
			}
		}
	}
	return &pgBackRest{config: path, cred: cred, env: []string{"PGPASSWORD=" + password}}, nil
}

// archiveCommand is the server's archive_command: each finished WAL
// segment pushed to the repository before PostgreSQL recycles it.
func (b *pgBackRest) archiveCommand() string {
	return fmt.Sprintf("pgbackrest --config=%s --stanza=%s archive-push %%p", b.config, stanza)
}

// run runs pgbackrest with args after the configuration and stanza.
func (b *pgBackRest) run(ctx context.Context, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, "pgbackrest", append([]string{"--config=" + b.config, "--stanza=" + stanza}, args...)...)
	cmd.Dir = filepath.Dir(b.config)
	cmd.Env = append(os.Environ(), b.env...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: b.cred}
	out, err := cmd.CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("pgbackrest %s: %w\n%s", strings.Join(args, " "), err, out)
	}
	return string(out), nil
}

// clusterOwner is the user PostgreSQL runs as: postgres when we are root
// (the server refuses root, and devstack runs it as postgres), else nil,
// ourselves.
func clusterOwner() (*syscall.Credential, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		return nil, fmt.Errorf("the postgres system user (the postgresql package makes it): %w", err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}, nil
}

// chownTree gives dir and everything in it to cred (nothing when nil).
func chownTree(dir string, cred *syscall.Credential) error {
	if cred == nil {
		return nil
	}
	return filepath.Walk(dir, func(p string, _ os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(p, int(cred.Uid), int(cred.Gid))
	})
}
