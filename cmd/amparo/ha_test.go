package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"amparo/internal/blob/blobtest"
	"amparo/internal/postgres/postgrestest"
)

// client sends operations to a set of replicas in turn, as a load balancer
// would, retrying an operation on the next replica when one does not
// answer: with the same idempotency key, so a retry never files twice.
type client struct {
	t     testing.TB
	urls  []string
	next  atomic.Int64
	token string
}

// fileCase files a case under key and returns its id once a replica has
// acknowledged it ("" if none did within 20 s).
func (c *client) fileCase(key string) string {
	body, _ := json.Marshal(map[string]any{"query": fileCaseMutation, "variables": map[string]any{"input": fileCaseInput(key)}})
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		url := c.urls[int(c.next.Add(1))%len(c.urls)]
		req, _ := http.NewRequest(http.MethodPost, url+"/graphql", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+c.token)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			continue // a dead replica: the balancer tries the next
		}
		var out struct {
			Data struct {
				FileCase struct{ Case struct{ ID string } }
			}
			Errors []gqlError
		}
		err = json.NewDecoder(res.Body).Decode(&out)
		res.Body.Close()
		if err == nil && len(out.Errors) == 0 && out.Data.FileCase.Case.ID != "" {
			return out.Data.FileCase.Case.ID
		}
		time.Sleep(50 * time.Millisecond)
	}
	return ""
}

// sealerLeader returns the index of the replica whose /metrics say it leads
// the sealer, or -1.
func sealerLeader(t testing.TB, replicas []*proc, alive []bool) int {
	for i, r := range replicas {
		if !alive[i] {
			continue
		}
		if v, _ := sample(scrape(t, r.url+"/metrics"), "amparo_audit_sealer_leader", nil); v == 1 {
			return i
		}
	}
	return -1
}

