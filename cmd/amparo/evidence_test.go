package main

// Evidence through the real GraphQL handler, PostgreSQL and MinIO: what is
// stored is what was sent, nothing is left behind by a failed upload, and
// what is stored cannot be removed or replaced.

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/minio/minio-go/v7"

	"amparo/internal/blob"
	"amparo/internal/devstack"
	"amparo/internal/evidence"
)

const downloadMutation = `mutation($id: ID!) { requestEvidenceDownload(evidenceId: $id) { url expiresAt sha256 } }`

const verifyMutation = `mutation($id: ID!) { verifyEvidence(evidenceId: $id) { intact computedSha256 } }`

// uploaded is the evidence an upload answers with.
type uploaded struct {
	ID, Filename, ContentType, SHA256 string
	Size                              int64
}

// uploadAs uploads content to caseID as email and returns the response and,
// when it succeeded, the evidence.
func (a *testApp) uploadAs(email, caseID, filename string, content io.Reader) (*gqlResponse, uploaded) {
	a.t.Helper()
	res := a.upload(a.token(email), uploadMutation, map[string]any{"caseId": caseID}, filename, content)
	var out struct {
		UploadEvidence *struct{ Evidence uploaded }
	}
	if len(res.Errors) == 0 {
		res.decode(a.t, &out)
		return res, out.UploadEvidence.Evidence
	}
	return res, uploaded{}
}

// mustUpload uploads content and fails the test unless it is recorded.
func (a *testApp) mustUpload(email, caseID, filename string, content []byte) uploaded {
	a.t.Helper()
	res, e := a.uploadAs(email, caseID, filename, bytes.NewReader(content))
	if len(res.Errors) > 0 || e.ID == "" {
		a.t.Fatalf("upload %s: %d %+v", filename, res.Status, res.Errors)
	}
	return e
}

// storedVersion returns the object key and version recorded for evidence id.
func (a *testApp) storedVersion(id string) (key, version string) {
	a.t.Helper()
	if err := a.db.App.QueryRow(`SELECT object_key, version_id FROM evidence WHERE id = $1`, id).Scan(&key, &version); err != nil {
		a.t.Fatal(err)
	}
	return key, version
}

// recorded counts what the database holds about uploads.
type recorded struct{ evidence, staging, uploadEvents int }

func (a *testApp) recorded() recorded {
	a.t.Helper()
	return recorded{
		evidence:     countRows(a.t, a.db.App, `SELECT count(*) FROM evidence`),
		staging:      countRows(a.t, a.db.App, `SELECT count(*) FROM evidence_staging`),
		uploadEvents: countRows(a.t, a.db.App, `SELECT count(*) FROM audit.events WHERE action = 'evidence:upload' AND outcome = 'SUCCESS'`),
	}
}

// stored counts what a bucket holds: object versions (delete markers
// included) and incomplete multipart uploads of the keys named.
type stored struct{ versions, incomplete int }

// bucketContents lists the bucket. MinIO lists incomplete multipart uploads
// only by exact object name, so those are counted for keys only (see
// watchStagedKeys).
func bucketContents(tb testing.TB, blobs *blob.Store, keys ...string) stored {
	tb.Helper()
	var s stored
	c := blobs.Client()
	for o := range c.ListObjects(context.Background(), blobs.Bucket(), minio.ListObjectsOptions{WithVersions: true, Recursive: true}) {
		if o.Err != nil {
			tb.Fatal(o.Err)
		}
		s.versions++
	}
	for _, key := range keys {
		for u := range c.ListIncompleteUploads(context.Background(), blobs.Bucket(), key, false) {
			if u.Err != nil {
				tb.Fatal(u.Err)
			}
			s.incomplete++
		}
	}
	return s
}

// watchStagedKeys records every object key an upload stages from now on,
// through a trigger on evidence_staging, so that a test can look for
// leftovers of uploads whose rows are gone. It returns the keys seen so far.
func (a *testApp) watchStagedKeys() func() []string {
	a.t.Helper()
	owner := a.db.Owner(a.t)
	for _, q := range []string{
		`CREATE TABLE staged_keys_seen (object_key text NOT NULL)`,
		`CREATE FUNCTION note_staged_key() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER AS $$
		 BEGIN INSERT INTO staged_keys_seen VALUES (NEW.object_key); RETURN NULL; END $$`,
		`CREATE TRIGGER note_staged_key AFTER INSERT ON evidence_staging FOR EACH ROW EXECUTE FUNCTION note_staged_key()`,
	} {
		if _, err := owner.Exec(q); err != nil {
			a.t.Fatal(err)
		}
	}
	return func() []string {
		a.t.Helper()
		var keys []string
		if err := owner.Select(&keys, `SELECT object_key FROM staged_keys_seen`); err != nil {
			a.t.Fatal(err)
		}
		return keys
	}
}

