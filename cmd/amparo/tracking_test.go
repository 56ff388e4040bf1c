package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"amparo/internal/complaint"
	"amparo/internal/idempotency"
	"amparo/internal/keys"
)

// testClock is a clock a test moves.
type testClock struct {
	mu sync.Mutex
	at time.Time
}

func (c *testClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.at }

func (c *testClock) Add(d time.Duration) time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.at = c.at.Add(d)
	return c.at
}

// newClockedApp is a test app whose complaint service reads clock.
func newClockedApp(t *testing.T) (*testApp, *testClock) {
	t.Helper()
	clock := &testClock{at: time.Now()}
	return newTestApp(t, func(c *config) { c.clock = clock.Now }), clock
}

// submit submits complaintInput(key) as intake and returns the complaint's
// id and tracking code, or the response's error codes.
func (a *testApp) submit(key string) (id, code string, errs []string) {
	a.t.Helper()
	res := a.do(a.token("intake@igm.demo"), submitComplaintMutation, map[string]any{"input": complaintInput(key)})
	if len(res.Errors) > 0 {
		return "", "", res.codes()
	}
	var out submitted
	res.decode(a.t, &out)
	return out.SubmitComplaint.Complaint.ID, out.SubmitComplaint.TrackingCode, nil
}

// trackingForms are the ways a tracking code could show in a dump: as
// given, normalized, in lower case, and the plain SHA-256 of each (in the
// hex pg_dump writes bytea in).
func trackingForms(code string) []string {
	norm := strings.ReplaceAll(code, "-", "")
	var out []string
	for _, s := range []string{code, norm, strings.ToLower(code), strings.ToLower(norm)} {
		h := sha256.Sum256([]byte(s))
		out = append(out, s, hex.EncodeToString(h[:]))
	}
	return out
}

// trackingOf is what the key file of a keys a code to.
func (a *testApp) trackingOf(t *testing.T, code string) []byte {
	t.Helper()
	f, err := keys.LoadFile(a.cfg.IdentityKey)
	if err != nil {
		t.Fatal(err)
	}
	return f.Index().Tracking().Code(strings.ReplaceAll(code, "-", ""))
}

// A full dump after submitting complaints holds neither a tracking code nor
// its plain SHA-256 (the keyed value is there instead), while a retry
// within the day gets the same code and the code finds its complaint.
func TestTrackingCodesNotInDump(t *testing.T) {
	app, clock := newClockedApp(t)
	var ids, codes []string
	for _, key := range []string{"track-dump-1", "track-dump-2", "track-dump-3"} {
		id, code, errs := app.submit(key)
		if errs != nil {
			t.Fatalf("submit %s: %v", key, errs)
		}
		ids, codes = append(ids, id), append(codes, code)
	}
	clock.Add(23 * time.Hour)
	if id, code, errs := app.submit("track-dump-1"); errs != nil || id != ids[0] || code != codes[0] {
		t.Fatalf("a retry within the day got %s %q %v, want %s %q", id, code, errs, ids[0], codes[0])
	}
	dump := pgDump(t, app.db.OwnerURL)
	for _, code := range codes {
		for _, form := range trackingForms(code) {
			if bytes.Contains(dump, []byte(form)) {
				t.Errorf("the dump holds %q (of tracking code %s)", form, code)
			}
		}
		// The dump is the real thing: the keyed value is in it.
		if !bytes.Contains(dump, []byte(hex.EncodeToString(app.trackingOf(t, code)))) {
			t.Fatalf("the dump lacks the keyed tracking hash of %s: not a dump of this database?", code)
		}
		if st, _ := app.complaintStatus(code, "es"); st != "RECEIVED" {
			t.Errorf("complaintStatus(%s) = %q", code, st)
		}
	}
}

