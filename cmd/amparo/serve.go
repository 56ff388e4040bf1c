package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"sync"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"amparo/graph"
	"amparo/graph/graphiql"
	"amparo/internal/alert"
	"amparo/internal/audit"
	"amparo/internal/auth"
	"amparo/internal/authz"
	"amparo/internal/blob"
	"amparo/internal/casefile"
	"amparo/internal/complaint"
	"amparo/internal/evidence"
	"amparo/internal/export"
	"amparo/internal/idempotency"
	"amparo/internal/postgres"
	"amparo/internal/reference"
	"amparo/internal/referral"
	"amparo/internal/request"
	"amparo/internal/statistics"
	"amparo/internal/user"
	"amparo/internal/web"
	"amparo/policies"
)

func serveCmd(ctx context.Context, args []string, getenv func(string) string, stderr io.Writer) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	if err := fs.Parse(args); err != nil {
		return exitError(2)
	}
	cfg, err := loadConfig(getenv)
	if err != nil {
		return err
	}
	log := newLogger(stderr, cfg.LogLevel)
	return serve(ctx, cfg, log, nil)
}

func newLogger(w io.Writer, level string) *slog.Logger {
	var l slog.Level
	_ = l.UnmarshalText([]byte(level))
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: l}))
}

// app is the running server's parts.
type app struct {
	db       *sqlx.DB
	planned  *sqlx.DB // the hot reads' prepared statements, planned once (postgres.OpenGeneric)
	sealerDB *sqlx.DB // amparo_sealer's connections
	blobs    *blob.Store
	exports  *export.Bucket
	handler  http.Handler
	metrics  http.Handler // /metrics on its own listener, when AMPARO_METRICS_LISTEN is set
	sealer   *audit.Sealer
	alerts   *alert.Hub         // pushes alerts to this replica's subscriptions
	watcher  *alert.Watcher     // raises deadline alerts, when leading
	keeper   *statistics.Keeper // keeps the statistics summary, when leading
}