// janitor returns a janitor over the app's database and blobs, with a
// grace period short enough that any upload not in flight is due.
func (a *testApp) janitor(blobs *blob.Store, grace time.Duration) *evidence.Janitor {
	return evidence.NewJanitor(a.server.db, blobs, slog.New(slog.NewTextHandler(io.Discard, nil)),
		evidence.JanitorConfig{Grace: grace})
}

func sha256Hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// pdf returns a PDF-looking file of n bytes with random content, which
// ends as a PDF does.
func pdf(tb testing.TB, n int) []byte {
	tb.Helper()
	b := make([]byte, n)
	_, _ = rand.Read(b)
	copy(b, "%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
	copy(b[max(n-7, 0):], "\n%%EOF\n")
	return b
}

// docx returns a minimal Word document.
func docx(tb testing.TB) []byte {
	tb.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, name := range []string{"[Content_Types].xml", "_rels/.rels", "word/document.xml"} {
		w, _ := zw.Create(name)
		_, _ = w.Write([]byte(`<?xml version="1.0"?><x/>`))
	}
	if err := zw.Close(); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}

// get fetches url with plain net/http, as a browser would.
func get(tb testing.TB, u string) (*http.Response, []byte) {
	tb.Helper()
	res, err := http.Get(u)
	if err != nil {
		tb.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		tb.Fatal(err)
	}
	return res, b
}

func TestEvidenceRoundTripDownloadsIdenticalBytes(t *testing.T) {
	app := newTestApp(t)
	caseID := app.fileCase("officer@pgn.demo", "ev-roundtrip")
	// Larger than one part, so the upload takes the multipart path.
	content := pdf(t, blob.PartSize+3<<20+17)
	start := time.Now()
	e := app.mustUpload("officer@pgn.demo", caseID, "informe médico.pdf", content)
	if e.SHA256 != sha256Hex(content) || e.Size != int64(len(content)) || e.ContentType != "application/pdf" ||
		e.Filename != "informe médico.pdf" {
		t.Fatalf("evidence = %+v, want sha256 %s size %d", e, sha256Hex(content), len(content))
	}

	var out struct {
		RequestEvidenceDownload struct {
			URL, SHA256 string
			ExpiresAt   time.Time
		}
	}
	app.do(app.token("officer@pgn.demo"), downloadMutation, map[string]any{"id": e.ID}).decode(t, &out)
	d := out.RequestEvidenceDownload
	res, body := get(t, d.URL)
	if res.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d %s", d.URL, res.StatusCode, body)
	}
	if got := sha256Hex(body); got != e.SHA256 || d.SHA256 != e.SHA256 {
		t.Fatalf("downloaded sha256 %s, upload answered %s, download answered %s", got, e.SHA256, d.SHA256)
	}
	if cd := res.Header.Get("Content-Disposition"); !strings.HasPrefix(cd, "attachment") {
		t.Errorf("Content-Disposition %q: a browser would render the file", cd)
	}

	t.Run("ObjectLockedEncryptedAndFinal", func(t *testing.T) {
		key, version := app.storedVersion(e.ID)
		if version == "" {
			t.Fatal("no version id recorded")
		}
		ls, err := app.blobs.Inspect(t.Context(), key, version)
		if err != nil {
			t.Fatal(err)
		}
		wantUntil := start.AddDate(10, 0, 0)
		if ls.Mode != "GOVERNANCE" || ls.RetainUntil.Before(wantUntil.Add(-time.Second)) ||
			ls.RetainUntil.After(wantUntil.Add(time.Minute)) || !ls.LegalHold || ls.State != blob.StateFinal || !ls.Encrypted {
			t.Fatalf("stored object %+v, want GOVERNANCE until about %s, legal hold, final, encrypted", ls, wantUntil)
		}
		if r := app.recorded(); r != (recorded{evidence: 1, staging: 0, uploadEvents: 1}) {
			t.Fatalf("recorded %+v", r)
		}
	})

	t.Run("DownloadAudited", func(t *testing.T) {
		n := countRows(t, app.db.App, `SELECT count(*) FROM audit.events WHERE action = 'evidence:download' AND object_id = $1
			AND actor_id = $2`, e.ID, userID(t, app, "officer@pgn.demo"))
		if n != 1 {
			t.Fatalf("%d download events", n)
		}
	})

	t.Run("VerifyIntact", func(t *testing.T) {
		var v struct {
			VerifyEvidence struct {
				Intact         bool
				ComputedSha256 string
			}
		}
		app.do(app.token("supervisor@pgn.demo"), verifyMutation, map[string]any{"id": e.ID}).decode(t, &v)
		if !v.VerifyEvidence.Intact || v.VerifyEvidence.ComputedSha256 != e.SHA256 {
			t.Fatalf("verify = %+v", v.VerifyEvidence)
		}
	})
}

