package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jmoiron/sqlx"
	"golang.org/x/mod/sumdb/note"

	"amparo/internal/audit"
	"amparo/internal/auth"
	"amparo/internal/blob/blobtest"
	"amparo/internal/postgres"
	"amparo/internal/postgres/postgrestest"
)

// auditEnv is a sealed audit trail, with a sealer running as serve would
// run it, and the environment `amparo audit` reads.
func auditEnv(t *testing.T) (*postgrestest.DB, *audit.Signer, map[string]string) {
	t.Helper()
	ctx := context.Background()
	db := postgrestest.New(t)
	_, s3 := blobtest.New(t)
	keyPath := filepath.Join(t.TempDir(), "audit-signing.key")
	signer, err := audit.LoadOrCreateSigner(keyPath, true)
	if err != nil {
		t.Fatal(err)
	}
	acfg := s3
	acfg.Bucket = audit.BucketName(s3.Bucket)
	store, err := audit.OpenBucket(ctx, acfg, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	sealer := audit.NewSealer(db.Sealer, store, signer, nil, audit.WithPollInterval(10*time.Millisecond), audit.WithCheckpointInterval(0))
	sctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); _ = sealer.Run(sctx) }()
	t.Cleanup(func() { cancel(); <-done })

	actx := auth.With(ctx, &auth.Principal{UserID: uuid.New(), Institution: "PGN", Roles: []string{"officer"}})
	for i := range 20 {
		err := postgres.WithTx(actx, db.App, func(tx *sqlx.Tx) error {
			return audit.Record(actx, tx, audit.Event{Action: "case:file", ObjectType: "case", ObjectID: fmt.Sprint(i)})
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		var events, top int64
		if err := db.App.QueryRowx(`SELECT (SELECT count(*) FROM audit.events), (SELECT coalesce(max(tree_size), 0) FROM audit.checkpoints)`).Scan(&events, &top); err != nil {
			t.Fatal(err)
		}
		if events == top {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d events, %d checkpointed", events, top)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return db, signer, map[string]string{
		"AMPARO_DATABASE_URL":      db.AppURL,
		"AMPARO_S3_ENDPOINT":       s3.Endpoint,
		"AMPARO_S3_ACCESS_KEY":     s3.AccessKey,
		"AMPARO_S3_SECRET_KEY":     s3.SecretKey,
		"AMPARO_S3_BUCKET":         s3.Bucket,
		"AMPARO_AUDIT_SIGNING_KEY": keyPath,
	}
}

func runAudit(env map[string]string, args ...string) (stdout, stderr string, err error) {
	var out, errb bytes.Buffer
	err = auditCmd(context.Background(), args, func(k string) string { return env[k] }, &out, &errb)
	return out.String(), errb.String(), err
}

func TestAuditCommand(t *testing.T) {
	db, signer, env := auditEnv(t)

	t.Run("VerifyIntactExitsZero", func(t *testing.T) {
		out, _, err := runAudit(env, "verify")
		if err != nil || !strings.Contains(out, "audit trail intact") {
			t.Fatalf("verify: %v\n%s", err, out)
		}
		t.Log(out)
	})
	t.Run("VerifierKeyAloneSuffices", func(t *testing.T) {
		e := map[string]string{}
		for k, v := range env {
			e[k] = v
		}
		delete(e, "AMPARO_AUDIT_SIGNING_KEY")
		e["AMPARO_AUDIT_VERIFIER_KEY"] = signer.VerifierKey()
		if out, _, err := runAudit(e, "verify", "--unsealed-after", "30s"); err != nil {
			t.Fatalf("verify: %v\n%s", err, out)
		}
	})
	t.Run("CheckpointPrintsSignedNote", func(t *testing.T) {
		out, _, err := runAudit(env, "checkpoint")
		if err != nil {
			t.Fatal(err)
		}
		c, err := audit.OpenCheckpoint([]byte(out), note.VerifierList(signer.Verifier()))
		if err != nil || c.Origin != signer.Name() || c.Size == 0 {
			t.Fatalf("checkpoint %q: %+v, %v", out, c, err)
		}
		// An oversight body keeps it, and checks the log against it later.
		kept := filepath.Join(t.TempDir(), "kept.checkpoint")
		if err := os.WriteFile(kept, []byte(out), 0o600); err != nil {
			t.Fatal(err)
		}
		if out, _, err := runAudit(env, "verify", "--checkpoint", kept); err != nil {
			t.Fatalf("verify --checkpoint: %v\n%s", err, out)
		}
	})
	t.Run("ErrConfigNamesVariable", func(t *testing.T) {
		for _, drop := range []string{"AMPARO_AUDIT_SIGNING_KEY", "AMPARO_S3_ENDPOINT", "AMPARO_DATABASE_URL"} {
			e := map[string]string{}
			for k, v := range env {
				if k != drop {
					e[k] = v
				}
			}
			_, _, err := runAudit(e, "verify")
			var ce *configError
			if !errors.As(err, &ce) {
				t.Fatalf("without %s: %v, want a configuration error", drop, err)
			}
			if !strings.Contains(err.Error(), strings.TrimPrefix(drop, "AMPARO_")) && drop != "AMPARO_AUDIT_SIGNING_KEY" {
				t.Fatalf("without %s: %v does not name it", drop, err)
			}
		}
	})
	t.Run("EditedRowExitsOneNamingIt", func(t *testing.T) {
		var id int64
		if err := db.App.Get(&id, `SELECT max(id) - 3 FROM audit.events`); err != nil {
			t.Fatal(err)
		}
		owner := db.Owner(t)
		for _, q := range []string{
			`ALTER TABLE audit.events DISABLE TRIGGER ALL`,
			fmt.Sprintf(`UPDATE audit.events SET object_id = 'rewritten' WHERE id = %d`, id),
			`ALTER TABLE audit.events ENABLE ALWAYS TRIGGER events_no_update_delete`,
		} {
			if _, err := owner.Exec(q); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
		}
		out, _, err := runAudit(env, "verify")
		var ex exitError
		if !errors.As(err, &ex) || ex != 1 {
			t.Fatalf("verify of an edited trail: %v, want exit status 1\n%s", err, out)
		}
		if want := fmt.Sprintf("first bad event %d", id); !strings.Contains(out, want) || !strings.Contains(out, "object_id") {
			t.Fatalf("output does not name event %d and the field:\n%s", id, out)
		}
		t.Log(out)
	})
}

func TestAuditKeygen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "k")
	out, _, err := runAudit(nil, "keygen", "--origin", "amparo.audit/pdh-gt", path)
	if err != nil {
		t.Fatal(err)
	}
	s, err := audit.LoadOrCreateSigner(path, false)
	if err != nil {
		t.Fatal(err)
	}
	if strings.TrimSpace(out) != s.VerifierKey() || s.Name() != "amparo.audit/pdh-gt" {
		t.Fatalf("printed %q for a key with verifier %q", out, s.VerifierKey())
	}
	if _, _, err := runAudit(nil, "keygen", path); err == nil {
		t.Fatal("keygen overwrote a key")
	}
}

