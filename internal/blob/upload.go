package blob

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"sort"
	"sync"
	"time"

	"github.com/minio/minio-go/v7"
)

// upload streams r, of unknown length, to key. It does what minio-go's
// PutObject does for such a stream, with two differences that matter for
// evidence of up to a gigabyte on a small server:
//
//   - part buffers come from the store's pool and go back to it, so that
//     successive uploads reuse memory rather than leave 32 MiB of garbage
//     each, which the collector lets pile up to twice the live heap;
//   - the payload is not signed: over plain HTTP minio-go hashes every
//     64 KiB with SHA-256 under a fresh HMAC key (and MinIO hashes it
//     again), which costs a third of the throughput and nearly all the
//     garbage; over TLS, as in production, it does not sign payloads
//     anyway. Each part carries a CRC32C that MinIO checks instead, so a
//     part damaged on the way is refused; the SHA-256 that the evidence
//     service records covers the whole object end to end.
//
// A file that fits in one part is stored with a single PUT. PartBuffers
// parts are in memory at once: one fills from r while the other travels to
// MinIO. A failed upload is aborted, so it leaves no parts behind unless
// the server went away meanwhile.
func (s *Store) upload(ctx context.Context, key string, r io.Reader, opts minio.PutObjectOptions) (Object, error) {
	core := minio.Core{Client: s.client}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	// A part that fails cancels ctx; reading stops at the client's next
	// packet rather than after a whole part.
	r = ctxReader{ctx: ctx, r: r}

	free := make(chan []byte, PartBuffers)
	for range PartBuffers {
		free <- s.parts.get()
	}
	defer func() {
		for range PartBuffers {
			s.parts.put(<-free) // every part has returned its buffer by now
		}
	}()

	buf := <-free
	n, rerr := io.ReadFull(r, buf)
	if rerr != nil && rerr != io.EOF && rerr != io.ErrUnexpectedEOF {
		free <- buf
		return Object{}, rerr
	}
	if rerr != nil { // all of it fits in one part
		single := opts
		single.DisableContentSha256 = true
		single.UserMetadata = map[string]string{"X-Amz-Checksum-Crc32c": crc32c(buf[:n])}
		info, err := core.PutObject(ctx, s.bucket, key, bytes.NewReader(buf[:n]), int64(n), "", "", single)
		free <- buf
		if err != nil {
			return Object{}, err
		}
		return Object{Key: key, VersionID: info.VersionID, Size: int64(n)}, nil
	}

	// S3 accepts part checksums only when the upload declares them.
	multi := opts
	multi.UserMetadata = map[string]string{"X-Amz-Checksum-Algorithm": minio.ChecksumCRC32C.String()}
	uploadID, err := core.NewMultipartUpload(ctx, s.bucket, key, multi)
	if err != nil {
		free <- buf
		return Object{}, err
	}
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		parts []minio.CompletePart
		size  int64
	)
	fail := func(err error) (Object, error) {
		cancel(err)
		wg.Wait()
		// The request's context may be gone (a client that hung up): the
		// abort must still happen.
		actx, acancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer acancel()
		if aerr := core.AbortMultipartUpload(actx, s.bucket, key, uploadID); aerr != nil {
			err = fmt.Errorf("%w (and the multipart upload could not be aborted: %v)", err, aerr)
		}
		return Object{}, err
	}
	for number := 1; ; number++ {
		if number > 10_000 {
			free <- buf
			return fail(errors.New("object too large for 10,000 parts"))
		}
		wg.Add(1)
		go func(number int, buf []byte) {
			defer wg.Done()
			defer func() { free <- buf[:cap(buf)] }()
			h := map[string][]string{"X-Amz-Checksum-Crc32c": {crc32c(buf)}}
			p, err := core.PutObjectPart(ctx, s.bucket, key, uploadID, number, bytes.NewReader(buf), int64(len(buf)),
				minio.PutObjectPartOptions{SSE: opts.ServerSideEncryption, CustomHeader: h, DisableContentSha256: true})
			if err != nil {
				cancel(fmt.Errorf("part %d: %w", number, err))
				return
			}
			mu.Lock()
			parts = append(parts, minio.CompletePart{PartNumber: number, ETag: p.ETag, ChecksumCRC32C: p.ChecksumCRC32C})
			mu.Unlock()
		}(number, buf[:n])
		size += int64(n)
		if rerr != nil {
			break // the part just sent was the last
		}
		select {
		case buf = <-free:
		case <-ctx.Done():
			return fail(context.Cause(ctx))
		}
		n, rerr = io.ReadFull(r, buf)
		if rerr == io.EOF { // the previous part was the last
			free <- buf
			break
		}
		if rerr != nil && rerr != io.ErrUnexpectedEOF {
			free <- buf
			return fail(rerr)
		}
	}
	wg.Wait()
	if err := context.Cause(ctx); err != nil {
		return fail(err)
	}
	sort.Slice(parts, func(i, j int) bool { return parts[i].PartNumber < parts[j].PartNumber })
	info, err := core.CompleteMultipartUpload(ctx, s.bucket, key, uploadID, parts, minio.PutObjectOptions{ServerSideEncryption: opts.ServerSideEncryption})
	if err != nil {
		return fail(err)
	}
	return Object{Key: key, VersionID: info.VersionID, Size: size}, nil
}

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// crc32c is the checksum S3 calls CRC32C, as its header carries it.
func crc32c(b []byte) string {
	return base64.StdEncoding.EncodeToString(binary.BigEndian.AppendUint32(nil, crc32.Checksum(b, castagnoli)))
}

// ctxReader fails reads once ctx is done.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := context.Cause(c.ctx); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

// bufferPool keeps idle part buffers for the next upload, up to a bound;
// more are left to the collector.
type bufferPool struct{ idle chan []byte }

func newBufferPool(keep int) *bufferPool { return &bufferPool{idle: make(chan []byte, keep)} }

func (p *bufferPool) get() []byte {
	select {
	case b := <-p.idle:
		return b[:PartSize]
	default:
		return make([]byte, PartSize)
	}
}

func (p *bufferPool) put(b []byte) {
	select {
	case p.idle <- b[:cap(b)]:
	default:
	}
}