func TestEvidenceTypeDecidedByContent(t *testing.T) {
	app := newTestApp(t)
	caseID := app.fileCase("officer@pgn.demo", "ev-types")
	elf := append([]byte("\x7fELF\x02\x01\x01\x00"), make([]byte, 500)...)
	pe := make([]byte, 512)
	copy(pe, "MZ")
	binary.LittleEndian.PutUint32(pe[0x3c:], 0x80)
	copy(pe[0x80:], "PE\x00\x00")
	for _, c := range []struct {
		name, filename string
		content        []byte
		want           string // content type, or "" when refused
	}{
		{"PDFAccepted", "acta.pdf", pdf(t, 2000), "application/pdf"},
		{"TextAccepted", "declaracion.txt", []byte("Declaración de la niña.\n"), "text/plain; charset=utf-8"},
		{"JPEGUnderAnyNameAccepted", "foto.pdf", append([]byte{0xFF, 0xD8, 0xFF, 0xE0, 0, 0x10, 'J', 'F', 'I', 'F', 0}, make([]byte, 100)...), "image/jpeg"},
		{"DOCXAccepted", "informe.docx", docx(t), "application/vnd.openxmlformats-officedocument.wordprocessingml.document"},
		{"ELFNamedPDFRefused", "informe.pdf", elf, ""},
		{"PENamedPDFRefused", "informe.pdf", pe, ""},
		{"HTMLNamedTextRefused", "nota.txt", []byte("<!DOCTYPE html><html><body><script>fetch('/x')</script>"), ""},
		{"SVGNamedPNGRefused", "foto.png", []byte(`<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>`), ""},
		{"ShellScriptRefused", "nota.txt", []byte("#!/bin/sh\ncurl http://x | sh\n"), ""},
		{"PDFThenPERefused", "informe.pdf", append(append(pdf(t, 6000)[:5000], pe...), "\n%%EOF\n"...), ""},
		{"PDFWithoutTrailerRefused", "informe.pdf", pdf(t, 6000)[:5000], ""},
		{"TextThenHTARefused", "nota.txt", append(bytes.Repeat([]byte("Constancia de entrega.\n"), 300), `<HTA:APPLICATION/><script>x()</script>`...), ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			before := app.recorded()
			res, e := app.uploadAs("officer@pgn.demo", caseID, c.filename, bytes.NewReader(c.content))
			if c.want != "" {
				if len(res.Errors) > 0 || e.ContentType != c.want {
					t.Fatalf("got %+v %+v, want content type %q", e, res.Errors, c.want)
				}
				return
			}
			if !slices.Equal(res.codes(), []string{"UNSUPPORTED_MEDIA_TYPE"}) {
				t.Fatalf("got %v %+v", res.codes(), e)
			}
			if after := app.recorded(); after != before {
				t.Fatalf("refused upload recorded something: %+v → %+v", before, after)
			}
		})
	}
	t.Run("NothingStoredForRefusedFiles", func(t *testing.T) {
		// Four accepted files, one version each; the refused ones never
		// reached the store.
		if s := bucketContents(t, app.blobs); s != (stored{versions: 4}) {
			t.Fatalf("bucket holds %+v", s)
		}
	})
	t.Run("EmptyFileRefused", func(t *testing.T) {
		res, _ := app.uploadAs("officer@pgn.demo", caseID, "vacio.pdf", strings.NewReader(""))
		if !slices.Equal(res.codes(), []string{"BAD_USER_INPUT"}) {
			t.Fatalf("got %v", res.codes())
		}
	})
}

func TestEvidenceOverSizeLimitLeavesNothing(t *testing.T) {
	const limit = blob.PartSize + 4<<20 // past one whole part, so parts were uploaded before the limit hit
	app := newTestApp(t, func(c *config) { c.MaxUpload = limit })
	caseID := app.fileCase("officer@pgn.demo", "ev-too-large")
	staged := app.watchStagedKeys()

	t.Run("StreamedBodyStopsAtLimit", func(t *testing.T) {
		res, _ := app.uploadAs("officer@pgn.demo", caseID, "video.pdf", bytes.NewReader(pdf(t, 2*limit)))
		if !slices.Equal(res.codes(), []string{"PAYLOAD_TOO_LARGE"}) {
			t.Fatalf("got %d %v", res.Status, res.codes())
		}
	})
	t.Run("OneByteOverLimitRefused", func(t *testing.T) {
		res, _ := app.uploadAs("officer@pgn.demo", caseID, "video.pdf", bytes.NewReader(pdf(t, limit+1)))
		if !slices.Equal(res.codes(), []string{"PAYLOAD_TOO_LARGE"}) {
			t.Fatalf("got %d %v", res.Status, res.Errors)
		}
	})
	t.Run("DeclaredLengthRefusedUpFront", func(t *testing.T) {
		// A body whose Content-Length is over the limit is refused before
		// it is read.
		req, _ := http.NewRequest(http.MethodPost, app.srv.URL+"/graphql", io.LimitReader(zeroes{}, 2*limit))
		req.ContentLength = 2 * limit
		req.Header.Set("Content-Type", "multipart/form-data; boundary=x")
		res := app.send(req, app.token("officer@pgn.demo"))
		if res.Status != http.StatusRequestEntityTooLarge || !slices.Equal(res.codes(), []string{"PAYLOAD_TOO_LARGE"}) {
			t.Fatalf("got %d %v", res.Status, res.codes())
		}
	})
	if r := app.recorded(); r != (recorded{}) {
		t.Errorf("database holds %+v after refused uploads", r)
	}
	keys := staged()
	if len(keys) != 2 {
		t.Fatalf("%d uploads staged, want the 2 streamed ones", len(keys))
	}
	if s := bucketContents(t, app.blobs, keys...); s != (stored{}) {
		t.Errorf("bucket holds %+v after refused uploads", s)
	}
	t.Run("AtLimitAccepted", func(t *testing.T) {
		content := pdf(t, limit)
		if e := app.mustUpload("officer@pgn.demo", caseID, "video.pdf", content); e.SHA256 != sha256Hex(content) {
			t.Fatalf("evidence %+v", e)
		}
	})
}

