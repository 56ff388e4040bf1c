package child

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jmoiron/sqlx"

	"amparo/internal/keys"
	"amparo/internal/postgres"
)

// Keys is what registering and reading identities needs: the vault of data
// keys and the blind index.
type Keys struct {
	Vault *keys.Vault
	Index keys.Index
}

// Owner is the record whose data key seals a child's identity: the case or
// complaint that registered the child.
type Owner struct {
	Kind string // keys.OwnerCase or keys.OwnerComplaint
	ID   uuid.UUID
	Key  keys.DataKey
}

// sealedIdentity is what is sealed of an identity: one document, so that
// nothing about it (not even which fields were given) shows in the clear.
type sealedIdentity struct {
	GivenName   *string `json:"g,omitempty"`
	FamilyName  *string `json:"f,omitempty"`
	OtherNames  *string `json:"o,omitempty"`
	DateOfBirth *string `json:"d,omitempty"`
	Contact     *string `json:"c,omitempty"`
}

func place(childID uuid.UUID) keys.Place {
	return keys.Place{Table: "child_identities", Column: "sealed", Row: childID.String()}
}

// BirthYear is the year a child was born, or was probably born when only
// the age at registration is known.
func BirthYear(dob *time.Time, age *int, at time.Time) (int, bool) {
	switch {
	case dob != nil:
		return dob.Year(), true
	case age != nil:
		return at.In(Guatemala).Year() - *age, true
	}
	return 0, false
}

// NameIndexes are the blind-index values that find a child of this name
// born in year, give or take a year (an age in years fixes the birth year
// only within one): a search compares a record's index with all three.
func NameIndexes(ix keys.Index, given, family *string, year int) [][]byte {
	var out [][]byte
	for y := year - 1; y <= year+1; y++ {
		if v := ix.Name(deref(given), deref(family), y); v != nil {
			out = append(out, v)
		}
	}
	return out
}