// The replay secret lives a day: a retry within it gets the same code,
// after it a CONFLICT and no second complaint; the janitor deletes the
// secret (only the expired ones), and the code still finds its complaint.
func TestReplaySecretExpires(t *testing.T) {
	app, clock := newClockedApp(t)
	start := clock.Now()
	id, code, errs := app.submit("replay-expiry-1")
	if errs != nil {
		t.Fatal(errs)
	}
	secrets := func(key string) int {
		return countRows(t, app.db.App, `SELECT count(*) FROM idempotency_secrets WHERE key = $1`, key)
	}
	if secrets("replay-expiry-1") != 1 {
		t.Fatal("no replay secret kept")
	}
	if n := countRows(t, app.db.App, `SELECT count(*) FROM idempotency_secrets
		WHERE position(convert_to($1, 'UTF8') IN sealed) > 0`, strings.ReplaceAll(code, "-", "")); n != 0 {
		t.Fatal("the replay secret holds the code in clear")
	}
	clock.Add(23*time.Hour + 59*time.Minute)
	t.Run("SameCodeWithinTheDay", func(t *testing.T) {
		if again, c, errs := app.submit("replay-expiry-1"); errs != nil || again != id || c != code {
			t.Fatalf("retry got %s %q %v", again, c, errs)
		}
	})
	// A second complaint, whose secret the sweep below must keep.
	_, code2, errs := app.submit("replay-expiry-2")
	if errs != nil {
		t.Fatal(errs)
	}
	clock.Add(2 * time.Minute) // the first secret is 24 h 1 min old
	t.Run("ErrSecretGoneBeforeTheSweep", func(t *testing.T) {
		if _, _, errs := app.submit("replay-expiry-1"); !slices.Equal(errs, []string{"CONFLICT"}) {
			t.Fatalf("a retry after the day got %v", errs)
		}
	})
	n, err := idempotency.Sweep(t.Context(), app.db.App, clock.Now())
	if err != nil || n != 1 {
		t.Fatalf("sweep at %s deleted %d: %v", clock.Now().Sub(start), n, err)
	}
	t.Run("SecretRowGone", func(t *testing.T) {
		if secrets("replay-expiry-1") != 0 {
			t.Fatal("the expired secret is still there")
		}
		if countRows(t, app.db.App, `SELECT count(*) FROM idempotency_keys WHERE key = 'replay-expiry-1'`) != 1 {
			t.Fatal("the idempotency row went with the secret: a retry would make a second complaint")
		}
	})
	t.Run("UnexpiredSecretKept", func(t *testing.T) {
		if secrets("replay-expiry-2") != 1 {
			t.Fatal("the sweep deleted a secret younger than a day")
		}
		if _, c, errs := app.submit("replay-expiry-2"); errs != nil || c != code2 {
			t.Fatalf("retry of the second got %q %v", c, errs)
		}
	})
	t.Run("ErrSecretGoneAfterTheSweep", func(t *testing.T) {
		if _, _, errs := app.submit("replay-expiry-1"); !slices.Equal(errs, []string{"CONFLICT"}) {
			t.Fatalf("a retry after the sweep got %v", errs)
		}
		if n := countRows(t, app.db.App, `SELECT count(*) FROM complaints`); n != 2 {
			t.Fatalf("complaints = %d: a retry made a new one", n)
		}
	})
	t.Run("StatusStillFound", func(t *testing.T) {
		if st, _ := app.complaintStatus(code, "en"); st != "RECEIVED" {
			t.Fatalf("complaintStatus after the secret went = %q", st)
		}
	})
}

// A sealed replay secret copied to another idempotency row does not open
// there: the retry fails rather than show another complaint's code.
func TestReplaySecretMovedDoesNotOpen(t *testing.T) {
	app := newTestApp(t)
	_, codeA, errs := app.submit("replay-move-a")
	if errs != nil {
		t.Fatal(errs)
	}
	if _, _, errs := app.submit("replay-move-b"); errs != nil {
		t.Fatal(errs)
	}
	if _, err := app.db.Owner(t).Exec(`UPDATE idempotency_secrets SET sealed = (SELECT sealed FROM idempotency_secrets WHERE key = 'replay-move-a')
		WHERE key = 'replay-move-b'`); err != nil {
		t.Fatal(err)
	}
	res := app.do(app.token("intake@igm.demo"), submitComplaintMutation, map[string]any{"input": complaintInput("replay-move-b")})
	if !slices.Equal(res.codes(), []string{"INTERNAL"}) || strings.Contains(string(res.Data), codeA) {
		t.Fatalf("a moved secret answered %v %s", res.codes(), res.Data)
	}
}