// zeroes reads as an endless run of zero bytes.
type zeroes struct{}

func (zeroes) Read(p []byte) (int, error) { clear(p); return len(p), nil }

func TestEvidenceFilenameSanitised(t *testing.T) {
	app := newTestApp(t)
	caseID := app.fileCase("officer@pgn.demo", "ev-names")
	for _, c := range []struct{ name, filename, want string }{
		{"UnixTraversal", "../../../etc/cron.d/acta.txt", "acta.txt"},
		{"WindowsTraversal", `..\..\Windows\System32\acta.txt`, "acta.txt"},
		{"BidiOverride", "foto\u202Egpj.exe", "fotogpj_exe.txt"},
		{"ZeroWidthAndTab", "ac\u200bta\t.txt", "acta.txt"},
		{"DotsOnly", "..", "archivo.txt"},
		{"BatchNotKeptExecutable", "limpiar.bat", "limpiar_bat.txt"},
		{"HTANotKeptExecutable", "nota.hta", "nota_hta.txt"},
		{"TooLong", strings.Repeat("n", 300) + ".txt", strings.Repeat("n", 196) + ".txt"},
	} {
		t.Run(c.name, func(t *testing.T) {
			e := app.mustUpload("officer@pgn.demo", caseID, c.filename, []byte("constancia"))
			var stored, key string
			if err := app.db.App.QueryRow(`SELECT filename, object_key FROM evidence WHERE id = $1`, e.ID).Scan(&stored, &key); err != nil {
				t.Fatal(err)
			}
			if e.Filename != c.want || stored != c.want {
				t.Fatalf("filename answered %q, stored %q; want %q", e.Filename, stored, c.want)
			}
			if !strings.HasPrefix(key, "evidence/") || strings.Contains(key, "..") || strings.Contains(key, "acta") {
				t.Fatalf("object key %q depends on the file name", key)
			}
		})
	}
}

