package devstack

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
)

// MinIOVersion is the MinIO release the project is tested with; the
// Makefile builds it into the user's cache directory.
const MinIOVersion = "v0.0.0-20260212201848-7aac2a2c5b7c"

// kmsKeyName names the single built-in KMS key that SSE-S3 encrypts with.
const kmsKeyName = "amparo-dev"

// MinIO is a private MinIO server, on a single drive, run as a child
// process.
type MinIO struct {
	Endpoint  string // host:port on 127.0.0.1, plain HTTP
	AccessKey string // root user
	SecretKey string // root password
	KMSKey    string // MINIO_KMS_SECRET_KEY, "amparo-dev:<base64 of 32 bytes>", for SSE-S3
	DataDir   string // dir/data, the drive
	LogPath   string // the server's output, dir/minio.log

	drives []string // the server's drive arguments; [DataDir] unless a cluster node
	host   string   // the address it listens on; 127.0.0.1 unless a cluster node
	proc   *child   // the process of the last start attempt
	keeper *keeper  // restarts the server when it dies
}

// minioSecrets is credentials.json: made on the first start and reused,
// since the objects stay readable only with the same KMS key.
type minioSecrets struct {
	RootUser     string `json:"root_user"`
	RootPassword string `json:"root_password"`
	KMSSecretKey string `json:"kms_secret_key"`
}

// FindMinIO returns the MinIO server binary to run: $AMPARO_MINIO_BIN if
// set, else ./bin/minio (which `make bin/minio` links), else minio on
// $PATH, else the build the Makefile caches under the user's cache
// directory (so tests run by plain `go test` from a package directory find
// it too). getenv is os.Getenv, or a stand-in in tests.
func FindMinIO(getenv func(string) string) (string, error) {
	if p := getenv("AMPARO_MINIO_BIN"); p != "" {
		if err := checkExecutable(p); err != nil {
			return "", fmt.Errorf("devstack: AMPARO_MINIO_BIN: %w", err)
		}
		return filepath.Abs(p)
	}
	candidates := []string{filepath.Join("bin", "minio")}
	for _, d := range filepath.SplitList(getenv("PATH")) {
		if d != "" {
			candidates = append(candidates, filepath.Join(d, "minio"))
		}
	}
	cache := getenv("XDG_CACHE_HOME")
	if cache == "" && getenv("HOME") != "" {
		cache = filepath.Join(getenv("HOME"), ".cache")
	}
	if cache != "" {
		candidates = append(candidates, filepath.Join(cache, "amparo", "minio-"+MinIOVersion, "minio"))
	}
	for _, c := range candidates {
		if checkExecutable(c) == nil {
			return filepath.Abs(c)
		}
	}
	return "", errors.New("MinIO not found: set AMPARO_MINIO_BIN, or run `make bin/minio` to build it (go install github.com/minio/minio@" + MinIOVersion + ")")
}

// StartMinIO starts the MinIO binary bin on dir (data in dir/data, root
// credentials and KMS key in dir/credentials.json, output in dir/minio.log)
// and returns once it reports itself ready. ctx bounds the start-up only:
// once StartMinIO has returned, the server runs until Stop.
func StartMinIO(ctx context.Context, bin, dir string, log *slog.Logger) (*MinIO, error) {
	log = orDiscard(log)
	dir, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("devstack: minio dir: %w", err)
	}
	m := &MinIO{DataDir: filepath.Join(dir, "data"), LogPath: filepath.Join(dir, "minio.log")}
	if err := os.MkdirAll(m.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("devstack: minio dir: %w", err)
	}
	secrets, err := loadMinIOSecrets(filepath.Join(dir, "credentials.json"))
	if err != nil {
		return nil, err
	}
	m.AccessKey, m.SecretKey, m.KMSKey = secrets.RootUser, secrets.RootPassword, secrets.KMSSecretKey

	var ports []int
	for try := 1; ; try++ {
		if ports, err = freePorts(2); err != nil {
			return nil, err
		}
		err = m.start(ctx, bin, dir, ports[0], ports[1])
		if err == nil {
			break
		}
		if try < startTries && m.proc != nil && m.proc.lostPortRace() {
			log.Warn("minio port was taken meanwhile; retrying on another", "ports", ports)
			continue
		}
		return nil, err
	}
	m.keeper = keep("minio", m.proc, log, func(ctx context.Context) (*child, error) {
		if err := m.start(ctx, bin, dir, ports[0], ports[1]); err != nil {
			return nil, err
		}
		return m.proc, nil
	})
	log.Info("MinIO ready", "endpoint", m.Endpoint, "dir", dir, "log", m.LogPath)
	return m, nil
}

