package main

import (
	"database/sql/driver"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/lib/pq"

	"amparo/internal/postgres"
)

// TestFilingNumbersLast: filing takes the institution's case number in the
// last statement of its transaction, so the counter's lock is held for
// that statement and the commit only; numbers stay gapless under
// concurrent filings; and a commit that would leave a case unnumbered is
// refused.
func TestFilingNumbersLast(t *testing.T) {
	var counter statementCounter
	app := newTestApp(t, func(c *config) { c.wrapDB = counter.wrap })
	app.fileCase("officer@pgn.demo", "numbers-last-warm")

	t.Run("CounterIsTheLastStatement", func(t *testing.T) {
		counter.record()
		app.fileCase("officer@pgn.demo", "numbers-last-0001")
		var inTx []statement
		for _, s := range counter.stop() {
			if s.InTx {
				inTx = append(inTx, s)
			}
		}
		for i, s := range inTx {
			if takes := strings.Contains(s.Query, "case_counters"); takes != (i == len(inTx)-1) {
				t.Errorf("statement %d of %d touches case_counters: %v\n%s", i+1, len(inTx), takes, s.Query)
			}
		}
	})
	t.Run("GaplessUnderConcurrentFilings", func(t *testing.T) {
		const writers, each = 8, 4
		var mu sync.Mutex
		var refs []string
		var wg sync.WaitGroup
		for w := range writers {
			wg.Go(func() {
				for i := range each {
					var out struct {
						FileCase struct{ Case struct{ Reference string } }
					}
					res := app.do(app.token("officer@pgn.demo"), fileCaseMutation,
						map[string]any{"input": fileCaseInput(fmt.Sprintf("gapless-%d-%d", w, i))})
					if len(res.Errors) > 0 || json.Unmarshal(res.Data, &out) != nil {
						t.Errorf("filing: %v", res.codes())
						return
					}
					mu.Lock()
					refs = append(refs, out.FileCase.Case.Reference)
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		var stored []string
		if err := app.db.App.Select(&stored, `SELECT reference FROM cases WHERE institution_code = 'PGN' ORDER BY reference`); err != nil {
			t.Fatal(err)
		}
		year := time.Now().In(guatemalaTime(t)).Year()
		for i, ref := range stored {
			if want := fmt.Sprintf("PGN-%d-%06d", year, i+1); ref != want {
				t.Fatalf("reference %d is %s, want %s: numbers have a gap or a repeat", i+1, ref, want)
			}
		}
		for _, ref := range refs {
			if !slices.Contains(stored, ref) {
				t.Errorf("answered %q, which is not stored", ref)
			}
		}
		if len(stored) != 2+writers*each {
			t.Errorf("%d cases stored, want %d", len(stored), 2+writers*each)
		}
	})
	t.Run("UnnumberedCaseRefusedAtCommit", func(t *testing.T) {
		tx, err := app.db.App.Beginx()
		if err != nil {
			t.Fatal(err)
		}
		defer tx.Rollback()
		if _, err := tx.Exec(`UPDATE cases SET reference = NULL WHERE id = (SELECT id FROM cases LIMIT 1)`); err != nil {
			t.Fatalf("within the transaction a case may be unnumbered: %v", err)
		}
		if err := tx.Commit(); postgres.SQLState(err) != "23502" {
			t.Errorf("commit of an unnumbered case: %v, want not_null_violation (23502)", err)
		}
	})
}

func guatemalaTime(t *testing.T) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation("America/Guatemala")
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

var updateScript = flag.Bool("update-pgbench", false, "rewrite cmd/amparo-load/filecase.pgbench from the statements fileCase sends")

// pgbenchScript is where the load tool keeps the replay of a filing.
const pgbenchScript = "../amparo-load/filecase.pgbench"

// TestFilingPgbenchScript: cmd/amparo-load/filecase.pgbench is the
// statements that filing the load tool's case (cmd/amparo-load/filecase.json)
// sends, in one transaction, as pgbench replays them (issue 14 compares
// filing with it). Fails when the statements have changed since the script
// was written; `go test ./cmd/amparo -run TestFilingPgbenchScript
// -update-pgbench` writes it again.
func TestFilingPgbenchScript(t *testing.T) {
	var counter statementCounter
	app := newTestApp(t, func(c *config) { c.wrapDB = counter.wrap })
	raw, err := os.ReadFile("../amparo-load/filecase.json")
	if err != nil {
		t.Fatal(err)
	}
	file := func(key string) {
		var in map[string]any
		if err := json.Unmarshal(raw, &in); err != nil {
			t.Fatal(err)
		}
		in["idempotencyKey"] = key
		var out struct {
			FileCase struct{ Case struct{ ID string } }
		}
		app.do(app.token("officer@pgn.demo"), fileCaseMutation, map[string]any{"input": in}).decode(t, &out)
	}
	file("pgbench-warm-0000")
	const key = "pgbench-template-0001"
	counter.record()
	file(key)
	var inTx []statement
	for _, s := range counter.stop() {
		if s.InTx {
			inTx = append(inTx, s)
		}
	}
	var filer uuid.UUID
	if err := app.db.App.Get(&filer, `SELECT id FROM users WHERE email = 'officer@pgn.demo'`); err != nil {
		t.Fatal(err)
	}
	script, err := renderPgbench(app, inTx, filer, key)
	if err != nil {
		t.Fatal(err)
	}
	if *updateScript {
		if err := os.WriteFile(pgbenchScript, []byte(script), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	have, err := os.ReadFile(pgbenchScript)
	if err != nil {
		t.Fatal(err)
	}
	if shape(string(have)) != shape(script) {
		t.Errorf("%s is not what fileCase sends now; run go test ./cmd/amparo -run TestFilingPgbenchScript -update-pgbench and commit it\n--- now:\n%s", pgbenchScript, script)
	}
}

var (
	placeholder = regexp.MustCompile(`\$(\d+)`)
	uuidText    = regexp.MustCompile(`[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}`)
	// moving are the parts of a recording that change from one to the
	// next: times, random bytes (sealed identities, wrapped keys), request
	// ids, the year.
	moving = regexp.MustCompile(`\d{4}-\d\d-\d\dT\d\d\\x3a\d\d\\x3a\d\d(\.\d+)?Z|\\\\x[0-9a-f]+|E'[0-9a-f]{16,64}'|E'\d{8}-[0-9a-f]{8}'|\(20\d\d\)`)
)

// shape is a script less what changes from one recording to the next.
func shape(script string) string { return moving.ReplaceAllString(script, "…") }

// renderPgbench writes statements as a pgbench script (-M extended): each
// argument in place of its placeholder, cast to the parameter's type as the
// server infers it; the ids the filing made (any UUID that is not a user's)
// drawn afresh for each transaction from :r and :client_id; the filer's id
// as :filer (pgbench -D filer=...); and colons inside literals escaped, so
// that pgbench takes none for a variable.
func renderPgbench(app *testApp, stmts []statement, filer uuid.UUID, key string) (string, error) {
	fresh := map[string]string{}
	var b strings.Builder
	b.WriteString(`-- Generated by TestFilingPgbenchScript (cmd/amparo/filing_test.go) from the
-- statements one fileCase of cmd/amparo-load/filecase.json sends; do not
-- edit. Run by amparo-load --pgbench (see the README, "Filing"):
--   pgbench -n -M extended -c 16 -j 2 -T 20 -D filer=<officer's user id> -f filecase.pgbench <AMPARO_DATABASE_URL>
-- Byte strings (sealed identity, wrapped key, hashes) and times are those of
-- the recording.
\set r random(1, 1000000000000000)
BEGIN;
`)
	for i, s := range stmts {
		types, err := parameterTypes(app, s.Query)
		if err != nil {
			return "", fmt.Errorf("statement %d: %w", i+1, err)
		}
		var failed error
		q := placeholder.ReplaceAllStringFunc(s.Query, func(p string) string {
			n, _ := strconv.Atoi(p[1:])
			if n < 1 || n > len(s.Args) || n > len(types) {
				failed = fmt.Errorf("statement %d: %s has no argument", i+1, p)
				return p
			}
			return "(" + literal(s.Args[n-1].Value, types[n-1], filer, key, fresh) + ")::" + types[n-1]
		})
		if failed != nil {
			return "", failed
		}
		q = strings.Join(strings.Fields(q), " ")
		b.WriteString(q + ";\n")
	}
	b.WriteString("COMMIT;\n")
	return b.String(), nil
}

// parameterTypes asks the server the types of query's parameters.
func parameterTypes(app *testApp, query string) ([]string, error) {
	conn, err := app.db.App.Connx(app.t.Context())
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	if _, err := conn.ExecContext(app.t.Context(), "PREPARE pgbench_probe AS "+query); err != nil {
		return nil, err
	}
	defer conn.ExecContext(app.t.Context(), "DEALLOCATE pgbench_probe")
	var types pq.StringArray
	err = conn.GetContext(app.t.Context(), &types,
		`SELECT parameter_types::text[] FROM pg_prepared_statements WHERE name = 'pgbench_probe'`)
	return types, err
}

// literal renders one argument, of the parameter type typ, as SQL for
// pgbench.
func literal(v driver.Value, typ string, filer uuid.UUID, key string, fresh map[string]string) string {
	var text string
	switch x := v.(type) {
	case nil:
		return "NULL"
	case int64:
		return strconv.FormatInt(x, 10)
	case float64:
		return strconv.FormatFloat(x, 'g', -1, 64)
	case bool:
		return strconv.FormatBool(x)
	case time.Time:
		text = x.UTC().Format(time.RFC3339Nano)
	case []byte:
		if x == nil { // lib/pq sends a nil slice as NULL
			return "NULL"
		}
		if text = string(x); typ == "bytea" {
			text = `\x` + hex.EncodeToString(x)
		}
	case string:
		text = x
	default:
		text = fmt.Sprint(x)
	}
	if text == key {
		return `'bench-' || :r::text || '-' || :client_id::text`
	}
	// Ids inside the text: the filer's is a variable, those the filing
	// made are drawn for each transaction.
	var parts []string
	last := 0
	for _, m := range uuidText.FindAllStringIndex(text, -1) {
		id := text[m[0]:m[1]]
		if m[0] > last {
			parts = append(parts, quote(text[last:m[0]]))
		}
		if id == filer.String() {
			parts = append(parts, ":filer::text")
		} else {
			n, ok := fresh[id]
			if !ok {
				n = strconv.Itoa(len(fresh) + 1)
				fresh[id] = n
			}
			parts = append(parts, "md5(:r::text || '/' || :client_id::text || '/"+n+"')::uuid::text")
		}
		last = m[1]
	}
	if last < len(text) || len(parts) == 0 {
		parts = append(parts, quote(text[last:]))
	}
	return strings.Join(parts, " || ")
}

// quote is s as an escape string literal (E'...') in which pgbench sees no
// colon.
func quote(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `'`, `\'`, `:`, `\x3a`)
	return "E'" + r.Replace(s) + "'"
}
