package main

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"amparo/internal/blob/blobtest"
	"amparo/internal/postgres/postgrestest"
)

// TestProfiling: /debug/pprof answers on the listener of its own that
// `amparo dev` opens on loopback; `amparo serve` without
// AMPARO_PPROF_LISTEN opens none; the public listener never answers it.
func TestProfiling(t *testing.T) {
	t.Run("DevServesProfilesOnLoopback", func(t *testing.T) {
		at := startServe(t, func(c *config) { devConfig(c, "127.0.0.1:0", "127.0.0.1:0") })
		if at.Profiling == "" || !loopback(at.Profiling) {
			t.Fatalf("profiling listener %q, want one on loopback", at.Profiling)
		}
		status, body := httpGet(t, "http://"+at.Profiling+"/debug/pprof/goroutine?debug=1")
		if status != http.StatusOK || !strings.Contains(body, "goroutine profile:") {
			t.Errorf("goroutine profile: status %d, %.80q", status, body)
		}
		if status, _ := httpGet(t, "http://"+at.API+"/debug/pprof/"); status != http.StatusNotFound {
			t.Errorf("public listener answers /debug/pprof/ with %d, want 404", status)
		}
	})
	t.Run("ServeWithoutConfigurationHasNone", func(t *testing.T) {
		at := startServe(t)
		if at.Profiling != "" {
			t.Fatalf("serve opened a profiling listener at %s without AMPARO_PPROF_LISTEN", at.Profiling)
		}
		for _, path := range []string{"/debug/pprof/", "/debug/pprof/goroutine?debug=1", "/debug/pprof/cmdline"} {
			if status, _ := httpGet(t, "http://"+at.API+path); status != http.StatusNotFound {
				t.Errorf("public listener answers %s with %d, want 404", path, status)
			}
		}
	})
}

// startServe runs serve, as `amparo serve` does, on free loopback ports
// against a fresh database and bucket, until the test ends; it returns
// where the server listens.
func startServe(t *testing.T, tweak ...func(*config)) listening {
	t.Helper()
	db := postgrestest.New(t)
	_, s3 := blobtest.New(t)
	env, _ := serverEnv(t, db, s3)
	cfg, err := loadConfig(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	cfg.Listen = "127.0.0.1:0"
	for _, f := range tweak {
		f(cfg)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan listening, 1)
	done := make(chan error, 1)
	go func() { done <- serve(ctx, cfg, slog.New(slog.DiscardHandler), func(at listening) { ready <- at }) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	select {
	case at := <-ready:
		return at
	case err := <-done:
		t.Fatalf("serve stopped before listening: %v", err)
		return listening{}
	}
}

// httpGet returns the status and body of a GET.
func httpGet(t *testing.T, url string) (int, string) {
	t.Helper()
	res, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}
