// Package blob keeps evidence objects in MinIO (any S3 server with object
// locking). It streams uploads with a fixed part size so that memory per
// upload stays bounded whatever the object's size, encrypts every object at
// rest (SSE-S3), locks final objects against deletion and overwrite, and
// classifies storage failures as UNAVAILABLE.
//
// An evidence object lives in two states, told by its StateTag: staged
// (written, not yet backed by a committed record, deletable) and final
// (under governance retention, and a legal hold while its case is open).
// Moving from one to the other touches metadata only, never the bytes: a
// server-side copy of a 1 GiB video would cost as much as its upload.
package blob

import (
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"net/url"
	"syscall"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
	"github.com/minio/minio-go/v7/pkg/encrypt"
	"github.com/minio/minio-go/v7/pkg/sse"
	"github.com/minio/minio-go/v7/pkg/tags"

	"amparo/internal/apperr"
)

// PartSize is the multipart part size of uploads. An upload of unknown
// length holds whole parts in memory (minio-go would pick about 512 MiB
// when left to itself); 16 MiB keeps an upload's memory small and still
// allows objects of up to 160 GiB (10,000 parts).
const PartSize = 16 << 20

// PartBuffers is how many parts of one upload are in memory at once: one
// fills from the client while the other travels to MinIO, so that neither
// side waits for the other. An upload holds PartBuffers*PartSize (32 MiB),
// taken from a pool the Store keeps and given back, so the server's memory
// is about that times the uploads in flight (graph.Limits.MaxUploads).
const PartBuffers = 2

// StateTag is the object tag that says whether an evidence object is
// StateStaged or StateFinal.
const (
	StateTag    = "amparo-state"
	StateStaged = "staged"
	StateFinal  = "final"
)

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
	parts  *bufferPool
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
	return &Store{client: c, bucket: cfg.Bucket, parts: newBufferPool(PartBuffers)}, nil
}

// Client is the underlying minio-go client, for tests and tools.
func (s *Store) Client() *minio.Client { return s.client }

// Bucket is the bucket's name.
func (s *Store) Bucket() string { return s.bucket }

