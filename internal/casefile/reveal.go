package casefile

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/jmoiron/sqlx"

	"amparo/internal/apperr"
	"amparo/internal/audit"
	"amparo/internal/authz"
	"amparo/internal/child"
	"amparo/internal/postgres"
)

// PermReveal is the permission to reveal a withheld identity.
const PermReveal = "identity:reveal"

// minJustification is the shortest justification accepted: long enough
// that "control" or "revisión" will not do.
const minJustification = 20

// RevealInput asks for a withheld identity, saying why.
type RevealInput struct {
	CaseID        uuid.UUID
	Justification string
}

// Reveal is one identity revealed by an oversight body.
type Reveal struct {
	ID            uuid.UUID `db:"id"`
	CaseID        uuid.UUID `db:"case_id"`
	RevealedBy    uuid.UUID `db:"revealed_by"`
	Institution   string    `db:"institution"`
	Justification string    `db:"justification"`
	RevealedAt    time.Time `db:"revealed_at"`
}

// RevealIdentity returns the identity of the child of a case to an
// oversight body, with a written justification that is kept for the owning
// institution to read. The audit event carries the reveal's id and the
// justification's SHA-256 (the trail holds no free text), binding the event
// to the exact words.
//
// Errors: UNAUTHENTICATED; FORBIDDEN without identity:reveal; NOT_FOUND for
// a case outside the caller's scope; BAD_USER_INPUT for a justification
// under 20 characters.
func (s *Service) RevealIdentity(ctx context.Context, in RevealInput) (*child.Identity, error) {
	const op = "casefile.RevealIdentity"
	d, err := s.guard.Check(ctx, PermReveal, authz.On(authz.Case, in.CaseID))
	if err != nil {
		return nil, apperr.Wrap(op, err)
	}
	p := d.Principal
	in.Justification = strings.TrimSpace(in.Justification)
	var v apperr.Validation
	if utf8.RuneCountInString(in.Justification) < minJustification {
		v.Add("justification", fmt.Sprintf("justifique por escrito, al menos %d caracteres", minJustification),
			fmt.Sprintf("write a justification of at least %d characters", minJustification))
	} else {
		v.Text("justification", in.Justification, 2000)
	}
	if err := v.Err(); err != nil {
		return nil, apperr.Wrap(op, err)
	}
	r := &Reveal{ID: uuid.New(), CaseID: in.CaseID, RevealedBy: p.UserID, Institution: p.Institution,
		Justification: in.Justification, RevealedAt: s.now().UTC()}
	var id *child.Identity
	err = postgres.WithTx(ctx, s.db, func(tx *sqlx.Tx) error {
		var childID uuid.UUID
		var err error
		if id, childID, err = getIdentity(ctx, tx, s.keys, in.CaseID); err != nil {
			return err
		}
		const q = `
INSERT INTO identity_reveals (id, case_id, child_id, revealed_by, institution, justification, revealed_at)
VALUES ($1, $2, $3, $4, $5, $6, $7)`
		if _, err := tx.ExecContext(ctx, q, r.ID, r.CaseID, childID, r.RevealedBy, r.Institution, r.Justification, r.RevealedAt); err != nil {
			return fmt.Errorf("insert reveal: %w", err)
		}
		sum := sha256.Sum256([]byte(r.Justification))
		return audit.Record(ctx, tx, audit.Event{Action: PermReveal, ObjectType: "child", ObjectID: childID.String(),
			Details: map[string]any{"case": in.CaseID, "reveal": r.ID, "justificationSha256": hex.EncodeToString(sum[:])}})
	})
	if err != nil {
		return nil, apperr.Wrap(op, err)
	}
	return id, nil
}

// Reveals lists the identities revealed in a case (or, without a case, in
// every case of the caller's institution), newest first, for those
// entitled to the identity themselves: the assigned officer and the owning
// institution's supervisors.
//
// Errors: UNAUTHENTICATED; FORBIDDEN without identity:read; NOT_FOUND for a
// case outside the caller's identity scope.
func (s *Service) Reveals(ctx context.Context, caseID *uuid.UUID) ([]*Reveal, error) {
	const op = "casefile.Reveals"
	// An officer lists per case; the institution-wide list is for
	// supervisors, who hold identity:read in institution scope.
	target := authz.WholeInstitution
	if caseID != nil {
		target = authz.On(authz.Case, *caseID)
	}
	d, err := s.guard.Check(ctx, PermIdentityRead, target)
	if err != nil {
		return nil, apperr.Wrap(op, err)
	}
	var a args
	where := d.Where(authz.Case, &a)
	if caseID != nil {
		where += " AND c.id = " + a.Add(*caseID)
	}
	q := `SELECT r.id, r.case_id, r.revealed_by, r.institution, r.justification, r.revealed_at
FROM identity_reveals r JOIN cases c ON c.id = r.case_id WHERE ` + where + ` ORDER BY r.revealed_at DESC LIMIT 500`
	out := []*Reveal{}
	if err := sqlx.SelectContext(ctx, s.db, &out, q, a...); err != nil {
		return nil, apperr.Wrap(op, postgres.MapError(err))
	}
	return out, nil
}
