package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"amparo/internal/audit"
	"amparo/internal/blob"
	"amparo/internal/evidence"
	"amparo/internal/postgres"
)

const auditUsage = `usage: amparo audit <command>

commands:
  verify [--checkpoint FILE] [--unsealed-after 1m]
        check the whole audit trail: every event against its sealed bytes, the
        Merkle tree against every signed checkpoint, the checkpoints against
        their locked copies in the bucket (and against FILE, a checkpoint kept
        elsewhere); exit 0 only if all holds, else exit 1 naming the first bad
        event and what is wrong
  checkpoint
        print the newest signed checkpoint (keep it: verify --checkpoint)
  keygen [--origin amparo.audit/NAME] [--if-missing] FILE
        write a new signing key to FILE and print its verifier key
  verify-proof FILE
        check, without the server or the database, an event's inclusion proof
        as the web console downloads it (the auditProof query's answer, JSON):
        the checkpoint signed by the verifier key, the event's sealed bytes in
        its tree; exit 0 and print the event only if it holds, else exit 1

environment: AMPARO_MIGRATE_DATABASE_URL or AMPARO_DATABASE_URL; AMPARO_S3_ENDPOINT,
AMPARO_S3_ACCESS_KEY, AMPARO_S3_SECRET_KEY, AMPARO_S3_BUCKET (the audit bucket is its
name with "-audit"), AMPARO_S3_USE_TLS; AMPARO_AUDIT_VERIFIER_KEY (one or more verifier
keys) or AMPARO_AUDIT_SIGNING_KEY (the signing key file, whose verifier key is used)
`

// auditCmd runs `amparo audit ...`.
func auditCmd(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, auditUsage)
		return exitError(2)
	}
	switch args[0] {
	case "verify":
		return auditVerifyCmd(ctx, args[1:], getenv, stdout, stderr)
	case "checkpoint":
		return auditCheckpointCmd(ctx, args[1:], getenv, stdout, stderr)
	case "keygen":
		return auditKeygenCmd(args[1:], stdout, stderr)
	case "verify-proof":
		return auditVerifyProofCmd(args[1:], getenv, stdout, stderr)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, auditUsage)
		return nil
	}
	fmt.Fprintf(stderr, "amparo audit: unknown command %q\n%s", args[0], auditUsage)
	return exitError(2)
}

func auditVerifyCmd(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("audit verify", flag.ContinueOnError)
	fs.SetOutput(stderr)
	external := fs.String("checkpoint", "", "a signed checkpoint kept outside Amparo, which the log must contain")
	unsealed := fs.Duration("unsealed-after", time.Minute, "how long an event may wait to be sealed")
	deep := fs.Bool("deep", false, "also re-read every evidence object and check its SHA-256, encryption and lock")
	if err := fs.Parse(args); err != nil {
		return exitError(2)
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "amparo audit verify: unexpected %q\n%s", fs.Arg(0), auditUsage)
		return exitError(2)
	}
	o := audit.VerifyOptions{UnsealedAfter: *unsealed}
	if *external != "" {
		b, err := os.ReadFile(*external)
		if err != nil {
			return fmt.Errorf("--checkpoint: %w", err)
		}
		o.External = b
	}
	var err error
	if o.Verifiers, err = auditVerifiers(getenv); err != nil {
		return err
	}
	if o.Store, err = auditStore(ctx, getenv); err != nil {
		return err
	}
	db, err := auditDB(ctx, getenv)
	if err != nil {
		return err
	}
	defer db.Close()

	rep, err := audit.Verify(ctx, db, o)
	if err != nil {
		return err
	}
	rate := float64(rep.Leaves) / max(rep.Elapsed.Seconds(), 1e-9)
	if rep.OK() && *deep {
		if err := verifyEvidence(ctx, db, getenv, stdout); err != nil {
			return err
		}
	}
	if rep.OK() {
		fmt.Fprintf(stdout, "audit trail intact: %d events, %d sealed, %d waiting to be sealed; %d checkpoints, each locked in the bucket\n",
			rep.Events, rep.Leaves, rep.Pending, rep.Checkpoints)
		if rep.Latest.Size > 0 {
			fmt.Fprintf(stdout, "newest checkpoint: %s, %d leaves, root %s\n", rep.Latest.Origin, rep.Latest.Size, rep.Latest.Root)
		}
		fmt.Fprintf(stdout, "verified in %s (%.0f events/s)\n", rep.Elapsed.Round(time.Millisecond), rate)
		return nil
	}
	first := rep.Problems[0]
	if first.EventID != 0 {
		fmt.Fprintf(stdout, "audit trail NOT intact: first bad event %d", first.EventID)
		if first.Leaf >= 0 {
			fmt.Fprintf(stdout, " (leaf %d)", first.Leaf)
		}
		fmt.Fprintf(stdout, ": %s: %s\n", first.Kind, first.Detail)
	} else {
		fmt.Fprintf(stdout, "audit trail NOT intact: %s: %s\n", first.Kind, first.Detail)
	}
	if n := len(rep.Problems) - 1; n > 0 {
		more := ""
		if rep.Truncated {
			more = " (and more, not listed)"
		}
		fmt.Fprintf(stdout, "%d more problems%s:\n", n, more)
		for _, p := range rep.Problems[1:] {
			fmt.Fprintf(stdout, "  %s\n", p)
		}
	}
	return exitError(1)
}

