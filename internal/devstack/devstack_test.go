package devstack

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
	"github.com/minio/minio-go/v7/pkg/encrypt"
)

func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(t.Output(), nil))
}

func query(t *testing.T, url, q string, dest ...any) {
	t.Helper()
	db, err := sql.Open("postgres", url)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if len(dest) == 0 {
		if _, err := db.ExecContext(t.Context(), q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		return
	}
	if err := db.QueryRowContext(t.Context(), q).Scan(dest...); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
}

// TestPostgres creates a cluster, stops it, and starts it again over the
// same directory, as `amparo dev` does on every run.
func TestPostgres(t *testing.T) {
	// Under t.TempDir, which is 0700: as root, StartPostgres must open it
	// up for the postgres user.
	dir := filepath.Join(t.TempDir(), "postgres")
	log := testLogger(t)

	pg, err := StartPostgres(t.Context(), dir, log, WithFsyncOff())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = pg.Stop() })

	var one int
	query(t, pg.SuperuserURL("postgres"), "SELECT 1", &one)
	if one != 1 {
		t.Fatalf("SELECT 1 = %d", one)
	}
	query(t, pg.SuperuserURL("postgres"), "CREATE TABLE kept (x int); INSERT INTO kept VALUES (42)")
	var fsync string
	query(t, pg.SuperuserURL("postgres"), "SHOW fsync", &fsync)
	if fsync != "off" {
		t.Errorf("fsync = %s with WithFsyncOff", fsync)
	}

	// URL must escape what a password may hold.
	const pw = "p@ss:w/rd?#% ñ"
	query(t, pg.SuperuserURL("postgres"), `CREATE ROLE "odd user" LOGIN PASSWORD 'p@ss:w/rd?#% ñ'`)
	var who string
	query(t, pg.URL("odd user", pw, "postgres"), "SELECT current_user", &who)
	if who != "odd user" {
		t.Errorf("current_user = %q", who)
	}
	var ctype string
	query(t, pg.SuperuserURL("postgres"), "SELECT upper('ñ') || current_setting('lc_ctype')", &ctype)
	t.Logf("upper('ñ') || lc_ctype = %q", ctype)

	fi, err := os.Stat(dir)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o700 {
		t.Errorf("data dir mode = %v, want 0700", fi.Mode().Perm())
	}
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			t.Fatal(err)
		}
		if uid := fi.Sys().(*syscall.Stat_t).Uid; strconv.Itoa(int(uid)) != u.Uid {
			t.Errorf("data dir owner = %d, want postgres (%s)", uid, u.Uid)
		}
	}
	pwfi, err := os.Stat(dir + ".password")
	if err != nil {
		t.Fatal(err)
	}
	if pwfi.Mode().Perm() != 0o600 {
		t.Errorf("password file mode = %v, want 0600", pwfi.Mode().Perm())
	}

	if err := pg.Stop(); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	if err := pg.Stop(); err != nil {
		t.Fatalf("second Stop: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "postmaster.pid")); !os.IsNotExist(err) {
		t.Fatalf("postmaster.pid after a clean stop: %v", err)
	}

	// A postmaster.pid left by a killed server, whose pid now belongs to
	// another program (pid 1), must not keep the cluster from starting.
	if comm, _ := os.ReadFile("/proc/1/comm"); len(comm) > 0 && !strings.HasPrefix(string(comm), "postgres") {
		stale := "1\n" + dir + "\n"
		if err := os.WriteFile(filepath.Join(dir, "postmaster.pid"), []byte(stale), 0o600); err != nil {
			t.Fatal(err)
		}
	}

	again, err := StartPostgres(t.Context(), dir, log, WithFsyncOff())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = again.Stop() })
	if again.Password != pg.Password {
		t.Errorf("second run has a new superuser password")
	}
	var x int
	query(t, again.SuperuserURL("postgres"), "SELECT x FROM kept", &x)
	if x != 42 {
		t.Errorf("kept.x = %d, want 42", x)
	}
	if err := again.Stop(); err != nil {
		t.Fatalf("Stop: %v", err)
	}
}