func TestEvidenceFailureAtCommitLeavesNothing(t *testing.T) {
	app := newTestApp(t)
	caseID := app.fileCase("officer@pgn.demo", "ev-commit-fails")
	owner := app.db.Owner(t)
	// A deferred constraint trigger fails the transaction at COMMIT: after
	// the object is stored and the row and audit event are written.
	for _, q := range []string{
		`CREATE FUNCTION fail_at_commit() RETURNS trigger LANGUAGE plpgsql AS $$
		 BEGIN RAISE EXCEPTION 'injected failure at commit'; END $$`,
		`CREATE CONSTRAINT TRIGGER evidence_fail_at_commit AFTER INSERT ON evidence
		 DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION fail_at_commit()`,
	} {
		if _, err := owner.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	staged := app.watchStagedKeys()
	res, _ := app.uploadAs("officer@pgn.demo", caseID, "acta.pdf", bytes.NewReader(pdf(t, blob.PartSize+1<<20)))
	if !slices.Equal(res.codes(), []string{"INTERNAL"}) {
		t.Fatalf("got %v", res.codes())
	}
	if r := app.recorded(); r != (recorded{}) {
		t.Fatalf("database holds %+v after the failed commit", r)
	}
	rep, err := app.janitor(app.blobs, time.Millisecond).Pass(t.Context())
	if err != nil || rep.Failed != 0 {
		t.Fatalf("janitor pass %+v: %v", rep, err)
	}
	if s := bucketContents(t, app.blobs, staged()...); s != (stored{}) || len(staged()) != 1 {
		t.Fatalf("bucket holds %+v after the failed commit and a janitor pass", s)
	}
}

func TestEvidenceJanitorFinishesInterruptedUploads(t *testing.T) {
	app := newTestApp(t)
	caseID := app.fileCase("officer@pgn.demo", "ev-janitor")
	owner := app.db.Owner(t)
	ctx := t.Context()
	newKey := func() string {
		b := make([]byte, 16)
		_, _ = rand.Read(b)
		return "evidence/" + hex.EncodeToString(b)
	}
	putStaged := func(key string, content []byte) blob.Object {
		t.Helper()
		obj, err := app.blobs.PutStaged(ctx, key, bytes.NewReader(content), "application/pdf")
		if err != nil {
			t.Fatal(err)
		}
		return obj
	}
	stage := func(key string, committed bool, age string) uuid.UUID {
		t.Helper()
		id := uuid.New()
		if _, err := owner.Exec(`INSERT INTO evidence_staging (object_key, evidence_id, committed, started_at)
			VALUES ($1, $2, $3, now() - $4::interval)`, key, id, committed, age); err != nil {
			t.Fatal(err)
		}
		return id
	}

	// A server died after the object was stored, before the record.
	abandoned := newKey()
	putStaged(abandoned, pdf(t, 1000))
	stage(abandoned, false, "25 hours")
	// A server died in the middle of a multipart upload.
	partial := newKey()
	defer func() {
		if s := bucketContents(t, app.blobs, partial); s.incomplete != 0 {
			t.Errorf("incomplete upload of %s left", partial)
		}
	}()
	core := minio.Core{Client: app.blobs.Client()}
	uploadID, err := core.NewMultipartUpload(ctx, app.blobs.Bucket(), partial, minio.PutObjectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	part := pdf(t, 5<<20)
	if _, err := core.PutObjectPart(ctx, app.blobs.Bucket(), partial, uploadID, 1, bytes.NewReader(part), int64(len(part)), minio.PutObjectPartOptions{}); err != nil {
		t.Fatal(err)
	}
	if s := bucketContents(t, app.blobs, partial); s.incomplete != 1 {
		t.Fatalf("the incomplete upload does not show: %+v", s)
	}
	stage(partial, false, "25 hours")
	// An upload still in progress over a slow link.
	inFlight := newKey()
	putStaged(inFlight, pdf(t, 1000))
	stage(inFlight, false, "2 hours")
	// A server died after the record committed, before locking the object.
	committed := newKey()
	content := pdf(t, 3000)
	obj := putStaged(committed, content)
	id := stage(committed, true, "1 minute")
	if _, err := owner.Exec(`INSERT INTO evidence (id, case_id, object_key, version_id, filename, content_type, size, sha256,
		uploaded_by, uploaded_at, retain_until)
		VALUES ($1, $2, $3, $4, 'acta.pdf', 'application/pdf', $5, $6, $7, now(), date_trunc('second', now()) + interval '10 years')`,
		id, caseID, committed, obj.VersionID, len(content), sha256Hex(content), userID(t, app, "officer@pgn.demo")); err != nil {
		t.Fatal(err)
	}

	rep, err := app.janitor(app.blobs, 0).Pass(ctx) // the default grace: 24 hours
	if err != nil || rep != (evidence.PassReport{Finalized: 1, Removed: 2}) {
		t.Fatalf("pass = %+v, %v; want 1 finalized, 2 removed", rep, err)
	}
	t.Run("AbandonedUploadsRemoved", func(t *testing.T) {
		for _, key := range []string{abandoned, partial} {
			if n := countRows(t, app.db.App, `SELECT count(*) FROM evidence_staging WHERE object_key = $1`, key); n != 0 {
				t.Errorf("staging row of %s kept", key)
			}
		}
		// Left: the upload in flight and the recorded one.
		if s := bucketContents(t, app.blobs, abandoned, partial); s != (stored{versions: 2}) {
			t.Fatalf("bucket holds %+v", s)
		}
	})
	t.Run("UploadInFlightKept", func(t *testing.T) {
		if n := countRows(t, app.db.App, `SELECT count(*) FROM evidence_staging WHERE object_key = $1`, inFlight); n != 1 {
			t.Fatal("staging row of the upload in flight removed")
		}
	})
	t.Run("RecordedUploadLocked", func(t *testing.T) {
		ls, err := app.blobs.Inspect(ctx, committed, obj.VersionID)
		if err != nil {
			t.Fatal(err)
		}
		if ls.Mode != "GOVERNANCE" || ls.RetainUntil.Before(time.Now().AddDate(10, 0, -1)) || !ls.LegalHold || ls.State != blob.StateFinal {
			t.Fatalf("object %+v, want locked and final", ls)
		}
		if n := countRows(t, app.db.App, `SELECT count(*) FROM evidence_staging WHERE object_key = $1`, committed); n != 0 {
			t.Fatal("staging row of the locked object kept")
		}
	})
	t.Run("SecondPassIdle", func(t *testing.T) {
		if rep, err := app.janitor(app.blobs, 0).Pass(ctx); err != nil || rep != (evidence.PassReport{}) {
			t.Fatalf("pass = %+v, %v", rep, err)
		}
	})
}

func TestEvidenceStorageStoppedMidUpload(t *testing.T) {
	// A MinIO of this test's own: stopping the shared one would fail the
	// tests running beside this one.
	bin, err := devstack.FindMinIO(os.Getenv)
	if err != nil {
		t.Skip(err)
	}
	dir := t.TempDir()
	ctx := t.Context()
	mi, err := devstack.StartMinIO(ctx, bin, dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = mi.Stop() })
	s3 := blob.Config{Endpoint: mi.Endpoint, AccessKey: mi.AccessKey, SecretKey: mi.SecretKey, Bucket: "evidence-stop"}
	app := newTestApp(t, func(c *config) { c.S3 = s3 })
	caseID := app.fileCase("officer@pgn.demo", "ev-minio-stops")
	staged := app.watchStagedKeys()

	// The file stalls until MinIO is down, then goes on. The server has by
	// then read all but what the socket buffers hold (a few MiB), so its
	// multipart upload has started and parts are on their way.
	reached, resume := make(chan struct{}), make(chan struct{})
	content := io.MultiReader(bytes.NewReader(pdf(t, 3*blob.PartSize+2<<20)),
		&gate{reached: reached, resume: resume}, io.LimitReader(zeroes{}, 2*blob.PartSize))
	done := make(chan *gqlResponse, 1)
	go func() {
		res, _ := app.uploadAs("officer@pgn.demo", caseID, "video.pdf", content)
		done <- res
	}()
	select {
	case <-reached:
	case res := <-done:
		t.Fatalf("upload ended before MinIO stopped: %+v", res.Errors)
	}
	if err := mi.Stop(); err != nil {
		t.Logf("stop: %v", err)
	}
	stopped := time.Now()
	close(resume)
	res := <-done
	if !slices.Equal(res.codes(), []string{"UNAVAILABLE"}) {
		t.Fatalf("got %v %+v", res.codes(), res.Errors)
	}
	if took := time.Since(stopped); took > 10*time.Second {
		t.Errorf("UNAVAILABLE after %s", took)
	}

	t.Run("StorageDownRefusedQuickly", func(t *testing.T) {
		start := time.Now()
		res, _ := app.uploadAs("officer@pgn.demo", caseID, "acta.pdf", bytes.NewReader(pdf(t, 1000)))
		if !slices.Equal(res.codes(), []string{"UNAVAILABLE"}) {
			t.Fatalf("got %v", res.codes())
		}
		if took := time.Since(start); took > 5*time.Second {
			t.Errorf("UNAVAILABLE after %s", took)
		}
	})
	// Both uploads' staging rows stay: their cleanup needs the storage too.
	r := app.recorded()
	if r != (recorded{staging: 2}) {
		t.Fatalf("recorded %+v while storage was down, want only 2 staging rows", r)
	}

	t.Run("JanitorClearsAfterRestart", func(t *testing.T) {
		// Same directory, same credentials; a new port.
		mi2, err := devstack.StartMinIO(ctx, bin, dir, nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = mi2.Stop() })
		s3.Endpoint = mi2.Endpoint
		blobs, err := blob.New(s3)
		if err != nil {
			t.Fatal(err)
		}
		if s := bucketContents(t, blobs, staged()...); s.incomplete != 1 {
			t.Fatalf("bucket holds %+v: the interrupted multipart upload should still be there", s)
		}
		rep, err := app.janitor(blobs, time.Millisecond).Pass(ctx)
		if err != nil || rep.Failed != 0 || rep.Removed != r.staging {
			t.Fatalf("pass = %+v, %v; want %d removed", rep, err, r.staging)
		}
		if r := app.recorded(); r != (recorded{}) {
			t.Fatalf("database holds %+v", r)
		}
		if s := bucketContents(t, blobs, staged()...); s != (stored{}) {
			t.Fatalf("bucket holds %+v", s)
		}
	})
}