// Rows from before keying — a tracking code stored as its plain SHA-256, a
// replay secret kept in the clear — are keyed and sealed at start,
// resumably, and their codes keep working.
func TestTrackingLegacyKeyedAtStart(t *testing.T) {
	app := newTestApp(t)
	owner := app.db.Owner(t)
	exec := func(q string, args ...any) {
		t.Helper()
		if _, err := owner.Exec(q, args...); err != nil {
			t.Fatal(err)
		}
	}
	var codes []string
	keysUsed := []string{"legacy-1", "legacy-2", "legacy-3"}
	for _, key := range keysUsed {
		_, code, errs := app.submit(key)
		if errs != nil {
			t.Fatal(errs)
		}
		codes = append(codes, code)
	}
	// Put them back as they were stored before 00077 and 00078: the
	// constraints check rows written since, so lift them meanwhile.
	exec(`ALTER TABLE complaints DROP CONSTRAINT complaints_tracking_keyed`)
	exec(`ALTER TABLE idempotency_keys DROP CONSTRAINT idempotency_keys_no_plain_secret`)
	for i, code := range codes {
		plain := sha256.Sum256([]byte(strings.ReplaceAll(code, "-", "")))
		exec(`UPDATE complaints SET tracking_hash = $1, tracking_key = NULL WHERE tracking_hash = $2`, plain[:], app.trackingOf(t, code))
		exec(`DELETE FROM idempotency_secrets WHERE key = $1`, keysUsed[i])
		exec(`UPDATE idempotency_keys SET replay_secret = $1 WHERE key = $2`, code, keysUsed[i])
	}
	// The third was submitted two days ago: its secret is past keeping.
	exec(`UPDATE idempotency_keys SET created_at = now() - interval '2 days' WHERE key = 'legacy-3'`)
	exec(`ALTER TABLE complaints ADD CONSTRAINT complaints_tracking_keyed CHECK (tracking_key IS NOT NULL) NOT VALID`)
	exec(`ALTER TABLE idempotency_keys ADD CONSTRAINT idempotency_keys_no_plain_secret CHECK (replay_secret IS NULL) NOT VALID`)
	if st, _ := app.complaintStatus(codes[0], "es"); st != "" {
		t.Fatalf("a code stored as a plain SHA-256 answered %q before start-up keyed it", st)
	}

	// An interrupted start keyed one row...
	f, err := keys.LoadFile(app.cfg.IdentityKey)
	if err != nil {
		t.Fatal(err)
	}
	if n, err := complaint.KeyLegacyTracking(t.Context(), app.db.App, f.Index().Tracking(), 1); err != nil || n != 1 {
		t.Fatalf("one batch of one keyed %d: %v", n, err)
	}
	// ...and the next start does the rest.
	app.replica(t)
	t.Run("NothingLeft", func(t *testing.T) {
		if n := countRows(t, app.db.App, `SELECT count(*) FROM complaints WHERE tracking_key IS NULL`); n != 0 {
			t.Fatalf("%d tracking hashes left unkeyed", n)
		}
		if n := countRows(t, app.db.App, `SELECT count(*) FROM idempotency_keys WHERE replay_secret IS NOT NULL`); n != 0 {
			t.Fatalf("%d replay secrets left in the clear", n)
		}
		if n, err := complaint.KeyLegacyTracking(t.Context(), app.db.App, f.Index().Tracking(), 10); err != nil || n != 0 {
			t.Fatalf("a run after start-up keyed %d: %v", n, err)
		}
	})
	t.Run("CodesStillFindTheirComplaints", func(t *testing.T) {
		for _, code := range codes {
			if st, _ := app.complaintStatus(code, "es"); st != "RECEIVED" {
				t.Errorf("complaintStatus(%s) = %q", code, st)
			}
		}
	})
	t.Run("RetryGetsTheCodeSealedAtStart", func(t *testing.T) {
		if _, code, errs := app.submit("legacy-1"); errs != nil || code != codes[0] {
			t.Fatalf("retry got %q %v, want %q", code, errs, codes[0])
		}
	})
	t.Run("ErrSecretGoneForAnOldOne", func(t *testing.T) {
		if _, _, errs := app.submit("legacy-3"); !slices.Equal(errs, []string{"CONFLICT"}) {
			t.Fatalf("retry of a submission two days old got %v", errs)
		}
	})
	t.Run("DumpHoldsNoneOfThem", func(t *testing.T) {
		dump := pgDump(t, app.db.OwnerURL)
		for _, code := range codes {
			for _, form := range trackingForms(code) {
				if bytes.Contains(dump, []byte(form)) {
					t.Errorf("the dump holds %q (of tracking code %s)", form, code)
				}
			}
		}
	})
}

// Start-up refuses a key file whose index key (and so tracking key) is not
// the one the stored codes were keyed with, even when its KEKs open the
// data keys: keying old codes under it would lose them.
func TestTrackingWrongKeyStopsStartUp(t *testing.T) {
	app := newTestApp(t)
	if _, _, errs := app.submit("wrong-tracking-key"); errs != nil {
		t.Fatal(errs)
	}
	b, err := os.ReadFile(app.cfg.IdentityKey)
	if err != nil {
		t.Fatal(err)
	}
	fresh := filepath.Join(t.TempDir(), "fresh.keys")
	if err := keys.InitFile(fresh); err != nil {
		t.Fatal(err)
	}
	fb, err := os.ReadFile(fresh)
	if err != nil {
		t.Fatal(err)
	}
	index := regexp.MustCompile(`(?m)^index .*$`)
	other := filepath.Join(t.TempDir(), "other-index.keys")
	if err := os.WriteFile(other, index.ReplaceAll(b, index.Find(fb)), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := *app.cfg
	cfg.IdentityKey = other
	if _, err := build(t.Context(), &cfg, slog.New(slog.DiscardHandler)); err == nil || !strings.Contains(err.Error(), "AMPARO_IDENTITY_KEY") {
		t.Fatalf("start-up with another index key: %v", err)
	}
}
