package main

import (
	"database/sql/driver"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"

	"amparo/internal/blob"
	"amparo/internal/export"
)

// config is everything serve needs, read once from the environment.
type config struct {
	DatabaseURL string
	S3          blob.Config
	Listen      string
	// MetricsListen is a listener of its own for /metrics; "" serves it on Listen.
	MetricsListen string
	// PprofListen is the listener of /debug/pprof (AMPARO_PPROF_LISTEN);
	// "" serves no profiles at all. `amparo dev` opens one on loopback.
	PprofListen  string
	CORSOrigins  map[string]bool // AMPARO_CORS_ORIGINS
	OIDCIssuer   string
	OIDCAudience string
	DevTokens    bool   // accept tokens of the dev issuer
	DevKeyFile   string // the dev issuer's key, when DevTokens
	AuditKey     string // Ed25519 signing key of audit checkpoints, file path
	IdentityKey  string // key file that seals identities (package keys), file path
	RetentionYrs int    // evidence retention
	MaxUpload    int64
	MaxUploads   int
	LogLevel     string
	SealerURL    string // the audit sealer's own role, amparo_sealer

	// Limits of the GraphQL endpoint beyond the upload sizes above.
	Introspection    bool          // __schema and __type answered; always in dev
	UploadsPerUser   int           // concurrent uploads of one user
	MinUploadRate    int64         // bytes a second
	UploadRateWindow time.Duration // over which the rate is measured; 0: 30 s (tests shorten it)
	BodyTimeout      int           // seconds a JSON body may take to arrive
	StatusPerMinute  int           // complaintStatus queries a minute from one address
	StatusBurst      int           // ... in one burst
	StatusPerSecond  int           // complaintStatus queries a second, all addresses
	Dev              bool          // GraphiQL and friends; set by `amparo dev` only
	ShutdownGrace    int           // seconds
	// ExportURLTTL is the life of export download URLs, at most 5 minutes.
	ExportURLTTL time.Duration
	Alerts       alertConfig
	// ConsoleClientID is the OIDC client (public, code flow with PKCE) of
	// the web console; the console cannot sign in without it under OIDC.
	ConsoleClientID string

	// devRoutes, set by `amparo dev` only, mounts dev-only endpoints (the
	// console's demo sign-in).
	devRoutes func(*http.ServeMux, *sqlx.DB)

	// wrapDB, when set, wraps the database connector (tests count
	// statements with it).
	wrapDB func(driver.Connector) driver.Connector

	// clock, when set, is the complaint service's clock (tests move it
	// past a replay secret's expiry instead of waiting a day).
	clock func() time.Time
}

// configError names the variable at fault, in one line.
type configError struct{ name, problem string }

func (e *configError) Error() string { return fmt.Sprintf("configuration: %s %s", e.name, e.problem) }

