package main

import (
	"bufio"
	"context"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/minio/minio-go/v7"

	"amparo/internal/auth"
	"amparo/internal/demo"
	"amparo/internal/devstack"
)

const (
	database       = "amparo"
	evidenceBucket = "amparo-evidence"
	auditBucket    = "amparo-evidence-audit" // audit.BucketName(evidenceBucket)
	walStreamName  = "amparo_walstream"      // pg_receivewal's slot and application_name
)

// drill holds what the steps share.
type drill struct {
	o   *options
	dir string
	say func(string, ...any)
	rep *report

	roots          *x509.CertPool
	caFile         string
	one, two       *site
	primary        *devstack.Postgres
	restored       *devstack.Postgres
	backup         *pgBackRest
	receiver       *exec.Cmd
	receiverExited chan struct{}
	amparo         *server
	restoredAmparo *server
	env            map[string]string // serve's environment on site one
	issuer         *auth.DevIssuer
	appPW, sealPW  string

	lost     time.Time  // when site one was lost
	acked    []string   // case ids amparo-load had acknowledged by then
	evidence []evidence // evidence uploads acknowledged by then

	cleanups []func()
}

func (d *drill) cleanup() {
	for i := len(d.cleanups) - 1; i >= 0; i-- {
		d.cleanups[i]()
	}
}

func (d *drill) run(ctx context.Context) error {
	for _, step := range []struct {
		name string
		f    func(context.Context) error
	}{
		{"sites", d.startSites},
		{"database", d.startDatabase},
		{"amparo", d.startAmparo},
		{"load, backup and loss", d.loadBackupLose},
		{"restore", d.restore},
		{"checks", d.check},
	} {
		if err := step.f(ctx); err != nil {
			return fmt.Errorf("%s: %w", step.name, err)
		}
	}
	return nil
}

// startSites starts both MinIO servers and makes site one's buckets
// replicate to site two.
func (d *drill) startSites(ctx context.Context) error {
	var err error
	if d.caFile, err = throwawayTLS(filepath.Join(d.dir, "site-two")); err != nil {
		return err
	}
	pem, err := os.ReadFile(d.caFile)
	if err != nil {
		return err
	}
	d.roots = x509.NewCertPool()
	d.roots.AppendCertsFromPEM(pem)
	// Site one serves plain HTTP, as `amparo dev` does, and trusts the CA
	// (certs/CAs) to reach site two.
	oneCAs := filepath.Join(d.dir, "site-one", "certs", "CAs")
	if err := os.MkdirAll(oneCAs, 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(oneCAs, "ca.crt"), pem, 0o644); err != nil {
		return err
	}
	if d.one, err = startSite(ctx, d.o.minio, "one", filepath.Join(d.dir, "site-one"), false, d.roots); err != nil {
		return err
	}
	d.cleanups = append(d.cleanups, d.one.stop)
	if d.two, err = startSite(ctx, d.o.minio, "two", filepath.Join(d.dir, "site-two"), true, d.roots); err != nil {
		return err
	}
	d.cleanups = append(d.cleanups, d.two.stop)
	if err := replicate(ctx, d.one, d.two, d.roots, evidenceBucket, auditBucket); err != nil {
		return err
	}
	c, err := d.two.client(d.roots)
	if err != nil {
		return err
	}
	if err := c.MakeBucket(ctx, repoBucket, minio.MakeBucketOptions{}); err != nil {
		return err
	}
	d.say("MinIO site one on %s, site two on %s (TLS); %s and %s replicate to site two", d.one.url(), d.two.url(), evidenceBucket, auditBucket)
	return nil
}

