package main

import (
	"net/http"
	"os"
	"testing"
	"time"

	"amparo/internal/blob"
	"amparo/internal/devstack"
)

// downloadSHA asks for evidence id's download URL, fetches it and returns
// the SHA-256 of what came back.
func (a *testApp) downloadSHA(t *testing.T, id string) string {
	t.Helper()
	var out struct{ RequestEvidenceDownload struct{ URL string } }
	a.do(a.token("officer@pgn.demo"), downloadMutation, map[string]any{"id": id}).decode(t, &out)
	res, body := get(t, out.RequestEvidenceDownload.URL)
	if res.StatusCode != http.StatusOK {
		t.Fatalf("download: %s", res.Status)
	}
	return sha256Hex(body)
}

// TestEvidenceWithAStorageNodeDown runs Amparo on a 4-node distributed
// MinIO on loopback and stops one node: evidence uploaded before and after
// downloads intact and verifies, uploads go on.
func TestEvidenceWithAStorageNodeDown(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a 4-node MinIO")
	}
	bin, err := devstack.FindMinIO(os.Getenv)
	if err != nil {
		t.Skip(err)
	}
	cluster, err := devstack.StartMinIOCluster(t.Context(), bin, t.TempDir(), 4, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cluster.Stop() })
	entry := cluster.Nodes[0]
	app := newTestApp(t, func(c *config) {
		c.S3 = blob.Config{Endpoint: entry.Endpoint, AccessKey: entry.AccessKey, SecretKey: entry.SecretKey, Bucket: "amparo-evidence"}
	})
	caseID := app.fileCase("officer@pgn.demo", "storage-ha")
	before := pdf(t, blob.PartSize+1<<20) // multipart, across the erasure set
	e1 := app.mustUpload("officer@pgn.demo", caseID, "antes.pdf", before)

	if err := cluster.Nodes[3].Stop(); err != nil {
		t.Logf("stopping node 3: %v", err)
	}
	stopped := time.Now()
	after := pdf(t, 3<<20)
	e2 := app.mustUpload("officer@pgn.demo", caseID, "después.pdf", after)
	t.Logf("upload with a node down acknowledged %s after the stop", time.Since(stopped).Round(time.Millisecond))

	for _, c := range []struct {
		e       uploaded
		content []byte
	}{{e1, before}, {e2, after}} {
		if got := app.downloadSHA(t, c.e.ID); got != sha256Hex(c.content) {
			t.Errorf("%s downloaded with sha256 %s, want %s", c.e.Filename, got, sha256Hex(c.content))
		}
		var v struct{ VerifyEvidence struct{ Intact bool } }
		app.do(app.token("officer@pgn.demo"), verifyMutation, map[string]any{"id": c.e.ID}).decode(t, &v)
		if !v.VerifyEvidence.Intact {
			t.Errorf("%s does not verify with a node down", c.e.Filename)
		}
	}
}