// gate reads as nothing: the first Read signals reached and waits for
// resume, then reports EOF so that a MultiReader moves on.
type gate struct {
	reached, resume chan struct{}
}

func (g *gate) Read([]byte) (int, error) {
	close(g.reached)
	<-g.resume
	return 0, io.EOF
}

func TestEvidenceLockRefusesDeletionAndOverwrite(t *testing.T) {
	app := newTestApp(t)
	caseID := app.fileCase("officer@pgn.demo", "ev-locked")
	content := pdf(t, 4096)
	e := app.mustUpload("officer@pgn.demo", caseID, "acta.pdf", content)
	key, version := app.storedVersion(e.ID)
	c, bucket, ctx := app.blobs.Client(), app.blobs.Bucket(), t.Context()

	t.Run("DeleteVersionRefused", func(t *testing.T) {
		if err := c.RemoveObject(ctx, bucket, key, minio.RemoveObjectOptions{VersionID: version}); err == nil {
			t.Fatal("a locked version was deleted")
		}
	})
	t.Run("DeleteBypassingGovernanceRefused", func(t *testing.T) {
		// The legal hold stands even for whoever may bypass governance.
		err := c.RemoveObject(ctx, bucket, key, minio.RemoveObjectOptions{VersionID: version, GovernanceBypass: true})
		if err == nil {
			t.Fatal("a version under legal hold was deleted")
		}
	})
	t.Run("RetentionCannotBeShortened", func(t *testing.T) {
		mode, until := minio.Governance, time.Now().Add(time.Hour)
		err := c.PutObjectRetention(ctx, bucket, key, minio.PutObjectRetentionOptions{Mode: &mode, RetainUntilDate: &until, VersionID: version})
		if err == nil {
			t.Fatal("retention was shortened")
		}
	})
	t.Run("PurgeRefused", func(t *testing.T) {
		if err := app.blobs.Purge(ctx, key); err == nil {
			t.Fatal("purge removed a locked object")
		}
	})
	t.Run("OverwriteLeavesStoredVersion", func(t *testing.T) {
		// S3 cannot refuse a write to a key; with versioning it becomes a
		// new version, and a delete only a marker: the recorded version,
		// which downloads are pinned to, stays as it was.
		if _, err := c.PutObject(ctx, bucket, key, strings.NewReader("%PDF-1.7 falsificado"), -1, minio.PutObjectOptions{}); err != nil {
			t.Fatal(err)
		}
		if err := c.RemoveObject(ctx, bucket, key, minio.RemoveObjectOptions{}); err != nil {
			t.Fatal(err)
		}
		var out struct{ RequestEvidenceDownload struct{ URL string } }
		app.do(app.token("officer@pgn.demo"), downloadMutation, map[string]any{"id": e.ID}).decode(t, &out)
		res, body := get(t, out.RequestEvidenceDownload.URL)
		if res.StatusCode != http.StatusOK || sha256Hex(body) != e.SHA256 {
			t.Fatalf("download after overwrite: %d sha256 %s, want %s", res.StatusCode, sha256Hex(body), e.SHA256)
		}
		var v struct{ VerifyEvidence struct{ Intact bool } }
		app.do(app.token("officer@pgn.demo"), verifyMutation, map[string]any{"id": e.ID}).decode(t, &v)
		if !v.VerifyEvidence.Intact {
			t.Fatal("verification failed after overwrite")
		}
	})
}