// startDatabase starts the primary with WAL archiving through pgBackRest
// and pg_receivewal as its synchronous standby, and migrates it.
func (d *drill) startDatabase(ctx context.Context) error {
	dataDir := filepath.Join(d.dir, "pg", "primary")
	p, err := devstack.StartPostgres(ctx, dataDir, nil)
	if err != nil {
		return err
	}
	cipherPass := secret()
	if d.backup, err = newPGBackRest(filepath.Join(d.dir, "pgbackrest"), d.two, d.caFile, dataDir, filepath.Join(dataDir, "sock"), 0, p.Password, cipherPass); err != nil {
		_ = p.Stop()
		return err
	}
	su, err := sqlx.Open("postgres", p.SuperuserURL("postgres"))
	if err != nil {
		_ = p.Stop()
		return err
	}
	for _, q := range []string{
		`ALTER SYSTEM SET archive_mode = 'on'`,
		`ALTER SYSTEM SET archive_command = '` + d.backup.archiveCommand() + `'`,
		// A segment is archived at the latest a minute after it was
		// started: what the archive alone would lose, were the streamed
		// WAL lost with site one.
		`ALTER SYSTEM SET archive_timeout = '60s'`,
	} {
		if _, err := su.ExecContext(ctx, q); err != nil {
			su.Close()
			_ = p.Stop()
			return fmt.Errorf("%s: %w", q, err)
		}
	}
	su.Close()
	// archive_mode takes a restart.
	if err := p.Stop(); err != nil {
		return err
	}
	if d.primary, err = devstack.StartPostgres(ctx, dataDir, nil); err != nil {
		return err
	}
	d.cleanups = append(d.cleanups, func() { _ = d.primary.Stop() })
	if d.backup, err = newPGBackRest(filepath.Join(d.dir, "pgbackrest"), d.two, d.caFile, dataDir, filepath.Join(dataDir, "sock"), d.primary.Port, d.primary.Password, cipherPass); err != nil {
		return err
	}
	if _, err := d.backup.run(ctx, "stanza-create"); err != nil {
		return err
	}
	if _, err := d.backup.run(ctx, "check"); err != nil {
		return err
	}
	d.say("PostgreSQL on port %d, archiving WAL to pgBackRest's repository s3://%s/%s on site two", d.primary.Port, repoBucket, stanza)

	if err := d.streamWAL(ctx); err != nil {
		return err
	}
	d.appPW, d.sealPW = secret(), secret()
	// Migrated and seeded with the demo users, as `amparo dev` does.
	return demo.Prepare(ctx, d.primary, database, d.appPW, d.sealPW)
}

// streamWAL runs pg_receivewal into site two's directory through a
// replication slot, and makes the primary wait for it at every commit.
func (d *drill) streamWAL(ctx context.Context) error {
	walDir := filepath.Join(d.dir, "site-two", "wal-stream")
	if err := os.MkdirAll(walDir, 0o700); err != nil {
		return err
	}
	su, err := sqlx.Open("postgres", d.primary.SuperuserURL("postgres"))
	if err != nil {
		return err
	}
	defer su.Close()
	if _, err := su.ExecContext(ctx, `SELECT pg_create_physical_replication_slot($1, true)`, walStreamName); err != nil {
		return err
	}
	conn := fmt.Sprintf("host=127.0.0.1 port=%d user=postgres password=%s application_name=%s", d.primary.Port, d.primary.Password, walStreamName)
	log, err := os.Create(filepath.Join(d.dir, "site-two", "pg_receivewal.log"))
	if err != nil {
		return err
	}
	d.receiver = exec.Command(pgBinary("pg_receivewal"), "-D", walDir, "--slot="+walStreamName, "--synchronous", "--no-loop", "-d", conn)
	d.receiver.Stdout, d.receiver.Stderr = log, log
	if err := d.receiver.Start(); err != nil {
		return err
	}
	d.receiverExited = make(chan struct{})
	go func() { _ = d.receiver.Wait(); log.Close(); close(d.receiverExited) }()
	d.cleanups = append(d.cleanups, func() { _ = d.receiver.Process.Kill(); <-d.receiverExited })
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		var n int
		if err := su.GetContext(ctx, &n, `SELECT count(*) FROM pg_stat_replication WHERE application_name = $1 AND state = 'streaming'`, walStreamName); err == nil && n == 1 {
			break
		}
		if time.Now().After(deadline) {
			return errors.New("pg_receivewal not streaming after 30 s")
		}
	}
	for _, q := range []string{
		`ALTER SYSTEM SET synchronous_standby_names = '` + walStreamName + `'`,
		`ALTER SYSTEM SET synchronous_commit = 'on'`,
		`SELECT pg_reload_conf()`,
	} {
		if _, err := su.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("%s: %w", q, err)
		}
	}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		var state string
		_ = su.GetContext(ctx, &state, `SELECT sync_state FROM pg_stat_replication WHERE application_name = $1`, walStreamName)
		if state == "sync" {
			break
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("pg_receivewal is %q, not a synchronous standby", state)
		}
	}
	d.say("pg_receivewal streams the WAL to %s as the synchronous standby: a commit waits until it is there", walDir)
	return nil
}

