// Command amparo-load puts a running Amparo under load and reports
// throughput and latency percentiles: the measured figures of the README
// come from it. Load goes through the public HTTP API only; --seed writes
// synthetic cases straight into the database (AMPARO_DATABASE_URL) first,
// for measuring at the size of a country.
//
//	set -a; . .amparo/dev.env; set +a
//	amparo-load --seed 1000000
//	TOKEN=$(amparo token --data-dir .amparo --user officer@pgn.demo)
//	amparo-load --url http://127.0.0.1:8080/graphql --token "$TOKEN" --op casesByDepartment -c 16 -d 20s --json
package main

import (
	"bytes"
	"context"
	"crypto/rand"
	_ "embed"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jmoiron/sqlx"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "amparo-load:", err)
		os.Exit(1)
	}
}

const fileCase = `mutation($in: FileCaseInput!) { fileCase(input: $in) { case { id } } }`

// pageOf50 is the page an officer's list shows: 50 cases with their child
// and violations.
const pageOf50 = `query($f: CaseFilter) { cases(first: 50, filter: $f) { edges { node { id reference status urgency dueAt
  child { ageBand sex nationality } violations { type { code } } } } } }`

// lists are the list and queue operations, each a page of 50.
var lists = map[string]map[string]any{
	"cases":             nil,
	"casesByDepartment": {"departments": []string{"GT-13"}},
	"casesByUrgency":    {"urgency": []string{"HIGH"}},
	"casesByStatus":     {"status": []string{"ASSESSMENT"}},
	"assignedToMe":      {"assignedToMe": true},
	"unassigned":        {"unassigned": true},
	"overdue":           {"overdue": true},
}

func run(ctx context.Context, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("amparo-load", flag.ContinueOnError)
	url := fs.String("url", "http://127.0.0.1:8080/graphql", "GraphQL endpoint")
	token := fs.String("token", os.Getenv("AMPARO_TOKEN"), "bearer token (or AMPARO_TOKEN)")
	op := fs.String("op", "fileCase", "fileCase, case (read one case back), or a page of 50: cases, casesByDepartment, casesByUrgency, casesByStatus, assignedToMe, unassigned, overdue")
	conc := fs.Int("c", 16, "concurrent clients")
	dur := fs.Duration("d", 20*time.Second, "how long to run")
	seedN := fs.Int("seed", 0, "write N synthetic cases through AMPARO_DATABASE_URL, then exit")
	seedWith := fs.Uint64("seed-random", 1, "random seed of --seed, for repeatable data sets")
	asJSON := fs.Bool("json", false, "print the summary as one JSON object")
	pgbenchFile := fs.String("pgbench", "", "with --op fileCase: then replay this script (filecase.pgbench) with pgbench, as many clients for as long, against AMPARO_DATABASE_URL, and compare")
	cpu := fs.Bool("cpu", false, "also report the CPU each operation cost the server, PostgreSQL (AMPARO_DATABASE_URL's, with its backends) and this tool, from /proc: all on this machine")
	ackedPath := fs.String("acked", "", "with --op fileCase: append the id of every case the server acknowledged to this file, one a line, as it is acknowledged (the restore drill counts them)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *seedN > 0 {
		dbURL := os.Getenv("AMPARO_DATABASE_URL")
		if dbURL == "" {
			return errors.New("--seed writes through AMPARO_DATABASE_URL, which is not set (set -a; . .amparo/dev.env; set +a)")
		}
		db, err := sqlx.Open("postgres", dbURL)
		if err != nil {
			return err
		}
		defer db.Close()
		s, err := newSeeder(ctx, db, *seedWith)
		if err != nil {
			return err
		}
		return s.Seed(ctx, *seedN, out)
	}
	if *token == "" {
		return errors.New("--token is required")
	}
	acked, err := ackLog(*ackedPath)
	if err != nil {
		return err
	}
	defer acked.Close()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: *conc}, Timeout: 30 * time.Second}
	post := func(ctx context.Context, query string, vars map[string]any) (json.RawMessage, error) {
		body, _ := json.Marshal(map[string]any{"query": query, "variables": vars})
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, *url, bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+*token)
		res, err := client.Do(req)
		if err != nil {
			return nil, err
		}
		defer res.Body.Close()
		var r struct {
			Data   json.RawMessage
			Errors []struct{ Message string }
		}
		if err := json.NewDecoder(res.Body).Decode(&r); err != nil {
			return nil, err
		}
		if len(r.Errors) > 0 {
			return nil, errors.New(r.Errors[0].Message)
		}
		return r.Data, nil
	}
	var caseID string
	if *op == "case" {
		if _, err := post(ctx, fileCase, map[string]any{"in": input()}); err != nil {
			return fmt.Errorf("seed case: %w", err)
		}
		caseID = seedID(ctx, client, *url, *token)
	}
	request := func(ctx context.Context) error {
		switch *op {
		case "fileCase":
			data, err := post(ctx, fileCase, map[string]any{"in": input()})
			if err != nil {
				return err
			}
			var r struct {
				FileCase struct{ Case struct{ ID string } }
			}
			if err := json.Unmarshal(data, &r); err != nil || r.FileCase.Case.ID == "" {
				return fmt.Errorf("fileCase answered no case id: %s", data)
			}
			return acked.add(r.FileCase.Case.ID)
		case "case":
			_, err := post(ctx, `query($id: ID!) { case(id: $id) { id reference violations { type { code } } } }`, map[string]any{"id": caseID})
			return err
		}
		if f, ok := lists[*op]; ok {
			_, err := post(ctx, pageOf50, map[string]any{"f": f})
			return err
		}
		return fmt.Errorf("unknown --op %q", *op)
	}

	var meter *cpuMeter
	if *cpu {
		targets, err := cpuTargets(*url, os.Getenv("AMPARO_DATABASE_URL"))
		if err != nil {
			return err
		}
		if meter, err = startCPU(targets); err != nil {
			return err
		}
	}
	ctx, cancel := context.WithTimeout(ctx, *dur)
	defer cancel()
	var (
		mu        sync.Mutex
		latencies []time.Duration
		failures  atomic.Int64
		firstErr  atomic.Value
		wg        sync.WaitGroup
	)
	start := time.Now()
	for range *conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var mine []time.Duration
			for ctx.Err() == nil {
				t0 := time.Now()
				err := request(ctx)
				if ctx.Err() != nil {
					break
				}
				if err != nil {
					failures.Add(1)
					firstErr.CompareAndSwap(nil, err.Error())
					continue
				}
				mine = append(mine, time.Since(t0))
			}
			mu.Lock()
			latencies = append(latencies, mine...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	slices.Sort(latencies)
	pct := func(p float64) time.Duration {
		if len(latencies) == 0 {
			return 0
		}
		return latencies[min(len(latencies)-1, int(float64(len(latencies))*p))]
	}
	rate := float64(len(latencies)) / elapsed.Seconds()
	var cpuPerOp map[string]float64
	if meter != nil {
		var err error
		if cpuPerOp, err = meter.perOp(len(latencies) + int(failures.Load())); err != nil {
			return err
		}
	}
	var bench *pgbenchResult
	if *pgbenchFile != "" {
		if *op != "fileCase" {
			return errors.New("--pgbench compares --op fileCase only")
		}
		var err error
		if bench, err = runPgbench(context.WithoutCancel(ctx), client, *url, *token, *pgbenchFile, *conc, *dur); err != nil {
			return fmt.Errorf("pgbench: %w", err)
		}
	}
	if *asJSON {
		summary := map[string]any{"op": *op, "clients": *conc, "seconds": elapsed.Seconds(), "ok": len(latencies),
			"failed": failures.Load(), "ratePerSecond": rate,
			"p50ms": ms(pct(0.50)), "p95ms": ms(pct(0.95)), "p99ms": ms(pct(0.99))}
		if e := firstErr.Load(); e != nil {
			summary["firstError"] = e
		}
		if cpuPerOp != nil {
			summary["cpuMsPerOp"] = cpuPerOp
		}
		if bench != nil {
			summary["pgbenchTPS"], summary["ofPgbench"] = bench.TPS, rate/bench.TPS
		}
		return json.NewEncoder(out).Encode(summary)
	}
	fmt.Fprintf(out, "op=%s clients=%d duration=%s ok=%d failed=%d rate=%.0f/s p50=%s p95=%s p99=%s\n",
		*op, *conc, elapsed.Round(time.Millisecond), len(latencies), failures.Load(),
		rate, pct(0.50).Round(time.Microsecond), pct(0.95).Round(time.Microsecond),
		pct(0.99).Round(time.Microsecond))
	if e := firstErr.Load(); e != nil {
		fmt.Fprintf(out, "first error: %s\n", e)
	}
	if cpuPerOp != nil {
		fmt.Fprint(out, "CPU per operation:")
		for _, name := range []string{"amparo", "postgres", "load"} {
			if v, ok := cpuPerOp[name]; ok {
				fmt.Fprintf(out, " %s %.2f ms", name, v)
			}
		}
		fmt.Fprintln(out)
	}
	if bench != nil {
		fmt.Fprintf(out, "pgbench replaying the same statements: %.0f transactions/s (%d clients); fileCase reaches %.0f%% of it\n",
			bench.TPS, *conc, 100*rate/bench.TPS)
	}
	return nil
}

