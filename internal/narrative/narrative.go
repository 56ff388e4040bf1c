// Package narrative seals the free text of Amparo's records at rest: case
// summaries, violation descriptions, notes, complaint descriptions,
// complainants' names and contacts, and referral reasons. Each text is
// sealed under the data key of the case or complaint it belongs to
// (package keys), bound to its table, column and row, so that a ciphertext
// copied elsewhere does not open, and destroying the record's data key
// (crypto-shredding) destroys every text with it.
//
// Codes, dates and statuses stay in the clear: nothing filters, counts or
// sorts by these texts. The domain packages seal on write and open in the
// service methods that read them, with one data key unwrapped per record
// (keys.Vault.GetMany for a page); SealLegacy seals the rows written in
// plaintext before sealing existed.
package narrative

import (
	"context"
	"errors"
	"fmt"

	"github.com/google/uuid"
	"github.com/jmoiron/sqlx"

	"amparo/internal/keys"
)

// Field is one column of free text and where its ciphertext lives.
type Field struct {
	Table  string // "cases"
	Column string // the plaintext column, NULL once sealed: "summary"
	Sealed string // the ciphertext column: "summary_sealed"
	Owner  string // whose data key seals it: keys.OwnerCase or keys.OwnerComplaint
	// SQL over the table aliased t: the owner's id, and the row's id as
	// the text bound into the ciphertext.
	ownerSQL, rowSQL string
}

// The fields sealed.
var (
	CaseSummary          = Field{"cases", "summary", "summary_sealed", keys.OwnerCase, "t.id", "t.id::text"}
	ViolationDescription = Field{"case_violations", "description", "description_sealed", keys.OwnerCase,
		"t.case_id", "t.case_id::text || '/' || t.position"}
	NoteText             = Field{"case_notes", "text", "text_sealed", keys.OwnerCase, "t.case_id", "t.id::text"}
	ComplaintDescription = Field{"complaints", "description", "description_sealed", keys.OwnerComplaint, "t.id", "t.id::text"}
	ComplainantName      = Field{"complaint_contacts", "name", "name_sealed", keys.OwnerComplaint, "t.complaint_id", "t.complaint_id::text"}
	ComplainantContact   = Field{"complaint_contacts", "contact", "contact_sealed", keys.OwnerComplaint, "t.complaint_id", "t.complaint_id::text"}
	ReferralReason       = Field{"referrals", "reason", "reason_sealed", keys.OwnerCase, "t.case_id", "t.id::text"}
)

// Fields lists every sealed field.
var Fields = []Field{CaseSummary, ViolationDescription, NoteText, ComplaintDescription, ComplainantName,
	ComplainantContact, ReferralReason}

// ViolationRow is the row id of the violation at position of a case, as
// bound into its description's ciphertext.
func ViolationRow(caseID uuid.UUID, position int) string {
	return fmt.Sprintf("%s/%d", caseID, position)
}

func (f Field) place(row string) keys.Place {
	return keys.Place{Table: f.Table, Column: f.Column, Row: row}
}

// Seal seals s for row under k; nil stays nil.
func (f Field) Seal(k keys.DataKey, row string, s *string) []byte {
	return k.SealString(s, f.place(row))
}

// Open opens what Seal made for row, with the owner's key from ks. A
// record whose key is not in ks was erased: its text is gone, and opens to
// nil. Nothing sealed opens to nil.
//
// Errors: keys.ErrOpen for a ciphertext of another row or column, or
// tampered with.
func (f Field) Open(ks map[uuid.UUID]keys.DataKey, owner uuid.UUID, row string, sealed []byte) (*string, error) {
	k, ok := ks[owner]
	if !ok || sealed == nil {
		return nil, nil
	}
	s, err := k.OpenString(sealed, f.place(row))
	if err != nil {
		return nil, fmt.Errorf("%s.%s of %s: %w", f.Table, f.Column, row, err)
	}
	return s, nil
}

// Text is Open for a text that is never absent: an erased one is empty.
//
// Errors: as Open.
func (f Field) Text(ks map[uuid.UUID]keys.DataKey, owner uuid.UUID, row string, sealed []byte) (string, error) {
	s, err := f.Open(ks, owner, row, sealed)
	if s == nil {
		return "", err
	}
	return *s, err
}

// SealLegacy seals up to n texts per field written in plaintext before
// sealing existed, each under the data key of its case or complaint
// (made when the record has none), and clears the plaintext. It returns
// how many it sealed; 0 means none is left. Each batch is one transaction
// and skips rows another replica is sealing, so it runs at every start, on
// every replica, and resumes where it stopped; the rows left are found
// through partial indexes that are empty once done.
func SealLegacy(ctx context.Context, db *sqlx.DB, v *keys.Vault, n int) (int, error) {
	total := 0
	for _, f := range Fields {
		c, err := f.sealLegacy(ctx, db, v, n)
		if err != nil {
			return total, fmt.Errorf("seal %s.%s: %w", f.Table, f.Column, err)
		}
		total += c
	}
	return total, nil
}

func (f Field) sealLegacy(ctx context.Context, db *sqlx.DB, v *keys.Vault, n int) (int, error) {
	tx, err := db.BeginTxx(ctx, nil)
	if err != nil {
		return 0, err
	}
	defer tx.Rollback()
	var rows []struct {
		TID   string    `db:"tid"`
		Owner uuid.UUID `db:"owner"`
		Row   string    `db:"row"`
		Text  string    `db:"text"`
	}
	q := fmt.Sprintf(`SELECT t.ctid::text AS tid, %s AS owner, %s AS row, t.%s AS text FROM %s t
WHERE t.%s IS NOT NULL LIMIT $1 FOR UPDATE OF t SKIP LOCKED`, f.ownerSQL, f.rowSQL, f.Column, f.Table, f.Column)
	if err := tx.SelectContext(ctx, &rows, q, n); err != nil {
		return 0, err
	}
	ks := map[uuid.UUID]keys.DataKey{}
	u := fmt.Sprintf(`UPDATE %s SET %s = $2, %s = NULL WHERE ctid = $1::tid`, f.Table, f.Sealed, f.Column)
	for _, r := range rows {
		k, ok := ks[r.Owner]
		if !ok {
			if k, err = v.Get(ctx, tx, f.Owner, r.Owner); errors.Is(err, keys.ErrNoKey) {
				k, err = v.Create(ctx, tx, f.Owner, r.Owner)
			}
			if err != nil {
				return 0, err
			}
			ks[r.Owner] = k
		}
		if _, err := tx.ExecContext(ctx, u, r.TID, f.Seal(k, r.Row, &r.Text)); err != nil {
			return 0, err
		}
	}
	return len(rows), tx.Commit()
}
