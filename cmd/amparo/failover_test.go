package main

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"amparo/internal/blob/blobtest"
	"amparo/internal/devstack"
	"amparo/internal/postgres/postgrestest"
)

// multiHostURL is a lib/pq URL over both servers that only accepts the one
// taking writes (target_session_attrs=read-write): after a failover the
// pool's new connections find the promoted standby by themselves.
func multiHostURL(user, password, dbname string, servers ...*devstack.Postgres) string {
	hosts, ports := make([]string, len(servers)), make([]string, len(servers))
	for i, s := range servers {
		hosts[i], ports[i] = "127.0.0.1", strconv.Itoa(s.Port)
	}
	q := url.Values{"host": {strings.Join(hosts, ",")}, "port": {strings.Join(ports, ",")},
		"sslmode": {"disable"}, "target_session_attrs": {"read-write"}, "connect_timeout": {"2"}}
	u := url.URL{Scheme: "postgres", User: url.UserPassword(user, password), Path: "/" + dbname, RawQuery: q.Encode()}
	return u.String()
}

// TestDatabaseFailover: a PostgreSQL primary with a synchronous streaming
// standby, `amparo serve` on a multi-host URL, cases filed from four
// clients; the primary is killed and the standby promoted mid-load. Amparo
// reconnects by itself, every acknowledged case is on the new primary, and
// `amparo audit verify` passes there.
func TestDatabaseFailover(t *testing.T) {
	if testing.Short() {
		t.Skip("starts two PostgreSQL servers and a server process")
	}
	ctx := t.Context()
	dir := t.TempDir()
	// Durable, unlike the test clusters: synchronous commit is the point.
	primary, err := devstack.StartPostgres(ctx, filepath.Join(dir, "primary"), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = primary.Stop() })
	appPassword, sealerPassword := "failover-app-password", "failover-sealer-password"
	if err := prepareDatabase(ctx, primary, appPassword, sealerPassword); err != nil {
		t.Fatal(err)
	}
	standby, err := devstack.StartStandby(ctx, primary, filepath.Join(dir, "standby"), true, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = standby.Stop() })

	_, s3 := blobtest.New(t)
	env, issuer := serverEnv(t, &postgrestest.DB{
		AppURL:    multiHostURL("amparo_app", appPassword, devDatabase, primary, standby),
		SealerURL: multiHostURL("amparo_sealer", sealerPassword, devDatabase, primary, standby),
	}, s3)
	srv := serveProcess(t, "replica", env)
	tok, err := issuer.Issue("officer@pgn.demo", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	c := &client{t: t, urls: []string{srv.url}, token: tok}

	var (
		mu    sync.Mutex
		acked = map[string]string{}
		lost  atomic.Int64
		stop  atomic.Bool
		wg    sync.WaitGroup
	)
	for w := range 4 {
		wg.Go(func() {
			for n := 0; !stop.Load(); n++ {
				key := fmt.Sprintf("failover-%d-%05d", w, n)
				id := c.fileCase(key)
				if id == "" {
					lost.Add(1)
					continue
				}
				mu.Lock()
				acked[key] = id
				mu.Unlock()
			}
		})
	}
	time.Sleep(1500 * time.Millisecond)
	mu.Lock()
	before := len(acked)
	mu.Unlock()
	if err := primary.Crash(); err != nil {
		t.Fatal(err)
	}
	crashed := time.Now()
	if err := standby.Promote(ctx); err != nil {
		t.Fatal(err)
	}
	// Serving again: a case filed after the promotion is acknowledged.
	if id := c.fileCase("failover-probe"); id == "" {
		t.Fatal("no case acknowledged after the promotion")
	}
	t.Logf("primary killed with %d cases acknowledged; writes acknowledged again %s later",
		before, time.Since(crashed).Round(10*time.Millisecond))
	time.Sleep(1500 * time.Millisecond)
	stop.Store(true)
	wg.Wait()
	acked["failover-probe"] = ""

	if lost.Load() > 0 {
		t.Errorf("%d cases never acknowledged", lost.Load())
	}
	owner, err := sqlx.Open("postgres", standby.SuperuserURL(devDatabase))
	if err != nil {
		t.Fatal(err)
	}
	defer owner.Close()
	var ids []string
	for _, id := range acked {
		if id != "" {
			ids = append(ids, id)
		}
	}
	if n := countRows(t, owner, `SELECT count(*) FROM cases WHERE id = ANY($1::uuid[])`, "{"+strings.Join(ids, ",")+"}"); n != len(ids) {
		t.Errorf("%d of %d acknowledged cases are on the promoted standby", n, len(ids))
	}
	if n := countRows(t, owner, `SELECT count(*) FROM cases`); n != len(acked) {
		t.Errorf("%d cases on the promoted standby for %d acknowledged keys", n, len(acked))
	}
	t.Logf("%d cases acknowledged across the failover, all on the promoted standby", len(acked))

	vctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	for {
		var unsealed int
		err := owner.GetContext(vctx, &unsealed, `SELECT count(*) FROM audit.events WHERE id > coalesce((SELECT max(event_id) FROM audit.leaves), 0)`)
		if err == nil && unsealed == 0 {
			break
		}
		if vctx.Err() != nil {
			t.Fatalf("%d events unsealed 30 s after the failover (%v)", unsealed, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
	verify := exec.Command(amparoBinary(t), "audit", "verify")
	verify.Env = os.Environ()
	for k, v := range env {
		verify.Env = append(verify.Env, k+"="+v)
	}
	verify.Env = append(verify.Env, "AMPARO_MIGRATE_DATABASE_URL="+multiHostURL("postgres", standby.Password, devDatabase, primary, standby))
	if out, err := verify.CombinedOutput(); err != nil {
		t.Errorf("amparo audit verify: %v\n%s", err, out)
	}
}