// build wires the server from its configuration.
func build(ctx context.Context, cfg *config, log *slog.Logger) (*app, error) {
	db, err := postgres.OpenWith(ctx, cfg.DatabaseURL, cfg.wrapDB)
	if err != nil {
		return nil, fmt.Errorf("AMPARO_DATABASE_URL: %w", err)
	}
	planned, err := postgres.OpenGeneric(ctx, cfg.DatabaseURL, cfg.wrapDB)
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("AMPARO_DATABASE_URL: %w", err)
	}
	sealerDB, err := openSealerDB(ctx, cfg.SealerURL)
	if err != nil {
		db.Close()
		planned.Close()
		return nil, err
	}
	fail := func(err error) (*app, error) { db.Close(); planned.Close(); sealerDB.Close(); return nil, err }
	blobs, err := blob.New(cfg.S3)
	if err != nil {
		return fail(fmt.Errorf("AMPARO_S3_ENDPOINT: %w", err))
	}
	if err := blobs.EnsureBucket(ctx); err != nil {
		return fail(fmt.Errorf("AMPARO_S3_ENDPOINT: bucket %s: %w", cfg.S3.Bucket, err))
	}
	cat, err := reference.Load(ctx, db)
	if err != nil {
		return fail(fmt.Errorf("reference data (has `amparo migrate up` run?): %w", err))
	}
	if err := authz.SyncPolicy(ctx, db, policies.Policy); err != nil {
		return fail(err)
	}
	az, err := authz.New(policies.Model, authz.NewDB(db))
	if err != nil {
		return fail(err)
	}
	// Grants change on any replica; this one hears of it within
	// milliseconds, and reloads every 30 s in case a notification is lost.
	// Principals are cached while this replica hears of every grant change
	// and disablement (the authorizer's watcher), so a request costs no
	// statement for its caller. Registered before the watcher starts: its
	// first reload, once listening, is what turns the cache on.
	users := auth.NewUsers(db)
	az.OnChange(users.Changed)
	go az.Watch(ctx, cfg.DatabaseURL, 30*time.Second, log)
	var verifiers auth.Verifiers
	if cfg.OIDCIssuer != "" {
		o, err := auth.NewOIDC(ctx, cfg.OIDCIssuer, cfg.OIDCAudience)
		if err != nil {
			return fail(fmt.Errorf("AMPARO_OIDC_ISSUER: %w", err))
		}
		verifiers = append(verifiers, o)
	}
	if cfg.DevTokens {
		b, err := os.ReadFile(cfg.DevKeyFile)
		if err != nil {
			return fail(fmt.Errorf("AMPARO_DEV_KEY_FILE: %w", err))
		}
		key, err := auth.ParseEd25519PrivateKey(b)
		if err != nil {
			return fail(fmt.Errorf("AMPARO_DEV_KEY_FILE: %w", err))
		}
		verifiers = append(verifiers, auth.NewDevIssuer(key))
		log.Warn("accepting dev tokens: never do this in production")
	}

	signer, err := audit.LoadOrCreateSigner(cfg.AuditKey, cfg.Dev)
	if err != nil {
		return fail(fmt.Errorf("AMPARO_AUDIT_SIGNING_KEY: %w", err))
	}
	acfg := cfg.S3
	acfg.Bucket = audit.BucketName(cfg.S3.Bucket)
	// Locked copies of checkpoints outlive the evidence they vouch for.
	checkpoints, err := audit.OpenBucket(ctx, acfg, time.Duration(cfg.RetentionYrs+1)*365*24*time.Hour)
	if err != nil {
		return fail(fmt.Errorf("AMPARO_S3_ENDPOINT: audit bucket %s: %w", acfg.Bucket, err))
	}
	sealer := audit.NewSealer(sealerDB, checkpoints, signer, log)
	ecfg := cfg.S3
	ecfg.Bucket = export.BucketName(cfg.S3.Bucket)
	exports, err := export.OpenBucket(ctx, ecfg, cfg.ExportURLTTL)
	if err != nil {
		return fail(fmt.Errorf("AMPARO_S3_ENDPOINT: exports bucket %s: %w", ecfg.Bucket, err))
	}

	ready := readiness(db, blobs)
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		newDBPoolCollector(db.DB, planned.DB), sealer.Collector(), readinessCollector(ready))
	metrics := newHTTPMetrics(reg)
	uploads := newUploadMetrics(reg)

	ids, err := openIdentityKeys(ctx, db, cfg.IdentityKey, log)
	if err != nil {
		return fail(err)
	}
	if err := prepareTracking(ctx, db, ids, log); err != nil {
		return fail(err)
	}
	// The one guard every service method calls first.
	guard := authz.NewGuard(az, db, audit.Denials{DB: db}, log)
	guard.PrepareOn(planned)
	raiser := alert.NewRaiser(guard)
	alertMetrics := newAlertMetrics()
	hub := alert.NewHub(db, cfg.DatabaseURL, log, alertMetrics, alert.HubConfig{PerUser: cfg.Alerts.PerUser, PerReplica: cfg.Alerts.PerReplica})
	watcher := alert.NewWatcher(db, raiser, log, alert.WatcherConfig{Soon: cfg.Alerts.DeadlineSoon, Interval: cfg.Alerts.WatchEvery})
	cases := casefile.NewService(db, guard, cat, ids, raiser)
	cases.PrepareOn(planned)
	complaints := complaint.NewService(db, guard, cat, cases, ids, raiser)
	if cfg.clock != nil {
		complaints.UseClock(cfg.clock)
	}
	// A case's complaints close and reopen with it, in its transaction;
	// its evidence holds follow its status once committed.
	complaints.FollowCases(cases)
	cases.UseHolds(evidence.NewHolds(db, blobs), log)
	svc := graph.Services{
		Cases:      cases,
		Complaints: complaints,
		Evidence:   evidence.New(db, blobs, guard, log, evidence.Config{MaxSize: cfg.MaxUpload, RetentionYears: cfg.RetentionYrs, Observe: uploads.observe}),
		Audit:      audit.NewService(db, guard),
		Users:      user.NewService(db, az, guard, cat, log),
		Alerts:     alert.NewService(db, guard, hub),
		Statistics: statistics.NewService(db, guard, cat, exports, cases, log),
		Referrals:  referral.NewService(db, guard, cat, cases, raiser, ids.Vault),
	}
	ws := graph.Websocket{Verifier: verifiers, Users: users, Sessions: hub, Origins: cfg.Alerts.Origins, KeepAlive: cfg.Alerts.KeepAlive}
	gql := graph.NewHandler(&graph.Resolver{Authz: az, Catalog: cat, Svc: svc, Log: log, Websocket: ws}, graph.Limits{
		MaxUploadSize:     cfg.MaxUpload,
		MaxUploads:        cfg.MaxUploads,
		MaxUploadsPerUser: cfg.UploadsPerUser,
		MinUploadRate:     cfg.MinUploadRate,
		UploadRateWindow:  cfg.UploadRateWindow,
		BodyTimeout:       time.Duration(cfg.BodyTimeout) * time.Second,
		Introspection:     cfg.Introspection || cfg.Dev,
		StatusLimiter:     graph.NewLimiter(cfg.StatusPerMinute, cfg.StatusBurst, cfg.StatusPerSecond),
	}, graph.NewMetrics(reg))
	alertMetrics.register(reg, hub, watcher)

	mux := http.NewServeMux()
	mux.Handle("POST /graphql", auth.Middleware(verifiers, users, log, gql))
	// Subscriptions: websocket upgrades, authenticated in connection_init.
	var playground http.Handler
	if cfg.Dev {
		playground = graphiql.Page()
		mux.Handle("GET "+graphiql.Prefix, graphiql.Assets())
	}
	mux.Handle("GET /graphql", graph.Upgrades(gql, playground, cfg.Alerts.Origins))
	// Any other method gets the GraphQL handler's own answer (OPTIONS, or
	// a coded error), never the mux's plain text.
	mux.Handle("/graphql", gql)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		checks, ok := ready(r.Context())
		status := http.StatusOK
		if !ok {
			status = http.StatusServiceUnavailable
		}
		writeJSON(w, status, checks)
	})
	metricsHandler := promhttp.HandlerFor(reg, promhttp.HandlerOpts{})
	a := &app{db: db, planned: planned, sealerDB: sealerDB, blobs: blobs, exports: exports, sealer: sealer}
	if cfg.MetricsListen == "" {
		mux.Handle("GET /metrics", metricsHandler)
	} else {
		// Kept off the public listener: series name operations and error
		// rates, which are nobody's business outside the operators'.
		m := http.NewServeMux()
		m.Handle("GET /metrics", metricsHandler)
		a.metrics = m
		mux.Handle("GET /metrics", http.NotFoundHandler()) // not the console's
	}
	// Profiles are only ever on their own listener (serve's).
	mux.Handle("/debug/", http.NotFoundHandler())
	mux.Handle("GET /console/config.json", consoleConfig(cfg))
	var connect []string
	if cfg.OIDCIssuer != "" {
		connect = append(connect, origin(cfg.OIDCIssuer))
	}
	// Every path no other pattern claims is the console's (its client routes);
	// it answers GET and HEAD only.
	mux.Handle("/", web.Handler(web.Files(), web.Options{ConnectSrc: connect}))
	if cfg.devRoutes != nil {
		cfg.devRoutes(mux, db)
	}
	a.alerts, a.watcher = hub, watcher
	a.keeper = statistics.NewKeeper(db, log, statistics.KeeperConfig{})
	a.handler = request.Middleware(noSniff(accessLog(log, metrics, cors(cfg.CORSOrigins, mux))))
	return a, nil
}

