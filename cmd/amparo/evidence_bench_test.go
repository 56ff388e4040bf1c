package main

// The evidence upload benchmark of issue 6: a 1 GiB upload through the
// GraphQL endpoint of the real `amparo serve`, run as a child process so
// that its resident memory can be read from /proc, against a direct
// minio-go PutObject of the same file to the same MinIO in the same run.
//
//	go test ./cmd/amparo/ -run '^$' -bench EvidenceUpload -benchtime 1x
//
// AMPARO_BENCH_UPLOAD_MIB changes the size (default 1024). The benchmark
// fails when the server's memory grows by more than 64 MiB or its
// throughput falls under 70% of the direct upload's.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/textproto"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"

	"amparo/internal/blob"
	"amparo/internal/blob/blobtest"
	"amparo/internal/postgres/postgrestest"
)

// Bounds the issue sets.
const (
	maxMemoryGrowth = 64 << 20
	minSpeedRatio   = 0.70
)

func BenchmarkEvidenceUpload(b *testing.B) {
	size := int64(1 << 30)
	if v := os.Getenv("AMPARO_BENCH_UPLOAD_MIB"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			b.Fatalf("AMPARO_BENCH_UPLOAD_MIB=%q", v)
		}
		size = int64(n) << 20
	}
	srv := startServer(b, size+1<<20)
	file := sampleFile(b, size)
	caseID := srv.app.fileCase("officer@pgn.demo", "bench-"+strconv.FormatInt(time.Now().UnixNano(), 36))
	token := srv.app.token("officer@pgn.demo")

	// Growth is measured from the server's resident memory when idle,
	// before the first upload, to its peak over all of them: memory that
	// one upload leaves behind counts against the next.
	idle := srv.status(b, "VmRSS")
	var direct, api float64
	var peak int64
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		d := directPut(b, srv.blobs, file, size)
		a, p := srv.upload(b, token, caseID, file, size)
		direct, api = direct+d.Seconds(), api+a.Seconds()
		peak = max(peak, p)
		b.Logf("upload %d: direct %.0f MB/s, graphql %.0f MB/s, server RSS %d MiB (idle %d MiB)", i+1,
			float64(size)/1e6/d.Seconds(), float64(size)/1e6/a.Seconds(), peak>>20, idle>>20)
	}
	b.StopTimer()
	growth, hwm := float64(peak-idle), float64(srv.status(b, "VmHWM"))
	mb := float64(size) / 1e6 * float64(b.N)
	b.ReportMetric(mb/direct, "direct-MB/s")
	b.ReportMetric(mb/api, "graphql-MB/s")
	b.ReportMetric(direct/api, "speed-ratio")
	b.ReportMetric(growth/(1<<20), "rss-growth-MiB")
	b.ReportMetric(hwm/(1<<20), "rss-peak-MiB")
	b.SetBytes(size)
	if growth > maxMemoryGrowth {
		b.Errorf("server memory grew by %.1f MiB during a %d MiB upload; the bound is %d MiB",
			growth/(1<<20), size>>20, maxMemoryGrowth>>20)
	}
	if direct/api < minSpeedRatio {
		b.Errorf("through GraphQL %.0f MB/s, direct %.0f MB/s: %.0f%%, under %.0f%%",
			mb/api, mb/direct, 100*direct/api, 100*minSpeedRatio)
	}
}

// server is `amparo serve` running as a child process.
type server struct {
	app   *testApp // only for do, fileCase and token, over HTTP
	url   string
	pid   int
	blobs *blob.Store
}

// startServer runs `amparo serve` over a fresh database and bucket; it
// stops when the benchmark ends.
func startServer(b *testing.B, maxUpload int64) *server {
	b.Helper()
	db := postgrestest.New(b)
	blobs, s3 := blobtest.New(b)
	env, issuer := serverEnv(b, db, s3)
	env["AMPARO_MAX_UPLOAD_BYTES"] = strconv.FormatInt(maxUpload, 10)
	p := serveProcess(b, "server", env)
	return &server{
		app:   &testApp{t: b, srv: &httptest.Server{URL: p.url}, db: db, blobs: blobs, issuer: issuer},
		url:   p.url,
		pid:   p.cmd.Process.Pid,
		blobs: blobs,
	}
}

