package evidence

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jmoiron/sqlx"

	"amparo/internal/apperr"
	"amparo/internal/blob"
	"amparo/internal/postgres"
)

// Problems VerifyAll finds.
const (
	// ProblemMissing: the recorded object version is not in the store.
	ProblemMissing = "MISSING"
	// ProblemAltered: its size or SHA-256 differs from the record.
	ProblemAltered = "ALTERED"
	// ProblemUnlocked: it lacks the retention the record says, or the
	// legal hold while its case is open, and no locking is pending.
	ProblemUnlocked = "UNLOCKED"
	// ProblemUnencrypted: it is not encrypted at rest.
	ProblemUnencrypted = "UNENCRYPTED"
)

// Problem is one piece of evidence that did not verify.
type Problem struct {
	EvidenceID uuid.UUID
	CaseID     uuid.UUID
	Kind       string // one of the Problem* constants
	Detail     string
}

// VerifyReport is the outcome of VerifyAll.
type VerifyReport struct {
	Checked  int   // evidence records verified
	Bytes    int64 // bytes re-read and hashed
	Pending  int   // recorded, locking not yet done (the janitor's work)
	Problems []Problem
}

// OK reports whether every piece of evidence verified.
func (r *VerifyReport) OK() bool { return len(r.Problems) == 0 }

// verifyBatch is how many records VerifyAll reads at a time.
const verifyBatch = 200

// VerifyAll re-reads every evidence object and checks it against its
// record: present, same size and SHA-256, encrypted, locked until the
// recorded date and held while its case is open (unless the case's holds
// are still to be synced after a reopening: the janitor's work). It is for `amparo audit
// verify --deep`, run by an operator: it checks no caller's permissions and
// records no audit event, and must never be reachable through the API. It
// reads the whole store, so it takes as long as that does.
//
// Errors: UNAVAILABLE when the database or the store is down (a store that
// cannot be reached is an outage, not a finding, so it stops the check).
func VerifyAll(ctx context.Context, db *sqlx.DB, blobs *blob.Store) (*VerifyReport, error) {
	const op = "evidence.VerifyAll"
	type row struct {
		Evidence
		Open    bool `db:"open"`
		Pending bool `db:"pending"`
	}
	const q = `
SELECT e.*, c.status <> 'CLOSED' AND NOT EXISTS (SELECT 1 FROM case_hold_sync h WHERE h.case_id = e.case_id) AS open,
  EXISTS (SELECT 1 FROM evidence_staging s WHERE s.object_key = e.object_key) AS pending
FROM evidence e JOIN cases c ON c.id = e.case_id
WHERE e.id > $1
ORDER BY e.id
LIMIT $2`
	rep := &VerifyReport{}
	after := uuid.Nil
	for {
		var rows []row
		if err := sqlx.SelectContext(ctx, db, &rows, q, after, verifyBatch); err != nil {
			return rep, apperr.Wrap(op, postgres.MapError(err))
		}
		for i := range rows {
			r := &rows[i]
			problem := func(kind, format string, args ...any) {
				rep.Problems = append(rep.Problems, Problem{EvidenceID: r.ID, CaseID: r.CaseID, Kind: kind,
					Detail: fmt.Sprintf(format, args...)})
			}
			rep.Checked++
			if r.Pending {
				rep.Pending++
			}
			ls, err := blobs.Inspect(ctx, r.ObjectKey, r.VersionID)
			if apperr.Is(err, apperr.NotFound) {
				problem(ProblemMissing, "object %s version %s not found", r.ObjectKey, r.VersionID)
				continue
			} else if err != nil {
				return rep, apperr.Wrap(op, err)
			}
			sum, n, err := hashVersion(ctx, blobs, r.ObjectKey, r.VersionID)
			if err != nil {
				return rep, apperr.Wrap(op, err)
			}
			rep.Bytes += n
			if sum != r.SHA256 || n != r.Size {
				problem(ProblemAltered, "recorded %d bytes sha256 %s, stored %d bytes sha256 %s", r.Size, r.SHA256, n, sum)
			}
			if !ls.Encrypted {
				problem(ProblemUnencrypted, "object %s is not encrypted at rest", r.ObjectKey)
			}
			if r.Pending {
				continue
			}
			// Retention dates are kept to the second.
			if ls.Mode == "" || ls.RetainUntil.Before(r.RetainUntil.Truncate(time.Second)) {
				problem(ProblemUnlocked, "retention %q until %s, recorded until %s", ls.Mode,
					ls.RetainUntil.Format(time.RFC3339), r.RetainUntil.Format(time.RFC3339))
			}
			if r.Open && !ls.LegalHold {
				problem(ProblemUnlocked, "no legal hold while the case is open")
			}
		}
		if len(rows) < verifyBatch {
			return rep, nil
		}
		after = rows[len(rows)-1].ID
	}
}