// TestAuditVerifyProof checks an inclusion proof saved as the web console
// saves it (the auditProof answer, as JSON) with nothing but the file and
// the verifier key, as an oversight body would, away from Amparo.
func TestAuditVerifyProof(t *testing.T) {
	app := newTestApp(t)
	keyPath := app.cfg.AuditKey
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() { defer close(done); _ = app.server.sealer.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	caseID := app.fileCase("officer@pgn.demo", "verify-proof-0001")
	pdh := app.token("oversight@pdh.demo")
	var events struct {
		AuditEvents struct {
			Edges []struct{ Node struct{ ID string } }
		}
	}
	app.do(pdh, `query($id: String) { auditEvents(filter: { objectId: $id, actions: ["case:file"] }, first: 1) { edges { node { id } } } }`,
		map[string]any{"id": caseID}).decode(t, &events)
	if len(events.AuditEvents.Edges) != 1 {
		t.Fatalf("no case:file event for case %s", caseID)
	}
	id := events.AuditEvents.Edges[0].Node.ID
	var proof map[string]any
	deadline := time.Now().Add(20 * time.Second)
	for {
		r := app.do(pdh, `query($id: ID!) { auditProof(eventId: $id) { eventId leafIndex canonical treeSize hashes checkpoint } }`, map[string]any{"id": id})
		if len(r.Errors) == 0 {
			var d struct{ AuditProof map[string]any }
			r.decode(t, &d)
			proof = d.AuditProof
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("event %s not sealed in 20 s: %v", id, r.codes())
		}
		time.Sleep(100 * time.Millisecond)
	}
	save := func(p map[string]any) string {
		f := filepath.Join(t.TempDir(), "proof.json")
		b, _ := json.Marshal(p)
		if err := os.WriteFile(f, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return f
	}
	signer, err := audit.LoadOrCreateSigner(keyPath, false)
	if err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"AMPARO_AUDIT_VERIFIER_KEY": signer.VerifierKey()}

	t.Run("DownloadedProofHolds", func(t *testing.T) {
		out, _, err := runAudit(env, "verify-proof", save(proof))
		if err != nil || !strings.Contains(out, "proof verified: event "+id) {
			t.Fatalf("verify-proof: %v\n%s", err, out)
		}
		t.Log(out)
	})
	for name, tamper := range map[string]func(p map[string]any){
		"OtherEventExitsOne": func(p map[string]any) { p["eventId"] = "1" + id },
		"EditedBytesExitOne": func(p map[string]any) {
			p["canonical"] = base64.StdEncoding.EncodeToString([]byte("AMPARO-AUDIT edited"))
		},
		"OtherLeafExitsOne": func(p map[string]any) { p["leafIndex"] = p["leafIndex"].(float64) + 1 },
		"UnsignedNoteExitsOne": func(p map[string]any) {
			p["checkpoint"] = strings.SplitN(p["checkpoint"].(string), "\n\n", 2)[0] + "\n"
		},
	} {
		t.Run(name, func(t *testing.T) {
			p := map[string]any{}
			for k, v := range proof {
				p[k] = v
			}
			tamper(p)
			out, _, err := runAudit(env, "verify-proof", save(p))
			var ex exitError
			if !errors.As(err, &ex) || ex != 1 || !strings.Contains(out, "NOT verified") {
				t.Fatalf("verify-proof of a tampered proof: %v, want exit status 1\n%s", err, out)
			}
		})
	}
}