// startAmparo makes the keys and starts `amparo serve` on site one.
func (d *drill) startAmparo(ctx context.Context) error {
	keys := filepath.Join(d.dir, "keys")
	if err := os.MkdirAll(keys, 0o700); err != nil {
		return err
	}
	signing, identity := filepath.Join(keys, "audit-signing.key"), filepath.Join(keys, "identity.keys")
	for _, args := range [][]string{{"audit", "keygen", signing}, {"keys", "init", identity}} {
		if out, err := exec.CommandContext(ctx, d.o.amparo, args...).CombinedOutput(); err != nil {
			return fmt.Errorf("amparo %s: %w\n%s", strings.Join(args, " "), err, out)
		}
	}
	var err error
	if d.issuer, err = auth.LoadDevIssuer(keys, true); err != nil {
		return err
	}
	d.env = map[string]string{
		"AMPARO_DATABASE_URL":        d.primary.URL("amparo_app", d.appPW, database),
		"AMPARO_SEALER_DATABASE_URL": d.primary.URL("amparo_sealer", d.sealPW, database),
		"AMPARO_AUDIT_SIGNING_KEY":   signing,
		"AMPARO_IDENTITY_KEY":        identity,
		"AMPARO_S3_ENDPOINT":         d.one.endpoint,
		"AMPARO_S3_ACCESS_KEY":       d.one.accessKey,
		"AMPARO_S3_SECRET_KEY":       d.one.secretKey,
		"AMPARO_S3_BUCKET":           evidenceBucket,
		// The drill's callers: the demo users, with tokens it signs.
		"AMPARO_DEV_TOKENS":   "1",
		"AMPARO_DEV_KEY_FILE": filepath.Join(keys, "dev-issuer.pem"),
	}
	if d.amparo, err = startAmparo(ctx, d.o.amparo, d.env, filepath.Join(d.dir, "amparo-site-one.log")); err != nil {
		return err
	}
	d.cleanups = append(d.cleanups, d.amparo.stop)
	d.say("amparo serve on site one: %s", d.amparo.url)
	return nil
}

func (d *drill) token(email string) (string, error) { return d.issuer.Issue(email, 2*time.Hour) }