// loadConfig reads the AMPARO_* variables.
func loadConfig(getenv func(string) string) (*config, error) {
	c := &config{
		S3:            blob.Config{Bucket: "amparo-evidence"},
		Listen:        "127.0.0.1:8080",
		MaxUpload:     200 << 20,
		MaxUploads:    8,
		LogLevel:      "info",
		ShutdownGrace: 30,
		RetentionYrs:  10,

		UploadsPerUser:  2,
		MinUploadRate:   1 << 10,
		BodyTimeout:     10,
		StatusPerMinute: 20,
		StatusBurst:     10,
		StatusPerSecond: 50,
	}
	required := func(dst *string, name string) error {
		*dst = strings.TrimSpace(getenv(name))
		if *dst == "" {
			return &configError{name, "is required"}
		}
		return nil
	}
	optional := func(dst *string, name string) {
		if v := strings.TrimSpace(getenv(name)); v != "" {
			*dst = v
		}
	}
	for _, r := range []struct {
		dst  *string
		name string
	}{
		{&c.DatabaseURL, "AMPARO_DATABASE_URL"},
		{&c.S3.Endpoint, "AMPARO_S3_ENDPOINT"},
		{&c.S3.AccessKey, "AMPARO_S3_ACCESS_KEY"},
		{&c.S3.SecretKey, "AMPARO_S3_SECRET_KEY"},
	} {
		if err := required(r.dst, r.name); err != nil {
			return nil, err
		}
	}
	if !strings.HasPrefix(c.DatabaseURL, "postgres://") && !strings.HasPrefix(c.DatabaseURL, "postgresql://") {
		return nil, &configError{"AMPARO_DATABASE_URL", "must be a postgres:// URL"}
	}
	if err := required(&c.SealerURL, "AMPARO_SEALER_DATABASE_URL"); err != nil {
		return nil, &configError{"AMPARO_SEALER_DATABASE_URL", "is required: the PostgreSQL URL of the role amparo_sealer, the only one that writes audit leaves and checkpoints"}
	}
	if !strings.HasPrefix(c.SealerURL, "postgres://") && !strings.HasPrefix(c.SealerURL, "postgresql://") {
		return nil, &configError{"AMPARO_SEALER_DATABASE_URL", "must be a postgres:// URL"}
	}
	if strings.Contains(c.S3.Endpoint, "://") || strings.Contains(c.S3.Endpoint, "/") {
		return nil, &configError{"AMPARO_S3_ENDPOINT", "must be host:port, without scheme or path (use AMPARO_S3_USE_TLS for https)"}
	}
	if err := required(&c.AuditKey, "AMPARO_AUDIT_SIGNING_KEY"); err != nil {
		return nil, &configError{"AMPARO_AUDIT_SIGNING_KEY", "is required: the path of the Ed25519 key that signs audit checkpoints (amparo audit keygen FILE makes one)"}
	}
	if err := required(&c.IdentityKey, "AMPARO_IDENTITY_KEY"); err != nil {
		return nil, &configError{"AMPARO_IDENTITY_KEY", "is required: the path of the key file that seals children's identities (amparo keys init FILE makes one)"}
	}
	if v := getenv("AMPARO_EVIDENCE_RETENTION_YEARS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 100 {
			return nil, &configError{"AMPARO_EVIDENCE_RETENTION_YEARS", "must be a number of years from 1 to 100"}
		}
		c.RetentionYrs = n
	}
	optional(&c.S3.Bucket, "AMPARO_S3_BUCKET")
	optional(&c.Listen, "AMPARO_LISTEN")
	optional(&c.MetricsListen, "AMPARO_METRICS_LISTEN")
	optional(&c.PprofListen, "AMPARO_PPROF_LISTEN")
	optional(&c.LogLevel, "AMPARO_LOG_LEVEL")
	var err error
	if c.CORSOrigins, err = corsOrigins(getenv("AMPARO_CORS_ORIGINS")); err != nil {
		return nil, err
	}
	if c.S3.UseTLS, err = boolVar(getenv, "AMPARO_S3_USE_TLS", false); err != nil {
		return nil, err
	}
	if c.DevTokens, err = boolVar(getenv, "AMPARO_DEV_TOKENS", false); err != nil {
		return nil, err
	}
	optional(&c.OIDCIssuer, "AMPARO_OIDC_ISSUER")
	optional(&c.OIDCAudience, "AMPARO_OIDC_AUDIENCE")
	optional(&c.ConsoleClientID, "AMPARO_OIDC_CLIENT_ID")
	switch {
	case c.OIDCIssuer != "" && c.OIDCAudience == "":
		return nil, &configError{"AMPARO_OIDC_AUDIENCE", "is required with AMPARO_OIDC_ISSUER"}
	case c.OIDCIssuer == "" && !c.DevTokens:
		return nil, &configError{"AMPARO_OIDC_ISSUER", "is required (or AMPARO_DEV_TOKENS=1 with AMPARO_DEV_KEY_FILE, for development only)"}
	}
	if c.DevTokens {
		if err := required(&c.DevKeyFile, "AMPARO_DEV_KEY_FILE"); err != nil {
			return nil, &configError{"AMPARO_DEV_KEY_FILE", "is required with AMPARO_DEV_TOKENS=1"}
		}
	}
	if v := getenv("AMPARO_MAX_UPLOAD_BYTES"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 1<<10 {
			return nil, &configError{"AMPARO_MAX_UPLOAD_BYTES", "must be a number of bytes, at least 1024"}
		}
		c.MaxUpload = n
	}
	if v := getenv("AMPARO_EXPORT_URL_TTL"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < time.Second || d > export.MaxURLTTL {
			return nil, &configError{"AMPARO_EXPORT_URL_TTL", "must be a duration from 1s to 5m"}
		}
		c.ExportURLTTL = d
	}
	if v := getenv("AMPARO_MAX_CONCURRENT_UPLOADS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1024 {
			return nil, &configError{"AMPARO_MAX_CONCURRENT_UPLOADS", "must be a number from 1 to 1024"}
		}
		c.MaxUploads = n
	}
	if c.Introspection, err = boolVar(getenv, "AMPARO_INTROSPECTION", false); err != nil {
		return nil, err
	}
	for _, n := range []struct {
		dst      *int
		name     string
		min, max int
	}{
		{&c.UploadsPerUser, "AMPARO_MAX_UPLOADS_PER_USER", 1, 64},
		{&c.BodyTimeout, "AMPARO_BODY_TIMEOUT_SECONDS", 1, 600},
		{&c.StatusPerMinute, "AMPARO_STATUS_RATE_PER_MINUTE", 1, 100000},
		{&c.StatusPerSecond, "AMPARO_STATUS_RATE_GLOBAL", 1, 100000},
	} {
		if v := getenv(n.name); v != "" {
			x, err := strconv.Atoi(v)
			if err != nil || x < n.min || x > n.max {
				return nil, &configError{n.name, fmt.Sprintf("must be a number from %d to %d", n.min, n.max)}
			}
			*n.dst = x
		}
	}
	if v := getenv("AMPARO_MIN_UPLOAD_RATE"); v != "" {
		x, err := strconv.ParseInt(v, 10, 64)
		if err != nil || x < 1 {
			return nil, &configError{"AMPARO_MIN_UPLOAD_RATE", "must be a number of bytes a second, at least 1"}
		}
		c.MinUploadRate = x
	}
	if c.Alerts, err = loadAlertConfig(getenv); err != nil {
		return nil, err
	}
	// Subscriptions are open to the same browser origins as the API.
	for o := range c.CORSOrigins {
		c.Alerts.Origins = append(c.Alerts.Origins, o)
	}
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		return nil, &configError{"AMPARO_LOG_LEVEL", "must be debug, info, warn or error"}
	}
	return c, nil
}

func boolVar(getenv func(string) string, name string, def bool) (bool, error) {
	v := strings.TrimSpace(getenv(name))
	if v == "" {
		return def, nil
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		return false, &configError{name, "must be true or false (1 or 0)"}
	}
	return b, nil
}