func auditCheckpointCmd(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) > 0 {
		fmt.Fprint(stderr, auditUsage)
		return exitError(2)
	}
	db, err := auditDB(ctx, getenv)
	if err != nil {
		return err
	}
	defer db.Close()
	var msg string
	if err := db.GetContext(ctx, &msg, `SELECT note FROM audit.checkpoints ORDER BY tree_size DESC LIMIT 1`); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return errors.New("audit: no checkpoint yet (is a sealer running?)")
		}
		return fmt.Errorf("audit: read checkpoint: %w", err)
	}
	// Check it when a key is at hand: whoever keeps the printout trusts it.
	if vs, err := auditVerifiers(getenv); err == nil {
		if _, err := audit.OpenCheckpoint([]byte(msg), note.VerifierList(vs...)); err != nil {
			return fmt.Errorf("the newest checkpoint in the database does not verify: %w", err)
		}
	} else {
		fmt.Fprintln(stderr, "amparo audit: checkpoint not verified (set AMPARO_AUDIT_VERIFIER_KEY or AMPARO_AUDIT_SIGNING_KEY)")
	}
	_, err = io.WriteString(stdout, msg)
	return err
}

func auditKeygenCmd(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("audit keygen", flag.ContinueOnError)
	fs.SetOutput(stderr)
	origin := fs.String("origin", "amparo.audit/log", "the log's name: the checkpoints' origin and the key's name")
	ifMissing := fs.Bool("if-missing", false, "do nothing when FILE already holds a key (for provisioning that runs on every start)")
	if err := fs.Parse(args); err != nil || fs.NArg() != 1 {
		fmt.Fprint(stderr, auditUsage)
		return exitError(2)
	}
	if fi, err := os.Stat(fs.Arg(0)); *ifMissing && err == nil && fi.Size() > 0 {
		return nil
	}
	skey, vkey, err := audit.GenerateKey(*origin)
	if err != nil {
		return err
	}
	f, err := os.OpenFile(fs.Arg(0), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("audit keygen: %w", err)
	}
	if _, err := f.WriteString(skey + "\n"); err != nil {
		f.Close()
		return fmt.Errorf("audit keygen: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("audit keygen: %w", err)
	}
	fmt.Fprintln(stdout, vkey)
	return nil
}

// auditDB connects to the database: as the owner when
// AMPARO_MIGRATE_DATABASE_URL is set, else as the application.
func auditDB(ctx context.Context, getenv func(string) string) (*sqlx.DB, error) {
	url := strings.TrimSpace(getenv("AMPARO_MIGRATE_DATABASE_URL"))
	if url == "" {
		url = strings.TrimSpace(getenv("AMPARO_DATABASE_URL"))
	}
	if url == "" {
		return nil, &configError{"AMPARO_DATABASE_URL", "(or AMPARO_MIGRATE_DATABASE_URL) is required"}
	}
	db, err := postgres.Open(ctx, url)
	if err != nil {
		return nil, fmt.Errorf("AMPARO_DATABASE_URL: %w", err)
	}
	return db, nil
}

// auditVerifiers are the keys checkpoints must be signed by.
func auditVerifiers(getenv func(string) string) ([]note.Verifier, error) {
	if v := strings.TrimSpace(getenv("AMPARO_AUDIT_VERIFIER_KEY")); v != "" {
		vs, err := audit.ParseVerifiers(v)
		if err != nil {
			return nil, &configError{"AMPARO_AUDIT_VERIFIER_KEY", err.Error()}
		}
		return vs, nil
	}
	if path := strings.TrimSpace(getenv("AMPARO_AUDIT_SIGNING_KEY")); path != "" {
		s, err := audit.LoadOrCreateSigner(path, false)
		if err != nil {
			return nil, &configError{"AMPARO_AUDIT_SIGNING_KEY", err.Error()}
		}
		return []note.Verifier{s.Verifier()}, nil
	}
	return nil, &configError{"AMPARO_AUDIT_VERIFIER_KEY", "(or AMPARO_AUDIT_SIGNING_KEY) is required"}
}

// auditStore is the audit bucket, read only.
// verifyEvidence is the --deep part of verify: every evidence object
// re-read and checked against its record.
func verifyEvidence(ctx context.Context, db *sqlx.DB, getenv func(string) string, stdout io.Writer) error {
	cfg, err := loadConfig(getenv)
	if err != nil {
		return err
	}
	blobs, err := blob.New(cfg.S3)
	if err != nil {
		return fmt.Errorf("AMPARO_S3_ENDPOINT: %w", err)
	}
	rep, err := evidence.VerifyAll(ctx, db, blobs)
	if err != nil {
		return err
	}
	if rep.OK() {
		fmt.Fprintf(stdout, "evidence intact: %d objects re-read (%d bytes), %d waiting to be locked\n", rep.Checked, rep.Bytes, rep.Pending)
		return nil
	}
	for _, p := range rep.Problems {
		fmt.Fprintf(stdout, "evidence NOT intact: %s (case %s): %s: %s\n", p.EvidenceID, p.CaseID, p.Kind, p.Detail)
	}
	return exitError(1)
}

func auditStore(ctx context.Context, getenv func(string) string) (*audit.Bucket, error) {
	cfg := blob.Config{Bucket: "amparo-evidence"}
	for _, r := range []struct {
		dst  *string
		name string
	}{
		{&cfg.Endpoint, "AMPARO_S3_ENDPOINT"},
		{&cfg.AccessKey, "AMPARO_S3_ACCESS_KEY"},
		{&cfg.SecretKey, "AMPARO_S3_SECRET_KEY"},
	} {
		if *r.dst = strings.TrimSpace(getenv(r.name)); *r.dst == "" {
			return nil, &configError{r.name, "is required: verify compares every checkpoint with its locked copy"}
		}
	}
	if b := strings.TrimSpace(getenv("AMPARO_S3_BUCKET")); b != "" {
		cfg.Bucket = b
	}
	var err error
	if cfg.UseTLS, err = boolVar(getenv, "AMPARO_S3_USE_TLS", false); err != nil {
		return nil, err
	}
	cfg.Bucket = audit.BucketName(cfg.Bucket)
	store, err := audit.LookupBucket(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("AMPARO_S3_ENDPOINT: %w", err)
	}
	return store, nil
}

// proofFile is an inclusion proof as the console downloads it: the
// auditProof query's fields (ids as strings, bytes and hashes base64).
type proofFile struct {
	EventID    json.Number `json:"eventId"`
	LeafIndex  int64       `json:"leafIndex"`
	Canonical  []byte      `json:"canonical"`
	TreeSize   int64       `json:"treeSize"`
	Hashes     []tlog.Hash `json:"hashes"`
	Checkpoint string      `json:"checkpoint"`
}

// auditVerifyProofCmd runs `amparo audit verify-proof FILE`: it needs only
// the file and the verifier key (AMPARO_AUDIT_VERIFIER_KEY), so an
// oversight body can check an event away from Amparo.
func auditVerifyProofCmd(args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) != 1 {
		fmt.Fprint(stderr, "usage: amparo audit verify-proof FILE\n")
		return exitError(2)
	}
	verifiers, err := auditVerifiers(getenv)
	if err != nil {
		return err
	}
	raw, err := os.ReadFile(args[0])
	if err != nil {
		return err
	}
	var f proofFile
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(&f); err != nil {
		fmt.Fprintf(stdout, "proof NOT verified: %s is not a proof file: %v\n", args[0], err)
		return exitError(1)
	}
	id, err := strconv.ParseInt(f.EventID.String(), 10, 64)
	if err != nil {
		fmt.Fprintf(stdout, "proof NOT verified: event id %q\n", f.EventID)
		return exitError(1)
	}
	e, err := audit.VerifyProof(&audit.Proof{EventID: id, LeafIndex: f.LeafIndex, Canonical: f.Canonical, TreeSize: f.TreeSize,
		Hashes: f.Hashes, Checkpoint: f.Checkpoint}, verifiers...)
	if err != nil {
		fmt.Fprintf(stdout, "proof NOT verified: %v\n", err)
		return exitError(1)
	}
	fmt.Fprintf(stdout, "proof verified: event %d (%s %s %s, %s) is leaf %d of the signed log of %d events\n",
		e.ID, e.Action, e.ObjectType, e.ObjectID, e.OccurredAt.UTC().Format(time.RFC3339), f.LeafIndex, f.TreeSize)
	return nil
}
