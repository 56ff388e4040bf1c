package main

import (
	"crypto/x509"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"amparo/internal/blob"
	"amparo/internal/devstack"
)

// The second site gets each evidence object Amparo stores on the first:
// the same version, encrypted at rest, and locked as the original, as
// MinIO itself reports the replica's retention, legal hold and tag: once
// finalized, with the legal hold lifted as a case closes and placed again
// as it reopens, and finalized without a hold (a closed case's evidence).
func TestReplicaKeepsLocks(t *testing.T) {
	bin, err := devstack.FindMinIO(os.Getenv)
	if err != nil {
		t.Skip(err)
	}
	dir := t.TempDir()
	caFile, err := throwawayTLS(filepath.Join(dir, "two"))
	if err != nil {
		t.Fatal(err)
	}
	// blob's client trusts the system's roots, which SSL_CERT_FILE names
	// (read at the process's first TLS handshake, after this).
	t.Setenv("SSL_CERT_FILE", caFile)
	pem, _ := os.ReadFile(caFile)
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(pem)
	_ = os.MkdirAll(filepath.Join(dir, "one", "certs", "CAs"), 0o755)
	_ = os.WriteFile(filepath.Join(dir, "one", "certs", "CAs", "ca.crt"), pem, 0o644)
	ctx := t.Context()
	one, err := startSite(ctx, bin, "one", filepath.Join(dir, "one"), false, roots)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(one.stop)
	two, err := startSite(ctx, bin, "two", filepath.Join(dir, "two"), true, roots)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(two.stop)
	if err := replicate(ctx, one, two, roots, "drill-bucket"); err != nil {
		t.Fatal(err)
	}
	cfg := func(s *site) blob.Config {
		return blob.Config{Endpoint: s.endpoint, AccessKey: s.accessKey, SecretKey: s.secretKey, Bucket: "drill-bucket", UseTLS: s.tls}
	}
	src, err := blob.New(cfg(one))
	if err != nil {
		t.Fatal(err)
	}
	if err := src.EnsureBucket(ctx); err != nil {
		t.Fatal(err)
	}
	dst, err := blob.New(cfg(two))
	if err != nil {
		t.Fatal(err)
	}
	// replicaMatches waits for the replica of the version to be locked as
	// the original is, and fails the test when it is not within 20 s.
	replicaMatches := func(t *testing.T, obj blob.Object, step string) {
		t.Helper()
		want, err := src.Inspect(ctx, obj.Key, obj.VersionID)
		if err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		var got blob.LockState
		for {
			if got, err = dst.Inspect(ctx, obj.Key, obj.VersionID); err == nil && got == want {
				t.Logf("%s: replica locked as the original after %s: %+v", step, time.Since(start).Round(time.Millisecond), got)
				return
			}
			if time.Since(start) > 20*time.Second {
				t.Fatalf("%s: after 20 s the replica is %+v (%v), want %+v", step, got, err, want)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	// stage uploads as Amparo does: tagged staged, no lock.
	stage := func(t *testing.T, key string) blob.Object {
		obj, err := src.PutStaged(ctx, key, strings.NewReader("%PDF-1.7 hola"), "application/pdf")
		if err != nil {
			t.Fatal(err)
		}
		return obj
	}
	until := time.Now().Add(time.Hour).UTC().Truncate(time.Second)

	t.Run("OpenCase", func(t *testing.T) {
		obj := stage(t, "evidence/open")
		if err := src.Finalize(ctx, obj.Key, obj.VersionID, blob.Lock{RetainUntil: until, LegalHold: true}); err != nil {
			t.Fatal(err)
		}
		replicaMatches(t, obj, "finalized")
		if got, _ := dst.Inspect(ctx, obj.Key, obj.VersionID); got.Mode != "GOVERNANCE" || !got.RetainUntil.Equal(until) || !got.LegalHold ||
			got.State != blob.StateFinal || !got.Encrypted {
			t.Fatalf("replica %+v, want governance retention until %s, a legal hold, final, encrypted", got, until)
		}
		for _, hold := range []bool{false, true} { // the case closes, then reopens
			if err := src.SetLegalHold(ctx, obj.Key, obj.VersionID, hold); err != nil {
				t.Fatal(err)
			}
			replicaMatches(t, obj, fmt.Sprintf("legal hold %t", hold))
		}
	})
	t.Run("ClosedCase", func(t *testing.T) {
		obj := stage(t, "evidence/closed")
		if err := src.Finalize(ctx, obj.Key, obj.VersionID, blob.Lock{RetainUntil: until}); err != nil {
			t.Fatal(err)
		}
		replicaMatches(t, obj, "finalized without a hold")
		if got, _ := dst.Inspect(ctx, obj.Key, obj.VersionID); got.Mode != "GOVERNANCE" || got.LegalHold {
			t.Fatalf("replica %+v, want governance retention and no legal hold", got)
		}
	})
}
