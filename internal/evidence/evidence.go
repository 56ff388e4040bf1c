// Package evidence attaches files to cases: photos, medical reports,
// recorded testimony and documents that may be put before a children's
// court. An upload is streamed to the object store with its SHA-256
// computed on the way, so memory stays bounded whatever the file's size,
// and its record and audit event commit in one transaction.
package evidence

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash"
	"io"
	"log/slog"
	"path"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/jmoiron/sqlx"

	"amparo/internal/apperr"
	"amparo/internal/audit"
	"amparo/internal/auth"
	"amparo/internal/blob"
	"amparo/internal/postgres"
)

// Permissions used by this package.
const (
	PermUpload = "evidence:upload"
	PermRead   = "case:read"
)

// Evidence is the record of a stored file.
type Evidence struct {
	ID          uuid.UUID  `db:"id"`
	CaseID      uuid.UUID  `db:"case_id"`
	ObjectKey   string     `db:"object_key"`
	VersionID   string     `db:"version_id"`
	Filename    string     `db:"filename"`
	ContentType string     `db:"content_type"`
	Size        int64      `db:"size"`
	SHA256      string     `db:"sha256"`
	Description *string    `db:"description"`
	CapturedAt  *time.Time `db:"captured_at"`
	UploadedBy  uuid.UUID  `db:"uploaded_by"`
	UploadedAt  time.Time  `db:"uploaded_at"`
}

// UploadInput is one file to attach to a case.
type UploadInput struct {
	CaseID      uuid.UUID
	File        io.Reader
	Filename    string
	Description *string
	CapturedAt  *time.Time
}

// Cases checks the caller's access to a case (casefile.Service does).
type Cases interface {
	Authorize(ctx context.Context, caseID uuid.UUID, perm string) (*auth.Principal, error)
}

// Service stores and lists evidence.
type Service struct {
	db      *sqlx.DB
	blobs   *blob.Store
	cases   Cases
	log     *slog.Logger
	maxSize int64
	now     func() time.Time
}

// NewService returns a Service; maxSize caps the size of one file.
func NewService(db *sqlx.DB, blobs *blob.Store, cases Cases, log *slog.Logger, maxSize int64) *Service {
	return &Service{db: db, blobs: blobs, cases: cases, log: log, maxSize: maxSize, now: time.Now}
}

// Upload streams a file to the store and records it against a case.
//
// Errors: UNAUTHENTICATED; FORBIDDEN without evidence:upload; NOT_FOUND when
// the case lies outside the caller's scope; BAD_USER_INPUT; PAYLOAD_TOO_LARGE
// over the size limit; UNAVAILABLE when storage or database is down. On any
// error nothing is recorded and the object is removed.
func (s *Service) Upload(ctx context.Context, in UploadInput) (*Evidence, error) {
	const op = "evidence.Upload"
	p, err := s.cases.Authorize(ctx, in.CaseID, PermUpload)
	if err != nil {
		return nil, apperr.Wrap(op, err)
	}
	var v apperr.Validation
	name := SanitizeFilename(in.Filename)
	if in.Description != nil {
		d := strings.TrimSpace(*in.Description)
		if utf8.RuneCountInString(d) > 2000 {
			v.Add("description", "a lo sumo 2000 caracteres", "at most 2000 characters")
		}
		in.Description = &d
	}
	if in.CapturedAt != nil && in.CapturedAt.After(s.now().Add(5*time.Minute)) {
		v.Add("capturedAt", "la fecha de captura está en el futuro", "the capture time is in the future")
	}
	if err := v.Err(); err != nil {
		return nil, apperr.Wrap(op, err)
	}

	e := &Evidence{
		ID: uuid.New(), CaseID: in.CaseID, ObjectKey: randomKey(), Filename: name,
		ContentType: "application/octet-stream", Description: in.Description, CapturedAt: in.CapturedAt,
		UploadedBy: p.UserID,
	}
	h := sha256.New()
	body := &meter{r: in.File, h: h, max: s.maxSize}
	obj, err := s.blobs.Put(ctx, e.ObjectKey, body, e.ContentType)
	if err != nil {
		return nil, apperr.Wrap(op, err)
	}
	e.VersionID, e.Size, e.SHA256 = obj.VersionID, body.n, hex.EncodeToString(h.Sum(nil))
	e.UploadedAt = s.now().UTC()

	err = postgres.WithTx(ctx, s.db, func(tx *sqlx.Tx) error {
		const q = `
INSERT INTO evidence (id, case_id, object_key, version_id, filename, content_type, size, sha256, description,
  captured_at, uploaded_by, uploaded_at)
VALUES (:id, :case_id, :object_key, :version_id, :filename, :content_type, :size, :sha256, :description,
  :captured_at, :uploaded_by, :uploaded_at)`
		if _, err := sqlx.NamedExecContext(ctx, tx, q, e); err != nil {
			return fmt.Errorf("insert evidence: %w", err)
		}
		return audit.Record(ctx, tx, audit.Event{Action: PermUpload, ObjectType: "evidence", ObjectID: e.ID.String(),
			Details: map[string]any{"case": e.CaseID, "sha256": e.SHA256, "size": e.Size, "contentType": e.ContentType}})
	})
	if err != nil {
		// The record did not commit: take the object back so that nothing
		// unaccounted for stays in the store.
		if rerr := s.blobs.Remove(context.WithoutCancel(ctx), obj.Key, obj.VersionID); rerr != nil {
			s.log.ErrorContext(ctx, "orphan evidence object left", "key", obj.Key, "err", rerr)
		}
		return nil, apperr.Wrap(op, err)
	}
	return e, nil
}

