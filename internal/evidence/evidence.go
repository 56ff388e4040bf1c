// Package evidence attaches files to cases: photos, medical reports,
// recorded testimony and documents that may be put before a children's
// court. They must stay exactly what was uploaded, for as long as the law
// requires, seen only by those entitled.
//
// An upload is streamed to the object store with its SHA-256 computed on
// the way, so memory stays bounded whatever the file's size; its type is
// decided from its first bytes against an allowlist before anything is
// stored. Its life has three steps, so that a failure at any point leaves
// neither a record without an object nor an object without a record:
//
//  1. staged: a row in evidence_staging names the random object key, then
//     the bytes go to MinIO tagged staged, without retention (removable);
//  2. committed: the evidence row, its audit event and the staging row's
//     committed mark commit in one transaction;
//  3. final: the object gets governance retention, a legal hold while its
//     case is open and the final tag; the staging row goes.
//
// Step 3 changes metadata only, never the bytes, so it costs the same for a
// 1 GiB video as for a photo. The Janitor finishes what a crash interrupted:
// it removes the objects of staging rows that never committed and locks
// those whose rows did.
package evidence

import (
	"bufio"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
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
	"amparo/internal/authz"
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
	// RetainUntil is when the object's governance retention ends.
	RetainUntil time.Time `db:"retain_until"`
}

// UploadInput is one file to attach to a case.
type UploadInput struct {
	CaseID      uuid.UUID
	File        io.Reader
	Filename    string
	Description *string
	CapturedAt  *time.Time
}

// Config tunes a Service; the zero value of each field means its default.
type Config struct {
	// MaxSize caps the size of one file (default 200 MiB).
	MaxSize int64
	// RetentionYears is how long evidence is locked against deletion after
	// its upload (default 10).
	RetentionYears int
	// MaxUploadTime bounds one upload, slow links included (default 6 h).
	// The janitor's grace period must be longer: it takes an upload still
	// staged after its grace period for abandoned.
	MaxUploadTime time.Duration
	// Observe, when set, hears of every upload that reached streaming: the
	// bytes received, how long it took, and its outcome (OK or the error
	// code). cmd feeds metrics with it.
	Observe func(bytes int64, took time.Duration, code string)
}

// Defaults of Config.
const (
	DefaultMaxSize        = 200 << 20
	DefaultRetentionYears = 10
	DefaultMaxUploadTime  = 6 * time.Hour
)

func (c Config) withDefaults() Config {
	if c.MaxSize <= 0 {
		c.MaxSize = DefaultMaxSize
	}
	if c.RetentionYears <= 0 {
		c.RetentionYears = DefaultRetentionYears
	}
	if c.MaxUploadTime <= 0 {
		c.MaxUploadTime = DefaultMaxUploadTime
	}
	return c
}

// Service stores and lists evidence.
type Service struct {
	db    *sqlx.DB
	blobs *blob.Store
	guard *authz.Guard
	log   *slog.Logger
	cfg   Config
	now   func() time.Time
}

// NewService returns a Service with the default retention and upload time;
// maxSize caps the size of one file.
func NewService(db *sqlx.DB, blobs *blob.Store, g *authz.Guard, log *slog.Logger, maxSize int64) *Service {
	return New(db, blobs, g, log, Config{MaxSize: maxSize})
}

// New returns a Service configured by cfg.
func New(db *sqlx.DB, blobs *blob.Store, g *authz.Guard, log *slog.Logger, cfg Config) *Service {
	return &Service{db: db, blobs: blobs, guard: g, log: log, cfg: cfg.withDefaults(), now: time.Now}
}

