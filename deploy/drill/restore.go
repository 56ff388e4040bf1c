package main

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/minio/minio-go/v7"

	"amparo/internal/devstack"
)

// restore brings the database back from site two into a fresh cluster,
// to the latest WAL there is, and starts Amparo on it and on site two's
// buckets.
func (d *drill) restore(ctx context.Context) error {
	cred, err := clusterOwner()
	if err != nil {
		return err
	}
	dataDir := filepath.Join(d.dir, "pg", "restored")
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return err
	}
	if err := chownTree(dataDir, cred); err != nil {
		return err
	}
	// The newest backup, then every archived WAL segment (restore_command
	// is pgbackrest archive-get): recovery to the end of the archive.
	d.say("pgbackrest restore into the fresh cluster %s (the latest point: end of the WAL)", dataDir)
	if _, err := d.backup.run(ctx, "restore", "--pg1-path="+dataDir); err != nil {
		return err
	}
	// The tail the archive lacks (the segment being written when site one
	// was lost) is in the stream pg_receivewal kept: recovery reads pg_wal
	// for what restore_command cannot find.
	walDir := filepath.Join(d.dir, "site-two", "wal-stream")
	entries, err := os.ReadDir(walDir)
	if err != nil {
		return err
	}
	if d.o.archiveOnly {
		d.rep.ArchiveOnly = true
		entries = nil
		d.say("leaving out the streamed WAL (--archive-only)")
	}
	for _, e := range entries {
		name, _ := strings.CutSuffix(e.Name(), ".partial")
		if len(name) != 24 {
			continue
		}
		if err := copyFile(filepath.Join(walDir, e.Name()), filepath.Join(dataDir, "pg_wal", name)); err != nil {
			return err
		}
		d.rep.StreamedSegments++
	}
	// The restored server is alone: it must not wait at each commit for
	// the stream of the cluster it replaces.
	conf, err := os.OpenFile(filepath.Join(dataDir, "postgresql.auto.conf"), os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		return err
	}
	_, err = conf.WriteString("# restore drill: no synchronous standby yet\nsynchronous_standby_names = ''\n")
	if err2 := conf.Close(); err == nil {
		err = err2
	}
	if err != nil {
		return err
	}
	if err := chownTree(dataDir, cred); err != nil {
		return err
	}
	if err := os.WriteFile(dataDir+".password", []byte(d.primary.Password+"\n"), 0o600); err != nil {
		return err
	}
	restored := time.Now()
	d.rep.RestoreSeconds = restored.Sub(d.lost).Seconds()

	// Recovery replays all the WAL since the backup began before the
	// server answers at all, longer than devstack gives a server to start:
	// it runs to its end first, and the promoted cluster is started after.
	if err := recoverCluster(ctx, dataDir, d.primary.Password, cred); err != nil {
		return err
	}
	replayed := time.Now()
	d.rep.ReplaySeconds = replayed.Sub(restored).Seconds()
	d.say("restored cluster promoted after replaying the WAL (%.1f s)", d.rep.ReplaySeconds)
	if d.restored, err = devstack.StartPostgres(ctx, dataDir, nil); err != nil {
		return err
	}
	d.cleanups = append(d.cleanups, func() { _ = d.restored.Stop() })

	// Amparo on the restored database and on site two's replicas.
	env := map[string]string{}
	for k, v := range d.env {
		env[k] = v
	}
	env["AMPARO_DATABASE_URL"] = d.restored.URL("amparo_app", d.appPW, database)
	env["AMPARO_SEALER_DATABASE_URL"] = d.restored.URL("amparo_sealer", d.sealPW, database)
	env["AMPARO_S3_ENDPOINT"] = d.two.endpoint
	env["AMPARO_S3_ACCESS_KEY"] = d.two.accessKey
	env["AMPARO_S3_SECRET_KEY"] = d.two.secretKey
	env["AMPARO_S3_USE_TLS"] = "1"
	env["SSL_CERT_FILE"] = d.caFile // Go's TLS roots: the drill's CA
	if d.restoredAmparo, err = startAmparo(ctx, d.o.amparo, env, filepath.Join(d.dir, "amparo-restored.log")); err != nil {
		return err
	}
	d.cleanups = append(d.cleanups, d.restoredAmparo.stop)
	d.rep.StartSeconds = time.Since(replayed).Seconds()
	d.rep.RecoverySeconds = time.Since(d.lost).Seconds()
	d.env = env
	d.say("amparo serve on the restored database and site two: %s, ready %.1f s after the loss", d.restoredAmparo.url, d.rep.RecoverySeconds)
	return nil
}

