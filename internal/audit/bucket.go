package audit

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/minio/minio-go/v7"

	"amparo/internal/blob"
)

// CheckpointStore keeps signed checkpoints out of reach of whoever controls
// the database: the sealer writes each one there before the database row,
// and Verify compares the two.
type CheckpointStore interface {
	// Put stores the checkpoint of a tree of size leaves, locked against
	// change and deletion. When the object already holds exactly msg (a
	// retry after a failed database commit) it returns that version and
	// writes nothing.
	//
	// Errors: ErrForked when the object holds another checkpoint.
	Put(ctx context.Context, size int64, msg []byte) (StoredObject, error)
	// List returns every version of every checkpoint object of a tree
	// larger than after leaves, by key then version (-1 lists them all).
	// Delete markers are left out: they hide nothing from a read by
	// version.
	List(ctx context.Context, after int64) ([]StoredObject, error)
	// Get reads one version of an object.
	Get(ctx context.Context, key, version string) ([]byte, error)
	// Retention says how a version is locked: its mode ("COMPLIANCE") and
	// until when.
	Retention(ctx context.Context, key, version string) (string, time.Time, error)
}

// StoredObject is one version of an object of a CheckpointStore.
type StoredObject struct {
	Key      string
	Version  string
	Size     int64  // tree size its key names; -1 when the key names none
	ETag     string // MD5 of the content for a plain upload; anything otherwise
	Modified time.Time
}

// ErrForked means the store already holds a different checkpoint of the
// same tree size: the database log is not the log that was checkpointed.
var ErrForked = errors.New("audit: a different checkpoint of this size is already locked in the store")

// checkpointPrefix is where checkpoint objects live in the bucket.
const checkpointPrefix = "checkpoints/"

// CheckpointKey is the object name of the checkpoint of a tree of size
// leaves: zero-padded, so that names sort as sizes do.
func CheckpointKey(size int64) string { return fmt.Sprintf("%s%020d", checkpointPrefix, size) }