// waitLeader waits up to 15 s for a live replica to lead the sealer.
func waitLeader(t testing.TB, replicas []*proc, alive []bool) int {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		if i := sealerLeader(t, replicas, alive); i >= 0 {
			return i
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatal("no replica leads the sealer")
	return -1
}

// TestReplicasLoseOneMidLoad runs three `amparo serve` processes on one
// database and one MinIO, files cases through all of them from eight
// clients, and SIGKILLs the sealer's leader in the middle. Every case a
// replica acknowledged is in the database exactly once, another replica
// takes over the sealer, and `amparo audit verify` passes afterwards.
func TestReplicasLoseOneMidLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("starts three server processes")
	}
	db := postgrestest.New(t)
	_, s3 := blobtest.New(t)
	env, issuer := serverEnv(t, db, s3)
	replicas := make([]*proc, 3)
	var urls []string
	for i := range replicas {
		replicas[i] = serveProcess(t, fmt.Sprintf("replica-%d", i), env)
		urls = append(urls, replicas[i].url)
	}
	alive := []bool{true, true, true}
	leader := waitLeader(t, replicas, alive)

	tok, err := issuer.Issue("officer@pgn.demo", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	c := &client{t: t, urls: urls, token: tok}
	var (
		mu    sync.Mutex
		acked = map[string]string{} // idempotency key → case id
		lost  atomic.Int64
		stop  atomic.Bool
		wg    sync.WaitGroup
	)
	for w := range 8 {
		wg.Go(func() {
			for n := 0; !stop.Load(); n++ {
				key := fmt.Sprintf("ha-%d-%05d", w, n)
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
	replicas[leader].kill(t)
	alive[leader] = false
	killedAt := time.Now()
	newLeader := waitLeader(t, replicas, alive)
	t.Logf("replica %d (leader) killed; replica %d leads after %s", leader, newLeader, time.Since(killedAt).Round(10*time.Millisecond))
	time.Sleep(1500 * time.Millisecond)
	stop.Store(true)
	wg.Wait()

	if lost.Load() > 0 {
		t.Errorf("%d cases were never acknowledged by any replica", lost.Load())
	}
	if len(acked) < 10 {
		t.Fatalf("only %d cases acknowledged: the load did not run", len(acked))
	}
	ids := make([]string, 0, len(acked))
	for _, id := range acked {
		ids = append(ids, id)
	}
	if n := countRows(t, db.App, `SELECT count(*) FROM cases WHERE id = ANY($1::uuid[])`, "{"+strings.Join(ids, ",")+"}"); n != len(acked) {
		t.Errorf("%d of %d acknowledged cases are in the database", n, len(acked))
	}
	if n := countRows(t, db.App, `SELECT count(*) FROM cases`); n != len(acked) {
		t.Errorf("%d cases in the database for %d acknowledged keys: a retry filed twice", n, len(acked))
	}
	t.Logf("%d cases acknowledged across the kill, all stored once", len(acked))

	// The trail of everything, sealed by the new leader, verifies.
	deadline := time.Now().Add(20 * time.Second)
	for {
		lag, ok := sample(scrape(t, replicas[newLeader].url+"/metrics"), "amparo_audit_sealer_lag_seconds", nil)
		if ok && lag == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("sealer lag %v after the load", lag)
		}
		time.Sleep(200 * time.Millisecond)
	}
	verify := exec.Command(amparoBinary(t), "audit", "verify")
	verify.Env = os.Environ()
	for k, v := range env {
		verify.Env = append(verify.Env, k+"="+v)
	}
	verify.Env = append(verify.Env, "AMPARO_MIGRATE_DATABASE_URL="+db.OwnerURL)
	if out, err := verify.CombinedOutput(); err != nil {
		t.Errorf("amparo audit verify: %v\n%s", err, out)
	}
}

// TestAuthorizationChangesReachEveryReplica runs three `amparo serve`
// processes on one database, has each of them serve an intake account
// (so each has it cached), then revokes the account's role through one
// replica and disables it through another. Every replica refuses the
// account within a second of each change, as the issue requires; the lag
// each one showed is logged.
func TestAuthorizationChangesReachEveryReplica(t *testing.T) {
	if testing.Short() {
		t.Skip("starts three server processes")
	}
	db := postgrestest.New(t)
	_, s3 := blobtest.New(t)
	env, issuer := serverEnv(t, db, s3)
	replicas := make([]*testApp, 3)
	for i := range replicas {
		p := serveProcess(t, fmt.Sprintf("replica-%d", i), env)
		// do and token need only the URL, the issuer and the database.
		replicas[i] = &testApp{t: t, srv: &httptest.Server{URL: p.url}, db: db, issuer: issuer}
	}
	admin := replicas[0].token("admin@amparo.demo")
	uid := newAccount(t, replicas[0], "PGN")
	var email string
	if err := db.App.Get(&email, `SELECT email FROM users WHERE id = $1`, uid); err != nil {
		t.Fatal(err)
	}
	tok := replicas[0].token(email)
	const (
		intakeRead = `{ complaints(first: 1) { pageInfo { hasNextPage } } }` // complaint:read, an intake permission
		me         = `{ me { user { id } } }`
	)

	// reach waits until every replica answers query for tok with the error
	// codes want (nil: no error), polling them in turn, and returns how long
	// after start each one first did. It fails for a replica that takes
	// longer than limit.
	reach := func(t *testing.T, query string, want []string, start time.Time, limit time.Duration) []time.Duration {
		t.Helper()
		lag := make([]time.Duration, len(replicas))
		for pending := len(replicas); pending > 0; time.Sleep(5 * time.Millisecond) {
			for i, r := range replicas {
				if lag[i] != 0 {
					continue
				}
				if slices.Equal(r.do(tok, query, nil).codes(), want) {
					lag[i] = max(time.Since(start), time.Nanosecond)
					pending--
					continue
				}
				if time.Since(start) > limit {
					t.Fatalf("replica %d still answers %s with something other than %v %s after the change", i, query, want, limit)
				}
			}
		}
		return lag
	}
	// Granted through replica 0; seen and cached by all three (the grant
	// may take a while to reach a replica whose watcher has just started).
	replicas[0].do(admin, `mutation($id: ID!) { grantRole(input: {userId: $id, role: "intake"}) { user { id } } }`, map[string]any{"id": uid}).decode(t, &struct{}{})
	reach(t, intakeRead, nil, time.Now(), 30*time.Second)

	t.Run("RevokedRoleRefusedByEveryReplica", func(t *testing.T) {
		replicas[1].do(admin, `mutation($id: ID!) { revokeRole(input: {userId: $id, role: "intake"}) { user { id } } }`, map[string]any{"id": uid}).decode(t, &struct{}{})
		lag := reach(t, intakeRead, []string{"FORBIDDEN"}, time.Now(), time.Second)
		t.Logf("role revoked through replica 1; refused by replicas 0, 1, 2 after %v", roundAll(lag))
	})
	t.Run("DisabledUserRefusedByEveryReplica", func(t *testing.T) {
		reach(t, me, nil, time.Now(), 10*time.Second) // known to all three before
		replicas[2].do(admin, `mutation($id: ID!) { disableUser(userId: $id) { user { id } } }`, map[string]any{"id": uid}).decode(t, &struct{}{})
		lag := reach(t, me, []string{"UNAUTHENTICATED"}, time.Now(), time.Second)
		t.Logf("user disabled through replica 2; refused by replicas 0, 1, 2 after %v", roundAll(lag))
	})
}

// roundAll rounds durations to the millisecond, for logs.
func roundAll(ds []time.Duration) []time.Duration {
	out := make([]time.Duration, len(ds))
	for i, d := range ds {
		out[i] = d.Round(time.Millisecond)
	}
	return out
}
