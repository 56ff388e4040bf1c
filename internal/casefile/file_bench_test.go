package casefile

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"

	"github.com/google/uuid"
	"github.com/jmoiron/sqlx"

	"amparo/internal/alert"
	"amparo/internal/audit"
	"amparo/internal/auth"
	"amparo/internal/authz"
	"amparo/internal/child"
	"amparo/internal/keys"
	"amparo/internal/postgres/postgrestest"
	"amparo/internal/reference"
	"amparo/policies"
)

func TestMain(m *testing.M) {
	code := m.Run()
	postgrestest.Stop()
	os.Exit(code)
}

// benchService is a Service over a fresh database, and the demo officer's
// context to file as.
func benchService(b *testing.B) (*Service, context.Context) {
	b.Helper()
	db := postgrestest.New(b)
	ctx := context.Background()
	if err := authz.SyncPolicy(ctx, db.App, policies.Policy); err != nil {
		b.Fatal(err)
	}
	az, err := authz.New(policies.Model, authz.NewDB(db.App))
	if err != nil {
		b.Fatal(err)
	}
	cat, err := reference.Load(ctx, db.App)
	if err != nil {
		b.Fatal(err)
	}
	p, err := auth.NewUsers(db.App).BySubject(ctx, "officer@pgn.demo")
	if err != nil {
		b.Fatal(err)
	}
	g := authz.NewGuard(az, db.App, audit.Denials{DB: db.App}, slog.New(slog.DiscardHandler))
	keyFile := filepath.Join(b.TempDir(), "identity.keys")
	if err := keys.InitFile(keyFile); err != nil {
		b.Fatal(err)
	}
	f, err := keys.LoadFile(keyFile)
	if err != nil {
		b.Fatal(err)
	}
	return NewService(db.App, g, cat, child.Keys{Vault: keys.NewVault(f), Index: f.Index()}, alert.NewRaiser(g)), auth.With(ctx, p)
}

// BenchmarkFile files cases from 16 concurrent writers, with the audit
// event written in each filing's transaction and with auditing switched
// off, in the same run against the same kind of database, so that the
// ratio of the two is what auditing costs.
func BenchmarkFile(b *testing.B) {
	for _, audited := range []bool{true, false} {
		b.Run(fmt.Sprintf("audited=%v", audited), func(b *testing.B) {
			s, ctx := benchService(b)
			if !audited {
				s.record = func(context.Context, sqlx.ExecerContext, audit.Event) error { return nil }
			}
			in := validInput()
			in.Child.DateOfBirth = day("2014-03-09")
			var n atomic.Int64
			b.SetParallelism(8) // 8 × GOMAXPROCS(2) = 16 writers here
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					x := in
					x.IdempotencyKey = "bench-" + uuid.NewString()
					x.Violations = []ViolationInput{{Type: "NEGLECT"}}
					x.EntryPoint = nil
					if _, err := s.File(ctx, x); err != nil {
						b.Error(err)
						return
					}
					n.Add(1)
				}
			})
			b.ReportMetric(float64(n.Load())/b.Elapsed().Seconds(), "cases/s")
		})
	}
}
