package evidence

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"time"

	"github.com/google/uuid"
	"github.com/jmoiron/sqlx"

	"amparo/internal/apperr"
	"amparo/internal/audit"
	"amparo/internal/authz"
	"amparo/internal/blob"
	"amparo/internal/postgres"
)

// Permissions of downloads and verification.
const (
	PermDownload = "evidence:download"
)

// DownloadTTL is how long a download URL is valid: long enough to start a
// download over a slow link, short enough that a URL passed on is soon
// useless.
const DownloadTTL = 5 * time.Minute

// Download is a short-lived URL to one version of an evidence object.
type Download struct {
	URL       string
	ExpiresAt time.Time
	SHA256    string
}

// Verification is the result of re-reading an evidence object.
type Verification struct {
	Evidence       *Evidence
	Intact         bool
	ComputedSHA256 string
	VerifiedAt     time.Time
	// LegalHold and RetainUntil are read from the object store at
	// verification, not from Amparo's own records: they are what protects
	// the bytes, so they are what an officer checking a closed case's
	// evidence needs to see. RetainUntil is nil without retention.
	LegalHold   bool
	RetainUntil *time.Time
}

// byID reads an evidence record.
func (s *Service) byID(ctx context.Context, id uuid.UUID) (*Evidence, error) {
	var e Evidence
	if err := sqlx.GetContext(ctx, s.db, &e, `SELECT * FROM evidence WHERE id = $1`, id); err != nil {
		return nil, postgres.MapError(err)
	}
	return &e, nil
}

// authorized reads an evidence record once the guard has decided that the
// caller holds perm over it (through its case): an unknown id and one out of
// scope both answer NOT_FOUND, and nothing is read before the decision.
func (s *Service) authorized(ctx context.Context, id uuid.UUID, perm string) (*Evidence, error) {
	if _, err := s.guard.Check(ctx, perm, authz.On(authz.Evidence, id)); err != nil {
		return nil, err
	}
	return s.byID(ctx, id)
}

// RequestDownload issues a URL, valid for DownloadTTL and pinned to the
// stored version, after the role and record checks, and records who
// obtained which evidence when (the chain of custody) in the audit trail.
//
// Errors: UNAUTHENTICATED; FORBIDDEN without evidence:download; NOT_FOUND
// when the evidence or its case lies outside the caller's scope.
func (s *Service) RequestDownload(ctx context.Context, id uuid.UUID) (*Download, error) {
	const op = "evidence.RequestDownload"
	e, err := s.authorized(ctx, id, PermDownload)
	if err != nil {
		return nil, apperr.Wrap(op, err)
	}
	expires := s.now().Add(DownloadTTL).UTC()
	url, err := s.blobs.PresignDownload(ctx, e.ObjectKey, e.VersionID, e.Filename, DownloadTTL)
	if err != nil {
		return nil, apperr.Wrap(op, err)
	}
	err = postgres.WithTx(ctx, s.db, func(tx *sqlx.Tx) error {
		return audit.Record(ctx, tx, audit.Event{Action: PermDownload, ObjectType: "evidence", ObjectID: e.ID.String(),
			Details: map[string]any{"case": e.CaseID, "sha256": e.SHA256, "version": e.VersionID, "expiresAt": expires}})
	})
	if err != nil {
		// No audit event, no URL: a download nobody can account for must not happen.
		return nil, apperr.Wrap(op, err)
	}
	return &Download{URL: url, ExpiresAt: expires, SHA256: e.SHA256}, nil
}

// Verify re-reads an evidence object and compares its SHA-256 with the one
// recorded at upload.
//
// A recorded object missing from the store verifies as not intact, with an
// empty computed hash.
//
// Errors: UNAUTHENTICATED; FORBIDDEN without case:read; NOT_FOUND when the
// evidence or its case lies outside the caller's scope; UNAVAILABLE when
// storage is down.
func (s *Service) Verify(ctx context.Context, id uuid.UUID) (*Verification, error) {
	const op = "evidence.Verify"
	e, err := s.authorized(ctx, id, PermRead)
	if err != nil {
		return nil, apperr.Wrap(op, err)
	}
	sum, err := s.hashObject(ctx, e)
	if err != nil && !apperr.Is(err, apperr.NotFound) {
		return nil, apperr.Wrap(op, err)
	}
	// A recorded object that is missing is not "not found": it is evidence
	// that failed verification, and the audit trail must say so.
	v := &Verification{Evidence: e, ComputedSHA256: sum, Intact: sum == e.SHA256, VerifiedAt: s.now().UTC()}
	if err == nil {
		lock, err := s.blobs.Inspect(ctx, e.ObjectKey, e.VersionID)
		if err != nil {
			return nil, apperr.Wrap(op, err)
		}
		v.LegalHold = lock.LegalHold
		if !lock.RetainUntil.IsZero() {
			until := lock.RetainUntil.UTC()
			v.RetainUntil = &until
		}
	}
	err = postgres.WithTx(ctx, s.db, func(tx *sqlx.Tx) error {
		return audit.Record(ctx, tx, audit.Event{Action: "evidence:verify", ObjectType: "evidence", ObjectID: e.ID.String(),
			Details: map[string]any{"case": e.CaseID, "intact": v.Intact, "sha256": sum, "legalHold": v.LegalHold}})
	})
	if err != nil {
		return nil, apperr.Wrap(op, err)
	}
	return v, nil
}

// hashObject streams the stored version of e through SHA-256.
func (s *Service) hashObject(ctx context.Context, e *Evidence) (string, error) {
	sum, _, err := hashVersion(ctx, s.blobs, e.ObjectKey, e.VersionID)
	return sum, err
}

// hashVersion streams an object version through SHA-256 and counts its bytes.
//
// Errors: NOT_FOUND; UNAVAILABLE.
func hashVersion(ctx context.Context, blobs *blob.Store, key, versionID string) (string, int64, error) {
	r, err := blobs.Open(ctx, key, versionID)
	if err != nil {
		return "", 0, err
	}
	defer r.Close()
	h := sha256.New()
	n, err := io.Copy(h, r)
	if err != nil {
		return "", n, apperr.Wrap("evidence.hash", err)
	}
	return hex.EncodeToString(h.Sum(nil)), n, nil
}