// Named reports whether a search or a record gives a name at all: a given
// or a family name with more than spaces.
func Named(given, family *string) bool {
	return strings.TrimSpace(deref(given)+deref(family)) != ""
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// sealedRow is an identity as stored: sealed under its owner's key, with
// its blind index.
type sealedRow struct {
	KeyKind *string
	KeyID   *uuid.UUID
	Sealed  []byte
	Index   []byte
	Year    *int
}

// seal makes the stored form of identity in for child id; an identity with
// nothing in it stays empty (no key, nothing sealed).
func seal(ks Keys, o Owner, id uuid.UUID, at time.Time, age *int, in *Input) (sealedRow, error) {
	doc := sealedIdentity{GivenName: in.GivenName, FamilyName: in.FamilyName, OtherNames: in.OtherNames, Contact: in.Contact}
	if in.DateOfBirth != nil {
		d := in.DateOfBirth.Format(time.DateOnly)
		doc.DateOfBirth = &d
	}
	var r sealedRow
	if doc == (sealedIdentity{}) {
		return r, nil
	}
	b, err := json.Marshal(doc)
	if err != nil {
		return r, err
	}
	r.Sealed = o.Key.Seal(b, place(id))
	clear(b)
	r.KeyKind, r.KeyID = &o.Kind, &o.ID
	if y, ok := BirthYear(in.DateOfBirth, age, at); ok {
		r.Year = &y
		r.Index = ks.Index.Name(deref(in.GivenName), deref(in.FamilyName), y)
	}
	return r, nil
}

// insertIdentity seals the identity of child id under the owner's data key.
func insertIdentity(ctx context.Context, tx sqlx.ExecerContext, ks Keys, o Owner, id uuid.UUID, at time.Time, age *int, in *Input) error {
	r, err := seal(ks, o, id, at, age, in)
	if err != nil {
		return err
	}
	const q = `
INSERT INTO child_identities (child_id, dob_estimated, key_kind, key_id, sealed, name_index, birth_year)
VALUES ($1, $2, $3, $4, $5, $6, $7)`
	if _, err := tx.ExecContext(ctx, q, id, in.DateOfBirth == nil && age != nil, r.KeyKind, r.KeyID, r.Sealed, r.Index, r.Year); err != nil {
		return fmt.Errorf("insert identity: %w", err)
	}
	return nil
}

// ReadIdentity opens the identity of child id. The caller has been
// authorized to read it and audits the read.
//
// Errors: sql.ErrNoRows when the child has no identity row.
func ReadIdentity(ctx context.Context, q sqlx.QueryerContext, ks Keys, id uuid.UUID) (*Identity, error) {
	m, err := ReadIdentities(ctx, q, ks, []uuid.UUID{id})
	if err != nil {
		return nil, err
	}
	out, ok := m[id]
	if !ok {
		return nil, sql.ErrNoRows
	}
	return out, nil
}

// ReadIdentities opens the identities of many children in one query, with
// one data key unwrapped per owning record; children without an identity
// row are missing from the result, and an erased identity opens empty. The
// caller has been authorized to read them and audits each read.
func ReadIdentities(ctx context.Context, q sqlx.QueryerContext, ks Keys, ids []uuid.UUID) (map[uuid.UUID]*Identity, error) {
	var rows []struct {
		ChildID      uuid.UUID      `db:"child_id"`
		DOBEstimated bool           `db:"dob_estimated"`
		KeyKind      sql.NullString `db:"key_kind"`
		KeyID        uuid.NullUUID  `db:"key_id"`
		Sealed       []byte         `db:"sealed"`
		legacy
	}
	const query = `SELECT child_id, dob_estimated, key_kind, key_id, sealed,
  given_name, family_name, other_names, date_of_birth, contact
FROM child_identities WHERE child_id = ANY($1::uuid[])`
	if err := sqlx.SelectContext(ctx, q, &rows, query, postgres.UUIDs(ids)); err != nil {
		return nil, err
	}
	owners := map[string][]uuid.UUID{}
	for _, r := range rows {
		if r.Sealed != nil {
			owners[r.KeyKind.String] = append(owners[r.KeyKind.String], r.KeyID.UUID)
		}
	}
	dks := map[string]map[uuid.UUID]keys.DataKey{}
	for kind, of := range owners {
		m, err := ks.Vault.GetMany(ctx, q, kind, of)
		if err != nil {
			return nil, err
		}
		dks[kind] = m
	}
	out := make(map[uuid.UUID]*Identity, len(rows))
	for _, r := range rows {
		if r.Sealed == nil {
			// Not sealed yet (written before sealing), nothing given, or erased.
			id := r.legacy.identity()
			id.DOBEstimated = r.DOBEstimated
			out[r.ChildID] = id
			continue
		}
		k, ok := dks[r.KeyKind.String][r.KeyID.UUID]
		if !ok {
			return nil, fmt.Errorf("identity of child %s: %w", r.ChildID, keys.ErrNoKey)
		}
		id, err := open(k, r.ChildID, r.Sealed)
		if err != nil {
			return nil, err
		}
		id.DOBEstimated = r.DOBEstimated
		out[r.ChildID] = id
	}
	return out, nil
}

func open(k keys.DataKey, id uuid.UUID, sealed []byte) (*Identity, error) {
	b, err := k.Open(sealed, place(id))
	if err != nil {
		return nil, err
	}
	defer clear(b)
	var doc sealedIdentity
	if err := json.Unmarshal(b, &doc); err != nil {
		return nil, fmt.Errorf("identity of child %s: %w", id, err)
	}
	out := &Identity{GivenName: doc.GivenName, FamilyName: doc.FamilyName, OtherNames: doc.OtherNames, Contact: doc.Contact}
	if doc.DateOfBirth != nil {
		if t, err := time.Parse(time.DateOnly, *doc.DateOfBirth); err == nil {
			out.DateOfBirth = &t
		}
	}
	return out, nil
}

// legacy holds the plaintext columns of an identity written before sealing.
type legacy struct {
	GivenName   sql.NullString `db:"given_name"`
	FamilyName  sql.NullString `db:"family_name"`
	OtherNames  sql.NullString `db:"other_names"`
	DateOfBirth sql.NullTime   `db:"date_of_birth"`
	Contact     sql.NullString `db:"contact"`
}

func (l legacy) identity() *Identity {
	opt := func(s sql.NullString) *string {
		if !s.Valid {
			return nil
		}
		return &s.String
	}
	out := &Identity{GivenName: opt(l.GivenName), FamilyName: opt(l.FamilyName), OtherNames: opt(l.OtherNames), Contact: opt(l.Contact)}
	if l.DateOfBirth.Valid {
		t := l.DateOfBirth.Time
		out.DateOfBirth = &t
	}
	return out
}

// SealLegacy seals up to n identities written in plaintext before sealing
// existed, each under the data key of the case (or else the complaint)
// that registered the child, creating that key when the record has none,
// and clears the plaintext. It returns how many it sealed; 0 means none is
// left. Each batch is one transaction and skips rows another replica is
// sealing, so it runs at every start, on every replica, and resumes where
// it stopped.
func SealLegacy(ctx context.Context, db *sqlx.DB, ks Keys, n int) (int, error) {
	tx, err := db.BeginTxx(ctx, nil)
	if err != nil {
		return 0, err
	}
	defer tx.Rollback()
	var rows []struct {
		ChildID   uuid.UUID     `db:"child_id"`
		Age       sql.NullInt32 `db:"age_years"`
		CreatedAt time.Time     `db:"created_at"`
		CaseID    uuid.NullUUID `db:"case_id"`
		Complaint uuid.NullUUID `db:"complaint_id"`
		legacy
	}
	const q = `
SELECT ci.child_id, ch.age_years, ch.created_at, ci.given_name, ci.family_name, ci.other_names, ci.date_of_birth, ci.contact,
  (SELECT c.id FROM cases c WHERE c.child_id = ci.child_id ORDER BY c.created_at LIMIT 1) AS case_id,
  (SELECT k.complaint_id FROM complaint_children k WHERE k.child_id = ci.child_id LIMIT 1) AS complaint_id
FROM child_identities ci JOIN children ch ON ch.id = ci.child_id
WHERE ci.sealed IS NULL AND (ci.given_name IS NOT NULL OR ci.family_name IS NOT NULL OR ci.other_names IS NOT NULL
  OR ci.date_of_birth IS NOT NULL OR ci.contact IS NOT NULL OR ci.documents <> '[]'::jsonb)
LIMIT $1 FOR UPDATE OF ci SKIP LOCKED`
	if err := tx.SelectContext(ctx, &rows, q, n); err != nil {
		return 0, fmt.Errorf("seal legacy identities: %w", err)
	}
	for _, r := range rows {
		o := Owner{Kind: keys.OwnerCase, ID: r.CaseID.UUID}
		if !r.CaseID.Valid {
			if !r.Complaint.Valid {
				return 0, fmt.Errorf("seal legacy identities: child %s belongs to no case or complaint", r.ChildID)
			}
			o = Owner{Kind: keys.OwnerComplaint, ID: r.Complaint.UUID}
		}
		if o.Key, err = ks.Vault.Get(ctx, tx, o.Kind, o.ID); errors.Is(err, keys.ErrNoKey) {
			o.Key, err = ks.Vault.Create(ctx, tx, o.Kind, o.ID)
		}
		if err != nil {
			return 0, err
		}
		id := r.legacy.identity()
		in := &Input{GivenName: id.GivenName, FamilyName: id.FamilyName, OtherNames: id.OtherNames, DateOfBirth: id.DateOfBirth, Contact: id.Contact}
		var age *int
		if r.Age.Valid {
			a := int(r.Age.Int32)
			age = &a
		}
		row, err := seal(ks, o, r.ChildID, r.CreatedAt, age, in)
		if err != nil {
			return 0, err
		}
		const qu = `
UPDATE child_identities SET key_kind = $2, key_id = $3, sealed = $4, name_index = $5, birth_year = $6,
  given_name = NULL, family_name = NULL, other_names = NULL, date_of_birth = NULL, contact = NULL, documents = '[]'
WHERE child_id = $1`
		if _, err := tx.ExecContext(ctx, qu, r.ChildID, row.KeyKind, row.KeyID, row.Sealed, row.Index, row.Year); err != nil {
			return 0, fmt.Errorf("seal legacy identity: %w", err)
		}
	}
	return len(rows), tx.Commit()
}