// recoverCluster runs PostgreSQL on the restored dataDir until its
// recovery has replayed all the WAL it can find and it is promoted, then
// shuts it down.
func recoverCluster(ctx context.Context, dataDir, password string, cred *syscall.Credential) error {
	ports, err := freePorts(1)
	if err != nil {
		return err
	}
	sock := filepath.Join(dataDir, "sock")
	if err := os.MkdirAll(sock, 0o700); err != nil {
		return err
	}
	if err := chownTree(sock, cred); err != nil {
		return err
	}
	log, err := os.Create(dataDir + ".recovery.log")
	if err != nil {
		return err
	}
	cmd := exec.Command(pgBinary("postgres"), "-D", dataDir, "-p", strconv.Itoa(ports[0]), "-k", sock,
		// A recovering server needs at least the primary's max_connections,
		// which devstack sets to 200.
		"-c", "listen_addresses=127.0.0.1", "-c", "max_connections=200", "-c", "logging_collector=off")
	cmd.Dir = dataDir
	cmd.Stdout, cmd.Stderr = log, log
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	server, err := startChild(cmd, log)
	if err != nil {
		return err
	}
	defer server.stop() // SIGINT: PostgreSQL's fast shutdown
	db, err := sqlx.Open("postgres", fmt.Sprintf("postgres://postgres:%s@127.0.0.1:%d/postgres?sslmode=disable", url.QueryEscape(password), ports[0]))
	if err != nil {
		return err
	}
	defer db.Close()
	for deadline := time.Now().Add(30 * time.Minute); ; time.Sleep(100 * time.Millisecond) {
		var inRecovery bool
		if err := db.GetContext(ctx, &inRecovery, `SELECT pg_is_in_recovery()`); err == nil && !inRecovery {
			return nil
		}
		select {
		case <-server.exited:
			return fmt.Errorf("the restored cluster exited during recovery; see %s", dataDir+".recovery.log")
		case <-ctx.Done():
			return ctx.Err()
		default:
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the restored cluster still recovers after 30 minutes; see %s", dataDir+".recovery.log")
		}
	}
}

// check compares what the restored Amparo serves with what was
// acknowledged, checks the checkpoints' locks on site two, and runs
// `amparo audit verify --deep` once the sealer has caught up.
func (d *drill) check(ctx context.Context) error {
	supervisor, err := d.token("supervisor@pgn.demo")
	if err != nil {
		return err
	}
	served, err := servedCases(ctx, d.restoredAmparo.url, supervisor)
	if err != nil {
		return err
	}
	for _, id := range d.acked {
		if served[id] {
			d.rep.CasesRestored++
		}
	}
	d.rep.CasesLost = len(d.acked) - d.rep.CasesRestored
	owner, err := sqlx.Open("postgres", d.restored.SuperuserURL(database))
	if err != nil {
		return err
	}
	defer owner.Close()
	if err := owner.GetContext(ctx, &d.rep.CasesInDatabase, `SELECT count(*) FROM cases`); err != nil {
		return err
	}
	if d.rep.CasesLost > 0 {
		d.rep.fail("%d acknowledged cases are not served after the restore", d.rep.CasesLost)
	}
	if len(d.acked) == 0 {
		d.rep.fail("no case was acknowledged: the load did not run")
	}
	byCase := map[string]map[string]string{}
	for _, ev := range d.evidence {
		if byCase[ev.CaseID] == nil {
			if byCase[ev.CaseID], err = servedEvidence(ctx, d.restoredAmparo.url, supervisor, ev.CaseID); err != nil {
				return err
			}
		}
		if byCase[ev.CaseID][ev.ID] == ev.SHA256 {
			d.rep.EvidenceRestored++
		}
	}
	if d.rep.EvidenceRestored != len(d.evidence) {
		d.rep.fail("%d of %d acknowledged evidence uploads are served after the restore", d.rep.EvidenceRestored, len(d.evidence))
	}
	if len(d.evidence) == 0 {
		d.rep.fail("no evidence upload was acknowledged")
	}
	if err := d.checkLocks(ctx); err != nil {
		return err
	}
	if err := d.checkEvidenceLocks(ctx, owner); err != nil {
		return err
	}

	// The restored janitor locks the evidence whose upload committed but
	// whose lock was not set before the loss (its first pass comes at
	// start), and the sealer seals what was committed but not yet sealed.
	for deadline := time.Now().Add(2 * time.Minute); ; time.Sleep(200 * time.Millisecond) {
		var queued int
		err := owner.GetContext(ctx, &queued, `SELECT count(*) FROM evidence_staging WHERE committed`)
		if err == nil && queued == 0 {
			break
		}
		if time.Now().After(deadline) {
			d.rep.fail("%d evidence objects still wait to be locked again two minutes after the restore (%v)", queued, err)
			break
		}
	}
	for deadline := time.Now().Add(2 * time.Minute); ; time.Sleep(200 * time.Millisecond) {
		var unsealed int
		err := owner.GetContext(ctx, &unsealed, `SELECT count(*) FROM audit.events WHERE id > coalesce((SELECT max(event_id) FROM audit.leaves), 0)`)
		if err == nil && unsealed == 0 {
			break
		}
		if time.Now().After(deadline) {
			d.rep.fail("%d audit events still unsealed two minutes after the restore (%v)", unsealed, err)
			break
		}
	}
	verify := exec.CommandContext(ctx, d.o.amparo, "audit", "verify", "--deep")
	verify.Env = os.Environ()
	for k, v := range d.env {
		verify.Env = append(verify.Env, k+"="+v)
	}
	verify.Env = append(verify.Env, "AMPARO_MIGRATE_DATABASE_URL="+d.restored.SuperuserURL(database))
	out, err := verify.CombinedOutput()
	d.rep.VerifyOutput = strings.TrimSpace(string(out))
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit):
		d.rep.VerifyOutput = fmt.Sprintf("exit %d: %s", exit.ExitCode(), d.rep.VerifyOutput)
		d.rep.fail("amparo audit verify --deep exited %d", exit.ExitCode())
	case err != nil:
		return err
	default:
		d.rep.VerifyOutput = "exit 0: " + d.rep.VerifyOutput
	}
	d.say("checks done")
	return nil
}