// ListByCases returns the evidence of each case, for cases the caller has
// already been authorized to read (a loader batches this per request).
func (s *Service) ListByCases(ctx context.Context, caseIDs []uuid.UUID) (map[uuid.UUID][]*Evidence, error) {
	const q = `SELECT * FROM evidence WHERE case_id = ANY($1) ORDER BY uploaded_at, id`
	var rows []*Evidence
	if err := sqlx.SelectContext(ctx, s.db, &rows, q, uuidArray(caseIDs)); err != nil {
		return nil, postgres.MapError(err)
	}
	out := make(map[uuid.UUID][]*Evidence, len(caseIDs))
	for _, e := range rows {
		out[e.CaseID] = append(out[e.CaseID], e)
	}
	return out, nil
}

// meter passes bytes through while hashing and counting them, and fails
// once more than max bytes have gone by.
type meter struct {
	r   io.Reader
	h   hash.Hash
	n   int64
	max int64
}

func (m *meter) Read(p []byte) (int, error) {
	n, err := m.r.Read(p)
	m.h.Write(p[:n])
	m.n += int64(n)
	if m.max > 0 && m.n > m.max {
		return n, apperr.New(apperr.TooLarge,
			fmt.Sprintf("el archivo excede el límite de %d MiB", m.max>>20),
			fmt.Sprintf("the file exceeds the %d MiB limit", m.max>>20))
	}
	return n, err
}

// randomKey names an object with 128 random bits: the key tells nothing
// about the child, the case or the file.
func randomKey() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b) // crypto/rand.Read never fails
	return "evidence/" + hex.EncodeToString(b)
}

// SanitizeFilename keeps the client's file name as harmless metadata: no
// directories, no control or format characters, at most 200 characters.
func SanitizeFilename(name string) string {
	name = strings.ReplaceAll(name, "\\", "/")
	name = path.Base(name)
	name = strings.Map(func(r rune) rune {
		if r == utf8.RuneError || unicode.IsControl(r) || unicode.Is(unicode.Cf, r) {
			return -1
		}
		return r
	}, name)
	name = strings.TrimSpace(strings.Trim(name, "."))
	if r := []rune(name); len(r) > 200 {
		ext := path.Ext(name)
		if len(ext) > 16 {
			ext = ""
		}
		name = string(r[:200-utf8.RuneCountInString(ext)]) + ext
	}
	if name == "" || name == "/" {
		name = "archivo"
	}
	return name
}