// Upload streams a file to the store and records it against a case. The
// file's type is decided from its first bytes; nothing is stored when it is
// not allowed. The record and its audit event commit in one transaction,
// and only then is the object locked; should locking fail, the evidence is
// recorded all the same and the Janitor locks it on its next pass.
//
// Errors: UNAUTHENTICATED; FORBIDDEN without evidence:upload; NOT_FOUND when
// the case lies outside the caller's scope; BAD_USER_INPUT (an empty file,
// a description too long, an interrupted upload); UNSUPPORTED_MEDIA_TYPE;
// PAYLOAD_TOO_LARGE over the size limit; UNAVAILABLE when storage or
// database is down. On any error no evidence is recorded, and the object,
// if any reached the store, is removed at once or by the Janitor.
func (s *Service) Upload(ctx context.Context, in UploadInput) (_ *Evidence, err error) {
	const op = "evidence.Upload"
	d, err := s.guard.Check(ctx, PermUpload, authz.On(authz.Case, in.CaseID))
	if err != nil {
		return nil, apperr.Wrap(op, err)
	}
	p := d.Principal
	var v apperr.Validation
	name := SanitizeFilename(in.Filename)
	if in.Description != nil {
		d := strings.TrimSpace(*in.Description)
		v.Text("description", d, 2000)
		in.Description = &d
	}
	if in.CapturedAt != nil && in.CapturedAt.After(s.now().Add(5*time.Minute)) {
		v.Add("capturedAt", "la fecha de captura está en el futuro", "the capture time is in the future")
	}
	if err := v.Err(); err != nil {
		return nil, apperr.Wrap(op, err)
	}

	// Decide the type from the first bytes before anything is stored; the
	// peeked bytes stay in the buffer and are streamed with the rest.
	file := bufio.NewReaderSize(in.File, sniffLen)
	head, err := file.Peek(sniffLen)
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, apperr.Wrap(op, err)
	}
	if len(head) == 0 {
		return nil, apperr.Wrap(op, &apperr.Error{Kind: apperr.Invalid, Field: "file",
			Msg: apperr.Text{ES: "el archivo está vacío", EN: "the file is empty"}})
	}
	contentType, err := sniff(head)
	if err != nil {
		return nil, apperr.Wrap(op, err)
	}

	now := s.now().UTC()
	e := &Evidence{
		ID: uuid.New(), CaseID: in.CaseID, ObjectKey: randomKey(), Filename: storedName(name, contentType),
		ContentType: contentType, Description: in.Description, CapturedAt: in.CapturedAt,
		UploadedBy: p.UserID,
		// Whole seconds: S3 keeps retention dates to the second, and the
		// janitor must be able to set exactly this date again.
		RetainUntil: now.Truncate(time.Second).AddDate(s.cfg.RetentionYears, 0, 0),
	}
	if err := stage(ctx, s.db, e); err != nil {
		return nil, apperr.Wrap(op, err)
	}
	// From here on, every exit must leave the staging row to the janitor or
	// clear it with the object: a detached context lets the cleanup and the
	// locking finish when the client hangs up.
	bg := context.WithoutCancel(ctx)

	h := sha256.New()
	body := &meter{r: inspect(file, contentType), h: h, max: s.cfg.MaxSize}
	if s.cfg.Observe != nil {
		start := time.Now()
		defer func() {
			code := "OK"
			if err != nil {
				code = apperr.KindOf(err).Code()
			}
			s.cfg.Observe(body.n, time.Since(start), code)
		}()
	}
	putCtx, cancel := context.WithTimeout(ctx, s.cfg.MaxUploadTime)
	obj, err := s.blobs.PutStaged(putCtx, e.ObjectKey, body, e.ContentType)
	cancel()
	if err != nil {
		s.discard(bg, e.ObjectKey)
		if errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil {
			err = apperr.New(apperr.Invalid, "la carga tardó demasiado; intente de nuevo con una conexión más rápida",
				"the upload took too long; try again over a faster connection")
		}
		return nil, apperr.Wrap(op, err)
	}
	e.VersionID, e.Size, e.SHA256 = obj.VersionID, body.n, hex.EncodeToString(h.Sum(nil))
	e.UploadedAt = s.now().UTC()

	err = postgres.WithTx(ctx, s.db, func(tx *sqlx.Tx) error {
		if err := markCommitted(ctx, tx, e.ObjectKey); err != nil {
			return err
		}
		if err := insert(ctx, tx, e); err != nil {
			return err
		}
		return audit.Record(ctx, tx, audit.Event{Action: PermUpload, ObjectType: "evidence", ObjectID: e.ID.String(),
			Details: map[string]any{"case": e.CaseID, "sha256": e.SHA256, "size": e.Size, "contentType": e.ContentType,
				"version": e.VersionID, "retainUntil": e.RetainUntil}})
	})
	if err != nil {
		// The record did not commit: take the object back so that nothing
		// unaccounted for stays in the store.
		s.discard(bg, e.ObjectKey)
		return nil, apperr.Wrap(op, err)
	}

	fctx, cancel := context.WithTimeout(bg, 30*time.Second)
	defer cancel()
	if err := finalize(fctx, s.db, s.blobs, e.ObjectKey); err != nil {
		s.log.WarnContext(ctx, "evidence recorded but not yet locked; the janitor will lock it",
			"evidence", e.ID, "err", err)
	}
	return e, nil
}

