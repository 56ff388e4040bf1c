package export

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/url"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/encrypt"
	"github.com/minio/minio-go/v7/pkg/lifecycle"
	"github.com/minio/minio-go/v7/pkg/sse"

	"amparo/internal/apperr"
	"amparo/internal/blob"
)

// MaxURLTTL is the longest a download URL lives.
const MaxURLTTL = 5 * time.Minute

// Retention is how long an exported file is kept.
const Retention = 24 * time.Hour

// partSize is the multipart part size of an export upload: one part is in
// memory at a time, whatever the export's size.
const partSize = 8 << 20

// BucketName is the exports bucket beside the evidence bucket.
func BucketName(evidence string) string { return evidence + "-exports" }

// Bucket keeps exported files: encrypted at rest with the server's KMS key
// (SSE-S3, as evidence is), deleted after Retention by the bucket's
// lifecycle rule and, to the hour, by Sweep.
type Bucket struct {
	client *minio.Client
	bucket string
	ttl    time.Duration
}

// OpenBucket connects to cfg's server and makes sure its bucket exists,
// encrypts by default and expires objects after a day. urlTTL is the life
// of download URLs, at most MaxURLTTL (0: MaxURLTTL).
//
// Errors: UNAVAILABLE when the server cannot be reached; INTERNAL when it
// cannot encrypt (no KMS configured).
func OpenBucket(ctx context.Context, cfg blob.Config, urlTTL time.Duration) (*Bucket, error) {
	const op = "export.OpenBucket"
	if urlTTL <= 0 || urlTTL > MaxURLTTL {
		urlTTL = MaxURLTTL
	}
	s, err := blob.New(cfg)
	if err != nil {
		return nil, &apperr.Error{Op: op, Kind: apperr.Internal, Err: err}
	}
	b := &Bucket{client: s.Client(), bucket: cfg.Bucket, ttl: urlTTL}
	deadline := time.Now().Add(30 * time.Second)
	for {
		err = b.ensure(ctx)
		if err == nil || !apperr.Is(err, apperr.Unavailable) || time.Now().After(deadline) {
			break
		}
		select {
		case <-ctx.Done():
			return nil, err
		case <-time.After(250 * time.Millisecond):
		}
	}
	if err != nil {
		return nil, err
	}
	return b, nil
}

func (b *Bucket) ensure(ctx context.Context) error {
	const op = "export.OpenBucket"
	ok, err := b.client.BucketExists(ctx, b.bucket)
	if err != nil {
		return classify(op, err)
	}
	if !ok {
		err = b.client.MakeBucket(ctx, b.bucket, minio.MakeBucketOptions{})
		if er := minio.ToErrorResponse(err); err != nil && er.Code != "BucketAlreadyOwnedByYou" && er.Code != "BucketAlreadyExists" {
			return classify(op, err)
		}
	}
	if err := b.client.SetBucketEncryption(ctx, b.bucket, sse.NewConfigurationSSES3()); err != nil {
		return classify(op, fmt.Errorf("default encryption (is a KMS configured?): %w", err))
	}
	rules := lifecycle.NewConfiguration()
	rules.Rules = []lifecycle.Rule{{
		ID: "exports-expire", Status: "Enabled",
		RuleFilter: lifecycle.Filter{Prefix: ""},
		Expiration: lifecycle.Expiration{Days: lifecycle.ExpirationDays(1)},
	}}
	if err := b.client.SetBucketLifecycle(ctx, b.bucket, rules); err != nil {
		return classify(op, fmt.Errorf("lifecycle: %w", err))
	}
	return nil
}

// Put streams r, of unknown length, to key, encrypted at rest.
//
// Errors: whatever r returns; UNAVAILABLE.
func (b *Bucket) Put(ctx context.Context, key, contentType string, r io.Reader) (int64, error) {
	info, err := b.client.PutObject(ctx, b.bucket, key, r, -1, minio.PutObjectOptions{
		ContentType: contentType, PartSize: partSize, NumThreads: 1,
		ServerSideEncryption: encrypt.NewSSE(),
	})
	if err != nil {
		return 0, classify("export.Put", err)
	}
	return info.Size, nil
}

// URL returns a URL that downloads key as an attachment named filename,
// valid for the bucket's URL TTL, and when it expires.
//
// Errors: UNAVAILABLE.
func (b *Bucket) URL(ctx context.Context, key, filename string) (string, time.Time, error) {
	params := url.Values{}
	params.Set("response-content-disposition", mime.FormatMediaType("attachment", map[string]string{"filename": filename}))
	expires := time.Now().Add(b.ttl)
	u, err := b.client.PresignedGetObject(ctx, b.bucket, key, b.ttl, params)
	if err != nil {
		return "", time.Time{}, classify("export.URL", err)
	}
	return u.String(), expires, nil
}

// Encrypted reports whether key is encrypted at rest.
//
// Errors: NOT_FOUND; UNAVAILABLE.
func (b *Bucket) Encrypted(ctx context.Context, key string) (bool, error) {
	info, err := b.client.StatObject(ctx, b.bucket, key, minio.StatObjectOptions{})
	if err != nil {
		return false, classify("export.Encrypted", err)
	}
	return info.Metadata.Get("X-Amz-Server-Side-Encryption") != "", nil
}

// Sweep deletes every file older than Retention, returning how many.
// MinIO's lifecycle rule deletes them too, but only once a day has passed
// by its day count (up to 48 h); Sweep makes it 24 h.
//
// Errors: UNAVAILABLE.
func (b *Bucket) Sweep(ctx context.Context, now time.Time) (int, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	n := 0
	for o := range b.client.ListObjects(ctx, b.bucket, minio.ListObjectsOptions{Recursive: true}) {
		if o.Err != nil {
			return n, classify("export.Sweep", o.Err)
		}
		if now.Sub(o.LastModified) < Retention {
			continue
		}
		if err := b.client.RemoveObject(ctx, b.bucket, o.Key, minio.RemoveObjectOptions{}); err != nil {
			return n, classify("export.Sweep", err)
		}
		n++
	}
	return n, nil
}

// Janitor runs Sweep every interval until ctx ends.
func (b *Bucket) Janitor(ctx context.Context, every time.Duration, log *slog.Logger) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		if n, err := b.Sweep(ctx, time.Now()); err != nil && ctx.Err() == nil {
			log.Warn("export janitor", "err", err)
		} else if n > 0 {
			log.Info("export janitor deleted expired exports", "count", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

var classify = blob.Classify