// seedID returns the id of the newest case the token can read.
func seedID(ctx context.Context, client *http.Client, url, token string) string {
	body, _ := json.Marshal(map[string]any{"query": `{ cases(first: 1) { edges { node { id } } } }`})
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	res, err := client.Do(req)
	if err != nil {
		return ""
	}
	defer res.Body.Close()
	var r struct {
		Data struct {
			Cases struct {
				Edges []struct{ Node struct{ ID string } }
			}
		}
	}
	_ = json.NewDecoder(res.Body).Decode(&r)
	if len(r.Data.Cases.Edges) == 0 {
		return ""
	}
	return r.Data.Cases.Edges[0].Node.ID
}

// fileCaseInput is the case --op fileCase files, less its idempotency key.
// cmd/amparo's TestFilingPgbenchScript files it too, and writes the
// statements it costs into filecase.pgbench, so that pgbench replays
// exactly what this load makes the server send.
//
//go:embed filecase.json
var fileCaseInput []byte

// input is a valid case with a fresh idempotency key.
func input() map[string]any {
	var in map[string]any
	if err := json.Unmarshal(fileCaseInput, &in); err != nil {
		panic(err) // embedded, checked by TestFilingPgbenchScript
	}
	in["idempotencyKey"] = "load-" + rand.Text()
	return in
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// acks is the file of acknowledged case ids (--acked), or nothing.
type acks struct {
	mu sync.Mutex
	f  *os.File
}

// ackLog opens path for appending ("" for no file).
func ackLog(path string) (*acks, error) {
	if path == "" {
		return &acks{}, nil
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("--acked: %w", err)
	}
	return &acks{f: f}, nil
}

// add writes id as its own line, in one write, so that a reader never
// sees half an id, even if this process is killed.
func (a *acks) add(id string) error {
	if a.f == nil {
		return nil
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	_, err := a.f.WriteString(id + "\n")
	return err
}

func (a *acks) Close() error {
	if a.f == nil {
		return nil
	}
	return a.f.Close()
}
