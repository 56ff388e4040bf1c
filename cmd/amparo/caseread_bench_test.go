package main

import (
	"fmt"
	"os"
	"runtime/debug"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"
)

// BenchmarkCaseRead reads one case (child and violations) through the real
// handler, one request at a time, and reports the CPU that each read costs
// the server: Amparo's process (the benchmark's own, so the in-process
// HTTP client is included) and the PostgreSQL backends serving it.
//
//	go test ./cmd/amparo -run '^$' -bench CaseRead -benchtime 2000x
func BenchmarkCaseRead(b *testing.B) {
	asServed(b)
	app := newTestApp(b)
	officer := app.token("officer@pgn.demo")
	id := app.fileCase("officer@pgn.demo", "bench-read-0001")
	owner := app.db.Owner(b)
	for _, r := range []struct{ name, query string }{
		{"case", `query($id: ID!) { case(id: $id) { id reference status child { ageBand sex } violations { type { code } occurredOn } } }`},
		// The same request path with no statement at all (the caller is
		// cached): what the server's background work (sealer, watchers)
		// and the HTTP round trip cost over the same time.
		{"baseline", `{ me { roles } }`},
	} {
		b.Run(r.name, func(b *testing.B) {
			var vars map[string]any
			if strings.Contains(r.query, "$id") {
				vars = map[string]any{"id": id}
			}
			for range 50 { // the principal cached, the read prepared on the pool's connections
				app.do(officer, r.query, vars).decode(b, &struct{}{})
			}
			goBefore, pgBefore := processCPU(b), backendsCPU(b, owner, app.db.Name)
			b.ResetTimer()
			for range b.N {
				app.do(officer, r.query, vars).decode(b, &struct{}{})
			}
			b.StopTimer()
			goCPU, pgCPU := processCPU(b)-goBefore, backendsCPU(b, owner, app.db.Name)-pgBefore
			b.ReportMetric(float64(goCPU.Microseconds())/float64(b.N), "amparo-cpu-µs/read")
			b.ReportMetric(float64(pgCPU.Microseconds())/float64(b.N), "postgres-cpu-µs/read")
		})
	}
}

// BenchmarkCasePage reads a page of 50 cases with their child and
// violations, the page amparo-load's list operations ask for (pageOf50 in
// cmd/amparo-load), through the real handler one request at a time, and
// reports the CPU each page costs Amparo (this process, the in-process HTTP
// client included) and the PostgreSQL backends serving it.
//
//	go test ./cmd/amparo -run '^$' -bench CasePage -benchtime 200x
func BenchmarkCasePage(b *testing.B) {
	asServed(b)
	app := newTestApp(b)
	officer := app.token("officer@pgn.demo")
	for i := range 60 {
		app.fileCase("officer@pgn.demo", fmt.Sprintf("bench-page-%03d", i))
	}
	owner := app.db.Owner(b)
	const query = `query($f: CaseFilter) { cases(first: 50, filter: $f) { edges { node { id reference status urgency dueAt
  child { ageBand sex nationality } violations { type { code } } } } } }`
	var out struct {
		Cases struct {
			Edges []struct{ Node struct{ ID string } }
		}
	}
	for range 20 { // the principal cached, the pool's connections warm
		app.do(officer, query, nil).decode(b, &out)
	}
	if len(out.Cases.Edges) != 50 {
		b.Fatalf("a page of %d cases, want 50", len(out.Cases.Edges))
	}
	goBefore, pgBefore := processCPU(b), backendsCPU(b, owner, app.db.Name)
	b.ResetTimer()
	for range b.N {
		app.do(officer, query, nil).decode(b, &out)
	}
	b.StopTimer()
	goCPU, pgCPU := processCPU(b)-goBefore, backendsCPU(b, owner, app.db.Name)-pgBefore
	b.ReportMetric(float64(goCPU.Microseconds())/float64(b.N), "amparo-cpu-µs/page")
	b.ReportMetric(float64(pgCPU.Microseconds())/float64(b.N), "postgres-cpu-µs/page")
}

// asServed sets the collector as amparo serve does (tuneGC; the test app
// is built without serve), for the rest of the benchmark: what it measures
// is what a server spends. GOGC=100 in the environment measures Go's
// default instead.
func asServed(b *testing.B) {
	prev := debug.SetGCPercent(100)
	debug.SetGCPercent(prev)
	tuneGC(os.Getenv, "")
	b.Cleanup(func() { debug.SetGCPercent(prev) })
}

// processCPU is the CPU time (user and system) this process has used.
func processCPU(tb testing.TB) time.Duration {
	tb.Helper()
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		tb.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// backendsCPU is the CPU time (user and system, from /proc) that the
// client backends of database name have used, read as the owner (whose own
// backend is left out).
func backendsCPU(tb testing.TB, owner *sqlx.DB, name string) time.Duration {
	tb.Helper()
	var pids []int
	if err := owner.Select(&pids, `SELECT pid FROM pg_stat_activity
WHERE datname = $1 AND backend_type = 'client backend' AND pid <> pg_backend_pid()`, name); err != nil {
		tb.Fatal(err)
	}
	const tick = 10 * time.Millisecond // USER_HZ 100
	var total time.Duration
	for _, pid := range pids {
		raw, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
		if err != nil {
			continue // gone since
		}
		// Fields after the command, which ends with the last ')': utime
		// and stime are the 12th and 13th.
		f := strings.Fields(string(raw[strings.LastIndexByte(string(raw), ')')+2:]))
		u, _ := strconv.Atoi(f[11])
		s, _ := strconv.Atoi(f[12])
		total += time.Duration(u+s) * tick
	}
	return total
}