// loadBackupLose files cases under load, takes a full backup in the
// middle, and then loses site one while the load goes on.
func (d *drill) loadBackupLose(ctx context.Context) error {
	officer, err := d.token("officer@pgn.demo")
	if err != nil {
		return err
	}
	ackedPath := filepath.Join(d.dir, "acknowledged-cases.txt")
	loadLog, err := os.Create(filepath.Join(d.dir, "amparo-load.log"))
	if err != nil {
		return err
	}
	defer loadLog.Close()
	load := exec.Command(d.o.load, "--url", d.amparo.url+"/graphql", "--token", officer, "--op", "fileCase",
		"-c", fmt.Sprint(d.o.clients), "-d", "1h", "--acked", ackedPath)
	load.Stdout, load.Stderr = loadLog, loadLog
	if err := load.Start(); err != nil {
		return err
	}
	loadDone := make(chan struct{})
	go func() { _ = load.Wait(); close(loadDone) }()
	d.say("amparo-load files cases with %d clients; every acknowledged case id goes to %s", d.o.clients, ackedPath)

	// Evidence, uploaded to acknowledged cases while the load runs.
	var (
		mu       sync.Mutex
		uploaded []evidence
	)
	stopUploads := make(chan struct{})
	uploadsDone := make(chan struct{})
	go func() {
		defer close(uploadsDone)
		tick := time.NewTicker(d.o.evidenceEvery)
		defer tick.Stop()
		for {
			select {
			case <-stopUploads:
				return
			case <-tick.C:
			}
			ids, _ := readAcked(ackedPath)
			if len(ids) == 0 {
				continue
			}
			uctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			ev, err := upload(uctx, d.amparo.url, officer, ids[len(ids)-1])
			cancel()
			if err == nil {
				mu.Lock()
				uploaded = append(uploaded, ev)
				mu.Unlock()
			}
		}
	}()

	sleep(ctx, d.o.before)
	d.say("full backup starts (pgbackrest backup --type=full), the load going on")
	start := time.Now()
	if _, err := d.backup.run(ctx, "backup", "--type=full"); err != nil {
		return err
	}
	d.rep.BackupSeconds = time.Since(start).Seconds()
	if err := d.backupInfo(ctx); err != nil {
		return err
	}
	d.say("full backup done in %.1f s; the load goes on for %s", d.rep.BackupSeconds, d.o.after)
	sleep(ctx, d.o.after)
	d.rep.LoadAfterBackup = d.o.after.Seconds()

	// The loss of site one: its database, its MinIO and its Amparo, at
	// once and without warning, with requests in flight.
	d.say("site one lost: PostgreSQL, MinIO and amparo serve SIGKILLed under load")
	lost := time.Now()
	if err := d.primary.Crash(); err != nil {
		return err
	}
	d.one.kill()
	d.amparo.kill()
	close(stopUploads)
	<-uploadsDone
	_ = load.Process.Signal(os.Interrupt)
	<-loadDone
	_ = d.receiver.Process.Signal(os.Interrupt) // it ends by itself once the primary is gone
	<-d.receiverExited
	d.lost = lost
	ids, err := readAcked(ackedPath)
	if err != nil {
		return err
	}
	d.acked = ids
	d.evidence = uploaded
	d.rep.CasesAcknowledged, d.rep.EvidenceAcknowledged = len(ids), len(uploaded)
	d.say("%d cases and %d evidence uploads had been acknowledged", len(ids), len(uploaded))
	return nil
}

// backupInfo reads the sizes of the newest backup from pgBackRest.
func (d *drill) backupInfo(ctx context.Context) error {
	out, err := d.backup.run(ctx, "info", "--output=json")
	if err != nil {
		return err
	}
	var info []struct {
		Backup []struct {
			Info struct {
				Size       int64 `json:"size"`
				Repository struct {
					Size int64 `json:"size"`
				} `json:"repository"`
			} `json:"info"`
		} `json:"backup"`
	}
	if err := json.Unmarshal([]byte(out), &info); err != nil || len(info) == 0 || len(info[0].Backup) == 0 {
		return fmt.Errorf("pgbackrest info: %v: %.300s", err, out)
	}
	b := info[0].Backup[len(info[0].Backup)-1]
	d.rep.BackupBytes, d.rep.BackupRepoBytes = b.Info.Size, b.Info.Repository.Size
	return nil
}

// readAcked reads amparo-load's file of acknowledged case ids.
func readAcked(path string) ([]string, error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	} else if err != nil {
		return nil, err
	}
	defer f.Close()
	var ids []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if line := strings.TrimSpace(sc.Text()); len(line) == 36 {
			ids = append(ids, line)
		}
	}
	return ids, sc.Err()
}

func sleep(ctx context.Context, d time.Duration) {
	select {
	case <-ctx.Done():
	case <-time.After(d):
	}
}

// pgBinary finds a PostgreSQL client program: on PATH, else in the newest
// /usr/lib/postgresql/*/bin.
func pgBinary(name string) string {
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	for i := len(dirs) - 1; i >= 0; i-- {
		if p := filepath.Join(dirs[i], name); fileExists(p) {
			return p
		}
	}
	return name
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// copyFile copies src to dst with mode 0600.
func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