// EnsureBucket creates the bucket with object locking (which also turns
// versioning on) when it does not exist, checks that an existing one has
// object locking, and makes SSE-S3 its default encryption. A server still
// starting up is waited for, up to 30 seconds: replicas and MinIO often
// start together.
//
// Errors: UNAVAILABLE when the server cannot be reached; INTERNAL when the
// bucket exists without object locking (evidence in it could be deleted)
// or the server cannot encrypt (no KMS configured).
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
	const op = "blob.EnsureBucket"
	ok, err := s.client.BucketExists(ctx, s.bucket)
	if err != nil {
		return classify(op, err)
	}
	if !ok {
		err = s.client.MakeBucket(ctx, s.bucket, minio.MakeBucketOptions{ObjectLocking: true})
		if er := minio.ToErrorResponse(err); err != nil && er.Code != "BucketAlreadyOwnedByYou" && er.Code != "BucketAlreadyExists" {
			return classify(op, err)
		}
		// else another replica made it first
	}
	lock, _, _, _, err := s.client.GetObjectLockConfig(ctx, s.bucket)
	if err != nil && minio.ToErrorResponse(err).Code != "ObjectLockConfigurationNotFoundError" {
		return classify(op, err)
	}
	if lock != "Enabled" {
		return &apperr.Error{Op: op, Kind: apperr.Internal,
			Err: fmt.Errorf("bucket %s has no object locking: evidence in it could be deleted; create a new bucket", s.bucket)}
	}
	if _, err := s.client.GetBucketEncryption(ctx, s.bucket); err == nil {
		return nil
	} else if minio.ToErrorResponse(err).Code != "ServerSideEncryptionConfigurationNotFoundError" {
		return classify(op, err)
	}
	if err := s.client.SetBucketEncryption(ctx, s.bucket, sse.NewConfigurationSSES3()); err != nil {
		return classify(op, fmt.Errorf("default encryption (is a KMS configured?): %w", err))
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

// Put streams r, of unknown length, to key, encrypted at rest.
//
// Errors: whatever r returns (a reader that enforces a size limit passes its
// own error through); UNAVAILABLE when the server cannot be reached. A
// failed upload leaves no object and no incomplete multipart upload behind
// unless the server went away meanwhile (Purge clears those later).
func (s *Store) Put(ctx context.Context, key string, r io.Reader, contentType string) (Object, error) {
	return s.put(ctx, "blob.Put", key, r, contentType, nil)
}

// PutStaged is Put for an object that is not yet backed by a committed
// record: it is tagged StateStaged and has no retention, so that Purge can
// still remove it; Finalize locks it.
func (s *Store) PutStaged(ctx context.Context, key string, r io.Reader, contentType string) (Object, error) {
	return s.put(ctx, "blob.PutStaged", key, r, contentType, map[string]string{StateTag: StateStaged})
}

func (s *Store) put(ctx context.Context, op, key string, r io.Reader, contentType string, tags map[string]string) (Object, error) {
	obj, err := s.upload(ctx, key, r, minio.PutObjectOptions{
		ContentType:          contentType,
		UserTags:             tags,
		ServerSideEncryption: encrypt.NewSSE(),
	})
	if err != nil {
		return Object{}, classify(op, err)
	}
	return obj, nil
}

// Lock is what protects a final object version.
type Lock struct {
	RetainUntil time.Time // governance retention until this instant
	LegalHold   bool      // a legal hold, while the case is open
}

// Finalize protects a staged object version: a legal hold when
// l.LegalHold, the StateFinal tag, and governance retention until
// l.RetainUntil, in that order (see retain). It is idempotent: finalizing
// a final version again changes nothing.
//
// Errors: NOT_FOUND when the version does not exist; UNAVAILABLE.
func (s *Store) Finalize(ctx context.Context, key, versionID string, l Lock) error {
	const op = "blob.Finalize"
	if l.LegalHold {
		if err := s.hold(ctx, key, versionID, true); err != nil {
			return classify(op, fmt.Errorf("legal hold: %w", err))
		}
	}
	t, err := tags.NewTags(map[string]string{StateTag: StateFinal}, true)
	if err != nil {
		return &apperr.Error{Op: op, Kind: apperr.Internal, Err: err}
	}
	if err := s.client.PutObjectTagging(ctx, s.bucket, key, t, minio.PutObjectTaggingOptions{VersionID: versionID}); err != nil {
		return classify(op, fmt.Errorf("tag: %w", err))
	}
	mode := minio.Governance
	if err := s.retain(ctx, key, versionID, mode, l.RetainUntil); err != nil {
		return classify(op, fmt.Errorf("retention: %w", err))
	}
	return nil
}

// SetLegalHold places or lifts the legal hold on an object version, then
// sets its retention again, unchanged (see retain).
//
// Errors: NOT_FOUND; UNAVAILABLE.
func (s *Store) SetLegalHold(ctx context.Context, key, versionID string, on bool) error {
	const op = "blob.SetLegalHold"
	if err := s.hold(ctx, key, versionID, on); err != nil {
		return classify(op, err)
	}
	mode, until, err := s.client.GetObjectRetention(ctx, s.bucket, key, versionID)
	if err != nil && minio.ToErrorResponse(err).Code != "NoSuchObjectLockConfiguration" {
		return classify(op, fmt.Errorf("read retention: %w", err))
	}
	if mode == nil || until == nil || !until.After(time.Now()) {
		return nil // no retention in force, none to keep
	}
	if err := s.retain(ctx, key, versionID, *mode, *until); err != nil {
		return classify(op, fmt.Errorf("retention: %w", err))
	}
	return nil
}

func (s *Store) hold(ctx context.Context, key, versionID string, on bool) error {
	st := minio.LegalHoldDisabled
	if on {
		st = minio.LegalHoldEnabled
	}
	return s.client.PutObjectLegalHold(ctx, s.bucket, key, minio.PutObjectLegalHoldOptions{VersionID: versionID, Status: &st})
}

// retain sets an object version's retention. It is the last change to a
// version's lock, whatever else changes, because of how MinIO (up to at
// least the version `make bin/minio` builds) replicates lock changes to a
// bucket replica: each change is sent as a metadata copy carrying the
// version's whole lock with the time each part last changed. The replica
// drops the retention it holds and takes the one sent only when its time
// is later than the retention time the replica recorded, and a legal hold
// it takes records the legal hold's time as that retention time (the
// CopyObject handler in cmd/object-handlers.go). A retention set before
// the legal hold or the tag is therefore lost on the replica by the next
// change; one set after them is kept by every later copy, each of which
// records the earlier legal hold time again. TestReplicaKeepsLocks
// (deploy/drill) reads the replica's locks after each step.
func (s *Store) retain(ctx context.Context, key, versionID string, mode minio.RetentionMode, until time.Time) error {
	until = until.UTC().Truncate(time.Second)
	return s.client.PutObjectRetention(ctx, s.bucket, key, minio.PutObjectRetentionOptions{
		Mode: &mode, RetainUntilDate: &until, VersionID: versionID,
	})
}

// LockState is how an object version is protected, as the server says.
type LockState struct {
	Mode        string    // "GOVERNANCE", "COMPLIANCE" or "" for none
	RetainUntil time.Time // zero without retention
	LegalHold   bool
	State       string // the StateTag value, "" when untagged
	Size        int64
	Encrypted   bool // SSE-S3 or SSE-KMS at rest
}

// Inspect reports how an object version is protected.
//
// Errors: NOT_FOUND; UNAVAILABLE.
func (s *Store) Inspect(ctx context.Context, key, versionID string) (LockState, error) {
	const op = "blob.Inspect"
	var ls LockState
	info, err := s.client.StatObject(ctx, s.bucket, key, minio.StatObjectOptions{VersionID: versionID})
	if err != nil {
		return ls, classify(op, err)
	}
	ls.Size = info.Size
	ls.Encrypted = info.Metadata.Get("X-Amz-Server-Side-Encryption") != ""
	mode, until, err := s.client.GetObjectRetention(ctx, s.bucket, key, versionID)
	if err != nil && minio.ToErrorResponse(err).Code != "NoSuchObjectLockConfiguration" {
		return ls, classify(op, err)
	}
	if mode != nil {
		ls.Mode = string(*mode)
	}
	if until != nil {
		ls.RetainUntil = *until
	}
	hold, err := s.client.GetObjectLegalHold(ctx, s.bucket, key, minio.GetObjectLegalHoldOptions{VersionID: versionID})
	if err != nil && minio.ToErrorResponse(err).Code != "NoSuchObjectLockConfiguration" {
		return ls, classify(op, err)
	}
	ls.LegalHold = hold != nil && *hold == minio.LegalHoldEnabled
	t, err := s.client.GetObjectTagging(ctx, s.bucket, key, minio.GetObjectTaggingOptions{VersionID: versionID})
	if err != nil {
		return ls, classify(op, err)
	}
	ls.State = t.ToMap()[StateTag]
	return ls, nil
}

// Open reads a stored object version.
func (s *Store) Open(ctx context.Context, key, versionID string) (io.ReadCloser, error) {
	o, err := s.client.GetObject(ctx, s.bucket, key, minio.GetObjectOptions{VersionID: versionID})
	if err != nil {
		return nil, classify("blob.Open", err)
	}
	return reader{o}, nil
}

// reader classifies the errors of an object being read: minio-go asks the
// server only on the first Read, so that is where a missing object shows.
type reader struct{ o *minio.Object }

func (r reader) Read(p []byte) (int, error) {
	n, err := r.o.Read(p)
	if err != nil && err != io.EOF {
		err = classify("blob.Read", err)
	}
	return n, err
}

func (r reader) Close() error { return r.o.Close() }

// Remove deletes an object version that is not locked: it undoes an upload
// whose record was never committed.
func (s *Store) Remove(ctx context.Context, key, versionID string) error {
	err := s.client.RemoveObject(ctx, s.bucket, key, minio.RemoveObjectOptions{VersionID: versionID})
	return classify("blob.Remove", err)
}

// Purge removes everything stored under key: incomplete multipart uploads
// and every version. It never bypasses governance retention, so a final
// object survives it.
//
// Errors: UNAVAILABLE; INTERNAL when a version is locked.
func (s *Store) Purge(ctx context.Context, key string) error {
	const op = "blob.Purge"
	if err := s.client.RemoveIncompleteUpload(ctx, s.bucket, key); err != nil {
		return classify(op, fmt.Errorf("abort incomplete uploads: %w", err))
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel() // stops the listing goroutine on an early return
	for o := range s.client.ListObjects(ctx, s.bucket, minio.ListObjectsOptions{Prefix: key, WithVersions: true, Recursive: true}) {
		if o.Err != nil {
			return classify(op, o.Err)
		}
		if o.Key != key {
			continue
		}
		err := s.client.RemoveObject(ctx, s.bucket, key, minio.RemoveObjectOptions{VersionID: o.VersionID})
		if err != nil {
			return classify(op, fmt.Errorf("remove version %s: %w", o.VersionID, err))
		}
	}
	return nil
}

// Classify maps a storage error of op to an apperr kind, for other
// packages that talk to MinIO through Client (the exports bucket).
func Classify(op string, err error) error { return classify(op, err) }

// classify maps storage errors to apperr kinds; errors that already carry a
// kind (such as a size limit hit by the reader) pass through.
func classify(op string, err error) error {
	if err == nil {
		return nil
	}
	if _, ok := apperr.As(err); ok {
		return err
	}
	if unreachable(err) {
		return &apperr.Error{Op: op, Kind: apperr.Unavailable, Err: err}
	}
	switch er := minio.ToErrorResponse(err); {
	// A storage server that answers 5xx (503 while starting, 500 while it
	// shuts down under a request) failed this request, not the caller:
	// trying again later is the right advice.
	case er.StatusCode >= 500 || er.Code == "XMinioServerNotInitialized":
		return &apperr.Error{Op: op, Kind: apperr.Unavailable, Err: err}
	case er.Code == "NoSuchKey" || er.Code == "NoSuchVersion":
		return &apperr.Error{Op: op, Kind: apperr.NotFound, Err: err}
	}
	return &apperr.Error{Op: op, Kind: apperr.Internal, Err: err}
}

// unreachable reports whether err says the storage server could not be
// reached or went away mid-request. A server stopped while it reads an
// upload shows up in several shapes: a refused or reset connection, a
// response cut short (io.ErrUnexpectedEOF outside any url.Error), or
// minio-go's own "connection closed" rewording of an EOF.
func unreachable(err error) bool {
	var ne net.Error
	switch {
	case errors.As(err, &ne), errors.Is(err, context.DeadlineExceeded),
		errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF),
		errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.ECONNREFUSED),
		errors.Is(err, syscall.EPIPE):
		return true
	}
	return minio.IsNetworkOrHostDown(err, false)
}

// PresignGet returns a URL that reads one version of an object for ttl.
func (s *Store) PresignGet(ctx context.Context, key, versionID string, ttl time.Duration) (string, error) {
	return s.PresignDownload(ctx, key, versionID, "", ttl)
}

// PresignDownload is PresignGet with the response marked as an attachment
// named filename (when not empty): a browser saves the file instead of
// rendering it, so a crafted PDF or text file cannot run as a page of the
// storage server's origin.
func (s *Store) PresignDownload(ctx context.Context, key, versionID, filename string, ttl time.Duration) (string, error) {
	params := url.Values{}
	if versionID != "" {
		params.Set("versionId", versionID)
	}
	if filename != "" {
		cd := mime.FormatMediaType("attachment", map[string]string{"filename": filename})
		if cd == "" { // a name mime cannot encode: still an attachment
			cd = "attachment"
		}
		params.Set("response-content-disposition", cd)
	}
	u, err := s.client.PresignedGetObject(ctx, s.bucket, key, ttl, params)
	if err != nil {
		return "", classify("blob.PresignGet", err)
	}
	return u.String(), nil
}