// start runs the server on port (S3) and consolePort and waits until its
// readiness check passes.
func (m *MinIO) start(ctx context.Context, bin, dir string, port, consolePort int) error {
	host := m.host
	if host == "" {
		host = "127.0.0.1"
	}
	endpoint := net.JoinHostPort(host, strconv.Itoa(port))
	drives := m.drives
	if len(drives) == 0 {
		drives = []string{m.DataDir}
	}
	cmd := exec.Command(bin, append(append([]string{"server"}, drives...),
		"--address", endpoint,
		"--console-address", net.JoinHostPort(host, strconv.Itoa(consolePort)),
		"--quiet")...)
	cmd.Dir = dir
	// Only our MINIO_* settings: a stray MINIO_VOLUMES or MINIO_KMS_* from
	// the caller's environment would configure a different server.
	cmd.Env = append(environWithout("MINIO_"),
		"MINIO_ROOT_USER="+m.AccessKey,
		"MINIO_ROOT_PASSWORD="+m.SecretKey,
		"MINIO_KMS_SECRET_KEY="+m.KMSKey,
		"MINIO_BROWSER=off",
		"MINIO_UPDATE=off",
	)
	if len(m.drives) > 0 {
		// A distributed MinIO refuses drives on the root file system
		// unless told it runs in CI: the test cluster's drives are
		// directories under a temporary directory.
		cmd.Env = append(cmd.Env, "MINIO_CI_CD=1")
		// In a container (/.dockerenv) MinIO waits for each peer's host
		// to resolve to an address other than loopback, forever, before
		// it knows which drive is its own: every node here is on
		// 127.0.0.1. _MINIO_SERVER_LOCAL names the node's own endpoint
		// (host:port), which ends that search, and the other nodes are
		// then peers by their ports (cmd/endpoint.go, UpdateIsLocal).
		cmd.Env = append(cmd.Env, "_MINIO_SERVER_LOCAL="+endpoint)
	}
	// MinIO is content to run as root, so it runs as we do.
	cmd.SysProcAttr = sysProcAttr(nil, syscall.SIGTERM)
	c, err := startChild("minio", cmd, m.LogPath, syscall.SIGTERM)
	if err != nil {
		return err
	}
	m.proc = c
	if m.Endpoint != endpoint { // a restart reuses it, and must not write it while clients read it
		m.Endpoint = endpoint
	}

	// Ready, and its object layer up: "ready" alone can answer before a
	// restarted server can read what it stored ("Server not initialized
	// yet"), which the cluster read check waits for.
	err = c.waitReady(ctx, func(ctx context.Context) error {
		for _, path := range []string{"/minio/health/ready", "/minio/health/cluster/read"} {
			url := "http://" + endpoint + path
			req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
			if err != nil {
				return err
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				return err
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				return fmt.Errorf("GET %s: %s", url, resp.Status)
			}
		}
		return nil
	})
	if err != nil {
		_ = c.stop()
		return err
	}
	return nil
}

// Stop shuts the server down, waiting up to 10 seconds before killing it.
// Until then a server that dies is restarted on the same ports. Calling it
// again returns the first call's result.
func (m *MinIO) Stop() error {
	return m.keeper.stop()
}

// loadMinIOSecrets reads path, or creates it (0600) with new random root
// credentials and KMS key.
func loadMinIOSecrets(path string) (minioSecrets, error) {
	var s minioSecrets
	b, err := os.ReadFile(path)
	if err == nil {
		if err := json.Unmarshal(b, &s); err != nil {
			return s, fmt.Errorf("devstack: %s: %w", path, err)
		}
		if s.RootUser == "" || s.RootPassword == "" || s.KMSSecretKey == "" {
			return s, fmt.Errorf("devstack: %s lacks root_user, root_password or kms_secret_key", path)
		}
		return s, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return s, fmt.Errorf("devstack: minio credentials: %w", err)
	}
	key := make([]byte, 32)
	_, _ = rand.Read(key) // crypto/rand.Read never returns an error since Go 1.24
	s = minioSecrets{
		RootUser:     "amparo-" + randomSecret()[:10],
		RootPassword: randomSecret(),
		KMSSecretKey: kmsKeyName + ":" + base64.StdEncoding.EncodeToString(key),
	}
	b, err = json.MarshalIndent(s, "", "  ")
	if err != nil {
		return s, fmt.Errorf("devstack: minio credentials: %w", err)
	}
	if err := writeFileAtomic(path, append(b, '\n'), 0o600); err != nil {
		return s, fmt.Errorf("devstack: save minio credentials: %w", err)
	}
	return s, nil
}
