// Package blobtest gives each test a fresh bucket, with object locking, on a
// real MinIO server: started once per test process from the binary that
// devstack.FindMinIO finds, unless AMPARO_TEST_S3_ENDPOINT (with
// AMPARO_TEST_S3_ACCESS_KEY and AMPARO_TEST_S3_SECRET_KEY) names one.
package blobtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"os"
	"sync"
	"testing"
	"time"

	"amparo/internal/blob"
	"amparo/internal/devstack"
)

type server struct {
	cfg blob.Config
	mi  *devstack.MinIO
	tmp string
}

var (
	once   sync.Once
	shared *server
	errUp  error
)

func start() (*server, error) {
	if ep := os.Getenv("AMPARO_TEST_S3_ENDPOINT"); ep != "" {
		return &server{cfg: blob.Config{Endpoint: ep, AccessKey: os.Getenv("AMPARO_TEST_S3_ACCESS_KEY"),
			SecretKey: os.Getenv("AMPARO_TEST_S3_SECRET_KEY")}}, nil
	}
	bin, err := devstack.FindMinIO(os.Getenv)
	if err != nil {
		return nil, err
	}
	tmp, err := os.MkdirTemp("", "amparo-minio-")
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	mi, err := devstack.StartMinIO(ctx, bin, tmp, log)
	if err != nil {
		os.RemoveAll(tmp)
		return nil, err
	}
	return &server{mi: mi, tmp: tmp, cfg: blob.Config{Endpoint: mi.Endpoint, AccessKey: mi.AccessKey, SecretKey: mi.SecretKey}}, nil
}

// Stop stops the server this process started, if any. Call it from
// TestMain after m.Run.
func Stop() {
	if shared != nil && shared.mi != nil {
		_ = shared.mi.Stop()
		os.RemoveAll(shared.tmp)
	}
}

// Server returns the MinIO of this test process, for tests that stop and
// restart it. It is nil when the server is external.
func Server(tb testing.TB) *devstack.MinIO {
	tb.Helper()
	once.Do(func() { shared, errUp = start() })
	if errUp != nil {
		tb.Fatalf("blobtest: %v", errUp)
	}
	return shared.mi
}

// New returns a store over a fresh bucket with object locking. Objects are
// left behind at the end: locked ones cannot be removed, which is the point.
func New(tb testing.TB) (*blob.Store, blob.Config) {
	tb.Helper()
	Server(tb)
	cfg := shared.cfg
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	cfg.Bucket = "t-" + hex.EncodeToString(b)
	s, err := blob.New(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	if err := s.EnsureBucket(context.Background()); err != nil {
		tb.Fatalf("blobtest: %v", err)
	}
	return s, cfg
}