// sizeOfKey is CheckpointKey's inverse; -1 for any other name.
func sizeOfKey(key string) int64 {
	s, ok := strings.CutPrefix(key, checkpointPrefix)
	if !ok || len(s) != 20 {
		return -1
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 || CheckpointKey(n) != key {
		return -1
	}
	return n
}

// BucketName is the name of the audit bucket that goes with an evidence
// bucket: a bucket of its own, so that evidence lifecycle rules and
// credentials never touch it.
func BucketName(evidenceBucket string) string { return evidenceBucket + "-audit" }

// maxCheckpointBytes bounds a read: a checkpoint is a few hundred bytes.
const maxCheckpointBytes = 64 << 10

// Bucket is a CheckpointStore over a MinIO (S3) bucket with object locking:
// every checkpoint is written with COMPLIANCE retention, which nobody, the
// root user included, can shorten or lift before it ends.
type Bucket struct {
	client    *minio.Client
	bucket    string
	retention time.Duration
}

// OpenBucket returns the store over cfg.Bucket, creating the bucket with
// object locking when it does not exist. retention is how long each
// checkpoint stays locked.
//
// Errors: UNAVAILABLE when the server cannot be reached; an error when the
// bucket exists without object locking, where checkpoints could be deleted.
func OpenBucket(ctx context.Context, cfg blob.Config, retention time.Duration) (*Bucket, error) {
	if retention <= 0 {
		return nil, errors.New("audit: bucket: retention must be positive")
	}
	s, err := blob.New(cfg)
	if err != nil {
		return nil, fmt.Errorf("audit: bucket: %w", err)
	}
	if err := s.EnsureBucket(ctx); err != nil {
		return nil, fmt.Errorf("audit: bucket %s: %w", cfg.Bucket, err)
	}
	lock, _, _, _, err := s.Client().GetObjectLockConfig(ctx, cfg.Bucket)
	if err != nil || lock != "Enabled" {
		return nil, fmt.Errorf("audit: bucket %s has no object locking; checkpoints there could be deleted (%v)", cfg.Bucket, err)
	}
	return &Bucket{client: s.Client(), bucket: cfg.Bucket, retention: retention}, nil
}

// LookupBucket returns the store over cfg.Bucket for reading, as Verify
// does: it creates nothing, and a missing bucket is an error.
//
// Errors: UNAVAILABLE when the server cannot be reached; an error when the
// bucket does not exist or has no object locking.
func LookupBucket(ctx context.Context, cfg blob.Config) (*Bucket, error) {
	s, err := blob.New(cfg)
	if err != nil {
		return nil, fmt.Errorf("audit: bucket: %w", err)
	}
	ok, err := s.Client().BucketExists(ctx, cfg.Bucket)
	if err != nil {
		return nil, fmt.Errorf("audit: bucket %s: %w", cfg.Bucket, err)
	}
	if !ok {
		return nil, fmt.Errorf("audit: bucket %s does not exist", cfg.Bucket)
	}
	lock, _, _, _, err := s.Client().GetObjectLockConfig(ctx, cfg.Bucket)
	if err != nil || lock != "Enabled" {
		return nil, fmt.Errorf("audit: bucket %s has no object locking (%v)", cfg.Bucket, err)
	}
	return &Bucket{client: s.Client(), bucket: cfg.Bucket}, nil
}

// Name is the bucket's name.
func (b *Bucket) Name() string { return b.bucket }

// Put implements CheckpointStore.
func (b *Bucket) Put(ctx context.Context, size int64, msg []byte) (StoredObject, error) {
	if b.retention <= 0 {
		return StoredObject{}, errors.New("audit: bucket: opened for reading only")
	}
	key := CheckpointKey(size)
	info, err := b.client.StatObject(ctx, b.bucket, key, minio.StatObjectOptions{})
	switch code := minio.ToErrorResponse(err).Code; {
	case err == nil:
		old, err := b.Get(ctx, key, info.VersionID)
		if err != nil {
			return StoredObject{}, err
		}
		if !bytes.Equal(old, msg) {
			return StoredObject{}, fmt.Errorf("%w: %s version %s", ErrForked, key, info.VersionID)
		}
		return StoredObject{Key: key, Version: info.VersionID, Size: size, ETag: info.ETag, Modified: info.LastModified}, nil
	case code == "NoSuchKey" || code == "NoSuchVersion":
	default:
		return StoredObject{}, fmt.Errorf("audit: bucket: stat %s: %w", key, err)
	}
	up, err := b.client.PutObject(ctx, b.bucket, key, bytes.NewReader(msg), int64(len(msg)), minio.PutObjectOptions{
		ContentType:     "text/plain; charset=utf-8",
		Mode:            minio.Compliance,
		RetainUntilDate: time.Now().Add(b.retention).UTC(),
		SendContentMd5:  true,
	})
	if err != nil {
		return StoredObject{}, fmt.Errorf("audit: bucket: put %s: %w", key, err)
	}
	if up.VersionID == "" {
		return StoredObject{}, fmt.Errorf("audit: bucket: put %s: no version id (is versioning on?)", key)
	}
	return StoredObject{Key: key, Version: up.VersionID, Size: size, ETag: up.ETag, Modified: up.LastModified}, nil
}

// List implements CheckpointStore.
func (b *Bucket) List(ctx context.Context, after int64) ([]StoredObject, error) {
	opts := minio.ListObjectsOptions{Prefix: checkpointPrefix, Recursive: true, WithVersions: true}
	if after >= 0 {
		opts.StartAfter = CheckpointKey(after)
	}
	var out []StoredObject
	for o := range b.client.ListObjects(ctx, b.bucket, opts) {
		if o.Err != nil {
			return nil, fmt.Errorf("audit: bucket: list: %w", o.Err)
		}
		if o.IsDeleteMarker {
			continue
		}
		out = append(out, StoredObject{Key: o.Key, Version: o.VersionID, Size: sizeOfKey(o.Key), ETag: o.ETag, Modified: o.LastModified})
	}
	return out, nil
}

// Get implements CheckpointStore.
func (b *Bucket) Get(ctx context.Context, key, version string) ([]byte, error) {
	o, err := b.client.GetObject(ctx, b.bucket, key, minio.GetObjectOptions{VersionID: version})
	if err != nil {
		return nil, fmt.Errorf("audit: bucket: get %s version %s: %w", key, version, err)
	}
	defer o.Close()
	data, err := io.ReadAll(io.LimitReader(o, maxCheckpointBytes+1))
	if err != nil {
		return nil, fmt.Errorf("audit: bucket: get %s version %s: %w", key, version, err)
	}
	if len(data) > maxCheckpointBytes {
		return nil, fmt.Errorf("audit: bucket: %s version %s is too large for a checkpoint", key, version)
	}
	return data, nil
}

// Retention implements CheckpointStore.
func (b *Bucket) Retention(ctx context.Context, key, version string) (string, time.Time, error) {
	mode, until, err := b.client.GetObjectRetention(ctx, b.bucket, key, version)
	if err != nil {
		return "", time.Time{}, fmt.Errorf("audit: bucket: retention of %s version %s: %w", key, version, err)
	}
	var m string
	var u time.Time
	if mode != nil {
		m = string(*mode)
	}
	if until != nil {
		u = *until
	}
	return m, u, nil
}

// isNotFound reports whether err says that an object version is missing.
func isNotFound(err error) bool {
	var er minio.ErrorResponse
	if errors.As(err, &er) {
		return er.Code == "NoSuchKey" || er.Code == "NoSuchVersion"
	}
	return false
}

// etagOf is the ETag S3 gives a plain single-part upload of data.
func etagOf(data []byte) string {
	sum := md5.Sum(data)
	return hex.EncodeToString(sum[:])
}
