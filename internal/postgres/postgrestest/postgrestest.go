// Package postgrestest gives each test a fresh, migrated PostgreSQL database
// on a real server. The server is started once per test process (a private
// cluster under a temporary directory, run as the postgres user when the
// process is root) unless AMPARO_TEST_DATABASE_URL names a superuser URL of
// an existing server. Each test's database is cloned from a template that
// was migrated and seeded once: cloning takes milliseconds, migrating does
// not.
package postgrestest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"amparo/internal/demo"
	"amparo/internal/devstack"
	"amparo/internal/postgres"
)

// appPassword is the test password of the amparo_app role. The role is
// cluster-wide, so every test process on a shared server must agree on it.
const appPassword = "amparo-test"

// sealerPassword is the test password of the amparo_sealer role.
const sealerPassword = "amparo-test-sealer"

type server struct {
	adminURL string // superuser, database "postgres"
	template string
	pg       *devstack.Postgres
	tmp      string
}

var (
	once   sync.Once
	shared *server
	errUp  error
)

func start() (*server, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	s := &server{template: "amparo_tpl_" + randomHex(6)}
	if u := os.Getenv("AMPARO_TEST_DATABASE_URL"); u != "" {
		s.adminURL = u
	} else {
		tmp, err := os.MkdirTemp("", "amparo-pg-")
		if err != nil {
			return nil, err
		}
		s.tmp = tmp
		log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
		pg, err := devstack.StartPostgres(ctx, tmp+"/data", log, devstack.WithFsyncOff())
		if err != nil {
			os.RemoveAll(tmp)
			return nil, err
		}
		s.pg = pg
		s.adminURL = pg.SuperuserURL("postgres")
	}
	admin, err := postgres.Open(ctx, s.adminURL)
	if err != nil {
		s.stop()
		return nil, err
	}
	defer admin.Close()
	if err := postgres.EnsureDatabase(ctx, admin, s.template); err != nil {
		s.stop()
		return nil, err
	}
	owner, err := postgres.Open(ctx, withDB(s.adminURL, s.template))
	if err != nil {
		s.stop()
		return nil, err
	}
	defer owner.Close()
	if err := postgres.Migrate(ctx, owner.DB); err != nil {
		s.stop()
		return nil, err
	}
	if err := postgres.EnableAppLogin(ctx, owner, appPassword); err != nil {
		s.stop()
		return nil, err
	}
	if err := postgres.EnableSealerLogin(ctx, owner, sealerPassword); err != nil {
		s.stop()
		return nil, err
	}
	if err := demo.Seed(ctx, owner); err != nil {
		s.stop()
		return nil, err
	}
	return s, nil
}

func (s *server) stop() {
	if s.pg != nil {
		_ = s.pg.Stop()
	} else if s.adminURL != "" {
		if db, err := sqlx.Open("postgres", s.adminURL); err == nil {
			_, _ = db.Exec(`DROP DATABASE IF EXISTS ` + pq.QuoteIdentifier(s.template) + ` WITH (FORCE)`)
			db.Close()
		}
	}
	if s.tmp != "" {
		os.RemoveAll(s.tmp)
	}
}

// Stop stops the server this process started, if any. Call it from
// TestMain after m.Run.
func Stop() {
	if shared != nil {
		shared.stop()
	}
}

// DB is one test's database.
type DB struct {
	// App is connected as amparo_app, with the application's privileges.
	App *sqlx.DB
	// Sealer is connected as amparo_sealer, the audit sealer's role.
	Sealer *sqlx.DB
	// AppURL, SealerURL and OwnerURL connect as amparo_app, as
	// amparo_sealer and as the schema owner.
	AppURL, SealerURL, OwnerURL string
	Name                        string
}

// Owner opens a connection as the schema owner (a superuser), for tests
// that must reach past the application's privileges, such as tampering
// with the audit trail or injecting failures. It is closed at cleanup.
func (d *DB) Owner(tb testing.TB) *sqlx.DB {
	tb.Helper()
	db, err := sqlx.Open("postgres", d.OwnerURL)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	return db
}

// New returns a fresh database for tb, migrated and seeded with the demo
// users, dropped at cleanup.
func New(tb testing.TB) *DB {
	tb.Helper()
	once.Do(func() { shared, errUp = start() })
	if errUp != nil {
		tb.Fatalf("postgrestest: %v", errUp)
	}
	ctx := context.Background()
	name := "amparo_t_" + randomHex(8)
	admin, err := sqlx.Open("postgres", shared.adminURL)
	if err != nil {
		tb.Fatal(err)
	}
	defer admin.Close()
	if _, err := admin.ExecContext(ctx, `CREATE DATABASE `+pq.QuoteIdentifier(name)+` TEMPLATE `+pq.QuoteIdentifier(shared.template)); err != nil {
		tb.Fatalf("postgrestest: clone template: %v", err)
	}
	d := &DB{Name: name, OwnerURL: withDB(shared.adminURL, name)}
	d.AppURL = withUser(d.OwnerURL, "amparo_app", appPassword)
	d.SealerURL = withUser(d.OwnerURL, "amparo_sealer", sealerPassword)
	d.App, err = postgres.Open(ctx, d.AppURL)
	if err != nil {
		tb.Fatalf("postgrestest: %v", err)
	}
	d.Sealer, err = postgres.Open(ctx, d.SealerURL)
	if err != nil {
		tb.Fatalf("postgrestest: %v", err)
	}
	tb.Cleanup(func() {
		d.App.Close()
		d.Sealer.Close()
		if db, err := sqlx.Open("postgres", shared.adminURL); err == nil {
			_, _ = db.Exec(`DROP DATABASE IF EXISTS ` + pq.QuoteIdentifier(name) + ` WITH (FORCE)`)
			db.Close()
		}
	})
	return d
}

func withDB(raw, db string) string {
	u, err := url.Parse(raw)
	if err != nil {
		panic(fmt.Sprintf("postgrestest: bad URL: %v", err))
	}
	u.Path = "/" + db
	return u.String()
}

func withUser(raw, user, password string) string {
	u, _ := url.Parse(raw)
	u.User = url.UserPassword(user, password)
	return u.String()
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