// status reads a size field (such as VmRSS) of the server's
// /proc/PID/status, in bytes.
func (s *server) status(tb testing.TB, field string) int64 {
	tb.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", s.pid))
	if err != nil {
		tb.Fatalf("server memory: %v", err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			if err != nil {
				tb.Fatalf("%s: %q", field, v)
			}
			return kb << 10
		}
	}
	tb.Fatalf("no %s in /proc/%d/status", field, s.pid)
	return 0
}

// upload sends file through the GraphQL endpoint as one multipart request
// and returns how long it took and the server's peak resident memory,
// sampled every 5 ms.
func (s *server) upload(b *testing.B, token, caseID, file string, size int64) (time.Duration, int64) {
	b.Helper()
	f, err := os.Open(file)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	var head bytes.Buffer
	mw := multipart.NewWriter(&head)
	ops, _ := json.Marshal(map[string]any{"query": uploadMutation, "variables": map[string]any{"caseId": caseID, "file": nil}})
	_ = mw.WriteField("operations", string(ops))
	_ = mw.WriteField("map", `{"0":["variables.file"]}`)
	h := textproto.MIMEHeader{}
	h.Set("Content-Disposition", `form-data; name="0"; filename="video.pdf"`)
	h.Set("Content-Type", "application/octet-stream")
	if _, err := mw.CreatePart(h); err != nil {
		b.Fatal(err)
	}
	tail := "\r\n--" + mw.Boundary() + "--\r\n"
	body := io.MultiReader(bytes.NewReader(head.Bytes()), f, strings.NewReader(tail))
	req, _ := http.NewRequest(http.MethodPost, s.url+"/graphql", body)
	req.ContentLength = int64(head.Len()) + size + int64(len(tail))
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Authorization", "Bearer "+token)
	client := &http.Client{Transport: &http.Transport{WriteBufferSize: 256 << 10}}

	var (
		peak int64
		wg   sync.WaitGroup
	)
	ctx, stop := context.WithCancel(context.Background())
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(5 * time.Millisecond)
		defer t.Stop()
		for {
			peak = max(peak, s.status(b, "VmRSS"))
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}()
	start := time.Now()
	res, err := client.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	raw, _ := io.ReadAll(res.Body)
	res.Body.Close()
	took := time.Since(start)
	stop()
	wg.Wait()
	var out struct {
		Data struct {
			UploadEvidence struct{ Evidence struct{ Size int64 } }
		}
		Errors []gqlError
	}
	if err := json.Unmarshal(raw, &out); err != nil || len(out.Errors) > 0 || out.Data.UploadEvidence.Evidence.Size != size {
		b.Fatalf("upload: %d %s", res.StatusCode, raw)
	}
	return took, peak
}

// directPut uploads file with minio-go's PutObject, as any client of MinIO
// would, and returns how long it took.
func directPut(b *testing.B, blobs *blob.Store, file string, size int64) time.Duration {
	b.Helper()
	f, err := os.Open(file)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	start := time.Now()
	_, err = blobs.Client().PutObject(context.Background(), blobs.Bucket(), "bench/direct-"+strconv.FormatInt(start.UnixNano(), 36),
		f, size, minio.PutObjectOptions{ContentType: "application/pdf"})
	if err != nil {
		b.Fatal(err)
	}
	return time.Since(start)
}

// sampleFile writes size bytes that sniff and end as a PDF and do not
// compress.
func sampleFile(b *testing.B, size int64) string {
	b.Helper()
	path := filepath.Join(b.TempDir(), "sample.pdf")
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	w := bufio.NewWriterSize(f, 1<<20)
	_, _ = w.WriteString("%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
	src := mrand.NewChaCha8([32]byte{'a', 'm', 'p', 'a', 'r', 'o'})
	const trailer = "\n%%EOF\n"
	if _, err := io.CopyN(w, src, size-int64(w.Buffered())-int64(len(trailer))); err != nil {
		b.Fatal(err)
	}
	_, _ = w.WriteString(trailer)
	if err := w.Flush(); err != nil {
		b.Fatal(err)
	}
	return path
}
