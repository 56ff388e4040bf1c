package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"time"
)

// pgbenchResult is what a pgbench run achieved.
type pgbenchResult struct {
	TPS float64 // transactions a second, without connection time
}

var tpsLine = regexp.MustCompile(`tps = ([0-9.]+) \(without initial connection time\)`)

// runPgbench replays script (filecase.pgbench: the statements one fileCase
// sends, in one transaction) with pgbench, clients at once for d, against
// the database of AMPARO_DATABASE_URL, as the user the token names: the
// ceiling of filing on this cluster, with none of the server's work.
func runPgbench(ctx context.Context, client *http.Client, url, token, script string, clients int, d time.Duration) (*pgbenchResult, error) {
	dbURL := os.Getenv("AMPARO_DATABASE_URL")
	if dbURL == "" {
		return nil, errors.New("AMPARO_DATABASE_URL is not set (set -a; . .amparo/dev.env; set +a)")
	}
	filer, err := userID(ctx, client, url, token)
	if err != nil {
		return nil, err
	}
	threads := min(clients, 2)
	cmd := exec.CommandContext(ctx, "pgbench", "-n", "-M", "extended", "-c", strconv.Itoa(clients), "-j", strconv.Itoa(threads),
		"-T", strconv.Itoa(max(1, int(d.Seconds()))), "-D", "filer="+filer, "-f", script, dbURL)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("%w: %s", err, out.Bytes())
	}
	m := tpsLine.FindSubmatch(out.Bytes())
	if m == nil {
		return nil, fmt.Errorf("no tps in its output: %s", out.Bytes())
	}
	tps, err := strconv.ParseFloat(string(m[1]), 64)
	if err != nil {
		return nil, err
	}
	return &pgbenchResult{TPS: tps}, nil
}

// userID is the id of the token's user (me).
func userID(ctx context.Context, client *http.Client, url, token string) (string, error) {
	body, _ := json.Marshal(map[string]any{"query": `{ me { user { id } } }`})
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	res, err := client.Do(req)
	if err != nil {
		return "", err
	}
	defer res.Body.Close()
	var r struct {
		Data struct {
			Me struct{ User struct{ ID string } }
		}
	}
	if err := json.NewDecoder(res.Body).Decode(&r); err != nil || r.Data.Me.User.ID == "" {
		return "", fmt.Errorf("who is the token's user: %v", err)
	}
	return r.Data.Me.User.ID, nil
}
