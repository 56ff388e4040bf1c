package devstack

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"sync"
)

// MinIOCluster is a distributed MinIO of several nodes on loopback, one
// drive each, in one erasure set (at four drives, two of parity: any one
// node may stop and writes go on; two, and reads still do). For
// high-availability tests.
type MinIOCluster struct {
	Nodes []*MinIO
}

// StartMinIOCluster starts n nodes (n ≥ 4) under dir, node i's drive in
// dir/node<i>, sharing one set of root credentials and one KMS key, and
// returns once every node answers as ready. Stop a node with its Stop
// method; a node that dies otherwise is restarted like a single server.
func StartMinIOCluster(ctx context.Context, bin, dir string, n int, log *slog.Logger) (*MinIOCluster, error) {
	log = orDiscard(log)
	if n < 4 {
		return nil, errors.New("devstack: a distributed MinIO needs at least 4 drives")
	}
	dir, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	secrets, err := loadMinIOSecrets(filepath.Join(dir, "credentials.json"))
	if err != nil {
		return nil, err
	}
	ports, err := freePorts(2 * n)
	if err != nil {
		return nil, err
	}
	// Loopback, in a container too (see _MINIO_SERVER_LOCAL in start).
	const host = "127.0.0.1"
	drives := make([]string, n)
	for i := range n {
		drives[i] = "http://" + net.JoinHostPort(host, strconv.Itoa(ports[i])) + filepath.Join(dir, "node"+strconv.Itoa(i), "data")
	}
	c := &MinIOCluster{Nodes: make([]*MinIO, n)}
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		nodeDir := filepath.Join(dir, "node"+strconv.Itoa(i))
		m := &MinIO{DataDir: filepath.Join(nodeDir, "data"), LogPath: filepath.Join(nodeDir, "minio.log"), drives: drives, host: host,
			AccessKey: secrets.RootUser, SecretKey: secrets.RootPassword, KMSKey: secrets.KMSSecretKey}
		if err := os.MkdirAll(m.DataDir, 0o700); err != nil {
			return nil, err
		}
		c.Nodes[i] = m
		// The nodes wait for each other: start them all at once.
		wg.Go(func() {
			port, consolePort := ports[i], ports[n+i]
			if errs[i] = m.start(ctx, bin, nodeDir, port, consolePort); errs[i] != nil {
				return
			}
			m.keeper = keep(fmt.Sprintf("minio node %d", i), m.proc, log, func(ctx context.Context) (*child, error) {
				if err := m.start(ctx, bin, nodeDir, port, consolePort); err != nil {
					return nil, err
				}
				return m.proc, nil
			})
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		_ = c.Stop()
		return nil, err
	}
	// Each node answers ready before the cluster has formed; the cluster
	// check passes once the erasure set has write quorum.
	url := "http://" + c.Nodes[0].Endpoint + "/minio/health/cluster"
	if err := c.Nodes[0].proc.waitReady(ctx, func(ctx context.Context) error {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return err
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("GET %s: %s", url, resp.Status)
		}
		return nil
	}); err != nil {
		_ = c.Stop()
		return nil, err
	}
	log.Info("distributed MinIO ready", "nodes", n, "endpoint", c.Nodes[0].Endpoint)
	return c, nil
}

// Stop stops every node still running.
func (c *MinIOCluster) Stop() error {
	var errs []error
	for _, m := range c.Nodes {
		if m != nil && m.keeper != nil {
			errs = append(errs, m.Stop())
		} else if m != nil && m.proc != nil {
			errs = append(errs, m.proc.stop())
		}
	}
	return errors.Join(errs...)
}
