package main

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"time"

	"github.com/minio/madmin-go/v3"
	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
	"github.com/minio/minio-go/v7/pkg/replication"
	"github.com/minio/minio-go/v7/pkg/sse"
)

// site is one MinIO server of the drill: the first site's, where Amparo
// keeps evidence and checkpoints, or the backup site's, which holds
// pgBackRest's repository and the replicas of both buckets.
type site struct {
	name      string
	endpoint  string // host:port
	accessKey string
	secretKey string
	tls       bool
	*child
}

// startSite runs MinIO on dir/data with its certificates directory dir/certs
// (TLS when it holds public.crt; the CAs in certs/CAs are trusted either
// way, which is how the first site reaches the backup site's TLS endpoint)
// and returns once it is ready. Each site has its own root user and KMS key.
func startSite(ctx context.Context, bin, name, dir string, useTLS bool, roots *x509.CertPool) (*site, error) {
	if err := os.MkdirAll(filepath.Join(dir, "data"), 0o700); err != nil {
		return nil, err
	}
	ports, err := freePorts(2)
	if err != nil {
		return nil, err
	}
	s := &site{name: name, endpoint: net.JoinHostPort("127.0.0.1", strconv.Itoa(ports[0])),
		accessKey: "drill-" + name, secretKey: secret(), tls: useTLS}
	kms := make([]byte, 32)
	_, _ = rand.Read(kms)
	log, err := os.Create(filepath.Join(dir, "minio.log"))
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, "server", filepath.Join(dir, "data"),
		"--address", s.endpoint, "--console-address", net.JoinHostPort("127.0.0.1", strconv.Itoa(ports[1])),
		"--certs-dir", filepath.Join(dir, "certs"), "--quiet")
	cmd.Env = append(os.Environ(),
		"MINIO_ROOT_USER="+s.accessKey, "MINIO_ROOT_PASSWORD="+s.secretKey,
		"MINIO_KMS_SECRET_KEY=drill-"+name+":"+base64.StdEncoding.EncodeToString(kms),
		"MINIO_BROWSER=off", "MINIO_UPDATE=off")
	cmd.Stdout, cmd.Stderr = log, log
	if s.child, err = startChild(cmd, log); err != nil {
		return nil, err
	}

	client := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots}}}
	for deadline := time.Now().Add(time.Minute); ; {
		res, err := client.Get(s.url() + "/minio/health/cluster/read")
		if err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return s, nil
			}
		}
		select {
		case <-s.exited:
			return nil, fmt.Errorf("minio %s exited at start; see %s", name, filepath.Join(dir, "minio.log"))
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			s.kill()
			return nil, fmt.Errorf("minio %s not ready after a minute; see %s", name, filepath.Join(dir, "minio.log"))
		}
	}
}

func (s *site) url() string {
	if s.tls {
		return "https://" + s.endpoint
	}
	return "http://" + s.endpoint
}

// client is a minio-go client of the site's root user.
func (s *site) client(roots *x509.CertPool) (*minio.Client, error) {
	return minio.New(s.endpoint, &minio.Options{
		Creds:     credentials.NewStaticV4(s.accessKey, s.secretKey, ""),
		Secure:    s.tls,
		Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots}},
	})
}

// child is a server the drill started.
type child struct {
	cmd    *exec.Cmd
	exited chan struct{}
}

// startChild starts cmd and closes done (its log) once it has exited.
func startChild(cmd *exec.Cmd, done io.Closer) (*child, error) {
	if err := cmd.Start(); err != nil {
		done.Close()
		return nil, err
	}
	c := &child{cmd: cmd, exited: make(chan struct{})}
	go func() { _ = cmd.Wait(); done.Close(); close(c.exited) }()
	return c, nil
}

// kill ends the server at once, as the loss of its machine would.
func (c *child) kill() {
	_ = c.cmd.Process.Kill()
	<-c.exited
}

// stop shuts the server down, killing it after 15 seconds.
func (c *child) stop() {
	_ = c.cmd.Process.Signal(os.Interrupt)
	select {
	case <-c.exited:
	case <-time.After(15 * time.Second):
		c.kill()
	}
}

// replicate makes every bucket of from replicate to the bucket of the same
// name on to: the target bucket is made with object locking (so with
// versioning), registered on from as a remote target through MinIO's admin
// API, and named by a replication rule that copies every object, version
// and the objects already there, with their retention and legal holds. No
// deletion replicates: a deleted or overwritten object on the first site
// stays on the second.
//
// The target is synchronous: MinIO copies an object to the second site
// before it acknowledges the upload, so that an evidence record Amparo
// commits after its upload has its object on both sites. (When the second
// site is unreachable MinIO queues the copy and acknowledges anyway.)
func replicate(ctx context.Context, from, to *site, roots *x509.CertPool, buckets ...string) error {
	src, err := from.client(roots)
	if err != nil {
		return err
	}
	dst, err := to.client(roots)
	if err != nil {
		return err
	}
	admin, err := madmin.NewWithOptions(from.endpoint, &madmin.Options{
		Creds:  credentials.NewStaticV4(from.accessKey, from.secretKey, ""),
		Secure: from.tls,
	})
	if err != nil {
		return err
	}
	admin.SetCustomTransport(&http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots}})
	for _, b := range buckets {
		for _, c := range []*minio.Client{src, dst} {
			if err := c.MakeBucket(ctx, b, minio.MakeBucketOptions{ObjectLocking: true}); err != nil {
				if code := minio.ToErrorResponse(err).Code; code != "BucketAlreadyOwnedByYou" {
					return fmt.Errorf("make bucket %s on %s: %w", b, c.EndpointURL().Host, err)
				}
			}
		}
		// Replicas arrive as plaintext (the first site decrypts what it
		// sends): the second site encrypts them at rest with its own key.
		if err := dst.SetBucketEncryption(ctx, b, sse.NewConfigurationSSES3()); err != nil {
			return fmt.Errorf("default encryption of %s on %s: %w", b, to.name, err)
		}
		arn, err := admin.SetRemoteTarget(ctx, b, &madmin.BucketTarget{
			SourceBucket: b,
			TargetBucket: b,
			Endpoint:     to.endpoint,
			Secure:       to.tls,
			Credentials:  &madmin.Credentials{AccessKey: to.accessKey, SecretKey: to.secretKey},
			Type:         madmin.ReplicationService,
			API:          "s3v4",
			// Synchronous: see above.
			ReplicationSync: true,
		})
		if err != nil {
			return fmt.Errorf("remote target for %s: %w", b, err)
		}
		var cfg replication.Config
		if err := cfg.AddRule(replication.Options{
			ID:                      "amparo-second-site",
			RuleStatus:              "enable",
			Priority:                "1",
			DestBucket:              arn,
			ReplicateDeletes:        "disable",
			ReplicateDeleteMarkers:  "disable",
			ExistingObjectReplicate: "enable",
		}); err != nil {
			return err
		}
		if err := src.SetBucketReplication(ctx, b, cfg); err != nil {
			return fmt.Errorf("replication of %s: %w", b, err)
		}
	}
	return nil
}

// freePorts asks the kernel for n free TCP ports on loopback.
func freePorts(n int) ([]int, error) {
	var ports []int
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// secret is a random password.
func secret() string {
	b := make([]byte, 18)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}