// checkLocks checks that every checkpoint version replicated to site two
// kept its COMPLIANCE retention, and that site two refuses to delete one.
func (d *drill) checkLocks(ctx context.Context) error {
	c, err := d.two.client(d.roots)
	if err != nil {
		return err
	}
	var first minio.ObjectInfo
	for obj := range c.ListObjects(ctx, auditBucket, minio.ListObjectsOptions{Recursive: true, WithVersions: true}) {
		if obj.Err != nil {
			return obj.Err
		}
		if obj.IsDeleteMarker {
			continue
		}
		mode, until, err := c.GetObjectRetention(ctx, auditBucket, obj.Key, obj.VersionID)
		if err != nil {
			return fmt.Errorf("retention of %s on site two: %w", obj.Key, err)
		}
		if mode == nil || *mode != minio.Compliance || until == nil || !until.After(time.Now()) {
			d.rep.fail("checkpoint %s (version %s) on site two is not under COMPLIANCE lock", obj.Key, obj.VersionID)
			continue
		}
		if first.Key == "" {
			first = obj
		}
		d.rep.CheckpointsLocked++
	}
	if first.Key == "" {
		d.rep.fail("no checkpoint was replicated to site two")
		return nil
	}
	err = c.RemoveObject(ctx, auditBucket, first.Key, minio.RemoveObjectOptions{VersionID: first.VersionID, GovernanceBypass: true})
	if err == nil {
		d.rep.CheckpointDeletion = "DELETED"
		d.rep.fail("site two deleted checkpoint %s: its lock was not kept", first.Key)
		return nil
	}
	d.rep.CheckpointDeletion = "refused (" + minio.ToErrorResponse(err).Code + ")"
	return nil
}

// checkEvidenceLocks checks that every evidence object that was locked on
// site one before the loss (its staging row gone, no hold change pending)
// arrived on site two locked as its restored record says: governance
// retention until retain_until, and a legal hold while its case is open.
// Nothing locks them again after the restore: the replicas must hold the
// locks themselves.
func (d *drill) checkEvidenceLocks(ctx context.Context, owner *sqlx.DB) error {
	c, err := d.two.client(d.roots)
	if err != nil {
		return err
	}
	var rows []struct {
		Key         string    `db:"object_key"`
		VersionID   string    `db:"version_id"`
		RetainUntil time.Time `db:"retain_until"`
		Hold        bool      `db:"hold"`
		Pending     bool      `db:"pending"`
	}
	const q = `SELECT e.object_key, e.version_id, e.retain_until, c.status <> 'CLOSED' AS hold,
  EXISTS (SELECT 1 FROM evidence_staging s WHERE s.object_key = e.object_key)
  OR EXISTS (SELECT 1 FROM case_hold_sync h WHERE h.case_id = e.case_id) AS pending
FROM evidence e JOIN cases c ON c.id = e.case_id ORDER BY e.object_key`
	if err := owner.SelectContext(ctx, &rows, q); err != nil {
		return fmt.Errorf("read evidence: %w", err)
	}
	for _, r := range rows {
		if r.Pending {
			d.rep.EvidenceLockPending++
			continue
		}
		mode, until, err := c.GetObjectRetention(ctx, evidenceBucket, r.Key, r.VersionID)
		if err != nil && minio.ToErrorResponse(err).Code != "NoSuchObjectLockConfiguration" {
			return fmt.Errorf("retention of %s on site two: %w", r.Key, err)
		}
		hold, err := c.GetObjectLegalHold(ctx, evidenceBucket, r.Key, minio.GetObjectLegalHoldOptions{VersionID: r.VersionID})
		if err != nil && minio.ToErrorResponse(err).Code != "NoSuchObjectLockConfiguration" {
			return fmt.Errorf("legal hold of %s on site two: %w", r.Key, err)
		}
		held := hold != nil && *hold == minio.LegalHoldEnabled
		if mode == nil || *mode != minio.Governance || until == nil || !until.Equal(r.RetainUntil.UTC().Truncate(time.Second)) || held != r.Hold {
			d.rep.fail("evidence %s (version %s) arrived on site two without the lock its record says (retention %v until %v, legal hold %t; want GOVERNANCE until %s, legal hold %t)",
				r.Key, r.VersionID, mode, until, held, r.RetainUntil.UTC().Truncate(time.Second).Format(time.RFC3339), r.Hold)
			continue
		}
		d.rep.EvidenceLocked++
	}
	return nil
}