// openSealerDB connects as the sealer's role and makes sure it is one that
// may write checkpoints: the application's role may not (migration 00014).
func openSealerDB(ctx context.Context, url string) (*sqlx.DB, error) {
	db, err := postgres.Open(ctx, url)
	if err != nil {
		return nil, fmt.Errorf("AMPARO_SEALER_DATABASE_URL: %w", err)
	}
	// The leader holds one connection; verifying its lock and the
	// occasional follower's try take another.
	db.SetMaxOpenConns(3)
	var role string
	var may bool
	if err := db.GetContext(ctx, &role, `SELECT current_user`); err == nil {
		err = db.GetContext(ctx, &may, `SELECT has_table_privilege('audit.checkpoints', 'INSERT')`)
	}
	switch {
	case err != nil:
		db.Close()
		return nil, fmt.Errorf("AMPARO_SEALER_DATABASE_URL: %w", err)
	case !may:
		db.Close()
		return nil, fmt.Errorf("AMPARO_SEALER_DATABASE_URL: role %s may not write audit checkpoints; connect as amparo_sealer (has `amparo migrate up` run?)", role)
	}
	return db, nil
}

// listening is where a running server listens: the API, and the metrics
// and profiling listeners of their own ("" when there is none).
type listening struct {
	API, Metrics, Profiling string
}

