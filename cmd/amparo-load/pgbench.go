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

	"github.com/jmoiron/sqlx"
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
	runErr := cmd.Run()
	if err := forgetReplayedKeys(ctx, script, os.Getenv("AMPARO_MIGRATE_DATABASE_URL")); err != nil {
		return nil, err
	}
	if runErr != nil {
		return nil, fmt.Errorf("%w: %s", runErr, out.Bytes())
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

// recordedKEK finds, in the script, the key-encryption key the recording's
// data keys are wrapped by.
var recordedKEK = regexp.MustCompile(`INSERT INTO data_keys \([^)]*\) VALUES \([^\n]*?\(E'([0-9]{8}-[0-9a-f]{8})'\)::text`)

// forgetReplayedKeys deletes the data keys the replay wrote. They are the
// recording's bytes, wrapped by the key-encryption key of the test that
// recorded the script, which no key file of this stack holds: left in the
// database, they would stop the next start of amparo serve or dev, whose
// start-up check refuses a key file that does not open every data key's
// KEK. Without its key a replayed case reads as erased (its identity and
// narratives gone, its structured record kept), as a case is after an
// identity erasure. The application's role cannot delete a data key (only
// an approved erasure does, migration 00073): this runs as the schema's
// owner (ownerURL: AMPARO_MIGRATE_DATABASE_URL, which dev.env names).
func forgetReplayedKeys(ctx context.Context, script, ownerURL string) error {
	text, err := os.ReadFile(script)
	if err != nil {
		return err
	}
	m := recordedKEK.FindSubmatch(text)
	if m == nil {
		return nil // the script writes no data key
	}
	if ownerURL == "" {
		return fmt.Errorf("pgbench wrote data keys of KEK %s, which no key file of this stack opens, and AMPARO_MIGRATE_DATABASE_URL is not set to delete them: the next start will refuse the key file", m[1])
	}
	db, err := sqlx.Open("postgres", ownerURL)
	if err != nil {
		return err
	}
	defer db.Close()
	res, err := db.ExecContext(ctx, `DELETE FROM data_keys WHERE kek_id = $1`, string(m[1]))
	if err != nil {
		return fmt.Errorf("deleting the replay's data keys (KEK %s): %w", m[1], err)
	}
	n, _ := res.RowsAffected()
	fmt.Fprintf(os.Stderr, "pgbench: deleted the replay's %d data keys (KEK %s of the recording); its cases read as erased\n", n, m[1])
	return nil
}