func TestEvidenceOtherInstitutionNotFound(t *testing.T) {
	app := newTestApp(t)
	caseID := app.fileCase("officer@pgn.demo", "ev-scope")
	e := app.mustUpload("officer@pgn.demo", caseID, "acta.pdf", pdf(t, 1000))
	before, objects := app.recorded(), bucketContents(t, app.blobs)

	t.Run("UploadNotFound", func(t *testing.T) {
		res, _ := app.uploadAs("officer@sbs.demo", caseID, "x.pdf", bytes.NewReader(pdf(t, 1000)))
		if !slices.Equal(res.codes(), []string{"NOT_FOUND"}) {
			t.Fatalf("got %v", res.codes())
		}
		if r, s := app.recorded(), bucketContents(t, app.blobs); r != before || s != objects {
			t.Fatalf("refused upload left %+v %+v", r, s)
		}
	})
	for name, doc := range map[string]string{"DownloadNotFound": downloadMutation, "VerifyNotFound": verifyMutation} {
		t.Run(name, func(t *testing.T) {
			res := app.do(app.token("officer@sbs.demo"), doc, map[string]any{"id": e.ID})
			if !slices.Equal(res.codes(), []string{"NOT_FOUND"}) || strings.Contains(string(res.Data), "http") {
				t.Fatalf("got %v %s", res.codes(), res.Data)
			}
		})
	}
	t.Run("NoURLIssued", func(t *testing.T) {
		n := countRows(t, app.db.App, `SELECT count(*) FROM audit.events WHERE action = 'evidence:download' AND outcome = 'SUCCESS'`)
		if n != 0 {
			t.Fatalf("%d downloads recorded", n)
		}
	})
}