// serve runs the server until ctx ends, then drains requests in flight.
// ready, when not nil, receives the addresses it listens on.
func serve(ctx context.Context, cfg *config, log *slog.Logger, ready func(listening)) error {
	gc := tuneGC(os.Getenv, cgroupMemoryMax()) // gc.go
	log.Info("garbage collector", "gc_percent", gc.Percent, "memory_limit", gc.MemoryLimit)
	a, err := build(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer a.db.Close()
	defer a.planned.Close()
	defer a.sealerDB.Close()
	// Background work: sealing the audit trail (one leader among replicas)
	// and the evidence janitor. Both stop with ctx, before the pool closes.
	var bg sync.WaitGroup
	bg.Go(func() {
		if err := a.sealer.Run(ctx); err != nil && ctx.Err() == nil {
			log.Error("audit sealer stopped", "err", err)
		}
	})
	bg.Go(func() { evidence.NewJanitor(a.db, a.blobs, log, evidence.JanitorConfig{}).Run(ctx) })
	// Exports older than a day are deleted within ten minutes of it.
	bg.Go(func() { a.exports.Janitor(ctx, 10*time.Minute, log) })
	// Replay secrets (tracking codes kept for retries) are deleted within
	// five minutes of their 24 hours.
	bg.Go(func() { idempotency.Janitor(ctx, a.db, 5*time.Minute, log) })
	// Alerts: this replica's subscriptions, and the deadline watcher (one
	// leader among replicas).
	bg.Go(func() { a.alerts.Run(ctx) })
	bg.Go(func() { a.watcher.Run(ctx) })
	// The statistics summary: built after its migration, then kept from the
	// queue of changed cases (one leader among replicas).
	bg.Go(func() { a.keeper.Run(ctx) })
	defer bg.Wait()
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return fmt.Errorf("AMPARO_LISTEN: %w", err)
	}
	srv := &http.Server{
		Handler:           a.handler,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		// No ReadTimeout or WriteTimeout: an upload over a slow border link
		// may legitimately take many minutes.
	}
	errc := make(chan error, 3)
	go func() { errc <- srv.Serve(ln) }()
	at := listening{API: ln.Addr().String()}
	// side serves h on a listener of its own, named by variable, until
	// serve returns.
	var sides []*http.Server
	defer func() {
		for _, s := range sides {
			s.Close()
		}
	}()
	side := func(variable, addr string, h http.Handler) (string, error) {
		l, err := net.Listen("tcp", addr)
		if err != nil {
			return "", fmt.Errorf("%s: %w", variable, err)
		}
		s := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
		go func() { errc <- s.Serve(l) }()
		sides = append(sides, s)
		return l.Addr().String(), nil
	}
	if a.metrics != nil {
		if at.Metrics, err = side("AMPARO_METRICS_LISTEN", cfg.MetricsListen, a.metrics); err != nil {
			ln.Close()
			return err
		}
		log.Info("serving metrics", "addr", at.Metrics)
	}
	if cfg.PprofListen != "" {
		if at.Profiling, err = side("AMPARO_PPROF_LISTEN", cfg.PprofListen, profiling()); err != nil {
			ln.Close()
			return err
		}
		if !loopback(at.Profiling) {
			log.Warn("profiles are served beyond loopback: keep AMPARO_PPROF_LISTEN on a network only operators reach", "addr", at.Profiling)
		}
		log.Info("serving profiles", "addr", at.Profiling)
	}
	log.Info("serving", "addr", at.API)
	if ready != nil {
		ready(at)
	}
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down", "grace_seconds", cfg.ShutdownGrace)
	sctx, cancel := context.WithTimeout(context.Background(), time.Duration(cfg.ShutdownGrace)*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("shutdown: %w", err)
	}
	return nil
}

// readiness returns the check behind /readyz and amparo_dependency_up: is
// each dependency reachable within 2 s ("ok" or "unreachable"), and are all.
func readiness(db *sqlx.DB, blobs *blob.Store) func(context.Context) (map[string]string, bool) {
	return func(ctx context.Context) (map[string]string, bool) {
		ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		defer cancel()
		checks, ok := map[string]string{"postgres": "ok", "minio": "ok"}, true
		if err := db.PingContext(ctx); err != nil {
			checks["postgres"], ok = "unreachable", false
		}
		if err := blobs.Ready(ctx); err != nil {
			checks["minio"], ok = "unreachable", false
		}
		return checks, ok
	}
}

// noSniff says, on every answer, that its Content-Type is what it is: a
// browser must never sniff one into HTML. GraphQL answers carry their
// strings as gqlgen wrote them, < and > not escaped (graph's
// writeResponse), and refusals before them (a bad token's 401) are JSON as
// well.
func noSniff(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Content-Type-Options", "nosniff")
		next.ServeHTTP(w, r)
	})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// consoleConfig tells the web console how to sign in: "dev" (the demo
// users of `amparo dev`) or "oidc" (authorization code with PKCE against
// the issuer, as the console's public client).
func consoleConfig(cfg *config) http.Handler {
	body := map[string]string{"signIn": "none"}
	switch {
	case cfg.devRoutes != nil:
		body = map[string]string{"signIn": "dev"}
	case cfg.OIDCIssuer != "" && cfg.ConsoleClientID != "":
		body = map[string]string{"signIn": "oidc", "issuer": cfg.OIDCIssuer, "clientId": cfg.ConsoleClientID}
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-cache")
		writeJSON(w, http.StatusOK, body)
	})
}

// origin is scheme://host of a URL, for the console's Content-Security-Policy.
func origin(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return ""
	}
	return u.Scheme + "://" + u.Host
}
