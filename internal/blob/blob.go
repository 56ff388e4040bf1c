// Package blob keeps evidence objects in MinIO (any S3 server with object
// locking). It streams uploads with a fixed part size so that memory per
// upload stays bounded whatever the object's size, and classifies storage
// failures as UNAVAILABLE.
package blob

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"amparo/internal/apperr"
)

// PartSize is the multipart part size of uploads. minio-go buffers one part
// in memory per upload of unknown length, and picks about 512 MiB when left
// to itself; 16 MiB keeps an upload's memory small and still allows objects
// of up to 160 GiB (10,000 parts).
const PartSize = 16 << 20

// Config says where the store is.
type Config struct {
	Endpoint  string // host:port
	AccessKey string
	SecretKey string
	Bucket    string
	UseTLS    bool
}

// Store is a bucket of a MinIO server.
type Store struct {
	client *minio.Client
	bucket string
}

// New returns a Store; it does not contact the server.
func New(cfg Config) (*Store, error) {
	c, err := minio.New(cfg.Endpoint, &minio.Options{
		Creds:  credentials.NewStaticV4(cfg.AccessKey, cfg.SecretKey, ""),
		Secure: cfg.UseTLS,
		// Fail fast when the server is down: a border post retries, it does
		// not wait a minute for a dead connection.
		Transport: &http.Transport{
			Proxy:                 http.ProxyFromEnvironment,
			DialContext:           (&net.Dialer{Timeout: 3 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
			MaxIdleConnsPerHost:   64,
			IdleConnTimeout:       90 * time.Second,
			TLSHandshakeTimeout:   5 * time.Second,
			ResponseHeaderTimeout: 30 * time.Second,
		},
		MaxRetries: 1,
	})
	if err != nil {
		return nil, fmt.Errorf("blob: %w", err)
	}
	return &Store{client: c, bucket: cfg.Bucket}, nil
}

// Client is the underlying minio-go client, for tests and tools.
func (s *Store) Client() *minio.Client { return s.client }

// Bucket is the bucket's name.
func (s *Store) Bucket() string { return s.bucket }

// EnsureBucket creates the bucket with object locking (which also turns
// versioning on) when it does not exist. A server still starting up is
// waited for, up to 30 seconds: replicas and MinIO often start together.
func (s *Store) EnsureBucket(ctx context.Context) error {
	deadline := time.Now().Add(30 * time.Second)
	for {
		err := s.ensureBucket(ctx)
		if err == nil || !apperr.Is(err, apperr.Unavailable) || time.Now().After(deadline) {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(250 * time.Millisecond):
		}
	}
}

func (s *Store) ensureBucket(ctx context.Context) error {
	ok, err := s.client.BucketExists(ctx, s.bucket)
	if err != nil {
		return classify("blob.EnsureBucket", err)
	}
	if ok {
		return nil
	}
	err = s.client.MakeBucket(ctx, s.bucket, minio.MakeBucketOptions{ObjectLocking: true})
	if err != nil {
		if er := minio.ToErrorResponse(err); er.Code == "BucketAlreadyOwnedByYou" || er.Code == "BucketAlreadyExists" {
			return nil // another replica made it first
		}
		return classify("blob.EnsureBucket", err)
	}
	return nil
}

// Ready checks that the bucket can be reached.
func (s *Store) Ready(ctx context.Context) error {
	_, err := s.client.BucketExists(ctx, s.bucket)
	return classify("blob.Ready", err)
}

// Object describes a stored object version.
type Object struct {
	Key       string
	VersionID string
	Size      int64
}

// Put streams r, of unknown length, to key.
//
// Errors: whatever r returns (a reader that enforces a size limit passes its
// own error through); UNAVAILABLE when the server cannot be reached.
func (s *Store) Put(ctx context.Context, key string, r io.Reader, contentType string) (Object, error) {
	info, err := s.client.PutObject(ctx, s.bucket, key, r, -1, minio.PutObjectOptions{
		ContentType: contentType,
		PartSize:    PartSize,
		NumThreads:  1,
	})
	if err != nil {
		return Object{}, classify("blob.Put", err)
	}
	return Object{Key: key, VersionID: info.VersionID, Size: info.Size}, nil
}

// Open reads a stored object version.
func (s *Store) Open(ctx context.Context, key, versionID string) (io.ReadCloser, error) {
	o, err := s.client.GetObject(ctx, s.bucket, key, minio.GetObjectOptions{VersionID: versionID})
	if err != nil {
		return nil, classify("blob.Open", err)
	}
	return o, nil
}

// Remove deletes an object version that is not locked: it undoes an upload
// whose record was never committed.
func (s *Store) Remove(ctx context.Context, key, versionID string) error {
	err := s.client.RemoveObject(ctx, s.bucket, key, minio.RemoveObjectOptions{VersionID: versionID})
	return classify("blob.Remove", err)
}

// classify maps storage errors to apperr kinds; errors that already carry a
// kind (such as a size limit hit by the reader) pass through.
func classify(op string, err error) error {
	if err == nil {
		return nil
	}
	if _, ok := apperr.As(err); ok {
		return err
	}
	var ne net.Error
	if errors.As(err, &ne) || errors.Is(err, context.DeadlineExceeded) {
		return &apperr.Error{Op: op, Kind: apperr.Unavailable, Err: err}
	}
	switch er := minio.ToErrorResponse(err); {
	case er.StatusCode == http.StatusServiceUnavailable || er.Code == "XMinioServerNotInitialized":
		return &apperr.Error{Op: op, Kind: apperr.Unavailable, Err: err}
	case er.Code == "NoSuchKey" || er.Code == "NoSuchVersion":
		return &apperr.Error{Op: op, Kind: apperr.NotFound, Err: err}
	}
	return &apperr.Error{Op: op, Kind: apperr.Internal, Err: err}
}

// PresignGet returns a URL that reads one version of an object for ttl.
func (s *Store) PresignGet(ctx context.Context, key, versionID string, ttl time.Duration) (string, error) {
	params := url.Values{}
	if versionID != "" {
		params.Set("versionId", versionID)
	}
	u, err := s.client.PresignedGetObject(ctx, s.bucket, key, ttl, params)
	if err != nil {
		return "", classify("blob.PresignGet", err)
	}
	return u.String(), nil
}