func TestEvidenceDownloadURLExpires(t *testing.T) {
	app := newTestApp(t)
	caseID := app.fileCase("officer@pgn.demo", "ev-expiry")
	e := app.mustUpload("officer@pgn.demo", caseID, "acta.pdf", pdf(t, 1000))
	var out struct {
		RequestEvidenceDownload struct {
			URL       string
			ExpiresAt time.Time
		}
	}
	issued := time.Now()
	app.do(app.token("officer@pgn.demo"), downloadMutation, map[string]any{"id": e.ID}).decode(t, &out)
	d := out.RequestEvidenceDownload
	u, err := url.Parse(d.URL)
	if err != nil {
		t.Fatal(err)
	}
	key, version := app.storedVersion(e.ID)

	t.Run("ValidAtMostFiveMinutes", func(t *testing.T) {
		secs, err := strconv.Atoi(u.Query().Get("X-Amz-Expires"))
		if err != nil || secs <= 0 || secs > 300 {
			t.Fatalf("X-Amz-Expires = %q", u.Query().Get("X-Amz-Expires"))
		}
		if d.ExpiresAt.After(issued.Add(5*time.Minute+time.Second)) || d.ExpiresAt.Before(issued) {
			t.Fatalf("expiresAt %s, issued %s", d.ExpiresAt, issued)
		}
	})
	t.Run("PinnedToVersion", func(t *testing.T) {
		if u.Query().Get("versionId") != version {
			t.Fatalf("versionId %q, want %q", u.Query().Get("versionId"), version)
		}
		if strings.Contains(d.URL, caseID) {
			t.Fatal("the URL names the case")
		}
	})
	t.Run("TamperedURLRefused", func(t *testing.T) {
		q := u.Query()
		q.Set("X-Amz-Expires", "604800")
		tampered := *u
		tampered.RawQuery = q.Encode()
		if res, _ := get(t, tampered.String()); res.StatusCode != http.StatusForbidden {
			t.Fatalf("tampered URL answered %d", res.StatusCode)
		}
	})
	t.Run("ExpiredURLRefused", func(t *testing.T) {
		// The same presigning as requestEvidenceDownload, with a TTL short
		// enough to wait out.
		short, err := app.blobs.PresignDownload(t.Context(), key, version, "acta.pdf", time.Second)
		if err != nil {
			t.Fatal(err)
		}
		if res, _ := get(t, short); res.StatusCode != http.StatusOK {
			t.Fatalf("fresh URL answered %d", res.StatusCode)
		}
		time.Sleep(2 * time.Second)
		if res, body := get(t, short); res.StatusCode != http.StatusForbidden {
			t.Fatalf("expired URL answered %d %s", res.StatusCode, body)
		}
	})
}

func TestEvidenceVerifyAllFindsAlteredAndMissing(t *testing.T) {
	app := newTestApp(t)
	caseID := app.fileCase("officer@pgn.demo", "ev-verify-all")
	var ids []string
	for i := range 3 {
		ids = append(ids, app.mustUpload("officer@pgn.demo", caseID, "acta.pdf", pdf(t, 1000+i)).ID)
	}
	ctx := t.Context()
	rep, err := evidence.VerifyAll(ctx, app.server.db, app.blobs)
	if err != nil || !rep.OK() || rep.Checked != 3 || rep.Bytes != 3000+0+1+2 {
		t.Fatalf("VerifyAll = %+v, %v", rep, err)
	}

	owner := app.db.Owner(t)
	if _, err := owner.Exec(`UPDATE evidence SET sha256 = repeat('0', 64) WHERE id = $1`, ids[0]); err != nil {
		t.Fatal(err)
	}
	missing := uuid.New()
	if _, err := owner.Exec(`INSERT INTO evidence (id, case_id, object_key, version_id, filename, content_type, size, sha256,
		uploaded_by, uploaded_at, retain_until)
		SELECT $1, case_id, 'evidence/perdido', $3, filename, content_type, size, sha256, uploaded_by, uploaded_at, retain_until
		FROM evidence WHERE id = $2`, missing, ids[1], uuid.NewString()); err != nil {
		t.Fatal(err)
	}
	rep, err = evidence.VerifyAll(ctx, app.server.db, app.blobs)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, p := range rep.Problems {
		got[p.EvidenceID.String()] = p.Kind
	}
	want := map[string]string{ids[0]: evidence.ProblemAltered, missing.String(): evidence.ProblemMissing}
	if rep.Checked != 4 || len(got) != 2 || got[ids[0]] != want[ids[0]] || got[missing.String()] != want[missing.String()] {
		t.Fatalf("VerifyAll = %+v, want problems %v", rep, want)
	}
}

// Whoever may not reach a piece of evidence gets the same answer for a real
// id as for one that never existed: nothing is read before the guard has
// decided, so the answer cannot tell the two apart.
func TestEvidenceNoExistenceOracle(t *testing.T) {
	app := newTestApp(t)
	caseID := app.fileCase("officer@pgn.demo", "ev-oracle")
	e := app.mustUpload("officer@pgn.demo", caseID, "acta.pdf", pdf(t, 1000))
	for _, doc := range []string{downloadMutation, verifyMutation} {
		for _, caller := range []string{"", "intake@igm.demo", "officer@sbs.demo", "admin@amparo.demo"} {
			tok := ""
			if caller != "" {
				tok = app.token(caller)
			}
			real := app.do(tok, doc, map[string]any{"id": e.ID}).codes()
			unknown := app.do(tok, doc, map[string]any{"id": uuid.NewString()}).codes()
			if len(real) != 1 || !slices.Equal(real, unknown) {
				t.Errorf("%q: real evidence answers %v, unknown evidence %v", caller, real, unknown)
			}
		}
	}
}