// discard removes what an upload that did not commit stored, and its
// staging row; when storage cannot be reached it leaves the row to the
// janitor, which retries once the grace period is over.
func (s *Service) discard(ctx context.Context, key string) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := s.blobs.Purge(ctx, key); err != nil {
		s.log.WarnContext(ctx, "staged evidence object left for the janitor", "key", key, "err", err)
		return
	}
	if err := unstage(ctx, s.db, key); err != nil {
		s.log.WarnContext(ctx, "staging row left for the janitor", "key", key, "err", err)
	}
}

// ListByCases returns the evidence of each case the caller may read (a
// loader batches this); the others have none in the result.
//
// Errors: UNAUTHENTICATED; FORBIDDEN without case:read; UNAVAILABLE.
func (s *Service) ListByCases(ctx context.Context, caseIDs []uuid.UUID) (map[uuid.UUID][]*Evidence, error) {
	d, caseIDs, err := s.guard.Filter(ctx, PermRead, authz.Case, caseIDs)
	if err != nil {
		return nil, apperr.Wrap("evidence.ListByCases", err)
	}
	// A case may be readable while some of its files are not (a case
	// transferred away keeps only what its institution uploaded).
	args := postgres.Args{postgres.UUIDs(caseIDs)}
	q := `SELECT e.* FROM ` + authz.Evidence.From + ` WHERE e.case_id = ANY($1::uuid[]) AND ` + d.Where(authz.Evidence, &args) +
		` ORDER BY e.uploaded_at, e.id`
	var rows []*Evidence
	if err := sqlx.SelectContext(ctx, s.db, &rows, q, args...); err != nil {
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

// maxFilename is the longest file name kept, in characters.
const maxFilename = 200

// SanitizeFilename keeps the client's file name as harmless metadata: no
// directories, no control or format characters (which can reverse how a
// name reads, "gpj.exe" shown as "exe.jpg"), no invalid UTF-8, at most 200
// characters with the extension kept. What is left of an empty or
// dots-only name is "archivo".
func SanitizeFilename(name string) string {
	name = strings.ToValidUTF8(name, "")
	name = strings.ReplaceAll(name, "\\", "/")
	name = path.Base(name)
	name = strings.Map(func(r rune) rune {
		if r == utf8.RuneError || unicode.IsControl(r) || unicode.Is(unicode.Cf, r) {
			return -1
		}
		return r
	}, name)
	name = strings.TrimSpace(strings.Trim(name, "."))
	if r := []rune(name); len(r) > maxFilename {
		ext := path.Ext(name)
		if n := utf8.RuneCountInString(ext); n > 16 || n >= maxFilename {
			ext = ""
		}
		name = strings.TrimSpace(string(r[:maxFilename-utf8.RuneCountInString(ext)])) + ext
	}
	if name == "" || name == "/" {
		name = "archivo"
	}
	return name
}