// TestMinIO starts MinIO, stores an SSE-S3 encrypted object, and reads it
// back after a restart over the same directory: the credentials and the
// KMS key must have been reused.
func TestMinIO(t *testing.T) {
	bin, err := FindMinIO(os.Getenv)
	if err != nil {
		if os.Getenv("AMPARO_MINIO_BIN") != "" {
			t.Fatal(err) // misconfigured, not absent
		}
		t.Skip(err)
	}
	dir := t.TempDir()
	log := testLogger(t)

	mi, err := StartMinIO(t.Context(), bin, dir, log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = mi.Stop() })
	resp, err := http.Get("http://" + mi.Endpoint + "/minio/health/ready")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("health: %s", resp.Status)
	}
	if fi, err := os.Stat(filepath.Join(dir, "credentials.json")); err != nil {
		t.Fatal(err)
	} else if fi.Mode().Perm() != 0o600 {
		t.Errorf("credentials.json mode = %v, want 0600", fi.Mode().Perm())
	}
	if !strings.HasPrefix(mi.KMSKey, "amparo-dev:") {
		t.Errorf("KMSKey = %q", mi.KMSKey)
	}

	ctx := t.Context()
	body := []byte("declaración de la víctima")
	client := newS3(t, mi)
	if err := client.MakeBucket(ctx, "evidence", minio.MakeBucketOptions{ObjectLocking: true}); err != nil {
		t.Fatal(err)
	}
	_, err = client.PutObject(ctx, "evidence", "a.txt", bytes.NewReader(body), int64(len(body)),
		minio.PutObjectOptions{ServerSideEncryption: encrypt.NewSSE()})
	if err != nil {
		t.Fatal(err)
	}
	if err := mi.Stop(); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	if err := mi.Stop(); err != nil {
		t.Fatalf("second Stop: %v", err)
	}

	again, err := StartMinIO(ctx, bin, dir, log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = again.Stop() })
	if again.AccessKey != mi.AccessKey || again.SecretKey != mi.SecretKey || again.KMSKey != mi.KMSKey {
		t.Fatal("second run has new credentials")
	}
	obj, err := newS3(t, again).GetObject(ctx, "evidence", "a.txt", minio.GetObjectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer obj.Close()
	got, err := io.ReadAll(obj)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, body) {
		t.Fatalf("read back %q", got)
	}
	info, err := obj.Stat()
	if err != nil {
		t.Fatal(err)
	}
	if sse := info.Metadata.Get("X-Amz-Server-Side-Encryption"); sse != "AES256" {
		t.Errorf("object encryption = %q, want AES256", sse)
	}
	if err := again.Stop(); err != nil {
		t.Fatalf("Stop: %v", err)
	}
}

func newS3(t *testing.T, mi *MinIO) *minio.Client {
	t.Helper()
	c, err := minio.New(mi.Endpoint, &minio.Options{Creds: credentials.NewStaticV4(mi.AccessKey, mi.SecretKey, "")})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestFindMinIO(t *testing.T) {
	env := func(m map[string]string) func(string) string {
		return func(k string) string { return m[k] }
	}
	t.Chdir(t.TempDir()) // no ./bin/minio here

	_, err := FindMinIO(env(map[string]string{"AMPARO_MINIO_BIN": "/nonexistent/minio"}))
	if err == nil || !strings.Contains(err.Error(), "AMPARO_MINIO_BIN") {
		t.Errorf("bad AMPARO_MINIO_BIN: %v", err)
	}
	_, err = FindMinIO(env(nil))
	if err == nil || !strings.HasPrefix(err.Error(), "MinIO not found: ") || strings.Contains(err.Error(), "\n") {
		t.Errorf("nothing installed: %v", err)
	}

	pathDir := t.TempDir()
	fake := filepath.Join(pathDir, "minio")
	if err := os.WriteFile(fake, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	got, err := FindMinIO(env(map[string]string{"PATH": "/nonexistent:" + pathDir}))
	if err != nil || got != fake {
		t.Errorf("on PATH: %q, %v", got, err)
	}
}

// TestStartFailureQuotesLog checks that a server that cannot start says
// why, in its own words.
func TestStartFailureQuotesLog(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "minio")
	if err := os.WriteFile(bin, []byte("#!/bin/sh\necho 'FATAL: this is not minio' >&2\nexit 3\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	_, err := StartMinIO(ctx, bin, t.TempDir(), testLogger(t))
	if err == nil || !strings.Contains(err.Error(), "this is not minio") {
		t.Fatalf("err = %v", err)
	}
}

// TestRemoveStalePID covers the postmaster.pid files a killed server can
// leave, without a server.
func TestRemoveStalePID(t *testing.T) {
	if _, err := os.Stat("/proc/self/stat"); err != nil {
		t.Skip("no /proc")
	}
	dir := t.TempDir()
	pidFile := filepath.Join(dir, "postmaster.pid")
	check := func(name, content string, wantRemoved, wantErr bool) {
		t.Helper()
		if err := os.WriteFile(pidFile, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		err := removeStalePID(dir, testLogger(t))
		if (err != nil) != wantErr {
			t.Errorf("%s: err = %v", name, err)
		}
		_, statErr := os.Stat(pidFile)
		if removed := os.IsNotExist(statErr); removed != wantRemoved {
			t.Errorf("%s: removed = %v, want %v", name, removed, wantRemoved)
		}
	}

	// A dead pid is the server's to handle: it checks shared memory first.
	dead := exec.Command("true")
	if err := dead.Run(); err != nil {
		t.Fatal(err)
	}
	check("dead pid", strconv.Itoa(dead.Process.Pid)+"\n"+dir+"\n", false, false)
	check("empty file", "", true, false)
	check("pid reused by another program", strconv.Itoa(os.Getpid())+"\n", true, false)

	// A zombie: sh forks sleep 0 and then becomes a sleep that never reaps it.
	cmd := exec.Command("sh", "-c", "sleep 0 & echo $!; exec sleep 30")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	zombie, _ := strconv.Atoi(strings.TrimSpace(line))
	for range 100 {
		if state, _, _ := procState(zombie); state == "Z" {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	check("zombie", strconv.Itoa(zombie)+"\n", true, false)

	// A process still working in the data directory, as an orphaned
	// backend would, keeps the file and fails the start.
	t.Chdir(dir)
	check("process in dir", strconv.Itoa(os.Getpid())+"\n", false, true)
}

// TestRestartsKilledServers kills each server the way the kernel's OOM
// killer would, and expects it back on the same address, with its data.
func TestRestartsKilledServers(t *testing.T) {
	log := testLogger(t)
	t.Run("postgres", func(t *testing.T) {
		// Durable, unlike the test clusters: with synchronous_commit off a
		// killed server forgets its last commits.
		pg, err := StartPostgres(t.Context(), filepath.Join(t.TempDir(), "pg"), log)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = pg.Stop() })
		query(t, pg.SuperuserURL("postgres"), "CREATE TABLE kept (x int); INSERT INTO kept VALUES (7)")
		killed := killCurrent(t, pg.keeper)
		waitFor(t, func() error {
			if pg.keeper.current().cmd.Process.Pid == killed {
				return errors.New("not restarted yet")
			}
			db, err := sql.Open("postgres", pg.SuperuserURL("postgres"))
			if err != nil {
				return err
			}
			defer db.Close()
			var x int
			return db.QueryRowContext(t.Context(), "SELECT x FROM kept").Scan(&x)
		})
		if err := pg.Stop(); err != nil {
			t.Fatalf("Stop after a restart: %v", err)
		}
	})
	t.Run("minio", func(t *testing.T) {
		bin, err := FindMinIO(os.Getenv)
		if err != nil {
			t.Skip(err)
		}
		mi, err := StartMinIO(t.Context(), bin, t.TempDir(), log)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = mi.Stop() })
		if err := newS3(t, mi).MakeBucket(t.Context(), "kept", minio.MakeBucketOptions{}); err != nil {
			t.Fatal(err)
		}
		killed := killCurrent(t, mi.keeper)
		waitFor(t, func() error {
			if mi.keeper.current().cmd.Process.Pid == killed {
				return errors.New("not restarted yet")
			}
			ok, err := newS3(t, mi).BucketExists(t.Context(), "kept")
			if err == nil && !ok {
				err = errors.New("bucket gone")
			}
			return err
		})
		if err := mi.Stop(); err != nil {
			t.Fatalf("Stop after a restart: %v", err)
		}
	})
}

// killCurrent sends SIGKILL to the keeper's process and returns its pid
// once it has died.
func killCurrent(t *testing.T, k *keeper) int {
	t.Helper()
	c := k.current()
	if err := c.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-c.done
	return c.cmd.Process.Pid
}

// waitFor polls f until it succeeds, failing the test after 30 seconds.
func waitFor(t *testing.T, f func() error) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		err := f()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("not serving again after 30 s: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
